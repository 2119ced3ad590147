/*
 * test_control.c - the control API's routing and answers, driven through control_dispatch on
 * fakes that are created but not listening (no sockets).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "control.h"
#include "fakes.h"
#include "fault.h"
#include "helpers.h"
#include "loki.h"

static int setup(void **state)
{
    struct fakes_config cfg = {.prometheus_otlp_enabled = true};
    struct error err = {0};
    *state = fakes_new(&cfg, &err);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    fakes_free(*state);
    return 0;
}

struct answer {
    struct http_response resp;
    json_t *json;
};

static void call(struct fakes *fakes, const char *method, const char *path, const char *body,
                 struct answer *a)
{
    struct control_request req = {
        .method = method,
        .path = path,
        .body = (const uint8_t *)(body ? body : ""),
        .body_len = body ? strlen(body) : 0,
    };
    memset(a, 0, sizeof(*a));
    a->resp.status = 200;
    control_dispatch(fakes, &req, &a->resp);
    assert_string_equal(a->resp.content_type, "application/json");
    a->json = json_loadb((const char *)a->resp.body, a->resp.body_len, 0, NULL);
    assert_non_null(a->json);
}

static void done(struct answer *a)
{
    json_decref(a->json);
    response_clear(&a->resp);
}

static const char *error_of(const struct answer *a)
{
    return json_string_value(json_object_get(a->json, "error"));
}

static void test_healthz(void **state)
{
    struct answer a;
    call(*state, "GET", "/healthz", NULL, &a);
    assert_int_equal(a.resp.status, 200);
    assert_string_equal(json_string_value(json_object_get(a.json, "status")), "ok");
    done(&a);
}

static void test_stats_lists_every_fake(void **state)
{
    struct answer a;
    call(*state, "GET", "/v1/stats", NULL, &a);
    assert_int_equal(a.resp.status, 200);
    char *text = json_dumps(a.json, JSON_COMPACT);
    assert_string_equal(text, "{\"prometheus\":{\"requests\":0,\"accepted_requests\":0,\"items\":"
                              "0},\"loki\":{\"requests\":0,\"accepted_requests\":0,\"items\":0},"
                              "\"tempo\":{\"requests\":0,\"accepted_requests\":0,\"items\":0},"
                              "\"kubernetes\":{\"requests\":0,\"accepted_requests\":0,"
                              "\"items\":0}}");
    free(text);
    done(&a);
}

static void test_unknown_fake_is_404_naming_the_known(void **state)
{
    const char *paths[] = {"/v1/received/x", "/v1/requests/x", "/v1/faults/x"};
    for (size_t i = 0; i < 3; i++) {
        struct answer a;
        call(*state, "GET", paths[i], NULL, &a);
        assert_int_equal(a.resp.status, 404);
        assert_string_equal(error_of(&a),
                            "unknown fake \"x\"; known: prometheus, loki, tempo, kubernetes");
        done(&a);
    }
}

static void test_unknown_path_is_404(void **state)
{
    const char *paths[] = {"/v1/nothing", "/v1/received/loki/", "//v1/stats", "", "/"};
    for (size_t i = 0; i < 5; i++) {
        struct answer a;
        call(*state, "GET", paths[i], NULL, &a);
        assert_int_equal(a.resp.status, 404);
        assert_non_null(strstr(error_of(&a), "no such endpoint"));
        done(&a);
    }
}

static void test_wrong_method_is_405_with_allow(void **state)
{
    struct answer a;
    call(*state, "POST", "/v1/faults/loki", NULL, &a);
    assert_int_equal(a.resp.status, 405);
    assert_int_equal(a.resp.header_count, 1);
    assert_string_equal(a.resp.headers[0].name, "Allow");
    assert_string_equal(a.resp.headers[0].value, "GET, PUT, DELETE");
    done(&a);
}

static void test_fault_put_get_delete(void **state)
{
    struct answer a;
    call(*state, "PUT", "/v1/faults/tempo", "{\"status\":503,\"times\":2}", &a);
    assert_int_equal(a.resp.status, 200);
    assert_true(json_is_true(json_object_get(a.json, "active")));
    done(&a);
    call(*state, "GET", "/v1/faults/tempo", NULL, &a);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(a.json, "fault"), "status")), 503);
    assert_int_equal(json_integer_value(json_object_get(a.json, "remaining")), 2);
    done(&a);
    call(*state, "GET", "/v1/faults", NULL, &a);
    assert_true(json_is_true(json_object_get(json_object_get(a.json, "tempo"), "active")));
    assert_false(json_is_true(json_object_get(json_object_get(a.json, "loki"), "active")));
    done(&a);
    call(*state, "DELETE", "/v1/faults/tempo", NULL, &a);
    assert_false(json_is_true(json_object_get(a.json, "active")));
    done(&a);
    call(*state, "POST", "/v1/faults/tempo/release", NULL, &a);
    assert_int_equal(a.resp.status, 200);
    done(&a);
}

static void test_bad_fault_json_is_400_with_parse_error(void **state)
{
    struct answer a;
    call(*state, "PUT", "/v1/faults/loki", "{\"status\":", &a);
    assert_int_equal(a.resp.status, 400);
    assert_non_null(strstr(error_of(&a), "invalid JSON"));
    assert_non_null(strstr(error_of(&a), "line 1"));
    done(&a);
    call(*state, "PUT", "/v1/faults/loki", "{\"status\":503,\"bogus\":1}", &a);
    assert_int_equal(a.resp.status, 400);
    assert_non_null(strstr(error_of(&a), "unknown field \"bogus\""));
    done(&a);
}

static void test_received_views_and_unknown_view(void **state)
{
    struct answer a;
    call(*state, "GET", "/v1/received/loki", NULL, &a);
    assert_int_equal(a.resp.status, 200);
    assert_true(json_is_object(json_object_get(a.json, "tenants")));
    done(&a);
    call(*state, "GET", "/v1/received/tempo", NULL, &a);
    assert_true(json_is_array(json_object_get(a.json, "traces")));
    done(&a);
    struct control_request req = {.method = "GET", .path = "/v1/received/tempo", .view = "otlp"};
    struct http_response resp = {.status = 200};
    control_dispatch(*state, &req, &resp);
    assert_int_equal(resp.status, 200);
    char *text = body_text(&resp);
    assert_string_equal(text, "[]");
    free(text);
    response_clear(&resp);
    req.view = "grafana";
    control_dispatch(*state, &req, &resp);
    assert_int_equal(resp.status, 400);
    text = body_text(&resp);
    assert_non_null(strstr(text, "unknown view"));
    free(text);
    response_clear(&resp);
}

static void test_bad_since_is_400(void **state)
{
    struct control_request req = {.method = "GET", .path = "/v1/requests/loki", .since = "-1"};
    struct http_response resp = {.status = 200};
    control_dispatch(*state, &req, &resp);
    assert_int_equal(resp.status, 400);
    response_clear(&resp);
    req.since = "12";
    control_dispatch(*state, &req, &resp);
    assert_int_equal(resp.status, 200);
    response_clear(&resp);
}

static void test_delete_received_resets_every_fake(void **state)
{
    struct fakes *fakes = *state;
    struct loki *loki = fake_instance(fakes_find(fakes, "loki"));
    const char *json = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":"
                       "{\"stringValue\":\"x\"}}]}]}]}";
    struct loki_push_request req = {.method = "POST",
                                    .path = "/otlp/v1/logs",
                                    .content_type = "application/json",
                                    .body = (const uint8_t *)json,
                                    .body_len = strlen(json)};
    struct http_response resp = {.status = 200};
    size_t items;
    loki_push(loki, &req, &resp, &items);
    assert_int_equal(resp.status, 204);
    assert_int_equal(loki_stored_entries(loki), 1);
    struct answer a;
    call(fakes, "DELETE", "/v1/received", NULL, &a);
    assert_int_equal(a.resp.status, 200);
    assert_int_equal(json_array_size(json_object_get(a.json, "reset")), 4);
    done(&a);
    assert_int_equal(loki_stored_entries(loki), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_lists_every_fake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_fake_is_404_naming_the_known, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_path_is_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_method_is_405_with_allow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_fault_json_is_400_with_parse_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_received_views_and_unknown_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_since_is_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_received_resets_every_fake, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
