/*
 * mask.h - replaces volatile values in a backend view by stable tokens that say what they
 * stand for, before the view is compared with (or written as) a golden.
 *
 * Rules, applied in this order to every value of the document:
 *  1. key rules (a table in mask.c): by view and key name, e.g. the request log's `time` ->
 *     "<request-time>", `observed_timestamp` -> "<observed-time>", a User-Agent ->
 *     "<user-agent>" (it names the collector build, and goldens must hold for any collector).
 *  2. host names: a string equal to this machine's host name (resourcedetection's host.name)
 *     -> "<host-name>".
 *  3. ports: "127.0.0.1:43127", "localhost:43127" inside any string -> "127.0.0.1:<port>".
 *  4. times: a number or numeric string that, read as ns, us, ms or s since the epoch, falls
 *     within a day of the run start, and RFC 3339 strings likewise -> "<time+1500ms>", the
 *     offset from the run start. Payloads sent with `timestamps: now` are shifted so that their
 *     first timestamp is the run start, so these offsets are the payload's own and stable.
 */
#ifndef HARNESS_MASK_H
#define HARNESS_MASK_H

#include <jansson.h>
#include <stdint.h>

#include "error.h"

struct mask_context {
    int64_t run_start_ns; /* wall clock, whole milliseconds */
    const char *hostname; /* NULL = not masked */
};

/* Masks `doc` in place. Returns 0 or -ENOMEM. */
int mask_apply(json_t *doc, const char *view, const struct mask_context *ctx, struct error *err);

/* The token for a time value `ns` (exposed for tests): "<time+1500ms>", "<time-2s>" is not
 * used: always ms, or ns when not a whole millisecond. */
void mask_time_token(int64_t offset_ns, char *buf, size_t size);

#endif
