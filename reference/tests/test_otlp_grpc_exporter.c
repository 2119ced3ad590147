/*
 * test_otlp_grpc_exporter.c - unit tests of the otlp_grpc exporter (reference/exporters/otlpgrpc/)
 * against an in-process gRPC backend (common/grpcd) that answers from a script: Unavailable then
 * OK delivers once, InvalidArgument is dropped at once and counted, ResourceExhausted is dropped
 * without a RetryInfo and retried after its delay with one, the request arrives gzip-compressed
 * with upstream's metadata, a slow backend hits the 5 s-style per-attempt deadline, and the
 * config is validated with upstream's words. Expectations follow core@v0.144.0
 * exporter/otlpexporter and exporterhelper (facts/pipeline.md §6).
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

#include "../exporters/otlpgrpc/otlpgrpc.h"
#include "component.h"
#include "component_fixture.h"
#include "grpc_group.h"
#include "exporterhelper.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "grpcd.h"
#include "pdata.h"
#include "poll_until.h"

#define SCRIPT_MAX 8
#define TRACES_EXPORT "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

/* ---- the scripted backend ---- */

struct answer {
    int code;
    int64_t retry_info_delay_ns; /* >= 0 with has_retry_info */
    bool has_retry_info;
    int64_t delay_ms; /* handler sleeps first */
    const uint8_t *body;
    size_t body_len;
};

struct backend {
    struct grpcd *server;
    pthread_mutex_t lock;
    struct answer script[SCRIPT_MAX];
    size_t script_len;
    /* what arrived */
    int requests;
    long long request_ms[SCRIPT_MAX];
    size_t delivered_items; /* items in calls answered OK */
    char method[128], encoding[32], user_agent[256], tenant[64];
    int64_t deadline_left_ms;
};

/* A google.rpc.Status with one RetryInfo detail, as Tempo sends with
 * retry_after_on_resource_exhausted set. */
static void set_retry_info(struct grpcd_response *resp, int64_t delay_ns)
{
    Google__Protobuf__Duration delay = GOOGLE__PROTOBUF__DURATION__INIT;
    delay.seconds = delay_ns / 1000000000LL;
    delay.nanos = (int32_t)(delay_ns % 1000000000LL);
    Google__Rpc__RetryInfo info = GOOGLE__RPC__RETRY_INFO__INIT;
    info.retry_delay = &delay;
    uint8_t info_bytes[64];
    size_t info_len = google__rpc__retry_info__pack(&info, info_bytes);
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = "type.googleapis.com/google.rpc.RetryInfo";
    any.value.data = info_bytes;
    any.value.len = info_len;
    Google__Protobuf__Any *details[] = {&any};
    Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
    status.code = resp->code;
    status.message = resp->message;
    status.details = details;
    status.n_details = 1;
    resp->status_details_len = google__rpc__status__get_packed_size(&status);
    resp->status_details = malloc(resp->status_details_len);
    assert_non_null(resp->status_details);
    google__rpc__status__pack(&status, resp->status_details);
}

static void backend_handle(void *ctx, const struct grpcd_request *req, struct grpcd_response *resp)
{
    struct backend *b = ctx;
    struct payload *p = NULL;
    size_t items = 0;
    if (payload_decode(SIGNAL_TRACES, req->message, req->message_len, &p, NULL) == 0)
        items = payload_item_count(p);
    payload_free(p);
    pthread_mutex_lock(&b->lock);
    int index = b->requests++;
    if (index < SCRIPT_MAX)
        b->request_ms[index] = monotonic_ms();
    snprintf(b->method, sizeof(b->method), "%s", req->method);
    snprintf(b->encoding, sizeof(b->encoding), "%s", req->encoding ? req->encoding : "");
    snprintf(b->user_agent, sizeof(b->user_agent), "%s", req->user_agent ? req->user_agent : "");
    const char *tenant = grpcd_request_metadata(req, "x-scope-orgid");
    snprintf(b->tenant, sizeof(b->tenant), "%s", tenant ? tenant : "");
    b->deadline_left_ms = req->deadline_ms ? req->deadline_ms - monotonic_ms() : -1;
    struct answer a = (size_t)index < b->script_len ? b->script[index] : (struct answer){0};
    pthread_mutex_unlock(&b->lock);

    if (a.delay_ms) {
        struct timespec ts = {a.delay_ms / 1000, (a.delay_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    resp->code = a.code;
    if (a.code == GRPC_CODE_OK) {
        static const uint8_t empty_response[] = {0x0a, 0x00};
        const uint8_t *body = a.body ? a.body : empty_response;
        size_t len = a.body ? a.body_len : sizeof(empty_response);
        resp->body = malloc(len);
        memcpy(resp->body, body, len);
        resp->body_len = len;
        pthread_mutex_lock(&b->lock);
        b->delivered_items += items;
        pthread_mutex_unlock(&b->lock);
        return;
    }
    snprintf(resp->message, sizeof(resp->message), "scripted %s", grpc_code_name(a.code));
    if (a.has_retry_info)
        set_retry_info(resp, a.retry_info_delay_ns);
}

static struct backend *backend_new(void)
{
    struct backend *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    pthread_mutex_init(&b->lock, NULL);
    return b;
}

/* Starts listening once the script is written, so no handler reads it half-written. */
static struct backend *backend_listen(struct backend *b)
{
    struct error err = {0};
    b->server = grpcd_start("127.0.0.1", 0, NULL, backend_handle, b, &err);
    if (!b->server)
        fail_msg("backend: %s", err.message);
    return b;
}

static void backend_stop(struct backend *b)
{
    grpcd_stop(b->server);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static int backend_requests(struct backend *b)
{
    return test_count_read(&b->lock, &b->requests);
}

/* ---- the exporter, wired as the service wires it ---- */

/* otlp/tempo sending to 127.0.0.1:`port`; `extra` is more JSON members for its config (after
 * endpoint and tls). */
static struct component_fixture *exporter_start(int port, const char *extra)
{
    char config[1024];
    snprintf(config, sizeof(config),
             "{\"endpoint\": \"127.0.0.1:%d\", \"tls\": {\"insecure\": true}%s%s}", port,
             extra && *extra ? ", " : "", extra ? extra : "");
    struct component_fixture *f =
        component_fixture_new(&otlp_grpc_exporter_descriptor, "otlp/tempo", config);
    component_fixture_start(f);
    return f;
}

static struct component_fixture *fixture_start(struct backend *b, const char *extra)
{
    return exporter_start(grpcd_port(b->server), extra);
}

/* ---- tests ---- */

static void test_unavailable_then_ok_delivers_once(void **state)
{
    struct backend *b = backend_new();
    b->script[0].code = GRPC_CODE_UNAVAILABLE;
    b->script[1].code = GRPC_CODE_OK;
    b->script_len = 2;
    backend_listen(b);
    struct component_fixture *f = fixture_start(b, TEST_FAST_RETRY);
    struct error err = {0};
    assert_int_equal(component_fixture_consume_spans(f, 10, &err), 0);
    assert_true(component_fixture_wait_counter(f, "otelcol_exporter_sent_spans", 10));
    assert_int_equal(backend_requests(b), 2);
    pthread_mutex_lock(&b->lock);
    assert_int_equal(b->delivered_items, 10); /* exactly once */
    pthread_mutex_unlock(&b->lock);
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_send_failed_spans"), 0);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_invalid_argument_is_dropped_at_once_and_counted(void **state)
{
    struct backend *b = backend_new();
    for (int i = 0; i < SCRIPT_MAX; i++)
        b->script[i].code = GRPC_CODE_INVALID_ARGUMENT; /* Tempo's bad trace ids */
    b->script_len = SCRIPT_MAX;
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

static void test_permanent_error_text_without_queue(void **state)
{
    struct backend *b = backend_new();
    b->script[0].code = GRPC_CODE_INVALID_ARGUMENT;
    b->script_len = 1;
    backend_listen(b);
    struct component_fixture *f = fixture_start(b, "\"sending_queue\": {\"enabled\": false}");
    struct error err = {0};
    assert_int_not_equal(component_fixture_consume_spans(f, 4, &err), 0);
    assert_int_equal(err.kind, ERROR_PERMANENT);
    assert_string_equal(err.message, "not retryable error: Permanent error: rpc error: code = "
                                     "InvalidArgument desc = scripted INVALID_ARGUMENT");
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_send_failed_spans"), 4);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_resource_exhausted_without_retry_info_is_dropped(void **state)
{
    /* Tempo's rate limit without distributor.retry_after_on_resource_exhausted */
    struct backend *b = backend_new();
    for (int i = 0; i < SCRIPT_MAX; i++)
        b->script[i].code = GRPC_CODE_RESOURCE_EXHAUSTED;
    b->script_len = SCRIPT_MAX;
    backend_listen(b);
    struct component_fixture *f = fixture_start(b, TEST_FAST_RETRY);
    struct error err = {0};
    assert_int_equal(component_fixture_consume_spans(f, 3, &err), 0);
    assert_true(component_fixture_wait_counter(f, "otelcol_exporter_send_failed_spans", 3));
    component_fixture_shutdown(f, 5000);
    assert_int_equal(backend_requests(b), 1);
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_sent_spans"), 0);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_resource_exhausted_with_retry_info_waits_its_delay(void **state)
{
    struct backend *b = backend_new();
    b->script[0].code = GRPC_CODE_RESOURCE_EXHAUSTED;
    b->script[0].has_retry_info = true;
    b->script[0].retry_info_delay_ns = 1000000000LL; /* max(10ms backoff, 1s) */
    b->script[1].code = GRPC_CODE_OK;
    b->script_len = 2;
    backend_listen(b);
    struct component_fixture *f = fixture_start(b, TEST_FAST_RETRY);
    struct error err = {0};
    assert_int_equal(component_fixture_consume_spans(f, 5, &err), 0);
    assert_true(component_fixture_wait_counter(f, "otelcol_exporter_sent_spans", 5));
    assert_int_equal(backend_requests(b), 2);
    long long waited = b->request_ms[1] - b->request_ms[0];
    if (waited < 950)
        fail_msg("RetryInfo 1s not honoured: retried after %lld ms", waited);
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_send_failed_spans"), 0);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_sends_gzip_with_upstream_metadata(void **state)
{
    struct backend *b = backend_listen(backend_new());
    struct component_fixture *f =
        fixture_start(b, "\"headers\": {\"X-Scope-OrgID\": \"tenant-a\"}");
    struct error err = {0};
    assert_int_equal(component_fixture_consume_spans(f, 3, &err), 0);
    assert_true(component_fixture_wait_counter(f, "otelcol_exporter_sent_spans", 3));
    pthread_mutex_lock(&b->lock);
    assert_string_equal(b->method, TRACES_EXPORT);
    assert_string_equal(b->encoding, "gzip"); /* compression: gzip by default */
    assert_string_equal(b->tenant, "tenant-a");
    if (strncmp(b->user_agent, exporterhelper_user_agent(), strlen(exporterhelper_user_agent())))
        fail_msg("user-agent \"%s\"", b->user_agent);
    /* timeout: 5s per attempt, sent as grpc-timeout */
    if (b->deadline_left_ms < 3000 || b->deadline_left_ms > 5100) /* grpc-timeout rounds up */
        fail_msg("deadline %lld ms away, expected about 5000", (long long)b->deadline_left_ms);
    assert_int_equal(b->delivered_items, 3);
    pthread_mutex_unlock(&b->lock);
    component_fixture_free(f);

    f = fixture_start(b, "\"compression\": \"none\"");
    assert_int_equal(component_fixture_consume_spans(f, 1, &err), 0);
    assert_true(component_fixture_wait_counter(f, "otelcol_exporter_sent_spans", 1));
    pthread_mutex_lock(&b->lock);
    assert_string_equal(b->encoding, "");
    pthread_mutex_unlock(&b->lock);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_slow_backend_hits_the_per_attempt_timeout_and_is_retried(void **state)
{
    struct backend *b = backend_new();
    b->script[0].code = GRPC_CODE_OK;
    b->script[0].delay_ms = 1500; /* past the 200ms deadline: DeadlineExceeded, retryable */
    b->script[1].code = GRPC_CODE_OK;
    b->script_len = 2;
    backend_listen(b);
    struct component_fixture *f = fixture_start(b, "\"timeout\": \"200ms\", " TEST_FAST_RETRY);
    struct error err = {0};
    assert_int_equal(component_fixture_consume_spans(f, 2, &err), 0);
    assert_true(component_fixture_wait_counter(f, "otelcol_exporter_sent_spans", 2));
    assert_true(backend_requests(b) >= 2);
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_send_failed_spans"), 0);
    component_fixture_free(f);
    backend_stop(b);
}

static void test_partial_success_is_neither_retried_nor_failed(void **state)
{
    uint8_t body[128];
    size_t len = test_partial_success_response(body, sizeof(body));
    struct backend *b = backend_new();
    b->script[0] = (struct answer){.code = GRPC_CODE_OK, .body = body, .body_len = len};
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

static void test_unreachable_backend_is_retried_until_shutdown(void **state)
{
    struct backend *b = backend_listen(backend_new());
    int port = grpcd_port(b->server);
    grpcd_stop(b->server); /* nothing listens there any more: Unavailable, retryable */
    b->server = NULL;
    struct component_fixture *f = exporter_start(port, TEST_FAST_RETRY);
    struct error err = {0};
    assert_int_equal(component_fixture_consume_spans(f, 6, &err), 0);
    long long started = monotonic_ms();
    component_fixture_shutdown(f, 500);
    if (monotonic_ms() - started > 5000)
        fail_msg("shutdown took %lld ms with a 500 ms deadline", monotonic_ms() - started);
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_send_failed_spans"), 6);
    assert_int_equal(component_fixture_counter(f, "otelcol_exporter_sent_spans"), 0);
    component_fixture_free(f);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static void test_status_details_give_retry_info_and_its_delay(void **state)
{
    struct grpcd_response resp = {.code = GRPC_CODE_RESOURCE_EXHAUSTED};
    snprintf(resp.message, sizeof(resp.message), "RATE_LIMITED");
    set_retry_info(&resp, 2500000000LL);
    bool has = false;
    int64_t delay = 0;
    assert_int_equal(
        otlpgrpc_parse_status_details(resp.status_details, resp.status_details_len, &has, &delay),
        0);
    assert_true(has);
    assert_int_equal(delay, 2500000000LL);
    free(resp.status_details);
    /* a Status without details, and bytes that are no Status */
    Google__Rpc__Status plain = GOOGLE__RPC__STATUS__INIT;
    plain.code = 8;
    plain.message = "x";
    uint8_t bytes[32];
    size_t len = google__rpc__status__pack(&plain, bytes);
    assert_int_equal(otlpgrpc_parse_status_details(bytes, len, &has, &delay), 0);
    assert_false(has);
    assert_int_equal(otlpgrpc_parse_status_details((const uint8_t *)"\xff\xff", 2, &has, &delay),
                     -EINVAL);
    assert_false(has);
    char buf[16];
    assert_string_equal(otlpgrpc_go_code_name(8, buf, sizeof(buf)), "ResourceExhausted");
    assert_string_equal(otlpgrpc_go_code_name(1, buf, sizeof(buf)), "Canceled");
    assert_string_equal(otlpgrpc_go_code_name(20, buf, sizeof(buf)), "Code(20)");
}

static void test_config_validation_messages(void **state)
{
    static const struct {
        const char *config;
        const char *message; /* NULL = valid */
    } cases[] = {
        {"{\"endpoint\": \"tempo.tempo.svc:4317\", \"tls\": {\"insecure\": true}}", NULL},
        {"{\"endpoint\": \"dns:///tempo:4317\"}", NULL},
        {"{\"endpoint\": \"dns://tempo:4317\"}", NULL},
        {"{\"endpoint\": \"unix:///run/tempo.sock\"}", NULL},
        {"{\"endpoint\": \"https://tempo:443\"}", NULL},
        {"{\"endpoint\": \"[::1]:4317\"}", NULL},
        {"{\"endpoint\": \"tempo:4317\", \"keepalive\": {\"time\": \"30s\"}, \"wait_for_ready\": "
         "true, \"balancer_name\": \"round_robin\"}",
         NULL},
        {"{}", "requires a non-empty \"endpoint\""},
        {"{\"endpoint\": \"http://\"}", "requires a non-empty \"endpoint\""},
        {"{\"endpoint\": \"unix://\"}", "unix socket path cannot be empty"},
        {"{\"endpoint\": \"tempo\"}", "address tempo: missing port in address"},
        {"{\"endpoint\": \"tempo:abc\"}", "invalid port \"abc\""},
        {"{\"endpoint\": \"tempo:\"}", "invalid port \"\""},
        {"{\"endpoint\": \"a:b:4317\"}", "address a:b:4317: too many colons in address"},
        {"{\"endpoint\": \"[::1:4317\"}", "address [::1:4317: missing ']' in address"},
        {"{\"endpoint\": \"t:1\", \"balancer_name\": \"magic\"}", "invalid balancer_name: magic"},
        {"{\"endpoint\": \"t:1\", \"compression\": \"zlib\"}",
         "unsupported compression type \"zlib\""},
        {"{\"endpoint\": \"t:1\", \"compression\": \"zstd\"}", "has no zstd"},
        {"{\"endpoint\": \"t:1\", \"auth\": {\"authenticator\": \"oauth2client\"}}",
         "auth: authenticator extensions are not supported"},
        {"{\"endpoint\": \"t:1\", \"tls\": {\"insecure_skip_verify\": true}}",
         "tls.insecure_skip_verify is not supported"},
        {"{\"endpoint\": \"t:1\", \"retry_on_failure\": {\"multiplier\": -1}}",
         "retry_on_failure: 'multiplier' must be non-negative"},
        {"{\"endpoint\": \"t:1\", \"sending_queue\": {\"num_consumers\": 0}}",
         "sending_queue: `num_consumers` must be positive"},
        {"{\"endpoint\": \"t:1\", \"headers\": {\"a\": {\"b\": 1}}}",
         "headers: value of \"a\" must be a string"},
        {"{\"endpoint\": \"t:1\", \"compression_params\": {\"level\": 1}}",
         "unknown key \"compression_params\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        component_config_expect(&otlp_grpc_exporter_descriptor, "otlp/tempo", cases[i].config,
                                cases[i].message);
    assert_string_equal(otlp_grpc_exporter_descriptor.type, "otlp_grpc");
    assert_string_equal(otlp_grpc_exporter_descriptor.deprecated_alias, "otlp");
    bool via_alias = false;
    assert_ptr_equal(component_find(KIND_EXPORTER, "otlp", &via_alias),
                     &otlp_grpc_exporter_descriptor);
    assert_true(via_alias);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unavailable_then_ok_delivers_once),
        cmocka_unit_test(test_invalid_argument_is_dropped_at_once_and_counted),
        cmocka_unit_test(test_permanent_error_text_without_queue),
        cmocka_unit_test(test_resource_exhausted_without_retry_info_is_dropped),
        cmocka_unit_test(test_resource_exhausted_with_retry_info_waits_its_delay),
        cmocka_unit_test(test_sends_gzip_with_upstream_metadata),
        cmocka_unit_test(test_slow_backend_hits_the_per_attempt_timeout_and_is_retried),
        cmocka_unit_test(test_partial_success_is_neither_retried_nor_failed),
        cmocka_unit_test(test_unreachable_backend_is_retried_until_shutdown),
        cmocka_unit_test(test_status_details_give_retry_info_and_its_delay),
        cmocka_unit_test(test_config_validation_messages),
    };
    return cmocka_run_group_tests(tests, grpc_group_setup, grpc_group_teardown);
}
