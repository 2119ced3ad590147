/*
 * otlp_json.c - OTLP/JSON encoding and decoding over protobuf-c descriptors (see otlp_json.h).
 *
 * Mirrors the collector's pdata JSON marshaler and unmarshaler (core@v0.144.0,
 * pdata/internal/generated_proto_*.go and pdata/internal/json/{stream,iterator}.go, checked for
 * Span, ResourceSpans, LogRecord, KeyValue and ExponentialHistogramDataPoint) rather than
 * protojson: ids as hex, singular messages always written, snake_case keys accepted.
 *
 * protobuf-c keeps no declaration order and no json_name, so both are rebuilt here: the JSON
 * name is the proto name in lowerCamelCase (protoc's rule), and the order is the struct layout
 * (protoc-c lays fields out in declaration order but puts every oneof union last), with a small
 * table that puts each oneof back where the .proto declares it.
 *
 * Deliberately not done: jansson parses numbers into int64 or double, so a uint64 above
 * INT64_MAX must arrive as a decimal string (upstream also takes it as a bare number); the JSON
 * parse itself uses malloc, only the resulting tree uses the pdata allocator; google.protobuf.Any
 * gets no "@type" treatment (OTLP never carries one).
 */
#include "otlp_json.h"
#include "strbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Same bound as pdata.c's protobuf decode, so whatever JSON accepts re-encodes and decodes as
 * protobuf too. */
#define OTLP_JSON_MAX_DEPTH 128
/* Hard cap of otlp_json_encode_text's buffer (STYLE.md: every growable buffer has one). */
#define OTLP_JSON_TEXT_MAX ((size_t)1 << 30)
#define NAME_MAX_LEN 64

/* ---- names and order ---- */

/* protoc's json_name: drop each '_' and upper-case the letter after it. */
static void json_name(const char *proto_name, char *out, size_t cap)
{
    size_t o = 0;
    bool upper = false;
    for (const char *p = proto_name; *p && o + 1 < cap; p++) {
        if (*p == '_') {
            upper = true;
            continue;
        }
        out[o++] = upper && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        upper = false;
    }
    out[o] = '\0';
}

/* Where a oneof sits in the .proto: just before field `before`. Oneofs not listed here are last
 * in their message, which is also where protoc-c puts the union (AnyValue, HistogramDataPoint's
 * min and max). `member` is any field of the oneof. */
struct oneof_place {
    const ProtobufCMessageDescriptor *message;
    const char *member;
    const char *before;
};

static const struct oneof_place oneof_places[] = {
    {&opentelemetry__proto__metrics__v1__metric__descriptor, "gauge", "metadata"},
    {&opentelemetry__proto__metrics__v1__number_data_point__descriptor, "as_double", "exemplars"},
    {&opentelemetry__proto__metrics__v1__exemplar__descriptor, "as_double", "span_id"},
    {&opentelemetry__proto__metrics__v1__histogram_data_point__descriptor, "sum", "bucket_counts"},
    {&opentelemetry__proto__metrics__v1__exponential_histogram_data_point__descriptor, "sum",
     "scale"},
    {&opentelemetry__proto__metrics__v1__exponential_histogram_data_point__descriptor, "min",
     "zero_threshold"},
    {&opentelemetry__proto__metrics__v1__exponential_histogram_data_point__descriptor, "max",
     "zero_threshold"},
};

/* Sort key of a field: twice its struct offset plus one, or, for a placed oneof, twice the
 * offset of the field it precedes (so it sorts just before it). */
static size_t field_rank(const ProtobufCMessageDescriptor *desc, const ProtobufCFieldDescriptor *f)
{
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        for (size_t i = 0; i < sizeof(oneof_places) / sizeof(oneof_places[0]); i++) {
            const struct oneof_place *place = &oneof_places[i];
            if (place->message != desc)
                continue;
            const ProtobufCFieldDescriptor *member =
                protobuf_c_message_descriptor_get_field_by_name(desc, place->member);
            const ProtobufCFieldDescriptor *before =
                protobuf_c_message_descriptor_get_field_by_name(desc, place->before);
            if (member && before && member->quantifier_offset == f->quantifier_offset)
                return 2 * (size_t)before->offset;
        }
    }
    return 2 * (size_t)f->offset + 1;
}

#define MAX_FIELDS 64

/* Fills `order` with field indexes in declaration order; returns how many. */
static unsigned field_order(const ProtobufCMessageDescriptor *desc, unsigned *order)
{
    unsigned n = desc->n_fields < MAX_FIELDS ? desc->n_fields : MAX_FIELDS;
    size_t rank[MAX_FIELDS];
    for (unsigned i = 0; i < n; i++) {
        rank[i] = field_rank(desc, &desc->fields[i]);
        order[i] = i;
    }
    /* Insertion sort: stable, and messages have a dozen fields at most. Ties (placed oneofs
     * before the same field) keep struct order via the offset compare. */
    for (unsigned i = 1; i < n; i++) {
        unsigned cur = order[i];
        unsigned j = i;
        while (j > 0) {
            unsigned prev = order[j - 1];
            bool after =
                rank[prev] > rank[cur] ||
                (rank[prev] == rank[cur] && desc->fields[prev].offset > desc->fields[cur].offset);
            if (!after)
                break;
            order[j] = prev;
            j--;
        }
        order[j] = cur;
    }
    return n;
}

/* Trace and span ids of the OTLP schema are hex in JSON; returns the id size, or 0. */
static size_t id_size(const ProtobufCMessageDescriptor *desc, const ProtobufCFieldDescriptor *f)
{
    if (f->type != PROTOBUF_C_TYPE_BYTES || !desc->package_name ||
        strncmp(desc->package_name, "opentelemetry.proto.", 20) != 0)
        return 0;
    if (strcmp(f->name, "trace_id") == 0)
        return 16;
    if (strcmp(f->name, "span_id") == 0 || strcmp(f->name, "parent_span_id") == 0)
        return 8;
    return 0;
}

/* ---- encode ---- */

static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1;
    }
    return true;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the byte there starts none. */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
    for (size_t n = 1; n <= 4 && n <= len; n++)
        if (utf8_valid(s, n))
            return n;
    return 0;
}

/* A JSON string for OTLP text, which the wire does not promise to be UTF-8. jansson holds only
 * valid UTF-8, so each invalid byte becomes U+FFFD (as Go's encoding/json writes it; the
 * collector's jsoniter would copy the raw byte, which is not valid JSON). NULL on allocation
 * failure. */
static json_t *string_value(const char *s, size_t len)
{
    if (utf8_valid((const unsigned char *)s, len))
        return json_stringn(s, len);
    char *clean = malloc(len * 3 + 1);
    if (!clean)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence((const unsigned char *)s + i, len - i);
        if (n == 0) {
            memcpy(clean + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(clean + o, s + i, n);
            o += n;
            i += n;
        }
    }
    json_t *v = json_stringn(clean, o);
    free(clean);
    return v;
}

static json_t *bytes_value(const ProtobufCBinaryData *b, bool hex)
{
    static const char hex_digits[] = "0123456789abcdef";
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t cap = hex ? b->len * 2 : (b->len + 2) / 3 * 4;
    char *text = malloc(cap + 1);
    if (!text)
        return NULL;
    size_t o = 0;
    if (hex) {
        for (size_t i = 0; i < b->len; i++) {
            text[o++] = hex_digits[b->data[i] >> 4];
            text[o++] = hex_digits[b->data[i] & 0xf];
        }
    } else {
        for (size_t i = 0; i < b->len; i += 3) {
            uint32_t chunk = (uint32_t)b->data[i] << 16;
            if (i + 1 < b->len)
                chunk |= (uint32_t)b->data[i + 1] << 8;
            if (i + 2 < b->len)
                chunk |= b->data[i + 2];
            text[o++] = b64[(chunk >> 18) & 63];
            text[o++] = b64[(chunk >> 12) & 63];
            text[o++] = i + 1 < b->len ? b64[(chunk >> 6) & 63] : '=';
            text[o++] = i + 2 < b->len ? b64[chunk & 63] : '=';
        }
    }
    json_t *v = json_stringn(text, o);
    free(text);
    return v;
}

/* Non-finite doubles are strings. The collector writes them with Go's fmt "%f" (pdata/internal/
 * json/stream.go WriteFloat64), which gives "NaN", "+Inf" and "-Inf", not protojson's
 * "Infinity"; copied on purpose so our output is the collector's. Both spellings decode. */
static json_t *double_value(double d)
{
    if (isnan(d))
        return json_string("NaN");
    if (isinf(d))
        return json_string(d > 0 ? "+Inf" : "-Inf");
    return json_real(d);
}

static json_t *encode_message(const ProtobufCMessage *msg);

/* One value of field `f` stored at `member`. */
static json_t *encode_value(const ProtobufCMessageDescriptor *desc,
                            const ProtobufCFieldDescriptor *f, const void *member)
{
    char number[32];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM: return json_integer(*(const int32_t *)member);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)member);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(number, sizeof(number), "%" PRId64, *(const int64_t *)member);
        return json_string(number);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(number, sizeof(number), "%" PRIu64, *(const uint64_t *)member);
        return json_string(number);
    case PROTOBUF_C_TYPE_FLOAT: return double_value(*(const float *)member);
    case PROTOBUF_C_TYPE_DOUBLE: return double_value(*(const double *)member);
    case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)member);
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)member;
        return s ? string_value(s, strlen(s)) : json_string("");
    }
    case PROTOBUF_C_TYPE_BYTES:
        return bytes_value((const ProtobufCBinaryData *)member, id_size(desc, f) > 0);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;
        return sub ? encode_message(sub) : json_object();
    }
    }
    return NULL;
}

/* Whether a singular, non-oneof field holds its zero value (and is therefore left out). */
static bool is_zero(const ProtobufCFieldDescriptor *f, const void *member)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: return *(const uint32_t *)member == 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return *(const uint64_t *)member == 0;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)member == 0;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)member == 0;
    case PROTOBUF_C_TYPE_BOOL: return !*(const protobuf_c_boolean *)member;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)member;
        return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)member)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE: return false; /* upstream always writes singular messages */
    }
    return true;
}

static json_t *encode_repeated(const ProtobufCMessageDescriptor *desc,
                               const ProtobufCFieldDescriptor *f, const char *base, size_t n)
{
    json_t *array = json_array();
    if (!array)
        return NULL;
    const char *items = *(char *const *)(base + f->offset);
    size_t elem = pdata_type_size(f->type);
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(array, encode_value(desc, f, items + i * elem)) < 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

static json_t *encode_message(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const char *base = (const char *)msg;
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    unsigned order[MAX_FIELDS];
    unsigned n = field_order(desc, order);
    for (unsigned i = 0; i < n; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[order[i]];
        const void *member = base + f->offset;
        json_t *value;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *)(base + f->quantifier_offset);
            if (count == 0)
                continue;
            value = encode_repeated(desc, f, base, count);
        } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* A present oneof member (proto3 `optional` included) is written even when zero. */
            if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
                continue;
            value = encode_value(desc, f, member);
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
            if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset))
                continue;
            value = encode_value(desc, f, member);
        } else {
            if (is_zero(f, member))
                continue;
            value = encode_value(desc, f, member);
        }
        char key[NAME_MAX_LEN];
        json_name(f->name, key, sizeof(key));
        if (!value || json_object_set_new(obj, key, value) < 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *otlp_json_encode(const ProtobufCMessage *msg)
{
    return encode_message(msg);
}

/* ---- compact text, byte for byte as the collector writes it ---- */

/* jsoniter's escaping (EscapeHTML off): quote, backslash, \n \r \t, other controls as \u00xx;
 * everything else, UTF-8 included, as is. */
static void text_quoted(struct strbuf *t, const char *s, size_t len)
{
    static const char hex_digits[] = "0123456789abcdef";
    strbuf_add(t, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        strbuf_add(t, s + start, i - start);
        char esc[7] = {'\\', (char)c, 0};
        size_t n = 2;
        if (c == '\n')
            esc[1] = 'n';
        else if (c == '\r')
            esc[1] = 'r';
        else if (c == '\t')
            esc[1] = 't';
        else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex_digits[c >> 4];
            esc[5] = hex_digits[c & 0xf];
            n = 6;
        }
        strbuf_add(t, esc, n);
        start = i + 1;
    }
    strbuf_add(t, s + start, len - start);
    strbuf_add(t, "\"", 1);
}

/* Go's encoding/json float64 format (jsoniter's WriteFloat64 is the same): the shortest digits
 * that read back as the same double, in %f layout unless |d| < 1e-6 or >= 1e21, where %e layout
 * is used with at least two exponent digits except that "e-0X" becomes "e-X". */
static void format_go_double(double d, char *out, size_t cap)
{
    if (d == 0) {
        snprintf(out, cap, "%s", signbit(d) ? "-0" : "0");
        return;
    }
    char sci[40];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(sci, sizeof(sci), "%.*e", precision - 1, d);
        if (strtod(sci, NULL) == d)
            break;
    }
    /* sci is [-]D[.DDD]e[+-]XX */
    const char *p = sci;
    bool negative = *p == '-';
    if (negative)
        p++;
    char digits[24];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.' && nd + 1 < sizeof(digits))
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    int exponent = *p == 'e' ? atoi(p + 1) : 0;

    size_t o = 0;
    char buf[400];
    if (negative)
        buf[o++] = '-';
    double magnitude = fabs(d);
    if (magnitude < 1e-6 || magnitude >= 1e21) {
        buf[o++] = digits[0];
        if (nd > 1) {
            buf[o++] = '.';
            memcpy(buf + o, digits + 1, nd - 1);
            o += nd - 1;
        }
        int abs_exp = exponent < 0 ? -exponent : exponent;
        /* Go writes e-07 then trims it to e-7; positive exponents here are always >= 21. */
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "e%c%s%d", exponent < 0 ? '-' : '+',
                              abs_exp < 10 && exponent > 0 ? "0" : "", abs_exp);
    } else {
        int point = exponent + 1; /* digits before the decimal point */
        if (point <= 0) {
            buf[o++] = '0';
            buf[o++] = '.';
            for (int i = 0; i < -point; i++)
                buf[o++] = '0';
            memcpy(buf + o, digits, nd);
            o += nd;
        } else if ((size_t)point >= nd) {
            memcpy(buf + o, digits, nd);
            o += nd;
            for (size_t i = nd; i < (size_t)point; i++)
                buf[o++] = '0';
        } else {
            memcpy(buf + o, digits, (size_t)point);
            o += (size_t)point;
            buf[o++] = '.';
            memcpy(buf + o, digits + point, nd - (size_t)point);
            o += nd - (size_t)point;
        }
    }
    buf[o] = '\0';
    snprintf(out, cap, "%s", buf);
}

static void text_value(struct strbuf *t, const json_t *v)
{
    char number[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        strbuf_add(t, "{", 1);
        const char *key;
        json_t *member;
        bool first = true;
        json_object_foreach((json_t *)v, key, member)
        {
            if (!first)
                strbuf_add(t, ",", 1);
            first = false;
            text_quoted(t, key, strlen(key));
            strbuf_add(t, ":", 1);
            text_value(t, member);
        }
        strbuf_add(t, "}", 1);
        break;
    }
    case JSON_ARRAY: {
        strbuf_add(t, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                strbuf_add(t, ",", 1);
            text_value(t, json_array_get(v, i));
        }
        strbuf_add(t, "]", 1);
        break;
    }
    case JSON_STRING: text_quoted(t, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER:
        snprintf(number, sizeof(number), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        strbuf_puts(t, number);
        break;
    case JSON_REAL:
        format_go_double(json_real_value(v), number, sizeof(number));
        strbuf_puts(t, number);
        break;
    case JSON_TRUE: strbuf_puts(t, "true"); break;
    case JSON_FALSE: strbuf_puts(t, "false"); break;
    case JSON_NULL: strbuf_puts(t, "null"); break;
    }
}

char *otlp_json_encode_text(const ProtobufCMessage *msg, size_t *len)
{
    json_t *root = otlp_json_encode(msg);
    if (!root)
        return NULL;
    struct strbuf t = STRBUF_INIT(OTLP_JSON_TEXT_MAX);
    text_value(&t, root);
    json_decref(root);
    char *text = NULL;
    return strbuf_finish(&t, &text, len) == 0 ? text : NULL;
}

/* ---- decode ---- */

struct decoder {
    struct error *err;
    char path[512];
    size_t path_len;
};

/* Appends ".key" (or "key" at the root) to the path; returns the length to restore. */
static size_t path_push_key(struct decoder *d, const char *key)
{
    size_t saved = d->path_len;
    int n = snprintf(d->path + d->path_len, sizeof(d->path) - d->path_len, "%s%s",
                     d->path_len ? "." : "", key);
    if (n > 0)
        d->path_len += (size_t)n;
    if (d->path_len >= sizeof(d->path))
        d->path_len = sizeof(d->path) - 1;
    return saved;
}

static size_t path_push_index(struct decoder *d, size_t index)
{
    size_t saved = d->path_len;
    int n = snprintf(d->path + d->path_len, sizeof(d->path) - d->path_len, "[%zu]", index);
    if (n > 0)
        d->path_len += (size_t)n;
    if (d->path_len >= sizeof(d->path))
        d->path_len = sizeof(d->path) - 1;
    return saved;
}

static void path_pop(struct decoder *d, size_t saved)
{
    d->path_len = saved;
    d->path[saved] = '\0';
}

static int fail(struct decoder *d, const char *what)
{
    return error_set(d->err, -EINVAL, ERROR_PERMANENT, "%s: %s", d->path_len ? d->path : "(root)",
                     what);
}

static int no_memory(struct decoder *d)
{
    return error_set(d->err, -ENOMEM, ERROR_REFUSED, "out of memory decoding OTLP/JSON");
}

/* Strict decimal as Go's strconv.ParseInt/ParseUint take it: an optional sign (signed only),
 * then digits and nothing else. */
static bool parse_decimal(const char *s, bool is_signed, int64_t *si, uint64_t *ui)
{
    const char *p = s;
    if (is_signed && (*p == '-' || *p == '+'))
        p++;
    if (!*p)
        return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return false;
    errno = 0;
    char *end;
    if (is_signed)
        *si = strtoll(s, &end, 10);
    else
        *ui = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0';
}

static int decode_signed(struct decoder *d, const json_t *v, int64_t min, int64_t max, int64_t *out)
{
    int64_t x;
    if (json_is_integer(v)) {
        x = json_integer_value(v);
    } else if (json_is_string(v)) {
        uint64_t unused;
        if (!parse_decimal(json_string_value(v), true, &x, &unused))
            return fail(d, "invalid integer");
    } else {
        return fail(d, "expected an integer");
    }
    if (x < min || x > max)
        return fail(d, "integer out of range");
    *out = x;
    return 0;
}

static int decode_unsigned(struct decoder *d, const json_t *v, uint64_t max, uint64_t *out)
{
    uint64_t x;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return fail(d, "integer out of range");
        x = (uint64_t)i;
    } else if (json_is_string(v)) {
        int64_t unused;
        if (!parse_decimal(json_string_value(v), false, &unused, &x))
            return fail(d, "invalid integer");
    } else {
        return fail(d, "expected an integer");
    }
    if (x > max)
        return fail(d, "integer out of range");
    *out = x;
    return 0;
}

static int decode_double(struct decoder *d, const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return fail(d, "expected a number");
    const char *s = json_string_value(v);
    if (strcmp(s, "NaN") == 0) {
        *out = NAN;
    } else if (strcmp(s, "Infinity") == 0) {
        *out = INFINITY;
    } else if (strcmp(s, "-Infinity") == 0) {
        *out = -INFINITY;
    } else {
        /* Like strconv.ParseFloat, which upstream falls back to: the whole string, no
         * surrounding space, "Inf"/"+Inf"/"nan" in any case, overflow is an error. */
        char *end;
        if (!*s || *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            return fail(d, "invalid number");
        errno = 0;
        double x = strtod(s, &end);
        if (*end || (errno == ERANGE && isinf(x)))
            return fail(d, "invalid number");
        *out = x;
    }
    return 0;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int base64_index(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 with padding, as Go's base64.StdEncoding decodes it (CR and LF ignored).
 * Writes at most len/4*3 bytes. Returns the decoded length or -1. */
static long base64_decode(const char *s, size_t len, uint8_t *out)
{
    size_t o = 0;
    int quad[4];
    size_t q = 0;
    bool ended = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\r' || c == '\n')
            continue;
        if (ended)
            return -1;
        if (c == '=') {
            if (q < 2)
                return -1;
            /* "xx==" or "xxx=" closes the input */
            if (q == 2) {
                size_t j = i + 1;
                while (j < len && (s[j] == '\r' || s[j] == '\n'))
                    j++;
                if (j >= len || s[j] != '=')
                    return -1;
                i = j;
            }
            out[o++] = (uint8_t)(quad[0] << 2 | quad[1] >> 4);
            if (q == 3)
                out[o++] = (uint8_t)(quad[1] << 4 | quad[2] >> 2);
            q = 0;
            ended = true;
            continue;
        }
        int v = base64_index(c);
        if (v < 0)
            return -1;
        quad[q++] = v;
        if (q == 4) {
            out[o++] = (uint8_t)(quad[0] << 2 | quad[1] >> 4);
            out[o++] = (uint8_t)(quad[1] << 4 | quad[2] >> 2);
            out[o++] = (uint8_t)(quad[2] << 6 | quad[3]);
            q = 0;
        }
    }
    return q == 0 ? (long)o : -1;
}

static int decode_bytes(struct decoder *d, const ProtobufCMessageDescriptor *desc,
                        const ProtobufCFieldDescriptor *f, const json_t *v,
                        ProtobufCBinaryData *out)
{
    if (!json_is_string(v))
        return fail(d, "expected a string");
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    size_t id = id_size(desc, f);
    if (len == 0) {
        *out = (ProtobufCBinaryData){0, NULL};
        return 0;
    }
    if (id) {
        /* Upstream checks the length first ("length mismatch"), then the digits. */
        if (len != id * 2)
            return fail(d, "length mismatch");
        for (size_t i = 0; i < len; i++)
            if (hex_nibble(s[i]) < 0)
                return fail(d, "invalid hex");
        uint8_t *data = pdata_alloc(id);
        if (!data)
            return no_memory(d);
        for (size_t i = 0; i < id; i++)
            data[i] = (uint8_t)(hex_nibble(s[2 * i]) << 4 | hex_nibble(s[2 * i + 1]));
        *out = (ProtobufCBinaryData){id, data};
        return 0;
    }
    uint8_t *data = pdata_alloc(len / 4 * 3 + 3);
    if (!data)
        return no_memory(d);
    long n = base64_decode(s, len, data);
    if (n < 0) {
        pdata_free(data);
        return fail(d, "invalid base64");
    }
    if (n == 0) {
        pdata_free(data);
        data = NULL;
    }
    *out = (ProtobufCBinaryData){(size_t)n, data};
    return 0;
}

static int decode_enum(struct decoder *d, const ProtobufCFieldDescriptor *f, const json_t *v,
                       int32_t *out)
{
    if (json_is_string(v)) {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, json_string_value(v));
        if (!ev) {
            char what[160];
            snprintf(what, sizeof(what), "unknown enum value \"%.100s\"", json_string_value(v));
            return fail(d, what);
        }
        *out = ev->value;
        return 0;
    }
    if (!json_is_integer(v))
        return fail(d, "expected an enum name or integer");
    int64_t x;
    int rc = decode_signed(d, v, INT32_MIN, INT32_MAX, &x);
    if (rc == 0)
        *out = (int32_t)x;
    return rc;
}

static int decode_message(struct decoder *d, const ProtobufCMessageDescriptor *desc,
                          const json_t *obj, int depth, ProtobufCMessage **out);

/* Decodes one value of `f` into `dst`, written only on success. Strings of repeated fields and
 * oneofs always get their own copy, even when empty: free_unpacked frees every element of a
 * string array, and protobuf-c does not pack a oneof string that is the shared empty default
 * (the oneof would be lost on the wire). */
static int decode_single(struct decoder *d, const ProtobufCMessageDescriptor *desc,
                         const ProtobufCFieldDescriptor *f, const json_t *v, void *dst,
                         bool repeated, int depth)
{
    int64_t si;
    uint64_t ui;
    double dbl;
    int rc = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if ((rc = decode_signed(d, v, INT32_MIN, INT32_MAX, &si)) == 0)
            *(int32_t *)dst = (int32_t)si;
        return rc;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if ((rc = decode_unsigned(d, v, UINT32_MAX, &ui)) == 0)
            *(uint32_t *)dst = (uint32_t)ui;
        return rc;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if ((rc = decode_signed(d, v, INT64_MIN, INT64_MAX, &si)) == 0)
            *(int64_t *)dst = si;
        return rc;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if ((rc = decode_unsigned(d, v, UINT64_MAX, &ui)) == 0)
            *(uint64_t *)dst = ui;
        return rc;
    case PROTOBUF_C_TYPE_FLOAT:
        if ((rc = decode_double(d, v, &dbl)) == 0)
            *(float *)dst = (float)dbl;
        return rc;
    case PROTOBUF_C_TYPE_DOUBLE:
        if ((rc = decode_double(d, v, &dbl)) == 0)
            *(double *)dst = dbl;
        return rc;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return fail(d, "expected true or false");
        *(protobuf_c_boolean *)dst = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: return decode_enum(d, f, v, (int32_t *)dst);
    case PROTOBUF_C_TYPE_STRING: {
        if (!json_is_string(v))
            return fail(d, "expected a string");
        size_t len = json_string_length(v);
        if (len == 0 && !repeated && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
            *(const char **)dst = protobuf_c_empty_string;
            return 0;
        }
        if (memchr(json_string_value(v), '\0', len))
            return fail(d, "string contains NUL");
        char *copy = pdata_strdup(json_string_value(v));
        if (!copy)
            return no_memory(d);
        *(char **)dst = copy;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: return decode_bytes(d, desc, f, v, (ProtobufCBinaryData *)dst);
    case PROTOBUF_C_TYPE_MESSAGE:
        return decode_message(d, f->descriptor, v, depth + 1, (ProtobufCMessage **)dst);
    }
    return fail(d, "unsupported field type");
}

/* Frees whatever `f` holds in `msg` and puts the default back, so a key given twice
 * ("traceId" and "trace_id") or a second oneof member replaces the first without a leak. */
static void field_clear(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    char *base = (char *)msg;
    void *member = base + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t *n = (size_t *)(base + f->quantifier_offset);
        char **array = (char **)member;
        if (*array) {
            size_t elem = pdata_type_size(f->type);
            for (size_t i = 0; i < *n; i++) {
                void *e = *array + i * elem;
                if (f->type == PROTOBUF_C_TYPE_STRING)
                    pdata_free(*(char **)e);
                else if (f->type == PROTOBUF_C_TYPE_BYTES)
                    pdata_free(((ProtobufCBinaryData *)e)->data);
                else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                    protobuf_c_message_free_unpacked(*(ProtobufCMessage **)e, pdata_allocator());
            }
            pdata_free(*array);
        }
        *array = NULL;
        *n = 0;
        return;
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        char *s = *(char **)member;
        if (s && s != f->default_value)
            pdata_free(s);
        *(const void **)member = f->default_value;
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = member;
        const ProtobufCBinaryData *def = f->default_value;
        if (b->data && (!def || b->data != def->data))
            pdata_free(b->data);
        *b = def ? *def : (ProtobufCBinaryData){0, NULL};
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        protobuf_c_message_free_unpacked(*(ProtobufCMessage **)member, pdata_allocator());
        *(ProtobufCMessage **)member = NULL;
        break;
    default: memset(member, 0, pdata_type_size(f->type)); break;
    }
}

static int decode_repeated(struct decoder *d, ProtobufCMessage *msg,
                           const ProtobufCFieldDescriptor *f, const json_t *v, int depth)
{
    if (!json_is_array(v))
        return fail(d, "expected an array");
    field_clear(msg, f);
    size_t n = json_array_size(v);
    if (n == 0)
        return 0;
    char *base = (char *)msg;
    size_t elem = pdata_type_size(f->type);
    char *array = pdata_calloc(n, elem);
    if (!array)
        return no_memory(d);
    /* The array belongs to msg from here on; the count only grows past finished elements, so a
     * failure leaves a tree that free_unpacked can free. */
    *(char **)(base + f->offset) = array;
    size_t *count = (size_t *)(base + f->quantifier_offset);
    for (size_t i = 0; i < n; i++) {
        size_t saved = path_push_index(d, i);
        const json_t *item = json_array_get(v, i);
        json_t *empty = NULL;
        if (json_is_null(item)) {
            /* A null element is an empty one (upstream reads null as an object without
             * fields); for scalars that is the zero value. */
            if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                item = empty = json_object();
            } else if (f->type == PROTOBUF_C_TYPE_STRING) {
                item = empty = json_string("");
            } else {
                path_pop(d, saved);
                (*count)++;
                continue;
            }
            if (!empty) {
                path_pop(d, saved);
                return no_memory(d);
            }
        }
        int rc = decode_single(d, msg->descriptor, f, item, array + i * elem, true, depth);
        json_decref(empty);
        path_pop(d, saved);
        if (rc < 0)
            return rc;
        (*count)++;
    }
    return 0;
}

static int decode_field(struct decoder *d, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                        const json_t *v, int depth)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return decode_repeated(d, msg, f, v, depth);
    char *base = (char *)msg;
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *which = (uint32_t *)(base + f->quantifier_offset);
        if (*which) {
            const ProtobufCFieldDescriptor *current =
                protobuf_c_message_descriptor_get_field(desc, *which);
            if (current)
                field_clear(msg, current);
            *which = 0;
        }
        /* Decode into a scratch copy of the union so a failure leaves no half value behind. */
        union {
            char bytes[sizeof(ProtobufCBinaryData) > 8 ? sizeof(ProtobufCBinaryData) : 8];
            ProtobufCBinaryData b;
            void *p;
            double dbl;
            uint64_t u;
        } scratch = {0};
        int rc = decode_single(d, desc, f, v, &scratch, false, depth);
        if (rc < 0)
            return rc;
        memcpy(base + f->offset, &scratch, pdata_type_size(f->type));
        *which = f->id;
        return 0;
    }
    field_clear(msg, f);
    int rc = decode_single(d, desc, f, v, base + f->offset, false, depth);
    if (rc == 0 && f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
        f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    return rc;
}

/* The field a JSON key names: its proto name (snake_case) or its JSON name (lowerCamelCase),
 * both case-sensitive as upstream. NULL for unknown keys, which are skipped. */
static const ProtobufCFieldDescriptor *field_for_key(const ProtobufCMessageDescriptor *desc,
                                                     const char *key)
{
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (strcmp(f->name, key) == 0)
            return f;
        char camel[NAME_MAX_LEN];
        json_name(f->name, camel, sizeof(camel));
        if (strcmp(camel, key) == 0)
            return f;
    }
    return NULL;
}

static int decode_message(struct decoder *d, const ProtobufCMessageDescriptor *desc,
                          const json_t *obj, int depth, ProtobufCMessage **out)
{
    if (!json_is_object(obj))
        return fail(d, "expected an object");
    if (depth > OTLP_JSON_MAX_DEPTH)
        return fail(d, "nested too deeply");
    ProtobufCMessage *msg = pdata_alloc(desc->sizeof_message);
    if (!msg)
        return no_memory(d);
    desc->message_init(msg);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        const ProtobufCFieldDescriptor *f = field_for_key(desc, key);
        if (!f || json_is_null(value))
            continue;
        size_t saved = path_push_key(d, key);
        int rc = decode_field(d, msg, f, value, depth);
        path_pop(d, saved);
        if (rc < 0) {
            protobuf_c_message_free_unpacked(msg, pdata_allocator());
            return rc;
        }
    }
    *out = msg;
    return 0;
}

int otlp_json_decode(const char *text, size_t len, const ProtobufCMessageDescriptor *desc,
                     ProtobufCMessage **out, struct error *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return error_set(err, -ENOMEM, ERROR_REFUSED, "out of memory parsing JSON");
        return error_set(err, -EINVAL, ERROR_PERMANENT, "invalid JSON at line %d column %d: %s",
                         jerr.line, jerr.column, jerr.text);
    }
    struct decoder d = {.err = err};
    int rc;
    if (json_is_null(root)) {
        /* `null` is absent, here an empty request (upstream reads it as an object with no
         * fields). */
        json_t *empty = json_object();
        rc = empty ? decode_message(&d, desc, empty, 1, out) : no_memory(&d);
        json_decref(empty);
    } else if (!json_is_object(root)) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "expected a JSON object");
    } else {
        rc = decode_message(&d, desc, root, 1, out);
    }
    json_decref(root);
    return rc;
}

int otlp_json_decode_payload(enum signal s, const char *text, size_t len, struct payload **out,
                             struct error *err)
{
    static const ProtobufCMessageDescriptor *const requests[SIGNAL_COUNT] = {
        [SIGNAL_TRACES] =
            &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
        [SIGNAL_METRICS] =
            &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor,
        [SIGNAL_LOGS] =
            &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
    };
    *out = NULL;
    struct payload *p = pdata_alloc(sizeof(*p));
    if (!p)
        return error_set(err, -ENOMEM, ERROR_REFUSED, "out of memory decoding OTLP/JSON");
    p->signal = s;
    /* JSON is wordier than protobuf: its text size is an ample region hint (pdata.h) */
    pdata_region_begin(len + 1024);
    int rc = otlp_json_decode(text, len, requests[s], &p->message, err);
    pdata_region_end();
    if (rc < 0) {
        pdata_free(p);
        return rc;
    }
    *out = p;
    return 0;
}
