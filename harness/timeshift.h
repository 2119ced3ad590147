/*
 * timeshift.h - moves every timestamp of an OTLP JSON payload so that its earliest one becomes
 * the run start (a step's `timestamps: now`).
 *
 * Payload files hold fixed times so they are reviewable and stable, but the fake Prometheus
 * rejects samples more than 10 minutes in the future (and older than its head window) and the
 * fake Loki rejects entries older than 7 days, as the real ones do. Shifting all times by one
 * offset keeps every interval (span durations, start-to-sample spans, the order of records)
 * and makes the shifted times land at `run start + offset in the payload`, which the golden
 * masking writes as "<time+Nms>": the same in every run.
 *
 * Time fields are the OTLP ones: every key ending in `TimeUnixNano` / `time_unix_nano`
 * (timeUnixNano, startTimeUnixNano, endTimeUnixNano, observedTimeUnixNano, exemplar times),
 * as a decimal string or a number. Zero means "unset" in OTLP and stays zero.
 */
#ifndef HARNESS_TIMESHIFT_H
#define HARNESS_TIMESHIFT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Shifts in place so the earliest non-zero time becomes `anchor_ns`. *count (may be NULL) gets
 * the number of fields rewritten. Returns 0, -EINVAL for a time field that is not a
 * non-negative integer (message names it), or -ENOMEM. */
int timeshift_payload(json_t *payload, int64_t anchor_ns, size_t *count, struct error *err);

#endif
