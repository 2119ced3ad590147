/*
 * flatten.c - the `flatten` operator (contrib v0.142 pkg/stanza/operator/transformer/flatten/
 * {config.go,transformer.go}): the map at `field` is removed and its keys are set on the parent
 * (one level). A missing field is "apply flatten: field X does not exist on entry"; a non-map is
 * put back and reported as "apply flatten: field X is not a map".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "operator.h"

struct flatten_config {
    struct stanza_transformer_config transformer;
    char *field;
};

static const struct option flatten_options[] = {
    STANZA_TRANSFORMER_OPTIONS(struct flatten_config, transformer),
    {OPT_STRING, "field", NULL, offsetof(struct flatten_config, field), "map field to flatten", 0,
     NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static int flatten_build(struct stanza_operator *op, void *config, const char *path,
                         struct error *err)
{
    struct flatten_config *c = config;
    return stanza_field_transformer_init(op, &c->transformer, c->field, true,
                                         "invalid field type: <nil>", path, err);
}

static int flatten_transform(struct stanza_operator *op, struct stanza_entry *e, struct error *err)
{
    struct stanza_field *f = op->impl;
    char name[256];
    otlp_anyvalue *v;
    if (stanza_field_delete(e, f, &v) < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "apply flatten: field %s does not exist on entry",
                         stanza_field_string(f, name, sizeof(name)));
    if (!stanza_value_is_map(v)) {
        int rc = stanza_field_set(e, f, v);
        return error_set(err, rc < 0 ? rc : -EINVAL, ERROR_PERMANENT,
                         rc < 0 ? "reset non-map field: out of memory"
                                : "apply flatten: field %s is not a map",
                         stanza_field_string(f, name, sizeof(name)));
    }
    /* the parent: the same path one key shorter */
    struct stanza_field parent = {.root = f->root, .keys = f->keys, .n_keys = f->n_keys - 1};
    int rc = stanza_field_set(e, &parent, v); /* a map merges into the parent */
    if (rc < 0)
        return error_set(err, rc, ERROR_PERMANENT, "%s",
                         rc == -ENOMEM ? "out of memory" : "cannot set attributes root");
    return 0;
}

static void flatten_process(struct stanza_operator *op, struct stanza_entry *e)
{
    stanza_transformer_process(op, e, flatten_transform);
}

const struct stanza_operator_type stanza_flatten_operator = {
    .type = "flatten",
    .options = flatten_options,
    .config_size = sizeof(struct flatten_config),
    .build = flatten_build,
    .process = flatten_process,
    .destroy = stanza_field_transformer_destroy,
};
