/*
 * expfmt.h - the text exposition formats a Prometheus scrape returns, parsed into metric families:
 * the Prometheus text format 0.0.4 and OpenMetrics 1.0 text. First slice of the prometheus
 * receiver (issue 10): a parser only, no scraping and no conversion to OTLP.
 *
 * Behaviour mirrors Prometheus' own parsers, which the collector's prometheus receiver vendors
 * (prometheus model/textparse/promparse.go, promlex.l, openmetricsparse.go, openmetricslex.l,
 * interface.go for the choice of format), checked against the exposition-format documentation
 * and the OpenMetrics 1.0 specification. Error texts are upstream's, prefixed with the line:
 * `line 3: expected label name, got "0" ("INVALID") while parsing: "a{0"`.
 *
 * What upstream's parsers do not check is not checked here either (on purpose, so the reference
 * accepts what the collector accepts): repeated or late TYPE/HELP lines, interleaved families,
 * OpenMetrics counter samples without _total, label values that are not numbers for `le`. The one
 * rule added from the layer above the parser is the receiver's rejection of duplicate label names
 * (receiver/prometheusreceiver internal/transaction.go), since a parsed sample cannot hold them,
 * and the scrape loop's refusal of quoted names that are not UTF-8. The OpenMetrics project's own
 * validator of the Go parser (OpenObservability/OpenMetrics src/cmd/openmetricsvalidator/README.md)
 * lists the specification's bad_counter_values, bad_repeated_metadata, bad_grouping_or_ordering
 * and no_metadata cases among those the Go parser accepts.
 *
 * Not done here: protobuf bodies, native histograms, upstream's skipping of _created series when
 * created timestamps are ingested (off by default: they come out as ordinary samples), and its
 * rewriting of `le`/`quantile` values into OpenMetrics float form (values are kept as written).
 */
#ifndef OTEL_REFERENCE_EXPFMT_H
#define OTEL_REFERENCE_EXPFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum expfmt_format {
    EXPFMT_FORMAT_NONE = 0,    /* no format chosen (a fallback argument meaning "none") */
    EXPFMT_FORMAT_PROMETHEUS,  /* text/plain; version=0.0.4 */
    EXPFMT_FORMAT_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
};

/* The types a TYPE line may name. Prometheus' "untyped" and OpenMetrics' "unknown" are the same
 * type (model.MetricTypeUnknown upstream), and so is a family without a TYPE line. */
enum expfmt_type {
    EXPFMT_UNKNOWN = 0,
    EXPFMT_COUNTER,
    EXPFMT_GAUGE,
    EXPFMT_HISTOGRAM,
    EXPFMT_SUMMARY,
    EXPFMT_INFO,           /* OpenMetrics only */
    EXPFMT_STATESET,       /* OpenMetrics only */
    EXPFMT_GAUGEHISTOGRAM, /* OpenMetrics only */
};

/* Hard maxima; going past one rejects the whole body with an error naming the limit. */
struct expfmt_limits {
    size_t max_body_bytes; /* EXPFMT_MAX_BODY_BYTES */
    size_t max_line_bytes; /* EXPFMT_MAX_LINE_BYTES, without the newline */
    size_t max_labels;     /* EXPFMT_MAX_LABELS: per sample, and per exemplar */
    size_t max_samples;    /* EXPFMT_MAX_SAMPLES: in the whole body */
};
#define EXPFMT_MAX_BODY_BYTES ((size_t)64 << 20)
#define EXPFMT_MAX_LINE_BYTES ((size_t)256 << 10)
#define EXPFMT_MAX_LABELS ((size_t)256)
#define EXPFMT_MAX_SAMPLES ((size_t)2000000)

struct expfmt_label {
    char *name;  /* unescaped when it was quoted */
    char *value; /* unescaped: \\ \" \n */
};

struct expfmt_exemplar {
    struct expfmt_label *labels;
    size_t label_count;
    double value;
    bool has_timestamp;
    int64_t timestamp_ms; /* seconds from the text, times 1000, truncated as upstream does */
};

struct expfmt_sample {
    char *name; /* the full metric name, with its suffix: foo_total, foo_bucket, foo_created */
    struct expfmt_label *labels; /* in the order written */
    size_t label_count;
    double value; /* every NaN is Prometheus' normal NaN (bits 0x7ff8000000000001) */
    bool has_timestamp;
    int64_t timestamp_ms;             /* text: milliseconds as written; OpenMetrics: seconds*1000 */
    struct expfmt_exemplar *exemplar; /* NULL when none (always NULL in the Prometheus format) */
    size_t line;                      /* 1-based line of the sample in the body */
};

struct expfmt_family {
    char *name; /* the name of the TYPE/HELP/UNIT lines, else of the first sample */
    enum expfmt_type type;
    char *help; /* NULL when there was no HELP line; unescaped */
    char *unit; /* NULL when there was no UNIT line (always NULL in the Prometheus format) */
    struct expfmt_sample *samples;
    size_t sample_count, sample_capacity;
};

struct expfmt_body {
    enum expfmt_format format;
    struct expfmt_family *families; /* in the order they first appear */
    size_t family_count, family_capacity;
};

/* Chooses the parser for a Content-Type as upstream's textparse.New does: the media type
 * application/openmetrics-text or text/plain (parameters ignored, case-insensitive). A blank,
 * unparsable or unsupported type (protobuf included: not implemented here) takes `fallback`.
 * Returns 0 with *format set; 1 with *format = fallback and upstream's warning in `err` (the scrape
 * goes on); a negative code with upstream's message when there is no fallback (EXPFMT_FORMAT_NONE).
 */
int expfmt_format_for_content_type(const char *content_type, enum expfmt_format fallback,
                                   enum expfmt_format *format, struct error *err);

/* Parses a whole body of `len` bytes (need not be NUL-terminated) in `format`. `limits` NULL
 * means the EXPFMT_MAX_* defaults. On success *out is a new body the caller owns (free it with
 * expfmt_body_destroy). Returns 0, -EINVAL for a body upstream rejects (message with the line in
 * `err`), -E2BIG past a limit, -ENOMEM. Nothing is returned on failure: a scrape is all or none. */
int expfmt_parse(const char *body, size_t len, enum expfmt_format format,
                 const struct expfmt_limits *limits, struct expfmt_body **out, struct error *err);

/* Frees a body and everything in it; NULL and half-built bodies are accepted. */
void expfmt_body_destroy(struct expfmt_body *body);

/* The type's name as upstream writes it in metadata: "counter", ..., "unknown". */
const char *expfmt_type_name(enum expfmt_type type);

#endif
