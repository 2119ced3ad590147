/*
 * test_wiring.c - the per-run --set overrides: every otlp receiver protocol gets its own
 * loopback port (never the config's 0.0.0.0:4317/4318), every mapped exporter the URL of its
 * fake, the self-metrics reader a port; the scenario's own overrides come first so the
 * harness's win.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "report.h"

#include "wiring.h"

static void test_overrides_cover_receivers_exporters_and_metrics(void **state)
{
    (void)state;
    static struct scenario s; /* large: not on the stack */
    memset(&s, 0, sizeof(s));
    s.config = json_loads("{\"receivers\":{\"otlp\":{\"protocols\":{\"grpc\":null,\"http\":{}}},"
                          "\"otlp/second\":{\"protocols\":{\"http\":null}},\"filelog\":{}},"
                          "\"exporters\":{\"otlphttp/loki\":{}}}",
                          0, NULL);
    assert_non_null(s.config);
    s.endpoints[0].exporter = "otlphttp/loki";
    s.endpoints[0].fake = FAKE_LOKI;
    s.endpoint_count = 1;
    s.sets[0] = "processors.batch.timeout=1h";
    s.set_count = 1;
    char endpoints[FAKE_COUNT][256] = {"http://127.0.0.1:1/api/v1/otlp", "http://127.0.0.1:2/otlp",
                                       "http://127.0.0.1:3"};
    static struct wiring w;
    assert_int_equal(wiring_build(&w, &s, endpoints, NULL), 0);

    assert_int_equal(w.receiver_count, 2);
    assert_string_equal(w.receivers[0].id, "otlp");
    assert_true(w.receivers[0].http_port > 0 && w.receivers[0].grpc_port > 0);
    assert_true(w.receivers[1].http_port > 0 && w.receivers[1].grpc_port == 0);
    assert_int_equal(w.listen_count, 4); /* 3 receiver ports + metrics */
    assert_int_equal(wiring_http_port(&w, NULL), w.receivers[0].http_port);
    assert_int_equal(wiring_http_port(&w, "otlp/second"), w.receivers[1].http_port);
    assert_int_equal(wiring_http_port(&w, "otlp/none"), 0);

    char want[256];
    assert_int_equal(w.set_count, 6);
    assert_string_equal(w.set_ptrs[0], "processors.batch.timeout=1h");
    snprintf(want, sizeof(want), "receivers.otlp.protocols.http.endpoint=127.0.0.1:%d",
             w.receivers[0].http_port);
    assert_string_equal(w.set_ptrs[1], want);
    snprintf(want, sizeof(want), "receivers.otlp.protocols.grpc.endpoint=127.0.0.1:%d",
             w.receivers[0].grpc_port);
    assert_string_equal(w.set_ptrs[2], want);
    assert_string_equal(w.set_ptrs[4], "exporters.otlphttp/loki.endpoint=http://127.0.0.1:2/otlp");
    snprintf(want, sizeof(want),
             "service.telemetry.metrics.readers=[{pull: {exporter: {prometheus: {host: "
             "127.0.0.1, port: %d}}}}]",
             w.metrics_port);
    assert_string_equal(w.set_ptrs[5], want);
    assert_null(w.set_ptrs[6]);
    /* Ports are distinct. */
    for (size_t i = 0; i < w.listen_count; i++)
        for (size_t j = i + 1; j < w.listen_count; j++)
            assert_int_not_equal(w.listen_ports[i], w.listen_ports[j]);
    json_decref(s.config);
}

/* An otlp/otlp_grpc exporter gets the fake's gRPC host:port and plaintext, as the seed's
 * otlp/tempo has it; a fake without a gRPC front is an error, not a silent HTTP URL. */
static void test_grpc_exporter_gets_host_port_and_insecure(void **state)
{
    (void)state;
    static struct scenario s;
    memset(&s, 0, sizeof(s));
    s.config = json_loads("{\"receivers\":{\"otlp\":{\"protocols\":{\"grpc\":{}}}},"
                          "\"exporters\":{\"otlp/tempo\":{}}}",
                          0, NULL);
    assert_non_null(s.config);
    s.endpoints[0] = (struct endpoint_map){"otlp/tempo", FAKE_TEMPO, true};
    s.endpoint_count = 1;
    char endpoints[FAKE_COUNT][256] = {"http://127.0.0.1:1/api/v1/otlp", "http://127.0.0.1:2/otlp",
                                       "http://127.0.0.1:3"};
    char grpc[FAKE_COUNT][256] = {"", "", "127.0.0.1:4"};
    static struct wiring w;
    assert_int_equal(wiring_build_grpc(&w, &s, endpoints, grpc, NULL), 0);
    assert_int_equal(wiring_grpc_port(&w, NULL), w.receivers[0].grpc_port);
    assert_int_equal(wiring_http_port(&w, NULL), 0);
    assert_string_equal(w.set_ptrs[1], "exporters.otlp/tempo.endpoint=127.0.0.1:4");
    assert_string_equal(w.set_ptrs[2], "exporters.otlp/tempo.tls.insecure=true");

    struct error err = {0};
    assert_int_equal(wiring_build(&w, &s, endpoints, &err), -EINVAL);
    assert_string_equal(err.message, "exporter otlp/tempo: the fake tempo has no gRPC endpoint");
    json_decref(s.config);
}

/* The node's files move under the run's temp dir: absolute globs of every filelog receiver get
 * it in front, relative ones stay; file_storage's directory (the default when unset) too, and
 * it exists afterwards. */
static void test_files_point_into_the_run_root(void **state)
{
    (void)state;
    static struct scenario s;
    memset(&s, 0, sizeof(s));
    s.config = json_loads(
        "{\"receivers\":{\"filelog\":{\"include\":[\"/var/log/pods/*/*/*.log\",\"rel/*.log\"],"
        "\"exclude\":[\"/var/log/pods/opentelemetry_otel-collector*/*/*.log\"]},"
        "\"filelog/two\":{\"include\":[\"/var/log/x.log\"]},\"otlp\":{}},"
        "\"extensions\":{\"file_storage\":{},\"file_storage/b\":{\"directory\":\"/data/b\","
        "\"compaction\":{\"directory\":\"/data/tmp\"}},\"health_check\":{}}}",
        0, NULL);
    assert_non_null(s.config);
    char root[] = "/tmp/test_wiring_XXXXXX";
    assert_non_null(mkdtemp(root));
    static struct wiring w;
    memset(&w, 0, sizeof(w));
    assert_int_equal(wiring_build_files(&w, &s, root, NULL), 0);
    char want[1024];
    assert_int_equal(w.set_count, 6);
    snprintf(want, sizeof(want),
             "receivers.filelog.include=[\"%s/var/log/pods/*/*/*.log\", \"rel/*.log\"]", root);
    assert_string_equal(w.set_ptrs[0], want);
    snprintf(
        want, sizeof(want),
        "receivers.filelog.exclude=[\"%s/var/log/pods/opentelemetry_otel-collector*/*/*.log\"]",
        root);
    assert_string_equal(w.set_ptrs[1], want);
    snprintf(want, sizeof(want), "receivers.filelog/two.include=[\"%s/var/log/x.log\"]", root);
    assert_string_equal(w.set_ptrs[2], want);
    snprintf(want, sizeof(want),
             "extensions.file_storage.directory=\"%s/var/lib/otelcol/file_storage\"", root);
    assert_string_equal(w.set_ptrs[3], want);
    snprintf(want, sizeof(want), "extensions.file_storage/b.directory=\"%s/data/b\"", root);
    assert_string_equal(w.set_ptrs[4], want);
    snprintf(want, sizeof(want), "extensions.file_storage/b.compaction.directory=\"%s/data/tmp\"",
             root);
    assert_string_equal(w.set_ptrs[5], want);
    snprintf(want, sizeof(want), "%s/var/lib/otelcol/file_storage", root);
    assert_int_equal(access(want, W_OK), 0);
    json_decref(s.config);
    report_remove_tree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overrides_cover_receivers_exporters_and_metrics),
        cmocka_unit_test(test_grpc_exporter_gets_host_port_and_insecure),
        cmocka_unit_test(test_files_point_into_the_run_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
