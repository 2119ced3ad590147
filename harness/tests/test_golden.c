/*
 * test_golden.c - canonical golden text (sorted keys, indent, final newline, numbers), the
 * ordering rules, the masking rules (times relative to the run start, ports, host names, keys
 * of the request log), and the golden file round trip.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "golden.h"
#include "mask.h"
#include "report.h"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v)
        fprintf(stderr, "bad test JSON: %s\n", jerr.text);
    assert_non_null(v);
    return v;
}

static void assert_canonical(const char *input, const char *expected)
{
    json_t *v = parse(input);
    char *text = golden_canonical_text(v, NULL);
    assert_non_null(text);
    assert_string_equal(text, expected);
    free(text);
    json_decref(v);
}

static void test_canonical_sorts_keys_indents_and_ends_with_newline(void **state)
{
    (void)state;
    assert_canonical("{\"b\":1,\"a\":{\"d\":[1,2],\"c\":\"x\"},\"e\":[],\"f\":{}}",
                     "{\n"
                     "  \"a\": {\n"
                     "    \"c\": \"x\",\n"
                     "    \"d\": [\n"
                     "      1,\n"
                     "      2\n"
                     "    ]\n"
                     "  },\n"
                     "  \"b\": 1,\n"
                     "  \"e\": [],\n"
                     "  \"f\": {}\n"
                     "}\n");
}

static void test_canonical_numbers_and_strings(void **state)
{
    (void)state;
    /* Shortest round-trip reals (jansson alone prints 0.10000000000000001), integral reals keep
     * a ".0" so they stay reals when read back, integers stay integers. */
    assert_canonical("[0.1, 2.5, 3.0, 1e300, -7, 1764000000000000000]",
                     "[\n  0.1,\n  2.5,\n  3.0,\n  1e+300,\n  -7,\n  1764000000000000000\n]\n");
    assert_canonical("\"tab\\t quote\\\" nl\\n ctl\\u0001 \\u00e9\"",
                     "\"tab\\t quote\\\" nl\\n ctl\\u0001 \xc3\xa9\"\n");
    assert_canonical("null", "null\n");
}

static void test_canonical_text_is_stable_across_insertion_order(void **state)
{
    (void)state;
    json_t *a = parse("{\"x\":1,\"y\":2,\"z\":{\"q\":1,\"p\":2}}");
    json_t *b = parse("{\"z\":{\"p\":2,\"q\":1},\"y\":2,\"x\":1}");
    char *ta = golden_canonical_text(a, NULL), *tb = golden_canonical_text(b, NULL);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    json_decref(a);
    json_decref(b);
}

static void test_ordering_sorts_loki_streams_but_keeps_entries(void **state)
{
    (void)state;
    json_t *v = parse(
        "{\"tenants\":{\"fake\":{\"streams\":["
        "{\"labels\":{\"service_name\":\"web\"},\"entries\":[{\"line\":\"2\"},{\"line\":\"1\"}]},"
        "{\"labels\":{\"service_name\":\"api\"},\"entries\":[]}]}}}");
    assert_int_equal(golden_apply_ordering(v, "loki", NULL), 0);
    json_t *streams =
        json_object_get(json_object_get(json_object_get(v, "tenants"), "fake"), "streams");
    json_t *first = json_array_get(streams, 0);
    json_t *second = json_array_get(streams, 1);
    /* Sorted by canonical text, a total order: the same streams always come out in the same
     * order, whatever order the fake listed them in. */
    assert_int_equal(json_array_size(json_object_get(second, "entries")), 0);
    json_t *entries = json_object_get(first, "entries");
    assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 0), "line")),
                        "2");
    json_decref(v);
}

static const struct mask_context ctx = {
    .run_start_ns = 1764000000000LL * 1000000LL, /* 2025-11-24T16:00:00Z */
    .hostname = "build-host.example.org",
};

static void assert_masked(const char *view, const char *input, const char *expected)
{
    json_t *v = parse(input);
    json_t *want = parse(expected);
    assert_int_equal(mask_apply(v, view, &ctx, NULL), 0);
    if (!json_equal(v, want)) {
        char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        fprintf(stderr, "masked %s\n  got:  %s\n  want: %s\n", input, got, expected);
        free(got);
        fail();
    }
    json_decref(v);
    json_decref(want);
}

static void test_mask_times_become_offsets_from_the_run_start(void **state)
{
    (void)state;
    assert_masked("loki",
                  "{\"ns\":\"1764000000000000000\",\"ms\":1764000001500,\"us\":1764000000000250,"
                  "\"before\":\"1763999999000000000\",\"odd\":\"1764000000000000001\","
                  "\"rfc\":\"2025-11-24T16:00:02.5Z\",\"secs\":1764000003.25}",
                  "{\"ns\":\"<time+0ms>\",\"ms\":\"<time+1500ms>\",\"us\":\"<time+250000ns>\","
                  "\"before\":\"<time-1000ms>\",\"odd\":\"<time+1ns>\","
                  "\"rfc\":\"<time+2500ms>\",\"secs\":\"<time+3250ms>\"}");
}

static void test_mask_leaves_values_that_are_not_times(void **state)
{
    (void)state;
    /* Counts, durations, old fixed times and ids stay as they are. */
    assert_masked("tempo",
                  "{\"count\":3,\"duration\":\"1500000000\",\"old\":\"1700000000000000000\","
                  "\"span_id\":\"00f067aa0ba902b7\",\"digits_id\":\"01764000000000\","
                  "\"value\":12.5,\"neg\":-1}",
                  "{\"count\":3,\"duration\":\"1500000000\",\"old\":\"1700000000000000000\","
                  "\"span_id\":\"00f067aa0ba902b7\",\"digits_id\":\"01764000000000\","
                  "\"value\":12.5,\"neg\":-1}");
}

static void test_mask_ports_hosts_and_declared_keys(void **state)
{
    (void)state;
    assert_masked("prometheus",
                  "{\"instance\":\"127.0.0.1:43127\",\"url\":\"http://localhost:8888/metrics\","
                  "\"host_name\":\"build-host.example.org\",\"short\":\"build-host\","
                  "\"other\":\"127.0.0.1\"}",
                  "{\"instance\":\"127.0.0.1:<port>\",\"url\":\"http://localhost:<port>/metrics\","
                  "\"host_name\":\"<host-name>\",\"short\":\"<host-name>\","
                  "\"other\":\"127.0.0.1\"}");
    assert_masked("requests/loki",
                  "{\"requests\":[{\"seq\":1,\"time_unix_ms\":1764000000123,\"time\":5,"
                  "\"user_agent\":\"OpenTelemetry Collector Contrib/0.144.0 (linux/amd64)\","
                  "\"bytes\":512,\"items\":3,\"status\":204}]}",
                  "{\"requests\":[{\"seq\":1,\"time_unix_ms\":\"<request-time>\","
                  "\"time\":\"<request-time>\",\"user_agent\":\"<user-agent>\","
                  "\"bytes\":\"<bytes>\",\"items\":3,\"status\":204}]}");
    /* A short host name also masks its FQDN, and nothing else that starts with it. */
    static const struct mask_context short_host = {.hostname = "node-1"};
    json_t *v = parse("{\"fqdn\":\"node-1.example.org\",\"name\":\"node-1\","
                      "\"other\":\"node-1.log file\",\"longer\":\"node-10\"}");
    assert_int_equal(mask_apply(v, "loki", &short_host, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(v, "fqdn")), "<host-name>");
    assert_string_equal(json_string_value(json_object_get(v, "name")), "<host-name>");
    assert_string_equal(json_string_value(json_object_get(v, "other")), "node-1.log file");
    assert_string_equal(json_string_value(json_object_get(v, "longer")), "node-10");
    json_decref(v);
    /* Key rules are per view: a `bytes` of a backend view is data. */
    assert_masked("loki", "{\"bytes\":512}", "{\"bytes\":512}");
    assert_masked("loki", "{\"observed_timestamp\":\"1764000000000000000\"}",
                  "{\"observed_timestamp\":\"<observed-time>\"}");
}

static bool every_third_ms_is_a_line(const void *opaque, int64_t ns)
{
    (void)opaque;
    int64_t off = ns - 1764000000000LL * 1000000LL;
    return off >= 0 && off % 3000000 == 0;
}

static void test_mask_pod_log_views(void **state)
{
    (void)state;
    struct mask_context pod_ctx = ctx;
    pod_ctx.run_dir = "/tmp/otel-harness-logs-AbC123";
    pod_ctx.is_line_time = every_third_ms_is_a_line;
    json_t *v =
        parse("{\"tenants\":{\"fake\":{\"streams\":[{\"entries\":["
              /* a parsed time, no observed_timestamp (Loki adds it only when both are set) */
              "{\"line\":\"2025-11-24T18:00:00.003+02:00 stdout F hi\",\"timestamp_ns\":"
              "\"1764000000003000000\",\"structured_metadata\":{\"log_file_path\":"
              "\"/tmp/otel-harness-logs-AbC123/var/log/pods/ns_p_u/c/0.log\"}},"
              /* no parsed time: Loki used the observed time */
              "{\"line\":\"{\\\"log\\\":\\\"cut\",\"timestamp_ns\":\"1764000000004123456\","
              "\"structured_metadata\":{}},"
              /* both times: the timestamp is the record's */
              "{\"line\":\"x\",\"timestamp_ns\":\"1764000000005000000\",\"structured_metadata\":"
              "{\"observed_timestamp\":\"1764000000009000000\"}}]}]}}}");
    assert_int_equal(mask_apply(v, "loki", &pod_ctx, NULL), 0);
    json_t *want = parse(
        "{\"tenants\":{\"fake\":{\"streams\":[{\"entries\":["
        "{\"line\":\"<time+3ms> stdout F hi\",\"timestamp_ns\":\"<time+3ms>\","
        "\"structured_metadata\":{\"log_file_path\":\"<run-dir>/var/log/pods/ns_p_u/c/0.log\"}},"
        "{\"line\":\"{\\\"log\\\":\\\"cut\",\"timestamp_ns\":\"<observed-time>\","
        "\"structured_metadata\":{}},"
        "{\"line\":\"x\",\"timestamp_ns\":\"<time+5ms>\",\"structured_metadata\":"
        "{\"observed_timestamp\":\"<observed-time>\"}}]}]}}}");
    if (!json_equal(v, want)) {
        char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, "got: %s\n", got);
        free(got);
        fail();
    }
    json_decref(v);
    json_decref(want);
    /* Without pod logs (is_line_time NULL) the rule is off: payload times stay times. */
    assert_masked("loki",
                  "{\"tenants\":{\"fake\":{\"streams\":[{\"entries\":[{\"timestamp_ns\":"
                  "\"1764000000004123456\"}]}]}}}",
                  "{\"tenants\":{\"fake\":{\"streams\":[{\"entries\":[{\"timestamp_ns\":"
                  "\"<time+4123456ns>\"}]}]}}}");
    /* Times inside text only at a word start, and only near the run. */
    assert_masked("loki", "{\"a\":\"at 2025-11-24T16:00:01Z and 1999-01-01T00:00:00Z\"}",
                  "{\"a\":\"at <time+1000ms> and 1999-01-01T00:00:00Z\"}");
}

static void test_mask_summarises_long_strings(void **state)
{
    (void)state;
    char *text = malloc(MASK_LONG_STRING + 200);
    assert_non_null(text);
    memset(text, 'a', MASK_LONG_STRING + 100);
    memcpy(text, "\xc3\xa9", 2);      /* a two-byte character at the start */
    memcpy(text + 47, "\xc3\xa9", 2); /* ... and one across the 48-byte cut */
    memcpy(text + MASK_LONG_STRING + 90, " seq=000012", 11);
    text[MASK_LONG_STRING + 101] = '\0';
    json_t *v = json_pack("{s:s}", "line", text);
    assert_int_equal(mask_apply(v, "loki", &ctx, NULL), 0);
    const char *got = json_string_value(json_object_get(v, "line"));
    assert_non_null(got);
    assert_int_equal(strncmp(got, "<2149 bytes, fnv1a64 ", 21), 0);
    /* The head stops before the character it would cut; the tail shows the token. */
    assert_non_null(strstr(got, ": \xc3\xa9"
                                "aaa"));
    assert_non_null(strstr(got, "aaaaa ... "));
    assert_non_null(strstr(got, "aaa seq=000012>"));
    assert_null(strstr(got, "\xc3\xa9 ..."));
    json_decref(v);
    free(text);
    /* Exactly at the limit: kept. */
    char *edge = calloc(1, MASK_LONG_STRING + 1);
    memset(edge, 'b', MASK_LONG_STRING);
    v = json_pack("{s:s}", "line", edge);
    assert_int_equal(mask_apply(v, "loki", &ctx, NULL), 0);
    assert_int_equal(json_string_length(json_object_get(v, "line")), MASK_LONG_STRING);
    json_decref(v);
    free(edge);
}

static void test_mask_time_token_format(void **state)
{
    (void)state;
    char buf[64];
    mask_time_token(0, buf, sizeof(buf));
    assert_string_equal(buf, "<time+0ms>");
    mask_time_token(-2000000000LL, buf, sizeof(buf));
    assert_string_equal(buf, "<time-2000ms>");
    mask_time_token(1500001, buf, sizeof(buf));
    assert_string_equal(buf, "<time+1500001ns>");
}

static void test_golden_write_then_read_round_trips(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_golden_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], view_path[256];
    golden_path(view_path, sizeof(view_path), dir, "scenario", "requests/loki");
    snprintf(path, sizeof(path), "%s/scenario/requests/loki.json", dir);
    assert_string_equal(view_path, path);
    json_t *v = parse("{\"b\":[1,2.5],\"a\":\"x\"}");
    assert_int_equal(golden_write(path, v, NULL), 0);
    json_t *back = NULL;
    assert_int_equal(golden_read(path, &back, NULL), 0);
    assert_true(json_equal(v, back));
    FILE *f = fopen(path, "r");
    char text[256] = {0};
    assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
    fclose(f);
    assert_string_equal(text, "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    2.5\n  ]\n}\n");
    struct error err;
    json_t *missing = NULL;
    snprintf(path, sizeof(path), "%s/scenario/none.json", dir);
    assert_int_equal(golden_read(path, &missing, &err), -ENOENT);
    assert_non_null(strstr(err.message, "--update-golden"));
    json_decref(v);
    json_decref(back);
    report_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_sorts_keys_indents_and_ends_with_newline),
        cmocka_unit_test(test_canonical_numbers_and_strings),
        cmocka_unit_test(test_canonical_text_is_stable_across_insertion_order),
        cmocka_unit_test(test_ordering_sorts_loki_streams_but_keeps_entries),
        cmocka_unit_test(test_mask_times_become_offsets_from_the_run_start),
        cmocka_unit_test(test_mask_leaves_values_that_are_not_times),
        cmocka_unit_test(test_mask_ports_hosts_and_declared_keys),
        cmocka_unit_test(test_mask_pod_log_views),
        cmocka_unit_test(test_mask_summarises_long_strings),
        cmocka_unit_test(test_mask_time_token_format),
        cmocka_unit_test(test_golden_write_then_read_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
