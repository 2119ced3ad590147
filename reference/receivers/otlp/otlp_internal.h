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
#include "httpd.h"
#include "options.h"
#include "telemetry.h"

/* receivers.otlp, as bound by the option table in otlp.c. */
struct otlp_receiver_config {
    bool grpc_present;
    json_t *grpc;
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

/* One running receiver. Immutable after create, except the server pointer (start/shutdown, which
 * the service never runs concurrently with requests' completion: httpd_stop waits for them). */
struct otlp_receiver {
    struct component *component;
    const struct otlp_receiver_config *config;
    char host[256];
    int port;
    size_t max_body;
    char *paths[SIGNAL_COUNT]; /* sanitized URL path per signal a pipeline uses, else NULL */
    struct tm_counter *accepted[SIGNAL_COUNT], *refused[SIGNAL_COUNT], *failed[SIGNAL_COUNT];
    const char *header_names[OTLP_MAX_RESPONSE_HEADERS];
    const char *header_values[OTLP_MAX_RESPONSE_HEADERS];
    size_t header_count;
    struct httpd *server;
};

/* The httpd handler of the receiver (otlp_http.c); ctx is the struct otlp_receiver. */
void otlp_http_handle(void *ctx, const struct http_request *req, struct http_response *resp);

#endif
