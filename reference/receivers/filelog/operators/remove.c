/*
 * remove.c - the `remove` operator (contrib v0.142 pkg/stanza/operator/transformer/remove/
 * {config.go,rootable_field.go,transformer.go}): deletes `field`; `attributes` or `resource`
 * alone clears them all; a missing field is "remove: field does not exist: X" for on_error.
 */
#include <errno.h>
#include <stdlib.h>

#include "operator.h"

struct remove_config {
    struct stanza_transformer_config transformer;
    char *field;
};

static const struct option remove_options[] = {
    STANZA_TRANSFORMER_OPTIONS(struct remove_config, transformer),
    {OPT_STRING, "field", NULL, offsetof(struct remove_config, field),
     "field to delete (attributes / resource: all of them)", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static int remove_build(struct stanza_operator *op, void *config, const char *path,
                        struct error *err)
{
    struct remove_config *c = config;
    return stanza_field_transformer_init(op, &c->transformer, c->field, false,
                                         "remove: field is empty", path, err);
}

static int remove_transform(struct stanza_operator *op, struct stanza_entry *e, struct error *err)
{
    struct stanza_field *f = op->impl;
    char name[256];
    if (f->root != STANZA_FIELD_BODY && f->n_keys == 0) {
        if (f->root == STANZA_FIELD_ATTRIBUTES)
            stanza_kv_free_all(&e->record->attributes, &e->record->n_attributes);
        else
            stanza_kv_free_all(&e->resource, &e->n_resource);
        return 0;
    }
    if (stanza_field_delete(e, f, NULL) == -ENOENT)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "remove: field does not exist: %s",
                         stanza_field_string(f, name, sizeof(name)));
    return 0;
}

static void remove_process(struct stanza_operator *op, struct stanza_entry *e)
{
    stanza_transformer_process(op, e, remove_transform);
}

const struct stanza_operator_type stanza_remove_operator = {
    .type = "remove",
    .options = remove_options,
    .config_size = sizeof(struct remove_config),
    .build = remove_build,
    .process = remove_process,
    .destroy = stanza_field_transformer_destroy,
};
