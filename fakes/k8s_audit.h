/*
 * k8s_audit.h - the audit log of the fake Kubernetes API (DESIGN.md §4): every call with who
 * made it, what it asked, the RBAC decision and the answer's code, so a scenario can show what
 * the collector's service account was refused, call by call.
 *
 * Each entry is an audit.k8s.io/v1 Event at level Metadata and stage ResponseComplete, shaped as
 * the API server writes it (shared/facts/pipeline.md §10 "Audit"; apiserver
 * pkg/apis/audit/v1/types.go): requestURI, verb, user{username,groups}, userAgent, objectRef
 * (every resource request, list and watch included; apiGroup omitted for the core group),
 * responseStatus (successes only `metadata` and `code`; failures also status, message, reason),
 * requestReceivedTimestamp / stageTimestamp (RFC3339 microseconds) and the annotations
 * authorization.k8s.io/decision ("allow"/"forbid") and authorization.k8s.io/reason. The fake adds
 * keys of its own: `labelSelector` and `fieldSelector` (only when the request had them), which
 * upstream keeps only inside requestURI, and `responseBytes`, the length of the answer's body
 * (what `scripts/bench k8s` adds up as a client's traffic), left out for a watch: its stream
 * starts after the event is written, so its bytes are not known.
 *
 * A bounded ring: past `capacity` entries the oldest goes. One mutex, held only to swap entries
 * in or copy them out; entries are built before it is taken. Not done: levels other than
 * Metadata, the RequestReceived / ResponseStarted stages, policies, sourceIPs.
 */
#ifndef OTEL_FAKES_K8S_AUDIT_H
#define OTEL_FAKES_K8S_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s_request.h"

#define K8S_AUDIT_DEFAULT_CAPACITY 10000

/* One call, as the front saw it. Everything borrowed; NULL means absent. */
struct k8s_audit_record {
    int64_t received_ns; /* wall clock when the request arrived */
    const char *request_uri;
    const char *user_agent;
    const char *user;          /* NULL: not authenticated (a 401) */
    const char *const *groups; /* group_count of them */
    size_t group_count;
    /* Who the request acted as (Impersonate-User / -Group headers), or NULL. */
    const char *impersonated_user;
    const char *const *impersonated_groups;
    size_t impersonated_group_count;
    const struct k8s_request_info *info; /* verb and, for resource requests, objectRef */
    const char *label_selector;
    const char *field_selector;
    const char *decision; /* "allow", "forbid", or NULL before authorization */
    const char *reason;   /* the authorizer's reason ("" = none) */
    int code;             /* the HTTP status answered */
    /* For failures (code >= 300): what the Status said. */
    const char *status_message;
    const char *status_reason;
    size_t response_bytes;  /* the answer's body */
    bool response_streamed; /* a streamed body (a watch): response_bytes is not known */
};

struct k8s_audit;

/* A log keeping at most `capacity` events (0 = K8S_AUDIT_DEFAULT_CAPACITY). Caller owns; NULL on
 * ENOMEM. */
struct k8s_audit *k8s_audit_new(size_t capacity);
/* NULL is accepted. */
void k8s_audit_free(struct k8s_audit *audit);
/* Appends one Event built from `record` (nothing of it is kept). Returns 0 or -ENOMEM (the call
 * is then missing from the log; the request it describes is unaffected). */
int k8s_audit_append(struct k8s_audit *audit, const struct k8s_audit_record *record);
/* Every event, oldest first, as a JSON array. Caller owns; NULL on ENOMEM. */
json_t *k8s_audit_view(struct k8s_audit *audit);
/* Forgets every event. */
void k8s_audit_clear(struct k8s_audit *audit);
/* Events held now. */
size_t k8s_audit_count(struct k8s_audit *audit);

#endif
