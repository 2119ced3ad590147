/*
 * k8s_api.c - the fake Kubernetes API server of k8s_api.h: authentication, routing, the answers
 * and the watch streams. What each request goes through and every deliberate gap is listed in
 * k8s_api.h; the wording of answers is checked against shared/facts/pipeline.md §10 (apiserver
 * endpoints/handlers, responsewriters/errors.go, authentication/request/bearertoken).
 *
 * The audit's requestURI is rebuilt from the query parameters the fake reads (unescaped), since
 * the HTTP layer hands over parsed parameters only.
 */
#include "k8s_api.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "fake_util.h"
#include "k8s_audit.h"
#include "k8s_openapi.h"
#include "k8s_patch.h"
#include "k8s_proto.h"
#include "k8s_rbac.h"
#include "k8s_request.h"
#include "k8s_resources.h"
#include "k8s_selector.h"
#include "k8s_table.h"
#include "yamljson.h"

#define MASTERS_GROUP "system:masters"
#define AUTHENTICATED_GROUP "system:authenticated"
#define SA_PREFIX "system:serviceaccount:"
#define RBAC_GROUP "rbac.authorization.k8s.io"
#define BOOKMARK_INTERVAL_MS 60000
#define WATCH_SLICE_MS 1000 /* how long a stream waits before it looks at its client again */
#define NAME_MAX_LEN 512
#define GROUP_MAX_LEN 256
#define PATCH_ATTEMPTS 5 /* GuaranteedUpdate retries a conflict it caused itself */

/* ---- identities and tokens ---- */

struct identity {
    char user[NAME_MAX_LEN];
    char groups[K8S_API_MAX_GROUPS][GROUP_MAX_LEN];
    size_t group_count;
};

struct token_entry {
    char token[K8S_API_TOKEN_LEN + 1];
    struct identity id;
};

struct watch_stream;

struct k8s_api {
    struct k8s_store *store;
    struct k8s_audit *audit;
    pthread_mutex_t tokens_mutex;
    struct token_entry *tokens[K8S_API_MAX_TOKENS];
    size_t token_count;
    char admin_token[K8S_API_TOKEN_LEN + 1];
    pthread_mutex_t watches_mutex;
    struct watch_stream *watches; /* open streams, doubly linked */
    bool closing;                 /* k8s_api_shutdown ran: no new watches */
};

/* ---- one request ---- */

struct call {
    struct k8s_api *api;
    const struct http_request *req;
    struct http_response *resp;
    int64_t received_ns;
    bool authenticated;
    struct identity id;        /* whom the request acts as */
    struct identity requestor; /* who authenticated, when impersonating */
    bool impersonating;
    struct k8s_request_info info;
    const char *label_selector, *field_selector;
    const char *decision;
    char reason[K8S_RBAC_REASON_MAX];
    char status_message[ERROR_MESSAGE_MAX];
    char status_reason[64];
    size_t items;
};

/* The selectors of a list or a watch, as the store's match callback sees them. */
struct selectors {
    struct k8s_label_selector *labels;
    struct k8s_field_selector *fields;
};

struct watch_stream {
    struct k8s_api *api;
    struct k8s_store_watcher *watcher;
    struct selectors selectors;
    bool allow_bookmarks;
    bool closing;    /* the timeout passed: drain what is queued, then end */
    atomic_bool cut; /* k8s_api_cut_watches: drop the connection instead of ending the body */
    /* A Table watch (kubectl get -w): object events become Tables, the first with its column
     * definitions; table.version NULL for plain events. */
    const struct k8s_resource_type *rt;
    struct k8s_table_options table;
    long long deadline_ms, next_bookmark_ms;
    char *pending; /* the event being sent */
    size_t pending_len, pending_off;
    struct watch_stream *prev, *next;
};

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* base64url of 32 random bytes: what a bound service-account token is not, but as opaque. */
static int make_token(char out[K8S_API_TOKEN_LEN + 1])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t bytes[32];
    size_t done = 0;
    while (done < sizeof(bytes)) {
        ssize_t n = getrandom(bytes + done, sizeof(bytes) - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -EIO;
        }
        done += (size_t)n;
    }
    uint32_t bits = 0;
    int have = 0;
    size_t w = 0;
    for (size_t i = 0; i < sizeof(bytes); i++) {
        bits = (bits << 8) | bytes[i];
        have += 8;
        while (have >= 6) {
            have -= 6;
            out[w++] = alphabet[(bits >> have) & 63];
        }
    }
    if (have)
        out[w++] = alphabet[(bits << (6 - have)) & 63];
    out[w] = '\0';
    return 0;
}

static bool has_group(const struct identity *id, const char *group)
{
    for (size_t i = 0; i < id->group_count; i++)
        if (!strcmp(id->groups[i], group))
            return true;
    return false;
}

static int add_group(struct identity *id, const char *group, struct error *err)
{
    if (has_group(id, group))
        return 0;
    if (id->group_count == K8S_API_MAX_GROUPS)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "at most %d groups",
                         K8S_API_MAX_GROUPS - 1);
    if (strlen(group) >= GROUP_MAX_LEN || !group[0])
        return error_set(err, -EINVAL, ERROR_PERMANENT, "a group must have 1 to %d bytes",
                         GROUP_MAX_LEN - 1);
    snprintf(id->groups[id->group_count++], GROUP_MAX_LEN, "%s", group);
    return 0;
}

/* Adds a token for `id` (copied); writes it to `token`. */
static int token_add(struct k8s_api *api, const struct identity *id, char *token, struct error *err)
{
    struct token_entry *entry = calloc(1, sizeof(*entry));
    if (!entry)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    entry->id = *id;
    if (make_token(entry->token) < 0) {
        free(entry);
        return error_set(err, -EIO, ERROR_PERMANENT, "no random bytes for a token");
    }
    pthread_mutex_lock(&api->tokens_mutex);
    bool full = api->token_count == K8S_API_MAX_TOKENS;
    if (!full)
        api->tokens[api->token_count++] = entry;
    pthread_mutex_unlock(&api->tokens_mutex);
    if (full) {
        free(entry);
        return error_set(err, -ENOSPC, ERROR_PERMANENT, "token table full (%d tokens)",
                         K8S_API_MAX_TOKENS);
    }
    memcpy(token, entry->token, K8S_API_TOKEN_LEN + 1);
    return 0;
}

/* Copies the identity of `token` into *id; false when no such token. */
static bool token_lookup(struct k8s_api *api, const char *token, struct identity *id)
{
    bool found = false;
    pthread_mutex_lock(&api->tokens_mutex);
    for (size_t i = 0; i < api->token_count && !found; i++) {
        if (!strcmp(api->tokens[i]->token, token)) {
            *id = api->tokens[i]->id;
            found = true;
        }
    }
    pthread_mutex_unlock(&api->tokens_mutex);
    return found;
}

int k8s_api_token_create(struct k8s_api *api, const json_t *request, char *token, struct error *err)
{
    const char *user = json_string_value(json_object_get(request, "user"));
    if (!json_is_object(request) || !user || !user[0])
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "want {\"user\":\"system:serviceaccount:NS:NAME\"} or "
                         "{\"user\":\"NAME\",\"groups\":[...]}");
    struct identity *id = calloc(1, sizeof(*id));
    if (!id)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    int rc = 0;
    const json_t *groups = json_object_get(request, "groups");
    if (!strncmp(user, SA_PREFIX, strlen(SA_PREFIX))) {
        /* A service account's groups follow from its name, as the token authenticator says. */
        char ns[NAME_MAX_LEN];
        const char *rest = user + strlen(SA_PREFIX);
        const char *colon = strchr(rest, ':');
        struct k8s_rbac_service_account sa;
        if (!colon || (size_t)(colon - rest) >= sizeof(ns) || groups) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "a service account is system:serviceaccount:NS:NAME, without groups");
            goto done;
        }
        snprintf(ns, sizeof(ns), "%.*s", (int)(colon - rest), rest);
        if (k8s_rbac_service_account_user(&sa, ns, colon + 1) < 0) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT, "bad service account name \"%.300s\"",
                           user);
            goto done;
        }
        snprintf(id->user, sizeof(id->user), "%s", sa.name);
        for (size_t i = 0; i < 3 && !rc; i++)
            rc = add_group(id, sa.groups[i], err);
    } else {
        if (strlen(user) >= sizeof(id->user)) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT, "user name too long");
            goto done;
        }
        snprintf(id->user, sizeof(id->user), "%s", user);
        if (groups && !json_is_array(groups)) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT, "groups must be an array of strings");
            goto done;
        }
        size_t i;
        const json_t *g;
        json_array_foreach(groups, i, g)
        {
            if (!json_is_string(g)) {
                rc = error_set(err, -EINVAL, ERROR_PERMANENT, "groups must be an array of strings");
                goto done;
            }
            if ((rc = add_group(id, json_string_value(g), err)) < 0)
                goto done;
        }
        /* Every authenticator adds it; a harness should not have to. */
        rc = add_group(id, AUTHENTICATED_GROUP, err);
    }
    if (!rc)
        rc = token_add(api, id, token, err);
done:
    free(id);
    return rc;
}

/* ---- answers ---- */

/* An answer's text as json_dump_callback writes it, with room for a newline and a NUL. */
struct dump_buffer {
    char *data;
    size_t len, size;
};

static int dump_append(const char *chunk, size_t n, void *ctx)
{
    struct dump_buffer *b = ctx;
    if (b->len + n + 2 > b->size) {
        size_t size = b->size ? b->size : 4096;
        while (b->len + n + 2 > size)
            size *= 2;
        char *grown = realloc(b->data, size);
        if (!grown)
            return -1;
        b->data = grown;
        b->size = size;
    }
    memcpy(b->data + b->len, chunk, n);
    b->len += n;
    return 0;
}

/* Sends `body` (stolen) as the API server encodes JSON: compact, with a trailing newline. For a
 * failure, remembers the Status's message and reason for the audit. */
static void answer_json(struct call *c, int status, json_t *body, const char *content_type)
{
    if (!body) {
        http_response_printf(c->resp, 500, "text/plain; charset=utf-8", "out of memory\n");
        snprintf(c->status_message, sizeof(c->status_message), "out of memory");
        return;
    }
    if (status >= 300) {
        const char *message = json_string_value(json_object_get(body, "message"));
        const char *reason = json_string_value(json_object_get(body, "reason"));
        snprintf(c->status_message, sizeof(c->status_message), "%s", message ? message : "");
        snprintf(c->status_reason, sizeof(c->status_reason), "%s", reason ? reason : "");
    }
    /* One walk of the tree (json_dumpb's sizing pass made it two: half of a 5,000-pod list's
     * time, scripts/bench k8s). */
    struct dump_buffer text = {0};
    if (json_dump_callback(body, dump_append, &text, JSON_COMPACT) < 0 || !text.data) {
        free(text.data);
        json_decref(body);
        http_response_printf(c->resp, 500, "text/plain; charset=utf-8", "out of memory\n");
        return;
    }
    json_decref(body);
    text.data[text.len++] = '\n';
    text.data[text.len] = '\0';
    http_response_take_body(c->resp, content_type ? content_type : "application/json", text.data,
                            text.len);
    c->resp->status = status;
}

/* A Status {kind, apiVersion, metadata, status, message, reason, code}; reason "" is left out,
 * as the API server leaves an empty StatusReason out. */
static json_t *status_json(int code, const char *reason, const char *message)
{
    json_t *s = json_object();
    int rc = !s;
    rc = rc || json_object_set_new(s, "kind", json_string("Status"));
    rc = rc || json_object_set_new(s, "apiVersion", json_string("v1"));
    rc = rc || json_object_set_new(s, "metadata", json_object());
    rc = rc || json_object_set_new(s, "status", json_string("Failure"));
    rc = rc || fake_util_json_set(s, "message", fake_util_json_string(message, strlen(message)));
    if (reason && reason[0])
        rc = rc || json_object_set_new(s, "reason", json_string(reason));
    rc = rc || json_object_set_new(s, "code", json_integer(code));
    if (rc) {
        json_decref(s);
        return NULL;
    }
    return s;
}

static void answer_status(struct call *c, int code, const char *reason, const char *message)
{
    answer_json(c, code, status_json(code, reason, message), NULL);
}

/* status_json with `details` (stolen) before "code", where the API server writes them. */
static json_t *status_with_details(int code, const char *reason, const char *message,
                                   json_t *details)
{
    json_t *s = status_json(code, reason, message);
    if (!s || !details || json_object_del(s, "code") ||
        json_object_set_new(s, "details", json_incref(details)) ||
        json_object_set_new(s, "code", json_integer(code))) {
        json_decref(s);
        s = NULL;
    }
    json_decref(details);
    return s;
}

static void answer_too_large(struct call *c)
{
    char message[96];
    snprintf(message, sizeof(message), "Request entity too large: limit is %u", K8S_API_MAX_BODY);
    answer_status(c, 413, "RequestEntityTooLarge", message);
}

/* Go's http.NotFound: what the API server's final handler answers for a path nobody serves. */
static void answer_page_not_found(struct call *c)
{
    http_response_printf(c->resp, 404, "text/plain; charset=utf-8", "404 page not found\n");
    snprintf(c->status_message, sizeof(c->status_message), "404 page not found");
}

static void answer_store_error(struct call *c, const struct error *err,
                               const struct k8s_store_type *type, const char *name)
{
    answer_json(c, k8s_store_http_status(err->code), k8s_store_status_json(err, type, name), NULL);
}

static void answer_method_not_allowed(struct call *c)
{
    answer_status(c, 405, "MethodNotAllowed",
                  "the server does not allow this method on the requested resource");
}

static void answer_bad_request(struct call *c, const char *message)
{
    answer_status(c, 400, "BadRequest", message);
}

static const char *reason_of_status(int status)
{
    switch (status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "";
    }
}

void k8s_api_refuse(struct k8s_api *api, int status, const char *message,
                    struct http_response *resp)
{
    if (status < 300) {
        resp->status = status;
        return;
    }
    struct call c = {.api = api, .resp = resp};
    if (status == 500) {
        /* errors.NewInternalError: the cause in the message and in details.causes */
        const char *cause = message ? message : K8S_API_FAULT_CAUSE;
        char text[ERROR_MESSAGE_MAX];
        snprintf(text, sizeof(text), "Internal error occurred: %s", cause);
        json_t *details = json_pack("{s:[{s:s}]}", "causes", "message", cause);
        answer_json(&c, 500, status_with_details(500, "InternalError", text, details), NULL);
        return;
    }
    answer_status(&c, status, reason_of_status(status),
                  message ? message : fake_util_status_text(status));
}

/* ---- authorization ---- */

/* Every RBAC object the store holds, as one array (k8s_rbac.h skips other kinds). */
static json_t *rbac_objects(struct k8s_api *api)
{
    static const char *const plurals[] = {"clusterroles", "clusterrolebindings", "roles",
                                          "rolebindings"};
    json_t *all = json_array();
    for (size_t i = 0; all && i < sizeof(plurals) / sizeof(plurals[0]); i++) {
        struct k8s_store_type *type = k8s_store_find(api->store, RBAC_GROUP, plurals[i]);
        json_t *some = type ? k8s_store_snapshot(api->store, type, NULL) : json_array();
        if (!some || json_array_extend(all, some)) {
            json_decref(some);
            json_decref(all);
            return NULL;
        }
        json_decref(some);
    }
    return all;
}

/* Decides `attrs` for `id`: system:masters first, as the privileged-group authorizer runs before
 * RBAC, then RBAC. Returns 0 or -ENOMEM. */
static int authorize(struct k8s_api *api, const struct identity *id,
                     const struct k8s_rbac_attributes *attrs, struct k8s_rbac_decision *d)
{
    if (has_group(id, MASTERS_GROUP)) {
        memset(d, 0, sizeof(*d));
        d->allowed = true;
        return 0;
    }
    const char *groups[K8S_API_MAX_GROUPS];
    for (size_t i = 0; i < id->group_count; i++)
        groups[i] = id->groups[i];
    struct k8s_rbac_user user = {
        .name = id->user, .groups = groups, .group_count = id->group_count};
    json_t *objects = rbac_objects(api);
    if (!objects)
        return -ENOMEM;
    k8s_rbac_authorize(objects, &user, attrs, d);
    json_decref(objects);
    return 0;
}

static void attributes_of(const struct k8s_request_info *info, struct k8s_rbac_attributes *a)
{
    *a = (struct k8s_rbac_attributes){
        .resource_request = info->resource_request,
        .verb = info->verb,
        .api_group = info->group,
        .api_version = info->version,
        .resource = info->resource,
        .subresource = info->subresource,
        .namespace = info->namespace_,
        .name = info->name,
        .path = info->path,
    };
}

/* ---- selectors ---- */

static bool match_selectors(const json_t *object, void *ctx)
{
    const struct selectors *s = ctx;
    const json_t *labels = json_object_get(json_object_get(object, "metadata"), "labels");
    return (!s->labels || k8s_label_selector_matches(s->labels, labels)) &&
           (!s->fields || k8s_field_selector_matches(s->fields, object));
}

static void selectors_clear(struct selectors *s)
{
    k8s_label_selector_free(s->labels);
    k8s_field_selector_free(s->fields);
    s->labels = NULL;
    s->fields = NULL;
}

/* Compiles the request's selectors, label selector first as upstream decodes ListOptions; empty
 * ones are dropped so that lists without a real filter keep remainingItemCount. Answers 400 and
 * returns -1 when one does not parse. */
static int selectors_parse(struct call *c, const struct k8s_resource_type *rt, struct selectors *s)
{
    struct error err = {0};
    int rc = k8s_label_selector_parse(c->label_selector, &s->labels, &err);
    if (!rc)
        rc = k8s_field_selector_parse(c->field_selector, rt->plural, rt->group, &s->fields, &err);
    if (rc < 0) {
        selectors_clear(s);
        if (rc == -ENOMEM)
            answer_status(c, 500, "InternalError", "out of memory");
        else
            answer_bad_request(c, err.message);
        return -1;
    }
    if (k8s_label_selector_is_empty(s->labels)) {
        k8s_label_selector_free(s->labels);
        s->labels = NULL;
    }
    if (k8s_field_selector_is_empty(s->fields)) {
        k8s_field_selector_free(s->fields);
        s->fields = NULL;
    }
    return 0;
}

/* The name a metadata.name field selector pins (requestinfo.go), only when the label selector
 * also parses, as upstream takes none when the query fails to decode. */
static int pin_request_name(struct call *c)
{
    if (!c->field_selector || !c->field_selector[0])
        return 0;
    struct k8s_label_selector *labels = NULL;
    if (k8s_label_selector_parse(c->label_selector, &labels, NULL) < 0)
        return 0;
    k8s_label_selector_free(labels);
    char *name = NULL;
    int rc = k8s_field_selector_request_name(c->field_selector, &name);
    if (name && strlen(name) < sizeof(c->info.name))
        snprintf(c->info.name, sizeof(c->info.name), "%s", name);
    free(name);
    return rc;
}

/* ---- watches ---- */

static void watch_unlink(struct watch_stream *s)
{
    struct k8s_api *api = s->api;
    pthread_mutex_lock(&api->watches_mutex);
    if (s->prev)
        s->prev->next = s->next;
    else if (api->watches == s)
        api->watches = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    pthread_mutex_unlock(&api->watches_mutex);
}

static void watch_stream_free(void *ctx)
{
    struct watch_stream *s = ctx;
    if (!s)
        return;
    if (s->api)
        watch_unlink(s);
    k8s_store_watch_free(s->watcher);
    selectors_clear(&s->selectors);
    free(s->pending);
    free(s);
}

/* Serialises one event as a line of the stream. Returns 0 or -ENOMEM. */
static int watch_take_event(struct watch_stream *s, struct k8s_store_event *event)
{
    json_t *wire = k8s_store_event_json(event);
    bool object_event = event->type != K8S_EVENT_BOOKMARK && event->type != K8S_EVENT_ERROR;
    k8s_store_event_clear(event);
    if (!wire)
        return -ENOMEM;
    if (s->table.version && object_event) {
        /* a Table per event; bookmarks and ERROR Statuses go as they are */
        s->table.now_s = fake_util_now_ms() / 1000;
        json_t *table = k8s_table_of_object(s->rt, json_object_get(wire, "object"), &s->table);
        if (!table || json_object_set_new(wire, "object", table)) {
            json_decref(wire);
            return -ENOMEM;
        }
        s->table.no_headers = true; /* headers on the first event only, as the WatchServer does */
    }
    size_t len = json_dumpb(wire, NULL, 0, JSON_COMPACT);
    char *text = malloc(len + 1);
    if (!text || json_dumpb(wire, text, len, JSON_COMPACT) != len) {
        free(text);
        json_decref(wire);
        return -ENOMEM;
    }
    json_decref(wire);
    text[len] = '\n';
    free(s->pending);
    s->pending = text;
    s->pending_len = len + 1;
    s->pending_off = 0;
    return 0;
}

/* http_stream_ops.next: one JSON event per line until the watch ends, its timeout passes (a
 * bookmark first when allowed, as the cacher sends one before it closes) or the client leaves. */
static long watch_next(void *ctx, struct MHD_Connection *connection, uint8_t *buf, size_t max)
{
    struct watch_stream *s = ctx;
    while (1) {
        if (s->pending_off < s->pending_len) {
            size_t n = s->pending_len - s->pending_off;
            if (n > max)
                n = max;
            memcpy(buf, s->pending + s->pending_off, n);
            s->pending_off += n;
            return (long)n;
        }
        if (httpd_stream_peer_closed(connection))
            return 0;
        long long now = monotonic_ms();
        if (!s->closing && now >= s->deadline_ms) {
            s->closing = true;
            if (s->allow_bookmarks)
                k8s_store_watch_bookmark(s->watcher);
        } else if (!s->closing && s->allow_bookmarks && now >= s->next_bookmark_ms) {
            k8s_store_watch_bookmark(s->watcher);
            s->next_bookmark_ms = now + BOOKMARK_INTERVAL_MS;
        }
        long wait = 0;
        if (!s->closing) {
            long long until = s->deadline_ms < s->next_bookmark_ms || !s->allow_bookmarks
                                  ? s->deadline_ms
                                  : s->next_bookmark_ms;
            wait = until - now > WATCH_SLICE_MS ? WATCH_SLICE_MS : (long)(until - now);
            if (wait < 0)
                wait = 0;
        }
        struct k8s_store_event event = {0};
        int rc = k8s_store_watch_next(s->watcher, wait, &event);
        if (rc == 0) {
            if (watch_take_event(s, &event) < 0)
                return -1;
            continue;
        }
        if (rc == -EAGAIN && !s->closing)
            continue;
        /* Drained after the timeout, or the watch ended (-EPIPE): a complete body either way;
         * -ENOMEM or a cut drops the connection so the client re-watches. */
        return rc == -ENOMEM || atomic_load(&s->cut) ? -1 : 0;
    }
}

static const struct http_stream_ops watch_ops = {watch_next, watch_stream_free};

/* Go's strconv.ParseBool, which decodes allowWatchBookmarks. */
static bool parse_bool(const char *text)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    for (size_t i = 0; text && i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!strcmp(text, yes[i]))
            return true;
    return false;
}

/* A non-negative integer query parameter; -1 when absent, -2 when malformed. */
static long long query_count(const char *text)
{
    if (!text)
        return -1;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (!text[0] || *end || errno || n < 0)
        return -2;
    return n;
}

/* Whether the answer is a Table because Accept asks for one (k8s_table.h): fills *o and returns
 * 1; 0 for a plain answer; -1 after answering 400 for a bad includeObject. */
static int table_wanted(struct call *c, struct k8s_table_options *o)
{
    const char *version = k8s_table_version_wanted(httpd_request_header(c->req, "Accept"));
    if (!version)
        return 0;
    *o = (struct k8s_table_options){.version = version, .now_s = fake_util_now_ms() / 1000};
    struct error err = {0};
    if (k8s_table_include_parse(httpd_request_query(c->req, "includeObject"), &o->include, &err) <
        0) {
        answer_bad_request(c, err.message);
        return -1;
    }
    return 1;
}

static void serve_watch(struct call *c, struct k8s_store_type *type,
                        const struct k8s_resource_type *rt, const char *namespace)
{
    long long timeout = query_count(httpd_request_query(c->req, "timeoutSeconds"));
    if (timeout == -2) {
        answer_bad_request(c, "timeoutSeconds must be a non-negative integer");
        return;
    }
    struct watch_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        answer_status(c, 500, "InternalError", "out of memory");
        return;
    }
    if (selectors_parse(c, rt, &s->selectors) < 0) {
        watch_stream_free(s);
        return;
    }
    int table = table_wanted(c, &s->table);
    if (table < 0) {
        watch_stream_free(s);
        return;
    }
    if (!table)
        s->table.version = NULL;
    s->rt = rt;
    s->allow_bookmarks = parse_bool(httpd_request_query(c->req, "allowWatchBookmarks"));
    long long now = monotonic_ms();
    s->deadline_ms = now + 1000 * (timeout > 0 ? timeout : K8S_API_DEFAULT_WATCH_SECONDS);
    s->next_bookmark_ms = now + BOOKMARK_INTERVAL_MS;
    bool filtered = s->selectors.labels || s->selectors.fields;
    struct error err = {0};
    int rc = k8s_store_watch_start(c->api->store, type, namespace,
                                   httpd_request_query(c->req, "resourceVersion"),
                                   s->allow_bookmarks, filtered ? match_selectors : NULL,
                                   filtered ? &s->selectors : NULL, &s->watcher, &err);
    if (rc < 0) {
        watch_stream_free(s);
        if (rc == -EAGAIN)
            answer_status(c, 429, "TooManyRequests", "too many open watches");
        else
            answer_store_error(c, &err, type, NULL);
        return;
    }
    struct k8s_api *api = c->api;
    pthread_mutex_lock(&api->watches_mutex);
    bool closing = api->closing;
    if (!closing) {
        s->api = api;
        s->next = api->watches;
        if (api->watches)
            api->watches->prev = s;
        api->watches = s;
    }
    pthread_mutex_unlock(&api->watches_mutex);
    if (closing) {
        watch_stream_free(s);
        answer_status(c, 503, "ServiceUnavailable", "the server is shutting down");
        return;
    }
    c->resp->status = 200;
    c->resp->content_type = "application/json";
    c->resp->stream = &watch_ops;
    c->resp->stream_ctx = s;
}

size_t k8s_api_cut_watches(struct k8s_api *api)
{
    size_t cut = 0;
    pthread_mutex_lock(&api->watches_mutex);
    for (struct watch_stream *s = api->watches; s; s = s->next) {
        atomic_store(&s->cut, true);
        k8s_store_watch_stop(s->watcher);
        cut++;
    }
    pthread_mutex_unlock(&api->watches_mutex);
    return cut;
}

void k8s_api_shutdown(struct k8s_api *api)
{
    if (!api)
        return;
    pthread_mutex_lock(&api->watches_mutex);
    api->closing = true;
    for (struct watch_stream *s = api->watches; s; s = s->next)
        k8s_store_watch_stop(s->watcher);
    pthread_mutex_unlock(&api->watches_mutex);
}

/* ---- resources ---- */

static void serve_list(struct call *c, struct k8s_store_type *type,
                       const struct k8s_resource_type *rt, const char *namespace)
{
    long long limit = query_count(httpd_request_query(c->req, "limit"));
    if (limit == -2) {
        answer_bad_request(c, "limit must be a non-negative integer");
        return;
    }
    struct k8s_table_options table_options;
    int table = table_wanted(c, &table_options);
    if (table < 0)
        return;
    struct selectors s = {0};
    if (selectors_parse(c, rt, &s) < 0)
        return;
    bool filtered = s.labels || s.fields;
    struct k8s_store_list_options options = {
        .namespace = namespace,
        .resource_version = httpd_request_query(c->req, "resourceVersion"),
        .resource_version_match = httpd_request_query(c->req, "resourceVersionMatch"),
        .limit = limit > 0 ? (long)limit : 0,
        .continue_token = httpd_request_query(c->req, "continue"),
        .match = filtered ? match_selectors : NULL,
        .match_ctx = filtered ? &s : NULL,
        .as_text = !table, /* a Table is made from the objects */
    };
    struct k8s_store_list_result result = {0};
    struct error err = {0};
    int rc = k8s_store_list(c->api->store, type, &options, &result, &err);
    if (rc < 0) {
        answer_json(c, k8s_store_http_status(rc), k8s_store_list_status_json(&err, &result), NULL);
    } else if (options.as_text) {
        http_response_take_body(c->resp, "application/json", result.list_text,
                                result.list_text_len);
        c->resp->status = 200;
        result.list_text = NULL;
    } else {
        json_t *list = k8s_store_list_json(type, &result);
        if (table && list) {
            json_t *as_table = k8s_table_of_list(rt, list, &table_options);
            json_decref(list);
            list = as_table;
        }
        answer_json(c, 200, list, NULL);
    }
    k8s_store_list_result_clear(&result);
    selectors_clear(&s);
}

/* The request body as a JSON object, or an answer (413, 400) and NULL. */
static json_t *request_object(struct call *c)
{
    if (c->req->body_too_large) {
        answer_too_large(c);
        return NULL;
    }
    /* JSON bodies, and the protobuf ones k8s_proto.h decodes: for any other body the API
     * server's own answer is 415 with the media types it accepts (apimachinery
     * negotiation.NewUnsupportedMediaTypeError). */
    char media[96];
    fake_util_media_type(httpd_request_header(c->req, "Content-Type"), media, sizeof(media));
    if (!strcmp(media, K8S_PROTOBUF_MEDIA_TYPE)) {
        /* The few protobuf bodies clients send without a JSON fallback (k8s_proto.h). */
        json_t *decoded = NULL;
        struct error perr = {0};
        int rc = k8s_proto_decode(c->req->body, c->req->body_len, &decoded, &perr);
        if (rc == 0)
            return decoded;
        if (rc != -ENOTSUP) { /* -ENOTSUP: a kind not decoded, answered 415 below */
            if (rc == -EBADMSG)
                answer_bad_request(c, perr.message);
            else
                answer_status(c, 500, "InternalError", perr.message);
            return NULL;
        }
    }
    if (media[0] && strcmp(media, "application/json") != 0) {
        answer_status(c, 415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format - accepted media types "
                      "include: application/json");
        return NULL;
    }
    json_error_t jerr;
    json_t *object = json_loadb((const char *)c->req->body, c->req->body_len, 0, &jerr);
    if (!json_is_object(object)) {
        char message[400];
        snprintf(message, sizeof(message), "couldn't get version/kind; json parse error: %s",
                 object ? "the body is not a JSON object" : jerr.text);
        json_decref(object);
        answer_bad_request(c, message);
        return NULL;
    }
    return object;
}

static const char *metadata_name(const json_t *object)
{
    return json_string_value(json_object_get(json_object_get(object, "metadata"), "name"));
}

/* checkName: an update or a patch may not rename the object. False after answering 400. */
static bool name_matches_url(struct call *c, const json_t *object)
{
    const char *name = metadata_name(object);
    if (name && !strcmp(name, c->info.name))
        return true;
    char message[700];
    snprintf(message, sizeof(message),
             "the name of the object (%.253s) does not match the name on the URL (%.253s)",
             name ? name : "", c->info.name);
    answer_bad_request(c, message);
    return false;
}

static const char *metadata_resource_version(const json_t *object)
{
    return json_string_value(
        json_object_get(json_object_get(object, "metadata"), "resourceVersion"));
}

static void serve_write(struct call *c, struct k8s_store_type *type, const char *namespace)
{
    json_t *object = request_object(c);
    if (!object)
        return;
    const char *body_name = metadata_name(object);
    json_t *out = NULL;
    struct error err = {0};
    int rc, status;
    if (!strcmp(c->info.verb, "create")) {
        rc = k8s_store_create(c->api->store, type, namespace, object, &out, &err);
        status = 201;
    } else {
        if (!name_matches_url(c, object)) {
            json_decref(object);
            return;
        }
        rc = k8s_store_update(c->api->store, type, namespace, object, &out, &err);
        status = 200;
    }
    if (rc < 0)
        answer_store_error(c, &err, type, body_name);
    else {
        c->items = 1;
        answer_json(c, status, out, NULL);
    }
    json_decref(object);
}

/* The stored object with the status of `source` and its resourceVersion (the precondition): what
 * a write to the status subresource changes. New reference; NULL on ENOMEM. */
static json_t *with_status_of(const json_t *current, const json_t *source)
{
    json_t *updated = json_deep_copy(current);
    json_t *meta = updated ? json_object_get(updated, "metadata") : NULL;
    const json_t *status = json_object_get(source, "status");
    const json_t *rv = json_object_get(json_object_get(source, "metadata"), "resourceVersion");
    int rc = !updated || !json_is_object(meta);
    if (!rc && status)
        rc = json_object_set_new(updated, "status", json_deep_copy(status));
    else if (!rc)
        json_object_del(updated, "status");
    if (!rc && rv)
        rc = json_object_set_new(meta, "resourceVersion", json_deep_copy(rv));
    else if (!rc)
        json_object_del(meta, "resourceVersion");
    if (rc) {
        json_decref(updated);
        return NULL;
    }
    return updated;
}

/* PUT .../status: the body's status replaces the stored one, nothing else changes. */
static void serve_status_update(struct call *c, struct k8s_store_type *type, const char *namespace)
{
    json_t *object = request_object(c);
    if (!object)
        return;
    json_t *current = NULL, *updated = NULL, *out = NULL;
    struct error err = {0};
    if (!name_matches_url(c, object))
        goto done;
    if (k8s_store_get(c->api->store, type, namespace, c->info.name, &current, &err) < 0) {
        answer_store_error(c, &err, type, c->info.name);
        goto done;
    }
    updated = with_status_of(current, object);
    if (!updated) {
        answer_status(c, 500, "InternalError", "out of memory");
        goto done;
    }
    if (k8s_store_update(c->api->store, type, namespace, updated, &out, &err) < 0) {
        answer_store_error(c, &err, type, c->info.name);
        goto done;
    }
    c->items = 1;
    answer_json(c, 200, out, NULL);
done:
    json_decref(object);
    json_decref(current);
    json_decref(updated);
}

static void answer_patch_error(struct call *c, const struct error *err)
{
    int status = k8s_patch_http_status(err->code);
    const char *reason = k8s_patch_reason(err->code);
    if (status == 422) /* NewGenericServerResponse / NewInvalid: details present, empty */
        answer_json(c, status, status_with_details(status, reason, err->message, json_object()),
                    NULL);
    else
        answer_status(c, status, reason, err->message);
}

/* PATCH of an object (or of its status, `status_only`): patch.go's patcher. The patch is applied
 * to the stored object and the result goes through the update path (precondition, generation,
 * MODIFIED event). A conflict with a write that came in between is retried with the new object,
 * as GuaranteedUpdate retries; a resourceVersion the patch sets itself is a precondition and its
 * conflict is final. */
static void serve_patch(struct call *c, struct k8s_store_type *type,
                        const struct k8s_resource_type *rt, const char *namespace, bool status_only)
{
    struct error err = {0};
    enum k8s_patch_type patch_type;
    if (k8s_patch_type_of(httpd_request_header(c->req, "Content-Type"), rt, &patch_type, &err) <
        0) {
        answer_status(c, 415, "UnsupportedMediaType", err.message);
        return;
    }
    if (c->req->body_too_large) {
        answer_too_large(c);
        return;
    }
    for (int attempt = 0; attempt < PATCH_ATTEMPTS; attempt++) {
        json_t *current = NULL, *patched = NULL, *updated = NULL, *out = NULL;
        if (k8s_store_get(c->api->store, type, namespace, c->info.name, &current, &err) < 0) {
            answer_store_error(c, &err, type, c->info.name);
            return;
        }
        int rc = k8s_patch_apply(patch_type, rt, current, (const char *)c->req->body,
                                 c->req->body_len, &patched, &err);
        if (rc < 0) {
            json_decref(current);
            answer_patch_error(c, &err);
            return;
        }
        if (!name_matches_url(c, patched)) {
            json_decref(current);
            json_decref(patched);
            return;
        }
        updated = status_only ? with_status_of(current, patched) : json_incref(patched);
        const char *was = metadata_resource_version(current);
        const char *wanted = metadata_resource_version(patched);
        bool own_precondition = wanted && wanted[0] && (!was || strcmp(wanted, was));
        rc = updated ? k8s_store_update(c->api->store, type, namespace, updated, &out, &err)
                     : error_set(&err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        json_decref(current);
        json_decref(patched);
        json_decref(updated);
        if (rc == -EBUSY && !own_precondition)
            continue;
        if (rc < 0) {
            answer_store_error(c, &err, type, c->info.name);
            return;
        }
        c->items = 1;
        answer_json(c, 200, out, NULL);
        return;
    }
    answer_store_error(c, &err, type, c->info.name); /* a conflict every time */
}

/* DELETE on a collection: the generic store's DeleteCollection lists what the selectors match,
 * deletes each (one gone meanwhile is no error), and answers the list as it was listed. Not
 * atomic there either: a failure leaves what was deleted deleted. */
static void serve_delete_collection(struct call *c, struct k8s_store_type *type,
                                    const struct k8s_resource_type *rt, const char *namespace)
{
    if (c->req->body_too_large) {
        answer_too_large(c);
        return;
    }
    struct selectors s = {0};
    if (selectors_parse(c, rt, &s) < 0)
        return;
    bool filtered = s.labels || s.fields;
    struct k8s_store_list_options options = {
        .namespace = namespace,
        .match = filtered ? match_selectors : NULL,
        .match_ctx = filtered ? &s : NULL,
    };
    struct k8s_store_list_result result = {0};
    struct error err = {0};
    int rc = k8s_store_list(c->api->store, type, &options, &result, &err);
    if (rc < 0) {
        answer_json(c, k8s_store_http_status(rc), k8s_store_list_status_json(&err, &result), NULL);
        goto done;
    }
    size_t i;
    json_t *item;
    json_array_foreach(result.items, i, item)
    {
        const json_t *meta = json_object_get(item, "metadata");
        const char *name = json_string_value(json_object_get(meta, "name"));
        const char *ns = json_string_value(json_object_get(meta, "namespace"));
        rc = k8s_store_delete(c->api->store, type, ns, name ? name : "", NULL, &err);
        if (rc == -ENOENT)
            continue;
        if (rc < 0) {
            answer_store_error(c, &err, type, name);
            goto done;
        }
        c->items++;
    }
    answer_json(c, 200, k8s_store_list_json(type, &result), NULL);
done:
    k8s_store_list_result_clear(&result);
    selectors_clear(&s);
}

/* Whether the space-separated `verbs` of the table has `verb`. */
static bool has_verb(const char *verbs, const char *verb)
{
    size_t n = strlen(verb);
    for (const char *p = verbs; p && *p;) {
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, verb, n))
            return true;
        p = end ? end + 1 : p + len;
    }
    return false;
}

static const struct k8s_subresource *subresource_of(const struct k8s_resource_type *rt,
                                                    const char *name)
{
    for (size_t i = 0; i < K8S_MAX_SUBRESOURCES; i++)
        if (rt->subresources[i].name && !strcmp(rt->subresources[i].name, name))
            return &rt->subresources[i];
    return NULL;
}

/* POST selfsubjectaccessreviews: the caller's own question, answered by the same authorizer. */
static void serve_self_subject_access_review(struct call *c)
{
    json_t *review = request_object(c);
    if (!review)
        return;
    const json_t *spec = json_object_get(review, "spec");
    const json_t *ra = json_object_get(spec, "resourceAttributes");
    const json_t *na = json_object_get(spec, "nonResourceAttributes");
    if (!json_is_object(ra) == !json_is_object(na)) {
        json_decref(review);
        answer_status(c, 422, "Invalid",
                      "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: "
                      "spec.resourceAttributes: Invalid value: \"null\": exactly one of "
                      "nonResourceAttributes or resourceAttributes must be specified");
        return;
    }
#define FIELD(obj, key) (json_string_value(json_object_get(obj, key)))
    struct k8s_rbac_attributes attrs = {.resource_request = ra != NULL};
    if (ra) {
        attrs.verb = FIELD(ra, "verb");
        attrs.api_group = FIELD(ra, "group");
        attrs.api_version = FIELD(ra, "version");
        attrs.resource = FIELD(ra, "resource");
        attrs.subresource = FIELD(ra, "subresource");
        attrs.namespace = FIELD(ra, "namespace");
        attrs.name = FIELD(ra, "name");
    } else {
        attrs.verb = FIELD(na, "verb");
        attrs.path = FIELD(na, "path");
    }
#undef FIELD
    struct k8s_rbac_decision *d = malloc(sizeof(*d));
    json_t *status = json_object();
    int rc = !d || !status || authorize(c->api, &c->id, &attrs, d) < 0;
    rc = rc || json_object_set_new(status, "allowed", json_boolean(d->allowed));
    if (!rc && d->reason[0])
        rc = json_object_set_new(status, "reason", json_string(d->reason));
    rc = rc || json_object_set_new(review, "kind", json_string("SelfSubjectAccessReview"));
    rc = rc || json_object_set_new(review, "apiVersion", json_string("authorization.k8s.io/v1"));
    if (!rc && !json_is_object(json_object_get(review, "metadata")))
        rc = json_object_set_new(review, "metadata", json_object());
    rc = rc || json_object_set(review, "status", status);
    json_decref(status);
    free(d);
    if (rc) {
        json_decref(review);
        answer_status(c, 500, "InternalError", "out of memory");
        return;
    }
    answer_json(c, 201, review, NULL);
}

static void serve_resource(struct call *c)
{
    const struct k8s_request_info *info = &c->info;
    const char *verb = info->verb;
    if (!strcmp(info->group, "authorization.k8s.io") && !strcmp(info->version, "v1") &&
        !info->namespace_[0]) {
        if (!strcmp(info->resource, "selfsubjectaccessreviews") && !strcmp(verb, "create") &&
            !info->name[0]) {
            serve_self_subject_access_review(c);
            return;
        }
        if (!strcmp(info->resource, "selfsubjectrulesreviews") ||
            !strcmp(info->resource, "subjectaccessreviews")) {
            answer_status(c, 501, "NotImplemented",
                          "the fake Kubernetes API does not evaluate this review");
            return;
        }
    }
    struct k8s_store_type *type = k8s_store_find(c->api->store, info->group, info->resource);
    const struct k8s_resource_type *rt = type ? k8s_store_type_resource(type) : NULL;
    if (!rt || strcmp(rt->version, info->version)) {
        bool found = false;
        json_decref(k8s_discovery_resource_list(info->group, info->version, &found));
        if (found)
            answer_status(c, 404, "NotFound", "the server could not find the requested resource");
        else
            answer_page_not_found(c);
        return;
    }
    /* `namespaces/<name>` carries its own name as the namespace (RequestInfo does that). */
    bool namespace_object = !strcmp(info->resource, "namespaces") && info->name[0] &&
                            !strcmp(info->namespace_, info->name);
    if (!rt->namespaced && info->namespace_[0] && !namespace_object) {
        answer_page_not_found(c);
        return;
    }
    const char *namespace = rt->namespaced ? info->namespace_ : NULL;
    bool collection = !strcmp(verb, "list") || !strcmp(verb, "watch");
    if (rt->namespaced && !info->namespace_[0] && !collection) {
        answer_page_not_found(c); /* no route for a named object without its namespace */
        return;
    }
    if (info->subresource[0]) {
        const struct k8s_subresource *sub = subresource_of(rt, info->subresource);
        bool status = sub && !strcmp(sub->name, "status");
        if (!sub)
            answer_status(c, 404, "NotFound", "the server could not find the requested resource");
        else if (!strcmp(verb, "get"))
            goto get;
        else if (status && !strcmp(verb, "patch") && has_verb(sub->verbs, verb))
            serve_patch(c, type, rt, namespace, true);
        else if (status && !strcmp(verb, "update") && has_verb(sub->verbs, verb))
            serve_status_update(c, type, namespace);
        else
            answer_method_not_allowed(c);
        return;
    }
    if (!has_verb(rt->verbs, verb) || (!strcmp(verb, "create") && info->name[0])) {
        answer_method_not_allowed(c);
        return;
    }
    if (!strcmp(verb, "patch")) {
        serve_patch(c, type, rt, namespace, false);
        return;
    }
    if (!strcmp(verb, "deletecollection")) {
        serve_delete_collection(c, type, rt, namespace);
        return;
    }
    if (!strcmp(verb, "list")) {
        serve_list(c, type, rt, namespace);
        return;
    }
    if (!strcmp(verb, "watch")) {
        serve_watch(c, type, rt, namespace);
        return;
    }
    if (!strcmp(verb, "create") || !strcmp(verb, "update")) {
        serve_write(c, type, namespace);
        return;
    }
    json_t *out = NULL;
    struct error err = {0};
    if (!strcmp(verb, "delete")) {
        if (k8s_store_delete(c->api->store, type, namespace, info->name, &out, &err) < 0)
            answer_store_error(c, &err, type, info->name);
        else {
            c->items = 1;
            answer_json(c, 200, out, NULL);
        }
        return;
    }
    if (strcmp(verb, "get")) {
        answer_method_not_allowed(c);
        return;
    }
get:;
    struct k8s_table_options table_options;
    int table = info->subresource[0] ? 0 : table_wanted(c, &table_options);
    if (table < 0)
        return;
    if (k8s_store_get(c->api->store, type, namespace, info->name, &out, &err) < 0) {
        answer_store_error(c, &err, type, info->name);
        return;
    }
    if (table) {
        json_t *as_table = k8s_table_of_object(rt, out, &table_options);
        json_decref(out);
        out = as_table;
    }
    answer_json(c, 200, out, NULL);
}

/* ---- non-resource paths ---- */

/* GET /apis/<group>: the group's entry of the APIGroupList, as an APIGroup. */
static json_t *api_group(const char *group)
{
    json_t *list = k8s_discovery_group_list();
    size_t i;
    json_t *item, *found = NULL;
    json_array_foreach(json_object_get(list, "groups"), i, item)
    {
        const char *name = json_string_value(json_object_get(item, "name"));
        if (name && !strcmp(name, group)) {
            found = json_deep_copy(item);
            break;
        }
    }
    json_decref(list);
    if (found && (json_object_set_new(found, "kind", json_string("APIGroup")) ||
                  json_object_set_new(found, "apiVersion", json_string("v1")))) {
        json_decref(found);
        found = NULL;
    }
    return found;
}

static void serve_non_resource(struct call *c)
{
    const char *path = c->info.path;
    if (strcmp(c->req->method, "GET")) {
        answer_page_not_found(c);
        return;
    }
    if (!strcmp(path, "/healthz") || !strcmp(path, "/livez") || !strcmp(path, "/readyz")) {
        http_response_printf(c->resp, 200, "text/plain; charset=utf-8", "ok");
        return;
    }
    if (!strcmp(path, "/version")) {
        answer_json(c, 200, k8s_discovery_version(), NULL);
        return;
    }
    if (!strncmp(path, "/openapi/v3", strlen("/openapi/v3"))) {
        int found = 0;
        json_t *doc = k8s_openapi_document(path, &found);
        if (found)
            answer_json(c, 200, doc, NULL);
        else
            answer_page_not_found(c);
        return;
    }
    if (!strcmp(path, "/api") || !strcmp(path, "/apis")) {
        bool core = !strcmp(path, "/api");
        if (k8s_discovery_wants_aggregated(httpd_request_header(c->req, "Accept"))) {
            answer_json(c, 200, k8s_discovery_aggregated(core), K8S_AGGREGATED_DISCOVERY_TYPE);
            return;
        }
        const char *host = httpd_request_header(c->req, "Host");
        char address[256];
        snprintf(address, sizeof(address), "%s", host && host[0] ? host : "127.0.0.1:6443");
        answer_json(c, 200, core ? k8s_discovery_api_versions(address) : k8s_discovery_group_list(),
                    NULL);
        return;
    }
    char group[K8S_REQUEST_PART_MAX], version[32];
    bool found = false;
    json_t *doc = NULL;
    if (!strcmp(path, "/api/v1")) {
        doc = k8s_discovery_resource_list("", "v1", &found);
    } else if (sscanf(path, "/apis/%255[^/]/%31[^/]", group, version) == 2 &&
               strlen(path) == strlen("/apis//") + strlen(group) + strlen(version)) {
        doc = k8s_discovery_resource_list(group, version, &found);
    } else if (sscanf(path, "/apis/%255[^/]", group) == 1 &&
               strlen(path) == strlen("/apis/") + strlen(group)) {
        doc = api_group(group);
        found = doc != NULL;
    }
    if (found)
        answer_json(c, 200, doc, NULL);
    else
        answer_page_not_found(c);
}

/* ---- the front ---- */

/* The identity of the request's bearer token; anonymous for the public health paths without any
 * Authorization header. False: answer 401. */
static bool authenticate(struct call *c)
{
    const char *header = httpd_request_header(c->req, "Authorization");
    if (!header) {
        const char *path = c->req->path;
        bool public_path = !strcmp(path, "/healthz") || !strcmp(path, "/livez") ||
                           !strcmp(path, "/readyz") || !strcmp(path, "/version");
        if (!public_path)
            return false;
        snprintf(c->id.user, sizeof(c->id.user), "system:anonymous");
        snprintf(c->id.groups[0], sizeof(c->id.groups[0]), "system:unauthenticated");
        c->id.group_count = 1;
        return true;
    }
    /* bearertoken.go: "Bearer" in any case, one space, then the token. */
    if (strncasecmp(header, "Bearer ", 7) != 0)
        return false;
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    char trimmed[K8S_API_TOKEN_LEN + 2];
    size_t len = strcspn(token, " \t\r\n");
    if (!len || len >= sizeof(trimmed))
        return false;
    memcpy(trimmed, token, len);
    trimmed[len] = '\0';
    return token_lookup(c->api, trimmed, &c->id);
}

/* The apiserver's impersonation filter (apiserver/pkg/endpoints/filters/impersonation.go), for
 * Impersonate-User and one Impersonate-Group (kubectl --as, --as-group): the requestor must be
 * allowed `impersonate` on the serviceaccount (a system:serviceaccount:NS:NAME user), user or
 * group; the request then acts as that user, a service account with its groups when no group
 * is named, and system:authenticated. A second Impersonate-Group header, Impersonate-Uid and
 * Impersonate-Extra-* are not read. Returns 0 to go on, -1 when it answered. */
static int impersonate(struct call *c)
{
    const char *as_user = httpd_request_header(c->req, "Impersonate-User");
    const char *as_group = httpd_request_header(c->req, "Impersonate-Group");
    if (!as_user && !as_group)
        return 0;
    if (!as_user || !as_user[0]) {
        answer_status(c, 500, "InternalError",
                      "Internal error occurred: requested impersonation of a group without "
                      "impersonating a user");
        return -1;
    }
    struct identity as = {0};
    struct error err = {0};
    snprintf(as.user, sizeof(as.user), "%s", as_user);
    char sa_namespace[NAME_MAX_LEN] = "";
    const char *sa_name = NULL;
    if (!strncmp(as_user, SA_PREFIX, strlen(SA_PREFIX))) {
        const char *rest = as_user + strlen(SA_PREFIX);
        const char *colon = strchr(rest, ':');
        if (colon && colon > rest && colon[1] && (size_t)(colon - rest) < sizeof(sa_namespace)) {
            snprintf(sa_namespace, sizeof(sa_namespace), "%.*s", (int)(colon - rest), rest);
            sa_name = colon + 1;
        }
    }
    /* One check per impersonated name, as the filter makes them, user first. */
    struct {
        const char *resource, *namespace, *name;
    } checks[2] = {{sa_name ? "serviceaccounts" : "users", sa_name ? sa_namespace : "",
                    sa_name ? sa_name : as_user},
                   {"groups", "", as_group}};
    for (size_t i = 0; i < (as_group ? 2u : 1u); i++) {
        struct k8s_rbac_attributes acting = {.resource_request = true,
                                             .verb = "impersonate",
                                             .api_group = "",
                                             .api_version = "v1",
                                             .resource = checks[i].resource,
                                             .subresource = "",
                                             .namespace = checks[i].namespace,
                                             .name = checks[i].name,
                                             .path = c->req->path};
        struct k8s_rbac_decision *d = malloc(sizeof(*d));
        if (!d || authorize(c->api, &c->id, &acting, d) < 0) {
            free(d);
            answer_status(c, 500, "InternalError", "out of memory");
            return -1;
        }
        bool allowed = d->allowed;
        if (!allowed) {
            c->decision = "forbid";
            snprintf(c->reason, sizeof(c->reason), "%s", d->reason);
            answer_json(c, 403, k8s_rbac_forbidden_status(c->id.user, &acting, c->reason), NULL);
        }
        free(d);
        if (!allowed)
            return -1;
    }
    int rc = 0;
    if (as_group)
        rc = add_group(&as, as_group, &err);
    else if (sa_name) {
        /* serviceaccount.MakeGroupNames: the fixed groups of a service account. */
        char group[GROUP_MAX_LEN];
        snprintf(group, sizeof(group), "system:serviceaccounts:%s", sa_namespace);
        rc = add_group(&as, "system:serviceaccounts", &err);
        if (rc == 0)
            rc = add_group(&as, group, &err);
    }
    if (rc == 0)
        rc = add_group(&as,
                       strcmp(as.user, "system:anonymous") ? "system:authenticated"
                                                           : "system:unauthenticated",
                       &err);
    if (rc < 0) {
        answer_bad_request(c, err.message);
        return -1;
    }
    c->requestor = c->id;
    c->id = as;
    c->impersonating = true;
    return 0;
}

static void audit(struct call *c)
{
    char uri[2048];
    size_t w = (size_t)snprintf(uri, sizeof(uri), "%s", c->req->path);
    static const char *const params[] = {
        "watch",         "labelSelector",   "fieldSelector",        "limit",
        "continue",      "resourceVersion", "resourceVersionMatch", "allowWatchBookmarks",
        "timeoutSeconds"};
    char sep = '?';
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]) && w < sizeof(uri); i++) {
        const char *v = httpd_request_query(c->req, params[i]);
        if (!v)
            continue;
        w += (size_t)snprintf(uri + w, sizeof(uri) - w, "%c%s=%s", sep, params[i], v);
        sep = '&';
    }
    const struct identity *who = c->impersonating ? &c->requestor : &c->id;
    const char *groups[K8S_API_MAX_GROUPS], *as_groups[K8S_API_MAX_GROUPS];
    for (size_t i = 0; i < who->group_count; i++)
        groups[i] = who->groups[i];
    for (size_t i = 0; c->impersonating && i < c->id.group_count; i++)
        as_groups[i] = c->id.groups[i];
    struct k8s_audit_record record = {
        .received_ns = c->received_ns,
        .request_uri = uri,
        .user_agent = httpd_request_header(c->req, "User-Agent"),
        .user = c->authenticated ? who->user : NULL,
        .groups = groups,
        .group_count = c->authenticated ? who->group_count : 0,
        .impersonated_user = c->impersonating ? c->id.user : NULL,
        .impersonated_groups = as_groups,
        .impersonated_group_count = c->impersonating ? c->id.group_count : 0,
        .info = &c->info,
        .label_selector = c->label_selector,
        .field_selector = c->field_selector,
        .decision = c->decision,
        .reason = c->reason,
        .code = c->resp->status,
        .status_message = c->status_message,
        .status_reason = c->status_reason,
        .response_bytes = c->resp->body_len,
        .response_streamed = c->resp->stream != NULL,
    };
    k8s_audit_append(c->api->audit, &record);
}

void k8s_api_handle(struct k8s_api *api, const struct http_request *req, struct http_response *resp,
                    size_t *items)
{
    struct call *c = calloc(1, sizeof(*c));
    *items = 0;
    if (!c) {
        http_response_printf(resp, 500, "text/plain; charset=utf-8", "out of memory\n");
        return;
    }
    c->api = api;
    c->req = req;
    c->resp = resp;
    c->received_ns = fake_util_now_ns();
    k8s_request_parse(req->method, req->path, httpd_request_query(req, "watch"), &c->info);
    c->label_selector = httpd_request_query(req, "labelSelector");
    c->field_selector = httpd_request_query(req, "fieldSelector");
    c->authenticated = authenticate(c);
    if (!c->authenticated) {
        answer_status(c, 401, "Unauthorized", "Unauthorized");
        goto done;
    }
    if (impersonate(c) < 0)
        goto done;
    bool collection = !strcmp(c->info.verb, "list") || !strcmp(c->info.verb, "watch");
    if (c->info.resource_request && collection && pin_request_name(c) < 0) {
        answer_status(c, 500, "InternalError", "out of memory");
        goto done;
    }
    struct k8s_rbac_attributes attrs;
    attributes_of(&c->info, &attrs);
    struct k8s_rbac_decision *d = malloc(sizeof(*d));
    if (!d || authorize(api, &c->id, &attrs, d) < 0) {
        free(d);
        answer_status(c, 500, "InternalError", "out of memory");
        goto done;
    }
    c->decision = d->allowed ? "allow" : "forbid";
    snprintf(c->reason, sizeof(c->reason), "%s", d->reason);
    bool allowed = d->allowed;
    free(d);
    if (!allowed) {
        answer_json(c, 403, k8s_rbac_forbidden_status(c->id.user, &attrs, c->reason), NULL);
        goto done;
    }
    if (c->info.resource_request)
        serve_resource(c);
    else
        serve_non_resource(c);
done:
    audit(c);
    *items = c->items;
    free(c);
}

/* ---- set-up ---- */

/* The bootstrap policy every cluster has (plugin/pkg/auth/authorizer/rbac/bootstrappolicy),
 * reduced to what a client of this fake relies on. */
static const char bootstrap_rbac[] =
    "[{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\","
    "\"metadata\":{\"name\":\"system:discovery\"},\"rules\":[{\"nonResourceURLs\":[\"/api\","
    "\"/api/*\",\"/apis\",\"/apis/*\",\"/healthz\",\"/livez\",\"/openapi\",\"/openapi/*\","
    "\"/readyz\",\"/version\",\"/version/\"],\"verbs\":[\"get\"]}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\","
    "\"metadata\":{\"name\":\"system:basic-user\"},\"rules\":[{\"apiGroups\":["
    "\"authorization.k8s.io\"],\"resources\":[\"selfsubjectaccessreviews\","
    "\"selfsubjectrulesreviews\"],\"verbs\":[\"create\"]}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\","
    "\"metadata\":{\"name\":\"system:public-info-viewer\"},\"rules\":[{\"nonResourceURLs\":["
    "\"/healthz\",\"/livez\",\"/readyz\",\"/version\",\"/version/\"],\"verbs\":[\"get\"]}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\","
    "\"metadata\":{\"name\":\"system:discovery\"},\"roleRef\":{\"apiGroup\":"
    "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"system:discovery\"},"
    "\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Group\","
    "\"name\":\"system:authenticated\"}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\","
    "\"metadata\":{\"name\":\"system:basic-user\"},\"roleRef\":{\"apiGroup\":"
    "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"system:basic-user\"},"
    "\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Group\","
    "\"name\":\"system:authenticated\"}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\","
    "\"metadata\":{\"name\":\"system:public-info-viewer\"},\"roleRef\":{\"apiGroup\":"
    "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":"
    "\"system:public-info-viewer\"},\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\","
    "\"kind\":\"Group\",\"name\":\"system:authenticated\"},{\"apiGroup\":"
    "\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":\"system:unauthenticated\"}]}]";

struct k8s_api *k8s_api_new(size_t watch_history, struct error *err)
{
    struct k8s_api *api = calloc(1, sizeof(*api));
    if (!api) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&api->tokens_mutex, NULL);
    pthread_mutex_init(&api->watches_mutex, NULL);
    struct k8s_store_config store_config = {.history_size = watch_history};
    api->store = k8s_store_new(&store_config);
    api->audit = k8s_audit_new(K8S_AUDIT_DEFAULT_CAPACITY);
    json_t *bootstrap = NULL;
    if (!api->store || !api->audit) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    for (const struct k8s_resource_type *const *t = k8s_resource_types; *t; t++)
        if (k8s_store_register(api->store, *t, NULL, err) < 0)
            goto fail;
    bootstrap = json_loads(bootstrap_rbac, 0, NULL);
    if (!bootstrap) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    size_t i;
    json_t *object;
    json_array_foreach(bootstrap, i, object)
    {
        const char *kind = json_string_value(json_object_get(object, "kind"));
        const char *plural = !strcmp(kind, "ClusterRole") ? "clusterroles" : "clusterrolebindings";
        if (k8s_store_create(api->store, k8s_store_find(api->store, RBAC_GROUP, plural), NULL,
                             object, NULL, err) < 0)
            goto fail;
    }
    json_decref(bootstrap);
    bootstrap = NULL;
    struct identity admin = {.group_count = 2};
    snprintf(admin.user, sizeof(admin.user), "%s", K8S_API_ADMIN_USER);
    snprintf(admin.groups[0], sizeof(admin.groups[0]), "%s", MASTERS_GROUP);
    snprintf(admin.groups[1], sizeof(admin.groups[1]), "%s", AUTHENTICATED_GROUP);
    if (token_add(api, &admin, api->admin_token, err) < 0)
        goto fail;
    return api;
fail:
    json_decref(bootstrap);
    k8s_api_free(api);
    return NULL;
}

void k8s_api_free(struct k8s_api *api)
{
    if (!api)
        return;
    /* Streams hold the store's watchers and point back here: they must be gone. */
    assert(!api->watches);
    for (size_t i = 0; i < api->token_count; i++)
        free(api->tokens[i]);
    k8s_store_free(api->store);
    k8s_audit_free(api->audit);
    pthread_mutex_destroy(&api->tokens_mutex);
    pthread_mutex_destroy(&api->watches_mutex);
    free(api);
}

const char *k8s_api_admin_token(const struct k8s_api *api)
{
    return api->admin_token;
}

struct k8s_store *k8s_api_store(struct k8s_api *api)
{
    return api->store;
}

/* ---- control API operations ---- */

json_t *k8s_api_audit_view(struct k8s_api *api)
{
    return k8s_audit_view(api->audit);
}

void k8s_api_audit_clear(struct k8s_api *api)
{
    k8s_audit_clear(api->audit);
}

static json_t *error_body(const char *message)
{
    json_t *body = json_object();
    if (body &&
        fake_util_json_set(body, "error", fake_util_json_string(message, strlen(message)))) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* Appends the objects of `doc` to `flat`, a `kind: List` expanded, nulls skipped. */
static int flatten(json_t *flat, json_t *doc)
{
    if (json_is_null(doc))
        return 0;
    if (json_is_array(doc)) {
        size_t i;
        json_t *item;
        json_array_foreach(doc, i, item)
        {
            if (flatten(flat, item) < 0)
                return -1;
        }
        return 0;
    }
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    if (kind && !strcmp(kind, "List") && json_is_array(json_object_get(doc, "items")))
        return flatten(flat, json_object_get(doc, "items"));
    return json_array_append(flat, doc) ? -1 : 0;
}

/* Applies one object; fills *action. Returns 0 or a store code with `err`. */
static int apply_one(struct k8s_api *api, const json_t *doc, json_t **out, const char **action,
                     struct error *err)
{
    const char *api_version = json_string_value(json_object_get(doc, "apiVersion"));
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    if (!json_is_object(doc) || !api_version || !kind)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "an object needs apiVersion and kind");
    char group[K8S_REQUEST_PART_MAX] = "";
    const char *version = api_version;
    const char *slash = strchr(api_version, '/');
    if (slash) {
        snprintf(group, sizeof(group), "%.*s", (int)(slash - api_version), api_version);
        version = slash + 1;
    }
    const struct k8s_resource_type *rt = k8s_resource_by_kind(group, version, kind);
    struct k8s_store_type *type = rt ? k8s_store_find(api->store, rt->group, rt->plural) : NULL;
    if (!type)
        return error_set(err, -ENOENT, ERROR_PERMANENT,
                         "no matches for kind \"%.100s\" in version \"%.100s\"", kind, api_version);
    /* What kubectl sends: no resourceVersion (etcd3's create refuses one), the default
     * namespace when none is given. */
    json_t *copy = json_deep_copy(doc);
    json_t *meta = copy ? json_object_get(copy, "metadata") : NULL;
    if (!copy)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    if (json_is_object(meta))
        json_object_del(meta, "resourceVersion");
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *namespace = rt->namespaced ? (ns && ns[0] ? ns : "default") : NULL;
    *action = "created";
    int rc = k8s_store_create(api->store, type, namespace, copy, out, err);
    if (rc == -EEXIST) {
        json_t *old = NULL;
        const char *name = metadata_name(copy);
        rc = k8s_store_get(api->store, type, namespace, name ? name : "", &old, err);
        if (!rc)
            rc = k8s_store_update(api->store, type, namespace, copy, out, err);
        if (!rc) {
            const char *was = json_string_value(
                json_object_get(json_object_get(old, "metadata"), "resourceVersion"));
            const char *now = json_string_value(
                json_object_get(json_object_get(*out, "metadata"), "resourceVersion"));
            *action = was && now && !strcmp(was, now) ? "unchanged" : "configured";
        }
        json_decref(old);
    }
    json_decref(copy);
    return rc;
}

static json_t *applied_entry(const json_t *object, const char *action)
{
    const json_t *meta = json_object_get(object, "metadata");
    json_t *entry =
        json_pack("{s:O,s:O,s:O,s:O,s:s}", "apiVersion", json_object_get(object, "apiVersion"),
                  "kind", json_object_get(object, "kind"), "name", json_object_get(meta, "name"),
                  "resourceVersion", json_object_get(meta, "resourceVersion"), "action", action);
    const json_t *ns = json_object_get(meta, "namespace");
    if (entry && ns && json_object_set(entry, "namespace", (json_t *)ns)) {
        json_decref(entry);
        return NULL;
    }
    return entry;
}

json_t *k8s_api_apply(struct k8s_api *api, const char *text, size_t len, int *status)
{
    struct error err = {0};
    json_t *doc = NULL;
    json_t *flat = json_array();
    json_t *applied = json_array();
    json_t *body = NULL;
    *status = 500;
    if (!flat || !applied)
        goto done;
    if (yamljson_parse(text, len, "objects", &doc, NULL, &err) < 0) {
        *status = err.code == -ENOMEM ? 500 : 400;
        body = error_body(err.message);
        goto done;
    }
    if (flatten(flat, doc) < 0)
        goto done;
    size_t i;
    json_t *object;
    json_array_foreach(flat, i, object)
    {
        json_t *out = NULL;
        const char *action = "";
        int rc = apply_one(api, object, &out, &action, &err);
        if (rc < 0) {
            char message[ERROR_MESSAGE_MAX + 32];
            snprintf(message, sizeof(message), "document %zu: %s", i, err.message);
            *status = rc == -ENOMEM ? 500 : 400;
            body = error_body(message);
            if (body && (json_object_set_new(body, "index", json_integer((json_int_t)i)) ||
                         json_object_set(body, "applied", applied))) {
                json_decref(body);
                body = NULL;
            }
            goto done;
        }
        int bad = json_array_append_new(applied, applied_entry(out, action));
        json_decref(out);
        if (bad)
            goto done;
    }
    *status = 200;
    body = json_pack("{s:O}", "applied", applied);
done:
    json_decref(doc);
    json_decref(flat);
    json_decref(applied);
    if (!body)
        *status = 500;
    return body;
}

json_t *k8s_api_delete_object(struct k8s_api *api, const char *group, const char *resource,
                              const char *namespace, const char *name, int *status)
{
    if (!strcmp(group, "core"))
        group = "";
    if (!strcmp(namespace, "_"))
    namespace = "";
    struct k8s_store_type *type = k8s_store_find(api->store, group, resource);
    char message[ERROR_MESSAGE_MAX];
    if (!type) {
        *status = 404;
        snprintf(message, sizeof(message), "no resource \"%.200s\" in group \"%.200s\"", resource,
                 group);
        return error_body(message);
    }
    json_t *out = NULL;
    struct error err = {0};
    int rc = k8s_store_delete(api->store, type, namespace, name, &out, &err);
    if (rc < 0) {
        *status = rc == -ENOENT ? 404 : 500;
        return error_body(err.message);
    }
    *status = 200;
    return out;
}

/* ---- pod phases, as a kubelet reports them (pkg/kubelet/status/generate.go) ---- */

static const char *const pod_phases[] = {"Pending", "Running", "Succeeded", "Failed"};

/* One condition, its lastTransitionTime kept when its status does not change. */
static json_t *pod_condition(const json_t *old_status, const char *type, bool value,
                             const char *reason, const char *message, const char *now)
{
    const char *status = value ? "True" : "False";
    const char *since = now;
    size_t i;
    json_t *old;
    json_array_foreach(json_object_get(old_status, "conditions"), i, old)
    {
        const char *t = json_string_value(json_object_get(old, "type"));
        const char *s = json_string_value(json_object_get(old, "status"));
        const char *when = json_string_value(json_object_get(old, "lastTransitionTime"));
        if (t && !strcmp(t, type) && s && !strcmp(s, status) && when)
            since = when;
    }
    json_t *c = json_pack("{s:s,s:s,s:n,s:s}", "type", type, "status", status, "lastProbeTime",
                          "lastTransitionTime", since);
    if (c && reason && json_object_set_new(c, "reason", json_string(reason))) {
        json_decref(c);
        return NULL;
    }
    if (c && message && json_object_set_new(c, "message", json_string(message))) {
        json_decref(c);
        return NULL;
    }
    return c;
}

/* The status of a container in `phase`; restart count and last state kept from before. */
static json_t *container_status(const json_t *container, const json_t *old, const char *phase,
                                const char *now)
{
    const char *name = json_string_value(json_object_get(container, "name"));
    const char *image = json_string_value(json_object_get(container, "image"));
    const json_t *old_state = json_object_get(old, "state");
    const char *started =
        json_string_value(json_object_get(json_object_get(old_state, "running"), "startedAt"));
    json_t *state;
    bool running = !strcmp(phase, "Running");
    if (!strcmp(phase, "Pending"))
        state = json_pack("{s:{s:s}}", "waiting", "reason", "ContainerCreating");
    else if (running)
        state = json_pack("{s:{s:s}}", "running", "startedAt", started ? started : now);
    else
        state = json_pack("{s:{s:i,s:s,s:s,s:s}}", "terminated", "exitCode",
                          !strcmp(phase, "Succeeded") ? 0 : 1, "reason",
                          !strcmp(phase, "Succeeded") ? "Completed" : "Error", "startedAt",
                          started ? started : now, "finishedAt", now);
    json_t *last = json_object_get(old, "lastState");
    json_t *status = json_pack("{s:s,s:s,s:s,s:b,s:I,s:b,s:o}", "name", name ? name : "", "image",
                               image ? image : "", "imageID", "", "ready", running, "restartCount",
                               json_integer_value(json_object_get(old, "restartCount")), "started",
                               running, "state", state);
    if (status &&
        json_object_set_new(status, "lastState", last ? json_deep_copy(last) : json_object())) {
        json_decref(status);
        return NULL;
    }
    return status;
}

/* `pod`'s status moved to `phase` (see k8s_api.h). New reference; NULL on ENOMEM. */
static json_t *pod_status_in_phase(const json_t *pod, const char *phase)
{
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
    const json_t *spec = json_object_get(pod, "spec");
    const json_t *old = json_object_get(pod, "status");
    json_t *status = json_is_object(old) ? json_deep_copy(old) : json_object();
    json_t *statuses = json_array(), *conditions = json_array();
    int rc = !status || !statuses || !conditions;
    char unready[ERROR_MESSAGE_MAX] = "containers with unready status: [";
    size_t i;
    json_t *container;
    json_array_foreach(json_object_get(spec, "containers"), i, container)
    {
        const char *name = json_string_value(json_object_get(container, "name"));
        const json_t *before = NULL;
        size_t k;
        json_t *cs;
        json_array_foreach(json_object_get(old, "containerStatuses"), k, cs)
        {
            const char *n = json_string_value(json_object_get(cs, "name"));
            if (n && name && !strcmp(n, name))
                before = cs;
        }
        rc = rc || json_array_append_new(statuses, container_status(container, before, phase, now));
        size_t used = strlen(unready);
        snprintf(unready + used, sizeof(unready) - used, "%s%s", i ? " " : "", name ? name : "");
    }
    size_t used = strlen(unready);
    snprintf(unready + used, sizeof(unready) - used, "]");
    bool running = !strcmp(phase, "Running"), pending = !strcmp(phase, "Pending");
    const char *why = running                       ? NULL
                      : pending                     ? "ContainersNotReady"
                      : !strcmp(phase, "Succeeded") ? "PodCompleted"
                                                    : "PodFailed";
    const char *what = pending ? unready : NULL;
    const char *node = json_string_value(json_object_get(spec, "nodeName"));
    bool scheduled = node && node[0];
    if (scheduled) {
        rc = rc || json_array_append_new(conditions, pod_condition(old, "PodReadyToStartContainers",
                                                                   running, NULL, NULL, now));
        rc = rc || json_array_append_new(conditions,
                                         pod_condition(old, "Initialized", true, NULL, NULL, now));
        rc = rc || json_array_append_new(conditions,
                                         pod_condition(old, "Ready", running, why, what, now));
        rc = rc || json_array_append_new(
                       conditions, pod_condition(old, "ContainersReady", running, why, what, now));
    }
    rc = rc || json_array_append_new(conditions,
                                     pod_condition(old, "PodScheduled", scheduled,
                                                   scheduled ? NULL : "Unschedulable", NULL, now));
    /* conditions the kubelet does not own (readiness gates) stay */
    static const char *const kubelet_owned[] = {"PodReadyToStartContainers", "Initialized", "Ready",
                                                "ContainersReady", "PodScheduled"};
    json_t *other;
    json_array_foreach(json_object_get(old, "conditions"), i, other)
    {
        const char *type = json_string_value(json_object_get(other, "type"));
        bool owned = false;
        for (size_t k = 0; type && k < sizeof(kubelet_owned) / sizeof(kubelet_owned[0]); k++)
            owned = owned || !strcmp(type, kubelet_owned[k]);
        if (!owned)
            rc = rc || json_array_append(conditions, other);
    }
    rc = rc || json_object_set_new(status, "phase", json_string(phase));
    rc = rc || json_object_set(status, "conditions", conditions);
    rc = rc || json_object_set(status, "containerStatuses", statuses);
    if (!rc && !pending && !json_object_get(status, "startTime"))
        rc = json_object_set_new(status, "startTime", json_string(now));
    json_decref(statuses);
    json_decref(conditions);
    if (rc) {
        json_decref(status);
        return NULL;
    }
    return status;
}

json_t *k8s_api_set_pod_phase(struct k8s_api *api, const char *namespace, const char *name,
                              const char *text, size_t len, int *status)
{
    json_error_t jerr;
    json_t *request = json_loadb(text ? text : "", len, 0, &jerr);
    const char *phase = json_string_value(json_object_get(request, "phase"));
    bool known = false;
    for (size_t i = 0; phase && i < sizeof(pod_phases) / sizeof(pod_phases[0]); i++)
        known = known || !strcmp(phase, pod_phases[i]);
    json_t *answer = NULL;
    if (!known) {
        *status = 400;
        answer = error_body("want {\"phase\":\"Pending\"|\"Running\"|\"Succeeded\"|\"Failed\"}");
        goto done;
    }
    struct k8s_store_type *type = k8s_store_find(api->store, "", "pods");
    struct error err = {0};
    for (int attempt = 0; attempt < PATCH_ATTEMPTS; attempt++) {
        json_t *pod = NULL;
        if (k8s_store_get(api->store, type, namespace, name, &pod, &err) < 0)
            break;
        json_t *moved = pod_status_in_phase(pod, phase);
        int rc = moved ? json_object_set_new(pod, "status", moved) : -1;
        rc = rc ? error_set(&err, -ENOMEM, ERROR_PERMANENT, "out of memory")
                : k8s_store_update(api->store, type, namespace, pod, &answer, &err);
        json_decref(pod);
        if (rc != -EBUSY) /* a write that came in between: again, from the new pod */
            break;
    }
    if (!answer) {
        *status = err.code == -ENOENT ? 404 : 500;
        answer = error_body(err.message);
        goto done;
    }
    *status = 200;
done:
    json_decref(request);
    if (!answer)
        *status = 500;
    return answer;
}

json_t *k8s_api_view(struct k8s_api *api)
{
    char rv[32];
    snprintf(rv, sizeof(rv), "%" PRIu64, k8s_store_resource_version(api->store));
    json_t *objects = json_object();
    json_t *view = json_pack("{s:s}", "resourceVersion", rv);
    int rc = !objects || !view;
    for (const struct k8s_resource_type *const *t = k8s_resource_types; !rc && *t; t++) {
        struct k8s_store_type *type = k8s_store_find(api->store, (*t)->group, (*t)->plural);
        json_t *some = type ? k8s_store_snapshot(api->store, type, NULL) : NULL;
        if (!some) {
            rc = type != NULL;
            continue;
        }
        char key[600];
        snprintf(key, sizeof(key), "%s%s%s", (*t)->plural, (*t)->group[0] ? "." : "", (*t)->group);
        rc = json_array_size(some) ? json_object_set_new(objects, key, some) : 0;
        if (!json_array_size(some))
            json_decref(some);
    }
    rc = rc || json_object_set(view, "objects", objects);
    json_decref(objects);
    if (rc) {
        json_decref(view);
        return NULL;
    }
    return view;
}
