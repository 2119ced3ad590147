/*
 * tempo.c - fake Tempo 2.x OTLP/HTTP ingest (pipeline.md §9), checked against:
 *   tempo@v2.9.0 modules/distributor/distributor.go   the id checks and their words
 *   tempo@v2.9.0 modules/distributor/receiver/shim.go the embedded collector receiver
 *   core receiver/otlpreceiver/otlphttp.go (receivers.md §1, the order of the checks and the
 *   bodies: 404 page not found, 405/415 as text/plain, errors as google.rpc.Status in the
 *   request's encoding, 500 fallback for other content types, success `{"partialSuccess":{}}`
 *   or the two bytes 0a 00)
 *   tempo pkg/model/trace/combine.go: a query shows a span once per (span id, kind)
 *
 * Request flow: path (404) -> Content-Encoding known (400 via errorHandler) -> method (405) ->
 * Content-Type (415) -> body size and decompression (400) -> decode (400) -> no spans: 200 ->
 * ids (400 InvalidArgument) -> store -> 200. A protobuf request whose every id passes skips the
 * decode: its ids are read from the bytes (tempo_ingest_wire, otlp_wire.h).
 *
 * Storage: ingest does what the distributor does (the id checks) and keeps the request as it
 * came (its protobuf bytes, kept.h) with a 40-byte index entry per span; the views decode
 * the kept requests when the control API asks. Building the view's JSON at ingest instead cost
 * ~10 us and ~7 KB per span, which made the fake, not the collector, the bottleneck of a
 * benchmark.
 *
 * Deliberately not done:
 * - snappy, x-snappy-framed and lz4 bodies (the receiver accepts them): answered as unsupported
 *   encodings, since no such library is part of the build; the collector sends gzip by default.
 * - a gzip body with a bad header on a non-POST request: the receiver's decompressor answers 400
 *   before the handler checks the method; this fake checks the method first.
 * - rate limits and per-trace limits: faults stand in for them.
 * - tenancy: `single-tenant` only (multitenancy_enabled is false by default).
 */
#include "tempo.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "fake_util.h"
#include "kept.h"
#include "otlp_json.h"
#include "otlp_wire.h"

#define OTLP_PATH "/v1/traces"
#define GRPC_INVALID_ARGUMENT 3
#define GRPC_UNAVAILABLE 14
#define MAX_DEPTH 64

typedef Opentelemetry__Proto__Trace__V1__ResourceSpans otlp_resource_spans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans otlp_scope_spans;
typedef Opentelemetry__Proto__Trace__V1__Span otlp_span;

/* What the index keeps of every span: what the id checks already proved and what sorting and
 * the combiner's de-duplication need, so that a view decodes each request once and ingest
 * builds nothing. A span's arrival number is its place in the kept requests, in order. */
struct span_ref {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint64_t start;
    int32_t kind;
};

/* The index of one kept request: its spans in the order next_span walks them. */
struct request_index {
    size_t count;
    struct span_ref spans[];
};

struct tempo {
    pthread_mutex_t mutex;
    struct kept_list kept; /* requests with spans, in arrival order */
    size_t stored_spans;
};

/* ---- lifecycle ---- */

struct tempo *tempo_new(void)
{
    struct tempo *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mutex, NULL);
    return t;
}

void tempo_free(struct tempo *t)
{
    if (!t)
        return;
    kept_list_clear(&t->kept);
    pthread_mutex_destroy(&t->mutex);
    free(t);
}

void tempo_reset(struct tempo *t)
{
    struct kept_list old;
    pthread_mutex_lock(&t->mutex);
    kept_list_detach(&t->kept, &old);
    t->stored_spans = 0;
    pthread_mutex_unlock(&t->mutex);
    kept_list_clear(&old);
}

/* ---- walking a request ---- */

/* Where a walk over a request's spans stands. */
struct span_cursor {
    const otlp_traces_req *req;
    size_t resource, scope, span;
};

/* The next span of the walk (NULL at the end), with its resource and scope: ingest and the
 * views walk the same way, so the nth span of one walk is the nth of every other. */
static const otlp_span *next_span(struct span_cursor *c, const otlp_resource_spans **rs_out,
                                  const otlp_scope_spans **ss_out)
{
    for (; c->resource < c->req->n_resource_spans; c->resource++, c->scope = 0, c->span = 0) {
        const otlp_resource_spans *rs = c->req->resource_spans[c->resource];
        for (; rs && c->scope < rs->n_scope_spans; c->scope++, c->span = 0) {
            const otlp_scope_spans *ss = rs->scope_spans[c->scope];
            while (ss && c->span < ss->n_spans) {
                const otlp_span *span = ss->spans[c->span++];
                if (span) {
                    *rs_out = rs;
                    *ss_out = ss;
                    return span;
                }
            }
        }
    }
    return NULL;
}

/* ---- spans as the view shows them ---- */

static json_t *any_value_json(const otlp_anyvalue *v, int depth);

/* Attributes as one object; a repeated key keeps its last value. */
static json_t *attributes_json(otlp_keyvalue *const *attrs, size_t n, int depth)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        const char *key = attrs[i] && attrs[i]->key ? attrs[i]->key : "";
        if (fake_util_json_set(o, key,
                               any_value_json(attrs[i] ? attrs[i]->value : NULL, depth + 1))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *base64_json(const uint8_t *data, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        out[w++] = alphabet[(v >> 18) & 63];
        out[w++] = alphabet[(v >> 12) & 63];
        out[w++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
        out[w++] = i + 2 < len ? alphabet[v & 63] : '=';
    }
    out[w] = '\0';
    json_t *s = json_string(out);
    free(out);
    return s;
}

/* An attribute value as plain JSON: strings, numbers, booleans, arrays and objects as
 * themselves, bytes as base64, NaN and infinities as the strings OTLP/JSON uses, an empty value
 * as null. Bytes that are not UTF-8 in strings and keys show as U+FFFD. */
static json_t *any_value_json(const otlp_anyvalue *v, int depth)
{
    if (!v || depth > MAX_DEPTH)
        return json_null();
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: {
        const char *s = v->string_value ? v->string_value : "";
        return fake_util_json_string(s, strlen(s));
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        return json_boolean(v->bool_value);
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        return json_integer(v->int_value);
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        if (isnan(v->double_value))
            return json_string("NaN");
        if (isinf(v->double_value))
            return json_string(v->double_value > 0 ? "Infinity" : "-Infinity");
        return json_real(v->double_value);
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        return base64_json(v->bytes_value.data, v->bytes_value.len);
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
        json_t *a = json_array();
        size_t n = v->array_value ? v->array_value->n_values : 0;
        for (size_t i = 0; a && i < n; i++) {
            if (json_array_append_new(a, any_value_json(v->array_value->values[i], depth + 1))) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        return attributes_json(v->kvlist_value ? v->kvlist_value->values : NULL,
                               v->kvlist_value ? v->kvlist_value->n_values : 0, depth);
    default: return json_null();
    }
}

static json_t *hex_json(const ProtobufCBinaryData *id)
{
    char hex[2 * 16 + 1];
    if (id->len > 16)
        return json_string("");
    fake_util_hex(id->data, id->len, hex);
    return json_string(hex);
}

static json_t *decimal_json(uint64_t n)
{
    char text[32];
    snprintf(text, sizeof(text), "%" PRIu64, n);
    return json_string(text);
}

static json_t *string_json(const char *s)
{
    return fake_util_json_string(s ? s : "", s ? strlen(s) : 0);
}

static json_t *enum_json(const ProtobufCEnumDescriptor *desc, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    if (v)
        return json_string(v->name);
    char text[16];
    snprintf(text, sizeof(text), "%d", value);
    return json_string(text);
}

static int set_count(json_t *o, const char *key, uint32_t n)
{
    /* Dropped counts are shown only when something was dropped, to keep goldens short. */
    return n ? json_object_set_new(o, key, json_integer(n)) : 0;
}

static json_t *span_json(const otlp_span *span, const otlp_resource *resource,
                         const Opentelemetry__Proto__Common__V1__InstrumentationScope *scope)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    otlp_keyvalue *const *rattrs = resource ? resource->attributes : NULL;
    size_t rn = resource ? resource->n_attributes : 0;
    const char *service = pdata_attr_get_string(rattrs, rn, "service.name");
    int rc = 0;
    rc |= json_object_set_new(o, "span_id", hex_json(&span->span_id));
    rc |= json_object_set_new(o, "parent_span_id", hex_json(&span->parent_span_id));
    rc |= json_object_set_new(o, "service_name", string_json(service));
    rc |= json_object_set_new(o, "name", string_json(span->name));
    rc |= json_object_set_new(
        o, "kind",
        enum_json(&opentelemetry__proto__trace__v1__span__span_kind__descriptor, (int)span->kind));
    rc |= json_object_set_new(o, "trace_state", string_json(span->trace_state));
    json_t *status = json_object();
    if (status) {
        int code = span->status ? (int)span->status->code : 0;
        rc |= json_object_set_new(
            status, "code",
            enum_json(&opentelemetry__proto__trace__v1__status__status_code__descriptor, code));
        rc |= json_object_set_new(status, "message",
                                  string_json(span->status ? span->status->message : ""));
    }
    rc |= json_object_set_new(o, "status", status);
    rc |= json_object_set_new(o, "start_time_unix_nano", decimal_json(span->start_time_unix_nano));
    rc |= json_object_set_new(o, "end_time_unix_nano", decimal_json(span->end_time_unix_nano));
    rc |= json_object_set_new(o, "attributes",
                              attributes_json(span->attributes, span->n_attributes, 0));
    rc |= json_object_set_new(o, "resource_attributes", attributes_json(rattrs, rn, 0));
    json_t *sc = json_object();
    if (sc) {
        rc |= json_object_set_new(sc, "name", string_json(scope ? scope->name : ""));
        rc |= json_object_set_new(sc, "version", string_json(scope ? scope->version : ""));
        if (scope && scope->n_attributes)
            rc |= json_object_set_new(sc, "attributes",
                                      attributes_json(scope->attributes, scope->n_attributes, 0));
    }
    rc |= json_object_set_new(o, "scope", sc);
    json_t *events = json_array();
    for (size_t i = 0; events && i < span->n_events; i++) {
        const Opentelemetry__Proto__Trace__V1__Span__Event *ev = span->events[i];
        json_t *e = json_object();
        if (!e || !ev) {
            json_decref(e);
            continue;
        }
        rc |= json_object_set_new(e, "time_unix_nano", decimal_json(ev->time_unix_nano));
        rc |= json_object_set_new(e, "name", string_json(ev->name));
        rc |= json_object_set_new(e, "attributes",
                                  attributes_json(ev->attributes, ev->n_attributes, 0));
        rc |= set_count(e, "dropped_attributes_count", ev->dropped_attributes_count);
        rc |= json_array_append_new(events, e);
    }
    rc |= json_object_set_new(o, "events", events);
    json_t *links = json_array();
    for (size_t i = 0; links && i < span->n_links; i++) {
        const Opentelemetry__Proto__Trace__V1__Span__Link *ln = span->links[i];
        json_t *l = json_object();
        if (!l || !ln) {
            json_decref(l);
            continue;
        }
        rc |= json_object_set_new(l, "trace_id", hex_json(&ln->trace_id));
        rc |= json_object_set_new(l, "span_id", hex_json(&ln->span_id));
        rc |= json_object_set_new(l, "trace_state", string_json(ln->trace_state));
        rc |= json_object_set_new(l, "attributes",
                                  attributes_json(ln->attributes, ln->n_attributes, 0));
        rc |= set_count(l, "dropped_attributes_count", ln->dropped_attributes_count);
        rc |= json_array_append_new(links, l);
    }
    rc |= json_object_set_new(o, "links", links);
    rc |= set_count(o, "dropped_attributes_count", span->dropped_attributes_count);
    rc |= set_count(o, "dropped_events_count", span->dropped_events_count);
    rc |= set_count(o, "dropped_links_count", span->dropped_links_count);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- ingest ---- */

static bool all_zero(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (data[i])
            return false;
    return true;
}

/* The distributor checks every span before anything is written; the first bad id fails the
 * whole request. Returns the number of spans, or -EINVAL with Tempo's words in `err`. */
static long check_ids(const otlp_traces_req *req, struct error *err)
{
    struct span_cursor c = {.req = req};
    const otlp_resource_spans *rs;
    const otlp_scope_spans *ss;
    const otlp_span *span;
    long n = 0;
    while ((span = next_span(&c, &rs, &ss))) {
        if (span->trace_id.len != 16)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "trace ids must be 128 bit, received %zu bits",
                             span->trace_id.len * 8);
        if (span->span_id.len != 8 || all_zero(span->span_id.data, 8))
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "span ids must be 64 bit and not all zero, received %zu bits",
                             span->span_id.len * 8);
        n++;
    }
    return n;
}

/* Adds `kept` (with its index of `count` spans) to the store, taking the caller's reference
 * either way. Returns 0, or -ENOSPC / -ENOMEM with `err` filled. */
static int keep(struct tempo *t, struct kept *kept, size_t count, struct error *err)
{
    int rc = 0;
    pthread_mutex_lock(&t->mutex);
    if (t->stored_spans + count > TEMPO_MAX_STORED_SPANS)
        rc = error_set(err, -ENOSPC, ERROR_RETRYABLE,
                       "fake tempo holds %u spans, its maximum; reset it with DELETE "
                       "/v1/received",
                       TEMPO_MAX_STORED_SPANS);
    else if (kept_list_append(&t->kept, kept) < 0)
        rc = error_set(err, -ENOMEM, ERROR_RETRYABLE, "out of memory");
    if (rc == 0) {
        t->stored_spans += count;
        kept = NULL;
    }
    pthread_mutex_unlock(&t->mutex);
    kept_unref(kept);
    return rc;
}

/* tempo_ingest and tempo_ingest_protobuf: `payload` stays the caller's. */
static int ingest(struct tempo *t, const struct payload *payload, const uint8_t *protobuf,
                  size_t len, size_t *spans_out, struct error *err)
{
    *spans_out = 0;
    long n = check_ids(payload->traces, err);
    if (n <= 0)
        return (int)n; /* no spans: the receiver answers at once, without calling Tempo */
    size_t count = (size_t)n;
    struct kept *kept = kept_new(payload, protobuf, len,
                                 sizeof(struct request_index) + count * sizeof(struct span_ref));
    if (!kept)
        return error_set(err, -ENOMEM, ERROR_RETRYABLE, "out of memory");
    struct request_index *index = kept_index(kept);
    struct span_cursor c = {.req = payload->traces};
    const otlp_resource_spans *rs;
    const otlp_scope_spans *ss;
    const otlp_span *span;
    while (index->count < count && (span = next_span(&c, &rs, &ss))) {
        struct span_ref *ref = &index->spans[index->count++];
        memcpy(ref->trace_id, span->trace_id.data, 16);
        memcpy(ref->span_id, span->span_id.data, 8);
        ref->start = span->start_time_unix_nano;
        ref->kind = (int32_t)span->kind;
    }
    int rc = keep(t, kept, count, err);
    if (rc == 0)
        *spans_out = count;
    return rc;
}

/* ---- ingest from the bytes (otlp_wire.h) ---- */

/* The index entries of one request as the walk reads them, before the kept request exists (its
 * index is sized by the count). At most TEMPO_MAX_STORED_SPANS: more could not be stored. */
struct wire_spans {
    struct span_ref *items;
    size_t count, cap;
};

static struct span_ref *wire_spans_add(struct wire_spans *spans)
{
    if (spans->count == spans->cap) {
        size_t cap = spans->cap ? spans->cap * 2 : 256;
        if (cap > TEMPO_MAX_STORED_SPANS)
            cap = TEMPO_MAX_STORED_SPANS;
        if (cap == spans->count)
            return NULL;
        struct span_ref *grown = realloc(spans->items, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        spans->items = grown;
        spans->cap = cap;
    }
    return &spans->items[spans->count++];
}

/* One Span, checked as it is read: its index entry, or -EAGAIN when the check is not sure or
 * its ids fail check_ids (which words the answer). */
static int read_wire_span(struct otlp_wire_message *span, struct span_ref *ref)
{
    struct otlp_wire_field f;
    bool trace_ok = false, span_ok = false;
    memset(ref, 0, sizeof(*ref));
    int rc;
    while ((rc = otlp_wire_checked_next(span, 0, &f)) == 1) {
        if (f.number == 1 && f.len == 16) {
            memcpy(ref->trace_id, f.data, 16);
            trace_ok = true;
        } else if (f.number == 2 && f.len == 8) {
            memcpy(ref->span_id, f.data, 8);
            span_ok = !all_zero(f.data, 8);
        } else if (f.number == 6) {
            ref->kind = (int32_t)(uint32_t)f.value; /* protobuf-c keeps 32 bits of an enum */
        } else if (f.number == 7) {
            ref->start = f.value;
        }
    }
    return rc == 0 && trace_ok && span_ok ? 0 : -EAGAIN;
}

/* ScopeSpans: spans = 2. */
static int read_wire_scope_spans(struct otlp_wire_message *scope, struct wire_spans *spans)
{
    struct otlp_wire_message span;
    struct otlp_wire_field f;
    int rc;
    while ((rc = otlp_wire_checked_next(scope, OTLP_WIRE_WALK(2), &f)) == 1) {
        if (f.number != 2)
            continue;
        struct span_ref *ref = wire_spans_add(spans);
        if (!ref || !otlp_wire_open_field(&span, scope, &f) || read_wire_span(&span, ref) < 0)
            return -EAGAIN;
    }
    return rc == 0 ? 0 : -EAGAIN;
}

/* ResourceSpans: scope_spans = 2. */
static int read_wire_resource_spans(struct otlp_wire_message *resource, struct wire_spans *spans)
{
    struct otlp_wire_message scope;
    struct otlp_wire_field f;
    int rc;
    while ((rc = otlp_wire_checked_next(resource, OTLP_WIRE_WALK(2), &f)) == 1) {
        if (f.number == 2 && (!otlp_wire_open_field(&scope, resource, &f) ||
                              read_wire_scope_spans(&scope, spans) < 0))
            return -EAGAIN;
    }
    return rc == 0 ? 0 : -EAGAIN;
}

/* The index entries of every span of the request in `buf`, in next_span's order, read and
 * checked in one walk: 0, or -EAGAIN when the check is not sure, an id fails, or (an index
 * entry could not be allocated) the full path must decide. */
static int read_wire_spans(const uint8_t *buf, size_t len, struct wire_spans *spans)
{
    struct otlp_wire_message request, resource;
    struct otlp_wire_field f;
    if (!otlp_wire_open(
            &request,
            &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
            buf, len, 1))
        return -EAGAIN;
    int rc;
    while ((rc = otlp_wire_checked_next(&request, OTLP_WIRE_WALK(1), &f)) == 1) {
        if (f.number == 1 && (!otlp_wire_open_field(&resource, &request, &f) ||
                              read_wire_resource_spans(&resource, spans) < 0))
            return -EAGAIN;
    }
    return rc == 0 ? 0 : -EAGAIN;
}

int tempo_ingest_wire(struct tempo *t, const uint8_t *protobuf, size_t len, size_t *spans_out,
                      struct error *err)
{
    *spans_out = 0;
    struct wire_spans spans = {0};
    int rc = read_wire_spans(protobuf, len, &spans);
    if (rc == 0 && spans.count == 0)
        rc = -EAGAIN; /* the full path answers a request without spans */
    if (rc < 0) {
        free(spans.items);
        return rc;
    }
    size_t index_size = spans.count * sizeof(struct span_ref);
    struct kept *kept =
        kept_new_bytes(SIGNAL_TRACES, protobuf, len, sizeof(struct request_index) + index_size);
    if (!kept) {
        free(spans.items);
        return error_set(err, -ENOMEM, ERROR_RETRYABLE, "out of memory");
    }
    struct request_index *index = kept_index(kept);
    index->count = spans.count;
    memcpy(index->spans, spans.items, index_size);
    free(spans.items);
    rc = keep(t, kept, spans.count, err);
    if (rc == 0)
        *spans_out = spans.count;
    return rc;
}

int tempo_ingest(struct tempo *t, struct payload *payload, size_t *spans_out, struct error *err)
{
    int rc = ingest(t, payload, NULL, 0, spans_out, err);
    payload_free(payload);
    return rc;
}

int tempo_ingest_protobuf(struct tempo *t, struct payload *payload, const uint8_t *protobuf,
                          size_t len, size_t *spans_out, struct error *err)
{
    int rc = ingest(t, payload, protobuf, len, spans_out, err);
    payload_free(payload);
    return rc;
}

/* ---- HTTP ---- */

/* The receiver's errorHandler / writeError: a Status in the encoding of the request's media
 * type; any other media type cannot be answered in kind and gets the fixed 500. */
static void status_response(struct http_response *resp, const char *media, int http_status,
                            int grpc_code, const char *message)
{
    if (strcmp(media, "application/x-protobuf") == 0) {
        fake_util_write_rpc_status(resp, http_status, grpc_code, message, false, NULL);
    } else if (strcmp(media, "application/json") == 0 || media[0] == '\0') {
        fake_util_write_rpc_status(resp, http_status, grpc_code, message, true, NULL);
    } else {
        static const char fallback[] =
            "{\"code\": 13, \"message\": \"failed to marshal error message\"}";
        http_response_set_body(resp, "application/json", fallback, sizeof(fallback) - 1);
        resp->status = 500;
    }
}

static void success_response(struct http_response *resp, const char *media)
{
    resp->status = 200;
    if (strcmp(media, "application/x-protobuf") == 0) {
        static const uint8_t empty_partial_success[] = {0x0a, 0x00};
        http_response_set_body(resp, "application/x-protobuf", empty_partial_success,
                               sizeof(empty_partial_success));
    } else {
        static const char body[] = "{\"partialSuccess\":{}}";
        http_response_set_body(resp, "application/json", body, sizeof(body) - 1);
    }
}

static void text_response(struct http_response *resp, int status, const char *content_type,
                          const char *text)
{
    http_response_set_body(resp, content_type, text, strlen(text));
    resp->status = status;
}

void tempo_http_export(struct tempo *t, const struct tempo_http_request *req,
                       struct http_response *resp, size_t *items_out)
{
    *items_out = 0;
    char media[128];
    fake_util_media_type(req->content_type, media, sizeof(media));
    if (!req->path || strcmp(req->path, OTLP_PATH) != 0) {
        text_response(resp, 404, "text/plain; charset=utf-8", "404 page not found\n");
        return;
    }
    enum compression compression;
    if (compression_parse(req->content_encoding, &compression) < 0) {
        char message[300];
        snprintf(message, sizeof(message), "unsupported Content-Encoding: %.200s",
                 req->content_encoding);
        status_response(resp, media, 400, GRPC_INVALID_ARGUMENT, message);
        return;
    }
    if (!req->method || strcmp(req->method, "POST") != 0) {
        text_response(resp, 405, "text/plain", "405 method not allowed, supported: [POST]");
        return;
    }
    if (strcmp(media, "application/x-protobuf") != 0 && strcmp(media, "application/json") != 0) {
        text_response(resp, 415, "text/plain",
                      "415 unsupported media type, supported: [application/json, "
                      "application/x-protobuf]");
        return;
    }
    if (req->body_too_large) {
        status_response(resp, media, 400, GRPC_INVALID_ARGUMENT, "http: request body too large");
        return;
    }
    struct error err = {0};
    const uint8_t *data = req->body;
    size_t len = req->body_len;
    struct decompressed plain = {0};
    if (compression != COMPRESSION_NONE) {
        int rc = decompress_pooled(compression, req->body, req->body_len, TEMPO_MAX_REQUEST_BODY,
                                   &plain, &err);
        if (rc < 0) {
            status_response(resp, media, rc == -ENOMEM ? 503 : 400,
                            rc == -ENOMEM ? GRPC_UNAVAILABLE : GRPC_INVALID_ARGUMENT,
                            err.message[0] ? err.message : "cannot decompress the body");
            return;
        }
        data = plain.data;
        len = plain.len;
    }
    bool json = strcmp(media, "application/json") == 0;
    int rc = json ? -EAGAIN : tempo_ingest_wire(t, data, len, items_out, &err);
    if (rc != -EAGAIN) {
        decompressed_release(&plain);
        if (rc < 0)
            status_response(resp, media, 503, GRPC_UNAVAILABLE, err.message);
        else
            success_response(resp, media);
        return;
    }
    struct payload *payload = NULL;
    rc = json ? otlp_json_decode_payload(SIGNAL_TRACES, (const char *)data, len, &payload, &err)
              : payload_decode(SIGNAL_TRACES, data, len, &payload, &err);
    if (rc < 0) {
        decompressed_release(&plain);
        status_response(resp, media, rc == -ENOMEM ? 503 : 400,
                        rc == -ENOMEM ? GRPC_UNAVAILABLE : GRPC_INVALID_ARGUMENT,
                        err.message[0] ? err.message : "cannot decode the body");
        return;
    }
    /* A protobuf request is kept as its bytes, a JSON one as its tree (kept_new). */
    rc = json ? tempo_ingest(t, payload, items_out, &err)
              : tempo_ingest_protobuf(t, payload, data, len, items_out, &err);
    decompressed_release(&plain);
    if (rc == -EINVAL)
        status_response(resp, media, 400, GRPC_INVALID_ARGUMENT, err.message);
    else if (rc < 0)
        status_response(resp, media, 503, GRPC_UNAVAILABLE, err.message);
    else
        success_response(resp, media);
}

static void request_parts(const struct http_request *req, struct tempo_http_request *out)
{
    *out = (struct tempo_http_request){
        .method = req->method,
        .path = req->path,
        .content_type = httpd_request_header(req, "Content-Type"),
        .content_encoding = httpd_request_header(req, "Content-Encoding"),
        .body = req->body,
        .body_len = req->body_len,
        .body_too_large = req->body_too_large,
    };
}

void tempo_handle(struct tempo *t, const struct http_request *req, struct http_response *resp,
                  size_t *items_out)
{
    struct tempo_http_request parts;
    request_parts(req, &parts);
    tempo_http_export(t, &parts, resp, items_out);
}

/* The collector's NewStatusFromMsgAndHTTPCode: the gRPC code a receiver error carries for an
 * HTTP status. */
static int grpc_code_for_http(int status)
{
    switch (status) {
    case 400: return 3;  /* InvalidArgument */
    case 401: return 16; /* Unauthenticated */
    case 403: return 7;  /* PermissionDenied */
    case 404: return 12; /* Unimplemented */
    case 429: return 8;  /* ResourceExhausted */
    case 502:
    case 503:
    case 504: return 14; /* Unavailable */
    default: return 2;   /* Unknown */
    }
}

void tempo_refuse(struct tempo *t, const struct tempo_http_request *req, struct http_response *resp,
                  int status, const char *message)
{
    (void)t;
    char media[128];
    fake_util_media_type(req->content_type, media, sizeof(media));
    if (strcmp(media, "application/x-protobuf") != 0)
        strcpy(media, "application/json"); /* a fault answers even an odd request in kind */
    if (status < 300) {
        success_response(resp, media);
        resp->status = status;
        return;
    }
    status_response(resp, media, status, grpc_code_for_http(status),
                    message ? message : fake_util_status_text(status));
}

void tempo_refuse_http(struct tempo *t, const struct http_request *req, struct http_response *resp,
                       int status, const char *message)
{
    struct tempo_http_request parts;
    request_parts(req, &parts);
    tempo_refuse(t, &parts, resp, status, message);
}

/* ---- views ---- */

/* One span of the view being built. */
struct view_span {
    const struct span_ref *ref;
    size_t arrival;
    json_t *json;
};

/* Groups the spans of one (trace, span id, kind) together, earliest arrival first. */
static int compare_identity(const void *a, const void *b)
{
    const struct view_span *x = a, *y = b;
    int c = memcmp(x->ref->trace_id, y->ref->trace_id, 16);
    if (!c)
        c = memcmp(x->ref->span_id, y->ref->span_id, 8);
    if (c)
        return c;
    if (x->ref->kind != y->ref->kind)
        return x->ref->kind < y->ref->kind ? -1 : 1;
    return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

static int compare_arrival(const void *a, const void *b)
{
    const struct view_span *x = a, *y = b;
    return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

/* The view's order: traces by id, spans by start time, span id, kind, then arrival. */
static int compare_shown(const void *a, const void *b)
{
    const struct view_span *x = a, *y = b;
    int c = memcmp(x->ref->trace_id, y->ref->trace_id, 16);
    if (c)
        return c;
    if (x->ref->start != y->ref->start)
        return x->ref->start < y->ref->start ? -1 : 1;
    c = memcmp(x->ref->span_id, y->ref->span_id, 8);
    if (c)
        return c;
    if (x->ref->kind != y->ref->kind)
        return x->ref->kind < y->ref->kind ? -1 : 1;
    return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

/* Every span that Tempo's trace combiner shows, in arrival order: the first arrival of each
 * (trace, span id, kind). Caller owns *out. Returns 0 or -ENOMEM. */
static int shown_spans(const struct kept_list *kept, struct view_span **out, size_t *count)
{
    size_t total = 0;
    for (size_t i = 0; i < kept->count; i++)
        total += ((struct request_index *)kept_index(kept->items[i]))->count;
    *out = NULL;
    *count = 0;
    if (!total)
        return 0;
    struct view_span *spans = malloc(total * sizeof(*spans));
    if (!spans)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < kept->count; i++) {
        const struct request_index *index = kept_index(kept->items[i]);
        for (size_t j = 0; j < index->count; j++, n++)
            spans[n] = (struct view_span){.ref = &index->spans[j], .arrival = n};
    }
    qsort(spans, n, sizeof(*spans), compare_identity);
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        const struct span_ref *a = spans[i].ref, *b = shown ? spans[shown - 1].ref : NULL;
        if (b && memcmp(a->trace_id, b->trace_id, 16) == 0 &&
            memcmp(a->span_id, b->span_id, 8) == 0 && a->kind == b->kind)
            continue; /* a later arrival of a span already shown */
        spans[shown++] = spans[i];
    }
    qsort(spans, shown, sizeof(*spans), compare_arrival);
    *out = spans;
    *count = shown;
    return 0;
}

/* Builds the JSON of every span in `spans` (sorted by arrival), decoding only the requests that
 * hold one, one at a time. Returns 0 or a negative code (some json may be set: the caller
 * releases them all). */
static int build_span_json(const struct kept_list *kept, struct view_span *spans, size_t count)
{
    size_t next = 0, base = 0; /* base: arrival number of the request's first span */
    for (size_t i = 0; i < kept->count && next < count; i++) {
        const struct request_index *index = kept_index(kept->items[i]);
        if (spans[next].arrival >= base + index->count) {
            base += index->count;
            continue;
        }
        struct payload *payload = NULL;
        if (kept_open(kept->items[i], &payload, NULL) < 0)
            return -ENOMEM;
        struct span_cursor c = {.req = payload->traces};
        const otlp_resource_spans *rs;
        const otlp_scope_spans *ss;
        int rc = 0;
        for (size_t j = 0; j < index->count && next < count && !rc; j++) {
            const otlp_span *span = next_span(&c, &rs, &ss);
            if (!span) {
                rc = -EIO; /* the request disagrees with its own index: cannot happen */
                break;
            }
            if (spans[next].arrival != base + j)
                continue; /* a later arrival of a span the view shows once */
            spans[next].json = span_json(span, rs->resource, ss->scope);
            rc = spans[next++].json ? 0 : -ENOMEM;
        }
        kept_close(kept->items[i], payload);
        if (rc)
            return rc;
        base += index->count;
    }
    return next == count ? 0 : -EIO;
}

/* Appends one trace object per trace id to `traces`, moving the spans' json into them; `spans`
 * is in the view's order. Returns 0 or -ENOMEM. */
static int append_traces(json_t *traces, struct view_span *spans, size_t count)
{
    for (size_t i = 0; i < count;) {
        json_t *trace = json_object();
        json_t *list = json_array();
        char hex[33];
        fake_util_hex(spans[i].ref->trace_id, 16, hex);
        int rc = !trace || !list || json_object_set_new(trace, "trace_id", json_string(hex)) ||
                 json_object_set(trace, "spans", list);
        if (!rc) {
            rc = json_array_append_new(traces, trace); /* takes `trace` even when it fails */
            trace = NULL;
        }
        size_t j = i;
        for (; !rc && j < count && memcmp(spans[j].ref->trace_id, spans[i].ref->trace_id, 16) == 0;
             j++) {
            rc = json_array_append_new(list, spans[j].json);
            spans[j].json = NULL;
        }
        json_decref(trace);
        json_decref(list);
        if (rc)
            return -ENOMEM;
        i = j;
    }
    return 0;
}

json_t *tempo_view(struct tempo *t)
{
    struct kept_list kept;
    struct view_span *spans = NULL;
    size_t count = 0;
    json_t *root = json_object();
    json_t *traces = json_array();
    pthread_mutex_lock(&t->mutex);
    int rc = kept_list_snapshot(&t->kept, &kept);
    pthread_mutex_unlock(&t->mutex);
    /* Everything below reads only the snapshot: ingest goes on meanwhile. */
    if (rc || !root || !traces || json_object_set(root, "traces", traces) ||
        shown_spans(&kept, &spans, &count) || build_span_json(&kept, spans, count))
        goto fail;
    if (count)
        qsort(spans, count, sizeof(*spans), compare_shown);
    if (append_traces(traces, spans, count))
        goto fail;
    free(spans);
    json_decref(traces);
    kept_list_clear(&kept);
    return root;
fail:
    for (size_t i = 0; i < count; i++)
        json_decref(spans[i].json);
    free(spans);
    json_decref(traces);
    json_decref(root);
    kept_list_clear(&kept);
    return NULL;
}

json_t *tempo_view_otlp(struct tempo *t)
{
    struct kept_list kept;
    pthread_mutex_lock(&t->mutex);
    int rc = kept_list_snapshot(&t->kept, &kept);
    pthread_mutex_unlock(&t->mutex);
    json_t *all = rc ? NULL : kept_list_otlp_json(&kept);
    kept_list_clear(&kept);
    return all;
}
