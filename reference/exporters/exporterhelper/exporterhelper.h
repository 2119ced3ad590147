/*
 * exporterhelper.h - what every exporter of otelcol-ref shares, as upstream's exporterhelper is
 * shared by its exporters: the retry_on_failure and sending_queue options (bound from the tables
 * here into the exporter's own config), their validation, the sending queue with its consumer
 * threads, the retry loop, the exporter self-metrics and upstream's log lines for failures.
 *
 * Mirrors core@v0.144.0 exporter/exporterhelper (internal/base_exporter.go, retry_sender.go,
 * queue_sender.go, obs_report_sender.go, queuebatch/config.go) and config/configretry/backoff.go.
 *
 * An exporter supplies a sender: how to make one consumer's private state (a connection), how to
 * encode a request once, and how to make one attempt of it, whose outcome is classified as
 * upstream classifies it (success, retryable maybe with a throttle, permanent). Everything around
 * the attempt is here, so the otlp_http and otlp_grpc exporters answer, retry, count and log
 * alike.
 */
#ifndef OTEL_REF_EXPORTERHELPER_H
#define OTEL_REF_EXPORTERHELPER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "component.h"
#include "error.h"
#include "options.h"
#include "pdata.h"
#include "retry.h"
#include "sending_queue.h"

/* retry_on_failure, bound by exporterhelper_retry_options (durations in nanoseconds). */
struct exporterhelper_retry_options {
    bool enabled;
    int64_t initial_interval_ns;
    double randomization_factor;
    double multiplier;
    int64_t max_interval_ns;
    int64_t max_elapsed_time_ns;
};

/* sending_queue, bound by exporterhelper_queue_options. */
struct exporterhelper_queue_options {
    bool enabled;
    int64_t num_consumers;
    int64_t queue_size;
    bool block_on_overflow;
    bool wait_for_result;
    char *sizer;
    char *storage;
    json_t *batch;
    bool batch_present;
};

/* Option tables for a member of the types above: use them as
 *   {OPT_OBJECT, "retry_on_failure", NULL, offsetof(struct my_config, retry), "...", 0,
 *    exporterhelper_retry_options, 0}
 * (an OPT_OBJECT binds its table at its own offset). */
extern const struct option exporterhelper_retry_options[];
extern const struct option exporterhelper_queue_options[];

/* configretry's BackOffConfig.Validate and queuebatch's Config.Validate, in upstream's order and
 * words, prefixed "retry_on_failure: " / "sending_queue: ", plus what otelcol-ref does not do
 * (persistent storage, sizers other than requests, wait_for_result, exporter-side batching).
 * Returns 0 or -EINVAL / -ENOTSUP. */
int exporterhelper_validate(const struct exporterhelper_retry_options *retry,
                            const struct exporterhelper_queue_options *queue, struct error *err);

/* The outcome of one attempt. `text` is upstream's err.Error() for it ("rpc error: code = ..."
 * or "error exporting items, request to ... responded with HTTP Status Code ..."), already with
 * upstream's "Permanent error: " / "Throttle (5s), error: " wrapping where upstream has one. */
struct exporterhelper_attempt {
    enum retry_class cls;
    bool aborted_at_deadline; /* cut short because the shutdown deadline passed */
    bool has_throttle;        /* the server said how long to wait (Retry-After, RetryInfo) */
    int64_t throttle_ns;
    char text[ERROR_MESSAGE_MAX];
};

/* What an exporter supplies. All callbacks get the `ctx` given to exporterhelper_create. */
struct exporterhelper_sender {
    /* One consumer's private state (its connection), made in the thread that starts the queue,
     * or for a single inline export when the queue is disabled (then `queue` is NULL). The queue
     * is for the state to read the drain deadline while an attempt runs. */
    int (*worker_create)(void *ctx, struct sending_queue *queue, void **worker, struct error *err);
    void (*worker_destroy)(void *worker); /* accepts NULL */
    /* Encodes the request once for all its attempts, in the thread that hands it to the
     * exporter (the queue holds the encoded body); caller frees *body. 0 or -ENOMEM. */
    int (*encode)(void *ctx, const struct payload *p, uint8_t **body, size_t *len);
    /* One attempt of an encoded request; fills `out` (zeroed by the caller). `deadline_ns` is
     * the drain deadline (monotonic ns) once shutdown began, 0 before. */
    void (*attempt)(void *ctx, void *worker, enum signal signal, const uint8_t *body, size_t len,
                    int64_t deadline_ns, struct exporterhelper_attempt *out);
};

struct exporterhelper;

/* Builds the helper for component `c` (its log name, id and telemetry are used): registers the
 * otelcol_exporter_* metrics with the `exporter` attribute, and the queue (stopped) unless it is
 * disabled. `retry` and `queue` must have been validated. `thread_name` names the consumer
 * threads (15 characters at most). Returns NULL with err filled. Caller owns; free with
 * exporterhelper_destroy. */
struct exporterhelper *exporterhelper_create(struct component *c,
                                             const struct exporterhelper_retry_options *retry,
                                             const struct exporterhelper_queue_options *queue,
                                             const struct exporterhelper_sender *sender, void *ctx,
                                             const char *thread_name, struct error *err);

/* Starts the consumer threads (nothing to do without a queue). */
int exporterhelper_start(struct exporterhelper *h, struct error *err);

/* The exporter's consume: takes ownership of `p` whatever it returns. Encodes it in the caller's
 * thread. With the queue, offers the encoded request (full -> ERROR_REFUSED "sending queue is
 * full", counted in enqueue_failed, checked before encoding); without it, exports in the caller's
 * thread with retries and returns the final result as upstream does. */
int exporterhelper_consume(struct exporterhelper *h, struct payload *p, struct error *err);

/* Refuses `p` before it is queued, logging upstream's "Exporting failed. Rejecting data." line;
 * frees `p` and returns `code` with err filled. */
int exporterhelper_reject(struct exporterhelper *h, struct payload *p, size_t items, int code,
                          enum error_kind kind, const char *text, struct error *err);

/* Stops accepting and drains the queue until `deadline_ms` (monotonic ms); what is left is
 * dropped, logged and counted. */
void exporterhelper_shutdown(struct exporterhelper *h, long long deadline_ms);

/* Frees everything; accepts NULL and a helper whose create failed midway. */
void exporterhelper_destroy(struct exporterhelper *h);

/* The retry settings as retry.c takes them. */
void exporterhelper_retry_config(const struct exporterhelper_retry_options *in,
                                 struct retry_config *out);

/* The Export*ServiceResponse type of a signal. */
const ProtobufCMessageDescriptor *exporterhelper_response_descriptor(enum signal s);

/* Logs upstream's Warn "Partial success response" (message, dropped_spans / dropped_data_points
 * / dropped_log_records) when the decoded Export*ServiceResponse `response` carries a non-empty
 * partial_success; a partial success is neither retried nor counted as a failure. */
void exporterhelper_warn_partial_success(const char *log_name, enum signal s,
                                         const ProtobufCMessage *response);

/* The User-Agent otelcol-ref's exporters send: "OpenTelemetry Collector Reference/0.144.0
 * (linux/amd64)", upstream's "<description>/<version> (<GOOS>/<GOARCH>)" shape. */
const char *exporterhelper_user_agent(void);

/* A value for a `key="value"` log field: quotes, backslashes and newlines escaped. */
void exporterhelper_log_escape(const char *in, char *out, size_t size);

#endif
