/*
 * router.c - the `router` operator (contrib v0.142 pkg/stanza/operator/transformer/router/
 * {config.go,transformer.go}): routes are tried in order and the first whose `expr` is true
 * wins: its `attributes` (values may embed EXPR(...)) are added and the entry goes to its
 * outputs, a copy to all but the last. `default` is a last route with expr `true`. No match and
 * no default: the entry is dropped without a word, as upstream. An expression that fails at run
 * time (a map body with `matches`) logs Warn "Running expression returned an error" and the next
 * route is tried; an attribute that cannot be rendered logs "Failed to label entry" and drops
 * the entry. A router has no `output`, `on_error` or `if`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "operator.h"

struct router_config {
    struct stanza_writer_config writer; /* type, id (no output) */
    json_t *routes;
    json_t *default_outputs;
};

static const struct option router_options[] = {
    {OPT_STRING, "type", NULL, offsetof(struct router_config, writer.type), "operator type",
     OPT_REQUIRED, NULL, 0},
    {OPT_STRING, "id", NULL, offsetof(struct router_config, writer.id), "operator id", 0, NULL, 0},
    {OPT_JSON, "routes", NULL, offsetof(struct router_config, routes),
     "list of {expr, output, attributes}", 0, NULL, 0},
    {OPT_JSON, "default", NULL, offsetof(struct router_config, default_outputs),
     "operator id(s) for entries no route matches", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct route_config {
    char *expr;
    json_t *output;
    json_t *attributes;
};

static const struct option route_options[] = {
    {OPT_STRING, "expr", NULL, offsetof(struct route_config, expr), "condition", 0, NULL, 0},
    {OPT_JSON, "output", NULL, offsetof(struct route_config, output), "operator id(s)", 0, NULL, 0},
    {OPT_JSON, "attributes", NULL, offsetof(struct route_config, attributes),
     "attributes to add (values may embed EXPR(...))", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct route {
    struct expr *expr;
    char **attr_keys;
    struct expr_string **attr_values;
    size_t n_attrs;
};

struct router {
    struct route *routes;
    size_t n_routes;
};

static void router_destroy(struct stanza_operator *op)
{
    struct router *r = op->impl;
    if (!r)
        return;
    for (size_t i = 0; i < r->n_routes; i++) {
        expr_free(r->routes[i].expr);
        for (size_t k = 0; k < r->routes[i].n_attrs; k++) {
            free(r->routes[i].attr_keys[k]);
            expr_string_free(r->routes[i].attr_values[k]);
        }
        free(r->routes[i].attr_keys);
        free(r->routes[i].attr_values);
    }
    free(r->routes);
    free(r);
    op->impl = NULL;
}

static int add_route(struct stanza_operator *op, struct router *r, const char *expr_text,
                     const json_t *output, const json_t *attributes, const char *path,
                     struct error *err)
{
    struct route *route = &r->routes[r->n_routes];
    struct stanza_outputs *outs = calloc(1, sizeof(*outs));
    if (!outs)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    op->routes[op->n_routes++] = outs;
    r->n_routes++;
    int rc = expr_compile(expr_text ? expr_text : "", true, &route->expr, err);
    if (rc < 0)
        return error_prefix(err, "%s: failed to compile expression '%s'", path,
                            expr_text ? expr_text : "");
    if ((rc = stanza_outputs_parse(output, outs, path, err)) < 0)
        return rc;
    if (attributes && !json_is_null(attributes)) {
        if (!json_is_object(attributes))
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s.attributes: expected a mapping",
                             path);
        size_t n = json_object_size(attributes);
        route->attr_keys = calloc(n ? n : 1, sizeof(char *));
        route->attr_values = calloc(n ? n : 1, sizeof(struct expr_string *));
        if (!route->attr_keys || !route->attr_values)
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)attributes, key, value)
        {
            if (!json_is_string(value))
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "%s.attributes.%s: expected a string", path, key);
            size_t k = route->n_attrs;
            if (!(route->attr_keys[k] = strdup(key)))
                return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            route->n_attrs++;
            if ((rc = expr_string_compile(json_string_value(value), &route->attr_values[k], err)) <
                0)
                return error_prefix(err, "%s: failed to build attributer for route '%s'", path,
                                    expr_text ? expr_text : "");
        }
    }
    return 0;
}

static int router_build(struct stanza_operator *op, void *config, const char *path,
                        struct error *err)
{
    struct router_config *c = config;
    if (c->routes && !json_is_null(c->routes) && !json_is_array(c->routes))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s.routes: expected a list", path);
    size_t n = json_is_array(c->routes) ? json_array_size(c->routes) : 0;
    bool has_default = c->default_outputs && !json_is_null(c->default_outputs);
    struct router *r = calloc(1, sizeof(*r));
    if (!r)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    op->impl = r;
    r->routes = calloc(n + 1, sizeof(*r->routes));
    op->routes = calloc(n + 1, sizeof(*op->routes));
    if (!r->routes || !op->routes)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char route_path[512];
        snprintf(route_path, sizeof(route_path), "%s.routes[%zu]", path, i);
        struct route_config rc_cfg = {0};
        int rc =
            options_bind(route_options, json_array_get(c->routes, i), &rc_cfg, route_path, err);
        if (rc == 0)
            rc = add_route(op, r, rc_cfg.expr, rc_cfg.output, rc_cfg.attributes, route_path, err);
        options_free(route_options, &rc_cfg);
        if (rc < 0)
            return rc;
    }
    if (has_default) {
        char default_path[512];
        snprintf(default_path, sizeof(default_path), "%s.default", path);
        return add_route(op, r, "true", c->default_outputs, NULL, path, err);
    }
    return 0;
}

static void router_process(struct stanza_operator *op, struct stanza_entry *e)
{
    struct router *r = op->impl;
    struct error err;
    err.message[0] = '\0';
    for (size_t i = 0; i < r->n_routes; i++) {
        bool matches;
        if (expr_eval_bool(r->routes[i].expr, e, &matches, &err) < 0) {
            log_warn(op->log_name,
                     "Running expression returned an error\" operator_id=%s error=\"%s", op->id,
                     err.message);
            continue;
        }
        if (!matches)
            continue;
        for (size_t k = 0; k < r->routes[i].n_attrs; k++) {
            char *text = NULL;
            otlp_anyvalue *v = NULL;
            if (expr_string_render(r->routes[i].attr_values[k], e, &text, &err) < 0 ||
                !(v = stanza_value_string(text)) ||
                stanza_kv_upsert(&e->record->attributes, &e->record->n_attributes,
                                 r->routes[i].attr_keys[k], v) < 0) {
                log_error(op->log_name, "Failed to label entry\" operator_id=%s error=\"%s", op->id,
                          text && !v ? "out of memory" : err.message);
                free(text);
                stanza_entry_free(e);
                return;
            }
            free(text);
        }
        stanza_outputs_write(op, op->routes[i], e);
        return;
    }
    stanza_entry_free(e); /* no route, no default: dropped silently */
}

const struct stanza_operator_type stanza_router_operator = {
    .type = "router",
    .options = router_options,
    .config_size = sizeof(struct router_config),
    .build = router_build,
    .process = router_process,
    .destroy = router_destroy,
    .is_router = true,
};
