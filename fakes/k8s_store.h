/*
 * k8s_store.h - the object store of the fake Kubernetes API server: what etcd and the API
 * server's watch cache give client-go informers. Objects of registered resource types, one
 * global resourceVersion (etcd's revision), get/create/update/delete, lists with
 * resourceVersion semantics and paging, and watches from a bounded per-type event history.
 *
 * Mirrors (checked against kubernetes staging/src/k8s.io/apiserver/pkg/storage): the watch
 * cache's "too old resource version: <req> (<oldest-1>)" 410 (cacher/watch_cache.go), the
 * cacheWatcher's filter transitions and its forced close of unresponsive watchers
 * (cacher/cache_watcher.go), the etcd3 store's continue tokens, compaction errors and
 * "Too large resource version" (etcd3/store.go, etcd3/errors.go, storage/continue.go,
 * storage/errors.go), and the list read-consistency rules (resourceVersion, resourceVersionMatch,
 * limit, continue).
 *
 * Contract in short:
 * - Objects are jansson objects in their full JSON form. The store never keeps a caller's object:
 *   create/update copy what they are given, and everything handed out is a new deep copy the
 *   caller owns (but a list's items share their members: see k8s_store_list_result). Stored
 *   objects are immutable and shared by reference inside the store (jansson's reference counts
 *   are atomic), so no copy is made under the store's lock for a watcher.
 * - One mutex guards the store; each watcher has its own. A writer takes the store's mutex, then
 *   briefly each interested watcher's to queue an event; it never waits for a watcher. A watcher
 *   whose queue is full is closed (as the cacher closes an unresponsive watcher); its client
 *   re-watches.
 * - Errors: every fallible call returns 0 or a negative code with `err` (may be NULL) holding the
 *   API server's message. k8s_store_http_status / k8s_store_reason turn the code into the HTTP
 *   status and the Status `reason` the front sends; k8s_store_status_json builds the body.
 *
 * Not done here (deliberately): HTTP, RBAC, selectors (the caller passes a match callback),
 * patch, status subresources and deletecollection (k8s_api.c builds them on get, update, list
 * and delete), finalizers and graceful deletion (delete is immediate), managed fields,
 * watch-list streaming (sendInitialEvents), per-request timeouts.
 */
#ifndef OTEL_FAKES_K8S_STORE_H
#define OTEL_FAKES_K8S_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "k8s_resources.h"

struct k8s_store;
struct k8s_store_type;
struct k8s_store_watcher;

/* Limits; a zero field takes the default in brackets. */
struct k8s_store_config {
    size_t history_size;     /* watch events kept per resource type [1000] */
    size_t max_objects;      /* objects over all types [10000] */
    size_t max_object_bytes; /* an object's compact JSON size [3 MiB, the API server's body
                                limit] */
    size_t watch_queue_size; /* live events queued per watcher before it is closed [1000] */
    size_t max_watchers;     /* open watchers [1000] */
    long future_rv_wait_ms;  /* how long a not-older-than list waits for a future RV [3000,
                                the cacher's blockTimeout] */
};

/* A filter from the selectors module. Called under the store's lock with a borrowed, immutable
 * object: it must not call back into the store. */
typedef bool (*k8s_store_match_fn)(const json_t *object, void *ctx);

/* A store with `config` (NULL = all defaults). Caller owns; NULL on ENOMEM. */
struct k8s_store *k8s_store_new(const struct k8s_store_config *config);
/* Frees the store and every object. Every watcher must have been freed before. NULL is
 * accepted. */
void k8s_store_free(struct k8s_store *store);

/* Registers a resource type of k8s_resources.h's table (borrowed: the table is static); *out is
 * a handle borrowed from the store, valid until k8s_store_free. Returns 0, -EEXIST
 * (group/resource already registered) or -ENOMEM. */
int k8s_store_register(struct k8s_store *store, const struct k8s_resource_type *resource,
                       struct k8s_store_type **out, struct error *err);
/* The registered type of `group` ("" = core) and plural `resource`, or NULL. Borrowed. */
struct k8s_store_type *k8s_store_find(struct k8s_store *store, const char *group,
                                      const char *resource);
/* The table entry a type was registered with. */
const struct k8s_resource_type *k8s_store_type_resource(const struct k8s_store_type *type);

/* ---- errors ---------------------------------------------------------------------------- */
/* Codes returned besides -ENOMEM, and what the front answers for them:
 *   -ENOENT     404 NotFound               `pods "x" not found`
 *   -EEXIST     409 AlreadyExists          `deployments.apps "x" already exists`
 *   -EBUSY      409 Conflict               `Operation cannot be fulfilled on pods "x": the object
 *                                           has been modified; please apply your changes to the
 *                                           latest version and try again`
 *   -EINVAL     422 Invalid                `Pod "" is invalid: metadata.name: Required value: ...`
 *   -EBADMSG    400 BadRequest             bad resourceVersion, bad continue token, ...
 *   -ESTALE     410 Expired                compacted list / continue token, too old watch
 *   -ETIMEDOUT  504 Timeout                `Too large resource version: N, current: M`
 *   -EFBIG      413 RequestEntityTooLarge  `Request entity too large: limit is N`
 *   -EIO        500 (reason "")            what etcd answers raw: `etcdserver: mvcc: database
 *                                           space exceeded` (object cap), future exact revision
 *   -ENOMEM     500 InternalError
 */
int k8s_store_http_status(int code);
/* The Status reason ("NotFound", ...); "" where the API server sends none. */
const char *k8s_store_reason(int code);
/* A Status object for a failed call: {"kind":"Status","apiVersion":"v1","metadata":{},
 * "status":"Failure","message","reason","details":{"name","group","kind"},"code"}. `type` and
 * `name` (either may be NULL) fill details for NotFound/AlreadyExists/Conflict/Invalid, as the
 * API server does (group omitted for the core group, name when empty). Caller owns; NULL on
 * ENOMEM. */
json_t *k8s_store_status_json(const struct error *err, const struct k8s_store_type *type,
                              const char *name);

/* ---- objects ----------------------------------------------------------------------------- */
/* Creates `object` (copied; the caller keeps it) in `namespace` (NULL/"" = the object's own
 * metadata.namespace; ignored for cluster-scoped types, whose metadata.namespace is removed).
 * The store sets kind/apiVersion from the type, metadata.resourceVersion, metadata.uid (a UUID v4
 * when absent), metadata.creationTimestamp (RFC3339 seconds, when absent), metadata.generation
 * (types with has_generation), and metadata.name from generateName + 5 random characters when the
 * name is empty. *out (may be NULL) receives a copy of the stored object, caller-owned. Errors:
 * -EEXIST, -EINVAL (no name, no namespace), -EBADMSG (namespace differs from the request's, or
 * not a JSON object), -EFBIG, -EIO (object cap; or metadata.resourceVersion set, which etcd3's
 * Create refuses), -ENOMEM. */
int k8s_store_create(struct k8s_store *store, struct k8s_store_type *type, const char *namespace,
                     const json_t *object, json_t **out, struct error *err);
/* A copy of the object (with kind/apiVersion), caller-owned, into *out. -ENOENT when absent. */
int k8s_store_get(struct k8s_store *store, struct k8s_store_type *type, const char *namespace,
                  const char *name, json_t **out, struct error *err);
/* Replaces the object named by object's metadata.name. A metadata.resourceVersion in `object` is
 * a precondition (-EBUSY when it is not the stored one); without one the update is
 * unconditional. uid and creationTimestamp are kept from the stored object. An update that
 * changes nothing keeps the resourceVersion and sends no event (as etcd3's GuaranteedUpdate
 * short-circuits). Errors: -ENOENT, -EBUSY, -EBADMSG, -EINVAL, -EFBIG, -ENOMEM. */
int k8s_store_update(struct k8s_store *store, struct k8s_store_type *type, const char *namespace,
                     const json_t *object, json_t **out, struct error *err);
/* Deletes at once (no finalizers, no grace period). *out (may be NULL) receives the deleted
 * object with the deletion's resourceVersion, as etcd3's Delete returns it. -ENOENT when absent.
 */
int k8s_store_delete(struct k8s_store *store, struct k8s_store_type *type, const char *namespace,
                     const char *name, json_t **out, struct error *err);

/* Objects of `type` (in `namespace`, or all when NULL/"") right now. */
size_t k8s_store_count(struct k8s_store *store, struct k8s_store_type *type, const char *namespace);
/* A JSON array with a copy of every object of `type` (in `namespace`, or all when NULL/""),
 * with kind/apiVersion, in key order: what the RBAC evaluator and the control API read.
 * Caller owns; NULL on ENOMEM. */
json_t *k8s_store_snapshot(struct k8s_store *store, struct k8s_store_type *type,
                           const char *namespace);
/* The current global resourceVersion (0 before the first write). */
uint64_t k8s_store_resource_version(struct k8s_store *store);
/* Deletes every object of every type (types stay registered) and closes every watcher. The
 * reset takes a resourceVersion of its own and clears the histories, so a client that re-watches
 * from what it saw before gets 410 and relists. */
void k8s_store_reset(struct k8s_store *store);

/* ---- lists ------------------------------------------------------------------------------- */
struct k8s_store_list_options {
    const char *namespace;              /* NULL/"" = all namespaces */
    const char *resource_version;       /* NULL/"" = latest; "0" = any (limit ignored); "N" */
    const char *resource_version_match; /* NULL/"", "Exact", "NotOlderThan" */
    long limit;                         /* <= 0: no limit */
    const char *continue_token;         /* NULL/"": first page */
    k8s_store_match_fn match;           /* NULL: every object */
    void *match_ctx;
    /* Give the whole list as text (list_text) instead of objects (items): each current object
     * is serialized once and kept until it changes, so that a list of thousands of pods is a
     * copy of bytes, not a walk of every tree (scripts/bench k8s). */
    bool as_text;
};

/* Which state a list reads (from apiserver's list read-consistency rules):
 *   RV unset                               latest
 *   RV "0" (any match but Exact)           latest, limit ignored, no continue (the watch cache)
 *   RV N, match NotOlderThan or no match
 *        and no limit                      latest, after waiting up to future_rv_wait_ms for N;
 *                                          still in the future: -ETIMEDOUT
 *   RV N, match Exact, or no match with
 *        a limit (legacy exact)            the state at N, rebuilt from the type's history;
 *                                          older than the history: -ESTALE "The resourceVersion
 *                                          for the provided list is too old."; in the future:
 *                                          -EIO "etcdserver: mvcc: required revision is a future
 *                                          revision" (etcd's error, unconverted upstream)
 *   continue token                         the state at the token's RV (RV must be unset or "0");
 *                                          compacted: -ESTALE with continue_token set to a token
 *                                          that resumes at the latest state, as upstream does
 * Items are in key order ("<namespace>/<name>", byte order, as etcd keys sort) and carry no
 * kind/apiVersion, as in a real list. */
struct k8s_store_list_result {
    json_t *items;   /* array, caller-owned; each item is a new object, but its
                        members are the store's: read, never change them; NULL
                        with as_text */
    char *list_text; /* as_text: the list document, JSON_COMPACT and ending in a newline (what
                        k8s_store_list_json would give, dumped); caller-owned */
    size_t list_text_len;
    uint64_t resource_version;      /* the list's metadata.resourceVersion */
    char *continue_token;           /* metadata.continue, or NULL; see -ESTALE above */
    long long remaining_item_count; /* metadata.remainingItemCount, or -1 (only given without a
                                       match callback, as upstream gives it only without
                                       selectors) */
    int retry_after_seconds;        /* details.retryAfterSeconds with -ETIMEDOUT, else 0 */
};

/* Lists `type` into *result (cleared first; release with k8s_store_list_result_clear, also after
 * an error). Errors: -EBADMSG, -EINVAL (resourceVersionMatch misuse, 422 as ListOptions
 * validation answers), -ESTALE, -ETIMEDOUT, -EIO, -ENOMEM. */
int k8s_store_list(struct k8s_store *store, struct k8s_store_type *type,
                   const struct k8s_store_list_options *options,
                   struct k8s_store_list_result *result, struct error *err);
void k8s_store_list_result_clear(struct k8s_store_list_result *result);
/* The list body {"kind":"<Kind>List","apiVersion":..,"metadata":{...},"items":[...]}, stealing
 * result->items. Caller owns; NULL on ENOMEM. */
json_t *k8s_store_list_json(const struct k8s_store_type *type,
                            struct k8s_store_list_result *result);
/* The Status for a failed list: k8s_store_status_json plus metadata.continue (-ESTALE with a
 * token) and details.causes/retryAfterSeconds (-ETIMEDOUT). Caller owns; NULL on ENOMEM. */
json_t *k8s_store_list_status_json(const struct error *err,
                                   const struct k8s_store_list_result *result);

/* ---- watches ----------------------------------------------------------------------------- */
enum k8s_store_event_type {
    K8S_EVENT_ADDED,
    K8S_EVENT_MODIFIED,
    K8S_EVENT_DELETED,
    K8S_EVENT_BOOKMARK,
    K8S_EVENT_ERROR,
};
/* "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR". */
const char *k8s_store_event_type_name(enum k8s_store_event_type type);

struct k8s_store_event {
    enum k8s_store_event_type type;
    json_t *object; /* caller-owned: the object with kind/apiVersion, a bookmark, or a Status */
};
/* The wire form {"type":..,"object":..}, borrowing nothing from `event`. NULL on ENOMEM. */
json_t *k8s_store_event_json(const struct k8s_store_event *event);
/* Releases event->object. */
void k8s_store_event_clear(struct k8s_store_event *event);

/* Why a watch ended (k8s_store_watch_next returned -EPIPE). */
enum k8s_store_watch_end {
    K8S_WATCH_OPEN = 0,
    K8S_WATCH_STOPPED,  /* k8s_store_watch_stop */
    K8S_WATCH_OVERFLOW, /* its queue was full: closed as the cacher closes a slow watcher */
    K8S_WATCH_EXPIRED,  /* the ERROR 410 event was the last */
    K8S_WATCH_RESET,    /* k8s_store_reset */
    K8S_WATCH_FAILED,   /* out of memory while handing out an event */
};

/* Opens a watch on `type` in `namespace` (NULL/"" = all). `from_rv` NULL/""/"0": synthetic
 * ADDED for every current matching object (key order), then live changes. "X": every event
 * after X from the type's history, then live changes; X older than the history (X below the
 * oldest event's RV - 1): the watch opens anyway and yields one ERROR event with the 410 Expired
 * Status "too old resource version: X (oldest-1)", then ends, as the watch cache answers. X in
 * the future: events after X only. With `match`, an object that starts matching comes as ADDED
 * and one that stops matching as DELETED (its previous content, the event's resourceVersion), as
 * cacheWatcher does. `match`/`ctx` must stay valid until the watcher is stopped or freed.
 * *out is caller-owned (k8s_store_watch_free). Errors: -EBADMSG (X not a number), -EAGAIN (too
 * many watchers: 429-worthy), -ENOMEM. */
int k8s_store_watch_start(struct k8s_store *store, struct k8s_store_type *type,
                          const char *namespace, const char *from_rv, bool allow_bookmarks,
                          k8s_store_match_fn match, void *ctx, struct k8s_store_watcher **out,
                          struct error *err);
/* The next event into *event, waiting at most `timeout_ms` (0 = poll, < 0 = forever). Returns 0
 * with an event; -EAGAIN when the time passed with none; -EPIPE when the watch has ended and
 * every event before the end was handed out (k8s_store_watch_end says why); -ENOMEM (the watch
 * then ends: the client re-watches). Call from one thread at a time (the front's streaming
 * callback). */
int k8s_store_watch_next(struct k8s_store_watcher *watcher, long timeout_ms,
                         struct k8s_store_event *event);
/* Queues a BOOKMARK (kind/apiVersion and metadata.resourceVersion = the store's current RV)
 * when the watch allows bookmarks and its queue has room (else nothing, as the cacher skips a
 * bookmark it cannot deliver at once). The front calls it on its own timer, e.g. every minute
 * and 2 s before timeoutSeconds as the cacher does, then drains with k8s_store_watch_next before
 * closing. Returns 0, or -EPIPE (watch ended), -ENOMEM. Any thread. */
int k8s_store_watch_bookmark(struct k8s_store_watcher *watcher);
/* Ends the watch at once: events still queued are dropped (as a closed HTTP stream drops them)
 * and a blocked k8s_store_watch_next returns -EPIPE. After it returns, `match` is never called
 * again. Any thread, any number of times. */
void k8s_store_watch_stop(struct k8s_store_watcher *watcher);
/* Why the watch ended, or K8S_WATCH_OPEN. */
enum k8s_store_watch_end k8s_store_watch_end(struct k8s_store_watcher *watcher);
/* Stops (if needed) and frees. The owner calls it once, when no k8s_store_watch_next is running.
 * NULL is accepted. */
void k8s_store_watch_free(struct k8s_store_watcher *watcher);

#endif
