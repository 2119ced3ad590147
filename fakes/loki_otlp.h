/*
 * loki_otlp.h - Loki's translation of an OTLP logs request into push streams (pipeline.md §8
 * "Stream labels and structured metadata"), the part of fake Loki that decides what a dashboard
 * sees. Internal to fakes/loki*.c and their tests.
 *
 * Mirrors loki@v3.6.4 pkg/loghttp/push/otlp.go (otlpToLokiPushRequest, otlpLogToPushEntry,
 * attributeToLabels, timestampFromLogRecord) with the default per-tenant otlp_config, and the Go
 * library behaviour it leans on: otlptranslator's NormalizeLabel, pdata's Value.AsString,
 * encoding/json for map and slice bodies, strconv.Quote in label strings.
 */
#ifndef OTEL_FAKES_LOKI_OTLP_H
#define OTEL_FAKES_LOKI_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "pdata.h"

struct loki_label {
    char *name;  /* malloc'd */
    char *value; /* malloc'd */
};

/* A list of labels; as a label *set* (stream labels) names are unique and kept sorted. */
struct loki_labels {
    struct loki_label *items;
    size_t count, cap;
};

/* An entry's strings and its metadata array belong to its push (struct loki_push): they are
 * freed with it, all at once, and may be shared between entries (the resource's and the scope's
 * metadata), so none is ever changed in place. */
struct loki_entry {
    int64_t timestamp_ns;
    char *line; /* NUL-terminated; may contain NULs: line_len counts */
    size_t line_len;
    struct loki_labels metadata; /* structured metadata, in Loki's order */
};

/* One stream of one push request. */
struct loki_stream {
    char *key;                 /* Loki's label string: {a="b", c="d"}; malloc'd */
    struct loki_labels labels; /* sorted by name; malloc'd as loki_labels_set makes them */
    struct loki_entry *entries;
    size_t count, cap;
};

struct loki_push_chunk;

/* A push request after translation: streams in order of first appearance. */
struct loki_push {
    struct loki_stream *streams;
    size_t count, cap;
    size_t records;                 /* log records in the OTLP request */
    size_t invalid_resources;       /* resources whose labels failed LabelSet.Validate (skipped) */
    struct loki_push_chunk *chunks; /* the memory of the entries' strings (loki_otlp.c) */
};

/* Translates `req`. `now_ns` stamps records without any timestamp. The push copies what it
 * needs: `req` may go first. Returns 0 or -ENOMEM. On failure `out` is cleared. A request
 * without log records gives no streams (Loki then answers 422, see loki.c). */
int loki_otlp_translate(const otlp_logs_req *req, int64_t now_ns, struct loki_push *out);
/* Frees the push and everything of its entries. */
void loki_push_clear(struct loki_push *push);
/* A copy of `s` in the push's memory (freed with the push), to change a string of an entry
 * without touching the entries that share it. NULL on ENOMEM. */
char *loki_push_strdup(struct loki_push *push, const char *s);

void loki_labels_clear(struct loki_labels *labels);

/* ---- the Go behaviour underneath, exposed for table-driven tests ---- */

/* otlptranslator.NormalizeLabel (v0.0.2, UTF-8 names off): every rune that is not [A-Za-z0-9]
 * becomes `_`; a leading digit gets `key_`; a leading single `_` gets `key`. Caller owns the
 * result; NULL on ENOMEM. */
char *loki_normalize_label(const char *name);

/* strlen(loki_normalize_label(name)) for name[0..len), without making the name. */
size_t loki_normalized_label_length(const char *name, size_t len);

/* True when `key` is in Loki's default list of resource attributes that become index labels. */
bool loki_is_index_attribute(const char *key);

/* True when `label` (already normalised) is in the default discover_service_name list. */
bool loki_is_service_name_source(const char *label);

/* pdata Value.AsString(): strings as is, numbers and booleans as Go prints them, bytes as
 * base64, maps and slices as encoding/json writes them (sorted keys, HTML-escaped). NULL `v`
 * (an empty value) gives "". Caller owns *out (length in *len when non-NULL). Returns 0 or
 * -ENOMEM. */
int loki_any_value_string(const otlp_anyvalue *v, char **out, size_t *len);

/* Formats a double as pdata does (float64AsString: JSON/ES6 style shortest form). */
void loki_format_double(double f, char *out, size_t out_size);

/* Loki's label string of a sorted label set: {a="b", c="d"} with values quoted as
 * strconv.Quote does. Caller owns; NULL on ENOMEM. */
char *loki_labels_string(const struct loki_labels *labels);

/* Sets name=value in a label set (replacing an existing name, as a Go map does), keeping the set
 * sorted. Copies both strings. Returns 0 or -ENOMEM. */
int loki_labels_set(struct loki_labels *labels, const char *name, const char *value);
/* Appends name=value to a list (duplicates allowed, order kept). Returns 0 or -ENOMEM. */
int loki_labels_append(struct loki_labels *labels, const char *name, const char *value);
/* Borrowed value of `name` in a list or set, or NULL. */
const char *loki_labels_get(const struct loki_labels *labels, const char *name);

#endif
