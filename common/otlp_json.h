/*
 * otlp_json.h - OTLP/JSON <-> protobuf-c messages, driven by protobuf-c's runtime descriptors
 * (one generic walker, no per-message code).
 *
 * Output is what the collector's pdata JSON marshaler writes (core@v0.144.0,
 * pdata/internal/generated_proto_*.go): lowerCamelCase keys in .proto declaration order, trace and
 * span ids as lowercase hex, other bytes as base64, 64-bit integers as decimal strings, enums as
 * integers, zero/empty fields left out except proto3 `optional` fields that are present and
 * singular message fields (resource, scope, Span.status, LogRecord.body, KeyValue.value,
 * exponential histogram buckets, partialSuccess), which the collector always writes (`{}` when
 * absent). Doubles are numbers in Go's shortest format; NaN and infinities are the strings
 * "NaN", "+Inf", "-Inf" (the collector's fmt "%f" spelling, not protojson's "Infinity").
 *
 * Input accepts the collector's leniencies (shared/facts/receivers.md §1 "OTLP/JSON
 * decoding"): lowerCamelCase and snake_case keys, unknown keys skipped, enums as integers or
 * names, 64-bit integers as numbers or decimal strings, doubles as numbers or strings
 * ("NaN", "Infinity", "-Infinity", "+Inf", "-Inf" included), hex ids in either case (length
 * checked), `null` as absent.
 */
#ifndef OTEL_COMMON_OTLP_JSON_H
#define OTEL_COMMON_OTLP_JSON_H

#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "error.h"
#include "pdata.h"

/* Encodes any message of the OTLP schema (or google.rpc.Status) as upstream writes it.
 * Caller owns the result (json_decref). NULL on allocation failure. */
json_t *otlp_json_encode(const ProtobufCMessage *msg);

/* The same as compact JSON text (upstream's byte layout: no spaces, keys in declaration order,
 * Go's shortest number format). Caller frees with free(). NULL on allocation failure. *len
 * (optional) receives the length without the terminating NUL. */
char *otlp_json_encode_text(const ProtobufCMessage *msg, size_t *len);

/* Decodes `len` bytes of OTLP/JSON into a new message of `desc`, allocated with
 * pdata_allocator() (free with protobuf_c_message_free_unpacked(msg, pdata_allocator())).
 * Returns 0, -EINVAL (err->message names the place, e.g.
 * `resourceSpans[0].scopeSpans[0].spans[1].traceId: length mismatch`) or -ENOMEM. On error
 * *out is NULL and nothing is left allocated. */
int otlp_json_decode(const char *text, size_t len, const ProtobufCMessageDescriptor *desc,
                     ProtobufCMessage **out, struct error *err);

/* otlp_json_decode of the export request of signal `s`, wrapped in a payload the caller owns. */
int otlp_json_decode_payload(enum signal s, const char *text, size_t len, struct payload **out,
                             struct error *err);

#endif
