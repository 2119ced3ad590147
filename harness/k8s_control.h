/*
 * k8s_control.h - the harness's side of the fake Kubernetes API (fakes/k8s_api.h): its control
 * routes on the fakes' control API, and calls to the API itself as a given identity.
 *
 * Control routes (no authentication, no audit entry: the harness setting the scene is not a
 * client of the cluster):
 *   POST /v1/k8s/objects          apply manifests (YAML or JSON, many documents, a List)
 *   DELETE /v1/k8s/objects/{group|core}/{resource}/{namespace|_}/{name}
 *   POST /v1/k8s/tokens           a bearer token for {"user": "system:serviceaccount:NS:NAME"}
 *   GET /v1/k8s/audit             the audit log (audit.k8s.io/v1 Events)
 *   GET /v1/tls/ca.crt            the CA of the HTTPS front
 *   GET /v1/received/kubernetes   every stored object, by type ({"objects": {"pods": [...]}})
 * API calls go to the HTTPS front with the identity's token and the CA, as a collector's client
 * does, so they are authenticated, authorized by RBAC and audited like the collector's own.
 *
 * Every function returns 0 or a negative code with a message that names the route and the
 * fake's answer.
 */
#ifndef HARNESS_K8S_CONTROL_H
#define HARNESS_K8S_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "fakes_client.h"

#define K8S_CONTROL_TOKEN_MAX 128

/* Applies `text` (a manifest, YAML or JSON). *summary (may be NULL) gets "3 objects: 2 created,
 * 1 configured". `what` names the text in messages (a file name, "inline objects"). */
int k8s_control_apply(const struct fakes_client *f, const char *text, size_t len, const char *what,
                      char *summary, size_t summary_size, struct error *err);
/* Reads the file and applies it. */
int k8s_control_apply_file(const struct fakes_client *f, const char *path, const char *label,
                           char *summary, size_t summary_size, struct error *err);
/* Deletes one object: `type` as the object view names it ("pods", "replicasets.apps"),
 * `namespace` "" for a cluster-scoped type. */
int k8s_control_delete(const struct fakes_client *f, const char *type, const char *namespace,
                       const char *name, struct error *err);
/* An API fault (PUT /v1/faults/kubernetes with `spec`: status, times, cut_watches ...), or, with
 * `spec` NULL, clears it (DELETE). The answer, for the step's detail, into *out (may be NULL;
 * caller owns it). */
int k8s_control_fault(const struct fakes_client *f, const json_t *spec, json_t **out,
                      struct error *err);
/* Moves a pod to `phase` (POST /v1/k8s/pods/{ns}/{name}/phase). */
int k8s_control_pod_phase(const struct fakes_client *f, const char *namespace, const char *name,
                          const char *phase, struct error *err);
/* A token for `user` (the audit's user name) into `token` (K8S_CONTROL_TOKEN_MAX bytes). */
int k8s_control_token(const struct fakes_client *f, const char *user, char *token,
                      struct error *err);
/* The HTTPS front's CA certificate (PEM) written to `path`. */
int k8s_control_write_ca(const struct fakes_client *f, const char *path, struct error *err);
/* The audit log, a JSON array. Caller owns *out. */
int k8s_control_audit(const struct fakes_client *f, json_t **out, struct error *err);
/* The stored objects by type ({"pods": [...], "replicasets.apps": [...]}). Caller owns *out. */
int k8s_control_objects(const struct fakes_client *f, json_t **out, struct error *err);

/* Finds the object of `objects` (k8s_control_objects) with this kind (and apiVersion, when not
 * NULL), namespace ("" = cluster-scoped) and name; *type gets its type key (borrowed from
 * objects). NULL when there is none. Borrowed. */
const json_t *k8s_control_find(const json_t *objects, const char *api_version, const char *kind,
                               const char *namespace, const char *name, const char **type);

/* One call to the API over HTTPS: `method` on `path_and_query` ("/api/v1/pods?limit=1") with
 * `token`, verifying the server with `ca_file`. *status gets the HTTP status; *body (may be NULL)
 * the answer parsed as JSON, or NULL when it is not JSON. A transport failure is an error; any
 * status is not. */
int k8s_control_api_call(const struct fakes_client *f, const char *ca_file, const char *token,
                         const char *method, const char *path_and_query, long *status,
                         json_t **body, struct error *err);

#endif
