/*
 * association.c - which pod a resource belongs to, and writing its attributes, as
 * contrib v0.143/v0.144 processor/k8sattributesprocessor/{pod_association.go,processor.go}
 * (extractPodID, extractPodIDNoAssociations, processResource, setResourceAttribute) do:
 *   - rules are tried in order; a rule applies only when every source has a value: a
 *     resource_attribute must be a non-empty string (host.name must also parse as an IP), a
 *     connection source needs the client address. The first rule that applies decides: a miss
 *     in the pod table does not fall through to later rules (on purpose, as upstream).
 *   - with no rules: k8s.pod.ip, then `ip`, then the connection, then host.name if it is an IP,
 *     each as a connection identifier.
 *   - a connection value is written as k8s.pod.ip when passthrough or k8s.pod.ip is extracted;
 *     passthrough stops there.
 *   - attributes are written only when absent or rendering as "" (existing values win).
 * Not here yet: namespace/node/workload attributes looked up from k8s.namespace.name etc. (they
 * need those informers), container.id from container statuses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "k8sattributes.h"

static bool parses_as_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static const char *string_attr(otlp_keyvalue *const *attrs, size_t n, const char *key)
{
    const char *v = pdata_attr_get_string(attrs, n, key);
    return v && v[0] ? v : NULL;
}

bool k8s_extract_pod_identifier(const struct k8sattributes_rules *rules,
                                otlp_keyvalue *const *attrs, size_t n, const char *connection_ip,
                                struct k8s_pod_identifier *id)
{
    memset(id, 0, sizeof(*id));
    if (connection_ip && !connection_ip[0])
        connection_ip = NULL;
    if (rules->association_count == 0) {
        const char *value = string_attr(attrs, n, "k8s.pod.ip");
        if (!value)
            value = string_attr(attrs, n, "ip");
        if (!value)
            value = connection_ip;
        if (!value) {
            const char *host = string_attr(attrs, n, "host.name");
            value = host && parses_as_ip(host) ? host : NULL;
        }
        if (!value)
            return false;
        id->slots[0].from = K8S_FROM_CONNECTION;
        id->slots[0].name = "";
        id->slots[0].value = value;
        return true;
    }
    for (size_t a = 0; a < rules->association_count; a++) {
        const struct k8s_association *assoc = &rules->associations[a];
        struct k8s_pod_identifier candidate = {0};
        bool skip = false;
        for (size_t s = 0; s < assoc->count && !skip; s++) {
            const struct k8s_association_source *src = &assoc->sources[s];
            const char *value = NULL;
            if (src->from == K8S_FROM_CONNECTION) {
                value = connection_ip;
            } else if (src->from == K8S_FROM_RESOURCE_ATTRIBUTE) {
                value = string_attr(attrs, n, src->name);
                if (value && !strcmp(src->name, "host.name") && !parses_as_ip(value))
                    value = NULL;
            } else {
                continue; /* unknown `from`: an empty slot, the rule still applies */
            }
            if (!value) {
                skip = true;
                break;
            }
            candidate.slots[s].from = src->from;
            candidate.slots[s].name = src->name;
            candidate.slots[s].value = value;
        }
        if (!skip) {
            *id = candidate;
            return true;
        }
    }
    return false;
}

static bool renders_empty(const otlp_anyvalue *v)
{
    if (!v)
        return true;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET: return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        return !v->string_value || !v->string_value[0];
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        return v->bytes_value.len == 0;
    default: return false;
    }
}

static int ensure_resource(otlp_resource **resource)
{
    if (*resource)
        return 0;
    otlp_resource *fresh = pdata_alloc(sizeof(*fresh));
    if (!fresh)
        return -ENOMEM;
    opentelemetry__proto__resource__v1__resource__init(fresh);
    *resource = fresh;
    return 0;
}

int k8s_set_attribute_if_empty(otlp_resource *r, const char *key, const char *value)
{
    const otlp_keyvalue *const *attrs = (const otlp_keyvalue *const *)r->attributes;
    for (size_t i = 0; i < r->n_attributes; i++)
        if (attrs[i]->key && !strcmp(attrs[i]->key, key) && !renders_empty(attrs[i]->value))
            return 0;
    return pdata_attr_upsert_string(&r->attributes, &r->n_attributes, key, value);
}

/* addContainerAttributes, for what the pod table keeps (names and images). */
static int add_container_attributes(const struct k8sattributes_rules *rules, otlp_resource *r,
                                    const struct k8s_pod *pod)
{
    const char *name = string_attr(r->attributes, r->n_attributes, "k8s.container.name");
    const char *id = string_attr(r->attributes, r->n_attributes, "container.id");
    const struct k8s_container *c = NULL;
    if (name) {
        for (size_t i = 0; i < pod->container_count && !c; i++)
            if (!strcmp(pod->containers[i].name, name))
                c = &pod->containers[i];
    } else if (!id && pod->container_count == 1) {
        c = &pod->containers[0]; /* the only container of the pod */
    }
    if (!c)
        return 0;
    int rc = 0;
    if (rules->fields[K8S_FIELD_CONTAINER_NAME] && c->name[0])
        rc = k8s_set_attribute_if_empty(r, "k8s.container.name", c->name);
    if (rc == 0 && rules->fields[K8S_FIELD_CONTAINER_IMAGE_NAME] && c->image_name &&
        c->image_name[0])
        rc = k8s_set_attribute_if_empty(r, "container.image.name", c->image_name);
    if (rc == 0 && rules->fields[K8S_FIELD_CONTAINER_IMAGE_TAG] && c->image_tag && c->image_tag[0])
        rc = k8s_set_attribute_if_empty(r, "container.image.tag", c->image_tag);
    return rc;
}

int k8s_process_resource(const struct k8sattributes_rules *rules, struct k8s_pod_cache *cache,
                         otlp_resource **resource, const char *connection_ip, uint64_t *missed)
{
    otlp_keyvalue *const *attrs = *resource ? (*resource)->attributes : NULL;
    size_t n = *resource ? (*resource)->n_attributes : 0;
    struct k8s_pod_identifier id;
    bool found_id = k8s_extract_pod_identifier(rules, attrs, n, connection_ip, &id);
    int rc = 0;
    for (int i = 0; found_id && i < K8S_ASSOCIATION_SOURCES_MAX; i++) {
        if (id.slots[i].from == K8S_FROM_CONNECTION && id.slots[i].value && id.slots[i].value[0]) {
            if (rules->passthrough || rules->fields[K8S_FIELD_POD_IP]) {
                /* the value may borrow from the attributes: copy before they move */
                char ip[64];
                snprintf(ip, sizeof(ip), "%s", id.slots[i].value);
                if ((rc = ensure_resource(resource)) < 0 ||
                    (rc = k8s_set_attribute_if_empty(*resource, "k8s.pod.ip", ip)) < 0)
                    return rc;
                /* the array may have moved; re-extract the identifier's borrowed values */
                k8s_extract_pod_identifier(rules, (*resource)->attributes,
                                           (*resource)->n_attributes, connection_ip, &id);
            }
            break;
        }
    }
    if (rules->passthrough || !found_id || !cache)
        return 0;
    bool miss = false;
    struct k8s_pod *pod = k8s_pod_cache_get(cache, &id, &miss);
    if (miss && missed)
        (*missed)++;
    if (!pod)
        return 0;
    rc = ensure_resource(resource);
    for (size_t i = 0; rc == 0 && i < pod->attribute_count; i++)
        rc =
            k8s_set_attribute_if_empty(*resource, pod->attributes[i].key, pod->attributes[i].value);
    if (rc == 0)
        rc = add_container_attributes(rules, *resource, pod);
    k8s_pod_release(pod);
    return rc;
}
