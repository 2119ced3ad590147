/*
 * test_loki.c - fake Loki's OTLP push (pipeline.md §8): answers, structured metadata, tenancy,
 * validation with Loki's words, the view. The clock is pinned so that timestamps and messages
 * are exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "compress.h"
#include "helpers.h"
#include "loki.h"
#include "loki_otlp.h"

/* 2023-11-14T22:13:20Z */
#define NOW 1700000000000000000LL
#define SEC 1000000000LL

static int64_t pinned_clock(void)
{
    return NOW;
}

static struct loki *new_loki(bool auth)
{
    struct loki_options opts = {.auth_enabled = auth, .now_ns = pinned_clock};
    struct loki *loki = loki_new(&opts);
    assert_non_null(loki);
    return loki;
}

/* One record with body `line` at `ts` under a resource with the given attributes JSON. */
static char *one_record(const char *resource_attributes, long long ts, const char *line)
{
    return format_text("{\"resourceLogs\":[{\"resource\":{\"attributes\":%s},\"scopeLogs\":"
                       "[{\"logRecords\":[{\"timeUnixNano\":\"%lld\",\"body\":{\"stringValue\":"
                       "\"%s\"}}]}]}]}",
                       resource_attributes, ts, line);
}

struct answer {
    struct http_response resp;
    size_t items;
};

static void push_json(struct loki *loki, const char *json, const char *org_id, struct answer *out)
{
    struct loki_push_request req = {
        .method = "POST",
        .path = "/otlp/v1/logs",
        .content_type = "application/json",
        .org_id = org_id,
        .body = (const uint8_t *)json,
        .body_len = strlen(json),
    };
    memset(out, 0, sizeof(*out));
    out->resp.status = 200;
    loki_push(loki, &req, &out->resp, &out->items);
}

/* The message of a Loki OTLPError body (code must be 0). Caller frees. */
static char *otlp_error_message(const struct answer *a)
{
    assert_string_equal(a->resp.content_type, "application/octet-stream");
    int code = -1;
    char *message = rpc_status_message(&a->resp, &code);
    assert_int_equal(code, 0);
    return message;
}

static json_t *first_stream(struct loki *loki, const char *tenant)
{
    json_t *view = loki_view(loki);
    json_t *streams =
        json_object_get(json_object_get(json_object_get(view, "tenants"), tenant), "streams");
    json_t *s = json_incref(json_array_get(streams, 0));
    json_decref(view);
    assert_non_null(s);
    return s;
}

static void test_push_answers_204_and_stores_the_stream(void **state)
{
    struct loki *loki = new_loki(false);
    char *json = one_record("[{\"key\":\"k8s.pod.name\",\"value\":{\"stringValue\":\"web-1\"}}]",
                            NOW - SEC, "GET / 200");
    struct answer a;
    push_json(loki, json, NULL, &a);
    assert_int_equal(a.resp.status, 204);
    assert_int_equal(a.resp.body_len, 0);
    assert_int_equal(a.items, 1);
    json_t *stream = first_stream(loki, "fake");
    char *text = json_dumps(stream, JSON_COMPACT);
    assert_string_equal(text, "{\"labels\":{\"k8s_pod_name\":\"web-1\",\"service_name\":"
                              "\"unknown_service\"},\"entries\":[{\"timestamp_ns\":"
                              "\"1699999999000000000\",\"line\":\"GET / 200\","
                              "\"structured_metadata\":{}}]}");
    free(text);
    json_decref(stream);
    response_clear(&a.resp);
    free(json);
    loki_free(loki);
}

static void test_structured_metadata_fields_in_loki_order(void **state)
{
    const char *json =
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":["
        "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"node-1\"}},"
        "{\"key\":\"k8s.pod.name\",\"value\":{\"stringValue\":\"p\"}}]},"
        "\"scopeLogs\":[{\"scope\":{\"name\":\"lib\",\"version\":\"1.2\",\"attributes\":["
        "{\"key\":\"scope.attr\",\"value\":{\"boolValue\":true}}],\"droppedAttributesCount\":2},"
        "\"logRecords\":[{\"timeUnixNano\":\"100\",\"observedTimeUnixNano\":\"200\","
        "\"severityNumber\":17,\"severityText\":\"ERROR\",\"body\":{\"stringValue\":\"x\"},"
        "\"attributes\":[{\"key\":\"http.method\",\"value\":{\"stringValue\":\"GET\"}},"
        "{\"key\":\"req\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"id\",\"value\":"
        "{\"intValue\":\"7\"}}]}}}],"
        "\"droppedAttributesCount\":3,\"flags\":1,"
        "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"a1a2a3a4a5a6a7a8\"}]}]}]}";
    struct payload *p = payload_from_json(SIGNAL_LOGS, json);
    struct loki_push push;
    assert_int_equal(loki_otlp_translate(p->logs, NOW, &push), 0);
    assert_int_equal(push.count, 1);
    const struct loki_entry *e = &push.streams[0].entries[0];
    static const char *const want[][2] = {
        {"http_method", "GET"},
        {"req_id", "7"},
        {"observed_timestamp", "200"},
        {"severity_number", "17"},
        {"severity_text", "ERROR"},
        {"dropped_attributes_count", "3"},
        {"flags", "1"},
        {"trace_id", "0102030405060708090a0b0c0d0e0f10"},
        {"span_id", "a1a2a3a4a5a6a7a8"},
        {"host_name", "node-1"},
        {"scope_attr", "true"},
        {"scope_name", "lib"},
        {"scope_version", "1.2"},
        {"scope_dropped_attributes_count", "2"},
    };
    assert_int_equal(e->metadata.count, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < e->metadata.count; i++) {
        assert_string_equal(e->metadata.items[i].name, want[i][0]);
        assert_string_equal(e->metadata.items[i].value, want[i][1]);
    }
    assert_int_equal(e->timestamp_ns, 100);
    loki_push_clear(&push);
    payload_free(p);
}

static void test_timestamp_falls_back_to_observed_then_now(void **state)
{
    const char *json =
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":["
        "{\"observedTimeUnixNano\":\"300\",\"body\":{\"stringValue\":\"a\"}},"
        "{\"body\":{\"stringValue\":\"b\"},\"traceId\":\"00000000000000000000000000000000\"}"
        "]}]}]}";
    struct payload *p = payload_from_json(SIGNAL_LOGS, json);
    struct loki_push push;
    assert_int_equal(loki_otlp_translate(p->logs, NOW, &push), 0);
    const struct loki_stream *s = &push.streams[0];
    assert_int_equal(s->count, 2);
    assert_int_equal(s->entries[0].timestamp_ns, 300);
    /* observed_timestamp only when both times are set */
    assert_null(loki_labels_get(&s->entries[0].metadata, "observed_timestamp"));
    assert_int_equal(s->entries[1].timestamp_ns, NOW);
    /* an all-zero trace id counts as empty */
    assert_null(loki_labels_get(&s->entries[1].metadata, "trace_id"));
    loki_push_clear(&push);
    payload_free(p);
}

static void test_map_body_becomes_json_line(void **state)
{
    struct loki *loki = new_loki(false);
    char *json = format_text(
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"%lld\","
        "\"body\":{\"kvlistValue\":{\"values\":[{\"key\":\"msg\",\"value\":{\"stringValue\":"
        "\"hi\"}},{\"key\":\"code\",\"value\":{\"intValue\":\"200\"}}]}}}]}]}]}",
        NOW);
    struct answer a;
    push_json(loki, json, NULL, &a);
    assert_int_equal(a.resp.status, 204);
    json_t *stream = first_stream(loki, "fake");
    json_t *entry = json_array_get(json_object_get(stream, "entries"), 0);
    assert_string_equal(json_string_value(json_object_get(entry, "line")),
                        "{\"code\":200,\"msg\":\"hi\"}");
    json_decref(stream);
    free(json);
    loki_free(loki);
}

static void test_request_without_records_is_422(void **state)
{
    struct loki *loki = new_loki(false);
    const char *bodies[] = {"{}", "{\"resourceLogs\":[{\"resource\":{\"attributes\":["
                                  "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"s\"}}"
                                  "]},\"scopeLogs\":[{\"logRecords\":[]}]}]}"};
    for (size_t i = 0; i < 2; i++) {
        struct answer a;
        push_json(loki, bodies[i], NULL, &a);
        assert_int_equal(a.resp.status, 422);
        char *message = otlp_error_message(&a);
        assert_string_equal(message, "error at least one valid stream is required for ingestion");
        free(message);
        response_clear(&a.resp);
    }
    assert_int_equal(loki_stored_entries(loki), 0);
    loki_free(loki);
}

static void test_content_type_must_match_exactly(void **state)
{
    struct loki *loki = new_loki(false);
    char *json = one_record("[]", NOW, "x");
    const char *bad[] = {"application/json; charset=utf-8", "Application/JSON",
                         "application/protobuf", NULL};
    for (size_t i = 0; i < 4; i++) {
        struct loki_push_request req = {.method = "POST",
                                        .path = "/otlp/v1/logs",
                                        .content_type = bad[i],
                                        .body = (uint8_t *)json,
                                        .body_len = strlen(json)};
        struct http_response resp = {.status = 200};
        size_t items;
        loki_push(loki, &req, &resp, &items);
        assert_int_equal(resp.status, 400);
        int code;
        char *message = rpc_status_message(&resp, &code);
        char *want = format_text("content type: %s is not supported", bad[i] ? bad[i] : "");
        assert_string_equal(message, want);
        free(want);
        free(message);
        response_clear(&resp);
    }
    free(json);
    loki_free(loki);
}

static void test_content_encodings(void **state)
{
    struct loki *loki = new_loki(false);
    char *json = one_record("[]", NOW, "zipped");
    uint8_t *gz = NULL;
    size_t gz_len = 0;
    assert_int_equal(compress_buffer(COMPRESSION_GZIP, (uint8_t *)json, strlen(json), &gz, &gz_len),
                     0);
    struct loki_push_request req = {.method = "POST",
                                    .path = "/otlp/v1/logs",
                                    .content_type = "application/json",
                                    .content_encoding = "gzip",
                                    .body = gz,
                                    .body_len = gz_len};
    struct http_response resp = {.status = 200};
    size_t items;
    loki_push(loki, &req, &resp, &items);
    assert_int_equal(resp.status, 204);
    assert_int_equal(items, 1);
    response_clear(&resp);

    const char *unsupported[] = {"br", "lz4", "deflate"};
    for (size_t i = 0; i < 3; i++) {
        req.content_encoding = unsupported[i];
        loki_push(loki, &req, &resp, &items);
        assert_int_equal(resp.status, 400);
        int code;
        char *message = rpc_status_message(&resp, &code);
        char *want = format_text("unsupported content encoding %s: only gzip, lz4 and zstd are "
                                 "supported",
                                 unsupported[i]);
        assert_string_equal(message, want);
        free(want);
        free(message);
        response_clear(&resp);
    }
    /* gzip named but not gzip: a decoding error, 400 */
    req.content_encoding = "gzip";
    req.body = (const uint8_t *)json;
    req.body_len = strlen(json);
    loki_push(loki, &req, &resp, &items);
    assert_int_equal(resp.status, 400);
    response_clear(&resp);
    free(gz);
    free(json);
    loki_free(loki);
}

static void test_protobuf_body_and_decode_errors(void **state)
{
    struct loki *loki = new_loki(false);
    char *json = one_record("[]", NOW, "proto");
    size_t len;
    uint8_t *pb = proto_from_json(SIGNAL_LOGS, json, &len);
    struct loki_push_request req = {.method = "POST",
                                    .path = "/otlp/v1/logs",
                                    .content_type = "application/x-protobuf",
                                    .body = pb,
                                    .body_len = len};
    struct http_response resp = {.status = 200};
    size_t items;
    loki_push(loki, &req, &resp, &items);
    assert_int_equal(resp.status, 204);
    response_clear(&resp);
    static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0x01};
    req.body = garbage;
    req.body_len = sizeof(garbage);
    loki_push(loki, &req, &resp, &items);
    assert_int_equal(resp.status, 400);
    response_clear(&resp);
    req.content_type = "application/json";
    req.body = (const uint8_t *)"{not json";
    req.body_len = 9;
    loki_push(loki, &req, &resp, &items);
    assert_int_equal(resp.status, 400);
    response_clear(&resp);
    free(pb);
    free(json);
    loki_free(loki);
}

static void test_routes_404_and_405(void **state)
{
    struct loki *loki = new_loki(false);
    struct loki_push_request req = {.method = "POST", .path = "/loki/api/v1/push"};
    struct http_response resp = {.status = 200};
    size_t items;
    loki_push(loki, &req, &resp, &items);
    assert_int_equal(resp.status, 404);
    char *text = body_text(&resp);
    assert_string_equal(text, "404 page not found\n");
    free(text);
    response_clear(&resp);
    req.path = "/otlp/v1/logs";
    req.method = "GET";
    loki_push(loki, &req, &resp, &items);
    assert_int_equal(resp.status, 405);
    response_clear(&resp);
    loki_free(loki);
}

static void test_auth_enabled_needs_org_id(void **state)
{
    struct loki *loki = new_loki(true);
    char *json = one_record("[]", NOW, "x");
    struct answer a;
    push_json(loki, json, NULL, &a);
    assert_int_equal(a.resp.status, 401);
    assert_string_equal(a.resp.content_type, "text/plain; charset=utf-8");
    char *text = body_text(&a.resp);
    assert_string_equal(text, "no org id\n");
    free(text);
    response_clear(&a.resp);

    push_json(loki, json, "team-a", &a);
    assert_int_equal(a.resp.status, 204);
    json_t *stream = first_stream(loki, "team-a");
    json_decref(stream);
    response_clear(&a.resp);

    static const char *const bad[][2] = {
        {"a/b", "tenant ID 'a/b' contains unsupported character '/'"},
        {"a|b", "multiple org IDs present"},
        {"..", "tenant ID is '.' or '..'"},
    };
    for (size_t i = 0; i < 3; i++) {
        push_json(loki, json, bad[i][0], &a);
        assert_int_equal(a.resp.status, 400);
        char *message = otlp_error_message(&a);
        assert_string_equal(message, bad[i][1]);
        free(message);
        response_clear(&a.resp);
    }
    free(json);
    loki_free(loki);
}

static void test_auth_disabled_uses_tenant_fake(void **state)
{
    struct loki *loki = new_loki(false);
    char *json = one_record("[]", NOW, "x");
    struct answer a;
    push_json(loki, json, "ignored", &a);
    assert_int_equal(a.resp.status, 204);
    json_t *view = loki_view(loki);
    json_t *tenants = json_object_get(view, "tenants");
    assert_int_equal(json_object_size(tenants), 1);
    assert_non_null(json_object_get(tenants, "fake"));
    json_decref(view);
    free(json);
    loki_free(loki);
}

static void test_old_and_new_entries_dropped_good_kept_400(void **state)
{
    struct loki *loki = new_loki(false);
    long long too_old = NOW - 7 * 24 * 3600 * SEC - SEC;
    long long too_new = NOW + 10 * 60 * SEC + SEC;
    char *json = format_text("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":["
                             "{\"timeUnixNano\":\"%lld\",\"body\":{\"stringValue\":\"old\"}},"
                             "{\"timeUnixNano\":\"%lld\",\"body\":{\"stringValue\":\"good\"}},"
                             "{\"timeUnixNano\":\"%lld\",\"body\":{\"stringValue\":\"new\"}}]}]}]}",
                             too_old, (long long)NOW, too_new);
    struct answer a;
    push_json(loki, json, NULL, &a);
    assert_int_equal(a.resp.status, 400);
    assert_int_equal(a.items, 1);
    char *message = otlp_error_message(&a);
    assert_string_equal(
        message,
        "1 errors like: entry for stream '{service_name=\"unknown_service\"}' has timestamp too "
        "old: 2023-11-07T22:13:19Z, oldest acceptable timestamp is: 2023-11-07T22:13:20Z; "
        "1 errors like: entry for stream '{service_name=\"unknown_service\"}' has timestamp too "
        "new: 2023-11-14T22:23:21Z");
    free(message);
    json_t *stream = first_stream(loki, "fake");
    json_t *entries = json_object_get(stream, "entries");
    assert_int_equal(json_array_size(entries), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 0), "line")),
                        "good");
    json_decref(stream);
    response_clear(&a.resp);
    free(json);
    loki_free(loki);
}

static void test_repeated_error_is_grouped_with_count(void **state)
{
    struct loki *loki = new_loki(false);
    long long old = NOW - 8 * 24 * 3600 * SEC;
    char *json = format_text("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":["
                             "{\"timeUnixNano\":\"%lld\",\"body\":{\"stringValue\":\"a\"}},"
                             "{\"timeUnixNano\":\"%lld\",\"body\":{\"stringValue\":\"b\"}}]}]}]}",
                             old, old);
    struct answer a;
    push_json(loki, json, NULL, &a);
    assert_int_equal(a.resp.status, 400);
    assert_int_equal(a.items, 0);
    char *message = otlp_error_message(&a);
    assert_non_null(strstr(message, "2 errors like: entry for stream"));
    free(message);
    assert_int_equal(loki_stored_entries(loki), 0);
    response_clear(&a.resp);
    free(json);
    loki_free(loki);
}

static void test_line_over_256kb_dropped(void **state)
{
    struct loki *loki = new_loki(false);
    size_t n = LOKI_MAX_LINE_SIZE + 1;
    char *line = malloc(n + 1);
    memset(line, 'x', n);
    line[n] = '\0';
    char *json = one_record("[]", NOW, line);
    struct answer a;
    push_json(loki, json, NULL, &a);
    assert_int_equal(a.resp.status, 400);
    char *message = otlp_error_message(&a);
    assert_string_equal(message, "Max entry size '262144' bytes exceeded for stream "
                                 "'{service_name=\"unknown_service\"}' while adding an entry "
                                 "with length '262145' bytes");
    free(message);
    response_clear(&a.resp);
    free(json);
    free(line);
    loki_free(loki);
}

/* The 16 index attributes other than service.name. */
static char *index_attributes(size_t n)
{
    static const char *const keys[] = {"service.namespace",      "service.instance.id",
                                       "deployment.environment", "deployment.environment.name",
                                       "cloud.region",           "cloud.availability_zone",
                                       "k8s.cluster.name",       "k8s.namespace.name",
                                       "k8s.pod.name",           "k8s.container.name",
                                       "container.name",         "k8s.replicaset.name",
                                       "k8s.deployment.name",    "k8s.statefulset.name",
                                       "k8s.daemonset.name",     "k8s.cronjob.name"};
    char *out = strdup("[");
    for (size_t i = 0; i < n; i++) {
        char *next = format_text("%s%s{\"key\":\"%s\",\"value\":{\"stringValue\":\"v\"}}", out,
                                 i ? "," : "", keys[i]);
        free(out);
        out = next;
    }
    char *done = format_text("%s]", out);
    free(out);
    return done;
}

static void test_label_names_limit_excludes_service_name(void **state)
{
    struct loki *loki = new_loki(false);
    /* 15 labels besides service_name: accepted */
    char *attrs = index_attributes(15);
    char *json = one_record(attrs, NOW, "ok");
    struct answer a;
    push_json(loki, json, NULL, &a);
    assert_int_equal(a.resp.status, 204);
    response_clear(&a.resp);
    free(json);
    free(attrs);
    /* 16: the whole stream is refused */
    attrs = index_attributes(16);
    json = one_record(attrs, NOW, "refused");
    push_json(loki, json, NULL, &a);
    assert_int_equal(a.resp.status, 400);
    assert_int_equal(a.items, 0);
    char *message = otlp_error_message(&a);
    assert_non_null(strstr(message, "has 16 label names; limit 15"));
    assert_non_null(strstr(message, "entry for stream '{cloud_availability_zone=\"v\""));
    free(message);
    response_clear(&a.resp);
    free(json);
    free(attrs);
    loki_free(loki);
}

static void test_view_streams_sorted_by_label_string(void **state)
{
    struct loki *loki = new_loki(false);
    const char *names[] = {"zeta", "alpha", "mid"};
    for (size_t i = 0; i < 3; i++) {
        char *attrs = format_text("[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
                                  "\"%s\"}}]",
                                  names[i]);
        char *json = one_record(attrs, NOW + (long long)i, names[i]);
        struct answer a;
        push_json(loki, json, NULL, &a);
        assert_int_equal(a.resp.status, 204);
        free(json);
        free(attrs);
    }
    json_t *view = loki_view(loki);
    json_t *streams =
        json_object_get(json_object_get(json_object_get(view, "tenants"), "fake"), "streams");
    assert_int_equal(json_array_size(streams), 3);
    const char *want[] = {"alpha", "mid", "zeta"};
    for (size_t i = 0; i < 3; i++) {
        json_t *labels = json_object_get(json_array_get(streams, i), "labels");
        assert_string_equal(json_string_value(json_object_get(labels, "service_name")), want[i]);
    }
    json_decref(view);
    loki_free(loki);
}

static void test_view_otlp_and_reset(void **state)
{
    struct loki *loki = new_loki(false);
    char *json = one_record("[]", NOW, "x");
    struct answer a;
    push_json(loki, json, NULL, &a);
    json_t *otlp = loki_view_otlp(loki);
    assert_true(json_is_array(otlp));
    assert_int_equal(json_array_size(otlp), 1);
    assert_non_null(json_object_get(json_array_get(otlp, 0), "resourceLogs"));
    json_decref(otlp);
    loki_reset(loki);
    assert_int_equal(loki_stored_entries(loki), 0);
    json_t *view = loki_view(loki);
    assert_int_equal(json_object_size(json_object_get(view, "tenants")), 0);
    json_decref(view);
    free(json);
    loki_free(loki);
}

static void test_discard_counts_and_answers_but_keeps_nothing(void **state)
{
    struct loki_options opts = {.discard = true, .now_ns = pinned_clock};
    struct loki *loki = loki_new(&opts);
    assert_non_null(loki);
    char *good = one_record("[]", NOW, "x");
    char *old = one_record("[]", NOW - 8 * 24 * 3600 * SEC, "too old");
    struct answer a;
    push_json(loki, good, NULL, &a);
    assert_int_equal(a.resp.status, 204);
    assert_int_equal(a.items, 1);
    response_clear(&a.resp);
    push_json(loki, old, NULL, &a); /* validated as usual: refused with Loki's 400 */
    assert_int_equal(a.resp.status, 400);
    assert_int_equal(a.items, 0);
    response_clear(&a.resp);
    assert_int_equal(loki_stored_entries(loki), 0);
    json_t *view = loki_view(loki);
    assert_int_equal(json_object_size(json_object_get(view, "tenants")), 0);
    json_decref(view);
    free(good);
    free(old);
    loki_free(loki);
}

static void test_refuse_uses_loki_formats(void **state)
{
    struct loki *loki = new_loki(false);
    char *json = one_record("[]", NOW, "abcd");
    struct loki_push_request req = {.method = "POST",
                                    .path = "/otlp/v1/logs",
                                    .content_type = "application/json",
                                    .body = (uint8_t *)json,
                                    .body_len = strlen(json)};
    struct answer a = {.resp.status = 200};
    loki_refuse(loki, &req, &a.resp, 429, NULL);
    assert_int_equal(a.resp.status, 429);
    char *message = otlp_error_message(&a);
    assert_string_equal(message,
                        "Ingestion rate limit exceeded for user fake (limit: 4194304 bytes/sec) "
                        "while attempting to ingest '1' lines totaling '4' bytes, reduce log "
                        "volume or contact your Loki administrator to see if the limit can be "
                        "increased");
    free(message);
    response_clear(&a.resp);
    loki_refuse(loki, &req, &a.resp, 500, "boom");
    assert_int_equal(a.resp.status, 503); /* OTLPError rewrites 500 */
    message = otlp_error_message(&a);
    assert_string_equal(message, "boom");
    free(message);
    response_clear(&a.resp);
    loki_refuse(loki, &req, &a.resp, 401, NULL);
    assert_int_equal(a.resp.status, 401);
    char *text = body_text(&a.resp);
    assert_string_equal(text, "no org id\n");
    free(text);
    response_clear(&a.resp);
    assert_int_equal(loki_stored_entries(loki), 0);
    free(json);
    loki_free(loki);
}

/* Bad input never crashes: mutated protobuf and JSON bodies get an answer, never a crash. */
static void test_mutated_bodies_always_get_an_answer(void **state)
{
    struct loki *loki = new_loki(false);
    char *json = format_text(
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"s\"}},{\"key\":\"m\",\"value\":{\"kvlistValue\":"
        "{\"values\":[{\"key\":\"a\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":"
        "\"1\"}]}}}]}}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"n\"},\"logRecords\":[{"
        "\"timeUnixNano\":\"%lld\",\"body\":{\"stringValue\":\"line\"},\"traceId\":"
        "\"0102030405060708090a0b0c0d0e0f10\"}]}]}]}",
        NOW);
    size_t len;
    uint8_t *pb = proto_from_json(SIGNAL_LOGS, json, &len);
    uint8_t *buf = malloc(len);
    size_t json_len = strlen(json);
    char *jbuf = malloc(json_len + 1);
    uint32_t seed = 12345;
    for (int round = 0; round < 400; round++) {
        memcpy(buf, pb, len);
        memcpy(jbuf, json, json_len + 1);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[(seed >> 8) % len] = (uint8_t)(seed >> 16);
            jbuf[(seed >> 4) % json_len] = (char)(0x20 + ((seed >> 20) % 0x5f));
        }
        size_t cut = (seed >> 3) % (len + 1);
        struct loki_push_request req = {.method = "POST",
                                        .path = "/otlp/v1/logs",
                                        .content_type = "application/x-protobuf",
                                        .body = buf,
                                        .body_len = round % 2 ? cut : len};
        struct http_response resp = {.status = 200};
        size_t items;
        loki_push(loki, &req, &resp, &items);
        assert_true(resp.status == 204 || (resp.status >= 400 && resp.status < 500));
        response_clear(&resp);
        req.content_type = "application/json";
        req.body = (const uint8_t *)jbuf;
        req.body_len = json_len;
        loki_push(loki, &req, &resp, &items);
        assert_true(resp.status == 204 || (resp.status >= 400 && resp.status < 500));
        response_clear(&resp);
    }
    free(jbuf);
    free(buf);
    free(pb);
    free(json);
    loki_free(loki);
}

static void test_body_over_max_recv_msg_size_is_413(void **state)
{
    struct loki *loki = new_loki(false);
    static const uint8_t start[] = "{";
    struct loki_push_request req = {.method = "POST",
                                    .path = "/otlp/v1/logs",
                                    .content_type = "application/json",
                                    .body = start,
                                    .body_len = 1,
                                    .body_too_large = true};
    struct answer a = {.resp.status = 200};
    loki_push(loki, &req, &a.resp, &a.items);
    assert_int_equal(a.resp.status, 413);
    char *message = otlp_error_message(&a);
    assert_non_null(strstr(message, "message size too large than max"));
    free(message);
    response_clear(&a.resp);
    loki_free(loki);
}

static void test_resource_without_records_is_skipped_silently(void **state)
{
    struct loki *loki = new_loki(false);
    char *json =
        format_text("{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
                    "\"value\":{\"stringValue\":\"empty\"}}]},\"scopeLogs\":[{\"logRecords\":[]}]},"
                    "{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"%lld\",\"body\":"
                    "{\"stringValue\":\"x\"}}]}]}]}",
                    NOW);
    struct answer a;
    push_json(loki, json, NULL, &a);
    assert_int_equal(a.resp.status, 204);
    assert_int_equal(a.items, 1);
    json_t *view = loki_view(loki);
    json_t *streams =
        json_object_get(json_object_get(json_object_get(view, "tenants"), "fake"), "streams");
    assert_int_equal(json_array_size(streams), 1);
    json_decref(view);
    free(json);
    loki_free(loki);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_answers_204_and_stores_the_stream),
        cmocka_unit_test(test_structured_metadata_fields_in_loki_order),
        cmocka_unit_test(test_timestamp_falls_back_to_observed_then_now),
        cmocka_unit_test(test_map_body_becomes_json_line),
        cmocka_unit_test(test_request_without_records_is_422),
        cmocka_unit_test(test_resource_without_records_is_skipped_silently),
        cmocka_unit_test(test_content_type_must_match_exactly),
        cmocka_unit_test(test_content_encodings),
        cmocka_unit_test(test_protobuf_body_and_decode_errors),
        cmocka_unit_test(test_routes_404_and_405),
        cmocka_unit_test(test_body_over_max_recv_msg_size_is_413),
        cmocka_unit_test(test_auth_enabled_needs_org_id),
        cmocka_unit_test(test_auth_disabled_uses_tenant_fake),
        cmocka_unit_test(test_old_and_new_entries_dropped_good_kept_400),
        cmocka_unit_test(test_repeated_error_is_grouped_with_count),
        cmocka_unit_test(test_line_over_256kb_dropped),
        cmocka_unit_test(test_label_names_limit_excludes_service_name),
        cmocka_unit_test(test_view_streams_sorted_by_label_string),
        cmocka_unit_test(test_view_otlp_and_reset),
        cmocka_unit_test(test_discard_counts_and_answers_but_keeps_nothing),
        cmocka_unit_test(test_refuse_uses_loki_formats),
        cmocka_unit_test(test_mutated_bodies_always_get_an_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
