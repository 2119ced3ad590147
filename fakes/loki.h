/*
 * loki.h - fake Loki 3.x: the OTLP push endpoint `POST /otlp/v1/logs` (pipeline.md §8) and a view
 * of what it stored in Loki's own terms: streams keyed by index labels, entries with structured
 * metadata (DESIGN.md §4).
 *
 * Same shape as the other fakes (prometheus.h): new/free/handle/view/view_otlp/reset, plus
 * `refuse` for status faults. The HTTP-free core (loki_push) takes the request's parts
 * explicitly, so unit tests drive it without a socket.
 */
#ifndef OTEL_FAKES_LOKI_H
#define OTEL_FAKES_LOKI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpd.h"

/* Limits (Loki's defaults, pipeline.md §8 "Limits and errors"). */
#define LOKI_MAX_RECV_MSG_SIZE (100u * 1024 * 1024) /* distributor max_recv_msg_size */
#define LOKI_MAX_LINE_SIZE (256 * 1024)
#define LOKI_MAX_LABEL_NAMES_PER_SERIES 15
#define LOKI_MAX_LABEL_NAME_LENGTH 1024
#define LOKI_MAX_LABEL_VALUE_LENGTH 2048
#define LOKI_MAX_STRUCTURED_METADATA_SIZE (64 * 1024)
#define LOKI_MAX_STRUCTURED_METADATA_COUNT 128
#define LOKI_REJECT_OLD_SAMPLES_MAX_AGE_NS (7LL * 24 * 3600 * 1000000000LL)
#define LOKI_CREATION_GRACE_PERIOD_NS (10LL * 60 * 1000000000LL)
#define LOKI_INGESTION_RATE_BYTES (4 * 1024 * 1024) /* ingestion_rate_mb: 4 */
/* The fake's own bound: past this many stored entries it answers 503 until reset. */
#define LOKI_MAX_STORED_ENTRIES 1000000u

struct loki_options {
    bool auth_enabled; /* Loki's default is true; the fake's default is false */
    /* Benchmarks only (otel-fakes --discard): validate and answer exactly as usual, count the
     * entries that would be stored (*items_out, so GET /v1/stats still counts them), keep
     * nothing. Views stay empty and LOKI_MAX_STORED_ENTRIES never refuses. */
    bool discard;
    int64_t (*now_ns)(void); /* NULL = wall clock; tests pin it */
};

/* One push as the HTTP layer received it. Strings are borrowed; NULL = header absent. */
struct loki_push_request {
    const char *method;
    const char *path;
    const char *content_type;
    const char *content_encoding;
    const char *org_id; /* X-Scope-OrgID */
    const uint8_t *body;
    size_t body_len;
    bool body_too_large;
};

struct loki;

/* NULL on ENOMEM. Caller owns; free with loki_free. */
struct loki *loki_new(const struct loki_options *opts);
void loki_free(struct loki *loki);

/* Answers one HTTP request (reads the headers through httpd). *items_out = entries stored. */
void loki_handle(struct loki *loki, const struct http_request *req, struct http_response *resp,
                 size_t *items_out);
/* The same, from explicit parts. */
void loki_push(struct loki *loki, const struct loki_push_request *req, struct http_response *resp,
               size_t *items_out);

/* Answers `status` as Loki words it (a status fault): 401 as the auth middleware does
 * (text/plain), 2xx with an empty body, everything else as OTLPError does (google.rpc.Status
 * with code 0, 500 rewritten to 503). `message` NULL = Loki's usual text: for 429 the ingestion
 * rate-limit message with this request's line count and bytes. */
void loki_refuse(struct loki *loki, const struct loki_push_request *req, struct http_response *resp,
                 int status, const char *message);
void loki_refuse_http(struct loki *loki, const struct http_request *req, struct http_response *resp,
                      int status, const char *message);

/* {"tenants":{"<tenant>":{"streams":[{"labels":{...},"entries":[{"timestamp_ns":"<decimal>",
 * "line":"...","structured_metadata":{...}}]}]}}}: streams sorted by Loki's label string,
 * entries in arrival order. Built from the kept requests on each call, outside the fake's lock.
 * Caller owns; NULL on ENOMEM. */
json_t *loki_view(struct loki *loki);
/* A JSON array with the OTLP JSON of every request that had at least one entry stored, in
 * arrival order (as received: entries Loki dropped are still in it). Caller owns; NULL on
 * ENOMEM. */
json_t *loki_view_otlp(struct loki *loki);
/* Forgets everything stored. */
void loki_reset(struct loki *loki);
/* Entries stored, all tenants. */
size_t loki_stored_entries(struct loki *loki);

#endif
