/*
 * batch.c - the `batch` processor: gathers payloads and sends them downstream by size or after a
 * timeout, from its own flush thread.
 *
 * Mirrors core@v0.144.0 processor/batchprocessor/{config.go,factory.go,batch_processor.go,
 * metrics.go,metadata.yaml} (facts: shared/facts/pipeline.md §2), exactly where it shows:
 *   - consume() always accepts: it only hands the payload to the flush thread through a bounded
 *     hand-off (capacity = number of CPUs, like upstream's channel; a full hand-off makes the
 *     caller wait, as a Go channel send does). Downstream errors never reach the sender.
 *   - a free-running timer exists only when timeout != 0 and send_batch_size != 0; it is reset
 *     after each timer fire and after size-triggered sends, never when an item arrives.
 *   - on arrival: while items > 0 and (no timer or items >= send_batch_size), send one chunk of
 *     at most send_batch_max_size (payload_split keeps upstream's split rules). On timer fire
 *     with items buffered: one send. Payloads with 0 items are dropped on arrival.
 *   - a failed send is logged Warn `Sender failed` and its data is dropped; telemetry is only
 *     recorded for successful sends.
 *   - shutdown drains the hand-off, then sends what is left.
 *
 * Thread: one flush thread per instance ("batch-flush"), started by start() and joined by
 * shutdown()/destroy(); its one job is to own the buffer and send from it. Everything the
 * consumers touch (the hand-off ring, `stopping`) is behind one mutex, never held while sending.
 *
 * Deliberately not done: batching per metadata value (`metadata_keys`). The keys are accepted
 * and validated as upstream does, but the receivers do not pass client metadata along with a
 * payload yet, so there is nothing to shard on: every payload goes to the one shard, as upstream
 * does when no metadata is present. `metadata_cardinality_limit` is therefore never reached.
 * The `_bytes` histogram (detailed telemetry level only) is not produced.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "component.h"
#include "log.h"
#include "options.h"
#include "pdata.h"
#include "telemetry.h"

struct batch_config {
    int64_t timeout_ns;
    int64_t send_batch_size;
    int64_t send_batch_max_size;
    struct option_string_list metadata_keys;
    int64_t metadata_cardinality_limit;
};

static const struct option batch_options[] = {
    {OPT_DURATION, "timeout", "200ms", offsetof(struct batch_config, timeout_ns),
     "send a non-empty batch at least this often (0 = send every arrival)", 0, NULL, 0},
    {OPT_INT, "send_batch_size", "8192", offsetof(struct batch_config, send_batch_size),
     "items that trigger a send", 0, NULL, 0},
    {OPT_INT, "send_batch_max_size", "0", offsetof(struct batch_config, send_batch_max_size),
     "largest batch sent; bigger ones are split (0 = no limit)", 0, NULL, 0},
    {OPT_STRING_LIST, "metadata_keys", NULL, offsetof(struct batch_config, metadata_keys),
     "client metadata keys to batch by (accepted; see batch.c)", 0, NULL, 0},
    {OPT_INT, "metadata_cardinality_limit", "1000",
     offsetof(struct batch_config, metadata_cardinality_limit),
     "most distinct metadata value sets (0 = no limit)", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

/* Upstream's batch_send_size buckets (metadata.yaml). */
static const double send_size_bounds[] = {10,   25,    50,    75,    100,   250,   500,  750,
                                          1000, 2000,  3000,  4000,  5000,  6000,  7000, 8000,
                                          9000, 10000, 20000, 30000, 50000, 100000};

#define HANDOFF_MAX 256

enum send_trigger { TRIGGER_SIZE, TRIGGER_TIMEOUT };

struct batch_processor {
    const char *log_name;  /* borrowed from the component */
    struct consumer *next; /* downstream, owned by the service */
    int64_t timeout_ns;
    size_t send_batch_size;
    size_t send_batch_max_size; /* 0 = no limit */
    bool has_timer;             /* timeout != 0 && send_batch_size != 0, as upstream */

    struct tm_histogram *send_size;
    struct tm_counter *size_trigger_sends;
    struct tm_counter *timeout_trigger_sends;

    bool sync_ready; /* lock and conditions initialised */
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t lock;
    pthread_cond_t arrived; /* the flush thread waits for payloads, shutdown or its timer */
    pthread_cond_t room;    /* consume() waits for room in the hand-off */
    /* --- guarded by lock --- */
    struct payload **handoff; /* ring of `capacity` payloads waiting for the flush thread */
    size_t capacity, head, count;
    bool stopping;

    /* --- owned by the flush thread only --- */
    struct payload *buffer; /* NULL when empty */
    size_t buffered_items;
    int64_t timer_due_ns;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int batch_validate(const void *config, struct error *err)
{
    const struct batch_config *cfg = config;
    /* Upstream's fields are uint32: out-of-range values fail while decoding, before Validate. */
    static const struct {
        const char *key;
        size_t offset;
    } unsigned_fields[] = {
        {"send_batch_size", offsetof(struct batch_config, send_batch_size)},
        {"send_batch_max_size", offsetof(struct batch_config, send_batch_max_size)},
        {"metadata_cardinality_limit", offsetof(struct batch_config, metadata_cardinality_limit)},
    };
    for (size_t i = 0; i < sizeof(unsigned_fields) / sizeof(unsigned_fields[0]); i++) {
        int64_t v = *(const int64_t *)((const char *)cfg + unsigned_fields[i].offset);
        if (v < 0 || v > UINT32_MAX)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "%s: %lld does not fit an unsigned 32-bit integer",
                             unsigned_fields[i].key, (long long)v);
    }
    /* config.go Validate, in its order and words */
    if (cfg->send_batch_max_size > 0 && cfg->send_batch_max_size < cfg->send_batch_size)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "send_batch_max_size must be greater or equal to send_batch_size");
    for (size_t i = 0; i < cfg->metadata_keys.count; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(cfg->metadata_keys.items[i], cfg->metadata_keys.items[j]) == 0) {
                char lower[256];
                size_t k = 0;
                for (const char *c = cfg->metadata_keys.items[i]; *c && k + 1 < sizeof(lower); c++)
                    lower[k++] = (char)((*c >= 'A' && *c <= 'Z') ? *c - 'A' + 'a' : *c);
                lower[k] = '\0';
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "duplicate entry in metadata_keys: \"%s\" (case-insensitive)",
                                 lower);
            }
        }
    }
    if (cfg->timeout_ns < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "timeout must be greater or equal to 0");
    return 0;
}

/* ---- the flush thread ---- */

/* A value for a `key="value"` log field: quotes, backslashes and newlines escaped. */
static void escape_log_value(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; *in && n + 3 < size; in++) {
        if (*in == '"' || *in == '\\' || *in == '\n') {
            out[n++] = '\\';
            out[n++] = *in == '\n' ? 'n' : *in;
        } else {
            out[n++] = *in;
        }
    }
    out[n] = '\0';
}

/* Sends one chunk of at most send_batch_max_size items from the buffer. */
static void send_items(struct batch_processor *bp, enum send_trigger trigger)
{
    struct payload *chunk = NULL;
    size_t sent;
    if (bp->send_batch_max_size > 0 && bp->buffered_items > bp->send_batch_max_size) {
        if (payload_split(bp->buffer, bp->send_batch_max_size, &chunk) < 0) {
            /* Out of memory: drop the whole buffer rather than loop on the same failure. */
            log_warn(bp->log_name,
                     "Sender failed\" error=\"out of memory splitting a batch of "
                     "%zu items; dropped",
                     bp->buffered_items);
            payload_free(bp->buffer);
            bp->buffer = NULL;
            bp->buffered_items = 0;
            return;
        }
        sent = bp->send_batch_max_size;
        bp->buffered_items -= sent;
    } else {
        chunk = bp->buffer;
        sent = bp->buffered_items;
        bp->buffer = NULL;
        bp->buffered_items = 0;
    }
    struct error err = {0};
    if (consumer_consume(bp->next, chunk, &err) < 0) {
        if (log_get_level() <= LOG_WARN) {
            char escaped[2 * ERROR_MESSAGE_MAX];
            escape_log_value(err.message, escaped, sizeof(escaped));
            log_warn(bp->log_name, "Sender failed\" error=\"%s", escaped);
        }
        return;
    }
    tm_counter_add(trigger == TRIGGER_SIZE ? bp->size_trigger_sends : bp->timeout_trigger_sends, 1);
    tm_histogram_observe(bp->send_size, (double)sent);
}

static void reset_timer(struct batch_processor *bp)
{
    if (bp->has_timer)
        bp->timer_due_ns = now_ns() + bp->timeout_ns;
}

/* Appends one arrival to the buffer and sends while the size rule says so. Takes `p`. */
static void process_item(struct batch_processor *bp, struct payload *p)
{
    size_t items = payload_item_count(p);
    if (items == 0) {
        payload_free(p);
    } else if (!bp->buffer) {
        bp->buffer = p;
        bp->buffered_items = items;
    } else if (payload_merge(bp->buffer, p) < 0) {
        log_warn(bp->log_name,
                 "Sender failed\" error=\"out of memory adding %zu items to the "
                 "batch; dropped",
                 items);
        payload_free(p);
    } else {
        payload_free(p); /* now empty: its resources moved into the buffer */
        bp->buffered_items += items;
    }
    bool sent = false;
    while (bp->buffered_items > 0 &&
           (!bp->has_timer || bp->buffered_items >= bp->send_batch_size)) {
        send_items(bp, TRIGGER_SIZE);
        sent = true;
    }
    if (sent)
        reset_timer(bp);
}

/* Takes the oldest payload from the hand-off. Lock held. */
static struct payload *take_locked(struct batch_processor *bp)
{
    struct payload *p = bp->handoff[bp->head];
    bp->handoff[bp->head] = NULL;
    bp->head = (bp->head + 1) % bp->capacity;
    bp->count--;
    pthread_cond_signal(&bp->room);
    return p;
}

static void *flush_main(void *arg)
{
    struct batch_processor *bp = arg;
    pthread_setname_np(pthread_self(), "batch-flush");
    reset_timer(bp); /* upstream creates the timer when the shard starts */
    pthread_mutex_lock(&bp->lock);
    for (;;) {
        while (!bp->stopping && bp->count == 0 &&
               !(bp->has_timer && now_ns() >= bp->timer_due_ns)) {
            if (bp->has_timer) {
                struct timespec due = {.tv_sec = (time_t)(bp->timer_due_ns / 1000000000LL),
                                       .tv_nsec = (long)(bp->timer_due_ns % 1000000000LL)};
                pthread_cond_timedwait(&bp->arrived, &bp->lock, &due);
            } else {
                pthread_cond_wait(&bp->arrived, &bp->lock);
            }
        }
        if (bp->stopping)
            break;
        /* A due timer goes first so that a steady stream of arrivals cannot starve it (Go's
         * select picks among ready cases at random). */
        if (bp->has_timer && now_ns() >= bp->timer_due_ns) {
            pthread_mutex_unlock(&bp->lock);
            if (bp->buffered_items > 0)
                send_items(bp, TRIGGER_TIMEOUT);
            reset_timer(bp);
            pthread_mutex_lock(&bp->lock);
            continue;
        }
        struct payload *p = take_locked(bp);
        pthread_mutex_unlock(&bp->lock);
        process_item(bp, p);
        pthread_mutex_lock(&bp->lock);
    }
    /* Shutdown: everything already handed off is processed, as upstream drains its channel. */
    while (bp->count > 0) {
        struct payload *p = take_locked(bp);
        pthread_mutex_unlock(&bp->lock);
        process_item(bp, p);
        pthread_mutex_lock(&bp->lock);
    }
    pthread_mutex_unlock(&bp->lock);
    /* Upstream code-reads as a single sendItems call here, which with send_batch_max_size set
     * could leave part of a large remainder unsent. We send everything left, in chunks of at
     * most send_batch_max_size, so nothing accepted is lost (DESIGN.md §3); in practice the
     * remainder is below send_batch_size <= max, i.e. one chunk, the same as upstream. Each
     * chunk counts as a timeout-triggered send, as upstream's final send does. */
    while (bp->buffered_items > 0)
        send_items(bp, TRIGGER_TIMEOUT);
    return NULL;
}

/* ---- component callbacks ---- */

static void processor_free(struct batch_processor *bp)
{
    if (!bp)
        return;
    if (bp->sync_ready) {
        if (bp->thread_started) {
            pthread_mutex_lock(&bp->lock);
            bp->stopping = true;
            pthread_cond_broadcast(&bp->arrived);
            pthread_mutex_unlock(&bp->lock);
            pthread_join(bp->thread, NULL);
        }
        pthread_cond_destroy(&bp->arrived);
        pthread_cond_destroy(&bp->room);
        pthread_mutex_destroy(&bp->lock);
    }
    for (size_t i = 0; bp->handoff && i < bp->count; i++)
        payload_free(bp->handoff[(bp->head + i) % bp->capacity]);
    free(bp->handoff);
    payload_free(bp->buffer);
    free(bp);
}

static int batch_create(struct component *c, struct error *err)
{
    const struct batch_config *cfg = c->config;
    int rc = 0;
    pthread_condattr_t attr;
    bool attr_ready = false;
    struct batch_processor *bp = calloc(1, sizeof(*bp));
    if (!bp)
        goto fail_nomem;
    bp->log_name = c->log_name;
    bp->next = c->next[c->pipeline_signal];
    if (!bp->next) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "no downstream consumer for %s",
                       signal_name(c->pipeline_signal));
        goto fail;
    }
    bp->timeout_ns = cfg->timeout_ns;
    bp->send_batch_size = (size_t)cfg->send_batch_size;
    bp->send_batch_max_size = (size_t)cfg->send_batch_max_size;
    bp->has_timer = cfg->timeout_ns != 0 && cfg->send_batch_size != 0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    bp->capacity = cpus < 1 ? 1 : cpus > HANDOFF_MAX ? HANDOFF_MAX : (size_t)cpus;
    bp->handoff = calloc(bp->capacity, sizeof(*bp->handoff));
    if (!bp->handoff)
        goto fail_nomem;
    if (pthread_condattr_init(&attr) != 0)
        goto fail_nomem;
    attr_ready = true;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&bp->lock, NULL) != 0)
        goto fail_nomem;
    if (pthread_cond_init(&bp->arrived, &attr) != 0) {
        pthread_mutex_destroy(&bp->lock);
        goto fail_nomem;
    }
    if (pthread_cond_init(&bp->room, &attr) != 0) {
        pthread_cond_destroy(&bp->arrived);
        pthread_mutex_destroy(&bp->lock);
        goto fail_nomem;
    }
    bp->sync_ready = true;
    pthread_condattr_destroy(&attr);
    attr_ready = false;

    char labels[200];
    snprintf(labels, sizeof(labels), "processor=\"%s\"", c->id);
    bp->send_size = telemetry_histogram(c->telemetry, "otelcol_processor_batch_batch_send_size",
                                        "Number of units in the batch", labels, send_size_bounds,
                                        sizeof(send_size_bounds) / sizeof(send_size_bounds[0]));
    bp->size_trigger_sends =
        telemetry_counter(c->telemetry, "otelcol_processor_batch_batch_size_trigger_send",
                          "Number of times the batch was sent due to a size trigger", labels);
    bp->timeout_trigger_sends =
        telemetry_counter(c->telemetry, "otelcol_processor_batch_timeout_trigger_send",
                          "Number of times the batch was sent due to a timeout trigger", labels);
    /* One shard, always (see the header comment). */
    tm_gauge_set(telemetry_gauge(c->telemetry, "otelcol_processor_batch_metadata_cardinality",
                                 "Number of distinct metadata value combinations being "
                                 "processed",
                                 labels),
                 1);
    if (cfg->metadata_keys.count > 0)
        log_warn(c->log_name, "metadata_keys is set but otelcol-ref does not batch per client "
                              "metadata yet: every payload goes to one batch");
    c->state = bp;
    return 0;

fail_nomem:
    rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
fail:
    if (attr_ready)
        pthread_condattr_destroy(&attr);
    processor_free(bp);
    return rc;
}

static int batch_start(struct component *c, struct error *err)
{
    struct batch_processor *bp = c->state;
    if (pthread_create(&bp->thread, NULL, flush_main, bp) != 0)
        return error_set(err, -EAGAIN, ERROR_PERMANENT, "cannot start the batch flush thread");
    bp->thread_started = true;
    return 0;
}

static int batch_consume(struct component *c, struct payload *p, struct error *err)
{
    struct batch_processor *bp = c->state;
    pthread_mutex_lock(&bp->lock);
    while (!bp->stopping && bp->count == bp->capacity)
        pthread_cond_wait(&bp->room, &bp->lock);
    if (bp->stopping) {
        /* Only reachable if something consumes after shutdown, which the service never does
         * (receivers stop first). We own `p` whatever we return. */
        pthread_mutex_unlock(&bp->lock);
        payload_free(p);
        return error_set(err, -ESHUTDOWN, ERROR_REFUSED, "batch processor is shut down");
    }
    bp->handoff[(bp->head + bp->count) % bp->capacity] = p;
    bp->count++;
    pthread_cond_signal(&bp->arrived);
    pthread_mutex_unlock(&bp->lock);
    return 0;
}

/* Upstream's Shutdown waits for the shard goroutine without a deadline; so do we: downstream
 * consume() only enqueues (exporters own their queues), so the final sends are quick. */
static void batch_shutdown(struct component *c, long long deadline_ms)
{
    struct batch_processor *bp = c->state;
    if (!bp || !bp->thread_started)
        return;
    pthread_mutex_lock(&bp->lock);
    bp->stopping = true;
    pthread_cond_broadcast(&bp->arrived);
    pthread_cond_broadcast(&bp->room);
    pthread_mutex_unlock(&bp->lock);
    pthread_join(bp->thread, NULL);
    bp->thread_started = false;
}

static void batch_destroy(struct component *c)
{
    processor_free(c->state);
    c->state = NULL;
}

const struct component_descriptor batch_processor_descriptor = {
    .type = "batch",
    .kind = KIND_PROCESSOR,
    .signals = SIGNALS_ALL,
    .deprecated_alias = NULL,
    .summary = "batches items by size or timeout and sends them from its own thread",
    .options = batch_options,
    .config_size = sizeof(struct batch_config),
    .validate = batch_validate,
    .create = batch_create,
    .start = batch_start,
    .consume = batch_consume,
    .shutdown = batch_shutdown,
    .destroy = batch_destroy,
};
