/*
 * fakes.h - the set of fake backends in one process (DESIGN.md §4), as curl bundles all its test
 * servers in one binary: every backend is one `struct fake_backend` descriptor in a table, and
 * the front handler, the control API and main() know the backends only through it.
 *
 * A `struct fake` is one running backend: its instance, its fault injector (fault.h) and its
 * request log (request_log.h), behind its own HTTP server. A request to a fake goes
 * fault -> backend -> log: a fault that answers for the backend (status, reset) keeps the data
 * from being recorded, because the backend said no.
 *
 * Adding a backend (the Target Allocator next) = one entry in the table in fakes.c, a port
 * field in `struct fakes_config`, a flag in main.c.
 *
 * Only the table, the front handler and the instance plumbing live here: what the backends
 * themselves share is in kept.h (accepted requests) and fake_util.h (Go's wire texts, JSON,
 * clocks), so a backend never includes this file.
 */
#ifndef OTEL_FAKES_FAKES_H
#define OTEL_FAKES_FAKES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "httpd.h"

struct fault;
struct request_log;
struct targets;

struct fakes_config {
    const char *host; /* NULL = 127.0.0.1 */
    int prometheus_port;
    int loki_port;
    int tempo_http_port;
    int tempo_grpc_port; /* Tempo's gRPC front (tempo_grpc.h) */
    int control_port;
    int kubernetes_port;       /* the fake Kubernetes API (k8s_api.h), plain HTTP */
    int kubernetes_https_port; /* the same API over HTTPS (clients that send tokens only so);
                                  negative: no HTTPS front (tests that do not need it) */
    bool loki_auth_enabled;
    bool prometheus_otlp_enabled;
    bool discard; /* --discard: Loki keeps nothing it accepts (loki_options.discard) */
    /* Tests only: a clock for the fakes that validate timestamps (Loki); NULL = real time. */
    int64_t (*now_ns)(void);
    /* Tests only: watch events the Kubernetes API keeps per type (0 = the store's 1000), so a
     * test reaches a too-old resourceVersion with a few writes. */
    size_t kubernetes_watch_history;
};

/* One backend, as the front handler and the control API see it. Every function gets the
 * instance that `create` returned. */
struct fake_backend {
    const char *name;     /* "loki": the {fake} of control URLs */
    const char *port_key; /* "tempo_http": the key of the ready line's "ports" object */
    size_t port_offset;   /* offsetof(struct fakes_config, <port field>) */
    /* Also served over HTTPS on a port of its own (NULL: not): the ready line's key and the
     * port field. The certificate is the fakes' one (fakes_ca_pem): self-signed at start for
     * localhost, 127.0.0.1, ::1, the listen host and kubernetes.default.svc. */
    const char *tls_port_key; /* "kubernetes_https" */
    size_t tls_port_offset;
    size_t max_body; /* bytes the HTTP server keeps of a request body */
    /* NULL on allocation failure. */
    void *(*create)(const struct fakes_config *cfg);
    void (*destroy)(void *self);
    /* Answers one request; *items = items accepted (stored). */
    void (*handle)(void *self, const struct http_request *req, struct http_response *resp,
                   size_t *items);
    /* Answers `status` in the backend's own error format (a status fault). `message` is the
     * fault's body text or NULL for the backend's usual text for that status. */
    void (*refuse)(void *self, const struct http_request *req, struct http_response *resp,
                   int status, const char *message);
    json_t *(*view)(void *self);      /* caller owns; NULL on ENOMEM */
    json_t *(*view_otlp)(void *self); /* caller owns; NULL on ENOMEM */
    void (*reset)(void *self);
    /* Optional (NULL = none). Ends whatever keeps a response open (the Kubernetes API's
     * watches) so that the HTTP server can stop: fakes_free calls it before httpd_stop. */
    void (*shutdown)(void *self);
    /* Optional (NULL = none). Drops every response kept open right now (the Kubernetes API's
     * watches) and returns how many, for a fault's cut_watches (fault.h); new ones are served as
     * before. */
    size_t (*cut_streams)(void *self);
    /* Optional (NULL = none). Adds the backend's own keys to the ready line's object (the
     * Kubernetes API's admin token). Returns 0 or -1 on ENOMEM. */
    int (*ready)(void *self, json_t *ready);
};

struct fake;
struct fakes;

/* Creates every backend with its fault injector and request log; starts no server (unit tests
 * drive the backends and the control API directly). Returns NULL with `err` filled. Caller owns;
 * free with fakes_free. */
struct fakes *fakes_new(const struct fakes_config *cfg, struct error *err);
/* Starts one HTTP server per backend and the control server. Returns 0 or a negative code with
 * `err` filled (address in use); servers already started are stopped by fakes_free. */
int fakes_listen(struct fakes *f, struct error *err);
/* Releases stalled requests, stops every server, frees everything. NULL is accepted. */
void fakes_free(struct fakes *f);
/* `{"ready":true,"ports":{"prometheus":N,...,"tempo_grpc":N,"control":N},
 * "kubernetes_admin_token":"..."}` after fakes_listen (backends' own keys after "ports").
 * Caller owns. */
json_t *fakes_ready_json(const struct fakes *f);

size_t fakes_count(const struct fakes *f);
struct fake *fakes_at(struct fakes *f, size_t i);
/* NULL when no backend has that name. */
struct fake *fakes_find(struct fakes *f, const char *name);
/* "prometheus, loki, tempo": for error messages. Static storage inside `f`. */
const char *fakes_known_names(const struct fakes *f);
/* Port of a started backend (0 before fakes_listen); control port with name "control", Tempo's
 * gRPC front with "tempo_grpc", a backend's HTTPS front with its tls_port_key. */
int fakes_port(const struct fakes *f, const char *name);
/* The PEM certificate of the HTTPS fronts, which is its own CA (give it to clients as their CA
 * bundle), or NULL when no backend serves HTTPS or before fakes_listen. Borrowed. */
const char *fakes_ca_pem(const struct fakes *f);
/* The fake scrape targets (targets.h): not backends of the table, since each one is a server
 * of its own that the control API starts and stops. Borrowed; never NULL after fakes_new. */
struct targets *fakes_targets(struct fakes *f);

const char *fake_name(const struct fake *fake);
const struct fake_backend *fake_backend(const struct fake *fake);
void *fake_instance(struct fake *fake);
struct fault *fake_fault(struct fake *fake);
struct request_log *fake_log(struct fake *fake);
/* Clears the backend's data and its request log (faults stay). */
void fake_reset(struct fake *fake);

#endif
