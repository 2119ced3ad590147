/*
 * copy.c - the `copy` operator (contrib v0.142 pkg/stanza/operator/transformer/copy/
 * {config.go,transformer.go}): sets `to` to a copy of `from`; a missing `from` is
 * "copy: from field does not exist in this entry: X" for on_error.
 */
#include <errno.h>
#include <stdlib.h>

#include "operator.h"

struct copy_config {
    struct stanza_transformer_config transformer;
    char *from, *to;
};

static const struct option copy_options[] = {
    STANZA_TRANSFORMER_OPTIONS(struct copy_config, transformer),
    {OPT_STRING, "from", NULL, offsetof(struct copy_config, from), "field to copy", 0, NULL, 0},
    {OPT_STRING, "to", NULL, offsetof(struct copy_config, to), "destination field", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct copy {
    struct stanza_field from, to;
};

static void copy_destroy(struct stanza_operator *op)
{
    struct copy *c = op->impl;
    if (!c)
        return;
    stanza_field_release(&c->from);
    stanza_field_release(&c->to);
    free(c);
    op->impl = NULL;
}

static int copy_build(struct stanza_operator *op, void *config, const char *path, struct error *err)
{
    struct copy_config *c = config;
    struct copy *cp = calloc(1, sizeof(*cp));
    if (!cp)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    op->impl = cp;
    int rc = stanza_transformer_init(op, &c->transformer, path, err);
    if (rc < 0)
        return rc;
    if (!c->from)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: copy: missing from field", path);
    if (!c->to)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: copy: missing to field", path);
    if ((rc = stanza_field_parse_strict(c->from, &cp->from, err)) < 0)
        return error_prefix(err, "%s.from", path);
    if ((rc = stanza_field_parse_strict(c->to, &cp->to, err)) < 0)
        return error_prefix(err, "%s.to", path);
    return 0;
}

static int copy_transform(struct stanza_operator *op, struct stanza_entry *e, struct error *err)
{
    struct copy *cp = op->impl;
    char name[256];
    const otlp_anyvalue *v = stanza_field_get(e, &cp->from);
    if (!v)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "copy: from field does not exist in this entry: %s",
                         stanza_field_string(&cp->from, name, sizeof(name)));
    otlp_anyvalue *dup = stanza_value_clone(v);
    int rc = dup ? stanza_field_set(e, &cp->to, dup) : -ENOMEM;
    if (rc == -EINVAL)
        return error_set(err, rc, ERROR_PERMANENT, "cannot set attributes root");
    return rc < 0 ? error_set(err, rc, ERROR_PERMANENT, "out of memory") : 0;
}

static void copy_process(struct stanza_operator *op, struct stanza_entry *e)
{
    stanza_transformer_process(op, e, copy_transform);
}

const struct stanza_operator_type stanza_copy_operator = {
    .type = "copy",
    .options = copy_options,
    .config_size = sizeof(struct copy_config),
    .build = copy_build,
    .process = copy_process,
    .destroy = copy_destroy,
};
