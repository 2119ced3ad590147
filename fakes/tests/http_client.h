/*
 * http_client.h - one libcurl request for the fakes' tests that talk to a running otel-fakes
 * over HTTP (header-only, `static inline`, so each test program takes what it uses).
 */
#ifndef OTEL_FAKES_TESTS_HTTP_CLIENT_H
#define OTEL_FAKES_TESTS_HTTP_CLIENT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

/* What came back. `body` is NUL-terminated and the caller frees it. */
struct reply {
    CURLcode rc;
    long status;
    char *body;
    size_t len;
    char content_type[160];
    char retry_after[64];
    char content_encoding[64];
};

static inline size_t reply_on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct reply *r = ctx;
    char *grown = realloc(r->body, r->len + size * n + 1);
    if (!grown)
        return 0;
    memcpy(grown + r->len, data, size * n);
    r->body = grown;
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

/* Copies the value of header `name` ("Content-Type: ", with its colon and space) into out. */
static inline void reply_header_value(const char *data, size_t len, const char *name, char *out,
                                      size_t out_size)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(data, name, nl) != 0)
        return;
    size_t v = len - nl;
    while (v && (data[nl + v - 1] == '\r' || data[nl + v - 1] == '\n'))
        v--;
    snprintf(out, out_size, "%.*s", (int)v, data + nl);
}

static inline size_t reply_on_header(char *data, size_t size, size_t n, void *ctx)
{
    struct reply *r = ctx;
    size_t len = size * n;
    reply_header_value(data, len, "Content-Type: ", r->content_type, sizeof(r->content_type));
    reply_header_value(data, len, "Retry-After: ", r->retry_after, sizeof(r->retry_after));
    reply_header_value(data, len, "Content-Encoding: ", r->content_encoding,
                       sizeof(r->content_encoding));
    return len;
}

/* One request to host:port (an IPv4 address): `headers` is NULL or a NULL-terminated list of
 * "Name: value" lines, `body` NULL or text. Fills *r (r->rc says whether curl got an answer).
 * The body comes as sent: curl decodes no Content-Encoding. */
static inline void http_request_at(const char *method, const char *host, int port, const char *path,
                                   const char *const *headers, const char *body, long timeout_s,
                                   struct reply *r)
{
    memset(r, 0, sizeof(*r));
    CURL *curl = curl_easy_init();
    if (!curl) {
        r->rc = CURLE_FAILED_INIT;
        return;
    }
    char url[2048];
    snprintf(url, sizeof(url), "http://%s:%d%s", host, port, path);
    struct curl_slist *list = NULL;
    for (const char *const *h = headers; h && *h; h++)
        list = curl_slist_append(list, *h);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, reply_on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, reply_on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    r->rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
}

/* One request to 127.0.0.1:port, as http_request_at. */
static inline void http_request_to(const char *method, int port, const char *path,
                                   const char *const *headers, const char *body, long timeout_s,
                                   struct reply *r)
{
    http_request_at(method, "127.0.0.1", port, path, headers, body, timeout_s, r);
}

#endif
