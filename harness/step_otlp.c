/*
 * step_otlp.c - the `otlp` step: sends a payload file (OTLP JSON, encoded as the step says) or a
 * raw request to the collector's OTLP/HTTP receiver and checks the answer; with `transport:
 * grpc`, a unary call to its gRPC endpoint (common/grpcc: gRPC C core, plaintext h2c), checked
 * in gRPC terms (status code and message).
 *
 * A payload is sent as upstream clients send it: protobuf (the JSON file decoded with
 * otlp_json_decode_payload and encoded with payload_encode) or the JSON text itself, optionally
 * gzip-compressed, with the matching Content-Type/Content-Encoding. A raw request sends exactly
 * what the scenario wrote (or nothing, for a missing header), for bad-input cases.
 *
 * A raw gRPC call sends the body bytes as the request message of the method named, so a scenario
 * can send garbage, an unknown method or an oversized message. It cannot send a malformed gRPC
 * frame (a bad compressed flag, a truncated length prefix): gRPC core frames every message
 * itself, and a hand-built HTTP/2 client is out of this harness's scope.
 *
 * The answer is checked in full - status, content type, body - and every mismatch is reported,
 * not just the first. Error bodies are compared as google.rpc.Status decoded from the response's
 * own encoding, because upstream's protojson output spaces randomly (receivers.md §1).
 */
#include "steps.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compress.h"
#include "google/rpc/status.pb-c.h"
#include "grpcc.h"
#include "httpc.h"
#include "otlp_json.h"
#include "pdata.h"
#include "timeshift.h"

#define BODY_SHOWN 200
#define CALL_TIMEOUT_MS 60000

/* The body of a payload step, encoded, and gzip-compressed when `gzip`. Caller frees *body. */
static int encode_payload(struct run_ctx *ctx, const struct step_otlp *o, bool gzip, uint8_t **body,
                          size_t *len, char *note, size_t note_size, struct error *err)
{
    json_t *copy = json_deep_copy(o->payload);
    char *text = NULL;
    struct payload *decoded = NULL;
    uint8_t *encoded = NULL;
    size_t encoded_len = 0;
    size_t shifted = 0;
    int rc = 0;
    *body = NULL;
    if (!copy)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    if (o->timestamps_now && (rc = timeshift_payload(copy, ctx->run_start_ns, &shifted, err)) < 0)
        goto done;
    text = json_dumps(copy, JSON_COMPACT);
    if (!text) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto done;
    }
    if (o->json_encoding) {
        encoded = (uint8_t *)text;
        encoded_len = strlen(text);
        text = NULL;
    } else {
        rc = otlp_json_decode_payload((enum signal)o->signal, text, strlen(text), &decoded, err);
        if (rc < 0)
            goto done;
        if ((rc = payload_encode(decoded, &encoded, &encoded_len)) < 0) {
            rc = error_set(err, rc, ERROR_PERMANENT, "encoding %s as protobuf failed",
                           o->file_label);
            goto done;
        }
    }
    snprintf(note, note_size, "%zu bytes %s%s", encoded_len, o->json_encoding ? "json" : "proto",
             shifted ? ", times shifted to now" : "");
    if (gzip) {
        uint8_t *gz = NULL;
        size_t gz_len = 0;
        if ((rc = compress_buffer(COMPRESSION_GZIP, encoded, encoded_len, &gz, &gz_len)) < 0) {
            rc = error_set(err, rc, ERROR_PERMANENT, "gzip failed");
            goto done;
        }
        free(encoded);
        encoded = gz;
        encoded_len = gz_len;
    }
    *body = encoded;
    *len = encoded_len;
    encoded = NULL;
done:
    free(encoded);
    free(text);
    payload_free(decoded);
    json_decref(copy);
    return rc;
}

static int raw_body(const struct step_otlp *o, uint8_t **body, size_t *len, struct error *err)
{
    *body = NULL;
    *len = 0;
    if (o->body_text) {
        *len = strlen(o->body_text);
        *body = (uint8_t *)strdup(o->body_text);
    } else if (o->body_bytes) {
        *len = o->body_bytes_len;
        *body = malloc(*len ? *len : 1);
        if (*body)
            memcpy(*body, o->body_bytes, *len);
    } else if (o->body_size >= 0) {
        /* Filler: spaces are valid leading whitespace for JSON and harmless for protobuf
         * size tests; the receivers reject the size before looking at the content. */
        *len = (size_t)o->body_size;
        *body = malloc(*len ? *len : 1);
        if (*body)
            memset(*body, ' ', *len);
    } else {
        return 0; /* no body at all */
    }
    if (!*body)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    return 0;
}

/* A body for messages: printable text as is (cut), binary as hex. */
static void show_body(const uint8_t *body, size_t len, char *buf, size_t size)
{
    bool printable = true;
    for (size_t i = 0; i < len && printable; i++)
        printable = isprint(body[i]) || body[i] == '\n' || body[i] == '\t';
    size_t n = 0;
    buf[0] = '\0';
    if (printable) {
        n += (size_t)snprintf(buf, size, "\"");
        for (size_t i = 0; i < len && i < BODY_SHOWN && n + 4 < size; i++) {
            if (body[i] == '\n')
                n += (size_t)snprintf(buf + n, size - n, "\\n");
            else
                buf[n++] = (char)body[i];
        }
        snprintf(buf + n, size - n, "%s\"", len > BODY_SHOWN ? "..." : "");
        return;
    }
    n += (size_t)snprintf(buf, size, "hex ");
    for (size_t i = 0; i < len && i < BODY_SHOWN / 2 && n + 3 < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%02x", body[i]);
    if (len > BODY_SHOWN / 2)
        snprintf(buf + n, size - n, "...");
}

static void media_type(const char *content_type, char *out, size_t size)
{
    size_t n = strcspn(content_type, ";");
    while (n > 0 && content_type[n - 1] == ' ')
        n--;
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)content_type[i]);
    out[n] = '\0';
}

/* Decodes a google.rpc.Status body by the response's media type. */
static int decode_status(const struct httpc_response *r, int *code, char *message, size_t size)
{
    char media[128];
    media_type(r->content_type, media, sizeof(media));
    if (!strcmp(media, "application/x-protobuf")) {
        Google__Rpc__Status *st = google__rpc__status__unpack(NULL, r->body_len, r->body);
        if (!st)
            return -EINVAL;
        *code = st->code;
        snprintf(message, size, "%s", st->message ? st->message : "");
        google__rpc__status__free_unpacked(st, NULL);
        return 0;
    }
    if (!strcmp(media, "application/json")) {
        json_t *doc = json_loadb((const char *)r->body, r->body_len, 0, NULL);
        if (!json_is_object(doc)) {
            json_decref(doc);
            return -EINVAL;
        }
        *code = (int)json_integer_value(json_object_get(doc, "code"));
        snprintf(message, size, "%s",
                 json_string_value(json_object_get(doc, "message"))
                     ? json_string_value(json_object_get(doc, "message"))
                     : "");
        json_decref(doc);
        return 0;
    }
    return -ENOTSUP;
}

/* Appends "; " + text to the mismatch list. */
static void add_mismatch(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_mismatch(char *buf, size_t size, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n && n + 2 < size)
        n += (size_t)snprintf(buf + n, size - n, "; ");
    va_list ap;
    va_start(ap, fmt);
    if (n < size)
        vsnprintf(buf + n, size - n, fmt, ap);
    va_end(ap);
}

static int hex_equal(const char *hex, const uint8_t *body, size_t len)
{
    size_t n = 0;
    int high = -1;
    for (const char *p = hex; *p; p++) {
        if (isspace((unsigned char)*p))
            continue;
        int v = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
        if (high < 0) {
            high = v;
            continue;
        }
        if (n >= len || body[n] != (uint8_t)(high << 4 | v))
            return 0;
        n++;
        high = -1;
    }
    return n == len;
}

static void check_body(const struct body_check *b, const struct httpc_response *r, char *bad,
                       size_t size)
{
    char shown[BODY_SHOWN * 2 + 16];
    show_body(r->body, r->body_len, shown, sizeof(shown));
    switch (b->kind) {
    case BODY_ANY: return;
    case BODY_TEXT:
        if (strlen(b->text) != r->body_len || memcmp(b->text, r->body, r->body_len) != 0) {
            char want[BODY_SHOWN * 2 + 16];
            show_body((const uint8_t *)b->text, strlen(b->text), want, sizeof(want));
            add_mismatch(bad, size, "body %s, want %s", shown, want);
        }
        return;
    case BODY_CONTAINS:
        if (!memmem(r->body, r->body_len, b->text, strlen(b->text)))
            add_mismatch(bad, size, "body %s does not contain \"%s\"", shown, b->text);
        return;
    case BODY_HEX:
        if (!hex_equal(b->text, r->body, r->body_len))
            add_mismatch(bad, size, "body %s, want hex %s", shown, b->text);
        return;
    case BODY_JSON: {
        json_t *doc = json_loadb((const char *)r->body, r->body_len, JSON_DECODE_ANY, NULL);
        if (!doc || !json_equal(doc, (json_t *)b->json)) {
            char *want = json_dumps(b->json, JSON_COMPACT | JSON_SORT_KEYS);
            add_mismatch(bad, size, "body %s, want JSON %s", shown, want ? want : "?");
            free(want);
        }
        json_decref(doc);
        return;
    }
    case BODY_STATUS: {
        int code;
        char message[1024];
        if (decode_status(r, &code, message, sizeof(message)) < 0) {
            add_mismatch(bad, size, "body %s (Content-Type \"%s\") is not a google.rpc.Status",
                         shown, r->content_type);
            return;
        }
        if (b->has_code && code != b->code)
            add_mismatch(bad, size, "status code %d, want %d", code, b->code);
        if (b->message && strcmp(message, b->message) != 0)
            add_mismatch(bad, size, "status message \"%s\", want \"%s\"", message, b->message);
        if (b->message_contains && !strstr(message, b->message_contains))
            add_mismatch(bad, size, "status message \"%s\" does not contain \"%s\"", message,
                         b->message_contains);
        return;
    }
    }
}

/* One unary call to the receiver's gRPC endpoint with `body` as the request message, checked in
 * gRPC terms. The payload's gzip option becomes gRPC's own message compression. */
static int run_grpc(struct run_ctx *ctx, const struct step_otlp *o, const uint8_t *body, size_t len,
                    const char *note, char *detail, size_t size, struct error *err)
{
    char target[64];
    int port = wiring_grpc_port(&ctx->wiring, o->receiver);
    snprintf(target, sizeof(target), "127.0.0.1:%d", port);
    struct grpcc_options opts = {
        .insecure = true,
        .compression = o->gzip ? "gzip" : NULL,
        .user_agent = "otel-harness",
    };
    struct grpcc *client = grpcc_new(target, &opts, err);
    if (!client)
        return err ? err->code : -EINVAL;
    struct grpcc_result r = {0};
    int rc = grpcc_unary(client, o->path, body, len, CALL_TIMEOUT_MS, &r);
    grpcc_free(client);
    if (rc < 0)
        return error_set(err, rc, ERROR_PERMANENT, "gRPC call %s failed: %s", o->path,
                         strerror(-rc));
    char bad[1024] = "";
    if (r.code != o->expect_grpc_code)
        add_mismatch(bad, sizeof(bad), "status %s, want %s", grpc_code_name(r.code),
                     grpc_code_name(o->expect_grpc_code));
    if (o->expect_grpc_message && !strstr(r.message, o->expect_grpc_message))
        add_mismatch(bad, sizeof(bad), "message \"%s\" does not contain \"%s\"", r.message,
                     o->expect_grpc_message);
    snprintf(detail, size, "gRPC %s -> %s%s%s%s%s%s", o->path, grpc_code_name(r.code),
             r.message[0] ? " \"" : "", r.message, r.message[0] ? "\"" : "", *note ? "; sent " : "",
             note);
    grpcc_result_release(&r);
    if (*bad)
        return error_set(err, -EPROTO, ERROR_PERMANENT, "gRPC %s: %s", o->path, bad);
    return 0;
}

int step_otlp_run(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                  struct error *err)
{
    const struct step_otlp *o = &st->otlp;
    uint8_t *body = NULL;
    size_t len = 0;
    char note[128] = "", url[512], path[256];
    struct httpc_response resp = {0};
    int rc;

    if (o->raw)
        rc = raw_body(o, &body, &len, err);
    else /* over gRPC, gzip is gRPC's own message compression (run_grpc), not the body's */
        rc = encode_payload(ctx, o, o->gzip && !o->grpc, &body, &len, note, sizeof(note), err);
    if (rc < 0)
        goto done;
    if (o->grpc) {
        rc = run_grpc(ctx, o, body, len, note, detail, size, err);
        goto done;
    }
    if (o->path)
        snprintf(path, sizeof(path), "%s", o->path);
    else
        snprintf(path, sizeof(path), "/v1/%s", signal_name((enum signal)o->signal));
    int port = wiring_http_port(&ctx->wiring, o->receiver);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    struct httpc_request req = {
        .method = o->raw ? o->method : "POST",
        .url = url,
        .content_type = o->content_type,
        .content_encoding = o->content_encoding,
        .body = body,
        .body_len = len,
        .timeout_ms = 60000,
    };
    if ((rc = httpc_do(&req, &resp, err)) < 0)
        goto done;

    char bad[1024] = "";
    if (resp.status != o->expect_status)
        add_mismatch(bad, sizeof(bad), "status %ld, want %d", resp.status, o->expect_status);
    if (o->expect_content_type) {
        char got[128], want[128];
        media_type(resp.content_type, got, sizeof(got));
        media_type(o->expect_content_type, want, sizeof(want));
        if (strcmp(got, want) != 0)
            add_mismatch(bad, sizeof(bad), "Content-Type \"%s\", want \"%s\"", resp.content_type,
                         o->expect_content_type);
    }
    check_body(&o->expect_body, &resp, bad, sizeof(bad));
    char shown[BODY_SHOWN * 2 + 16];
    show_body(resp.body, resp.body_len, shown, sizeof(shown));
    snprintf(detail, size, "%s %s -> %ld %s%s%s", req.method, path, resp.status, shown,
             *note ? "; sent " : "", note);
    if (*bad)
        rc = error_set(err, -EPROTO, ERROR_PERMANENT, "%s %s: %s", req.method, path, bad);
done:
    httpc_response_free(&resp);
    free(body);
    return rc;
}
