/*
 * golden.c - canonical JSON printer, ordering rules, golden file I/O (see golden.h).
 */
#include "golden.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a bounded text buffer ---- */

struct text {
    char *data;
    size_t len, cap;
    bool failed;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        if (cap > GOLDEN_MAX_TEXT) {
            t->failed = true;
            return;
        }
        char *grown = realloc(t->data, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->data = grown;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void text_str(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

static void text_indent(struct text *t, int depth)
{
    static const char spaces[] = "                                                                ";
    size_t n = (size_t)depth * 2;
    while (n > 0) {
        size_t chunk = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        text_add(t, spaces, chunk);
        n -= chunk;
    }
}

static void text_json_string(struct text *t, const char *s, size_t len)
{
    text_add(t, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char ubuf[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c < 0x20) {
                snprintf(ubuf, sizeof(ubuf), "\\u%04x", c);
                esc = ubuf;
            }
        }
        if (esc) {
            text_add(t, s + start, i - start);
            text_str(t, esc);
            start = i + 1;
        }
    }
    text_add(t, s + start, len - start);
    text_add(t, "\"", 1);
}

/* The shortest %g form that reads back as the same double, with ".0" when it looks integral. */
static void format_real(double v, char *buf, size_t size)
{
    if (!isfinite(v)) {
        /* JSON has no NaN/Inf; jansson cannot hold them either, so this is unreachable. */
        snprintf(buf, size, "null");
        return;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, size, "%.*g", precision, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".eEn"))
        strncat(buf, ".0", size - strlen(buf) - 1);
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_value(struct text *t, const json_t *v, int depth)
{
    char buf[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        if (n == 0) {
            text_str(t, "{}");
            return;
        }
        const char **keys = malloc(n * sizeof(*keys));
        if (!keys) {
            t->failed = true;
            return;
        }
        size_t i = 0;
        const char *key;
        json_t *member;
        json_object_foreach((json_t *)v, key, member) keys[i++] = key;
        qsort(keys, n, sizeof(*keys), compare_keys);
        text_str(t, "{\n");
        for (i = 0; i < n; i++) {
            text_indent(t, depth + 1);
            text_json_string(t, keys[i], strlen(keys[i]));
            text_str(t, ": ");
            print_value(t, json_object_get(v, keys[i]), depth + 1);
            text_str(t, i + 1 < n ? ",\n" : "\n");
        }
        text_indent(t, depth);
        text_str(t, "}");
        free(keys);
        return;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (n == 0) {
            text_str(t, "[]");
            return;
        }
        text_str(t, "[\n");
        for (size_t i = 0; i < n; i++) {
            text_indent(t, depth + 1);
            print_value(t, json_array_get(v, i), depth + 1);
            text_str(t, i + 1 < n ? ",\n" : "\n");
        }
        text_indent(t, depth);
        text_str(t, "]");
        return;
    }
    case JSON_STRING: text_json_string(t, json_string_value(v), json_string_length(v)); return;
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        text_str(t, buf);
        return;
    case JSON_REAL:
        format_real(json_real_value(v), buf, sizeof(buf));
        text_str(t, buf);
        return;
    case JSON_TRUE: text_str(t, "true"); return;
    case JSON_FALSE: text_str(t, "false"); return;
    case JSON_NULL: text_str(t, "null"); return;
    }
}

char *golden_canonical_text(const json_t *doc, size_t *len)
{
    struct text t = {0};
    print_value(&t, doc, 0);
    text_str(&t, "\n");
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    if (len)
        *len = t.len;
    return t.data;
}

/* ---- ordering rules ---- */

/* Arrays whose order says nothing a dashboard shows. `path` is a dotted path of object keys
 * from the document root; "*" matches every member of an object or element of an array.
 * Each named array is sorted by the canonical text of its elements. */
static const struct ordering_rule {
    const char *view; /* fnmatch pattern */
    const char *path;
} ordering_rules[] = {
    /* fakes/loki.h sorts streams by Loki's label string already; sorting again by canonical
     * text keeps goldens stable if a fake (or a remote backend) changes its order. Entries
     * stay in arrival order: that order is what Loki shows. */
    {"loki", "tenants.*.streams"},
    /* fakes/prometheus.h sorts series by label set; samples stay in time order. */
    {"prometheus", "series"},
    /* fakes/tempo.h sorts traces by id and spans by start time; both kept as a backstop. */
    {"tempo", "traces"},
};

static int compare_canonical(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct keyed {
    char *text;
    json_t *value;
};

static int compare_keyed(const void *a, const void *b)
{
    return compare_canonical(&((const struct keyed *)a)->text, &((const struct keyed *)b)->text);
}

int golden_sort_array(json_t *array, bool unique)
{
    size_t n = json_array_size(array);
    if (n < 2)
        return 0;
    struct keyed *items = calloc(n, sizeof(*items));
    if (!items)
        return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        items[i].value = json_incref(json_array_get(array, i));
        items[i].text = golden_canonical_text(items[i].value, NULL);
        if (!items[i].text)
            rc = -ENOMEM;
    }
    if (rc == 0) {
        /* qsort is not stable, but equal canonical texts are equal values: order is moot. */
        qsort(items, n, sizeof(*items), compare_keyed);
        json_array_clear(array);
        for (size_t i = 0; i < n && rc == 0; i++)
            if (!unique || i == 0 || strcmp(items[i].text, items[i - 1].text) != 0)
                rc = json_array_append(array, items[i].value) < 0 ? -ENOMEM : 0;
    }
    for (size_t i = 0; i < n; i++) {
        free(items[i].text);
        json_decref(items[i].value);
    }
    free(items);
    return rc;
}

static int apply_path(json_t *node, const char *path)
{
    if (!*path)
        return json_is_array(node) ? golden_sort_array(node, false) : 0;
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    const char *rest = dot ? dot + 1 : "";
    int rc = 0;
    if (n == 1 && path[0] == '*') {
        if (json_is_array(node)) {
            for (size_t i = 0; i < json_array_size(node) && rc == 0; i++)
                rc = apply_path(json_array_get(node, i), rest);
        } else if (json_is_object(node)) {
            const char *key;
            json_t *member;
            json_object_foreach(node, key, member)
            {
                if ((rc = apply_path(member, rest)) < 0)
                    break;
            }
        }
        return rc;
    }
    if (!json_is_object(node))
        return 0;
    char key[256];
    if (n >= sizeof(key))
        return 0;
    memcpy(key, path, n);
    key[n] = '\0';
    json_t *child = json_object_get(node, key);
    return child ? apply_path(child, rest) : 0;
}

int golden_apply_ordering(json_t *doc, const char *view, struct error *err)
{
    for (size_t i = 0; i < sizeof(ordering_rules) / sizeof(ordering_rules[0]); i++) {
        if (fnmatch(ordering_rules[i].view, view, 0) != 0)
            continue;
        if (apply_path(doc, ordering_rules[i].path) < 0)
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory sorting %s", view);
    }
    return 0;
}

/* ---- files ---- */

void golden_path(char *buf, size_t size, const char *golden_root, const char *dir, const char *view)
{
    snprintf(buf, size, "%s/%s/%s.json", golden_root, dir, view);
}

int golden_read(const char *path, json_t **out, struct error *err)
{
    json_error_t jerr;
    *out = NULL;
    if (access(path, F_OK) != 0)
        return error_set(err, -ENOENT, ERROR_PERMANENT,
                         "no golden file %s (run with --update-golden to create it)", path);
    *out = json_load_file(path, JSON_DECODE_ANY, &jerr);
    if (!*out)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s:%d: %s", path, jerr.line, jerr.text);
    return 0;
}

int golden_mkdirs(const char *path, int is_file, struct error *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return error_set(err, -ENAMETOOLONG, ERROR_PERMANENT, "path too long: %s", path);
    if (is_file) {
        char *slash = strrchr(buf, '/');
        if (!slash)
            return 0;
        *slash = '\0';
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return error_set(err, -errno, ERROR_PERMANENT, "mkdir %s: %s", buf,
                                 strerror(errno));
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    return 0;
}

int golden_write(const char *path, const json_t *doc, struct error *err)
{
    char tmp[4200];
    FILE *f = NULL;
    size_t len = 0;
    int rc = golden_mkdirs(path, 1, err);
    if (rc < 0)
        return rc;
    char *text = golden_canonical_text(doc, &len);
    if (!text)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory writing %s", path);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    f = fopen(tmp, "w");
    if (!f) {
        rc = error_set(err, -errno, ERROR_PERMANENT, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        f = NULL;
        rc = error_set(err, -EIO, ERROR_PERMANENT, "writing %s failed", tmp);
        goto fail;
    }
    f = NULL;
    if (rename(tmp, path) < 0) {
        rc = error_set(err, -errno, ERROR_PERMANENT, "rename %s: %s", path, strerror(errno));
        goto fail;
    }
    free(text);
    return 0;
fail:
    if (f)
        fclose(f);
    unlink(tmp);
    free(text);
    return rc;
}
