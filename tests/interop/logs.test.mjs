// logs.test.mjs - the OpenTelemetry JS SDK's OTLP log exporters (gRPC, HTTP/protobuf and
// HTTP/JSON) -> otelcol-ref (otlp receiver, batch, otlphttp exporter with the Loki tenant header)
// -> fake Loki.
//
// One test per transport (lib/stack.mjs TRANSPORTS). Each emits three records with the SDK (an
// INFO line with typed attributes, an ERROR line inside a trace, a WARN record whose body is a
// map), exports them once, and checks field by field that Loki's view holds them as Loki 3 stores
// them with its default otlp_config (facts/pipeline.md §8): one stream whose labels are the index-
// list resource attributes, entries in order with the line (a map body as JSON with sorted keys),
// the timestamp, and structured metadata (log attributes, severity, trace context, the other
// resource attributes, the scope), and that the OTLP the fake accepted is exactly what the SDK
// emitted.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { api, apiLogs, exportOnce, exporters, resources, sdkLogs, sdkVersions, transformer } from './lib/sdk.mjs';
import { LOKI_INDEX_LABELS, Mismatches, asString, labelName, otlpResources, resourceAttribute } from './lib/compare.mjs';
import { TRANSPORTS, startStack } from './lib/stack.mjs';

// The tenant the collector config sends (X-Scope-OrgID of exporters.otlphttp/loki).
const TENANT = 'interop';

let stack;
before(async () => {
    stack = await startStack();
});
after(async () => {
    await stack?.stop();
});

async function makeRecords(serviceName, encoding) {
    const memory = new sdkLogs.InMemoryLogRecordExporter();
    const provider = new sdkLogs.LoggerProvider({
        resource: resources.resourceFromAttributes({
            'service.name': serviceName,
            'service.namespace': 'interop',
            'service.instance.id': `instance-${encoding}`,
            'deployment.environment': 'test',
            'k8s.namespace.name': 'shop',
            'k8s.pod.name': 'checkout-7d4b9c-x2x7k',
            'k8s.container.name': 'app',
            'host.name': 'interop-host',
            'interop.encoding': encoding,
        }),
        // sdk-logs 0.2xx takes its options as an object ({exporter}), unlike SimpleSpanProcessor.
        processors: [new sdkLogs.SimpleLogRecordProcessor({ exporter: memory })],
    });
    const logger = provider.getLogger('interop-tests', '1.0.0');
    const { SeverityNumber } = apiLogs;
    const traced = api.trace.setSpanContext(api.ROOT_CONTEXT, {
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: 'eee19b7ec3c1b174',
        traceFlags: api.TraceFlags.SAMPLED,
    });
    logger.emit({
        severityNumber: SeverityNumber.INFO,
        severityText: 'INFO',
        body: 'user logged in',
        attributes: { 'user.id': 'u-42', 'http.response.status_code': 200, 'interop.ratio': 0.5 },
    });
    logger.emit({
        severityNumber: SeverityNumber.ERROR,
        severityText: 'ERROR',
        body: 'payment failed: card declined',
        attributes: { 'error.type': 'CardDeclined', 'interop.retry': false },
        context: traced,
    });
    logger.emit({
        severityNumber: SeverityNumber.WARN,
        severityText: 'WARN',
        body: { event: 'cache.miss', key: 'sku-1', hits: 3 },
        attributes: { 'cache.name': 'sku' },
    });
    await provider.forceFlush();
    return memory.getFinishedLogRecords();
}

// Loki's view of what the SDK emitted: tenant -> stream (by its labels) -> entries in order.
function expectedLokiView(emitted) {
    const streams = {};
    for (const entry of otlpResources('logs', emitted)) {
        const labels = {};
        const resourceMetadata = {};
        for (const [key, value] of entry.resource.attributes) {
            if (LOKI_INDEX_LABELS.includes(key)) {
                labels[labelName(key)] = asString(value);
            } else {
                resourceMetadata[labelName(key)] = asString(value);
            }
        }
        // service.name is set here, so no service_name discovery happens.
        const stream = (streams[streamKey(labels)] ??= { labels, entries: [] });
        for (const { scope, items } of entry.scopes) {
            for (const r of items) {
                const metadata = {};
                for (const [key, value] of r.attributes) {
                    metadata[labelName(key)] = asString(value);
                }
                if (r.timeUnixNano !== '0' && r.observedTimeUnixNano !== '0') {
                    metadata.observed_timestamp = r.observedTimeUnixNano;
                }
                if (r.severityNumber) metadata.severity_number = String(r.severityNumber);
                if (r.severityText) metadata.severity_text = r.severityText;
                if (r.flags) metadata.flags = String(r.flags);
                if (r.traceId) metadata.trace_id = r.traceId;
                if (r.spanId) metadata.span_id = r.spanId;
                Object.assign(metadata, resourceMetadata);
                for (const [key, value] of scope.attributes) {
                    metadata[labelName(key)] = asString(value);
                }
                if (scope.name) metadata.scope_name = scope.name;
                if (scope.version) metadata.scope_version = scope.version;
                stream.entries.push({
                    timestamp_ns: r.timeUnixNano !== '0' ? r.timeUnixNano : r.observedTimeUnixNano,
                    line: asString(r.body),
                    structured_metadata: metadata,
                });
            }
        }
    }
    return { [TENANT]: streams };
}

function streamKey(labels) {
    return `{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(', ')}}`;
}

// The fake's view in the same shape. Loki 3 also adds `detected_level` to the structured
// metadata when discover_log_levels is on (its default): accepted when present, since the
// level it must carry follows from the severity, but not required.
function actualLokiView(view, emittedLevels) {
    const tenants = {};
    for (const [tenant, { streams }] of Object.entries(view?.tenants ?? {})) {
        tenants[tenant] = {};
        for (const s of streams ?? []) {
            tenants[tenant][streamKey(s.labels ?? {})] = {
                labels: s.labels,
                entries: (s.entries ?? []).map((e, i) => {
                    const metadata = { ...e.structured_metadata };
                    if (metadata.detected_level === emittedLevels[i]) {
                        delete metadata.detected_level;
                    }
                    return { ...e, structured_metadata: metadata };
                }),
            };
        }
    }
    return tenants;
}

for (const encoding of ['proto', 'json', 'grpc']) {
    const { label } = TRANSPORTS[encoding];
    test(`logs over OTLP ${label} reach Loki as the SDK emitted them`, { timeout: 240_000 }, async (t) => {
        t.diagnostic(sdkVersions());
        await stack.control('DELETE', '/v1/received');
        const serviceName = `interop-logs-${encoding}`;
        const records = await makeRecords(serviceName, encoding);
        // Guard against comparing nothing with nothing: the SDK must have emitted every record.
        assert.equal(records.length, 3, 'the SDK did not emit the 3 log records this test makes');
        const emitted = JSON.parse(Buffer.from(transformer.JsonLogsSerializer.serializeRequest(records)).toString());

        const exporter = new exporters.logs[encoding]({
            url: stack.exporterUrl(encoding, 'logs'),
            compression: TRANSPORTS[encoding].compression,
            timeoutMillis: 30_000,
        });
        let counts;
        try {
            counts = await stack.deliver({
                signal: 'logs', fake: 'loki', exporterId: 'otlphttp/loki', count: records.length,
                send: () => exportOnce(exporter, records),
            });
        } catch (error) {
            error.message += `\n${stack.tails()}`;
            throw error;
        } finally {
            await exporter.shutdown();
        }

        const check = new Mismatches(`logs over ${label}`);
        check.diff('counts', { fakeItems: records.length, receiverAccepted: records.length, exporterSent: records.length }, counts);
        const levels = records.map((r) => r.severityText.toLowerCase());
        check.diff('loki', expectedLokiView(emitted),
            actualLokiView(await stack.control('GET', '/v1/received/loki'), levels));
        const accepted = otlpResources('logs', await stack.control('GET', '/v1/received/loki?view=otlp'))
            .filter((r) => resourceAttribute(r, 'service.name') === serviceName);
        check.diff('loki?view=otlp', otlpResources('logs', emitted), accepted);
        check.assertNone(stack.tails());
    });
}
