/*
 * k8sattributes.c - the `k8sattributes` processor: for every resource of a payload, finds the
 * pod it came from and adds that pod's metadata (association.c, pod_cache.c), with the config
 * of config.c, from a pod table its informers keep (reflector.c, kube_config.c).
 *
 * Mirrors contrib v0.143/v0.144 processor/k8sattributesprocessor/{factory.go,processor.go} and
 * internal/kube/client.go (facts/pipeline.md §3): traces, metrics and logs; each processor
 * instance has its own client and informers, as upstream's (one per pipeline that names it;
 * sharing them is still an open upstream issue, contrib #36234); Start connects (auth_type),
 * starts the dependency informers, gives them 5 s to sync before the pod informer starts,
 * and returns at once unless wait_for_metadata asks it to wait for the pods (then a timeout
 * fails the start with upstream's "failed to wait for caches to sync"). An informer that the
 * API refuses (RBAC) never fails the start: it logs and retries with backoff, and what it would
 * have given stays out of the attributes. Deleted pods stay for the 120 s grace period, swept
 * every 30 s; informers resync every 5 minutes (watchSyncPeriod).
 *
 * consume never fails upstream (here only running out of memory does: refused, the payload
 * dropped); a pod-table miss counts otelcol_otelsvc_k8s_ip_lookup_miss; passthrough opens no
 * client and adds only k8s.pod.ip from the connection. Not done: the connection source (the
 * receivers do not pass the client address along), and the fields listed in needs_client.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "component.h"
#include "k8sattributes.h"
#include "log.h"
#include "telemetry.h"

#define NS_PER_S 1000000000LL
/* client.go: the pod informer waits this long for the others; watchSyncPeriod. */
#define DEPENDENCY_SYNC_WAIT_NS (5 * NS_PER_S)
#define RESYNC_PERIOD_NS (300 * NS_PER_S)

/* otelsvc_k8s_<kind>_{added,updated,deleted} for one informer kind. */
struct informer_counters {
    struct tm_counter *added, *updated, *deleted;
};

struct k8sattributes_processor;

/* One running informer and what its events feed. */
struct informer_binding {
    struct k8sattributes_processor *kp;
    struct k8s_informer informer;
    struct k8s_reflector *reflector;
    struct informer_counters *counters; /* NULL: upstream counts nothing for this kind */
};

struct k8sattributes_processor {
    struct k8sattributes_rules rules;
    struct k8s_pod_cache *cache;
    struct consumer *next; /* downstream, owned by the service */
    const char *log_name;  /* borrowed from the component */
    struct tm_counter *lookup_miss;
    struct tm_gauge *table_size;
    struct informer_counters pods, replicasets, namespaces, nodes;

    /* --- from start to shutdown --- */
    struct k8s_api_config api;
    struct informer_binding bindings[K8S_INFORMERS_MAX];
    size_t binding_count;
    pthread_t sweeper;
    bool sweeper_running;
    pthread_mutex_t sweep_lock;
    pthread_cond_t sweep_cond;
    bool stopping; /* guarded by sweep_lock */
};

/* Fields accepted and not computed yet: they need objects or sources otelcol-ref does not
 * read (nodes' uids, jobs, the cluster's kube-system namespace, container statuses). */
static const enum k8s_field needs_client[] = {
    K8S_FIELD_NODE_UID,
    K8S_FIELD_CRONJOB_UID,
    K8S_FIELD_CLUSTER_UID,
    K8S_FIELD_CONTAINER_ID,
    K8S_FIELD_SERVICE_NAMESPACE,
    K8S_FIELD_SERVICE_NAME,
    K8S_FIELD_SERVICE_VERSION,
    K8S_FIELD_SERVICE_INSTANCE_ID,
    K8S_FIELD_CONTAINER_IMAGE_REPO_DIGESTS,
};

static void stop_client(struct k8sattributes_processor *kp);

static void processor_free(struct k8sattributes_processor *kp)
{
    if (!kp)
        return;
    stop_client(kp);
    k8s_pod_cache_free(kp->cache);
    k8sattributes_rules_free(&kp->rules);
    free(kp);
}

static int k8sattributes_create(struct component *c, struct error *err)
{
    int rc;
    struct k8sattributes_processor *kp = calloc(1, sizeof(*kp));
    if (!kp)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    kp->next = c->next[c->pipeline_signal];
    if (!kp->next) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "no downstream consumer for %s",
                       signal_name(c->pipeline_signal));
        goto fail;
    }
    if ((rc = k8sattributes_rules_build(c->config, &kp->rules, err)) < 0)
        goto fail;
    if (!(kp->cache = k8s_pod_cache_new(&kp->rules, NULL, NULL))) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    char labels[200];
    snprintf(labels, sizeof(labels), "processor=\"%s\"", c->id);
    kp->lookup_miss = telemetry_counter(c->telemetry, "otelcol_otelsvc_k8s_ip_lookup_miss",
                                        "Number of times pod by IP lookup failed.", labels);
    kp->table_size = telemetry_gauge(c->telemetry, "otelcol_otelsvc_k8s_pod_table_size",
                                     "Size of table containing pod info", labels);
    kp->log_name = c->log_name;
    struct {
        struct informer_counters *counters;
        const char *kind;
    } kinds[] = {{&kp->pods, "pod"},
                 {&kp->replicasets, "replicaset"},
                 {&kp->namespaces, "namespace"},
                 {&kp->nodes, "node"}};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        char name[96], help[96];
        snprintf(name, sizeof(name), "otelcol_otelsvc_k8s_%s_added", kinds[i].kind);
        snprintf(help, sizeof(help), "Number of %s add events received", kinds[i].kind);
        kinds[i].counters->added = telemetry_counter(c->telemetry, name, help, labels);
        snprintf(name, sizeof(name), "otelcol_otelsvc_k8s_%s_updated", kinds[i].kind);
        snprintf(help, sizeof(help), "Number of %s update events received", kinds[i].kind);
        kinds[i].counters->updated = telemetry_counter(c->telemetry, name, help, labels);
        snprintf(name, sizeof(name), "otelcol_otelsvc_k8s_%s_deleted", kinds[i].kind);
        snprintf(help, sizeof(help), "Number of %s delete events received", kinds[i].kind);
        kinds[i].counters->deleted = telemetry_counter(c->telemetry, name, help, labels);
    }
    for (size_t i = 0; i < sizeof(needs_client) / sizeof(needs_client[0]); i++)
        if (kp->rules.fields[needs_client[i]])
            log_warn(c->log_name,
                     "extract.metadata %s is accepted but otelcol-ref does not compute it yet: "
                     "it is left out",
                     k8s_field_name(needs_client[i]));
    c->state = kp;
    return 0;
fail:
    processor_free(kp);
    return rc;
}

/* ---- what the informers keep of an object (upstream's transform functions) ---- */

static int copy_keys(json_t *dst, const json_t *src, const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(src, keys[i]);
        if (v && json_object_set(dst, keys[i], v) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* Containers: name and image only. */
static int copy_containers(json_t *dst, const json_t *src, const char *key)
{
    static const char *const keys[] = {"name", "image", NULL};
    const json_t *list = json_object_get(src, key);
    if (!json_is_array(list))
        return 0;
    json_t *kept = json_array();
    if (!kept || json_object_set_new(dst, key, kept) < 0)
        return -ENOMEM;
    size_t i;
    const json_t *item;
    json_array_foreach(list, i, item)
    {
        json_t *one = json_object();
        if (!one || json_array_append_new(kept, one) < 0 || copy_keys(one, item, keys) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* removeUnnecessaryPodData: what extraction, association and deletion read, nothing else, so
 * that 5,000 pods do not cost 5,000 full objects. */
static json_t *pod_transform(const json_t *pod)
{
    static const char *const meta_keys[] = {"name",
                                            "namespace",
                                            "uid",
                                            "labels",
                                            "annotations",
                                            "ownerReferences",
                                            "creationTimestamp",
                                            "deletionTimestamp",
                                            "resourceVersion",
                                            NULL};
    static const char *const spec_keys[] = {"nodeName", "hostNetwork", "hostname", NULL};
    static const char *const status_keys[] = {
        "podIP", "podIPs", "startTime", "phase", "containerStatuses", "initContainerStatuses",
        NULL};
    json_t *out = json_object(), *meta = json_object(), *spec = json_object(),
           *status = json_object();
    int rc = out && meta && spec && status ? 0 : -ENOMEM;
    const json_t *src_spec = json_object_get(pod, "spec");
    if (rc == 0)
        rc = copy_keys(meta, json_object_get(pod, "metadata"), meta_keys);
    if (rc == 0)
        rc = copy_keys(spec, src_spec, spec_keys);
    if (rc == 0)
        rc = copy_containers(spec, src_spec, "containers");
    if (rc == 0)
        rc = copy_containers(spec, src_spec, "initContainers");
    if (rc == 0)
        rc = copy_keys(status, json_object_get(pod, "status"), status_keys);
    if (rc == 0 &&
        (json_object_set(out, "metadata", meta) < 0 || json_object_set(out, "spec", spec) < 0 ||
         json_object_set(out, "status", status) < 0))
        rc = -ENOMEM;
    json_decref(meta);
    json_decref(spec);
    json_decref(status);
    if (rc < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* The ReplicaSet transform: name, namespace, uid and owners. */
static json_t *replicaset_transform(const json_t *replicaset)
{
    static const char *const meta_keys[] = {
        "name", "namespace", "uid", "ownerReferences", "resourceVersion", NULL};
    json_t *out = json_object(), *meta = json_object();
    if (!out || !meta || json_object_set(out, "metadata", meta) < 0 ||
        copy_keys(meta, json_object_get(replicaset, "metadata"), meta_keys) < 0) {
        json_decref(out);
        json_decref(meta);
        return NULL;
    }
    json_decref(meta);
    return out;
}

/* Other kinds: their metadata (labels/annotations of namespaces, nodes, workloads) but its
 * managedFields, which are often most of it. */
static json_t *metadata_transform(const json_t *object)
{
    static const char *const meta_keys[] = {"name",
                                            "namespace",
                                            "uid",
                                            "labels",
                                            "annotations",
                                            "ownerReferences",
                                            "creationTimestamp",
                                            "resourceVersion",
                                            NULL};
    json_t *out = json_object(), *meta = json_object();
    if (!out || !meta || json_object_set(out, "metadata", meta) < 0 ||
        copy_keys(meta, json_object_get(object, "metadata"), meta_keys) < 0) {
        json_decref(out);
        json_decref(meta);
        return NULL;
    }
    json_decref(meta);
    return out;
}

/* ---- informer events into the pod table (client.go's handlers) ---- */

static void count_event(struct informer_counters *c, enum k8s_event_type type)
{
    if (!c)
        return;
    tm_counter_add(type == K8S_EVENT_ADDED      ? c->added
                   : type == K8S_EVENT_MODIFIED ? c->updated
                                                : c->deleted,
                   1);
}

static void on_informer_event(void *ctx, enum k8s_event_type type, const json_t *object)
{
    struct informer_binding *b = ctx;
    struct k8sattributes_processor *kp = b->kp;
    struct error err = {0};
    int rc = 0;
    count_event(b->counters, type);
    if (!strcmp(b->informer.resource, "pods")) {
        rc = type == K8S_EVENT_DELETED ? k8s_pod_cache_delete_pod(kp->cache, object, &err)
                                       : k8s_pod_cache_upsert_pod(kp->cache, object, &err);
        tm_gauge_set(kp->table_size, (double)k8s_pod_cache_size(kp->cache));
    } else if (!strcmp(b->informer.resource, "replicasets")) {
        rc = type == K8S_EVENT_DELETED ? k8s_pod_cache_delete_replicaset(kp->cache, object)
                                       : k8s_pod_cache_upsert_replicaset(kp->cache, object, &err);
    }
    /* Namespaces, nodes and workloads are listed and watched as upstream does (the calls are
     * what the RBAC must allow); the attributes read from them are not computed yet. */
    if (rc < 0)
        log_warn(kp->log_name, "cannot keep %s %s: %s", b->informer.resource,
                 json_string_value(json_object_get(json_object_get(object, "metadata"), "name")),
                 err.message[0] ? err.message : strerror(-rc));
}

static void *sweeper_main(void *arg)
{
    struct k8sattributes_processor *kp = arg;
    pthread_mutex_lock(&kp->sweep_lock);
    while (!kp->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += K8S_POD_DELETE_SWEEP_NS / NS_PER_S;
        if (pthread_cond_timedwait(&kp->sweep_cond, &kp->sweep_lock, &until) == ETIMEDOUT &&
            !kp->stopping) {
            pthread_mutex_unlock(&kp->sweep_lock);
            k8s_pod_cache_sweep(kp->cache);
            tm_gauge_set(kp->table_size, (double)k8s_pod_cache_size(kp->cache));
            pthread_mutex_lock(&kp->sweep_lock);
        }
    }
    pthread_mutex_unlock(&kp->sweep_lock);
    return NULL;
}

static void stop_client(struct k8sattributes_processor *kp)
{
    /* Pods first: the dependencies it may still wait for outlive it. */
    for (size_t i = kp->binding_count; i-- > 0;) {
        k8s_reflector_stop(kp->bindings[i].reflector);
        kp->bindings[i].reflector = NULL;
    }
    kp->binding_count = 0;
    if (kp->sweeper_running) {
        pthread_mutex_lock(&kp->sweep_lock);
        kp->stopping = true;
        pthread_cond_broadcast(&kp->sweep_cond);
        pthread_mutex_unlock(&kp->sweep_lock);
        pthread_join(kp->sweeper, NULL);
        kp->sweeper_running = false;
        pthread_cond_destroy(&kp->sweep_cond);
        pthread_mutex_destroy(&kp->sweep_lock);
    }
    k8s_api_config_free(&kp->api);
}

static struct informer_counters *counters_for(struct k8sattributes_processor *kp,
                                              const char *resource)
{
    if (!strcmp(resource, "pods"))
        return &kp->pods;
    if (!strcmp(resource, "replicasets"))
        return &kp->replicasets;
    if (!strcmp(resource, "namespaces"))
        return &kp->namespaces;
    if (!strcmp(resource, "nodes"))
        return &kp->nodes;
    return NULL;
}

static void describe_informer(const struct k8s_informer *inf, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s%s%s%s%s", inf->resource, inf->namespace[0] ? " in " : "",
             inf->namespace, inf->label_selector[0] ? " labelSelector=" : "", inf->label_selector,
             inf->field_selector[0] ? " fieldSelector=" : "", inf->field_selector);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_OK;

static void init_curl_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int k8sattributes_start(struct component *c, struct error *err)
{
    struct k8sattributes_processor *kp = c->state;
    const struct k8sattributes_config *cfg = c->config;
    if (kp->rules.passthrough)
        return 0;
    pthread_once(&curl_once, init_curl_once);
    if (curl_init_result != CURLE_OK)
        return error_set(err, -EIO, ERROR_PERMANENT, "cannot initialise libcurl: %s",
                         curl_easy_strerror(curl_init_result));
    int rc = k8s_api_config_load(cfg->auth_type, cfg->context, &kp->api, err);
    if (rc < 0)
        return rc;
    if (kp->api.ca_unreadable)
        log_warn(c->log_name,
                 "Expected to load root CA config from the service account's ca.crt, but it "
                 "cannot be read: the system's roots verify the API server");
    struct k8s_informer informers[K8S_INFORMERS_MAX];
    int n = k8s_informers_for(&kp->rules, informers, K8S_INFORMERS_MAX);
    if (n < 0) {
        k8s_api_config_free(&kp->api);
        return error_set(err, n, ERROR_PERMANENT, "the informers' selectors are too long");
    }
    char list[2048] = "";
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        char one[1200];
        describe_informer(&informers[i], one, sizeof(one));
        int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? "; " : "", one);
        if (w > 0 && (size_t)w < sizeof(list) - used)
            used += (size_t)w;
    }
    log_info(c->log_name, "watching the Kubernetes API at %s as %s: %s", kp->api.server,
             kp->api.describe, list);

    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&kp->sweep_lock, NULL);
    pthread_cond_init(&kp->sweep_cond, &attr);
    pthread_condattr_destroy(&attr);
    kp->stopping = false;
    if ((rc = pthread_create(&kp->sweeper, NULL, sweeper_main, kp)) != 0) {
        pthread_cond_destroy(&kp->sweep_cond);
        pthread_mutex_destroy(&kp->sweep_lock);
        k8s_api_config_free(&kp->api);
        return error_set(err, -rc, ERROR_PERMANENT, "cannot start the pod sweeper: %s",
                         strerror(rc));
    }
    kp->sweeper_running = true;

    /* Dependencies first, pods last (k8s_informers_for's order); the pod informer waits for
     * the others' first lists, 5 s at most. */
    struct k8s_reflector *deps[K8S_INFORMERS_MAX];
    size_t dep_count = 0;
    for (int i = 0; i < n; i++) {
        struct informer_binding *b = &kp->bindings[kp->binding_count];
        bool pods = !strcmp(informers[i].resource, "pods");
        b->kp = kp;
        b->informer = informers[i];
        b->counters = counters_for(kp, informers[i].resource);
        struct k8s_reflector_options o = {
            .api = &kp->api,
            .informer = &b->informer,
            .log_name = c->log_name,
            .transform = pods                                            ? pod_transform
                         : !strcmp(informers[i].resource, "replicasets") ? replicaset_transform
                                                                         : metadata_transform,
            .on_event = on_informer_event,
            .ctx = b,
            .deps = pods ? deps : NULL,
            .dep_count = pods ? dep_count : 0,
            .deps_wait_ns = DEPENDENCY_SYNC_WAIT_NS,
            .resync_ns = RESYNC_PERIOD_NS,
        };
        if (!(b->reflector = k8s_reflector_start(&o, err))) {
            stop_client(kp);
            return err->code ? err->code : -ENOMEM;
        }
        kp->binding_count++;
        if (!pods)
            deps[dep_count++] = b->reflector;
    }
    if (cfg->wait_for_metadata && kp->binding_count) {
        struct k8s_reflector *pods = kp->bindings[kp->binding_count - 1].reflector;
        /* The dependency wait comes first inside the pod informer, as upstream's Start. */
        if (!k8s_reflector_wait_synced(pods, cfg->wait_for_metadata_timeout_ns)) {
            stop_client(kp);
            return error_set(err, -ETIMEDOUT, ERROR_PERMANENT, "failed to wait for caches to sync");
        }
    }
    return 0;
}

static int process(struct k8sattributes_processor *kp, otlp_resource **resource, uint64_t *missed)
{
    return k8s_process_resource(&kp->rules, kp->cache, resource, NULL, missed);
}

static int k8sattributes_consume(struct component *c, struct payload *p, struct error *err)
{
    struct k8sattributes_processor *kp = c->state;
    uint64_t missed = 0;
    int rc = 0;
    switch (p->signal) {
    case SIGNAL_TRACES:
        for (size_t i = 0; rc == 0 && i < p->traces->n_resource_spans; i++)
            rc = process(kp, &p->traces->resource_spans[i]->resource, &missed);
        break;
    case SIGNAL_METRICS:
        for (size_t i = 0; rc == 0 && i < p->metrics->n_resource_metrics; i++)
            rc = process(kp, &p->metrics->resource_metrics[i]->resource, &missed);
        break;
    case SIGNAL_LOGS:
        for (size_t i = 0; rc == 0 && i < p->logs->n_resource_logs; i++)
            rc = process(kp, &p->logs->resource_logs[i]->resource, &missed);
        break;
    }
    tm_counter_add(kp->lookup_miss, missed);
    if (!kp->rules.passthrough)
        tm_gauge_set(kp->table_size, (double)k8s_pod_cache_size(kp->cache));
    if (rc < 0) {
        payload_free(p);
        return error_set(err, rc, ERROR_REFUSED, "out of memory adding Kubernetes attributes");
    }
    return consumer_consume(kp->next, p, err);
}

static void k8sattributes_shutdown(struct component *c, long long deadline_ms)
{
    (void)deadline_ms; /* stopping never waits for the API server */
    struct k8sattributes_processor *kp = c->state;
    if (kp)
        stop_client(kp);
}

static void k8sattributes_destroy(struct component *c)
{
    processor_free(c->state);
    c->state = NULL;
}

struct k8s_pod_cache *k8sattributes_processor_cache(struct component *c)
{
    struct k8sattributes_processor *kp = c->state;
    return kp ? kp->cache : NULL;
}

const struct component_descriptor k8sattributes_processor_descriptor = {
    .type = "k8sattributes",
    .kind = KIND_PROCESSOR,
    .signals = SIGNALS_ALL,
    .deprecated_alias = NULL,
    .summary = "adds the metadata of the pod a resource came from, watched in the Kubernetes API",
    .options = k8sattributes_options,
    .config_size = sizeof(struct k8sattributes_config),
    .validate = k8sattributes_validate,
    .create = k8sattributes_create,
    .start = k8sattributes_start,
    .consume = k8sattributes_consume,
    .shutdown = k8sattributes_shutdown,
    .destroy = k8sattributes_destroy,
};
