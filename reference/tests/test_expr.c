/*
 * test_expr.c - the expr subset of reference/receivers/filelog/expr.c against expr-lang v1.17 as
 * pkg/stanza compiles it (helper/expr_string.go). The tables are the specification: each case is
 * an expression, the entry it runs on, and the result, a run-time error or a build error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "receivers/filelog/expr.h"
#include "receivers/filelog/operators/operator.h"

enum outcome { TRUE_, FALSE_, RUNTIME_ERROR, BUILD_ERROR };

struct expr_case {
    const char *expr;
    const char *body; /* string body, or NULL */
    bool map_body;    /* a kvlist body {"a": "b"} instead */
    enum outcome outcome;
    const char *message; /* part of the error message */
};

static const struct expr_case cases[] = {
    /* matches: unanchored RE2, constant pattern */
    {"body matches \"^\\\\{\"", "{\"log\":\"x\"}", false, TRUE_, NULL},
    {"body matches '^[^ Z]+Z'", "2024-01-01T00:00:00.1Z stdout F hi", false, TRUE_, NULL},
    {"body matches '^[^ Z]+Z'", "2024-01-01T00:00:00.1-05:00 stdout F hi", false, FALSE_, NULL},
    {"body matches 'b'", "abc", false, TRUE_, NULL},
    {"$ matches 'b'", "abc", false, TRUE_, NULL},
    {"body matches '(?P<x>b)c$'", "abc", false, TRUE_, NULL},
    {"body not matches 'z'", "abc", false, TRUE_, NULL},
    {"body matches 'a'", NULL, false, FALSE_, NULL}, /* nil left side: false */
    {"body matches 'a'", NULL, true, RUNTIME_ERROR, "interface conversion"},
    {"body matches '(?=a)'", "a", false, BUILD_ERROR, "unsupported Perl syntax"},
    {"body matches attributes.x", "a", false, BUILD_ERROR, "string literal"},
    /* comparisons, logic, precedence */
    {"attributes.logtag == 'F'", "x", false, TRUE_, NULL},
    {"attributes[\"logtag\"] != \"F\"", "x", false, FALSE_, NULL},
    {"attributes.missing == nil", "x", false, TRUE_, NULL},
    {"resource[\"k8s.pod.name\"] == 'p'", "x", false, TRUE_, NULL},
    {"true and not false", "x", false, TRUE_, NULL},
    {"false || !(1 == 1)", "x", false, BUILD_ERROR, "unsupported token '1'"},
    {"false or (body == 'x' && attributes.logtag == 'F')", "x", false, TRUE_, NULL},
    {"not body == 'x'", "x", false, RUNTIME_ERROR, "mismatched type string"}, /* (not body) */
    {"body.a == 'b'", NULL, true, TRUE_, NULL},
    {"body.a.b == 'c'", NULL, true, RUNTIME_ERROR, "cannot fetch b from string"},
    {"'a\\x41\\u00e9\\n' == \"aA\\u00e9\\n\"", "x", false, TRUE_, NULL},
    /* build errors name the expression and what is unsupported */
    {"body", "x", false, RUNTIME_ERROR, "expected bool"},
    {"'text'", "x", false, BUILD_ERROR, "expected bool, but got string"},
    {"'a' and true", "x", false, BUILD_ERROR, "mismatched types string and bool"},
    {"env('HOME') == 'x'", "x", false, BUILD_ERROR, "unsupported variable or function 'env'"},
    {"timestamp == nil", "x", false, BUILD_ERROR, "unsupported variable"},
    {"body contains 'x'", "x", false, BUILD_ERROR, "unsupported operator 'contains'"},
    {"body == ", "x", false, BUILD_ERROR, "unexpected end"},
};

static struct stanza_entry *entry_for(const struct expr_case *c)
{
    struct stanza_entry *e = stanza_entry_new();
    assert_non_null(e);
    if (c->map_body) {
        e->record->body = stanza_value_map();
        assert_int_equal(stanza_kv_upsert(&e->record->body->kvlist_value->values,
                                          &e->record->body->kvlist_value->n_values, "a",
                                          stanza_value_string("b")),
                         0);
    } else if (c->body) {
        e->record->body = stanza_value_string(c->body);
    }
    assert_int_equal(stanza_kv_upsert(&e->record->attributes, &e->record->n_attributes, "logtag",
                                      stanza_value_string("F")),
                     0);
    assert_int_equal(
        stanza_kv_upsert(&e->resource, &e->n_resource, "k8s.pod.name", stanza_value_string("p")),
        0);
    return e;
}

static void test_expr_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct expr_case *c = &cases[i];
        struct expr *x = NULL;
        struct error err = {0};
        int rc = expr_compile(c->expr, true, &x, &err);
        if (c->outcome == BUILD_ERROR) {
            if (rc == 0)
                fail_msg("case %zu `%s`: expected a build error", i, c->expr);
            if (!strstr(err.message, c->message) || !strstr(err.message, c->expr))
                fail_msg("case %zu `%s`: message \"%s\" lacks \"%s\"", i, c->expr, err.message,
                         c->message);
            continue;
        }
        if (rc != 0)
            fail_msg("case %zu `%s`: build failed: %s", i, c->expr, err.message);
        struct stanza_entry *e = entry_for(c);
        bool result = false;
        rc = expr_eval_bool(x, e, &result, &err);
        if (c->outcome == RUNTIME_ERROR) {
            if (rc == 0 || !strstr(err.message, c->message))
                fail_msg("case %zu `%s`: expected run-time error \"%s\", got rc=%d \"%s\"", i,
                         c->expr, c->message, rc, err.message);
        } else if (rc != 0 || result != (c->outcome == TRUE_)) {
            fail_msg("case %zu `%s`: expected %s, got rc=%d result=%d (%s)", i, c->expr,
                     c->outcome == TRUE_ ? "true" : "false", rc, result, err.message);
        }
        stanza_entry_free(e);
        expr_free(x);
    }
}

static void test_expr_string_renders_embedded_expressions(void **state)
{
    (void)state;
    struct expr_string *s = NULL;
    struct error err = {0};
    assert_int_equal(expr_string_compile("tag-EXPR(attributes.logtag)-end", &s, &err), 0);
    struct expr_case c = {.body = "x"};
    struct stanza_entry *e = entry_for(&c);
    char *out = NULL;
    assert_int_equal(expr_string_render(s, e, &out, &err), 0);
    assert_string_equal(out, "tag-F-end");
    free(out);
    stanza_entry_free(e);
    expr_string_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expr_cases),
        cmocka_unit_test(test_expr_string_renders_embedded_expressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
