/*
 * test_targets.c - fake scrape targets (targets.h) through the control API (control_dispatch)
 * and scraped over HTTP with libcurl. One fakes instance for the whole group; every test uses
 * addresses of its own in 127.0.1.0/24 with port 0, so runs in parallel do not collide, and stops
 * its targets before it ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "compress.h"
#include "control.h"
#include "fakes.h"
#include "helpers.h"
#include "http_client.h"

static int setup(void **state)
{
    struct fakes_config cfg = {0};
    struct error err = {0};
    *state = fakes_new(&cfg, &err);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    fakes_free(*state);
    return 0;
}

/* One control request; returns the status and the JSON answer (caller decrefs). */
static json_t *control(struct fakes *fakes, const char *method, const char *path, const char *body,
                       int *status)
{
    struct control_request req = {
        .method = method,
        .path = path,
        .body = (const uint8_t *)(body ? body : ""),
        .body_len = body ? strlen(body) : 0,
    };
    struct http_response resp = {.status = 200};
    control_dispatch(fakes, &req, &resp);
    *status = resp.status;
    json_t *json = json_loadb((const char *)resp.body, resp.body_len, 0, NULL);
    assert_non_null(json);
    response_clear(&resp);
    return json;
}

/* Starts a target and returns its bound port. */
static int start_target(struct fakes *fakes, const char *json)
{
    int status = 0;
    json_t *view = control(fakes, "POST", "/v1/targets", json, &status);
    if (status != 201)
        fail_msg("POST /v1/targets: %d %s", status,
                 json_string_value(json_object_get(view, "error")));
    int port = (int)json_integer_value(json_object_get(view, "port"));
    assert_true(port > 0);
    json_decref(view);
    return port;
}

static void stop_target(struct fakes *fakes, const char *name)
{
    char path[128];
    int status = 0;
    snprintf(path, sizeof(path), "/v1/targets/%s", name);
    json_decref(control(fakes, "DELETE", path, NULL, &status));
    assert_int_equal(status, 200);
}

static void scrape(const char *address, int port, const char *path, const char *const *headers,
                   struct reply *r)
{
    http_request_at("GET", address, port, path, headers, NULL, 10, r);
}

static void test_serves_bodies_in_turn_and_repeats_the_last(void **state)
{
    struct fakes *fakes = *state;
    int port = start_target(fakes, "{\"address\":\"127.0.1.11\",\"bodies\":[\"up 1\\n\","
                                   "\"up 2\\n\"]}");
    const char *expected[] = {"up 1\n", "up 2\n", "up 2\n"};
    for (size_t i = 0; i < 3; i++) {
        struct reply r;
        scrape("127.0.1.11", port, "/metrics", NULL, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, expected[i]);
        assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
        assert_string_equal(r.content_encoding, "");
        free(r.body);
    }
    stop_target(fakes, "127.0.1.11");
}

static void test_gzip_when_accept_encoding_offers_it(void **state)
{
    struct fakes *fakes = *state;
    int port = start_target(fakes, "{\"address\":\"127.0.1.12\",\"path\":\"/m\","
                                   "\"content_type\":\"text/plain\",\"bodies\":[\"up 1\\n\"]}");
    const char *headers[] = {"Accept-Encoding: deflate, gzip;q=0.9", NULL};
    struct reply r;
    scrape("127.0.1.12", port, "/m", headers, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_encoding, "gzip");
    assert_string_equal(r.content_type, "text/plain");
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    assert_int_equal(decompress_buffer(COMPRESSION_GZIP, (const uint8_t *)r.body, r.len, 1024,
                                       &plain, &plain_len, NULL),
                     0);
    assert_string_equal((const char *)plain, "up 1\n");
    free(plain);
    free(r.body);
    stop_target(fakes, "127.0.1.12");
}

static void test_other_path_is_go_404_and_counted(void **state)
{
    struct fakes *fakes = *state;
    int port = start_target(fakes, "{\"address\":\"127.0.1.13\",\"bodies\":[\"up 1\\n\"]}");
    struct reply r;
    scrape("127.0.1.13", port, "/other", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "404 page not found\n");
    free(r.body);
    const char *headers[] = {"Accept: application/openmetrics-text;version=1.0.0",
                             "User-Agent: Prometheus/3.0.0", NULL};
    scrape("127.0.1.13", port, "/metrics", headers, &r);
    assert_int_equal(r.status, 200);
    free(r.body);

    int status = 0;
    json_t *view = control(fakes, "GET", "/v1/targets/127.0.1.13", NULL, &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_integer_value(json_object_get(view, "requests")), 2);
    assert_int_equal(json_integer_value(json_object_get(view, "scrapes")), 1);
    json_t *paths = json_object_get(view, "paths");
    assert_int_equal(json_integer_value(json_object_get(paths, "/other")), 1);
    assert_int_equal(json_integer_value(json_object_get(paths, "/metrics")), 1);
    assert_string_equal(json_string_value(json_object_get(view, "last_user_agent")),
                        "Prometheus/3.0.0");
    assert_string_equal(json_string_value(json_object_get(view, "last_accept")),
                        "application/openmetrics-text;version=1.0.0");
    json_decref(view);

    view = control(fakes, "GET", "/v1/targets", NULL, &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(json_object_get(view, "targets")), 1);
    json_decref(view);
    stop_target(fakes, "127.0.1.13");
}

static void test_fault_status_garbage_and_clear(void **state)
{
    struct fakes *fakes = *state;
    int port = start_target(fakes, "{\"address\":\"127.0.1.14\",\"bodies\":[\"up 1\\n\"],"
                                   "\"fault\":{\"status\":503,\"times\":1}}");
    struct reply r;
    scrape("127.0.1.14", port, "/metrics", NULL, &r);
    assert_int_equal(r.status, 503);
    free(r.body);

    int status = 0;
    char path[64];
    snprintf(path, sizeof(path), "/v1/faults/targets/127.0.1.14:%d", port);
    json_decref(control(fakes, "PUT", path, "{\"status\":200,\"body\":\"not{a metric\"}", &status));
    assert_int_equal(status, 200);
    scrape("127.0.1.14", port, "/metrics", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "not{a metric");
    free(r.body);

    json_decref(control(fakes, "DELETE", path, NULL, &status));
    assert_int_equal(status, 200);
    scrape("127.0.1.14", port, "/metrics", NULL, &r);
    assert_string_equal(r.body, "up 1\n");
    free(r.body);
    stop_target(fakes, "127.0.1.14");
}

static void test_fault_reset_drops_the_connection(void **state)
{
    struct fakes *fakes = *state;
    int port = start_target(fakes, "{\"address\":\"127.0.1.15\",\"bodies\":[\"up 1\\n\"],"
                                   "\"fault\":{\"reset\":true}}");
    struct reply r;
    scrape("127.0.1.15", port, "/metrics", NULL, &r);
    assert_int_not_equal(r.rc, CURLE_OK);
    free(r.body);
    stop_target(fakes, "127.0.1.15");
}

static void test_stopped_target_refuses_and_is_gone(void **state)
{
    struct fakes *fakes = *state;
    int port = start_target(fakes, "{\"address\":\"127.0.1.16\",\"bodies\":[\"up 1\\n\"]}");
    stop_target(fakes, "127.0.1.16");
    struct reply r;
    scrape("127.0.1.16", port, "/metrics", NULL, &r);
    assert_int_equal(r.rc, CURLE_COULDNT_CONNECT);
    free(r.body);
    int status = 0;
    json_decref(control(fakes, "GET", "/v1/targets/127.0.1.16", NULL, &status));
    assert_int_equal(status, 404);
}

/* A busy address:port is refused with 409, and two targets on one address need an id. */
static void test_same_address_twice(void **state)
{
    struct fakes *fakes = *state;
    int port = start_target(fakes, "{\"address\":\"127.0.1.17\",\"bodies\":[\"a 1\\n\"]}");
    char *again = format_text("{\"address\":\"127.0.1.17\",\"port\":%d,\"bodies\":[\"x\"]}", port);
    int status = 0;
    json_decref(control(fakes, "POST", "/v1/targets", again, &status));
    assert_int_equal(status, 409);
    free(again);
    start_target(fakes, "{\"address\":\"127.0.1.17\",\"bodies\":[\"b 1\\n\"]}");
    json_t *view = control(fakes, "DELETE", "/v1/targets/127.0.1.17", NULL, &status);
    assert_int_equal(status, 400);
    assert_non_null(strstr(json_string_value(json_object_get(view, "error")), "2 targets"));
    json_decref(view);
    view = control(fakes, "GET", "/v1/targets", NULL, &status);
    json_t *targets = json_object_get(view, "targets");
    assert_int_equal(json_array_size(targets), 2);
    char *first = strdup(json_string_value(json_object_get(json_array_get(targets, 0), "id")));
    char *second = strdup(json_string_value(json_object_get(json_array_get(targets, 1), "id")));
    json_decref(view);
    stop_target(fakes, first);
    stop_target(fakes, second);
    free(first);
    free(second);
}

/* Bad requests: 400 and a message that names what is wrong. */
static void test_bad_requests_say_why(void **state)
{
    static const struct {
        const char *body;
        const char *says;
    } cases[] = {
        {"not json", "bad JSON"},
        {"[]", "expected a JSON object"},
        {"{\"bodies\":[]}", "bodies: expected a non-empty list"},
        {"{}", "bodies: expected a non-empty list"},
        {"{\"bodies\":[1]}", "bodies[0]: expected a string"},
        {"{\"bodies\":[\"x\"],\"adress\":\"127.0.1.5\"}", "unknown field \"adress\""},
        {"{\"bodies\":[\"x\"],\"address\":\"10.0.0.1\"}", "address: expected a loopback"},
        {"{\"bodies\":[\"x\"],\"port\":70000}", "port: expected an integer 0-65535"},
        {"{\"bodies\":[\"x\"],\"path\":\"metrics\"}", "path: expected a path starting"},
        {"{\"bodies\":[\"x\"],\"fault\":{\"stauts\":503}}", "fault: "},
        {"{\"bodies\":[\"x\"],\"fault\":{\"cut_watches\":true}}", "no watches to cut"},
    };
    struct fakes *fakes = *state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int status = 0;
        json_t *view = control(fakes, "POST", "/v1/targets", cases[i].body, &status);
        const char *error = json_string_value(json_object_get(view, "error"));
        if (status != 400 || !error || !strstr(error, cases[i].says))
            fail_msg("%s: got %d %s, expected 400 with \"%s\"", cases[i].body, status,
                     error ? error : "(no error)", cases[i].says);
        json_decref(view);
    }
    int status = 0;
    json_decref(control(fakes, "PUT", "/v1/faults/targets/99", "{\"status\":503}", &status));
    assert_int_equal(status, 404);
    json_decref(control(fakes, "DELETE", "/v1/targets/99", NULL, &status));
    assert_int_equal(status, 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serves_bodies_in_turn_and_repeats_the_last),
        cmocka_unit_test(test_gzip_when_accept_encoding_offers_it),
        cmocka_unit_test(test_other_path_is_go_404_and_counted),
        cmocka_unit_test(test_fault_status_garbage_and_clear),
        cmocka_unit_test(test_fault_reset_drops_the_connection),
        cmocka_unit_test(test_stopped_target_refuses_and_is_gone),
        cmocka_unit_test(test_same_address_twice),
        cmocka_unit_test(test_bad_requests_say_why),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
