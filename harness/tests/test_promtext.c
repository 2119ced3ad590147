/*
 * test_promtext.c - reading the collector's self-metrics: selectors with labels sum the
 * matching series, `_total` suffixes are tolerated, unknown lines are skipped.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "promtext.h"

static const char text[] =
    "# HELP otelcol_receiver_accepted_spans Number of spans successfully pushed into the "
    "pipeline.\n"
    "# TYPE otelcol_receiver_accepted_spans counter\n"
    "otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"http\"} 7\n"
    "otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"grpc\"} 3\n"
    "otelcol_exporter_sent_log_records_total{exporter=\"otlphttp/loki\",service_instance_id=\"a\"} "
    "4\n"
    "otelcol_exporter_sent_log_records_total{exporter=\"otlp_http/other\"} 1\n"
    "otelcol_ref_pdata_bytes{kind=\"current\"} 1.5e3\n"
    "weird{label=\"with \\\"quote\\\" and \\\\\"} 2\n"
    "this line is garbage\n"
    "up +Inf\n";

static void test_selectors_sum_matching_series(void **state)
{
    (void)state;
    struct promtext m;
    assert_int_equal(promtext_parse(text, strlen(text), &m, NULL), 0);
    double v;
    bool found;
    assert_int_equal(promtext_sum(&m, "otelcol_receiver_accepted_spans", &v, &found, NULL), 0);
    assert_true(found);
    assert_true(v == 10);
    promtext_sum(&m, "otelcol_receiver_accepted_spans{transport=\"grpc\"}", &v, &found, NULL);
    assert_true(v == 3);
    /* Counters exposed with the _total suffix match the upstream name without it. */
    promtext_sum(&m, "otelcol_exporter_sent_log_records{exporter=\"otlphttp/loki\"}", &v, &found,
                 NULL);
    assert_true(found);
    assert_true(v == 4);
    promtext_sum(&m, "otelcol_exporter_sent_log_records", &v, &found, NULL);
    assert_true(v == 5);
    promtext_sum(&m, "otelcol_ref_pdata_bytes{kind=\"current\"}", &v, &found, NULL);
    assert_true(v == 1500);
    promtext_sum(&m, "weird{label=\"with \\\"quote\\\" and \\\\\"}", &v, &found, NULL);
    assert_true(found);
    promtext_sum(&m, "otelcol_exporter_send_failed_log_records", &v, &found, NULL);
    assert_false(found);
    assert_true(v == 0);
    promtext_free(&m);
}

static void test_bad_selectors_are_refused(void **state)
{
    (void)state;
    char why[200];
    assert_int_equal(promtext_check_selector("ok_name{a=\"b\"}", why, sizeof(why)), 0);
    assert_int_equal(promtext_check_selector("bad{a=b}", why, sizeof(why)), -EINVAL);
    assert_int_equal(promtext_check_selector("9starts_with_digit", why, sizeof(why)), -EINVAL);
    assert_int_equal(promtext_check_selector("name{a=\"b\"} trailing", why, sizeof(why)), -EINVAL);
}

static void test_report_json_keeps_selected_families(void **state)
{
    (void)state;
    struct promtext m;
    assert_int_equal(promtext_parse(text, strlen(text), &m, NULL), 0);
    const char *prefixes[] = {"otelcol_exporter_", NULL};
    json_t *j = promtext_to_json(&m, prefixes);
    assert_int_equal(json_object_size(j), 2);
    assert_int_equal(
        json_integer_value(json_object_get(
            j, "otelcol_exporter_sent_log_records_total{exporter=\"otlp_http/other\"}")),
        1);
    json_decref(j);
    promtext_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selectors_sum_matching_series),
        cmocka_unit_test(test_bad_selectors_are_refused),
        cmocka_unit_test(test_report_json_keeps_selected_families),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
