/*
 * request_log.c - the bounded request log of request_log.h: a ring of entries whose strings are
 * copied in (and cut to REQUEST_LOG_VALUE_MAX bytes), so the log's memory has a hard maximum of
 * about capacity x (6 x 256 + path) bytes whatever clients send.
 *
 * The collector testbed's mock backends keep a similar record to assert on; this one is shaped
 * for the harness's `wait` steps (cheap counters) and for reports (the entries).
 */
#include "request_log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_util.h"

#define PATH_MAX_LEN 1024

struct stored_entry {
    uint64_t seq;
    int64_t time_unix_ms;
    char *method, *path, *content_type, *content_encoding, *user_agent, *org_id;
    size_t bytes, items;
    int status;
    bool fault;
    char transport[8];    /* "" = HTTP */
    char grpc_status[24]; /* "" = none */
};

struct request_log {
    pthread_mutex_t mutex;
    struct stored_entry *ring;
    size_t capacity;
    size_t start; /* index of the oldest entry */
    size_t count;
    uint64_t next_seq;
    uint64_t dropped;
    struct request_log_stats stats;
};

static void entry_free(struct stored_entry *e)
{
    free(e->method);
    free(e->path);
    free(e->content_type);
    free(e->content_encoding);
    free(e->user_agent);
    free(e->org_id);
    memset(e, 0, sizeof(*e));
}

/* strndup that keeps NULL as NULL; *failed is set on ENOMEM. */
static char *copy_value(const char *s, size_t max, bool *failed)
{
    if (!s)
        return NULL;
    char *c = strndup(s, max);
    if (!c)
        *failed = true;
    return c;
}

struct request_log *request_log_new(size_t capacity)
{
    if (capacity == 0)
        return NULL;
    struct request_log *log = calloc(1, sizeof(*log));
    if (!log)
        return NULL;
    log->ring = calloc(capacity, sizeof(*log->ring));
    if (!log->ring) {
        free(log);
        return NULL;
    }
    log->capacity = capacity;
    log->next_seq = 1;
    pthread_mutex_init(&log->mutex, NULL);
    return log;
}

static void drop_all(struct request_log *log)
{
    for (size_t i = 0; i < log->count; i++)
        entry_free(&log->ring[(log->start + i) % log->capacity]);
    log->start = 0;
    log->count = 0;
}

void request_log_free(struct request_log *log)
{
    if (!log)
        return;
    drop_all(log);
    free(log->ring);
    pthread_mutex_destroy(&log->mutex);
    free(log);
}

uint64_t request_log_append(struct request_log *log, const struct request_log_entry *in)
{
    /* Copy outside the lock; only the ring update is under it. */
    struct stored_entry e = {
        .time_unix_ms = in->time_unix_ms,
        .bytes = in->bytes,
        .items = in->items,
        .status = in->status,
        .fault = in->fault,
    };
    if (in->transport) {
        snprintf(e.transport, sizeof(e.transport), "%s", in->transport);
        snprintf(e.grpc_status, sizeof(e.grpc_status), "%s",
                 in->grpc_status ? in->grpc_status : "");
    }
    bool failed = false;
    e.method = copy_value(in->method, REQUEST_LOG_VALUE_MAX, &failed);
    e.path = copy_value(in->path, PATH_MAX_LEN, &failed);
    e.content_type = copy_value(in->content_type, REQUEST_LOG_VALUE_MAX, &failed);
    e.content_encoding = copy_value(in->content_encoding, REQUEST_LOG_VALUE_MAX, &failed);
    e.user_agent = copy_value(in->user_agent, REQUEST_LOG_VALUE_MAX, &failed);
    e.org_id = copy_value(in->org_id, REQUEST_LOG_VALUE_MAX, &failed);

    pthread_mutex_lock(&log->mutex);
    log->stats.requests++;
    if (in->accepted) {
        log->stats.accepted_requests++;
        log->stats.items += in->items;
    }
    uint64_t seq = log->next_seq++;
    if (failed) {
        /* The request still counts; only its entry is lost, and counted as dropped. */
        log->dropped++;
        pthread_mutex_unlock(&log->mutex);
        entry_free(&e);
        return 0;
    }
    e.seq = seq;
    struct stored_entry evicted = {0};
    if (log->count == log->capacity) {
        evicted = log->ring[log->start];
        log->ring[log->start] = e;
        log->start = (log->start + 1) % log->capacity;
        log->dropped++;
    } else {
        log->ring[(log->start + log->count) % log->capacity] = e;
        log->count++;
    }
    pthread_mutex_unlock(&log->mutex);
    entry_free(&evicted);
    return seq;
}

/* Headers and paths are bytes: invalid UTF-8 shows as U+FFFD rather than failing the view. */
static json_t *string_or_null(const char *s)
{
    return s ? fake_util_json_string(s, strlen(s)) : json_null();
}

static json_t *entry_json(const struct stored_entry *e)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int rc = 0;
    rc |= json_object_set_new(o, "seq", json_integer((json_int_t)e->seq));
    rc |= json_object_set_new(o, "time_unix_ms", json_integer(e->time_unix_ms));
    rc |= json_object_set_new(o, "method", string_or_null(e->method));
    rc |= json_object_set_new(o, "path", string_or_null(e->path));
    rc |= json_object_set_new(o, "content_type", string_or_null(e->content_type));
    rc |= json_object_set_new(o, "content_encoding", string_or_null(e->content_encoding));
    rc |= json_object_set_new(o, "user_agent", string_or_null(e->user_agent));
    rc |= json_object_set_new(o, "org_id", string_or_null(e->org_id));
    rc |= json_object_set_new(o, "bytes", json_integer((json_int_t)e->bytes));
    rc |= json_object_set_new(o, "items", json_integer((json_int_t)e->items));
    rc |= json_object_set_new(o, "status", json_integer(e->status));
    rc |= json_object_set_new(o, "fault", json_boolean(e->fault));
    if (e->transport[0]) {
        rc |= json_object_set_new(o, "transport", json_string(e->transport));
        rc |= json_object_set_new(o, "grpc_status",
                                  e->grpc_status[0] ? json_string(e->grpc_status) : json_null());
    }
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *request_log_view(struct request_log *log, uint64_t since)
{
    json_t *root = json_object();
    json_t *list = json_array();
    if (!root || !list || json_object_set(root, "requests", list) < 0)
        goto fail;
    pthread_mutex_lock(&log->mutex);
    for (size_t i = 0; i < log->count; i++) {
        const struct stored_entry *e = &log->ring[(log->start + i) % log->capacity];
        if (e->seq <= since)
            continue;
        if (json_array_append_new(list, entry_json(e)) < 0) {
            pthread_mutex_unlock(&log->mutex);
            goto fail;
        }
    }
    json_t *dropped = json_integer((json_int_t)log->dropped);
    pthread_mutex_unlock(&log->mutex);
    if (json_object_set_new(root, "dropped", dropped) < 0)
        goto fail;
    json_decref(list);
    return root;
fail:
    json_decref(list);
    json_decref(root);
    return NULL;
}

void request_log_stats(struct request_log *log, struct request_log_stats *out)
{
    pthread_mutex_lock(&log->mutex);
    *out = log->stats;
    pthread_mutex_unlock(&log->mutex);
}

void request_log_reset(struct request_log *log)
{
    /* Detach the ring under the lock, free the strings outside it. */
    struct stored_entry *fresh = calloc(log->capacity, sizeof(*fresh));
    pthread_mutex_lock(&log->mutex);
    if (!fresh) {
        drop_all(log); /* no memory for a swap: free in place, still correct */
    } else {
        struct stored_entry *old = log->ring;
        size_t start = log->start, count = log->count;
        log->ring = fresh;
        log->start = 0;
        log->count = 0;
        fresh = old;
        log->dropped = 0;
        memset(&log->stats, 0, sizeof(log->stats));
        pthread_mutex_unlock(&log->mutex);
        for (size_t i = 0; i < count; i++)
            entry_free(&fresh[(start + i) % log->capacity]);
        free(fresh);
        return;
    }
    log->dropped = 0;
    memset(&log->stats, 0, sizeof(log->stats));
    pthread_mutex_unlock(&log->mutex);
}
