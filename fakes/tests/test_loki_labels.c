/*
 * test_loki_labels.c - how fake Loki names and values things (pipeline.md §8), table-driven:
 * label name sanitising (otlptranslator.NormalizeLabel), service_name discovery, the stream
 * label string, pdata's AsString for every value type, Go's number format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"
#include "loki_otlp.h"

/* ---- NormalizeLabel ---- */

static const struct {
    const char *in, *want;
} normalize_cases[] = {
    {"service.name", "service_name"},
    {"k8s.pod.name", "k8s_pod_name"},
    {"http.status_code", "http_status_code"},
    {"a-b/c d", "a_b_c_d"},
    {"a..b", "a__b"},     /* no collapsing */
    {"1abc", "key_1abc"}, /* leading digit */
    {"9", "key_9"},
    {"_private", "key_private"}, /* leading single underscore */
    {"_", "key_"},
    {"__reserved", "__reserved"}, /* double underscore kept */
    {"naïve", "na_ve"},           /* one rune, one underscore */
    {"é", "key_"},                /* becomes "_", then the single-underscore rule */
    {"\xff"
     "x",
     "key_x"}, /* an invalid byte is one rune too */
    {"UPPER.Case", "UPPER_Case"},
    {"http.response.status_code", "http_response_status_code"},       /* past 8 bytes: all ASCII */
    {"deployment.environment.naïve", "deployment_environment_na_ve"}, /* non-ASCII past 8 */
    {"", ""},
};

static void test_normalize_label_table(void **state)
{
    for (size_t i = 0; i < sizeof(normalize_cases) / sizeof(normalize_cases[0]); i++) {
        char *got = loki_normalize_label(normalize_cases[i].in);
        assert_non_null(got);
        if (strcmp(got, normalize_cases[i].want) != 0)
            fail_msg("NormalizeLabel(\"%s\") = \"%s\", want \"%s\"", normalize_cases[i].in, got,
                     normalize_cases[i].want);
        free(got);
    }
}

/* The length loki_wire.c computes without normalising (its all-ASCII shortcut and the rune by
 * rune path) is the length of the normalised name, for every case of the table. */
static void test_normalized_length_is_that_of_the_normalized_label(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(normalize_cases) / sizeof(normalize_cases[0]); i++) {
        const char *in = normalize_cases[i].in;
        size_t got = loki_normalized_label_length(in, strlen(in));
        if (got != strlen(normalize_cases[i].want))
            fail_msg("length of NormalizeLabel(\"%s\") = %zu, want %zu", in, got,
                     strlen(normalize_cases[i].want));
    }
}

/* ---- stream labels and service_name discovery ---- */

static const struct {
    const char *name;
    const char *resource_attributes; /* the JSON array of the resource's attributes */
    const char *want_stream;
} discovery_cases[] = {
    {"no attributes", "[]", "{service_name=\"unknown_service\"}"},
    {"service.name wins",
     "[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}},"
     "{\"key\":\"k8s.container.name\",\"value\":{\"stringValue\":\"c\"}}]",
     "{k8s_container_name=\"c\", service_name=\"checkout\"}"},
    {"container name discovered",
     "[{\"key\":\"k8s.container.name\",\"value\":{\"stringValue\":\"nginx\"}}]",
     "{k8s_container_name=\"nginx\", service_name=\"nginx\"}"},
    {"first in attribute order wins (job before container)",
     "[{\"key\":\"k8s.job.name\",\"value\":{\"stringValue\":\"j\"}},"
     "{\"key\":\"k8s.container.name\",\"value\":{\"stringValue\":\"c\"}}]",
     "{k8s_container_name=\"c\", k8s_job_name=\"j\", service_name=\"j\"}"},
    {"first in attribute order wins (container before job)",
     "[{\"key\":\"k8s.container.name\",\"value\":{\"stringValue\":\"c\"}},"
     "{\"key\":\"k8s.job.name\",\"value\":{\"stringValue\":\"j\"}}]",
     "{k8s_container_name=\"c\", k8s_job_name=\"j\", service_name=\"c\"}"},
    {"container.name is a source",
     "[{\"key\":\"container.name\",\"value\":{\"stringValue\":\"x\"}}]",
     "{container_name=\"x\", service_name=\"x\"}"},
    {"empty service.name first: discovery applies",
     "[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"\"}},"
     "{\"key\":\"k8s.container.name\",\"value\":{\"stringValue\":\"c\"}}]",
     "{k8s_container_name=\"c\", service_name=\"c\"}"},
    {"empty service.name last: it overwrites the discovered value (upstream quirk)",
     "[{\"key\":\"k8s.container.name\",\"value\":{\"stringValue\":\"c\"}},"
     "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"\"}}]",
     "{k8s_container_name=\"c\", service_name=\"\"}"},
    {"non-index attributes are not labels",
     "[{\"key\":\"app\",\"value\":{\"stringValue\":\"a\"}},"
     "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"h\"}}]",
     "{service_name=\"unknown_service\"}"},
    {"pod and namespace are labels, not sources",
     "[{\"key\":\"k8s.namespace.name\",\"value\":{\"stringValue\":\"ns\"}},"
     "{\"key\":\"k8s.pod.name\",\"value\":{\"stringValue\":\"p\"}}]",
     "{k8s_namespace_name=\"ns\", k8s_pod_name=\"p\", service_name=\"unknown_service\"}"},
    {"an int service.name is its decimal text",
     "[{\"key\":\"service.name\",\"value\":{\"intValue\":\"42\"}}]", "{service_name=\"42\"}"},
    {"a map index attribute is flattened",
     "[{\"key\":\"service.namespace\",\"value\":{\"kvlistValue\":{\"values\":["
     "{\"key\":\"a.b\",\"value\":{\"stringValue\":\"v\"}}]}}}]",
     "{service_name=\"unknown_service\", service_namespace_a_b=\"v\"}"},
    {"values are quoted as strconv.Quote does",
     "[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"a\\\"b\\\\c\\nd\\u0001\"}}]",
     "{service_name=\"a\\\"b\\\\c\\nd\\x01\"}"},
};

static char *stream_of(const char *attributes)
{
    char *json = format_text("{\"resourceLogs\":[{\"resource\":{\"attributes\":%s},"
                             "\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"1\"}]}]}]}",
                             attributes);
    struct payload *p = payload_from_json(SIGNAL_LOGS, json);
    free(json);
    struct loki_push push;
    assert_int_equal(loki_otlp_translate(p->logs, 5, &push), 0);
    assert_int_equal(push.count, 1);
    char *key = strdup(push.streams[0].key);
    loki_push_clear(&push);
    payload_free(p);
    return key;
}

static void test_service_name_discovery_table(void **state)
{
    for (size_t i = 0; i < sizeof(discovery_cases) / sizeof(discovery_cases[0]); i++) {
        char *got = stream_of(discovery_cases[i].resource_attributes);
        if (strcmp(got, discovery_cases[i].want_stream) != 0)
            fail_msg("%s: stream %s, want %s", discovery_cases[i].name, got,
                     discovery_cases[i].want_stream);
        free(got);
    }
}

static void test_labels_set_replaces_and_sorts(void **state)
{
    struct loki_labels set = {0};
    assert_int_equal(loki_labels_set(&set, "b", "1"), 0);
    assert_int_equal(loki_labels_set(&set, "a", "2"), 0);
    assert_int_equal(loki_labels_set(&set, "b", "3"), 0);
    char *s = loki_labels_string(&set);
    assert_string_equal(s, "{a=\"2\", b=\"3\"}");
    free(s);
    loki_labels_clear(&set);
}

/* ---- AsString ---- */

static const struct {
    const char *any_value; /* OTLP/JSON AnyValue */
    const char *want;
} as_string_cases[] = {
    {"{\"stringValue\":\"plain\"}", "plain"},
    {"{\"boolValue\":true}", "true"},
    {"{\"intValue\":\"-5\"}", "-5"},
    {"{\"doubleValue\":1.5}", "1.5"},
    {"{\"doubleValue\":\"NaN\"}", "json: unsupported value: NaN"},
    {"{\"doubleValue\":\"-Infinity\"}", "json: unsupported value: -Inf"},
    {"{\"bytesValue\":\"aGk=\"}", "aGk="},
    {"{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},{\"stringValue\":\"a\"},"
     "{\"boolValue\":false},{}]}}",
     "[1,\"a\",false,null]"},
    {"{\"kvlistValue\":{\"values\":[{\"key\":\"b\",\"value\":{\"intValue\":\"1\"}},"
     "{\"key\":\"a\",\"value\":{\"stringValue\":\"x<y&z\"}}]}}",
     "{\"a\":\"x\\u003cy\\u0026z\",\"b\":1}"},
    {"{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":{\"intValue\":\"1\"}},"
     "{\"key\":\"k\",\"value\":{\"intValue\":\"2\"}}]}}",
     "{\"k\":2}"}, /* a repeated key: the last wins, as in a Go map */
    {"{\"kvlistValue\":{\"values\":[{\"key\":\"d\",\"value\":{\"doubleValue\":\"NaN\"}}]}}",
     ""}, /* json.Marshal fails; pdata ignores the error */
    {"{\"kvlistValue\":{\"values\":[{\"key\":\"s\",\"value\":{\"stringValue\":"
     "\"tab\\tquote\\\"\\u2028\"}}]}}",
     "{\"s\":\"tab\\tquote\\\"\\u2028\"}"},
    {"{\"kvlistValue\":{}}", "{}"},
    {"{}", ""},
};

static void test_any_value_as_string_table(void **state)
{
    for (size_t i = 0; i < sizeof(as_string_cases) / sizeof(as_string_cases[0]); i++) {
        char *json = format_text("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":"
                                 "[{\"body\":%s}]}]}]}",
                                 as_string_cases[i].any_value);
        struct payload *p = payload_from_json(SIGNAL_LOGS, json);
        free(json);
        char *got = NULL;
        size_t len = 0;
        const otlp_anyvalue *body = p->logs->resource_logs[0]->scope_logs[0]->log_records[0]->body;
        assert_int_equal(loki_any_value_string(body, &got, &len), 0);
        if (strcmp(got, as_string_cases[i].want) != 0)
            fail_msg("AsString(%s) = %s, want %s", as_string_cases[i].any_value, got,
                     as_string_cases[i].want);
        assert_int_equal(len, strlen(got));
        free(got);
        payload_free(p);
    }
}

static const struct {
    double in;
    const char *want;
} double_cases[] = {
    {0.0, "0"},
    {-0.0, "-0"},
    {1.0, "1"},
    {100.0, "100"},
    {0.1, "0.1"},
    {1.5, "1.5"},
    {123456789.0, "123456789"},
    {1e20, "100000000000000000000"},
    {1e21, "1e+21"},
    {1.5e300, "1.5e+300"},
    {0.000001, "0.000001"},
    {1e-7, "1e-7"},
    {2.5e-7, "2.5e-7"},
    {1e-10, "1e-10"},
    {-3.25, "-3.25"},
    {0.30000000000000004, "0.30000000000000004"},
};

static void test_double_format_matches_go(void **state)
{
    char out[64];
    for (size_t i = 0; i < sizeof(double_cases) / sizeof(double_cases[0]); i++) {
        loki_format_double(double_cases[i].in, out, sizeof(out));
        if (strcmp(out, double_cases[i].want) != 0)
            fail_msg("format(%.17g) = %s, want %s", double_cases[i].in, out, double_cases[i].want);
    }
}

static void test_index_attribute_list_is_the_default(void **state)
{
    assert_true(loki_is_index_attribute("service.name"));
    assert_true(loki_is_index_attribute("k8s.cronjob.name"));
    assert_false(loki_is_index_attribute("host.name"));
    assert_false(loki_is_index_attribute("k8s.node.name"));
    assert_true(loki_is_service_name_source("k8s_container_name"));
    assert_false(loki_is_service_name_source("k8s_pod_name"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_label_table),
        cmocka_unit_test(test_normalized_length_is_that_of_the_normalized_label),
        cmocka_unit_test(test_service_name_discovery_table),
        cmocka_unit_test(test_labels_set_replaces_and_sorts),
        cmocka_unit_test(test_any_value_as_string_table),
        cmocka_unit_test(test_double_format_matches_go),
        cmocka_unit_test(test_index_attribute_list_is_the_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
