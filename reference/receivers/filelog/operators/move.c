/*
 * move.c - the `move` operator (contrib v0.142 pkg/stanza/operator/transformer/move/
 * {config.go,transformer.go}): deletes `from` and sets `to` with its value (a map merges into a
 * map target, as entry.Field.Set does). A missing `from` is "move: field does not exist: X" for
 * on_error. Both fields are required ("copy: missing from field" is upstream's own wording).
 */
#include <errno.h>
#include <stdlib.h>

#include "operator.h"

struct move_config {
    struct stanza_transformer_config transformer;
    char *from, *to;
};

static const struct option move_options[] = {
    STANZA_TRANSFORMER_OPTIONS(struct move_config, transformer),
    {OPT_STRING, "from", NULL, offsetof(struct move_config, from), "field to move", 0, NULL, 0},
    {OPT_STRING, "to", NULL, offsetof(struct move_config, to), "destination field", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct move {
    struct stanza_field from, to;
};

static void move_destroy(struct stanza_operator *op)
{
    struct move *m = op->impl;
    if (!m)
        return;
    stanza_field_release(&m->from);
    stanza_field_release(&m->to);
    free(m);
    op->impl = NULL;
}

static int move_build(struct stanza_operator *op, void *config, const char *path, struct error *err)
{
    struct move_config *c = config;
    struct move *m = calloc(1, sizeof(*m));
    if (!m)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    op->impl = m;
    int rc = stanza_transformer_init(op, &c->transformer, path, err);
    if (rc < 0)
        return rc;
    if (!c->from || !c->to)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: %s", path,
                         !c->from && !c->to ? "copy: missing from field\ncopy: missing to field"
                         : !c->from         ? "copy: missing from field"
                                            : "copy: missing to field");
    if ((rc = stanza_field_parse_strict(c->from, &m->from, err)) < 0)
        return error_prefix(err, "%s.from", path);
    if ((rc = stanza_field_parse_strict(c->to, &m->to, err)) < 0)
        return error_prefix(err, "%s.to", path);
    return 0;
}

static int move_transform(struct stanza_operator *op, struct stanza_entry *e, struct error *err)
{
    struct move *m = op->impl;
    otlp_anyvalue *v;
    char name[256];
    int rc = stanza_field_move_top_level(e, &m->from, &m->to);
    if (rc == 0)
        return 0;
    if (rc == -ENOTSUP)
        rc = stanza_field_delete(e, &m->from, &v);
    if (rc == -ENOENT)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "move: field does not exist: %s",
                         stanza_field_string(&m->from, name, sizeof(name)));
    if (rc == 0)
        rc = stanza_field_set(e, &m->to, v);
    if (rc == -EINVAL)
        return error_set(err, rc, ERROR_PERMANENT, "cannot set attributes root");
    return rc < 0 ? error_set(err, rc, ERROR_PERMANENT, "out of memory") : 0;
}

static void move_process(struct stanza_operator *op, struct stanza_entry *e)
{
    stanza_transformer_process(op, e, move_transform);
}

const struct stanza_operator_type stanza_move_operator = {
    .type = "move",
    .options = move_options,
    .config_size = sizeof(struct move_config),
    .build = move_build,
    .process = move_process,
    .destroy = move_destroy,
};
