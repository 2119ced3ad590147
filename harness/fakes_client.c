/* fakes_client.c - the otel-fakes process and its control API (see fakes_client.h). */
#include "fakes_client.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "template.h"
#include "wait.h"

/* The ready line's port keys, by enum fake_id; NULL = the fake has no such front. */
static const char *const port_keys[FAKE_COUNT] = {"prometheus", "loki", "tempo_http"};
static const char *const grpc_port_keys[FAKE_COUNT] = {NULL, NULL, "tempo_grpc"};
static const char *const base_paths[FAKE_COUNT] = {"/api/v1/otlp", "/otlp", ""};

struct ready_ctx {
    struct fakes_client *f;
    const char *stdout_path;
    json_t *ready;
};

/* Reads the first complete line of the stdout file. */
static int ready_condition(void *ctx, char *seen, size_t seen_size, struct error *err)
{
    struct ready_ctx *r = ctx;
    char line[4096];
    FILE *file = fopen(r->stdout_path, "r");
    bool complete = false;
    line[0] = '\0';
    if (file) {
        complete = fgets(line, sizeof(line), file) && strchr(line, '\n');
        fclose(file);
    }
    if (complete) {
        json_error_t jerr;
        r->ready = json_loads(line, 0, &jerr);
        if (!r->ready || !json_is_true(json_object_get(r->ready, "ready")))
            return error_set(err, -EPROTO, ERROR_PERMANENT,
                             "otel-fakes printed an unexpected first line: %.300s", line);
        return 1;
    }
    if (proc_poll(&r->f->proc)) {
        char status[64];
        proc_describe_status(r->f->proc.status, status, sizeof(status));
        return error_set(err, -ECHILD, ERROR_PERMANENT,
                         "otel-fakes exited (%s) before it was ready; see its log", status);
    }
    snprintf(seen, seen_size, "no ready line yet");
    return 0;
}

int fakes_client_start(struct fakes_client *f, const struct fakes_client_options *o,
                       struct error *err)
{
    struct argv_list argv = {0};
    struct ready_ctx ready = {f, o->stdout_path, NULL};
    int rc;
    memset(f, 0, sizeof(*f));
    static const char *const fixed[] = {"--host",
                                        "127.0.0.1",
                                        "--prometheus-port",
                                        "0",
                                        "--loki-port",
                                        "0",
                                        "--tempo-http-port",
                                        "0",
                                        "--tempo-grpc-port",
                                        "0",
                                        "--control-port",
                                        "0",
                                        NULL};
    if ((rc = template_argv_add(&argv, o->binary)) < 0)
        goto nomem;
    for (int i = 0; fixed[i]; i++)
        if ((rc = template_argv_add(&argv, fixed[i])) < 0)
            goto nomem;
    if (o->loki_auth_enabled && (rc = template_argv_add(&argv, "--loki-auth-enabled")) < 0)
        goto nomem;
    if (o->prometheus_otlp_disabled &&
        (rc = template_argv_add(&argv, "--prometheus-otlp-disabled")) < 0)
        goto nomem;
    struct proc_spawn_options spawn = {.argv = argv.items,
                                       .cwd = o->cwd,
                                       .stdout_path = o->stdout_path,
                                       .stderr_path = o->log_path};
    if ((rc = proc_spawn(&f->proc, "otel-fakes", &spawn, err)) < 0)
        goto fail;
    struct wait_spec spec = {.what = "the otel-fakes ready line",
                             .timeout_ms = o->ready_timeout_ms};
    if ((rc = wait_until(&spec, ready_condition, &ready, NULL, err)) < 0)
        goto fail;
    const json_t *ports = json_object_get(ready.ready, "ports");
    for (int i = 0; i < FAKE_COUNT; i++) {
        f->ports[i] = (int)json_integer_value(json_object_get(ports, port_keys[i]));
        if (f->ports[i] <= 0) {
            rc = error_set(err, -EPROTO, ERROR_PERMANENT,
                           "the otel-fakes ready line has no port \"%s\"", port_keys[i]);
            goto fail;
        }
        if (grpc_port_keys[i]) {
            f->grpc_ports[i] = (int)json_integer_value(json_object_get(ports, grpc_port_keys[i]));
            if (f->grpc_ports[i] <= 0) {
                rc = error_set(err, -EPROTO, ERROR_PERMANENT,
                               "the otel-fakes ready line has no port \"%s\"", grpc_port_keys[i]);
                goto fail;
            }
        }
    }
    /* Optional, so that a fakes build without the Kubernetes API still runs the other
     * scenarios; a scenario that needs it says so (k8s_env.c). */
    f->kubernetes_port = (int)json_integer_value(json_object_get(ports, "kubernetes"));
    f->kubernetes_https_port = (int)json_integer_value(json_object_get(ports, "kubernetes_https"));
    f->control_port = (int)json_integer_value(json_object_get(ports, "control"));
    if (f->control_port <= 0) {
        rc = error_set(err, -EPROTO, ERROR_PERMANENT,
                       "the otel-fakes ready line has no control port");
        goto fail;
    }
    snprintf(f->control, sizeof(f->control), "http://127.0.0.1:%d", f->control_port);
    json_decref(ready.ready);
    template_argv_free(&argv);
    return 0;
nomem:
    rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
fail:
    json_decref(ready.ready);
    template_argv_free(&argv);
    fakes_client_stop(f);
    return rc;
}

void fakes_client_stop(struct fakes_client *f)
{
    proc_stop(&f->proc, SIGTERM, 5000);
}

void fakes_client_endpoint(const struct fakes_client *f, enum fake_id fake, char *buf, size_t size)
{
    snprintf(buf, size, "http://127.0.0.1:%d%s", f->ports[fake], base_paths[fake]);
}

void fakes_client_grpc_target(const struct fakes_client *f, enum fake_id fake, char *buf,
                              size_t size)
{
    if (f->grpc_ports[fake] > 0)
        snprintf(buf, size, "127.0.0.1:%d", f->grpc_ports[fake]);
    else
        snprintf(buf, size, "%s", "");
}

int fakes_client_view(const struct fakes_client *f, const char *view, json_t **out,
                      struct error *err)
{
    char url[256];
    if (!strcmp(view, "stats"))
        snprintf(url, sizeof(url), "%s/v1/stats", f->control);
    else if (!strcmp(view, "targets"))
        snprintf(url, sizeof(url), "%s/v1/targets", f->control);
    else if (!strncmp(view, "requests/", 9))
        snprintf(url, sizeof(url), "%s/v1/requests/%s", f->control, view + 9);
    else if (!strncmp(view, "otlp/", 5))
        snprintf(url, sizeof(url), "%s/v1/received/%s?view=otlp", f->control, view + 5);
    else
        snprintf(url, sizeof(url), "%s/v1/received/%s", f->control, view);
    return httpc_get_json(url, out, err);
}

/* Sums the length of `array_key` arrays found in every element of `list`. */
static size_t count_nested(const json_t *list, const char *array_key)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(list); i++)
        n += json_array_size(json_object_get(json_array_get(list, i), array_key));
    return n;
}

/* Counts from a backend view, in the view shapes of fakes/{prometheus,loki,tempo}.h. */
static int count_from_view(enum fake_id fake, const char *stat, const json_t *view, double *out)
{
    switch (fake) {
    case FAKE_PROMETHEUS: {
        const json_t *series = json_object_get(view, "series");
        if (!strcmp(stat, "series"))
            *out = (double)json_array_size(series);
        else
            *out = (double)count_nested(series, "samples");
        return 0;
    }
    case FAKE_LOKI: {
        /* Streams of every tenant: {"tenants":{"<tenant>":{"streams":[...]}}}. */
        const json_t *tenants = json_object_get(view, "tenants");
        const char *tenant;
        json_t *t;
        double n = 0;
        json_object_foreach((json_t *)tenants, tenant, t)
        {
            const json_t *streams = json_object_get(t, "streams");
            n += !strcmp(stat, "streams") ? (double)json_array_size(streams)
                                          : (double)count_nested(streams, "entries");
        }
        *out = n;
        return 0;
    }
    case FAKE_TEMPO: {
        const json_t *traces = json_object_get(view, "traces");
        *out = !strcmp(stat, "traces") ? (double)json_array_size(traces)
                                       : (double)count_nested(traces, "spans");
        return 0;
    }
    default: return -EINVAL;
    }
}

int fakes_client_count(const struct fakes_client *f, enum fake_id fake, const char *stat,
                       json_t **stats, json_t **view, double *out, struct error *err)
{
    int rc;
    bool from_stats = !strcmp(stat, "requests") || !strcmp(stat, "accepted_requests") ||
                      !strcmp(stat, "rejected_requests") || !strcmp(stat, "items");
    if (from_stats) {
        if (!*stats && (rc = fakes_client_view(f, "stats", stats, err)) < 0)
            return rc;
        const json_t *mine = json_object_get(*stats, scenario_fake_name(fake));
        if (!mine)
            return error_set(err, -EPROTO, ERROR_PERMANENT, "/v1/stats has no \"%s\"",
                             scenario_fake_name(fake));
        if (!strcmp(stat, "rejected_requests"))
            *out = json_number_value(json_object_get(mine, "requests")) -
                   json_number_value(json_object_get(mine, "accepted_requests"));
        else
            *out = json_number_value(json_object_get(mine, stat));
        return 0;
    }
    if (!*view && (rc = fakes_client_view(f, scenario_fake_name(fake), view, err)) < 0)
        return rc;
    return count_from_view(fake, stat, *view, out);
}

/* PUTs a fault spec to `url`. The fakes take retry_after as a string; scenarios may write
 * `retry_after: 2`. */
static int put_fault_spec(const char *url, const json_t *spec, struct error *err)
{
    json_t *copy = json_deep_copy(spec);
    if (!copy)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    json_t *ra = json_object_get(copy, "retry_after");
    if (json_is_integer(ra)) {
        char text[32];
        snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(ra));
        json_object_set_new(copy, "retry_after", json_string(text));
    }
    int rc = httpc_send_json("PUT", url, copy, err);
    json_decref(copy);
    return rc;
}

int fakes_client_put_fault(const struct fakes_client *f, enum fake_id fake, const json_t *spec,
                           struct error *err)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/faults/%s", f->control, scenario_fake_name(fake));
    return put_fault_spec(url, spec, err);
}

int fakes_client_clear_fault(const struct fakes_client *f, enum fake_id fake, struct error *err)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/faults/%s", f->control, scenario_fake_name(fake));
    return httpc_send_json("DELETE", url, NULL, err);
}

int fakes_client_start_target(const struct fakes_client *f, const json_t *target, struct error *err)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/targets", f->control);
    return httpc_send_json("POST", url, target, err);
}

/* {target} of the control API's target routes, escaped for the path. */
static int target_url(const struct fakes_client *f, const char *prefix, const char *name, char *url,
                      size_t size, struct error *err)
{
    char *escaped = httpc_escape(name);
    if (!escaped)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    snprintf(url, size, "%s%s/%s", f->control, prefix, escaped);
    free(escaped);
    return 0;
}

int fakes_client_stop_target(const struct fakes_client *f, const char *name, struct error *err)
{
    char url[512];
    int rc = target_url(f, "/v1/targets", name, url, sizeof(url), err);
    return rc < 0 ? rc : httpc_send_json("DELETE", url, NULL, err);
}

int fakes_client_target_fault(const struct fakes_client *f, const char *name, const json_t *spec,
                              struct error *err)
{
    char url[512];
    int rc = target_url(f, "/v1/faults/targets", name, url, sizeof(url), err);
    if (rc < 0)
        return rc;
    return spec ? put_fault_spec(url, spec, err) : httpc_send_json("DELETE", url, NULL, err);
}
