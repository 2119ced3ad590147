/*
 * test_k8s_request.c - RequestInfo as the API server resolves it, as a table: method, path and
 * the `watch` query value in; resource or not, verb, group, version, namespace, resource,
 * subresource and name out (apiserver requestinfo.go and its tests' cases).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "k8s_request.h"

static const struct {
    const char *method, *path, *watch;
    bool resource;
    const char *verb, *group, *version, *ns, *resource_name, *subresource, *name;
} cases[] = {
    /* core group */
    {"GET", "/api/v1/pods", NULL, true, "list", "", "v1", "", "pods", "", ""},
    {"GET", "/api/v1/pods", "true", true, "watch", "", "v1", "", "pods", "", ""},
    {"GET", "/api/v1/pods", "1", true, "watch", "", "v1", "", "pods", "", ""},
    {"GET", "/api/v1/pods", "false", true, "list", "", "v1", "", "pods", "", ""},
    {"GET", "/api/v1/pods", "0", true, "list", "", "v1", "", "pods", "", ""},
    {"GET", "/api/v1/pods", "FALSE", true, "list", "", "v1", "", "pods", "", ""},
    {"GET", "/api/v1/namespaces/shop/pods", NULL, true, "list", "", "v1", "shop", "pods", "", ""},
    {"GET", "/api/v1/namespaces/shop/pods/web-1", NULL, true, "get", "", "v1", "shop", "pods", "",
     "web-1"},
    {"GET", "/api/v1/namespaces/shop/pods/web-1/log", NULL, true, "get", "", "v1", "shop", "pods",
     "log", "web-1"},
    {"PUT", "/api/v1/namespaces/shop/pods/web-1/status", NULL, true, "update", "", "v1", "shop",
     "pods", "status", "web-1"},
    {"POST", "/api/v1/namespaces/shop/pods", NULL, true, "create", "", "v1", "shop", "pods", "",
     ""},
    {"PATCH", "/api/v1/namespaces/shop/pods/web-1", NULL, true, "patch", "", "v1", "shop", "pods",
     "", "web-1"},
    {"DELETE", "/api/v1/namespaces/shop/pods/web-1", NULL, true, "delete", "", "v1", "shop", "pods",
     "", "web-1"},
    {"DELETE", "/api/v1/namespaces/shop/pods", NULL, true, "deletecollection", "", "v1", "shop",
     "pods", "", ""},
    {"HEAD", "/api/v1/nodes/kind-worker", NULL, true, "get", "", "v1", "", "nodes", "",
     "kind-worker"},
    /* the namespace object itself, and its own subresources */
    {"GET", "/api/v1/namespaces", NULL, true, "list", "", "v1", "", "namespaces", "", ""},
    {"GET", "/api/v1/namespaces/shop", NULL, true, "get", "", "v1", "shop", "namespaces", "",
     "shop"},
    {"PUT", "/api/v1/namespaces/shop/status", NULL, true, "update", "", "v1", "shop", "namespaces",
     "status", "shop"},
    {"PUT", "/api/v1/namespaces/shop/finalize", NULL, true, "update", "", "v1", "shop",
     "namespaces", "finalize", "shop"},
    /* named groups */
    {"GET", "/apis/apps/v1/replicasets", NULL, true, "list", "apps", "v1", "", "replicasets", "",
     ""},
    {"GET", "/apis/apps/v1/namespaces/shop/replicasets", "true", true, "watch", "apps", "v1",
     "shop", "replicasets", "", ""},
    {"GET", "/apis/monitoring.coreos.com/v1/servicemonitors", NULL, true, "list",
     "monitoring.coreos.com", "v1", "", "servicemonitors", "", ""},
    {"POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", NULL, true, "create",
     "authorization.k8s.io", "v1", "", "selfsubjectaccessreviews", "", ""},
    /* the legacy watch prefix */
    {"GET", "/api/v1/watch/pods", NULL, true, "watch", "", "v1", "", "pods", "", ""},
    {"GET", "/api/v1/watch/namespaces/shop/pods/web-1", NULL, true, "watch", "", "v1", "shop",
     "pods", "", "web-1"},
    {"GET", "/apis/apps/v1/watch/replicasets", NULL, true, "watch", "apps", "v1", "", "replicasets",
     "", ""},
    /* non-resource requests: the verb is the lower-case method */
    {"GET", "/version", NULL, false, "get", "", "", "", "", "", ""},
    {"GET", "/api", NULL, false, "get", "", "", "", "", "", ""},
    {"GET", "/api/v1", NULL, false, "get", "", "", "", "", "", ""},
    {"GET", "/apis", NULL, false, "get", "", "", "", "", "", ""},
    {"GET", "/apis/apps/v1", NULL, false, "get", "", "", "", "", "", ""},
    {"GET", "/openapi/v2", NULL, false, "get", "", "", "", "", "", ""},
    {"POST", "/healthz", NULL, false, "post", "", "", "", "", "", ""},
    {"GET", "/api/v1/watch", NULL, false, "get", "", "", "", "", "", ""},
    {"GET", "/", NULL, false, "get", "", "", "", "", "", ""},
    /* doubled slashes are dropped, as Go's splitPath does */
    {"GET", "//api//v1//pods", NULL, true, "list", "", "v1", "", "pods", "", ""},
};

static void test_request_info_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct k8s_request_info info;
        k8s_request_parse(cases[i].method, cases[i].path, cases[i].watch, &info);
        if (info.resource_request != cases[i].resource || strcmp(info.verb, cases[i].verb) ||
            strcmp(info.group, cases[i].group) || strcmp(info.version, cases[i].version) ||
            strcmp(info.namespace_, cases[i].ns) || strcmp(info.resource, cases[i].resource_name) ||
            strcmp(info.subresource, cases[i].subresource) || strcmp(info.name, cases[i].name))
            fail_msg("%s %s (watch=%s): got resource=%d verb=%s group=%s version=%s ns=%s "
                     "resource=%s sub=%s name=%s",
                     cases[i].method, cases[i].path, cases[i].watch ? cases[i].watch : "-",
                     info.resource_request, info.verb, info.group, info.version, info.namespace_,
                     info.resource, info.subresource, info.name);
    }
}

static void test_overlong_paths_are_not_resource_requests(void **state)
{
    (void)state;
    char path[2048];
    memset(path, 'a', sizeof(path) - 1);
    path[sizeof(path) - 1] = '\0';
    memcpy(path, "/api/v1/pods/", 13);
    struct k8s_request_info info;
    k8s_request_parse("GET", path, NULL, &info);
    assert_false(info.resource_request);
    char name[600];
    snprintf(name, sizeof(name), "/api/v1/pods/%0500d", 7);
    k8s_request_parse("GET", name, NULL, &info);
    assert_false(info.resource_request);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_info_table),
        cmocka_unit_test(test_overlong_paths_are_not_resource_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
