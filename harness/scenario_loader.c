/*
 * scenario_loader.c - the helpers every part of the scenario loader shares (scenario_loader.h):
 * messages with file, line and YAML path, field tables, typed values, and the count checks that
 * a `wait` step and `expect` both take.
 */
#include "scenario_loader.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "promtext.h"
#include "yamljson.h"

/* ---- messages ---- */

int loader_fail(struct loader *l, int line, const char *path, const char *fmt, ...)
{
    char message[ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (line > 0)
        return error_set(l->err, -EINVAL, ERROR_PERMANENT, "%s:%d: %s%s%s", l->s->path, line, path,
                         *path ? ": " : "", message);
    return error_set(l->err, -EINVAL, ERROR_PERMANENT, "%s: %s%s%s", l->s->path, path,
                     *path ? ": " : "", message);
}

int loader_line_of_node(struct loader *l, const json_t *node, int fallback)
{
    int line = yaml_lines_of_node(l->s->lines, node);
    return line ? line : fallback;
}

int loader_line_of_key(struct loader *l, const json_t *object, const char *key, int fallback)
{
    int line = yaml_lines_of_key(l->s->lines, object, key);
    return line ? line : loader_line_of_node(l, object, fallback);
}

int loader_line_of_index(struct loader *l, const json_t *array, size_t index, int fallback)
{
    int line = yaml_lines_of_index(l->s->lines, array, index);
    return line ? line : loader_line_of_node(l, array, fallback);
}

const char *loader_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "a mapping";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "nothing (null)";
    }
    return "?";
}

/* ---- field tables ---- */

static bool type_ok(const json_t *v, unsigned types)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return types & FIELD_MAP;
    case JSON_ARRAY: return types & FIELD_LIST;
    case JSON_STRING: return types & FIELD_STR;
    case JSON_INTEGER: return types & FIELD_INT;
    case JSON_REAL: return types & FIELD_REAL;
    case JSON_TRUE:
    case JSON_FALSE: return types & FIELD_BOOL;
    case JSON_NULL: return false;
    }
    return false;
}

static void field_keys(const struct field *fields, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const struct field *f = fields; f->key && n < size; f++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", f->key);
}

void loader_join(char *out, size_t size, const char *path, const char *key)
{
    snprintf(out, size, "%s%s%s", path, *path ? "." : "", key);
}

/* Checks that `obj` is a mapping whose keys are all in `fields`, with the right types, and that
 * required keys are present. `line` is where `obj` is (for a mapping that is not one). */
int loader_check_fields(struct loader *l, const json_t *obj, int line, const char *path,
                        const struct field *fields)
{
    char known[512], sub[512];
    field_keys(fields, known, sizeof(known));
    if (!json_is_object(obj))
        return loader_fail(l, line, path, "expected a mapping with keys from: %s; got %s", known,
                           loader_type_name(obj));
    line = loader_line_of_node(l, obj, line);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        const struct field *f = fields;
        while (f->key && strcmp(f->key, key) != 0)
            f++;
        if (!f->key)
            return loader_fail(l, loader_line_of_key(l, obj, key, line), path,
                               "unknown key \"%s\" (expected one of: %s)", key, known);
        if (!type_ok(value, f->types)) {
            loader_join(sub, sizeof(sub), path, key);
            return loader_fail(l, loader_line_of_key(l, obj, key, line), sub, "expected %s, got %s",
                               f->expect, loader_type_name(value));
        }
    }
    for (const struct field *f = fields; f->key; f++)
        if (f->required && !json_object_get(obj, f->key))
            return loader_fail(l, line, path, "missing required key \"%s\" (%s)", f->key,
                               f->expect);
    return 0;
}

const char *loader_get_string(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

bool loader_get_bool(const json_t *obj, const char *key, bool def)
{
    const json_t *v = json_object_get(obj, key);
    return v ? json_is_true(v) : def;
}

int loader_get_duration(struct loader *l, const json_t *obj, const char *key, const char *path,
                        int64_t def_ms, int64_t *out_ms)
{
    const json_t *v = json_object_get(obj, key);
    *out_ms = def_ms;
    if (!v)
        return 0;
    int64_t ns;
    char sub[512];
    loader_join(sub, sizeof(sub), path, key);
    if (!json_is_string(v) || options_parse_duration(json_string_value(v), &ns) < 0 || ns <= 0)
        return loader_fail(l, loader_line_of_key(l, obj, key, 0), sub,
                           "expected a positive duration such as \"10s\" or \"500ms\", got %s%s%s",
                           json_is_string(v) ? "\"" : "",
                           json_is_string(v) ? json_string_value(v) : loader_type_name(v),
                           json_is_string(v) ? "\"" : "");
    *out_ms = (ns + 999999) / 1000000;
    return 0;
}

/* A mapping key that must be one of `choices` (a NULL-terminated list). */
int loader_check_choice(struct loader *l, const json_t *obj, const char *key, const char *path,
                        const char *const *choices, int *index)
{
    const char *value = loader_get_string(obj, key);
    *index = -1;
    if (!value)
        return 0;
    char list[256];
    size_t n = 0;
    list[0] = '\0';
    for (int i = 0; choices[i]; i++) {
        if (!strcmp(choices[i], value)) {
            *index = i;
            return 0;
        }
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", choices[i]);
    }
    char sub[512];
    loader_join(sub, sizeof(sub), path, key);
    return loader_fail(l, loader_line_of_key(l, obj, key, 0), sub,
                       "unknown value \"%s\" (expected one of: %s)", value, list);
}

/* ---- paths ---- */

int loader_resolve(struct loader *l, char *out, size_t size, const char *base, const char *rel,
                   int line, const char *path)
{
    int n =
        rel[0] == '/' ? snprintf(out, size, "%s", rel) : snprintf(out, size, "%s/%s", base, rel);
    if (n < 0 || (size_t)n >= size)
        return loader_fail(l, line, path, "path too long");
    if (access(out, R_OK) != 0)
        return loader_fail(l, line, path, "cannot read %s: %s", out, strerror(errno));
    return 0;
}

int loader_string_list(struct loader *l, const json_t *list, const char *path, const char **out,
                       size_t *count, const char *expect)
{
    int line = loader_line_of_node(l, list, 0);
    if (!json_is_array(list))
        return loader_fail(l, line, path, "expected a list of %s, got %s", expect,
                           loader_type_name(list));
    for (size_t i = 0; i < json_array_size(list); i++) {
        char sub[512];
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        const json_t *item = json_array_get(list, i);
        int iline = loader_line_of_index(l, list, i, line);
        if (!json_is_string(item))
            return loader_fail(l, iline, sub, "expected %s, got %s", expect,
                               loader_type_name(item));
        if (*count >= SCENARIO_MAX_ITEMS)
            return loader_fail(l, iline, sub, "too many entries (at most %d)", SCENARIO_MAX_ITEMS);
        out[(*count)++] = json_string_value(item);
    }
    return 0;
}

/* ---- bytes and sizes ---- */

int loader_hex_decode(const char *text, uint8_t **out, size_t *len)
{
    size_t cap = strlen(text) / 2 + 1;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    size_t n = 0;
    int high = -1;
    for (const char *p = text; *p; p++) {
        if (isspace((unsigned char)*p))
            continue;
        if (!isxdigit((unsigned char)*p)) {
            free(buf);
            return -EINVAL;
        }
        int v = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
        if (high < 0) {
            high = v;
        } else {
            buf[n++] = (uint8_t)(high << 4 | v);
            high = -1;
        }
    }
    if (high >= 0) {
        free(buf);
        return -EINVAL;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* "21000000", "20MiB", "20MiB+1", "512KiB" */
int loader_parse_size(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return *out >= 0 ? 0 : -EINVAL;
    }
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || end == s || n < 0)
        return -EINVAL;
    if (!strncmp(end, "MiB", 3)) {
        n *= 1024 * 1024;
        end += 3;
    } else if (!strncmp(end, "KiB", 3)) {
        n *= 1024;
        end += 3;
    }
    if (*end == '+') {
        char *end2;
        long long extra = strtoll(end + 1, &end2, 10);
        if (end2 == end + 1 || extra < 0)
            return -EINVAL;
        n += extra;
        end = end2;
    }
    if (*end)
        return -EINVAL;
    *out = n;
    return 0;
}

/* ---- pod log files the steps write ---- */

struct known_file *loader_known_file(struct known_files *k, const char *key)
{
    for (size_t i = 0; i < k->count; i++)
        if (!strcmp(k->files[i].key, key))
            return &k->files[i];
    return NULL;
}

/* ---- count checks: `{loki: {records: 3}}`, `{collector: {metric: 3}}` ---- */

int loader_fake_counts(struct loader *l, enum fake_id fake, const json_t *map, const char *path,
                       int line, enum condition_op default_op, struct count_check *out,
                       size_t *count)
{
    char known[256], sub[512], why[160];
    scenario_fake_count_keys(fake, known, sizeof(known));
    if (!json_is_object(map) || json_object_size(map) == 0)
        return loader_fail(l, line, path, "expected a mapping of counts (%s), got %s", known,
                           loader_type_name(map));
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)map, key, value)
    {
        int kline = loader_line_of_key(l, map, key, line);
        loader_join(sub, sizeof(sub), path, key);
        const char *stat = scenario_fake_stat(fake, key);
        if (!stat)
            return loader_fail(l, kline, path, "unknown count \"%s\" for %s (expected one of: %s)",
                               key, scenario_fake_name(fake), known);
        if (*count >= SCENARIO_MAX_ITEMS)
            return loader_fail(l, kline, sub, "too many conditions (at most %d)",
                               SCENARIO_MAX_ITEMS);
        struct count_check *c = &out[*count];
        if (condition_parse(value, default_op, &c->cond, why, sizeof(why)) < 0)
            return loader_fail(l, kline, sub, "%s", why);
        c->collector = false;
        c->fake = fake;
        c->key = stat;
        c->label = key;
        c->line = kline;
        (*count)++;
    }
    return 0;
}

int loader_collector_counts(struct loader *l, const json_t *map, const char *path, int line,
                            enum condition_op default_op, struct count_check *out, size_t *count)
{
    char sub[512], why[200];
    if (!json_is_object(map) || json_object_size(map) == 0)
        return loader_fail(l, line, path,
                           "expected a mapping of self-metric selectors to values, "
                           "e.g. {otelcol_exporter_sent_log_records: 3}; got %s",
                           loader_type_name(map));
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)map, key, value)
    {
        int kline = loader_line_of_key(l, map, key, line);
        loader_join(sub, sizeof(sub), path, key);
        if (promtext_check_selector(key, why, sizeof(why)) < 0)
            return loader_fail(l, kline, sub, "%s", why);
        if (*count >= SCENARIO_MAX_ITEMS)
            return loader_fail(l, kline, sub, "too many conditions (at most %d)",
                               SCENARIO_MAX_ITEMS);
        struct count_check *c = &out[*count];
        if (condition_parse(value, default_op, &c->cond, why, sizeof(why)) < 0)
            return loader_fail(l, kline, sub, "%s", why);
        c->collector = true;
        c->key = key;
        c->label = key;
        c->line = kline;
        (*count)++;
    }
    return 0;
}

/* `lines: {delivered: all, lost: 0, files: {ns/pod/container: {delivered: 6}}}`: counts of
 * numbered pod log lines (lines.h), of every file or of the ones named, which an earlier pod_log
 * step (or before_start) must write. */
static int load_lines_one(struct loader *l, const char *file, const char *key, const json_t *value,
                          const char *path, int line, enum condition_op default_op,
                          struct lines_check *out, size_t *count)
{
    char why[200];
    enum lines_measure m;
    if (lines_measure_parse(key, &m) < 0)
        return loader_fail(l, line, path,
                           "unknown count \"%s\" (expected written, delivered, lost, duplicated%s)",
                           key, file ? "" : " or files");
    if (*count >= SCENARIO_MAX_ITEMS)
        return loader_fail(l, line, path, "too many conditions (at most %d)", SCENARIO_MAX_ITEMS);
    struct lines_check *c = &out[*count];
    memset(c, 0, sizeof(*c));
    c->file = file;
    c->measure = m;
    c->line = line;
    if (json_is_string(value) && !strcmp(json_string_value(value), "all")) {
        if (m != LINES_DELIVERED)
            return loader_fail(l, line, path, "\"all\" applies to delivered (every line written)");
        c->all = true;
    } else if (condition_parse(value, default_op, &c->cond, why, sizeof(why)) < 0) {
        return loader_fail(l, line, path, "%s: %s", key, why);
    }
    (*count)++;
    return 0;
}

int loader_lines_checks(struct loader *l, const json_t *map, const char *path, int line,
                        enum condition_op default_op, struct lines_check *out, size_t *count)
{
    if (!json_is_object(map) || json_object_size(map) == 0)
        return loader_fail(
            l, line, path,
            "expected counts of numbered pod log lines, e.g. {delivered: all, lost: 0, "
            "files: {default/web/nginx: {lost: 0}}}; got %s",
            loader_type_name(map));
    const char *key;
    json_t *value;
    int rc;
    json_object_foreach((json_t *)map, key, value)
    {
        int kline = loader_line_of_key(l, map, key, line);
        if (strcmp(key, "files") != 0) {
            if ((rc = load_lines_one(l, NULL, key, value, path, kline, default_op, out, count)) < 0)
                return rc;
            continue;
        }
        char sub[512];
        loader_join(sub, sizeof(sub), path, "files");
        if (!json_is_object(value) || json_object_size(value) == 0)
            return loader_fail(l, kline, sub,
                               "expected pod log files (namespace/pod/container) and their counts");
        const char *file;
        json_t *counts;
        json_object_foreach(value, file, counts)
        {
            int fline = loader_line_of_key(l, value, file, kline);
            char fsub[800];
            snprintf(fsub, sizeof(fsub), "%s[%s]", sub, file);
            if (!loader_known_file(l->known, file))
                return loader_fail(l, fline, sub,
                                   "no pod_log step before this one writes \"%s\" (files are named "
                                   "namespace/pod/container, plus /N for restart_count N)",
                                   file);
            if (!json_is_object(counts) || json_object_size(counts) == 0)
                return loader_fail(l, fline, fsub,
                                   "expected counts, e.g. {lost: 0, duplicated: 0}");
            const char *ckey;
            json_t *cvalue;
            json_object_foreach(counts, ckey, cvalue)
            {
                if ((rc = load_lines_one(l, file, ckey, cvalue, fsub,
                                         loader_line_of_key(l, counts, ckey, fline), default_op,
                                         out, count)) < 0)
                    return rc;
            }
        }
    }
    return 0;
}
