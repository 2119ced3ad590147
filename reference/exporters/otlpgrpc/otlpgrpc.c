/*
 * otlpgrpc.c - the `otlp_grpc` exporter (deprecated alias `otlp`, the seed's `otlp/tempo`):
 * OTLP over gRPC with common/grpcc (gRPC C core), the shared sending queue and retries.
 *
 * Mirrors core@v0.144.0:
 *   exporter/otlpexporter/factory.go   defaults: compression gzip, timeout 5s per attempt,
 *       write_buffer_size 512 KiB, keepalive off, balancer_name "", queue and retry defaults
 *   exporter/otlpexporter/config.go    `requires a non-empty "endpoint"`; sanitizedEndpoint
 *   exporter/otlpexporter/otlp.go      Export per signal; processError: an OK status is success,
 *       a partial success is logged (Warn "Partial success response") and not retried;
 *       shouldRetry: Canceled, DeadlineExceeded, Aborted, OutOfRange, Unavailable, DataLoss are
 *       retryable, ResourceExhausted only with a google.rpc.RetryInfo, everything else permanent
 *       (consumererror.NewPermanent: dropped at once and counted); a RetryInfo delay is the
 *       throttle (exporterhelper.NewThrottleRetry: wait max(backoff, delay))
 *   config/configgrpc/configgrpc.go    ClientConfig keys and Validate (unix:// path, host:port
 *       via net.SplitHostPort, numeric port, balancer_name); TLS unless tls.insecure (h2c) and
 *       no CA, https:// forces TLS; headers sent as metadata on every call
 *   internal/statusutil                RetryInfo read from the status details
 * The error texts are grpc-go's status errors: "rpc error: code = Unavailable desc = ...".
 *
 * Request flow: the exporter helper encodes the payload once (protobuf; gzip is applied by gRPC
 * core, `grpc-encoding: gzip`) and queues the bytes; a consumer thread makes unary Export calls
 * on the one channel of this exporter (thread-safe, as upstream's one ClientConn), each with the
 * per-attempt timeout as its deadline (grpc-timeout), capped at the drain deadline at shutdown.
 *
 * Deliberately not done, or different:
 *   - compression zstd and snappy are valid upstream but gRPC core has neither: a config error;
 *     tls.insecure_skip_verify is a config error when TLS is used (gRPC core's C API cannot
 *     skip verification); auth and middlewares are config errors.
 *   - accepted, not applied: read/write_buffer_size, tls.min/max_version, cipher_suites,
 *     curve_preferences, reload_interval, include_system_ca_certs_pool (the system roots are
 *     used when no CA is given); balancer_name accepts pick_first and round_robin (with one
 *     address, as a Service name resolves to, the two behave alike) and applies neither.
 *   - the channel is made in start() (create must not start threads; gRPC core starts its own
 *     on first use), as upstream dials in start().
 *   - an attempt already in flight when shutdown begins keeps its own deadline (at most
 *     `timeout`), so the drain may overrun its deadline by that much; later attempts are capped
 *     at the drain deadline.
 */
#include "otlpgrpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "configtls.h"
#include "exporterhelper.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "grpcc.h"
#include "log.h"
#include "options.h"

#define RETRY_INFO_TYPE_URL "type.googleapis.com/google.rpc.RetryInfo"
#define MAX_HEADERS 32

/* ---- configuration ---- */

struct otlpgrpc_config {
    char *endpoint;
    char *compression;
    int64_t timeout_ns;
    json_t *headers;
    struct configtls_client tls;
    bool keepalive_present;
    int64_t keepalive_time_ns, keepalive_timeout_ns;
    bool keepalive_permit_without_stream;
    int64_t read_buffer_size, write_buffer_size;
    bool wait_for_ready;
    char *balancer_name;
    char *authority;
    json_t *auth, *middlewares;
    struct exporterhelper_retry_options retry;
    struct exporterhelper_queue_options queue;
};

#define CFG(field) offsetof(struct otlpgrpc_config, field)

static const struct option keepalive_options[] = {
    {OPT_DURATION, "time", "10s", CFG(keepalive_time_ns), "ping an idle connection after this", 0,
     NULL, 0},
    {OPT_DURATION, "timeout", "10s", CFG(keepalive_timeout_ns),
     "close it when the ping is not answered within this", 0, NULL, 0},
    {OPT_BOOL, "permit_without_stream", "false", CFG(keepalive_permit_without_stream),
     "ping even without calls in flight", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option otlpgrpc_options[] = {
    {OPT_STRING, "endpoint", NULL, CFG(endpoint),
     "host:port (dns:///host:port, unix:///path; https:// forces TLS)", 0, NULL, 0},
    {OPT_STRING, "compression", "gzip", CFG(compression), "gzip or none", 0, NULL, 0},
    {OPT_DURATION, "timeout", "5s", CFG(timeout_ns), "deadline of each attempt (0 = none)", 0, NULL,
     0},
    {OPT_JSON, "headers", NULL, CFG(headers), "metadata sent with every call (mapping)", 0, NULL,
     0},
    {OPT_OBJECT, "tls", NULL, CFG(tls), "TLS client settings (insecure: true = h2c)", 0,
     configtls_client_options, 0},
    {OPT_OBJECT, "keepalive", NULL, 0, "client keepalive (off unless present)", OPT_PRESENCE,
     keepalive_options, CFG(keepalive_present)},
    {OPT_INT, "read_buffer_size", "0", CFG(read_buffer_size), "accepted, not applied", 0, NULL, 0},
    {OPT_INT, "write_buffer_size", "524288", CFG(write_buffer_size), "accepted, not applied", 0,
     NULL, 0},
    {OPT_BOOL, "wait_for_ready", "false", CFG(wait_for_ready),
     "wait for a connection until the deadline instead of failing fast", 0, NULL, 0},
    {OPT_STRING, "balancer_name", "", CFG(balancer_name),
     "pick_first or round_robin (accepted, not applied)", 0, NULL, 0},
    {OPT_STRING, "authority", NULL, CFG(authority), ":authority (and TLS name) override", 0, NULL,
     0},
    {OPT_JSON, "auth", NULL, CFG(auth), "authenticator extension (not supported)", 0, NULL, 0},
    {OPT_JSON, "middlewares", NULL, CFG(middlewares), "middleware extensions (not supported)", 0,
     NULL, 0},
    {OPT_OBJECT, "retry_on_failure", NULL, CFG(retry), "retries with exponential backoff", 0,
     exporterhelper_retry_options, 0},
    {OPT_OBJECT, "sending_queue", NULL, CFG(queue), "bounded in-memory queue", 0,
     exporterhelper_queue_options, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

/* pdata/internal/otelgrpc/{trace,metrics,logs}_service.go */
static const char *const export_methods[SIGNAL_COUNT] = {
    [SIGNAL_TRACES] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    [SIGNAL_METRICS] = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    [SIGNAL_LOGS] = "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

/* ---- the instance ---- */

struct otlpgrpc_exporter {
    const char *log_name;                 /* borrowed from the component */
    const struct otlpgrpc_config *config; /* borrowed; lives as long as the component */
    char *target;                         /* the dial target (sanitized endpoint) */
    bool use_tls;
    struct grpcc *client;          /* made in start(); shared by every consumer */
    struct exporterhelper *helper; /* queue, retries, self-metrics */
};

/* ---- endpoint ---- */

static bool has_prefix(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* configgrpc's sanitizedEndpoint: http://, https:// and ^dns:///? stripped. */
static const char *sanitized_endpoint(const char *endpoint)
{
    if (has_prefix(endpoint, "http://"))
        return endpoint + 7;
    if (has_prefix(endpoint, "https://"))
        return endpoint + 8;
    if (has_prefix(endpoint, "dns://"))
        return endpoint + (endpoint[6] == '/' ? 7 : 6);
    return endpoint;
}

/* Go's net.SplitHostPort, its checks and words; `port` gets the text after the last ':'. */
static int split_host_port(const char *hostport, const char **port, struct error *err)
{
    const char *last = strrchr(hostport, ':');
    size_t len = strlen(hostport);
    const char *why = NULL;
    size_t j = 0, k = 0;
    if (!last) {
        why = "missing port in address";
        goto fail;
    }
    size_t i = (size_t)(last - hostport);
    if (hostport[0] == '[') {
        const char *close = strchr(hostport, ']');
        if (!close) {
            why = "missing ']' in address";
            goto fail;
        }
        size_t end = (size_t)(close - hostport);
        if (end + 1 == len) {
            why = "missing port in address";
            goto fail;
        }
        if (end + 1 != i) {
            why =
                hostport[end + 1] == ':' ? "too many colons in address" : "missing port in address";
            goto fail;
        }
        j = 1;
        k = end + 1;
    } else {
        for (size_t n = 0; n < i; n++) {
            if (hostport[n] == ':') {
                why = "too many colons in address";
                goto fail;
            }
        }
    }
    if (strchr(hostport + j, '[')) {
        why = "unexpected '[' in address";
        goto fail;
    }
    if (strchr(hostport + k, ']')) {
        why = "unexpected ']' in address";
        goto fail;
    }
    *port = last + 1;
    return 0;
fail:
    return error_set(err, -EINVAL, ERROR_PERMANENT, "address %s: %s", hostport, why);
}

/* strconv.Atoi: optional sign, decimal digits, in int64 range. */
static bool go_atoi_ok(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (!*s || strlen(s) > 19)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int otlpgrpc_validate_endpoint(const char *endpoint, struct error *err)
{
    if (!endpoint || !*sanitized_endpoint(endpoint))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "requires a non-empty \"endpoint\"");
    if (has_prefix(endpoint, "unix://")) {
        if (!endpoint[7])
            return error_set(err, -EINVAL, ERROR_PERMANENT, "unix socket path cannot be empty");
        return 0;
    }
    const char *port = NULL;
    int rc = split_host_port(sanitized_endpoint(endpoint), &port, err);
    if (rc < 0)
        return rc;
    if (!go_atoi_ok(port))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "invalid port \"%s\"", port);
    return 0;
}

/* ---- status ---- */

const char *otlpgrpc_go_code_name(int code, char *buf, size_t size)
{
    static const char *const names[] = {
        "OK",
        "Canceled",
        "Unknown",
        "InvalidArgument",
        "DeadlineExceeded",
        "NotFound",
        "AlreadyExists",
        "PermissionDenied",
        "ResourceExhausted",
        "FailedPrecondition",
        "Aborted",
        "OutOfRange",
        "Unimplemented",
        "Internal",
        "Unavailable",
        "DataLoss",
        "Unauthenticated",
    };
    if (code >= 0 && (size_t)code < sizeof(names) / sizeof(names[0]))
        return names[code];
    snprintf(buf, size, "Code(%d)", code);
    return buf;
}

int otlpgrpc_parse_status_details(const uint8_t *details, size_t len, bool *has_retry_info,
                                  int64_t *delay_ns)
{
    *has_retry_info = false;
    *delay_ns = 0;
    if (!details || len == 0)
        return 0;
    Google__Rpc__Status *status = google__rpc__status__unpack(NULL, len, details);
    if (!status)
        return -EINVAL;
    for (size_t i = 0; i < status->n_details && !*has_retry_info; i++) {
        const Google__Protobuf__Any *any = status->details[i];
        if (!any->type_url || strcmp(any->type_url, RETRY_INFO_TYPE_URL) != 0)
            continue;
        Google__Rpc__RetryInfo *info =
            google__rpc__retry_info__unpack(NULL, any->value.len, any->value.data);
        if (!info)
            continue; /* statusutil skips details it cannot unmarshal */
        *has_retry_info = true;
        if (info->retry_delay)
            *delay_ns = info->retry_delay->seconds * 1000000000LL + info->retry_delay->nanos;
        google__rpc__retry_info__free_unpacked(info, NULL);
    }
    google__rpc__status__free_unpacked(status, NULL);
    return 0;
}

/* ---- validation ---- */

static int parse_compression(const char *name, bool *gzip, struct error *err)
{
    *gzip = false;
    if (!name || !*name || !strcmp(name, "none"))
        return 0;
    if (!strcmp(name, "gzip")) {
        *gzip = true;
        return 0;
    }
    if (!strcmp(name, "zstd") || !strcmp(name, "snappy"))
        return error_set(err, -ENOTSUP, ERROR_PERMANENT,
                         "compression \"%s\" is valid upstream but gRPC core (otelcol-ref's gRPC) "
                         "has no %s",
                         name, name);
    /* configgrpc getGRPCCompressionName's words (zlib, deflate, lz4 have no gRPC compressor) */
    return error_set(err, -EINVAL, ERROR_PERMANENT, "unsupported compression type \"%s\"", name);
}

static bool tls_has_ca(const struct configtls_client *tls)
{
    return (tls->ca_file && *tls->ca_file) || (tls->ca_pem && *tls->ca_pem);
}

/* configgrpc: TLS unless insecure without a CA; https:// forces it. */
static bool uses_tls(const struct otlpgrpc_config *cfg)
{
    return !cfg->tls.insecure || tls_has_ca(&cfg->tls) ||
           (cfg->endpoint && has_prefix(cfg->endpoint, "https://"));
}

static int otlpgrpc_validate(const void *config, struct error *err)
{
    const struct otlpgrpc_config *cfg = config;
    int rc = otlpgrpc_validate_endpoint(cfg->endpoint, err);
    if (rc < 0)
        return rc;
    const char *balancer = cfg->balancer_name ? cfg->balancer_name : "";
    if (*balancer && strcmp(balancer, "pick_first") && strcmp(balancer, "round_robin"))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "invalid balancer_name: %s", balancer);
    bool gzip;
    if ((rc = parse_compression(cfg->compression, &gzip, err)) < 0)
        return rc;
    if (cfg->timeout_ns < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "timeout must be non-negative");
    if (cfg->headers && !json_is_null(cfg->headers)) {
        if (!json_is_object(cfg->headers))
            return error_set(err, -EINVAL, ERROR_PERMANENT, "headers: expected a mapping");
        if (json_object_size(cfg->headers) > MAX_HEADERS)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "headers: otelcol-ref supports at most %d", MAX_HEADERS);
        const char *name;
        json_t *value;
        json_object_foreach(cfg->headers, name, value)
        {
            if (!json_is_string(value) && !json_is_number(value) && !json_is_boolean(value))
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "headers: value of \"%s\" must be a string", name);
        }
    }
    if (cfg->auth && !json_is_null(cfg->auth))
        return error_set(err, -ENOTSUP, ERROR_PERMANENT,
                         "auth: authenticator extensions are not supported by otelcol-ref");
    if (json_is_array(cfg->middlewares) && json_array_size(cfg->middlewares) > 0)
        return error_set(err, -ENOTSUP, ERROR_PERMANENT,
                         "middlewares: middleware extensions are not supported by otelcol-ref");
    if (uses_tls(cfg) && cfg->tls.insecure_skip_verify)
        return error_set(err, -ENOTSUP, ERROR_PERMANENT,
                         "tls.insecure_skip_verify is not supported by otelcol-ref's gRPC client "
                         "(gRPC core cannot skip verification)");
    return exporterhelper_validate(&cfg->retry, &cfg->queue, err);
}

/* ---- the sender the exporter helper drives ---- */

static int sender_worker_create(void *ctx, struct sending_queue *queue, void **worker,
                                struct error *err)
{
    *worker = ctx; /* the channel is shared: a consumer needs nothing of its own */
    return 0;
}

static void sender_worker_destroy(void *worker) {}

static int sender_encode(void *ctx, const struct payload *p, uint8_t **body, size_t *len)
{
    return payload_encode(p, body, len); /* gRPC core compresses it on the wire */
}

/* An OK answer: the Export response, its partial success logged. A response grpc-go could not
 * unmarshal is its Internal status, which is permanent. */
static void read_response(struct otlpgrpc_exporter *e, enum signal s, const struct grpcc_result *r,
                          struct exporterhelper_attempt *out)
{
    out->cls = RETRY_CLASS_SUCCESS;
    ProtobufCMessage *msg = protobuf_c_message_unpack(exporterhelper_response_descriptor(s), NULL,
                                                      r->body_len, r->body);
    if (!msg) {
        out->cls = RETRY_CLASS_PERMANENT;
        snprintf(out->text, sizeof(out->text),
                 "Permanent error: rpc error: code = Internal desc = grpc: failed to unmarshal "
                 "the received message: proto: cannot parse invalid wire-format data");
        return;
    }
    exporterhelper_warn_partial_success(e->log_name, s, msg);
    protobuf_c_message_free_unpacked(msg, NULL);
}

static void sender_attempt(void *ctx, void *worker, enum signal s, const uint8_t *body, size_t len,
                           int64_t deadline_ns, struct exporterhelper_attempt *out)
{
    struct otlpgrpc_exporter *e = ctx;
    int64_t timeout_ms = e->config->timeout_ns / 1000000;
    if (e->config->timeout_ns > 0 && timeout_ms == 0)
        timeout_ms = 1;
    bool capped = false;
    if (deadline_ns > 0) {
        /* never wait past the drain deadline */
        int64_t left_ms = (deadline_ns - sending_queue_now_ns()) / 1000000 + 1;
        if (timeout_ms == 0 || left_ms < timeout_ms) {
            timeout_ms = left_ms > 0 ? left_ms : 1;
            capped = true;
        }
    }
    struct grpcc_result r;
    if (grpcc_unary(e->client, export_methods[s], body, len, timeout_ms, &r) < 0) {
        out->cls = RETRY_CLASS_RETRYABLE;
        snprintf(out->text, sizeof(out->text),
                 "rpc error: code = Unavailable desc = out of memory making the call");
        return;
    }
    if (r.code == GRPC_CODE_OK) {
        read_response(e, s, &r, out);
        grpcc_result_release(&r);
        return;
    }
    bool has_retry_info = false;
    int64_t delay_ns = 0;
    otlpgrpc_parse_status_details(r.status_details, r.status_details_len, &has_retry_info,
                                  &delay_ns);
    char code_buf[16], described[ERROR_MESSAGE_MAX - 80];
    snprintf(described, sizeof(described), "rpc error: code = %s desc = %s",
             otlpgrpc_go_code_name(r.code, code_buf, sizeof(code_buf)), r.message);
    out->cls = retry_classify_grpc_status(r.code, has_retry_info);
    out->aborted_at_deadline = capped && r.code == GRPC_CODE_DEADLINE_EXCEEDED;
    if (out->cls == RETRY_CLASS_PERMANENT) {
        snprintf(out->text, sizeof(out->text), "Permanent error: %s", described);
    } else if (delay_ns != 0) {
        char interval[40];
        retry_format_duration(delay_ns, interval, sizeof(interval));
        out->has_throttle = true;
        out->throttle_ns = delay_ns;
        snprintf(out->text, sizeof(out->text), "Throttle (%s), error: %s", interval, described);
    } else {
        snprintf(out->text, sizeof(out->text), "%s", described);
    }
    grpcc_result_release(&r);
}

static const struct exporterhelper_sender otlpgrpc_sender = {
    .worker_create = sender_worker_create,
    .worker_destroy = sender_worker_destroy,
    .encode = sender_encode,
    .attempt = sender_attempt,
};

/* ---- component callbacks ---- */

static void exporter_free(struct otlpgrpc_exporter *e)
{
    if (!e)
        return;
    exporterhelper_destroy(e->helper);
    grpcc_free(e->client);
    free(e->target);
    free(e);
}

static int otlpgrpc_create(struct component *c, struct error *err)
{
    const struct otlpgrpc_config *cfg = c->config;
    int rc = 0;
    struct otlpgrpc_exporter *e = calloc(1, sizeof(*e));
    if (!e)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    e->log_name = c->log_name;
    e->config = cfg;
    e->use_tls = uses_tls(cfg);
    e->target = strdup(sanitized_endpoint(cfg->endpoint));
    if (!e->target) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    e->helper = exporterhelper_create(c, &cfg->retry, &cfg->queue, &otlpgrpc_sender, e,
                                      "otlpgrpc-send", err);
    if (!e->helper) {
        rc = err ? err->code : -ENOMEM;
        goto fail;
    }
    c->state = e;
    return 0;
fail:
    exporter_free(e);
    return rc;
}

/* Header values as text (configopaque strings; YAML scalars written as Go would): NULL-terminated
 * name, value pairs pointing into the config and `storage`. grpcc copies them. */
static void header_pairs(const json_t *headers, char storage[][256], const char **pairs,
                         size_t max_pairs)
{
    size_t n = 0;
    const char *name;
    json_t *value;
    pairs[0] = NULL;
    if (!json_is_object(headers))
        return;
    json_object_foreach((json_t *)headers, name, value)
    {
        if (n + 1 >= max_pairs * 2)
            break;
        char *text = storage[n / 2];
        if (json_is_string(value))
            snprintf(text, 256, "%s", json_string_value(value));
        else if (json_is_integer(value))
            snprintf(text, 256, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        else if (json_is_real(value))
            snprintf(text, 256, "%g", json_real_value(value));
        else
            snprintf(text, 256, "%s", json_is_true(value) ? "true" : "false");
        pairs[n++] = name;
        pairs[n++] = text;
    }
    pairs[n] = NULL;
}

static int otlpgrpc_start(struct component *c, struct error *err)
{
    struct otlpgrpc_exporter *e = c->state;
    const struct otlpgrpc_config *cfg = e->config;
    char *ca = NULL, *cert = NULL, *key = NULL;
    const char *pairs[MAX_HEADERS * 2 + 1];
    int rc = 0;
    bool gzip = false;
    parse_compression(cfg->compression, &gzip, NULL);
    if (e->use_tls &&
        ((rc = configtls_load_pem(cfg->tls.ca_file, cfg->tls.ca_pem, "CA", &ca, err)) < 0 ||
         (rc = configtls_load_pem(cfg->tls.cert_file, cfg->tls.cert_pem, "certificate", &cert,
                                  err)) < 0 ||
         (rc = configtls_load_pem(cfg->tls.key_file, cfg->tls.key_pem, "key", &key, err)) < 0))
        goto out;
    char(*storage)[256] = calloc(MAX_HEADERS, sizeof(*storage));
    if (!storage) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto out;
    }
    header_pairs(cfg->headers, storage, pairs, MAX_HEADERS);
    const char *authority = cfg->authority && *cfg->authority ? cfg->authority
                            : cfg->tls.server_name_override && *cfg->tls.server_name_override
                                ? cfg->tls.server_name_override
                                : NULL;
    struct grpcc_options opts = {
        .insecure = !e->use_tls,
        .compression = gzip ? "gzip" : "none",
        .user_agent = exporterhelper_user_agent(),
        .headers = pairs,
        .wait_for_ready = cfg->wait_for_ready,
        .keepalive_time_ms = cfg->keepalive_present ? cfg->keepalive_time_ns / 1000000 : 0,
        .keepalive_timeout_ms = cfg->keepalive_present ? cfg->keepalive_timeout_ns / 1000000 : 0,
        .keepalive_permit_without_calls = cfg->keepalive_permit_without_stream,
        .ca_pem = ca,
        .cert_pem = cert,
        .key_pem = key,
        .authority = authority,
    };
    e->client = grpcc_new(e->target, &opts, err);
    free(storage);
    if (!e->client) {
        rc = err ? err->code : -EINVAL;
        goto out;
    }
    rc = exporterhelper_start(e->helper, err);
out:
    free(ca);
    free(cert);
    free(key);
    return rc;
}

static int otlpgrpc_consume(struct component *c, struct payload *p, struct error *err)
{
    struct otlpgrpc_exporter *e = c->state;
    return exporterhelper_consume(e->helper, p, err);
}

static void otlpgrpc_shutdown(struct component *c, long long deadline_ms)
{
    struct otlpgrpc_exporter *e = c->state;
    if (e)
        exporterhelper_shutdown(e->helper, deadline_ms);
}

static void otlpgrpc_destroy(struct component *c)
{
    exporter_free(c->state);
    c->state = NULL;
}

const struct component_descriptor otlp_grpc_exporter_descriptor = {
    .type = "otlp_grpc",
    .kind = KIND_EXPORTER,
    .signals = SIGNALS_ALL,
    .deprecated_alias = "otlp",
    .summary = "OTLP over gRPC (gzip, 5s per attempt) with a sending queue and retries",
    .options = otlpgrpc_options,
    .config_size = sizeof(struct otlpgrpc_config),
    .validate = otlpgrpc_validate,
    .create = otlpgrpc_create,
    .start = otlpgrpc_start,
    .consume = otlpgrpc_consume,
    .shutdown = otlpgrpc_shutdown,
    .destroy = otlpgrpc_destroy,
};
