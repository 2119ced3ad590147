/*
 * step_target.c - the `target` step: serves a fake Prometheus scrape target from otel-fakes
 * (fakes/targets.h, POST /v1/targets), or sets or clears its fault, or stops it.
 *
 *   - target: {address: 127.0.1.5, body: inputs/metrics/app.prom}
 *   - target: {address: 127.0.1.6, path: /custom, bodies: [inputs/a.prom, inputs/b.prom],
 *              fault: {status: 503, times: 1}}
 *   - target: {address: 127.0.1.5, fault: {status: 200, body: "garbage"}}
 *   - target: {address: 127.0.1.5, fault: clear}
 *   - target: {address: 127.0.1.5, stop: true}
 *
 * A step with `body` or `bodies` starts a target; one without names a target an earlier step
 * started, by its address (and port, when that is given). Distinct 127.x.y.z addresses stand in
 * for pod IPs. The bodies are files relative to the scenarios folder, read at load time and
 * served in turn, the last one repeating; they are not checked as exposition text, on purpose,
 * so a scenario can serve a broken one. Faults are checked as the `fault` step checks them
 * (step_fault_check_spec) and applied by the fakes.
 *
 * What a loaded step holds is struct step_target (step_target.h); the descriptor, defined last,
 * is this kind's entry in the table of steps.c.
 */
#include "step_target.h"
#include "steps.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_loader.h"
#include "step_fault.h"

/* ---- load ---- */

static const struct field target_fields[] = {
    {"address", FIELD_STR, true, "a loopback address standing in for a pod IP, e.g. 127.0.1.5"},
    {"port", FIELD_INT, false, "a port, 0 (the default) for any free one"},
    {"path", FIELD_STR, false, "the path scrapes ask for (default /metrics)"},
    {"body", FIELD_STR, false, "a file holding the exposition text every scrape gets"},
    {"bodies", FIELD_LIST, false, "files served to one scrape after another, the last repeating"},
    {"content_type", FIELD_STR, false, "the Content-Type of the bodies"},
    {"fault", FIELD_MAP | FIELD_STR, false, "a fault as the fault step takes it, or clear"},
    {"stop", FIELD_BOOL, false, "true to stop the target"},
    {NULL, 0, false, NULL},
};

/* Reads one body file (resolved against the scenarios folder) into t->bodies. */
static int load_body(struct loader *l, struct step_target *t, const char *name, int line,
                     const char *path)
{
    char file[PATH_MAX];
    int rc = loader_resolve(l, file, sizeof(file), l->s->scenarios_dir, name, line, path);
    if (rc < 0)
        return rc;
    if (t->body_count == STEP_TARGET_MAX_BODIES)
        return loader_fail(l, line, path, "at most %d bodies", STEP_TARGET_MAX_BODIES);
    FILE *in = fopen(file, "rb");
    if (!in)
        return loader_fail(l, line, path, "cannot read %s: %s", name, strerror(errno));
    char *text = malloc(STEP_TARGET_MAX_BODY_BYTES + 1);
    size_t len = text ? fread(text, 1, STEP_TARGET_MAX_BODY_BYTES + 1, in) : 0;
    bool failed = text && ferror(in);
    fclose(in);
    if (!text)
        return error_set(l->err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    if (failed || len > STEP_TARGET_MAX_BODY_BYTES) {
        free(text);
        return loader_fail(l, line, path, failed ? "cannot read %s" : "%s is larger than %u bytes",
                           name, STEP_TARGET_MAX_BODY_BYTES);
    }
    text[len] = '\0';
    t->bodies[t->body_count] = text;
    t->body_lens[t->body_count++] = len;
    return 0;
}

static int load_bodies(struct loader *l, struct step_target *t, const json_t *obj, const char *path,
                       int line)
{
    char sub[512];
    const json_t *body = json_object_get(obj, "body");
    const json_t *bodies = json_object_get(obj, "bodies");
    if (body && bodies)
        return loader_fail(l, line, path, "expected body (one file) or bodies (a list), not both");
    if (body) {
        loader_join(sub, sizeof(sub), path, "body");
        return load_body(l, t, json_string_value(body), loader_line_of_key(l, obj, "body", line),
                         sub);
    }
    int bline = loader_line_of_key(l, obj, "bodies", line);
    if (json_array_size(bodies) == 0) {
        loader_join(sub, sizeof(sub), path, "bodies");
        return loader_fail(l, bline, sub, "expected at least one file");
    }
    for (size_t i = 0; i < json_array_size(bodies); i++) {
        const json_t *item = json_array_get(bodies, i);
        int iline = loader_line_of_index(l, bodies, i, bline);
        snprintf(sub, sizeof(sub), "%s.bodies[%zu]", path, i);
        if (!json_is_string(item))
            return loader_fail(l, iline, sub, "expected a file name, got %s",
                               loader_type_name(item));
        int rc = load_body(l, t, json_string_value(item), iline, sub);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* How the control API names the target: address:port, or the address alone (the one target
 * that has it) when the scenario leaves the port to the fakes. */
static void target_name(const struct step_target *t, char *out, size_t size)
{
    if (t->port)
        snprintf(out, size, "%s:%ld", t->address, t->port);
    else
        snprintf(out, size, "%s", t->address);
}

/* A loopback IPv4 address: the fakes bind targets on loopback only (fakes/targets.h). */
static bool is_loopback_ipv4(const char *address)
{
    struct in_addr a;
    return inet_pton(AF_INET, address, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

static int load_target_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                            int line)
{
    struct step_target *t = step_target_data(st);
    char sub[512];
    line = loader_line_of_node(l, obj, line);
    t->address = loader_get_string(obj, "address");
    if (!is_loopback_ipv4(t->address)) {
        loader_join(sub, sizeof(sub), path, "address");
        return loader_fail(l, loader_line_of_key(l, obj, "address", line), sub,
                           "expected a loopback address such as 127.0.1.5, got \"%s\"", t->address);
    }
    const json_t *port = json_object_get(obj, "port");
    if (port && (json_integer_value(port) < 0 || json_integer_value(port) > 65535)) {
        loader_join(sub, sizeof(sub), path, "port");
        return loader_fail(l, loader_line_of_key(l, obj, "port", line), sub,
                           "expected 0-65535 (0: any free port)");
    }
    t->port = port ? (long)json_integer_value(port) : 0;
    const json_t *fault = json_object_get(obj, "fault");
    bool serves = json_object_get(obj, "body") || json_object_get(obj, "bodies");
    bool stop = loader_get_bool(obj, "stop", false);
    t->path = loader_get_string(obj, "path");
    t->content_type = loader_get_string(obj, "content_type");
    if (t->path && t->path[0] != '/') {
        loader_join(sub, sizeof(sub), path, "path");
        return loader_fail(l, loader_line_of_key(l, obj, "path", line), sub,
                           "expected a path starting with /, such as /metrics");
    }
    if (stop && (serves || fault))
        return loader_fail(l, line, path, "stop: true stands alone (no body, bodies or fault)");
    if (!serves && (t->path || t->content_type))
        return loader_fail(l, line, path,
                           "path and content_type go with body or bodies, when the target starts");
    if (fault) {
        loader_join(sub, sizeof(sub), path, "fault");
        int fline = loader_line_of_key(l, obj, "fault", line);
        if (json_is_string(fault)) {
            if (strcmp(json_string_value(fault), "clear") != 0)
                return loader_fail(l, fline, sub,
                                   "expected a fault such as {status: 503} or clear");
            if (serves)
                return loader_fail(l, fline, sub, "a target that starts has no fault to clear");
        } else {
            int rc = step_fault_check_spec(l, fault, fline, sub);
            if (rc < 0)
                return rc;
            t->fault = fault;
        }
    }
    const char *what;
    if (serves) {
        int rc = load_bodies(l, t, obj, path, line);
        if (rc < 0)
            return rc;
        t->action = STEP_TARGET_SERVE;
        what = t->fault ? "serve (with fault)" : "serve";
    } else if (stop) {
        t->action = STEP_TARGET_STOP;
        what = "stop";
    } else if (t->fault) {
        t->action = STEP_TARGET_FAULT;
        what = "fault";
    } else if (fault) {
        t->action = STEP_TARGET_CLEAR_FAULT;
        what = "fault clear";
    } else {
        return loader_fail(l, line, path,
                           "nothing to do: expected body or bodies (serve), fault, or stop: true");
    }
    char name[96];
    target_name(t, name, sizeof(name));
    snprintf(st->label, sizeof(st->label), "target %s %s", name, what);
    return 0;
}

/* ---- run ---- */

/* The body of POST /v1/targets. NULL on ENOMEM. */
static json_t *target_request(const struct step_target *t)
{
    json_t *req = json_object();
    json_t *bodies = json_array();
    int rc = !req || !bodies;
    for (size_t i = 0; !rc && i < t->body_count; i++)
        rc = json_array_append_new(bodies, json_stringn(t->bodies[i], t->body_lens[i]));
    rc = rc || json_object_set(req, "bodies", bodies);
    rc = rc || json_object_set_new(req, "address", json_string(t->address));
    rc = rc || json_object_set_new(req, "port", json_integer(t->port));
    rc = rc || (t->path && json_object_set_new(req, "path", json_string(t->path)));
    rc = rc || (t->content_type &&
                json_object_set_new(req, "content_type", json_string(t->content_type)));
    rc = rc || (t->fault && json_object_set(req, "fault", (json_t *)t->fault));
    json_decref(bodies);
    if (rc) {
        json_decref(req);
        return NULL;
    }
    return req;
}

static int run_target(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                      struct error *err)
{
    const struct step_target *t = step_target_data(st);
    char name[96];
    target_name(t, name, sizeof(name));
    int rc;
    switch (t->action) {
    case STEP_TARGET_SERVE: {
        json_t *req = target_request(t);
        if (!req)
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        rc = fakes_client_start_target(&ctx->fakes, req, err);
        json_decref(req);
        if (rc == 0)
            snprintf(detail, size, "serving %s%s (%zu bodies)", name,
                     t->path ? t->path : "/metrics", t->body_count);
        return rc;
    }
    case STEP_TARGET_FAULT: return fakes_client_target_fault(&ctx->fakes, name, t->fault, err);
    case STEP_TARGET_CLEAR_FAULT: return fakes_client_target_fault(&ctx->fakes, name, NULL, err);
    case STEP_TARGET_STOP: return fakes_client_stop_target(&ctx->fakes, name, err);
    }
    return error_set(err, -EINVAL, ERROR_PERMANENT, "unknown target action");
}

static void free_target_step(struct step *st)
{
    struct step_target *t = step_target_data(st);
    for (size_t i = 0; i < t->body_count; i++)
        free(t->bodies[i]);
}

/* May run while the collector is stopped (a target keeps serving, as a pod does). Not in
 * before_start, which holds the files that exist at start: a target served by the first step is
 * there before the collector's first scrape interval ends. */
const struct step_kind_desc step_target_kind = {
    .name = "target",
    .data_size = sizeof(struct step_target),
    .fields = target_fields,
    .while_stopped = true,
    .load = load_target_step,
    .run = run_target,
    .free = free_target_step,
};
