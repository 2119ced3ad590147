/*
 * k8s_store.c - the fake Kubernetes API server's object store (see k8s_store.h for the
 * contract). Per resource type: the objects in a sorted array keyed "<namespace>/<name>" (etcd's
 * key order) and a ring of the last `history_size` events, each with the object before and
 * after. The ring serves three things at once: watches from a resourceVersion (the watch cache's
 * cyclic buffer), lists at an exact older resourceVersion (the state is rebuilt by undoing the
 * newer events, standing in for etcd's MVCC), and continue tokens (which list at their RV).
 * Eviction from the ring is therefore this store's compaction: one window for both, where the
 * real server has the watch cache's window and etcd's 5-minute compaction.
 *
 * Checked against kubernetes: apiserver/pkg/storage/cacher/watch_cache.go (oldest-1 rule, the
 * 410 message), cacher/cache_watcher.go (filter transitions; forced close of a watcher that
 * cannot take an event; bookmark timing), etcd3/errors.go and etcd3/store.go (compaction errors,
 * the deleted object's RV, no-op updates), storage/continue.go (token format and errors),
 * storage/errors.go (Too large resource version), the list read-consistency rules (RV unset /
 * "0" / N, legacy exact with a limit, continue).
 *
 * Deliberate differences: a uid or creationTimestamp given on create is kept (the real server
 * always sets its own; scenarios need stable pod uids); a full queue closes the watcher at once
 * (the cacher first waits a short time budget); status is written like any other field (no
 * status subresource).
 */
#include "k8s_store.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define DEFAULT_HISTORY_SIZE 1000
#define DEFAULT_MAX_OBJECTS 10000
#define DEFAULT_MAX_OBJECT_BYTES (3u * 1024 * 1024)
#define DEFAULT_WATCH_QUEUE_SIZE 1000
#define DEFAULT_MAX_WATCHERS 1000
#define DEFAULT_FUTURE_RV_WAIT_MS 3000
#define CONTINUE_VERSION "meta.k8s.io/v1"

struct entry {
    char *key;      /* "<namespace>/<name>" or "<name>" */
    json_t *object; /* immutable once stored; with kind/apiVersion */
    /* The object as a list item (no kind/apiVersion), serialized when it is written: a JSON
     * string holding the text, so that a list can keep a reference after it unlocks. NULL when
     * that ran out of memory (the next list that needs it makes it). */
    json_t *item_text;
};

struct history_event {
    enum k8s_store_event_type type;
    uint64_t rv;
    char *key;
    json_t *object; /* the new state; for DELETED the last state with the deletion's RV */
    json_t *prev;   /* the state before, NULL for ADDED */
};

struct k8s_store_type {
    const struct k8s_resource_type *rt; /* k8s_resources.h's table: static */
    char *qualified_resource;           /* "pods" or "deployments.apps" */
    char *qualified_kind;               /* "Pod" or "Deployment.apps" */
    struct entry *entries;              /* sorted by key (strcmp) */
    size_t count, cap;
    struct history_event *history; /* ring of store->config.history_size */
    size_t history_start, history_len;
    uint64_t list_rv; /* the RV at registration or reset: nothing older is known */
    bool evicted;     /* an event left the ring since list_rv */
    struct k8s_store_type *next;
};

struct watch_item {
    enum k8s_store_event_type type;
    uint64_t rv_override; /* nonzero: hand out `object` with this resourceVersion */
    json_t *object;       /* a reference */
};

struct k8s_store_watcher {
    struct k8s_store *store;
    struct k8s_store_type *type;
    char *namespace; /* NULL = all */
    k8s_store_match_fn match;
    void *ctx;
    bool allow_bookmarks;
    uint64_t after_rv; /* live events at or below it are not for this watch */
    /* Under the store's lock. */
    bool linked;
    struct k8s_store_watcher *prev, *next;
    /* Under `lock`. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool lock_ready, cond_ready;
    struct watch_item *backlog; /* initial ADDED or history events, handed out first */
    size_t backlog_len, backlog_pos;
    struct watch_item *queue; /* ring of live events */
    size_t queue_cap, head, len;
    enum k8s_store_watch_end end;
};

struct k8s_store {
    struct k8s_store_config config;
    pthread_mutex_t lock;
    pthread_cond_t advanced; /* broadcast on every write: lists waiting for a future RV */
    uint64_t rv;
    size_t objects;
    size_t watcher_count;
    struct k8s_store_type *types;
    struct k8s_store_watcher *watchers;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static char *dup_string(const char *s)
{
    return strdup(s ? s : "");
}

static char *format_string(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format_string(const char *fmt, ...)
{
    char *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : out;
}

static bool is_empty(const char *s)
{
    return !s || !*s;
}

/* A resourceVersion as Go's strconv.ParseUint(s, 10, 64) reads it. */
static bool parse_rv(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (is_empty(s))
        return false;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned digit = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

static int out_of_memory(struct error *err)
{
    return error_set(err, -ENOMEM, ERROR_RETRYABLE, "Internal error occurred: out of memory");
}

static json_t *metadata_of(json_t *object)
{
    json_t *meta = json_object_get(object, "metadata");
    return json_is_object(meta) ? meta : NULL;
}

static const char *meta_string(const json_t *object, const char *field)
{
    json_t *meta = json_object_get(object, "metadata");
    return json_string_value(json_object_get(meta, field));
}

static int set_string(json_t *object, const char *key, const char *value)
{
    return json_object_set_new(object, key, json_string(value));
}

static int set_rv(json_t *object, uint64_t rv)
{
    char text[24];
    snprintf(text, sizeof(text), "%" PRIu64, rv);
    json_t *meta = metadata_of(object);
    return meta ? set_string(meta, "resourceVersion", text) : -1;
}

static int random_bytes(uint8_t *out, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom(out + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -EIO;
        }
        done += (size_t)n;
    }
    return 0;
}

/* A random (version 4) UUID in its 36-character form. */
static int make_uuid(char out[37])
{
    uint8_t b[16];
    if (random_bytes(b, sizeof(b)) != 0)
        return -EIO;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

/* generateName's suffix: 5 characters of apimachinery's util/rand alphabet (no vowels, no
 * look-alikes). */
static int make_name_suffix(char out[6])
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    uint8_t b[5];
    if (random_bytes(b, sizeof(b)) != 0)
        return -EIO;
    for (int i = 0; i < 5; i++)
        out[i] = alphabet[b[i] % (sizeof(alphabet) - 1)];
    out[5] = '\0';
    return 0;
}

static void rfc3339_now(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char base64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Go's base64.RawURLEncoding. Caller frees; NULL on ENOMEM. */
static char *base64url_encode(const unsigned char *data, size_t len)
{
    char *out = malloc(len / 3 * 4 + 5);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        out[o++] = base64url[v >> 18 & 63];
        out[o++] = base64url[v >> 12 & 63];
        out[o++] = base64url[v >> 6 & 63];
        out[o++] = base64url[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)data[i] << 16;
        out[o++] = base64url[v >> 18 & 63];
        out[o++] = base64url[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
        out[o++] = base64url[v >> 18 & 63];
        out[o++] = base64url[v >> 12 & 63];
        out[o++] = base64url[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

/* Decodes RawURLEncoding (no padding) into a malloc'd buffer. 0, -EINVAL or -ENOMEM. */
static int base64url_decode(const char *text, unsigned char **out, size_t *out_len)
{
    size_t len = strlen(text);
    if (len % 4 == 1)
        return -EINVAL;
    unsigned char *buf = malloc(len / 4 * 3 + 3);
    if (!buf)
        return -ENOMEM;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = memchr(base64url, text[i], 64);
        if (!p || !text[i]) {
            free(buf);
            return -EINVAL;
        }
        acc = acc << 6 | (uint32_t)(p - base64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    *out = buf;
    *out_len = o;
    return 0;
}

/* ---- errors ------------------------------------------------------------------------------ */

int k8s_store_http_status(int code)
{
    switch (code) {
    case 0: return 200;
    case -ENOENT: return 404;
    case -EEXIST: return 409;
    case -EBUSY: return 409;
    case -EINVAL: return 422;
    case -EBADMSG: return 400;
    case -ESTALE: return 410;
    case -ETIMEDOUT: return 504;
    case -EFBIG: return 413;
    case -EAGAIN: return 429;
    default: return 500;
    }
}

const char *k8s_store_reason(int code)
{
    switch (code) {
    case -ENOENT: return "NotFound";
    case -EEXIST: return "AlreadyExists";
    case -EBUSY: return "Conflict";
    case -EINVAL: return "Invalid";
    case -EBADMSG: return "BadRequest";
    case -ESTALE: return "Expired";
    case -ETIMEDOUT: return "Timeout";
    case -EFBIG: return "RequestEntityTooLarge";
    case -EAGAIN: return "TooManyRequests";
    case -ENOMEM: return "InternalError";
    default: return "";
    }
}

static json_t *status_object(int code, const char *message)
{
    json_t *status = json_object();
    const char *reason = k8s_store_reason(code);
    if (!status || set_string(status, "kind", "Status") || set_string(status, "apiVersion", "v1") ||
        json_object_set_new(status, "metadata", json_object()) ||
        set_string(status, "status", "Failure") || set_string(status, "message", message) ||
        (*reason && set_string(status, "reason", reason)) ||
        json_object_set_new(status, "code", json_integer(k8s_store_http_status(code)))) {
        json_decref(status);
        return NULL;
    }
    return status;
}

/* Moves "code" last, where the API server writes it, after details were added. */
static int status_code_last(json_t *status)
{
    json_t *code = json_incref(json_object_get(status, "code"));
    json_object_del(status, "code");
    return json_object_set_new(status, "code", code);
}

json_t *k8s_store_status_json(const struct error *err, const struct k8s_store_type *type,
                              const char *name)
{
    int code = err && err->code ? err->code : -EIO;
    json_t *status = status_object(code, err ? err->message : "");
    if (!status)
        return NULL;
    bool with_details =
        type && (code == -ENOENT || code == -EEXIST || code == -EBUSY || code == -EINVAL);
    if (with_details) {
        json_t *details = json_object();
        if (!details || json_object_set_new(status, "details", details) ||
            (!is_empty(name) && set_string(details, "name", name)) ||
            (!is_empty(type->rt->group) && set_string(details, "group", type->rt->group)) ||
            set_string(details, "kind", code == -EINVAL ? type->rt->kind : type->rt->plural) ||
            status_code_last(status)) {
            json_decref(status);
            return NULL;
        }
    }
    return status;
}

json_t *k8s_store_list_status_json(const struct error *err,
                                   const struct k8s_store_list_result *result)
{
    json_t *status = k8s_store_status_json(err, NULL, NULL);
    if (!status || !err)
        return status;
    if (err->code == -ESTALE && result && result->continue_token) {
        json_t *meta = json_object_get(status, "metadata");
        if (set_string(meta, "continue", result->continue_token))
            goto fail;
    }
    if (err->code == -ETIMEDOUT) {
        /* storage.NewTooLargeResourceVersionError: a Timeout with one cause */
        json_t *details =
            json_pack("{s:[{s:s,s:s}],s:i}", "causes", "reason", "ResourceVersionTooLarge",
                      "message", "Too large resource version", "retryAfterSeconds",
                      result ? result->retry_after_seconds : 0);
        if (!details || json_object_set_new(status, "details", details) || status_code_last(status))
            goto fail;
    }
    return status;
fail:
    json_decref(status);
    return NULL;
}

/* ---- types and entries ------------------------------------------------------------------- */

static size_t find_index(const struct k8s_store_type *type, const char *key, bool *found)
{
    size_t lo = 0, hi = type->count;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(type->entries[mid].key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The key of `name` in `namespace` (ignored for a cluster-scoped type). Caller frees. */
static char *make_key(const struct k8s_store_type *type, const char *namespace, const char *name)
{
    if (type->rt->namespaced)
        return format_string("%s/%s", namespace ? namespace : "", name);
    return strdup(name);
}

/* The [first, end) range of entries in `namespace` (NULL = all). */
static void namespace_range(const struct k8s_store_type *type, const char *namespace, size_t *first,
                            size_t *end)
{
    if (!namespace) {
        *first = 0;
        *end = type->count;
        return;
    }
    size_t len = strlen(namespace);
    size_t lo = 0, hi = type->count;
    /* first key >= "<ns>/" */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k = type->entries[mid].key;
        int c = strncmp(k, namespace, len);
        if (c < 0 || (c == 0 && k[len] < '/'))
            lo = mid + 1;
        else
            hi = mid;
    }
    *first = lo;
    size_t e = lo;
    while (e < type->count && strncmp(type->entries[e].key, namespace, len) == 0 &&
           type->entries[e].key[len] == '/')
        e++;
    *end = e;
}

static bool key_in_namespace(const char *key, const char *namespace)
{
    if (!namespace)
        return true;
    size_t len = strlen(namespace);
    return strncmp(key, namespace, len) == 0 && key[len] == '/';
}

/* The namespace a call is about: NULL (all) for a cluster-scoped type or an empty one. */
static const char *scope(const struct k8s_store_type *type, const char *namespace)
{
    return type->rt->namespaced && !is_empty(namespace) ? namespace : NULL;
}

static void history_clear(struct k8s_store *store, struct k8s_store_type *type)
{
    for (size_t i = 0; i < type->history_len; i++) {
        struct history_event *ev =
            &type->history[(type->history_start + i) % store->config.history_size];
        free(ev->key);
        json_decref(ev->object);
        json_decref(ev->prev);
    }
    type->history_start = type->history_len = 0;
}

/* An object as a list item, serialized (kind/apiVersion left out, as a raw list's items carry
 * none): a JSON string holding the text, or NULL on ENOMEM. */
static json_t *item_text_of(const json_t *object)
{
    json_t *copy = json_copy((json_t *)object);
    if (!copy)
        return NULL;
    json_object_del(copy, "kind");
    json_object_del(copy, "apiVersion");
    char *text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    json_t *string = text ? json_stringn_nocheck(text, strlen(text)) : NULL;
    free(text);
    return string;
}

static void entries_clear(struct k8s_store_type *type)
{
    for (size_t i = 0; i < type->count; i++) {
        free(type->entries[i].key);
        json_decref(type->entries[i].object);
        json_decref(type->entries[i].item_text);
    }
    type->count = 0;
}

static void type_free(struct k8s_store *store, struct k8s_store_type *type)
{
    if (!type)
        return;
    if (type->history)
        history_clear(store, type);
    entries_clear(type);
    free(type->entries);
    free(type->history);
    free(type->qualified_resource);
    free(type->qualified_kind);
    free(type);
}

/* The RV before which a watch or an exact list cannot be served: the watch cache's
 * "oldest - 1" (listResourceVersion while nothing was evicted, else the first buffered event's
 * RV - 1). */
static uint64_t history_floor(const struct k8s_store *store, const struct k8s_store_type *type)
{
    if (!type->evicted)
        return type->list_rv;
    return type->history[type->history_start % store->config.history_size].rv - 1;
}

/* ---- store ------------------------------------------------------------------------------- */

struct k8s_store *k8s_store_new(const struct k8s_store_config *config)
{
    struct k8s_store *store = calloc(1, sizeof(*store));
    if (!store)
        return NULL;
    if (config)
        store->config = *config;
    struct k8s_store_config *c = &store->config;
    if (!c->history_size)
        c->history_size = DEFAULT_HISTORY_SIZE;
    if (!c->max_objects)
        c->max_objects = DEFAULT_MAX_OBJECTS;
    if (!c->max_object_bytes)
        c->max_object_bytes = DEFAULT_MAX_OBJECT_BYTES;
    if (!c->watch_queue_size)
        c->watch_queue_size = DEFAULT_WATCH_QUEUE_SIZE;
    if (!c->max_watchers)
        c->max_watchers = DEFAULT_MAX_WATCHERS;
    if (!c->future_rv_wait_ms)
        c->future_rv_wait_ms = DEFAULT_FUTURE_RV_WAIT_MS;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        free(store);
        return NULL;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&store->advanced, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        free(store);
        return NULL;
    }
    if (pthread_mutex_init(&store->lock, NULL) != 0) {
        pthread_cond_destroy(&store->advanced);
        free(store);
        return NULL;
    }
    return store;
}

void k8s_store_free(struct k8s_store *store)
{
    if (!store)
        return;
    assert(!store->watchers); /* the owner frees every watcher first */
    struct k8s_store_type *type = store->types;
    while (type) {
        struct k8s_store_type *next = type->next;
        type_free(store, type);
        type = next;
    }
    pthread_mutex_destroy(&store->lock);
    pthread_cond_destroy(&store->advanced);
    free(store);
}

int k8s_store_register(struct k8s_store *store, const struct k8s_resource_type *rt,
                       struct k8s_store_type **out, struct error *err)
{
    if (k8s_store_find(store, rt->group, rt->plural))
        return error_set(err, -EEXIST, ERROR_PERMANENT, "resource %s.%s is already registered",
                         rt->plural, rt->group);
    struct k8s_store_type *type = calloc(1, sizeof(*type));
    if (!type)
        return out_of_memory(err);
    type->rt = rt;
    if (*rt->group) {
        type->qualified_resource = format_string("%s.%s", rt->plural, rt->group);
        type->qualified_kind = format_string("%s.%s", rt->kind, rt->group);
    } else {
        type->qualified_resource = dup_string(rt->plural);
        type->qualified_kind = dup_string(rt->kind);
    }
    type->history = calloc(store->config.history_size, sizeof(*type->history));
    if (!type->qualified_resource || !type->qualified_kind || !type->history)
        goto fail;
    pthread_mutex_lock(&store->lock);
    type->list_rv = store->rv;
    type->next = store->types;
    store->types = type;
    pthread_mutex_unlock(&store->lock);
    if (out)
        *out = type;
    return 0;
fail:
    type_free(store, type);
    return out_of_memory(err);
}

struct k8s_store_type *k8s_store_find(struct k8s_store *store, const char *group,
                                      const char *resource)
{
    pthread_mutex_lock(&store->lock);
    struct k8s_store_type *type = store->types;
    while (type && (strcmp(type->rt->group, group ? group : "") != 0 ||
                    strcmp(type->rt->plural, resource) != 0))
        type = type->next;
    pthread_mutex_unlock(&store->lock);
    return type;
}

const struct k8s_resource_type *k8s_store_type_resource(const struct k8s_store_type *type)
{
    return type->rt;
}

uint64_t k8s_store_resource_version(struct k8s_store *store)
{
    pthread_mutex_lock(&store->lock);
    uint64_t rv = store->rv;
    pthread_mutex_unlock(&store->lock);
    return rv;
}

/* ---- watchers (store lock held unless said otherwise) ------------------------------------ */

static void items_release(struct watch_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(items[i].object);
        items[i].object = NULL;
    }
}

/* Drops everything queued. Watcher lock held. */
static void watcher_drop_items(struct k8s_store_watcher *w)
{
    if (w->backlog) {
        items_release(w->backlog + w->backlog_pos, w->backlog_len - w->backlog_pos);
        w->backlog_pos = w->backlog_len;
    }
    for (size_t i = 0; i < w->len; i++) {
        json_decref(w->queue[(w->head + i) % w->queue_cap].object);
        w->queue[(w->head + i) % w->queue_cap].object = NULL;
    }
    w->head = w->len = 0;
}

static void watcher_unlink(struct k8s_store *store, struct k8s_store_watcher *w)
{
    if (!w->linked)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        store->watchers = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->linked = false;
    store->watcher_count--;
}

/* Ends a linked watcher for `why`, dropping what it had queued. */
static void watcher_end(struct k8s_store *store, struct k8s_store_watcher *w,
                        enum k8s_store_watch_end why)
{
    watcher_unlink(store, w);
    pthread_mutex_lock(&w->lock);
    if (w->end == K8S_WATCH_OPEN)
        w->end = why;
    watcher_drop_items(w);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static bool watcher_matches(const struct k8s_store_watcher *w, const json_t *object)
{
    return !w->match || w->match(object, w->ctx);
}

/* What watcher `w` sees of `ev` (cacheWatcher.convertToWatchEvent): false when nothing. */
static bool convert_event(const struct k8s_store_watcher *w, const struct history_event *ev,
                          struct watch_item *item)
{
    bool now = ev->type != K8S_EVENT_DELETED && watcher_matches(w, ev->object);
    bool before = ev->prev && watcher_matches(w, ev->prev);
    item->rv_override = 0;
    if (now && !before) {
        item->type = K8S_EVENT_ADDED;
        item->object = json_incref(ev->object);
    } else if (now && before) {
        item->type = K8S_EVENT_MODIFIED;
        item->object = json_incref(ev->object);
    } else if (before) {
        /* the previous content with the event's resourceVersion; a real delete's object
           already is exactly that */
        item->type = K8S_EVENT_DELETED;
        if (ev->type == K8S_EVENT_DELETED) {
            item->object = json_incref(ev->object);
        } else {
            item->object = json_incref(ev->prev);
            item->rv_override = ev->rv;
        }
    } else {
        return false;
    }
    return true;
}

/* Queues a live item (taking its reference). A full queue closes the watcher: writers never
 * wait, queues never grow. */
static void watcher_push(struct k8s_store *store, struct k8s_store_watcher *w,
                         struct watch_item *item)
{
    pthread_mutex_lock(&w->lock);
    if (w->end != K8S_WATCH_OPEN) {
        pthread_mutex_unlock(&w->lock);
        json_decref(item->object);
        return;
    }
    if (w->len == w->queue_cap) {
        w->end = K8S_WATCH_OVERFLOW;
        watcher_drop_items(w);
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        watcher_unlink(store, w);
        json_decref(item->object);
        return;
    }
    w->queue[(w->head + w->len) % w->queue_cap] = *item;
    w->len++;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* Appends an event to the type's ring (taking `key`, `object` and `prev`) and hands it to the
 * watchers of the type. Allocates nothing: it cannot fail. */
static void record_event(struct k8s_store *store, struct k8s_store_type *type,
                         enum k8s_store_event_type kind, uint64_t rv, char *key, json_t *object,
                         json_t *prev)
{
    size_t size = store->config.history_size;
    if (type->history_len == size) {
        struct history_event *old = &type->history[type->history_start];
        free(old->key);
        json_decref(old->object);
        json_decref(old->prev);
        type->history_start = (type->history_start + 1) % size;
        type->history_len--;
        type->evicted = true;
    }
    struct history_event *ev = &type->history[(type->history_start + type->history_len) % size];
    *ev =
        (struct history_event){.type = kind, .rv = rv, .key = key, .object = object, .prev = prev};
    type->history_len++;

    struct k8s_store_watcher *w = store->watchers;
    while (w) {
        struct k8s_store_watcher *next = w->next; /* w may unlink itself on overflow */
        struct watch_item item;
        if (w->type == type && rv > w->after_rv && key_in_namespace(key, w->namespace) &&
            convert_event(w, ev, &item))
            watcher_push(store, w, &item);
        w = next;
    }
    pthread_cond_broadcast(&store->advanced);
}

/* ---- writes ------------------------------------------------------------------------------ */

static int object_size_check(const struct k8s_store *store, const json_t *object, struct error *err)
{
    size_t size = json_dumpb(object, NULL, 0, JSON_COMPACT);
    if (size > store->config.max_object_bytes)
        return error_set(err, -EFBIG, ERROR_PERMANENT, "Request entity too large: limit is %zu",
                         store->config.max_object_bytes);
    return 0;
}

/* Sets what the store owns on a copy about to be written: kind/apiVersion, the namespace (checked
 * against the request's), metadata present. Leaves *name_out borrowed from `object`. */
static int prepare_object(const struct k8s_store_type *type, const char *namespace, json_t *object,
                          struct error *err)
{
    if (!json_is_object(object))
        return error_set(err, -EBADMSG, ERROR_PERMANENT, "the object is not a JSON object");
    json_t *meta = json_object_get(object, "metadata");
    if (!meta) {
        meta = json_object();
        if (!meta || json_object_set_new(object, "metadata", meta))
            return out_of_memory(err);
    } else if (!json_is_object(meta)) {
        return error_set(err, -EBADMSG, ERROR_PERMANENT, "metadata is not a JSON object");
    }
    if (set_string(object, "kind", type->rt->kind) ||
        set_string(object, "apiVersion", type->rt->api_version))
        return out_of_memory(err);
    if (!type->rt->namespaced) {
        json_object_del(meta, "namespace");
        return 0;
    }
    const char *own = json_string_value(json_object_get(meta, "namespace"));
    if (!is_empty(namespace)) {
        if (!is_empty(own) && strcmp(own, namespace) != 0)
            return error_set(err, -EBADMSG, ERROR_PERMANENT,
                             "the namespace of the provided object does not match the namespace "
                             "sent on the request");
        if (is_empty(own) && set_string(meta, "namespace", namespace))
            return out_of_memory(err);
    } else if (is_empty(own)) {
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "%s \"%s\" is invalid: metadata.namespace: Required value",
                         type->qualified_kind, meta_string(object, "name") ?: "");
    }
    return 0;
}

/* Whether anything but metadata and status differs (the strategies' generation rule). */
static bool spec_changed(const json_t *old, const json_t *new)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)new, key, value)
    {
        if (strcmp(key, "metadata") == 0 || strcmp(key, "status") == 0)
            continue;
        if (!json_equal(value, json_object_get(old, key)))
            return true;
    }
    json_object_foreach((json_t *)old, key, value)
    {
        if (strcmp(key, "metadata") == 0 || strcmp(key, "status") == 0)
            continue;
        if (!json_object_get(new, key))
            return true;
    }
    return false;
}

static int ensure_capacity(struct k8s_store_type *type)
{
    if (type->count < type->cap)
        return 0;
    size_t cap = type->cap ? type->cap * 2 : 16;
    struct entry *grown = realloc(type->entries, cap * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    type->entries = grown;
    type->cap = cap;
    return 0;
}

/* The caller's object, copied (the store never keeps what it was handed) and prepared for a
 * write: create and update start the same. On failure *copy is NULL and err says why. */
static int copy_to_write(const struct k8s_store_type *type, const char *namespace,
                         const json_t *object, json_t **copy, struct error *err)
{
    *copy = NULL;
    if (!json_is_object(object))
        return error_set(err, -EBADMSG, ERROR_PERMANENT, "the object is not a JSON object");
    json_t *c = json_deep_copy(object);
    if (!c)
        return out_of_memory(err);
    int rc = prepare_object(type, namespace, c, err);
    if (rc != 0) {
        json_decref(c);
        return rc;
    }
    *copy = c;
    return 0;
}

int k8s_store_create(struct k8s_store *store, struct k8s_store_type *type, const char *namespace,
                     const json_t *object, json_t **out, struct error *err)
{
    json_t *copy = NULL, *result = NULL;
    char *key = NULL, *event_key = NULL;
    bool locked = false;
    int rc;
    if (out)
        *out = NULL;
    if ((rc = copy_to_write(type, namespace, object, &copy, err)) != 0)
        goto fail;
    json_t *meta = metadata_of(copy);
    if (!is_empty(meta_string(copy, "resourceVersion"))) {
        /* etcd3 store.Create refuses it; the error is not a Status, so a bare 500 */
        rc = error_set(err, -EIO, ERROR_PERMANENT,
                       "resourceVersion should not be set on objects to be created");
        goto fail;
    }
    const char *name = meta_string(copy, "name");
    if (is_empty(name)) {
        const char *generate = meta_string(copy, "generateName");
        if (is_empty(generate)) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "%s \"\" is invalid: metadata.name: Required value: name or "
                           "generateName is required",
                           type->qualified_kind);
            goto fail;
        }
        char suffix[6], *generated = NULL;
        if (make_name_suffix(suffix) != 0) {
            rc = error_set(err, -EIO, ERROR_RETRYABLE, "no random bytes for generateName");
            goto fail;
        }
        generated = format_string("%s%s", generate, suffix);
        if (!generated || set_string(meta, "name", generated)) {
            free(generated);
            rc = out_of_memory(err);
            goto fail;
        }
        free(generated);
        name = meta_string(copy, "name");
    }
    if (is_empty(meta_string(copy, "uid"))) {
        char uid[37];
        if (make_uuid(uid) != 0) {
            rc = error_set(err, -EIO, ERROR_RETRYABLE, "no random bytes for a uid");
            goto fail;
        }
        if (set_string(meta, "uid", uid)) {
            rc = out_of_memory(err);
            goto fail;
        }
    }
    if (is_empty(meta_string(copy, "creationTimestamp"))) {
        char now[32];
        rfc3339_now(now);
        if (set_string(meta, "creationTimestamp", now)) {
            rc = out_of_memory(err);
            goto fail;
        }
    }
    if (type->rt->has_generation && json_object_set_new(meta, "generation", json_integer(1))) {
        rc = out_of_memory(err);
        goto fail;
    }
    if ((rc = object_size_check(store, copy, err)) != 0)
        goto fail;
    key = make_key(type, scope(type, meta_string(copy, "namespace")), name);
    event_key = key ? strdup(key) : NULL;
    if (!key || !event_key) {
        rc = out_of_memory(err);
        goto fail;
    }

    pthread_mutex_lock(&store->lock);
    locked = true;
    bool found;
    size_t at = find_index(type, key, &found);
    if (found) {
        rc = error_set(err, -EEXIST, ERROR_PERMANENT, "%s \"%s\" already exists",
                       type->qualified_resource, name);
        goto fail;
    }
    if (store->objects >= store->config.max_objects) {
        rc = error_set(err, -EIO, ERROR_RETRYABLE, "etcdserver: mvcc: database space exceeded");
        goto fail;
    }
    uint64_t rv = store->rv + 1;
    if (set_rv(copy, rv) || ensure_capacity(type) || (out && !(result = json_deep_copy(copy)))) {
        rc = out_of_memory(err);
        goto fail;
    }
    /* nothing below fails */
    store->rv = rv;
    memmove(&type->entries[at + 1], &type->entries[at], (type->count - at) * sizeof(struct entry));
    /* Serialized now, so that no list pays for it (NULL on ENOMEM: the first list makes it). */
    type->entries[at] =
        (struct entry){.key = key, .object = json_incref(copy), .item_text = item_text_of(copy)};
    type->count++;
    store->objects++;
    record_event(store, type, K8S_EVENT_ADDED, rv, event_key, copy, NULL);
    pthread_mutex_unlock(&store->lock);
    if (out)
        *out = result;
    return 0;
fail:
    if (locked)
        pthread_mutex_unlock(&store->lock);
    json_decref(copy);
    json_decref(result);
    free(key);
    free(event_key);
    return rc;
}

int k8s_store_get(struct k8s_store *store, struct k8s_store_type *type, const char *namespace,
                  const char *name, json_t **out, struct error *err)
{
    *out = NULL;
    char *key = make_key(type, scope(type, namespace), name ? name : "");
    if (!key)
        return out_of_memory(err);
    pthread_mutex_lock(&store->lock);
    bool found;
    size_t at = find_index(type, key, &found);
    json_t *object = found ? json_incref(type->entries[at].object) : NULL;
    pthread_mutex_unlock(&store->lock);
    free(key);
    if (!object)
        return error_set(err, -ENOENT, ERROR_PERMANENT, "%s \"%s\" not found",
                         type->qualified_resource, name ? name : "");
    *out = json_deep_copy(object); /* stored objects are immutable: copied outside the lock */
    json_decref(object);
    return *out ? 0 : out_of_memory(err);
}

int k8s_store_update(struct k8s_store *store, struct k8s_store_type *type, const char *namespace,
                     const json_t *object, json_t **out, struct error *err)
{
    json_t *copy = NULL, *result = NULL;
    char *key = NULL, *event_key = NULL;
    bool locked = false;
    int rc;
    if (out)
        *out = NULL;
    if ((rc = copy_to_write(type, namespace, object, &copy, err)) != 0)
        goto fail;
    json_t *meta = metadata_of(copy);
    const char *name = meta_string(copy, "name");
    if (is_empty(name)) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "%s \"\" is invalid: metadata.name: Required value: name is required",
                       type->qualified_kind);
        goto fail;
    }
    if ((rc = object_size_check(store, copy, err)) != 0)
        goto fail;
    key = make_key(type, scope(type, meta_string(copy, "namespace")), name);
    event_key = key ? strdup(key) : NULL;
    if (!key || !event_key) {
        rc = out_of_memory(err);
        goto fail;
    }

    pthread_mutex_lock(&store->lock);
    locked = true;
    bool found;
    size_t at = find_index(type, key, &found);
    if (!found) {
        rc = error_set(err, -ENOENT, ERROR_PERMANENT, "%s \"%s\" not found",
                       type->qualified_resource, name);
        goto fail;
    }
    json_t *old = type->entries[at].object;
    const char *wanted = meta_string(copy, "resourceVersion");
    const char *current = meta_string(old, "resourceVersion");
    if (!is_empty(wanted) && strcmp(wanted, current ? current : "") != 0) {
        rc = error_set(err, -EBUSY, ERROR_PERMANENT,
                       "Operation cannot be fulfilled on %s \"%s\": the object has been "
                       "modified; please apply your changes to the latest version and try again",
                       type->qualified_resource, name);
        goto fail;
    }
    /* immutable fields come from the stored object */
    const char *fields[] = {"uid", "creationTimestamp", "generation"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_t *value = json_object_get(metadata_of(old), fields[i]);
        if (!value) {
            json_object_del(meta, fields[i]);
        } else if (json_object_set_new(meta, fields[i], json_deep_copy(value))) {
            rc = out_of_memory(err);
            goto fail;
        }
    }
    if (type->rt->has_generation && spec_changed(old, copy)) {
        json_int_t generation = json_integer_value(json_object_get(metadata_of(old), "generation"));
        if (json_object_set_new(meta, "generation", json_integer(generation + 1))) {
            rc = out_of_memory(err);
            goto fail;
        }
    }
    if (set_string(meta, "resourceVersion", current ? current : "")) {
        rc = out_of_memory(err);
        goto fail;
    }
    if (json_equal(copy, old)) {
        /* nothing changed: etcd3's GuaranteedUpdate writes nothing and keeps the RV */
        if (out && !(result = json_deep_copy(old))) {
            rc = out_of_memory(err);
            goto fail;
        }
        pthread_mutex_unlock(&store->lock);
        json_decref(copy);
        free(key);
        free(event_key);
        if (out)
            *out = result;
        return 0;
    }
    uint64_t rv = store->rv + 1;
    if (set_rv(copy, rv) || (out && !(result = json_deep_copy(copy)))) {
        rc = out_of_memory(err);
        goto fail;
    }
    store->rv = rv;
    type->entries[at].object = json_incref(copy);
    json_decref(type->entries[at].item_text);
    type->entries[at].item_text = item_text_of(copy);
    record_event(store, type, K8S_EVENT_MODIFIED, rv, event_key, copy, old /* entry's ref */);
    pthread_mutex_unlock(&store->lock);
    free(key);
    if (out)
        *out = result;
    return 0;
fail:
    if (locked)
        pthread_mutex_unlock(&store->lock);
    json_decref(copy);
    json_decref(result);
    free(key);
    free(event_key);
    return rc;
}

int k8s_store_delete(struct k8s_store *store, struct k8s_store_type *type, const char *namespace,
                     const char *name, json_t **out, struct error *err)
{
    json_t *deleted = NULL, *result = NULL;
    int rc;
    if (out)
        *out = NULL;
    char *key = make_key(type, scope(type, namespace), name ? name : "");
    char *event_key = key ? strdup(key) : NULL;
    if (!key || !event_key) {
        rc = out_of_memory(err);
        goto fail_unlocked;
    }
    pthread_mutex_lock(&store->lock);
    bool found;
    size_t at = find_index(type, key, &found);
    if (!found) {
        rc = error_set(err, -ENOENT, ERROR_PERMANENT, "%s \"%s\" not found",
                       type->qualified_resource, name ? name : "");
        goto fail;
    }
    json_t *old = type->entries[at].object;
    uint64_t rv = store->rv + 1;
    deleted = json_deep_copy(old);
    if (!deleted || set_rv(deleted, rv) || (out && !(result = json_deep_copy(deleted)))) {
        rc = out_of_memory(err);
        goto fail;
    }
    store->rv = rv;
    free(type->entries[at].key);
    json_decref(type->entries[at].item_text);
    memmove(&type->entries[at], &type->entries[at + 1],
            (type->count - at - 1) * sizeof(struct entry));
    type->count--;
    store->objects--;
    record_event(store, type, K8S_EVENT_DELETED, rv, event_key, deleted, old /* entry's ref */);
    pthread_mutex_unlock(&store->lock);
    free(key);
    if (out)
        *out = result;
    return 0;
fail:
    pthread_mutex_unlock(&store->lock);
fail_unlocked:
    json_decref(deleted);
    json_decref(result);
    free(key);
    free(event_key);
    return rc;
}

size_t k8s_store_count(struct k8s_store *store, struct k8s_store_type *type, const char *namespace)
{
    size_t first, end;
    pthread_mutex_lock(&store->lock);
    namespace_range(type, scope(type, namespace), &first, &end);
    pthread_mutex_unlock(&store->lock);
    return end - first;
}

/* References to the objects in [first, end) taken under the lock; copied by the caller outside
 * it. NULL on ENOMEM (or when empty, with *n = 0). */
static json_t **take_refs(struct k8s_store_type *type, size_t first, size_t end, size_t *n)
{
    *n = 0;
    if (end == first)
        return NULL;
    json_t **refs = malloc((end - first) * sizeof(*refs));
    if (!refs)
        return NULL;
    for (size_t i = first; i < end; i++)
        refs[i - first] = json_incref(type->entries[i].object);
    *n = end - first;
    return refs;
}

/* Appends copies of refs[0..n) to a new array, releasing the references. Deep copies, or when
 * `as_items` (a list's items) top-level copies without kind/apiVersion whose members are the
 * stored, immutable ones: deep-copying 5,000 pods was most of a list's time (scripts/bench
 * k8s). NULL on ENOMEM. */
static json_t *copy_refs(json_t **refs, size_t n, bool as_items)
{
    json_t *array = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *copy = !array ? NULL : as_items ? json_copy(refs[i]) : json_deep_copy(refs[i]);
        if (copy && as_items) {
            json_object_del(copy, "kind");
            json_object_del(copy, "apiVersion");
        }
        if (!copy || json_array_append_new(array, copy)) {
            json_decref(array);
            array = NULL;
        }
        json_decref(refs[i]);
    }
    free(refs);
    return array;
}

json_t *k8s_store_snapshot(struct k8s_store *store, struct k8s_store_type *type,
                           const char *namespace)
{
    size_t first, end, n;
    pthread_mutex_lock(&store->lock);
    namespace_range(type, scope(type, namespace), &first, &end);
    json_t **refs = take_refs(type, first, end, &n);
    pthread_mutex_unlock(&store->lock);
    if (!refs && end > first)
        return NULL;
    return copy_refs(refs, n, false);
}

void k8s_store_reset(struct k8s_store *store)
{
    pthread_mutex_lock(&store->lock);
    store->rv++;
    for (struct k8s_store_type *type = store->types; type; type = type->next) {
        entries_clear(type);
        history_clear(store, type);
        type->list_rv = store->rv;
        type->evicted = false;
    }
    store->objects = 0;
    while (store->watchers)
        watcher_end(store, store->watchers, K8S_WATCH_RESET);
    pthread_cond_broadcast(&store->advanced);
    pthread_mutex_unlock(&store->lock);
}

/* ---- lists ------------------------------------------------------------------------------- */

struct view_item {
    const char *key;
    json_t *object;      /* borrowed; NULL = absent at that RV */
    uint64_t rv;         /* for sorting overrides */
    struct entry *entry; /* the current entry it is, or NULL for a past state */
};

static int compare_view(const void *a, const void *b)
{
    const struct view_item *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->rv < y->rv ? -1 : x->rv > y->rv;
}

/* The objects of `type` in `namespace` as they were at `at_rv` (<= store->rv, >= the history
 * floor), in key order: the current ones with every newer event undone. *out borrowed from the
 * store (valid under its lock); -ENOMEM. */
static int build_view(struct k8s_store *store, struct k8s_store_type *type, const char *namespace,
                      uint64_t at_rv, struct view_item **out, size_t *out_len)
{
    size_t first, end;
    namespace_range(type, namespace, &first, &end);
    size_t size = store->config.history_size;
    size_t undo = 0;
    for (size_t i = 0; i < type->history_len; i++) {
        const struct history_event *ev = &type->history[(type->history_start + i) % size];
        if (ev->rv > at_rv && key_in_namespace(ev->key, namespace))
            undo++;
    }
    struct view_item *current = malloc((end - first + 1) * sizeof(*current));
    struct view_item *overrides = malloc((undo + 1) * sizeof(*overrides));
    struct view_item *merged = malloc((end - first + undo + 1) * sizeof(*merged));
    if (!current || !overrides || !merged) {
        free(current);
        free(overrides);
        free(merged);
        return -ENOMEM;
    }
    for (size_t i = first; i < end; i++)
        current[i - first] =
            (struct view_item){type->entries[i].key, type->entries[i].object, 0, &type->entries[i]};
    size_t n_over = 0;
    for (size_t i = 0; i < type->history_len; i++) {
        const struct history_event *ev = &type->history[(type->history_start + i) % size];
        if (ev->rv > at_rv && key_in_namespace(ev->key, namespace))
            overrides[n_over++] = (struct view_item){ev->key, ev->prev, ev->rv, NULL};
    }
    /* per key, the state before its first event after at_rv wins */
    qsort(overrides, n_over, sizeof(*overrides), compare_view);
    size_t a = 0, b = 0, n = 0, n_cur = end - first;
    while (a < n_cur || b < n_over) {
        int c = a == n_cur ? 1 : b == n_over ? -1 : strcmp(current[a].key, overrides[b].key);
        if (c < 0) {
            merged[n++] = current[a++];
            continue;
        }
        const char *key = overrides[b].key;
        if (overrides[b].object)
            merged[n++] = overrides[b];
        while (b < n_over && strcmp(overrides[b].key, key) == 0)
            b++;
        if (c == 0)
            a++;
    }
    free(current);
    free(overrides);
    *out = merged;
    *out_len = n;
    return 0;
}

static char *encode_continue(const char *start, uint64_t rv_or_minus_one, bool minus_one)
{
    json_t *token = json_object();
    char *text = NULL, *encoded = NULL;
    size_t len = strlen(start);
    char *with_nul = malloc(len + 1);
    if (!token || !with_nul)
        goto done;
    memcpy(with_nul, start, len);
    with_nul[len] = '\0';
    /* the key after the last one returned: the key and a NUL byte, as etcd3 encodes it */
    if (set_string(token, "v", CONTINUE_VERSION) ||
        json_object_set_new(token, "rv",
                            json_integer(minus_one ? -1 : (json_int_t)rv_or_minus_one)) ||
        json_object_set_new(token, "start", json_stringn(with_nul, len + 1)))
        goto done;
    text = json_dumps(token, JSON_COMPACT);
    if (text)
        encoded = base64url_encode((const unsigned char *)text, strlen(text));
done:
    json_decref(token);
    free(with_nul);
    free(text);
    return encoded;
}

/* Whether Go's path.Clean would leave "/"+start unchanged. */
static bool clean_path(const char *start, size_t len)
{
    size_t i = start[0] == '/' ? 1 : 0;
    if (i == len)
        return true;
    while (i <= len) {
        size_t j = i;
        while (j < len && start[j] != '/')
            j++;
        size_t seg = j - i;
        if (seg == 0 || (seg == 1 && start[i] == '.') ||
            (seg == 2 && start[i] == '.' && start[i + 1] == '.'))
            return false;
        i = j + 1;
    }
    return true;
}

/* Decodes a continue token into its start key (relative, malloc'd, may hold a final NUL: *len)
 * and RV. 0 or -EBADMSG with upstream's message, -ENOMEM. */
static int decode_continue(const char *token, char **start, size_t *start_len, int64_t *rv,
                           struct error *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    json_t *parsed = NULL;
    int rc = base64url_decode(token, &data, &len);
    if (rc == -ENOMEM)
        return out_of_memory(err);
    if (rc != 0)
        return error_set(err, -EBADMSG, ERROR_PERMANENT,
                         "invalid continue token: continue key is not valid: illegal base64 data");
    parsed = json_loadb((const char *)data, len, JSON_ALLOW_NUL, NULL);
    free(data);
    if (!json_is_object(parsed)) {
        rc = error_set(err, -EBADMSG, ERROR_PERMANENT,
                       "invalid continue token: continue key is not valid");
        goto done;
    }
    const char *version = json_string_value(json_object_get(parsed, "v"));
    if (!version || strcmp(version, CONTINUE_VERSION) != 0) {
        rc = error_set(err, -EBADMSG, ERROR_PERMANENT,
                       "invalid continue token: continue key is not valid: server does not "
                       "recognize this encoded version %s",
                       version ? version : "");
        goto done;
    }
    json_int_t token_rv = json_integer_value(json_object_get(parsed, "rv"));
    json_t *start_json = json_object_get(parsed, "start");
    size_t slen = json_string_length(start_json);
    if (token_rv == 0) {
        rc = error_set(err, -EBADMSG, ERROR_PERMANENT,
                       "invalid continue token: continue key is not valid: incorrect encoded start "
                       "resourceVersion (version meta.k8s.io/v1)");
        goto done;
    }
    if (!json_is_string(start_json) || slen == 0) {
        rc = error_set(err, -EBADMSG, ERROR_PERMANENT,
                       "invalid continue token: continue key is not valid: encoded start key empty "
                       "(version meta.k8s.io/v1)");
        goto done;
    }
    const char *s = json_string_value(start_json);
    if (!clean_path(s, slen)) {
        rc = error_set(err, -EBADMSG, ERROR_PERMANENT,
                       "invalid continue token: continue key is not valid: %.*s", (int)slen, s);
        goto done;
    }
    if (s[0] == '/') {
        s++;
        slen--;
    }
    *start = malloc(slen + 1);
    if (!*start) {
        rc = out_of_memory(err);
        goto done;
    }
    memcpy(*start, s, slen);
    (*start)[slen] = '\0';
    *start_len = slen;
    *rv = token_rv;
    rc = 0;
done:
    json_decref(parsed);
    return rc;
}

static int invalid_list_options(struct error *err, const char *detail)
{
    return error_set(err, -EINVAL, ERROR_PERMANENT, "ListOptions.meta.k8s.io \"\" is invalid: %s",
                     detail);
}

/* The view item's text: the entry's, made now if it has none; a past state's, made for this
 * list only. A new reference, or NULL on ENOMEM. Under the store's lock. */
static json_t *view_item_text(struct view_item *v)
{
    if (!v->entry)
        return item_text_of(v->object);
    if (!v->entry->item_text)
        v->entry->item_text = item_text_of(v->object);
    return json_incref(v->entry->item_text);
}

/* The whole list as text: the envelope k8s_store_list_json makes (with an empty "items", its
 * last member) with the texts joined in place of its "[]", and a newline, as the API server
 * ends its answers; the texts are dropped. One copy of the items' bytes. Returns 0 or
 * -ENOMEM. */
static int join_texts(const struct k8s_store_type *type, json_t **texts, size_t n,
                      struct k8s_store_list_result *result)
{
    json_t *envelope = k8s_store_list_json(type, result);
    char *head = envelope ? json_dumps(envelope, JSON_COMPACT) : NULL;
    json_decref(envelope);
    size_t head_len = head ? strlen(head) : 0;
    char *out = NULL;
    size_t w = 0;
    if (head_len >= 3 && !strcmp(head + head_len - 3, "[]}")) {
        head_len -= 2; /* keep its "[" */
        size_t len = head_len + 3;
        for (size_t i = 0; i < n; i++)
            len += json_string_length(texts[i]) + 1;
        if ((out = malloc(len + 1))) {
            memcpy(out, head, head_len);
            w = head_len;
            for (size_t i = 0; i < n; i++) {
                if (i)
                    out[w++] = ',';
                size_t piece = json_string_length(texts[i]);
                memcpy(out + w, json_string_value(texts[i]), piece);
                w += piece;
            }
            memcpy(out + w, "]}\n", 4);
            w += 3;
        }
    }
    free(head);
    for (size_t i = 0; i < n; i++)
        json_decref(texts[i]);
    free(texts);
    result->list_text = out;
    result->list_text_len = w;
    return out ? 0 : -ENOMEM;
}

void k8s_store_list_result_clear(struct k8s_store_list_result *result)
{
    json_decref(result->items);
    free(result->list_text);
    free(result->continue_token);
    memset(result, 0, sizeof(*result));
    result->remaining_item_count = -1;
}

/* How a list reads, after the read-consistency rules. */
enum list_mode { LIST_LATEST, LIST_ANY, LIST_NOT_OLDER_THAN, LIST_EXACT };

int k8s_store_list(struct k8s_store *store, struct k8s_store_type *type,
                   const struct k8s_store_list_options *options,
                   struct k8s_store_list_result *result, struct error *err)
{
    memset(result, 0, sizeof(*result));
    result->remaining_item_count = -1;
    const char *rv_text = options->resource_version ? options->resource_version : "";
    const char *match_text = options->resource_version_match ? options->resource_version_match : "";
    const char *token = options->continue_token ? options->continue_token : "";
    const char *namespace = scope(type, options->namespace);
    char *start = NULL; /* relative to the list's prefix */
    size_t start_len = 0;
    struct view_item *view = NULL;
    json_t **refs = NULL;
    size_t n_refs = 0;
    bool locked = false;
    int rc;

    bool exact = strcmp(match_text, "Exact") == 0;
    if (*match_text) {
        if (!*rv_text)
            return invalid_list_options(err, "resourceVersionMatch: Forbidden: "
                                             "resourceVersionMatch is forbidden unless "
                                             "resourceVersion is provided");
        if (*token)
            return invalid_list_options(err, "resourceVersionMatch: Forbidden: "
                                             "resourceVersionMatch is forbidden when continue is "
                                             "provided");
        if (!exact && strcmp(match_text, "NotOlderThan") != 0) {
            char detail[256];
            snprintf(detail, sizeof(detail),
                     "resourceVersionMatch: Unsupported value: \"%.64s\": supported values: "
                     "\"Exact\", \"NotOlderThan\", \"\"",
                     match_text);
            return invalid_list_options(err, detail);
        }
        if (exact && strcmp(rv_text, "0") == 0)
            return invalid_list_options(err, "resourceVersionMatch: Forbidden: "
                                             "resourceVersionMatch \"exact\" is forbidden for "
                                             "resourceVersion \"0\"");
    }
    uint64_t wanted = 0;
    if (*rv_text && !parse_rv(rv_text, &wanted))
        return error_set(err, -EBADMSG, ERROR_PERMANENT,
                         "invalid resource version: resourceVersion: Invalid value: \"%.64s\": "
                         "strconv.ParseUint: parsing \"%.64s\": invalid syntax",
                         rv_text, rv_text);
    enum list_mode mode;
    bool use_limit = options->limit > 0;
    bool from_token = false;
    if (*token) {
        if (*rv_text && strcmp(rv_text, "0") != 0)
            return error_set(err, -EBADMSG, ERROR_PERMANENT,
                             "specifying resource version is not allowed when using continue");
        int64_t token_rv = 0;
        if ((rc = decode_continue(token, &start, &start_len, &token_rv, err)) != 0)
            return rc;
        from_token = true;
        if (token_rv > 0) {
            mode = LIST_EXACT;
            wanted = (uint64_t)token_rv;
        } else {
            mode = LIST_LATEST;
        }
    } else if (!*rv_text) {
        mode = LIST_LATEST;
    } else if (wanted == 0 && !exact) {
        mode = LIST_ANY; /* the watch cache: whatever it has, limit ignored */
        use_limit = false;
    } else if (exact || (!*match_text && use_limit)) {
        mode = LIST_EXACT; /* explicit, or the legacy exact match of a paginated list */
    } else {
        mode = LIST_NOT_OLDER_THAN;
    }

    pthread_mutex_lock(&store->lock);
    locked = true;
    uint64_t at = store->rv;
    if (mode == LIST_NOT_OLDER_THAN && wanted > store->rv) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        long wait_ms = store->config.future_rv_wait_ms;
        deadline.tv_sec += wait_ms / 1000;
        deadline.tv_nsec += (wait_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        while (wanted > store->rv &&
               pthread_cond_timedwait(&store->advanced, &store->lock, &deadline) == 0)
            ;
        if (wanted > store->rv) {
            result->retry_after_seconds = 1;
            rc = error_set(err, -ETIMEDOUT, ERROR_RETRYABLE,
                           "Too large resource version: %" PRIu64 ", current: %" PRIu64, wanted,
                           store->rv);
            goto fail;
        }
        at = store->rv;
    }
    if (mode == LIST_EXACT) {
        if (wanted > store->rv) {
            rc = error_set(err, -EIO, ERROR_RETRYABLE,
                           "etcdserver: mvcc: required revision is a future revision");
            goto fail;
        }
        if (wanted < history_floor(store, type)) {
            if (from_token) {
                /* as etcd3's handleCompactedErrorForPaging: a token that resumes at the latest */
                result->continue_token = encode_continue(start, 0, true);
                if (!result->continue_token) {
                    rc = out_of_memory(err);
                    goto fail;
                }
                rc = error_set(err, -ESTALE, ERROR_PERMANENT,
                               "The provided continue parameter is too old to display a "
                               "consistent list result. You can start a new list without the "
                               "continue parameter, or use the continue token in this response "
                               "to retrieve the remainder of the results. Continuing with the "
                               "provided token results in an inconsistent list - objects that "
                               "were created, modified, or deleted between the time the first "
                               "chunk was returned and now may show up in the list.");
            } else {
                rc = error_set(err, -ESTALE, ERROR_PERMANENT,
                               "The resourceVersion for the provided list is too old.");
            }
            goto fail;
        }
        at = wanted;
    }
    size_t n_view;
    if (build_view(store, type, namespace, at, &view, &n_view) != 0) {
        rc = out_of_memory(err);
        goto fail;
    }
    /* keys relative to the list's prefix ("<ns>/" for a namespaced list) */
    size_t prefix = namespace ? strlen(namespace) + 1 : 0;
    size_t i = 0;
    if (start) {
        bool inclusive = start_len == 0 || start[start_len - 1] != '\0';
        /* a token's start is the last key plus a NUL: strictly after the last key */
        while (i < n_view) {
            int c = strcmp(view[i].key + prefix, start);
            if (c > 0 || (c == 0 && inclusive))
                break;
            i++;
        }
    }
    refs = malloc((n_view - i + 1) * sizeof(*refs));
    if (!refs) {
        rc = out_of_memory(err);
        goto fail;
    }
    const char *last_key = NULL;
    bool more = false;
    for (; i < n_view; i++) {
        if (use_limit && (long)n_refs >= options->limit) {
            more = true;
            break;
        }
        last_key = view[i].key;
        if (options->match && !options->match(view[i].object, options->match_ctx))
            continue;
        if (!options->as_text) {
            refs[n_refs++] = json_incref(view[i].object);
        } else if (!(refs[n_refs++] = view_item_text(&view[i]))) {
            n_refs--;
            rc = out_of_memory(err);
            goto fail;
        }
    }
    result->resource_version = at;
    if (more) {
        result->continue_token = encode_continue(last_key + prefix, at, false);
        if (!result->continue_token) {
            rc = out_of_memory(err);
            goto fail;
        }
        if (!options->match)
            result->remaining_item_count = (long long)(n_view - i);
    }
    pthread_mutex_unlock(&store->lock);
    locked = false;
    free(view);
    view = NULL;
    free(start);
    if (options->as_text) {
        if (join_texts(type, refs, n_refs, result) < 0) {
            k8s_store_list_result_clear(result);
            return out_of_memory(err);
        }
        return 0;
    }
    result->items = copy_refs(refs, n_refs, true);
    if (!result->items) {
        k8s_store_list_result_clear(result);
        return out_of_memory(err);
    }
    return 0;
fail:
    if (locked)
        pthread_mutex_unlock(&store->lock);
    if (refs) {
        for (size_t k = 0; k < n_refs; k++)
            json_decref(refs[k]);
        free(refs);
    }
    free(view);
    free(start);
    return rc;
}

json_t *k8s_store_list_json(const struct k8s_store_type *type, struct k8s_store_list_result *result)
{
    char rv[24];
    snprintf(rv, sizeof(rv), "%" PRIu64, result->resource_version);
    json_t *list = json_object(), *meta = json_object();
    char *kind = format_string("%sList", type->rt->kind);
    if (!list || !meta || !kind || set_string(list, "kind", kind) ||
        set_string(list, "apiVersion", type->rt->api_version) ||
        json_object_set(list, "metadata", meta) || set_string(meta, "resourceVersion", rv) ||
        (result->continue_token && set_string(meta, "continue", result->continue_token)) ||
        (result->remaining_item_count >= 0 &&
         json_object_set_new(meta, "remainingItemCount",
                             json_integer(result->remaining_item_count))) ||
        json_object_set_new(list, "items", result->items ? result->items : json_array())) {
        result->items = NULL;
        json_decref(list);
        json_decref(meta);
        free(kind);
        return NULL;
    }
    result->items = NULL;
    json_decref(meta);
    free(kind);
    return list;
}

/* ---- watches ----------------------------------------------------------------------------- */

const char *k8s_store_event_type_name(enum k8s_store_event_type type)
{
    switch (type) {
    case K8S_EVENT_ADDED: return "ADDED";
    case K8S_EVENT_MODIFIED: return "MODIFIED";
    case K8S_EVENT_DELETED: return "DELETED";
    case K8S_EVENT_BOOKMARK: return "BOOKMARK";
    case K8S_EVENT_ERROR: return "ERROR";
    }
    return "ERROR";
}

json_t *k8s_store_event_json(const struct k8s_store_event *event)
{
    json_t *object = json_deep_copy(event->object);
    if (!object)
        return NULL;
    return json_pack("{s:s,s:o}", "type", k8s_store_event_type_name(event->type), "object", object);
}

void k8s_store_event_clear(struct k8s_store_event *event)
{
    json_decref(event->object);
    event->object = NULL;
}

static void watcher_free_unlinked(struct k8s_store_watcher *w)
{
    if (!w)
        return;
    if (w->backlog) {
        items_release(w->backlog + w->backlog_pos, w->backlog_len - w->backlog_pos);
        free(w->backlog);
    }
    if (w->queue) {
        for (size_t i = 0; i < w->len; i++)
            json_decref(w->queue[(w->head + i) % w->queue_cap].object);
        free(w->queue);
    }
    if (w->cond_ready)
        pthread_cond_destroy(&w->cond);
    if (w->lock_ready)
        pthread_mutex_destroy(&w->lock);
    free(w->namespace);
    free(w);
}

int k8s_store_watch_start(struct k8s_store *store, struct k8s_store_type *type,
                          const char *namespace, const char *from_rv, bool allow_bookmarks,
                          k8s_store_match_fn match, void *ctx, struct k8s_store_watcher **out,
                          struct error *err)
{
    *out = NULL;
    bool initial = is_empty(from_rv) || strcmp(from_rv, "0") == 0;
    uint64_t from = 0;
    if (!initial && !parse_rv(from_rv, &from))
        return error_set(err, -EBADMSG, ERROR_PERMANENT,
                         "invalid resource version: resourceVersion: Invalid value: \"%.64s\": "
                         "strconv.ParseUint: parsing \"%.64s\": invalid syntax",
                         from_rv, from_rv);
    struct k8s_store_watcher *w = calloc(1, sizeof(*w));
    if (!w)
        return out_of_memory(err);
    w->store = store;
    w->type = type;
    w->match = match;
    w->ctx = ctx;
    w->allow_bookmarks = allow_bookmarks;
    w->queue_cap = store->config.watch_queue_size;
    const char *ns = scope(type, namespace);
    int rc;
    pthread_condattr_t attr;
    if (ns && !(w->namespace = strdup(ns)))
        goto fail_memory;
    if (!(w->queue = calloc(w->queue_cap, sizeof(*w->queue))))
        goto fail_memory;
    if (pthread_mutex_init(&w->lock, NULL) != 0)
        goto fail_memory;
    w->lock_ready = true;
    if (pthread_condattr_init(&attr) != 0)
        goto fail_memory;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        goto fail_memory;
    w->cond_ready = true;

    pthread_mutex_lock(&store->lock);
    if (store->watcher_count >= store->config.max_watchers) {
        pthread_mutex_unlock(&store->lock);
        watcher_free_unlinked(w);
        return error_set(err, -EAGAIN, ERROR_REFUSED, "too many watchers (%zu)",
                         store->config.max_watchers);
    }
    if (initial) {
        size_t first, end;
        namespace_range(type, w->namespace, &first, &end);
        w->backlog = malloc((end - first + 1) * sizeof(*w->backlog));
        if (!w->backlog)
            goto fail_locked;
        for (size_t i = first; i < end; i++) {
            json_t *object = type->entries[i].object;
            if (watcher_matches(w, object))
                w->backlog[w->backlog_len++] =
                    (struct watch_item){K8S_EVENT_ADDED, 0, json_incref(object)};
        }
        w->after_rv = store->rv;
    } else if (from < history_floor(store, type)) {
        struct error expired;
        error_set(&expired, -ESTALE, ERROR_PERMANENT,
                  "too old resource version: %" PRIu64 " (%" PRIu64 ")", from,
                  history_floor(store, type));
        json_t *status = k8s_store_status_json(&expired, NULL, NULL);
        w->backlog = malloc(sizeof(*w->backlog));
        if (!status || !w->backlog) {
            json_decref(status);
            goto fail_locked;
        }
        w->backlog[0] = (struct watch_item){K8S_EVENT_ERROR, 0, status};
        w->backlog_len = 1;
        w->end = K8S_WATCH_EXPIRED; /* never linked: no live event reaches it */
        pthread_mutex_unlock(&store->lock);
        *out = w;
        return 0;
    } else {
        size_t size = store->config.history_size;
        w->backlog = malloc((type->history_len + 1) * sizeof(*w->backlog));
        if (!w->backlog)
            goto fail_locked;
        for (size_t i = 0; i < type->history_len; i++) {
            const struct history_event *ev = &type->history[(type->history_start + i) % size];
            struct watch_item item;
            if (ev->rv > from && key_in_namespace(ev->key, w->namespace) &&
                convert_event(w, ev, &item))
                w->backlog[w->backlog_len++] = item;
        }
        w->after_rv = from > store->rv ? from : store->rv;
    }
    w->linked = true;
    w->next = store->watchers;
    if (store->watchers)
        store->watchers->prev = w;
    store->watchers = w;
    store->watcher_count++;
    pthread_mutex_unlock(&store->lock);
    *out = w;
    return 0;
fail_locked:
    pthread_mutex_unlock(&store->lock);
fail_memory:
    watcher_free_unlinked(w);
    return out_of_memory(err);
}

int k8s_store_watch_next(struct k8s_store_watcher *w, long timeout_ms,
                         struct k8s_store_event *event)
{
    struct watch_item item;
    struct timespec deadline;
    if (timeout_ms > 0) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    event->object = NULL;
    pthread_mutex_lock(&w->lock);
    bool timed_out = false;
    for (;;) {
        if (w->backlog_pos < w->backlog_len) {
            item = w->backlog[w->backlog_pos];
            w->backlog[w->backlog_pos++].object = NULL;
            break;
        }
        if (w->len) {
            item = w->queue[w->head];
            w->queue[w->head].object = NULL;
            w->head = (w->head + 1) % w->queue_cap;
            w->len--;
            break;
        }
        if (w->end != K8S_WATCH_OPEN) {
            pthread_mutex_unlock(&w->lock);
            return -EPIPE;
        }
        if (timeout_ms == 0 || timed_out) {
            pthread_mutex_unlock(&w->lock);
            return -EAGAIN;
        }
        if (timeout_ms < 0)
            pthread_cond_wait(&w->cond, &w->lock);
        else if (pthread_cond_timedwait(&w->cond, &w->lock, &deadline) == ETIMEDOUT)
            timed_out = true;
    }
    pthread_mutex_unlock(&w->lock);
    /* the copy is made outside every lock: stored objects are immutable */
    json_t *copy = json_deep_copy(item.object);
    json_decref(item.object);
    if (copy && item.rv_override && set_rv(copy, item.rv_override)) {
        json_decref(copy);
        copy = NULL;
    }
    if (!copy) {
        struct k8s_store *store = w->store;
        pthread_mutex_lock(&store->lock);
        watcher_end(store, w, K8S_WATCH_FAILED);
        pthread_mutex_unlock(&store->lock);
        return -ENOMEM;
    }
    event->type = item.type;
    event->object = copy;
    return 0;
}

int k8s_store_watch_bookmark(struct k8s_store_watcher *w)
{
    struct k8s_store *store = w->store;
    int rc = 0;
    pthread_mutex_lock(&store->lock);
    if (!w->linked) {
        rc = -EPIPE;
    } else if (w->allow_bookmarks) {
        char rv[24];
        snprintf(rv, sizeof(rv), "%" PRIu64, store->rv);
        json_t *bookmark = json_pack("{s:s,s:s,s:{s:s}}", "kind", w->type->rt->kind, "apiVersion",
                                     w->type->rt->api_version, "metadata", "resourceVersion", rv);
        if (!bookmark) {
            rc = -ENOMEM;
        } else {
            pthread_mutex_lock(&w->lock);
            if (w->end == K8S_WATCH_OPEN && w->len < w->queue_cap) {
                w->queue[(w->head + w->len) % w->queue_cap] =
                    (struct watch_item){K8S_EVENT_BOOKMARK, 0, bookmark};
                w->len++;
                pthread_cond_signal(&w->cond);
                bookmark = NULL;
            }
            pthread_mutex_unlock(&w->lock);
            json_decref(bookmark); /* no room: skipped, as the cacher skips it */
        }
    }
    pthread_mutex_unlock(&store->lock);
    return rc;
}

void k8s_store_watch_stop(struct k8s_store_watcher *w)
{
    struct k8s_store *store = w->store;
    pthread_mutex_lock(&store->lock);
    watcher_end(store, w, K8S_WATCH_STOPPED);
    pthread_mutex_unlock(&store->lock);
}

enum k8s_store_watch_end k8s_store_watch_end(struct k8s_store_watcher *w)
{
    pthread_mutex_lock(&w->lock);
    enum k8s_store_watch_end end = w->end;
    pthread_mutex_unlock(&w->lock);
    return end;
}

void k8s_store_watch_free(struct k8s_store_watcher *w)
{
    if (!w)
        return;
    k8s_store_watch_stop(w);
    watcher_free_unlinked(w);
}
