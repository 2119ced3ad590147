/*
 * helpers.h - small helpers shared by the fakes' unit tests (header-only, `static inline` so a
 * test that does not use one does not warn): OTLP payloads written as JSON, google.rpc.Status
 * bodies read back, response bodies as text.
 */
#ifndef OTEL_FAKES_TESTS_HELPERS_H
#define OTEL_FAKES_TESTS_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "google/rpc/status.pb-c.h"
#include "httpd.h"
#include "otlp_json.h"
#include "pdata.h"

/* A payload decoded from OTLP/JSON; fails the test when it does not decode. */
static inline struct payload *payload_from_json(enum signal s, const char *json)
{
    struct payload *p = NULL;
    struct error err = {0};
    int rc = otlp_json_decode_payload(s, json, strlen(json), &p, &err);
    if (rc != 0)
        fail_msg("test payload does not decode: %s", err.message);
    return p;
}

/* The same payload as protobuf bytes (caller frees). */
static inline uint8_t *proto_from_json(enum signal s, const char *json, size_t *len)
{
    struct payload *p = payload_from_json(s, json);
    uint8_t *out = NULL;
    assert_int_equal(payload_encode(p, &out, len), 0);
    payload_free(p);
    return out;
}

/* Formats into a malloc'd string (caller frees). */
static inline char *format_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *format_text(const char *fmt, ...)
{
    char *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    return out;
}

/* The response body as a NUL-terminated copy (caller frees). */
static inline char *body_text(const struct http_response *resp)
{
    char *s = malloc(resp->body_len + 1);
    assert_non_null(s);
    if (resp->body_len)
        memcpy(s, resp->body, resp->body_len);
    s[resp->body_len] = '\0';
    return s;
}

/* Decodes a protobuf google.rpc.Status body; *code and a copy of the message (caller frees). */
static inline char *rpc_status_message(const struct http_response *resp, int *code)
{
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, resp->body_len, resp->body);
    assert_non_null(st);
    *code = st->code;
    char *message = strdup(st->message ? st->message : "");
    google__rpc__status__free_unpacked(st, NULL);
    return message;
}

static inline void response_clear(struct http_response *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
    resp->status = 200;
}

#endif
