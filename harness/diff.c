/* diff.c - path-level JSON comparison collecting every mismatch (see diff.h). */
#include "diff.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 1024

static char *value_text(const json_t *v)
{
    if (!v)
        return strdup("(missing)");
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    if (n > DIFF_VALUE_MAX) {
        memcpy(text + DIFF_VALUE_MAX - 3, "...", 4);
    }
    return text;
}

static void add(struct diff *d, const char *path, const json_t *expected, const json_t *actual)
{
    d->total++;
    if (d->stored >= DIFF_MAX_STORED || d->oom)
        return;
    if (d->stored == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct diff_entry *grown = realloc(d->items, cap * sizeof(*grown));
        if (!grown) {
            d->oom = 1;
            return;
        }
        d->items = grown;
        d->cap = cap;
    }
    struct diff_entry *e = &d->items[d->stored];
    e->path = strdup(*path ? path : "(root)");
    e->expected = value_text(expected);
    e->actual = value_text(actual);
    if (!e->path || !e->expected || !e->actual) {
        free(e->path);
        free(e->expected);
        free(e->actual);
        d->oom = 1;
        return;
    }
    d->stored++;
}

static bool is_identifier(const char *key)
{
    if (!*key || isdigit((unsigned char)*key))
        return false;
    for (; *key; key++)
        if (!isalnum((unsigned char)*key) && *key != '_' && *key != '-')
            return false;
    return true;
}

static void child_path(char *out, const char *path, const char *key, long index)
{
    if (key && is_identifier(key))
        snprintf(out, PATH_MAX_LEN, "%s%s%s", path, *path ? "." : "", key);
    else if (key)
        snprintf(out, PATH_MAX_LEN, "%s[\"%s\"]", path, key);
    else
        snprintf(out, PATH_MAX_LEN, "%s[%ld]", path, index);
}

static bool scalars_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b) &&
               (!json_is_integer(a) || !json_is_integer(b) ||
                json_integer_value(a) == json_integer_value(b));
    return json_equal((json_t *)a, (json_t *)b);
}

static void compare(const json_t *e, const json_t *a, const char *path, struct diff *d)
{
    char sub[PATH_MAX_LEN];
    if (json_is_object(e) && json_is_object(a)) {
        const char *key;
        json_t *ev;
        json_object_foreach((json_t *)e, key, ev)
        {
            child_path(sub, path, key, 0);
            json_t *av = json_object_get(a, key);
            if (!av)
                add(d, sub, ev, NULL);
            else
                compare(ev, av, sub, d);
        }
        json_t *av;
        json_object_foreach((json_t *)a, key, av)
        {
            if (!json_object_get(e, key)) {
                child_path(sub, path, key, 0);
                add(d, sub, NULL, av);
            }
        }
        return;
    }
    if (json_is_array(e) && json_is_array(a)) {
        size_t ne = json_array_size(e), na = json_array_size(a);
        size_t n = ne > na ? ne : na;
        for (size_t i = 0; i < n; i++) {
            child_path(sub, path, NULL, (long)i);
            const json_t *ei = i < ne ? json_array_get(e, i) : NULL;
            const json_t *ai = i < na ? json_array_get(a, i) : NULL;
            if (ei && ai)
                compare(ei, ai, sub, d);
            else
                add(d, sub, ei, ai);
        }
        return;
    }
    if (!scalars_equal(e, a))
        add(d, path, e, a);
}

size_t diff_json(const json_t *expected, const json_t *actual, struct diff *out)
{
    memset(out, 0, sizeof(*out));
    compare(expected, actual, "", out);
    return out->total;
}

void diff_print(const struct diff *d, FILE *out, size_t max_lines, const char *indent)
{
    size_t shown = d->stored < max_lines ? d->stored : max_lines;
    for (size_t i = 0; i < shown; i++) {
        const struct diff_entry *e = &d->items[i];
        fprintf(out, "%s%s: expected %s, got %s\n", indent, e->path, e->expected, e->actual);
    }
    if (d->total > shown)
        fprintf(out, "%s... and %zu more\n", indent, d->total - shown);
    if (d->oom)
        fprintf(out, "%s(out of memory: the list is incomplete)\n", indent);
}

void diff_free(struct diff *d)
{
    for (size_t i = 0; i < d->stored; i++) {
        free(d->items[i].path);
        free(d->items[i].expected);
        free(d->items[i].actual);
    }
    free(d->items);
    memset(d, 0, sizeof(*d));
}
