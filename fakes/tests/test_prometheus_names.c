/*
 * test_prometheus_names.c - Prometheus 3's OTLP naming rules, as a table per rule.
 *
 * Each table reads as the specification: OTLP input -> what Prometheus shows. Cases come from
 * shared/facts/pipeline.md §7 (the examples there are all here), from otlptranslator@v1.0.0's
 * own tests (metric_namer_test.go, label_namer_test.go), and from the code paths of
 * metric_namer.go / unit_namer.go / label_namer.go that those tests leave out (marked "quirk").
 * Every table runs to the end and reports every mismatch before failing.
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

#include "prometheus_names.h"

#define GAUGE PROMETHEUS_METRIC_TYPE_GAUGE
#define COUNTER PROMETHEUS_METRIC_TYPE_MONOTONIC_COUNTER
#define UPDOWN PROMETHEUS_METRIC_TYPE_NON_MONOTONIC_COUNTER
#define HISTOGRAM PROMETHEUS_METRIC_TYPE_HISTOGRAM
#define EXP_HISTOGRAM PROMETHEUS_METRIC_TYPE_EXPONENTIAL_HISTOGRAM
#define SUMMARY PROMETHEUS_METRIC_TYPE_SUMMARY
#define UNKNOWN PROMETHEUS_METRIC_TYPE_UNKNOWN

/* A result matches `want` when it is that string, or when `want` is "error: TEXT" and the call
 * failed with -EINVAL and that text. */
static int matches(const char *want, int rc, const char *got, const struct error *err)
{
    static const char error_prefix[] = "error: ";
    if (strncmp(want, error_prefix, sizeof(error_prefix) - 1) == 0)
        return rc == -EINVAL && strcmp(err->message, want + sizeof(error_prefix) - 1) == 0;
    return rc == 0 && got && strcmp(got, want) == 0;
}

/* ---- metric names: name, unit, type -> family name (or the error) ---- */

static const struct {
    const char *name, *unit;
    enum prometheus_metric_type type;
    const char *want; /* the name, or "error: " and the error text */
} metric_name_cases[] = {
    /* the facts file's examples */
    {"http.server.request.duration", "s", HISTOGRAM, "http_server_request_duration_seconds"},
    {"http.requests", "{request}", COUNTER, "http_requests_total"},
    {"process.memory.usage", "By", GAUGE, "process_memory_usage_bytes"},
    {"cpu.utilization", "1", GAUGE, "cpu_utilization_ratio"},
    {"http.server.active_requests", "{request}", UPDOWN, "http_server_active_requests"},
    /* _total for monotonic sums only, never twice, always last */
    {"requests", "", COUNTER, "requests_total"},
    {"requests_total", "", COUNTER, "requests_total"},
    {"total.requests", "", COUNTER, "requests_total"},
    {"system.cpu.time", "s", COUNTER, "system_cpu_time_seconds_total"},
    {"requests", "1/s", COUNTER, "requests_per_second_total"},
    {"items", "1", COUNTER, "items_total"}, /* unit 1 on a counter: no _ratio */
    {"active_connections", "", UPDOWN, "active_connections"},
    /* _ratio for gauges with unit exactly "1" */
    {"cpu_usage_ratio", "1", GAUGE, "cpu_usage_ratio"},
    {"cpu.ratio.used", "1", GAUGE, "cpu_used_ratio"},
    {"requests", "1/s", GAUGE, "requests_per_second"},
    /* separators: every character outside [A-Za-z0-9:] splits, runs collapse */
    {"metric__with__multiple__underscores", "unit__multiple__underscores", GAUGE,
     "metric_with_multiple_underscores_unit_multiple_underscores"},
    {"k8s.pod.memory.usage", "By", GAUGE, "k8s_pod_memory_usage_bytes"},
    {"métric.ñame", "", GAUGE, "m_tric_ame"},
    {"job:http_requests:rate5m", "", GAUGE, "job:http_requests:rate5m"},
    /* a leading digit gets `_` */
    {"123_requests", "", COUNTER, "_123_requests_total"},
    {"2xx.count", "", COUNTER, "_2xx_count_total"},
    /* a unit token already in the name is not repeated */
    {"response_time_seconds", "s", GAUGE, "response_time_seconds"},
    {"seconds.elapsed", "s", GAUGE, "seconds_elapsed"},
    {"bytes.in", "By/s", GAUGE, "bytes_in_per_second"},
    /* every unit of the table */
    {"uptime", "d", GAUGE, "uptime_days"},
    {"duration", "h", GAUGE, "duration_hours"},
    {"timeout", "min", GAUGE, "timeout_minutes"},
    {"latency", "ms", SUMMARY, "latency_milliseconds"},
    {"latency", "us", GAUGE, "latency_microseconds"},
    {"precision_time", "ns", GAUGE, "precision_time_nanoseconds"},
    {"request_size", "By", EXP_HISTOGRAM, "request_size_bytes"},
    {"cache_size", "KiBy", GAUGE, "cache_size_kibibytes"},
    {"memory", "MiBy", GAUGE, "memory_mebibytes"},
    {"storage", "GiBy", GAUGE, "storage_gibibytes"},
    {"capacity", "TiBy", GAUGE, "capacity_tibibytes"}, /* sic in v1.0.0 */
    {"transfer", "KBy", GAUGE, "transfer_kilobytes"},
    {"download", "MBy", GAUGE, "download_megabytes"},
    {"backup", "GBy", GAUGE, "backup_gigabytes"},
    {"archive", "TBy", GAUGE, "archive_terabytes"},
    {"distance", "m", GAUGE, "distance_meters"},
    {"voltage", "V", GAUGE, "voltage_volts"},
    {"current", "A", GAUGE, "current_amperes"},
    {"energy", "J", GAUGE, "energy_joules"},
    {"power", "W", GAUGE, "power_watts"},
    {"weight", "g", GAUGE, "weight_grams"},
    {"temperature", "Cel", GAUGE, "temperature_celsius"},
    {"frequency", "Hz", GAUGE, "frequency_hertz"},
    {"cpu_usage", "%", GAUGE, "cpu_usage_percent"},
    /* a/b units: the per-unit table, unknown denominators pass through */
    {"throughput", "By/s", GAUGE, "throughput_bytes_per_second"},
    {"requests", "1/m", GAUGE, "requests_per_minute"},
    {"events", "1/h", GAUGE, "events_per_hour"},
    {"transactions", "1/d", GAUGE, "transactions_per_day"},
    {"reports", "1/w", GAUGE, "reports_per_week"},
    {"invoices", "1/mo", GAUGE, "invoices_per_month"},
    {"renewals", "1/y", GAUGE, "renewals_per_year"},
    {"custom", "1/custom_unit", GAUGE, "custom_per_custom_unit"},
    {"custom_metric", "unit@with#special/chars", GAUGE,
     "custom_metric_unit_with_special_per_chars"},
    /* unknown units pass through; annotations add nothing; white space is trimmed */
    {"custom_metric", "custom_unit", GAUGE, "custom_metric_custom_unit"},
    {"custom_metric", "{custom}", GAUGE, "custom_metric"},
    {"custom_metric", "By/{custom}", GAUGE, "custom_metric_bytes"},
    {"queue.size", "{item}", UPDOWN, "queue_size"},
    {"metric", " By / s ", GAUGE, "metric_bytes_per_second"},
    {"metric", "By/", GAUGE, "metric_bytes"},
    {"metric", "/", GAUGE, "metric"},
    {"unknown_metric", "", UNKNOWN, "unknown_metric"},
    /* quirk: a unit ending in a separator keeps its trailing `_` when there is no per-unit */
    {"metric", "foo.", GAUGE, "metric_foo_"},
    {"metric", "foo.", COUNTER, "metric_foo__total"},
    /* quirk: an empty name still gets its unit */
    {"", "s", GAUGE, "seconds"},
    /* errors */
    {"@#$%", "", GAUGE, "error: normalization for metric \"@#$%\" resulted in empty name"},
    {"", "", GAUGE, "error: normalization for metric \"\" resulted in empty name"},
};

static void test_metric_names_follow_the_default_translation_strategy(void **state)
{
    (void)state;
    int mismatches = 0;
    for (size_t i = 0; i < sizeof(metric_name_cases) / sizeof(metric_name_cases[0]); i++) {
        const char *name = metric_name_cases[i].name, *unit = metric_name_cases[i].unit;
        char *got = NULL;
        struct error err = {0};
        int rc = prometheus_build_metric_name(name, unit, metric_name_cases[i].type, &got, &err);
        if (!matches(metric_name_cases[i].want, rc, got, &err)) {
            print_error("metric name (%s, %s): want '%s', got rc %d '%s' '%s'\n", name, unit,
                        metric_name_cases[i].want, rc, got ? got : "", err.message);
            mismatches++;
        }
        free(got);
    }
    assert_int_equal(mismatches, 0);
}

/* ---- unit names (metadata unit): unit -> name ---- */

static const struct {
    const char *unit, *expected;
} unit_name_cases[] = {
    {"s", "seconds"},
    {"By/s", "bytes_per_second"},
    {"1/s", "per_second"},
    {"1", ""},
    {"{request}", ""},
    {"By/{custom}", "bytes"},
    {"%", "percent"},
    {"custom_unit", "custom_unit"},
    {"unit__multiple__underscores", "unit_multiple_underscores"},
    {"unit@with#special/chars", "unit_with_special_per_chars"},
    {" By / s ", "bytes_per_second"},
    {"foo.", "foo"}, /* UnitNamer trims the trailing `_` the metric name keeps */
    {"", ""},
};

static void test_unit_names_are_the_translated_suffix(void **state)
{
    (void)state;
    int mismatches = 0;
    for (size_t i = 0; i < sizeof(unit_name_cases) / sizeof(unit_name_cases[0]); i++) {
        char *got = NULL;
        int rc = prometheus_build_unit_name(unit_name_cases[i].unit, &got);
        if (rc != 0 || strcmp(got, unit_name_cases[i].expected) != 0) {
            print_error("unit name '%s': want '%s', got '%s'\n", unit_name_cases[i].unit,
                        unit_name_cases[i].expected, got ? got : "(null)");
            mismatches++;
        }
        free(got);
    }
    assert_int_equal(mismatches, 0);
}

/* ---- label names: attribute key -> label name (or the error) ---- */

static const struct {
    const char *key;
    const char *want; /* the label name, or "error: " and the error text */
} label_name_cases[] = {
    {"http.method", "http_method"},
    {"k8s.pod.name", "k8s_pod_name"},
    {"label:with:colons", "label_with_colons"},
    {"LabelWithCapitalLetters", "LabelWithCapitalLetters"},
    {"label!with&special$chars)", "label_with_special_chars_"},
    /* one `_` per character (rune), multiple underscores preserved */
    {"label_with_foreign_characters_字符", "label_with_foreign_characters___"},
    {"a..b", "a__b"},
    /* a leading digit gets key_, a single leading underscore gets key */
    {"123label", "key_123label"},
    {"_label_starting_with_underscore", "key_label_starting_with_underscore"},
    {"_", "key_"},
    {".", "key_"},
    /* two leading underscores are reserved names and stay */
    {"__label_starting_with_2underscores", "__label_starting_with_2underscores"},
    {"__name__", "__name__"},
    /* errors */
    {"", "error: label name is empty"},
    {"__", "error: normalization for label name \"__\" resulted in invalid name \"__\""},
    {"ようこそ",
     "error: normalization for label name \"ようこそ\" resulted in invalid name \"____\""},
};

static void test_label_names_are_sanitised_as_prometheus_defaults_do(void **state)
{
    (void)state;
    int mismatches = 0;
    for (size_t i = 0; i < sizeof(label_name_cases) / sizeof(label_name_cases[0]); i++) {
        char *got = NULL;
        struct error err = {0};
        int rc = prometheus_build_label_name(label_name_cases[i].key, &got, &err);
        if (!matches(label_name_cases[i].want, rc, got, &err)) {
            print_error("label name '%s': want '%s', got rc %d '%s' '%s'\n",
                        label_name_cases[i].key, label_name_cases[i].want, rc, got ? got : "",
                        err.message);
            mismatches++;
        }
        free(got);
    }
    assert_int_equal(mismatches, 0);
}

/* ---- label values: attribute value -> label value (pcommon.Value.AsString) ---- */

#define ANY_VALUE(kind) .value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##kind

static void test_attribute_values_become_label_values_as_go_prints_them(void **state)
{
    (void)state;
    static uint8_t bytes[] = {0x01, 0x02, 0x03, 0xff};
    otlp_anyvalue str = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    str.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    str.string_value = "x<y";
    otlp_anyvalue one = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    one.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    one.int_value = 1;
    otlp_anyvalue yes = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    yes.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    yes.bool_value = 1;
    otlp_anyvalue half = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    half.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    half.double_value = 0.5;

    otlp_anyvalue *array_items[] = {&str, &one, &yes};
    Opentelemetry__Proto__Common__V1__ArrayValue array =
        OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    array.n_values = 3;
    array.values = array_items;

    /* keys out of order and "b" twice: a Go map sorts keys and keeps the last value */
    otlp_keyvalue kv_b1 = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    kv_b1.key = "b";
    kv_b1.value = &one;
    otlp_keyvalue kv_a = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    kv_a.key = "a";
    kv_a.value = &str;
    otlp_keyvalue kv_b2 = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    kv_b2.key = "b";
    kv_b2.value = &half;
    otlp_keyvalue *kv_items[] = {&kv_b1, &kv_a, &kv_b2};
    Opentelemetry__Proto__Common__V1__KeyValueList kvlist =
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
    kvlist.n_values = 3;
    kvlist.values = kv_items;

    const struct {
        otlp_anyvalue value;
        const char *expected;
    } cases[] = {
        {{ANY_VALUE(STRING_VALUE), .string_value = "GET"}, "GET"},
        {{ANY_VALUE(STRING_VALUE), .string_value = ""}, ""},
        {{ANY_VALUE(INT_VALUE), .int_value = -42}, "-42"},
        {{ANY_VALUE(BOOL_VALUE), .bool_value = 0}, "false"},
        {{ANY_VALUE(DOUBLE_VALUE), .double_value = 1.5}, "1.5"},
        {{ANY_VALUE(DOUBLE_VALUE), .double_value = 3}, "3"},
        {{ANY_VALUE(DOUBLE_VALUE), .double_value = 0.000001}, "0.000001"},
        {{ANY_VALUE(DOUBLE_VALUE), .double_value = 1e-7}, "1e-7"},
        {{ANY_VALUE(DOUBLE_VALUE), .double_value = 1e21}, "1e+21"},
        {{ANY_VALUE(DOUBLE_VALUE), .double_value = 123456789012}, "123456789012"},
        {{ANY_VALUE(DOUBLE_VALUE), .double_value = NAN}, "json: unsupported value: NaN"},
        {{ANY_VALUE(DOUBLE_VALUE), .double_value = -INFINITY}, "json: unsupported value: -Inf"},
        {{ANY_VALUE(BYTES_VALUE), .bytes_value = {sizeof(bytes), bytes}}, "AQID/w=="},
        {{ANY_VALUE(ARRAY_VALUE), .array_value = &array}, "[\"x\\u003cy\",1,true]"},
        {{ANY_VALUE(KVLIST_VALUE), .kvlist_value = &kvlist}, "{\"a\":\"x\\u003cy\",\"b\":0.5}"},
        {{.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET}, ""},
    };
    int mismatches = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        otlp_anyvalue value = cases[i].value;
        value.base = str.base;
        char *got = NULL;
        int rc = prometheus_attribute_as_string(&value, &got);
        if (rc != 0 || strcmp(got, cases[i].expected) != 0) {
            print_error("value #%zu: want '%s', got '%s'\n", i, cases[i].expected,
                        got ? got : "(null)");
            mismatches++;
        }
        free(got);
    }
    assert_int_equal(mismatches, 0);
}

/* ---- numbers: strconv.FormatFloat(v, fmt, -1, 64) ---- */

static const struct {
    double value;
    char format;
    const char *expected;
} float_cases[] = {
    /* 'f': the le and quantile label values */
    {0.005, 'f', "0.005"},
    {10, 'f', "10"},
    {0.1, 'f', "0.1"},
    {2.5, 'f', "2.5"},
    {0.99, 'f', "0.99"},
    {1e-05, 'f', "0.00001"},
    {1e21, 'f', "1000000000000000000000"},
    {123456789, 'f', "123456789"},
    {0.30000000000000004, 'f', "0.30000000000000004"},
    {0, 'f', "0"},
    {-0.0, 'f', "-0"},
    {-7.25, 'f', "-7.25"},
    {INFINITY, 'f', "+Inf"},
    {-INFINITY, 'f', "-Inf"},
    {NAN, 'f', "NaN"},
    /* 'g': %g in error texts, exponent form below 1e-4 and from 1e6 on */
    {1, 'g', "1"},
    {0.5, 'g', "0.5"},
    {123456, 'g', "123456"},
    {1e6, 'g', "1e+06"},
    {1234567, 'g', "1.234567e+06"},
    {0.0001, 'g', "0.0001"},
    {1e-5, 'g', "1e-05"},
    {1e21, 'g', "1e+21"},
    {0, 'g', "0"},
    {-2.5, 'g', "-2.5"},
    /* 'e' */
    {1, 'e', "1e+00"},
    {1234.5, 'e', "1.2345e+03"},
    {1e-7, 'e', "1e-07"},
    {1e100, 'e', "1e+100"},
    {0, 'e', "0e+00"},
};

static void test_floats_format_as_go_strconv_shortest(void **state)
{
    (void)state;
    int mismatches = 0;
    for (size_t i = 0; i < sizeof(float_cases) / sizeof(float_cases[0]); i++) {
        char got[PROMETHEUS_FLOAT_TEXT_MAX];
        int len = prometheus_format_float(float_cases[i].value, float_cases[i].format, got);
        if (len < 0 || strcmp(got, float_cases[i].expected) != 0 || (size_t)len != strlen(got)) {
            print_error("format %.17g '%c': want %s, got %s\n", float_cases[i].value,
                        float_cases[i].format, float_cases[i].expected, got);
            mismatches++;
        }
    }
    char longest[PROMETHEUS_FLOAT_TEXT_MAX];
    assert_true(prometheus_format_float(5e-324, 'f', longest) > 300);
    assert_true(prometheus_format_float(-1.7976931348623157e308, 'f', longest) > 300);
    assert_int_equal(prometheus_format_float(1, 'x', longest), -EINVAL);
    assert_int_equal(mismatches, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric_names_follow_the_default_translation_strategy),
        cmocka_unit_test(test_unit_names_are_the_translated_suffix),
        cmocka_unit_test(test_label_names_are_sanitised_as_prometheus_defaults_do),
        cmocka_unit_test(test_attribute_values_become_label_values_as_go_prints_them),
        cmocka_unit_test(test_floats_format_as_go_strconv_shortest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
