/*
 * test_condition.c - count conditions as scenarios write them, and the shift of payload times
 * to the run start (`timestamps: now`).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "condition.h"
#include "timeshift.h"

static void test_numbers_take_the_default_operator(void **state)
{
    (void)state;
    struct condition c;
    char why[128];
    json_t *three = json_integer(3);
    assert_int_equal(condition_parse(three, COND_GE, &c, why, sizeof(why)), 0);
    assert_true(condition_holds(&c, 3) && condition_holds(&c, 4) && !condition_holds(&c, 2));
    assert_int_equal(condition_parse(three, COND_EQ, &c, why, sizeof(why)), 0);
    assert_true(condition_holds(&c, 3) && !condition_holds(&c, 4));
    json_decref(three);
}

static void test_strings_state_their_operator(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double yes, no;
        const char *formatted;
    } cases[] = {
        {">= 3", 3, 2, ">= 3"},     {"> 3", 4, 3, "> 3"},   {"<= 1", 1, 2, "<= 1"},
        {"< 1", 0, 1, "< 1"},       {"== 0", 0, 1, "== 0"}, {"!= 0", 1, 0, "!= 0"},
        {"=2.5", 2.5, 2, "== 2.5"}, {"  7 ", 7, 8, "== 7"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct condition c;
        char why[128], text[64];
        json_t *v = json_string(cases[i].text);
        assert_int_equal(condition_parse(v, COND_EQ, &c, why, sizeof(why)), 0);
        assert_true(condition_holds(&c, cases[i].yes));
        assert_false(condition_holds(&c, cases[i].no));
        condition_format(&c, text, sizeof(text));
        assert_string_equal(text, cases[i].formatted);
        json_decref(v);
    }
    const char *bad[] = {"about 3", ">=", "3 records", ""};
    for (size_t i = 0; i < 4; i++) {
        struct condition c;
        char why[128];
        json_t *v = json_string(bad[i]);
        assert_int_equal(condition_parse(v, COND_EQ, &c, why, sizeof(why)), -EINVAL);
        json_decref(v);
    }
}

static void test_timeshift_moves_every_time_keeping_intervals(void **state)
{
    (void)state;
    json_t *p = json_loads(
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
        "{\"startTimeUnixNano\":\"1700000000000000000\",\"endTimeUnixNano\":"
        "\"1700000000250000000\","
        "\"events\":[{\"timeUnixNano\":1700000000100000000}]},"
        "{\"startTimeUnixNano\":\"1700000001000000000\",\"endTimeUnixNano\":\"0\"}]}]}]}",
        0, NULL);
    assert_non_null(p);
    size_t n = 0;
    const int64_t anchor = 1764000000000000000LL;
    assert_int_equal(timeshift_payload(p, anchor, &n, NULL), 0);
    assert_int_equal(n, 4); /* the zero end time stays unset */
    json_t *spans = json_object_get(
        json_array_get(
            json_object_get(json_array_get(json_object_get(p, "resourceSpans"), 0), "scopeSpans"),
            0),
        "spans");
    json_t *first = json_array_get(spans, 0), *second = json_array_get(spans, 1);
    assert_string_equal(json_string_value(json_object_get(first, "startTimeUnixNano")),
                        "1764000000000000000");
    assert_string_equal(json_string_value(json_object_get(first, "endTimeUnixNano")),
                        "1764000000250000000");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(first, "events"), 0), "timeUnixNano")),
                        "1764000000100000000");
    assert_string_equal(json_string_value(json_object_get(second, "startTimeUnixNano")),
                        "1764000001000000000");
    assert_string_equal(json_string_value(json_object_get(second, "endTimeUnixNano")), "0");
    json_decref(p);
}

static void test_timeshift_refuses_non_numeric_times(void **state)
{
    (void)state;
    json_t *p = json_loads("{\"resourceLogs\":[{\"timeUnixNano\":\"yesterday\"}]}", 0, NULL);
    struct error err;
    assert_int_equal(timeshift_payload(p, 1, NULL, &err), -EINVAL);
    assert_non_null(strstr(err.message, "timeUnixNano"));
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_take_the_default_operator),
        cmocka_unit_test(test_strings_state_their_operator),
        cmocka_unit_test(test_timeshift_moves_every_time_keeping_intervals),
        cmocka_unit_test(test_timeshift_refuses_non_numeric_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
