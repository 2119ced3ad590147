/*
 * config.c - the `k8sattributes` config: option table, Config.Validate with upstream's messages,
 * and the rules the rest of the processor reads (upstream's options.go turns Config into
 * ExtractionRules, Filters, Associations and Excludes the same way).
 *
 * Checked against contrib processor/k8sattributesprocessor/{config.go,factory.go,options.go}
 * (the stored version of config.go carries semconv v1.39 and `deployment_name_from_replicaset`,
 * the 0.143/0.144 generation) and internal/k8sconfig/config.go:
 *   - defaults: auth_type serviceAccount, extract.metadata = the attributes enabled in
 *     internal/metadata (facts §3), exclude.pods = jaeger-agent, jaeger-collector,
 *     wait_for_metadata_timeout 10s, deployment_name_from_replicaset false (createDefaultConfig
 *     leaves it unset; facts U11 says "defaults to true", which the code read does not show).
 *   - Validate, in upstream's order: auth type (`invalid authType for kubernetes: <x>`), more
 *     than 4 sources in a rule, labels/annotations (key and key_regex both set, `from`,
 *     key_regex compiled as ^(?:re)$), metadata names, filter ops (fields reuse the label
 *     message, a quirk kept on purpose), then FilterConfig.Validate (`node_from_env_var` names
 *     an unset variable).
 *   - an association source with an unknown `from` is accepted: upstream checks nothing and the
 *     source simply never matches (facts §3 says "bad from" fails; the code does not).
 *   - exclude.pods names are Go regular expressions matched unanchored (MatchString); labels and
 *     annotations without tag_name are named k8s.<from>.labels.<key> / .annotations.<key>.
 * Regular expressions are compiled with PCRE2, close to but not exactly Go's RE2; compile errors
 * are worded by PCRE2 (Go's wording is not reproduced).
 * Deliberately not here: `kube_api_qps` / `kube_api_burst` and `service_attributes` of later
 * releases are unknown keys; the APIConfig keys other than auth_type/context likewise.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gostr.h"
#include "k8sattributes.h"

#define CFG(f) offsetof(struct k8sattributes_config, f)

static const char *const field_names[K8S_FIELD_COUNT] = {
    [K8S_FIELD_NAMESPACE_NAME] = "k8s.namespace.name",
    [K8S_FIELD_POD_NAME] = "k8s.pod.name",
    [K8S_FIELD_POD_UID] = "k8s.pod.uid",
    [K8S_FIELD_POD_HOSTNAME] = "k8s.pod.hostname",
    [K8S_FIELD_POD_START_TIME] = "k8s.pod.start_time",
    [K8S_FIELD_POD_IP] = "k8s.pod.ip",
    [K8S_FIELD_DEPLOYMENT_NAME] = "k8s.deployment.name",
    [K8S_FIELD_DEPLOYMENT_UID] = "k8s.deployment.uid",
    [K8S_FIELD_REPLICASET_NAME] = "k8s.replicaset.name",
    [K8S_FIELD_REPLICASET_UID] = "k8s.replicaset.uid",
    [K8S_FIELD_DAEMONSET_NAME] = "k8s.daemonset.name",
    [K8S_FIELD_DAEMONSET_UID] = "k8s.daemonset.uid",
    [K8S_FIELD_STATEFULSET_NAME] = "k8s.statefulset.name",
    [K8S_FIELD_STATEFULSET_UID] = "k8s.statefulset.uid",
    [K8S_FIELD_JOB_NAME] = "k8s.job.name",
    [K8S_FIELD_JOB_UID] = "k8s.job.uid",
    [K8S_FIELD_CRONJOB_NAME] = "k8s.cronjob.name",
    [K8S_FIELD_CRONJOB_UID] = "k8s.cronjob.uid",
    [K8S_FIELD_NODE_NAME] = "k8s.node.name",
    [K8S_FIELD_NODE_UID] = "k8s.node.uid",
    [K8S_FIELD_CONTAINER_NAME] = "k8s.container.name",
    [K8S_FIELD_CONTAINER_ID] = "container.id",
    [K8S_FIELD_CONTAINER_IMAGE_NAME] = "container.image.name",
    [K8S_FIELD_CONTAINER_IMAGE_TAG] = "container.image.tag",
    [K8S_FIELD_SERVICE_NAMESPACE] = "service.namespace",
    [K8S_FIELD_SERVICE_NAME] = "service.name",
    [K8S_FIELD_SERVICE_VERSION] = "service.version",
    [K8S_FIELD_SERVICE_INSTANCE_ID] = "service.instance.id",
    [K8S_FIELD_CONTAINER_IMAGE_REPO_DIGESTS] = "container.image.repo_digests",
    [K8S_FIELD_CLUSTER_UID] = "k8s.cluster.uid",
};

const char *k8s_field_name(enum k8s_field f)
{
    return f < K8S_FIELD_COUNT ? field_names[f] : "?";
}

static const struct option extract_options[] = {
    {OPT_STRING_LIST, "metadata",
     "[k8s.namespace.name, k8s.pod.name, k8s.pod.uid, k8s.pod.start_time, k8s.deployment.name, "
     "k8s.node.name, container.image.name, container.image.tag]",
     CFG(extract.metadata), "resource attributes to add (setting it replaces the list)", 0, NULL,
     0},
    {OPT_JSON, "labels", NULL, CFG(extract.labels),
     "list of {tag_name, key, key_regex, from} read from labels", 0, NULL, 0},
    {OPT_JSON, "annotations", NULL, CFG(extract.annotations),
     "list of {tag_name, key, key_regex, from} read from annotations", 0, NULL, 0},
    {OPT_BOOL, "otel_annotations", "false", CFG(extract.otel_annotations),
     "pod annotations resource.opentelemetry.io/<x> become attribute <x>", 0, NULL, 0},
    {OPT_BOOL, "deployment_name_from_replicaset", "false",
     CFG(extract.deployment_name_from_replicaset),
     "deployment name = ReplicaSet name minus its hash (no ReplicaSet informer)", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option filter_options[] = {
    {OPT_STRING, "node", NULL, CFG(filter.node), "only pods on this node (spec.nodeName)", 0, NULL,
     0},
    {OPT_STRING, "node_from_env_var", NULL, CFG(filter.node_from_env_var),
     "the node filter is this environment variable's value", 0, NULL, 0},
    {OPT_STRING, "namespace", NULL, CFG(filter.namespace), "only pods of this namespace", 0, NULL,
     0},
    {OPT_JSON, "fields", NULL, CFG(filter.fields), "list of {key, value, op} field selectors", 0,
     NULL, 0},
    {OPT_JSON, "labels", NULL, CFG(filter.labels), "list of {key, value, op} label selectors", 0,
     NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option exclude_options[] = {
    {OPT_JSON, "pods", "[{name: jaeger-agent}, {name: jaeger-collector}]", CFG(exclude.pods),
     "list of {name} (regular expressions) of pods to ignore", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

const struct option k8sattributes_options[] = {
    {OPT_STRING, "auth_type", "serviceAccount", CFG(auth_type),
     "serviceAccount | kubeConfig | none | tls", 0, NULL, 0},
    {OPT_STRING, "context", NULL, CFG(context), "kubeconfig context (auth_type kubeConfig)", 0,
     NULL, 0},
    {OPT_BOOL, "passthrough", "false", CFG(passthrough),
     "only add k8s.pod.ip from the connection; no API access", 0, NULL, 0},
    {OPT_OBJECT, "extract", NULL, 0, "what to add", 0, extract_options, 0},
    {OPT_OBJECT, "filter", NULL, 0, "which pods to watch", 0, filter_options, 0},
    {OPT_JSON, "pod_association", NULL, CFG(pod_association),
     "list of {sources: [{from, name}]}, tried in order", 0, NULL, 0},
    {OPT_OBJECT, "exclude", NULL, 0, "pods to ignore", 0, exclude_options, 0},
    {OPT_BOOL, "wait_for_metadata", "false", CFG(wait_for_metadata),
     "start fails unless the pod informer syncs in time", 0, NULL, 0},
    {OPT_DURATION, "wait_for_metadata_timeout", "10s", CFG(wait_for_metadata_timeout_ns),
     "how long start waits with wait_for_metadata", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

/* ---- the elements of the lists of mappings ---- */

struct source_config {
    char *from, *name;
};
static const struct option source_options[] = {
    {OPT_STRING, "from", NULL, offsetof(struct source_config, from),
     "connection | resource_attribute", 0, NULL, 0},
    {OPT_STRING, "name", NULL, offsetof(struct source_config, name), "resource attribute", 0, NULL,
     0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct association_config {
    json_t *sources;
};
static const struct option association_options[] = {
    {OPT_JSON, "sources", NULL, offsetof(struct association_config, sources),
     "list of {from, name}", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct field_extract_config {
    char *tag_name, *key, *key_regex, *from;
};
static const struct option field_extract_options[] = {
    {OPT_STRING, "tag_name", NULL, offsetof(struct field_extract_config, tag_name), "attribute", 0,
     NULL, 0},
    {OPT_STRING, "key", NULL, offsetof(struct field_extract_config, key), "exact key", 0, NULL, 0},
    {OPT_STRING, "key_regex", NULL, offsetof(struct field_extract_config, key_regex), "key pattern",
     0, NULL, 0},
    {OPT_STRING, "from", NULL, offsetof(struct field_extract_config, from),
     "pod | namespace | node | deployment | statefulset | daemonset | job", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct filter_term_config {
    char *key, *value, *op;
};
static const struct option filter_term_options[] = {
    {OPT_STRING, "key", NULL, offsetof(struct filter_term_config, key), "key", 0, NULL, 0},
    {OPT_STRING, "value", NULL, offsetof(struct filter_term_config, value), "value", 0, NULL, 0},
    {OPT_STRING, "op", NULL, offsetof(struct filter_term_config, op), "operation", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct exclude_pod_config {
    char *name;
};
static const struct option exclude_pod_options[] = {
    {OPT_STRING, "name", NULL, offsetof(struct exclude_pod_config, name), "pod name pattern", 0,
     NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const char *str(const char *s)
{
    return s ? s : "";
}

/* Checks that `list` is a list (or absent/null) of at most K8S_RULES_MAX items. */
static int check_list(const json_t *list, const char *path, size_t *count, struct error *err)
{
    *count = 0;
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected a list", path);
    if (json_array_size(list) > K8S_RULES_MAX)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: more than %d entries", path,
                         K8S_RULES_MAX);
    *count = json_array_size(list);
    return 0;
}

static int compile_regex(const char *pattern, bool anchored, void **out, struct error *err)
{
    char *text = NULL;
    if (anchored) {
        size_t n = strlen(pattern) + 8;
        if (!(text = malloc(n)))
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        snprintf(text, n, "^(?:%s)$", pattern);
    }
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)(text ? text : pattern), PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY,
                                   &code, &offset, NULL);
    free(text);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof(msg));
        return error_set(err, -EINVAL, ERROR_PERMANENT, "error parsing regexp: %s: `%s`",
                         (const char *)msg, pattern);
    }
    *out = re;
    return 0;
}

static int set_field(enum k8s_field *out, const char *name)
{
    for (int f = 0; f < K8S_FIELD_COUNT; f++)
        if (!strcmp(field_names[f], name)) {
            *out = (enum k8s_field)f;
            return 0;
        }
    return -EINVAL;
}

static int parse_metadata_from(const char *from, enum k8s_metadata_from *out)
{
    static const struct {
        const char *name;
        enum k8s_metadata_from from;
    } names[] = {
        {"", K8S_META_POD},
        {"pod", K8S_META_POD},
        {"namespace", K8S_META_NAMESPACE},
        {"node", K8S_META_NODE},
        {"deployment", K8S_META_DEPLOYMENT},
        {"statefulset", K8S_META_STATEFULSET},
        {"daemonset", K8S_META_DAEMONSET},
        {"job", K8S_META_JOB},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(names[i].name, from)) {
            *out = names[i].from;
            return 0;
        }
    return -EINVAL;
}

static int dup_into(char **out, const char *s, struct error *err)
{
    if (!(*out = strdup(s)))
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    return 0;
}

/* extractFieldRules for one list: labels or annotations. */
static int build_field_rules(const json_t *list, const char *path, bool annotation,
                             struct k8sattributes_rules *out, struct error *err)
{
    size_t n;
    int rc = check_list(list, path, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char item_path[96];
        snprintf(item_path, sizeof(item_path), "%s[%zu]", path, i);
        struct field_extract_config fc = {0};
        rc = options_bind(field_extract_options, json_array_get(list, i), &fc, item_path, err);
        if (rc == 0 && fc.key && fc.key[0] && fc.key_regex && fc.key_regex[0])
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "Out of Key or KeyRegex only one option is expected to be configured "
                           "at a time, currently Key:%s and KeyRegex:%s",
                           fc.key, fc.key_regex);
        enum k8s_metadata_from from = K8S_META_POD;
        if (rc == 0 && parse_metadata_from(str(fc.from), &from) < 0)
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "%s is not a valid choice for From. Must be one of: pod, namespace, "
                           "deployment, statefulset, daemonset, job, node",
                           fc.from);
        struct k8s_field_rule *rule = &out->field_rules[out->field_rule_count];
        if (rc == 0) {
            out->field_rule_count++;
            rule->from = from;
            rule->annotation = annotation;
            if (fc.key_regex && fc.key_regex[0])
                rc = compile_regex(fc.key_regex, true, &rule->key_regex, err);
        }
        if (rc == 0 && fc.key && fc.key[0])
            rc = dup_into(&rule->key, fc.key, err);
        if (rc == 0 && fc.tag_name && fc.tag_name[0]) {
            rc = dup_into(&rule->tag_name, fc.tag_name, err);
        } else if (rc == 0 && rule->key) {
            static const char *const from_names[] = {
                "pod", "namespace", "node", "deployment", "statefulset", "daemonset", "job"};
            char name[512];
            snprintf(name, sizeof(name), "k8s.%s.%s.%s", from_names[from],
                     annotation ? "annotations" : "labels", rule->key);
            rc = dup_into(&rule->tag_name, name, err);
        }
        options_free(field_extract_options, &fc);
    }
    return rc;
}

static int build_associations(const json_t *list, struct k8sattributes_rules *out,
                              struct error *err)
{
    size_t n;
    int rc = check_list(list, "pod_association", &n, err);
    if (rc < 0 || n == 0)
        return rc;
    if (!(out->associations = calloc(n, sizeof(*out->associations))))
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char path[96];
        snprintf(path, sizeof(path), "pod_association[%zu]", i);
        struct association_config ac = {0};
        rc = options_bind(association_options, json_array_get(list, i), &ac, path, err);
        size_t sources = 0;
        if (rc == 0) {
            strncat(path, ".sources", sizeof(path) - strlen(path) - 1);
            rc = check_list(ac.sources, path, &sources, err);
        }
        if (rc == 0 && sources > K8S_ASSOCIATION_SOURCES_MAX)
            rc =
                error_set(err, -EINVAL, ERROR_PERMANENT,
                          "too many association sources. limit is %d", K8S_ASSOCIATION_SOURCES_MAX);
        struct k8s_association *a = &out->associations[i];
        if (rc == 0)
            out->association_count++;
        for (size_t k = 0; rc == 0 && k < sources; k++) {
            char source_path[128];
            snprintf(source_path, sizeof(source_path), "%s[%zu]", path, k);
            struct source_config sc = {0};
            rc = options_bind(source_options, json_array_get(ac.sources, k), &sc, source_path, err);
            struct k8s_association_source *s = &a->sources[k];
            if (rc == 0) {
                a->count++;
                s->from = !strcmp(str(sc.from), "connection") ? K8S_FROM_CONNECTION
                          : !strcmp(str(sc.from), "resource_attribute")
                              ? K8S_FROM_RESOURCE_ATTRIBUTE
                              : K8S_FROM_UNKNOWN;
                rc = dup_into(&s->from_text, str(sc.from), err);
            }
            if (rc == 0)
                rc = dup_into(&s->name, s->from == K8S_FROM_CONNECTION ? "" : str(sc.name), err);
            options_free(source_options, &sc);
        }
        options_free(association_options, &ac);
    }
    return rc;
}

static int build_filter_terms(const json_t *list, const char *path, bool labels,
                              struct k8s_selector_term **terms, size_t *count, struct error *err)
{
    size_t n;
    int rc = check_list(list, path, &n, err);
    if (rc < 0 || n == 0)
        return rc;
    if (!(*terms = calloc(n, sizeof(**terms))))
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char item_path[96];
        snprintf(item_path, sizeof(item_path), "%s[%zu]", path, i);
        struct filter_term_config tc = {0};
        rc = options_bind(filter_term_options, json_array_get(list, i), &tc, item_path, err);
        const char *op = str(tc.op);
        bool ok = !op[0] || !strcmp(op, "equals") || !strcmp(op, "not-equals") ||
                  (labels && (!strcmp(op, "exists") || !strcmp(op, "does-not-exist")));
        if (rc == 0 && !ok)
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "'%s' is not a valid label filter operation for key=%s, value=%s", op,
                           str(tc.key), str(tc.value));
        struct k8s_selector_term *t = &(*terms)[i];
        if (rc == 0) {
            (*count)++;
            snprintf(t->op, sizeof(t->op), "%s", op[0] ? op : "equals");
            rc = dup_into(&t->key, str(tc.key), err);
        }
        if (rc == 0)
            rc = dup_into(&t->value, str(tc.value), err);
        options_free(filter_term_options, &tc);
    }
    return rc;
}

static int build_excludes(const json_t *list, struct k8sattributes_rules *out, struct error *err)
{
    size_t n;
    int rc = check_list(list, "exclude.pods", &n, err);
    if (rc < 0 || n == 0)
        return rc;
    if (!(out->exclude_pods = calloc(n, sizeof(*out->exclude_pods))))
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "exclude.pods[%zu]", i);
        struct exclude_pod_config ec = {0};
        rc = options_bind(exclude_pod_options, json_array_get(list, i), &ec, path, err);
        /* regexp.MustCompile in withExcludes: upstream panics at creation on a bad pattern. */
        if (rc == 0 && (rc = compile_regex(str(ec.name), false, &out->exclude_pods[i], err)) == 0)
            out->exclude_count++;
        options_free(exclude_pod_options, &ec);
    }
    return rc;
}

int k8sattributes_rules_build(const struct k8sattributes_config *cfg,
                              struct k8sattributes_rules *out, struct error *err)
{
    static const char *const auth_types[] = {"none", "serviceAccount", "kubeConfig", "tls"};
    bool auth_ok = false;
    for (size_t i = 0; i < sizeof(auth_types) / sizeof(auth_types[0]); i++)
        auth_ok |= !strcmp(str(cfg->auth_type), auth_types[i]);
    if (!auth_ok)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "invalid authType for kubernetes: %s",
                         str(cfg->auth_type));
    out->passthrough = cfg->passthrough;
    out->deployment_name_from_replicaset = cfg->extract.deployment_name_from_replicaset;
    int rc = build_associations(cfg->pod_association, out, err);
    if (rc < 0)
        return rc;
    size_t labels, annotations;
    if ((rc = check_list(cfg->extract.labels, "extract.labels", &labels, err)) < 0 ||
        (rc = check_list(cfg->extract.annotations, "extract.annotations", &annotations, err)) < 0)
        return rc;
    if (!(out->field_rules = calloc(labels + annotations + 1, sizeof(*out->field_rules))))
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    if ((rc = build_field_rules(cfg->extract.labels, "extract.labels", false, out, err)) < 0 ||
        (rc = build_field_rules(cfg->extract.annotations, "extract.annotations", true, out, err)) <
            0)
        return rc;
    if (cfg->extract.otel_annotations) {
        /* options.go adds this rule: resource.opentelemetry.io/<x> -> <x>. */
        struct k8s_field_rule *rule = &out->field_rules[out->field_rule_count++];
        rule->annotation = true;
        rule->from = K8S_META_POD;
        if ((rc = dup_into(&rule->tag_name, "$1", err)) < 0 ||
            (rc = compile_regex("resource\\.opentelemetry\\.io/(.+)", true, &rule->key_regex,
                                err)) < 0)
            return rc;
    }
    for (size_t i = 0; i < cfg->extract.metadata.count; i++) {
        enum k8s_field f;
        if (set_field(&f, cfg->extract.metadata.items[i]) < 0)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "\"%s\" is not a supported metadata field",
                             cfg->extract.metadata.items[i]);
        out->fields[f] = true;
    }
    if ((rc = build_filter_terms(cfg->filter.labels, "filter.labels", true, &out->label_filters,
                                 &out->label_filter_count, err)) < 0 ||
        (rc = build_filter_terms(cfg->filter.fields, "filter.fields", false, &out->field_filters,
                                 &out->field_filter_count, err)) < 0)
        return rc;
    if (cfg->filter.node_from_env_var && cfg->filter.node_from_env_var[0]) {
        const char *value = getenv(cfg->filter.node_from_env_var);
        if (!value) {
            char quoted[300];
            go_quote_to(quoted, sizeof(quoted), cfg->filter.node_from_env_var,
                        strlen(cfg->filter.node_from_env_var));
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "`node_from_env_var` is configured but envvar %s is not set", quoted);
        }
        /* withFilterNode: the variable's value replaces filter.node, even when empty. */
        if (value[0] && (rc = dup_into(&out->filter_node, value, err)) < 0)
            return rc;
    } else if (cfg->filter.node && cfg->filter.node[0]) {
        if ((rc = dup_into(&out->filter_node, cfg->filter.node, err)) < 0)
            return rc;
    }
    if (cfg->filter.namespace && cfg->filter.namespace[0] &&
        (rc = dup_into(&out->filter_namespace, cfg->filter.namespace, err)) < 0)
        return rc;
    return build_excludes(cfg->exclude.pods, out, err);
}

static void free_terms(struct k8s_selector_term *terms, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(terms[i].key);
        free(terms[i].value);
    }
    free(terms);
}

void k8sattributes_rules_free(struct k8sattributes_rules *rules)
{
    if (!rules)
        return;
    for (size_t i = 0; i < rules->association_count; i++)
        for (size_t k = 0; k < rules->associations[i].count; k++) {
            free(rules->associations[i].sources[k].from_text);
            free(rules->associations[i].sources[k].name);
        }
    free(rules->associations);
    for (size_t i = 0; i < rules->field_rule_count; i++) {
        free(rules->field_rules[i].tag_name);
        free(rules->field_rules[i].key);
        pcre2_code_free(rules->field_rules[i].key_regex);
    }
    free(rules->field_rules);
    for (size_t i = 0; i < rules->exclude_count; i++)
        pcre2_code_free(rules->exclude_pods[i]);
    free(rules->exclude_pods);
    free(rules->filter_node);
    free(rules->filter_namespace);
    free_terms(rules->label_filters, rules->label_filter_count);
    free_terms(rules->field_filters, rules->field_filter_count);
    memset(rules, 0, sizeof(*rules));
}

int k8sattributes_validate(const void *config, struct error *err)
{
    struct k8sattributes_rules rules = {0};
    int rc = k8sattributes_rules_build(config, &rules, err);
    k8sattributes_rules_free(&rules);
    return rc;
}
