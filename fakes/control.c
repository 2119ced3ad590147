/*
 * control.c - the control API of control.h: a route table (pattern, methods, handler), so a new
 * fake or endpoint is one line; the fakes themselves are reached only through fakes.h.
 *
 * Mirrors no upstream API; shaped after what a harness polls (cheap stats), resets and injects
 * (DESIGN.md §4). Every answer is JSON, errors included, so a remote harness never has to parse
 * text.
 */
#include "control.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fake_util.h"
#include "fakes.h"
#include "fault.h"
#include "k8s_api.h"
#include "request_log.h"
#include "targets.h"

#define MAX_SEGMENTS 8

/* ---- answers ---- */

static void send_json(struct http_response *resp, int status, json_t *body)
{
    if (!body) {
        http_response_printf(resp, 500, "application/json", "{\"error\":\"out of memory\"}");
        return;
    }
    size_t len = json_dumpb(body, NULL, 0, JSON_COMPACT);
    char *text = malloc(len + 1);
    if (!text || json_dumpb(body, text, len, JSON_COMPACT) != len) {
        free(text);
        json_decref(body);
        http_response_printf(resp, 500, "application/json", "{\"error\":\"out of memory\"}");
        return;
    }
    text[len] = '\0';
    json_decref(body);
    http_response_take_body(resp, "application/json", text, len);
    resp->status = status;
}

static void send_error(struct http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void send_error(struct http_response *resp, int status, const char *fmt, ...)
{
    char message[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    /* The message may quote bytes from the URL: fake_util_json_string keeps it valid UTF-8. */
    json_t *body = json_object();
    if (body &&
        fake_util_json_set(body, "error", fake_util_json_string(message, strlen(message)))) {
        json_decref(body);
        body = NULL;
    }
    send_json(resp, status, body);
}

/* ---- handlers ---- */

typedef void (*route_fn)(struct fakes *fakes, struct fake *fake, const struct control_request *req,
                         struct http_response *resp);

static void get_health(struct fakes *fakes, struct fake *fake, const struct control_request *req,
                       struct http_response *resp)
{
    send_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

/* The certificate of the HTTPS fronts as PEM (their CA), for a client's CA bundle or a
 * kubeconfig's certificate-authority-data; 404 when no front speaks HTTPS. The one answer that is
 * not JSON: it is a file to save. */
static void get_ca_certificate(struct fakes *fakes, struct fake *fake,
                               const struct control_request *req, struct http_response *resp)
{
    const char *pem = fakes_ca_pem(fakes);
    if (!pem) {
        send_error(resp, 404, "no fake serves HTTPS");
        return;
    }
    if (http_response_set_body(resp, "application/x-pem-file", pem, strlen(pem)) < 0)
        send_error(resp, 500, "out of memory");
}

static void get_stats(struct fakes *fakes, struct fake *unused, const struct control_request *req,
                      struct http_response *resp)
{
    json_t *root = json_object();
    for (size_t i = 0; root && i < fakes_count(fakes); i++) {
        struct fake *fake = fakes_at(fakes, i);
        struct request_log_stats s;
        request_log_stats(fake_log(fake), &s);
        json_t *one =
            json_pack("{s:I,s:I,s:I}", "requests", (json_int_t)s.requests, "accepted_requests",
                      (json_int_t)s.accepted_requests, "items", (json_int_t)s.items);
        if (json_object_set_new(root, fake_name(fake), one)) {
            json_decref(root);
            root = NULL;
        }
    }
    send_json(resp, 200, root);
}

static void get_received(struct fakes *fakes, struct fake *fake, const struct control_request *req,
                         struct http_response *resp)
{
    const struct fake_backend *b = fake_backend(fake);
    if (!req->view || strcmp(req->view, "backend") == 0)
        send_json(resp, 200, b->view(fake_instance(fake)));
    else if (strcmp(req->view, "otlp") == 0)
        send_json(resp, 200, b->view_otlp(fake_instance(fake)));
    else
        send_error(resp, 400, "unknown view \"%.100s\"; known: backend, otlp", req->view);
}

static void delete_received_all(struct fakes *fakes, struct fake *unused,
                                const struct control_request *req, struct http_response *resp)
{
    json_t *names = json_array();
    for (size_t i = 0; i < fakes_count(fakes); i++) {
        struct fake *fake = fakes_at(fakes, i);
        fake_reset(fake);
        json_array_append_new(names, json_string(fake_name(fake)));
    }
    send_json(resp, 200, names ? json_pack("{s:o}", "reset", names) : NULL);
}

static void delete_received(struct fakes *fakes, struct fake *fake,
                            const struct control_request *req, struct http_response *resp)
{
    fake_reset(fake);
    send_json(resp, 200, json_pack("{s:[s]}", "reset", fake_name(fake)));
}

static void get_requests(struct fakes *fakes, struct fake *fake, const struct control_request *req,
                         struct http_response *resp)
{
    unsigned long long since = 0;
    if (req->since) {
        char *end = NULL;
        errno = 0;
        since = strtoull(req->since, &end, 10);
        if (!req->since[0] || *end || errno || req->since[0] == '-') {
            send_error(resp, 400, "since must be a non-negative integer, got \"%.100s\"",
                       req->since);
            return;
        }
    }
    send_json(resp, 200, request_log_view(fake_log(fake), since));
}

static void get_faults_all(struct fakes *fakes, struct fake *unused,
                           const struct control_request *req, struct http_response *resp)
{
    json_t *root = json_object();
    for (size_t i = 0; root && i < fakes_count(fakes); i++) {
        struct fake *fake = fakes_at(fakes, i);
        if (json_object_set_new(root, fake_name(fake), fault_view(fake_fault(fake)))) {
            json_decref(root);
            root = NULL;
        }
    }
    send_json(resp, 200, root);
}

static void get_fault(struct fakes *fakes, struct fake *fake, const struct control_request *req,
                      struct http_response *resp)
{
    send_json(resp, 200, fault_view(fake_fault(fake)));
}

static void put_fault(struct fakes *fakes, struct fake *fake, const struct control_request *req,
                      struct http_response *resp)
{
    if (req->body_too_large) {
        send_error(resp, 413, "fault body too large");
        return;
    }
    struct fault_spec spec;
    struct error err = {0};
    if (fault_spec_parse((const char *)req->body, req->body_len, &spec, &err) < 0) {
        send_error(resp, err.code == -ENOMEM ? 500 : 400, "%s", err.message);
        return;
    }
    const struct fake_backend *b = fake_backend(fake);
    bool cut = spec.cut_watches;
    if (cut && !b->cut_streams) {
        fault_spec_clear(&spec);
        send_error(resp, 400, "fake %s has no watches to cut", fake_name(fake));
        return;
    }
    /* the per-request part first, so that it already answers the re-watches the cut causes */
    if (fault_spec_per_request(&spec)) {
        fault_set(fake_fault(fake), &spec);
    } else {
        fault_spec_clear(&spec);
        fault_clear(fake_fault(fake));
    }
    json_t *view = fault_view(fake_fault(fake));
    if (cut && view &&
        json_object_set_new(view, "watches_cut",
                            json_integer((json_int_t)b->cut_streams(fake_instance(fake))))) {
        json_decref(view);
        view = NULL;
    }
    send_json(resp, 200, view);
}

static void delete_fault(struct fakes *fakes, struct fake *fake, const struct control_request *req,
                         struct http_response *resp)
{
    fault_clear(fake_fault(fake));
    send_json(resp, 200, fault_view(fake_fault(fake)));
}

static void release_fault(struct fakes *fakes, struct fake *fake, const struct control_request *req,
                          struct http_response *resp)
{
    fault_release(fake_fault(fake));
    send_json(resp, 200, fault_view(fake_fault(fake)));
}

/* ---- the Kubernetes API's objects, tokens and audit log ---- */

static int split_path(char *copy, char *segments[MAX_SEGMENTS]);

static struct k8s_api *kubernetes_of(struct fakes *fakes)
{
    struct fake *fake = fakes_find(fakes, "kubernetes");
    return fake ? fake_instance(fake) : NULL;
}

static void post_k8s_objects(struct fakes *fakes, struct fake *unused,
                             const struct control_request *req, struct http_response *resp)
{
    if (req->body_too_large) {
        send_error(resp, 413, "objects body too large");
        return;
    }
    int status = 500;
    json_t *body =
        k8s_api_apply(kubernetes_of(fakes), (const char *)req->body, req->body_len, &status);
    send_json(resp, status, body);
}

/* DELETE /v1/k8s/objects/{group}/{resource}/{namespace}/{name}: "core" names the core group and
 * "_" the absent namespace of a cluster-scoped object, so that every object has one path. */
static void delete_k8s_object(struct fakes *fakes, struct fake *unused,
                              const struct control_request *req, struct http_response *resp)
{
    char copy[512];
    char *segments[MAX_SEGMENTS];
    snprintf(copy, sizeof(copy), "%s", req->path);
    if (split_path(copy, segments) != 7) { /* the route matched, so this does not happen */
        send_error(resp, 404, "no such endpoint: %.200s", req->path);
        return;
    }
    int status = 500;
    json_t *body = k8s_api_delete_object(kubernetes_of(fakes), segments[3], segments[4],
                                         segments[5], segments[6], &status);
    send_json(resp, status, body);
}

/* POST /v1/k8s/pods/{namespace}/{name}/phase {"phase":"Running"}: the pod's status as its kubelet
 * would report that phase (k8s_api_set_pod_phase). */
static void post_k8s_pod_phase(struct fakes *fakes, struct fake *unused,
                               const struct control_request *req, struct http_response *resp)
{
    char copy[512];
    char *segments[MAX_SEGMENTS];
    snprintf(copy, sizeof(copy), "%s", req->path);
    if (split_path(copy, segments) != 6) { /* the route matched, so this does not happen */
        send_error(resp, 404, "no such endpoint: %.200s", req->path);
        return;
    }
    if (req->body_too_large) {
        send_error(resp, 413, "phase body too large");
        return;
    }
    int status = 500;
    json_t *body = k8s_api_set_pod_phase(kubernetes_of(fakes), segments[3], segments[4],
                                         (const char *)req->body, req->body_len, &status);
    send_json(resp, status, body);
}

static void get_k8s_audit(struct fakes *fakes, struct fake *unused,
                          const struct control_request *req, struct http_response *resp)
{
    send_json(resp, 200, k8s_api_audit_view(kubernetes_of(fakes)));
}

static void delete_k8s_audit(struct fakes *fakes, struct fake *unused,
                             const struct control_request *req, struct http_response *resp)
{
    k8s_api_audit_clear(kubernetes_of(fakes));
    send_json(resp, 200, json_pack("{s:b}", "cleared", 1));
}

static void post_k8s_tokens(struct fakes *fakes, struct fake *unused,
                            const struct control_request *req, struct http_response *resp)
{
    json_error_t jerr;
    json_t *request = json_loadb((const char *)req->body, req->body_len, 0, &jerr);
    if (!request) {
        send_error(resp, 400, "bad JSON: %s", jerr.text);
        return;
    }
    char token[K8S_API_TOKEN_LEN + 1];
    struct error err = {0};
    int rc = k8s_api_token_create(kubernetes_of(fakes), request, token, &err);
    json_decref(request);
    if (rc < 0) {
        send_error(resp, rc == -EINVAL ? 400 : rc == -ENOSPC ? 429 : 500, "%s", err.message);
        return;
    }
    send_json(resp, 200, json_pack("{s:s}", "token", token));
}

/* ---- fake scrape targets (targets.h) ---- */

/* The {target} segment: the last one of /v1/targets/{target} and /v1/faults/targets/{target}.
 * The route matched, so the path has one. */
static const char *target_segment(const struct control_request *req)
{
    return strrchr(req->path, '/') + 1;
}

/* targets.h's codes as statuses: a bad request, an unknown target, a full set, a busy port. */
static void send_targets_error(struct http_response *resp, const struct error *err)
{
    int status = err->code == -EINVAL       ? 400
                 : err->code == -ENOENT     ? 404
                 : err->code == -EADDRINUSE ? 409
                 : err->code == -ENOSPC     ? 429
                                            : 500;
    send_error(resp, status, "%s", err->message);
}

static void send_targets_result(struct http_response *resp, int status, json_t *view,
                                const struct error *err)
{
    if (view)
        send_json(resp, status, view);
    else
        send_targets_error(resp, err);
}

static void post_targets(struct fakes *fakes, struct fake *unused,
                         const struct control_request *req, struct http_response *resp)
{
    if (req->body_too_large) {
        send_error(resp, 413, "target body too large");
        return;
    }
    struct error err = {0};
    json_t *view = targets_add(fakes_targets(fakes), (const char *)req->body, req->body_len, &err);
    send_targets_result(resp, 201, view, &err);
}

static void get_targets(struct fakes *fakes, struct fake *unused, const struct control_request *req,
                        struct http_response *resp)
{
    send_json(resp, 200, targets_view(fakes_targets(fakes)));
}

static void get_target(struct fakes *fakes, struct fake *unused, const struct control_request *req,
                       struct http_response *resp)
{
    struct error err = {0};
    json_t *view = targets_view_one(fakes_targets(fakes), target_segment(req), &err);
    send_targets_result(resp, 200, view, &err);
}

static void delete_target(struct fakes *fakes, struct fake *unused,
                          const struct control_request *req, struct http_response *resp)
{
    struct error err = {0};
    json_t *view = targets_remove(fakes_targets(fakes), target_segment(req), &err);
    send_targets_result(resp, 200, view, &err);
}

static void get_target_fault(struct fakes *fakes, struct fake *unused,
                             const struct control_request *req, struct http_response *resp)
{
    struct error err = {0};
    json_t *view = targets_fault_view(fakes_targets(fakes), target_segment(req), &err);
    send_targets_result(resp, 200, view, &err);
}

/* The same JSON as PUT /v1/faults/{fake} (fault.h), but for one target. */
static void put_target_fault(struct fakes *fakes, struct fake *unused,
                             const struct control_request *req, struct http_response *resp)
{
    if (req->body_too_large) {
        send_error(resp, 413, "fault body too large");
        return;
    }
    struct fault_spec spec;
    struct error err = {0};
    if (fault_spec_parse((const char *)req->body, req->body_len, &spec, &err) < 0) {
        send_error(resp, err.code == -ENOMEM ? 500 : 400, "%s", err.message);
        return;
    }
    if (spec.cut_watches) {
        fault_spec_clear(&spec);
        send_error(resp, 400, "a target has no watches to cut");
        return;
    }
    json_t *view = targets_set_fault(fakes_targets(fakes), target_segment(req), &spec, &err);
    fault_spec_clear(&spec); /* emptied when it was installed; still ours when it was not */
    send_targets_result(resp, 200, view, &err);
}

static void delete_target_fault(struct fakes *fakes, struct fake *unused,
                                const struct control_request *req, struct http_response *resp)
{
    struct error err = {0};
    json_t *view = targets_clear_fault(fakes_targets(fakes), target_segment(req), &err);
    send_targets_result(resp, 200, view, &err);
}

/* ---- routing ---- */

struct route {
    const char *pattern; /* segments; "{fake}" matches a fake's name, any other "{...}" any
                            segment (the handler reads it from the path) */
    const char *method;
    route_fn fn;
};

static const struct route routes[] = {
    {"/healthz", "GET", get_health},
    {"/v1/stats", "GET", get_stats},
    {"/v1/tls/ca.crt", "GET", get_ca_certificate},
    {"/v1/received", "DELETE", delete_received_all},
    {"/v1/received/{fake}", "GET", get_received},
    {"/v1/received/{fake}", "DELETE", delete_received},
    {"/v1/requests/{fake}", "GET", get_requests},
    {"/v1/faults", "GET", get_faults_all},
    {"/v1/faults/{fake}", "GET", get_fault},
    {"/v1/faults/{fake}", "PUT", put_fault},
    {"/v1/faults/{fake}", "DELETE", delete_fault},
    {"/v1/faults/{fake}/release", "POST", release_fault},
    {"/v1/faults/targets/{target}", "GET", get_target_fault},
    {"/v1/faults/targets/{target}", "PUT", put_target_fault},
    {"/v1/faults/targets/{target}", "DELETE", delete_target_fault},
    {"/v1/targets", "GET", get_targets},
    {"/v1/targets", "POST", post_targets},
    {"/v1/targets/{target}", "GET", get_target},
    {"/v1/targets/{target}", "DELETE", delete_target},
    {"/v1/k8s/objects", "POST", post_k8s_objects},
    {"/v1/k8s/objects/{group}/{resource}/{namespace}/{name}", "DELETE", delete_k8s_object},
    {"/v1/k8s/pods/{namespace}/{name}/phase", "POST", post_k8s_pod_phase},
    {"/v1/k8s/audit", "GET", get_k8s_audit},
    {"/v1/k8s/audit", "DELETE", delete_k8s_audit},
    {"/v1/k8s/tokens", "POST", post_k8s_tokens},
};

#define ROUTE_COUNT (sizeof(routes) / sizeof(routes[0]))

/* Splits "/a/b/c" into segments (pointing into `copy`). Returns the count, or -1 when there are
 * too many or an empty one (a double or trailing slash matches nothing, as in a Go mux). */
static int split_path(char *copy, char *segments[MAX_SEGMENTS])
{
    if (copy[0] != '/')
        return -1;
    int n = 0;
    char *p = copy + 1;
    while (1) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (!*p || n == MAX_SEGMENTS)
            return -1;
        segments[n++] = p;
        if (!slash)
            return n;
        p = slash + 1;
    }
}

/* Does the path match the pattern? *fake_segment receives the {fake} segment, if any. */
static bool match(const char *pattern, char *const *segments, int n, const char **fake_segment)
{
    char copy[128];
    char *parts[MAX_SEGMENTS];
    snprintf(copy, sizeof(copy), "%s", pattern);
    int m = split_path(copy, parts);
    if (m != n)
        return false;
    *fake_segment = NULL;
    for (int i = 0; i < n; i++) {
        if (strcmp(parts[i], "{fake}") == 0)
            *fake_segment = segments[i];
        else if (parts[i][0] != '{' && strcmp(parts[i], segments[i]) != 0)
            return false;
    }
    return true;
}

void control_dispatch(struct fakes *fakes, const struct control_request *req,
                      struct http_response *resp)
{
    char copy[512];
    char *segments[MAX_SEGMENTS];
    const char *path = req->path ? req->path : "";
    const char *method = req->method ? req->method : "";
    int n = -1;
    if (strlen(path) < sizeof(copy)) {
        strcpy(copy, path);
        n = split_path(copy, segments);
    }
    char allowed[64] = "";
    const struct route *found = NULL;
    const char *fake_segment = NULL;
    for (size_t i = 0; n > 0 && i < ROUTE_COUNT; i++) {
        const char *segment;
        if (!match(routes[i].pattern, segments, n, &segment))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            found = &routes[i];
            fake_segment = segment;
            break;
        }
        size_t used = strlen(allowed);
        snprintf(allowed + used, sizeof(allowed) - used, "%s%s", used ? ", " : "",
                 routes[i].method);
    }
    if (!found && allowed[0]) {
        http_response_add_header(resp, "Allow", "%s", allowed);
        send_error(resp, 405, "method %.20s not allowed on %.200s; allowed: %s", method, path,
                   allowed);
        return;
    }
    if (!found) {
        send_error(resp, 404, "no such endpoint: %.20s %.200s", method, path);
        return;
    }
    struct fake *fake = NULL;
    if (fake_segment) {
        fake = fakes_find(fakes, fake_segment);
        if (!fake) {
            send_error(resp, 404, "unknown fake \"%.100s\"; known: %s", fake_segment,
                       fakes_known_names(fakes));
            return;
        }
    }
    found->fn(fakes, fake, req, resp);
}

void control_handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct control_request parts = {
        .method = req->method,
        .path = req->path,
        .view = httpd_request_query(req, "view"),
        .since = httpd_request_query(req, "since"),
        .body = req->body,
        .body_len = req->body_len,
        .body_too_large = req->body_too_large,
    };
    control_dispatch(ctx, &parts, resp);
}
