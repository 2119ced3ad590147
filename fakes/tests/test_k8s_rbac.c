/*
 * test_k8s_rbac.c - RBAC as the Kubernetes API server evaluates it (k8s_rbac.h).
 *
 * One cluster policy (POLICY below, the objects as kubectl would send them) and a table of
 * requests against it: each row is who asks, what they ask, and what the API server answers
 * (allowed with its reason text, or denied with its reason). Read the table as the
 * specification; the separate tests cover the 403 bodies, the grant record the audit shows, the
 * ServiceAccount identities and malformed objects.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "k8s_rbac.h"

/* JSON written with ' for " so that the policy reads like a manifest. Caller owns. */
static json_t *json_from_text(const char *text)
{
    char *copy = strdup(text);
    assert_non_null(copy);
    for (char *p = copy; *p; p++) {
        if (*p == '\'')
            *p = '"';
    }
    json_error_t error;
    json_t *json = json_loads(copy, 0, &error);
    if (!json)
        fail_msg("bad test JSON at line %d: %s", error.line, error.text);
    free(copy);
    return json;
}

/* The cluster's RBAC objects. The RoleBinding "deployers-ns" comes first on purpose: upstream
 * visits every ClusterRoleBinding before any RoleBinding, whatever the order of storage. */
static const char POLICY[] =
    "["
    /* --- visited after the ClusterRoleBindings despite coming first --- */
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding',"
    " 'metadata':{'name':'deployers-ns','namespace':'team-a'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole',"
    "            'name':'deployment-editor'},"
    " 'subjects':[{'kind':'User','name':'deployer'}]},"

    /* --- the team's collector (rbac-seed.yaml's rules) and Target Allocator --- */
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'otel-collector'},"
    " 'rules':[{'apiGroups':[''],'resources':['nodes','pods','services','endpoints'],"
    "           'verbs':['get','list','watch']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding',"
    " 'metadata':{'name':'collector'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole',"
    "            'name':'otel-collector'},"
    " 'subjects':[{'kind':'ServiceAccount','name':'otel-collector',"
    "              'namespace':'opentelemetry'}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'otel-targetallocator'},"
    " 'rules':[{'apiGroups':['monitoring.coreos.com'],'resources':['servicemonitors','podmonitors']"
    ","
    "           'verbs':['get','list','watch']},"
    "          {'apiGroups':[''],'resources':['namespaces','nodes','services','endpoints','pods'],"
    "           'verbs':['get','list','watch']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding',"
    " 'metadata':{'name':'targetallocator'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole',"
    "            'name':'otel-targetallocator'},"
    " 'subjects':[{'kind':'ServiceAccount','name':'otel-targetallocator',"
    "              'namespace':'opentelemetry'}]},"

    /* --- cluster-admin, as upstream's bootstrap policy writes it --- */
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'cluster-admin'},"
    " 'rules':[{'apiGroups':['*'],'resources':['*'],'verbs':['*']},"
    "          {'nonResourceURLs':['*'],'verbs':['*']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding',"
    " 'metadata':{'name':'cluster-admin'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole',"
    "            'name':'cluster-admin'},"
    " 'subjects':[{'kind':'Group','name':'system:masters'}]},"

    /* --- non-resource URLs --- */
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'metrics-scraper'},"
    " 'rules':[{'nonResourceURLs':['/metrics','/logs/*'],'verbs':['get']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding',"
    " 'metadata':{'name':'metrics'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole',"
    "            'name':'metrics-scraper'},"
    " 'subjects':[{'kind':'User','name':'prometheus'}]},"

    /* --- subresources --- */
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'status-writer'},"
    " 'rules':[{'apiGroups':['*'],'resources':['*/status'],'verbs':['update','patch']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding',"
    " 'metadata':{'name':'status-writers'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole',"
    "            'name':'status-writer'},"
    " 'subjects':[{'kind':'User','name':'controller'}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'log-reader'},"
    " 'rules':[{'apiGroups':[''],'resources':['pods/log'],'verbs':['get']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding',"
    " 'metadata':{'name':'log-readers'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole',"
    "            'name':'log-reader'},"
    " 'subjects':[{'kind':'User','name':'nobody'},{'kind':'Group','name':'log-readers'},"
    "             {'kind':'User','name':'erin'}]},"

    /* --- bindings that name roles that are not there --- */
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding',"
    " 'metadata':{'name':'broken'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole',"
    "            'name':'does-not-exist'},"
    " 'subjects':[{'kind':'User','name':'broken-user'}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding',"
    " 'metadata':{'name':'crb-to-role'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'Role','name':'configmap-editor'},"
    " 'subjects':[{'kind':'User','name':'crb-role-user'}]},"

    /* --- a ServiceAccount subject without namespace in a ClusterRoleBinding --- */
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'pod-reader'},"
    " 'rules':[{'apiGroups':[''],'resources':['pods'],'verbs':['get','list','watch']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding',"
    " 'metadata':{'name':'sa-without-namespace'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole','name':'pod-reader'},"
    " 'subjects':[{'kind':'ServiceAccount','name':'lost'}]},"

    /* --- two ClusterRoleBindings that both allow: the first in storage is reported --- */
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'deployment-editor'},"
    " 'rules':[{'apiGroups':['apps'],'resources':['deployments','replicasets'],"
    "           'verbs':['get','list','watch','update']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding',"
    " 'metadata':{'name':'deployers'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole',"
    "            'name':'deployment-editor'},"
    " 'subjects':[{'kind':'User','name':'deployer'}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding',"
    " 'metadata':{'name':'deployers-again'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole',"
    "            'name':'deployment-editor'},"
    " 'subjects':[{'kind':'User','name':'deployer'}]},"

    /* --- an aggregated ClusterRole: its rules come from the labelled ClusterRoles --- */
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'view-aggregate'},"
    " 'aggregationRule':{'clusterRoleSelectors':["
    "   {'matchLabels':{'rbac.example.com/aggregate-to-view':'true'}}]},"
    " 'rules':[]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'view-extra','labels':{'rbac.example.com/aggregate-to-view':'true'}},"
    " 'rules':[{'apiGroups':[''],'resources':['configmaps'],'verbs':['get','list','watch']},"
    "          {'apiGroups':['networking.k8s.io'],'resources':['ingresses'],"
    "           'verbs':['list','watch']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'view-configmaps',"
    "             'labels':{'rbac.example.com/aggregate-to-view':'true'}},"
    " 'rules':[{'apiGroups':[''],'resources':['configmaps'],'verbs':['get','list','watch']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'view-secrets','labels':{'rbac.example.com/aggregate-to-edit':'true'}},"
    " 'rules':[{'apiGroups':[''],'resources':['secrets'],'verbs':['get']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding',"
    " 'metadata':{'name':'viewers'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole',"
    "            'name':'view-aggregate'},"
    " 'subjects':[{'kind':'Group','name':'viewers'}]},"

    /* --- namespace team-a --- */
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'Role',"
    " 'metadata':{'name':'configmap-editor','namespace':'team-a'},"
    " 'rules':[{'apiGroups':[''],'resources':['configmaps'],"
    "           'verbs':['get','list','create','update']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding',"
    " 'metadata':{'name':'alice-configmaps','namespace':'team-a'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'Role','name':'configmap-editor'},"
    " 'subjects':[{'kind':'User','name':'alice'}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding',"
    " 'metadata':{'name':'bob-pods','namespace':'team-a'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole','name':'pod-reader'},"
    " 'subjects':[{'kind':'User','name':'bob'}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding',"
    " 'metadata':{'name':'builder-local','namespace':'team-a'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole','name':'pod-reader'},"
    " 'subjects':[{'kind':'ServiceAccount','name':'builder'}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding',"
    " 'metadata':{'name':'builder-from-team-b','namespace':'team-a'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole','name':'pod-reader'},"
    " 'subjects':[{'kind':'ServiceAccount','name':'builder','namespace':'team-b'}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'configmap-anything'},"
    " 'rules':[{'apiGroups':[''],'resources':['configmaps'],'verbs':['*']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding',"
    " 'metadata':{'name':'devs','namespace':'team-a'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole',"
    "            'name':'configmap-anything'},"
    " 'subjects':[{'kind':'Group','name':'devs'}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding',"
    " 'metadata':{'name':'broken-user-pods','namespace':'team-a'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole','name':'pod-reader'},"
    " 'subjects':[{'kind':'User','name':'broken-user'}]},"

    /* --- namespace team-b --- */
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole',"
    " 'metadata':{'name':'app-config-reader'},"
    " 'rules':[{'apiGroups':[''],'resources':['secrets'],'resourceNames':['app-config'],"
    "           'verbs':['get','list','watch']}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding',"
    " 'metadata':{'name':'carol-app-config','namespace':'team-b'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole',"
    "            'name':'app-config-reader'},"
    " 'subjects':[{'kind':'User','name':'carol'}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding',"
    " 'metadata':{'name':'broken-role','namespace':'team-b'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'Role','name':'missing-role'},"
    " 'subjects':[{'kind':'User','name':'broken-user'}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding',"
    " 'metadata':{'name':'no-role-ref','namespace':'team-b'},"
    " 'subjects':[{'kind':'User','name':'broken-user'}]},"
    "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding',"
    " 'metadata':{'name':'broken-again','namespace':'team-b'},"
    " 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'Role','name':'missing-role'},"
    " 'subjects':[{'kind':'User','name':'broken-user'}]},"

    /* --- other kinds are not RBAC and are skipped --- */
    "{'apiVersion':'v1','kind':'ServiceAccount',"
    " 'metadata':{'name':'otel-collector','namespace':'opentelemetry'}}"
    "]";

/* ---- the table ---- */

struct rbac_case {
    const char *description;
    const char *user;
    const char *groups[4]; /* NULL-terminated */
    struct k8s_rbac_attributes request;
    bool allowed;
    const char *reason; /* the exact reason text ("" = none) */
    size_t rule;        /* allowed: the index of the rule that allowed */
};

/* Identities. */
#define USER(name) .user = (name), .groups = {"system:authenticated"}
#define IN_GROUP(name, group) .user = (name), .groups = {(group), "system:authenticated"}
#define SERVICE_ACCOUNT(ns, name)                                                                  \
    .user = "system:serviceaccount:" ns ":" name,                                                  \
    .groups = {"system:serviceaccounts", "system:serviceaccounts:" ns, "system:authenticated"}

/* Requests, in RequestInfo's terms: verb, API group ("" = core), resource, subresource,
 * namespace ("" = cluster scope), name. */
#define RESOURCE(verb_, group_, resource_, sub_, ns_, name_)                                       \
    .request = {.resource_request = true,                                                          \
                .verb = (verb_),                                                                   \
                .api_group = (group_),                                                             \
                .resource = (resource_),                                                           \
                .subresource = (sub_),                                                             \
                .namespace = (ns_),                                                                \
                .name = (name_)}
#define PATH(verb_, path_) .request = {.resource_request = false, .verb = (verb_), .path = (path_)}

#define ALLOWED(reason_text, rule_index)                                                           \
    .allowed = true, .reason = (reason_text), .rule = (rule_index)
#define DENIED(reason_text) .allowed = false, .reason = (reason_text)

#define COLLECTOR "system:serviceaccount:opentelemetry:otel-collector"
#define BY_COLLECTOR                                                                               \
    "RBAC: allowed by ClusterRoleBinding \"collector\" of ClusterRole \"otel-collector\" to "      \
    "ServiceAccount \"otel-collector/opentelemetry\""
#define BY_TARGET_ALLOCATOR                                                                        \
    "RBAC: allowed by ClusterRoleBinding \"targetallocator\" of ClusterRole "                      \
    "\"otel-targetallocator\" to ServiceAccount \"otel-targetallocator/opentelemetry\""

static const struct rbac_case cases[] = {
    /* The team's collector: a ClusterRole through a ClusterRoleBinding applies everywhere. */
    {"collector lists pods across the cluster", SERVICE_ACCOUNT("opentelemetry", "otel-collector"),
     RESOURCE("list", "", "pods", "", "", ""), ALLOWED(BY_COLLECTOR, 0)},
    {"collector watches pods across the cluster",
     SERVICE_ACCOUNT("opentelemetry", "otel-collector"), RESOURCE("watch", "", "pods", "", "", ""),
     ALLOWED(BY_COLLECTOR, 0)},
    {"collector gets a node by name", SERVICE_ACCOUNT("opentelemetry", "otel-collector"),
     RESOURCE("get", "", "nodes", "", "", "kind-worker"), ALLOWED(BY_COLLECTOR, 0)},
    {"a ClusterRoleBinding also grants inside a namespace",
     SERVICE_ACCOUNT("opentelemetry", "otel-collector"),
     RESOURCE("list", "", "endpoints", "", "team-a", ""), ALLOWED(BY_COLLECTOR, 0)},
    {"collector may not list apps/replicasets (k8s.deployment.name stays unset)",
     SERVICE_ACCOUNT("opentelemetry", "otel-collector"),
     RESOURCE("list", "apps", "replicasets", "", "", ""), DENIED("")},
    {"collector may not watch namespaces", SERVICE_ACCOUNT("opentelemetry", "otel-collector"),
     RESOURCE("watch", "", "namespaces", "", "", ""), DENIED("")},
    {"the API group must match: pods in group apps are not core pods",
     SERVICE_ACCOUNT("opentelemetry", "otel-collector"),
     RESOURCE("list", "apps", "pods", "", "", ""), DENIED("")},
    {"the verb must match: collector may not create pods",
     SERVICE_ACCOUNT("opentelemetry", "otel-collector"),
     RESOURCE("create", "", "pods", "", "team-a", ""), DENIED("")},
    {"pods does not grant the subresource pods/log",
     SERVICE_ACCOUNT("opentelemetry", "otel-collector"),
     RESOURCE("get", "", "pods", "log", "team-a", "web-0"), DENIED("")},
    {"a ServiceAccount of the same name in another namespace is someone else",
     SERVICE_ACCOUNT("default", "otel-collector"), RESOURCE("list", "", "pods", "", "", ""),
     DENIED("")},
    {"a User named like the ServiceAccount's short name is someone else", USER("otel-collector"),
     RESOURCE("list", "", "pods", "", "", ""), DENIED("")},

    /* The Target Allocator. */
    {"target allocator lists servicemonitors",
     SERVICE_ACCOUNT("opentelemetry", "otel-targetallocator"),
     RESOURCE("list", "monitoring.coreos.com", "servicemonitors", "", "", ""),
     ALLOWED(BY_TARGET_ALLOCATOR, 0)},
    {"target allocator watches podmonitors in one namespace",
     SERVICE_ACCOUNT("opentelemetry", "otel-targetallocator"),
     RESOURCE("watch", "monitoring.coreos.com", "podmonitors", "", "monitoring", ""),
     ALLOWED(BY_TARGET_ALLOCATOR, 0)},
    {"target allocator lists namespaces (its second rule)",
     SERVICE_ACCOUNT("opentelemetry", "otel-targetallocator"),
     RESOURCE("list", "", "namespaces", "", "", ""), ALLOWED(BY_TARGET_ALLOCATOR, 1)},
    {"target allocator watches endpoints", SERVICE_ACCOUNT("opentelemetry", "otel-targetallocator"),
     RESOURCE("watch", "", "endpoints", "", "", ""), ALLOWED(BY_TARGET_ALLOCATOR, 1)},
    {"target allocator may not list probes",
     SERVICE_ACCOUNT("opentelemetry", "otel-targetallocator"),
     RESOURCE("list", "monitoring.coreos.com", "probes", "", "", ""), DENIED("")},
    {"target allocator may not list endpointslices",
     SERVICE_ACCOUNT("opentelemetry", "otel-targetallocator"),
     RESOURCE("list", "discovery.k8s.io", "endpointslices", "", "", ""), DENIED("")},
    {"servicemonitors in the core group are not monitoring.coreos.com's",
     SERVICE_ACCOUNT("opentelemetry", "otel-targetallocator"),
     RESOURCE("list", "", "servicemonitors", "", "", ""), DENIED("")},

    /* A Role through a RoleBinding: its namespace only. */
    {"Role via RoleBinding in its namespace", USER("alice"),
     RESOURCE("get", "", "configmaps", "", "team-a", "settings"),
     ALLOWED("RBAC: allowed by RoleBinding \"alice-configmaps/team-a\" of Role "
             "\"configmap-editor\" to User \"alice\"",
             0)},
    {"Role via RoleBinding in another namespace", USER("alice"),
     RESOURCE("get", "", "configmaps", "", "team-b", "settings"), DENIED("")},
    {"Role via RoleBinding at the cluster scope", USER("alice"),
     RESOURCE("list", "", "configmaps", "", "", ""), DENIED("")},
    {"Role via RoleBinding: a verb the Role lacks", USER("alice"),
     RESOURCE("delete", "", "configmaps", "", "team-a", "settings"), DENIED("")},

    /* A ClusterRole through a RoleBinding: scoped to the binding's namespace. */
    {"ClusterRole via RoleBinding in the binding's namespace", USER("bob"),
     RESOURCE("list", "", "pods", "", "team-a", ""),
     ALLOWED("RBAC: allowed by RoleBinding \"bob-pods/team-a\" of ClusterRole \"pod-reader\" to "
             "User \"bob\"",
             0)},
    {"ClusterRole via RoleBinding in another namespace", USER("bob"),
     RESOURCE("list", "", "pods", "", "team-b", ""), DENIED("")},
    {"ClusterRole via RoleBinding never grants at the cluster scope", USER("bob"),
     RESOURCE("list", "", "pods", "", "", ""), DENIED("")},

    /* ServiceAccount subjects. */
    {"a RoleBinding's SA subject without namespace is in the binding's namespace",
     SERVICE_ACCOUNT("team-a", "builder"), RESOURCE("list", "", "pods", "", "team-a", ""),
     ALLOWED("RBAC: allowed by RoleBinding \"builder-local/team-a\" of ClusterRole \"pod-reader\" "
             "to ServiceAccount \"builder/team-a\"",
             0)},
    {"a RoleBinding may name a ServiceAccount of another namespace",
     SERVICE_ACCOUNT("team-b", "builder"), RESOURCE("list", "", "pods", "", "team-a", ""),
     ALLOWED("RBAC: allowed by RoleBinding \"builder-from-team-b/team-a\" of ClusterRole "
             "\"pod-reader\" to ServiceAccount \"builder/team-b\"",
             0)},
    {"that grant holds in the binding's namespace, not the ServiceAccount's",
     SERVICE_ACCOUNT("team-b", "builder"), RESOURCE("list", "", "pods", "", "team-b", ""),
     DENIED("")},
    {"a ClusterRoleBinding's SA subject without namespace matches nobody",
     SERVICE_ACCOUNT("default", "lost"), RESOURCE("list", "", "pods", "", "", ""), DENIED("")},
    {"... not even in a namespace", SERVICE_ACCOUNT("default", "lost"),
     RESOURCE("list", "", "pods", "", "default", ""), DENIED("")},

    /* Groups. */
    {"system:masters may do anything", IN_GROUP("dave", "system:masters"),
     RESOURCE("delete", "", "nodes", "", "", "kind-worker"),
     ALLOWED("RBAC: allowed by ClusterRoleBinding \"cluster-admin\" of ClusterRole "
             "\"cluster-admin\" to Group \"system:masters\"",
             0)},
    {"system:masters may get any path (the second rule)", IN_GROUP("dave", "system:masters"),
     PATH("get", "/healthz"),
     ALLOWED("RBAC: allowed by ClusterRoleBinding \"cluster-admin\" of ClusterRole "
             "\"cluster-admin\" to Group \"system:masters\"",
             1)},
    {"the first subject that applies is the one reported", IN_GROUP("erin", "log-readers"),
     RESOURCE("get", "", "pods", "log", "team-a", "web-0"),
     ALLOWED("RBAC: allowed by ClusterRoleBinding \"log-readers\" of ClusterRole \"log-reader\" to "
             "Group \"log-readers\"",
             0)},
    {"the same user outside the group is matched by name", USER("erin"),
     RESOURCE("get", "", "pods", "log", "team-a", "web-0"),
     ALLOWED("RBAC: allowed by ClusterRoleBinding \"log-readers\" of ClusterRole \"log-reader\" to "
             "User \"erin\"",
             0)},
    {"pods/log does not grant pods", IN_GROUP("erin", "log-readers"),
     RESOURCE("get", "", "pods", "", "team-a", "web-0"), DENIED("")},
    {"a group name is not a user name", USER("log-readers"),
     RESOURCE("get", "", "pods", "log", "team-a", "web-0"), DENIED("")},

    /* Wildcards. */
    {"verbs '*' allows patch", IN_GROUP("frank", "devs"),
     RESOURCE("patch", "", "configmaps", "", "team-a", "settings"),
     ALLOWED("RBAC: allowed by RoleBinding \"devs/team-a\" of ClusterRole \"configmap-anything\" "
             "to Group \"devs\"",
             0)},
    {"verbs '*' allows deletecollection", IN_GROUP("frank", "devs"),
     RESOURCE("deletecollection", "", "configmaps", "", "team-a", ""),
     ALLOWED("RBAC: allowed by RoleBinding \"devs/team-a\" of ClusterRole \"configmap-anything\" "
             "to Group \"devs\"",
             0)},
    {"verbs '*' does not widen the resources", IN_GROUP("frank", "devs"),
     RESOURCE("get", "", "secrets", "", "team-a", "token"), DENIED("")},
    {"apiGroups '*' and '*/status' allow deployments/status", USER("controller"),
     RESOURCE("update", "apps", "deployments", "status", "team-a", "web"),
     ALLOWED("RBAC: allowed by ClusterRoleBinding \"status-writers\" of ClusterRole "
             "\"status-writer\" to User \"controller\"",
             0)},
    {"'*/status' allows nodes/status in the core group", USER("controller"),
     RESOURCE("patch", "", "nodes", "status", "", "kind-worker"),
     ALLOWED("RBAC: allowed by ClusterRoleBinding \"status-writers\" of ClusterRole "
             "\"status-writer\" to User \"controller\"",
             0)},
    {"'*/status' does not allow the resource itself", USER("controller"),
     RESOURCE("update", "apps", "deployments", "", "team-a", "web"), DENIED("")},
    {"'*/status' does not allow another subresource", USER("controller"),
     RESOURCE("update", "apps", "deployments", "scale", "team-a", "web"), DENIED("")},
    {"'*/status' with a verb the rule lacks", USER("controller"),
     RESOURCE("get", "", "pods", "status", "team-a", "web-0"), DENIED("")},

    /* resourceNames. */
    {"resourceNames: get of a listed name", USER("carol"),
     RESOURCE("get", "", "secrets", "", "team-b", "app-config"),
     ALLOWED("RBAC: allowed by RoleBinding \"carol-app-config/team-b\" of ClusterRole "
             "\"app-config-reader\" to User \"carol\"",
             0)},
    {"resourceNames: get of another name", USER("carol"),
     RESOURCE("get", "", "secrets", "", "team-b", "db-password"), DENIED("")},
    {"resourceNames: list without a name never matches", USER("carol"),
     RESOURCE("list", "", "secrets", "", "team-b", ""), DENIED("")},
    {"resourceNames: watch with a metadata.name field selector", USER("carol"),
     RESOURCE("watch", "", "secrets", "", "team-b", "app-config"),
     ALLOWED("RBAC: allowed by RoleBinding \"carol-app-config/team-b\" of ClusterRole "
             "\"app-config-reader\" to User \"carol\"",
             0)},

    /* Non-resource URLs. */
    {"non-resource URL, exact", USER("prometheus"), PATH("get", "/metrics"),
     ALLOWED("RBAC: allowed by ClusterRoleBinding \"metrics\" of ClusterRole \"metrics-scraper\" "
             "to User \"prometheus\"",
             0)},
    {"non-resource URL, exact: a longer path does not match", USER("prometheus"),
     PATH("get", "/metrics/cadvisor"), DENIED("")},
    {"non-resource URL, prefix with '*'", USER("prometheus"),
     PATH("get", "/logs/kube-apiserver.log"),
     ALLOWED("RBAC: allowed by ClusterRoleBinding \"metrics\" of ClusterRole \"metrics-scraper\" "
             "to User \"prometheus\"",
             0)},
    {"non-resource URL, the prefix is '/logs/' not '/logs'", USER("prometheus"),
     PATH("get", "/logs"), DENIED("")},
    {"non-resource URL, the verb must match", USER("prometheus"), PATH("post", "/metrics"),
     DENIED("")},
    {"non-resource rules do not grant resources", USER("prometheus"),
     RESOURCE("get", "", "metrics", "", "", ""), DENIED("")},
    {"nobody may get a path by default", USER("system:anonymous"), PATH("get", "/healthz"),
     DENIED("")},

    /* Bindings that name missing roles: the deny reason says so. */
    {"a missing ClusterRole, at the cluster scope", USER("broken-user"),
     RESOURCE("list", "", "pods", "", "", ""),
     DENIED("RBAC: clusterrole.rbac.authorization.k8s.io \"does-not-exist\" not found")},
    {"every resolution error, in visiting order, each message once", USER("broken-user"),
     RESOURCE("list", "", "pods", "", "team-b", ""),
     DENIED("RBAC: [clusterrole.rbac.authorization.k8s.io \"does-not-exist\" not found, "
            "role.rbac.authorization.k8s.io \"missing-role\" not found, "
            "unsupported role reference kind: \"\"]")},
    {"a binding that allows wins over the errors", USER("broken-user"),
     RESOURCE("list", "", "pods", "", "team-a", ""),
     ALLOWED("RBAC: allowed by RoleBinding \"broken-user-pods/team-a\" of ClusterRole "
             "\"pod-reader\" to User \"broken-user\"",
             0)},
    {"a ClusterRoleBinding cannot reach a Role", USER("crb-role-user"),
     RESOURCE("get", "", "configmaps", "", "team-a", "settings"),
     DENIED("RBAC: role.rbac.authorization.k8s.io \"configmap-editor\" not found")},
    {"errors of bindings that do not name the user stay silent", USER("alice"),
     RESOURCE("list", "", "pods", "", "team-b", ""), DENIED("")},

    /* Several bindings allow: the first visited is reported. */
    {"ClusterRoleBindings are visited before RoleBindings", USER("deployer"),
     RESOURCE("list", "apps", "deployments", "", "team-a", ""),
     ALLOWED("RBAC: allowed by ClusterRoleBinding \"deployers\" of ClusterRole "
             "\"deployment-editor\" to User \"deployer\"",
             0)},
    {"of two ClusterRoleBindings the first stored is reported", USER("deployer"),
     RESOURCE("update", "apps", "replicasets", "", "", "web-1234"),
     ALLOWED("RBAC: allowed by ClusterRoleBinding \"deployers\" of ClusterRole "
             "\"deployment-editor\" to User \"deployer\"",
             0)},

    /* An aggregated ClusterRole. */
    {"aggregated ClusterRole: a rule of a labelled ClusterRole", IN_GROUP("vera", "viewers"),
     RESOURCE("list", "", "configmaps", "", "team-a", ""),
     ALLOWED("RBAC: allowed by ClusterRoleBinding \"viewers\" of ClusterRole \"view-aggregate\" to "
             "Group \"viewers\"",
             0)},
    {"aggregated ClusterRole: a repeated rule is dropped, so ingresses is rule 1",
     IN_GROUP("vera", "viewers"), RESOURCE("watch", "networking.k8s.io", "ingresses", "", "", ""),
     ALLOWED("RBAC: allowed by ClusterRoleBinding \"viewers\" of ClusterRole \"view-aggregate\" to "
             "Group \"viewers\"",
             1)},
    {"aggregated ClusterRole: a ClusterRole with other labels adds nothing",
     IN_GROUP("vera", "viewers"), RESOURCE("get", "", "secrets", "", "team-a", "token"),
     DENIED("")},
};

static json_t *load_policy(void)
{
    return json_from_text(POLICY);
}

static void test_table(void **state)
{
    (void)state;
    json_t *policy = load_policy();
    size_t failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rbac_case *c = &cases[i];
        size_t group_count = 0;
        while (group_count < 4 && c->groups[group_count])
            group_count++;
        struct k8s_rbac_user user = {c->user, c->groups, group_count};
        struct k8s_rbac_decision d;
        k8s_rbac_authorize(policy, &user, &c->request, &d);
        bool ok = d.allowed == c->allowed && strcmp(d.reason, c->reason) == 0 &&
                  !d.reason_truncated && (!c->allowed || d.grant.rule_index == c->rule);
        if (!ok) {
            failures++;
            print_error("case %zu \"%s\":\n  want %s [%s] rule %zu\n  got  %s [%s] rule %zu\n", i,
                        c->description, c->allowed ? "allowed" : "denied", c->reason, c->rule,
                        d.allowed ? "allowed" : "denied", d.reason, d.grant.rule_index);
        }
    }
    json_decref(policy);
    if (failures)
        fail_msg("%zu of %zu cases failed", failures, sizeof(cases) / sizeof(cases[0]));
}

/* ---- the grant record (the audit's "rule and binding that allowed it") ---- */

static const json_t *find_object(const json_t *policy, const char *kind, const char *name)
{
    size_t i;
    const json_t *object;
    json_array_foreach(policy, i, object)
    {
        if (strcmp(json_string_value(json_object_get(object, "kind")), kind) == 0 &&
            strcmp(json_string_value(json_object_get(json_object_get(object, "metadata"), "name")),
                   name) == 0)
            return object;
    }
    fail_msg("no %s %s in the policy", kind, name);
    return NULL;
}

static void test_grant_names_binding_subject_role_and_rule(void **state)
{
    (void)state;
    json_t *policy = load_policy();
    const char *groups[] = {"log-readers"};
    struct k8s_rbac_user user = {"erin", groups, 1};
    struct k8s_rbac_attributes request = {.resource_request = true,
                                          .verb = "get",
                                          .resource = "pods",
                                          .subresource = "log",
                                          .namespace = "team-a",
                                          .name = "web-0"};
    struct k8s_rbac_decision d;
    k8s_rbac_authorize(policy, &user, &request, &d);
    assert_true(d.allowed);
    const struct k8s_rbac_grant *g = &d.grant;
    assert_string_equal(g->binding_kind, "ClusterRoleBinding");
    assert_string_equal(g->binding_name, "log-readers");
    assert_string_equal(g->binding_namespace, "");
    assert_ptr_equal(g->binding, find_object(policy, "ClusterRoleBinding", "log-readers"));
    assert_int_equal(g->subject_index, 1); /* the Group, before the User "erin" */
    assert_string_equal(g->role_kind, "ClusterRole");
    assert_string_equal(g->role_name, "log-reader");
    const json_t *role = find_object(policy, "ClusterRole", "log-reader");
    assert_ptr_equal(g->role, role);
    assert_ptr_equal(g->rule_source, role);
    assert_int_equal(g->rule_index, 0);
    assert_ptr_equal(g->rule, json_array_get(json_object_get(role, "rules"), 0));
    json_decref(policy);
}

static void test_grant_of_an_aggregated_role_names_the_source_role(void **state)
{
    (void)state;
    json_t *policy = load_policy();
    const char *groups[] = {"viewers"};
    struct k8s_rbac_user user = {"vera", groups, 1};
    struct k8s_rbac_attributes request = {.resource_request = true,
                                          .verb = "list",
                                          .api_group = "networking.k8s.io",
                                          .resource = "ingresses"};
    struct k8s_rbac_decision d;
    k8s_rbac_authorize(policy, &user, &request, &d);
    assert_true(d.allowed);
    assert_ptr_equal(d.grant.role, find_object(policy, "ClusterRole", "view-aggregate"));
    const json_t *source = find_object(policy, "ClusterRole", "view-extra");
    assert_ptr_equal(d.grant.rule_source, source);
    assert_ptr_equal(d.grant.rule, json_array_get(json_object_get(source, "rules"), 1));
    assert_int_equal(d.grant.rule_index, 1);
    json_decref(policy);
}

static void test_deny_leaves_the_grant_empty(void **state)
{
    (void)state;
    json_t *policy = load_policy();
    struct k8s_rbac_user user = {"nobody-at-all", NULL, 0};
    struct k8s_rbac_attributes request = {
        .resource_request = true, .verb = "list", .resource = "pods"};
    struct k8s_rbac_decision d;
    memset(&d, 0x5a, sizeof(d));
    k8s_rbac_authorize(policy, &user, &request, &d);
    assert_false(d.allowed);
    assert_string_equal(d.reason, "");
    assert_null(d.grant.binding);
    assert_null(d.grant.rule);
    json_decref(policy);
}

/* ---- ServiceAccount identities ---- */

static void test_service_account_user_and_groups(void **state)
{
    (void)state;
    struct k8s_rbac_service_account sa;
    assert_int_equal(k8s_rbac_service_account_user(&sa, "opentelemetry", "otel-collector"), 0);
    assert_string_equal(sa.user.name, "system:serviceaccount:opentelemetry:otel-collector");
    assert_int_equal(sa.user.group_count, 3);
    assert_string_equal(sa.user.groups[0], "system:serviceaccounts");
    assert_string_equal(sa.user.groups[1], "system:serviceaccounts:opentelemetry");
    assert_string_equal(sa.user.groups[2], "system:authenticated");

    json_t *policy = load_policy();
    struct k8s_rbac_attributes request = {
        .resource_request = true, .verb = "list", .resource = "pods"};
    struct k8s_rbac_decision d;
    k8s_rbac_authorize(policy, &sa.user, &request, &d);
    assert_true(d.allowed);
    assert_string_equal(d.reason, BY_COLLECTOR);
    json_decref(policy);
}

static void test_service_account_user_refuses_bad_names(void **state)
{
    (void)state;
    struct k8s_rbac_service_account sa;
    assert_int_equal(k8s_rbac_service_account_user(&sa, "", "x"), -EINVAL);
    assert_int_equal(k8s_rbac_service_account_user(&sa, "ns", NULL), -EINVAL);
    char long_name[600];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(k8s_rbac_service_account_user(&sa, "ns", long_name), -ENAMETOOLONG);
    assert_null(sa.user.name);
}

/* ---- 403 messages (responsewriters/errors.go, api/errors NewForbidden) ---- */

static void assert_forbidden(const char *user, struct k8s_rbac_attributes request,
                             const char *reason, const char *want)
{
    char *message = k8s_rbac_forbidden_message(user, &request, reason);
    assert_non_null(message);
    assert_string_equal(message, want);
    free(message);
}

static void test_forbidden_message_namespaced(void **state)
{
    (void)state;
    assert_forbidden(COLLECTOR,
                     (struct k8s_rbac_attributes){.resource_request = true,
                                                  .verb = "list",
                                                  .api_group = "apps",
                                                  .resource = "replicasets",
                                                  .namespace = "team-a"},
                     "",
                     "replicasets.apps is forbidden: User "
                     "\"system:serviceaccount:opentelemetry:otel-collector\" cannot list resource "
                     "\"replicasets\" in API group \"apps\" in the namespace \"team-a\"");
}

static void test_forbidden_message_cluster_scope_core_group(void **state)
{
    (void)state;
    assert_forbidden(COLLECTOR,
                     (struct k8s_rbac_attributes){
                         .resource_request = true, .verb = "watch", .resource = "namespaces"},
                     NULL,
                     "namespaces is forbidden: User "
                     "\"system:serviceaccount:opentelemetry:otel-collector\" cannot watch resource "
                     "\"namespaces\" in API group \"\" at the cluster scope");
}

static void test_forbidden_message_named(void **state)
{
    (void)state;
    assert_forbidden("carol",
                     (struct k8s_rbac_attributes){.resource_request = true,
                                                  .verb = "get",
                                                  .resource = "secrets",
                                                  .namespace = "team-b",
                                                  .name = "db-password"},
                     "",
                     "secrets \"db-password\" is forbidden: User \"carol\" cannot get resource "
                     "\"secrets\" in API group \"\" in the namespace \"team-b\"");
}

static void test_forbidden_message_subresource(void **state)
{
    (void)state;
    /* the prefix names the resource only; the sentence names resource/subresource */
    assert_forbidden("erin",
                     (struct k8s_rbac_attributes){.resource_request = true,
                                                  .verb = "update",
                                                  .api_group = "apps",
                                                  .resource = "deployments",
                                                  .subresource = "scale",
                                                  .namespace = "team-a",
                                                  .name = "web"},
                     "",
                     "deployments.apps \"web\" is forbidden: User \"erin\" cannot update resource "
                     "\"deployments/scale\" in API group \"apps\" in the namespace \"team-a\"");
}

static void test_forbidden_message_non_resource(void **state)
{
    (void)state;
    assert_forbidden(
        "alice",
        (struct k8s_rbac_attributes){.resource_request = false, .verb = "get", .path = "/foo"}, "",
        "forbidden: User \"alice\" cannot get path \"/foo\"");
}

static void test_forbidden_message_with_reason(void **state)
{
    (void)state;
    assert_forbidden(
        "broken-user",
        (struct k8s_rbac_attributes){.resource_request = true, .verb = "list", .resource = "pods"},
        "RBAC: clusterrole.rbac.authorization.k8s.io \"does-not-exist\" not found",
        "pods is forbidden: User \"broken-user\" cannot list resource \"pods\" in API "
        "group \"\" at the cluster scope: RBAC: "
        "clusterrole.rbac.authorization.k8s.io \"does-not-exist\" not found");
}

static void test_forbidden_message_escapes_html_in_the_sentence_only(void **state)
{
    (void)state;
    /* & < > are escaped in the "User ... cannot ..." sentence; the prefix (resource, name) and
     * the reason are written as they are, as upstream does */
    assert_forbidden("<b>&co</b>",
                     (struct k8s_rbac_attributes){.resource_request = true,
                                                  .verb = "get",
                                                  .resource = "configmaps",
                                                  .namespace = "a<b",
                                                  .name = "x>y"},
                     "why <not>",
                     "configmaps \"x>y\" is forbidden: User \"&lt;b&gt;&amp;co&lt;/b&gt;\" cannot "
                     "get resource \"configmaps\" in API group \"\" in the namespace "
                     "\"a&lt;b\": why <not>");
    assert_forbidden("u", (struct k8s_rbac_attributes){.verb = "get", .path = "/a?b=<c>&d"}, "",
                     "forbidden: User \"u\" cannot get path \"/a?b=&lt;c&gt;&amp;d\"");
}

static void test_forbidden_message_quotes_as_go_does(void **state)
{
    (void)state;
    /* %q: quotes, backslashes and control characters escaped; printable UTF-8 kept; an invalid
     * byte as \x */
    assert_forbidden("a\"b\\c\n\x01\xff",
                     (struct k8s_rbac_attributes){.verb = "get", .path = "/\xc3\xa9t\xc3\xa9"}, "",
                     "forbidden: User \"a\\\"b\\\\c\\n\\x01\\xff\" cannot get path "
                     "\"/\xc3\xa9t\xc3\xa9\"");
    /* upstream passes the message to fmt.Errorf as its format: a '%' in it reads as a verb */
    assert_forbidden("100%done", (struct k8s_rbac_attributes){.verb = "get", .path = "/50%%"}, "",
                     "forbidden: User \"100%!d(MISSING)one\" cannot get path \"/50%\"");
}

static void test_forbidden_status_body(void **state)
{
    (void)state;
    struct {
        const char *user;
        struct k8s_rbac_attributes request;
        const char *want;
    } bodies[] = {
        /* pipeline.md §10's example, byte for byte */
        {"system:serviceaccount:ns:sa",
         {.resource_request = true, .verb = "list", .resource = "pods"},
         "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
         "\"message\":\"pods is forbidden: User \\\"system:serviceaccount:ns:sa\\\" cannot list "
         "resource \\\"pods\\\" in API group \\\"\\\" at the cluster scope\",\"reason\":"
         "\"Forbidden\",\"details\":{\"kind\":\"pods\"},\"code\":403}"},
        {"u",
         {.resource_request = true,
          .verb = "get",
          .api_group = "apps",
          .resource = "deployments",
          .namespace = "team-a",
          .name = "web"},
         "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
         "\"message\":\"deployments.apps \\\"web\\\" is forbidden: User \\\"u\\\" cannot get "
         "resource \\\"deployments\\\" in API group \\\"apps\\\" in the namespace "
         "\\\"team-a\\\"\",\"reason\":\"Forbidden\",\"details\":{\"name\":\"web\",\"group\":"
         "\"apps\",\"kind\":\"deployments\"},\"code\":403}"},
        {"u",
         {.verb = "get", .path = "/metrics"},
         "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
         "\"message\":\"forbidden: User \\\"u\\\" cannot get path \\\"/metrics\\\"\",\"reason\":"
         "\"Forbidden\",\"details\":{},\"code\":403}"},
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        json_t *status = k8s_rbac_forbidden_status(bodies[i].user, &bodies[i].request, "");
        assert_non_null(status);
        char *text = json_dumps(status, JSON_COMPACT);
        assert_non_null(text);
        assert_string_equal(text, bodies[i].want);
        free(text);
        json_decref(status);
    }
}

/* ---- malformed objects: ignored, never a crash ---- */

static const char MALFORMED[] =
    "["
    "42, 'text', null, [], {},"
    "{'kind':7},"
    "{'kind':'ClusterRoleBinding'},"
    "{'kind':'ClusterRoleBinding','metadata':{'name':'no-ref'},"
    " 'subjects':[{'kind':'User','name':'mallory'}]},"
    "{'kind':'ClusterRoleBinding','metadata':{'name':'ref-not-object'},'roleRef':'admin',"
    " 'subjects':[{'kind':'User','name':'mallory'}]},"
    "{'kind':'ClusterRoleBinding','metadata':{'name':'ref-without-name'},"
    " 'roleRef':{'kind':'ClusterRole'},'subjects':[{'kind':'User','name':'mallory'}]},"
    "{'kind':'ClusterRoleBinding','metadata':{'name':'subjects-not-list'},"
    " 'roleRef':{'kind':'ClusterRole','name':'odd-rules'},'subjects':{'kind':'User'}},"
    "{'kind':'ClusterRoleBinding','metadata':{'name':'odd-subjects'},"
    " 'roleRef':{'kind':'ClusterRole','name':'odd-rules'},"
    " 'subjects':[3,null,{'kind':'User'},{'kind':'User','name':5},{'kind':'Robot','name':'mallory'}"
    ","
    "             {'kind':'User','name':'mallory'}]},"
    "{'kind':'ClusterRole','metadata':{'name':'odd-rules'},"
    " 'rules':['get pods', 7, null, {},"
    "          {'verbs':'get','apiGroups':[''],'resources':['pods']},"
    "          {'verbs':[1,true,null],'apiGroups':[''],'resources':['pods']},"
    "          {'verbs':['get'],'apiGroups':{'':1},'resources':['pods']},"
    "          {'verbs':['get'],'apiGroups':[''],'resources':['pods'],'resourceNames':'x'},"
    "          {'verbs':['list'],'apiGroups':[''],'resources':[null,'services']}]},"
    "{'kind':'ClusterRole','metadata':{'name':'rules-not-list'},'rules':{'verbs':['*']}},"
    "{'kind':'ClusterRoleBinding','metadata':{'name':'to-rules-not-list'},"
    " 'roleRef':{'kind':'ClusterRole','name':'rules-not-list'},"
    " 'subjects':[{'kind':'User','name':'mallory'}]},"
    "{'kind':'ClusterRole','metadata':{'name':'bad-aggregate'},"
    " 'aggregationRule':{'clusterRoleSelectors':[{'matchExpressions':"
    "   [{'key':'a','operator':'Near','values':['b']}]}]},"
    " 'rules':[{'verbs':['get'],'apiGroups':[''],'resources':['configmaps']}]},"
    "{'kind':'ClusterRoleBinding','metadata':{'name':'to-bad-aggregate'},"
    " 'roleRef':{'kind':'ClusterRole','name':'bad-aggregate'},"
    " 'subjects':[{'kind':'User','name':'mallory'}]},"
    "{'kind':'Role','metadata':{'name':'no-namespace'},"
    " 'rules':[{'verbs':['*'],'apiGroups':['*'],'resources':['*']}]},"
    "{'kind':'RoleBinding','metadata':{'name':'to-no-namespace','namespace':'team-a'},"
    " 'roleRef':{'kind':'Role','name':'no-namespace'},"
    " 'subjects':[{'kind':'User','name':'mallory'}]}"
    "]";

#define MALFORMED_ERRORS                                                                           \
    "RBAC: [unsupported role reference kind: \"\", "                                               \
    "clusterrole.rbac.authorization.k8s.io \"\" not found"

static void test_malformed_objects_match_nothing(void **state)
{
    (void)state;
    json_t *policy = json_from_text(MALFORMED);
    struct k8s_rbac_user user = {"mallory", NULL, 0};
    struct k8s_rbac_decision d;

    /* every odd rule fails to match; the bindings without a usable roleRef say so */
    struct k8s_rbac_attributes get_pods = {.resource_request = true,
                                           .verb = "get",
                                           .resource = "pods",
                                           .namespace = "team-a",
                                           .name = "x"};
    k8s_rbac_authorize(policy, &user, &get_pods, &d);
    assert_false(d.allowed);
    assert_string_equal(d.reason, MALFORMED_ERRORS ", role.rbac.authorization.k8s.io "
                                                   "\"no-namespace\" not found]");

    /* the well-formed parts still work: a null list element is skipped, not the rule */
    struct k8s_rbac_attributes list_services = {
        .resource_request = true, .verb = "list", .resource = "services"};
    k8s_rbac_authorize(policy, &user, &list_services, &d);
    assert_true(d.allowed);
    assert_string_equal(d.reason, "RBAC: allowed by ClusterRoleBinding \"odd-subjects\" of "
                                  "ClusterRole \"odd-rules\" to User \"mallory\"");
    assert_int_equal(d.grant.subject_index, 5);
    assert_int_equal(d.grant.rule_index, 8);

    /* a selector the aggregation controller refuses leaves the stored rules in force */
    struct k8s_rbac_attributes get_configmaps = {
        .resource_request = true, .verb = "get", .resource = "configmaps"};
    k8s_rbac_authorize(policy, &user, &get_configmaps, &d);
    assert_true(d.allowed);
    assert_string_equal(d.grant.binding_name, "to-bad-aggregate");

    /* not an array at all */
    k8s_rbac_authorize(NULL, &user, &get_pods, &d);
    assert_false(d.allowed);
    json_t *object = json_object();
    k8s_rbac_authorize(object, &user, &get_pods, &d);
    assert_false(d.allowed);
    json_decref(object);

    /* NULL request fields read as "" */
    struct k8s_rbac_attributes empty = {.resource_request = true};
    k8s_rbac_authorize(policy, &user, &empty, &d);
    assert_false(d.allowed);
    json_decref(policy);
}

static void test_many_errors_are_cut_and_flagged(void **state)
{
    (void)state;
    json_t *policy = json_array();
    for (int i = 0; i < 200; i++) {
        char text[400];
        snprintf(text, sizeof(text),
                 "{'kind':'ClusterRoleBinding','metadata':{'name':'b%d'},"
                 "'roleRef':{'kind':'ClusterRole','name':'missing-%03d'},"
                 "'subjects':[{'kind':'User','name':'u'}]}",
                 i, i);
        json_array_append_new(policy, json_from_text(text));
    }
    struct k8s_rbac_user user = {"u", NULL, 0};
    struct k8s_rbac_attributes request = {
        .resource_request = true, .verb = "get", .resource = "pods"};
    struct k8s_rbac_decision d;
    k8s_rbac_authorize(policy, &user, &request, &d);
    assert_false(d.allowed);
    assert_true(d.reason_truncated);
    assert_true(strlen(d.reason) < K8S_RBAC_REASON_MAX);
    assert_memory_equal(d.reason, "RBAC: [clusterrole.rbac.authorization.k8s.io \"missing-000\"",
                        58);
    json_decref(policy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_grant_names_binding_subject_role_and_rule),
        cmocka_unit_test(test_grant_of_an_aggregated_role_names_the_source_role),
        cmocka_unit_test(test_deny_leaves_the_grant_empty),
        cmocka_unit_test(test_service_account_user_and_groups),
        cmocka_unit_test(test_service_account_user_refuses_bad_names),
        cmocka_unit_test(test_forbidden_message_namespaced),
        cmocka_unit_test(test_forbidden_message_cluster_scope_core_group),
        cmocka_unit_test(test_forbidden_message_named),
        cmocka_unit_test(test_forbidden_message_subresource),
        cmocka_unit_test(test_forbidden_message_non_resource),
        cmocka_unit_test(test_forbidden_message_with_reason),
        cmocka_unit_test(test_forbidden_message_escapes_html_in_the_sentence_only),
        cmocka_unit_test(test_forbidden_message_quotes_as_go_does),
        cmocka_unit_test(test_forbidden_status_body),
        cmocka_unit_test(test_malformed_objects_match_nothing),
        cmocka_unit_test(test_many_errors_are_cut_and_flagged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
