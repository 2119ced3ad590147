/*
 * test_k8s_store.c - the fake API server's object store: CRUD with resourceVersions and the API
 * server's error wording, list order, paging and resourceVersion semantics, watches (synthetic
 * ADDED, from an RV, 410 too old, filter transitions, bookmarks, overflow, stop from another
 * thread, many watchers with concurrent writers), bounds, snapshot and reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>

#include "k8s_store.h"
#include "poll_until.h"

struct fixture {
    struct k8s_store *store;
    struct k8s_store_type *pods, *deployments, *nodes;
};

static struct fixture *fixture_with(const struct k8s_store_config *config)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->store = k8s_store_new(config);
    assert_non_null(f->store);
    assert_int_equal(k8s_store_register(f->store, k8s_resource_find("", "pods"), &f->pods, NULL),
                     0);
    assert_int_equal(k8s_store_register(f->store, k8s_resource_find("apps", "deployments"),
                                        &f->deployments, NULL),
                     0);
    assert_int_equal(k8s_store_register(f->store, k8s_resource_find("", "nodes"), &f->nodes, NULL),
                     0);
    return f;
}

static int setup(void **state)
{
    *state = fixture_with(NULL);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    k8s_store_free(f->store);
    free(f);
    return 0;
}

static json_t *pod(const char *namespace, const char *name, const char *phase)
{
    json_t *p = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:{s:s}}", "apiVersion", "v1", "kind",
                          "Pod", "metadata", "name", name, "namespace", namespace, "labels", "app",
                          "web", "status", "phase", phase);
    assert_non_null(p);
    return p;
}

/* Creates a pod and returns its resourceVersion. */
static uint64_t create_pod(struct fixture *f, const char *namespace, const char *name)
{
    json_t *p = pod(namespace, name, "Running"), *out = NULL;
    struct error err = {0};
    int rc = k8s_store_create(f->store, f->pods, namespace, p, &out, &err);
    if (rc != 0)
        fail_msg("create %s/%s: %s", namespace, name, err.message);
    uint64_t rv = strtoull(
        json_string_value(json_object_get(json_object_get(out, "metadata"), "resourceVersion")),
        NULL, 10);
    json_decref(p);
    json_decref(out);
    return rv;
}

static void set_phase(struct fixture *f, const char *namespace, const char *name, const char *phase)
{
    json_t *p = pod(namespace, name, phase);
    struct error err = {0};
    if (k8s_store_update(f->store, f->pods, namespace, p, NULL, &err) != 0)
        fail_msg("update: %s", err.message);
    json_decref(p);
}

static const char *meta(const json_t *object, const char *field)
{
    return json_string_value(json_object_get(json_object_get(object, "metadata"), field));
}

static char *dump(const json_t *json)
{
    char *text = json_dumps(json, JSON_COMPACT);
    assert_non_null(text);
    return text;
}

/* ---- CRUD -------------------------------------------------------------------------------- */

static void test_create_sets_resource_version_uid_timestamp_and_kind(void **state)
{
    struct fixture *f = *state;
    json_t *p = json_pack("{s:{s:s}}", "metadata", "name", "web-1"), *out = NULL;
    assert_int_equal(k8s_store_create(f->store, f->pods, "default", p, &out, NULL), 0);
    assert_string_equal(meta(out, "resourceVersion"), "1");
    assert_string_equal(meta(out, "namespace"), "default");
    assert_string_equal(json_string_value(json_object_get(out, "kind")), "Pod");
    assert_string_equal(json_string_value(json_object_get(out, "apiVersion")), "v1");
    const char *uid = meta(out, "uid");
    assert_int_equal(strlen(uid), 36);
    assert_int_equal(uid[14], '4'); /* version 4 */
    assert_non_null(strchr("89ab", uid[19]));
    const char *ts = meta(out, "creationTimestamp");
    assert_int_equal(strlen(ts), 20);
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[19], 'Z');
    assert_null(json_object_get(json_object_get(out, "metadata"), "generation"));
    /* the caller's object is not touched */
    assert_null(json_object_get(p, "kind"));
    json_decref(out);
    assert_int_equal(k8s_store_resource_version(f->store), 1);
    json_decref(p);
}

static void test_create_keeps_given_uid_and_generates_name(void **state)
{
    struct fixture *f = *state;
    json_t *p = json_pack("{s:{s:s,s:s,s:s}}", "metadata", "generateName", "web-", "uid",
                          "11111111-2222-4333-8444-555555555555", "creationTimestamp",
                          "2024-01-02T03:04:05Z"),
           *out = NULL;
    assert_int_equal(k8s_store_create(f->store, f->pods, "default", p, &out, NULL), 0);
    const char *name = meta(out, "name");
    assert_int_equal(strlen(name), 9);
    assert_memory_equal(name, "web-", 4);
    assert_int_equal(strspn(name + 4, "bcdfghjklmnpqrstvwxz2456789"), 5);
    assert_string_equal(meta(out, "uid"), "11111111-2222-4333-8444-555555555555");
    assert_string_equal(meta(out, "creationTimestamp"), "2024-01-02T03:04:05Z");
    json_decref(out);
    json_decref(p);
}

static void test_create_existing_is_already_exists(void **state)
{
    struct fixture *f = *state;
    json_t *d = json_pack("{s:{s:s},s:{s:i}}", "metadata", "name", "web", "spec", "replicas", 1);
    struct error err = {0};
    assert_int_equal(k8s_store_create(f->store, f->deployments, "prod", d, NULL, &err), 0);
    assert_int_equal(k8s_store_create(f->store, f->deployments, "prod", d, NULL, &err), -EEXIST);
    assert_string_equal(err.message, "deployments.apps \"web\" already exists");
    assert_int_equal(k8s_store_http_status(err.code), 409);
    json_t *status = k8s_store_status_json(&err, f->deployments, "web");
    char *text = dump(status);
    assert_string_equal(text,
                        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                        "\"Failure\",\"message\":\"deployments.apps \\\"web\\\" already exists\","
                        "\"reason\":\"AlreadyExists\",\"details\":{\"name\":\"web\",\"group\":"
                        "\"apps\",\"kind\":\"deployments\"},\"code\":409}");
    free(text);
    json_decref(status);
    json_decref(d);
}

static void test_create_refuses_bad_objects(void **state)
{
    struct fixture *f = *state;
    struct error err = {0};
    json_t *nameless = json_pack("{s:{}}", "metadata");
    assert_int_equal(k8s_store_create(f->store, f->pods, "default", nameless, NULL, &err), -EINVAL);
    assert_string_equal(err.message, "Pod \"\" is invalid: metadata.name: Required value: name or "
                                     "generateName is required");
    assert_int_equal(k8s_store_http_status(err.code), 422);
    json_t *other_ns = pod("kube-system", "x", "Running");
    assert_int_equal(k8s_store_create(f->store, f->pods, "default", other_ns, NULL, &err),
                     -EBADMSG);
    assert_string_equal(err.message, "the namespace of the provided object does not match the "
                                     "namespace sent on the request");
    json_t *with_rv = json_pack("{s:{s:s,s:s}}", "metadata", "name", "n", "resourceVersion", "7");
    assert_int_equal(k8s_store_create(f->store, f->nodes, NULL, with_rv, NULL, &err), -EIO);
    assert_string_equal(err.message, "resourceVersion should not be set on objects to be created");
    assert_int_equal(k8s_store_resource_version(f->store), 0);
    json_decref(nameless);
    json_decref(other_ns);
    json_decref(with_rv);
}

static void test_cluster_scoped_objects_lose_their_namespace(void **state)
{
    struct fixture *f = *state;
    json_t *node = json_pack("{s:{s:s,s:s}}", "metadata", "name", "node-1", "namespace", "x"),
           *out = NULL;
    assert_int_equal(k8s_store_create(f->store, f->nodes, "ignored", node, &out, NULL), 0);
    assert_null(meta(out, "namespace"));
    json_decref(out);
    assert_int_equal(k8s_store_get(f->store, f->nodes, NULL, "node-1", &out, NULL), 0);
    assert_string_equal(meta(out, "name"), "node-1");
    json_decref(out);
    json_decref(node);
}

static void test_get_missing_is_not_found(void **state)
{
    struct fixture *f = *state;
    struct error err = {0};
    json_t *out = NULL;
    assert_int_equal(k8s_store_get(f->store, f->pods, "default", "foo", &out, &err), -ENOENT);
    assert_null(out);
    assert_string_equal(err.message, "pods \"foo\" not found");
    assert_int_equal(k8s_store_http_status(err.code), 404);
    assert_string_equal(k8s_store_reason(err.code), "NotFound");
    json_t *status = k8s_store_status_json(&err, f->pods, "foo");
    char *text = dump(json_object_get(status, "details"));
    assert_string_equal(text, "{\"name\":\"foo\",\"kind\":\"pods\"}");
    free(text);
    json_decref(status);
    assert_int_equal(k8s_store_get(f->store, f->deployments, "default", "web", &out, &err),
                     -ENOENT);
    assert_string_equal(err.message, "deployments.apps \"web\" not found");
}

static void test_update_checks_resource_version_precondition(void **state)
{
    struct fixture *f = *state;
    create_pod(f, "default", "web"); /* rv 1 */
    json_t *p = pod("default", "web", "Failed");
    struct error err = {0};
    json_object_set_new(json_object_get(p, "metadata"), "resourceVersion", json_string("1"));
    json_t *out = NULL;
    assert_int_equal(k8s_store_update(f->store, f->pods, "default", p, &out, &err), 0);
    assert_string_equal(meta(out, "resourceVersion"), "2");
    json_decref(out);
    /* the same precondition again: the object has moved on */
    assert_int_equal(k8s_store_update(f->store, f->pods, "default", p, NULL, &err), -EBUSY);
    assert_string_equal(err.message,
                        "Operation cannot be fulfilled on pods \"web\": the object has been "
                        "modified; please apply your changes to the latest version and try again");
    assert_int_equal(k8s_store_http_status(err.code), 409);
    assert_string_equal(k8s_store_reason(err.code), "Conflict");
    json_decref(p);
    json_t *missing = pod("default", "nope", "Running");
    assert_int_equal(k8s_store_update(f->store, f->pods, "default", missing, NULL, &err), -ENOENT);
    assert_string_equal(err.message, "pods \"nope\" not found");
    json_decref(missing);
}

static void test_update_keeps_uid_and_bumps_generation_on_spec_change(void **state)
{
    struct fixture *f = *state;
    json_t *d = json_pack("{s:{s:s},s:{s:i}}", "metadata", "name", "web", "spec", "replicas", 1),
           *created = NULL, *out = NULL;
    assert_int_equal(k8s_store_create(f->store, f->deployments, "prod", d, &created, NULL), 0);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(created, "metadata"), "generation")), 1);
    /* status only: same generation */
    json_object_set_new(d, "status", json_pack("{s:i}", "readyReplicas", 1));
    assert_int_equal(k8s_store_update(f->store, f->deployments, "prod", d, &out, NULL), 0);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(out, "metadata"), "generation")), 1);
    assert_string_equal(meta(out, "uid"), meta(created, "uid"));
    assert_string_equal(meta(out, "resourceVersion"), "2");
    json_decref(out);
    /* spec: next generation */
    json_object_set_new(d, "spec", json_pack("{s:i}", "replicas", 3));
    assert_int_equal(k8s_store_update(f->store, f->deployments, "prod", d, &out, NULL), 0);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(out, "metadata"), "generation")), 2);
    json_decref(out);
    /* nothing changed: no new resourceVersion */
    assert_int_equal(k8s_store_update(f->store, f->deployments, "prod", d, &out, NULL), 0);
    assert_string_equal(meta(out, "resourceVersion"), "3");
    assert_int_equal(k8s_store_resource_version(f->store), 3);
    json_decref(out);
    json_decref(created);
    json_decref(d);
}

static void test_delete_returns_object_with_deletion_resource_version(void **state)
{
    struct fixture *f = *state;
    create_pod(f, "default", "web");
    json_t *out = NULL;
    struct error err = {0};
    assert_int_equal(k8s_store_delete(f->store, f->pods, "default", "web", &out, &err), 0);
    assert_string_equal(meta(out, "resourceVersion"), "2");
    assert_string_equal(meta(out, "name"), "web");
    json_decref(out);
    assert_int_equal(k8s_store_delete(f->store, f->pods, "default", "web", &out, &err), -ENOENT);
    assert_string_equal(err.message, "pods \"web\" not found");
    assert_int_equal(k8s_store_count(f->store, f->pods, NULL), 0);
}

/* ---- lists ------------------------------------------------------------------------------- */

static const char *item_key(json_t *items, size_t i, char *buf, size_t size)
{
    json_t *item = json_array_get(items, i);
    snprintf(buf, size, "%s/%s", meta(item, "namespace"), meta(item, "name"));
    return buf;
}

static void test_list_is_in_etcd_key_order_without_kind(void **state)
{
    struct fixture *f = *state;
    create_pod(f, "b", "x");
    create_pod(f, "a", "z");
    create_pod(f, "a-x", "y"); /* '-' sorts before '/': "a-x/y" < "a/z" as etcd keys */
    create_pod(f, "a", "b");
    struct k8s_store_list_options options = {0};
    struct k8s_store_list_result result;
    assert_int_equal(k8s_store_list(f->store, f->pods, &options, &result, NULL), 0);
    const char *want[] = {"a-x/y", "a/b", "a/z", "b/x"};
    char buf[64];
    assert_int_equal(json_array_size(result.items), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(item_key(result.items, i, buf, sizeof(buf)), want[i]);
    assert_null(json_object_get(json_array_get(result.items, 0), "kind"));
    assert_int_equal(result.resource_version, 4);
    assert_null(result.continue_token);
    json_t *body = k8s_store_list_json(f->pods, &result);
    assert_string_equal(json_string_value(json_object_get(body, "kind")), "PodList");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(body, "metadata"), "resourceVersion")),
        "4");
    json_decref(body);
    k8s_store_list_result_clear(&result);
    /* one namespace */
    options.namespace = "a";
    assert_int_equal(k8s_store_list(f->store, f->pods, &options, &result, NULL), 0);
    assert_int_equal(json_array_size(result.items), 2);
    assert_string_equal(item_key(result.items, 0, buf, sizeof(buf)), "a/b");
    k8s_store_list_result_clear(&result);
}

static bool is_running(const json_t *object, void *ctx)
{
    const char *want = ctx ? ctx : "Running";
    const char *phase =
        json_string_value(json_object_get(json_object_get(object, "status"), "phase"));
    return phase && strcmp(phase, want) == 0;
}

static void test_list_pages_every_item_once_while_objects_are_added(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 10; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%02d", i);
        create_pod(f, i % 2 ? "ns1" : "ns2", name);
    }
    struct k8s_store_list_options options = {.limit = 3};
    struct k8s_store_list_result result;
    char seen[10] = {0};
    size_t pages = 0, total = 0;
    uint64_t first_rv = 0;
    char *token = NULL;
    do {
        options.continue_token = token;
        struct error err = {0};
        if (k8s_store_list(f->store, f->pods, &options, &result, &err) != 0)
            fail_msg("page %zu: %s", pages, err.message);
        free(token);
        token = result.continue_token ? strdup(result.continue_token) : NULL;
        if (pages == 0) {
            first_rv = result.resource_version;
            assert_int_equal(result.remaining_item_count, 7);
        }
        /* every page is at the first page's snapshot */
        assert_int_equal(result.resource_version, first_rv);
        for (size_t i = 0; i < json_array_size(result.items); i++) {
            int n = atoi(meta(json_array_get(result.items, i), "name") + 1);
            assert_true(n >= 0 && n < 10);
            assert_int_equal(seen[n], 0);
            seen[n] = 1;
            total++;
        }
        k8s_store_list_result_clear(&result);
        /* writes between pages do not show up in the paged snapshot */
        char name[16];
        snprintf(name, sizeof(name), "zz%zu", pages);
        create_pod(f, "ns1", name);
        pages++;
    } while (token);
    assert_int_equal(total, 10);
    assert_int_equal(pages, 4);
    /* with a filter: pages hold only matches, no remaining count */
    set_phase(f, "ns1", "p01", "Failed");
    options = (struct k8s_store_list_options){.limit = 4, .match = is_running};
    assert_int_equal(k8s_store_list(f->store, f->pods, &options, &result, NULL), 0);
    assert_int_equal(json_array_size(result.items), 4);
    assert_int_equal(result.remaining_item_count, -1);
    assert_non_null(result.continue_token);
    k8s_store_list_result_clear(&result);
}

static void test_list_resource_version_semantics(void **state)
{
    struct k8s_store_config config = {.future_rv_wait_ms = 20};
    struct fixture *f = fixture_with(&config);
    create_pod(f, "default", "a");                                   /* 1 */
    create_pod(f, "default", "b");                                   /* 2 */
    set_phase(f, "default", "a", "Failed");                          /* 3 */
    k8s_store_delete(f->store, f->pods, "default", "b", NULL, NULL); /* 4 */
    struct k8s_store_list_result result;
    struct error err = {0};
    char buf[64];

    /* "0": whatever the cache has, limit ignored */
    struct k8s_store_list_options any = {.resource_version = "0", .limit = 1};
    assert_int_equal(k8s_store_list(f->store, f->pods, &any, &result, NULL), 0);
    assert_int_equal(json_array_size(result.items), 1);
    assert_null(result.continue_token);
    assert_int_equal(result.resource_version, 4);
    k8s_store_list_result_clear(&result);

    /* Exact at 2: both pods, "a" still Running */
    struct k8s_store_list_options exact = {.resource_version = "2",
                                           .resource_version_match = "Exact"};
    assert_int_equal(k8s_store_list(f->store, f->pods, &exact, &result, &err), 0);
    assert_int_equal(result.resource_version, 2);
    assert_int_equal(json_array_size(result.items), 2);
    assert_string_equal(item_key(result.items, 1, buf, sizeof(buf)), "default/b");
    assert_true(is_running(json_array_get(result.items, 0), NULL));
    k8s_store_list_result_clear(&result);

    /* legacy exact: N with a limit and no match */
    struct k8s_store_list_options legacy = {.resource_version = "1", .limit = 5};
    assert_int_equal(k8s_store_list(f->store, f->pods, &legacy, &result, NULL), 0);
    assert_int_equal(result.resource_version, 1);
    assert_int_equal(json_array_size(result.items), 1);
    k8s_store_list_result_clear(&result);

    /* not older than 3: latest */
    struct k8s_store_list_options not_older = {.resource_version = "3"};
    assert_int_equal(k8s_store_list(f->store, f->pods, &not_older, &result, NULL), 0);
    assert_int_equal(result.resource_version, 4);
    assert_int_equal(json_array_size(result.items), 1);
    k8s_store_list_result_clear(&result);

    /* not older than the future: waits, then 504 */
    not_older.resource_version = "99";
    assert_int_equal(k8s_store_list(f->store, f->pods, &not_older, &result, &err), -ETIMEDOUT);
    assert_string_equal(err.message, "Too large resource version: 99, current: 4");
    assert_int_equal(k8s_store_http_status(err.code), 504);
    json_t *status = k8s_store_list_status_json(&err, &result);
    char *text = dump(status);
    assert_string_equal(text, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                              "\"status\":\"Failure\",\"message\":\"Too large resource version: "
                              "99, current: 4\",\"reason\":\"Timeout\",\"details\":{\"causes\":[{"
                              "\"reason\":\"ResourceVersionTooLarge\",\"message\":\"Too large "
                              "resource version\"}],\"retryAfterSeconds\":1},\"code\":504}");
    free(text);
    json_decref(status);
    k8s_store_list_result_clear(&result);

    /* exact in the future: etcd's own error */
    exact.resource_version = "99";
    assert_int_equal(k8s_store_list(f->store, f->pods, &exact, &result, &err), -EIO);
    assert_string_equal(err.message, "etcdserver: mvcc: required revision is a future revision");
    k8s_store_list_result_clear(&result);

    /* misuse */
    struct k8s_store_list_options bad = {.resource_version_match = "Exact"};
    assert_int_equal(k8s_store_list(f->store, f->pods, &bad, &result, &err), -EINVAL);
    assert_string_equal(err.message, "ListOptions.meta.k8s.io \"\" is invalid: "
                                     "resourceVersionMatch: Forbidden: resourceVersionMatch is "
                                     "forbidden unless resourceVersion is provided");
    bad = (struct k8s_store_list_options){.resource_version = "abc"};
    assert_int_equal(k8s_store_list(f->store, f->pods, &bad, &result, &err), -EBADMSG);
    bad = (struct k8s_store_list_options){.resource_version = "5", .continue_token = "x"};
    assert_int_equal(k8s_store_list(f->store, f->pods, &bad, &result, &err), -EBADMSG);
    assert_string_equal(err.message,
                        "specifying resource version is not allowed when using continue");
    bad = (struct k8s_store_list_options){.continue_token = "!!"};
    assert_int_equal(k8s_store_list(f->store, f->pods, &bad, &result, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "invalid continue token: continue key is not valid"));
    teardown((void **)&f);
}

static void test_list_expires_when_history_is_compacted(void **state)
{
    struct k8s_store_config config = {.history_size = 4};
    struct fixture *f = fixture_with(&config);
    for (int i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof(name), "p%d", i);
        create_pod(f, "default", name);
    }
    struct k8s_store_list_options options = {.limit = 2};
    struct k8s_store_list_result result;
    struct error err = {0};
    assert_int_equal(k8s_store_list(f->store, f->pods, &options, &result, NULL), 0);
    char *token = strdup(result.continue_token);
    k8s_store_list_result_clear(&result);
    /* the page was at rv 4; the ring then holds 6..9: rebuilding rv 4 needs event 5 */
    for (int i = 0; i < 5; i++)
        set_phase(f, "default", "p0", i % 2 ? "Running" : "Failed");
    options.continue_token = token;
    assert_int_equal(k8s_store_list(f->store, f->pods, &options, &result, &err), -ESTALE);
    assert_int_equal(k8s_store_http_status(err.code), 410);
    assert_string_equal(k8s_store_reason(err.code), "Expired");
    assert_non_null(strstr(err.message, "The provided continue parameter is too old to display "
                                        "a consistent list result."));
    /* the Status carries a token that resumes at the latest state, after the same key */
    json_t *status = k8s_store_list_status_json(&err, &result);
    assert_string_equal(meta(status, "continue"), result.continue_token);
    json_decref(status);
    char *resume = strdup(result.continue_token);
    k8s_store_list_result_clear(&result);
    options.continue_token = resume;
    assert_int_equal(k8s_store_list(f->store, f->pods, &options, &result, &err), 0);
    assert_int_equal(json_array_size(result.items), 2);
    assert_string_equal(meta(json_array_get(result.items, 0), "name"), "p2");
    assert_int_equal(result.resource_version, 9);
    k8s_store_list_result_clear(&result);
    free(resume);
    free(token);
    /* an exact list below the window */
    options =
        (struct k8s_store_list_options){.resource_version = "3", .resource_version_match = "Exact"};
    assert_int_equal(k8s_store_list(f->store, f->pods, &options, &result, &err), -ESTALE);
    assert_string_equal(err.message, "The resourceVersion for the provided list is too old.");
    k8s_store_list_result_clear(&result);
    teardown((void **)&f);
}

/* ---- watches ----------------------------------------------------------------------------- */

/* The next event; fails the test when none comes within a second. Caller clears. */
static struct k8s_store_event next_event(struct k8s_store_watcher *w)
{
    struct k8s_store_event ev = {0};
    int rc = k8s_store_watch_next(w, 1000, &ev);
    if (rc != 0)
        fail_msg("no event: %d", rc);
    return ev;
}

static void expect_event(struct k8s_store_watcher *w, enum k8s_store_event_type type,
                         const char *name, const char *rv)
{
    struct k8s_store_event ev = next_event(w);
    if (ev.type != type)
        fail_msg("want %s %s, got %s %s", k8s_store_event_type_name(type), name,
                 k8s_store_event_type_name(ev.type), meta(ev.object, "name"));
    if (name)
        assert_string_equal(meta(ev.object, "name"), name);
    if (rv)
        assert_string_equal(meta(ev.object, "resourceVersion"), rv);
    /* watch objects carry kind/apiVersion */
    if (type != K8S_EVENT_ERROR)
        assert_string_equal(json_string_value(json_object_get(ev.object, "kind")), "Pod");
    k8s_store_event_clear(&ev);
}

static void expect_no_event(struct k8s_store_watcher *w)
{
    struct k8s_store_event ev = {0};
    assert_int_equal(k8s_store_watch_next(w, 0, &ev), -EAGAIN);
}

static void test_watch_from_zero_sends_synthetic_added_then_changes(void **state)
{
    struct fixture *f = *state;
    create_pod(f, "default", "b");
    create_pod(f, "default", "a");
    create_pod(f, "other", "c");
    struct k8s_store_watcher *w = NULL;
    assert_int_equal(
        k8s_store_watch_start(f->store, f->pods, "default", "0", false, NULL, NULL, &w, NULL), 0);
    expect_event(w, K8S_EVENT_ADDED, "a", "2");
    expect_event(w, K8S_EVENT_ADDED, "b", "1");
    expect_no_event(w);
    set_phase(f, "default", "a", "Failed");
    create_pod(f, "other", "d"); /* another namespace: not for this watch */
    k8s_store_delete(f->store, f->pods, "default", "b", NULL, NULL);
    expect_event(w, K8S_EVENT_MODIFIED, "a", "4");
    expect_event(w, K8S_EVENT_DELETED, "b", "6");
    expect_no_event(w);
    k8s_store_watch_free(w);
}

static void test_watch_from_resource_version_replays_history(void **state)
{
    struct fixture *f = *state;
    create_pod(f, "default", "a");                                   /* 1 */
    uint64_t rv = create_pod(f, "default", "b");                     /* 2 */
    set_phase(f, "default", "a", "Failed");                          /* 3 */
    k8s_store_delete(f->store, f->pods, "default", "b", NULL, NULL); /* 4 */
    char from[16];
    snprintf(from, sizeof(from), "%" PRIu64, rv);
    struct k8s_store_watcher *w = NULL;
    assert_int_equal(
        k8s_store_watch_start(f->store, f->pods, NULL, from, false, NULL, NULL, &w, NULL), 0);
    expect_event(w, K8S_EVENT_MODIFIED, "a", "3");
    expect_event(w, K8S_EVENT_DELETED, "b", "4");
    expect_no_event(w);
    create_pod(f, "default", "c");
    expect_event(w, K8S_EVENT_ADDED, "c", "5");
    k8s_store_watch_free(w);
    /* from the future: only what comes after it */
    assert_int_equal(
        k8s_store_watch_start(f->store, f->pods, NULL, "7", false, NULL, NULL, &w, NULL), 0);
    create_pod(f, "default", "d"); /* 6 */
    create_pod(f, "default", "e"); /* 7 */
    create_pod(f, "default", "f"); /* 8 */
    expect_event(w, K8S_EVENT_ADDED, "f", "8");
    expect_no_event(w);
    k8s_store_watch_free(w);
}

static void test_watch_too_old_yields_one_410_error_event(void **state)
{
    struct k8s_store_config config = {.history_size = 3};
    struct fixture *f = fixture_with(&config);
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf(name, sizeof(name), "p%d", i);
        create_pod(f, "default", name); /* history keeps rv 3, 4, 5 */
    }
    struct k8s_store_watcher *w = NULL;
    assert_int_equal(
        k8s_store_watch_start(f->store, f->pods, NULL, "1", true, NULL, NULL, &w, NULL), 0);
    struct k8s_store_event ev = next_event(w);
    assert_int_equal(ev.type, K8S_EVENT_ERROR);
    json_t *wire = k8s_store_event_json(&ev);
    char *text = dump(wire);
    assert_string_equal(text, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":"
                              "\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old "
                              "resource version: 1 (2)\",\"reason\":\"Expired\",\"code\":410}}");
    free(text);
    json_decref(wire);
    k8s_store_event_clear(&ev);
    assert_int_equal(k8s_store_watch_next(w, 1000, &ev), -EPIPE);
    assert_int_equal(k8s_store_watch_end(w), K8S_WATCH_EXPIRED);
    assert_int_equal(k8s_store_watch_bookmark(w), -EPIPE);
    k8s_store_watch_free(w);
    /* oldest - 1 itself is still served */
    assert_int_equal(
        k8s_store_watch_start(f->store, f->pods, NULL, "2", false, NULL, NULL, &w, NULL), 0);
    expect_event(w, K8S_EVENT_ADDED, "p2", "3");
    k8s_store_watch_free(w);
    teardown((void **)&f);
}

static void test_filtered_watch_turns_transitions_into_added_and_deleted(void **state)
{
    struct fixture *f = *state;
    create_pod(f, "default", "a"); /* Running */
    struct k8s_store_watcher *w = NULL;
    assert_int_equal(
        k8s_store_watch_start(f->store, f->pods, NULL, "", false, is_running, NULL, &w, NULL), 0);
    expect_event(w, K8S_EVENT_ADDED, "a", "1");
    set_phase(f, "default", "a", "Failed"); /* stops matching: DELETED, old content, new RV */
    struct k8s_store_event ev = next_event(w);
    assert_int_equal(ev.type, K8S_EVENT_DELETED);
    assert_string_equal(meta(ev.object, "resourceVersion"), "2");
    assert_true(is_running(ev.object, NULL));
    k8s_store_event_clear(&ev);
    set_phase(f, "default", "a", "Pending"); /* still not matching: nothing */
    expect_no_event(w);
    set_phase(f, "default", "a", "Running"); /* starts matching: ADDED */
    expect_event(w, K8S_EVENT_ADDED, "a", "4");
    k8s_store_watch_free(w);
}

static void test_bookmarks_carry_the_current_resource_version(void **state)
{
    struct fixture *f = *state;
    create_pod(f, "default", "a");
    create_pod(f, "default", "b");
    struct k8s_store_watcher *w = NULL, *plain = NULL;
    assert_int_equal(
        k8s_store_watch_start(f->store, f->pods, NULL, "2", true, NULL, NULL, &w, NULL), 0);
    assert_int_equal(
        k8s_store_watch_start(f->store, f->pods, NULL, "2", false, NULL, NULL, &plain, NULL), 0);
    json_t *node = json_pack("{s:{s:s}}", "metadata", "name", "n1");
    assert_int_equal(k8s_store_create(f->store, f->nodes, NULL, node, NULL, NULL), 0); /* 3 */
    json_decref(node);
    assert_int_equal(k8s_store_watch_bookmark(w), 0);
    assert_int_equal(k8s_store_watch_bookmark(plain), 0);
    struct k8s_store_event ev = next_event(w);
    assert_int_equal(ev.type, K8S_EVENT_BOOKMARK);
    char *text = dump(ev.object);
    assert_string_equal(
        text, "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"3\"}}");
    free(text);
    k8s_store_event_clear(&ev);
    expect_no_event(plain); /* not asked for */
    k8s_store_watch_free(w);
    k8s_store_watch_free(plain);
}

static void test_watcher_whose_queue_overflows_is_closed(void **state)
{
    struct k8s_store_config config = {.watch_queue_size = 3};
    struct fixture *f = fixture_with(&config);
    struct k8s_store_watcher *slow = NULL, *fast = NULL;
    assert_int_equal(
        k8s_store_watch_start(f->store, f->pods, NULL, "0", false, NULL, NULL, &slow, NULL), 0);
    assert_int_equal(
        k8s_store_watch_start(f->store, f->pods, NULL, "0", false, NULL, NULL, &fast, NULL), 0);
    for (int i = 0; i < 6; i++) {
        char name[8];
        snprintf(name, sizeof(name), "p%d", i);
        create_pod(f, "default", name); /* the writer never waits */
        struct k8s_store_event ev;
        assert_int_equal(k8s_store_watch_next(fast, 0, &ev), 0);
        k8s_store_event_clear(&ev);
    }
    struct k8s_store_event ev;
    assert_int_equal(k8s_store_watch_next(slow, 0, &ev), -EPIPE);
    assert_int_equal(k8s_store_watch_end(slow), K8S_WATCH_OVERFLOW);
    assert_int_equal(k8s_store_watch_end(fast), K8S_WATCH_OPEN);
    k8s_store_watch_free(slow);
    k8s_store_watch_free(fast);
    teardown((void **)&f);
}

struct blocked_reader {
    struct k8s_store_watcher *watcher;
    int rc;
    bool done;
    pthread_mutex_t lock;
};

static void *read_until_end(void *arg)
{
    struct blocked_reader *r = arg;
    struct k8s_store_event ev = {0};
    int rc = k8s_store_watch_next(r->watcher, -1, &ev);
    k8s_store_event_clear(&ev);
    pthread_mutex_lock(&r->lock);
    r->rc = rc;
    r->done = true;
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static bool reader_done(void *arg)
{
    struct blocked_reader *r = arg;
    pthread_mutex_lock(&r->lock);
    bool done = r->done;
    pthread_mutex_unlock(&r->lock);
    return done;
}

static void test_stop_from_another_thread_wakes_a_blocked_reader(void **state)
{
    struct fixture *f = *state;
    struct blocked_reader r = {.lock = PTHREAD_MUTEX_INITIALIZER};
    assert_int_equal(
        k8s_store_watch_start(f->store, f->pods, NULL, "", false, NULL, NULL, &r.watcher, NULL), 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, read_until_end, &r), 0);
    k8s_store_watch_stop(r.watcher);
    assert_true(poll_until_or_say(reader_done, &r, 5000, "the blocked reader to return"));
    pthread_join(thread, NULL);
    assert_int_equal(r.rc, -EPIPE);
    assert_int_equal(k8s_store_watch_end(r.watcher), K8S_WATCH_STOPPED);
    k8s_store_watch_stop(r.watcher); /* again: harmless */
    k8s_store_watch_free(r.watcher);
}

#define THREAD_WRITERS 3
#define THREAD_WATCHERS 6
#define WRITES_PER_WRITER 200

struct writer_arg {
    struct fixture *f;
    int id;
};

static void *write_pods(void *arg)
{
    struct writer_arg *a = arg;
    char ns[16], name[16];
    snprintf(ns, sizeof(ns), "ns%d", a->id);
    for (int i = 0; i < WRITES_PER_WRITER; i++) {
        snprintf(name, sizeof(name), "p%d", i % 20);
        json_t *p = pod(ns, name, i % 3 ? "Running" : "Pending");
        if (k8s_store_create(a->f->store, a->f->pods, ns, p, NULL, NULL) == -EEXIST) {
            if (i % 4 == 0)
                k8s_store_delete(a->f->store, a->f->pods, ns, name, NULL, NULL);
            else
                k8s_store_update(a->f->store, a->f->pods, ns, p, NULL, NULL);
        }
        json_decref(p);
    }
    return NULL;
}

struct reader_arg {
    struct k8s_store_watcher *watcher;
    uint64_t last_rv;
    size_t events;
    bool ordered;
};

static void *read_events(void *arg)
{
    struct reader_arg *r = arg;
    r->ordered = true;
    for (;;) {
        struct k8s_store_event ev = {0};
        int rc = k8s_store_watch_next(r->watcher, -1, &ev);
        if (rc != 0)
            break;
        uint64_t rv = strtoull(meta(ev.object, "resourceVersion"), NULL, 10);
        if (ev.type == K8S_EVENT_BOOKMARK ? rv < r->last_rv : rv <= r->last_rv)
            r->ordered = false;
        r->last_rv = rv;
        r->events++;
        k8s_store_event_clear(&ev);
    }
    return NULL;
}

static void test_many_watchers_with_concurrent_writers(void **state)
{
    struct fixture *f = *state;
    pthread_t writers[THREAD_WRITERS], readers[THREAD_WATCHERS];
    struct writer_arg wargs[THREAD_WRITERS];
    struct reader_arg rargs[THREAD_WATCHERS] = {0};
    for (int i = 0; i < THREAD_WATCHERS; i++) {
        assert_int_equal(k8s_store_watch_start(f->store, f->pods, NULL, "1", true,
                                               i % 2 ? is_running : NULL, NULL, &rargs[i].watcher,
                                               NULL),
                         0);
        assert_int_equal(pthread_create(&readers[i], NULL, read_events, &rargs[i]), 0);
    }
    for (int i = 0; i < THREAD_WRITERS; i++) {
        wargs[i] = (struct writer_arg){f, i};
        assert_int_equal(pthread_create(&writers[i], NULL, write_pods, &wargs[i]), 0);
    }
    for (int i = 0; i < THREAD_WATCHERS; i++)
        k8s_store_watch_bookmark(rargs[i].watcher);
    for (int i = 0; i < THREAD_WRITERS; i++)
        pthread_join(writers[i], NULL);
    uint64_t final_rv = k8s_store_resource_version(f->store);
    for (int i = 0; i < THREAD_WATCHERS; i++) {
        k8s_store_watch_stop(rargs[i].watcher);
        pthread_join(readers[i], NULL);
        assert_true(rargs[i].ordered);
        assert_true(rargs[i].last_rv <= final_rv);
        k8s_store_watch_free(rargs[i].watcher);
    }
    /* an unfiltered watcher that kept up saw every write after rv 1 */
    assert_true(rargs[0].events > 0);
}

/* ---- bounds, snapshot, reset -------------------------------------------------------------- */

static void test_bounds_on_object_size_and_count(void **state)
{
    struct k8s_store_config config = {.max_objects = 2, .max_object_bytes = 400};
    struct fixture *f = fixture_with(&config);
    struct error err = {0};
    char big[500];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    json_t *p = pod("default", "big", "Running");
    json_object_set_new(json_object_get(p, "metadata"), "annotations",
                        json_pack("{s:s}", "a", big));
    assert_int_equal(k8s_store_create(f->store, f->pods, "default", p, NULL, &err), -EFBIG);
    assert_string_equal(err.message, "Request entity too large: limit is 400");
    assert_int_equal(k8s_store_http_status(err.code), 413);
    assert_string_equal(k8s_store_reason(err.code), "RequestEntityTooLarge");
    json_decref(p);
    create_pod(f, "default", "a");
    create_pod(f, "default", "b");
    p = pod("default", "c", "Running");
    assert_int_equal(k8s_store_create(f->store, f->pods, "default", p, NULL, &err), -EIO);
    assert_string_equal(err.message, "etcdserver: mvcc: database space exceeded");
    assert_int_equal(k8s_store_http_status(err.code), 500);
    json_decref(p);
    assert_int_equal(k8s_store_resource_version(f->store), 2);
    teardown((void **)&f);
}

static void test_snapshot_count_and_reset(void **state)
{
    struct fixture *f = *state;
    create_pod(f, "b", "x");
    create_pod(f, "a", "y");
    assert_int_equal(k8s_store_count(f->store, f->pods, NULL), 2);
    assert_int_equal(k8s_store_count(f->store, f->pods, "a"), 1);
    json_t *all = k8s_store_snapshot(f->store, f->pods, NULL);
    assert_int_equal(json_array_size(all), 2);
    assert_string_equal(meta(json_array_get(all, 0), "namespace"), "a");
    assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "kind")), "Pod");
    json_decref(all);
    struct k8s_store_watcher *w = NULL;
    assert_int_equal(
        k8s_store_watch_start(f->store, f->pods, NULL, "2", false, NULL, NULL, &w, NULL), 0);
    k8s_store_reset(f->store);
    struct k8s_store_event ev;
    assert_int_equal(k8s_store_watch_next(w, 1000, &ev), -EPIPE);
    assert_int_equal(k8s_store_watch_end(w), K8S_WATCH_RESET);
    k8s_store_watch_free(w);
    assert_int_equal(k8s_store_count(f->store, f->pods, NULL), 0);
    assert_int_equal(k8s_store_resource_version(f->store), 3);
    /* re-watching from before the reset: 410, the client relists */
    assert_int_equal(
        k8s_store_watch_start(f->store, f->pods, NULL, "2", false, NULL, NULL, &w, NULL), 0);
    ev = next_event(w);
    assert_int_equal(ev.type, K8S_EVENT_ERROR);
    assert_string_equal(json_string_value(json_object_get(ev.object, "message")),
                        "too old resource version: 2 (3)");
    k8s_store_event_clear(&ev);
    k8s_store_watch_free(w);
    assert_non_null(k8s_store_find(f->store, "apps", "deployments"));
    assert_null(k8s_store_find(f->store, "", "deployments"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_sets_resource_version_uid_timestamp_and_kind,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_keeps_given_uid_and_generates_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_create_existing_is_already_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_refuses_bad_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cluster_scoped_objects_lose_their_namespace, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_get_missing_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_checks_resource_version_precondition, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_update_keeps_uid_and_bumps_generation_on_spec_change,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_returns_object_with_deletion_resource_version,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_is_in_etcd_key_order_without_kind, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_list_pages_every_item_once_while_objects_are_added,
                                        setup, teardown),
        cmocka_unit_test(test_list_resource_version_semantics),
        cmocka_unit_test(test_list_expires_when_history_is_compacted),
        cmocka_unit_test_setup_teardown(test_watch_from_zero_sends_synthetic_added_then_changes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_from_resource_version_replays_history, setup,
                                        teardown),
        cmocka_unit_test(test_watch_too_old_yields_one_410_error_event),
        cmocka_unit_test_setup_teardown(
            test_filtered_watch_turns_transitions_into_added_and_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bookmarks_carry_the_current_resource_version, setup,
                                        teardown),
        cmocka_unit_test(test_watcher_whose_queue_overflows_is_closed),
        cmocka_unit_test_setup_teardown(test_stop_from_another_thread_wakes_a_blocked_reader, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_many_watchers_with_concurrent_writers, setup,
                                        teardown),
        cmocka_unit_test(test_bounds_on_object_size_and_count),
        cmocka_unit_test_setup_teardown(test_snapshot_count_and_reset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
