/*
 * prom_to_otlp.h - one parsed scrape (an expfmt_body) turned into an OTLP metrics payload, as the
 * collector's prometheus receiver does it, and the synthetic up/scrape_* gauges of a scrape.
 *
 * Mirrors contrib receiver/prometheusreceiver (facts: shared/facts/receivers.md §3, read at
 * v0.142.0; the collector version written in the scope is 0.144.0): internal/prom_to_otlp.go
 * (CreateResource), internal/transaction.go (scope, target_info), internal/util.go
 * (convToMetricType, notUsefulLabels), internal/metricfamily.go (groups, buckets, staleness),
 * internal/metadata.go (the synthetic metrics' descriptions), pkg/translator/prometheus
 * (unit_to_ucum.go, the prometheus.type metadata key).
 *
 * Not done here: scraping, relabelling, honor_labels and staleness (the scrape loop's job, later;
 * a sample whose value is already Prometheus' StaleNaN is converted to a
 * NoRecordedValue point), the __meta_kubernetes_* resource attributes, otel_scope_info and the
 * other otel_scope_* labels as scope attributes, exemplars, native histograms, _created on info
 * and stateset, and two checks seen only in contrib's main branch (not confirmed for 0.144): the
 * drop of histograms with NaN or decreasing buckets, and of samples whose timestamp differs
 * from their group's.
 */
#ifndef OTEL_REFERENCE_PROM_TO_OTLP_H
#define OTEL_REFERENCE_PROM_TO_OTLP_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "expfmt.h"
#include "pdata.h"

/* The scope every scraped metric gets unless otel_scope_name/otel_scope_version labels say
 * otherwise (internal/transaction.go). */
#define PROM_TO_OTLP_SCOPE_NAME                                                                    \
    "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"
#define PROM_TO_OTLP_COLLECTOR_VERSION "0.144.0"

/* Prometheus' value.StaleNaN: the NaN bit pattern of a staleness marker. */
#define PROM_STALE_NAN_BITS UINT64_C(0x7ff0000000000002)

/* The scrape target, as its discovered labels give it. All borrowed; job and instance must not
 * be NULL, scheme may be NULL (then url.scheme is ""). */
struct prom_target {
    const char *job;      /* job label: service.name */
    const char *instance; /* instance label, host:port: service.instance.id, server.* */
    const char *scheme;   /* __scheme__: url.scheme */
};

/* What the scrape loop reports for one scrape (prometheus scrape.go:report). */
struct prom_scrape_report {
    bool up; /* false for a failed scrape */
    double duration_seconds;
    double samples_scraped;
    double samples_post_metric_relabeling;
    double series_added;
};

/* Converts `body` (borrowed) scraped from `target` at `scrape_time_ns` (truncated to the
 * millisecond, as the scrape loop's timestamps are) into a new metrics payload: one Resource per
 * (job, instance), one ScopeMetrics per scope, the families in the order of the body. A sample's
 * own job/instance labels win over the target's. On success *out is the caller's (payload_free).
 * Returns 0 or -ENOMEM (nothing is returned then). Conversion never fails for odd data: what
 * upstream drops (gaugehistogram, a histogram or summary group without _count) is left out. */
int prom_to_otlp_convert(const struct expfmt_body *body, const struct prom_target *target,
                         uint64_t scrape_time_ns, struct payload **out, struct error *err);

/* Appends the synthetic gauges up, scrape_duration_seconds, scrape_samples_scraped,
 * scrape_samples_post_metric_relabeling and scrape_series_added of `report` to `payload` (a
 * metrics payload the caller keeps owning: the result of prom_to_otlp_convert, or an empty one
 * from payload_new for a failed scrape), in the target's Resource and the receiver's scope,
 * which are created when missing. Returns 0 or -ENOMEM; on -ENOMEM the payload may hold part of
 * the gauges and should be dropped. */
int prom_to_otlp_append_scrape_report(struct payload *payload, const struct prom_target *target,
                                      uint64_t scrape_time_ns,
                                      const struct prom_scrape_report *report, struct error *err);

#endif
