/*
 * test_otlp_json.c - OTLP/JSON against the collector's behaviour: byte-exact output for small
 * messages (pdata's JSON marshaler), lossless round trips through JSON for rich requests of all
 * three signals, and the decoder's leniencies and errors (facts/receivers.md §1).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "google/rpc/status.pb-c.h"
#include "otlp_json.h"
#include "pdata.h"

typedef Opentelemetry__Proto__Trace__V1__ResourceSpans resource_spans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans scope_spans;
typedef Opentelemetry__Proto__Trace__V1__Span span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event span_event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link span_link;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics resource_metrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics scope_metrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint number_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint histogram_point;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint exp_point;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint summary_point;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar exemplar;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs resource_logs;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs scope_logs;
typedef Opentelemetry__Proto__Logs__V1__LogRecord log_record;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope scope;
typedef Opentelemetry__Proto__Common__V1__ArrayValue array_value;
typedef Opentelemetry__Proto__Common__V1__KeyValueList kvlist_value;

static const uint8_t trace_id_bytes[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t span_id_bytes[8] = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};

/* ---- builders: every block from the pdata allocator, as a decoded tree ---- */

static void *msg_new(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = pdata_alloc(desc->sizeof_message);
    assert_non_null(m);
    desc->message_init(m);
    return m;
}

static void *array_of(size_t n, size_t elem)
{
    void *a = pdata_calloc(n, elem);
    assert_non_null(a);
    return a;
}

static char *str(const char *s)
{
    char *copy = pdata_strdup(s);
    assert_non_null(copy);
    return copy;
}

static ProtobufCBinaryData bytes(const uint8_t *data, size_t len)
{
    uint8_t *copy = pdata_alloc(len);
    assert_non_null(copy);
    memcpy(copy, data, len);
    return (ProtobufCBinaryData){len, copy};
}

static otlp_anyvalue *any_new(void)
{
    return msg_new(&opentelemetry__proto__common__v1__any_value__descriptor);
}

static otlp_anyvalue *any_string(const char *s)
{
    otlp_anyvalue *v = any_new();
    v->string_value = str(s);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    return v;
}

static otlp_anyvalue *any_int(int64_t i)
{
    otlp_anyvalue *v = any_new();
    v->int_value = i;
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    return v;
}

static otlp_anyvalue *any_double(double d)
{
    otlp_anyvalue *v = any_new();
    v->double_value = d;
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    return v;
}

static otlp_anyvalue *any_bool(int b)
{
    otlp_anyvalue *v = any_new();
    v->bool_value = b;
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    return v;
}

static otlp_anyvalue *any_bytes(const uint8_t *data, size_t len)
{
    otlp_anyvalue *v = any_new();
    v->bytes_value = bytes(data, len);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
    return v;
}

static otlp_keyvalue *kv(const char *key, otlp_anyvalue *value)
{
    otlp_keyvalue *k = msg_new(&opentelemetry__proto__common__v1__key_value__descriptor);
    k->key = str(key);
    k->value = value;
    return k;
}

/* Sets the attribute array and its count to the given KeyValues (NULL-terminated list). */
static void set_attrs(otlp_keyvalue ***attrs, size_t *n, otlp_keyvalue *first, ...)
{
    otlp_keyvalue *list[32];
    size_t count = 0;
    va_list ap;
    va_start(ap, first);
    for (otlp_keyvalue *k = first; k; k = va_arg(ap, otlp_keyvalue *))
        list[count++] = k;
    va_end(ap);
    *attrs = array_of(count, sizeof(**attrs));
    memcpy(*attrs, list, count * sizeof(*list));
    *n = count;
}

static otlp_anyvalue *any_array(otlp_anyvalue *a, otlp_anyvalue *b, otlp_anyvalue *c)
{
    otlp_anyvalue *v = any_new();
    v->array_value = msg_new(&opentelemetry__proto__common__v1__array_value__descriptor);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    v->array_value->values = array_of(3, sizeof(otlp_anyvalue *));
    v->array_value->values[0] = a;
    v->array_value->values[1] = b;
    v->array_value->values[2] = c;
    v->array_value->n_values = 3;
    return v;
}

static otlp_anyvalue *any_kvlist(otlp_keyvalue *a, otlp_keyvalue *b)
{
    otlp_anyvalue *v = any_new();
    v->kvlist_value = msg_new(&opentelemetry__proto__common__v1__key_value_list__descriptor);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    set_attrs(&v->kvlist_value->values, &v->kvlist_value->n_values, a, b, NULL);
    return v;
}

/* Every kind of attribute value, nested ones included. */
static void rich_attrs(otlp_keyvalue ***attrs, size_t *n)
{
    static const uint8_t raw[] = {0x00, 0x01, 0xfe, 0xff, 0x7f};
    set_attrs(attrs, n, kv("string", any_string("quote\" backslash\\ nl\n tab\t ctl\x01 é 日本")),
              kv("bool", any_bool(1)), kv("int", any_int(INT64_MIN)), kv("double", any_double(1.1)),
              kv("bytes1", any_bytes(raw, 1)), kv("bytes2", any_bytes(raw, 2)),
              kv("bytes5", any_bytes(raw, 5)),
              kv("array", any_array(any_int(1), any_string(""),
                                    any_kvlist(kv("k", any_bool(0)), kv("e", any_new())))),
              kv("kvlist",
                 any_kvlist(kv("a", any_double(-0.5)),
                            kv("b", any_array(any_double(1e300), any_int(0), any_string("x"))))),
              kv("empty", any_new()), NULL);
}

static otlp_resource *rich_resource(void)
{
    otlp_resource *r = msg_new(&opentelemetry__proto__resource__v1__resource__descriptor);
    rich_attrs(&r->attributes, &r->n_attributes);
    r->dropped_attributes_count = 3;
    Opentelemetry__Proto__Common__V1__EntityRef *ref =
        msg_new(&opentelemetry__proto__common__v1__entity_ref__descriptor);
    ref->type = str("k8s.pod");
    ref->schema_url = str("https://opentelemetry.io/schemas/1.26.0");
    ref->id_keys = array_of(2, sizeof(char *));
    ref->id_keys[0] = str("k8s.pod.uid");
    ref->id_keys[1] = str("");
    ref->n_id_keys = 2;
    r->entity_refs = array_of(1, sizeof(ref));
    r->entity_refs[0] = ref;
    r->n_entity_refs = 1;
    return r;
}

static scope *rich_scope(void)
{
    scope *s = msg_new(&opentelemetry__proto__common__v1__instrumentation_scope__descriptor);
    s->name = str("io.opentelemetry.test");
    s->version = str("1.2.3");
    set_attrs(&s->attributes, &s->n_attributes, kv("scope.attr", any_string("v")), NULL);
    s->dropped_attributes_count = 1;
    return s;
}

static struct payload *rich_traces(void)
{
    struct payload *p = payload_new(SIGNAL_TRACES);
    assert_non_null(p);
    resource_spans *rs = msg_new(&opentelemetry__proto__trace__v1__resource_spans__descriptor);
    p->traces->resource_spans = array_of(1, sizeof(rs));
    p->traces->resource_spans[0] = rs;
    p->traces->n_resource_spans = 1;
    rs->resource = rich_resource();
    rs->schema_url = str("https://opentelemetry.io/schemas/1.26.0");
    scope_spans *ss = msg_new(&opentelemetry__proto__trace__v1__scope_spans__descriptor);
    rs->scope_spans = array_of(1, sizeof(ss));
    rs->scope_spans[0] = ss;
    rs->n_scope_spans = 1;
    ss->scope = rich_scope();
    ss->schema_url = str("https://example.com/scope");

    span *sp = msg_new(&opentelemetry__proto__trace__v1__span__descriptor);
    sp->trace_id = bytes(trace_id_bytes, 16);
    sp->span_id = bytes(span_id_bytes, 8);
    sp->parent_span_id = bytes(span_id_bytes, 8);
    sp->trace_state = str("rojo=00f067aa0ba902b7");
    sp->flags = 0x301;
    sp->name = str("GET /api");
    sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    sp->start_time_unix_nano = 1700000000123456789ULL;
    sp->end_time_unix_nano = UINT64_MAX;
    rich_attrs(&sp->attributes, &sp->n_attributes);
    sp->dropped_attributes_count = 4294967295u;
    span_event *ev = msg_new(&opentelemetry__proto__trace__v1__span__event__descriptor);
    ev->time_unix_nano = 1700000000200000000ULL;
    ev->name = str("exception");
    set_attrs(&ev->attributes, &ev->n_attributes, kv("exception.type", any_string("E")), NULL);
    ev->dropped_attributes_count = 2;
    sp->events = array_of(1, sizeof(ev));
    sp->events[0] = ev;
    sp->n_events = 1;
    sp->dropped_events_count = 5;
    span_link *link = msg_new(&opentelemetry__proto__trace__v1__span__link__descriptor);
    link->trace_id = bytes(trace_id_bytes, 16);
    link->span_id = bytes(span_id_bytes, 8);
    link->trace_state = str("congo=t61rcWkgMzE");
    set_attrs(&link->attributes, &link->n_attributes, kv("link.attr", any_int(-1)), NULL);
    link->dropped_attributes_count = 6;
    link->flags = 0x100;
    sp->links = array_of(1, sizeof(link));
    sp->links[0] = link;
    sp->n_links = 1;
    sp->dropped_links_count = 7;
    sp->status = msg_new(&opentelemetry__proto__trace__v1__status__descriptor);
    sp->status->message = str("boom");
    sp->status->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;

    span *minimal = msg_new(&opentelemetry__proto__trace__v1__span__descriptor);
    minimal->name = str("minimal");
    minimal->status = msg_new(&opentelemetry__proto__trace__v1__status__descriptor);
    ss->spans = array_of(2, sizeof(sp));
    ss->spans[0] = sp;
    ss->spans[1] = minimal;
    ss->n_spans = 2;
    return p;
}

static exemplar *exemplar_int(int64_t value)
{
    exemplar *e = msg_new(&opentelemetry__proto__metrics__v1__exemplar__descriptor);
    set_attrs(&e->filtered_attributes, &e->n_filtered_attributes, kv("user", any_string("u1")),
              NULL);
    e->time_unix_nano = 1700000000000000001ULL;
    e->as_int = value;
    e->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT;
    e->span_id = bytes(span_id_bytes, 8);
    e->trace_id = bytes(trace_id_bytes, 16);
    return e;
}

static exemplar *exemplar_double(double value)
{
    exemplar *e = msg_new(&opentelemetry__proto__metrics__v1__exemplar__descriptor);
    e->as_double = value;
    e->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
    return e;
}

static number_point *point_double(double value)
{
    number_point *dp = msg_new(&opentelemetry__proto__metrics__v1__number_data_point__descriptor);
    dp->as_double = value;
    dp->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    dp->start_time_unix_nano = 1;
    dp->time_unix_nano = 1700000000000000000ULL;
    return dp;
}

static metric *metric_named(const char *name, const char *unit)
{
    metric *m = msg_new(&opentelemetry__proto__metrics__v1__metric__descriptor);
    m->name = str(name);
    m->unit = str(unit);
    return m;
}

static struct payload *rich_metrics(void)
{
    struct payload *p = payload_new(SIGNAL_METRICS);
    assert_non_null(p);
    resource_metrics *rm =
        msg_new(&opentelemetry__proto__metrics__v1__resource_metrics__descriptor);
    p->metrics->resource_metrics = array_of(1, sizeof(rm));
    p->metrics->resource_metrics[0] = rm;
    p->metrics->n_resource_metrics = 1;
    rm->resource = rich_resource();
    rm->schema_url = str("https://opentelemetry.io/schemas/1.26.0");
    scope_metrics *sm = msg_new(&opentelemetry__proto__metrics__v1__scope_metrics__descriptor);
    rm->scope_metrics = array_of(1, sizeof(sm));
    rm->scope_metrics[0] = sm;
    rm->n_scope_metrics = 1;
    sm->scope = rich_scope();
    sm->metrics = array_of(5, sizeof(metric *));
    sm->n_metrics = 5;

    /* gauge: an int point with exemplars, a NaN point, flags */
    metric *gauge = metric_named("queue.size", "{items}");
    gauge->description = str("items waiting");
    gauge->gauge = msg_new(&opentelemetry__proto__metrics__v1__gauge__descriptor);
    gauge->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    number_point *ip = msg_new(&opentelemetry__proto__metrics__v1__number_data_point__descriptor);
    rich_attrs(&ip->attributes, &ip->n_attributes);
    ip->time_unix_nano = 1700000000000000000ULL;
    ip->as_int = -42;
    ip->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    ip->exemplars = array_of(2, sizeof(exemplar *));
    ip->exemplars[0] = exemplar_int(INT64_MAX);
    ip->exemplars[1] = exemplar_double(0.25);
    ip->n_exemplars = 2;
    ip->flags = 1;
    number_point *nan_point = point_double(NAN);
    number_point *zero_int =
        msg_new(&opentelemetry__proto__metrics__v1__number_data_point__descriptor);
    zero_int->as_int = 0; /* present although zero */
    zero_int->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    gauge->gauge->data_points = array_of(3, sizeof(number_point *));
    gauge->gauge->data_points[0] = ip;
    gauge->gauge->data_points[1] = nan_point;
    gauge->gauge->data_points[2] = zero_int;
    gauge->gauge->n_data_points = 3;
    set_attrs(&gauge->metadata, &gauge->n_metadata, kv("prometheus.type", any_string("gauge")),
              NULL);
    sm->metrics[0] = gauge;

    /* sum */
    metric *sum = metric_named("requests", "1");
    sum->sum = msg_new(&opentelemetry__proto__metrics__v1__sum__descriptor);
    sum->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
    sum->sum->aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    sum->sum->is_monotonic = 1;
    sum->sum->data_points = array_of(2, sizeof(number_point *));
    sum->sum->data_points[0] = point_double(-INFINITY);
    sum->sum->data_points[1] = point_double(123456789.125);
    sum->sum->n_data_points = 2;
    sm->metrics[1] = sum;

    /* histogram: sum present and zero, min/max, buckets */
    metric *hist = metric_named("latency", "s");
    hist->histogram = msg_new(&opentelemetry__proto__metrics__v1__histogram__descriptor);
    hist->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
    hist->histogram->aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA;
    histogram_point *hp =
        msg_new(&opentelemetry__proto__metrics__v1__histogram_data_point__descriptor);
    hp->start_time_unix_nano = 5;
    hp->time_unix_nano = 6;
    hp->count = 3;
    hp->sum = 0;
    hp->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM;
    hp->bucket_counts = array_of(3, sizeof(uint64_t));
    hp->bucket_counts[0] = 1;
    hp->bucket_counts[1] = 0;
    hp->bucket_counts[2] = UINT64_MAX;
    hp->n_bucket_counts = 3;
    hp->explicit_bounds = array_of(2, sizeof(double));
    hp->explicit_bounds[0] = 0.005;
    hp->explicit_bounds[1] = 1e21;
    hp->n_explicit_bounds = 2;
    hp->exemplars = array_of(1, sizeof(exemplar *));
    hp->exemplars[0] = exemplar_double(0.003);
    hp->n_exemplars = 1;
    hp->min = -1e-7;
    hp->_min_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___MIN_MIN;
    hp->max = 2;
    hp->_max_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___MAX_MAX;
    histogram_point *bare =
        msg_new(&opentelemetry__proto__metrics__v1__histogram_data_point__descriptor);
    hist->histogram->data_points = array_of(2, sizeof(histogram_point *));
    hist->histogram->data_points[0] = hp;
    hist->histogram->data_points[1] = bare;
    hist->histogram->n_data_points = 2;
    sm->metrics[2] = hist;

    /* exponential histogram */
    metric *exp = metric_named("sizes", "By");
    exp->exponential_histogram =
        msg_new(&opentelemetry__proto__metrics__v1__exponential_histogram__descriptor);
    exp->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
    exp->exponential_histogram->aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    exp_point *ep =
        msg_new(&opentelemetry__proto__metrics__v1__exponential_histogram_data_point__descriptor);
    ep->count = 10;
    ep->scale = -3;
    ep->zero_count = 2;
    ep->positive = msg_new(
        &opentelemetry__proto__metrics__v1__exponential_histogram_data_point__buckets__descriptor);
    ep->positive->offset = -2;
    ep->positive->bucket_counts = array_of(2, sizeof(uint64_t));
    ep->positive->bucket_counts[0] = 3;
    ep->positive->bucket_counts[1] = 5;
    ep->positive->n_bucket_counts = 2;
    ep->negative = msg_new(
        &opentelemetry__proto__metrics__v1__exponential_histogram_data_point__buckets__descriptor);
    ep->flags = 1;
    ep->min = 0.5;
    ep->_min_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___MIN_MIN;
    ep->max = 100;
    ep->_max_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___MAX_MAX;
    ep->zero_threshold = 1e-9;
    exp->exponential_histogram->data_points = array_of(1, sizeof(exp_point *));
    exp->exponential_histogram->data_points[0] = ep;
    exp->exponential_histogram->n_data_points = 1;
    sm->metrics[3] = exp;

    /* summary */
    metric *summary = metric_named("rpc.duration", "ms");
    summary->summary = msg_new(&opentelemetry__proto__metrics__v1__summary__descriptor);
    summary->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY;
    summary_point *sp = msg_new(&opentelemetry__proto__metrics__v1__summary_data_point__descriptor);
    sp->count = 4;
    sp->sum = 10.5;
    sp->quantile_values = array_of(2, sizeof(void *));
    for (int i = 0; i < 2; i++) {
        Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile *q = msg_new(
            &opentelemetry__proto__metrics__v1__summary_data_point__value_at_quantile__descriptor);
        q->quantile = i ? 0.99 : 0;
        q->value = i ? 9.5 : 0.1;
        sp->quantile_values[i] = q;
    }
    sp->n_quantile_values = 2;
    summary->summary->data_points = array_of(1, sizeof(summary_point *));
    summary->summary->data_points[0] = sp;
    summary->summary->n_data_points = 1;
    sm->metrics[4] = summary;
    return p;
}

static struct payload *rich_logs(void)
{
    struct payload *p = payload_new(SIGNAL_LOGS);
    assert_non_null(p);
    resource_logs *rl = msg_new(&opentelemetry__proto__logs__v1__resource_logs__descriptor);
    p->logs->resource_logs = array_of(1, sizeof(rl));
    p->logs->resource_logs[0] = rl;
    p->logs->n_resource_logs = 1;
    rl->resource = rich_resource();
    scope_logs *sl = msg_new(&opentelemetry__proto__logs__v1__scope_logs__descriptor);
    rl->scope_logs = array_of(1, sizeof(sl));
    rl->scope_logs[0] = sl;
    rl->n_scope_logs = 1;
    sl->scope = rich_scope();
    sl->schema_url = str("https://example.com/logs");
    log_record *lr = msg_new(&opentelemetry__proto__logs__v1__log_record__descriptor);
    lr->time_unix_nano = 1700000000000000000ULL;
    lr->observed_time_unix_nano = 1700000000000000999ULL;
    lr->severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_WARN;
    lr->severity_text = str("WARN");
    lr->body = any_kvlist(kv("msg", any_string("disk full")), kv("code", any_int(28)));
    rich_attrs(&lr->attributes, &lr->n_attributes);
    lr->dropped_attributes_count = 1;
    lr->flags = 1;
    lr->trace_id = bytes(trace_id_bytes, 16);
    lr->span_id = bytes(span_id_bytes, 8);
    lr->event_name = str("device.app.lifecycle");
    log_record *plain = msg_new(&opentelemetry__proto__logs__v1__log_record__descriptor);
    plain->body = any_string("GET / 200");
    sl->log_records = array_of(2, sizeof(lr));
    sl->log_records[0] = lr;
    sl->log_records[1] = plain;
    sl->n_log_records = 2;
    return p;
}

/* ---- helpers ---- */

static uint8_t *packed(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    assert_non_null(buf);
    protobuf_c_message_pack(m, buf);
    return buf;
}

static void assert_same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t alen, blen;
    uint8_t *abuf = packed(a, &alen);
    uint8_t *bbuf = packed(b, &blen);
    assert_int_equal(alen, blen);
    assert_memory_equal(abuf, bbuf, alen);
    free(abuf);
    free(bbuf);
}

static const ProtobufCMessageDescriptor *traces_desc =
    &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor;

/* Decodes `text` as a traces request; the test fails unless it decodes. */
static ProtobufCMessage *decode_traces(const char *text)
{
    ProtobufCMessage *m = NULL;
    struct error err = {0};
    int rc = otlp_json_decode(text, strlen(text), traces_desc, &m, &err);
    if (rc != 0)
        fail_msg("decode failed: %s", err.message);
    return m;
}

static void free_message(ProtobufCMessage *m)
{
    protobuf_c_message_free_unpacked(m, pdata_allocator());
}

/* Expects decoding to fail with -EINVAL and a message containing `expected`. */
static void assert_decode_error(const char *text, const char *expected)
{
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    struct error err = {0};
    size_t base = pdata_bytes_current();
    assert_int_equal(otlp_json_decode(text, strlen(text), traces_desc, &m, &err), -EINVAL);
    assert_null(m);
    assert_int_equal(err.kind, ERROR_PERMANENT);
    if (!strstr(err.message, expected))
        fail_msg("error \"%s\" does not contain \"%s\"", err.message, expected);
    assert_int_equal(pdata_bytes_current(), base);
}

static void round_trip(struct payload *p)
{
    size_t len;
    char *text = otlp_json_encode_text(p->message, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    struct payload *back = NULL;
    struct error err = {0};
    int rc = otlp_json_decode_payload(p->signal, text, len, &back, &err);
    if (rc != 0)
        fail_msg("decode failed: %s\n%s", err.message, text);
    assert_int_equal(back->signal, p->signal);
    assert_same_message(p->message, back->message);
    /* And the JSON of the copy is the same JSON. */
    char *again = otlp_json_encode_text(back->message, NULL);
    assert_string_equal(again, text);
    free(again);
    free(text);
    payload_free(back);
    payload_free(p);
}

/* ---- output shape ---- */

static void test_encode_small_span_exactly_as_upstream(void **state)
{
    (void)state;
    /* pdata/ptrace/json_test.go's tracesOTLP; current pdata leaves empty ids out. */
    struct payload *p = payload_new(SIGNAL_TRACES);
    resource_spans *rs = msg_new(&opentelemetry__proto__trace__v1__resource_spans__descriptor);
    p->traces->resource_spans = array_of(1, sizeof(rs));
    p->traces->resource_spans[0] = rs;
    p->traces->n_resource_spans = 1;
    rs->resource = msg_new(&opentelemetry__proto__resource__v1__resource__descriptor);
    set_attrs(&rs->resource->attributes, &rs->resource->n_attributes,
              kv("host.name", any_string("testHost")), NULL);
    scope_spans *ss = msg_new(&opentelemetry__proto__trace__v1__scope_spans__descriptor);
    rs->scope_spans = array_of(1, sizeof(ss));
    rs->scope_spans[0] = ss;
    rs->n_scope_spans = 1;
    ss->scope = msg_new(&opentelemetry__proto__common__v1__instrumentation_scope__descriptor);
    ss->scope->name = str("name");
    ss->scope->version = str("version");
    span *sp = msg_new(&opentelemetry__proto__trace__v1__span__descriptor);
    sp->name = str("testSpan");
    ss->spans = array_of(1, sizeof(sp));
    ss->spans[0] = sp;
    ss->n_spans = 1;
    char *text = otlp_json_encode_text(p->message, NULL);
    assert_string_equal(
        text, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"host.name\",\"value\":"
              "{\"stringValue\":\"testHost\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"name\","
              "\"version\":\"version\"},\"spans\":[{\"name\":\"testSpan\",\"status\":{}}]}]}]}");
    free(text);
    payload_free(p);
}

static void test_encode_full_span_in_declaration_order(void **state)
{
    (void)state;
    span *sp = msg_new(&opentelemetry__proto__trace__v1__span__descriptor);
    sp->trace_id = bytes(trace_id_bytes, 16);
    sp->span_id = bytes(span_id_bytes, 8);
    sp->trace_state = str("state");
    sp->parent_span_id = bytes(span_id_bytes, 8);
    sp->flags = 1;
    sp->name = str("testSpan");
    sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
    sp->start_time_unix_nano = 1684617382541971000ULL;
    sp->end_time_unix_nano = 1684617382541971001ULL;
    set_attrs(&sp->attributes, &sp->n_attributes, kv("int", any_int(1)),
              kv("double", any_double(1.1)), kv("bool", any_bool(1)),
              kv("bytes", any_bytes((const uint8_t *)"foo", 3)), NULL);
    sp->dropped_attributes_count = 1;
    span_event *ev = msg_new(&opentelemetry__proto__trace__v1__span__event__descriptor);
    ev->time_unix_nano = 5;
    ev->name = str("eventName");
    sp->events = array_of(1, sizeof(ev));
    sp->events[0] = ev;
    sp->n_events = 1;
    span_link *link = msg_new(&opentelemetry__proto__trace__v1__span__link__descriptor);
    link->trace_id = bytes(trace_id_bytes, 16);
    link->span_id = bytes(span_id_bytes, 8);
    link->flags = 256;
    sp->links = array_of(1, sizeof(link));
    sp->links[0] = link;
    sp->n_links = 1;
    sp->dropped_links_count = 1;
    sp->status = msg_new(&opentelemetry__proto__trace__v1__status__descriptor);
    sp->status->message = str("message");
    sp->status->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK;
    char *text = otlp_json_encode_text(&sp->base, NULL);
    assert_string_equal(
        text,
        "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\","
        "\"traceState\":\"state\",\"parentSpanId\":\"1112131415161718\",\"flags\":1,"
        "\"name\":\"testSpan\",\"kind\":3,\"startTimeUnixNano\":\"1684617382541971000\","
        "\"endTimeUnixNano\":\"1684617382541971001\",\"attributes\":[{\"key\":\"int\","
        "\"value\":{\"intValue\":\"1\"}},{\"key\":\"double\",\"value\":{\"doubleValue\":1.1}},"
        "{\"key\":\"bool\",\"value\":{\"boolValue\":true}},{\"key\":\"bytes\",\"value\":"
        "{\"bytesValue\":\"Zm9v\"}}],\"droppedAttributesCount\":1,\"events\":[{"
        "\"timeUnixNano\":\"5\",\"name\":\"eventName\"}],\"links\":[{\"traceId\":"
        "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\",\"flags\":256}],"
        "\"droppedLinksCount\":1,\"status\":{\"message\":\"message\",\"code\":1}}");
    free(text);
    free_message(&sp->base);
}

static void test_encode_metric_oneofs_where_the_proto_declares_them(void **state)
{
    (void)state;
    metric *m = metric_named("m", "");
    m->gauge = msg_new(&opentelemetry__proto__metrics__v1__gauge__descriptor);
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    number_point *dp = point_double(1.5);
    set_attrs(&dp->attributes, &dp->n_attributes, kv("a", any_string("b")), NULL);
    dp->exemplars = array_of(1, sizeof(exemplar *));
    dp->exemplars[0] = exemplar_int(2);
    dp->n_exemplars = 1;
    dp->flags = 1;
    m->gauge->data_points = array_of(1, sizeof(dp));
    m->gauge->data_points[0] = dp;
    m->gauge->n_data_points = 1;
    set_attrs(&m->metadata, &m->n_metadata, kv("k", any_string("v")), NULL);
    char *text = otlp_json_encode_text(&m->base, NULL);
    assert_string_equal(
        text,
        "{\"name\":\"m\",\"gauge\":{\"dataPoints\":[{\"attributes\":[{\"key\":\"a\",\"value\":"
        "{\"stringValue\":\"b\"}}],\"startTimeUnixNano\":\"1\",\"timeUnixNano\":"
        "\"1700000000000000000\",\"asDouble\":1.5,\"exemplars\":[{\"filteredAttributes\":[{"
        "\"key\":\"user\",\"value\":{\"stringValue\":\"u1\"}}],\"timeUnixNano\":"
        "\"1700000000000000001\",\"asInt\":\"2\",\"spanId\":\"1112131415161718\",\"traceId\":"
        "\"0102030405060708090a0b0c0d0e0f10\"}],\"flags\":1}]},\"metadata\":[{\"key\":\"k\","
        "\"value\":{\"stringValue\":\"v\"}}]}");
    free(text);
    free_message(&m->base);
}

static void test_encode_optional_fields_only_when_present(void **state)
{
    (void)state;
    histogram_point *hp =
        msg_new(&opentelemetry__proto__metrics__v1__histogram_data_point__descriptor);
    hp->count = 2;
    hp->sum = 0;
    hp->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM;
    hp->bucket_counts = array_of(2, sizeof(uint64_t));
    hp->bucket_counts[0] = 1;
    hp->bucket_counts[1] = 1;
    hp->n_bucket_counts = 2;
    hp->explicit_bounds = array_of(1, sizeof(double));
    hp->explicit_bounds[0] = 1;
    hp->n_explicit_bounds = 1;
    hp->max = 2; /* value set but not present: not written */
    char *text = otlp_json_encode_text(&hp->base, NULL);
    assert_string_equal(text, "{\"count\":\"2\",\"sum\":0,\"bucketCounts\":[\"1\",\"1\"],"
                              "\"explicitBounds\":[1]}");
    free(text);
    free_message(&hp->base);

    exp_point *ep =
        msg_new(&opentelemetry__proto__metrics__v1__exponential_histogram_data_point__descriptor);
    ep->scale = -1;
    ep->min = 0;
    ep->_min_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___MIN_MIN;
    ep->zero_threshold = 0.5;
    text = otlp_json_encode_text(&ep->base, NULL);
    assert_string_equal(text, "{\"scale\":-1,\"positive\":{},\"negative\":{},\"min\":0,"
                              "\"zeroThreshold\":0.5}");
    free(text);
    free_message(&ep->base);
}

static void test_encode_log_record_always_writes_body(void **state)
{
    (void)state;
    log_record *lr = msg_new(&opentelemetry__proto__logs__v1__log_record__descriptor);
    lr->observed_time_unix_nano = 7;
    lr->time_unix_nano = 6;
    lr->severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_INFO;
    lr->span_id = bytes(span_id_bytes, 8);
    lr->event_name = str("ev");
    char *text = otlp_json_encode_text(&lr->base, NULL);
    assert_string_equal(text, "{\"timeUnixNano\":\"6\",\"observedTimeUnixNano\":\"7\","
                              "\"severityNumber\":9,\"body\":{},\"spanId\":\"1112131415161718\","
                              "\"eventName\":\"ev\"}");
    free(text);
    free_message(&lr->base);
}

static void test_encode_empty_response_has_partial_success(void **state)
{
    (void)state;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *resp = msg_new(
        &opentelemetry__proto__collector__trace__v1__export_trace_service_response__descriptor);
    char *text = otlp_json_encode_text(&resp->base, NULL);
    assert_string_equal(text, "{\"partialSuccess\":{}}");
    free(text);
    free_message(&resp->base);
}

static void test_encode_rpc_status(void **state)
{
    (void)state;
    Google__Rpc__Status *st = msg_new(&google__rpc__status__descriptor);
    st->code = 14;
    st->message = str("data refused due to high memory usage");
    char *text = otlp_json_encode_text(&st->base, NULL);
    assert_string_equal(text,
                        "{\"code\":14,\"message\":\"data refused due to high memory usage\"}");
    free(text);
    ProtobufCMessage *back = NULL;
    const char *status = "{\"code\":3,\"message\":\"bad\"}";
    assert_int_equal(
        otlp_json_decode(status, strlen(status), &google__rpc__status__descriptor, &back, NULL), 0);
    assert_int_equal(((Google__Rpc__Status *)back)->code, 3);
    assert_string_equal(((Google__Rpc__Status *)back)->message, "bad");
    free_message(back);
    free_message(&st->base);
}

static void test_encode_doubles_in_go_number_format(void **state)
{
    (void)state;
    static const struct {
        double value;
        const char *text;
    } cases[] = {
        {1.1, "1.1"},
        {5, "5"},
        {-2.5, "-2.5"},
        {1e21, "1e+21"},
        {1e20, "100000000000000000000"},
        {1e-7, "1e-7"},
        {0.000001, "0.000001"},
        {-2.5e-10, "-2.5e-10"},
        {123456789.125, "123456789.125"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {5e-324, "5e-324"},
        {NAN, "\"NaN\""},
        {INFINITY, "\"+Inf\""},
        {-INFINITY, "\"-Inf\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        otlp_anyvalue *v = any_double(cases[i].value);
        char *text = otlp_json_encode_text(&v->base, NULL);
        char expected[128];
        snprintf(expected, sizeof(expected), "{\"doubleValue\":%s}", cases[i].text);
        assert_string_equal(text, expected);
        free(text);
        free_message(&v->base);
    }
}

static void test_encode_escapes_strings_as_jsoniter(void **state)
{
    (void)state;
    otlp_anyvalue *v = any_string("a\"b\\c\nd\re\tf\x01g\x1f/<>&\x7f é");
    char *text = otlp_json_encode_text(&v->base, NULL);
    assert_string_equal(text,
                        "{\"stringValue\":\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001f/<>&\x7f é\"}");
    free(text);
    free_message(&v->base);
}

static void test_encode_replaces_invalid_utf8(void **state)
{
    (void)state;
    otlp_anyvalue *v = any_string("ok\xff\xc3(");
    char *text = otlp_json_encode_text(&v->base, NULL);
    assert_string_equal(text, "{\"stringValue\":\"ok\xef\xbf\xbd\xef\xbf\xbd(\"}");
    free(text);
    free_message(&v->base);
}

/* ---- round trips ---- */

static void test_round_trip_rich_traces_request(void **state)
{
    (void)state;
    round_trip(rich_traces());
}

static void test_round_trip_rich_metrics_request(void **state)
{
    (void)state;
    round_trip(rich_metrics());
}

static void test_round_trip_rich_logs_request(void **state)
{
    (void)state;
    round_trip(rich_logs());
}

/* ---- decoding leniencies ---- */

static void test_decode_accepts_snake_case_keys(void **state)
{
    (void)state;
    ProtobufCMessage *camel = decode_traces(
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
        "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\",\"parentSpanId\":"
        "\"1112131415161718\",\"startTimeUnixNano\":\"1\",\"droppedAttributesCount\":2,"
        "\"traceState\":\"t\",\"name\":\"s\"}],\"schemaUrl\":\"u\"}],\"schemaUrl\":\"r\"}]}");
    ProtobufCMessage *snake = decode_traces(
        "{\"resource_spans\":[{\"scope_spans\":[{\"spans\":[{\"trace_id\":"
        "\"0102030405060708090a0b0c0d0e0f10\",\"span_id\":\"1112131415161718\",\"parent_span_id\":"
        "\"1112131415161718\",\"start_time_unix_nano\":\"1\",\"dropped_attributes_count\":2,"
        "\"trace_state\":\"t\",\"name\":\"s\"}],\"schema_url\":\"u\"}],\"schema_url\":\"r\"}]}");
    assert_same_message(camel, snake);
    otlp_traces_req *req = (otlp_traces_req *)snake;
    span *sp = req->resource_spans[0]->scope_spans[0]->spans[0];
    assert_int_equal(sp->start_time_unix_nano, 1);
    assert_int_equal(sp->dropped_attributes_count, 2);
    assert_string_equal(req->resource_spans[0]->schema_url, "r");
    free_message(camel);
    free_message(snake);
}

static void test_decode_accepts_enum_names_and_integers(void **state)
{
    (void)state;
    ProtobufCMessage *m = decode_traces(
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":\"SPAN_KIND_SERVER\","
        "\"status\":{\"code\":\"STATUS_CODE_ERROR\"}},{\"kind\":4,\"status\":{\"code\":1}}]}]}]}");
    scope_spans *ss = ((otlp_traces_req *)m)->resource_spans[0]->scope_spans[0];
    assert_int_equal(ss->spans[0]->kind,
                     OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
    assert_int_equal(ss->spans[0]->status->code,
                     OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
    assert_int_equal(ss->spans[1]->kind, 4);
    assert_int_equal(ss->spans[1]->status->code, 1);
    free_message(m);

    struct payload *p = NULL;
    const char *logs = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityNumber\":"
                       "\"SEVERITY_NUMBER_WARN\"}]}]}]}";
    assert_int_equal(otlp_json_decode_payload(SIGNAL_LOGS, logs, strlen(logs), &p, NULL), 0);
    assert_int_equal(p->logs->resource_logs[0]->scope_logs[0]->log_records[0]->severity_number, 13);
    payload_free(p);
}

static void test_decode_rejects_unknown_enum_name_with_path(void **state)
{
    (void)state;
    assert_decode_error("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":"
                        "\"SPAN_KIND_BOGUS\"}]}]}]}",
                        "resourceSpans[0].scopeSpans[0].spans[0].kind: unknown enum value "
                        "\"SPAN_KIND_BOGUS\"");
    /* A number in a string is not a name (upstream looks names up only). */
    assert_decode_error("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"status\":{\"code\":"
                        "\"2\"}}]}]}]}",
                        "status.code: unknown enum value");
}

static void test_decode_accepts_64_bit_integers_as_numbers_or_strings(void **state)
{
    (void)state;
    const char *text =
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"sum\":{\"dataPoints\":["
        "{\"timeUnixNano\":1700000000000000000,\"asInt\":\"-42\"},"
        "{\"timeUnixNano\":\"1700000000000000000\",\"asInt\":-42},"
        "{\"timeUnixNano\":\"18446744073709551615\",\"asDouble\":\"2.5\",\"flags\":\"1\"}]}},"
        "{\"histogram\":{\"dataPoints\":[{\"count\":3,\"bucketCounts\":[\"1\",2],"
        "\"explicitBounds\":[1,\"2.5\"]}]}}]}]}]}";
    struct payload *p = NULL;
    struct error err = {0};
    int rc = otlp_json_decode_payload(SIGNAL_METRICS, text, strlen(text), &p, &err);
    if (rc)
        fail_msg("%s", err.message);
    metric **metrics = p->metrics->resource_metrics[0]->scope_metrics[0]->metrics;
    number_point **dps = metrics[0]->sum->data_points;
    assert_int_equal(dps[0]->time_unix_nano, 1700000000000000000ULL);
    assert_int_equal(dps[0]->as_int, -42);
    assert_int_equal(dps[1]->time_unix_nano, 1700000000000000000ULL);
    assert_int_equal(dps[1]->as_int, -42);
    assert_true(dps[2]->time_unix_nano == UINT64_MAX);
    assert_true(dps[2]->as_double == 2.5);
    assert_int_equal(dps[2]->flags, 1);
    histogram_point *hp = metrics[1]->histogram->data_points[0];
    assert_int_equal(hp->count, 3);
    assert_int_equal(hp->bucket_counts[0], 1);
    assert_int_equal(hp->bucket_counts[1], 2);
    assert_true(hp->explicit_bounds[1] == 2.5);
    assert_int_equal(payload_item_count(p), 4);
    payload_free(p);
}

static void test_decode_rejects_bad_integers(void **state)
{
    (void)state;
    assert_decode_error("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":"
                        "\"-1\"}]}]}]}",
                        "startTimeUnixNano: invalid integer");
    assert_decode_error("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":"
                        "1.5}]}]}]}",
                        "startTimeUnixNano: expected an integer");
    assert_decode_error("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{"
                        "\"droppedAttributesCount\":4294967296}]}]}]}",
                        "droppedAttributesCount: integer out of range");
    assert_decode_error("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"flags\":\" 1\"}]}]}]}",
                        "flags: invalid integer");
}

static void test_decode_accepts_nan_and_infinity_strings(void **state)
{
    (void)state;
    const char *text =
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"gauge\":{\"dataPoints\":["
        "{\"asDouble\":\"NaN\"},{\"asDouble\":\"Infinity\"},{\"asDouble\":\"-Infinity\"},"
        "{\"asDouble\":\"+Inf\"},{\"asDouble\":\"-Inf\"},{\"asDouble\":-0.5}]}}]}]}]}";
    struct payload *p = NULL;
    assert_int_equal(otlp_json_decode_payload(SIGNAL_METRICS, text, strlen(text), &p, NULL), 0);
    number_point **dps =
        p->metrics->resource_metrics[0]->scope_metrics[0]->metrics[0]->gauge->data_points;
    assert_true(isnan(dps[0]->as_double));
    assert_true(isinf(dps[1]->as_double) && dps[1]->as_double > 0);
    assert_true(isinf(dps[2]->as_double) && dps[2]->as_double < 0);
    assert_true(isinf(dps[3]->as_double) && dps[3]->as_double > 0);
    assert_true(isinf(dps[4]->as_double) && dps[4]->as_double < 0);
    assert_true(dps[5]->as_double == -0.5);
    payload_free(p);
}

static void test_encode_writes_nan_and_infinity_as_upstream(void **state)
{
    (void)state;
    /* pdata's WriteFloat64 formats non-finite values with Go's "%f": NaN, +Inf, -Inf. */
    const char *text = "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"gauge\":{"
                       "\"dataPoints\":[{\"asDouble\":\"NaN\"},{\"asDouble\":\"Infinity\"},"
                       "{\"asDouble\":\"-Infinity\"}]}}]}]}]}";
    struct payload *p = NULL;
    assert_int_equal(otlp_json_decode_payload(SIGNAL_METRICS, text, strlen(text), &p, NULL), 0);
    char *out = otlp_json_encode_text(p->message, NULL);
    assert_string_equal(out, "{\"resourceMetrics\":[{\"resource\":{},\"scopeMetrics\":[{"
                             "\"scope\":{},\"metrics\":[{\"gauge\":{\"dataPoints\":[{"
                             "\"asDouble\":\"NaN\"},{\"asDouble\":\"+Inf\"},{\"asDouble\":"
                             "\"-Inf\"}]}}]}]}]}");
    free(out);
    payload_free(p);
}

static void test_decode_rejects_bad_double_strings(void **state)
{
    (void)state;
    assert_decode_error(
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"d\","
        "\"value\":{\"doubleValue\":\"nope\"}}]}}]}",
        "resourceSpans[0].resource.attributes[0].value.doubleValue: invalid number");
    assert_decode_error("{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"d\","
                        "\"value\":{\"doubleValue\":\"1e999\"}}]}}]}",
                        "doubleValue: invalid number");
}

static void test_decode_rejects_trace_id_of_wrong_length_with_path(void **state)
{
    (void)state;
    assert_decode_error("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"ok\"},"
                        "{\"traceId\":\"0102030405060708090a0b0c0d0e0f\"}]}]}]}",
                        "resourceSpans[0].scopeSpans[0].spans[1].traceId: length mismatch");
    assert_decode_error("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"spanId\":"
                        "\"0102030405060708090a0b0c0d0e0f10\"}]}]}]}",
                        "spans[0].spanId: length mismatch");
}

static void test_decode_rejects_bad_hex_in_ids(void **state)
{
    (void)state;
    assert_decode_error("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
                        "\"zz02030405060708090a0b0c0d0e0f10\"}]}]}]}",
                        "spans[0].traceId: invalid hex");
    assert_decode_error("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"links\":[{\"spanId\":"
                        "\"11121314151617-8\"}]}]}]}]}",
                        "spans[0].links[0].spanId: invalid hex");
}

static void test_decode_accepts_upper_case_hex_and_empty_ids(void **state)
{
    (void)state;
    ProtobufCMessage *m =
        decode_traces("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
                      "\"0102030405060708090A0B0C0D0E0F10\",\"spanId\":\"1112131415161718\","
                      "\"parentSpanId\":\"\"}]}]}]}");
    span *sp = ((otlp_traces_req *)m)->resource_spans[0]->scope_spans[0]->spans[0];
    assert_int_equal(sp->trace_id.len, 16);
    assert_memory_equal(sp->trace_id.data, trace_id_bytes, 16);
    assert_int_equal(sp->parent_span_id.len, 0);
    char *text = otlp_json_encode_text(m, NULL);
    assert_non_null(strstr(text, "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\""));
    assert_null(strstr(text, "parentSpanId"));
    free(text);
    free_message(m);
}

static void test_decode_skips_unknown_keys(void **state)
{
    (void)state;
    ProtobufCMessage *m =
        decode_traces("{\"extra\":\"\",\"resourceSpans\":[{\"unknown\":{\"a\":[1,{\"b\":null}]},"
                      "\"scopeSpans\":[{\"spans\":[{\"name\":\"s\",\"TraceId\":\"not a field\","
                      "\"status\":{\"extra\":1}}]}]}]}");
    span *sp = ((otlp_traces_req *)m)->resource_spans[0]->scope_spans[0]->spans[0];
    assert_string_equal(sp->name, "s");
    assert_int_equal(sp->trace_id.len, 0);
    free_message(m);
}

static void test_decode_treats_null_as_absent(void **state)
{
    (void)state;
    ProtobufCMessage *m = decode_traces(
        "{\"resourceSpans\":[{\"resource\":null,\"schemaUrl\":null,\"scopeSpans\":[{\"spans\":"
        "null}]}]}");
    resource_spans *rs = ((otlp_traces_req *)m)->resource_spans[0];
    assert_null(rs->resource);
    assert_string_equal(rs->schema_url, "");
    assert_int_equal(rs->scope_spans[0]->n_spans, 0);
    free_message(m);

    ProtobufCMessage *empty = NULL;
    assert_int_equal(otlp_json_decode("null", 4, traces_desc, &empty, NULL), 0);
    assert_int_equal(((otlp_traces_req *)empty)->n_resource_spans, 0);
    free_message(empty);
}

static void test_decode_bytes_value_is_base64(void **state)
{
    (void)state;
    ProtobufCMessage *m =
        decode_traces("{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"b\",\"value\":"
                      "{\"bytesValue\":\"AAEC/"
                      "w==\"}},{\"key\":\"c\",\"value\":{\"bytesValue\":\"Zm9vYg==\"}}]}}]}");
    otlp_resource *r = ((otlp_traces_req *)m)->resource_spans[0]->resource;
    ProtobufCBinaryData b = r->attributes[0]->value->bytes_value;
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "\x00\x01\x02\xff", 4);
    assert_int_equal(r->attributes[1]->value->bytes_value.len, 4);
    free_message(m);
    assert_decode_error("{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"b\","
                        "\"value\":{\"bytesValue\":\"abc\"}}]}}]}",
                        "attributes[0].value.bytesValue: invalid base64");
}

static void test_decode_last_of_repeated_keys_wins_without_leaks(void **state)
{
    (void)state;
    ProtobufCMessage *m = decode_traces(
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":"
        "{\"stringValue\":\"x\",\"intValue\":\"5\"}}]},\"scopeSpans\":[{\"spans\":[{"
        "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"trace_id\":"
        "\"1102030405060708090a0b0c0d0e0f10\",\"name\":\"a\"}],\"scope_spans\":[]}]}]}");
    resource_spans *rs = ((otlp_traces_req *)m)->resource_spans[0];
    otlp_anyvalue *v = rs->resource->attributes[0]->value;
    assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
    assert_int_equal(v->int_value, 5);
    assert_int_equal(rs->scope_spans[0]->spans[0]->trace_id.data[0], 0x11);
    free_message(m);
}

static void test_decode_rejects_wrong_json_types_with_path(void **state)
{
    (void)state;
    assert_decode_error("{\"resourceSpans\":{}}", "resourceSpans: expected an array");
    assert_decode_error("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":5}]}]}]}",
                        "resourceSpans[0].scopeSpans[0].spans[0].name: expected a string");
    assert_decode_error("{\"resourceSpans\":[7]}", "resourceSpans[0]: expected an object");
    assert_decode_error("[1]", "expected a JSON object");
    assert_decode_error("{\"resourceSpans\":[", "invalid JSON");
}

static void test_decode_rejects_nesting_too_deep(void **state)
{
    (void)state;
    char text[8192] = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":";
    for (int i = 0; i < 150; i++)
        strcat(text, "{\"arrayValue\":{\"values\":[");
    strcat(text, "{}");
    for (int i = 0; i < 150; i++)
        strcat(text, "]}}");
    strcat(text, "}]}]}]}");
    struct payload *p = NULL;
    struct error err = {0};
    assert_int_equal(otlp_json_decode_payload(SIGNAL_LOGS, text, strlen(text), &p, &err), -EINVAL);
    assert_null(p);
    assert_non_null(strstr(err.message, "nested too deeply"));
}

static void test_decode_fails_cleanly_when_out_of_memory(void **state)
{
    (void)state;
    struct payload *rich = rich_traces();
    size_t len;
    char *text = otlp_json_encode_text(rich->message, &len);
    payload_free(rich);
    for (long n = 0;; n++) {
        size_t before = pdata_bytes_current();
        long start = pdata_allocations();
        struct payload *p = NULL;
        struct error err = {0};
        pdata_fail_after(n);
        int rc = otlp_json_decode_payload(SIGNAL_TRACES, text, len, &p, &err);
        long used = pdata_allocations() - start;
        pdata_fail_clear();
        if (used <= n) {
            assert_int_equal(rc, 0);
            payload_free(p);
            break;
        }
        assert_int_equal(rc, -ENOMEM);
        assert_null(p);
        assert_int_equal(pdata_bytes_current(), before);
    }
    free(text);
}

static void test_encode_returns_json_tree(void **state)
{
    (void)state;
    struct payload *p = rich_logs();
    json_t *root = otlp_json_encode(p->message);
    assert_non_null(root);
    json_t *rl = json_array_get(json_object_get(root, "resourceLogs"), 0);
    json_t *sl = json_array_get(json_object_get(rl, "scopeLogs"), 0);
    json_t *record = json_array_get(json_object_get(sl, "logRecords"), 0);
    assert_string_equal(json_string_value(json_object_get(record, "traceId")),
                        "0102030405060708090a0b0c0d0e0f10");
    assert_string_equal(json_string_value(json_object_get(record, "timeUnixNano")),
                        "1700000000000000000");
    assert_int_equal(json_integer_value(json_object_get(record, "severityNumber")), 13);
    assert_string_equal(json_string_value(json_object_get(record, "eventName")),
                        "device.app.lifecycle");
    json_decref(root);
    payload_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_small_span_exactly_as_upstream),
        cmocka_unit_test(test_encode_full_span_in_declaration_order),
        cmocka_unit_test(test_encode_metric_oneofs_where_the_proto_declares_them),
        cmocka_unit_test(test_encode_optional_fields_only_when_present),
        cmocka_unit_test(test_encode_log_record_always_writes_body),
        cmocka_unit_test(test_encode_empty_response_has_partial_success),
        cmocka_unit_test(test_encode_rpc_status),
        cmocka_unit_test(test_encode_doubles_in_go_number_format),
        cmocka_unit_test(test_encode_escapes_strings_as_jsoniter),
        cmocka_unit_test(test_encode_replaces_invalid_utf8),
        cmocka_unit_test(test_encode_returns_json_tree),
        cmocka_unit_test(test_round_trip_rich_traces_request),
        cmocka_unit_test(test_round_trip_rich_metrics_request),
        cmocka_unit_test(test_round_trip_rich_logs_request),
        cmocka_unit_test(test_decode_accepts_snake_case_keys),
        cmocka_unit_test(test_decode_accepts_enum_names_and_integers),
        cmocka_unit_test(test_decode_rejects_unknown_enum_name_with_path),
        cmocka_unit_test(test_decode_accepts_64_bit_integers_as_numbers_or_strings),
        cmocka_unit_test(test_decode_rejects_bad_integers),
        cmocka_unit_test(test_decode_accepts_nan_and_infinity_strings),
        cmocka_unit_test(test_encode_writes_nan_and_infinity_as_upstream),
        cmocka_unit_test(test_decode_rejects_bad_double_strings),
        cmocka_unit_test(test_decode_rejects_trace_id_of_wrong_length_with_path),
        cmocka_unit_test(test_decode_rejects_bad_hex_in_ids),
        cmocka_unit_test(test_decode_accepts_upper_case_hex_and_empty_ids),
        cmocka_unit_test(test_decode_skips_unknown_keys),
        cmocka_unit_test(test_decode_treats_null_as_absent),
        cmocka_unit_test(test_decode_bytes_value_is_base64),
        cmocka_unit_test(test_decode_last_of_repeated_keys_wins_without_leaks),
        cmocka_unit_test(test_decode_rejects_wrong_json_types_with_path),
        cmocka_unit_test(test_decode_rejects_nesting_too_deep),
        cmocka_unit_test(test_decode_fails_cleanly_when_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
