/* timeshift.c - rewrites OTLP JSON time fields relative to an anchor (see timeshift.h). */
#include "timeshift.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_time_key(const char *key)
{
    static const char *const suffixes[] = {"TimeUnixNano", "time_unix_nano"};
    size_t n = strlen(key);
    for (size_t i = 0; i < 2; i++) {
        size_t s = strlen(suffixes[i]);
        if (n >= s && !strcmp(key + n - s, suffixes[i]))
            return true;
    }
    /* timeUnixNano itself (lower-case t) */
    return !strcmp(key, "timeUnixNano");
}

static int read_time(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return *out >= 0 ? 0 : -EINVAL;
    }
    if (!json_is_string(v))
        return -EINVAL;
    const char *s = json_string_value(v);
    if (!*s)
        return -EINVAL;
    char *end;
    errno = 0;
    long long parsed = strtoll(s, &end, 10);
    if (errno || *end || parsed < 0)
        return -EINVAL;
    *out = parsed;
    return 0;
}

/* Walks the tree; with `apply` false finds the minimum, with it true rewrites. */
static int walk(json_t *node, bool apply, int64_t shift, int64_t *min, size_t *count,
                struct error *err)
{
    int rc;
    if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++)
            if ((rc = walk(json_array_get(node, i), apply, shift, min, count, err)) < 0)
                return rc;
        return 0;
    }
    if (!json_is_object(node))
        return 0;
    const char *key;
    json_t *value;
    json_object_foreach(node, key, value)
    {
        if (!is_time_key(key)) {
            if ((rc = walk(value, apply, shift, min, count, err)) < 0)
                return rc;
            continue;
        }
        int64_t t;
        if (read_time(value, &t) < 0)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "%s: expected nanoseconds since the epoch as a decimal string", key);
        if (t == 0)
            continue;
        if (!apply) {
            if (*min == 0 || t < *min)
                *min = t;
            continue;
        }
        char text[32];
        snprintf(text, sizeof(text), "%" PRId64, t + shift);
        /* Replacing the value of the current key keeps the iteration valid. */
        if (json_object_set_new(node, key, json_string(text)) < 0)
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        (*count)++;
    }
    return 0;
}

int timeshift_payload(json_t *payload, int64_t anchor_ns, size_t *count, struct error *err)
{
    int64_t min = 0;
    size_t n = 0;
    int rc = walk(payload, false, 0, &min, &n, err);
    if (rc == 0 && min != 0)
        rc = walk(payload, true, anchor_ns - min, &min, &n, err);
    if (count)
        *count = n;
    return rc;
}
