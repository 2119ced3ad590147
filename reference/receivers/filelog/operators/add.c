/*
 * add.c - the `add` operator (contrib v0.142 pkg/stanza/operator/transformer/add/
 * {config.go,transformer.go}): sets `field` to `value`, the YAML value as it is (string, number,
 * boolean, map, list), or, for a string that starts with `EXPR(` and ends with `)`, the result
 * of that expression (within expr.h's subset) evaluated per entry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "operator.h"

struct add_config {
    struct stanza_transformer_config transformer;
    char *field;
    json_t *value;
};

static const struct option add_options[] = {
    STANZA_TRANSFORMER_OPTIONS(struct add_config, transformer),
    {OPT_STRING, "field", NULL, offsetof(struct add_config, field), "field to set", 0, NULL, 0},
    {OPT_JSON, "value", NULL, offsetof(struct add_config, value), "value or EXPR(...)", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct add {
    struct stanza_field field;
    otlp_anyvalue *value;
    struct expr *expr;
};

static void add_destroy(struct stanza_operator *op)
{
    struct add *a = op->impl;
    if (!a)
        return;
    stanza_field_release(&a->field);
    stanza_value_free(a->value);
    expr_free(a->expr);
    free(a);
    op->impl = NULL;
}

static int add_build(struct stanza_operator *op, void *config, const char *path, struct error *err)
{
    struct add_config *c = config;
    struct add *a = calloc(1, sizeof(*a));
    if (!a)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    op->impl = a;
    int rc = stanza_transformer_init(op, &c->transformer, path, err);
    if (rc < 0)
        return rc;
    if (!c->field)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s.field: required", path);
    if ((rc = stanza_field_parse_strict(c->field, &a->field, err)) < 0)
        return error_prefix(err, "%s.field", path);
    if (!c->value || json_is_null(c->value))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: add: missing required field 'value'",
                         path);
    const char *s = json_is_string(c->value) ? json_string_value(c->value) : NULL;
    size_t len = s ? strlen(s) : 0;
    if (s && len >= 6 && !strncmp(s, "EXPR(", 5) && s[len - 1] == ')') {
        char *inner = strndup(s + 5, len - 6);
        if (!inner)
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        rc = expr_compile(inner, false, &a->expr, err);
        free(inner);
        if (rc < 0)
            return error_prefix(err, "%s: failed to compile expression", path);
        return 0;
    }
    if (!(a->value = stanza_value_from_json(c->value)))
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    return 0;
}

static int add_transform(struct stanza_operator *op, struct stanza_entry *e, struct error *err)
{
    struct add *a = op->impl;
    otlp_anyvalue *v = NULL;
    if (a->expr) {
        int rc = expr_eval_value(a->expr, e, &v, err);
        if (rc < 0)
            return error_prefix(err, "evaluate value_expr");
    } else if (!(v = stanza_value_clone(a->value))) {
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    int rc = stanza_field_set(e, &a->field, v);
    if (rc == -EINVAL)
        return error_set(err, rc, ERROR_PERMANENT, "cannot set attributes root");
    return rc < 0 ? error_set(err, rc, ERROR_PERMANENT, "out of memory") : 0;
}

static void add_process(struct stanza_operator *op, struct stanza_entry *e)
{
    stanza_transformer_process(op, e, add_transform);
}

const struct stanza_operator_type stanza_add_operator = {
    .type = "add",
    .options = add_options,
    .config_size = sizeof(struct add_config),
    .build = add_build,
    .process = add_process,
    .destroy = add_destroy,
};
