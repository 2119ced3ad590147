/*
 * test_tempo_grpc.c - the fake Tempo's gRPC front (tempo_grpc.h) end to end: every fake started
 * in-process on ephemeral ports, called over real HTTP/2 with common/grpcc (the client the
 * collector's otlp exporter and the harness use), faults set through the control API as a
 * harness sets them. Covers Tempo's own answers (pipeline.md §9: 0a 00 on success, Tempo's
 * words for bad ids), grpc-go's (unknown methods, undecodable messages, the 4 MiB limit), the
 * gRPC forms of faults (status, RATE_LIMITED with and without RetryInfo, HTTP faults answered in
 * kind, reset, stall) and the shared view and request log.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "control.h"
#include "fakes.h"
#include "fault.h"
#include "grpc_group.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "grpcc.h"
#include "helpers.h"
#include "log.h"
#include "poll_until.h"
#include "tempo_grpc.h"

#define TRACE_A "0102030405060708090a0b0c0d0e0f10"
#define CALL_TIMEOUT_MS 30000

struct ctx {
    struct fakes *fakes;
    struct grpcc *client;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    struct fakes_config cfg = {.prometheus_otlp_enabled = true};
    struct error err = {0};
    if (!c)
        return -1;
    c->fakes = fakes_new(&cfg, &err);
    if (!c->fakes || fakes_listen(c->fakes, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.message);
        goto fail;
    }
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", fakes_port(c->fakes, "tempo_grpc"));
    struct grpcc_options opts = {.insecure = true};
    c->client = grpcc_new(target, &opts, &err);
    if (!c->client) {
        fprintf(stderr, "setup: %s\n", err.message);
        goto fail;
    }
    *state = c;
    return 0;
fail:
    fakes_free(c->fakes);
    free(c);
    return -1;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    if (!c)
        return 0;
    grpcc_free(c->client);
    fakes_free(c->fakes);
    free(c);
    return 0;
}

/* ---- requests ---- */

static uint8_t *traces_request(const char *trace_id, const char *span_id, size_t *len)
{
    char *json = format_text(
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"checkout\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":"
        "\"lib\"},\"spans\":[{\"traceId\":\"%s\",\"spanId\":\"%s\",\"name\":\"GET /\","
        "\"kind\":2,\"startTimeUnixNano\":\"1000\",\"endTimeUnixNano\":\"2000\"},"
        "{\"traceId\":\"%s\",\"spanId\":\"1112131415161718\",\"parentSpanId\":\"%s\","
        "\"name\":\"SELECT\",\"kind\":3,\"startTimeUnixNano\":\"1100\","
        "\"endTimeUnixNano\":\"1900\"}]}]}]}",
        trace_id, span_id, trace_id, span_id);
    uint8_t *bytes = proto_from_json(SIGNAL_TRACES, json, len);
    free(json);
    return bytes;
}

static void call(struct grpcc *client, const char *method, const uint8_t *msg, size_t len,
                 struct grpcc_result *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(grpcc_unary(client, method, msg, len, CALL_TIMEOUT_MS, r), 0);
}

static void export_good(struct ctx *c, struct grpcc_result *r)
{
    size_t len;
    uint8_t *msg = traces_request(TRACE_A, "0102030405060708", &len);
    call(c->client, TEMPO_GRPC_EXPORT_METHOD, msg, len, r);
    free(msg);
}

/* ---- the control API, called in-process ---- */

static json_t *control(struct ctx *c, const char *method, const char *path, const char *body)
{
    struct control_request req = {.method = method,
                                  .path = path,
                                  .body = (const uint8_t *)body,
                                  .body_len = body ? strlen(body) : 0};
    struct http_response resp = {.status = 200};
    control_dispatch(c->fakes, &req, &resp);
    json_t *j = json_loadb((const char *)resp.body, resp.body_len, 0, NULL);
    if (!j || resp.status != 200)
        fail_msg("control %s %s answered %d: %.*s", method, path, resp.status, (int)resp.body_len,
                 resp.body ? (const char *)resp.body : "");
    free(resp.body);
    return j;
}

static void put_fault(struct ctx *c, const char *json)
{
    json_decref(control(c, "PUT", "/v1/faults/tempo", json));
}

/* The request log's last entry (caller owns). */
static json_t *last_request(struct ctx *c)
{
    json_t *log = control(c, "GET", "/v1/requests/tempo", NULL);
    json_t *list = json_object_get(log, "requests");
    assert_true(json_array_size(list) > 0);
    json_t *last = json_incref(json_array_get(list, json_array_size(list) - 1));
    json_decref(log);
    return last;
}

static size_t stored_spans(struct ctx *c)
{
    json_t *view = control(c, "GET", "/v1/received/tempo", NULL);
    size_t n = 0;
    json_t *traces = json_object_get(view, "traces");
    for (size_t i = 0; i < json_array_size(traces); i++)
        n += json_array_size(json_object_get(json_array_get(traces, i), "spans"));
    json_decref(view);
    return n;
}

/* ---- success ---- */

static void test_export_is_stored_and_answered_like_tempo(void **state)
{
    struct ctx *c = *state;
    struct grpcc_result r;
    export_good(c, &r);
    assert_int_equal(r.code, GRPC_CODE_OK);
    /* ExportTraceServiceResponse with the empty partial_success field pdata always writes. */
    assert_int_equal(r.body_len, 2);
    assert_memory_equal(r.body, "\x0a\x00", 2);
    assert_null(r.status_details);
    grpcc_result_release(&r);

    json_t *view = control(c, "GET", "/v1/received/tempo", NULL);
    json_t *trace = json_array_get(json_object_get(view, "traces"), 0);
    assert_string_equal(json_string_value(json_object_get(trace, "trace_id")), TRACE_A);
    json_t *spans = json_object_get(trace, "spans");
    assert_int_equal(json_array_size(spans), 2);
    json_t *child = json_array_get(spans, 1);
    assert_string_equal(json_string_value(json_object_get(child, "parent_span_id")),
                        "0102030405060708");
    assert_string_equal(json_string_value(json_object_get(child, "service_name")), "checkout");
    json_decref(view);

    json_t *entry = last_request(c);
    assert_string_equal(json_string_value(json_object_get(entry, "transport")), "grpc");
    assert_string_equal(json_string_value(json_object_get(entry, "grpc_status")), "OK");
    assert_string_equal(json_string_value(json_object_get(entry, "path")),
                        TEMPO_GRPC_EXPORT_METHOD);
    assert_int_equal(json_integer_value(json_object_get(entry, "status")), 200);
    assert_int_equal(json_integer_value(json_object_get(entry, "items")), 2);
    assert_false(json_is_true(json_object_get(entry, "fault")));
    json_decref(entry);

    json_t *stats = control(c, "GET", "/v1/stats", NULL);
    json_t *tempo = json_object_get(stats, "tempo");
    assert_int_equal(json_integer_value(json_object_get(tempo, "accepted_requests")), 1);
    assert_int_equal(json_integer_value(json_object_get(tempo, "items")), 2);
    json_decref(stats);
}

static void test_gzip_request_is_decompressed_and_logged(void **state)
{
    struct ctx *c = *state;
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", fakes_port(c->fakes, "tempo_grpc"));
    struct grpcc_options opts = {.insecure = true, .compression = "gzip"};
    struct grpcc *gz = grpcc_new(target, &opts, NULL);
    assert_non_null(gz);
    size_t len;
    uint8_t *msg = traces_request(TRACE_A, "0102030405060708", &len);
    struct grpcc_result r;
    call(gz, TEMPO_GRPC_EXPORT_METHOD, msg, len, &r);
    assert_int_equal(r.code, GRPC_CODE_OK);
    grpcc_result_release(&r);
    free(msg);
    grpcc_free(gz);
    json_t *entry = last_request(c);
    assert_string_equal(json_string_value(json_object_get(entry, "content_encoding")), "gzip");
    json_decref(entry);
    assert_int_equal(stored_spans(c), 2);
}

static void test_empty_request_succeeds_without_storing(void **state)
{
    struct ctx *c = *state;
    struct grpcc_result r;
    call(c->client, TEMPO_GRPC_EXPORT_METHOD, NULL, 0, &r);
    assert_int_equal(r.code, GRPC_CODE_OK);
    grpcc_result_release(&r);
    assert_int_equal(stored_spans(c), 0);
}

/* ---- Tempo's and grpc-go's errors ---- */

static void test_zero_span_id_is_invalid_argument_in_tempo_words(void **state)
{
    struct ctx *c = *state;
    size_t len;
    uint8_t *msg = traces_request(TRACE_A, "0000000000000000", &len);
    struct grpcc_result r;
    call(c->client, TEMPO_GRPC_EXPORT_METHOD, msg, len, &r);
    free(msg);
    assert_int_equal(r.code, GRPC_CODE_INVALID_ARGUMENT);
    /* The prefix only: real Tempo says "received 0 bits" here (pdata empties an all-zero id
     * first; file comment of tempo_grpc.c), the fake counts the bytes that arrived. */
    assert_non_null(strstr(r.message, "span ids must be 64 bit and not all zero, received "));
    grpcc_result_release(&r);
    assert_int_equal(stored_spans(c), 0); /* nothing of the request is stored */
    json_t *entry = last_request(c);
    assert_string_equal(json_string_value(json_object_get(entry, "grpc_status")),
                        "INVALID_ARGUMENT");
    json_decref(entry);
}

static void test_empty_trace_id_is_invalid_argument(void **state)
{
    struct ctx *c = *state;
    size_t len;
    uint8_t *msg = traces_request("", "0102030405060708", &len);
    struct grpcc_result r;
    call(c->client, TEMPO_GRPC_EXPORT_METHOD, msg, len, &r);
    free(msg);
    assert_int_equal(r.code, GRPC_CODE_INVALID_ARGUMENT);
    assert_string_equal(r.message, "trace ids must be 128 bit, received 0 bits");
    grpcc_result_release(&r);
}

static void test_garbage_message_is_internal_unmarshal_error(void **state)
{
    struct ctx *c = *state;
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    struct grpcc_result r;
    call(c->client, TEMPO_GRPC_EXPORT_METHOD, garbage, sizeof(garbage), &r);
    assert_int_equal(r.code, GRPC_CODE_INTERNAL);
    assert_non_null(strstr(r.message, "grpc: error unmarshalling request: "));
    grpcc_result_release(&r);
    assert_int_equal(stored_spans(c), 0);
}

static void test_unknown_methods_are_unimplemented_in_grpc_go_words(void **state)
{
    struct ctx *c = *state;
    static const struct {
        const char *method;
        const char *message;
    } cases[] = {
        {"/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
         "unknown service opentelemetry.proto.collector.metrics.v1.MetricsService"},
        {"/opentelemetry.proto.collector.trace.v1.TraceService/Push",
         "unknown method Push for service opentelemetry.proto.collector.trace.v1.TraceService"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct grpcc_result r;
        call(c->client, cases[i].method, NULL, 0, &r);
        assert_int_equal(r.code, GRPC_CODE_UNIMPLEMENTED);
        assert_string_equal(r.message, cases[i].message);
        grpcc_result_release(&r);
    }
}

static void test_message_over_4_mib_is_resource_exhausted_and_server_keeps_serving(void **state)
{
    struct ctx *c = *state;
    size_t len = 4u * 1024 * 1024 + 1;
    uint8_t *big = calloc(1, len);
    assert_non_null(big);
    struct grpcc_result r;
    call(c->client, TEMPO_GRPC_EXPORT_METHOD, big, len, &r);
    free(big);
    assert_int_equal(r.code, GRPC_CODE_RESOURCE_EXHAUSTED);
    grpcc_result_release(&r);
    export_good(c, &r);
    assert_int_equal(r.code, GRPC_CODE_OK);
    grpcc_result_release(&r);
}

/* ---- faults in gRPC terms ---- */

static void test_unavailable_fault_fires_times_then_tempo_answers(void **state)
{
    struct ctx *c = *state;
    put_fault(c, "{\"grpc_status\":\"UNAVAILABLE\",\"message\":\"ingester down\",\"times\":2}");
    for (int i = 0; i < 2; i++) {
        struct grpcc_result r;
        export_good(c, &r);
        assert_int_equal(r.code, GRPC_CODE_UNAVAILABLE);
        assert_string_equal(r.message, "ingester down");
        grpcc_result_release(&r);
    }
    assert_int_equal(stored_spans(c), 0);
    json_t *entry = last_request(c);
    assert_true(json_is_true(json_object_get(entry, "fault")));
    assert_string_equal(json_string_value(json_object_get(entry, "grpc_status")), "UNAVAILABLE");
    json_decref(entry);
    struct grpcc_result r;
    export_good(c, &r);
    assert_int_equal(r.code, GRPC_CODE_OK);
    grpcc_result_release(&r);
    assert_int_equal(stored_spans(c), 2);
    json_t *fault = control(c, "GET", "/v1/faults/tempo", NULL);
    assert_int_equal(json_integer_value(json_object_get(fault, "fired")), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(fault, "fault"), "grpc_status")),
        "UNAVAILABLE");
    json_decref(fault);
}

static void test_rate_limited_has_tempo_words_and_no_retry_info(void **state)
{
    struct ctx *c = *state;
    put_fault(c, "{\"grpc_status\":\"RESOURCE_EXHAUSTED\"}");
    size_t len;
    uint8_t *msg = traces_request(TRACE_A, "0102030405060708", &len);
    struct grpcc_result r;
    call(c->client, TEMPO_GRPC_EXPORT_METHOD, msg, len, &r);
    free(msg);
    assert_int_equal(r.code, GRPC_CODE_RESOURCE_EXHAUSTED);
    char *want =
        format_text("RATE_LIMITED: ingestion rate limit (local: 15000000 bytes/s, global: 15000000 "
                    "bytes/s, burst: 20000000 bytes) exceeded while adding %zu bytes for user "
                    "single-tenant. consider increasing the limit or reducing ingestion rate.",
                    len);
    assert_string_equal(r.message, want);
    free(want);
    /* Without RetryInfo the collector's otlp exporter drops the data (pipeline.md §6). */
    if (r.status_details) {
        Google__Rpc__Status *st =
            google__rpc__status__unpack(NULL, r.status_details_len, r.status_details);
        assert_non_null(st);
        assert_int_equal(st->n_details, 0);
        google__rpc__status__free_unpacked(st, NULL);
    }
    grpcc_result_release(&r);
}

static void test_retry_info_delay_goes_into_status_details(void **state)
{
    struct ctx *c = *state;
    put_fault(c, "{\"grpc_status\":\"RESOURCE_EXHAUSTED\",\"message\":\"RATE_LIMITED: slow "
                 "down\",\"retry_info_delay\":\"1.5s\"}");
    struct grpcc_result r;
    export_good(c, &r);
    assert_int_equal(r.code, GRPC_CODE_RESOURCE_EXHAUSTED);
    assert_string_equal(r.message, "RATE_LIMITED: slow down");
    assert_non_null(r.status_details);
    Google__Rpc__Status *st =
        google__rpc__status__unpack(NULL, r.status_details_len, r.status_details);
    assert_non_null(st);
    assert_int_equal(st->code, GRPC_CODE_RESOURCE_EXHAUSTED);
    assert_string_equal(st->message, "RATE_LIMITED: slow down");
    assert_int_equal(st->n_details, 1);
    assert_string_equal(st->details[0]->type_url, "type.googleapis.com/google.rpc.RetryInfo");
    Google__Rpc__RetryInfo *info = google__rpc__retry_info__unpack(NULL, st->details[0]->value.len,
                                                                   st->details[0]->value.data);
    assert_non_null(info);
    assert_non_null(info->retry_delay);
    assert_int_equal(info->retry_delay->seconds, 1);
    assert_int_equal(info->retry_delay->nanos, 500000000);
    google__rpc__retry_info__free_unpacked(info, NULL);
    google__rpc__status__free_unpacked(st, NULL);
    grpcc_result_release(&r);
}

static void test_http_fault_answers_grpc_in_kind(void **state)
{
    struct ctx *c = *state;
    static const struct {
        const char *fault;
        int code;
        const char *message;
    } cases[] = {
        {"{\"status\":503,\"times\":1}", GRPC_CODE_UNAVAILABLE, "Service Unavailable"},
        {"{\"status\":429,\"body\":\"slow down\",\"times\":1}", GRPC_CODE_RESOURCE_EXHAUSTED,
         "slow down"},
        {"{\"status\":400,\"times\":1}", GRPC_CODE_INVALID_ARGUMENT, "Bad Request"},
        {"{\"status\":500,\"times\":1}", GRPC_CODE_UNKNOWN, "Internal Server Error"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        put_fault(c, cases[i].fault);
        struct grpcc_result r;
        export_good(c, &r);
        assert_int_equal(r.code, cases[i].code);
        assert_string_equal(r.message, cases[i].message);
        grpcc_result_release(&r);
    }
    assert_int_equal(stored_spans(c), 0);
}

static void test_reset_fault_cancels_the_stream(void **state)
{
    struct ctx *c = *state;
    put_fault(c, "{\"reset\":true,\"times\":1}");
    struct grpcc_result r;
    export_good(c, &r);
    assert_int_not_equal(r.code, GRPC_CODE_OK);
    grpcc_result_release(&r);
    json_t *entry = last_request(c);
    assert_int_equal(json_integer_value(json_object_get(entry, "status")), 0);
    assert_true(json_is_null(json_object_get(entry, "grpc_status")));
    json_decref(entry);
    export_good(c, &r); /* the next call goes through */
    assert_int_equal(r.code, GRPC_CODE_OK);
    grpcc_result_release(&r);
}

struct background_call {
    struct ctx *c;
    struct grpcc_result r;
};

static void *export_in_background(void *arg)
{
    struct background_call *b = arg;
    export_good(b->c, &b->r);
    return NULL;
}

struct stalled_goal {
    struct ctx *c;
    long n;
};

static bool holds_stalled(void *arg)
{
    struct stalled_goal *g = arg;
    json_t *view = control(g->c, "GET", "/v1/faults/tempo", NULL);
    long stalled = (long)json_integer_value(json_object_get(view, "stalled"));
    json_decref(view);
    return stalled == g->n;
}

/* Polls the tempo fault until it holds `n` stalled calls, 10 s at most. */
static void wait_stalled(struct ctx *c, long n)
{
    struct stalled_goal goal = {c, n};
    if (!poll_until(holds_stalled, &goal, 10000))
        fail_msg("waited 10 s for %ld stalled calls", n);
}

static void test_stall_holds_the_call_until_released(void **state)
{
    struct ctx *c = *state;
    put_fault(c, "{\"stall\":true,\"times\":1}");
    struct background_call b = {.c = c};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, export_in_background, &b), 0);
    wait_stalled(c, 1);
    assert_int_equal(stored_spans(c), 0);
    json_decref(control(c, "POST", "/v1/faults/tempo/release", NULL));
    pthread_join(thread, NULL);
    assert_int_equal(b.r.code, GRPC_CODE_OK); /* a stall alone only delays */
    grpcc_result_release(&b.r);
    assert_int_equal(stored_spans(c), 2);
}

static void test_stop_releases_a_stalled_call(void **state)
{
    struct ctx *c = *state;
    put_fault(c, "{\"stall\":true,\"grpc_status\":\"UNAVAILABLE\"}");
    struct background_call b = {.c = c};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, export_in_background, &b), 0);
    wait_stalled(c, 1);
    fakes_free(c->fakes); /* must not hang */
    c->fakes = NULL;
    pthread_join(thread, NULL);
    assert_int_not_equal(b.r.code, GRPC_CODE_OK);
    grpcc_result_release(&b.r);
}

int main(void)
{
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_export_is_stored_and_answered_like_tempo, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gzip_request_is_decompressed_and_logged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_request_succeeds_without_storing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zero_span_id_is_invalid_argument_in_tempo_words, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_trace_id_is_invalid_argument, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_message_is_internal_unmarshal_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_methods_are_unimplemented_in_grpc_go_words,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_message_over_4_mib_is_resource_exhausted_and_server_keeps_serving, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_unavailable_fault_fires_times_then_tempo_answers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limited_has_tempo_words_and_no_retry_info, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_info_delay_goes_into_status_details, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_fault_answers_grpc_in_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_fault_cancels_the_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stall_holds_the_call_until_released, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_releases_a_stalled_call, setup, teardown),
    };
    return cmocka_run_group_tests(tests, grpc_group_setup, grpc_group_teardown);
}
