/*
 * mask.c - declared masking rules for volatile values (see mask.h for the order of rules).
 */
#include "mask.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Values under these keys change from run to run whatever the input: they are replaced by a
 * token naming what they stand for. `view` is an fnmatch pattern over the view name. */
static const struct key_rule {
    const char *view;
    const char *key;
    const char *token;
} key_rules[] = {
    /* When the collector (or the fake) saw an entry: wall clock, not payload time. */
    {"*", "observed_timestamp", "<observed-time>"},
    {"*", "observedTimeUnixNano", "<observed-time>"},
    {"*", "observed_time_unix_nano", "<observed-time>"},
    /* The request log: when requests arrived and how long the fake took. */
    {"requests/*", "time_unix_ms", "<request-time>"},
    {"requests/*", "time", "<request-time>"},
    {"requests/*", "received_at", "<request-time>"},
    {"requests/*", "duration_ms", "<duration>"},
    {"requests/*", "latency_ms", "<duration>"},
    /* Names the collector build ("OpenTelemetry Collector Contrib/0.144.0 (linux/amd64)" or
     * otelcol-ref's): goldens must hold for any collector. */
    {"requests/*", "user_agent", "<user-agent>"},
    {"requests/*", "User-Agent", "<user-agent>"},
    {"requests/*", "user-agent", "<user-agent>"},
    /* Compressed sizes depend on the gzip implementation and level of the collector. */
    {"requests/*", "bytes", "<bytes>"},
    {"requests/*", "body_bytes", "<bytes>"},
    {"requests/*", "content_length", "<bytes>"},
    {"requests/*", "Content-Length", "<bytes>"},
    {"requests/*", "remote_addr", "<peer>"},
};

#define DAY_NS (86400LL * 1000000000LL)

void mask_time_token(int64_t offset_ns, char *buf, size_t size)
{
    if (offset_ns % 1000000 == 0)
        snprintf(buf, size, "<time%+" PRId64 "ms>", offset_ns / 1000000);
    else
        snprintf(buf, size, "<time%+" PRId64 "ns>", offset_ns);
}

/* Reads an integer count of some unit since the epoch and, if it falls within a day of the
 * run start in one of ns/us/ms/s, gives its offset in ns. */
static bool integer_time_offset(int64_t v, const struct mask_context *ctx, int64_t *offset_ns)
{
    static const int64_t units[] = {1, 1000, 1000000, 1000000000};
    if (v <= 0)
        return false;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (v > INT64_MAX / units[i])
            continue;
        int64_t ns = v * units[i];
        int64_t off = ns - ctx->run_start_ns;
        if (off > -DAY_NS && off < DAY_NS) {
            *offset_ns = off;
            return true;
        }
    }
    return false;
}

static bool real_time_offset(double v, const struct mask_context *ctx, int64_t *offset_ns)
{
    /* Reals are seconds (Prometheus API style) or milliseconds. */
    static const double units[] = {1e9, 1e6};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        double ns = v * units[i];
        double off = ns - (double)ctx->run_start_ns;
        if (off > -(double)DAY_NS && off < (double)DAY_NS) {
            /* Round to whole microseconds: a double cannot hold ns precision at this size. */
            *offset_ns = (int64_t)llround(off / 1000.0) * 1000;
            return true;
        }
    }
    return false;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* RFC 3339: 2025-11-26T10:00:00[.fraction](Z|+hh:mm). Returns ns since the epoch. */
static bool parse_rfc3339(const char *s, int64_t *ns)
{
    int y, mo, d, h, mi, sec, consumed = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) != 6 ||
        consumed != 19)
        return false;
    const char *p = s + consumed;
    int64_t frac = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (digits < 9)
                frac = frac * 10 + (*p - '0');
        for (; digits < 9; digits++)
            frac *= 10;
    }
    int64_t tz = 0;
    if (*p == 'Z') {
        p++;
    } else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1])) {
        int th, tm;
        if (sscanf(p + 1, "%2d:%2d", &th, &tm) != 2)
            return false;
        tz = (*p == '-' ? -1 : 1) * (int64_t)(th * 3600 + tm * 60);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    struct tm tmv = {.tm_year = y - 1900,
                     .tm_mon = mo - 1,
                     .tm_mday = d,
                     .tm_hour = h,
                     .tm_min = mi,
                     .tm_sec = sec};
    time_t t = timegm(&tmv);
    *ns = ((int64_t)t - tz) * 1000000000LL + frac;
    return true;
}

/* Replaces ":<digits>" after a loopback host by ":<port>". Returns a new string or NULL when
 * nothing changed (or on ENOMEM, which the caller treats the same: the value stays). */
static char *mask_ports(const char *s)
{
    static const char *const hosts[] = {"127.0.0.1:", "localhost:", "[::1]:"};
    if (!strchr(s, ':'))
        return NULL;
    size_t len = strlen(s);
    /* Each replacement grows at most by strlen("<port>") - 1 bytes. */
    char *out = malloc(len * 6 + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    bool changed = false;
    for (size_t i = 0; i < len;) {
        bool hit = false;
        for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]) && !hit; h++) {
            size_t hl = strlen(hosts[h]);
            if (strncmp(s + i, hosts[h], hl) != 0 || !isdigit((unsigned char)s[i + hl]))
                continue;
            memcpy(out + n, s + i, hl);
            n += hl;
            i += hl;
            while (isdigit((unsigned char)s[i]))
                i++;
            memcpy(out + n, "<port>", 6);
            n += 6;
            hit = changed = true;
        }
        if (!hit)
            out[n++] = s[i++];
    }
    out[n] = '\0';
    if (!changed) {
        free(out);
        return NULL;
    }
    return out;
}

static bool is_hostname(const char *s, const struct mask_context *ctx)
{
    if (!ctx->hostname || !*ctx->hostname)
        return false;
    if (!strcmp(s, ctx->hostname))
        return true;
    /* The short name of an FQDN host, as `os` hostname sources report it. */
    size_t n = strcspn(ctx->hostname, ".");
    return strlen(s) == n && !strncmp(s, ctx->hostname, n);
}

/* The replacement for a scalar, or NULL to keep it. */
static json_t *mask_scalar(const json_t *v, const struct mask_context *ctx)
{
    char token[64];
    int64_t off;
    if (json_is_integer(v)) {
        if (integer_time_offset(json_integer_value(v), ctx, &off)) {
            mask_time_token(off, token, sizeof(token));
            return json_string(token);
        }
        return NULL;
    }
    if (json_is_real(v)) {
        if (real_time_offset(json_real_value(v), ctx, &off)) {
            mask_time_token(off, token, sizeof(token));
            return json_string(token);
        }
        return NULL;
    }
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    if (is_hostname(s, ctx))
        return json_string("<host-name>");
    /* A leading zero marks an id or a code ("0020000000000001"), never an epoch time. */
    if (all_digits(s) && s[0] != '0' && strlen(s) <= 19) {
        errno = 0;
        long long parsed = strtoll(s, NULL, 10);
        if (!errno && integer_time_offset(parsed, ctx, &off)) {
            mask_time_token(off, token, sizeof(token));
            return json_string(token);
        }
        return NULL;
    }
    int64_t ns;
    if (parse_rfc3339(s, &ns)) {
        off = ns - ctx->run_start_ns;
        if (off > -DAY_NS && off < DAY_NS) {
            mask_time_token(off, token, sizeof(token));
            return json_string(token);
        }
        return NULL;
    }
    char *ported = mask_ports(s);
    if (ported) {
        json_t *r = json_string(ported);
        free(ported);
        return r;
    }
    return NULL;
}

static const char *key_token(const char *view, const char *key)
{
    for (size_t i = 0; i < sizeof(key_rules) / sizeof(key_rules[0]); i++)
        if (!strcmp(key_rules[i].key, key) && fnmatch(key_rules[i].view, view, 0) == 0)
            return key_rules[i].token;
    return NULL;
}

static int mask_node(json_t *node, const char *view, const struct mask_context *ctx);

/* Masks `child` (a member or element) and returns its replacement via *out (NULL = keep). */
static int mask_child(json_t *child, const char *key, const char *view,
                      const struct mask_context *ctx, json_t **out)
{
    *out = NULL;
    const char *token = key ? key_token(view, key) : NULL;
    if (token && !json_is_null(child)) {
        *out = json_string(token);
        return *out ? 0 : -ENOMEM;
    }
    if (json_is_object(child) || json_is_array(child))
        return mask_node(child, view, ctx);
    *out = mask_scalar(child, ctx);
    return 0;
}

static int mask_node(json_t *node, const char *view, const struct mask_context *ctx)
{
    int rc = 0;
    if (json_is_object(node)) {
        const char *key;
        json_t *member;
        void *tmp;
        json_object_foreach_safe(node, tmp, key, member)
        {
            json_t *replacement;
            if ((rc = mask_child(member, key, view, ctx, &replacement)) < 0)
                return rc;
            if (replacement && json_object_set_new(node, key, replacement) < 0)
                return -ENOMEM;
        }
    } else if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++) {
            json_t *replacement;
            if ((rc = mask_child(json_array_get(node, i), NULL, view, ctx, &replacement)) < 0)
                return rc;
            if (replacement && json_array_set_new(node, i, replacement) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

int mask_apply(json_t *doc, const char *view, const struct mask_context *ctx, struct error *err)
{
    if (mask_node(doc, view, ctx) < 0)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory masking %s", view);
    return 0;
}
