/*
 * test_k8s_openapi.c - the OpenAPI v3 documents kubectl reads before apply: the root lists each
 * group-version at a hashed serverRelativeURL, and each document has, per patchable type, a
 * patch operation with its x-kubernetes-group-version-kind, the fieldValidation parameter and
 * the patch media types the fake accepts (no strategic merge patch for custom resources).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "k8s_openapi.h"

static void test_root_lists_every_group_version(void **state)
{
    int found = 0;
    json_t *root = k8s_openapi_document("/openapi/v3", &found);
    assert_true(found);
    json_t *paths = json_object_get(root, "paths");
    const char *url = json_string_value(
        json_object_get(json_object_get(paths, "apis/apps/v1"), "serverRelativeURL"));
    assert_non_null(url);
    assert_memory_equal(url, "/openapi/v3/apis/apps/v1?hash=", 30);
    assert_non_null(json_object_get(paths, "api/v1"));
    assert_non_null(json_object_get(paths, "apis/monitoring.coreos.com/v1"));
    json_decref(root);
}

/* The patch operation of `path` in the document of `gv`; borrowed from *doc (caller decrefs). */
static json_t *patch_operation(const char *gv, const char *path, json_t **doc)
{
    int found = 0;
    char where[256];
    snprintf(where, sizeof(where), "/openapi/v3/%s", gv);
    *doc = k8s_openapi_document(where, &found);
    assert_true(found);
    return json_object_get(json_object_get(json_object_get(*doc, "paths"), path), "patch");
}

static bool has_parameter(const json_t *op, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(op, "parameters"), i, p)
    {
        if (!strcmp(json_string_value(json_object_get(p, "name")), name))
            return true;
    }
    return false;
}

static void test_patch_operations_say_what_kubectl_asks(void **state)
{
    json_t *doc = NULL;
    json_t *op = patch_operation("apis/apps/v1",
                                 "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", &doc);
    assert_non_null(op);
    json_t *gvk = json_object_get(op, "x-kubernetes-group-version-kind");
    assert_string_equal(json_string_value(json_object_get(gvk, "kind")), "Deployment");
    assert_string_equal(json_string_value(json_object_get(gvk, "group")), "apps");
    assert_true(has_parameter(op, "fieldValidation"));
    json_t *content = json_object_get(json_object_get(op, "requestBody"), "content");
    assert_non_null(json_object_get(content, "application/strategic-merge-patch+json"));
    assert_non_null(json_object_get(json_object_get(doc, "components"), "schemas"));
    json_decref(doc);

    op = patch_operation(
        "apis/monitoring.coreos.com/v1",
        "/apis/monitoring.coreos.com/v1/namespaces/{namespace}/servicemonitors/{name}", &doc);
    content = json_object_get(json_object_get(op, "requestBody"), "content");
    assert_null(json_object_get(content, "application/strategic-merge-patch+json"));
    assert_non_null(json_object_get(content, "application/merge-patch+json"));
    json_decref(doc);

    op = patch_operation("api/v1", "/api/v1/nodes/{name}", &doc);
    assert_string_equal(json_string_value(json_object_get(op, "operationId")), "patchNode");
    json_decref(doc);

    int found = 1;
    assert_null(k8s_openapi_document("/openapi/v3/apis/nothing.example.com/v1", &found));
    assert_false(found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_lists_every_group_version),
        cmocka_unit_test(test_patch_operations_say_what_kubectl_asks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
