/*
 * sending_queue.h - an exporter's bounded in-memory queue of requests and its consumer threads.
 *
 * Mirrors core@v0.144.0 exporter/exporterhelper/internal/queuebatch (memory queue, `sizer:
 * requests`): offer() fails at once with "sending queue is full" when `capacity` requests are
 * waiting (or waits for room with block_on_overflow), N consumers take requests in FIFO order and
 * export them. Each consumer thread keeps its own state for its whole life (the OTLP/HTTP
 * exporter keeps one curl easy handle per consumer, so connections stay alive).
 *
 * Shutdown drains: consumers keep taking requests until the queue is empty or the deadline
 * passes; the exporter's process callback sees the deadline (sending_queue_drain_deadline_ns) and
 * stops retrying there; what is still queued at the deadline is handed to the drop callback.
 *
 * Threads: `num_consumers` threads named "<thread_name>" (15 chars max), owned by the queue,
 * started by sending_queue_start and joined by sending_queue_shutdown; their one job is to run
 * process() on queued requests. One mutex guards the queue; it is never held while a callback
 * runs. Deliberately not here: persistent storage, the `items`/`bytes` sizers, exporter-side
 * batching (`sending_queue::batch`).
 */
#ifndef OTEL_REF_EXPORTERHELPER_SENDING_QUEUE_H
#define OTEL_REF_EXPORTERHELPER_SENDING_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "telemetry.h"

struct sending_queue;

struct sending_queue_callbacks {
    /* Creates one consumer's private state (called in sending_queue_start's thread, once per
     * consumer, before any thread starts). Returns 0 or a negative code with err filled. */
    int (*consumer_create)(void *ctx, struct sending_queue *q, void **consumer_state,
                           struct error *err);
    /* Frees what consumer_create made; accepts NULL. */
    void (*consumer_destroy)(void *ctx, void *consumer_state);
    /* Exports one request in a consumer thread; takes ownership of `item`. */
    void (*process)(void *ctx, void *consumer_state, void *item);
    /* Called for each request still queued when the drain deadline passes (or when the queue is
     * destroyed unstarted); takes ownership of `item`. */
    void (*drop)(void *ctx, void *item);
};

/* Builds a stopped queue. `size_gauge` (may be NULL) is kept equal to the number of queued
 * requests. Returns NULL with err filled (-ENOMEM, -EINVAL for zero capacity or consumers).
 * Caller owns the queue; free with sending_queue_destroy. */
struct sending_queue *sending_queue_create(size_t capacity, unsigned num_consumers,
                                           bool block_on_overflow,
                                           const struct sending_queue_callbacks *callbacks,
                                           void *ctx, const char *thread_name,
                                           struct tm_gauge *size_gauge, struct error *err);

/* Creates the consumer states and starts the consumer threads. Returns 0 or a negative code
 * (then whatever started is stopped again). */
int sending_queue_start(struct sending_queue *q, struct error *err);

/* Queues `item`. Returns 0 (the queue now owns it), -ENOSPC when full (without
 * block_on_overflow), or -ESHUTDOWN once shutdown began; on failure the caller keeps `item`. */
int sending_queue_offer(struct sending_queue *q, void *item);

/* Requests waiting (not counting the ones being exported). */
size_t sending_queue_size(struct sending_queue *q);

/* The drain deadline (monotonic ns) once shutdown began, else 0. For process callbacks. */
int64_t sending_queue_drain_deadline_ns(struct sending_queue *q);

/* Sleeps until the monotonic time `until_ns`, returning early (true) when shutdown begins, so a
 * retrying consumer can re-plan against the deadline. Returns false after a full sleep. */
bool sending_queue_sleep_until(struct sending_queue *q, int64_t until_ns);

/* Stops accepting, lets the consumers drain until the queue is empty or `deadline_ns`
 * (monotonic) passes, joins them, and drops what is left through the drop callback. */
void sending_queue_shutdown(struct sending_queue *q, int64_t deadline_ns);

/* Shuts down (with an immediate deadline) if still running, then frees. NULL is accepted, and
 * so is a queue whose create or start failed midway. */
void sending_queue_destroy(struct sending_queue *q);

/* CLOCK_MONOTONIC in nanoseconds (the clock of every deadline above). */
int64_t sending_queue_now_ns(void);

#endif
