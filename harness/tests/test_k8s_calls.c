/*
 * test_k8s_calls.c - audit events to calls: what a call keeps and what it drops so that the
 * kubernetes-calls golden is stable, deduplication and order, the harness's own identity left
 * out; identities as scenarios write them; denied counts; and the grants no call used, for the
 * team's two RBAC manifests and the binding forms RBAC has.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "k8s_calls.h"
#include "yamljson.h"

#define SA "system:serviceaccount:opentelemetry:otel-collector-collector"
#define ALLOWED_BY_SEED                                                                            \
    "RBAC: allowed by ClusterRoleBinding \\\"otel-collector-collector\\\" of ClusterRole "         \
    "\\\"otel-collector-collector\\\" to ServiceAccount "                                          \
    "\\\"otel-collector-collector/opentelemetry\\\""

/* An audit event as fakes/k8s_audit.c writes it. `ref` and `extra` are JSON members (or ""). */
static json_t *event(const char *user, const char *verb, const char *uri, const char *ref,
                     const char *decision, const char *reason, int code, const char *extra)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\","
             "\"auditID\":\"%d-%s\",\"stage\":\"ResponseComplete\",\"requestURI\":\"%s\","
             "\"verb\":\"%s\",\"user\":{\"username\":\"%s\",\"groups\":[\"system:authenticated\"]},"
             "\"userAgent\":\"otelcol-contrib/0.144.0 (linux/amd64)\",%s%s"
             "\"responseStatus\":{\"metadata\":{},\"code\":%d},"
             "\"requestReceivedTimestamp\":\"2025-11-20T10:15:00.%06dZ\","
             "\"stageTimestamp\":\"2025-11-20T10:15:00.%06dZ\","
             "\"annotations\":{\"authorization.k8s.io/decision\":\"%s\","
             "\"authorization.k8s.io/reason\":\"%s\"}%s%s}",
             rand(), verb, uri, verb, user, ref, *ref ? "," : "", code, rand() % 1000000,
             rand() % 1000000, decision, reason, *extra ? "," : "", extra);
    json_error_t jerr;
    json_t *e = json_loads(text, 0, &jerr);
    if (!e)
        fail_msg("bad test event: %s: %s", jerr.text, text);
    return e;
}

static void test_a_call_keeps_what_rbac_decides_on_and_drops_what_varies(void **state)
{
    (void)state;
    /* A reflector's watch: resourceVersion, timeoutSeconds and watch=1 vary between runs. */
    json_t *e =
        event(SA, "watch",
              "/api/v1/pods?watch=1&fieldSelector=spec.nodeName=kind-worker&resourceVersion=1234&"
              "allowWatchBookmarks=true&timeoutSeconds=417",
              "\"objectRef\":{\"resource\":\"pods\",\"apiVersion\":\"v1\"}", "allow",
              ALLOWED_BY_SEED, 200, "\"fieldSelector\":\"spec.nodeName=kind-worker\"");
    const char *user;
    json_t *call = k8s_calls_normalise(e, &user);
    assert_string_equal(user, SA);
    json_t *want = json_loads(
        "{\"verb\":\"watch\",\"resource\":\"pods\",\"scope\":\"cluster\","
        "\"field_selector\":\"spec.nodeName=kind-worker\",\"decision\":\"allow\",\"code\":200,"
        "\"allowed_by\":{\"binding\":\"ClusterRoleBinding otel-collector-collector\","
        "\"role\":\"ClusterRole otel-collector-collector\"}}",
        0, NULL);
    assert_true(json_equal(call, want));
    json_decref(want);
    json_decref(call);
    json_decref(e);

    /* A namespaced get of a subresource in a group; refused. */
    e = event(SA, "get", "/apis/apps/v1/namespaces/shop/deployments/web/scale",
              "\"objectRef\":{\"resource\":\"deployments\",\"namespace\":\"shop\",\"name\":\"web\","
              "\"apiGroup\":\"apps\",\"apiVersion\":\"v1\",\"subresource\":\"scale\"}",
              "forbid", "", 403, "");
    call = k8s_calls_normalise(e, &user);
    want = json_loads("{\"verb\":\"get\",\"resource\":\"deployments.apps\",\"subresource\":"
                      "\"scale\",\"scope\":\"namespace\",\"namespace\":\"shop\",\"name\":\"web\","
                      "\"decision\":\"forbid\",\"code\":403}",
                      0, NULL);
    assert_true(json_equal(call, want));
    json_decref(want);
    json_decref(call);
    json_decref(e);

    /* A non-resource request: its path without the query; a reason in an unknown form whole. */
    e = event(SA, "get", "/apis?timeout=32s", "", "allow", "allowed for reasons", 200, "");
    call = k8s_calls_normalise(e, &user);
    want = json_loads("{\"verb\":\"get\",\"path\":\"/apis\",\"decision\":\"allow\",\"code\":200,"
                      "\"allowed_by\":{\"reason\":\"allowed for reasons\"}}",
                      0, NULL);
    assert_true(json_equal(call, want));
    json_decref(want);
    json_decref(call);
    json_decref(e);

    /* Not a call at all. */
    e = json_loads("{\"kind\":\"Event\"}", 0, NULL);
    assert_null(k8s_calls_normalise(e, &user));
    assert_null(user);
    json_decref(e);
}

static void test_the_view_is_per_identity_sorted_and_without_repeats(void **state)
{
    (void)state;
    json_t *audit = json_array();
    const char *list_pods = "\"objectRef\":{\"resource\":\"pods\",\"apiVersion\":\"v1\"}";
    const char *list_rs =
        "\"objectRef\":{\"resource\":\"replicasets\",\"apiGroup\":\"apps\",\"apiVersion\":\"v1\"}";
    /* A reflector relists and rewatches: many events, two calls. */
    for (int i = 0; i < 3; i++) {
        json_array_append_new(audit, event(SA, "watch", "/api/v1/pods?watch=true", list_pods,
                                           "allow", ALLOWED_BY_SEED, 200, ""));
        json_array_append_new(audit, event(SA, "list", "/api/v1/pods?limit=500", list_pods, "allow",
                                           ALLOWED_BY_SEED, 200, ""));
        json_array_append_new(audit, event(SA, "list", "/apis/apps/v1/replicasets?limit=500",
                                           list_rs, "forbid", "", 403, ""));
    }
    /* The harness's own identity is not the system under test; a 401 has no user. */
    json_array_append_new(audit, event(K8S_CALLS_ADMIN_USER, "list", "/api/v1/pods", list_pods,
                                       "allow", "", 200, ""));
    json_array_append_new(audit, event("", "list", "/api/v1/pods", list_pods, "", "", 401, ""));
    json_t *view = k8s_calls_view(audit);
    assert_non_null(view);
    assert_null(json_object_get(view, K8S_CALLS_ADMIN_USER));
    assert_int_equal(json_object_size(view), 2);
    assert_int_equal(k8s_calls_count(view, K8S_CALLS_UNAUTHENTICATED), 1);
    assert_int_equal(k8s_calls_count(view, SA), 3);
    assert_int_equal(k8s_calls_denied(view, SA), 1);
    assert_int_equal(k8s_calls_denied(view, "nobody"), 0);
    /* Sorted by canonical text: "allowed_by" first, so allowed calls before refused ones. */
    const json_t *calls = json_object_get(view, SA);
    assert_string_equal(json_string_value(json_object_get(json_array_get(calls, 0), "verb")),
                        "list");
    assert_string_equal(json_string_value(json_object_get(json_array_get(calls, 1), "verb")),
                        "watch");
    assert_string_equal(json_string_value(json_object_get(json_array_get(calls, 2), "decision")),
                        "forbid");
    /* The same events in another order give the same view. */
    json_t *reversed = json_array();
    for (size_t i = json_array_size(audit); i-- > 0;)
        json_array_append(reversed, json_array_get(audit, i));
    json_t *again = k8s_calls_view(reversed);
    assert_true(json_equal(view, again));
    json_decref(again);
    json_decref(reversed);
    json_decref(view);
    json_decref(audit);
}

static void test_identities_as_scenarios_write_them(void **state)
{
    (void)state;
    char user[K8S_CALLS_USER_MAX];
    assert_int_equal(
        k8s_calls_user_name("opentelemetry/otel-collector-collector", user, sizeof(user)), 0);
    assert_string_equal(user, SA);
    assert_int_equal(k8s_calls_user_name(SA, user, sizeof(user)), 0);
    assert_string_equal(user, SA);
    assert_int_equal(k8s_calls_user_name("otel-collector", user, sizeof(user)), -EINVAL);
    assert_int_equal(k8s_calls_user_name("/x", user, sizeof(user)), -EINVAL);
    assert_int_equal(k8s_calls_user_name("a/b/c", user, sizeof(user)), -EINVAL);
    assert_int_equal(k8s_calls_user_name("a/b", user, 10), -EINVAL);
}

/* ---- unused grants ---- */

/* The stored objects of a manifest, by type, as GET /v1/received/kubernetes lists them. */
static json_t *objects_of(const char *yaml)
{
    json_t *docs = NULL;
    struct error err;
    if (yamljson_parse(yaml, strlen(yaml), "test.yaml", &docs, NULL, &err) < 0)
        fail_msg("%s", err.message);
    json_t *objects = json_object();
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc)
    {
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        const char *type = !strcmp(kind, "ClusterRole")          ? "clusterroles"
                           : !strcmp(kind, "Role")               ? "roles"
                           : !strcmp(kind, "ClusterRoleBinding") ? "clusterrolebindings"
                                                                 : "rolebindings";
        char key[128];
        snprintf(key, sizeof(key), "%s.rbac.authorization.k8s.io", type);
        if (!json_object_get(objects, key))
            json_object_set_new(objects, key, json_array());
        json_array_append(json_object_get(objects, key), doc);
    }
    json_decref(docs);
    return objects;
}

/* The calls view of `calls` (JSON text of an array of calls) for SA. */
static json_t *view_of(const char *calls)
{
    json_t *view = json_object();
    json_object_set_new(view, SA, json_loads(calls, 0, NULL));
    return view;
}

#define SEED_ALLOWED                                                                               \
    "\"decision\":\"allow\",\"code\":200,\"allowed_by\":{\"binding\":\"ClusterRoleBinding "        \
    "otel-collector-collector\",\"role\":\"ClusterRole otel-collector-collector\"}"

static const char seed_rbac[] =
    "apiVersion: rbac.authorization.k8s.io/v1\n"
    "kind: ClusterRole\n"
    "metadata: {name: otel-collector-collector}\n"
    "rules:\n"
    "  - {apiGroups: [\"\"], resources: [nodes, pods, services, endpoints], verbs: [get, list, "
    "watch]}\n"
    "---\n"
    "apiVersion: rbac.authorization.k8s.io/v1\n"
    "kind: ClusterRoleBinding\n"
    "metadata: {name: otel-collector-collector}\n"
    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "
    "otel-collector-collector}\n"
    "subjects: [{kind: ServiceAccount, name: otel-collector-collector, namespace: "
    "opentelemetry}]\n"
    /* bootstrap: skipped even though it names every authenticated user */
    "---\n"
    "apiVersion: rbac.authorization.k8s.io/v1\n"
    "kind: ClusterRole\n"
    "metadata: {name: \"system:discovery\"}\n"
    "rules: [{nonResourceURLs: [/api, /apis], verbs: [get]}]\n"
    "---\n"
    "apiVersion: rbac.authorization.k8s.io/v1\n"
    "kind: ClusterRoleBinding\n"
    "metadata: {name: \"system:discovery\"}\n"
    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "
    "\"system:discovery\"}\n"
    "subjects: [{kind: Group, name: \"system:authenticated\"}]\n"
    /* another identity's binding */
    "---\n"
    "apiVersion: rbac.authorization.k8s.io/v1\n"
    "kind: ClusterRoleBinding\n"
    "metadata: {name: otel-collector-targetallocator}\n"
    "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "
    "otel-collector-collector}\n"
    "subjects: [{kind: ServiceAccount, name: otel-collector-targetallocator, namespace: "
    "opentelemetry}]\n";

static void test_unused_grants_of_the_seed_rbac(void **state)
{
    (void)state;
    json_t *objects = objects_of(seed_rbac);
    /* What k8sattributes' pod informer does: list and watch pods, cluster-wide. */
    json_t *view =
        view_of("[{\"verb\":\"list\",\"resource\":\"pods\",\"scope\":\"cluster\"," SEED_ALLOWED
                "},{\"verb\":\"watch\",\"resource\":\"pods\",\"scope\":\"cluster\"," SEED_ALLOWED
                "},{\"verb\":\"list\",\"resource\":\"replicasets.apps\",\"scope\":"
                "\"cluster\",\"decision\":\"forbid\",\"code\":403}]");
    json_t *unused = k8s_calls_unused_grants(objects, view, SA);
    assert_int_equal(json_array_size(unused), 1);
    const json_t *entry = json_array_get(unused, 0);
    assert_string_equal(json_string_value(json_object_get(entry, "binding")),
                        "ClusterRoleBinding otel-collector-collector");
    assert_string_equal(json_string_value(json_object_get(entry, "role")),
                        "ClusterRole otel-collector-collector");
    assert_int_equal(json_integer_value(json_object_get(entry, "rule")), 0);
    json_t *want_used = json_loads("[\"list pods\",\"watch pods\"]", 0, NULL);
    json_t *want_unused =
        json_loads("[\"get nodes\",\"get pods\",\"get services\",\"get endpoints\",\"list nodes\","
                   "\"list services\",\"list endpoints\",\"watch nodes\",\"watch services\","
                   "\"watch endpoints\"]",
                   0, NULL);
    assert_true(json_equal(json_object_get(entry, "used"), want_used));
    assert_true(json_equal(json_object_get(entry, "unused"), want_unused));
    char text[1024];
    k8s_calls_describe_unused(entry, text, sizeof(text));
    assert_string_equal(text, "ClusterRole otel-collector-collector (ClusterRoleBinding "
                              "otel-collector-collector) rule 0: get nodes, get pods, get "
                              "services, get endpoints, list nodes, list services, list "
                              "endpoints, watch nodes, watch services, watch endpoints");
    json_decref(want_used);
    json_decref(want_unused);
    json_decref(unused);
    json_decref(view);

    /* No call at all: the whole rule is unused, and says so. */
    view = json_object();
    unused = k8s_calls_unused_grants(objects, view, SA);
    assert_int_equal(json_array_size(json_object_get(json_array_get(unused, 0), "unused")), 12);
    k8s_calls_describe_unused(json_array_get(unused, 0), text, sizeof(text));
    assert_non_null(strstr(text, "rule 0, never used: get nodes"));
    json_decref(unused);
    json_decref(view);
    json_decref(objects);
}

/* rbac.yaml's collector grants: every pair used leaves nothing to report. */
static void test_no_unused_grants_when_every_pair_is_used(void **state)
{
    (void)state;
    json_t *objects =
        objects_of("apiVersion: rbac.authorization.k8s.io/v1\n"
                   "kind: ClusterRole\n"
                   "metadata: {name: otel-collector-collector}\n"
                   "rules:\n"
                   "  - {apiGroups: [\"\"], resources: [pods], verbs: [list, watch]}\n"
                   "  - {apiGroups: [apps], resources: [replicasets], verbs: [list, watch]}\n"
                   "---\n"
                   "apiVersion: rbac.authorization.k8s.io/v1\n"
                   "kind: ClusterRoleBinding\n"
                   "metadata: {name: otel-collector-collector}\n"
                   "roleRef: {kind: ClusterRole, name: otel-collector-collector}\n"
                   "subjects: [{kind: ServiceAccount, name: otel-collector-collector, namespace: "
                   "opentelemetry}]\n");
    json_t *view =
        view_of("[{\"verb\":\"list\",\"resource\":\"pods\"," SEED_ALLOWED "},"
                "{\"verb\":\"watch\",\"resource\":\"pods\"," SEED_ALLOWED "},"
                "{\"verb\":\"list\",\"resource\":\"replicasets.apps\"," SEED_ALLOWED "}]");
    json_t *unused = k8s_calls_unused_grants(objects, view, SA);
    /* watch replicasets is the one pair left. */
    assert_int_equal(json_array_size(unused), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(unused, 0), "rule")), 1);
    json_t *want = json_loads("[\"watch replicasets.apps\"]", 0, NULL);
    assert_true(json_equal(json_object_get(json_array_get(unused, 0), "unused"), want));
    json_decref(want);
    json_decref(unused);
    json_decref(view);
    view = view_of("[{\"verb\":\"list\",\"resource\":\"pods\"," SEED_ALLOWED "},"
                   "{\"verb\":\"watch\",\"resource\":\"pods\"," SEED_ALLOWED "},"
                   "{\"verb\":\"list\",\"resource\":\"replicasets.apps\"," SEED_ALLOWED "},"
                   "{\"verb\":\"watch\",\"resource\":\"replicasets.apps\"," SEED_ALLOWED "}]");
    unused = k8s_calls_unused_grants(objects, view, SA);
    assert_int_equal(json_array_size(unused), 0);
    json_decref(unused);
    json_decref(view);
    json_decref(objects);
}

/* A call counts for the first rule of its role that allows it, and only for the binding the
 * authorizer named: a second binding of the same role stays unused. Wildcards, resourceNames,
 * subresources, RoleBindings (with their namespace), group subjects and missing roles. */
static void test_attribution_follows_the_authorizer(void **state)
{
    (void)state;
    json_t *objects =
        objects_of("apiVersion: rbac.authorization.k8s.io/v1\n"
                   "kind: Role\n"
                   "metadata: {name: reader, namespace: shop}\n"
                   "rules:\n"
                   "  - {apiGroups: [\"*\"], resources: [\"*\"], verbs: [get]}\n"
                   "  - {apiGroups: [\"\"], resources: [pods, pods/log], verbs: [get, list]}\n"
                   "  - {apiGroups: [\"\"], resources: [configmaps], resourceNames: [settings], "
                   "verbs: [get]}\n"
                   "---\n"
                   "apiVersion: rbac.authorization.k8s.io/v1\n"
                   "kind: RoleBinding\n"
                   "metadata: {name: reader, namespace: shop}\n"
                   "roleRef: {kind: Role, name: reader}\n"
                   "subjects: [{kind: Group, name: \"system:serviceaccounts:opentelemetry\"}]\n"
                   "---\n"
                   "apiVersion: rbac.authorization.k8s.io/v1\n"
                   "kind: RoleBinding\n"
                   "metadata: {name: reader-again, namespace: shop}\n"
                   "roleRef: {kind: Role, name: reader}\n"
                   "subjects: [{kind: ServiceAccount, name: otel-collector-collector, namespace: "
                   "opentelemetry}]\n"
                   "---\n"
                   "apiVersion: rbac.authorization.k8s.io/v1\n"
                   "kind: RoleBinding\n"
                   "metadata: {name: gone, namespace: shop}\n"
                   "roleRef: {kind: Role, name: not-there}\n"
                   "subjects: [{kind: User, name: \"" SA "\"}]\n"
                   "---\n"
                   "apiVersion: rbac.authorization.k8s.io/v1\n"
                   "kind: RoleBinding\n"
                   "metadata: {name: someone-else, namespace: shop}\n"
                   "roleRef: {kind: Role, name: reader}\n"
                   "subjects: [{kind: Group, name: \"system:serviceaccounts:kube-system\"}]\n");
#define BY_READER                                                                                  \
    "\"decision\":\"allow\",\"allowed_by\":{\"binding\":\"RoleBinding reader/shop\",\"role\":"     \
    "\"Role reader\"}"
    json_t *view = view_of(
        /* rule 0 (the wildcard) allows it first, so rule 1's get pods stays unused */
        "[{\"verb\":\"get\",\"resource\":\"pods\",\"namespace\":\"shop\",\"name\":\"a\"," BY_READER
        "},"
        /* rule 1: list pods, and the log subresource */
        "{\"verb\":\"list\",\"resource\":\"pods\",\"namespace\":\"shop\"," BY_READER "},"
        "{\"verb\":\"list\",\"resource\":\"pods\",\"subresource\":\"log\",\"namespace\":\"shop\","
        "\"name\":\"a\"," BY_READER "}]");
#undef BY_READER
    json_t *unused = k8s_calls_unused_grants(objects, view, SA);
    /* reader: rule 1 (get pods, get pods/log unused) and rule 2 (configmaps, never used); rule 0
     * used whole. reader-again: all three rules unused. gone: missing. someone-else: not ours. */
    assert_int_equal(json_array_size(unused), 2 + 3 + 1);
    const json_t *e = json_array_get(unused, 0);
    assert_string_equal(json_string_value(json_object_get(e, "binding")),
                        "RoleBinding reader/shop");
    assert_int_equal(json_integer_value(json_object_get(e, "rule")), 1);
    json_t *want = json_loads("[\"get pods\",\"get pods/log\"]", 0, NULL);
    assert_true(json_equal(json_object_get(e, "unused"), want));
    json_decref(want);
    want = json_loads("[\"list pods\",\"list pods/log\"]", 0, NULL);
    assert_true(json_equal(json_object_get(e, "used"), want));
    json_decref(want);
    e = json_array_get(unused, 1);
    assert_int_equal(json_integer_value(json_object_get(e, "rule")), 2);
    assert_int_equal(json_array_size(json_object_get(e, "used")), 0);
    assert_non_null(json_object_get(json_object_get(e, "granted"), "resourceNames"));
    e = json_array_get(unused, 2);
    assert_string_equal(json_string_value(json_object_get(e, "binding")),
                        "RoleBinding reader-again/shop");
    assert_int_equal(json_integer_value(json_object_get(e, "rule")), 0);
    want = json_loads("[\"get *.*\"]", 0, NULL);
    assert_true(json_equal(json_object_get(e, "unused"), want));
    json_decref(want);
    e = json_array_get(unused, 5);
    assert_string_equal(json_string_value(json_object_get(e, "binding")), "RoleBinding gone/shop");
    assert_true(json_is_true(json_object_get(e, "missing")));
    char line[512];
    k8s_calls_describe_unused(e, line, sizeof(line));
    assert_string_equal(line, "Role not-there (RoleBinding gone/shop): the role does not exist");
    json_decref(unused);
    json_decref(view);
    json_decref(objects);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_call_keeps_what_rbac_decides_on_and_drops_what_varies),
        cmocka_unit_test(test_the_view_is_per_identity_sorted_and_without_repeats),
        cmocka_unit_test(test_identities_as_scenarios_write_them),
        cmocka_unit_test(test_unused_grants_of_the_seed_rbac),
        cmocka_unit_test(test_no_unused_grants_when_every_pair_is_used),
        cmocka_unit_test(test_attribution_follows_the_authorizer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
