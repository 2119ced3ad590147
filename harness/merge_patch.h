/*
 * merge_patch.h - JSON Merge Patch (RFC 7386), as `kubectl patch --type merge` sends it and the
 * API server applies it to an object: a mapping in the patch is merged key by key into the
 * target, a null deletes the key, anything else (a list included) replaces the target's value.
 *
 * The harness needs it because a `k8s` step's patch goes through the control API, not the API's
 * PATCH (so that it stays out of the audit log): it is read-modify-write, with the merge done
 * here (step_k8s.c).
 * jansson's json_object_update_recursive merges mappings but keeps nulls as values, so it is not
 * a merge patch; this is the RFC's pseudo-code, section 2.
 */
#ifndef HARNESS_MERGE_PATCH_H
#define HARNESS_MERGE_PATCH_H

#include <jansson.h>

/* The result of applying `patch` to `target` (neither is changed). Caller owns the result; NULL
 * on ENOMEM. A patch that is not a mapping is the result itself (a copy). */
json_t *merge_patch_apply(const json_t *target, const json_t *patch);

#endif
