/*
 * prometheus.h - the fake Prometheus 3 OTLP receiver: a library module the otel-fakes server
 * calls for every HTTP request to the fake's port, and the views a harness reads afterwards.
 *
 * It answers as prom@v3.9.1 does with --web.enable-otlp-receiver and the default `otlp:` config
 * (translation strategy UnderscoreEscapingWithSuffixes, no resource promotion unless configured
 * here, no delta-temporality feature flags) in front of an empty TSDB with the default
 * out-of-order window of 0. See prometheus.c for what it mirrors and what it leaves out.
 */
#ifndef OTEL_FAKES_PROMETHEUS_H
#define OTEL_FAKES_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "httpd.h"

struct prometheus_options {
    /* Default true; false answers the OTLP path with 404 as Prometheus does without
     * --web.enable-otlp-receiver. */
    bool otlp_enabled;
    /* otlp.promote_resource_attributes: a NULL-terminated list of resource attribute names
     * copied onto every series (never overriding a data point attribute), or NULL for none. */
    const char *const *promote_resource_attributes;
    /* room for: translation_strategy, keep_identifying_resource_attributes, ... */
};

struct prometheus;

/* A new, empty fake. `opts` may be NULL for the defaults; it is copied. NULL on ENOMEM.
 * Free with prometheus_free. */
struct prometheus *prometheus_new(const struct prometheus_options *opts);
/* Frees the fake and everything it stored. NULL is accepted. */
void prometheus_free(struct prometheus *p);

/* Handles one HTTP request to the fake (any path), answering exactly as Prometheus 3.9 does:
 * POST /api/v1/otlp/v1/metrics with Content-Type exactly application/x-protobuf or
 * application/json and Content-Encoding gzip or none; decode errors 400 (text/plain, trailing
 * newline); 200 with an empty body on success; 400 for out-of-order, out-of-bounds and
 * duplicate samples, 500 for delta temporality, empty data points and other conversion errors;
 * on any error the whole request is rolled back; other paths 404 `404 page not found\n`.
 * Sets *items_out (may be NULL) to the number of data points in the request (0 if it could not
 * be decoded). Thread-safe: one mutex, held while the request is converted and stored. */
void prometheus_handle(struct prometheus *p, const struct http_request *req,
                       struct http_response *resp, size_t *items_out);

/* What is stored, in Prometheus's own terms:
 *   {"series":[{"labels":{"__name__":"...","job":"...",...},
 *               "samples":[{"timestamp_ms":N,"value":V}, ...]}, ...],
 *    "metadata":{"<metric family>":{"type":"counter","help":"...","unit":"seconds"}, ...}}
 * V is a number, or "NaN", "+Inf", "-Inf", or "stale" for a staleness marker. A native
 * histogram sample (from an exponential histogram) has "histogram":{"count","sum","schema",
 * "zero_count"} instead of "value". Series are sorted by label set, samples by time, metadata by
 * family name, so the text is deterministic. Caller owns the json; NULL on ENOMEM. */
json_t *prometheus_view(struct prometheus *p);
/* Every accepted request as OTLP JSON, in arrival order (a JSON array). Caller owns the json;
 * NULL on ENOMEM. */
json_t *prometheus_view_otlp(struct prometheus *p);
/* Forgets everything stored, as a fresh Prometheus with an empty TSDB. */
void prometheus_reset(struct prometheus *p);

#endif
