/*
 * k8s_resources.c - the fake Kubernetes API's resource types and discovery (k8s_resources.h).
 *
 * Checked against: k8s.io/api apidiscovery/v2 types.go (the aggregated shape), apimachinery
 * meta/v1 types.go (APIVersions, APIGroupList, APIResourceList), client-go 0.34
 * discovery/discovery_client.go (the Accept header and how the answer's Content-Type picks the
 * form), and the short names and categories a 1.32 server and the prometheus-operator 0.81 CRDs
 * declare. The fake answers as a Kubernetes v1.32.0 server.
 */
#include "k8s_resources.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define STANDARD_VERBS "create delete deletecollection get list patch update watch"
#define STATUS_SUBRESOURCE(k)                                                                      \
    {                                                                                              \
        "status", k, "get patch update"                                                            \
    }

static const struct k8s_resource_type pods = {
    .group = "",
    .version = "v1",
    .api_version = "v1",
    .plural = "pods",
    .singular = "pod",
    .kind = "Pod",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
    .short_names = {"po"},
    .category = "all",
    .subresources = {STATUS_SUBRESOURCE("Pod")},
};
static const struct k8s_resource_type nodes = {
    .group = "",
    .version = "v1",
    .api_version = "v1",
    .plural = "nodes",
    .singular = "node",
    .kind = "Node",
    .namespaced = false,
    .verbs = STANDARD_VERBS,
    .short_names = {"no"},
    .subresources = {STATUS_SUBRESOURCE("Node")},
};
static const struct k8s_resource_type namespaces = {
    .group = "",
    .version = "v1",
    .api_version = "v1",
    .plural = "namespaces",
    .singular = "namespace",
    .kind = "Namespace",
    .namespaced = false,
    .verbs = "create delete get list patch update watch",
    .short_names = {"ns"},
    .subresources = {STATUS_SUBRESOURCE("Namespace")},
};
static const struct k8s_resource_type services = {
    .group = "",
    .version = "v1",
    .api_version = "v1",
    .plural = "services",
    .singular = "service",
    .kind = "Service",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
    .short_names = {"svc"},
    .category = "all",
    .subresources = {STATUS_SUBRESOURCE("Service")},
};
static const struct k8s_resource_type endpoints = {
    .group = "",
    .version = "v1",
    .api_version = "v1",
    .plural = "endpoints",
    .singular = "endpoints",
    .kind = "Endpoints",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
    .short_names = {"ep"},
};
static const struct k8s_resource_type serviceaccounts = {
    .group = "",
    .version = "v1",
    .api_version = "v1",
    .plural = "serviceaccounts",
    .singular = "serviceaccount",
    .kind = "ServiceAccount",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
    .short_names = {"sa"},
};
static const struct k8s_resource_type configmaps = {
    .group = "",
    .version = "v1",
    .api_version = "v1",
    .plural = "configmaps",
    .singular = "configmap",
    .kind = "ConfigMap",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
    .short_names = {"cm"},
};
static const struct k8s_resource_type replicasets = {
    .group = "apps",
    .version = "v1",
    .api_version = "apps/v1",
    .plural = "replicasets",
    .has_generation = true,
    .singular = "replicaset",
    .kind = "ReplicaSet",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
    .short_names = {"rs"},
    .category = "all",
    .subresources = {STATUS_SUBRESOURCE("ReplicaSet")},
};
static const struct k8s_resource_type deployments = {
    .group = "apps",
    .version = "v1",
    .api_version = "apps/v1",
    .plural = "deployments",
    .has_generation = true,
    .singular = "deployment",
    .kind = "Deployment",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
    .short_names = {"deploy"},
    .category = "all",
    .subresources = {STATUS_SUBRESOURCE("Deployment")},
};
static const struct k8s_resource_type daemonsets = {
    .group = "apps",
    .version = "v1",
    .api_version = "apps/v1",
    .plural = "daemonsets",
    .has_generation = true,
    .singular = "daemonset",
    .kind = "DaemonSet",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
    .short_names = {"ds"},
    .category = "all",
    .subresources = {STATUS_SUBRESOURCE("DaemonSet")},
};
static const struct k8s_resource_type statefulsets = {
    .group = "apps",
    .version = "v1",
    .api_version = "apps/v1",
    .plural = "statefulsets",
    .has_generation = true,
    .singular = "statefulset",
    .kind = "StatefulSet",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
    .short_names = {"sts"},
    .category = "all",
    .subresources = {STATUS_SUBRESOURCE("StatefulSet")},
};
static const struct k8s_resource_type endpointslices = {
    .group = "discovery.k8s.io",
    .version = "v1",
    .api_version = "discovery.k8s.io/v1",
    .plural = "endpointslices",
    .singular = "endpointslice",
    .kind = "EndpointSlice",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
};
static const struct k8s_resource_type servicemonitors = {
    .group = "monitoring.coreos.com",
    .version = "v1",
    .api_version = "monitoring.coreos.com/v1",
    .plural = "servicemonitors",
    .has_generation = true,
    .singular = "servicemonitor",
    .kind = "ServiceMonitor",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
    .short_names = {"smon"},
    .category = "prometheus-operator",
    .custom = true,
};
static const struct k8s_resource_type podmonitors = {
    .group = "monitoring.coreos.com",
    .version = "v1",
    .api_version = "monitoring.coreos.com/v1",
    .plural = "podmonitors",
    .has_generation = true,
    .singular = "podmonitor",
    .kind = "PodMonitor",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
    .short_names = {"pmon"},
    .category = "prometheus-operator",
    .custom = true,
};
static const struct k8s_resource_type probes = {
    .group = "monitoring.coreos.com",
    .version = "v1",
    .api_version = "monitoring.coreos.com/v1",
    .plural = "probes",
    .has_generation = true,
    .singular = "probe",
    .kind = "Probe",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
    .short_names = {"prb"},
    .category = "prometheus-operator",
    .custom = true,
};
static const struct k8s_resource_type scrapeconfigs = {
    .group = "monitoring.coreos.com",
    .version = "v1alpha1",
    .api_version = "monitoring.coreos.com/v1alpha1",
    .plural = "scrapeconfigs",
    .has_generation = true,
    .singular = "scrapeconfig",
    .kind = "ScrapeConfig",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
    .short_names = {"scfg"},
    .category = "prometheus-operator",
    .custom = true,
};
static const struct k8s_resource_type roles = {
    .group = "rbac.authorization.k8s.io",
    .version = "v1",
    .api_version = "rbac.authorization.k8s.io/v1",
    .plural = "roles",
    .singular = "role",
    .kind = "Role",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
};
static const struct k8s_resource_type rolebindings = {
    .group = "rbac.authorization.k8s.io",
    .version = "v1",
    .api_version = "rbac.authorization.k8s.io/v1",
    .plural = "rolebindings",
    .singular = "rolebinding",
    .kind = "RoleBinding",
    .namespaced = true,
    .verbs = STANDARD_VERBS,
};
static const struct k8s_resource_type clusterroles = {
    .group = "rbac.authorization.k8s.io",
    .version = "v1",
    .api_version = "rbac.authorization.k8s.io/v1",
    .plural = "clusterroles",
    .singular = "clusterrole",
    .kind = "ClusterRole",
    .namespaced = false,
    .verbs = STANDARD_VERBS,
};
static const struct k8s_resource_type clusterrolebindings = {
    .group = "rbac.authorization.k8s.io",
    .version = "v1",
    .api_version = "rbac.authorization.k8s.io/v1",
    .plural = "clusterrolebindings",
    .singular = "clusterrolebinding",
    .kind = "ClusterRoleBinding",
    .namespaced = false,
    .verbs = STANDARD_VERBS,
};
static const struct k8s_resource_type selfsubjectaccessreviews = {
    .group = "authorization.k8s.io",
    .version = "v1",
    .api_version = "authorization.k8s.io/v1",
    .plural = "selfsubjectaccessreviews",
    .singular = "selfsubjectaccessreview",
    .kind = "SelfSubjectAccessReview",
    .namespaced = false,
    .verbs = "create",
};
static const struct k8s_resource_type selfsubjectrulesreviews = {
    .group = "authorization.k8s.io",
    .version = "v1",
    .api_version = "authorization.k8s.io/v1",
    .plural = "selfsubjectrulesreviews",
    .singular = "selfsubjectrulesreview",
    .kind = "SelfSubjectRulesReview",
    .namespaced = false,
    .verbs = "create",
};
static const struct k8s_resource_type subjectaccessreviews = {
    .group = "authorization.k8s.io",
    .version = "v1",
    .api_version = "authorization.k8s.io/v1",
    .plural = "subjectaccessreviews",
    .singular = "subjectaccessreview",
    .kind = "SubjectAccessReview",
    .namespaced = false,
    .verbs = "create",
};

const struct k8s_resource_type *const k8s_resource_types[] = {
    &pods,
    &nodes,
    &namespaces,
    &services,
    &endpoints,
    &serviceaccounts,
    &configmaps,
    &replicasets,
    &deployments,
    &daemonsets,
    &statefulsets,
    &endpointslices,
    &servicemonitors,
    &podmonitors,
    &probes,
    &scrapeconfigs,
    &roles,
    &rolebindings,
    &clusterroles,
    &clusterrolebindings,
    &selfsubjectaccessreviews,
    &selfsubjectrulesreviews,
    &subjectaccessreviews,
    NULL,
};

const struct k8s_resource_type *k8s_resource_find(const char *group, const char *plural)
{
    for (const struct k8s_resource_type *const *t = k8s_resource_types; *t; t++)
        if (!strcmp((*t)->group, group) && !strcmp((*t)->plural, plural))
            return *t;
    return NULL;
}

const struct k8s_resource_type *k8s_resource_by_kind(const char *group, const char *version,
                                                     const char *kind)
{
    for (const struct k8s_resource_type *const *t = k8s_resource_types; *t; t++)
        if (!strcmp((*t)->group, group) && !strcmp((*t)->version, version) &&
            !strcmp((*t)->kind, kind))
            return *t;
    return NULL;
}

const struct k8s_resource_type *k8s_resource_by_any_name(const char *name)
{
    for (const struct k8s_resource_type *const *t = k8s_resource_types; *t; t++) {
        if (!strcasecmp((*t)->plural, name) || !strcasecmp((*t)->singular, name) ||
            !strcasecmp((*t)->kind, name))
            return *t;
        for (int i = 0; i < K8S_MAX_SHORT_NAMES && (*t)->short_names[i]; i++)
            if (!strcasecmp((*t)->short_names[i], name))
                return *t;
    }
    return NULL;
}

/* ---- building JSON ---- */

/* A JSON array of the space-separated words of `words`. */
static json_t *word_list(const char *words)
{
    json_t *list = json_array();
    for (const char *p = words; list && p && *p;) {
        size_t n = strcspn(p, " ");
        if (n && json_array_append_new(list, json_stringn(p, n)) < 0) {
            json_decref(list);
            return NULL;
        }
        p += n + (p[n] == ' ');
    }
    return list;
}

static json_t *short_names(const struct k8s_resource_type *t)
{
    json_t *list = json_array();
    for (int i = 0; list && i < K8S_MAX_SHORT_NAMES && t->short_names[i]; i++)
        json_array_append_new(list, json_string(t->short_names[i]));
    return list;
}

json_t *k8s_discovery_version(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", "1", "minor", "32",
                     "gitVersion", "v1.32.0", "gitCommit",
                     "70d3cc986aa8221cd1dfb1121852688902d3bf53", "gitTreeState", "clean",
                     "buildDate", "2024-12-11T17:59:15Z", "goVersion", "go1.23.3", "compiler", "gc",
                     "platform", "linux/amd64");
}

json_t *k8s_discovery_api_versions(const char *server_address)
{
    return json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions", "versions", "v1",
                     "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress",
                     server_address);
}

/* The versions of `group` in table order (the first is preferred), as "group/version" strings
 * into `out` (at most `max`); returns how many. */
static size_t group_versions(const char *group, const char **versions, size_t max)
{
    size_t n = 0;
    for (const struct k8s_resource_type *const *t = k8s_resource_types; *t; t++) {
        if (strcmp((*t)->group, group) != 0)
            continue;
        size_t i = 0;
        while (i < n && strcmp(versions[i], (*t)->version) != 0)
            i++;
        if (i == n && n < max)
            versions[n++] = (*t)->version;
    }
    return n;
}

/* Whether `t` is the first type of its group in the table (groups listed once, in order). */
static bool first_of_group(const struct k8s_resource_type *const *t)
{
    for (const struct k8s_resource_type *const *u = k8s_resource_types; u != t; u++)
        if (!strcmp((*u)->group, (*t)->group))
            return false;
    return true;
}

json_t *k8s_discovery_group_list(void)
{
    json_t *groups = json_array();
    for (const struct k8s_resource_type *const *t = k8s_resource_types; groups && *t; t++) {
        if (!(*t)->group[0] || !first_of_group(t))
            continue;
        const char *versions[4];
        size_t n = group_versions((*t)->group, versions, 4);
        json_t *list = json_array();
        char gv[128];
        for (size_t i = 0; list && i < n; i++) {
            snprintf(gv, sizeof(gv), "%s/%s", (*t)->group, versions[i]);
            json_array_append_new(
                list, json_pack("{s:s, s:s}", "groupVersion", gv, "version", versions[i]));
        }
        snprintf(gv, sizeof(gv), "%s/%s", (*t)->group, versions[0]);
        json_array_append_new(groups, json_pack("{s:s, s:o, s:{s:s, s:s}}", "name", (*t)->group,
                                                "versions", list, "preferredVersion",
                                                "groupVersion", gv, "version", versions[0]));
    }
    return json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups",
                     groups);
}

json_t *k8s_discovery_resource_list(const char *group, const char *version, bool *found)
{
    *found = false;
    json_t *resources = json_array();
    for (const struct k8s_resource_type *const *t = k8s_resource_types; resources && *t; t++) {
        if (strcmp((*t)->group, group) != 0 || strcmp((*t)->version, version) != 0)
            continue;
        *found = true;
        json_t *entry = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", (*t)->plural, "singularName",
                                  (*t)->singular, "namespaced", (*t)->namespaced, "kind",
                                  (*t)->kind, "verbs", word_list((*t)->verbs));
        if (entry && (*t)->short_names[0])
            json_object_set_new(entry, "shortNames", short_names(*t));
        if (entry && (*t)->category)
            json_object_set_new(entry, "categories", json_pack("[s]", (*t)->category));
        json_array_append_new(resources, entry);
        for (int i = 0; i < K8S_MAX_SUBRESOURCES && (*t)->subresources[i].name; i++) {
            const struct k8s_subresource *sub = &(*t)->subresources[i];
            char name[96];
            snprintf(name, sizeof(name), "%s/%s", (*t)->plural, sub->name);
            json_array_append_new(resources,
                                  json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name,
                                            "singularName", "", "namespaced", (*t)->namespaced,
                                            "kind", sub->kind, "verbs", word_list(sub->verbs)));
        }
    }
    if (!*found) {
        json_decref(resources);
        return NULL;
    }
    char gv[128];
    snprintf(gv, sizeof(gv), "%s%s%s", group, *group ? "/" : "", version);
    return json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
                     "groupVersion", gv, "resources", resources);
}

/* One resource of an aggregated discovery version entry. */
static json_t *aggregated_resource(const struct k8s_resource_type *t)
{
    json_t *r = json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:o}", "resource", t->plural,
                          "responseKind", "group", t->group, "version", t->version, "kind", t->kind,
                          "scope", t->namespaced ? "Namespaced" : "Cluster", "singularResource",
                          t->singular, "verbs", word_list(t->verbs));
    if (r && t->short_names[0])
        json_object_set_new(r, "shortNames", short_names(t));
    if (r && t->category)
        json_object_set_new(r, "categories", json_pack("[s]", t->category));
    if (r && t->subresources[0].name) {
        json_t *subs = json_array();
        for (int i = 0; subs && i < K8S_MAX_SUBRESOURCES && t->subresources[i].name; i++) {
            const struct k8s_subresource *s = &t->subresources[i];
            json_array_append_new(subs, json_pack("{s:s, s:{s:s, s:s, s:s}, s:o}", "subresource",
                                                  s->name, "responseKind", "group", t->group,
                                                  "version", t->version, "kind", s->kind, "verbs",
                                                  word_list(s->verbs)));
        }
        json_object_set_new(r, "subresources", subs);
    }
    return r;
}

/* The aggregated entry of one group: its versions, each with its resources. */
static json_t *aggregated_group(const char *group)
{
    const char *versions[4];
    size_t n = group_versions(group, versions, 4);
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        json_t *resources = json_array();
        for (const struct k8s_resource_type *const *t = k8s_resource_types; resources && *t; t++)
            if (!strcmp((*t)->group, group) && !strcmp((*t)->version, versions[i]))
                json_array_append_new(resources, aggregated_resource(*t));
        json_array_append_new(list, json_pack("{s:s, s:o, s:s}", "version", versions[i],
                                              "resources", resources, "freshness", "Current"));
    }
    /* The real server writes a null creationTimestamp in every item's metadata; the core group
     * has no name. */
    json_t *metadata = *group ? json_pack("{s:s, s:n}", "name", group, "creationTimestamp")
                              : json_pack("{s:n}", "creationTimestamp");
    return json_pack("{s:o, s:o}", "metadata", metadata, "versions", list);
}

json_t *k8s_discovery_aggregated(bool core)
{
    json_t *items = json_array();
    for (const struct k8s_resource_type *const *t = k8s_resource_types; items && *t; t++) {
        if (core != !(*t)->group[0] || !first_of_group(t))
            continue;
        json_array_append_new(items, aggregated_group((*t)->group));
    }
    return json_pack("{s:s, s:s, s:{}, s:o}", "kind", "APIGroupDiscoveryList", "apiVersion",
                     "apidiscovery.k8s.io/v2", "metadata", "items", items);
}

/* Whether the media range accept[0, len) has the parameter `param` ("v=v2") exactly. */
static bool has_param(const char *range, size_t len, const char *param)
{
    size_t plen = strlen(param);
    for (const char *p = memchr(range, ';', len); p && p < range + len;) {
        p++;
        while (p < range + len && *p == ' ')
            p++;
        size_t n = strcspn(p, ";,");
        while (n && p[n - 1] == ' ')
            n--;
        if (n == plen && !strncmp(p, param, plen))
            return true;
        p = memchr(p, ';', (size_t)(range + len - p));
    }
    return false;
}

bool k8s_discovery_wants_aggregated(const char *accept)
{
    /* client-go lists the v2 form first (then v2beta1, then plain JSON); a server that answers
     * it names it in Content-Type. Any media range of the header with the three parameters
     * exactly asks for it. */
    for (const char *range = accept; range && *range;) {
        size_t len = strcspn(range, ",");
        if (has_param(range, len, "g=apidiscovery.k8s.io") && has_param(range, len, "v=v2") &&
            has_param(range, len, "as=APIGroupDiscoveryList"))
            return true;
        range += len + (range[len] == ',');
    }
    return false;
}
