/*
 * grpcc.h - a gRPC client for unary calls on the gRPC C core library: one channel per target
 * (HTTP/2 connection management, reconnects, compression and deadlines are gRPC's), safe to
 * call from many threads at once. Used by the otlp (gRPC) exporter and the harness.
 */
#ifndef OTEL_COMMON_GRPCC_H
#define OTEL_COMMON_GRPCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "grpcd.h" /* enum grpc_code */

struct grpcc_options {
    bool insecure;                 /* plaintext h2c (tls.insecure: true); TLS otherwise */
    const char *compression;       /* "gzip" or NULL/"none" */
    const char *user_agent;        /* primary user agent, or NULL */
    size_t max_recv_message_bytes; /* 0 = gRPC's default */
    const char *const *headers;    /* extra metadata as NULL-terminated key, value pairs, or NULL */
    /* configgrpc's ClientConfig knobs, handed to gRPC core; zero values = gRPC's defaults. */
    bool wait_for_ready; /* wait for a connection until the deadline instead of failing fast */
    int64_t keepalive_time_ms; /* ping an idle connection after this (0 = keepalive off) */
    int64_t keepalive_timeout_ms;
    bool keepalive_permit_without_calls;
    const char *ca_pem;   /* TLS: trusted roots (NULL = the system's), PEM text */
    const char *cert_pem; /* TLS: client certificate and key for mTLS, PEM text, or NULL */
    const char *key_pem;
    const char *authority; /* :authority (and TLS server name) override, or NULL */
};

struct grpcc_result {
    int code; /* enum grpc_code; a transport failure is UNAVAILABLE, as gRPC says */
    char message[512];
    uint8_t *body; /* response message on OK (malloc'd, caller frees), else NULL */
    size_t body_len;
    uint8_t *status_details; /* grpc-status-details-bin (google.rpc.Status bytes) or NULL */
    size_t status_details_len;
};

struct grpcc;

/* A client for `target` ("host:port", "dns:///host:port", "unix:///path"). NULL with err filled
 * on failure (bad options). Connecting is lazy, as in gRPC. Caller owns; free with grpcc_free. */
struct grpcc *grpcc_new(const char *target, const struct grpcc_options *opts, struct error *err);
/* One unary call with a deadline of `timeout_ms` (0 = none). Returns 0 when a status was
 * received (look at result->code), or -ENOMEM. Free the result with grpcc_result_release. */
int grpcc_unary(struct grpcc *client, const char *method, const uint8_t *request, size_t len,
                int64_t timeout_ms, struct grpcc_result *result);
void grpcc_result_release(struct grpcc_result *result);
void grpcc_free(struct grpcc *client);

#endif
