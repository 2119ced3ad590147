/*
 * otlp_internal.h - what otlp.c (config, lifecycle) and otlp_http.c (requests) share inside the
 * `otlp` receiver. Not for other components.
 */
#ifndef OTEL_REF_OTLP_INTERNAL_H
#define OTEL_REF_OTLP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "component.h"
#include "grpcd.h"
#include "httpd.h"
#include "options.h"
#include "telemetry.h"

/* receivers.otlp, as bound by the option table in otlp.c. */
struct otlp_receiver_config {
    bool grpc_present;
    char *grpc_endpoint, *grpc_transport;
    int64_t grpc_dialer_timeout;
    int64_t grpc_max_recv_msg_size_mib, grpc_max_concurrent_streams;
    int64_t grpc_read_buffer_size, grpc_write_buffer_size;
    bool grpc_include_metadata;
    int64_t grpc_max_connection_idle, grpc_max_connection_age, grpc_max_connection_age_grace;
    int64_t grpc_keepalive_time, grpc_keepalive_timeout;
    int64_t grpc_min_time;
    bool grpc_permit_without_stream;
    json_t *grpc_tls, *grpc_auth, *grpc_middlewares;
    bool http_present;
    char *http_endpoint;
    char *traces_url_path, *metrics_url_path, *logs_url_path;
    bool include_metadata;
    int64_t max_request_body_size;
    bool compression_algorithms_present;
    struct option_string_list compression_algorithms;
    json_t *response_headers;
    json_t *tls, *cors, *auth, *middlewares;
    int64_t read_timeout, read_header_timeout, write_timeout, idle_timeout;
    bool keep_alives_enabled;
};

#define OTLP_MAX_RESPONSE_HEADERS HTTPD_MAX_HEADERS

/* receiverhelper's three counters of one transport, per signal (NULL for unused signals). */
struct otlp_transport_metrics {
    struct tm_counter *accepted[SIGNAL_COUNT], *refused[SIGNAL_COUNT], *failed[SIGNAL_COUNT];
};

/* One running receiver. Immutable after create, except the server pointers (start/shutdown,
 * which the service never runs concurrently with requests' completion: httpd_stop and
 * grpcd_stop wait for them). */
struct otlp_receiver {
    struct component *component;
    const struct otlp_receiver_config *config;
    char host[256];
    int port;
    size_t max_body;
    char *paths[SIGNAL_COUNT]; /* sanitized URL path per signal a pipeline uses, else NULL */
    struct otlp_transport_metrics http_metrics, grpc_metrics;
    const char *header_names[OTLP_MAX_RESPONSE_HEADERS];
    const char *header_values[OTLP_MAX_RESPONSE_HEADERS];
    size_t header_count;
    struct httpd *server;
    /* gRPC protocol (otlp_grpc.c) */
    char grpc_host[256];
    int grpc_port;
    struct grpcd *grpc_server;
};

/* The httpd handler of the receiver (otlp_http.c); ctx is the struct otlp_receiver. */
void otlp_http_handle(void *ctx, const struct http_request *req, struct http_response *resp);

/* Starts the gRPC server of protocols.grpc (otlp_grpc.c). Returns 0 or a negative code. */
int otlp_grpc_start(struct otlp_receiver *r, struct error *err);
/* The grpcd handler of the receiver (otlp_grpc.c); ctx is the struct otlp_receiver. */
void otlp_grpc_handle(void *ctx, const struct grpcd_request *req, struct grpcd_response *resp);

#endif
