/*
 * k8s_patch.h - the bodies of PATCH requests to the fake Kubernetes API, applied to a stored
 * object as the API server's patch handler applies them (apiserver pkg/endpoints/handlers/
 * patch.go, with the default fieldValidation=Warn, whose strict decoding words the 400s):
 *
 *   application/json-patch+json            RFC 6902, as gopkg.in/evanphx/json-patch.v4 applies
 *                                          it (negative array indices, `replace` of a missing
 *                                          member adds it); at most 10000 operations
 *   application/merge-patch+json           RFC 7386, as the same library's MergePatch does it
 *   application/strategic-merge-patch+json k8s_strategic.h; built-in types only: a custom
 *                                          resource answers 415, as the apiextensions server
 *                                          does, and kubectl sends it merge patches
 *
 * Server-side apply (application/apply-patch+yaml) is not served: 415 like any other media type,
 * and the 415 message lists only what this fake accepts.
 *
 * Errors carry the API server's status for them (k8s_patch_http_status, k8s_patch_reason):
 *   -ENOTSUP  415 UnsupportedMediaType  `the body of the request was in an unknown format -
 *                                        accepted media types include: ...`
 *   -EBADMSG  400 BadRequest   a body that does not decode (`error decoding patch: ...`), a
 *                              malformed directive, `Invalid JSON Patch`
 *   -EFBIG    413 RequestEntityTooLarge  more than 10000 JSON patch operations
 *   -EINVAL   422 Invalid      an operation that does not apply, a patch that leaves no object
 *   -EPROTO   500 (no reason)  a strategic merge error upstream passes on unconverted
 *   -ENOMEM   500 InternalError
 * Validation of the result against the type's schema, which upstream does while decoding, is
 * not done: the fake keeps what the patch leaves (name and namespace are checked by the caller,
 * as checkName does).
 */
#ifndef OTEL_FAKES_K8S_PATCH_H
#define OTEL_FAKES_K8S_PATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "k8s_resources.h"

#define K8S_PATCH_JSON_MEDIA_TYPE "application/json-patch+json"
#define K8S_PATCH_MERGE_MEDIA_TYPE "application/merge-patch+json"
#define K8S_PATCH_STRATEGIC_MEDIA_TYPE "application/strategic-merge-patch+json"
#define K8S_PATCH_MAX_OPERATIONS 10000 /* patch.go maxJSONPatchOperations */

enum k8s_patch_type {
    K8S_PATCH_JSON,
    K8S_PATCH_MERGE,
    K8S_PATCH_STRATEGIC,
};

/* The patch type of a Content-Type header value for objects of `rt` (what follows a ';' is
 * ignored, as the handler cuts it). Returns 0, or -ENOTSUP with the 415 message. */
int k8s_patch_type_of(const char *content_type, const struct k8s_resource_type *rt,
                      enum k8s_patch_type *out, struct error *err);

/* Applies the `len` bytes of `body` to `current` (borrowed, unchanged), an object of `rt`. *out
 * receives the patched object (caller owns). Returns 0 or a code above. */
int k8s_patch_apply(enum k8s_patch_type type, const struct k8s_resource_type *rt,
                    const json_t *current, const char *body, size_t len, json_t **out,
                    struct error *err);

/* The HTTP status and the Status reason ("" for none) of a code above. */
int k8s_patch_http_status(int code);
const char *k8s_patch_reason(int code);

/* Removes every null member of the objects in `v`, at any depth (what a merge patch's nulls
 * mean once there is nothing left to delete them from). Shared with the strategic merge. */
void k8s_patch_prune_nulls(json_t *v);

#endif
