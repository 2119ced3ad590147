/*
 * benchcheck.c - otel-benchcheck, the check every `scripts/bench` run ends with (and what the
 * `bench` ctest label asserts).
 *
 * Reads one benchmark report (reports/bench/NAME.json) and checks that it is complete - every
 * member the benchmark writes is there, with the right type - and that its counts add up: every
 * item sent was accepted by the receiver and sent by the exporter, none refused or failed, the
 * peer read every line, and each derived figure (a rate, a ratio, a per-item count) is what its
 * parts give. A benchmark that breaks (a renamed variable, a phase that no longer runs, a count
 * that drifts) fails here instead of printing figures nobody can trust.
 *
 * It checks no speed: figures depend on the machine, so a slow run is no failure.
 *
 * Every problem is reported, one line each ("results[1].collector_counts.sent: 2999, want 3000
 * (items)"), and the exit status is 1 when there is any; 2 when the file cannot be read.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct check {
    const char *file;
    int problems;
};

static void problem(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", c->file);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    c->problems++;
}

/* The member at a dotted `path` below `obj` ("collector_counts.sent"), or NULL. */
static json_t *member(json_t *obj, const char *path)
{
    char key[128];
    while (obj && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        obj = json_object_get(obj, key);
        path += n + (path[n] == '.');
    }
    return obj;
}

/* A number at `path` (`where` names `obj` in messages); NaN, with a problem, when missing. */
static double number(struct check *c, json_t *obj, const char *where, const char *path)
{
    json_t *v = member(obj, path);
    if (!v) {
        problem(c, "%s%s: missing", where, path);
        return NAN;
    }
    if (!json_is_number(v)) {
        problem(c, "%s%s: not a number", where, path);
        return NAN;
    }
    double d = json_number_value(v);
    if (d < 0)
        problem(c, "%s%s: %g is negative", where, path, d);
    return d;
}

static const char *string(struct check *c, json_t *obj, const char *where, const char *path)
{
    const char *s = json_string_value(member(obj, path));
    if (!s || !*s)
        problem(c, "%s%s: missing or not a non-empty string", where, path);
    return s ? s : "";
}

static bool boolean(struct check *c, json_t *obj, const char *where, const char *path)
{
    json_t *v = member(obj, path);
    if (!json_is_boolean(v))
        problem(c, "%s%s: missing or not true/false", where, path);
    return json_is_true(v);
}

/* `what` at `path` must equal `want` (counts are integers: exact). */
static void count_is(struct check *c, json_t *obj, const char *where, const char *path, double want,
                     const char *want_what)
{
    double got = number(c, obj, where, path);
    if (!isnan(got) && !isnan(want) && got != want)
        problem(c, "%s%s: %.0f, want %.0f (%s)", where, path, got, want, want_what);
}

/* A figure derived from others: `got` must be `want` up to the rounding the script applied
 * (`slack`, absolute, plus 0.5% for rates over rounded CPU seconds). */
static void derived_is(struct check *c, json_t *obj, const char *where, const char *path,
                       double want, double slack, const char *formula)
{
    double got = number(c, obj, where, path);
    if (isnan(got) || isnan(want))
        return;
    if (fabs(got - want) > slack + fabs(want) * 0.005)
        problem(c, "%s%s: %g, but %s gives %g", where, path, got, formula, want);
}

static double quotient(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static void check_common(struct check *c, json_t *root)
{
    string(c, root, "", "date");
    string(c, root, "", "command");
    if (number(c, root, "", "machine.nproc") == 0)
        problem(c, "machine.nproc: 0");
    string(c, root, "", "machine.cpu_model");
    string(c, root, "", "machine.kernel");
    string(c, root, "", "setup.config");
    count_is(c, root, "", "collector_exit_after_sigterm", 0, "a graceful shutdown");
}

/* The collector's counts: everything accepted and sent, nothing refused or failed. */
static void check_counts(struct check *c, json_t *obj, const char *where, double items)
{
    count_is(c, obj, where, "collector_counts.accepted", items, "every item sent");
    count_is(c, obj, where, "collector_counts.sent", items, "every item accepted");
    count_is(c, obj, where, "collector_counts.refused", 0, "none refused");
    count_is(c, obj, where, "collector_counts.send_failed", 0, "none failed");
}

/* An "instructions" object of the callgrind run. */
static void check_instructions(struct check *c, json_t *obj, const char *where)
{
    char at[96];
    snprintf(at, sizeof(at), "%sinstructions.", where);
    json_t *in = member(obj, "instructions");
    if (!json_is_object(in)) {
        problem(c, "%sinstructions: missing", where);
        return;
    }
    double items = number(c, in, at, "items");
    double collector = number(c, in, at, "collector_instructions");
    double fakes = number(c, in, at, "fakes_instructions");
    if (items == 0 || collector == 0 || fakes == 0)
        problem(c, "%s: items and both instruction counts must be positive", at);
    derived_is(c, in, at, "collector_instructions_per_item", quotient(collector, items), 0.5,
               "collector_instructions / items");
    derived_is(c, in, at, "fakes_instructions_per_item", quotient(fakes, items), 0.5,
               "fakes_instructions / items");
    derived_is(c, in, at, "fakes_to_collector_instructions_ratio", quotient(fakes, collector),
               0.0005, "fakes_instructions / collector_instructions");
}

/* A goal {goal_at_least | goal_at_most | goal_below, measured, met}: `measured` must be the figure
 * the results give, and `met` what comparing them says. */
static void check_goal(struct check *c, json_t *root, const char *name, double measured)
{
    char where[128];
    snprintf(where, sizeof(where), "goals.%s.", name);
    json_t *g = member(member(root, "goals"), name);
    if (!json_is_object(g)) {
        problem(c, "goals.%s: missing", name);
        return;
    }
    derived_is(c, g, where, "measured", measured, 0.05, "the results");
    bool met = boolean(c, g, where, "met");
    double goal = NAN, got = json_number_value(json_object_get(g, "measured"));
    bool want = false;
    if (json_object_get(g, "goal_at_least"))
        goal = number(c, g, where, "goal_at_least"), want = got >= goal;
    else if (json_object_get(g, "goal_at_most"))
        goal = number(c, g, where, "goal_at_most"), want = got <= goal;
    else if (json_object_get(g, "goal_below"))
        goal = number(c, g, where, "goal_below"), want = got < goal;
    else
        problem(c, "%s: no goal_at_least, goal_at_most or goal_below", where);
    if (!isnan(goal) && met != want)
        problem(c, "%smet: %s, but measured %g against goal %g says %s", where,
                met ? "true" : "false", got, goal, want ? "true" : "false");
}

static void check_otlp_http(struct check *c, json_t *root)
{
    static const char *const signals[] = {"traces", "logs"};
    json_t *results = member(root, "results");
    if (!json_is_array(results) || json_array_size(results) != 2) {
        problem(c, "results: want a list of 2 (traces, logs)");
        return;
    }
    double span_rate = NAN, rss_max = 0, ratio_max = 0;
    for (size_t i = 0; i < 2; i++) {
        json_t *r = json_array_get(results, i);
        char where[32];
        snprintf(where, sizeof(where), "results[%zu].", i);
        if (strcmp(string(c, r, where, "signal"), signals[i]) != 0)
            problem(c, "%ssignal: want %s", where, signals[i]);
        double items = number(c, r, where, "items");
        if (items == 0)
            problem(c, "%sitems: 0", where);
        if (number(c, r, where, "rounds") == 0)
            problem(c, "%srounds: 0", where);
        double cpu = number(c, r, where, "collector_cpu_seconds");
        double rate = number(c, r, where, "items_per_collector_cpu_second");
        derived_is(c, r, where, "items_per_collector_cpu_second", quotient(items, cpu), 1,
                   "items / collector_cpu_seconds");
        double e2e = number(c, r, where, "end_to_end_seconds");
        derived_is(c, r, where, "end_to_end_items_per_second", quotient(items, e2e), 1,
                   "items / end_to_end_seconds");
        number(c, r, where, "loadgen_items_per_second");
        number(c, r, where, "loadgen_cpu_seconds");
        double fakes = number(c, r, where, "fakes_cpu_seconds");
        double ratio = number(c, r, where, "fakes_to_collector_cpu_ratio");
        derived_is(c, r, where, "fakes_to_collector_cpu_ratio", quotient(fakes, cpu), 0.0005,
                   "fakes_cpu_seconds / collector_cpu_seconds");
        double kib = number(c, r, where, "peak_rss_kib");
        double mib = number(c, r, where, "peak_rss_mib");
        derived_is(c, r, where, "peak_rss_mib", kib / 1024, 0.05, "peak_rss_kib / 1024");
        boolean(c, r, where, "peak_rss_reset_before");
        check_counts(c, r, where, items);
        check_instructions(c, r, where);
        if (i == 0)
            span_rate = rate;
        rss_max = fmax(rss_max, mib);
        ratio_max = fmax(ratio_max, ratio);
    }
    check_goal(c, root, "spans_per_collector_cpu_second", span_rate);
    check_goal(c, root, "peak_rss_mib", rss_max);
    check_goal(c, root, "fakes_to_collector_cpu_ratio", ratio_max);
}

static void check_filelog(struct check *c, json_t *root)
{
    const char *at = "results.";
    json_t *r = member(root, "results");
    double line_bytes = number(c, root, "", "setup.line_bytes");
    double lines = number(c, r, at, "lines");
    double bytes = number(c, r, at, "bytes");
    if (lines == 0)
        problem(c, "results.lines: 0");
    derived_is(c, r, at, "bytes", lines * line_bytes, 0, "lines * setup.line_bytes");
    double cpu = number(c, r, at, "collector_cpu_seconds");
    double rate = number(c, r, at, "lines_per_collector_cpu_second");
    derived_is(c, r, at, "lines_per_collector_cpu_second", quotient(lines, cpu), 1,
               "lines / collector_cpu_seconds");
    derived_is(c, r, at, "mb_per_collector_cpu_second", quotient(bytes / 1e6, cpu), 0.05,
               "bytes / 10^6 / collector_cpu_seconds");
    double e2e = number(c, r, at, "end_to_end_seconds");
    derived_is(c, r, at, "end_to_end_lines_per_second", quotient(lines, e2e), 1,
               "lines / end_to_end_seconds");
    derived_is(c, r, at, "end_to_end_mb_per_second", quotient(bytes / 1e6, e2e), 0.05,
               "bytes / 10^6 / end_to_end_seconds");
    double kib = number(c, r, at, "peak_rss_kib");
    double mib = number(c, r, at, "peak_rss_mib");
    derived_is(c, r, at, "peak_rss_mib", kib / 1024, 0.05, "peak_rss_kib / 1024");
    double fakes = number(c, r, at, "fakes_cpu_seconds");
    double ratio = number(c, r, at, "fakes_to_collector_cpu_ratio");
    derived_is(c, r, at, "fakes_to_collector_cpu_ratio", quotient(fakes, cpu), 0.0005,
               "fakes_cpu_seconds / collector_cpu_seconds");
    check_counts(c, r, at, lines);

    const char *pat = "peer.";
    json_t *peer = member(root, "peer");
    string(c, peer, pat, "name");
    string(c, peer, pat, "version");
    count_is(c, peer, pat, "lines", lines, "the lines the collector read");
    count_is(c, peer, pat, "bytes", bytes, "the bytes the collector read");
    double peer_cpu = number(c, peer, pat, "cpu_seconds");
    double peer_rate = number(c, peer, pat, "lines_per_cpu_second");
    derived_is(c, peer, pat, "lines_per_cpu_second", quotient(lines, peer_cpu), 1,
               "lines / cpu_seconds");
    derived_is(c, peer, pat, "collector_to_peer_ratio", quotient(rate, peer_rate), 0.0005,
               "results.lines_per_collector_cpu_second / peer.lines_per_cpu_second");

    check_instructions(c, root, "");
    check_goal(c, root, "peak_rss_mib", mib);
    check_goal(c, root, "fakes_to_collector_cpu_ratio", ratio);
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: otel-benchcheck REPORT.json\n"
                        "Checks that a scripts/bench report is complete and its counts add up.\n");
        return 2;
    }
    json_error_t jerr;
    json_t *root = json_load_file(argv[1], 0, &jerr);
    if (!root) {
        fprintf(stderr, "%s:%d: %s\n", argv[1], jerr.line, jerr.text);
        return 2;
    }
    struct check c = {.file = argv[1]};
    const char *name = string(&c, root, "", "benchmark");
    check_common(&c, root);
    if (!strcmp(name, "otlp-http"))
        check_otlp_http(&c, root);
    else if (!strcmp(name, "filelog"))
        check_filelog(&c, root);
    else if (*name)
        problem(&c, "benchmark: unknown \"%s\" (expected otlp-http or filelog)", name);
    json_decref(root);
    if (c.problems)
        fprintf(stderr, "%s: %d problem%s\n", argv[1], c.problems, c.problems == 1 ? "" : "s");
    return c.problems ? 1 : 0;
}
