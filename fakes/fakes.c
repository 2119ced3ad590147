/*
 * fakes.c - the table of fake backends and the front handler every fake request goes through
 * (fakes.h).
 *
 * Threads: libmicrohttpd runs one thread per connection for every server started here (one per
 * fake, one for the control API); they meet only in the backends, fault injectors and request
 * logs, each behind its own mutex. fakes_free releases stalled requests before it stops the
 * servers, because stopping waits for running handlers.
 */
#include "fakes.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "fake_util.h"
#include "fault.h"
#include "k8s_api.h"
#include "log.h"
#include "loki.h"
#include "prometheus.h"
#include "request_log.h"
#include "tempo.h"
#include "targets.h"
#include "tempo_grpc.h"
#include "tls_cert.h"

#define LOG_COMP "fakes"
#define DEFAULT_HOST "127.0.0.1"
#define CONTROL_MAX_BODY (1024 * 1024)
#define FAKES_MAX 8

/* ---- the backends ---- */

/* Adapters from the descriptor's `void *` to each module's own type. Prometheus's error format
 * lives here because prometheus.c has no refuse function: Prometheus answers its OTLP write
 * errors with http.Error, text/plain with a trailing newline (pipeline.md §7). */

static const char *const no_promotion[] = {NULL};

static void *prometheus_create(const struct fakes_config *cfg)
{
    struct prometheus_options opts = {
        .otlp_enabled = cfg->prometheus_otlp_enabled,
        .promote_resource_attributes = no_promotion,
    };
    return prometheus_new(&opts);
}
static void prometheus_destroy(void *self)
{
    prometheus_free(self);
}
static void prometheus_handle_any(void *self, const struct http_request *req,
                                  struct http_response *resp, size_t *items)
{
    prometheus_handle(self, req, resp, items);
}
static void prometheus_refuse(void *self, const struct http_request *req,
                              struct http_response *resp, int status, const char *message)
{
    if (status < 300) {
        resp->status = status;
        return;
    }
    http_response_printf(resp, status, "text/plain; charset=utf-8", "%s\n",
                         message ? message : fake_util_status_text(status));
}
static json_t *prometheus_view_any(void *self)
{
    return prometheus_view(self);
}
static json_t *prometheus_view_otlp_any(void *self)
{
    return prometheus_view_otlp(self);
}
static void prometheus_reset_any(void *self)
{
    prometheus_reset(self);
}

static void *loki_create(const struct fakes_config *cfg)
{
    struct loki_options opts = {
        .auth_enabled = cfg->loki_auth_enabled, .discard = cfg->discard, .now_ns = cfg->now_ns};
    return loki_new(&opts);
}
static void loki_destroy(void *self)
{
    loki_free(self);
}
static void loki_handle_any(void *self, const struct http_request *req, struct http_response *resp,
                            size_t *items)
{
    loki_handle(self, req, resp, items);
}
static void loki_refuse_any(void *self, const struct http_request *req, struct http_response *resp,
                            int status, const char *message)
{
    loki_refuse_http(self, req, resp, status, message);
}
static json_t *loki_view_any(void *self)
{
    return loki_view(self);
}
static json_t *loki_view_otlp_any(void *self)
{
    return loki_view_otlp(self);
}
static void loki_reset_any(void *self)
{
    loki_reset(self);
}

static void *tempo_create(const struct fakes_config *cfg)
{
    return tempo_new();
}
static void tempo_destroy(void *self)
{
    tempo_free(self);
}
static void tempo_handle_any(void *self, const struct http_request *req, struct http_response *resp,
                             size_t *items)
{
    tempo_handle(self, req, resp, items);
}
static void tempo_refuse_any(void *self, const struct http_request *req, struct http_response *resp,
                             int status, const char *message)
{
    tempo_refuse_http(self, req, resp, status, message);
}
static json_t *tempo_view_any(void *self)
{
    return tempo_view(self);
}
static json_t *tempo_view_otlp_any(void *self)
{
    return tempo_view_otlp(self);
}
static void tempo_reset_any(void *self)
{
    tempo_reset(self);
}

/* The Kubernetes API: its own Status bodies for faults, its objects as the view (the audit log
 * has its own control route). DELETE /v1/received clears its audit log and request log but not
 * its objects: they are the cluster a scenario set up, not data that arrived. */
static void *kubernetes_create(const struct fakes_config *cfg)
{
    struct error err = {0};
    struct k8s_api *api = k8s_api_new(cfg->kubernetes_watch_history, &err);
    if (!api)
        log_error("fake/kubernetes", "%s", err.message);
    return api;
}
static void kubernetes_destroy(void *self)
{
    k8s_api_free(self);
}
static void kubernetes_handle(void *self, const struct http_request *req,
                              struct http_response *resp, size_t *items)
{
    k8s_api_handle(self, req, resp, items);
}
static void kubernetes_refuse(void *self, const struct http_request *req,
                              struct http_response *resp, int status, const char *message)
{
    k8s_api_refuse(self, status, message, resp);
}
static json_t *kubernetes_view(void *self)
{
    return k8s_api_view(self);
}
static json_t *kubernetes_view_otlp(void *self)
{
    return json_object(); /* nothing OTLP arrives here */
}
static void kubernetes_reset(void *self)
{
    k8s_api_audit_clear(self);
}
static void kubernetes_shutdown(void *self)
{
    k8s_api_shutdown(self);
}
static size_t kubernetes_cut_streams(void *self)
{
    return k8s_api_cut_watches(self);
}
static int kubernetes_ready(void *self, json_t *ready)
{
    return json_object_set_new(ready, "kubernetes_admin_token",
                               json_string(k8s_api_admin_token(self)));
}

/* Every backend, in the order of the ready line. To add one: an entry here, a port field in
 * struct fakes_config, a flag in main.c. */
static const struct fake_backend backends[] = {
    {
        .name = "prometheus",
        .port_key = "prometheus",
        .port_offset = offsetof(struct fakes_config, prometheus_port),
        .max_body = 64u * 1024 * 1024,
        .create = prometheus_create,
        .destroy = prometheus_destroy,
        .handle = prometheus_handle_any,
        .refuse = prometheus_refuse,
        .view = prometheus_view_any,
        .view_otlp = prometheus_view_otlp_any,
        .reset = prometheus_reset_any,
    },
    {
        .name = "loki",
        .port_key = "loki",
        .port_offset = offsetof(struct fakes_config, loki_port),
        .max_body = LOKI_MAX_RECV_MSG_SIZE,
        .create = loki_create,
        .destroy = loki_destroy,
        .handle = loki_handle_any,
        .refuse = loki_refuse_any,
        .view = loki_view_any,
        .view_otlp = loki_view_otlp_any,
        .reset = loki_reset_any,
    },
    {
        .name = "tempo",
        .port_key = "tempo_http",
        .port_offset = offsetof(struct fakes_config, tempo_http_port),
        .max_body = TEMPO_MAX_REQUEST_BODY,
        .create = tempo_create,
        .destroy = tempo_destroy,
        .handle = tempo_handle_any,
        .refuse = tempo_refuse_any,
        .view = tempo_view_any,
        .view_otlp = tempo_view_otlp_any,
        .reset = tempo_reset_any,
    },
    {
        .name = "kubernetes",
        .port_key = "kubernetes",
        .port_offset = offsetof(struct fakes_config, kubernetes_port),
        .tls_port_key = "kubernetes_https",
        .tls_port_offset = offsetof(struct fakes_config, kubernetes_https_port),
        .max_body = K8S_API_MAX_BODY,
        .create = kubernetes_create,
        .destroy = kubernetes_destroy,
        .handle = kubernetes_handle,
        .refuse = kubernetes_refuse,
        .view = kubernetes_view,
        .view_otlp = kubernetes_view_otlp,
        .reset = kubernetes_reset,
        .shutdown = kubernetes_shutdown,
        .cut_streams = kubernetes_cut_streams,
        .ready = kubernetes_ready,
    },
};

#define BACKEND_COUNT (sizeof(backends) / sizeof(backends[0]))
_Static_assert(BACKEND_COUNT <= FAKES_MAX, "raise FAKES_MAX");

/* ---- fakes ---- */

struct fake {
    const struct fake_backend *backend;
    void *self;
    struct fault *fault;
    struct request_log *log;
    struct httpd *server;
    struct httpd *tls_server; /* the HTTPS front (backend->tls_port_key), or NULL */
    char comp[64];            /* log component: "fake/loki" */
};

struct fakes {
    struct fakes_config cfg;
    char host[256];
    struct fake items[FAKES_MAX];
    size_t count;
    struct httpd *control;
    char known_names[256];
    struct tempo_grpc *tempo_grpc; /* Tempo's second front (tempo_grpc.h) */
    struct tls_cert cert;          /* for the HTTPS fronts, made by fakes_listen when needed */
    struct targets *targets;       /* fake scrape targets (targets.h), started by control */
};

const char *fake_name(const struct fake *fake)
{
    return fake->backend->name;
}
const struct fake_backend *fake_backend(const struct fake *fake)
{
    return fake->backend;
}
void *fake_instance(struct fake *fake)
{
    return fake->self;
}
struct fault *fake_fault(struct fake *fake)
{
    return fake->fault;
}
struct request_log *fake_log(struct fake *fake)
{
    return fake->log;
}

void fake_reset(struct fake *fake)
{
    fake->backend->reset(fake->self);
    request_log_reset(fake->log);
}

size_t fakes_count(const struct fakes *f)
{
    return f->count;
}
struct fake *fakes_at(struct fakes *f, size_t i)
{
    return i < f->count ? &f->items[i] : NULL;
}
const char *fakes_known_names(const struct fakes *f)
{
    return f->known_names;
}

struct fake *fakes_find(struct fakes *f, const char *name)
{
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->items[i].backend->name, name) == 0)
            return &f->items[i];
    return NULL;
}

int fakes_port(const struct fakes *f, const char *name)
{
    if (strcmp(name, "control") == 0)
        return f->control ? httpd_port(f->control) : 0;
    if (strcmp(name, "tempo_grpc") == 0)
        return tempo_grpc_port(f->tempo_grpc);
    for (size_t i = 0; i < f->count; i++) {
        const struct fake *fake = &f->items[i];
        if (strcmp(fake->backend->name, name) == 0)
            return fake->server ? httpd_port(fake->server) : 0;
        if (fake->backend->tls_port_key && strcmp(fake->backend->tls_port_key, name) == 0)
            return fake->tls_server ? httpd_port(fake->tls_server) : 0;
    }
    return 0;
}

struct targets *fakes_targets(struct fakes *f)
{
    return f->targets;
}

const char *fakes_ca_pem(const struct fakes *f)
{
    return f->cert.cert_pem;
}

/* The certificate of the HTTPS fronts: the names a client may use for the fakes, the listen
 * host among them, and the Service names in-cluster clients use for the API server. */
static int make_certificate(struct fakes *f, struct error *err)
{
    const char *dns[] = {"localhost",
                         "kubernetes",
                         "kubernetes.default",
                         "kubernetes.default.svc",
                         "kubernetes.default.svc.cluster.local",
                         f->host};
    const char *ips[] = {"127.0.0.1", "::1", f->host};
    struct in6_addr any;
    bool host_is_ip =
        inet_pton(AF_INET, f->host, &any) == 1 || inet_pton(AF_INET6, f->host, &any) == 1;
    size_t n_dns = sizeof(dns) / sizeof(dns[0]) - (host_is_ip ? 1 : 0);
    size_t n_ips = sizeof(ips) / sizeof(ips[0]) - (host_is_ip ? 0 : 1);
    return tls_cert_self_signed("otel-fakes", dns, n_dns, ips, n_ips, &f->cert, err);
}

/* The front handler: fault -> backend -> request log. */
static void fake_serve(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct fake *fake = ctx;
    const struct fake_backend *b = fake->backend;
    int64_t arrived = fake_util_now_ms();
    size_t items = 0;
    bool refused = false; /* the fault answered instead of the backend */
    struct fault_action action;
    bool fired = fault_take(fake->fault, &action);
    if (fired) {
        fault_wait(fake->fault, &action);
        if (action.spec.reset) {
            resp->close_connection = true;
            refused = true;
        } else if (action.spec.status) {
            b->refuse(fake->self, req, resp, action.spec.status, action.spec.body);
            if (action.spec.retry_after[0])
                http_response_add_header(resp, "Retry-After", "%s", action.spec.retry_after);
            refused = true;
        }
    }
    if (!refused)
        b->handle(fake->self, req, resp, &items);
    int status = resp->close_connection ? 0 : resp->status;
    struct request_log_entry entry = {
        .time_unix_ms = arrived,
        .method = req->method,
        .path = req->path,
        .content_type = httpd_request_header(req, "Content-Type"),
        .content_encoding = httpd_request_header(req, "Content-Encoding"),
        .user_agent = httpd_request_header(req, "User-Agent"),
        .org_id = httpd_request_header(req, "X-Scope-OrgID"),
        .bytes = req->body_len,
        .items = items,
        .status = status,
        .fault = fired,
        .accepted = !refused && status >= 200 && status < 300,
    };
    request_log_append(fake->log, &entry);
    log_debug(fake->comp, "%s %s -> %d items=%zu fault=%s", req->method, req->path, status, items,
              fired ? "true" : "false");
    fault_action_clear(&action);
}

struct fakes *fakes_new(const struct fakes_config *cfg, struct error *err)
{
    struct fakes *f = calloc(1, sizeof(*f));
    if (!f) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        return NULL;
    }
    f->cfg = *cfg;
    snprintf(f->host, sizeof(f->host), "%s", cfg->host ? cfg->host : DEFAULT_HOST);
    f->cfg.host = f->host;
    f->targets = targets_new();
    if (!f->targets) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory creating the scrape targets");
        fakes_free(f);
        return NULL;
    }
    size_t w = 0;
    for (size_t i = 0; i < BACKEND_COUNT; i++) {
        struct fake *fake = &f->items[f->count++];
        fake->backend = &backends[i];
        snprintf(fake->comp, sizeof(fake->comp), "fake/%s", backends[i].name);
        fake->self = backends[i].create(&f->cfg);
        fake->fault = fault_new();
        fake->log = request_log_new(REQUEST_LOG_CAPACITY);
        if (!fake->self || !fake->fault || !fake->log) {
            error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory creating fake %s",
                      backends[i].name);
            fakes_free(f);
            return NULL;
        }
        w += (size_t)snprintf(f->known_names + w, sizeof(f->known_names) - w, "%s%s", i ? ", " : "",
                              backends[i].name);
    }
    return f;
}

int fakes_listen(struct fakes *f, struct error *err)
{
    for (size_t i = 0; i < f->count; i++) {
        struct fake *fake = &f->items[i];
        int port = *(const int *)((const char *)&f->cfg + fake->backend->port_offset);
        fake->server = httpd_start(f->host, port, fake->backend->max_body, fake_serve, fake, err);
        if (!fake->server)
            return error_prefix(err, "fake %s", fake->backend->name);
        log_info(fake->comp, "listening on %s:%d", f->host, httpd_port(fake->server));
        if (!fake->backend->tls_port_key)
            continue;
        port = *(const int *)((const char *)&f->cfg + fake->backend->tls_port_offset);
        if (port < 0)
            continue; /* the HTTPS front turned off */
        if (!f->cert.cert_pem && make_certificate(f, err) < 0)
            return error_prefix(err, "fake %s (HTTPS)", fake->backend->name);
        fake->tls_server = httpd_start_tls(f->host, port, fake->backend->max_body, fake_serve, fake,
                                           f->cert.cert_pem, f->cert.key_pem, err);
        if (!fake->tls_server)
            return error_prefix(err, "fake %s (HTTPS)", fake->backend->name);
        log_info(fake->comp, "HTTPS listening on %s:%d", f->host, httpd_port(fake->tls_server));
    }
    /* Tempo's gRPC front: the same fake (backend, faults, request log) on a port of its own. */
    f->tempo_grpc = tempo_grpc_start(fakes_find(f, "tempo"), f->host, f->cfg.tempo_grpc_port, err);
    if (!f->tempo_grpc)
        return error_prefix(err, "fake tempo (gRPC)");
    log_info("fake/tempo", "gRPC listening on %s:%d", f->host, tempo_grpc_port(f->tempo_grpc));
    f->control =
        httpd_start(f->host, f->cfg.control_port, CONTROL_MAX_BODY, control_handle, f, err);
    if (!f->control)
        return error_prefix(err, "control API");
    log_info(LOG_COMP, "control API listening on %s:%d", f->host, httpd_port(f->control));
    return 0;
}

void fakes_free(struct fakes *f)
{
    if (!f)
        return;
    /* Stalled handlers and open streams must end before the servers can stop. */
    for (size_t i = 0; i < f->count; i++) {
        if (f->items[i].fault)
            fault_shutdown(f->items[i].fault);
        if (f->items[i].self && f->items[i].backend->shutdown)
            f->items[i].backend->shutdown(f->items[i].self);
    }
    tempo_grpc_stop(f->tempo_grpc);
    httpd_stop(f->control);
    /* after the control server: no control request is using a target any more */
    targets_free(f->targets);
    for (size_t i = 0; i < f->count; i++) {
        httpd_stop(f->items[i].tls_server);
        httpd_stop(f->items[i].server);
    }
    for (size_t i = 0; i < f->count; i++) {
        struct fake *fake = &f->items[i];
        if (fake->self)
            fake->backend->destroy(fake->self);
        fault_free(fake->fault);
        request_log_free(fake->log);
    }
    tls_cert_free(&f->cert);
    free(f);
}

json_t *fakes_ready_json(const struct fakes *f)
{
    json_t *root = json_object();
    json_t *ports = json_object();
    int rc = !root || !ports;
    rc = rc || json_object_set_new(root, "ready", json_true());
    rc = rc || json_object_set(root, "ports", ports);
    for (size_t i = 0; !rc && i < f->count; i++) {
        const struct fake *fake = &f->items[i];
        rc = json_object_set_new(ports, fake->backend->port_key,
                                 json_integer(fake->server ? httpd_port(fake->server) : 0));
        if (!rc && fake->backend->tls_port_key)
            rc = json_object_set_new(
                ports, fake->backend->tls_port_key,
                json_integer(fake->tls_server ? httpd_port(fake->tls_server) : 0));
    }
    rc = rc ||
         json_object_set_new(ports, "tempo_grpc", json_integer(tempo_grpc_port(f->tempo_grpc)));
    rc = rc || json_object_set_new(ports, "control",
                                   json_integer(f->control ? httpd_port(f->control) : 0));
    for (size_t i = 0; !rc && i < f->count; i++) {
        const struct fake *fake = &f->items[i];
        if (fake->backend->ready)
            rc = fake->backend->ready(fake->self, root);
    }
    json_decref(ports);
    if (rc) {
        json_decref(root);
        return NULL;
    }
    return root;
}
