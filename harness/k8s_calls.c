/*
 * k8s_calls.c - audit events to calls, the calls view, denied counts and unused grants (see
 * k8s_calls.h).
 *
 * The rule matching below follows the RBAC evaluation of kubernetes
 * pkg/apis/rbac/v1/evaluation_helpers.go (VerbMatches, APIGroupMatches, ResourceMatches with
 * `*`, `resource/subresource` and `*` + `/subresource`, ResourceNameMatches,
 * NonResourceURLMatches with a trailing `*`), as fakes/k8s_rbac.c does for the fake's decisions;
 * here it only attributes calls the API server already allowed to the rule that allowed them.
 */
#include "k8s_calls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"

#define SA_USER_PREFIX "system:serviceaccount:"
#define RBAC_GROUP "rbac.authorization.k8s.io"
#define ALLOWED_PREFIX "RBAC: allowed by "

/* ---- one event ---- */

static const char *string_at(const json_t *object, const char *key)
{
    const char *s = json_string_value(json_object_get(object, key));
    return s ? s : "";
}

static int set_string(json_t *object, const char *key, const char *value)
{
    return json_object_set_new(object, key, json_string(value));
}

/* Reads a Go-quoted name ("..." with \" and \\ escapes) at *p into out; advances *p past it. */
static bool read_quoted(const char **p, char *out, size_t size)
{
    const char *s = *p;
    size_t n = 0;
    if (*s++ != '"')
        return false;
    while (*s && *s != '"') {
        if (*s == '\\' && s[1])
            s++;
        if (n + 1 < size)
            out[n++] = *s;
        s++;
    }
    if (*s != '"')
        return false;
    out[n] = '\0';
    *p = s + 1;
    return true;
}

/* Reads a word up to the next space at *p into out; advances *p past the space. */
static bool read_word(const char **p, char *out, size_t size)
{
    size_t n = strcspn(*p, " ");
    if (n == 0 || n >= size || (*p)[n] != ' ')
        return false;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n + 1;
    return true;
}

/* `RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to ServiceAccount "sa/ns"` ->
 * {"binding": "ClusterRoleBinding b", "role": "ClusterRole r"}; a reason in any other form is
 * kept whole as {"reason": ...}. NULL on ENOMEM. */
static json_t *allowed_by(const char *reason)
{
    char binding_kind[64], binding[600], role_kind[64], role[600], text[700];
    const char *p = reason;
    bool parsed = !strncmp(p, ALLOWED_PREFIX, strlen(ALLOWED_PREFIX));
    if (parsed) {
        p += strlen(ALLOWED_PREFIX);
        parsed = read_word(&p, binding_kind, sizeof(binding_kind)) &&
                 read_quoted(&p, binding, sizeof(binding)) && !strncmp(p, " of ", 4);
    }
    if (parsed) {
        p += 4;
        parsed = read_word(&p, role_kind, sizeof(role_kind)) && read_quoted(&p, role, sizeof(role));
    }
    if (!parsed)
        return json_pack("{s:s}", "reason", reason);
    json_t *out = json_object();
    snprintf(text, sizeof(text), "%s %s", binding_kind, binding);
    if (out && set_string(out, "binding", text) < 0)
        goto fail;
    snprintf(text, sizeof(text), "%s %s", role_kind, role);
    if (out && set_string(out, "role", text) < 0)
        goto fail;
    return out;
fail:
    json_decref(out);
    return NULL;
}

json_t *k8s_calls_normalise(const json_t *event, const char **user)
{
    *user = NULL;
    const char *verb = json_string_value(json_object_get(event, "verb"));
    if (!json_is_object(event) || !verb || !*verb)
        return NULL;
    *user = string_at(json_object_get(event, "user"), "username");
    if (!**user)
        *user = K8S_CALLS_UNAUTHENTICATED;
    json_t *call = json_object();
    int rc = !call || set_string(call, "verb", verb) < 0;
    const json_t *ref = json_object_get(event, "objectRef");
    if (ref) {
        char resource[600];
        const char *group = string_at(ref, "apiGroup");
        const char *namespace = string_at(ref, "namespace");
        snprintf(resource, sizeof(resource), "%s%s%s", string_at(ref, "resource"),
                 *group ? "." : "", group);
        rc = rc || set_string(call, "resource", resource) < 0;
        if (*string_at(ref, "subresource"))
            rc = rc || set_string(call, "subresource", string_at(ref, "subresource")) < 0;
        rc = rc || set_string(call, "scope", *namespace ? "namespace" : "cluster") < 0;
        if (*namespace)
            rc = rc || set_string(call, "namespace", namespace) < 0;
        if (*string_at(ref, "name"))
            rc = rc || set_string(call, "name", string_at(ref, "name")) < 0;
    } else {
        /* A non-resource request (/api, /apis/apps/v1, /version): its path, no query. */
        const char *uri = string_at(event, "requestURI");
        json_t *path = json_stringn(uri, strcspn(uri, "?"));
        rc = rc || json_object_set_new(call, "path", path) < 0;
    }
    /* The fake's own keys for what upstream keeps only inside requestURI (k8s_audit.h). */
    if (*string_at(event, "labelSelector"))
        rc = rc || set_string(call, "label_selector", string_at(event, "labelSelector")) < 0;
    if (*string_at(event, "fieldSelector"))
        rc = rc || set_string(call, "field_selector", string_at(event, "fieldSelector")) < 0;
    const json_t *annotations = json_object_get(event, "annotations");
    const char *decision = string_at(annotations, "authorization.k8s.io/decision");
    const char *reason = string_at(annotations, "authorization.k8s.io/reason");
    if (*decision)
        rc = rc || set_string(call, "decision", decision) < 0;
    if (!strcmp(decision, "allow") && *reason)
        rc = rc || json_object_set_new(call, "allowed_by", allowed_by(reason)) < 0;
    else if (*reason)
        rc = rc || set_string(call, "reason", reason) < 0;
    const json_t *code = json_object_get(json_object_get(event, "responseStatus"), "code");
    if (json_is_integer(code))
        rc = rc || json_object_set_new(call, "code", json_integer(json_integer_value(code))) < 0;
    if (rc) {
        json_decref(call);
        return NULL;
    }
    return call;
}

/* ---- the view ---- */

json_t *k8s_calls_view(const json_t *audit)
{
    json_t *view = json_object();
    size_t i;
    const json_t *event;
    if (!view)
        return NULL;
    json_array_foreach((json_t *)audit, i, event)
    {
        const char *user;
        json_t *call = k8s_calls_normalise(event, &user);
        if (!call && !user)
            continue; /* not a call */
        if (!call)
            goto fail;
        if (!strcmp(user, K8S_CALLS_ADMIN_USER)) {
            json_decref(call);
            continue;
        }
        json_t *calls = json_object_get(view, user);
        if (!calls && json_object_set_new(view, user, calls = json_array()) < 0)
            calls = NULL;
        if (!calls || json_array_append_new(calls, call) < 0)
            goto fail;
    }
    const char *user;
    json_t *calls;
    json_object_foreach(view, user, calls)
    {
        if (golden_sort_array(calls, true) < 0)
            goto fail;
    }
    return view;
fail:
    json_decref(view);
    return NULL;
}

int k8s_calls_user_name(const char *identity, char *out, size_t size)
{
    int n;
    const char *slash = strchr(identity, '/');
    if (strchr(identity, ':'))
        n = snprintf(out, size, "%s", identity);
    else if (slash && slash != identity && slash[1] && !strchr(slash + 1, '/'))
        n = snprintf(out, size, SA_USER_PREFIX "%.*s:%s", (int)(slash - identity), identity,
                     slash + 1);
    else
        return -EINVAL;
    return n > 0 && (size_t)n < size ? 0 : -EINVAL;
}

size_t k8s_calls_denied(const json_t *view, const char *user)
{
    size_t n = 0, i;
    const json_t *call;
    json_array_foreach(json_object_get(view, user), i, call)
    {
        n += !strcmp(string_at(call, "decision"), "forbid");
    }
    return n;
}

size_t k8s_calls_count(const json_t *view, const char *user)
{
    return json_array_size(json_object_get(view, user));
}

/* ---- rules ---- */

static const json_t *list_at(const json_t *object, const char *key)
{
    const json_t *list = json_object_get(object, key);
    return json_is_array(list) ? list : NULL;
}

static bool list_has(const json_t *list, const char *value, const char *wildcard)
{
    size_t i;
    const json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *s = json_string_value(item);
        if (s && (!strcmp(s, value) || (wildcard && !strcmp(s, wildcard))))
            return true;
    }
    return false;
}

/* One entry of a rule's `resources` against a resource and subresource ("" = none). */
static bool resource_entry_matches(const char *entry, const char *resource, const char *sub)
{
    size_t len = strlen(resource);
    if (!strcmp(entry, "*"))
        return true;
    if (!*sub)
        return !strcmp(entry, resource);
    if (!strncmp(entry, resource, len) && entry[len] == '/' && !strcmp(entry + len + 1, sub))
        return true;
    return entry[0] == '*' && entry[1] == '/' && !strcmp(entry + 2, sub);
}

static bool url_entry_matches(const char *entry, const char *path)
{
    size_t len = strlen(entry);
    if (!strcmp(entry, "*") || !strcmp(entry, path))
        return true;
    if (len == 0 || entry[len - 1] != '*')
        return false;
    while (len > 0 && entry[len - 1] == '*')
        len--;
    return !strncmp(entry, path, len);
}

/* A call's resource "replicasets.apps" split into "replicasets" and "apps" (resource names
 * have no dots; group names do). */
struct call_target {
    char resource[256];
    const char *group;
    const char *subresource;
    const char *name;
    const char *path; /* NULL for a resource request */
    const char *verb;
};

static void call_target_of(const json_t *call, struct call_target *t)
{
    const char *resource = string_at(call, "resource");
    size_t n = strcspn(resource, ".");
    snprintf(t->resource, sizeof(t->resource), "%.*s", (int)n, resource);
    t->group = resource[n] ? resource + n + 1 : "";
    t->subresource = string_at(call, "subresource");
    t->name = string_at(call, "name");
    t->path = json_object_get(call, "path") ? string_at(call, "path") : NULL;
    t->verb = string_at(call, "verb");
}

static bool rule_allows(const json_t *rule, const struct call_target *t)
{
    if (!list_has(list_at(rule, "verbs"), t->verb, "*"))
        return false;
    size_t i;
    const json_t *item;
    if (t->path) {
        json_array_foreach(list_at(rule, "nonResourceURLs"), i, item)
        {
            if (json_is_string(item) && url_entry_matches(json_string_value(item), t->path))
                return true;
        }
        return false;
    }
    if (!list_has(list_at(rule, "apiGroups"), t->group, "*"))
        return false;
    bool resource = false;
    json_array_foreach(list_at(rule, "resources"), i, item)
    {
        if (json_is_string(item) &&
            resource_entry_matches(json_string_value(item), t->resource, t->subresource))
            resource = true;
    }
    const json_t *names = list_at(rule, "resourceNames");
    return resource && (json_array_size(names) == 0 || list_has(names, t->name, NULL));
}

/* ---- bindings that name a user ---- */

/* Whether a subject of a binding in `binding_namespace` ("" for a ClusterRoleBinding) is
 * `user`: the ServiceAccount (namespace defaulting to the binding's), the User, or one of the
 * groups the authenticator gives a service account or any authenticated user. */
static bool subject_is(const json_t *subject, const char *user, const char *binding_namespace)
{
    const char *kind = string_at(subject, "kind");
    const char *name = string_at(subject, "name");
    char expected[K8S_CALLS_USER_MAX];
    if (!strcmp(kind, "ServiceAccount")) {
        const char *ns = string_at(subject, "namespace");
        snprintf(expected, sizeof(expected), SA_USER_PREFIX "%s:%s", *ns ? ns : binding_namespace,
                 name);
        return !strcmp(expected, user);
    }
    if (!strcmp(kind, "User"))
        return !strcmp(name, user);
    if (strcmp(kind, "Group") != 0 || !strcmp(user, K8S_CALLS_UNAUTHENTICATED))
        return false;
    if (!strcmp(name, "system:authenticated"))
        return true;
    if (strncmp(user, SA_USER_PREFIX, strlen(SA_USER_PREFIX)) != 0)
        return false;
    const char *ns = user + strlen(SA_USER_PREFIX);
    size_t ns_len = strcspn(ns, ":");
    snprintf(expected, sizeof(expected), "system:serviceaccounts:%.*s", (int)ns_len, ns);
    return !strcmp(name, "system:serviceaccounts") || !strcmp(name, expected);
}

static bool binding_names(const json_t *binding, const char *user, const char *namespace)
{
    size_t i;
    const json_t *subject;
    json_array_foreach(list_at(binding, "subjects"), i, subject)
    {
        if (subject_is(subject, user, namespace))
            return true;
    }
    return false;
}

static const json_t *find_object(const json_t *objects, const char *type, const char *namespace,
                                 const char *name)
{
    size_t i;
    const json_t *object;
    json_array_foreach(json_object_get(objects, type), i, object)
    {
        const json_t *meta = json_object_get(object, "metadata");
        if (!strcmp(string_at(meta, "name"), name) &&
            !strcmp(string_at(meta, "namespace"), namespace))
            return object;
    }
    return NULL;
}

/* ---- pairs of a rule ---- */

/* "list replicasets.apps", "get deployments.apps/scale", "get /healthz". */
static void pair_label(char *out, size_t size, const char *verb, const char *group,
                       const char *resource_entry)
{
    if (!group) {
        snprintf(out, size, "%s %s", verb, resource_entry);
        return;
    }
    size_t n = strcspn(resource_entry, "/");
    snprintf(out, size, "%s %.*s%s%s%s", verb, (int)n, resource_entry, *group ? "." : "", group,
             resource_entry + n);
}

/* Whether `call` (attributed to the rule) falls within the pair verb x group x resource entry
 * (group NULL: a nonResourceURLs entry). */
static bool pair_used_by(const struct call_target *t, const char *verb, const char *group,
                         const char *entry)
{
    if (strcmp(verb, "*") != 0 && strcmp(verb, t->verb) != 0)
        return false;
    if (!group)
        return t->path && url_entry_matches(entry, t->path);
    return !t->path && (!strcmp(group, "*") || !strcmp(group, t->group)) &&
           resource_entry_matches(entry, t->resource, t->subresource);
}

/* The calls of `calls` that `binding_label`/`role_label` allowed and whose first allowing rule
 * of `rules` is rule `index`. */
static bool call_attributed(const json_t *call, const char *binding_label, const char *role_label,
                            const json_t *rules, size_t index, struct call_target *t)
{
    const json_t *by = json_object_get(call, "allowed_by");
    if (strcmp(string_at(call, "decision"), "allow") != 0 ||
        strcmp(string_at(by, "binding"), binding_label) != 0 ||
        strcmp(string_at(by, "role"), role_label) != 0)
        return false;
    call_target_of(call, t);
    for (size_t i = 0; i < json_array_size(rules); i++)
        if (rule_allows(json_array_get(rules, i), t))
            return i == index;
    return false;
}

/* Appends the entry of rule `index` when some pair of it is unused. */
static int add_rule_entry(json_t *out, const json_t *calls, const char *binding_label,
                          const char *role_label, const json_t *rules, size_t index)
{
    const json_t *rule = json_array_get(rules, index);
    json_t *used = json_array(), *unused = json_array();
    int rc = !used || !unused ? -ENOMEM : 0;
    const json_t *verbs = list_at(rule, "verbs");
    const json_t *urls = list_at(rule, "nonResourceURLs");
    const json_t *groups = list_at(rule, "apiGroups");
    const json_t *entries = urls ? urls : list_at(rule, "resources");
    size_t vi, gi, ei;
    const json_t *verb, *group, *entry;
    json_array_foreach(verbs, vi, verb)
    {
        /* Resource rules: every group x resource; nonResourceURLs: one pass, no group. */
        size_t group_count = urls ? 1 : json_array_size(groups);
        for (gi = 0; gi < group_count && rc == 0; gi++) {
            group = urls ? NULL : json_array_get(groups, gi);
            json_array_foreach(entries, ei, entry)
            {
                const char *v = json_string_value(verb), *e = json_string_value(entry);
                const char *g = group ? json_string_value(group) : NULL;
                if (!v || !e || (group && !g))
                    continue;
                bool is_used = false;
                size_t ci;
                const json_t *call;
                json_array_foreach((json_t *)calls, ci, call)
                {
                    struct call_target t;
                    if (call_attributed(call, binding_label, role_label, rules, index, &t) &&
                        pair_used_by(&t, v, g, e)) {
                        is_used = true;
                        break;
                    }
                }
                char label[600];
                pair_label(label, sizeof(label), v, g, e);
                if (json_array_append_new(is_used ? used : unused, json_string(label)) < 0)
                    rc = -ENOMEM;
            }
        }
    }
    if (rc == 0 && json_array_size(unused)) {
        json_t *granted = json_object();
        static const char *const keys[] = {"apiGroups", "resources", "resourceNames",
                                           "nonResourceURLs", "verbs"};
        for (size_t k = 0; granted && k < sizeof(keys) / sizeof(keys[0]); k++)
            if (json_object_get(rule, keys[k]))
                json_object_set(granted, keys[k], json_object_get(rule, keys[k]));
        json_t *item = granted
                           ? json_pack("{s:s, s:s, s:I, s:o, s:O, s:O}", "binding", binding_label,
                                       "role", role_label, "rule", (json_int_t)index, "granted",
                                       granted, "used", used, "unused", unused)
                           : NULL;
        if (!item || json_array_append_new(out, item) < 0)
            rc = -ENOMEM;
    }
    json_decref(used);
    json_decref(unused);
    return rc;
}

/* The entries of one binding (a ClusterRoleBinding when `cluster`). */
static int add_binding(json_t *out, const json_t *objects, const json_t *calls,
                       const json_t *binding, bool cluster)
{
    const json_t *meta = json_object_get(binding, "metadata");
    const char *name = string_at(meta, "name");
    const char *namespace = cluster ? "" : string_at(meta, "namespace");
    const json_t *ref = json_object_get(binding, "roleRef");
    const char *role_kind = string_at(ref, "kind");
    const char *role_name = string_at(ref, "name");
    char binding_label[600], role_label[600];
    /* As the authorizer's reason writes them (fakes/k8s_rbac.c write_allow_reason). */
    snprintf(binding_label, sizeof(binding_label), "%s %s%s%s",
             cluster ? "ClusterRoleBinding" : "RoleBinding", name, cluster ? "" : "/", namespace);
    snprintf(role_label, sizeof(role_label), "%s %s", role_kind, role_name);
    const json_t *role = !strcmp(role_kind, "ClusterRole")
                             ? find_object(objects, "clusterroles." RBAC_GROUP, "", role_name)
                         : !strcmp(role_kind, "Role")
                             ? find_object(objects, "roles." RBAC_GROUP, namespace, role_name)
                             : NULL;
    if (!role) {
        json_t *item = json_pack("{s:s, s:s, s:b}", "binding", binding_label, "role", role_label,
                                 "missing", 1);
        return item && json_array_append_new(out, item) == 0 ? 0 : -ENOMEM;
    }
    const json_t *rules = list_at(role, "rules");
    for (size_t i = 0; i < json_array_size(rules); i++) {
        int rc = add_rule_entry(out, calls, binding_label, role_label, rules, i);
        if (rc < 0)
            return rc;
    }
    return 0;
}

json_t *k8s_calls_unused_grants(const json_t *objects, const json_t *view, const char *user)
{
    static const struct {
        const char *type;
        bool cluster;
    } binding_types[] = {{"clusterrolebindings." RBAC_GROUP, true},
                         {"rolebindings." RBAC_GROUP, false}};
    json_t *out = json_array();
    const json_t *calls = json_object_get(view, user);
    for (size_t t = 0; out && t < sizeof(binding_types) / sizeof(binding_types[0]); t++) {
        size_t i;
        const json_t *binding;
        json_array_foreach(json_object_get(objects, binding_types[t].type), i, binding)
        {
            const json_t *meta = json_object_get(binding, "metadata");
            /* The bootstrap roles every cluster has (discovery, basic-user ...): not the team's
             * grants, and not something a review of the collector's RBAC can change. */
            if (!strncmp(string_at(meta, "name"), "system:", 7) ||
                !binding_names(binding, user,
                               binding_types[t].cluster ? "" : string_at(meta, "namespace")))
                continue;
            if (add_binding(out, objects, calls, binding, binding_types[t].cluster) < 0) {
                json_decref(out);
                return NULL;
            }
        }
    }
    return out;
}

void k8s_calls_describe_unused(const json_t *entry, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "%s (%s", string_at(entry, "role"),
                                string_at(entry, "binding"));
    if (json_is_true(json_object_get(entry, "missing"))) {
        snprintf(out + (n < size ? n : size - 1), n < size ? size - n : 1,
                 "): the role does not exist");
        return;
    }
    n += (size_t)snprintf(
        out + (n < size ? n : size - 1), n < size ? size - n : 1,
        ") rule %" JSON_INTEGER_FORMAT "%s:", json_integer_value(json_object_get(entry, "rule")),
        json_array_size(json_object_get(entry, "used")) ? "" : ", never used");
    size_t i;
    const json_t *pair;
    json_array_foreach(json_object_get(entry, "unused"), i, pair)
    {
        if (n >= size)
            break;
        n += (size_t)snprintf(out + n, size - n, "%s %s", i ? "," : "", json_string_value(pair));
    }
}
