/*
 * test_prom_to_otlp.c - unit tests of the scrape-to-OTLP conversion
 * (reference/receivers/prometheus/prom_to_otlp.c): the rules of shared/facts/receivers.md §3
 * one by one, each on a small body parsed with expfmt. One test compares a whole payload as
 * OTLP/JSON, so the layout upstream writes is pinned once; the others look at the fields their
 * rule is about.
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

#include "expfmt.h"
#include "otlp_json.h"
#include "pdata.h"
#include "prom_to_otlp.h"

typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics otlp_resource_metrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics otlp_scope_metrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric otlp_metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint otlp_number_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint otlp_histogram_point;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint otlp_summary_point;

#define PROM EXPFMT_FORMAT_PROMETHEUS
#define OM EXPFMT_FORMAT_OPENMETRICS
#define METRIC_DATA(kind) OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_##kind
/* 2024-01-01T00:00:00.123456789Z: the sub-millisecond part must not reach the points. */
#define SCRAPE_NS UINT64_C(1704067200123456789)
#define SCRAPE_MS_NS UINT64_C(1704067200123000000)

static const struct prom_target target = {"app", "10.1.2.3:8080", "http"};

static struct expfmt_body *parse(const char *text, enum expfmt_format format)
{
    struct expfmt_body *body = NULL;
    struct error err = {0};
    int rc = expfmt_parse(text, strlen(text), format, NULL, &body, &err);
    if (rc != 0)
        fail_msg("expfmt_parse: %s", err.message);
    return body;
}

static struct payload *convert_with(const char *text, enum expfmt_format format,
                                    const struct prom_target *with)
{
    struct expfmt_body *body = parse(text, format);
    struct payload *p = NULL;
    assert_int_equal(prom_to_otlp_convert(body, with, SCRAPE_NS, &p, NULL), 0);
    expfmt_body_destroy(body);
    assert_non_null(p);
    return p;
}

static struct payload *convert(const char *text, enum expfmt_format format)
{
    return convert_with(text, format, &target);
}

/* The only metric named `name` anywhere in the payload; fails the test when absent. */
static otlp_metric *metric_named(const struct payload *p, const char *name)
{
    for (size_t r = 0; r < p->metrics->n_resource_metrics; r++) {
        otlp_resource_metrics *rm = p->metrics->resource_metrics[r];
        for (size_t s = 0; s < rm->n_scope_metrics; s++)
            for (size_t m = 0; m < rm->scope_metrics[s]->n_metrics; m++)
                if (strcmp(rm->scope_metrics[s]->metrics[m]->name, name) == 0)
                    return rm->scope_metrics[s]->metrics[m];
    }
    fail_msg("no metric %s", name);
    return NULL;
}

static size_t metric_total(const struct payload *p)
{
    size_t total = 0;
    for (size_t r = 0; r < p->metrics->n_resource_metrics; r++) {
        otlp_resource_metrics *rm = p->metrics->resource_metrics[r];
        for (size_t s = 0; s < rm->n_scope_metrics; s++)
            total += rm->scope_metrics[s]->n_metrics;
    }
    return total;
}

static const char *attr(otlp_keyvalue *const *attrs, size_t n, const char *key)
{
    return pdata_attr_get_string(attrs, n, key);
}

static const char *resource_attr(const struct payload *p, size_t index, const char *key)
{
    assert_true(index < p->metrics->n_resource_metrics);
    otlp_resource *r = p->metrics->resource_metrics[index]->resource;
    return attr(r->attributes, r->n_attributes, key);
}

static const char *metric_type(const otlp_metric *m)
{
    return attr(m->metadata, m->n_metadata, "prometheus.type");
}

static double stale_nan(void)
{
    uint64_t bits = PROM_STALE_NAN_BITS;
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static void test_counter_is_monotonic_cumulative_sum_as_upstream_writes_it(void **state)
{
    (void)state;
    struct payload *p = convert("# HELP http_requests_total Requests served.\n"
                                "# TYPE http_requests_total counter\n"
                                "http_requests_total{code=\"200\",job=\"app\"} 1027\n",
                                PROM);
    char *json = otlp_json_encode_text(p->message, NULL);
    assert_string_equal(
        json,
        "{\"resourceMetrics\":[{\"resource\":{\"attributes\":["
        "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"app\"}},"
        "{\"key\":\"server.address\",\"value\":{\"stringValue\":\"10.1.2.3\"}},"
        "{\"key\":\"service.instance.id\",\"value\":{\"stringValue\":\"10.1.2.3:8080\"}},"
        "{\"key\":\"server.port\",\"value\":{\"stringValue\":\"8080\"}},"
        "{\"key\":\"url.scheme\",\"value\":{\"stringValue\":\"http\"}}]},"
        "\"scopeMetrics\":[{\"scope\":{\"name\":\"github.com/open-telemetry/"
        "opentelemetry-collector-contrib/receiver/prometheusreceiver\",\"version\":\"0.144.0\"},"
        "\"metrics\":[{\"name\":\"http_requests_total\",\"description\":\"Requests served.\","
        "\"sum\":{\"dataPoints\":[{\"attributes\":[{\"key\":\"code\",\"value\":{\"stringValue\":"
        "\"200\"}}],\"timeUnixNano\":\"1704067200123000000\",\"asDouble\":1027}],"
        "\"aggregationTemporality\":2,\"isMonotonic\":true},"
        "\"metadata\":[{\"key\":\"prometheus.type\",\"value\":{\"stringValue\":\"counter\"}}]}]}]}]"
        "}");
    free(json);
    payload_free(p);
}

static void test_gauge_becomes_gauge(void **state)
{
    (void)state;
    struct payload *p = convert("# TYPE temperature gauge\ntemperature{room=\"a\"} -3.5\n", PROM);
    otlp_metric *m = metric_named(p, "temperature");
    assert_int_equal(m->data_case, METRIC_DATA(GAUGE));
    assert_string_equal(metric_type(m), "gauge");
    assert_int_equal(m->gauge->n_data_points, 1);
    assert_true(m->gauge->data_points[0]->as_double == -3.5);
    assert_int_equal(m->gauge->data_points[0]->start_time_unix_nano, 0);
    assert_string_equal(m->description, "");
    payload_free(p);
}

static void test_untyped_becomes_gauge_with_type_unknown(void **state)
{
    (void)state;
    struct payload *p = convert("plain 7\n# TYPE other untyped\nother 8\n", PROM);
    assert_int_equal(metric_named(p, "plain")->data_case, METRIC_DATA(GAUGE));
    assert_string_equal(metric_type(metric_named(p, "plain")), "unknown");
    assert_int_equal(metric_named(p, "other")->data_case, METRIC_DATA(GAUGE));
    assert_string_equal(metric_type(metric_named(p, "other")), "unknown");
    payload_free(p);
}

static void test_histogram_sorts_finite_bounds_and_unaccumulates_buckets(void **state)
{
    (void)state;
    struct payload *p = convert("# TYPE latency histogram\n"
                                "latency_bucket{path=\"/\",le=\"+Inf\"} 10\n"
                                "latency_bucket{path=\"/\",le=\"1\"} 7\n"
                                "latency_bucket{path=\"/\",le=\"0.5\"} 3\n"
                                "latency_sum{path=\"/\"} 4.25\n"
                                "latency_count{path=\"/\"} 10 1700000000000\n",
                                PROM);
    otlp_metric *m = metric_named(p, "latency");
    assert_int_equal(m->data_case, METRIC_DATA(HISTOGRAM));
    assert_int_equal(m->histogram->aggregation_temporality, 2);
    assert_string_equal(metric_type(m), "histogram");
    assert_int_equal(m->histogram->n_data_points, 1);
    otlp_histogram_point *h = m->histogram->data_points[0];
    assert_int_equal(h->n_explicit_bounds, 2);
    assert_true(h->explicit_bounds[0] == 0.5 && h->explicit_bounds[1] == 1);
    assert_int_equal(h->n_bucket_counts, 3);
    assert_int_equal(h->bucket_counts[0], 3);
    assert_int_equal(h->bucket_counts[1], 4);
    assert_int_equal(h->bucket_counts[2], 3);
    assert_int_equal(h->count, 10);
    assert_true(h->_sum_case != 0 && h->sum == 4.25);
    /* The point's time is _count's. */
    assert_int_equal(h->time_unix_nano, UINT64_C(1700000000000) * 1000000);
    assert_int_equal(h->start_time_unix_nano, 0);
    assert_int_equal(h->n_attributes, 1);
    assert_string_equal(attr(h->attributes, h->n_attributes, "path"), "/");
    payload_free(p);
}

static void test_histogram_group_without_count_is_dropped(void **state)
{
    (void)state;
    struct payload *p = convert("# TYPE latency histogram\n"
                                "latency_bucket{path=\"/a\",le=\"+Inf\"} 1\n"
                                "latency_sum{path=\"/a\"} 1\n"
                                "latency_bucket{path=\"/b\",le=\"+Inf\"} 2\n"
                                "latency_count{path=\"/b\"} 2\n"
                                "# TYPE lonely histogram\n"
                                "lonely_bucket{le=\"+Inf\"} 1\n",
                                PROM);
    otlp_metric *m = metric_named(p, "latency");
    assert_int_equal(m->histogram->n_data_points, 1);
    otlp_histogram_point *h = m->histogram->data_points[0];
    assert_string_equal(attr(h->attributes, h->n_attributes, "path"), "/b");
    assert_int_equal(metric_total(p), 1); /* lonely had no group left: no metric */
    payload_free(p);
}

static void test_summary_keeps_quantiles_count_and_sum(void **state)
{
    (void)state;
    struct payload *p = convert("# TYPE rpc summary\n"
                                "rpc{quantile=\"0.99\"} 1.5\n"
                                "rpc{quantile=\"0.5\"} 0.2\n"
                                "rpc_sum 30\n"
                                "rpc_count 100\n",
                                PROM);
    otlp_metric *m = metric_named(p, "rpc");
    assert_int_equal(m->data_case, METRIC_DATA(SUMMARY));
    assert_string_equal(metric_type(m), "summary");
    otlp_summary_point *s = m->summary->data_points[0];
    assert_int_equal(s->count, 100);
    assert_true(s->sum == 30);
    assert_int_equal(s->n_attributes, 0);
    assert_int_equal(s->n_quantile_values, 2);
    assert_true(s->quantile_values[0]->quantile == 0.5 && s->quantile_values[0]->value == 0.2);
    assert_true(s->quantile_values[1]->quantile == 0.99 && s->quantile_values[1]->value == 1.5);
    assert_int_equal(s->time_unix_nano, SCRAPE_MS_NS);
    payload_free(p);
}

static void test_info_and_stateset_become_non_monotonic_sums(void **state)
{
    (void)state;
    struct payload *p = convert("# TYPE build info\n"
                                "build_info{version=\"1.2\"} 1\n"
                                "# TYPE door stateset\n"
                                "door{door=\"open\"} 1\n"
                                "door{door=\"closed\"} 0\n"
                                "# EOF\n",
                                OM);
    /* The _info suffix is trimmed like a histogram's _bucket (metadata.go metadataForMetric). */
    otlp_metric *info = metric_named(p, "build");
    assert_int_equal(info->data_case, METRIC_DATA(SUM));
    assert_false(info->sum->is_monotonic);
    assert_int_equal(info->sum->aggregation_temporality, 2);
    assert_string_equal(metric_type(info), "info");
    otlp_metric *door = metric_named(p, "door");
    assert_int_equal(door->data_case, METRIC_DATA(SUM));
    assert_false(door->sum->is_monotonic);
    assert_string_equal(metric_type(door), "stateset");
    assert_int_equal(door->sum->n_data_points, 2);
    payload_free(p);
}

static void test_gaugehistogram_is_dropped(void **state)
{
    (void)state;
    struct payload *p = convert("# TYPE queue gaugehistogram\n"
                                "queue_bucket{le=\"+Inf\"} 3\n"
                                "queue_gcount 3\n"
                                "queue_gsum 5\n"
                                "# TYPE kept gauge\n"
                                "kept 1\n"
                                "# EOF\n",
                                OM);
    assert_int_equal(metric_total(p), 1);
    metric_named(p, "kept");
    payload_free(p);
}

static void test_target_info_becomes_resource_attributes_only(void **state)
{
    (void)state;
    struct payload *p = convert("# TYPE target_info gauge\n"
                                "target_info{job=\"app\",instance=\"10.1.2.3:8080\","
                                "deployment_environment=\"prod\",region=\"eu\"} 1\n"
                                "up_time 5\n",
                                PROM);
    assert_int_equal(p->metrics->n_resource_metrics, 1);
    assert_string_equal(resource_attr(p, 0, "deployment_environment"), "prod");
    assert_string_equal(resource_attr(p, 0, "region"), "eu");
    assert_string_equal(resource_attr(p, 0, "service.name"), "app");
    assert_int_equal(metric_total(p), 1);
    metric_named(p, "up_time");
    payload_free(p);
}

static void test_target_info_alone_sends_no_resource(void **state)
{
    (void)state;
    struct payload *p =
        convert("target_info{job=\"other\",instance=\"h:1\",a=\"b\"} 1\ng 1\n", PROM);
    assert_int_equal(p->metrics->n_resource_metrics, 1);
    assert_string_equal(resource_attr(p, 0, "service.name"), "app");
    assert_null(resource_attr(p, 0, "a"));
    payload_free(p);
}

static void test_scope_version_alone_still_names_the_scope(void **state)
{
    (void)state;
    struct payload *p = convert("a{otel_scope_version=\"3\"} 1\n", PROM);
    otlp_scope_metrics *sm = p->metrics->resource_metrics[0]->scope_metrics[0];
    assert_string_equal(sm->scope->name, "");
    assert_string_equal(sm->scope->version, "3");
    payload_free(p);
}

static void test_scope_labels_choose_the_scope_and_are_no_attributes(void **state)
{
    (void)state;
    struct payload *p = convert("a{otel_scope_name=\"lib\",otel_scope_version=\"2.0\",x=\"1\"} 1\n"
                                "b 2\n",
                                PROM);
    otlp_resource_metrics *rm = p->metrics->resource_metrics[0];
    assert_int_equal(rm->n_scope_metrics, 2);
    assert_string_equal(rm->scope_metrics[0]->scope->name, "lib");
    assert_string_equal(rm->scope_metrics[0]->scope->version, "2.0");
    assert_string_equal(rm->scope_metrics[0]->metrics[0]->name, "a");
    otlp_number_point *a = rm->scope_metrics[0]->metrics[0]->gauge->data_points[0];
    assert_int_equal(a->n_attributes, 1);
    assert_string_equal(attr(a->attributes, a->n_attributes, "x"), "1");
    assert_string_equal(rm->scope_metrics[1]->scope->name, PROM_TO_OTLP_SCOPE_NAME);
    assert_string_equal(rm->scope_metrics[1]->scope->version, "0.144.0");
    payload_free(p);
}

static void test_empty_and_target_labels_are_no_attributes(void **state)
{
    (void)state;
    struct payload *p =
        convert("g{a=\"\",b=\"x\",__scheme__=\"http\",__metrics_path__=\"/m\"} 1\n", PROM);
    otlp_number_point *g = metric_named(p, "g")->gauge->data_points[0];
    assert_int_equal(g->n_attributes, 1);
    assert_string_equal(attr(g->attributes, g->n_attributes, "b"), "x");
    payload_free(p);
}

static void test_loopback_instance_has_no_server_address(void **state)
{
    (void)state;
    static const struct {
        const char *instance, *address, *port;
    } cases[] = {
        {"127.0.0.1:9090", NULL, "9090"},
        {"localhost:9090", NULL, "9090"},
        {"0.0.0.0:80", NULL, "80"},
        {"[::1]:9090", NULL, "9090"},
        {"[::]:9090", NULL, "9090"},
        {"[::ffff:127.0.0.2]:80", NULL, "80"}, /* Go judges a mapped IPv4 as IPv4 */
        {"[fd00::5]:9100", "fd00::5", "9100"},
        {"node-exporter", "node-exporter", ""},
        {"pod.ns.svc:443", "pod.ns.svc", "443"},
        /* net.SplitHostPort refuses these: the whole label is the host, the port "". */
        {"[fd00::5]", "[fd00::5]", ""},
        {"fd00::5", "fd00::5", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct prom_target t = {"job", cases[i].instance, "https"};
        struct payload *p = convert_with("g 1\n", PROM, &t);
        const char *address = resource_attr(p, 0, "server.address");
        if (cases[i].address)
            assert_string_equal(address, cases[i].address);
        else
            assert_null(address);
        assert_string_equal(resource_attr(p, 0, "server.port"), cases[i].port);
        assert_string_equal(resource_attr(p, 0, "service.instance.id"), cases[i].instance);
        assert_string_equal(resource_attr(p, 0, "url.scheme"), "https");
        payload_free(p);
    }
}

static void test_sample_job_and_instance_make_their_own_resource(void **state)
{
    (void)state;
    struct payload *p = convert(
        "g 1\ng{job=\"other\",instance=\"10.0.0.9:1\"} 2\ng{job=\"\",instance=\"\",x=\"1\"} 3\n",
        PROM);
    assert_int_equal(p->metrics->n_resource_metrics, 2);
    assert_string_equal(resource_attr(p, 0, "service.name"), "app");
    assert_string_equal(resource_attr(p, 1, "service.name"), "other");
    assert_string_equal(resource_attr(p, 1, "server.address"), "10.0.0.9");
    /* Empty job and instance labels count as absent: that sample is the target's. */
    otlp_metric *g = p->metrics->resource_metrics[0]->scope_metrics[0]->metrics[0];
    assert_int_equal(g->gauge->n_data_points, 2);
    payload_free(p);
}

static void test_explicit_timestamps_win_over_scrape_time(void **state)
{
    (void)state;
    struct payload *p = convert("g{a=\"1\"} 1 1600000000123\ng{a=\"2\"} 2\n", PROM);
    otlp_metric *m = metric_named(p, "g");
    assert_int_equal(m->gauge->data_points[0]->time_unix_nano, UINT64_C(1600000000123000000));
    assert_int_equal(m->gauge->data_points[1]->time_unix_nano, SCRAPE_MS_NS);
    payload_free(p);
}

static void test_openmetrics_created_is_start_time_and_unit_is_ucum(void **state)
{
    (void)state;
    struct payload *p = convert("# TYPE jobs_seconds counter\n"
                                "# UNIT jobs_seconds seconds\n"
                                "jobs_seconds_total{q=\"a\"} 3\n"
                                "jobs_seconds_created{q=\"a\"} 1600000000.5\n"
                                "# TYPE size_bytes_per_seconds gauge\n"
                                "# UNIT size_bytes_per_seconds bytes_per_seconds\n"
                                "size_bytes_per_seconds 1\n"
                                "# EOF\n",
                                OM);
    otlp_metric *jobs = metric_named(p, "jobs_seconds_total");
    assert_string_equal(jobs->unit, "s");
    assert_true(jobs->sum->is_monotonic);
    assert_int_equal(jobs->sum->n_data_points, 1);
    assert_int_equal(jobs->sum->data_points[0]->start_time_unix_nano,
                     UINT64_C(1600000000500000000));
    assert_string_equal(metric_named(p, "size_bytes_per_seconds")->unit, "By/s");
    payload_free(p);
}

static void test_stale_nan_becomes_no_recorded_value(void **state)
{
    (void)state;
    struct expfmt_body *body =
        parse("g 1\n"
              "# TYPE h histogram\n"
              "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n"
              "h_sum 1\nh_count 1\n"
              "# TYPE s summary\n"
              "s{quantile=\"0.9\"} 2\ns{quantile=\"0.1\"} 1\ns_sum 3\ns_count 2\n",
              PROM);
    /* A scrape body cannot carry StaleNaN; the scrape loop writes it for vanished series. */
    for (size_t f = 0; f < body->family_count; f++)
        for (size_t s = 0; s < body->families[f].sample_count; s++)
            body->families[f].samples[s].value = stale_nan();
    struct payload *p = NULL;
    assert_int_equal(prom_to_otlp_convert(body, &target, SCRAPE_NS, &p, NULL), 0);
    expfmt_body_destroy(body);
    otlp_number_point *g = metric_named(p, "g")->gauge->data_points[0];
    assert_int_equal(g->flags, 1);
    assert_int_equal(g->value_case, 0);
    otlp_histogram_point *h = metric_named(p, "h")->histogram->data_points[0];
    assert_int_equal(h->flags, 1);
    assert_int_equal(h->count, 0);
    assert_int_equal(h->_sum_case, 0);
    /* The bounds stay, with zero counts (metricfamily.go toDistributionPoint). */
    assert_int_equal(h->n_explicit_bounds, 1);
    assert_int_equal(h->n_bucket_counts, 2);
    assert_int_equal(h->bucket_counts[0], 0);
    assert_int_equal(h->bucket_counts[1], 0);
    /* Quantiles stay too, sorted, their values unset. */
    otlp_summary_point *sp = metric_named(p, "s")->summary->data_points[0];
    assert_int_equal(sp->flags, 1);
    assert_int_equal(sp->count, 0);
    assert_int_equal(sp->n_quantile_values, 2);
    assert_true(sp->quantile_values[0]->quantile == 0.1 && sp->quantile_values[0]->value == 0);
    assert_true(sp->quantile_values[1]->quantile == 0.9 && sp->quantile_values[1]->value == 0);
    payload_free(p);
}

static void check_scrape_gauge(const struct payload *p, const char *name, const char *description,
                               const char *unit, double value)
{
    otlp_metric *m = metric_named(p, name);
    assert_int_equal(m->data_case, METRIC_DATA(GAUGE));
    assert_string_equal(m->description, description);
    assert_string_equal(m->unit, unit);
    assert_int_equal(m->gauge->n_data_points, 1);
    assert_true(m->gauge->data_points[0]->as_double == value);
    assert_int_equal(m->gauge->data_points[0]->time_unix_nano, SCRAPE_MS_NS);
}

static void test_scrape_report_joins_the_scraped_resource(void **state)
{
    (void)state;
    struct payload *p = convert("g 1\n", PROM);
    struct prom_scrape_report report = {true, 0.25, 1, 1, 1};
    assert_int_equal(prom_to_otlp_append_scrape_report(p, &target, SCRAPE_NS, &report, NULL), 0);
    assert_int_equal(p->metrics->n_resource_metrics, 1);
    assert_int_equal(p->metrics->resource_metrics[0]->n_scope_metrics, 1);
    assert_int_equal(metric_total(p), 6);
    check_scrape_gauge(p, "up", "The scraping was successful", "", 1);
    check_scrape_gauge(p, "scrape_duration_seconds", "Duration of the scrape", "s", 0.25);
    check_scrape_gauge(p, "scrape_samples_scraped", "The number of samples the target exposed", "",
                       1);
    check_scrape_gauge(p, "scrape_samples_post_metric_relabeling",
                       "The number of samples remaining after metric relabeling was applied", "",
                       1);
    check_scrape_gauge(p, "scrape_series_added",
                       "The approximate number of new series in this scrape", "", 1);
    payload_free(p);
}

static void test_failed_scrape_reports_up_zero_alone(void **state)
{
    (void)state;
    struct payload *p = payload_new(SIGNAL_METRICS);
    struct prom_scrape_report report = {false, 10, 0, 0, 0};
    assert_int_equal(prom_to_otlp_append_scrape_report(p, &target, SCRAPE_NS, &report, NULL), 0);
    assert_int_equal(p->metrics->n_resource_metrics, 1);
    assert_string_equal(resource_attr(p, 0, "service.name"), "app");
    assert_string_equal(resource_attr(p, 0, "server.port"), "8080");
    assert_int_equal(metric_total(p), 5);
    check_scrape_gauge(p, "up", "The scraping was successful", "", 0);
    check_scrape_gauge(p, "scrape_duration_seconds", "Duration of the scrape", "s", 10);
    assert_string_equal(metric_type(metric_named(p, "up")), "gauge");
    payload_free(p);
}

/* Every allocation failure is an ordinary -ENOMEM that leaves no pdata behind. */
static void test_allocation_failures_fail_cleanly(void **state)
{
    (void)state;
    struct expfmt_body *body = parse("# TYPE target_info gauge\ntarget_info{r=\"1\"} 1\n"
                                     "# TYPE c counter\nc_total{a=\"1\"} 1\n"
                                     "# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
                                     "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n"
                                     "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\n"
                                     "# EOF\n",
                                     OM);
    size_t before = pdata_bytes_current();
    for (long n = 0;; n++) {
        struct payload *p = NULL;
        pdata_fail_after(n);
        long start = pdata_allocations();
        int rc = prom_to_otlp_convert(body, &target, SCRAPE_NS, &p, NULL);
        if (rc == 0) {
            struct prom_scrape_report report = {true, 1, 1, 1, 1};
            rc = prom_to_otlp_append_scrape_report(p, &target, SCRAPE_NS, &report, NULL);
        }
        bool reached = pdata_allocations() - start > n;
        pdata_fail_clear();
        if (rc == 0) {
            assert_false(reached);
            payload_free(p);
            break;
        }
        assert_int_equal(rc, -ENOMEM);
        payload_free(p);
        assert_int_equal(pdata_bytes_current(), before);
    }
    assert_int_equal(pdata_bytes_current(), before);
    expfmt_body_destroy(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_is_monotonic_cumulative_sum_as_upstream_writes_it),
        cmocka_unit_test(test_gauge_becomes_gauge),
        cmocka_unit_test(test_untyped_becomes_gauge_with_type_unknown),
        cmocka_unit_test(test_histogram_sorts_finite_bounds_and_unaccumulates_buckets),
        cmocka_unit_test(test_histogram_group_without_count_is_dropped),
        cmocka_unit_test(test_summary_keeps_quantiles_count_and_sum),
        cmocka_unit_test(test_info_and_stateset_become_non_monotonic_sums),
        cmocka_unit_test(test_gaugehistogram_is_dropped),
        cmocka_unit_test(test_target_info_becomes_resource_attributes_only),
        cmocka_unit_test(test_target_info_alone_sends_no_resource),
        cmocka_unit_test(test_scope_version_alone_still_names_the_scope),
        cmocka_unit_test(test_scope_labels_choose_the_scope_and_are_no_attributes),
        cmocka_unit_test(test_empty_and_target_labels_are_no_attributes),
        cmocka_unit_test(test_loopback_instance_has_no_server_address),
        cmocka_unit_test(test_sample_job_and_instance_make_their_own_resource),
        cmocka_unit_test(test_explicit_timestamps_win_over_scrape_time),
        cmocka_unit_test(test_openmetrics_created_is_start_time_and_unit_is_ucum),
        cmocka_unit_test(test_stale_nan_becomes_no_recorded_value),
        cmocka_unit_test(test_scrape_report_joins_the_scraped_resource),
        cmocka_unit_test(test_failed_scrape_reports_up_zero_alone),
        cmocka_unit_test(test_allocation_failures_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
