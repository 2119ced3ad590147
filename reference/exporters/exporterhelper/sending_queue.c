/*
 * sending_queue.c - bounded request queue with N consumer threads (see sending_queue.h).
 *
 * Mirrors core@v0.144.0 exporter/exporterhelper/internal/queuebatch/memory_queue.go with the
 * default `requests` sizer. One mutex (`lock`) guards every field below it; condition variables
 * use CLOCK_MONOTONIC so deadlines do not move with the wall clock. Callbacks always run with the
 * lock released.
 */
#include "sending_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct queue_consumer {
    struct sending_queue *queue;
    void *state; /* from consumer_create, owned by the queue */
    pthread_t thread;
    bool thread_started;
};

struct sending_queue {
    struct sending_queue_callbacks callbacks;
    void *ctx;
    char thread_name[16];
    struct tm_gauge *size_gauge;
    bool block_on_overflow;
    unsigned num_consumers;
    struct queue_consumer *consumers;
    bool sync_ready; /* mutex and condition variables initialised */

    pthread_mutex_t lock;
    pthread_cond_t not_empty; /* consumers wait for requests */
    pthread_cond_t not_full;  /* offer() waits for room (block_on_overflow) */
    pthread_cond_t idle;      /* shutdown waits for the drain */
    pthread_cond_t wake;      /* sleeping retries wait for shutdown */
    /* --- guarded by lock --- */
    void **ring;
    size_t capacity, head, count;
    unsigned in_flight;
    bool running;   /* threads started and not yet joined */
    bool closing;   /* shutdown began: no more offers */
    bool abandoned; /* the drain deadline passed: consumers stop taking requests */
    int64_t deadline_ns;
    uint64_t generation; /* bumped when shutdown begins, to wake sleepers */
};

int64_t sending_queue_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct timespec to_timespec(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000LL),
                          .tv_nsec = (long)(ns % 1000000000LL)};
    return ts;
}

/* Waits on `cond` until woken or the monotonic time `until_ns` passes. Lock held. */
static void wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, int64_t until_ns)
{
    struct timespec ts = to_timespec(until_ns);
    pthread_cond_timedwait(cond, lock, &ts);
}

static void publish_size(struct sending_queue *q)
{
    tm_gauge_set(q->size_gauge, (double)q->count);
}

static void *pop_locked(struct sending_queue *q)
{
    void *item = q->ring[q->head];
    q->ring[q->head] = NULL;
    q->head = (q->head + 1) % q->capacity;
    q->count--;
    publish_size(q);
    return item;
}

struct sending_queue *sending_queue_create(size_t capacity, unsigned num_consumers,
                                           bool block_on_overflow,
                                           const struct sending_queue_callbacks *callbacks,
                                           void *ctx, const char *thread_name,
                                           struct tm_gauge *size_gauge, struct error *err)
{
    struct sending_queue *q = NULL;
    pthread_condattr_t attr;
    bool attr_ready = false;
    if (capacity == 0 || num_consumers == 0) {
        error_set(err, -EINVAL, ERROR_PERMANENT, "queue capacity and consumers must be positive");
        goto fail;
    }
    q = calloc(1, sizeof(*q));
    if (!q)
        goto fail_nomem;
    q->callbacks = *callbacks;
    q->ctx = ctx;
    snprintf(q->thread_name, sizeof(q->thread_name), "%s", thread_name ? thread_name : "exporter");
    q->size_gauge = size_gauge;
    q->block_on_overflow = block_on_overflow;
    q->num_consumers = num_consumers;
    q->capacity = capacity;
    q->ring = calloc(capacity, sizeof(void *));
    q->consumers = calloc(num_consumers, sizeof(*q->consumers));
    if (!q->ring || !q->consumers)
        goto fail_nomem;
    if (pthread_condattr_init(&attr) != 0)
        goto fail_nomem;
    attr_ready = true;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&q->lock, NULL) != 0)
        goto fail_nomem;
    if (pthread_cond_init(&q->not_empty, &attr) != 0) {
        pthread_mutex_destroy(&q->lock);
        goto fail_nomem;
    }
    pthread_cond_init(&q->not_full, &attr);
    pthread_cond_init(&q->idle, &attr);
    pthread_cond_init(&q->wake, &attr);
    q->sync_ready = true;
    pthread_condattr_destroy(&attr);
    publish_size(q);
    return q;

fail_nomem:
    error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory creating the sending queue");
fail:
    if (attr_ready)
        pthread_condattr_destroy(&attr);
    sending_queue_destroy(q);
    return NULL;
}

static void *consumer_main(void *arg)
{
    struct queue_consumer *consumer = arg;
    struct sending_queue *q = consumer->queue;
    pthread_setname_np(pthread_self(), q->thread_name);
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (q->count == 0 && !q->closing)
            pthread_cond_wait(&q->not_empty, &q->lock);
        if (q->count == 0 || q->abandoned)
            break; /* drained, or the deadline passed: shutdown drops the rest */
        void *item = pop_locked(q);
        q->in_flight++;
        pthread_cond_signal(&q->not_full);
        pthread_mutex_unlock(&q->lock);

        q->callbacks.process(q->ctx, consumer->state, item);

        pthread_mutex_lock(&q->lock);
        q->in_flight--;
        if (q->count == 0 && q->in_flight == 0)
            pthread_cond_broadcast(&q->idle);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

/* Stops and joins every started thread (used by shutdown and by a failed start). Threads see
 * `closing` and `abandoned` set by the caller. */
static void join_consumers(struct sending_queue *q)
{
    for (unsigned i = 0; i < q->num_consumers; i++) {
        if (q->consumers[i].thread_started) {
            pthread_join(q->consumers[i].thread, NULL);
            q->consumers[i].thread_started = false;
        }
    }
}

static void destroy_consumer_states(struct sending_queue *q)
{
    for (unsigned i = 0; i < q->num_consumers; i++) {
        if (q->consumers[i].state && q->callbacks.consumer_destroy)
            q->callbacks.consumer_destroy(q->ctx, q->consumers[i].state);
        q->consumers[i].state = NULL;
    }
}

int sending_queue_start(struct sending_queue *q, struct error *err)
{
    int rc = 0;
    for (unsigned i = 0; i < q->num_consumers; i++) {
        q->consumers[i].queue = q;
        if (q->callbacks.consumer_create) {
            rc = q->callbacks.consumer_create(q->ctx, q, &q->consumers[i].state, err);
            if (rc < 0)
                goto fail;
        }
    }
    pthread_mutex_lock(&q->lock);
    q->running = true;
    pthread_mutex_unlock(&q->lock);
    for (unsigned i = 0; i < q->num_consumers; i++) {
        if (pthread_create(&q->consumers[i].thread, NULL, consumer_main, &q->consumers[i]) != 0) {
            rc = error_set(err, -EAGAIN, ERROR_PERMANENT, "cannot start a sending queue consumer");
            goto fail;
        }
        q->consumers[i].thread_started = true;
    }
    return 0;

fail:
    pthread_mutex_lock(&q->lock);
    q->closing = true;
    q->abandoned = true;
    q->running = false;
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
    join_consumers(q);
    destroy_consumer_states(q);
    return rc;
}

int sending_queue_offer(struct sending_queue *q, void *item)
{
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        if (q->closing) {
            rc = -ESHUTDOWN;
            goto out;
        }
        if (q->count < q->capacity)
            break;
        if (!q->block_on_overflow) {
            rc = -ENOSPC;
            goto out;
        }
        pthread_cond_wait(&q->not_full, &q->lock);
    }
    q->ring[(q->head + q->count) % q->capacity] = item;
    q->count++;
    publish_size(q);
    pthread_cond_signal(&q->not_empty);
out:
    pthread_mutex_unlock(&q->lock);
    return rc;
}

size_t sending_queue_size(struct sending_queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

int64_t sending_queue_drain_deadline_ns(struct sending_queue *q)
{
    pthread_mutex_lock(&q->lock);
    int64_t deadline = q->closing ? q->deadline_ns : 0;
    pthread_mutex_unlock(&q->lock);
    return deadline;
}

bool sending_queue_sleep_until(struct sending_queue *q, int64_t until_ns)
{
    pthread_mutex_lock(&q->lock);
    uint64_t generation = q->generation;
    while (q->generation == generation && sending_queue_now_ns() < until_ns)
        wait_until(&q->wake, &q->lock, until_ns);
    bool woken = q->generation != generation;
    pthread_mutex_unlock(&q->lock);
    return woken;
}

/* Hands every still-queued request to the drop callback. */
static void drop_remaining(struct sending_queue *q)
{
    for (;;) {
        pthread_mutex_lock(&q->lock);
        void *item = q->count > 0 ? pop_locked(q) : NULL;
        pthread_cond_broadcast(&q->not_full);
        pthread_mutex_unlock(&q->lock);
        if (!item)
            break;
        if (q->callbacks.drop)
            q->callbacks.drop(q->ctx, item);
    }
}

void sending_queue_shutdown(struct sending_queue *q, int64_t deadline_ns)
{
    if (!q || !q->sync_ready)
        return;
    pthread_mutex_lock(&q->lock);
    if (!q->closing) {
        q->closing = true;
        /* A deadline of 0 would read as "no deadline" to the callbacks: use 1 ns instead. */
        q->deadline_ns = deadline_ns > 0 ? deadline_ns : 1;
        q->generation++;
        pthread_cond_broadcast(&q->not_empty);
        pthread_cond_broadcast(&q->not_full);
        pthread_cond_broadcast(&q->wake);
    }
    bool was_running = q->running;
    while (was_running && (q->count > 0 || q->in_flight > 0) &&
           sending_queue_now_ns() < q->deadline_ns)
        wait_until(&q->idle, &q->lock, q->deadline_ns);
    q->abandoned = true;
    q->running = false;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->lock);

    join_consumers(q);
    drop_remaining(q);
    destroy_consumer_states(q);
}

void sending_queue_destroy(struct sending_queue *q)
{
    if (!q)
        return;
    if (q->sync_ready) {
        sending_queue_shutdown(q, sending_queue_now_ns());
        pthread_cond_destroy(&q->not_empty);
        pthread_cond_destroy(&q->not_full);
        pthread_cond_destroy(&q->idle);
        pthread_cond_destroy(&q->wake);
        pthread_mutex_destroy(&q->lock);
    }
    free(q->ring);
    free(q->consumers);
    free(q);
}
