/*
 * kept.h - accepted export requests as the OTLP fakes keep them until a reset: compact (their
 * protobuf bytes) at ingest, decoded only when a view asks.
 */
#ifndef OTEL_FAKES_KEPT_H
#define OTEL_FAKES_KEPT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "pdata.h"

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
struct kept;

/* A kept copy of `payload`: a copy of `protobuf` (the `len` bytes `payload` was decoded from)
 * when it is not NULL, else a deep copy of `payload`. `payload` stays the caller's. The index
 * area is zeroed. One reference, the caller's. NULL on ENOMEM. */
struct kept *kept_new(const struct payload *payload, const uint8_t *protobuf, size_t len,
                      size_t index_size);
/* The same for a request the backend never decoded: a copy of the `len` bytes of `protobuf`, a
 * `signal` request. NULL on ENOMEM. */
struct kept *kept_new_bytes(enum signal signal, const uint8_t *protobuf, size_t len,
                            size_t index_size);
/* The backend's index area (aligned for any type; NULL when index_size was 0). Borrowed. */
void *kept_index(struct kept *kept);
/* The request as a tree, into *out: borrowed from `kept` or decoded anew; give it back with
 * kept_close. Returns 0, or -ENOMEM / -EINVAL with `err` filled. */
int kept_open(struct kept *kept, struct payload **out, struct error *err);
/* Releases what kept_open gave (NULL is accepted). */
void kept_close(struct kept *kept, struct payload *payload);
/* Another reference to `kept`; returns `kept`. Thread-safe. */
struct kept *kept_ref(struct kept *kept);
/* Drops one reference; the last frees. NULL is accepted. Thread-safe. */
void kept_unref(struct kept *kept);

/* Kept requests in arrival order. Not thread-safe: the owning fake guards it with its lock. */
struct kept_list {
    struct kept **items;
    size_t count, cap;
};

/* Appends `kept`, taking the caller's reference on success. Returns 0 or -ENOMEM. */
int kept_list_append(struct kept_list *list, struct kept *kept);
/* Copies the list into `out`, with a new reference on every item: a view takes one under the
 * fake's lock and then works without it. Returns 0 or -ENOMEM (then `out` is empty). */
int kept_list_snapshot(const struct kept_list *list, struct kept_list *out);
/* Moves the items into `out`, leaving `list` empty: a reset detaches under the lock and lets
 * go outside it. */
void kept_list_detach(struct kept_list *list, struct kept_list *out);
/* Drops every item's reference and frees the array. */
void kept_list_clear(struct kept_list *list);
/* A JSON array with the OTLP JSON of every item, in order (the views' `?view=otlp`). Caller
 * owns; NULL on ENOMEM. */
json_t *kept_list_otlp_json(const struct kept_list *list);

#endif
