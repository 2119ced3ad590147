/* k8s_proto.c - the Kubernetes protobuf envelope and the access review (k8s_proto.h). */
#include "k8s_proto.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "otlp_wire.h"

/* One length-delimited field's bytes as a JSON string (protobuf strings are UTF-8 by contract;
 * jansson refuses anything else, which makes the body malformed). NULL when not valid. */
static json_t *string_of(const struct otlp_wire_field *f)
{
    return json_stringn((const char *)f->data, f->len);
}

/* Reads the fields of a message whose fields are all strings into `out`, by their numbers:
 * names[number - 1] is the JSON key (NULL: skipped). Returns 0 or -EBADMSG / -ENOMEM. */
static int read_strings(const uint8_t *data, size_t len, const char *const *names, size_t count,
                        json_t *out)
{
    struct otlp_wire_reader r;
    struct otlp_wire_field f;
    int rc;
    otlp_wire_init(&r, data, len);
    while ((rc = otlp_wire_next(&r, &f)) == 1) {
        if (f.number < 1 || f.number > count || !names[f.number - 1])
            continue;
        if (f.type != OTLP_WIRE_LEN)
            return -EBADMSG;
        json_t *s = string_of(&f);
        if (!s)
            return -EBADMSG;
        if (json_object_set_new(out, names[f.number - 1], s) < 0)
            return -ENOMEM;
    }
    return rc == 0 ? 0 : -EBADMSG;
}

/* authorization/v1 SelfSubjectAccessReviewSpec into {"resourceAttributes": {...}} or
 * {"nonResourceAttributes": {...}}. */
static int read_review_spec(const uint8_t *data, size_t len, json_t *spec)
{
    static const char *const resource[] = {"namespace", "verb",        "group", "version",
                                           "resource",  "subresource", "name"};
    static const char *const non_resource[] = {"path", "verb"};
    struct otlp_wire_reader r;
    struct otlp_wire_field f;
    int rc;
    otlp_wire_init(&r, data, len);
    while ((rc = otlp_wire_next(&r, &f)) == 1) {
        if ((f.number != 1 && f.number != 2) || f.type != OTLP_WIRE_LEN)
            continue; /* field and label selectors (newer fields): not read */
        json_t *attrs = json_object();
        if (!attrs)
            return -ENOMEM;
        int sub = f.number == 1 ? read_strings(f.data, f.len, resource, 7, attrs)
                                : read_strings(f.data, f.len, non_resource, 2, attrs);
        if (sub < 0 ||
            json_object_set_new(
                spec, f.number == 1 ? "resourceAttributes" : "nonResourceAttributes", attrs) < 0) {
            if (sub < 0)
                json_decref(attrs);
            return sub < 0 ? sub : -ENOMEM;
        }
    }
    return rc == 0 ? 0 : -EBADMSG;
}

int k8s_proto_decode(const uint8_t *body, size_t len, json_t **out, struct error *err)
{
    *out = NULL;
    if (len < 4 || memcmp(body, "k8s\0", 4) != 0)
        return error_set(err, -EBADMSG, ERROR_PERMANENT,
                         "provided object is not a protobuf-encoded object (no k8s magic)");
    /* runtime.Unknown */
    struct otlp_wire_reader r;
    struct otlp_wire_field f;
    json_t *type_meta = json_object();
    const uint8_t *raw = NULL;
    size_t raw_len = 0;
    int rc;
    if (!type_meta)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    static const char *const meta_names[] = {"apiVersion", "kind"};
    otlp_wire_init(&r, body + 4, len - 4);
    while ((rc = otlp_wire_next(&r, &f)) == 1) {
        if (f.type != OTLP_WIRE_LEN)
            continue;
        if (f.number == 1 && read_strings(f.data, f.len, meta_names, 2, type_meta) < 0) {
            rc = -1;
            break;
        }
        if (f.number == 2)
            raw = f.data, raw_len = f.len;
    }
    const char *api_version = json_string_value(json_object_get(type_meta, "apiVersion"));
    const char *kind = json_string_value(json_object_get(type_meta, "kind"));
    if (rc != 0 || !raw || !api_version || !kind) {
        json_decref(type_meta);
        return error_set(err, -EBADMSG, ERROR_PERMANENT,
                         "provided object is not a well-formed protobuf runtime.Unknown");
    }
    if (strcmp(api_version, "authorization.k8s.io/v1") != 0 ||
        strcmp(kind, "SelfSubjectAccessReview") != 0) {
        rc = error_set(err, -ENOTSUP, ERROR_PERMANENT,
                       "a protobuf %s %s body is not decoded by this fake", api_version, kind);
        json_decref(type_meta);
        return rc;
    }
    json_t *object = json_pack("{s:s, s:s, s:{}, s:{}}", "apiVersion", api_version, "kind", kind,
                               "metadata", "spec");
    json_decref(type_meta);
    if (!object)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    /* SelfSubjectAccessReview {metadata = 1, spec = 2, status = 3} */
    otlp_wire_init(&r, raw, raw_len);
    while ((rc = otlp_wire_next(&r, &f)) == 1) {
        if (f.number != 2 || f.type != OTLP_WIRE_LEN)
            continue;
        if ((rc = read_review_spec(f.data, f.len, json_object_get(object, "spec"))) < 0)
            break;
    }
    if (rc != 0) {
        json_decref(object);
        return rc == -ENOMEM ? error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory")
                             : error_set(err, -EBADMSG, ERROR_PERMANENT,
                                         "provided SelfSubjectAccessReview is not valid protobuf");
    }
    *out = object;
    return 0;
}
