/*
 * control.h - the control API of otel-fakes (DESIGN.md §4), on its own port, JSON in and out:
 *
 *   GET    /healthz                       {"status":"ok"}
 *   GET    /v1/stats                      {"<fake>":{"requests":n,"accepted_requests":n,
 *                                          "items":n}, ...} for cheap polling
 *   GET    /v1/received/{fake}            the backend's own view of what it stored
 *   GET    /v1/received/{fake}?view=otlp  OTLP JSON of the accepted requests
 *   DELETE /v1/received                   resets every fake's data and request log
 *   DELETE /v1/received/{fake}            the same for one fake
 *   GET    /v1/requests/{fake}[?since=N]  the request log (entries with seq > N)
 *   GET    /v1/faults                     every fake's fault
 *   PUT    /v1/faults/{fake}              installs a fault (fault.h for the JSON)
 *   GET    /v1/faults/{fake}              the fault and how many times it fired
 *   DELETE /v1/faults/{fake}              clears it and releases stalled requests
 *   POST   /v1/faults/{fake}/release      releases stalled requests, keeps the fault
 *
 * Errors are JSON `{"error":"..."}`: 404 for an unknown path or fake (naming the known ones),
 * 405 with Allow for a wrong method, 400 for bad JSON or parameters (with the parser's words).
 */
#ifndef OTEL_FAKES_CONTROL_H
#define OTEL_FAKES_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpd.h"

struct fakes;

/* One control request, from explicit parts (strings borrowed; NULL = absent). */
struct control_request {
    const char *method;
    const char *path;
    const char *view;  /* ?view= */
    const char *since; /* ?since= */
    const uint8_t *body;
    size_t body_len;
    bool body_too_large;
};

/* Answers one control request. */
void control_dispatch(struct fakes *fakes, const struct control_request *req,
                      struct http_response *resp);

/* The httpd handler (ctx = struct fakes *). */
void control_handle(void *ctx, const struct http_request *req, struct http_response *resp);

#endif
