/*
 * k8sattributes.h - what the parts of the `k8sattributes` processor share (config.c: options,
 * validation and the compiled rules; pod_cache.c: the pod table; association.c: pod identifiers
 * and writing attributes; informers.c: which list/watch streams upstream would open; kube_config.c:
 * where and as whom the client connects; reflector.c: one list-then-watch loop;
 * k8sattributes.c: the component), and what its unit tests reach
 * (reference/tests/test_k8sattributes.c).
 *
 * Upstream (contrib v0.143/v0.144 processor/k8sattributesprocessor, facts/pipeline.md §3) keeps
 * a map PodIdentifier -> *Pod filled by informers. Here the same table is fed with Kubernetes
 * Pod and ReplicaSet objects as the API returns them (JSON), by the informers of reflector.c
 * connected as kube_config.c says; unit tests may also feed it directly
 * (k8sattributes_processor_cache()).
 */
#ifndef OTEL_REF_K8SATTRIBUTES_H
#define OTEL_REF_K8SATTRIBUTES_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "options.h"
#include "pdata.h"

/* kube.PodIdentifierMaxLength: sources per association rule. */
#define K8S_ASSOCIATION_SOURCES_MAX 4
/* Hard bounds (STYLE "every growable buffer has a hard maximum"). */
#define K8S_POD_CACHE_KEYS_MAX (1u << 20)
#define K8S_RULES_MAX 256
/* defaultPodDeleteGracePeriod and the delete loop's interval (client.go). */
#define K8S_POD_DELETE_GRACE_NS (120LL * 1000000000LL)
#define K8S_POD_DELETE_SWEEP_NS (30LL * 1000000000LL)
/* The annotation that makes upstream ignore a pod. */
#define K8S_IGNORE_ANNOTATION "opentelemetry.io/k8s-processor/ignore"

/* ---- config (config.c) ---- */

/* Bound from the option table; lists of mappings stay JSON and are checked and compiled by
 * k8sattributes_rules_build (their elements are bound with their own small tables). */
struct k8sattributes_config {
    char *auth_type;
    char *context;
    bool passthrough;
    struct {
        struct option_string_list metadata;
        json_t *labels;
        json_t *annotations;
        bool otel_annotations;
        bool deployment_name_from_replicaset;
    } extract;
    struct {
        char *node;
        char *node_from_env_var;
        char *namespace;
        json_t *fields;
        json_t *labels;
    } filter;
    json_t *pod_association;
    struct {
        json_t *pods;
    } exclude;
    bool wait_for_metadata;
    int64_t wait_for_metadata_timeout_ns;
};

extern const struct option k8sattributes_options[];

/* The metadata fields upstream's Config.Validate accepts, in one enum. */
enum k8s_field {
    K8S_FIELD_NAMESPACE_NAME = 0,
    K8S_FIELD_POD_NAME,
    K8S_FIELD_POD_UID,
    K8S_FIELD_POD_HOSTNAME,
    K8S_FIELD_POD_START_TIME,
    K8S_FIELD_POD_IP,
    K8S_FIELD_DEPLOYMENT_NAME,
    K8S_FIELD_DEPLOYMENT_UID,
    K8S_FIELD_REPLICASET_NAME,
    K8S_FIELD_REPLICASET_UID,
    K8S_FIELD_DAEMONSET_NAME,
    K8S_FIELD_DAEMONSET_UID,
    K8S_FIELD_STATEFULSET_NAME,
    K8S_FIELD_STATEFULSET_UID,
    K8S_FIELD_JOB_NAME,
    K8S_FIELD_JOB_UID,
    K8S_FIELD_CRONJOB_NAME,
    K8S_FIELD_CRONJOB_UID,
    K8S_FIELD_NODE_NAME,
    K8S_FIELD_NODE_UID,
    K8S_FIELD_CONTAINER_NAME,
    K8S_FIELD_CONTAINER_ID,
    K8S_FIELD_CONTAINER_IMAGE_NAME,
    K8S_FIELD_CONTAINER_IMAGE_TAG,
    K8S_FIELD_SERVICE_NAMESPACE,
    K8S_FIELD_SERVICE_NAME,
    K8S_FIELD_SERVICE_VERSION,
    K8S_FIELD_SERVICE_INSTANCE_ID,
    K8S_FIELD_CONTAINER_IMAGE_REPO_DIGESTS,
    K8S_FIELD_CLUSTER_UID,
    K8S_FIELD_COUNT
};

/* "k8s.pod.name" ... */
const char *k8s_field_name(enum k8s_field f);

enum k8s_source_from {
    K8S_FROM_UNKNOWN = 0, /* any other text: accepted, as upstream (no check), never matches */
    K8S_FROM_CONNECTION,
    K8S_FROM_RESOURCE_ATTRIBUTE,
};

struct k8s_association_source {
    enum k8s_source_from from;
    char *from_text; /* as written */
    char *name;      /* "" for connection, as withExtractPodAssociations clears it */
};

struct k8s_association {
    struct k8s_association_source sources[K8S_ASSOCIATION_SOURCES_MAX];
    size_t count;
};

/* Where a label/annotation rule reads: MetadataFromPod ... */
enum k8s_metadata_from {
    K8S_META_POD = 0,
    K8S_META_NAMESPACE,
    K8S_META_NODE,
    K8S_META_DEPLOYMENT,
    K8S_META_STATEFULSET,
    K8S_META_DAEMONSET,
    K8S_META_JOB,
};

struct k8s_field_rule {
    char *tag_name;  /* the attribute name; with key_regex may hold $1 / ${name} references */
    char *key;       /* exact label/annotation key, or NULL */
    void *key_regex; /* pcre2_code of ^(?:key_regex)$, or NULL */
    enum k8s_metadata_from from;
    bool annotation; /* false: a label rule */
};

struct k8s_selector_term {
    char *key, *value;
    char op[16]; /* equals, not-equals, exists, does-not-exist */
};

/* The config compiled for use: what upstream's options.go turns Config into. */
struct k8sattributes_rules {
    bool passthrough;
    bool fields[K8S_FIELD_COUNT];
    bool deployment_name_from_replicaset;
    struct k8s_field_rule *field_rules; /* labels first, then annotations, then otel_annotations */
    size_t field_rule_count;
    struct k8s_association *associations;
    size_t association_count;
    void **exclude_pods; /* pcre2_code*, unanchored as regexp.MatchString */
    size_t exclude_count;
    char *filter_node; /* resolved: node_from_env_var's value when set, else node; NULL = none */
    char *filter_namespace;
    struct k8s_selector_term *label_filters, *field_filters;
    size_t label_filter_count, field_filter_count;
};

/* Config.Validate with upstream's messages (no YAML path: the service adds it), plus the shape
 * of the lists of mappings (unknown keys are errors as everywhere here). */
int k8sattributes_validate(const void *config, struct error *err);
/* Compiles `cfg` into `out` (zeroed on entry). Reads filter.node_from_env_var's variable now.
 * Returns 0, -EINVAL (err says why) or -ENOMEM; on failure `out` needs k8sattributes_rules_free. */
int k8sattributes_rules_build(const struct k8sattributes_config *cfg,
                              struct k8sattributes_rules *out, struct error *err);
void k8sattributes_rules_free(struct k8sattributes_rules *rules);

/* ---- the pod table (pod_cache.c) ---- */

/* A PodIdentifier: up to four (from, name, value) slots; unused slots are zeroed. Values are
 * borrowed from whoever built it. */
struct k8s_pod_identifier {
    struct {
        enum k8s_source_from from;
        const char *name;
        const char *value;
    } slots[K8S_ASSOCIATION_SOURCES_MAX];
};

struct k8s_attribute {
    char *key, *value;
};

struct k8s_container {
    char *name, *image_name, *image_tag;
};

/* A pod as the table keeps it (upstream's kube.Pod after podFromAPI). Immutable once in the
 * table; shared by its keys and readers through a reference count. */
struct k8s_pod {
    int refs; /* atomic */
    char *name, *namespace, *uid, *node_name, *address;
    bool host_network;
    bool ignore;           /* excluded by name or annotation: lookups treat it as absent */
    bool has_start_time;   /* status.startTime present */
    int64_t start_time_ns; /* status.startTime: orders pods that share a key */
    struct k8s_attribute *attributes; /* what extraction produced, in metadata order */
    size_t attribute_count;
    struct k8s_container *containers; /* spec.containers then initContainers */
    size_t container_count;
};

/* Drops one reference; frees the pod with the last. NULL accepted. */
void k8s_pod_release(struct k8s_pod *pod);
/* Borrowed value of an extracted attribute, or NULL. */
const char *k8s_pod_attribute(const struct k8s_pod *pod, const char *key);

typedef int64_t (*k8s_clock_fn)(void *ctx); /* nanoseconds, monotonic enough for the grace */

struct k8s_pod_cache;

/* A new empty table for `rules` (borrowed; must outlive the cache). `clock` NULL = the
 * monotonic clock. NULL on out of memory. */
struct k8s_pod_cache *k8s_pod_cache_new(const struct k8sattributes_rules *rules, k8s_clock_fn clock,
                                        void *clock_ctx);
void k8s_pod_cache_free(struct k8s_pod_cache *cache);

/* handlePodAdd/Update: the pod (a v1 Pod object, borrowed) is stored under every key
 * getIdentifiersFromAssoc gives; on a key another pod holds, the new pod wins unless its
 * status.startTime is earlier. Returns 0, -EINVAL (not an object) or -ENOMEM / -E2BIG. */
int k8s_pod_cache_upsert_pod(struct k8s_pod_cache *cache, const json_t *pod, struct error *err);
/* handlePodDelete: its keys still held by this pod (same uid) are queued for deletion after
 * the grace period; until then lookups still find it. */
int k8s_pod_cache_delete_pod(struct k8s_pod_cache *cache, const json_t *pod, struct error *err);
/* The delete loop's body: removes the queued keys whose grace has passed (and still point to
 * the same uid). Returns how many keys were removed. */
size_t k8s_pod_cache_sweep(struct k8s_pod_cache *cache);
/* ReplicaSet add/update/delete (a v1 ReplicaSet object, or its metadata only). */
int k8s_pod_cache_upsert_replicaset(struct k8s_pod_cache *cache, const json_t *replicaset,
                                    struct error *err);
int k8s_pod_cache_delete_replicaset(struct k8s_pod_cache *cache, const json_t *replicaset);
/* GetPod: a new reference to the pod stored under `id` (release it), or NULL when absent or
 * ignored. *missed is set when absent (upstream counts otelsvc_k8s_ip_lookup_miss then, not
 * for an ignored pod). */
struct k8s_pod *k8s_pod_cache_get(struct k8s_pod_cache *cache, const struct k8s_pod_identifier *id,
                                  bool *missed);
/* Keys in the table (otelsvc_k8s_pod_table_size). */
size_t k8s_pod_cache_size(struct k8s_pod_cache *cache);

/* The keys a pod object is stored under, as "from/name=value[+...]" strings, one per line in
 * upstream's order, into buf (for tests and debugging). Returns the number of keys or <0. */
int k8s_pod_cache_describe_keys(struct k8s_pod_cache *cache, const json_t *pod, char *buf,
                                size_t size);

/* ---- association and writing (association.c) ---- */

/* extractPodID: the identifier of the first rule whose sources are all present in `attrs`
 * (string, non-empty; connection needs `connection_ip`; host.name must parse as an IP), or the
 * default association when `rules` has none. Values are borrowed from attrs / connection_ip.
 * Returns false when no rule applies (id zeroed). */
bool k8s_extract_pod_identifier(const struct k8sattributes_rules *rules,
                                otlp_keyvalue *const *attrs, size_t n, const char *connection_ip,
                                struct k8s_pod_identifier *id);

/* processResource on one resource (created when missing and something is written). `missed`
 * is incremented on a pod-table miss. Returns 0 or -ENOMEM. */
int k8s_process_resource(const struct k8sattributes_rules *rules, struct k8s_pod_cache *cache,
                         otlp_resource **resource, const char *connection_ip, uint64_t *missed);

/* setResourceAttribute: sets key only when absent or its value renders as "". */
int k8s_set_attribute_if_empty(otlp_resource *r, const char *key, const char *value);

/* ---- informers (informers.c) ---- */

#define K8S_INFORMERS_MAX 8

struct k8s_informer {
    const char *resource;  /* "pods", "namespaces", "replicasets", "nodes", "deployments", ... */
    const char *api_group; /* "" (core), "apps", "batch" */
    char namespace[256];   /* "" = all namespaces */
    char label_selector[1024];
    char field_selector[1024];
};

/* The list/watch streams upstream's kube.New + Start would open for `rules`, dependencies first
 * and pods last (Start's order). Passthrough opens none. Returns the count (<= max), or
 * -E2BIG when a selector does not fit. */
int k8s_informers_for(const struct k8sattributes_rules *rules, struct k8s_informer *out,
                      size_t max);

/* ---- where and as whom the client connects (kube_config.c) ---- */

struct k8s_api_config {
    char *server;               /* "https://host:port" (or http:// from a kubeconfig), no final / */
    char *token;                /* bearer token, or NULL */
    char *ca_file, *ca_pem;     /* CA to verify the server with (file or PEM text), or neither */
    char *cert_file, *cert_pem; /* client certificate (kubeconfig), or neither */
    char *key_file, *key_pem;
    bool insecure;      /* skip TLS verification (auth_type none, or the kubeconfig says) */
    bool ca_unreadable; /* serviceAccount without a readable ca.crt: system roots */
    char *describe;     /* where the credentials came from, for the start-up log line */
};

/* Resolves auth_type ("serviceAccount", "kubeConfig", "none"; NULL = serviceAccount) as upstream's
 * k8sconfig.MakeClient does; `context` overrides the kubeconfig's current-context. Returns 0 or
 * a negative code with upstream's message in err; `out` needs k8s_api_config_free either way. */
int k8s_api_config_load(const char *auth_type, const char *context, struct k8s_api_config *out,
                        struct error *err);
void k8s_api_config_free(struct k8s_api_config *c);

/* ---- list then watch, as client-go's reflector (reflector.c) ---- */

enum k8s_event_type { K8S_EVENT_ADDED = 0, K8S_EVENT_MODIFIED, K8S_EVENT_DELETED };

/* Called on the reflector's own thread with the (transformed) object, borrowed. */
typedef void (*k8s_event_fn)(void *ctx, enum k8s_event_type type, const json_t *object);
/* Keeps what the handler needs of an object: a new reference, or NULL when out of memory. */
typedef json_t *(*k8s_transform_fn)(const json_t *object);

struct k8s_reflector;

struct k8s_reflector_options {
    const struct k8s_api_config *api;    /* borrowed: must outlive the reflector */
    const struct k8s_informer *informer; /* copied */
    const char *log_name;                /* borrowed: must outlive the reflector */
    k8s_transform_fn transform;          /* NULL: objects are kept whole */
    k8s_event_fn on_event;
    void *ctx;
    /* Informers the first list waits for (synced, or deps_wait_ns passed): client.go's Start
     * gives the pod informer 5 s for the others. Borrowed. */
    struct k8s_reflector *const *deps;
    size_t dep_count;
    int64_t deps_wait_ns;
    int64_t resync_ns; /* re-delivers every stored object as MODIFIED this often; 0 = never */
    int64_t backoff_initial_ns, backoff_max_ns; /* 0 = client-go's 800 ms and 30 s */
};

/* Starts the reflector's thread. NULL with err set on failure. */
struct k8s_reflector *k8s_reflector_start(const struct k8s_reflector_options *o, struct error *err);
/* HasSynced: the first list has been delivered. Waits up to timeout_ns (0 = just look). */
bool k8s_reflector_wait_synced(struct k8s_reflector *r, int64_t timeout_ns);
/* Objects in the reflector's store now. */
size_t k8s_reflector_store_size(struct k8s_reflector *r);
/* Stops the thread (an open request is abandoned at once), joins it, frees everything. NULL
 * accepted. */
void k8s_reflector_stop(struct k8s_reflector *r);
/* "*v1.Pod", "*v1.ReplicaSet": how client-go names an informer's type in its messages. */
const char *k8s_reflector_type_name(const char *resource);

/* ---- the component (k8sattributes.c) ---- */

struct component;
/* Test-only: the pod table of a created processor, for unit tests to feed in place of the
 * informers (the client step replaces this). Borrowed. */
struct k8s_pod_cache *k8sattributes_processor_cache(struct component *c);

#endif
