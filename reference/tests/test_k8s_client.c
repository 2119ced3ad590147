/*
 * test_k8s_client.c - the k8sattributes processor's Kubernetes client: where it connects
 * (kube_config.c) and how its informers list and watch (reflector.c), against a scripted API
 * server on a real socket, so that each answer client-go must cope with (a watch cut by a 410
 * ERROR event, a 403 list, a paged list) can be given on cue.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "../processors/k8sattributes/k8sattributes.h"
#include "httpd.h"
#include "poll_until.h"

#define MS 1000000LL

/* ---- the scripted API server ---- */

#define REQUESTS_MAX 64
#define EVENTS_MAX 32

struct scripted_api {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct httpd *server;
    /* what the next lists answer */
    int list_status;       /* 200, or an error Status with this code */
    char list_items[4096]; /* JSON array text */
    char list_rv[32];
    bool page_once;       /* the first list answers with a `continue` token and no items */
    int watch_status;     /* 0: watches stream; else they get this error Status */
    const char *raw_list; /* when set, lists answer exactly this */
    /* watch events to stream, one JSON line each; a watch ends when it has sent `end_after` */
    char events[EVENTS_MAX][512];
    size_t event_count, events_sent;
    bool end_watch; /* the open watch ends after what was queued */
    /* what came in */
    char requests[REQUESTS_MAX][512]; /* "GET path?query" as client-go builds it */
    char authorization[128];
    size_t request_count;
    size_t open_watches;
};

/* The query as the client sent it, rebuilt from the parameters client-go uses, in its order. */
static void describe_request(const struct http_request *req, char *buf, size_t size)
{
    static const char *const params[] = {"allowWatchBookmarks", "continue", "fieldSelector",
                                         "labelSelector",       "limit",    "resourceVersion",
                                         "timeoutSeconds",      "watch",    NULL};
    int used = snprintf(buf, size, "%s %s", req->method, req->path);
    char sep = '?';
    for (size_t i = 0; params[i] && used > 0 && (size_t)used < size; i++) {
        const char *v = httpd_request_query(req, params[i]);
        if (!v)
            continue;
        /* timeoutSeconds is random: only its range is checked, by `timeout_ok` below. */
        if (!strcmp(params[i], "timeoutSeconds")) {
            long t = strtol(v, NULL, 10);
            v = t >= 300 && t < 600 ? "300..599" : "out-of-range";
        }
        used += snprintf(buf + used, size - (size_t)used, "%c%s=%s", sep, params[i], v);
        sep = '&';
    }
}

struct watch_stream {
    struct scripted_api *api;
    size_t next_event;
};

static long watch_next(void *ctx, struct MHD_Connection *connection, uint8_t *buf, size_t max)
{
    struct watch_stream *w = ctx;
    struct scripted_api *api = w->api;
    pthread_mutex_lock(&api->lock);
    long n = 0;
    while (n == 0) {
        if (w->next_event < api->event_count) {
            const char *line = api->events[w->next_event++];
            api->events_sent = w->next_event;
            n = snprintf((char *)buf, max, "%s\n", line);
            pthread_cond_broadcast(&api->changed);
            break;
        }
        if (api->end_watch || httpd_stream_peer_closed(connection))
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * MS;
        if (until.tv_nsec >= 1000 * MS) {
            until.tv_sec++;
            until.tv_nsec -= 1000 * MS;
        }
        pthread_cond_timedwait(&api->changed, &api->lock, &until);
    }
    pthread_mutex_unlock(&api->lock);
    return n;
}

static void watch_free(void *ctx)
{
    struct watch_stream *w = ctx;
    pthread_mutex_lock(&w->api->lock);
    w->api->open_watches--;
    pthread_cond_broadcast(&w->api->changed);
    pthread_mutex_unlock(&w->api->lock);
    free(w);
}

static const struct http_stream_ops watch_ops = {watch_next, watch_free};

static void scripted_handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct scripted_api *api = ctx;
    pthread_mutex_lock(&api->lock);
    if (api->request_count < REQUESTS_MAX)
        describe_request(req, api->requests[api->request_count++], sizeof(api->requests[0]));
    const char *auth = httpd_request_header(req, "Authorization");
    snprintf(api->authorization, sizeof(api->authorization), "%s", auth ? auth : "");
    pthread_cond_broadcast(&api->changed);
    const char *watch = httpd_request_query(req, "watch");
    if (watch && !strcmp(watch, "true") && api->watch_status) {
        /* As the API server words an internal error, newline-terminated like its events. */
        http_response_printf(resp, api->watch_status, "application/json",
                             "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                             "\"status\":\"Failure\",\"message\":\"Internal error occurred: "
                             "etcd unavailable\",\"reason\":\"InternalError\",\"code\":%d}\n",
                             api->watch_status);
    } else if (watch && !strcmp(watch, "true")) {
        struct watch_stream *w = calloc(1, sizeof(*w));
        w->api = api;
        /* A new watch streams what was queued after the events earlier watches sent. */
        w->next_event = api->events_sent;
        api->end_watch = false;
        api->open_watches++;
        resp->status = 200;
        resp->content_type = "application/json";
        resp->stream = &watch_ops;
        resp->stream_ctx = w;
    } else if (api->raw_list) {
        http_response_printf(resp, 200, "application/json", "%s", api->raw_list);
    } else if (api->list_status != 200) {
        http_response_printf(resp, api->list_status, "application/json",
                             "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                             "\"status\":\"Failure\",\"message\":\"pods is forbidden: User "
                             "\\\"system:serviceaccount:ns:sa\\\" cannot list resource "
                             "\\\"pods\\\" in API group \\\"\\\" at the cluster scope\","
                             "\"reason\":\"Forbidden\",\"details\":{\"kind\":\"pods\"},"
                             "\"code\":%d}",
                             api->list_status);
    } else if (api->page_once) {
        api->page_once = false;
        http_response_printf(resp, 200, "application/json",
                             "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":"
                             "{\"resourceVersion\":\"%s\",\"continue\":\"page-2\"},"
                             "\"items\":[]}",
                             api->list_rv);
    } else {
        http_response_printf(resp, 200, "application/json",
                             "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":"
                             "{\"resourceVersion\":\"%s\"},\"items\":%s}",
                             api->list_rv, api->list_items);
    }
    pthread_mutex_unlock(&api->lock);
}

static void api_queue_event(struct scripted_api *api, const char *type, const char *name,
                            const char *rv)
{
    pthread_mutex_lock(&api->lock);
    if (!strcmp(type, "ERROR"))
        snprintf(api->events[api->event_count++], sizeof(api->events[0]),
                 "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                 "\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource "
                 "version: %s (99)\",\"reason\":\"Expired\",\"code\":410}}",
                 rv);
    else
        snprintf(api->events[api->event_count++], sizeof(api->events[0]),
                 "{\"type\":\"%s\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\","
                 "\"metadata\":{\"name\":\"%s\",\"namespace\":\"shop\",\"uid\":\"uid-%s\","
                 "\"resourceVersion\":\"%s\"}}}",
                 type, name, name, rv);
    pthread_cond_broadcast(&api->changed);
    pthread_mutex_unlock(&api->lock);
}

static void api_set_list(struct scripted_api *api, int status, const char *items, const char *rv)
{
    pthread_mutex_lock(&api->lock);
    api->list_status = status;
    snprintf(api->list_items, sizeof(api->list_items), "%s", items);
    snprintf(api->list_rv, sizeof(api->list_rv), "%s", rv);
    pthread_mutex_unlock(&api->lock);
}

/* The index of the first request at or after `from` that starts with `prefix`, or -1. */
static int api_find_request(struct scripted_api *api, size_t from, const char *prefix)
{
    pthread_mutex_lock(&api->lock);
    int found = -1;
    for (size_t i = from; i < api->request_count && found < 0; i++)
        if (!strncmp(api->requests[i], prefix, strlen(prefix)))
            found = (int)i;
    pthread_mutex_unlock(&api->lock);
    return found;
}

/* ---- what the handler saw ---- */

#define SEEN_MAX 64

struct seen_events {
    pthread_mutex_t lock;
    char lines[SEEN_MAX][128]; /* "ADDED shop/a" */
    size_t count;
};

static void record_event(void *ctx, enum k8s_event_type type, const json_t *object)
{
    struct seen_events *seen = ctx;
    static const char *const names[] = {"ADDED", "MODIFIED", "DELETED"};
    const json_t *meta = json_object_get(object, "metadata");
    pthread_mutex_lock(&seen->lock);
    if (seen->count < SEEN_MAX)
        snprintf(seen->lines[seen->count++], sizeof(seen->lines[0]), "%s %s/%s", names[type],
                 json_string_value(json_object_get(meta, "namespace")),
                 json_string_value(json_object_get(meta, "name")));
    pthread_mutex_unlock(&seen->lock);
}

static bool seen_has(struct seen_events *seen, const char *line)
{
    pthread_mutex_lock(&seen->lock);
    bool found = false;
    for (size_t i = 0; i < seen->count && !found; i++)
        found = !strcmp(seen->lines[i], line);
    pthread_mutex_unlock(&seen->lock);
    return found;
}

/* ---- fixture ---- */

struct fixture {
    struct scripted_api api;
    struct seen_events seen;
    struct k8s_api_config config;
    struct k8s_informer informer;
    struct k8s_reflector *reflector;
    char server[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->api.lock, NULL);
    pthread_cond_init(&f->api.changed, NULL);
    pthread_mutex_init(&f->seen.lock, NULL);
    f->api.list_status = 200;
    struct error err = {0};
    f->api.server = httpd_start("127.0.0.1", 0, 1 << 20, scripted_handle, &f->api, &err);
    assert_non_null(f->api.server);
    snprintf(f->server, sizeof(f->server), "http://127.0.0.1:%d", httpd_port(f->api.server));
    f->config.server = f->server;
    f->config.token = "secret-token";
    f->informer.resource = "pods";
    f->informer.api_group = "";
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    k8s_reflector_stop(f->reflector);
    httpd_stop(f->api.server);
    pthread_mutex_destroy(&f->api.lock);
    pthread_cond_destroy(&f->api.changed);
    pthread_mutex_destroy(&f->seen.lock);
    free(f);
    return 0;
}

static void start_reflector(struct fixture *f)
{
    struct k8s_reflector_options o = {
        .api = &f->config,
        .informer = &f->informer,
        .log_name = "processor/k8sattributes",
        .on_event = record_event,
        .ctx = &f->seen,
        .backoff_initial_ns = 10 * MS,
        .backoff_max_ns = 40 * MS,
    };
    struct error err = {0};
    f->reflector = k8s_reflector_start(&o, &err);
    assert_non_null(f->reflector);
}

struct seen_wait {
    struct fixture *f;
    const char *line;
};

static bool saw_line(void *ctx)
{
    struct seen_wait *w = ctx;
    return seen_has(&w->f->seen, w->line);
}

static void wait_seen(struct fixture *f, const char *line)
{
    struct seen_wait w = {f, line};
    assert_true(poll_until_or_say(saw_line, &w, 20000, line));
}

struct request_wait {
    struct fixture *f;
    size_t from;
    const char *prefix;
};

static bool saw_request(void *ctx)
{
    struct request_wait *w = ctx;
    return api_find_request(&w->f->api, w->from, w->prefix) >= 0;
}

/* Waits for a request starting with `prefix` at index `from` or later; returns its index. */
static int wait_request(struct fixture *f, size_t from, const char *prefix)
{
    struct request_wait w = {f, from, prefix};
    if (!poll_until_or_say(saw_request, &w, 20000, prefix)) {
        for (size_t i = 0; i < f->api.request_count; i++)
            fprintf(stderr, "  request %zu: %s\n", i, f->api.requests[i]);
        fail_msg("no request %s", prefix);
    }
    return api_find_request(&f->api, from, prefix);
}

static const char *two_pods =
    "[{\"metadata\":{\"name\":\"a\",\"namespace\":\"shop\",\"uid\":\"uid-a\","
    "\"resourceVersion\":\"5\"}},{\"metadata\":{\"name\":\"b\",\"namespace\":\"shop\","
    "\"uid\":\"uid-b\",\"resourceVersion\":\"7\"}}]";

/* ---- the reflector ---- */

/* List with client-go's parameters and the bearer token, then watch from the list's version:
 * every event reaches the handler, bookmarks move the version on. */
static void test_lists_then_watches_from_the_list_version(void **state)
{
    struct fixture *f = *state;
    api_set_list(&f->api, 200, two_pods, "10");
    start_reflector(f);
    assert_true(k8s_reflector_wait_synced(f->reflector, 20000 * MS));
    assert_true(seen_has(&f->seen, "ADDED shop/a"));
    assert_true(seen_has(&f->seen, "ADDED shop/b"));
    assert_int_equal(k8s_reflector_store_size(f->reflector), 2);
    assert_string_equal(f->api.requests[0], "GET /api/v1/pods?limit=500&resourceVersion=0");
    assert_string_equal(f->api.authorization, "Bearer secret-token");
    wait_request(f, 1,
                 "GET /api/v1/pods?allowWatchBookmarks=true&resourceVersion=10&"
                 "timeoutSeconds=300..599&watch=true");
    api_queue_event(&f->api, "MODIFIED", "a", "11");
    api_queue_event(&f->api, "ADDED", "c", "12");
    api_queue_event(&f->api, "DELETED", "b", "13");
    api_queue_event(&f->api, "BOOKMARK", "", "14");
    wait_seen(f, "DELETED shop/b");
    assert_true(seen_has(&f->seen, "MODIFIED shop/a"));
    assert_true(seen_has(&f->seen, "ADDED shop/c"));
    assert_int_equal(k8s_reflector_store_size(f->reflector), 2);
    /* The server ends the watch (its timeoutSeconds): reopened at once from the bookmark. */
    pthread_mutex_lock(&f->api.lock);
    f->api.end_watch = true;
    pthread_cond_broadcast(&f->api.changed);
    pthread_mutex_unlock(&f->api.lock);
    wait_request(f, 2, "GET /api/v1/pods?allowWatchBookmarks=true&resourceVersion=14&");
    assert_int_equal(api_find_request(&f->api, 1, "GET /api/v1/pods?limit"), -1);
}

/* A 410 ERROR event ends the watch; the informer lists again from the last version it saw, and
 * what the new list no longer holds is delivered as deleted. */
static void test_expired_watch_relists(void **state)
{
    struct fixture *f = *state;
    api_set_list(&f->api, 200, two_pods, "10");
    start_reflector(f);
    assert_true(k8s_reflector_wait_synced(f->reflector, 20000 * MS));
    wait_request(f, 1, "GET /api/v1/pods?allowWatchBookmarks=true&resourceVersion=10&");
    api_set_list(&f->api, 200,
                 "[{\"metadata\":{\"name\":\"a\",\"namespace\":\"shop\",\"uid\":\"uid-a\","
                 "\"resourceVersion\":\"20\"}}]",
                 "20");
    api_queue_event(&f->api, "ERROR", "", "10");
    int relist = wait_request(f, 2, "GET /api/v1/pods?limit=500&resourceVersion=10");
    wait_seen(f, "DELETED shop/b");
    assert_true(seen_has(&f->seen, "MODIFIED shop/a"));
    wait_request(f, (size_t)relist,
                 "GET /api/v1/pods?allowWatchBookmarks=true&resourceVersion=20&");
    assert_int_equal(k8s_reflector_store_size(f->reflector), 1);
}

struct count_wait {
    struct fixture *f;
    size_t count;
};

static bool enough_requests(void *ctx)
{
    struct count_wait *w = ctx;
    pthread_mutex_lock(&w->f->api.lock);
    bool done = w->f->api.request_count >= w->count;
    pthread_mutex_unlock(&w->f->api.lock);
    return done;
}

/* A 403 never syncs and never stops the informer: it lists again after each backoff, and syncs
 * as soon as the grant arrives. */
static void test_forbidden_list_retries_until_granted(void **state)
{
    struct fixture *f = *state;
    api_set_list(&f->api, 403, "[]", "1");
    start_reflector(f);
    struct count_wait w = {f, 3};
    assert_true(poll_until_or_say(enough_requests, &w, 20000, "three list attempts"));
    assert_false(k8s_reflector_wait_synced(f->reflector, 0));
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(f->api.requests[i], "GET /api/v1/pods?limit=500&resourceVersion=0");
    api_set_list(&f->api, 200, two_pods, "30");
    assert_true(k8s_reflector_wait_synced(f->reflector, 20000 * MS));
    assert_true(seen_has(&f->seen, "ADDED shop/b"));
}

/* Pages are followed with `continue` and no resourceVersion, as client-go's pager does; the
 * namespace and selectors go into every request. */
static void test_paged_list_with_selectors(void **state)
{
    struct fixture *f = *state;
    snprintf(f->informer.namespace, sizeof(f->informer.namespace), "shop");
    snprintf(f->informer.field_selector, sizeof(f->informer.field_selector),
             "spec.nodeName=kind-worker");
    snprintf(f->informer.label_selector, sizeof(f->informer.label_selector), "app=web");
    f->api.page_once = true;
    api_set_list(&f->api, 200, two_pods, "40");
    start_reflector(f);
    assert_true(k8s_reflector_wait_synced(f->reflector, 20000 * MS));
    assert_string_equal(f->api.requests[0],
                        "GET /api/v1/namespaces/shop/pods?fieldSelector=spec.nodeName=kind-"
                        "worker&labelSelector=app=web&limit=500&resourceVersion=0");
    assert_string_equal(f->api.requests[1],
                        "GET /api/v1/namespaces/shop/pods?continue=page-2&fieldSelector="
                        "spec.nodeName=kind-worker&labelSelector=app=web&limit=500");
    assert_int_equal(k8s_reflector_store_size(f->reflector), 2);
}

/* A watch refused with a Status (a 500 whose body ends in a newline, like an event) is a failed
 * watch, not an event to decode: the informer backs off and lists again. */
static void test_refused_watch_lists_again(void **state)
{
    struct fixture *f = *state;
    /* The log goes to fd 2 (one write(2) a line): catch it in a file. */
    char log_path[300];
    snprintf(log_path, sizeof(log_path), "%s/k8s-client-log-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    int log_fd = mkstemp(log_path);
    assert_true(log_fd >= 0);
    int saved_stderr = dup(2);
    dup2(log_fd, 2);
    f->api.watch_status = 500;
    api_set_list(&f->api, 200, two_pods, "10");
    start_reflector(f);
    assert_true(k8s_reflector_wait_synced(f->reflector, 20000 * MS));
    int watch = wait_request(f, 1, "GET /api/v1/pods?allowWatchBookmarks=true&resourceVersion=10&");
    /* the relist starts from the version the informer had */
    wait_request(f, (size_t)watch + 1, "GET /api/v1/pods?limit=500&resourceVersion=10");
    assert_int_equal(k8s_reflector_store_size(f->reflector), 2);
    assert_false(seen_has(&f->seen, "DELETED shop/a"));
    k8s_reflector_stop(f->reflector);
    f->reflector = NULL;
    dup2(saved_stderr, 2);
    close(saved_stderr);
    char logged[8192] = "";
    ssize_t n = pread(log_fd, logged, sizeof(logged) - 1, 0);
    close(log_fd);
    unlink(log_path);
    logged[n > 0 ? n : 0] = '\0';
    assert_non_null(strstr(logged, "Failed to watch *v1.Pod: Internal error occurred: etcd "
                                   "unavailable"));
    assert_null(strstr(logged, "unable to decode"));
}

/* The list body is walked member by member, one item decoded at a time: members in any order,
 * white space anywhere, strings that look like keys, an unknown member holding an object. */
static void test_list_body_in_any_order(void **state)
{
    struct fixture *f = *state;
    f->api.raw_list =
        "{\n  \"items\" : [\n    {\"metadata\": {\"name\": \"a\", \"namespace\": \"shop\", "
        "\"annotations\": {\"note\": \"\\\"items\\\": [], metadata\"}}} ,\n"
        "    {\"metadata\":{\"name\":\"b\",\"namespace\":\"shop\"}}\n  ] ,\n"
        "  \"kind\": \"PodList\", \"extra\": {\"items\": [1, 2]}, \"count\": 2,\n"
        "  \"metadata\": {\"resourceVersion\": \"77\"}, \"apiVersion\": \"v1\"\n}\n";
    start_reflector(f);
    assert_true(k8s_reflector_wait_synced(f->reflector, 20000 * MS));
    assert_true(seen_has(&f->seen, "ADDED shop/a"));
    assert_true(seen_has(&f->seen, "ADDED shop/b"));
    assert_int_equal(k8s_reflector_store_size(f->reflector), 2);
    wait_request(f, 1, "GET /api/v1/pods?allowWatchBookmarks=true&resourceVersion=77&");
}

/* ---- where it connects ---- */

static char scratch[256];

static const char *scratch_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", scratch, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

static int config_setup(void **state)
{
    (void)state;
    snprintf(scratch, sizeof(scratch), "%s/k8s-client-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(scratch));
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    unsetenv("OTELCOL_REF_SERVICEACCOUNT_DIR");
    unsetenv("KUBECONFIG");
    return 0;
}

static int config_teardown(void **state)
{
    (void)state;
    char command[600];
    snprintf(command, sizeof(command), "rm -rf '%s'", scratch);
    assert_int_equal(system(command), 0);
    return 0;
}

static void test_service_account_needs_the_service_env(void **state)
{
    (void)state;
    struct k8s_api_config c;
    struct error err = {0};
    assert_true(k8s_api_config_load("serviceAccount", NULL, &c, &err) < 0);
    assert_string_equal(err.message, "unable to load k8s config, KUBERNETES_SERVICE_HOST and "
                                     "KUBERNETES_SERVICE_PORT must be defined");
}

static void test_service_account_reads_token_and_ca(void **state)
{
    (void)state;
    scratch_file("token", "  tok-123\n");
    scratch_file("ca.crt", "-----BEGIN CERTIFICATE-----\n");
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
    setenv("OTELCOL_REF_SERVICEACCOUNT_DIR", scratch, 1);
    struct k8s_api_config c;
    struct error err = {0};
    assert_int_equal(k8s_api_config_load(NULL, NULL, &c, &err), 0);
    assert_string_equal(c.server, "https://[fd00::1]:6443");
    assert_string_equal(c.token, "tok-123");
    assert_non_null(strstr(c.ca_file, "/ca.crt"));
    assert_false(c.insecure);
    k8s_api_config_free(&c);
    /* auth_type none: same host, no token, no verification. */
    assert_int_equal(k8s_api_config_load("none", NULL, &c, &err), 0);
    assert_null(c.token);
    assert_true(c.insecure);
    k8s_api_config_free(&c);
    /* No token file: Go's os.ReadFile error. */
    char path[600];
    snprintf(path, sizeof(path), "%s/token", scratch);
    unlink(path);
    assert_true(k8s_api_config_load("serviceAccount", NULL, &c, &err) < 0);
    assert_non_null(strstr(err.message, "/token: No such file or directory"));
}

static void test_kubeconfig_context_and_relative_paths(void **state)
{
    (void)state;
    scratch_file("token-file", "from-file\n");
    const char *path = scratch_file(
        "config", "apiVersion: v1\nkind: Config\ncurrent-context: one\n"
                  "clusters:\n"
                  "- {name: c1, cluster: {server: 'https://127.0.0.1:1/', certificate-authority: "
                  "ca.pem}}\n"
                  "- {name: c2, cluster: {server: 'http://127.0.0.1:2', "
                  "insecure-skip-tls-verify: true}}\n"
                  "users:\n"
                  "- {name: u1, user: {token: abc}}\n"
                  "- {name: u2, user: {tokenFile: token-file, client-certificate-data: "
                  "aGVsbG8=}}\n"
                  "contexts:\n"
                  "- {name: one, context: {cluster: c1, user: u1}}\n"
                  "- {name: two, context: {cluster: c2, user: u2}}\n");
    char list[1200];
    snprintf(list, sizeof(list), "%s/missing:%s", scratch, path);
    setenv("KUBECONFIG", list, 1);
    struct k8s_api_config c;
    struct error err = {0};
    assert_int_equal(k8s_api_config_load("kubeConfig", NULL, &c, &err), 0);
    assert_string_equal(c.server, "https://127.0.0.1:1");
    assert_string_equal(c.token, "abc");
    char ca[600];
    snprintf(ca, sizeof(ca), "%s/ca.pem", scratch);
    assert_string_equal(c.ca_file, ca);
    k8s_api_config_free(&c);
    assert_int_equal(k8s_api_config_load("kubeConfig", "two", &c, &err), 0);
    assert_string_equal(c.server, "http://127.0.0.1:2");
    assert_string_equal(c.token, "from-file");
    assert_string_equal(c.cert_pem, "hello");
    assert_true(c.insecure);
    k8s_api_config_free(&c);
    assert_true(k8s_api_config_load("kubeConfig", "three", &c, &err) < 0);
    assert_string_equal(err.message, "invalid configuration: context was not found for "
                                     "specified context: three");
    setenv("KUBECONFIG", "/nonexistent/kubeconfig", 1);
    assert_true(k8s_api_config_load("kubeConfig", NULL, &c, &err) < 0);
    assert_non_null(strstr(err.message, "no configuration has been provided"));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest reflector_tests[] = {
        cmocka_unit_test_setup_teardown(test_lists_then_watches_from_the_list_version, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_expired_watch_relists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forbidden_list_retries_until_granted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paged_list_with_selectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_watch_lists_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_body_in_any_order, setup, teardown),
    };
    const struct CMUnitTest config_tests[] = {
        cmocka_unit_test_setup_teardown(test_service_account_needs_the_service_env, config_setup,
                                        config_teardown),
        cmocka_unit_test_setup_teardown(test_service_account_reads_token_and_ca, config_setup,
                                        config_teardown),
        cmocka_unit_test_setup_teardown(test_kubeconfig_context_and_relative_paths, config_setup,
                                        config_teardown),
    };
    int failed = cmocka_run_group_tests_name("reflector", reflector_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("kube_config", config_tests, NULL, NULL);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
