/*
 * step_otlp.c - the `otlp` step: sends a payload file (OTLP JSON, encoded as the step says) or a
 * raw request to the collector's OTLP/HTTP receiver and checks the answer; with `transport:
 * grpc`, a unary call to its gRPC endpoint (common/grpcc: gRPC C core, plaintext h2c), checked
 * in gRPC terms (status code and message).
 *
 * Loading opens and decodes the payload file, so a typo in a path or a payload that is not OTLP
 * fails at load time, not halfway through a run; options that cannot go together (json over
 * gRPC, an HTTP check on a gRPC call, file options on a raw request) are refused there too, and
 * once the scenario has loaded, the config must have an otlp receiver with the step's transport.
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
 *
 * What a loaded step holds is struct step_otlp (step_otlp.h); the descriptor, defined last, is
 * this kind's entry in the table of steps.c.
 */
#include "step_otlp.h"
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
#include "grpcd.h"
#include "httpc.h"
#include "otlp_json.h"
#include "pdata.h"
#include "scenario_loader.h"
#include "timeshift.h"

#define BODY_SHOWN 200
#define CALL_TIMEOUT_MS 60000
#define MAX_RAW_BODY_SIZE (256LL * 1024 * 1024)

/* ---- load ---- */

static const struct field otlp_fields[] = {
    {"file", FIELD_STR, false,
     "a payload file (OTLP JSON) under scenarios/, e.g. inputs/logs.json"},
    {"raw", FIELD_MAP, false,
     "a raw request: {method, path, content_type, content_encoding, body | "
     "body_hex | body_size}"},
    {"signal", FIELD_STR, false, "traces, metrics or logs"},
    {"transport", FIELD_STR, false, "http or grpc"},
    {"encoding", FIELD_STR, false, "proto or json"},
    {"gzip", FIELD_BOOL, false, "true or false"},
    {"timestamps", FIELD_STR, false, "now (shift every time to the run start) or keep"},
    {"path", FIELD_STR, false, "a URL path such as /v1/logs"},
    {"receiver", FIELD_STR, false, "the id of an otlp receiver of the config"},
    {"expect_status", FIELD_INT, false, "an HTTP status such as 400"},
    {"expect_body", FIELD_STR | FIELD_MAP, false,
     "the exact body text, or one of {text, contains, json, hex, status}"},
    {"expect_content_type", FIELD_STR, false, "a media type such as text/plain"},
    {"expect_grpc_status", FIELD_STR | FIELD_INT, false,
     "a gRPC status name such as UNAVAILABLE (or its number), with transport grpc"},
    {"expect_grpc_message", FIELD_STR, false,
     "a substring of the gRPC status message, with transport grpc"},
    {NULL, 0, false, NULL},
};

static const struct field raw_fields[] = {
    {"method", FIELD_STR, false, "an HTTP method such as GET"},
    {"path", FIELD_STR, false, "a URL path such as /v1/logs"},
    {"content_type", FIELD_STR, false, "a Content-Type value (omit to send none)"},
    {"content_encoding", FIELD_STR, false, "a Content-Encoding value such as gzip"},
    {"body", FIELD_STR, false, "the body as text"},
    {"body_hex", FIELD_STR, false, "the body as hex bytes, e.g. \"ff ff 0a\""},
    {"body_size", FIELD_INT | FIELD_STR, false, "a size such as 21000000 or \"20MiB+1\""},
    {NULL, 0, false, NULL},
};

static const struct field expect_body_fields[] = {
    {"text", FIELD_STR, false, "the exact body"},
    {"contains", FIELD_STR, false, "a substring of the body"},
    {"json", FIELD_MAP | FIELD_LIST, false, "a JSON value equal to the body's"},
    {"hex", FIELD_STR, false, "the body's bytes as hex"},
    {"status", FIELD_MAP, false, "a google.rpc.Status {code, message | message_contains}"},
    {NULL, 0, false, NULL},
};

static const struct field status_fields[] = {
    {"code", FIELD_INT, false, "a gRPC code such as 3 (InvalidArgument)"},
    {"message", FIELD_STR, false, "the exact message"},
    {"message_contains", FIELD_STR, false, "a substring of the message"},
    {NULL, 0, false, NULL},
};

/* The gRPC method an OTLP exporter calls for `signal` (enum signal of pdata.h). */
static const char *grpc_export_method(int signal)
{
    switch (signal) {
    case SIGNAL_TRACES: return "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    case SIGNAL_METRICS: return "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    case SIGNAL_LOGS: return "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    default: return "";
    }
}

static int signal_of_payload(const json_t *payload)
{
    static const struct {
        const char *key;
        int signal;
    } keys[] = {
        {"resourceSpans", SIGNAL_TRACES},    {"resource_spans", SIGNAL_TRACES},
        {"resourceMetrics", SIGNAL_METRICS}, {"resource_metrics", SIGNAL_METRICS},
        {"resourceLogs", SIGNAL_LOGS},       {"resource_logs", SIGNAL_LOGS},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (json_object_get(payload, keys[i].key))
            return keys[i].signal;
    return -1;
}

static int load_payload(struct loader *l, struct step_otlp *o, const json_t *obj, const char *path,
                        int line)
{
    char sub[512];
    loader_join(sub, sizeof(sub), path, "file");
    int fline = loader_line_of_key(l, obj, "file", line);
    int rc =
        loader_resolve(l, o->file, sizeof(o->file), l->s->scenarios_dir, o->file_label, fline, sub);
    if (rc < 0)
        return rc;
    json_error_t jerr;
    o->payload = json_load_file(o->file, 0, &jerr);
    if (!o->payload)
        return loader_fail(l, fline, sub, "%s:%d: %s", o->file_label, jerr.line, jerr.text);
    int signal = signal_of_payload(o->payload);
    if (signal < 0)
        return loader_fail(l, fline, sub,
                           "%s is not an OTLP JSON export request (no resourceSpans, "
                           "resourceMetrics or resourceLogs)",
                           o->file_label);
    if (o->signal >= 0 && o->signal != signal)
        return loader_fail(l, loader_line_of_key(l, obj, "signal", line), path,
                           "signal %s does not match %s, which holds %s", signal_name(o->signal),
                           o->file_label, signal_name(signal));
    o->signal = signal;
    /* Decode it now, as the proto encoding will, so a bad payload fails at load time. */
    char *text = json_dumps(o->payload, JSON_COMPACT);
    if (!text)
        return error_set(l->err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    struct payload *decoded = NULL;
    struct error derr;
    rc = otlp_json_decode_payload((enum signal)signal, text, strlen(text), &decoded, &derr);
    free(text);
    payload_free(decoded);
    if (rc < 0)
        return loader_fail(l, fline, sub, "%s does not decode as OTLP %s: %s", o->file_label,
                           signal_name(signal), derr.message);
    return 0;
}

static int load_expect_body(struct loader *l, struct body_check *b, const json_t *obj,
                            const char *path, int line)
{
    const json_t *v = json_object_get(obj, "expect_body");
    char sub[512];
    loader_join(sub, sizeof(sub), path, "expect_body");
    int bline = loader_line_of_key(l, obj, "expect_body", line);
    if (!v)
        return 0;
    if (json_is_string(v)) {
        b->kind = BODY_TEXT;
        b->text = json_string_value(v);
        return 0;
    }
    int rc = loader_check_fields(l, v, bline, sub, expect_body_fields);
    if (rc < 0)
        return rc;
    if (json_object_size(v) != 1)
        return loader_fail(l, bline, sub,
                           "expected exactly one of: text, contains, json, hex, status");
    if ((b->text = loader_get_string(v, "text"))) {
        b->kind = BODY_TEXT;
    } else if ((b->text = loader_get_string(v, "contains"))) {
        b->kind = BODY_CONTAINS;
    } else if ((b->text = loader_get_string(v, "hex"))) {
        uint8_t *bytes;
        size_t n;
        if (loader_hex_decode(b->text, &bytes, &n) < 0)
            return loader_fail(l, bline, sub, "hex: expected pairs of hex digits, e.g. \"0a 00\"");
        free(bytes);
        b->kind = BODY_HEX;
    } else if ((b->json = json_object_get(v, "json"))) {
        b->kind = BODY_JSON;
    } else {
        const json_t *st = json_object_get(v, "status");
        char ssub[600];
        loader_join(ssub, sizeof(ssub), sub, "status");
        if ((rc = loader_check_fields(l, st, loader_line_of_node(l, st, bline), ssub,
                                      status_fields)) < 0)
            return rc;
        b->kind = BODY_STATUS;
        b->has_code = json_object_get(st, "code") != NULL;
        b->code = (int)json_integer_value(json_object_get(st, "code"));
        b->message = loader_get_string(st, "message");
        b->message_contains = loader_get_string(st, "message_contains");
    }
    return 0;
}

static int load_raw(struct loader *l, struct step_otlp *o, const json_t *raw, const char *path,
                    int line)
{
    char sub[512];
    loader_join(sub, sizeof(sub), path, "raw");
    int rline = loader_line_of_node(l, raw, line);
    int rc = loader_check_fields(l, raw, rline, sub, raw_fields);
    if (rc < 0)
        return rc;
    o->raw = true;
    o->method = loader_get_string(raw, "method");
    if (!o->method)
        o->method = "POST";
    o->path = loader_get_string(raw, "path");
    o->content_type = loader_get_string(raw, "content_type");
    o->content_encoding = loader_get_string(raw, "content_encoding");
    o->body_text = loader_get_string(raw, "body");
    int bodies = (json_object_get(raw, "body") != NULL) +
                 (json_object_get(raw, "body_hex") != NULL) +
                 (json_object_get(raw, "body_size") != NULL);
    if (bodies > 1)
        return loader_fail(l, rline, sub, "give at most one of body, body_hex, body_size");
    const char *hex = loader_get_string(raw, "body_hex");
    if (hex && loader_hex_decode(hex, &o->body_bytes, &o->body_bytes_len) < 0)
        return loader_fail(l, loader_line_of_key(l, raw, "body_hex", rline), sub,
                           "body_hex: expected pairs of hex digits, e.g. \"ff ff 0a\"");
    const json_t *size = json_object_get(raw, "body_size");
    if (size && (loader_parse_size(size, &o->body_size) < 0 || o->body_size > MAX_RAW_BODY_SIZE))
        return loader_fail(
            l, loader_line_of_key(l, raw, "body_size", rline), sub,
            "body_size: expected a size up to 256MiB such as 21000000 or \"20MiB+1\"");
    return 0;
}

/* expect_grpc_status / expect_grpc_message, and the HTTP expectations a gRPC step cannot have
 * (and the reverse). */
static int load_grpc_expectations(struct loader *l, struct step_otlp *o, const json_t *obj,
                                  const char *path, int line)
{
    static const char *const http_only[] = {"expect_status", "expect_body", "expect_content_type",
                                            NULL};
    static const char *const grpc_only[] = {"expect_grpc_status", "expect_grpc_message", NULL};
    const char *const *wrong = o->grpc ? http_only : grpc_only;
    for (int i = 0; wrong[i]; i++)
        if (json_object_get(obj, wrong[i]))
            return loader_fail(l, loader_line_of_key(l, obj, wrong[i], line), path,
                               o->grpc ? "%s is an HTTP check; a gRPC call is checked with "
                                         "expect_grpc_status and expect_grpc_message"
                                       : "%s needs transport: grpc",
                               wrong[i]);
    o->expect_grpc_code = GRPC_CODE_OK;
    o->expect_grpc_message = loader_get_string(obj, "expect_grpc_message");
    const json_t *v = json_object_get(obj, "expect_grpc_status");
    if (!v)
        return 0;
    for (int code = GRPC_CODE_OK; code <= GRPC_CODE_UNAUTHENTICATED; code++) {
        if (json_is_integer(v) ? json_integer_value(v) == code
                               : !strcmp(json_string_value(v), grpc_code_name(code))) {
            o->expect_grpc_code = code;
            return 0;
        }
    }
    return loader_fail(
        l, loader_line_of_key(l, obj, "expect_grpc_status", line), path,
        "expect_grpc_status: expected a gRPC status name (OK, CANCELLED, UNKNOWN, "
        "INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, "
        "PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, "
        "OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED) "
        "or its number");
}

/* A raw gRPC call: a method (raw.path, default the signal's Export) and a message body; the
 * HTTP parts of raw have no meaning on a gRPC stream. */
static int finish_raw_grpc(struct loader *l, struct step *st, const json_t *raw, const char *path,
                           int line)
{
    struct step_otlp *o = step_otlp_data(st);
    static const char *const http_parts[] = {"method", "content_type", "content_encoding", NULL};
    for (int i = 0; http_parts[i]; i++)
        if (json_object_get(raw, http_parts[i]))
            return loader_fail(
                l, loader_line_of_key(l, raw, http_parts[i], line), path,
                "raw.%s has no meaning for a gRPC call: give raw.path (the full method "
                "name, /package.Service/Method) and a body",
                http_parts[i]);
    if (!o->path && o->signal < 0)
        return loader_fail(
            l, line, path,
            "a raw gRPC call needs raw.path (/package.Service/Method) or signal (for its "
            "Export method)");
    if (!o->path)
        o->path = grpc_export_method(o->signal);
    snprintf(st->label, sizeof(st->label), "otlp grpc raw %s", o->path);
    return 0;
}

static int load_otlp_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                          int line)
{
    struct step_otlp *o = step_otlp_data(st);
    int rc;
    line = loader_line_of_node(l, obj, line);
    o->signal = -1;
    o->body_size = -1;
    o->expect_status = 200;
    const char *signal = loader_get_string(obj, "signal");
    if (signal) {
        enum signal sig;
        if (signal_parse(signal, &sig) < 0 || strchr(signal, '/'))
            return loader_fail(l, loader_line_of_key(l, obj, "signal", line), path,
                               "unknown signal \"%s\" (expected traces, metrics or logs)", signal);
        o->signal = (int)sig;
    }
    static const char *const transports[] = {"http", "grpc", NULL};
    int choice;
    if ((rc = loader_check_choice(l, obj, "transport", path, transports, &choice)) < 0)
        return rc;
    o->grpc = choice == 1;
    if ((rc = load_grpc_expectations(l, o, obj, path, line)) < 0)
        return rc;
    static const char *const encodings[] = {"proto", "json", NULL};
    if ((rc = loader_check_choice(l, obj, "encoding", path, encodings, &choice)) < 0)
        return rc;
    o->json_encoding = choice == 1;
    static const char *const stamps[] = {"now", "keep", NULL};
    if ((rc = loader_check_choice(l, obj, "timestamps", path, stamps, &choice)) < 0)
        return rc;
    o->timestamps_now = choice == 0;
    o->gzip = loader_get_bool(obj, "gzip", false);
    o->receiver = loader_get_string(obj, "receiver");
    if (json_object_get(obj, "expect_status")) {
        o->expect_status = (int)json_integer_value(json_object_get(obj, "expect_status"));
        if (o->expect_status < 100 || o->expect_status > 599)
            return loader_fail(l, loader_line_of_key(l, obj, "expect_status", line), path,
                               "expect_status: expected an HTTP status (100-599)");
    }
    o->expect_content_type = loader_get_string(obj, "expect_content_type");
    if ((rc = load_expect_body(l, &o->expect_body, obj, path, line)) < 0)
        return rc;

    const json_t *raw = json_object_get(obj, "raw");
    o->file_label = loader_get_string(obj, "file");
    if (!raw == !o->file_label)
        return loader_fail(l, line, path,
                           "expected exactly one of file (a payload) or raw (a request "
                           "for bad-input cases)");
    if (raw) {
        static const char *const file_only[] = {"encoding", "gzip", "timestamps", "path", NULL};
        for (int i = 0; file_only[i]; i++)
            if (json_object_get(obj, file_only[i]))
                return loader_fail(
                    l, loader_line_of_key(l, obj, file_only[i], line), path,
                    "%s applies to file payloads; a raw request states content_type, "
                    "content_encoding and path inside raw",
                    file_only[i]);
        if ((rc = load_raw(l, o, raw, path, line)) < 0)
            return rc;
        if (o->grpc)
            return finish_raw_grpc(l, st, raw, path, line);
        if (!o->path && o->signal < 0)
            return loader_fail(l, line, path,
                               "a raw request needs raw.path or signal (for /v1/<signal>)");
        snprintf(st->label, sizeof(st->label), "otlp raw %s %s%s%s", o->method,
                 o->path ? o->path : "/v1/", o->path ? "" : signal_name(o->signal),
                 o->content_type ? "" : " (no content type)");
        return 0;
    }
    if ((rc = load_payload(l, o, obj, path, line)) < 0)
        return rc;
    o->path = loader_get_string(obj, "path");
    if (o->grpc) {
        if (o->json_encoding)
            return loader_fail(l, loader_line_of_key(l, obj, "encoding", line), path,
                               "OTLP over gRPC carries protobuf only (encoding json is OTLP/HTTP)");
        if (o->path)
            return loader_fail(
                l, loader_line_of_key(l, obj, "path", line), path,
                "a gRPC payload goes to its signal's Export method; call another method "
                "with raw: {path: /package.Service/Method}");
        o->path = grpc_export_method(o->signal);
        snprintf(st->label, sizeof(st->label), "otlp grpc %s %s (proto%s%s)",
                 signal_name(o->signal), o->file_label, o->gzip ? ", gzip" : "",
                 o->timestamps_now ? ", timestamps now" : "");
        return 0;
    }
    o->content_type = o->json_encoding ? "application/json" : "application/x-protobuf";
    o->content_encoding = o->gzip ? "gzip" : NULL;
    snprintf(st->label, sizeof(st->label), "otlp %s %s (%s%s%s)", signal_name(o->signal),
             o->file_label, o->json_encoding ? "json" : "proto", o->gzip ? ", gzip" : "",
             o->timestamps_now ? ", timestamps now" : "");
    return 0;
}

/* An otlp step needs an otlp receiver with its transport in the config. Checked once the whole
 * scenario has loaded, as the loader always has, so a file with several mistakes still reports
 * the same one first. */
static int check_otlp_receiver(struct loader *l, const struct step *st, const char *path)
{
    const struct scenario *s = l->s;
    const struct step_otlp *o = step_otlp_data(st);
    const char *ids[16];
    bool http[16], grpc[16];
    size_t receivers = scenario_otlp_receivers(s->config, ids, http, grpc, 16);
    for (size_t r = 0; r < receivers; r++)
        if ((o->grpc ? grpc[r] : http[r]) && (!o->receiver || !strcmp(o->receiver, ids[r])))
            return 0;
    return loader_fail(l, st->line, path, "%s has no otlp receiver%s%s%s with protocols.%s",
                       s->config_label, o->receiver ? " \"" : "", o->receiver ? o->receiver : "",
                       o->receiver ? "\"" : "", o->grpc ? "grpc" : "http");
}

/* ---- run ---- */

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

static int run_otlp(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                    struct error *err)
{
    const struct step_otlp *o = step_otlp_data(st);
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

static void free_otlp(struct step *st)
{
    struct step_otlp *o = step_otlp_data(st);
    json_decref(o->payload);
    free(o->body_bytes);
}

const struct step_kind_desc step_otlp_kind = {
    .name = "otlp",
    .data_size = sizeof(struct step_otlp),
    .fields = otlp_fields,
    .load = load_otlp_step,
    .check = check_otlp_receiver,
    .run = run_otlp,
    .free = free_otlp,
};
