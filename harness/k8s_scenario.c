/*
 * k8s_scenario.c - loading the `kubernetes:` section and `expect.kubernetes` (see
 * k8s_scenario.h), with the scenario loader's field tables and messages (scenario_loader.h).
 */
#include "k8s_scenario.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "k8s_env.h"
#include "scenario_loader.h"
#include "yamljson.h"

/* ---- manifests ---- */

/* One object of a manifest; `where` names it in messages ("document 2", "document 1 item 3"). */
static int check_object(struct loader *l, const json_t *object, const struct yaml_lines *lines,
                        const char *label, int line, const char *ypath, const char *where,
                        int depth)
{
    int oline = yaml_lines_of_node(lines, object);
    if (!json_is_object(object))
        return loader_fail(l, line, ypath,
                           "%s:%d: %s: expected a Kubernetes object (a mapping), "
                           "got %s",
                           label, oline, where, loader_type_name(object));
    const char *api_version = loader_get_string(object, "apiVersion");
    const char *kind = loader_get_string(object, "kind");
    const char *name = loader_get_string(json_object_get(object, "metadata"), "name");
    const char *missing = !api_version ? "apiVersion" : !kind ? "kind" : NULL;
    if (missing)
        return loader_fail(l, line, ypath,
                           "%s:%d: %s: no %s (every object needs apiVersion, kind and "
                           "metadata.name)",
                           label, oline, where, missing);
    if (!strcmp(kind, "List") && depth == 0) {
        const json_t *items = json_object_get(object, "items");
        if (!json_is_array(items))
            return loader_fail(l, line, ypath, "%s:%d: %s: a List needs items", label, oline,
                               where);
        for (size_t i = 0; i < json_array_size(items); i++) {
            char sub[96];
            snprintf(sub, sizeof(sub), "%s item %zu", where, i);
            int rc = check_object(l, json_array_get(items, i), lines, label, oline, ypath, sub, 1);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    if (!name || !*name)
        return loader_fail(l, line, ypath,
                           "%s:%d: %s (%s): no metadata.name (every object needs apiVersion, "
                           "kind and metadata.name)",
                           label, oline, where, kind);
    return 0;
}

int k8s_scenario_check_manifest(struct loader *l, const char *path, const char *label, int line,
                                const char *ypath)
{
    json_t *docs = NULL;
    struct yaml_lines *lines = NULL;
    struct error yerr;
    int rc;
    if (yamljson_load_file(path, &docs, &lines, &yerr) < 0) {
        rc = yerr.code == -ENOMEM ? error_set(l->err, -ENOMEM, ERROR_PERMANENT, "out of memory")
                                  : loader_fail(l, line, ypath, "%s", yerr.message);
        goto done;
    }
    /* yamljson: one document as itself, several as an array of them, none as null. */
    bool several = json_is_array(docs);
    size_t count = several ? json_array_size(docs) : json_is_null(docs) ? 0 : 1;
    size_t objects = 0;
    rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const json_t *doc = several ? json_array_get(docs, i) : docs;
        char where[32];
        if (json_is_null(doc))
            continue; /* an empty document: the fake skips it too */
        snprintf(where, sizeof(where), "document %zu", i + 1);
        rc = check_object(l, doc, lines, label, line, ypath, where, 0);
        objects++;
    }
    if (rc == 0 && objects == 0)
        rc = loader_fail(l, line, ypath, "%s holds no object", label);
done:
    json_decref(docs);
    yaml_lines_free(lines);
    return rc;
}

/* ---- names ---- */

/* A DNS-1123 label or subdomain, as namespaces and service account names are. */
static bool is_dns_name(const char *s, size_t len)
{
    if (len == 0 || len >= K8S_NAME_MAX || !isalnum((unsigned char)s[0]) ||
        !isalnum((unsigned char)s[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
              s[i] == '.'))
            return false;
    return true;
}

int k8s_scenario_identity(struct loader *l, const char *text, int line, const char *ypath,
                          char *user, size_t size)
{
    const char *slash = strchr(text, '/');
    bool service_account = !strchr(text, ':') && slash &&
                           is_dns_name(text, (size_t)(slash - text)) &&
                           is_dns_name(slash + 1, strlen(slash + 1));
    if ((!service_account && !strchr(text, ':')) || k8s_calls_user_name(text, user, size) < 0)
        return loader_fail(l, line, ypath,
                           "expected a service account namespace/name (e.g. "
                           "opentelemetry/otel-collector-collector) or a user name such as "
                           "system:serviceaccount:NS:NAME; got \"%s\"",
                           text);
    return 0;
}

int k8s_scenario_parse_type(const char *text, char *type, size_t type_size, char *namespace,
                            size_t namespace_size)
{
    size_t n = strcspn(text, "/");
    if (n == 0 || n >= type_size)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)text[i]) || isdigit((unsigned char)text[i]) ||
              text[i] == '.' || text[i] == '-'))
            return -EINVAL;
    snprintf(type, type_size, "%.*s", (int)n, text);
    namespace[0] = '\0';
    if (!text[n])
        return 0;
    if (!is_dns_name(text + n + 1, strlen(text + n + 1)) || strlen(text + n + 1) >= namespace_size)
        return -EINVAL;
    snprintf(namespace, namespace_size, "%s", text + n + 1);
    return 0;
}

/* ---- the section ---- */

static const struct field section_fields[] = {
    {"objects", FIELD_LIST, false,
     "manifests applied before the collector starts, relative to scenarios/, e.g. "
     "[inputs/k8s/cluster.yaml]"},
    {"as", FIELD_STR, false,
     "the service account whose credentials the collector gets, namespace/name "
     "(default " K8S_SCENARIO_DEFAULT_AS ")"},
    {"rbac", FIELD_STR, false,
     "the RBAC manifest, relative to the repository (default " K8S_SCENARIO_DEFAULT_RBAC
     "), or none"},
    {NULL, 0, false, NULL},
};

/* The variables the harness sets for the collector must not come from the scenario too. */
static int check_env_conflicts(struct loader *l, const json_t *doc)
{
    const struct scenario *s = l->s;
    for (size_t i = 0; i < s->env_count; i++) {
        for (size_t v = 0; k8s_env_variables[v]; v++) {
            size_t n = strlen(k8s_env_variables[v]);
            if (strncmp(s->env[i], k8s_env_variables[v], n) != 0 || s->env[i][n] != '=')
                continue;
            char path[128];
            snprintf(path, sizeof(path), "env.%s", k8s_env_variables[v]);
            return loader_fail(
                l, loader_line_of_key(l, json_object_get(doc, "env"), k8s_env_variables[v], 0),
                path,
                "set by the harness for the fake Kubernetes API when the "
                "scenario has a kubernetes: section; leave it out");
        }
    }
    return 0;
}

int k8s_scenario_load(struct loader *l, const json_t *doc)
{
    struct k8s_section *k = &l->s->kubernetes;
    const json_t *section = json_object_get(doc, "kubernetes");
    if (!section)
        return 0;
    int line = loader_line_of_key(l, doc, "kubernetes", 0);
    int rc = loader_check_fields(l, section, line, "kubernetes", section_fields);
    if (rc < 0)
        return rc;
    line = loader_line_of_node(l, section, line);
    k->enabled = true;

    const char *as = loader_get_string(section, "as");
    const char *identity = as ? as : K8S_SCENARIO_DEFAULT_AS;
    int aline = loader_line_of_key(l, section, "as", line);
    const char *slash = strchr(identity, '/');
    if (strchr(identity, ':') || !slash)
        return loader_fail(l, aline, "kubernetes.as",
                           "expected a service account namespace/name (the collector's token, "
                           "ca.crt and namespace files are a service account's); got \"%s\"",
                           identity);
    if ((rc = k8s_scenario_identity(l, identity, aline, "kubernetes.as", k->user,
                                    sizeof(k->user))) < 0)
        return rc;
    snprintf(k->namespace, sizeof(k->namespace), "%.*s", (int)(slash - identity), identity);
    snprintf(k->name, sizeof(k->name), "%s", slash + 1);

    const char *rbac = loader_get_string(section, "rbac");
    k->rbac_label = rbac ? rbac : K8S_SCENARIO_DEFAULT_RBAC;
    if (strcmp(k->rbac_label, "none") != 0) {
        int rline = loader_line_of_key(l, section, "rbac", line);
        if ((rc = loader_resolve(l, k->rbac, sizeof(k->rbac), l->s->root, k->rbac_label, rline,
                                 "kubernetes.rbac")) < 0 ||
            (rc = k8s_scenario_check_manifest(l, k->rbac, k->rbac_label, rline,
                                              "kubernetes.rbac")) < 0)
            return rc;
    }

    const json_t *objects = json_object_get(section, "objects");
    if (objects) {
        const char *labels[SCENARIO_MAX_ITEMS];
        size_t count = 0;
        if ((rc = loader_string_list(l, objects, "kubernetes.objects", labels, &count,
                                     "a manifest file such as inputs/k8s/cluster.yaml")) < 0)
            return rc;
        for (size_t i = 0; i < count; i++) {
            char sub[64];
            int oline = loader_line_of_index(l, objects, i, line);
            snprintf(sub, sizeof(sub), "kubernetes.objects[%zu]", i);
            if (i >= K8S_SCENARIO_MAX_FILES)
                return loader_fail(l, oline, sub, "too many manifests (at most %d)",
                                   K8S_SCENARIO_MAX_FILES);
            k->object_labels[i] = labels[i];
            if ((rc = loader_resolve(l, k->objects[i], sizeof(k->objects[i]), l->s->scenarios_dir,
                                     labels[i], oline, sub)) < 0 ||
                (rc = k8s_scenario_check_manifest(l, k->objects[i], labels[i], oline, sub)) < 0)
                return rc;
            k->object_count++;
        }
    }
    return check_env_conflicts(l, doc);
}

/* ---- expect.kubernetes ---- */

static const struct field expect_fields[] = {
    {"denied", FIELD_INT | FIELD_STR | FIELD_MAP, false,
     "distinct refused calls of the `as` identity (0, \"> 0\"), or per identity "
     "{namespace/name: 0}"},
    {"unused_grants", FIELD_INT | FIELD_STR, false,
     "(verb, resource) pairs granted to the `as` identity that no call used, e.g. 0"},
    {"objects", FIELD_MAP, false,
     "objects the fake holds at the end, by type[/namespace], e.g. {pods: 2, "
     "replicasets.apps/shop: 1}"},
    {NULL, 0, false, NULL},
};

static int add_denied(struct loader *l, const char *user, const char *label, const json_t *value,
                      int line, const char *ypath)
{
    struct k8s_section *k = &l->s->kubernetes;
    char why[200];
    if (k->denied_count >= K8S_SCENARIO_MAX_CHECKS)
        return loader_fail(l, line, ypath, "too many identities (at most %d)",
                           K8S_SCENARIO_MAX_CHECKS);
    struct k8s_denied_check *c = &k->denied[k->denied_count];
    if (condition_parse(value, COND_EQ, &c->cond, why, sizeof(why)) < 0)
        return loader_fail(l, line, ypath, "%s", why);
    snprintf(c->user, sizeof(c->user), "%s", user);
    c->label = label;
    c->line = line;
    k->denied_count++;
    return 0;
}

static int load_denied(struct loader *l, const json_t *value, int line)
{
    struct k8s_section *k = &l->s->kubernetes;
    if (!json_is_object(value))
        return add_denied(l, k->user, NULL, value, line, "expect.kubernetes.denied");
    if (json_object_size(value) == 0)
        return loader_fail(l, line, "expect.kubernetes.denied",
                           "expected identities and counts, e.g. "
                           "{opentelemetry/otel-collector-collector: 0}");
    const char *key;
    json_t *count;
    json_object_foreach((json_t *)value, key, count)
    {
        char sub[600], user[K8S_CALLS_USER_MAX];
        int kline = loader_line_of_key(l, value, key, line);
        snprintf(sub, sizeof(sub), "expect.kubernetes.denied.%s", key);
        int rc = k8s_scenario_identity(l, key, kline, sub, user, sizeof(user));
        if (rc == 0)
            rc = add_denied(l, user, key, count, kline, sub);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int load_objects_expected(struct loader *l, const json_t *value, int line)
{
    struct k8s_section *k = &l->s->kubernetes;
    if (json_object_size(value) == 0)
        return loader_fail(l, line, "expect.kubernetes.objects",
                           "expected counts by type, e.g. {pods: 2, replicasets.apps/shop: 1}");
    const char *key;
    json_t *count;
    json_object_foreach((json_t *)value, key, count)
    {
        char sub[600], why[200];
        int kline = loader_line_of_key(l, value, key, line);
        snprintf(sub, sizeof(sub), "expect.kubernetes.objects.%s", key);
        if (k->objects_expected_count >= K8S_SCENARIO_MAX_CHECKS)
            return loader_fail(l, kline, sub, "too many types (at most %d)",
                               K8S_SCENARIO_MAX_CHECKS);
        struct k8s_object_check *c = &k->objects_expected[k->objects_expected_count];
        if (k8s_scenario_parse_type(key, c->type, sizeof(c->type), c->namespace,
                                    sizeof(c->namespace)) < 0)
            return loader_fail(l, kline, "expect.kubernetes.objects",
                               "\"%s\": expected a resource type as the API names it (pods, "
                               "replicasets.apps), optionally /namespace",
                               key);
        if (condition_parse(count, COND_EQ, &c->cond, why, sizeof(why)) < 0)
            return loader_fail(l, kline, sub, "%s", why);
        c->label = key;
        c->line = kline;
        k->objects_expected_count++;
    }
    return 0;
}

int k8s_scenario_load_expect(struct loader *l, const json_t *value, int line)
{
    struct scenario *s = l->s;
    struct k8s_section *k = &s->kubernetes;
    int rc = loader_check_fields(l, value, line, "expect.kubernetes", expect_fields);
    if (rc < 0)
        return rc;
    line = loader_line_of_node(l, value, line);
    if (!k->enabled)
        return loader_fail(l, line, "expect.kubernetes",
                           "needs a kubernetes: section (the identity and RBAC of the run; "
                           "kubernetes: {} for the defaults)");
    k->expect = true;
    const json_t *denied = json_object_get(value, "denied");
    if (denied && (rc = load_denied(l, denied, loader_line_of_key(l, value, "denied", line))) < 0)
        return rc;
    const json_t *unused = json_object_get(value, "unused_grants");
    if (unused) {
        char why[200];
        k->has_unused_grants = true;
        k->unused_grants_line = loader_line_of_key(l, value, "unused_grants", line);
        if (condition_parse(unused, COND_EQ, &k->unused_grants, why, sizeof(why)) < 0)
            return loader_fail(l, k->unused_grants_line, "expect.kubernetes.unused_grants", "%s",
                               why);
    }
    const json_t *objects = json_object_get(value, "objects");
    if (objects &&
        (rc = load_objects_expected(l, objects, loader_line_of_key(l, value, "objects", line))) < 0)
        return rc;
    if (s->golden_count >= SCENARIO_MAX_ITEMS)
        return loader_fail(l, line, "expect.golden", "too many views (at most %d)",
                           SCENARIO_MAX_ITEMS);
    s->golden[s->golden_count++] = K8S_CALLS_VIEW;
    return 0;
}
