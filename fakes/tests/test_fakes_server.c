/*
 * test_fakes_server.c - end to end: every fake and the control API started in-process on
 * ephemeral ports, driven over real HTTP with libcurl: the ready line, a push recorded and shown,
 * faults (status with Retry-After, reset, stall and release), the request log and stats, and a
 * clean stop with a request still stalled.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "fakes.h"
#include "grpc_group.h"
#include "http_client.h"
#include "helpers.h"
#include "log.h"
#include "poll_until.h"

static const char logs_json[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"k8s.container.name\","
    "\"value\":{\"stringValue\":\"nginx\"}}]},\"scopeLogs\":[{\"logRecords\":[{\"body\":"
    "{\"stringValue\":\"hello\"}}]}]}]}";

static void http(const char *method, int port, const char *path, const char *content_type,
                 const char *body, struct reply *r)
{
    char h[128];
    const char *headers[2] = {NULL, NULL};
    if (content_type) {
        snprintf(h, sizeof(h), "Content-Type: %s", content_type);
        headers[0] = h;
    }
    http_request_to(method, port, path, headers, body, 30, r);
}

static json_t *control_json(struct fakes *f, const char *method, const char *path, const char *body)
{
    struct reply r;
    http(method, fakes_port(f, "control"), path, body ? "application/json" : NULL, body, &r);
    assert_int_equal(r.rc, CURLE_OK);
    json_t *j = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
    if (!j)
        fail_msg("control %s %s answered %ld: %s", method, path, r.status, r.body);
    free(r.body);
    return j;
}

static void reply_free(struct reply *r)
{
    free(r->body);
}

/* Every fake but the Kubernetes API's HTTPS front, whose certificate costs a key generation per
 * start (seconds under valgrind): only the ready-line test starts it (setup_with_https). */
static int start_fakes(void **state, bool https)
{
    struct fakes_config cfg = {.prometheus_otlp_enabled = true,
                               .kubernetes_https_port = https ? 0 : -1};
    struct error err = {0};
    struct fakes *f = fakes_new(&cfg, &err);
    if (!f || fakes_listen(f, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.message);
        fakes_free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return start_fakes(state, false);
}

static int setup_with_https(void **state)
{
    return start_fakes(state, true);
}

static int teardown(void **state)
{
    fakes_free(*state);
    return 0;
}

struct stalled_goal {
    struct fakes *f;
    const char *path;
    long n;
};

static bool holds_stalled(void *ctx)
{
    struct stalled_goal *g = ctx;
    json_t *view = control_json(g->f, "GET", g->path, NULL);
    long stalled = (long)json_integer_value(json_object_get(view, "stalled"));
    json_decref(view);
    return stalled == g->n;
}

/* Polls the control API until the fault of `fake` holds `n` stalled requests, 10 s at most. */
static void wait_stalled(struct fakes *f, const char *fake, long n)
{
    char path[64];
    snprintf(path, sizeof(path), "/v1/faults/%s", fake);
    struct stalled_goal goal = {f, path, n};
    if (!poll_until(holds_stalled, &goal, 10000))
        fail_msg("waited 10 s for %ld stalled requests on %s", n, fake);
}

static void test_ready_line_has_every_port(void **state)
{
    json_t *ready = fakes_ready_json(*state);
    char *text = json_dumps(ready, JSON_COMPACT);
    assert_non_null(strstr(text, "{\"ready\":true,\"ports\":{\"prometheus\":"));
    json_t *ports = json_object_get(ready, "ports");
    const char *keys[] = {"prometheus",       "loki",       "tempo_http", "kubernetes",
                          "kubernetes_https", "tempo_grpc", "control"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_true(json_integer_value(json_object_get(ports, keys[i])) > 0);
    assert_int_equal(json_object_size(ports), sizeof(keys) / sizeof(keys[0]));
    const char *token = json_string_value(json_object_get(ready, "kubernetes_admin_token"));
    assert_non_null(token);
    assert_int_equal(strlen(token), 43);
    free(text);
    json_decref(ready);
}

static void test_loki_push_is_recorded_and_shown(void **state)
{
    struct fakes *f = *state;
    struct reply r;
    http("POST", fakes_port(f, "loki"), "/otlp/v1/logs", "application/json", logs_json, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 204);
    reply_free(&r);
    json_t *view = control_json(f, "GET", "/v1/received/loki", NULL);
    json_t *stream = json_array_get(
        json_object_get(json_object_get(json_object_get(view, "tenants"), "fake"), "streams"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(stream, "labels"), "service_name")),
        "nginx");
    json_decref(view);
    json_t *stats = control_json(f, "GET", "/v1/stats", NULL);
    json_t *loki = json_object_get(stats, "loki");
    assert_int_equal(json_integer_value(json_object_get(loki, "requests")), 1);
    assert_int_equal(json_integer_value(json_object_get(loki, "accepted_requests")), 1);
    assert_int_equal(json_integer_value(json_object_get(loki, "items")), 1);
    json_decref(stats);
    json_t *log = control_json(f, "GET", "/v1/requests/loki", NULL);
    json_t *entry = json_array_get(json_object_get(log, "requests"), 0);
    assert_string_equal(json_string_value(json_object_get(entry, "content_type")),
                        "application/json");
    assert_int_equal(json_integer_value(json_object_get(entry, "status")), 204);
    assert_int_equal(json_integer_value(json_object_get(entry, "bytes")), strlen(logs_json));
    json_decref(log);
}

static void test_status_fault_refuses_with_retry_after_and_records_nothing(void **state)
{
    struct fakes *f = *state;
    json_t *j = control_json(f, "PUT", "/v1/faults/loki",
                             "{\"status\":503,\"retry_after\":\"2\",\"times\":1}");
    json_decref(j);
    struct reply r;
    http("POST", fakes_port(f, "loki"), "/otlp/v1/logs", "application/json", logs_json, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.retry_after, "2");
    reply_free(&r);
    /* `times` is used up: the next push goes through */
    http("POST", fakes_port(f, "loki"), "/otlp/v1/logs", "application/json", logs_json, &r);
    assert_int_equal(r.status, 204);
    reply_free(&r);
    json_t *stats = control_json(f, "GET", "/v1/stats", NULL);
    json_t *loki = json_object_get(stats, "loki");
    assert_int_equal(json_integer_value(json_object_get(loki, "requests")), 2);
    assert_int_equal(json_integer_value(json_object_get(loki, "accepted_requests")), 1);
    assert_int_equal(json_integer_value(json_object_get(loki, "items")), 1);
    json_decref(stats);
    json_t *log = control_json(f, "GET", "/v1/requests/loki", NULL);
    json_t *first = json_array_get(json_object_get(log, "requests"), 0);
    assert_true(json_is_true(json_object_get(first, "fault")));
    assert_int_equal(json_integer_value(json_object_get(first, "status")), 503);
    json_decref(log);
    json_t *fault = control_json(f, "GET", "/v1/faults/loki", NULL);
    assert_int_equal(json_integer_value(json_object_get(fault, "fired")), 1);
    json_decref(fault);
}

static void test_tempo_status_fault_is_rpc_status(void **state)
{
    struct fakes *f = *state;
    json_decref(control_json(f, "PUT", "/v1/faults/tempo", "{\"status\":429,\"body\":\"slow\"}"));
    struct reply r;
    http("POST", fakes_port(f, "tempo"), "/v1/traces", "application/json", "{}", &r);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.body, "{\"code\":8,\"message\":\"slow\"}");
    reply_free(&r);
    json_decref(control_json(f, "DELETE", "/v1/faults/tempo", NULL));
    http("POST", fakes_port(f, "tempo"), "/v1/traces", "application/json", "{}", &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

/* A fault written in gRPC terms answers the HTTP front with the status the OTLP receiver maps
 * that code to (fault.h). */
static void test_tempo_grpc_fault_answers_http_in_kind(void **state)
{
    struct fakes *f = *state;
    json_decref(
        control_json(f, "PUT", "/v1/faults/tempo",
                     "{\"grpc_status\":\"RESOURCE_EXHAUSTED\",\"message\":\"RATE_LIMITED: x\"}"));
    struct reply r;
    http("POST", fakes_port(f, "tempo"), "/v1/traces", "application/json", "{}", &r);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.body, "{\"code\":8,\"message\":\"RATE_LIMITED: x\"}");
    reply_free(&r);
}

static void test_reset_fault_drops_the_connection(void **state)
{
    struct fakes *f = *state;
    json_decref(control_json(f, "PUT", "/v1/faults/prometheus", "{\"reset\":true,\"times\":1}"));
    struct reply r;
    http("POST", fakes_port(f, "prometheus"), "/api/v1/otlp/v1/metrics", "application/x-protobuf",
         "", &r);
    assert_int_not_equal(r.rc, CURLE_OK);
    reply_free(&r);
    json_t *log = control_json(f, "GET", "/v1/requests/prometheus", NULL);
    json_t *entry = json_array_get(json_object_get(log, "requests"), 0);
    assert_int_equal(json_integer_value(json_object_get(entry, "status")), 0);
    assert_true(json_is_true(json_object_get(entry, "fault")));
    json_decref(log);
}

struct client {
    struct fakes *f;
    struct reply r;
};

static void *post_logs(void *arg)
{
    struct client *c = arg;
    http("POST", fakes_port(c->f, "loki"), "/otlp/v1/logs", "application/json", logs_json, &c->r);
    return NULL;
}

static void test_stall_holds_until_released(void **state)
{
    struct fakes *f = *state;
    json_decref(control_json(f, "PUT", "/v1/faults/loki", "{\"stall\":true,\"times\":1}"));
    struct client c = {.f = f};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, post_logs, &c), 0);
    wait_stalled(f, "loki", 1);
    json_t *stats = control_json(f, "GET", "/v1/stats", NULL);
    /* still held: nothing answered, nothing logged yet */
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(stats, "loki"), "requests")), 0);
    json_decref(stats);
    json_decref(control_json(f, "POST", "/v1/faults/loki/release", NULL));
    pthread_join(thread, NULL);
    assert_int_equal(c.r.rc, CURLE_OK);
    assert_int_equal(c.r.status, 204); /* a stall alone only delays */
    reply_free(&c.r);
}

static void test_stop_releases_a_stalled_request(void **state)
{
    struct fakes *f = *state;
    json_decref(control_json(f, "PUT", "/v1/faults/loki", "{\"stall\":true,\"status\":503}"));
    struct client c = {.f = f};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, post_logs, &c), 0);
    wait_stalled(f, "loki", 1);
    fakes_free(f); /* must not hang */
    *state = NULL;
    pthread_join(thread, NULL);
    reply_free(&c.r);
}

static void test_received_reset_clears_logs_and_data(void **state)
{
    struct fakes *f = *state;
    struct reply r;
    http("POST", fakes_port(f, "loki"), "/otlp/v1/logs", "application/json", logs_json, &r);
    reply_free(&r);
    json_decref(control_json(f, "DELETE", "/v1/received", NULL));
    json_t *stats = control_json(f, "GET", "/v1/stats", NULL);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(stats, "loki"), "requests")), 0);
    json_decref(stats);
    json_t *view = control_json(f, "GET", "/v1/received/loki", NULL);
    assert_int_equal(json_object_size(json_object_get(view, "tenants")), 0);
    json_decref(view);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    log_set_level(LOG_WARN); /* the servers' "listening on" lines are noise here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ready_line_has_every_port, setup_with_https, teardown),
        cmocka_unit_test_setup_teardown(test_loki_push_is_recorded_and_shown, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_status_fault_refuses_with_retry_after_and_records_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tempo_status_fault_is_rpc_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tempo_grpc_fault_answers_http_in_kind, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reset_fault_drops_the_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stall_holds_until_released, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_releases_a_stalled_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_received_reset_clears_logs_and_data, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, grpc_group_setup, grpc_group_teardown);
    curl_global_cleanup();
    return rc;
}
