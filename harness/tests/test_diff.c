/*
 * test_diff.c - the path-level diff: every mismatch is collected (not just the first), paths
 * name the place, numbers compare by value, the printed list is capped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diff.h"

static json_t *parse(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    return v;
}

static void test_equal_documents_have_no_mismatch(void **state)
{
    (void)state;
    json_t *a = parse("{\"a\":[1,{\"b\":2.0}],\"c\":null}");
    json_t *b = parse("{\"c\":null,\"a\":[1,{\"b\":2}]}");
    struct diff d;
    assert_int_equal(diff_json(a, b, &d), 0);
    diff_free(&d);
    json_decref(a);
    json_decref(b);
}

static void test_every_mismatch_is_collected_with_its_path(void **state)
{
    (void)state;
    json_t *expected = parse("{\"streams\":[{\"labels\":{\"service_name\":\"web\"},"
                             "\"entries\":[{\"line\":\"a\"},{\"line\":\"b\"}]}],"
                             "\"gone\":1,\"k.with.dots\":true}");
    json_t *actual = parse("{\"streams\":[{\"labels\":{\"service_name\":\"api\"},"
                           "\"entries\":[{\"line\":\"a\"}]}],"
                           "\"new\":\"x\",\"k.with.dots\":false}");
    struct diff d;
    assert_int_equal(diff_json(expected, actual, &d), 5);
    assert_int_equal(d.stored, 5);
    const char *paths[] = {"streams[0].labels.service_name", "streams[0].entries[1]", "gone",
                           "[\"k.with.dots\"]", "new"};
    for (size_t i = 0; i < 5; i++) {
        bool found = false;
        for (size_t j = 0; j < d.stored && !found; j++)
            found = !strcmp(d.items[j].path, paths[i]);
        if (!found)
            fprintf(stderr, "no mismatch at %s\n", paths[i]);
        assert_true(found);
    }
    for (size_t j = 0; j < d.stored; j++) {
        if (!strcmp(d.items[j].path, "streams[0].entries[1]")) {
            assert_string_equal(d.items[j].expected, "{\"line\":\"b\"}");
            assert_string_equal(d.items[j].actual, "(missing)");
        }
        if (!strcmp(d.items[j].path, "streams[0].labels.service_name")) {
            assert_string_equal(d.items[j].expected, "\"web\"");
            assert_string_equal(d.items[j].actual, "\"api\"");
        }
    }
    diff_free(&d);
    json_decref(expected);
    json_decref(actual);
}

static void test_type_change_and_root_scalars(void **state)
{
    (void)state;
    json_t *a = parse("{\"v\":\"1\"}");
    json_t *b = parse("{\"v\":1}");
    struct diff d;
    assert_int_equal(diff_json(a, b, &d), 1);
    assert_string_equal(d.items[0].path, "v");
    diff_free(&d);
    json_decref(a);
    json_decref(b);
    a = parse("3");
    b = parse("4");
    assert_int_equal(diff_json(a, b, &d), 1);
    assert_string_equal(d.items[0].path, "(root)");
    diff_free(&d);
    json_decref(a);
    json_decref(b);
}

static void test_print_caps_the_list_and_counts_the_rest(void **state)
{
    (void)state;
    json_t *a = json_array(), *b = json_array();
    for (int i = 0; i < 30; i++) {
        json_array_append_new(a, json_integer(i));
        json_array_append_new(b, json_integer(i + 100));
    }
    struct diff d;
    assert_int_equal(diff_json(a, b, &d), 30);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    diff_print(&d, out, 3, "  ");
    fclose(out);
    assert_string_equal(text, "  [0]: expected 0, got 100\n"
                              "  [1]: expected 1, got 101\n"
                              "  [2]: expected 2, got 102\n"
                              "  ... and 27 more\n");
    free(text);
    diff_free(&d);
    json_decref(a);
    json_decref(b);
}

static void test_long_values_are_cut(void **state)
{
    (void)state;
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    json_t *a = json_string(big), *b = json_string("y");
    struct diff d;
    assert_int_equal(diff_json(a, b, &d), 1);
    assert_true(strlen(d.items[0].expected) <= DIFF_VALUE_MAX);
    assert_non_null(strstr(d.items[0].expected, "..."));
    diff_free(&d);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_documents_have_no_mismatch),
        cmocka_unit_test(test_every_mismatch_is_collected_with_its_path),
        cmocka_unit_test(test_type_change_and_root_scalars),
        cmocka_unit_test(test_print_caps_the_list_and_counts_the_rest),
        cmocka_unit_test(test_long_values_are_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
