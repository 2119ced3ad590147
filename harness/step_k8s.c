/*
 * step_k8s.c - the `k8s` step: one action on the fake Kubernetes API while the collector runs,
 * what a cluster's users and controllers do to the objects a collector watches.
 *
 *   - k8s: {apply: inputs/k8s/web.yaml}            # a manifest, relative to scenarios/
 *   - k8s: {apply: [inputs/k8s/a.yaml, {apiVersion: v1, kind: Pod, metadata: {...}}]}
 *   - k8s: {delete: {kind: Pod, namespace: default, name: web}}   # or [{...}], or {file: ...}
 *   - k8s: {patch: {kind: Pod, namespace: default, name: web,
 *                   merge: {metadata: {annotations: {a: b}}}}}   # RFC 7386 merge patch
 *   - k8s: {relabel: {pod: default/web, labels: {tier: frontend, old: null}}}
 *   - k8s: {call: {as: opentelemetry/otel-collector-collector, verb: list,
 *                  resource: replicasets.apps, expect_status: 403}}
 *
 * apply and delete go through the control API (k8s_control.h), as the scene-setting of the
 * `kubernetes:` section does: no token, no audit entry. patch goes the same way rather than
 * through the API's PATCH, so that the scene-setting never shows in the audit log either: it is
 * read-modify-write: the object is read from the fake's
 * object view (GET /v1/received/kubernetes, the store itself, so the harness's reads add nothing
 * to the audit log that the calls golden is made of), merged here (merge_patch.h) and applied
 * whole with POST /v1/k8s/objects, which replaces it: watchers see one MODIFIED event, as after
 * a real patch. The object's resourceVersion is not a precondition of that replace, so a patch
 * never conflicts; a real API server would retry on conflict anyway. relabel is a merge patch
 * of a pod's metadata.labels (null removes a label). delete looks its objects up in the same
 * view, which also gives the resource type the delete route needs from a kind.
 *
 * call is one request to the API's HTTPS front as an identity (a token made for it, the CA of the
 * run): what a client of the collector's service account could do, authorized by RBAC and
 * audited like the collector's own calls, so a scenario can show what an identity may and may not
 * do without a collector client (get and list only: a watch would be a stream).
 *
 * phase moves a pod to a phase as its kubelet would report it (the fakes' control route); fault
 * sets or clears an API fault (500s for N requests or until cleared, open watches cut, ...),
 * which the collector meets as it would meet an API server in trouble.
 *
 * Actions are a table: each is a name, a load and a run. A new action is one more entry and its
 * two functions; the step's struct gains what it holds.
 */
#include "step_k8s.h"
#include "steps.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "k8s_control.h"
#include "k8s_env.h"
#include "merge_patch.h"
#include "scenario_loader.h"
#include "yamljson.h"

struct k8s_action {
    const char *name;
    const char *example; /* for messages */
    /* Fills st's data from the action's value (checked here, not by a field table: its shape
     * depends on the action). `path` is "steps[N].k8s.<action>". */
    int (*load)(struct loader *l, struct step *st, const json_t *value, const char *path, int line);
    int (*run)(struct run_ctx *ctx, const struct step_k8s *k, char *detail, size_t size,
               struct error *err);
};

/* ---- targets: {kind, name, namespace, apiVersion} ---- */

static const struct field target_fields[] = {
    {"kind", FIELD_STR, true, "the object's kind, e.g. Pod"},
    {"name", FIELD_STR, true, "the object's name"},
    {"namespace", FIELD_STR, false, "its namespace (none for a cluster-scoped object)"},
    {"apiVersion", FIELD_STR, false, "its apiVersion, when the kind alone is ambiguous"},
    {NULL, 0, false, NULL},
};

static int set_target(struct loader *l, struct step_k8s_target *t, const json_t *object,
                      const char *namespace, int line, const char *path)
{
    t->api_version = loader_get_string(object, "apiVersion");
    t->kind = loader_get_string(object, "kind");
    t->name = loader_get_string(json_object_get(object, "metadata"), "name");
    if (!t->name)
        t->name = loader_get_string(object, "name");
    t->namespace_given = namespace != NULL;
    if (namespace && strlen(namespace) >= sizeof(t->namespace))
        return loader_fail(l, line, path, "namespace too long");
    snprintf(t->namespace, sizeof(t->namespace), "%s", namespace ? namespace : "");
    return 0;
}

static void describe_target(const struct step_k8s_target *t, char *out, size_t size)
{
    snprintf(out, size, "%s %s%s%s", t->kind, t->namespace, *t->namespace ? "/" : "", t->name);
}

/* ---- apply ---- */

static int check_inline_object(struct loader *l, const json_t *object, int line, const char *path)
{
    const char *missing = !loader_get_string(object, "apiVersion") ? "apiVersion"
                          : !loader_get_string(object, "kind")     ? "kind"
                          : !loader_get_string(json_object_get(object, "metadata"), "name")
                              ? "metadata.name"
                              : NULL;
    if (missing)
        return loader_fail(l, line, path,
                           "no %s (an inline object needs apiVersion, kind and metadata.name)",
                           missing);
    return 0;
}

static int load_apply(struct loader *l, struct step *st, const json_t *value, const char *path,
                      int line)
{
    struct step_k8s *k = step_k8s_data(st);
    bool list = json_is_array(value);
    size_t count = list ? json_array_size(value) : 1;
    if (!list && !json_is_string(value) && !json_is_object(value))
        return loader_fail(l, line, path,
                           "expected a manifest file, an object, or a list of them; got %s",
                           loader_type_name(value));
    if (count == 0)
        return loader_fail(l, line, path, "expected at least one manifest or object");
    for (size_t i = 0; i < count; i++) {
        const json_t *item = list ? json_array_get(value, i) : value;
        char sub[600];
        int iline = list ? loader_line_of_index(l, value, i, line) : line;
        if (list)
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        else
            snprintf(sub, sizeof(sub), "%s", path);
        if (k->item_count >= STEP_K8S_MAX_ITEMS)
            return loader_fail(l, iline, sub, "too many items (at most %d)", STEP_K8S_MAX_ITEMS);
        int rc;
        if (json_is_string(item)) {
            const char *label = json_string_value(item);
            char *target = k->items[k->item_count].path;
            k->items[k->item_count].label = label;
            rc = loader_resolve(l, target, sizeof(k->items[0].path), l->s->scenarios_dir, label,
                                iline, sub);
            if (rc == 0)
                rc = k8s_scenario_check_manifest(l, target, label, iline, sub);
        } else if (json_is_object(item)) {
            k->items[k->item_count].object = item;
            rc = check_inline_object(l, item, loader_line_of_node(l, item, iline), sub);
        } else {
            rc = loader_fail(l, iline, sub, "expected a manifest file or an object, got %s",
                             loader_type_name(item));
        }
        if (rc < 0)
            return rc;
        k->item_count++;
    }
    const char *first = k->items[0].label ? k->items[0].label : "inline object";
    if (k->item_count > 1)
        snprintf(st->label, sizeof(st->label), "k8s apply %s +%zu", first, k->item_count - 1);
    else
        snprintf(st->label, sizeof(st->label), "k8s apply %s", first);
    return 0;
}

static int run_apply(struct run_ctx *ctx, const struct step_k8s *k, char *detail, size_t size,
                     struct error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < k->item_count; i++) {
        char summary[256];
        int rc;
        if (k->items[i].object) {
            char *text = json_dumps(k->items[i].object, JSON_COMPACT);
            if (!text)
                return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            rc = k8s_control_apply(&ctx->fakes, text, strlen(text), "an inline object", summary,
                                   sizeof(summary), err);
            free(text);
        } else {
            rc = k8s_control_apply_file(&ctx->fakes, k->items[i].path, k->items[i].label, summary,
                                        sizeof(summary), err);
        }
        if (rc < 0)
            return rc;
        if (n < size)
            n += (size_t)snprintf(detail + n, size - n, "%s%s: %s", i ? "; " : "",
                                  k->items[i].label ? k->items[i].label : "inline object", summary);
    }
    return 0;
}

/* ---- delete ---- */

/* Adds the objects of a manifest as targets; the parsed manifest is kept in k->owned. */
static int add_file_targets(struct loader *l, struct step_k8s *k, const char *label, int line,
                            const char *path)
{
    char resolved[PATH_MAX];
    json_t *docs = NULL;
    struct error yerr;
    int rc = loader_resolve(l, resolved, sizeof(resolved), l->s->scenarios_dir, label, line, path);
    if (rc == 0)
        rc = k8s_scenario_check_manifest(l, resolved, label, line, path);
    if (rc < 0)
        return rc;
    if (yamljson_load_file(resolved, &docs, NULL, &yerr) < 0)
        return loader_fail(l, line, path, "%s", yerr.message);
    if (!k->owned && !(k->owned = json_array())) {
        json_decref(docs);
        return error_set(l->err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    json_array_append_new(k->owned, docs); /* keeps the strings the targets borrow */
    size_t count = json_is_array(docs) ? json_array_size(docs) : 1;
    for (size_t i = 0; i < count; i++) {
        const json_t *doc = json_is_array(docs) ? json_array_get(docs, i) : docs;
        const json_t *items = json_object_get(doc, "items");
        bool is_list =
            !strcmp(loader_get_string(doc, "kind") ? loader_get_string(doc, "kind") : "", "List");
        size_t n = is_list ? json_array_size(items) : json_is_object(doc) ? 1 : 0;
        for (size_t j = 0; j < n; j++) {
            const json_t *object = is_list ? json_array_get(items, j) : doc;
            if (k->target_count >= STEP_K8S_MAX_TARGETS)
                return loader_fail(l, line, path, "too many objects to delete (at most %d)",
                                   STEP_K8S_MAX_TARGETS);
            const char *ns = loader_get_string(json_object_get(object, "metadata"), "namespace");
            if ((rc = set_target(l, &k->targets[k->target_count], object, ns, line, path)) < 0)
                return rc;
            k->target_count++;
        }
    }
    return 0;
}

static int load_delete(struct loader *l, struct step *st, const json_t *value, const char *path,
                       int line)
{
    struct step_k8s *k = step_k8s_data(st);
    static const struct field file_fields[] = {
        {"file", FIELD_STR, true, "a manifest whose objects to delete"},
        {NULL, 0, false, NULL},
    };
    bool list = json_is_array(value);
    size_t count = list ? json_array_size(value) : 1;
    if (!list && !json_is_object(value))
        return loader_fail(l, line, path,
                           "expected {kind, namespace, name}, {file: manifest} or a list of "
                           "them; got %s",
                           loader_type_name(value));
    for (size_t i = 0; i < count; i++) {
        const json_t *item = list ? json_array_get(value, i) : value;
        char sub[600];
        int iline = list ? loader_line_of_index(l, value, i, line) : line;
        if (list)
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        else
            snprintf(sub, sizeof(sub), "%s", path);
        int rc;
        if (json_is_object(item) && json_object_get(item, "file")) {
            rc = loader_check_fields(l, item, iline, sub, file_fields);
            if (rc == 0)
                rc = add_file_targets(l, k, loader_get_string(item, "file"), iline, sub);
        } else if ((rc = loader_check_fields(l, item, iline, sub, target_fields)) == 0) {
            if (k->target_count >= STEP_K8S_MAX_TARGETS)
                return loader_fail(l, iline, sub, "too many objects to delete (at most %d)",
                                   STEP_K8S_MAX_TARGETS);
            rc = set_target(l, &k->targets[k->target_count], item,
                            loader_get_string(item, "namespace"), iline, sub);
            k->target_count += rc == 0;
        }
        if (rc < 0)
            return rc;
    }
    if (k->target_count == 0)
        return loader_fail(l, line, path, "nothing to delete");
    char first[320];
    describe_target(&k->targets[0], first, sizeof(first));
    if (k->target_count > 1)
        snprintf(st->label, sizeof(st->label), "k8s delete %s +%zu", first, k->target_count - 1);
    else
        snprintf(st->label, sizeof(st->label), "k8s delete %s", first);
    return 0;
}

/* The stored object a target names; *type gets its type key. A target without a namespace
 * matches a cluster-scoped object, or else one in "default" (where the API puts a namespaced
 * object applied without one). */
static const json_t *find_target(const json_t *objects, const struct step_k8s_target *t,
                                 const char **type, struct error *err)
{
    const json_t *object =
        k8s_control_find(objects, t->api_version, t->kind, t->namespace, t->name, type);
    if (!object && !t->namespace_given)
        object = k8s_control_find(objects, t->api_version, t->kind, "default", t->name, type);
    if (!object) {
        char what[600];
        describe_target(t, what, sizeof(what));
        error_set(err, -ENOENT, ERROR_PERMANENT, "the fake holds no %s", what);
    }
    return object;
}

static int run_delete(struct run_ctx *ctx, const struct step_k8s *k, char *detail, size_t size,
                      struct error *err)
{
    json_t *objects = NULL;
    int rc = k8s_control_objects(&ctx->fakes, &objects, err);
    for (size_t i = 0; rc == 0 && i < k->target_count; i++) {
        const char *type;
        const json_t *object = find_target(objects, &k->targets[i], &type, err);
        if (!object) {
            rc = -ENOENT;
            break;
        }
        const json_t *meta = json_object_get(object, "metadata");
        const char *ns = json_string_value(json_object_get(meta, "namespace"));
        rc = k8s_control_delete(&ctx->fakes, type, ns ? ns : "", k->targets[i].name, err);
    }
    if (rc == 0)
        snprintf(detail, size, "deleted %zu object%s", k->target_count,
                 k->target_count == 1 ? "" : "s");
    json_decref(objects);
    return rc;
}

/* ---- patch and relabel ---- */

static const struct field patch_fields[] = {
    {"kind", FIELD_STR, true, "the object's kind, e.g. Pod"},
    {"name", FIELD_STR, true, "the object's name"},
    {"namespace", FIELD_STR, false, "its namespace (none for a cluster-scoped object)"},
    {"apiVersion", FIELD_STR, false, "its apiVersion, when the kind alone is ambiguous"},
    {"merge", FIELD_MAP, true, "an RFC 7386 merge patch, e.g. {metadata: {labels: {a: b}}}"},
    {NULL, 0, false, NULL},
};

static int load_patch(struct loader *l, struct step *st, const json_t *value, const char *path,
                      int line)
{
    struct step_k8s *k = step_k8s_data(st);
    int rc = loader_check_fields(l, value, line, path, patch_fields);
    if (rc < 0 || (rc = set_target(l, &k->targets[0], value, loader_get_string(value, "namespace"),
                                   line, path)) < 0)
        return rc;
    k->target_count = 1;
    k->patch = json_object_get(value, "merge");
    char what[320];
    describe_target(&k->targets[0], what, sizeof(what));
    snprintf(st->label, sizeof(st->label), "k8s patch %s", what);
    return 0;
}

/* The pod named by value's "pod" ("namespace/name") as targets[0] of the step. Returns 0 or the
 * loader's failure (file and line). */
static int load_pod_target(struct loader *l, struct step_k8s *k, const json_t *value,
                           const char *path, int line)
{
    const char *pod = loader_get_string(value, "pod");
    const char *slash = strchr(pod, '/');
    if (!slash || slash == pod || !slash[1] || strchr(slash + 1, '/') ||
        (size_t)(slash - pod) >= sizeof(k->targets[0].namespace))
        return loader_fail(l, loader_line_of_key(l, value, "pod", line), path,
                           "pod: expected namespace/name, e.g. default/web");
    struct step_k8s_target *t = &k->targets[0];
    t->kind = "Pod";
    t->api_version = "v1";
    t->name = slash + 1;
    t->namespace_given = true;
    snprintf(t->namespace, sizeof(t->namespace), "%.*s", (int)(slash - pod), pod);
    k->target_count = 1;
    return 0;
}

static const struct field relabel_fields[] = {
    {"pod", FIELD_STR, true, "the pod, namespace/name"},
    {"labels", FIELD_MAP, true, "labels to set (a string) or remove (null), e.g. {tier: web}"},
    {NULL, 0, false, NULL},
};

static int load_relabel(struct loader *l, struct step *st, const json_t *value, const char *path,
                        int line)
{
    struct step_k8s *k = step_k8s_data(st);
    int rc = loader_check_fields(l, value, line, path, relabel_fields);
    if (rc < 0)
        return rc;
    if ((rc = load_pod_target(l, k, value, path, line)) < 0)
        return rc;
    const json_t *labels = json_object_get(value, "labels");
    const char *key;
    json_t *label_value;
    json_object_foreach((json_t *)labels, key, label_value)
    {
        if (!json_is_string(label_value) && !json_is_null(label_value))
            return loader_fail(l, loader_line_of_key(l, labels, key, line), path,
                               "labels.%s: expected a string (to set) or null (to remove), got %s",
                               key, loader_type_name(label_value));
    }
    k->owned = json_pack("{s:{s:O}}", "metadata", "labels", labels);
    if (!k->owned)
        return error_set(l->err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    k->patch = k->owned;
    snprintf(st->label, sizeof(st->label), "k8s relabel %s", loader_get_string(value, "pod"));
    return 0;
}

/* Read, merge, write back whole (see the top of the file). */
static int run_patch(struct run_ctx *ctx, const struct step_k8s *k, char *detail, size_t size,
                     struct error *err)
{
    json_t *objects = NULL, *patched = NULL;
    char *text = NULL;
    const char *type;
    char summary[256];
    int rc = k8s_control_objects(&ctx->fakes, &objects, err);
    if (rc < 0)
        goto done;
    const json_t *object = find_target(objects, &k->targets[0], &type, err);
    if (!object) {
        rc = -ENOENT;
        goto done;
    }
    patched = merge_patch_apply(object, k->patch);
    text = patched ? json_dumps(patched, JSON_COMPACT) : NULL;
    if (!text) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto done;
    }
    char what[600];
    describe_target(&k->targets[0], what, sizeof(what));
    rc = k8s_control_apply(&ctx->fakes, text, strlen(text), what, summary, sizeof(summary), err);
    if (rc == 0)
        snprintf(detail, size, "%s: %s", what, summary);
done:
    free(text);
    json_decref(patched);
    json_decref(objects);
    return rc;
}

/* ---- call ---- */

static const struct field call_fields[] = {
    {"as", FIELD_STR, false,
     "the identity, namespace/name of a service account (default: kubernetes.as)"},
    {"verb", FIELD_STR, true, "get or list"},
    {"resource", FIELD_STR, true,
     "the resource as kubectl names it: pods, replicasets.apps, replicasets.v1.apps"},
    {"namespace", FIELD_STR, false, "the namespace (none: cluster scope, every namespace)"},
    {"name", FIELD_STR, false, "the object's name (get)"},
    {"label_selector", FIELD_STR, false, "a label selector, e.g. app=web"},
    {"field_selector", FIELD_STR, false, "a field selector, e.g. spec.nodeName=kind-worker"},
    {"expect_status", FIELD_INT, false, "the HTTP status the API must answer (default 200)"},
    {"expect_items", FIELD_INT, false, "how many items a list must answer"},
    {NULL, 0, false, NULL},
};

/* "v1", "v1beta1", "v2alpha3": a version segment of "resource.version.group". */
static bool is_version(const char *s, size_t len)
{
    if (len < 2 || s[0] != 'v' || !isdigit((unsigned char)s[1]))
        return false;
    size_t i = 1;
    while (i < len && isdigit((unsigned char)s[i]))
        i++;
    if (i == len)
        return true;
    size_t rest = len - i;
    if (!((rest > 5 && !strncmp(s + i, "alpha", 5)) || (rest > 4 && !strncmp(s + i, "beta", 4))))
        return false;
    i += s[i] == 'a' ? 5 : 4;
    while (i < len && isdigit((unsigned char)s[i]))
        i++;
    return i == len;
}

int step_k8s_api_path(const char *resource, const char *namespace, const char *name,
                      const char *query, char *out, size_t size)
{
    char plural[256], group[256], version[32] = "v1";
    for (const char *p = resource; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr(".-/", *p))
            return -EINVAL; /* a kind (ReplicaSet) or a typo, not a resource */
    const char *sub = strchr(resource, '/');
    size_t head = sub ? (size_t)(sub - resource) : strlen(resource);
    size_t n = strcspn(resource, ".");
    if (n > head)
        n = head;
    if (n == 0 || n >= sizeof(plural))
        return -EINVAL;
    snprintf(plural, sizeof(plural), "%.*s", (int)n, resource);
    const char *rest = n < head ? resource + n + 1 : "";
    size_t rest_len = n < head ? head - n - 1 : 0;
    size_t vlen = strcspn(rest, ".");
    if (vlen > rest_len)
        vlen = rest_len;
    if (rest_len && is_version(rest, vlen) && vlen < sizeof(version)) {
        snprintf(version, sizeof(version), "%.*s", (int)vlen, rest);
        rest += vlen + (vlen < rest_len);
        rest_len -= vlen + (vlen < rest_len);
    }
    if (rest_len >= sizeof(group))
        return -EINVAL;
    snprintf(group, sizeof(group), "%.*s", (int)rest_len, rest);
    int w = snprintf(out, size, "%s%s/%s%s%s/%s%s%s%s%s%s", *group ? "/apis/" : "/api", group,
                     version, *namespace ? "/namespaces/" : "", namespace, plural, *name ? "/" : "",
                     name, sub ? sub : "", *query ? "?" : "", query);
    return w > 0 && (size_t)w < size ? 0 : -ENAMETOOLONG;
}

/* "labelSelector=app%3Dweb&fieldSelector=..." */
static int build_query(const json_t *value, char *out, size_t size)
{
    static const struct {
        const char *key, *param;
    } params[] = {{"label_selector", "labelSelector"}, {"field_selector", "fieldSelector"}};
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        const char *v = loader_get_string(value, params[i].key);
        if (!v)
            continue;
        char *escaped = httpc_escape(v);
        if (!escaped)
            return -ENOMEM;
        n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s=%s", n ? "&" : "",
                              params[i].param, escaped);
        free(escaped);
    }
    return n < size ? 0 : -ENAMETOOLONG;
}

static int load_call(struct loader *l, struct step *st, const json_t *value, const char *path,
                     int line)
{
    struct step_k8s *k = step_k8s_data(st);
    static const char *const verbs[] = {"get", "list", NULL};
    int choice, rc = loader_check_fields(l, value, line, path, call_fields);
    if (rc < 0 || (rc = loader_check_choice(l, value, "verb", path, verbs, &choice)) < 0)
        return rc;
    k->verb = verbs[choice];
    const char *as = loader_get_string(value, "as");
    const char *name = loader_get_string(value, "name");
    const char *namespace = loader_get_string(value, "namespace");
    const char *resource = loader_get_string(value, "resource");
    if (as) {
        char sub[600];
        loader_join(sub, sizeof(sub), path, "as");
        if ((rc = k8s_scenario_identity(l, as, loader_line_of_key(l, value, "as", line), sub,
                                        k->user, sizeof(k->user))) < 0)
            return rc;
    } else if (l->s->kubernetes.enabled) {
        snprintf(k->user, sizeof(k->user), "%s", l->s->kubernetes.user);
    } else {
        return loader_fail(l, line, path,
                           "as: required when the scenario has no kubernetes: section (which "
                           "names the default identity)");
    }
    if (!strcmp(k->verb, "get") != !!name)
        return loader_fail(l, line, path, "%s",
                           name ? "name applies to get (a list has none)"
                                : "get needs the object's name");
    if (k->verb[0] == 'g' &&
        (json_object_get(value, "label_selector") || json_object_get(value, "field_selector")))
        return loader_fail(l, line, path, "selectors apply to list");
    char query[1024];
    if ((rc = build_query(value, query, sizeof(query))) == -ENOMEM)
        return error_set(l->err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    if (rc < 0 || (rc = step_k8s_api_path(resource, namespace ? namespace : "", name ? name : "",
                                          query, k->request, sizeof(k->request))) < 0)
        return loader_fail(l, loader_line_of_key(l, value, "resource", line), path,
                           "resource: expected a resource as kubectl names it (pods, "
                           "replicasets.apps, replicasets.v1.apps, pods/status); got \"%s\"",
                           resource);
    const json_t *status = json_object_get(value, "expect_status");
    k->expect_status = status ? (int)json_integer_value(status) : 200;
    if (k->expect_status < 100 || k->expect_status > 599)
        return loader_fail(l, loader_line_of_key(l, value, "expect_status", line), path,
                           "expect_status: expected an HTTP status, 100-599");
    const json_t *items = json_object_get(value, "expect_items");
    k->expect_items = items ? (long)json_integer_value(items) : -1;
    if (items && (k->verb[0] != 'l' || k->expect_items < 0))
        return loader_fail(l, loader_line_of_key(l, value, "expect_items", line), path,
                           "expect_items: a count (0 or more) of what a list answers");
    char who[2 * K8S_NAME_MAX];
    if (as)
        snprintf(who, sizeof(who), "%s", as);
    else
        snprintf(who, sizeof(who), "%s/%s", l->s->kubernetes.namespace, l->s->kubernetes.name);
    snprintf(st->label, sizeof(st->label), "k8s call %s %.64s%s%.64s as %.200s", k->verb, resource,
             namespace ? " in " : "", namespace ? namespace : "", who);
    return 0;
}

static int run_call(struct run_ctx *ctx, const struct step_k8s *k, char *detail, size_t size,
                    struct error *err)
{
    const char *token, *ca;
    long status = 0;
    json_t *body = NULL;
    int rc;
    if ((rc = k8s_env_token(&ctx->kubernetes, &ctx->fakes, k->user, &token, err)) < 0 ||
        (rc = k8s_env_ca_file(&ctx->kubernetes, &ctx->fakes, &ca, err)) < 0 ||
        (rc = k8s_control_api_call(&ctx->fakes, ca, token, "GET", k->request, &status, &body,
                                   err)) < 0)
        return rc;
    const char *message = json_string_value(json_object_get(body, "message"));
    size_t items = json_array_size(json_object_get(body, "items"));
    if (status != k->expect_status)
        rc = error_set(err, -EPROTO, ERROR_PERMANENT, "GET %s as %s answered %ld, want %d%s%s",
                       k->request, k->user, status, k->expect_status, message ? ": " : "",
                       message ? message : "");
    else if (k->expect_items >= 0 && (long)items != k->expect_items)
        rc = error_set(err, -EPROTO, ERROR_PERMANENT, "GET %s answered %zu items, want %ld",
                       k->request, items, k->expect_items);
    else if (k->verb[0] == 'l' && status == 200)
        snprintf(detail, size, "GET %s: %ld, %zu items", k->request, status, items);
    else
        snprintf(detail, size, "GET %s: %ld%s%s", k->request, status, message ? ": " : "",
                 message ? message : "");
    json_decref(body);
    return rc;
}

/* ---- phase ---- */

static const struct field phase_fields[] = {
    {"pod", FIELD_STR, true, "the pod, namespace/name"},
    {"phase", FIELD_STR, true, "Pending, Running, Succeeded or Failed"},
    {NULL, 0, false, NULL},
};

static int load_phase(struct loader *l, struct step *st, const json_t *value, const char *path,
                      int line)
{
    static const char *const phases[] = {"Pending", "Running", "Succeeded", "Failed"};
    struct step_k8s *k = step_k8s_data(st);
    int rc = loader_check_fields(l, value, line, path, phase_fields);
    if (rc < 0)
        return rc;
    if ((rc = load_pod_target(l, k, value, path, line)) < 0)
        return rc;
    k->phase = loader_get_string(value, "phase");
    bool known = false;
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
        known |= !strcmp(k->phase, phases[i]);
    if (!known)
        return loader_fail(l, loader_line_of_key(l, value, "phase", line), path,
                           "phase: expected Pending, Running, Succeeded or Failed, got \"%s\"",
                           k->phase);
    snprintf(st->label, sizeof(st->label), "k8s phase %s %s", loader_get_string(value, "pod"),
             k->phase);
    return 0;
}

static int run_phase(struct run_ctx *ctx, const struct step_k8s *k, char *detail, size_t size,
                     struct error *err)
{
    const struct step_k8s_target *t = &k->targets[0];
    int rc = k8s_control_pod_phase(&ctx->fakes, t->namespace, t->name, k->phase, err);
    if (rc == 0)
        snprintf(detail, size, "pod %s/%s is %s", t->namespace, t->name, k->phase);
    return rc;
}

/* ---- fault ---- */

/* The keys of the fakes' fault injector (fakes/fault.h) that make sense for the API. */
static const struct field fault_fields[] = {
    {"status", FIELD_INT, false, "an HTTP status every API request gets, e.g. 500"},
    {"times", FIELD_INT, false, "how many requests it applies to (omit: until cleared)"},
    {"cut_watches", FIELD_BOOL, false, "true to drop every open watch at once"},
    {"latency_ms", FIELD_INT, false, "a delay in milliseconds before answering"},
    {"reset", FIELD_BOOL, false, "true to drop connections without answering"},
    {NULL, 0, false, NULL},
};

static int load_fault(struct loader *l, struct step *st, const json_t *value, const char *path,
                      int line)
{
    struct step_k8s *k = step_k8s_data(st);
    if (json_is_string(value) && !strcmp(json_string_value(value), "clear")) {
        k->fault = NULL;
        snprintf(st->label, sizeof(st->label), "k8s fault clear");
        return 0;
    }
    int rc = loader_check_fields(l, value, line, path, fault_fields);
    if (rc < 0)
        return rc;
    const json_t *status = json_object_get(value, "status");
    if (status && (json_integer_value(status) < 400 || json_integer_value(status) > 599))
        return loader_fail(l, loader_line_of_key(l, value, "status", line), path,
                           "status: expected an error status, 400-599");
    const json_t *times = json_object_get(value, "times");
    if (times && json_integer_value(times) < 1)
        return loader_fail(l, loader_line_of_key(l, value, "times", line), path,
                           "times: expected at least 1 (omit it for \"until cleared\")");
    if (!status && !loader_get_bool(value, "cut_watches", false) &&
        !loader_get_bool(value, "reset", false) && !json_object_get(value, "latency_ms"))
        return loader_fail(l, line, path,
                           "a fault needs status, cut_watches, reset or latency_ms, e.g. "
                           "{status: 500, cut_watches: true}");
    k->fault = value;
    char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(st->label, sizeof(st->label), "k8s fault %s", text ? text : "");
    free(text);
    return 0;
}

static int run_fault(struct run_ctx *ctx, const struct step_k8s *k, char *detail, size_t size,
                     struct error *err)
{
    json_t *answer = NULL;
    int rc = k8s_control_fault(&ctx->fakes, k->fault, &answer, err);
    if (rc == 0) {
        char *text = answer ? json_dumps(answer, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        snprintf(detail, size, "%s: %s", k->fault ? "set" : "cleared", text ? text : "");
        free(text);
    }
    json_decref(answer);
    return rc;
}

/* ---- the table of actions ---- */

static const struct k8s_action actions[] = {
    {"apply", "{apply: inputs/k8s/web.yaml}", load_apply, run_apply},
    {"delete", "{delete: {kind: Pod, namespace: default, name: web}}", load_delete, run_delete},
    {"patch", "{patch: {kind: Pod, namespace: default, name: web, merge: {...}}}", load_patch,
     run_patch},
    {"relabel", "{relabel: {pod: default/web, labels: {tier: web}}}", load_relabel, run_patch},
    {"call", "{call: {verb: list, resource: pods}}", load_call, run_call},
    {"phase", "{phase: {pod: default/web, phase: Succeeded}}", load_phase, run_phase},
    {"fault", "{fault: {status: 500, cut_watches: true}} or {fault: clear}", load_fault, run_fault},
};

#define ACTION_COUNT (sizeof(actions) / sizeof(actions[0]))

const char *step_k8s_action_name(const struct step_k8s *k)
{
    return k->action ? k->action->name : "";
}

static int load_k8s_step(struct loader *l, struct step *st, const json_t *body, const char *path,
                         int line)
{
    struct step_k8s *k = step_k8s_data(st);
    char names[128];
    size_t n = 0;
    for (size_t i = 0; i < ACTION_COUNT; i++)
        n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "", actions[i].name);
    if (!json_is_object(body) || json_object_size(body) != 1)
        return loader_fail(l, line, path, "expected one action (%s), e.g. %s; got %s", names,
                           actions[0].example,
                           json_is_object(body) ? "a mapping with another number of keys"
                                                : loader_type_name(body));
    const char *key = json_object_iter_key(json_object_iter((json_t *)body));
    int kline = loader_line_of_key(l, body, key, line);
    for (size_t i = 0; i < ACTION_COUNT; i++) {
        if (strcmp(actions[i].name, key) != 0)
            continue;
        char sub[600];
        loader_join(sub, sizeof(sub), path, key);
        k->action = &actions[i];
        k->expect_items = -1;
        return actions[i].load(l, st, json_object_get(body, key), sub, kline);
    }
    return loader_fail(l, kline, path, "unknown action \"%s\" (expected one of: %s)", key, names);
}

static int run_k8s(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                   struct error *err)
{
    const struct step_k8s *k = step_k8s_data(st);
    return k->action->run(ctx, k, detail, size, err);
}

static void free_k8s(struct step *st)
{
    json_decref(step_k8s_data(st)->owned);
}

const struct step_kind_desc step_k8s_kind = {
    .name = "k8s",
    .data_size = sizeof(struct step_k8s),
    /* A cluster changes while a collector restarts: what its informers relist afterwards. */
    .while_stopped = true,
    .load = load_k8s_step,
    .run = run_k8s,
    .free = free_k8s,
};
