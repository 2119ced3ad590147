/*
 * httpd.h - a small HTTP/1.1 server on libmicrohttpd, shared by the OTLP receiver, the fakes and
 * the self-metrics endpoint.
 *
 * The server reads the whole request body (up to `max_body` bytes; past that it stops storing,
 * drains the rest and sets `body_too_large`, so the handler decides the answer exactly as the
 * server it imitates would), then calls the handler once per request from one of its threads
 * (one thread per connection, so a handler may block, e.g. to stall a response). The handler
 * fills a `struct http_response`.
 */
#ifndef OTEL_COMMON_HTTPD_H
#define OTEL_COMMON_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct MHD_Connection;

struct http_request {
    const char *method;  /* "POST" */
    const char *path;    /* "/v1/traces", without the query string */
    const uint8_t *body; /* the body as received (still compressed); NUL-terminated */
    size_t body_len;
    bool body_too_large; /* the body went past max_body; `body` holds only its start */
    struct MHD_Connection *connection; /* for httpd_request_header / httpd_request_query */
};

/* Borrowed value of a request header (case-insensitive name), or NULL. */
const char *httpd_request_header(const struct http_request *req, const char *name);
/* Borrowed value of a query-string argument, or NULL. */
const char *httpd_request_query(const struct http_request *req, const char *name);

#define HTTPD_MAX_HEADERS 8

struct http_response {
    int status;               /* default 200 */
    const char *content_type; /* static string or NULL for none */
    uint8_t *body;            /* malloc'd, owned by the response; freed by the server */
    size_t body_len;
    int header_count;
    struct {
        const char *name;
        char value[128];
    } headers[HTTPD_MAX_HEADERS];
    bool close_connection; /* drop the connection without answering (a fault: "reset") */
};

/* Sets a body (copies `len` bytes of `data`). Returns 0 or -ENOMEM. */
int http_response_set_body(struct http_response *resp, const char *content_type, const void *data,
                           size_t len);
/* Formats a text body. Returns 0 or -ENOMEM. */
int http_response_printf(struct http_response *resp, int status, const char *content_type,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Takes ownership of a malloc'd JSON text (from json_dumps). */
void http_response_take_body(struct http_response *resp, const char *content_type, char *body,
                             size_t len);
/* Adds a header; `name` must be a static string. Returns -ENOSPC past HTTPD_MAX_HEADERS. */
int http_response_add_header(struct http_response *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef void (*http_handler_fn)(void *ctx, const struct http_request *req,
                                struct http_response *resp);

struct httpd;

/* Starts a server on `host:port` (port 0 = ephemeral; host NULL or "0.0.0.0" = all interfaces,
 * "localhost" or "127.0.0.1" = loopback). Returns NULL with `err` filled on failure (address in
 * use, bad host). Caller owns the server; stop it with httpd_stop. */
struct httpd *httpd_start(const char *host, int port, size_t max_body, http_handler_fn handler,
                          void *ctx, struct error *err);
/* The port actually bound. */
int httpd_port(const struct httpd *server);
/* Stops listening, waits for running handlers, frees the server. NULL is accepted. */
void httpd_stop(struct httpd *server);

#endif
