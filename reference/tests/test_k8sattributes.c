/*
 * test_k8sattributes.c - unit tests of the k8sattributes processor
 * (reference/processors/k8sattributes/) against contrib v0.143/v0.144
 * processor/k8sattributesprocessor (facts/pipeline.md §3): config defaults and a validation
 * table with upstream's messages, the keys a pod is stored under, association (the team's two
 * rules, no fall-through, hostNetwork, later start wins, connection), extraction (deployment
 * through the ReplicaSet or from its name, start_time, existing values win unless empty),
 * the deleted-pod grace with an injected clock, the informer list, and all three signals.
 *
 * Pods and ReplicaSets are written as the Kubernetes API returns them (JSON) and fed to the pod
 * table directly, in place of the informers of the later client step.
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
#include <unistd.h>

#include <cmocka.h>

#include "../processors/k8sattributes/k8sattributes.h"
#include "component.h"
#include "component_fixture.h"
#include "options.h"
#include "pdata.h"
#include "yamljson.h"

extern const struct component_descriptor k8sattributes_processor_descriptor;
#define K8S (&k8sattributes_processor_descriptor)

/* The team's section of configs/daemonset.yaml. */
/* Lookups by k8s.pod.uid need a rule: the default association reads IPs only. */
#define BY_UID "pod_association: [{sources: [{from: resource_attribute, name: k8s.pod.uid}]}]"

#define TEAM_CONFIG                                                                                \
    "{extract: {metadata: [k8s.namespace.name, k8s.deployment.name, k8s.pod.name, "                \
    "k8s.node.name]}, passthrough: false, pod_association: [{sources: [{from: "                    \
    "resource_attribute, name: k8s.pod.ip}]}, {sources: [{from: resource_attribute, name: "        \
    "k8s.pod.uid}]}]}"

/* ---- helpers ---- */

static json_t *parse(const char *yaml)
{
    json_t *v = NULL;
    struct error err = {0};
    if (yamljson_parse(yaml, strlen(yaml), "test", &v, NULL, &err) < 0)
        fail_msg("bad test YAML: %s", err.message);
    return v;
}

/* Config and rules of a snippet; free with free_rules. */
struct bound {
    struct k8sattributes_config cfg;
    struct k8sattributes_rules rules;
};

static struct bound *bind_rules(const char *text)
{
    struct bound *b = calloc(1, sizeof(*b));
    struct error err = {0};
    assert_non_null(b);
    if (component_config_bind(K8S, "k8sattributes", text, &b->cfg, &err) < 0)
        fail_msg("bind: %s", err.message);
    if (k8sattributes_rules_build(&b->cfg, &b->rules, &err) < 0)
        fail_msg("rules: %s", err.message);
    return b;
}

static void free_rules(struct bound *b)
{
    k8sattributes_rules_free(&b->rules);
    options_free(k8sattributes_options, &b->cfg);
    free(b);
}

static int64_t fake_now;
static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static void feed_pod(struct k8s_pod_cache *cache, const char *yaml)
{
    json_t *pod = parse(yaml);
    struct error err = {0};
    assert_int_equal(k8s_pod_cache_upsert_pod(cache, pod, &err), 0);
    json_decref(pod);
}

static void delete_pod(struct k8s_pod_cache *cache, const char *yaml)
{
    json_t *pod = parse(yaml);
    struct error err = {0};
    assert_int_equal(k8s_pod_cache_delete_pod(cache, pod, &err), 0);
    json_decref(pod);
}

static void feed_replicaset(struct k8s_pod_cache *cache, const char *yaml)
{
    json_t *rs = parse(yaml);
    struct error err = {0};
    assert_int_equal(k8s_pod_cache_upsert_replicaset(cache, rs, &err), 0);
    json_decref(rs);
}

/* A pod of a Deployment's ReplicaSet. */
#define POD(name, uid, ip, start)                                                                  \
    "{metadata: {name: " name ", namespace: shop, uid: " uid ", creationTimestamp: "               \
    "'2024-05-01T10:00:00Z', ownerReferences: [{kind: ReplicaSet, name: cart-6d4cf56db9, uid: "    \
    "rs-1, controller: true}]}, spec: {nodeName: node-a, containers: [{name: app, image: "         \
    "'registry.example/cart:1.4'}]}, status: {podIP: '" ip "', startTime: '" start "'}}"

static const char *const RS_CART =
    "{metadata: {name: cart-6d4cf56db9, namespace: shop, uid: rs-1, ownerReferences: [{kind: "
    "Deployment, name: cart, uid: dep-1, controller: true}]}}";

/* A resource with string attributes "k=v" pairs (NULL-terminated). */
static otlp_resource *resource_of(const char *const *pairs)
{
    otlp_resource *r = pdata_alloc(sizeof(*r));
    assert_non_null(r);
    opentelemetry__proto__resource__v1__resource__init(r);
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        assert_int_equal(
            pdata_attr_upsert_string(&r->attributes, &r->n_attributes, pairs[i], pairs[i + 1]), 0);
    return r;
}

static void resource_free(otlp_resource *r)
{
    if (r)
        protobuf_c_message_free_unpacked(&r->base, pdata_allocator());
}

static const char *attr(const otlp_resource *r, const char *key)
{
    return r ? pdata_attr_get_string(r->attributes, r->n_attributes, key) : NULL;
}

/* ---- config ---- */

static void test_k8sattributes_defaults(void **state)
{
    (void)state;
    struct bound *b = bind_rules("{}");
    assert_string_equal(b->cfg.auth_type, "serviceAccount");
    assert_false(b->cfg.passthrough);
    assert_false(b->cfg.wait_for_metadata);
    assert_int_equal(b->cfg.wait_for_metadata_timeout_ns, 10000000000LL);
    assert_false(b->cfg.extract.deployment_name_from_replicaset);
    static const char *const want[] = {
        "k8s.namespace.name",  "k8s.pod.name",  "k8s.pod.uid",          "k8s.pod.start_time",
        "k8s.deployment.name", "k8s.node.name", "container.image.name", "container.image.tag"};
    assert_int_equal(b->cfg.extract.metadata.count, 8);
    for (size_t i = 0; i < 8; i++)
        assert_string_equal(b->cfg.extract.metadata.items[i], want[i]);
    assert_int_equal(b->rules.exclude_count, 2); /* jaeger-agent, jaeger-collector */
    assert_int_equal(b->rules.association_count, 0);
    free_rules(b);
}

static void test_k8sattributes_team_config_binds(void **state)
{
    (void)state;
    struct bound *b = bind_rules(TEAM_CONFIG);
    assert_int_equal(b->cfg.extract.metadata.count, 4);
    assert_true(b->rules.fields[K8S_FIELD_DEPLOYMENT_NAME]);
    assert_false(b->rules.fields[K8S_FIELD_POD_UID]);
    assert_int_equal(b->rules.association_count, 2);
    assert_int_equal(b->rules.associations[0].sources[0].from, K8S_FROM_RESOURCE_ATTRIBUTE);
    assert_string_equal(b->rules.associations[1].sources[0].name, "k8s.pod.uid");
    free_rules(b);
}

static void test_k8sattributes_validation_table(void **state)
{
    (void)state;
    static const struct {
        const char *text, *message; /* NULL = valid */
    } rows[] = {
        {TEAM_CONFIG, NULL},
        {"{auth_type: kubeConfig, context: kind-otel}", NULL},
        {"{auth_type: none}", NULL},
        {"{auth_type: tls}", NULL},
        {"{auth_type: token}", "invalid authType for kubernetes: token"},
        {"{pod_association: [{sources: [{from: resource_attribute, name: a}, {from: "
         "resource_attribute, name: b}, {from: resource_attribute, name: c}, {from: "
         "resource_attribute, name: d}, {from: connection}]}]}",
         "too many association sources. limit is 4"},
        {"{pod_association: [{sources: [{from: resource_attribute, name: a}, {from: "
         "resource_attribute, name: b}, {from: resource_attribute, name: c}, {from: "
         "connection}]}]}",
         NULL},
        /* upstream does not check `from` of a source: such a source never matches */
        {"{pod_association: [{sources: [{from: label, name: app}]}]}", NULL},
        {"{pod_association: [{sources: [{form: connection}]}]}", "unknown key \"form\""},
        {"{pod_association: [{source: []}]}", "unknown key \"source\""},
        {"{pod_association: {sources: []}}", "pod_association: expected a list"},
        {"{extract: {metadata: [k8s.pod.name, k8s.pod.color]}}",
         "\"k8s.pod.color\" is not a supported metadata field"},
        {"{extract: {metadata: [k8s.cluster.uid, k8s.pod.hostname, service.name]}}", NULL},
        {"{extract: {labels: [{key: app, key_regex: 'ap.*'}]}}",
         "Out of Key or KeyRegex only one option is expected to be configured at a time, "
         "currently Key:app and KeyRegex:ap.*"},
        {"{extract: {annotations: [{key: team, from: cluster}]}}",
         "cluster is not a valid choice for From. Must be one of: pod, namespace, deployment, "
         "statefulset, daemonset, job, node"},
        {"{extract: {labels: [{key_regex: '(unclosed'}]}}", "error parsing regexp"},
        {"{extract: {labels: [{tag_name: app, key: app, from: namespace}]}}", NULL},
        {"{extract: {labels: [{tagname: app}]}}", "unknown key \"tagname\""},
        {"{filter: {labels: [{key: app, value: cart, op: in}]}}",
         "'in' is not a valid label filter operation for key=app, value=cart"},
        {"{filter: {fields: [{key: status.phase, value: Running, op: exists}]}}",
         "'exists' is not a valid label filter operation for key=status.phase, value=Running"},
        {"{filter: {labels: [{key: app, op: does-not-exist}], fields: [{key: a, value: b, op: "
         "not-equals}]}}",
         NULL},
        {"{filter: {node_from_env_var: K8SATTR_TEST_UNSET_VAR}}",
         "`node_from_env_var` is configured but envvar \"K8SATTR_TEST_UNSET_VAR\" is not set"},
        {"{exclude: {pods: [{name: 'jaeger-.*'}]}}", NULL},
        {"{exclude: {pods: [{name: '(bad'}]}}", "error parsing regexp"},
        {"{wait_for_metadata: true, wait_for_metadata_timeout: 30s}", NULL},
        {"{metadata_sync_timeout: 30s}", "unknown key \"metadata_sync_timeout\""},
        {"{extract: {deployment_name_from_replicaset: true, otel_annotations: true}}", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        component_config_expect(K8S, "k8sattributes", rows[i].text, rows[i].message);
}

/* ---- pod table keys ---- */

static void expect_keys(const char *config, const char *pod_yaml, const char *want)
{
    struct bound *b = bind_rules(config);
    struct k8s_pod_cache *cache = k8s_pod_cache_new(&b->rules, NULL, NULL);
    json_t *pod = parse(pod_yaml);
    char keys[2048];
    assert_true(k8s_pod_cache_describe_keys(cache, pod, keys, sizeof(keys)) >= 0);
    assert_string_equal(keys, want);
    json_decref(pod);
    k8s_pod_cache_free(cache);
    free_rules(b);
}

static void test_k8sattributes_pod_keys_table(void **state)
{
    (void)state;
    static const struct {
        const char *config, *pod, *keys;
    } rows[] = {
        /* the team's rules: ip, uid, then the always-present uid, connection and ip keys */
        {TEAM_CONFIG, POD("cart-1", "u-1", "10.0.0.5", "2024-05-01T10:00:01Z"),
         "resource_attribute/k8s.pod.ip=10.0.0.5\n"
         "resource_attribute/k8s.pod.uid=u-1\n"
         "resource_attribute/k8s.pod.uid=u-1\n"
         "connection=10.0.0.5\n"
         "resource_attribute/k8s.pod.ip=10.0.0.5\n"},
        /* hostNetwork: no connection key and no always-present ip key; a configured
         * resource_attribute k8s.pod.ip rule still keys it (getIdentifiersFromAssoc checks
         * hostNetwork only for connection sources) */
        {TEAM_CONFIG,
         "{metadata: {name: agent, uid: u-h}, spec: {hostNetwork: true}, status: {podIP: "
         "'192.168.1.2'}}",
         "resource_attribute/k8s.pod.ip=192.168.1.2\n"
         "resource_attribute/k8s.pod.uid=u-h\n"
         "resource_attribute/k8s.pod.uid=u-h\n"},
        {"{pod_association: [{sources: [{from: connection}]}]}",
         "{metadata: {name: agent, uid: u-h}, spec: {hostNetwork: true}, status: {podIP: "
         "'192.168.1.2'}}",
         "resource_attribute/k8s.pod.uid=u-h\n"},
        /* no IP yet: only the uid */
        {"{}", "{metadata: {name: pending, uid: u-p}}", "resource_attribute/k8s.pod.uid=u-p\n"},
        /* two sources, and a source naming an extracted attribute */
        {"{pod_association: [{sources: [{from: resource_attribute, name: k8s.namespace.name}, "
         "{from: resource_attribute, name: k8s.pod.name}]}, {sources: [{from: "
         "resource_attribute, name: k8s.node.name}]}]}",
         POD("cart-1", "u-1", "10.0.0.5", "2024-05-01T10:00:01Z"),
         "resource_attribute/k8s.namespace.name=shop+resource_attribute/k8s.pod.name=cart-1\n"
         "resource_attribute/k8s.node.name=node-a\n"
         "resource_attribute/k8s.pod.uid=u-1\n"
         "connection=10.0.0.5\n"
         "resource_attribute/k8s.pod.ip=10.0.0.5\n"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        expect_keys(rows[i].config, rows[i].pod, rows[i].keys);
}

/* ---- association ---- */

struct world {
    struct bound *b;
    struct k8s_pod_cache *cache;
};

static struct world world_new(const char *config)
{
    struct world w;
    w.b = bind_rules(config);
    w.cache = k8s_pod_cache_new(&w.b->rules, fake_clock, NULL);
    assert_non_null(w.cache);
    return w;
}

static void world_free(struct world w)
{
    k8s_pod_cache_free(w.cache);
    free_rules(w.b);
}

/* Processes a resource of `pairs` and returns it (free with resource_free). */
static otlp_resource *run(struct world w, const char *const *pairs, const char *connection,
                          uint64_t *missed)
{
    otlp_resource *r = pairs ? resource_of(pairs) : NULL;
    assert_int_equal(k8s_process_resource(&w.b->rules, w.cache, &r, connection, missed), 0);
    return r;
}

static void test_k8sattributes_team_rules_ip_then_uid(void **state)
{
    (void)state;
    struct world w = world_new(TEAM_CONFIG);
    feed_replicaset(w.cache, RS_CART);
    feed_pod(w.cache, POD("cart-1", "u-1", "10.0.0.5", "2024-05-01T10:00:01Z"));
    uint64_t missed = 0;

    otlp_resource *by_ip =
        run(w, (const char *const[]){"k8s.pod.ip", "10.0.0.5", NULL}, NULL, &missed);
    assert_string_equal(attr(by_ip, "k8s.pod.name"), "cart-1");
    assert_string_equal(attr(by_ip, "k8s.namespace.name"), "shop");
    assert_string_equal(attr(by_ip, "k8s.node.name"), "node-a");
    assert_string_equal(attr(by_ip, "k8s.deployment.name"), "cart");
    assert_null(attr(by_ip, "k8s.pod.uid")); /* not in the team's metadata */
    assert_int_equal(by_ip->n_attributes, 5);

    otlp_resource *by_uid =
        run(w, (const char *const[]){"k8s.pod.uid", "u-1", NULL}, NULL, &missed);
    assert_string_equal(attr(by_uid, "k8s.pod.name"), "cart-1");
    assert_int_equal(missed, 0);
    resource_free(by_ip);
    resource_free(by_uid);
    world_free(w);
}

static void test_k8sattributes_miss_on_first_complete_rule_does_not_fall_through(void **state)
{
    (void)state;
    struct world w = world_new(TEAM_CONFIG);
    feed_pod(w.cache, POD("cart-1", "u-1", "10.0.0.5", "2024-05-01T10:00:01Z"));
    uint64_t missed = 0;
    /* the ip rule is complete and misses: the uid rule, which would hit, is not tried */
    otlp_resource *r =
        run(w, (const char *const[]){"k8s.pod.ip", "10.9.9.9", "k8s.pod.uid", "u-1", NULL}, NULL,
            &missed);
    assert_null(attr(r, "k8s.pod.name"));
    assert_int_equal(missed, 1);
    resource_free(r);
    /* an empty or non-string k8s.pod.ip makes the first rule incomplete: the uid rule decides */
    r = run(w, (const char *const[]){"k8s.pod.ip", "", "k8s.pod.uid", "u-1", NULL}, NULL, &missed);
    assert_string_equal(attr(r, "k8s.pod.name"), "cart-1");
    resource_free(r);
    /* nothing to associate with: no lookup, no miss */
    r = run(w, (const char *const[]){"service.name", "cart", NULL}, NULL, &missed);
    assert_null(attr(r, "k8s.pod.name"));
    assert_int_equal(missed, 1);
    resource_free(r);
    world_free(w);
}

static void test_k8sattributes_host_network_pod_not_found_by_connection(void **state)
{
    (void)state;
    struct world w = world_new("{pod_association: [{sources: [{from: connection}]}]}");
    feed_pod(w.cache, "{metadata: {name: agent, namespace: kube-system, uid: u-h}, spec: "
                      "{hostNetwork: true, nodeName: node-a}, status: {podIP: '192.168.1.2'}}");
    uint64_t missed = 0;
    otlp_resource *r = run(w, NULL, "192.168.1.2", &missed);
    assert_null(attr(r, "k8s.pod.name"));
    assert_int_equal(missed, 1);
    resource_free(r);
    world_free(w);
}

static void test_k8sattributes_later_start_wins_a_shared_ip(void **state)
{
    (void)state;
    struct world w = world_new(TEAM_CONFIG);
    feed_pod(w.cache, POD("new-pod", "u-new", "10.0.0.7", "2024-05-01T11:00:00Z"));
    /* a late update of the pod that had the IP before does not take it back */
    feed_pod(w.cache, POD("old-pod", "u-old", "10.0.0.7", "2024-05-01T09:00:00Z"));
    otlp_resource *r = run(w, (const char *const[]){"k8s.pod.ip", "10.0.0.7", NULL}, NULL, NULL);
    assert_string_equal(attr(r, "k8s.pod.name"), "new-pod");
    resource_free(r);
    /* the old pod is still found by its uid */
    r = run(w, (const char *const[]){"k8s.pod.uid", "u-old", NULL}, NULL, NULL);
    assert_string_equal(attr(r, "k8s.pod.name"), "old-pod");
    resource_free(r);
    /* an equal or later start replaces */
    feed_pod(w.cache, POD("newest-pod", "u-newest", "10.0.0.7", "2024-05-01T11:00:00Z"));
    r = run(w, (const char *const[]){"k8s.pod.ip", "10.0.0.7", NULL}, NULL, NULL);
    assert_string_equal(attr(r, "k8s.pod.name"), "newest-pod");
    resource_free(r);
    world_free(w);
}

static void test_k8sattributes_connection_source(void **state)
{
    (void)state;
    struct world w = world_new("{extract: {metadata: [k8s.pod.name, k8s.pod.ip]}, "
                               "pod_association: [{sources: [{from: connection}]}]}");
    feed_pod(w.cache, POD("cart-1", "u-1", "10.0.0.5", "2024-05-01T10:00:01Z"));
    uint64_t missed = 0;
    otlp_resource *r = run(w, NULL, "10.0.0.5", &missed);
    assert_string_equal(attr(r, "k8s.pod.ip"), "10.0.0.5");
    assert_string_equal(attr(r, "k8s.pod.name"), "cart-1");
    resource_free(r);
    /* no client address: the rule does not apply */
    r = run(w, (const char *const[]){"k8s.pod.ip", "10.0.0.5", NULL}, NULL, &missed);
    assert_null(attr(r, "k8s.pod.name"));
    assert_int_equal(missed, 0);
    resource_free(r);
    world_free(w);
}

static void test_k8sattributes_default_association_and_host_name(void **state)
{
    (void)state;
    struct world w = world_new("{}");
    feed_pod(w.cache, POD("cart-1", "u-1", "10.0.0.5", "2024-05-01T10:00:01Z"));
    otlp_resource *r = run(w, (const char *const[]){"host.name", "10.0.0.5", NULL}, NULL, NULL);
    assert_string_equal(attr(r, "k8s.pod.name"), "cart-1");
    resource_free(r);
    r = run(w, (const char *const[]){"ip", "10.0.0.5", NULL}, NULL, NULL);
    assert_string_equal(attr(r, "k8s.pod.name"), "cart-1");
    resource_free(r);
    uint64_t missed = 0;
    r = run(w, (const char *const[]){"host.name", "cart-1.local", NULL}, NULL, &missed);
    assert_null(attr(r, "k8s.pod.name"));
    assert_int_equal(missed, 0);
    resource_free(r);
    world_free(w);

    /* a host.name rule applies only when the value parses as an IP */
    w = world_new("{pod_association: [{sources: [{from: resource_attribute, name: host.name}]}, "
                  "{sources: [{from: resource_attribute, name: k8s.pod.uid}]}]}");
    feed_pod(w.cache, POD("cart-1", "u-1", "10.0.0.5", "2024-05-01T10:00:01Z"));
    r = run(w, (const char *const[]){"host.name", "node-a", "k8s.pod.uid", "u-1", NULL}, NULL,
            NULL);
    assert_string_equal(attr(r, "k8s.pod.name"), "cart-1");
    resource_free(r);
    world_free(w);
}

static void test_k8sattributes_excluded_and_ignored_pods(void **state)
{
    (void)state;
    struct world w = world_new(TEAM_CONFIG);
    feed_pod(w.cache, "{metadata: {name: jaeger-agent-x1, uid: u-j}, status: {podIP: 10.0.0.8}}");
    feed_pod(w.cache, "{metadata: {name: quiet, uid: u-q, annotations: "
                      "{opentelemetry.io/k8s-processor/ignore: ' True '}}, status: {podIP: "
                      "10.0.0.9}}");
    uint64_t missed = 0;
    otlp_resource *r = run(w, (const char *const[]){"k8s.pod.ip", "10.0.0.8", NULL}, NULL, &missed);
    assert_int_equal(r->n_attributes, 1);
    resource_free(r);
    r = run(w, (const char *const[]){"k8s.pod.uid", "u-q", NULL}, NULL, &missed);
    assert_int_equal(r->n_attributes, 1);
    resource_free(r);
    assert_int_equal(missed, 0); /* an ignored pod is not a miss */
    world_free(w);
}

/* ---- extraction ---- */

static void test_k8sattributes_deployment_from_replicaset_owner(void **state)
{
    (void)state;
    struct world w = world_new(TEAM_CONFIG);
    /* pod seen before its ReplicaSet: no deployment name until the pod's next update */
    feed_pod(w.cache, POD("cart-1", "u-1", "10.0.0.5", "2024-05-01T10:00:01Z"));
    otlp_resource *r = run(w, (const char *const[]){"k8s.pod.uid", "u-1", NULL}, NULL, NULL);
    assert_null(attr(r, "k8s.deployment.name"));
    resource_free(r);
    feed_replicaset(w.cache, RS_CART);
    feed_pod(w.cache, POD("cart-1", "u-1", "10.0.0.5", "2024-05-01T10:00:01Z"));
    r = run(w, (const char *const[]){"k8s.pod.uid", "u-1", NULL}, NULL, NULL);
    assert_string_equal(attr(r, "k8s.deployment.name"), "cart");
    resource_free(r);
    /* an owner that is not the controller gives no name */
    feed_replicaset(w.cache, "{metadata: {name: x-1, uid: rs-2, ownerReferences: [{kind: "
                             "Deployment, name: x, uid: d2}]}}");
    feed_pod(w.cache, "{metadata: {name: x-1-a, uid: u-2, ownerReferences: [{kind: ReplicaSet, "
                      "name: x-1, uid: rs-2}]}}");
    r = run(w, (const char *const[]){"k8s.pod.uid", "u-2", NULL}, NULL, NULL);
    assert_null(attr(r, "k8s.deployment.name"));
    resource_free(r);
    world_free(w);
}

static void test_k8sattributes_deployment_name_from_replicaset_name(void **state)
{
    (void)state;
    struct world w = world_new("{extract: {metadata: [k8s.deployment.name, k8s.cronjob.name, "
                               "k8s.job.name, k8s.replicaset.name], "
                               "deployment_name_from_replicaset: true}, " BY_UID "}");
    static const struct {
        const char *kind, *owner, *deployment, *cronjob;
    } rows[] = {
        {"ReplicaSet", "cart-6d4cf56db9", "cart", NULL},
        {"ReplicaSet", "my-api-v2-7b9f8c6d5e", "my-api-v2", NULL},
        {"ReplicaSet", "cart-6D4CF56DB9", NULL, NULL}, /* not lower-case */
        {"ReplicaSet", "cart-6d4cf56db", NULL, NULL},  /* 9 characters */
        {"ReplicaSet", "standalone", NULL, NULL},
        {"Job", "backup-28571520", NULL, "backup"},
        {"Job", "one-off", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char pod[512];
        snprintf(pod, sizeof(pod),
                 "{metadata: {name: p%zu, uid: u%zu, ownerReferences: [{kind: %s, name: %s, uid: "
                 "o%zu}]}}",
                 i, i, rows[i].kind, rows[i].owner, i);
        feed_pod(w.cache, pod);
        char uid[16];
        snprintf(uid, sizeof(uid), "u%zu", i);
        otlp_resource *r = run(w, (const char *const[]){"k8s.pod.uid", uid, NULL}, NULL, NULL);
        if (rows[i].deployment)
            assert_string_equal(attr(r, "k8s.deployment.name"), rows[i].deployment);
        else
            assert_null(attr(r, "k8s.deployment.name"));
        if (rows[i].cronjob)
            assert_string_equal(attr(r, "k8s.cronjob.name"), rows[i].cronjob);
        else
            assert_null(attr(r, "k8s.cronjob.name"));
        resource_free(r);
    }
    world_free(w);
}

static void test_k8sattributes_start_time_is_creation_timestamp_rfc3339(void **state)
{
    (void)state;
    struct world w = world_new("{" BY_UID "}");
    feed_pod(w.cache, "{metadata: {name: a, uid: u-a, creationTimestamp: "
                      "'2024-05-01T12:30:00+02:00'}, status: {startTime: '2024-05-01T11:00:00Z'}}");
    otlp_resource *r = run(w, (const char *const[]){"k8s.pod.uid", "u-a", NULL}, NULL, NULL);
    /* not status.startTime; printed in UTC */
    assert_string_equal(attr(r, "k8s.pod.start_time"), "2024-05-01T10:30:00Z");
    resource_free(r);
    world_free(w);
}

static void test_k8sattributes_existing_values_win_unless_empty(void **state)
{
    (void)state;
    struct world w = world_new(TEAM_CONFIG);
    feed_pod(w.cache, POD("cart-1", "u-1", "10.0.0.5", "2024-05-01T10:00:01Z"));
    otlp_resource *r = run(w,
                           (const char *const[]){"k8s.pod.uid", "u-1", "k8s.pod.name", "mine",
                                                 "k8s.namespace.name", "", NULL},
                           NULL, NULL);
    assert_string_equal(attr(r, "k8s.pod.name"), "mine");
    assert_string_equal(attr(r, "k8s.namespace.name"), "shop");
    assert_string_equal(attr(r, "k8s.node.name"), "node-a");
    assert_int_equal(r->n_attributes, 4);
    resource_free(r);
    world_free(w);
}

static void test_k8sattributes_labels_annotations_and_containers(void **state)
{
    (void)state;
    struct world w = world_new(
        "{extract: {metadata: [k8s.pod.name, container.image.name, container.image.tag], "
        "labels: [{key: app}, {tag_name: tier, key: tier}, {tag_name: 'k.$1', key_regex: "
        "'team/(.*)'}], annotations: [{key: owner}], otel_annotations: true}, " BY_UID "}");
    feed_pod(w.cache, "{metadata: {name: a, uid: u-a, labels: {app: cart, tier: web, team/x: "
                      "one}, annotations: {owner: ops, resource.opentelemetry.io/service.name: "
                      "cart-svc}}, spec: {containers: [{name: app, image: "
                      "'registry.example:5000/shop/cart:1.4@sha256:abc'}]}}");
    otlp_resource *r = run(w, (const char *const[]){"k8s.pod.uid", "u-a", NULL}, NULL, NULL);
    assert_string_equal(attr(r, "k8s.pod.labels.app"), "cart");
    assert_string_equal(attr(r, "tier"), "web");
    assert_string_equal(attr(r, "k.x"), "one");
    assert_string_equal(attr(r, "k8s.pod.annotations.owner"), "ops");
    assert_string_equal(attr(r, "service.name"), "cart-svc");
    assert_string_equal(attr(r, "container.image.name"), "registry.example:5000/shop/cart");
    assert_string_equal(attr(r, "container.image.tag"), "1.4");
    resource_free(r);
    world_free(w);
}

/* ---- deleted pods ---- */

static void test_k8sattributes_deleted_pod_kept_for_grace_period(void **state)
{
    (void)state;
    fake_now = 1000LL * 1000000000LL;
    struct world w = world_new(TEAM_CONFIG);
    const char *pod = POD("cart-1", "u-1", "10.0.0.5", "2024-05-01T10:00:01Z");
    feed_pod(w.cache, pod);
    size_t keys = k8s_pod_cache_size(w.cache);
    assert_int_equal(keys, 3); /* k8s.pod.ip (rule and always: one key), k8s.pod.uid, connection */
    delete_pod(w.cache, pod);
    fake_now += 119LL * 1000000000LL;
    assert_int_equal(k8s_pod_cache_sweep(w.cache), 0);
    otlp_resource *r = run(w, (const char *const[]){"k8s.pod.ip", "10.0.0.5", NULL}, NULL, NULL);
    assert_string_equal(attr(r, "k8s.pod.name"), "cart-1");
    resource_free(r);
    fake_now += 1LL * 1000000000LL;
    assert_int_equal(k8s_pod_cache_sweep(w.cache), 3);
    assert_int_equal(k8s_pod_cache_size(w.cache), 0);
    uint64_t missed = 0;
    r = run(w, (const char *const[]){"k8s.pod.ip", "10.0.0.5", NULL}, NULL, &missed);
    assert_int_equal(missed, 1);
    resource_free(r);
    world_free(w);
}

static void test_k8sattributes_delete_keeps_key_taken_by_new_pod(void **state)
{
    (void)state;
    fake_now = 0;
    struct world w = world_new(TEAM_CONFIG);
    const char *old_pod = POD("old", "u-old", "10.0.0.7", "2024-05-01T09:00:00Z");
    feed_pod(w.cache, old_pod);
    delete_pod(w.cache, old_pod);
    feed_pod(w.cache, POD("new", "u-new", "10.0.0.7", "2024-05-01T11:00:00Z"));
    fake_now += K8S_POD_DELETE_GRACE_NS;
    assert_int_equal(k8s_pod_cache_sweep(w.cache),
                     1); /* only the old pod's uid key (queued twice) */
    otlp_resource *r = run(w, (const char *const[]){"k8s.pod.ip", "10.0.0.7", NULL}, NULL, NULL);
    assert_string_equal(attr(r, "k8s.pod.name"), "new");
    resource_free(r);
    world_free(w);
}

/* ---- informers ---- */

static int informers_of(const char *config, struct k8s_informer *out)
{
    struct bound *b = bind_rules(config);
    int n = k8s_informers_for(&b->rules, out, K8S_INFORMERS_MAX);
    free_rules(b);
    return n;
}

static void test_k8sattributes_informers_for_team_config(void **state)
{
    (void)state;
    struct k8s_informer inf[K8S_INFORMERS_MAX];
    assert_int_equal(informers_of(TEAM_CONFIG, inf), 2);
    assert_string_equal(inf[0].resource, "replicasets");
    assert_string_equal(inf[0].api_group, "apps");
    assert_string_equal(inf[0].namespace, "");
    assert_string_equal(inf[1].resource, "pods");
    assert_string_equal(inf[1].namespace, "");
    assert_string_equal(inf[1].label_selector, "");
    assert_string_equal(inf[1].field_selector, "");
}

static void test_k8sattributes_informers_for_other_configs(void **state)
{
    (void)state;
    struct k8s_informer inf[K8S_INFORMERS_MAX];
    /* deployment name from the ReplicaSet name: pods only */
    assert_int_equal(informers_of("{extract: {metadata: [k8s.deployment.name], "
                                  "deployment_name_from_replicaset: true}}",
                                  inf),
                     1);
    assert_string_equal(inf[0].resource, "pods");
    /* deployment uid needs ReplicaSets even with deployment_name_from_replicaset */
    assert_int_equal(informers_of("{extract: {metadata: [k8s.deployment.uid], "
                                  "deployment_name_from_replicaset: true}}",
                                  inf),
                     2);
    assert_string_equal(inf[0].resource, "replicasets");
    /* passthrough: no client */
    assert_int_equal(informers_of("{passthrough: true}", inf), 0);
    /* cluster uid: kube-system only; node uid: nodes; filters on the pods */
    setenv("K8SATTR_TEST_NODE", "node-a", 1);
    assert_int_equal(
        informers_of("{extract: {metadata: [k8s.pod.name, k8s.cluster.uid, k8s.node.uid]}, "
                     "filter: {node_from_env_var: K8SATTR_TEST_NODE, namespace: shop, labels: "
                     "[{key: tier, value: web}, {key: app, op: exists}, {key: legacy, op: "
                     "does-not-exist}], fields: [{key: status.phase, value: Running, op: "
                     "not-equals}]}}",
                     inf),
        3);
    unsetenv("K8SATTR_TEST_NODE");
    assert_string_equal(inf[0].resource, "namespaces");
    assert_string_equal(inf[0].field_selector, "metadata.name=kube-system");
    assert_string_equal(inf[1].resource, "nodes");
    assert_string_equal(inf[1].field_selector, "metadata.name=node-a");
    assert_string_equal(inf[2].resource, "pods");
    assert_string_equal(inf[2].namespace, "shop");
    assert_string_equal(inf[2].label_selector, "app,!legacy,tier=web");
    assert_string_equal(inf[2].field_selector, "status.phase!=Running,spec.nodeName=node-a");
    /* namespace labels: every namespace; job labels: jobs */
    assert_int_equal(informers_of("{extract: {metadata: [k8s.pod.name], labels: [{key: team, "
                                  "from: namespace}, {key: a, from: job}]}}",
                                  inf),
                     3);
    assert_string_equal(inf[0].resource, "namespaces");
    assert_string_equal(inf[0].field_selector, "");
    assert_string_equal(inf[1].resource, "jobs");
    assert_string_equal(inf[1].api_group, "batch");
    assert_string_equal(inf[2].resource, "pods");
}

/* ---- the processor ---- */

struct keeper {
    struct consumer consumer;
    struct payload *last;
};

static int keep_consume(struct consumer *self, struct payload *p, struct error *err)
{
    (void)err;
    struct keeper *k = self->ctx;
    payload_free(k->last);
    k->last = p;
    return 0;
}

static otlp_resource *first_resource(struct payload *p)
{
    switch (p->signal) {
    case SIGNAL_TRACES: return p->traces->resource_spans[0]->resource;
    case SIGNAL_METRICS: return p->metrics->resource_metrics[0]->resource;
    case SIGNAL_LOGS: return p->logs->resource_logs[0]->resource;
    }
    return NULL;
}

/* A payload of `signal` with one resource holding k8s.pod.ip = ip. */
static struct payload *payload_with_ip(enum signal signal, const char *ip)
{
    struct payload *p = payload_new(signal);
    assert_non_null(p);
    otlp_resource *r = resource_of((const char *const[]){"k8s.pod.ip", ip, NULL});
    switch (signal) {
    case SIGNAL_TRACES: {
        Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = pdata_alloc(sizeof(*rs));
        opentelemetry__proto__trace__v1__resource_spans__init(rs);
        rs->resource = r;
        p->traces->resource_spans = pdata_alloc(sizeof(rs));
        p->traces->resource_spans[0] = rs;
        p->traces->n_resource_spans = 1;
        break;
    }
    case SIGNAL_METRICS: {
        Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = pdata_alloc(sizeof(*rm));
        opentelemetry__proto__metrics__v1__resource_metrics__init(rm);
        rm->resource = r;
        p->metrics->resource_metrics = pdata_alloc(sizeof(rm));
        p->metrics->resource_metrics[0] = rm;
        p->metrics->n_resource_metrics = 1;
        break;
    }
    case SIGNAL_LOGS: {
        Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = pdata_alloc(sizeof(*rl));
        opentelemetry__proto__logs__v1__resource_logs__init(rl);
        rl->resource = r;
        p->logs->resource_logs = pdata_alloc(sizeof(rl));
        p->logs->resource_logs[0] = rl;
        p->logs->n_resource_logs = 1;
        break;
    }
    }
    return p;
}

/* The component tests feed the pod table themselves; the client their start opens gets an
 * address where nothing listens (port 1), so its informers only fail and retry, as upstream's
 * would, while the test runs. */
static char service_account_dir[256];

static void point_client_nowhere(void)
{
    snprintf(service_account_dir, sizeof(service_account_dir), "%s/k8sattributes-sa-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(service_account_dir));
    char path[300];
    snprintf(path, sizeof(path), "%s/token", service_account_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("test-token\n", f);
    fclose(f);
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "1", 1);
    setenv("OTELCOL_REF_SERVICEACCOUNT_DIR", service_account_dir, 1);
}

static void forget_client_env(void)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/token", service_account_dir);
    unlink(path);
    rmdir(service_account_dir);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    unsetenv("OTELCOL_REF_SERVICEACCOUNT_DIR");
}

/* auth_type serviceAccount outside a pod: the start fails with upstream's words. */
static void test_k8sattributes_start_needs_the_service_env(void **state)
{
    (void)state;
    unsetenv("KUBERNETES_SERVICE_HOST");
    struct component_fixture *f = component_fixture_new(K8S, "k8sattributes", TEAM_CONFIG);
    struct keeper k = {{keep_consume, NULL}, NULL};
    f->component.pipeline_signal = SIGNAL_LOGS;
    f->component.next[SIGNAL_LOGS] = &k.consumer;
    struct error err = {0};
    assert_int_equal(f->component.descriptor->create(&f->component, &err), 0);
    assert_true(f->component.descriptor->start(&f->component, &err) < 0);
    assert_string_equal(err.message, "unable to load k8s config, KUBERNETES_SERVICE_HOST and "
                                     "KUBERNETES_SERVICE_PORT must be defined");
    f->component.descriptor->destroy(&f->component);
    f->component.state = NULL;
    component_fixture_free(f);
}

static void test_k8sattributes_all_signals_through_consume(void **state)
{
    (void)state;
    point_client_nowhere();
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        struct component_fixture *f = component_fixture_new(K8S, "k8sattributes", TEAM_CONFIG);
        struct keeper k = {{keep_consume, NULL}, NULL};
        k.consumer.ctx = &k;
        f->component.pipeline_signal = (enum signal)s;
        f->component.next[s] = &k.consumer;
        component_fixture_start(f);
        struct k8s_pod_cache *cache = k8sattributes_processor_cache(&f->component);
        assert_non_null(cache);
        feed_replicaset(cache, RS_CART);
        feed_pod(cache, POD("cart-1", "u-1", "10.0.0.5", "2024-05-01T10:00:01Z"));
        struct error err = {0};
        assert_int_equal(f->component.descriptor->consume(
                             &f->component, payload_with_ip((enum signal)s, "10.0.0.5"), &err),
                         0);
        assert_non_null(k.last);
        assert_string_equal(attr(first_resource(k.last), "k8s.deployment.name"), "cart");
        assert_string_equal(attr(first_resource(k.last), "k8s.pod.name"), "cart-1");
        /* an unknown pod: a miss, the payload passes unchanged */
        assert_int_equal(f->component.descriptor->consume(
                             &f->component, payload_with_ip((enum signal)s, "10.1.1.1"), &err),
                         0);
        assert_int_equal(first_resource(k.last)->n_attributes, 1);
        assert_int_equal(component_fixture_counter(f, "otelcol_otelsvc_k8s_ip_lookup_miss"), 1);
        component_fixture_free(f);
        payload_free(k.last);
    }
    forget_client_env();
}

static void test_k8sattributes_empty_cache_misses_and_passthrough(void **state)
{
    (void)state;
    point_client_nowhere();
    struct component_fixture *f = component_fixture_new(K8S, "k8sattributes", TEAM_CONFIG);
    struct keeper k = {{keep_consume, NULL}, NULL};
    k.consumer.ctx = &k;
    f->component.pipeline_signal = SIGNAL_LOGS;
    f->component.next[SIGNAL_LOGS] = &k.consumer;
    component_fixture_start(f);
    struct error err = {0};
    assert_int_equal(f->component.descriptor->consume(
                         &f->component, payload_with_ip(SIGNAL_LOGS, "10.0.0.5"), &err),
                     0);
    assert_int_equal(first_resource(k.last)->n_attributes, 1);
    assert_int_equal(component_fixture_counter(f, "otelcol_otelsvc_k8s_ip_lookup_miss"), 1);
    component_fixture_free(f);
    payload_free(k.last);
    forget_client_env();

    /* passthrough: no table; with a connection the ip is added (checked on the pure function) */
    struct world w = world_new("{passthrough: true}");
    otlp_resource *r = run(w, NULL, "10.0.0.5", NULL);
    assert_string_equal(attr(r, "k8s.pod.ip"), "10.0.0.5");
    assert_int_equal(r->n_attributes, 1);
    resource_free(r);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_k8sattributes_defaults),
        cmocka_unit_test(test_k8sattributes_team_config_binds),
        cmocka_unit_test(test_k8sattributes_validation_table),
        cmocka_unit_test(test_k8sattributes_pod_keys_table),
        cmocka_unit_test(test_k8sattributes_team_rules_ip_then_uid),
        cmocka_unit_test(test_k8sattributes_miss_on_first_complete_rule_does_not_fall_through),
        cmocka_unit_test(test_k8sattributes_host_network_pod_not_found_by_connection),
        cmocka_unit_test(test_k8sattributes_later_start_wins_a_shared_ip),
        cmocka_unit_test(test_k8sattributes_connection_source),
        cmocka_unit_test(test_k8sattributes_default_association_and_host_name),
        cmocka_unit_test(test_k8sattributes_excluded_and_ignored_pods),
        cmocka_unit_test(test_k8sattributes_deployment_from_replicaset_owner),
        cmocka_unit_test(test_k8sattributes_deployment_name_from_replicaset_name),
        cmocka_unit_test(test_k8sattributes_start_time_is_creation_timestamp_rfc3339),
        cmocka_unit_test(test_k8sattributes_existing_values_win_unless_empty),
        cmocka_unit_test(test_k8sattributes_labels_annotations_and_containers),
        cmocka_unit_test(test_k8sattributes_deleted_pod_kept_for_grace_period),
        cmocka_unit_test(test_k8sattributes_delete_keeps_key_taken_by_new_pod),
        cmocka_unit_test(test_k8sattributes_informers_for_team_config),
        cmocka_unit_test(test_k8sattributes_informers_for_other_configs),
        cmocka_unit_test(test_k8sattributes_start_needs_the_service_env),
        cmocka_unit_test(test_k8sattributes_all_signals_through_consume),
        cmocka_unit_test(test_k8sattributes_empty_cache_misses_and_passthrough),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
