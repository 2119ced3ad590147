/*
 * fault.h - fault injection in front of one fake backend (DESIGN.md §4: `PUT /v1/faults/{fake}`).
 *
 * A fault is set from JSON, every field optional:
 *   {"status":503,"retry_after":"2","body":"...","times":2,"latency_ms":200,"stall":false,
 *    "reset":false}
 * and then fires on each request until it has fired `times` times (absent: until cleared). What a
 * firing does, in this order: wait `latency_ms`; if `stall`, hold the request until it is
 * released (`POST /v1/faults/{fake}/release`), the fault is cleared, or the process stops; then
 * either drop the connection without answering (`reset`), or answer `status` in the backend's own
 * error format with `body` as the message and `Retry-After` when given. A fault with neither
 * status nor reset only delays: the backend then handles the request as usual.
 *
 * The gRPC form (a backend with a gRPC front, the fake Tempo):
 *   {"grpc_status":"RESOURCE_EXHAUSTED","message":"RATE_LIMITED: ...","retry_info_delay":"1s"}
 * `grpc_status` is a code name (or its number), `message` the status message, and
 * `retry_info_delay` adds a google.rpc.RetryInfo with that delay to the status details (the only
 * way a collector retries ResourceExhausted, pipeline.md §6); `reset` cancels the stream
 * (RST_STREAM). A fault is about the backend, not one transport, so it fires on either front and
 * each answers in its own terms: a fault given only in HTTP terms answers gRPC with the code the
 * collector maps that status to (503 -> UNAVAILABLE, 429 -> RESOURCE_EXHAUSTED, 400 ->
 * INVALID_ARGUMENT), and one given only in gRPC terms answers HTTP with the status the OTLP
 * receiver maps that code to (receivers.md §1). Derived values are not shown by the fault's view.
 *
 * `"cut_watches": true` acts once, when the fault is set, on a backend that keeps responses open
 * (the Kubernetes API's watches, fakes.h `cut_streams`; other fakes refuse it with 400): every
 * open watch loses its connection at once, and its client re-watches. It combines with the
 * per-request fields, which are installed first, so that {"cut_watches":true,"status":500,
 * "times":3} also fails the re-watches and relists that follow; alone it installs nothing (a PUT
 * replaces the fault, so it clears one set before).
 *
 * The injector counts how many times the fault has fired, for `GET /v1/faults/{fake}`.
 * Thread-safe: one mutex, held briefly; waiting (latency, stall) happens on a condition variable
 * with the mutex released.
 */
#ifndef OTEL_FAKES_FAULT_H
#define OTEL_FAKES_FAULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define FAULT_RETRY_AFTER_MAX 64
#define FAULT_BODY_MAX (1024 * 1024)
#define FAULT_LATENCY_MAX_MS 600000L

#define FAULT_MESSAGE_MAX 480 /* a gRPC status message travels in a header (grpc-message) */
#define FAULT_DELAY_TEXT_MAX 32

struct fault_spec {
    int status;                              /* 0 = none; else 200..599 */
    char retry_after[FAULT_RETRY_AFTER_MAX]; /* "" = no Retry-After header */
    char *body;                              /* malloc'd message, NULL = the backend's usual text */
    long times;      /* firings before it goes inactive; 0 = until cleared */
    long latency_ms; /* 0..FAULT_LATENCY_MAX_MS */
    bool stall;
    bool reset;
    /* gRPC terms (see above). has_grpc_code: a gRPC front answers grpc_code (0..16). */
    bool has_grpc_code;
    int grpc_code;
    char *message;               /* malloc'd status message, NULL = the backend's usual text */
    bool has_retry_info;         /* add RetryInfo{retry_delay} to the status details */
    int64_t retry_info_delay_ns; /* >= 0 */
    char retry_info_delay[FAULT_DELAY_TEXT_MAX]; /* as written, for the view */
    bool http_derived; /* status and body were derived from the gRPC terms */
    bool grpc_derived; /* grpc_code and message were derived from the HTTP terms */
    bool cut_watches;  /* end the backend's open watches when the fault is set (see above) */
};

/* The collector's mappings between the two terms (receivers.md §1 "Error mapping"): the HTTP
 * status its OTLP receiver answers for a gRPC code, and the gRPC code an OTLP/HTTP error status
 * stands for (NewStatusFromMsgAndHTTPCode). */
int fault_http_status_for_grpc(int grpc_code);
int fault_grpc_code_for_http(int status);

/* Parses the JSON text of a fault. Unknown fields, wrong types, values out of range and faults
 * that do nothing are errors (-EINVAL, message names the field). On success the caller owns
 * `out` (free with fault_spec_clear); on failure `out` holds nothing. */
int fault_spec_parse(const char *text, size_t len, struct fault_spec *out, struct error *err);
/* Whether the spec does anything to each request (status, gRPC status, reset, stall, latency):
 * false for one that only cuts watches. */
bool fault_spec_per_request(const struct fault_spec *spec);
/* Frees the body and zeroes the spec. NULL is accepted. */
void fault_spec_clear(struct fault_spec *spec);
/* The spec as JSON, absent fields left out. Caller owns; NULL on ENOMEM. */
json_t *fault_spec_json(const struct fault_spec *spec);

/* What one request must suffer: a copy of the spec taken when the fault fired. */
struct fault_action {
    struct fault_spec spec;      /* owns its body */
    uint64_t release_generation; /* stalls wait until the injector's generation moves past */
};

struct fault;

/* NULL on ENOMEM. Caller owns; free with fault_free. */
struct fault *fault_new(void);
/* Releases waiters (they must have left before the memory goes: call fault_shutdown and stop
 * the server first). NULL is accepted. */
void fault_free(struct fault *f);

/* Installs `spec` (ownership moves to the injector; *spec is zeroed), resetting the firing
 * count. Requests already stalled stay stalled. */
void fault_set(struct fault *f, struct fault_spec *spec);
/* Removes the fault and releases every stalled request. */
void fault_clear(struct fault *f);
/* Releases every stalled request; the fault stays. */
void fault_release(struct fault *f);
/* Releases every waiter for good (latency and stall end at once), for shutdown. */
void fault_shutdown(struct fault *f);

/* Decides for one request: true when the fault fires (then `out` owns a copy of the spec; clear
 * it with fault_action_clear), false otherwise (`out` zeroed). On ENOMEM copying the body the
 * fault still fires, without the body. */
bool fault_take(struct fault *f, struct fault_action *out);
void fault_action_clear(struct fault_action *action);
/* Waits the action's latency, then holds it while it stalls. Returns early on shutdown. */
void fault_wait(struct fault *f, const struct fault_action *action);

/* {"active":bool,"fault":{...}|null,"fired":n,"remaining":n|null,"stalled":n}. Caller owns. */
json_t *fault_view(struct fault *f);
/* How many times the fault has fired since it was set. */
unsigned long fault_fired(struct fault *f);

#endif
