/*
 * k8s_api.h - the fake Kubernetes API server, the `kubernetes` backend of otel-fakes (DESIGN.md
 * §4; shared/facts/pipeline.md §10). It wires the tested parts together: the resource table and
 * discovery (k8s_resources.h), RequestInfo (k8s_request.h), the object store (k8s_store.h),
 * selectors (k8s_selector.h), RBAC (k8s_rbac.h) and the audit log (k8s_audit.h).
 *
 * A request goes: authenticate -> RequestInfo -> authorize -> route -> answer -> audit.
 *   - Authentication: `Authorization: Bearer <token>` looked up in the token table. No token or
 *     an unknown one: 401 Status `Unauthorized`, as the API server words it. One exception, as
 *     1.32's anonymous authentication limited to the health endpoints allows: /healthz, /livez,
 *     /readyz and /version without any Authorization header are `system:anonymous` (group
 *     system:unauthenticated), which the seeded system:public-info-viewer binding lets in.
 *   - The admin token (made at start, on the ready line as "kubernetes_admin_token") is user
 *     `kubernetes-admin` in group `system:masters`: the API server's privileged-group authorizer
 *     allows that group everything before RBAC is asked, and so does this fake (audit decision
 *     "allow", empty reason, as upstream's).
 *   - Authorization: RBAC (k8s_rbac_authorize) over a snapshot of the store's Roles,
 *     ClusterRoles, RoleBindings and ClusterRoleBindings, taken per request. The store starts
 *     with the bootstrap ClusterRoles and ClusterRoleBindings every authenticated user relies on:
 *     system:discovery (GET of /api, /apis, /version, /openapi...), system:basic-user
 *     (SelfSubjectAccessReview and SelfSubjectRulesReview), system:public-info-viewer (health
 *     endpoints and /version, also for system:unauthenticated).
 *
 * Routes:
 *   /version, /api, /apis (aggregated discovery v2 when Accept asks for it, legacy otherwise),
 *   /api/v1, /apis/<g>, /apis/<g>/<v>; /openapi/v3 and its group-version documents, reduced to
 *   what kubectl reads (k8s_openapi.h); /healthz, /livez, /readyz answer `ok`; everything else
 *   outside the resource paths, /openapi/v2 included, is Go's plain `404 page not found`.
 *   Resources: get, list, watch (streamed), create (POST), update (PUT), patch (PATCH: JSON,
 *   merge and strategic merge patches, k8s_patch.h), delete, deletecollection (DELETE on a
 *   collection, with selectors: answers the list of what it deleted as it was listed); a `get`
 *   of a subresource the table lists (pods/status) answers the object, and PATCH or PUT of
 *   .../status changes only the status, as the status subresource does. Patches and status
 *   writes go through the same update as PUT: resourceVersion, generation, MODIFIED event,
 *   RBAC verb `patch`, audit. get, list and watch answer Tables (k8s_table.h) when Accept asks
 *   for `application/json;as=Table;v=v1;g=meta.k8s.io`, as kubectl get and get -w do.
 *   POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews answers 201 with
 *   status{allowed, reason}.
 *
 * Choices where upstream is unconfirmed or out of scope (say them, do not hide them):
 *   - A resource unknown under a known group-version: 404 Status NotFound `the server could not
 *     find the requested resource` (the text kubectl shows; the exact upstream body is
 *     unconfirmed, pipeline.md §12). An unknown group-version: Go's plain 404.
 *   - Any verb a type does not list: 405 MethodNotAllowed `the server does not allow this
 *     method on the requested resource`; SelfSubjectRulesReview and SubjectAccessReview: 501
 *     NotImplemented Status; server-side apply (application/apply-patch+yaml): 415.
 *   - Bodies past K8S_API_MAX_BODY: 413 RequestEntityTooLarge. Bad JSON: 400 BadRequest.
 *   - A watch without timeoutSeconds lasts K8S_API_DEFAULT_WATCH_SECONDS (the API server picks
 *     between 30 and 60 minutes). With allowWatchBookmarks=true a BOOKMARK goes every minute and
 *     one just before the watch ends at its timeout.
 *
 * Threads: handle() runs in the HTTP server's connection threads, several at once. The token
 * table has one mutex; the store and the audit log have their own. A watch's stream runs in its
 * connection's thread and is listed in the API's open-watch list (its own mutex) so that
 * k8s_api_shutdown can stop every watch before the HTTP server stops.
 */
#ifndef OTEL_FAKES_K8S_API_H
#define OTEL_FAKES_K8S_API_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "httpd.h"
#include "k8s_store.h"

#define K8S_API_MAX_BODY (3u * 1024 * 1024) /* the API server's request body limit */
#define K8S_API_DEFAULT_WATCH_SECONDS 1800
#define K8S_API_TOKEN_LEN 43 /* base64url of 32 random bytes, no padding */
#define K8S_API_MAX_TOKENS 1024
#define K8S_API_MAX_GROUPS 16
#define K8S_API_ADMIN_USER "kubernetes-admin"
/* The cause of a 500 fault given without a message of its own. */
#define K8S_API_FAULT_CAUSE "fault injected by otel-fakes"

struct k8s_api;

/* A fresh API with every type of k8s_resources.h registered, the bootstrap RBAC seeded and an
 * admin token made; `watch_history` watch events kept per type (0 = the store's default).
 * Caller owns; free with k8s_api_free. NULL with `err` filled on ENOMEM (or a failing random
 * source). */
struct k8s_api *k8s_api_new(size_t watch_history, struct error *err);
/* Frees everything. Every watch stream must have ended (k8s_api_shutdown, then stop the HTTP
 * server, which frees the streams). NULL is accepted. */
void k8s_api_free(struct k8s_api *api);
/* Stops every open watch (their streams end at once) and refuses new ones with 503. Call before
 * stopping the HTTP server that carries them. Any thread, idempotent. */
void k8s_api_shutdown(struct k8s_api *api);

/* Answers one request (fakes.h's handle); *items = objects written (1 for a create, update,
 * patch or delete that succeeded, the number deleted for a deletecollection, else 0). */
void k8s_api_handle(struct k8s_api *api, const struct http_request *req, struct http_response *resp,
                    size_t *items);
/* Answers `status` with a Status body (a fault); `message` NULL = Go's status text. A 500 is an
 * InternalError worded as errors.NewInternalError words it: `Internal error occurred: <message,
 * or K8S_API_FAULT_CAUSE>`, the same text in details.causes. */
void k8s_api_refuse(struct k8s_api *api, int status, const char *message,
                    struct http_response *resp);

/* The admin token (borrowed, valid until k8s_api_free). */
const char *k8s_api_admin_token(const struct k8s_api *api);
/* The store (borrowed): tests and the control API read it. */
struct k8s_store *k8s_api_store(struct k8s_api *api);

/* ---- the control API's operations (control.c) ---- */

/* A token for `request`: {"user":"system:serviceaccount:NS:NAME"} (the service account's groups
 * follow from the name) or {"user":"alice","groups":["g",...]} (system:authenticated is added).
 * Writes the token into `token` (K8S_API_TOKEN_LEN + 1 bytes). Returns 0, -EINVAL (bad request,
 * message in `err`), -ENOSPC (K8S_API_MAX_TOKENS reached) or -ENOMEM. */
int k8s_api_token_create(struct k8s_api *api, const json_t *request, char *token,
                         struct error *err);

/* Applies every object of `text` (YAML or JSON, one or many documents; a `kind: List` is
 * expanded): its apiVersion and kind pick the type, then create, or replace when it exists (the
 * stored resourceVersion is not a precondition). Documents that are null are skipped. Returns the
 * answer body and sets *status: 200 with {"applied":[{"apiVersion","kind","namespace"?,"name",
 * "resourceVersion","action":"created"|"updated"|"unchanged"}...]}, or 400 with {"error":
 * "document N: <message>","index":N,"applied":[...]} for the first document that fails
 * (documents before it stay applied; N counts from 0 over the expanded documents), or 500 on
 * ENOMEM. Caller owns; NULL only on ENOMEM. */
json_t *k8s_api_apply(struct k8s_api *api, const char *text, size_t len, int *status);

/* Deletes one object: `group` "core" (or "") for the core group, `namespace` "_" (or "") for a
 * cluster-scoped type. Returns the deleted object (caller owns) with *status 200, or an error
 * body {"error":...} with *status 404 (unknown type or object) / 500. NULL only on ENOMEM. */
json_t *k8s_api_delete_object(struct k8s_api *api, const char *group, const char *resource,
                              const char *namespace, const char *name, int *status);

/* Ends every open watch at once by dropping its connection (no end of the chunked body), as a
 * restarting API server or a broken connection does; clients re-watch, and new watches are
 * accepted as before. Returns how many were cut. Any thread. */
size_t k8s_api_cut_watches(struct k8s_api *api);

/* Moves the pod namespace/name to `phase` (request JSON {"phase":"Pending"|"Running"|
 * "Succeeded"|"Failed"}) as its kubelet would report it: status.phase, the five conditions
 * (PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled, with the
 * kubelet's reasons: ContainersNotReady, PodCompleted, PodFailed), a containerStatuses entry per
 * container (waiting ContainerCreating, running, terminated Completed with exit code 0 or Error
 * with 1) and startTime; restart counts, IPs and last states stay. One update: MODIFIED for
 * watchers. Returns the pod with *status 200, or {"error":...} with 400 (bad request) / 404 (no
 * such pod) / 500. NULL only on ENOMEM. */
json_t *k8s_api_set_pod_phase(struct k8s_api *api, const char *namespace, const char *name,
                              const char *text, size_t len, int *status);

/* The audit log as a JSON array (k8s_audit.h). Caller owns; NULL on ENOMEM. */
json_t *k8s_api_audit_view(struct k8s_api *api);
void k8s_api_audit_clear(struct k8s_api *api);

/* Every stored object, by type: {"resourceVersion":"N","objects":{"pods":[...],
 * "replicasets.apps":[...]}} (types without objects left out): the fake's view for
 * GET /v1/received/kubernetes. Caller owns; NULL on ENOMEM. */
json_t *k8s_api_view(struct k8s_api *api);

#endif
