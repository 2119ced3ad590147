/*
 * test_k8s_rbac_manifests.c - the repository's two RBAC manifests, read as the fake Kubernetes
 * API will read them, through the RBAC evaluator: what the team's documented RBAC
 * (kind/manifests/rbac-seed.yaml) lets the collector and the Target Allocator do, and what the
 * fixed one (kind/manifests/rbac.yaml) does. A change to either file that changes an answer
 * here changes what the kind run and the local runs will show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "k8s_rbac.h"
#include "yamljson.h"

#define SEED "kind/manifests/rbac-seed.yaml"
#define FIXED "kind/manifests/rbac.yaml"
#define COLLECTOR "otel-collector-collector"
#define TA "otel-collector-targetallocator"

static const struct {
    const char *manifest, *account, *verb, *group, *resource, *namespace_;
    bool allowed;
    const char *why;
} cases[] = {
    /* The team's RBAC as documented. */
    {SEED, COLLECTOR, "list", "", "pods", "", true, "the pod informer"},
    {SEED, COLLECTOR, "watch", "", "pods", "", true, "the pod informer"},
    {SEED, COLLECTOR, "get", "", "nodes", "", true, "granted, never used by the config"},
    {SEED, COLLECTOR, "list", "apps", "replicasets", "", false,
     "k8s.deployment.name needs it (U11)"},
    {SEED, COLLECTOR, "list", "", "namespaces", "", false, "not granted"},
    {SEED, COLLECTOR, "list", "monitoring.coreos.com", "servicemonitors", "", false,
     "the Target Allocator's grant is not the collector's"},
    {SEED, TA, "list", "monitoring.coreos.com", "servicemonitors", "", true, "granted"},
    {SEED, TA, "watch", "monitoring.coreos.com", "podmonitors", "", true, "granted"},
    {SEED, TA, "list", "monitoring.coreos.com", "probes", "", false, "U14: only logged"},
    {SEED, TA, "list", "monitoring.coreos.com", "scrapeconfigs", "", false, "U14: only logged"},
    {SEED, TA, "list", "discovery.k8s.io", "endpointslices", "", false,
     "ServiceMonitor targets use role endpointslice"},
    {SEED, TA, "list", "", "namespaces", "", true, "the all-namespaces informer"},
    {SEED, "default", "list", "", "pods", "", false, "another account of the namespace"},
    /* What the config needs. */
    {FIXED, COLLECTOR, "list", "", "pods", "", true, "the pod informer"},
    {FIXED, COLLECTOR, "get", "", "pods", "", false, "informers never get"},
    {FIXED, COLLECTOR, "list", "apps", "replicasets", "", true, "the ReplicaSet informer"},
    {FIXED, COLLECTOR, "list", "", "nodes", "", false, "k8s.node.name is the pod's nodeName"},
    {FIXED, TA, "list", "monitoring.coreos.com", "probes", "", true, "every CRD discovery shows"},
    {FIXED, TA, "watch", "monitoring.coreos.com", "scrapeconfigs", "", true, "ditto"},
    {FIXED, TA, "list", "discovery.k8s.io", "endpointslices", "", true, "role endpointslice"},
    {FIXED, TA, "list", "", "secrets", "", false, "left out until a scenario needs it"},
    {FIXED, TA, "get", "monitoring.coreos.com", "servicemonitors", "", false, "list/watch only"},
};

static json_t *load(const char *relative)
{
    const char *root = getenv("OTEL_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", root ? root : ".", relative);
    json_t *docs = NULL;
    struct error err = {0};
    if (yamljson_load_file(path, &docs, NULL, &err) < 0)
        fail_msg("%s", err.message);
    assert_true(json_is_array(docs));
    return docs;
}

static void test_what_each_manifest_allows(void **state)
{
    (void)state;
    json_t *seed = load(SEED), *fixed = load(FIXED);
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct k8s_rbac_service_account sa;
        assert_int_equal(k8s_rbac_service_account_user(&sa, "opentelemetry", cases[i].account), 0);
        struct k8s_rbac_attributes attrs = {.resource_request = true,
                                            .verb = cases[i].verb,
                                            .api_group = cases[i].group,
                                            .resource = cases[i].resource,
                                            .namespace = cases[i].namespace_};
        struct k8s_rbac_decision d;
        k8s_rbac_authorize(strcmp(cases[i].manifest, SEED) == 0 ? seed : fixed, &sa.user, &attrs,
                           &d);
        if (d.allowed != cases[i].allowed) {
            print_error("%s: %s %s %s/%s: %s, want %s (%s)\n", cases[i].manifest, cases[i].account,
                        cases[i].verb, cases[i].group, cases[i].resource,
                        d.allowed ? "allowed" : "denied", cases[i].allowed ? "allowed" : "denied",
                        cases[i].why);
            failures++;
        }
    }
    json_decref(seed);
    json_decref(fixed);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_what_each_manifest_allows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
