/*
 * step_otlp.h - what an `otlp` step holds once loaded (step_otlp.c): the payload file or raw
 * request it sends, and the answer it expects.
 *
 * The kind's own struct lives here, beside its kind rather than in scenario.h, so that adding or
 * changing a kind touches only its own files; step_otlp.c fills and reads it, and tests read it
 * through step_otlp_data. Strings are borrowed from the scenario's document unless a field says
 * it is owned; what is owned is released by the kind's free.
 */
#ifndef HARNESS_STEP_OTLP_H
#define HARNESS_STEP_OTLP_H

#include <assert.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

enum body_check_kind { BODY_ANY = 0, BODY_TEXT, BODY_CONTAINS, BODY_JSON, BODY_HEX, BODY_STATUS };

/* What a response body must be. BODY_STATUS decodes a google.rpc.Status from the body in the
 * response's Content-Type (protobuf or JSON), since upstream answers errors in the request's
 * encoding and protojson spacing is randomised (receivers.md §1). */
struct body_check {
    enum body_check_kind kind;
    const char *text;   /* TEXT / CONTAINS / HEX */
    const json_t *json; /* JSON */
    bool has_code;
    int code;                     /* STATUS */
    const char *message;          /* STATUS: exact */
    const char *message_contains; /* STATUS: substring */
};

struct step_otlp {
    /* A payload file (OTLP JSON) ... */
    char file[PATH_MAX];    /* resolved; "" for a raw request */
    const char *file_label; /* as the scenario wrote it */
    json_t *payload;        /* parsed payload file (owned) */
    int signal;             /* enum signal of pdata.h */
    bool json_encoding;     /* encoding: json (else proto) */
    bool gzip;
    bool timestamps_now;
    /* ... or a raw request for bad-input cases. */
    bool raw;
    const char *method;       /* default POST */
    const char *content_type; /* NULL: none sent (raw) or derived from the encoding */
    const char *content_encoding;
    const char *body_text; /* raw body: text */
    uint8_t *body_bytes;   /* raw body: decoded body_hex (owned) */
    size_t body_bytes_len;
    int64_t body_size; /* raw body: this many filler bytes (-1 = unset) */
    /* Both */
    const char *path;     /* URL path; default /v1/<signal>. gRPC: the full method name, default
                             /opentelemetry.proto.collector.<signal>.v1.<Service>/Export */
    const char *receiver; /* otlp receiver id; default: the config's first with the transport */
    int expect_status;    /* default 200 */
    struct body_check expect_body;
    const char *expect_content_type; /* media type prefix, or NULL */
    /* transport: grpc - a unary call to the receiver's gRPC endpoint, checked in gRPC terms. */
    bool grpc;
    int expect_grpc_code;            /* enum grpc_code of grpcd.h; default OK */
    const char *expect_grpc_message; /* a substring of the status message, or NULL */
};

extern const struct step_kind_desc step_otlp_kind; /* defined last in step_otlp.c */

/* The data of `st`, which must be an otlp step (asserted: a caller that does not know the kind
 * has a bug). Borrowed from st, which owns it; writable, for the kind's load. */
static inline struct step_otlp *step_otlp_data(const struct step *st)
{
    assert(st->desc == &step_otlp_kind);
    return st->data;
}

#endif
