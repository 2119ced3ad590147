/*
 * test_prometheus.c - the fake Prometheus 3 OTLP receiver over real HTTP: what it answers
 * (status and text, as prom@v3.9.1 words them; shared/facts/pipeline.md §7) and what it stores.
 *
 * Every test starts the fake behind an httpd on an ephemeral loopback port and talks to it with
 * libcurl. Requests are built in code with the pdata types and encoded with payload_encode.
 * Sample timestamps are relative to a base a few minutes in the past (the fake checks them
 * against the wall clock as Prometheus does); views are compared with timestamps made relative
 * to that base, so the expected JSON below reads "timestamp_ms": 0 for the base.
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
#include <strings.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "compress.h"
#include "httpd.h"
#include "otlp_json.h"
#include "pdata.h"
#include "prometheus.h"

typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics resource_metrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics scope_metrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint number_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint histogram_point;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint exp_histogram_point;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint summary_point;

#define CUMULATIVE                                                                                 \
    OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE
#define DELTA                                                                                      \
    OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA
#define PROTOBUF "application/x-protobuf"
#define OTLP_PATH "/api/v1/otlp/v1/metrics"
#define MINUTE_MS INT64_C(60000)

/* The resource most tests use: job "shop/checkout", instance "pod-1", nothing else (so no
 * target_info). */
static const char *const checkout_service[] = {
    "service.name", "checkout", "service.namespace", "shop", "service.instance.id", "pod-1", NULL};

/* ---- building requests through the pdata types ---- */

static void *new_message(size_t size, const void *init)
{
    void *m = pdata_alloc(size);
    assert_non_null(m);
    memcpy(m, init, size);
    return m;
}
#define NEW(type, init) ((type *)new_message(sizeof(type), &(type)init))

/* Appends `item` to a repeated field (array + count), all pdata-allocated. */
#define PUSH(array, count, item)                                                                   \
    do {                                                                                           \
        void *grown_ = pdata_alloc(((count) + 1) * sizeof(*(array)));                              \
        assert_non_null(grown_);                                                                   \
        if (count)                                                                                 \
            memcpy(grown_, (array), (count) * sizeof(*(array)));                                   \
        pdata_free(array);                                                                         \
        (array) = grown_;                                                                          \
        (array)[(count)++] = (item);                                                               \
    } while (0)

static char *dup(const char *s)
{
    char *copy = pdata_strdup(s);
    assert_non_null(copy);
    return copy;
}

/* pairs: "key", "value", ..., NULL */
static void add_attributes(otlp_keyvalue ***attrs, size_t *n, const char *const *pairs)
{
    for (size_t i = 0; pairs && pairs[i]; i += 2) {
        otlp_keyvalue *kv = NEW(otlp_keyvalue, OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT);
        kv->key = dup(pairs[i]);
        kv->value = NEW(otlp_anyvalue, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT);
        kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        kv->value->string_value = dup(pairs[i + 1]);
        PUSH(*attrs, *n, kv);
    }
}

static resource_metrics *add_resource(struct payload *p, const char *const *attrs)
{
    resource_metrics *rm =
        NEW(resource_metrics, OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT);
    rm->resource = NEW(otlp_resource, OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT);
    add_attributes(&rm->resource->attributes, &rm->resource->n_attributes, attrs);
    scope_metrics *sm = NEW(scope_metrics, OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT);
    PUSH(rm->scope_metrics, rm->n_scope_metrics, sm);
    PUSH(p->metrics->resource_metrics, p->metrics->n_resource_metrics, rm);
    return rm;
}

static metric *add_metric(resource_metrics *rm, const char *name, const char *unit,
                          const char *description)
{
    metric *m = NEW(metric, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT);
    m->name = dup(name);
    m->unit = dup(unit);
    m->description = dup(description);
    scope_metrics *sm = rm->scope_metrics[0];
    PUSH(sm->metrics, sm->n_metrics, m);
    return m;
}

static metric *add_gauge(resource_metrics *rm, const char *name, const char *unit)
{
    metric *m = add_metric(rm, name, unit, "");
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    m->gauge = NEW(Opentelemetry__Proto__Metrics__V1__Gauge,
                   OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT);
    return m;
}

static metric *add_sum(resource_metrics *rm, const char *name, const char *unit, bool monotonic,
                       Opentelemetry__Proto__Metrics__V1__AggregationTemporality temporality)
{
    metric *m = add_metric(rm, name, unit, "");
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
    m->sum =
        NEW(Opentelemetry__Proto__Metrics__V1__Sum, OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT);
    m->sum->is_monotonic = monotonic;
    m->sum->aggregation_temporality = temporality;
    return m;
}

static uint64_t nanos(int64_t ms)
{
    return (uint64_t)ms * 1000000u;
}

/* A point of a gauge or sum with a double value. */
static number_point *add_number_point(metric *m, int64_t ms, double value, const char *const *attrs)
{
    number_point *pt =
        NEW(number_point, OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT);
    pt->time_unix_nano = nanos(ms);
    pt->start_time_unix_nano = nanos(ms) - nanos(MINUTE_MS);
    pt->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    pt->as_double = value;
    add_attributes(&pt->attributes, &pt->n_attributes, attrs);
    if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE)
        PUSH(m->gauge->data_points, m->gauge->n_data_points, pt);
    else
        PUSH(m->sum->data_points, m->sum->n_data_points, pt);
    return pt;
}

/* ---- the fake behind a real HTTP server ---- */

struct fixture {
    struct prometheus *prometheus;
    struct httpd *server;
    char url[64];
    int64_t base_ms; /* sample time 0 of the tests: whole minutes, 10 minutes ago */
    size_t last_items;
};

struct http_result {
    long status;
    char content_type[128];
    char *body; /* NUL-terminated */
    size_t len;
};

static void handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct fixture *f = ctx;
    size_t items = 0;
    prometheus_handle(f->prometheus, req, resp, &items);
    f->last_items = items;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->prometheus = prometheus_new(NULL);
    assert_non_null(f->prometheus);
    struct error err = {0};
    f->server = httpd_start("127.0.0.1", 0, (size_t)64 << 20, handle, f, &err);
    if (!f->server)
        fail_msg("httpd_start: %s", err.message);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", httpd_port(f->server));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000;
    f->base_ms = now_ms / MINUTE_MS * MINUTE_MS - 10 * MINUTE_MS;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    httpd_stop(f->server);
    prometheus_free(f->prometheus);
    free(f);
    return 0;
}

/* Replaces the fake with one built from `opts` (the server keeps running). */
static void use_options(struct fixture *f, const struct prometheus_options *opts)
{
    prometheus_free(f->prometheus);
    f->prometheus = prometheus_new(opts);
    assert_non_null(f->prometheus);
}

static size_t collect_body(char *data, size_t size, size_t n, void *ctx)
{
    struct http_result *r = ctx;
    char *grown = realloc(r->body, r->len + size * n + 1);
    if (!grown)
        return 0;
    memcpy(grown + r->len, data, size * n);
    r->len += size * n;
    grown[r->len] = '\0';
    r->body = grown;
    return size * n;
}

static size_t collect_header(char *data, size_t size, size_t n, void *ctx)
{
    struct http_result *r = ctx;
    static const char name[] = "content-type:";
    size_t len = size * n;
    if (len > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        size_t start = sizeof(name) - 1;
        while (start < len && data[start] == ' ')
            start++;
        size_t end = len;
        while (end > start && (data[end - 1] == '\r' || data[end - 1] == '\n'))
            end--;
        snprintf(r->content_type, sizeof(r->content_type), "%.*s", (int)(end - start),
                 data + start);
    }
    return len;
}

/* Sends one request; content_type / encoding NULL send no such header. */
static struct http_result request(struct fixture *f, const char *method, const char *path,
                                  const char *content_type, const char *encoding, const void *body,
                                  size_t len)
{
    struct http_result r = {0};
    char url[256], header[256];
    snprintf(url, sizeof(url), "%s%s", f->url, path);
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    struct curl_slist *headers = NULL;
    snprintf(header, sizeof(header), "Content-Type:%s%s", content_type ? " " : "",
             content_type ? content_type : "");
    headers = curl_slist_append(headers, header);
    if (encoding) {
        snprintf(header, sizeof(header), "Content-Encoding: %s", encoding);
        headers = curl_slist_append(headers, header);
    }
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        fail_msg("curl: %s", curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (!r.body) {
        r.body = calloc(1, 1);
        assert_non_null(r.body);
    }
    return r;
}

/* Encodes the payload as protobuf, frees it, and POSTs it to the OTLP path. */
static struct http_result send_metrics(struct fixture *f, struct payload *p)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(payload_encode(p, &buf, &len), 0);
    payload_free(p);
    struct http_result r = request(f, "POST", OTLP_PATH, PROTOBUF, NULL, buf, len);
    free(buf);
    return r;
}

static void assert_response(struct http_result *r, long status, const char *body)
{
    if (r->status != status || strcmp(r->body, body) != 0)
        fail_msg("want %ld '%s', got %ld '%s'", status, body, r->status, r->body);
    if (body[0])
        assert_string_equal(r->content_type, "text/plain; charset=utf-8");
    free(r->body);
    r->body = NULL;
}

static void assert_accepted(struct http_result r)
{
    assert_response(&r, 200, "");
    assert_string_equal(r.content_type, "");
}

/* The view with every timestamp made relative to f->base_ms, compared with `expected` (JSON
 * written with single quotes for readability). */
static void assert_view(struct fixture *f, const char *expected)
{
    char *text = strdup(expected);
    assert_non_null(text);
    for (char *c = text; *c; c++)
        if (*c == '\'')
            *c = '"';
    json_error_t jerr;
    json_t *want = json_loads(text, 0, &jerr);
    free(text);
    if (!want)
        fail_msg("expected view is not JSON: %s", jerr.text);

    json_t *got = prometheus_view(f->prometheus);
    assert_non_null(got);
    size_t i, j;
    json_t *series, *sample;
    json_array_foreach(json_object_get(got, "series"), i, series)
    {
        json_array_foreach(json_object_get(series, "samples"), j, sample)
        {
            json_int_t t = json_integer_value(json_object_get(sample, "timestamp_ms"));
            json_object_set_new(sample, "timestamp_ms", json_integer(t - f->base_ms));
        }
    }
    if (!json_equal(want, got)) {
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_INDENT(1));
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1));
        print_error("view mismatch\nwant: %s\ngot:  %s\n", w, g);
        free(w);
        free(g);
        json_decref(want);
        json_decref(got);
        fail();
    }
    json_decref(want);
    json_decref(got);
}

#define EMPTY_VIEW "{'series':[],'metadata':{}}"

/* ---- happy paths: what each OTLP type becomes ---- */

static void test_monotonic_sum_becomes_total_counter_with_job_and_instance(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    metric *m =
        add_sum(add_resource(p, checkout_service), "http.requests", "{request}", true, CUMULATIVE);
    pdata_free(m->description);
    m->description = dup("Requests served.");
    add_number_point(m, f->base_ms, 5, (const char *const[]){"http.method", "GET", NULL});
    assert_accepted(send_metrics(f, p));
    assert_view(f, "{'series':[{'labels':{'__name__':'http_requests_total','job':'shop/checkout',"
                   "'instance':'pod-1','http_method':'GET'},"
                   "'samples':[{'timestamp_ms':0,'value':5}]}],"
                   "'metadata':{'http_requests_total':{'type':'counter',"
                   "'help':'Requests served.','unit':''}}}");
}

static void test_gauges_take_unit_suffixes_and_int_or_double_values(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    resource_metrics *rm = add_resource(p, checkout_service);
    add_number_point(add_gauge(rm, "cpu.utilization", "1"), f->base_ms, 0.25, NULL);
    number_point *pt =
        add_number_point(add_gauge(rm, "process.memory.usage", "By"), f->base_ms, 0, NULL);
    pt->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    pt->as_int = 1048576;
    add_number_point(add_sum(rm, "queue.size", "{item}", false, CUMULATIVE), f->base_ms, -3, NULL);
    assert_accepted(send_metrics(f, p));
    assert_view(f, "{'series':["
                   "{'labels':{'__name__':'cpu_utilization_ratio','job':'shop/checkout',"
                   "'instance':'pod-1'},'samples':[{'timestamp_ms':0,'value':0.25}]},"
                   "{'labels':{'__name__':'process_memory_usage_bytes','job':'shop/checkout',"
                   "'instance':'pod-1'},'samples':[{'timestamp_ms':0,'value':1048576}]},"
                   "{'labels':{'__name__':'queue_size','job':'shop/checkout',"
                   "'instance':'pod-1'},'samples':[{'timestamp_ms':0,'value':-3}]}],"
                   "'metadata':{"
                   "'cpu_utilization_ratio':{'type':'gauge','help':'','unit':''},"
                   "'process_memory_usage_bytes':{'type':'gauge','help':'','unit':'bytes'},"
                   "'queue_size':{'type':'gauge','help':'','unit':''}}}");
}

static void test_histogram_becomes_cumulative_buckets_sum_and_count(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    metric *m = add_metric(add_resource(p, checkout_service), "http.server.request.duration", "s",
                           "Duration of HTTP server requests.");
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
    m->histogram = NEW(Opentelemetry__Proto__Metrics__V1__Histogram,
                       OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT);
    m->histogram->aggregation_temporality = CUMULATIVE;
    histogram_point *pt =
        NEW(histogram_point, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT);
    pt->time_unix_nano = nanos(f->base_ms);
    pt->count = 4;
    pt->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM;
    pt->sum = 0.75;
    static const double bounds[] = {0.005, 0.1, 1};
    static const uint64_t counts[] = {1, 1, 1, 1};
    pt->n_explicit_bounds = 3;
    pt->explicit_bounds = new_message(sizeof(bounds), bounds);
    pt->n_bucket_counts = 4;
    pt->bucket_counts = new_message(sizeof(counts), counts);
    PUSH(m->histogram->data_points, m->histogram->n_data_points, pt);
    assert_accepted(send_metrics(f, p));

    /* le values sort as strings: "+Inf" < "0.005" < "0.1" < "1" */
    assert_view(f, "{'series':["
                   "{'labels':{'__name__':'http_server_request_duration_seconds_bucket',"
                   "'job':'shop/checkout','instance':'pod-1','le':'+Inf'},"
                   "'samples':[{'timestamp_ms':0,'value':4}]},"
                   "{'labels':{'__name__':'http_server_request_duration_seconds_bucket',"
                   "'job':'shop/checkout','instance':'pod-1','le':'0.005'},"
                   "'samples':[{'timestamp_ms':0,'value':1}]},"
                   "{'labels':{'__name__':'http_server_request_duration_seconds_bucket',"
                   "'job':'shop/checkout','instance':'pod-1','le':'0.1'},"
                   "'samples':[{'timestamp_ms':0,'value':2}]},"
                   "{'labels':{'__name__':'http_server_request_duration_seconds_bucket',"
                   "'job':'shop/checkout','instance':'pod-1','le':'1'},"
                   "'samples':[{'timestamp_ms':0,'value':3}]},"
                   "{'labels':{'__name__':'http_server_request_duration_seconds_count',"
                   "'job':'shop/checkout','instance':'pod-1'},"
                   "'samples':[{'timestamp_ms':0,'value':4}]},"
                   "{'labels':{'__name__':'http_server_request_duration_seconds_sum',"
                   "'job':'shop/checkout','instance':'pod-1'},"
                   "'samples':[{'timestamp_ms':0,'value':0.75}]}],"
                   "'metadata':{'http_server_request_duration_seconds':{'type':'histogram',"
                   "'help':'Duration of HTTP server requests.','unit':'seconds'}}}");
}

static void test_summary_becomes_quantiles_sum_and_count(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    metric *m = add_metric(add_resource(p, checkout_service), "rpc.latency", "ms", "");
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY;
    m->summary = NEW(Opentelemetry__Proto__Metrics__V1__Summary,
                     OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY__INIT);
    summary_point *pt =
        NEW(summary_point, OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__INIT);
    pt->time_unix_nano = nanos(f->base_ms);
    pt->count = 10;
    pt->sum = 55;
    const double quantiles[][2] = {{0.5, 4}, {0.99, 9}};
    for (size_t i = 0; i < 2; i++) {
        Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile *q =
            NEW(Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile,
                OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__VALUE_AT_QUANTILE__INIT);
        q->quantile = quantiles[i][0];
        q->value = quantiles[i][1];
        PUSH(pt->quantile_values, pt->n_quantile_values, q);
    }
    PUSH(m->summary->data_points, m->summary->n_data_points, pt);
    assert_accepted(send_metrics(f, p));

    assert_view(f, "{'series':["
                   "{'labels':{'__name__':'rpc_latency_milliseconds','job':'shop/checkout',"
                   "'instance':'pod-1','quantile':'0.5'},"
                   "'samples':[{'timestamp_ms':0,'value':4}]},"
                   "{'labels':{'__name__':'rpc_latency_milliseconds','job':'shop/checkout',"
                   "'instance':'pod-1','quantile':'0.99'},"
                   "'samples':[{'timestamp_ms':0,'value':9}]},"
                   "{'labels':{'__name__':'rpc_latency_milliseconds_count','job':'shop/checkout',"
                   "'instance':'pod-1'},'samples':[{'timestamp_ms':0,'value':10}]},"
                   "{'labels':{'__name__':'rpc_latency_milliseconds_sum','job':'shop/checkout',"
                   "'instance':'pod-1'},'samples':[{'timestamp_ms':0,'value':55}]}],"
                   "'metadata':{'rpc_latency_milliseconds':{'type':'summary','help':'',"
                   "'unit':'milliseconds'}}}");
}

static void test_exponential_histogram_is_stored_as_a_native_histogram_summary(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    metric *m = add_metric(add_resource(p, checkout_service), "request.size", "By", "");
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
    m->exponential_histogram = NEW(Opentelemetry__Proto__Metrics__V1__ExponentialHistogram,
                                   OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM__INIT);
    m->exponential_histogram->aggregation_temporality = CUMULATIVE;
    exp_histogram_point *pt =
        NEW(exp_histogram_point,
            OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__INIT);
    pt->time_unix_nano = nanos(f->base_ms);
    pt->scale = 10; /* above 8: downscaled */
    pt->count = 3;
    pt->zero_count = 1;
    pt->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___SUM_SUM;
    pt->sum = 2.5;
    pt->positive =
        NEW(Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets,
            OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__BUCKETS__INIT);
    static const uint64_t counts[] = {1, 1};
    pt->positive->n_bucket_counts = 2;
    pt->positive->bucket_counts = new_message(sizeof(counts), counts);
    PUSH(m->exponential_histogram->data_points, m->exponential_histogram->n_data_points, pt);
    assert_accepted(send_metrics(f, p));
    assert_view(f, "{'series':[{'labels':{'__name__':'request_size_bytes','job':'shop/checkout',"
                   "'instance':'pod-1'},'samples':[{'timestamp_ms':0,'histogram':{'count':3,"
                   "'sum':2.5,'schema':8,'zero_count':1}}]}],"
                   "'metadata':{'request_size_bytes':{'type':'histogram','help':'',"
                   "'unit':'bytes'}}}");
}

static void test_no_recorded_value_flag_stores_a_stale_marker(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    number_point *pt = add_number_point(add_gauge(add_resource(p, checkout_service), "temp", ""),
                                        f->base_ms, 21, NULL);
    pt->flags =
        OPENTELEMETRY__PROTO__METRICS__V1__DATA_POINT_FLAGS__DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK;
    assert_accepted(send_metrics(f, p));
    assert_view(f, "{'series':[{'labels':{'__name__':'temp','job':'shop/checkout',"
                   "'instance':'pod-1'},'samples':[{'timestamp_ms':0,'value':'stale'}]}],"
                   "'metadata':{'temp':{'type':'gauge','help':'','unit':''}}}");
}

static void test_target_info_carries_the_other_resource_attributes(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    resource_metrics *rm = add_resource(
        p, (const char *const[]){"service.name", "checkout", "service.instance.id", "pod-1",
                                 "k8s.pod.name", "checkout-7d9", "host.name", "node-1", NULL});
    metric *m = add_gauge(rm, "up", "");
    add_number_point(m, f->base_ms, 1, NULL);
    add_number_point(m, f->base_ms + 400000, 1, NULL); /* 6 min 40 s later */
    assert_accepted(send_metrics(f, p));
    /* k8s.* and host.* are not on the metric's series (no promotion configured); target_info
     * has them, at the earliest time, every 2.5 minutes, and at the latest time. */
    assert_view(f, "{'series':["
                   "{'labels':{'__name__':'target_info','job':'checkout','instance':'pod-1',"
                   "'k8s_pod_name':'checkout-7d9','host_name':'node-1'},"
                   "'samples':[{'timestamp_ms':0,'value':1},{'timestamp_ms':150000,'value':1},"
                   "{'timestamp_ms':300000,'value':1},{'timestamp_ms':400000,'value':1}]},"
                   "{'labels':{'__name__':'up','job':'checkout','instance':'pod-1'},"
                   "'samples':[{'timestamp_ms':0,'value':1},{'timestamp_ms':400000,'value':1}]}],"
                   "'metadata':{'target_info':{'type':'gauge','help':'Target metadata','unit':''},"
                   "'up':{'type':'gauge','help':'','unit':''}}}");
}

static void test_promoted_resource_attributes_never_override_point_attributes(void **state)
{
    struct fixture *f = *state;
    const char *const promote[] = {"k8s.namespace.name", NULL};
    use_options(f, &(struct prometheus_options){.otlp_enabled = true,
                                                .promote_resource_attributes = promote});
    struct payload *p = payload_new(SIGNAL_METRICS);
    metric *m =
        add_gauge(add_resource(p, (const char *const[]){"service.name", "checkout",
                                                        "k8s.namespace.name", "prod", NULL}),
                  "a", "");
    add_number_point(m, f->base_ms, 1, NULL);
    add_number_point(m, f->base_ms, 2, (const char *const[]){"k8s_namespace_name", "dp", NULL});
    assert_accepted(send_metrics(f, p));
    assert_view(f, "{'series':["
                   "{'labels':{'__name__':'a','job':'checkout','k8s_namespace_name':'dp'},"
                   "'samples':[{'timestamp_ms':0,'value':2}]},"
                   "{'labels':{'__name__':'a','job':'checkout','k8s_namespace_name':'prod'},"
                   "'samples':[{'timestamp_ms':0,'value':1}]},"
                   "{'labels':{'__name__':'target_info','job':'checkout',"
                   "'k8s_namespace_name':'prod'},'samples':[{'timestamp_ms':0,'value':1}]}],"
                   "'metadata':{'a':{'type':'gauge','help':'','unit':''},"
                   "'target_info':{'type':'gauge','help':'Target metadata','unit':''}}}");
}

static void test_attribute_keys_that_collide_join_their_values_in_key_order(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    add_number_point(add_gauge(add_resource(p, checkout_service), "g", ""), f->base_ms, 1,
                     (const char *const[]){"a_b", "2", "a.b", "1", NULL});
    assert_accepted(send_metrics(f, p));
    assert_view(f, "{'series':[{'labels':{'__name__':'g','job':'shop/checkout','instance':'pod-1',"
                   "'a_b':'1;2'},'samples':[{'timestamp_ms':0,'value':1}]}],"
                   "'metadata':{'g':{'type':'gauge','help':'','unit':''}}}");
}

/* ---- decoding: content type, encoding, body ---- */

static void test_gzip_body_is_accepted(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    add_number_point(add_gauge(add_resource(p, checkout_service), "g", ""), f->base_ms, 7, NULL);
    uint8_t *buf = NULL, *gz = NULL;
    size_t len = 0, gz_len = 0;
    assert_int_equal(payload_encode(p, &buf, &len), 0);
    payload_free(p);
    assert_int_equal(compress_buffer(COMPRESSION_GZIP, buf, len, &gz, &gz_len), 0);
    assert_accepted(request(f, "POST", OTLP_PATH, PROTOBUF, "gzip", gz, gz_len));
    free(buf);
    free(gz);
    assert_int_equal(f->last_items, 1);
    assert_view(f, "{'series':[{'labels':{'__name__':'g','job':'shop/checkout',"
                   "'instance':'pod-1'},'samples':[{'timestamp_ms':0,'value':7}]}],"
                   "'metadata':{'g':{'type':'gauge','help':'','unit':''}}}");
}

static void test_json_body_is_accepted(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    add_number_point(add_gauge(add_resource(p, checkout_service), "g", ""), f->base_ms, 7, NULL);
    size_t len = 0;
    char *text = otlp_json_encode_text(p->message, &len);
    assert_non_null(text);
    payload_free(p);
    assert_accepted(request(f, "POST", OTLP_PATH, "application/json", NULL, text, len));
    free(text);
    assert_view(f, "{'series':[{'labels':{'__name__':'g','job':'shop/checkout',"
                   "'instance':'pod-1'},'samples':[{'timestamp_ms':0,'value':7}]}],"
                   "'metadata':{'g':{'type':'gauge','help':'','unit':''}}}");
}

static void test_unsupported_content_type_is_400(void **state)
{
    struct fixture *f = *state;
    struct http_result r = request(f, "POST", OTLP_PATH, "text/plain", NULL, "x", 1);
    assert_response(&r, 400,
                    "unsupported content type: text/plain, supported: "
                    "[application/json, application/x-protobuf]\n");
}

static void test_content_type_with_parameters_is_400(void **state)
{
    struct fixture *f = *state;
    struct http_result r =
        request(f, "POST", OTLP_PATH, "application/x-protobuf; charset=utf-8", NULL, "", 0);
    assert_response(&r, 400,
                    "unsupported content type: application/x-protobuf; charset=utf-8, "
                    "supported: [application/json, application/x-protobuf]\n");
}

static void test_missing_content_type_is_400(void **state)
{
    struct fixture *f = *state;
    struct http_result r = request(f, "POST", OTLP_PATH, NULL, NULL, "", 0);
    assert_response(&r, 400,
                    "unsupported content type: , supported: "
                    "[application/json, application/x-protobuf]\n");
}

static void test_unsupported_content_encoding_is_400(void **state)
{
    struct fixture *f = *state;
    struct http_result r = request(f, "POST", OTLP_PATH, PROTOBUF, "zstd", "", 0);
    assert_response(&r, 400,
                    "unsupported compression: zstd. Only \"gzip\" or no compression "
                    "supported\n");
}

static void test_undecodable_bodies_are_400_with_a_text_and_no_items(void **state)
{
    struct fixture *f = *state;
    /* a truncated protobuf field, a body that is not gzip, JSON that is not JSON */
    static const uint8_t truncated[] = {0x0a, 0x05, 0x0a};
    const struct {
        const char *content_type, *encoding;
        const void *body;
        size_t len;
    } cases[] = {
        {PROTOBUF, NULL, truncated, sizeof(truncated)},
        {PROTOBUF, "gzip", "not gzip", 8},
        {"application/json", NULL, "{\"resourceMetrics\":", 19},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f->last_items = 99;
        struct http_result r = request(f, "POST", OTLP_PATH, cases[i].content_type,
                                       cases[i].encoding, cases[i].body, cases[i].len);
        if (r.status != 400 || r.len < 2 || r.body[r.len - 1] != '\n')
            fail_msg("case %zu: want 400 and a text, got %ld '%s'", i, r.status, r.body);
        assert_string_equal(r.content_type, "text/plain; charset=utf-8");
        assert_int_equal(f->last_items, 0);
        free(r.body);
    }
    assert_view(f, EMPTY_VIEW);
}

static void test_items_are_the_data_points_of_the_request(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    resource_metrics *rm = add_resource(p, checkout_service);
    metric *m = add_gauge(rm, "g", "");
    add_number_point(m, f->base_ms, 1, NULL);
    add_number_point(m, f->base_ms + 1000, 2, NULL);
    add_number_point(add_sum(rm, "c", "", true, DELTA), f->base_ms, 1, NULL);
    struct http_result r = send_metrics(f, p);
    free(r.body);
    assert_int_equal(f->last_items, 3); /* counted even when the request is then refused */
}

/* ---- routes ---- */

static void test_other_paths_are_404(void **state)
{
    struct fixture *f = *state;
    struct http_result r = request(f, "GET", "/metrics", NULL, NULL, NULL, 0);
    assert_response(&r, 404, "404 page not found\n");
    r = request(f, "POST", "/api/v1/otlp/v1/logs", PROTOBUF, NULL, "", 0);
    assert_response(&r, 404, "404 page not found\n");
}

static void test_disabled_receiver_is_404_with_the_flag_hint(void **state)
{
    struct fixture *f = *state;
    use_options(f, &(struct prometheus_options){.otlp_enabled = false});
    struct http_result r = request(f, "POST", OTLP_PATH, PROTOBUF, NULL, "", 0);
    assert_response(&r, 404,
                    "otlp write receiver needs to be enabled with "
                    "--web.enable-otlp-receiver\n");
}

/* ---- conversion errors: 500, and nothing of the request is stored ---- */

static void test_delta_sum_is_500_and_rolls_back_the_whole_request(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    resource_metrics *rm = add_resource(p, checkout_service);
    add_number_point(add_gauge(rm, "good.gauge", ""), f->base_ms, 1, NULL);
    add_number_point(add_sum(rm, "delta.count", "", true, DELTA), f->base_ms, 1, NULL);
    struct http_result r = send_metrics(f, p);
    assert_response(&r, 500,
                    "invalid temporality and type combination for metric "
                    "\"delta.count\"\n");
    assert_view(f, EMPTY_VIEW);
}

static void test_empty_data_points_is_500(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    add_gauge(add_resource(p, checkout_service), "empty.gauge", "");
    struct http_result r = send_metrics(f, p);
    assert_response(&r, 500, "empty data points. empty.gauge is dropped\n");
    assert_view(f, EMPTY_VIEW);
}

static void test_errors_of_several_metrics_are_joined_in_order(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    resource_metrics *rm = add_resource(p, checkout_service);
    add_number_point(add_sum(rm, "delta.count", "", true, DELTA), f->base_ms, 1, NULL);
    add_number_point(add_gauge(rm, "good.gauge", ""), f->base_ms, 1, NULL);
    add_gauge(rm, "empty.gauge", "");
    struct http_result r = send_metrics(f, p);
    assert_response(&r, 500,
                    "invalid temporality and type combination for metric "
                    "\"delta.count\"; empty data points. empty.gauge is dropped\n");
    assert_view(f, EMPTY_VIEW);
}

/* ---- storage errors: 400, and nothing of the request is stored ---- */

/* Stores http_requests_total{...} = value at base + offset. */
static void store_counter(struct fixture *f, int64_t offset_ms, double value)
{
    struct payload *p = payload_new(SIGNAL_METRICS);
    add_number_point(
        add_sum(add_resource(p, checkout_service), "http.requests", "", true, CUMULATIVE),
        f->base_ms + offset_ms, value, NULL);
    assert_accepted(send_metrics(f, p));
}

#define COUNTER_AT_60S_IS_5                                                                        \
    "{'series':[{'labels':{'__name__':'http_requests_total','job':'shop/checkout',"                \
    "'instance':'pod-1'},'samples':[{'timestamp_ms':60000,'value':5}]}],"                          \
    "'metadata':{'http_requests_total':{'type':'counter','help':'','unit':''}}}"

static void test_out_of_order_sample_is_400_and_rolls_back_the_request(void **state)
{
    struct fixture *f = *state;
    store_counter(f, 60000, 5);
    struct payload *p = payload_new(SIGNAL_METRICS);
    resource_metrics *rm = add_resource(p, checkout_service);
    add_number_point(add_gauge(rm, "new.gauge", ""), f->base_ms + 90000, 1, NULL);
    add_number_point(add_sum(rm, "http.requests", "", true, CUMULATIVE), f->base_ms + 30000, 6,
                     NULL);
    struct http_result r = send_metrics(f, p);
    assert_response(&r, 400, "out of order sample\n");
    assert_view(f, COUNTER_AT_60S_IS_5); /* new.gauge was rolled back too */
}

static void test_storage_error_beside_a_conversion_error_is_400(void **state)
{
    struct fixture *f = *state;
    store_counter(f, 60000, 5);
    struct payload *p = payload_new(SIGNAL_METRICS);
    resource_metrics *rm = add_resource(p, checkout_service);
    add_number_point(add_sum(rm, "delta.count", "", true, DELTA), f->base_ms, 1, NULL);
    add_number_point(add_sum(rm, "http.requests", "", true, CUMULATIVE), f->base_ms, 6, NULL);
    struct http_result r = send_metrics(f, p);
    assert_response(&r, 400,
                    "invalid temporality and type combination for metric "
                    "\"delta.count\"; out of order sample\n");
    assert_view(f, COUNTER_AT_60S_IS_5);
}

static void test_duplicate_sample_with_the_same_value_is_accepted_once(void **state)
{
    struct fixture *f = *state;
    store_counter(f, 60000, 5);
    store_counter(f, 60000, 5);
    assert_view(f, COUNTER_AT_60S_IS_5);
}

static void test_duplicate_sample_with_another_value_is_400(void **state)
{
    struct fixture *f = *state;
    store_counter(f, 60000, 5);
    struct payload *p = payload_new(SIGNAL_METRICS);
    add_number_point(
        add_sum(add_resource(p, checkout_service), "http.requests", "", true, CUMULATIVE),
        f->base_ms + 60000, 6.5, NULL);
    struct http_result r = send_metrics(f, p);
    char want[256];
    snprintf(want, sizeof(want),
             "duplicate sample for timestamp %lld; overrides not allowed: existing 5, new value "
             "6.5\n",
             (long long)(f->base_ms + 60000));
    assert_response(&r, 400, want);
    assert_view(f, COUNTER_AT_60S_IS_5);
}

static void test_disorder_within_one_request_is_dropped_without_an_error(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    metric *m = add_sum(add_resource(p, checkout_service), "http.requests", "", true, CUMULATIVE);
    add_number_point(m, f->base_ms + 60000, 5, NULL);
    add_number_point(m, f->base_ms + 30000, 4, NULL); /* older: dropped at commit */
    add_number_point(m, f->base_ms + 60000, 7, NULL); /* same time, other value: dropped */
    assert_accepted(send_metrics(f, p));
    assert_view(f, COUNTER_AT_60S_IS_5);
}

static void test_sample_too_far_in_the_future_is_out_of_bounds(void **state)
{
    struct fixture *f = *state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    add_number_point(add_gauge(add_resource(p, checkout_service), "g", ""),
                     f->base_ms + 25 * MINUTE_MS, 1, NULL); /* about 15 minutes ahead */
    struct http_result r = send_metrics(f, p);
    assert_response(&r, 400, "out of bounds: timestamp is too far in the future\n");
    assert_view(f, EMPTY_VIEW);
}

static void test_sample_an_hour_behind_the_head_is_out_of_bounds(void **state)
{
    struct fixture *f = *state;
    store_counter(f, 60000, 5);
    struct payload *p = payload_new(SIGNAL_METRICS);
    add_number_point(add_gauge(add_resource(p, checkout_service), "g", ""),
                     f->base_ms + 60000 - 61 * MINUTE_MS, 1, NULL);
    struct http_result r = send_metrics(f, p);
    assert_response(&r, 400, "out of bounds\n");
    assert_view(f, COUNTER_AT_60S_IS_5);
}

/* ---- the views' bookkeeping ---- */

static void test_otlp_view_holds_accepted_requests_in_arrival_order(void **state)
{
    struct fixture *f = *state;
    store_counter(f, 60000, 5);
    struct payload *p = payload_new(SIGNAL_METRICS);
    add_gauge(add_resource(p, checkout_service), "empty.gauge", "");
    struct http_result r = send_metrics(f, p);
    free(r.body);
    store_counter(f, 120000, 6);

    json_t *otlp = prometheus_view_otlp(f->prometheus);
    assert_non_null(otlp);
    assert_int_equal(json_array_size(otlp), 2);
    /* the refused request is not there: the second entry is the 120 s counter */
    const char *name = NULL, *time = NULL;
    assert_int_equal(json_unpack(json_array_get(otlp, 1), "{s:[{s:[{s:[{s:s, s:{s:[{s:s}]}}]}]}]}",
                                 "resourceMetrics", "scopeMetrics", "metrics", "name", &name, "sum",
                                 "dataPoints", "timeUnixNano", &time),
                     0);
    assert_string_equal(name, "http.requests");
    char want_time[32];
    snprintf(want_time, sizeof(want_time), "%lld000000", (long long)(f->base_ms + 120000));
    assert_string_equal(time, want_time);
    json_decref(otlp);
}

static void test_reset_forgets_everything(void **state)
{
    struct fixture *f = *state;
    store_counter(f, 60000, 5);
    prometheus_reset(f->prometheus);
    assert_view(f, EMPTY_VIEW);
    json_t *otlp = prometheus_view_otlp(f->prometheus);
    assert_int_equal(json_array_size(otlp), 0);
    json_decref(otlp);
    store_counter(f, 0, 1); /* an older sample is fine again: the head is empty */
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_monotonic_sum_becomes_total_counter_with_job_and_instance),
        TEST(test_gauges_take_unit_suffixes_and_int_or_double_values),
        TEST(test_histogram_becomes_cumulative_buckets_sum_and_count),
        TEST(test_summary_becomes_quantiles_sum_and_count),
        TEST(test_exponential_histogram_is_stored_as_a_native_histogram_summary),
        TEST(test_no_recorded_value_flag_stores_a_stale_marker),
        TEST(test_target_info_carries_the_other_resource_attributes),
        TEST(test_promoted_resource_attributes_never_override_point_attributes),
        TEST(test_attribute_keys_that_collide_join_their_values_in_key_order),
        TEST(test_gzip_body_is_accepted),
        TEST(test_json_body_is_accepted),
        TEST(test_unsupported_content_type_is_400),
        TEST(test_content_type_with_parameters_is_400),
        TEST(test_missing_content_type_is_400),
        TEST(test_unsupported_content_encoding_is_400),
        TEST(test_undecodable_bodies_are_400_with_a_text_and_no_items),
        TEST(test_items_are_the_data_points_of_the_request),
        TEST(test_other_paths_are_404),
        TEST(test_disabled_receiver_is_404_with_the_flag_hint),
        TEST(test_delta_sum_is_500_and_rolls_back_the_whole_request),
        TEST(test_empty_data_points_is_500),
        TEST(test_errors_of_several_metrics_are_joined_in_order),
        TEST(test_out_of_order_sample_is_400_and_rolls_back_the_request),
        TEST(test_storage_error_beside_a_conversion_error_is_400),
        TEST(test_duplicate_sample_with_the_same_value_is_accepted_once),
        TEST(test_duplicate_sample_with_another_value_is_400),
        TEST(test_disorder_within_one_request_is_dropped_without_an_error),
        TEST(test_sample_too_far_in_the_future_is_out_of_bounds),
        TEST(test_sample_an_hour_behind_the_head_is_out_of_bounds),
        TEST(test_otlp_view_holds_accepted_requests_in_arrival_order),
        TEST(test_reset_forgets_everything),
    };
#undef TEST
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
