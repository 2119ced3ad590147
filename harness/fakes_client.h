/*
 * fakes_client.h - runs `otel-fakes` for one scenario and drives it through its control API
 * (DESIGN.md §4): received views, request logs, stats, faults, reset.
 *
 * The fakes print one ready line `{"ready":true,"ports":{...}}` on stdout; the harness sends
 * their stdout to a file and polls it with the wait helper, so a fakes process that never gets
 * ready (or dies) is reported with what it printed, and nothing ever blocks on a pipe.
 */
#ifndef HARNESS_FAKES_CLIENT_H
#define HARNESS_FAKES_CLIENT_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

#include "error.h"
#include "proc.h"
#include "scenario.h"

struct fakes_client {
    struct proc proc;
    int ports[FAKE_COUNT];      /* the backends' ports, by enum fake_id */
    int grpc_ports[FAKE_COUNT]; /* their gRPC fronts (Tempo only); 0 = none */
    int control_port;
    char control[64]; /* "http://127.0.0.1:N" */
    /* The fake Kubernetes API: plain HTTP and HTTPS (its CA: GET /v1/tls/ca.crt); 0 when the
     * ready line has none. */
    int kubernetes_port;
    int kubernetes_https_port;
};

struct fakes_client_options {
    const char *binary;
    const char *stdout_path; /* the ready line lands here */
    const char *log_path;    /* stderr */
    const char *cwd;
    bool loki_auth_enabled;
    bool prometheus_otlp_disabled;
    int64_t ready_timeout_ms;
};

/* Starts the fakes and waits for the ready line. On failure nothing is left running. */
int fakes_client_start(struct fakes_client *f, const struct fakes_client_options *o,
                       struct error *err);
/* Stops the fakes (SIGTERM, then SIGKILL) and reaps them. Safe to call twice. */
void fakes_client_stop(struct fakes_client *f);

/* The base URL an exporter gets for `fake`: http://127.0.0.1:N plus the backend's base path
 * (Prometheus /api/v1/otlp, Loki /otlp, Tempo none), so the exporter appends /v1/<signal> as
 * it does with the real backends' URLs. */
void fakes_client_endpoint(const struct fakes_client *f, enum fake_id fake, char *buf, size_t size);
/* The host:port an OTLP/gRPC exporter gets for `fake` ("127.0.0.1:N"), or "" when the fake has no
 * gRPC front. */
void fakes_client_grpc_target(const struct fakes_client *f, enum fake_id fake, char *buf,
                              size_t size);

/* GET a view: "loki" (backend view), "otlp/loki" (?view=otlp), "requests/loki", "stats",
 * "targets" (the scrape targets and their counts, GET /v1/targets). */
int fakes_client_view(const struct fakes_client *f, const char *view, json_t **out,
                      struct error *err);

/* A count of `fake` by its statistic name (scenario_fake_stat): /v1/stats counters, or counts
 * read from the backend view (series, samples, streams, records, traces, spans). `stats` and
 * `view` are caches the caller may pass (NULL to fetch); pass the same pointers to reuse within
 * one poll, and json_decref them after. */
int fakes_client_count(const struct fakes_client *f, enum fake_id fake, const char *stat,
                       json_t **stats, json_t **view, double *out, struct error *err);

int fakes_client_put_fault(const struct fakes_client *f, enum fake_id fake, const json_t *spec,
                           struct error *err);
int fakes_client_clear_fault(const struct fakes_client *f, enum fake_id fake, struct error *err);

/* Fake scrape targets (fakes/targets.h). `target` is the JSON of POST /v1/targets; `name` an id,
 * "address:port" or an address one target has. A spec of NULL clears the target's fault. */
int fakes_client_start_target(const struct fakes_client *f, const json_t *target,
                              struct error *err);
int fakes_client_stop_target(const struct fakes_client *f, const char *name, struct error *err);
int fakes_client_target_fault(const struct fakes_client *f, const char *name, const json_t *spec,
                              struct error *err);

#endif
