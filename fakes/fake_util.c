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

static bool utf8_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t r;
        bool valid;
        i += go_utf8_next(p + i, len - i, &r, &valid);
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
        size_t n = go_utf8_next(p + i, len - i, &r, &valid);
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
