/*
 * run.c - one scenario run from start to finish (see run.h).
 *
 * Order: load the scenario -> report folder and temp dir (with its /var/log/pods when the
 * scenario writes pod logs) -> the config the collector runs (the file, or the subset its
 * `pipelines` name, written to the report folder) -> otel-fakes -> the objects of the
 * `kubernetes:` section in the fake API and the collector's credentials for it (k8s_env.h) ->
 * wiring (ports, --set) -> before_start steps -> collector -> steps -> checks that need the
 * collector running (counts, goldens, pod log lines, Kubernetes calls, evidence) -> SIGTERM,
 * which must end in exit 0 -> log checks -> stop the fakes -> result.json and the aggregate
 * reports. A failed step ends the steps but not the checks: the goldens and counts of a failed
 * run say what did arrive, which is usually the quickest diagnosis.
 *
 * The terminal gets one line per scenario, growing as the run goes ("name: fakes collector
 * 0.otlp 1.wait checks PASS (1.2s)"), then, indented below it, what the run covered when that
 * is not the whole story (the parts of the config left out, the pod log lines written and
 * delivered) and the details of any failure.
 */
#include "run.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "config_subset.h"
#include "golden.h"
#include "report.h"
#include "steps.h"
#include "wait.h"

#define SHUTDOWN_TIMEOUT_MS 30000
#define FAKES_READY_TIMEOUT_MS 15000

void run_add_check(struct run_ctx *ctx, const char *kind, const char *name, const char *status,
                   const char *message)
{
    json_t *item = json_pack("{s:s, s:s, s:s}", "check", kind, "name", name, "status", status);
    if (item && message)
        json_object_set_new(item, "message", json_string(message));
    if (item)
        json_array_append_new(ctx->checks, item);
    if (!strcmp(status, "fail"))
        ctx->check_failures++;
}

static int64_t wall_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void progress(struct run_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void progress(struct run_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(ctx->opt->term, fmt, ap);
    va_end(ap);
    fflush(ctx->opt->term);
}

/* The scenario's name before it could be loaded: the file's base name without .yaml. */
static void name_from_path(const char *path, char *out, size_t size)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", path);
    snprintf(out, size, "%s", basename(copy));
    char *dot = strrchr(out, '.');
    if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml")))
        *dot = '\0';
}

static int make_run_dir(struct run_ctx *ctx, struct error *err)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(ctx->run_dir, sizeof(ctx->run_dir), "%s/otel-harness-%s-XXXXXX",
             tmp && *tmp ? tmp : "/tmp", ctx->s->name);
    if (!mkdtemp(ctx->run_dir))
        return error_set(err, -errno, ERROR_PERMANENT, "mkdtemp %s: %s", ctx->run_dir,
                         strerror(errno));
    return 0;
}

static int start_fakes(struct run_ctx *ctx, struct error *err)
{
    char stdout_path[PATH_MAX + 32], log_path[PATH_MAX + 32];
    snprintf(stdout_path, sizeof(stdout_path), "%s/fakes.stdout", ctx->run_dir);
    snprintf(log_path, sizeof(log_path), "%s/fakes.log", ctx->report_dir);
    struct fakes_client_options o = {
        .binary = ctx->opt->fakes_binary,
        .stdout_path = stdout_path,
        .log_path = log_path,
        .cwd = ctx->run_dir,
        .loki_auth_enabled = ctx->s->loki_auth_enabled,
        .prometheus_otlp_disabled = ctx->s->prometheus_otlp_disabled,
        .ready_timeout_ms = FAKES_READY_TIMEOUT_MS,
    };
    int rc = fakes_client_start(&ctx->fakes, &o, err);
    if (rc == 0) {
        ctx->fakes_started = true;
        for (int f = 0; f < FAKE_COUNT; f++) {
            fakes_client_endpoint(&ctx->fakes, (enum fake_id)f, ctx->endpoints[f],
                                  sizeof(ctx->endpoints[f]));
            fakes_client_grpc_target(&ctx->fakes, (enum fake_id)f, ctx->grpc_targets[f],
                                     sizeof(ctx->grpc_targets[f]));
        }
    }
    return rc;
}

static int init_collector(struct run_ctx *ctx, struct error *err)
{
    struct scenario *s = ctx->s;
    char log_path[PATH_MAX + 32];
    /* The collector's resourcedetection `env` detector reads its own environment: the
     * harness's OTEL_RESOURCE_ATTRIBUTES must not reach it, or goldens would depend on the
     * shell. Empty counts as unset upstream; a scenario's `env:` may still set them. */
    size_t n = 0;
    ctx->env[n++] = "OTEL_RESOURCE_ATTRIBUTES=";
    ctx->env[n++] = "OTEL_RESOURCE=";
    for (size_t i = 0; i < ctx->kubernetes.env_count; i++)
        ctx->env[n++] = ctx->kubernetes.env[i];
    for (size_t i = 0; i < s->env_count; i++)
        ctx->env[n++] = (char *)s->env[i];
    ctx->env[n] = NULL;
    snprintf(log_path, sizeof(log_path), "%s/collector.log", ctx->report_dir);
    int rc = wiring_build_grpc(&ctx->wiring, s, ctx->endpoints, ctx->grpc_targets, err);
    if (rc == 0)
        rc = wiring_build_files(&ctx->wiring, s, ctx->run_dir, err);
    if (rc < 0)
        return rc;
    struct collector_options o = {
        .command_template = ctx->opt->collector_template,
        .config_path = ctx->config_run_path,
        .sets = ctx->wiring.set_ptrs,
        .set_count = ctx->wiring.set_count,
        .env = ctx->env,
        .log_path = log_path,
        .cwd = ctx->run_dir,
        .listen_ports = ctx->wiring.listen_ports,
        .listen_count = ctx->wiring.listen_count,
        .metrics_port = ctx->wiring.metrics_port,
    };
    ctx->collector_initialised = true;
    rc = collector_init(&ctx->collector, &o, err);
    if (rc == 0) {
        char command[4096];
        template_argv_format(&ctx->collector.argv, command, sizeof(command));
        json_object_set_new(ctx->result, "collector_command", json_string(command));
    }
    return rc;
}

/* The scenario's `kubernetes:` section, before the collector starts: its objects in the fake
 * API, the collector's credentials and environment (k8s_env.h); result.json's "kubernetes". */
static int prepare_kubernetes(struct run_ctx *ctx, struct error *err)
{
    k8s_env_init(&ctx->kubernetes, ctx->run_dir);
    if (!ctx->s->kubernetes.enabled)
        return 0;
    json_t *section = json_object();
    if (!section)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    json_object_set_new(ctx->result, "kubernetes", section);
    return k8s_env_prepare(&ctx->kubernetes, &ctx->s->kubernetes, &ctx->fakes, section, err);
}

static void record_step(struct run_ctx *ctx, json_t *list, size_t index, const struct step *st,
                        const char *status, int64_t ms, const char *detail, const char *error)
{
    json_t *item = json_pack("{s:i, s:s, s:s, s:i, s:s, s:I}", "index", (int)index, "kind",
                             st->desc->name, "label", st->label, "line", st->line, "status", status,
                             "duration_ms", (json_int_t)ms);
    if (!item)
        return;
    if (detail && *detail)
        json_object_set_new(item, "detail", json_string(detail));
    if (error)
        json_object_set_new(item, "error", json_string(error));
    json_array_append_new(list, item);
}

/* Runs `steps` in order; the first failure ends the list (the rest are recorded as skipped).
 * `name` is how the scenario file calls the list ("steps", "before_start"), `progress_prefix`
 * what the terminal shows before each index. Returns false when a step failed. */
static bool run_step_list(struct run_ctx *ctx, const struct step *steps, size_t count,
                          const char *name, const char *progress_prefix, json_t *list,
                          FILE *details)
{
    struct scenario *s = ctx->s;
    for (size_t i = 0; i < count; i++) {
        const struct step *st = &steps[i];
        char detail[1024];
        struct error err;
        progress(ctx, " %s%zu.%s", progress_prefix, i, st->desc->name);
        int64_t t0 = wait_monotonic_ms();
        int rc = steps_run(ctx, st, detail, sizeof(detail), &err);
        int64_t ms = wait_monotonic_ms() - t0;
        if (rc < 0) {
            progress(ctx, "!");
            record_step(ctx, list, i, st, "fail", ms, detail, err.message);
            ctx->step_failures++;
            fprintf(details, "  %s:%d: %s[%zu] %s: %s\n", s->path, st->line, name, i, st->label,
                    err.message);
            for (size_t j = i + 1; j < count; j++)
                record_step(ctx, list, j, &steps[j], "skipped", 0, NULL, NULL);
            return false;
        }
        record_step(ctx, list, i, st, "pass", ms, detail, NULL);
    }
    return true;
}

static void run_steps(struct run_ctx *ctx, FILE *details)
{
    run_step_list(ctx, ctx->s->steps, ctx->s->step_count, "steps", "", ctx->steps, details);
}

static bool is_line_time(const void *opaque, int64_t ns)
{
    return pod_logs_is_line_time(opaque, ns);
}

/* The run's /var/log/pods, under its temp dir: the host tree the collector's globs point at. */
static int prepare_pod_logs(struct run_ctx *ctx, struct error *err)
{
    char root[PATH_MAX + 32];
    if (!ctx->s->has_pod_logs)
        return 0;
    ctx->pod_logs = calloc(1, sizeof(*ctx->pod_logs));
    if (!ctx->pod_logs)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    snprintf(root, sizeof(root), "%s/var/log/pods", ctx->run_dir);
    int rc = pod_logs_init(ctx->pod_logs, root, ctx->run_start_ns, err);
    if (rc == 0) {
        ctx->mask.is_line_time = is_line_time;
        ctx->mask.line_time_ctx = ctx->pod_logs;
    }
    return rc;
}

/* The config the collector runs: the scenario's file, or the subset its `pipelines` name,
 * written to reports/NAME/config.yaml (a JSON document is YAML; the comment says where it came
 * from). result.json and the terminal say what was left out. */
static int prepare_config(struct run_ctx *ctx, FILE *summary, struct error *err)
{
    struct scenario *s = ctx->s;
    json_t *section = json_pack("{s:s}", "file", s->config_label);
    if (!section)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    json_object_set_new(ctx->result, "config", section);
    if (!s->left_out) {
        snprintf(ctx->config_run_path, sizeof(ctx->config_run_path), "%s", s->config_path);
        return 0;
    }
    char described[2048], report_dir[PATH_MAX];
    config_subset_describe(s->left_out, described, sizeof(described));
    /* Absolute: the collector runs in the run's temp dir, and --report-dir may be relative. */
    if (!realpath(ctx->report_dir, report_dir))
        return error_set(err, -errno, ERROR_PERMANENT, "%s: %s", ctx->report_dir, strerror(errno));
    if (snprintf(ctx->config_run_path, sizeof(ctx->config_run_path), "%s/config.yaml",
                 report_dir) >= (int)sizeof(ctx->config_run_path))
        return error_set(err, -ENAMETOOLONG, ERROR_PERMANENT, "report path too long");
    size_t len = 0;
    char *text = golden_canonical_text(s->config, &len);
    FILE *f = text ? fopen(ctx->config_run_path, "w") : NULL;
    if (!f) {
        free(text);
        return error_set(err, text ? -errno : -ENOMEM, ERROR_PERMANENT, "cannot write %s",
                         ctx->config_run_path);
    }
    fprintf(f,
            "# Written by otel-harness for scenario %s: the pipelines it names of %s and the\n"
            "# components they use, as they are in that file (endpoints and paths are --set on\n"
            "# top; the collector's command line is in result.json).\n"
            "# Left out: %s.\n",
            s->name, s->config_label, described);
    bool ok = fwrite(text, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    free(text);
    if (!ok)
        return error_set(err, -EIO, ERROR_PERMANENT, "writing %s failed", ctx->config_run_path);
    json_object_set_new(section, "ran", json_string("config.yaml"));
    json_object_set(section, "pipelines",
                    json_object_get(json_object_get(s->config, "service"), "pipelines"));
    json_object_set(section, "left_out", s->left_out);
    json_object_set_new(section, "left_out_text", json_string(described));
    fprintf(summary, "  config: part of %s (as run: %s/config.yaml)\n    left out: %s\n",
            s->config_label, ctx->report_dir, described);
    return 0;
}

/* Stops the collector gracefully at the end: SIGTERM must end in exit 0 (DESIGN.md §3: drain,
 * exit 0). Under valgrind --error-exitcode, a leak also shows up here. */
static void final_shutdown(struct run_ctx *ctx, FILE *details)
{
    int code;
    char status[64], message[ERROR_MESSAGE_MAX + 128];
    struct error err;
    if (ctx->collector.proc.pid > 0 && proc_poll(&ctx->collector.proc)) {
        ctx->collector.proc.pid = 0;
        if (ctx->collector_exit_reported)
            return; /* the step that saw it die said so, with its log */
        proc_describe_status(ctx->collector.proc.status, status, sizeof(status));
        snprintf(message, sizeof(message),
                 "the collector had already exited (%s) before the "
                 "end of the run",
                 status);
        run_add_check(ctx, "shutdown", "SIGTERM exits 0", "fail", message);
        fprintf(details, "  %s\n", message);
        return;
    }
    int rc = collector_stop(&ctx->collector, SIGTERM, SHUTDOWN_TIMEOUT_MS, &code, status,
                            sizeof(status), &err);
    if (!strcmp(status, "not running"))
        return;
    bool ok = rc == 0 && code == 0;
    snprintf(message, sizeof(message), "SIGTERM at the end: %s%s%s", status, rc < 0 ? "; " : "",
             rc < 0 ? err.message : "");
    run_add_check(ctx, "shutdown", "SIGTERM exits 0", ok ? "pass" : "fail", message);
    if (!ok) {
        char tail[600];
        collector_log_tail(&ctx->collector, tail, sizeof(tail));
        fprintf(details, "  %s (want exit 0); the collector log ends: %s\n", message, tail);
    }
}

/* A config-error scenario: the collector must exit by itself with the expected code. */
static void expect_exit(struct run_ctx *ctx, FILE *details)
{
    struct scenario *s = ctx->s;
    struct error err;
    char status[64], message[ERROR_MESSAGE_MAX + 64];
    int rc = proc_wait_exit(&ctx->collector.proc, s->startup_timeout_ms, &err);
    int code = -1;
    if (rc == 0) {
        proc_describe_status(ctx->collector.proc.status, status, sizeof(status));
        code = proc_exit_code(&ctx->collector.proc);
        snprintf(message, sizeof(message), "the collector ended with %s (want exit %d)", status,
                 s->exit_code);
    } else {
        snprintf(message, sizeof(message), "%s (want exit %d)", err.message, s->exit_code);
        collector_stop(&ctx->collector, SIGKILL, 5000, &code, status, sizeof(status), &err);
        code = -1;
    }
    bool ok = code == s->exit_code;
    run_add_check(ctx, "exit_code", "collector exit", ok ? "pass" : "fail", message);
    if (!ok)
        fprintf(details, "  %s\n", message);
    progress(ctx, " exit");
}

static void finish_result(struct run_ctx *ctx, const char *status, const char *error)
{
    json_object_set_new(ctx->result, "status", json_string(status));
    json_object_set_new(ctx->result, "duration_ms",
                        json_integer((json_int_t)(wait_monotonic_ms() - ctx->started_ms)));
    if (error)
        json_object_set_new(ctx->result, "error", json_string(error));
    if (*ctx->run_dir && ctx->opt->keep)
        json_object_set_new(ctx->result, "run_dir", json_string(ctx->run_dir));
}

static void cleanup(struct run_ctx *ctx)
{
    if (ctx->collector_initialised)
        collector_destroy(&ctx->collector);
    if (ctx->fakes_started)
        fakes_client_stop(&ctx->fakes);
    if (ctx->pod_logs) {
        pod_logs_free(ctx->pod_logs);
        free(ctx->pod_logs);
        ctx->pod_logs = NULL;
    }
    if (*ctx->run_dir && !ctx->opt->keep)
        report_remove_tree(ctx->run_dir);
}

static json_t *new_result(const char *name, const char *path)
{
    char stamp[40];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s, s:s, s:s, s:[], s:[]}", "name", name, "scenario", path, "started_at",
                     stamp, "steps", "checks");
}

int run_scenario(const struct run_options *o, bool *passed, struct error *err)
{
    struct run_ctx ctx;
    char name[256];
    char *details_text = NULL, *summary_text = NULL;
    size_t details_len = 0, summary_len = 0;
    FILE *details = NULL, *summary = NULL;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx.opt = o;
    ctx.started_ms = wait_monotonic_ms();
    *passed = false;
    name_from_path(o->scenario_path, name, sizeof(name));
    ctx.result = new_result(name, o->scenario_path);
    details = open_memstream(&details_text, &details_len);
    summary = open_memstream(&summary_text, &summary_len);
    if (!ctx.result || !details || !summary) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto out;
    }
    ctx.steps = json_object_get(ctx.result, "steps");
    ctx.checks = json_object_get(ctx.result, "checks");
    progress(&ctx, "%s:", name);

    if ((rc = scenario_load(o->scenario_path, o->source_root, &ctx.s, err)) < 0)
        goto harness_error;
    json_object_set_new(ctx.result, "summary", json_string(ctx.s->summary));
    if ((rc = report_prepare_dir(o->report_root, ctx.s->name, ctx.report_dir,
                                 sizeof(ctx.report_dir), err)) < 0 ||
        (rc = make_run_dir(&ctx, err)) < 0)
        goto harness_error;

    /* The anchor of `timestamps: now` and of "<time+Nms>" masks: whole milliseconds, so ns
     * and ms views of the same instant give the same offset. */
    ctx.run_start_ns = wall_clock_ms() * 1000000LL;
    if (gethostname(ctx.hostname, sizeof(ctx.hostname)) < 0)
        ctx.hostname[0] = '\0';
    ctx.mask.run_start_ns = ctx.run_start_ns;
    ctx.mask.hostname = ctx.hostname;
    ctx.mask.run_dir = ctx.run_dir;
    if ((rc = prepare_pod_logs(&ctx, err)) < 0 || (rc = prepare_config(&ctx, summary, err)) < 0)
        goto harness_error;

    progress(&ctx, " fakes");
    if ((rc = start_fakes(&ctx, err)) < 0 || (rc = prepare_kubernetes(&ctx, err)) < 0 ||
        (rc = init_collector(&ctx, err)) < 0)
        goto harness_error;
    if (ctx.s->pre_step_count) {
        /* Files that exist when the collector starts: what `start_at` decides about. */
        json_t *pre = json_array();
        json_object_set_new(ctx.result, "before_start", pre);
        if (!run_step_list(&ctx, ctx.s->pre_steps, ctx.s->pre_step_count, "before_start", "pre",
                           pre, details)) {
            rc = error_set(err, -EIO, ERROR_PERMANENT, "a before_start step failed");
            goto harness_error;
        }
    }
    progress(&ctx, " collector");
    if ((rc = collector_start(&ctx.collector, err)) < 0)
        goto harness_error;

    if (ctx.s->has_exit_code) {
        expect_exit(&ctx, details);
        checks_counts(&ctx, details);
        checks_collector_log(&ctx, details);
    } else {
        struct error serr;
        if (collector_wait_ready(&ctx.collector, ctx.s->startup_timeout_ms, &serr) < 0) {
            progress(&ctx, "!");
            run_add_check(&ctx, "startup", "collector ready", "fail", serr.message);
            ctx.collector_exit_reported = !collector_running(&ctx.collector);
            fprintf(details, "  %s\n", serr.message);
            ctx.step_failures++;
        } else {
            run_steps(&ctx, details);
        }
        if (wait_cancelled()) {
            /* Checks would only report the interruption again: stop everything now. */
            rc = error_set(err, -ECANCELED, ERROR_PERMANENT, "interrupted");
            goto harness_error;
        }
        progress(&ctx, " checks");
        checks_counts(&ctx, details);
        checks_lines(&ctx, summary, details);
        checks_kubernetes(&ctx, summary, details);
        checks_goldens(&ctx, ctx.step_failures == 0 && ctx.check_failures == 0, details);
        checks_record_evidence(&ctx);
        final_shutdown(&ctx, details);
        checks_collector_log(&ctx, details);
    }
    if (wait_cancelled()) {
        rc = error_set(err, -ECANCELED, ERROR_PERMANENT, "interrupted");
        goto harness_error;
    }
    *passed = ctx.step_failures == 0 && ctx.check_failures == 0;
    finish_result(&ctx, *passed ? "pass" : "fail", NULL);
    rc = 0;
    goto out;

harness_error:
    finish_result(&ctx, "error", err->message);
    fprintf(details, "  %s\n", err->message);
out:
    cleanup(&ctx);
    if (details)
        fclose(details);
    if (summary)
        fclose(summary);
    {
        struct error rerr;
        char dir[PATH_MAX + 300];
        /* A scenario that failed to load still gets a report folder (named after its file),
         * so junit.xml lists it. */
        if (!*ctx.report_dir)
            report_prepare_dir(o->report_root, name, ctx.report_dir, sizeof(ctx.report_dir), &rerr);
        snprintf(dir, sizeof(dir), "%s", ctx.report_dir);
        if (ctx.result && (report_write_result(dir, ctx.result, &rerr) < 0 ||
                           report_aggregate(o->report_root, &rerr) < 0))
            fprintf(o->term, "\n  reports: %s", rerr.message);
    }
    const char *status = json_string_value(json_object_get(ctx.result, "status"));
    char took[32];
    wait_format_duration(wait_monotonic_ms() - ctx.started_ms, took, sizeof(took));
    fprintf(o->term, " %s (%s)\n",
            status && !strcmp(status, "pass")   ? "PASS"
            : status && !strcmp(status, "fail") ? "FAIL"
                                                : "ERROR",
            took);
    if (summary_text && summary_len)
        fprintf(o->term, "%s", summary_text);
    if (details_text && details_len)
        fprintf(o->term, "%s", details_text);
    if (((status && strcmp(status, "pass") != 0) || summary_len) && *ctx.report_dir)
        fprintf(o->term, "  report: %s/\n", ctx.report_dir);
    if (o->keep && *ctx.run_dir)
        fprintf(o->term, "  kept: %s\n", ctx.run_dir);
    fflush(o->term);
    free(details_text);
    free(summary_text);
    json_decref(ctx.result);
    scenario_free(ctx.s);
    return rc;
}
