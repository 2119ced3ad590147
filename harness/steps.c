/*
 * steps.c - the fault, wait and restart steps and the dispatch (see steps.h).
 *
 * `wait` is the testbed's WaitForN: every condition of the step must hold at the same poll;
 * the poll backs off from 5 ms to 500 ms (wait.h) and a timeout says what was awaited and what
 * was seen last. If the collector dies during a wait, the wait ends at once with its exit
 * status and the end of its log instead of running into the timeout.
 */
#include "steps.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "counts.h"
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

static int run_restart(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                       struct error *err)
{
    const struct step_restart *r = &st->restart;
    int code;
    char status[64];
    int rc = collector_stop(&ctx->collector, r->signal, r->timeout_ms, &code, status,
                            sizeof(status), err);
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
    if ((rc = collector_start(&ctx->collector, err)) < 0 ||
        (rc = collector_wait_ready(&ctx->collector, ctx->s->startup_timeout_ms, err)) < 0)
        return rc;
    snprintf(detail, size, "stopped with %s; started again", status);
    return 0;
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
    }
    return error_set(err, -EINVAL, ERROR_PERMANENT, "unknown step kind");
}
