/*
 * otlp_http.c - one OTLP/HTTP request, answered exactly as the collector answers it.
 *
 * The order of checks is upstream's layering (facts/receivers.md §1), outermost first:
 *   response_headers                      (confighttp ToServer: set on every answer)
 *   decompressor                          (confighttp compression.go: runs for every path and
 *                                          method; an unknown or disallowed Content-Encoding, and
 *                                          a gzip/zlib header that cannot be read, are answered
 *                                          by the receiver's errorHandler at once)
 *   ServeMux                              (exact paths of the signals in use; anything else,
 *                                          trailing slash included, is Go's 404)
 *   handler (otlphttp.go)                 405 before 415, then the body read (over the limit,
 *                                          before or after decompression, or a corrupt stream:
 *                                          400), unmarshal (400), empty request (200 without the
 *                                          pipeline), consumer error (status mapped), success.
 * errorHandler writes a google.rpc.Status in the request's encoding; when the Content-Type is
 * neither JSON nor protobuf (missing included, as getMimeTypeFromContentType returns "" for it)
 * it answers 500 with a fixed JSON body, on purpose, as upstream does.
 *
 * Self-metrics (receiver/receiverhelper/obsreport.go, with receiverhelper.newReceiverMetrics
 * off, its default in 0.144): after the pipeline was called, accepted += n on success, refused +=
 * n on any error, failed += 0; requests rejected before the pipeline count nothing.
 *
 * Deliberately not done: Go ServeMux's redirect of unclean paths ("//v1/traces"), snappy and
 * lz4 bodies (no library; answered as unsupported encodings), client metadata.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "google/rpc/status.pb-c.h"
#include "log.h"
#include "otlp.h"
#include "otlp_internal.h"
#include "otlp_json.h"
#include "pdata.h"

#define CONTENT_TYPE_JSON "application/json"
#define CONTENT_TYPE_PROTOBUF "application/x-protobuf"

/* gRPC status codes used here */
#define GRPC_INVALID_ARGUMENT 3
#define GRPC_INTERNAL 13
#define GRPC_UNAVAILABLE 14

enum media { MEDIA_OTHER = 0, MEDIA_JSON, MEDIA_PROTOBUF };

/* ---- Content-Type: Go's mime.ParseMediaType ---- */

static bool is_token_char(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f && !strchr("()<>@,;:\\\"/[]?=", ch);
}

static const char *skip_space(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

static size_t token_length(const char *p)
{
    size_t n = 0;
    while (p[n] && is_token_char((unsigned char)p[n]))
        n++;
    return n;
}

/* consumeValue: a token or a quoted string; returns the rest, or NULL when malformed. */
static const char *consume_value(const char *p)
{
    if (*p != '"') {
        size_t n = token_length(p);
        return n ? p + n : NULL;
    }
    for (p++; *p; p++) {
        if (*p == '"')
            return p + 1;
        if (*p == '\\' && p[1])
            p++;
    }
    return NULL; /* unterminated */
}

int otlp_http_media_type(const char *content_type, char *out, size_t size)
{
    if (!content_type || size == 0)
        return -EINVAL;
    const char *semicolon = strchr(content_type, ';');
    size_t base_len = semicolon ? (size_t)(semicolon - content_type) : strlen(content_type);
    /* TrimSpace(ToLower(base)) */
    while (base_len && isspace((unsigned char)*content_type)) {
        content_type++;
        base_len--;
    }
    while (base_len && isspace((unsigned char)content_type[base_len - 1]))
        base_len--;
    if (base_len == 0 || base_len >= size)
        return -EINVAL; /* "mime: no media type" */
    for (size_t i = 0; i < base_len; i++)
        out[i] = (char)tolower((unsigned char)content_type[i]);
    out[base_len] = '\0';
    /* checkMediaTypeDisposition: token ["/" token] and nothing else */
    size_t type_len = token_length(out);
    if (type_len == 0)
        return -EINVAL;
    if (out[type_len]) {
        if (out[type_len] != '/')
            return -EINVAL;
        size_t subtype_len = token_length(out + type_len + 1);
        if (subtype_len == 0 || out[type_len + 1 + subtype_len])
            return -EINVAL;
    }
    /* parameters: `; key=value` each, a trailing `;` tolerated, no duplicate keys */
    char seen[16][64];
    size_t seen_count = 0;
    const char *p = semicolon;
    while (p && *(p = skip_space(p))) {
        if (*p != ';')
            return -EINVAL;
        const char *after = skip_space(p + 1);
        size_t key_len = token_length(after);
        if (key_len == 0) {
            if (!*skip_space(after))
                break; /* "Ignore trailing semicolons" */
            return -EINVAL;
        }
        const char *key = after;
        const char *q = skip_space(after + key_len);
        if (*q != '=')
            return -EINVAL;
        q = consume_value(skip_space(q + 1));
        if (!q)
            return -EINVAL;
        char lowered[64];
        snprintf(lowered, sizeof(lowered), "%.*s", (int)key_len, key);
        for (char *l = lowered; *l; l++)
            *l = (char)tolower((unsigned char)*l);
        for (size_t i = 0; i < seen_count; i++)
            if (!strcmp(seen[i], lowered))
                return -EINVAL; /* "mime: duplicate parameter name" */
        if (seen_count < 16)
            snprintf(seen[seen_count++], sizeof(seen[0]), "%s", lowered);
        p = q;
    }
    return 0;
}

static enum media media_of(const char *content_type)
{
    char type[128];
    if (otlp_http_media_type(content_type, type, sizeof(type)) < 0)
        return MEDIA_OTHER;
    if (!strcmp(type, CONTENT_TYPE_JSON))
        return MEDIA_JSON;
    if (!strcmp(type, CONTENT_TYPE_PROTOBUF))
        return MEDIA_PROTOBUF;
    return MEDIA_OTHER;
}

/* ---- answers ---- */

static const char fallback_body[] =
    "{\"code\": 13, \"message\": \"failed to marshal error message\"}";

static void answer_text(struct http_response *resp, int status, const char *content_type,
                        const char *text)
{
    resp->status = status;
    if (http_response_set_body(resp, content_type, text, strlen(text)) < 0)
        resp->close_connection = true; /* cannot even allocate the answer: drop the connection */
}

static void answer_fallback(struct http_response *resp)
{
    answer_text(resp, 500, CONTENT_TYPE_JSON, fallback_body);
}

/* writeStatusResponse: a google.rpc.Status in the request's encoding. */
static void answer_status(struct http_response *resp, enum media media, int http_status,
                          int grpc_code, const char *message)
{
    Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
    status.code = grpc_code;
    status.message = (char *)message;
    if (media == MEDIA_PROTOBUF) {
        size_t len = protobuf_c_message_get_packed_size(&status.base);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf) {
            answer_fallback(resp);
            return;
        }
        protobuf_c_message_pack(&status.base, buf);
        resp->status = http_status;
        http_response_take_body(resp, CONTENT_TYPE_PROTOBUF, (char *)buf, len);
        return;
    }
    size_t len = 0;
    char *text = otlp_json_encode_text(&status.base, &len);
    if (!text) {
        answer_fallback(resp);
        return;
    }
    resp->status = http_status;
    http_response_take_body(resp, CONTENT_TYPE_JSON, text, len);
}

/* errorHandler: only JSON and protobuf requests get a Status; anything else the fixed 500. */
static void error_handler(struct http_response *resp, enum media media, const char *message)
{
    if (media == MEDIA_OTHER) {
        answer_fallback(resp);
        return;
    }
    answer_status(resp, media, 400, GRPC_INVALID_ARGUMENT, message);
}

static void answer_success(struct http_response *resp, enum media media)
{
    /* The empty ExportXServiceResponse as pdata marshals it: partial_success always written. */
    static const uint8_t protobuf_success[] = {0x0a, 0x00};
    static const char json_success[] = "{\"partialSuccess\":{}}";
    int rc = media == MEDIA_PROTOBUF
                 ? http_response_set_body(resp, CONTENT_TYPE_PROTOBUF, protobuf_success, 2)
                 : http_response_set_body(resp, CONTENT_TYPE_JSON, json_success,
                                          sizeof(json_success) - 1);
    resp->status = 200;
    if (rc < 0)
        resp->close_connection = true;
}

/* ---- request ---- */

static bool encoding_allowed(const struct otlp_receiver *r, const char *encoding)
{
    const struct otlp_receiver_config *cfg = r->config;
    if (!cfg->compression_algorithms_present)
        return true;
    for (size_t i = 0; i < cfg->compression_algorithms.count; i++)
        if (!strcmp(cfg->compression_algorithms.items[i], encoding ? encoding : ""))
            return true;
    return false;
}

static int route(const struct otlp_receiver *r, const char *path)
{
    for (int s = 0; s < SIGNAL_COUNT; s++)
        if (r->paths[s] && !strcmp(r->paths[s], path))
            return s;
    return -1;
}

/* Decodes, counts, and hands the payload to the pipeline; fills the answer. */
static void export_request(struct otlp_receiver *r, enum signal signal, enum media media,
                           const uint8_t *body, size_t len, struct http_response *resp)
{
    struct payload *payload = NULL;
    struct error err = {0};
    int rc = media == MEDIA_JSON
                 ? otlp_json_decode_payload(signal, (const char *)body, len, &payload, &err)
                 : payload_decode(signal, body, len, &payload, &err);
    if (rc == -ENOMEM) {
        /* not the client's fault (upstream has no such case): retryable, like a full queue */
        answer_status(resp, media, 503, GRPC_UNAVAILABLE, err.message);
        return;
    }
    if (rc < 0) {
        answer_status(resp, media, 400, GRPC_INVALID_ARGUMENT, err.message);
        return;
    }
    size_t items = payload_item_count(payload);
    if (items == 0) {
        /* internal/{trace,metrics,logs}/otlp.go: success at once, pipeline not called, even
         * while the memory limiter refuses */
        payload_free(payload);
        answer_success(resp, media);
        return;
    }
    error_clear(&err);
    rc = consumer_consume(r->component->next[signal], payload, &err); /* takes the payload */
    if (rc == 0) {
        tm_counter_add(r->http_metrics.accepted[signal], items);
        tm_counter_add(r->http_metrics.refused[signal], 0);
        tm_counter_add(r->http_metrics.failed[signal], 0);
        answer_success(resp, media);
        return;
    }
    tm_counter_add(r->http_metrics.accepted[signal], 0);
    tm_counter_add(r->http_metrics.refused[signal], items);
    tm_counter_add(r->http_metrics.failed[signal], 0);
    /* internal/errors: non-permanent -> Unavailable (503), permanent -> Internal (500) */
    bool permanent = err.kind == ERROR_PERMANENT;
    log_debug(r->component->log_name, "pipeline refused %zu %s: %s", items,
              signal_item_name(signal), err.message);
    answer_status(resp, media, permanent ? 500 : 503, permanent ? GRPC_INTERNAL : GRPC_UNAVAILABLE,
                  err.message[0] ? err.message
                                 : (permanent ? "permanent error" : "retryable error"));
}

void otlp_http_handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct otlp_receiver *r = ctx;
    uint8_t *decompressed = NULL;
    for (size_t i = 0; i < r->header_count; i++)
        http_response_add_header(resp, r->header_names[i], "%s", r->header_values[i]);
    const char *encoding = httpd_request_header(req, "Content-Encoding");
    enum media media = media_of(httpd_request_header(req, "Content-Type"));

    /* 1. decompressor */
    enum compression compression = COMPRESSION_NONE;
    if (!encoding_allowed(r, encoding) || compression_parse(encoding, &compression) < 0) {
        char message[300];
        snprintf(message, sizeof(message), "unsupported Content-Encoding: %.200s",
                 encoding ? encoding : "");
        error_handler(resp, media, message);
        goto done;
    }
    /* Only the stream header is read here, as gzip/zlib.NewReader do in the middleware; the
     * body itself is decompressed when the handler reads it, after the method and media type
     * checks (same answers, no work for requests that are turned away). */
    if (compression != COMPRESSION_NONE) {
        const char *bad_header = compress_header_error(compression, req->body, req->body_len);
        if (bad_header) {
            error_handler(resp, media, bad_header);
            goto done;
        }
    }

    /* 2. ServeMux */
    int signal = route(r, req->path);
    if (signal < 0) {
        answer_text(resp, 404, "text/plain; charset=utf-8", "404 page not found\n");
        http_response_add_header(resp, "X-Content-Type-Options", "nosniff");
        goto done;
    }

    /* 3. handler: method, then media type, then the body */
    if (strcmp(req->method, "POST") != 0) {
        answer_text(resp, 405, "text/plain", "405 method not allowed, supported: [POST]");
        goto done;
    }
    if (media == MEDIA_OTHER) {
        answer_text(resp, 415, "text/plain",
                    "415 unsupported media type, supported: [application/json, "
                    "application/x-protobuf]");
        goto done;
    }
    /* the body read: over the limit as sent or once decompressed, or a corrupt stream */
    const uint8_t *body = req->body;
    size_t body_len = req->body_len;
    struct error body_error = {0};
    bool body_failed = false;
    if (compression != COMPRESSION_NONE) {
        int rc = decompress_buffer(compression, req->body, req->body_len, r->max_body,
                                   &decompressed, &body_len, &body_error);
        body = decompressed;
        body_failed = rc < 0;
        /* The raw body was cut at the limit: reading on would have hit MaxBytesReader first,
         * unless the stream was already corrupt in the part that arrived. */
        if (req->body_too_large &&
            (!body_failed || strstr(body_error.message, "EOF") || rc == -EFBIG)) {
            body_failed = true;
            error_set(&body_error, -EFBIG, ERROR_PERMANENT, "http: request body too large");
        }
    } else if (req->body_too_large) {
        body_failed = true;
        error_set(&body_error, -EFBIG, ERROR_PERMANENT, "http: request body too large");
    }
    if (body_failed) {
        if (body_error.code == -ENOMEM)
            answer_status(resp, media, 503, GRPC_UNAVAILABLE,
                          "out of memory decompressing the body");
        else
            answer_status(resp, media, 400, GRPC_INVALID_ARGUMENT, body_error.message);
        goto done;
    }
    export_request(r, (enum signal)signal, media, body, body_len, resp);
done:
    free(decompressed);
}
