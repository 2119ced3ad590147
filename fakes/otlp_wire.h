/*
 * otlp_wire.h - reading OTLP protobuf bytes in place, for the fakes' ingest fast paths.
 *
 * A fake must answer every request exactly as its backend does, but for a well-formed request
 * the answer needs only a few fields per item (Tempo: the ids; Loki: timestamps and sizes).
 * Decoding the whole tree with protobuf-c to read them cost more CPU than the collector spent
 * producing the request (profile in loki.c's header). So a fake first asks otlp_wire_check
 * whether payload_decode would surely accept the bytes, then reads what it needs with the
 * reader below; anything unusual sends it down the full path (payload_decode and the tree),
 * which gives every error its exact words. The check may say "not sure" to bytes that
 * payload_decode accepts (a packed repeated field, a field sent twice, a 6-byte tag); it never
 * says "sure" to bytes that payload_decode refuses.
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
        for (size_t i = 0; i < n; i++)
            f->value |= (uint64_t)r->pos[i] << (8 * i);
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

#endif
