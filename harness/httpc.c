/* httpc.c - libcurl wrapper (see httpc.h). One easy handle per request: the harness sends few
 * requests and a fresh handle never carries state (cookies, a half-dead connection) between
 * them. */
#include "httpc.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int httpc_global_init(struct error *err)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        return error_set(err, -EIO, ERROR_PERMANENT, "curl_global_init: %s",
                         curl_easy_strerror(rc));
    return 0;
}

void httpc_global_cleanup(void)
{
    curl_global_cleanup();
}

struct sink {
    struct httpc_response *resp;
    size_t cap;
    bool too_large;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct sink *s = userp;
    size_t n = size * nmemb;
    struct httpc_response *r = s->resp;
    if (r->body_len + n + 1 > HTTPC_MAX_RESPONSE) {
        s->too_large = true;
        return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    }
    if (r->body_len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        uint8_t *grown = realloc(r->body, cap);
        if (!grown)
            return 0;
        r->body = grown;
        s->cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

/* Copies the value of a header line "Name: value\r\n" into dst when the name matches. */
static void take_header(const char *line, size_t len, const char *name, char *dst, size_t dsize)
{
    size_t nlen = strlen(name);
    if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
        return;
    const char *v = line + nlen + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    size_t n = (size_t)(end - v) < dsize - 1 ? (size_t)(end - v) : dsize - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct httpc_response *r = userp;
    size_t n = size * nmemb;
    /* A new status line (after a 100 Continue or a redirect) starts a new header set. */
    if (n >= 5 && !strncmp(data, "HTTP/", 5)) {
        r->content_type[0] = '\0';
        r->retry_after[0] = '\0';
    }
    take_header(data, n, "Content-Type", r->content_type, sizeof(r->content_type));
    take_header(data, n, "Retry-After", r->retry_after, sizeof(r->retry_after));
    return n;
}

int httpc_do(const struct httpc_request *req, struct httpc_response *resp, struct error *err)
{
    memset(resp, 0, sizeof(*resp));
    struct sink sink = {.resp = resp};
    struct curl_slist *headers = NULL;
    char line[256];
    int rc = 0;
    CURL *curl = curl_easy_init();
    if (!curl)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "curl_easy_init failed");

    /* An empty value removes a header curl would add by itself. */
    snprintf(line, sizeof(line), "Content-Type:%s%s", req->content_type ? " " : "",
             req->content_type ? req->content_type : "");
    if (req->content_type && !*req->content_type)
        snprintf(line, sizeof(line), "Content-Type;"); /* curl's syntax for an empty value */
    headers = curl_slist_append(headers, line);
    if (req->content_encoding) {
        snprintf(line, sizeof(line), "Content-Encoding: %s", req->content_encoding);
        headers = curl_slist_append(headers, line);
    }
    headers = curl_slist_append(headers, "Expect:");
    headers = curl_slist_append(headers, "Accept:");
    if (req->bearer_token) {
        char auth[600];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", req->bearer_token);
        headers = curl_slist_append(headers, auth);
    }
    if (!headers) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto done;
    }

    const char *method = req->method ? req->method : "GET";
    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 30000L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* loopback only: never through a proxy */
    if (req->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, req->ca_file);
    if (!strcmp(method, "POST") || req->body) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    if (strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    else if (!strcmp(method, "GET") && req->body)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "GET");

    CURLcode cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        rc = error_set(err, -EIO, ERROR_RETRYABLE, "%s %s: %s", method, req->url,
                       sink.too_large ? "response body larger than the harness accepts"
                                      : curl_easy_strerror(cc));
        goto done;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    if (!resp->body) {
        resp->body = calloc(1, 1);
        if (!resp->body)
            rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
done:
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return rc;
}

void httpc_response_free(struct httpc_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

int httpc_get_json(const char *url, json_t **out, struct error *err)
{
    struct httpc_request req = {.method = "GET", .url = url};
    struct httpc_response resp;
    *out = NULL;
    int rc = httpc_do(&req, &resp, err);
    if (rc < 0)
        goto done;
    if (resp.status < 200 || resp.status > 299) {
        rc = error_set(err, -EIO, ERROR_PERMANENT, "GET %s answered %ld: %.200s", url, resp.status,
                       (const char *)resp.body);
        goto done;
    }
    json_error_t jerr;
    *out = json_loadb((const char *)resp.body, resp.body_len, JSON_DECODE_ANY, &jerr);
    if (!*out)
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "GET %s: invalid JSON (%s): %.120s", url,
                       jerr.text, (const char *)resp.body);
done:
    httpc_response_free(&resp);
    return rc;
}

int httpc_send_json(const char *method, const char *url, const json_t *body, struct error *err)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (body && !text)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    struct httpc_request req = {.method = method,
                                .url = url,
                                .content_type = body ? "application/json" : NULL,
                                .body = text,
                                .body_len = text ? strlen(text) : 0};
    struct httpc_response resp;
    int rc = httpc_do(&req, &resp, err);
    if (rc == 0 && (resp.status < 200 || resp.status > 299))
        rc = error_set(err, -EIO, ERROR_PERMANENT, "%s %s answered %ld: %.200s", method, url,
                       resp.status, (const char *)resp.body);
    httpc_response_free(&resp);
    free(text);
    return rc;
}

char *httpc_escape(const char *text)
{
    /* The handle argument is ignored since curl 7.82, and older versions accept NULL. */
    char *escaped = curl_easy_escape(NULL, text, 0);
    char *copy = escaped ? strdup(escaped) : NULL;
    curl_free(escaped);
    return copy;
}
