/*
 * otlp.c - the `otlp` receiver: configuration, validation and lifecycle; the requests are
 * answered in otlp_http.c and otlp_grpc.c.
 *
 * Mirrors core@v0.144.0 receiver/otlpreceiver:
 *   config.go    protocols.grpc / protocols.http, "must specify at least one protocol when
 *                using the OTLP receiver", *_url_path with a leading `/` added when missing
 *   factory.go   grpc endpoint localhost:4317 with read_buffer_size 512 KiB, http endpoint
 *                localhost:4318, paths /v1/traces, /v1/metrics, /v1/logs
 *   otlp.go      an HTTP path or gRPC service is registered only for the signals some pipeline
 *                feeds from this receiver; one server per protocol per receiver id, shared by its
 *                pipelines; Start starts gRPC first, then HTTP
 * config/confighttp/server.go for the http keys (max_request_body_size <= 0 means 20 MiB,
 * compression_algorithms restricts the accepted Content-Encodings, response_headers are set on
 * every answer) and config/configgrpc/configgrpc.go for the grpc keys (ServerConfig and its
 * Validate messages; confignet's endpoint/transport/dialer squashed in). configgrpc has no
 * compression_algorithms: upstream rejects that key under grpc as unknown, and so do we.
 *
 * Deliberately not done: TLS, auth, CORS and middlewares on either protocol (config errors:
 * accepting them silently would serve plain, open endpoints where upstream would not), unix
 * sockets for gRPC (an error), the HTTP timeouts and keep_alives_enabled and the gRPC
 * read/write buffer sizes (accepted; libmicrohttpd's and gRPC core's defaults apply),
 * include_metadata (accepted; no component here reads client metadata).
 */
#include "otlp.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "otlp_internal.h"

#define OTLP_DEFAULT_MAX_BODY (20 * 1024 * 1024) /* confighttp defaultMaxRequestBodySize */

#define CFG(field) offsetof(struct otlp_receiver_config, field)

static const struct option http_options[] = {
    {OPT_STRING, "endpoint", "localhost:4318", CFG(http_endpoint),
     "host:port to listen on (0.0.0.0:4318 for every interface)", 0, NULL, 0},
    {OPT_STRING, "traces_url_path", "/v1/traces", CFG(traces_url_path), "path of trace exports", 0,
     NULL, 0},
    {OPT_STRING, "metrics_url_path", "/v1/metrics", CFG(metrics_url_path), "path of metric exports",
     0, NULL, 0},
    {OPT_STRING, "logs_url_path", "/v1/logs", CFG(logs_url_path), "path of log exports", 0, NULL,
     0},
    {OPT_INT, "max_request_body_size", "0", CFG(max_request_body_size),
     "limit in bytes, before and after decompression (<= 0: 20 MiB)", 0, NULL, 0},
    {OPT_BOOL, "include_metadata", "false", CFG(include_metadata),
     "accepted; no component reads client metadata yet", 0, NULL, 0},
    {OPT_STRING_LIST, "compression_algorithms", NULL, CFG(compression_algorithms),
     "accepted Content-Encodings (default: all; \"\" = none)", OPT_PRESENCE, NULL,
     CFG(compression_algorithms_present)},
    {OPT_JSON, "response_headers", NULL, CFG(response_headers), "headers set on every response", 0,
     NULL, 0},
    {OPT_DURATION, "read_timeout", "0", CFG(read_timeout), "accepted, not applied", 0, NULL, 0},
    {OPT_DURATION, "read_header_timeout", "0", CFG(read_header_timeout), "accepted, not applied", 0,
     NULL, 0},
    {OPT_DURATION, "write_timeout", "0", CFG(write_timeout), "accepted, not applied", 0, NULL, 0},
    {OPT_DURATION, "idle_timeout", "0", CFG(idle_timeout), "accepted, not applied", 0, NULL, 0},
    {OPT_BOOL, "keep_alives_enabled", "true", CFG(keep_alives_enabled), "accepted, not applied", 0,
     NULL, 0},
    {OPT_JSON, "tls", NULL, CFG(tls), "not supported by otelcol-ref (an error when set)", 0, NULL,
     0},
    {OPT_JSON, "cors", NULL, CFG(cors), "not supported by otelcol-ref (an error when set)", 0, NULL,
     0},
    {OPT_JSON, "auth", NULL, CFG(auth), "not supported by otelcol-ref (an error when set)", 0, NULL,
     0},
    {OPT_JSON, "middlewares", NULL, CFG(middlewares),
     "not supported by otelcol-ref (an error when set)", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

/* configgrpc ServerConfig (config/configgrpc/configgrpc.go) with confignet.AddrConfig squashed
 * in, and the receiver's defaults (factory.go: localhost:4317, read_buffer_size 512 KiB). */
static const struct option grpc_dialer_options[] = {
    {OPT_DURATION, "timeout", "0", CFG(grpc_dialer_timeout), "accepted; a server does not dial", 0,
     NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option grpc_server_parameters_options[] = {
    {OPT_DURATION, "max_connection_idle", "0", CFG(grpc_max_connection_idle),
     "GOAWAY a connection idle this long (0 = never)", 0, NULL, 0},
    {OPT_DURATION, "max_connection_age", "0", CFG(grpc_max_connection_age),
     "GOAWAY a connection this old (0 = never)", 0, NULL, 0},
    {OPT_DURATION, "max_connection_age_grace", "0", CFG(grpc_max_connection_age_grace),
     "then let its calls finish this long (0 = forever)", 0, NULL, 0},
    {OPT_DURATION, "time", "0", CFG(grpc_keepalive_time),
     "ping an idle connection after this (0 = gRPC's 2h)", 0, NULL, 0},
    {OPT_DURATION, "timeout", "0", CFG(grpc_keepalive_timeout),
     "close it when the ping is not answered within this (0 = gRPC's 20s)", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option grpc_enforcement_policy_options[] = {
    {OPT_DURATION, "min_time", "0", CFG(grpc_min_time),
     "clients pinging more often are disconnected (0 = gRPC's 5m)", 0, NULL, 0},
    {OPT_BOOL, "permit_without_stream", "false", CFG(grpc_permit_without_stream),
     "allow pings without calls in flight", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option grpc_keepalive_options[] = {
    {OPT_OBJECT, "server_parameters", NULL, 0, "server-side keepalive", 0,
     grpc_server_parameters_options, 0},
    {OPT_OBJECT, "enforcement_policy", NULL, 0, "what clients may do", 0,
     grpc_enforcement_policy_options, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option grpc_options[] = {
    {OPT_STRING, "endpoint", "localhost:4317", CFG(grpc_endpoint),
     "host:port to listen on (0.0.0.0:4317 for every interface)", 0, NULL, 0},
    {OPT_STRING, "transport", "tcp", CFG(grpc_transport), "tcp (tcp4, tcp6); unix is not supported",
     0, NULL, 0},
    {OPT_OBJECT, "dialer", NULL, 0, "accepted; a server does not dial", 0, grpc_dialer_options, 0},
    {OPT_INT, "max_recv_msg_size_mib", "0", CFG(grpc_max_recv_msg_size_mib),
     "largest request message in MiB (0 = 4 MiB); larger -> ResourceExhausted", 0, NULL, 0},
    {OPT_INT, "max_concurrent_streams", "0", CFG(grpc_max_concurrent_streams),
     "HTTP/2 streams per connection (0 = unlimited)", 0, NULL, 0},
    {OPT_INT, "read_buffer_size", "524288", CFG(grpc_read_buffer_size), "accepted, not applied", 0,
     NULL, 0},
    {OPT_INT, "write_buffer_size", "0", CFG(grpc_write_buffer_size), "accepted, not applied", 0,
     NULL, 0},
    {OPT_OBJECT, "keepalive", NULL, 0, "keepalive parameters", 0, grpc_keepalive_options, 0},
    {OPT_BOOL, "include_metadata", "false", CFG(grpc_include_metadata),
     "accepted; no component reads client metadata yet", 0, NULL, 0},
    {OPT_JSON, "tls", NULL, CFG(grpc_tls), "not supported by otelcol-ref (an error when set)", 0,
     NULL, 0},
    {OPT_JSON, "auth", NULL, CFG(grpc_auth), "not supported by otelcol-ref (an error when set)", 0,
     NULL, 0},
    {OPT_JSON, "middlewares", NULL, CFG(grpc_middlewares),
     "not supported by otelcol-ref (an error when set)", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option protocols_options[] = {
    {OPT_OBJECT, "grpc", NULL, 0, "gRPC protocol (present, even empty, = enabled)", OPT_PRESENCE,
     grpc_options, CFG(grpc_present)},
    {OPT_OBJECT, "http", NULL, 0, "HTTP protocol (present, even empty, = enabled)", OPT_PRESENCE,
     http_options, CFG(http_present)},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option otlp_options[] = {
    {OPT_OBJECT, "protocols", NULL, 0, "protocols to serve", 0, protocols_options, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static bool json_set(const json_t *v)
{
    return v && !json_is_null(v) && !(json_is_object(v) && json_object_size(v) == 0);
}

/* configgrpc ServerConfig.Validate, in its order and words, then what otelcol-ref cannot do. */
static int validate_grpc(const struct otlp_receiver_config *cfg, struct error *err)
{
    /* math.MaxInt/1024/1024: a larger value overflows to negative in MiB*1024*1024 */
    const int64_t max_mib = INT64_MAX / 1024 / 1024;
    if (cfg->grpc_max_recv_msg_size_mib < 0 || cfg->grpc_max_recv_msg_size_mib > max_mib)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         ".protocols.grpc: invalid max_recv_msg_size_mib value, must be between 1 "
                         "and %lld: %lld",
                         (long long)max_mib, (long long)cfg->grpc_max_recv_msg_size_mib);
    if (cfg->grpc_read_buffer_size < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         ".protocols.grpc: invalid read_buffer_size value: %lld",
                         (long long)cfg->grpc_read_buffer_size);
    if (cfg->grpc_write_buffer_size < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         ".protocols.grpc: invalid write_buffer_size value: %lld",
                         (long long)cfg->grpc_write_buffer_size);
    /* uint32 upstream: mapstructure refuses what does not fit */
    if (cfg->grpc_max_concurrent_streams < 0 || cfg->grpc_max_concurrent_streams > UINT32_MAX)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         ".protocols.grpc.max_concurrent_streams: %lld does not fit a uint32",
                         (long long)cfg->grpc_max_concurrent_streams);
    const char *transport = cfg->grpc_transport ? cfg->grpc_transport : "tcp";
    if (strcmp(transport, "tcp") && strcmp(transport, "tcp4") && strcmp(transport, "tcp6"))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         ".protocols.grpc.transport: \"%s\" is not supported by otelcol-ref (tcp "
                         "only)",
                         transport);
    static const struct {
        const char *key;
        size_t offset;
    } unsupported[] = {
        {"tls", CFG(grpc_tls)},
        {"auth", CFG(grpc_auth)},
        {"middlewares", CFG(grpc_middlewares)},
    };
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        const json_t *v = *(json_t *const *)((const char *)cfg + unsupported[i].offset);
        if (json_set(v))
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             ".protocols.grpc.%s: not supported by otelcol-ref",
                             unsupported[i].key);
    }
    return 0;
}

static int otlp_validate(const void *config, struct error *err)
{
    const struct otlp_receiver_config *cfg = config;
    if (!cfg->grpc_present && !cfg->http_present)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "must specify at least one protocol when using the OTLP receiver");
    /* A leading '.' continues the receiver's path in the message (see config.c). */
    if (cfg->grpc_present) {
        int rc = validate_grpc(cfg, err);
        if (rc < 0)
            return rc;
    }
    if (!cfg->http_present)
        return 0;
    static const struct {
        const char *key;
        size_t offset;
    } unsupported[] = {
        {"tls", CFG(tls)},
        {"auth", CFG(auth)},
        {"middlewares", CFG(middlewares)},
    };
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        const json_t *v = *(json_t *const *)((const char *)cfg + unsupported[i].offset);
        if (json_set(v))
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             ".protocols.http.%s: not supported by otelcol-ref",
                             unsupported[i].key);
    }
    /* CORS only acts when allowed_origins is set (confighttp ToServer); accept the rest. */
    const json_t *origins = json_object_get(cfg->cors, "allowed_origins");
    if (json_is_array(origins) && json_array_size(origins) > 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         ".protocols.http.cors.allowed_origins: CORS is not supported by "
                         "otelcol-ref");
    if (cfg->response_headers && !json_is_null(cfg->response_headers)) {
        if (!json_is_object(cfg->response_headers))
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             ".protocols.http.response_headers: expected a mapping");
        if (json_object_size(cfg->response_headers) > OTLP_MAX_RESPONSE_HEADERS)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             ".protocols.http.response_headers: otelcol-ref supports at most %d",
                             OTLP_MAX_RESPONSE_HEADERS);
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)cfg->response_headers, key, value)
        {
            if (!json_is_string(value) || strlen(json_string_value(value)) >= 128)
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 ".protocols.http.response_headers.%s: expected a string shorter "
                                 "than 128 bytes",
                                 key);
        }
    }
    static const char *const known_encodings[] = {
        "", "gzip", "zstd", "zlib", "deflate", "snappy", "x-snappy-framed", "lz4"};
    for (size_t i = 0; i < cfg->compression_algorithms.count; i++) {
        bool known = false;
        for (size_t k = 0; k < sizeof(known_encodings) / sizeof(known_encodings[0]); k++)
            known = known || !strcmp(cfg->compression_algorithms.items[i], known_encodings[k]);
        if (!known)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             ".protocols.http.compression_algorithms[%zu]: unsupported compression "
                             "type \"%s\"",
                             i, cfg->compression_algorithms.items[i]);
    }
    return 0;
}

/* "host:port", "[::1]:port", ":port" (every interface), as net.Listen takes them. */
static int parse_endpoint(const char *endpoint, char *host, size_t host_size, int *port,
                          struct error *err)
{
    const char *colon = strrchr(endpoint, ':');
    if (!colon)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "listen tcp: address %s: missing port in address", endpoint);
    const char *h = endpoint;
    size_t host_len = (size_t)(colon - endpoint);
    if (host_len >= 2 && h[0] == '[' && h[host_len - 1] == ']') {
        h++;
        host_len -= 2;
    }
    if (host_len >= host_size)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "listen tcp: address %s: host too long",
                         endpoint);
    char *end;
    long value = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || value < 0 || value > 65535)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "listen tcp: address %s: invalid port",
                         endpoint);
    snprintf(host, host_size, "%.*s", (int)host_len, h);
    *port = (int)value;
    return 0;
}

/* confighttp/otlpreceiver sanitizeURLPath: a relative path gets a leading '/'. */
static char *sanitize_path(const char *path)
{
    size_t len = strlen(path);
    char *out = malloc(len + 2);
    if (!out)
        return NULL;
    snprintf(out, len + 2, "%s%s", path[0] == '/' ? "" : "/", path);
    return out;
}

static void otlp_destroy(struct component *c)
{
    struct otlp_receiver *r = c->state;
    if (!r)
        return;
    httpd_stop(r->server);
    grpcd_stop(r->grpc_server);
    for (int s = 0; s < SIGNAL_COUNT; s++)
        free(r->paths[s]);
    free(r);
    c->state = NULL;
}

/* receiver/receiverhelper metadata.yaml: names, descriptions and attributes of the counters of
 * one transport, for the signals a pipeline feeds from this receiver. */
static int register_metrics(struct component *c, struct otlp_transport_metrics *m,
                            const char *transport, struct error *err)
{
    char labels[256];
    snprintf(labels, sizeof(labels), "receiver=\"%s\",transport=\"%s\"", c->id, transport);
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        if (!c->next[s])
            continue;
        const char *item = signal_item_name((enum signal)s);
        const char *noun = s == SIGNAL_TRACES    ? "spans"
                           : s == SIGNAL_METRICS ? "metric points"
                                                 : "log records";
        char name[128], help[160];
        snprintf(name, sizeof(name), "otelcol_receiver_accepted_%s", item);
        snprintf(help, sizeof(help), "Number of %s successfully pushed into the pipeline. [alpha]",
                 noun);
        m->accepted[s] = telemetry_counter(c->telemetry, name, help, labels);
        snprintf(name, sizeof(name), "otelcol_receiver_refused_%s", item);
        snprintf(help, sizeof(help),
                 "Number of %s that could not be pushed into the pipeline. [alpha]", noun);
        m->refused[s] = telemetry_counter(c->telemetry, name, help, labels);
        snprintf(name, sizeof(name), "otelcol_receiver_failed_%s", item);
        snprintf(help, sizeof(help),
                 "The number of %s that failed to be processed by the receiver due to internal "
                 "errors. [alpha]",
                 noun);
        m->failed[s] = telemetry_counter(c->telemetry, name, help, labels);
        if (c->telemetry && (!m->accepted[s] || !m->refused[s] || !m->failed[s]))
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "cannot register self-metrics");
    }
    return 0;
}

static int create_http(struct component *c, struct otlp_receiver *r, struct error *err)
{
    const struct otlp_receiver_config *cfg = r->config;
    r->max_body =
        cfg->max_request_body_size > 0 ? (size_t)cfg->max_request_body_size : OTLP_DEFAULT_MAX_BODY;
    int rc = parse_endpoint(cfg->http_endpoint ? cfg->http_endpoint : "localhost:4318", r->host,
                            sizeof(r->host), &r->port, err);
    if (rc < 0)
        return rc;
    const char *paths[SIGNAL_COUNT] = {cfg->traces_url_path, cfg->metrics_url_path,
                                       cfg->logs_url_path};
    static const char *const defaults[SIGNAL_COUNT] = {"/v1/traces", "/v1/metrics", "/v1/logs"};
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        if (!c->next[s])
            continue; /* no pipeline of this signal: the path is not registered (404) */
        r->paths[s] = sanitize_path(paths[s] ? paths[s] : defaults[s]);
        if (!r->paths[s])
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    if ((rc = register_metrics(c, &r->http_metrics, "http", err)) < 0)
        return rc;
    if (cfg->response_headers && json_is_object(cfg->response_headers)) {
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)cfg->response_headers, key, value)
        {
            if (r->header_count == OTLP_MAX_RESPONSE_HEADERS || !json_is_string(value))
                break;
            /* Both strings live in the bound config, which outlives the receiver. */
            r->header_names[r->header_count] = key;
            r->header_values[r->header_count] = json_string_value(value);
            r->header_count++;
        }
    }
    return 0;
}

static int otlp_create(struct component *c, struct error *err)
{
    const struct otlp_receiver_config *cfg = c->config;
    int rc = 0;
    struct otlp_receiver *r = calloc(1, sizeof(*r));
    if (!r)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    c->state = r;
    r->component = c;
    r->config = cfg;
    if (cfg->http_present && (rc = create_http(c, r, err)) < 0)
        goto fail;
    if (cfg->grpc_present) {
        rc = parse_endpoint(cfg->grpc_endpoint ? cfg->grpc_endpoint : "localhost:4317",
                            r->grpc_host, sizeof(r->grpc_host), &r->grpc_port, err);
        if (rc < 0 || (rc = register_metrics(c, &r->grpc_metrics, "grpc", err)) < 0)
            goto fail;
    }
fail:
    if (rc < 0)
        otlp_destroy(c);
    return rc;
}

static int otlp_start(struct component *c, struct error *err)
{
    struct otlp_receiver *r = c->state;
    const struct otlp_receiver_config *cfg = r->config;
    /* otlp.go Start: gRPC first, then HTTP */
    if (cfg->grpc_present) {
        int rc = otlp_grpc_start(r, err);
        if (rc < 0)
            return rc;
    }
    if (!cfg->http_present)
        return 0;
    r->server =
        httpd_start(r->host[0] ? r->host : NULL, r->port, r->max_body, otlp_http_handle, r, err);
    if (!r->server)
        return err ? err->code : -EADDRINUSE;
    log_info(c->log_name, "Starting HTTP server endpoint=%s:%d", r->host[0] ? r->host : "0.0.0.0",
             httpd_port(r->server));
    return 0;
}

static void otlp_shutdown(struct component *c, long long deadline_ms)
{
    struct otlp_receiver *r = c->state;
    if (!r)
        return;
    /* Stops accepting and waits for the requests and calls in flight (upstream: HTTP Shutdown,
     * then gRPC GracefulStop): their data reaches the pipeline before processors and exporters
     * are shut down. */
    httpd_stop(r->server);
    r->server = NULL;
    grpcd_stop(r->grpc_server);
    r->grpc_server = NULL;
}

int otlp_receiver_grpc_port(const struct component *c)
{
    const struct otlp_receiver *r = c ? c->state : NULL;
    return r && r->grpc_server ? grpcd_port(r->grpc_server) : 0;
}

int otlp_receiver_http_port(const struct component *c)
{
    const struct otlp_receiver *r = c ? c->state : NULL;
    return r && r->server ? httpd_port(r->server) : 0;
}

const struct component_descriptor otlp_receiver_descriptor = {
    .type = "otlp",
    .kind = KIND_RECEIVER,
    .signals = SIGNALS_ALL,
    .deprecated_alias = NULL,
    .summary = "OTLP over gRPC (the three Export methods) and HTTP (protobuf and JSON)",
    .options = otlp_options,
    .config_size = sizeof(struct otlp_receiver_config),
    .validate = otlp_validate,
    .create = otlp_create,
    .start = otlp_start,
    .consume = NULL,
    .shutdown = otlp_shutdown,
    .destroy = otlp_destroy,
};
