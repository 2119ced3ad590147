/*
 * test_k8s_audit.c - the audit log's own key `responseBytes`: the body length of an answer, left
 * out for a watch (its stream starts after the event is written). The rest of the event's shape
 * is tested through the API in test_k8s_api.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "k8s_audit.h"

/* The one event the log holds after appending `record`. Caller owns. */
static json_t *logged(const struct k8s_audit_record *record)
{
    struct k8s_audit *audit = k8s_audit_new(4);
    assert_non_null(audit);
    assert_int_equal(k8s_audit_append(audit, record), 0);
    json_t *events = k8s_audit_view(audit);
    k8s_audit_free(audit);
    assert_int_equal(json_array_size(events), 1);
    json_t *event = json_incref(json_array_get(events, 0));
    json_decref(events);
    return event;
}

static void test_audit_counts_the_bytes_of_an_answer(void **state)
{
    (void)state;
    struct k8s_request_info info;
    k8s_request_parse("GET", "/api/v1/pods", NULL, &info);
    struct k8s_audit_record record = {.request_uri = "/api/v1/pods?limit=500",
                                      .info = &info,
                                      .code = 200,
                                      .response_bytes = 4823511};
    json_t *event = logged(&record);
    assert_string_equal(json_string_value(json_object_get(event, "verb")), "list");
    assert_int_equal(json_integer_value(json_object_get(event, "responseBytes")), 4823511);
    json_decref(event);
}

static void test_audit_leaves_out_the_bytes_of_a_watch(void **state)
{
    (void)state;
    struct k8s_request_info info;
    k8s_request_parse("GET", "/api/v1/pods", "true", &info);
    struct k8s_audit_record record = {.request_uri = "/api/v1/pods?watch=true",
                                      .info = &info,
                                      .code = 200,
                                      .response_streamed = true};
    json_t *event = logged(&record);
    assert_string_equal(json_string_value(json_object_get(event, "verb")), "watch");
    assert_null(json_object_get(event, "responseBytes"));
    json_decref(event);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_counts_the_bytes_of_an_answer),
        cmocka_unit_test(test_audit_leaves_out_the_bytes_of_a_watch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
