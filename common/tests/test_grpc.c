/*
 * test_grpc.c - common/grpcd.c and common/grpcc.c through a real server and client on an
 * ephemeral port: round trip, gzip both ways, grpc-timeout reaching the handler and
 * DEADLINE_EXCEEDED for a slow one, the 4 MiB limit (exactly 4 MiB passes, one byte more is
 * RESOURCE_EXHAUSTED, as grpc-go's default), many concurrent calls, status details, reset.
 *
 * The wire itself (framing, trailers, grpc-timeout parsing, grpc-encoding of the answer) is
 * checked with libcurl speaking HTTP/2 with prior knowledge, as any gRPC client does over h2c:
 * a client nobody here wrote, so the two halves are not only checked against each other.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "compress.h"
#include "grpcc.h"
#include "grpc_group.h"
#include "grpcd.h"
#include "poll_until.h"

#define FOUR_MIB (4 * 1024 * 1024)

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* ---- a server that echoes, records and answers as told by the method name ---- */

struct recorder {
    pthread_mutex_t lock;
    int calls;
    char method[256];
    char encoding[32];
    char user_agent[256];
    char tenant[64];
    size_t message_len;
    int64_t deadline_ms;
    long long handled_at_ms;
    atomic_int in_handler, max_in_handler;
};

static void record(struct recorder *r, const struct grpcd_request *req)
{
    pthread_mutex_lock(&r->lock);
    r->calls++;
    snprintf(r->method, sizeof(r->method), "%s", req->method);
    snprintf(r->encoding, sizeof(r->encoding), "%s", req->encoding ? req->encoding : "");
    snprintf(r->user_agent, sizeof(r->user_agent), "%s", req->user_agent ? req->user_agent : "");
    const char *tenant = grpcd_request_metadata(req, "x-scope-orgid");
    snprintf(r->tenant, sizeof(r->tenant), "%s", tenant ? tenant : "");
    r->message_len = req->message_len;
    r->deadline_ms = req->deadline_ms;
    r->handled_at_ms = monotonic_ms();
    pthread_mutex_unlock(&r->lock);
}

/* /test.Echo/Echo echoes, /test.Echo/Slow sleeps 1.5 s first, /test.Echo/Size answers with the
 * size only, /test.Echo/Details answers RESOURCE_EXHAUSTED with status details, /test.Echo/Reset
 * resets the stream; anything else is UNIMPLEMENTED in grpc-go's words. */
static void handle(void *ctx, const struct grpcd_request *req, struct grpcd_response *resp)
{
    struct recorder *r = ctx;
    record(r, req);
    int now_in = atomic_fetch_add(&r->in_handler, 1) + 1;
    int seen = atomic_load(&r->max_in_handler);
    while (now_in > seen && !atomic_compare_exchange_weak(&r->max_in_handler, &seen, now_in))
        ;
    if (!strcmp(req->method, "/test.Echo/Echo")) {
        resp->body = malloc(req->message_len ? req->message_len : 1);
        memcpy(resp->body, req->message, req->message_len);
        resp->body_len = req->message_len;
        sleep_ms(2); /* long enough for calls to overlap in the concurrency test */
    } else if (!strcmp(req->method, "/test.Echo/Slow")) {
        sleep_ms(1500);
    } else if (!strcmp(req->method, "/test.Echo/Size")) {
        resp->body = malloc(32);
        resp->body_len = (size_t)snprintf((char *)resp->body, 32, "%zu", req->message_len);
    } else if (!strcmp(req->method, "/test.Echo/Details")) {
        static const uint8_t details[] = {0x08, 0x08, 0x12, 0x04, 's', 'l', 'o', 'w'};
        resp->code = GRPC_CODE_RESOURCE_EXHAUSTED;
        snprintf(resp->message, sizeof(resp->message), "slow down");
        resp->status_details = malloc(sizeof(details));
        memcpy(resp->status_details, details, sizeof(details));
        resp->status_details_len = sizeof(details);
    } else if (!strcmp(req->method, "/test.Echo/Reset")) {
        resp->reset = true;
    } else {
        resp->code = GRPC_CODE_UNIMPLEMENTED;
        snprintf(resp->message, sizeof(resp->message), "unknown service %s", req->method);
    }
    atomic_fetch_sub(&r->in_handler, 1);
}

struct fixture {
    struct recorder recorder;
    struct grpcd *server;
    struct grpcc *client;
    char target[64];
};

static struct fixture *fixture_start(int workers, const char *compression)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    pthread_mutex_init(&f->recorder.lock, NULL);
    struct grpcd_options opts = {.workers = workers};
    struct error err = {0};
    f->server = grpcd_start("127.0.0.1", 0, &opts, handle, &f->recorder, &err);
    if (!f->server)
        fail_msg("grpcd_start: %s", err.message);
    assert_true(grpcd_port(f->server) > 0);
    snprintf(f->target, sizeof(f->target), "127.0.0.1:%d", grpcd_port(f->server));
    static const char *const headers[] = {"X-Scope-OrgID", "tenant-1", NULL};
    struct grpcc_options copts = {.insecure = true,
                                  .compression = compression,
                                  .user_agent = "test-agent/1.0",
                                  .headers = headers};
    f->client = grpcc_new(f->target, &copts, &err);
    if (!f->client)
        fail_msg("grpcc_new: %s", err.message);
    return f;
}

static void fixture_stop(struct fixture *f)
{
    grpcc_free(f->client);
    grpcd_stop(f->server);
    pthread_mutex_destroy(&f->recorder.lock);
    free(f);
}

static void call(struct fixture *f, const char *method, const void *msg, size_t len,
                 int64_t timeout_ms, struct grpcc_result *out)
{
    assert_int_equal(grpcc_unary(f->client, method, msg, len, timeout_ms, out), 0);
}

/* ---- tests through grpcc ---- */

static void test_grpc_round_trip_carries_message_metadata_and_user_agent(void **state)
{
    struct fixture *f = fixture_start(0, NULL);
    struct grpcc_result r;
    call(f, "/test.Echo/Echo", "hello", 5, 5000, &r);
    assert_int_equal(r.code, GRPC_CODE_OK);
    assert_int_equal(r.body_len, 5);
    assert_memory_equal(r.body, "hello", 5);
    grpcc_result_release(&r);
    assert_string_equal(f->recorder.method, "/test.Echo/Echo");
    assert_string_equal(f->recorder.encoding, "");
    assert_string_equal(f->recorder.tenant, "tenant-1"); /* key lower-cased, as grpc-go does */
    if (strncmp(f->recorder.user_agent, "test-agent/1.0", 14) != 0)
        fail_msg("user-agent %s", f->recorder.user_agent);
    /* an empty message is a message: it reaches the handler */
    call(f, "/test.Echo/Echo", "", 0, 5000, &r);
    assert_int_equal(r.code, GRPC_CODE_OK);
    assert_int_equal(r.body_len, 0);
    grpcc_result_release(&r);
    fixture_stop(f);
}

static void test_grpc_gzip_request_is_decompressed_for_the_handler(void **state)
{
    struct fixture *f = fixture_start(0, "gzip");
    char text[4096];
    memset(text, 'a', sizeof(text));
    struct grpcc_result r;
    call(f, "/test.Echo/Echo", text, sizeof(text), 5000, &r);
    assert_int_equal(r.code, GRPC_CODE_OK);
    assert_int_equal(r.body_len, sizeof(text));
    assert_memory_equal(r.body, text, sizeof(text));
    grpcc_result_release(&r);
    assert_string_equal(f->recorder.encoding, "gzip");
    assert_int_equal(f->recorder.message_len, sizeof(text));
    /* a message gzip makes larger is still sent compressed, as grpc-go sends it */
    call(f, "/test.Echo/Echo", "hi", 2, 5000, &r);
    assert_int_equal(r.code, GRPC_CODE_OK);
    assert_int_equal(r.body_len, 2);
    assert_memory_equal(r.body, "hi", 2);
    grpcc_result_release(&r);
    assert_string_equal(f->recorder.encoding, "gzip");
    fixture_stop(f);
}

static void test_grpc_timeout_reaches_the_handler_as_deadline(void **state)
{
    struct fixture *f = fixture_start(0, NULL);
    struct grpcc_result r;
    call(f, "/test.Echo/Echo", "x", 1, 3000, &r);
    assert_int_equal(r.code, GRPC_CODE_OK);
    grpcc_result_release(&r);
    /* measured from the handler's start: the time on the way there is not counted */
    long long left = f->recorder.deadline_ms - f->recorder.handled_at_ms;
    if (left < 1500 || left > 3050)
        fail_msg("deadline %lld ms after the handler started, expected a little under 3000", left);
    /* no timeout: no deadline */
    call(f, "/test.Echo/Echo", "x", 1, 0, &r);
    grpcc_result_release(&r);
    assert_int_equal(f->recorder.deadline_ms, 0);
    fixture_stop(f);
}

static void test_grpc_slow_handler_gives_deadline_exceeded(void **state)
{
    struct fixture *f = fixture_start(0, NULL);
    struct grpcc_result r;
    long long started = monotonic_ms();
    call(f, "/test.Echo/Slow", "x", 1, 300, &r);
    long long took = monotonic_ms() - started;
    assert_int_equal(r.code, GRPC_CODE_DEADLINE_EXCEEDED);
    grpcc_result_release(&r);
    if (took > 1400)
        fail_msg("the client waited %lld ms for a 300 ms deadline", took);
    fixture_stop(f);
}

static void test_grpc_four_mib_passes_and_one_byte_more_is_resource_exhausted(void **state)
{
    struct fixture *f = fixture_start(0, NULL);
    uint8_t *big = calloc(1, FOUR_MIB + 1);
    assert_non_null(big);
    struct grpcc_result r;
    call(f, "/test.Echo/Size", big, FOUR_MIB, 30000, &r);
    assert_int_equal(r.code, GRPC_CODE_OK);
    assert_int_equal(r.body_len, 7);
    assert_memory_equal(r.body, "4194304", 7);
    grpcc_result_release(&r);
    call(f, "/test.Echo/Size", big, FOUR_MIB + 1, 30000, &r);
    assert_int_equal(r.code, GRPC_CODE_RESOURCE_EXHAUSTED);
    if (!strstr(r.message, "larger than max"))
        fail_msg("message: %s", r.message);
    grpcc_result_release(&r);
    assert_int_equal(f->recorder.calls, 1); /* the handler never saw the big one */
    free(big);
    fixture_stop(f);
}

static void test_grpc_gzip_bomb_is_stopped_at_the_limit_after_decompression(void **state)
{
    /* 4 MiB + 1 of zeros compresses to a few KiB: under the limit on the wire, over it once
     * decompressed; grpc-go's words for that. */
    struct fixture *f = fixture_start(0, "gzip");
    uint8_t *big = calloc(1, FOUR_MIB + 1);
    assert_non_null(big);
    struct grpcc_result r;
    call(f, "/test.Echo/Size", big, FOUR_MIB + 1, 30000, &r);
    assert_int_equal(r.code, GRPC_CODE_RESOURCE_EXHAUSTED);
    assert_string_equal(r.message,
                        "grpc: received message after decompression larger than max 4194304");
    grpcc_result_release(&r);
    assert_int_equal(f->recorder.calls, 0);
    free(big);
    fixture_stop(f);
}

struct load {
    struct fixture *fixture;
    int failures;
};

static void *load_thread(void *arg)
{
    struct load *l = arg;
    for (int i = 0; i < 20; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof(msg), "call %d", i);
        struct grpcc_result r;
        if (grpcc_unary(l->fixture->client, "/test.Echo/Echo", (uint8_t *)msg, (size_t)n, 20000,
                        &r) != 0 ||
            r.code != GRPC_CODE_OK || r.body_len != (size_t)n || memcmp(r.body, msg, (size_t)n))
            l->failures++;
        grpcc_result_release(&r);
    }
    return NULL;
}

static void test_grpc_many_concurrent_calls_on_one_client(void **state)
{
    struct fixture *f = fixture_start(4, "gzip");
    pthread_t threads[16];
    struct load loads[16];
    for (int i = 0; i < 16; i++) {
        loads[i] = (struct load){f, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, load_thread, &loads[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < 16; i++) {
        pthread_join(threads[i], NULL);
        failures += loads[i].failures;
    }
    assert_int_equal(failures, 0);
    assert_int_equal(f->recorder.calls, 320);
    if (atomic_load(&f->recorder.max_in_handler) < 2)
        fail_msg("calls never overlapped in the handler");
    assert_true(atomic_load(&f->recorder.max_in_handler) <= 4); /* one call per worker */
    fixture_stop(f);
}

static void test_grpc_unknown_method_is_answered_by_the_handler(void **state)
{
    struct fixture *f = fixture_start(0, NULL);
    struct grpcc_result r;
    call(f, "/no.Such/Method", "x", 1, 5000, &r);
    assert_int_equal(r.code, GRPC_CODE_UNIMPLEMENTED);
    assert_string_equal(r.message, "unknown service /no.Such/Method");
    assert_null(r.body);
    grpcc_result_release(&r);
    fixture_stop(f);
}

static void test_grpc_status_details_are_carried_to_the_client(void **state)
{
    struct fixture *f = fixture_start(0, NULL);
    struct grpcc_result r;
    call(f, "/test.Echo/Details", "x", 1, 5000, &r);
    assert_int_equal(r.code, GRPC_CODE_RESOURCE_EXHAUSTED);
    assert_string_equal(r.message, "slow down");
    static const uint8_t details[] = {0x08, 0x08, 0x12, 0x04, 's', 'l', 'o', 'w'};
    assert_int_equal(r.status_details_len, sizeof(details));
    assert_memory_equal(r.status_details, details, sizeof(details));
    grpcc_result_release(&r);
    fixture_stop(f);
}

static void test_grpc_reset_cancels_the_stream(void **state)
{
    struct fixture *f = fixture_start(0, NULL);
    struct grpcc_result r;
    call(f, "/test.Echo/Reset", "x", 1, 5000, &r);
    assert_int_equal(r.code, GRPC_CODE_CANCELLED);
    grpcc_result_release(&r);
    /* the connection survives a reset stream */
    call(f, "/test.Echo/Echo", "ok", 2, 5000, &r);
    assert_int_equal(r.code, GRPC_CODE_OK);
    grpcc_result_release(&r);
    fixture_stop(f);
}

static void test_grpc_unreachable_server_is_unavailable(void **state)
{
    struct fixture *f = fixture_start(0, NULL);
    int port = grpcd_port(f->server);
    grpcd_stop(f->server); /* nothing listens there any more */
    f->server = NULL;
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", port);
    struct grpcc_options opts = {.insecure = true};
    struct grpcc *client = grpcc_new(target, &opts, NULL);
    assert_non_null(client);
    struct grpcc_result r;
    assert_int_equal(grpcc_unary(client, "/test.Echo/Echo", (const uint8_t *)"x", 1, 5000, &r), 0);
    assert_int_equal(r.code, GRPC_CODE_UNAVAILABLE);
    grpcc_result_release(&r);
    grpcc_free(client);
    grpcc_free(f->client);
    pthread_mutex_destroy(&f->recorder.lock);
    free(f);
}

static void test_grpc_port_in_use_is_an_error(void **state)
{
    struct fixture *f = fixture_start(1, NULL);
    struct error err = {0};
    struct grpcd *second =
        grpcd_start("127.0.0.1", grpcd_port(f->server), NULL, handle, &f->recorder, &err);
    assert_null(second);
    assert_int_equal(err.code, -EADDRINUSE);
    fixture_stop(f);
}

static void test_grpc_client_refuses_bad_options(void **state)
{
    static const char *const bad_header[] = {"bad header", "x", NULL};
    struct grpcc_options opts = {.insecure = true, .headers = bad_header};
    struct error err = {0};
    assert_null(grpcc_new("127.0.0.1:1", &opts, &err));
    assert_non_null(strstr(err.message, "bad header"));
    struct grpcc_options zstd = {.insecure = true, .compression = "zstd"};
    assert_null(grpcc_new("127.0.0.1:1", &zstd, &err));
    assert_string_equal(err.message, "grpcc: unsupported compression \"zstd\"");
    assert_null(grpcc_new("", NULL, &err));
}

static void test_grpc_code_names(void **state)
{
    assert_string_equal(grpc_code_name(GRPC_CODE_OK), "OK");
    assert_string_equal(grpc_code_name(GRPC_CODE_RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
    assert_string_equal(grpc_code_name(GRPC_CODE_UNAUTHENTICATED), "UNAUTHENTICATED");
    assert_string_equal(grpc_code_name(17), "CODE(17)");
    assert_string_equal(grpc_code_name(-1), "CODE(-1)");
}

/* ---- the wire, with libcurl over h2c ---- */

struct wire {
    char headers[4096]; /* every header and trailer line, as received */
    uint8_t body[8192];
    size_t body_len;
};

static size_t wire_header(char *data, size_t size, size_t n, void *ctx)
{
    struct wire *w = ctx;
    size_t used = strlen(w->headers);
    snprintf(w->headers + used, sizeof(w->headers) - used, "%.*s", (int)(size * n), data);
    return size * n;
}

static size_t wire_body(char *data, size_t size, size_t n, void *ctx)
{
    struct wire *w = ctx;
    size_t take = size * n;
    if (take > sizeof(w->body) - w->body_len)
        take = sizeof(w->body) - w->body_len;
    memcpy(w->body + w->body_len, data, take);
    w->body_len += take;
    return size * n;
}

/* POSTs `body` (already framed) with the given extra headers; returns the HTTP status. */
static long wire_post(int port, const char *path, const char *const *extra, const void *body,
                      size_t len, struct wire *out)
{
    memset(out, 0, sizeof(*out));
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/grpc");
    headers = curl_slist_append(headers, "TE: trailers");
    headers = curl_slist_append(headers, "Expect:");
    for (size_t i = 0; extra && extra[i]; i++)
        headers = curl_slist_append(headers, extra[i]);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, wire_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, wire_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    assert_int_equal(curl_easy_perform(curl), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

static bool has_header(const struct wire *w, const char *line)
{
    const char *p = w->headers;
    size_t n = strlen(line);
    while ((p = strcasestr(p, line)) != NULL) {
        if ((p == w->headers || p[-1] == '\n') && (p[n] == '\r' || p[n] == '\n'))
            return true;
        p += n;
    }
    return false;
}

/* The 5-byte gRPC message prefix: compressed flag, big-endian length. */
static size_t frame(uint8_t *out, bool compressed, const void *msg, size_t len)
{
    out[0] = compressed ? 1 : 0;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
    memcpy(out + 5, msg, len);
    return len + 5;
}

static void test_grpc_wire_framing_trailers_and_timeout_header(void **state)
{
    struct fixture *f = fixture_start(0, NULL);
    int port = grpcd_port(f->server);
    uint8_t body[64];
    size_t len = frame(body, false, "ping", 4);
    static const char *const timeout[] = {"grpc-timeout: 1500m", NULL};
    struct wire w;
    assert_int_equal(wire_post(port, "/test.Echo/Echo", timeout, body, len, &w), 200);
    assert_true(has_header(&w, "content-type: application/grpc"));
    assert_true(has_header(&w, "grpc-status: 0")); /* in the trailers, after the message */
    assert_int_equal(w.body_len, 9);
    assert_memory_equal(w.body, "\0\0\0\0\4ping", 9);
    long long left = f->recorder.deadline_ms - f->recorder.handled_at_ms;
    if (left < 700 || left > 1550)
        fail_msg("grpc-timeout 1500m became a deadline %lld ms away", left);

    /* an error: trailers only, the message percent-encoded by the protocol's rules */
    assert_int_equal(wire_post(port, "/no.Such/Method", NULL, body, len, &w), 200);
    assert_true(has_header(&w, "grpc-status: 12"));
    assert_true(has_header(&w, "grpc-message: unknown service /no.Such/Method"));
    assert_int_equal(w.body_len, 0);

    /* no message at all on a unary method: grpc-go's cardinality violation */
    assert_int_equal(wire_post(port, "/test.Echo/Echo", NULL, "", 0, &w), 200);
    assert_true(has_header(&w, "grpc-status: 13"));
    assert_true(has_header(&w, "grpc-message: cardinality violation: received no request "
                               "message from non-client-streaming RPC"));
    fixture_stop(f);
}

static void test_grpc_wire_gzip_request_gets_gzip_answer(void **state)
{
    struct fixture *f = fixture_start(0, NULL);
    int port = grpcd_port(f->server);
    char text[1000];
    memset(text, 'z', sizeof(text));
    uint8_t *gz = NULL;
    size_t gz_len = 0;
    assert_int_equal(
        compress_buffer(COMPRESSION_GZIP, (const uint8_t *)text, sizeof(text), &gz, &gz_len), 0);
    uint8_t body[2048];
    size_t len = frame(body, true, gz, gz_len);
    free(gz);
    static const char *const gzip[] = {"grpc-encoding: gzip", "grpc-accept-encoding: gzip", NULL};
    struct wire w;
    assert_int_equal(wire_post(port, "/test.Echo/Echo", gzip, body, len, &w), 200);
    assert_true(has_header(&w, "grpc-status: 0"));
    assert_string_equal(f->recorder.encoding, "gzip");
    assert_int_equal(f->recorder.message_len, sizeof(text));
    /* the answer is compressed the way the request was, as grpc-go answers */
    assert_true(has_header(&w, "grpc-encoding: gzip"));
    assert_true(w.body_len > 5);
    assert_int_equal(w.body[0], 1);
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    assert_int_equal(decompress_buffer(COMPRESSION_GZIP, w.body + 5, w.body_len - 5, 1 << 20,
                                       &plain, &plain_len, NULL),
                     0);
    assert_int_equal(plain_len, sizeof(text));
    assert_memory_equal(plain, text, sizeof(text));
    free(plain);

    /* a tiny answer is compressed too (grpc-go compresses whatever the size) */
    assert_int_equal(compress_buffer(COMPRESSION_GZIP, (const uint8_t *)"ok", 2, &gz, &gz_len), 0);
    len = frame(body, true, gz, gz_len);
    free(gz);
    assert_int_equal(wire_post(port, "/test.Echo/Echo", gzip, body, len, &w), 200);
    assert_true(has_header(&w, "grpc-encoding: gzip"));
    assert_true(w.body_len > 5);
    assert_int_equal(w.body[0], 1);

    /* a corrupt gzip message: grpc-go's INTERNAL */
    len = frame(body, true, "not gzip at all", 15);
    assert_int_equal(wire_post(port, "/test.Echo/Echo", gzip, body, len, &w), 200);
    assert_true(has_header(&w, "grpc-status: 13"));
    assert_non_null(
        strstr(w.headers, "grpc-message: grpc: failed to decompress the received message"));
    fixture_stop(f);
}

static int setup_group(void **state)
{
    grpc_group_setup(state);
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown_group(void **state)
{
    curl_global_cleanup();
    return grpc_group_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grpc_round_trip_carries_message_metadata_and_user_agent),
        cmocka_unit_test(test_grpc_gzip_request_is_decompressed_for_the_handler),
        cmocka_unit_test(test_grpc_timeout_reaches_the_handler_as_deadline),
        cmocka_unit_test(test_grpc_slow_handler_gives_deadline_exceeded),
        cmocka_unit_test(test_grpc_four_mib_passes_and_one_byte_more_is_resource_exhausted),
        cmocka_unit_test(test_grpc_gzip_bomb_is_stopped_at_the_limit_after_decompression),
        cmocka_unit_test(test_grpc_many_concurrent_calls_on_one_client),
        cmocka_unit_test(test_grpc_unknown_method_is_answered_by_the_handler),
        cmocka_unit_test(test_grpc_status_details_are_carried_to_the_client),
        cmocka_unit_test(test_grpc_reset_cancels_the_stream),
        cmocka_unit_test(test_grpc_unreachable_server_is_unavailable),
        cmocka_unit_test(test_grpc_port_in_use_is_an_error),
        cmocka_unit_test(test_grpc_client_refuses_bad_options),
        cmocka_unit_test(test_grpc_code_names),
        cmocka_unit_test(test_grpc_wire_framing_trailers_and_timeout_header),
        cmocka_unit_test(test_grpc_wire_gzip_request_gets_gzip_answer),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
