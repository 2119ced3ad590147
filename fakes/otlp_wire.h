/*
 * otlp_wire.h - reading OTLP protobuf bytes in place, for the fakes' ingest fast paths.
 *
 * A fake must answer every request exactly as its backend does, but for a well-formed request
 * the answer needs only a few fields per item (Tempo: the ids; Loki: timestamps and sizes).
 * Decoding the whole tree with protobuf-c to read them cost more CPU than the collector spent
 * producing the request (profile in loki.c's header). So a fake reads what it needs with the
 * checked reader below, which asks of every field whether payload_decode would surely accept
 * it (otlp_wire_check's question) in the same walk; anything unusual sends it down the full
 * path (payload_decode and the tree), which gives every error its exact words. The check may say
 * "not sure" to bytes that payload_decode accepts (a packed repeated field, a field sent twice, a
 * 6-byte tag); it never says "sure" to bytes that payload_decode refuses.
 *
 * Checked against protobuf-c 1.4.1 (protobuf-c.c: parse_tag_and_wiretype, scan_length_prefix,
 * scan_varint, parse_required_member) and common/pdata.c (payload_decode: nesting limit, id
 * lengths).
 */
#ifndef OTEL_FAKES_OTLP_WIRE_H
#define OTEL_FAKES_OTLP_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Wire types (the low 3 bits of a tag). Groups (3, 4) are not read: OTLP has none, and
 * protobuf-c refuses them. */
enum otlp_wire_type {
    OTLP_WIRE_VARINT = 0,
    OTLP_WIRE_FIXED64 = 1,
    OTLP_WIRE_LEN = 2,
    OTLP_WIRE_FIXED32 = 5,
};

/* A cursor over the fields of one message: bytes [pos, end), borrowed. */
struct otlp_wire_reader {
    const uint8_t *pos, *end;
};

/* One field as read. For VARINT, FIXED64 and FIXED32 `value` holds the number (little-endian
 * for the fixed ones); for LEN, `data` and
 * `len` point into the reader's bytes. */
struct otlp_wire_field {
    uint32_t number;
    enum otlp_wire_type type;
    uint64_t value;
    const uint8_t *data;
    size_t len;
};

static inline void otlp_wire_init(struct otlp_wire_reader *r, const uint8_t *data, size_t len)
{
    r->pos = data;
    r->end = data + len;
}

/* Inline, as otlp_wire_next: the fast paths call them for every field of every item.
 * A varint of at most `max_bytes` bytes at r->pos: 0 and *value, or -1. */
static inline int otlp_wire_varint(struct otlp_wire_reader *r, size_t max_bytes, uint64_t *value)
{
    if (r->pos < r->end && r->pos[0] < 0x80) { /* most tags and lengths: one byte */
        *value = *r->pos++;
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < max_bytes && r->pos + i < r->end; i++) {
        uint8_t b = r->pos[i];
        /* A 10th byte above 1 carries bits past 64, which protobuf-c drops for numbers but
         * counts for a bool: not sure. */
        if (i == 9 && b > 1)
            return -1;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            r->pos += i + 1;
            *value = v;
            return 0;
        }
    }
    return -1;
}

/* Reads the next field. Returns 1 (a field in *f), 0 (end of the message) or -1 when the bytes
 * are not a field protobuf-c would read the same way: truncated, a tag or length prefix longer
 * than protobuf-c takes (5 bytes), a varint longer than 10 bytes or with bits past 64, field
 * number 0 or past 2^29 - 1, a group or wire type 6/7. After -1 the reader must not be
 * used again. */
static inline int otlp_wire_next(struct otlp_wire_reader *r, struct otlp_wire_field *f)
{
    if (r->pos >= r->end)
        return 0;
    uint64_t tag;
    /* protobuf-c reads a tag of at most 5 bytes; numbers past 2^29 - 1 are not protobuf's. */
    if (otlp_wire_varint(r, 5, &tag) < 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
        return -1;
    f->number = (uint32_t)(tag >> 3);
    f->data = NULL;
    f->len = 0;
    f->value = 0;
    size_t left;
    switch (tag & 7) {
    case OTLP_WIRE_VARINT:
        f->type = OTLP_WIRE_VARINT;
        return otlp_wire_varint(r, 10, &f->value) < 0 ? -1 : 1;
    case OTLP_WIRE_FIXED64:
    case OTLP_WIRE_FIXED32: {
        size_t n = (tag & 7) == OTLP_WIRE_FIXED64 ? 8 : 4;
        if ((size_t)(r->end - r->pos) < n)
            return -1;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ /* the wire's order: copy the bytes */
        if (n == 8) {
            memcpy(&f->value, r->pos, 8);
        } else {
            uint32_t v32;
            memcpy(&v32, r->pos, 4);
            f->value = v32;
        }
#else
        for (size_t i = 0; i < n; i++)
            f->value |= (uint64_t)r->pos[i] << (8 * i);
#endif
        r->pos += n;
        f->type = (enum otlp_wire_type)(tag & 7);
        return 1;
    }
    case OTLP_WIRE_LEN: {
        uint64_t len;
        /* scan_length_prefix: at most 5 bytes of length. */
        if (otlp_wire_varint(r, 5, &len) < 0)
            return -1;
        left = (size_t)(r->end - r->pos);
        if (len > left)
            return -1;
        f->type = OTLP_WIRE_LEN;
        f->data = r->pos;
        f->len = (size_t)len;
        r->pos += len;
        return 1;
    }
    default: return -1; /* groups, 6 and 7 */
    }
}

/* True when payload_decode would surely accept `buf` as a `desc` message nested at `depth`
 * (1 for a whole request) and decode every field as written: framing as otlp_wire_next reads
 * it, each known field in its own wire type (a packed repeated field is "not sure"), no
 * singular field or oneof sent twice (protobuf-c would merge or replace), nesting at most 100
 * deep (payload_decode allows 128), and trace/span ids of OTLP messages 0 or 16/8 bytes.
 * Unknown fields are skipped, as protobuf-c skips them. Reads `buf` only. */
bool otlp_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                     int depth);

/* ---- reading and checking in one walk ----
 *
 * A fast path that reads some levels of a request itself (Tempo: down to the spans; Loki: down
 * to the records and their values) walks those levels with the checked reader below instead of
 * calling otlp_wire_check first and walking again. Each otlp_wire_checked_next checks the field
 * it returns exactly as otlp_wire_check would, and checks in full, before returning it, every
 * message field the caller does not walk itself. A request whose every level was read to its
 * end (every call returned 0) is one otlp_wire_check would be sure of, and the other way round
 * (the tests prove both on the same cases). Descriptors are compiled once into tables (field
 * number -> wire type, singular bit, oneof, id length, child), which also makes the check
 * cheaper than asking the descriptor for every field. */

struct otlp_wire_schema; /* one descriptor, compiled; process-wide, never freed */

/* One message being read and checked. */
struct otlp_wire_message {
    struct otlp_wire_reader r;
    const struct otlp_wire_schema *schema;
    uint64_t seen;   /* singular fields met, by their bit in the schema */
    uint32_t oneofs; /* oneofs met, by their slot in the schema */
    int depth;
};

/* The bit of message field `number` in otlp_wire_checked_next's `walk` (numbers 1..63). */
#define OTLP_WIRE_WALK(number) ((uint64_t)1 << (number))

/* Starts reading `buf` as a `desc` message at `depth` (1 for a whole request). False ("not
 * sure") when the depth is past the check's limit or `desc` is one the check does not read. */
bool otlp_wire_open(struct otlp_wire_message *m, const ProtobufCMessageDescriptor *desc,
                    const uint8_t *buf, size_t len, int depth);
/* Starts reading the message field `f` that otlp_wire_checked_next just returned from `parent`
 * (its number in `walk`). False ("not sure") as otlp_wire_open, or when `f` is no message. */
bool otlp_wire_open_field(struct otlp_wire_message *child, const struct otlp_wire_message *parent,
                          const struct otlp_wire_field *f);
/* The next field of `m`, checked. `walk` holds OTLP_WIRE_WALK(n) of every message field n the
 * caller reads itself with otlp_wire_open_field, to its end; any other message field is checked
 * in full here. Unknown fields are returned too (the caller skips them). Returns 1 (a field in
 * *f), 0 (the end of the message) or -1 (not sure, as otlp_wire_check's false); after -1 the
 * caller stops reading. */
int otlp_wire_checked_next(struct otlp_wire_message *m, uint64_t walk, struct otlp_wire_field *f);

#endif
