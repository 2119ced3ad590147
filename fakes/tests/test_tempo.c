/*
 * test_tempo.c - fake Tempo's OTLP/HTTP ingest (pipeline.md §9, receivers.md §1): the
 * receiver's answers, Tempo's id errors, the traces view and its ordering.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "helpers.h"
#include "tempo.h"

typedef Opentelemetry__Proto__Trace__V1__Span otlp_span;

#define TRACE_A "0102030405060708090a0b0c0d0e0f10"
#define TRACE_B "ff02030405060708090a0b0c0d0e0f10"

static char *span_json(const char *trace_id, const char *span_id, const char *name, long long start)
{
    return format_text("{\"traceId\":\"%s\",\"spanId\":\"%s\",\"name\":\"%s\",\"kind\":2,"
                       "\"startTimeUnixNano\":\"%lld\",\"endTimeUnixNano\":\"%lld\"}",
                       trace_id, span_id, name, start, start + 10);
}

static char *request_with(const char *spans)
{
    return format_text("{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
                       "\"service.name\",\"value\":{\"stringValue\":\"checkout\"}}]},"
                       "\"scopeSpans\":[{\"scope\":{\"name\":\"lib\",\"version\":\"2\"},"
                       "\"spans\":[%s]}]}]}",
                       spans);
}

struct answer {
    struct http_response resp;
    size_t items;
};

static void post(struct tempo *t, const char *content_type, const void *body, size_t len,
                 struct answer *a)
{
    struct tempo_http_request req = {.method = "POST",
                                     .path = "/v1/traces",
                                     .content_type = content_type,
                                     .body = body,
                                     .body_len = len};
    memset(a, 0, sizeof(*a));
    a->resp.status = 200;
    tempo_http_export(t, &req, &a->resp, &a->items);
}

static void post_json(struct tempo *t, const char *json, struct answer *a)
{
    post(t, "application/json", json, strlen(json), a);
}

static void test_json_success_body(void **state)
{
    struct tempo *t = tempo_new();
    char *span = span_json(TRACE_A, "0102030405060708", "GET /", 100);
    char *json = request_with(span);
    struct answer a;
    post_json(t, json, &a);
    assert_int_equal(a.resp.status, 200);
    assert_int_equal(a.items, 1);
    assert_string_equal(a.resp.content_type, "application/json");
    char *text = body_text(&a.resp);
    assert_string_equal(text, "{\"partialSuccess\":{}}");
    free(text);
    response_clear(&a.resp);
    free(json);
    free(span);
    tempo_free(t);
}

static void test_protobuf_success_body_is_0a00(void **state)
{
    struct tempo *t = tempo_new();
    char *span = span_json(TRACE_A, "0102030405060708", "GET /", 100);
    char *json = request_with(span);
    size_t len;
    uint8_t *pb = proto_from_json(SIGNAL_TRACES, json, &len);
    struct answer a;
    post(t, "application/x-protobuf; charset=utf-8", pb, len, &a);
    assert_int_equal(a.resp.status, 200);
    assert_string_equal(a.resp.content_type, "application/x-protobuf");
    assert_int_equal(a.resp.body_len, 2);
    assert_int_equal(a.resp.body[0], 0x0a);
    assert_int_equal(a.resp.body[1], 0x00);
    response_clear(&a.resp);
    free(pb);
    free(json);
    free(span);
    tempo_free(t);
}

static void test_empty_request_succeeds_and_stores_nothing(void **state)
{
    struct tempo *t = tempo_new();
    struct answer a;
    post_json(t, "{}", &a);
    assert_int_equal(a.resp.status, 200);
    assert_int_equal(a.items, 0);
    response_clear(&a.resp);
    json_t *view = tempo_view(t);
    assert_int_equal(json_array_size(json_object_get(view, "traces")), 0);
    json_decref(view);
    tempo_free(t);
}

static void test_missing_trace_id_is_invalid_argument(void **state)
{
    struct tempo *t = tempo_new();
    struct answer a;
    post_json(t,
              "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"x\","
              "\"spanId\":\"0102030405060708\"}]}]}]}",
              &a);
    assert_int_equal(a.resp.status, 400);
    char *text = body_text(&a.resp);
    assert_string_equal(text, "{\"code\":3,\"message\":\"trace ids must be 128 bit, received 0 "
                              "bits\"}");
    free(text);
    response_clear(&a.resp);
    tempo_free(t);
}

static void test_zero_span_id_is_invalid_argument_in_protobuf(void **state)
{
    struct tempo *t = tempo_new();
    char *good = span_json(TRACE_A, "0102030405060708", "ok", 1);
    char *bad = span_json(TRACE_A, "0000000000000000", "zero", 2);
    char *spans = format_text("%s,%s", good, bad);
    char *json = request_with(spans);
    size_t len;
    uint8_t *pb = proto_from_json(SIGNAL_TRACES, json, &len);
    struct answer a;
    post(t, "application/x-protobuf", pb, len, &a);
    assert_int_equal(a.resp.status, 400);
    int code;
    char *message = rpc_status_message(&a.resp, &code);
    assert_int_equal(code, 3);
    assert_string_equal(message, "span ids must be 64 bit and not all zero, received 64 bits");
    free(message);
    response_clear(&a.resp);
    /* the whole request failed: the good span was not stored either */
    json_t *view = tempo_view(t);
    assert_int_equal(json_array_size(json_object_get(view, "traces")), 0);
    json_decref(view);
    free(pb);
    free(json);
    free(spans);
    free(good);
    free(bad);
    tempo_free(t);
}

static void test_ingest_reports_invalid_argument(void **state)
{
    struct tempo *t = tempo_new();
    struct payload *p = payload_from_json(
        SIGNAL_TRACES, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"x\"}]}]}]}");
    struct error err = {0};
    size_t n = 99;
    assert_int_equal(tempo_ingest(t, p, &n, &err), -EINVAL);
    assert_int_equal(n, 0);
    assert_string_equal(err.message, "trace ids must be 128 bit, received 0 bits");
    tempo_free(t);
}

static void test_receiver_errors_404_405_415(void **state)
{
    struct tempo *t = tempo_new();
    struct tempo_http_request req = {
        .method = "POST", .path = "/v1/traces/", .content_type = "application/json"};
    struct http_response resp = {.status = 200};
    size_t items;
    tempo_http_export(t, &req, &resp, &items);
    assert_int_equal(resp.status, 404);
    char *text = body_text(&resp);
    assert_string_equal(text, "404 page not found\n");
    free(text);
    response_clear(&resp);

    req.path = "/v1/traces";
    req.method = "PUT";
    tempo_http_export(t, &req, &resp, &items);
    assert_int_equal(resp.status, 405);
    text = body_text(&resp);
    assert_string_equal(text, "405 method not allowed, supported: [POST]");
    free(text);
    response_clear(&resp);

    req.method = "POST";
    const char *bad_types[] = {"application/protobuf", "text/plain", NULL};
    for (size_t i = 0; i < 3; i++) {
        req.content_type = bad_types[i];
        tempo_http_export(t, &req, &resp, &items);
        assert_int_equal(resp.status, 415);
        assert_string_equal(resp.content_type, "text/plain");
        text = body_text(&resp);
        assert_string_equal(text, "415 unsupported media type, supported: [application/json, "
                                  "application/x-protobuf]");
        free(text);
        response_clear(&resp);
    }
    tempo_free(t);
}

static void test_unknown_encoding_answered_in_request_encoding(void **state)
{
    struct tempo *t = tempo_new();
    struct tempo_http_request req = {.method = "POST",
                                     .path = "/v1/traces",
                                     .content_type = "application/json",
                                     .content_encoding = "identity"};
    struct http_response resp = {.status = 200};
    size_t items;
    tempo_http_export(t, &req, &resp, &items);
    assert_int_equal(resp.status, 400);
    char *text = body_text(&resp);
    assert_string_equal(text,
                        "{\"code\":3,\"message\":\"unsupported Content-Encoding: identity\"}");
    free(text);
    response_clear(&resp);
    /* A content type the error handler cannot write in: the fixed 500. */
    req.content_type = "text/csv";
    tempo_http_export(t, &req, &resp, &items);
    assert_int_equal(resp.status, 500);
    text = body_text(&resp);
    assert_string_equal(text, "{\"code\": 13, \"message\": \"failed to marshal error message\"}");
    free(text);
    response_clear(&resp);
    tempo_free(t);
}

static void test_view_sorts_traces_and_spans(void **state)
{
    struct tempo *t = tempo_new();
    char *s1 = span_json(TRACE_B, "0000000000000002", "late", 300);
    char *s2 = span_json(TRACE_A, "0000000000000009", "same-start-high-id", 100);
    char *s3 = span_json(TRACE_A, "0000000000000003", "same-start-low-id", 100);
    char *s4 = span_json(TRACE_A, "0000000000000001", "earliest", 50);
    char *spans = format_text("%s,%s,%s,%s", s1, s2, s3, s4);
    char *json = request_with(spans);
    struct answer a;
    post_json(t, json, &a);
    assert_int_equal(a.resp.status, 200);
    assert_int_equal(a.items, 4);
    response_clear(&a.resp);
    json_t *view = tempo_view(t);
    json_t *traces = json_object_get(view, "traces");
    assert_int_equal(json_array_size(traces), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(traces, 0), "trace_id")),
                        TRACE_A);
    json_t *spans_a = json_object_get(json_array_get(traces, 0), "spans");
    const char *want[] = {"earliest", "same-start-low-id", "same-start-high-id"};
    assert_int_equal(json_array_size(spans_a), 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(spans_a, i), "name")),
                            want[i]);
    json_decref(view);
    free(json);
    free(spans);
    free(s1);
    free(s2);
    free(s3);
    free(s4);
    tempo_free(t);
}

static void test_view_span_fields(void **state)
{
    struct tempo *t = tempo_new();
    const char *json =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"api\"}},{\"key\":\"k8s.pod.name\",\"value\":"
        "{\"stringValue\":\"p\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"lib\",\"version\":"
        "\"2\"},\"spans\":[{\"traceId\":\"" TRACE_A "\",\"spanId\":\"0102030405060708\","
        "\"parentSpanId\":\"1112131415161718\",\"name\":\"GET /x\",\"kind\":3,"
        "\"startTimeUnixNano\":\"1000\",\"endTimeUnixNano\":\"2000\",\"attributes\":["
        "{\"key\":\"http.status_code\",\"value\":{\"intValue\":\"200\"}},"
        "{\"key\":\"ratio\",\"value\":{\"doubleValue\":0.5}},"
        "{\"key\":\"ok\",\"value\":{\"boolValue\":true}}],"
        "\"events\":[{\"timeUnixNano\":\"1500\",\"name\":\"retry\"}],"
        "\"links\":[{\"traceId\":\"" TRACE_B "\",\"spanId\":\"2122232425262728\"}],"
        "\"status\":{\"code\":2,\"message\":\"boom\"}}]}]}]}";
    struct answer a;
    post_json(t, json, &a);
    assert_int_equal(a.resp.status, 200);
    response_clear(&a.resp);
    json_t *view = tempo_view(t);
    json_t *span = json_array_get(
        json_object_get(json_array_get(json_object_get(view, "traces"), 0), "spans"), 0);
    char *text = json_dumps(span, JSON_COMPACT);
    assert_string_equal(
        text,
        "{\"span_id\":\"0102030405060708\",\"parent_span_id\":\"1112131415161718\","
        "\"service_name\":\"api\",\"name\":\"GET /x\",\"kind\":\"SPAN_KIND_CLIENT\","
        "\"trace_state\":\"\",\"status\":{\"code\":\"STATUS_CODE_ERROR\",\"message\":\"boom\"},"
        "\"start_time_unix_nano\":\"1000\",\"end_time_unix_nano\":\"2000\",\"attributes\":"
        "{\"http.status_code\":200,\"ratio\":0.5,\"ok\":true},\"resource_attributes\":"
        "{\"service.name\":\"api\",\"k8s.pod.name\":\"p\"},\"scope\":{\"name\":\"lib\","
        "\"version\":\"2\"},\"events\":[{\"time_unix_nano\":\"1500\",\"name\":\"retry\","
        "\"attributes\":{}}],\"links\":[{\"trace_id\":\"" TRACE_B "\",\"span_id\":"
        "\"2122232425262728\",\"trace_state\":\"\",\"attributes\":{}}]}");
    free(text);
    json_decref(view);
    tempo_free(t);
}

static void test_duplicate_span_shown_once(void **state)
{
    struct tempo *t = tempo_new();
    char *span = span_json(TRACE_A, "0102030405060708", "dup", 100);
    char *json = request_with(span);
    for (int i = 0; i < 2; i++) {
        struct answer a;
        post_json(t, json, &a);
        assert_int_equal(a.resp.status, 200);
        response_clear(&a.resp);
    }
    json_t *view = tempo_view(t);
    json_t *spans = json_object_get(json_array_get(json_object_get(view, "traces"), 0), "spans");
    assert_int_equal(json_array_size(spans), 1);
    json_decref(view);
    json_t *otlp = tempo_view_otlp(t);
    assert_int_equal(json_array_size(otlp), 2); /* both requests were received */
    json_decref(otlp);
    free(json);
    free(span);
    tempo_free(t);
}

static void test_refuse_maps_status_to_grpc_code(void **state)
{
    struct tempo *t = tempo_new();
    struct tempo_http_request req = {
        .method = "POST", .path = "/v1/traces", .content_type = "application/json"};
    struct http_response resp = {.status = 200};
    tempo_refuse(t, &req, &resp, 503, NULL);
    assert_int_equal(resp.status, 503);
    char *text = body_text(&resp);
    assert_string_equal(text, "{\"code\":14,\"message\":\"Service Unavailable\"}");
    free(text);
    response_clear(&resp);
    req.content_type = "application/x-protobuf";
    tempo_refuse(t, &req, &resp, 429, "slow down");
    assert_int_equal(resp.status, 429);
    int code;
    char *message = rpc_status_message(&resp, &code);
    assert_int_equal(code, 8);
    assert_string_equal(message, "slow down");
    free(message);
    response_clear(&resp);
    tempo_free(t);
}

static void test_reset_forgets_everything(void **state)
{
    struct tempo *t = tempo_new();
    char *span = span_json(TRACE_A, "0102030405060708", "x", 1);
    char *json = request_with(span);
    struct answer a;
    post_json(t, json, &a);
    response_clear(&a.resp);
    tempo_reset(t);
    json_t *view = tempo_view(t);
    assert_int_equal(json_array_size(json_object_get(view, "traces")), 0);
    json_decref(view);
    json_t *otlp = tempo_view_otlp(t);
    assert_int_equal(json_array_size(otlp), 0);
    json_decref(otlp);
    free(json);
    free(span);
    tempo_free(t);
}

/* A protobuf request taken from its bytes (tempo_ingest_wire, one checked walk) is stored as
 * the full path stores it: the same count and the same view, over several resources, scopes and
 * spans in wire order; and what the walk does not take (a bad id) it leaves to the full path. */
static void test_wire_ingest_equals_the_full_path(void **state)
{
    (void)state;
    char *a = span_json(TRACE_A, "0102030405060708", "a", 300);
    char *b = span_json(TRACE_B, "1112131415161718", "b", 100);
    char *c = span_json(TRACE_A, "2122232425262728", "c", 200);
    char *json = format_text(
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"one\"}}]},\"scopeSpans\":[{\"spans\":[%s,%s]},"
        "{\"scope\":{\"name\":\"lib\"},\"spans\":[%s]}]},{\"resource\":{\"attributes\":["
        "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"two\"}}]},\"scopeSpans\":[{"
        "\"spans\":[%s]}]}]}",
        a, b, c, a);
    size_t len;
    uint8_t *pb = proto_from_json(SIGNAL_TRACES, json, &len);
    struct tempo *wire = tempo_new(), *full = tempo_new();
    struct error err = {0};
    size_t wire_spans = 0, full_spans = 0;
    assert_int_equal(tempo_ingest_wire(wire, pb, len, &wire_spans, &err), 0);
    struct payload *payload = NULL;
    assert_int_equal(payload_decode(SIGNAL_TRACES, pb, len, &payload, NULL), 0);
    assert_int_equal(tempo_ingest_protobuf(full, payload, pb, len, &full_spans, &err), 0);
    assert_int_equal(wire_spans, 4);
    assert_int_equal(full_spans, 4);
    json_t *wire_view = tempo_view(wire), *full_view = tempo_view(full);
    assert_true(json_equal(wire_view, full_view));
    json_decref(wire_view);
    json_decref(full_view);

    /* A zero span id: the walk leaves it to the full path, which words the error. */
    char *zero = span_json(TRACE_A, "0000000000000000", "z", 1);
    char *bad = request_with(zero);
    uint8_t *bad_pb = proto_from_json(SIGNAL_TRACES, bad, &len);
    assert_int_equal(tempo_ingest_wire(wire, bad_pb, len, &wire_spans, &err), -EAGAIN);
    assert_int_equal(wire_spans, 0);
    free(bad_pb);
    free(bad);
    free(zero);
    tempo_free(wire);
    tempo_free(full);
    free(pb);
    free(json);
    free(a);
    free(b);
    free(c);
}

/* Bad input never crashes: mutated protobuf and JSON bodies get an answer, never a crash. */
static void test_mutated_bodies_always_get_an_answer(void **state)
{
    struct tempo *t = tempo_new();
    const char *json =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"api\"}}]},\"scopeSpans\":[{\"spans\":[{\"traceId\":"
        "\"" TRACE_A "\",\"spanId\":\"0102030405060708\",\"name\":\"x\",\"events\":[{"
        "\"name\":\"e\"}],\"links\":[{\"traceId\":\"" TRACE_B "\",\"spanId\":"
        "\"2122232425262728\"}],\"status\":{\"code\":2}}]}]}]}";
    size_t len;
    uint8_t *pb = proto_from_json(SIGNAL_TRACES, json, &len);
    uint8_t *buf = malloc(len);
    size_t json_len = strlen(json);
    char *jbuf = malloc(json_len + 1);
    uint32_t seed = 777;
    for (int round = 0; round < 400; round++) {
        memcpy(buf, pb, len);
        memcpy(jbuf, json, json_len + 1);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[(seed >> 8) % len] = (uint8_t)(seed >> 16);
            jbuf[(seed >> 4) % json_len] = (char)(0x20 + ((seed >> 20) % 0x5f));
        }
        struct answer a;
        post(t, "application/x-protobuf", buf, round % 2 ? (seed >> 3) % (len + 1) : len, &a);
        if (a.resp.status != 200 && a.resp.status != 400)
            fail_msg("protobuf round %d: status %d", round, a.resp.status);
        response_clear(&a.resp);
        post(t, "application/json", jbuf, json_len, &a);
        if (a.resp.status != 200 && a.resp.status != 400)
            fail_msg("json round %d: status %d: %.*s", round, a.resp.status, (int)a.resp.body_len,
                     (const char *)a.resp.body);
        response_clear(&a.resp);
    }
    json_t *view = tempo_view(t);
    assert_non_null(view);
    json_decref(view);
    free(jbuf);
    free(buf);
    free(pb);
    tempo_free(t);
}

/* Go's decoder does not check UTF-8, so neither does the fake: bad bytes show as U+FFFD. */
static void test_invalid_utf8_is_shown_as_replacement(void **state)
{
    struct tempo *t = tempo_new();
    char *span = span_json(TRACE_A, "0102030405060708", "placeholder", 1);
    char *json = request_with(span);
    struct payload *p = payload_from_json(SIGNAL_TRACES, json);
    otlp_span *sp = p->traces->resource_spans[0]->scope_spans[0]->spans[0];
    pdata_free(sp->name);
    sp->name = pdata_strdup("bad\xff");
    otlp_keyvalue *key = p->traces->resource_spans[0]->resource->attributes[0];
    pdata_free(key->key);
    key->key = pdata_strdup("k\xc3");
    uint8_t *pb = NULL;
    size_t len = 0;
    assert_int_equal(payload_encode(p, &pb, &len), 0);
    payload_free(p);
    struct answer a;
    post(t, "application/x-protobuf", pb, len, &a);
    assert_int_equal(a.resp.status, 200);
    response_clear(&a.resp);
    json_t *view = tempo_view(t);
    json_t *s0 = json_array_get(
        json_object_get(json_array_get(json_object_get(view, "traces"), 0), "spans"), 0);
    assert_string_equal(json_string_value(json_object_get(s0, "name")), "bad\xef\xbf\xbd");
    assert_non_null(json_object_get(json_object_get(s0, "resource_attributes"), "k\xef\xbf\xbd"));
    json_decref(view);
    free(pb);
    free(json);
    free(span);
    tempo_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_success_body),
        cmocka_unit_test(test_protobuf_success_body_is_0a00),
        cmocka_unit_test(test_empty_request_succeeds_and_stores_nothing),
        cmocka_unit_test(test_missing_trace_id_is_invalid_argument),
        cmocka_unit_test(test_zero_span_id_is_invalid_argument_in_protobuf),
        cmocka_unit_test(test_ingest_reports_invalid_argument),
        cmocka_unit_test(test_receiver_errors_404_405_415),
        cmocka_unit_test(test_unknown_encoding_answered_in_request_encoding),
        cmocka_unit_test(test_view_sorts_traces_and_spans),
        cmocka_unit_test(test_view_span_fields),
        cmocka_unit_test(test_duplicate_span_shown_once),
        cmocka_unit_test(test_refuse_maps_status_to_grpc_code),
        cmocka_unit_test(test_reset_forgets_everything),
        cmocka_unit_test(test_wire_ingest_equals_the_full_path),
        cmocka_unit_test(test_mutated_bodies_always_get_an_answer),
        cmocka_unit_test(test_invalid_utf8_is_shown_as_replacement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
