/*
 * test_request_log.c - the bounded request log: entries, eviction with a dropped count, `since`,
 * the counters behind /v1/stats, reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "request_log.h"

static struct request_log_entry entry(const char *path, int status, size_t items, bool accepted)
{
    return (struct request_log_entry){
        .time_unix_ms = 1700000000000,
        .method = "POST",
        .path = path,
        .content_type = "application/x-protobuf",
        .content_encoding = "gzip",
        .user_agent = "OpenTelemetry Collector Contrib/0.144.0",
        .org_id = NULL,
        .bytes = 123,
        .items = items,
        .status = status,
        .fault = !accepted,
        .accepted = accepted,
    };
}

static void test_entry_has_every_field(void **state)
{
    struct request_log *log = request_log_new(10);
    struct request_log_entry e = entry("/otlp/v1/logs", 204, 3, true);
    assert_int_equal(request_log_append(log, &e), 1);
    json_t *view = request_log_view(log, 0);
    char *text = json_dumps(json_array_get(json_object_get(view, "requests"), 0), JSON_COMPACT);
    assert_string_equal(text,
                        "{\"seq\":1,\"time_unix_ms\":1700000000000,\"method\":\"POST\",\"path\":"
                        "\"/otlp/v1/logs\",\"content_type\":\"application/x-protobuf\","
                        "\"content_encoding\":\"gzip\",\"user_agent\":\"OpenTelemetry Collector "
                        "Contrib/0.144.0\",\"org_id\":null,\"bytes\":123,\"items\":3,\"status\":"
                        "204,\"fault\":false}");
    free(text);
    json_decref(view);
    request_log_free(log);
}

static void test_keeps_last_capacity_and_counts_dropped(void **state)
{
    struct request_log *log = request_log_new(3);
    for (int i = 0; i < 5; i++) {
        struct request_log_entry e = entry("/v1/traces", 200, 1, true);
        assert_int_equal(request_log_append(log, &e), (uint64_t)i + 1);
    }
    json_t *view = request_log_view(log, 0);
    json_t *requests = json_object_get(view, "requests");
    assert_int_equal(json_array_size(requests), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(requests, 0), "seq")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(requests, 2), "seq")), 5);
    assert_int_equal(json_integer_value(json_object_get(view, "dropped")), 2);
    json_decref(view);
    struct request_log_stats s;
    request_log_stats(log, &s);
    assert_int_equal(s.requests, 5); /* the counters are not bounded by the ring */
    request_log_free(log);
}

static void test_since_returns_newer_entries(void **state)
{
    struct request_log *log = request_log_new(10);
    for (int i = 0; i < 4; i++) {
        struct request_log_entry e = entry("/v1/traces", 200, 1, true);
        request_log_append(log, &e);
    }
    json_t *view = request_log_view(log, 2);
    json_t *requests = json_object_get(view, "requests");
    assert_int_equal(json_array_size(requests), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(requests, 0), "seq")), 3);
    json_decref(view);
    request_log_free(log);
}

static void test_stats_count_only_accepted_items(void **state)
{
    struct request_log *log = request_log_new(10);
    struct request_log_entry ok = entry("/otlp/v1/logs", 204, 5, true);
    struct request_log_entry refused = entry("/otlp/v1/logs", 503, 0, false);
    request_log_append(log, &ok);
    request_log_append(log, &refused);
    request_log_append(log, &ok);
    struct request_log_stats s;
    request_log_stats(log, &s);
    assert_int_equal(s.requests, 3);
    assert_int_equal(s.accepted_requests, 2);
    assert_int_equal(s.items, 10);
    request_log_free(log);
}

static void test_reset_zeroes_but_sequence_goes_on(void **state)
{
    struct request_log *log = request_log_new(2);
    for (int i = 0; i < 3; i++) {
        struct request_log_entry e = entry("/x", 200, 1, true);
        request_log_append(log, &e);
    }
    request_log_reset(log);
    struct request_log_stats s;
    request_log_stats(log, &s);
    assert_int_equal(s.requests, 0);
    json_t *view = request_log_view(log, 0);
    assert_int_equal(json_array_size(json_object_get(view, "requests")), 0);
    assert_int_equal(json_integer_value(json_object_get(view, "dropped")), 0);
    json_decref(view);
    struct request_log_entry e = entry("/x", 200, 1, true);
    assert_int_equal(request_log_append(log, &e), 4);
    request_log_free(log);
}

static void test_long_header_values_are_cut(void **state)
{
    struct request_log *log = request_log_new(2);
    char agent[1000];
    memset(agent, 'a', sizeof(agent) - 1);
    agent[sizeof(agent) - 1] = '\0';
    struct request_log_entry e = entry("/x", 200, 1, true);
    e.user_agent = agent;
    request_log_append(log, &e);
    json_t *view = request_log_view(log, 0);
    const char *got = json_string_value(
        json_object_get(json_array_get(json_object_get(view, "requests"), 0), "user_agent"));
    assert_int_equal(strlen(got), REQUEST_LOG_VALUE_MAX);
    json_decref(view);
    request_log_free(log);
}

static void test_zero_capacity_is_refused(void **state)
{
    assert_null(request_log_new(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_has_every_field),
        cmocka_unit_test(test_keeps_last_capacity_and_counts_dropped),
        cmocka_unit_test(test_since_returns_newer_entries),
        cmocka_unit_test(test_stats_count_only_accepted_items),
        cmocka_unit_test(test_reset_zeroes_but_sequence_goes_on),
        cmocka_unit_test(test_long_header_values_are_cut),
        cmocka_unit_test(test_zero_capacity_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
