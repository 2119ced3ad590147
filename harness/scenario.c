/*
 * scenario.c - loading and checking scenario files: the top level (see scenario.h for the
 * format's purpose).
 *
 * Here: the document's keys, the collector config (or the subset of it that `pipelines` runs),
 * endpoints, env, --set overrides, the fakes' options, the step lists with the rules between
 * steps (what before_start may hold, stop/start ordering), expect and finding. What a step of
 * each kind means is its kind's business (steps.h): this file finds the kind in the table by its
 * key, checks the body against the kind's field table and hands it to the kind's load. The lists
 * of kinds in messages are built from that table.
 *
 * Every mapping is checked against a field table (scenario_loader.h), so unknown keys, wrong
 * types and missing keys produce the same kind of message everywhere, with the line from
 * yamljson's side table. Rules that span fields (a config-error scenario has no steps) are
 * checked by hand after.
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_subset.h"
#include "k8s_calls.h"
#include "promtext.h"
#include "scenario_loader.h"
#include "steps.h"
#include "yamljson.h"

#define DEFAULT_STARTUP_TIMEOUT_MS 60000

/* ---- fakes and their countable things ---- */

static const char *const fake_names[FAKE_COUNT] = {"prometheus", "loki", "tempo"};

const char *scenario_fake_name(enum fake_id fake)
{
    return (unsigned)fake < FAKE_COUNT ? fake_names[fake] : "?";
}

int scenario_fake_parse(const char *name, enum fake_id *out)
{
    for (int i = 0; i < FAKE_COUNT; i++) {
        if (!strcmp(name, fake_names[i])) {
            *out = (enum fake_id)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* What a scenario may count on a fake: the control API's /v1/stats counters (all fakes) and
 * counts read from the backend view (per fake). `stat` is the name the runner looks up. */
static const struct count_key {
    int fake; /* -1 = every fake */
    const char *key;
    const char *stat;
} count_keys[] = {
    {-1, "requests", "requests"},
    {-1, "accepted_requests", "accepted_requests"},
    {-1, "rejected_requests", "rejected_requests"},
    {-1, "items", "items"},
    {FAKE_PROMETHEUS, "series", "series"},
    {FAKE_PROMETHEUS, "samples", "samples"},
    {FAKE_LOKI, "streams", "streams"},
    {FAKE_LOKI, "records", "records"},
    {FAKE_LOKI, "entries", "records"},
    {FAKE_TEMPO, "traces", "traces"},
    {FAKE_TEMPO, "spans", "spans"},
};

const char *scenario_fake_stat(enum fake_id fake, const char *key)
{
    for (size_t i = 0; i < sizeof(count_keys) / sizeof(count_keys[0]); i++)
        if ((count_keys[i].fake < 0 || count_keys[i].fake == (int)fake) &&
            !strcmp(count_keys[i].key, key))
            return count_keys[i].stat;
    return NULL;
}

void scenario_fake_count_keys(enum fake_id fake, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(count_keys) / sizeof(count_keys[0]) && n < size; i++)
        if (count_keys[i].fake < 0 || count_keys[i].fake == (int)fake)
            n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", count_keys[i].key);
}

/* ---- the collector config ---- */

static const char *component_type(const char *id, char *buf, size_t size)
{
    size_t n = strcspn(id, "/");
    snprintf(buf, size, "%.*s", (int)n, id);
    return buf;
}

size_t scenario_otlp_receivers(const json_t *config, const char **ids, bool *has_http,
                               bool *has_grpc, size_t max)
{
    const json_t *receivers = json_object_get(config, "receivers");
    size_t n = 0;
    const char *id;
    json_t *rc;
    char type[128];
    json_object_foreach((json_t *)receivers, id, rc)
    {
        if (n >= max || strcmp(component_type(id, type, sizeof(type)), "otlp") != 0)
            continue;
        const json_t *protocols = json_object_get(rc, "protocols");
        ids[n] = id;
        /* `http:` with no value (null) still enables the protocol, as upstream's optional
         * sections work. */
        has_http[n] = json_object_get(protocols, "http") != NULL;
        has_grpc[n] = json_object_get(protocols, "grpc") != NULL;
        n++;
    }
    return n;
}

static bool is_otlp_http_exporter(const char *type)
{
    return !strcmp(type, "otlphttp") || !strcmp(type, "otlp_http");
}

static bool is_otlp_grpc_exporter(const char *type)
{
    return !strcmp(type, "otlp") || !strcmp(type, "otlp_grpc");
}

static int load_config(struct loader *l, const json_t *doc)
{
    struct scenario *s = l->s;
    int line = loader_line_of_key(l, doc, "config", 0);
    s->config_label = loader_get_string(doc, "config");
    int rc = loader_resolve(l, s->config_path, sizeof(s->config_path), s->root, s->config_label,
                            line, "config");
    if (rc < 0)
        return rc;
    struct error yerr;
    if (yamljson_load_file(s->config_path, &s->config, NULL, &yerr) < 0)
        return loader_fail(l, line, "config", "%s", yerr.message);
    if (!json_is_object(s->config))
        return loader_fail(l, line, "config", "%s is not a mapping", s->config_label);
    const json_t *pipelines = json_object_get(doc, "pipelines");
    if (!pipelines)
        return 0;
    json_t *effective = NULL;
    struct error serr;
    int pline = loader_line_of_key(l, doc, "pipelines", line);
    if (config_subset_apply(s->config, pipelines, &effective, &s->left_out, &serr) < 0)
        return serr.code == -ENOMEM
                   ? error_set(l->err, -ENOMEM, ERROR_PERMANENT, "out of memory")
                   : loader_fail(l, pline, "", "%s (config %s)", serr.message, s->config_label);
    s->config_full = s->config;
    s->config = effective;
    return 0;
}

static int load_endpoints(struct loader *l, const json_t *doc)
{
    struct scenario *s = l->s;
    const json_t *map = json_object_get(doc, "endpoints");
    const json_t *exporters = json_object_get(s->config, "exporters");
    int line = loader_line_of_key(l, doc, "endpoints", loader_line_of_node(l, doc, 1));
    char type[128], path[512];
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)map, key, value)
    {
        snprintf(path, sizeof(path), "endpoints.%s", key);
        int kline = loader_line_of_key(l, map, key, line);
        enum fake_id fake;
        if (!json_is_string(value) || scenario_fake_parse(json_string_value(value), &fake) < 0)
            return loader_fail(l, kline, path,
                               "expected the fake it sends to: prometheus, loki or tempo");
        if (!json_object_get(exporters, key))
            return loader_fail(l, kline, path, "%s has no exporter \"%s\"", s->config_label, key);
        component_type(key, type, sizeof(type));
        bool grpc = is_otlp_grpc_exporter(type);
        /* Only Tempo takes OTLP over gRPC (pipeline.md §9); Prometheus and Loki take OTLP/HTTP
         * only, so a gRPC exporter pointed at them is a config that cannot work. */
        if (grpc && fake != FAKE_TEMPO)
            return loader_fail(
                l, kline, path,
                "%s has no OTLP/gRPC endpoint (only tempo has one): point an otlp_http "
                "exporter at it instead",
                json_string_value(value));
        if (!grpc && !is_otlp_http_exporter(type))
            return loader_fail(l, kline, path,
                               "exporter type \"%s\" has no endpoint the harness can "
                               "set (only otlphttp/otlp_http, and otlp/otlp_grpc for tempo)",
                               type);
        if (s->endpoint_count >= SCENARIO_MAX_ITEMS)
            return loader_fail(l, kline, path, "too many endpoints (at most %d)",
                               SCENARIO_MAX_ITEMS);
        s->endpoints[s->endpoint_count].exporter = key;
        s->endpoints[s->endpoint_count].fake = fake;
        s->endpoints[s->endpoint_count].grpc = grpc;
        s->endpoint_count++;
    }
    /* An exporter the scenario does not redirect would send to the config's real backend. */
    json_object_foreach((json_t *)exporters, key, value)
    {
        component_type(key, type, sizeof(type));
        if (!is_otlp_http_exporter(type) && !is_otlp_grpc_exporter(type))
            continue;
        if (!json_object_get(map, key))
            return loader_fail(l, line, "endpoints",
                               "exporter \"%s\" of %s has no entry: say which fake it sends to "
                               "(e.g. endpoints: {%s: loki})",
                               key, s->config_label, key);
    }
    return 0;
}

/* ---- top-level small sections ---- */

static int load_env(struct loader *l, const json_t *doc)
{
    struct scenario *s = l->s;
    const json_t *env = json_object_get(doc, "env");
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)env, key, value)
    {
        char path[256], text[64];
        snprintf(path, sizeof(path), "env.%s", key);
        int line = loader_line_of_key(l, env, key, 0);
        const char *v;
        if (json_is_string(value)) {
            v = json_string_value(value);
        } else if (json_is_integer(value)) {
            snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
            v = text;
        } else if (json_is_boolean(value)) {
            v = json_is_true(value) ? "true" : "false";
        } else {
            return loader_fail(l, line, path, "expected a string, got %s", loader_type_name(value));
        }
        if (s->env_count >= SCENARIO_MAX_ITEMS)
            return loader_fail(l, line, path, "too many variables (at most %d)",
                               SCENARIO_MAX_ITEMS);
        size_t n = strlen(key) + strlen(v) + 2;
        char *entry = malloc(n);
        if (!entry)
            return error_set(l->err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        snprintf(entry, n, "%s=%s", key, v);
        s->env[s->env_count++] = entry;
    }
    return 0;
}

static int load_sets(struct loader *l, const json_t *doc)
{
    struct scenario *s = l->s;
    const json_t *list = json_object_get(doc, "set");
    if (!list)
        return 0;
    int rc = loader_string_list(l, list, "set", s->sets, &s->set_count,
                                "upstream --set overrides such as \"processors.batch.timeout=1h\"");
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < s->set_count; i++) {
        const char *eq = strchr(s->sets[i], '=');
        if (!eq || eq == s->sets[i]) {
            char sub[64];
            snprintf(sub, sizeof(sub), "set[%zu]", i);
            return loader_fail(l, loader_line_of_index(l, list, i, 0), sub,
                               "expected key=value (a dotted config path, a value parsed as YAML)");
        }
    }
    return 0;
}

static const struct field fakes_fields[] = {
    {"loki_auth_enabled", FIELD_BOOL, false,
     "true to make Loki require X-Scope-OrgID (401 without)"},
    {"prometheus_otlp_disabled", FIELD_BOOL, false,
     "true to answer like Prometheus without --web.enable-otlp-receiver (404)"},
    {NULL, 0, false, NULL},
};

static int load_fakes_options(struct loader *l, const json_t *doc)
{
    const json_t *fakes = json_object_get(doc, "fakes");
    if (!fakes)
        return 0;
    int rc = loader_check_fields(l, fakes, loader_line_of_key(l, doc, "fakes", 0), "fakes",
                                 fakes_fields);
    if (rc < 0)
        return rc;
    l->s->loki_auth_enabled = loader_get_bool(fakes, "loki_auth_enabled", false);
    l->s->prometheus_otlp_disabled = loader_get_bool(fakes, "prometheus_otlp_disabled", false);
    return 0;
}

/* ---- steps ---- */

static bool any_kind(const struct step_kind_desc *d)
{
    return true;
}

static bool kind_before_start(const struct step_kind_desc *d)
{
    return d->before_start;
}

/* What may run until a start: a start itself ends the stop, it does not run during it. */
static bool kind_while_stopped(const struct step_kind_desc *d)
{
    return d->while_stopped && d->collector != STEP_COLLECTOR_STARTS;
}

/* The names of the step kinds `keep` accepts, in table order, joined with ", " and with
 * `last_separator` before the last: "otlp, fault, wait, restart, stop, start or pod_log". */
static void kind_names(char *buf, size_t size, const char *last_separator,
                       bool (*keep)(const struct step_kind_desc *))
{
    size_t total = 0, done = 0, n = 0;
    for (size_t i = 0; steps_registry[i]; i++)
        total += keep(steps_registry[i]);
    buf[0] = '\0';
    for (size_t i = 0; steps_registry[i] && n < size; i++) {
        if (!keep(steps_registry[i]))
            continue;
        const char *separator = done == 0 ? "" : done + 1 == total ? last_separator : ", ";
        n += (size_t)snprintf(buf + n, size - n, "%s%s", separator, steps_registry[i]->name);
        done++;
    }
}

/* A stop leaves the collector down until a start: waits and sends in between would only see it
 * gone, and a scenario that ends with it stopped could not be checked. */
static int check_stop_start(struct loader *l, const struct step *steps, size_t count)
{
    bool stopped = false;
    for (size_t i = 0; i < count; i++) {
        const struct step *st = &steps[i];
        const struct step_kind_desc *d = st->desc;
        char path[64];
        snprintf(path, sizeof(path), "steps[%zu]", i);
        if (d->collector == STEP_COLLECTOR_STOPS && stopped)
            return loader_fail(l, st->line, path,
                               "the collector is already stopped (start it first)");
        if (d->collector == STEP_COLLECTOR_STARTS && !stopped)
            return loader_fail(l, st->line, path, "%s needs a stop before it", d->name);
        if (stopped && !kind_while_stopped(d) && d->collector != STEP_COLLECTOR_STARTS) {
            char kinds[128];
            kind_names(kinds, sizeof(kinds), " and ", kind_while_stopped);
            return loader_fail(l, st->line, path,
                               "the collector is stopped here: only %s steps can run until start",
                               kinds);
        }
        if (d->collector == STEP_COLLECTOR_STOPS)
            stopped = true;
        else if (d->collector == STEP_COLLECTOR_STARTS)
            stopped = false;
    }
    if (stopped)
        return loader_fail(l, 0, "steps", "the collector is stopped at the end: add a start step");
    return 0;
}

/* Checks a step's body against its kind's field table, allocates the kind's data (zeroed; freed
 * by scenario_free, as the step is already counted) and loads it. A bare kind's null body
 * (`- restart:` alone) is loaded as an empty mapping, the defaults. */
static int load_step(struct loader *l, struct step *st, const json_t *body, const char *path,
                     int line)
{
    const struct step_kind_desc *d = st->desc;
    json_t *empty = NULL;
    int rc;
    if (d->bare && json_is_null(body)) {
        if (!(body = empty = json_object()))
            return error_set(l->err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    if (d->fields && (rc = loader_check_fields(l, body, line, path, d->fields)) < 0)
        goto done;
    if (d->data_size && !(st->data = calloc(1, d->data_size))) {
        rc = error_set(l->err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto done;
    }
    rc = d->load(l, st, body, path, line);
done:
    json_decref(empty);
    return rc;
}

/* Loads `steps` (or `before_start`, where only kinds marked before_start are allowed: they run
 * before the collector starts, so nothing else has anything to act on). A step is counted before
 * it loads, so scenario_free releases its data and what a failed load had allocated in it. */
static int load_step_list(struct loader *l, const json_t *doc, const char *name, struct step *out,
                          size_t *count, size_t max, bool before_start)
{
    const json_t *steps = json_object_get(doc, name);
    if (!steps)
        return 0;
    int line = loader_line_of_key(l, doc, name, 0);
    if (!json_is_array(steps))
        return loader_fail(l, line, name, "expected a list of steps, got %s",
                           loader_type_name(steps));
    char kinds[256];
    for (size_t i = 0; i < json_array_size(steps); i++) {
        char path[64];
        snprintf(path, sizeof(path), "%s[%zu]", name, i);
        const json_t *item = json_array_get(steps, i);
        int iline = loader_line_of_index(l, steps, i, line);
        if (i >= max)
            return loader_fail(l, iline, path, "too many steps (at most %zu)", max);
        if (!json_is_object(item) || json_object_size(item) != 1) {
            kind_names(kinds, sizeof(kinds), " or ", before_start ? kind_before_start : any_kind);
            return loader_fail(
                l, iline, path,
                before_start ? "expected a %s step" : "expected a mapping with one key: %s", kinds);
        }
        const char *kind = json_object_iter_key(json_object_iter((json_t *)item));
        const json_t *body = json_object_get(item, kind);
        int kline = loader_line_of_key(l, item, kind, iline);
        const struct step_kind_desc *d = steps_find(kind);
        if (!d) {
            kind_names(kinds, sizeof(kinds), ", ", any_kind);
            return loader_fail(
                l, kline, path, "unknown step \"%s\" (expected one of: %s%s)", kind, kinds,
                !strcmp(kind, "sleep") ? "; there is no sleep: wait for a condition" : "");
        }
        if (before_start && !d->before_start) {
            kind_names(kinds, sizeof(kinds), " and ", kind_before_start);
            return loader_fail(l, kline, path,
                               "before_start holds %s steps only (the files that exist when the "
                               "collector starts); put %s under steps",
                               kinds, kind);
        }
        struct step *st = &out[(*count)++];
        st->desc = d;
        st->line = kline;
        char sub[96];
        snprintf(sub, sizeof(sub), "%s.%s", path, kind);
        int rc = load_step(l, st, body, sub, kline);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int load_steps(struct loader *l, const json_t *doc)
{
    struct scenario *s = l->s;
    int rc = load_step_list(l, doc, "before_start", s->pre_steps, &s->pre_step_count,
                            SCENARIO_MAX_PRE_STEPS, true);
    if (rc == 0)
        rc = load_step_list(l, doc, "steps", s->steps, &s->step_count, SCENARIO_MAX_STEPS, false);
    if (rc == 0)
        rc = check_stop_start(l, s->steps, s->step_count);
    return rc;
}

/* The kinds' checks against the whole scenario, once it has loaded. */
static int check_steps(struct loader *l)
{
    struct scenario *s = l->s;
    for (size_t i = 0; i < s->pre_step_count + s->step_count; i++) {
        bool pre = i < s->pre_step_count;
        const struct step *st = pre ? &s->pre_steps[i] : &s->steps[i - s->pre_step_count];
        if (!st->desc->check)
            continue;
        char path[96];
        snprintf(path, sizeof(path), "%s[%zu].%s", pre ? "before_start" : "steps",
                 pre ? i : i - s->pre_step_count, st->desc->name);
        int rc = st->desc->check(l, st, path);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- expect ---- */

static const struct field expect_fields[] = {
    {"golden", FIELD_LIST, false,
     "a list of views: prometheus, loki, tempo, requests/<fake>, "
     "otlp/<fake>"},
    {"collector", FIELD_MAP, false,
     "self-metric selectors and values, e.g. "
     "{otelcol_exporter_sent_log_records: 3}"},
    {"fakes", FIELD_MAP, false, "counts per fake, e.g. {loki: {records: 3, requests: 1}}"},
    {"exit_code", FIELD_INT | FIELD_MAP, false, "the collector's exit code, or {code, message}"},
    {"collector_log", FIELD_MAP, false, "{contains: [...], absent: [...]}"},
    {"lines", FIELD_MAP, false,
     "counts of numbered pod log lines, e.g. {lost: 0, duplicated: 0, files: {ns/pod/c: "
     "{lost: 15}}}"},
    {"kubernetes", FIELD_MAP, false,
     "what the identities asked the Kubernetes API, e.g. {denied: 0} (plus the golden "
     "kubernetes-calls.json)"},
    {NULL, 0, false, NULL},
};

static const struct field exit_fields[] = {
    {"code", FIELD_INT, true, "the exit code, e.g. 1"},
    {"message", FIELD_STR, false, "a substring the collector's output must contain"},
    {NULL, 0, false, NULL},
};

static const struct field log_fields[] = {
    {"contains", FIELD_LIST, false, "substrings the collector's log must contain"},
    {"absent", FIELD_LIST, false, "substrings the collector's log must not contain"},
    {NULL, 0, false, NULL},
};

static int check_view_name(const char *view)
{
    enum fake_id fake;
    if (scenario_fake_parse(view, &fake) == 0)
        return 0;
    if (!strncmp(view, "requests/", 9))
        return scenario_fake_parse(view + 9, &fake);
    if (!strncmp(view, "otlp/", 5))
        return scenario_fake_parse(view + 5, &fake);
    return -EINVAL;
}

static int load_expect(struct loader *l, const json_t *doc)
{
    struct scenario *s = l->s;
    const json_t *ex = json_object_get(doc, "expect");
    int line = loader_line_of_key(l, doc, "expect", 0);
    int rc = loader_check_fields(l, ex, line, "expect", expect_fields);
    if (rc < 0)
        return rc;
    line = loader_line_of_node(l, ex, line);
    const json_t *golden = json_object_get(ex, "golden");
    if (golden) {
        if ((rc = loader_string_list(l, golden, "expect.golden", s->golden, &s->golden_count,
                                     "a view name")) < 0)
            return rc;
        for (size_t i = 0; i < s->golden_count; i++) {
            if (check_view_name(s->golden[i]) == 0)
                continue;
            char sub[64];
            snprintf(sub, sizeof(sub), "expect.golden[%zu]", i);
            if (!strcmp(s->golden[i], K8S_CALLS_VIEW))
                return loader_fail(l, loader_line_of_index(l, golden, i, line), sub,
                                   "%s is implied by expect.kubernetes; leave it out here",
                                   K8S_CALLS_VIEW);
            return loader_fail(
                l, loader_line_of_index(l, golden, i, line), sub,
                "unknown view \"%s\" (expected prometheus, loki, tempo, requests/<fake> "
                "or otlp/<fake>)",
                s->golden[i]);
        }
    }
    const json_t *collector = json_object_get(ex, "collector");
    if (collector &&
        (rc = loader_collector_counts(l, collector, "expect.collector",
                                      loader_line_of_key(l, ex, "collector", line), COND_EQ,
                                      s->expect_counts, &s->expect_count)) < 0)
        return rc;
    const json_t *fakes = json_object_get(ex, "fakes");
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)fakes, key, value)
    {
        char sub[128];
        snprintf(sub, sizeof(sub), "expect.fakes.%s", key);
        int kline = loader_line_of_key(l, fakes, key, line);
        enum fake_id fake;
        if (scenario_fake_parse(key, &fake) < 0)
            return loader_fail(l, kline, "expect.fakes",
                               "unknown fake \"%s\" (expected one of: "
                               "prometheus, loki, tempo)",
                               key);
        if ((rc = loader_fake_counts(l, fake, value, sub, kline, COND_EQ, s->expect_counts,
                                     &s->expect_count)) < 0)
            return rc;
    }
    const json_t *lines = json_object_get(ex, "lines");
    if (lines && (rc = loader_lines_checks(l, lines, "expect.lines",
                                           loader_line_of_key(l, ex, "lines", line), COND_EQ,
                                           s->expect_lines, &s->expect_lines_count)) < 0)
        return rc;
    const json_t *kubernetes = json_object_get(ex, "kubernetes");
    if (kubernetes && (rc = k8s_scenario_load_expect(
                           l, kubernetes, loader_line_of_key(l, ex, "kubernetes", line))) < 0)
        return rc;
    const json_t *exit_code = json_object_get(ex, "exit_code");
    if (exit_code) {
        s->has_exit_code = true;
        if (json_is_object(exit_code)) {
            if ((rc =
                     loader_check_fields(l, exit_code, loader_line_of_key(l, ex, "exit_code", line),
                                         "expect.exit_code", exit_fields)) < 0)
                return rc;
            s->exit_code = (int)json_integer_value(json_object_get(exit_code, "code"));
            s->exit_message = loader_get_string(exit_code, "message");
        } else {
            s->exit_code = (int)json_integer_value(exit_code);
        }
        const char *conflict = golden       ? "golden"
                               : collector  ? "collector"
                               : lines      ? "lines"
                               : kubernetes ? "kubernetes"
                                            : NULL;
        if (conflict)
            return loader_fail(
                l, loader_line_of_key(l, ex, conflict, line), "expect",
                "%s cannot be checked when the collector is expected to exit (exit_code)",
                conflict);
        if (s->step_count || s->pre_step_count)
            return loader_fail(
                l, loader_line_of_key(l, doc, s->step_count ? "steps" : "before_start", line),
                s->step_count ? "steps" : "before_start",
                "a scenario that expects the collector to exit (exit_code) has no steps");
    }
    const json_t *log = json_object_get(ex, "collector_log");
    if (log) {
        int lline = loader_line_of_key(l, ex, "collector_log", line);
        if ((rc = loader_check_fields(l, log, lline, "expect.collector_log", log_fields)) < 0)
            return rc;
        const json_t *contains = json_object_get(log, "contains");
        const json_t *absent = json_object_get(log, "absent");
        if (contains &&
            (rc = loader_string_list(l, contains, "expect.collector_log.contains", s->log_contains,
                                     &s->log_contains_count, "a substring")) < 0)
            return rc;
        if (absent &&
            (rc = loader_string_list(l, absent, "expect.collector_log.absent", s->log_absent,
                                     &s->log_absent_count, "a substring")) < 0)
            return rc;
    }
    if (!s->golden_count && !s->expect_count && !s->has_exit_code && !log &&
        !s->expect_lines_count && !kubernetes)
        return loader_fail(l, line, "expect",
                           "nothing to verify (expected golden, collector, fakes, "
                           "exit_code, collector_log, lines or kubernetes)");
    return 0;
}

/* ---- finding ---- */

static const struct field finding_fields[] = {
    {"text", FIELD_STR, true, "one sentence: what the scenario shows and why it matters"},
    {"evidence", FIELD_LIST, false,
     "counts to quote: <fake>.<count>, collector.<metric selector>, lines.<count> or "
     "kubernetes.<count>"},
    {NULL, 0, false, NULL},
};

static int load_finding(struct loader *l, const json_t *doc)
{
    struct scenario *s = l->s;
    const json_t *f = json_object_get(doc, "finding");
    if (!f)
        return 0;
    int line = loader_line_of_key(l, doc, "finding", 0);
    if (json_is_string(f)) {
        s->finding = json_string_value(f);
        return 0;
    }
    int rc = loader_check_fields(l, f, line, "finding", finding_fields);
    if (rc < 0)
        return rc;
    s->finding = loader_get_string(f, "text");
    const json_t *evidence = json_object_get(f, "evidence");
    if (!evidence)
        return 0;
    if ((rc = loader_string_list(l, evidence, "finding.evidence", s->evidence, &s->evidence_count,
                                 "a count such as loki.requests or collector.<metric>")) < 0)
        return rc;
    for (size_t i = 0; i < s->evidence_count; i++) {
        const char *e = s->evidence[i];
        const char *dot = strchr(e, '.');
        char sub[64], why[200], fake[32];
        snprintf(sub, sizeof(sub), "finding.evidence[%zu]", i);
        int eline = loader_line_of_index(l, evidence, i, line);
        if (!dot || dot == e || (size_t)(dot - e) >= sizeof(fake))
            return loader_fail(l, eline, sub,
                               "expected <fake>.<count> or collector.<metric>, got \"%s\"", e);
        snprintf(fake, sizeof(fake), "%.*s", (int)(dot - e), e);
        enum fake_id id;
        enum lines_measure measure;
        if (!strcmp(fake, "collector")) {
            if (promtext_check_selector(dot + 1, why, sizeof(why)) < 0)
                return loader_fail(l, eline, sub, "%s", why);
        } else if (!strcmp(fake, "kubernetes")) {
            if (strcmp(dot + 1, "denied") != 0 && strcmp(dot + 1, "calls") != 0 &&
                strcmp(dot + 1, "unused_grants") != 0)
                return loader_fail(l, eline, sub,
                                   "unknown count \"%s\" (kubernetes.calls, kubernetes.denied or "
                                   "kubernetes.unused_grants, of the kubernetes.as identity)",
                                   e);
            if (!s->kubernetes.enabled)
                return loader_fail(l, eline, sub, "%s needs a kubernetes: section", e);
        } else if (!strcmp(fake, "lines")) {
            if (lines_measure_parse(dot + 1, &measure) < 0)
                return loader_fail(
                    l, eline, sub,
                    "unknown count \"%s\" (lines.written, lines.delivered, lines.lost or "
                    "lines.duplicated)",
                    e);
        } else if (scenario_fake_parse(fake, &id) < 0 || !scenario_fake_stat(id, dot + 1)) {
            return loader_fail(l, eline, sub,
                               "unknown count \"%s\" (expected <fake>.<count>, e.g. "
                               "loki.records, or collector.<metric>)",
                               e);
        }
    }
    return 0;
}

/* ---- top level ---- */

static const struct field top_fields[] = {
    {"name", FIELD_STR, true, "the scenario name, equal to the file name without .yaml"},
    {"summary", FIELD_STR, true, "one line saying what the scenario checks"},
    {"config", FIELD_STR, true, "the collector config, e.g. configs/otlp-http-basic.yaml"},
    {"endpoints", FIELD_MAP, false,
     "which fake each exporter sends to, e.g. {otlphttp/loki: loki}"},
    {"fakes", FIELD_MAP, false,
     "options of the fakes: {loki_auth_enabled, prometheus_otlp_disabled}"},
    {"env", FIELD_MAP, false, "environment variables of the collector"},
    {"kubernetes", FIELD_MAP, false,
     "the fake Kubernetes API before the collector starts: {objects: [inputs/k8s/x.yaml], as: "
     "namespace/name, rbac: kind/manifests/rbac.yaml}"},
    {"set", FIELD_LIST, false, "extra --set overrides"},
    {"golden_dir", FIELD_STR, false, "the golden folder, when shared with another scenario"},
    {"startup_timeout", FIELD_STR, false, "how long the collector may take to listen, e.g. 60s"},
    {"finding", FIELD_STR | FIELD_MAP, false, "one sentence, or {text, evidence}"},
    {"pipelines", FIELD_MAP, false,
     "run only these pipelines of the config, with a subset of their components: {logs: "
     "{receivers: [filelog], processors: [batch], exporters: [otlphttp/loki]}}"},
    {"before_start", FIELD_LIST, false, "pod_log steps run before the collector starts"},
    {"steps", FIELD_LIST, false, "the steps"},
    {"expect", FIELD_MAP, true, "what to verify"},
    {NULL, 0, false, NULL},
};

static int derive_dirs(struct loader *l, const char *path, const char *root)
{
    struct scenario *s = l->s;
    char real[PATH_MAX], copy[PATH_MAX];
    if (!realpath(path, real))
        return error_set(l->err, -errno, ERROR_PERMANENT, "%s: %s", path, strerror(errno));
    snprintf(copy, sizeof(copy), "%s", real);
    snprintf(s->scenarios_dir, sizeof(s->scenarios_dir), "%s", dirname(copy));
    if (root) {
        if (!realpath(root, s->root))
            return error_set(l->err, -errno, ERROR_PERMANENT, "%s: %s", root, strerror(errno));
    } else {
        snprintf(copy, sizeof(copy), "%s", s->scenarios_dir);
        snprintf(s->root, sizeof(s->root), "%s", dirname(copy));
    }
    return 0;
}

static int check_name(struct loader *l, const json_t *doc)
{
    struct scenario *s = l->s;
    char copy[PATH_MAX], expected[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", s->path);
    snprintf(expected, sizeof(expected), "%s", basename(copy));
    char *dot = strrchr(expected, '.');
    if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml")))
        *dot = '\0';
    if (strcmp(expected, s->name) != 0)
        return loader_fail(l, loader_line_of_key(l, doc, "name", 0), "name",
                           "\"%s\" does not match the file name (expected \"%s\")", s->name,
                           expected);
    for (const char *p = s->name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return loader_fail(l, loader_line_of_key(l, doc, "name", 0), "name",
                               "use letters, digits, '-' and '_' only (it names folders)");
    return 0;
}

int scenario_load(const char *path, const char *root, struct scenario **out, struct error *err)
{
    struct scenario *s = calloc(1, sizeof(*s));
    struct known_files *known = calloc(1, sizeof(*known));
    struct loader l = {s, err, known};
    int rc;
    *out = NULL;
    if (!s || !known) {
        free(s);
        free(known);
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    snprintf(s->path, sizeof(s->path), "%s", path);
    if ((rc = yamljson_load_file(path, &s->doc, &s->lines, err)) < 0)
        goto fail;
    const json_t *doc = s->doc;
    if ((rc = loader_check_fields(&l, doc, 1, "", top_fields)) < 0)
        goto fail;
    if ((rc = derive_dirs(&l, path, root)) < 0)
        goto fail;
    s->name = loader_get_string(doc, "name");
    s->summary = loader_get_string(doc, "summary");
    s->golden_dir = loader_get_string(doc, "golden_dir");
    if (!s->golden_dir)
        s->golden_dir = s->name;
    if ((rc = check_name(&l, doc)) < 0 || (rc = load_config(&l, doc)) < 0 ||
        (rc = load_endpoints(&l, doc)) < 0 || (rc = load_env(&l, doc)) < 0 ||
        (rc = k8s_scenario_load(&l, doc)) < 0 || (rc = load_sets(&l, doc)) < 0 ||
        (rc = load_fakes_options(&l, doc)) < 0 ||
        (rc = loader_get_duration(&l, doc, "startup_timeout", "", DEFAULT_STARTUP_TIMEOUT_MS,
                                  &s->startup_timeout_ms)) < 0 ||
        (rc = load_finding(&l, doc)) < 0 || (rc = load_steps(&l, doc)) < 0 ||
        (rc = load_expect(&l, doc)) < 0 || (rc = check_steps(&l)) < 0)
        goto fail;
    free(known);
    *out = s;
    return 0;
fail:
    free(known);
    scenario_free(s);
    return rc;
}

void scenario_free(struct scenario *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->step_count + s->pre_step_count; i++) {
        struct step *st = i < s->step_count ? &s->steps[i] : &s->pre_steps[i - s->step_count];
        /* The kind's free releases what its load allocated inside the data; the data itself is
         * the loader's to free. */
        if (st->data && st->desc->free)
            st->desc->free(st);
        free(st->data);
    }
    for (size_t i = 0; i < s->env_count; i++)
        free((char *)s->env[i]);
    json_decref(s->config);
    json_decref(s->config_full);
    json_decref(s->left_out);
    json_decref(s->doc);
    yaml_lines_free(s->lines);
    free(s);
}
