// metrics.test.mjs - the OpenTelemetry JS SDK's OTLP metric exporters (gRPC, HTTP/protobuf and
// HTTP/JSON) -> otelcol-ref (otlp receiver, batch, otlphttp exporter) -> fake Prometheus.
//
// One test per transport (lib/stack.mjs TRANSPORTS). Each records one value set on every
// instrument kind the SDK has (counter, integer counter, up-down counter, histogram, gauge,
// observable gauge; cumulative, the SDK's default and what Prometheus requires), collects once,
// exports once, and checks that Prometheus's view holds exactly the series Prometheus 3's OTLP
// translation makes of them (facts/pipeline.md §7: names with unit and _total/_ratio suffixes,
// sanitised labels, job and instance from the service attributes, classic histogram series,
// target_info with the other resource attributes, sample values and millisecond timestamps, family
// metadata), and that the OTLP the fake accepted is exactly what the SDK emitted.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { exportOnce, exporters, resources, sdkMetrics, sdkVersions, transformer } from './lib/sdk.mjs';
import { Mismatches, asString, labelName, otlpResources, prometheusName, resourceAttribute } from './lib/compare.mjs';
import { TRANSPORTS, startStack } from './lib/stack.mjs';

let stack;
before(async () => {
    stack = await startStack();
});
after(async () => {
    await stack?.stop();
});

// A reader that collects only when asked: one collection, one export, nothing periodic.
class ManualReader extends sdkMetrics.MetricReader {
    async onForceFlush() {}
    async onShutdown() {}
}

async function collectMetrics(serviceName, encoding) {
    const reader = new ManualReader();
    const provider = new sdkMetrics.MeterProvider({
        resource: resources.resourceFromAttributes({
            'service.name': serviceName,
            'service.namespace': 'interop',
            'service.instance.id': `instance-${encoding}`,
            'service.version': '1.2.3',
            'deployment.environment': 'test',
            'k8s.pod.name': 'checkout-7d4b9c-x2x7k',
        }),
        readers: [reader],
    });
    const meter = provider.getMeter('interop-tests', '1.0.0');
    const get = { 'http.request.method': 'GET', 'http.response.status_code': 200 };
    const post = { 'http.request.method': 'POST', 'http.response.status_code': 500 };

    const requests = meter.createCounter('interop.requests', { unit: '{request}', description: 'Requests served' });
    requests.add(5, get);
    requests.add(2, post);
    requests.add(1, get);
    const sent = meter.createCounter('interop.bytes.sent', {
        unit: 'By', description: 'Bytes sent', valueType: 1, // ValueType.INT: sent as asInt
    });
    sent.add(1024, { 'net.peer.name': 'db-0' });
    const queue = meter.createUpDownCounter('interop.queue.depth', { unit: '{item}', description: 'Items queued' });
    queue.add(7);
    queue.add(-3);
    const duration = meter.createHistogram('interop.request.duration', {
        unit: 's', description: 'Request duration', advice: { explicitBucketBoundaries: [0.1, 0.5, 1] },
    });
    for (const v of [0.05, 0.3, 0.3, 2]) {
        duration.record(v, { 'http.route': '/checkout' });
    }
    const memory = meter.createGauge('interop.memory.usage', { unit: 'By', description: 'Heap in use' });
    memory.record(123456, { 'memory.type': 'heap' });
    const cpu = meter.createObservableGauge('interop.cpu.utilization', { unit: '1', description: 'CPU share' });
    cpu.addCallback((result) => result.observe(0.25, { 'cpu.mode': 'user' }));

    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length) {
        throw new Error(`the SDK failed to collect: ${errors.join('; ')}`);
    }
    await provider.shutdown();
    return resourceMetrics;
}

// Prometheus's view of what the SDK emitted: series (by label set) -> samples, and family
// metadata (type and help; the unit in metadata is not checked, its translation is not settled
// in the facts).
function expectedPrometheusView(emitted) {
    const series = {};
    const metadata = {};
    const add = (labels, value, timestampMs) => {
        const key = seriesKey(labels);
        (series[key] ??= { labels, samples: [] }).samples.push({ timestamp_ms: timestampMs, value });
    };
    for (const entry of otlpResources('metrics', emitted)) {
        const serviceName = resourceAttribute(entry, 'service.name');
        const namespace = resourceAttribute(entry, 'service.namespace');
        const identity = {
            job: namespace ? `${namespace}/${serviceName}` : serviceName,
            instance: resourceAttribute(entry, 'service.instance.id'),
        };
        let earliestMs = Infinity;
        for (const { items } of entry.scopes) {
            for (const m of items) {
                const name = prometheusName(m);
                metadata[name] = {
                    type: m.type === 'histogram' ? 'histogram' : (m.type === 'sum' && m.isMonotonic ? 'counter' : 'gauge'),
                    help: m.description,
                };
                for (const p of m.dataPoints) {
                    const labels = { ...identity };
                    for (const [key, value] of p.attributes) {
                        labels[labelName(key)] = asString(value);
                    }
                    const ms = Number(BigInt(p.timeUnixNano) / 1000000n);
                    earliestMs = Math.min(earliestMs, ms);
                    if (m.type !== 'histogram') {
                        add({ __name__: name, ...labels }, Number(p.value.int ?? p.value.double), ms);
                        continue;
                    }
                    let cumulative = 0;
                    p.explicitBounds.forEach((bound, i) => {
                        cumulative += Number(p.bucketCounts[i]);
                        add({ __name__: `${name}_bucket`, ...labels, le: String(Number(bound)) }, cumulative, ms);
                    });
                    add({ __name__: `${name}_bucket`, ...labels, le: '+Inf' }, Number(p.count), ms);
                    if (p.sum !== null) add({ __name__: `${name}_sum`, ...labels }, Number(p.sum), ms);
                    add({ __name__: `${name}_count`, ...labels }, Number(p.count), ms);
                }
            }
        }
        // target_info: every resource attribute but the three that made job and instance.
        const info = { __name__: 'target_info', ...identity };
        for (const [key, value] of entry.resource.attributes) {
            if (!['service.name', 'service.namespace', 'service.instance.id'].includes(key)) {
                info[labelName(key)] = asString(value);
            }
        }
        add(info, 1, earliestMs);
        metadata.target_info = { type: 'gauge', help: 'Target metadata' };
    }
    return { series, metadata };
}

function seriesKey(labels) {
    return `{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(', ')}}`;
}

function actualPrometheusView(view) {
    const series = {};
    for (const s of view?.series ?? []) {
        series[seriesKey(s.labels ?? {})] = { labels: s.labels, samples: s.samples };
    }
    const metadata = {};
    for (const [family, m] of Object.entries(view?.metadata ?? {})) {
        metadata[family] = { type: m.type, help: m.help };
    }
    return { series, metadata };
}

// Data points the SDK emitted (Prometheus's fake counts items as OTLP data points).
function dataPointCount(emitted) {
    return otlpResources('metrics', emitted).flatMap((r) => r.scopes)
        .flatMap((s) => s.items).reduce((n, m) => n + m.dataPoints.length, 0);
}

for (const encoding of ['proto', 'json', 'grpc']) {
    const { label } = TRANSPORTS[encoding];
    test(`metrics over OTLP ${label} reach Prometheus as the SDK emitted them`, { timeout: 240_000 }, async (t) => {
        t.diagnostic(sdkVersions());
        await stack.control('DELETE', '/v1/received');
        const serviceName = `interop-metrics-${encoding}`;
        const resourceMetrics = await collectMetrics(serviceName, encoding);
        const emitted = JSON.parse(Buffer.from(transformer.JsonMetricsSerializer.serializeRequest(resourceMetrics)).toString());
        const points = dataPointCount(emitted);
        // Guard against comparing nothing with nothing: one point per attribute set recorded
        // (requests 2, bytes 1, queue 1, duration 1, memory 1, cpu 1).
        assert.equal(points, 7, 'the SDK did not emit the 7 data points this test records');

        const exporter = new exporters.metrics[encoding]({
            url: stack.exporterUrl(encoding, 'metrics'),
            compression: TRANSPORTS[encoding].compression,
            timeoutMillis: 30_000,
        });
        let counts;
        try {
            counts = await stack.deliver({
                signal: 'metrics', fake: 'prometheus', exporterId: 'otlphttp/prometheus', count: points,
                send: () => exportOnce(exporter, resourceMetrics),
            });
        } catch (error) {
            error.message += `\n${stack.tails()}`;
            throw error;
        } finally {
            await exporter.shutdown();
        }

        const check = new Mismatches(`metrics over ${label}`);
        check.diff('counts', { fakeItems: points, receiverAccepted: points, exporterSent: points }, counts);
        check.diff('prometheus', expectedPrometheusView(emitted),
            actualPrometheusView(await stack.control('GET', '/v1/received/prometheus')));
        const accepted = otlpResources('metrics', await stack.control('GET', '/v1/received/prometheus?view=otlp'))
            .filter((r) => resourceAttribute(r, 'service.name') === serviceName);
        check.diff('prometheus?view=otlp', otlpResources('metrics', emitted), accepted);
        check.assertNone(stack.tails());
    });
}
