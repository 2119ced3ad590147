/*
 * loki_otlp.c - OTLP logs -> Loki push streams, as loki@v3.6.4 pkg/loghttp/push/otlp.go does it
 * with the default otlp_config (pipeline.md §8), checked against otlp.go's
 * otlpToLokiPushRequest / otlpLogToPushEntry / attributeToLabels / timestampFromLogRecord.
 *
 * Per resource: attributes named in the default index list become stream labels (map values
 * flattened to `<parent>_<child>`), everything else structured metadata. `service_name` comes
 * from `service.name`; when that is absent or empty, the first index label (in attribute order,
 * as otlp.go checks while it walks the attributes) whose name is in discover_service_name is
 * copied to it, else it is `unknown_service`. Per record: timestamp = time, else observed time,
 * else now; line = body.AsString(); structured metadata = log attributes, then
 * observed_timestamp (only when both times are set), severity_number, severity_text,
 * dropped_attributes_count, flags, trace_id, span_id (each only when set), then the resource's
 * structured metadata, then the scope's (attributes, scope_name, scope_version,
 * scope_dropped_attributes_count).
 *
 * The Go library behaviour is copied on purpose, quirks included: NormalizeLabel maps every
 * non-[A-Za-z0-9] *rune* to one `_`; AsString of a NaN double is
 * `json: unsupported value: NaN`; a map body is JSON with sorted keys and `<>&` escaped as
 * \u003c \u003e \u0026, as encoding/json writes it.
 *
 * Not done: per-tenant otlp_config overrides (only the defaults exist here). Label values are
 * quoted with common/gostr.h's strconv.Quote, which says how far it follows unicode.IsPrint.
 */
#include "loki_otlp.h"
#include "strbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_util.h"

/* Deepest map nesting flattened or JSON-encoded; protobuf-c decodes deeper trees, but a fake
 * must not exhaust its stack on a hostile body. Deeper values are cut (written as null). */
#define MAX_DEPTH 64
/* Hard maximum of one formatted value (a JSON body of a map can grow ~6x its input). */
#define TEXT_MAX ((size_t)256 * 1024 * 1024)

/* pipeline.md §8: -distributor.otlp.default_resource_attributes_as_index_labels. */
static const char *const index_attributes[] = {
    "service.name",
    "service.namespace",
    "service.instance.id",
    "deployment.environment",
    "deployment.environment.name",
    "cloud.region",
    "cloud.availability_zone",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.container.name",
    "container.name",
    "k8s.replicaset.name",
    "k8s.deployment.name",
    "k8s.statefulset.name",
    "k8s.daemonset.name",
    "k8s.cronjob.name",
    "k8s.job.name",
    NULL,
};

/* pipeline.md §8: the default discover_service_name list. */
static const char *const service_name_sources[] = {
    "service",
    "app",
    "application",
    "app_name",
    "name",
    "app_kubernetes_io_name",
    "container",
    "container_name",
    "k8s_container_name",
    "component",
    "workload",
    "job",
    "k8s_job_name",
    NULL,
};

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

bool loki_is_index_attribute(const char *key)
{
    return in_list(index_attributes, key);
}

bool loki_is_service_name_source(const char *label)
{
    return in_list(service_name_sources, label);
}

/* ---- UTF-8 as Go decodes it (go_utf8_next) ---- */

static bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t r;
        bool valid;
        i += go_utf8_next(p + i, len - i, &r, &valid);
        if (!valid)
            return false;
    }
    return true;
}

/* ---- otlptranslator.NormalizeLabel ---- */

static bool is_ascii_alnum(uint32_t r)
{
    return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9');
}

/* NormalizeLabel of name[0..len) into `out` (len + 5 bytes: each rune becomes one byte, plus
 * "key_" and the NUL). */
static void normalize_into(const char *name, size_t len, char *out)
{
    if (len == 0) {
        out[0] = '\0';
        return;
    }
    char *w = out + 4;
    const unsigned char *p = (const unsigned char *)name;
    for (size_t i = 0; i < len;) {
        if (p[i] < 0x80) { /* ASCII, nearly every key: one byte, one rune */
            *w++ = is_ascii_alnum(p[i]) ? (char)p[i] : '_';
            i++;
            continue;
        }
        uint32_t r;
        bool valid;
        i += go_utf8_next(p + i, len - i, &r, &valid);
        *w++ = (valid && is_ascii_alnum(r)) ? (char)r : '_';
    }
    *w = '\0';
    char *s = out + 4;
    size_t n = (size_t)(w - s);
    if (s[0] >= '0' && s[0] <= '9') {
        memcpy(out, "key_", 4);
        return;
    }
    if (s[0] == '_' && s[1] != '_') {
        memmove(out + 3, s, n + 1);
        memcpy(out, "key", 3);
        return;
    }
    memmove(out, s, n + 1);
}

/* True when name[0..len) is all ASCII; eight bytes at a time, as every key is read for every
 * record on Loki's fast path (loki_wire.c). */
static bool all_ascii(const unsigned char *p, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t word;
        memcpy(&word, p + i, sizeof(word));
        if (word & 0x8080808080808080ull)
            return false;
    }
    for (; i < len; i++)
        if (p[i] >= 0x80)
            return false;
    return true;
}

/* What NormalizeLabel makes of one ASCII byte. */
static char normalized_ascii(unsigned char c)
{
    return is_ascii_alnum(c) ? (char)c : '_';
}

size_t loki_normalized_label_length(const char *name, size_t len)
{
    /* normalize_into without writing: one byte per rune, plus the prefix its first two decide. */
    size_t runes = 0;
    char first = '\0', second = '\0';
    const unsigned char *p = (const unsigned char *)name;
    if (all_ascii(p, len)) { /* nearly every key: a rune per byte */
        runes = len;
        first = len > 0 ? normalized_ascii(p[0]) : '\0';
        second = len > 1 ? normalized_ascii(p[1]) : '\0';
    } else {
        for (size_t i = 0; i < len; runes++) {
            char c;
            if (p[i] < 0x80) {
                c = normalized_ascii(p[i]);
                i++;
            } else {
                uint32_t r;
                bool valid;
                i += go_utf8_next(p + i, len - i, &r, &valid);
                c = (valid && is_ascii_alnum(r)) ? (char)r : '_';
            }
            if (runes == 0)
                first = c;
            else if (runes == 1)
                second = c;
        }
    }
    if (runes == 0)
        return 0;
    if (first >= '0' && first <= '9')
        return runes + 4; /* "key_" */
    if (first == '_' && second != '_')
        return runes + 3; /* "key" */
    return runes;
}

char *loki_normalize_label(const char *name)
{
    size_t len = strlen(name);
    char *out = malloc(len + 5);
    if (out)
        normalize_into(name, len, out);
    return out;
}

/* ---- numbers as Go prints them ---- */

/* The shortest decimal digits that read back as `f` (f > 0, finite): digits without a point in
 * `digits`, and the exponent of the first digit (f = d.ddd x 10^exp). */
static void shortest_digits(double f, char *digits, size_t size, int *exp10)
{
    char tmp[40];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(tmp, sizeof(tmp), "%.*e", precision - 1, f);
        if (strtod(tmp, NULL) == f)
            break;
    }
    char *e = strchr(tmp, 'e');
    *exp10 = e ? atoi(e + 1) : 0;
    size_t n = 0;
    for (const char *p = tmp; *p && p != e && n + 1 < size; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
}

/* Go's strconv.AppendFloat(f, 'f' or 'e', -1, 64) as encoding/json and pdata's float64AsString
 * use it: 'e' when |f| < 1e-6 or >= 1e21, exponent without a leading zero. NaN and infinities
 * are the caller's business. */
static void format_json_number(double f, char *out, size_t out_size)
{
    char digits[32];
    int exp10;
    const char *sign = signbit(f) ? "-" : "";
    double a = fabs(f);
    if (a == 0) {
        snprintf(out, out_size, "%s0", sign);
        return;
    }
    shortest_digits(a, digits, sizeof(digits), &exp10);
    size_t nd = strlen(digits);
    if (a < 1e-6 || a >= 1e21) {
        /* Go writes at least two exponent digits ("e+21", "e-07") and then trims a negative
         * one back ("e-7"); positive ones here are always >= 21, so %d is exact for both. */
        snprintf(out, out_size, "%s%c%s%se%c%d", sign, digits[0], nd > 1 ? "." : "",
                 nd > 1 ? digits + 1 : "", exp10 < 0 ? '-' : '+', abs(exp10));
        return;
    }
    char buf[400];
    size_t w = 0;
    if (exp10 >= 0) {
        for (int i = 0; i <= exp10; i++)
            buf[w++] = (size_t)i < nd ? digits[i] : '0';
        if ((size_t)exp10 + 1 < nd) {
            buf[w++] = '.';
            for (size_t i = (size_t)exp10 + 1; i < nd; i++)
                buf[w++] = digits[i];
        }
    } else {
        buf[w++] = '0';
        buf[w++] = '.';
        for (int i = 0; i < -exp10 - 1; i++)
            buf[w++] = '0';
        for (size_t i = 0; i < nd; i++)
            buf[w++] = digits[i];
    }
    buf[w] = '\0';
    snprintf(out, out_size, "%s%s", sign, buf);
}

void loki_format_double(double f, char *out, size_t out_size)
{
    if (isnan(f)) {
        snprintf(out, out_size, "json: unsupported value: NaN");
        return;
    }
    if (isinf(f)) {
        snprintf(out, out_size, "json: unsupported value: %sInf", f < 0 ? "-" : "+");
        return;
    }
    format_json_number(f, out, out_size);
}

/* ---- encoding/json for AsRaw() values ---- */

static const char hex_digits[] = "0123456789abcdef";

/* encoding/json's string encoding with HTML escaping on (json.Marshal's default). */
static void json_quote(struct strbuf *t, const char *s, size_t len)
{
    strbuf_putc(t, '"');
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            switch (c) {
            case '"': strbuf_puts(t, "\\\""); continue;
            case '\\': strbuf_puts(t, "\\\\"); continue;
            case '\b': strbuf_puts(t, "\\b"); continue;
            case '\f': strbuf_puts(t, "\\f"); continue;
            case '\n': strbuf_puts(t, "\\n"); continue;
            case '\r': strbuf_puts(t, "\\r"); continue;
            case '\t': strbuf_puts(t, "\\t"); continue;
            default: break;
            }
            if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                char esc[7] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15], 0};
                strbuf_puts(t, esc);
            } else {
                strbuf_putc(t, (char)c);
            }
            continue;
        }
        uint32_t r;
        bool valid;
        size_t n = go_utf8_next(p + i, len - i, &r, &valid);
        if (!valid)
            strbuf_puts(t, "\\ufffd");
        else if (r == 0x2028 || r == 0x2029)
            strbuf_puts(t, r == 0x2028 ? "\\u2028" : "\\u2029");
        else
            strbuf_add(t, s + i, n);
        i += n;
    }
    strbuf_putc(t, '"');
}

static void base64_put(struct strbuf *t, const uint8_t *data, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        char quad[4] = {alphabet[(v >> 18) & 63], alphabet[(v >> 12) & 63],
                        i + 1 < len ? alphabet[(v >> 6) & 63] : '=',
                        i + 2 < len ? alphabet[v & 63] : '='};
        strbuf_add(t, quad, 4);
    }
}

struct key_index {
    const char *key;
    size_t index;
};

static int compare_key_index(const void *a, const void *b)
{
    const struct key_index *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static const char *kv_key(const otlp_keyvalue *kv)
{
    return kv && kv->key ? kv->key : "";
}

/* Writes v.AsRaw() as json.Marshal does. Returns 0, or -EDOM when Marshal would fail (NaN or
 * infinity anywhere), or the text's error. */
static int json_value(struct strbuf *t, const otlp_anyvalue *v, int depth)
{
    char number[64];
    if (depth > MAX_DEPTH || !v) {
        strbuf_puts(t, "null");
        return t->error;
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: {
        const char *s = v->string_value ? v->string_value : "";
        json_quote(t, s, strlen(s));
        break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        strbuf_puts(t, v->bool_value ? "true" : "false");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        snprintf(number, sizeof(number), "%" PRId64, v->int_value);
        strbuf_puts(t, number);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        if (isnan(v->double_value) || isinf(v->double_value))
            return -EDOM;
        format_json_number(v->double_value, number, sizeof(number));
        strbuf_puts(t, number);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        strbuf_putc(t, '"');
        base64_put(t, v->bytes_value.data, v->bytes_value.len);
        strbuf_putc(t, '"');
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
        strbuf_putc(t, '[');
        size_t n = v->array_value ? v->array_value->n_values : 0;
        for (size_t i = 0; i < n; i++) {
            if (i)
                strbuf_putc(t, ',');
            int rc = json_value(t, v->array_value->values[i], depth + 1);
            if (rc)
                return rc;
        }
        strbuf_putc(t, ']');
        break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        /* AsRaw builds a Go map (a repeated key: the last one wins), Marshal sorts the keys. */
        size_t n = v->kvlist_value ? v->kvlist_value->n_values : 0;
        struct key_index *keys = n ? calloc(n, sizeof(*keys)) : NULL;
        if (n && !keys)
            return -ENOMEM;
        for (size_t i = 0; i < n; i++)
            keys[i] = (struct key_index){kv_key(v->kvlist_value->values[i]), i};
        if (n)
            qsort(keys, n, sizeof(*keys), compare_key_index);
        strbuf_putc(t, '{');
        bool first = true;
        int rc = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            if (i + 1 < n && strcmp(keys[i].key, keys[i + 1].key) == 0)
                continue; /* a later duplicate overrides this one */
            if (!first)
                strbuf_putc(t, ',');
            first = false;
            json_quote(t, keys[i].key, strlen(keys[i].key));
            strbuf_putc(t, ':');
            const otlp_keyvalue *kv = v->kvlist_value->values[keys[i].index];
            rc = json_value(t, kv ? kv->value : NULL, depth + 1);
        }
        free(keys);
        if (rc)
            return rc;
        strbuf_putc(t, '}');
        break;
    }
    default: strbuf_puts(t, "null"); break;
    }
    return t->error;
}

int loki_any_value_string(const otlp_anyvalue *v, char **out, size_t *len)
{
    struct strbuf t = STRBUF_INIT(TEXT_MAX);
    char number[64];
    if (!v) {
        return strbuf_finish(&t, out, len);
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        strbuf_puts(&t, v->string_value ? v->string_value : "");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        strbuf_puts(&t, v->bool_value ? "true" : "false");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        snprintf(number, sizeof(number), "%" PRId64, v->int_value);
        strbuf_puts(&t, number);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        loki_format_double(v->double_value, number, sizeof(number));
        strbuf_puts(&t, number);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        base64_put(&t, v->bytes_value.data, v->bytes_value.len);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        int rc = json_value(&t, v, 0);
        if (rc == -EDOM) {
            /* pdata ignores Marshal's error and returns the empty string. */
            strbuf_release(&t);
        }
        break;
    }
    default: break; /* an empty value */
    }
    return strbuf_finish(&t, out, len);
}

/* ---- label lists and sets ---- */

void loki_labels_clear(struct loki_labels *labels)
{
    for (size_t i = 0; i < labels->count; i++) {
        free(labels->items[i].name);
        free(labels->items[i].value);
    }
    free(labels->items);
    memset(labels, 0, sizeof(*labels));
}

static int labels_reserve(struct loki_labels *labels)
{
    if (labels->count < labels->cap)
        return 0;
    size_t cap = labels->cap ? labels->cap * 2 : 8;
    struct loki_label *grown = realloc(labels->items, cap * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    labels->items = grown;
    labels->cap = cap;
    return 0;
}

/* Inserts at `at`, taking ownership of name and value (freed on failure). */
static int labels_insert_take(struct loki_labels *labels, size_t at, char *name, char *value)
{
    if (!name || !value || labels_reserve(labels) < 0) {
        free(name);
        free(value);
        return -ENOMEM;
    }
    memmove(labels->items + at + 1, labels->items + at,
            (labels->count - at) * sizeof(*labels->items));
    labels->items[at] = (struct loki_label){name, value};
    labels->count++;
    return 0;
}

int loki_labels_append(struct loki_labels *labels, const char *name, const char *value)
{
    return labels_insert_take(labels, labels->count, strdup(name), strdup(value));
}

int loki_labels_set(struct loki_labels *labels, const char *name, const char *value)
{
    size_t at = 0;
    while (at < labels->count) {
        int c = strcmp(labels->items[at].name, name);
        if (c == 0) {
            char *copy = strdup(value);
            if (!copy)
                return -ENOMEM;
            free(labels->items[at].value);
            labels->items[at].value = copy;
            return 0;
        }
        if (c > 0)
            break;
        at++;
    }
    return labels_insert_take(labels, at, strdup(name), strdup(value));
}

const char *loki_labels_get(const struct loki_labels *labels, const char *name)
{
    for (size_t i = 0; i < labels->count; i++)
        if (strcmp(labels->items[i].name, name) == 0)
            return labels->items[i].value;
    return NULL;
}

static void emit_strbuf(void *ctx, const char *data, size_t len)
{
    strbuf_add(ctx, data, len);
}

char *loki_labels_string(const struct loki_labels *labels)
{
    struct strbuf t = STRBUF_INIT(TEXT_MAX);
    strbuf_putc(&t, '{');
    for (size_t i = 0; i < labels->count; i++) {
        if (i)
            strbuf_puts(&t, ", ");
        strbuf_puts(&t, labels->items[i].name);
        strbuf_putc(&t, '=');
        go_quote_each(labels->items[i].value, strlen(labels->items[i].value), emit_strbuf, &t);
    }
    strbuf_putc(&t, '}');
    char *out = NULL;
    return strbuf_finish(&t, &out, NULL) == 0 ? out : NULL;
}

/* ---- the push's memory ---- */

/* The lines and structured metadata of a push's entries are cut from chunks that
 * loki_push_clear frees at once: a push is thousands of short strings that live and die
 * together, and one malloc and free per string was most of what a push cost. Entries of one
 * push share the strings of their resource's and scope's metadata (pointers, not copies), which
 * is why nothing may change a string in place (see loki_push_strdup). Stream labels and keys
 * are ordinary malloc'd label sets: one per resource. */
struct loki_push_chunk {
    struct loki_push_chunk *next;
    size_t used, size;
    max_align_t data[];
};

#define CHUNK_MIN ((size_t)16 * 1024)
#define CHUNK_MAX ((size_t)1024 * 1024)

static struct loki_push_chunk *chunk_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(struct loki_push_chunk))
        return NULL;
    struct loki_push_chunk *c = malloc(sizeof(*c) + size);
    if (c) {
        c->used = 0;
        c->size = size;
    }
    return c;
}

/* `size` bytes aligned to `align` (a power of two up to max_align_t). NULL on ENOMEM. */
static void *push_alloc(struct loki_push *push, size_t size, size_t align)
{
    struct loki_push_chunk *c = push->chunks;
    if (c && size > CHUNK_MIN / 4) {
        /* A long line gets a chunk of its own behind the current one, which stays current. */
        struct loki_push_chunk *own = chunk_new(size);
        if (!own)
            return NULL;
        own->used = size;
        own->next = c->next;
        c->next = own;
        return own->data;
    }
    size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
    if (!c || at > c->size || c->size - at < size) {
        /* Each chunk twice the last (up to CHUNK_MAX), so a large push takes few mallocs. */
        size_t cap = c ? c->size * 2 : CHUNK_MIN;
        if (cap > CHUNK_MAX)
            cap = CHUNK_MAX;
        if (cap < size)
            cap = size;
        struct loki_push_chunk *fresh = chunk_new(cap);
        if (!fresh)
            return NULL;
        fresh->next = c;
        push->chunks = c = fresh;
        at = 0;
    }
    c->used = at + size;
    return (char *)c->data + at;
}

static char *push_strndup(struct loki_push *push, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *copy = push_alloc(push, len + 1, 1);
    if (copy) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

char *loki_push_strdup(struct loki_push *push, const char *s)
{
    return push_strndup(push, s, strlen(s));
}

/* Appends name=value to a list of labels whose strings are the push's memory (both are copied
 * there). The items array is the list's own (free with list_release). Returns 0 or -ENOMEM. */
static int list_add_text(struct loki_labels *list, const char *name, const char *value,
                         struct loki_push *push)
{
    char *n = loki_push_strdup(push, name);
    char *v = loki_push_strdup(push, value);
    if (!n || !v || labels_reserve(list) < 0)
        return -ENOMEM;
    list->items[list->count++] = (struct loki_label){n, v};
    return 0;
}

/* Appends the labels of `src`, sharing their strings. */
static int list_append_all(struct loki_labels *dst, const struct loki_labels *src)
{
    for (size_t i = 0; i < src->count; i++) {
        if (labels_reserve(dst) < 0)
            return -ENOMEM;
        dst->items[dst->count++] = src->items[i];
    }
    return 0;
}

static void list_release(struct loki_labels *list)
{
    free(list->items);
    memset(list, 0, sizeof(*list));
}

/* ---- numbers in decimal ---- */

/* `v` in decimal into `out` (24 bytes), as %" PRId64 " prints it: snprintf was a fair part of
 * a push, which writes several numbers per entry. Returns `out`. */
static char *decimal(int64_t v, char out[24])
{
    char digits[24];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t w = 0;
    if (v < 0)
        out[w++] = '-';
    while (n)
        out[w++] = digits[--n];
    out[w] = '\0';
    return out;
}

static char *decimal_unsigned(uint64_t v, char out[24])
{
    char digits[24];
    size_t n = 0, w = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        out[w++] = digits[--n];
    out[w] = '\0';
    return out;
}

/* ---- attributes to labels ---- */

/* v.AsString() in the push's memory, its length in *len. NULL on ENOMEM. */
static char *value_string(struct loki_push *push, const otlp_anyvalue *v, size_t *len)
{
    char number[24];
    const char *text = NULL;
    if (v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
        text = v->string_value ? v->string_value : "";
    else if (v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE)
        text = decimal(v->int_value, number);
    if (text) { /* the common cases, without a detour through a text builder */
        *len = strlen(text);
        return push_strndup(push, text, *len);
    }
    char *built = NULL;
    if (loki_any_value_string(v, &built, len) < 0)
        return NULL;
    char *copy = push_strndup(push, built, *len);
    free(built);
    return copy;
}

/* attributeToLabels(k, v, prefix): a map is flattened with `<normalised parent>_<child>` names,
 * anything else is one label with the normalised name and v.AsString(). Strings go to the
 * push's memory, labels to the end of `out`. */
static int attribute_to_labels(struct loki_push *push, const char *key, const otlp_anyvalue *v,
                               const char *prefix, int depth, struct loki_labels *out)
{
    size_t key_len = strlen(key), prefix_len = prefix ? strlen(prefix) : 0;
    size_t joined_len = prefix_len ? prefix_len + 1 + key_len : key_len;
    if (joined_len > SIZE_MAX - 5)
        return -ENOMEM;
    char *joined = push_alloc(push, joined_len + 1, 1);
    char *name = push_alloc(push, joined_len + 5, 1);
    if (!joined || !name)
        return -ENOMEM;
    if (prefix_len) {
        memcpy(joined, prefix, prefix_len);
        joined[prefix_len] = '_';
        memcpy(joined + prefix_len + 1, key, key_len + 1);
    } else {
        memcpy(joined, key, key_len + 1);
    }
    normalize_into(joined, joined_len, name);
    if (v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE &&
        depth < MAX_DEPTH) {
        size_t n = v->kvlist_value ? v->kvlist_value->n_values : 0;
        int rc = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            const otlp_keyvalue *kv = v->kvlist_value->values[i];
            rc = attribute_to_labels(push, kv_key(kv), kv ? kv->value : NULL, name, depth + 1, out);
        }
        return rc;
    }
    size_t value_len;
    char *value = value_string(push, v, &value_len);
    if (!value || labels_reserve(out) < 0)
        return -ENOMEM;
    out->items[out->count++] = (struct loki_label){name, value};
    return 0;
}

static int attributes_to_labels(struct loki_push *push, otlp_keyvalue *const *attrs, size_t n,
                                struct loki_labels *out)
{
    for (size_t i = 0; i < n; i++) {
        int rc = attribute_to_labels(push, kv_key(attrs[i]), attrs[i] ? attrs[i]->value : NULL,
                                     NULL, 0, out);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int append_uint(struct loki_push *push, struct loki_labels *dst, const char *name,
                       uint64_t value)
{
    char number[24];
    return list_add_text(dst, name, decimal_unsigned(value, number), push);
}

static bool id_is_empty(const ProtobufCBinaryData *id)
{
    for (size_t i = 0; i < id->len; i++)
        if (id->data[i])
            return false;
    return true;
}

static int append_id(struct loki_push *push, struct loki_labels *dst, const char *name,
                     const ProtobufCBinaryData *id)
{
    if (id_is_empty(id))
        return 0;
    if (id->len > (SIZE_MAX - 1) / 2)
        return -ENOMEM;
    char *hex = push_alloc(push, id->len * 2 + 1, 1);
    if (!hex || labels_reserve(dst) < 0)
        return -ENOMEM;
    fake_util_hex(id->data, id->len, hex);
    char *copy = loki_push_strdup(push, name);
    if (!copy)
        return -ENOMEM;
    dst->items[dst->count++] = (struct loki_label){copy, hex};
    return 0;
}

/* model.LabelSet.Validate(): names must be valid label names, values valid UTF-8. Names come
 * out of NormalizeLabel, so only an empty name (from an empty key) can fail here. */
static bool label_set_is_valid(const struct loki_labels *labels)
{
    for (size_t i = 0; i < labels->count; i++) {
        const char *name = labels->items[i].name;
        if (!name[0] || (name[0] >= '0' && name[0] <= '9'))
            return false;
        for (const char *p = name; *p; p++)
            if (!is_ascii_alnum((unsigned char)*p) && *p != '_')
                return false;
        if (!utf8_valid(labels->items[i].value, strlen(labels->items[i].value)))
            return false;
    }
    return true;
}

/* ---- entries and streams ---- */

static void stream_clear(struct loki_stream *stream)
{
    free(stream->key);
    loki_labels_clear(&stream->labels);
    free(stream->entries); /* their strings are the push's memory */
    memset(stream, 0, sizeof(*stream));
}

void loki_push_clear(struct loki_push *push)
{
    for (size_t i = 0; i < push->count; i++)
        stream_clear(&push->streams[i]);
    free(push->streams);
    while (push->chunks) {
        struct loki_push_chunk *next = push->chunks->next;
        free(push->chunks);
        push->chunks = next;
    }
    memset(push, 0, sizeof(*push));
}

/* The stream with this label string, created (taking `labels`) when new. NULL on ENOMEM. */
static struct loki_stream *stream_for(struct loki_push *push, const char *key,
                                      struct loki_labels *labels)
{
    for (size_t i = 0; i < push->count; i++)
        if (strcmp(push->streams[i].key, key) == 0)
            return &push->streams[i];
    if (push->count == push->cap) {
        size_t cap = push->cap ? push->cap * 2 : 4;
        struct loki_stream *grown = realloc(push->streams, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        push->streams = grown;
        push->cap = cap;
    }
    char *copy = strdup(key);
    if (!copy)
        return NULL;
    struct loki_stream *s = &push->streams[push->count++];
    memset(s, 0, sizeof(*s));
    s->key = copy;
    s->labels = *labels;
    memset(labels, 0, sizeof(*labels));
    return s;
}

/* A slot at the end of the stream's entries. NULL on ENOMEM. */
static struct loki_entry *stream_append(struct loki_stream *s)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct loki_entry *grown = realloc(s->entries, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        s->entries = grown;
        s->cap = cap;
    }
    struct loki_entry *e = &s->entries[s->count++];
    memset(e, 0, sizeof(*e));
    return e;
}

typedef Opentelemetry__Proto__Logs__V1__LogRecord otlp_log_record;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope otlp_scope;

/* otlpLogToPushEntry with the default config (every log attribute is structured metadata),
 * then the resource's and the scope's metadata. `sm` is scratch room for the metadata (its
 * items array is reused from record to record); the entry gets an exact copy. */
static int record_to_entry(struct loki_push *push, const otlp_log_record *lr, int64_t now_ns,
                           const struct loki_labels *resource_sm,
                           const struct loki_labels *scope_sm, struct loki_labels *sm,
                           struct loki_entry *e)
{
    sm->count = 0;
    int rc = attributes_to_labels(push, lr->attributes, lr->n_attributes, sm);
    char number[24];
    if (!rc && lr->time_unix_nano && lr->observed_time_unix_nano)
        rc = list_add_text(sm, "observed_timestamp",
                           decimal((int64_t)lr->observed_time_unix_nano, number), push);
    if (!rc && lr->severity_number != 0)
        rc = list_add_text(sm, "severity_number", decimal((int)lr->severity_number, number), push);
    if (!rc && lr->severity_text && lr->severity_text[0])
        rc = list_add_text(sm, "severity_text", lr->severity_text, push);
    if (!rc && lr->dropped_attributes_count)
        rc = append_uint(push, sm, "dropped_attributes_count", lr->dropped_attributes_count);
    if (!rc && lr->flags)
        rc = append_uint(push, sm, "flags", lr->flags);
    if (!rc)
        rc = append_id(push, sm, "trace_id", &lr->trace_id);
    if (!rc)
        rc = append_id(push, sm, "span_id", &lr->span_id);
    if (!rc)
        rc = list_append_all(sm, resource_sm);
    if (!rc)
        rc = list_append_all(sm, scope_sm);
    if (rc)
        return rc;
    e->line = value_string(push, lr->body, &e->line_len);
    if (!e->line)
        return -ENOMEM;
    if (sm->count) {
        e->metadata.items = push_alloc(push, sm->count * sizeof(*sm->items), _Alignof(max_align_t));
        if (!e->metadata.items)
            return -ENOMEM;
        memcpy(e->metadata.items, sm->items, sm->count * sizeof(*sm->items));
        e->metadata.count = e->metadata.cap = sm->count;
    }
    /* timestampFromLogRecord: time.Unix(0, int64(ts)), so a uint64 past 2^63 wraps as in Go. */
    e->timestamp_ns = lr->time_unix_nano            ? (int64_t)lr->time_unix_nano
                      : lr->observed_time_unix_nano ? (int64_t)lr->observed_time_unix_nano
                                                    : now_ns;
    return 0;
}

static int scope_metadata(struct loki_push *push, const otlp_scope *scope, struct loki_labels *sm)
{
    if (!scope)
        return 0;
    int rc = attributes_to_labels(push, scope->attributes, scope->n_attributes, sm);
    if (!rc && scope->name && scope->name[0])
        rc = list_add_text(sm, "scope_name", scope->name, push);
    if (!rc && scope->version && scope->version[0])
        rc = list_add_text(sm, "scope_version", scope->version, push);
    if (!rc && scope->dropped_attributes_count)
        rc = append_uint(push, sm, "scope_dropped_attributes_count",
                         scope->dropped_attributes_count);
    return rc;
}

/* The stream labels (a malloc'd set) and the structured metadata (in the push's memory) of one
 * resource. */
static int resource_labels(struct loki_push *push, const otlp_resource *res,
                           struct loki_labels *labels, struct loki_labels *sm)
{
    otlp_keyvalue *const *attrs = res ? res->attributes : NULL;
    size_t n = res ? res->n_attributes : 0;
    bool has_service_name = false;
    /* resAttrs.Get("service.name") finds the first attribute of that name. */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kv_key(attrs[i]), "service.name") == 0) {
            char *s = NULL;
            if (loki_any_value_string(attrs[i]->value, &s, NULL) < 0)
                return -ENOMEM;
            has_service_name = s[0] != '\0';
            free(s);
            break;
        }
    }
    struct loki_labels produced = {0};
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *key = kv_key(attrs[i]);
        const otlp_anyvalue *v = attrs[i] ? attrs[i]->value : NULL;
        if (!loki_is_index_attribute(key)) {
            rc = attribute_to_labels(push, key, v, NULL, 0, sm);
            continue;
        }
        produced.count = 0;
        rc = attribute_to_labels(push, key, v, NULL, 0, &produced);
        for (size_t j = 0; j < produced.count && !rc; j++) {
            const struct loki_label *l = &produced.items[j];
            rc = loki_labels_set(labels, l->name, l->value);
            /* Discovery happens while walking the attributes, so it is the first index label
             * in attribute order that wins, and a later attribute may still overwrite it. */
            if (!rc && !has_service_name && loki_is_service_name_source(l->name)) {
                rc = loki_labels_set(labels, "service_name", l->value);
                has_service_name = true;
            }
        }
    }
    list_release(&produced);
    if (!rc && !has_service_name)
        rc = loki_labels_set(labels, "service_name", "unknown_service");
    return rc;
}

typedef Opentelemetry__Proto__Logs__V1__ResourceLogs otlp_resource_logs;

static size_t count_records(const otlp_logs_req *req)
{
    size_t n = 0;
    for (size_t i = 0; i < req->n_resource_logs; i++) {
        const otlp_resource_logs *rl = req->resource_logs[i];
        for (size_t j = 0; rl && j < rl->n_scope_logs; j++)
            n += rl->scope_logs[j] ? rl->scope_logs[j]->n_log_records : 0;
    }
    return n;
}

int loki_otlp_translate(const otlp_logs_req *req, int64_t now_ns, struct loki_push *out)
{
    memset(out, 0, sizeof(*out));
    out->records = count_records(req);
    if (out->records == 0)
        return 0; /* otlp.go returns an empty push request */
    struct loki_labels labels = {0}, resource_sm = {0}, scope_sm = {0}, sm = {0};
    char *key = NULL;
    int rc = 0;
    for (size_t i = 0; i < req->n_resource_logs && !rc; i++) {
        const otlp_resource_logs *rl = req->resource_logs[i];
        if (!rl)
            continue;
        resource_sm.count = 0;
        rc = resource_labels(out, rl->resource, &labels, &resource_sm);
        if (rc)
            break;
        if (!label_set_is_valid(&labels)) {
            /* otlp.go records "invalid labels" in its stats and skips the resource. */
            out->invalid_resources++;
            loki_labels_clear(&labels);
            continue;
        }
        key = loki_labels_string(&labels);
        struct loki_stream *stream = key ? stream_for(out, key, &labels) : NULL;
        free(key);
        key = NULL;
        loki_labels_clear(&labels);
        if (!stream) {
            rc = -ENOMEM;
            break;
        }
        /* `stream` stays valid: no stream is added until the next resource. */
        for (size_t j = 0; j < rl->n_scope_logs && !rc; j++) {
            const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[j];
            if (!sl)
                continue;
            scope_sm.count = 0;
            rc = scope_metadata(out, sl->scope, &scope_sm);
            for (size_t k = 0; k < sl->n_log_records && !rc; k++) {
                if (!sl->log_records[k])
                    continue;
                struct loki_entry *entry = stream_append(stream);
                rc = entry ? record_to_entry(out, sl->log_records[k], now_ns, &resource_sm,
                                             &scope_sm, &sm, entry)
                           : -ENOMEM;
            }
        }
    }
    loki_labels_clear(&labels);
    list_release(&resource_sm);
    list_release(&scope_sm);
    list_release(&sm);
    if (rc) {
        loki_push_clear(out);
        return rc;
    }
    return 0;
}
