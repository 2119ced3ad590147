/*
 * prometheus_names.c - Prometheus 3's names for OTLP metrics, units and attributes, and the Go
 * formatting of numbers and strings that ends up in labels and error texts.
 *
 * Mirrors, for the default strategy `UnderscoreEscapingWithSuffixes` only:
 *   otlptranslator@v1.0.0 metric_namer.go   (normalizeName, addUnitTokens, removeItem, the
 *                                             empty / underscore-only name errors)
 *   otlptranslator@v1.0.0 unit_namer.go     (unitMap, perUnitMap, buildUnitSuffixes,
 *                                             cleanUpUnit, UnitNamer.Build)
 *   otlptranslator@v1.0.0 label_namer.go + strconv.go (LabelNamer.Build, sanitizeLabelName with
 *                                             prom@v3.9.1's defaults: underscore sanitization on,
 *                                             multiple underscores preserved)
 *   pdata pcommon/value.go                  (Value.AsString, float64AsString)
 *   Go strconv (FormatFloat shortest, Quote) and encoding/json (string escaping, map key order)
 * Facts: shared/facts/pipeline.md §7 "Name translation (default strategy)".
 *
 * Deliberately not done: the UTF-8 strategies, a namespace, the legacy/updated unit tables of
 * later otlptranslator versions. strconv.Quote treats every well-formed multi-byte character
 * as printable except the few listed in quote_rune (Go consults the full Unicode tables).
 */
#include "prometheus_names.h"
#include "fake_util.h"
#include "strbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No name, unit or attribute value the fake stores may be longer than this; past it the
 * conversion fails with -E2BIG instead of growing without bound. */
#define TEXT_MAX ((size_t)16 << 20)

/* ---- UTF-8, as Go's `for range` over a string decodes it ---- */

/* Length of the well-formed UTF-8 sequence at `s` (1..4), or 0 when the byte starts no valid
 * sequence (Go then yields U+FFFD for that single byte). `s` is NUL-terminated, so reading up to
 * a NUL is safe: a NUL is never a continuation byte. */
static size_t utf8_sequence_length(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i <= need; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return need + 1;
}

static uint32_t utf8_decode(const unsigned char *s, size_t len)
{
    switch (len) {
    case 2: return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    case 3: return ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    case 4:
        return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
               ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    default: return s[0];
    }
}

/* ---- metric and unit names (metric_namer.go, unit_namer.go) ---- */

static bool is_metric_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static const struct {
    const char *otel, *prometheus;
} unit_table[] = {
    /* Time */
    {"d", "days"},
    {"h", "hours"},
    {"min", "minutes"},
    {"s", "seconds"},
    {"ms", "milliseconds"},
    {"us", "microseconds"},
    {"ns", "nanoseconds"},
    /* Bytes */
    {"By", "bytes"},
    {"KiBy", "kibibytes"},
    {"MiBy", "mebibytes"},
    {"GiBy", "gibibytes"},
    {"TiBy", "tibibytes"},
    {"KBy", "kilobytes"},
    {"MBy", "megabytes"},
    {"GBy", "gigabytes"},
    {"TBy", "terabytes"},
    /* SI */
    {"m", "meters"},
    {"V", "volts"},
    {"A", "amperes"},
    {"J", "joules"},
    {"W", "watts"},
    {"g", "grams"},
    /* Misc: "1" means dimensionless and adds nothing. */
    {"Cel", "celsius"},
    {"Hz", "hertz"},
    {"1", ""},
    {"%", "percent"},
};

/* The denominator of `a/b` units, singular because it reads "per second". */
static const struct {
    const char *otel, *prometheus;
} per_unit_table[] = {
    {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
    {"w", "week"},   {"mo", "month"}, {"y", "year"},
};

static const char *lookup_unit(const char *unit)
{
    for (size_t i = 0; i < sizeof(unit_table) / sizeof(unit_table[0]); i++)
        if (strcmp(unit_table[i].otel, unit) == 0)
            return unit_table[i].prometheus;
    return unit; /* unknown units pass through (cleaned up later) */
}

static const char *lookup_per_unit(const char *unit)
{
    for (size_t i = 0; i < sizeof(per_unit_table) / sizeof(per_unit_table[0]); i++)
        if (strcmp(per_unit_table[i].otel, unit) == 0)
            return per_unit_table[i].prometheus;
    return unit;
}

static bool is_go_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* strings.TrimSpace (ASCII white space only) into a new string. */
static char *dup_trimmed(const char *s, size_t len)
{
    while (len && is_go_space((unsigned char)s[0])) {
        s++;
        len--;
    }
    while (len && is_go_space((unsigned char)s[len - 1]))
        len--;
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

/* buildUnitSuffixes: the main suffix and the "per_" suffix of a unit, before clean-up. Units
 * with annotations ({...}) contribute nothing, on purpose: `{request}` is a count of things. */
static int build_unit_suffixes(const char *unit, char **main_out, char **per_out)
{
    *main_out = NULL;
    *per_out = NULL;
    const char *slash = strchr(unit, '/');
    size_t main_len = slash ? (size_t)(slash - unit) : strlen(unit);
    struct strbuf main_text = STRBUF_INIT(TEXT_MAX), per_text = STRBUF_INIT(TEXT_MAX);

    char *main_unit = dup_trimmed(unit, main_len);
    if (!main_unit)
        return -ENOMEM;
    if (main_unit[0] && !strpbrk(main_unit, "{}"))
        strbuf_puts(&main_text, lookup_unit(main_unit));
    free(main_unit);

    if (slash && slash[1]) {
        char *per_unit = dup_trimmed(slash + 1, strlen(slash + 1));
        if (!per_unit) {
            strbuf_release(&main_text);
            return -ENOMEM;
        }
        if (per_unit[0] && !strpbrk(per_unit, "{}")) {
            const char *per = lookup_per_unit(per_unit);
            if (per[0]) {
                strbuf_puts(&per_text, "per_");
                strbuf_puts(&per_text, per);
            }
        }
        free(per_unit);
    }
    int rc = strbuf_finish(&main_text, main_out, NULL);
    if (rc == 0)
        rc = strbuf_finish(&per_text, per_out, NULL);
    if (rc < 0) {
        free(*main_out);
        strbuf_release(&per_text);
        *main_out = NULL;
    }
    return rc;
}

/* cleanUpUnit: every character outside [A-Za-z0-9:] becomes `_`, runs of `_` collapse to one,
 * and one leading `_` goes. Works in place (the result is never longer). */
static void clean_up_unit(char *unit)
{
    size_t w = 0;
    for (size_t r = 0; unit[r]; r++) {
        char c = is_metric_name_char((unsigned char)unit[r]) ? unit[r] : '_';
        if (c == '_' && w > 0 && unit[w - 1] == '_')
            continue;
        unit[w++] = c;
    }
    unit[w] = '\0';
    if (unit[0] == '_')
        memmove(unit, unit + 1, w);
}

struct token {
    const char *text;
    size_t len;
};

static bool token_equals(const struct token *t, const char *s)
{
    return t->len == strlen(s) && memcmp(t->text, s, t->len) == 0;
}

static bool tokens_contain(const struct token *tokens, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (token_equals(&tokens[i], s))
            return true;
    return false;
}

/* removeItem followed by append: moves every `word` token to the end as one token. */
static size_t move_word_to_end(struct token *tokens, size_t n, const char *word)
{
    size_t w = 0;
    for (size_t r = 0; r < n; r++)
        if (!token_equals(&tokens[r], word))
            tokens[w++] = tokens[r];
    tokens[w].text = word;
    tokens[w].len = strlen(word);
    return w + 1;
}

static bool only_underscores(const char *s)
{
    for (; *s; s++)
        if (*s != '_')
            return false;
    return true;
}

int prometheus_build_metric_name(const char *name, const char *unit,
                                 enum prometheus_metric_type type, char **out, struct error *err)
{
    char *main_suffix = NULL, *per_suffix = NULL, *quoted = NULL;
    struct token *tokens = NULL;
    struct strbuf result = STRBUF_INIT(TEXT_MAX);
    int rc;
    if (!unit)
        unit = "";
    *out = NULL;

    rc = build_unit_suffixes(unit, &main_suffix, &per_suffix);
    if (rc < 0)
        goto fail;
    clean_up_unit(main_suffix);
    clean_up_unit(per_suffix);

    /* Every token is at least one character with a separator after it; +4 leaves room for the
     * unit, per-unit, total and ratio tokens. */
    tokens = calloc(strlen(name) / 2 + 5, sizeof(*tokens));
    if (!tokens) {
        rc = -ENOMEM;
        goto fail;
    }
    /* strings.FieldsFunc: split on every character that may not appear in a name, so runs of
     * separators (".", "-", "_", UTF-8 bytes) collapse into one. */
    size_t n = 0;
    for (const char *c = name; *c;) {
        if (!is_metric_name_char((unsigned char)*c)) {
            c++;
            continue;
        }
        const char *start = c;
        while (*c && is_metric_name_char((unsigned char)*c))
            c++;
        tokens[n].text = start;
        tokens[n].len = (size_t)(c - start);
        n++;
    }

    /* addUnitTokens: a unit already spelled out in the name is not repeated. */
    if (tokens_contain(tokens, n, main_suffix))
        main_suffix[0] = '\0';
    if (strcmp(per_suffix, "per_") == 0) {
        per_suffix[0] = '\0';
    } else {
        size_t len = strlen(per_suffix);
        if (len && per_suffix[len - 1] == '_')
            per_suffix[len - 1] = '\0';
        if (tokens_contain(tokens, n, per_suffix))
            per_suffix[0] = '\0';
    }
    if (per_suffix[0]) {
        size_t len = strlen(main_suffix);
        if (len && main_suffix[len - 1] == '_')
            main_suffix[len - 1] = '\0';
    }
    if (main_suffix[0])
        tokens[n++] = (struct token){main_suffix, strlen(main_suffix)};
    if (per_suffix[0])
        tokens[n++] = (struct token){per_suffix, strlen(per_suffix)};

    if (type == PROMETHEUS_METRIC_TYPE_MONOTONIC_COUNTER)
        n = move_word_to_end(tokens, n, "total");
    /* Only gauges get _ratio: some receivers wrongly give counters of things the unit "1". */
    if (strcmp(unit, "1") == 0 && type == PROMETHEUS_METRIC_TYPE_GAUGE)
        n = move_word_to_end(tokens, n, "ratio");

    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            strbuf_putc(&result, '_');
        strbuf_add(&result, tokens[i].text, tokens[i].len);
    }
    if (result.len && is_digit((unsigned char)result.data[0])) {
        struct strbuf prefixed = STRBUF_INIT(TEXT_MAX);
        strbuf_putc(&prefixed, '_');
        strbuf_add(&prefixed, result.data, result.len);
        strbuf_release(&result);
        result = prefixed;
    }
    rc = strbuf_finish(&result, out, NULL);
    if (rc < 0)
        goto fail;

    if ((*out)[0] == '\0' || (strcmp(*out, name) != 0 && only_underscores(*out))) {
        rc = go_quote(name, &quoted);
        if (rc < 0)
            goto fail;
        if ((*out)[0] == '\0') {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "normalization for metric %s resulted in empty name", quoted);
        } else {
            char *quoted_result = NULL;
            rc = go_quote(*out, &quoted_result);
            if (rc == 0)
                rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                               "normalization for metric %s resulted in invalid name %s", quoted,
                               quoted_result);
            free(quoted_result);
        }
        goto fail;
    }
    rc = 0;
    goto done;

fail:
    free(*out);
    *out = NULL;
done:
    free(quoted);
    free(tokens);
    free(main_suffix);
    free(per_suffix);
    return rc;
}

int prometheus_build_unit_name(const char *unit, char **out)
{
    char *main_suffix = NULL, *per_suffix = NULL;
    struct strbuf result = STRBUF_INIT(TEXT_MAX);
    *out = NULL;
    int rc = build_unit_suffixes(unit ? unit : "", &main_suffix, &per_suffix);
    if (rc < 0)
        return rc;
    clean_up_unit(main_suffix);
    clean_up_unit(per_suffix);
    strbuf_puts(&result, main_suffix);
    if (main_suffix[0] && per_suffix[0])
        strbuf_putc(&result, '_');
    strbuf_puts(&result, per_suffix);
    free(main_suffix);
    free(per_suffix);
    rc = strbuf_finish(&result, out, NULL);
    if (rc < 0)
        return rc;
    /* UnitNamer trims one underscore at each end. */
    size_t len = strlen(*out);
    if (len && (*out)[0] == '_') {
        memmove(*out, *out + 1, len);
        len--;
    }
    if (len && (*out)[len - 1] == '_')
        (*out)[len - 1] = '\0';
    return 0;
}

/* ---- label names (label_namer.go, strconv.go) ---- */

static bool is_label_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int prometheus_build_label_name(const char *key, char **out, struct error *err)
{
    struct strbuf sanitized = STRBUF_INIT(TEXT_MAX);
    char *quoted_key = NULL, *quoted_name = NULL;
    int rc;
    *out = NULL;
    if (!key || !key[0])
        return error_set(err, -EINVAL, ERROR_PERMANENT, "label name is empty");

    /* sanitizeLabelName with multiple underscores preserved: one `_` per invalid character,
     * counted in runes as Go's range loop counts them (so "字" is one `_`, not three). */
    const unsigned char *s = (const unsigned char *)key;
    while (*s) {
        if (is_label_name_char(*s)) {
            strbuf_putc(&sanitized, (char)*s);
            s++;
            continue;
        }
        size_t len = utf8_sequence_length(s);
        strbuf_putc(&sanitized, '_');
        s += len ? len : 1;
    }
    char *name = NULL;
    rc = strbuf_finish(&sanitized, &name, NULL);
    if (rc < 0)
        return rc;

    const char *prefix = NULL;
    if (is_digit((unsigned char)name[0]))
        prefix = "key_";
    else if (name[0] == '_' && name[1] != '_')
        prefix = "key"; /* "_x" -> "key_x"; "__x" stays reserved */
    if (prefix) {
        struct strbuf prefixed = STRBUF_INIT(TEXT_MAX);
        strbuf_puts(&prefixed, prefix);
        strbuf_puts(&prefixed, name);
        free(name);
        name = NULL;
        rc = strbuf_finish(&prefixed, &name, NULL);
        if (rc < 0)
            return rc;
    }

    if (only_underscores(name)) {
        rc = go_quote(key, &quoted_key);
        if (rc == 0)
            rc = go_quote(name, &quoted_name);
        if (rc == 0)
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "normalization for label name %s resulted in invalid name %s",
                           quoted_key, quoted_name);
        free(quoted_key);
        free(quoted_name);
        free(name);
        return rc;
    }
    *out = name;
    return 0;
}

/* ---- Go number formatting (strconv.FormatFloat with precision -1) ---- */

/* The shortest decimal digits that read back as `v` (v finite and > 0): digits[0..nd-1] with
 * the decimal point `dp` places from the left, as Go's decimal type holds them. */
static void shortest_digits(double v, char digits[24], int *nd, int *dp)
{
    char buf[40];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, sizeof(buf), "%.*e", precision - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    /* buf is "d.ddde[+-]xx" */
    int n = 0;
    const char *c = buf;
    for (; *c && *c != 'e'; c++)
        if (is_digit((unsigned char)*c))
            digits[n++] = *c;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    *nd = n;
    *dp = atoi(c + 1) + 1;
}

static void format_exponent_form(struct strbuf *t, const char *digits, int nd, int dp)
{
    strbuf_putc(t, nd ? digits[0] : '0');
    if (nd > 1) {
        strbuf_putc(t, '.');
        strbuf_add(t, digits + 1, (size_t)nd - 1);
    }
    int exp = nd ? dp - 1 : 0;
    char buf[16];
    snprintf(buf, sizeof(buf), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    strbuf_puts(t, buf);
}

static void format_fixed_form(struct strbuf *t, const char *digits, int nd, int dp)
{
    if (dp > 0) {
        for (int i = 0; i < dp; i++)
            strbuf_putc(t, i < nd ? digits[i] : '0');
    } else {
        strbuf_putc(t, '0');
    }
    int decimals = nd - dp > 0 ? nd - dp : 0;
    if (decimals > 0) {
        strbuf_putc(t, '.');
        for (int i = 1; i <= decimals; i++) {
            int j = dp + i - 1;
            strbuf_putc(t, j >= 0 && j < nd ? digits[j] : '0');
        }
    }
}

int prometheus_format_float(double v, char format, char buf[PROMETHEUS_FLOAT_TEXT_MAX])
{
    if (format != 'e' && format != 'f' && format != 'g')
        return -EINVAL;
    if (isnan(v))
        return snprintf(buf, PROMETHEUS_FLOAT_TEXT_MAX, "NaN");
    if (isinf(v))
        return snprintf(buf, PROMETHEUS_FLOAT_TEXT_MAX, v > 0 ? "+Inf" : "-Inf");

    char digits[24] = "";
    int nd = 0, dp = 0; /* zero has no digits, as in Go */
    if (v != 0)
        shortest_digits(fabs(v), digits, &nd, &dp);

    /* The longest result ('f' of 5e-324) is under 340 characters, so the builder cannot fail
     * for lack of room; it can only fail to allocate. */
    struct strbuf t = STRBUF_INIT(TEXT_MAX);
    if (signbit(v))
        strbuf_putc(&t, '-');
    if (format == 'e') {
        format_exponent_form(&t, digits, nd, dp);
    } else if (format == 'f') {
        format_fixed_form(&t, digits, nd, dp);
    } else {
        /* %g with the shortest precision switches to the exponent form below 1e-4 and from 1e6
         * on (Go uses precision 6 for that decision when printing shortest). */
        int exp = dp - 1;
        if (exp < -4 || exp >= 6)
            format_exponent_form(&t, digits, nd, dp);
        else
            format_fixed_form(&t, digits, nd, dp);
    }
    int len;
    if (t.error || !t.data) {
        len = snprintf(buf, PROMETHEUS_FLOAT_TEXT_MAX, "%.17g", v); /* only on ENOMEM */
    } else {
        len = snprintf(buf, PROMETHEUS_FLOAT_TEXT_MAX, "%s", t.data);
    }
    strbuf_release(&t);
    return len;
}

/* float64AsString (pdata) and encoding/json's float encoding: ES6 number-to-string, i.e. the
 * fixed form except below 1e-6 and from 1e21 on, with "e-07" shortened to "e-7". */
static void append_json_number(struct strbuf *t, double v)
{
    char buf[PROMETHEUS_FLOAT_TEXT_MAX];
    double magnitude = fabs(v);
    bool exponent_form = magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21);
    int len = prometheus_format_float(v, exponent_form ? 'e' : 'f', buf);
    if (exponent_form && len >= 4 && buf[len - 4] == 'e' && buf[len - 3] == '-' &&
        buf[len - 2] == '0') {
        buf[len - 2] = buf[len - 1];
        buf[len - 1] = '\0';
    }
    strbuf_puts(t, buf);
}

/* ---- attribute values as label values (pcommon.Value.AsString) ---- */

static const char hex_digits[] = "0123456789abcdef";

/* encoding/json's string encoding of the NUL-terminated `s` (len = strlen(s)), with its default
 * HTML escaping (<, >, & as \u003c...), invalid UTF-8 as \ufffd, U+2028/U+2029 escaped. */
static void append_json_string(struct strbuf *t, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    strbuf_putc(t, '"');
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            switch (c) {
            case '"': strbuf_puts(t, "\\\""); break;
            case '\\': strbuf_puts(t, "\\\\"); break;
            case '\b': strbuf_puts(t, "\\b"); break;
            case '\f': strbuf_puts(t, "\\f"); break;
            case '\n': strbuf_puts(t, "\\n"); break;
            case '\r': strbuf_puts(t, "\\r"); break;
            case '\t': strbuf_puts(t, "\\t"); break;
            default:
                if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                    char esc[7] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15]};
                    strbuf_add(t, esc, 6);
                } else {
                    strbuf_putc(t, (char)c);
                }
            }
            p++;
            continue;
        }
        size_t n = utf8_sequence_length(p); /* `s` is NUL-terminated: see the helper */
        if (n == 0) {
            strbuf_puts(t, "\\ufffd");
            p++;
            continue;
        }
        uint32_t rune = utf8_decode(p, n);
        if (rune == 0x2028 || rune == 0x2029)
            strbuf_puts(t, rune == 0x2028 ? "\\u2028" : "\\u2029");
        else
            strbuf_add(t, (const char *)p, n);
        p += n;
    }
    strbuf_putc(t, '"');
}

static void append_base64(struct strbuf *t, const uint8_t *data, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < len; i += 3) {
        uint32_t chunk = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            chunk |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            chunk |= data[i + 2];
        char quad[4] = {alphabet[(chunk >> 18) & 63], alphabet[(chunk >> 12) & 63],
                        i + 1 < len ? alphabet[(chunk >> 6) & 63] : '=',
                        i + 2 < len ? alphabet[chunk & 63] : '='};
        strbuf_add(t, quad, 4);
    }
}

static int compare_keyvalue_keys(const void *a, const void *b)
{
    const otlp_keyvalue *x = *(const otlp_keyvalue *const *)a;
    const otlp_keyvalue *y = *(const otlp_keyvalue *const *)b;
    return strcmp(x->key ? x->key : "", y->key ? y->key : "");
}

/* json.Marshal of Value.AsRaw(). Returns false when Go's Marshal would fail (NaN or Inf
 * inside), in which case AsString yields "". */
static bool append_json_value(struct strbuf *t, const otlp_anyvalue *v, int depth)
{
    if (depth > 64) {
        t->error = t->error ? t->error : -E2BIG; /* a fake's bound on nesting */
        return true;
    }
    if (!v) {
        strbuf_puts(t, "null");
        return true;
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: {
        const char *s = v->string_value ? v->string_value : "";
        append_json_string(t, s, strlen(s));
        return true;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        strbuf_puts(t, v->bool_value ? "true" : "false");
        return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE: {
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRId64, v->int_value);
        strbuf_puts(t, buf);
        return true;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        if (isnan(v->double_value) || isinf(v->double_value))
            return false;
        append_json_number(t, v->double_value);
        return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        strbuf_putc(t, '"');
        append_base64(t, v->bytes_value.data, v->bytes_value.len);
        strbuf_putc(t, '"');
        return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
        strbuf_putc(t, '[');
        const Opentelemetry__Proto__Common__V1__ArrayValue *array = v->array_value;
        for (size_t i = 0; array && i < array->n_values; i++) {
            if (i)
                strbuf_putc(t, ',');
            if (!append_json_value(t, array->values[i], depth + 1))
                return false;
        }
        strbuf_putc(t, ']');
        return true;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        /* A Go map: keys sorted, and of repeated keys the last one wins. */
        const Opentelemetry__Proto__Common__V1__KeyValueList *list = v->kvlist_value;
        size_t n = list ? list->n_values : 0;
        otlp_keyvalue **sorted = NULL;
        if (n) {
            sorted = malloc(n * sizeof(*sorted));
            if (!sorted) {
                t->error = t->error ? t->error : -ENOMEM;
                return true;
            }
            /* Reverse first so that a stable pick of the first of equal keys takes the last. */
            for (size_t i = 0; i < n; i++)
                sorted[i] = list->values[n - 1 - i];
            /* qsort is not stable: break ties by position to keep the reversed order. */
            for (size_t i = 1; i < n; i++) {
                otlp_keyvalue *item = sorted[i];
                size_t j = i;
                while (j > 0 && compare_keyvalue_keys(&sorted[j - 1], &item) > 0) {
                    sorted[j] = sorted[j - 1];
                    j--;
                }
                sorted[j] = item;
            }
        }
        bool ok = true;
        size_t written = 0;
        strbuf_putc(t, '{');
        for (size_t i = 0; i < n && ok; i++) {
            const char *key = sorted[i]->key ? sorted[i]->key : "";
            if (i > 0 && strcmp(key, sorted[i - 1]->key ? sorted[i - 1]->key : "") == 0)
                continue; /* a repeated key: the last one (first after reversing) won */
            if (written++)
                strbuf_putc(t, ',');
            append_json_string(t, key, strlen(key));
            strbuf_putc(t, ':');
            ok = append_json_value(t, sorted[i]->value, depth + 1);
        }
        strbuf_putc(t, '}');
        free(sorted);
        return ok;
    }
    default: strbuf_puts(t, "null"); return true;
    }
}

int prometheus_attribute_as_string(const otlp_anyvalue *value, char **out)
{
    struct strbuf t = STRBUF_INIT(TEXT_MAX);
    char buf[PROMETHEUS_FLOAT_TEXT_MAX];
    *out = NULL;
    if (!value)
        return strbuf_finish(&t, out, NULL);
    switch (value->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        strbuf_puts(&t, value->string_value ? value->string_value : "");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        strbuf_puts(&t, value->bool_value ? "true" : "false");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        snprintf(buf, sizeof(buf), "%" PRId64, value->int_value);
        strbuf_puts(&t, buf);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        if (isnan(value->double_value) || isinf(value->double_value)) {
            /* float64AsString's own words, on purpose: that is the label value Go produces. */
            prometheus_format_float(value->double_value, 'g', buf);
            strbuf_puts(&t, "json: unsupported value: ");
            strbuf_puts(&t, buf);
        } else {
            append_json_number(&t, value->double_value);
        }
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        append_base64(&t, value->bytes_value.data, value->bytes_value.len);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        if (!append_json_value(&t, value, 0)) {
            /* json.Marshal failed; AsString ignores the error and returns "" */
            int error = t.error;
            strbuf_release(&t);
            t.error = error;
        }
        break;
    default: break; /* an empty value is "" */
    }
    return strbuf_finish(&t, out, NULL);
}
