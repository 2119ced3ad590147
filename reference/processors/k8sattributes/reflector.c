/*
 * reflector.c - one informer's list-then-watch loop against the Kubernetes API, as client-go
 * 0.34's reflector runs it for the k8sattributes processor (facts/pipeline.md §3 "Informer
 * mechanics", client-go tools/cache/reflector.go, wait.BackoffUntil):
 *   - list with `limit=500&resourceVersion=0` (the server may ignore the limit for RV 0; the
 *     pager follows `continue` without a resourceVersion); a list answered 410 is retried at
 *     once with `resourceVersion=` unset. The list replaces the store: objects no longer listed
 *     are delivered as deleted (DeletedFinalStateUnknown), known ones as modified. A list body
 *     is decoded one item at a time and each item cut down by the informer's transform before
 *     the next is decoded, so that a big cluster's list never exists as one tree.
 *   - then watch from the list's resourceVersion with `allowWatchBookmarks=true` and
 *     `timeoutSeconds` random in [300, 600); a watch that ends normally is reopened at once from
 *     the last resourceVersion seen; an ERROR event (410 Expired among them) or a failed request
 *     ends the round.
 *   - between rounds: client-go's backoff manager, 800 ms doubling to 30 s with up to 100%
 *     jitter, back to 800 ms when the previous backoff started more than 2 minutes ago. A watch
 *     refused with a connection error or 429 is retried after the backoff without a new list.
 *   - every failure is logged as client-go's reflector logs it ("Failed to watch *v1.Pod: failed
 *     to list *v1.Pod: <the server's Status message>"); the exact klog framing of 0.34 is not
 *     known (UNCONFIRMED in the facts), so the line carries the same words in otelcol-ref's
 *     format.
 *
 * Each reflector owns a thread and one curl multi handle: every wait (a transfer, a backoff,
 * the wait for other informers) is a curl_multi_poll that k8s_reflector_stop interrupts with
 * curl_multi_wakeup, so stopping never waits for a server. Watch bodies are read as they
 * arrive, one JSON event per line (the API server's json.Encoder ends each with a newline).
 */
#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8sattributes.h"
#include "log.h"
#include "strbuf.h"

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL
#define LIST_PAGE_SIZE 500
#define LIST_BODY_MAX (512u << 20)  /* a page of 500 large pods is a few MB */
#define WATCH_EVENT_MAX (16u << 20) /* one object; the server refuses bigger ones anyway */
#define BACKOFF_RESET_NS (120LL * NS_PER_S)
#define MIN_WATCH_TIMEOUT_S 300
#define USER_AGENT "otelcol-ref/0.144.0 k8sattributes"

/* How a round of list-and-watch or one request ended. */
enum outcome {
    OUTCOME_OK = 0,
    OUTCOME_STOPPED,     /* k8s_reflector_stop */
    OUTCOME_FAILED,      /* logged; back off, then list again */
    OUTCOME_RETRY_WATCH, /* watch refused in a way client-go retries without a list */
};

struct k8s_reflector {
    struct k8s_informer informer;
    const struct k8s_api_config *api;
    const char *log_name;
    const char *type_name;
    k8s_transform_fn transform;
    k8s_event_fn on_event;
    void *ctx;
    struct k8s_reflector **deps;
    size_t dep_count;
    int64_t deps_wait_ns, resync_ns, backoff_initial_ns, backoff_max_ns;

    pthread_t thread;
    CURLM *multi;
    struct curl_slist *headers;
    atomic_bool stopping;

    pthread_mutex_t lock; /* guards synced and store's size for other threads */
    pthread_cond_t synced_cond;
    bool synced;
    size_t store_size;

    /* --- the reflector thread only --- */
    json_t *store;        /* "namespace/name" -> object, as client-go's indexer */
    char last_rv[64];     /* lastSyncResourceVersion */
    bool last_rv_expired; /* isLastSyncResourceVersionUnavailable */
    int64_t next_resync_ns;
    unsigned rand_state;
    /* the transfer in progress */
    struct strbuf body;
    CURL *current; /* the transfer's handle */
    bool watching;
    bool watch_saw_event;
    json_t *watch_error; /* the Status of an ERROR event */
    int event_rc;        /* first failure applying events (-ENOMEM, -EPROTO) */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

const char *k8s_reflector_type_name(const char *resource)
{
    static const struct {
        const char *resource, *type;
    } names[] = {
        {"pods", "*v1.Pod"},
        {"replicasets", "*v1.ReplicaSet"},
        {"namespaces", "*v1.Namespace"},
        {"nodes", "*v1.Node"},
        {"deployments", "*v1.Deployment"},
        {"statefulsets", "*v1.StatefulSet"},
        {"daemonsets", "*v1.DaemonSet"},
        {"jobs", "*v1.Job"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(names[i].resource, resource))
            return names[i].type;
    return "*unstructured.Unstructured";
}

/* ---- waiting ---- */

/* Waits up to `ns` or until stopped. Returns false when stopped. */
static bool pause_ns(struct k8s_reflector *r, int64_t ns)
{
    int64_t until = now_ns() + ns;
    while (!atomic_load(&r->stopping)) {
        int64_t left = until - now_ns();
        if (left <= 0)
            return true;
        int ms = (int)(left / NS_PER_MS) + 1;
        curl_multi_poll(r->multi, NULL, 0, ms, NULL);
    }
    return false;
}

static void set_synced(struct k8s_reflector *r)
{
    pthread_mutex_lock(&r->lock);
    r->synced = true;
    pthread_cond_broadcast(&r->synced_cond);
    pthread_mutex_unlock(&r->lock);
}

bool k8s_reflector_wait_synced(struct k8s_reflector *r, int64_t timeout_ns)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    int64_t ns = until.tv_nsec + (timeout_ns > 0 ? timeout_ns : 0);
    until.tv_sec += ns / NS_PER_S;
    until.tv_nsec = ns % NS_PER_S;
    pthread_mutex_lock(&r->lock);
    while (!r->synced && timeout_ns > 0)
        if (pthread_cond_timedwait(&r->synced_cond, &r->lock, &until) == ETIMEDOUT)
            break;
    bool synced = r->synced;
    pthread_mutex_unlock(&r->lock);
    return synced;
}

size_t k8s_reflector_store_size(struct k8s_reflector *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->store_size;
    pthread_mutex_unlock(&r->lock);
    return n;
}

/* ---- the store ---- */

static void note_store_size(struct k8s_reflector *r)
{
    pthread_mutex_lock(&r->lock);
    r->store_size = json_object_size(r->store);
    pthread_mutex_unlock(&r->lock);
}

/* MetaNamespaceKeyFunc: "namespace/name", or "name" for cluster-scoped objects. */
static bool object_key(const json_t *object, char *buf, size_t size)
{
    const json_t *meta = json_object_get(object, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    if (!name || !*name)
        return false;
    int n = ns && *ns ? snprintf(buf, size, "%s/%s", ns, name) : snprintf(buf, size, "%s", name);
    return n > 0 && (size_t)n < size;
}

static const char *object_rv(const json_t *object)
{
    return json_string_value(
        json_object_get(json_object_get(object, "metadata"), "resourceVersion"));
}

/* Stores the object (transformed) and tells the handler: added when new, else modified. */
/* What the store keeps of an object: a new reference, or NULL when out of memory. */
static json_t *keep(struct k8s_reflector *r, const json_t *object)
{
    return r->transform ? r->transform(object) : json_deep_copy(object);
}

/* Stores a kept object (taken) and tells the handler: added when new, else modified. */
static int store_put(struct k8s_reflector *r, json_t *kept)
{
    char key[1024];
    if (!object_key(kept, key, sizeof(key))) {
        json_decref(kept);
        return -EPROTO;
    }
    bool known = json_object_get(r->store, key) != NULL;
    if (json_object_set_new(r->store, key, kept) < 0)
        return -ENOMEM;
    r->on_event(r->ctx, known ? K8S_EVENT_MODIFIED : K8S_EVENT_ADDED, kept);
    return 0;
}

static int store_upsert(struct k8s_reflector *r, const json_t *object)
{
    char key[1024];
    if (!json_is_object(object) || !object_key(object, key, sizeof(key)))
        return -EPROTO;
    json_t *kept = keep(r, object);
    if (!kept)
        return -ENOMEM;
    bool known = json_object_get(r->store, key) != NULL;
    if (json_object_set_new(r->store, key, kept) < 0)
        return -ENOMEM;
    r->on_event(r->ctx, known ? K8S_EVENT_MODIFIED : K8S_EVENT_ADDED, kept);
    return 0;
}

static int store_delete(struct k8s_reflector *r, const json_t *object)
{
    char key[1024];
    if (!json_is_object(object) || !object_key(object, key, sizeof(key)))
        return -EPROTO;
    json_t *kept = json_object_get(r->store, key);
    /* The handler gets the last state the store had, as a DeletedFinalStateUnknown would carry
     * it, or the event's own object for one never seen. */
    json_t *last =
        kept ? json_incref(kept) : (r->transform ? r->transform(object) : json_deep_copy(object));
    if (!last)
        return -ENOMEM;
    json_object_del(r->store, key);
    r->on_event(r->ctx, K8S_EVENT_DELETED, last);
    json_decref(last);
    return 0;
}

/* The list's items, already kept (keep()), replace the store (DeltaFIFO.Replace). */
static int store_replace(struct k8s_reflector *r, json_t *items)
{
    json_t *listed = json_object();
    if (!listed)
        return -ENOMEM;
    size_t i;
    json_t *item;
    int rc = 0;
    json_array_foreach(items, i, item)
    {
        char key[1024];
        if (!object_key(item, key, sizeof(key)))
            continue;
        if ((rc = store_put(r, json_incref(item))) < 0)
            break;
        if (json_object_set_new(listed, key, json_true()) < 0) {
            rc = -ENOMEM;
            break;
        }
    }
    if (rc == 0) {
        const char *key;
        json_t *value, *gone = json_array();
        if (!gone)
            rc = -ENOMEM;
        json_object_foreach(r->store, key, value) if (gone && !json_object_get(listed, key))
            json_array_append(gone, value);
        json_array_foreach(gone, i, item) if (rc == 0) rc = store_delete(r, item);
        json_decref(gone);
    }
    json_decref(listed);
    note_store_size(r);
    return rc;
}

static void resync_if_due(struct k8s_reflector *r)
{
    if (r->resync_ns <= 0 || now_ns() < r->next_resync_ns)
        return;
    r->next_resync_ns = now_ns() + r->resync_ns;
    const char *key;
    json_t *value;
    json_object_foreach(r->store, key, value) r->on_event(r->ctx, K8S_EVENT_MODIFIED, value);
}

/* ---- requests ---- */

static void append_param(struct strbuf *url, CURL *curl, bool *first, const char *name,
                         const char *value)
{
    if (!value || !*value)
        return;
    char *escaped = curl_easy_escape(curl, value, 0);
    strbuf_printf(url, "%c%s=%s", *first ? '?' : '&', name, escaped ? escaped : "");
    curl_free(escaped);
    *first = false;
}

/* The request URL. Parameters in url.Values.Encode's order (sorted by name), as client-go sends
 * them. Returns 0 or -ENOMEM. */
static int build_url(struct k8s_reflector *r, CURL *curl, bool watch, const char *rv,
                     const char *continue_token, long timeout_s, struct strbuf *url)
{
    const struct k8s_informer *inf = &r->informer;
    strbuf_puts(url, r->api->server);
    if (inf->api_group[0])
        strbuf_printf(url, "/apis/%s/v1", inf->api_group);
    else
        strbuf_puts(url, "/api/v1");
    if (inf->namespace[0])
        strbuf_printf(url, "/namespaces/%s", inf->namespace);
    strbuf_printf(url, "/%s", inf->resource);
    bool first = true;
    char number[32];
    if (watch)
        append_param(url, curl, &first, "allowWatchBookmarks", "true");
    append_param(url, curl, &first, "continue", continue_token);
    append_param(url, curl, &first, "fieldSelector", inf->field_selector);
    append_param(url, curl, &first, "labelSelector", inf->label_selector);
    if (!watch) {
        snprintf(number, sizeof(number), "%d", LIST_PAGE_SIZE);
        append_param(url, curl, &first, "limit", number);
    }
    append_param(url, curl, &first, "resourceVersion", rv);
    if (watch) {
        snprintf(number, sizeof(number), "%ld", timeout_s);
        append_param(url, curl, &first, "timeoutSeconds", number);
        append_param(url, curl, &first, "watch", "true");
    }
    return url->error;
}

/* Applies the complete lines of a watch body; keeps a trailing partial line. */
static void watch_apply_lines(struct k8s_reflector *r)
{
    char *data = r->body.data;
    size_t len = r->body.len, start = 0;
    for (size_t i = 0; i < len && r->event_rc == 0 && !r->watch_error; i++) {
        if (data[i] != '\n')
            continue;
        json_error_t jerr;
        json_t *event = i > start ? json_loadb(data + start, i - start, 0, &jerr) : NULL;
        start = i + 1;
        if (!event)
            continue; /* blank line */
        const char *type = json_string_value(json_object_get(event, "type"));
        json_t *object = json_object_get(event, "object");
        const char *rv = object_rv(object);
        int rc = 0;
        if (!type || !json_is_object(object)) {
            rc = -EPROTO;
        } else if (!strcmp(type, "ERROR")) {
            r->watch_error = json_incref(object);
        } else {
            r->watch_saw_event = true;
            if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED"))
                rc = store_upsert(r, object);
            else if (!strcmp(type, "DELETED"))
                rc = store_delete(r, object);
            else if (strcmp(type, "BOOKMARK"))
                rc = -EPROTO;
            if (rc == 0 && rv)
                snprintf(r->last_rv, sizeof(r->last_rv), "%s", rv);
            note_store_size(r);
        }
        if (rc < 0)
            r->event_rc = rc;
        json_decref(event);
    }
    memmove(data, data + start, len - start);
    r->body.len = len - start;
    if (r->body.data)
        r->body.data[r->body.len] = '\0';
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct k8s_reflector *r = userdata;
    size_t n = size * nmemb;
    strbuf_add(&r->body, ptr, n);
    if (r->body.error) {
        /* Past the bound or out of memory: the transfer is abandoned (CURLE_WRITE_ERROR). */
        if (r->watching)
            r->event_rc = r->body.error == -E2BIG ? -E2BIG : -ENOMEM;
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(r->current, CURLINFO_RESPONSE_CODE, &status);
    /* Only a 200 streams events; any other answer is one Status, read whole afterwards. */
    if (r->watching && status == 200) {
        watch_apply_lines(r);
        if (r->event_rc || r->watch_error)
            return 0;
    }
    return n;
}

/* Runs one request to its end (or until stopped). *status gets the HTTP status (0 when none). */
static enum outcome perform(struct k8s_reflector *r, const char *url, bool watch, long *status,
                            CURLcode *result, char *curl_error)
{
    CURL *curl = curl_easy_init();
    if (!curl) {
        *result = CURLE_OUT_OF_MEMORY;
        snprintf(curl_error, CURL_ERROR_SIZE, "out of memory");
        return OUTCOME_FAILED;
    }
    strbuf_release(&r->body);
    r->body.max = watch ? WATCH_EVENT_MAX : LIST_BODY_MAX;
    r->current = curl;
    r->watching = watch;
    r->watch_saw_event = false;
    r->event_rc = 0;
    json_decref(r->watch_error);
    r->watch_error = NULL;
    curl_error[0] = '\0';
    const struct k8s_api_config *api = r->api;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
    /* client-go ignores proxy settings here (facts §3). */
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    /* client-go asks for gzip (rest.Config.DisableCompression false); the API server compresses
     * answers over 128 KiB, a tenth of the bytes for a list of pods. */
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
    if (!watch)
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60000L);
    if (api->insecure) {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (api->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, api->ca_file);
    if (api->ca_pem) {
        struct curl_blob blob = {api->ca_pem, strlen(api->ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (api->cert_file)
        curl_easy_setopt(curl, CURLOPT_SSLCERT, api->cert_file);
    if (api->cert_pem) {
        struct curl_blob blob = {api->cert_pem, strlen(api->cert_pem), CURL_BLOB_COPY};
        curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &blob);
    }
    if (api->key_file)
        curl_easy_setopt(curl, CURLOPT_SSLKEY, api->key_file);
    if (api->key_pem) {
        struct curl_blob blob = {api->key_pem, strlen(api->key_pem), CURL_BLOB_COPY};
        curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &blob);
    }
    curl_multi_add_handle(r->multi, curl);
    enum outcome out = OUTCOME_OK;
    *result = CURLE_OK;
    for (;;) {
        if (atomic_load(&r->stopping)) {
            out = OUTCOME_STOPPED;
            break;
        }
        int running = 0;
        curl_multi_perform(r->multi, &running);
        int queued;
        CURLMsg *msg = curl_multi_info_read(r->multi, &queued);
        if (msg && msg->msg == CURLMSG_DONE) {
            *result = msg->data.result;
            break;
        }
        if (watch)
            resync_if_due(r);
        curl_multi_poll(r->multi, NULL, 0, 1000, NULL);
    }
    *status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_multi_remove_handle(r->multi, curl);
    curl_easy_cleanup(curl);
    r->current = NULL;
    r->watching = false;
    return out;
}

/* What went wrong, in the words client-go's errors would use: the Status message the server
 * sent, else the transport's error, else the bare code. */
static void describe_failure(struct k8s_reflector *r, const char *url, long status, CURLcode result,
                             const char *curl_error, char *buf, size_t size)
{
    json_t *body =
        status ? json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL) : NULL;
    const char *message = json_string_value(json_object_get(body, "message"));
    const char *path = url + strlen(r->api->server);
    if (message)
        snprintf(buf, size, "%s", message);
    else if (status == 404)
        snprintf(buf, size, "the server could not find the requested resource");
    else if (status)
        snprintf(buf, size,
                 "an error on the server (\"%.200s\") has prevented the request from "
                 "succeeding (get %s)",
                 r->body.len ? strbuf_str(&r->body) : "unknown", r->informer.resource);
    else
        snprintf(buf, size, "Get \"%s%s\": %s", r->api->server, path,
                 curl_error[0] ? curl_error : curl_easy_strerror(result));
    json_decref(body);
}

static bool status_is_expired(long status, const json_t *body)
{
    const char *reason = json_string_value(json_object_get(body, "reason"));
    long code = (long)json_integer_value(json_object_get(body, "code"));
    return status == 410 || code == 410 ||
           (reason && (!strcmp(reason, "Expired") || !strcmp(reason, "Gone")));
}

/* ---- a list's body, one item at a time ---- */

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Past the JSON string starting at p (a '"'), or NULL when it does not end. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Decodes the object or array at p; *next gets what follows it. NULL when malformed. */
static json_t *decode_at(const char *p, const char *end, const char **next)
{
    json_error_t jerr;
    json_t *value = json_loadb(p, (size_t)(end - p), JSON_DISABLE_EOF_CHECK, &jerr);
    if (value)
        *next = p + jerr.position;
    return value;
}

/* Walks a List body ({"kind":..,"apiVersion":..,"metadata":{..},"items":[..]}, members in any
 * order) decoding one item at a time, so that a list of 5,000 pods never exists as one tree:
 * each item is kept (keep()) into `kept` and freed before the next is decoded. *metadata gets
 * the list's metadata. Returns 0, -EPROTO (malformed) or -ENOMEM. */
static int list_body_keep_items(struct k8s_reflector *r, const char *body, size_t len, json_t *kept,
                                json_t **metadata)
{
    const char *p = body, *end = body + len;
    *metadata = NULL;
    p = skip_space(p, end);
    if (p == end || *p != '{')
        return -EPROTO;
    p = skip_space(p + 1, end);
    while (p < end && *p != '}') {
        if (*p != '"')
            return -EPROTO;
        const char *key = p + 1, *key_end = skip_string(p, end);
        if (!key_end)
            return -EPROTO;
        size_t key_len = (size_t)(key_end - 1 - key);
        p = skip_space(key_end, end);
        if (p == end || *p != ':')
            return -EPROTO;
        p = skip_space(p + 1, end);
        if (p == end)
            return -EPROTO;
        if (key_len == 5 && !memcmp(key, "items", 5) && *p == '[') {
            p = skip_space(p + 1, end);
            while (p < end && *p != ']') {
                json_t *item = decode_at(p, end, &p);
                if (!json_is_object(item)) {
                    json_decref(item);
                    return -EPROTO;
                }
                json_t *one = keep(r, item);
                json_decref(item);
                if (!one || json_array_append_new(kept, one) < 0)
                    return -ENOMEM;
                p = skip_space(p, end);
                if (p < end && *p == ',')
                    p = skip_space(p + 1, end);
            }
            if (p == end)
                return -EPROTO;
            p++;
        } else if (key_len == 8 && !memcmp(key, "metadata", 8) && *p == '{') {
            json_decref(*metadata);
            if (!(*metadata = decode_at(p, end, &p)))
                return -EPROTO;
        } else if (*p == '{' || *p == '[') {
            json_t *skipped = decode_at(p, end, &p);
            if (!skipped)
                return -EPROTO;
            json_decref(skipped);
        } else if (*p == '"') {
            if (!(p = skip_string(p, end)))
                return -EPROTO;
        } else {
            while (p < end && *p != ',' && *p != '}')
                p++;
        }
        p = skip_space(p, end);
        if (p < end && *p == ',')
            p = skip_space(p + 1, end);
    }
    /* An empty list may come without items (or with null). */
    return p == end ? -EPROTO : 0;
}

/* One list, every page. On success the store holds the listed objects and last_rv the list's
 * resourceVersion. */
static enum outcome list_all(struct k8s_reflector *r)
{
    /* relistResourceVersion: "0" first, the last synced one after, "" once it expired. */
    char rv[64];
    snprintf(rv, sizeof(rv), "%s", r->last_rv_expired ? "" : (r->last_rv[0] ? r->last_rv : "0"));
    char *continue_token = NULL;
    json_t *items = json_array();
    char curl_error[CURL_ERROR_SIZE];
    enum outcome out = items ? OUTCOME_OK : OUTCOME_FAILED;
    char list_rv[64] = "";
    while (out == OUTCOME_OK) {
        CURL *escaper = curl_easy_init();
        struct strbuf url = STRBUF_INIT(64 * 1024);
        if (!escaper ||
            build_url(r, escaper, false, continue_token ? "" : rv, continue_token, 0, &url) < 0) {
            curl_easy_cleanup(escaper);
            strbuf_release(&url);
            log_error(r->log_name, "out of memory building a list request");
            out = OUTCOME_FAILED;
            break;
        }
        curl_easy_cleanup(escaper);
        long status;
        CURLcode result;
        out = perform(r, strbuf_str(&url), false, &status, &result, curl_error);
        if (out == OUTCOME_OK && result == CURLE_OK && status == 200) {
            json_t *meta = NULL;
            int rc = list_body_keep_items(r, r->body.data ? r->body.data : "", r->body.len, items,
                                          &meta);
            if (rc < 0) {
                log_error(r->log_name, "Failed to watch %s: failed to list %s: %s", r->type_name,
                          r->type_name,
                          rc == -ENOMEM ? "out of memory" : "the answer is not a list");
                out = OUTCOME_FAILED;
            } else {
                const char *list_version =
                    json_string_value(json_object_get(meta, "resourceVersion"));
                snprintf(list_rv, sizeof(list_rv), "%s", list_version ? list_version : "");
                const char *next = json_string_value(json_object_get(meta, "continue"));
                free(continue_token);
                continue_token = next && *next ? strdup(next) : NULL;
            }
            json_decref(meta);
            strbuf_release(&r->body);
            if (out == OUTCOME_OK && !continue_token) {
                strbuf_release(&url);
                break;
            }
        } else if (out == OUTCOME_OK) {
            json_t *body = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
            bool expired = status_is_expired(status, body);
            json_decref(body);
            if (expired && rv[0]) {
                /* The list's resourceVersion is gone: once more at once from the newest. */
                r->last_rv_expired = true;
                rv[0] = '\0';
                free(continue_token);
                continue_token = NULL;
                json_array_clear(items);
                strbuf_release(&url);
                continue;
            }
            char why[1024];
            describe_failure(r, strbuf_str(&url), status, result, curl_error, why, sizeof(why));
            log_error(r->log_name, "Failed to watch %s: failed to list %s: %s", r->type_name,
                      r->type_name, why);
            out = OUTCOME_FAILED;
        }
        strbuf_release(&url);
    }
    free(continue_token);
    if (out == OUTCOME_OK) {
        int rc = store_replace(r, items);
        if (rc < 0) {
            log_error(r->log_name, "Failed to watch %s: %s", r->type_name,
                      rc == -ENOMEM ? "out of memory" : "a listed object has no name");
            out = OUTCOME_FAILED;
        } else {
            snprintf(r->last_rv, sizeof(r->last_rv), "%s", list_rv);
            r->last_rv_expired = false;
            set_synced(r);
        }
    }
    json_decref(items);
    /* The list's body (5,000 pods: 48 MB of JSON) and the items decoded one by one are freed
     * now, but glibc keeps freed heap pages: the collector would hold its peak for good. Give
     * them back, as Go's scavenger does for upstream's heap. */
    strbuf_release(&r->body);
    malloc_trim(0);
    return out;
}

/* One watch request from last_rv, its events applied as they come. */
static enum outcome watch_once(struct k8s_reflector *r)
{
    long timeout_s = MIN_WATCH_TIMEOUT_S + (long)(rand_r(&r->rand_state) % MIN_WATCH_TIMEOUT_S);
    CURL *escaper = curl_easy_init();
    struct strbuf url = STRBUF_INIT(64 * 1024);
    if (!escaper || build_url(r, escaper, true, r->last_rv, NULL, timeout_s, &url) < 0) {
        curl_easy_cleanup(escaper);
        strbuf_release(&url);
        log_error(r->log_name, "out of memory building a watch request");
        return OUTCOME_FAILED;
    }
    curl_easy_cleanup(escaper);
    long status;
    CURLcode result;
    char curl_error[CURL_ERROR_SIZE];
    int64_t began = now_ns();
    enum outcome out = perform(r, strbuf_str(&url), true, &status, &result, curl_error);
    if (out == OUTCOME_STOPPED)
        goto done;
    if (r->watch_error) {
        const char *message = json_string_value(json_object_get(r->watch_error, "message"));
        if (status_is_expired(0, r->watch_error))
            /* client-go logs this at V(4) only: an expected relist, not a failure. */
            log_info(r->log_name, "watch of %s closed with: %s", r->type_name,
                     message ? message : "too old resource version");
        else
            log_error(r->log_name, "Failed to watch %s: %s", r->type_name,
                      message ? message : "an ERROR event without a message");
        out = OUTCOME_FAILED;
    } else if (r->event_rc) {
        log_error(r->log_name, "Failed to watch %s: %s", r->type_name,
                  r->event_rc == -ENOMEM  ? "out of memory"
                  : r->event_rc == -E2BIG ? "an event larger than 16 MiB"
                                          : "unable to decode an event");
        out = OUTCOME_FAILED;
    } else if (result == CURLE_OK && status == 200) {
        /* A normal end (timeoutSeconds, or the server closed). client-go treats a watch that
         * lasted under a second without an event as a failure. */
        if (!r->watch_saw_event && now_ns() - began < NS_PER_S) {
            log_error(r->log_name,
                      "Failed to watch %s: very short watch: Unexpected watch close - watch "
                      "lasted less than a second and no items received",
                      r->type_name);
            out = OUTCOME_FAILED;
        }
    } else {
        char why[1024];
        describe_failure(r, strbuf_str(&url), status, result, curl_error, why, sizeof(why));
        bool retriable = status == 0 && result == CURLE_COULDNT_CONNECT;
        retriable |= status == 429;
        if (status == 200 && result != CURLE_OK) {
            /* The stream broke after it began: a normal end for client-go (the watch is
             * reopened from the last resourceVersion). */
            out = OUTCOME_OK;
        } else {
            log_error(r->log_name, "Failed to watch %s: %s", r->type_name, why);
            out = retriable ? OUTCOME_RETRY_WATCH : OUTCOME_FAILED;
        }
    }
done:
    strbuf_release(&url);
    return out;
}

/* ---- the thread ---- */

struct backoff {
    int64_t initial, max, current, last_start;
    unsigned *rand_state;
};

/* wait.NewExponentialBackoffManager(800ms, 30s, 2m, 2.0, 1.0): the next wait, jittered. */
static int64_t backoff_next(struct backoff *b)
{
    int64_t now = now_ns();
    if (b->last_start == 0 || now - b->last_start > BACKOFF_RESET_NS)
        b->current = b->initial;
    b->last_start = now;
    int64_t base = b->current;
    b->current = b->current * 2 > b->max ? b->max : b->current * 2;
    double jitter = (double)rand_r(b->rand_state) / (double)RAND_MAX;
    return base + (int64_t)((double)base * jitter);
}

static void wait_for_deps(struct k8s_reflector *r)
{
    if (r->dep_count == 0)
        return;
    int64_t until = now_ns() + r->deps_wait_ns;
    while (!atomic_load(&r->stopping) && now_ns() < until) {
        bool all = true;
        for (size_t i = 0; i < r->dep_count; i++)
            all &= k8s_reflector_wait_synced(r->deps[i], 0);
        if (all)
            return;
        pause_ns(r, 50 * NS_PER_MS);
    }
    if (!atomic_load(&r->stopping))
        log_warn(r->log_name,
                 "the informers %s depends on did not sync within %lld s; starting it anyway",
                 r->type_name, (long long)(r->deps_wait_ns / NS_PER_S));
}

static void *reflector_main(void *arg)
{
    struct k8s_reflector *r = arg;
    struct backoff backoff = {
        .initial = r->backoff_initial_ns, .max = r->backoff_max_ns, .rand_state = &r->rand_state};
    wait_for_deps(r);
    r->next_resync_ns = now_ns() + r->resync_ns;
    bool need_list = true;
    while (!atomic_load(&r->stopping)) {
        enum outcome out = OUTCOME_OK;
        if (need_list)
            out = list_all(r);
        while (out == OUTCOME_OK) {
            need_list = false;
            out = watch_once(r);
        }
        if (out == OUTCOME_STOPPED)
            break;
        need_list = out != OUTCOME_RETRY_WATCH;
        if (!pause_ns(r, backoff_next(&backoff)))
            break;
    }
    return NULL;
}

/* Frees what k8s_reflector_start made, the thread already gone (or never started). */
static void reflector_free(struct k8s_reflector *r)
{
    json_decref(r->store);
    json_decref(r->watch_error);
    strbuf_release(&r->body);
    if (r->multi)
        curl_multi_cleanup(r->multi);
    curl_slist_free_all(r->headers);
    free(r->deps);
    pthread_cond_destroy(&r->synced_cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

struct k8s_reflector *k8s_reflector_start(const struct k8s_reflector_options *o, struct error *err)
{
    struct k8s_reflector *r = calloc(1, sizeof(*r));
    if (!r) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        return NULL;
    }
    r->informer = *o->informer;
    r->api = o->api;
    r->log_name = o->log_name;
    r->type_name = k8s_reflector_type_name(o->informer->resource);
    r->transform = o->transform;
    r->on_event = o->on_event;
    r->ctx = o->ctx;
    r->deps_wait_ns = o->deps_wait_ns;
    r->resync_ns = o->resync_ns;
    r->backoff_initial_ns = o->backoff_initial_ns > 0 ? o->backoff_initial_ns : 800 * NS_PER_MS;
    r->backoff_max_ns = o->backoff_max_ns > 0 ? o->backoff_max_ns : 30 * NS_PER_S;
    r->rand_state = (unsigned)now_ns() ^ (unsigned)(uintptr_t)r;
    r->body = (struct strbuf)STRBUF_INIT(LIST_BODY_MAX);
    atomic_init(&r->stopping, false);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->synced_cond, &attr);
    pthread_condattr_destroy(&attr);
    if (o->dep_count) {
        r->deps = calloc(o->dep_count, sizeof(*r->deps));
        if (r->deps) {
            memcpy(r->deps, o->deps, o->dep_count * sizeof(*r->deps));
            r->dep_count = o->dep_count;
        }
    }
    r->store = json_object();
    r->multi = curl_multi_init();
    r->headers = curl_slist_append(NULL, "Accept: application/json");
    if (r->headers && r->api->token) {
        size_t n = strlen(r->api->token) + 32;
        char *line = malloc(n);
        struct curl_slist *grown = NULL;
        if (line) {
            snprintf(line, n, "Authorization: Bearer %s", r->api->token);
            grown = curl_slist_append(r->headers, line);
            free(line);
        }
        if (!grown) {
            curl_slist_free_all(r->headers);
            r->headers = NULL;
        } else {
            r->headers = grown;
        }
    }
    if (!r->store || !r->multi || !r->headers || (o->dep_count && !r->deps)) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    int rc = pthread_create(&r->thread, NULL, reflector_main, r);
    if (rc != 0) {
        error_set(err, -rc, ERROR_PERMANENT, "cannot start the %s informer: %s", r->type_name,
                  strerror(rc));
        goto fail;
    }
    return r;
fail:
    reflector_free(r);
    return NULL;
}

void k8s_reflector_stop(struct k8s_reflector *r)
{
    if (!r)
        return;
    atomic_store(&r->stopping, true);
    curl_multi_wakeup(r->multi);
    pthread_join(r->thread, NULL);
    reflector_free(r);
}
