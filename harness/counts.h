/*
 * counts.h - measures the counts that waits and expectations name: a fake's statistic
 * (loki.records, prometheus.samples, tempo.requests ...) or a collector self-metric.
 *
 * A self-metric that is not exposed counts as 0: OpenTelemetry SDKs (and so the collector)
 * expose a counter only once something was recorded, so `otelcol_exporter_send_failed_*`
 * is simply absent when nothing failed. The description says "(absent)" so a typo in a
 * metric name is still visible in a failure message.
 */
#ifndef HARNESS_COUNTS_H
#define HARNESS_COUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include "run.h"
#include "scenario.h"

struct count_value {
    double value;
    bool present; /* false: a self-metric not exposed (value 0) */
};

/* Measures `n` checks with one /v1/stats fetch, one view fetch per fake and one scrape at
 * most. Returns 0 or the first transport error. */
int counts_measure(struct run_ctx *ctx, const struct count_check *checks, size_t n,
                   struct count_value *out, struct error *err);

/* "loki.records = 2 (want >= 3)" / "otelcol_x = 0 (absent; want == 1)". */
void counts_describe(const struct count_check *c, const struct count_value *v, bool with_want,
                     char *buf, size_t size);

#endif
