/*
 * otlp_wire.c - the in-place protobuf reader and the "would payload_decode accept this" check of
 * otlp_wire.h. Every rule below errs towards "not sure": the caller then decodes in full.
 */
#include "otlp_wire.h"

#include <string.h>

/* payload_decode refuses nesting deeper than 128 (PDATA_MAX_DEPTH in common/pdata.c); OTLP
 * itself nests about 8 deep, so anything near the limit goes the full way. */
#define CHECK_MAX_DEPTH 100
/* Oneofs one message may hold: OTLP messages have at most one. */
#define ONEOFS_MAX 4

/* The wire type protobuf-c reads a non-packed field of this type from. */
static enum otlp_wire_type wire_type_of(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return OTLP_WIRE_FIXED64;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT: return OTLP_WIRE_FIXED32;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE: return OTLP_WIRE_LEN;
    default: return OTLP_WIRE_VARINT; /* the integer types, bool, enum */
    }
}

/* The length payload_decode requires of a non-empty id field (bad_id_field), or 0. */
static size_t id_length(const char *field_name)
{
    if (strcmp(field_name, "trace_id") == 0)
        return 16;
    if (strcmp(field_name, "span_id") == 0 || strcmp(field_name, "parent_span_id") == 0)
        return 8;
    return 0;
}

/* The descriptor of field `number`, or NULL. protobuf-c sorts fields by number and OTLP numbers
 * them nearly densely, so looking down from the number's own index finds it in a step or two;
 * protobuf_c_message_descriptor_get_field does the general case. */
static const ProtobufCFieldDescriptor *field_of(const ProtobufCMessageDescriptor *desc,
                                                uint32_t number)
{
    size_t i = number < desc->n_fields ? number : desc->n_fields;
    for (size_t steps = 0; i-- > 0 && steps < 4; steps++) {
        if (desc->fields[i].id == number)
            return &desc->fields[i];
        if (desc->fields[i].id < number)
            return NULL;
    }
    return protobuf_c_message_descriptor_get_field(desc, number);
}

static bool is_otlp_message(const ProtobufCMessageDescriptor *desc)
{
    return desc->package_name && strncmp(desc->package_name, "opentelemetry.proto.", 20) == 0;
}

bool otlp_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                     int depth)
{
    if (depth > CHECK_MAX_DEPTH || desc->n_fields > 64)
        return false;
    uint64_t seen = 0; /* singular fields met, by index in desc->fields */
    unsigned oneofs[ONEOFS_MAX];
    size_t n_oneofs = 0;
    struct otlp_wire_reader r;
    struct otlp_wire_field f;
    otlp_wire_init(&r, buf, len);
    int rc;
    while ((rc = otlp_wire_next(&r, &f)) == 1) {
        const ProtobufCFieldDescriptor *fd = field_of(desc, f.number);
        if (!fd)
            continue; /* unknown: protobuf-c keeps it aside, nothing reads it */
        if (f.type != wire_type_of(fd->type))
            return false; /* a mismatch fails protobuf-c; a packed field is not read here */
        if (fd->label != PROTOBUF_C_LABEL_REPEATED) {
            uint64_t bit = (uint64_t)1 << (fd - desc->fields);
            if (seen & bit)
                return false;
            seen |= bit;
            if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                for (size_t i = 0; i < n_oneofs; i++)
                    if (oneofs[i] == fd->quantifier_offset)
                        return false; /* a second member of the same oneof replaces the first */
                if (n_oneofs == ONEOFS_MAX)
                    return false;
                oneofs[n_oneofs++] = fd->quantifier_offset;
            }
        }
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE &&
            !otlp_wire_check(fd->descriptor, f.data, f.len, depth + 1))
            return false;
        if (fd->type == PROTOBUF_C_TYPE_BYTES && fd->label != PROTOBUF_C_LABEL_REPEATED &&
            is_otlp_message(desc)) {
            size_t want = id_length(fd->name);
            if (want && f.len && f.len != want)
                return false;
        }
    }
    return rc == 0;
}
