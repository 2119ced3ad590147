/*
 * fakes.h - the set of fake backends in one process (DESIGN.md §4), as curl bundles all its test
 * servers in one binary: every backend is one `struct fake_backend` descriptor in a table, and
 * the front handler, the control API and main() know the backends only through it.
 *
 * A `struct fake` is one running backend: its instance, its fault injector (fault.h) and its
 * request log (request_log.h), behind its own HTTP server. A request to a fake goes
 * fault -> backend -> log: a fault that answers for the backend (status, reset) keeps the data
 * from being recorded, because the backend said no.
 *
 * Adding a backend (Kubernetes API, Target Allocator) = one entry in the table in fakes.c, a port
 * field in `struct fakes_config`, a flag in main.c.
 *
 * Also here: small helpers every OTLP fake needs (google.rpc.Status bodies, Go's status texts,
 * media types as Go parses them).
 */
#ifndef OTEL_FAKES_FAKES_H
#define OTEL_FAKES_FAKES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "httpd.h"
#include "pdata.h"

struct fault;
struct request_log;

struct fakes_config {
    const char *host; /* NULL = 127.0.0.1 */
    int prometheus_port;
    int loki_port;
    int tempo_http_port;
    int tempo_grpc_port; /* Tempo's gRPC front (tempo_grpc.h) */
    int control_port;
    bool loki_auth_enabled;
    bool prometheus_otlp_enabled;
    bool discard; /* --discard: Loki keeps nothing it accepts (loki_options.discard) */
    /* Tests only: a clock for the fakes that validate timestamps (Loki); NULL = real time. */
    int64_t (*now_ns)(void);
};

/* One backend, as the front handler and the control API see it. Every function gets the
 * instance that `create` returned. */
struct fake_backend {
    const char *name;     /* "loki": the {fake} of control URLs */
    const char *port_key; /* "tempo_http": the key of the ready line's "ports" object */
    size_t port_offset;   /* offsetof(struct fakes_config, <port field>) */
    size_t max_body;      /* bytes the HTTP server keeps of a request body */
    /* NULL on allocation failure. */
    void *(*create)(const struct fakes_config *cfg);
    void (*destroy)(void *self);
    /* Answers one request; *items = items accepted (stored). */
    void (*handle)(void *self, const struct http_request *req, struct http_response *resp,
                   size_t *items);
    /* Answers `status` in the backend's own error format (a status fault). `message` is the
     * fault's body text or NULL for the backend's usual text for that status. */
    void (*refuse)(void *self, const struct http_request *req, struct http_response *resp,
                   int status, const char *message);
    json_t *(*view)(void *self);      /* caller owns; NULL on ENOMEM */
    json_t *(*view_otlp)(void *self); /* caller owns; NULL on ENOMEM */
    void (*reset)(void *self);
};

struct fake;
struct fakes;

/* Creates every backend with its fault injector and request log; starts no server (unit tests
 * drive the backends and the control API directly). Returns NULL with `err` filled. Caller owns;
 * free with fakes_free. */
struct fakes *fakes_new(const struct fakes_config *cfg, struct error *err);
/* Starts one HTTP server per backend and the control server. Returns 0 or a negative code with
 * `err` filled (address in use); servers already started are stopped by fakes_free. */
int fakes_listen(struct fakes *f, struct error *err);
/* Releases stalled requests, stops every server, frees everything. NULL is accepted. */
void fakes_free(struct fakes *f);
/* `{"ready":true,"ports":{"prometheus":N,...,"tempo_grpc":N,"control":N}}` after fakes_listen.
 * Caller owns. */
json_t *fakes_ready_json(const struct fakes *f);

size_t fakes_count(const struct fakes *f);
struct fake *fakes_at(struct fakes *f, size_t i);
/* NULL when no backend has that name. */
struct fake *fakes_find(struct fakes *f, const char *name);
/* "prometheus, loki, tempo": for error messages. Static storage inside `f`. */
const char *fakes_known_names(const struct fakes *f);
/* Port of a started backend (0 before fakes_listen); control port with name "control", Tempo's
 * gRPC front with "tempo_grpc". */
int fakes_port(const struct fakes *f, const char *name);

const char *fake_name(const struct fake *fake);
const struct fake_backend *fake_backend(const struct fake *fake);
void *fake_instance(struct fake *fake);
struct fault *fake_fault(struct fake *fake);
struct request_log *fake_log(struct fake *fake);
/* Clears the backend's data and its request log (faults stay). */
void fake_reset(struct fake *fake);

/* ---- helpers shared by the OTLP fakes ---- */

/* Go's http.StatusText: "Service Unavailable"; "" for an unknown code. */
const char *fakes_status_text(int status);

/* Sets a google.rpc.Status body {code, message}: protobuf (`as_json` false, content type
 * `content_type` or application/x-protobuf when NULL) or protojson `{"code":3,"message":"..."}`
 * (application/json). Sets resp->status. On ENOMEM the body stays empty (the status is still
 * right). */
void fakes_write_rpc_status(struct http_response *resp, int http_status, int grpc_code,
                            const char *message, bool as_json, const char *content_type);

/* The media type of a Content-Type value as Go's mime.ParseMediaType gives it: lower-cased,
 * parameters and spaces stripped, into `out`: "" when the header is absent, "-" when it does not
 * parse (so that the two can be told apart, as the OTLP receiver's error handler does). */
void fakes_media_type(const char *content_type, char *out, size_t out_size);

/* Decodes one rune of s[0..len) as Go does: returns its byte length; an invalid sequence
 * (overlong, surrogate, > U+10FFFF, truncated) gives length 1, *valid false and U+FFFD, as
 * utf8.DecodeRuneInString returns (RuneError, 1). `len` must be > 0. */
size_t fakes_utf8_next(const unsigned char *s, size_t len, uint32_t *rune, bool *valid);

/* A JSON string of `len` bytes of `s` (NULL = ""), with every invalid UTF-8 sequence replaced by
 * U+FFFD: jansson refuses invalid UTF-8, and a fake must show what it received rather than fail
 * (Go's pdata does not check strings either). NULL only on ENOMEM. */
json_t *fakes_json_string(const char *s, size_t len);
/* Sets `key` (made valid UTF-8 the same way) to `value` in `object`, stealing `value`. Returns 0
 * or -1 (then `value` was released). */
int fakes_json_set(json_t *object, const char *key, json_t *value);

/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes). */
void fakes_hex(const uint8_t *data, size_t len, char *out);

/* Wall clock in nanoseconds / milliseconds since the epoch. */
int64_t fakes_now_ns(void);
int64_t fakes_now_ms(void);

/* ---- accepted requests, kept compact until a view asks for them ---- */

/* One accepted export request as an OTLP fake keeps it until reset. A fake must answer at
 * ingest exactly as its backend would, but only the control API ever looks at the data, so it
 * keeps the request small and builds views from it on demand: as the protobuf bytes it arrived
 * as (a span is ~250 bytes on the wire, ~1.5 KB as a decoded tree, ~7 KB as jansson objects), or
 * as the decoded tree when there are no bytes (a JSON request: its tree need not survive a
 * protobuf round trip, e.g. an id of an odd length that payload_decode refuses). Beside it,
 * `index_size` bytes that the backend fills with what it must know without decoding (Tempo:
 * the span ids; Loki: the tenant).
 *
 * Immutable once the backend filled its index. Counted references let a view read it outside
 * its fake's lock while a reset lets go of it. */
struct fakes_kept;

/* A kept copy of `payload`: a copy of `protobuf` (the `len` bytes `payload` was decoded from)
 * when it is not NULL, else a deep copy of `payload`. `payload` stays the caller's. The index
 * area is zeroed. One reference, the caller's. NULL on ENOMEM. */
struct fakes_kept *fakes_kept_new(const struct payload *payload, const uint8_t *protobuf,
                                  size_t len, size_t index_size);
/* The backend's index area (aligned for any type; NULL when index_size was 0). Borrowed. */
void *fakes_kept_index(struct fakes_kept *kept);
/* The request as a tree, into *out: borrowed from `kept` or decoded anew; give it back with
 * fakes_kept_close. Returns 0, or -ENOMEM / -EINVAL with `err` filled. */
int fakes_kept_open(struct fakes_kept *kept, struct payload **out, struct error *err);
/* Releases what fakes_kept_open gave (NULL is accepted). */
void fakes_kept_close(struct fakes_kept *kept, struct payload *payload);
/* Another reference to `kept`; returns `kept`. Thread-safe. */
struct fakes_kept *fakes_kept_ref(struct fakes_kept *kept);
/* Drops one reference; the last frees. NULL is accepted. Thread-safe. */
void fakes_kept_unref(struct fakes_kept *kept);

/* Kept requests in arrival order. Not thread-safe: the owning fake guards it with its lock. */
struct fakes_kept_list {
    struct fakes_kept **items;
    size_t count, cap;
};

/* Appends `kept`, taking the caller's reference on success. Returns 0 or -ENOMEM. */
int fakes_kept_list_append(struct fakes_kept_list *list, struct fakes_kept *kept);
/* Copies the list into `out`, with a new reference on every item: a view takes one under the
 * fake's lock and then works without it. Returns 0 or -ENOMEM (then `out` is empty). */
int fakes_kept_list_snapshot(const struct fakes_kept_list *list, struct fakes_kept_list *out);
/* Moves the items into `out`, leaving `list` empty: a reset detaches under the lock and lets
 * go outside it. */
void fakes_kept_list_detach(struct fakes_kept_list *list, struct fakes_kept_list *out);
/* Drops every item's reference and frees the array. */
void fakes_kept_list_clear(struct fakes_kept_list *list);
/* A JSON array with the OTLP JSON of every item, in order (the views' `?view=otlp`). Caller
 * owns; NULL on ENOMEM. */
json_t *fakes_kept_list_otlp_json(const struct fakes_kept_list *list);

#endif
