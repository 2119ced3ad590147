/*
 * k8s_patch.c - PATCH bodies of k8s_patch.h: media types, RFC 7386 merge patch and RFC 6902 JSON
 * patch (checked against apiserver handlers/patch.go and gopkg.in/evanphx/json-patch.v4
 * patch.go and merge.go), strategic merge patch handed to k8s_strategic.h.
 *
 * The texts of 400s follow Go's encoding/json where a fake can know them (`json: cannot
 * unmarshal array into Go value of type ...`); syntax errors carry jansson's description, since
 * Go's parser words them its own way. A JSON patch operation that does not apply is answered
 * with the generic 422 text upstream sends (NewGenericServerResponse drops the library's
 * message), so the library's wording does not matter here.
 *
 * One limit of its own: the values `copy` operations duplicate may add up to K8S_PATCH_MAX_COPY
 * bytes (json-patch's AccumulatedCopySizeLimit, unlimited upstream unless set), so that a small
 * patch cannot double an object ten thousand times.
 */
#include "k8s_patch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_strategic.h"

#define K8S_PATCH_MAX_COPY (3u * 1024 * 1024)
#define GENERIC_422 "the server rejected our request due to an error in our request"
#define MAP_GO_TYPE "map[string]interface {}"

int k8s_patch_http_status(int code)
{
    switch (code) {
    case -ENOTSUP: return 415;
    case -EBADMSG: return 400;
    case -EFBIG: return 413;
    case -EINVAL: return 422;
    default: return 500;
    }
}

const char *k8s_patch_reason(int code)
{
    switch (code) {
    case -ENOTSUP: return "UnsupportedMediaType";
    case -EBADMSG: return "BadRequest";
    case -EFBIG: return "RequestEntityTooLarge";
    case -EINVAL: return "Invalid";
    case -ENOMEM: return "InternalError";
    default: return "";
    }
}

int k8s_patch_type_of(const char *content_type, const struct k8s_resource_type *rt,
                      enum k8s_patch_type *out, struct error *err)
{
    /* patch.go: everything from the first ';' (not at the start) goes; nothing else is cleaned */
    const char *type = content_type ? content_type : "";
    size_t len = strlen(type);
    const char *semicolon = strchr(type, ';');
    if (semicolon && semicolon > type)
        len = (size_t)(semicolon - type);
    static const struct {
        const char *media_type;
        enum k8s_patch_type type;
    } known[] = {
        {K8S_PATCH_JSON_MEDIA_TYPE, K8S_PATCH_JSON},
        {K8S_PATCH_MERGE_MEDIA_TYPE, K8S_PATCH_MERGE},
        {K8S_PATCH_STRATEGIC_MEDIA_TYPE, K8S_PATCH_STRATEGIC},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (known[i].type == K8S_PATCH_STRATEGIC && rt->custom)
            continue;
        if (strlen(known[i].media_type) == len && !strncmp(type, known[i].media_type, len)) {
            *out = known[i].type;
            return 0;
        }
    }
    return error_set(err, -ENOTSUP, ERROR_PERMANENT,
                     "the body of the request was in an unknown format - accepted media types "
                     "include: " K8S_PATCH_JSON_MEDIA_TYPE ", " K8S_PATCH_MERGE_MEDIA_TYPE "%s",
                     rt->custom ? "" : ", " K8S_PATCH_STRATEGIC_MEDIA_TYPE);
}

static int out_of_memory(struct error *err)
{
    return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
}

/* The word encoding/json uses for the JSON type it could not unmarshal. */
static const char *json_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    default: return "null";
    }
}

/* The body as JSON (any value, null included), or a 400 with `prefix` before the parser's
 * words. */
static int decode(const char *body, size_t len, const char *prefix, json_t **out, struct error *err)
{
    json_error_t jerr;
    *out = json_loadb(body ? body : "", len, JSON_DECODE_ANY, &jerr);
    if (*out)
        return 0;
    return error_set(err, -EBADMSG, ERROR_PERMANENT, "%s%s", prefix,
                     len ? jerr.text : "unexpected end of JSON input");
}

/* ---- RFC 7386, as json-patch's MergePatch applies it ---- */

/* pruneNulls: null members of maps go at every depth; arrays keep their null elements. */
void k8s_patch_prune_nulls(json_t *v)
{
    if (json_is_object(v)) {
        const char *key;
        json_t *value;
        void *tmp;
        json_object_foreach_safe(v, tmp, key, value)
        {
            if (json_is_null(value))
                json_object_del(v, key);
            else
                k8s_patch_prune_nulls(value);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            k8s_patch_prune_nulls(json_array_get(v, i));
    }
}

/* mergeDocs: `patch` into the map `doc`, both changed in place. */
static int merge_docs(json_t *doc, json_t *patch)
{
    const char *key;
    json_t *value;
    json_object_foreach(patch, key, value)
    {
        if (json_is_null(value)) {
            json_object_del(doc, key);
            continue;
        }
        json_t *current = json_object_get(doc, key);
        if (!current || json_is_null(current) || !json_is_object(current)) {
            k8s_patch_prune_nulls(value); /* merge(): a non-map is replaced by the pruned patch */
        } else if (json_is_object(value)) {
            if (merge_docs(current, value) < 0)
                return -ENOMEM;
            continue;
        }
        if (json_object_set(doc, key, value))
            return -ENOMEM;
    }
    return 0;
}

static int merge_patch(const json_t *current, const char *body, size_t len, json_t **out,
                       struct error *err)
{
    json_t *patch = NULL;
    int rc = decode(body, len, "error decoding patch: ", &patch, err);
    if (rc < 0)
        return rc;
    if (json_is_null(patch)) {
        rc = error_set(err, -EBADMSG, ERROR_PERMANENT, "Invalid JSON Patch");
    } else if (!json_is_object(patch)) {
        rc = error_set(
            err, -EBADMSG, ERROR_PERMANENT,
            "error decoding patch: json: cannot unmarshal %s into Go value of type " MAP_GO_TYPE,
            json_word(patch));
    } else {
        *out = json_deep_copy(current);
        if (!*out || merge_docs(*out, patch) < 0) {
            json_decref(*out);
            *out = NULL;
            rc = out_of_memory(err);
        }
    }
    json_decref(patch);
    return rc;
}

/* ---- RFC 6902, as json-patch.v4 applies it ---- */

/* The strict decoding the handler does first (patch.go applyJSPatch): a list of objects whose
 * op, path and from are strings. Returns 0 or a 400. */
static int check_operations(const json_t *ops, struct error *err)
{
    if (json_is_null(ops))
        return 0;
    if (!json_is_array(ops))
        return error_set(err, -EBADMSG, ERROR_PERMANENT,
                         "error decoding patch: json: cannot unmarshal %s into Go value of type "
                         "[]handlers.jsonPatchOp",
                         json_word(ops));
    static const char *const strings[] = {"op", "path", "from"};
    for (size_t i = 0; i < json_array_size(ops); i++) {
        const json_t *op = json_array_get(ops, i);
        if (json_is_null(op))
            continue;
        if (!json_is_object(op))
            return error_set(err, -EBADMSG, ERROR_PERMANENT,
                             "error decoding patch: json: cannot unmarshal %s into Go value of "
                             "type handlers.jsonPatchOp",
                             json_word(op));
        for (size_t s = 0; s < sizeof(strings) / sizeof(strings[0]); s++) {
            const json_t *v = json_object_get(op, strings[s]);
            if (v && !json_is_null(v) && !json_is_string(v))
                return error_set(err, -EBADMSG, ERROR_PERMANENT,
                                 "error decoding patch: json: cannot unmarshal %s into Go struct "
                                 "field jsonPatchOp.%s of type string",
                                 json_word(v), strings[s]);
        }
    }
    return 0;
}

/* decodePatchKey: "~1" is "/", then "~0" is "~". Caller frees. */
static char *decode_key(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '~' && i + 1 < len && s[i + 1] == '1') {
            out[w++] = '/';
            i++;
        } else {
            out[w++] = s[i];
        }
    }
    out[w] = '\0';
    size_t r = 0;
    w = 0;
    for (; out[r]; r++) {
        if (out[r] == '~' && out[r + 1] == '0') {
            out[w++] = '~';
            r++;
        } else {
            out[w++] = out[r];
        }
    }
    out[w] = '\0';
    return out;
}

/* strconv.Atoi: optional sign, decimal digits, in range. */
static bool parse_index(const char *s, long *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return false;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno)
        return false;
    *out = v;
    return true;
}

/* An index of an array of `size` elements, negative ones counting from the end
 * (SupportNegativeIndices); -1 when out of range or not a number. */
static long resolve_index(const char *key, size_t size)
{
    long idx;
    if (!parse_index(key, &idx))
        return -1;
    if (idx < 0) {
        if (idx < -(long)size)
            return -1;
        idx += (long)size;
    }
    return idx < (long)size ? idx : -1;
}

/* The member or element `key` of a container; NULL when absent (a null member counts as absent,
 * as json-patch decodes it to a nil node). *bad is set for an unusable array index. */
static json_t *child(json_t *container, const char *key, bool *bad)
{
    *bad = false;
    if (json_is_object(container)) {
        json_t *v = json_object_get(container, key);
        return json_is_null(v) ? NULL : v;
    }
    long idx = resolve_index(key, json_array_size(container));
    if (idx < 0) {
        *bad = true;
        return NULL;
    }
    json_t *v = json_array_get(container, (size_t)idx);
    return json_is_null(v) ? NULL : v;
}

/* findObject: the container of the last token of `path` and that token (decoded, caller frees),
 * or NULL. The first token is skipped whatever it is, as upstream splits on "/" and drops it. */
static json_t *find_container(json_t *doc, const char *path, char **key)
{
    *key = NULL;
    const char *slash = strchr(path, '/');
    if (!slash)
        return NULL;
    json_t *container = doc;
    const char *part = slash + 1;
    while (1) {
        const char *next = strchr(part, '/');
        if (!next) {
            *key = decode_key(part, strlen(part));
            return *key ? container : NULL;
        }
        char *token = decode_key(part, (size_t)(next - part));
        bool bad;
        json_t *v = token ? child(container, token, &bad) : NULL;
        free(token);
        if (!v || !(json_is_object(v) || json_is_array(v)))
            return NULL;
        container = v;
        part = next + 1;
    }
}

/* The operation's "value" (absent or null: JSON null, as json-patch's nil node marshals). */
static json_t *operation_value(const json_t *op)
{
    json_t *v = json_object_get(op, "value");
    return v ? json_incref(v) : json_null();
}

static int add_at(json_t *container, const char *key, json_t *value /* stolen */)
{
    if (json_is_object(container))
        return json_object_set_new(container, key, value) ? -ENOMEM : 0;
    size_t size = json_array_size(container);
    if (!strcmp(key, "-"))
        return json_array_append_new(container, value) ? -ENOMEM : 0;
    long idx;
    if (!parse_index(key, &idx) || idx >= (long)size + 1 || idx < -((long)size + 1)) {
        json_decref(value);
        return -EINVAL;
    }
    if (idx < 0)
        idx += (long)size + 1;
    return json_array_insert_new(container, (size_t)idx, value) ? -ENOMEM : 0;
}

static int remove_at(json_t *container, const char *key)
{
    if (json_is_object(container))
        return json_object_del(container, key) ? -EINVAL : 0;
    long idx = resolve_index(key, json_array_size(container));
    if (idx < 0)
        return -EINVAL;
    return json_array_remove(container, (size_t)idx) ? -EINVAL : 0;
}

/* One operation on *doc (which `replace` of the root may swap). Returns 0, -EINVAL (does not
 * apply) or -ENOMEM. */
static int apply_operation(json_t **doc, const json_t *op, size_t *copied)
{
    const char *kind = json_string_value(json_object_get(op, "op"));
    const char *path = json_string_value(json_object_get(op, "path"));
    const char *from = json_string_value(json_object_get(op, "from"));
    char *key = NULL, *from_key = NULL;
    json_t *container, *value = NULL;
    int rc = -EINVAL;
    if (!kind || !path)
        return -EINVAL;
    if (!strcmp(kind, "replace") && !path[0]) { /* the whole document */
        value = operation_value(op);
        if (!json_is_object(value) && !json_is_array(value)) {
            json_decref(value);
            return -EINVAL;
        }
        json_decref(*doc);
        *doc = value;
        return 0;
    }
    if (!strcmp(kind, "test") && !path[0]) {
        value = operation_value(op);
        rc = json_equal(*doc, value) ? 0 : -EINVAL;
        json_decref(value);
        return rc;
    }
    if (!strcmp(kind, "move") || !strcmp(kind, "copy")) {
        if (!from)
            return -EINVAL;
        json_t *source = find_container(*doc, from, &from_key);
        bool bad = false;
        json_t *found = source ? child(source, from_key, &bad) : NULL;
        if (!source || bad)
            goto done;
        if (!strcmp(kind, "move")) {
            value = found ? json_incref(found) : json_null();
            if (remove_at(source, from_key) < 0)
                goto done;
        } else {
            value = found ? json_deep_copy(found) : json_null();
            if (!value) {
                rc = -ENOMEM;
                goto done;
            }
            *copied += json_dumpb(value, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
            if (*copied > K8S_PATCH_MAX_COPY)
                goto done;
        }
    }
    container = find_container(*doc, path, &key);
    if (!container)
        goto done;
    if (!strcmp(kind, "add") || !strcmp(kind, "move") || !strcmp(kind, "copy")) {
        rc = add_at(container, key, value ? value : operation_value(op));
        value = NULL;
    } else if (!strcmp(kind, "remove")) {
        rc = remove_at(container, key);
    } else if (!strcmp(kind, "replace")) {
        bool bad;
        child(container, key, &bad);
        if (bad)
            goto done;
        value = operation_value(op);
        if (json_is_object(container)) {
            rc = json_object_set_new(container, key, value) ? -ENOMEM : 0;
        } else {
            long idx = resolve_index(key, json_array_size(container));
            rc = json_array_set_new(container, (size_t)idx, value) ? -ENOMEM : 0;
        }
        value = NULL;
    } else if (!strcmp(kind, "test")) {
        bool bad;
        json_t *found = child(container, key, &bad);
        if (bad)
            goto done;
        value = operation_value(op);
        rc = (!found ? json_is_null(value) : json_equal(found, value)) ? 0 : -EINVAL;
    }
done:
    json_decref(value);
    free(key);
    free(from_key);
    return rc;
}

static int json_patch(const json_t *current, const char *body, size_t len, json_t **out,
                      struct error *err)
{
    json_t *ops = NULL, *doc = NULL;
    int rc = decode(body, len, "error decoding patch: ", &ops, err);
    if (rc < 0)
        return rc;
    if ((rc = check_operations(ops, err)) < 0)
        goto done;
    if (json_array_size(ops) > K8S_PATCH_MAX_OPERATIONS) {
        rc = error_set(err, -EFBIG, ERROR_PERMANENT,
                       "Request entity too large: The allowed maximum operations in a JSON patch "
                       "is %d, got %zu",
                       K8S_PATCH_MAX_OPERATIONS, json_array_size(ops));
        goto done;
    }
    doc = json_deep_copy(current);
    if (!doc) {
        rc = out_of_memory(err);
        goto done;
    }
    size_t copied = 0;
    for (size_t i = 0; i < json_array_size(ops); i++) {
        rc = apply_operation(&doc, json_array_get(ops, i), &copied);
        if (rc == -ENOMEM) {
            out_of_memory(err);
            goto done;
        }
        if (rc < 0) {
            error_set(err, -EINVAL, ERROR_PERMANENT, GENERIC_422);
            goto done;
        }
    }
    if (!json_is_object(doc)) {
        /* what decoding the result into the type answers (errors.NewInvalid on field "patch") */
        char *text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       " \"\" is invalid: patch: Invalid value: \"%.200s\": json: cannot "
                       "unmarshal %s into Go value of type " MAP_GO_TYPE,
                       text ? text : "", json_word(doc));
        free(text);
        goto done;
    }
    *out = doc;
    doc = NULL;
    rc = 0;
done:
    json_decref(ops);
    json_decref(doc);
    return rc;
}

static int strategic_patch(const struct k8s_resource_type *rt, const json_t *current,
                           const char *body, size_t len, json_t **out, struct error *err)
{
    json_t *patch = NULL;
    int rc = decode(body, len, "", &patch, err);
    if (rc < 0)
        return rc;
    if (json_is_null(patch)) { /* decodes into an empty map: nothing to do */
        json_decref(patch);
        patch = json_object();
        if (!patch)
            return out_of_memory(err);
    }
    if (!json_is_object(patch))
        rc = error_set(err, -EBADMSG, ERROR_PERMANENT,
                       "json: cannot unmarshal %s into Go value of type " MAP_GO_TYPE,
                       json_word(patch));
    else
        rc = k8s_strategic_apply(rt->group, rt->kind, current, patch, out, err);
    json_decref(patch);
    return rc;
}

int k8s_patch_apply(enum k8s_patch_type type, const struct k8s_resource_type *rt,
                    const json_t *current, const char *body, size_t len, json_t **out,
                    struct error *err)
{
    *out = NULL;
    switch (type) {
    case K8S_PATCH_JSON: return json_patch(current, body, len, out, err);
    case K8S_PATCH_MERGE: return merge_patch(current, body, len, out, err);
    case K8S_PATCH_STRATEGIC: return strategic_patch(rt, current, body, len, out, err);
    }
    return error_set(err, -ENOTSUP, ERROR_PERMANENT, "unknown patch type");
}
