// sdk-node.test.mjs - the seed's Node.js example (SEED-CONFIG.md "Applications"): an application
// that starts @opentelemetry/sdk-node with the OTLP gRPC trace exporter, configured the way the
// team's pods are (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES),
// delivers its spans through otelcol-ref's gRPC receiver and the seed's otlp/tempo exporter into
// the fake Tempo. This is the "done when".
//
// The spans are made with the global API, as application code makes them, and their ids are
// taken from the spans themselves; the test then checks that Tempo holds exactly those spans
// (ids, parents, names, kinds, status, the service and the resource attributes from the
// environment), that the collector counted them on its gRPC transport, and that Tempo received
// them over gRPC.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { api, exporters } from './lib/sdk.mjs';
import { Mismatches } from './lib/compare.mjs';
import { startStack, waitFor } from './lib/stack.mjs';

const { NodeSDK } = await import('@opentelemetry/sdk-node');

const SERVICE = 'interop-sdk-node';
const SPAN_KINDS = ['SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT',
    'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];

let stack;
before(async () => {
    stack = await startStack();
});
after(async () => {
    await stack?.stop();
});

// The application's code: a request handled by a SERVER span with two CLIENT children, one of
// them failing. Returns what it made, in Tempo's terms, by span id.
function handleOneRequest() {
    const tracer = api.trace.getTracer('checkout-app', '1.0.0');
    const made = {};
    const record = (span, name, kind, parent, status) => {
        const ctx = span.spanContext();
        made[ctx.spanId] = { trace_id: ctx.traceId, parent_span_id: parent ?? '', name,
            kind: SPAN_KINDS[kind], status };
    };
    tracer.startActiveSpan('GET /checkout', { kind: api.SpanKind.SERVER }, (root) => {
        tracer.startActiveSpan('SELECT cart', { kind: api.SpanKind.CLIENT }, (query) => {
            query.end();
            record(query, 'SELECT cart', api.SpanKind.CLIENT, root.spanContext().spanId,
                'STATUS_CODE_UNSET');
        });
        tracer.startActiveSpan('POST /charge', { kind: api.SpanKind.CLIENT }, (charge) => {
            charge.setStatus({ code: api.SpanStatusCode.ERROR, message: 'card declined' });
            charge.end();
            record(charge, 'POST /charge', api.SpanKind.CLIENT, root.spanContext().spanId,
                'STATUS_CODE_ERROR');
        });
        root.end();
        record(root, 'GET /checkout', api.SpanKind.SERVER, null, 'STATUS_CODE_UNSET');
    });
    return made;
}

test('@opentelemetry/sdk-node with the OTLP gRPC trace exporter delivers its spans to Tempo through otelcol-ref', { timeout: 240_000 }, async (t) => {
    // The pod's environment, as the seed sets it; only the endpoint is this run's collector.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = stack.grpcUrl();
    process.env.OTEL_SERVICE_NAME = SERVICE;
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'service.version=1.0.0,deployment.environment=production';
    // Traces only: the seed's example exports traces; metrics and logs would need their own
    // exporters and are covered by metrics.test.mjs and logs.test.mjs.
    process.env.OTEL_METRICS_EXPORTER = 'none';
    process.env.OTEL_LOGS_EXPORTER = 'none';
    await stack.control('DELETE', '/v1/received');
    const acceptedBefore = await stack.selfMetric('otelcol_receiver_accepted_spans',
        { receiver: 'otlp', transport: 'grpc' });

    // The seed's code: NodeSDK with the gRPC exporter, its endpoint from the environment.
    const sdk = new NodeSDK({ traceExporter: new exporters.traces.grpc() });
    sdk.start();
    let made;
    try {
        made = handleOneRequest();
    } finally {
        await sdk.shutdown(); // flushes the batch span processor
    }
    const count = Object.keys(made).length;
    assert.equal(count, 3, 'the application did not make its 3 spans');

    let view;
    try {
        view = await waitFor(`Tempo to hold the ${count} spans of ${SERVICE}`, async () => {
            const v = await stack.control('GET', '/v1/received/tempo');
            const n = (v?.traces ?? []).reduce((sum, tr) => sum + (tr.spans?.length ?? 0), 0);
            return { done: n >= count, state: v };
        });
    } catch (error) {
        error.message += `\n${stack.tails()}`;
        throw error;
    }

    const actual = {};
    for (const tr of view.traces) {
        for (const s of tr.spans) {
            actual[s.span_id] = { trace_id: tr.trace_id, parent_span_id: s.parent_span_id, name: s.name,
                kind: s.kind, status: s.status.code };
            t.diagnostic(`${s.span_id} ${s.name} service=${s.service_name}`);
        }
    }
    const check = new Mismatches('sdk-node over gRPC');
    check.diff('spans', made, actual);
    const resource = view.traces[0]?.spans[0]?.resource_attributes ?? {};
    check.diff('resource', { 'service.name': SERVICE, 'service.version': '1.0.0',
        'deployment.environment': 'production' }, {
        'service.name': resource['service.name'], 'service.version': resource['service.version'],
        'deployment.environment': resource['deployment.environment'],
    });
    check.diff('collector accepted over gRPC', count, await stack.selfMetric('otelcol_receiver_accepted_spans',
        { receiver: 'otlp', transport: 'grpc' }) - acceptedBefore);
    const requests = (await stack.control('GET', '/v1/requests/tempo')).requests;
    check.diff('tempo requests', requests.map(() => ({ transport: 'grpc', grpc_status: 'OK' })),
        requests.map((r) => ({ transport: r.transport, grpc_status: r.grpc_status })));
    check.assertNone(stack.tails());
});
