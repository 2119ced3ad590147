/*
 * env.c - the `env` detector of the resourcedetection processor: resource attributes from the
 * collector's own OTEL_RESOURCE_ATTRIBUTES (else the deprecated OTEL_RESOURCE).
 *
 * Mirrors contrib@v0.143.0 processor/resourcedetectionprocessor/internal/env/env.go (facts:
 * shared/facts/pipeline.md §4) byte for byte where it shows:
 *   - the value is strings.TrimSpace'd (Unicode white space); empty -> no attributes, no error.
 *   - parsing is upstream's regular expression
 *       \s*([[:ascii:]]{1,256}?)\s*=\s*([[:ascii:]]{0,256}?)\s*(?:,|$)
 *     found repeatedly (Go's FindAllStringSubmatchIndex, leftmost-first). match_at() below walks
 *     that pattern in Go's preference order (greedy \s*, lazy key and value, `,` before `$`), so
 *     its quirks are upstream's on purpose: a key may hold `,` or spaces ("a,b=c" is key "a,b"), a
 *     value may hold `=`, a key of 257 characters matches from its second character and the
 *     first one is "invalid text". \s is Go's [\t\n\f\r ]; a byte >= 0x80 is neither ASCII nor
 *     space, as a non-ASCII rune is neither to Go.
 *   - values go through net/url.QueryUnescape (%XX and `+` -> space); keys do not.
 *   - a repeated key keeps its first position and takes the last value (pcommon.Map.PutStr).
 *   - errors, in upstream's words and order: no match at all `invalid resource format: %q`;
 *     text before a match or after the last `invalid resource format, invalid text: %q`; a bad
 *     escape `invalid resource format in attribute: %q, err: invalid URL escape %q`. Any error
 *     leaves no attributes.
 * %q is strconv.Quote (common/gostr.h, which says how far it imitates strconv.IsPrint).
 *
 * Deliberately not done: the env detector's schema URL is always empty upstream, so none here.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gostr.h"
#include "resourcedetection.h"

#define KEY_MAX 256
#define VALUE_MAX 256

/* ---- the pattern ---- */

static bool is_go_space(unsigned char c) /* Go's \s: [\t\n\f\r ] */
{
    return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

static size_t spaces_at(const char *s, size_t len, size_t at)
{
    size_t n = 0;
    while (at + n < len && is_go_space((unsigned char)s[at + n]))
        n++;
    return n;
}

/* ASCII bytes available from `at`, at most `max`. */
static size_t ascii_at(const char *s, size_t len, size_t at, size_t max)
{
    size_t n = 0;
    while (n < max && at + n < len && (unsigned char)s[at + n] < 0x80)
        n++;
    return n;
}

struct pair_match {
    size_t start, end; /* the whole match, the trailing comma included */
    size_t key, key_len, value, value_len;
};

/* Tries the pattern at exactly `at`, alternatives in Go's order of preference. */
static bool match_at(const char *s, size_t len, size_t at, struct pair_match *m)
{
    size_t lead_max = spaces_at(s, len, at);
    for (size_t lead = lead_max + 1; lead-- > 0;) { /* \s* greedy */
        size_t key = at + lead;
        size_t key_avail = ascii_at(s, len, key, KEY_MAX);
        for (size_t key_len = 1; key_len <= key_avail; key_len++) { /* {1,256}? lazy */
            size_t after_key = key + key_len;
            size_t gap_max = spaces_at(s, len, after_key);
            for (size_t gap = gap_max + 1; gap-- > 0;) {
                size_t eq = after_key + gap;
                if (eq >= len || s[eq] != '=')
                    continue;
                size_t before_max = spaces_at(s, len, eq + 1);
                for (size_t before = before_max + 1; before-- > 0;) {
                    size_t value = eq + 1 + before;
                    size_t value_avail = ascii_at(s, len, value, VALUE_MAX);
                    for (size_t value_len = 0; value_len <= value_avail; value_len++) {
                        size_t after_value = value + value_len;
                        size_t trail_max = spaces_at(s, len, after_value);
                        for (size_t trail = trail_max + 1; trail-- > 0;) {
                            size_t end = after_value + trail;
                            bool comma = end < len && s[end] == ',';
                            if (!comma && end != len)
                                continue;
                            *m = (struct pair_match){
                                at, comma ? end + 1 : end, key, key_len, value, value_len};
                            return true;
                        }
                    }
                }
            }
        }
    }
    return false;
}

/* The leftmost match starting at or after `from`. */
static bool find_from(const char *s, size_t len, size_t from, struct pair_match *m)
{
    for (size_t at = from; at < len; at++)
        if (match_at(s, len, at, m))
            return true;
    return false;
}

/* ---- net/url.QueryUnescape ---- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..len) into out (room for len + 1). On a bad escape returns -EINVAL and sets
 * *bad / *bad_len to the escape Go reports (at most 3 bytes from the `%`). */
static int query_unescape(const char *s, size_t len, char *out, size_t *out_len, size_t *bad,
                          size_t *bad_len)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] == '%') {
            if (i + 2 >= len || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0) {
                *bad = i;
                *bad_len = len - i > 3 ? 3 : len - i;
                return -EINVAL;
            }
            out[n++] = (char)(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2]));
            i += 3;
        } else {
            out[n++] = s[i] == '+' ? ' ' : s[i];
            i++;
        }
    }
    out[n] = '\0';
    *out_len = n;
    return 0;
}

/* ---- the detector ---- */

static int format_error(struct error *err, const char *what, const char *text, size_t len)
{
    char quoted[ERROR_MESSAGE_MAX];
    go_quote_to(quoted, sizeof(quoted), text, len);
    return error_set(err, -EINVAL, ERROR_PERMANENT, "%s%s", what, quoted);
}

int resourcedetection_env_parse(const char *text, struct resourcedetection_resource *out,
                                struct error *err)
{
    size_t len = strlen(text);
    struct pair_match m;
    char value[VALUE_MAX + 1];
    int rc = 0;
    if (!find_from(text, len, 0, &m))
        return format_error(err, "invalid resource format: ", text, len);
    size_t prev = 0;
    do {
        if (m.start != prev) {
            rc = format_error(err, "invalid resource format, invalid text: ", text + prev,
                              m.start - prev);
            goto fail;
        }
        size_t value_len, bad, bad_len;
        if (query_unescape(text + m.value, m.value_len, value, &value_len, &bad, &bad_len) < 0) {
            char attribute[ERROR_MESSAGE_MAX / 2], escape[16];
            go_quote_to(attribute, sizeof(attribute), text + m.start, m.end - m.start);
            go_quote_to(escape, sizeof(escape), text + m.value + bad, bad_len);
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "invalid resource format in attribute: %s, err: invalid URL escape %s",
                           attribute, escape);
            goto fail;
        }
        rc = resourcedetection_resource_put(out, text + m.key, m.key_len, value, value_len);
        if (rc == -ENOMEM) {
            error_set(err, rc, ERROR_PERMANENT, "out of memory");
            goto fail;
        }
        if (rc < 0) {
            error_set(err, rc, ERROR_PERMANENT, "more than %d resource attributes",
                      RESOURCEDETECTION_ATTRIBUTES_MAX);
            goto fail;
        }
        prev = m.end;
    } while (prev < len && find_from(text, len, prev, &m));
    if (prev != len) {
        rc = format_error(err, "invalid resource format, invalid text: ", text + prev, len - prev);
        goto fail;
    }
    return 0;
fail:
    resourcedetection_resource_clear(out);
    return rc;
}

/* Length of the Unicode white space rune at s (unicode.IsSpace), or 0. */
static size_t unicode_space_at(const unsigned char *s, size_t len)
{
    if (len == 0)
        return 0;
    if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
        return 1;
    uint32_t r;
    bool valid;
    size_t n = go_utf8_next(s, len, &r, &valid);
    if (valid && n > 1 &&
        (r == 0x85 || r == 0xa0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 ||
         r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000))
        return n;
    return 0;
}

/* strings.TrimSpace: *start and *len describe the trimmed part of s. */
static void trim_space(const char *s, size_t *start, size_t *len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t b = 0, e = strlen(s), n;
    while (b < e && (n = unicode_space_at(u + b, e - b)) > 0)
        b += n;
    while (e > b) {
        /* Step back to the start of the last rune (at most 4 bytes), then test it. */
        size_t r = e - 1;
        while (r > b && e - r < 4 && (u[r] & 0xc0) == 0x80)
            r--;
        if ((n = unicode_space_at(u + r, e - r)) == 0 || r + n != e)
            break;
        e = r;
    }
    *start = b;
    *len = e - b;
}

int resourcedetection_env_detect_from(const char *attributes, const char *deprecated,
                                      struct resourcedetection_resource *out, struct error *err)
{
    const char *chosen = NULL;
    size_t start = 0, len = 0;
    if (attributes)
        trim_space(attributes, &start, &len);
    if (len > 0) {
        chosen = attributes;
    } else if (deprecated) {
        trim_space(deprecated, &start, &len);
        if (len > 0)
            chosen = deprecated;
    }
    if (!chosen)
        return 0;
    char *text = strndup(chosen + start, len);
    if (!text)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    int rc = resourcedetection_env_parse(text, out, err);
    free(text);
    return rc;
}

int resourcedetection_env_detect(struct resourcedetection_resource *out, struct error *err)
{
    return resourcedetection_env_detect_from(getenv("OTEL_RESOURCE_ATTRIBUTES"),
                                             getenv("OTEL_RESOURCE"), out, err);
}
