/*
 * httpd.h - a small HTTP/1.1 server on libmicrohttpd, shared by the OTLP receiver, the fakes and
 * the self-metrics endpoint.
 *
 * The server reads the whole request body (up to `max_body` bytes; past that it stops storing,
 * drains the rest and sets `body_too_large`, so the handler decides the answer exactly as the
 * server it imitates would), then calls the handler once per request from one of its threads
 * (one thread per connection, so a handler may block, e.g. to stall a response). The handler
 * fills a `struct http_response`.
 *
 * A response may instead stream its body (a Kubernetes watch: one JSON event at a time for
 * minutes): the server sends the status and headers at once, then whatever the stream produces,
 * with chunked transfer encoding, until it says the body is complete. The server may also speak
 * HTTPS (httpd_start_tls) with a certificate the caller gives (tls_cert.h makes one).
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

/* A body made while it is sent. `next` is called from the connection's own thread, one call
 * after another: it writes at most `max` bytes into `buf` and returns how many (> 0), blocking
 * until it has some; returns 0 when the body is complete; -1 to drop the connection. It should
 * block in slices of a second or so and give up when httpd_stream_peer_closed() says the client
 * went away. `free` is called once, after the last call to `next` or when the connection ended
 * first. httpd_stop waits for every running stream to return: whoever feeds the streams ends
 * them first (the fakes stop their watches before their servers). */
struct http_stream_ops {
    long (*next)(void *ctx, struct MHD_Connection *connection, uint8_t *buf, size_t max);
    void (*free)(void *ctx);
};

/* True when the client of `connection` has closed its side (its socket reads end of file or an
 * error): a stream waiting for data can stop. */
bool httpd_stream_peer_closed(struct MHD_Connection *connection);

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
    /* A streamed body instead of `body` (see http_stream_ops): the server owns `stream_ctx` from
     * here on and frees it with stream->free. */
    const struct http_stream_ops *stream;
    void *stream_ctx;
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
/* The same, speaking HTTPS with the PEM certificate and key given (copied; the caller keeps its
 * own). */
struct httpd *httpd_start_tls(const char *host, int port, size_t max_body, http_handler_fn handler,
                              void *ctx, const char *cert_pem, const char *key_pem,
                              struct error *err);
/* The port actually bound. */
int httpd_port(const struct httpd *server);
/* Stops listening, waits for running handlers, frees the server. NULL is accepted. */
void httpd_stop(struct httpd *server);

#endif
