/*
 * step_k8s.h - what a `k8s` step holds once loaded (step_k8s.c): one action on the fake
 * Kubernetes API - apply, delete, patch (relabel is a patch), call, phase or fault - and what it
 * acts on.
 *
 * The kind's own struct lives here, beside its kind rather than in scenario.h, so that adding or
 * changing a kind touches only its own files; step_k8s.c fills and reads it, and tests read it
 * through step_k8s_data. It owns `owned` (a manifest read for a delete by file, or a patch it
 * built); other strings and values are borrowed from the scenario's document.
 */
#ifndef HARNESS_STEP_K8S_H
#define HARNESS_STEP_K8S_H

#include <assert.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "k8s_calls.h"
#include "k8s_scenario.h"
#include "scenario.h"

#define STEP_K8S_MAX_ITEMS 8    /* manifests and inline objects of one apply */
#define STEP_K8S_MAX_TARGETS 32 /* objects of one delete */

/* An object named by kind (and apiVersion, when given), namespace and name. */
struct step_k8s_target {
    const char *api_version; /* NULL = any version of the kind */
    const char *kind;
    const char *name;
    char namespace[K8S_NAME_MAX]; /* "" = cluster-scoped */
    bool namespace_given;         /* when not, a namespaced object in "default" matches too */
};

struct k8s_action; /* the action's descriptor, in step_k8s.c's table */

struct step_k8s {
    const struct k8s_action *action;
    /* apply: manifests (path set) and inline objects (object set), in the order written */
    struct {
        char path[PATH_MAX];
        const char *label;
        const json_t *object;
    } items[STEP_K8S_MAX_ITEMS];
    size_t item_count;
    /* delete, patch, relabel */
    struct step_k8s_target targets[STEP_K8S_MAX_TARGETS];
    size_t target_count;
    const json_t *patch; /* patch, relabel: the RFC 7386 merge patch */
    json_t *owned;       /* what the step allocated (see above) */
    /* call */
    char user[K8S_CALLS_USER_MAX];
    const char *verb;   /* get, list */
    char request[2048]; /* path and query on the API */
    int expect_status;
    long expect_items; /* -1: not checked */
    /* fault: the spec sent as written (borrowed), or NULL to clear */
    const json_t *fault;
    /* phase: the pod is targets[0] */
    const char *phase;
};

extern const struct step_kind_desc step_k8s_kind; /* defined last in step_k8s.c */

/* The data of `st`, which must be a k8s step (asserted). Borrowed from st, which owns it. */
static inline struct step_k8s *step_k8s_data(const struct step *st)
{
    assert(st->desc == &step_k8s_kind);
    return st->data;
}

/* The action's name ("apply", "delete", "patch", "relabel", "call", "phase", "fault"). */
const char *step_k8s_action_name(const struct step_k8s *k);

/* "pods", "replicasets.apps", "replicasets.v1.apps", "pods/status" and a namespace, name and
 * query ("" = none) -> the API path: /api/v1/namespaces/default/pods/web,
 * /apis/apps/v1/replicasets?labelSelector=... Returns 0, -EINVAL (not a resource) or
 * -ENAMETOOLONG. */
int step_k8s_api_path(const char *resource, const char *namespace, const char *name,
                      const char *query, char *out, size_t size);

#endif
