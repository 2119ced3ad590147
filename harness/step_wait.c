/*
 * step_wait.c - the `wait` step: polls conditions until they all hold at the same poll, or
 * fails at a deadline saying what it waited for and what it saw last.
 *
 * It is the testbed's WaitForN: the poll backs off from 5 ms to 500 ms (wait.h), and a wait is
 * the only way a scenario lets time pass - there is no sleep step, on purpose. If the collector
 * dies during a wait, the wait ends at once with its exit status and the end of its log instead
 * of running into the timeout. Besides counts (a fake's statistics, collector self-metrics,
 * counts.h), a wait can name numbered pod log lines (`lines`, counted in the fake Loki's view by
 * lines.h), files the collector must hold open (`tailing`, tailing.h) and files whose offset
 * its storage has saved at their end (`checkpointed`, checkpointed.h); these may only name
 * files an earlier pod_log step writes.
 *
 * What a loaded step holds is struct step_wait (step_wait.h); the descriptor, defined last, is
 * this kind's entry in the table of steps.c.
 */
#include "step_wait.h"
#include "steps.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "counts.h"
#include "scenario_loader.h"
#include "checkpointed.h"
#include "tailing.h"
#include "wait.h"

#define DEFAULT_WAIT_TIMEOUT_MS 15000

/* ---- load ---- */

/* `tailing` and `checkpointed`: lists of pod log files that an earlier pod_log step writes, into
 * out[*count]. */
static int load_pod_log_files(struct loader *l, const json_t *list, const char *path, int line,
                              const char **out, size_t *count)
{
    int rc =
        loader_string_list(l, list, path, out, count, "a pod log file: namespace/pod/container");
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < *count; i++) {
        if (loader_known_file(l->known, out[i]))
            continue;
        char sub[600];
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        return loader_fail(l, loader_line_of_index(l, list, i, line), sub,
                           "no pod_log step before this one writes \"%s\"", out[i]);
    }
    if (*count == 0)
        return loader_fail(l, line, path, "expected at least one pod log file");
    return 0;
}

/* `target: {127.0.1.5: {scrapes: 2}, ...}` into w->targets. */
static int load_target_counts(struct loader *l, struct step_wait *w, const json_t *map,
                              const char *path, int line)
{
    static const char *const stats[] = {"scrapes", "requests", NULL};
    if (!json_is_object(map) || json_object_size(map) == 0)
        return loader_fail(l, line, path,
                           "expected targets and their counts, e.g. {127.0.1.5: {scrapes: 2}}");
    const char *name;
    json_t *counts;
    char sub[600];
    json_object_foreach((json_t *)map, name, counts)
    {
        int nline = loader_line_of_key(l, map, name, line);
        loader_join(sub, sizeof(sub), path, name);
        if (!json_is_object(counts) || json_object_size(counts) == 0)
            return loader_fail(l, nline, sub, "expected counts such as {scrapes: 2}, got %s",
                               loader_type_name(counts));
        const char *stat;
        json_t *value;
        json_object_foreach(counts, stat, value)
        {
            size_t i = 0;
            while (stats[i] && strcmp(stats[i], stat) != 0)
                i++;
            if (!stats[i])
                return loader_fail(l, nline, sub,
                                   "unknown count \"%s\" for a target (expected one of: scrapes, "
                                   "requests)",
                                   stat);
            if (w->targets_count == SCENARIO_MAX_ITEMS)
                return loader_fail(l, nline, sub, "at most %d target counts", SCENARIO_MAX_ITEMS);
            struct target_count *c = &w->targets[w->targets_count];
            char why[128], stat_path[700];
            if (condition_parse(value, COND_GE, &c->cond, why, sizeof(why)) < 0) {
                snprintf(stat_path, sizeof(stat_path), "%s.%s", sub, stat);
                return loader_fail(l, loader_line_of_key(l, counts, stat, nline), stat_path, "%s",
                                   why);
            }
            c->name = name;
            c->stat = stats[i];
            w->targets_count++;
        }
    }
    return 0;
}

/* The body's keys are fakes, `collector`, `lines`, `tailing`, `checkpointed` and `timeout`, each
 * holding its own kind of condition, so the descriptor has no field table: load_wait_step checks
 * them. */
static int load_wait_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                          int line)
{
    struct step_wait *w = step_wait_data(st);
    static const char *const known =
        "prometheus, loki, tempo, collector, lines, tailing, checkpointed, target, timeout";
    if (!json_is_object(obj))
        return loader_fail(l, line, path,
                           "expected conditions such as {loki: {records: 2}, timeout: "
                           "10s}; got %s",
                           loader_type_name(obj));
    line = loader_line_of_node(l, obj, line);
    const char *key;
    json_t *value;
    char sub[512];
    int rc;
    json_object_foreach((json_t *)obj, key, value)
    {
        int kline = loader_line_of_key(l, obj, key, line);
        loader_join(sub, sizeof(sub), path, key);
        enum fake_id fake;
        if (!strcmp(key, "timeout"))
            continue;
        if (!strcmp(key, "collector"))
            rc = loader_collector_counts(l, value, sub, kline, COND_GE, w->conds, &w->count);
        else if (!strcmp(key, "lines"))
            rc = loader_lines_checks(l, value, sub, kline, COND_GE, w->lines, &w->lines_count);
        else if (!strcmp(key, "tailing"))
            rc = load_pod_log_files(l, value, sub, kline, w->tailing, &w->tailing_count);
        else if (!strcmp(key, "checkpointed"))
            rc = load_pod_log_files(l, value, sub, kline, w->checkpointed, &w->checkpointed_count);
        else if (!strcmp(key, "target"))
            rc = load_target_counts(l, w, value, sub, kline);
        else if (scenario_fake_parse(key, &fake) == 0)
            rc = loader_fake_counts(l, fake, value, sub, kline, COND_GE, w->conds, &w->count);
        else
            return loader_fail(l, kline, path, "unknown condition \"%s\" (expected one of: %s)",
                               key, known);
        if (rc < 0)
            return rc;
    }
    if (w->count == 0 && w->lines_count == 0 && w->tailing_count == 0 &&
        w->checkpointed_count == 0 && w->targets_count == 0)
        return loader_fail(l, line, path, "nothing to wait for (expected one of: %s)", known);
    if ((rc = loader_get_duration(l, obj, "timeout", path, DEFAULT_WAIT_TIMEOUT_MS,
                                  &w->timeout_ms)) < 0)
        return rc;
    size_t n = (size_t)snprintf(st->label, sizeof(st->label), "wait");
    for (size_t i = 0; i < w->count && n < sizeof(st->label); i++) {
        char cond[64];
        condition_format(&w->conds[i].cond, cond, sizeof(cond));
        n += (size_t)snprintf(st->label + n, sizeof(st->label) - n, "%s %s.%s %s", i ? "," : "",
                              w->conds[i].collector ? "collector"
                                                    : scenario_fake_name(w->conds[i].fake),
                              w->conds[i].label, cond);
    }
    for (size_t i = 0; i < w->lines_count && n < sizeof(st->label); i++) {
        const struct lines_check *c = &w->lines[i];
        char cond[64];
        if (c->all)
            snprintf(cond, sizeof(cond), "all");
        else
            condition_format(&c->cond, cond, sizeof(cond));
        n += (size_t)snprintf(st->label + n, sizeof(st->label) - n, "%s lines%s%s%s.%s %s",
                              n > 4 ? "," : "", c->file ? "[" : "", c->file ? c->file : "",
                              c->file ? "]" : "", lines_measure_name(c->measure), cond);
    }
    for (size_t i = 0; i < w->tailing_count && n < sizeof(st->label); i++)
        n += (size_t)snprintf(st->label + n, sizeof(st->label) - n, "%s tailing %s",
                              n > 4 ? "," : "", w->tailing[i]);
    for (size_t i = 0; i < w->checkpointed_count && n < sizeof(st->label); i++)
        n += (size_t)snprintf(st->label + n, sizeof(st->label) - n, "%s checkpointed %s",
                              n > 4 ? "," : "", w->checkpointed[i]);
    for (size_t i = 0; i < w->targets_count && n < sizeof(st->label); i++) {
        char cond[64];
        condition_format(&w->targets[i].cond, cond, sizeof(cond));
        n += (size_t)snprintf(st->label + n, sizeof(st->label) - n, "%s target %s %s %s",
                              n > 4 ? "," : "", w->targets[i].name, w->targets[i].stat, cond);
    }
    return 0;
}

/* ---- run ---- */

struct wait_ctx {
    struct run_ctx *ctx;
    const struct step_wait *w;
};

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
    if (w->checkpointed_count) {
        const char *dirs[WIRING_MAX_STORAGE];
        for (size_t i = 0; i < ctx->wiring.storage_count; i++)
            dirs[i] = ctx->wiring.storage_dirs[i];
        for (size_t i = 0; i < w->checkpointed_count; i++) {
            const struct pod_log_file *f = pod_logs_find(ctx->pod_logs, w->checkpointed[i]);
            char what[200], one[300];
            bool holds = f && checkpointed_file(dirs, ctx->wiring.storage_count, f->path, what,
                                                sizeof(what));
            all = all && holds;
            snprintf(one, sizeof(one), "%s %s", w->checkpointed[i],
                     !ctx->wiring.storage_count ? "(the config has no file_storage directory)"
                     : f                        ? what
                                                : "not written");
            seen_add(seen, seen_size, n, one);
        }
    }
    return all;
}

/* The view of the target `name` names in GET /v1/targets (its id, address:port, or its
 * address), or NULL. Borrowed from `list`. */
static const json_t *find_target(const json_t *list, const char *name)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *t = json_array_get(list, i);
        const char *address = json_string_value(json_object_get(t, "address"));
        char address_port[128];
        snprintf(address_port, sizeof(address_port), "%s:%" JSON_INTEGER_FORMAT,
                 address ? address : "", json_integer_value(json_object_get(t, "port")));
        const char *id = json_string_value(json_object_get(t, "id"));
        if ((address && !strcmp(address, name)) || !strcmp(address_port, name) ||
            (id && !strcmp(id, name)))
            return t;
    }
    return NULL;
}

/* Appends what the target counts are to `seen`; returns whether they all hold (true when there
 * are none). */
static bool target_conditions(struct run_ctx *ctx, const struct step_wait *w, char *seen,
                              size_t seen_size, size_t *n)
{
    if (!w->targets_count)
        return true;
    json_t *view = NULL;
    struct error verr;
    if (fakes_client_view(&ctx->fakes, "targets", &view, &verr) < 0) {
        seen_add(seen, seen_size, n, verr.message);
        return false;
    }
    const json_t *list = json_object_get(view, "targets");
    bool all = true;
    for (size_t i = 0; i < w->targets_count; i++) {
        const struct target_count *c = &w->targets[i];
        const json_t *t = find_target(list, c->name);
        char one[300], cond[64], value[32];
        condition_format(&c->cond, cond, sizeof(cond));
        if (!t) {
            all = false;
            snprintf(one, sizeof(one), "target %s not served", c->name);
        } else {
            double v = json_number_value(json_object_get(t, c->stat));
            all = all && condition_holds(&c->cond, v);
            condition_format_number(v, value, sizeof(value));
            snprintf(one, sizeof(one), "target %s %s %s (want %s)", c->name, c->stat, value, cond);
        }
        seen_add(seen, seen_size, n, one);
    }
    json_decref(view);
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
    if (!target_conditions(ctx, wc->w, seen, seen_size, &n))
        all = false;
    return all ? 1 : 0;
}

static int run_wait(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                    struct error *err)
{
    struct wait_ctx wc = {ctx, step_wait_data(st)};
    /* "what" is the step's label without the leading "wait ". */
    struct wait_spec spec = {.what = st->label + 5, .timeout_ms = wc.w->timeout_ms};
    int64_t elapsed = 0;
    int rc = wait_until(&spec, wait_condition, &wc, &elapsed, err);
    if (rc == 0) {
        char took[32];
        wait_format_duration(elapsed, took, sizeof(took));
        snprintf(detail, size, "held after %s", took);
    }
    return rc;
}

/* Conditions and file names are borrowed from the document: nothing to free. */
const struct step_kind_desc step_wait_kind = {
    .name = "wait",
    .data_size = sizeof(struct step_wait),
    .load = load_wait_step,
    .run = run_wait,
};
