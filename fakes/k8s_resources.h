/*
 * k8s_resources.h - the resource types the fake Kubernetes API serves, and the discovery
 * documents built from them (shared/facts/pipeline.md §10 "Discovery").
 *
 * One table (k8s_resources.c) lists every type as the real API server describes it: group,
 * version, plural name, kind, scope, singular name, short names, categories, verbs and
 * subresources. Everything that needs to know a type - discovery, the request router, RBAC's
 * 403 wording, the store's watch events - reads it from here, so serving a new type is one row.
 *
 * Discovery comes in both forms client-go understands: the aggregated one
 * (apidiscovery.k8s.io/v2 APIGroupDiscoveryList for /api and /apis, chosen when the Accept
 * header asks for it, and then named in the response's Content-Type) and the legacy one
 * (APIVersions for /api, APIGroupList for /apis, one APIResourceList per group-version), which
 * `kubectl auth can-i` also reads.
 *
 * Deliberately not here: OpenAPI documents (the server answers /openapi/v2 and /openapi/v3 as a
 * server without them does), and every type the team's config never touches.
 */
#ifndef OTEL_FAKES_K8S_RESOURCES_H
#define OTEL_FAKES_K8S_RESOURCES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define K8S_MAX_SHORT_NAMES 3
#define K8S_MAX_SUBRESOURCES 2

struct k8s_subresource {
    const char *name;  /* "status" */
    const char *kind;  /* the kind it answers with: "Pod" */
    const char *verbs; /* space-separated: "get patch update" */
};

struct k8s_resource_type {
    const char *group;       /* "" for the core group */
    const char *version;     /* "v1" */
    const char *api_version; /* "v1", "apps/v1": what objects of the type carry */
    const char *plural;      /* "pods": the name in URLs and RBAC rules */
    const char *singular;
    const char *kind; /* "Pod"; lists are kind + "List" */
    bool namespaced;
    const char *verbs; /* space-separated, as discovery lists them */
    const char *short_names[K8S_MAX_SHORT_NAMES];
    const char *category; /* "all", "prometheus-operator", or NULL */
    /* metadata.generation kept by the store (1 on create, +1 when anything but metadata and
     * status changes): the apps workloads' strategies do it, and every custom resource */
    bool has_generation;
    /* served by the apiextensions server from a CustomResourceDefinition: no strategic merge
     * patch (415), the CRD's default table columns */
    bool custom;
    struct k8s_subresource subresources[K8S_MAX_SUBRESOURCES];
};

/* Every type, in discovery order; NULL-terminated. */
extern const struct k8s_resource_type *const k8s_resource_types[];

/* The type of `plural` in `group` (any version the table has), or NULL. */
const struct k8s_resource_type *k8s_resource_find(const char *group, const char *plural);
/* The type whose kind is `kind` in `group`/`version` (apiVersion split), or NULL. */
const struct k8s_resource_type *k8s_resource_by_kind(const char *group, const char *version,
                                                     const char *kind);
/* The type named on kubectl's command line: plural, singular, short name or kind, in any case
 * ("po", "Pod", "servicemonitors"), or NULL. */
const struct k8s_resource_type *k8s_resource_by_any_name(const char *name);

/* ---- discovery documents (caller owns each; NULL only on ENOMEM) ---- */

/* GET /version, as a 1.32 server answers. */
json_t *k8s_discovery_version(void);
/* GET /api (legacy): APIVersions with `server_address` ("127.0.0.1:6443") for the client CIDR. */
json_t *k8s_discovery_api_versions(const char *server_address);
/* GET /apis (legacy): APIGroupList of every non-core group. */
json_t *k8s_discovery_group_list(void);
/* GET /api/v1 or /apis/<group>/<version>: the APIResourceList, or NULL with *found false when no
 * type has that group-version. */
json_t *k8s_discovery_resource_list(const char *group, const char *version, bool *found);
/* GET /api (core = true) or /apis (core = false) in the aggregated v2 form. */
json_t *k8s_discovery_aggregated(bool core);

/* The Content-Type of an aggregated discovery answer. */
#define K8S_AGGREGATED_DISCOVERY_TYPE                                                              \
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

/* True when an Accept header asks for aggregated discovery v2 (client-go's first choice). */
bool k8s_discovery_wants_aggregated(const char *accept);

#endif
