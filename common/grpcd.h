/*
 * grpcd.h - a gRPC server for unary methods on the gRPC C core library (Debian's libgrpc-dev):
 * HTTP/2, flow control, deadlines, message-size limits and compression come from gRPC itself.
 * Shared by the OTLP receiver's gRPC protocol and the fake Tempo.
 *
 * A fixed pool of worker threads, each with its own completion queue, takes calls one at a
 * time: a handler runs in its worker's thread and may block (the fakes stall that way) without
 * holding up the other workers. Every method name is accepted at the transport level; the
 * handler answers UNIMPLEMENTED for methods it does not serve, worded as grpc-go words it.
 */
#ifndef OTEL_COMMON_GRPCD_H
#define OTEL_COMMON_GRPCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* gRPC status codes (the numbers are the protocol's). */
enum grpc_code {
    GRPC_CODE_OK = 0,
    GRPC_CODE_CANCELLED = 1,
    GRPC_CODE_UNKNOWN = 2,
    GRPC_CODE_INVALID_ARGUMENT = 3,
    GRPC_CODE_DEADLINE_EXCEEDED = 4,
    GRPC_CODE_NOT_FOUND = 5,
    GRPC_CODE_ALREADY_EXISTS = 6,
    GRPC_CODE_PERMISSION_DENIED = 7,
    GRPC_CODE_RESOURCE_EXHAUSTED = 8,
    GRPC_CODE_FAILED_PRECONDITION = 9,
    GRPC_CODE_ABORTED = 10,
    GRPC_CODE_OUT_OF_RANGE = 11,
    GRPC_CODE_UNIMPLEMENTED = 12,
    GRPC_CODE_INTERNAL = 13,
    GRPC_CODE_UNAVAILABLE = 14,
    GRPC_CODE_DATA_LOSS = 15,
    GRPC_CODE_UNAUTHENTICATED = 16,
};

/* "UNAVAILABLE", "RESOURCE_EXHAUSTED", ... (the protocol's names); "CODE(n)" when unknown. */
const char *grpc_code_name(int code);

struct grpcd_request {
    const char *method;     /* "/opentelemetry.proto.collector.trace.v1.TraceService/Export" */
    const uint8_t *message; /* the request message, already decompressed by gRPC */
    size_t message_len;
    int64_t deadline_ms;    /* absolute CLOCK_MONOTONIC ms from grpc-timeout; 0 = none */
    const char *user_agent; /* or NULL */
    const char *encoding;   /* "gzip"/"deflate" when the request message came compressed, or
                               NULL (a gRPC core client announcing gzip may still send a
                               message uncompressed when gzip does not shrink it) */
    void *call;             /* for grpcd_request_metadata */
};

/* Borrowed value of request metadata `key` (lower case), or NULL. Valid during the handler. */
const char *grpcd_request_metadata(const struct grpcd_request *req, const char *key);

struct grpcd_response {
    int code;          /* enum grpc_code; default OK */
    char message[512]; /* status message when code != OK */
    uint8_t *body;     /* response message (malloc'd, owned; freed by the server) */
    size_t body_len;
    uint8_t *status_details; /* google.rpc.Status bytes for grpc-status-details-bin (e.g. with
                                RetryInfo), malloc'd and owned, or NULL */
    size_t status_details_len;
    bool reset; /* a fault: cancel the stream instead of answering */
};

/* Sets a non-OK status with a formatted message (truncated to the buffer). */
void grpcd_response_status(struct grpcd_response *resp, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef void (*grpcd_handler_fn)(void *ctx, const struct grpcd_request *req,
                                 struct grpcd_response *resp);

struct grpcd_options {
    size_t max_recv_message_bytes; /* 0 = gRPC's default of 4 MiB; larger -> RESOURCE_EXHAUSTED */
    int workers;                   /* concurrent calls; 0 = 8 */
    /* HTTP/2 and keepalive knobs of configgrpc's ServerConfig, handed to gRPC core as channel
     * arguments; 0 = gRPC's default. */
    int max_concurrent_streams;
    int64_t keepalive_time_ms;           /* server pings an idle connection after this */
    int64_t keepalive_timeout_ms;        /* ... and closes it when the ping is not answered */
    int64_t max_connection_idle_ms;      /* GOAWAY after this long without calls */
    int64_t max_connection_age_ms;       /* GOAWAY after this long in any case */
    int64_t max_connection_age_grace_ms; /* then calls in flight get this long */
    int64_t keepalive_min_time_ms;       /* clients pinging more often are told off */
    bool keepalive_permit_without_calls; /* allow client pings on idle connections */
};

struct grpcd;

/* Listens on host:port (port 0 = ephemeral; host "0.0.0.0"/NULL all interfaces), plaintext h2c.
 * NULL with `err` filled on failure. Caller owns; stop with grpcd_stop. */
struct grpcd *grpcd_start(const char *host, int port, const struct grpcd_options *opts,
                          grpcd_handler_fn handler, void *ctx, struct error *err);
int grpcd_port(const struct grpcd *server);
/* Stops accepting, cancels calls still waiting, joins the workers, frees. NULL accepted. */
void grpcd_stop(struct grpcd *server);

#endif
