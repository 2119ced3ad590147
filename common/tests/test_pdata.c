/*
 * test_pdata.c - the counting allocator, payload life cycle, item counts, merge, split (as the
 * batch processor's split_traces.go / split_metrics.go cut), attributes, and that every
 * operation fails cleanly, leaking nothing and changing nothing, when an allocation fails.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pdata.h"

typedef Opentelemetry__Proto__Trace__V1__ResourceSpans resource_spans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans scope_spans;
typedef Opentelemetry__Proto__Trace__V1__Span span;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics resource_metrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics scope_metrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint number_point;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs resource_logs;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs scope_logs;
typedef Opentelemetry__Proto__Logs__V1__LogRecord log_record;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope scope;

/* ---- fixture builders (every block from the pdata allocator, like decoded trees) ---- */

static void *msg_new(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = pdata_alloc(desc->sizeof_message);
    assert_non_null(m);
    desc->message_init(m);
    return m;
}

static void *array_new(size_t n)
{
    if (n == 0)
        return NULL;
    void *a = pdata_calloc(n, sizeof(void *));
    assert_non_null(a);
    return a;
}

static char *str(const char *s)
{
    char *copy = pdata_strdup(s);
    assert_non_null(copy);
    return copy;
}

static otlp_resource *resource_named(const char *service)
{
    otlp_resource *r = msg_new(&opentelemetry__proto__resource__v1__resource__descriptor);
    assert_int_equal(
        pdata_attr_upsert_string(&r->attributes, &r->n_attributes, "service.name", service), 0);
    return r;
}

static scope *scope_named(const char *name)
{
    scope *s = msg_new(&opentelemetry__proto__common__v1__instrumentation_scope__descriptor);
    s->name = str(name);
    s->version = str("1.0");
    return s;
}

/* Resource r has n_scopes scopes with spans[i] spans each; span names count up over the whole
 * payload ("span0", "span1", ...), so order can be checked after a split. */
struct resource_spec {
    size_t n_scopes;
    size_t items[4];
};

static struct payload *traces_fixture(const struct resource_spec *spec, size_t n_resources)
{
    struct payload *p = payload_new(SIGNAL_TRACES);
    assert_non_null(p);
    otlp_traces_req *req = p->traces;
    req->resource_spans = array_new(n_resources);
    req->n_resource_spans = n_resources;
    size_t next = 0;
    char name[64];
    for (size_t r = 0; r < n_resources; r++) {
        resource_spans *rs = msg_new(&opentelemetry__proto__trace__v1__resource_spans__descriptor);
        req->resource_spans[r] = rs;
        snprintf(name, sizeof(name), "svc%zu", r);
        rs->resource = resource_named(name);
        snprintf(name, sizeof(name), "https://example.com/resource/%zu", r);
        rs->schema_url = str(name);
        rs->scope_spans = array_new(spec[r].n_scopes);
        rs->n_scope_spans = spec[r].n_scopes;
        for (size_t s = 0; s < spec[r].n_scopes; s++) {
            scope_spans *ss = msg_new(&opentelemetry__proto__trace__v1__scope_spans__descriptor);
            rs->scope_spans[s] = ss;
            snprintf(name, sizeof(name), "scope%zu.%zu", r, s);
            ss->scope = scope_named(name);
            ss->schema_url = str("https://example.com/scope");
            ss->spans = array_new(spec[r].items[s]);
            ss->n_spans = spec[r].items[s];
            for (size_t i = 0; i < spec[r].items[s]; i++) {
                span *sp = msg_new(&opentelemetry__proto__trace__v1__span__descriptor);
                snprintf(name, sizeof(name), "span%zu", next++);
                sp->name = str(name);
                sp->trace_id.data = pdata_calloc(1, 16);
                assert_non_null(sp->trace_id.data);
                sp->trace_id.len = 16;
                sp->trace_id.data[15] = 1;
                ss->spans[i] = sp;
            }
        }
    }
    return p;
}

/* Appends the numbers of the spans' names, in order, to out[*n]. */
static void collect_span_numbers(const struct payload *p, long *out, size_t *n)
{
    const otlp_traces_req *req = p->traces;
    for (size_t r = 0; r < req->n_resource_spans; r++)
        for (size_t s = 0; s < req->resource_spans[r]->n_scope_spans; s++) {
            const scope_spans *ss = req->resource_spans[r]->scope_spans[s];
            for (size_t i = 0; i < ss->n_spans; i++)
                out[(*n)++] = strtol(ss->spans[i]->name + 4, NULL, 10);
        }
}

static number_point *number_point_new(double value)
{
    number_point *dp = msg_new(&opentelemetry__proto__metrics__v1__number_data_point__descriptor);
    dp->as_double = value;
    dp->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    dp->time_unix_nano = 1000 + (uint64_t)value;
    return dp;
}

static metric *gauge_metric(const char *name, size_t points)
{
    metric *m = msg_new(&opentelemetry__proto__metrics__v1__metric__descriptor);
    m->name = str(name);
    m->gauge = msg_new(&opentelemetry__proto__metrics__v1__gauge__descriptor);
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    m->gauge->data_points = array_new(points);
    m->gauge->n_data_points = points;
    for (size_t i = 0; i < points; i++)
        m->gauge->data_points[i] = number_point_new((double)i);
    return m;
}

static metric *sum_metric(const char *name, size_t points)
{
    metric *m = msg_new(&opentelemetry__proto__metrics__v1__metric__descriptor);
    m->name = str(name);
    m->description = str("bytes sent");
    m->unit = str("By");
    m->n_metadata = 0;
    assert_int_equal(pdata_attr_upsert_string(&m->metadata, &m->n_metadata, "origin", "test"), 0);
    m->sum = msg_new(&opentelemetry__proto__metrics__v1__sum__descriptor);
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
    m->sum->aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    m->sum->is_monotonic = 1;
    m->sum->data_points = array_new(points);
    m->sum->n_data_points = points;
    for (size_t i = 0; i < points; i++)
        m->sum->data_points[i] = number_point_new((double)i);
    return m;
}

static metric *histogram_metric(size_t points)
{
    metric *m = msg_new(&opentelemetry__proto__metrics__v1__metric__descriptor);
    m->name = str("latency");
    m->unit = str("s");
    m->histogram = msg_new(&opentelemetry__proto__metrics__v1__histogram__descriptor);
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
    m->histogram->aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA;
    m->histogram->data_points = array_new(points);
    m->histogram->n_data_points = points;
    for (size_t i = 0; i < points; i++) {
        Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *dp =
            msg_new(&opentelemetry__proto__metrics__v1__histogram_data_point__descriptor);
        dp->count = i;
        m->histogram->data_points[i] = dp;
    }
    return m;
}

static metric *exponential_histogram_metric(size_t points)
{
    metric *m = msg_new(&opentelemetry__proto__metrics__v1__metric__descriptor);
    m->name = str("sizes");
    m->exponential_histogram =
        msg_new(&opentelemetry__proto__metrics__v1__exponential_histogram__descriptor);
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
    m->exponential_histogram->aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    m->exponential_histogram->data_points = array_new(points);
    m->exponential_histogram->n_data_points = points;
    for (size_t i = 0; i < points; i++)
        m->exponential_histogram->data_points[i] = msg_new(
            &opentelemetry__proto__metrics__v1__exponential_histogram_data_point__descriptor);
    return m;
}

static metric *summary_metric(size_t points)
{
    metric *m = msg_new(&opentelemetry__proto__metrics__v1__metric__descriptor);
    m->name = str("quantiles");
    m->summary = msg_new(&opentelemetry__proto__metrics__v1__summary__descriptor);
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY;
    m->summary->data_points = array_new(points);
    m->summary->n_data_points = points;
    for (size_t i = 0; i < points; i++)
        m->summary->data_points[i] =
            msg_new(&opentelemetry__proto__metrics__v1__summary_data_point__descriptor);
    return m;
}

/* One resource, one scope, the given metrics. */
static struct payload *metrics_fixture(metric **metrics, size_t n)
{
    struct payload *p = payload_new(SIGNAL_METRICS);
    assert_non_null(p);
    otlp_metrics_req *req = p->metrics;
    req->resource_metrics = array_new(1);
    req->n_resource_metrics = 1;
    resource_metrics *rm =
        msg_new(&opentelemetry__proto__metrics__v1__resource_metrics__descriptor);
    req->resource_metrics[0] = rm;
    rm->resource = resource_named("metrics-svc");
    rm->scope_metrics = array_new(1);
    rm->n_scope_metrics = 1;
    scope_metrics *sm = msg_new(&opentelemetry__proto__metrics__v1__scope_metrics__descriptor);
    rm->scope_metrics[0] = sm;
    sm->scope = scope_named("meter");
    sm->metrics = array_new(n);
    sm->n_metrics = n;
    for (size_t i = 0; i < n; i++)
        sm->metrics[i] = metrics[i];
    return p;
}

static struct payload *logs_fixture(size_t records)
{
    struct payload *p = payload_new(SIGNAL_LOGS);
    assert_non_null(p);
    otlp_logs_req *req = p->logs;
    req->resource_logs = array_new(1);
    req->n_resource_logs = 1;
    resource_logs *rl = msg_new(&opentelemetry__proto__logs__v1__resource_logs__descriptor);
    req->resource_logs[0] = rl;
    rl->resource = resource_named("logs-svc");
    rl->scope_logs = array_new(1);
    rl->n_scope_logs = 1;
    scope_logs *sl = msg_new(&opentelemetry__proto__logs__v1__scope_logs__descriptor);
    rl->scope_logs[0] = sl;
    sl->scope = scope_named("logger");
    sl->log_records = array_new(records);
    sl->n_log_records = records;
    for (size_t i = 0; i < records; i++) {
        log_record *lr = msg_new(&opentelemetry__proto__logs__v1__log_record__descriptor);
        lr->time_unix_nano = i + 1;
        sl->log_records[i] = lr;
    }
    return p;
}

/* Protobuf bytes of a payload, for "unchanged" and "equal" checks. Caller frees. */
static uint8_t *encoded(const struct payload *p, size_t *len)
{
    uint8_t *buf;
    assert_int_equal(payload_encode(p, &buf, len), 0);
    return buf;
}

static void assert_same_bytes(const struct payload *a, const struct payload *b)
{
    size_t alen, blen;
    uint8_t *abuf = encoded(a, &alen);
    uint8_t *bbuf = encoded(b, &blen);
    assert_int_equal(alen, blen);
    assert_memory_equal(abuf, bbuf, alen);
    free(abuf);
    free(bbuf);
}

/* ---- torture: run `op` with the Nth allocation failing, N = 0, 1, ... ---- */

struct torture_case {
    int (*op)(struct torture_case *c);    /* 0 or -ENOMEM */
    void (*undo)(struct torture_case *c); /* frees what a successful op produced */
    struct payload *input;
    struct payload *result;
    uint8_t *input_bytes; /* the input before the op, to prove a failure changed nothing */
    size_t input_len;
    size_t max;
    const uint8_t *wire;
    size_t wire_len;
};

static void torture(struct torture_case *c)
{
    if (c->input)
        c->input_bytes = encoded(c->input, &c->input_len);
    for (long n = 0;; n++) {
        size_t before = pdata_bytes_current();
        long start = pdata_allocations();
        pdata_fail_after(n);
        int rc = c->op(c);
        long used = pdata_allocations() - start;
        pdata_fail_clear();
        if (used <= n) {
            /* The run no longer reached the injected failure: it must have succeeded. */
            assert_int_equal(rc, 0);
            c->undo(c);
            break;
        }
        assert_int_equal(rc, -ENOMEM);
        assert_int_equal(pdata_bytes_current(), before);
        if (c->input) {
            size_t len;
            uint8_t *now = encoded(c->input, &len);
            assert_int_equal(len, c->input_len);
            assert_memory_equal(now, c->input_bytes, len);
            free(now);
        }
    }
    free(c->input_bytes);
    c->input_bytes = NULL;
}

static void free_result(struct torture_case *c)
{
    payload_free(c->result);
    c->result = NULL;
}

/* ---- allocator ---- */

static void test_allocator_accounting_returns_to_zero_after_free(void **state)
{
    (void)state;
    size_t base = pdata_bytes_current();
    void *a = pdata_alloc(100);
    char *s = pdata_strdup("hello");
    void *z = pdata_calloc(10, 8);
    assert_non_null(a);
    assert_non_null(s);
    assert_non_null(z);
    assert_true(pdata_bytes_current() >= base + 100 + 6 + 80);
    pdata_free(a);
    pdata_free(s);
    pdata_free(z);
    pdata_free(NULL);
    assert_int_equal(pdata_bytes_current(), base);

    struct payload *p = traces_fixture((struct resource_spec[]){{2, {3, 4}}}, 1);
    assert_true(pdata_bytes_current() > base);
    payload_free(p);
    assert_int_equal(pdata_bytes_current(), base);
}

static void test_allocator_blocks_are_16_byte_aligned(void **state)
{
    (void)state;
    for (size_t size = 1; size < 64; size += 7) {
        void *p = pdata_alloc(size);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        pdata_free(p);
    }
}

static void test_allocator_peak_tracks_high_water_mark(void **state)
{
    (void)state;
    size_t base = pdata_bytes_current();
    pdata_reset_peak();
    assert_int_equal(pdata_bytes_peak(), base);
    void *big = pdata_alloc(100000);
    assert_non_null(big);
    size_t high = pdata_bytes_current();
    pdata_free(big);
    void *small = pdata_alloc(10);
    assert_non_null(small);
    assert_int_equal(pdata_bytes_peak(), high);
    assert_true(pdata_bytes_peak() >= base + 100000);
    pdata_free(small);
    pdata_reset_peak();
    assert_int_equal(pdata_bytes_peak(), base);
}

static void test_allocator_fail_after_fails_nth_and_later_allocations(void **state)
{
    (void)state;
    long start = pdata_allocations();
    pdata_fail_after(2);
    void *a = pdata_alloc(8);
    void *b = pdata_alloc(8);
    void *c = pdata_alloc(8);
    void *d = pdata_alloc(8);
    pdata_fail_clear();
    assert_non_null(a);
    assert_non_null(b);
    assert_null(c);
    assert_null(d);
    assert_int_equal(pdata_allocations() - start, 4);
    void *e = pdata_alloc(8);
    assert_non_null(e);
    pdata_free(a);
    pdata_free(b);
    pdata_free(e);
}

static void test_protobuf_allocator_is_the_counting_one(void **state)
{
    (void)state;
    ProtobufCAllocator *a = pdata_allocator();
    size_t base = pdata_bytes_current();
    void *p = a->alloc(a->allocator_data, 40);
    assert_non_null(p);
    assert_true(pdata_bytes_current() >= base + 40);
    a->free(a->allocator_data, p);
    assert_int_equal(pdata_bytes_current(), base);
}

/* ---- signals ---- */

static void test_signal_names_and_parse(void **state)
{
    (void)state;
    enum signal s;
    assert_string_equal(signal_name(SIGNAL_TRACES), "traces");
    assert_string_equal(signal_name(SIGNAL_METRICS), "metrics");
    assert_string_equal(signal_name(SIGNAL_LOGS), "logs");
    assert_string_equal(signal_item_name(SIGNAL_TRACES), "spans");
    assert_string_equal(signal_item_name(SIGNAL_METRICS), "metric_points");
    assert_string_equal(signal_item_name(SIGNAL_LOGS), "log_records");
    assert_int_equal(signal_parse("logs", &s), 0);
    assert_int_equal(s, SIGNAL_LOGS);
    assert_int_equal(signal_parse("traces/tempo", &s), 0);
    assert_int_equal(s, SIGNAL_TRACES);
    assert_int_equal(signal_parse("metrics/", &s), 0);
    assert_int_equal(s, SIGNAL_METRICS);
    assert_int_equal(signal_parse("trace", &s), -EINVAL);
    assert_int_equal(signal_parse("tracesx", &s), -EINVAL);
    assert_int_equal(signal_parse("", &s), -EINVAL);
}

/* ---- payload life cycle ---- */

static void test_payload_encode_decode_round_trip(void **state)
{
    (void)state;
    struct payload *p = traces_fixture((struct resource_spec[]){{2, {2, 3}}, {1, {1}}}, 2);
    size_t len;
    uint8_t *buf = encoded(p, &len);
    struct payload *back = NULL;
    struct error err = {0};
    assert_int_equal(payload_decode(SIGNAL_TRACES, buf, len, &back, &err), 0);
    assert_int_equal(back->signal, SIGNAL_TRACES);
    assert_int_equal(payload_item_count(back), 6);
    assert_same_bytes(p, back);
    free(buf);
    payload_free(back);
    payload_free(p);
}

static void test_payload_decode_rejects_garbage(void **state)
{
    (void)state;
    static const uint8_t garbage[] = {0x0a, 0x05, 0x01, 0x02};
    struct payload *p = (struct payload *)1;
    struct error err = {0};
    size_t base = pdata_bytes_current();
    assert_int_equal(payload_decode(SIGNAL_LOGS, garbage, sizeof(garbage), &p, &err), -EINVAL);
    assert_null(p);
    assert_int_equal(err.kind, ERROR_PERMANENT);
    assert_int_equal(pdata_bytes_current(), base);
}

static void test_payload_decode_empty_body_is_empty_request(void **state)
{
    (void)state;
    struct payload *p = NULL;
    assert_int_equal(payload_decode(SIGNAL_METRICS, (const uint8_t *)"", 0, &p, NULL), 0);
    assert_int_equal(payload_item_count(p), 0);
    payload_free(p);
}

static void test_payload_decode_rejects_trace_id_of_wrong_length(void **state)
{
    (void)state;
    struct payload *p = traces_fixture((struct resource_spec[]){{1, {1}}}, 1);
    p->traces->resource_spans[0]->scope_spans[0]->spans[0]->trace_id.len = 15;
    size_t len;
    uint8_t *buf = encoded(p, &len);
    struct payload *back = NULL;
    struct error err = {0};
    size_t base = pdata_bytes_current();
    assert_int_equal(payload_decode(SIGNAL_TRACES, buf, len, &back, &err), -EINVAL);
    assert_non_null(strstr(err.message, "trace_id: length mismatch"));
    assert_int_equal(pdata_bytes_current(), base);
    free(buf);
    payload_free(p);
}

static void test_payload_decode_rejects_nesting_too_deep(void **state)
{
    (void)state;
    /* A log body of 200 nested arrays, which protobuf-c would unpack recursively. */
    struct payload *p = logs_fixture(1);
    otlp_anyvalue *leaf = msg_new(&opentelemetry__proto__common__v1__any_value__descriptor);
    for (int i = 0; i < 200; i++) {
        otlp_anyvalue *outer = msg_new(&opentelemetry__proto__common__v1__any_value__descriptor);
        outer->array_value = msg_new(&opentelemetry__proto__common__v1__array_value__descriptor);
        outer->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        outer->array_value->values = array_new(1);
        outer->array_value->values[0] = leaf;
        outer->array_value->n_values = 1;
        leaf = outer;
    }
    p->logs->resource_logs[0]->scope_logs[0]->log_records[0]->body = leaf;
    size_t len;
    uint8_t *wire = encoded(p, &len);
    struct payload *back = NULL;
    struct error err = {0};
    size_t base = pdata_bytes_current();
    assert_int_equal(payload_decode(SIGNAL_LOGS, wire, len, &back, &err), -EINVAL);
    assert_null(back);
    assert_non_null(strstr(err.message, "nested deeper"));
    assert_int_equal(pdata_bytes_current(), base);
    free(wire);
    payload_free(p);
}

static void test_payload_clone_is_deep_and_equal(void **state)
{
    (void)state;
    metric *metrics[] = {sum_metric("bytes", 3), histogram_metric(2)};
    struct payload *p = metrics_fixture(metrics, 2);
    struct payload *copy = payload_clone(p);
    assert_non_null(copy);
    assert_same_bytes(p, copy);
    /* Deep: freeing the original leaves the copy intact. */
    assert_ptr_not_equal(copy->metrics->resource_metrics[0], p->metrics->resource_metrics[0]);
    payload_free(p);
    assert_string_equal(copy->metrics->resource_metrics[0]->scope_metrics[0]->metrics[0]->unit,
                        "By");
    assert_int_equal(payload_item_count(copy), 5);
    payload_free(copy);
}

/* ---- item counts ---- */

static void test_item_count_counts_spans(void **state)
{
    (void)state;
    struct payload *p = traces_fixture((struct resource_spec[]){{2, {3, 0}}, {1, {4}}}, 2);
    assert_int_equal(payload_item_count(p), 7);
    payload_free(p);
}

static void test_item_count_counts_data_points_of_every_metric_type(void **state)
{
    (void)state;
    metric *empty = msg_new(&opentelemetry__proto__metrics__v1__metric__descriptor);
    empty->name = str("no-data");
    metric *metrics[] = {gauge_metric("g", 2), sum_metric("s", 3),
                         histogram_metric(4),  exponential_histogram_metric(5),
                         summary_metric(6),    empty};
    struct payload *p = metrics_fixture(metrics, 6);
    assert_int_equal(payload_item_count(p), 2 + 3 + 4 + 5 + 6);
    payload_free(p);
}

static void test_item_count_counts_log_records(void **state)
{
    (void)state;
    struct payload *p = logs_fixture(9);
    assert_int_equal(payload_item_count(p), 9);
    payload_free(p);
}

/* ---- merge ---- */

static void test_merge_moves_all_resources_to_the_end(void **state)
{
    (void)state;
    struct payload *dst = traces_fixture((struct resource_spec[]){{1, {2}}}, 1);
    struct payload *src = traces_fixture((struct resource_spec[]){{1, {3}}, {1, {4}}}, 2);
    resource_spans *first_of_src = src->traces->resource_spans[0];
    assert_int_equal(payload_merge(dst, src), 0);
    assert_int_equal(dst->traces->n_resource_spans, 3);
    assert_ptr_equal(dst->traces->resource_spans[1], first_of_src);
    assert_int_equal(src->traces->n_resource_spans, 0);
    assert_int_equal(payload_item_count(dst), 9);
    assert_int_equal(payload_item_count(src), 0);
    payload_free(src);
    payload_free(dst);
}

static void test_merge_rejects_other_signal(void **state)
{
    (void)state;
    struct payload *t = payload_new(SIGNAL_TRACES);
    struct payload *l = logs_fixture(1);
    assert_int_equal(payload_merge(t, l), -EINVAL);
    assert_int_equal(payload_item_count(l), 1);
    payload_free(t);
    payload_free(l);
}

/* ---- split ---- */

static void test_split_5000_spans_in_3_resources_at_2048(void **state)
{
    (void)state;
    /* 1000 + (1500 + 1500) + 1000, the seed's send_batch_max_size. */
    struct payload *src =
        traces_fixture((struct resource_spec[]){{1, {1000}}, {2, {1500, 1500}}, {1, {1000}}}, 3);
    long order[5000];
    size_t seen = 0;

    struct payload *first = NULL;
    assert_int_equal(payload_split(src, 2048, &first), 0);
    assert_int_equal(payload_item_count(first), 2048);
    assert_int_equal(payload_item_count(src), 2952);
    /* Resource 0 moved whole (schema_url kept); resource 1 was cut inside its first scope: a
     * copied Resource and Scope head the moved part, without the schema_urls. */
    otlp_traces_req *req = first->traces;
    assert_int_equal(req->n_resource_spans, 2);
    assert_string_equal(req->resource_spans[0]->schema_url, "https://example.com/resource/0");
    resource_spans *cut = req->resource_spans[1];
    assert_string_equal(pdata_attr_get_string(cut->resource->attributes,
                                              cut->resource->n_attributes, "service.name"),
                        "svc1");
    assert_string_equal(cut->schema_url, "");
    assert_int_equal(cut->n_scope_spans, 1);
    assert_string_equal(cut->scope_spans[0]->scope->name, "scope1.0");
    assert_string_equal(cut->scope_spans[0]->scope->version, "1.0");
    assert_string_equal(cut->scope_spans[0]->schema_url, "");
    assert_int_equal(cut->scope_spans[0]->n_spans, 1048);
    /* What stays keeps its own identity. */
    assert_int_equal(src->traces->n_resource_spans, 2);
    assert_string_equal(src->traces->resource_spans[0]->schema_url,
                        "https://example.com/resource/1");
    assert_int_equal(src->traces->resource_spans[0]->scope_spans[0]->n_spans, 452);
    collect_span_numbers(first, order, &seen);

    struct payload *second = NULL;
    assert_int_equal(payload_split(src, 2048, &second), 0);
    assert_int_equal(payload_item_count(second), 2048);
    assert_int_equal(second->traces->n_resource_spans, 2);
    assert_int_equal(payload_item_count(src), 904);
    collect_span_numbers(second, order, &seen);

    struct payload *third = NULL;
    assert_int_equal(payload_split(src, 2048, &third), 0);
    assert_int_equal(payload_item_count(third), 904);
    assert_int_equal(src->traces->n_resource_spans, 0);
    collect_span_numbers(third, order, &seen);

    assert_int_equal(seen, 5000);
    for (size_t i = 0; i < seen; i++)
        assert_int_equal(order[i], (long)i);
    payload_free(first);
    payload_free(second);
    payload_free(third);
    payload_free(src);
}

static void test_split_of_exactly_max_moves_everything(void **state)
{
    (void)state;
    struct payload *src = traces_fixture((struct resource_spec[]){{1, {1024}}, {1, {1024}}}, 2);
    struct payload *copy = payload_clone(src);
    struct payload *out = NULL;
    assert_int_equal(payload_split(src, 2048, &out), 0);
    assert_int_equal(payload_item_count(out), 2048);
    assert_int_equal(src->traces->n_resource_spans, 0);
    assert_same_bytes(out, copy);
    payload_free(out);
    payload_free(copy);
    payload_free(src);
}

static void test_split_stops_at_resource_boundary_when_it_fills_exactly(void **state)
{
    (void)state;
    struct payload *src =
        traces_fixture((struct resource_spec[]){{1, {1024}}, {1, {1024}}, {1, {10}}}, 3);
    struct payload *out = NULL;
    assert_int_equal(payload_split(src, 2048, &out), 0);
    assert_int_equal(out->traces->n_resource_spans, 2);
    assert_string_equal(out->traces->resource_spans[1]->schema_url,
                        "https://example.com/resource/1");
    assert_int_equal(src->traces->n_resource_spans, 1);
    assert_int_equal(payload_item_count(src), 10);
    payload_free(out);
    payload_free(src);
}

static void test_split_moves_whole_scopes_then_cuts_one(void **state)
{
    (void)state;
    struct payload *src = traces_fixture((struct resource_spec[]){{3, {2, 3, 4}}}, 1);
    struct payload *out = NULL;
    assert_int_equal(payload_split(src, 6, &out), 0);
    resource_spans *moved = out->traces->resource_spans[0];
    assert_int_equal(moved->n_scope_spans, 3);
    /* The two whole scopes keep their schema_url; the cut one is a copy without it. */
    assert_string_equal(moved->scope_spans[0]->schema_url, "https://example.com/scope");
    assert_string_equal(moved->scope_spans[1]->schema_url, "https://example.com/scope");
    assert_string_equal(moved->scope_spans[2]->schema_url, "");
    assert_int_equal(moved->scope_spans[2]->n_spans, 1);
    resource_spans *kept = src->traces->resource_spans[0];
    assert_int_equal(kept->n_scope_spans, 1);
    assert_int_equal(kept->scope_spans[0]->n_spans, 3);
    assert_string_equal(kept->scope_spans[0]->scope->name, "scope0.2");
    payload_free(out);
    payload_free(src);
}

static void test_split_metric_between_data_points_keeps_identity(void **state)
{
    (void)state;
    metric *metrics[] = {gauge_metric("first", 3), sum_metric("bytes", 5)};
    struct payload *src = metrics_fixture(metrics, 2);
    struct payload *out = NULL;
    assert_int_equal(payload_split(src, 5, &out), 0);
    assert_int_equal(payload_item_count(out), 5);
    assert_int_equal(payload_item_count(src), 3);

    scope_metrics *moved = out->metrics->resource_metrics[0]->scope_metrics[0];
    assert_int_equal(moved->n_metrics, 2);
    metric *part = moved->metrics[1];
    assert_string_equal(part->name, "bytes");
    assert_string_equal(part->description, "bytes sent");
    assert_string_equal(part->unit, "By");
    assert_int_equal(part->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
    assert_int_equal(
        part->sum->aggregation_temporality,
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE);
    assert_true(part->sum->is_monotonic);
    assert_int_equal(part->n_metadata, 0); /* upstream does not copy metadata */
    assert_int_equal(part->sum->n_data_points, 2);
    assert_true(part->sum->data_points[0]->as_double == 0.0);
    assert_true(part->sum->data_points[1]->as_double == 1.0);

    metric *rest = src->metrics->resource_metrics[0]->scope_metrics[0]->metrics[0];
    assert_string_equal(rest->name, "bytes");
    assert_int_equal(rest->n_metadata, 1);
    assert_int_equal(rest->sum->n_data_points, 3);
    assert_true(rest->sum->data_points[0]->as_double == 2.0);
    payload_free(out);
    payload_free(src);
}

static void test_split_histogram_keeps_temporality(void **state)
{
    (void)state;
    metric *metrics[] = {histogram_metric(4), exponential_histogram_metric(4)};
    struct payload *src = metrics_fixture(metrics, 2);
    struct payload *out = NULL;
    assert_int_equal(payload_split(src, 2, &out), 0);
    metric *part = out->metrics->resource_metrics[0]->scope_metrics[0]->metrics[0];
    assert_int_equal(part->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM);
    assert_int_equal(
        part->histogram->aggregation_temporality,
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA);
    assert_string_equal(part->unit, "s");
    payload_free(out);

    assert_int_equal(payload_split(src, 3, &out), 0);
    scope_metrics *moved = out->metrics->resource_metrics[0]->scope_metrics[0];
    assert_int_equal(moved->n_metrics, 2);
    assert_int_equal(
        moved->metrics[1]->exponential_histogram->aggregation_temporality,
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE);
    assert_int_equal(moved->metrics[1]->exponential_histogram->n_data_points, 1);
    assert_int_equal(payload_item_count(src), 3);
    payload_free(out);
    payload_free(src);
}

static void test_split_logs_one_record_at_a_time(void **state)
{
    (void)state;
    struct payload *src = logs_fixture(10);
    size_t sizes[3];
    for (int i = 0; i < 3; i++) {
        struct payload *out = NULL;
        assert_int_equal(payload_split(src, 4, &out), 0);
        sizes[i] = payload_item_count(out);
        payload_free(out);
    }
    assert_int_equal(sizes[0], 4);
    assert_int_equal(sizes[1], 4);
    assert_int_equal(sizes[2], 2);
    assert_int_equal(src->logs->n_resource_logs, 0);
    payload_free(src);
}

static void test_split_with_zero_max_moves_everything(void **state)
{
    (void)state;
    struct payload *src = logs_fixture(3);
    struct payload *out = NULL;
    assert_int_equal(payload_split(src, 0, &out), 0);
    assert_int_equal(payload_item_count(out), 3);
    assert_int_equal(payload_item_count(src), 0);
    payload_free(out);
    payload_free(src);
}

/* ---- attributes ---- */

static void test_attr_upsert_inserts_then_replaces(void **state)
{
    (void)state;
    otlp_keyvalue **attrs = NULL;
    size_t n = 0;
    assert_int_equal(pdata_attr_upsert_string(&attrs, &n, "k8s.pod.name", "a"), 0);
    assert_int_equal(pdata_attr_upsert_string(&attrs, &n, "k8s.namespace.name", "b"), 0);
    assert_int_equal(pdata_attr_upsert_string(&attrs, &n, "k8s.pod.name", "c"), 0);
    assert_int_equal(n, 2);
    assert_string_equal(pdata_attr_get_string(attrs, n, "k8s.pod.name"), "c");
    assert_string_equal(pdata_attr_get_string(attrs, n, "k8s.namespace.name"), "b");
    assert_null(pdata_attr_get_string(attrs, n, "missing"));
    assert_null(pdata_attr_get(attrs, n, "missing"));
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&attrs[i]->base, pdata_allocator());
    pdata_free(attrs);
}

static void test_attr_insert_keeps_existing_value(void **state)
{
    (void)state;
    otlp_keyvalue **attrs = NULL;
    size_t n = 0;
    assert_int_equal(pdata_attr_insert_string(&attrs, &n, "host.name", "first"), 0);
    assert_int_equal(pdata_attr_insert_string(&attrs, &n, "host.name", "second"), 0);
    assert_int_equal(pdata_attr_insert_string(&attrs, &n, "os.type", ""), 0);
    assert_int_equal(n, 2);
    assert_string_equal(pdata_attr_get_string(attrs, n, "host.name"), "first");
    assert_string_equal(pdata_attr_get_string(attrs, n, "os.type"), "");
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&attrs[i]->base, pdata_allocator());
    pdata_free(attrs);
}

static void test_attr_get_string_ignores_other_types(void **state)
{
    (void)state;
    otlp_resource *r = resource_named("svc");
    otlp_anyvalue *v = r->attributes[0]->value;
    pdata_free(v->string_value);
    v->int_value = 7;
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    assert_null(pdata_attr_get_string(r->attributes, r->n_attributes, "service.name"));
    assert_ptr_equal(pdata_attr_get(r->attributes, r->n_attributes, "service.name"), v);
    protobuf_c_message_free_unpacked(&r->base, pdata_allocator());
}

/* ---- out of memory ---- */

static int op_decode(struct torture_case *c)
{
    return payload_decode(SIGNAL_TRACES, c->wire, c->wire_len, &c->result, NULL);
}

static void test_decode_fails_cleanly_when_out_of_memory(void **state)
{
    (void)state;
    struct payload *p = traces_fixture((struct resource_spec[]){{2, {3, 2}}, {1, {2}}}, 2);
    size_t len;
    uint8_t *wire = encoded(p, &len);
    struct torture_case c = {.op = op_decode, .undo = free_result, .wire = wire, .wire_len = len};
    torture(&c);
    free(wire);
    payload_free(p);
}

static int op_clone(struct torture_case *c)
{
    c->result = payload_clone(c->input);
    return c->result ? 0 : -ENOMEM;
}

static void test_clone_fails_cleanly_when_out_of_memory(void **state)
{
    (void)state;
    metric *metrics[] = {sum_metric("bytes", 2), histogram_metric(2)};
    struct payload *p = metrics_fixture(metrics, 2);
    struct torture_case c = {.op = op_clone, .undo = free_result, .input = p};
    torture(&c);
    payload_free(p);
}

static int op_split(struct torture_case *c)
{
    return payload_split(c->input, c->max, &c->result);
}

static void test_split_fails_cleanly_when_out_of_memory(void **state)
{
    (void)state;
    struct payload *p =
        traces_fixture((struct resource_spec[]){{1, {3}}, {3, {2, 4, 2}}, {1, {1}}}, 3);
    struct torture_case c = {.op = op_split, .undo = free_result, .input = p, .max = 8};
    torture(&c);
    payload_free(p);
}

static void test_metric_split_fails_cleanly_when_out_of_memory(void **state)
{
    (void)state;
    metric *metrics[] = {gauge_metric("g", 2), sum_metric("bytes", 5)};
    struct payload *p = metrics_fixture(metrics, 2);
    struct torture_case c = {.op = op_split, .undo = free_result, .input = p, .max = 4};
    torture(&c);
    payload_free(p);
}

static void test_merge_fails_cleanly_when_out_of_memory(void **state)
{
    (void)state;
    struct payload *p = traces_fixture((struct resource_spec[]){{1, {2}}}, 1);
    /* Merge allocates one block (the joined array); when it fails nothing may move. */
    struct payload *src = traces_fixture((struct resource_spec[]){{1, {1}}}, 1);
    pdata_fail_after(0);
    int rc = payload_merge(p, src);
    pdata_fail_clear();
    assert_int_equal(rc, -ENOMEM);
    assert_int_equal(p->traces->n_resource_spans, 1);
    assert_int_equal(src->traces->n_resource_spans, 1);
    payload_free(src);
    payload_free(p);
}

static void test_attr_upsert_fails_cleanly_when_out_of_memory(void **state)
{
    (void)state;
    /* Each failing run must leave the attributes as they were. */
    struct payload *p = traces_fixture((struct resource_spec[]){{1, {1}}}, 1);
    otlp_resource *r = p->traces->resource_spans[0]->resource;
    for (long n = 0;; n++) {
        size_t before = pdata_bytes_current();
        size_t attrs_before = r->n_attributes;
        long start = pdata_allocations();
        pdata_fail_after(n);
        int rc = pdata_attr_upsert_string(&r->attributes, &r->n_attributes, "k8s.pod.name", "web");
        long used = pdata_allocations() - start;
        pdata_fail_clear();
        if (used <= n) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, -ENOMEM);
        assert_int_equal(r->n_attributes, attrs_before);
        assert_int_equal(pdata_bytes_current(), before);
    }
    assert_string_equal(pdata_attr_get_string(r->attributes, r->n_attributes, "k8s.pod.name"),
                        "web");
    payload_free(p);
}

static void test_payload_new_fails_cleanly_when_out_of_memory(void **state)
{
    (void)state;
    for (long n = 0; n < 2; n++) {
        size_t before = pdata_bytes_current();
        pdata_fail_after(n);
        struct payload *p = payload_new(SIGNAL_LOGS);
        pdata_fail_clear();
        assert_null(p);
        assert_int_equal(pdata_bytes_current(), before);
    }
}

/* ---- regions ---- */

static void *free_payload_in_thread(void *arg)
{
    payload_free(arg);
    return NULL;
}

static void test_decoded_nodes_come_from_a_region_freed_with_its_last_block(void **state)
{
    size_t before = pdata_bytes_current();
    struct resource_spec spec[] = {{2, {300, 200}}};
    struct payload *original = traces_fixture(spec, 1);
    uint8_t *wire = NULL;
    size_t len = 0;
    assert_int_equal(payload_encode(original, &wire, &len), 0);
    payload_free(original);
    assert_int_equal(pdata_bytes_current(), before);

    struct payload *decoded = NULL;
    assert_int_equal(payload_decode(SIGNAL_TRACES, wire, len, &decoded, NULL), 0);
    assert_true(pdata_bytes_current() > before);
    /* Split moves region blocks into a new tree with heap-made containers; both halves are
     * freed in different threads, in either order. */
    struct payload *head = NULL;
    assert_int_equal(payload_split(decoded, 250, &head), 0);
    assert_int_equal(payload_item_count(head), 250);
    assert_int_equal(payload_item_count(decoded), 250);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, free_payload_in_thread, head), 0);
    payload_free(decoded);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(pdata_bytes_current(), before);
    free(wire);
}

static void test_freeing_a_tree_of_several_regions_returns_every_region(void **state)
{
    size_t before = pdata_bytes_current();
    struct resource_spec spec[] = {{1, {40}}, {2, {10, 20}}};
    struct payload *original = traces_fixture(spec, 2);
    uint8_t *wire = NULL;
    size_t len = 0;
    assert_int_equal(payload_encode(original, &wire, &len), 0);
    payload_free(original);
    /* Three decodes, three regions, merged into one tree whose nodes alternate between them. */
    struct payload *merged = NULL, *other = NULL;
    assert_int_equal(payload_decode(SIGNAL_TRACES, wire, len, &merged, NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(payload_decode(SIGNAL_TRACES, wire, len, &other, NULL), 0);
        assert_int_equal(payload_merge(merged, other), 0);
        payload_free(other);
    }
    assert_int_equal(payload_item_count(merged), 210);
    payload_free(merged);
    assert_int_equal(pdata_bytes_current(), before);
    free(wire);
}

static void test_region_grows_past_a_small_hint(void **state)
{
    size_t before = pdata_bytes_current();
    pdata_region_begin(1); /* far too small: the region must be replaced as it fills */
    void *blocks[2000];
    for (size_t i = 0; i < 2000; i++) {
        blocks[i] = pdata_alloc(100);
        assert_non_null(blocks[i]);
        memset(blocks[i], (int)i, 100);
    }
    pdata_region_end();
    for (size_t i = 0; i < 2000; i++)
        pdata_free(blocks[i]);
    assert_int_equal(pdata_bytes_current(), before);
}

static void *free_blocks_in_thread(void *arg)
{
    void **blocks = arg;
    for (size_t i = 0; blocks[i]; i++)
        pdata_free(blocks[i]);
    return NULL;
}

/* The owner frees some blocks while it still cuts (counted without a locked instruction), another
 * thread frees others meanwhile, the rest go after the close: the region comes back exactly once
 * (a double release or a leak shows in the counter, and under memcheck and ASan). */
static void test_region_blocks_freed_by_owner_and_others_while_open(void **state)
{
    size_t before = pdata_bytes_current();
    enum { N = 300 };
    void *mine[N], *theirs[N + 1] = {0}, *late[N];
    pdata_region_begin(256 * 1024);
    for (size_t i = 0; i < N; i++) {
        mine[i] = pdata_alloc(24);
        theirs[i] = pdata_alloc(40);
        late[i] = pdata_alloc(8);
        assert_true(mine[i] && theirs[i] && late[i]);
    }
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, free_blocks_in_thread, theirs), 0);
    for (size_t i = 0; i < N; i++)
        pdata_free(mine[i]);
    void *after_frees = pdata_alloc(16); /* still cut from the same open region */
    assert_non_null(after_frees);
    assert_int_equal(pthread_join(thread, NULL), 0);
    pdata_region_end();
    assert_true(pdata_bytes_current() > before);
    for (size_t i = 0; i < N; i++)
        pdata_free(late[i]);
    pdata_free(after_frees);
    assert_int_equal(pdata_bytes_current(), before);
}

static void test_region_allocations_fail_when_injected(void **state)
{
    pdata_region_begin(64 * 1024);
    pdata_fail_after(1);
    void *first = pdata_alloc(32);
    void *second = pdata_alloc(32);
    pdata_fail_clear();
    pdata_region_end();
    assert_non_null(first);
    assert_null(second);
    pdata_free(first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocator_accounting_returns_to_zero_after_free),
        cmocka_unit_test(test_decoded_nodes_come_from_a_region_freed_with_its_last_block),
        cmocka_unit_test(test_freeing_a_tree_of_several_regions_returns_every_region),
        cmocka_unit_test(test_region_grows_past_a_small_hint),
        cmocka_unit_test(test_region_blocks_freed_by_owner_and_others_while_open),
        cmocka_unit_test(test_region_allocations_fail_when_injected),
        cmocka_unit_test(test_allocator_blocks_are_16_byte_aligned),
        cmocka_unit_test(test_allocator_peak_tracks_high_water_mark),
        cmocka_unit_test(test_allocator_fail_after_fails_nth_and_later_allocations),
        cmocka_unit_test(test_protobuf_allocator_is_the_counting_one),
        cmocka_unit_test(test_signal_names_and_parse),
        cmocka_unit_test(test_payload_encode_decode_round_trip),
        cmocka_unit_test(test_payload_decode_rejects_garbage),
        cmocka_unit_test(test_payload_decode_empty_body_is_empty_request),
        cmocka_unit_test(test_payload_decode_rejects_trace_id_of_wrong_length),
        cmocka_unit_test(test_payload_decode_rejects_nesting_too_deep),
        cmocka_unit_test(test_payload_clone_is_deep_and_equal),
        cmocka_unit_test(test_item_count_counts_spans),
        cmocka_unit_test(test_item_count_counts_data_points_of_every_metric_type),
        cmocka_unit_test(test_item_count_counts_log_records),
        cmocka_unit_test(test_merge_moves_all_resources_to_the_end),
        cmocka_unit_test(test_merge_rejects_other_signal),
        cmocka_unit_test(test_split_5000_spans_in_3_resources_at_2048),
        cmocka_unit_test(test_split_of_exactly_max_moves_everything),
        cmocka_unit_test(test_split_stops_at_resource_boundary_when_it_fills_exactly),
        cmocka_unit_test(test_split_moves_whole_scopes_then_cuts_one),
        cmocka_unit_test(test_split_metric_between_data_points_keeps_identity),
        cmocka_unit_test(test_split_histogram_keeps_temporality),
        cmocka_unit_test(test_split_logs_one_record_at_a_time),
        cmocka_unit_test(test_split_with_zero_max_moves_everything),
        cmocka_unit_test(test_attr_upsert_inserts_then_replaces),
        cmocka_unit_test(test_attr_insert_keeps_existing_value),
        cmocka_unit_test(test_attr_get_string_ignores_other_types),
        cmocka_unit_test(test_decode_fails_cleanly_when_out_of_memory),
        cmocka_unit_test(test_clone_fails_cleanly_when_out_of_memory),
        cmocka_unit_test(test_split_fails_cleanly_when_out_of_memory),
        cmocka_unit_test(test_metric_split_fails_cleanly_when_out_of_memory),
        cmocka_unit_test(test_merge_fails_cleanly_when_out_of_memory),
        cmocka_unit_test(test_attr_upsert_fails_cleanly_when_out_of_memory),
        cmocka_unit_test(test_payload_new_fails_cleanly_when_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
