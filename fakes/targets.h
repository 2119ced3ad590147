/*
 * targets.h - fake Prometheus scrape targets (DESIGN.md §4: `POST /v1/targets`): each one is an
 * HTTP server of its own, bound on the loopback address it was given, so distinct 127.x.y.z
 * addresses stand in for pod IPs (Linux routes all of 127/8 to lo) and a scraper sees one
 * instance per address as it would in a cluster.
 *
 * A target is made from JSON, every field but `bodies` optional:
 *   {"address":"127.0.1.5","port":0,"path":"/metrics",
 *    "bodies":["...text exposition...","...the next scrape's..."],
 *    "content_type":"text/plain; version=0.0.4; charset=utf-8","fault":{...fault.h...}}
 * and answers a request for `path` (any method, as promhttp's handler does) with the bodies in
 * turn, the last one repeating; gzip-compressed with Content-Encoding: gzip when the request's
 * Accept-Encoding names gzip, as client_golang's promhttp does. Any other path gets Go's
 * ServeMux answer, 404 "404 page not found". A target's fault is the fakes' fault (fault.h) and
 * goes first as it does for the backends: latency, stall, reset (the connection dropped), or a
 * status with `body` as the whole answer - {"status":200,"body":"garbage"} serves a body no
 * parser takes.
 *
 * Every target has an id ("1", "2", ... in creation order); control requests name a target by
 * its id, by "address:port", or by its address alone when one target has it.
 *
 * Not done: TLS, basic auth or bearer tokens on targets, OpenMetrics negotiation (the body is
 * served as given, with its content type, whatever Accept says).
 *
 * Thread-safe: the set has one mutex for its list, each target one for its counters; neither is
 * held across I/O or while a server stops.
 */
#ifndef OTEL_FAKES_TARGETS_H
#define OTEL_FAKES_TARGETS_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

#define TARGETS_MAX 256
#define TARGETS_MAX_BODIES 64
#define TARGETS_MAX_PATHS 16 /* distinct request paths counted per target; more go to "other" */

struct targets;
struct fault_spec;

/* NULL on ENOMEM. Caller owns; free with targets_free. */
struct targets *targets_new(void);
/* Stops every target (releasing stalled requests first) and frees the set. NULL is accepted. */
void targets_free(struct targets *t);

/* Parses the JSON of one target and starts its server. Returns the target's view (caller owns)
 * or NULL with `err` filled: -EINVAL for a bad request (the message names the field),
 * -EADDRINUSE or another bind error from the server, -ENOSPC past TARGETS_MAX, -ENOMEM. */
json_t *targets_add(struct targets *t, const char *text, size_t len, struct error *err);
/* {"targets":[view, ...]} in creation order. Caller owns; NULL on ENOMEM. */
json_t *targets_view(struct targets *t);
/* The view of one target, or NULL with `err` filled (-ENOENT: no such target, -EINVAL: an
 * address that more than one target has; the message says which ones). Caller owns. */
json_t *targets_view_one(struct targets *t, const char *name, struct error *err);
/* Stops one target and returns its last view (caller owns), or NULL as targets_view_one. */
json_t *targets_remove(struct targets *t, const char *name, struct error *err);

/* The fault of one target (fault.h): set moves `spec` into the target's injector (*spec is
 * zeroed), clear removes it and releases stalled requests. Both return the fault's view (caller
 * owns) or NULL as targets_view_one (the spec is then left with the caller). */
json_t *targets_set_fault(struct targets *t, const char *name, struct fault_spec *spec,
                          struct error *err);
json_t *targets_clear_fault(struct targets *t, const char *name, struct error *err);
json_t *targets_fault_view(struct targets *t, const char *name, struct error *err);

#endif
