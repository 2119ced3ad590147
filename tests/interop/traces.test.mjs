// traces.test.mjs - the OpenTelemetry JS SDK's OTLP trace exporters (gRPC, HTTP/protobuf and
// HTTP/JSON) -> otelcol-ref (otlp receiver, batch, the seed's otlp/tempo gRPC exporter) -> the
// fake Tempo's gRPC front; and @grpc/grpc-js, a gRPC client nobody here wrote, calling that front
// directly (its success, error and fault answers as a gRPC client sees them).
//
// One test per transport (lib/stack.mjs TRANSPORTS). Each builds a small trace with the SDK (a
// SERVER root with typed attributes, a CLIENT child with an event and an error status, a PRODUCER
// child with a link to a second trace), exports it once with the exporter an application would
// use, and checks field by field that Tempo's view (traces by id: span ids, parents, service name,
// name, kind, status, attributes, resource attributes, scope, events, links) and the OTLP the fake
// accepted hold exactly what the SDK emitted, and that the collector's self-metrics counted every
// span once.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { api, exportOnce, exporters, grpc, resources, sdkTrace, sdkVersions, transformer } from './lib/sdk.mjs';
import { Mismatches, otlpResources, plain, resourceAttribute } from './lib/compare.mjs';
import { TRANSPORTS, startStack } from './lib/stack.mjs';

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

for (const encoding of ['proto', 'json', 'grpc']) {
    const { label } = TRANSPORTS[encoding];
    test(`traces over OTLP ${label} reach Tempo as the SDK emitted them`, { timeout: 240_000 }, async (t) => {
        t.diagnostic(sdkVersions());
        await stack.control('DELETE', '/v1/received');
        const serviceName = `interop-traces-${encoding}`;
        const spans = makeSpans(serviceName, encoding);
        // Guard against comparing nothing with nothing: the SDK must have finished every span.
        assert.equal(spans.length, 4, 'the SDK did not finish the 4 spans this test makes');
        const emitted = JSON.parse(Buffer.from(transformer.JsonTraceSerializer.serializeRequest(spans)).toString());

        const exporter = new exporters.traces[encoding]({
            url: stack.exporterUrl(encoding, 'traces'),
            compression: TRANSPORTS[encoding].compression,
            timeoutMillis: 30_000,
        });
        let counts;
        try {
            counts = await stack.deliver({
                signal: 'traces', fake: 'tempo', exporterId: 'otlp/tempo', count: spans.length,
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

// ---- @grpc/grpc-js against the fake Tempo's gRPC front ----

const EXPORT_METHOD = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

// One unary call with a generic client: no generated stubs, so the request is exactly the bytes
// given (the SDK's own protobuf serialisation) and the response comes back as raw bytes.
// Resolves to {error, response}: a gRPC error is an answer to check, not a test failure.
function grpcCall(client, method, bytes) {
    return new Promise((resolve) => {
        client.makeUnaryRequest(method, (b) => b, (b) => b, Buffer.from(bytes), new grpc.Metadata(),
            { deadline: Date.now() + 30_000 }, (error, response) => resolve({ error, response }));
    });
}

// `span` with another span id: how a broken SDK's all-zero id reaches Tempo.
function withSpanId(span, spanId) {
    return Object.create(span, { spanContext: { value: () => ({ ...span.spanContext(), spanId }) } });
}

test('a @grpc/grpc-js Export is stored by the fake Tempo and answered as Tempo answers', { timeout: 120_000 }, async () => {
    await stack.control('DELETE', '/v1/received');
    const spans = makeSpans('interop-grpc-js', 'grpc-js');
    assert.equal(spans.length, 4, 'the SDK did not finish the 4 spans this test makes');
    const emitted = JSON.parse(Buffer.from(transformer.JsonTraceSerializer.serializeRequest(spans)).toString());
    const client = new grpc.Client(stack.tempoGrpcTarget(), grpc.credentials.createInsecure());
    try {
        const { error, response } = await grpcCall(client, EXPORT_METHOD,
            transformer.ProtobufTraceSerializer.serializeRequest(spans));
        const check = new Mismatches('a @grpc/grpc-js Export to the fake Tempo');
        check.diff('error', null, error ? `${error.code} ${error.details}` : null);
        // ExportTraceServiceResponse with pdata's empty partial_success field.
        check.diff('response', '0a00', response ? Buffer.from(response).toString('hex') : null);
        check.diff('tempo', expectedTempoView(emitted),
            actualTempoView(await stack.control('GET', '/v1/received/tempo')));
        const [entry] = (await stack.control('GET', '/v1/requests/tempo')).requests;
        check.diff('request log', { transport: 'grpc', grpc_status: 'OK', path: EXPORT_METHOD, items: 4, fault: false },
            { transport: entry?.transport, grpc_status: entry?.grpc_status, path: entry?.path, items: entry?.items, fault: entry?.fault });
        if (!/grpc-node-js/.test(entry?.user_agent ?? '')) {
            check.add('request log.user_agent', `expected grpc-js's user agent, got ${entry?.user_agent}`);
        }
        check.assertNone(stack.tails());
    } finally {
        client.close();
    }
});

test('a @grpc/grpc-js client sees the fake Tempo\'s errors and faults in gRPC terms', { timeout: 120_000 }, async () => {
    await stack.control('DELETE', '/v1/received');
    const spans = makeSpans('interop-grpc-js-errors', 'grpc-js');
    const good = transformer.ProtobufTraceSerializer.serializeRequest(spans);
    const client = new grpc.Client(stack.tempoGrpcTarget(), grpc.credentials.createInsecure());
    const seen = async (method, bytes) => {
        const { error } = await grpcCall(client, method, bytes);
        const details = error?.metadata?.get('grpc-status-details-bin')?.[0];
        return {
            code: error ? grpc.status[error.code] : 'OK',
            message: error?.details ?? '',
            retryInfo: Buffer.isBuffer(details) && details.includes('type.googleapis.com/google.rpc.RetryInfo'),
        };
    };
    const check = new Mismatches('@grpc/grpc-js against the fake Tempo');
    try {
        // Tempo's distributor refuses the whole request for one bad span id (pipeline.md §9).
        const bad = transformer.ProtobufTraceSerializer.serializeRequest(
            [spans[0], withSpanId(spans[1], '0000000000000000')]);
        const invalid = await seen(EXPORT_METHOD, bad);
        check.diff('zero span id.code', 'INVALID_ARGUMENT', invalid.code);
        if (!invalid.message.startsWith('span ids must be 64 bit and not all zero, received ')) {
            check.add('zero span id.message', `not Tempo's words: ${invalid.message}`);
        }
        // Tempo serves traces only: other services are unknown, in grpc-go's words.
        check.diff('metrics service', { code: 'UNIMPLEMENTED', message:
            'unknown service opentelemetry.proto.collector.metrics.v1.MetricsService', retryInfo: false },
        await seen('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export', good));
        // Faults in gRPC terms, as a harness sets them: Tempo's RATE_LIMITED with the RetryInfo
        // a Tempo with retry_after_on_resource_exhausted adds, then UNAVAILABLE.
        await stack.control('PUT', '/v1/faults/tempo',
            { grpc_status: 'RESOURCE_EXHAUSTED', retry_info_delay: '2s', times: 1 });
        const limited = await seen(EXPORT_METHOD, good);
        check.diff('rate limited.code', 'RESOURCE_EXHAUSTED', limited.code);
        check.diff('rate limited.retryInfo', true, limited.retryInfo);
        if (!limited.message.startsWith('RATE_LIMITED: ingestion rate limit')) {
            check.add('rate limited.message', `not Tempo's words: ${limited.message}`);
        }
        await stack.control('PUT', '/v1/faults/tempo',
            { grpc_status: 'UNAVAILABLE', message: 'injected', times: 1 });
        check.diff('unavailable', { code: 'UNAVAILABLE', message: 'injected', retryInfo: false },
            await seen(EXPORT_METHOD, good));
        const stats = await stack.control('GET', '/v1/stats');
        check.diff('nothing stored', { requests: 4, accepted_requests: 0, items: 0 }, stats.tempo);
        check.assertNone(stack.tails());
    } finally {
        await stack.control('DELETE', '/v1/faults/tempo');
        client.close();
    }
});
