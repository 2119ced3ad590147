/*
 * otlp_wire.c - the in-place protobuf reader and the "would payload_decode accept this" check of
 * otlp_wire.h. Every rule below errs towards "not sure": the caller then decodes in full.
 *
 * The check reads each descriptor through a schema compiled from it once (field number ->
 * what the check needs), kept in static tables for the life of the process: nothing to free,
 * nothing that can run out of memory at ingest. A descriptor the tables cannot hold (field
 * numbers past SCHEMA_MAX_NUMBER, more than 64 fields, the tables full) makes the check say
 * "not sure" for that message, which only sends its requests down the full path.
 */
#include "otlp_wire.h"

#include <pthread.h>
#include <string.h>

/* payload_decode refuses nesting deeper than 128 (PDATA_MAX_DEPTH in common/pdata.c); OTLP
 * itself nests about 8 deep, so anything near the limit goes the full way. */
#define CHECK_MAX_DEPTH 100
/* OTLP numbers its fields densely; its largest number is below 32. */
#define SCHEMA_MAX_NUMBER 63
/* Room for every message OTLP's requests reach (about 40 for all four signals), and their
 * fields: a table row per number up to the largest. */
#define SCHEMAS_MAX 96
#define SCHEMA_FIELDS_MAX 2048

enum {
    FIELD_KNOWN = 1,    /* a field of the descriptor (else skipped, as protobuf-c skips it) */
    FIELD_SINGULAR = 2, /* may appear once */
    FIELD_ONEOF = 4,    /* a member of oneof `oneof` */
    FIELD_MESSAGE = 8,  /* a message: `child` */
};

struct schema_field {
    uint8_t flags;
    uint8_t wire;   /* the wire type protobuf-c reads it from (non-packed) */
    uint8_t bit;    /* the singular field's bit in otlp_wire_message.seen */
    uint8_t oneof;  /* the oneof's slot in otlp_wire_message.oneofs */
    uint8_t id_len; /* the length payload_decode requires of a non-empty id, or 0 */
    const struct otlp_wire_schema *child;
};

struct otlp_wire_schema {
    const ProtobufCMessageDescriptor *desc;
    bool usable;                 /* false: the check is never sure of this message */
    uint32_t max_number;         /* fields[0..max_number] */
    struct schema_field *fields; /* by field number */
};

static pthread_mutex_t schemas_lock = PTHREAD_MUTEX_INITIALIZER;
static struct otlp_wire_schema schemas[SCHEMAS_MAX];
static size_t schemas_count;
static struct schema_field schema_fields[SCHEMA_FIELDS_MAX];
static size_t schema_fields_used;

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

static bool is_otlp_message(const ProtobufCMessageDescriptor *desc)
{
    return desc->package_name && strncmp(desc->package_name, "opentelemetry.proto.", 20) == 0;
}

/* The length payload_decode requires of a non-empty singular bytes field of an OTLP message
 * (bad_id_field), or 0. */
static uint8_t id_length(const ProtobufCMessageDescriptor *desc, const ProtobufCFieldDescriptor *fd)
{
    if (fd->type != PROTOBUF_C_TYPE_BYTES || fd->label == PROTOBUF_C_LABEL_REPEATED ||
        !is_otlp_message(desc))
        return 0;
    if (strcmp(fd->name, "trace_id") == 0)
        return 16;
    if (strcmp(fd->name, "span_id") == 0 || strcmp(fd->name, "parent_span_id") == 0)
        return 8;
    return 0;
}

/* The schema of `desc`, compiled with every message it reaches on first use. Called with
 * schemas_lock held. NULL when the tables are full (then nothing was added). */
static const struct otlp_wire_schema *compile(const ProtobufCMessageDescriptor *desc)
{
    for (size_t i = 0; i < schemas_count; i++)
        if (schemas[i].desc == desc)
            return &schemas[i];
    if (schemas_count == SCHEMAS_MAX)
        return NULL;
    /* Registered before its children, so that a cycle (AnyValue, ArrayValue, KeyValue) ends. */
    struct otlp_wire_schema *s = &schemas[schemas_count++];
    *s = (struct otlp_wire_schema){.desc = desc};
    uint32_t max_number = 0;
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (desc->fields[i].id > max_number)
            max_number = desc->fields[i].id;
    if (desc->n_fields > 64 || max_number > SCHEMA_MAX_NUMBER ||
        SCHEMA_FIELDS_MAX - schema_fields_used < max_number + 1)
        return s; /* not usable: the check says "not sure" */
    s->fields = &schema_fields[schema_fields_used];
    schema_fields_used += max_number + 1;
    s->max_number = max_number;
    memset(s->fields, 0, (max_number + 1) * sizeof(*s->fields));
    unsigned oneof_offsets[32];
    unsigned n_oneofs = 0;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &desc->fields[i];
        struct schema_field *f = &s->fields[fd->id];
        f->flags = FIELD_KNOWN;
        f->wire = (uint8_t)wire_type_of(fd->type);
        f->id_len = id_length(desc, fd);
        if (fd->label != PROTOBUF_C_LABEL_REPEATED) {
            f->flags |= FIELD_SINGULAR;
            f->bit = (uint8_t)i;
        }
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            unsigned slot = 0;
            while (slot < n_oneofs && oneof_offsets[slot] != fd->quantifier_offset)
                slot++;
            if (slot == 32)
                return s;
            if (slot == n_oneofs)
                oneof_offsets[n_oneofs++] = fd->quantifier_offset;
            f->flags |= FIELD_ONEOF;
            f->oneof = (uint8_t)slot;
        }
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
            f->flags |= FIELD_MESSAGE;
            f->child = compile(fd->descriptor);
            if (!f->child)
                return s;
        }
    }
    s->usable = true;
    return s;
}

/* The compiled schema of `desc`; the lock also publishes the tables to the calling thread. */
static const struct otlp_wire_schema *schema_of(const ProtobufCMessageDescriptor *desc)
{
    pthread_mutex_lock(&schemas_lock);
    const struct otlp_wire_schema *s = compile(desc);
    pthread_mutex_unlock(&schemas_lock);
    return s;
}

static bool open_schema(struct otlp_wire_message *m, const struct otlp_wire_schema *schema,
                        const uint8_t *buf, size_t len, int depth)
{
    if (!schema || !schema->usable || depth > CHECK_MAX_DEPTH)
        return false;
    otlp_wire_init(&m->r, buf, len);
    m->schema = schema;
    m->seen = 0;
    m->oneofs = 0;
    m->depth = depth;
    return true;
}

bool otlp_wire_open(struct otlp_wire_message *m, const ProtobufCMessageDescriptor *desc,
                    const uint8_t *buf, size_t len, int depth)
{
    return open_schema(m, schema_of(desc), buf, len, depth);
}

bool otlp_wire_open_field(struct otlp_wire_message *child, const struct otlp_wire_message *parent,
                          const struct otlp_wire_field *f)
{
    if (f->number > parent->schema->max_number)
        return false;
    const struct schema_field *sf = &parent->schema->fields[f->number];
    if (!(sf->flags & FIELD_MESSAGE) || f->type != OTLP_WIRE_LEN)
        return false;
    return open_schema(child, sf->child, f->data, f->len, parent->depth + 1);
}

static bool check_schema(const struct otlp_wire_schema *schema, const uint8_t *buf, size_t len,
                         int depth);

int otlp_wire_checked_next(struct otlp_wire_message *m, uint64_t walk, struct otlp_wire_field *f)
{
    int rc = otlp_wire_next(&m->r, f);
    if (rc != 1 || f->number > m->schema->max_number)
        return rc; /* the end, not sure, or an unknown field */
    const struct schema_field *sf = &m->schema->fields[f->number];
    if (!(sf->flags & FIELD_KNOWN))
        return 1; /* unknown: protobuf-c keeps it aside, nothing reads it */
    if (f->type != sf->wire)
        return -1; /* a mismatch fails protobuf-c; a packed field is not read here */
    if (sf->flags & FIELD_SINGULAR) {
        uint64_t bit = (uint64_t)1 << sf->bit;
        if (m->seen & bit)
            return -1; /* protobuf-c would merge or replace */
        m->seen |= bit;
        if (sf->flags & FIELD_ONEOF) {
            uint32_t slot = (uint32_t)1 << sf->oneof;
            if (m->oneofs & slot)
                return -1; /* a second member of the same oneof replaces the first */
            m->oneofs |= slot;
        }
    }
    if (sf->id_len && f->len && f->len != sf->id_len)
        return -1;
    if ((sf->flags & FIELD_MESSAGE) && !(walk & OTLP_WIRE_WALK(f->number)) &&
        !check_schema(sf->child, f->data, f->len, m->depth + 1))
        return -1;
    return 1;
}

static bool check_schema(const struct otlp_wire_schema *schema, const uint8_t *buf, size_t len,
                         int depth)
{
    struct otlp_wire_message m;
    struct otlp_wire_field f;
    if (!open_schema(&m, schema, buf, len, depth))
        return false;
    int rc;
    while ((rc = otlp_wire_checked_next(&m, 0, &f)) == 1)
        ;
    return rc == 0;
}

bool otlp_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                     int depth)
{
    return check_schema(schema_of(desc), buf, len, depth);
}
