// traces.test.mjs - the OpenTelemetry JS SDK's OTLP/HTTP trace exporters (protobuf and JSON)
// -> otelcol-ref (otlp receiver, batch, otlphttp exporter) -> fake Tempo.
//
// One test per encoding. Each builds a small trace with the SDK (a SERVER root with typed
// attributes, a CLIENT child with an event and an error status, a PRODUCER child with a link
// to a second trace), exports it once with the exporter an application would use, and checks
// field by field that Tempo's view (traces by id: span ids, parents, service name, name, kind,
// status, attributes, resource attributes, scope, events, links) and the OTLP the fake
// accepted hold exactly what the SDK emitted, and that the collector's self-metrics counted
// every span once.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { api, exportOnce, exporters, resources, sdkTrace, sdkVersions, transformer } from './lib/sdk.mjs';
import { Mismatches, otlpResources, plain, resourceAttribute } from './lib/compare.mjs';
import { startStack } from './lib/stack.mjs';

const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER',
    'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

let stack;
before(async () => {
    stack = await startStack();
});
after(async () => {
    await stack?.stop();
});

// The spans the SDK finished, in the order it finished them.
function makeSpans(serviceName, encoding) {
    const memory = new sdkTrace.InMemorySpanExporter();
    const provider = new sdkTrace.BasicTracerProvider({
        resource: resources.resourceFromAttributes({
            'service.name': serviceName,
            'service.namespace': 'interop',
            'service.instance.id': `instance-${encoding}`,
            'service.version': '1.2.3',
            'deployment.environment': 'test',
            'host.name': 'interop-host',
        }),
        spanProcessors: [new sdkTrace.SimpleSpanProcessor(memory)],
    });
    const tracer = provider.getTracer('interop-tests', '1.0.0');
    const { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } = api;

    const job = tracer.startSpan('background job', { kind: SpanKind.INTERNAL });
    job.end();

    const root = tracer.startSpan('GET /checkout', {
        kind: SpanKind.SERVER,
        attributes: {
            'http.request.method': 'GET',
            'http.response.status_code': 200,
            'url.path': '/checkout',
            'interop.ratio': 0.25,
            'interop.cached': true,
            'interop.tags': ['a', 'b'],
        },
    });
    const parent = trace.setSpan(ROOT_CONTEXT, root);
    const query = tracer.startSpan('SELECT orders', {
        kind: SpanKind.CLIENT,
        attributes: { 'db.system.name': 'postgresql', 'db.namespace': 'shop' },
    }, parent);
    query.addEvent('retry', { 'retry.attempt': 1, 'retry.reason': 'deadlock' });
    query.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock detected' });
    query.end();
    const publish = tracer.startSpan('orders publish', {
        kind: SpanKind.PRODUCER,
        links: [{ context: job.spanContext(), attributes: { 'link.reason': 'triggered-by' } }],
    }, parent);
    publish.end();
    root.setStatus({ code: SpanStatusCode.OK });
    root.end();
    return memory.getFinishedSpans();
}

// Tempo's view of the spans the SDK emitted: trace id -> span id -> span, in the fake's terms
// (fakes/tempo.h), computed from the SDK's own OTLP serialisation.
function expectedTempoView(emitted) {
    const traces = {};
    for (const entry of otlpResources('traces', emitted)) {
        const resourceAttributes = plainAttributes(entry.resource.attributes);
        for (const { scope, items } of entry.scopes) {
            for (const s of items) {
                const view = {
                    span_id: s.spanId,
                    parent_span_id: s.parentSpanId,
                    service_name: resourceAttribute(entry, 'service.name'),
                    name: s.name,
                    kind: SPAN_KINDS[s.kind],
                    trace_state: s.traceState,
                    status: { code: STATUS_CODES[s.status.code], message: s.status.message },
                    start_time_unix_nano: s.startTimeUnixNano,
                    end_time_unix_nano: s.endTimeUnixNano,
                    attributes: plainAttributes(s.attributes),
                    resource_attributes: resourceAttributes,
                    scope: { name: scope.name, version: scope.version },
                    events: s.events.map((e) => ({
                        time_unix_nano: e.timeUnixNano, name: e.name, attributes: plainAttributes(e.attributes),
                    })),
                    links: s.links.map((l) => ({
                        trace_id: l.traceId, span_id: l.spanId, trace_state: l.traceState,
                        attributes: plainAttributes(l.attributes),
                    })),
                };
                (traces[s.traceId] ??= {})[s.spanId] = view;
            }
        }
    }
    return traces;
}

function plainAttributes(list) {
    return Object.fromEntries(list.map(([k, v]) => [k, plain(v)]));
}

function actualTempoView(view) {
    const traces = {};
    for (const t of view?.traces ?? []) {
        for (const s of t.spans ?? []) {
            (traces[t.trace_id] ??= {})[s.span_id] = s;
        }
    }
    return traces;
}

for (const encoding of ['proto', 'json']) {
    const label = encoding === 'proto' ? 'HTTP/protobuf (gzip)' : 'HTTP/JSON';
    test(`traces over OTLP ${label} reach Tempo as the SDK emitted them`, { timeout: 240_000 }, async (t) => {
        t.diagnostic(sdkVersions());
        await stack.control('DELETE', '/v1/received');
        const serviceName = `interop-traces-${encoding}`;
        const spans = makeSpans(serviceName, encoding);
        // Guard against comparing nothing with nothing: the SDK must have finished every span.
        assert.equal(spans.length, 4, 'the SDK did not finish the 4 spans this test makes');
        const emitted = JSON.parse(Buffer.from(transformer.JsonTraceSerializer.serializeRequest(spans)).toString());

        const exporter = new exporters.traces[encoding]({
            url: stack.otlpUrl('traces'),
            compression: encoding === 'proto' ? 'gzip' : 'none',
            timeoutMillis: 30_000,
        });
        let counts;
        try {
            counts = await stack.deliver({
                signal: 'traces', fake: 'tempo', exporterId: 'otlphttp/tempo', count: spans.length,
                send: () => exportOnce(exporter, spans),
            });
        } catch (error) {
            error.message += `\n${stack.tails()}`;
            throw error;
        } finally {
            await exporter.shutdown();
        }

        const check = new Mismatches(`traces over ${label}`);
        check.diff('counts', { fakeItems: spans.length, receiverAccepted: spans.length, exporterSent: spans.length }, counts);
        check.diff('tempo', expectedTempoView(emitted), actualTempoView(await stack.control('GET', '/v1/received/tempo')));
        const accepted = otlpResources('traces', await stack.control('GET', '/v1/received/tempo?view=otlp'))
            .filter((r) => resourceAttribute(r, 'service.name') === serviceName);
        check.diff('tempo?view=otlp', otlpResources('traces', emitted), accepted);
        check.assertNone(stack.tails());
    });
}
