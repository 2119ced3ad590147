/*
 * component.h - the component model of otelcol-ref (DESIGN.md §3, STYLE.md "Layout").
 *
 * Each component type registers one constant `struct component_descriptor`, defined last in its
 * entry file (fluent-bit's plugin descriptors): type name, kind, signals, option table, and the
 * create/start/consume/shutdown/destroy callbacks. The service knows components only through
 * these descriptors, found in the static registry (registry.c).
 *
 * Component ids are `type[/name]` as upstream. A consumer takes ownership of the payload it is
 * given whatever it returns; a fan-out clones for all but the last consumer.
 */
#ifndef OTEL_REF_COMPONENT_H
#define OTEL_REF_COMPONENT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "options.h"
#include "pdata.h"

enum component_kind { KIND_RECEIVER = 0, KIND_PROCESSOR, KIND_EXPORTER, KIND_EXTENSION };

#define SIGNAL_BIT(s) (1u << (s))
#define SIGNALS_ALL                                                                                \
    (SIGNAL_BIT(SIGNAL_TRACES) | SIGNAL_BIT(SIGNAL_METRICS) | SIGNAL_BIT(SIGNAL_LOGS))

/* Something that takes payloads: the next processor, an exporter, or a fan-out to several.
 * consume() takes ownership of `p` in every case. Returns 0 when accepted, or a negative code
 * with err->kind REFUSED / RETRYABLE / PERMANENT (the receiver maps it to its protocol). */
struct consumer {
    int (*consume)(struct consumer *self, struct payload *p, struct error *err);
    void *ctx;
};

static inline int consumer_consume(struct consumer *c, struct payload *p, struct error *err)
{
    return c->consume(c, p, err);
}

struct component;

struct component_descriptor {
    const char *type; /* "otlp", "batch", "otlp_http" */
    enum component_kind kind;
    unsigned signals;             /* SIGNAL_BIT()s it supports */
    const char *deprecated_alias; /* older type name still accepted with upstream's warning
                                     ("otlphttp" for "otlp_http"), or NULL */
    const char *summary;          /* one line for `otelcol-ref components` */
    const struct option *options;
    size_t config_size; /* bytes of the config struct the options bind into */
    /* Cross-field checks after binding; message without the path (the service adds it). */
    int (*validate)(const void *config, struct error *err);
    /* Builds the instance from c->config (already bound and validated). For receivers, the
     * consumers per signal are in c->next[signal] (NULL for unused signals); processors consume
     * through c->next[signal] too. Sets c->state. Must not start threads or listen. */
    int (*create)(struct component *c, struct error *err);
    /* Starts threads, listens. Exporters and processors are started before receivers. */
    int (*start)(struct component *c, struct error *err);
    /* Processors and exporters: takes ownership of p. */
    int (*consume)(struct component *c, struct payload *p, struct error *err);
    /* Stops accepting, flushes and drains within `deadline_ms` (monotonic ms), keeps nothing
     * accepted unsent where it can. Receivers are shut down first, exporters last. */
    void (*shutdown)(struct component *c, long long deadline_ms);
    /* Frees c->state; must accept a half-built state (create failed midway). */
    void (*destroy)(struct component *c);
};

struct component {
    const struct component_descriptor *descriptor;
    char id[128];                /* "otlp_http/loki" as written in the config (alias kept) */
    char log_name[160];          /* "exporter/otlp_http/loki" for log lines and telemetry */
    enum signal pipeline_signal; /* processors are instantiated per pipeline: its signal */
    char pipeline_id[64]; /* processors: the pipeline ("logs", "traces/2"); empty otherwise */
    void *config;         /* config_size bytes, bound from the option table */
    void *state;          /* the instance, owned by the component's create/destroy */
    struct consumer *next[SIGNAL_COUNT]; /* downstream per signal, owned by the service */
    struct consumer self;        /* how upstream components reach this one (processor/exporter) */
    struct telemetry *telemetry; /* self-metrics registry, borrowed */
};

/* The registry: every built-in descriptor (registry.c). NULL-terminated. */
extern const struct component_descriptor *const component_registry[];

/* Finds a descriptor by type name or deprecated alias. *via_alias is set when the alias
 * matched. NULL when unknown. */
const struct component_descriptor *component_find(enum component_kind kind, const char *type,
                                                  bool *via_alias);

const char *component_kind_name(enum component_kind kind);    /* "receiver" ... */
const char *component_kind_section(enum component_kind kind); /* "receivers" ... */

#endif
