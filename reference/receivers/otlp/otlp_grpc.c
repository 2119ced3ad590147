/*
 * otlp_grpc.c - one OTLP/gRPC Export call, answered exactly as the collector answers it.
 *
 * Upstream's chain for a call, checked against core@v0.144.0 receiver/otlpreceiver (otlp.go
 * startGRPCServer, internal/{trace,metrics,logs}/otlp.go Export, internal/errors/errors.go),
 * pdata/internal/otelgrpc/{trace,metrics,logs}_service.go and grpc-go's server.go (handleStream,
 * processUnaryRPC): gRPC core (grpcd)     size limit (ResourceExhausted), decompression,
 * grpc-timeout handleStream          the service is registered only when a pipeline of its signal
 * uses this receiver: otherwise Unimplemented "unknown service <service>"; a known service with
 * another method: "unknown method <m> for service <s>"; a path without '/' after the first:
 * "malformed method name: %q" processUnaryRPC       the request is unmarshalled by grpc's codec
 * before the Export handler runs (the handler's dec() callback), so an undecodable message is
 *                         Internal "grpc: error unmarshalling request: <decoder error>", not the
 *                         InvalidArgument the HTTP side answers. The decoder's own words are
 *                         protobuf-c's here, not pdata's (e.g. Go's "unexpected EOF").
 *   Export                0 items: success without calling the pipeline (even while the memory
 *                         limiter refuses); a consumer error that is not a status becomes
 *                         Unavailable when retryable and Internal when permanent
 *                         (errors.GetStatusFromError; its comment says InvalidArgument, the code
 *                         says Internal); success is the empty Export*ServiceResponse, which
 *                         pdata writes as 0a 00 (partial_success always present), never a
 *                         partial success.
 * Self-metrics as on HTTP (obsreport.go): after the pipeline was called accepted += n on success,
 * refused += n on error, failed += 0; calls answered before the pipeline count nothing.
 *
 * Deliberately not done: the profiles service (otelcol-ref has no profiles pipelines, so it is
 * always an unknown service), client metadata (include_metadata).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "otlp.h"
#include "otlp_internal.h"
#include "pdata.h"

#define MESSAGE_MAX 512

/* The service of each signal (pdata/internal/otelgrpc/{trace,metrics,logs}_service.go ServiceName).
 */
static const char *const service_names[SIGNAL_COUNT] = {
    [SIGNAL_TRACES] = "opentelemetry.proto.collector.trace.v1.TraceService",
    [SIGNAL_METRICS] = "opentelemetry.proto.collector.metrics.v1.MetricsService",
    [SIGNAL_LOGS] = "opentelemetry.proto.collector.logs.v1.LogsService",
};

/* Go's %q for an ASCII string: quoted, with \" \\ and \xNN escapes for the rest. */
static void go_quote(const char *in, char *out, size_t size)
{
    size_t n = 0;
    if (size < 3)
        return;
    out[n++] = '"';
    for (; *in && n + 6 < size; in++) {
        unsigned char ch = (unsigned char)*in;
        if (ch == '"' || ch == '\\') {
            out[n++] = '\\';
            out[n++] = (char)ch;
        } else if (ch >= 0x20 && ch < 0x7f) {
            out[n++] = (char)ch;
        } else {
            n += (size_t)snprintf(out + n, size - n, "\\x%02x", ch);
        }
    }
    out[n++] = '"';
    out[n] = '\0';
}

static void set_success(struct grpcd_response *resp)
{
    resp->code = GRPC_CODE_OK;
    resp->body = malloc(2);
    if (!resp->body) {
        grpcd_response_status(resp, GRPC_CODE_UNAVAILABLE, "out of memory answering the call");
        return;
    }
    resp->body[0] = 0x0a; /* partial_success: an empty message, always written by pdata */
    resp->body[1] = 0x00;
    resp->body_len = 2;
}

/* handleStream's routing: the signal of a registered Export method, or -1 with the answer set. */
static int route(const struct otlp_receiver *r, const char *full_method,
                 struct grpcd_response *resp)
{
    const char *sm = full_method[0] == '/' ? full_method + 1 : full_method;
    const char *slash = strrchr(sm, '/');
    if (!slash) {
        char quoted[MESSAGE_MAX - 32];
        go_quote(full_method, quoted, sizeof(quoted));
        grpcd_response_status(resp, GRPC_CODE_UNIMPLEMENTED, "malformed method name: %s", quoted);
        return -1;
    }
    size_t service_len = (size_t)(slash - sm);
    const char *method = slash + 1;
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        if (!r->component->next[s] || strlen(service_names[s]) != service_len ||
            strncmp(service_names[s], sm, service_len) != 0)
            continue;
        if (!strcmp(method, "Export"))
            return s;
        grpcd_response_status(resp, GRPC_CODE_UNIMPLEMENTED, "unknown method %.200s for service %s",
                              method, service_names[s]);
        return -1;
    }
    grpcd_response_status(resp, GRPC_CODE_UNIMPLEMENTED, "unknown service %.*s",
                          (int)(service_len > 400 ? 400 : service_len), sm);
    return -1;
}

void otlp_grpc_handle(void *ctx, const struct grpcd_request *req, struct grpcd_response *resp)
{
    struct otlp_receiver *r = ctx;
    int signal = route(r, req->method, resp);
    if (signal < 0)
        return;
    const struct otlp_transport_metrics *m = &r->grpc_metrics;
    struct payload *payload = NULL;
    struct error err = {0};
    int rc = payload_decode((enum signal)signal, req->message, req->message_len, &payload, &err);
    if (rc == -ENOMEM) {
        /* not the client's fault (upstream has no such case): retryable, as on HTTP */
        grpcd_response_status(resp, GRPC_CODE_UNAVAILABLE, "%s", err.message);
        return;
    }
    if (rc < 0) {
        grpcd_response_status(resp, GRPC_CODE_INTERNAL, "grpc: error unmarshalling request: %s",
                              err.message);
        return;
    }
    size_t items = payload_item_count(payload);
    if (items == 0) {
        payload_free(payload);
        set_success(resp);
        return;
    }
    error_clear(&err);
    rc = consumer_consume(r->component->next[signal], payload, &err); /* takes the payload */
    if (rc == 0) {
        tm_counter_add(m->accepted[signal], items);
        tm_counter_add(m->refused[signal], 0);
        tm_counter_add(m->failed[signal], 0);
        set_success(resp);
        return;
    }
    tm_counter_add(m->accepted[signal], 0);
    tm_counter_add(m->refused[signal], items);
    tm_counter_add(m->failed[signal], 0);
    bool permanent = err.kind == ERROR_PERMANENT;
    log_debug(r->component->log_name, "pipeline refused %zu %s: %s", items,
              signal_item_name((enum signal)signal), err.message);
    grpcd_response_status(resp, permanent ? GRPC_CODE_INTERNAL : GRPC_CODE_UNAVAILABLE, "%s",
                          err.message[0] ? err.message
                                         : (permanent ? "permanent error" : "retryable error"));
}

int otlp_grpc_start(struct otlp_receiver *r, struct error *err)
{
    const struct otlp_receiver_config *cfg = r->config;
    struct grpcd_options opts = {0};
    /* configgrpc: only a positive value replaces grpc-go's 4 MiB; core takes an int */
    if (cfg->grpc_max_recv_msg_size_mib > 0)
        opts.max_recv_message_bytes = cfg->grpc_max_recv_msg_size_mib >= 2048
                                          ? (size_t)0x7fffffff
                                          : (size_t)cfg->grpc_max_recv_msg_size_mib << 20;
    opts.max_concurrent_streams = cfg->grpc_max_concurrent_streams > 0x7fffffff
                                      ? 0x7fffffff
                                      : (int)cfg->grpc_max_concurrent_streams;
    opts.max_connection_idle_ms = cfg->grpc_max_connection_idle / 1000000;
    opts.max_connection_age_ms = cfg->grpc_max_connection_age / 1000000;
    opts.max_connection_age_grace_ms = cfg->grpc_max_connection_age_grace / 1000000;
    opts.keepalive_time_ms = cfg->grpc_keepalive_time / 1000000;
    opts.keepalive_timeout_ms = cfg->grpc_keepalive_timeout / 1000000;
    opts.keepalive_min_time_ms = cfg->grpc_min_time / 1000000;
    opts.keepalive_permit_without_calls = cfg->grpc_permit_without_stream;
    r->grpc_server = grpcd_start(r->grpc_host[0] ? r->grpc_host : NULL, r->grpc_port, &opts,
                                 otlp_grpc_handle, r, err);
    if (!r->grpc_server)
        return err ? err->code : -EADDRINUSE;
    log_info(r->component->log_name, "Starting GRPC server endpoint=%s:%d",
             r->grpc_host[0] ? r->grpc_host : "0.0.0.0", grpcd_port(r->grpc_server));
    return 0;
}
