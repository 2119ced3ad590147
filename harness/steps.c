/*
 * steps.c - the fault, wait and restart steps and the dispatch (see steps.h).
 *
 * `wait` is the testbed's WaitForN: every condition of the step must hold at the same poll;
 * the poll backs off from 5 ms to 500 ms (wait.h) and a timeout says what was awaited and what
 * was seen last. If the collector dies during a wait, the wait ends at once with its exit
 * status and the end of its log instead of running into the timeout. Besides counts, a wait
 * can name numbered pod log lines (`lines`, counted in the fake Loki's view by lines.h) and
 * files the collector must hold open (`tailing`, tailing.h).
 */
#include "steps.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "counts.h"
#include "tailing.h"
#include "wait.h"

static int run_fault(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                     struct error *err)
{
    const struct step_fault *f = &st->fault;
    int rc = f->clear ? fakes_client_clear_fault(&ctx->fakes, f->fake, err)
                      : fakes_client_put_fault(&ctx->fakes, f->fake, f->spec, err);
    if (rc == 0 && !f->clear) {
        char *text = json_dumps(f->spec, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(detail, size, "%s: %s", scenario_fake_name(f->fake), text ? text : "");
        free(text);
    }
    return rc;
}

struct wait_ctx {
    struct run_ctx *ctx;
    const struct step_wait *w;
};

int steps_tally_lines(struct run_ctx *ctx, struct lines_tally *out, struct error *err)
{
    json_t *view = NULL;
    memset(out, 0, sizeof(*out));
    if (!ctx->pod_logs)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "the scenario writes no pod logs");
    int rc = fakes_client_view(&ctx->fakes, "loki", &view, err);
    if (rc == 0)
        rc = lines_tally(ctx->pod_logs, view, out, err);
    json_decref(view);
    return rc;
}

/* Appends to `seen` at *n, never past its end (a long "seen" is cut, never overrun). */
static void seen_add(char *seen, size_t seen_size, size_t *n, const char *text)
{
    if (*n + 1 >= seen_size)
        return;
    int w = snprintf(seen + *n, seen_size - *n, "%s%s", *n ? ", " : "", text);
    *n = w < 0 ? *n : *n + (size_t)w >= seen_size ? seen_size - 1 : *n + (size_t)w;
}

/* Appends "what it saw" of the lines and tailing conditions to `seen`; returns whether they
 * all hold (true when there are none). */
static bool pod_log_conditions(struct run_ctx *ctx, const struct step_wait *w, char *seen,
                               size_t seen_size, size_t *n)
{
    bool all = true;
    if (w->lines_count) {
        struct lines_tally t;
        struct error terr;
        if (steps_tally_lines(ctx, &t, &terr) < 0) {
            seen_add(seen, seen_size, n, terr.message);
            return false;
        }
        for (size_t i = 0; i < w->lines_count; i++) {
            bool holds;
            char one[300];
            lines_check_value(ctx->pod_logs, &t, &w->lines[i], &holds);
            all = all && holds;
            lines_check_describe(ctx->pod_logs, &t, &w->lines[i], false, one, sizeof(one));
            seen_add(seen, seen_size, n, one);
        }
        lines_tally_free(&t);
    }
    if (w->tailing_count) {
        const char *paths[SCENARIO_MAX_ITEMS];
        bool open[SCENARIO_MAX_ITEMS];
        for (size_t i = 0; i < w->tailing_count; i++) {
            const struct pod_log_file *f = pod_logs_find(ctx->pod_logs, w->tailing[i]);
            paths[i] = f ? f->path : "";
        }
        tailing_count_open(ctx->collector.proc.pid, paths, w->tailing_count, open);
        for (size_t i = 0; i < w->tailing_count; i++) {
            char one[300];
            all = all && open[i];
            snprintf(one, sizeof(one), "%s %s", w->tailing[i],
                     open[i] ? "open" : "not open by the collector");
            seen_add(seen, seen_size, n, one);
        }
    }
    return all;
}

static int wait_condition(void *opaque, char *seen, size_t seen_size, struct error *err)
{
    struct wait_ctx *wc = opaque;
    struct run_ctx *ctx = wc->ctx;
    struct count_value values[SCENARIO_MAX_ITEMS];
    if (!collector_running(&ctx->collector)) {
        char status[64], tail[600];
        proc_describe_status(ctx->collector.proc.status, status, sizeof(status));
        collector_log_tail(&ctx->collector, tail, sizeof(tail));
        ctx->collector_exit_reported = true;
        return error_set(err, -ECHILD, ERROR_PERMANENT,
                         "the collector exited (%s) during the wait; its log ends: %s", status,
                         tail);
    }
    struct error merr;
    if (counts_measure(ctx, wc->w->conds, wc->w->count, values, &merr) < 0) {
        /* A failed poll (the collector between restarts, a slow scrape) is not fatal: it is
         * what was seen, and the next poll may succeed. */
        snprintf(seen, seen_size, "%s", merr.message);
        return 0;
    }
    bool all = true;
    size_t n = 0;
    seen[0] = '\0';
    for (size_t i = 0; i < wc->w->count; i++) {
        all = all && condition_holds(&wc->w->conds[i].cond, values[i].value);
        char one[256];
        counts_describe(&wc->w->conds[i], &values[i], false, one, sizeof(one));
        if (n < seen_size)
            n += (size_t)snprintf(seen + n, seen_size - n, "%s%s", n ? ", " : "", one);
    }
    if (!pod_log_conditions(ctx, wc->w, seen, seen_size, &n))
        all = false;
    return all ? 1 : 0;
}

static int run_wait(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                    struct error *err)
{
    struct wait_ctx wc = {ctx, &st->wait};
    /* "what" is the step's label without the leading "wait ". */
    struct wait_spec spec = {.what = st->label + 5, .timeout_ms = st->wait.timeout_ms};
    int64_t elapsed = 0;
    int rc = wait_until(&spec, wait_condition, &wc, &elapsed, err);
    if (rc == 0) {
        char took[32];
        wait_format_duration(elapsed, took, sizeof(took));
        snprintf(detail, size, "held after %s", took);
    }
    return rc;
}

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
    int rc = stop_collector(ctx, &st->restart, status, sizeof(status), err);
    if (rc == 0 && (rc = start_collector(ctx, err)) == 0)
        snprintf(detail, size, "stopped with %s; started again", status);
    return rc;
}

static int run_stop(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                    struct error *err)
{
    char status[64];
    int rc = stop_collector(ctx, &st->restart, status, sizeof(status), err);
    if (rc == 0)
        snprintf(detail, size, "stopped with %s", status);
    return rc;
}

static int run_start(struct run_ctx *ctx, char *detail, size_t size, struct error *err)
{
    int rc = start_collector(ctx, err);
    if (rc == 0)
        snprintf(detail, size, "started; listening");
    return rc;
}

int steps_run(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
              struct error *err)
{
    detail[0] = '\0';
    switch (st->kind) {
    case STEP_OTLP: return step_otlp_run(ctx, st, detail, size, err);
    case STEP_FAULT: return run_fault(ctx, st, detail, size, err);
    case STEP_WAIT: return run_wait(ctx, st, detail, size, err);
    case STEP_RESTART: return run_restart(ctx, st, detail, size, err);
    case STEP_POD_LOG: return step_pod_log_run(ctx, st, detail, size, err);
    case STEP_STOP: return run_stop(ctx, st, detail, size, err);
    case STEP_START: return run_start(ctx, detail, size, err);
    }
    return error_set(err, -EINVAL, ERROR_PERMANENT, "unknown step kind");
}
