/* condition.c - parsing and evaluating count conditions (see condition.h). */
#include "condition.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *text;
    enum condition_op op;
} op_names[] = {
    /* Two-character operators first so ">=" is not read as ">". */
    {">=", COND_GE}, {"<=", COND_LE}, {"==", COND_EQ}, {"!=", COND_NE},
    {">", COND_GT},  {"<", COND_LT},  {"=", COND_EQ},
};

static const char *op_text(enum condition_op op)
{
    switch (op) {
    case COND_EQ: return "==";
    case COND_NE: return "!=";
    case COND_GE: return ">=";
    case COND_GT: return ">";
    case COND_LE: return "<=";
    case COND_LT: return "<";
    }
    return "?";
}

int condition_parse(const json_t *value, enum condition_op default_op, struct condition *out,
                    char *why, size_t why_size)
{
    if (json_is_integer(value) || json_is_real(value)) {
        out->op = default_op;
        out->value = json_number_value(value);
        return 0;
    }
    if (!json_is_string(value))
        goto bad;
    const char *s = json_string_value(value);
    while (*s == ' ')
        s++;
    bool found = false;
    for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
        size_t n = strlen(op_names[i].text);
        if (!strncmp(s, op_names[i].text, n)) {
            out->op = op_names[i].op;
            s += n;
            found = true;
            break;
        }
    }
    if (!found)
        out->op = default_op;
    while (*s == ' ')
        s++;
    if (!*s)
        goto bad;
    char *end;
    errno = 0;
    out->value = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (errno || *end || !isfinite(out->value))
        goto bad;
    return 0;
bad:
    snprintf(why, why_size, "expected a number or a comparison such as \">= 3\" or \"== 0\"");
    return -EINVAL;
}

bool condition_holds(const struct condition *c, double actual)
{
    switch (c->op) {
    case COND_EQ: return actual == c->value;
    case COND_NE: return actual != c->value;
    case COND_GE: return actual >= c->value;
    case COND_GT: return actual > c->value;
    case COND_LE: return actual <= c->value;
    case COND_LT: return actual < c->value;
    }
    return false;
}

void condition_format_number(double v, char *buf, size_t size)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%g", v);
}

void condition_format(const struct condition *c, char *buf, size_t size)
{
    char number[64];
    condition_format_number(c->value, number, sizeof(number));
    snprintf(buf, size, "%s %s", op_text(c->op), number);
}
