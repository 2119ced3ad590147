/*
 * k8s_calls.h - what the identities of a run asked the Kubernetes API, read from its audit log
 * (audit.k8s.io/v1 Events, fakes/k8s_audit.h), in a form that is stable from run to run: the
 * `kubernetes-calls` golden view, the denied calls that expect.kubernetes counts, and the grants
 * of the RBAC objects that no call used.
 *
 * A call is one audit event reduced to what the RBAC decision and a reviewer care about:
 *
 *   {"verb": "list", "resource": "replicasets.apps", "scope": "cluster",
 *    "label_selector": "...", "field_selector": "spec.nodeName=kind-worker",
 *    "decision": "forbid", "code": 403}
 *   {"verb": "get", "resource": "pods", "subresource": "status", "scope": "namespace",
 *    "namespace": "default", "name": "web", "decision": "allow", "code": 200,
 *    "allowed_by": {"binding": "ClusterRoleBinding otel-collector-collector",
 *                   "role": "ClusterRole otel-collector-collector"}}
 *   {"verb": "get", "path": "/apis", "decision": "allow", "code": 200, "allowed_by": {...}}
 *
 * `resource` is kubectl's plural.group form (the core group has no suffix); `scope` is
 * "cluster" or "namespace" (a list or watch across every namespace is cluster scope, as RBAC
 * sees it). What is left out on purpose, because it changes from run to run while the call is
 * the same: the query parameters other than the selectors (resourceVersion, timeoutSeconds,
 * limit, continue, allowWatchBookmarks; watch=1 and watch=true both show as verb "watch", the
 * API server's RequestInfo), times, audit IDs and the user agent (it names the client's build).
 * `allowed_by` comes from the authorization.k8s.io/reason annotation ("RBAC: allowed by
 * ClusterRoleBinding "b" of ClusterRole "r" to ServiceAccount "sa/ns"", without the subject,
 * which is the identity itself); a refused call keeps a non-empty reason as `reason` (a binding
 * that names a missing role).
 *
 * The view is {"<user name>": [call, ...]}: per identity (the audit's user.username, e.g.
 * "system:serviceaccount:opentelemetry:otel-collector-collector"), the distinct calls sorted by
 * their canonical text. The harness's own identity (the fake's admin, "kubernetes-admin") is
 * left out: it is not the system under test. A request without valid credentials (401) is
 * listed under "<unauthenticated>".
 *
 * Unused grants: for an identity, every RoleBinding and ClusterRoleBinding of the stored RBAC
 * objects whose subjects name it (as a ServiceAccount, a User or one of a service account's
 * groups), except the bootstrap ones (named "system:..."), and for each rule of the role it
 * refers to, which (verb, resource) pairs of the rule no allowed call used. A call counts for the
 * first rule of the role named in its `allowed_by` that allows it, as the authorizer attributes
 * it (fakes/k8s_rbac.c). The rules are matched here rather than asked from the fake, so that the
 * same computation works on any API server's audit log (a kind cluster's). Not done: aggregated
 * ClusterRoles (their rules come from other roles; they are shown with the rules they hold).
 */
#ifndef HARNESS_K8S_CALLS_H
#define HARNESS_K8S_CALLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define K8S_CALLS_VIEW                                                                             \
    "kubernetes-calls" /* the golden's name: golden/<dir>/kubernetes-calls.json */
#define K8S_CALLS_ADMIN_USER "kubernetes-admin"
#define K8S_CALLS_UNAUTHENTICATED "<unauthenticated>"
#define K8S_CALLS_USER_MAX 512

/* The call of one audit event (see above), and its identity in *user (borrowed from the event),
 * or NULL with *user NULL for an event that is not a call (not a mapping, no verb). Caller owns
 * the call; NULL also on ENOMEM (then *user is set). */
json_t *k8s_calls_normalise(const json_t *event, const char **user);

/* The calls view of an audit log (a JSON array of Events). Caller owns; NULL on ENOMEM. */
json_t *k8s_calls_view(const json_t *audit);

/* "opentelemetry/otel-collector-collector" -> "system:serviceaccount:opentelemetry:
 * otel-collector-collector"; a name with a ':' is already a user name and is copied. Returns 0 or
 * -EINVAL (neither form, or too long for `size`). */
int k8s_calls_user_name(const char *identity, char *out, size_t size);

/* The distinct calls of `user` in `view` that were refused (decision "forbid"). */
size_t k8s_calls_denied(const json_t *view, const char *user);
/* The distinct calls of `user` in `view`. */
size_t k8s_calls_count(const json_t *view, const char *user);

/* The grants of `user` that no allowed call used, from the fake's object view (`objects` of GET
 * /v1/received/kubernetes: {"clusterroles.rbac.authorization.k8s.io": [...], ...}) and the calls
 * view. A JSON array with one entry per rule of which some pair is unused:
 *   {"binding": "ClusterRoleBinding otel-collector-collector",
 *    "role": "ClusterRole otel-collector-collector", "rule": 0,
 *    "granted": {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list"]},
 *    "used": ["list pods"], "unused": ["get pods", "get nodes", "list nodes"]}
 * in binding order (ClusterRoleBindings, then RoleBindings, each sorted by name). A binding whose
 * role does not exist is listed with "missing": true. Caller owns; NULL on ENOMEM. */
json_t *k8s_calls_unused_grants(const json_t *objects, const json_t *view, const char *user);

/* "get pods, list nodes ..." of one unused-grants entry, for the terminal and findings.md. */
void k8s_calls_describe_unused(const json_t *entry, char *out, size_t size);

#endif
