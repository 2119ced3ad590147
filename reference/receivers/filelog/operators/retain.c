/*
 * retain.c - the `retain` operator (contrib v0.142 pkg/stanza/operator/transformer/retain/
 * {config.go,transformer.go}): keeps only the listed fields of each kind that is named
 * (body, attributes, resource); kinds not named stay whole; timestamps are kept.
 */
#include <errno.h>
#include <stdlib.h>

#include "operator.h"

struct retain_config {
    struct stanza_transformer_config transformer;
    struct option_string_list fields;
};

static const struct option retain_options[] = {
    STANZA_TRANSFORMER_OPTIONS(struct retain_config, transformer),
    {OPT_STRING_LIST, "fields", NULL, offsetof(struct retain_config, fields), "fields to keep", 0,
     NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct retain {
    struct stanza_field *fields;
    size_t n_fields;
    bool roots[3]; /* which roots are filtered */
};

static void retain_destroy(struct stanza_operator *op)
{
    struct retain *r = op->impl;
    if (!r)
        return;
    for (size_t i = 0; i < r->n_fields; i++)
        stanza_field_release(&r->fields[i]);
    free(r->fields);
    free(r);
    op->impl = NULL;
}

static int retain_build(struct stanza_operator *op, void *config, const char *path,
                        struct error *err)
{
    struct retain_config *c = config;
    struct retain *r = calloc(1, sizeof(*r));
    if (!r)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    op->impl = r;
    int rc = stanza_transformer_init(op, &c->transformer, path, err);
    if (rc < 0)
        return rc;
    if (c->fields.count == 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: retain: 'fields' is empty", path);
    if (!(r->fields = calloc(c->fields.count, sizeof(*r->fields))))
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    for (size_t i = 0; i < c->fields.count; i++) {
        if ((rc = stanza_field_parse_strict(c->fields.items[i], &r->fields[i], err)) < 0)
            return error_prefix(err, "%s.fields[%zu]", path, i);
        r->n_fields++;
        r->roots[r->fields[i].root] = true;
    }
    return 0;
}

static int retain_transform(struct stanza_operator *op, struct stanza_entry *e, struct error *err)
{
    struct retain *r = op->impl;
    struct stanza_entry *kept = stanza_entry_new();
    if (!kept)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    for (size_t i = 0; i < r->n_fields; i++) {
        const otlp_anyvalue *v = stanza_field_get(e, &r->fields[i]);
        if (!v)
            continue;
        otlp_anyvalue *dup = stanza_value_clone(v);
        if (!dup || stanza_field_set(kept, &r->fields[i], dup) < 0) {
            stanza_entry_free(kept);
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        }
    }
    /* swap the filtered parts in */
    if (r->roots[STANZA_FIELD_BODY]) {
        stanza_value_free(e->record->body);
        e->record->body = kept->record->body;
        kept->record->body = NULL;
    }
    if (r->roots[STANZA_FIELD_ATTRIBUTES]) {
        stanza_kv_free_all(&e->record->attributes, &e->record->n_attributes);
        e->record->attributes = kept->record->attributes;
        e->record->n_attributes = kept->record->n_attributes;
        kept->record->attributes = NULL;
        kept->record->n_attributes = 0;
    }
    if (r->roots[STANZA_FIELD_RESOURCE]) {
        stanza_kv_free_all(&e->resource, &e->n_resource);
        e->resource = kept->resource;
        e->n_resource = kept->n_resource;
        kept->resource = NULL;
        kept->n_resource = 0;
    }
    stanza_entry_free(kept);
    return 0;
}

static void retain_process(struct stanza_operator *op, struct stanza_entry *e)
{
    stanza_transformer_process(op, e, retain_transform);
}

const struct stanza_operator_type stanza_retain_operator = {
    .type = "retain",
    .options = retain_options,
    .config_size = sizeof(struct retain_config),
    .build = retain_build,
    .process = retain_process,
    .destroy = retain_destroy,
};
