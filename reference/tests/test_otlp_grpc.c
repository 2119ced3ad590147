/*
 * test_otlp_grpc.c - the `otlp` receiver's gRPC answers (reference/receivers/otlp/otlp_grpc.c),
 * checked against facts/receivers.md §1 and grpc-go's server.go: the receiver runs in-process on
 * an ephemeral port with test consumers behind it, and common/grpcc talks to it. Each test is one
 * behaviour: status code and message as a gRPC client sees them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "component_fixture.h"
#include "grpc_group.h"
#include "grpcc.h"
#include "otlp.h"
#include "otlp_json.h"
#include "pdata.h"
#include "telemetry.h"

#define TRACES_EXPORT "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define METRICS_EXPORT "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define LOGS_EXPORT "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

/* ---- the receiver under test, test consumers behind it ---- */

struct fixture {
    struct component_fixture *receiver;
    struct test_consumer consumers[SIGNAL_COUNT];
    struct grpcc *client;
};

/* Binds `yaml` as receivers.otlp, wires test consumers for `signals`, creates and starts, and
 * opens a client (gzip when `compression` says so) to the gRPC port. */
static struct fixture *fixture_start(const char *yaml, unsigned signals, const char *compression)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->receiver = component_fixture_new(&otlp_receiver_descriptor, "otlp", yaml);
    test_consumers_wire(f->consumers, signals, &f->receiver->component);
    component_fixture_start(f->receiver);
    int port = otlp_receiver_grpc_port(&f->receiver->component);
    assert_true(port > 0);
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", port);
    struct grpcc_options opts = {.insecure = true, .compression = compression};
    struct error err = {0};
    f->client = grpcc_new(target, &opts, &err);
    if (!f->client)
        fail_msg("client: %s", err.message);
    return f;
}

static void fixture_stop(struct fixture *f)
{
    grpcc_free(f->client);
    component_fixture_free(f->receiver);
    test_consumers_destroy(f->consumers);
    free(f);
}

#define GRPC_ONLY "protocols: {grpc: {endpoint: 127.0.0.1:0}}"
#define ALL_SIGNALS SIGNALS_ALL
#define TRACES_ONLY SIGNAL_BIT(SIGNAL_TRACES)

/* ---- requests ---- */

static const char traces_json[] =
    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"a\","
    "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\"},"
    "{\"name\":\"b\",\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
    "\"spanId\":\"0102030405060709\"}]}]}]}";
static const char metrics_json[] =
    "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"m\",\"gauge\":"
    "{\"dataPoints\":[{\"asInt\":\"1\"},{\"asInt\":\"2\"},{\"asInt\":\"3\"}]}}]}]}]}";
static const char logs_json[] =
    "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"hi\"}}]}]}]}";

/* The protobuf Export request of `json` for `signal`. Caller frees. */
static uint8_t *request_of(enum signal signal, const char *json, size_t *len)
{
    struct payload *p = NULL;
    struct error err = {0};
    if (otlp_json_decode_payload(signal, json, strlen(json), &p, &err) < 0)
        fail_msg("test JSON: %s", err.message);
    uint8_t *out = NULL;
    assert_int_equal(payload_encode(p, &out, len), 0);
    payload_free(p);
    return out;
}

static void export(struct fixture *f, const char *method, enum signal signal, const char *json,
                   struct grpcc_result *r)
{
    size_t len = 0;
    uint8_t *body = request_of(signal, json, &len);
    assert_int_equal(grpcc_unary(f->client, method, body, len, 10000, r), 0);
    free(body);
}

static void assert_status(const struct grpcc_result *r, int code, const char *message)
{
    if (r->code != code)
        fail_msg("status %s \"%s\", expected %s", grpc_code_name(r->code), r->message,
                 grpc_code_name(code));
    if (message && strcmp(r->message, message) != 0)
        fail_msg("message \"%s\", expected \"%s\"", r->message, message);
}

static void assert_success(struct grpcc_result *r)
{
    assert_status(r, GRPC_CODE_OK, NULL);
    /* the empty Export*ServiceResponse as pdata marshals it: partial_success always written */
    assert_int_equal(r->body_len, 2);
    assert_memory_equal(r->body, "\x0a\x00", 2);
    grpcc_result_release(r);
}

static uint64_t counter(struct fixture *f, const char *name)
{
    return tm_counter_value(telemetry_counter(f->receiver->telemetry, name, "",
                                              "receiver=\"otlp\",transport=\"grpc\""));
}

/* ---- tests ---- */

static void test_the_three_export_methods_answer_empty_response(void **state)
{
    struct fixture *f = fixture_start(GRPC_ONLY, ALL_SIGNALS, NULL);
    struct grpcc_result r;
    export(f, TRACES_EXPORT, SIGNAL_TRACES, traces_json, &r);
    assert_success(&r);
    export(f, METRICS_EXPORT, SIGNAL_METRICS, metrics_json, &r);
    assert_success(&r);
    export(f, LOGS_EXPORT, SIGNAL_LOGS, logs_json, &r);
    assert_success(&r);
    assert_int_equal(f->consumers[SIGNAL_TRACES].items, 2);
    assert_int_equal(f->consumers[SIGNAL_METRICS].items, 3);
    assert_int_equal(f->consumers[SIGNAL_LOGS].items, 1);
    fixture_stop(f);
}

static void test_gzip_requests_are_accepted(void **state)
{
    struct fixture *f = fixture_start(GRPC_ONLY, TRACES_ONLY, "gzip");
    struct grpcc_result r;
    export(f, TRACES_EXPORT, SIGNAL_TRACES, traces_json, &r);
    assert_success(&r);
    assert_int_equal(f->consumers[SIGNAL_TRACES].items, 2);
    fixture_stop(f);
}

static void test_services_of_unused_signals_are_unknown(void **state)
{
    /* grpc-go's handleStream words; the receiver registers only the services in use */
    struct fixture *f = fixture_start(GRPC_ONLY, TRACES_ONLY, NULL);
    struct grpcc_result r;
    export(f, METRICS_EXPORT, SIGNAL_METRICS, metrics_json, &r);
    assert_status(&r, GRPC_CODE_UNIMPLEMENTED,
                  "unknown service opentelemetry.proto.collector.metrics.v1.MetricsService");
    grpcc_result_release(&r);
    export(f, LOGS_EXPORT, SIGNAL_LOGS, logs_json, &r);
    assert_status(&r, GRPC_CODE_UNIMPLEMENTED,
                  "unknown service opentelemetry.proto.collector.logs.v1.LogsService");
    grpcc_result_release(&r);
    export(f, "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export",
           SIGNAL_LOGS, logs_json, &r);
    assert_status(&r, GRPC_CODE_UNIMPLEMENTED,
                  "unknown service "
                  "opentelemetry.proto.collector.profiles.v1development.ProfilesService");
    grpcc_result_release(&r);
    assert_int_equal(f->consumers[SIGNAL_METRICS].calls + f->consumers[SIGNAL_LOGS].calls, 0);
    fixture_stop(f);
}

static void test_unknown_methods_get_grpc_go_words(void **state)
{
    struct fixture *f = fixture_start(GRPC_ONLY, TRACES_ONLY, NULL);
    struct grpcc_result r;
    export(f, "/opentelemetry.proto.collector.trace.v1.TraceService/Push", SIGNAL_TRACES,
           traces_json, &r);
    assert_status(&r, GRPC_CODE_UNIMPLEMENTED,
                  "unknown method Push for service opentelemetry.proto.collector.trace.v1."
                  "TraceService");
    grpcc_result_release(&r);
    export(f, "/grpc.health.v1.Health/Check", SIGNAL_TRACES, traces_json, &r);
    assert_status(&r, GRPC_CODE_UNIMPLEMENTED, "unknown service grpc.health.v1.Health");
    grpcc_result_release(&r);
    export(f, "/Export", SIGNAL_TRACES, traces_json, &r);
    assert_status(&r, GRPC_CODE_UNIMPLEMENTED, "malformed method name: \"/Export\"");
    grpcc_result_release(&r);
    assert_int_equal(f->consumers[SIGNAL_TRACES].calls, 0);
    fixture_stop(f);
}

static void test_undecodable_message_is_internal_from_the_codec(void **state)
{
    /* grpc-go unmarshals before the Export handler runs: Internal, not InvalidArgument */
    struct fixture *f = fixture_start(GRPC_ONLY, TRACES_ONLY, NULL);
    static const uint8_t garbage[] = {0x0a, 0x05, 0x01}; /* a field longer than the message */
    struct grpcc_result r;
    assert_int_equal(grpcc_unary(f->client, TRACES_EXPORT, garbage, sizeof(garbage), 10000, &r), 0);
    assert_status(&r, GRPC_CODE_INTERNAL, NULL);
    if (strncmp(r.message, "grpc: error unmarshalling request: ", 35) != 0)
        fail_msg("message \"%s\"", r.message);
    grpcc_result_release(&r);
    assert_int_equal(f->consumers[SIGNAL_TRACES].calls, 0);
    assert_int_equal(counter(f, "otelcol_receiver_refused_spans"), 0);
    fixture_stop(f);
}

static void test_empty_request_succeeds_without_the_pipeline(void **state)
{
    struct fixture *f = fixture_start(GRPC_ONLY, TRACES_ONLY, NULL);
    struct test_consumer *t = &f->consumers[SIGNAL_TRACES];
    t->fail_code = -EBUSY; /* the memory limiter refuses: an empty request still succeeds */
    t->fail_kind = ERROR_REFUSED;
    t->fail_message = "data refused due to high memory usage";
    struct grpcc_result r;
    assert_int_equal(grpcc_unary(f->client, TRACES_EXPORT, NULL, 0, 10000, &r), 0);
    assert_success(&r);
    export(f, TRACES_EXPORT, SIGNAL_TRACES, "{\"resourceSpans\":[{\"scopeSpans\":[{}]}]}", &r);
    assert_success(&r);
    assert_int_equal(t->calls, 0);
    fixture_stop(f);
}

static void test_consumer_errors_map_to_unavailable_and_internal(void **state)
{
    static const struct {
        enum error_kind kind;
        const char *message;
        int code;
    } cases[] = {
        /* memory_limiter's refusal, as upstream answers it */
        {ERROR_REFUSED, "data refused due to high memory usage", GRPC_CODE_UNAVAILABLE},
        {ERROR_RETRYABLE, "sending queue is full", GRPC_CODE_UNAVAILABLE},
        {ERROR_PERMANENT, "bad data", GRPC_CODE_INTERNAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture *f = fixture_start(GRPC_ONLY, TRACES_ONLY, NULL);
        struct test_consumer *t = &f->consumers[SIGNAL_TRACES];
        t->fail_code = -EIO;
        t->fail_kind = cases[i].kind;
        t->fail_message = cases[i].message;
        struct grpcc_result r;
        export(f, TRACES_EXPORT, SIGNAL_TRACES, traces_json, &r);
        assert_status(&r, cases[i].code, cases[i].message);
        assert_null(r.body);
        grpcc_result_release(&r);
        fixture_stop(f);
    }
}

static void test_self_metrics_carry_transport_grpc(void **state)
{
    struct fixture *f = fixture_start(GRPC_ONLY, TRACES_ONLY, NULL);
    struct grpcc_result r;
    export(f, TRACES_EXPORT, SIGNAL_TRACES, traces_json, &r);
    assert_success(&r);
    struct test_consumer *t = &f->consumers[SIGNAL_TRACES];
    t->fail_code = -EIO;
    t->fail_kind = ERROR_REFUSED;
    t->fail_message = "data refused due to high memory usage";
    export(f, TRACES_EXPORT, SIGNAL_TRACES, traces_json, &r);
    grpcc_result_release(&r);
    assert_int_equal(counter(f, "otelcol_receiver_accepted_spans"), 2);
    assert_int_equal(counter(f, "otelcol_receiver_refused_spans"), 2);
    assert_int_equal(counter(f, "otelcol_receiver_failed_spans"), 0);
    size_t len = 0;
    char *text = telemetry_render(f->receiver->telemetry, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "otelcol_receiver_accepted_spans{receiver=\"otlp\","
                                 "transport=\"grpc\"} 2"));
    assert_null(strstr(text, "transport=\"http\"")); /* no HTTP protocol, no HTTP counters */
    free(text);
    fixture_stop(f);
}

static void test_message_size_limit_is_four_mib_or_configured(void **state)
{
    struct fixture *f = fixture_start(GRPC_ONLY, TRACES_ONLY, NULL);
    size_t big = 4 * 1024 * 1024 + 1;
    uint8_t *body = calloc(1, big);
    assert_non_null(body);
    struct grpcc_result r;
    assert_int_equal(grpcc_unary(f->client, TRACES_EXPORT, body, big, 30000, &r), 0);
    assert_status(&r, GRPC_CODE_RESOURCE_EXHAUSTED, NULL);
    grpcc_result_release(&r);
    fixture_stop(f);

    f = fixture_start("protocols: {grpc: {endpoint: 127.0.0.1:0, max_recv_msg_size_mib: 1}}",
                      TRACES_ONLY, NULL);
    assert_int_equal(grpcc_unary(f->client, TRACES_EXPORT, body, 1024 * 1024 + 1, 30000, &r), 0);
    assert_status(&r, GRPC_CODE_RESOURCE_EXHAUSTED, NULL);
    grpcc_result_release(&r);
    assert_int_equal(f->consumers[SIGNAL_TRACES].calls, 0);
    free(body);
    fixture_stop(f);
}

static void test_grpc_and_http_serve_side_by_side(void **state)
{
    struct fixture *f =
        fixture_start("protocols: {grpc: {endpoint: 127.0.0.1:0}, http: {endpoint: 127.0.0.1:0}}",
                      TRACES_ONLY, NULL);
    assert_true(otlp_receiver_http_port(&f->receiver->component) > 0);
    assert_int_not_equal(otlp_receiver_http_port(&f->receiver->component),
                         otlp_receiver_grpc_port(&f->receiver->component));
    struct grpcc_result r;
    export(f, TRACES_EXPORT, SIGNAL_TRACES, traces_json, &r);
    assert_success(&r);
    fixture_stop(f);
}

static void test_grpc_config_defaults_and_validation(void **state)
{
    static const struct {
        const char *yaml;
        const char *message; /* NULL = valid */
    } cases[] = {
        {"protocols: {grpc: }", NULL},
        {"protocols: {grpc: {endpoint: 0.0.0.0:4317, max_recv_msg_size_mib: 16, "
         "max_concurrent_streams: 100, read_buffer_size: 0, write_buffer_size: 1024, "
         "include_metadata: true, keepalive: {server_parameters: {max_connection_age: 30s, "
         "time: 10s}, enforcement_policy: {min_time: 1s, permit_without_stream: true}}}}",
         NULL},
        {"protocols: {grpc: {max_recv_msg_size_mib: -1}}",
         ".protocols.grpc: invalid max_recv_msg_size_mib value, must be between 1 and "
         "8796093022207: -1"},
        {"protocols: {grpc: {read_buffer_size: -1}}",
         ".protocols.grpc: invalid read_buffer_size value: -1"},
        {"protocols: {grpc: {write_buffer_size: -2}}",
         ".protocols.grpc: invalid write_buffer_size value: -2"},
        {"protocols: {grpc: {tls: {cert_file: a.pem}}}",
         ".protocols.grpc.tls: not supported by otelcol-ref"},
        {"protocols: {grpc: {auth: {authenticator: basicauth}}}",
         ".protocols.grpc.auth: not supported by otelcol-ref"},
        {"protocols: {grpc: {transport: unix, endpoint: /tmp/otlp.sock}}",
         ".protocols.grpc.transport: \"unix\" is not supported by otelcol-ref (tcp only)"},
        /* confighttp has compression_algorithms, configgrpc does not: an unknown key there */
        {"protocols: {grpc: {compression_algorithms: [gzip]}}", "compression_algorithms"},
        {"protocols: {grpc: {endpont: x}}", "endpont"},
    };
    const struct component_descriptor *d = &otlp_receiver_descriptor;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        component_config_expect(d, "otlp", cases[i].yaml, cases[i].message);
    /* the defaults: upstream's factory.go */
    void *cfg = calloc(1, d->config_size);
    assert_int_equal(component_config_bind(d, "otlp", "protocols: {grpc: }", cfg, NULL), 0);
    char described[8192] = {0};
    FILE *out = fmemopen(described, sizeof(described) - 1, "w");
    options_describe(d->options, out, 0);
    fclose(out);
    assert_non_null(strstr(described, "localhost:4317"));
    assert_non_null(strstr(described, "524288"));
    options_free(d->options, cfg);
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_three_export_methods_answer_empty_response),
        cmocka_unit_test(test_gzip_requests_are_accepted),
        cmocka_unit_test(test_services_of_unused_signals_are_unknown),
        cmocka_unit_test(test_unknown_methods_get_grpc_go_words),
        cmocka_unit_test(test_undecodable_message_is_internal_from_the_codec),
        cmocka_unit_test(test_empty_request_succeeds_without_the_pipeline),
        cmocka_unit_test(test_consumer_errors_map_to_unavailable_and_internal),
        cmocka_unit_test(test_self_metrics_carry_transport_grpc),
        cmocka_unit_test(test_message_size_limit_is_four_mib_or_configured),
        cmocka_unit_test(test_grpc_and_http_serve_side_by_side),
        cmocka_unit_test(test_grpc_config_defaults_and_validation),
    };
    return cmocka_run_group_tests(tests, grpc_group_setup, grpc_group_teardown);
}
