/*
 * targets.c - fake Prometheus scrape targets (targets.h): one libmicrohttpd server per target,
 * bound on its own loopback address.
 *
 * What a scraper sees mirrors client_golang's promhttp.Handler (promhttp/http.go, checked
 * against v1.20): the exposition with its Content-Type, gzip with Content-Encoding: gzip when
 * Accept-Encoding offers it, and Go's ServeMux 404 ("404 page not found", text/plain, nosniff)
 * for any other path. The bodies are served as given: this module does not parse or check the
 * exposition, so a scenario can serve malformed text on purpose.
 *
 * Threads: each target's server runs its handlers on its own threads (httpd.h); a handler
 * touches only its target (counters under the target's mutex, the fault through fault.h). The
 * list is changed by control requests under the set's mutex; a removed target is unlinked first
 * and stopped after, outside the mutex, since stopping waits for its running handlers.
 */
#include "targets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compress.h"
#include "fake_util.h"
#include "fault.h"
#include "httpd.h"
#include "log.h"

#define LOG_COMP "fake/targets"
#define DEFAULT_ADDRESS "127.0.0.1"
#define DEFAULT_PATH "/metrics"
/* promhttp's content type for the text format (expfmt.FmtText) */
#define DEFAULT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define ADDRESS_MAX 64
#define PATH_MAX_LEN 256
#define CONTENT_TYPE_MAX 160
#define HEADER_SEEN_MAX 256
#define TARGET_MAX_REQUEST_BODY 4096 /* a scrape has no body; keep little of one sent anyway */

struct path_count {
    char path[PATH_MAX_LEN];
    unsigned long requests;
};

struct target {
    char id[16];
    char address[ADDRESS_MAX];
    int port; /* as bound */
    char path[PATH_MAX_LEN];
    char content_type[CONTENT_TYPE_MAX];
    char **bodies; /* body_count NUL-terminated texts */
    size_t *body_lens;
    size_t body_count;
    struct fault *fault;
    struct httpd *server;

    pthread_mutex_t mutex; /* guards what follows */
    unsigned long requests;
    unsigned long scrapes; /* requests for `path`, whatever the answer */
    struct path_count paths[TARGETS_MAX_PATHS];
    size_t path_count;
    unsigned long other_paths; /* requests past TARGETS_MAX_PATHS distinct paths */
    char last_accept[HEADER_SEEN_MAX];
    char last_accept_encoding[HEADER_SEEN_MAX];
    char last_user_agent[HEADER_SEEN_MAX];
    bool seen_any;
};

struct targets {
    pthread_mutex_t mutex; /* guards the list and next_id */
    struct target *items[TARGETS_MAX];
    size_t count;
    unsigned long next_id;
};

/* ---- one target ---- */

/* Stops the server (after releasing stalled requests) and frees; accepts a half-built target. */
static void target_destroy(struct target *tg)
{
    if (!tg)
        return;
    if (tg->fault)
        fault_shutdown(tg->fault);
    httpd_stop(tg->server);
    fault_free(tg->fault);
    for (size_t i = 0; i < tg->body_count; i++)
        free(tg->bodies[i]);
    free(tg->bodies);
    free(tg->body_lens);
    pthread_mutex_destroy(&tg->mutex);
    free(tg);
}

/* Does an Accept-Encoding value offer gzip? Tokens are compared without their parameters; a
 * "q=0" refusal is not honoured (no scraper sends one). */
static bool offers_gzip(const char *accept_encoding)
{
    if (!accept_encoding)
        return false;
    const char *p = accept_encoding;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",;");
        size_t end = n;
        while (end && p[end - 1] == ' ')
            end--;
        if (end == 4 && strncasecmp(p, "gzip", 4) == 0)
            return true;
        p += n;
        p += strcspn(p, ","); /* skip parameters */
    }
    return false;
}

static void copy_header(char *out, size_t size, const char *value)
{
    snprintf(out, size, "%s", value ? value : "");
}

/* Counts the request and returns the index of the body a scrape gets (SIZE_MAX: not a scrape). */
static size_t count_request(struct target *tg, const struct http_request *req)
{
    bool on_path = strcmp(req->path, tg->path) == 0;
    size_t index = SIZE_MAX;
    pthread_mutex_lock(&tg->mutex);
    tg->requests++;
    if (on_path) {
        index = tg->scrapes < tg->body_count ? tg->scrapes : tg->body_count - 1;
        tg->scrapes++;
    }
    size_t i = 0;
    while (i < tg->path_count && strcmp(tg->paths[i].path, req->path) != 0)
        i++;
    if (i < tg->path_count) {
        tg->paths[i].requests++;
    } else if (tg->path_count < TARGETS_MAX_PATHS && strlen(req->path) < PATH_MAX_LEN) {
        snprintf(tg->paths[i].path, sizeof(tg->paths[i].path), "%s", req->path);
        tg->paths[i].requests = 1;
        tg->path_count++;
    } else {
        tg->other_paths++;
    }
    copy_header(tg->last_accept, sizeof(tg->last_accept), httpd_request_header(req, "Accept"));
    copy_header(tg->last_accept_encoding, sizeof(tg->last_accept_encoding),
                httpd_request_header(req, "Accept-Encoding"));
    copy_header(tg->last_user_agent, sizeof(tg->last_user_agent),
                httpd_request_header(req, "User-Agent"));
    tg->seen_any = true;
    pthread_mutex_unlock(&tg->mutex);
    return index;
}

/* Go's http.Error: the text and a newline, text/plain, nosniff. */
static void go_http_error(struct http_response *resp, int status, const char *text)
{
    http_response_printf(resp, status, "text/plain; charset=utf-8", "%s\n", text);
    http_response_add_header(resp, "X-Content-Type-Options", "nosniff");
}

static void serve_body(struct target *tg, const struct http_request *req,
                       struct http_response *resp, size_t index)
{
    const uint8_t *body = (const uint8_t *)tg->bodies[index];
    size_t len = tg->body_lens[index];
    if (offers_gzip(httpd_request_header(req, "Accept-Encoding"))) {
        uint8_t *packed = NULL;
        size_t packed_len = 0;
        if (compress_buffer(COMPRESSION_GZIP, body, len, &packed, &packed_len) < 0) {
            go_http_error(resp, 500, "out of memory compressing the body");
            return;
        }
        http_response_take_body(resp, tg->content_type, (char *)packed, packed_len);
        http_response_add_header(resp, "Content-Encoding", "gzip");
    } else if (http_response_set_body(resp, tg->content_type, body, len) < 0) {
        go_http_error(resp, 500, "out of memory");
        return;
    }
    resp->status = 200;
}

/* The target's handler: count, fault, then the body or Go's 404. */
static void serve_target(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct target *tg = ctx;
    size_t index = count_request(tg, req);
    struct fault_action action;
    if (fault_take(tg->fault, &action)) {
        fault_wait(tg->fault, &action);
        if (action.spec.reset) {
            resp->close_connection = true;
        } else if (action.spec.status) {
            const char *text = action.spec.body;
            if (http_response_printf(resp, action.spec.status, "text/plain; charset=utf-8", "%s",
                                     text ? text : fake_util_status_text(action.spec.status)) ==
                    0 &&
                action.spec.retry_after[0])
                http_response_add_header(resp, "Retry-After", "%s", action.spec.retry_after);
        }
        bool answered = action.spec.reset || action.spec.status;
        fault_action_clear(&action);
        if (answered)
            return;
    }
    if (index == SIZE_MAX)
        go_http_error(resp, 404, "404 page not found");
    else
        serve_body(tg, req, resp, index);
}

/* ---- parsing a target ---- */

static const char *const target_keys[] = {"address",      "port",  "path", "bodies",
                                          "content_type", "fault", NULL};

static int bad(struct error *err, const char *fmt, const char *detail)
{
    return error_set(err, -EINVAL, ERROR_PERMANENT, fmt, detail);
}

/* A loopback address: 127.0.0.0/8 or ::1. The targets stand in for pods on this host, and only
 * loopback addresses are free to bind without configuring an interface. */
static bool is_loopback(const char *address)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, address, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, address, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

static int parse_bodies(struct target *tg, const json_t *bodies, struct error *err)
{
    if (!json_is_array(bodies) || json_array_size(bodies) == 0)
        return bad(err, "bodies: expected a non-empty list of strings%s", "");
    if (json_array_size(bodies) > TARGETS_MAX_BODIES)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "bodies: at most %d bodies",
                         TARGETS_MAX_BODIES);
    size_t n = json_array_size(bodies);
    tg->bodies = calloc(n, sizeof(*tg->bodies));
    tg->body_lens = calloc(n, sizeof(*tg->body_lens));
    if (!tg->bodies || !tg->body_lens)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *b = json_array_get(bodies, i);
        if (!json_is_string(b))
            return error_set(err, -EINVAL, ERROR_PERMANENT, "bodies[%zu]: expected a string", i);
        size_t len = json_string_length(b);
        tg->bodies[i] = malloc(len + 1);
        if (!tg->bodies[i])
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        memcpy(tg->bodies[i], json_string_value(b), len + 1);
        tg->body_lens[i] = len;
        tg->body_count++;
    }
    return 0;
}

/* The fault given with the target, through fault.h's own parser so it reads as PUT
 * /v1/faults/{fake} does. */
static int parse_fault(struct target *tg, const json_t *fault, struct error *err)
{
    char *text = json_dumps(fault, JSON_COMPACT);
    if (!text)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    struct fault_spec spec;
    int rc = fault_spec_parse(text, strlen(text), &spec, err);
    free(text);
    if (rc < 0)
        return error_prefix(err, "fault");
    if (spec.cut_watches) {
        fault_spec_clear(&spec);
        return bad(err, "fault: a target has no watches to cut%s", "");
    }
    fault_set(tg->fault, &spec);
    return 0;
}

/* Fills tg from the request's JSON (everything but the server). */
static int parse_target(struct target *tg, const char *text, size_t len, struct error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = 0;
    if (!root)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "bad JSON: %s", jerr.text);
    if (!json_is_object(root)) {
        rc = bad(err,
                 "expected a JSON object such as {\"address\":\"127.0.1.5\",\"bodies\":"
                 "[\"up 1\\n\"]}%s",
                 "");
        goto done;
    }
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        size_t i = 0;
        while (target_keys[i] && strcmp(target_keys[i], key) != 0)
            i++;
        if (!target_keys[i]) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "unknown field \"%.100s\"; known: address, port, path, bodies, "
                           "content_type, fault",
                           key);
            goto done;
        }
    }
    const json_t *address = json_object_get(root, "address");
    const json_t *port = json_object_get(root, "port");
    const json_t *path = json_object_get(root, "path");
    const json_t *content_type = json_object_get(root, "content_type");
    if (address && (!json_is_string(address) || json_string_length(address) >= ADDRESS_MAX ||
                    !is_loopback(json_string_value(address)))) {
        rc = bad(err, "address: expected a loopback address such as \"127.0.1.5\"%s", "");
        goto done;
    }
    snprintf(tg->address, sizeof(tg->address), "%s",
             address ? json_string_value(address) : DEFAULT_ADDRESS);
    if (port && (!json_is_integer(port) || json_integer_value(port) < 0 ||
                 json_integer_value(port) > 65535)) {
        rc = bad(err, "port: expected an integer 0-65535 (0: any free port)%s", "");
        goto done;
    }
    tg->port = port ? (int)json_integer_value(port) : 0;
    if (path && (!json_is_string(path) || json_string_value(path)[0] != '/' ||
                 json_string_length(path) >= PATH_MAX_LEN)) {
        rc = bad(err, "path: expected a path starting with \"/\" such as \"/metrics\"%s", "");
        goto done;
    }
    snprintf(tg->path, sizeof(tg->path), "%s", path ? json_string_value(path) : DEFAULT_PATH);
    if (content_type && (!json_is_string(content_type) || json_string_length(content_type) == 0 ||
                         json_string_length(content_type) >= CONTENT_TYPE_MAX)) {
        rc = bad(err, "content_type: expected a media type such as \"%s\"", DEFAULT_CONTENT_TYPE);
        goto done;
    }
    snprintf(tg->content_type, sizeof(tg->content_type), "%s",
             content_type ? json_string_value(content_type) : DEFAULT_CONTENT_TYPE);
    rc = parse_bodies(tg, json_object_get(root, "bodies"), err);
    if (rc == 0 && json_object_get(root, "fault"))
        rc = parse_fault(tg, json_object_get(root, "fault"), err);
done:
    json_decref(root);
    return rc;
}

/* ---- views ---- */

static json_t *target_json(struct target *tg)
{
    json_t *paths = json_object();
    json_t *root = json_object();
    int rc = !paths || !root;
    /* who it is first, then what it saw: the order a reader of GET /v1/targets wants */
    rc = rc || json_object_set_new(root, "id", json_string(tg->id));
    rc = rc || json_object_set_new(root, "address", json_string(tg->address));
    rc = rc || json_object_set_new(root, "port", json_integer(tg->port));
    rc = rc || json_object_set_new(root, "path", json_string(tg->path));
    pthread_mutex_lock(&tg->mutex);
    for (size_t i = 0; !rc && i < tg->path_count; i++)
        rc = json_object_set_new(paths, tg->paths[i].path,
                                 json_integer((json_int_t)tg->paths[i].requests));
    if (!rc && tg->other_paths)
        rc = json_object_set_new(paths, "other", json_integer((json_int_t)tg->other_paths));
    rc = rc || json_object_set_new(root, "requests", json_integer((json_int_t)tg->requests));
    rc = rc || json_object_set_new(root, "scrapes", json_integer((json_int_t)tg->scrapes));
    rc = rc || json_object_set_new(root, "last_accept",
                                   tg->seen_any ? json_string(tg->last_accept) : json_null());
    rc = rc ||
         json_object_set_new(root, "last_accept_encoding",
                             tg->seen_any ? json_string(tg->last_accept_encoding) : json_null());
    rc = rc || json_object_set_new(root, "last_user_agent",
                                   tg->seen_any ? json_string(tg->last_user_agent) : json_null());
    pthread_mutex_unlock(&tg->mutex);
    rc = rc || json_object_set(root, "paths", paths);
    rc = rc || json_object_set_new(root, "content_type", json_string(tg->content_type));
    rc = rc || json_object_set_new(root, "bodies", json_integer((json_int_t)tg->body_count));
    rc = rc || json_object_set_new(root, "fault", fault_view(tg->fault));
    json_decref(paths);
    if (rc) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ---- the set ---- */

struct targets *targets_new(void)
{
    struct targets *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    if (pthread_mutex_init(&t->mutex, NULL) != 0) {
        free(t);
        return NULL;
    }
    t->next_id = 1;
    return t;
}

void targets_free(struct targets *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->count; i++)
        target_destroy(t->items[i]);
    pthread_mutex_destroy(&t->mutex);
    free(t);
}

/* The index of the target `name` names (id, "address:port" or a lone address), or -1 with
 * `err` filled. Call with the mutex held. */
static long find_locked(struct targets *t, const char *name, struct error *err)
{
    char address_port[ADDRESS_MAX + 8];
    long by_address = -1;
    size_t with_address = 0;
    for (size_t i = 0; i < t->count; i++) {
        const struct target *tg = t->items[i];
        snprintf(address_port, sizeof(address_port), "%s:%d", tg->address, tg->port);
        if (strcmp(tg->id, name) == 0 || strcmp(address_port, name) == 0)
            return (long)i;
        if (strcmp(tg->address, name) == 0) {
            by_address = (long)i;
            with_address++;
        }
    }
    if (with_address == 1)
        return by_address;
    if (with_address > 1) {
        error_set(err, -EINVAL, ERROR_PERMANENT,
                  "%zu targets have address %.100s: name one by id or address:port", with_address,
                  name);
        return -1;
    }
    error_set(err, -ENOENT, ERROR_PERMANENT,
              "no target \"%.100s\" (an id, address:port or address)", name);
    return -1;
}

json_t *targets_add(struct targets *t, const char *text, size_t len, struct error *err)
{
    struct target *tg = calloc(1, sizeof(*tg));
    if (!tg || pthread_mutex_init(&tg->mutex, NULL) != 0) {
        free(tg);
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        return NULL;
    }
    tg->fault = fault_new();
    if (!tg->fault) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    if (parse_target(tg, text, len, err) < 0)
        goto fail;
    pthread_mutex_lock(&t->mutex);
    bool full = t->count == TARGETS_MAX;
    pthread_mutex_unlock(&t->mutex);
    if (full) {
        error_set(err, -ENOSPC, ERROR_PERMANENT, "at most %d targets", TARGETS_MAX);
        goto fail;
    }
    /* Bound before it is listed, outside the mutex: binding may take a while, and a target in
     * the list always has its port. */
    tg->server = httpd_start(tg->address, tg->port, TARGET_MAX_REQUEST_BODY, serve_target, tg, err);
    if (!tg->server)
        goto fail;
    tg->port = httpd_port(tg->server);
    pthread_mutex_lock(&t->mutex);
    full = t->count == TARGETS_MAX; /* another request may have filled the last place */
    if (!full) {
        /* numbered as listed, so a refused request uses no id */
        snprintf(tg->id, sizeof(tg->id), "%lu", t->next_id++);
        t->items[t->count++] = tg;
    }
    pthread_mutex_unlock(&t->mutex);
    if (full) {
        error_set(err, -ENOSPC, ERROR_PERMANENT, "at most %d targets", TARGETS_MAX);
        goto fail;
    }
    log_info(LOG_COMP, "target %s serving %s on %s:%d (%zu bodies)", tg->id, tg->path, tg->address,
             tg->port, tg->body_count);
    json_t *view = target_json(tg);
    if (!view)
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    return view;
fail:
    target_destroy(tg);
    return NULL;
}

json_t *targets_view(struct targets *t)
{
    json_t *list = json_array();
    pthread_mutex_lock(&t->mutex);
    for (size_t i = 0; list && i < t->count; i++) {
        if (json_array_append_new(list, target_json(t->items[i]))) {
            json_decref(list);
            list = NULL;
        }
    }
    pthread_mutex_unlock(&t->mutex);
    return list ? json_pack("{s:o}", "targets", list) : NULL;
}

json_t *targets_view_one(struct targets *t, const char *name, struct error *err)
{
    pthread_mutex_lock(&t->mutex);
    long i = find_locked(t, name, err);
    json_t *view = i < 0 ? NULL : target_json(t->items[i]);
    pthread_mutex_unlock(&t->mutex);
    if (i >= 0 && !view)
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    return view;
}

json_t *targets_remove(struct targets *t, const char *name, struct error *err)
{
    pthread_mutex_lock(&t->mutex);
    long i = find_locked(t, name, err);
    struct target *tg = NULL;
    if (i >= 0) {
        tg = t->items[i];
        memmove(&t->items[i], &t->items[i + 1], (t->count - (size_t)i - 1) * sizeof(t->items[0]));
        t->count--;
    }
    pthread_mutex_unlock(&t->mutex);
    if (!tg)
        return NULL;
    /* stopped first so that the view holds every request it answered */
    fault_shutdown(tg->fault);
    httpd_stop(tg->server);
    tg->server = NULL;
    log_info(LOG_COMP, "target %s on %s:%d stopped", tg->id, tg->address, tg->port);
    json_t *view = target_json(tg);
    target_destroy(tg);
    if (!view)
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    return view;
}

/* The fault operations share the lookup; the list's mutex keeps the target alive meanwhile
 * (fault.h's own calls are brief and never wait). */
enum fault_op { FAULT_OP_VIEW, FAULT_OP_SET, FAULT_OP_CLEAR };

static json_t *fault_op(struct targets *t, const char *name, enum fault_op op,
                        struct fault_spec *spec, struct error *err)
{
    pthread_mutex_lock(&t->mutex);
    long i = find_locked(t, name, err);
    json_t *view = NULL;
    if (i >= 0) {
        struct fault *fault = t->items[i]->fault;
        if (op == FAULT_OP_SET)
            fault_set(fault, spec);
        else if (op == FAULT_OP_CLEAR)
            fault_clear(fault);
        view = fault_view(fault);
        if (!view)
            error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    pthread_mutex_unlock(&t->mutex);
    return view;
}

json_t *targets_set_fault(struct targets *t, const char *name, struct fault_spec *spec,
                          struct error *err)
{
    return fault_op(t, name, FAULT_OP_SET, spec, err);
}

json_t *targets_clear_fault(struct targets *t, const char *name, struct error *err)
{
    return fault_op(t, name, FAULT_OP_CLEAR, NULL, err);
}

json_t *targets_fault_view(struct targets *t, const char *name, struct error *err)
{
    return fault_op(t, name, FAULT_OP_VIEW, NULL, err);
}
