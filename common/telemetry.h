/*
 * telemetry.h - the self-metrics registry of a process, rendered as Prometheus text (format
 * 0.0.4) on the collector's metrics endpoint (DESIGN.md §3 "Self-telemetry").
 *
 * A metric is a name + a label set written as Prometheus text ("receiver=\"otlp\",
 * transport=\"http\""); asking twice for the same pair returns the same handle, so components
 * look their handles up once at create time and then update them lock-free (atomics).
 * Handles live as long as the registry. Thread-safe.
 */
#ifndef OTEL_COMMON_TELEMETRY_H
#define OTEL_COMMON_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

struct telemetry;
struct tm_counter;
struct tm_gauge;
struct tm_histogram;

/* NULL on ENOMEM. Caller owns; free with telemetry_free after every user has stopped. */
struct telemetry *telemetry_new(void);
void telemetry_free(struct telemetry *t);

/* Monotonic counter. `labels` may be NULL or "". NULL on ENOMEM or when `name` is already
 * registered with another type. */
struct tm_counter *telemetry_counter(struct telemetry *t, const char *name, const char *help,
                                     const char *labels);
void tm_counter_add(struct tm_counter *c, uint64_t delta); /* NULL c is a no-op */
uint64_t tm_counter_value(const struct tm_counter *c);

/* Gauge set by its owner. */
struct tm_gauge *telemetry_gauge(struct telemetry *t, const char *name, const char *help,
                                 const char *labels);
void tm_gauge_set(struct tm_gauge *g, double value); /* NULL g is a no-op */
void tm_gauge_add(struct tm_gauge *g, double delta);

/* Gauge read at render time from a callback (e.g. accounted pdata bytes, queue size). */
int telemetry_gauge_fn(struct telemetry *t, const char *name, const char *help, const char *labels,
                       double (*read)(void *ctx), void *ctx);

/* Histogram with explicit upper bounds (ascending; +Inf is implicit). */
struct tm_histogram *telemetry_histogram(struct telemetry *t, const char *name, const char *help,
                                         const char *labels, const double *bounds,
                                         size_t bound_count);
void tm_histogram_observe(struct tm_histogram *h, double value); /* NULL h is a no-op */

/* The whole registry as Prometheus text, families sorted by name. Caller frees. NULL on
 * ENOMEM. */
char *telemetry_render(struct telemetry *t, size_t *len);

#endif
