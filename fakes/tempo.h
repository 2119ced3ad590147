/*
 * tempo.h - fake Tempo 2.x: OTLP/HTTP `POST /v1/traces` answered as Tempo's embedded collector
 * receiver answers it (receivers.md §1, pipeline.md §9), and a view of what it stored in Tempo's
 * terms: traces by id, spans with service name, name, kind, status, attributes, parent
 * (DESIGN.md §4).
 *
 * Same shape as the other fakes: new/free/handle/view/view_otlp/reset, plus `refuse` for status
 * faults. The ingest step (tempo_ingest) is separate from HTTP so that a gRPC front end can feed
 * it the same way.
 */
#ifndef OTEL_FAKES_TEMPO_H
#define OTEL_FAKES_TEMPO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "httpd.h"
#include "pdata.h"

#define TEMPO_MAX_REQUEST_BODY (20u * 1024 * 1024) /* the receiver's max_request_body_size */
/* The fake's own bound: past this many stored spans it answers Unavailable until reset. */
#define TEMPO_MAX_STORED_SPANS 1000000u

/* One OTLP/HTTP request. Strings are borrowed; NULL = header absent. */
struct tempo_http_request {
    const char *method;
    const char *path;
    const char *content_type;
    const char *content_encoding;
    const uint8_t *body;
    size_t body_len;
    bool body_too_large;
};

struct tempo;

/* NULL on ENOMEM. Caller owns; free with tempo_free. */
struct tempo *tempo_new(void);
void tempo_free(struct tempo *tempo);

/* Ingests one export request, taking `payload` whatever the outcome. A request without spans
 * succeeds at once. Returns 0 (*spans_out = spans stored) or:
 *   -EINVAL  InvalidArgument, Tempo's distributor words in `err` (`trace ids must be 128 bit,
 *            received <n> bits`, `span ids must be 64 bit and not all zero, received <n> bits`);
 *            nothing of the request is stored
 *   -ENOSPC  the fake is full (TEMPO_MAX_STORED_SPANS), -ENOMEM: Unavailable.
 * The request is kept as a copy of its tree: for one that did not arrive as protobuf bytes. */
int tempo_ingest(struct tempo *tempo, struct payload *payload, size_t *spans_out,
                 struct error *err);
/* The same for a request decoded from the `len` bytes of `protobuf` (borrowed): keeps a copy of
 * the bytes instead of the tree, a sixth of the memory. A front end that has the bytes (HTTP
 * protobuf, gRPC) should call this one. */
int tempo_ingest_protobuf(struct tempo *tempo, struct payload *payload, const uint8_t *protobuf,
                          size_t len, size_t *spans_out, struct error *err);

/* The fast way for a protobuf request: keeps it straight from its bytes (borrowed), without
 * decoding, when otlp_wire_check is sure of them and every span's ids pass. Returns 0 (kept,
 * *spans_out), -ENOSPC / -ENOMEM with `err` filled as tempo_ingest_protobuf fills it, or
 * -EAGAIN: nothing kept; decode and call tempo_ingest_protobuf, which answers bad ids, requests
 * without spans and bytes this way does not read. */
int tempo_ingest_wire(struct tempo *tempo, const uint8_t *protobuf, size_t len, size_t *spans_out,
                      struct error *err);

/* Answers one HTTP request (headers read through httpd). *items_out = spans stored. */
void tempo_handle(struct tempo *tempo, const struct http_request *req, struct http_response *resp,
                  size_t *items_out);
/* The same, from explicit parts. */
void tempo_http_export(struct tempo *tempo, const struct tempo_http_request *req,
                       struct http_response *resp, size_t *items_out);

/* Answers `status` as the receiver writes errors: google.rpc.Status (code from the HTTP status
 * as the collector maps it back) in the request's encoding; 2xx as the success body. `message`
 * NULL = Go's status text. */
void tempo_refuse(struct tempo *tempo, const struct tempo_http_request *req,
                  struct http_response *resp, int status, const char *message);
void tempo_refuse_http(struct tempo *tempo, const struct http_request *req,
                       struct http_response *resp, int status, const char *message);

/* {"traces":[{"trace_id":"<hex>","spans":[{"span_id","parent_span_id","service_name","name",
 * "kind","trace_state","status":{"code","message"},"start_time_unix_nano",
 * "end_time_unix_nano","attributes","resource_attributes","scope":{"name","version"},
 * "events","links"}]}]}: traces sorted by id, spans by start time then span id; a span that
 * arrived twice (same id and kind) is shown once, as Tempo's trace combiner does. Built from the
 * kept requests on each call, outside the fake's lock. Caller owns; NULL on ENOMEM. */
json_t *tempo_view(struct tempo *tempo);
/* A JSON array with the OTLP JSON of every stored request, in arrival order. Caller owns;
 * NULL on ENOMEM. */
json_t *tempo_view_otlp(struct tempo *tempo);
void tempo_reset(struct tempo *tempo);

#endif
