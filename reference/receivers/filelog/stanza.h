/*
 * stanza.h - the contract between the filelog receiver's file reading (fileconsumer) and its
 * operator pipeline (pkg/stanza in contrib): the entry that flows between operators, field
 * paths, and the pipeline built from the `operators:` list.
 *
 * An entry is the OTLP LogRecord it will become plus its resource attributes, all allocated with
 * the pdata allocator, so turning entries into a logs payload moves pointers and copies nothing.
 * Operators read and write fields by path: `body`, `body.key`, `attributes.key`,
 * `attributes["log.file.path"]`, `resource["k8s.pod.name"]` (nested keys go through kvlist
 * values), as upstream's entry.Field syntax.
 */
#ifndef OTEL_REF_FILELOG_STANZA_H
#define OTEL_REF_FILELOG_STANZA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "pdata.h"

typedef Opentelemetry__Proto__Logs__V1__LogRecord otlp_log_record;

struct stanza_entry {
    otlp_log_record *record;  /* body, attributes, timestamps, severity (pdata-allocated) */
    otlp_keyvalue **resource; /* resource attributes (pdata-allocated array), may be NULL */
    size_t n_resource;
};

/* A new entry with an empty record and observed_time_unix_nano = now. NULL on ENOMEM.
 * Caller owns; free with stanza_entry_free. */
struct stanza_entry *stanza_entry_new(void);
void stanza_entry_free(struct stanza_entry *e);

enum stanza_field_root { STANZA_FIELD_BODY = 0, STANZA_FIELD_ATTRIBUTES, STANZA_FIELD_RESOURCE };

struct stanza_field {
    enum stanza_field_root root;
    char **keys; /* path below the root (malloc'd strings); n_keys == 0 means the root itself */
    size_t n_keys;
};

/* Parses a field path as upstream's entry.Field does (`body`, `attributes.x`,
 * `attributes["x.y"]`, `resource["k"]`, `body.a.b`; any other first key is "unrecognized
 * prefix", as upstream; `attributes` / `resource` alone are accepted, as RootableField).
 * -EINVAL with a message naming the problem. Free with stanza_field_release. */
int stanza_field_parse(const char *text, struct stanza_field *out, struct error *err);
void stanza_field_release(struct stanza_field *f);
/* Borrowed value at the field, or NULL when absent. */
const otlp_anyvalue *stanza_field_get(const struct stanza_entry *e, const struct stanza_field *f);
/* Sets the field to `value` (always taken: pdata-allocated), creating or replacing maps on the
 * way as upstream's getNestedMap; a map value merges into a map target. 0 or -ENOMEM, -EINVAL
 * (a non-map value for the attributes / resource root). */
int stanza_field_set(struct stanza_entry *e, const struct stanza_field *f, otlp_anyvalue *value);
/* Removes the field; the old value is handed to *removed when non-NULL (caller frees with
 * protobuf_c_message_free_unpacked), freed otherwise. 0, or -ENOENT when absent. */
int stanza_field_delete(struct stanza_entry *e, const struct stanza_field *f,
                        otlp_anyvalue **removed);

/* The move of a non-map value from one top-level attribute or resource key to another
 * (`attributes.stream` -> `attributes["log.iostream"]`, `attributes.uid` ->
 * `resource["k8s.pod.uid"]`): the same outcome as stanza_field_delete then stanza_field_set, but
 * the KeyValue node moves instead of being freed and made again. 0, -ENOENT when `from` is
 * absent, -ENOTSUP when the move is not of that kind (use delete and set), -ENOMEM (then nothing
 * changed). */
int stanza_field_move_top_level(struct stanza_entry *e, const struct stanza_field *from,
                                const struct stanza_field *to);

/* Where entries that leave the pipeline go (the receiver's batching emitter). Takes `e`. */
typedef void (*stanza_sink_fn)(void *ctx, struct stanza_entry *e);

struct stanza_pipeline;

/* Builds the operators of `operators` (the config's JSON list, NULL or empty = no operators:
 * entries go straight to the sink) with upstream's wiring: an operator without `output` sends to
 * the next one, the last to the sink; a router only to its routes and default; unknown output
 * ids and cycles are errors. `path` prefixes error messages ("receivers.filelog.operators").
 * `log_name` names the receiver in logs. Caller owns *out. */
int stanza_pipeline_build(const json_t *operators, const char *path, const char *log_name,
                          stanza_sink_fn sink, void *sink_ctx, struct stanza_pipeline **out,
                          struct error *err);
/* Runs one entry (taken) through the operators, in the caller's thread; operators that hold
 * entries (recombine) emit later. One caller at a time. */
void stanza_pipeline_process(struct stanza_pipeline *p, struct stanza_entry *e);
/* Time-based flushes (recombine's force_flush_period); call at least every 100 ms. */
void stanza_pipeline_tick(struct stanza_pipeline *p, int64_t now_ns);
/* Emits everything held (shutdown). */
void stanza_pipeline_flush(struct stanza_pipeline *p);
void stanza_pipeline_free(struct stanza_pipeline *p);

#endif
