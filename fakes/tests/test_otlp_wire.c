/*
 * test_otlp_wire.c - the in-place reader of otlp_wire.h field by field (every wire type, the
 * length limits protobuf-c has), and its promise: otlp_wire_check never says "sure" to bytes
 * that payload_decode refuses, checked on a table of cases and on thousands of mutations; and
 * the checked walk of the fast paths, which must agree with the check on every one of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"
#include "otlp_wire.h"
#include "pdata.h"

#define LOGS_REQUEST                                                                               \
    (&opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor)
#define TRACES_REQUEST                                                                             \
    (&opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor)

struct read_case {
    const char *name;
    uint8_t bytes[16];
    size_t len;
    int rc;          /* of the first otlp_wire_next */
    uint32_t number; /* when rc == 1 */
    enum otlp_wire_type type;
    uint64_t value;
    size_t data_len;
};

static const struct read_case read_cases[] = {
    {"varint", {0x08, 0x96, 0x01}, 3, 1, 1, OTLP_WIRE_VARINT, 150, 0},
    {"fixed64",
     {0x09, 1, 0, 0, 0, 0, 0, 0, 0x80},
     9,
     1,
     1,
     OTLP_WIRE_FIXED64,
     0x8000000000000001ull,
     0},
    {"fixed32", {0x15, 0xff, 0, 0, 0}, 5, 1, 2, OTLP_WIRE_FIXED32, 255, 0},
    {"length-delimited", {0x1a, 2, 'h', 'i'}, 4, 1, 3, OTLP_WIRE_LEN, 0, 2},
    {"unknown field 100", {0xa2, 0x06, 1, 'x'}, 4, 1, 100, OTLP_WIRE_LEN, 0, 1},
    {"ten-byte varint, bit 63",
     {0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
     11,
     1,
     1,
     OTLP_WIRE_VARINT,
     0x8000000000000000ull,
     0},
    {"empty message", {0}, 0, 0, 0, 0, 0, 0},
    {"ten-byte varint with bits past 64",
     {0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02},
     11,
     -1,
     0,
     0,
     0,
     0},
    {"eleven-byte varint",
     {0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
     12,
     -1,
     0,
     0,
     0,
     0},
    {"truncated varint", {0x08, 0x80}, 2, -1, 0, 0, 0, 0},
    {"truncated fixed64", {0x09, 1, 2, 3}, 4, -1, 0, 0, 0, 0},
    {"truncated fixed32", {0x0d, 1, 2}, 3, -1, 0, 0, 0, 0},
    {"length past the end", {0x0a, 5, 'a'}, 3, -1, 0, 0, 0, 0},
    {"six-byte length prefix", {0x0a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00}, 7, -1, 0, 0, 0, 0},
    {"six-byte tag", {0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01}, 7, -1, 0, 0, 0, 0},
    {"field number 0", {0x00, 0x01}, 2, -1, 0, 0, 0, 0},
    {"start group", {0x0b, 0x0c}, 2, -1, 0, 0, 0, 0},
    {"end group", {0x0c}, 1, -1, 0, 0, 0, 0},
    {"wire type 6", {0x0e, 0}, 2, -1, 0, 0, 0, 0},
    {"wire type 7", {0x0f, 0}, 2, -1, 0, 0, 0, 0},
};

static void test_reader_reads_every_wire_type_and_refuses_the_rest(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]); i++) {
        const struct read_case *c = &read_cases[i];
        struct otlp_wire_reader r;
        struct otlp_wire_field f;
        otlp_wire_init(&r, c->bytes, c->len);
        int rc = otlp_wire_next(&r, &f);
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d", c->name, rc, c->rc);
        if (rc != 1)
            continue;
        assert_int_equal(f.number, c->number);
        assert_int_equal(f.type, c->type);
        if (c->type == OTLP_WIRE_LEN)
            assert_int_equal(f.len, c->data_len);
        else
            assert_true(f.value == c->value);
        assert_int_equal(otlp_wire_next(&r, &f), 0); /* each case is one field */
    }
}

static const char LOGS_JSON[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "{\"stringValue\":\"web\"}},{\"key\":\"k8s.pod.name\",\"value\":{\"stringValue\":\"p\"}}]},"
    "\"scopeLogs\":[{\"scope\":{\"name\":\"s\",\"version\":\"1\"},\"logRecords\":[{"
    "\"timeUnixNano\":\"1700000000000000000\",\"severityNumber\":9,\"severityText\":\"INFO\","
    "\"body\":{\"stringValue\":\"hello\"},\"attributes\":[{\"key\":\"a\",\"value\":{\"intValue\":"
    "\"5\"}},{\"key\":\"m\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"x\",\"value\":"
    "{\"doubleValue\":1.5}}]}}}],\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
    "\"spanId\":\"0102030405060708\"}]}]}]}";

static const char TRACES_JSON[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "{\"stringValue\":\"api\"}}]},\"scopeSpans\":[{\"spans\":[{\"traceId\":"
    "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\",\"parentSpanId\":"
    "\"1112131415161718\",\"name\":\"GET\",\"kind\":2,\"startTimeUnixNano\":\"5\","
    "\"endTimeUnixNano\":\"6\",\"attributes\":[{\"key\":\"http.status\",\"value\":{\"intValue\":"
    "\"200\"}}],\"events\":[{\"name\":\"e\"}],\"status\":{\"code\":1}}]}]}]}";

static bool decodes(enum signal s, const uint8_t *buf, size_t len)
{
    struct payload *p = NULL;
    int rc = payload_decode(s, buf, len, &p, NULL);
    payload_free(p);
    return rc == 0;
}

/* ---- the checked walk ---- */

/* Reads `m` (a `desc` message) to its end with otlp_wire_checked_next, opening every message
 * field as a fast path does, or leaving the ones at odd depths to the reader's own check:
 * both ways must agree with otlp_wire_check. True when every level was read to its end. */
static bool walk_checked(struct otlp_wire_message *m, const ProtobufCMessageDescriptor *desc,
                         int level)
{
    uint64_t walk = 0;
    if (level % 2 == 0)
        for (unsigned i = 0; i < desc->n_fields; i++)
            if (desc->fields[i].type == PROTOBUF_C_TYPE_MESSAGE && desc->fields[i].id < 64)
                walk |= OTLP_WIRE_WALK(desc->fields[i].id);
    struct otlp_wire_field f;
    int rc;
    while ((rc = otlp_wire_checked_next(m, walk, &f)) == 1) {
        if (f.number >= 64 || !(walk & OTLP_WIRE_WALK(f.number)))
            continue;
        const ProtobufCFieldDescriptor *fd =
            protobuf_c_message_descriptor_get_field(desc, f.number);
        struct otlp_wire_message child;
        if (!otlp_wire_open_field(&child, m, &f) ||
            !walk_checked(&child, fd->descriptor, level + 1))
            return false;
    }
    return rc == 0;
}

static bool checked_walk_sure(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
                              size_t len, int depth)
{
    struct otlp_wire_message m;
    return otlp_wire_open(&m, desc, buf, len, depth) && walk_checked(&m, desc, 0);
}

static void test_check_is_sure_of_encoded_requests(void **state)
{
    (void)state;
    size_t len;
    uint8_t *logs = proto_from_json(SIGNAL_LOGS, LOGS_JSON, &len);
    assert_true(otlp_wire_check(LOGS_REQUEST, logs, len, 1));
    assert_true(checked_walk_sure(LOGS_REQUEST, logs, len, 1));
    free(logs);
    uint8_t *traces = proto_from_json(SIGNAL_TRACES, TRACES_JSON, &len);
    assert_true(otlp_wire_check(TRACES_REQUEST, traces, len, 1));
    assert_true(checked_walk_sure(TRACES_REQUEST, traces, len, 1));
    free(traces);
}

struct check_case {
    const char *name;
    uint8_t bytes[40];
    size_t len;
    bool sure;
};

/* ExportLogsServiceRequest{resource_logs=1{scope_logs=2{log_records=2{...}}}} around a record. */
static const struct check_case check_cases[] = {
    {"record with a time", {0x0a, 13, 0x12, 11, 0x12, 9, 0x09, 1, 0, 0, 0, 0, 0, 0, 0}, 15, true},
    {"unknown fields are skipped",
     {0x0a, 16, 0x12, 14, 0x12, 12, 0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0xf8, 0x01, 7},
     18,
     true},
    {"time as a varint (wrong wire type)", {0x0a, 6, 0x12, 4, 0x12, 2, 0x08, 1}, 8, false},
    {"time sent twice",
     {0x0a, 22, 0x12, 20, 0x12, 18, 0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0x09, 2, 0, 0, 0, 0, 0, 0, 0},
     24,
     false},
    {"trace id of 3 bytes", {0x0a, 9, 0x12, 7, 0x12, 5, 0x4a, 3, 1, 2, 3}, 11, false},
    {"body with two members of its oneof",
     {0x0a, 13, 0x12, 11, 0x12, 9, 0x2a, 7, 0x0a, 1, 'a', 0x18, 1, 0x10, 1},
     15,
     false},
    {"a group inside a record", {0x0a, 7, 0x12, 5, 0x12, 3, 0x0b, 0x0c, 0}, 9, false},
    {"severity packed as bytes", {0x0a, 7, 0x12, 5, 0x12, 3, 0x12, 1, 9}, 9, false},
    {"record cut short", {0x0a, 6, 0x12, 4, 0x12, 2, 0x09, 1}, 8, false},
};

static void test_check_refuses_what_it_cannot_be_sure_of(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
        const struct check_case *c = &check_cases[i];
        bool sure = otlp_wire_check(LOGS_REQUEST, c->bytes, c->len, 1);
        if (sure != c->sure)
            fail_msg("%s: check says %d, want %d", c->name, sure, c->sure);
        if (checked_walk_sure(LOGS_REQUEST, c->bytes, c->len, 1) != c->sure)
            fail_msg("%s: the checked walk says %d, want %d", c->name, !sure, c->sure);
        if (sure && !decodes(SIGNAL_LOGS, c->bytes, c->len))
            fail_msg("%s: sure, but payload_decode refuses it", c->name);
    }
}

static void test_check_refuses_nesting_past_its_limit(void **state)
{
    (void)state;
    /* A record body of 25 arrays within arrays: AnyValue{array_value=5{values=1{AnyValue}}},
     * about 55 levels in all, every length one byte. */
    uint8_t inner[128];
    size_t inner_len = 0;
    for (int level = 0; level < 25; level++) {
        uint8_t array[128];
        size_t n = 0;
        array[n++] = 0x0a;
        array[n++] = (uint8_t)inner_len;
        memcpy(array + n, inner, inner_len);
        n += inner_len;
        inner[0] = 0x2a;
        inner[1] = (uint8_t)n;
        memcpy(inner + 2, array, n);
        inner_len = n + 2;
    }
    /* LogRecord{body=5{inner}} in ScopeLogs in ResourceLogs in the request. */
    uint8_t buf[128];
    size_t len = 0, record_len = 2 + inner_len;
    const uint8_t frame[] = {0x0a, (uint8_t)(record_len + 4), 0x12, (uint8_t)(record_len + 2),
                             0x12, (uint8_t)record_len,       0x2a, (uint8_t)inner_len};
    memcpy(buf, frame, sizeof(frame));
    len = sizeof(frame);
    memcpy(buf + len, inner, inner_len);
    len += inner_len;
    assert_true(decodes(SIGNAL_LOGS, buf, len));
    assert_true(otlp_wire_check(LOGS_REQUEST, buf, len, 1));
    assert_false(otlp_wire_check(LOGS_REQUEST, buf, len, 60)); /* the same, deeper down */
    assert_true(checked_walk_sure(LOGS_REQUEST, buf, len, 1));
    assert_false(checked_walk_sure(LOGS_REQUEST, buf, len, 60));
}

/* xorshift: the same mutations on every run. */
static uint32_t next_random(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void mutate_and_compare(enum signal signal, const ProtobufCMessageDescriptor *desc,
                               const char *json)
{
    size_t len;
    uint8_t *good = proto_from_json(signal, json, &len);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    uint32_t seed = 12345;
    size_t sure = 0;
    for (int round = 0; round < 4000; round++) {
        memcpy(buf, good, len);
        int changes = 1 + (int)(next_random(&seed) % 3);
        for (int k = 0; k < changes; k++)
            buf[next_random(&seed) % len] = (uint8_t)next_random(&seed);
        size_t cut = round % 5 == 0 ? next_random(&seed) % len : len;
        bool walked = checked_walk_sure(desc, buf, cut, 1);
        if (walked != otlp_wire_check(desc, buf, cut, 1))
            fail_msg("round %d: the checked walk says %d, the check the opposite", round, walked);
        if (walked) {
            sure++;
            if (!decodes(signal, buf, cut))
                fail_msg("round %d: sure of bytes payload_decode refuses", round);
        }
    }
    assert_true(sure > 100); /* the check is not simply always "not sure" */
    free(buf);
    free(good);
}

static void test_check_never_sure_of_what_payload_decode_refuses(void **state)
{
    (void)state;
    mutate_and_compare(SIGNAL_LOGS, LOGS_REQUEST, LOGS_JSON);
    mutate_and_compare(SIGNAL_TRACES, TRACES_REQUEST, TRACES_JSON);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_reads_every_wire_type_and_refuses_the_rest),
        cmocka_unit_test(test_check_is_sure_of_encoded_requests),
        cmocka_unit_test(test_check_refuses_what_it_cannot_be_sure_of),
        cmocka_unit_test(test_check_refuses_nesting_past_its_limit),
        cmocka_unit_test(test_check_never_sure_of_what_payload_decode_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
