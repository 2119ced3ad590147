/*
 * k8sgen.c - otel-k8sgen, the cluster generator of `scripts/bench k8s`.
 *
 * Writes a Kubernetes cluster as JSON files for the fake API's control route
 * (POST /v1/k8s/objects takes a `kind: List` and applies every item): --nodes Nodes, 20
 * Namespaces, Deployments with 1 to 12 replicas (a fixed cycle averaging 5), for each the current
 * ReplicaSet plus 0-2 old ones scaled to 0 (what revisionHistoryLimit keeps after rollouts), and
 * exactly --pods Pods owned by the current ReplicaSets. Pods go to nodes in turn (pod i on node
 * i mod --nodes), so every node holds the same number give or take one.
 *
 * Objects look like what `kubectl get -o json` shows on a real cluster, because their size is
 * what the benchmark measures (list time, bytes, the collector's parsing): a pod has the
 * app.kubernetes.io labels, pod-template-hash, annotations, an ownerReference to its ReplicaSet
 * (which has one to its Deployment), 1-3 containers (the app, an Istio sidecar, a log shipper)
 * with ports, env, resources, probes and the service-account token mount, the scheduler's
 * defaults, status with conditions, podIP (10.244.<node>.x, the node's pod CIDR) and container
 * statuses, and managedFields as the API server records them (one entry per manager, the
 * field set derived from the fields that manager writes). Names follow the controllers'
 * rules (<deployment>-<10-char hash>-<5 chars>, from Kubernetes' safe alphabet).
 *
 * Everything is derived from indices (no clock, no randomness): the same flags give the same
 * bytes. Each file is a List of whole objects under --max-file-bytes (the control API takes
 * at most 1 MiB). Prints one JSON line: {"pods","nodes","namespaces","deployments",
 * "replicasets","files","bytes","pod_bytes","filter_node","pods_on_filter_node"}; filter_node
 * is the first node, the one the benchmark's node-filtered collector runs as.
 *
 * Not generated: DaemonSet, StatefulSet and Job pods, Services, Endpoints, ConfigMaps - the
 * collector's informers (pods, ReplicaSets) never see them.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define K8SGEN_MAX_PODS 9000 /* the fake keeps at most 10,000 objects of all types */
#define K8SGEN_MAX_NODES 1000
#define K8SGEN_MAX_PODS_PER_NODE 250 /* pod IPs come from the node's /24 */
#define K8SGEN_DEFAULT_FILE_BYTES 900000
#define NAME_LEN 128

static const char *const namespaces[] = {
    "checkout",  "payments",  "catalog", "search",  "orders",  "shipping", "accounts",
    "notify",    "recommend", "stock",   "pricing", "reviews", "identity", "media",
    "analytics", "ads",       "support", "billing", "fraud",   "gateway"};
#define NAMESPACE_COUNT (sizeof(namespaces) / sizeof(namespaces[0]))

static const char *const components[] = {"api",       "worker",  "web",      "consumer",
                                         "scheduler", "cache",   "grpc",     "admin",
                                         "sync",      "indexer", "exporter", "cron-runner"};
#define COMPONENT_COUNT (sizeof(components) / sizeof(components[0]))

/* Replicas of deployment d: replica_cycle[d % 10], averaging 5 (the last one is cut so that the
 * pods add up to --pods). */
static const int replica_cycle[] = {1, 2, 3, 5, 8, 2, 3, 10, 4, 12};
#define REPLICA_CYCLE_LEN (sizeof(replica_cycle) / sizeof(replica_cycle[0]))

/* k8s.io/apimachinery/pkg/util/rand's alphabet (no vowels, no confusable digits). */
static const char safe_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

struct options {
    const char *dir;
    long pods, nodes, max_file_bytes;
};

/* ---- deterministic values ---- */

static uint64_t mix(uint64_t x) /* splitmix64's finaliser */
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t seed_of(const char *kind, uint64_t a, uint64_t b)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = kind; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    return mix(h ^ mix(a * 1000003ULL + b));
}

static void safe_string(uint64_t seed, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        seed = mix(seed + i);
        out[i] = safe_alphabet[seed % (sizeof(safe_alphabet) - 1)];
    }
    out[len] = '\0';
}

static void uuid_of(uint64_t seed, char out[37])
{
    uint64_t hi = mix(seed), lo = mix(seed ^ 0x5bd1e995ULL);
    hi = (hi & ~0xf000ULL) | 0x4000ULL;                        /* version 4 */
    lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* variant 10 */
    snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
             (uint64_t)(lo & 0xffffffffffffULL));
}

static void hex_of(uint64_t seed, size_t len, char *out)
{
    for (size_t i = 0; i < len; i += 16) {
        char chunk[17];
        snprintf(chunk, sizeof(chunk), "%016" PRIx64, mix(seed + i));
        memcpy(out + i, chunk, len - i < 16 ? len - i : 16);
    }
    out[len] = '\0';
}

/* RFC 3339 seconds, `minutes` after 2025-10-01T00:00:00Z (days cut at 28 per month). */
static void timestamp(long minutes, char out[32])
{
    unsigned long m = minutes > 0 ? (unsigned long)minutes % (1440UL * 28 * 12 * 50) : 0;
    unsigned long day = m / 1440, month = 9 + day / 28;
    snprintf(out, 32, "%04lu-%02lu-%02luT%02lu:%02lu:%02luZ", 2025 + month / 12 % 100,
             month % 12 + 1, day % 28 + 1, m % 1440 / 60, m % 60, m * 37 % 60);
}

/* ---- JSON building: every helper steals its arguments and turns a NULL into a failure that
 * json_object_set_new reports; one check at the end of each object builder. ---- */

static json_t *str(const char *s)
{
    return json_string(s);
}

static json_t *fmt(const char *format, ...) __attribute__((format(printf, 1, 2)));
static json_t *fmt(const char *format, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf, sizeof(buf), format, ap);
    va_end(ap);
    return json_string(buf);
}

/* {k1: v1, k2: v2, ...} ending at a NULL key; NULL when any value is NULL or on ENOMEM. */
static json_t *obj(const char *key, ...)
{
    json_t *o = json_object();
    va_list ap;
    va_start(ap, key);
    bool failed = !o;
    for (const char *k = key; k; k = va_arg(ap, const char *)) {
        json_t *v = va_arg(ap, json_t *);
        if (failed || !v || json_object_set_new(o, k, v) < 0) {
            failed = true;
            json_decref(v);
        }
    }
    va_end(ap);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* [v1, v2, ...] ending at NULL... which cannot tell a failed value from the end, so the count
 * comes first. */
static json_t *arr(int n, ...)
{
    json_t *a = json_array();
    va_list ap;
    va_start(ap, n);
    bool failed = !a;
    for (int i = 0; i < n; i++) {
        json_t *v = va_arg(ap, json_t *);
        if (failed || !v || json_array_append_new(a, v) < 0) {
            failed = true;
            json_decref(v);
        }
    }
    va_end(ap);
    if (failed) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* Appends `v` (stolen) to array `a`; false (and `a` released, set NULL) on failure. */
static bool push(json_t **a, json_t *v)
{
    if (*a && v && json_array_append_new(*a, v) == 0)
        return true;
    json_decref(v);
    json_decref(*a);
    *a = NULL;
    return false;
}

/* ---- managedFields ---- */

/* The key an item of a list is merged by in a FieldsV1 set ("k:{\"name\":\"app\"}"), or NULL
 * for a list of scalars. */
static json_t *merge_key(const json_t *item)
{
    static const char *const keys[] = {"name", "type", "uid", "containerPort", "ip", "key"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const json_t *v = json_object_get(item, keys[i]);
        if (!v)
            continue;
        char *value = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!value)
            return NULL;
        json_t *key = fmt("k:{\"%s\":%s}", keys[i], value);
        free(value);
        return key;
    }
    return NULL;
}

/* The FieldsV1 set of `v`: "f:<key>" per object member, "k:{...}" per list item, "." for a set
 * that is itself owned. NULL on ENOMEM. */
static json_t *field_set(const json_t *v, bool owned)
{
    json_t *set = json_object();
    if (!set)
        return NULL;
    if (owned && (json_is_object(v) || json_is_array(v)) &&
        json_object_set_new(set, ".", json_object()) < 0)
        goto fail;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach((json_t *)v, key, child)
        {
            char name[NAME_LEN + 4];
            snprintf(name, sizeof(name), "f:%s", key);
            json_t *sub = field_set(child, true);
            if (!sub || json_object_set_new(set, name, sub) < 0)
                goto fail;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            json_t *key = json_is_object(item) ? merge_key(item) : NULL;
            if (!key)
                continue;
            json_t *sub = field_set(item, true);
            if (!sub || json_object_set_new(set, json_string_value(key), sub) < 0) {
                json_decref(key);
                goto fail;
            }
            json_decref(key);
        }
    }
    return set;
fail:
    json_decref(set);
    return NULL;
}

/* One managedFields entry: `manager` owns the members `fields` (NULL-ended) of `object`. */
static json_t *managed_entry(const json_t *object, const char *manager, const char *api_version,
                             const char *time, const char *subresource, const char *const *fields)
{
    json_t *owned = json_object();
    for (size_t i = 0; owned && fields[i]; i++) {
        const json_t *v = json_object_get(object, fields[i]);
        if (!v)
            continue;
        if (!strcmp(fields[i], "metadata")) {
            /* what a controller writes of metadata: not the server-set fields */
            json_t *m = json_deep_copy(v);
            static const char *const server_set[] = {"name", "namespace", "uid",
                                                     "creationTimestamp", "resourceVersion"};
            for (size_t k = 0; m && k < sizeof(server_set) / sizeof(server_set[0]); k++)
                json_object_del(m, server_set[k]);
            if (!m || json_object_set_new(owned, "metadata", m) < 0) {
                json_decref(owned);
                owned = NULL;
            }
        } else if (json_object_set(owned, fields[i], (json_t *)v) < 0) {
            json_decref(owned);
            owned = NULL;
        }
    }
    json_t *set = owned ? field_set(owned, false) : NULL;
    json_decref(owned);
    json_t *entry =
        obj("manager", str(manager), "operation", str("Update"), "apiVersion", str(api_version),
            "time", str(time), "fieldsType", str("FieldsV1"), "fieldsV1", set, NULL);
    if (entry && subresource && json_object_set_new(entry, "subresource", str(subresource)) < 0) {
        json_decref(entry);
        entry = NULL;
    }
    return entry;
}

/* Adds metadata.managedFields to `object`; false on ENOMEM. */
static bool add_managed_fields(json_t *object, json_t *entries)
{
    json_t *meta = json_object_get(object, "metadata");
    return entries && meta && json_object_set_new(meta, "managedFields", entries) == 0;
}

/* ---- the cluster's shape ---- */

struct deployment {
    long index, replicas, old_replicasets, first_pod;
    const char *namespace, *component;
    char name[NAME_LEN], hash[11], uid[37];
    int containers; /* 1-3 */
    long created;   /* minutes after the epoch of timestamp() */
};

static void deployment_of(long d, long first_pod, long replicas, struct deployment *out)
{
    memset(out, 0, sizeof(*out));
    out->index = d;
    out->first_pod = first_pod;
    out->replicas = replicas;
    out->old_replicasets = d % 3;
    out->namespace = namespaces[d % NAMESPACE_COUNT];
    out->component = components[(d / NAMESPACE_COUNT) % COMPONENT_COUNT];
    long copy = d / (long)(NAMESPACE_COUNT * COMPONENT_COUNT);
    if (copy)
        snprintf(out->name, sizeof(out->name), "%s-%s-%ld", out->namespace, out->component,
                 copy + 1);
    else
        snprintf(out->name, sizeof(out->name), "%s-%s", out->namespace, out->component);
    safe_string(seed_of("rs-hash", (uint64_t)d, 0), 10, out->hash);
    uuid_of(seed_of("deployment", (uint64_t)d, 0), out->uid);
    out->containers = 1 + (int)(d % 3);
    out->created = 60 * (d % 500);
}

static json_t *app_labels(const struct deployment *dp, const char *hash)
{
    json_t *labels =
        obj("app.kubernetes.io/name", str(dp->component), "app.kubernetes.io/instance",
            str(dp->name), "app.kubernetes.io/component", str(dp->component),
            "app.kubernetes.io/part-of", str(dp->namespace), "app.kubernetes.io/version",
            fmt("1.%ld.%ld", dp->index % 40, dp->index % 7), "team", fmt("team-%s", dp->namespace),
            NULL);
    if (labels && hash && json_object_set_new(labels, "pod-template-hash", str(hash)) < 0) {
        json_decref(labels);
        return NULL;
    }
    return labels;
}

static json_t *selector_labels(const struct deployment *dp, const char *hash)
{
    json_t *labels = obj("app.kubernetes.io/name", str(dp->component), "app.kubernetes.io/instance",
                         str(dp->name), NULL);
    if (labels && hash && json_object_set_new(labels, "pod-template-hash", str(hash)) < 0) {
        json_decref(labels);
        return NULL;
    }
    return labels;
}

/* Container c of the deployment's pod template (c = 0 the app, 1 istio-proxy, 2 the log
 * shipper). */
static json_t *container(const struct deployment *dp, int c)
{
    json_t *mount = obj("name", fmt("kube-api-access-%.5s", dp->hash), "readOnly", json_true(),
                        "mountPath", str("/var/run/secrets/kubernetes.io/serviceaccount"), NULL);
    if (c == 0) {
        json_t *probe =
            obj("httpGet",
                obj("path", str("/healthz"), "port", str("http"), "scheme", str("HTTP"), NULL),
                "timeoutSeconds", json_integer(1), "periodSeconds", json_integer(10),
                "successThreshold", json_integer(1), "failureThreshold", json_integer(3), NULL);
        return obj(
            "name", str(dp->component), "image",
            fmt("registry.example.com/%s/%s:1.%ld.%ld", dp->namespace, dp->component,
                dp->index % 40, dp->index % 7),
            "ports",
            arr(2,
                obj("name", str("http"), "containerPort", json_integer(8080), "protocol",
                    str("TCP"), NULL),
                obj("name", str("metrics"), "containerPort", json_integer(9090), "protocol",
                    str("TCP"), NULL)),
            "env",
            arr(4, obj("name", str("LOG_LEVEL"), "value", str("info"), NULL),
                obj("name", str("OTEL_SERVICE_NAME"), "value", str(dp->name), NULL),
                obj("name", str("OTEL_EXPORTER_OTLP_ENDPOINT"), "value",
                    str("http://otel-collector-collector.opentelemetry.svc:4318"), NULL),
                obj("name", str("POD_NAME"), "valueFrom",
                    obj("fieldRef",
                        obj("apiVersion", str("v1"), "fieldPath", str("metadata.name"), NULL),
                        NULL),
                    NULL)),
            "resources",
            obj("limits", obj("memory", str("512Mi"), NULL), "requests",
                obj("cpu", str("250m"), "memory", str("256Mi"), NULL), NULL),
            "livenessProbe", json_deep_copy(probe), "readinessProbe", probe, "volumeMounts",
            arr(1, mount), "terminationMessagePath", str("/dev/termination-log"),
            "terminationMessagePolicy", str("File"), "imagePullPolicy", str("IfNotPresent"), NULL);
    }
    if (c == 1)
        return obj(
            "name", str("istio-proxy"), "image", str("docker.io/istio/proxyv2:1.24.1"), "args",
            arr(4, str("proxy"), str("sidecar"), str("--domain"),
                fmt("%s.svc.cluster.local", dp->namespace)),
            "ports",
            arr(1, obj("name", str("http-envoy-prom"), "containerPort", json_integer(15090),
                       "protocol", str("TCP"), NULL)),
            "resources",
            obj("limits", obj("cpu", str("2"), "memory", str("1Gi"), NULL), "requests",
                obj("cpu", str("100m"), "memory", str("128Mi"), NULL), NULL),
            "volumeMounts", arr(1, mount), "terminationMessagePath", str("/dev/termination-log"),
            "terminationMessagePolicy", str("File"), "imagePullPolicy", str("IfNotPresent"), NULL);
    return obj("name", str("log-shipper"), "image", str("cr.fluentbit.io/fluent/fluent-bit:3.2.4"),
               "resources",
               obj("limits", obj("memory", str("128Mi"), NULL), "requests",
                   obj("cpu", str("50m"), "memory", str("64Mi"), NULL), NULL),
               "volumeMounts", arr(1, mount), "terminationMessagePath", str("/dev/termination-log"),
               "terminationMessagePolicy", str("File"), "imagePullPolicy", str("IfNotPresent"),
               NULL);
}

static json_t *containers_of(const struct deployment *dp)
{
    json_t *list = json_array();
    for (int c = 0; c < dp->containers; c++)
        if (!push(&list, container(dp, c)))
            return NULL;
    return list;
}

static json_t *owner_ref(const char *kind, const char *name, const char *uid)
{
    return arr(1,
               obj("apiVersion", str("apps/v1"), "kind", str(kind), "name", str(name), "uid",
                   str(uid), "controller", json_true(), "blockOwnerDeletion", json_true(), NULL));
}

static json_t *template_of(const struct deployment *dp, const char *hash)
{
    return obj("metadata", obj("labels", app_labels(dp, hash), NULL), "spec",
               obj("containers", containers_of(dp), "restartPolicy", str("Always"),
                   "terminationGracePeriodSeconds", json_integer(30), "dnsPolicy",
                   str("ClusterFirst"), "serviceAccountName", str(dp->component), "schedulerName",
                   str("default-scheduler"), NULL),
               NULL);
}

static const char *const controller_fields[] = {"metadata", "spec", NULL};
static const char *const status_fields[] = {"status", NULL};

static json_t *deployment_json(const struct deployment *dp)
{
    char created[32];
    timestamp(dp->created, created);
    json_t *d =
        obj("apiVersion", str("apps/v1"), "kind", str("Deployment"), "metadata",
            obj("name", str(dp->name), "namespace", str(dp->namespace), "uid", str(dp->uid),
                "creationTimestamp", str(created), "labels", app_labels(dp, NULL), "annotations",
                obj("deployment.kubernetes.io/revision", fmt("%ld", dp->old_replicasets + 1),
                    "meta.helm.sh/release-name", str(dp->name), "meta.helm.sh/release-namespace",
                    str(dp->namespace), NULL),
                NULL),
            "spec",
            obj("replicas", json_integer(dp->replicas), "revisionHistoryLimit", json_integer(10),
                "selector", obj("matchLabels", selector_labels(dp, NULL), NULL), "strategy",
                obj("type", str("RollingUpdate"), "rollingUpdate",
                    obj("maxSurge", str("25%"), "maxUnavailable", str("25%"), NULL), NULL),
                "template", template_of(dp, NULL), NULL),
            "status",
            obj("observedGeneration", json_integer(dp->old_replicasets + 1), "replicas",
                json_integer(dp->replicas), "updatedReplicas", json_integer(dp->replicas),
                "readyReplicas", json_integer(dp->replicas), "availableReplicas",
                json_integer(dp->replicas), NULL),
            NULL);
    if (d && !add_managed_fields(
                 d, arr(2, managed_entry(d, "helm", "apps/v1", created, NULL, controller_fields),
                        managed_entry(d, "kube-controller-manager", "apps/v1", created, "status",
                                      status_fields)))) {
        json_decref(d);
        return NULL;
    }
    return d;
}

/* ReplicaSet r of the deployment: r == old_replicasets is the current one, with the replicas;
 * the older ones are scaled to 0. */
static json_t *replicaset_json(const struct deployment *dp, long r)
{
    bool current = r == dp->old_replicasets;
    char hash[11], name[NAME_LEN + 12], uid[37], created[32];
    if (current)
        snprintf(hash, sizeof(hash), "%s", dp->hash);
    else
        safe_string(seed_of("old-rs-hash", (uint64_t)dp->index, (uint64_t)r), 10, hash);
    snprintf(name, sizeof(name), "%s-%s", dp->name, hash);
    uuid_of(seed_of("replicaset", (uint64_t)dp->index, (uint64_t)r), uid);
    timestamp(dp->created + 1440 * r, created);
    long replicas = current ? dp->replicas : 0;
    json_t *rs =
        obj("apiVersion", str("apps/v1"), "kind", str("ReplicaSet"), "metadata",
            obj("name", str(name), "namespace", str(dp->namespace), "uid", str(uid),
                "creationTimestamp", str(created), "labels", app_labels(dp, hash), "annotations",
                obj("deployment.kubernetes.io/desired-replicas", fmt("%ld", dp->replicas),
                    "deployment.kubernetes.io/max-replicas",
                    fmt("%ld", dp->replicas + (dp->replicas + 3) / 4),
                    "deployment.kubernetes.io/revision", fmt("%ld", r + 1), NULL),
                "ownerReferences", owner_ref("Deployment", dp->name, dp->uid), NULL),
            "spec",
            obj("replicas", json_integer(replicas), "selector",
                obj("matchLabels", selector_labels(dp, hash), NULL), "template",
                template_of(dp, hash), NULL),
            "status",
            obj("replicas", json_integer(replicas), "fullyLabeledReplicas", json_integer(replicas),
                "readyReplicas", json_integer(replicas), "availableReplicas",
                json_integer(replicas), "observedGeneration", json_integer(current ? 1 : 2), NULL),
            NULL);
    if (rs && !add_managed_fields(rs, arr(2,
                                          managed_entry(rs, "kube-controller-manager", "apps/v1",
                                                        created, NULL, controller_fields),
                                          managed_entry(rs, "kube-controller-manager", "apps/v1",
                                                        created, "status", status_fields)))) {
        json_decref(rs);
        return NULL;
    }
    return rs;
}

static void node_name(long n, char out[NAME_LEN])
{
    snprintf(out, NAME_LEN, "ip-10-0-%ld-%ld.eu-west-1.compute.internal", n / 200, n % 200 + 10);
}

static json_t *node_json(long n)
{
    char name[NAME_LEN], uid[37], created[32];
    node_name(n, name);
    uuid_of(seed_of("node", (uint64_t)n, 0), uid);
    timestamp(n % 1440, created);
    static const char *const zones[] = {"eu-west-1a", "eu-west-1b", "eu-west-1c"};
    return obj("apiVersion", str("v1"), "kind", str("Node"), "metadata",
               obj("name", str(name), "uid", str(uid), "creationTimestamp", str(created), "labels",
                   obj("kubernetes.io/hostname", str(name), "kubernetes.io/os", str("linux"),
                       "kubernetes.io/arch", str("amd64"), "node.kubernetes.io/instance-type",
                       str("m6i.2xlarge"), "topology.kubernetes.io/zone", str(zones[n % 3]), NULL),
                   NULL),
               "spec",
               obj("podCIDR", fmt("10.%ld.%ld.0/24", 244 + n / 256, n % 256), "providerID",
                   fmt("aws:///%s/i-%016lx", zones[n % 3], (unsigned long)mix((uint64_t)n)), NULL),
               "status",
               obj("addresses",
                   arr(2,
                       obj("type", str("InternalIP"), "address",
                           fmt("10.0.%ld.%ld", n / 200, n % 200 + 10), NULL),
                       obj("type", str("Hostname"), "address", str(name), NULL)),
                   NULL),
               NULL);
}

static json_t *condition(const char *type, const char *time)
{
    return obj("type", str(type), "status", str("True"), "lastProbeTime", json_null(),
               "lastTransitionTime", str(time), NULL);
}

/* Pod k (0-based) of the deployment, global pod index p, on node p mod nodes. */
static json_t *pod_json(const struct deployment *dp, long k, long p, long nodes)
{
    char suffix[6], name[NAME_LEN + 20], uid[37], created[32], started[32], node[NAME_LEN];
    safe_string(seed_of("pod", (uint64_t)p, 0), 5, suffix);
    snprintf(name, sizeof(name), "%s-%s-%s", dp->name, dp->hash, suffix);
    uuid_of(seed_of("pod-uid", (uint64_t)p, 0), uid);
    long minute = dp->created + 1440 * dp->old_replicasets + k;
    timestamp(minute, created);
    timestamp(minute + 1, started);
    long n = p % nodes, slot = p / nodes;
    node_name(n, node);
    char rs_name[NAME_LEN + 12], rs_uid[37], pod_ip[72], host_ip[48];
    snprintf(rs_name, sizeof(rs_name), "%s-%s", dp->name, dp->hash);
    uuid_of(seed_of("replicaset", (uint64_t)dp->index, (uint64_t)dp->old_replicasets), rs_uid);
    snprintf(pod_ip, sizeof(pod_ip), "10.%ld.%ld.%ld", 244 + n / 256, n % 256, slot + 2);
    snprintf(host_ip, sizeof(host_ip), "10.0.%ld.%ld", n / 200, n % 200 + 10);

    json_t *statuses = json_array();
    json_t *containers = containers_of(dp);
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c)
    {
        char id[65], digest[65];
        hex_of(seed_of("container", (uint64_t)p, i), 64, id);
        hex_of(seed_of("image", (uint64_t)dp->index, i), 64, digest);
        const char *image = json_string_value(json_object_get(c, "image"));
        push(&statuses,
             obj("name", str(json_string_value(json_object_get(c, "name"))), "state",
                 obj("running", obj("startedAt", str(started), NULL), NULL), "lastState",
                 json_object(), "ready", json_true(), "restartCount", json_integer(0), "image",
                 str(image), "imageID", fmt("%.200s@sha256:%s", image, digest), "containerID",
                 fmt("containerd://%s", id), "started", json_true(), NULL));
    }
    json_t *pod = obj(
        "apiVersion", str("v1"), "kind", str("Pod"), "metadata",
        obj("name", str(name), "generateName", fmt("%s-", rs_name), "namespace", str(dp->namespace),
            "uid", str(uid), "creationTimestamp", str(created), "labels", app_labels(dp, dp->hash),
            "annotations",
            obj("prometheus.io/scrape", str("true"), "prometheus.io/port", str("9090"),
                "kubectl.kubernetes.io/default-container", str(dp->component), NULL),
            "ownerReferences", owner_ref("ReplicaSet", rs_name, rs_uid), NULL),
        "spec",
        obj("volumes",
            arr(1,
                obj("name", fmt("kube-api-access-%.5s", dp->hash), "projected",
                    obj("sources",
                        arr(3,
                            obj("serviceAccountToken",
                                obj("expirationSeconds", json_integer(3607), "path", str("token"),
                                    NULL),
                                NULL),
                            obj("configMap",
                                obj("name", str("kube-root-ca.crt"), "items",
                                    arr(1, obj("key", str("ca.crt"), "path", str("ca.crt"), NULL)),
                                    NULL),
                                NULL),
                            obj("downwardAPI",
                                obj("items",
                                    arr(1, obj("path", str("namespace"), "fieldRef",
                                               obj("apiVersion", str("v1"), "fieldPath",
                                                   str("metadata.namespace"), NULL),
                                               NULL)),
                                    NULL),
                                NULL)),
                        "defaultMode", json_integer(420), NULL),
                    NULL)),
            "containers", containers, "restartPolicy", str("Always"),
            "terminationGracePeriodSeconds", json_integer(30), "dnsPolicy", str("ClusterFirst"),
            "serviceAccountName", str(dp->component), "serviceAccount", str(dp->component),
            "nodeName", str(node), "securityContext", json_object(), "schedulerName",
            str("default-scheduler"), "tolerations",
            arr(2,
                obj("key", str("node.kubernetes.io/not-ready"), "operator", str("Exists"), "effect",
                    str("NoExecute"), "tolerationSeconds", json_integer(300), NULL),
                obj("key", str("node.kubernetes.io/unreachable"), "operator", str("Exists"),
                    "effect", str("NoExecute"), "tolerationSeconds", json_integer(300), NULL)),
            "priority", json_integer(0), "enableServiceLinks", json_true(), "preemptionPolicy",
            str("PreemptLowerPriority"), NULL),
        "status",
        obj("phase", str("Running"), "conditions",
            arr(5, condition("PodReadyToStartContainers", started),
                condition("Initialized", created), condition("Ready", started),
                condition("ContainersReady", started), condition("PodScheduled", created)),
            "hostIP", str(host_ip), "hostIPs", arr(1, obj("ip", str(host_ip), NULL)), "podIP",
            str(pod_ip), "podIPs", arr(1, obj("ip", str(pod_ip), NULL)), "startTime", str(created),
            "containerStatuses", statuses, "qosClass", str("Burstable"), NULL),
        NULL);
    if (pod && !add_managed_fields(pod, arr(2,
                                            managed_entry(pod, "kube-controller-manager", "v1",
                                                          created, NULL, controller_fields),
                                            managed_entry(pod, "kubelet", "v1", started, "status",
                                                          status_fields)))) {
        json_decref(pod);
        return NULL;
    }
    return pod;
}

static json_t *namespace_json(size_t i)
{
    char uid[37];
    uuid_of(seed_of("namespace", i, 0), uid);
    return obj("apiVersion", str("v1"), "kind", str("Namespace"), "metadata",
               obj("name", str(namespaces[i]), "uid", str(uid), "labels",
                   obj("kubernetes.io/metadata.name", str(namespaces[i]), "team",
                       fmt("team-%s", namespaces[i]), NULL),
                   NULL),
               NULL);
}

/* ---- the files ---- */

struct writer {
    const char *dir;
    long max_bytes;
    FILE *file;
    long file_bytes, files;
    unsigned long long bytes;
    size_t in_file;
};

static int writer_close(struct writer *w)
{
    if (!w->file)
        return 0;
    int rc = fputs("]}\n", w->file) < 0 ? -EIO : 0;
    if (fclose(w->file) != 0)
        rc = -EIO;
    w->file = NULL;
    w->bytes += 3;
    return rc;
}

/* Writes one object (stolen) into the current file, or a new one when it would pass the
 * size. Returns 0, -ENOMEM, -EIO or -EFBIG (one object larger than a file may be). */
static int writer_add(struct writer *w, json_t *object, unsigned long long *bytes_out)
{
    static const char head[] = "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[";
    if (!object)
        return -ENOMEM;
    char *text = json_dumps(object, JSON_COMPACT);
    json_decref(object);
    if (!text)
        return -ENOMEM;
    long len = (long)strlen(text);
    if (bytes_out)
        *bytes_out += (unsigned long long)len;
    int rc = 0;
    if ((long)sizeof(head) + len + 4 > w->max_bytes) {
        rc = -EFBIG;
        goto done;
    }
    if (w->file && w->file_bytes + len + 4 > w->max_bytes && (rc = writer_close(w)) < 0)
        goto done;
    if (!w->file) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%04ld.json", w->dir, w->files);
        if (!(w->file = fopen(path, "w"))) {
            fprintf(stderr, "otel-k8sgen: cannot write %s: %s\n", path, strerror(errno));
            rc = -EIO;
            goto done;
        }
        w->files++;
        w->file_bytes = (long)sizeof(head) - 1;
        w->bytes += sizeof(head) - 1;
        w->in_file = 0;
        fputs(head, w->file);
    }
    if (w->in_file++) {
        fputc(',', w->file);
        w->file_bytes++;
        w->bytes++;
    }
    if (fwrite(text, 1, (size_t)len, w->file) != (size_t)len)
        rc = -EIO;
    w->file_bytes += len;
    w->bytes += (unsigned long long)len;
done:
    free(text);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: otel-k8sgen --dir DIR [--pods N] [--nodes N] [--max-file-bytes N]\n"
            "Writes a cluster of N pods (default 5000) on N nodes (default 100) with their\n"
            "ReplicaSets, Deployments and Namespaces as JSON Lists (DIR/NNNN.json, each under\n"
            "--max-file-bytes, default %d) for the fake API's POST /v1/k8s/objects, and prints\n"
            "one JSON line: pods, nodes, namespaces, deployments, replicasets, files, bytes,\n"
            "pod_bytes, filter_node, pods_on_filter_node.\n",
            K8SGEN_DEFAULT_FILE_BYTES);
}

static int parse_long(const char *name, const char *text, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text ? text : "", &end, 10);
    if (!text || errno || end == text || *end || v < min || v > max) {
        fprintf(stderr, "otel-k8sgen: %s must be an integer in [%ld, %ld], got \"%s\"\n", name, min,
                max, text ? text : "");
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* Returns 0, 1 for --help (printed), or -EINVAL (message printed). */
static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){.pods = 5000, .nodes = 100, .max_file_bytes = K8SGEN_DEFAULT_FILE_BYTES};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(arg, "--dir") && val) {
            o->dir = val;
        } else if (!strcmp(arg, "--pods")) {
            rc = parse_long(arg, val, 1, K8SGEN_MAX_PODS, &o->pods);
        } else if (!strcmp(arg, "--nodes")) {
            rc = parse_long(arg, val, 1, K8SGEN_MAX_NODES, &o->nodes);
        } else if (!strcmp(arg, "--max-file-bytes")) {
            rc = parse_long(arg, val, 4096, 1L << 30, &o->max_file_bytes);
        } else {
            fprintf(stderr, "otel-k8sgen: unknown or incomplete option \"%s\"\n", arg);
            usage(stderr);
            return -EINVAL;
        }
        if (rc < 0)
            return rc;
        i++;
    }
    if (!o->dir) {
        fprintf(stderr, "otel-k8sgen: --dir is required\n");
        usage(stderr);
        return -EINVAL;
    }
    if ((o->pods + o->nodes - 1) / o->nodes > K8SGEN_MAX_PODS_PER_NODE) {
        fprintf(stderr, "otel-k8sgen: more than %d pods per node (the node's /24 of pod IPs)\n",
                K8SGEN_MAX_PODS_PER_NODE);
        return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc > 0 ? 0 : 2;
    if (mkdir(o.dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "otel-k8sgen: cannot create %s: %s\n", o.dir, strerror(errno));
        return 1;
    }
    struct writer w = {.dir = o.dir, .max_bytes = o.max_file_bytes};
    long deployments = 0, replicasets = 0;
    unsigned long long pod_bytes = 0;
    for (size_t i = 0; rc == 0 && i < NAMESPACE_COUNT; i++)
        rc = writer_add(&w, namespace_json(i), NULL);
    for (long n = 0; rc == 0 && n < o.nodes; n++)
        rc = writer_add(&w, node_json(n), NULL);
    for (long p = 0, d = 0; rc == 0 && p < o.pods; d++) {
        long replicas = replica_cycle[d % REPLICA_CYCLE_LEN];
        if (replicas > o.pods - p)
            replicas = o.pods - p;
        struct deployment dp;
        deployment_of(d, p, replicas, &dp);
        rc = writer_add(&w, deployment_json(&dp), NULL);
        deployments++;
        for (long r = 0; rc == 0 && r <= dp.old_replicasets; r++, replicasets++)
            rc = writer_add(&w, replicaset_json(&dp, r), NULL);
        for (long k = 0; rc == 0 && k < replicas; k++, p++)
            rc = writer_add(&w, pod_json(&dp, k, p, o.nodes), &pod_bytes);
    }
    int close_rc = writer_close(&w);
    if (rc == 0)
        rc = close_rc;
    if (rc < 0) {
        fprintf(stderr, "otel-k8sgen: %s\n",
                rc == -ENOMEM  ? "out of memory"
                : rc == -EFBIG ? "an object is larger than --max-file-bytes"
                               : "cannot write the files");
        return 1;
    }
    char filter_node[NAME_LEN];
    node_name(0, filter_node);
    printf("{\"pods\":%ld,\"nodes\":%ld,\"namespaces\":%zu,\"deployments\":%ld,"
           "\"replicasets\":%ld,\"files\":%ld,\"bytes\":%llu,\"pod_bytes\":%llu,"
           "\"filter_node\":\"%s\",\"pods_on_filter_node\":%ld}\n",
           o.pods, o.nodes, NAMESPACE_COUNT, deployments, replicasets, w.files, w.bytes, pod_bytes,
           filter_node, (o.pods + o.nodes - 1) / o.nodes);
    return 0;
}
