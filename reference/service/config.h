/*
 * config.h - the collector configuration: resolving (files, --set, ${...} expansion) and decoding
 * it into components and pipelines, with upstream's validation rules.
 *
 * Mirrors core@v0.144.0: confmap/resolver.go + confmap/expand.go (merge, expansion, `$$`),
 * confmap/provider/envprovider (typing of values, `:-` defaults, unset -> empty),
 * otelcol/flags.go (`--set a.b=c` becomes the YAML `a::b: c`), otelcol/config.go and
 * service/pipelines/config.go (pipeline rules and their messages), and
 * service/telemetry/otelconftelemetry (service::telemetry defaults: pull Prometheus reader on
 * localhost:8888, level normal).
 *
 * Paths in messages use `.` (`processors.batch: ...`) where upstream prints `::`, to match the
 * option binder and the `--set` syntax people type.
 */
#ifndef OTEL_REF_CONFIG_H
#define OTEL_REF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "component.h"
#include "error.h"
#include "log.h"

#define CONFIG_ID_MAX 128
#define CONFIG_MAX_METRICS_READERS 4

/* One configured component (`receivers.otlp`, `exporters.otlphttp/loki`). */
struct config_component {
    enum component_kind kind;
    char id[CONFIG_ID_MAX];        /* as written, alias kept: "otlphttp/loki" */
    char path[CONFIG_ID_MAX + 16]; /* YAML path for messages: "exporters.otlphttp/loki" */
    const struct component_descriptor *descriptor;
    bool via_alias;        /* the id's type is a deprecated alias */
    void *config;          /* descriptor->config_size bytes, bound and validated */
    unsigned used_signals; /* SIGNAL_BIT()s of the pipelines that list it (0: unused) */
};

struct config_pipeline {
    char id[CONFIG_ID_MAX]; /* "logs", "logs/2" */
    enum signal signal;
    /* Borrowed pointers into config->components, in the order the pipeline lists them. */
    struct config_component **receivers, **processors, **exporters;
    size_t receiver_count, processor_count, exporter_count;
};

enum telemetry_level { TELEMETRY_NONE = 0, TELEMETRY_BASIC, TELEMETRY_NORMAL, TELEMETRY_DETAILED };

/* One pull Prometheus reader of service::telemetry::metrics::readers. */
struct config_metrics_reader {
    char host[256]; /* "" = all interfaces */
    int port;
    bool type_suffix; /* counters get `_total` (an explicit reader without without_type_suffix) */
};

struct config_telemetry {
    bool log_level_set; /* service::telemetry::logs::level was written */
    enum log_level log_level;
    enum telemetry_level metrics_level;
    struct config_metrics_reader readers[CONFIG_MAX_METRICS_READERS];
    size_t reader_count;
};

struct config {
    json_t *tree; /* the resolved tree (merged, --set applied, expanded), for diagnostics */
    struct config_component *components;
    size_t component_count;
    /* service.extensions in the order written: borrowed pointers into `components`. Only these
     * extensions are built and started, as upstream. */
    struct config_component **extensions;
    size_t extension_count;
    struct config_pipeline *pipelines;
    size_t pipeline_count;
    struct config_telemetry telemetry;
};

/* Resolves and decodes a configuration: `uris` are config locations in merge order (a path,
 * `file:PATH`, `env:VAR` or `yaml:TEXT`, as upstream's --config takes them), `sets` the
 * `key=value` arguments of --set in order. On success *out is a validated config the caller owns
 * (config_free). On failure err holds the message (`invalid configuration: processors.batch:
 * ...`), *out is NULL and -EINVAL / -ENOENT / -ENOMEM is returned. */
int config_load(const char *const *uris, size_t uri_count, const char *const *sets,
                size_t set_count, struct config **out, struct error *err);

/* config_load with one YAML text instead of locations (tests, `yaml:` URIs). `name` is used in
 * parse errors. */
int config_load_text(const char *yaml_text, const char *name, const char *const *sets,
                     size_t set_count, struct config **out, struct error *err);

/* Frees a config and every component config bound in it. NULL is accepted. */
void config_free(struct config *cfg);

/* ---- the resolver steps, exposed for tests ---- */

/* Applies one --set argument ("processors.batch.timeout=2s") to `tree` (an object) the way
 * upstream does: the key's `.` become `::`, "key: value" is parsed as YAML and merged (maps
 * joined, everything else replaced). Returns 0 or -EINVAL ("missing equal sign", YAML errors). */
int config_apply_set(json_t *tree, const char *assignment, struct error *err);

/* Expands every ${...} in the string values of `tree` (in place) as confmap does, then turns
 * `$$` into `$`. Returns 0 or -EINVAL (bad URI, unsupported scheme, invalid variable name,
 * too many recursive expansions) / -ENOMEM. */
int config_expand(json_t *tree, struct error *err);

/* Decodes and validates a resolved tree into a config. Does not take `tree`. */
int config_build(json_t *tree, struct config **out, struct error *err);

/* The component of `kind` with this id, or NULL. */
struct config_component *config_find_component(const struct config *cfg, enum component_kind kind,
                                               const char *id);

#endif
