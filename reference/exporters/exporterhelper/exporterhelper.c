/*
 * exporterhelper.c - the sending queue, retry loop, self-metrics and failure logs every exporter
 * shares (see exporterhelper.h).
 *
 * Mirrors core@v0.144.0:
 *   exporter/exporterhelper/internal/retry_sender.go   permanent => drop at once; otherwise wait
 *       max(backoff, throttle) and retry, "Exporting failed. Will retry the request after
 *       interval." (Info); give up with "no more retries left: ..." past max_elapsed_time
 *   exporter/exporterhelper/internal/base_exporter.go  "Exporting failed. Rejecting data." with
 *       upstream's hints when retry or queue are off; obs_report_sender.go: sent and send_failed
 *       recorded on every outcome, enqueue_failed when the queue refuses
 *   exporter/exporterhelper/internal/queue_sender.go, queuebatch/{config.go,memory_queue.go}
 *       "sending queue is full", "Exporting failed. Dropping data." (Error) with dropped_items
 *   config/configretry/backoff.go  retry_on_failure defaults and validation
 *
 * Threads: the queue's consumer threads (sending_queue.h) run process(); each keeps one sender
 * worker (its connection) and its own jitter state for its whole life. Without a queue, an
 * export runs in the caller's thread with a short-lived worker.
 *
 * Deliberately different from upstream: one queue per exporter instance, shared by the signals
 * it serves (upstream has one per signal: identical whenever an exporter serves one signal, as
 * every exporter of the team's config does); shutdown keeps retrying until the shutdown deadline
 * (DESIGN.md §3: lose nothing accepted) where upstream gives each queued request one last try.
 */
#include "exporterhelper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "telemetry.h"

#define LOG_VALUE_MAX 1100

#define RETRY(field) offsetof(struct exporterhelper_retry_options, field)
#define QUEUE(field) offsetof(struct exporterhelper_queue_options, field)

const struct option exporterhelper_retry_options[] = {
    {OPT_BOOL, "enabled", "true", RETRY(enabled), "retry retryable failures", 0, NULL, 0},
    {OPT_DURATION, "initial_interval", "5s", RETRY(initial_interval_ns),
     "wait after the first failure", 0, NULL, 0},
    {OPT_DOUBLE, "randomization_factor", "0.5", RETRY(randomization_factor),
     "jitter: interval * (1 +- factor), a number in [0, 1]", 0, NULL, 0},
    {OPT_DOUBLE, "multiplier", "1.5", RETRY(multiplier), "interval growth per retry, a number", 0,
     NULL, 0},
    {OPT_DURATION, "max_interval", "30s", RETRY(max_interval_ns), "cap of the interval", 0, NULL,
     0},
    {OPT_DURATION, "max_elapsed_time", "5m", RETRY(max_elapsed_time_ns),
     "give up after this long (0 = never)", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

const struct option exporterhelper_queue_options[] = {
    {OPT_BOOL, "enabled", "true", QUEUE(enabled), "queue requests and export them asynchronously",
     0, NULL, 0},
    {OPT_INT, "num_consumers", "10", QUEUE(num_consumers),
     "consumer threads, each with its own connection", 0, NULL, 0},
    {OPT_INT, "queue_size", "1000", QUEUE(queue_size), "maximum queued requests", 0, NULL, 0},
    {OPT_BOOL, "block_on_overflow", "false", QUEUE(block_on_overflow),
     "wait for room instead of refusing", 0, NULL, 0},
    {OPT_BOOL, "wait_for_result", "false", QUEUE(wait_for_result), "not supported by otelcol-ref",
     0, NULL, 0},
    {OPT_STRING, "sizer", "requests", QUEUE(sizer), "queue_size unit (only requests here)", 0, NULL,
     0},
    {OPT_STRING, "storage", NULL, QUEUE(storage), "persistent queue extension (not supported)", 0,
     NULL, 0},
    {OPT_JSON, "batch", NULL, QUEUE(batch), "exporter-side batching (not supported)", OPT_PRESENCE,
     NULL, QUEUE(batch_present)},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct exporterhelper {
    const char *log_name; /* borrowed from the component */
    const struct exporterhelper_sender *sender;
    void *ctx;
    struct retry_config retry;
    char failure_suffix[160];    /* upstream's ExportFailureMessage hints */
    struct sending_queue *queue; /* NULL with sending_queue.enabled: false */
    size_t queue_capacity;
    bool queue_blocks; /* block_on_overflow */
    struct tm_counter *sent[SIGNAL_COUNT];
    struct tm_counter *send_failed[SIGNAL_COUNT];
    struct tm_counter *enqueue_failed[SIGNAL_COUNT];
    struct tm_gauge *queue_size_gauge;
    struct tm_gauge *queue_capacity_gauge;
};

/* One consumer (or one inline export): the sender's worker and the jitter of its backoff. */
struct helper_worker {
    struct exporterhelper *helper;
    struct sending_queue *queue; /* NULL for an inline export */
    void *worker;
    unsigned short random_state[3];
};

/* A queued request is held encoded (and compressed, for otlp_http), not as a pdata tree.
 * Upstream's in-memory queue holds the pdata and marshals it per attempt; nothing outside the
 * process can tell the difference (every attempt sends the same bytes), and the encoded form is
 * far smaller: a container log record takes about 1.3 KB as protobuf-c nodes, 420 bytes encoded
 * and about 16 bytes gzipped, so ten consumers each holding a 2048-record tree took about 25 MB
 * where their bodies take well under 1 MB. The encoding happens in the thread that hands the
 * request over (the batch processor's, or a receiver's). */
struct export_request {
    enum signal signal;
    size_t items;
    uint8_t *body;
    size_t body_len;
};

const ProtobufCMessageDescriptor *exporterhelper_response_descriptor(enum signal s)
{
    switch (s) {
    case SIGNAL_TRACES:
        return &opentelemetry__proto__collector__trace__v1__export_trace_service_response__descriptor;
    case SIGNAL_METRICS:
        return &opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__descriptor;
    case SIGNAL_LOGS:
        return &opentelemetry__proto__collector__logs__v1__export_logs_service_response__descriptor;
    }
    return NULL;
}

void exporterhelper_warn_partial_success(const char *log_name, enum signal s,
                                         const ProtobufCMessage *response)
{
    int64_t rejected = 0;
    const char *message = NULL, *count_key = "dropped_items";
    switch (s) {
    case SIGNAL_TRACES: {
        const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r =
            (const void *)response;
        count_key = "dropped_spans";
        if (r->partial_success) {
            rejected = r->partial_success->rejected_spans;
            message = r->partial_success->error_message;
        }
        break;
    }
    case SIGNAL_METRICS: {
        const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse *r =
            (const void *)response;
        count_key = "dropped_data_points";
        if (r->partial_success) {
            rejected = r->partial_success->rejected_data_points;
            message = r->partial_success->error_message;
        }
        break;
    }
    case SIGNAL_LOGS: {
        const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse *r =
            (const void *)response;
        count_key = "dropped_log_records";
        if (r->partial_success) {
            rejected = r->partial_success->rejected_log_records;
            message = r->partial_success->error_message;
        }
        break;
    }
    }
    if (!message)
        message = "";
    if (*message || rejected != 0) {
        char escaped[LOG_VALUE_MAX];
        exporterhelper_log_escape(message, escaped, sizeof(escaped));
        log_warn(log_name, "Partial success response\" message=\"%s\" %s=\"%lld", escaped,
                 count_key, (long long)rejected);
    }
}

/* The collector version whose behaviour the exporters mirror. */
#define MIRRORED_VERSION "0.144.0"
#if defined(__x86_64__)
#define GOARCH "amd64"
#elif defined(__aarch64__)
#define GOARCH "arm64"
#elif defined(__i386__)
#define GOARCH "386"
#else
#define GOARCH "unknown"
#endif

const char *exporterhelper_user_agent(void)
{
    /* Same shape as contrib's "OpenTelemetry Collector Contrib/0.144.0 (linux/amd64)" so that
     * anything parsing it reads ours alike; a different description so that a backend's request
     * log (the fakes record it) shows which collector sent the data. */
    return "OpenTelemetry Collector Reference/" MIRRORED_VERSION " (linux/" GOARCH ")";
}

void exporterhelper_log_escape(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; in && *in && n + 3 < size; in++) {
        if (*in == '"' || *in == '\\') {
            out[n++] = '\\';
            out[n++] = *in;
        } else if (*in == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else {
            out[n++] = *in;
        }
    }
    out[n] = '\0';
}

void exporterhelper_retry_config(const struct exporterhelper_retry_options *in,
                                 struct retry_config *out)
{
    out->enabled = in->enabled;
    out->initial_interval_ns = in->initial_interval_ns;
    out->randomization_factor = in->randomization_factor;
    out->multiplier = in->multiplier;
    out->max_interval_ns = in->max_interval_ns;
    out->max_elapsed_time_ns = in->max_elapsed_time_ns;
}

int exporterhelper_validate(const struct exporterhelper_retry_options *retry_options,
                            const struct exporterhelper_queue_options *queue, struct error *err)
{
    struct retry_config retry;
    exporterhelper_retry_config(retry_options, &retry);
    if (retry_config_validate(&retry, err) < 0)
        return error_prefix(err, "retry_on_failure");
    if (!queue->enabled)
        return 0;
    /* queuebatch/config.go Validate, in its order */
    if (queue->num_consumers <= 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "sending_queue: `num_consumers` must be positive");
    if (queue->queue_size <= 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "sending_queue: `queue_size` must be positive");
    if (queue->sizer && strcmp(queue->sizer, "requests") != 0)
        return error_set(err, -ENOTSUP, ERROR_PERMANENT,
                         "sending_queue: sizer \"%s\" is not supported by otelcol-ref (only "
                         "\"requests\")",
                         queue->sizer);
    if (queue->storage && *queue->storage)
        return error_set(err, -ENOTSUP, ERROR_PERMANENT,
                         "sending_queue: a persistent queue (storage) is not supported by "
                         "otelcol-ref");
    if (queue->wait_for_result)
        return error_set(err, -ENOTSUP, ERROR_PERMANENT,
                         "sending_queue: wait_for_result is not supported by otelcol-ref");
    if (queue->batch_present)
        return error_set(err, -ENOTSUP, ERROR_PERMANENT,
                         "sending_queue: exporter-side batching (batch) is not supported by "
                         "otelcol-ref; use the batch processor");
    return 0;
}

/* ---- workers ---- */

static void helper_worker_destroy(struct helper_worker *w)
{
    if (!w)
        return;
    w->helper->sender->worker_destroy(w->worker);
    free(w);
}

static struct helper_worker *helper_worker_create(struct exporterhelper *h,
                                                  struct sending_queue *queue, struct error *err)
{
    struct helper_worker *w = calloc(1, sizeof(*w));
    if (!w) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        return NULL;
    }
    w->helper = h;
    w->queue = queue;
    uint64_t seed = (uint64_t)sending_queue_now_ns() ^ (uint64_t)(uintptr_t)w;
    w->random_state[0] = (unsigned short)seed;
    w->random_state[1] = (unsigned short)(seed >> 16);
    w->random_state[2] = (unsigned short)(seed >> 32);
    if (h->sender->worker_create(h->ctx, queue, &w->worker, err) < 0) {
        free(w);
        return NULL;
    }
    return w;
}

/* ---- one request, with retries ---- */

/* Sleeps until `until_ns`; a queue consumer wakes early when shutdown begins and re-plans.
 * Returns false when the (new) drain deadline comes before `until_ns`. */
static bool wait_before_retry(struct helper_worker *w, int64_t until_ns)
{
    if (!w->queue) {
        struct timespec ts = {.tv_sec = (time_t)(until_ns / 1000000000LL),
                              .tv_nsec = (long)(until_ns % 1000000000LL)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        return true;
    }
    while (sending_queue_sleep_until(w->queue, until_ns)) {
        int64_t deadline = sending_queue_drain_deadline_ns(w->queue);
        if (deadline > 0 && deadline < until_ns)
            return false;
    }
    return true;
}

/* Exports one encoded request with upstream's retry rules, records the outcome in telemetry and
 * logs a final failure. Does not take ownership of `req`. Returns 0, or a negative code with err
 * (kind PERMANENT for a permanent failure, RETRYABLE otherwise). */
static int export_with_retry(struct helper_worker *w, const struct export_request *req,
                             struct error *err)
{
    struct exporterhelper *h = w->helper;
    enum signal s = req->signal;
    size_t items = req->items;
    int rc = 0;
    enum error_kind kind = ERROR_RETRYABLE;
    char final_text[ERROR_MESSAGE_MAX + 64];
    struct exporterhelper_attempt *attempt = malloc(sizeof(*attempt));
    if (!attempt) {
        kind = ERROR_PERMANENT;
        snprintf(final_text, sizeof(final_text), "Permanent error: out of memory");
        goto failed;
    }
    int64_t started = sending_queue_now_ns();
    struct retry_backoff backoff;
    retry_backoff_init(&backoff, &h->retry);
    for (;;) {
        int64_t deadline = w->queue ? sending_queue_drain_deadline_ns(w->queue) : 0;
        if (deadline > 0 && sending_queue_now_ns() >= deadline) {
            snprintf(final_text, sizeof(final_text),
                     "interrupted due to shutdown: the shutdown deadline passed before the "
                     "request could be sent");
            goto failed;
        }
        memset(attempt, 0, sizeof(*attempt));
        h->sender->attempt(h->ctx, w->worker, s, req->body, req->body_len, deadline, attempt);
        if (attempt->cls == RETRY_CLASS_SUCCESS)
            break;
        if (attempt->aborted_at_deadline) {
            snprintf(final_text, sizeof(final_text), "interrupted due to shutdown: %s",
                     attempt->text);
            goto failed;
        }
        if (attempt->cls == RETRY_CLASS_PERMANENT) {
            kind = ERROR_PERMANENT;
            snprintf(final_text, sizeof(final_text), "not retryable error: %s", attempt->text);
            goto failed;
        }
        if (!h->retry.enabled) {
            snprintf(final_text, sizeof(final_text), "%s", attempt->text);
            goto failed;
        }
        int64_t delay_ns;
        int64_t backoff_ns = retry_backoff_next(&backoff, erand48(w->random_state));
        int64_t now = sending_queue_now_ns();
        enum retry_verdict verdict =
            retry_plan(&h->retry, now, started, backoff_ns, attempt->has_throttle,
                       attempt->throttle_ns, deadline, &delay_ns);
        if (verdict == RETRY_VERDICT_EXHAUSTED) {
            snprintf(final_text, sizeof(final_text), "no more retries left: %s", attempt->text);
            goto failed;
        }
        if (verdict == RETRY_VERDICT_DEADLINE) {
            snprintf(final_text, sizeof(final_text), "interrupted due to shutdown: %s",
                     attempt->text);
            goto failed;
        }
        if (log_get_level() <= LOG_INFO) {
            char interval[40], escaped[LOG_VALUE_MAX];
            retry_format_duration(delay_ns, interval, sizeof(interval));
            exporterhelper_log_escape(attempt->text, escaped, sizeof(escaped));
            log_info(h->log_name,
                     "Exporting failed. Will retry the request after interval.\" error=\"%s\" "
                     "interval=\"%s",
                     escaped, interval);
        }
        if (!wait_before_retry(w, now + delay_ns)) {
            snprintf(final_text, sizeof(final_text), "interrupted due to shutdown: %s",
                     attempt->text);
            goto failed;
        }
    }
    tm_counter_add(h->sent[s], items);
    tm_counter_add(h->send_failed[s], 0); /* upstream records both on every outcome */
    goto out;

failed:
    tm_counter_add(h->sent[s], 0);
    tm_counter_add(h->send_failed[s], items);
    {
        char escaped[LOG_VALUE_MAX];
        exporterhelper_log_escape(final_text, escaped, sizeof(escaped));
        log_error(h->log_name,
                  "Exporting failed. Dropping data.\" error=\"%s\" dropped_items=\"%zu", escaped,
                  items);
    }
    rc = error_set(err, kind == ERROR_PERMANENT ? -EINVAL : -EIO, kind, "%s", final_text);
out:
    free(attempt);
    return rc;
}

/* ---- queue callbacks ---- */

/* Encodes `p` into a new request; `p` stays the caller's. NULL on allocation failure. */
static struct export_request *request_encode(struct exporterhelper *h, const struct payload *p,
                                             size_t items)
{
    struct export_request *req = malloc(sizeof(*req));
    if (!req)
        return NULL;
    *req = (struct export_request){.signal = p->signal, .items = items};
    if (h->sender->encode(h->ctx, p, &req->body, &req->body_len) < 0) {
        free(req);
        return NULL;
    }
    pdata_bytes_hold(req->body_len);
    return req;
}

static void request_free(struct export_request *req)
{
    if (!req)
        return;
    pdata_bytes_release(req->body_len);
    free(req->body);
    free(req);
}

static int queue_consumer_create(void *ctx, struct sending_queue *q, void **state,
                                 struct error *err)
{
    struct helper_worker *w = helper_worker_create(ctx, q, err);
    if (!w)
        return err ? err->code : -ENOMEM;
    *state = w;
    return 0;
}

static void queue_consumer_destroy(void *ctx, void *state)
{
    helper_worker_destroy(state);
}

static void queue_process(void *ctx, void *state, void *item)
{
    struct export_request *req = item;
    export_with_retry(state, req, NULL);
    request_free(req);
}

static void queue_drop(void *ctx, void *item)
{
    struct exporterhelper *h = ctx;
    struct export_request *req = item;
    enum signal s = req->signal;
    tm_counter_add(h->sent[s], 0);
    tm_counter_add(h->send_failed[s], req->items);
    log_error(h->log_name,
              "Exporting failed. Dropping data.\" error=\"interrupted due to shutdown: the request "
              "was still queued at the shutdown deadline\" dropped_items=\"%zu",
              req->items);
    request_free(req);
}

/* ---- lifecycle ---- */

static const char *signal_noun(enum signal s)
{
    switch (s) {
    case SIGNAL_TRACES: return "spans";
    case SIGNAL_METRICS: return "metric points";
    case SIGNAL_LOGS: return "log records";
    }
    return "items";
}

static void register_telemetry(struct exporterhelper *h, struct component *c, bool queue_enabled,
                               int64_t queue_size)
{
    char labels[256], name[128], help[160];
    snprintf(labels, sizeof(labels), "exporter=\"%s\"", c->id);
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        const char *item = signal_item_name((enum signal)s);
        const char *noun = signal_noun((enum signal)s);
        snprintf(name, sizeof(name), "otelcol_exporter_sent_%s", item);
        snprintf(help, sizeof(help), "Number of %s successfully sent to destination.", noun);
        h->sent[s] = telemetry_counter(c->telemetry, name, help, labels);
        snprintf(name, sizeof(name), "otelcol_exporter_send_failed_%s", item);
        snprintf(help, sizeof(help), "Number of %s in failed attempts to send to destination.",
                 noun);
        h->send_failed[s] = telemetry_counter(c->telemetry, name, help, labels);
        snprintf(name, sizeof(name), "otelcol_exporter_enqueue_failed_%s", item);
        snprintf(help, sizeof(help), "Number of %s failed to be added to the sending queue.", noun);
        h->enqueue_failed[s] = telemetry_counter(c->telemetry, name, help, labels);
    }
    if (queue_enabled) {
        h->queue_size_gauge =
            telemetry_gauge(c->telemetry, "otelcol_exporter_queue_size",
                            "Current size of the retry queue (in batches).", labels);
        h->queue_capacity_gauge =
            telemetry_gauge(c->telemetry, "otelcol_exporter_queue_capacity",
                            "Fixed capacity of the retry queue (in batches).", labels);
        tm_gauge_set(h->queue_capacity_gauge, (double)queue_size);
    }
}

void exporterhelper_destroy(struct exporterhelper *h)
{
    if (!h)
        return;
    sending_queue_destroy(h->queue);
    free(h);
}

struct exporterhelper *exporterhelper_create(struct component *c,
                                             const struct exporterhelper_retry_options *retry,
                                             const struct exporterhelper_queue_options *queue,
                                             const struct exporterhelper_sender *sender, void *ctx,
                                             const char *thread_name, struct error *err)
{
    struct exporterhelper *h = calloc(1, sizeof(*h));
    if (!h) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        return NULL;
    }
    h->log_name = c->log_name;
    h->sender = sender;
    h->ctx = ctx;
    exporterhelper_retry_config(retry, &h->retry);
    /* upstream's ExportFailureMessage hints, appended to "Exporting failed. Rejecting data." */
    snprintf(h->failure_suffix, sizeof(h->failure_suffix), "%s%s",
             retry->enabled ? ""
                            : " Try enabling retry_on_failure config option to retry on "
                              "retryable errors.",
             queue->enabled ? "" : " Try enabling sending_queue to survive temporary failures.");
    register_telemetry(h, c, queue->enabled, queue->queue_size);
    if (queue->enabled) {
        static const struct sending_queue_callbacks callbacks = {
            .consumer_create = queue_consumer_create,
            .consumer_destroy = queue_consumer_destroy,
            .process = queue_process,
            .drop = queue_drop,
        };
        h->queue_capacity = (size_t)queue->queue_size;
        h->queue_blocks = queue->block_on_overflow;
        h->queue = sending_queue_create((size_t)queue->queue_size, (unsigned)queue->num_consumers,
                                        queue->block_on_overflow, &callbacks, h, thread_name,
                                        h->queue_size_gauge, err);
        if (!h->queue) {
            exporterhelper_destroy(h);
            return NULL;
        }
    }
    return h;
}

int exporterhelper_start(struct exporterhelper *h, struct error *err)
{
    return h->queue ? sending_queue_start(h->queue, err) : 0;
}

int exporterhelper_reject(struct exporterhelper *h, struct payload *p, size_t items, int code,
                          enum error_kind kind, const char *text, struct error *err)
{
    char escaped[LOG_VALUE_MAX];
    exporterhelper_log_escape(text, escaped, sizeof(escaped));
    log_error(h->log_name,
              "Exporting failed. Rejecting data.%s\" error=\"%s\" rejected_items=\"%zu",
              h->failure_suffix, escaped, items);
    payload_free(p);
    return error_set(err, code, kind, "%s", text);
}

int exporterhelper_consume(struct exporterhelper *h, struct payload *p, struct error *err)
{
    enum signal s = p->signal;
    size_t items = payload_item_count(p);
    /* A full queue refuses before the request costs an encoding (only a race with the
     * consumers can still make the offer below fail). */
    if (h->queue && !h->queue_blocks && sending_queue_size(h->queue) >= h->queue_capacity) {
        tm_counter_add(h->enqueue_failed[s], items);
        return exporterhelper_reject(h, p, items, -ENOSPC, ERROR_REFUSED, "sending queue is full",
                                     err);
    }
    struct export_request *req = request_encode(h, p, items);
    if (!req)
        return exporterhelper_reject(h, p, items, -ENOMEM, ERROR_REFUSED,
                                     "out of memory encoding the request", err);
    if (!h->queue) {
        /* Queue disabled: export in the caller's thread with a short-lived worker, and hand the
         * result back as upstream does. */
        struct error local = {0};
        struct helper_worker *w = helper_worker_create(h, NULL, &local);
        int rc = w ? export_with_retry(w, req, &local) : local.code;
        helper_worker_destroy(w);
        request_free(req);
        if (rc < 0)
            return exporterhelper_reject(h, p, items, rc, local.kind, local.message, err);
        payload_free(p);
        return 0;
    }
    payload_free(p); /* the queue holds the encoded request from here on */
    int rc = sending_queue_offer(h->queue, req);
    if (rc == 0)
        return 0;
    request_free(req);
    tm_counter_add(h->enqueue_failed[s], items);
    return exporterhelper_reject(
        h, NULL, items, rc, ERROR_REFUSED,
        rc == -ENOSPC ? "sending queue is full" : "sending queue is shut down", err);
}

void exporterhelper_shutdown(struct exporterhelper *h, long long deadline_ms)
{
    if (h && h->queue)
        sending_queue_shutdown(h->queue, (int64_t)deadline_ms * 1000000LL);
}
