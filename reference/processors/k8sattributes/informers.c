/*
 * informers.c - which list/watch streams upstream's kube client opens for a config
 * (contrib v0.143/v0.144 processor/k8sattributesprocessor/internal/kube/client.go New and
 * Start, informer.go; facts/pipeline.md §3 "Which informers start"):
 *   - none in passthrough mode (no client at all);
 *   - ReplicaSets when k8s.deployment.name is extracted without deployment_name_from_replicaset,
 *     or k8s.deployment.uid, or deployment labels/annotations (namespace = filter.namespace);
 *   - namespaces: all when namespace labels/annotations are extracted, only kube-system
 *     (fieldSelector metadata.name=kube-system) for k8s.cluster.uid, else a no-op informer that
 *     makes no API call (not listed);
 *   - nodes for node labels/annotations or k8s.node.uid (metadata.name=<filter node> when a node
 *     filter is set: guessed from newNodeSharedInformer's node argument);
 *   - deployments / statefulsets / daemonsets for their labels/annotations; jobs for job
 *     labels/annotations or k8s.cronjob.uid;
 *   - pods last (Start runs it after the others synced or 5 s passed): filter.namespace,
 *     labelSelector from filter.labels (sorted by key, as labels.Selector prints), fieldSelector
 *     from filter.fields then spec.nodeName=<node> (fields.AndSelectors order, values escaped).
 * The selectors are the strings client-go sends; the client step uses this list as is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8sattributes.h"

static bool uses_from(const struct k8sattributes_rules *r, enum k8s_metadata_from from)
{
    for (size_t i = 0; i < r->field_rule_count; i++)
        if (r->field_rules[i].from == from)
            return true;
    return false;
}

/* Appends `text` to buf[size] at *used; -E2BIG when it does not fit. */
static int append(char *buf, size_t size, size_t *used, const char *text)
{
    size_t n = strlen(text);
    if (*used + n + 1 > size)
        return -E2BIG;
    memcpy(buf + *used, text, n + 1);
    *used += n;
    return 0;
}

/* fields.EscapeValue */
static int append_escaped(char *buf, size_t size, size_t *used, const char *value)
{
    for (const char *p = value; *p; p++) {
        char piece[3] = {*p, 0, 0};
        if (*p == '\\' || *p == ',' || *p == '=')
            piece[0] = '\\', piece[1] = *p;
        int rc = append(buf, size, used, piece);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int compare_terms(const void *a, const void *b)
{
    const struct k8s_selector_term *x = *(const struct k8s_selector_term *const *)a;
    const struct k8s_selector_term *y = *(const struct k8s_selector_term *const *)b;
    return strcmp(x->key, y->key);
}

static int label_selector(const struct k8sattributes_rules *r, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    if (r->label_filter_count == 0)
        return 0;
    const struct k8s_selector_term **sorted = calloc(r->label_filter_count, sizeof(*sorted));
    if (!sorted)
        return -ENOMEM;
    for (size_t i = 0; i < r->label_filter_count; i++)
        sorted[i] = &r->label_filters[i];
    qsort(sorted, r->label_filter_count, sizeof(*sorted), compare_terms);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->label_filter_count; i++) {
        const struct k8s_selector_term *t = sorted[i];
        if (i)
            rc = append(buf, size, &used, ",");
        if (rc == 0 && !strcmp(t->op, "does-not-exist"))
            rc = append(buf, size, &used, "!");
        if (rc == 0)
            rc = append(buf, size, &used, t->key);
        if (rc == 0 && !strcmp(t->op, "equals"))
            rc = append(buf, size, &used, "=");
        else if (rc == 0 && !strcmp(t->op, "not-equals"))
            rc = append(buf, size, &used, "!=");
        if (rc == 0 && (!strcmp(t->op, "equals") || !strcmp(t->op, "not-equals")))
            rc = append(buf, size, &used, t->value);
    }
    free(sorted);
    return rc;
}

static int field_selector(const struct k8sattributes_rules *r, char *buf, size_t size)
{
    size_t used = 0;
    int rc = 0;
    buf[0] = '\0';
    for (size_t i = 0; rc == 0 && i < r->field_filter_count; i++) {
        const struct k8s_selector_term *t = &r->field_filters[i];
        if (i)
            rc = append(buf, size, &used, ",");
        if (rc == 0)
            rc = append(buf, size, &used, t->key);
        if (rc == 0)
            rc = append(buf, size, &used, !strcmp(t->op, "not-equals") ? "!=" : "=");
        if (rc == 0)
            rc = append_escaped(buf, size, &used, t->value);
    }
    if (rc == 0 && r->filter_node) {
        if (used)
            rc = append(buf, size, &used, ",");
        if (rc == 0)
            rc = append(buf, size, &used, "spec.nodeName=");
        if (rc == 0)
            rc = append_escaped(buf, size, &used, r->filter_node);
    }
    return rc;
}

static struct k8s_informer *add(struct k8s_informer *out, size_t max, size_t *n,
                                const char *resource, const char *group, const char *namespace)
{
    if (*n >= max)
        return NULL;
    struct k8s_informer *i = &out[(*n)++];
    memset(i, 0, sizeof(*i));
    i->resource = resource;
    i->api_group = group;
    snprintf(i->namespace, sizeof(i->namespace), "%s", namespace ? namespace : "");
    return i;
}

int k8s_informers_for(const struct k8sattributes_rules *r, struct k8s_informer *out, size_t max)
{
    size_t n = 0;
    if (r->passthrough)
        return 0;
    const char *ns = r->filter_namespace;
    bool deployment_meta = uses_from(r, K8S_META_DEPLOYMENT);
    if ((r->fields[K8S_FIELD_DEPLOYMENT_NAME] && !r->deployment_name_from_replicaset) ||
        r->fields[K8S_FIELD_DEPLOYMENT_UID] || deployment_meta)
        if (!add(out, max, &n, "replicasets", "apps", ns))
            return -E2BIG;
    if (uses_from(r, K8S_META_NAMESPACE)) {
        if (!add(out, max, &n, "namespaces", "", NULL))
            return -E2BIG;
    } else if (r->fields[K8S_FIELD_CLUSTER_UID]) {
        struct k8s_informer *i = add(out, max, &n, "namespaces", "", NULL);
        if (!i)
            return -E2BIG;
        snprintf(i->field_selector, sizeof(i->field_selector), "metadata.name=kube-system");
    }
    if (uses_from(r, K8S_META_NODE) || r->fields[K8S_FIELD_NODE_UID]) {
        struct k8s_informer *i = add(out, max, &n, "nodes", "", NULL);
        if (!i)
            return -E2BIG;
        if (r->filter_node)
            snprintf(i->field_selector, sizeof(i->field_selector), "metadata.name=%s",
                     r->filter_node);
    }
    if (deployment_meta && !add(out, max, &n, "deployments", "apps", ns))
        return -E2BIG;
    if (uses_from(r, K8S_META_STATEFULSET) && !add(out, max, &n, "statefulsets", "apps", ns))
        return -E2BIG;
    if (uses_from(r, K8S_META_DAEMONSET) && !add(out, max, &n, "daemonsets", "apps", ns))
        return -E2BIG;
    if ((uses_from(r, K8S_META_JOB) || r->fields[K8S_FIELD_CRONJOB_UID]) &&
        !add(out, max, &n, "jobs", "batch", ns))
        return -E2BIG;
    struct k8s_informer *pods = add(out, max, &n, "pods", "", ns);
    if (!pods)
        return -E2BIG;
    int rc = label_selector(r, pods->label_selector, sizeof(pods->label_selector));
    if (rc == 0)
        rc = field_selector(r, pods->field_selector, sizeof(pods->field_selector));
    return rc < 0 ? rc : (int)n;
}
