/*
 * test_k8s_resources.c - the fake Kubernetes API's types and discovery documents, in the shapes
 * client-go and kubectl read (shared/facts/pipeline.md §10 "Discovery").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "k8s_resources.h"

/* The JSON at `path` ("items.0.versions.0.version") of `doc`, by object keys and array
 * indexes. */
static json_t *at(json_t *doc, const char *path)
{
    char key[64];
    while (doc && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, path);
        doc = json_is_array(doc) ? json_array_get(doc, strtoul(key, NULL, 10))
                                 : json_object_get(doc, key);
        path += n + (path[n] == '.');
    }
    return doc;
}

static const char *str_at(json_t *doc, const char *path)
{
    return json_string_value(at(doc, path));
}

static void test_types_are_found_by_every_name_kubectl_accepts(void **state)
{
    (void)state;
    const struct k8s_resource_type *pods = k8s_resource_find("", "pods");
    assert_non_null(pods);
    assert_ptr_equal(k8s_resource_by_any_name("po"), pods);
    assert_ptr_equal(k8s_resource_by_any_name("Pod"), pods);
    assert_ptr_equal(k8s_resource_by_any_name("pod"), pods);
    assert_ptr_equal(k8s_resource_by_kind("", "v1", "Pod"), pods);
    assert_string_equal(pods->api_version, "v1");
    const struct k8s_resource_type *sm = k8s_resource_by_any_name("smon");
    assert_non_null(sm);
    assert_string_equal(sm->plural, "servicemonitors");
    assert_string_equal(sm->api_version, "monitoring.coreos.com/v1");
    assert_string_equal(k8s_resource_find("apps", "replicasets")->api_version, "apps/v1");
    assert_null(k8s_resource_find("", "replicasets")); /* apps, not core */
    assert_null(k8s_resource_by_any_name("widgets"));
}

static void test_every_type_the_issue_names_is_served(void **state)
{
    (void)state;
    static const char *const wanted[][2] = {
        {"", "pods"},
        {"", "nodes"},
        {"", "namespaces"},
        {"", "services"},
        {"", "endpoints"},
        {"", "serviceaccounts"},
        {"", "configmaps"},
        {"apps", "replicasets"},
        {"apps", "deployments"},
        {"apps", "daemonsets"},
        {"apps", "statefulsets"},
        {"discovery.k8s.io", "endpointslices"},
        {"monitoring.coreos.com", "servicemonitors"},
        {"monitoring.coreos.com", "podmonitors"},
        {"monitoring.coreos.com", "probes"},
        {"monitoring.coreos.com", "scrapeconfigs"},
        {"rbac.authorization.k8s.io", "roles"},
        {"rbac.authorization.k8s.io", "rolebindings"},
        {"rbac.authorization.k8s.io", "clusterroles"},
        {"rbac.authorization.k8s.io", "clusterrolebindings"},
        {"authorization.k8s.io", "selfsubjectaccessreviews"},
        {"authorization.k8s.io", "subjectaccessreviews"},
    };
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
        assert_non_null(k8s_resource_find(wanted[i][0], wanted[i][1]));
}

static void test_legacy_discovery_documents(void **state)
{
    (void)state;
    json_t *v = k8s_discovery_version();
    assert_string_equal(str_at(v, "gitVersion"), "v1.32.0");
    assert_string_equal(str_at(v, "minor"), "32");
    json_decref(v);

    json_t *api = k8s_discovery_api_versions("127.0.0.1:6443");
    assert_string_equal(str_at(api, "kind"), "APIVersions");
    assert_string_equal(str_at(api, "versions.0"), "v1");
    assert_string_equal(str_at(api, "serverAddressByClientCIDRs.0.serverAddress"),
                        "127.0.0.1:6443");
    json_decref(api);

    json_t *groups = k8s_discovery_group_list();
    assert_string_equal(str_at(groups, "kind"), "APIGroupList");
    assert_string_equal(str_at(groups, "groups.0.name"), "apps");
    assert_string_equal(str_at(groups, "groups.0.preferredVersion.groupVersion"), "apps/v1");
    /* monitoring.coreos.com serves v1 (preferred) and v1alpha1 (scrapeconfigs). */
    json_t *list = at(groups, "groups");
    bool monitoring = false;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *g = json_array_get(list, i);
        if (strcmp(str_at(g, "name"), "monitoring.coreos.com") != 0)
            continue;
        monitoring = true;
        assert_int_equal(json_array_size(at(g, "versions")), 2);
        assert_string_equal(str_at(g, "preferredVersion.version"), "v1");
        assert_string_equal(str_at(g, "versions.1.groupVersion"), "monitoring.coreos.com/v1alpha1");
    }
    assert_true(monitoring);
    json_decref(groups);

    bool found;
    json_t *core = k8s_discovery_resource_list("", "v1", &found);
    assert_true(found);
    assert_string_equal(str_at(core, "groupVersion"), "v1");
    assert_string_equal(str_at(core, "resources.0.name"), "pods");
    assert_true(json_is_true(at(core, "resources.0.namespaced")));
    assert_string_equal(str_at(core, "resources.0.shortNames.0"), "po");
    assert_string_equal(str_at(core, "resources.0.verbs.4"), "list");
    assert_string_equal(str_at(core, "resources.1.name"), "pods/status");
    json_decref(core);
    json_t *apps = k8s_discovery_resource_list("apps", "v1", &found);
    assert_true(found);
    assert_string_equal(str_at(apps, "groupVersion"), "apps/v1");
    json_decref(apps);
    assert_null(k8s_discovery_resource_list("batch", "v1", &found));
    assert_false(found);
}

static void test_aggregated_discovery_documents(void **state)
{
    (void)state;
    json_t *core = k8s_discovery_aggregated(true);
    assert_string_equal(str_at(core, "kind"), "APIGroupDiscoveryList");
    assert_string_equal(str_at(core, "apiVersion"), "apidiscovery.k8s.io/v2");
    assert_int_equal(json_array_size(at(core, "items")), 1);
    assert_null(at(core, "items.0.metadata.name")); /* the core group has no name */
    assert_string_equal(str_at(core, "items.0.versions.0.version"), "v1");
    assert_string_equal(str_at(core, "items.0.versions.0.freshness"), "Current");
    json_t *pods = at(core, "items.0.versions.0.resources.0");
    assert_string_equal(str_at(pods, "resource"), "pods");
    assert_string_equal(str_at(pods, "scope"), "Namespaced");
    assert_string_equal(str_at(pods, "responseKind.kind"), "Pod");
    assert_string_equal(str_at(pods, "responseKind.group"), "");
    assert_string_equal(str_at(pods, "subresources.0.subresource"), "status");
    assert_string_equal(str_at(pods, "categories.0"), "all");
    json_t *nodes = at(core, "items.0.versions.0.resources.1");
    assert_string_equal(str_at(nodes, "scope"), "Cluster");
    json_decref(core);

    json_t *groups = k8s_discovery_aggregated(false);
    assert_string_equal(str_at(groups, "items.0.metadata.name"), "apps");
    assert_true(json_array_size(at(groups, "items")) >= 5);
    json_decref(groups);
}

static void test_the_accept_header_picks_the_form(void **state)
{
    (void)state;
    /* client-go 0.34 (discovery_client.go) */
    assert_true(k8s_discovery_wants_aggregated(
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/"
        "json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"));
    assert_false(k8s_discovery_wants_aggregated(
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
        "application/json"));
    assert_false(k8s_discovery_wants_aggregated("application/json"));
    assert_false(k8s_discovery_wants_aggregated(NULL));
    assert_false(k8s_discovery_wants_aggregated(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_are_found_by_every_name_kubectl_accepts),
        cmocka_unit_test(test_every_type_the_issue_names_is_served),
        cmocka_unit_test(test_legacy_discovery_documents),
        cmocka_unit_test(test_aggregated_discovery_documents),
        cmocka_unit_test(test_the_accept_header_picks_the_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
