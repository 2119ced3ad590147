// sdk.mjs - loads the pinned OpenTelemetry JS SDK packages (package.json / package-lock.json)
// for the interop tests, after checking that they were installed.
//
// The packages are imported dynamically, after lib/deps.mjs has checked that they are installed
// (it says why).

import { checkInstalled, installedVersion } from './deps.mjs';

checkInstalled();

export const api = await import('@opentelemetry/api');
export const apiLogs = await import('@opentelemetry/api-logs');
export const resources = await import('@opentelemetry/resources');
export const sdkTrace = await import('@opentelemetry/sdk-trace-base');
export const sdkMetrics = await import('@opentelemetry/sdk-metrics');
export const sdkLogs = await import('@opentelemetry/sdk-logs');
export const transformer = await import('@opentelemetry/otlp-transformer');
export const grpc = await import('@grpc/grpc-js');

// One exporter class per signal x transport (lib/stack.mjs TRANSPORTS), as an application
// would pick them.
export const exporters = {
    traces: {
        proto: (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter,
        json: (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter,
        grpc: (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter,
    },
    metrics: {
        proto: (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter,
        json: (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter,
        grpc: (await import('@opentelemetry/exporter-metrics-otlp-grpc')).OTLPMetricExporter,
    },
    logs: {
        proto: (await import('@opentelemetry/exporter-logs-otlp-proto')).OTLPLogExporter,
        json: (await import('@opentelemetry/exporter-logs-otlp-http')).OTLPLogExporter,
        grpc: (await import('@opentelemetry/exporter-logs-otlp-grpc')).OTLPLogExporter,
    },
};

// Versions of what is under test, for the test output.
export function sdkVersions() {
    const names = ['@opentelemetry/sdk-trace-base', '@opentelemetry/sdk-metrics',
        '@opentelemetry/sdk-logs', '@opentelemetry/exporter-trace-otlp-proto',
        '@opentelemetry/exporter-trace-otlp-http', '@opentelemetry/exporter-trace-otlp-grpc',
        '@grpc/grpc-js'];
    return names.map((name) => `${name}@${installedVersion(name)}`).join(' ');
}

// Sends `items` with `exporter` as one export call and resolves when the collector answered.
// Rejects with the exporter's own error when the export failed: a failed export is the first
// thing an interop test must report, before it looks at the backends.
export function exportOnce(exporter, items) {
    return new Promise((resolve, reject) => {
        exporter.export(items, (result) => {
            if (result.code === 0) {
                resolve();
            } else {
                const why = result.error ? `${result.error.message ?? result.error}` : 'no error given';
                reject(new Error(`the SDK exporter reported a failed export: ${why}`));
            }
        });
    });
}
