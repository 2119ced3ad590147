/*
 * test_telemetry.c - the self-metrics registry (common/telemetry.c): Prometheus text exposition
 * as client_golang writes it for the collector's /metrics, and OTel's "a series exists once it
 * was recorded" rule.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "telemetry.h"

static char *render(struct telemetry *t)
{
    size_t len = 0;
    char *text = telemetry_render(t, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static void assert_rendered(struct telemetry *t, const char *expected)
{
    char *text = render(t);
    assert_string_equal(text, expected);
    free(text);
}

static void test_empty_registry_renders_empty_text(void **state)
{
    struct telemetry *t = telemetry_new();
    assert_rendered(t, "");
    telemetry_free(t);
}

static void test_counter_is_absent_until_recorded(void **state)
{
    struct telemetry *t = telemetry_new();
    struct tm_counter *c = telemetry_counter(t, "otelcol_receiver_accepted_spans", "Spans.",
                                             "receiver=\"otlp\",transport=\"http\"");
    assert_non_null(c);
    assert_rendered(t, "");
    tm_counter_add(c, 0);
    assert_rendered(t, "# HELP otelcol_receiver_accepted_spans Spans.\n"
                       "# TYPE otelcol_receiver_accepted_spans counter\n"
                       "otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"http\"} 0\n");
    telemetry_free(t);
}

static void test_counter_accumulates(void **state)
{
    struct telemetry *t = telemetry_new();
    struct tm_counter *c = telemetry_counter(t, "requests", "Requests.", NULL);
    tm_counter_add(c, 3);
    tm_counter_add(c, 4);
    assert_int_equal(tm_counter_value(c), 7);
    assert_rendered(t, "# HELP requests Requests.\n# TYPE requests counter\nrequests 7\n");
    telemetry_free(t);
}

static void test_same_name_and_labels_return_same_handle(void **state)
{
    struct telemetry *t = telemetry_new();
    struct tm_counter *a = telemetry_counter(t, "x", "X.", "b=\"2\", a=\"1\"");
    struct tm_counter *b = telemetry_counter(t, "x", "X.", "a=\"1\",b=\"2\"");
    struct tm_counter *other = telemetry_counter(t, "x", "X.", "a=\"1\",b=\"3\"");
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, other);
    telemetry_free(t);
}

static void test_name_taken_by_other_type_is_refused(void **state)
{
    struct telemetry *t = telemetry_new();
    assert_non_null(telemetry_counter(t, "dual", "D.", NULL));
    assert_null(telemetry_gauge(t, "dual", "D.", NULL));
    double bounds[] = {1};
    assert_null(telemetry_histogram(t, "dual", "D.", NULL, bounds, 1));
    assert_int_equal(telemetry_gauge_fn(t, "dual", "D.", NULL, NULL, NULL), -22);
    telemetry_free(t);
}

/* Table: label texts and metric names the registry must refuse. */
static void test_invalid_names_and_labels_are_refused(void **state)
{
    /* clang-format off: one case per line, read as a table */
    static const struct {
        const char *name, *labels;
    } cases[] = {
        {"", NULL},
        {"1abc", NULL},
        {"has-dash", NULL},
        {"ok", "a=1"},             /* unquoted value */
        {"ok", "a=\"1"},           /* unterminated */
        {"ok", "=\"1\""},          /* empty name */
        {"ok", "a=\"1\",a=\"2\""}, /* duplicate */
        {"ok", "9a=\"1\""},        /* name starts with a digit */
        {"ok", "a.b=\"1\""},       /* dot in a label name */
    };
    /* clang-format on */
    struct telemetry *t = telemetry_new();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (telemetry_counter(t, cases[i].name, "h", cases[i].labels) != NULL)
            fail_msg("accepted name \"%s\" labels \"%s\"", cases[i].name,
                     cases[i].labels ? cases[i].labels : "(null)");
    }
    telemetry_free(t);
}

static void test_families_and_series_are_sorted(void **state)
{
    struct telemetry *t = telemetry_new();
    tm_counter_add(telemetry_counter(t, "zeta", "Z.", "k=\"b\""), 1);
    tm_counter_add(telemetry_counter(t, "alpha", "A.", NULL), 2);
    tm_counter_add(telemetry_counter(t, "zeta", "Z.", "k=\"a\""), 3);
    assert_rendered(t, "# HELP alpha A.\n# TYPE alpha counter\nalpha 2\n"
                       "# HELP zeta Z.\n# TYPE zeta counter\n"
                       "zeta{k=\"a\"} 3\nzeta{k=\"b\"} 1\n");
    telemetry_free(t);
}

static void test_label_values_and_help_are_escaped(void **state)
{
    struct telemetry *t = telemetry_new();
    struct tm_counter *c = telemetry_counter(t, "esc", "line\\one\nline two",
                                             "path=\"C:\\\\dir\",quote=\"say \\\"hi\\\"\"");
    assert_non_null(c);
    tm_counter_add(c, 1);
    assert_rendered(t, "# HELP esc line\\\\one\\nline two\n# TYPE esc counter\n"
                       "esc{path=\"C:\\\\dir\",quote=\"say \\\"hi\\\"\"} 1\n");
    telemetry_free(t);
}

static void test_gauge_values_use_shortest_go_form(void **state)
{
    /* clang-format off: one case per line, read as a table */
    static const struct {
        double value;
        const char *text;
    } cases[] = {
        {0, "0"},           {1.5, "1.5"},        {0.1, "0.1"},
        {1e6, "1e+06"},     {123456, "123456"},  {-2.25, "-2.25"},
        {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}, {NAN, "NaN"},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct telemetry *t = telemetry_new();
        tm_gauge_set(telemetry_gauge(t, "g", "G.", NULL), cases[i].value);
        char expected[128];
        snprintf(expected, sizeof(expected), "# HELP g G.\n# TYPE g gauge\ng %s\n", cases[i].text);
        assert_rendered(t, expected);
        telemetry_free(t);
    }
}

static void test_gauge_add_moves_the_value(void **state)
{
    struct telemetry *t = telemetry_new();
    struct tm_gauge *g = telemetry_gauge(t, "queue_size", "Q.", "exporter=\"otlp_http\"");
    tm_gauge_add(g, 5);
    tm_gauge_add(g, -2);
    assert_rendered(t, "# HELP queue_size Q.\n# TYPE queue_size gauge\n"
                       "queue_size{exporter=\"otlp_http\"} 3\n");
    telemetry_free(t);
}

static double read_fixed(void *ctx)
{
    return *(double *)ctx;
}

static void test_gauge_fn_is_read_at_render_time(void **state)
{
    struct telemetry *t = telemetry_new();
    double value = 42;
    assert_int_equal(telemetry_gauge_fn(t, "otelcol_ref_pdata_bytes", "Bytes.", "kind=\"current\"",
                                        read_fixed, &value),
                     0);
    assert_rendered(t, "# HELP otelcol_ref_pdata_bytes Bytes.\n"
                       "# TYPE otelcol_ref_pdata_bytes gauge\n"
                       "otelcol_ref_pdata_bytes{kind=\"current\"} 42\n");
    value = 7;
    assert_rendered(t, "# HELP otelcol_ref_pdata_bytes Bytes.\n"
                       "# TYPE otelcol_ref_pdata_bytes gauge\n"
                       "otelcol_ref_pdata_bytes{kind=\"current\"} 7\n");
    telemetry_free(t);
}

static void test_histogram_renders_cumulative_buckets_sum_and_count(void **state)
{
    struct telemetry *t = telemetry_new();
    double bounds[] = {10, 25, 0.5, 1000};
    /* bounds must ascend */
    assert_null(telemetry_histogram(t, "h", "H.", NULL, bounds, 4));
    double good[] = {0.5, 10, 25};
    struct tm_histogram *h = telemetry_histogram(t, "otelcol_processor_batch_batch_send_size",
                                                 "Sizes.", "processor=\"batch\"", good, 3);
    assert_non_null(h);
    assert_rendered(t, "");
    tm_histogram_observe(h, 10); /* equal to a bound: that bound's bucket (le) */
    tm_histogram_observe(h, 3);
    tm_histogram_observe(h, 100);
    assert_rendered(
        t, "# HELP otelcol_processor_batch_batch_send_size Sizes.\n"
           "# TYPE otelcol_processor_batch_batch_send_size histogram\n"
           "otelcol_processor_batch_batch_send_size_bucket{processor=\"batch\",le=\"0.5\"} 0\n"
           "otelcol_processor_batch_batch_send_size_bucket{processor=\"batch\",le=\"10\"} 2\n"
           "otelcol_processor_batch_batch_send_size_bucket{processor=\"batch\",le=\"25\"} 2\n"
           "otelcol_processor_batch_batch_send_size_bucket{processor=\"batch\",le=\"+Inf\"} 3\n"
           "otelcol_processor_batch_batch_send_size_sum{processor=\"batch\"} 113\n"
           "otelcol_processor_batch_batch_send_size_count{processor=\"batch\"} 3\n");
    telemetry_free(t);
}

static void test_histogram_without_labels_has_only_le(void **state)
{
    struct telemetry *t = telemetry_new();
    double bounds[] = {1};
    tm_histogram_observe(telemetry_histogram(t, "d", "D.", "", bounds, 1), 2);
    assert_rendered(t, "# HELP d D.\n# TYPE d histogram\n"
                       "d_bucket{le=\"1\"} 0\nd_bucket{le=\"+Inf\"} 1\nd_sum 2\nd_count 1\n");
    telemetry_free(t);
}

static void test_null_handles_are_no_ops(void **state)
{
    tm_counter_add(NULL, 1);
    tm_gauge_set(NULL, 1);
    tm_gauge_add(NULL, 1);
    tm_histogram_observe(NULL, 1);
    assert_int_equal(tm_counter_value(NULL), 0);
    telemetry_free(NULL);
    assert_null(telemetry_render(NULL, NULL));
}

struct adder_args {
    struct tm_counter *counter;
    struct tm_gauge *gauge;
};

static void *add_many(void *arg)
{
    struct adder_args *a = arg;
    for (int i = 0; i < 10000; i++) {
        tm_counter_add(a->counter, 1);
        tm_gauge_add(a->gauge, 0.5);
    }
    return NULL;
}

static void test_concurrent_updates_are_not_lost(void **state)
{
    struct telemetry *t = telemetry_new();
    struct adder_args args = {telemetry_counter(t, "c", "C.", NULL),
                              telemetry_gauge(t, "g", "G.", NULL)};
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, add_many, &args), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    assert_int_equal(tm_counter_value(args.counter), 40000);
    assert_rendered(t, "# HELP c C.\n# TYPE c counter\nc 40000\n"
                       "# HELP g G.\n# TYPE g gauge\ng 20000\n");
    telemetry_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_registry_renders_empty_text),
        cmocka_unit_test(test_counter_is_absent_until_recorded),
        cmocka_unit_test(test_counter_accumulates),
        cmocka_unit_test(test_same_name_and_labels_return_same_handle),
        cmocka_unit_test(test_name_taken_by_other_type_is_refused),
        cmocka_unit_test(test_invalid_names_and_labels_are_refused),
        cmocka_unit_test(test_families_and_series_are_sorted),
        cmocka_unit_test(test_label_values_and_help_are_escaped),
        cmocka_unit_test(test_gauge_values_use_shortest_go_form),
        cmocka_unit_test(test_gauge_add_moves_the_value),
        cmocka_unit_test(test_gauge_fn_is_read_at_render_time),
        cmocka_unit_test(test_histogram_renders_cumulative_buckets_sum_and_count),
        cmocka_unit_test(test_histogram_without_labels_has_only_le),
        cmocka_unit_test(test_null_handles_are_no_ops),
        cmocka_unit_test(test_concurrent_updates_are_not_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
