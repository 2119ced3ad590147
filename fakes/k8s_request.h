/*
 * k8s_request.h - what a request to the fake Kubernetes API asks for, as the API server's
 * RequestInfo resolver reads it from the method, the path and the query (shared/facts/
 * pipeline.md §10 "Requests, verbs, lists"; apiserver pkg/endpoints/request/requestinfo.go).
 *
 * Resource requests: /api/v1/... and /apis/<group>/<version>/..., then
 * [namespaces/<ns>/]<resource>[/<name>[/<subresource>]]; the legacy /watch/ prefix after the
 * version. GET without a name is list, or watch when the query's `watch` is present and not
 * "false" or "0"; GET with a name is get; POST create, PUT update, PATCH patch, DELETE delete,
 * or deletecollection without a name. `namespaces/<name>` alone is the namespace object itself.
 * Everything else (/version, /api, /apis, /openapi/v2, /healthz) is a non-resource request whose
 * verb is the lower-case method.
 *
 * Pure parsing: whether the resource exists is the router's business (k8s_resources.h).
 */
#ifndef OTEL_FAKES_K8S_REQUEST_H
#define OTEL_FAKES_K8S_REQUEST_H

#include <stdbool.h>

#define K8S_REQUEST_PART_MAX 256

struct k8s_request_info {
    bool resource_request;
    char verb[24];                         /* "list", "watch", "get", ... */
    char api_prefix[8];                    /* "api" or "apis" (resource requests) */
    char group[K8S_REQUEST_PART_MAX];      /* "" for the core group */
    char version[32];                      /* "v1" */
    char namespace_[K8S_REQUEST_PART_MAX]; /* "" when cluster-wide */
    char resource[K8S_REQUEST_PART_MAX];   /* "pods" */
    char subresource[K8S_REQUEST_PART_MAX];
    char name[K8S_REQUEST_PART_MAX];
    char path[1024]; /* the path as requested (non-resource requests) */
};

/* Parses `method` ("GET"), `path` (without the query) and `watch_param` (the query's `watch`
 * value, NULL when absent) into *out. Path segments longer than K8S_REQUEST_PART_MAX - 1 or a
 * path past sizeof(out->path) - 1 make it a non-resource request (nothing real is that long).
 * Never fails. */
void k8s_request_parse(const char *method, const char *path, const char *watch_param,
                       struct k8s_request_info *out);

#endif
