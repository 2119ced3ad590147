/*
 * retry.h - the retry decision and the exponential backoff of the exporters, as pure functions.
 *
 * Mirrors core@v0.144.0:
 *   config/configretry/backoff.go            (retry_on_failure keys, defaults, Validate messages)
 *   exporter/exporterhelper/internal/retry_sender.go
 *                                            (permanent => drop; delay = max(backoff, throttle);
 *                                             give up when now + delay passes max_elapsed_time)
 *   exporter/otlphttpexporter/otlp.go        (retryable statuses 429/502/503/504; Retry-After on
 *                                             429/503 as integer seconds or an RFC 1123 date)
 *   exporter/otlpexporter/otlp.go            (retryable gRPC codes; ResourceExhausted only with
 *                                             RetryInfo)
 *   github.com/cenkalti/backoff/v5 exponential.go (the interval sequence and its randomisation)
 *
 * Nothing here reads a clock, draws a random number or sleeps: callers pass `now` and a random
 * value in [0, 1), so every rule is testable with a table (reference/tests/test_retry.c).
 * Deliberately not here: the retry loop itself (it lives with the exporter that owns the thread).
 */
#ifndef OTEL_REF_EXPORTERHELPER_RETRY_H
#define OTEL_REF_EXPORTERHELPER_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* retry_on_failure, durations in nanoseconds. Upstream defaults: enabled, 5s, 0.5, 1.5, 30s, 5m. */
struct retry_config {
    bool enabled;
    int64_t initial_interval_ns;
    double randomization_factor;
    double multiplier;
    int64_t max_interval_ns;
    int64_t max_elapsed_time_ns; /* 0 = retry forever */
};

/* Upstream's BackOffConfig.Validate, same order, same messages (without the YAML path).
 * Returns 0 or -EINVAL. A disabled config is always valid, as upstream. */
int retry_config_validate(const struct retry_config *cfg, struct error *err);

/* What an HTTP status means for an OTLP/HTTP export. */
enum retry_class {
    RETRY_CLASS_SUCCESS = 0, /* 2xx */
    RETRY_CLASS_RETRYABLE,   /* 429, 502, 503, 504 only */
    RETRY_CLASS_PERMANENT,   /* everything else, 500 included: dropped at once */
};
enum retry_class retry_classify_http_status(int status);

/* What a gRPC status code means for an OTLP/gRPC export (exporter/otlpexporter/otlp.go
 * shouldRetry): OK succeeds; Canceled, DeadlineExceeded, Aborted, OutOfRange, Unavailable and
 * DataLoss are retryable; ResourceExhausted only when the status carried a google.rpc.RetryInfo
 * (the server says it can recover); every other code is permanent. */
enum retry_class retry_classify_grpc_status(int code, bool has_retry_info);

/* True for the statuses whose Retry-After upstream honours (429 and 503). */
bool retry_status_honours_retry_after(int status);

/* Parses a Retry-After value as upstream does: first Go's strconv.Atoi (optional sign, decimal
 * digits, nothing else), then time.Parse(time.RFC1123) ("Mon, 02 Jan 2006 15:04:05 GMT"; any zone
 * abbreviation counts as UTC, which is what Go does for a zone it does not know). `now_unix_ns`
 * is the wall clock, used only for the date form. The delay may be negative (a date in the
 * past); the caller takes max(backoff, delay) as upstream. Returns 0, or -EINVAL when the value
 * is neither form (then upstream retries with the plain backoff). */
int retry_parse_retry_after(const char *value, int64_t now_unix_ns, int64_t *delay_ns);

/* The exponential backoff of cenkalti/backoff v5 as the retry sender configures it (no
 * max-elapsed inside it: v5 dropped that; the sender checks it, see retry_plan). */
struct retry_backoff {
    int64_t initial_interval_ns;
    double randomization_factor;
    double multiplier;
    int64_t max_interval_ns;
    int64_t current_interval_ns; /* 0 until the first call, as v5 */
};
void retry_backoff_init(struct retry_backoff *b, const struct retry_config *cfg);
/* Next delay: current * (1 +- factor) drawn with `random01` in [0, 1) exactly as v5's
 * getRandomValueFromInterval (min + random * (max - min + 1) ns; no randomness at factor 0),
 * then current *= multiplier, capped at max_interval. */
int64_t retry_backoff_next(struct retry_backoff *b, double random01);

enum retry_verdict {
    RETRY_VERDICT_WAIT = 0,  /* wait *wait_ns, then try again */
    RETRY_VERDICT_EXHAUSTED, /* next try would start after started + max_elapsed_time */
    RETRY_VERDICT_DEADLINE,  /* next try would start after the shutdown deadline */
};
/* Decides what follows a retryable failure: delay = max(backoff, throttle) when the server sent
 * a usable Retry-After (`has_throttle`), else backoff; exhausted when max_elapsed_time is set and
 * now + delay is after started + max_elapsed_time (upstream's `maxElapsedTime.Before(next)`);
 * past the deadline when `deadline_ns` (monotonic, 0 = none) is before now + delay. All times are
 * monotonic nanoseconds. */
enum retry_verdict retry_plan(const struct retry_config *cfg, int64_t now_ns, int64_t started_ns,
                              int64_t backoff_ns, bool has_throttle, int64_t throttle_ns,
                              int64_t deadline_ns, int64_t *wait_ns);

/* Formats a duration as Go's time.Duration.String does ("5s", "7.5s", "1m30s", "250ms",
 * "1.5µs", "0s"), so log lines read like upstream's. Always NUL-terminates. */
void retry_format_duration(int64_t ns, char *out, size_t size);

#endif
