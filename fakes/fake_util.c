/*
 * fake_util.c - the helpers of fake_util.h. Each mirrors one piece of Go's standard library
 * (net/http StatusText, mime.ParseMediaType, unicode/utf8.DecodeRuneInString) as far as the
 * fakes' answers depend on it, and no further.
 */
#include "fake_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "google/rpc/status.pb-c.h"
#include "otlp_json.h"
#include "strbuf.h"

const char *fake_util_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

void fake_util_write_rpc_status(struct http_response *resp, int http_status, int grpc_code,
                                const char *message, bool as_json, const char *content_type)
{
    Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
    status.code = grpc_code;
    status.message = (char *)(message ? message : "");
    resp->status = http_status;
    if (as_json) {
        size_t len = 0;
        char *text = otlp_json_encode_text(&status.base, &len);
        if (text)
            http_response_take_body(resp, "application/json", text, len);
        return;
    }
    size_t size = google__rpc__status__get_packed_size(&status);
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return;
    google__rpc__status__pack(&status, buf);
    http_response_take_body(resp, content_type ? content_type : "application/x-protobuf",
                            (char *)buf, size);
}

static bool is_token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

void fake_util_media_type(const char *content_type, char *out, size_t out_size)
{
    if (!content_type) {
        snprintf(out, out_size, "%s", "");
        return;
    }
    const char *p = content_type;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, ";");
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    /* type "/" subtype, both tokens (mime.ParseMediaType's checkMediaTypeDisposition). */
    size_t slash = 0, i;
    bool ok = n > 0 && n < out_size;
    for (i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '/' && !slash && i > 0)
            slash = i;
        else if (!is_token_char(c))
            ok = false;
    }
    if (!ok || !slash || slash + 1 == n) {
        snprintf(out, out_size, "%s", "-");
        return;
    }
    for (i = 0; i < n; i++) {
        char c = p[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[n] = '\0';
}

size_t fake_util_utf8_next(const unsigned char *s, size_t len, uint32_t *rune, bool *valid)
{
    *valid = true;
    unsigned char c = s[0];
    if (c < 0x80) {
        *rune = c;
        return 1;
    }
    size_t n;
    uint32_t r, min;
    if ((c & 0xe0) == 0xc0) {
        n = 2, r = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, r = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, r = c & 0x07, min = 0x10000;
    } else {
        goto invalid;
    }
    if (n > len)
        goto invalid;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            goto invalid;
        r = (r << 6) | (s[i] & 0x3f);
    }
    if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
        goto invalid;
    *rune = r;
    return n;
invalid:
    *valid = false;
    *rune = 0xfffd;
    return 1;
}

static bool utf8_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t r;
        bool valid;
        i += fake_util_utf8_next(p + i, len - i, &r, &valid);
        if (!valid)
            return false;
    }
    return true;
}

/* A valid UTF-8 copy of s[0..len) (malloc'd, NUL-terminated, length in *out_len). */
static char *utf8_lossy(const char *s, size_t len, size_t *out_len)
{
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(len * 3 + 1); /* each bad byte becomes 3 bytes at most */
    if (!out)
        return NULL;
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t r;
        bool valid;
        size_t n = fake_util_utf8_next(p + i, len - i, &r, &valid);
        if (valid) {
            memcpy(out + w, s + i, n);
            w += n;
        } else {
            memcpy(out + w, "\xef\xbf\xbd", 3);
            w += 3;
        }
        i += n;
    }
    out[w] = '\0';
    *out_len = w;
    return out;
}

json_t *fake_util_json_string(const char *s, size_t len)
{
    if (!s)
        return json_string("");
    /* Checked once here: valid in Go's terms is valid in jansson's, so it need not check again. */
    if (utf8_ok(s, len))
        return json_stringn_nocheck(s, len);
    size_t n;
    char *fixed = utf8_lossy(s, len, &n);
    if (!fixed)
        return NULL;
    json_t *j = json_stringn_nocheck(fixed, n);
    free(fixed);
    return j;
}

int fake_util_json_set(json_t *object, const char *key, json_t *value)
{
    if (!value)
        return -1;
    const char *k = key ? key : "";
    size_t len = strlen(k);
    if (utf8_ok(k, len))
        return json_object_setn_new_nocheck(object, k, len, value);
    size_t n;
    char *fixed = utf8_lossy(k, len, &n);
    if (!fixed) {
        json_decref(value);
        return -1;
    }
    int rc = json_object_setn_new_nocheck(object, fixed, n, value);
    free(fixed);
    return rc;
}

void fake_util_hex(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

int64_t fake_util_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t fake_util_now_ms(void)
{
    return fake_util_now_ns() / 1000000LL;
}

/* ---- Go's %q ---- */

/* Whether Go's strconv.IsPrint says yes for a rune above ASCII, approximated: Go's tables list
 * every printable range of Unicode; here the non-printable runes a name or a path is likely to
 * carry are excluded (C1 controls, no-break space, soft hyphen, the Unicode spaces and format
 * characters, the byte-order mark, noncharacters, private use). */
static bool go_printable(uint32_t r)
{
    if (r <= 0xa0 || r == 0xad || r == 0x1680 || r == 0x3000 || r == 0xfeff)
        return false;
    if ((r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
        (r >= 0x205f && r <= 0x206f) || (r >= 0xfff9 && r <= 0xfffb) || r == 0xfffe || r == 0xffff)
        return false;
    if ((r >= 0xe000 && r <= 0xf8ff) || r >= 0xf0000)
        return false; /* private use */
    return true;
}

void fake_util_go_escape_each(const char *s, void (*emit)(void *ctx, const char *data, size_t len),
                              void *ctx)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t len = strlen((const char *)p);
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        char esc[12];
        if (c < 0x80) {
            const char *named = NULL;
            switch (c) {
            case '"': named = "\\\""; break;
            case '\\': named = "\\\\"; break;
            case '\a': named = "\\a"; break;
            case '\b': named = "\\b"; break;
            case '\f': named = "\\f"; break;
            case '\n': named = "\\n"; break;
            case '\r': named = "\\r"; break;
            case '\t': named = "\\t"; break;
            case '\v': named = "\\v"; break;
            default: break;
            }
            if (named) {
                emit(ctx, named, 2);
            } else if (c >= 0x20 && c < 0x7f) {
                emit(ctx, (const char *)p + i, 1);
            } else {
                esc[0] = '\\', esc[1] = 'x', esc[2] = hex[c >> 4], esc[3] = hex[c & 15];
                emit(ctx, esc, 4);
            }
            i++;
            continue;
        }
        uint32_t rune;
        bool valid;
        size_t n = fake_util_utf8_next(p + i, len - i, &rune, &valid);
        if (!valid) { /* Go: a byte that starts no valid rune is \xNN */
            esc[0] = '\\', esc[1] = 'x', esc[2] = hex[c >> 4], esc[3] = hex[c & 15];
            emit(ctx, esc, 4);
        } else if (go_printable(rune)) {
            emit(ctx, (const char *)p + i, n);
        } else {
            int w = rune < 0x10000 ? snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)rune)
                                   : snprintf(esc, sizeof(esc), "\\U%08x", (unsigned)rune);
            emit(ctx, esc, (size_t)w);
        }
        i += n;
    }
}

void fake_util_go_quote_each(const char *s, void (*emit)(void *ctx, const char *data, size_t len),
                             void *ctx)
{
    emit(ctx, "\"", 1);
    fake_util_go_escape_each(s, emit, ctx);
    emit(ctx, "\"", 1);
}

static void emit_strbuf(void *ctx, const char *data, size_t len)
{
    strbuf_add(ctx, data, len);
}

int fake_util_go_quote(const char *s, char **out)
{
    /* At most 4 bytes out per byte in (\xNN; a 4-byte rune becomes at most \U0010ffff). */
    struct strbuf b = STRBUF_INIT(4 * strlen(s ? s : "") + 3);
    fake_util_go_quote_each(s, emit_strbuf, &b);
    return strbuf_finish(&b, out, NULL);
}
