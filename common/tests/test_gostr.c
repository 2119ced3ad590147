/*
 * test_gostr.c - Go's %q (gostr.h), which error texts quote names with (Prometheus' label errors,
 * the Kubernetes API's 403 and selector messages, resourcedetection's OTEL_RESOURCE_ATTRIBUTES
 * errors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gostr.h"

static const struct {
    const char *input, *expected;
} quote_cases[] = {
    {"delta.count", "\"delta.count\""},
    {"a\"b\\", "\"a\\\"b\\\\\""},
    {"tab\there\n", "\"tab\\there\\n\""},
    {"\x01\x7f", "\"\\x01\\x7f\""},
    {"é字", "\"é字\""},
    {"bad\xff", "\"bad\\xff\""},
    {"", "\"\""},
    {"nbsp\xc2\xa0", "\"nbsp\\u00a0\""},           /* U+00A0: Go does not print it */
    {"bom\xef\xbb\xbf", "\"bom\\ufeff\""},         /* U+FEFF */
    {"pua\xf3\xb0\x80\x80", "\"pua\\U000f0000\""}, /* plane 15, private use */
    {"\xc2\x85", "\"\\u0085\""},                   /* NEL, a C1 control */
};

static void test_quote_writes_strings_as_go_percent_q(void **state)
{
    (void)state;
    int mismatches = 0;
    for (size_t i = 0; i < sizeof(quote_cases) / sizeof(quote_cases[0]); i++) {
        char *got = NULL;
        int rc = go_quote(quote_cases[i].input, &got);
        if (rc != 0 || strcmp(got, quote_cases[i].expected) != 0) {
            print_error("quote #%zu: want %s, got %s\n", i, quote_cases[i].expected,
                        got ? got : "(null)");
            mismatches++;
        }
        free(got);
    }
    assert_int_equal(mismatches, 0);
}

struct collected {
    char text[64];
    size_t len;
};

static void collect(void *ctx, const char *data, size_t len)
{
    struct collected *c = ctx;
    assert_true(c->len + len < sizeof(c->text));
    memcpy(c->text + c->len, data, len);
    c->len += len;
    c->text[c->len] = '\0';
}

static void test_escape_is_the_inside_of_the_quote(void **state)
{
    (void)state;
    struct collected c = {{0}, 0};
    go_escape_each("ns/\"x\"", 6, collect, &c);
    assert_string_equal(c.text, "ns/\\\"x\\\"");
    c.len = 0;
    go_quote_each(NULL, 5, collect, &c);
    assert_string_equal(c.text, "\"\"");
}

static void test_quote_to_cuts_short_as_snprintf(void **state)
{
    (void)state;
    char buf[8];
    go_quote_to(buf, sizeof(buf), "abcdefgh", 8);
    assert_string_equal(buf, "\"abcdef");
    go_quote_to(buf, sizeof(buf), "a\nb", 3);
    assert_string_equal(buf, "\"a\\nb\"");
    go_quote_to(buf, sizeof(buf), "a=b,c", 1); /* only the first `len` bytes */
    assert_string_equal(buf, "\"a\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_writes_strings_as_go_percent_q),
        cmocka_unit_test(test_escape_is_the_inside_of_the_quote),
        cmocka_unit_test(test_quote_to_cuts_short_as_snprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
