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

/* ---- k8s ---- */

static const char *const k8s_lists[] = {"full", "paged_500", "rv0", "rv0_node"};
static const char *const k8s_variants[] = {"cluster", "node", "node_no_replicasets",
                                           "team_pipelines"};
#define K8S_LIST_COUNT (sizeof(k8s_lists) / sizeof(k8s_lists[0]))
#define K8S_VARIANT_COUNT (sizeof(k8s_variants) / sizeof(k8s_variants[0]))
#define K8S_PAGE 500 /* the paged list's limit */

static double median_of(json_t *values)
{
    size_t n = json_array_size(values);
    double v[1024];
    if (n == 0 || n > sizeof(v) / sizeof(v[0]))
        return NAN;
    for (size_t i = 0; i < n; i++) {
        double x = json_number_value(json_array_get(values, i));
        size_t k = i;
        while (k > 0 && v[k - 1] > x) { /* insertion sort: a few repetitions */
            v[k] = v[k - 1];
            k--;
        }
        v[k] = x;
    }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One timed list of the fake: what it returned, and its figures from its repetitions. Returns
 * its body bytes. */
static double check_k8s_list(struct check *c, json_t *l, const char *where, const char *name,
                             double pods, double on_node, double reps)
{
    if (strcmp(string(c, l, where, "name"), name) != 0)
        problem(c, "%sname: want %s", where, name);
    bool node = !strcmp(name, "rv0_node"), paged = !strcmp(name, "paged_500");
    count_is(c, l, where, "items", node ? on_node : pods,
             node ? "the pods on the filter node" : "every pod");
    count_is(c, l, where, "pages", paged ? ceil(pods / K8S_PAGE) : 1,
             paged ? "pods / 500, rounded up" : "one answer");
    count_is(c, l, where, "repetitions", reps, "setup.repetitions");
    double bytes = number(c, l, where, "bytes");
    double gzip = number(c, l, where, "gzip_bytes");
    if (gzip == 0 || gzip > bytes)
        problem(c, "%sgzip_bytes: %.0f, want more than 0 and at most bytes (%.0f)", where, gzip,
                bytes);
    json_t *ms = member(l, "ms");
    if (!json_is_array(ms) || (double)json_array_size(ms) != reps) {
        problem(c, "%sms: want a list of setup.repetitions times", where);
        return bytes;
    }
    double max = 0;
    size_t i;
    json_t *v;
    json_array_foreach(ms, i, v) max = fmax(max, json_number_value(v));
    double median = number(c, l, where, "median_ms");
    derived_is(c, l, where, "median_ms", median_of(ms), 0.1, "the median of ms");
    derived_is(c, l, where, "max_ms", max, 0.05, "the largest of ms");
    if (number(c, l, where, "first_byte_median_ms") > median + 0.1)
        problem(c, "%sfirst_byte_median_ms: after median_ms (a first byte comes before the last)",
                where);
    double cpu = number(c, l, where, "fake_cpu_seconds");
    derived_is(c, l, where, "fake_cpu_ms_per_list", cpu * 1000 / reps, 0.05,
               "fake_cpu_seconds * 1000 / repetitions");
    return bytes;
}

/* A collector run against the empty (`pods` 0) or the full cluster: its self-metrics and calls
 * count exactly what its informers had to see. */
static void check_k8s_run(struct check *c, json_t *run, const char *where, double pods,
                          double replicasets, double pipelines, bool rs_informer)
{
    number(c, run, where, "rss_kib");
    if (number(c, run, where, "peak_rss_kib") < json_number_value(member(run, "rss_kib")))
        problem(c, "%speak_rss_kib: below rss_kib", where);
    number(c, run, where, "cpu_seconds");
    number(c, run, where, "sync_seconds");
    count_is(c, run, where, "pod_added", pods * pipelines, "the pods expected, per pipeline");
    double table = number(c, run, where, "pod_table_size");
    if (pods == 0 ? table != 0 : (table < pods || fmod(table, pods) != 0))
        problem(c, "%spod_table_size: %.0f, want a multiple of the %.0f pods (keys per pod)", where,
                table, pods);
    count_is(c, run, where, "replicaset_added", rs_informer ? replicasets * pipelines : 0,
             rs_informer ? "every ReplicaSet, per pipeline" : "no ReplicaSet informer");
    count_is(c, run, where, "exit_after_sigterm", 0, "a graceful shutdown");

    char at[128];
    snprintf(at, sizeof(at), "%straffic.", where);
    json_t *t = member(run, "traffic");
    count_is(c, t, at, "failed", 0, "no call refused");
    double requests = number(c, t, at, "requests");
    if (requests == 0)
        problem(c, "%srequests: 0", at);
    count_is(c, t, at, "requests",
             number(c, t, at, "lists") + number(c, t, at, "watches") + number(c, t, at, "other"),
             "lists + watches + other");
    double bytes = 0;
    const char *key;
    json_t *r;
    json_object_foreach(member(t, "by_resource"), key, r)
    {
        bytes += json_number_value(member(r, "bytes"));
    }
    count_is(c, t, at, "bytes", bytes, "the sum of by_resource");
    double informers = rs_informer ? 2 : 1;
    count_is(c, t, at, "lists", informers * pipelines, "one per informer");
    count_is(c, t, at, "by_resource.pods.lists", pipelines, "one per pod informer");
    if (number(c, t, at, "by_resource.pods.watches") < pipelines)
        problem(c, "%sby_resource.pods.watches: want one per pod informer at least", at);
    if (rs_informer) {
        count_is(c, t, at, "by_resource.replicasets.lists", pipelines,
                 "one per ReplicaSet informer");
        if (number(c, t, at, "by_resource.replicasets.watches") < pipelines)
            problem(c, "%sby_resource.replicasets.watches: want one per informer at least", at);
    } else if (member(t, "by_resource.replicasets")) {
        problem(c, "%sby_resource.replicasets: want none (no ReplicaSet informer)", at);
    }
}

/* The `k8s` report: the generated cluster, the fake's timed lists, the fake's instructions and
 * the collector's variants against the empty and the full cluster. The collector's list of pods
 * must have been answered with exactly the bytes of the fake's timed list of the same pods (the
 * same request but for `limit`, which resourceVersion=0 ignores): its traffic is counted, not
 * estimated. */
static void check_k8s(struct check *c, json_t *root)
{
    const char *at = "setup.cluster.";
    json_t *cluster = member(root, "setup.cluster");
    double pods = number(c, cluster, at, "pods");
    double nodes = number(c, cluster, at, "nodes");
    double replicasets = number(c, cluster, at, "replicasets");
    double on_node = number(c, cluster, at, "pods_on_filter_node");
    number(c, cluster, at, "deployments");
    number(c, cluster, at, "pod_bytes");
    string(c, cluster, at, "filter_node");
    if (pods == 0 || nodes == 0 || replicasets == 0)
        problem(c, "setup.cluster: pods, nodes and replicasets must be positive");
    count_is(c, cluster, at, "pods_on_filter_node", ceil(pods / nodes),
             "pods / nodes rounded up (pods go to the nodes in turn, the first node first)");
    double reps = number(c, root, "", "setup.repetitions");

    json_t *lists = member(root, "fake_lists");
    double list_bytes[K8S_LIST_COUNT] = {0}, full_median = NAN;
    if (!json_is_array(lists) || json_array_size(lists) != K8S_LIST_COUNT) {
        problem(c, "fake_lists: want a list of %zu (full, paged_500, rv0, rv0_node)",
                K8S_LIST_COUNT);
    } else {
        for (size_t i = 0; i < K8S_LIST_COUNT; i++) {
            char where[32];
            snprintf(where, sizeof(where), "fake_lists[%zu].", i);
            json_t *l = json_array_get(lists, i);
            list_bytes[i] = check_k8s_list(c, l, where, k8s_lists[i], pods, on_node, reps);
        }
        full_median = json_number_value(member(json_array_get(lists, 0), "median_ms"));
        if (list_bytes[0] != list_bytes[2])
            problem(c, "fake_lists[2].bytes: %.0f, want %.0f (the same pods as fake_lists[0])",
                    list_bytes[2], list_bytes[0]);
    }

    const char *iat = "instructions.";
    json_t *in = member(root, "instructions");
    double n = number(c, in, iat, "lists");
    double ir = number(c, in, iat, "fakes_instructions");
    count_is(c, in, iat, "pods_per_list", pods, "setup.cluster.pods");
    if (n == 0 || ir == 0)
        problem(c, "instructions: lists and fakes_instructions must be positive");
    derived_is(c, in, iat, "fakes_instructions_per_list", quotient(ir, n), 0.5,
               "fakes_instructions / lists");
    derived_is(c, in, iat, "fakes_instructions_per_pod", quotient(ir, n * pods), 0.5,
               "fakes_instructions / lists / pods_per_list");

    json_t *variants = member(root, "collector");
    if (!json_is_array(variants) || json_array_size(variants) != K8S_VARIANT_COUNT) {
        problem(c, "collector: want a list of %zu variants", K8S_VARIANT_COUNT);
        variants = NULL;
    }
    for (size_t i = 0; variants && i < K8S_VARIANT_COUNT; i++) {
        char where[32], run_at[48];
        snprintf(where, sizeof(where), "collector[%zu].", i);
        json_t *v = json_array_get(variants, i);
        const char *name = k8s_variants[i];
        if (strcmp(string(c, v, where, "variant"), name) != 0)
            problem(c, "%svariant: want %s", where, name);
        double pipelines = number(c, v, where, "pipelines");
        count_is(c, v, where, "pipelines", !strcmp(name, "team_pipelines") ? 3 : 1,
                 "configs/daemonset.yaml's pipelines, or one");
        bool node = boolean(c, v, where, "node_filter");
        bool no_rs = boolean(c, v, where, "deployment_name_from_replicaset");
        double expected = node ? on_node : pods;
        count_is(c, v, where, "expected_pods", expected,
                 node ? "the pods on the filter node" : "every pod");
        snprintf(run_at, sizeof(run_at), "%sempty.", where);
        check_k8s_run(c, member(v, "empty"), run_at, 0, 0, pipelines, !no_rs);
        snprintf(run_at, sizeof(run_at), "%sfull.", where);
        json_t *full = member(v, "full");
        check_k8s_run(c, full, run_at, expected, replicasets, pipelines, !no_rs);
        if (json_is_array(lists) && json_array_size(lists) == K8S_LIST_COUNT)
            count_is(c, full, run_at, "traffic.by_resource.pods.bytes",
                     pipelines * list_bytes[node ? 3 : 2],
                     node ? "pipelines x fake_lists[3].bytes (the same list)"
                          : "pipelines x fake_lists[2].bytes (the same list)");

        double cache = json_number_value(member(full, "rss_kib")) -
                       json_number_value(member(v, "empty.rss_kib"));
        count_is(c, v, where, "pod_cache_rss_kib", cache, "full.rss_kib - empty.rss_kib");
        derived_is(c, v, where, "pod_cache_rss_mib", cache / 1024, 0.05,
                   "pod_cache_rss_kib / 1024");
        count_is(c, v, where, "pod_cache_peak_rss_kib",
                 json_number_value(member(full, "peak_rss_kib")) -
                     json_number_value(member(v, "empty.peak_rss_kib")),
                 "full.peak_rss_kib - empty.peak_rss_kib");
        double requests = json_number_value(member(full, "traffic.requests"));
        double bytes = json_number_value(member(full, "traffic.bytes"));
        count_is(c, v, where, "per_node.requests", requests, "full.traffic.requests");
        count_is(c, v, where, "per_node.bytes", bytes, "full.traffic.bytes");
        count_is(c, v, where, "per_node.pod_cache_rss_kib", cache, "pod_cache_rss_kib");
        count_is(c, v, where, "daemonset.nodes", nodes, "setup.cluster.nodes");
        count_is(c, v, where, "daemonset.requests", requests * nodes, "per node x nodes");
        count_is(c, v, where, "daemonset.bytes", bytes * nodes, "per node x nodes");
        count_is(c, v, where, "daemonset.pod_cache_rss_kib", cache * nodes, "per node x nodes");
    }
    check_goal(c, root, "fake_list_ms", full_median);
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
    else if (!strcmp(name, "k8s"))
        check_k8s(&c, root);
    else if (*name)
        problem(&c, "benchmark: unknown \"%s\" (expected otlp-http, filelog or k8s)", name);
    json_decref(root);
    if (c.problems)
        fprintf(stderr, "%s: %d problem%s\n", argv[1], c.problems, c.problems == 1 ? "" : "s");
    return c.problems ? 1 : 0;
}
