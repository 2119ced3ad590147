/*
 * test_k8s_api_writes.c - the fake Kubernetes API's writes beyond create/update/delete, end to
 * end over HTTP: PATCH in its three forms (what changes, the resourceVersion, generation,
 * MODIFIED event, audit and RBAC verb, and that a failed patch changes nothing), the status
 * subresource, deletecollection, Tables for list/get/watch, the OpenAPI v3 documents, and the
 * control API's Kubernetes faults (500s, cut watches) and pod phases.
 *
 * One otel-fakes serves the whole group (starting one is the costly part under valgrind); each
 * test works in a namespace of its own, so they do not see each other's objects.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "fakes.h"
#include "grpc_group.h"
#include "http_client.h"
#include "k8s_api.h"
#include "poll_until.h"

#define TABLE_ACCEPT                                                                               \
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"            \
    "g=meta.k8s.io,application/json"
#define MERGE "application/merge-patch+json"
#define STRATEGIC "application/strategic-merge-patch+json"
#define JSON_PATCH "application/json-patch+json"
#define GENERIC_422 "the server rejected our request due to an error in our request"

static const char cluster[] =
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"
    "metadata: {name: pod-reader, namespace: rbac}\n"
    "rules: [{apiGroups: [''], resources: [pods], verbs: [get, list, watch]}]\n"
    "---\n"
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
    "metadata: {name: reader, namespace: rbac}\n"
    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}\n"
    "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: reader}]\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: rbac}\n"
    "spec: {containers: [{name: app, image: nginx}]}\n";

struct fixture {
    struct fakes *f;
    int api, control;
    char admin[64];
    char reader[64];
};

static struct fixture *fx;

/* One request with an optional body type and Accept; `token` NULL: none. */
static void http(const char *method, int port, const char *path, const char *token,
                 const char *content_type, const char *accept, const char *body, struct reply *r)
{
    char auth[128], type[128], acc[256];
    const char *headers[4] = {NULL, NULL, NULL, NULL};
    size_t n = 0;
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    snprintf(type, sizeof(type), "Content-Type: %s",
             content_type ? content_type : "application/json");
    headers[n++] = type;
    if (accept) {
        snprintf(acc, sizeof(acc), "Accept: %s", accept);
        headers[n++] = acc;
    }
    http_request_to(method, port, path, headers, body, 60, r);
    assert_int_equal(r->rc, CURLE_OK);
}

/* The JSON answer of a request to the API as admin, its status checked; caller decrefs. */
static json_t *api_json(const char *method, const char *path, const char *content_type,
                        const char *body, long want)
{
    struct reply r;
    http(method, fx->api, path, fx->admin, content_type, NULL, body, &r);
    json_t *j = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
    if (r.status != want || !j)
        fail_msg("%s %s answered %ld (want %ld): %s", method, path, r.status, want,
                 r.body ? r.body : "");
    free(r.body);
    return j;
}

static json_t *control(const char *method, const char *path, const char *body, long want)
{
    struct reply r;
    http(method, fx->control, path, NULL, NULL, NULL, body, &r);
    json_t *j = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
    if (r.status != want || !j)
        fail_msg("control %s %s answered %ld (want %ld): %s", method, path, r.status, want,
                 r.body ? r.body : "");
    free(r.body);
    return j;
}

static void apply(const char *objects)
{
    json_decref(control("POST", "/v1/k8s/objects", objects, 200));
}

static const char *text_at(const json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s ? s : "";
}

static const char *meta_text(const json_t *object, const char *key)
{
    return text_at(json_object_get(object, "metadata"), key);
}

static json_int_t generation_of(const json_t *object)
{
    return json_integer_value(json_object_get(json_object_get(object, "metadata"), "generation"));
}

/* A watch read until `needle` has come `count` times: the client leaves then, so a test waits
 * for no timeout. */
struct watch_read {
    const char *needle;
    int count;
    char *text;
    size_t len;
};

static int occurrences(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static size_t on_watch_body(char *data, size_t size, size_t n, void *ctx)
{
    struct watch_read *w = ctx;
    char *grown = realloc(w->text, w->len + size * n + 1);
    if (!grown)
        return 0;
    memcpy(grown + w->len, data, size * n);
    w->text = grown;
    w->len += size * n;
    w->text[w->len] = '\0';
    return occurrences(w->text, w->needle) >= w->count ? 0 : size * n; /* 0: leave */
}

/* The events of a watch of `path` from `rv` up to the `count`th `needle`. Caller frees. */
static char *watch_until(const char *path, const char *rv, const char *accept, const char *needle,
                         int count)
{
    char url[512], auth[128], acc[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s?watch=1&resourceVersion=%s", fx->api, path,
             rv);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", fx->admin);
    snprintf(acc, sizeof(acc), "Accept: %s", accept ? accept : "application/json");
    struct curl_slist *headers = curl_slist_append(curl_slist_append(NULL, auth), acc);
    struct watch_read w = {.needle = needle, .count = count};
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_watch_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &w);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_WRITE_ERROR)
        fail_msg("watch %s ended (%d) before %d x %s: %s", url, rc, count, needle,
                 w.text ? w.text : "");
    return w.text;
}

static char *list_rv(const char *path)
{
    json_t *list = api_json("GET", path, NULL, NULL, 200);
    char *rv = strdup(meta_text(list, "resourceVersion"));
    json_decref(list);
    return rv;
}

/* The Status of a refused request: code, reason ("" when absent) and message checked. */
static void expect_status(const char *method, const char *path, const char *token,
                          const char *content_type, const char *body, long code, const char *reason,
                          const char *message)
{
    struct reply r;
    http(method, fx->api, path, token, content_type, NULL, body, &r);
    json_t *s = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
    if (r.status != code || !s || strcmp(text_at(s, "kind"), "Status") ||
        strcmp(text_at(s, "reason"), reason) || (message && strcmp(text_at(s, "message"), message)))
        fail_msg("%s %s: got %ld %s, want %ld %s \"%s\"", method, path, r.status,
                 r.body ? r.body : "", code, reason, message ? message : "...");
    json_decref(s);
    free(r.body);
}

/* ---- setup ---- */

static int setup_group(void **state)
{
    curl_global_init(CURL_GLOBAL_ALL);
    if (grpc_group_setup(state) != 0)
        return -1;
    fx = calloc(1, sizeof(*fx));
    struct fakes_config cfg = {.kubernetes_https_port = -1};
    struct error err = {0};
    fx->f = fakes_new(&cfg, &err);
    if (!fx->f || fakes_listen(fx->f, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.message);
        return -1;
    }
    fx->api = fakes_port(fx->f, "kubernetes");
    fx->control = fakes_port(fx->f, "control");
    json_t *ready = fakes_ready_json(fx->f);
    snprintf(fx->admin, sizeof(fx->admin), "%s",
             json_string_value(json_object_get(ready, "kubernetes_admin_token")));
    json_decref(ready);
    apply(cluster);
    json_t *t = control("POST", "/v1/k8s/tokens", "{\"user\":\"reader\"}", 200);
    snprintf(fx->reader, sizeof(fx->reader), "%s", text_at(t, "token"));
    json_decref(t);
    return 0;
}

static int teardown_group(void **state)
{
    if (fx) {
        fakes_free(fx->f);
        free(fx);
        fx = NULL;
    }
    grpc_group_teardown(state);
    curl_global_cleanup();
    return 0;
}

/* ---- patch ---- */

static void test_merge_patch_changes_labels_with_a_new_rv_an_event_and_an_audit(void **state)
{
    apply("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\",\"namespace\":"
          "\"merge\",\"labels\":{\"a\":\"1\"}},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
    char *rv = list_rv("/api/v1/namespaces/merge/pods");
    json_t *pod = api_json("PATCH", "/api/v1/namespaces/merge/pods/p1", MERGE,
                           "{\"metadata\":{\"labels\":{\"b\":\"2\",\"a\":null}}}", 200);
    json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
    assert_string_equal(text_at(labels, "b"), "2");
    assert_null(json_object_get(labels, "a"));
    assert_true(atoll(meta_text(pod, "resourceVersion")) > atoll(rv));
    json_decref(pod);
    char *events = watch_until("/api/v1/namespaces/merge/pods", rv, NULL, "\"MODIFIED\"", 1);
    assert_non_null(strstr(events, "{\"type\":\"MODIFIED\""));
    assert_non_null(strstr(events, "\"b\":\"2\""));
    free(events);
    free(rv);
    json_t *audit = control("GET", "/v1/k8s/audit", NULL, 200);
    bool seen = false;
    size_t i;
    json_t *e;
    json_array_foreach(audit, i, e)
    {
        seen = seen || (!strcmp(text_at(e, "verb"), "patch") &&
                        !strcmp(text_at(json_object_get(e, "objectRef"), "name"), "p1"));
    }
    assert_true(seen);
    json_decref(audit);
}

static void test_strategic_patch_bumps_generation_and_the_status_patch_does_not(void **state)
{
    apply("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\","
          "\"namespace\":\"smp\"},\"spec\":{\"replicas\":1,\"template\":{\"spec\":{"
          "\"containers\":[{\"name\":\"a\",\"image\":\"x:1\",\"ports\":[{\"containerPort\":80}]},"
          "{\"name\":\"b\",\"image\":\"y:1\"}]}}}}");
    /* what kubectl apply sends for a new image */
    json_t *d = api_json("PATCH", "/apis/apps/v1/namespaces/smp/deployments/d", STRATEGIC,
                         "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{"
                         "\"name\":\"a\"},{\"name\":\"b\"}],\"containers\":[{\"image\":\"x:2\","
                         "\"name\":\"a\"}]}}}}",
                         200);
    assert_int_equal(generation_of(d), 2);
    json_t *containers = json_object_get(
        json_object_get(json_object_get(json_object_get(d, "spec"), "template"), "spec"),
        "containers");
    assert_int_equal(json_array_size(containers), 2);
    assert_string_equal(text_at(json_array_get(containers, 0), "image"), "x:2");
    assert_int_equal(json_array_size(json_object_get(json_array_get(containers, 0), "ports")), 1);
    json_decref(d);
    /* status: only the status changes, and the generation stays */
    d = api_json("PATCH", "/apis/apps/v1/namespaces/smp/deployments/d/status", MERGE,
                 "{\"status\":{\"readyReplicas\":1},\"spec\":{\"replicas\":9}}", 200);
    assert_int_equal(generation_of(d), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "spec"), "replicas")),
                     1);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(d, "status"), "readyReplicas")), 1);
    json_decref(d);
}

static void test_custom_resources_take_merge_but_not_strategic_patches(void **state)
{
    apply(
        "{\"apiVersion\":\"monitoring.coreos.com/v1\",\"kind\":\"ServiceMonitor\",\"metadata\":"
        "{\"name\":\"sm\",\"namespace\":\"crd\"},\"spec\":{\"endpoints\":[{\"port\":\"http\"}]}}");
    const char *path = "/apis/monitoring.coreos.com/v1/namespaces/crd/servicemonitors/sm";
    expect_status("PATCH", path, fx->admin, STRATEGIC, "{}", 415, "UnsupportedMediaType",
                  "the body of the request was in an unknown format - accepted media types "
                  "include: application/json-patch+json, application/merge-patch+json");
    json_t *sm =
        api_json("PATCH", path, MERGE,
                 "{\"spec\":{\"endpoints\":[{\"port\":\"http\",\"interval\":\"15s\"}]}}", 200);
    assert_int_equal(generation_of(sm), 2);
    json_decref(sm);
    sm = api_json("PATCH", path, JSON_PATCH,
                  "[{\"op\":\"add\",\"path\":\"/metadata/labels\",\"value\":{\"team\":\"a\"}}]",
                  200);
    assert_int_equal(generation_of(sm), 2); /* metadata only */
    json_decref(sm);
}

static void test_failed_patches_answer_as_upstream_and_change_nothing(void **state)
{
    apply("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":"
          "\"fail\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
    const char *path = "/api/v1/namespaces/fail/pods/p";
    json_t *before = api_json("GET", path, NULL, NULL, 200);
    expect_status("PATCH", path, fx->admin, JSON_PATCH,
                  "[{\"op\":\"test\",\"path\":\"/metadata/name\",\"value\":\"q\"}]", 422, "Invalid",
                  GENERIC_422);
    expect_status("PATCH", path, fx->admin, MERGE, "{not json", 400, "BadRequest", NULL);
    expect_status("PATCH", path, fx->admin, "text/plain", "{}", 415, "UnsupportedMediaType", NULL);
    expect_status("PATCH", path, fx->admin, MERGE, "{\"metadata\":{\"name\":\"other\"}}", 400,
                  "BadRequest",
                  "the name of the object (other) does not match the name on the URL (p)");
    expect_status("PATCH", path, fx->admin, MERGE, "{\"metadata\":{\"resourceVersion\":\"1\"}}",
                  409, "Conflict", NULL);
    expect_status("PATCH", path, fx->admin, STRATEGIC,
                  "{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}", 500, "",
                  "map: map[image:x] does not contain declared merge key: name");
    size_t big = K8S_API_MAX_BODY + 16;
    char *body = malloc(big + 1);
    assert_non_null(body);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    body[big] = '\0';
    expect_status("PATCH", path, fx->admin, MERGE, body, 413, "RequestEntityTooLarge", NULL);
    free(body);
    expect_status("PATCH", "/api/v1/namespaces/fail/pods/nope", fx->admin, MERGE, "{}", 404,
                  "NotFound", "pods \"nope\" not found");
    json_t *after = api_json("GET", path, NULL, NULL, 200);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
}

static void test_patch_needs_the_patch_verb(void **state)
{
    json_decref(api_json("GET", "/api/v1/namespaces/rbac/pods/p", NULL, NULL, 200));
    expect_status("PATCH", "/api/v1/namespaces/rbac/pods/p", fx->reader, MERGE, "{}", 403,
                  "Forbidden",
                  "pods \"p\" is forbidden: User \"reader\" cannot patch resource \"pods\" in API "
                  "group \"\" in the namespace \"rbac\"");
}

/* ---- deletecollection ---- */

static void test_deletecollection_deletes_what_the_selectors_match(void **state)
{
    apply("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
          "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"w1\",\"namespace\":"
          "\"dc\",\"labels\":{\"app\":\"web\"}}},"
          "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"w2\",\"namespace\":"
          "\"dc\",\"labels\":{\"app\":\"web\"}}},"
          "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"db\",\"namespace\":"
          "\"dc\",\"labels\":{\"app\":\"db\"}}}]}");
    char *rv = list_rv("/api/v1/namespaces/dc/pods");
    json_t *deleted =
        api_json("DELETE", "/api/v1/namespaces/dc/pods?labelSelector=app%3Dweb", NULL, NULL, 200);
    assert_string_equal(text_at(deleted, "kind"), "PodList");
    assert_int_equal(json_array_size(json_object_get(deleted, "items")), 2);
    json_decref(deleted);
    json_t *left = api_json("GET", "/api/v1/namespaces/dc/pods", NULL, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(left, "items")), 1);
    json_decref(left);
    free(watch_until("/api/v1/namespaces/dc/pods", rv, NULL, "{\"type\":\"DELETED\"", 2));
    free(rv);
    expect_status("DELETE", "/api/v1/namespaces/dc/pods?fieldSelector=spec.color%3Dred", fx->admin,
                  NULL, NULL, 400, "BadRequest", "field label not supported: spec.color");
}

/* ---- tables and OpenAPI ---- */

static void test_tables_for_list_get_and_watch(void **state)
{
    char *rv = list_rv("/api/v1/namespaces/tbl/pods");
    apply("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"t1\",\"namespace\":"
          "\"tbl\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\"}]}}");
    json_decref(control("POST", "/v1/k8s/pods/tbl/t1/phase", "{\"phase\":\"Running\"}", 200));
    struct reply r;
    http("GET", fx->api, "/api/v1/namespaces/tbl/pods", fx->admin, NULL, TABLE_ACCEPT, NULL, &r);
    json_t *table = json_loads(r.body, 0, NULL);
    assert_string_equal(text_at(table, "kind"), "Table");
    assert_int_equal(json_array_size(json_object_get(table, "columnDefinitions")), 9);
    json_t *row = json_array_get(json_object_get(table, "rows"), 0);
    json_t *cells = json_object_get(row, "cells");
    assert_string_equal(json_string_value(json_array_get(cells, 0)), "t1");
    assert_string_equal(json_string_value(json_array_get(cells, 1)), "1/1");
    assert_string_equal(json_string_value(json_array_get(cells, 2)), "Running");
    assert_string_equal(text_at(json_object_get(row, "object"), "kind"), "PartialObjectMetadata");
    json_decref(table);
    free(r.body);

    http("GET", fx->api, "/api/v1/namespaces/tbl/pods/t1", fx->admin, NULL, TABLE_ACCEPT, NULL, &r);
    table = json_loads(r.body, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(table, "rows")), 1);
    json_decref(table);
    free(r.body);

    http("GET", fx->api, "/api/v1/namespaces/tbl/pods?includeObject=Bogus", fx->admin, NULL,
         TABLE_ACCEPT, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "unrecognized includeObject value: \\\"Bogus\\\""));
    free(r.body);

    /* kubectl get -w: Tables, column definitions on the first event only */
    char *events = watch_until("/api/v1/namespaces/tbl/pods", rv, TABLE_ACCEPT, "\"MODIFIED\"", 1);
    char *second = strchr(events, '\n');
    assert_non_null(second);
    *second++ = '\0';
    json_t *added = json_loads(events, 0, NULL),
           *modified = json_loads(second, JSON_DISABLE_EOF_CHECK, NULL);
    assert_string_equal(text_at(added, "type"), "ADDED");
    json_t *object = json_object_get(added, "object");
    assert_string_equal(text_at(object, "kind"), "Table");
    assert_true(json_is_array(json_object_get(object, "columnDefinitions")));
    assert_string_equal(text_at(modified, "type"), "MODIFIED");
    assert_true(
        json_is_null(json_object_get(json_object_get(modified, "object"), "columnDefinitions")));
    json_decref(added);
    json_decref(modified);
    free(events);
    free(rv);
}

static void test_openapi_v3_is_served(void **state)
{
    json_t *root = api_json("GET", "/openapi/v3", NULL, NULL, 200);
    const char *url = text_at(json_object_get(json_object_get(root, "paths"), "apis/apps/v1"),
                              "serverRelativeURL");
    json_t *doc = api_json("GET", url, NULL, NULL, 200);
    assert_non_null(json_object_get(json_object_get(doc, "paths"),
                                    "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"));
    json_decref(doc);
    json_decref(root);
}

/* ---- control: faults and pod phases ---- */

static void test_fault_answers_internal_errors_then_clears(void **state)
{
    json_decref(control("PUT", "/v1/faults/kubernetes", "{\"status\":500,\"times\":2}", 200));
    for (int i = 0; i < 2; i++)
        expect_status("GET", "/api/v1/namespaces/rbac/pods", fx->admin, NULL, NULL, 500,
                      "InternalError", "Internal error occurred: " K8S_API_FAULT_CAUSE);
    json_decref(api_json("GET", "/api/v1/namespaces/rbac/pods", NULL, NULL, 200));
    json_decref(control("DELETE", "/v1/faults/kubernetes", NULL, 200));
    json_t *e = control("PUT", "/v1/faults/loki", "{\"cut_watches\":true}", 400);
    assert_string_equal(text_at(e, "error"), "fake loki has no watches to cut");
    json_decref(e);
}

struct open_watch {
    pthread_t thread;
    char url[256];
    atomic_size_t received;
    CURLcode rc;
};

static size_t on_watch_bytes(char *data, size_t size, size_t n, void *ctx)
{
    struct open_watch *w = ctx;
    atomic_fetch_add(&w->received, size * n);
    return size * n;
}

static void *watch_thread(void *ctx)
{
    struct open_watch *w = ctx;
    CURL *curl = curl_easy_init();
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", fx->admin);
    struct curl_slist *headers = curl_slist_append(NULL, auth);
    curl_easy_setopt(curl, CURLOPT_URL, w->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_watch_bytes);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    w->rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return NULL;
}

static bool watch_got_bytes(void *ctx)
{
    struct open_watch *w = ctx;
    return atomic_load(&w->received) > 0;
}

static void test_cut_watches_drops_every_open_watch(void **state)
{
    struct open_watch w = {.rc = CURLE_OK};
    snprintf(w.url, sizeof(w.url), "http://127.0.0.1:%d/api/v1/namespaces/rbac/pods?watch=1",
             fx->api);
    assert_int_equal(pthread_create(&w.thread, NULL, watch_thread, &w), 0);
    if (!poll_until(watch_got_bytes, &w, 20000))
        fail_msg("the watch never sent its ADDED event");
    json_t *view = control("PUT", "/v1/faults/kubernetes", "{\"cut_watches\":true}", 200);
    /* ours, and those of earlier tests whose clients left but not yet noticed by the server */
    assert_true(json_integer_value(json_object_get(view, "watches_cut")) >= 1);
    assert_false(json_is_true(json_object_get(view, "active"))); /* nothing per request */
    json_decref(view);
    pthread_join(w.thread, NULL);
    assert_int_not_equal(w.rc, CURLE_OK); /* cut, not a complete body */
    assert_int_not_equal(w.rc, CURLE_OPERATION_TIMEDOUT);
    free(
        watch_until("/api/v1/namespaces/rbac/pods", "0", NULL, "\"ADDED\"", 1)); /* new ones work */
}

static void test_pod_phase_moves_status_as_a_kubelet_would(void **state)
{
    apply("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"ph\",\"namespace\":"
          "\"phase\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"a\",\"image\":"
          "\"i\"},{\"name\":\"b\",\"image\":\"j\"}]},\"status\":{\"conditions\":[{\"type\":"
          "\"example.com/gate\",\"status\":\"True\"}]}}");
    json_t *pod = control("POST", "/v1/k8s/pods/phase/ph/phase", "{\"phase\":\"Pending\"}", 200);
    json_t *status = json_object_get(pod, "status");
    assert_string_equal(text_at(status, "phase"), "Pending");
    json_t *ready = json_array_get(json_object_get(status, "conditions"), 2);
    assert_string_equal(text_at(ready, "type"), "Ready");
    assert_string_equal(text_at(ready, "reason"), "ContainersNotReady");
    assert_string_equal(text_at(ready, "message"), "containers with unready status: [a b]");
    json_decref(pod);

    pod = control("POST", "/v1/k8s/pods/phase/ph/phase", "{\"phase\":\"Running\"}", 200);
    status = json_object_get(pod, "status");
    ready = json_array_get(json_object_get(status, "conditions"), 2);
    assert_string_equal(text_at(ready, "status"), "True");
    json_t *b = json_array_get(json_object_get(status, "containerStatuses"), 1);
    assert_true(json_is_true(json_object_get(b, "ready")));
    assert_non_null(json_object_get(json_object_get(b, "state"), "running"));
    assert_non_null(json_object_get(status, "startTime"));
    json_t *gate = json_array_get(json_object_get(status, "conditions"), 5); /* not the kubelet's */
    assert_string_equal(text_at(gate, "type"), "example.com/gate");
    json_decref(pod);

    pod = control("POST", "/v1/k8s/pods/phase/ph/phase", "{\"phase\":\"Succeeded\"}", 200);
    status = json_object_get(pod, "status");
    ready = json_array_get(json_object_get(status, "conditions"), 2);
    assert_string_equal(text_at(ready, "status"), "False");
    assert_string_equal(text_at(ready, "reason"), "PodCompleted");
    json_t *terminated = json_object_get(
        json_object_get(json_array_get(json_object_get(status, "containerStatuses"), 0), "state"),
        "terminated");
    assert_string_equal(text_at(terminated, "reason"), "Completed");
    assert_int_equal(json_integer_value(json_object_get(terminated, "exitCode")), 0);
    json_decref(pod);

    json_decref(control("POST", "/v1/k8s/pods/phase/ph/phase", "{\"phase\":\"Sleeping\"}", 400));
    json_decref(control("POST", "/v1/k8s/pods/phase/none/phase", "{\"phase\":\"Running\"}", 404));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_patch_changes_labels_with_a_new_rv_an_event_and_an_audit),
        cmocka_unit_test(test_strategic_patch_bumps_generation_and_the_status_patch_does_not),
        cmocka_unit_test(test_custom_resources_take_merge_but_not_strategic_patches),
        cmocka_unit_test(test_failed_patches_answer_as_upstream_and_change_nothing),
        cmocka_unit_test(test_patch_needs_the_patch_verb),
        cmocka_unit_test(test_deletecollection_deletes_what_the_selectors_match),
        cmocka_unit_test(test_tables_for_list_get_and_watch),
        cmocka_unit_test(test_openapi_v3_is_served),
        cmocka_unit_test(test_fault_answers_internal_errors_then_clears),
        cmocka_unit_test(test_cut_watches_drops_every_open_watch),
        cmocka_unit_test(test_pod_phase_moves_status_as_a_kubelet_would),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
