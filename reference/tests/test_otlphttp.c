/*
 * test_otlphttp.c - unit tests of the otlp_http exporter (reference/exporters/otlphttp/) against
 * an in-process backend (common/httpd) that answers from a script: retries on 503 with
 * Retry-After, permanent drop of a 400, signal URL building, the gzip/protobuf request upstream
 * sends, a full sending queue, and the drain deadline at shutdown. Expectations follow
 * core@v0.144.0 exporter/otlphttpexporter and exporterhelper (facts/pipeline.md §6).
 *
 * Waiting is a poll of a condition with backoff until a deadline, never a bare sleep.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../exporters/otlphttp/otlphttp.h"
#include "component.h"
#include "component_fixture.h"
#include "compress.h"
#include "google/rpc/status.pb-c.h"
#include "httpd.h"
#include "otlp_json.h"
#include "pdata.h"
#include "poll_until.h"

#define SCRIPT_MAX 8

/* ---- the scripted backend ---- */

struct backend {
    struct httpd *server;
    pthread_mutex_t lock;
    pthread_cond_t released_cond;
    /* answers to the first requests, then 200 */
    int script_status[SCRIPT_MAX];
    const char *script_retry_after[SCRIPT_MAX];
    const char *script_content_type[SCRIPT_MAX]; /* with script_body: a 2xx reply body */
    const uint8_t *script_body[SCRIPT_MAX];
    size_t script_body_len[SCRIPT_MAX];
    size_t script_len;
    int default_status;
    bool stall; /* hold every request until `released` */
    bool released;
    /* what arrived */
    int requests;
    size_t delivered_items; /* items in requests answered 2xx */
    char path[128], content_type[128], content_encoding[64], user_agent[256];
};

static void backend_handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct backend *b = ctx;
    const char *ct = httpd_request_header(req, "Content-Type");
    const char *ce = httpd_request_header(req, "Content-Encoding");
    const char *ua = httpd_request_header(req, "User-Agent");
    size_t items = 0;
    enum compression compression = COMPRESSION_NONE;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    struct payload *p = NULL;
    bool json = ct && !strcmp(ct, "application/json");
    int rc = compression_parse(ce, &compression);
    if (rc == 0)
        rc = decompress_buffer(compression, req->body, req->body_len, 64 << 20, &raw, &raw_len,
                               NULL);
    if (rc == 0)
        rc = json ? otlp_json_decode_payload(SIGNAL_TRACES, (const char *)raw, raw_len, &p, NULL)
                  : payload_decode(SIGNAL_TRACES, raw, raw_len, &p, NULL);
    if (rc == 0)
        items = payload_item_count(p);
    payload_free(p);
    free(raw);

    pthread_mutex_lock(&b->lock);
    int index = b->requests++;
    snprintf(b->path, sizeof(b->path), "%s", req->path);
    snprintf(b->content_type, sizeof(b->content_type), "%s", ct ? ct : "");
    snprintf(b->content_encoding, sizeof(b->content_encoding), "%s", ce ? ce : "");
    snprintf(b->user_agent, sizeof(b->user_agent), "%s", ua ? ua : "");
    int status = (size_t)index < b->script_len ? b->script_status[index] : b->default_status;
    bool scripted = (size_t)index < b->script_len;
    const char *retry_after = scripted ? b->script_retry_after[index] : NULL;
    const uint8_t *reply = scripted ? b->script_body[index] : NULL;
    size_t reply_len = scripted ? b->script_body_len[index] : 0;
    const char *reply_type = scripted ? b->script_content_type[index] : NULL;
    while (b->stall && !b->released)
        pthread_cond_wait(&b->released_cond, &b->lock);
    if (status >= 200 && status <= 299)
        b->delivered_items += items;
    pthread_mutex_unlock(&b->lock);

    resp->status = status;
    if (retry_after)
        http_response_add_header(resp, "Retry-After", "%s", retry_after);
    if (reply)
        http_response_set_body(resp, reply_type, reply, reply_len);
    if (status == 400) {
        /* an OTLP error body: google.rpc.Status{code: 3 (InvalidArgument), message} */
        Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
        st.code = 3;
        st.message = "Bad field";
        uint8_t buf[64];
        size_t len = google__rpc__status__pack(&st, buf);
        http_response_set_body(resp, "application/x-protobuf", buf, len);
    }
}

/* A backend answering 200 until its script is set; call backend_listen afterwards, so that the
 * script is written before any handler thread reads it. */
static struct backend *backend_new(void)
{
    struct backend *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->released_cond, NULL);
    b->default_status = 200;
    return b;
}

static struct backend *backend_listen(struct backend *b)
{
    struct error err = {0};
    b->server = httpd_start("127.0.0.1", 0, 64 << 20, backend_handle, b, &err);
    if (!b->server)
        fail_msg("backend: %s", err.message);
    return b;
}

static void backend_release(struct backend *b)
{
    pthread_mutex_lock(&b->lock);
    b->released = true;
    pthread_cond_broadcast(&b->released_cond);
    pthread_mutex_unlock(&b->lock);
}

static void backend_stop(struct backend *b)
{
    backend_release(b);
    httpd_stop(b->server);
    pthread_cond_destroy(&b->released_cond);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static int backend_requests(struct backend *b)
{
    return test_count_read(&b->lock, &b->requests);
}

/* ---- the exporter, wired as the service wires it ---- */

/* otlphttp/test sending to the backend; `extra` is more JSON members for its config (after the
 * endpoint). */
static struct component_fixture *fixture_start(struct backend *b, const char *extra)
{
    char config[1024];
    snprintf(config, sizeof(config), "{\"endpoint\": \"http://127.0.0.1:%d\"%s%s}",
             httpd_port(b->server), extra && *extra ? ", " : "", extra ? extra : "");
    struct component_fixture *f =
        component_fixture_new(&otlp_http_exporter_descriptor, "otlphttp/test", config);
    component_fixture_start(f);
    return f;
}

/* ---- tests ---- */

static void test_otlphttp_retries_503_with_retry_after_then_delivers_once(void **state)
{
    struct backend *b = backend_new();
    b->script_status[0] = 503;
    b->script_retry_after[0] = "1"; /* honoured: max(10ms backoff, 1s) */
    b->script_status[1] = 503;
    b->script_retry_after[1] = "0"; /* max(backoff, 0s) is the backoff */
    b->script_len = 2;
    backend_listen(b);
    struct component_fixture *f = fixture_start(b, TEST_FAST_RETRY);
    long long started = monotonic_ms();
    struct error err = {0};
    assert_int_equal(component_fixture_consume_spans(f, 10, &err), 0);
    assert_true(component_fixture_wait_counter(f, "otelcol_exporter_sent_spans", 10));
    long long elapsed = monotonic_ms() - started;
    assert_int_equal(backend_requests(b), 3);
    pthread_mutex_lock(&b->lock);
    size_t delivered = b->delivered_items;
    pthread_mutex_unlock(&b->lock);
    assert_int_equal(delivered, 10); /* exactly once */
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_send_failed_spans"), 0);
    if (elapsed < 950)
        fail_msg("Retry-After: 1 not honoured: delivered after %lld ms", elapsed);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_otlphttp_drops_400_at_once_and_counts_it(void **state)
{
    struct backend *b = backend_new();
    b->default_status = 400;
    backend_listen(b);
    struct component_fixture *f = fixture_start(b, TEST_FAST_RETRY);
    struct error err = {0};
    /* queued: the failure comes later */
    assert_int_equal(component_fixture_consume_spans(f, 7, &err), 0);
    assert_true(component_fixture_wait_counter(f, "otelcol_exporter_send_failed_spans", 7));
    component_fixture_shutdown(f, 5000);
    assert_int_equal(backend_requests(b), 1); /* permanent: never retried */
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_sent_spans"), 0);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_otlphttp_returns_permanent_error_without_queue(void **state)
{
    struct backend *b = backend_new();
    b->default_status = 400;
    backend_listen(b);
    struct component_fixture *f = fixture_start(b, "\"sending_queue\": {\"enabled\": false}");
    struct error err = {0};
    assert_int_not_equal(component_fixture_consume_spans(f, 4, &err), 0);
    assert_int_equal(err.kind, ERROR_PERMANENT);
    char expected[256];
    snprintf(expected, sizeof(expected),
             "not retryable error: Permanent error: error exporting items, request to "
             "http://127.0.0.1:%d/v1/traces responded with HTTP Status Code 400, "
             "Message=Bad field, Details=[]",
             httpd_port(b->server));
    assert_string_equal(err.message, expected);
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_send_failed_spans"), 4);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_otlphttp_sends_uncompressed_json_when_configured(void **state)
{
    struct backend *b = backend_listen(backend_new());
    struct component_fixture *f =
        fixture_start(b, "\"encoding\": \"json\", \"compression\": \"none\"");
    struct error err = {0};
    assert_int_equal(component_fixture_consume_spans(f, 4, &err), 0);
    assert_true(component_fixture_wait_counter(f, "otelcol_exporter_sent_spans", 4));
    pthread_mutex_lock(&b->lock);
    assert_string_equal(b->content_type, "application/json");
    assert_string_equal(b->content_encoding, "");
    assert_int_equal(b->delivered_items, 4);
    pthread_mutex_unlock(&b->lock);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_otlphttp_partial_success_is_neither_retried_nor_failed(void **state)
{
    uint8_t body[128];
    size_t len = test_partial_success_response(body, sizeof(body));
    struct backend *b = backend_new();
    b->script_status[0] = 200;
    b->script_content_type[0] = "application/x-protobuf";
    b->script_body[0] = body;
    b->script_body_len[0] = len;
    b->script_len = 1;
    backend_listen(b);
    struct component_fixture *f = fixture_start(b, TEST_FAST_RETRY);
    struct error err = {0};
    assert_int_equal(component_fixture_consume_spans(f, 5, &err), 0);
    assert_true(component_fixture_wait_counter(f, "otelcol_exporter_sent_spans", 5));
    component_fixture_shutdown(f, 5000);
    assert_int_equal(backend_requests(b), 1);
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_send_failed_spans"), 0);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_otlphttp_retries_2xx_with_unparseable_otlp_body(void **state)
{
    /* The exact OTLP content types promise an Export*ServiceResponse; one that does not parse
     * is a retryable error upstream. Any other content type is ignored. */
    static const uint8_t garbage[] = "this is not json";
    struct backend *b = backend_new();
    b->script_status[0] = 200;
    b->script_content_type[0] = "application/json";
    b->script_body[0] = garbage;
    b->script_body_len[0] = sizeof(garbage) - 1;
    b->script_status[1] = 200;
    b->script_content_type[1] = "text/plain";
    b->script_body[1] = garbage;
    b->script_body_len[1] = sizeof(garbage) - 1;
    b->script_len = 2;
    backend_listen(b);
    struct component_fixture *f = fixture_start(b, TEST_FAST_RETRY);
    struct error err = {0};
    assert_int_equal(component_fixture_consume_spans(f, 3, &err), 0);
    assert_true(component_fixture_wait_counter(f, "otelcol_exporter_sent_spans", 3));
    component_fixture_shutdown(f, 5000);
    assert_int_equal(backend_requests(b), 2);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_otlphttp_builds_signal_urls(void **state)
{
    static const struct {
        const char *endpoint, *signal_endpoint, *signal;
        const char *url; /* NULL = error */
    } cases[] = {
        {"http://collector:4318", NULL, "traces", "http://collector:4318/v1/traces"},
        {"http://collector:4318/", NULL, "metrics", "http://collector:4318/v1/metrics"},
        {"http://prometheus:9090/api/v1/otlp", NULL, "metrics",
         "http://prometheus:9090/api/v1/otlp/v1/metrics"},
        {"http://loki:3100/otlp", NULL, "logs", "http://loki:3100/otlp/v1/logs"},
        {"http://loki:3100/otlp/", "", "logs", "http://loki:3100/otlp/v1/logs"},
        {"http://ignored:1", "http://tempo:4318/custom", "traces", "http://tempo:4318/custom"},
        {NULL, "http://only:4318/v1/logs", "logs", "http://only:4318/v1/logs"},
        {"", NULL, "traces", NULL},
        {NULL, NULL, "logs", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char url[256];
        struct error err = {0};
        int rc = otlphttp_compose_url(cases[i].endpoint, cases[i].signal_endpoint, cases[i].signal,
                                      url, sizeof(url), &err);
        if (!cases[i].url) {
            char expected[128];
            snprintf(expected, sizeof(expected), "either endpoint or %s_endpoint must be specified",
                     cases[i].signal);
            if (rc != -EINVAL || strcmp(err.message, expected) != 0)
                fail_msg("case %zu: rc %d \"%s\"", i, rc, err.message);
            continue;
        }
        if (rc != 0 || strcmp(url, cases[i].url) != 0)
            fail_msg("case %zu: rc %d url \"%s\", expected \"%s\"", i, rc, rc ? err.message : url,
                     cases[i].url);
    }
}

static void test_otlphttp_sends_gzip_protobuf_with_upstream_headers(void **state)
{
    struct backend *b = backend_listen(backend_new());
    struct component_fixture *f = fixture_start(b, NULL);
    struct error err = {0};
    assert_int_equal(component_fixture_consume_spans(f, 3, &err), 0);
    assert_true(component_fixture_wait_counter(f, "otelcol_exporter_sent_spans", 3));
    pthread_mutex_lock(&b->lock); /* what the handler recorded */
    assert_string_equal(b->path, "/v1/traces");
    assert_string_equal(b->content_encoding, "gzip");
    assert_string_equal(b->content_type, "application/x-protobuf");
    assert_string_equal(b->user_agent, otlphttp_user_agent());
    assert_int_equal(b->delivered_items, 3); /* the gzip body decoded to the 3 spans sent */
    pthread_mutex_unlock(&b->lock);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_otlphttp_refuses_when_sending_queue_is_full(void **state)
{
    struct backend *b = backend_new();
    b->stall = true;
    backend_listen(b);
    struct component_fixture *f =
        fixture_start(b, "\"sending_queue\": {\"queue_size\": 1, \"num_consumers\": 1}");
    struct error err = {0};
    /* taken by the consumer, stalls */
    assert_int_equal(component_fixture_consume_spans(f, 1, &err), 0);
    assert_true(test_count_wait(&b->lock, &b->requests, 1, "requests in flight"));
    /* fills the queue (size 1) */
    assert_int_equal(component_fixture_consume_spans(f, 2, &err), 0);
    assert_int_not_equal(component_fixture_consume_spans(f, 5, &err), 0);
    assert_int_equal(err.kind, ERROR_REFUSED);
    assert_string_equal(err.message, "sending queue is full");
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_enqueue_failed_spans"), 5);
    backend_release(b);
    assert_true(component_fixture_wait_counter(f, "otelcol_exporter_sent_spans", 3));
    component_fixture_free(f);
    backend_stop(b);
}

static void test_otlphttp_shutdown_stops_retrying_at_the_deadline(void **state)
{
    struct backend *b = backend_new();
    b->default_status = 503; /* forever, without Retry-After */
    backend_listen(b);
    struct component_fixture *f = fixture_start(
        b, "\"retry_on_failure\": {\"initial_interval\": \"50ms\", \"randomization_factor\": 0, "
           "\"max_interval\": \"50ms\", \"max_elapsed_time\": 0}");
    struct error err = {0};
    assert_int_equal(component_fixture_consume_spans(f, 6, &err), 0);
    assert_true(test_count_wait(&b->lock, &b->requests, 2, "requests (a retry)"));
    long long started = monotonic_ms();
    component_fixture_shutdown(f, 300);
    long long took = monotonic_ms() - started;
    if (took > 5000)
        fail_msg("shutdown took %lld ms with a 300 ms deadline", took);
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_send_failed_spans"), 6);
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_sent_spans"), 0);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_otlphttp_config_validation_messages(void **state)
{
    static const struct {
        const char *config;
        const char *message; /* NULL = valid */
    } cases[] = {
        {"{\"endpoint\": \"http://x:4318\"}", NULL},
        {"{\"logs_endpoint\": \"http://x:3100/otlp/v1/logs\"}", NULL},
        {"{\"endpoint\": \"http://x\", \"encoding\": \"json\", \"compression\": \"none\"}", NULL},
        {"{\"endpoint\": \"http://x\", \"compression\": \"zstd\", \"headers\": {\"X-Scope-OrgID\": "
         "\"tenant\"}}",
         NULL},
        {"{\"endpoint\": \"http://x\", \"tls\": {\"insecure\": true}}", NULL},
        {"{}", "at least one endpoint must be specified"},
        {"{\"endpoint\": \"http://x\", \"encoding\": \"xml\"}", "invalid encoding type: xml"},
        {"{\"endpoint\": \"http://x\", \"compression\": \"brotli\"}",
         "unsupported compression type \"brotli\""},
        {"{\"endpoint\": \"http://x\", \"compression\": \"snappy\"}",
         "not supported by otelcol-ref"},
        {"{\"endpoint\": \"http://x\", \"retry_on_failure\": {\"randomization_factor\": 2}}",
         "retry_on_failure: 'randomization_factor' must be within [0, 1]"},
        {"{\"endpoint\": \"http://x\", \"retry_on_failure\": {\"max_elapsed_time\": \"1s\"}}",
         "retry_on_failure: 'max_elapsed_time' must not be less than 'initial_interval'"},
        {"{\"endpoint\": \"http://x\", \"sending_queue\": {\"queue_size\": 0}}",
         "sending_queue: `queue_size` must be positive"},
        {"{\"endpoint\": \"http://x\", \"sending_queue\": {\"num_consumers\": 0}}",
         "sending_queue: `num_consumers` must be positive"},
        {"{\"endpoint\": \"http://x\", \"sending_queue\": {\"enabled\": false, \"queue_size\": 0}}",
         NULL},
        {"{\"endpoint\": \"http://x\", \"sending_queue\": {\"batch\": {}}}",
         "exporter-side batching"},
        {"{\"endpoint\": \"http://x\", \"headers\": {\"a\": [1]}}",
         "headers: value of \"a\" must be a string"},
        {"{\"endpoint\": \"http://x\", \"endpont\": \"typo\"}", "unknown key \"endpont\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        component_config_expect(&otlp_http_exporter_descriptor, "otlphttp/test", cases[i].config,
                                cases[i].message);
    assert_string_equal(otlp_http_exporter_descriptor.type, "otlp_http");
    assert_string_equal(otlp_http_exporter_descriptor.deprecated_alias, "otlphttp");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_otlphttp_retries_503_with_retry_after_then_delivers_once),
        cmocka_unit_test(test_otlphttp_drops_400_at_once_and_counts_it),
        cmocka_unit_test(test_otlphttp_returns_permanent_error_without_queue),
        cmocka_unit_test(test_otlphttp_sends_uncompressed_json_when_configured),
        cmocka_unit_test(test_otlphttp_partial_success_is_neither_retried_nor_failed),
        cmocka_unit_test(test_otlphttp_retries_2xx_with_unparseable_otlp_body),
        cmocka_unit_test(test_otlphttp_builds_signal_urls),
        cmocka_unit_test(test_otlphttp_sends_gzip_protobuf_with_upstream_headers),
        cmocka_unit_test(test_otlphttp_refuses_when_sending_queue_is_full),
        cmocka_unit_test(test_otlphttp_shutdown_stops_retrying_at_the_deadline),
        cmocka_unit_test(test_otlphttp_config_validation_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
