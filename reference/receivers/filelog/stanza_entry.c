/*
 * stanza_entry.c - the entry that flows between filelog operators, and field paths on it.
 *
 * Mirrors contrib v0.142 pkg/stanza/entry/{entry,field,body_field,attribute_field,
 * resource_field}.go on top of the OTLP LogRecord (pdata), including upstream's quirks, on
 * purpose:
 *   - a field is `body`, `body.a.b`, `attributes.x`, `attributes["x.y"]`, `resource["k"]`
 *     (fromJSONDot's state machine); any other first key is "unrecognized prefix";
 *   - Set with a map value merges it into the target map (AttributeField.Merge), and on a body
 *     that is not a map it replaces the whole body with the map (BodyField.Merge);
 *   - Set through a missing or non-map intermediate key creates / replaces it with a map
 *     (getNestedMap), so Set never fails on a path; only the attributes / resource root refuse a
 *     non-map value ("cannot set attributes root");
 *   - `body` itself always exists (a nil body is a value), attributes / resource exist only when
 *     there is at least one key.
 * Not done: `$`-prefixed fields of old stanza versions (upstream dropped them too).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "operators/operator.h"
#include "stanza.h"

#define KV_DESC opentelemetry__proto__common__v1__key_value__descriptor
#define ANY_DESC opentelemetry__proto__common__v1__any_value__descriptor

/* ---- values ---- */

static void message_free(ProtobufCMessage *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, pdata_allocator());
}

void stanza_value_free(otlp_anyvalue *v)
{
    if (v)
        message_free(&v->base);
}

static otlp_anyvalue *value_new(void)
{
    otlp_anyvalue *v = pdata_alloc(sizeof(*v));
    if (v)
        opentelemetry__proto__common__v1__any_value__init(v);
    return v;
}

otlp_anyvalue *stanza_value_nil(void)
{
    return value_new();
}

otlp_anyvalue *stanza_value_string_take(char *s)
{
    otlp_anyvalue *v = value_new();
    if (!v)
        return NULL;
    v->value_case = ANY_STRING;
    v->string_value = s;
    return v;
}

otlp_anyvalue *stanza_value_string_n(const char *s, size_t len)
{
    char *copy = pdata_alloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    otlp_anyvalue *v = stanza_value_string_take(copy);
    if (!v)
        pdata_free(copy);
    return v;
}

otlp_anyvalue *stanza_value_string(const char *s)
{
    return stanza_value_string_n(s, strlen(s));
}

otlp_anyvalue *stanza_value_int(int64_t i)
{
    otlp_anyvalue *v = value_new();
    if (v) {
        v->value_case = ANY_INT;
        v->int_value = i;
    }
    return v;
}

otlp_anyvalue *stanza_value_double(double d)
{
    otlp_anyvalue *v = value_new();
    if (v) {
        v->value_case = ANY_DOUBLE;
        v->double_value = d;
    }
    return v;
}

otlp_anyvalue *stanza_value_bool(bool b)
{
    otlp_anyvalue *v = value_new();
    if (v) {
        v->value_case = ANY_BOOL;
        v->bool_value = b;
    }
    return v;
}

otlp_anyvalue *stanza_value_map(void)
{
    otlp_anyvalue *v = value_new();
    otlp_kvlist *l = pdata_alloc(sizeof(*l));
    if (!v || !l) {
        pdata_free(l);
        stanza_value_free(v);
        return NULL;
    }
    opentelemetry__proto__common__v1__key_value_list__init(l);
    v->value_case = ANY_KVLIST;
    v->kvlist_value = l;
    return v;
}

otlp_anyvalue *stanza_value_array(void)
{
    otlp_anyvalue *v = value_new();
    otlp_array *a = pdata_alloc(sizeof(*a));
    if (!v || !a) {
        pdata_free(a);
        stanza_value_free(v);
        return NULL;
    }
    opentelemetry__proto__common__v1__array_value__init(a);
    v->value_case = ANY_ARRAY;
    v->array_value = a;
    return v;
}

bool stanza_value_is_map(const otlp_anyvalue *v)
{
    return v && v->value_case == ANY_KVLIST && v->kvlist_value;
}

const char *stanza_value_str(const otlp_anyvalue *v)
{
    return v && v->value_case == ANY_STRING ? v->string_value : NULL;
}

static otlp_keyvalue *kv_clone(const otlp_keyvalue *src);

otlp_anyvalue *stanza_value_clone(const otlp_anyvalue *src)
{
    if (!src || src->value_case == ANY_NOT_SET)
        return value_new();
    otlp_anyvalue *v = NULL;
    switch (src->value_case) {
    case ANY_STRING: return stanza_value_string(src->string_value ? src->string_value : "");
    case ANY_BOOL: return stanza_value_bool(src->bool_value);
    case ANY_INT: return stanza_value_int(src->int_value);
    case ANY_DOUBLE: return stanza_value_double(src->double_value);
    case ANY_BYTES:
        if (!(v = value_new()))
            return NULL;
        v->value_case = ANY_BYTES;
        if (src->bytes_value.len) {
            v->bytes_value.data = pdata_alloc(src->bytes_value.len);
            if (!v->bytes_value.data)
                goto fail;
            memcpy(v->bytes_value.data, src->bytes_value.data, src->bytes_value.len);
            v->bytes_value.len = src->bytes_value.len;
        }
        return v;
    case ANY_ARRAY: {
        if (!(v = stanza_value_array()))
            return NULL;
        size_t n = src->array_value ? src->array_value->n_values : 0;
        if (n) {
            v->array_value->values = pdata_calloc(n, sizeof(otlp_anyvalue *));
            if (!v->array_value->values)
                goto fail;
            for (size_t i = 0; i < n; i++) {
                otlp_anyvalue *item = stanza_value_clone(src->array_value->values[i]);
                if (!item)
                    goto fail;
                v->array_value->values[v->array_value->n_values++] = item;
            }
        }
        return v;
    }
    case ANY_KVLIST: {
        if (!(v = stanza_value_map()))
            return NULL;
        size_t n = src->kvlist_value ? src->kvlist_value->n_values : 0;
        if (n) {
            v->kvlist_value->values = pdata_calloc(n, sizeof(otlp_keyvalue *));
            if (!v->kvlist_value->values)
                goto fail;
            for (size_t i = 0; i < n; i++) {
                otlp_keyvalue *kv = kv_clone(src->kvlist_value->values[i]);
                if (!kv)
                    goto fail;
                v->kvlist_value->values[v->kvlist_value->n_values++] = kv;
            }
        }
        return v;
    }
    default: return value_new();
    }
fail:
    stanza_value_free(v);
    return NULL;
}

otlp_keyvalue *stanza_kv_new(const char *key, size_t key_len, otlp_anyvalue *value)
{
    otlp_keyvalue *kv = pdata_alloc(sizeof(*kv));
    char *k = pdata_alloc(key_len + 1);
    if (!kv || !k) {
        pdata_free(kv);
        pdata_free(k);
        return NULL;
    }
    opentelemetry__proto__common__v1__key_value__init(kv);
    memcpy(k, key, key_len);
    k[key_len] = '\0';
    kv->key = k;
    kv->value = value;
    return kv;
}

static otlp_keyvalue *kv_clone(const otlp_keyvalue *src)
{
    otlp_anyvalue *v = stanza_value_clone(src->value);
    if (!v)
        return NULL;
    const char *key = src->key ? src->key : "";
    otlp_keyvalue *kv = stanza_kv_new(key, strlen(key), v);
    if (!kv)
        stanza_value_free(v);
    return kv;
}

otlp_anyvalue *stanza_value_from_json(const json_t *j)
{
    otlp_anyvalue *v = NULL;
    switch (json_typeof(j)) {
    case JSON_STRING: return stanza_value_string_n(json_string_value(j), json_string_length(j));
    case JSON_INTEGER: return stanza_value_int(json_integer_value(j));
    case JSON_REAL: return stanza_value_double(json_real_value(j));
    case JSON_TRUE: return stanza_value_bool(true);
    case JSON_FALSE: return stanza_value_bool(false);
    case JSON_NULL: return value_new();
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        if (!(v = stanza_value_array()))
            return NULL;
        if (n && !(v->array_value->values = pdata_calloc(n, sizeof(otlp_anyvalue *))))
            goto fail;
        for (size_t i = 0; i < n; i++) {
            otlp_anyvalue *item = stanza_value_from_json(json_array_get(j, i));
            if (!item)
                goto fail;
            v->array_value->values[v->array_value->n_values++] = item;
        }
        return v;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(j);
        if (!(v = stanza_value_map()))
            return NULL;
        if (n && !(v->kvlist_value->values = pdata_calloc(n, sizeof(otlp_keyvalue *))))
            goto fail;
        const char *key;
        size_t key_len;
        json_t *item;
        json_object_keylen_foreach((json_t *)j, key, key_len, item)
        {
            otlp_anyvalue *iv = stanza_value_from_json(item);
            if (!iv)
                goto fail;
            otlp_keyvalue *kv = stanza_kv_new(key, key_len, iv);
            if (!kv) {
                stanza_value_free(iv);
                goto fail;
            }
            v->kvlist_value->values[v->kvlist_value->n_values++] = kv;
        }
        return v;
    }
    }
fail:
    stanza_value_free(v);
    return NULL;
}

/* ---- key/value arrays ---- */

static ptrdiff_t kv_index(otlp_keyvalue *const *kvs, size_t n, const char *key, size_t key_len)
{
    /* Compares up to the first difference instead of measuring every key: the lookups of
     * parsers and moves run several times per line over a handful of keys. */
    for (size_t i = 0; i < n; i++) {
        const char *k = kvs[i]->key;
        if (k && (key_len == 0 || k[0] == key[0]) && !strncmp(k, key, key_len) &&
            k[key_len] == '\0')
            return (ptrdiff_t)i;
    }
    return -1;
}

otlp_anyvalue *stanza_kv_get(otlp_keyvalue *const *kvs, size_t n, const char *key)
{
    ptrdiff_t i = kv_index(kvs, n, key, strlen(key));
    return i < 0 ? NULL : kvs[i]->value;
}

int stanza_kv_upsert_n(otlp_keyvalue ***kvs, size_t *n, const char *key, size_t key_len,
                       otlp_anyvalue *value)
{
    ptrdiff_t i = kv_index(*kvs, *n, key, key_len);
    if (i >= 0) {
        stanza_value_free((*kvs)[i]->value);
        (*kvs)[i]->value = value;
        return 0;
    }
    otlp_keyvalue *kv = stanza_kv_new(key, key_len, value);
    otlp_keyvalue **grown = kv ? pdata_alloc((*n + 1) * sizeof(*grown)) : NULL;
    if (!grown) {
        if (kv)
            kv->value = NULL;
        message_free(kv ? &kv->base : NULL);
        stanza_value_free(value);
        return -ENOMEM;
    }
    if (*n)
        memcpy(grown, *kvs, *n * sizeof(*grown));
    grown[*n] = kv;
    pdata_free(*kvs);
    *kvs = grown;
    (*n)++;
    return 0;
}

int stanza_kv_upsert(otlp_keyvalue ***kvs, size_t *n, const char *key, otlp_anyvalue *value)
{
    return stanza_kv_upsert_n(kvs, n, key, strlen(key), value);
}

otlp_anyvalue *stanza_kv_take(otlp_keyvalue ***kvs, size_t *n, const char *key)
{
    ptrdiff_t i = kv_index(*kvs, *n, key, strlen(key));
    if (i < 0)
        return NULL;
    otlp_keyvalue *kv = (*kvs)[i];
    otlp_anyvalue *v = kv->value;
    kv->value = NULL;
    message_free(&kv->base);
    /* keep the order of the rest; the array keeps its size (freed as a whole later) */
    memmove(&(*kvs)[i], &(*kvs)[i + 1], (*n - (size_t)i - 1) * sizeof(**kvs));
    (*n)--;
    if (!v)
        v = value_new();
    return v;
}

void stanza_kv_free_all(otlp_keyvalue ***kvs, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        message_free(&(*kvs)[i]->base);
    pdata_free(*kvs);
    *kvs = NULL;
    *n = 0;
}

int stanza_kv_merge_map(otlp_keyvalue ***kvs, size_t *n, otlp_anyvalue *from)
{
    int rc = 0;
    otlp_kvlist *l = from->kvlist_value;
    /* Count the new keys first so the array grows once, not once per key. */
    size_t fresh = 0;
    for (size_t i = 0; i < l->n_values; i++)
        if (kv_index(*kvs, *n, l->values[i]->key, strlen(l->values[i]->key)) < 0)
            fresh++;
    if (fresh) {
        otlp_keyvalue **grown = pdata_alloc((*n + fresh) * sizeof(*grown));
        if (!grown) {
            rc = -ENOMEM;
            goto done;
        }
        if (*n)
            memcpy(grown, *kvs, *n * sizeof(*grown));
        pdata_free(*kvs);
        *kvs = grown;
    }
    for (size_t i = 0; i < l->n_values; i++) {
        otlp_keyvalue *kv = l->values[i];
        ptrdiff_t at = kv_index(*kvs, *n, kv->key, strlen(kv->key));
        if (at >= 0) {
            stanza_value_free((*kvs)[at]->value);
            (*kvs)[at]->value = kv->value;
            kv->value = NULL;
            message_free(&kv->base);
        } else {
            (*kvs)[(*n)++] = kv;
        }
        l->values[i] = NULL;
    }
    l->n_values = 0;
done:
    stanza_value_free(from);
    return rc;
}

/* ---- entries ---- */

struct stanza_entry *stanza_entry_new(void)
{
    struct stanza_entry *e = calloc(1, sizeof(*e));
    otlp_log_record *r = pdata_alloc(sizeof(*r));
    if (!e || !r) {
        free(e);
        pdata_free(r);
        return NULL;
    }
    opentelemetry__proto__logs__v1__log_record__init(r);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r->observed_time_unix_nano = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    e->record = r;
    return e;
}

void stanza_entry_free(struct stanza_entry *e)
{
    if (!e)
        return;
    if (e->record)
        message_free(&e->record->base);
    stanza_kv_free_all(&e->resource, &e->n_resource);
    free(e);
}

static int kvs_clone(otlp_keyvalue *const *src, size_t n, otlp_keyvalue ***out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!n)
        return 0;
    if (!(*out = pdata_calloc(n, sizeof(**out))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!((*out)[i] = kv_clone(src[i])))
            return -ENOMEM;
        (*n_out)++;
    }
    return 0;
}

struct stanza_entry *stanza_entry_clone(const struct stanza_entry *src)
{
    struct stanza_entry *e = stanza_entry_new();
    if (!e)
        return NULL;
    otlp_log_record *r = e->record, *s = src->record;
    r->time_unix_nano = s->time_unix_nano;
    r->observed_time_unix_nano = s->observed_time_unix_nano;
    r->severity_number = s->severity_number;
    r->flags = s->flags;
    if (s->severity_text && s->severity_text[0] &&
        stanza_entry_set_severity_text(e, s->severity_text) < 0)
        goto fail;
    if (s->body && !(r->body = stanza_value_clone(s->body)))
        goto fail;
    if (kvs_clone(s->attributes, s->n_attributes, &r->attributes, &r->n_attributes) < 0 ||
        kvs_clone(src->resource, src->n_resource, &e->resource, &e->n_resource) < 0)
        goto fail;
    return e;
fail:
    stanza_entry_free(e);
    return NULL;
}

int stanza_entry_set_severity_text(struct stanza_entry *e, const char *text)
{
    char *copy = pdata_strdup(text);
    if (!copy)
        return -ENOMEM;
    if (e->record->severity_text && e->record->severity_text != protobuf_c_empty_string)
        pdata_free(e->record->severity_text);
    e->record->severity_text = copy;
    return 0;
}

/* ---- field paths (entry/field.go fromJSONDot) ---- */

void stanza_field_release(struct stanza_field *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_keys; i++)
        free(f->keys[i]);
    free(f->keys);
    f->keys = NULL;
    f->n_keys = 0;
}

static int push_key(char ***keys, size_t *n, const char *s, size_t len)
{
    char **grown = realloc(*keys, (*n + 1) * sizeof(char *));
    if (!grown)
        return -ENOMEM;
    *keys = grown;
    if (!(grown[*n] = strndup(s, len)))
        return -ENOMEM;
    (*n)++;
    return 0;
}

static int split_field(const char *s, char ***keys, size_t *n, const char **problem)
{
    enum { BEGIN, IN_BRACKET, IN_QUOTE, OUT_QUOTE, OUT_BRACKET, IN_TOKEN } state = BEGIN;
    char quote = 0;
    size_t start = 0;
    int rc = 0;
    for (size_t i = 0; s[i] && rc == 0; i++) {
        char c = s[i];
        switch (state) {
        case BEGIN:
            if (c == '[') {
                state = IN_BRACKET;
                continue;
            }
            start = i;
            state = IN_TOKEN;
            break;
        case IN_BRACKET:
            if (c != '\'' && c != '"') {
                *problem = "strings in brackets must be surrounded by quotes";
                return -EINVAL;
            }
            state = IN_QUOTE;
            quote = c;
            start = i + 1;
            break;
        case IN_QUOTE:
            if (c == quote) {
                rc = push_key(keys, n, s + start, i - start);
                state = OUT_QUOTE;
            }
            break;
        case OUT_QUOTE:
            if (c != ']') {
                *problem = "found characters between closed quote and closing bracket";
                return -EINVAL;
            }
            state = OUT_BRACKET;
            break;
        case OUT_BRACKET:
            if (c == '.') {
                state = IN_TOKEN;
                start = i + 1;
            } else if (c == '[') {
                state = IN_BRACKET;
            } else {
                *problem = "bracketed access must be followed by a dot or another bracketed access";
                return -EINVAL;
            }
            break;
        case IN_TOKEN:
            if (c == '.') {
                rc = push_key(keys, n, s + start, i - start);
                start = i + 1;
            } else if (c == '[') {
                rc = push_key(keys, n, s + start, i - start);
                state = IN_BRACKET;
            }
            break;
        }
    }
    if (rc < 0)
        return rc;
    switch (state) {
    case IN_BRACKET:
    case OUT_QUOTE: *problem = "found unclosed left bracket"; return -EINVAL;
    case IN_QUOTE:
        *problem = quote == '"' ? "found unclosed double quote" : "found unclosed single quote";
        return -EINVAL;
    case IN_TOKEN: rc = push_key(keys, n, s + start, strlen(s + start)); break;
    default: break;
    }
    if (rc == 0 && *n == 0) {
        *problem = "fields size is 0";
        return -EINVAL;
    }
    return rc;
}

static int field_parse(const char *text, bool rootable, struct stanza_field *out, struct error *err)
{
    char **keys = NULL;
    size_t n = 0;
    const char *problem = NULL;
    memset(out, 0, sizeof(*out));
    int rc = split_field(text, &keys, &n, &problem);
    if (rc == -ENOMEM) {
        error_set(err, rc, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    if (rc < 0) {
        error_set(err, rc, ERROR_PERMANENT, "splitting field: %s", problem);
        goto fail;
    }
    if (!strcmp(keys[0], "body")) {
        out->root = STANZA_FIELD_BODY;
    } else if (!strcmp(keys[0], "attributes") || !strcmp(keys[0], "resource")) {
        bool attrs = keys[0][0] == 'a';
        out->root = attrs ? STANZA_FIELD_ATTRIBUTES : STANZA_FIELD_RESOURCE;
        if (!rootable && n == 1) {
            rc =
                error_set(err, -EINVAL, ERROR_PERMANENT, "%s cannot be referenced without subfield",
                          attrs ? "attributes" : "resource");
            goto fail;
        }
    } else {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "unrecognized prefix");
        goto fail;
    }
    free(keys[0]);
    memmove(keys, keys + 1, (n - 1) * sizeof(char *));
    out->keys = keys;
    out->n_keys = n - 1;
    return 0;
fail:
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    return rc;
}

int stanza_field_parse(const char *text, struct stanza_field *out, struct error *err)
{
    return field_parse(text, true, out, err);
}

int stanza_field_parse_strict(const char *text, struct stanza_field *out, struct error *err)
{
    return field_parse(text, false, out, err);
}

const char *stanza_field_string(const struct stanza_field *f, char *buf, size_t size)
{
    static const char *const roots[] = {"body", "attributes", "resource"};
    size_t used = (size_t)snprintf(buf, size, "%s", roots[f->root]);
    bool dots = false;
    for (size_t i = 0; i < f->n_keys; i++)
        dots = dots || strchr(f->keys[i], '.');
    for (size_t i = 0; i < f->n_keys && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, dots ? "['%s']" : ".%s", f->keys[i]);
    return buf;
}

/* The top-level key/value array of a root (NULL for the body). */
static void root_kvs(struct stanza_entry *e, enum stanza_field_root root, otlp_keyvalue ****kvs,
                     size_t **n)
{
    if (root == STANZA_FIELD_ATTRIBUTES) {
        *kvs = &e->record->attributes;
        *n = &e->record->n_attributes;
    } else {
        *kvs = &e->resource;
        *n = &e->n_resource;
    }
}

static const otlp_anyvalue nil_value = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;

const otlp_anyvalue *stanza_field_get(const struct stanza_entry *ce, const struct stanza_field *f)
{
    struct stanza_entry *e = (struct stanza_entry *)ce;
    const otlp_anyvalue *cur;
    size_t first;
    if (f->root == STANZA_FIELD_BODY) {
        cur = e->record->body ? e->record->body : &nil_value;
        if (f->n_keys == 0)
            return cur; /* the body always exists, even nil (BodyField.Get) */
        first = 0;
    } else {
        otlp_keyvalue ***kvs;
        size_t *n;
        root_kvs(e, f->root, &kvs, &n);
        if (f->n_keys == 0 || *n == 0)
            return NULL;
        cur = stanza_kv_get(*kvs, *n, f->keys[0]);
        first = 1;
    }
    for (size_t i = first; cur && i < f->n_keys; i++) {
        if (!stanza_value_is_map(cur))
            return NULL;
        cur = stanza_kv_get(cur->kvlist_value->values, cur->kvlist_value->n_values, f->keys[i]);
    }
    return cur;
}

/* getNestedMap: the map at `key` in kvs, created (or replacing a non-map) when needed. */
static otlp_anyvalue *nested_map(otlp_keyvalue ***kvs, size_t *n, const char *key)
{
    otlp_anyvalue *cur = stanza_kv_get(*kvs, *n, key);
    if (stanza_value_is_map(cur))
        return cur;
    otlp_anyvalue *m = stanza_value_map();
    if (!m || stanza_kv_upsert(kvs, n, key, m) < 0)
        return NULL;
    return m;
}

int stanza_field_set(struct stanza_entry *e, const struct stanza_field *f, otlp_anyvalue *value)
{
    otlp_keyvalue ***kvs;
    size_t *n;
    bool is_map = stanza_value_is_map(value);
    if (f->root == STANZA_FIELD_BODY) {
        otlp_anyvalue *body = e->record->body;
        if (f->n_keys == 0 || (is_map && !stanza_value_is_map(body))) {
            /* root set, or BodyField.Merge on a non-map body: the map becomes the body */
            stanza_value_free(body);
            e->record->body = value;
            return 0;
        }
        if (!stanza_value_is_map(body)) {
            otlp_anyvalue *m = stanza_value_map();
            if (!m) {
                stanza_value_free(value);
                return -ENOMEM;
            }
            stanza_value_free(body);
            e->record->body = body = m;
        }
        kvs = &body->kvlist_value->values;
        n = &body->kvlist_value->n_values;
    } else {
        root_kvs(e, f->root, &kvs, &n);
        if (f->n_keys == 0 && !is_map) {
            stanza_value_free(value);
            return -EINVAL; /* "cannot set attributes root" */
        }
    }
    size_t walk = is_map ? f->n_keys : f->n_keys - 1;
    for (size_t i = 0; i < walk; i++) {
        otlp_anyvalue *m = nested_map(kvs, n, f->keys[i]);
        if (!m) {
            stanza_value_free(value);
            return -ENOMEM;
        }
        kvs = &m->kvlist_value->values;
        n = &m->kvlist_value->n_values;
    }
    if (is_map)
        return stanza_kv_merge_map(kvs, n, value);
    return stanza_kv_upsert(kvs, n, f->keys[f->n_keys - 1], value);
}

int stanza_field_delete(struct stanza_entry *e, const struct stanza_field *f,
                        otlp_anyvalue **removed)
{
    otlp_anyvalue *old = NULL;
    otlp_keyvalue ***kvs;
    size_t *n;
    if (removed)
        *removed = NULL;
    if (f->root == STANZA_FIELD_BODY) {
        if (f->n_keys == 0) {
            old = e->record->body ? e->record->body : value_new();
            e->record->body = NULL;
            if (!old)
                return -ENOMEM;
            goto found;
        }
        if (!stanza_value_is_map(e->record->body))
            return -ENOENT;
        kvs = &e->record->body->kvlist_value->values;
        n = &e->record->body->kvlist_value->n_values;
    } else {
        root_kvs(e, f->root, &kvs, &n);
        if (*n == 0)
            return -ENOENT;
        if (f->n_keys == 0) {
            /* the whole map goes: hand it over as a kvlist */
            if (!(old = stanza_value_map()))
                return -ENOMEM;
            old->kvlist_value->values = *kvs;
            old->kvlist_value->n_values = *n;
            *kvs = NULL;
            *n = 0;
            goto found;
        }
    }
    for (size_t i = 0; i + 1 < f->n_keys; i++) {
        otlp_anyvalue *m = stanza_kv_get(*kvs, *n, f->keys[i]);
        if (!stanza_value_is_map(m))
            return -ENOENT;
        kvs = &m->kvlist_value->values;
        n = &m->kvlist_value->n_values;
    }
    old = stanza_kv_take(kvs, n, f->keys[f->n_keys - 1]);
    if (!old)
        return -ENOENT;
found:
    if (removed)
        *removed = old;
    else
        stanza_value_free(old);
    return 0;
}

int stanza_field_move_top_level(struct stanza_entry *e, const struct stanza_field *from,
                                const struct stanza_field *to)
{
    if (from->root == STANZA_FIELD_BODY || to->root == STANZA_FIELD_BODY || from->n_keys != 1 ||
        to->n_keys != 1)
        return -ENOTSUP;
    otlp_keyvalue ***src, ***dst;
    size_t *n_src, *n_dst;
    root_kvs(e, from->root, &src, &n_src);
    root_kvs(e, to->root, &dst, &n_dst);
    const char *from_key = from->keys[0], *to_key = to->keys[0];
    ptrdiff_t i = kv_index(*src, *n_src, from_key, strlen(from_key));
    if (i < 0)
        return -ENOENT;
    otlp_keyvalue *kv = (*src)[i];
    if (!kv->value || stanza_value_is_map(kv->value))
        return -ENOTSUP; /* a map merges into a map target: the general path */
    size_t to_len = strlen(to_key);
    ptrdiff_t at = kv_index(*dst, *n_dst, to_key, to_len);
    if (at == i && dst == src)
        return -ENOTSUP; /* onto itself: the general path moves it to the end, as before */
    char *renamed = NULL;
    otlp_keyvalue **grown = NULL;
    if (at < 0) {
        if (strcmp(kv->key, to_key) != 0 && !(renamed = pdata_alloc(to_len + 1)))
            return -ENOMEM;
        if (!(grown = pdata_alloc((*n_dst + 1) * sizeof(*grown)))) {
            pdata_free(renamed);
            return -ENOMEM;
        }
    }
    /* Nothing can fail from here: detach from the source, keeping the others' order. */
    memmove(&(*src)[i], &(*src)[i + 1], (*n_src - (size_t)i - 1) * sizeof(**src));
    (*n_src)--;
    if (at >= 0) {
        if (dst == src && at > i)
            at--;
        stanza_value_free((*dst)[at]->value);
        (*dst)[at]->value = kv->value;
        kv->value = NULL;
        message_free(&kv->base);
        return 0;
    }
    if (renamed) {
        memcpy(renamed, to_key, to_len + 1);
        pdata_free(kv->key);
        kv->key = renamed;
    }
    if (*n_dst)
        memcpy(grown, *dst, *n_dst * sizeof(*grown));
    grown[(*n_dst)++] = kv;
    pdata_free(*dst);
    *dst = grown;
    return 0;
}
