/*
 * otlphttp.c - the `otlp_http` exporter (deprecated alias `otlphttp`): OTLP over HTTP/1.1 (h2
 * over TLS) with libcurl, a bounded sending queue, retries with exponential backoff.
 *
 * Mirrors core@v0.144.0:
 *   exporter/otlphttpexporter/{factory.go,config.go,otlp.go}  URLs, defaults, request headers,
 *       response handling (2xx + partial success, retryable 429/502/503/504, Retry-After on
 *       429/503, google.rpc.Status error bodies, 64 KiB response read limit)
 *   exporter/exporterhelper/internal/{retry_sender.go,queue_sender.go,base_exporter.go} and
 *       queuebatch/{config.go,memory_queue.go}   retries, queue, their log lines
 *   config/confighttp/{client.go,compression.go}, config/configretry/backoff.go  options
 *   (see shared/facts/pipeline.md §6)
 *
 * Request flow: the exporter helper (exporters/exporterhelper: queue, retries, self-metrics,
 * failure logs, shared with otlp_grpc) encodes the payload (proto or JSON) and compresses it once,
 * in the caller's thread, and queues the body; a consumer thread POSTs it with its own keep-alive
 * curl handle; this file makes that one attempt and classifies its outcome as upstream does.
 *
 * Deliberately different from upstream, or not done (see exporterhelper.c for the queue's and
 * the retries' differences):
 *   - a URL is built for every signal at create time; a signal without one fails each request
 *     permanently (upstream refuses to start that pipeline: our exporter does not know its
 *     pipelines).
 *   - rejected at config time with a clear message rather than silently ignored: compression
 *     snappy / x-snappy-framed / lz4 (no library here), `auth` extensions, persistent queue
 *     (`sending_queue.storage`), `sizer` other than requests, `wait_for_result`, exporter-side
 *     batching (`sending_queue.batch`).
 *   - accepted but without effect: tls.server_name_override (applied by otlp_grpc only),
 *     cipher_suites, curve_preferences,
 *     min/max_version, reload_interval (curl has no direct equivalent wired here), the connection
 *     pool knobs (curl keeps one connection per consumer), compression_params.level, cookies,
 *     middlewares. Proxy: proxy_url is honoured; otherwise curl's own environment rules apply
 *     (it reads http_proxy in lower case only, Go reads both cases).
 *   - a google.rpc.Status `Details=` list is printed as its type URLs, not Go's %v rendering;
 *     an empty error body is treated as "no Status" (no `Message=` part; UNCONFIRMED whether
 *     v0.144 prints `Message=, Details=[]` for it).
 */
#include "otlphttp.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "compress.h"
#include "google/rpc/status.pb-c.h"
#include "log.h"
#include "options.h"
#include "otlp_json.h"
#include "configtls.h"
#include "exporterhelper.h"
#include "retry.h"
#include "sending_queue.h"

/* Upstream reads at most this much of a response body (maxHTTPResponseReadBytes). */
#define REPLY_BODY_MAX (64 * 1024)
#define URL_MAX 2048
#define LOG_VALUE_MAX 1100

/* ---- configuration ---- */

struct otlphttp_config {
    char *endpoint;
    char *traces_endpoint, *metrics_endpoint, *logs_endpoint, *profiles_endpoint;
    char *encoding;
    char *compression;
    int64_t compression_level;
    int64_t timeout_ns;
    json_t *headers;
    char *proxy_url;
    int64_t read_buffer_size, write_buffer_size;
    int64_t max_idle_conns, max_idle_conns_per_host, max_conns_per_host;
    int64_t idle_conn_timeout_ns, http2_read_idle_timeout_ns, http2_ping_timeout_ns;
    bool disable_keep_alives;
    bool force_attempt_http2;
    json_t *auth, *cookies, *middlewares;
    struct configtls_client tls;
    struct exporterhelper_retry_options retry;
    struct exporterhelper_queue_options queue;
};

#define CFG(field) offsetof(struct otlphttp_config, field)

static const struct option compression_params_options[] = {
    {OPT_INT, "level", NULL, CFG(compression_level), "compression level (accepted, not applied)", 0,
     NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option otlphttp_options[] = {
    {OPT_STRING, "endpoint", NULL, CFG(endpoint), "base URL; /v1/<signal> is appended", 0, NULL, 0},
    {OPT_STRING, "traces_endpoint", NULL, CFG(traces_endpoint), "traces URL, used verbatim", 0,
     NULL, 0},
    {OPT_STRING, "metrics_endpoint", NULL, CFG(metrics_endpoint), "metrics URL, used verbatim", 0,
     NULL, 0},
    {OPT_STRING, "logs_endpoint", NULL, CFG(logs_endpoint), "logs URL, used verbatim", 0, NULL, 0},
    {OPT_STRING, "profiles_endpoint", NULL, CFG(profiles_endpoint),
     "profiles URL (profiles are not supported)", 0, NULL, 0},
    {OPT_STRING, "encoding", "proto", CFG(encoding), "proto or json", 0, NULL, 0},
    {OPT_STRING, "compression", "gzip", CFG(compression), "gzip, zlib, deflate, zstd or none", 0,
     NULL, 0},
    {OPT_OBJECT, "compression_params", NULL, 0, "compression parameters", 0,
     compression_params_options, 0},
    {OPT_DURATION, "timeout", "30s", CFG(timeout_ns), "HTTP client timeout per request", 0, NULL,
     0},
    {OPT_JSON, "headers", NULL, CFG(headers), "extra request headers (mapping)", 0, NULL, 0},
    {OPT_STRING, "proxy_url", NULL, CFG(proxy_url), "HTTP proxy", 0, NULL, 0},
    {OPT_INT, "read_buffer_size", "0", CFG(read_buffer_size), "accepted, not applied", 0, NULL, 0},
    {OPT_INT, "write_buffer_size", "524288", CFG(write_buffer_size), "accepted, not applied", 0,
     NULL, 0},
    {OPT_INT, "max_idle_conns", "100", CFG(max_idle_conns), "accepted, not applied", 0, NULL, 0},
    {OPT_INT, "max_idle_conns_per_host", NULL, CFG(max_idle_conns_per_host),
     "accepted, not applied", 0, NULL, 0},
    {OPT_INT, "max_conns_per_host", NULL, CFG(max_conns_per_host), "accepted, not applied", 0, NULL,
     0},
    {OPT_DURATION, "idle_conn_timeout", "90s", CFG(idle_conn_timeout_ns), "accepted, not applied",
     0, NULL, 0},
    {OPT_DURATION, "http2_read_idle_timeout", NULL, CFG(http2_read_idle_timeout_ns),
     "accepted, not applied", 0, NULL, 0},
    {OPT_DURATION, "http2_ping_timeout", NULL, CFG(http2_ping_timeout_ns), "accepted, not applied",
     0, NULL, 0},
    {OPT_BOOL, "disable_keep_alives", "false", CFG(disable_keep_alives),
     "new connection per request", 0, NULL, 0},
    {OPT_BOOL, "force_attempt_http2", "true", CFG(force_attempt_http2),
     "h2 over TLS (curl's default)", 0, NULL, 0},
    {OPT_JSON, "auth", NULL, CFG(auth), "authenticator extension (not supported)", 0, NULL, 0},
    {OPT_JSON, "cookies", NULL, CFG(cookies), "accepted, not applied", 0, NULL, 0},
    {OPT_JSON, "middlewares", NULL, CFG(middlewares), "accepted, not applied", 0, NULL, 0},
    {OPT_OBJECT, "tls", NULL, CFG(tls), "TLS client settings", 0, configtls_client_options, 0},
    {OPT_OBJECT, "retry_on_failure", NULL, CFG(retry), "retries with exponential backoff", 0,
     exporterhelper_retry_options, 0},
    {OPT_OBJECT, "sending_queue", NULL, CFG(queue), "bounded in-memory queue", 0,
     exporterhelper_queue_options, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

enum otlphttp_encoding { ENCODING_PROTO = 0, ENCODING_JSON };

/* ---- the instance ---- */

struct otlphttp_exporter {
    const char *log_name;                 /* borrowed from the component */
    const struct otlphttp_config *config; /* borrowed; lives as long as the component */
    char *urls[SIGNAL_COUNT];             /* NULL for a signal with no URL */
    enum otlphttp_encoding encoding;
    enum compression compression;
    struct curl_slist *headers;    /* shared read-only by every curl handle */
    struct exporterhelper *helper; /* queue, retries, self-metrics */
};

/* What one consumer owns: its curl handle (kept alive across requests) and the buffers of the
 * reply being read. */
struct otlphttp_worker {
    struct otlphttp_exporter *exporter;
    struct sending_queue *queue; /* NULL for an inline export */
    CURL *curl;
    char curl_error[CURL_ERROR_SIZE];
    /* the reply of the current attempt */
    uint8_t *body;
    size_t body_len, body_cap;
    bool has_retry_after;
    char retry_after[128];
};

/* ---- small helpers ---- */

static int64_t wall_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

const char *otlphttp_user_agent(void)
{
    return exporterhelper_user_agent();
}

int otlphttp_compose_url(const char *endpoint, const char *signal_endpoint, const char *signal,
                         char *out, size_t size, struct error *err)
{
    int n;
    if (signal_endpoint && *signal_endpoint)
        n = snprintf(out, size, "%s", signal_endpoint);
    else if (!endpoint || !*endpoint)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "either endpoint or %s_endpoint must be specified", signal);
    else if (endpoint[strlen(endpoint) - 1] == '/')
        n = snprintf(out, size, "%sv1/%s", endpoint, signal);
    else
        n = snprintf(out, size, "%s/v1/%s", endpoint, signal);
    if (n < 0 || (size_t)n >= size)
        return error_set(err, -ENAMETOOLONG, ERROR_PERMANENT, "%s URL is too long", signal);
    return 0;
}

static int parse_compression(const char *name, enum compression *out, struct error *err)
{
    static const char *const upstream_only[] = {"snappy", "x-snappy-framed", "lz4"};
    if (!name || !*name || !strcmp(name, "none")) {
        *out = COMPRESSION_NONE;
        return 0;
    }
    if (compression_parse(name, out) == 0)
        return 0;
    for (size_t i = 0; i < sizeof(upstream_only) / sizeof(upstream_only[0]); i++)
        if (!strcmp(name, upstream_only[i]))
            return error_set(err, -ENOTSUP, ERROR_PERMANENT,
                             "compression \"%s\" is valid upstream but not supported by "
                             "otelcol-ref (no %s library)",
                             name, name);
    /* configcompression's wording */
    return error_set(err, -EINVAL, ERROR_PERMANENT, "unsupported compression type \"%s\"", name);
}

/* ---- validation ---- */

static int otlphttp_validate(const void *config, struct error *err)
{
    const struct otlphttp_config *cfg = config;
    int rc = 0;
    if ((!cfg->endpoint || !*cfg->endpoint) && (!cfg->traces_endpoint || !*cfg->traces_endpoint) &&
        (!cfg->metrics_endpoint || !*cfg->metrics_endpoint) &&
        (!cfg->logs_endpoint || !*cfg->logs_endpoint) &&
        (!cfg->profiles_endpoint || !*cfg->profiles_endpoint))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "at least one endpoint must be specified");
    const char *encoding = cfg->encoding ? cfg->encoding : "";
    if (strcmp(encoding, "proto") != 0 && strcmp(encoding, "json") != 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "invalid encoding type: %s", encoding);
    enum compression compression;
    if ((rc = parse_compression(cfg->compression, &compression, err)) < 0)
        return rc;
    if (cfg->timeout_ns < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "timeout must be non-negative");
    if (cfg->headers && !json_is_null(cfg->headers)) {
        if (!json_is_object(cfg->headers))
            return error_set(err, -EINVAL, ERROR_PERMANENT, "headers: expected a mapping");
        const char *name;
        json_t *value;
        json_object_foreach(cfg->headers, name, value)
        {
            if (json_is_object(value) || json_is_array(value))
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "headers: value of \"%s\" must be a string", name);
        }
    }
    if (cfg->auth && !json_is_null(cfg->auth))
        return error_set(err, -ENOTSUP, ERROR_PERMANENT,
                         "auth: authenticator extensions are not supported by otelcol-ref");
    return exporterhelper_validate(&cfg->retry, &cfg->queue, err);
}

/* ---- curl handles ---- */

static size_t on_reply_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct otlphttp_worker *w = userdata;
    size_t n = size * nmemb;
    size_t room = REPLY_BODY_MAX - w->body_len;
    size_t take = n < room ? n : room;
    if (take > 0 && w->body_len + take + 1 > w->body_cap) {
        size_t cap = w->body_cap ? w->body_cap : 1024;
        while (cap < w->body_len + take + 1)
            cap *= 2;
        if (cap > REPLY_BODY_MAX + 1)
            cap = REPLY_BODY_MAX + 1;
        uint8_t *grown = realloc(w->body, cap);
        if (!grown)
            return n; /* keep what we have: the reply is only ever inspected, never needed */
        w->body = grown;
        w->body_cap = cap;
    }
    if (take > 0) {
        memcpy(w->body + w->body_len, data, take);
        w->body_len += take;
        w->body[w->body_len] = '\0';
    }
    return n; /* the rest is read and discarded, as upstream discards past 64 KiB */
}

static size_t on_reply_header(char *data, size_t size, size_t nitems, void *userdata)
{
    struct otlphttp_worker *w = userdata;
    size_t n = size * nitems;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new response (after a 1xx): only the final one counts */
        w->has_retry_after = false;
        return n;
    }
    static const char name[] = "Retry-After:";
    if (!w->has_retry_after && n >= sizeof(name) - 1 &&
        strncasecmp(data, name, sizeof(name) - 1) == 0) {
        const char *v = data + sizeof(name) - 1;
        const char *end = data + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        size_t len = (size_t)(end - v);
        if (len >= sizeof(w->retry_after))
            len = sizeof(w->retry_after) - 1;
        memcpy(w->retry_after, v, len);
        w->retry_after[len] = '\0';
        w->has_retry_after = true; /* Go's Header.Values(...)[0]: the first one wins */
    }
    return n;
}

/* Aborts a transfer once the drain deadline has passed, so shutdown stays bounded. */
static int on_transfer_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                curl_off_t ultotal, curl_off_t ulnow)
{
    struct otlphttp_worker *w = userdata;
    if (!w->queue)
        return 0;
    int64_t deadline = sending_queue_drain_deadline_ns(w->queue);
    return deadline > 0 && sending_queue_now_ns() >= deadline;
}

static void worker_destroy(struct otlphttp_worker *w)
{
    if (!w)
        return;
    if (w->curl)
        curl_easy_cleanup(w->curl);
    free(w->body);
    free(w);
}

/* A consumer's curl handle with every per-exporter option set once; the connection it opens is
 * reused by every request of this consumer. */
static struct otlphttp_worker *worker_create(struct otlphttp_exporter *e, struct sending_queue *q,
                                             struct error *err)
{
    const struct otlphttp_config *cfg = e->config;
    struct otlphttp_worker *w = calloc(1, sizeof(*w));
    if (!w)
        goto fail_nomem;
    w->exporter = e;
    w->queue = q;
    w->curl = curl_easy_init();
    if (!w->curl)
        goto fail_nomem;
    CURL *c = w->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, e->headers);
    /* Go's transport asks for gzip and decodes it transparently; so do we. */
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, w->curl_error);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_reply_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_reply_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, w);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_transfer_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    if (cfg->disable_keep_alives)
        curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    if (cfg->proxy_url && *cfg->proxy_url)
        curl_easy_setopt(c, CURLOPT_PROXY, cfg->proxy_url);
    if (cfg->tls.insecure_skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (cfg->tls.ca_file && *cfg->tls.ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, cfg->tls.ca_file);
    if (cfg->tls.ca_pem && *cfg->tls.ca_pem) {
        struct curl_blob blob = {
            .data = cfg->tls.ca_pem, .len = strlen(cfg->tls.ca_pem), .flags = CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (cfg->tls.cert_file && *cfg->tls.cert_file)
        curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->tls.cert_file);
    if (cfg->tls.key_file && *cfg->tls.key_file)
        curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->tls.key_file);
    if (cfg->tls.cert_pem && *cfg->tls.cert_pem && !(cfg->tls.cert_file && *cfg->tls.cert_file)) {
        struct curl_blob blob = {
            .data = cfg->tls.cert_pem, .len = strlen(cfg->tls.cert_pem), .flags = CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &blob);
        curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (cfg->tls.key_pem && *cfg->tls.key_pem && !(cfg->tls.key_file && *cfg->tls.key_file)) {
        struct curl_blob blob = {
            .data = cfg->tls.key_pem, .len = strlen(cfg->tls.key_pem), .flags = CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &blob);
        curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    }
    return w;

fail_nomem:
    error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory creating an HTTP client");
    worker_destroy(w);
    return NULL;
}

/* ---- one attempt ---- */

/* A 2xx reply: the body is parsed only for the two exact content types (upstream's
 * partialSuccessHandler); a body that does not parse makes the attempt retryable. */
static void handle_success_reply(struct otlphttp_worker *w, enum signal s, const char *content_type,
                                 struct exporterhelper_attempt *out)
{
    const char *log_name = w->exporter->log_name;
    out->cls = RETRY_CLASS_SUCCESS;
    if (w->body_len == 0 || !content_type)
        return;
    const ProtobufCMessageDescriptor *desc = exporterhelper_response_descriptor(s);
    ProtobufCMessage *msg = NULL;
    bool from_json = false;
    if (!strcmp(content_type, "application/x-protobuf")) {
        msg = protobuf_c_message_unpack(desc, NULL, w->body_len, w->body);
        if (!msg) {
            out->cls = RETRY_CLASS_RETRYABLE;
            snprintf(out->text, sizeof(out->text),
                     "error parsing protobuf response: proto: cannot parse invalid wire-format "
                     "data");
            return;
        }
    } else if (!strcmp(content_type, "application/json")) {
        struct error parse_error = {0};
        if (otlp_json_decode((const char *)w->body, w->body_len, desc, &msg, &parse_error) < 0) {
            out->cls = RETRY_CLASS_RETRYABLE;
            snprintf(out->text, sizeof(out->text), "error parsing json response: %.960s",
                     parse_error.message);
            return;
        }
        from_json = true;
    } else {
        return; /* any other content type: the body is ignored */
    }
    exporterhelper_warn_partial_success(log_name, s, msg);
    protobuf_c_message_free_unpacked(msg, from_json ? pdata_allocator() : NULL);
}

/* upstream's "error exporting items, ..." text, with Message/Details when the body decodes as
 * a google.rpc.Status (whatever its content type: the OTLP spec says it must be one). */
static void describe_error_reply(struct otlphttp_worker *w, const char *url, long status, char *out,
                                 size_t size)
{
    int n = snprintf(out, size,
                     "error exporting items, request to %s responded with HTTP Status Code %ld",
                     url, status);
    if (w->body_len == 0 || n < 0 || (size_t)n >= size)
        return;
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, w->body_len, w->body);
    if (!st)
        return;
    size_t used = (size_t)n;
    used += (size_t)snprintf(out + used, size - used, ", Message=%s, Details=[",
                             st->message ? st->message : "");
    for (size_t i = 0; i < st->n_details && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%stype_url:\"%s\"", i ? " " : "",
                                 st->details[i]->type_url ? st->details[i]->type_url : "");
    if (used < size)
        snprintf(out + used, size - used, "]");
    google__rpc__status__free_unpacked(st, NULL);
}

/* Go's http.Client refuses URLs whose scheme it does not speak; that is a (retryable) error of
 * the request, not of the config. */
static bool url_scheme_supported(const char *url, char *scheme, size_t size)
{
    const char *colon = strchr(url, ':');
    size_t len = colon ? (size_t)(colon - url) : 0;
    snprintf(scheme, size, "%.*s", (int)len, url);
    return !strcasecmp(scheme, "http") || !strcasecmp(scheme, "https");
}

static void attempt_export(struct otlphttp_worker *w, enum signal s, const uint8_t *body,
                           size_t body_len, struct exporterhelper_attempt *out)
{
    struct otlphttp_exporter *e = w->exporter;
    const char *url = e->urls[s];
    memset(out, 0, sizeof(*out));
    char scheme[64];
    if (!url_scheme_supported(url, scheme, sizeof(scheme))) {
        out->cls = RETRY_CLASS_RETRYABLE;
        snprintf(out->text, sizeof(out->text),
                 "failed to make an HTTP request: Post \"%s\": unsupported protocol scheme \"%s\"",
                 url, scheme);
        return;
    }
    w->body_len = 0;
    w->has_retry_after = false;
    w->curl_error[0] = '\0';
    long timeout_ms = (long)(e->config->timeout_ns / 1000000);
    if (w->queue) {
        /* Never wait past the drain deadline: the progress callback aborts at it too. */
        int64_t deadline = sending_queue_drain_deadline_ns(w->queue);
        if (deadline > 0) {
            long left_ms = (long)((deadline - sending_queue_now_ns()) / 1000000) + 1;
            if (timeout_ms == 0 || left_ms < timeout_ms)
                timeout_ms = left_ms > 0 ? left_ms : 1;
        }
    }
    curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(w->curl, CURLOPT_URL, url);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    CURLcode rc = curl_easy_perform(w->curl);
    if (rc != CURLE_OK) {
        out->cls = RETRY_CLASS_RETRYABLE;
        out->aborted_at_deadline = rc == CURLE_ABORTED_BY_CALLBACK;
        snprintf(out->text, sizeof(out->text), "failed to make an HTTP request: Post \"%s\": %s",
                 url, w->curl_error[0] ? w->curl_error : curl_easy_strerror(rc));
        return;
    }
    long status = 0;
    char *content_type = NULL;
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(w->curl, CURLINFO_CONTENT_TYPE, &content_type);
    out->cls = retry_classify_http_status((int)status);
    if (out->cls == RETRY_CLASS_SUCCESS) {
        handle_success_reply(w, s, content_type, out);
        return;
    }
    char described[ERROR_MESSAGE_MAX - 80]; /* room for the prefixes below */
    describe_error_reply(w, url, status, described, sizeof(described));
    if (out->cls == RETRY_CLASS_PERMANENT) {
        snprintf(out->text, sizeof(out->text), "Permanent error: %s", described);
        return;
    }
    if (retry_status_honours_retry_after((int)status) && w->has_retry_after &&
        retry_parse_retry_after(w->retry_after, wall_clock_ns(), &out->throttle_ns) == 0) {
        char interval[40];
        retry_format_duration(out->throttle_ns, interval, sizeof(interval));
        out->has_throttle = true;
        snprintf(out->text, sizeof(out->text), "Throttle (%s), error: %s", interval, described);
        return;
    }
    snprintf(out->text, sizeof(out->text), "%s", described);
}

/* ---- encoding ---- */

static int encode_body(const struct otlphttp_exporter *e, const struct payload *p, uint8_t **out,
                       size_t *out_len)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int rc = 0;
    if (e->encoding == ENCODING_JSON) {
        raw = (uint8_t *)otlp_json_encode_text(p->message, &raw_len);
        if (!raw)
            rc = -ENOMEM;
    } else {
        rc = payload_encode(p, &raw, &raw_len);
    }
    if (rc < 0)
        goto out;
    if (e->compression == COMPRESSION_NONE) {
        *out = raw;
        *out_len = raw_len;
        raw = NULL;
        goto out;
    }
    rc = compress_buffer(e->compression, raw, raw_len, out, out_len);
out:
    free(raw);
    return rc;
}

/* ---- the sender the exporter helper drives ---- */

static int sender_worker_create(void *ctx, struct sending_queue *queue, void **worker,
                                struct error *err)
{
    struct otlphttp_worker *w = worker_create(ctx, queue, err);
    if (!w)
        return err ? err->code : -ENOMEM;
    *worker = w;
    return 0;
}

static void sender_worker_destroy(void *worker)
{
    worker_destroy(worker);
}

static int sender_encode(void *ctx, const struct payload *p, uint8_t **body, size_t *len)
{
    return encode_body(ctx, p, body, len);
}

/* The curl handle reads the drain deadline itself (its progress callback aborts a transfer at
 * it), so `deadline_ns` is not needed here. */
static void sender_attempt(void *ctx, void *worker, enum signal signal, const uint8_t *body,
                           size_t len, int64_t deadline_ns, struct exporterhelper_attempt *out)
{
    attempt_export(worker, signal, body, len, out);
}

static const struct exporterhelper_sender otlphttp_sender = {
    .worker_create = sender_worker_create,
    .worker_destroy = sender_worker_destroy,
    .encode = sender_encode,
    .attempt = sender_attempt,
};

static void exporter_free(struct otlphttp_exporter *e)
{
    if (!e)
        return;
    exporterhelper_destroy(e->helper);
    for (int s = 0; s < SIGNAL_COUNT; s++)
        free(e->urls[s]);
    curl_slist_free_all(e->headers);
    free(e);
}

/* Appends "Name: value" (or "Name;" for an empty value, curl's syntax for that). */
static int append_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[1024];
    if (*value)
        snprintf(line, sizeof(line), "%s: %s", name, value);
    else
        snprintf(line, sizeof(line), "%s;", name);
    struct curl_slist *grown = curl_slist_append(*list, line);
    if (!grown)
        return -ENOMEM;
    *list = grown;
    return 0;
}

static bool config_sets_header(const json_t *headers, const char *name)
{
    const char *key;
    json_t *value;
    if (!json_is_object(headers))
        return false;
    json_object_foreach((json_t *)headers, key, value)
    {
        if (!strcasecmp(key, name))
            return true;
    }
    return false;
}

/* Request headers: upstream's defaults, then `headers` from the config, which win over the
 * defaults (confighttp sets them last). "Expect:" and "Accept:" switch off headers curl would
 * add on its own and Go never sends. */
static int build_headers(struct otlphttp_exporter *e, struct error *err)
{
    const struct otlphttp_config *cfg = e->config;
    const char *defaults[][2] = {
        {"Content-Type",
         e->encoding == ENCODING_JSON ? "application/json" : "application/x-protobuf"},
        {"Content-Encoding",
         e->compression == COMPRESSION_NONE ? NULL : compression_name(e->compression)},
        {"User-Agent", otlphttp_user_agent()},
    };
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        if (!defaults[i][1] || config_sets_header(cfg->headers, defaults[i][0]))
            continue;
        if (append_header(&e->headers, defaults[i][0], defaults[i][1]) < 0)
            goto fail;
    }
    if (json_is_object(cfg->headers)) {
        const char *name;
        json_t *value;
        json_object_foreach(cfg->headers, name, value)
        {
            char text[512];
            if (json_is_string(value))
                snprintf(text, sizeof(text), "%s", json_string_value(value));
            else if (json_is_integer(value))
                snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
            else if (json_is_real(value))
                snprintf(text, sizeof(text), "%g", json_real_value(value));
            else if (json_is_boolean(value))
                snprintf(text, sizeof(text), "%s", json_is_true(value) ? "true" : "false");
            else
                text[0] = '\0';
            if (append_header(&e->headers, name, text) < 0)
                goto fail;
        }
    }
    /* "Name:" with nothing after it tells curl to leave out a header it would add itself. */
    static const char *const suppressed[] = {"Expect:", "Accept:"};
    for (size_t i = 0; i < sizeof(suppressed) / sizeof(suppressed[0]); i++) {
        struct curl_slist *grown = curl_slist_append(e->headers, suppressed[i]);
        if (!grown)
            goto fail;
        e->headers = grown;
    }
    return 0;
fail:
    return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory building request headers");
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_OK;

static void init_curl_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int otlphttp_create(struct component *c, struct error *err)
{
    const struct otlphttp_config *cfg = c->config;
    int rc = 0;
    struct otlphttp_exporter *e = NULL;
    pthread_once(&curl_once, init_curl_once);
    if (curl_init_result != CURLE_OK) {
        rc = error_set(err, -EIO, ERROR_PERMANENT, "cannot initialise libcurl: %s",
                       curl_easy_strerror(curl_init_result));
        goto fail;
    }
    e = calloc(1, sizeof(*e));
    if (!e) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    e->log_name = c->log_name;
    e->config = cfg;
    e->encoding = cfg->encoding && !strcmp(cfg->encoding, "json") ? ENCODING_JSON : ENCODING_PROTO;
    if ((rc = parse_compression(cfg->compression, &e->compression, err)) < 0)
        goto fail;
    const char *signal_endpoints[SIGNAL_COUNT] = {
        [SIGNAL_TRACES] = cfg->traces_endpoint,
        [SIGNAL_METRICS] = cfg->metrics_endpoint,
        [SIGNAL_LOGS] = cfg->logs_endpoint,
    };
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        char url[URL_MAX];
        if (otlphttp_compose_url(cfg->endpoint, signal_endpoints[s], signal_name((enum signal)s),
                                 url, sizeof(url), NULL) < 0)
            continue; /* no URL for this signal: each request of it fails, see consume */
        if (!(e->urls[s] = strdup(url))) {
            rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            goto fail;
        }
    }
    if ((rc = build_headers(e, err)) < 0)
        goto fail;
    e->helper = exporterhelper_create(c, &cfg->retry, &cfg->queue, &otlphttp_sender, e,
                                      "otlphttp-send", err);
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

static int otlphttp_start(struct component *c, struct error *err)
{
    struct otlphttp_exporter *e = c->state;
    return exporterhelper_start(e->helper, err);
}

static int otlphttp_consume(struct component *c, struct payload *p, struct error *err)
{
    struct otlphttp_exporter *e = c->state;
    enum signal s = p->signal;
    if (!e->urls[s]) {
        char text[128];
        snprintf(text, sizeof(text), "either endpoint or %s_endpoint must be specified",
                 signal_name(s));
        return exporterhelper_reject(e->helper, p, payload_item_count(p), -EINVAL, ERROR_PERMANENT,
                                     text, err);
    }
    return exporterhelper_consume(e->helper, p, err);
}

static void otlphttp_shutdown(struct component *c, long long deadline_ms)
{
    struct otlphttp_exporter *e = c->state;
    if (e)
        exporterhelper_shutdown(e->helper, deadline_ms);
}

static void otlphttp_destroy(struct component *c)
{
    exporter_free(c->state);
    c->state = NULL;
}

const struct component_descriptor otlp_http_exporter_descriptor = {
    .type = "otlp_http",
    .kind = KIND_EXPORTER,
    .signals = SIGNALS_ALL,
    .deprecated_alias = "otlphttp",
    .summary = "OTLP over HTTP (protobuf or JSON, gzip) with a sending queue and retries",
    .options = otlphttp_options,
    .config_size = sizeof(struct otlphttp_config),
    .validate = otlphttp_validate,
    .create = otlphttp_create,
    .start = otlphttp_start,
    .consume = otlphttp_consume,
    .shutdown = otlphttp_shutdown,
    .destroy = otlphttp_destroy,
};
