/* Unit tests for yamljson: YAML typing as yaml.v3 does it, line numbers, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamljson.h"

static json_t *parse_ok(const char *text, struct yaml_lines **lines)
{
    json_t *out = NULL;
    struct error err = {0};
    int rc = yamljson_parse(text, strlen(text), "t.yaml", &out, lines, &err);
    if (rc != 0)
        fail_msg("parse failed: %s", err.message);
    return out;
}

static void test_plain_scalars_are_typed_like_yaml_v3(void **state)
{
    static const struct {
        const char *text;
        json_type type;
    } cases[] = {
        {"a: 8", JSON_INTEGER},
        {"a: -3", JSON_INTEGER},
        {"a: 0x1f", JSON_INTEGER},
        {"a: 1.5", JSON_REAL},
        {"a: .inf", JSON_STRING},
        {"a: true", JSON_TRUE},
        {"a: False", JSON_FALSE},
        {"a: yes", JSON_STRING},
        {"a: on", JSON_STRING},
        {"a: ~", JSON_NULL},
        {"a:", JSON_NULL},
        {"a: 5s", JSON_STRING},
        {"a: '8'", JSON_STRING},
        {"a: \"true\"", JSON_STRING},
        {"a: 0.0.0.0:4317", JSON_STRING},
        {"a: 1e3", JSON_REAL},
        {"a: 12_000", JSON_INTEGER},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = parse_ok(cases[i].text, NULL);
        json_t *v = json_object_get(doc, "a");
        assert_non_null(v);
        if (json_typeof(v) != cases[i].type)
            fail_msg("%s: got type %d, want %d", cases[i].text, json_typeof(v), cases[i].type);
        json_decref(doc);
    }
}

static void test_lines_of_keys_and_items(void **state)
{
    struct yaml_lines *lines = NULL;
    json_t *doc = parse_ok("name: x\nsteps:\n  - wait: {}\n  - otlp:\n      file: a\n", &lines);
    assert_int_equal(yaml_lines_of_key(lines, doc, "name"), 1);
    assert_int_equal(yaml_lines_of_key(lines, doc, "steps"), 2);
    json_t *steps = json_object_get(doc, "steps");
    assert_int_equal(yaml_lines_of_index(lines, steps, 0), 3);
    assert_int_equal(yaml_lines_of_index(lines, steps, 1), 4);
    json_t *otlp = json_object_get(json_array_get(steps, 1), "otlp");
    assert_int_equal(yaml_lines_of_key(lines, otlp, "file"), 5);
    assert_string_equal(yaml_lines_name(lines), "t.yaml");
    json_decref(doc);
    yaml_lines_free(lines);
}

static void test_anchors_and_merge_keys(void **state)
{
    json_t *doc = parse_ok("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n", NULL);
    json_t *derived = json_object_get(doc, "derived");
    assert_int_equal(json_integer_value(json_object_get(derived, "x")), 1);
    assert_int_equal(json_integer_value(json_object_get(derived, "y")), 3);
    json_decref(doc);
}

static void test_several_documents_become_an_array(void **state)
{
    json_t *doc = parse_ok("a: 1\n---\nb: 2\n", NULL);
    assert_true(json_is_array(doc));
    assert_int_equal(json_array_size(doc), 2);
    json_decref(doc);
}

static void test_syntax_error_names_file_and_line(void **state)
{
    json_t *out = NULL;
    struct error err = {0};
    const char *text = "a: 1\nb: [1, 2\nc: 3\n";
    int rc = yamljson_parse(text, strlen(text), "bad.yaml", &out, NULL, &err);
    assert_int_equal(rc, -EINVAL);
    assert_null(out);
    assert_non_null(strstr(err.message, "bad.yaml:"));
}

static void test_duplicate_key_is_an_error(void **state)
{
    json_t *out = NULL;
    struct error err = {0};
    const char *text = "a: 1\na: 2\n";
    assert_int_equal(yamljson_parse(text, strlen(text), "d.yaml", &out, NULL, &err), -EINVAL);
    assert_non_null(strstr(err.message, "d.yaml:2"));
    assert_non_null(strstr(err.message, "\"a\""));
}

static void test_missing_file_is_a_clear_error(void **state)
{
    json_t *out = NULL;
    struct error err = {0};
    assert_true(yamljson_load_file("/nonexistent/x.yaml", &out, NULL, &err) < 0);
    assert_non_null(strstr(err.message, "/nonexistent/x.yaml"));
}

/* Nine nested anchors, each aliased nine times: 9^9 values if expanded (issue 13's document).
 * yaml.v3 refuses it at once; so does the loader, naming the line where the expansion runs away. */
static void test_excessive_aliasing_is_refused(void **state)
{
    (void)state;
    static const char bomb[] = "a: &a [x,x,x,x,x,x,x,x,x]\n"
                               "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                               "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                               "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                               "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                               "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                               "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                               "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                               "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    json_t *out = NULL;
    struct error err = {0};
    assert_int_equal(yamljson_parse(bomb, strlen(bomb), "bomb.yaml", &out, NULL, &err), -EINVAL);
    assert_null(out);
    assert_string_equal(err.message, "bomb.yaml:4: document contains excessive aliasing (1387 of "
                                     "the first 1401 values come from aliases)");
}

/* Aliases used as configs use them (a shared block repeated in a few places) stay fine, also
 * past yaml.v3's thresholds of 100 aliased values and 1,000 values. */
static void test_ordinary_aliasing_is_accepted(void **state)
{
    (void)state;
    char doc[16384];
    size_t n = (size_t)snprintf(doc, sizeof(doc), "base: &base {a: 1, b: 2, c: [1, 2, 3]}\n");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, "k%d: {x: %d, y: *base}\n", i, i);
    json_t *out = NULL;
    struct error err = {0};
    assert_int_equal(yamljson_parse(doc, n, "shared.yaml", &out, NULL, &err), 0);
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(json_object_get(out, "k199"), "y"), "a")),
                     1);
    json_decref(out);
}

/* Nesting of any depth says so, with the line: 1,000, 10,000 and 100,000 deep, lists and maps;
 * and at once (libyaml's document loader alone took 27 s and 53 s for the 100,000-deep ones). */
static void test_deep_nesting_names_the_real_cause(void **state)
{
    (void)state;
    static const int depths[] = {1000, 10000, 100000};
    for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
        for (int map = 0; map < 2; map++) {
            size_t depth = (size_t)depths[d], cap = depth * 8 + 16, n = 0;
            char *doc = malloc(cap);
            assert_non_null(doc);
            n += (size_t)snprintf(doc, cap, "a: ");
            for (size_t i = 0; i < depth; i++)
                n += (size_t)snprintf(doc + n, cap - n, "%s", map ? "{b: " : "[");
            n += (size_t)snprintf(doc + n, cap - n, "1");
            for (size_t i = 0; i < depth; i++)
                n += (size_t)snprintf(doc + n, cap - n, "%s", map ? "}" : "]");
            json_t *out = NULL;
            struct error err = {0};
            assert_int_equal(yamljson_parse(doc, n, "deep.yaml", &out, NULL, &err), -EINVAL);
            assert_string_equal(err.message, "deep.yaml:1: nesting too deep (or alias cycle)");
            free(doc);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_scalars_are_typed_like_yaml_v3),
        cmocka_unit_test(test_lines_of_keys_and_items),
        cmocka_unit_test(test_anchors_and_merge_keys),
        cmocka_unit_test(test_several_documents_become_an_array),
        cmocka_unit_test(test_syntax_error_names_file_and_line),
        cmocka_unit_test(test_duplicate_key_is_an_error),
        cmocka_unit_test(test_missing_file_is_a_clear_error),
        cmocka_unit_test(test_excessive_aliasing_is_refused),
        cmocka_unit_test(test_ordinary_aliasing_is_accepted),
        cmocka_unit_test(test_deep_nesting_names_the_real_cause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
