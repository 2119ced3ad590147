/*
 * k8s_strategic.c - strategic merge patch of k8s_strategic.h, checked against apimachinery
 * pkg/util/strategicpatch/patch.go (mergeMap, mergeSlice, mergePatchIntoOriginal,
 * normalizeElementOrder, removeDirectives) and pkg/util/mergepatch/errors.go (the error texts).
 *
 * Values are compared as Go compares interface{} values of decoded JSON: by type and value, so
 * an integer and a real of the same value differ (int64 and float64 upstream). To stay linear
 * where upstream scans lists inside loops, list positions are looked up in a jansson object keyed
 * by the compact JSON text of a value (or of its merge key); the results are the same.
 *
 * Deliberate differences: upstream sorts with a comparator that is not a strict order when an
 * element is missing from the order list; for lists of up to 20 elements the same insertion sort
 * Go runs gives the same result, longer lists with such elements are sorted stably with the
 * missing ones first. Comparing maps or lists as merge keys, which panics upstream, compares them
 * by content here.
 */
#include "k8s_strategic.h"
#include "k8s_patch.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIRECTIVE "$patch"
#define RETAIN_KEYS "$retainKeys"
#define SET_ORDER_PREFIX "$setElementOrder"
#define DELETE_FROM_PRIMITIVE_PREFIX "$deleteFromPrimitiveList"

/* mergepatch/errors.go */
#define ERR_PRIMITIVE_LIST "invalid patch format of primitive list"
#define ERR_RETAIN_KEYS "invalid patch format of retainKeys"
#define ERR_SET_ORDER "invalid patch format of setElementOrder list"
/* What NewGenericServerResponse says for a 422, whatever the error was. */
#define GENERIC_422 "the server rejected our request due to an error in our request"

#define GO_MAP_TYPE "map[string]interface {}"
#define GO_SLICE_TYPE "[]interface {}"
#define INSERTION_SORT_MAX 20 /* Go's sort.Stable sorts blocks of 20 by insertion */

/* ---- the schema: patch strategies of the k8s.io/api types ---- */

enum strategy { STRATEGY_NONE, STRATEGY_MERGE, STRATEGY_REPLACE };

struct schema;

struct field {
    const char *name;
    const struct schema *type; /* of the value, or of each element of a list; NULL: no fields
                                  with a strategy below */
    const char *merge_key;     /* lists of objects merged by this key */
    enum strategy strategy;
};

struct schema {
    const struct field *fields; /* ends with an entry whose name is NULL */
};

static const struct schema object_meta, container_schema, pod_spec, pod_template_spec, pod_status,
    node_spec, node_status, service_spec, conditions_status, workload_spec;

/* Fields of struct types, each with its tag: `patchStrategy:"merge" patchMergeKey:"name"`. */
static const struct field object_meta_fields[] = {
    {"finalizers", NULL, NULL, STRATEGY_MERGE},
    {"ownerReferences", NULL, "uid", STRATEGY_MERGE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};
static const struct field container_fields[] = {
    {"ports", NULL, "containerPort", STRATEGY_MERGE},
    {"env", NULL, "name", STRATEGY_MERGE},
    {"volumeMounts", NULL, "mountPath", STRATEGY_MERGE},
    {"volumeDevices", NULL, "devicePath", STRATEGY_MERGE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};
static const struct field pod_spec_fields[] = {
    {"volumes", NULL, "name", STRATEGY_MERGE}, /* "merge,retainKeys" */
    {"initContainers", &container_schema, "name", STRATEGY_MERGE},
    {"containers", &container_schema, "name", STRATEGY_MERGE},
    {"ephemeralContainers", &container_schema, "name", STRATEGY_MERGE},
    {"imagePullSecrets", NULL, "name", STRATEGY_MERGE},
    {"hostAliases", NULL, "ip", STRATEGY_MERGE},
    {"topologySpreadConstraints", NULL, "topologyKey", STRATEGY_MERGE},
    {"schedulingGates", NULL, "name", STRATEGY_MERGE},
    {"resourceClaims", NULL, "name", STRATEGY_MERGE}, /* "merge,retainKeys" */
    {NULL, NULL, NULL, STRATEGY_NONE},
};
static const struct field pod_template_spec_fields[] = {
    {"metadata", &object_meta, NULL, STRATEGY_NONE},
    {"spec", &pod_spec, NULL, STRATEGY_NONE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};
static const struct field pod_status_fields[] = {
    {"conditions", NULL, "type", STRATEGY_MERGE},
    {"podIPs", NULL, "ip", STRATEGY_MERGE},
    {"hostIPs", NULL, "ip", STRATEGY_MERGE},
    {"resourceClaimStatuses", NULL, "name", STRATEGY_MERGE}, /* "merge,retainKeys" */
    {NULL, NULL, NULL, STRATEGY_NONE},
};
static const struct field node_spec_fields[] = {
    {"podCIDRs", NULL, NULL, STRATEGY_MERGE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};
static const struct field node_status_fields[] = {
    {"conditions", NULL, "type", STRATEGY_MERGE},
    {"addresses", NULL, "type", STRATEGY_MERGE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};
static const struct field service_spec_fields[] = {
    {"ports", NULL, "port", STRATEGY_MERGE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};
/* NamespaceStatus, ServiceStatus and the apps workloads' statuses */
static const struct field conditions_status_fields[] = {
    {"conditions", NULL, "type", STRATEGY_MERGE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};
/* DeploymentSpec, ReplicaSetSpec, DaemonSetSpec, StatefulSetSpec: the pod template (Deployment's
 * strategy is "retainKeys", which only the $retainKeys directive acts on) */
static const struct field workload_spec_fields[] = {
    {"template", &pod_template_spec, NULL, STRATEGY_NONE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};

static const struct schema object_meta = {object_meta_fields};
static const struct schema container_schema = {container_fields};
static const struct schema pod_spec = {pod_spec_fields};
static const struct schema pod_template_spec = {pod_template_spec_fields};
static const struct schema pod_status = {pod_status_fields};
static const struct schema node_spec = {node_spec_fields};
static const struct schema node_status = {node_status_fields};
static const struct schema service_spec = {service_spec_fields};
static const struct schema conditions_status = {conditions_status_fields};
static const struct schema workload_spec = {workload_spec_fields};

/* The top level of each kind. */
static const struct field pod_fields[] = {
    {"metadata", &object_meta, NULL, STRATEGY_NONE},
    {"spec", &pod_spec, NULL, STRATEGY_NONE},
    {"status", &pod_status, NULL, STRATEGY_NONE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};
static const struct field node_fields[] = {
    {"metadata", &object_meta, NULL, STRATEGY_NONE},
    {"spec", &node_spec, NULL, STRATEGY_NONE},
    {"status", &node_status, NULL, STRATEGY_NONE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};
static const struct field service_fields[] = {
    {"metadata", &object_meta, NULL, STRATEGY_NONE},
    {"spec", &service_spec, NULL, STRATEGY_NONE},
    {"status", &conditions_status, NULL, STRATEGY_NONE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};
static const struct field namespace_fields[] = {
    {"metadata", &object_meta, NULL, STRATEGY_NONE},
    {"status", &conditions_status, NULL, STRATEGY_NONE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};
static const struct field service_account_fields[] = {
    {"metadata", &object_meta, NULL, STRATEGY_NONE},
    {"secrets", NULL, "name", STRATEGY_MERGE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};
static const struct field workload_fields[] = {
    {"metadata", &object_meta, NULL, STRATEGY_NONE},
    {"spec", &workload_spec, NULL, STRATEGY_NONE},
    {"status", &conditions_status, NULL, STRATEGY_NONE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};
/* ConfigMap, Endpoints, EndpointSlice, the RBAC types: only ObjectMeta has strategies */
static const struct field plain_fields[] = {
    {"metadata", &object_meta, NULL, STRATEGY_NONE},
    {NULL, NULL, NULL, STRATEGY_NONE},
};

static const struct schema pod_schema = {pod_fields};
static const struct schema node_schema = {node_fields};
static const struct schema service_schema = {service_fields};
static const struct schema namespace_schema = {namespace_fields};
static const struct schema service_account_schema = {service_account_fields};
static const struct schema workload_schema = {workload_fields};
static const struct schema plain_schema = {plain_fields};

static const struct {
    const char *group, *kind;
    const struct schema *schema;
} kinds[] = {
    {"", "Pod", &pod_schema},
    {"", "Node", &node_schema},
    {"", "Service", &service_schema},
    {"", "Namespace", &namespace_schema},
    {"", "ServiceAccount", &service_account_schema},
    {"apps", "Deployment", &workload_schema},
    {"apps", "ReplicaSet", &workload_schema},
    {"apps", "DaemonSet", &workload_schema},
    {"apps", "StatefulSet", &workload_schema},
};

static const struct schema *schema_of_kind(const char *group, const char *kind)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(kinds[i].group, group) && !strcmp(kinds[i].kind, kind))
            return kinds[i].schema;
    return &plain_schema;
}

static const struct field *lookup(const struct schema *schema, const char *name)
{
    for (const struct field *f = schema ? schema->fields : NULL; f && f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}

/* ---- Go's view of decoded JSON ---- */

enum go_kind { GO_MAP, GO_SLICE, GO_STRING, GO_INT, GO_FLOAT, GO_BOOL, GO_NIL };

static enum go_kind go_kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return GO_MAP;
    case JSON_ARRAY: return GO_SLICE;
    case JSON_STRING: return GO_STRING;
    case JSON_INTEGER: return GO_INT;
    case JSON_REAL: return GO_FLOAT;
    case JSON_TRUE:
    case JSON_FALSE: return GO_BOOL;
    default: return GO_NIL;
    }
}

/* reflect.TypeOf(v).String() for a decoded value. */
static const char *go_type_name(const json_t *v)
{
    static const char *const names[] = {GO_MAP_TYPE, GO_SLICE_TYPE, "string", "int64",
                                        "float64",   "bool",        "<nil>"};
    return names[go_kind_of(v)];
}

/* A message being built, cut short at ERROR_MESSAGE_MAX as struct error would cut it. */
struct text {
    char buf[ERROR_MESSAGE_MAX];
    size_t len;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    size_t room = sizeof(t->buf) - 1 - t->len;
    if (n > room)
        n = room;
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void text_puts(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

/* Go's %v of a float64: the shortest digits that read back, in %e form when the exponent is
 * below -4 or at least 6 (strconv 'g' with the shortest precision), else in %f form. */
static void go_format_float(struct text *t, double d)
{
    char e[40];
    for (int p = 0; p < 17; p++) {
        snprintf(e, sizeof(e), "%.*e", p, d);
        if (strtod(e, NULL) == d)
            break;
    }
    char digits[24];
    size_t nd = 0;
    const char *p = e;
    bool negative = *p == '-';
    if (negative)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && nd < sizeof(digits) - 1)
            digits[nd++] = *p;
    digits[nd] = '\0';
    int exp = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';
    char out[64];
    size_t w = 0;
    if (negative)
        out[w++] = '-';
    if (exp < -4 || exp >= 6) {
        out[w++] = digits[0];
        if (nd > 1) {
            out[w++] = '.';
            for (size_t i = 1; i < nd; i++)
                out[w++] = digits[i];
        }
        snprintf(out + w, sizeof(out) - w, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    } else if (exp < 0) {
        out[w++] = '0';
        out[w++] = '.';
        for (int i = -1; i > exp; i--)
            out[w++] = '0';
        for (size_t i = 0; i < nd; i++)
            out[w++] = digits[i];
        out[w] = '\0';
    } else {
        for (size_t i = 0; i < nd || (int)i <= exp; i++) {
            if ((int)i == exp + 1)
                out[w++] = '.';
            out[w++] = i < nd ? digits[i] : '0';
        }
        out[w] = '\0';
    }
    text_puts(t, out);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go's %v of a decoded value: map[k:v ...] with sorted keys, [a b], strings bare, <nil>. */
static void go_format(struct text *t, const json_t *v)
{
    char number[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = malloc((n ? n : 1) * sizeof(*keys));
        if (!keys) {
            text_puts(t, "map[...]");
            return;
        }
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)v, key, value)
        {
            keys[i++] = key;
        }
        qsort(keys, n, sizeof(*keys), compare_strings);
        text_puts(t, "map[");
        for (i = 0; i < n; i++) {
            if (i)
                text_puts(t, " ");
            text_puts(t, keys[i]);
            text_puts(t, ":");
            go_format(t, json_object_get(v, keys[i]));
        }
        text_puts(t, "]");
        free(keys);
        return;
    }
    case JSON_ARRAY:
        text_puts(t, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                text_puts(t, " ");
            go_format(t, json_array_get(v, i));
        }
        text_puts(t, "]");
        return;
    case JSON_STRING: text_add(t, json_string_value(v), json_string_length(v)); return;
    case JSON_INTEGER:
        snprintf(number, sizeof(number), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        text_puts(t, number);
        return;
    case JSON_REAL: go_format_float(t, json_real_value(v)); return;
    case JSON_TRUE: text_puts(t, "true"); return;
    case JSON_FALSE: text_puts(t, "false"); return;
    default: text_puts(t, "<nil>"); return;
    }
}

/* ---- errors, worded as mergepatch/errors.go and patch.go word them ---- */

static int out_of_memory(struct error *err)
{
    return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
}

static int bad_request(struct error *err, const char *message)
{
    return error_set(err, -EBADMSG, ERROR_PERMANENT, "%s", message);
}

/* An error upstream returns unconverted: a 500 with the error's text and no reason. */
static int unconverted(struct error *err, const struct text *t)
{
    return error_set(err, -EPROTO, ERROR_PERMANENT, "%s", t->buf);
}

static int no_merge_key(struct error *err, const json_t *map, const char *merge_key)
{
    struct text t = {.len = 0};
    text_puts(&t, "map: ");
    go_format(&t, map);
    text_puts(&t, " does not contain declared merge key: ");
    text_puts(&t, merge_key ? merge_key : "");
    return unconverted(err, &t);
}

static int bad_patch_type(struct error *err, const json_t *directive, const json_t *map)
{
    struct text t = {.len = 0};
    text_puts(&t, "unknown patch type: ");
    if (json_is_string(directive)) {
        go_format(&t, directive);
    } else { /* %s of a non-string */
        text_puts(&t, "%!s(");
        text_puts(&t, go_type_name(directive));
        text_puts(&t, "=");
        go_format(&t, directive);
        text_puts(&t, ")");
    }
    text_puts(&t, " in map: ");
    go_format(&t, map);
    return unconverted(err, &t);
}

static int bad_arg_type(struct error *err, const char *expected, const json_t *actual)
{
    struct text t = {.len = 0};
    text_puts(&t, "expected a ");
    text_puts(&t, expected);
    text_puts(&t, ", but received a ");
    text_puts(&t, go_type_name(actual));
    return unconverted(err, &t);
}

static int message_error(struct error *err, const char *message)
{
    struct text t = {.len = 0};
    text_puts(&t, message);
    return unconverted(err, &t);
}

/* ---- identities and positions ---- */

/* What Go's == sees of a scalar: its compact JSON text (NULL value: "null", as Go's nil). Caller
 * frees; NULL on ENOMEM. */
static char *identity(const json_t *v)
{
    if (!v)
        return strdup("null");
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

/* The value an element is known by: the element itself, or its merge key's value (absent: nil,
 * as a failed lookup in a Go map gives). */
static const json_t *known_by(const json_t *element, const char *merge_key)
{
    if (!merge_key)
        return element;
    return json_is_object(element) ? json_object_get(element, merge_key) : NULL;
}

/* {identity: first index} over `list` (NULL = empty), each element known by `merge_key`. */
static json_t *positions_of(const json_t *list, const char *merge_key)
{
    json_t *positions = json_object();
    for (size_t i = 0; positions && i < json_array_size(list); i++) {
        char *id = identity(known_by(json_array_get(list, i), merge_key));
        if (!id || (!json_object_get(positions, id) &&
                    json_object_set_new(positions, id, json_integer((json_int_t)i)))) {
            free(id);
            json_decref(positions);
            return NULL;
        }
        free(id);
    }
    return positions;
}

/* The first index of an element known as `element` is in `positions`, -1 when absent, -2 on
 * ENOMEM. */
static long position(const json_t *positions, const json_t *element, const char *merge_key)
{
    char *id = identity(known_by(element, merge_key));
    if (!id)
        return -2;
    const json_t *at = json_object_get(positions, id);
    free(id);
    return at ? (long)json_integer_value(at) : -1;
}

/* ---- directive-free values ---- */

/* removeDirectives: maps that carry $patch are dropped (*out NULL), others lose such members and
 * elements at every depth. *out is a new reference. Returns 0 or -ENOMEM. */
static int remove_directives(json_t *v, json_t **out)
{
    *out = NULL;
    if (json_is_object(v)) {
        if (json_object_get(v, DIRECTIVE))
            return 0;
        const char *key;
        json_t *value;
        void *tmp;
        json_object_foreach_safe(v, tmp, key, value)
        {
            json_t *kept = NULL;
            if (remove_directives(value, &kept) < 0)
                return -ENOMEM;
            if (!kept)
                json_object_del(v, key);
            else if (json_object_set_new(v, key, kept))
                return -ENOMEM;
        }
        *out = json_incref(v);
        return 0;
    }
    if (json_is_array(v)) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < json_array_size(v); i++) {
            json_t *kept = NULL;
            if (remove_directives(json_array_get(v, i), &kept) < 0 ||
                (kept && json_array_append_new(list, kept))) {
                json_decref(list);
                return -ENOMEM;
            }
        }
        *out = list;
        return list ? 0 : -ENOMEM;
    }
    *out = json_incref(v);
    return 0;
}

/* ---- lists ---- */

static json_t *merge_map(json_t *original, json_t *patch, const struct schema *schema,
                         struct error *err);

/* sliceElementType over two lists (either may be NULL): the Go kind all elements share. */
static int element_kind(const json_t *a, const json_t *b, enum go_kind *out, struct error *err)
{
    const json_t *lists[2] = {a, b};
    bool seen = false;
    for (size_t l = 0; l < 2; l++) {
        for (size_t i = 0; i < json_array_size(lists[l]); i++) {
            enum go_kind k = go_kind_of(json_array_get(lists[l], i));
            if (!seen) {
                seen = true;
                *out = k;
                if (k == GO_SLICE)
                    return error_set(err, -EINVAL, ERROR_PERMANENT, GENERIC_422);
            } else if (k != *out) {
                struct text t = {.len = 0};
                text_puts(&t, "list element types are not identical: [");
                go_format(&t, a ? a : json_array());
                text_puts(&t, " ");
                go_format(&t, b ? b : json_array());
                text_puts(&t, "]");
                return unconverted(err, &t);
            }
        }
    }
    return seen ? 0 : message_error(err, "no elements in any of the given slices");
}

/* Every element of the lists is a map with the merge key (validateMergeKeyInLists). */
static int check_merge_keys(const json_t *a, const json_t *b, const char *merge_key,
                            struct error *err)
{
    const json_t *lists[2] = {a, b};
    for (size_t l = 0; l < 2; l++) {
        for (size_t i = 0; i < json_array_size(lists[l]); i++) {
            const json_t *e = json_array_get(lists[l], i);
            if (!json_is_object(e))
                return bad_arg_type(err, GO_MAP_TYPE, e);
            if (!json_object_get(e, merge_key))
                return no_merge_key(err, e, merge_key);
        }
    }
    return 0;
}

static bool is_delete_directive(const json_t *e)
{
    const char *d = json_string_value(json_object_get(e, DIRECTIVE));
    return d && !strcmp(d, "delete");
}

struct ranked {
    long rank; /* position in the order list, -1 when absent */
    size_t at; /* position before sorting */
};

static int compare_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* normalizeSliceOrder: `to_sort` stably by position in `order`, delete directives last. New
 * list, NULL with err on failure. */
static json_t *order_by(const json_t *to_sort, const json_t *order, const char *merge_key,
                        bool maps, struct error *err)
{
    json_t *positions = NULL, *sorted = NULL, *deletes = NULL;
    struct ranked *ranks = NULL;
    if (maps && check_merge_keys(to_sort, order, merge_key, err) < 0)
        return NULL;
    positions = positions_of(order, maps ? merge_key : NULL);
    size_t n = json_array_size(to_sort);
    ranks = malloc((n ? n : 1) * sizeof(*ranks));
    sorted = json_array();
    deletes = json_array();
    if (!positions || !ranks || !sorted || !deletes)
        goto oom;
    size_t count = 0;
    bool all_ranked = true;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(to_sort, i);
        if (maps && is_delete_directive(e)) {
            if (json_array_append(deletes, (json_t *)e))
                goto oom;
            continue;
        }
        long rank = position(positions, e, maps ? merge_key : NULL);
        if (rank == -2)
            goto oom;
        all_ranked = all_ranked && rank >= 0;
        ranks[count] = (struct ranked){.rank = rank, .at = i};
        count++;
    }
    if (count <= INSERTION_SORT_MAX || !all_ranked) {
        if (count > INSERTION_SORT_MAX) /* see the top of the file */
            qsort(ranks, count, sizeof(*ranks), compare_ranked);
        else /* Go's insertion sort with upstream's less(i, j) */
            for (size_t i = 1; i < count; i++)
                for (size_t j = i; j > 0; j--) {
                    bool less = ranks[j].rank < 0 || ranks[j - 1].rank < 0 ||
                                ranks[j].rank < ranks[j - 1].rank;
                    if (!less)
                        break;
                    struct ranked tmp = ranks[j];
                    ranks[j] = ranks[j - 1];
                    ranks[j - 1] = tmp;
                }
    } else {
        qsort(ranks, count, sizeof(*ranks), compare_ranked);
    }
    for (size_t i = 0; i < count; i++)
        if (json_array_append(sorted, json_array_get(to_sort, ranks[i].at)))
            goto oom;
    if (json_array_extend(sorted, deletes))
        goto oom;
    json_decref(positions);
    json_decref(deletes);
    free(ranks);
    return sorted;
oom:
    json_decref(positions);
    json_decref(sorted);
    json_decref(deletes);
    free(ranks);
    out_of_memory(err);
    return NULL;
}

/* normalizeElementOrder: the patch's items in the patch's order, the server-only items in the
 * live order, then merged so that each keeps its place relative to the live list. */
static json_t *normalize_order(const json_t *patch_items, const json_t *server_only,
                               const json_t *patch_order, const json_t *server_order,
                               const char *merge_key, bool maps, struct error *err)
{
    const char *key = maps ? merge_key : NULL;
    json_t *right = order_by(patch_items, patch_order, merge_key, maps, err);
    if (!right)
        return NULL;
    json_t *left = order_by(server_only, server_order, merge_key, maps, err);
    if (!left) {
        json_decref(right);
        return NULL;
    }
    json_t *positions = positions_of(server_order, key);
    json_t *all = json_array();
    size_t i = 0, j = 0, nl = json_array_size(left), nr = json_array_size(right);
    if (!positions || !all)
        goto oom;
    while (i < nl || j < nr) {
        bool take_left = j >= nr;
        if (i < nl && j < nr) {
            long li = position(positions, json_array_get(left, i), key);
            long ri = position(positions, json_array_get(right, j), key);
            if (li == -2 || ri == -2)
                goto oom;
            take_left = li >= 0 && ri >= 0 && li < ri;
        }
        json_t *next = take_left ? json_array_get(left, i++) : json_array_get(right, j++);
        if (json_array_append(all, next))
            goto oom;
    }
    json_decref(left);
    json_decref(right);
    json_decref(positions);
    return all;
oom:
    out_of_memory(err);
    json_decref(all);
    json_decref(left);
    json_decref(right);
    json_decref(positions);
    return NULL;
}

/* partitionPrimitivesByPresentInList / partitionMapsByPresentInList: `list`'s elements present in
 * `by` go to *present, the others to *absent (new lists). */
static int partition(const json_t *list, const json_t *by, const char *merge_key, bool maps,
                     json_t **present, json_t **absent, struct error *err)
{
    *present = json_array();
    *absent = json_array();
    json_t *positions = NULL;
    if (!*present || !*absent)
        goto oom;
    if (maps) {
        for (size_t i = 0; i < json_array_size(list); i++) {
            const json_t *e = json_array_get(list, i);
            if (!json_is_object(e)) {
                bad_arg_type(err, GO_MAP_TYPE, e);
                goto fail;
            }
            if (!json_object_get(e, merge_key)) {
                no_merge_key(err, e, merge_key);
                goto fail;
            }
        }
        for (size_t i = 0; i < json_array_size(by); i++)
            if (!json_is_object(json_array_get(by, i))) {
                struct text t = {.len = 0};
                char at[64];
                snprintf(at, sizeof(at), "value for key %zu is not a map.", i);
                text_puts(&t, at);
                unconverted(err, &t);
                goto fail;
            }
    }
    positions = positions_of(by, maps ? merge_key : NULL);
    if (!positions)
        goto oom;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        long at = position(positions, e, maps ? merge_key : NULL);
        if (at == -2 || json_array_append(at >= 0 ? *present : *absent, e))
            goto oom;
    }
    json_decref(positions);
    return 0;
oom:
    out_of_memory(err);
fail:
    json_decref(positions);
    json_decref(*present);
    json_decref(*absent);
    *present = *absent = NULL;
    return err ? err->code : -ENOMEM;
}

/* The elements of `list` whose identity is not in `drop` (deleteFromSlice). */
static json_t *without(const json_t *list, const json_t *drop, struct error *err)
{
    json_t *positions = positions_of(drop, NULL);
    json_t *kept = positions ? json_array() : NULL;
    for (size_t i = 0; kept && i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        long at = position(positions, e, NULL);
        if (at == -2 || (at < 0 && json_array_append(kept, e))) {
            json_decref(kept);
            kept = NULL;
        }
    }
    json_decref(positions);
    if (!kept)
        out_of_memory(err);
    return kept;
}

/* The distinct scalars of a then b, first occurrences kept (deduplicateScalars keeps the same set;
 * its order does not survive the ordering that follows). */
static json_t *union_of(const json_t *a, const json_t *b, struct error *err)
{
    json_t *seen = json_object(), *all = json_array();
    const json_t *lists[2] = {a, b};
    for (size_t l = 0; seen && all && l < 2; l++) {
        for (size_t i = 0; i < json_array_size(lists[l]); i++) {
            json_t *e = json_array_get(lists[l], i);
            char *id = identity(e);
            bool fresh = id && !json_object_get(seen, id);
            if (!id || (fresh && (json_object_set_new(seen, id, json_true()) ||
                                  json_array_append(all, e)))) {
                free(id);
                json_decref(all);
                all = NULL;
                break;
            }
            free(id);
        }
    }
    json_decref(seen);
    if (!all)
        out_of_memory(err);
    return all;
}

/* mergeSliceWithSpecialElements: $patch delete removes the live elements with that key, $patch
 * replace makes the patch's plain elements the whole list. *live and *plain are new lists. */
static int take_special_elements(const json_t *original, const json_t *patch, const char *merge_key,
                                 json_t **live, json_t **plain, struct error *err)
{
    json_t *dropped = json_array();
    bool replace = false;
    *live = NULL;
    *plain = json_array();
    if (!dropped || !*plain)
        goto oom;
    for (size_t i = 0; i < json_array_size(patch); i++) {
        json_t *e = json_array_get(patch, i);
        json_t *directive = json_object_get(e, DIRECTIVE);
        const char *d = json_string_value(directive);
        if (!directive) {
            if (json_array_append(*plain, e))
                goto oom;
        } else if (d && !strcmp(d, "delete")) {
            json_t *value = json_object_get(e, merge_key);
            if (!value) {
                no_merge_key(err, e, merge_key);
                goto fail;
            }
            if (json_array_append(dropped, value))
                goto oom;
        } else if (d && !strcmp(d, "replace")) {
            replace = true; /* the other $patch elements are still looked at */
        } else if (d && !strcmp(d, "merge")) {
            message_error(err, "merging lists cannot yet be specified in the patch");
            goto fail;
        } else {
            bad_patch_type(err, directive, e);
            goto fail;
        }
    }
    if (replace) {
        *live = *plain;
        *plain = json_array();
        if (!*plain)
            goto oom;
    } else {
        json_t *positions = positions_of(dropped, NULL);
        *live = positions ? json_array() : NULL;
        for (size_t i = 0; *live && i < json_array_size(original); i++) {
            json_t *e = json_array_get(original, i);
            long at = position(positions, known_by(e, merge_key), NULL);
            if (at == -2 || (at < 0 && json_array_append(*live, e))) {
                json_decref(*live);
                *live = NULL;
            }
        }
        json_decref(positions);
        if (!*live)
            goto oom;
    }
    json_decref(dropped);
    return 0;
oom:
    out_of_memory(err);
fail:
    json_decref(dropped);
    json_decref(*live);
    json_decref(*plain);
    *live = *plain = NULL;
    return err ? err->code : -ENOMEM;
}

/* mergeSliceWithoutSpecialElements: each patch element merges into the live element with its
 * merge key, or is appended. New list. */
static json_t *merge_by_key(const json_t *live, const json_t *plain, const char *merge_key,
                            const struct schema *element_schema, struct error *err)
{
    json_t *merged = json_copy((json_t *)live);
    json_t *positions = positions_of(live, merge_key);
    if (!merged || !positions)
        goto oom;
    for (size_t i = 0; i < json_array_size(plain); i++) {
        json_t *e = json_array_get(plain, i);
        json_t *value = json_object_get(e, merge_key);
        if (!value) {
            no_merge_key(err, e, merge_key);
            goto fail;
        }
        long at = position(positions, e, merge_key);
        if (at == -2)
            goto oom;
        if (at >= 0) {
            json_t *one = merge_map(json_array_get(merged, (size_t)at), e, element_schema, err);
            if (!one || json_array_set_new(merged, (size_t)at, one))
                goto fail;
            continue;
        }
        char *id = identity(value);
        int bad = !id || json_object_set_new(positions, id,
                                             json_integer((json_int_t)json_array_size(merged)));
        free(id);
        if (bad || json_array_append(merged, e))
            goto oom;
    }
    json_decref(positions);
    return merged;
oom:
    out_of_memory(err);
fail:
    json_decref(merged);
    json_decref(positions);
    return NULL;
}

/* mergeSlice: a list field with patchStrategy "merge". New list, NULL with err. */
static json_t *merge_slice(json_t *original, json_t *patch, const struct field *f, bool delete_list,
                           struct error *err)
{
    if (!json_array_size(original) && !json_array_size(patch))
        return json_incref(original);
    enum go_kind kind;
    if (element_kind(original, patch, &kind, err) < 0)
        return NULL;
    json_t *merged = NULL, *live = NULL, *plain = NULL, *present = NULL, *absent = NULL;
    json_t *result = NULL;
    bool maps = kind == GO_MAP;
    if (!maps) {
        if (delete_list)
            return without(original, patch, err);
        merged = union_of(original, patch, err);
        live = json_incref(original);
        plain = json_incref(patch);
    } else {
        if (!f->merge_key) {
            message_error(err, "cannot merge lists without merge key for type string");
            return NULL;
        }
        if (take_special_elements(original, patch, f->merge_key, &live, &plain, err) < 0)
            return NULL;
        merged = merge_by_key(live, plain, f->merge_key, f->type, err);
    }
    if (merged && partition(merged, plain, f->merge_key, maps, &present, &absent, err) == 0)
        result = normalize_order(present, absent, plain, live, f->merge_key, maps, err);
    json_decref(merged);
    json_decref(live);
    json_decref(plain);
    json_decref(present);
    json_decref(absent);
    return result;
}

/* ---- maps ---- */

/* extractKey: "<prefix>/<key>" -> key; NULL when the first part is not exactly the prefix. */
static const char *directive_key(const char *key, const char *prefix)
{
    const char *slash = strchr(key, '/');
    if (!slash || (size_t)(slash - key) != strlen(prefix) || strncmp(key, prefix, strlen(prefix)))
        return NULL;
    return slash + 1;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* applyRetainKeysDirective: the live map keeps only the keys $retainKeys lists, and every key
 * the patch sets must be listed. */
static int apply_retain_keys(json_t *original, json_t *patch, struct error *err)
{
    json_t *retain = json_incref(json_object_get(patch, RETAIN_KEYS));
    if (!retain)
        return 0;
    json_object_del(patch, RETAIN_KEYS);
    int rc = 0;
    json_t *listed = json_object();
    if (!listed) {
        rc = out_of_memory(err);
        goto done;
    }
    if (!json_is_array(retain)) {
        rc = bad_request(err, ERR_RETAIN_KEYS);
        goto done;
    }
    for (size_t i = 0; i < json_array_size(retain); i++) {
        const char *k = json_string_value(json_array_get(retain, i));
        if (k && json_object_set_new(listed, k, json_true())) {
            rc = out_of_memory(err);
            goto done;
        }
    }
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach(patch, key, value)
    {
        if (json_is_null(value) || has_prefix(key, DELETE_FROM_PRIMITIVE_PREFIX) ||
            has_prefix(key, SET_ORDER_PREFIX))
            continue;
        if (!json_object_get(listed, key)) {
            rc = bad_request(err, ERR_RETAIN_KEYS);
            goto done;
        }
    }
    json_object_foreach_safe(original, tmp, key, value)
    {
        if (!json_object_get(listed, key))
            json_object_del(original, key);
    }
done:
    json_decref(listed);
    json_decref(retain);
    return rc;
}

/* validatePatchWithSetOrderList: the patch list's plain elements appear in the order list, in
 * its order. */
static int check_set_order(const json_t *patch_list, const json_t *order, const char *merge_key,
                           struct error *err)
{
    if (!json_is_array(order))
        return bad_request(err, ERR_SET_ORDER);
    if (!json_array_size(order) || !json_array_size(patch_list))
        return 0;
    size_t pi = 0, si = 0, n = json_array_size(patch_list);
    if (merge_key)
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(patch_list, i);
            if (!json_is_object(e))
                return bad_arg_type(err, GO_MAP_TYPE, e);
        }
    json_t *plain = json_array();
    if (!plain)
        return out_of_memory(err);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(patch_list, i);
        if ((!merge_key || !is_delete_directive(e)) && json_array_append(plain, e)) {
            json_decref(plain);
            return out_of_memory(err);
        }
    }
    int rc = 0;
    while (pi < json_array_size(plain) && si < json_array_size(order)) {
        const json_t *p = json_array_get(plain, pi), *o = json_array_get(order, si);
        if (json_is_object(p) && json_object_get(p, DIRECTIVE)) {
            pi++;
            continue;
        }
        bool equal;
        if (!merge_key) {
            equal = json_equal(p, o);
        } else {
            if (!json_is_object(o)) {
                rc = bad_arg_type(err, GO_MAP_TYPE, o);
                break;
            }
            const json_t *pk = json_object_get(p, merge_key), *ok = json_object_get(o, merge_key);
            if (!pk) {
                rc = no_merge_key(err, p, merge_key);
                break;
            }
            if (!ok) {
                rc = no_merge_key(err, o, merge_key);
                break;
            }
            equal = json_equal(pk, ok) && go_kind_of(pk) == go_kind_of(ok);
        }
        if (equal)
            pi++;
        si++;
    }
    if (!rc && pi < json_array_size(plain) && si >= json_array_size(order)) {
        struct text t = {.len = 0};
        text_puts(&t, "The order in patch list:\n");
        go_format(&t, patch_list);
        text_puts(&t, "\n doesn't match " SET_ORDER_PREFIX " list:\n");
        go_format(&t, order);
        text_puts(&t, "\n");
        rc = unconverted(err, &t);
    }
    json_decref(plain);
    return rc;
}

/* mergePatchIntoOriginal: every `$setElementOrder/<list>` with its list, merged and ordered. */
static int merge_set_orders(json_t *original, json_t *patch, const struct schema *schema,
                            struct error *err)
{
    json_t *keys = json_array();
    if (!keys)
        return out_of_memory(err);
    const char *key;
    json_t *value;
    int rc = 0;
    json_object_foreach(patch, key, value)
    {
        if (has_prefix(key, SET_ORDER_PREFIX) && json_array_append_new(keys, json_string(key))) {
            json_decref(keys);
            return out_of_memory(err);
        }
    }
    for (size_t i = 0; !rc && i < json_array_size(keys); i++) {
        const char *directive = json_string_value(json_array_get(keys, i));
        json_t *order = json_incref(json_object_get(patch, directive));
        json_t *merged = NULL, *present = NULL, *absent = NULL, *both = NULL;
        json_object_del(patch, directive);
        const char *name = directive_key(directive, SET_ORDER_PREFIX);
        json_t *live = NULL, *wanted = NULL;
        if (!json_is_array(order)) {
            rc = bad_arg_type(err, GO_SLICE_TYPE, order);
            goto next;
        }
        if (!name) {
            rc = bad_request(err, ERR_SET_ORDER);
            goto next;
        }
        live = json_object_get(original, name);
        wanted = json_object_get(patch, name);
        if (live && !json_is_array(live)) {
            rc = bad_arg_type(err, GO_SLICE_TYPE, live);
            goto next;
        }
        if (wanted && !json_is_array(wanted)) {
            rc = bad_arg_type(err, GO_SLICE_TYPE, wanted);
            goto next;
        }
        const struct field *f = lookup(schema, name);
        const char *merge_key = f ? f->merge_key : NULL;
        if ((rc = check_set_order(wanted, order, merge_key, err)) < 0)
            goto next;
        if (live && !wanted)
            merged = json_incref(live);
        else if (!live && wanted)
            merged = json_incref(wanted);
        else if (live && wanted)
            merged = f && f->strategy == STRATEGY_MERGE ? merge_slice(live, wanted, f, false, err)
                                                        : json_incref(wanted);
        else
            goto next;
        if (!merged) {
            rc = err->code;
            goto next;
        }
        enum go_kind kind;
        if ((rc = element_kind(live, wanted, &kind, err)) < 0)
            goto next;
        /* upstream partitions by merge key whenever the field has one */
        bool maps = merge_key != NULL;
        if ((rc = partition(merged, order, merge_key, maps, &present, &absent, err)) < 0)
            goto next;
        json_t *live_order = live ? live : json_array();
        both = live_order ? normalize_order(present, absent, order, live_order, merge_key,
                                            kind == GO_MAP, err)
                          : NULL;
        if (!live)
            json_decref(live_order);
        if (!both) {
            rc = live_order ? err->code : out_of_memory(err);
            goto next;
        }
        if (json_object_set_new(original, name, both)) {
            rc = out_of_memory(err);
            goto next;
        }
        json_object_del(patch, name);
    next:
        json_decref(order);
        json_decref(merged);
        json_decref(present);
        json_decref(absent);
    }
    json_decref(keys);
    return rc;
}

/* Sets original[key] to the patch's value as a new key takes it: without nulls and directives. */
static int take_value(json_t *original, const char *key, json_t *value, struct error *err)
{
    k8s_patch_prune_nulls(value); /* discardNullValuesFromPatch */
    json_t *clean = NULL;
    if (remove_directives(value, &clean) < 0)
        return out_of_memory(err);
    if (!clean) {
        json_object_del(original, key);
        return 0;
    }
    return json_object_set_new(original, key, clean) ? out_of_memory(err) : 0;
}

/* mergeMap: `patch` into `original` (NULL = empty), both borrowed and changed in place. Returns
 * the merged map (new reference) or NULL with err. */
static json_t *merge_map(json_t *original, json_t *patch, const struct schema *schema,
                         struct error *err)
{
    json_t *directive = json_object_get(patch, DIRECTIVE);
    if (directive) {
        const char *d = json_string_value(directive);
        if (d && !strcmp(d, "replace")) {
            json_object_del(patch, DIRECTIVE);
            return json_incref(patch);
        }
        if (d && !strcmp(d, "delete")) {
            json_t *empty = json_object();
            if (!empty)
                out_of_memory(err);
            return empty;
        }
        bad_patch_type(err, directive, patch);
        return NULL;
    }
    json_t *result = original ? json_incref(original) : json_object();
    if (!result) {
        out_of_memory(err);
        return NULL;
    }
    if (apply_retain_keys(result, patch, err) < 0 || merge_set_orders(result, patch, schema, err))
        goto fail;
    const char *key;
    json_t *value;
    json_object_foreach(patch, key, value)
    {
        const char *name = key;
        bool delete_list = has_prefix(key, DELETE_FROM_PRIMITIVE_PREFIX);
        if (delete_list && !(name = directive_key(key, DELETE_FROM_PRIMITIVE_PREFIX))) {
            bad_request(err, ERR_PRIMITIVE_LIST);
            goto fail;
        }
        if (json_is_null(value)) {
            json_object_del(result, name);
            continue;
        }
        json_t *live = json_object_get(result, name);
        if (!live || go_kind_of(live) != go_kind_of(value)) {
            if (!delete_list && take_value(result, name, value, err) < 0)
                goto fail;
            continue;
        }
        const struct field *f = lookup(schema, name);
        enum strategy strategy = f ? f->strategy : STRATEGY_NONE;
        json_t *merged;
        if (json_is_object(live))
            merged = strategy == STRATEGY_REPLACE ? json_incref(value)
                                                  : merge_map(live, value, f ? f->type : NULL, err);
        else if (json_is_array(live))
            merged = strategy == STRATEGY_MERGE ? merge_slice(live, value, f, delete_list, err)
                                                : json_incref(value);
        else
            merged = json_incref(value);
        if (!merged)
            goto fail;
        if (json_object_set_new(result, name, merged)) {
            out_of_memory(err);
            goto fail;
        }
    }
    return result;
fail:
    json_decref(result);
    return NULL;
}

int k8s_strategic_apply(const char *group, const char *kind, const json_t *original,
                        const json_t *patch, json_t **out, struct error *err)
{
    struct error local = {0};
    if (!err)
        err = &local;
    *out = NULL;
    /* upstream works on decoded copies and changes both as it goes */
    json_t *live = json_deep_copy(original);
    json_t *changes = json_deep_copy(patch);
    if (!live || !changes) {
        json_decref(live);
        json_decref(changes);
        return out_of_memory(err);
    }
    json_t *result = merge_map(live, changes, schema_of_kind(group, kind), err);
    json_decref(live);
    json_decref(changes);
    if (!result)
        return err->code ? err->code : -ENOMEM;
    *out = result;
    return 0;
}
