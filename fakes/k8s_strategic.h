/*
 * k8s_strategic.h - strategic merge patch (application/strategic-merge-patch+json) as the API
 * server applies it to a built-in object: apimachinery pkg/util/strategicpatch/patch.go
 * (StrategicMergeMapPatch with MergeParallelList and IgnoreUnmatchedNulls, what the patch
 * handler calls) and the patch strategies the k8s.io/api types declare in their struct tags.
 *
 * What it does, as upstream does it:
 *   - maps merge key by key; a null deletes the key; a key the object lacks takes the patch's
 *     value without its nulls and directives (removeDirectives, discardNullValuesFromPatch);
 *   - lists of a field with patchStrategy "merge" merge by the field's patchMergeKey (containers
 *     by name, ports by containerPort, volumeMounts by mountPath, env by name, conditions by
 *     type, ...), lists of scalars with "merge" (finalizers) are united; every other list is
 *     replaced;
 *   - directives: `$patch: replace|delete` in a map or a list element, `$retainKeys`,
 *     `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`, and the resulting order
 *     of merged lists (normalizeElementOrder: patch order, then the live order for the rest).
 *
 * The schema is a table of the built-in types this fake serves (k8s_resources.h), written from
 * the k8s.io/api v1.32 struct tags: only the fields with a patch strategy, and the structs on
 * the way to them. A field the table does not know is merged as upstream merges a field without
 * a strategy (maps merge, lists are replaced); upstream refuses a field its Go struct lacks, which
 * a fake without the full schema cannot tell (the fake keeps unknown fields, as
 * fieldValidation=Ignore would).
 *
 * Errors carry the API server's answer for them (patch.go interpretStrategicMergePatchError):
 *   -EBADMSG  400 BadRequest  malformed $retainKeys / $setElementOrder / $deleteFromPrimitiveList
 *   -EINVAL   422 Invalid     lists of lists (the generic 422 message, as upstream sends it)
 *   -EPROTO   500, no reason  the errors upstream passes on unconverted: a list element without
 *                             its merge key, an unknown $patch directive, element types that
 *                             differ; worded as upstream's fmt.Errorf texts, Go %v included
 *   -ENOMEM   500 InternalError
 */
#ifndef OTEL_FAKES_K8S_STRATEGIC_H
#define OTEL_FAKES_K8S_STRATEGIC_H

#include <jansson.h>

#include "error.h"

/* Applies `patch` (a JSON object, borrowed) to `original` (borrowed; neither is changed) as a
 * strategic merge patch for objects of `group`/`kind` ("apps", "Deployment"). *out receives the
 * patched object (caller owns). Returns 0 or a code above with the API server's message. */
int k8s_strategic_apply(const char *group, const char *kind, const json_t *original,
                        const json_t *patch, json_t **out, struct error *err);

#endif
