/*
 * test_k8s_api.c - the fake Kubernetes API end to end: otel-fakes started in-process on
 * ephemeral ports, the repository's seed RBAC (kind/manifests/rbac-seed.yaml), a few pods and a
 * ReplicaSet applied through the control API, then real HTTP with libcurl as the collector's
 * service account: discovery, lists with selectors, the 403 the seed RBAC gives for ReplicaSets,
 * the audit log, watches (live events, 410, a clean stop with a watch open), SelfSubjectAccess-
 * Review, and the 400/401 answers.
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
#include <strings.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "fakes.h"
#include "grpc_group.h"
#include "http_client.h"
#include "k8s_resources.h"
#include "k8s_selector.h"
#include "poll_until.h"

/* Watch events the fake keeps per type in these tests (the default is 1000). */
#define WATCH_HISTORY 16

#define COLLECTOR_SA "system:serviceaccount:opentelemetry:otel-collector-collector"

static const char workloads[] =
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-1\n  namespace: shop\n"
    "  labels: {app: web}\nspec: {nodeName: kind-worker}\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-2\n  namespace: shop\n"
    "  labels: {app: web}\nspec: {nodeName: kind-control-plane}\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: db-1\n  namespace: shop\n"
    "  labels: {app: db}\nspec: {nodeName: kind-worker}\n"
    "---\n"
    "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-6d4cf56db6\n"
    "  namespace: shop\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n";

struct fixture {
    struct fakes *f;
    int api, control;
    char admin[64];
    char collector[64]; /* the collector's service-account token */
};

/* One request; `token` and `accept` may be NULL. */
static void http(const char *method, int port, const char *path, const char *token,
                 const char *accept, const char *body, struct reply *r)
{
    char auth[256], acc[256];
    const char *headers[4] = {"Content-Type: application/json", NULL, NULL, NULL};
    size_t n = 1;
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    if (accept) {
        snprintf(acc, sizeof(acc), "Accept: %s", accept);
        headers[n++] = acc;
    }
    http_request_to(method, port, path, headers, body, 60, r);
    assert_int_equal(r->rc, CURLE_OK);
}

/* The request's JSON answer with its status checked; caller decrefs. */
static json_t *call_json(const char *method, int port, const char *path, const char *token,
                         const char *body, long want_status)
{
    struct reply r;
    http(method, port, path, token, NULL, body, &r);
    json_t *j = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
    if (r.status != want_status || !j)
        fail_msg("%s %s answered %ld (want %ld): %s", method, path, r.status, want_status,
                 r.body ? r.body : "");
    free(r.body);
    return j;
}

static json_t *control(struct fixture *fx, const char *method, const char *path, const char *body,
                       long want_status)
{
    return call_json(method, fx->control, path, NULL, body, want_status);
}

static char *read_source_file(const char *relative)
{
    const char *root = getenv("OTEL_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root ? root : "..", relative);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *text = calloc(1, 1 << 20);
    assert_non_null(text);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static void make_token(struct fixture *fx, const char *request, char *out, size_t size)
{
    json_t *j = control(fx, "POST", "/v1/k8s/tokens", request, 200);
    snprintf(out, size, "%s", json_string_value(json_object_get(j, "token")));
    json_decref(j);
}

/* The fakes with the objects, and the HTTPS front only when `https` (making its certificate is
 * the most costly part of a start under valgrind). */
static int setup_fakes(void **state, bool https)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    struct fakes_config cfg = {.prometheus_otlp_enabled = true,
                               .kubernetes_https_port = https ? 0 : -1,
                               .kubernetes_watch_history = WATCH_HISTORY};
    struct error err = {0};
    fx->f = fakes_new(&cfg, &err);
    if (!fx->f || fakes_listen(fx->f, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.message);
        fakes_free(fx->f);
        free(fx);
        return -1;
    }
    fx->api = fakes_port(fx->f, "kubernetes");
    fx->control = fakes_port(fx->f, "control");
    json_t *ready = fakes_ready_json(fx->f);
    snprintf(fx->admin, sizeof(fx->admin), "%s",
             json_string_value(json_object_get(ready, "kubernetes_admin_token")));
    json_decref(ready);
    char *seed = read_source_file("kind/manifests/rbac-seed.yaml");
    json_decref(control(fx, "POST", "/v1/k8s/objects", seed, 200));
    free(seed);
    json_decref(control(fx, "POST", "/v1/k8s/objects", workloads, 200));
    make_token(fx, "{\"user\":\"" COLLECTOR_SA "\"}", fx->collector, sizeof(fx->collector));
    *state = fx;
    return 0;
}

static int setup(void **state)
{
    return setup_fakes(state, false);
}

static int setup_https(void **state)
{
    return setup_fakes(state, true);
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    fakes_free(fx->f);
    free(fx);
    return 0;
}

static const char *string_at(const json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s ? s : "";
}

/* ---- discovery ---- */

static void test_discovery_aggregated_when_accept_asks_else_legacy(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    http("GET", fx->api, "/apis", fx->collector,
         "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
         "application/json",
         NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, K8S_AGGREGATED_DISCOVERY_TYPE);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_string_equal(string_at(j, "kind"), "APIGroupDiscoveryList");
    json_decref(j);
    free(r.body);

    json_t *legacy = call_json("GET", fx->api, "/api", fx->collector, NULL, 200);
    assert_string_equal(string_at(legacy, "kind"), "APIVersions");
    json_decref(legacy);
    legacy = call_json("GET", fx->api, "/apis", fx->collector, NULL, 200);
    assert_string_equal(string_at(legacy, "kind"), "APIGroupList");
    json_decref(legacy);
    legacy = call_json("GET", fx->api, "/apis/apps/v1", fx->collector, NULL, 200);
    assert_string_equal(string_at(legacy, "kind"), "APIResourceList");
    assert_string_equal(string_at(legacy, "groupVersion"), "apps/v1");
    json_decref(legacy);
}

static void test_unknown_paths_are_404_as_upstream(void **state)
{
    struct fixture *fx = *state;
    const char *plain[] = {"/apis/nothing.example.com/v1", "/openapi/v2",
                           "/openapi/v3/apis/nothing.example.com/v1"};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        struct reply r;
        http("GET", fx->api, plain[i], fx->admin, NULL, NULL, &r);
        assert_int_equal(r.status, 404);
        assert_string_equal(r.body, "404 page not found\n");
        free(r.body);
    }
    json_t *s = call_json("GET", fx->api, "/api/v1/widgets", fx->admin, NULL, 404);
    assert_string_equal(string_at(s, "message"),
                        "the server could not find the requested resource");
    json_decref(s);
    struct reply r;
    http("GET", fx->api, "/healthz", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    free(r.body);
}

/* ---- authentication and authorization ---- */

static void test_no_or_unknown_token_is_401(void **state)
{
    struct fixture *fx = *state;
    const char *tokens[] = {NULL, "not-a-token"};
    for (size_t i = 0; i < 2; i++) {
        json_t *s = call_json("GET", fx->api, "/api/v1/pods", tokens[i], NULL, 401);
        assert_string_equal(string_at(s, "message"), "Unauthorized");
        assert_string_equal(string_at(s, "reason"), "Unauthorized");
        json_decref(s);
    }
}

/* The same API over HTTPS, verified with the certificate the control API hands out (what a
 * kubeconfig's certificate-authority-data holds): kubectl and client-go send bearer tokens only
 * over TLS. */
static void test_https_front_verifies_with_the_control_apis_ca(void **state)
{
    struct fixture *fx = *state;
    struct reply ca;
    http("GET", fx->control, "/v1/tls/ca.crt", NULL, NULL, NULL, &ca);
    assert_int_equal(ca.status, 200);
    assert_string_equal(ca.content_type, "application/x-pem-file");
    assert_non_null(strstr(ca.body, "-----BEGIN CERTIFICATE-----"));
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    char url[128], auth[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/v1/namespaces/shop/pods",
             fakes_port(fx->f, "kubernetes_https"));
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", fx->collector);
    struct curl_slist *headers = curl_slist_append(NULL, auth);
    struct curl_blob blob = {ca.body, ca.len, CURL_BLOB_COPY};
    struct reply r = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, reply_on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    assert_int_equal(curl_easy_perform(curl), CURLE_OK);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"kind\":\"PodList\""));
    free(r.body);
    free(ca.body);
}

static void test_seed_rbac_lists_pods_and_forbids_replicasets(void **state)
{
    struct fixture *fx = *state;
    json_t *list = call_json("GET", fx->api, "/api/v1/pods", fx->collector, NULL, 200);
    assert_string_equal(string_at(list, "kind"), "PodList");
    assert_string_equal(string_at(list, "apiVersion"), "v1");
    assert_int_equal(json_array_size(json_object_get(list, "items")), 3);
    assert_null(json_object_get(json_array_get(json_object_get(list, "items"), 0), "kind"));
    json_decref(list);

    json_t *s = call_json("GET", fx->api, "/apis/apps/v1/replicasets", fx->collector, NULL, 403);
    assert_string_equal(string_at(s, "message"),
                        "replicasets.apps is forbidden: User \"" COLLECTOR_SA
                        "\" cannot list resource \"replicasets\" in API group \"apps\" at the "
                        "cluster scope");
    assert_string_equal(string_at(s, "reason"), "Forbidden");
    json_decref(s);

    /* The admin token may do what the seed RBAC does not grant. */
    list = call_json("GET", fx->api, "/apis/apps/v1/replicasets", fx->admin, NULL, 200);
    assert_string_equal(string_at(list, "kind"), "ReplicaSetList");
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    json_decref(list);
}

static void test_audit_shows_decisions_and_reasons(void **state)
{
    struct fixture *fx = *state;
    json_decref(control(fx, "DELETE", "/v1/k8s/audit", NULL, 200));
    json_decref(call_json("GET", fx->api, "/api/v1/pods", fx->collector, NULL, 200));
    json_decref(call_json("GET", fx->api, "/apis/apps/v1/replicasets", fx->collector, NULL, 403));
    json_t *audit = control(fx, "GET", "/v1/k8s/audit", NULL, 200);
    assert_int_equal(json_array_size(audit), 2);
    json_t *allowed = json_array_get(audit, 0), *forbidden = json_array_get(audit, 1);
    assert_string_equal(string_at(allowed, "verb"), "list");
    assert_string_equal(string_at(json_object_get(allowed, "user"), "username"), COLLECTOR_SA);
    assert_string_equal(string_at(json_object_get(allowed, "objectRef"), "resource"), "pods");
    json_t *a = json_object_get(allowed, "annotations");
    assert_string_equal(string_at(a, "authorization.k8s.io/decision"), "allow");
    assert_string_equal(string_at(a, "authorization.k8s.io/reason"),
                        "RBAC: allowed by ClusterRoleBinding \"otel-collector-collector\" of "
                        "ClusterRole \"otel-collector-collector\" to ServiceAccount "
                        "\"otel-collector-collector/opentelemetry\"");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(allowed, "responseStatus"), "code")),
        200);
    json_t *ref = json_object_get(forbidden, "objectRef");
    assert_string_equal(string_at(ref, "resource"), "replicasets");
    assert_string_equal(string_at(ref, "apiGroup"), "apps");
    a = json_object_get(forbidden, "annotations");
    assert_string_equal(string_at(a, "authorization.k8s.io/decision"), "forbid");
    assert_string_equal(string_at(a, "authorization.k8s.io/reason"), "");
    json_t *status = json_object_get(forbidden, "responseStatus");
    assert_int_equal(json_integer_value(json_object_get(status, "code")), 403);
    assert_string_equal(string_at(status, "reason"), "Forbidden");
    json_decref(audit);
}

static void test_self_subject_access_review_says_yes_and_no(void **state)
{
    struct fixture *fx = *state;
    const char *path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    json_t *yes = call_json("POST", fx->api, path, fx->collector,
                            "{\"kind\":\"SelfSubjectAccessReview\",\"apiVersion\":"
                            "\"authorization.k8s.io/v1\",\"spec\":{\"resourceAttributes\":"
                            "{\"verb\":\"watch\",\"resource\":\"pods\"}}}",
                            201);
    json_t *st = json_object_get(yes, "status");
    assert_true(json_is_true(json_object_get(st, "allowed")));
    assert_non_null(strstr(string_at(st, "reason"), "ClusterRoleBinding \"otel-collector"));
    json_decref(yes);
    json_t *no = call_json("POST", fx->api, path, fx->collector,
                           "{\"spec\":{\"resourceAttributes\":{\"verb\":\"list\",\"group\":"
                           "\"apps\",\"resource\":\"replicasets\"}}}",
                           201);
    assert_true(json_is_false(json_object_get(json_object_get(no, "status"), "allowed")));
    assert_string_equal(string_at(no, "kind"), "SelfSubjectAccessReview");
    json_decref(no);
}

/* ---- lists ---- */

static size_t count_items(struct fixture *fx, const char *path)
{
    json_t *list = call_json("GET", fx->api, path, fx->collector, NULL, 200);
    size_t n = json_array_size(json_object_get(list, "items"));
    json_decref(list);
    return n;
}

static void test_selectors_filter_lists(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(count_items(fx, "/api/v1/pods?labelSelector=app%3Dweb"), 2);
    assert_int_equal(count_items(fx, "/api/v1/pods?fieldSelector=spec.nodeName%3Dkind-worker"), 2);
    assert_int_equal(count_items(fx, "/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb&"
                                     "fieldSelector=spec.nodeName%3Dkind-worker"),
                     1);
    assert_int_equal(count_items(fx, "/api/v1/namespaces/default/pods"), 0);
}

static void test_bad_selector_is_400_with_the_parser_message(void **state)
{
    struct fixture *fx = *state;
    struct k8s_label_selector *sel = NULL;
    struct error err = {0};
    assert_int_equal(k8s_label_selector_parse("app in (web", &sel, &err), -EINVAL);
    json_t *s = call_json("GET", fx->api, "/api/v1/pods?labelSelector=app%20in%20(web",
                          fx->collector, NULL, 400);
    assert_string_equal(string_at(s, "message"), err.message);
    assert_string_equal(string_at(s, "reason"), "BadRequest");
    json_decref(s);
    s = call_json("GET", fx->api, "/api/v1/pods?fieldSelector=spec.color%3Dred", fx->collector,
                  NULL, 400);
    assert_string_equal(string_at(s, "message"), "field label not supported: spec.color");
    json_decref(s);
}

static void test_bad_json_body_is_400(void **state)
{
    struct fixture *fx = *state;
    json_t *s =
        call_json("POST", fx->api, "/api/v1/namespaces/shop/pods", fx->admin, "{not json", 400);
    assert_string_equal(string_at(s, "reason"), "BadRequest");
    assert_non_null(strstr(string_at(s, "message"), "json parse error"));
    json_decref(s);
}

static void test_create_takes_the_namespace_of_the_path(void **state)
{
    struct fixture *fx = *state;
    json_t *pod = call_json("POST", fx->api, "/api/v1/namespaces/shop/pods", fx->admin,
                            "{\"metadata\":{\"name\":\"api-1\"},\"spec\":{}}", 201);
    assert_string_equal(string_at(json_object_get(pod, "metadata"), "namespace"), "shop");
    assert_string_equal(string_at(pod, "kind"), "Pod");
    json_decref(pod);
    json_t *s = call_json("POST", fx->api, "/api/v1/namespaces/shop/pods", fx->admin,
                          "{\"metadata\":{\"name\":\"api-2\",\"namespace\":\"other\"}}", 400);
    assert_non_null(strstr(string_at(s, "message"), "does not match the namespace"));
    json_decref(s);
}

/* ---- watches ---- */

/* A watch read in a thread of its own until it ends or `stop` is set. */
struct watch {
    pthread_t thread;
    char url[512];
    char token[64];
    pthread_mutex_t mutex;
    char *text; /* every byte received */
    size_t len;
    atomic_bool stop, done;
    CURLcode rc;
};

static size_t on_watch_body(char *data, size_t size, size_t n, void *ctx)
{
    struct watch *w = ctx;
    pthread_mutex_lock(&w->mutex);
    char *grown = realloc(w->text, w->len + size * n + 1);
    if (grown) {
        memcpy(grown + w->len, data, size * n);
        w->text = grown;
        w->len += size * n;
        w->text[w->len] = '\0';
    }
    pthread_mutex_unlock(&w->mutex);
    return grown ? size * n : 0;
}

static int on_watch_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct watch *w = ctx;
    return atomic_load(&w->stop) ? 1 : 0; /* the client leaves */
}

static void *watch_thread(void *ctx)
{
    struct watch *w = ctx;
    CURL *curl = curl_easy_init();
    char h[128];
    snprintf(h, sizeof(h), "Authorization: Bearer %s", w->token);
    struct curl_slist *headers = curl_slist_append(NULL, h);
    curl_easy_setopt(curl, CURLOPT_URL, w->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_watch_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_watch_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, w);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    w->rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    atomic_store(&w->done, true);
    return NULL;
}

static struct watch *watch_open(struct fixture *fx, const char *path, const char *token)
{
    struct watch *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    snprintf(w->url, sizeof(w->url), "http://127.0.0.1:%d%s", fx->api, path);
    snprintf(w->token, sizeof(w->token), "%s", token);
    pthread_mutex_init(&w->mutex, NULL);
    assert_int_equal(pthread_create(&w->thread, NULL, watch_thread, w), 0);
    return w;
}

/* Leaves (if still open), joins and frees; returns how the transfer ended. */
static CURLcode watch_close(struct watch *w)
{
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    CURLcode rc = w->rc;
    pthread_mutex_destroy(&w->mutex);
    free(w->text);
    free(w);
    return rc;
}

struct seen_goal {
    struct watch *w;
    const char *needle;
};

static bool watch_has(void *ctx)
{
    struct seen_goal *g = ctx;
    pthread_mutex_lock(&g->w->mutex);
    bool found = g->w->text && strstr(g->w->text, g->needle);
    pthread_mutex_unlock(&g->w->mutex);
    return found;
}

static void wait_for_text(struct watch *w, const char *needle)
{
    struct seen_goal g = {w, needle};
    if (!poll_until(watch_has, &g, 20000))
        fail_msg("waited 20 s for %s in the watch; got: %s", needle, w->text ? w->text : "");
}

static char *list_resource_version(struct fixture *fx, const char *path)
{
    json_t *list = call_json("GET", fx->api, path, fx->collector, NULL, 200);
    char *rv = strdup(string_at(json_object_get(list, "metadata"), "resourceVersion"));
    json_decref(list);
    return rv;
}

static void test_watch_from_list_sees_added_then_deleted(void **state)
{
    struct fixture *fx = *state;
    char *rv = list_resource_version(fx, "/api/v1/pods");
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/pods?watch=1&resourceVersion=%s", rv);
    free(rv);
    struct watch *w = watch_open(fx, path, fx->collector);
    json_decref(
        control(fx, "POST", "/v1/k8s/objects",
                "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
                "\"late-1\",\"namespace\":\"shop\"},\"spec\":{\"nodeName\":\"kind-worker\"}}",
                200));
    wait_for_text(w, "{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
                     "\"metadata\":{\"name\":\"late-1\"");
    json_decref(control(fx, "DELETE", "/v1/k8s/objects/core/pods/shop/late-1", NULL, 200));
    wait_for_text(w, "{\"type\":\"DELETED\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
                     "\"metadata\":{\"name\":\"late-1\"");
    assert_int_equal(watch_close(w), CURLE_ABORTED_BY_CALLBACK);
}

static void test_watch_filters_by_selector_and_ends_at_timeout_with_bookmark(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    http("GET", fx->api,
         "/api/v1/pods?watch=true&labelSelector=app%3Ddb&allowWatchBookmarks=true"
         "&timeoutSeconds=1",
         fx->collector, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    /* The synthetic ADDED of the one matching pod, then the bookmark before the end. */
    assert_non_null(strstr(r.body, "\"name\":\"db-1\""));
    assert_null(strstr(r.body, "\"name\":\"web-1\""));
    assert_non_null(strstr(r.body, "{\"type\":\"BOOKMARK\""));
    free(r.body);
}

static void test_too_old_watch_gets_410_error_event(void **state)
{
    struct fixture *fx = *state;
    char *rv = list_resource_version(fx, "/api/v1/pods");
    /* Push the pods' watch history (WATCH_HISTORY events) past that resourceVersion. */
    size_t cap = (WATCH_HISTORY + 1) * 128 + 64, w = 0;
    char *list = malloc(cap);
    w +=
        (size_t)snprintf(list + w, cap - w, "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[");
    for (int i = 0; i < WATCH_HISTORY + 1; i++)
        w += (size_t)snprintf(list + w, cap - w,
                              "%s{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
                              "\"filler-%d\",\"namespace\":\"default\"}}",
                              i ? "," : "", i);
    snprintf(list + w, cap - w, "]}");
    json_decref(control(fx, "POST", "/v1/k8s/objects", list, 200));
    free(list);
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/pods?watch=1&resourceVersion=%s", rv);
    struct reply r;
    http("GET", fx->api, path, fx->collector, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *event = json_loads(r.body, 0, NULL);
    assert_non_null(event);
    assert_string_equal(string_at(event, "type"), "ERROR");
    json_t *status = json_object_get(event, "object");
    assert_int_equal(json_integer_value(json_object_get(status, "code")), 410);
    assert_string_equal(string_at(status, "reason"), "Expired");
    char want[64];
    snprintf(want, sizeof(want), "too old resource version: %s (", rv);
    assert_non_null(strstr(string_at(status, "message"), want));
    json_decref(event);
    free(r.body);
    free(rv);
}

static void test_server_stops_cleanly_with_a_watch_open(void **state)
{
    struct fixture *fx = *state;
    struct watch *w = watch_open(fx, "/api/v1/pods?watch=1", fx->collector);
    wait_for_text(w, "\"name\":\"web-2\""); /* the stream is open and sending */
    long long before = monotonic_ms();
    fakes_free(fx->f); /* stops the watch, then the servers, then frees the watchers */
    fx->f = NULL;
    while (!atomic_load(&w->done) && monotonic_ms() - before < 20000) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(atomic_load(&w->done));
    assert_int_equal(watch_close(w), CURLE_OK); /* a complete chunked body, not a cut */
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_https_front_verifies_with_the_control_apis_ca,
                                        setup_https, teardown),
        cmocka_unit_test_setup_teardown(test_discovery_aggregated_when_accept_asks_else_legacy,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_paths_are_404_as_upstream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_or_unknown_token_is_401, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_rbac_lists_pods_and_forbids_replicasets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_audit_shows_decisions_and_reasons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_subject_access_review_says_yes_and_no, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_selectors_filter_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_selector_is_400_with_the_parser_message, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_json_body_is_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_takes_the_namespace_of_the_path, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_watch_from_list_sees_added_then_deleted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_watch_filters_by_selector_and_ends_at_timeout_with_bookmark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_old_watch_gets_410_error_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_stops_cleanly_with_a_watch_open, setup,
                                        teardown),
    };
    int rc = cmocka_run_group_tests(tests, grpc_group_setup, grpc_group_teardown);
    curl_global_cleanup();
    return rc;
}
