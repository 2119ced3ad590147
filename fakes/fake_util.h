/*
 * fake_util.h - small helpers every fake backend needs to answer as its Go server does: Go's
 * http.StatusText, google.rpc.Status bodies (protobuf or protojson), media types as Go's
 * mime.ParseMediaType gives them, UTF-8 decoding as Go's utf8 package does it, jansson strings
 * that survive invalid UTF-8, hex and the wall clock.
 *
 * Nothing here knows about backends, faults or the control API (that is fakes.h); a backend
 * includes this and kept.h, never fakes.h.
 */
#ifndef OTEL_FAKES_FAKE_UTIL_H
#define OTEL_FAKES_FAKE_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gostr.h" /* go_utf8_next, go_quote: Go's strings, which every fake speaks */
#include "httpd.h"

/* Go's http.StatusText: "Service Unavailable"; "" for an unknown code. */
const char *fake_util_status_text(int status);

/* Sets a google.rpc.Status body {code, message}: protobuf (`as_json` false, content type
 * `content_type` or application/x-protobuf when NULL) or protojson `{"code":3,"message":"..."}`
 * (application/json). Sets resp->status. On ENOMEM the body stays empty (the status is still
 * right). */
void fake_util_write_rpc_status(struct http_response *resp, int http_status, int grpc_code,
                                const char *message, bool as_json, const char *content_type);

/* The media type of a Content-Type value as Go's mime.ParseMediaType gives it: lower-cased,
 * parameters and spaces stripped, into `out`: "" when the header is absent, "-" when it does not
 * parse (so that the two can be told apart, as the OTLP receiver's error handler does). */
void fake_util_media_type(const char *content_type, char *out, size_t out_size);

/* A JSON string of `len` bytes of `s` (NULL = ""), with every invalid UTF-8 sequence replaced by
 * U+FFFD: jansson refuses invalid UTF-8, and a fake must show what it received rather than fail
 * (Go's pdata does not check strings either). NULL only on ENOMEM. */
json_t *fake_util_json_string(const char *s, size_t len);
/* Sets `key` (made valid UTF-8 the same way) to `value` in `object`, stealing `value`. Returns 0
 * or -1 (then `value` was released). */
int fake_util_json_set(json_t *object, const char *key, json_t *value);

/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes). */
void fake_util_hex(const uint8_t *data, size_t len, char *out);

/* Wall clock in nanoseconds / milliseconds since the epoch. */
int64_t fake_util_now_ns(void);
int64_t fake_util_now_ms(void);

#endif
