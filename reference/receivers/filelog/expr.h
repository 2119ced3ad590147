/*
 * expr.h - the subset of expr-lang (github.com/expr-lang/expr v1.17, as pkg/stanza compiles it in
 * operator/helper/expr_string.go) that filelog configs use: `matches` (and `not matches`), `==`,
 * `!=`, `and`/`&&`, `or`/`||`, `not`/`!`, parentheses, the variables `body` (and `$`),
 * `attributes` and `resource` with `.name` and `["name"]` access, string literals (single or
 * double quoted, Go escapes), `true`, `false`, `nil`. Compiled once at build time; a constant
 * `matches` pattern becomes one JIT-compiled PCRE2 regex. Anything else is a build error that
 * names the expression and what is unsupported.
 */
#ifndef OTEL_REF_FILELOG_EXPR_H
#define OTEL_REF_FILELOG_EXPR_H

#include <stdbool.h>

#include "error.h"
#include "pdata.h"

struct stanza_entry;
struct expr;

/* Compiles `text`. With `want_bool` the result must be a boolean (upstream's ExprCompileBool:
 * a constant string or nil result is a build error; a variable is checked at run time).
 * Caller owns *out (expr_free). -EINVAL with a message naming `text`. */
int expr_compile(const char *text, bool want_bool, struct expr **out, struct error *err);
void expr_free(struct expr *x);

/* Evaluates against the entry. A run-time error (a non-string `matches` operand, a non-boolean
 * result) returns -EINVAL with the message in err. */
int expr_eval_bool(const struct expr *x, const struct stanza_entry *e, bool *out,
                   struct error *err);
/* Evaluates to a new pdata value (caller frees with protobuf_c_message_free_unpacked); a nil
 * result gives an AnyValue with no value set. */
int expr_eval_value(const struct expr *x, const struct stanza_entry *e, otlp_anyvalue **out,
                    struct error *err);

/* upstream's ExprStringConfig: literal text with embedded `EXPR(...)` parts (route and add
 * attributes). */
struct expr_string;
int expr_string_compile(const char *text, struct expr_string **out, struct error *err);
void expr_string_free(struct expr_string *s);
/* Renders into a new malloc'd string (*out). Embedded expressions must give strings
 * ("embedded expression returned non-string"). */
int expr_string_render(const struct expr_string *s, const struct stanza_entry *e, char **out,
                       struct error *err);

#endif
