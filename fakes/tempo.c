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
 * ids (400 InvalidArgument) -> store -> 200.
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
#include "fakes.h"
#include "otlp_json.h"

#define OTLP_PATH "/v1/traces"
#define GRPC_INVALID_ARGUMENT 3
#define GRPC_UNAVAILABLE 14
#define MAX_DEPTH 64

typedef Opentelemetry__Proto__Trace__V1__ResourceSpans otlp_resource_spans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans otlp_scope_spans;
typedef Opentelemetry__Proto__Trace__V1__Span otlp_span;

struct stored_span {
    uint8_t span_id[8];
    int kind;
    uint64_t start;
    uint64_t arrival; /* order of arrival, for the combiner's "first one wins" */
    json_t *json;     /* the span as the view shows it, built at ingest */
};

struct trace {
    uint8_t id[16];
    struct stored_span *spans;
    size_t count, cap;
};

struct tempo {
    pthread_mutex_t mutex;
    struct trace *traces; /* sorted by id */
    size_t count, cap;
    size_t stored_spans;
    uint64_t arrivals;
    struct payload **payloads;
    size_t npayloads, payloads_cap;
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

struct detached {
    struct trace *traces;
    size_t count;
    struct payload **payloads;
    size_t npayloads;
};

static void detach_locked(struct tempo *t, struct detached *d)
{
    *d = (struct detached){t->traces, t->count, t->payloads, t->npayloads};
    t->traces = NULL;
    t->count = t->cap = 0;
    t->payloads = NULL;
    t->npayloads = t->payloads_cap = 0;
    t->stored_spans = 0;
}

static void free_detached(struct detached *d)
{
    for (size_t i = 0; i < d->count; i++) {
        for (size_t j = 0; j < d->traces[i].count; j++)
            json_decref(d->traces[i].spans[j].json);
        free(d->traces[i].spans);
    }
    free(d->traces);
    for (size_t i = 0; i < d->npayloads; i++)
        payload_free(d->payloads[i]);
    free(d->payloads);
}

void tempo_free(struct tempo *t)
{
    if (!t)
        return;
    struct detached d;
    detach_locked(t, &d);
    free_detached(&d);
    pthread_mutex_destroy(&t->mutex);
    free(t);
}

void tempo_reset(struct tempo *t)
{
    struct detached d;
    pthread_mutex_lock(&t->mutex);
    detach_locked(t, &d);
    pthread_mutex_unlock(&t->mutex);
    free_detached(&d);
}

/* ---- spans as the view shows them ---- */

static json_t *any_value_json(const otlp_anyvalue *v, int depth);

/* Attributes as one object; a repeated key keeps its last value. */
static json_t *attributes_json(otlp_keyvalue *const *attrs, size_t n, int depth)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        const char *key = attrs[i] && attrs[i]->key ? attrs[i]->key : "";
        if (fakes_json_set(o, key, any_value_json(attrs[i] ? attrs[i]->value : NULL, depth + 1))) {
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
        return fakes_json_string(s, strlen(s));
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
    fakes_hex(id->data, id->len, hex);
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
    return fakes_json_string(s ? s : "", s ? strlen(s) : 0);
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

/* A span on its way into the store. */
struct pending {
    uint8_t trace_id[16];
    struct stored_span span;
};

static void pending_free(struct pending *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(p[i].span.json);
    free(p);
}

/* Orders pending spans by trace id, then by position (so equal ids stay in arrival order). */
static int compare_pending(const void *a, const void *b)
{
    const struct pending *x = *(const struct pending *const *)a;
    const struct pending *y = *(const struct pending *const *)b;
    int c = memcmp(x->trace_id, y->trace_id, 16);
    if (c)
        return c;
    return x < y ? -1 : x > y;
}

static struct trace *trace_for_locked(struct tempo *t, const uint8_t id[16])
{
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp(t->traces[mid].id, id, 16);
        if (c == 0)
            return &t->traces[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct trace *grown = realloc(t->traces, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        t->traces = grown;
        t->cap = cap;
    }
    memmove(t->traces + lo + 1, t->traces + lo, (t->count - lo) * sizeof(*t->traces));
    t->traces[lo] = (struct trace){0};
    memcpy(t->traces[lo].id, id, 16);
    t->count++;
    return &t->traces[lo];
}

static int trace_reserve(struct trace *tr, size_t more)
{
    if (tr->count + more <= tr->cap)
        return 0;
    size_t cap = tr->cap ? tr->cap : 8;
    while (cap < tr->count + more)
        cap *= 2;
    struct stored_span *grown = realloc(tr->spans, cap * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    tr->spans = grown;
    tr->cap = cap;
    return 0;
}

int tempo_ingest(struct tempo *t, struct payload *payload, size_t *spans_out, struct error *err)
{
    *spans_out = 0;
    const otlp_traces_req *req = payload->traces;
    size_t total = payload_item_count(payload);
    struct pending *pending = NULL;
    struct pending **by_trace = NULL;
    size_t n = 0;
    int rc = 0;
    if (total == 0)
        goto done; /* the receiver answers at once, without calling Tempo */
    /* The distributor checks every span before anything is written; the first bad id fails
     * the whole request. */
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const otlp_resource_spans *rs = req->resource_spans[i];
        for (size_t j = 0; rs && j < rs->n_scope_spans; j++) {
            const otlp_scope_spans *ss = rs->scope_spans[j];
            for (size_t k = 0; ss && k < ss->n_spans; k++) {
                const otlp_span *span = ss->spans[k];
                if (!span)
                    continue;
                if (span->trace_id.len != 16) {
                    rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                                   "trace ids must be 128 bit, received %zu bits",
                                   span->trace_id.len * 8);
                    goto done;
                }
                if (span->span_id.len != 8 || all_zero(span->span_id.data, 8)) {
                    rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                                   "span ids must be 64 bit and not all zero, received %zu bits",
                                   span->span_id.len * 8);
                    goto done;
                }
            }
        }
    }
    /* Build the view of every span outside the lock. */
    pending = calloc(total, sizeof(*pending));
    if (!pending) {
        rc = error_set(err, -ENOMEM, ERROR_RETRYABLE, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const otlp_resource_spans *rs = req->resource_spans[i];
        for (size_t j = 0; rs && j < rs->n_scope_spans; j++) {
            const otlp_scope_spans *ss = rs->scope_spans[j];
            for (size_t k = 0; ss && k < ss->n_spans && n < total; k++) {
                const otlp_span *span = ss->spans[k];
                if (!span)
                    continue;
                struct pending *p = &pending[n];
                memcpy(p->trace_id, span->trace_id.data, 16);
                memcpy(p->span.span_id, span->span_id.data, 8);
                p->span.kind = (int)span->kind;
                p->span.start = span->start_time_unix_nano;
                p->span.json = span_json(span, rs->resource, ss->scope);
                if (!p->span.json) {
                    rc = error_set(err, -ENOMEM, ERROR_RETRYABLE, "out of memory");
                    goto done;
                }
                n++;
            }
        }
    }
    by_trace = malloc(n * sizeof(*by_trace));
    if (!by_trace) {
        rc = error_set(err, -ENOMEM, ERROR_RETRYABLE, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        by_trace[i] = &pending[i];
    qsort(by_trace, n, sizeof(*by_trace), compare_pending);
    pthread_mutex_lock(&t->mutex);
    if (t->stored_spans + n > TEMPO_MAX_STORED_SPANS) {
        pthread_mutex_unlock(&t->mutex);
        rc = error_set(err, -ENOSPC, ERROR_RETRYABLE,
                       "fake tempo holds %u spans, its maximum; reset it with DELETE "
                       "/v1/received",
                       TEMPO_MAX_STORED_SPANS);
        goto done;
    }
    if (t->npayloads == t->payloads_cap) {
        size_t cap = t->payloads_cap ? t->payloads_cap * 2 : 16;
        struct payload **grown = realloc(t->payloads, cap * sizeof(*grown));
        if (!grown) {
            pthread_mutex_unlock(&t->mutex);
            rc = error_set(err, -ENOMEM, ERROR_RETRYABLE, "out of memory");
            goto done;
        }
        t->payloads = grown;
        t->payloads_cap = cap;
    }
    /* Reserve first, trace by trace (`by_trace` groups the spans), so that the spans move all
     * or nothing (an empty trace may remain after ENOMEM; the view skips it). */
    for (size_t i = 0; i < n;) {
        size_t group = 1;
        while (i + group < n &&
               memcmp(by_trace[i]->trace_id, by_trace[i + group]->trace_id, 16) == 0)
            group++;
        struct trace *tr = trace_for_locked(t, by_trace[i]->trace_id);
        if (!tr || trace_reserve(tr, group) < 0) {
            pthread_mutex_unlock(&t->mutex);
            rc = error_set(err, -ENOMEM, ERROR_RETRYABLE, "out of memory");
            goto done;
        }
        i += group;
    }
    for (size_t i = 0; i < n; i++) {
        struct trace *tr = trace_for_locked(t, pending[i].trace_id);
        pending[i].span.arrival = t->arrivals++;
        tr->spans[tr->count++] = pending[i].span;
        pending[i].span.json = NULL;
    }
    t->stored_spans += n;
    t->payloads[t->npayloads++] = payload;
    payload = NULL;
    pthread_mutex_unlock(&t->mutex);
    *spans_out = n;
done:
    free(by_trace);
    pending_free(pending, n);
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
        fakes_write_rpc_status(resp, http_status, grpc_code, message, false, NULL);
    } else if (strcmp(media, "application/json") == 0 || media[0] == '\0') {
        fakes_write_rpc_status(resp, http_status, grpc_code, message, true, NULL);
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
    fakes_media_type(req->content_type, media, sizeof(media));
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
    uint8_t *plain = NULL;
    if (compression != COMPRESSION_NONE) {
        int rc = decompress_buffer(compression, req->body, req->body_len, TEMPO_MAX_REQUEST_BODY,
                                   &plain, &len, &err);
        if (rc < 0) {
            status_response(resp, media, rc == -ENOMEM ? 503 : 400,
                            rc == -ENOMEM ? GRPC_UNAVAILABLE : GRPC_INVALID_ARGUMENT,
                            err.message[0] ? err.message : "cannot decompress the body");
            return;
        }
        data = plain;
    }
    struct payload *payload = NULL;
    int rc = strcmp(media, "application/json") == 0
                 ? otlp_json_decode_payload(SIGNAL_TRACES, (const char *)data, len, &payload, &err)
                 : payload_decode(SIGNAL_TRACES, data, len, &payload, &err);
    free(plain);
    if (rc < 0) {
        status_response(resp, media, rc == -ENOMEM ? 503 : 400,
                        rc == -ENOMEM ? GRPC_UNAVAILABLE : GRPC_INVALID_ARGUMENT,
                        err.message[0] ? err.message : "cannot decode the body");
        return;
    }
    rc = tempo_ingest(t, payload, items_out, &err);
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
    fakes_media_type(req->content_type, media, sizeof(media));
    if (strcmp(media, "application/x-protobuf") != 0)
        strcpy(media, "application/json"); /* a fault answers even an odd request in kind */
    if (status < 300) {
        success_response(resp, media);
        resp->status = status;
        return;
    }
    status_response(resp, media, status, grpc_code_for_http(status),
                    message ? message : fakes_status_text(status));
}

void tempo_refuse_http(struct tempo *t, const struct http_request *req, struct http_response *resp,
                       int status, const char *message)
{
    struct tempo_http_request parts;
    request_parts(req, &parts);
    tempo_refuse(t, &parts, resp, status, message);
}

/* ---- views ---- */

static int compare_spans(const void *a, const void *b)
{
    const struct stored_span *x = *(const struct stored_span *const *)a;
    const struct stored_span *y = *(const struct stored_span *const *)b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    int c = memcmp(x->span_id, y->span_id, 8);
    if (c)
        return c;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

/* True when an earlier arrival in the trace has the same span id and kind. */
static bool is_duplicate(const struct trace *tr, const struct stored_span *s)
{
    for (size_t i = 0; i < tr->count; i++) {
        const struct stored_span *o = &tr->spans[i];
        if (o->arrival < s->arrival && o->kind == s->kind && memcmp(o->span_id, s->span_id, 8) == 0)
            return true;
    }
    return false;
}

static json_t *trace_json(const struct trace *tr)
{
    const struct stored_span **order = malloc(tr->count * sizeof(*order));
    json_t *o = json_object();
    json_t *spans = json_array();
    char hex[33];
    fakes_hex(tr->id, 16, hex);
    if (!order || !o || !spans || json_object_set_new(o, "trace_id", json_string(hex)) ||
        json_object_set(o, "spans", spans))
        goto fail;
    for (size_t i = 0; i < tr->count; i++)
        order[i] = &tr->spans[i];
    qsort(order, tr->count, sizeof(*order), compare_spans);
    for (size_t i = 0; i < tr->count; i++) {
        if (is_duplicate(tr, order[i]))
            continue;
        if (json_array_append_new(spans, json_deep_copy(order[i]->json)))
            goto fail;
    }
    free(order);
    json_decref(spans);
    return o;
fail:
    free(order);
    json_decref(spans);
    json_decref(o);
    return NULL;
}

json_t *tempo_view(struct tempo *t)
{
    json_t *root = json_object();
    json_t *traces = json_array();
    if (!root || !traces || json_object_set(root, "traces", traces))
        goto fail;
    pthread_mutex_lock(&t->mutex);
    for (size_t i = 0; i < t->count; i++) {
        if (t->traces[i].count == 0)
            continue;
        if (json_array_append_new(traces, trace_json(&t->traces[i]))) {
            pthread_mutex_unlock(&t->mutex);
            goto fail;
        }
    }
    pthread_mutex_unlock(&t->mutex);
    json_decref(traces);
    return root;
fail:
    json_decref(traces);
    json_decref(root);
    return NULL;
}

json_t *tempo_view_otlp(struct tempo *t)
{
    json_t *all = json_array();
    if (!all)
        return NULL;
    pthread_mutex_lock(&t->mutex);
    for (size_t i = 0; i < t->npayloads; i++) {
        if (json_array_append_new(all, otlp_json_encode(t->payloads[i]->message))) {
            pthread_mutex_unlock(&t->mutex);
            json_decref(all);
            return NULL;
        }
    }
    pthread_mutex_unlock(&t->mutex);
    return all;
}
