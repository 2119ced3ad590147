/*
 * k8s_rbac.c - the RBAC authorizer of the fake Kubernetes API (pipeline.md §10), checked against
 * kubernetes/kubernetes as stored in the search index (newest stored version of each file):
 *   plugin/pkg/auth/authorizer/rbac/rbac.go          the visitor: first allowing rule wins,
 *     "RBAC: allowed by <source>", deny reason "RBAC: <aggregate of resolution errors>"
 *   pkg/registry/rbac/validation/rule.go              VisitRulesFor (ClusterRoleBindings, then
 *     the RoleBindings of the request's namespace), appliesTo (first subject that applies),
 *     describeSubject and the binding describers, GetRoleReferenceRules and its errors
 *   pkg/apis/rbac/v1/evaluation_helpers.go            verb, API group, resource (`*`,
 *     `resource/subresource`, `*` + `/subresource`), resourceNames and nonResourceURLs matches
 *   apiserver/pkg/authentication/serviceaccount/util.go  MatchesUsername, the SA groups
 *   apimachinery/pkg/util/errors/errors.go            aggregate Error(): one message bare,
 *     several de-duplicated, joined with ", " and bracketed
 *   apimachinery/pkg/api/errors/errors.go             NewForbidden: message and details
 *   apiserver/pkg/endpoints/handlers/responsewriters/errors.go  forbiddenMessage, the & < >
 *     sanitizer, and fmt.Errorf(errMsg) (the message is used as a format string: see
 *     put_go_errorf)
 *   pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go  the rules an
 *     aggregated ClusterRole gets: per selector, the matching ClusterRoles sorted by name (the
 *     role itself skipped), their rules appended unless an equal rule is already there
 *
 * Choices where upstream gives no single answer:
 * - Order: upstream lists bindings from an informer cache (a Go map, so no fixed order); here
 *   they are visited in array order, ClusterRoleBindings before RoleBindings as upstream does.
 *   The decision is the same; only which of several allowing bindings is reported may differ.
 * - Aggregated ClusterRoles are evaluated at check time from the stored ClusterRoles' `rules`
 *   (one level: an aggregated role that feeds another contributes its stored rules, where
 *   upstream's controller reaches the fixed point over several syncs). A selector that does not
 *   parse makes the controller give up and leave the role as it is: here the stored rules are
 *   used. Label keys and values are not validated as LabelSelectorAsSelector does.
 * - Malformed objects: upstream never holds one (decoding or validation refuses it), so its
 *   evaluation has no rule for them. Here a binding without roleRef (or a roleRef that is not
 *   an object) has kind "" and gets upstream's `unsupported role reference kind: ""` when it
 *   names the user; a missing roleRef.name looks up "" and gets "not found"; a rule, subject or
 *   list element of the wrong JSON type is skipped (it matches nothing); a non-array list is
 *   empty. A Role without a namespace is found by no RoleBinding.
 * - Go's %q marks non-printable runes with \u escapes; which runes are printable is
 *   approximated (control, format, separator and private-use ranges; unassigned code points
 *   are printed as they are).
 *
 * Not done here: impersonation (the front does it, k8s_api.c), the Node authorizer and other
 * authorizers in the chain, the privilege-escalation checks on writes to RBAC objects,
 * SelfSubjectRulesReview.
 */
#include "k8s_rbac.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_util.h"
#include "strbuf.h"

#define SA_USER_PREFIX "system:serviceaccount:"
#define SA_GROUP_PREFIX "system:serviceaccounts:"
/* A 403 message past this is refused (NULL), like any other out-of-memory. */
#define FORBIDDEN_MESSAGE_MAX (1024 * 1024)

/* ---- text sinks: a fixed buffer (the decision's reason) or a strbuf (the 403 message) ---- */

struct sink {
    void (*add)(struct sink *s, const char *data, size_t len);
};

struct fixed_sink {
    struct sink base;
    char *buf;
    size_t cap; /* bytes of buf, NUL included */
    size_t len;
    bool truncated;
};

struct strbuf_sink {
    struct sink base;
    struct strbuf *b;
};

static void fixed_add(struct sink *s, const char *data, size_t len)
{
    struct fixed_sink *f = (struct fixed_sink *)s;
    size_t room = f->cap - 1 - f->len;
    if (len > room) {
        len = room;
        f->truncated = true;
    }
    memcpy(f->buf + f->len, data, len);
    f->len += len;
    f->buf[f->len] = '\0';
}

static void fixed_init(struct fixed_sink *f, char *buf, size_t cap)
{
    f->base.add = fixed_add;
    f->buf = buf;
    f->cap = cap;
    f->len = 0;
    f->truncated = false;
    buf[0] = '\0';
}

static void strbuf_sink_add(struct sink *s, const char *data, size_t len)
{
    strbuf_add(((struct strbuf_sink *)s)->b, data, len);
}

static void put(struct sink *s, const char *text)
{
    s->add(s, text, strlen(text));
}

static void emit_to_sink(void *ctx, const char *data, size_t len)
{
    struct sink *s = ctx;
    s->add(s, data, len);
}

/* The inside of Go's %q of `text`, and the whole of it. */
static void put_escaped(struct sink *s, const char *text)
{
    go_escape_each(text, strlen(text), emit_to_sink, s);
}

static void put_quoted(struct sink *s, const char *text)
{
    go_quote_each(text, strlen(text), emit_to_sink, s);
}

/* ---- reading the objects ---- */

/* The string at `key`, or NULL when absent or not a string. */
static const char *string_at(const json_t *object, const char *key)
{
    return json_string_value(json_object_get(object, key));
}

/* A string field read as Go decodes it into a string: absent (or, here, malformed) = "". */
static const char *string_or_empty(const json_t *object, const char *key)
{
    const char *s = string_at(object, key);
    return s ? s : "";
}

static const char *meta_string(const json_t *object, const char *key)
{
    return string_or_empty(json_object_get(object, "metadata"), key);
}

static bool is_kind(const json_t *object, const char *kind)
{
    const char *k = string_at(object, "kind");
    return k && strcmp(k, kind) == 0;
}

/* Whether JSON string `s` equals value[0..len) (length-aware: a stored string may hold NULs). */
static bool json_string_is(const json_t *s, const char *value, size_t len)
{
    return json_is_string(s) && json_string_length(s) == len &&
           memcmp(json_string_value(s), value, len) == 0;
}

/* A list field as an array; absent or not an array = empty (Go would refuse the object). */
static const json_t *list_at(const json_t *rule, const char *key)
{
    const json_t *list = json_object_get(rule, key);
    return json_is_array(list) ? list : NULL;
}

/* Whether `list` holds `value` or, when `all` is not NULL, the wildcard `all`. */
static bool list_has(const json_t *list, const char *value, const char *all)
{
    size_t len = strlen(value), all_len = all ? strlen(all) : 0;
    size_t i;
    const json_t *item;
    json_array_foreach(list, i, item)
    {
        if ((all && json_string_is(item, all, all_len)) || json_string_is(item, value, len))
            return true;
    }
    return false;
}

/* ---- rule matching (evaluation_helpers.go) ---- */

static bool resource_matches(const json_t *resources, const char *resource, const char *sub)
{
    size_t resource_len = strlen(resource), sub_len = strlen(sub);
    size_t i;
    const json_t *item;
    json_array_foreach(resources, i, item)
    {
        if (!json_is_string(item))
            continue;
        const char *r = json_string_value(item);
        size_t r_len = json_string_length(item);
        if (r_len == 1 && r[0] == '*')
            return true;
        if (sub_len == 0) {
            if (r_len == resource_len && memcmp(r, resource, r_len) == 0)
                return true;
            continue;
        }
        /* "resource/subresource" */
        if (r_len == resource_len + 1 + sub_len && memcmp(r, resource, resource_len) == 0 &&
            r[resource_len] == '/' && memcmp(r + resource_len + 1, sub, sub_len) == 0)
            return true;
        /* the wildcard resource with "/subresource" */
        if (r_len == sub_len + 2 && r[0] == '*' && r[1] == '/' && memcmp(r + 2, sub, sub_len) == 0)
            return true;
    }
    return false;
}

/* An empty (or null) resourceNames allows any name; one of the wrong JSON type allows none, so
 * that a malformed rule never grants more than a well-formed one. */
static bool resource_name_matches(const json_t *rule, const char *name)
{
    const json_t *names = json_object_get(rule, "resourceNames");
    if (!names || json_is_null(names))
        return true;
    if (!json_is_array(names))
        return false;
    return json_array_size(names) == 0 || list_has(names, name, NULL);
}

static bool non_resource_url_matches(const json_t *urls, const char *path)
{
    size_t path_len = strlen(path);
    size_t i;
    const json_t *item;
    json_array_foreach(urls, i, item)
    {
        if (!json_is_string(item))
            continue;
        const char *u = json_string_value(item);
        size_t u_len = json_string_length(item);
        if ((u_len == 1 && u[0] == '*') || (u_len == path_len && memcmp(u, path, u_len) == 0))
            return true;
        if (u_len > 0 && u[u_len - 1] == '*') {
            size_t prefix = u_len; /* strings.TrimRight(url, "*"): every trailing star */
            while (prefix > 0 && u[prefix - 1] == '*')
                prefix--;
            if (path_len >= prefix && memcmp(u, path, prefix) == 0)
                return true;
        }
    }
    return false;
}

static bool rule_allows(const json_t *rule, const struct k8s_rbac_attributes *a)
{
    if (!json_is_object(rule))
        return false;
    if (!list_has(list_at(rule, "verbs"), a->verb, "*"))
        return false;
    if (!a->resource_request)
        return non_resource_url_matches(list_at(rule, "nonResourceURLs"), a->path);
    return list_has(list_at(rule, "apiGroups"), a->api_group, "*") &&
           resource_matches(list_at(rule, "resources"), a->resource, a->subresource) &&
           resource_name_matches(rule, a->name);
}

/* Rules equal as the aggregation controller compares them (Semantic.DeepEqual: the five lists,
 * in order, an absent list equal to an empty one). */
static bool rule_equal(const json_t *a, const json_t *b)
{
    static const char *const lists[] = {"verbs", "apiGroups", "resources", "resourceNames",
                                        "nonResourceURLs"};
    if (!json_is_object(a) || !json_is_object(b))
        return false;
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        const json_t *la = list_at(a, lists[i]), *lb = list_at(b, lists[i]);
        if (json_array_size(la) == 0 && json_array_size(lb) == 0)
            continue;
        if (!la || !lb || !json_equal(la, lb))
            return false;
    }
    return true;
}

/* ---- label selectors (aggregationRule.clusterRoleSelectors) ---- */

/* Sets *match for `labels` (an object, or NULL = no labels). Returns 0, or -EINVAL for a
 * selector LabelSelectorAsSelector refuses (an unknown operator, In/NotIn without values,
 * Exists/DoesNotExist with values, a wrong JSON type). A null selector selects everything, as
 * Go's zero LabelSelector does. */
static int selector_check(const json_t *selector, const json_t *labels, bool *match)
{
    *match = true;
    if (json_is_null(selector))
        return 0;
    if (!json_is_object(selector))
        return -EINVAL;
    const json_t *match_labels = json_object_get(selector, "matchLabels");
    const json_t *expressions = json_object_get(selector, "matchExpressions");
    if ((match_labels && !json_is_object(match_labels) && !json_is_null(match_labels)) ||
        (expressions && !json_is_array(expressions) && !json_is_null(expressions)))
        return -EINVAL;
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)match_labels, key, value)
    {
        if (!json_is_string(value))
            return -EINVAL;
        if (!json_equal(json_object_get(labels, key), (json_t *)value))
            *match = false;
    }
    size_t i;
    const json_t *expression;
    json_array_foreach(expressions, i, expression)
    {
        const char *label = string_at(expression, "key");
        const char *op = string_at(expression, "operator");
        const json_t *values = json_object_get(expression, "values");
        if (!label || !op || (values && !json_is_array(values) && !json_is_null(values)))
            return -EINVAL;
        size_t value_count = json_array_size(values);
        const char *have = string_at(labels, label);
        if (strcmp(op, "In") == 0 || strcmp(op, "NotIn") == 0) {
            if (value_count == 0)
                return -EINVAL;
            bool in = have && list_has(values, have, NULL);
            if (in != (op[0] == 'I'))
                *match = false;
        } else if (strcmp(op, "Exists") == 0 || strcmp(op, "DoesNotExist") == 0) {
            if (value_count != 0)
                return -EINVAL;
            if ((have != NULL) != (op[0] == 'E'))
                *match = false;
        } else {
            return -EINVAL;
        }
    }
    return 0;
}

/* ---- a role's rules, aggregated or not ---- */

/* Walks the rules a role grants; for an aggregated ClusterRole in the controller's order:
 * selector by selector, the ClusterRoles it picks by name (other than the role itself), each
 * one's stored rules, repeats included (deduplicated_index accounts for them). Allocates
 * nothing: the next ClusterRole is the least name above the current one. */
struct rule_walk {
    const json_t *objects;
    const json_t *role;
    bool aggregated;
    const json_t *selectors; /* aggregated: the clusterRoleSelectors array, or NULL (none) */
    size_t selector;
    const json_t *source; /* whose rules are being walked; NULL before the first */
    size_t rule;
};

/* Whether `role` is an aggregated ClusterRole whose selectors all parse; *selectors is its
 * clusterRoleSelectors array (NULL when it has none, so no rules). */
static bool aggregated_selectors(const json_t *role, const json_t **selectors)
{
    if (!is_kind(role, "ClusterRole"))
        return false;
    const json_t *aggregation = json_object_get(role, "aggregationRule");
    if (!json_is_object(aggregation))
        return false;
    const json_t *list = list_at(aggregation, "clusterRoleSelectors");
    size_t i;
    const json_t *selector;
    bool match;
    json_array_foreach(list, i, selector)
    {
        if (selector_check(selector, NULL, &match) != 0)
            return false; /* the controller gives up: the stored rules stay */
    }
    *selectors = list;
    return true;
}

static void rule_walk_start(struct rule_walk *w, const json_t *objects, const json_t *role)
{
    memset(w, 0, sizeof(*w));
    w->objects = objects;
    w->role = role;
    w->aggregated = aggregated_selectors(role, &w->selectors);
    if (!w->aggregated)
        w->source = role;
}

/* The ClusterRole after `after` (by name; NULL = the first) that selector `selector` picks. */
static const json_t *next_source(const struct rule_walk *w, const json_t *selector,
                                 const char *after)
{
    const char *self = meta_string(w->role, "name");
    const json_t *best = NULL;
    const char *best_name = NULL;
    size_t i;
    const json_t *object;
    json_array_foreach(w->objects, i, object)
    {
        if (!is_kind(object, "ClusterRole"))
            continue;
        const char *name = meta_string(object, "name");
        if (strcmp(name, self) == 0 || (after && strcmp(name, after) <= 0) ||
            (best_name && strcmp(name, best_name) >= 0))
            continue;
        bool match;
        const json_t *labels = json_object_get(json_object_get(object, "metadata"), "labels");
        if (selector_check(selector, json_is_object(labels) ? labels : NULL, &match) != 0 || !match)
            continue;
        best = object;
        best_name = name;
    }
    return best;
}

/* The next rule (any JSON value, as stored) and its source role; NULL at the end. */
static const json_t *rule_walk_next(struct rule_walk *w, const json_t **source)
{
    for (;;) {
        if (w->source) {
            const json_t *rule = json_array_get(list_at(w->source, "rules"), w->rule);
            if (rule) {
                w->rule++;
                *source = w->source;
                return rule;
            }
        }
        if (!w->aggregated)
            return NULL;
        const json_t *selector = json_array_get(w->selectors, w->selector);
        if (!selector)
            return NULL; /* past the last selector (a JSON null element is not NULL) */
        const char *after = w->source ? meta_string(w->source, "name") : NULL;
        w->source = next_source(w, selector, after);
        w->rule = 0;
        if (!w->source)
            w->selector++;
    }
}

/* The index an aggregated rule at raw position `raw` gets once the controller has dropped the
 * repeats before it (a first match is never a repeat: an equal earlier rule would have matched
 * first). Quadratic, and run only once per allowed request on an aggregated role. */
static size_t deduplicated_index(const json_t *objects, const json_t *role, size_t raw)
{
    struct rule_walk outer;
    const json_t *source;
    size_t index = 0;
    rule_walk_start(&outer, objects, role);
    for (size_t q = 0; q < raw; q++) {
        const json_t *rule = rule_walk_next(&outer, &source);
        struct rule_walk inner;
        bool repeat = false;
        rule_walk_start(&inner, objects, role);
        for (size_t r = 0; r < q && !repeat; r++)
            repeat = rule_equal(rule_walk_next(&inner, &source), rule);
        if (!repeat)
            index++;
    }
    return index;
}

/* ---- bindings (rule.go) ---- */

struct check {
    const json_t *objects;
    const struct k8s_rbac_user *user;
    const struct k8s_rbac_attributes *attrs;
    struct k8s_rbac_decision *out;
    /* Resolution errors, each NUL-terminated, distinct, in order. */
    char errors[K8S_RBAC_REASON_MAX];
    size_t errors_len;
    size_t error_count;
    bool errors_truncated;
};

static bool user_in_group(const struct k8s_rbac_user *user, const char *group)
{
    for (size_t i = 0; i < user->group_count; i++) {
        if (user->groups[i] && strcmp(user->groups[i], group) == 0)
            return true;
    }
    return false;
}

/* serviceaccount.MatchesUsername: user == "system:serviceaccount:<ns>:<name>", no copy. */
static bool is_service_account(const char *user, const char *ns, const char *name)
{
    size_t prefix = strlen(SA_USER_PREFIX), ns_len = strlen(ns);
    return strncmp(user, SA_USER_PREFIX, prefix) == 0 && strncmp(user + prefix, ns, ns_len) == 0 &&
           user[prefix + ns_len] == ':' && strcmp(user + prefix + ns_len + 1, name) == 0;
}

/* appliesToUser. `ns` is the binding's namespace, "" for a ClusterRoleBinding. */
static bool subject_applies(const json_t *subject, const struct k8s_rbac_user *user, const char *ns)
{
    const char *kind = string_or_empty(subject, "kind");
    const char *name = string_or_empty(subject, "name");
    if (strcmp(kind, "User") == 0)
        return strcmp(user->name, name) == 0;
    if (strcmp(kind, "Group") == 0)
        return user_in_group(user, name);
    if (strcmp(kind, "ServiceAccount") == 0) {
        /* On purpose as upstream: a subject without namespace takes the RoleBinding's, and in a
         * ClusterRoleBinding it matches nobody. */
        const char *sa_ns = string_or_empty(subject, "namespace");
        if (!sa_ns[0])
            sa_ns = ns;
        return sa_ns[0] && is_service_account(user->name, sa_ns, name);
    }
    return false;
}

/* appliesTo: the index of the first subject that is the user, or -1. */
static long first_subject(const json_t *binding, const struct k8s_rbac_user *user, const char *ns)
{
    size_t i;
    const json_t *subject;
    json_array_foreach(list_at(binding, "subjects"), i, subject)
    {
        if (json_is_object(subject) && subject_applies(subject, user, ns))
            return (long)i;
    }
    return -1;
}

static const json_t *find_role(const json_t *objects, const char *kind, const char *ns,
                               const char *name)
{
    size_t i;
    const json_t *object;
    json_array_foreach(objects, i, object)
    {
        if (is_kind(object, kind) && strcmp(meta_string(object, "name"), name) == 0 &&
            strcmp(meta_string(object, "namespace"), ns) == 0)
            return object;
    }
    return NULL;
}

/* Records one resolution error once (the aggregate drops repeated messages). */
static void add_error(struct check *c, const char *message)
{
    size_t len = strlen(message);
    for (size_t at = 0; at < c->errors_len; at += strlen(c->errors + at) + 1) {
        if (strcmp(c->errors + at, message) == 0)
            return;
    }
    if (len + 1 > sizeof(c->errors) - c->errors_len) {
        c->errors_truncated = true;
        return;
    }
    memcpy(c->errors + c->errors_len, message, len + 1);
    c->errors_len += len + 1;
    c->error_count++;
}

/* GetRoleReferenceRules: the role a binding's roleRef names, or NULL with the error recorded.
 * `ns` is the binding's namespace ("" for a ClusterRoleBinding: a Role is then never found,
 * as the lister's Roles("").Get finds none). */
static const json_t *resolve_role(struct check *c, const json_t *role_ref, const char *ns)
{
    const char *kind = string_or_empty(role_ref, "kind");
    const char *name = string_or_empty(role_ref, "name");
    const json_t *role = NULL;
    char message[1024];
    struct fixed_sink m;
    fixed_init(&m, message, sizeof(message));
    if (strcmp(kind, "Role") == 0) {
        role = ns[0] ? find_role(c->objects, "Role", ns, name) : NULL;
        if (!role) {
            put(&m.base, "role.rbac.authorization.k8s.io ");
            put_quoted(&m.base, name);
            put(&m.base, " not found");
        }
    } else if (strcmp(kind, "ClusterRole") == 0) {
        role = find_role(c->objects, "ClusterRole", "", name);
        if (!role) {
            put(&m.base, "clusterrole.rbac.authorization.k8s.io ");
            put_quoted(&m.base, name);
            put(&m.base, " not found");
        }
    } else {
        put(&m.base, "unsupported role reference kind: ");
        put_quoted(&m.base, kind);
    }
    if (!role)
        add_error(c, message);
    return role;
}

/* "RBAC: allowed by <describer>" (the describers and describeSubject of rule.go). */
static void write_allow_reason(struct check *c, const struct k8s_rbac_grant *g,
                               const json_t *subject)
{
    struct fixed_sink s;
    fixed_init(&s, c->out->reason, sizeof(c->out->reason));
    put(&s.base, "RBAC: allowed by ");
    put(&s.base, g->binding_kind);
    put(&s.base, " \"");
    put_escaped(&s.base, g->binding_name);
    if (g->binding_namespace[0]) {
        put(&s.base, "/");
        put_escaped(&s.base, g->binding_namespace);
    }
    put(&s.base, "\" of ");
    put(&s.base, g->role_kind);
    put(&s.base, " ");
    put_quoted(&s.base, g->role_name);
    put(&s.base, " to ");
    const char *kind = string_or_empty(subject, "kind");
    put(&s.base, kind);
    put(&s.base, " \"");
    put_escaped(&s.base, string_or_empty(subject, "name"));
    if (strcmp(kind, "ServiceAccount") == 0) {
        const char *ns = string_or_empty(subject, "namespace");
        put(&s.base, "/");
        put_escaped(&s.base, ns[0] ? ns : g->binding_namespace);
    }
    put(&s.base, "\"");
    c->out->reason_truncated = s.truncated;
}

/* Visits one binding's rules; true when one allows (then the decision is filled). */
static bool visit_binding(struct check *c, const json_t *binding, bool cluster)
{
    const char *ns = cluster ? "" : meta_string(binding, "namespace");
    long subject = first_subject(binding, c->user, ns);
    if (subject < 0)
        return false;
    const json_t *role_ref = json_object_get(binding, "roleRef");
    const json_t *role = resolve_role(c, role_ref, ns);
    if (!role)
        return false;
    struct rule_walk walk;
    const json_t *rule, *source;
    rule_walk_start(&walk, c->objects, role);
    for (size_t raw = 0; (rule = rule_walk_next(&walk, &source)) != NULL; raw++) {
        if (!rule_allows(rule, c->attrs))
            continue;
        struct k8s_rbac_grant *g = &c->out->grant;
        g->binding_kind = cluster ? "ClusterRoleBinding" : "RoleBinding";
        g->binding_name = meta_string(binding, "name");
        g->binding_namespace = ns;
        g->binding = binding;
        g->subject_index = (size_t)subject;
        g->role_kind = string_or_empty(role_ref, "kind");
        g->role_name = string_or_empty(role_ref, "name");
        g->role = role;
        g->rule = rule;
        g->rule_source = source;
        g->rule_index = walk.aggregated ? deduplicated_index(c->objects, role, raw) : raw;
        c->out->allowed = true;
        write_allow_reason(c, g, json_array_get(list_at(binding, "subjects"), (size_t)subject));
        return true;
    }
    return false;
}

/* The deny reason: "" or "RBAC: " + the aggregate of the resolution errors. */
static void write_deny_reason(struct check *c)
{
    if (c->error_count == 0)
        return;
    struct fixed_sink s;
    fixed_init(&s, c->out->reason, sizeof(c->out->reason));
    put(&s.base, c->error_count > 1 ? "RBAC: [" : "RBAC: ");
    size_t n = 0;
    for (size_t at = 0; at < c->errors_len; at += strlen(c->errors + at) + 1) {
        if (n++ > 0)
            put(&s.base, ", ");
        put(&s.base, c->errors + at);
    }
    if (c->error_count > 1)
        put(&s.base, "]");
    c->out->reason_truncated = s.truncated || c->errors_truncated;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

void k8s_rbac_authorize(const json_t *objects, const struct k8s_rbac_user *user,
                        const struct k8s_rbac_attributes *attrs, struct k8s_rbac_decision *out)
{
    memset(out, 0, sizeof(*out));
    struct k8s_rbac_attributes a = {
        .resource_request = attrs->resource_request,
        .verb = or_empty(attrs->verb),
        .api_group = or_empty(attrs->api_group),
        .api_version = or_empty(attrs->api_version),
        .resource = or_empty(attrs->resource),
        .subresource = or_empty(attrs->subresource),
        .namespace = or_empty(attrs->namespace),
        .name = or_empty(attrs->name),
        .path = or_empty(attrs->path),
    };
    struct k8s_rbac_user u = {or_empty(user->name), user->groups, user->group_count};
    if (!u.groups)
        u.group_count = 0;
    struct check c = {.objects = objects, .user = &u, .attrs = &a, .out = out};
    if (!json_is_array(objects))
        return;
    size_t i;
    const json_t *object;
    json_array_foreach(objects, i, object)
    {
        if (is_kind(object, "ClusterRoleBinding") && visit_binding(&c, object, true))
            return;
    }
    if (a.namespace[0]) {
        json_array_foreach(objects, i, object)
        {
            if (is_kind(object, "RoleBinding") &&
                strcmp(meta_string(object, "namespace"), a.namespace) == 0 &&
                visit_binding(&c, object, false))
                return;
        }
    }
    write_deny_reason(&c);
}

/* ---- identities ---- */

int k8s_rbac_service_account_user(struct k8s_rbac_service_account *sa, const char *namespace,
                                  const char *name)
{
    memset(sa, 0, sizeof(*sa));
    if (!namespace || !name || !namespace[0] || !name[0])
        return -EINVAL;
    int n = snprintf(sa->name, sizeof(sa->name), SA_USER_PREFIX "%s:%s", namespace, name);
    int g =
        snprintf(sa->namespace_group, sizeof(sa->namespace_group), SA_GROUP_PREFIX "%s", namespace);
    if (n < 0 || g < 0 || (size_t)n >= sizeof(sa->name) ||
        (size_t)g >= sizeof(sa->namespace_group)) {
        memset(sa, 0, sizeof(*sa));
        return -ENAMETOOLONG;
    }
    sa->groups[0] = "system:serviceaccounts";
    sa->groups[1] = sa->namespace_group;
    sa->groups[2] = "system:authenticated";
    sa->user.name = sa->name;
    sa->user.groups = sa->groups;
    sa->user.group_count = 3;
    return 0;
}

/* ---- the 403 (responsewriters/errors.go, api/errors NewForbidden) ---- */

/* forbiddenMessage, before the sanitizer. */
static void put_forbidden_message(struct sink *s, const char *user,
                                  const struct k8s_rbac_attributes *a)
{
    put(s, "User ");
    put_quoted(s, user);
    put(s, " cannot ");
    put(s, or_empty(a->verb));
    if (!a->resource_request) {
        put(s, " path ");
        put_quoted(s, or_empty(a->path));
        return;
    }
    put(s, " resource \"");
    put_escaped(s, or_empty(a->resource));
    if (a->subresource && a->subresource[0]) {
        put(s, "/");
        put_escaped(s, a->subresource);
    }
    put(s, "\" in API group ");
    put_quoted(s, or_empty(a->api_group));
    if (a->namespace && a->namespace[0]) {
        put(s, " in the namespace ");
        put_quoted(s, a->namespace);
    } else {
        put(s, " at the cluster scope");
    }
}

/* The sanitizer: & < > as HTML entities ("errors that look like valid HTML"). */
static void put_sanitized(struct sink *s, const char *text)
{
    for (const char *p = text; *p;) {
        size_t run = strcspn(p, "&<>");
        s->add(s, p, run);
        p += run;
        if (!*p)
            break;
        put(s, *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : "&gt;");
        p++;
    }
}

/* What Go's fmt.Errorf(format) prints with no arguments, which is how upstream builds the
 * forbidden error (its message is the format): "%%" is "%", a verb is "%!<verb>(MISSING)", a
 * '*' width or precision adds "%!(BADWIDTH)" / "%!(BADPREC)", a '%' at the end is
 * "%!(NOVERB)". On purpose, so a user name holding '%' reads as the real server shows it.
 * Argument indexes (%[1]d) are not mirrored. */
static void put_go_errorf(struct sink *s, const char *format)
{
    const char *p = format;
    for (;;) {
        size_t run = strcspn(p, "%");
        s->add(s, p, run);
        p += run;
        if (!*p)
            return;
        p++; /* the '%' */
        while (*p && strchr("#0+- ", *p))
            p++;
        if (*p == '*') {
            put(s, "%!(BADWIDTH)");
            p++;
        } else {
            while (*p >= '0' && *p <= '9')
                p++;
        }
        if (p[0] == '.' && p[1]) {
            p++;
            if (*p == '*') {
                put(s, "%!(BADPREC)");
                p++;
            } else {
                while (*p >= '0' && *p <= '9')
                    p++;
            }
        }
        if (!*p) {
            put(s, "%!(NOVERB)");
            return;
        }
        uint32_t rune;
        bool valid;
        size_t n = go_utf8_next((const unsigned char *)p, strlen(p), &rune, &valid);
        if (*p == '%') {
            put(s, "%");
        } else {
            put(s, "%!");
            if (valid)
                s->add(s, p, n);
            else
                put(s, "\xef\xbf\xbd"); /* Go decodes a bad byte as U+FFFD */
            put(s, "(MISSING)");
        }
        p += n;
    }
}

char *k8s_rbac_forbidden_message(const char *user_name, const struct k8s_rbac_attributes *attrs,
                                 const char *reason)
{
    struct strbuf raw = STRBUF_INIT(FORBIDDEN_MESSAGE_MAX);
    struct strbuf error = STRBUF_INIT(FORBIDDEN_MESSAGE_MAX);
    struct strbuf message = STRBUF_INIT(FORBIDDEN_MESSAGE_MAX);
    struct strbuf_sink raw_sink = {{strbuf_sink_add}, &raw};
    struct strbuf_sink error_sink = {{strbuf_sink_add}, &error};
    struct strbuf_sink message_sink = {{strbuf_sink_add}, &message};
    char *out = NULL;

    /* errMsg = sanitize(forbiddenMessage) [+ ": " + reason], then fmt.Errorf(errMsg) */
    put_forbidden_message(&raw_sink.base, or_empty(user_name), attrs);
    struct strbuf sanitized = STRBUF_INIT(FORBIDDEN_MESSAGE_MAX);
    struct strbuf_sink sanitized_sink = {{strbuf_sink_add}, &sanitized};
    put_sanitized(&sanitized_sink.base, strbuf_str(&raw));
    if (reason && reason[0]) {
        put(&sanitized_sink.base, ": ");
        put(&sanitized_sink.base, reason);
    }
    put_go_errorf(&error_sink.base, strbuf_str(&sanitized));

    /* NewForbidden(GroupResource{group, resource}, name, err) */
    const char *group = or_empty(attrs->api_group), *resource = or_empty(attrs->resource);
    const char *name = or_empty(attrs->name);
    if (!group[0] && !resource[0]) {
        put(&message_sink.base, "forbidden: ");
    } else {
        put(&message_sink.base, resource);
        if (group[0]) {
            put(&message_sink.base, ".");
            put(&message_sink.base, group);
        }
        if (name[0]) {
            put(&message_sink.base, " ");
            put_quoted(&message_sink.base, name);
        }
        put(&message_sink.base, " is forbidden: ");
    }
    put(&message_sink.base, strbuf_str(&error));
    if (raw.error || sanitized.error || error.error || strbuf_finish(&message, &out, NULL) != 0)
        out = NULL;
    strbuf_release(&raw);
    strbuf_release(&sanitized);
    strbuf_release(&error);
    strbuf_release(&message);
    return out;
}

json_t *k8s_rbac_forbidden_status(const char *user_name, const struct k8s_rbac_attributes *attrs,
                                  const char *reason)
{
    char *message = k8s_rbac_forbidden_message(user_name, attrs, reason);
    json_t *status = json_object();
    json_t *details = json_object();
    if (!message || !status || !details)
        goto fail;
    /* metav1.StatusDetails: name, group, kind (the resource), each omitted when empty */
    const char *const fields[][2] = {
        {"name", or_empty(attrs->name)},
        {"group", or_empty(attrs->api_group)},
        {"kind", or_empty(attrs->resource)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *value = fields[i][1];
        if (value[0] &&
            fake_util_json_set(details, fields[i][0], fake_util_json_string(value, strlen(value))))
            goto fail;
    }
    if (json_object_set_new(status, "kind", json_string("Status")) ||
        json_object_set_new(status, "apiVersion", json_string("v1")) ||
        json_object_set_new(status, "metadata", json_object()) ||
        json_object_set_new(status, "status", json_string("Failure")) ||
        fake_util_json_set(status, "message", fake_util_json_string(message, strlen(message))) ||
        json_object_set_new(status, "reason", json_string("Forbidden")))
        goto fail;
    int rc = json_object_set_new(status, "details", details);
    details = NULL; /* taken, even on failure */
    if (rc || json_object_set_new(status, "code", json_integer(403)))
        goto fail;
    free(message);
    return status;
fail:
    free(message);
    json_decref(details);
    json_decref(status);
    return NULL;
}
