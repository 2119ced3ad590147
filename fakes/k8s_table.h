/*
 * k8s_table.h - server-side printing of the fake Kubernetes API: the Table (meta.k8s.io/v1 or
 * v1beta1) that get, list and watch answer when the Accept header asks for
 * `application/json;as=Table;v=v1;g=meta.k8s.io`, as kubectl get (and get -w) does, so that
 * kubectl prints what it prints against a real server.
 *
 * Columns, as the 1.32 API server's table convertors make them:
 *   - pods: NAME READY STATUS RESTARTS AGE, and with priority 1 (kubectl's -o wide) IP NODE
 *     NOMINATED NODE READINESS GATES; the cells as pkg/printers/internalversion printPod
 *     computes them (init containers, waiting and terminated reasons, "2 (5m ago)" restarts,
 *     Completed/Terminating), plus the Completed row condition of finished pods;
 *   - custom resources (the CRDs' default columns, apiextensions tableconvertor): NAME AGE;
 *   - every other type: the default convertor's NAME and CREATED AT (an RFC 3339 time), which
 *     is also what the real server answers for cluster roles; the type-specific printers of the
 *     other built-in types (configmaps' DATA, deployments' READY ...) are not reproduced.
 * Ages are duration.HumanDuration ("5m", "2d3h") at the clock the caller gives.
 *
 * Rows carry the object as includeObject says (metav1.TableOptions): "Metadata" (the default) a
 * PartialObjectMetadata, "Object" the whole object, "None" null.
 */
#ifndef OTEL_FAKES_K8S_TABLE_H
#define OTEL_FAKES_K8S_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "k8s_resources.h"

enum k8s_table_include {
    K8S_TABLE_INCLUDE_METADATA,
    K8S_TABLE_INCLUDE_OBJECT,
    K8S_TABLE_INCLUDE_NONE,
};

struct k8s_table_options {
    const char *version; /* "v1" or "v1beta1": the Table's meta.k8s.io version */
    enum k8s_table_include include;
    bool no_headers; /* columnDefinitions null: every watch event after the first */
    int64_t now_s;   /* the clock ages are measured at, seconds since the epoch */
};

/* The Table version the first acceptable clause of an Accept header names: "v1" or "v1beta1"
 * for application/json;as=Table;g=meta.k8s.io;v=..., NULL when a plain answer comes first or no
 * clause asks for a Table. Static strings. */
const char *k8s_table_version_wanted(const char *accept);

/* The includeObject query parameter (NULL or "" = Metadata). Returns 0, or -EBADMSG with the
 * API server's 400 message (`unrecognized includeObject value: "x"`). */
int k8s_table_include_parse(const char *value, enum k8s_table_include *out, struct error *err);

/* The Table of a list body (items without kind, as lists carry them; metadata's
 * resourceVersion, continue and remainingItemCount are kept) or of one object of type `rt`.
 * Both borrowed. Caller owns the result; NULL on ENOMEM. */
json_t *k8s_table_of_list(const struct k8s_resource_type *rt, const json_t *list,
                          const struct k8s_table_options *options);
json_t *k8s_table_of_object(const struct k8s_resource_type *rt, const json_t *object,
                            const struct k8s_table_options *options);

/* duration.HumanDuration of `seconds` into out (at least 16 bytes). */
void k8s_table_human_duration(int64_t seconds, char *out, size_t size);

#endif
