// stack.mjs - the processes an interop test talks to: otel-fakes (fake Prometheus, Loki, Tempo
// with a control API) and otelcol-ref (the reference collector) between the SDK and them.
//
// The collector listens for OTLP over gRPC and HTTP, as the team's does (SEED-CONFIG.md), and
// sends traces to the fake Tempo's gRPC port with the seed's otlp/tempo exporter; metrics and
// logs go to Prometheus and Loki over OTLP/HTTP.
//
// Both run as child processes on ephemeral loopback ports, so ctest -j can run test files side
// by side. otel-fakes binds port 0 itself and reports its ports on its ready line (DESIGN.md
// §4); otelcol-ref gets its ports on the command line (--set, as local runs override endpoints),
// chosen by binding port 0 here and releasing it, and a collector that loses that race (it exits
// at start) is retried on fresh ports.
//
// Readiness and arrival are polled with one helper (STYLE.md "Tests": 5 ms doubling to 500 ms,
// until a deadline, then an error naming what was awaited); nothing waits with a bare sleep.
// Children are always stopped: by stop() (SIGTERM, then SIGKILL after a grace period) from the
// test's after() hook, by exit and signal hooks of this process, and, when this process is
// killed outright (a ctest timeout), by the kernel: each child is started through util-linux's
// `setpriv --pdeathsig SIGKILL` (Debian's util-linux is essential, so it is always there).

import { spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const interopDir = dirname(dirname(fileURLToPath(import.meta.url)));
const repoDir = resolve(interopDir, '..', '..');

// Generous bounds: a slow 2-core CI machine runs other tests beside this one.
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 20_000;
export const ARRIVAL_TIMEOUT_MS = 90_000;

// How a test sends, by the name the tests loop over: the SDK's exporter of that transport and
// encoding (lib/sdk.mjs `exporters`), its compression and the words for test names.
export const TRANSPORTS = {
    proto: { label: 'HTTP/protobuf (gzip)', compression: 'gzip' },
    json: { label: 'HTTP/JSON', compression: 'none' },
    grpc: { label: 'gRPC (gzip)', compression: 'gzip' },
};

// Upstream's self-metric names per signal (DESIGN.md §3 "Self-telemetry").
const SELF_METRICS = {
    traces: { accepted: 'otelcol_receiver_accepted_spans', sent: 'otelcol_exporter_sent_spans' },
    metrics: { accepted: 'otelcol_receiver_accepted_metric_points', sent: 'otelcol_exporter_sent_metric_points' },
    logs: { accepted: 'otelcol_receiver_accepted_log_records', sent: 'otelcol_exporter_sent_log_records' },
};

const running = new Set();
process.on('exit', () => {
    for (const child of running) {
        child.proc.kill('SIGKILL');
    }
});
for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
}

// setpriv, if this machine has it with --pdeathsig (util-linux >= 2.33); else children run
// directly and only the hooks above protect against leftovers.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => {
    try {
        accessSync(path, constants.X_OK);
        return true;
    } catch {
        return false;
    }
});

// Polls `probe` (async () => ({done, state})) with backoff until it reports done, and returns
// its last state. Past `timeoutMs` it throws an error naming `what` and the last state seen.
// A probe that throws is retried (the server may not be up yet), unless the error is marked
// `fatal` (the process it waits for has died): then waiting longer cannot help.
export async function waitFor(what, probe, { timeoutMs = ARRIVAL_TIMEOUT_MS } = {}) {
    const started = Date.now();
    let delay = 5;
    let last;
    for (;;) {
        try {
            last = await probe();
        } catch (error) {
            if (error.fatal) {
                throw error;
            }
            last = { done: false, state: `probe failed: ${error.message}` };
        }
        if (last.done) {
            return last.state;
        }
        const elapsed = Date.now() - started;
        if (elapsed >= timeoutMs) {
            const state = typeof last.state === 'string' ? last.state : JSON.stringify(last.state);
            throw new Error(`timed out after ${(elapsed / 1000).toFixed(1)}s waiting for ${what}; ` +
                `last seen: ${state}`);
        }
        await new Promise((r) => setTimeout(r, Math.min(delay, timeoutMs - elapsed)));
        delay = Math.min(delay * 2, 500);
    }
}

// The executables under test: from the environment (ctest sets both), else the default build.
function binary(envName, defaultPath) {
    const path = process.env[envName] || join(repoDir, defaultPath);
    try {
        accessSync(path, constants.X_OK);
    } catch {
        throw new Error(`${envName}: ${path} is not an executable (build the project first, ` +
            'e.g. scripts/test, or point the variable at the binary)');
    }
    return path;
}

// A free loopback port, as the kernel picks it. It is released before the caller binds it, so
// another process may take it first: callers retry on a start failure.
export function freePort() {
    return new Promise((resolvePort, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolvePort(port));
        });
    });
}

function canConnect(port) {
    return new Promise((resolveConnect) => {
        const socket = net.connect({ host: '127.0.0.1', port });
        socket.once('connect', () => { socket.destroy(); resolveConnect(true); });
        socket.once('error', () => resolveConnect(false));
    });
}

// One child process with its output kept (a log file, and the last lines in memory for error
// messages).
class Child {
    constructor(name, file, args, logDir) {
        this.name = name;
        this.command = [file, ...args];
        this.lines = [];
        this.watchers = [];
        this.exit = null;
        this.log = createWriteStream(join(logDir, `${name}.log`));
        this.proc = SETPRIV
            ? spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', '--', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
            : spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        running.add(this);
        this.exited = new Promise((resolveExit) => {
            this.proc.once('error', (error) => {
                this.remember(`spawn failed: ${error.message}`);
                this.exit = { code: null, signal: null, error };
                running.delete(this);
                resolveExit(this.exit);
            });
            this.proc.once('exit', (code, signal) => {
                this.exit = { code, signal };
                running.delete(this);
                resolveExit(this.exit);
            });
        });
        this.stdout = readline.createInterface({ input: this.proc.stdout });
        this.stdout.on('line', (line) => this.remember(line));
        readline.createInterface({ input: this.proc.stderr }).on('line', (line) => this.remember(line));
    }

    // Calls fn(line) for every line printed from now on.
    watch(fn) {
        this.watchers.push(fn);
    }

    remember(line) {
        for (const fn of this.watchers) {
            fn(line);
        }
        this.log.write(`${line}\n`);
        this.lines.push(line);
        if (this.lines.length > 200) {
            this.lines.shift();
        }
    }

    tail(n = 30) {
        return this.lines.slice(-n).map((l) => `    ${this.name}| ${l}`).join('\n');
    }

    exitText() {
        if (!this.exit) {
            return 'running';
        }
        return this.exit.error ? `failed to start (${this.exit.error.message})`
            : `exited (code ${this.exit.code}, signal ${this.exit.signal})`;
    }

    // SIGTERM, then SIGKILL if it has not exited within the grace period. Returns the exit.
    async stop() {
        if (this.exit) {
            return this.exit;
        }
        this.proc.kill('SIGTERM');
        let timer;
        const timedOut = new Promise((r) => { timer = setTimeout(() => r(null), STOP_GRACE_MS); });
        let result = await Promise.race([this.exited, timedOut]);
        clearTimeout(timer);
        if (!result) {
            this.proc.kill('SIGKILL');
            result = { ...(await this.exited), killed: true };
        }
        this.log.end();
        return result;
    }
}

// Starts otel-fakes alone (every backend on ephemeral ports; startStack adds the collector, and
// tests of a client that talks to a fake directly, such as the Kubernetes API's, use this
// alone). Resolves to {child, ports, ready}: the process (stop() it from an after() hook), the
// ready line's ports and the whole ready line (it also carries the Kubernetes admin token).
export async function startFakes(logDir = mkdtempSync(join(os.tmpdir(), 'otel-interop-'))) {
    const file = binary('OTEL_FAKES_BIN', 'build/fakes/otel-fakes');
    // Loki with auth on, as Loki and its Helm chart default: a push without the tenant header
    // the collector config sets would be refused (401), so the test also proves the header.
    const fakes = new Child('otel-fakes', file, ['--host', '127.0.0.1', '--prometheus-port', '0',
        '--loki-port', '0', '--tempo-http-port', '0', '--tempo-grpc-port', '0', '--control-port', '0',
        '--loki-auth-enabled'],
    logDir);
    const ready = new Promise((resolveReady) => {
        fakes.stdout.on('line', (line) => {
            if (!line.startsWith('{')) {
                return;
            }
            try {
                const message = JSON.parse(line);
                if (message.ready === true) {
                    resolveReady(message);
                }
            } catch {
                // Not the ready line; it stays in the log.
            }
        });
    });
    let timer;
    const outcome = await Promise.race([
        ready,
        fakes.exited.then(() => null),
        new Promise((r) => { timer = setTimeout(() => r(undefined), START_TIMEOUT_MS); }),
    ]);
    clearTimeout(timer);
    if (!outcome) {
        const why = outcome === null ? fakes.exitText()
            : `printed no ready line within ${START_TIMEOUT_MS / 1000}s`;
        await fakes.stop();
        throw new Error(`otel-fakes ${why}:\n${fakes.tail()}`);
    }
    for (const key of ['prometheus', 'loki', 'tempo_http', 'tempo_grpc', 'control']) {
        if (!Number.isInteger(outcome.ports?.[key])) {
            await fakes.stop();
            throw new Error(`otel-fakes ready line lacks ports.${key}: ${JSON.stringify(outcome)}`);
        }
    }
    return { child: fakes, ports: outcome.ports, ready: outcome };
}

async function startCollector(logDir, fakePorts, attempt) {
    const file = binary('OTELCOL_REF_BIN', 'build/reference/otelcol-ref');
    const receiverPort = await freePort();
    const grpcPort = await freePort();
    const metricsPort = await freePort();
    const set = [
        `receivers.otlp.protocols.http.endpoint=127.0.0.1:${receiverPort}`,
        `receivers.otlp.protocols.grpc.endpoint=127.0.0.1:${grpcPort}`,
        `exporters.otlphttp/prometheus.endpoint=http://127.0.0.1:${fakePorts.prometheus}/api/v1/otlp`,
        `exporters.otlphttp/loki.endpoint=http://127.0.0.1:${fakePorts.loki}/otlp`,
        `exporters.otlp/tempo.endpoint=127.0.0.1:${fakePorts.tempo_grpc}`,
        'service.telemetry.metrics.readers=[{pull: {exporter: {prometheus: ' +
            `{host: 127.0.0.1, port: ${metricsPort}}}}}]`,
    ];
    const args = ['--config', join(interopDir, 'collector.yaml')];
    for (const s of set) {
        args.push('--set', s);
    }
    const collector = new Child(attempt ? `otelcol-ref.${attempt}` : 'otelcol-ref', file, args, logDir);
    // Connecting proves only that *something* listens on a port: another process may have taken
    // one of them since freePort() released it. The collector's own "ready" line (upstream's
    // wording, printed once every component started) proves the ports are its own.
    let ready = false;
    collector.watch((line) => {
        ready ||= line.includes('Everything is ready. Begin running and processing data.');
    });
    try {
        await waitFor(`otelcol-ref to listen on 127.0.0.1:${receiverPort}, :${grpcPort} and ` +
            `:${metricsPort} and log that it is ready`, async () => {
                if (collector.exit) {
                    throw Object.assign(new Error(`otelcol-ref ${collector.exitText()}`), { fatal: true });
                }
                const up = await canConnect(receiverPort) && await canConnect(grpcPort) &&
                    await canConnect(metricsPort);
                return { done: up && ready, state: up ? 'listening, not ready yet' : 'not listening yet' };
            }, { timeoutMs: START_TIMEOUT_MS });
    } catch (error) {
        await collector.stop();
        error.message = `${error.message}\n  command: ${collector.command.join(' ')}\n${collector.tail()}`;
        throw error;
    }
    return { child: collector, receiverPort, grpcPort, metricsPort };
}

// Starts otel-fakes, then otelcol-ref pointed at them. Resolves to the running stack; the
// caller must call stop() (from an after() hook) whatever happens.
export async function startStack() {
    const logDir = mkdtempSync(join(os.tmpdir(), 'otel-interop-'));
    const fakes = await startFakes(logDir);
    let collector;
    for (let attempt = 0; !collector; attempt++) {
        try {
            collector = await startCollector(logDir, fakes.ports, attempt);
        } catch (error) {
            // An early exit is most likely a port taken between freePort() and the bind.
            if (attempt >= 2 || !/exited|in use/i.test(error.message)) {
                await fakes.child.stop();
                throw error;
            }
        }
    }
    return new Stack(logDir, fakes, collector);
}

class Stack {
    constructor(logDir, fakes, collector) {
        this.logDir = logDir;
        this.fakes = fakes.child;
        this.fakePorts = fakes.ports;
        this.collector = collector.child;
        this.receiverPort = collector.receiverPort;
        this.grpcPort = collector.grpcPort;
        this.metricsPort = collector.metricsPort;
    }

    // Base URL of the collector's OTLP/HTTP receiver, for the SDK exporters.
    otlpUrl(signal) {
        return `http://127.0.0.1:${this.receiverPort}/v1/${signal}`;
    }

    // URL of the collector's OTLP/gRPC receiver, as the SDK's gRPC exporters take it (http://
    // means plaintext h2c).
    grpcUrl() {
        return `http://127.0.0.1:${this.grpcPort}`;
    }

    // The URL an exporter of `transport` (a TRANSPORTS key) sends `signal` to.
    exporterUrl(transport, signal) {
        return transport === 'grpc' ? this.grpcUrl() : this.otlpUrl(signal);
    }

    // host:port of the fake Tempo's gRPC front, for a gRPC client that talks to it directly.
    tempoGrpcTarget() {
        return `127.0.0.1:${this.fakePorts.tempo_grpc}`;
    }

    // Calls the fakes' control API (with `body`, an object sent as JSON, if given) and returns
    // the parsed JSON (or text) answer.
    async control(method, path, body) {
        const response = await fetch(`http://127.0.0.1:${this.fakePorts.control}${path}`,
            body === undefined ? { method } : { method, body: JSON.stringify(body) });
        const text = await response.text();
        if (!response.ok) {
            throw new Error(`control API ${method} ${path} answered ${response.status}: ${text}`);
        }
        try {
            return text ? JSON.parse(text) : null;
        } catch {
            return text;
        }
    }

    // Sum of the collector's self-metric `name` (with or without the _total suffix) over the
    // series whose labels include every pair of `labels`.
    async selfMetric(name, labels = {}) {
        const response = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
        const text = await response.text();
        let sum = 0;
        for (const line of text.split('\n')) {
            const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
            if (!m || (m[1] !== name && m[1] !== `${name}_total`)) {
                continue;
            }
            const pairs = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)]
                .map(([, k, v]) => [k, v]));
            if (Object.entries(labels).every(([k, v]) => pairs[k] === v)) {
                sum += Number(m[4]);
            }
        }
        return sum;
    }

    // Sends `items` through `send` (the SDK exporter's export, as a promise), then waits until
    // fake `fake` has accepted `count` items and the collector has counted them as sent by
    // `exporterId`. Returns how many items the fake accepted and the collector's receiver and
    // exporter counted for this delivery (differences of cumulative self-metrics), for the
    // caller to compare with `count`.
    async deliver({ signal, fake, exporterId, send, count }) {
        const names = SELF_METRICS[signal];
        const before = {
            accepted: await this.selfMetric(names.accepted, { receiver: 'otlp' }),
            sent: await this.selfMetric(names.sent, { exporter: exporterId }),
        };
        await send();
        const accepted = await waitFor(`${fake} to accept ${count} ${signal} items`, async () => {
            const stats = await this.control('GET', '/v1/stats');
            return { done: (stats[fake]?.items ?? 0) >= count, state: stats[fake] };
        });
        const sent = await waitFor(`the collector to count ${count} items sent by ${exporterId}`,
            async () => {
                const n = await this.selfMetric(names.sent, { exporter: exporterId }) - before.sent;
                return { done: n >= count, state: n };
            }, { timeoutMs: 30_000 }).catch(async () =>
            await this.selfMetric(names.sent, { exporter: exporterId }) - before.sent);
        return {
            fakeItems: accepted.items,
            receiverAccepted: await this.selfMetric(names.accepted, { receiver: 'otlp' }) - before.accepted,
            exporterSent: sent,
        };
    }

    // Both processes' last lines, for a failure message.
    tails() {
        return `logs in ${this.logDir}\n${this.collector.tail()}\n${this.fakes.tail()}`;
    }

    // Stops the collector (SIGTERM drains it) and then the fakes. Returns the exits.
    async stop() {
        const collector = await this.collector.stop();
        const fakes = await this.fakes.stop();
        return { collector, fakes };
    }
}
