/*
 * pdata_wire.c - protobuf encoding of any protobuf-c message in two passes (see pdata_wire.h).
 *
 * Pass 1 (measure) walks the tree once, depth-first pre-order, and appends to a side array the
 * packed size of every sub-message (a slot reserved when the message is entered, filled when it
 * is left), the strlen of every string written and the payload length of every packed repeated
 * field, in visiting order. Pass 2 (write) walks the same fields in the same order, takes those
 * numbers from the array instead of recomputing them, and writes into one buffer of exactly the
 * measured size.
 *
 * Both passes read a "plan" per message type rather than the descriptor itself: built on first
 * use within a call, one step per field with the presence rule decided once (label, oneof,
 * pointer type), the tag already encoded, and the members of a oneof grouped behind one step
 * that reads the case once. Per field that leaves one switch and a load or two, which is what
 * the encoder's time is spent on (OTLP trees are many small messages of a few fields each).
 *
 * The bytes are protobuf-c 1.4.1's (protobuf-c/protobuf-c.c, protobuf_c_message_get_packed_size
 * and protobuf_c_message_pack), including its quirks, on purpose, so that the two encoders are
 * interchangeable and tests can compare them byte for byte:
 * - fields in the order of the descriptor's `fields` array, then msg->unknown_fields as stored;
 * - REQUIRED is always written; a NULL string is written as "" and a NULL message as an empty one;
 * - OPTIONAL strings and messages are written when the pointer is neither NULL nor the field's
 *   default_value (the has_ flag is not looked at); other OPTIONAL types when has_ is set;
 * - a oneof member (OPTIONAL or NONE with FLAG_ONEOF; proto3 `optional` is a synthetic oneof) is
 *   written when the case equals its number, even when the value is zero, "" or empty bytes;
 *   only a NULL (or default_value) string or message pointer suppresses it;
 * - NONE (proto3 implicit presence) is omitted when zero-ish: 0, false, a NULL or "" string,
 *   bytes of length 0, a NULL message, and also -0.0 (compared with == 0), while NaN is written;
 * - int32 and enum values that are negative take ten bytes (sign-extended to 64 bits);
 * - bool is written as 0 or 1 whatever non-zero value the int holds;
 * - REPEATED with FLAG_PACKED is one length-delimited field (nothing when empty).
 *
 * Deliberately not done: no streaming into a ProtobufCBuffer; no checks of the descriptor; plans
 * are not kept between calls (building them costs well under a microsecond for an OTLP request,
 * and nothing is left to free or to share between threads). Trees that protobuf-c itself would
 * crash on (a NULL inside a repeated string or message array) are written as if the element were
 * "" or an empty message. FLAG_PACKED on a string, bytes or message field is ignored.
 */
#include "pdata_wire.h"

#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pdata.h"

enum wire_type { WIRE_VARINT = 0, WIRE_64BIT = 1, WIRE_LENGTH_PREFIXED = 2, WIRE_32BIT = 5 };

static const uint8_t wire_type_of[] = {
    [PROTOBUF_C_TYPE_INT32] = WIRE_VARINT,
    [PROTOBUF_C_TYPE_SINT32] = WIRE_VARINT,
    [PROTOBUF_C_TYPE_SFIXED32] = WIRE_32BIT,
    [PROTOBUF_C_TYPE_INT64] = WIRE_VARINT,
    [PROTOBUF_C_TYPE_SINT64] = WIRE_VARINT,
    [PROTOBUF_C_TYPE_SFIXED64] = WIRE_64BIT,
    [PROTOBUF_C_TYPE_UINT32] = WIRE_VARINT,
    [PROTOBUF_C_TYPE_FIXED32] = WIRE_32BIT,
    [PROTOBUF_C_TYPE_UINT64] = WIRE_VARINT,
    [PROTOBUF_C_TYPE_FIXED64] = WIRE_64BIT,
    [PROTOBUF_C_TYPE_FLOAT] = WIRE_32BIT,
    [PROTOBUF_C_TYPE_DOUBLE] = WIRE_64BIT,
    [PROTOBUF_C_TYPE_BOOL] = WIRE_VARINT,
    [PROTOBUF_C_TYPE_ENUM] = WIRE_VARINT,
    [PROTOBUF_C_TYPE_STRING] = WIRE_LENGTH_PREFIXED,
    [PROTOBUF_C_TYPE_BYTES] = WIRE_LENGTH_PREFIXED,
    [PROTOBUF_C_TYPE_MESSAGE] = WIRE_LENGTH_PREFIXED,
};

/* ---- plans ---- */

/* When a field is written; protobuf-c's order of checks, decided once per field. */
enum rule {
    RULE_REQUIRED,         /* always */
    RULE_OPTIONAL_POINTER, /* string or message: pointer neither NULL nor default_value */
    RULE_OPTIONAL_HAS,     /* other types: the has_ flag */
    RULE_IMPLICIT,         /* proto3 NONE: unless zero-ish */
    RULE_ONEOF,            /* a group: `members` steps follow, the one whose id is the case */
    RULE_REPEATED,
    RULE_PACKED,
};

struct plan;

struct step {
    uint8_t rule;     /* enum rule */
    uint8_t type;     /* ProtobufCType */
    uint8_t tag_size; /* bytes of `tag` as a varint */
    uint8_t members;  /* RULE_ONEOF: how many member steps follow */
    uint32_t id;
    uint32_t offset;
    uint32_t quantifier_offset;
    uint64_t tag; /* number << 3 | wire type */
    const void *default_value;
    struct plan *child; /* MESSAGE: the plan of the last sub-message seen here, or NULL */
};

struct plan {
    const ProtobufCMessageDescriptor *desc;
    struct plan *next; /* the call's list of plans */
    size_t n_steps;
    struct step steps[];
};

/* Plans live in an arena that starts inside the encoder (on the caller's stack) and continues
 * in malloc'd chunks; a call over OTLP logs or traces usually needs no chunk at all. */
#define ARENA_INLINE 4096
#define ARENA_CHUNK 16384

struct arena_chunk {
    struct arena_chunk *next;
    alignas(max_align_t) unsigned char data[];
};

/* ---- the side array of pass 1 ----
 *
 * No explicit maximum: every entry stands for at least two bytes of output (a tag and a length),
 * so the array is bounded by the size of the encoding, which is bounded by the tree in memory. */

#define SIZES_INLINE 256

struct encoder {
    size_t *sizes; /* sizes_inline or malloc'd */
    size_t n_sizes;
    size_t cap_sizes;
    bool failed; /* sticky: an allocation failed; the walk stops early */
    struct plan *plans;
    unsigned char *arena_next;
    unsigned char *arena_end;
    struct arena_chunk *chunks; /* malloc'd, freed by encoder_release */
    size_t sizes_inline[SIZES_INLINE];
    alignas(max_align_t) unsigned char arena_inline[ARENA_INLINE];
};

static void *arena_alloc(struct encoder *e, size_t size)
{
    size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    if ((size_t)(e->arena_end - e->arena_next) < size) {
        size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        struct arena_chunk *chunk = malloc(sizeof(*chunk) + cap);
        if (!chunk)
            return NULL;
        chunk->next = e->chunks;
        e->chunks = chunk;
        e->arena_next = chunk->data;
        e->arena_end = chunk->data + cap;
    }
    void *p = e->arena_next;
    e->arena_next += size;
    return p;
}

static inline size_t varint_size(uint64_t v)
{
    /* Significant bits rounded up to 7-bit groups; v | 1 so that zero takes one byte. */
    unsigned bits = 64u - (unsigned)__builtin_clzll(v | 1);
    return (bits * 9 + 64) >> 6;
}

static bool is_pointer_type(ProtobufCType type)
{
    return type == PROTOBUF_C_TYPE_STRING || type == PROTOBUF_C_TYPE_MESSAGE;
}

static void step_init(struct step *step, const ProtobufCFieldDescriptor *field, enum rule rule)
{
    step->rule = (uint8_t)rule;
    step->type = (uint8_t)field->type;
    step->members = 0;
    step->id = field->id;
    step->offset = field->offset;
    step->quantifier_offset = field->quantifier_offset;
    step->tag = ((uint64_t)field->id << 3) | wire_type_of[field->type];
    if (rule == RULE_PACKED)
        step->tag = ((uint64_t)field->id << 3) | WIRE_LENGTH_PREFIXED;
    step->tag_size = (uint8_t)varint_size(step->tag);
    step->default_value = field->default_value;
    step->child = NULL;
}

static bool is_oneof_member(const ProtobufCFieldDescriptor *field)
{
    return (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
           (field->label == PROTOBUF_C_LABEL_OPTIONAL || field->label == PROTOBUF_C_LABEL_NONE);
}

/* The plan of `desc`, built on first use. NULL when out of memory. */
static struct plan *plan_of(struct encoder *e, const ProtobufCMessageDescriptor *desc)
{
    for (struct plan *p = e->plans; p; p = p->next)
        if (p->desc == desc)
            return p;
    /* At most one group header per member, so twice the fields is enough. */
    struct plan *plan = arena_alloc(e, sizeof(*plan) + 2 * desc->n_fields * sizeof(struct step));
    if (!plan)
        return NULL;
    plan->desc = desc;
    size_t n = 0;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        enum rule rule;
        if (field->label == PROTOBUF_C_LABEL_REQUIRED) {
            rule = RULE_REQUIRED;
        } else if (is_oneof_member(field)) {
            /* Consecutive members of one oneof share one header; only the one whose number
             * is the case can be written, so grouping them keeps the field order. */
            struct step *header = &plan->steps[n++];
            step_init(header, field, RULE_ONEOF);
            unsigned next = i;
            for (; next < desc->n_fields && header->members < UINT8_MAX; next++) {
                const ProtobufCFieldDescriptor *member = &desc->fields[next];
                if (!is_oneof_member(member) ||
                    member->quantifier_offset != field->quantifier_offset)
                    break;
                step_init(&plan->steps[n++], member, RULE_REQUIRED);
                header->members++;
            }
            i = next - 1;
            continue;
        } else if (field->label == PROTOBUF_C_LABEL_OPTIONAL) {
            rule = is_pointer_type(field->type) ? RULE_OPTIONAL_POINTER : RULE_OPTIONAL_HAS;
        } else if (field->label == PROTOBUF_C_LABEL_NONE) {
            rule = RULE_IMPLICIT;
        } else if ((field->flags & PROTOBUF_C_FIELD_FLAG_PACKED) && !is_pointer_type(field->type) &&
                   field->type != PROTOBUF_C_TYPE_BYTES) {
            rule = RULE_PACKED;
        } else {
            rule = RULE_REPEATED;
        }
        step_init(&plan->steps[n++], field, rule);
    }
    plan->n_steps = n;
    plan->next = e->plans;
    e->plans = plan;
    return plan;
}

/* The plan for sub-message `sub` found at `step`, remembered there for the next time. */
static inline struct plan *child_plan(struct encoder *e, struct step *step,
                                      const ProtobufCMessage *sub)
{
    struct plan *p = step->child;
    if (p && p->desc == sub->descriptor)
        return p;
    p = plan_of(e, sub->descriptor);
    if (!p)
        e->failed = true;
    step->child = p;
    return p;
}

/* ---- scalar encodings shared by both passes ---- */

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint8_t *put_tag(uint8_t *p, const struct step *step)
{
    if (step->tag_size == 1) {
        *p = (uint8_t)step->tag;
        return p + 1;
    }
    return put_varint(p, step->tag);
}

static inline uint8_t *put_fixed32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    return p + 4;
}

static inline uint8_t *put_fixed64(uint8_t *p, uint64_t v)
{
    put_fixed32(p, (uint32_t)v);
    return put_fixed32(p + 4, (uint32_t)(v >> 32));
}

/* The varint a varint-typed value is written as; zero exactly when the value is zero-ish. */
static inline uint64_t varint_value(ProtobufCType type, const void *member)
{
    switch (type) {
    case PROTOBUF_C_TYPE_SINT32: { /* zigzag: 0, -1, 1, -2 ... become 0, 1, 2, 3 ... */
        uint32_t v = *(const uint32_t *)member;
        uint32_t sign = 0u - (v >> 31);
        return (v << 1) ^ sign;
    }
    case PROTOBUF_C_TYPE_SINT64: {
        uint64_t v = *(const uint64_t *)member;
        uint64_t sign = 0u - (v >> 63);
        return (v << 1) ^ sign;
    }
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_ENUM: {
        int64_t v = *(const int32_t *)member; /* negative: sign-extended, ten bytes */
        return (uint64_t)v;
    }
    case PROTOBUF_C_TYPE_UINT32: return *(const uint32_t *)member;
    case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)member != 0;
    default: return *(const uint64_t *)member; /* INT64, UINT64 */
    }
}

/* Whether a REQUIRED or OPTIONAL field is written. */
static inline bool is_written(const struct step *step, const uint8_t *base, const void *member)
{
    switch (step->rule) {
    case RULE_OPTIONAL_POINTER: {
        const void *ptr = *(const void *const *)member;
        return ptr != NULL && ptr != step->default_value;
    }
    case RULE_OPTIONAL_HAS: return *(const protobuf_c_boolean *)(base + step->quantifier_offset);
    default: return true; /* RULE_REQUIRED */
    }
}

/* Which member of the oneof group headed by `header` is written: its distance from the header
 * (1 for the first member), or 0 for none. */
static inline size_t oneof_written(const struct step *header, const uint8_t *base)
{
    uint32_t which = *(const uint32_t *)(base + header->quantifier_offset);
    for (size_t i = 1; i <= header->members; i++) {
        const struct step *member = header + i;
        if (member->id != which)
            continue;
        if (!is_pointer_type(member->type))
            return i;
        const void *ptr = *(const void *const *)(base + member->offset);
        return ptr != NULL && ptr != member->default_value ? i : 0;
    }
    return 0;
}

/* ---- pass 1: measure ---- */

/* Appends `value` and returns its index. After a failed growth returns 0, a scratch index that
 * stays writable and whose content no longer matters: the encode fails. */
static size_t sizes_append_slow(struct encoder *e, size_t value)
{
    if (e->failed || e->cap_sizes > SIZE_MAX / 2 / sizeof(size_t))
        goto fail;
    size_t cap = 2 * e->cap_sizes;
    size_t *bigger;
    if (e->sizes == e->sizes_inline) {
        bigger = malloc(cap * sizeof(size_t));
        if (bigger)
            memcpy(bigger, e->sizes, e->n_sizes * sizeof(size_t));
    } else {
        bigger = realloc(e->sizes, cap * sizeof(size_t));
    }
    if (!bigger)
        goto fail;
    e->sizes = bigger;
    e->cap_sizes = cap;
    e->sizes[e->n_sizes] = value;
    return e->n_sizes++;
fail:
    e->failed = true;
    return 0;
}

static inline size_t sizes_append(struct encoder *e, size_t value)
{
    if (e->n_sizes == e->cap_sizes)
        return sizes_append_slow(e, value);
    e->sizes[e->n_sizes] = value;
    return e->n_sizes++;
}

static size_t measure_message(struct encoder *e, struct plan *plan, const ProtobufCMessage *msg);

/* Bytes of one value without its tag; records string lengths and sub-message sizes. */
static inline size_t measure_value(struct encoder *e, struct step *step, const void *member)
{
    switch (step->type) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT: return 4;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return 8;
    case PROTOBUF_C_TYPE_STRING: {
        const char *str = *(const char *const *)member;
        size_t len = str ? strlen(str) : 0;
        sizes_append(e, len);
        return varint_size(len) + len;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        size_t len = ((const ProtobufCBinaryData *)member)->len;
        return varint_size(len) + len;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)member;
        size_t len = sub ? measure_message(e, child_plan(e, step, sub), sub) : 0;
        return varint_size(len) + len;
    }
    default: return varint_size(varint_value(step->type, member));
    }
}

/* Bytes of a proto3 implicit-presence field, tag included, or 0 when it is zero-ish and so not
 * written. That is protobuf-c's field_is_zeroish, checked in the same switch that sizes the
 * value: 0, false, NULL or "", bytes of length 0, a NULL message; -0.0 compares equal to 0. */
static inline size_t measure_implicit(struct encoder *e, struct step *step, const void *member)
{
    switch (step->type) {
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)member == 0 ? 0 : step->tag_size + 4u;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)member == 0 ? 0 : step->tag_size + 8u;
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32: return *(const uint32_t *)member == 0 ? 0 : step->tag_size + 4u;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64: return *(const uint64_t *)member == 0 ? 0 : step->tag_size + 8u;
    case PROTOBUF_C_TYPE_STRING: {
        const char *str = *(const char *const *)member;
        if (str == NULL || str[0] == '\0')
            return 0;
        size_t len = strlen(str);
        sizes_append(e, len);
        return step->tag_size + varint_size(len) + len;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        size_t len = ((const ProtobufCBinaryData *)member)->len;
        return len == 0 ? 0 : step->tag_size + varint_size(len) + len;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)member;
        if (sub == NULL)
            return 0;
        size_t len = measure_message(e, child_plan(e, step, sub), sub);
        return step->tag_size + varint_size(len) + len;
    }
    default: {
        uint64_t v = varint_value(step->type, member); /* zero exactly when the value is */
        return v == 0 ? 0 : step->tag_size + varint_size(v);
    }
    }
}

static size_t measure_repeated(struct encoder *e, struct step *step, size_t count,
                               const uint8_t *array)
{
    size_t stride = pdata_type_size(step->type);
    if (step->rule == RULE_PACKED) {
        size_t payload;
        if (wire_type_of[step->type] == WIRE_VARINT) {
            payload = 0;
            for (size_t i = 0; i < count; i++)
                payload += varint_size(varint_value(step->type, array + i * stride));
        } else {
            payload = count * stride; /* 4 or 8 bytes each, as stored */
        }
        sizes_append(e, payload);
        return step->tag_size + varint_size(payload) + payload;
    }
    size_t total = step->tag_size * count;
    if (step->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *const *subs = (const ProtobufCMessage *const *)array;
        for (size_t i = 0; i < count; i++) {
            size_t len = subs[i] ? measure_message(e, child_plan(e, step, subs[i]), subs[i]) : 0;
            total += varint_size(len) + len;
        }
    } else {
        for (size_t i = 0; i < count; i++)
            total += measure_value(e, step, array + i * stride);
    }
    return total;
}

/* Packed size of `msg`, recorded in a slot reserved before its contents (pre-order). A NULL
 * plan (out of memory) measures nothing. */
static size_t measure_message(struct encoder *e, struct plan *plan, const ProtobufCMessage *msg)
{
    if (!plan || e->failed)
        return 0;
    const uint8_t *base = (const uint8_t *)msg;
    size_t slot = sizes_append(e, 0);
    size_t total = 0;
    struct step *step = plan->steps;
    struct step *end = step + plan->n_steps;
    for (; step < end; step++) {
        const void *member = base + step->offset;
        switch (step->rule) {
        case RULE_REPEATED:
        case RULE_PACKED: {
            size_t count = *(const size_t *)(base + step->quantifier_offset);
            if (count > 0)
                total += measure_repeated(e, step, count, *(const uint8_t *const *)member);
            break;
        }
        case RULE_ONEOF: {
            size_t which = oneof_written(step, base);
            if (which > 0) {
                struct step *written = step + which;
                total += written->tag_size + measure_value(e, written, base + written->offset);
            }
            step += step->members;
            break;
        }
        case RULE_IMPLICIT: total += measure_implicit(e, step, member); break;
        default:
            if (is_written(step, base, member))
                total += step->tag_size + measure_value(e, step, member);
            break;
        }
    }
    for (size_t i = 0; i < msg->n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *unknown = &msg->unknown_fields[i];
        total += varint_size((uint64_t)unknown->tag << 3) + unknown->len;
    }
    e->sizes[slot] = total;
    return total;
}

/* ---- pass 2: write ----
 *
 * The output position and the read position in the side array travel together by value (two
 * registers) rather than through a pointer: stores of output bytes may alias anything, and a
 * cursor kept in memory would be reloaded after every byte. Every plan needed was built by pass 1
 * and is found through the steps' `child` pointers (or, should one step see sub-messages of
 * several types, in the encoder's list). */

struct cursor {
    uint8_t *out;
    const size_t *next; /* next recorded number to consume */
};

static struct cursor write_message(struct cursor c, const struct encoder *e,
                                   const struct plan *plan, const ProtobufCMessage *msg);

/* Pass 1 left the plan of every sub-message it met in the step, or built it for the list. */
static inline const struct plan *plan_written(const struct step *step, const struct encoder *e,
                                              const ProtobufCMessage *sub)
{
    const struct plan *p = step->child;
    if (p && p->desc == sub->descriptor)
        return p;
    for (p = e->plans; p->desc != sub->descriptor; p = p->next)
        ;
    return p;
}

static inline struct cursor write_value(struct cursor c, const struct encoder *e,
                                        const struct step *step, const void *member)
{
    switch (step->type) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT: c.out = put_fixed32(c.out, *(const uint32_t *)member); return c;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: c.out = put_fixed64(c.out, *(const uint64_t *)member); return c;
    case PROTOBUF_C_TYPE_STRING: {
        size_t len = *c.next++;
        c.out = put_varint(c.out, len);
        if (len > 0)
            memcpy(c.out, *(const char *const *)member, len);
        c.out += len;
        return c;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bytes = member;
        c.out = put_varint(c.out, bytes->len);
        if (bytes->len > 0)
            memcpy(c.out, bytes->data, bytes->len);
        c.out += bytes->len;
        return c;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)member;
        if (!sub) {
            *c.out++ = 0;
            return c;
        }
        c.out = put_varint(c.out, *c.next++);
        return write_message(c, e, plan_written(step, e, sub), sub);
    }
    default: c.out = put_varint(c.out, varint_value(step->type, member)); return c;
    }
}

/* Writes a proto3 implicit-presence field unless it is zero-ish (see measure_implicit). */
static inline struct cursor write_implicit(struct cursor c, const struct encoder *e,
                                           const struct step *step, const void *member)
{
    switch (step->type) {
    case PROTOBUF_C_TYPE_FLOAT:
        if (*(const float *)member == 0)
            return c;
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (*(const double *)member == 0)
            return c;
        break;
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (*(const uint32_t *)member == 0)
            return c;
        break;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (*(const uint64_t *)member == 0)
            return c;
        break;
    case PROTOBUF_C_TYPE_STRING: {
        const char *str = *(const char *const *)member;
        if (str == NULL || str[0] == '\0')
            return c;
        break;
    }
    case PROTOBUF_C_TYPE_BYTES:
        if (((const ProtobufCBinaryData *)member)->len == 0)
            return c;
        break;
    case PROTOBUF_C_TYPE_MESSAGE:
        if (*(const void *const *)member == NULL)
            return c;
        break;
    default: {
        uint64_t v = varint_value(step->type, member);
        if (v == 0)
            return c;
        c.out = put_tag(c.out, step);
        c.out = put_varint(c.out, v);
        return c;
    }
    }
    c.out = put_tag(c.out, step);
    return write_value(c, e, step, member);
}

static struct cursor write_repeated(struct cursor c, const struct encoder *e,
                                    const struct step *step, size_t count, const uint8_t *array)
{
    size_t stride = pdata_type_size(step->type);
    if (step->rule == RULE_PACKED) {
        c.out = put_tag(c.out, step);
        c.out = put_varint(c.out, *c.next++);
        for (size_t i = 0; i < count; i++)
            c = write_value(c, e, step, array + i * stride);
        return c;
    }
    for (size_t i = 0; i < count; i++) {
        c.out = put_tag(c.out, step);
        c = write_value(c, e, step, array + i * stride);
    }
    return c;
}

/* Writes the fields of `msg` (its own size was consumed by the caller, for the prefix). */
static struct cursor write_message(struct cursor c, const struct encoder *e,
                                   const struct plan *plan, const ProtobufCMessage *msg)
{
    const uint8_t *base = (const uint8_t *)msg;
    const struct step *step = plan->steps;
    const struct step *end = step + plan->n_steps;
    for (; step < end; step++) {
        const void *member = base + step->offset;
        switch (step->rule) {
        case RULE_REPEATED:
        case RULE_PACKED: {
            size_t count = *(const size_t *)(base + step->quantifier_offset);
            if (count > 0)
                c = write_repeated(c, e, step, count, *(const uint8_t *const *)member);
            break;
        }
        case RULE_ONEOF: {
            size_t which = oneof_written(step, base);
            if (which > 0) {
                const struct step *written = step + which;
                c.out = put_tag(c.out, written);
                c = write_value(c, e, written, base + written->offset);
            }
            step += step->members;
            break;
        }
        case RULE_IMPLICIT: c = write_implicit(c, e, step, member); break;
        default:
            if (is_written(step, base, member)) {
                c.out = put_tag(c.out, step);
                c = write_value(c, e, step, member);
            }
            break;
        }
    }
    for (size_t i = 0; i < msg->n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *unknown = &msg->unknown_fields[i];
        c.out = put_varint(c.out, ((uint64_t)unknown->tag << 3) | unknown->wire_type);
        if (unknown->len > 0)
            memcpy(c.out, unknown->data, unknown->len);
        c.out += unknown->len;
    }
    return c;
}

static void encoder_release(struct encoder *e)
{
    if (e->sizes != e->sizes_inline)
        free(e->sizes);
    while (e->chunks) {
        struct arena_chunk *next = e->chunks->next;
        free(e->chunks);
        e->chunks = next;
    }
}

int pdata_wire_encode(const ProtobufCMessage *msg, uint8_t **out, size_t *out_len)
{
    int rc = -ENOMEM;
    uint8_t *buf = NULL;
    struct encoder e;
    e.sizes = e.sizes_inline;
    e.n_sizes = 0;
    e.cap_sizes = SIZES_INLINE;
    e.failed = false;
    e.plans = NULL;
    e.arena_next = e.arena_inline;
    e.arena_end = e.arena_inline + ARENA_INLINE;
    e.chunks = NULL;

    struct plan *plan = plan_of(&e, msg->descriptor);
    if (!plan)
        goto fail;
    size_t total = measure_message(&e, plan, msg);
    if (e.failed)
        goto fail;
    /* malloc(0) may return NULL; an empty message still gets a real buffer. */
    buf = malloc(total > 0 ? total : 1);
    if (!buf)
        goto fail;
    /* Entry 0 is the root's own size, which has no prefix to write. */
    struct cursor end = write_message((struct cursor){buf, e.sizes + 1}, &e, plan, msg);
    assert(end.out == buf + total && end.next == e.sizes + e.n_sizes);
    (void)end;
    *out = buf;
    *out_len = total;
    buf = NULL;
    rc = 0;
fail:
    free(buf);
    encoder_release(&e);
    return rc;
}
