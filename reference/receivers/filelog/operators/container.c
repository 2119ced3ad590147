/*
 * container.c - the `container` operator (contrib v0.142 pkg/stanza/operator/parser/container/
 * {config.go,parser.go}; facts §2 "container operator"): parses docker (JSON), CRI-O and
 * containerd (CRI text) lines, detected in that order when `format` is empty.
 *   - docker: the JSON object merges into attributes; time with layout
 *     2006-01-02T15:04:05.999Z in UTC; not recombined; the `log` value keeps its trailing "\n"
 *     (upstream does not trim it);
 *   - crio: regex with layout 2006-01-02T15:04:05.999999999Z07:00 (Local unless the value has an
 *     offset); containerd: layout 2006-01-02T15:04:05.999Z in UTC; both go through an internal
 *     recombine (is_last_entry attributes.logtag == 'F', combine_field body, combine_with "",
 *     source attributes["log.file.path"], max_log_size of this operator) so P...F fragments
 *     become one entry with the first fragment's attributes;
 *   - then, for every format: timestamp from `time`, `time` deleted, `log` moved to the body,
 *     `stream` to attribute log.iostream, and with add_metadata_from_filepath (default true) the
 *     k8s.namespace.name, k8s.pod.name, k8s.pod.uid, k8s.container.name,
 *     k8s.container.restart_count resource attributes (strings) from the file path.
 * Failures as upstream: a line of no known format, a bad time, a missing log/stream or
 * log.file.path drop the entry (Process returns the error; here it is logged at error level);
 * parse errors of the regex/JSON step go to on_error first. Upstream's internal emitter is
 * asynchronous (100 entries / 100 ms); here emission is synchronous, so only timing differs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "operator.h"

#define DOCKER_PATTERN "^\\{"
#define CRIO_PATTERN "^(?P<time>[^ Z]+) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$"
#define CONTAINERD_PATTERN                                                                         \
    "^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$"
#define LOGPATH_PATTERN                                                                            \
    "^.*(\\/|\\\\)(?P<namespace>[^_]+)_(?P<pod_name>[^_]+)_(?P<uid>[a-f0-9\\-]+)(\\/|\\\\)(?P<"    \
    "container_name>[^\\._]+)(\\/|\\\\)(?P<restart_count>\\d+)\\.log(\\.\\d{8}-\\d{6})?$"
#define CRIO_TIME_LAYOUT "2006-01-02T15:04:05.999999999Z07:00"
#define GO_TIME_LAYOUT "2006-01-02T15:04:05.999Z"

enum format { FORMAT_AUTO, FORMAT_DOCKER, FORMAT_CRIO, FORMAT_CONTAINERD };

struct container_config {
    struct stanza_parser_config parser;
    char *format;
    bool add_metadata_from_filepath;
    json_t *max_log_size;
};

static const struct option container_options[] = {
    STANZA_PARSER_OPTIONS(struct container_config, parser),
    {OPT_STRING, "format", NULL, offsetof(struct container_config, format),
     "docker, crio or containerd (empty: detect)", 0, NULL, 0},
    {OPT_BOOL, "add_metadata_from_filepath", "true",
     offsetof(struct container_config, add_metadata_from_filepath),
     "k8s.* resource attributes from log.file.path", 0, NULL, 0},
    {OPT_JSON, "max_log_size", NULL, offsetof(struct container_config, max_log_size),
     "largest joined CRI record (0 = no limit)", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct container {
    struct stanza_parser parser;
    enum format format;
    bool add_metadata;
    struct stanza_regex *docker, *crio, *containerd, *path;
    struct stanza_time_parser *go_time, *crio_time;
    struct stanza_recombine *recombine;
    struct stanza_field time_field, log_field, stream_field, iostream_field, path_field, body;
};

static void container_destroy(struct stanza_operator *op)
{
    struct container *c = op->impl;
    if (!c)
        return;
    stanza_parser_release(&c->parser);
    stanza_regex_free(c->docker);
    stanza_regex_free(c->crio);
    stanza_regex_free(c->containerd);
    stanza_regex_free(c->path);
    stanza_time_parser_free(c->go_time);
    stanza_time_parser_free(c->crio_time);
    stanza_recombine_free(c->recombine);
    stanza_field_release(&c->time_field);
    stanza_field_release(&c->log_field);
    stanza_field_release(&c->stream_field);
    stanza_field_release(&c->iostream_field);
    stanza_field_release(&c->path_field);
    stanza_field_release(&c->body);
    free(c);
    op->impl = NULL;
}

static void container_emit(void *ctx, struct stanza_entry *e)
{
    stanza_operator_write(ctx, e);
}

static int container_build(struct stanza_operator *op, void *config, const char *path,
                           struct error *err)
{
    struct container_config *cfg = config;
    struct container *c = calloc(1, sizeof(*c));
    if (!c)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    op->impl = c;
    int rc = stanza_parser_init(op, &c->parser, &cfg->parser, path, err);
    if (rc < 0)
        return rc;
    const char *f = cfg->format ? cfg->format : "";
    c->format = !*f                        ? FORMAT_AUTO
                : !strcmp(f, "docker")     ? FORMAT_DOCKER
                : !strcmp(f, "crio")       ? FORMAT_CRIO
                : !strcmp(f, "containerd") ? FORMAT_CONTAINERD
                                           : (enum format) - 1;
    if ((int)c->format < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "%s: operator config has an invalid `format` field. (format: %s; ensure "
                         "that the `format` field is set to one of `docker`, `crio`, "
                         "`containerd`.)",
                         path, f);
    c->add_metadata = cfg->add_metadata_from_filepath;
    struct stanza_recombine_settings s = {
        .is_last_entry = "attributes.logtag == 'F'",
        .combine_field = "body",
        .combine_with = "",
        .source_identifier = "attributes[\"log.file.path\"]",
        .overwrite_with = "oldest",
        .max_batch_size = 1000,
        .max_unmatched_batch_size = 100,
        .max_sources = 1000,
        .force_flush_period_ns = 5000000000LL,
    };
    char size_path[512];
    snprintf(size_path, sizeof(size_path), "%s.max_log_size", path);
    if ((rc = stanza_bytesize_parse(cfg->max_log_size, &s.max_log_size, size_path, err)) < 0)
        return rc;
    if ((rc = stanza_regex_compile(DOCKER_PATTERN, &c->docker, err)) < 0 ||
        (rc = stanza_regex_compile(CRIO_PATTERN, &c->crio, err)) < 0 ||
        (rc = stanza_regex_compile(CONTAINERD_PATTERN, &c->containerd, err)) < 0 ||
        (rc = stanza_regex_compile(LOGPATH_PATTERN, &c->path, err)) < 0 ||
        (rc = stanza_time_parser_new_gotime(GO_TIME_LAYOUT, true, &c->go_time, err)) < 0 ||
        (rc = stanza_time_parser_new_gotime(CRIO_TIME_LAYOUT, false, &c->crio_time, err)) < 0 ||
        (rc = stanza_field_parse("attributes.time", &c->time_field, err)) < 0 ||
        (rc = stanza_field_parse("attributes.log", &c->log_field, err)) < 0 ||
        (rc = stanza_field_parse("attributes.stream", &c->stream_field, err)) < 0 ||
        (rc = stanza_field_parse("attributes[\"log.iostream\"]", &c->iostream_field, err)) < 0 ||
        (rc = stanza_field_parse("attributes[\"log.file.path\"]", &c->path_field, err)) < 0 ||
        (rc = stanza_field_parse("body", &c->body, err)) < 0)
        return error_prefix(err, "%s", path);
    if ((rc = stanza_recombine_new(&s, op, container_emit, op, &c->recombine, err)) < 0)
        return error_prefix(err, "%s: failed to create internal recombine config", path);
    return 0;
}

static const char *go_type(const otlp_anyvalue *v)
{
    switch (v ? v->value_case : ANY_NOT_SET) {
    case ANY_STRING: return "string";
    case ANY_KVLIST: return "map[string]interface {}";
    case ANY_INT: return "int64";
    case ANY_BYTES: return "[]uint8";
    default: return "<nil>";
    }
}

static int parse_docker(struct stanza_operator *op, const otlp_anyvalue *value,
                        otlp_anyvalue **parsed, struct error *err)
{
    (void)op;
    const char *s = stanza_value_str(value);
    if (!s)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "type '%s' cannot be parsed as docker container logs", go_type(value));
    return stanza_json_parse_object(s, strlen(s), false, parsed, err);
}

static int parse_cri(struct stanza_regex *re, const otlp_anyvalue *value, otlp_anyvalue **parsed,
                     const char *what, struct error *err)
{
    const char *s = stanza_value_str(value);
    if (!s)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "type '%s' cannot be parsed as %s",
                         go_type(value), what);
    otlp_anyvalue *map = stanza_value_map();
    if (!map)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    int rc = stanza_regex_match_values(re, s, strlen(s), &map->kvlist_value->values,
                                       &map->kvlist_value->n_values);
    if (rc < 0) {
        stanza_value_free(map);
        return error_set(err, rc, ERROR_PERMANENT, "%s",
                         rc == -ENOENT ? "regex pattern does not match" : "out of memory");
    }
    *parsed = map;
    return 0;
}

static int parse_crio(struct stanza_operator *op, const otlp_anyvalue *value,
                      otlp_anyvalue **parsed, struct error *err)
{
    return parse_cri(((struct container *)op->impl)->crio, value, parsed, "cri-o container logs",
                     err);
}

static int parse_containerd(struct stanza_operator *op, const otlp_anyvalue *value,
                            otlp_anyvalue **parsed, struct error *err)
{
    return parse_cri(((struct container *)op->impl)->containerd, value, parsed, "containerd logs",
                     err);
}

static int move_attribute(struct stanza_entry *e, const struct stanza_field *from,
                          const struct stanza_field *to, const char *key, struct error *err)
{
    otlp_anyvalue *v;
    if (stanza_field_delete(e, from, &v) < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "move: field %s does not exist", key);
    if (stanza_field_set(e, to, v) < 0)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "failed to move %s", key);
    return 0;
}

/* handleTimeAndAttributeMappings */
static int map_fields(struct container *c, struct stanza_entry *e, struct stanza_time_parser *tp,
                      struct error *err)
{
    static const char *const k8s[][2] = {{"container_name", "k8s.container.name"},
                                         {"namespace", "k8s.namespace.name"},
                                         {"pod_name", "k8s.pod.name"},
                                         {"restart_count", "k8s.container.restart_count"},
                                         {"uid", "k8s.pod.uid"}};
    const otlp_anyvalue *t = stanza_field_get(e, &c->time_field);
    int64_t ns;
    int rc;
    if (!t)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "failed to parse time: failed to get the time from the entry");
    if ((rc = stanza_time_parse_value(tp, t, &ns, err)) < 0)
        return error_prefix(err, "failed to parse time");
    e->record->time_unix_nano = (uint64_t)ns;
    stanza_field_delete(e, &c->time_field, NULL);
    if ((rc = move_attribute(e, &c->log_field, &c->body, "log", err)) < 0 ||
        (rc = move_attribute(e, &c->stream_field, &c->iostream_field, "stream", err)) < 0)
        return rc;
    if (!c->add_metadata)
        return 0;
    const char *path = stanza_value_str(stanza_field_get(e, &c->path_field));
    if (!path)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "operator has 'add_metadata_from_filepath' enabled, but the log record "
                         "attribute 'log.file.path' is missing. Perhaps enable the "
                         "'include_file_path' option?");
    if (stanza_regex_match(c->path, path, strlen(path)) != 1)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "failed to detect a valid log path");
    for (size_t i = 0; i < stanza_regex_name_count(c->path); i++) {
        const char *start;
        size_t len;
        const char *name = stanza_regex_name(c->path, i, &start, &len, path);
        for (size_t k = 0; k < sizeof(k8s) / sizeof(k8s[0]); k++) {
            if (strcmp(name, k8s[k][0]))
                continue;
            otlp_anyvalue *v = stanza_value_string_n(start, len);
            if (!v || stanza_kv_upsert(&e->resource, &e->n_resource, k8s[k][1], v) < 0)
                return error_set(err, -ENOMEM, ERROR_PERMANENT,
                                 "failed to set %s as metadata at %s", k8s[k][0], k8s[k][1]);
        }
    }
    return 0;
}

static enum format detect(struct container *c, const struct stanza_entry *e, struct error *err)
{
    const otlp_anyvalue *v = stanza_field_get(e, &c->parser.parse_from);
    const char *s = stanza_value_str(v);
    if (!v)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "failed to detect a valid container log format: entry cannot be parsed "
                         "as container logs"),
               FORMAT_AUTO;
    if (!s)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "failed to detect a valid container log format: type '%s' cannot be "
                         "parsed as container logs",
                         go_type(v)),
               FORMAT_AUTO;
    size_t len = strlen(s);
    if (stanza_regex_match(c->docker, s, len) == 1)
        return FORMAT_DOCKER;
    if (stanza_regex_match(c->crio, s, len) == 1)
        return FORMAT_CRIO;
    if (stanza_regex_match(c->containerd, s, len) == 1)
        return FORMAT_CONTAINERD;
    error_set(err, -EINVAL, ERROR_PERMANENT,
              "failed to detect a valid container log format: entry cannot be parsed as container "
              "logs: %.200s",
              s);
    return FORMAT_AUTO;
}

static void drop(struct stanza_operator *op, struct stanza_entry *e, const char *what,
                 const char *message)
{
    log_error(op->log_name, "%s\" operator_id=%s error=\"%s", what, op->id, message);
    stanza_entry_free(e);
}

static void container_process(struct stanza_operator *op, struct stanza_entry *e)
{
    struct container *c = op->impl;
    struct error err;
    enum format format = c->format;
    if (format == FORMAT_AUTO && (format = detect(c, e, &err)) == FORMAT_AUTO) {
        drop(op, e, "Failed to process entry", err.message);
        return;
    }
    int skip = stanza_operator_skip(op, e, &err);
    if (skip < 0) {
        stanza_operator_handle_error(op, e, err.message);
        return;
    }
    if (skip) {
        stanza_operator_write(op, e);
        return;
    }
    if (format == FORMAT_DOCKER) {
        if (stanza_parser_parse_with(op, &c->parser, e, parse_docker) < 0)
            return; /* handled by on_error */
        if (map_fields(c, e, c->go_time, &err) < 0) {
            drop(op, e, "failed to process the docker log", err.message);
            return;
        }
        stanza_operator_write(op, e);
        return;
    }
    bool crio = format == FORMAT_CRIO;
    if (stanza_parser_parse_with(op, &c->parser, e, crio ? parse_crio : parse_containerd) < 0)
        return;
    if (map_fields(c, e, crio ? c->crio_time : c->go_time, &err) < 0) {
        drop(op, e, "failed to handle attribute mappings", err.message);
        return;
    }
    stanza_recombine_add(c->recombine, e);
}

static void container_tick(struct stanza_operator *op, int64_t now_ns)
{
    stanza_recombine_tick(((struct container *)op->impl)->recombine, now_ns);
}

static void container_flush(struct stanza_operator *op)
{
    stanza_recombine_flush_all(((struct container *)op->impl)->recombine);
}

const struct stanza_operator_type stanza_container_operator = {
    .type = "container",
    .options = container_options,
    .config_size = sizeof(struct container_config),
    .build = container_build,
    .process = container_process,
    .tick = container_tick,
    .flush = container_flush,
    .destroy = container_destroy,
};
