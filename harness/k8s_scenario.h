/*
 * k8s_scenario.h - the Kubernetes parts of a scenario file: the top-level `kubernetes:` section
 * (what the fake Kubernetes API holds before the collector starts, and whose credentials the
 * collector gets) and `expect.kubernetes` (what the identities asked and were refused, what the
 * fake holds at the end):
 *
 *   kubernetes:
 *     objects: [inputs/k8s/cluster.yaml]        # manifests, relative to scenarios/
 *     as: opentelemetry/otel-collector-collector # the collector's service account (default)
 *     rbac: kind/manifests/rbac.yaml             # relative to the repository; default
 *                                                # kind/manifests/rbac-seed.yaml; none: no RBAC
 *   expect:
 *     kubernetes:
 *       denied: 0                  # distinct refused calls of `as`; or {ns/name: N, user: N}
 *       unused_grants: "> 0"       # (verb, resource) pairs granted to `as` that no call used
 *       objects: {pods: 2, replicasets.apps/shop: 1}   # objects the fake holds, by type[/ns]
 *
 * The RBAC default is the team's RBAC as documented (rbac-seed.yaml): what a run must show is
 * how the team's deployment behaves, refusals included; rbac.yaml is what the config needs, for
 * the scenarios that check the fix. expect.kubernetes implies the golden
 * golden/<dir>/kubernetes-calls.json (k8s_calls.h), so a scenario that checks Kubernetes
 * always pins the calls too; it needs the `kubernetes:` section (`kubernetes: {}` for the
 * defaults).
 *
 * Manifests are read at load time: each document must be a mapping with apiVersion, kind and
 * metadata.name (a `kind: List` is checked item by item), so a broken manifest fails with its
 * own file and line before anything runs. The fake gets the file's text as written.
 */
#ifndef HARNESS_K8S_SCENARIO_H
#define HARNESS_K8S_SCENARIO_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "condition.h"
#include "k8s_calls.h"

#define K8S_SCENARIO_MAX_FILES 8
#define K8S_SCENARIO_MAX_CHECKS 16
#define K8S_SCENARIO_DEFAULT_AS "opentelemetry/otel-collector-collector"
#define K8S_SCENARIO_DEFAULT_RBAC "kind/manifests/rbac-seed.yaml"
#define K8S_NAME_MAX 254 /* a DNS subdomain (253) and its NUL */

/* expect.kubernetes.denied of one identity. */
struct k8s_denied_check {
    char user[K8S_CALLS_USER_MAX]; /* the audit's user name */
    const char *label; /* as the scenario wrote it ("ns/name"), borrowed; NULL: the `as` one */
    struct condition cond;
    int line;
};

/* expect.kubernetes.objects: how many objects of a type the fake holds. */
struct k8s_object_check {
    char type[256];               /* the fake's view key: "pods", "replicasets.apps" */
    char namespace[K8S_NAME_MAX]; /* "" = every namespace */
    const char *label;            /* as written: "replicasets.apps/shop" */
    struct condition cond;
    int line;
};

struct k8s_section {
    bool enabled;                                   /* the scenario has a `kubernetes:` section */
    char objects[K8S_SCENARIO_MAX_FILES][PATH_MAX]; /* resolved manifests */
    const char *object_labels[K8S_SCENARIO_MAX_FILES]; /* as written, borrowed */
    size_t object_count;
    char rbac[PATH_MAX]; /* resolved; "" = none */
    const char *rbac_label;
    char namespace[K8S_NAME_MAX]; /* the `as` service account */
    char name[K8S_NAME_MAX];
    char user[K8S_CALLS_USER_MAX]; /* its user name, system:serviceaccount:NS:NAME */
    /* expect.kubernetes */
    bool expect;
    struct k8s_denied_check denied[K8S_SCENARIO_MAX_CHECKS];
    size_t denied_count;
    bool has_unused_grants;
    struct condition unused_grants;
    int unused_grants_line;
    struct k8s_object_check objects_expected[K8S_SCENARIO_MAX_CHECKS];
    size_t objects_expected_count;
};

struct loader; /* scenario_loader.h */

/* The `kubernetes:` section of `doc` into l->s->kubernetes (nothing when absent). Call after the
 * scenario's env has loaded: the variables the harness gives the collector for the fake API may
 * not also be set there. Fails as scenario_loader.h says. */
int k8s_scenario_load(struct loader *l, const json_t *doc);

/* `expect.kubernetes` (the value `ex`, its key at `line`) into l->s->kubernetes, and the implied
 * kubernetes-calls golden into l->s->golden. */
int k8s_scenario_load_expect(struct loader *l, const json_t *value, int line);

/* Reads the manifest `path` (resolved; `label` as written) and checks every object in it; a
 * mistake is reported at the scenario's `line` and `ypath` with the manifest's own file and
 * line. */
int k8s_scenario_check_manifest(struct loader *l, const char *path, const char *label, int line,
                                const char *ypath);

/* An identity as a scenario writes it: "ns/name" (a service account) or a user name with a ':'
 * ("system:serviceaccount:ns:name"), into its audit user name. */
int k8s_scenario_identity(struct loader *l, const char *text, int line, const char *ypath,
                          char *user, size_t size);

/* "pods", "replicasets.apps", "pods/default" -> type and namespace; -EINVAL when it is none of
 * those forms. */
int k8s_scenario_parse_type(const char *text, char *type, size_t type_size, char *namespace,
                            size_t namespace_size);

#endif
