/*
 * loki_wire.h - what fake Loki's validation needs of a protobuf OTLP logs request, read from
 * its bytes without building the push (loki_otlp.h) or the protobuf-c tree.
 *
 * Loki's answer to a push depends on each entry's timestamp, line length and structured
 * metadata size and count, and on each stream's labels (loki.c: validate_labels,
 * validate_entry). For a request whose every entry passes, those few numbers per entry are all
 * the answer needs, and their extremes decide "every entry passes". loki.c reads the summary
 * below and answers from it when the extremes are within Loki's limits; in every other case
 * (an entry fails, a resource's labels are invalid, anything the summary does not cover) it
 * translates the request in full, which gives the errors their words.
 *
 * The numbers are those loki_otlp_translate gives, computed the same way: the stream labels and
 * the resource's and scope's metadata by translating that resource and scope themselves (with
 * one empty record), the per-record parts from the wire as otlp.go's otlpLogToPushEntry builds
 * them. Not covered (the full path takes them): map or array values in log attributes or
 * bodies, strings with a NUL byte (protobuf-c's C strings end there), and whatever
 * otlp_wire_check is not sure of.
 */
#ifndef OTEL_FAKES_LOKI_WIRE_H
#define OTEL_FAKES_LOKI_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* The extremes over every entry and stream of one request. */
struct loki_wire_summary {
    size_t records;               /* log records = entries */
    int64_t oldest_ns, newest_ns; /* entry timestamps */
    size_t longest_line;          /* bytes */
    size_t most_metadata_entries; /* structured metadata labels of one entry */
    size_t most_metadata_bytes;   /* sum of name and value lengths of one entry */
    size_t most_label_names;      /* stream labels, service_name not counted (ValidateLabels) */
    size_t longest_label_name, longest_label_value;
};

/* What the summaries learnt of resources and scopes (translate_shared in loki_wire.c), kept
 * from request to request: a push carries the same resource bytes many times. Thread-safe (one
 * lock, held briefly). NULL on ENOMEM. */
struct loki_wire_cache;
struct loki_wire_cache *loki_wire_cache_new(void);
/* NULL is accepted. */
void loki_wire_cache_free(struct loki_wire_cache *cache);

/* Summarises the ExportLogsServiceRequest in `buf` (borrowed), with `now_ns` for records
 * without a timestamp, through `cache` (may be NULL: every resource is translated). Returns 0
 * with *out filled; -EAGAIN when the request needs the full path (see the file comment; also a
 * request without records, or with a resource whose labels Loki skips); -ENOMEM. */
int loki_wire_summarize(const uint8_t *buf, size_t len, int64_t now_ns,
                        struct loki_wire_cache *cache, struct loki_wire_summary *out);

#endif
