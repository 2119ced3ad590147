/*
 * checks.c - end-of-run verification (see checks.h).
 *
 * Golden flow per view: fetch from the fakes' control API -> ordering rules (golden.c) ->
 * masking rules (mask.c) -> canonical text. The canonical text is always written to
 * reports/NAME/actual/<view>.json, so a failed comparison can be inspected (or copied) file by
 * file; mismatches go to the terminal (the first few, by path) and to reports/NAME/diff (all).
 */
#include "checks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counts.h"
#include "diff.h"
#include "golden.h"
#include "k8s_calls.h"
#include "k8s_control.h"
#include "mask.h"
#include "promtext.h"
#include "steps.h"
#include "wait.h"

#define DIFF_LINES_SHOWN 8

/* How long the expected counts may take to settle (see checks_counts). */
#define CHECKS_SETTLE_MS 5000

struct settle_ctx {
    struct run_ctx *ctx;
    struct count_value *values;
    int measured; /* 0 once a measurement succeeded, else its negative code */
    struct error err;
};

static int counts_settled(void *opaque, char *seen, size_t seen_size, struct error *err)
{
    struct settle_ctx *sc = opaque;
    const struct scenario *s = sc->ctx->s;
    (void)err;
    sc->measured = counts_measure(sc->ctx, s->expect_counts, s->expect_count, sc->values, &sc->err);
    if (sc->measured < 0) {
        snprintf(seen, seen_size, "%s", sc->err.message);
        return 0;
    }
    for (size_t i = 0; i < s->expect_count; i++)
        if (!condition_holds(&s->expect_counts[i].cond, sc->values[i].value))
            return 0;
    return 1;
}

/* The counts are read until they all hold or CHECKS_SETTLE_MS pass, and judged on the last
 * reading: the collector's self-metrics lag the backends by design (an exporter counts a request
 * as sent when its answer arrives, after the fake has stored it), so a scenario that waited for
 * the fake would otherwise read the exporter's count a moment too early. A count that never gets
 * there still fails, with what it was at the end. */
void checks_counts(struct run_ctx *ctx, FILE *details)
{
    struct scenario *s = ctx->s;
    struct count_value values[SCENARIO_MAX_ITEMS];
    if (s->expect_count == 0)
        return;
    struct settle_ctx sc = {.ctx = ctx, .values = values};
    struct wait_spec spec = {.what = "the expected counts", .timeout_ms = CHECKS_SETTLE_MS};
    struct error werr;
    (void)wait_until(&spec, counts_settled, &sc, NULL, &werr);
    if (sc.measured < 0) { /* the last reading failed (wait_until reads at least once) */
        run_add_check(ctx, "counts", "fakes and collector", "fail", sc.err.message);
        fprintf(details, "  counts: %s\n", sc.err.message);
        return;
    }
    for (size_t i = 0; i < s->expect_count; i++) {
        const struct count_check *c = &s->expect_counts[i];
        char text[512], name[300];
        bool ok = condition_holds(&c->cond, values[i].value);
        counts_describe(c, &values[i], true, text, sizeof(text));
        snprintf(name, sizeof(name), "%s%s%s", c->collector ? "" : scenario_fake_name(c->fake),
                 c->collector ? "" : ".", c->label);
        run_add_check(ctx, c->collector ? "collector" : "fakes", name, ok ? "pass" : "fail", text);
        if (!ok)
            fprintf(details, "  %s:%d: expect %s\n", s->path, c->line, text);
    }
}

/* The masked, ordered view. Caller owns *out. */
static int fetch_view(struct run_ctx *ctx, const char *view, json_t **out, struct error *err)
{
    int rc;
    *out = NULL;
    if (!strcmp(view, K8S_CALLS_VIEW)) {
        /* Not a view the fakes serve: the calls of the audit log, made stable here. */
        json_t *audit = NULL;
        if ((rc = k8s_control_audit(&ctx->fakes, &audit, err)) == 0 &&
            !(*out = k8s_calls_view(audit)))
            rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        json_decref(audit);
    } else {
        rc = fakes_client_view(&ctx->fakes, view, out, err);
    }
    if (rc == 0)
        rc = golden_apply_ordering(*out, view, err);
    if (rc == 0)
        rc = mask_apply(*out, view, &ctx->mask, err);
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static void append_diff_file(struct run_ctx *ctx, const char *view, const char *golden_path,
                             const struct diff *d)
{
    char path[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/diff", ctx->report_dir);
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    fprintf(f, "== %s: %zu mismatch%s against %s (actual: actual/%s.json)\n", view, d->total,
            d->total == 1 ? "" : "es", golden_path, view);
    diff_print(d, f, DIFF_MAX_STORED, "  ");
    fclose(f);
}

static bool same_text_as_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool same = true;
    size_t i = 0;
    int c;
    while (same && (c = fgetc(f)) != EOF)
        same = i < len && text[i++] == (char)c;
    fclose(f);
    return same && i == len;
}

static void check_one_golden(struct run_ctx *ctx, const char *view, bool may_update, FILE *details)
{
    struct scenario *s = ctx->s;
    char golden_file[PATH_MAX + 512], actual_file[PATH_MAX + 512], golden_root[PATH_MAX + 16];
    char message[3 * PATH_MAX];
    json_t *actual = NULL, *expected = NULL;
    char *text = NULL;
    size_t len = 0;
    struct error err;
    struct diff d = {0};

    snprintf(golden_root, sizeof(golden_root), "%s/golden", s->root);
    golden_path(golden_file, sizeof(golden_file), golden_root, s->golden_dir, view);
    golden_path(actual_file, sizeof(actual_file), ctx->report_dir, "actual", view);
    if (fetch_view(ctx, view, &actual, &err) < 0) {
        run_add_check(ctx, "golden", view, "fail", err.message);
        fprintf(details, "  golden %s: %s\n", view, err.message);
        goto done;
    }
    if (golden_write(actual_file, actual, &err) < 0)
        fprintf(details, "  golden %s: could not keep the actual view: %s\n", view, err.message);
    if (ctx->opt->update_golden) {
        if (!may_update) {
            run_add_check(ctx, "golden", view, "fail",
                          "not updated: the run failed before its goldens could be trusted");
            goto done;
        }
        text = golden_canonical_text(actual, &len);
        if (text && same_text_as_file(golden_file, text, len)) {
            run_add_check(ctx, "golden", view, "unchanged", golden_file);
        } else if (golden_write(golden_file, actual, &err) < 0) {
            run_add_check(ctx, "golden", view, "fail", err.message);
            fprintf(details, "  golden %s: %s\n", view, err.message);
        } else {
            run_add_check(ctx, "golden", view, "updated", golden_file);
            fprintf(details, "  updated %s\n", golden_file);
        }
        goto done;
    }
    if (golden_read(golden_file, &expected, &err) < 0) {
        run_add_check(ctx, "golden", view, "fail", err.message);
        fprintf(details, "  golden %s: %s\n", view, err.message);
        goto done;
    }
    if (diff_json(expected, actual, &d) == 0) {
        run_add_check(ctx, "golden", view, "pass", golden_file);
        goto done;
    }
    snprintf(message, sizeof(message), "%zu mismatch%s with %s (full list in %s/diff)", d.total,
             d.total == 1 ? "" : "es", golden_file, ctx->report_dir);
    run_add_check(ctx, "golden", view, "fail", message);
    fprintf(details, "  golden %s: %s\n", view, message);
    diff_print(&d, details, DIFF_LINES_SHOWN, "    ");
    append_diff_file(ctx, view, golden_file, &d);
done:
    diff_free(&d);
    free(text);
    json_decref(actual);
    json_decref(expected);
}

void checks_goldens(struct run_ctx *ctx, bool may_update, FILE *details)
{
    for (size_t i = 0; i < ctx->s->golden_count; i++)
        check_one_golden(ctx, ctx->s->golden[i], may_update, details);
}

void checks_lines(struct run_ctx *ctx, FILE *summary, FILE *details)
{
    struct scenario *s = ctx->s;
    struct lines_tally t;
    struct error err;
    if (!ctx->pod_logs)
        return;
    if (steps_tally_lines(ctx, &t, &err) < 0) {
        run_add_check(ctx, "lines", "numbered pod log lines", "fail", err.message);
        fprintf(details, "  lines: %s\n", err.message);
        return;
    }
    json_t *section = lines_tally_json(ctx->pod_logs, &t);
    if (section)
        json_object_set_new(ctx->result, "lines", section);
    if (t.total.written)
        lines_tally_print(ctx->pod_logs, &t, summary, "  ");
    for (size_t i = 0; i < s->expect_lines_count; i++) {
        const struct lines_check *c = &s->expect_lines[i];
        char text[512], name[300];
        bool ok;
        lines_check_value(ctx->pod_logs, &t, c, &ok);
        lines_check_describe(ctx->pod_logs, &t, c, true, text, sizeof(text));
        snprintf(name, sizeof(name), "%s%s%s%s", c->file ? "lines[" : "lines.",
                 c->file ? c->file : "", c->file ? "]." : "", lines_measure_name(c->measure));
        run_add_check(ctx, "lines", name, ok ? "pass" : "fail", text);
        if (!ok)
            fprintf(details, "  %s:%d: expect %s\n", s->path, c->line, text);
    }
    lines_tally_free(&t);
}

/* ---- Kubernetes ---- */

/* "list replicasets.apps (cluster)", "get pods default/web", "get /apis": a call in a line. */
static void describe_call(const json_t *call, char *out, size_t size)
{
    const char *verb = json_string_value(json_object_get(call, "verb"));
    const char *path = json_string_value(json_object_get(call, "path"));
    const char *resource = json_string_value(json_object_get(call, "resource"));
    const char *ns = json_string_value(json_object_get(call, "namespace"));
    const char *name = json_string_value(json_object_get(call, "name"));
    if (path) {
        snprintf(out, size, "%s %s", verb ? verb : "?", path);
        return;
    }
    snprintf(out, size, "%s %s %s%s%s", verb ? verb : "?", resource ? resource : "?",
             ns ? ns : "(cluster)", name ? "/" : "", name ? name : "");
}

/* What one identity did, for result.json: its distinct calls, the refused ones, and (for
 * `with_grants`) the grants it never used. */
static json_t *identity_section(const json_t *objects, const json_t *view, const char *user,
                                bool with_grants, size_t *unused_pairs)
{
    json_t *denied = json_array();
    size_t i;
    const json_t *call;
    json_array_foreach(json_object_get(view, user), i, call)
    {
        char text[600];
        const char *decision = json_string_value(json_object_get(call, "decision"));
        if (!decision || strcmp(decision, "forbid") != 0)
            continue;
        describe_call(call, text, sizeof(text));
        json_array_append_new(denied, json_string(text));
    }
    json_t *section =
        json_pack("{s:I, s:I, s:o}", "calls", (json_int_t)k8s_calls_count(view, user), "denied",
                  (json_int_t)json_array_size(denied), "denied_calls", denied);
    *unused_pairs = 0;
    if (section && with_grants) {
        json_t *unused = k8s_calls_unused_grants(objects, view, user);
        json_array_foreach(unused, i, call)
        {
            *unused_pairs += json_array_size(json_object_get(call, "unused"));
        }
        json_object_set_new(section, "unused_grants", unused ? unused : json_null());
        json_object_set_new(section, "unused_pairs", json_integer((json_int_t)*unused_pairs));
    }
    return section;
}

static void check_kubernetes_count(struct run_ctx *ctx, const char *name,
                                   const struct condition *cond, double value, int line,
                                   FILE *details)
{
    char want[64], got[32], message[512];
    bool ok = condition_holds(cond, value);
    condition_format(cond, want, sizeof(want));
    condition_format_number(value, got, sizeof(got));
    snprintf(message, sizeof(message), "%s %s (want %s)", name, got, want);
    run_add_check(ctx, "kubernetes", name, ok ? "pass" : "fail", message);
    if (!ok)
        fprintf(details, "  %s:%d: expect kubernetes %s\n", ctx->s->path, line, message);
}

/* The objects of `type` the fake holds (in `namespace` when not ""). */
static size_t count_objects(const json_t *objects, const char *type, const char *namespace)
{
    size_t n = 0, i;
    const json_t *object;
    json_array_foreach(json_object_get(objects, type), i, object)
    {
        const char *ns =
            json_string_value(json_object_get(json_object_get(object, "metadata"), "namespace"));
        n += !*namespace || (ns && !strcmp(ns, namespace));
    }
    return n;
}

void checks_kubernetes(struct run_ctx *ctx, FILE *summary, FILE *details)
{
    const struct k8s_section *k = &ctx->s->kubernetes;
    json_t *audit = NULL, *objects = NULL, *view = NULL;
    struct error err;
    if (!k->enabled)
        return;
    json_t *section = json_object_get(ctx->result, "kubernetes");
    if (!section) {
        section = json_object();
        json_object_set_new(ctx->result, "kubernetes", section);
    }
    if (k8s_control_audit(&ctx->fakes, &audit, &err) < 0 ||
        k8s_control_objects(&ctx->fakes, &objects, &err) < 0 ||
        (!(view = k8s_calls_view(audit)) &&
         error_set(&err, -ENOMEM, ERROR_PERMANENT, "out of memory") < 0)) {
        run_add_check(ctx, "kubernetes", "audit", "fail", err.message);
        fprintf(details, "  kubernetes: %s\n", err.message);
        goto done;
    }
    /* Every identity that made a call, and the collector's even when it made none: that it
     * asked nothing, with grants it never used, is the finding then. */
    json_t *identities = json_object();
    size_t as_unused = 0;
    json_object_set_new(identities, k->user,
                        identity_section(objects, view, k->user, true, &as_unused));
    const char *user;
    json_t *calls;
    json_object_foreach(view, user, calls)
    {
        size_t unused_pairs;
        if (strcmp(user, k->user) != 0)
            json_object_set_new(identities, user,
                                identity_section(objects, view, user,
                                                 strcmp(user, K8S_CALLS_UNAUTHENTICATED) != 0,
                                                 &unused_pairs));
    }
    json_object_set_new(section, "identities", identities);
    const json_t *mine = json_object_get(identities, k->user);
    size_t as_calls = k8s_calls_count(view, k->user), as_denied = k8s_calls_denied(view, k->user);
    /* The `as` identity's counts at the top, for findings and evidence. */
    json_object_set_new(section, "calls", json_integer((json_int_t)as_calls));
    json_object_set_new(section, "denied", json_integer((json_int_t)as_denied));
    json_object_set_new(section, "unused_grants", json_integer((json_int_t)as_unused));

    fprintf(summary, "  kubernetes: %s made %zu distinct call%s, %zu denied\n", k->user, as_calls,
            as_calls == 1 ? "" : "s", as_denied);
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(mine, "denied_calls"), i, item)
    {
        fprintf(summary, "    denied: %s\n", json_string_value(item));
    }
    json_array_foreach(json_object_get(mine, "unused_grants"), i, item)
    {
        char text[1024];
        k8s_calls_describe_unused(item, text, sizeof(text));
        fprintf(summary, "    granted, unused: %s\n", text);
    }

    for (i = 0; i < k->denied_count; i++) {
        const struct k8s_denied_check *c = &k->denied[i];
        char name[K8S_CALLS_USER_MAX + 16];
        snprintf(name, sizeof(name), "denied%s%s", c->label ? "." : "", c->label ? c->label : "");
        check_kubernetes_count(ctx, name, &c->cond, (double)k8s_calls_denied(view, c->user),
                               c->line, details);
    }
    if (k->has_unused_grants)
        check_kubernetes_count(ctx, "unused_grants", &k->unused_grants, (double)as_unused,
                               k->unused_grants_line, details);
    for (i = 0; i < k->objects_expected_count; i++) {
        const struct k8s_object_check *c = &k->objects_expected[i];
        char name[300];
        snprintf(name, sizeof(name), "objects.%s", c->label);
        check_kubernetes_count(ctx, name, &c->cond,
                               (double)count_objects(objects, c->type, c->namespace), c->line,
                               details);
    }
done:
    json_decref(view);
    json_decref(objects);
    json_decref(audit);
}

/* Reads the whole collector log (bounded). Caller frees. */
static char *read_log(const char *path, size_t max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max, f) : 0;
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The log with logfmt's \" and \\ unescaped, so an expected message matches whether the
 * collector writes it raw (upstream's console encoder) or quoted inside msg="...". Caller
 * frees. */
static char *unescape_log(const char *log)
{
    size_t n = strlen(log);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (log[i] == '\\' && (log[i + 1] == '"' || log[i + 1] == '\\'))
            i++;
        out[j++] = log[i];
    }
    out[j] = '\0';
    return out;
}

static bool log_contains(const char *raw, const char *unescaped, const char *needle)
{
    return strstr(raw, needle) || (unescaped && strstr(unescaped, needle));
}

void checks_collector_log(struct run_ctx *ctx, FILE *details)
{
    struct scenario *s = ctx->s;
    if (!s->log_contains_count && !s->log_absent_count && !s->exit_message)
        return;
    char *log = read_log(ctx->collector.log_path, 64u * 1024 * 1024);
    const char *text = log ? log : "";
    char *unescaped = unescape_log(text);
    char message[1024];
    for (size_t i = 0; i < s->log_contains_count; i++) {
        bool ok = log_contains(text, unescaped, s->log_contains[i]);
        snprintf(message, sizeof(message), "the collector log %s \"%s\"",
                 ok ? "contains" : "does not contain", s->log_contains[i]);
        run_add_check(ctx, "collector_log", s->log_contains[i], ok ? "pass" : "fail", message);
        if (!ok)
            fprintf(details, "  %s\n", message);
    }
    for (size_t i = 0; i < s->log_absent_count; i++) {
        bool ok = !log_contains(text, unescaped, s->log_absent[i]);
        snprintf(message, sizeof(message), "the collector log %s \"%s\"",
                 ok ? "does not contain" : "contains, but must not,", s->log_absent[i]);
        run_add_check(ctx, "collector_log", s->log_absent[i], ok ? "pass" : "fail", message);
        if (!ok)
            fprintf(details, "  %s\n", message);
    }
    if (s->exit_message) {
        bool ok = log_contains(text, unescaped, s->exit_message);
        snprintf(message, sizeof(message), "the collector's output %s \"%s\"",
                 ok ? "contains" : "does not contain", s->exit_message);
        if (!ok) {
            /* Show what it said instead, which is usually the whole diagnosis. */
            char tail[600];
            size_t n = strlen(message);
            collector_log_tail(&ctx->collector, tail, sizeof(tail));
            snprintf(message + n, sizeof(message) - n, "; its output ends: %s", tail);
            fprintf(details, "  %s\n", message);
        }
        run_add_check(ctx, "exit_message", s->exit_message, ok ? "pass" : "fail", message);
    }
    free(unescaped);
    free(log);
}

/* Parses "loki.records" / "collector.<selector>" into a count check. */
static int evidence_check(const char *ref, struct count_check *c)
{
    const char *dot = strchr(ref, '.');
    memset(c, 0, sizeof(*c));
    if (!dot)
        return -EINVAL;
    c->label = dot + 1;
    if (!strncmp(ref, "collector.", 10)) {
        c->collector = true;
        c->key = dot + 1;
        return 0;
    }
    char fake[32];
    snprintf(fake, sizeof(fake), "%.*s", (int)(dot - ref), ref);
    if (scenario_fake_parse(fake, &c->fake) < 0 || !(c->key = scenario_fake_stat(c->fake, dot + 1)))
        return -EINVAL;
    return 0;
}

void checks_record_evidence(struct run_ctx *ctx)
{
    struct scenario *s = ctx->s;
    json_t *counts = json_object();
    struct error err;
    if (!counts)
        return;
    json_t *stats = NULL;
    if (fakes_client_view(&ctx->fakes, "stats", &stats, &err) == 0)
        json_object_set_new(counts, "fakes", stats);
    struct promtext metrics;
    if (collector_running(&ctx->collector) &&
        collector_scrape(&ctx->collector, &metrics, &err) == 0) {
        static const char *const prefixes[] = {"otelcol_receiver_", "otelcol_exporter_",
                                               "otelcol_processor_", "otelcol_ref_", NULL};
        json_t *m = promtext_to_json(&metrics, prefixes);
        if (m)
            json_object_set_new(counts, "collector", m);
        promtext_free(&metrics);
    }
    json_object_set_new(ctx->result, "counts", counts);
    if (!s->finding)
        return;
    json_t *finding = json_pack("{s:s}", "text", s->finding);
    /* A list, not an object: result.json is canonical (sorted keys) and the findings should
     * quote the evidence in the order the scenario gives it. */
    json_t *evidence = json_array();
    for (size_t i = 0; i < s->evidence_count && finding && evidence; i++) {
        struct count_check c;
        struct count_value v;
        json_t *value;
        enum lines_measure measure;
        if (!strncmp(s->evidence[i], "lines.", 6) &&
            lines_measure_parse(s->evidence[i] + 6, &measure) == 0) {
            struct lines_tally t;
            struct lines_check lc = {.measure = measure};
            if (steps_tally_lines(ctx, &t, &err) < 0) {
                value = json_string(err.message);
            } else {
                value = json_integer((json_int_t)lines_check_value(ctx->pod_logs, &t, &lc, NULL));
                lines_tally_free(&t);
            }
            json_array_append_new(evidence,
                                  json_pack("{s:s, s:o}", "count", s->evidence[i], "value", value));
            continue;
        }
        if (!strncmp(s->evidence[i], "kubernetes.", 11)) {
            /* Measured by checks_kubernetes, which runs before. */
            value =
                json_object_get(json_object_get(ctx->result, "kubernetes"), s->evidence[i] + 11);
            json_array_append_new(evidence, json_pack("{s:s, s:O}", "count", s->evidence[i],
                                                      "value", value ? value : json_null()));
            continue;
        }
        if (evidence_check(s->evidence[i], &c) < 0)
            continue;
        if (counts_measure(ctx, &c, 1, &v, &err) < 0)
            value = json_string(err.message);
        else if (v.value == (double)(json_int_t)v.value)
            value = json_integer((json_int_t)v.value);
        else
            value = json_real(v.value);
        json_array_append_new(evidence,
                              json_pack("{s:s, s:o}", "count", s->evidence[i], "value", value));
    }
    if (finding && evidence)
        json_object_set_new(finding, "evidence", evidence);
    else
        json_decref(evidence);
    if (finding)
        json_object_set_new(ctx->result, "finding", finding);
}
