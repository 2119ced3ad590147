/*
 * k8s_rbac.h - RBAC authorization for the fake Kubernetes API (DESIGN.md §4), with the API
 * server's own evaluation rules and words (pipeline.md §10 "RBAC evaluation", "Errors").
 *
 * The module is pure: every function reads what it is given and keeps nothing, so it is safe
 * from any thread as long as the caller does not change `objects` meanwhile (the object store
 * holds its lock, or hands over a snapshot). Nothing here allocates except the 403 builders.
 *
 * Use:
 *   struct k8s_rbac_decision d;
 *   k8s_rbac_authorize(rbac_objects, &user, &attrs, &d);
 *   if (!d.allowed)
 *       status = k8s_rbac_forbidden_status(user.name, &attrs, d.reason);  // the 403 body
 *   audit: d.reason (authorization.k8s.io/reason), d.grant (the binding and rule that allowed)
 *
 * `objects` is a JSON array of stored objects as kubectl sends them (rbac.authorization.k8s.io/v1
 * Role, ClusterRole, RoleBinding, ClusterRoleBinding); any other kind in it is skipped, so the
 * store may pass everything it holds. Malformed objects never crash the check: see k8s_rbac.c.
 */
#ifndef OTEL_FAKES_K8S_RBAC_H
#define OTEL_FAKES_K8S_RBAC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Room for the allow text or the deny text (RBAC: <errors>); longer deny texts are cut and
 * `reason_truncated` is set. Names are at most 253 bytes, so an allow text always fits. */
#define K8S_RBAC_REASON_MAX 4096

/* Who asks, as the authenticator gives it. Everything borrowed. */
struct k8s_rbac_user {
    const char *name;          /* "system:serviceaccount:opentelemetry:otel-collector" */
    const char *const *groups; /* may be NULL when group_count is 0 */
    size_t group_count;
};

/* What is asked, as the API server's RequestInfo gives it (pipeline.md §10 "Requests").
 * Everything borrowed; NULL means "" everywhere. */
struct k8s_rbac_attributes {
    bool resource_request;   /* false: a non-resource request (/healthz, /metrics, /api) */
    const char *verb;        /* get list watch create update patch delete deletecollection; for
                                non-resource requests the lower-case HTTP method */
    const char *api_group;   /* "" = core */
    const char *api_version; /* not used by RBAC; kept so one struct can describe a request */
    const char *resource;    /* "pods" */
    const char *subresource; /* "log", "status" or "" */
    const char *namespace;   /* "" = cluster scope (or a request across all namespaces) */
    const char *name;        /* "" for list/watch unless a metadata.name field selector set it */
    const char *path;        /* non-resource requests: the URL path */
};

/* Which rule of which binding allowed a request: what the audit shows. Every pointer is
 * borrowed from `objects` (or static) and valid while `objects` is unchanged. */
struct k8s_rbac_grant {
    const char *binding_kind;      /* "ClusterRoleBinding" or "RoleBinding" (static) */
    const char *binding_name;      /* metadata.name */
    const char *binding_namespace; /* metadata.namespace; "" for a ClusterRoleBinding */
    const json_t *binding;         /* the binding object */
    size_t subject_index;          /* the binding's first subject that is the user */
    const char *role_kind;         /* roleRef.kind: "Role" or "ClusterRole" */
    const char *role_name;         /* roleRef.name */
    const json_t *role;            /* the Role or ClusterRole object the roleRef names */
    /* The allowing rule's index in the role's rules. For an aggregated ClusterRole the index is
     * in the rules the aggregation controller would have written, and `rule_source` is the
     * ClusterRole the rule comes from (else `rule_source` == `role`). */
    size_t rule_index;
    const json_t *rule;
    const json_t *rule_source;
};

struct k8s_rbac_decision {
    bool allowed;
    /* Allowed: `RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to User "u"`.
     * Denied: "" or `RBAC: <errors>` when a binding that names the user refers to a missing
     * role or an unknown roleRef kind (upstream's NoOpinion reason). */
    char reason[K8S_RBAC_REASON_MAX];
    bool reason_truncated;
    struct k8s_rbac_grant grant; /* filled when allowed, zeroed otherwise */
};

/* Decides one request the way the RBAC authorizer does: ClusterRoleBindings first, then the
 * RoleBindings of attrs->namespace, each in array order; the first rule that allows wins.
 * Never fails: a NULL or non-array `objects` denies everything. `user` and `attrs` must not be
 * NULL. All arguments borrowed; `out` is overwritten. */
void k8s_rbac_authorize(const json_t *objects, const struct k8s_rbac_user *user,
                        const struct k8s_rbac_attributes *attrs, struct k8s_rbac_decision *out);

/* The identity a ServiceAccount token authenticates as: name
 * `system:serviceaccount:<ns>:<name>` and groups `system:serviceaccounts`,
 * `system:serviceaccounts:<ns>`, `system:authenticated`, in that order. Everything lives inside
 * the struct and `user` points into it: fill it in place, do not copy it. */
struct k8s_rbac_service_account {
    char name[512];
    char namespace_group[512];
    const char *groups[3];
    struct k8s_rbac_user user;
};

/* Fills `sa` for the ServiceAccount `name` in `namespace` (both non-empty). Returns 0, -EINVAL
 * for an empty or NULL part, or -ENAMETOOLONG past 511 bytes (names are at most 253). */
int k8s_rbac_service_account_user(struct k8s_rbac_service_account *sa, const char *namespace,
                                  const char *name);

/* The message of the 403 Status the API server answers for a denied request:
 *   pods is forbidden: User "u" cannot list resource "pods" in API group "" at the cluster scope
 *   deployments.apps "web" is forbidden: User "u" cannot get resource "deployments" in API group
 *     "apps" in the namespace "ns"
 *   forbidden: User "u" cannot get path "/foo"
 * plus ": <reason>" when `reason` is not empty. `user_name` and `reason` may be NULL. Caller owns
 * the returned string; NULL on ENOMEM or past 1 MiB (a path that long). */
char *k8s_rbac_forbidden_message(const char *user_name, const struct k8s_rbac_attributes *attrs,
                                 const char *reason);

/* The whole 403 body: {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
 * "message":...,"reason":"Forbidden","details":{"name"?,"group"?,"kind"?},"code":403}, keys in
 * the order the API server writes them. Caller owns; NULL on ENOMEM. */
json_t *k8s_rbac_forbidden_status(const char *user_name, const struct k8s_rbac_attributes *attrs,
                                  const char *reason);

#endif
