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

#include "strbuf.h"

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

static int digits_at(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* An RFC 3339 time at the start of `s`: 2025-11-26T10:00:00[.fraction](Z|+hh:mm). Returns how
 * many bytes it takes (0: none there) and its ns since the epoch. */
static size_t scan_rfc3339(const char *s, int64_t *ns)
{
    int y = digits_at(s, 4);
    if (y < 0 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return 0;
    int mo = digits_at(s + 5, 2), d = digits_at(s + 8, 2), h = digits_at(s + 11, 2);
    int mi = digits_at(s + 14, 2), sec = digits_at(s + 17, 2);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
        sec > 60)
        return 0;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.' && isdigit((unsigned char)p[1])) {
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
    } else if ((*p == '+' || *p == '-') && p[3] == ':') {
        int th = digits_at(p + 1, 2), tm = digits_at(p + 4, 2);
        if (th < 0 || tm < 0)
            return 0;
        tz = (*p == '-' ? -1 : 1) * (int64_t)(th * 3600 + tm * 60);
        p += 6;
    } else {
        return 0;
    }
    struct tm tmv = {.tm_year = y - 1900,
                     .tm_mon = mo - 1,
                     .tm_mday = d,
                     .tm_hour = h,
                     .tm_min = mi,
                     .tm_sec = sec};
    time_t t = timegm(&tmv);
    *ns = ((int64_t)t - tz) * 1000000000LL + frac;
    return (size_t)(p - s);
}

/* A whole string that is one RFC 3339 time. */
static bool parse_rfc3339(const char *s, int64_t *ns)
{
    size_t n = scan_rfc3339(s, ns);
    return n && !s[n];
}

/* Replaces, inside a string: the run's temp dir by "<run-dir>", RFC 3339 times within a day of
 * the run start by their token (a raw container log line starts with one), ":<digits>" after a
 * loopback host by ":<port>". Returns a new string, or NULL when nothing changed (or on
 * ENOMEM, which the caller treats the same: the value stays). */
static char *mask_inside(const char *s, const struct mask_context *ctx)
{
    static const char *const hosts[] = {"127.0.0.1:", "localhost:", "[::1]:"};
    size_t len = strlen(s);
    size_t rlen = ctx->run_dir ? strlen(ctx->run_dir) : 0;
    struct strbuf out = STRBUF_INIT(len * 8 + 64);
    bool changed = false;
    for (size_t i = 0; i < len;) {
        if (rlen && !strncmp(s + i, ctx->run_dir, rlen)) {
            strbuf_puts(&out, "<run-dir>");
            i += rlen;
            changed = true;
            continue;
        }
        int64_t ns;
        size_t tlen;
        if (isdigit((unsigned char)s[i]) && (i == 0 || !isalnum((unsigned char)s[i - 1])) &&
            (tlen = scan_rfc3339(s + i, &ns)) > 0 && ns - ctx->run_start_ns > -DAY_NS &&
            ns - ctx->run_start_ns < DAY_NS) {
            char token[64];
            mask_time_token(ns - ctx->run_start_ns, token, sizeof(token));
            strbuf_puts(&out, token);
            i += tlen;
            changed = true;
            continue;
        }
        bool hit = false;
        for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]) && !hit; h++) {
            size_t hl = strlen(hosts[h]);
            if (strncmp(s + i, hosts[h], hl) != 0 || !isdigit((unsigned char)s[i + hl]))
                continue;
            strbuf_add(&out, s + i, hl);
            i += hl;
            while (isdigit((unsigned char)s[i]))
                i++;
            strbuf_puts(&out, "<port>");
            hit = changed = true;
        }
        if (!hit)
            strbuf_putc(&out, s[i++]);
    }
    char *text = NULL;
    if (strbuf_finish(&out, &text, NULL) < 0 || !changed) {
        free(text);
        return NULL;
    }
    return text;
}

/* A string longer than MASK_LONG_STRING (a 100 KiB recombined log line) as a short summary
 * that still pins it exactly: its length, its FNV-1a 64 hash, its first and last bytes (cut at
 * UTF-8 character boundaries). NULL when not long (or on ENOMEM). */
static json_t *summarise_long(const char *s, size_t len)
{
    if (len <= MASK_LONG_STRING)
        return NULL;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    size_t head = 48, tail = len - 48;
    while (head > 0 && ((unsigned char)s[head] & 0xc0) == 0x80)
        head--;
    while (tail < len && ((unsigned char)s[tail] & 0xc0) == 0x80)
        tail++;
    char *text = malloc(head + (len - tail) + 128);
    if (!text)
        return NULL;
    snprintf(text, head + (len - tail) + 128, "<%zu bytes, fnv1a64 %016" PRIx64 ": %.*s ... %s>",
             len, h, (int)head, s, s + tail);
    json_t *r = json_string(text);
    free(text);
    return r;
}

static bool is_hostname(const char *s, const struct mask_context *ctx)
{
    if (!ctx->hostname || !*ctx->hostname)
        return false;
    if (!strcmp(s, ctx->hostname))
        return true;
    /* The short name of an FQDN host, as `os` hostname sources report it. */
    size_t n = strcspn(ctx->hostname, ".");
    if (strlen(s) == n && !strncmp(s, ctx->hostname, n))
        return true;
    /* The FQDN of a host whose own name is short, as the `dns` source (/etc/hosts canonical
     * name, DNS) may report it: the name, a dot, then a domain of letters, digits, - and . */
    size_t len = strlen(ctx->hostname);
    if (ctx->hostname[n] != '\0' || strncmp(s, ctx->hostname, len) != 0 || s[len] != '.' ||
        s[len + 1] == '\0')
        return false;
    for (const char *c = s + len + 1; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
            return false;
    return true;
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
    char *inside = mask_inside(s, ctx);
    const char *text = inside ? inside : s;
    json_t *r = summarise_long(text, strlen(text));
    if (!r && inside)
        r = json_string(inside);
    free(inside);
    return r;
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

/* Rule 6 (mask.h), before the generic rules turn every time into an offset. */
static int mask_observed_entries(json_t *doc, const struct mask_context *ctx)
{
    const char *tenant;
    json_t *body;
    json_object_foreach(json_object_get(doc, "tenants"), tenant, body)
    {
        size_t i, j;
        json_t *stream, *entry;
        json_array_foreach(json_object_get(body, "streams"), i, stream)
        {
            json_array_foreach(json_object_get(stream, "entries"), j, entry)
            {
                const json_t *meta = json_object_get(entry, "structured_metadata");
                const char *ts = json_string_value(json_object_get(entry, "timestamp_ns"));
                if (!ts || json_object_get(meta, "observed_timestamp"))
                    continue;
                errno = 0;
                long long ns = strtoll(ts, NULL, 10);
                if (errno || ctx->is_line_time(ctx->line_time_ctx, (int64_t)ns))
                    continue;
                if (json_object_set_new(entry, "timestamp_ns", json_string("<observed-time>")) < 0)
                    return -ENOMEM;
            }
        }
    }
    return 0;
}

int mask_apply(json_t *doc, const char *view, const struct mask_context *ctx, struct error *err)
{
    if (ctx->is_line_time && !strcmp(view, "loki") && mask_observed_entries(doc, ctx) < 0)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory masking %s", view);
    if (mask_node(doc, view, ctx) < 0)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory masking %s", view);
    return 0;
}
