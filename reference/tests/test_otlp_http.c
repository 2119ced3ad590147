/*
 * test_otlp_http.c - the `otlp` receiver's HTTP answers (reference/receivers/otlp), checked
 * against facts/receivers.md §1: the receiver runs in-process on an ephemeral port with test
 * consumers behind it, and libcurl talks to it. The answer table is the specification: status,
 * Content-Type and body of every case.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "component_fixture.h"
#include "compress.h"
#include "config.h"
#include "httpd.h"
#include "google/rpc/status.pb-c.h"
#include "log.h"
#include "otlp.h"
#include "otlp_json.h"
#include "pdata.h"
#include "service.h"
#include "telemetry.h"

/* ---- the receiver under test, test consumers behind it ---- */

struct fixture {
    struct component_fixture *receiver;
    struct test_consumer consumers[SIGNAL_COUNT];
    int port;
};

/* Binds `yaml` as receivers.otlp, wires test consumers for `signals`, creates and starts. */
static struct fixture *fixture_start(const char *yaml, unsigned signals)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->receiver = component_fixture_new(&otlp_receiver_descriptor, "otlp", yaml);
    test_consumers_wire(f->consumers, signals, &f->receiver->component);
    component_fixture_start(f->receiver);
    f->port = otlp_receiver_http_port(&f->receiver->component);
    assert_true(f->port > 0);
    return f;
}

static void fixture_stop(struct fixture *f)
{
    component_fixture_free(f->receiver);
    test_consumers_destroy(f->consumers);
    free(f);
}

#define HTTP_ONLY "protocols: {http: {endpoint: 127.0.0.1:0}}"

/* ---- an HTTP client ---- */

struct http_result {
    long status;
    char content_type[128];
    char extra_header[256]; /* the value of the header asked for, if any */
    uint8_t *body;
    size_t body_len;
};

struct capture {
    struct http_result *result;
    const char *header_name;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct http_result *r = ctx;
    uint8_t *grown = realloc(r->body, r->body_len + size * n + 1);
    assert_non_null(grown);
    r->body = grown;
    memcpy(r->body + r->body_len, data, size * n);
    r->body_len += size * n;
    r->body[r->body_len] = '\0';
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    struct capture *c = ctx;
    size_t len = size * n;
    size_t name_len = c->header_name ? strlen(c->header_name) : 0;
    if (name_len && len > name_len + 1 && !strncasecmp(data, c->header_name, name_len) &&
        data[name_len] == ':') {
        const char *v = data + name_len + 1;
        while (*v == ' ')
            v++;
        size_t vlen = len - (size_t)(v - data);
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
            vlen--;
        snprintf(c->result->extra_header, sizeof(c->result->extra_header), "%.*s", (int)vlen, v);
    }
    return len;
}

struct request {
    const char *method; /* default POST */
    const char *path;
    const char *content_type; /* NULL: no Content-Type header at all */
    const char *content_encoding;
    const void *body;
    size_t body_len;
    const char *want_header; /* response header to capture into extra_header */
};

static void http_call(int port, const struct request *req, struct http_result *out)
{
    memset(out, 0, sizeof(*out));
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    char url[256], header[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, req->path);
    struct curl_slist *headers = NULL;
    /* curl would add its own Content-Type and Expect; an empty value removes a header */
    snprintf(header, sizeof(header), "Content-Type:%s%s", req->content_type ? " " : "",
             req->content_type ? req->content_type : "");
    headers = curl_slist_append(headers, header);
    headers = curl_slist_append(headers, "Expect:");
    if (req->content_encoding) {
        snprintf(header, sizeof(header), "Content-Encoding: %s", req->content_encoding);
        headers = curl_slist_append(headers, header);
    }
    struct capture capture = {out, req->want_header};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    const char *method = req->method ? req->method : "POST";
    if (!strcmp(method, "POST") || req->body) {
        /* a body goes with any method that has one (PUT with a body, GET without) */
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    if (strcmp(method, "POST") != 0)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &capture);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        fail_msg("curl: %s", curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    char *type = NULL;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    snprintf(out->content_type, sizeof(out->content_type), "%s", type ? type : "");
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (!out->body) {
        out->body = calloc(1, 1);
        assert_non_null(out->body);
    }
}

/* ---- bodies ---- */

static const char traces_json[] =
    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"a\","
    "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\"},"
    "{\"name\":\"b\",\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
    "\"spanId\":\"0102030405060709\"}]}]}]}";
static const char logs_json[] =
    "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"hi\"}}]}]}]}";

/* The protobuf encoding of traces_json (2 spans). Caller frees. */
static uint8_t *traces_protobuf(size_t *len)
{
    struct payload *p = NULL;
    struct error err = {0};
    assert_int_equal(
        otlp_json_decode_payload(SIGNAL_TRACES, traces_json, strlen(traces_json), &p, &err), 0);
    uint8_t *out = NULL;
    assert_int_equal(payload_encode(p, &out, len), 0);
    payload_free(p);
    return out;
}

static uint8_t *compressed(enum compression c, const void *in, size_t len, size_t *out_len)
{
    uint8_t *out = NULL;
    assert_int_equal(compress_buffer(c, in, len, &out, out_len), 0);
    return out;
}

/* ---- expectations ---- */

static void assert_json_status(const struct http_result *r, long status, int code,
                               const char *message)
{
    if (r->status != status)
        fail_msg("status %ld, expected %ld (body %s)", r->status, status, (char *)r->body);
    assert_string_equal(r->content_type, "application/json");
    json_error_t error;
    json_t *body = json_loadb((const char *)r->body, r->body_len, 0, &error);
    if (!body)
        fail_msg("not JSON: %s", (char *)r->body);
    assert_int_equal(json_integer_value(json_object_get(body, "code")), code);
    if (message)
        assert_string_equal(json_string_value(json_object_get(body, "message")), message);
    else
        assert_true(strlen(json_string_value(json_object_get(body, "message"))) > 0);
    json_decref(body);
}

static void assert_protobuf_status(const struct http_result *r, long status, int code,
                                   const char *message)
{
    assert_int_equal(r->status, status);
    assert_string_equal(r->content_type, "application/x-protobuf");
    Google__Rpc__Status *s = google__rpc__status__unpack(NULL, r->body_len, r->body);
    assert_non_null(s);
    assert_int_equal(s->code, code);
    assert_string_equal(s->message, message);
    google__rpc__status__free_unpacked(s, NULL);
}

static void assert_answer(const struct http_result *r, long status, const char *content_type,
                          const char *body)
{
    if (r->status != status)
        fail_msg("status %ld, expected %ld (body %s)", r->status, status, (char *)r->body);
    assert_string_equal(r->content_type, content_type);
    assert_int_equal(r->body_len, strlen(body));
    assert_memory_equal(r->body, body, r->body_len);
}

static void result_free(struct http_result *r)
{
    free(r->body);
}

/* ---- the answer table: one request, one expected answer ---- */

static void test_answer_table(void **state)
{
    static const char json_ok[] = "{\"partialSuccess\":{}}";
    static const char text_405[] = "405 method not allowed, supported: [POST]";
    static const char text_415[] =
        "415 unsupported media type, supported: [application/json, application/x-protobuf]";
    static const char fallback[] =
        "{\"code\": 13, \"message\": \"failed to marshal error message\"}";
    static const char not_json[] = "{not json";
    static const char empty_resource[] = "{\"resourceSpans\":[{}]}";
    /* a valid gzip header, then a deflate stream that is not one */
    static const char corrupt_gzip[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff";
    /* clang-format off: one case per line, read as a table */
    static const struct {
        const char *name;
        struct request req;
        long status;
        const char *content_type;
        const char *body; /* exact body, or NULL: a JSON Status with code/message below */
        int code;
        const char *message;
    } cases[] = {
        {"json accepted",
         {NULL, "/v1/traces", "application/json", NULL, traces_json, sizeof(traces_json) - 1, NULL},
         200,
         "application/json",
         json_ok,
         0,
         NULL},
        {"media type parameters and case",
         {NULL, "/v1/traces", "Application/JSON; charset=utf-8", NULL, traces_json,
          sizeof(traces_json) - 1, NULL},
         200,
         "application/json",
         json_ok,
         0,
         NULL},
        {"signal without pipeline",
         {NULL, "/v1/metrics", "application/json", NULL, "{}", 2, NULL},
         404,
         "text/plain; charset=utf-8",
         "404 page not found\n",
         0,
         NULL},
        {"trailing slash",
         {NULL, "/v1/traces/", "application/json", NULL, traces_json, sizeof(traces_json) - 1,
          NULL},
         404,
         "text/plain; charset=utf-8",
         "404 page not found\n",
         0,
         NULL},
        {"unknown path",
         {NULL, "/", "application/json", NULL, "{}", 2, NULL},
         404,
         "text/plain; charset=utf-8",
         "404 page not found\n",
         0,
         NULL},
        {"GET",
         {"GET", "/v1/traces", "application/json", NULL, NULL, 0, NULL},
         405,
         "text/plain",
         text_405,
         0,
         NULL},
        {"405 before 415",
         {"PUT", "/v1/traces", "text/plain", NULL, NULL, 0, NULL},
         405,
         "text/plain",
         text_405,
         0,
         NULL},
        {"text/plain",
         {NULL, "/v1/traces", "text/plain", NULL, "x", 1, NULL},
         415,
         "text/plain",
         text_415,
         0,
         NULL},
        {"no Content-Type",
         {NULL, "/v1/traces", NULL, NULL, "x", 1, NULL},
         415,
         "text/plain",
         text_415,
         0,
         NULL},
        {"application/protobuf",
         {NULL, "/v1/traces", "application/protobuf", NULL, "x", 1, NULL},
         415,
         "text/plain",
         text_415,
         0,
         NULL},
        {"malformed parameter",
         {NULL, "/v1/traces", "application/json; charset", NULL, "x", 1, NULL},
         415,
         "text/plain",
         text_415,
         0,
         NULL},
        {"identity encoding",
         {NULL, "/v1/traces", "application/json", "identity", traces_json, sizeof(traces_json) - 1,
          NULL},
         400,
         "application/json",
         NULL,
         3,
         "unsupported Content-Encoding: identity"},
        {"encoding before routing",
         {NULL, "/nowhere", "application/json", "br", "{}", 2, NULL},
         400,
         "application/json",
         NULL,
         3,
         "unsupported Content-Encoding: br"},
        {"encoding error, other media type",
         {NULL, "/v1/traces", "text/plain", "br", "x", 1, NULL},
         500,
         "application/json",
         fallback,
         0,
         NULL},
        {"encoding error, no media type",
         {NULL, "/v1/traces", NULL, "br", "x", 1, NULL},
         500,
         "application/json",
         fallback,
         0,
         NULL},
        {"bad gzip header",
         {NULL, "/v1/traces", "application/json", "gzip", "not gzip at all", 15, NULL},
         400,
         "application/json",
         NULL,
         3,
         "gzip: invalid header"},
        {"bad zlib header",
         {NULL, "/v1/traces", "application/json", "zlib", "not zlib at all", 15, NULL},
         400,
         "application/json",
         NULL,
         3,
         "zlib: invalid header"},
        {"corrupt gzip stream",
         {NULL, "/v1/traces", "application/json", "gzip", corrupt_gzip, sizeof(corrupt_gzip) - 1,
          NULL},
         400,
         "application/json",
         NULL,
         3,
         NULL},
        {"stream errors come after 405",
         {"GET", "/v1/traces", "application/json", "gzip", corrupt_gzip, sizeof(corrupt_gzip) - 1,
          NULL},
         405,
         "text/plain",
         text_405,
         0,
         NULL},
        {"invalid JSON",
         {NULL, "/v1/traces", "application/json", NULL, not_json, sizeof(not_json) - 1, NULL},
         400,
         "application/json",
         NULL,
         3,
         NULL},
        {"empty request",
         {NULL, "/v1/traces", "application/json", NULL, "{}", 2, NULL},
         200,
         "application/json",
         json_ok,
         0,
         NULL},
        {"empty resource",
         {NULL, "/v1/traces", "application/json", NULL, empty_resource, sizeof(empty_resource) - 1,
          NULL},
         200,
         "application/json",
         json_ok,
         0,
         NULL},
    };
    /* clang-format on */
    struct fixture *f = fixture_start(HTTP_ONLY, SIGNAL_BIT(SIGNAL_TRACES));
    size_t expected_items = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct http_result r;
        http_call(f->port, &cases[i].req, &r);
        if (r.status != cases[i].status)
            fail_msg("%s: status %ld, expected %ld (%s)", cases[i].name, r.status, cases[i].status,
                     (char *)r.body);
        if (cases[i].body)
            assert_answer(&r, cases[i].status, cases[i].content_type, cases[i].body);
        else
            assert_json_status(&r, cases[i].status, cases[i].code, cases[i].message);
        if (cases[i].status == 200 && cases[i].req.body == traces_json)
            expected_items += 2;
        result_free(&r);
    }
    /* only the two accepted requests with spans reached the pipeline */
    assert_int_equal(f->consumers[SIGNAL_TRACES].calls, 2);
    assert_int_equal(f->consumers[SIGNAL_TRACES].items, expected_items);
    fixture_stop(f);
}

static void test_protobuf_accepted_answers_0a00(void **state)
{
    struct fixture *f = fixture_start(HTTP_ONLY, SIGNAL_BIT(SIGNAL_TRACES));
    size_t len;
    uint8_t *body = traces_protobuf(&len);
    struct request req = {NULL, "/v1/traces", "application/x-protobuf", NULL, body, len, NULL};
    struct http_result r;
    http_call(f->port, &req, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/x-protobuf");
    assert_int_equal(r.body_len, 2);
    assert_int_equal(r.body[0], 0x0a);
    assert_int_equal(r.body[1], 0x00);
    assert_int_equal(f->consumers[SIGNAL_TRACES].items, 2);
    result_free(&r);
    free(body);
    fixture_stop(f);
}

static void test_protobuf_errors_are_protobuf_status(void **state)
{
    struct fixture *f = fixture_start(HTTP_ONLY, SIGNAL_BIT(SIGNAL_TRACES));
    struct http_result r;
    struct request bad_encoding = {NULL, "/v1/traces", "application/x-protobuf", "GZIP", "x",
                                   1,    NULL};
    http_call(f->port, &bad_encoding, &r);
    assert_protobuf_status(&r, 400, 3, "unsupported Content-Encoding: GZIP");
    result_free(&r);
    static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
    struct request bad_body = {
        NULL, "/v1/traces", "application/x-protobuf", NULL, garbage, sizeof(garbage), NULL};
    http_call(f->port, &bad_body, &r);
    assert_int_equal(r.status, 400);
    Google__Rpc__Status *s = google__rpc__status__unpack(NULL, r.body_len, r.body);
    assert_non_null(s);
    assert_int_equal(s->code, 3);
    google__rpc__status__free_unpacked(s, NULL);
    result_free(&r);
    assert_int_equal(f->consumers[SIGNAL_TRACES].calls, 0);
    fixture_stop(f);
}

static void test_compressed_bodies_are_accepted(void **state)
{
    static const enum compression encodings[] = {COMPRESSION_GZIP, COMPRESSION_ZLIB,
                                                 COMPRESSION_DEFLATE, COMPRESSION_ZSTD};
    struct fixture *f = fixture_start(HTTP_ONLY, SIGNAL_BIT(SIGNAL_TRACES));
    size_t plain_len;
    uint8_t *plain = traces_protobuf(&plain_len);
    for (size_t i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++) {
        size_t len;
        uint8_t *body = compressed(encodings[i], plain, plain_len, &len);
        struct request req = {
            NULL, "/v1/traces", "application/x-protobuf", compression_name(encodings[i]), body,
            len,  NULL};
        struct http_result r;
        http_call(f->port, &req, &r);
        if (r.status != 200)
            fail_msg("%s: status %ld", compression_name(encodings[i]), r.status);
        result_free(&r);
        free(body);
    }
    assert_int_equal(f->consumers[SIGNAL_TRACES].items, 2 * 4);
    free(plain);
    fixture_stop(f);
}

static void test_body_limits_answer_400_not_413(void **state)
{
    struct fixture *f =
        fixture_start("protocols: {http: {endpoint: 127.0.0.1:0, max_request_body_size: 1024}}",
                      SIGNAL_BIT(SIGNAL_LOGS));
    /* a JSON body of 2000 bytes: over the limit as sent */
    char *big = malloc(2001);
    assert_non_null(big);
    memset(big, ' ', 2000);
    big[0] = '{';
    big[1999] = '}';
    big[2000] = '\0';
    struct request raw = {NULL, "/v1/logs", "application/json", NULL, big, 2000, NULL};
    struct http_result r;
    http_call(f->port, &raw, &r);
    assert_json_status(&r, 400, 3, "http: request body too large");
    result_free(&r);
    /* small once gzipped, over the limit once decompressed */
    size_t len;
    uint8_t *body = compressed(COMPRESSION_GZIP, big, 2000, &len);
    assert_true(len < 1024);
    struct request inflated = {NULL, "/v1/logs", "application/json", "gzip", body, len, NULL};
    http_call(f->port, &inflated, &r);
    assert_json_status(&r, 400, 3, "http: request body too large");
    result_free(&r);
    /* the limit is checked after method and media type, as upstream reads the body last */
    struct request wrong_type = {NULL, "/v1/logs", "text/plain", NULL, big, 2000, NULL};
    http_call(f->port, &wrong_type, &r);
    assert_int_equal(r.status, 415);
    result_free(&r);
    free(body);
    free(big);
    assert_int_equal(f->consumers[SIGNAL_LOGS].calls, 0);
    fixture_stop(f);
}

/* Consumer errors: REFUSED and RETRYABLE are Unavailable (503), PERMANENT is Internal (500). */
static void test_consumer_errors_map_to_grpc_codes(void **state)
{
    /* clang-format off: one case per line, read as a table */
    static const struct {
        enum error_kind kind;
        const char *message;
        long status;
        int code;
    } cases[] = {
        {ERROR_REFUSED, "data refused due to high memory usage", 503, 14},
        {ERROR_RETRYABLE, "sending queue is full", 503, 14},
        {ERROR_PERMANENT, "too many batcher metadata-value combinations", 500, 13},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture *f = fixture_start(HTTP_ONLY, SIGNAL_BIT(SIGNAL_LOGS));
        f->consumers[SIGNAL_LOGS].fail_code = -EAGAIN;
        f->consumers[SIGNAL_LOGS].fail_kind = cases[i].kind;
        f->consumers[SIGNAL_LOGS].fail_message = cases[i].message;
        struct request json = {
            NULL, "/v1/logs", "application/json", NULL, logs_json, sizeof(logs_json) - 1, NULL};
        struct http_result r;
        http_call(f->port, &json, &r);
        assert_json_status(&r, cases[i].status, cases[i].code, cases[i].message);
        result_free(&r);
        struct request proto_req = json;
        struct payload *p = NULL;
        assert_int_equal(
            otlp_json_decode_payload(SIGNAL_LOGS, logs_json, sizeof(logs_json) - 1, &p, NULL), 0);
        uint8_t *bytes;
        size_t len;
        assert_int_equal(payload_encode(p, &bytes, &len), 0);
        payload_free(p);
        proto_req.content_type = "application/x-protobuf";
        proto_req.body = bytes;
        proto_req.body_len = len;
        http_call(f->port, &proto_req, &r);
        assert_protobuf_status(&r, cases[i].status, cases[i].code, cases[i].message);
        result_free(&r);
        free(bytes);
        fixture_stop(f);
    }
}

static void test_refused_request_body_matches_upstream(void **state)
{
    struct fixture *f = fixture_start(HTTP_ONLY, SIGNAL_BIT(SIGNAL_LOGS));
    f->consumers[SIGNAL_LOGS].fail_code = -EAGAIN;
    f->consumers[SIGNAL_LOGS].fail_kind = ERROR_REFUSED;
    f->consumers[SIGNAL_LOGS].fail_message = "data refused due to high memory usage";
    struct request json = {NULL,         "/v1/logs", "application/json",
                           NULL,         logs_json,  sizeof(logs_json) - 1,
                           "Retry-After"};
    struct http_result r;
    http_call(f->port, &json, &r);
    assert_answer(&r, 503, "application/json",
                  "{\"code\":14,\"message\":\"data refused due to high memory usage\"}");
    assert_string_equal(r.extra_header, ""); /* no Retry-After */
    result_free(&r);
    fixture_stop(f);
}

static void test_empty_request_skips_the_pipeline_even_when_refusing(void **state)
{
    struct fixture *f = fixture_start(HTTP_ONLY, SIGNAL_BIT(SIGNAL_LOGS));
    f->consumers[SIGNAL_LOGS].fail_code = -EAGAIN;
    f->consumers[SIGNAL_LOGS].fail_kind = ERROR_REFUSED;
    f->consumers[SIGNAL_LOGS].fail_message = "data refused due to high memory usage";
    static const char empty_logs[] = "{\"resourceLogs\":[{\"scopeLogs\":[{}]}]}";
    struct request empty = {
        NULL, "/v1/logs", "application/json", NULL, empty_logs, sizeof(empty_logs) - 1, NULL};
    struct http_result r;
    http_call(f->port, &empty, &r);
    assert_answer(&r, 200, "application/json", "{\"partialSuccess\":{}}");
    assert_int_equal(f->consumers[SIGNAL_LOGS].calls, 0);
    result_free(&r);
    fixture_stop(f);
}

static void test_self_metrics_count_accepted_and_refused(void **state)
{
    struct fixture *f = fixture_start(HTTP_ONLY, SIGNAL_BIT(SIGNAL_TRACES));
    struct http_result r;
    /* rejected before the pipeline: counts nothing, the series do not exist yet */
    struct request bad = {NULL, "/v1/traces", "application/json", NULL, "{x", 2, NULL};
    http_call(f->port, &bad, &r);
    result_free(&r);
    char *text = telemetry_render(f->receiver->telemetry, NULL);
    assert_null(strstr(text, "otelcol_receiver_accepted_spans"));
    free(text);
    struct request good = {
        NULL, "/v1/traces", "application/json", NULL, traces_json, sizeof(traces_json) - 1, NULL};
    http_call(f->port, &good, &r);
    result_free(&r);
    f->consumers[SIGNAL_TRACES].fail_code = -EAGAIN;
    f->consumers[SIGNAL_TRACES].fail_kind = ERROR_PERMANENT;
    f->consumers[SIGNAL_TRACES].fail_message = "bad";
    http_call(f->port, &good, &r);
    result_free(&r);
    text = telemetry_render(f->receiver->telemetry, NULL);
    assert_non_null(
        strstr(text, "otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"http\"} 2\n"));
    assert_non_null(
        strstr(text, "otelcol_receiver_refused_spans{receiver=\"otlp\",transport=\"http\"} 2\n"));
    assert_non_null(
        strstr(text, "otelcol_receiver_failed_spans{receiver=\"otlp\",transport=\"http\"} 0\n"));
    assert_null(strstr(text, "log_records"));
    free(text);
    fixture_stop(f);
}

static void test_url_path_options_move_the_endpoints(void **state)
{
    struct fixture *f =
        fixture_start("protocols: {http: {endpoint: 127.0.0.1:0, logs_url_path: custom/logs}}",
                      SIGNAL_BIT(SIGNAL_LOGS));
    struct request moved = {
        NULL, "/custom/logs", "application/json", NULL, logs_json, sizeof(logs_json) - 1, NULL};
    struct http_result r;
    http_call(f->port, &moved, &r);
    assert_int_equal(r.status, 200);
    result_free(&r);
    struct request old = moved;
    old.path = "/v1/logs";
    http_call(f->port, &old, &r);
    assert_int_equal(r.status, 404);
    result_free(&r);
    fixture_stop(f);
}

static void test_compression_algorithms_restrict_encodings(void **state)
{
    struct fixture *f = fixture_start(
        "protocols: {http: {endpoint: 127.0.0.1:0, compression_algorithms: ['', zstd]}}",
        SIGNAL_BIT(SIGNAL_LOGS));
    size_t len;
    uint8_t *body = compressed(COMPRESSION_GZIP, logs_json, sizeof(logs_json) - 1, &len);
    struct request gz = {NULL, "/v1/logs", "application/json", "gzip", body, len, NULL};
    struct http_result r;
    http_call(f->port, &gz, &r);
    assert_json_status(&r, 400, 3, "unsupported Content-Encoding: gzip");
    result_free(&r);
    free(body);
    struct request plain = {
        NULL, "/v1/logs", "application/json", NULL, logs_json, sizeof(logs_json) - 1, NULL};
    http_call(f->port, &plain, &r);
    assert_int_equal(r.status, 200);
    result_free(&r);
    fixture_stop(f);
}

static void test_response_headers_are_set_on_every_answer(void **state)
{
    struct fixture *f =
        fixture_start("protocols: {http: {endpoint: 127.0.0.1:0, response_headers: {X-Test: yes}}}",
                      SIGNAL_BIT(SIGNAL_LOGS));
    static const char *const paths[] = {"/v1/logs", "/nowhere"};
    for (size_t i = 0; i < 2; i++) {
        struct request req = {
            NULL, paths[i], "application/json", NULL, logs_json, sizeof(logs_json) - 1, "X-Test"};
        struct http_result r;
        http_call(f->port, &req, &r);
        assert_string_equal(r.extra_header, "yes");
        result_free(&r);
    }
    fixture_stop(f);
}

/* A receiver listed by two pipelines: the service gives it a fan-out; both get the data. */
static void test_fanout_delivers_to_two_pipelines(void **state)
{
    struct fixture *f = fixture_start(HTTP_ONLY, 0);
    const struct component_descriptor *d = &otlp_receiver_descriptor;
    /* rebuild with a fan-out in front of two pipeline consumers */
    d->shutdown(&f->receiver->component, 0);
    d->destroy(&f->receiver->component);
    struct test_consumer pipelines[2];
    test_consumer_init(&pipelines[0]);
    test_consumer_init(&pipelines[1]);
    struct consumer *targets[2] = {&pipelines[0].consumer, &pipelines[1].consumer};
    struct consumer *fanout = NULL;
    assert_int_equal(fanout_consumer_create(targets, 2, &fanout), 0);
    f->receiver->component.next[SIGNAL_LOGS] = fanout;
    struct error err = {0};
    assert_int_equal(d->create(&f->receiver->component, &err), 0);
    assert_int_equal(d->start(&f->receiver->component, &err), 0);
    f->port = otlp_receiver_http_port(&f->receiver->component);
    struct request req = {
        NULL, "/v1/logs", "application/json", NULL, logs_json, sizeof(logs_json) - 1, NULL};
    struct http_result r;
    http_call(f->port, &req, &r);
    assert_int_equal(r.status, 200);
    result_free(&r);
    assert_int_equal(pipelines[0].items, 1);
    assert_int_equal(pipelines[1].items, 1);
    /* one pipeline refusing makes the request fail, the other still got its copy */
    pipelines[0].fail_code = -EAGAIN;
    pipelines[0].fail_kind = ERROR_REFUSED;
    pipelines[0].fail_message = "data refused due to high memory usage";
    http_call(f->port, &req, &r);
    assert_json_status(&r, 503, 14, "data refused due to high memory usage");
    result_free(&r);
    assert_int_equal(pipelines[1].items, 2);
    fixture_stop(f);
    fanout_consumer_destroy(fanout);
    pthread_mutex_destroy(&pipelines[0].lock);
    pthread_mutex_destroy(&pipelines[1].lock);
}

static void test_fanout_joins_errors_and_prefers_permanent(void **state)
{
    struct test_consumer a, b;
    test_consumer_init(&a);
    test_consumer_init(&b);
    a.fail_code = b.fail_code = -EIO;
    a.fail_kind = ERROR_REFUSED;
    a.fail_message = "first";
    b.fail_kind = ERROR_PERMANENT;
    b.fail_message = "second";
    struct consumer *targets[2] = {&a.consumer, &b.consumer};
    struct consumer *fanout = NULL;
    assert_int_equal(fanout_consumer_create(targets, 2, &fanout), 0);
    struct payload *p = payload_new(SIGNAL_LOGS);
    assert_non_null(p);
    struct error err = {0};
    assert_true(consumer_consume(fanout, p, &err) < 0);
    assert_string_equal(err.message, "first; second");
    assert_int_equal(err.kind, ERROR_PERMANENT);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    fanout_consumer_destroy(fanout);
    pthread_mutex_destroy(&a.lock);
    pthread_mutex_destroy(&b.lock);
}

/* mime.ParseMediaType as getMimeTypeFromContentType uses it. */
static void test_media_type_parsing(void **state)
{
    /* clang-format off: one case per line, read as a table */
    static const struct {
        const char *input, *expected;
    } cases[] = {
        {"application/json", "application/json"},
        {"Application/JSON", "application/json"},
        {"  application/x-protobuf  ", "application/x-protobuf"},
        {"application/json; charset=utf-8", "application/json"},
        {"application/json;charset=\"utf-8\"", "application/json"},
        {"application/json;", "application/json"}, /* trailing semicolon tolerated */
        {"application/json; a=1; b=2", "application/json"},
        {"application", "application"},
        {"application/json; charset", NULL},  /* parameter without value */
        {"application/json; a=1; A=2", NULL}, /* duplicate parameter */
        {"application/json; q=\"open", NULL}, /* unterminated quote */
        {"application/json extra", NULL},
        {"/json", NULL},
        {"application/", NULL},
        {"", NULL},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[128];
        int rc = otlp_http_media_type(cases[i].input, out, sizeof(out));
        if (cases[i].expected) {
            if (rc < 0)
                fail_msg("\"%s\": rejected", cases[i].input);
            assert_string_equal(out, cases[i].expected);
        } else if (rc == 0) {
            fail_msg("\"%s\": accepted as \"%s\"", cases[i].input, out);
        }
    }
}

/* ---- through the service: config -> pipelines -> exporter ---- */

/* A backend standing in for Loki: counts what reaches /otlp/v1/logs. */
struct backend {
    struct httpd *server;
    pthread_mutex_t lock;
    int requests;
};

static void backend_handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct backend *b = ctx;
    pthread_mutex_lock(&b->lock);
    if (!strcmp(req->path, "/otlp/v1/logs"))
        b->requests++;
    pthread_mutex_unlock(&b->lock);
    resp->status = 200;
}

static struct service *service_from_yaml(const char *yaml, struct config **cfg_out)
{
    struct error err = {0};
    if (config_load_text(yaml, "test", NULL, 0, cfg_out, &err) < 0)
        fail_msg("config: %s", err.message);
    struct service *s = NULL;
    if (service_create(*cfg_out, &s, &err) < 0 || service_start(s, &err) < 0)
        fail_msg("service: %s", err.message);
    return s;
}

static void test_service_fans_out_a_shared_receiver_to_two_pipelines(void **state)
{
    struct backend backend = {0};
    pthread_mutex_init(&backend.lock, NULL);
    struct error err = {0};
    backend.server = httpd_start("127.0.0.1", 0, 1 << 20, backend_handle, &backend, &err);
    assert_non_null(backend.server);
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "receivers: {otlp: {protocols: {http: {endpoint: 127.0.0.1:0}}}}\n"
             "processors: {batch: {timeout: 10ms}}\n"
             "exporters: {otlphttp/loki: {endpoint: http://127.0.0.1:%d/otlp}}\n"
             "service:\n"
             "  telemetry: {metrics: {readers: [{pull: {exporter: {prometheus: "
             "{host: 127.0.0.1, port: 0}}}}]}}\n"
             "  pipelines:\n"
             "    logs: {receivers: [otlp], processors: [batch], exporters: [otlphttp/loki]}\n"
             "    logs/2: {receivers: [otlp], exporters: [otlphttp/loki]}\n",
             httpd_port(backend.server));
    struct config *cfg = NULL;
    struct service *s = service_from_yaml(yaml, &cfg);
    struct component *receiver = service_find_component(s, KIND_RECEIVER, "otlp", NULL);
    assert_non_null(receiver);
    assert_non_null(service_find_component(s, KIND_PROCESSOR, "batch", "logs"));
    assert_null(service_find_component(s, KIND_PROCESSOR, "batch", "logs/2"));
    struct request req = {
        NULL, "/v1/logs", "application/json", NULL, logs_json, sizeof(logs_json) - 1, NULL};
    struct http_result r;
    http_call(otlp_receiver_http_port(receiver), &req, &r);
    assert_int_equal(r.status, 200);
    result_free(&r);
    /* one request in, one export per pipeline out of the shared exporter */
    assert_true(test_count_wait(&backend.lock, &backend.requests, 2, "backend requests"));
    /* traces have no pipeline here */
    req.path = "/v1/traces";
    http_call(otlp_receiver_http_port(receiver), &req, &r);
    assert_int_equal(r.status, 404);
    result_free(&r);
    /* an explicit Prometheus reader without without_type_suffix: counters get _total */
    struct request metrics = {"GET", "/metrics", NULL, NULL, NULL, 0, NULL};
    http_call(service_metrics_port(s, 0), &metrics, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(
        (char *)r.body,
        "# TYPE otelcol_receiver_accepted_log_records_total counter\n"
        "otelcol_receiver_accepted_log_records_total{receiver=\"otlp\",transport=\"http\"} 1\n"));
    assert_non_null(strstr((char *)r.body, "otelcol_ref_pdata_bytes{kind=\"current\"} "));
    assert_non_null(strstr((char *)r.body, "otelcol_ref_pdata_bytes{kind=\"peak\"} "));
    assert_null(strstr((char *)r.body, "pdata_bytes_total"));
    result_free(&r);
    service_shutdown(s, 5000);
    service_destroy(s);
    config_free(cfg);
    httpd_stop(backend.server);
    pthread_mutex_destroy(&backend.lock);
}

static void test_service_render_adds_total_to_counters_only(void **state)
{
    struct telemetry *t = telemetry_new();
    tm_counter_add(telemetry_counter(t, "otelcol_exporter_sent_spans", "Sent.", "exporter=\"x\""),
                   3);
    tm_counter_add(telemetry_counter(t, "already_total", "T.", NULL), 1);
    tm_gauge_set(telemetry_gauge(t, "otelcol_exporter_queue_size", "Q.", NULL), 2);
    char *plain = service_render_metrics(t, false, NULL);
    char *suffixed = service_render_metrics(t, true, NULL);
    assert_string_equal(plain, "# HELP already_total T.\n# TYPE already_total counter\n"
                               "already_total 1\n"
                               "# HELP otelcol_exporter_queue_size Q.\n"
                               "# TYPE otelcol_exporter_queue_size gauge\n"
                               "otelcol_exporter_queue_size 2\n"
                               "# HELP otelcol_exporter_sent_spans Sent.\n"
                               "# TYPE otelcol_exporter_sent_spans counter\n"
                               "otelcol_exporter_sent_spans{exporter=\"x\"} 3\n");
    assert_string_equal(suffixed, "# HELP already_total T.\n# TYPE already_total counter\n"
                                  "already_total 1\n"
                                  "# HELP otelcol_exporter_queue_size Q.\n"
                                  "# TYPE otelcol_exporter_queue_size gauge\n"
                                  "otelcol_exporter_queue_size 2\n"
                                  "# HELP otelcol_exporter_sent_spans_total Sent.\n"
                                  "# TYPE otelcol_exporter_sent_spans_total counter\n"
                                  "otelcol_exporter_sent_spans_total{exporter=\"x\"} 3\n");
    free(plain);
    free(suffixed);
    telemetry_free(t);
}

static void test_service_metrics_level_none_serves_nothing(void **state)
{
    struct config *cfg = NULL;
    struct service *s =
        service_from_yaml("receivers: {otlp: {protocols: {http: {endpoint: 127.0.0.1:0}}}}\n"
                          "exporters: {otlp_http: {endpoint: http://127.0.0.1:1}}\n"
                          "service:\n"
                          "  telemetry: {metrics: {level: none}}\n"
                          "  pipelines: {traces: {receivers: [otlp], exporters: [otlp_http]}}\n",
                          &cfg);
    assert_int_equal(service_metrics_port(s, 0), 0);
    service_shutdown(s, 1000);
    service_destroy(s);
    config_free(cfg);
}

static int global_setup(void **state)
{
    log_set_level(LOG_ERROR);
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int global_teardown(void **state)
{
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_table),
        cmocka_unit_test(test_protobuf_accepted_answers_0a00),
        cmocka_unit_test(test_protobuf_errors_are_protobuf_status),
        cmocka_unit_test(test_compressed_bodies_are_accepted),
        cmocka_unit_test(test_body_limits_answer_400_not_413),
        cmocka_unit_test(test_consumer_errors_map_to_grpc_codes),
        cmocka_unit_test(test_refused_request_body_matches_upstream),
        cmocka_unit_test(test_empty_request_skips_the_pipeline_even_when_refusing),
        cmocka_unit_test(test_self_metrics_count_accepted_and_refused),
        cmocka_unit_test(test_url_path_options_move_the_endpoints),
        cmocka_unit_test(test_compression_algorithms_restrict_encodings),
        cmocka_unit_test(test_response_headers_are_set_on_every_answer),
        cmocka_unit_test(test_fanout_delivers_to_two_pipelines),
        cmocka_unit_test(test_fanout_joins_errors_and_prefers_permanent),
        cmocka_unit_test(test_media_type_parsing),
        cmocka_unit_test(test_service_fans_out_a_shared_receiver_to_two_pipelines),
        cmocka_unit_test(test_service_render_adds_total_to_counters_only),
        cmocka_unit_test(test_service_metrics_level_none_serves_nothing),
    };
    return cmocka_run_group_tests(tests, global_setup, global_teardown);
}
