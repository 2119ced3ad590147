/*
 * scenario.c - loading and checking scenario files (see scenario.h for the format's purpose).
 *
 * Every mapping is checked against a field table (scenario_loader.h), so unknown keys, wrong
 * types and missing keys produce the same kind of message everywhere, with the line from
 * yamljson's side table. Rules that span fields (a step has `file` or `raw`, a config-error
 * scenario has no steps) are checked by hand after.
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_subset.h"
#include "grpcd.h"
#include "otlp_json.h"
#include "pdata.h"
#include "promtext.h"
#include "scenario_loader.h"
#include "yamljson.h"

#define DEFAULT_WAIT_TIMEOUT_MS 15000
#define DEFAULT_RESTART_TIMEOUT_MS 30000
#define DEFAULT_STARTUP_TIMEOUT_MS 60000
#define MAX_RAW_BODY_SIZE (256LL * 1024 * 1024)

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

const char *scenario_otlp_grpc_method(int signal)
{
    switch (signal) {
    case SIGNAL_TRACES: return "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    case SIGNAL_METRICS: return "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    case SIGNAL_LOGS: return "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    default: return "";
    }
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

/* ---- pod_log ---- */

static const struct field pod_log_fields[] = {
    {"pod", FIELD_STR, true, "namespace/name of the pod, e.g. default/web-7d4b9c-x2x7k"},
    {"container", FIELD_STR, true, "the container name, e.g. nginx"},
    {"uid", FIELD_STR, false, "the pod uid (default: derived from namespace/name, stable)"},
    {"restart_count", FIELD_INT, false,
     "the container's restart count: the N of N.log (default 0)"},
    {"format", FIELD_STR, false, "docker, containerd or crio (required on a file's first step)"},
    {"utc_offset", FIELD_STR, false,
     "crio: the node's UTC offset written in times, e.g. \"+02:00\""},
    {"split", FIELD_INT | FIELD_STR, false,
     "the runtime's line buffer: longer lines are written as fragments (default 16384; 0 = "
     "never)"},
    {"numbered", FIELD_BOOL, false, "true: every line carries a seq=NNNNNN token (for lines:)"},
    {"lines", FIELD_LIST, false, "the lines: {stream, text | hex | raw, partial, size, numbered}"},
    {"repeat", FIELD_INT, false, "write `lines` this many times (default 1)"},
    {"rotate", FIELD_STR, false, "rename (kubelet) or copytruncate (logrotate), instead of lines"},
    {NULL, 0, false, NULL},
};

static const struct field log_line_fields[] = {
    {"stream", FIELD_STR, false, "stdout or stderr (default stdout)"},
    {"text", FIELD_STR, false, "the line's text"},
    {"hex", FIELD_STR, false, "the line's bytes as hex, e.g. \"48 69 ff\" (invalid UTF-8)"},
    {"raw", FIELD_STR, false,
     "bytes written as they are, in no runtime format (\"{seq}\": a token)"},
    {"partial", FIELD_BOOL, false, "true: the runtime's line does not end here (P / no \\n)"},
    {"size", FIELD_INT | FIELD_STR, false,
     "pad the text to this many bytes, e.g. 40000 or \"1MiB+1\""},
    {"numbered", FIELD_BOOL, false, "overrides the step's numbered for this line"},
    {NULL, 0, false, NULL},
};

static int load_log_line(struct loader *l, struct step_pod_log *pl, const json_t *item,
                         bool numbered, const char *path, int line)
{
    struct pod_log_line *out = &pl->lines[pl->line_count];
    memset(out, 0, sizeof(*out));
    out->stream = "stdout";
    out->size = -1;
    out->numbered = numbered;
    if (json_is_string(item)) {
        out->bytes = (const uint8_t *)json_string_value(item);
        out->len = json_string_length(item);
        pl->line_count++;
        return 0;
    }
    int rc = loader_check_fields(l, item, line, path, log_line_fields);
    if (rc < 0)
        return rc;
    static const char *const streams[] = {"stdout", "stderr", NULL};
    int choice;
    if ((rc = loader_check_choice(l, item, "stream", path, streams, &choice)) < 0)
        return rc;
    if (choice >= 0)
        out->stream = streams[choice];
    int contents = (json_object_get(item, "text") != NULL) +
                   (json_object_get(item, "hex") != NULL) + (json_object_get(item, "raw") != NULL);
    if (contents != 1)
        return loader_fail(l, line, path, "expected exactly one of text, hex or raw");
    const json_t *text = json_object_get(item, "text");
    const json_t *raw = json_object_get(item, "raw");
    const char *hex = loader_get_string(item, "hex");
    if (text || raw) {
        out->bytes = (const uint8_t *)json_string_value(text ? text : raw);
        out->len = json_string_length(text ? text : raw);
        out->raw = raw != NULL;
    } else {
        uint8_t *bytes;
        size_t n;
        if (loader_hex_decode(hex, &bytes, &n) < 0)
            return loader_fail(l, loader_line_of_key(l, item, "hex", line), path,
                               "hex: expected pairs of hex digits, e.g. \"48 69 ff\"");
        pl->owned[pl->owned_count++] = bytes;
        out->bytes = bytes;
        out->len = n;
    }
    out->partial = loader_get_bool(item, "partial", false);
    out->numbered = loader_get_bool(item, "numbered", numbered);
    if (out->raw && (json_object_get(item, "partial") || json_object_get(item, "size") ||
                     json_object_get(item, "stream")))
        return loader_fail(l, line, path,
                           "a raw line is written as it is: stream, partial and size do not apply "
                           "(put \"{seq}\" in it for a token)");
    const json_t *size = json_object_get(item, "size");
    if (size && (loader_parse_size(size, &out->size) < 0 || out->size > POD_LOG_MAX_LINE))
        return loader_fail(l, loader_line_of_key(l, item, "size", line), path,
                           "size: expected a size up to 8MiB such as 40000 or \"1MiB+1\"");
    pl->line_count++;
    return 0;
}

static int load_pod_log_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                             int line)
{
    struct known_files *known = l->known;
    struct step_pod_log *pl = &st->pod_log;
    int rc = loader_check_fields(l, obj, line, path, pod_log_fields);
    if (rc < 0)
        return rc;
    line = loader_line_of_node(l, obj, line);
    const char *pod = loader_get_string(obj, "pod");
    const char *slash = strchr(pod, '/');
    if (!slash || slash == pod || !slash[1] || strchr(slash + 1, '/') ||
        (size_t)(slash - pod) >= sizeof(pl->namespace_name) || strlen(slash + 1) >= sizeof(pl->pod))
        return loader_fail(
            l, loader_line_of_key(l, obj, "pod", line), path,
            "pod: expected namespace/name, e.g. default/web-7d4b9c-x2x7k; got \"%s\"", pod);
    snprintf(pl->namespace_name, sizeof(pl->namespace_name), "%.*s", (int)(slash - pod), pod);
    snprintf(pl->pod, sizeof(pl->pod), "%s", slash + 1);
    if (strchr(pl->namespace_name, '_') || strchr(pl->pod, '_'))
        return loader_fail(l, loader_line_of_key(l, obj, "pod", line), path,
                           "pod: Kubernetes names have no '_' (the kubelet joins them with '_')");
    pl->container = loader_get_string(obj, "container");
    pl->uid = loader_get_string(obj, "uid");
    const json_t *restarts = json_object_get(obj, "restart_count");
    pl->restart_count = restarts ? (int)json_integer_value(restarts) : 0;
    if (pl->restart_count < 0)
        return loader_fail(l, loader_line_of_key(l, obj, "restart_count", line), path,
                           "restart_count: expected 0 or more");
    if (strchr(pl->container, '/') || !*pl->container)
        return loader_fail(l, loader_line_of_key(l, obj, "container", line), path,
                           "container: expected a container name");
    if (pl->restart_count)
        snprintf(pl->key, sizeof(pl->key), "%s/%s/%d", pod, pl->container, pl->restart_count);
    else
        snprintf(pl->key, sizeof(pl->key), "%s/%s", pod, pl->container);

    struct known_file *kf = loader_known_file(known, pl->key);
    const char *format = loader_get_string(obj, "format");
    if (format) {
        if (pod_log_format_parse(format, &pl->format) < 0)
            return loader_fail(l, loader_line_of_key(l, obj, "format", line), path,
                               "unknown format \"%s\" (expected docker, containerd or crio)",
                               format);
        if (kf && kf->format != pl->format)
            return loader_fail(
                l, loader_line_of_key(l, obj, "format", line), path,
                "%s was written in %s format by an earlier step; one runtime writes a "
                "file",
                pl->key, pod_log_format_name(kf->format));
    } else if (kf) {
        pl->format = kf->format;
    } else {
        return loader_fail(
            l, line, path,
            "format: required on the first step that writes %s (docker, containerd or "
            "crio)",
            pl->key);
    }
    const char *offset = loader_get_string(obj, "utc_offset");
    pl->utc_offset_min = 0;
    if (offset) {
        if (pl->format != POD_LOG_CRIO)
            return loader_fail(l, loader_line_of_key(l, obj, "utc_offset", line), path,
                               "utc_offset applies to crio (docker and containerd write UTC)");
        if (pod_log_parse_utc_offset(offset, &pl->utc_offset_min) < 0)
            return loader_fail(l, loader_line_of_key(l, obj, "utc_offset", line), path,
                               "utc_offset: expected +hh:mm or -hh:mm, e.g. \"+02:00\"");
    } else if (pl->format == POD_LOG_CRIO) {
        /* The point of a crio file here is the numeric offset: Z would be a containerd line. */
        pl->utc_offset_min = 120;
    }
    pl->split = POD_LOG_DEFAULT_SPLIT;
    const json_t *split = json_object_get(obj, "split");
    if (split) {
        int64_t n;
        if (loader_parse_size(split, &n) < 0 || n > POD_LOG_MAX_LINE)
            return loader_fail(
                l, loader_line_of_key(l, obj, "split", line), path,
                "split: expected a size such as 16384 or \"16KiB\" (0 = never split)");
        pl->split = (size_t)n;
    }

    const char *rotate = loader_get_string(obj, "rotate");
    const json_t *lines = json_object_get(obj, "lines");
    if (!rotate == !lines)
        return loader_fail(l, line, path,
                           "expected either lines (to write) or rotate (rename or copytruncate)");
    if (rotate) {
        static const char *const rotations[] = {"rename", "copytruncate", NULL};
        int choice;
        if ((rc = loader_check_choice(l, obj, "rotate", path, rotations, &choice)) < 0)
            return rc;
        static const char *const write_only[] = {"numbered", "repeat", "split", NULL};
        for (int i = 0; write_only[i]; i++)
            if (json_object_get(obj, write_only[i]))
                return loader_fail(l, loader_line_of_key(l, obj, write_only[i], line), path,
                                   "%s applies to lines, not to rotate", write_only[i]);
        if (!kf || !kf->written)
            return loader_fail(l, loader_line_of_key(l, obj, "rotate", line), path,
                               "%s is rotated before any step wrote to it", pl->key);
        pl->rotate = true;
        pl->rotation = (enum pod_log_rotation)choice;
        snprintf(st->label, sizeof(st->label), "pod_log %s rotate %s", pl->key, rotations[choice]);
        return 0;
    }
    char sub[512];
    loader_join(sub, sizeof(sub), path, "lines");
    int lline = loader_line_of_key(l, obj, "lines", line);
    if (json_array_size(lines) == 0 || json_array_size(lines) > SCENARIO_MAX_LOG_LINES)
        return loader_fail(l, lline, sub, "expected 1 to %d lines", SCENARIO_MAX_LOG_LINES);
    pl->lines = calloc(json_array_size(lines), sizeof(*pl->lines));
    pl->owned = calloc(json_array_size(lines), sizeof(*pl->owned));
    if (!pl->lines || !pl->owned)
        return error_set(l->err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    bool numbered = loader_get_bool(obj, "numbered", false);
    for (size_t i = 0; i < json_array_size(lines); i++) {
        char isub[600];
        snprintf(isub, sizeof(isub), "%s[%zu]", sub, i);
        if ((rc = load_log_line(l, pl, json_array_get(lines, i), numbered, isub,
                                loader_line_of_index(l, lines, i, lline))) < 0)
            return rc;
    }
    const json_t *repeat = json_object_get(obj, "repeat");
    pl->repeat = 1;
    if (repeat) {
        json_int_t n = json_integer_value(repeat);
        if (n < 1 || n > POD_LOG_MAX_SEQ)
            return loader_fail(l, loader_line_of_key(l, obj, "repeat", line), path,
                               "repeat: expected 1 to %d", POD_LOG_MAX_SEQ);
        pl->repeat = (size_t)n;
    }
    if (!kf) {
        if (known->count >= POD_LOG_MAX_FILES)
            return loader_fail(l, line, path, "more than %d pod log files", POD_LOG_MAX_FILES);
        kf = &known->files[known->count++];
        snprintf(kf->key, sizeof(kf->key), "%s", pl->key);
        kf->format = pl->format;
    }
    kf->written = true;
    l->s->has_pod_logs = true;
    size_t total = pl->line_count * pl->repeat;
    snprintf(st->label, sizeof(st->label), "pod_log %s %s %zu line%s%s", pl->key,
             pod_log_format_name(pl->format), total, total == 1 ? "" : "s",
             numbered ? " numbered" : "");
    return 0;
}

/* ---- steps ---- */

static const char *const step_kinds[] = {"otlp",    "fault", "wait",  "restart",
                                         "pod_log", "stop",  "start", NULL};

const char *scenario_step_kind_name(enum step_kind kind)
{
    return (unsigned)kind < sizeof(step_kinds) / sizeof(step_kinds[0]) - 1 ? step_kinds[kind] : "?";
}

static const struct field otlp_fields[] = {
    {"file", FIELD_STR, false,
     "a payload file (OTLP JSON) under scenarios/, e.g. inputs/logs.json"},
    {"raw", FIELD_MAP, false,
     "a raw request: {method, path, content_type, content_encoding, body | "
     "body_hex | body_size}"},
    {"signal", FIELD_STR, false, "traces, metrics or logs"},
    {"transport", FIELD_STR, false, "http or grpc"},
    {"encoding", FIELD_STR, false, "proto or json"},
    {"gzip", FIELD_BOOL, false, "true or false"},
    {"timestamps", FIELD_STR, false, "now (shift every time to the run start) or keep"},
    {"path", FIELD_STR, false, "a URL path such as /v1/logs"},
    {"receiver", FIELD_STR, false, "the id of an otlp receiver of the config"},
    {"expect_status", FIELD_INT, false, "an HTTP status such as 400"},
    {"expect_body", FIELD_STR | FIELD_MAP, false,
     "the exact body text, or one of {text, contains, json, hex, status}"},
    {"expect_content_type", FIELD_STR, false, "a media type such as text/plain"},
    {"expect_grpc_status", FIELD_STR | FIELD_INT, false,
     "a gRPC status name such as UNAVAILABLE (or its number), with transport grpc"},
    {"expect_grpc_message", FIELD_STR, false,
     "a substring of the gRPC status message, with transport grpc"},
    {NULL, 0, false, NULL},
};

static const struct field raw_fields[] = {
    {"method", FIELD_STR, false, "an HTTP method such as GET"},
    {"path", FIELD_STR, false, "a URL path such as /v1/logs"},
    {"content_type", FIELD_STR, false, "a Content-Type value (omit to send none)"},
    {"content_encoding", FIELD_STR, false, "a Content-Encoding value such as gzip"},
    {"body", FIELD_STR, false, "the body as text"},
    {"body_hex", FIELD_STR, false, "the body as hex bytes, e.g. \"ff ff 0a\""},
    {"body_size", FIELD_INT | FIELD_STR, false, "a size such as 21000000 or \"20MiB+1\""},
    {NULL, 0, false, NULL},
};

static const struct field expect_body_fields[] = {
    {"text", FIELD_STR, false, "the exact body"},
    {"contains", FIELD_STR, false, "a substring of the body"},
    {"json", FIELD_MAP | FIELD_LIST, false, "a JSON value equal to the body's"},
    {"hex", FIELD_STR, false, "the body's bytes as hex"},
    {"status", FIELD_MAP, false, "a google.rpc.Status {code, message | message_contains}"},
    {NULL, 0, false, NULL},
};

static const struct field status_fields[] = {
    {"code", FIELD_INT, false, "a gRPC code such as 3 (InvalidArgument)"},
    {"message", FIELD_STR, false, "the exact message"},
    {"message_contains", FIELD_STR, false, "a substring of the message"},
    {NULL, 0, false, NULL},
};

static int signal_of_payload(const json_t *payload)
{
    static const struct {
        const char *key;
        int signal;
    } keys[] = {
        {"resourceSpans", SIGNAL_TRACES},    {"resource_spans", SIGNAL_TRACES},
        {"resourceMetrics", SIGNAL_METRICS}, {"resource_metrics", SIGNAL_METRICS},
        {"resourceLogs", SIGNAL_LOGS},       {"resource_logs", SIGNAL_LOGS},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (json_object_get(payload, keys[i].key))
            return keys[i].signal;
    return -1;
}

static int load_payload(struct loader *l, struct step_otlp *o, const json_t *obj, const char *path,
                        int line)
{
    char sub[512];
    loader_join(sub, sizeof(sub), path, "file");
    int fline = loader_line_of_key(l, obj, "file", line);
    int rc =
        loader_resolve(l, o->file, sizeof(o->file), l->s->scenarios_dir, o->file_label, fline, sub);
    if (rc < 0)
        return rc;
    json_error_t jerr;
    o->payload = json_load_file(o->file, 0, &jerr);
    if (!o->payload)
        return loader_fail(l, fline, sub, "%s:%d: %s", o->file_label, jerr.line, jerr.text);
    int signal = signal_of_payload(o->payload);
    if (signal < 0)
        return loader_fail(l, fline, sub,
                           "%s is not an OTLP JSON export request (no resourceSpans, "
                           "resourceMetrics or resourceLogs)",
                           o->file_label);
    if (o->signal >= 0 && o->signal != signal)
        return loader_fail(l, loader_line_of_key(l, obj, "signal", line), path,
                           "signal %s does not match %s, which holds %s", signal_name(o->signal),
                           o->file_label, signal_name(signal));
    o->signal = signal;
    /* Decode it now, as the proto encoding will, so a bad payload fails at load time. */
    char *text = json_dumps(o->payload, JSON_COMPACT);
    if (!text)
        return error_set(l->err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    struct payload *decoded = NULL;
    struct error derr;
    rc = otlp_json_decode_payload((enum signal)signal, text, strlen(text), &decoded, &derr);
    free(text);
    payload_free(decoded);
    if (rc < 0)
        return loader_fail(l, fline, sub, "%s does not decode as OTLP %s: %s", o->file_label,
                           signal_name(signal), derr.message);
    return 0;
}

static int load_expect_body(struct loader *l, struct body_check *b, const json_t *obj,
                            const char *path, int line)
{
    const json_t *v = json_object_get(obj, "expect_body");
    char sub[512];
    loader_join(sub, sizeof(sub), path, "expect_body");
    int bline = loader_line_of_key(l, obj, "expect_body", line);
    if (!v)
        return 0;
    if (json_is_string(v)) {
        b->kind = BODY_TEXT;
        b->text = json_string_value(v);
        return 0;
    }
    int rc = loader_check_fields(l, v, bline, sub, expect_body_fields);
    if (rc < 0)
        return rc;
    if (json_object_size(v) != 1)
        return loader_fail(l, bline, sub,
                           "expected exactly one of: text, contains, json, hex, status");
    if ((b->text = loader_get_string(v, "text"))) {
        b->kind = BODY_TEXT;
    } else if ((b->text = loader_get_string(v, "contains"))) {
        b->kind = BODY_CONTAINS;
    } else if ((b->text = loader_get_string(v, "hex"))) {
        uint8_t *bytes;
        size_t n;
        if (loader_hex_decode(b->text, &bytes, &n) < 0)
            return loader_fail(l, bline, sub, "hex: expected pairs of hex digits, e.g. \"0a 00\"");
        free(bytes);
        b->kind = BODY_HEX;
    } else if ((b->json = json_object_get(v, "json"))) {
        b->kind = BODY_JSON;
    } else {
        const json_t *st = json_object_get(v, "status");
        char ssub[600];
        loader_join(ssub, sizeof(ssub), sub, "status");
        if ((rc = loader_check_fields(l, st, loader_line_of_node(l, st, bline), ssub,
                                      status_fields)) < 0)
            return rc;
        b->kind = BODY_STATUS;
        b->has_code = json_object_get(st, "code") != NULL;
        b->code = (int)json_integer_value(json_object_get(st, "code"));
        b->message = loader_get_string(st, "message");
        b->message_contains = loader_get_string(st, "message_contains");
    }
    return 0;
}

static int load_raw(struct loader *l, struct step_otlp *o, const json_t *raw, const char *path,
                    int line)
{
    char sub[512];
    loader_join(sub, sizeof(sub), path, "raw");
    int rline = loader_line_of_node(l, raw, line);
    int rc = loader_check_fields(l, raw, rline, sub, raw_fields);
    if (rc < 0)
        return rc;
    o->raw = true;
    o->method = loader_get_string(raw, "method");
    if (!o->method)
        o->method = "POST";
    o->path = loader_get_string(raw, "path");
    o->content_type = loader_get_string(raw, "content_type");
    o->content_encoding = loader_get_string(raw, "content_encoding");
    o->body_text = loader_get_string(raw, "body");
    int bodies = (json_object_get(raw, "body") != NULL) +
                 (json_object_get(raw, "body_hex") != NULL) +
                 (json_object_get(raw, "body_size") != NULL);
    if (bodies > 1)
        return loader_fail(l, rline, sub, "give at most one of body, body_hex, body_size");
    const char *hex = loader_get_string(raw, "body_hex");
    if (hex && loader_hex_decode(hex, &o->body_bytes, &o->body_bytes_len) < 0)
        return loader_fail(l, loader_line_of_key(l, raw, "body_hex", rline), sub,
                           "body_hex: expected pairs of hex digits, e.g. \"ff ff 0a\"");
    const json_t *size = json_object_get(raw, "body_size");
    if (size && (loader_parse_size(size, &o->body_size) < 0 || o->body_size > MAX_RAW_BODY_SIZE))
        return loader_fail(
            l, loader_line_of_key(l, raw, "body_size", rline), sub,
            "body_size: expected a size up to 256MiB such as 21000000 or \"20MiB+1\"");
    return 0;
}

/* expect_grpc_status / expect_grpc_message, and the HTTP expectations a gRPC step cannot have
 * (and the reverse). */
static int load_grpc_expectations(struct loader *l, struct step_otlp *o, const json_t *obj,
                                  const char *path, int line)
{
    static const char *const http_only[] = {"expect_status", "expect_body", "expect_content_type",
                                            NULL};
    static const char *const grpc_only[] = {"expect_grpc_status", "expect_grpc_message", NULL};
    const char *const *wrong = o->grpc ? http_only : grpc_only;
    for (int i = 0; wrong[i]; i++)
        if (json_object_get(obj, wrong[i]))
            return loader_fail(l, loader_line_of_key(l, obj, wrong[i], line), path,
                               o->grpc ? "%s is an HTTP check; a gRPC call is checked with "
                                         "expect_grpc_status and expect_grpc_message"
                                       : "%s needs transport: grpc",
                               wrong[i]);
    o->expect_grpc_code = GRPC_CODE_OK;
    o->expect_grpc_message = loader_get_string(obj, "expect_grpc_message");
    const json_t *v = json_object_get(obj, "expect_grpc_status");
    if (!v)
        return 0;
    for (int code = GRPC_CODE_OK; code <= GRPC_CODE_UNAUTHENTICATED; code++) {
        if (json_is_integer(v) ? json_integer_value(v) == code
                               : !strcmp(json_string_value(v), grpc_code_name(code))) {
            o->expect_grpc_code = code;
            return 0;
        }
    }
    return loader_fail(
        l, loader_line_of_key(l, obj, "expect_grpc_status", line), path,
        "expect_grpc_status: expected a gRPC status name (OK, CANCELLED, UNKNOWN, "
        "INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, "
        "PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, "
        "OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED) "
        "or its number");
}

/* A raw gRPC call: a method (raw.path, default the signal's Export) and a message body; the
 * HTTP parts of raw have no meaning on a gRPC stream. */
static int finish_raw_grpc(struct loader *l, struct step *st, const json_t *raw, const char *path,
                           int line)
{
    struct step_otlp *o = &st->otlp;
    static const char *const http_parts[] = {"method", "content_type", "content_encoding", NULL};
    for (int i = 0; http_parts[i]; i++)
        if (json_object_get(raw, http_parts[i]))
            return loader_fail(
                l, loader_line_of_key(l, raw, http_parts[i], line), path,
                "raw.%s has no meaning for a gRPC call: give raw.path (the full method "
                "name, /package.Service/Method) and a body",
                http_parts[i]);
    if (!o->path && o->signal < 0)
        return loader_fail(
            l, line, path,
            "a raw gRPC call needs raw.path (/package.Service/Method) or signal (for its "
            "Export method)");
    if (!o->path)
        o->path = scenario_otlp_grpc_method(o->signal);
    snprintf(st->label, sizeof(st->label), "otlp grpc raw %s", o->path);
    return 0;
}

static int load_otlp_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                          int line)
{
    struct step_otlp *o = &st->otlp;
    int rc = loader_check_fields(l, obj, line, path, otlp_fields);
    if (rc < 0)
        return rc;
    line = loader_line_of_node(l, obj, line);
    o->signal = -1;
    o->body_size = -1;
    o->expect_status = 200;
    const char *signal = loader_get_string(obj, "signal");
    if (signal) {
        enum signal sig;
        if (signal_parse(signal, &sig) < 0 || strchr(signal, '/'))
            return loader_fail(l, loader_line_of_key(l, obj, "signal", line), path,
                               "unknown signal \"%s\" (expected traces, metrics or logs)", signal);
        o->signal = (int)sig;
    }
    static const char *const transports[] = {"http", "grpc", NULL};
    int choice;
    if ((rc = loader_check_choice(l, obj, "transport", path, transports, &choice)) < 0)
        return rc;
    o->grpc = choice == 1;
    if ((rc = load_grpc_expectations(l, o, obj, path, line)) < 0)
        return rc;
    static const char *const encodings[] = {"proto", "json", NULL};
    if ((rc = loader_check_choice(l, obj, "encoding", path, encodings, &choice)) < 0)
        return rc;
    o->json_encoding = choice == 1;
    static const char *const stamps[] = {"now", "keep", NULL};
    if ((rc = loader_check_choice(l, obj, "timestamps", path, stamps, &choice)) < 0)
        return rc;
    o->timestamps_now = choice == 0;
    o->gzip = loader_get_bool(obj, "gzip", false);
    o->receiver = loader_get_string(obj, "receiver");
    if (json_object_get(obj, "expect_status")) {
        o->expect_status = (int)json_integer_value(json_object_get(obj, "expect_status"));
        if (o->expect_status < 100 || o->expect_status > 599)
            return loader_fail(l, loader_line_of_key(l, obj, "expect_status", line), path,
                               "expect_status: expected an HTTP status (100-599)");
    }
    o->expect_content_type = loader_get_string(obj, "expect_content_type");
    if ((rc = load_expect_body(l, &o->expect_body, obj, path, line)) < 0)
        return rc;

    const json_t *raw = json_object_get(obj, "raw");
    o->file_label = loader_get_string(obj, "file");
    if (!raw == !o->file_label)
        return loader_fail(l, line, path,
                           "expected exactly one of file (a payload) or raw (a request "
                           "for bad-input cases)");
    if (raw) {
        static const char *const file_only[] = {"encoding", "gzip", "timestamps", "path", NULL};
        for (int i = 0; file_only[i]; i++)
            if (json_object_get(obj, file_only[i]))
                return loader_fail(
                    l, loader_line_of_key(l, obj, file_only[i], line), path,
                    "%s applies to file payloads; a raw request states content_type, "
                    "content_encoding and path inside raw",
                    file_only[i]);
        if ((rc = load_raw(l, o, raw, path, line)) < 0)
            return rc;
        if (o->grpc)
            return finish_raw_grpc(l, st, raw, path, line);
        if (!o->path && o->signal < 0)
            return loader_fail(l, line, path,
                               "a raw request needs raw.path or signal (for /v1/<signal>)");
        snprintf(st->label, sizeof(st->label), "otlp raw %s %s%s%s", o->method,
                 o->path ? o->path : "/v1/", o->path ? "" : signal_name(o->signal),
                 o->content_type ? "" : " (no content type)");
        return 0;
    }
    if ((rc = load_payload(l, o, obj, path, line)) < 0)
        return rc;
    o->path = loader_get_string(obj, "path");
    if (o->grpc) {
        if (o->json_encoding)
            return loader_fail(l, loader_line_of_key(l, obj, "encoding", line), path,
                               "OTLP over gRPC carries protobuf only (encoding json is OTLP/HTTP)");
        if (o->path)
            return loader_fail(
                l, loader_line_of_key(l, obj, "path", line), path,
                "a gRPC payload goes to its signal's Export method; call another method "
                "with raw: {path: /package.Service/Method}");
        o->path = scenario_otlp_grpc_method(o->signal);
        snprintf(st->label, sizeof(st->label), "otlp grpc %s %s (proto%s%s)",
                 signal_name(o->signal), o->file_label, o->gzip ? ", gzip" : "",
                 o->timestamps_now ? ", timestamps now" : "");
        return 0;
    }
    o->content_type = o->json_encoding ? "application/json" : "application/x-protobuf";
    o->content_encoding = o->gzip ? "gzip" : NULL;
    snprintf(st->label, sizeof(st->label), "otlp %s %s (%s%s%s)", signal_name(o->signal),
             o->file_label, o->json_encoding ? "json" : "proto", o->gzip ? ", gzip" : "",
             o->timestamps_now ? ", timestamps now" : "");
    return 0;
}

static const struct field fault_spec_fields[] = {
    {"status", FIELD_INT, false, "an HTTP status the fake answers with, e.g. 503"},
    {"retry_after", FIELD_STR | FIELD_INT, false, "a Retry-After value in seconds, e.g. \"2\""},
    {"body", FIELD_STR, false, "the message of the error body"},
    {"times", FIELD_INT, false, "how many requests the fault applies to (omit: until cleared)"},
    {"latency_ms", FIELD_INT, false, "a delay in milliseconds before answering"},
    {"stall", FIELD_BOOL, false, "true to hold requests until the fault is cleared"},
    {"reset", FIELD_BOOL, false, "true to drop the connection without answering"},
    {"grpc_status", FIELD_STR | FIELD_INT, false,
     "a gRPC status a gRPC front answers with, e.g. UNAVAILABLE or RESOURCE_EXHAUSTED"},
    {"message", FIELD_STR, false, "the gRPC status message"},
    {"retry_info_delay", FIELD_STR, false,
     "a delay such as \"1s\" for a google.rpc.RetryInfo in the gRPC status details"},
    {NULL, 0, false, NULL},
};

static int load_fault_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                           int line)
{
    struct step_fault *f = &st->fault;
    if (!json_is_object(obj) || json_object_size(obj) != 1)
        return loader_fail(l, line, path,
                           "expected one fake and its fault, e.g. {loki: {status: 503, "
                           "retry_after: \"1\", times: 2}} or {loki: clear}");
    const char *key = json_object_iter_key(json_object_iter((json_t *)obj));
    const json_t *spec = json_object_get(obj, key);
    int kline = loader_line_of_key(l, obj, key, line);
    if (scenario_fake_parse(key, &f->fake) < 0)
        return loader_fail(l, kline, path,
                           "unknown fake \"%s\" (expected one of: prometheus, loki, "
                           "tempo)",
                           key);
    char sub[512];
    loader_join(sub, sizeof(sub), path, key);
    if (json_is_string(spec) && !strcmp(json_string_value(spec), "clear")) {
        f->clear = true;
        snprintf(st->label, sizeof(st->label), "fault %s clear", key);
        return 0;
    }
    int rc = loader_check_fields(l, spec, kline, sub, fault_spec_fields);
    if (rc < 0)
        return rc;
    const json_t *status = json_object_get(spec, "status");
    if (status && (json_integer_value(status) < 200 || json_integer_value(status) > 599))
        return loader_fail(l, kline, sub, "status: expected 200-599");
    const json_t *grpc_status = json_object_get(spec, "grpc_status");
    if (!status && !grpc_status && !loader_get_bool(spec, "reset", false) &&
        !loader_get_bool(spec, "stall", false) && !json_object_get(spec, "latency_ms"))
        return loader_fail(l, kline, sub,
                           "a fault needs status, reset, stall or latency_ms (or grpc_status)");
    const json_t *times = json_object_get(spec, "times");
    if (times && json_integer_value(times) < 1)
        return loader_fail(l, kline, sub,
                           "times: expected at least 1 (omit it for \"until cleared\")");
    f->spec = spec;
    char times_text[32] = "";
    if (times)
        snprintf(times_text, sizeof(times_text), " x%" JSON_INTEGER_FORMAT,
                 json_integer_value(times));
    char what[32];
    if (status)
        snprintf(what, sizeof(what), "%" JSON_INTEGER_FORMAT, json_integer_value(status));
    else if (json_is_string(grpc_status))
        snprintf(what, sizeof(what), "%s", json_string_value(grpc_status));
    else if (grpc_status)
        snprintf(what, sizeof(what), "grpc %" JSON_INTEGER_FORMAT, json_integer_value(grpc_status));
    else
        snprintf(what, sizeof(what), "%s",
                 loader_get_bool(spec, "reset", false)   ? "reset"
                 : loader_get_bool(spec, "stall", false) ? "stall"
                                                         : "delay");
    snprintf(st->label, sizeof(st->label), "fault %s %s%s", key, what, times_text);
    return 0;
}

static int load_tailing(struct loader *l, struct step_wait *w, const json_t *list, const char *path,
                        int line)
{
    int rc = loader_string_list(l, list, path, w->tailing, &w->tailing_count,
                                "a pod log file: namespace/pod/container");
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < w->tailing_count; i++) {
        if (loader_known_file(l->known, w->tailing[i]))
            continue;
        char sub[600];
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        return loader_fail(l, loader_line_of_index(l, list, i, line), sub,
                           "no pod_log step before this one writes \"%s\"", w->tailing[i]);
    }
    if (w->tailing_count == 0)
        return loader_fail(l, line, path, "expected at least one pod log file");
    return 0;
}

static int load_wait_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                          int line)
{
    struct step_wait *w = &st->wait;
    static const char *const known = "prometheus, loki, tempo, collector, lines, tailing, timeout";
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
            rc = load_tailing(l, w, value, sub, kline);
        else if (scenario_fake_parse(key, &fake) == 0)
            rc = loader_fake_counts(l, fake, value, sub, kline, COND_GE, w->conds, &w->count);
        else
            return loader_fail(l, kline, path, "unknown condition \"%s\" (expected one of: %s)",
                               key, known);
        if (rc < 0)
            return rc;
    }
    if (w->count == 0 && w->lines_count == 0 && w->tailing_count == 0)
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
    return 0;
}

static const struct field restart_fields[] = {
    {"signal", FIELD_STR, false, "TERM (graceful: must exit 0) or KILL"},
    {"timeout", FIELD_STR, false, "how long the collector may take to exit, e.g. 30s"},
    {NULL, 0, false, NULL},
};

static int load_restart_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                             int line)
{
    struct step_restart *r = &st->restart;
    json_t *empty = NULL;
    if (json_is_null(obj)) /* `- restart:` alone means the defaults */
        obj = empty = json_object();
    int rc = loader_check_fields(l, obj, line, path, restart_fields);
    if (rc < 0)
        goto done;
    static const char *const signals[] = {"TERM", "KILL", NULL};
    int choice;
    if ((rc = loader_check_choice(l, obj, "signal", path, signals, &choice)) < 0)
        goto done;
    r->signal = choice == 1 ? SIGKILL : SIGTERM;
    if ((rc = loader_get_duration(l, obj, "timeout", path, DEFAULT_RESTART_TIMEOUT_MS,
                                  &r->timeout_ms)) < 0)
        goto done;
    snprintf(st->label, sizeof(st->label), "%s %s", st->kind == STEP_STOP ? "stop" : "restart",
             r->signal == SIGKILL ? "KILL" : "TERM");
done:
    json_decref(empty);
    return rc;
}

/* `- start:` (or `start: {}`): start the collector stopped by a `stop` step, wait until it listens.
 */
static int load_start_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                           int line)
{
    if (!json_is_null(obj) && !(json_is_object(obj) && json_object_size(obj) == 0))
        return loader_fail(l, line, path,
                           "start takes no options (it waits for the collector to listen)");
    snprintf(st->label, sizeof(st->label), "start");
    return 0;
}

/* A stop leaves the collector down until a start: waits and sends in between would only see it
 * gone, and a scenario that ends with it stopped could not be checked. */
static int check_stop_start(struct loader *l, const struct step *steps, size_t count)
{
    bool stopped = false;
    for (size_t i = 0; i < count; i++) {
        const struct step *st = &steps[i];
        char path[64];
        snprintf(path, sizeof(path), "steps[%zu]", i);
        if (st->kind == STEP_STOP && stopped)
            return loader_fail(l, st->line, path,
                               "the collector is already stopped (start it first)");
        if (st->kind == STEP_START && !stopped)
            return loader_fail(l, st->line, path, "start needs a stop before it");
        if (stopped && st->kind != STEP_POD_LOG && st->kind != STEP_START)
            return loader_fail(
                l, st->line, path,
                "the collector is stopped here: only pod_log steps can run until start");
        if (st->kind == STEP_STOP)
            stopped = true;
        else if (st->kind == STEP_START)
            stopped = false;
    }
    if (stopped)
        return loader_fail(l, 0, "steps", "the collector is stopped at the end: add a start step");
    return 0;
}

/* Loads `steps` (or `before_start`, where only pod_log steps are allowed: they run before the
 * collector starts, so nothing else has anything to act on). */
static int load_step_list(struct loader *l, const json_t *doc, const char *name, struct step *out,
                          size_t *count, size_t max, bool pod_log_only)
{
    const json_t *steps = json_object_get(doc, name);
    if (!steps)
        return 0;
    int line = loader_line_of_key(l, doc, name, 0);
    if (!json_is_array(steps))
        return loader_fail(l, line, name, "expected a list of steps, got %s",
                           loader_type_name(steps));
    for (size_t i = 0; i < json_array_size(steps); i++) {
        char path[64];
        snprintf(path, sizeof(path), "%s[%zu]", name, i);
        const json_t *item = json_array_get(steps, i);
        int iline = loader_line_of_index(l, steps, i, line);
        if (i >= max)
            return loader_fail(l, iline, path, "too many steps (at most %zu)", max);
        if (!json_is_object(item) || json_object_size(item) != 1)
            return loader_fail(l, iline, path,
                               pod_log_only ? "expected a pod_log step"
                                            : "expected a mapping with one key: otlp, fault, wait, "
                                              "restart, stop, start or pod_log");
        const char *kind = json_object_iter_key(json_object_iter((json_t *)item));
        const json_t *body = json_object_get(item, kind);
        int kline = loader_line_of_key(l, item, kind, iline);
        int k = 0;
        while (step_kinds[k] && strcmp(step_kinds[k], kind) != 0)
            k++;
        if (!step_kinds[k])
            return loader_fail(
                l, kline, path,
                "unknown step \"%s\" (expected one of: otlp, fault, wait, "
                "restart, stop, start, pod_log%s)",
                kind, !strcmp(kind, "sleep") ? "; there is no sleep: wait for a condition" : "");
        if (pod_log_only && k != STEP_POD_LOG)
            return loader_fail(
                l, kline, path,
                "before_start holds pod_log steps only (the files that exist when the "
                "collector starts); put %s under steps",
                kind);
        struct step *st = &out[(*count)++];
        st->kind = (enum step_kind)k;
        st->line = kline;
        char sub[96];
        snprintf(sub, sizeof(sub), "%s.%s", path, kind);
        int rc;
        switch (st->kind) {
        case STEP_OTLP: rc = load_otlp_step(l, st, body, sub, kline); break;
        case STEP_FAULT: rc = load_fault_step(l, st, body, sub, kline); break;
        case STEP_WAIT: rc = load_wait_step(l, st, body, sub, kline); break;
        case STEP_RESTART: rc = load_restart_step(l, st, body, sub, kline); break;
        case STEP_POD_LOG: rc = load_pod_log_step(l, st, body, sub, kline); break;
        case STEP_STOP: rc = load_restart_step(l, st, body, sub, kline); break;
        case STEP_START: rc = load_start_step(l, st, body, sub, kline); break;
        default: rc = -EINVAL;
        }
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
        const char *conflict = golden ? "golden" : collector ? "collector" : lines ? "lines" : NULL;
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
    if (!s->golden_count && !s->expect_count && !s->has_exit_code && !log && !s->expect_lines_count)
        return loader_fail(l, line, "expect",
                           "nothing to verify (expected golden, collector, fakes, "
                           "exit_code or collector_log)");
    return 0;
}

/* ---- finding ---- */

static const struct field finding_fields[] = {
    {"text", FIELD_STR, true, "one sentence: what the scenario shows and why it matters"},
    {"evidence", FIELD_LIST, false,
     "counts to quote: <fake>.<count>, collector.<metric selector> or lines.<count>"},
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
        (rc = load_sets(&l, doc)) < 0 || (rc = load_fakes_options(&l, doc)) < 0 ||
        (rc = loader_get_duration(&l, doc, "startup_timeout", "", DEFAULT_STARTUP_TIMEOUT_MS,
                                  &s->startup_timeout_ms)) < 0 ||
        (rc = load_finding(&l, doc)) < 0 || (rc = load_steps(&l, doc)) < 0 ||
        (rc = load_expect(&l, doc)) < 0)
        goto fail;
    /* An otlp step needs an otlp receiver with its transport in the config. */
    const char *ids[16];
    bool http[16], grpc[16];
    size_t receivers = scenario_otlp_receivers(s->config, ids, http, grpc, 16);
    for (size_t i = 0; i < s->step_count; i++) {
        struct step_otlp *o = &s->steps[i].otlp;
        if (s->steps[i].kind != STEP_OTLP)
            continue;
        bool found = false;
        for (size_t r = 0; r < receivers && !found; r++)
            found = (o->grpc ? grpc[r] : http[r]) && (!o->receiver || !strcmp(o->receiver, ids[r]));
        if (!found) {
            char sub[64];
            snprintf(sub, sizeof(sub), "steps[%zu].otlp", i);
            rc = loader_fail(&l, s->steps[i].line, sub,
                             "%s has no otlp receiver%s%s%s with protocols.%s", s->config_label,
                             o->receiver ? " \"" : "", o->receiver ? o->receiver : "",
                             o->receiver ? "\"" : "", o->grpc ? "grpc" : "http");
            goto fail;
        }
    }
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
        if (st->kind == STEP_OTLP) {
            json_decref(st->otlp.payload);
            free(st->otlp.body_bytes);
        } else if (st->kind == STEP_POD_LOG) {
            for (size_t j = 0; j < st->pod_log.owned_count; j++)
                free(st->pod_log.owned[j]);
            free(st->pod_log.owned);
            free(st->pod_log.lines);
        }
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
