/*
 * expfmt.c - the Prometheus text format 0.0.4 and OpenMetrics 1.0 text parsers (see expfmt.h).
 *
 * Upstream's parsers are a golex lexer with states plus a parser on top (prometheus
 * model/textparse/promlex.l + promparse.go, openmetricslex.l + openmetricsparse.go). This file is
 * one hand-written scanner over the whole body that accepts the same language: each function
 * below names the lexer state it stands for. The two formats differ in whitespace (Prometheus:
 * any run of spaces and tabs between tokens; OpenMetrics: exactly one space where the grammar
 * has one), comments (Prometheus: any `#` line; OpenMetrics: only HELP, TYPE, UNIT and EOF),
 * blank lines (allowed only in Prometheus) and the end (`# EOF` required in OpenMetrics).
 *
 * Errors copy upstream's parseError: `<expected>, got "<token and one more byte>" ("<TOKEN>")
 * while parsing: "<the entry so far>"`, where TOKEN is the lexer's token name (INVALID when no
 * rule matches). The token names are worked out per state and match upstream for the errors
 * the tests pin; for exotic input they may differ in the token name only.
 */
#include "expfmt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gostr.h"

/* Prometheus' value.NormalNaN: Go's math.NaN(), what strconv.ParseFloat returns for "NaN". */
#define NORMAL_NAN_BITS UINT64_C(0x7ff8000000000001)

struct parser {
    const char *buf; /* the body; for the Prometheus format a copy with '\n' appended */
    size_t len;
    size_t pos;
    size_t line;        /* 1-based line of `pos` */
    size_t entry_start; /* where the current entry (line) began: upstream's p.start */
    bool om;
    struct expfmt_limits limits;
    size_t total_samples;
    bool family_limit_hit; /* add_family refused past max_samples families, not out of memory */
    struct expfmt_body *body;
    struct error *err;
};

/* ---- small helpers ---- */

static bool is_metric_name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool is_label_name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int peek(const struct parser *p)
{
    return p->pos < p->len ? (unsigned char)p->buf[p->pos] : -1;
}

static bool utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t rune;
        bool valid;
        i += go_utf8_next((const unsigned char *)s + i, len - i, &rune, &valid);
        if (!valid)
            return false;
    }
    return true;
}

/* Appends Go's %q of s[0..len) to a fixed buffer. */
struct quote_sink {
    char *out;
    size_t size, used;
};

static void quote_emit(void *ctx, const char *data, size_t len)
{
    struct quote_sink *sink = ctx;
    for (size_t i = 0; i < len && sink->used + 1 < sink->size; i++)
        sink->out[sink->used++] = data[i];
    sink->out[sink->used] = '\0';
}

/* The error messages quote whole entries; a 1 MB line must not make a 4 MB message, and
 * struct error keeps ERROR_MESSAGE_MAX bytes anyway: quote at most this much of the input. */
#define QUOTE_INPUT_MAX 300

static void quote_into(char *buf, size_t size, const char *s, size_t len)
{
    struct quote_sink sink = {buf, size, 0};
    buf[0] = '\0';
    go_quote_each(s, len < QUOTE_INPUT_MAX ? len : QUOTE_INPUT_MAX, quote_emit, &sink);
}

static int fail(struct parser *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, int code, const char *fmt, ...)
{
    char message[ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return error_set(p->err, code, ERROR_PERMANENT, "line %zu: %s", p->line, message);
}

/* Upstream's parseError: the token [start, end) and one byte more, its name, and the entry so
 * far up to the same byte. An invalid token is the one byte where no rule matched. */
static int fail_token(struct parser *p, const char *expected, size_t start, size_t end,
                      const char *token_name)
{
    size_t upto = end + 1 < p->len ? end + 1 : p->len;
    if (start > upto)
        start = upto;
    char got[400], entry[400];
    quote_into(got, sizeof got, p->buf + start, upto - start);
    quote_into(entry, sizeof entry, p->buf + p->entry_start, upto - p->entry_start);
    return fail(p, -EINVAL, "%s, got %s (\"%s\") while parsing: %s", expected, got, token_name,
                entry);
}

/* The entry from its start to `end`, quoted: upstream's `while parsing: %q` suffix. */
static void quote_entry(struct parser *p, size_t end, char *buf, size_t size)
{
    quote_into(buf, size, p->buf + p->entry_start, end - p->entry_start);
}

/* ---- unescaping (promparse.go lvalReplacer and helpReplacer) ---- */

/* Go's strings.Replacer scans left to right and copies any backslash it has no rule for as it
 * is, with the byte after it: "\x" stays "\x". `with_quote` adds the \" rule (label values, and
 * OpenMetrics HELP); HELP in the Prometheus format unescapes only \\ and \n. Caller frees. */
static char *dup_unescaped(const char *s, size_t len, bool with_quote)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len) {
            char next = s[i + 1];
            if (next == '\\' || next == 'n' || (with_quote && next == '"')) {
                out[n++] = next == 'n' ? '\n' : next;
                i++;
                continue;
            }
        }
        out[n++] = s[i];
    }
    out[n] = '\0';
    return out;
}

static char *dup_range(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

/* ---- numbers (promparse.go parseFloat, Go's strconv) ---- */

/* strconv.ParseFloat's syntax for what the lexer lets through: Go's special values (inf and
 * infinity with an optional sign, nan without one, any case) and decimal floats. Hexadecimal
 * floats need a 'p' exponent, which parseFloat refuses, so none can parse. */
static bool go_float_syntax(const char *s, size_t len)
{
    size_t i = 0;
    bool sign = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        i++;
        sign = true;
    }
    size_t rest = len - i;
    if ((rest == 3 && strncasecmp(s + i, "inf", 3) == 0) ||
        (rest == 8 && strncasecmp(s + i, "infinity", 8) == 0))
        return true;
    if (!sign && rest == 3 && strncasecmp(s + i, "nan", 3) == 0)
        return true;
    size_t digits = 0;
    while (i < len && is_digit((unsigned char)s[i])) {
        i++;
        digits++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit((unsigned char)s[i])) {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exponent_digits = 0;
        while (i < len && is_digit((unsigned char)s[i])) {
            i++;
            exponent_digits++;
        }
        if (exponent_digits == 0)
            return false;
    }
    return i == len;
}

/* Parses s[0..len) as upstream's parseFloat; on failure writes Go's error text to `why`. */
static bool parse_go_float(const char *s, size_t len, double *out, char *why, size_t why_size)
{
    char quoted[400];
    if (memchr(s, 'p', len) || memchr(s, 'P', len) || memchr(s, '_', len)) {
        snprintf(why, why_size, "unsupported character in float");
        return false;
    }
    quote_into(quoted, sizeof quoted, s, len);
    if (len == 0 || len > 400 || !go_float_syntax(s, len)) {
        snprintf(why, why_size, "strconv.ParseFloat: parsing %s: invalid syntax", quoted);
        return false;
    }
    char copy[401];
    memcpy(copy, s, len);
    copy[len] = '\0';
    size_t i = (copy[0] == '+' || copy[0] == '-') ? 1 : 0;
    if (strncasecmp(copy + i, "nan", 3) == 0) {
        uint64_t bits = NORMAL_NAN_BITS;
        memcpy(out, &bits, sizeof *out);
        return true;
    }
    if (strncasecmp(copy + i, "inf", 3) == 0) {
        *out = copy[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    errno = 0;
    double value = strtod(copy, NULL);
    /* Go reports overflow only; an underflow quietly gives 0 or a denormal, as strtod does. */
    if (errno == ERANGE && isinf(value)) {
        snprintf(why, why_size, "strconv.ParseFloat: parsing %s: value out of range", quoted);
        return false;
    }
    *out = value;
    return true;
}

/* strconv.ParseInt(s, 10, 64) of the digits the lexer matched. */
static bool parse_go_int64(const char *s, size_t len, int64_t *out, char *why, size_t why_size)
{
    uint64_t value = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned digit = (unsigned)(s[i] - '0');
        if (value > (UINT64_C(9223372036854775807) - digit) / 10) {
            char quoted[400];
            quote_into(quoted, sizeof quoted, s, len);
            snprintf(why, why_size, "strconv.ParseInt: parsing %s: value out of range", quoted);
            return false;
        }
        value = value * 10 + digit;
    }
    *out = (int64_t)value;
    return true;
}

/* OpenMetrics timestamps are seconds; upstream keeps int64(ts * 1000), which truncates toward
 * zero. A product outside int64 is undefined in C; Go on amd64 gives the minimum, kept here. */
static int64_t seconds_to_ms(double seconds)
{
    double ms = seconds * 1000.0;
    if (!(ms > -9223372036854775808.0 && ms < 9223372036854775808.0))
        return INT64_MIN;
    return (int64_t)ms;
}

/* Go's %f of a float, for the invalid-timestamp errors: NaN, +Inf and -Inf are spelt so. */
static void go_format_f(char *buf, size_t size, double value)
{
    if (isnan(value))
        snprintf(buf, size, "NaN");
    else if (isinf(value))
        snprintf(buf, size, "%s", value > 0 ? "+Inf" : "-Inf");
    else
        snprintf(buf, size, "%f", value);
}

/* ---- growing the result, each array with its hard maximum ---- */

static void free_labels(struct expfmt_label *labels, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(labels[i].name);
        free(labels[i].value);
    }
    free(labels);
}

static void free_sample(struct expfmt_sample *sample)
{
    free(sample->name);
    free_labels(sample->labels, sample->label_count);
    if (sample->exemplar) {
        free_labels(sample->exemplar->labels, sample->exemplar->label_count);
        free(sample->exemplar);
    }
}

void expfmt_body_destroy(struct expfmt_body *body)
{
    if (!body)
        return;
    for (size_t f = 0; f < body->family_count; f++) {
        struct expfmt_family *family = &body->families[f];
        for (size_t s = 0; s < family->sample_count; s++)
            free_sample(&family->samples[s]);
        free(family->samples);
        free(family->name);
        free(family->help);
        free(family->unit);
    }
    free(body->families);
    free(body);
}

/* Grows *items (of *capacity elements of `size` bytes) to hold `need`, doubling. The callers
 * bound `need` by a limit first, so the array never outgrows it. */
static int grow(void **items, size_t *capacity, size_t need, size_t size)
{
    if (need <= *capacity)
        return 0;
    size_t want = *capacity ? *capacity * 2 : 8;
    while (want < need)
        want *= 2;
    void *grown = realloc(*items, want * size);
    if (!grown)
        return -ENOMEM;
    *items = grown;
    *capacity = want;
    return 0;
}

/* A new family named name[0..len), with the metadata of `inherit` (may be NULL). Returns it or
 * NULL on out-of-memory. The family count is bounded by max_samples + the metadata lines, which
 * the body size bounds. */
static struct expfmt_family *add_family(struct parser *p, const char *name, size_t len,
                                        const struct expfmt_family *inherit)
{
    struct expfmt_body *body = p->body;
    if (body->family_count >= p->limits.max_samples) {
        p->family_limit_hit = true;
        return NULL;
    }
    if (grow((void **)&body->families, &body->family_capacity, body->family_count + 1,
             sizeof *body->families) < 0)
        return NULL;
    struct expfmt_family *family = &body->families[body->family_count];
    memset(family, 0, sizeof *family);
    family->name = dup_range(name, len);
    if (!family->name)
        return NULL;
    body->family_count++;
    if (inherit) {
        family->type = inherit->type;
        if (inherit->help && !(family->help = strdup(inherit->help)))
            return NULL;
        if (inherit->unit && !(family->unit = strdup(inherit->unit)))
            return NULL;
    }
    return family;
}

/* Why add_family gave NULL: the family limit (metadata lines alone can make families, so they
 * are bounded like samples) or out of memory. */
static int family_failure(struct parser *p)
{
    if (p->family_limit_hit)
        return fail(p, -E2BIG, "more than %zu families (the limit max_samples)",
                    p->limits.max_samples);
    return -ENOMEM;
}

static struct expfmt_family *current_family(struct parser *p)
{
    return p->body->family_count ? &p->body->families[p->body->family_count - 1] : NULL;
}

/* The sample suffixes a family of each type has; upstream's isSeriesPartOfFamily idea, with the
 * OpenMetrics 1.0 suffixes (_created everywhere it may appear, _gcount/_gsum, _info). */
static bool name_belongs_to_family(const char *sample, const struct expfmt_family *family)
{
    static const char *const counter[] = {"_total", "_created", NULL};
    static const char *const histogram[] = {"_bucket", "_count", "_sum", "_created", NULL};
    static const char *const summary[] = {"_count", "_sum", "_created", NULL};
    static const char *const gaugehistogram[] = {"_bucket", "_gcount", "_gsum", NULL};
    static const char *const info[] = {"_info", NULL};
    static const char *const none[] = {NULL};
    const char *const *suffixes = none;
    switch (family->type) {
    case EXPFMT_COUNTER: suffixes = counter; break;
    case EXPFMT_HISTOGRAM: suffixes = histogram; break;
    case EXPFMT_SUMMARY: suffixes = summary; break;
    case EXPFMT_GAUGEHISTOGRAM: suffixes = gaugehistogram; break;
    case EXPFMT_INFO: suffixes = info; break;
    default: break;
    }
    size_t family_len = strlen(family->name);
    if (strncmp(sample, family->name, family_len) != 0)
        return false;
    const char *rest = sample + family_len;
    if (*rest == '\0')
        return true;
    for (size_t i = 0; suffixes[i]; i++)
        if (strcmp(rest, suffixes[i]) == 0)
            return true;
    return false;
}

/* The family a sample goes to: the current one if the name fits it, else a new untyped family
 * named after the sample (upstream gives such a series the unknown type too). */
static struct expfmt_family *family_for_sample(struct parser *p, const char *name)
{
    struct expfmt_family *family = current_family(p);
    if (family && name_belongs_to_family(name, family))
        return family;
    return add_family(p, name, strlen(name), NULL);
}

/* The family a TYPE/HELP/UNIT line for name[0..len) sets: the current one when it has that name
 * and no samples yet; otherwise a new one. A metadata line after samples of the same name opens
 * a new family that inherits the rest of the metadata, so samples already read keep what they
 * were read under, as upstream's streaming parser reports them. */
static struct expfmt_family *family_for_metadata(struct parser *p, const char *name, size_t len)
{
    struct expfmt_family *family = current_family(p);
    bool same_name = family && strlen(family->name) == len && memcmp(family->name, name, len) == 0;
    if (same_name && family->sample_count == 0)
        return family;
    return add_family(p, name, len, same_name ? family : NULL);
}

/* ---- the lexer states ---- */

/* Prometheus: `<*>[ \t]+` is a token the parser skips everywhere. OpenMetrics has no such rule. */
static void skip_blanks(struct parser *p)
{
    if (p->om)
        return;
    while (p->pos < p->len && (p->buf[p->pos] == ' ' || p->buf[p->pos] == '\t'))
        p->pos++;
}

/* OpenMetrics' `{S}`: exactly one space before a value, timestamp or exemplar. */
static bool take_separator(struct parser *p)
{
    if (!p->om) {
        skip_blanks(p);
        return true;
    }
    if (peek(p) != ' ')
        return false;
    p->pos++;
    return true;
}

/* `\"(\\.|[^\\"])*\"` (a label value in OpenMetrics also excludes a raw newline). Returns the
 * end (after the closing quote) or 0 when the string is not closed. */
static size_t scan_quoted(const struct parser *p, size_t at, bool newline_allowed)
{
    size_t i = at + 1;
    while (i < p->len) {
        char c = p->buf[i];
        if (c == '"')
            return i + 1;
        if (c == '\\') {
            if (i + 1 >= p->len)
                return 0;
            i += 2;
            continue;
        }
        if (c == '\n' && !newline_allowed)
            return 0;
        i++;
    }
    return 0;
}

static size_t scan_name(const struct parser *p, size_t at, bool metric)
{
    size_t i = at;
    if (i >= p->len || !(metric ? is_metric_name_start((unsigned char)p->buf[i])
                                : is_label_name_start((unsigned char)p->buf[i])))
        return at;
    i++;
    while (i < p->len) {
        unsigned char c = (unsigned char)p->buf[i];
        if (!(metric ? is_metric_name_start(c) : is_label_name_start(c)) && !is_digit(c))
            break;
        i++;
    }
    return i;
}

/* The token at pos inside braces (sLabels/sExemplar), for an error: its end and name. */
static const char *label_state_token(const struct parser *p, size_t *end)
{
    int c = peek(p);
    *end = p->pos;
    if (c < 0)
        return "EOF";
    switch (c) {
    case '}': *end = p->pos + 1; return "BCLOSE";
    case '=': *end = p->pos + 1; return "EQUAL";
    case ',': *end = p->pos + 1; return "COMMA";
    case '"': {
        size_t close = scan_quoted(p, p->pos, !p->om);
        if (close) {
            *end = close;
            return "QSTRING";
        }
        return "INVALID";
    }
    default:
        if (is_label_name_start((unsigned char)c)) {
            *end = scan_name(p, p->pos, false);
            return "LNAME";
        }
        return "INVALID";
    }
}

static int fail_in_labels(struct parser *p, const char *expected)
{
    size_t end;
    const char *name = label_state_token(p, &end);
    return fail_token(p, expected, p->pos, strcmp(name, "INVALID") == 0 ? p->pos : end, name);
}

static int check_label_limit(struct parser *p, size_t count)
{
    if (count >= p->limits.max_labels)
        return fail(p, -E2BIG, "more than %zu labels (the limit max_labels)", p->limits.max_labels);
    return 0;
}

/* A quoted name may hold any bytes the lexer lets through; the scrape loop then refuses a label
 * set that is not valid UTF-8 (scrape.go: `invalid metric name or label names`). The message
 * quotes the one name rather than upstream's whole label set. */
static int check_name_utf8(struct parser *p, const char *name)
{
    if (utf8_valid(name, strlen(name)))
        return 0;
    char quoted[400];
    quote_into(quoted, sizeof quoted, name, strlen(name));
    return fail(p, -EINVAL, "invalid metric name or label names: %s", quoted);
}

/* parseLVals: after `{` up to and including `}`. A quoted string followed by `,` or `}` is the
 * metric name (Prometheus 3's quoted names), not allowed in an exemplar. Label names of the
 * sample are checked for duplicates as the receiver's transaction does. */
static int parse_label_set(struct parser *p, bool exemplar, char **metric_name,
                           struct expfmt_label **labels, size_t *count)
{
    size_t capacity = 0;
    int rc;
    skip_blanks(p);
    for (;;) {
        int c = peek(p);
        if (c == '}') {
            p->pos++;
            return 0;
        }
        size_t name_start = p->pos, name_end;
        bool quoted = false;
        if (c == '"') {
            name_end = scan_quoted(p, p->pos, !p->om);
            if (!name_end)
                return fail_in_labels(p, "expected label name");
            quoted = true;
        } else if (c >= 0 && is_label_name_start((unsigned char)c)) {
            name_end = scan_name(p, p->pos, false);
        } else {
            return fail_in_labels(p, "expected label name");
        }
        p->pos = name_end;
        skip_blanks(p);
        c = peek(p);
        if (quoted && (c == ',' || c == '}')) {
            if (exemplar)
                return fail_in_labels(p, "expected label name");
            if (*metric_name) {
                char entry[400];
                quote_entry(p, p->pos + 1, entry, sizeof entry); /* through the , or } */
                return fail(p, -EINVAL, "metric name already set while parsing: %s", entry);
            }
            *metric_name = dup_unescaped(p->buf + name_start + 1, name_end - name_start - 2, true);
            if (!*metric_name)
                return -ENOMEM;
            if ((rc = check_name_utf8(p, *metric_name)) < 0)
                return rc;
            p->pos++;
            if (c == '}')
                return 0;
            skip_blanks(p);
            continue;
        }
        if (c != '=')
            return fail_in_labels(p, "expected equal");
        p->pos++;
        skip_blanks(p);
        size_t value_start = p->pos;
        size_t value_end = peek(p) == '"' ? scan_quoted(p, p->pos, !p->om) : 0;
        if (!value_end) {
            size_t end;
            const char *token = label_state_token(p, &end);
            if (strcmp(token, "QSTRING") != 0)
                token = "INVALID";
            return fail_token(p, "expected label value", p->pos, p->pos, token);
        }
        if (!utf8_valid(p->buf + value_start, value_end - value_start)) {
            char quoted_value[400];
            quote_into(quoted_value, sizeof quoted_value, p->buf + value_start,
                       value_end - value_start);
            return fail(p, -EINVAL, "invalid UTF-8 label value: %s", quoted_value);
        }
        for (size_t i = value_start; i < value_end; i++)
            if (p->buf[i] == '\n')
                p->line++; /* the Prometheus lexer lets a quoted value span lines */
        if ((rc = check_label_limit(p, *count)) < 0)
            return rc;
        const char *name = p->buf + (quoted ? name_start + 1 : name_start);
        size_t name_len = quoted ? name_end - name_start - 2 : name_end - name_start;
        if ((rc = grow((void **)labels, &capacity, *count + 1, sizeof **labels)) < 0)
            return rc;
        struct expfmt_label *label = &(*labels)[*count];
        label->name = quoted ? dup_unescaped(name, name_len, true) : dup_range(name, name_len);
        label->value = dup_unescaped(p->buf + value_start + 1, value_end - value_start - 2, true);
        (*count)++;
        if (!label->name || !label->value)
            return -ENOMEM;
        if (quoted && (rc = check_name_utf8(p, label->name)) < 0)
            return rc;
        if (!exemplar) {
            for (size_t i = 0; i + 1 < *count; i++)
                if (strcmp((*labels)[i].name, label->name) == 0) {
                    char quoted_name[400];
                    quote_into(quoted_name, sizeof quoted_name, label->name, strlen(label->name));
                    return fail(p, -EINVAL, "invalid sample: non-unique label names: %s",
                                quoted_name);
                }
        }
        p->pos = value_end;
        skip_blanks(p);
        c = peek(p);
        if (c == ',') {
            p->pos++;
            skip_blanks(p);
        } else if (p->om && c != '}') {
            return fail_in_labels(p, "expected comma or brace close");
        }
        /* Prometheus: no comma needed between pairs. promparse.go says it is not clear this is
         * intended; it is accepted, so it is accepted here on purpose. */
    }
}

/* `<sValue>[^{ \t\n]+` (Prometheus) or `<sValue>{S}[^ \n]+` (OpenMetrics) after the separator.
 * Returns the end of the token (== pos when there is none). */
static size_t scan_value_token(const struct parser *p)
{
    size_t i = p->pos;
    while (i < p->len) {
        char c = p->buf[i];
        if (c == ' ' || c == '\n' || (!p->om && (c == '\t' || c == '{')))
            break;
        i++;
    }
    return i;
}

static int parse_float_token(struct parser *p, size_t start, size_t end, double *value)
{
    char why[600];
    if (parse_go_float(p->buf + start, end - start, value, why, sizeof why))
        return 0;
    char entry[400];
    quote_entry(p, end, entry, sizeof entry);
    return fail(p, -EINVAL, "%s while parsing: %s", why, entry);
}

/* The value token after a separator; `after` names what came before ("metric", "exemplar
 * labels") as getFloatValue does. */
static int parse_value(struct parser *p, const char *after, double *value)
{
    char expected[64];
    snprintf(expected, sizeof expected, "expected value after %s", after);
    size_t separator = p->pos;
    if (!take_separator(p) || scan_value_token(p) == p->pos) {
        size_t at = p->om ? separator : p->pos;
        const char *token = "INVALID";
        if (at >= p->len)
            token = "EOF";
        else if (!p->om && p->buf[at] == '{')
            token = "BOPEN";
        p->pos = at;
        return fail_token(p, expected, at, at, token);
    }
    size_t start = p->pos, end = scan_value_token(p);
    p->pos = end;
    return parse_float_token(p, start, end, value);
}

/* Is this ` # {`, the start of an exemplar (`<sTimestamp>{S}#{S}\{`)? */
static bool at_exemplar(const struct parser *p)
{
    return p->om && p->pos + 4 <= p->len && memcmp(p->buf + p->pos, " # {", 4) == 0;
}

static int end_of_line(struct parser *p)
{
    if (peek(p) == '\n') {
        p->pos++;
        p->line++;
        return 0;
    }
    return -1;
}

/* An OpenMetrics timestamp (seconds, with a fraction) after the blank at p->pos, as milliseconds;
 * NaN and Inf are refused with `what` (a sample's and an exemplar's words differ upstream). */
static int parse_om_timestamp(struct parser *p, const char *what, int64_t *ms)
{
    size_t start = ++p->pos, end = scan_value_token(p);
    double seconds;
    p->pos = end;
    int rc = parse_float_token(p, start, end, &seconds);
    if (rc < 0)
        return rc;
    if (isnan(seconds) || isinf(seconds)) {
        char shown[32];
        go_format_f(shown, sizeof shown, seconds);
        return fail(p, -EINVAL, "%s %s", what, shown);
    }
    *ms = seconds_to_ms(seconds);
    return 0;
}

static int parse_exemplar(struct parser *p, struct expfmt_sample *sample)
{
    p->pos += 4; /* " # {" */
    sample->exemplar = calloc(1, sizeof *sample->exemplar);
    if (!sample->exemplar)
        return -ENOMEM;
    struct expfmt_exemplar *exemplar = sample->exemplar;
    char *unused_name = NULL;
    int rc = parse_label_set(p, true, &unused_name, &exemplar->labels, &exemplar->label_count);
    free(unused_name);
    if (rc < 0)
        return rc;
    if ((rc = parse_value(p, "exemplar labels", &exemplar->value)) < 0)
        return rc;
    if (p->pos >= p->len)
        return fail(p, -EINVAL, "data does not end with # EOF");
    if (end_of_line(p) == 0)
        return 0;
    if (peek(p) == ' ' && p->pos + 1 < p->len && p->buf[p->pos + 1] != ' ' &&
        p->buf[p->pos + 1] != '\n') {
        if ((rc = parse_om_timestamp(p, "invalid exemplar timestamp", &exemplar->timestamp_ms)) < 0)
            return rc;
        exemplar->has_timestamp = true;
        if (end_of_line(p) == 0)
            return 0;
        return fail_token(p, "expected next entry after exemplar timestamp", p->pos, p->pos,
                          p->pos >= p->len ? "EOF" : "INVALID");
    }
    return fail_token(p, "expected timestamp or comment", p->pos, p->pos,
                      p->pos >= p->len ? "EOF" : "INVALID");
}

/* After the value: the timestamp, the exemplar (OpenMetrics) and the line break
 * (parseMetricSuffix / parseSeriesEndOfLine). */
static int parse_sample_end(struct parser *p, struct expfmt_sample *sample)
{
    int rc;
    char why[600];
    if (!p->om) {
        skip_blanks(p);
        if (end_of_line(p) == 0)
            return 0;
        size_t start = p->pos, end = p->pos;
        while (end < p->len && is_digit((unsigned char)p->buf[end]))
            end++;
        if (end == start)
            return fail_token(p, "expected timestamp or new record", start, start, "INVALID");
        p->pos = end;
        if (!parse_go_int64(p->buf + start, end - start, &sample->timestamp_ms, why, sizeof why)) {
            char entry[400];
            quote_entry(p, end, entry, sizeof entry);
            return fail(p, -EINVAL, "%s while parsing: %s", why, entry);
        }
        sample->has_timestamp = true;
        skip_blanks(p);
        if (end_of_line(p) == 0)
            return 0;
        return fail_token(p, "expected next entry after timestamp", p->pos, p->pos, "INVALID");
    }
    if (p->pos >= p->len)
        return fail(p, -EINVAL, "data does not end with # EOF");
    if (end_of_line(p) == 0)
        return 0;
    if (at_exemplar(p))
        return parse_exemplar(p, sample);
    if (peek(p) == ' ' && p->pos + 1 < p->len && p->buf[p->pos + 1] != ' ' &&
        p->buf[p->pos + 1] != '\n') {
        if ((rc = parse_om_timestamp(p, "invalid timestamp", &sample->timestamp_ms)) < 0)
            return rc;
        sample->has_timestamp = true;
        if (end_of_line(p) == 0)
            return 0;
        if (at_exemplar(p))
            return parse_exemplar(p, sample);
        return fail_token(p, "expected next entry after timestamp", p->pos, p->pos,
                          p->pos >= p->len ? "EOF" : "INVALID");
    }
    return fail_token(p, "expected timestamp or comment", p->pos, p->pos,
                      p->pos >= p->len ? "EOF" : "INVALID");
}

/* A sample line starting at pos (a metric name or `{`). The sample is built aside and moved
 * into its family only when the whole line parsed. */
static int parse_sample(struct parser *p)
{
    struct expfmt_sample sample = {0};
    sample.line = p->line;
    int rc;
    if (p->total_samples >= p->limits.max_samples) {
        rc =
            fail(p, -E2BIG, "more than %zu samples (the limit max_samples)", p->limits.max_samples);
        goto fail;
    }
    if (peek(p) != '{') {
        size_t end = scan_name(p, p->pos, true);
        if (!(sample.name = dup_range(p->buf + p->pos, end - p->pos))) {
            rc = -ENOMEM;
            goto fail;
        }
        p->pos = end;
        skip_blanks(p);
    }
    if (peek(p) == '{') {
        p->pos++;
        if ((rc = parse_label_set(p, false, &sample.name, &sample.labels, &sample.label_count)) < 0)
            goto fail;
    }
    if (!sample.name) {
        /* Upstream finds out only after lexing the value token: the quote runs through it. */
        size_t value_end = p->pos;
        while (value_end < p->len && (p->buf[value_end] == ' ' || p->buf[value_end] == '\t') &&
               (!p->om || value_end == p->pos))
            value_end++;
        size_t saved = p->pos;
        p->pos = value_end;
        value_end = scan_value_token(p);
        p->pos = saved;
        char entry[400];
        quote_entry(p, value_end, entry, sizeof entry);
        rc = fail(p, -EINVAL, "metric name not set while parsing: %s", entry);
        goto fail;
    }
    if ((rc = parse_value(p, "metric", &sample.value)) < 0)
        goto fail;
    if ((rc = parse_sample_end(p, &sample)) < 0)
        goto fail;
    struct expfmt_family *family = family_for_sample(p, sample.name);
    if (!family) {
        rc = family_failure(p);
        goto fail;
    }
    if (grow((void **)&family->samples, &family->sample_capacity, family->sample_count + 1,
             sizeof *family->samples) < 0) {
        rc = -ENOMEM;
        goto fail;
    }
    family->samples[family->sample_count++] = sample;
    p->total_samples++;
    return 0;
fail:
    free_sample(&sample);
    return rc;
}

static bool parse_type_name(const char *text, size_t len, bool om, enum expfmt_type *type)
{
    static const struct {
        const char *name;
        enum expfmt_type type;
        bool om_only, text_only;
    } types[] = {
        {"counter", EXPFMT_COUNTER, false, false},
        {"gauge", EXPFMT_GAUGE, false, false},
        {"histogram", EXPFMT_HISTOGRAM, false, false},
        {"summary", EXPFMT_SUMMARY, false, false},
        {"untyped", EXPFMT_UNKNOWN, false, true},
        {"unknown", EXPFMT_UNKNOWN, true, false},
        {"gaugehistogram", EXPFMT_GAUGEHISTOGRAM, true, false},
        {"info", EXPFMT_INFO, true, false},
        {"stateset", EXPFMT_STATESET, true, false},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if ((types[i].om_only && !om) || (types[i].text_only && om))
            continue;
        if (strlen(types[i].name) == len && memcmp(types[i].name, text, len) == 0) {
            *type = types[i].type;
            return true;
        }
    }
    return false;
}

enum metadata_kind { METADATA_HELP, METADATA_TYPE, METADATA_UNIT };

static const char *metadata_token_name(enum metadata_kind kind)
{
    return kind == METADATA_HELP ? "HELP" : kind == METADATA_TYPE ? "TYPE" : "UNIT";
}

/* `# HELP|TYPE|UNIT name text`: pos is on the metric name (sMeta1). */
static int parse_metadata(struct parser *p, enum metadata_kind kind)
{
    size_t name_start = p->pos, name_end;
    if (peek(p) == '"')
        name_end = scan_quoted(p, p->pos, false);
    else
        name_end = scan_name(p, p->pos, true);
    if (!name_end || name_end == name_start) {
        char expected[64];
        snprintf(expected, sizeof expected, "expected metric name after %s",
                 metadata_token_name(kind));
        return fail_token(p, expected, p->pos, p->pos, p->pos >= p->len ? "EOF" : "INVALID");
    }
    const char *name = p->buf + name_start;
    size_t name_len = name_end - name_start;
    if (name[0] == '"') {
        name++;
        name_len -= 2;
    }
    p->pos = name_end;
    /* The text (sMeta2). Prometheus: the rest of the line minus its first byte, "" when the rest
     * is only blanks (the whitespace rule wins that tie). OpenMetrics: one space, then the rest
     * of the line, which must end with a newline. */
    const char *newline = memchr(p->buf + p->pos, '\n', p->len - p->pos);
    size_t rest_len = (newline ? (size_t)(newline - p->buf) : p->len) - p->pos;
    const char *text = p->buf + p->pos;
    size_t text_len;
    if (p->om) {
        if (!newline || rest_len == 0 || text[0] != ' ')
            return fail(p, -EINVAL, "expected text in %s", metadata_token_name(kind));
        text++;
        text_len = rest_len - 1;
    } else {
        size_t blanks = strspn(text, " \t");
        if (blanks >= rest_len || rest_len <= 1) {
            text_len = 0;
        } else {
            text++;
            text_len = rest_len - 1;
        }
    }
    p->pos += rest_len;
    struct expfmt_family *family = NULL;
    switch (kind) {
    case METADATA_TYPE: {
        enum expfmt_type type;
        if (!parse_type_name(text, text_len, p->om, &type)) {
            char quoted[400];
            quote_into(quoted, sizeof quoted, text, text_len);
            return fail(p, -EINVAL, "invalid metric type %s", quoted);
        }
        if (!(family = family_for_metadata(p, name, name_len)))
            return family_failure(p);
        family->type = type;
        break;
    }
    case METADATA_HELP:
        if (!utf8_valid(text, text_len)) {
            char quoted[400];
            quote_into(quoted, sizeof quoted, text, text_len);
            return fail(p, -EINVAL, "help text %s is not a valid utf8 string", quoted);
        }
        if (!(family = family_for_metadata(p, name, name_len)))
            return family_failure(p);
        free(family->help);
        /* OpenMetrics uses the label-value escapes for HELP (openmetricsparse.go Help). */
        if (!(family->help = dup_unescaped(text, text_len, p->om)))
            return -ENOMEM;
        break;
    case METADATA_UNIT:
        if (text_len > 0 &&
            (name_len < text_len + 1 || memcmp(name + name_len - text_len, text, text_len) != 0 ||
             name[name_len - text_len - 1] != '_')) {
            char quoted_unit[400], quoted_name[400];
            quote_into(quoted_unit, sizeof quoted_unit, text, text_len);
            quote_into(quoted_name, sizeof quoted_name, name, name_len);
            return fail(p, -EINVAL, "unit %s not a suffix of metric %s", quoted_unit, quoted_name);
        }
        if (!(family = family_for_metadata(p, name, name_len)))
            return family_failure(p);
        free(family->unit);
        if (!(family->unit = dup_range(text, text_len)))
            return -ENOMEM;
        break;
    }
    /* The text ran to the newline; only an OpenMetrics body may lack it, refused above. */
    end_of_line(p);
    return 0;
}

/* Prometheus: `#` then blanks then HELP/TYPE and a blank is metadata; every other `#` line is a
 * comment, skipped (promlex.l consumeComment, which also ends the body at a NUL byte). */
static int parse_prometheus_comment(struct parser *p, bool *end_of_body)
{
    size_t after_hash = p->pos + 1;
    size_t i = after_hash;
    while (i < p->len && (p->buf[i] == ' ' || p->buf[i] == '\t'))
        i++;
    if (i > after_hash && i + 5 <= p->len &&
        (memcmp(p->buf + i, "HELP", 4) == 0 || memcmp(p->buf + i, "TYPE", 4) == 0) &&
        (p->buf[i + 4] == ' ' || p->buf[i + 4] == '\t')) {
        enum metadata_kind kind = p->buf[i] == 'H' ? METADATA_HELP : METADATA_TYPE;
        i += 4;
        while (i < p->len && (p->buf[i] == ' ' || p->buf[i] == '\t'))
            i++;
        p->pos = i;
        return parse_metadata(p, kind);
    }
    const char *newline = memchr(p->buf + p->pos, '\n', p->len - p->pos);
    size_t end = newline ? (size_t)(newline - p->buf) : p->len;
    if (memchr(p->buf + p->pos, '\0', end - p->pos)) {
        *end_of_body = true;
        return 0;
    }
    p->pos = end;
    end_of_line(p);
    return 0;
}

/* OpenMetrics: `# ` then HELP, TYPE, UNIT and a space, or EOF; anything else is an error. */
static int parse_openmetrics_comment(struct parser *p, bool *end_of_body)
{
    size_t i = p->pos + 2;
    if (p->pos + 1 >= p->len || p->buf[p->pos + 1] != ' ')
        return fail_token(p, "expected a valid start token", p->pos, p->pos, "INVALID");
    if (i + 3 <= p->len && memcmp(p->buf + i, "EOF", 3) == 0) {
        i += 3;
        if (i < p->len && p->buf[i] == '\n')
            i++;
        if (i != p->len)
            return fail(p, -EINVAL, "unexpected data after # EOF");
        p->pos = i;
        *end_of_body = true;
        return 0;
    }
    static const struct {
        const char *word;
        enum metadata_kind kind;
    } words[] = {{"HELP ", METADATA_HELP}, {"TYPE ", METADATA_TYPE}, {"UNIT ", METADATA_UNIT}};
    for (size_t w = 0; w < 3; w++) {
        if (i + 5 <= p->len && memcmp(p->buf + i, words[w].word, 5) == 0) {
            p->pos = i + 5;
            return parse_metadata(p, words[w].kind);
        }
    }
    return fail_token(p, "expected a valid start token", i, i, i >= p->len ? "EOF" : "INVALID");
}

static int check_line_length(struct parser *p)
{
    const char *newline = memchr(p->buf + p->pos, '\n', p->len - p->pos);
    size_t line_len = (newline ? (size_t)(newline - p->buf) : p->len) - p->pos;
    if (line_len > p->limits.max_line_bytes)
        return fail(p, -E2BIG, "line is %zu bytes, more than %zu (the limit max_line_bytes)",
                    line_len, p->limits.max_line_bytes);
    return 0;
}

/* Next() of both parsers: one entry (line) at a time until the end. */
static int parse_entries(struct parser *p)
{
    int rc;
    for (;;) {
        p->entry_start = p->pos;
        if ((rc = check_line_length(p)) < 0)
            return rc;
        skip_blanks(p);
        int c = peek(p);
        if (c < 0) {
            if (p->om)
                return fail(p, -EINVAL, "data does not end with # EOF");
            return 0;
        }
        bool end_of_body = false;
        if (c == '#') {
            rc = p->om ? parse_openmetrics_comment(p, &end_of_body)
                       : parse_prometheus_comment(p, &end_of_body);
        } else if (c == '{' || is_metric_name_start((unsigned char)c)) {
            rc = parse_sample(p);
        } else if (c == '\n' && !p->om) {
            rc = end_of_line(p); /* a blank line */
        } else if (c == '\0' && !p->om) {
            return 0; /* promlex.l: `\0 return tEOF`, the rest of the body is ignored */
        } else {
            rc = fail_token(p, "expected a valid start token", p->pos, p->pos, "INVALID");
        }
        if (rc < 0)
            return rc;
        if (end_of_body)
            return 0;
    }
}

int expfmt_parse(const char *body, size_t len, enum expfmt_format format,
                 const struct expfmt_limits *limits, struct expfmt_body **out, struct error *err)
{
    static const struct expfmt_limits defaults = {EXPFMT_MAX_BODY_BYTES, EXPFMT_MAX_LINE_BYTES,
                                                  EXPFMT_MAX_LABELS, EXPFMT_MAX_SAMPLES};
    struct parser p = {.line = 1, .err = err, .limits = limits ? *limits : defaults};
    char *copy = NULL;
    int rc;
    *out = NULL;
    if (format != EXPFMT_FORMAT_PROMETHEUS && format != EXPFMT_FORMAT_OPENMETRICS)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "unsupported exposition format %d",
                         (int)format);
    if (len > p.limits.max_body_bytes)
        return error_set(err, -E2BIG, ERROR_PERMANENT,
                         "body is %zu bytes, more than %zu (the limit max_body_bytes)", len,
                         p.limits.max_body_bytes);
    p.om = format == EXPFMT_FORMAT_OPENMETRICS;
    if (p.om) {
        p.buf = body ? body : "";
        p.len = len;
    } else {
        /* NewPromParser appends a newline, so the last line needs none. */
        if (!(copy = malloc(len + 1)))
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        if (len)
            memcpy(copy, body, len);
        copy[len] = '\n';
        p.buf = copy;
        p.len = len + 1;
    }
    if (!(p.body = calloc(1, sizeof *p.body))) {
        rc = -ENOMEM;
        goto fail;
    }
    p.body->format = format;
    if ((rc = parse_entries(&p)) < 0)
        goto fail;
    free(copy);
    *out = p.body;
    return 0;
fail:
    if (rc == -ENOMEM)
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    expfmt_body_destroy(p.body);
    free(copy);
    return rc;
}

const char *expfmt_type_name(enum expfmt_type type)
{
    switch (type) {
    case EXPFMT_COUNTER: return "counter";
    case EXPFMT_GAUGE: return "gauge";
    case EXPFMT_HISTOGRAM: return "histogram";
    case EXPFMT_SUMMARY: return "summary";
    case EXPFMT_INFO: return "info";
    case EXPFMT_STATESET: return "stateset";
    case EXPFMT_GAUGEHISTOGRAM: return "gaugehistogram";
    default: return "unknown";
    }
}

static const char *format_media_type(enum expfmt_format format)
{
    return format == EXPFMT_FORMAT_OPENMETRICS ? "application/openmetrics-text" : "text/plain";
}

int expfmt_format_for_content_type(const char *content_type, enum expfmt_format fallback,
                                   enum expfmt_format *format, struct error *err)
{
    char quoted[400];
    *format = fallback;
    if (!content_type || !*content_type) {
        if (fallback == EXPFMT_FORMAT_NONE)
            return error_set(err, -EPROTONOSUPPORT, ERROR_PERMANENT,
                             "non-compliant scrape target sending blank Content-Type and no "
                             "fallback_scrape_protocol specified for target");
        error_set(err, -EPROTONOSUPPORT, ERROR_PERMANENT,
                  "non-compliant scrape target sending blank Content-Type, using "
                  "fallback_scrape_protocol \"%s\"",
                  format_media_type(fallback));
        return 1;
    }
    quote_into(quoted, sizeof quoted, content_type, strlen(content_type));
    /* mime.ParseMediaType: the type/subtype before any ';', trimmed, lower-cased. */
    const char *start = content_type;
    while (*start == ' ' || *start == '\t')
        start++;
    size_t len = strcspn(start, ";");
    while (len && (start[len - 1] == ' ' || start[len - 1] == '\t'))
        len--;
    static const char *const openmetrics = "application/openmetrics-text";
    static const char *const text = "text/plain";
    if (len == strlen(openmetrics) && strncasecmp(start, openmetrics, len) == 0) {
        *format = EXPFMT_FORMAT_OPENMETRICS;
        return 0;
    }
    if (len == strlen(text) && strncasecmp(start, text, len) == 0) {
        *format = EXPFMT_FORMAT_PROMETHEUS;
        return 0;
    }
    if (fallback == EXPFMT_FORMAT_NONE)
        return error_set(err, -EPROTONOSUPPORT, ERROR_PERMANENT,
                         "received unsupported Content-Type %s and no fallback_scrape_protocol "
                         "specified for target",
                         quoted);
    error_set(err, -EPROTONOSUPPORT, ERROR_PERMANENT,
              "received unsupported Content-Type %s, using fallback_scrape_protocol \"%s\"", quoted,
              format_media_type(fallback));
    return 1;
}
