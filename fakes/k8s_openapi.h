/*
 * k8s_openapi.h - the OpenAPI v3 documents of the fake Kubernetes API (GET /openapi/v3 and
 * /openapi/v3/<api|apis/group>/<version>), reduced to what kubectl 1.32 reads from them.
 *
 * kubectl apply and create validate with fieldValidation=Strict by default: they first ask the
 * OpenAPI v3 document of the object's group-version whether its PATCH operation takes the
 * `fieldValidation` query parameter (cli-runtime resource/query_param_verifier_v3.go). Yes: the
 * server validates. No, or no document: kubectl validates itself against the OpenAPI v2 schema,
 * and without one it fails with "failed to download openapi". kubectl apply also looks for
 * `application/strategic-merge-patch+json` among the PATCH request body types, and then for a
 * component schema with the object's x-kubernetes-group-version-kind to build its patch from
 * (kubectl/pkg/cmd/apply/patcher.go); finding none, it builds the patch from its compiled-in
 * types, as with a server without OpenAPI.
 *
 * So each document lists, for every type of the group-version that allows patch, the path of
 * one object with a patch operation: its x-kubernetes-group-version-kind, the query parameters
 * of the real operation (dryRun, fieldManager, fieldValidation, force, pretty) and the patch
 * media types the fake accepts (k8s_patch.h), with no schemas. The root lists each document at
 * a serverRelativeURL with a hash, as the real server does. There is no OpenAPI v2 document
 * (404, as before), so kubectl explain has nothing to show.
 */
#ifndef OTEL_FAKES_K8S_OPENAPI_H
#define OTEL_FAKES_K8S_OPENAPI_H

#include <jansson.h>

/* The document at `path` ("/openapi/v3" or "/openapi/v3/apis/apps/v1"), or NULL when there is
 * none (the caller answers 404). Caller owns. NULL also on ENOMEM (*found tells them apart). */
json_t *k8s_openapi_document(const char *path, int *found);

#endif
