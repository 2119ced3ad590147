/*
 * step_restart.c - the steps that stop and start the collector: `restart` (stop it with TERM or
 * KILL, start it again and wait until it listens), and `stop` and `start`, which split a restart
 * in two so that steps can run while the collector is down (the lines a container writes while
 * the DaemonSet pod restarts).
 *
 * Three kinds in one file because they are one operation: restart and stop take the same options
 * (signal, timeout) and the same rule (TERM must end in exit 0, a graceful shutdown), and restart
 * and start start the collector the same way. Which steps may run while it is stopped, and that
 * every stop has its start, the loader checks from the descriptors' `collector` and
 * `while_stopped` (scenario.c).
 *
 * What a loaded restart or stop holds is struct step_restart (step_restart.h); start holds
 * nothing. The three descriptors, defined last, are these kinds' entries in the table of steps.c.
 */
#include "step_restart.h"
#include "steps.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>

#include "scenario_loader.h"

#define DEFAULT_RESTART_TIMEOUT_MS 30000

/* ---- load ---- */

static const struct field restart_fields[] = {
    {"signal", FIELD_STR, false, "TERM (graceful: must exit 0) or KILL"},
    {"timeout", FIELD_STR, false, "how long the collector may take to exit, e.g. 30s"},
    {NULL, 0, false, NULL},
};

/* restart and stop: `obj` is checked against restart_fields (`- restart:` alone arrives as an
 * empty mapping, the defaults); `name` starts the label. */
static int load_stop_options(struct loader *l, struct step *st, const json_t *obj, const char *path,
                             const char *name)
{
    struct step_restart *r = step_restart_data(st);
    static const char *const signals[] = {"TERM", "KILL", NULL};
    int choice;
    int rc = loader_check_choice(l, obj, "signal", path, signals, &choice);
    if (rc < 0)
        return rc;
    r->signal = choice == 1 ? SIGKILL : SIGTERM;
    rc = loader_get_duration(l, obj, "timeout", path, DEFAULT_RESTART_TIMEOUT_MS, &r->timeout_ms);
    if (rc < 0)
        return rc;
    snprintf(st->label, sizeof(st->label), "%s %s", name, r->signal == SIGKILL ? "KILL" : "TERM");
    return 0;
}

static int load_restart_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                             int line)
{
    return load_stop_options(l, st, obj, path, "restart");
}

static int load_stop_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                          int line)
{
    return load_stop_options(l, st, obj, path, "stop");
}

/* `- start:` (or `start: {}`, both arrive as an empty mapping): start the collector stopped by a
 * `stop` step, wait until it listens. */
static int load_start_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                           int line)
{
    if (!json_is_object(obj) || json_object_size(obj) != 0)
        return loader_fail(l, line, path,
                           "start takes no options (it waits for the collector to listen)");
    snprintf(st->label, sizeof(st->label), "start");
    return 0;
}

/* ---- run ---- */

/* Stops the collector with the step's signal; TERM must end in exit 0 (a graceful shutdown). */
static int stop_collector(struct run_ctx *ctx, const struct step_restart *r, char *status,
                          size_t status_size, struct error *err)
{
    int code;
    int rc =
        collector_stop(&ctx->collector, r->signal, r->timeout_ms, &code, status, status_size, err);
    if (rc < 0)
        return rc;
    if (r->signal == SIGTERM && code != 0) {
        char tail[600];
        collector_log_tail(&ctx->collector, tail, sizeof(tail));
        return error_set(err, -EPROTO, ERROR_PERMANENT,
                         "after SIGTERM the collector ended with %s, want exit 0 (a graceful "
                         "shutdown); its log ends: %s",
                         status, tail);
    }
    return 0;
}

static int start_collector(struct run_ctx *ctx, struct error *err)
{
    int rc = collector_start(&ctx->collector, err);
    if (rc == 0)
        rc = collector_wait_ready(&ctx->collector, ctx->s->startup_timeout_ms, err);
    return rc;
}

static int run_restart(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                       struct error *err)
{
    char status[64];
    int rc = stop_collector(ctx, step_restart_data(st), status, sizeof(status), err);
    if (rc == 0 && (rc = start_collector(ctx, err)) == 0)
        snprintf(detail, size, "stopped with %s; started again", status);
    return rc;
}

static int run_stop(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                    struct error *err)
{
    char status[64];
    int rc = stop_collector(ctx, step_restart_data(st), status, sizeof(status), err);
    if (rc == 0)
        snprintf(detail, size, "stopped with %s", status);
    return rc;
}

static int run_start(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                     struct error *err)
{
    int rc = start_collector(ctx, err);
    if (rc == 0)
        snprintf(detail, size, "started; listening");
    return rc;
}

/* Nothing to free: the options are numbers. */
const struct step_kind_desc step_restart_kind = {
    .name = "restart",
    .data_size = sizeof(struct step_restart),
    .fields = restart_fields,
    .bare = true,
    .load = load_restart_step,
    .run = run_restart,
};

const struct step_kind_desc step_stop_kind = {
    .name = "stop",
    .data_size = sizeof(struct step_restart),
    .fields = restart_fields,
    .bare = true,
    .collector = STEP_COLLECTOR_STOPS,
    .load = load_stop_step,
    .run = run_stop,
};

const struct step_kind_desc step_start_kind = {
    .name = "start",
    .bare = true,
    .collector = STEP_COLLECTOR_STARTS,
    .load = load_start_step,
    .run = run_start,
};
