/*
 * stanza_pipeline.c - builds and runs the filelog receiver's `operators:` list.
 *
 * Mirrors contrib v0.142 pkg/stanza/pipeline/{config.go,directed.go} and operator/helper/
 * {writer.go,transformer.go}:
 *   - every operator's config is bound with its option table (unknown keys are errors with the
 *     YAML path), all before any is built; `id` defaults to the type, and repeated default ids
 *     become type1, type2, ... (deduplicateIDs);
 *   - an operator without `output` sends to the next one in the list and the last one to the
 *     receiver (the sink); a router only ever sends to its routes and `default`;
 *   - outputs are resolved in list order ("operator 'x' does not exist", for a route "failed to
 *     set outputs on route: operator x does not exist"), then duplicate ids ("operator with id
 *     'x' already exists in pipeline"), then cycles ("pipeline has a circular dependency");
 *   - Write sends a copy to every output but the last, which gets the entry itself;
 *   - transformers check `on_error` (send, send_quiet, drop, drop_quiet) and compile `if`;
 *     HandleEntryError logs `Failed to process entry` at error level (debug when quiet) and sends
 *     or drops; a false `if` passes the entry on untouched.
 * Entries run through the operators in the caller's thread, one call at a time; tick drives the
 * time-based flushes (recombine) and flush empties them in topological order, as Stop does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "operators/operator.h"
#include "stanza.h"

#define STANZA_MAX_OPERATORS 1024

/* The operator types otelcol-ref knows, by upstream type name. */
static const struct stanza_operator_type *const operator_types[] = {
    &stanza_router_operator,
    &stanza_regex_parser_operator,
    &stanza_json_parser_operator,
    &stanza_time_parser_operator,
    &stanza_severity_parser_operator,
    &stanza_recombine_operator,
    &stanza_move_operator,
    &stanza_add_operator,
    &stanza_remove_operator,
    &stanza_copy_operator,
    &stanza_flatten_operator,
    &stanza_retain_operator,
    &stanza_container_operator,
};

struct stanza_pipeline {
    struct stanza_operator **ops;
    size_t n_ops;
    struct stanza_operator **order; /* topological order, for flush */
    char *log_name;
    stanza_sink_fn sink;
    void *sink_ctx;
};

static const struct stanza_operator_type *find_type(const char *name)
{
    for (size_t i = 0; i < sizeof(operator_types) / sizeof(operator_types[0]); i++)
        if (!strcmp(operator_types[i]->type, name))
            return operator_types[i];
    return NULL;
}

const char *stanza_operator_log_name(const struct stanza_operator *op)
{
    return op->log_name;
}

/* ---- writing ---- */

static void sink_or_free(struct stanza_operator *op, struct stanza_entry *e)
{
    if (op->to_sink && op->pipeline->sink)
        op->pipeline->sink(op->pipeline->sink_ctx, e);
    else
        stanza_entry_free(e);
}

void stanza_outputs_write(struct stanza_operator *op, const struct stanza_outputs *outs,
                          struct stanza_entry *e)
{
    for (size_t i = 0; i + 1 < outs->n_ops; i++) {
        struct stanza_entry *copy = stanza_entry_clone(e);
        if (!copy) {
            log_error(op->log_name, "Failed to copy entry\" operator_id=%s error=\"out of memory",
                      op->id);
            continue;
        }
        outs->ops[i]->type->process(outs->ops[i], copy);
    }
    if (outs->n_ops)
        outs->ops[outs->n_ops - 1]->type->process(outs->ops[outs->n_ops - 1], e);
    else
        sink_or_free(op, e);
}

void stanza_operator_write(struct stanza_operator *op, struct stanza_entry *e)
{
    stanza_outputs_write(op, &op->outputs, e);
}

static const char *on_error_name(enum stanza_on_error m)
{
    static const char *const names[] = {"send", "send_quiet", "drop", "drop_quiet"};
    return names[m];
}

void stanza_operator_handle_error(struct stanza_operator *op, struct stanza_entry *e,
                                  const char *message)
{
    bool quiet = op->on_error == ON_ERROR_SEND_QUIET || op->on_error == ON_ERROR_DROP_QUIET;
    if (quiet)
        log_debug(op->log_name, "Failed to process entry\" operator_id=%s action=%s error=\"%s",
                  op->id, on_error_name(op->on_error), message);
    else
        log_error(op->log_name, "Failed to process entry\" operator_id=%s action=%s error=\"%s",
                  op->id, on_error_name(op->on_error), message);
    if (op->on_error == ON_ERROR_SEND || op->on_error == ON_ERROR_SEND_QUIET)
        stanza_operator_write(op, e);
    else
        stanza_entry_free(e);
}

int stanza_operator_skip(struct stanza_operator *op, const struct stanza_entry *e,
                         struct error *err)
{
    if (!op->if_expr)
        return 0;
    bool matches;
    int rc = expr_eval_bool(op->if_expr, e, &matches, err);
    if (rc < 0) {
        error_prefix(err, "running if expr");
        return rc;
    }
    return matches ? 0 : 1;
}

void stanza_transformer_process(struct stanza_operator *op, struct stanza_entry *e,
                                stanza_transform_fn transform)
{
    struct error err;
    int skip = stanza_operator_skip(op, e, &err);
    if (skip < 0) {
        stanza_operator_handle_error(op, e, err.message);
        return;
    }
    if (!skip && transform(op, e, &err) < 0) {
        stanza_operator_handle_error(op, e, err.message);
        return;
    }
    stanza_operator_write(op, e);
}

/* ---- building ---- */

int stanza_outputs_parse(const json_t *output, struct stanza_outputs *outs, const char *path,
                         struct error *err)
{
    size_t n = json_is_array(output) ? json_array_size(output) : 1;
    if (!output || json_is_null(output))
        return 0;
    if (!json_is_string(output) && !json_is_array(output))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "%s.output: expected an operator id or a list of them", path);
    if (!(outs->ids = calloc(n ? n : 1, sizeof(char *))))
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_is_array(output) ? json_array_get(output, i) : output;
        if (!json_is_string(item))
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s.output[%zu]: expected a string",
                             path, i);
        if (!(outs->ids[i] = strdup(json_string_value(item))))
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        outs->n_ids++;
    }
    return 0;
}

void stanza_outputs_release(struct stanza_outputs *outs)
{
    for (size_t i = 0; i < outs->n_ids; i++)
        free(outs->ids[i]);
    free(outs->ids);
    free(outs->ops);
    memset(outs, 0, sizeof(*outs));
}

int stanza_transformer_init(struct stanza_operator *op, const struct stanza_transformer_config *c,
                            const char *path, struct error *err)
{
    static const char *const modes[] = {"send", "send_quiet", "drop", "drop_quiet"};
    op->is_transformer = true;
    const char *mode = c->on_error ? c->on_error : "send";
    bool found = false;
    for (int i = 0; i < 4; i++)
        if (!strcmp(mode, modes[i])) {
            op->on_error = (enum stanza_on_error)i;
            found = true;
        }
    if (!found)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "%s: operator config has an invalid `on_error` field. (on_error: %s; "
                         "ensure that the `on_error` field is set to one of `send`, `send_quiet`, "
                         "`drop`, `drop_quiet`.)",
                         path, mode);
    if (c->if_expr && *c->if_expr) {
        int rc = expr_compile(c->if_expr, true, &op->if_expr, err);
        if (rc < 0)
            return error_prefix(err, "%s: failed to compile expression '%s'", path, c->if_expr);
    }
    return 0;
}

int stanza_field_transformer_init(struct stanza_operator *op,
                                  const struct stanza_transformer_config *c, const char *field,
                                  bool strict, const char *missing, const char *path,
                                  struct error *err)
{
    struct stanza_field *f = calloc(1, sizeof(*f));
    if (!f)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    op->impl = f;
    int rc = stanza_transformer_init(op, c, path, err);
    if (rc < 0)
        return rc;
    if (!field)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: %s", path, missing);
    rc = strict ? stanza_field_parse_strict(field, f, err) : stanza_field_parse(field, f, err);
    return rc < 0 ? error_prefix(err, "%s.field", path) : 0;
}

void stanza_field_transformer_destroy(struct stanza_operator *op)
{
    if (op->impl)
        stanza_field_release(op->impl);
    free(op->impl);
    op->impl = NULL;
}

static void operator_free(struct stanza_operator *op)
{
    if (!op)
        return;
    if (op->type && op->type->destroy)
        op->type->destroy(op);
    if (op->type && op->config) {
        options_free(op->type->options, op->config);
        free(op->config);
    }
    for (size_t i = 0; i < op->n_routes; i++) {
        stanza_outputs_release(op->routes[i]);
        free(op->routes[i]);
    }
    free(op->routes);
    stanza_outputs_release(&op->outputs);
    expr_free(op->if_expr);
    free(op->id);
    free(op->path);
    free(op);
}

void stanza_pipeline_free(struct stanza_pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_ops; i++)
        operator_free(p->ops[i]);
    free(p->ops);
    free(p->order);
    free(p->log_name);
    free(p);
}

static struct stanza_operator *find_op(struct stanza_pipeline *p, const char *id)
{
    for (size_t i = 0; i < p->n_ops; i++)
        if (!strcmp(p->ops[i]->id, id))
            return p->ops[i];
    return NULL;
}

/* Resolves ids into operators (SetOutputs). */
static int resolve(struct stanza_pipeline *p, struct stanza_operator *op,
                   struct stanza_outputs *outs, bool route, struct error *err)
{
    if (!outs->n_ids)
        return 0;
    if (!(outs->ops = calloc(outs->n_ids, sizeof(*outs->ops))))
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    for (size_t i = 0; i < outs->n_ids; i++) {
        struct stanza_operator *target = find_op(p, outs->ids[i]);
        if (!target) {
            if (route)
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "%s: failed to set outputs on route: operator %s does not exist "
                                 "(operator_id: %s)",
                                 op->path, outs->ids[i], op->id);
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "%s: operator '%s' does not exist (operator_id: %s)", op->path,
                             outs->ids[i], op->id);
        }
        outs->ops[outs->n_ops++] = target;
    }
    return 0;
}

/* DFS for cycles; appends finished nodes to `post` (reverse topological order). */
static int visit(struct stanza_pipeline *p, size_t i, int *state, size_t *stack, size_t depth,
                 size_t *post, size_t *n_post, struct error *err)
{
    struct stanza_operator *op = p->ops[i];
    state[i] = 1;
    stack[depth] = i;
    size_t n_lists = op->type->is_router ? op->n_routes : 1;
    for (size_t r = 0; r < n_lists; r++) {
        const struct stanza_outputs *outs = op->type->is_router ? op->routes[r] : &op->outputs;
        for (size_t k = 0; k < outs->n_ops; k++) {
            size_t j = 0;
            while (p->ops[j] != outs->ops[k])
                j++;
            if (state[j] == 1) {
                char cycle[512] = "";
                size_t used = 0, from = 0;
                while (stack[from] != j)
                    from++;
                for (size_t s = from; s <= depth && used < sizeof(cycle); s++)
                    used += (size_t)snprintf(cycle + used, sizeof(cycle) - used, "%s -> ",
                                             p->ops[stack[s]]->id);
                if (used < sizeof(cycle))
                    snprintf(cycle + used, sizeof(cycle) - used, "%s", p->ops[j]->id);
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "pipeline has a circular dependency (cycles: (%s); ensure that "
                                 "all operators are connected in a straight, acyclic line)",
                                 cycle);
            }
            if (state[j] == 0) {
                int rc = visit(p, j, state, stack, depth + 1, post, n_post, err);
                if (rc < 0)
                    return rc;
            }
        }
    }
    state[i] = 2;
    post[(*n_post)++] = i;
    return 0;
}

static int check_graph(struct stanza_pipeline *p, struct error *err)
{
    size_t n = p->n_ops;
    if (n == 0)
        return 0;
    int *state = calloc(n, sizeof(int));
    size_t *stack = calloc(n, sizeof(size_t)), *post = calloc(n, sizeof(size_t)), n_post = 0;
    int rc = 0;
    p->order = calloc(n, sizeof(*p->order));
    if (!state || !stack || !post || !p->order) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        if (state[i] == 0)
            rc = visit(p, i, state, stack, 0, post, &n_post, err);
    for (size_t i = 0; rc == 0 && i < n_post; i++)
        p->order[i] = p->ops[post[n_post - 1 - i]];
done:
    free(state);
    free(stack);
    free(post);
    return rc;
}

/* deduplicateIDs: default ids (id == type) after the first of a type become type1, type2, ...
 * skipping ids already taken. */
static int deduplicate_ids(struct stanza_pipeline *p, struct error *err)
{
    size_t counts[sizeof(operator_types) / sizeof(operator_types[0])] = {0};
    for (size_t i = 0; i < p->n_ops; i++) {
        struct stanza_operator *op = p->ops[i];
        if (strcmp(op->id, op->type->type))
            continue;
        size_t t = 0;
        while (operator_types[t] != op->type)
            t++;
        if (counts[t] == 0) {
            counts[t] = 1;
            continue;
        }
        char id[256];
        snprintf(id, sizeof(id), "%s%zu", op->type->type, counts[t]);
        while (find_op(p, id)) {
            counts[t]++;
            snprintf(id, sizeof(id), "%s%zu", op->type->type, counts[t]);
        }
        counts[t]++;
        char *copy = strdup(id);
        if (!copy)
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        free(op->id);
        op->id = copy;
    }
    return 0;
}

int stanza_pipeline_build(const json_t *operators, const char *path, const char *log_name,
                          stanza_sink_fn sink, void *sink_ctx, struct stanza_pipeline **out,
                          struct error *err)
{
    struct stanza_pipeline *p = calloc(1, sizeof(*p));
    int rc = -ENOMEM;
    *out = NULL;
    if (!p || !(p->log_name = strdup(log_name ? log_name : "receiver/filelog")))
        goto oom;
    p->sink = sink;
    p->sink_ctx = sink_ctx;
    if (operators && !json_is_null(operators) && !json_is_array(operators)) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected a list of operators", path);
        goto fail;
    }
    size_t n = operators && json_is_array(operators) ? json_array_size(operators) : 0;
    if (n > STANZA_MAX_OPERATORS) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "%s: more than %d operators", path,
                       STANZA_MAX_OPERATORS);
        goto fail;
    }
    if (n && !(p->ops = calloc(n, sizeof(*p->ops))))
        goto oom;
    /* 1. bind every config */
    for (size_t i = 0; i < n; i++) {
        const json_t *cfg = json_array_get(operators, i);
        char op_path[512];
        snprintf(op_path, sizeof(op_path), "%s[%zu]", path, i);
        struct stanza_operator *op = calloc(1, sizeof(*op));
        if (!op || !(op->path = strdup(op_path))) {
            free(op);
            goto oom;
        }
        p->ops[p->n_ops++] = op;
        op->pipeline = p;
        op->log_name = p->log_name;
        const json_t *type = json_is_object(cfg) ? json_object_get(cfg, "type") : NULL;
        if (!json_is_object(cfg)) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected a mapping", op_path);
            goto fail;
        }
        if (!json_is_string(type)) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT, "%s.type: required", op_path);
            goto fail;
        }
        op->type = find_type(json_string_value(type));
        if (!op->type) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT, "%s: unsupported type '%s'", op_path,
                           json_string_value(type));
            goto fail;
        }
        if (!(op->config = calloc(1, op->type->config_size)))
            goto oom;
        if ((rc = options_bind(op->type->options, cfg, op->config, op_path, err)) < 0)
            goto fail;
        const struct stanza_writer_config *w = op->config; /* every config starts with it */
        if (!(op->id = strdup(w->id && *w->id ? w->id : op->type->type)))
            goto oom;
    }
    if ((rc = deduplicate_ids(p, err)) < 0)
        goto fail;
    /* 2. build */
    for (size_t i = 0; i < p->n_ops; i++) {
        struct stanza_operator *op = p->ops[i];
        const struct stanza_writer_config *w = op->config;
        if (!op->type->is_router &&
            (rc = stanza_outputs_parse(w->output, &op->outputs, op->path, err)) < 0)
            goto fail;
        if ((rc = op->type->build(op, op->config, op->path, err)) < 0)
            goto fail;
    }
    /* 3. default outputs: the next operator, the last one the sink (routers keep theirs) */
    for (size_t i = 0; i < p->n_ops; i++) {
        struct stanza_operator *op = p->ops[i];
        if (op->type->is_router || op->outputs.n_ids)
            continue;
        if (i + 1 < p->n_ops) {
            if (!(op->outputs.ids = calloc(1, sizeof(char *))) ||
                !(op->outputs.ids[0] = strdup(p->ops[i + 1]->id)))
                goto oom;
            op->outputs.n_ids = 1;
        } else {
            op->to_sink = true;
        }
    }
    /* 4. resolve outputs in list order */
    for (size_t i = 0; i < p->n_ops; i++) {
        struct stanza_operator *op = p->ops[i];
        if ((rc = resolve(p, op, &op->outputs, false, err)) < 0)
            goto fail;
        for (size_t r = 0; r < op->n_routes; r++)
            if ((rc = resolve(p, op, op->routes[r], true, err)) < 0)
                goto fail;
    }
    /* 5. unique ids, 6. no cycles */
    for (size_t i = 0; i < p->n_ops; i++)
        for (size_t k = 0; k < i; k++)
            if (!strcmp(p->ops[i]->id, p->ops[k]->id)) {
                rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                               "%s: operator with id '%s' already exists in pipeline (ensure "
                               "that each operator has a unique `type` or `id`)",
                               p->ops[i]->path, p->ops[i]->id);
                goto fail;
            }
    if ((rc = check_graph(p, err)) < 0)
        goto fail;
    *out = p;
    return 0;
oom:
    rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
fail:
    stanza_pipeline_free(p);
    return rc;
}

void stanza_pipeline_process(struct stanza_pipeline *p, struct stanza_entry *e)
{
    if (!e)
        return;
    if (p->n_ops == 0) {
        if (p->sink)
            p->sink(p->sink_ctx, e);
        else
            stanza_entry_free(e);
        return;
    }
    p->ops[0]->type->process(p->ops[0], e);
}

void stanza_pipeline_tick(struct stanza_pipeline *p, int64_t now_ns)
{
    for (size_t i = 0; i < p->n_ops; i++)
        if (p->order[i]->type->tick)
            p->order[i]->type->tick(p->order[i], now_ns);
}

void stanza_pipeline_flush(struct stanza_pipeline *p)
{
    for (size_t i = 0; i < p->n_ops; i++)
        if (p->order[i]->type->flush)
            p->order[i]->type->flush(p->order[i]);
}
