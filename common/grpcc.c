/*
 * grpcc.c - unary gRPC calls on the gRPC C core library (see grpcc.h).
 *
 * One grpc_channel per client: gRPC core resolves the target ("host:port" gets its default
 * dns:/// scheme, "unix:///path" and "dns:///host:port" as written), connects lazily, reconnects
 * with backoff, announces the channel's default algorithm on every call
 * (GRPC_COMPRESSION_CHANNEL_DEFAULT_ALGORITHM: `grpc-encoding: gzip`, as grpc-go's
 * UseCompressor), decompresses answers, sends grpc-timeout from the deadline and fails a call at
 * it with DEADLINE_EXCEEDED. A transport failure is UNAVAILABLE, as in every gRPC.
 *
 * Each call gets its own pluck completion queue and is waited for in the caller's thread (what
 * C++'s synchronous stubs do), so grpcc_unary is safe from many threads at once on one client.
 *
 * What this file adds, as grpc-go's client (stream.go, rpc_util.go) behaves:
 *   - with gzip every request message is compressed (flag set), however small: grpc-go
 *     compresses unconditionally, gRPC core would skip messages gzip does not shrink;
 *   - an OK status without a response message is INTERNAL "cardinality violation: received no
 *     response message from non-server-streaming RPC";
 *   - metadata keys are lower-cased (grpc-go's metadata.New does so); a key or value gRPC
 *     cannot carry is refused by grpcc_new rather than failing every call.
 *
 * Deliberately not done: streaming calls, per-call credentials, load-balancing policy choice
 * (core's pick_first applies; upstream's otlp exporter also leaves balancer_name empty).
 */
#include "grpcc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "compress.h"
#include "grpc_runtime.h"

#define GRPCC_MAX_HEADERS 64
#define TAG_CALL ((void *)(intptr_t)1)

struct grpcc {
    grpc_channel *channel;
    bool runtime_acquired;
    bool gzip; /* grpc-encoding: gzip on every request */
    bool wait_for_ready;
    size_t header_count;
    grpc_metadata headers[GRPCC_MAX_HEADERS]; /* slices owned by the client */
};

static bool legal_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static bool is_binary_key(const char *key)
{
    size_t n = strlen(key);
    return n > 4 && !strcmp(key + n - 4, "-bin");
}

/* Lower-cases and checks one metadata pair; fills `out` with owned slices. */
static int make_header(const char *key, const char *value, grpc_metadata *out, struct error *err)
{
    char lowered[256];
    size_t n = strlen(key);
    if (n == 0 || n >= sizeof(lowered))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "header \"%s\": invalid name", key);
    for (size_t i = 0; i <= n; i++)
        lowered[i] = (char)tolower((unsigned char)key[i]);
    for (size_t i = 0; i < n; i++)
        if (!legal_key_char(lowered[i]))
            return error_set(
                err, -EINVAL, ERROR_PERMANENT,
                "header \"%s\": gRPC metadata names may hold only a-z, 0-9, -, _ and .", key);
    if (!is_binary_key(lowered))
        for (const char *v = value; *v; v++)
            if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e)
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "header \"%s\": value must be printable ASCII", key);
    memset(out, 0, sizeof(*out));
    out->key = grpc_slice_from_copied_string(lowered);
    out->value = grpc_slice_from_copied_string(value);
    return 0;
}

void grpcc_free(struct grpcc *client)
{
    if (!client)
        return;
    for (size_t i = 0; i < client->header_count; i++) {
        grpc_slice_unref(client->headers[i].key);
        grpc_slice_unref(client->headers[i].value);
    }
    if (client->channel)
        grpc_channel_destroy(client->channel);
    if (client->runtime_acquired)
        grpc_runtime_release();
    free(client);
}

static void add_int(grpc_arg *args, size_t *n, const char *key, int value)
{
    args[*n].type = GRPC_ARG_INTEGER;
    args[*n].key = (char *)key;
    args[*n].value.integer = value;
    (*n)++;
}

static void add_string(grpc_arg *args, size_t *n, const char *key, const char *value)
{
    args[*n].type = GRPC_ARG_STRING;
    args[*n].key = (char *)key;
    args[*n].value.string = (char *)value;
    (*n)++;
}

static int clamp_int(int64_t v)
{
    return v > 0x7fffffff ? 0x7fffffff : (int)v;
}

struct grpcc *grpcc_new(const char *target, const struct grpcc_options *opts, struct error *err)
{
    struct grpcc_options defaults = {0};
    struct grpcc *c = NULL;
    grpc_channel_credentials *creds = NULL;
    if (!opts)
        opts = &defaults;
    if (!target || !*target) {
        error_set(err, -EINVAL, ERROR_PERMANENT, "grpcc: empty target");
        return NULL;
    }
    bool gzip = opts->compression && !strcmp(opts->compression, "gzip");
    if (opts->compression && *opts->compression && !gzip && strcmp(opts->compression, "none")) {
        error_set(err, -EINVAL, ERROR_PERMANENT, "grpcc: unsupported compression \"%s\"",
                  opts->compression);
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        return NULL;
    }
    grpc_runtime_acquire();
    c->runtime_acquired = true;
    c->wait_for_ready = opts->wait_for_ready;
    c->gzip = gzip;
    for (size_t i = 0; opts->headers && opts->headers[i] && opts->headers[i + 1]; i += 2) {
        if (c->header_count == GRPCC_MAX_HEADERS) {
            error_set(err, -E2BIG, ERROR_PERMANENT, "grpcc: more than %d headers",
                      GRPCC_MAX_HEADERS);
            goto fail;
        }
        if (make_header(opts->headers[i], opts->headers[i + 1], &c->headers[c->header_count], err) <
            0)
            goto fail;
        c->header_count++;
    }

    if (opts->insecure) {
        creds = grpc_insecure_credentials_create();
    } else {
        grpc_ssl_pem_key_cert_pair pair = {.private_key = opts->key_pem,
                                           .cert_chain = opts->cert_pem};
        bool mtls = opts->cert_pem && opts->key_pem;
        creds = grpc_ssl_credentials_create(opts->ca_pem, mtls ? &pair : NULL, NULL, NULL);
    }
    if (!creds) {
        error_set(err, -EINVAL, ERROR_PERMANENT, "grpcc: cannot create channel credentials");
        goto fail;
    }
    grpc_arg args[12];
    size_t n = 0;
    if (gzip)
        add_int(args, &n, GRPC_COMPRESSION_CHANNEL_DEFAULT_ALGORITHM, GRPC_COMPRESS_GZIP);
    if (opts->user_agent && *opts->user_agent)
        add_string(args, &n, GRPC_ARG_PRIMARY_USER_AGENT_STRING, opts->user_agent);
    if (opts->max_recv_message_bytes)
        add_int(args, &n, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                clamp_int((int64_t)opts->max_recv_message_bytes));
    if (opts->keepalive_time_ms > 0) {
        add_int(args, &n, GRPC_ARG_KEEPALIVE_TIME_MS, clamp_int(opts->keepalive_time_ms));
        if (opts->keepalive_timeout_ms > 0)
            add_int(args, &n, GRPC_ARG_KEEPALIVE_TIMEOUT_MS, clamp_int(opts->keepalive_timeout_ms));
        add_int(args, &n, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
                opts->keepalive_permit_without_calls ? 1 : 0);
    }
    if (opts->authority && *opts->authority) {
        add_string(args, &n, GRPC_ARG_DEFAULT_AUTHORITY, opts->authority);
        if (!opts->insecure)
            add_string(args, &n, GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, opts->authority);
    }
    grpc_channel_args channel_args = {.num_args = n, .args = args};
    c->channel = grpc_channel_create(target, creds, &channel_args);
    grpc_channel_credentials_release(creds);
    if (!c->channel) {
        error_set(err, -EINVAL, ERROR_PERMANENT, "grpcc: cannot create a channel to %s", target);
        goto fail;
    }
    return c;
fail:
    grpcc_free(c);
    return NULL;
}

void grpcc_result_release(struct grpcc_result *result)
{
    if (!result)
        return;
    free(result->body);
    free(result->status_details);
    result->body = NULL;
    result->status_details = NULL;
    result->body_len = result->status_details_len = 0;
}

static int copy_message(grpc_byte_buffer *buffer, uint8_t **out, size_t *out_len)
{
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, buffer))
        return -EINVAL;
    grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    size_t len = GRPC_SLICE_LENGTH(all);
    *out = malloc(len ? len : 1);
    if (*out) {
        memcpy(*out, GRPC_SLICE_START_PTR(all), len);
        *out_len = len;
    }
    grpc_slice_unref(all);
    return *out ? 0 : -ENOMEM;
}

static int copy_details(const grpc_metadata_array *trailers, struct grpcc_result *result)
{
    for (size_t i = 0; i < trailers->count; i++) {
        const grpc_metadata *m = &trailers->metadata[i];
        if (!grpc_slice_str_cmp(m->key, "grpc-status-details-bin")) {
            size_t len = GRPC_SLICE_LENGTH(m->value);
            result->status_details = malloc(len ? len : 1);
            if (!result->status_details)
                return -ENOMEM;
            memcpy(result->status_details, GRPC_SLICE_START_PTR(m->value), len);
            result->status_details_len = len;
            return 0;
        }
    }
    return 0;
}

/* The request as a byte buffer. With gzip the message is compressed here and handed to core
 * marked compressed: core then sends it as is (its compression filter skips such messages),
 * with the flag set, as grpc-go always does; core's own compression would send a message that
 * gzip does not shrink uncompressed under the same grpc-encoding header. */
static grpc_byte_buffer *make_message(const struct grpcc *client, const uint8_t *request,
                                      size_t len)
{
    uint8_t *gz = NULL;
    size_t gz_len = 0;
    if (client->gzip && compress_buffer(COMPRESSION_GZIP, request, len, &gz, &gz_len) == 0) {
        grpc_slice slice = grpc_slice_from_copied_buffer((const char *)gz, gz_len);
        free(gz);
        grpc_byte_buffer *bb =
            grpc_raw_compressed_byte_buffer_create(&slice, 1, GRPC_COMPRESS_GZIP);
        grpc_slice_unref(slice);
        return bb;
    }
    /* no gzip, or no memory to compress: core compresses (or not) by itself */
    grpc_slice slice =
        len ? grpc_slice_from_copied_buffer((const char *)request, len) : grpc_empty_slice();
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

int grpcc_unary(struct grpcc *client, const char *method, const uint8_t *request, size_t len,
                int64_t timeout_ms, struct grpcc_result *result)
{
    int rc = 0;
    memset(result, 0, sizeof(*result));
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    gpr_timespec deadline = timeout_ms > 0
                                ? gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                               gpr_time_from_millis(timeout_ms, GPR_TIMESPAN))
                                : gpr_inf_future(GPR_CLOCK_MONOTONIC);
    grpc_slice method_slice = grpc_slice_from_copied_string(method);
    grpc_call *call = grpc_channel_create_call(client->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               method_slice, NULL, deadline, NULL);
    grpc_slice_unref(method_slice);
    grpc_byte_buffer *send = make_message(client, request, len);
    grpc_byte_buffer *received = NULL;
    grpc_metadata_array initial, trailers;
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailers);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    const char *error_string = NULL;

    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = client->header_count;
    ops[0].data.send_initial_metadata.metadata = client->header_count ? client->headers : NULL;
    ops[0].flags = client->wait_for_ready ? GRPC_INITIAL_METADATA_WAIT_FOR_READY : 0;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &received;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailers;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.error_string = &error_string;
    grpc_call_error started = grpc_call_start_batch(call, ops, 6, TAG_CALL, NULL);
    if (started != GRPC_CALL_OK) {
        result->code = GRPC_CODE_INTERNAL;
        snprintf(result->message, sizeof(result->message), "grpcc: cannot start the call (%d)",
                 (int)started);
        goto done;
    }
    grpc_completion_queue_pluck(cq, TAG_CALL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    result->code = (int)status;
    snprintf(result->message, sizeof(result->message), "%.*s", (int)GRPC_SLICE_LENGTH(details),
             (const char *)GRPC_SLICE_START_PTR(details));
    if (status == GRPC_STATUS_OK) {
        if (!received) {
            result->code = GRPC_CODE_INTERNAL;
            snprintf(result->message, sizeof(result->message),
                     "cardinality violation: received no response message from "
                     "non-server-streaming RPC");
        } else {
            rc = copy_message(received, &result->body, &result->body_len);
            if (rc == -EINVAL) {
                result->code = GRPC_CODE_INTERNAL;
                snprintf(result->message, sizeof(result->message),
                         "grpc: failed to decompress the received message");
                rc = 0;
            }
        }
    } else {
        rc = copy_details(&trailers, result);
    }
done:
    if (rc < 0)
        grpcc_result_release(result);
    if (error_string)
        gpr_free((void *)error_string);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailers);
    if (received)
        grpc_byte_buffer_destroy(received);
    grpc_byte_buffer_destroy(send);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_destroy(cq);
    return rc;
}
