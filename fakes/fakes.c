/*
 * fakes.c - the table of fake backends and the front handler every fake request goes through
 * (fakes.h), plus the helpers the OTLP fakes share.
 *
 * Threads: libmicrohttpd runs one thread per connection for every server started here (one per
 * fake, one for the control API); they meet only in the backends, fault injectors and request
 * logs, each behind its own mutex. fakes_free releases stalled requests before it stops the
 * servers, because stopping waits for running handlers.
 */
#include "fakes.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.h"
#include "fault.h"
#include "google/rpc/status.pb-c.h"
#include "log.h"
#include "loki.h"
#include "otlp_json.h"
#include "prometheus.h"
#include "request_log.h"
#include "tempo.h"
#include "tempo_grpc.h"

#define LOG_COMP "fakes"
#define DEFAULT_HOST "127.0.0.1"
#define CONTROL_MAX_BODY (1024 * 1024)
#define FAKES_MAX 8

/* ---- shared helpers ---- */

const char *fakes_status_text(int status)
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

void fakes_write_rpc_status(struct http_response *resp, int http_status, int grpc_code,
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

void fakes_media_type(const char *content_type, char *out, size_t out_size)
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

size_t fakes_utf8_next(const unsigned char *s, size_t len, uint32_t *rune, bool *valid)
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
        i += fakes_utf8_next(p + i, len - i, &r, &valid);
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
        size_t n = fakes_utf8_next(p + i, len - i, &r, &valid);
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

json_t *fakes_json_string(const char *s, size_t len)
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

int fakes_json_set(json_t *object, const char *key, json_t *value)
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

void fakes_hex(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

int64_t fakes_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t fakes_now_ms(void)
{
    return fakes_now_ns() / 1000000LL;
}

/* ---- kept requests ---- */

struct fakes_kept {
    atomic_uint refs;
    enum signal signal;
    struct payload *tree; /* a request without bytes, or NULL */
    uint8_t *protobuf;    /* inside this allocation, after the index */
    size_t len;
    size_t index_size;
    max_align_t index[]; /* index_size bytes, then the protobuf bytes */
};

struct fakes_kept *fakes_kept_new(const struct payload *payload, const uint8_t *protobuf,
                                  size_t len, size_t index_size)
{
    size_t index_room = (index_size + sizeof(max_align_t) - 1) / sizeof(max_align_t);
    size_t bytes = protobuf ? len : 0;
    size_t room = SIZE_MAX - sizeof(struct fakes_kept);
    if (bytes > room || index_room > (room - bytes) / sizeof(max_align_t))
        return NULL;
    /* One allocation for the header, the index and the bytes: a request costs one malloc. */
    struct fakes_kept *kept =
        malloc(sizeof(struct fakes_kept) + index_room * sizeof(max_align_t) + bytes);
    if (!kept)
        return NULL;
    atomic_init(&kept->refs, 1);
    kept->signal = payload->signal;
    kept->tree = NULL;
    kept->protobuf = NULL;
    kept->len = 0;
    kept->index_size = index_size;
    memset(kept->index, 0, index_size);
    if (protobuf) {
        kept->protobuf = (uint8_t *)(kept->index + index_room);
        memcpy(kept->protobuf, protobuf, len);
        kept->len = len;
    } else {
        kept->tree = payload_clone(payload);
        if (!kept->tree) {
            free(kept);
            return NULL;
        }
    }
    return kept;
}

void *fakes_kept_index(struct fakes_kept *kept)
{
    return kept->index_size ? kept->index : NULL;
}

int fakes_kept_open(struct fakes_kept *kept, struct payload **out, struct error *err)
{
    if (kept->tree) {
        *out = kept->tree;
        return 0;
    }
    return payload_decode(kept->signal, kept->protobuf, kept->len, out, err);
}

void fakes_kept_close(struct fakes_kept *kept, struct payload *payload)
{
    if (payload != kept->tree)
        payload_free(payload);
}

struct fakes_kept *fakes_kept_ref(struct fakes_kept *kept)
{
    atomic_fetch_add_explicit(&kept->refs, 1, memory_order_relaxed);
    return kept;
}

void fakes_kept_unref(struct fakes_kept *kept)
{
    if (!kept || atomic_fetch_sub_explicit(&kept->refs, 1, memory_order_acq_rel) != 1)
        return;
    payload_free(kept->tree);
    free(kept);
}

int fakes_kept_list_append(struct fakes_kept_list *list, struct fakes_kept *kept)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 64;
        struct fakes_kept **grown = realloc(list->items, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        list->items = grown;
        list->cap = cap;
    }
    list->items[list->count++] = kept;
    return 0;
}

int fakes_kept_list_snapshot(const struct fakes_kept_list *list, struct fakes_kept_list *out)
{
    *out = (struct fakes_kept_list){0};
    if (!list->count)
        return 0;
    out->items = malloc(list->count * sizeof(*out->items));
    if (!out->items)
        return -ENOMEM;
    for (size_t i = 0; i < list->count; i++)
        out->items[i] = fakes_kept_ref(list->items[i]);
    out->count = out->cap = list->count;
    return 0;
}

void fakes_kept_list_detach(struct fakes_kept_list *list, struct fakes_kept_list *out)
{
    *out = *list;
    *list = (struct fakes_kept_list){0};
}

void fakes_kept_list_clear(struct fakes_kept_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        fakes_kept_unref(list->items[i]);
    free(list->items);
    *list = (struct fakes_kept_list){0};
}

json_t *fakes_kept_list_otlp_json(const struct fakes_kept_list *list)
{
    json_t *all = json_array();
    for (size_t i = 0; all && i < list->count; i++) {
        struct payload *payload = NULL;
        if (fakes_kept_open(list->items[i], &payload, NULL) < 0) {
            json_decref(all);
            return NULL;
        }
        json_t *one = otlp_json_encode(payload->message);
        fakes_kept_close(list->items[i], payload);
        if (json_array_append_new(all, one)) {
            json_decref(all);
            return NULL;
        }
    }
    return all;
}

/* ---- the backends ---- */

/* Adapters from the descriptor's `void *` to each module's own type. Prometheus's error format
 * lives here because prometheus.c has no refuse function: Prometheus answers its OTLP write
 * errors with http.Error, text/plain with a trailing newline (pipeline.md §7). */

static const char *const no_promotion[] = {NULL};

static void *prometheus_create(const struct fakes_config *cfg)
{
    struct prometheus_options opts = {
        .otlp_enabled = cfg->prometheus_otlp_enabled,
        .promote_resource_attributes = no_promotion,
    };
    return prometheus_new(&opts);
}
static void prometheus_destroy(void *self)
{
    prometheus_free(self);
}
static void prometheus_handle_any(void *self, const struct http_request *req,
                                  struct http_response *resp, size_t *items)
{
    prometheus_handle(self, req, resp, items);
}
static void prometheus_refuse(void *self, const struct http_request *req,
                              struct http_response *resp, int status, const char *message)
{
    if (status < 300) {
        resp->status = status;
        return;
    }
    http_response_printf(resp, status, "text/plain; charset=utf-8", "%s\n",
                         message ? message : fakes_status_text(status));
}
static json_t *prometheus_view_any(void *self)
{
    return prometheus_view(self);
}
static json_t *prometheus_view_otlp_any(void *self)
{
    return prometheus_view_otlp(self);
}
static void prometheus_reset_any(void *self)
{
    prometheus_reset(self);
}

static void *loki_create(const struct fakes_config *cfg)
{
    struct loki_options opts = {
        .auth_enabled = cfg->loki_auth_enabled, .discard = cfg->discard, .now_ns = cfg->now_ns};
    return loki_new(&opts);
}
static void loki_destroy(void *self)
{
    loki_free(self);
}
static void loki_handle_any(void *self, const struct http_request *req, struct http_response *resp,
                            size_t *items)
{
    loki_handle(self, req, resp, items);
}
static void loki_refuse_any(void *self, const struct http_request *req, struct http_response *resp,
                            int status, const char *message)
{
    loki_refuse_http(self, req, resp, status, message);
}
static json_t *loki_view_any(void *self)
{
    return loki_view(self);
}
static json_t *loki_view_otlp_any(void *self)
{
    return loki_view_otlp(self);
}
static void loki_reset_any(void *self)
{
    loki_reset(self);
}

static void *tempo_create(const struct fakes_config *cfg)
{
    return tempo_new();
}
static void tempo_destroy(void *self)
{
    tempo_free(self);
}
static void tempo_handle_any(void *self, const struct http_request *req, struct http_response *resp,
                             size_t *items)
{
    tempo_handle(self, req, resp, items);
}
static void tempo_refuse_any(void *self, const struct http_request *req, struct http_response *resp,
                             int status, const char *message)
{
    tempo_refuse_http(self, req, resp, status, message);
}
static json_t *tempo_view_any(void *self)
{
    return tempo_view(self);
}
static json_t *tempo_view_otlp_any(void *self)
{
    return tempo_view_otlp(self);
}
static void tempo_reset_any(void *self)
{
    tempo_reset(self);
}

/* Every backend, in the order of the ready line. To add one: an entry here, a port field in
 * struct fakes_config, a flag in main.c. */
static const struct fake_backend backends[] = {
    {
        .name = "prometheus",
        .port_key = "prometheus",
        .port_offset = offsetof(struct fakes_config, prometheus_port),
        .max_body = 64u * 1024 * 1024,
        .create = prometheus_create,
        .destroy = prometheus_destroy,
        .handle = prometheus_handle_any,
        .refuse = prometheus_refuse,
        .view = prometheus_view_any,
        .view_otlp = prometheus_view_otlp_any,
        .reset = prometheus_reset_any,
    },
    {
        .name = "loki",
        .port_key = "loki",
        .port_offset = offsetof(struct fakes_config, loki_port),
        .max_body = LOKI_MAX_RECV_MSG_SIZE,
        .create = loki_create,
        .destroy = loki_destroy,
        .handle = loki_handle_any,
        .refuse = loki_refuse_any,
        .view = loki_view_any,
        .view_otlp = loki_view_otlp_any,
        .reset = loki_reset_any,
    },
    {
        .name = "tempo",
        .port_key = "tempo_http",
        .port_offset = offsetof(struct fakes_config, tempo_http_port),
        .max_body = TEMPO_MAX_REQUEST_BODY,
        .create = tempo_create,
        .destroy = tempo_destroy,
        .handle = tempo_handle_any,
        .refuse = tempo_refuse_any,
        .view = tempo_view_any,
        .view_otlp = tempo_view_otlp_any,
        .reset = tempo_reset_any,
    },
};

#define BACKEND_COUNT (sizeof(backends) / sizeof(backends[0]))
_Static_assert(BACKEND_COUNT <= FAKES_MAX, "raise FAKES_MAX");

/* ---- fakes ---- */

struct fake {
    const struct fake_backend *backend;
    void *self;
    struct fault *fault;
    struct request_log *log;
    struct httpd *server;
    char comp[64]; /* log component: "fake/loki" */
};

struct fakes {
    struct fakes_config cfg;
    char host[256];
    struct fake items[FAKES_MAX];
    size_t count;
    struct httpd *control;
    char known_names[256];
    struct tempo_grpc *tempo_grpc; /* Tempo's second front (tempo_grpc.h) */
};

const char *fake_name(const struct fake *fake)
{
    return fake->backend->name;
}
const struct fake_backend *fake_backend(const struct fake *fake)
{
    return fake->backend;
}
void *fake_instance(struct fake *fake)
{
    return fake->self;
}
struct fault *fake_fault(struct fake *fake)
{
    return fake->fault;
}
struct request_log *fake_log(struct fake *fake)
{
    return fake->log;
}

void fake_reset(struct fake *fake)
{
    fake->backend->reset(fake->self);
    request_log_reset(fake->log);
}

size_t fakes_count(const struct fakes *f)
{
    return f->count;
}
struct fake *fakes_at(struct fakes *f, size_t i)
{
    return i < f->count ? &f->items[i] : NULL;
}
const char *fakes_known_names(const struct fakes *f)
{
    return f->known_names;
}

struct fake *fakes_find(struct fakes *f, const char *name)
{
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->items[i].backend->name, name) == 0)
            return &f->items[i];
    return NULL;
}

int fakes_port(const struct fakes *f, const char *name)
{
    if (strcmp(name, "control") == 0)
        return f->control ? httpd_port(f->control) : 0;
    if (strcmp(name, "tempo_grpc") == 0)
        return tempo_grpc_port(f->tempo_grpc);
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->items[i].backend->name, name) == 0)
            return f->items[i].server ? httpd_port(f->items[i].server) : 0;
    return 0;
}

/* The front handler: fault -> backend -> request log. */
static void fake_serve(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct fake *fake = ctx;
    const struct fake_backend *b = fake->backend;
    int64_t arrived = fakes_now_ms();
    size_t items = 0;
    bool refused = false; /* the fault answered instead of the backend */
    struct fault_action action;
    bool fired = fault_take(fake->fault, &action);
    if (fired) {
        fault_wait(fake->fault, &action);
        if (action.spec.reset) {
            resp->close_connection = true;
            refused = true;
        } else if (action.spec.status) {
            b->refuse(fake->self, req, resp, action.spec.status, action.spec.body);
            if (action.spec.retry_after[0])
                http_response_add_header(resp, "Retry-After", "%s", action.spec.retry_after);
            refused = true;
        }
    }
    if (!refused)
        b->handle(fake->self, req, resp, &items);
    int status = resp->close_connection ? 0 : resp->status;
    struct request_log_entry entry = {
        .time_unix_ms = arrived,
        .method = req->method,
        .path = req->path,
        .content_type = httpd_request_header(req, "Content-Type"),
        .content_encoding = httpd_request_header(req, "Content-Encoding"),
        .user_agent = httpd_request_header(req, "User-Agent"),
        .org_id = httpd_request_header(req, "X-Scope-OrgID"),
        .bytes = req->body_len,
        .items = items,
        .status = status,
        .fault = fired,
        .accepted = !refused && status >= 200 && status < 300,
    };
    request_log_append(fake->log, &entry);
    log_debug(fake->comp, "%s %s -> %d items=%zu fault=%s", req->method, req->path, status, items,
              fired ? "true" : "false");
    fault_action_clear(&action);
}

struct fakes *fakes_new(const struct fakes_config *cfg, struct error *err)
{
    struct fakes *f = calloc(1, sizeof(*f));
    if (!f) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        return NULL;
    }
    f->cfg = *cfg;
    snprintf(f->host, sizeof(f->host), "%s", cfg->host ? cfg->host : DEFAULT_HOST);
    f->cfg.host = f->host;
    size_t w = 0;
    for (size_t i = 0; i < BACKEND_COUNT; i++) {
        struct fake *fake = &f->items[f->count++];
        fake->backend = &backends[i];
        snprintf(fake->comp, sizeof(fake->comp), "fake/%s", backends[i].name);
        fake->self = backends[i].create(&f->cfg);
        fake->fault = fault_new();
        fake->log = request_log_new(REQUEST_LOG_CAPACITY);
        if (!fake->self || !fake->fault || !fake->log) {
            error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory creating fake %s",
                      backends[i].name);
            fakes_free(f);
            return NULL;
        }
        w += (size_t)snprintf(f->known_names + w, sizeof(f->known_names) - w, "%s%s", i ? ", " : "",
                              backends[i].name);
    }
    return f;
}

int fakes_listen(struct fakes *f, struct error *err)
{
    for (size_t i = 0; i < f->count; i++) {
        struct fake *fake = &f->items[i];
        int port = *(const int *)((const char *)&f->cfg + fake->backend->port_offset);
        fake->server = httpd_start(f->host, port, fake->backend->max_body, fake_serve, fake, err);
        if (!fake->server)
            return error_prefix(err, "fake %s", fake->backend->name);
        log_info(fake->comp, "listening on %s:%d", f->host, httpd_port(fake->server));
    }
    /* Tempo's gRPC front: the same fake (backend, faults, request log) on a port of its own. */
    f->tempo_grpc = tempo_grpc_start(fakes_find(f, "tempo"), f->host, f->cfg.tempo_grpc_port, err);
    if (!f->tempo_grpc)
        return error_prefix(err, "fake tempo (gRPC)");
    log_info("fake/tempo", "gRPC listening on %s:%d", f->host, tempo_grpc_port(f->tempo_grpc));
    f->control =
        httpd_start(f->host, f->cfg.control_port, CONTROL_MAX_BODY, control_handle, f, err);
    if (!f->control)
        return error_prefix(err, "control API");
    log_info(LOG_COMP, "control API listening on %s:%d", f->host, httpd_port(f->control));
    return 0;
}

void fakes_free(struct fakes *f)
{
    if (!f)
        return;
    /* Stalled handlers must end before the servers can stop. */
    for (size_t i = 0; i < f->count; i++)
        if (f->items[i].fault)
            fault_shutdown(f->items[i].fault);
    tempo_grpc_stop(f->tempo_grpc);
    httpd_stop(f->control);
    for (size_t i = 0; i < f->count; i++)
        httpd_stop(f->items[i].server);
    for (size_t i = 0; i < f->count; i++) {
        struct fake *fake = &f->items[i];
        if (fake->self)
            fake->backend->destroy(fake->self);
        fault_free(fake->fault);
        request_log_free(fake->log);
    }
    free(f);
}

json_t *fakes_ready_json(const struct fakes *f)
{
    json_t *root = json_object();
    json_t *ports = json_object();
    int rc = !root || !ports;
    rc = rc || json_object_set_new(root, "ready", json_true());
    rc = rc || json_object_set(root, "ports", ports);
    for (size_t i = 0; !rc && i < f->count; i++) {
        const struct fake *fake = &f->items[i];
        rc = json_object_set_new(ports, fake->backend->port_key,
                                 json_integer(fake->server ? httpd_port(fake->server) : 0));
    }
    rc = rc ||
         json_object_set_new(ports, "tempo_grpc", json_integer(tempo_grpc_port(f->tempo_grpc)));
    rc = rc || json_object_set_new(ports, "control",
                                   json_integer(f->control ? httpd_port(f->control) : 0));
    json_decref(ports);
    if (rc) {
        json_decref(root);
        return NULL;
    }
    return root;
}
