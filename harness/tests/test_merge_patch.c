/*
 * test_merge_patch.c - RFC 7386 JSON Merge Patch: the RFC's own examples (Appendix A) as a
 * table, and that the inputs are left as they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "merge_patch.h"

static const struct {
    const char *target, *patch, *result;
} rfc7386_examples[] = {
    {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
    {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
    {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
    {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
    {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
    {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
    {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
    {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
    {"{\"a\":\"foo\"}", "null", "null"},
    {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
    {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
    {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
    {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
};

static void test_rfc7386_examples(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rfc7386_examples) / sizeof(rfc7386_examples[0]); i++) {
        json_t *target = json_loads(rfc7386_examples[i].target, JSON_DECODE_ANY, NULL);
        json_t *patch = json_loads(rfc7386_examples[i].patch, JSON_DECODE_ANY, NULL);
        json_t *want = json_loads(rfc7386_examples[i].result, JSON_DECODE_ANY, NULL);
        json_t *target_before = json_deep_copy(target);
        json_t *got = merge_patch_apply(target, patch);
        if (!json_equal(got, want)) {
            char *text = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
            fprintf(stderr, "example %zu: %s + %s gave %s, want %s\n", i,
                    rfc7386_examples[i].target, rfc7386_examples[i].patch, text,
                    rfc7386_examples[i].result);
            free(text);
            fail();
        }
        assert_true(json_equal(target, target_before)); /* the target is not changed */
        json_decref(got);
        json_decref(target_before);
        json_decref(want);
        json_decref(patch);
        json_decref(target);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7386_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
