/*
 * mask.h - replaces volatile values in a backend view by stable tokens that say what they
 * stand for, before the view is compared with (or written as) a golden.
 *
 * Rules, applied in this order to every value of the document:
 *  1. key rules (a table in mask.c): by view and key name, e.g. the request log's `time` ->
 *     "<request-time>", `observed_timestamp` -> "<observed-time>", a User-Agent ->
 *     "<user-agent>" (it names the collector build, and goldens must hold for any collector).
 *  2. host names: a string equal to this machine's host name (resourcedetection's host.name),
 *     to its short name, or to the short name followed by a domain (the `dns` hostname source
 *     gives the /etc/hosts canonical name) -> "<host-name>".
 *  3. ports: "127.0.0.1:43127", "localhost:43127" inside any string -> "127.0.0.1:<port>".
 *  4. times: a number or numeric string that, read as ns, us, ms or s since the epoch, falls
 *     within a day of the run start, and RFC 3339 strings likewise -> "<time+1500ms>", the
 *     offset from the run start. Payloads sent with `timestamps: now` are shifted so that their
 *     first timestamp is the run start, so these offsets are the payload's own and stable; pod
 *     log lines get their times from the run start too (pod_log.h). RFC 3339 times inside a
 *     longer string (a raw container log line that reached Loki unparsed) are replaced in place.
 *  5. the run's temp dir inside any string (the log.file.path of a pod log) -> "<run-dir>".
 *  6. Loki entries whose time is the collector's observed time: Loki stamps an entry with the
 *     record's time, else its observed time (pipeline.md §8), and adds `observed_timestamp`
 *     to the structured metadata only when both are set. So in a run that wrote pod logs, an
 *     entry without `observed_timestamp` whose time is not one the run gave a line (a line no
 *     parser took a time from) carries the wall clock of the collector's read: its
 *     timestamp_ns becomes "<observed-time>".
 *  7. strings longer than MASK_LONG_STRING -> "<N bytes, fnv1a64 H: first ... last>", so a
 *     golden of 100 KiB lines stays readable and still pins every byte.
 */
#ifndef HARNESS_MASK_H
#define HARNESS_MASK_H

#include <jansson.h>
#include <stdint.h>

#include "error.h"

#include <stdbool.h>

#define MASK_LONG_STRING 2048

struct mask_context {
    int64_t run_start_ns; /* wall clock, whole milliseconds */
    const char *hostname; /* NULL = not masked */
    const char *run_dir;  /* NULL = not masked */
    /* Rule 6: whether `ns` is a time the run gave a pod log line; NULL = the run wrote none. */
    bool (*is_line_time)(const void *opaque, int64_t ns);
    const void *line_time_ctx;
};

/* Masks `doc` in place. Returns 0 or -ENOMEM. */
int mask_apply(json_t *doc, const char *view, const struct mask_context *ctx, struct error *err);

/* The token for a time value `ns` (exposed for tests): "<time+1500ms>", "<time-2s>" is not
 * used: always ms, or ns when not a whole millisecond. */
void mask_time_token(int64_t offset_ns, char *buf, size_t size);

#endif
