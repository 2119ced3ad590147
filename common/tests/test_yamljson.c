/* Unit tests for yamljson: YAML typing as yaml.v3 does it, line numbers, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
