/*
 * test_fault.c - the fault injector: parsing (table-driven, good and bad specs), firing counts,
 * `times`, stalls released by release / clear / shutdown, latency.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "fault.h"
#include "poll_until.h"

static const struct {
    const char *json;
    const char *want_error; /* NULL = valid; else a substring of the message */
} parse_cases[] = {
    {"{\"status\":503}", NULL},
    {"{\"status\":503,\"retry_after\":\"2\",\"body\":\"busy\",\"times\":2}", NULL},
    {"{\"status\":429,\"retry_after\":30}", NULL},
    {"{\"latency_ms\":200}", NULL},
    {"{\"stall\":true}", NULL},
    {"{\"reset\":true,\"times\":1}", NULL},
    {"{\"status\":503,\"times\":null}", NULL},
    {"{\"stall\":true,\"status\":200}", NULL},
    {"{\"cut_watches\":true}", NULL},
    {"{\"cut_watches\":true,\"status\":500,\"times\":3}", NULL},
    {"{\"cut_watches\":false}", "needs at least one of"},
    {"{\"cut_watches\":\"yes\"}", "\"cut_watches\" must be true or false"},
    {"{}", "needs at least one of"},
    {"[]", "must be a JSON object"},
    {"{\"status\":503", "invalid JSON"},
    {"{\"status\":99}", "\"status\" must be between 200 and 599"},
    {"{\"status\":600}", "\"status\" must be between"},
    {"{\"status\":\"503\"}", "\"status\" must be an integer"},
    {"{\"status\":503,\"times\":0}", "\"times\" must be between 1"},
    {"{\"latency_ms\":-1}", "\"latency_ms\" must be between 0"},
    {"{\"stall\":\"yes\"}", "\"stall\" must be true or false"},
    {"{\"status\":503,\"reset\":true}", "cannot be combined"},
    {"{\"body\":\"x\",\"stall\":true}", "need a \"status\""},
    {"{\"status\":503,\"retry_after\":\"1\\r\\nX: y\"}", "printable ASCII"},
    {"{\"status\":503,\"retry_after\":-3}", "must not be negative"},
    {"{\"status\":503,\"colour\":\"red\"}", "unknown field \"colour\""},
    {"{\"status\":503,\"status\":500}", "invalid JSON"}, /* duplicate keys are refused */
    /* gRPC terms */
    {"{\"grpc_status\":\"UNAVAILABLE\",\"message\":\"down\",\"times\":2}", NULL},
    {"{\"grpc_status\":14}", NULL},
    {"{\"grpc_status\":\"RESOURCE_EXHAUSTED\",\"retry_info_delay\":\"1s\"}", NULL},
    {"{\"grpc_status\":\"OK\",\"stall\":true}", NULL},
    {"{\"status\":429,\"retry_info_delay\":\"500ms\"}", NULL},
    {"{\"status\":503,\"grpc_status\":\"INTERNAL\"}", NULL},
    {"{\"grpc_status\":\"Unavailable\"}", "must be a gRPC code name"},
    {"{\"grpc_status\":17}", "must be a gRPC code name"},
    {"{\"grpc_status\":\"UNAVAILABLE\",\"reset\":true}", "cannot be combined with \"grpc_status\""},
    {"{\"message\":\"x\",\"stall\":true}", "need a \"grpc_status\""},
    {"{\"retry_info_delay\":\"1s\",\"latency_ms\":5}", "need a \"grpc_status\""},
    {"{\"grpc_status\":\"OK\",\"retry_info_delay\":\"1s\"}",
     "cannot be combined with grpc_status OK"},
    {"{\"status\":200,\"retry_info_delay\":\"1s\"}", "cannot be combined with grpc_status OK"},
    {"{\"grpc_status\":\"UNAVAILABLE\",\"retry_info_delay\":\"soon\"}", "must be a duration"},
    {"{\"grpc_status\":\"UNAVAILABLE\",\"message\":7}", "\"message\" must be a string"},
};

static void test_parse_table(void **state)
{
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        struct fault_spec spec;
        struct error err = {0};
        const char *json = parse_cases[i].json;
        int rc = fault_spec_parse(json, strlen(json), &spec, &err);
        if (!parse_cases[i].want_error) {
            if (rc != 0)
                fail_msg("%s: unexpected error: %s", json, err.message);
            fault_spec_clear(&spec);
            continue;
        }
        if (rc != -EINVAL)
            fail_msg("%s: accepted, want an error with \"%s\"", json, parse_cases[i].want_error);
        if (!strstr(err.message, parse_cases[i].want_error))
            fail_msg("%s: error \"%s\", want \"%s\"", json, err.message, parse_cases[i].want_error);
        assert_null(spec.body);
    }
}

/* Each front reads only its own terms: the ones not written are derived (fault.h), and the view
 * shows only what was written. */
static void test_terms_are_derived_for_the_other_transport(void **state)
{
    static const struct {
        const char *json;
        int status;
        int grpc_code;
        const char *body, *message;
    } cases[] = {
        {"{\"grpc_status\":\"UNAVAILABLE\",\"message\":\"down\"}", 503, 14, "down", "down"},
        {"{\"grpc_status\":\"RESOURCE_EXHAUSTED\"}", 429, 8, NULL, NULL},
        {"{\"grpc_status\":\"INVALID_ARGUMENT\"}", 400, 3, NULL, NULL},
        {"{\"grpc_status\":\"DEADLINE_EXCEEDED\"}", 503, 4, NULL, NULL},
        {"{\"grpc_status\":\"INTERNAL\"}", 500, 13, NULL, NULL},
        {"{\"grpc_status\":\"OK\",\"latency_ms\":1}", 200, 0, NULL, NULL},
        {"{\"status\":503,\"body\":\"busy\"}", 503, 14, "busy", "busy"},
        {"{\"status\":429}", 429, 8, NULL, NULL},
        {"{\"status\":500}", 500, 2, NULL, NULL},
        {"{\"status\":204}", 204, 0, NULL, NULL},
        {"{\"status\":503,\"grpc_status\":\"ABORTED\",\"body\":\"b\",\"message\":\"m\"}", 503, 10,
         "b", "m"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fault_spec spec;
        const char *json = cases[i].json;
        assert_int_equal(fault_spec_parse(json, strlen(json), &spec, NULL), 0);
        if (spec.status != cases[i].status || !spec.has_grpc_code ||
            spec.grpc_code != cases[i].grpc_code)
            fail_msg("%s: status %d grpc %d, want %d and %d", json, spec.status, spec.grpc_code,
                     cases[i].status, cases[i].grpc_code);
        if (cases[i].body)
            assert_string_equal(spec.body, cases[i].body);
        else
            assert_null(spec.body);
        if (cases[i].message)
            assert_string_equal(spec.message, cases[i].message);
        else
            assert_null(spec.message);
        json_t *shown = fault_spec_json(&spec);
        json_t *given = json_loads(json, 0, NULL);
        const char *key;
        json_t *value;
        json_object_foreach(shown, key, value)
        {
            if (!strcmp(key, "stall") || !strcmp(key, "reset"))
                continue; /* always shown */
            if (!json_object_get(given, key))
                fail_msg("%s: the view shows the derived \"%s\"", json, key);
        }
        json_decref(given);
        json_decref(shown);
        fault_spec_clear(&spec);
    }
    (void)state;
}

static struct fault *fault_with(const char *json)
{
    struct fault *f = fault_new();
    assert_non_null(f);
    struct fault_spec spec;
    assert_int_equal(fault_spec_parse(json, strlen(json), &spec, NULL), 0);
    fault_set(f, &spec);
    assert_null(spec.body); /* moved */
    return f;
}

static void test_fires_times_then_goes_inactive(void **state)
{
    struct fault *f =
        fault_with("{\"status\":503,\"retry_after\":\"2\",\"body\":\"b\",\"times\":2}");
    struct fault_action a;
    for (int i = 0; i < 2; i++) {
        assert_true(fault_take(f, &a));
        assert_int_equal(a.spec.status, 503);
        assert_string_equal(a.spec.retry_after, "2");
        assert_string_equal(a.spec.body, "b");
        fault_action_clear(&a);
    }
    assert_false(fault_take(f, &a));
    assert_int_equal(fault_fired(f), 2);
    json_t *view = fault_view(f);
    assert_false(json_is_true(json_object_get(view, "active")));
    assert_int_equal(json_integer_value(json_object_get(view, "fired")), 2);
    assert_int_equal(json_integer_value(json_object_get(view, "remaining")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(view, "fault"), "status")),
                     503);
    json_decref(view);
    fault_free(f);
}

static void test_without_times_fires_until_cleared(void **state)
{
    struct fault *f = fault_with("{\"status\":500}");
    struct fault_action a;
    for (int i = 0; i < 5; i++) {
        assert_true(fault_take(f, &a));
        fault_action_clear(&a);
    }
    json_t *view = fault_view(f);
    assert_true(json_is_null(json_object_get(view, "remaining")));
    json_decref(view);
    fault_clear(f);
    assert_false(fault_take(f, &a));
    view = fault_view(f);
    assert_true(json_is_null(json_object_get(view, "fault")));
    assert_int_equal(json_integer_value(json_object_get(view, "fired")), 0);
    json_decref(view);
    fault_free(f);
}

static void test_set_replaces_and_resets_count(void **state)
{
    struct fault *f = fault_with("{\"status\":500}");
    struct fault_action a;
    assert_true(fault_take(f, &a));
    fault_action_clear(&a);
    struct fault_spec spec;
    assert_int_equal(fault_spec_parse("{\"status\":429}", 14, &spec, NULL), 0);
    fault_set(f, &spec);
    assert_int_equal(fault_fired(f), 0);
    assert_true(fault_take(f, &a));
    assert_int_equal(a.spec.status, 429);
    fault_action_clear(&a);
    fault_free(f);
}

static void test_retry_after_number_becomes_text(void **state)
{
    struct fault_spec spec;
    assert_int_equal(fault_spec_parse("{\"status\":429,\"retry_after\":30}", 31, &spec, NULL), 0);
    assert_string_equal(spec.retry_after, "30");
    json_t *j = fault_spec_json(&spec);
    assert_string_equal(json_string_value(json_object_get(j, "retry_after")), "30");
    json_decref(j);
    fault_spec_clear(&spec);
}

struct waiter {
    struct fault *f;
    struct fault_action action;
    atomic_int done;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    fault_wait(w->f, &w->action);
    w->done = 1;
    return NULL;
}

struct stalled_goal {
    struct fault *f;
    long n;
};

static bool holds_stalled(void *ctx)
{
    struct stalled_goal *g = ctx;
    json_t *view = fault_view(g->f);
    long stalled = (long)json_integer_value(json_object_get(view, "stalled"));
    json_decref(view);
    return stalled == g->n;
}

/* Polls until `n` requests are stalled, for 10 s at most. */
static void wait_stalled(struct fault *f, long n)
{
    struct stalled_goal goal = {f, n};
    if (!poll_until(holds_stalled, &goal, 10000))
        fail_msg("waited 10 s for %ld stalled requests", n);
}

static void stall_and_release(void (*release)(struct fault *))
{
    struct fault *f = fault_with("{\"stall\":true}");
    struct waiter w = {.f = f};
    assert_true(fault_take(f, &w.action));
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, wait_thread, &w), 0);
    wait_stalled(f, 1);
    assert_int_equal(w.done, 0);
    release(f);
    pthread_join(thread, NULL);
    assert_int_equal(w.done, 1);
    wait_stalled(f, 0);
    fault_action_clear(&w.action);
    fault_free(f);
}

static void test_stall_released_by_release(void **state)
{
    stall_and_release(fault_release);
}
static void test_stall_released_by_clear(void **state)
{
    stall_and_release(fault_clear);
}
static void test_stall_released_by_shutdown(void **state)
{
    stall_and_release(fault_shutdown);
}

static void test_release_frees_only_earlier_stalls(void **state)
{
    struct fault *f = fault_with("{\"stall\":true}");
    fault_release(f); /* before anything stalled: must not pre-release later requests */
    struct waiter w = {.f = f};
    assert_true(fault_take(f, &w.action));
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, wait_thread, &w), 0);
    wait_stalled(f, 1);
    fault_release(f);
    pthread_join(thread, NULL);
    fault_action_clear(&w.action);
    fault_free(f);
}

static void test_latency_waits_about_that_long(void **state)
{
    struct fault *f = fault_with("{\"latency_ms\":50}");
    struct fault_action a;
    assert_true(fault_take(f, &a));
    long long t0 = monotonic_ms();
    fault_wait(f, &a);
    long ms = (long)(monotonic_ms() - t0);
    assert_true(ms >= 45);
    assert_int_equal(a.spec.status, 0);
    fault_action_clear(&a);
    fault_free(f);
}

static void test_no_fault_does_not_fire(void **state)
{
    struct fault *f = fault_new();
    struct fault_action a;
    assert_false(fault_take(f, &a));
    json_t *view = fault_view(f);
    char *text = json_dumps(view, JSON_COMPACT);
    assert_string_equal(text, "{\"active\":false,\"fault\":null,\"fired\":0,\"remaining\":null,"
                              "\"stalled\":0}");
    free(text);
    json_decref(view);
    fault_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_terms_are_derived_for_the_other_transport),
        cmocka_unit_test(test_fires_times_then_goes_inactive),
        cmocka_unit_test(test_without_times_fires_until_cleared),
        cmocka_unit_test(test_set_replaces_and_resets_count),
        cmocka_unit_test(test_retry_after_number_becomes_text),
        cmocka_unit_test(test_stall_released_by_release),
        cmocka_unit_test(test_stall_released_by_clear),
        cmocka_unit_test(test_stall_released_by_shutdown),
        cmocka_unit_test(test_release_frees_only_earlier_stalls),
        cmocka_unit_test(test_latency_waits_about_that_long),
        cmocka_unit_test(test_no_fault_does_not_fire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
