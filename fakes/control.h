/*
 * control.h - the control API of otel-fakes (DESIGN.md §4), on its own port, JSON in and out:
 *
 *   GET    /healthz                       {"status":"ok"}
 *   GET    /v1/stats                      {"<fake>":{"requests":n,"accepted_requests":n,
 *                                          "items":n}, ...} for cheap polling
 *   GET    /v1/received/{fake}            the backend's own view of what it stored
 *   GET    /v1/received/{fake}?view=otlp  OTLP JSON of the accepted requests
 *   DELETE /v1/received                   resets every fake's data and request log
 *   DELETE /v1/received/{fake}            the same for one fake
 *   GET    /v1/requests/{fake}[?since=N]  the request log (entries with seq > N)
 *   GET    /v1/faults                     every fake's fault
 *   PUT    /v1/faults/{fake}              installs a fault (fault.h for the JSON); for the
 *                                          kubernetes fake, {"status":500,"times":N} makes the
 *                                          next N API requests answer an InternalError Status
 *                                          and {"cut_watches":true} drops every open watch at
 *                                          once (the answer adds "watches_cut":n)
 *   GET    /v1/faults/{fake}              the fault and how many times it fired
 *   DELETE /v1/faults/{fake}              clears it and releases stalled requests
 *   POST   /v1/faults/{fake}/release      releases stalled requests, keeps the fault
 *   POST   /v1/k8s/objects                applies Kubernetes objects (YAML or JSON, many
 *                                          documents): create, or replace when they exist;
 *                                          answers {"applied":[...]} or 400 {"error":"document
 *                                          N: ...","index":N,"applied":[...]} (k8s_api.h)
 *   DELETE /v1/k8s/objects/{group}/{resource}/{namespace}/{name}
 *                                          deletes one object; group "core" for the core
 *                                          group, namespace "_" for cluster-scoped objects:
 *                                          /v1/k8s/objects/core/pods/default/web-1,
 *                                          /v1/k8s/objects/rbac.authorization.k8s.io/
 *                                          clusterroles/_/reader; answers the deleted object
 *   POST   /v1/k8s/pods/{namespace}/{name}/phase
 *                                          {"phase":"Pending"|"Running"|"Succeeded"|"Failed"}:
 *                                          the pod's status as its kubelet reports that phase
 *                                          (conditions, container states), one MODIFIED event;
 *                                          answers the pod (k8s_api.h)
 *   GET    /v1/k8s/audit                  the Kubernetes API's audit log (k8s_audit.h)
 *   DELETE /v1/k8s/audit                  clears it (DELETE /v1/received does too; neither
 *                                          touches the objects: they are the cluster)
 *   POST   /v1/k8s/tokens                 {"user":"system:serviceaccount:NS:NAME"} or
 *                                          {"user":"alice","groups":[...]} -> {"token":"..."}
 *   POST   /v1/targets                    starts a fake scrape target (targets.h):
 *                                          {"address":"127.0.1.5","port":0,"path":"/metrics",
 *                                          "bodies":["up 1\n", ...],"content_type":"...",
 *                                          "fault":{...}}; answers 201 with its view (its
 *                                          "id" and bound "port"); 400 for a bad field, 409 when
 *                                          the address and port are taken
 *   GET    /v1/targets                    {"targets":[{"id","address","port","path",
 *                                          "requests","scrapes","paths":{"/metrics":n},
 *                                          "last_accept","last_accept_encoding",
 *                                          "last_user_agent","fault"}, ...]}
 *   GET    /v1/targets/{target}           one of them; {target} is its id, address:port, or
 *                                          its address when one target has it
 *   DELETE /v1/targets/{target}           stops it (later scrapes are refused); answers its
 *                                          last view
 *   GET    /v1/faults/targets/{target}    a target's fault, as GET /v1/faults/{fake}
 *   PUT    /v1/faults/targets/{target}    sets it (fault.h's JSON; {"status":200,
 *                                          "body":"garbage"} serves a broken exposition)
 *   DELETE /v1/faults/targets/{target}    clears it and releases stalled scrapes
 *
 * Errors are JSON `{"error":"..."}`: 404 for an unknown path or fake (naming the known ones),
 * 405 with Allow for a wrong method, 400 for bad JSON or parameters (with the parser's words).
 */
#ifndef OTEL_FAKES_CONTROL_H
#define OTEL_FAKES_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpd.h"

struct fakes;

/* One control request, from explicit parts (strings borrowed; NULL = absent). */
struct control_request {
    const char *method;
    const char *path;
    const char *view;  /* ?view= */
    const char *since; /* ?since= */
    const uint8_t *body;
    size_t body_len;
    bool body_too_large;
};

/* Answers one control request. */
void control_dispatch(struct fakes *fakes, const struct control_request *req,
                      struct http_response *resp);

/* The httpd handler (ctx = struct fakes *). */
void control_handle(void *ctx, const struct http_request *req, struct http_response *resp);

#endif
