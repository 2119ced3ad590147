/*
 * test_template.c - --collector template expansion: words split like a shell would (quotes,
 * escapes) without a shell, {config} and {set} expanded, and mistakes refused with a reason.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"

static char *sets[] = {"receivers.otlp.protocols.http.endpoint=127.0.0.1:4318",
                       "exporters.otlphttp/loki.endpoint=http://127.0.0.1:3100/otlp"};

static void expect_words(const char *tmpl, const char *const *words, size_t n)
{
    struct argv_list out = {0};
    struct error err = {0};
    int rc = template_expand(tmpl, "/tmp/c fg.yaml", sets, 2, &out, &err);
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", tmpl, err.message);
    assert_int_equal(rc, 0);
    assert_int_equal(out.count, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(out.items[i], words[i]);
    assert_null(out.items[n]);
    template_argv_free(&out);
}

static void test_default_template_expands_config_and_sets(void **state)
{
    (void)state;
    const char *words[] = {"/b/otelcol-ref", "--config", "/tmp/c fg.yaml", "--set",
                           sets[0],          "--set",    sets[1]};
    expect_words("/b/otelcol-ref {config} {set}", words, 7);
}

static void test_wrapper_with_quotes_and_config_inside_a_word(void **state)
{
    (void)state;
    const char *words[] = {"valgrind",
                           "--error-exitcode=99",
                           "--log-file=/tmp/v g.log",
                           "/b/otelcol ref",
                           "--config=/tmp/c fg.yaml",
                           "--set",
                           sets[0],
                           "--set",
                           sets[1],
                           "it's"};
    expect_words("valgrind --error-exitcode=99 '--log-file=/tmp/v g.log' \"/b/otelcol ref\" "
                 "--config={config} {set} it\\'s",
                 words, 10);
}

static void test_no_sets_expands_to_nothing(void **state)
{
    (void)state;
    struct argv_list out = {0};
    assert_int_equal(template_expand("c {config} {set}", "f", NULL, 0, &out, NULL), 0);
    assert_int_equal(out.count, 3);
    template_argv_free(&out);
}

static const struct {
    const char *tmpl;
    const char *message;
} bad[] = {
    {"", "the template is empty"},
    {"otelcol {set}", "has no {config}"},
    {"otelcol {config}", "has no {set}"},
    {"otelcol {config} --x={set}", "{set} must be a word of its own"},
    {"otelcol {config} {set} {confg}", "unknown placeholder {confg}"},
    {"otelcol '{config} {set}", "unterminated ' quote"},
};

static void test_mistakes_are_refused_with_a_reason(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct argv_list out = {0};
        struct error err = {0};
        assert_int_equal(template_expand(bad[i].tmpl, "f", sets, 2, &out, &err), -EINVAL);
        if (!strstr(err.message, bad[i].message))
            fprintf(stderr, "\"%s\": got \"%s\"\n", bad[i].tmpl, err.message);
        assert_non_null(strstr(err.message, bad[i].message));
        template_argv_free(&out);
    }
}

static void test_format_quotes_words_with_spaces(void **state)
{
    (void)state;
    struct argv_list out = {0};
    assert_int_equal(template_expand("a {config} {set}", "x y", NULL, 0, &out, NULL), 0);
    char buf[128];
    template_argv_format(&out, buf, sizeof(buf));
    assert_string_equal(buf, "a --config 'x y'");
    template_argv_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_template_expands_config_and_sets),
        cmocka_unit_test(test_wrapper_with_quotes_and_config_inside_a_word),
        cmocka_unit_test(test_no_sets_expands_to_nothing),
        cmocka_unit_test(test_mistakes_are_refused_with_a_reason),
        cmocka_unit_test(test_format_quotes_words_with_spaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
