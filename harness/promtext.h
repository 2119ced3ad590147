/*
 * promtext.h - reads the collector's self-metrics (Prometheus text exposition format 0.0.4) and
 * answers "what is the value of otelcol_exporter_sent_log_records{exporter="otlphttp/loki"}".
 *
 * A selector is a metric name with optional label matchers (`name` or `name{k="v",k2="v2"}`);
 * the value is the sum over every series that has those labels, so
 * `otelcol_receiver_accepted_spans` adds up all transports. Counters may be exposed with or
 * without a `_total` suffix depending on the collector and its exposition negotiation
 * (pipeline.md §1, UNCONFIRMED upstream), so a name also matches `<name>_total`. Comments and
 * histogram/summary structure are not interpreted: `_bucket`, `_sum`, `_count` are names.
 */
#ifndef HARNESS_PROMTEXT_H
#define HARNESS_PROMTEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PROMTEXT_MAX_LABELS 16

struct promtext_label {
    char *name;
    char *value;
};

struct promtext_sample {
    char *name;
    struct promtext_label labels[PROMTEXT_MAX_LABELS];
    size_t label_count;
    double value;
};

struct promtext {
    struct promtext_sample *samples;
    size_t count;
    size_t cap;
};

/* Parses the exposition text. Malformed lines are skipped (a harness reading a collector must
 * not fail on a metric it does not care about); -ENOMEM is the only error. Free with
 * promtext_free. */
int promtext_parse(const char *text, size_t len, struct promtext *out, struct error *err);
void promtext_free(struct promtext *m);

/* Sums the series matching `selector`. *found tells whether any series matched. Returns -EINVAL
 * for a malformed selector. */
int promtext_sum(const struct promtext *m, const char *selector, double *sum, bool *found,
                 struct error *err);

/* Checks a selector's syntax without any metrics (for the scenario loader). */
int promtext_check_selector(const char *selector, char *why, size_t why_size);

/* Every sample whose name starts with one of `prefixes` (NULL-terminated), histogram buckets
 * left out, as {"name{labels}": value} for reports. Caller owns the result. */
json_t *promtext_to_json(const struct promtext *m, const char *const *prefixes);

#endif
