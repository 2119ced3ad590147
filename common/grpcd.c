/*
 * grpcd.c - a unary gRPC server on the gRPC C core library (see grpcd.h).
 *
 * gRPC core does HTTP/2, flow control, keepalive, the grpc-timeout deadline (a call whose
 * deadline passes is answered DEADLINE_EXCEEDED by core itself) and the size limit on the
 * message as it arrives (RESOURCE_EXHAUSTED, "Received message larger than max (N vs. M)": core's
 * words; grpc-go says "grpc: received message larger than max (N vs. M)", same code).
 *
 * What this file adds, checked against grpc-go's server.go (handleStream, processUnaryRPC) and
 * rpc_util.go (recvAndDecompress, decompress), the server behind the collector's receivers:
 *   - per-message decompression is switched off in core (GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION
 *     = 0) and done here, so that the handler learns the request's grpc-encoding and the
 *     decompressed size is bounded: past the limit grpc-go's RESOURCE_EXHAUSTED "grpc: received
 *     message after decompression larger than max N", a corrupt stream its INTERNAL "grpc: failed
 *     to decompress the received message: ...";
 *   - a unary call without a request message gets grpc-go's INTERNAL "cardinality violation:
 *     received no request message from non-client-streaming RPC";
 *   - the answer is compressed with the request's encoding, as grpc-go answers ("attempt to
 *     respond with same encoding"): the header by asking core with the
 *     grpc-internal-encoding-request key on the initial metadata (what C++'s
 *     ServerContext::set_compression_algorithm does), the message compressed here so that it
 *     is compressed even when small, as grpc-go's is;
 *   - status details go out as grpc-status-details-bin in the trailers;
 *   - GRPC_ARG_ALLOW_REUSEPORT is off, so a port in use is an error rather than a silent share.
 *
 * Threads: `workers` threads named "grpcd-N", owned by the server, started by grpcd_start and
 * joined by grpcd_stop. Each owns two completion queues (new calls are announced on one, the
 * call's own operations complete on the other) and serves one call at a time: request a call,
 * receive its message, run the handler (which may block), send the answer. gRPC
 * core polls its sockets from whichever thread waits on a completion queue, so a blocked handler
 * holds up only its own worker. Calls that arrive while every worker is busy wait inside core.
 *
 * Deliberately not done: TLS (plaintext h2c only), streaming methods, server reflection.
 */
#include "grpcd.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "compress.h"
#include "grpc_runtime.h"
#include "log.h"

#define GRPCD_DEFAULT_WORKERS 8
#define GRPCD_MAX_WORKERS 256
/* grpc-go's defaultServerMaxReceiveMessageSize */
#define GRPCD_DEFAULT_MAX_RECV (4 * 1024 * 1024)
/* How long grpcd_stop lets handlers still running finish their calls before cancelling them
 * (upstream's receivers stop with GracefulStop, which waits for them). */
#define GRPCD_GRACE_MS 5000
#define GRPCD_METHOD_MAX 1024

/* Completion-queue tags; a worker has at most one operation outstanding. */
#define TAG_NEW_CALL ((void *)(intptr_t)1)
#define TAG_RECEIVED ((void *)(intptr_t)2)
#define TAG_ANSWERED ((void *)(intptr_t)3)
#define TAG_SHUTDOWN ((void *)(intptr_t)4)

struct grpcd_worker {
    struct grpcd *server;
    grpc_completion_queue *cq;      /* notification queue for new calls, registered with core */
    grpc_completion_queue *call_cq; /* the queue the served call is bound to (pluck) */
    pthread_t thread;
    bool thread_started;
    int index;
};

struct grpcd {
    grpc_server *server;
    grpc_completion_queue *shutdown_cq; /* for grpc_server_shutdown_and_notify */
    grpcd_handler_fn handler;
    void *ctx;
    size_t max_recv;
    int port;
    int worker_count;
    struct grpcd_worker *workers;
    bool runtime_acquired;
    bool started;              /* grpc_server_start was called */
    atomic_bool shutting_down; /* workers stop requesting new calls */
    /* Held around a worker's check of shutting_down and its grpc_server_request_call, and by
     * grpcd_stop while it sets shutting_down: once stop has the lock, no request is being made,
     * and none is made after, so the server is never shut down or destroyed under a
     * grpc_server_request_call (that race crashed in grpc_cq_end_op under load). */
    pthread_mutex_t request_lock;
    bool request_lock_ready;
};

/* What grpcd_request.call points at: the metadata of one call, as NUL-terminated copies. */
struct call_metadata {
    size_t count;
    char **keys, **values;
};

const char *grpc_code_name(int code)
{
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    static _Thread_local char unknown[32];
    if (code >= 0 && (size_t)code < sizeof(names) / sizeof(names[0]))
        return names[code];
    snprintf(unknown, sizeof(unknown), "CODE(%d)", code);
    return unknown;
}

/* ---- per-call helpers ---- */

static char *slice_dup(grpc_slice slice)
{
    size_t len = GRPC_SLICE_LENGTH(slice);
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    memcpy(out, GRPC_SLICE_START_PTR(slice), len);
    out[len] = '\0';
    return out;
}

static void call_metadata_release(struct call_metadata *m)
{
    for (size_t i = 0; i < m->count; i++) {
        free(m->keys[i]);
        free(m->values[i]);
    }
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof(*m));
}

/* Copies the request metadata core published (user-agent and the application's keys; core keeps
 * the HTTP/2 pseudo headers, content-type, te and grpc-* to itself). Core bounds the total
 * (GRPC_ARG_MAX_METADATA_SIZE), so this copy is bounded too. */
static int call_metadata_copy(struct call_metadata *m, const grpc_metadata_array *array)
{
    memset(m, 0, sizeof(*m));
    if (array->count == 0)
        return 0;
    m->keys = calloc(array->count, sizeof(*m->keys));
    m->values = calloc(array->count, sizeof(*m->values));
    if (!m->keys || !m->values)
        goto fail;
    for (size_t i = 0; i < array->count; i++) {
        m->keys[i] = slice_dup(array->metadata[i].key);
        m->values[i] = slice_dup(array->metadata[i].value);
        m->count++;
        if (!m->keys[i] || !m->values[i])
            goto fail;
    }
    return 0;
fail:
    call_metadata_release(m);
    return -ENOMEM;
}

const char *grpcd_request_metadata(const struct grpcd_request *req, const char *key)
{
    const struct call_metadata *m = req ? req->call : NULL;
    if (!m || !key)
        return NULL;
    for (size_t i = 0; i < m->count; i++)
        if (!strcmp(m->keys[i], key))
            return m->values[i];
    return NULL;
}

/* Waits for `tag` on the call's own queue; returns the event's success flag. The call's queue
 * is the worker's and apart from the server's: core may consider a call over (its deadline
 * passed) and complete the server's shutdown while the handler still runs, and the notification
 * queues are then shut down; the call's queue stays until the worker leaves (as C++'s
 * synchronous server binds each call to a queue of its own). */
static bool wait_for(grpc_completion_queue *call_cq, void *tag)
{
    grpc_event ev =
        grpc_completion_queue_pluck(call_cq, tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success != 0;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The call's deadline (from grpc-timeout) as our CLOCK_MONOTONIC milliseconds, 0 when none.
 * gpr's monotonic clock has its own epoch, so the remaining time is what carries over. */
static int64_t deadline_of(gpr_timespec deadline)
{
    if (gpr_time_cmp(deadline, gpr_inf_future(deadline.clock_type)) == 0)
        return 0;
    gpr_timespec now = gpr_now(deadline.clock_type);
    gpr_timespec left = gpr_time_sub(deadline, now);
    int64_t left_ms = (int64_t)left.tv_sec * 1000 + left.tv_nsec / 1000000;
    return monotonic_ms() + left_ms;
}

static const char *encoding_name(grpc_compression_algorithm algorithm)
{
    switch (algorithm) {
    case GRPC_COMPRESS_DEFLATE: return "deflate";
    case GRPC_COMPRESS_GZIP: return "gzip";
    default: return NULL;
    }
}

void grpcd_response_status(struct grpcd_response *resp, int code, const char *fmt, ...)
{
    va_list ap;
    resp->code = code;
    va_start(ap, fmt);
    vsnprintf(resp->message, sizeof(resp->message), fmt, ap);
    va_end(ap);
}

/* The request message as one buffer, decompressed when it came compressed. On failure fills
 * `resp` with grpc-go's answer and returns a negative code. Caller frees *out. */
static int read_message(const struct grpcd *s, grpc_byte_buffer *buffer, uint8_t **out,
                        size_t *out_len, struct grpcd_response *resp)
{
    const grpc_slice_buffer *slices = &buffer->data.raw.slice_buffer;
    size_t wire_len = slices->length;
    uint8_t *wire = malloc(wire_len ? wire_len : 1);
    if (!wire) {
        grpcd_response_status(resp, GRPC_CODE_RESOURCE_EXHAUSTED,
                              "out of memory reading the request");
        return -ENOMEM;
    }
    size_t at = 0;
    for (size_t i = 0; i < slices->count; i++) {
        size_t n = GRPC_SLICE_LENGTH(slices->slices[i]);
        memcpy(wire + at, GRPC_SLICE_START_PTR(slices->slices[i]), n);
        at += n;
    }
    grpc_compression_algorithm algorithm = buffer->data.raw.compression;
    if (algorithm == GRPC_COMPRESS_NONE) {
        *out = wire;
        *out_len = wire_len;
        return 0;
    }
    /* gRPC's "deflate" is zlib-wrapped (RFC 1950), as compress.c's COMPRESSION_ZLIB. */
    enum compression c = algorithm == GRPC_COMPRESS_GZIP ? COMPRESSION_GZIP : COMPRESSION_ZLIB;
    struct error err = {0};
    int rc = decompress_buffer(c, wire, wire_len, s->max_recv, out, out_len, &err);
    free(wire);
    if (rc == -EFBIG)
        grpcd_response_status(resp, GRPC_CODE_RESOURCE_EXHAUSTED,
                              "grpc: received message after decompression larger than max %zu",
                              s->max_recv);
    else if (rc == -ENOMEM)
        grpcd_response_status(resp, GRPC_CODE_RESOURCE_EXHAUSTED,
                              "out of memory decompressing the request");
    else if (rc < 0)
        grpcd_response_status(resp, GRPC_CODE_INTERNAL,
                              "grpc: failed to decompress the received message: %s", err.message);
    return rc;
}

/* The response message. When the request came compressed it is compressed here and handed to
 * core marked compressed, so that it goes out compressed however small (grpc-go compresses
 * every answer with the request's compressor; core would skip a message gzip does not shrink). */
static grpc_byte_buffer *make_reply(const struct grpcd_response *resp, const char *encoding)
{
    uint8_t *packed = NULL;
    size_t packed_len = 0;
    enum compression c = COMPRESSION_NONE;
    grpc_compression_algorithm algorithm = GRPC_COMPRESS_NONE;
    if (encoding && !strcmp(encoding, "gzip")) {
        c = COMPRESSION_GZIP;
        algorithm = GRPC_COMPRESS_GZIP;
    } else if (encoding && !strcmp(encoding, "deflate")) {
        c = COMPRESSION_ZLIB;
        algorithm = GRPC_COMPRESS_DEFLATE;
    }
    if (c != COMPRESSION_NONE && compress_buffer(c, resp->body ? resp->body : (const uint8_t *)"",
                                                 resp->body_len, &packed, &packed_len) == 0) {
        grpc_slice slice = grpc_slice_from_copied_buffer((const char *)packed, packed_len);
        free(packed);
        grpc_byte_buffer *bb = grpc_raw_compressed_byte_buffer_create(&slice, 1, algorithm);
        grpc_slice_unref(slice);
        return bb;
    }
    grpc_slice slice = resp->body_len
                           ? grpc_slice_from_copied_buffer((const char *)resp->body, resp->body_len)
                           : grpc_empty_slice();
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

/* Sends the answer: initial metadata (asking core to compress like the request), the response
 * message on OK, the status with its details, and waits until core is done with the call. */
static void answer(struct grpcd_worker *w, grpc_call *call, const struct grpcd_response *resp,
                   const char *encoding)
{
    grpc_op ops[4];
    size_t n = 0;
    grpc_metadata initial[1];
    size_t initial_count = 0;
    if (encoding && resp->code == GRPC_CODE_OK) {
        initial[0].key = grpc_slice_from_static_string("grpc-internal-encoding-request");
        initial[0].value = grpc_slice_from_static_string(encoding);
        initial_count = 1;
    }
    memset(ops, 0, sizeof(ops));
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n].data.send_initial_metadata.count = initial_count;
    ops[n].data.send_initial_metadata.metadata = initial_count ? initial : NULL;
    n++;
    grpc_byte_buffer *reply = NULL;
    if (resp->code == GRPC_CODE_OK) {
        /* A unary OK always carries one message, empty or not. */
        reply = make_reply(resp, encoding);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = reply;
        n++;
    }
    grpc_slice details = grpc_slice_from_copied_string(resp->message);
    grpc_metadata trailer;
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)resp->code;
    ops[n].data.send_status_from_server.status_details = resp->code ? &details : NULL;
    if (resp->code != GRPC_CODE_OK && resp->status_details && resp->status_details_len) {
        trailer.key = grpc_slice_from_static_string("grpc-status-details-bin");
        trailer.value = grpc_slice_from_copied_buffer((const char *)resp->status_details,
                                                      resp->status_details_len);
        ops[n].data.send_status_from_server.trailing_metadata = &trailer;
        ops[n].data.send_status_from_server.trailing_metadata_count = 1;
    }
    n++;
    int cancelled = 0;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n].data.recv_close_on_server.cancelled = &cancelled;
    n++;
    /* A call core already ended (deadline, size limit, client cancel) completes the batch with
     * success = 0: its status is already on the wire, ours is dropped, as in grpc-go. */
    if (grpc_call_start_batch(call, ops, n, TAG_ANSWERED, NULL) == GRPC_CALL_OK)
        wait_for(w->call_cq, TAG_ANSWERED);
    if (ops[n - 2].data.send_status_from_server.trailing_metadata_count)
        grpc_slice_unref(trailer.value);
    grpc_slice_unref(details);
    if (reply)
        grpc_byte_buffer_destroy(reply);
}

/* One call, start to end, in the worker's thread. */
static void serve_call(struct grpcd_worker *w, grpc_call *call, const grpc_call_details *details,
                       const grpc_metadata_array *metadata)
{
    struct grpcd *s = w->server;
    struct grpcd_response resp;
    memset(&resp, 0, sizeof(resp));
    struct call_metadata md = {0};
    grpc_byte_buffer *received = NULL;
    uint8_t *message = NULL;
    size_t message_len = 0;
    char method[GRPCD_METHOD_MAX];
    const char *encoding = NULL;

    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &received;
    if (grpc_call_start_batch(call, &op, 1, TAG_RECEIVED, NULL) != GRPC_CALL_OK)
        goto cancel;
    if (!wait_for(w->call_cq, TAG_RECEIVED))
        goto cancel; /* the call died before its message arrived (core answered it) */
    if (!received) {
        grpcd_response_status(
            &resp, GRPC_CODE_INTERNAL,
            "cardinality violation: received no request message from non-client-streaming "
            "RPC");
        goto reply;
    }
    if (received->type == GRPC_BB_RAW)
        encoding = encoding_name(received->data.raw.compression);
    if (read_message(s, received, &message, &message_len, &resp) < 0)
        goto reply;
    if (call_metadata_copy(&md, metadata) < 0) {
        grpcd_response_status(&resp, GRPC_CODE_RESOURCE_EXHAUSTED,
                              "out of memory reading the metadata");
        goto reply;
    }
    size_t method_len = GRPC_SLICE_LENGTH(details->method);
    if (method_len >= sizeof(method))
        method_len = sizeof(method) - 1;
    memcpy(method, GRPC_SLICE_START_PTR(details->method), method_len);
    method[method_len] = '\0';
    struct grpcd_request req = {
        .method = method,
        .message = message,
        .message_len = message_len,
        .deadline_ms = deadline_of(details->deadline),
        .user_agent = NULL,
        .encoding = encoding,
        .call = &md,
    };
    req.user_agent = grpcd_request_metadata(&req, "user-agent");
    s->handler(s->ctx, &req, &resp);
    if (resp.reset)
        goto cancel;
reply:
    answer(w, call, &resp, encoding);
    goto done;
cancel:
    /* RST_STREAM (CANCEL): the client sees CANCELLED, as with a dropped stream. */
    grpc_call_cancel(call, NULL);
done:
    if (received)
        grpc_byte_buffer_destroy(received);
    free(message);
    free(resp.body);
    free(resp.status_details);
    call_metadata_release(&md);
}

static void *worker_main(void *arg)
{
    struct grpcd_worker *w = arg;
    struct grpcd *s = w->server;
    bool requesting = true;
    for (;;) {
        grpc_call *call = NULL;
        grpc_call_details details;
        grpc_metadata_array metadata;
        grpc_call_details_init(&details);
        grpc_metadata_array_init(&metadata);
        bool asked = false;
        if (requesting) {
            pthread_mutex_lock(&s->request_lock);
            asked = !atomic_load(&s->shutting_down) &&
                    grpc_server_request_call(s->server, &call, &details, &metadata, w->call_cq,
                                             w->cq, TAG_NEW_CALL) == GRPC_CALL_OK;
            pthread_mutex_unlock(&s->request_lock);
        }
        grpc_event ev =
            grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type == GRPC_OP_COMPLETE && ev.tag == TAG_NEW_CALL && ev.success && call)
            serve_call(w, call, &details, &metadata);
        else if (ev.type == GRPC_OP_COMPLETE && ev.tag == TAG_NEW_CALL)
            requesting = false; /* the server is shutting down: wait for our queue to close */
        if (!asked)
            requesting = false;
        if (call)
            grpc_call_unref(call);
        grpc_call_details_destroy(&details);
        grpc_metadata_array_destroy(&metadata);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
    }
    /* every call bound to call_cq is over and released: nothing is left on it */
    grpc_completion_queue_shutdown(w->call_cq);
    grpc_completion_queue_destroy(w->call_cq);
    w->call_cq = NULL;
    return NULL;
}

/* ---- lifecycle ---- */

static void add_arg(grpc_arg *args, size_t *n, const char *key, int value)
{
    args[*n].type = GRPC_ARG_INTEGER;
    args[*n].key = (char *)key;
    args[*n].value.integer = value;
    (*n)++;
}

static int clamp_int(int64_t v)
{
    return v > 0x7fffffff ? 0x7fffffff : (int)v;
}

static void drain_and_destroy(grpc_completion_queue *cq)
{
    if (!cq)
        return;
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
}

void grpcd_stop(struct grpcd *s)
{
    if (!s)
        return;
    if (s->request_lock_ready)
        pthread_mutex_lock(&s->request_lock);
    atomic_store(&s->shutting_down, true);
    if (s->request_lock_ready)
        pthread_mutex_unlock(&s->request_lock);
    if (s->server && s->started) {
        /* Stop listening; calls being served may finish (GracefulStop), then are cancelled. */
        grpc_server_shutdown_and_notify(s->server, s->shutdown_cq, TAG_SHUTDOWN);
        gpr_timespec grace = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                          gpr_time_from_millis(GRPCD_GRACE_MS, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_pluck(s->shutdown_cq, TAG_SHUTDOWN, grace, NULL);
        if (ev.type == GRPC_QUEUE_TIMEOUT) {
            log_warn("grpcd", "calls still running after %d ms of shutdown: cancelling them",
                     GRPCD_GRACE_MS);
            grpc_server_cancel_all_calls(s->server);
            grpc_completion_queue_pluck(s->shutdown_cq, TAG_SHUTDOWN,
                                        gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        }
    } else if (s->server && s->shutdown_cq) {
        /* Never started: shutdown still has to be notified before grpc_server_destroy. */
        grpc_server_shutdown_and_notify(s->server, s->shutdown_cq, TAG_SHUTDOWN);
        grpc_completion_queue_pluck(s->shutdown_cq, TAG_SHUTDOWN,
                                    gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    }
    if (s->server)
        grpc_server_destroy(s->server);
    /* The workers see their queue shut down once the server is gone, and return. */
    for (int i = 0; s->workers && i < s->worker_count; i++)
        if (s->workers[i].cq)
            grpc_completion_queue_shutdown(s->workers[i].cq);
    for (int i = 0; s->workers && i < s->worker_count; i++) {
        if (s->workers[i].thread_started)
            pthread_join(s->workers[i].thread, NULL);
        if (s->workers[i].cq) {
            if (!s->workers[i].thread_started)
                drain_and_destroy(s->workers[i].cq);
            else
                grpc_completion_queue_destroy(s->workers[i].cq);
        }
        if (s->workers[i].call_cq) { /* only when its thread never started */
            grpc_completion_queue_shutdown(s->workers[i].call_cq);
            grpc_completion_queue_destroy(s->workers[i].call_cq);
        }
    }
    if (s->shutdown_cq) {
        /* a pluck queue: nothing left on it once the shutdown tag was plucked */
        grpc_completion_queue_shutdown(s->shutdown_cq);
        grpc_completion_queue_destroy(s->shutdown_cq);
    }
    free(s->workers);
    if (s->request_lock_ready)
        pthread_mutex_destroy(&s->request_lock);
    if (s->runtime_acquired)
        grpc_runtime_release();
    free(s);
}

struct grpcd *grpcd_start(const char *host, int port, const struct grpcd_options *opts,
                          grpcd_handler_fn handler, void *ctx, struct error *err)
{
    struct grpcd_options defaults = {0};
    if (!opts)
        opts = &defaults;
    if (!handler || port < 0 || port > 65535 || opts->workers < 0 ||
        opts->workers > GRPCD_MAX_WORKERS || opts->max_recv_message_bytes > 0x7fffffff) {
        error_set(err, -EINVAL, ERROR_PERMANENT, "grpcd: invalid arguments");
        return NULL;
    }
    struct grpcd *s = calloc(1, sizeof(*s));
    if (!s) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        return NULL;
    }
    grpc_runtime_acquire();
    s->runtime_acquired = true;
    pthread_mutex_init(&s->request_lock, NULL);
    s->request_lock_ready = true;
    s->handler = handler;
    s->ctx = ctx;
    s->max_recv = opts->max_recv_message_bytes ? opts->max_recv_message_bytes
                                               : (size_t)GRPCD_DEFAULT_MAX_RECV;
    s->worker_count = opts->workers ? opts->workers : GRPCD_DEFAULT_WORKERS;
    s->workers = calloc((size_t)s->worker_count, sizeof(*s->workers));
    if (!s->workers) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }

    grpc_arg args[16];
    size_t nargs = 0;
    add_arg(args, &nargs, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, (int)s->max_recv);
    add_arg(args, &nargs, GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION, 0);
    add_arg(args, &nargs, GRPC_ARG_ALLOW_REUSEPORT, 0);
    if (opts->max_concurrent_streams > 0)
        add_arg(args, &nargs, GRPC_ARG_MAX_CONCURRENT_STREAMS, opts->max_concurrent_streams);
    if (opts->keepalive_time_ms > 0)
        add_arg(args, &nargs, GRPC_ARG_KEEPALIVE_TIME_MS, clamp_int(opts->keepalive_time_ms));
    if (opts->keepalive_timeout_ms > 0)
        add_arg(args, &nargs, GRPC_ARG_KEEPALIVE_TIMEOUT_MS, clamp_int(opts->keepalive_timeout_ms));
    if (opts->max_connection_idle_ms > 0)
        add_arg(args, &nargs, GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                clamp_int(opts->max_connection_idle_ms));
    if (opts->max_connection_age_ms > 0)
        add_arg(args, &nargs, GRPC_ARG_MAX_CONNECTION_AGE_MS,
                clamp_int(opts->max_connection_age_ms));
    if (opts->max_connection_age_grace_ms > 0)
        add_arg(args, &nargs, GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                clamp_int(opts->max_connection_age_grace_ms));
    if (opts->keepalive_min_time_ms > 0)
        add_arg(args, &nargs, GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                clamp_int(opts->keepalive_min_time_ms));
    if (opts->keepalive_permit_without_calls)
        add_arg(args, &nargs, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    grpc_channel_args channel_args = {.num_args = nargs, .args = args};
    s->server = grpc_server_create(&channel_args, NULL);
    s->shutdown_cq = grpc_completion_queue_create_for_pluck(NULL);
    if (!s->server || !s->shutdown_cq) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "cannot create a gRPC server");
        goto fail;
    }
    grpc_server_register_completion_queue(s->server, s->shutdown_cq, NULL);
    for (int i = 0; i < s->worker_count; i++) {
        s->workers[i].server = s;
        s->workers[i].index = i;
        s->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
        s->workers[i].call_cq = grpc_completion_queue_create_for_pluck(NULL);
        if (!s->workers[i].cq || !s->workers[i].call_cq) {
            error_set(err, -ENOMEM, ERROR_PERMANENT, "cannot create a completion queue");
            goto fail;
        }
        grpc_server_register_completion_queue(s->server, s->workers[i].cq, NULL);
    }

    char address[300];
    const char *h = host && *host ? host : "0.0.0.0";
    bool ipv6 = strchr(h, ':') && h[0] != '[';
    snprintf(address, sizeof(address), "%s%s%s:%d", ipv6 ? "[" : "", h, ipv6 ? "]" : "", port);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    s->port = creds ? grpc_server_add_http2_port(s->server, address, creds) : 0;
    if (creds)
        grpc_server_credentials_release(creds);
    if (s->port <= 0) {
        error_set(err, -EADDRINUSE, ERROR_PERMANENT,
                  "listen tcp %s: cannot bind (address in use or not available)", address);
        goto fail;
    }
    grpc_server_start(s->server);
    s->started = true;
    for (int i = 0; i < s->worker_count; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0) {
            error_set(err, -EAGAIN, ERROR_PERMANENT, "cannot start a gRPC worker thread");
            goto fail;
        }
        s->workers[i].thread_started = true;
        char name[16];
        snprintf(name, sizeof(name), "grpcd-%d", i % 1000);
        pthread_setname_np(s->workers[i].thread, name);
    }
    return s;
fail:
    grpcd_stop(s);
    return NULL;
}

int grpcd_port(const struct grpcd *server)
{
    return server ? server->port : 0;
}
