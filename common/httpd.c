/*
 * httpd.c - the HTTP/1.1 server of httpd.h on libmicrohttpd.
 *
 * One thread per connection (MHD_USE_THREAD_PER_CONNECTION), so a handler may block: the fakes
 * stall responses that way, and the OTLP receiver hands a request to the pipeline in the
 * connection's own thread as the Go collector does with its per-connection goroutines, and a
 * streamed body blocks in the connection's thread between its parts.
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct httpd {
    struct MHD_Daemon *daemon;
    http_handler_fn handler;
    void *ctx;
    size_t max_body;
    int port;
    char *cert_pem, *key_pem; /* HTTPS: copies MHD reads from */
};

/* A streamed body between MHD's reader callback and the stream's own functions. */
struct stream_state {
    const struct http_stream_ops *ops;
    void *ctx;
    struct MHD_Connection *connection;
};

/* Per-request state kept by MHD between calls of the access handler. */
struct request_state {
    uint8_t *body;
    size_t len, cap;
    bool too_large;
};

const char *httpd_request_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

const char *httpd_request_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_GET_ARGUMENT_KIND, name);
}

int http_response_set_body(struct http_response *resp, const char *content_type, const void *data,
                           size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, data, len);
    free(resp->body);
    resp->body = copy;
    resp->body_len = len;
    resp->content_type = content_type;
    return 0;
}

int http_response_printf(struct http_response *resp, int status, const char *content_type,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    free(resp->body);
    resp->body = (uint8_t *)text;
    resp->body_len = (size_t)n;
    resp->content_type = content_type;
    resp->status = status;
    return 0;
}

void http_response_take_body(struct http_response *resp, const char *content_type, char *body,
                             size_t len)
{
    free(resp->body);
    resp->body = (uint8_t *)body;
    resp->body_len = len;
    resp->content_type = content_type;
}

int http_response_add_header(struct http_response *resp, const char *name, const char *fmt, ...)
{
    if (resp->header_count >= HTTPD_MAX_HEADERS)
        return -ENOSPC;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(resp->headers[resp->header_count].value,
              sizeof(resp->headers[resp->header_count].value), fmt, ap);
    va_end(ap);
    resp->headers[resp->header_count].name = name;
    resp->header_count++;
    return 0;
}

/* Appends upload data, keeping at most max_body bytes; the rest is read and dropped so that the
 * handler can still answer (upstream answers an oversized body with 400, not a reset). */
static int append_body(struct request_state *st, size_t max_body, const char *data, size_t size)
{
    if (st->too_large)
        return 0;
    if (st->len + size > max_body) {
        st->too_large = true;
        size = max_body - st->len;
    }
    if (st->len + size + 1 > st->cap) {
        size_t want = st->cap ? st->cap : 16 * 1024;
        while (want < st->len + size + 1)
            want *= 2;
        uint8_t *grown = realloc(st->body, want);
        if (!grown)
            return -ENOMEM;
        st->body = grown;
        st->cap = want;
    }
    memcpy(st->body + st->len, data, size);
    st->len += size;
    return 0;
}

bool httpd_stream_peer_closed(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info)
        return true;
    struct pollfd pfd = {.fd = info->connect_fd, .events = POLLIN | POLLRDHUP};
    if (poll(&pfd, 1, 0) <= 0)
        return false;
    if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
        return true;
    /* Readable: a pipelined request is data, end of file is a close (peek, never consume). */
    char byte;
    return recv(info->connect_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream_state *st = cls;
    (void)pos;
    long n = st->ops->next(st->ctx, st->connection, (uint8_t *)buf, max);
    if (n > 0)
        return (ssize_t)n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
    struct stream_state *st = cls;
    if (st->ops->free)
        st->ops->free(st->ctx);
    free(st);
}

/* The MHD response of a streamed body; takes the stream (freed here when this fails). */
static struct MHD_Response *stream_response(struct MHD_Connection *connection,
                                            struct http_response *resp)
{
    struct stream_state *st = calloc(1, sizeof(*st));
    if (!st) {
        if (resp->stream->free)
            resp->stream->free(resp->stream_ctx);
        return NULL;
    }
    st->ops = resp->stream;
    st->ctx = resp->stream_ctx;
    st->connection = connection;
    resp->stream = NULL;
    resp->stream_ctx = NULL;
    /* 32 KiB parts: a watch event is usually far smaller, and MHD sends each part as it comes. */
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024,
                                                               stream_read, st, stream_free);
    if (!r)
        stream_free(st);
    return r;
}

static enum MHD_Result send_response(struct MHD_Connection *connection, struct http_response *resp)
{
    struct MHD_Response *r;
    if (resp->stream) {
        r = stream_response(connection, resp);
    } else if (resp->body && resp->body_len) {
        r = MHD_create_response_from_buffer_with_free_callback(resp->body_len, resp->body, free);
        resp->body = NULL; /* owned by MHD now */
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return MHD_NO;
    if (resp->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    for (int i = 0; i < resp->header_count; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    enum MHD_Result ret = MHD_queue_response(connection, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *connection, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    struct httpd *server = cls;
    struct request_state *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (append_body(st, server->max_body, upload_data, *upload_data_size) < 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct http_request req = {
        .method = method,
        .path = url,
        .body = st->body ? st->body : (const uint8_t *)"",
        .body_len = st->len,
        .body_too_large = st->too_large,
        .connection = connection,
    };
    if (st->body)
        st->body[st->len] = '\0';
    struct http_response resp = {.status = 200};
    server->handler(server->ctx, &req, &resp);
    enum MHD_Result ret =
        resp.close_connection && !resp.stream ? MHD_NO : send_response(connection, &resp);
    free(resp.body);
    if (resp.stream && resp.stream->free) /* not handed to MHD: the handler's stream is ours */
        resp.stream->free(resp.stream_ctx);
    return ret;
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    struct request_state *st = *con_cls;
    if (st) {
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
}

static int resolve_host(const char *host, int port, struct sockaddr_storage *addr,
                        socklen_t *addr_len, struct error *err)
{
    if (!host || !*host)
        host = "0.0.0.0";
    struct addrinfo hints = {0};
    hints.ai_family = strchr(host, ':') ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || !res)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "cannot resolve listen host %s: %s", host,
                         gai_strerror(rc));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static struct httpd *start(const char *host, int port, size_t max_body, http_handler_fn handler,
                           void *ctx, const char *cert_pem, const char *key_pem, struct error *err)
{
    if (port < 0 || port > 65535) {
        error_set(err, -EINVAL, ERROR_PERMANENT, "invalid port %d", port);
        return NULL;
    }
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (resolve_host(host, port, &addr, &addr_len, err) < 0)
        return NULL;
    struct httpd *server = calloc(1, sizeof(*server));
    if (!server || (cert_pem && (!(server->cert_pem = strdup(cert_pem)) ||
                                 !(server->key_pem = strdup(key_pem))))) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        httpd_stop(server);
        return NULL;
    }
    server->handler = handler;
    server->ctx = ctx;
    server->max_body = max_body;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (cert_pem) {
        flags |= MHD_USE_TLS;
        server->daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, access_handler, server, MHD_OPTION_SOCK_ADDR,
            (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)256, MHD_OPTION_HTTPS_MEM_KEY,
            server->key_pem, MHD_OPTION_HTTPS_MEM_CERT, server->cert_pem, MHD_OPTION_END);
    } else {
        server->daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, access_handler, server, MHD_OPTION_SOCK_ADDR,
            (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)256, MHD_OPTION_END);
    }
    if (!server->daemon) {
        error_set(err, -EADDRINUSE, ERROR_PERMANENT, "cannot listen on %s:%d%s: %s",
                  host ? host : "0.0.0.0", port, cert_pem ? " (HTTPS)" : "",
                  errno ? strerror(errno) : "address in use");
        httpd_stop(server);
        return NULL;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->port = info ? info->port : port;
    return server;
}

struct httpd *httpd_start(const char *host, int port, size_t max_body, http_handler_fn handler,
                          void *ctx, struct error *err)
{
    return start(host, port, max_body, handler, ctx, NULL, NULL, err);
}

struct httpd *httpd_start_tls(const char *host, int port, size_t max_body, http_handler_fn handler,
                              void *ctx, const char *cert_pem, const char *key_pem,
                              struct error *err)
{
    if (!cert_pem || !key_pem) {
        error_set(err, -EINVAL, ERROR_PERMANENT, "HTTPS needs a certificate and a key");
        return NULL;
    }
    return start(host, port, max_body, handler, ctx, cert_pem, key_pem, err);
}

int httpd_port(const struct httpd *server)
{
    return server->port;
}

void httpd_stop(struct httpd *server)
{
    if (!server)
        return;
    if (server->daemon)
        MHD_stop_daemon(server->daemon);
    free(server->cert_pem);
    if (server->key_pem) {
        memset(server->key_pem, 0, strlen(server->key_pem));
        free(server->key_pem);
    }
    free(server);
}
