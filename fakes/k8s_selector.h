/*
 * k8s_selector.h - label selectors and field selectors as the Kubernetes API server parses and
 * applies them to the `labelSelector` and `fieldSelector` query parameters of list and watch
 * (shared/facts/pipeline.md §10). Upstream files and quirks: see the top of k8s_selector.c.
 *
 * A selector is compiled once from its text and then matched against stored objects (jansson
 * values, as the object store keeps them). A compiled selector is immutable: it may be shared
 * between threads and matched concurrently. Nothing here keeps global state.
 *
 * Errors: every parse function returns 0, -EINVAL or -ENOMEM. On -EINVAL `err->message` is the
 * exact text the API server puts in the `message` of its 400 BadRequest Status (the HTTP layer
 * wraps it as reason "BadRequest", code 400); messages longer than ERROR_MESSAGE_MAX - 1 bytes
 * are cut there. Text past K8S_SELECTOR_TEXT_MAX bytes or with more than
 * K8S_SELECTOR_REQUIREMENTS_MAX requirements is refused with -EINVAL and a message of our own
 * (upstream has no such limit; its HTTP server refuses long URLs before any parsing).
 *
 * Order of checks in a list handler, as upstream does it: parse both selectors (label selector
 * errors first, as ListOptions are decoded field by field), then the field labels against the
 * resource. k8s_field_selector_parse does the last two steps in one call.
 */
#ifndef OTEL_FAKES_K8S_SELECTOR_H
#define OTEL_FAKES_K8S_SELECTOR_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

/* Hard limits: bytes of selector text, requirements (label) or terms (field) per selector. */
#define K8S_SELECTOR_TEXT_MAX 8192
#define K8S_SELECTOR_REQUIREMENTS_MAX 128

/* ---- label selectors (labels.Parse) ---- */

struct k8s_label_selector;

/* Compiles `text` (NULL or "" = everything) into *out. Returns 0, or -EINVAL with the parse error
 * of labels.Parse in `err` (e.g. "unable to parse requirement: found '', expected: ',' or ')'"),
 * or -ENOMEM. *out is NULL on failure. Caller owns *out; free with k8s_label_selector_free. */
int k8s_label_selector_parse(const char *text, struct k8s_label_selector **out, struct error *err);

/* Whether `labels` (an object's metadata.labels: a JSON object of strings, or NULL for none)
 * satisfies every requirement. Non-string values count as absent labels. */
bool k8s_label_selector_matches(const struct k8s_label_selector *sel, const json_t *labels);

/* True when the selector restricts nothing ("" or NULL text). */
bool k8s_label_selector_is_empty(const struct k8s_label_selector *sel);

/* NULL is accepted. */
void k8s_label_selector_free(struct k8s_label_selector *sel);

/* ---- field selectors (fields.ParseSelector + the resource's field label conversion) ---- */

struct k8s_field_selector;

/* Compiles `text` (NULL or "" = everything) for the resource `resource` (plural, "pods") of API
 * group `group` ("" = core; NULL is taken as ""). Field labels are checked against what that
 * resource supports and aliases are resolved (pods: spec.host -> spec.nodeName). Returns 0, or
 * -EINVAL with the message the API server answers, e.g. "field label not supported: spec.foo"
 * (core kinds with their own field list) or "\"spec.foo\" is not a known field selector: only
 * \"metadata.name\", \"metadata.namespace\"" (every other resource), or -ENOMEM. *out is NULL on
 * failure. Caller owns *out; free with k8s_field_selector_free. */
int k8s_field_selector_parse(const char *text, const char *resource, const char *group,
                             struct k8s_field_selector **out, struct error *err);

/* Whether `object` (a full object: metadata, spec, status) satisfies every term. Fields read as
 * the registry's selectable field set of the resource gives them ("" when absent; booleans as
 * "true"/"false"; see k8s_selector.c for each resource). */
bool k8s_field_selector_matches(const struct k8s_field_selector *sel, const json_t *object);

/* RequiresExactMatch(label): the value of the first `label=value` / `label==value` term in the
 * selector's (sorted) term order, or NULL. Borrowed from `sel`. `label` is the resolved name
 * ("spec.nodeName" also finds a `spec.host=` term). */
const char *k8s_field_selector_exact_match(const struct k8s_field_selector *sel, const char *label);

/* True when the selector restricts nothing. */
bool k8s_field_selector_is_empty(const struct k8s_field_selector *sel);

/* NULL is accepted. */
void k8s_field_selector_free(struct k8s_field_selector *sel);

/* The request name the API server derives from a list/watch request's `fieldSelector` text
 * (requestinfo.go): the value of `metadata.name=<x>` / `==`, alone or AND-ed with other terms,
 * when the text parses and <x> is a valid path segment (not "." or "..", no '/' or '%'). RBAC
 * then matches it against `resourceNames`. No resource check happens here (upstream takes the
 * name before it checks field labels), and a request whose other query parameters fail to decode
 * (a bad labelSelector) gets no name: the caller checks that. Sets *name to a copy (caller owns)
 * or NULL when nothing is pinned. Returns 0 or -ENOMEM. */
int k8s_field_selector_request_name(const char *text, char **name);

#endif
