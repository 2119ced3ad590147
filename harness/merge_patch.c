/*
 * merge_patch.c - RFC 7386 JSON Merge Patch (see merge_patch.h), written from the RFC's
 * section 2:
 *
 *   define MergePatch(Target, Patch):
 *     if Patch is an Object:
 *       if Target is not an Object: Target = {}
 *       for each Name/Value pair in Patch:
 *         if Value is null: remove Name from Target (if present)
 *         else: Target[Name] = MergePatch(Target[Name], Value)
 *       return Target
 *     else: return Patch
 */
#include "merge_patch.h"

json_t *merge_patch_apply(const json_t *target, const json_t *patch)
{
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *result = json_is_object(target) ? json_deep_copy(target) : json_object();
    if (!result)
        return NULL;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)patch, key, value)
    {
        if (json_is_null(value)) {
            json_object_del(result, key);
            continue;
        }
        json_t *merged = merge_patch_apply(json_object_get(result, key), value);
        if (!merged || json_object_set_new(result, key, merged) < 0) {
            json_decref(result);
            return NULL;
        }
    }
    return result;
}
