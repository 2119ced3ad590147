// compare.mjs - field-by-field comparison for the interop tests: a collector of every mismatch
// (path, expected, actual), and the normal forms both sides are reduced to before comparing.
//
// As the collector testbed's correctness validator does, a check does not stop at the first
// difference: it lists them all, so one run shows everything the pipeline changed.
//
// Normal forms: OTLP/JSON may spell one message several ways (the SDK writes 64-bit integers
// as numbers or strings and omits nothing; the fakes' canonical JSON writes them as strings and
// omits zero values, DESIGN.md §3 / common/otlp_json.h). `otlpResources` reduces any spelling
// to one plain form with every default filled in, so only differences of meaning remain.
//
// Also here, written from the facts files (not from the fakes' code, so that the test checks
// the fakes' translation instead of repeating it): Prometheus 3's OTLP name translation
// (facts/pipeline.md §7) and Loki's OTLP label/structured-metadata mapping (§8).

import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';

const MAX_REPORTED = 80;

export class Mismatches {
    constructor(what) {
        this.what = what;
        this.items = [];
    }

    add(path, message) {
        this.items.push(`${path}: ${message}`);
    }

    // Records every difference between `expected` and `actual` below `path`: missing and
    // unexpected object keys, array length differences, and differing leaves.
    diff(path, expected, actual) {
        if (isDeepStrictEqual(expected, actual)) {
            return;
        }
        const isObject = (v) => v !== null && typeof v === 'object';
        if (Array.isArray(expected) && Array.isArray(actual)) {
            if (expected.length !== actual.length) {
                this.add(path, `expected ${expected.length} elements, got ${actual.length}`);
            }
            for (let i = 0; i < Math.min(expected.length, actual.length); i++) {
                this.diff(`${path}[${i}]`, expected[i], actual[i]);
            }
            return;
        }
        if (isObject(expected) && isObject(actual) && !Array.isArray(expected) && !Array.isArray(actual)) {
            for (const key of Object.keys(expected)) {
                if (!(key in actual)) {
                    this.add(`${path}.${key}`, `missing (expected ${show(expected[key])})`);
                } else {
                    this.diff(`${path}.${key}`, expected[key], actual[key]);
                }
            }
            for (const key of Object.keys(actual)) {
                if (!(key in expected)) {
                    this.add(`${path}.${key}`, `unexpected (got ${show(actual[key])})`);
                }
            }
            return;
        }
        this.add(path, `expected ${show(expected)}, got ${show(actual)}`);
    }

    // Fails the test with every mismatch, if there is any.
    assertNone(context = '') {
        if (this.items.length === 0) {
            return;
        }
        const shown = this.items.slice(0, MAX_REPORTED);
        const more = this.items.length > shown.length ? `\n  ... and ${this.items.length - shown.length} more` : '';
        assert.fail(`${this.what}: ${this.items.length} mismatch(es)\n  ${shown.join('\n  ')}${more}` +
            (context ? `\n${context}` : ''));
    }
}

function show(value) {
    const text = JSON.stringify(value, (k, v) => (typeof v === 'bigint' ? `${v}n` : v));
    return text === undefined ? 'undefined' : (text.length > 300 ? `${text.slice(0, 300)}...` : text);
}

// ---- OTLP/JSON normal form ----

const field = (obj, camel, snake) => (obj?.[camel] !== undefined ? obj[camel] : obj?.[snake]);
const int64 = (v) => (v === undefined || v === null ? '0' : String(v));
const num = (v) => (v === undefined || v === null ? 0 : Number(v));
const str = (v) => (v === undefined || v === null ? '' : String(v));
const hex = (v) => str(v).toLowerCase();

export function anyValue(v) {
    if (v === undefined || v === null) {
        return { empty: true };
    }
    const has = (camel, snake) => field(v, camel, snake) !== undefined;
    if (has('stringValue', 'string_value')) return { string: field(v, 'stringValue', 'string_value') };
    if (has('boolValue', 'bool_value')) return { bool: Boolean(field(v, 'boolValue', 'bool_value')) };
    if (has('intValue', 'int_value')) return { int: String(field(v, 'intValue', 'int_value')) };
    if (has('doubleValue', 'double_value')) return { double: String(Number(field(v, 'doubleValue', 'double_value'))) };
    if (has('bytesValue', 'bytes_value')) return { bytes: field(v, 'bytesValue', 'bytes_value') };
    if (has('arrayValue', 'array_value')) {
        return { array: (field(v, 'arrayValue', 'array_value').values ?? []).map(anyValue) };
    }
    if (has('kvlistValue', 'kvlist_value')) {
        return { kvlist: attributes(field(v, 'kvlistValue', 'kvlist_value').values) };
    }
    return { empty: true };
}

// KeyValue list -> ordered list of [key, value] (order and duplicates are part of the data).
export function attributes(list) {
    return (list ?? []).map((kv) => [kv.key, anyValue(kv.value)]);
}

function resource(r) {
    return {
        attributes: attributes(r?.attributes),
        droppedAttributesCount: num(field(r, 'droppedAttributesCount', 'dropped_attributes_count')),
    };
}

function scope(s) {
    return {
        name: str(s?.name),
        version: str(s?.version),
        attributes: attributes(s?.attributes),
        droppedAttributesCount: num(field(s, 'droppedAttributesCount', 'dropped_attributes_count')),
    };
}

function span(s) {
    return {
        traceId: hex(field(s, 'traceId', 'trace_id')),
        spanId: hex(field(s, 'spanId', 'span_id')),
        traceState: str(field(s, 'traceState', 'trace_state')),
        parentSpanId: hex(field(s, 'parentSpanId', 'parent_span_id')),
        flags: num(s.flags),
        name: str(s.name),
        kind: num(s.kind),
        startTimeUnixNano: int64(field(s, 'startTimeUnixNano', 'start_time_unix_nano')),
        endTimeUnixNano: int64(field(s, 'endTimeUnixNano', 'end_time_unix_nano')),
        attributes: attributes(s.attributes),
        droppedAttributesCount: num(field(s, 'droppedAttributesCount', 'dropped_attributes_count')),
        events: (s.events ?? []).map((e) => ({
            timeUnixNano: int64(field(e, 'timeUnixNano', 'time_unix_nano')),
            name: str(e.name),
            attributes: attributes(e.attributes),
            droppedAttributesCount: num(field(e, 'droppedAttributesCount', 'dropped_attributes_count')),
        })),
        droppedEventsCount: num(field(s, 'droppedEventsCount', 'dropped_events_count')),
        links: (s.links ?? []).map((l) => ({
            traceId: hex(field(l, 'traceId', 'trace_id')),
            spanId: hex(field(l, 'spanId', 'span_id')),
            traceState: str(field(l, 'traceState', 'trace_state')),
            attributes: attributes(l.attributes),
            droppedAttributesCount: num(field(l, 'droppedAttributesCount', 'dropped_attributes_count')),
            flags: num(l.flags),
        })),
        droppedLinksCount: num(field(s, 'droppedLinksCount', 'dropped_links_count')),
        status: { code: num(s.status?.code), message: str(s.status?.message) },
    };
}

function numberPoint(p) {
    const asInt = field(p, 'asInt', 'as_int');
    const asDouble = field(p, 'asDouble', 'as_double');
    return {
        attributes: attributes(p.attributes),
        startTimeUnixNano: int64(field(p, 'startTimeUnixNano', 'start_time_unix_nano')),
        timeUnixNano: int64(field(p, 'timeUnixNano', 'time_unix_nano')),
        value: asInt !== undefined ? { int: String(asInt) } : { double: String(Number(asDouble ?? 0)) },
        exemplars: (p.exemplars ?? []).length,
        flags: num(p.flags),
    };
}

function histogramPoint(p) {
    const optional = (v) => (v === undefined || v === null ? null : String(Number(v)));
    return {
        attributes: attributes(p.attributes),
        startTimeUnixNano: int64(field(p, 'startTimeUnixNano', 'start_time_unix_nano')),
        timeUnixNano: int64(field(p, 'timeUnixNano', 'time_unix_nano')),
        count: int64(p.count),
        sum: optional(p.sum),
        bucketCounts: (field(p, 'bucketCounts', 'bucket_counts') ?? []).map(String),
        explicitBounds: (field(p, 'explicitBounds', 'explicit_bounds') ?? []).map((b) => String(Number(b))),
        min: optional(p.min),
        max: optional(p.max),
        exemplars: (p.exemplars ?? []).length,
        flags: num(p.flags),
    };
}

function metric(m) {
    const out = { name: str(m.name), description: str(m.description), unit: str(m.unit) };
    if (m.gauge) {
        out.type = 'gauge';
        out.dataPoints = (field(m.gauge, 'dataPoints', 'data_points') ?? []).map(numberPoint);
    } else if (m.sum) {
        out.type = 'sum';
        out.aggregationTemporality = num(field(m.sum, 'aggregationTemporality', 'aggregation_temporality'));
        out.isMonotonic = Boolean(field(m.sum, 'isMonotonic', 'is_monotonic'));
        out.dataPoints = (field(m.sum, 'dataPoints', 'data_points') ?? []).map(numberPoint);
    } else if (m.histogram) {
        out.type = 'histogram';
        out.aggregationTemporality = num(field(m.histogram, 'aggregationTemporality', 'aggregation_temporality'));
        out.dataPoints = (field(m.histogram, 'dataPoints', 'data_points') ?? []).map(histogramPoint);
    } else {
        out.type = Object.keys(m).find((k) => ['exponentialHistogram', 'summary'].includes(k)) ?? 'none';
    }
    return out;
}

function logRecord(r) {
    return {
        timeUnixNano: int64(field(r, 'timeUnixNano', 'time_unix_nano')),
        observedTimeUnixNano: int64(field(r, 'observedTimeUnixNano', 'observed_time_unix_nano')),
        severityNumber: num(field(r, 'severityNumber', 'severity_number')),
        severityText: str(field(r, 'severityText', 'severity_text')),
        body: anyValue(r.body),
        attributes: attributes(r.attributes),
        droppedAttributesCount: num(field(r, 'droppedAttributesCount', 'dropped_attributes_count')),
        flags: num(r.flags),
        traceId: hex(field(r, 'traceId', 'trace_id')),
        spanId: hex(field(r, 'spanId', 'span_id')),
        eventName: str(field(r, 'eventName', 'event_name')),
    };
}

const SIGNALS = {
    traces: { resources: ['resourceSpans', 'resource_spans'], scopes: ['scopeSpans', 'scope_spans'],
        items: ['spans', 'spans'], item: span },
    metrics: { resources: ['resourceMetrics', 'resource_metrics'], scopes: ['scopeMetrics', 'scope_metrics'],
        items: ['metrics', 'metrics'], item: metric },
    logs: { resources: ['resourceLogs', 'resource_logs'], scopes: ['scopeLogs', 'scope_logs'],
        items: ['logRecords', 'log_records'], item: logRecord },
};

// Every resource entry of `doc` in the normal form, in order. `doc` is one export request, or
// an array of them (the fakes' ?view=otlp lists the accepted requests).
export function otlpResources(signal, doc) {
    const s = SIGNALS[signal];
    const requests = Array.isArray(doc) ? doc : [doc];
    return requests.flatMap((request) => (field(request, ...s.resources) ?? []).map((r) => ({
        resource: resource(r.resource),
        schemaUrl: str(field(r, 'schemaUrl', 'schema_url')),
        scopes: (field(r, ...s.scopes) ?? []).map((sc) => ({
            scope: scope(sc.scope),
            schemaUrl: str(field(sc, 'schemaUrl', 'schema_url')),
            items: (field(sc, ...s.items) ?? []).map(s.item),
        })),
    })));
}

// The string value of resource attribute `key` in a normal-form resource entry, or undefined.
export function resourceAttribute(entry, key) {
    const found = entry.resource.attributes.find(([k]) => k === key);
    return found ? found[1].string : undefined;
}

// ---- Prometheus 3 OTLP translation (UnderscoreEscapingWithSuffixes), facts/pipeline.md §7 ----

const UNIT_NAMES = {
    d: 'days', h: 'hours', min: 'minutes', s: 'seconds', ms: 'milliseconds', us: 'microseconds',
    ns: 'nanoseconds', By: 'bytes', KiBy: 'kibibytes', MiBy: 'mebibytes', GiBy: 'gibibytes',
    TiBy: 'tibibytes', KBy: 'kilobytes', MBy: 'megabytes', GBy: 'gigabytes', TBy: 'terabytes',
    m: 'meters', V: 'volts', A: 'amperes', J: 'joules', W: 'watts', g: 'grams', Cel: 'celsius',
    Hz: 'hertz', 1: '', '%': 'percent',
};
const PER_UNIT_NAMES = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

const tokens = (text) => text.split(/[^A-Za-z0-9:]+/).filter(Boolean);

// The series name of a normal-form metric ("interop_request_duration_seconds" for a histogram,
// without its _bucket/_sum/_count suffixes).
export function prometheusName(m) {
    const words = tokens(m.name);
    // A unit with an annotation ({request}) adds no suffix at all.
    if (m.unit && !/[{}]/.test(m.unit)) {
        const [main, per] = m.unit.split('/', 2);
        const suffix = [];
        if (main) suffix.push(...tokens(UNIT_NAMES[main] ?? main));
        if (per) suffix.push('per', ...tokens(PER_UNIT_NAMES[per] ?? per));
        for (const word of suffix) {
            if (!words.includes(word)) words.push(word);
        }
    }
    const kept = (word) => words.filter((w) => w !== word).concat(word);
    let result = words;
    if (m.type === 'sum' && m.isMonotonic) result = kept('total');
    if (m.type === 'gauge' && m.unit === '1') result = kept('ratio');
    const name = result.join('_');
    return /^[0-9]/.test(name) ? `_${name}` : name;
}

// otlptranslator's label name sanitising (also Loki's, whose otlptranslator v0.0.2 agrees for
// these inputs): every character outside [A-Za-z0-9] becomes `_`, runs are kept; a leading
// digit or a single leading `_` gets the prefix `key_`.
export function labelName(key) {
    let name = [...key].map((c) => (/[A-Za-z0-9]/.test(c) ? c : '_')).join('');
    if (/^[0-9]/.test(name)) name = `key_${name}`;
    else if (/^_[^_]/.test(name)) name = `key${name}`;
    return name;
}

// pdata's Value.AsString: how Loki and Prometheus turn an attribute into a label value.
export function asString(v) {
    if (v.string !== undefined) return v.string;
    if (v.int !== undefined) return v.int;
    if (v.double !== undefined) return String(Number(v.double));
    if (v.bool !== undefined) return String(v.bool);
    if (v.bytes !== undefined) return v.bytes;
    if (v.array !== undefined) return JSON.stringify(v.array.map(plain));
    if (v.kvlist !== undefined) return JSON.stringify(plain(v));
    return '';
}

// A normal-form value as the plain JSON value pdata's AsRaw gives (maps with sorted keys, as
// encoding/json writes them).
export function plain(v) {
    if (v.string !== undefined) return v.string;
    if (v.int !== undefined) return Number(v.int);
    if (v.double !== undefined) return Number(v.double);
    if (v.bool !== undefined) return v.bool;
    if (v.bytes !== undefined) return v.bytes;
    if (v.array !== undefined) return v.array.map(plain);
    if (v.kvlist !== undefined) {
        return Object.fromEntries([...v.kvlist].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([k, x]) => [k, plain(x)]));
    }
    return null;
}

// ---- Loki 3 OTLP mapping with the default otlp_config, facts/pipeline.md §8 ----

export const LOKI_INDEX_LABELS = ['service.name', 'service.namespace', 'service.instance.id',
    'deployment.environment', 'deployment.environment.name', 'cloud.region',
    'cloud.availability_zone', 'k8s.cluster.name', 'k8s.namespace.name', 'k8s.pod.name',
    'k8s.container.name', 'container.name', 'k8s.replicaset.name', 'k8s.deployment.name',
    'k8s.statefulset.name', 'k8s.daemonset.name', 'k8s.cronjob.name', 'k8s.job.name'];
