/*
 * tempo_grpc.c - the gRPC front of the fake Tempo (tempo_grpc.h), answering as Tempo 2.9's
 * embedded collector receiver (otlpreceiver v0.132) and distributor answer a
 * TraceService/Export call (pipeline.md §9), checked against:
 *   tempo@v2.9.0 modules/distributor/distributor.go   id checks and RATE_LIMITED words
 *   tempo@v2.9.0 modules/distributor/receiver/shim.go the receiver in front of the distributor
 *   grpc-go server.go (handleStream, processUnaryRPC): "unknown service %v", "unknown method %v
 *     for service %v", "malformed method name: %q" (Unimplemented) and "grpc: error
 *     unmarshalling request: %v" (Internal)
 *   core pdata: the response is ExportTraceServiceResponse as gogo marshals it, with the empty
 *     partial_success field written (0a 00), as on HTTP (receivers.md §1 "Success response")
 *
 * Call flow: fault (latency, stall, reset = RST_STREAM, or a status in gRPC terms) -> method
 * (Unimplemented) -> decode (Internal) -> Tempo's ingest (InvalidArgument with Tempo's words for
 * bad ids; Unavailable when the fake is full) -> 0a 00 -> request log. Size limits (4 MiB,
 * ResourceExhausted) and decompression are grpcd's, before the call reaches this file.
 *
 * Tempo's rate limit is a fault, not a measurement: `{"grpc_status":"RESOURCE_EXHAUSTED"}`
 * without a message answers with the distributor's RATE_LIMITED words for this request's size
 * and Tempo's default limits, and without RetryInfo (distributor.retry_after_on_resource_exhausted
 * is 0 by default), which the collector's otlp exporter treats as permanent (pipeline.md §6).
 * `retry_info_delay` adds the RetryInfo a Tempo with that setting sends.
 *
 * Deliberately not done: per-trace limits (silent discards), tenancy (single-tenant only), the
 * profile and other signal services (Tempo serves traces only: other services are unknown).
 *
 * Known difference, in the shared ingest (tempo.c), not here: real Tempo sees ids after its
 * receiver's pdata has re-marshalled them, and pdata writes an all-zero id as an empty field, so
 * Tempo answers a zero span id with "... received 0 bits" and refuses a zero trace id as "trace
 * ids must be 128 bit, received 0 bits"; the fake checks the bytes as they arrived (64 bits, and
 * a zero trace id is accepted). And a message over 4 MiB is refused by gRPC core in its words
 * ("Received message larger than max (N vs. 4194304)"), where Tempo's grpc-go says "grpc:
 * received message larger than max (N vs. 4194304)"; the code is the same.
 */
#include "tempo_grpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_util.h"
#include "fakes.h"
#include "fault.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "grpcd.h"
#include "log.h"
#include "pdata.h"
#include "request_log.h"
#include "tempo.h"

#define LOG_COMP "fake/tempo"
#define RETRY_INFO_TYPE_URL "type.googleapis.com/google.rpc.RetryInfo"
/* Tempo's defaults (modules/overrides/config.go): ingestion_rate_limit_bytes,
 * ingestion_burst_size_bytes; the strategy is `local`. */
#define TEMPO_RATE_LIMIT_BYTES 15000000
#define TEMPO_BURST_BYTES 20000000
#define TEMPO_TENANT "single-tenant"

struct tempo_grpc {
    struct grpcd *server;
};

/* The empty partial_success field, as pdata writes every Export response. */
static const uint8_t success_body[] = {0x0a, 0x00};

static void set_success(struct grpcd_response *resp)
{
    resp->code = GRPC_CODE_OK;
    resp->body = malloc(sizeof(success_body));
    /* Without memory the answer is still OK, with an empty message: the same to any client. */
    if (resp->body) {
        memcpy(resp->body, success_body, sizeof(success_body));
        resp->body_len = sizeof(success_body);
    }
}

/* grpc-status-details-bin: a google.rpc.Status with the same code and message and one
 * RetryInfo detail, as Tempo builds it with retry_after_on_resource_exhausted. On ENOMEM the
 * status goes without details (the client then sees no RetryInfo, and the log says so). */
static void add_retry_info(struct grpcd_response *resp, int64_t delay_ns)
{
    Google__Protobuf__Duration delay = GOOGLE__PROTOBUF__DURATION__INIT;
    delay.seconds = delay_ns / 1000000000LL;
    delay.nanos = (int32_t)(delay_ns % 1000000000LL);
    Google__Rpc__RetryInfo info = GOOGLE__RPC__RETRY_INFO__INIT;
    info.retry_delay = &delay;
    uint8_t *info_bytes = malloc(google__rpc__retry_info__get_packed_size(&info) + 1);
    if (!info_bytes)
        goto nomem;
    size_t info_len = google__rpc__retry_info__pack(&info, info_bytes);
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = (char *)RETRY_INFO_TYPE_URL;
    any.value.data = info_bytes;
    any.value.len = info_len;
    Google__Protobuf__Any *details[] = {&any};
    Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
    status.code = resp->code;
    status.message = resp->message;
    status.n_details = 1;
    status.details = details;
    size_t len = google__rpc__status__get_packed_size(&status);
    resp->status_details = malloc(len ? len : 1);
    if (resp->status_details)
        resp->status_details_len = google__rpc__status__pack(&status, resp->status_details);
    free(info_bytes);
    if (resp->status_details)
        return;
nomem:
    log_warn(LOG_COMP, "out of memory: answering without RetryInfo");
}

/* A fault's status, in gRPC terms (fault.h derives them from HTTP terms when only those were
 * given). Without a message: Tempo's RATE_LIMITED words for ResourceExhausted, else the HTTP
 * status text the fault stands for. */
static void refuse(const struct fault_spec *spec, const struct grpcd_request *req,
                   struct grpcd_response *resp)
{
    if (spec->grpc_code == GRPC_CODE_OK) {
        set_success(resp); /* answered, but not stored: the fault spoke for Tempo */
        return;
    }
    char text[sizeof(resp->message)];
    if (spec->message) {
        snprintf(text, sizeof(text), "%s", spec->message);
    } else if (spec->grpc_code == GRPC_CODE_RESOURCE_EXHAUSTED) {
        snprintf(text, sizeof(text),
                 "RATE_LIMITED: ingestion rate limit (local: %d bytes/s, global: %d bytes/s, "
                 "burst: %d bytes) exceeded while adding %zu bytes for user %s. consider "
                 "increasing the limit or reducing ingestion rate.",
                 TEMPO_RATE_LIMIT_BYTES, TEMPO_RATE_LIMIT_BYTES, TEMPO_BURST_BYTES,
                 req->message_len, TEMPO_TENANT);
    } else {
        snprintf(text, sizeof(text), "%s", fake_util_status_text(spec->status));
    }
    grpcd_response_status(resp, spec->grpc_code, "%s", text);
    if (spec->has_retry_info)
        add_retry_info(resp, spec->retry_info_delay_ns);
}

/* grpc-go's answer for a method no service registered (server.go handleStream). */
static void unknown_method(const char *method, struct grpcd_response *resp)
{
    const char *name = method ? method : "";
    const char *path = name[0] == '/' ? name + 1 : name;
    const char *slash = strrchr(path, '/');
    char text[sizeof(resp->message)];
    if (!slash) {
        snprintf(text, sizeof(text), "malformed method name: \"%.400s\"", name);
    } else {
        int service_len = (int)(slash - path);
        static const char service[] = "opentelemetry.proto.collector.trace.v1.TraceService";
        if ((size_t)service_len == sizeof(service) - 1 &&
            !strncmp(path, service, sizeof(service) - 1))
            snprintf(text, sizeof(text), "unknown method %.200s for service %s", slash + 1,
                     service);
        else
            snprintf(text, sizeof(text), "unknown service %.*s",
                     service_len > 400 ? 400 : service_len, path);
    }
    grpcd_response_status(resp, GRPC_CODE_UNIMPLEMENTED, "%s", text);
}

/* Tempo's answer to one call. *items = spans stored. */
static void export_traces(struct tempo *tempo, const struct grpcd_request *req,
                          struct grpcd_response *resp, size_t *items)
{
    if (!req->method || strcmp(req->method, TEMPO_GRPC_EXPORT_METHOD) != 0) {
        unknown_method(req->method, resp);
        return;
    }
    struct error err = {0};
    int rc = tempo_ingest_wire(tempo, req->message, req->message_len, items, &err);
    if (rc != -EAGAIN) {
        if (rc < 0)
            grpcd_response_status(resp, GRPC_CODE_UNAVAILABLE, "%s", err.message);
        else
            set_success(resp);
        return;
    }
    struct payload *payload = NULL;
    rc = payload_decode(SIGNAL_TRACES, req->message, req->message_len, &payload, &err);
    if (rc == -ENOMEM) {
        grpcd_response_status(resp, GRPC_CODE_UNAVAILABLE, "%s", err.message);
        return;
    }
    if (rc < 0) {
        char text[sizeof(resp->message)];
        snprintf(text, sizeof(text), "grpc: error unmarshalling request: %.400s", err.message);
        grpcd_response_status(resp, GRPC_CODE_INTERNAL, "%s", text);
        return;
    }
    /* Takes the payload; keeps the bytes rather than the tree (tempo.h). */
    rc = tempo_ingest_protobuf(tempo, payload, req->message, req->message_len, items, &err);
    if (rc == -EINVAL)
        grpcd_response_status(resp, GRPC_CODE_INVALID_ARGUMENT, "%s", err.message);
    else if (rc < 0)
        grpcd_response_status(resp, GRPC_CODE_UNAVAILABLE, "%s", err.message);
    else
        set_success(resp);
}

/* The grpcd handler: one call for the fake (`ctx`), fault -> Tempo -> request log, as fakes.c's
 * front handler does for HTTP. Runs in a grpcd worker thread; may block in a stall. */
static void serve(void *ctx, const struct grpcd_request *req, struct grpcd_response *resp)
{
    struct fake *fake = ctx;
    int64_t arrived = fake_util_now_ms();
    size_t items = 0;
    bool refused = false; /* the fault answered instead of Tempo */
    struct fault_action action;
    bool fired = fault_take(fake_fault(fake), &action);
    if (fired) {
        fault_wait(fake_fault(fake), &action);
        if (action.spec.reset) {
            resp->reset = true;
            refused = true;
        } else if (action.spec.has_grpc_code) {
            refuse(&action.spec, req, resp);
            refused = true;
        }
    }
    if (!refused)
        export_traces(fake_instance(fake), req, resp, &items);
    const char *content_type = grpcd_request_metadata(req, "content-type");
    struct request_log_entry entry = {
        .time_unix_ms = arrived,
        .method = "POST", /* every gRPC call is an HTTP/2 POST */
        .path = req->method,
        .content_type = content_type ? content_type : "application/grpc",
        .content_encoding = req->encoding,
        .user_agent = req->user_agent,
        .org_id = grpcd_request_metadata(req, "x-scope-orgid"),
        .bytes = req->message_len,
        .items = items,
        .status = resp->reset ? 0 : 200, /* gRPC answers every call it completes with :status 200 */
        .fault = fired,
        .accepted = !refused && resp->code == GRPC_CODE_OK,
        .transport = "grpc",
        .grpc_status = resp->reset ? NULL : grpc_code_name(resp->code),
    };
    request_log_append(fake_log(fake), &entry);
    log_debug(LOG_COMP, "gRPC %s -> %s items=%zu fault=%s", req->method ? req->method : "?",
              resp->reset ? "reset" : grpc_code_name(resp->code), items, fired ? "true" : "false");
    fault_action_clear(&action);
}

struct tempo_grpc *tempo_grpc_start(struct fake *fake, const char *host, int port,
                                    struct error *err)
{
    if (!fake) {
        error_set(err, -EINVAL, ERROR_PERMANENT, "no tempo fake to serve");
        return NULL;
    }
    struct tempo_grpc *g = calloc(1, sizeof(*g));
    if (!g) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        return NULL;
    }
    /* Tempo's receiver keeps grpc-go's defaults: 4 MiB per message. */
    struct grpcd_options opts = {.max_recv_message_bytes = 0, .workers = 0};
    g->server = grpcd_start(host, port, &opts, serve, fake, err);
    if (!g->server) {
        free(g);
        return NULL;
    }
    return g;
}

int tempo_grpc_port(const struct tempo_grpc *g)
{
    return g ? grpcd_port(g->server) : 0;
}

void tempo_grpc_stop(struct tempo_grpc *g)
{
    if (!g)
        return;
    grpcd_stop(g->server);
    free(g);
}
