/*
 * condition.h - a comparison of one measured number with an expected one, as scenarios write
 * it: `3` or `">= 3"`, `"== 0"`, `"< 10"`, `"!= 0"`.
 *
 * A bare number means "at least" in a `wait` (the thing awaited has happened once the count
 * reaches it, as the testbed's WaitForN does) and "exactly" in `expect` (the final count must
 * be that number: "every record arrives exactly once"). The caller says which by the default
 * operator it passes.
 */
#ifndef HARNESS_CONDITION_H
#define HARNESS_CONDITION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum condition_op { COND_EQ = 0, COND_NE, COND_GE, COND_GT, COND_LE, COND_LT };

struct condition {
    enum condition_op op;
    double value;
};

/* Parses an integer/real JSON value (with `default_op`) or a string "<op> <number>". On failure
 * returns -EINVAL and writes what was expected into `why`. */
int condition_parse(const json_t *value, enum condition_op default_op, struct condition *out,
                    char *why, size_t why_size);

bool condition_holds(const struct condition *c, double actual);

/* ">= 3", "== 0" (numbers without a needless ".0"). */
void condition_format(const struct condition *c, char *buf, size_t size);

/* A number as scenarios and reports print it: integers without a fraction. */
void condition_format_number(double v, char *buf, size_t size);

#endif
