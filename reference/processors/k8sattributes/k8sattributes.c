/*
 * k8sattributes.c - the `k8sattributes` processor: for every resource of a payload, finds the
 * pod it came from and adds that pod's metadata (association.c, pod_cache.c), with the config
 * of config.c.
 *
 * Mirrors contrib v0.143/v0.144 processor/k8sattributesprocessor/{factory.go,processor.go}
 * (facts/pipeline.md §3): traces, metrics and logs; consume never fails upstream (here only
 * running out of memory does: refused, the payload dropped); a pod-table miss counts
 * otelcol_otelsvc_k8s_ip_lookup_miss; passthrough adds only k8s.pod.ip from the connection.
 *
 * This slice has no Kubernetes client: the pod table starts empty and nothing fills it outside
 * the unit tests (k8sattributes_processor_cache()), so every lookup misses, exactly as upstream
 * behaves before its pod informer has synced. Start says so in an info line. The connection
 * source never has a value yet either: payloads do not carry the client address. Not done:
 * wait_for_metadata (nothing to wait for; accepted), the 30 s delete sweep thread (the client
 * step starts it with the informers), the otelsvc_k8s_{pod,replicaset}_* counters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "component.h"
#include "k8sattributes.h"
#include "log.h"
#include "telemetry.h"

struct k8sattributes_processor {
    struct k8sattributes_rules rules;
    struct k8s_pod_cache *cache;
    struct consumer *next; /* downstream, owned by the service */
    struct tm_counter *lookup_miss;
    struct tm_gauge *table_size;
};

/* Fields accepted and never produced before the client step brings their objects. */
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

static void processor_free(struct k8sattributes_processor *kp)
{
    if (!kp)
        return;
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

static int k8sattributes_start(struct component *c, struct error *err)
{
    (void)err;
    struct k8sattributes_processor *kp = c->state;
    if (kp->rules.passthrough)
        return 0;
    log_info(c->log_name,
             "the Kubernetes client comes in a later step of otelcol-ref: the pod table stays "
             "empty and every lookup misses, as upstream before its informers synced");
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
    (void)c;
    (void)deadline_ms;
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
    .summary = "adds the metadata of the pod a resource came from (no Kubernetes client yet)",
    .options = k8sattributes_options,
    .config_size = sizeof(struct k8sattributes_config),
    .validate = k8sattributes_validate,
    .create = k8sattributes_create,
    .start = k8sattributes_start,
    .consume = k8sattributes_consume,
    .shutdown = k8sattributes_shutdown,
    .destroy = k8sattributes_destroy,
};
