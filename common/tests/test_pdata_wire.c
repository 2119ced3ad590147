/*
 * test_pdata_wire.c - pdata_wire_encode writes exactly the bytes protobuf_c_message_pack writes
 * (protobuf-c 1.4.1), for hand-built OTLP requests of all three signals, for a message declaring
 * every scalar type under every label, for unknown fields, and for a few hundred random trees;
 * and what it writes decodes with protobuf_c_message_unpack and re-encodes to the same bytes.
 * A few cases also pin the literal bytes of protobuf-c's quirks, so that a change of protobuf-c
 * shows up here as well as a change of ours.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pdata.h"
#include "pdata_wire.h"

typedef Opentelemetry__Proto__Common__V1__ArrayValue array_value;
typedef Opentelemetry__Proto__Common__V1__KeyValueList kvlist_value;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope scope;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs resource_logs;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs scope_logs;
typedef Opentelemetry__Proto__Logs__V1__LogRecord log_record;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans resource_spans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans scope_spans;
typedef Opentelemetry__Proto__Trace__V1__Span span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event span_event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link span_link;
typedef Opentelemetry__Proto__Trace__V1__Status span_status;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics resource_metrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics scope_metrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric metric;
typedef Opentelemetry__Proto__Metrics__V1__Gauge gauge;
typedef Opentelemetry__Proto__Metrics__V1__Sum sum;
typedef Opentelemetry__Proto__Metrics__V1__Histogram histogram;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogram exp_histogram;
typedef Opentelemetry__Proto__Metrics__V1__Summary summary;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint number_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint histogram_point;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint exp_histogram_point;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets exp_buckets;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint summary_point;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile quantile_value;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar exemplar;

#define D_LOGS_REQ                                                                                 \
    opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor
#define D_TRACES_REQ                                                                               \
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor
#define D_METRICS_REQ                                                                              \
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor
#define D_RESOURCE opentelemetry__proto__resource__v1__resource__descriptor
#define D_SCOPE opentelemetry__proto__common__v1__instrumentation_scope__descriptor
#define D_ANYVALUE opentelemetry__proto__common__v1__any_value__descriptor
#define D_ARRAY opentelemetry__proto__common__v1__array_value__descriptor
#define D_KVLIST opentelemetry__proto__common__v1__key_value_list__descriptor
#define D_KEYVALUE opentelemetry__proto__common__v1__key_value__descriptor
#define D_RESOURCE_LOGS opentelemetry__proto__logs__v1__resource_logs__descriptor
#define D_SCOPE_LOGS opentelemetry__proto__logs__v1__scope_logs__descriptor
#define D_LOG_RECORD opentelemetry__proto__logs__v1__log_record__descriptor
#define D_RESOURCE_SPANS opentelemetry__proto__trace__v1__resource_spans__descriptor
#define D_SCOPE_SPANS opentelemetry__proto__trace__v1__scope_spans__descriptor
#define D_SPAN opentelemetry__proto__trace__v1__span__descriptor
#define D_SPAN_EVENT opentelemetry__proto__trace__v1__span__event__descriptor
#define D_SPAN_LINK opentelemetry__proto__trace__v1__span__link__descriptor
#define D_STATUS opentelemetry__proto__trace__v1__status__descriptor
#define D_RESOURCE_METRICS opentelemetry__proto__metrics__v1__resource_metrics__descriptor
#define D_SCOPE_METRICS opentelemetry__proto__metrics__v1__scope_metrics__descriptor
#define D_METRIC opentelemetry__proto__metrics__v1__metric__descriptor
#define D_GAUGE opentelemetry__proto__metrics__v1__gauge__descriptor
#define D_SUM opentelemetry__proto__metrics__v1__sum__descriptor
#define D_HISTOGRAM opentelemetry__proto__metrics__v1__histogram__descriptor
#define D_EXP_HISTOGRAM opentelemetry__proto__metrics__v1__exponential_histogram__descriptor
#define D_SUMMARY opentelemetry__proto__metrics__v1__summary__descriptor
#define D_NUMBER_POINT opentelemetry__proto__metrics__v1__number_data_point__descriptor
#define D_HISTOGRAM_POINT opentelemetry__proto__metrics__v1__histogram_data_point__descriptor
#define D_EXP_HISTOGRAM_POINT                                                                      \
    opentelemetry__proto__metrics__v1__exponential_histogram_data_point__descriptor
#define D_EXP_BUCKETS                                                                              \
    opentelemetry__proto__metrics__v1__exponential_histogram_data_point__buckets__descriptor
#define D_SUMMARY_POINT opentelemetry__proto__metrics__v1__summary_data_point__descriptor
#define D_QUANTILE                                                                                 \
    opentelemetry__proto__metrics__v1__summary_data_point__value_at_quantile__descriptor
#define D_EXEMPLAR opentelemetry__proto__metrics__v1__exemplar__descriptor

#define ANY(kind) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##kind
#define METRIC_DATA(kind) OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_##kind

/* ---- the comparison every test makes ---- */

/* Encodes `msg` with protobuf-c and with pdata_wire_encode and requires the same bytes; then
 * decodes ours and requires that re-encoding the decoded tree gives them again. `context` names
 * the case in the failure message (e.g. the seed of a random tree). */
static void assert_encodes_like_protobuf_c(const ProtobufCMessage *msg, const char *context)
{
    size_t want_len = protobuf_c_message_get_packed_size(msg);
    uint8_t *want = malloc(want_len > 0 ? want_len : 1);
    assert_non_null(want);
    assert_int_equal(protobuf_c_message_pack(msg, want), want_len);

    uint8_t *got = NULL;
    size_t got_len = 0;
    assert_int_equal(pdata_wire_encode(msg, &got, &got_len), 0);
    assert_non_null(got);
    if (got_len != want_len || memcmp(got, want, want_len) != 0) {
        size_t at = 0;
        while (at < got_len && at < want_len && got[at] == want[at])
            at++;
        print_error("%s: %s encodes to %zu bytes, protobuf-c to %zu; first difference at %zu\n",
                    context, msg->descriptor->name, got_len, want_len, at);
        fail();
    }

    ProtobufCMessage *decoded =
        protobuf_c_message_unpack(msg->descriptor, pdata_allocator(), got_len, got);
    if (!decoded) {
        print_error("%s: protobuf-c cannot decode what we wrote\n", context);
        fail();
    }
    uint8_t *again = NULL;
    size_t again_len = 0;
    assert_int_equal(pdata_wire_encode(decoded, &again, &again_len), 0);
    if (again_len != got_len || memcmp(again, got, got_len) != 0) {
        print_error("%s: decoding and re-encoding changed the bytes\n", context);
        fail();
    }
    protobuf_c_message_free_unpacked(decoded, pdata_allocator());
    free(again);
    free(got);
    free(want);
}

static void assert_encodes_to(const ProtobufCMessage *msg, const uint8_t *bytes, size_t len,
                              const char *context)
{
    uint8_t *got = NULL;
    size_t got_len = 0;
    assert_int_equal(pdata_wire_encode(msg, &got, &got_len), 0);
    if (got_len != len || memcmp(got, bytes, len) != 0) {
        print_error("%s: expected %zu bytes:", context, len);
        for (size_t i = 0; i < len; i++)
            print_error(" %02x", bytes[i]);
        print_error("\n%s: got %zu bytes:     ", context, got_len);
        for (size_t i = 0; i < got_len; i++)
            print_error(" %02x", got[i]);
        print_error("\n");
        fail();
    }
    free(got);
}

/* ---- fixture builders (every block from the pdata allocator, like decoded trees, so that
 * protobuf_c_message_free_unpacked(tree, pdata_allocator()) frees a tree) ---- */

static void *msg_new(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = pdata_alloc(desc->sizeof_message);
    assert_non_null(m);
    protobuf_c_message_init(desc, m);
    return m;
}

static void free_tree(void *msg)
{
    protobuf_c_message_free_unpacked(msg, pdata_allocator());
}

static char *str(const char *s)
{
    char *copy = pdata_strdup(s);
    assert_non_null(copy);
    return copy;
}

static void *array_copy(const void *items, size_t n, size_t size)
{
    if (n == 0)
        return NULL;
    void *copy = pdata_calloc(n, size);
    assert_non_null(copy);
    memcpy(copy, items, n * size);
    return copy;
}

static ProtobufCBinaryData bytes_of(const void *data, size_t len)
{
    ProtobufCBinaryData b = {len, array_copy(data, len, 1)};
    return b;
}

/* Sets a repeated field (pointer `field`, count `count`) to the listed items of `type`. */
#define SET_REPEATED(field, count, type, ...)                                                      \
    do {                                                                                           \
        (count) = sizeof((type[]){__VA_ARGS__}) / sizeof(type);                                    \
        (field) = array_copy((type[]){__VA_ARGS__}, (count), sizeof(type));                        \
    } while (0)

static otlp_anyvalue *any_new(int value_case)
{
    otlp_anyvalue *v = msg_new(&D_ANYVALUE);
    v->value_case = value_case;
    return v;
}

static otlp_anyvalue *any_string(const char *s)
{
    otlp_anyvalue *v = any_new(ANY(STRING_VALUE));
    v->string_value = str(s);
    return v;
}

static otlp_anyvalue *any_bool(protobuf_c_boolean b)
{
    otlp_anyvalue *v = any_new(ANY(BOOL_VALUE));
    v->bool_value = b;
    return v;
}

static otlp_anyvalue *any_int(int64_t i)
{
    otlp_anyvalue *v = any_new(ANY(INT_VALUE));
    v->int_value = i;
    return v;
}

static otlp_anyvalue *any_double(double d)
{
    otlp_anyvalue *v = any_new(ANY(DOUBLE_VALUE));
    v->double_value = d;
    return v;
}

static otlp_anyvalue *any_bytes(const void *data, size_t len)
{
    otlp_anyvalue *v = any_new(ANY(BYTES_VALUE));
    v->bytes_value = bytes_of(data, len);
    return v;
}

static otlp_anyvalue *any_array(size_t n, otlp_anyvalue *const *values)
{
    otlp_anyvalue *v = any_new(ANY(ARRAY_VALUE));
    v->array_value = msg_new(&D_ARRAY);
    v->array_value->n_values = n;
    v->array_value->values = array_copy(values, n, sizeof(*values));
    return v;
}

static otlp_anyvalue *any_kvlist(size_t n, otlp_keyvalue *const *values)
{
    otlp_anyvalue *v = any_new(ANY(KVLIST_VALUE));
    v->kvlist_value = msg_new(&D_KVLIST);
    v->kvlist_value->n_values = n;
    v->kvlist_value->values = array_copy(values, n, sizeof(*values));
    return v;
}

#define ANY_ARRAY(...)                                                                             \
    any_array(sizeof((otlp_anyvalue *[]){__VA_ARGS__}) / sizeof(otlp_anyvalue *),                  \
              (otlp_anyvalue *[]){__VA_ARGS__})
#define ANY_KVLIST(...)                                                                            \
    any_kvlist(sizeof((otlp_keyvalue *[]){__VA_ARGS__}) / sizeof(otlp_keyvalue *),                 \
               (otlp_keyvalue *[]){__VA_ARGS__})

/* `value` may be NULL: a KeyValue without a value. */
static otlp_keyvalue *kv(const char *key, otlp_anyvalue *value)
{
    otlp_keyvalue *pair = msg_new(&D_KEYVALUE);
    pair->key = str(key);
    pair->value = value;
    return pair;
}

static otlp_resource *resource_named(const char *service)
{
    otlp_resource *r = msg_new(&D_RESOURCE);
    SET_REPEATED(r->attributes, r->n_attributes, otlp_keyvalue *,
                 kv("service.name", any_string(service)));
    return r;
}

static scope *scope_named(const char *name, const char *version)
{
    scope *s = msg_new(&D_SCOPE);
    s->name = str(name);
    s->version = str(version);
    return s;
}

static const uint8_t trace_id_bytes[16] = {0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
                                           0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};
static const uint8_t span_id_bytes[8] = {0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74};

/* ---- empty requests ---- */

static void test_empty_request_of_each_signal_encodes_like_protobuf_c(void **state)
{
    const ProtobufCMessageDescriptor *requests[] = {&D_LOGS_REQ, &D_TRACES_REQ, &D_METRICS_REQ};
    for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
        ProtobufCMessage *req = msg_new(requests[i]);
        assert_encodes_like_protobuf_c(req, requests[i]->name);
        uint8_t *out = NULL;
        size_t len = 99;
        assert_int_equal(pdata_wire_encode(req, &out, &len), 0);
        assert_non_null(out); /* a real buffer even for zero bytes */
        assert_int_equal(len, 0);
        free(out);
        free_tree(req);
    }
}

/* ---- logs ---- */

static otlp_logs_req *logs_with_every_value_kind(void)
{
    char body[151];
    memset(body, 'b', 150);
    body[150] = '\0';
    static const uint8_t raw[] = {0x00, 0x01, 0x7f, 0x80, 0xff};

    log_record *full = msg_new(&D_LOG_RECORD);
    full->time_unix_nano = 1700000000123456789ull;
    full->observed_time_unix_nano = 1700000000223456789ull;
    full->severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_WARN;
    full->severity_text = str("WARN");
    full->body = any_string(body);
    SET_REPEATED(
        full->attributes, full->n_attributes, otlp_keyvalue *, kv("string", any_string("value")),
        kv("empty string", any_string("")), kv("true", any_bool(1)), kv("false", any_bool(0)),
        kv("int", any_int(42)), kv("negative int", any_int(-1)), kv("min int", any_int(INT64_MIN)),
        kv("max int", any_int(INT64_MAX)), kv("zero int", any_int(0)),
        kv("double", any_double(3.25)), kv("negative double", any_double(-1e300)),
        kv("zero double", any_double(0.0)), kv("negative zero", any_double(-0.0)),
        kv("nan", any_double(NAN)), kv("inf", any_double(-INFINITY)),
        kv("bytes", any_bytes(raw, sizeof(raw))), kv("empty bytes", any_bytes(NULL, 0)),
        kv("array", ANY_ARRAY(any_string("a"), any_int(-7), any_double(0.5), any_bool(0),
                              ANY_ARRAY(any_string("nested")), ANY_KVLIST(kv("k", any_int(1))))),
        kv("kvlist",
           ANY_KVLIST(kv("a", any_int(1)), kv("nested", ANY_KVLIST(kv("deep", any_string("x")))),
                      kv("", any_string("empty key")))),
        kv("empty array", any_array(0, NULL)), kv("empty kvlist", any_kvlist(0, NULL)),
        kv("unset value", any_new(ANY(_NOT_SET))), kv("no value", NULL), kv("", NULL));
    full->dropped_attributes_count = 3;
    full->flags = 0x101;
    full->trace_id = bytes_of(trace_id_bytes, sizeof(trace_id_bytes));
    full->span_id = bytes_of(span_id_bytes, sizeof(span_id_bytes));
    full->event_name = str("app.checkout");

    log_record *zero = msg_new(&D_LOG_RECORD); /* every field zero: an empty message */

    log_record *odd = msg_new(&D_LOG_RECORD);
    odd->severity_number = -5; /* negative enum: ten bytes */
    odd->severity_text = str("");
    odd->body = any_new(ANY(_NOT_SET));
    odd->flags = UINT32_MAX;
    odd->time_unix_nano = UINT64_MAX;

    scope_logs *sl = msg_new(&D_SCOPE_LOGS);
    sl->scope = scope_named("io.example.logger", "");
    sl->scope->dropped_attributes_count = 7;
    SET_REPEATED(sl->scope->attributes, sl->scope->n_attributes, otlp_keyvalue *,
                 kv("scope.attr", any_bool(1)));
    SET_REPEATED(sl->log_records, sl->n_log_records, log_record *, full, zero, odd);
    sl->schema_url = str("");

    resource_logs *rl = msg_new(&D_RESOURCE_LOGS);
    rl->resource = resource_named("checkout");
    rl->resource->dropped_attributes_count = 2;
    SET_REPEATED(rl->scope_logs, rl->n_scope_logs, scope_logs *, sl, msg_new(&D_SCOPE_LOGS));
    rl->schema_url = str("https://opentelemetry.io/schemas/1.24.0");

    otlp_logs_req *req = msg_new(&D_LOGS_REQ);
    SET_REPEATED(req->resource_logs, req->n_resource_logs, resource_logs *, rl,
                 msg_new(&D_RESOURCE_LOGS));
    return req;
}

static void test_logs_with_every_value_kind_encode_like_protobuf_c(void **state)
{
    otlp_logs_req *req = logs_with_every_value_kind();
    assert_encodes_like_protobuf_c(&req->base, "logs with every value kind");
    free_tree(req);
}

/* More records than the side array's first allocation holds, so that it grows several times. */
static void test_logs_of_many_records_encode_like_protobuf_c(void **state)
{
    enum { RECORDS = 600 };
    scope_logs *sl = msg_new(&D_SCOPE_LOGS);
    sl->log_records = pdata_calloc(RECORDS, sizeof(log_record *));
    assert_non_null(sl->log_records);
    sl->n_log_records = RECORDS;
    char text[64];
    for (size_t i = 0; i < RECORDS; i++) {
        log_record *r = msg_new(&D_LOG_RECORD);
        snprintf(text, sizeof(text), "record %zu", i);
        r->body = any_string(text);
        r->time_unix_nano = 1700000000000000000ull + i;
        SET_REPEATED(r->attributes, r->n_attributes, otlp_keyvalue *,
                     kv("index", any_int((int64_t)i)), kv("name", any_string(text)));
        sl->log_records[i] = r;
    }
    resource_logs *rl = msg_new(&D_RESOURCE_LOGS);
    rl->resource = resource_named("bulk");
    SET_REPEATED(rl->scope_logs, rl->n_scope_logs, scope_logs *, sl);
    otlp_logs_req *req = msg_new(&D_LOGS_REQ);
    SET_REPEATED(req->resource_logs, req->n_resource_logs, resource_logs *, rl);
    assert_encodes_like_protobuf_c(&req->base, "600 log records");
    free_tree(req);
}

/* ---- traces ---- */

static void test_traces_with_events_links_status_and_flags_encode_like_protobuf_c(void **state)
{
    span_event *event = msg_new(&D_SPAN_EVENT);
    event->time_unix_nano = 1700000000000000500ull;
    event->name = str("exception");
    SET_REPEATED(event->attributes, event->n_attributes, otlp_keyvalue *,
                 kv("exception.type", any_string("IOError")), kv("exception.escaped", any_bool(0)));
    event->dropped_attributes_count = 1;

    span_link *link = msg_new(&D_SPAN_LINK);
    link->trace_id = bytes_of(trace_id_bytes, sizeof(trace_id_bytes));
    link->span_id = bytes_of(span_id_bytes, sizeof(span_id_bytes));
    link->trace_state = str("rojo=00f067aa0ba902b7");
    SET_REPEATED(link->attributes, link->n_attributes, otlp_keyvalue *,
                 kv("link.kind", any_string("follows")));
    link->dropped_attributes_count = 4;
    link->flags = 0x301;

    span *full = msg_new(&D_SPAN);
    full->trace_id = bytes_of(trace_id_bytes, sizeof(trace_id_bytes));
    full->span_id = bytes_of(span_id_bytes, sizeof(span_id_bytes));
    full->trace_state = str("congo=t61rcWkgMzE");
    full->parent_span_id = bytes_of(span_id_bytes, sizeof(span_id_bytes));
    full->flags = 0x101;
    full->name = str("GET /api/checkout");
    full->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    full->start_time_unix_nano = 1700000000000000000ull;
    full->end_time_unix_nano = 1700000000000001000ull;
    SET_REPEATED(full->attributes, full->n_attributes, otlp_keyvalue *,
                 kv("http.method", any_string("GET")), kv("http.status_code", any_int(500)),
                 kv("retry", any_int(-3)));
    full->dropped_attributes_count = 9;
    SET_REPEATED(full->events, full->n_events, span_event *, event, msg_new(&D_SPAN_EVENT));
    full->dropped_events_count = 2;
    SET_REPEATED(full->links, full->n_links, span_link *, link, msg_new(&D_SPAN_LINK));
    full->dropped_links_count = 1;
    full->status = msg_new(&D_STATUS);
    full->status->message = str("upstream timed out");
    full->status->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;

    span *bare = msg_new(&D_SPAN);
    bare->status = msg_new(&D_STATUS); /* present but empty: a zero-length message */
    bare->kind = -1;

    scope_spans *ss = msg_new(&D_SCOPE_SPANS);
    ss->scope = scope_named("io.example.tracer", "2.1.0");
    SET_REPEATED(ss->spans, ss->n_spans, span *, full, bare, msg_new(&D_SPAN));
    ss->schema_url = str("https://opentelemetry.io/schemas/1.21.0");

    resource_spans *rs = msg_new(&D_RESOURCE_SPANS);
    rs->resource = resource_named("frontend");
    SET_REPEATED(rs->scope_spans, rs->n_scope_spans, scope_spans *, ss);

    otlp_traces_req *req = msg_new(&D_TRACES_REQ);
    SET_REPEATED(req->resource_spans, req->n_resource_spans, resource_spans *, rs,
                 msg_new(&D_RESOURCE_SPANS));
    assert_encodes_like_protobuf_c(&req->base, "traces with events, links, status, flags");
    free_tree(req);
}

/* ---- metrics ---- */

static exemplar *exemplar_with(int value_case, double d, int64_t i)
{
    exemplar *e = msg_new(&D_EXEMPLAR);
    SET_REPEATED(e->filtered_attributes, e->n_filtered_attributes, otlp_keyvalue *,
                 kv("user", any_string("u1")));
    e->time_unix_nano = 1700000000000000000ull;
    e->span_id = bytes_of(span_id_bytes, sizeof(span_id_bytes));
    e->trace_id = bytes_of(trace_id_bytes, sizeof(trace_id_bytes));
    e->value_case = value_case;
    if (value_case == OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE)
        e->as_double = d;
    else
        e->as_int = i;
    return e;
}

static number_point *number_point_with(int value_case, double d, int64_t i)
{
    number_point *p = msg_new(&D_NUMBER_POINT);
    SET_REPEATED(p->attributes, p->n_attributes, otlp_keyvalue *, kv("host", any_string("a")));
    p->start_time_unix_nano = 1699999990000000000ull;
    p->time_unix_nano = 1700000000000000000ull;
    p->value_case = value_case;
    if (value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE)
        p->as_double = d;
    else
        p->as_int = i;
    return p;
}

static metric *metric_named(const char *name, int data_case)
{
    metric *m = msg_new(&D_METRIC);
    m->name = str(name);
    m->description = str("");
    m->unit = str("ms");
    m->data_case = data_case;
    return m;
}

static otlp_metrics_req *metrics_of_every_type(void)
{
    metric *g = metric_named("queue.depth", METRIC_DATA(GAUGE));
    g->gauge = msg_new(&D_GAUGE);
    SET_REPEATED(g->gauge->data_points, g->gauge->n_data_points, number_point *,
                 number_point_with(
                     OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE, 0.0, 0),
                 number_point_with(
                     OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT, 0, -12),
                 number_point_with(
                     OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE__NOT_SET, 0, 0));
    g->gauge->data_points[0]->flags = 1;
    SET_REPEATED(
        g->gauge->data_points[0]->exemplars, g->gauge->data_points[0]->n_exemplars, exemplar *,
        exemplar_with(OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE, 1.5, 0),
        exemplar_with(OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT, 0, -1));
    SET_REPEATED(g->metadata, g->n_metadata, otlp_keyvalue *, kv("origin", any_string("test")));

    metric *s = metric_named("requests", METRIC_DATA(SUM));
    s->sum = msg_new(&D_SUM);
    SET_REPEATED(
        s->sum->data_points, s->sum->n_data_points, number_point *,
        number_point_with(OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT, 0,
                          INT64_MAX));
    s->sum->aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    s->sum->is_monotonic = 1;

    histogram_point *hp = msg_new(&D_HISTOGRAM_POINT);
    hp->start_time_unix_nano = 1;
    hp->time_unix_nano = 2;
    hp->count = 10;
    SET_REPEATED(hp->bucket_counts, hp->n_bucket_counts, uint64_t, 0, 1, 2, 3, UINT64_MAX);
    SET_REPEATED(hp->explicit_bounds, hp->n_explicit_bounds, double, -0.0, 0.5, 10, 1e9);
    hp->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM;
    hp->sum = 0; /* proto3 optional: written although zero */
    hp->_min_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___MIN_MIN;
    hp->min = -4.5;
    hp->flags = 1;
    histogram_point *hp_empty = msg_new(&D_HISTOGRAM_POINT);
    hp_empty->max = 99; /* case not set: not written */
    metric *h = metric_named("latency", METRIC_DATA(HISTOGRAM));
    h->histogram = msg_new(&D_HISTOGRAM);
    SET_REPEATED(h->histogram->data_points, h->histogram->n_data_points, histogram_point *, hp,
                 hp_empty);
    h->histogram->aggregation_temporality = 1;

    exp_histogram_point *ep = msg_new(&D_EXP_HISTOGRAM_POINT);
    ep->count = 300;
    ep->scale = -3; /* sint32: zigzag */
    ep->zero_count = 5;
    ep->positive = msg_new(&D_EXP_BUCKETS);
    ep->positive->offset = -2;
    uint64_t many[200];
    for (size_t i = 0; i < 200; i++)
        many[i] = (uint64_t)1 << (i % 64); /* one to ten bytes each: a two-byte packed length */
    ep->positive->bucket_counts = array_copy(many, 200, sizeof(uint64_t));
    ep->positive->n_bucket_counts = 200;
    ep->negative = msg_new(&D_EXP_BUCKETS); /* present but empty */
    ep->zero_threshold = 1e-9;
    ep->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___SUM_SUM;
    ep->sum = 123.0;
    ep->_max_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___MAX_MAX;
    ep->max = -0.0;
    metric *e = metric_named("sizes", METRIC_DATA(EXPONENTIAL_HISTOGRAM));
    e->exponential_histogram = msg_new(&D_EXP_HISTOGRAM);
    SET_REPEATED(e->exponential_histogram->data_points, e->exponential_histogram->n_data_points,
                 exp_histogram_point *, ep);
    e->exponential_histogram->aggregation_temporality = 2;

    quantile_value *q0 = msg_new(&D_QUANTILE);
    q0->quantile = 0;
    q0->value = 1.25;
    quantile_value *q1 = msg_new(&D_QUANTILE);
    q1->quantile = 0.99;
    q1->value = 0;
    summary_point *sp = msg_new(&D_SUMMARY_POINT);
    sp->count = 4;
    sp->sum = -0.0; /* implicit presence: -0.0 compares equal to zero, so not written */
    SET_REPEATED(sp->quantile_values, sp->n_quantile_values, quantile_value *, q0, q1);
    metric *sm = metric_named("gc.pause", METRIC_DATA(SUMMARY));
    sm->summary = msg_new(&D_SUMMARY);
    SET_REPEATED(sm->summary->data_points, sm->summary->n_data_points, summary_point *, sp);

    metric *unset = metric_named("no data", METRIC_DATA(_NOT_SET));

    scope_metrics *scm = msg_new(&D_SCOPE_METRICS);
    scm->scope = scope_named("io.example.meter", "0.1");
    SET_REPEATED(scm->metrics, scm->n_metrics, metric *, g, s, h, e, sm, unset);
    resource_metrics *rm = msg_new(&D_RESOURCE_METRICS);
    rm->resource = resource_named("worker");
    SET_REPEATED(rm->scope_metrics, rm->n_scope_metrics, scope_metrics *, scm);
    otlp_metrics_req *req = msg_new(&D_METRICS_REQ);
    SET_REPEATED(req->resource_metrics, req->n_resource_metrics, resource_metrics *, rm);
    return req;
}

static void test_metrics_of_every_type_encode_like_protobuf_c(void **state)
{
    otlp_metrics_req *req = metrics_of_every_type();
    assert_encodes_like_protobuf_c(&req->base, "metrics of every type");
    free_tree(req);
}

/* ---- protobuf-c's rules, byte by byte ---- */

static ProtobufCMessage *negative_enum(void)
{
    log_record *r = msg_new(&D_LOG_RECORD);
    r->severity_number = -1;
    return &r->base;
}

static ProtobufCMessage *zero_and_empty_fields(void)
{
    log_record *r = msg_new(&D_LOG_RECORD);
    r->severity_text = str("");
    r->trace_id.data = pdata_alloc(4); /* allocated but of length zero: omitted */
    assert_non_null(r->trace_id.data);
    return &r->base;
}

static ProtobufCMessage *oneof_false(void)
{
    return &any_bool(0)->base;
}

static ProtobufCMessage *oneof_bool_seven(void)
{
    return &any_bool(7)->base;
}

static ProtobufCMessage *oneof_zero_int(void)
{
    return &any_int(0)->base;
}

static ProtobufCMessage *oneof_empty_string(void)
{
    return &any_string("")->base;
}

static ProtobufCMessage *oneof_string_at_default(void)
{
    otlp_anyvalue *v = any_new(ANY(STRING_VALUE));
    v->string_value = (char *)protobuf_c_empty_string; /* the field's default_value pointer */
    return &v->base;
}

static ProtobufCMessage *oneof_empty_bytes(void)
{
    return &any_bytes(NULL, 0)->base;
}

static ProtobufCMessage *oneof_case_without_message(void)
{
    return &any_new(ANY(KVLIST_VALUE))->base; /* kvlist_value is NULL */
}

static ProtobufCMessage *optional_zero_sum(void)
{
    histogram_point *p = msg_new(&D_HISTOGRAM_POINT);
    p->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM;
    return &p->base;
}

static ProtobufCMessage *implicit_negative_zero(void)
{
    summary_point *p = msg_new(&D_SUMMARY_POINT);
    p->sum = -0.0;
    return &p->base;
}

static ProtobufCMessage *implicit_nan(void)
{
    summary_point *p = msg_new(&D_SUMMARY_POINT);
    p->sum = NAN;
    return &p->base;
}

static ProtobufCMessage *implicit_bool_seven(void)
{
    sum *s = msg_new(&D_SUM);
    s->is_monotonic = 7;
    return &s->base;
}

static ProtobufCMessage *negative_sint32(void)
{
    exp_buckets *b = msg_new(&D_EXP_BUCKETS);
    b->offset = -2;
    SET_REPEATED(b->bucket_counts, b->n_bucket_counts, uint64_t, 1, 300);
    return &b->base;
}

static ProtobufCMessage *packed_doubles(void)
{
    histogram_point *p = msg_new(&D_HISTOGRAM_POINT);
    SET_REPEATED(p->explicit_bounds, p->n_explicit_bounds, double, 1.0);
    return &p->base;
}

static const struct rule_case {
    const char *rule;
    ProtobufCMessage *(*build)(void);
    uint8_t bytes[16];
    size_t len;
} rule_cases[] = {
    {"a negative enum is a ten-byte varint",
     negative_enum,
     {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
     11},
    {"implicit zero, \"\" and zero-length bytes are omitted", zero_and_empty_fields, {0}, 0},
    {"a oneof member is written when false", oneof_false, {0x10, 0x00}, 2},
    {"a bool is written as 1 whatever its int value", oneof_bool_seven, {0x10, 0x01}, 2},
    {"a oneof member is written when zero", oneof_zero_int, {0x18, 0x00}, 2},
    {"a oneof string is written when \"\"", oneof_empty_string, {0x0a, 0x00}, 2},
    {"a oneof string at the field's default pointer is omitted", oneof_string_at_default, {0}, 0},
    {"oneof bytes are written when empty", oneof_empty_bytes, {0x3a, 0x00}, 2},
    {"a oneof message that is NULL is omitted", oneof_case_without_message, {0}, 0},
    {"proto3 optional zero is written", optional_zero_sum, {0x29, 0, 0, 0, 0, 0, 0, 0, 0}, 9},
    {"implicit -0.0 is omitted (it compares equal to zero)", implicit_negative_zero, {0}, 0},
    {"implicit NaN is written",
     implicit_nan,
     {0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f},
     9},
    {"an implicit bool is written as 1", implicit_bool_seven, {0x18, 0x01}, 2},
    {"sint32 is zigzag, repeated uint64 is packed",
     negative_sint32,
     {0x08, 0x03, 0x12, 0x03, 0x01, 0xac, 0x02},
     7},
    {"repeated double is packed", packed_doubles, {0x3a, 0x08, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, 10},
};

static void test_protobuf_c_rules_give_the_documented_bytes(void **state)
{
    for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
        ProtobufCMessage *msg = rule_cases[i].build();
        assert_encodes_to(msg, rule_cases[i].bytes, rule_cases[i].len, rule_cases[i].rule);
        assert_encodes_like_protobuf_c(msg, rule_cases[i].rule);
        free_tree(msg);
    }
}

/* ---- unknown fields ---- */

/* An ExportLogsServiceRequest (field 1 only) with, after its one known field, unknown fields of
 * every wire type, including the largest field number; a ResourceLogs inside carries one too. */
static const uint8_t with_unknown_fields[] = {
    0x0a, 0x06,                                        /* 1: ResourceLogs, 6 bytes */
    0x1a, 0x01, 'x',                                   /*   3: schema_url "x" (known) */
    0xf8, 0x06, 0x2a,                                  /*   111: varint 42 (unknown) */
    0x10, 0x96, 0x01,                                  /* 2: varint 150 */
    0x19, 1,    2,    3,    4,    5,    6,    7,    8, /* 3: fixed64 */
    0x7a, 0x05, 'h',  'e',  'l',  'l',  'o',           /* 15: length-delimited "hello" */
    0x85, 0x7d, 0xde, 0xad, 0xbe, 0xef,                /* 2000: fixed32 */
    0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01,                /* 536870911: varint 1 */
    0xf8, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff, 0x03,    /* the same number again, varint 65535 */
};

static void test_unknown_fields_are_written_after_known_ones_as_decoded(void **state)
{
    ProtobufCMessage *req = protobuf_c_message_unpack(
        &D_LOGS_REQ, pdata_allocator(), sizeof(with_unknown_fields), with_unknown_fields);
    assert_non_null(req);
    assert_int_equal(req->n_unknown_fields, 6);
    assert_int_equal(((otlp_logs_req *)req)->resource_logs[0]->base.n_unknown_fields, 1);
    assert_encodes_like_protobuf_c(req, "request with unknown fields");
    assert_encodes_to(req, with_unknown_fields, sizeof(with_unknown_fields),
                      "request with unknown fields");
    free_tree(req);
}

/* ---- a message with every scalar type under every label ----
 *
 * OTLP is proto3 and never uses REQUIRED, proto2 OPTIONAL, float, sfixed or non-enum int32, so
 * this descriptor is what protoc-c would generate for a proto2 message declaring each of the 17
 * types under each label (and a proto3-style block of implicit-presence fields, packed repeated
 * fields, a proto3 oneof over every type, and two proto2 oneofs whose members alternate, so
 * that members of one oneof are not adjacent), assembled by hand. Message-typed fields hold
 * OTLP KeyValues. */

#define TYPE_COUNT 17     /* PROTOBUF_C_TYPE_INT32 .. PROTOBUF_C_TYPE_MESSAGE */
#define PACKABLE_COUNT 14 /* PROTOBUF_C_TYPE_INT32 .. PROTOBUF_C_TYPE_ENUM */
#define FAR_FIELD 536870911u

struct typed_values {
    int32_t int32;
    int32_t sint32;
    int32_t sfixed32;
    int64_t int64;
    int64_t sint64;
    int64_t sfixed64;
    uint32_t uint32;
    uint32_t fixed32;
    uint64_t uint64;
    uint64_t fixed64;
    float float_value;
    double double_value;
    protobuf_c_boolean bool_value;
    int enum_value;
    char *string;
    ProtobufCBinaryData bytes;
    ProtobufCMessage *message;
};

static const size_t typed_offset[TYPE_COUNT] = {
    [PROTOBUF_C_TYPE_INT32] = offsetof(struct typed_values, int32),
    [PROTOBUF_C_TYPE_SINT32] = offsetof(struct typed_values, sint32),
    [PROTOBUF_C_TYPE_SFIXED32] = offsetof(struct typed_values, sfixed32),
    [PROTOBUF_C_TYPE_INT64] = offsetof(struct typed_values, int64),
    [PROTOBUF_C_TYPE_SINT64] = offsetof(struct typed_values, sint64),
    [PROTOBUF_C_TYPE_SFIXED64] = offsetof(struct typed_values, sfixed64),
    [PROTOBUF_C_TYPE_UINT32] = offsetof(struct typed_values, uint32),
    [PROTOBUF_C_TYPE_FIXED32] = offsetof(struct typed_values, fixed32),
    [PROTOBUF_C_TYPE_UINT64] = offsetof(struct typed_values, uint64),
    [PROTOBUF_C_TYPE_FIXED64] = offsetof(struct typed_values, fixed64),
    [PROTOBUF_C_TYPE_FLOAT] = offsetof(struct typed_values, float_value),
    [PROTOBUF_C_TYPE_DOUBLE] = offsetof(struct typed_values, double_value),
    [PROTOBUF_C_TYPE_BOOL] = offsetof(struct typed_values, bool_value),
    [PROTOBUF_C_TYPE_ENUM] = offsetof(struct typed_values, enum_value),
    [PROTOBUF_C_TYPE_STRING] = offsetof(struct typed_values, string),
    [PROTOBUF_C_TYPE_BYTES] = offsetof(struct typed_values, bytes),
    [PROTOBUF_C_TYPE_MESSAGE] = offsetof(struct typed_values, message),
};

static const size_t typed_size[TYPE_COUNT] = {
    [PROTOBUF_C_TYPE_INT32] = 4,
    [PROTOBUF_C_TYPE_SINT32] = 4,
    [PROTOBUF_C_TYPE_SFIXED32] = 4,
    [PROTOBUF_C_TYPE_INT64] = 8,
    [PROTOBUF_C_TYPE_SINT64] = 8,
    [PROTOBUF_C_TYPE_SFIXED64] = 8,
    [PROTOBUF_C_TYPE_UINT32] = 4,
    [PROTOBUF_C_TYPE_FIXED32] = 4,
    [PROTOBUF_C_TYPE_UINT64] = 8,
    [PROTOBUF_C_TYPE_FIXED64] = 8,
    [PROTOBUF_C_TYPE_FLOAT] = 4,
    [PROTOBUF_C_TYPE_DOUBLE] = 8,
    [PROTOBUF_C_TYPE_BOOL] = sizeof(protobuf_c_boolean),
    [PROTOBUF_C_TYPE_ENUM] = sizeof(int),
    [PROTOBUF_C_TYPE_STRING] = sizeof(char *),
    [PROTOBUF_C_TYPE_BYTES] = sizeof(ProtobufCBinaryData),
    [PROTOBUF_C_TYPE_MESSAGE] = sizeof(ProtobufCMessage *),
};

struct every_label {
    ProtobufCMessage base;
    struct typed_values required; /* fields 1..17 */
    protobuf_c_boolean has[TYPE_COUNT];
    struct typed_values optional; /* 21..37: proto2 optional, has[] for non-pointer types */
    struct typed_values implicit; /* 41..57: proto3 implicit presence */
    size_t n_repeated[TYPE_COUNT];
    void *repeated[TYPE_COUNT]; /* 61..77 */
    size_t n_packed[PACKABLE_COUNT];
    void *packed[PACKABLE_COUNT]; /* 81..94 */
    uint32_t proto3_case;
    struct typed_values proto3_oneof; /* 101..117: NONE + ONEOF */
    uint32_t even_case;               /* two proto2 oneofs whose members alternate: 121, 123, ... */
    uint32_t odd_case;                /* and 122, 124, ... */
    struct typed_values proto2_oneof; /* 121..137: OPTIONAL + ONEOF, even_case or odd_case */
    int32_t far;                      /* FAR_FIELD, the largest field number */
};

static const char optional_string_default[] = "fallback";

static ProtobufCFieldDescriptor every_label_fields[6 * TYPE_COUNT + PACKABLE_COUNT + 1];
static ProtobufCIntRange every_label_ranges[8 + 1];
static ProtobufCMessageDescriptor every_label_descriptor;

static void every_label_init(ProtobufCMessage *m)
{
    memset(m, 0, sizeof(struct every_label));
    m->descriptor = &every_label_descriptor;
}

static void add_field(unsigned *n, uint32_t id, ProtobufCLabel label, ProtobufCType type,
                      size_t quantifier_offset, size_t offset, uint32_t flags)
{
    ProtobufCFieldDescriptor *f = &every_label_fields[(*n)++];
    f->name = "field";
    f->id = id;
    f->label = label;
    f->type = type;
    f->quantifier_offset = (unsigned)quantifier_offset;
    f->offset = (unsigned)offset;
    if (type == PROTOBUF_C_TYPE_MESSAGE)
        f->descriptor = &D_KEYVALUE;
    else if (type == PROTOBUF_C_TYPE_ENUM)
        f->descriptor = &opentelemetry__proto__logs__v1__severity_number__descriptor;
    if (type == PROTOBUF_C_TYPE_STRING && label == PROTOBUF_C_LABEL_OPTIONAL &&
        !(flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        f->default_value = optional_string_default;
    f->flags = flags;
}

static const ProtobufCMessageDescriptor *every_label_build(void)
{
    if (every_label_descriptor.magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
        return &every_label_descriptor;
    unsigned n = 0;
    for (unsigned t = 0; t < TYPE_COUNT; t++)
        add_field(&n, 1 + t, PROTOBUF_C_LABEL_REQUIRED, t, 0,
                  offsetof(struct every_label, required) + typed_offset[t], 0);
    for (unsigned t = 0; t < TYPE_COUNT; t++)
        add_field(&n, 21 + t, PROTOBUF_C_LABEL_OPTIONAL, t,
                  offsetof(struct every_label, has) + t * sizeof(protobuf_c_boolean),
                  offsetof(struct every_label, optional) + typed_offset[t], 0);
    for (unsigned t = 0; t < TYPE_COUNT; t++)
        add_field(&n, 41 + t, PROTOBUF_C_LABEL_NONE, t, 0,
                  offsetof(struct every_label, implicit) + typed_offset[t], 0);
    for (unsigned t = 0; t < TYPE_COUNT; t++)
        add_field(&n, 61 + t, PROTOBUF_C_LABEL_REPEATED, t,
                  offsetof(struct every_label, n_repeated) + t * sizeof(size_t),
                  offsetof(struct every_label, repeated) + t * sizeof(void *), 0);
    for (unsigned t = 0; t < PACKABLE_COUNT; t++)
        add_field(&n, 81 + t, PROTOBUF_C_LABEL_REPEATED, t,
                  offsetof(struct every_label, n_packed) + t * sizeof(size_t),
                  offsetof(struct every_label, packed) + t * sizeof(void *),
                  PROTOBUF_C_FIELD_FLAG_PACKED);
    for (unsigned t = 0; t < TYPE_COUNT; t++)
        add_field(&n, 101 + t, PROTOBUF_C_LABEL_NONE, t, offsetof(struct every_label, proto3_case),
                  offsetof(struct every_label, proto3_oneof) + typed_offset[t],
                  PROTOBUF_C_FIELD_FLAG_ONEOF);
    for (unsigned t = 0; t < TYPE_COUNT; t++)
        add_field(&n, 121 + t, PROTOBUF_C_LABEL_OPTIONAL, t,
                  t % 2 == 0 ? offsetof(struct every_label, even_case)
                             : offsetof(struct every_label, odd_case),
                  offsetof(struct every_label, proto2_oneof) + typed_offset[t],
                  PROTOBUF_C_FIELD_FLAG_ONEOF);
    add_field(&n, FAR_FIELD, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_INT32, 0,
              offsetof(struct every_label, far), 0);
    assert_int_equal(n, sizeof(every_label_fields) / sizeof(every_label_fields[0]));

    /* Runs of consecutive numbers, as protoc-c emits them for unpack's number lookup. */
    unsigned ranges = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i == 0 || every_label_fields[i].id != every_label_fields[i - 1].id + 1) {
            every_label_ranges[ranges].start_value = (int)every_label_fields[i].id;
            every_label_ranges[ranges].orig_index = i;
            ranges++;
        }
    }
    assert_int_equal(ranges, 8);
    every_label_ranges[ranges].start_value = (int)(every_label_fields[n - 1].id + 1);
    every_label_ranges[ranges].orig_index = n;

    every_label_descriptor = (ProtobufCMessageDescriptor){
        .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
        .name = "test.EveryLabel",
        .short_name = "EveryLabel",
        .c_name = "every_label",
        .package_name = "test",
        .sizeof_message = sizeof(struct every_label),
        .n_fields = n,
        .fields = every_label_fields,
        .n_field_ranges = ranges,
        .field_ranges = every_label_ranges,
        .message_init = every_label_init,
    };
    return &every_label_descriptor;
}

/* ---- deterministic random values ---- */

struct rng {
    uint64_t state;
};

static uint64_t rng_next(struct rng *r) /* splitmix64 */
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t rng_below(struct rng *r, size_t n)
{
    return (size_t)(rng_next(r) % n);
}

static bool rng_percent(struct rng *r, unsigned percent)
{
    return rng_below(r, 100) < percent;
}

/* Mostly the values at varint length boundaries and sign changes, sometimes anything. */
static uint64_t random_bits(struct rng *r)
{
    static const uint64_t edges[] = {0,
                                     1,
                                     127,
                                     128,
                                     16383,
                                     16384,
                                     (1ull << 28) - 1,
                                     1ull << 28,
                                     INT32_MAX,
                                     (uint64_t)INT32_MAX + 1,
                                     UINT32_MAX,
                                     (uint64_t)UINT32_MAX + 1,
                                     (1ull << 35) - 1,
                                     INT64_MAX,
                                     (uint64_t)INT64_MAX + 1,
                                     UINT64_MAX,
                                     UINT64_MAX - 1,
                                     (uint64_t)-128,
                                     (uint64_t)-129};
    if (rng_percent(r, 60))
        return edges[rng_below(r, sizeof(edges) / sizeof(edges[0]))];
    return rng_next(r) >> rng_below(r, 64);
}

static double random_double(struct rng *r)
{
    static const double specials[] = {0.0, -0.0, 1.0, -2.5, 1e300, -1e-300, INFINITY, -INFINITY};
    size_t pick = rng_below(r, 12);
    if (pick < sizeof(specials) / sizeof(specials[0]))
        return specials[pick];
    if (pick == 8)
        return NAN;
    double d;
    uint64_t bits = rng_next(r);
    memcpy(&d, &bits, sizeof(d)); /* any bit pattern, NaN payloads included */
    return d;
}

static float random_float(struct rng *r)
{
    static const float specials[] = {0.0f, -0.0f, 1.0f, -2.5f, INFINITY};
    size_t pick = rng_below(r, 8);
    if (pick < sizeof(specials) / sizeof(specials[0]))
        return specials[pick];
    float f;
    uint32_t bits = (uint32_t)rng_next(r);
    memcpy(&f, &bits, sizeof(f));
    return f;
}

/* Printable ASCII of a length that crosses the one- and two-byte length prefixes. */
static char *random_string(struct rng *r)
{
    size_t len;
    size_t kind = rng_below(r, 100);
    if (kind < 15)
        len = 0;
    else if (kind < 80)
        len = 1 + rng_below(r, 24);
    else if (kind < 99)
        len = 100 + rng_below(r, 100);
    else
        len = 16380 + rng_below(r, 10);
    char *s = pdata_alloc(len + 1);
    assert_non_null(s);
    for (size_t i = 0; i < len; i++)
        s[i] = (char)(' ' + rng_below(r, 95));
    s[len] = '\0';
    return s;
}

/* A string field's value: usually random, sometimes the generated default (not freed). */
static char *random_string_or_default(struct rng *r)
{
    if (rng_percent(r, 20))
        return (char *)protobuf_c_empty_string;
    return random_string(r);
}

static ProtobufCBinaryData random_bytes(struct rng *r, size_t typical)
{
    size_t len = rng_percent(r, 30) ? 0 : rng_percent(r, 80) ? typical : rng_below(r, 200);
    ProtobufCBinaryData b = {len, NULL};
    if (len > 0) {
        b.data = pdata_alloc(len);
        assert_non_null(b.data);
        for (size_t i = 0; i < len; i++)
            b.data[i] = (uint8_t)rng_next(r);
    }
    return b;
}

/* Allocates `*count` (0..max) child pointers, for the caller to fill. */
static void *random_children(struct rng *r, size_t max, size_t *count)
{
    *count = rng_below(r, max + 1);
    if (*count == 0)
        return NULL;
    void *children = pdata_calloc(*count, sizeof(void *));
    assert_non_null(children);
    return children;
}

static otlp_anyvalue *random_anyvalue(struct rng *r, unsigned depth);

static otlp_keyvalue *random_keyvalue(struct rng *r, unsigned depth)
{
    otlp_keyvalue *pair = msg_new(&D_KEYVALUE);
    pair->key = random_string_or_default(r);
    pair->value = rng_percent(r, 95) ? random_anyvalue(r, depth) : NULL;
    return pair;
}

static void random_keyvalues(struct rng *r, unsigned depth, size_t max, otlp_keyvalue ***field,
                             size_t *count)
{
    *field = random_children(r, max, count);
    for (size_t i = 0; i < *count; i++)
        (*field)[i] = random_keyvalue(r, depth);
}

static otlp_anyvalue *random_anyvalue(struct rng *r, unsigned depth)
{
    size_t kind = rng_below(r, depth < 3 ? 9 : 7);
    otlp_anyvalue *v;
    switch (kind) {
    case 0: return any_new(ANY(_NOT_SET));
    case 1:
    case 2:
        v = any_new(ANY(STRING_VALUE));
        v->string_value = random_string_or_default(r);
        return v;
    case 3: return any_bool((protobuf_c_boolean)rng_below(r, 3));
    case 4: return any_int((int64_t)random_bits(r));
    case 5: return any_double(random_double(r));
    case 6:
        v = any_new(ANY(BYTES_VALUE));
        v->bytes_value = random_bytes(r, 16);
        return v;
    case 7:
        v = any_new(ANY(ARRAY_VALUE));
        if (rng_percent(r, 10))
            return v; /* case set, message NULL */
        v->array_value = msg_new(&D_ARRAY);
        v->array_value->n_values = rng_below(r, 4);
        v->array_value->values = v->array_value->n_values ? pdata_calloc(v->array_value->n_values,
                                                                         sizeof(otlp_anyvalue *))
                                                          : NULL;
        for (size_t i = 0; i < v->array_value->n_values; i++)
            v->array_value->values[i] = random_anyvalue(r, depth + 1);
        return v;
    default:
        v = any_new(ANY(KVLIST_VALUE));
        v->kvlist_value = msg_new(&D_KVLIST);
        random_keyvalues(r, depth + 1, 3, &v->kvlist_value->values, &v->kvlist_value->n_values);
        return v;
    }
}

static otlp_resource *random_resource(struct rng *r)
{
    if (rng_percent(r, 10))
        return NULL;
    otlp_resource *res = msg_new(&D_RESOURCE);
    random_keyvalues(r, 0, 4, &res->attributes, &res->n_attributes);
    if (rng_percent(r, 20))
        res->dropped_attributes_count = (uint32_t)random_bits(r);
    return res;
}

static scope *random_scope(struct rng *r)
{
    if (rng_percent(r, 10))
        return NULL;
    scope *s = msg_new(&D_SCOPE);
    s->name = random_string_or_default(r);
    s->version = random_string_or_default(r);
    random_keyvalues(r, 1, 2, &s->attributes, &s->n_attributes);
    if (rng_percent(r, 20))
        s->dropped_attributes_count = (uint32_t)random_bits(r);
    return s;
}

static log_record *random_log_record(struct rng *r)
{
    log_record *rec = msg_new(&D_LOG_RECORD);
    if (rng_percent(r, 80))
        rec->time_unix_nano = random_bits(r);
    if (rng_percent(r, 50))
        rec->observed_time_unix_nano = random_bits(r);
    rec->severity_number = rng_percent(r, 90) ? (int)rng_below(r, 25) : -(int)rng_below(r, 3);
    rec->severity_text = random_string_or_default(r);
    rec->body = rng_percent(r, 85) ? random_anyvalue(r, 0) : NULL;
    random_keyvalues(r, 0, 6, &rec->attributes, &rec->n_attributes);
    if (rng_percent(r, 20))
        rec->dropped_attributes_count = (uint32_t)random_bits(r);
    rec->flags = rng_percent(r, 50) ? (uint32_t)random_bits(r) : 0;
    rec->trace_id = random_bytes(r, 16);
    rec->span_id = random_bytes(r, 8);
    rec->event_name = random_string_or_default(r);
    return rec;
}

static otlp_logs_req *random_logs_request(struct rng *r)
{
    otlp_logs_req *req = msg_new(&D_LOGS_REQ);
    req->resource_logs = random_children(r, 3, &req->n_resource_logs);
    for (size_t i = 0; i < req->n_resource_logs; i++) {
        resource_logs *rl = msg_new(&D_RESOURCE_LOGS);
        req->resource_logs[i] = rl;
        rl->resource = random_resource(r);
        rl->schema_url = random_string_or_default(r);
        rl->scope_logs = random_children(r, 3, &rl->n_scope_logs);
        for (size_t j = 0; j < rl->n_scope_logs; j++) {
            scope_logs *sl = msg_new(&D_SCOPE_LOGS);
            rl->scope_logs[j] = sl;
            sl->scope = random_scope(r);
            sl->schema_url = random_string_or_default(r);
            sl->log_records = random_children(r, 5, &sl->n_log_records);
            for (size_t k = 0; k < sl->n_log_records; k++)
                sl->log_records[k] = random_log_record(r);
        }
    }
    return req;
}

static span *random_span(struct rng *r)
{
    span *sp = msg_new(&D_SPAN);
    sp->trace_id = random_bytes(r, 16);
    sp->span_id = random_bytes(r, 8);
    sp->trace_state = random_string_or_default(r);
    sp->parent_span_id = random_bytes(r, 8);
    sp->flags = rng_percent(r, 50) ? (uint32_t)random_bits(r) : 0;
    sp->name = random_string_or_default(r);
    sp->kind = rng_percent(r, 90) ? (int)rng_below(r, 6) : -7;
    sp->start_time_unix_nano = random_bits(r);
    sp->end_time_unix_nano = random_bits(r);
    random_keyvalues(r, 0, 5, &sp->attributes, &sp->n_attributes);
    if (rng_percent(r, 20))
        sp->dropped_attributes_count = (uint32_t)random_bits(r);
    sp->events = random_children(r, 3, &sp->n_events);
    for (size_t i = 0; i < sp->n_events; i++) {
        span_event *ev = msg_new(&D_SPAN_EVENT);
        sp->events[i] = ev;
        ev->time_unix_nano = random_bits(r);
        ev->name = random_string_or_default(r);
        random_keyvalues(r, 1, 3, &ev->attributes, &ev->n_attributes);
        ev->dropped_attributes_count = rng_percent(r, 20) ? (uint32_t)random_bits(r) : 0;
    }
    if (rng_percent(r, 20))
        sp->dropped_events_count = (uint32_t)random_bits(r);
    sp->links = random_children(r, 2, &sp->n_links);
    for (size_t i = 0; i < sp->n_links; i++) {
        span_link *ln = msg_new(&D_SPAN_LINK);
        sp->links[i] = ln;
        ln->trace_id = random_bytes(r, 16);
        ln->span_id = random_bytes(r, 8);
        ln->trace_state = random_string_or_default(r);
        random_keyvalues(r, 1, 2, &ln->attributes, &ln->n_attributes);
        ln->dropped_attributes_count = rng_percent(r, 20) ? (uint32_t)random_bits(r) : 0;
        ln->flags = rng_percent(r, 50) ? (uint32_t)random_bits(r) : 0;
    }
    if (rng_percent(r, 20))
        sp->dropped_links_count = (uint32_t)random_bits(r);
    if (rng_percent(r, 60)) {
        sp->status = msg_new(&D_STATUS);
        sp->status->message = random_string_or_default(r);
        sp->status->code = (int)rng_below(r, 3);
    }
    return sp;
}

static otlp_traces_req *random_traces_request(struct rng *r)
{
    otlp_traces_req *req = msg_new(&D_TRACES_REQ);
    req->resource_spans = random_children(r, 3, &req->n_resource_spans);
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        resource_spans *rs = msg_new(&D_RESOURCE_SPANS);
        req->resource_spans[i] = rs;
        rs->resource = random_resource(r);
        rs->schema_url = random_string_or_default(r);
        rs->scope_spans = random_children(r, 3, &rs->n_scope_spans);
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            scope_spans *ss = msg_new(&D_SCOPE_SPANS);
            rs->scope_spans[j] = ss;
            ss->scope = random_scope(r);
            ss->schema_url = random_string_or_default(r);
            ss->spans = random_children(r, 4, &ss->n_spans);
            for (size_t k = 0; k < ss->n_spans; k++)
                ss->spans[k] = random_span(r);
        }
    }
    return req;
}

static void *random_array(struct rng *r, size_t max, size_t element_size, size_t *count)
{
    *count = rng_below(r, max + 1);
    if (*count == 0)
        return NULL;
    uint8_t *a = pdata_calloc(*count, element_size);
    assert_non_null(a);
    for (size_t i = 0; i < *count; i++) {
        if (element_size == sizeof(double) && rng_percent(r, 50)) {
            double d = random_double(r);
            memcpy(a + i * element_size, &d, sizeof(d));
        } else {
            uint64_t v = random_bits(r);
            memcpy(a + i * element_size, &v, element_size);
        }
    }
    return a;
}

static void random_exemplars(struct rng *r, exemplar ***field, size_t *count)
{
    *field = random_children(r, 2, count);
    for (size_t i = 0; i < *count; i++) {
        exemplar *e = msg_new(&D_EXEMPLAR);
        (*field)[i] = e;
        random_keyvalues(r, 1, 2, &e->filtered_attributes, &e->n_filtered_attributes);
        e->time_unix_nano = random_bits(r);
        e->span_id = random_bytes(r, 8);
        e->trace_id = random_bytes(r, 16);
        e->value_case = (int)(rng_below(r, 3) == 0 ? 0 : rng_percent(r, 50) ? 3 : 6);
        if (e->value_case == 3)
            e->as_double = random_double(r);
        else
            e->as_int = (int64_t)random_bits(r);
    }
}

static number_point **random_number_points(struct rng *r, size_t *count)
{
    number_point **points = random_children(r, 3, count);
    for (size_t i = 0; i < *count; i++) {
        number_point *p = msg_new(&D_NUMBER_POINT);
        points[i] = p;
        random_keyvalues(r, 1, 3, &p->attributes, &p->n_attributes);
        p->start_time_unix_nano = random_bits(r);
        p->time_unix_nano = random_bits(r);
        random_exemplars(r, &p->exemplars, &p->n_exemplars);
        p->flags = (uint32_t)rng_below(r, 2);
        p->value_case = (int)(rng_below(r, 5) == 0 ? 0 : rng_percent(r, 50) ? 4 : 6);
        if (p->value_case == 4)
            p->as_double = random_double(r);
        else
            p->as_int = (int64_t)random_bits(r);
    }
    return points;
}

static exp_buckets *random_buckets(struct rng *r)
{
    if (rng_percent(r, 20))
        return NULL;
    exp_buckets *b = msg_new(&D_EXP_BUCKETS);
    b->offset = (int32_t)random_bits(r);
    b->bucket_counts = random_array(r, 150, sizeof(uint64_t), &b->n_bucket_counts);
    return b;
}

static metric *random_metric(struct rng *r)
{
    metric *m = msg_new(&D_METRIC);
    m->name = random_string_or_default(r);
    m->description = random_string_or_default(r);
    m->unit = random_string_or_default(r);
    random_keyvalues(r, 1, 2, &m->metadata, &m->n_metadata);
    m->data_case = (int)(5 + rng_below(r, 8)); /* 5..12: 6 and 12 are not members: not written */
    switch (m->data_case) {
    case METRIC_DATA(GAUGE):
        m->gauge = msg_new(&D_GAUGE);
        m->gauge->data_points = random_number_points(r, &m->gauge->n_data_points);
        break;
    case METRIC_DATA(SUM):
        m->sum = msg_new(&D_SUM);
        m->sum->data_points = random_number_points(r, &m->sum->n_data_points);
        m->sum->aggregation_temporality = (int)rng_below(r, 3);
        m->sum->is_monotonic = (protobuf_c_boolean)rng_below(r, 3);
        break;
    case METRIC_DATA(HISTOGRAM): {
        m->histogram = msg_new(&D_HISTOGRAM);
        m->histogram->aggregation_temporality = (int)rng_below(r, 3);
        histogram_point **points = random_children(r, 3, &m->histogram->n_data_points);
        m->histogram->data_points = points;
        for (size_t i = 0; i < m->histogram->n_data_points; i++) {
            histogram_point *p = msg_new(&D_HISTOGRAM_POINT);
            points[i] = p;
            random_keyvalues(r, 1, 2, &p->attributes, &p->n_attributes);
            p->time_unix_nano = random_bits(r);
            p->count = random_bits(r);
            p->bucket_counts = random_array(r, 12, sizeof(uint64_t), &p->n_bucket_counts);
            p->explicit_bounds = random_array(r, 11, sizeof(double), &p->n_explicit_bounds);
            random_exemplars(r, &p->exemplars, &p->n_exemplars);
            p->flags = (uint32_t)rng_below(r, 2);
            p->_sum_case = rng_percent(r, 50) ? 5 : 0;
            p->sum = random_double(r);
            p->_min_case = rng_percent(r, 50) ? 11 : 0;
            p->min = random_double(r);
            p->_max_case = rng_percent(r, 50) ? 12 : 0;
            p->max = random_double(r);
        }
        break;
    }
    case METRIC_DATA(EXPONENTIAL_HISTOGRAM): {
        exp_histogram *eh = msg_new(&D_EXP_HISTOGRAM);
        m->exponential_histogram = eh;
        eh->aggregation_temporality = (int)rng_below(r, 3);
        exp_histogram_point **points = random_children(r, 2, &eh->n_data_points);
        eh->data_points = points;
        for (size_t i = 0; i < eh->n_data_points; i++) {
            exp_histogram_point *p = msg_new(&D_EXP_HISTOGRAM_POINT);
            points[i] = p;
            p->count = random_bits(r);
            p->scale = (int32_t)random_bits(r);
            p->zero_count = random_bits(r);
            p->positive = random_buckets(r);
            p->negative = random_buckets(r);
            p->zero_threshold = random_double(r);
            p->_sum_case = rng_percent(r, 50) ? 5 : 0;
            p->sum = random_double(r);
        }
        break;
    }
    case METRIC_DATA(SUMMARY): {
        m->summary = msg_new(&D_SUMMARY);
        summary_point **points = random_children(r, 2, &m->summary->n_data_points);
        m->summary->data_points = points;
        for (size_t i = 0; i < m->summary->n_data_points; i++) {
            summary_point *p = msg_new(&D_SUMMARY_POINT);
            points[i] = p;
            p->count = random_bits(r);
            p->sum = random_double(r);
            quantile_value **qs = random_children(r, 3, &p->n_quantile_values);
            p->quantile_values = qs;
            for (size_t j = 0; j < p->n_quantile_values; j++) {
                qs[j] = msg_new(&D_QUANTILE);
                qs[j]->quantile = random_double(r);
                qs[j]->value = random_double(r);
            }
        }
        break;
    }
    default: break;
    }
    return m;
}

static otlp_metrics_req *random_metrics_request(struct rng *r)
{
    otlp_metrics_req *req = msg_new(&D_METRICS_REQ);
    req->resource_metrics = random_children(r, 2, &req->n_resource_metrics);
    for (size_t i = 0; i < req->n_resource_metrics; i++) {
        resource_metrics *rm = msg_new(&D_RESOURCE_METRICS);
        req->resource_metrics[i] = rm;
        rm->resource = random_resource(r);
        rm->scope_metrics = random_children(r, 2, &rm->n_scope_metrics);
        for (size_t j = 0; j < rm->n_scope_metrics; j++) {
            scope_metrics *sm = msg_new(&D_SCOPE_METRICS);
            rm->scope_metrics[j] = sm;
            sm->scope = random_scope(r);
            sm->metrics = random_children(r, 4, &sm->n_metrics);
            for (size_t k = 0; k < sm->n_metrics; k++)
                sm->metrics[k] = random_metric(r);
        }
    }
    return req;
}

/* One value of `type` into `slot`. `nullable`: a string or message may be NULL. */
static void random_typed_value(struct rng *r, ProtobufCType type, void *slot, bool nullable)
{
    uint64_t bits = random_bits(r);
    switch (type) {
    case PROTOBUF_C_TYPE_FLOAT: {
        float f = random_float(r);
        memcpy(slot, &f, sizeof(f));
        return;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double d = random_double(r);
        memcpy(slot, &d, sizeof(d));
        return;
    }
    case PROTOBUF_C_TYPE_BOOL: *(protobuf_c_boolean *)slot = (int)rng_below(r, 3); return;
    case PROTOBUF_C_TYPE_STRING:
        *(char **)slot = nullable && rng_percent(r, 15) ? NULL : random_string(r);
        return;
    case PROTOBUF_C_TYPE_BYTES: *(ProtobufCBinaryData *)slot = random_bytes(r, 5); return;
    case PROTOBUF_C_TYPE_MESSAGE:
        *(ProtobufCMessage **)slot =
            nullable && rng_percent(r, 25) ? NULL : &random_keyvalue(r, 2)->base;
        return;
    default: memcpy(slot, &bits, typed_size[type]); return; /* the low 4 or 8 bytes */
    }
}

static void random_typed_values(struct rng *r, struct typed_values *values, bool nullable)
{
    for (unsigned t = 0; t < TYPE_COUNT; t++) {
        if (rng_percent(r, 25))
            continue; /* leave zero */
        random_typed_value(r, t, (uint8_t *)values + typed_offset[t], nullable);
    }
}

static struct every_label *random_every_label(struct rng *r)
{
    struct every_label *m = msg_new(every_label_build());
    random_typed_values(r, &m->required, true);
    random_typed_values(r, &m->optional, true);
    for (unsigned t = 0; t < TYPE_COUNT; t++)
        m->has[t] = rng_percent(r, 50) ? (protobuf_c_boolean)(1 + rng_below(r, 2)) : 0;
    if (rng_percent(r, 20)) {
        pdata_free(m->optional.string);
        m->optional.string = (char *)optional_string_default; /* at the default: omitted */
    }
    random_typed_values(r, &m->implicit, true);
    for (unsigned t = 0; t < TYPE_COUNT; t++) {
        m->n_repeated[t] = rng_below(r, 4);
        if (m->n_repeated[t] == 0)
            continue;
        m->repeated[t] = pdata_calloc(m->n_repeated[t], typed_size[t]);
        assert_non_null(m->repeated[t]);
        for (size_t i = 0; i < m->n_repeated[t]; i++)
            random_typed_value(r, t, (uint8_t *)m->repeated[t] + i * typed_size[t], false);
    }
    for (unsigned t = 0; t < PACKABLE_COUNT; t++) {
        m->n_packed[t] = rng_percent(r, 10) ? 100 + rng_below(r, 100) : rng_below(r, 5);
        if (m->n_packed[t] == 0)
            continue;
        m->packed[t] = pdata_calloc(m->n_packed[t], typed_size[t]);
        assert_non_null(m->packed[t]);
        for (size_t i = 0; i < m->n_packed[t]; i++)
            random_typed_value(r, t, (uint8_t *)m->packed[t] + i * typed_size[t], false);
    }
    /* Only the selected member of a oneof is set, as protobuf-c's free expects. */
    if (rng_percent(r, 80)) {
        unsigned t = (unsigned)rng_below(r, TYPE_COUNT);
        m->proto3_case = 101 + t;
        random_typed_value(r, t, (uint8_t *)&m->proto3_oneof + typed_offset[t], true);
    }
    if (rng_percent(r, 70)) {
        unsigned t = 2 * (unsigned)rng_below(r, (TYPE_COUNT + 1) / 2);
        m->even_case = 121 + t;
        random_typed_value(r, t, (uint8_t *)&m->proto2_oneof + typed_offset[t], true);
    } else if (rng_percent(r, 50)) {
        m->even_case = 122; /* the number of a member of the other oneof: nothing is written */
    }
    if (rng_percent(r, 70)) {
        unsigned t = 1 + 2 * (unsigned)rng_below(r, TYPE_COUNT / 2);
        m->odd_case = 121 + t;
        random_typed_value(r, t, (uint8_t *)&m->proto2_oneof + typed_offset[t], true);
    }
    m->far = rng_percent(r, 50) ? (int32_t)random_bits(r) : 0;
    if (rng_percent(r, 30)) {
        /* Unknown fields as a decoder keeps them: raw bytes after the tag. */
        m->base.n_unknown_fields = 1 + rng_below(r, 2);
        m->base.unknown_fields =
            pdata_calloc(m->base.n_unknown_fields, sizeof(ProtobufCMessageUnknownField));
        assert_non_null(m->base.unknown_fields);
        for (size_t i = 0; i < m->base.n_unknown_fields; i++) {
            ProtobufCMessageUnknownField *u = &m->base.unknown_fields[i];
            u->tag = 200 + (uint32_t)rng_below(r, 100000);
            u->wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
            u->len = 4;
            u->data = pdata_alloc(4);
            assert_non_null(u->data);
            memcpy(u->data,
                   "\x03"
                   "abc",
                   4);
        }
    }
    return m;
}

static void test_every_type_under_every_label_encodes_like_protobuf_c(void **state)
{
    size_t before = pdata_bytes_current();
    char context[64];
    for (uint64_t seed = 1; seed <= 300; seed++) {
        struct rng r = {seed * 7919};
        struct every_label *m = random_every_label(&r);
        snprintf(context, sizeof(context), "every-label message, seed %llu",
                 (unsigned long long)seed);
        assert_encodes_like_protobuf_c(&m->base, context);
        free_tree(m);
    }
    assert_int_equal(pdata_bytes_current(), before);
}

/* ---- random OTLP trees ---- */

static void test_random_logs_requests_encode_like_protobuf_c(void **state)
{
    size_t before = pdata_bytes_current();
    char context[64];
    for (uint64_t seed = 1; seed <= 250; seed++) {
        struct rng r = {seed};
        otlp_logs_req *req = random_logs_request(&r);
        snprintf(context, sizeof(context), "random logs, seed %llu", (unsigned long long)seed);
        assert_encodes_like_protobuf_c(&req->base, context);
        free_tree(req);
    }
    assert_int_equal(pdata_bytes_current(), before);
}

static void test_random_traces_requests_encode_like_protobuf_c(void **state)
{
    size_t before = pdata_bytes_current();
    char context[64];
    for (uint64_t seed = 1; seed <= 250; seed++) {
        struct rng r = {seed ^ 0x5eed};
        otlp_traces_req *req = random_traces_request(&r);
        snprintf(context, sizeof(context), "random traces, seed %llu", (unsigned long long)seed);
        assert_encodes_like_protobuf_c(&req->base, context);
        free_tree(req);
    }
    assert_int_equal(pdata_bytes_current(), before);
}

static void test_random_metrics_requests_encode_like_protobuf_c(void **state)
{
    size_t before = pdata_bytes_current();
    char context[64];
    for (uint64_t seed = 1; seed <= 250; seed++) {
        struct rng r = {seed * 31 + 17};
        otlp_metrics_req *req = random_metrics_request(&r);
        snprintf(context, sizeof(context), "random metrics, seed %llu", (unsigned long long)seed);
        assert_encodes_like_protobuf_c(&req->base, context);
        free_tree(req);
    }
    assert_int_equal(pdata_bytes_current(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_request_of_each_signal_encodes_like_protobuf_c),
        cmocka_unit_test(test_logs_with_every_value_kind_encode_like_protobuf_c),
        cmocka_unit_test(test_logs_of_many_records_encode_like_protobuf_c),
        cmocka_unit_test(test_traces_with_events_links_status_and_flags_encode_like_protobuf_c),
        cmocka_unit_test(test_metrics_of_every_type_encode_like_protobuf_c),
        cmocka_unit_test(test_protobuf_c_rules_give_the_documented_bytes),
        cmocka_unit_test(test_unknown_fields_are_written_after_known_ones_as_decoded),
        cmocka_unit_test(test_every_type_under_every_label_encodes_like_protobuf_c),
        cmocka_unit_test(test_random_logs_requests_encode_like_protobuf_c),
        cmocka_unit_test(test_random_traces_requests_encode_like_protobuf_c),
        cmocka_unit_test(test_random_metrics_requests_encode_like_protobuf_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
