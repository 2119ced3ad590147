/*
 * test_config.c - resolving and validating the collector config (reference/service/config.c):
 * ${...} expansion as confmap does it, --set as otelcol's flag does it, and the decode and
 * validation errors with their YAML paths. The tables are the specification.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "yamljson.h"

static int setup_environment(void **state)
{
    log_set_level(LOG_ERROR); /* the unset-variable warnings are expected here */
    setenv("TEST_HOST", "example.com", 1);
    setenv("TEST_PORT", "4318", 1);
    setenv("TEST_BOOL", "true", 1);
    setenv("TEST_LIST", "[a, b]", 1);
    setenv("TEST_QUOTED", "\"q\"", 1);
    setenv("TEST_EMPTY", "", 1);
    setenv("TEST_MAP", "k: v", 1);
    setenv("TEST_NESTED", "${env:TEST_HOST}", 1);
    setenv("TEST_SPACED", "  padded  ", 1);
    setenv("TEST_LOOP", "${env:TEST_LOOP}", 1);
    setenv("TEST_SELF_MAP", "k: ${env:TEST_SELF_MAP}", 1);
    setenv("TEST_BROKEN_YAML", "a: [", 1);
    unsetenv("TEST_UNSET");
    return 0;
}

static char *compact(const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    assert_non_null(text);
    return text;
}

/* Expands {"v": <input>} and returns the compact JSON of v (caller frees), or NULL with err. */
static char *expand_one(const char *input, struct error *err)
{
    json_t *tree = json_pack("{s:s}", "v", input);
    assert_non_null(tree);
    char *result = NULL;
    if (config_expand(tree, err) == 0)
        result = compact(json_object_get(tree, "v"));
    json_decref(tree);
    return result;
}

static void test_env_expansion_cases(void **state)
{
    /* clang-format off: one case per line, read as a table */
    static const struct {
        const char *input, *expected_json;
    } cases[] = {
        {"${env:TEST_HOST}", "\"example.com\""},
        {"${TEST_HOST}", "\"example.com\""},        /* default scheme is env */
        {"${env:TEST_PORT}", "4318"},               /* whole value keeps YAML type */
        {"port-${env:TEST_PORT}", "\"port-4318\""}, /* embedded is text */
        {"${env:TEST_BOOL}", "true"},
        {"${env:TEST_LIST}", "[\"a\",\"b\"]"},
        {"${env:TEST_MAP}", "{\"k\":\"v\"}"},
        {"${env:TEST_QUOTED}", "\"\\\"q\\\"\""}, /* a YAML string is kept verbatim */
        {"${env:TEST_SPACED}", "\"  padded  \""},
        {"${env:TEST_BROKEN_YAML}", "\"a: [\""}, /* invalid YAML is a string */
        {"${env:TEST_UNSET}", "null"},           /* unset: empty */
        {"a${env:TEST_UNSET}b", "\"ab\""},
        {"${env:TEST_EMPTY}", "null"},
        {"${env:TEST_UNSET:-fallback}", "\"fallback\""},
        {"${env:TEST_UNSET:-}", "\"\""},
        {"${env:TEST_UNSET:-42}", "42"},
        {"${env:TEST_HOST:-ignored}", "\"example.com\""},
        {"${env:TEST_HOST}:${env:TEST_PORT}", "\"example.com:4318\""},
        {"${TEST_HOST}/${TEST_HOST}", "\"example.com/example.com\""},
        {"${env:TEST_NESTED}", "\"example.com\""},     /* results are expanded again */
        {"$${env:TEST_HOST}", "\"${env:TEST_HOST}\""}, /* $$ escapes */
        {"$$${env:TEST_HOST}", "\"$example.com\""},
        {"$$TEST_HOST", "\"$TEST_HOST\""},
        {"$TEST_HOST", "\"$TEST_HOST\""}, /* no braces: left alone */
        {"cost: 5$", "\"cost: 5$\""},
        {"}${", "\"}${\""},
        /* upstream quirk, on purpose: an escaped reference stops expansion of the string */
        {"$${env:TEST_HOST} ${env:TEST_PORT}", "\"${env:TEST_HOST} ${env:TEST_PORT}\""},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct error err = {0};
        char *got = expand_one(cases[i].input, &err);
        if (!got)
            fail_msg("%s: unexpected error: %s", cases[i].input, err.message);
        if (strcmp(got, cases[i].expected_json) != 0)
            fail_msg("%s: expected %s, got %s", cases[i].input, cases[i].expected_json, got);
        free(got);
    }
}

static void test_env_expansion_errors(void **state)
{
    /* clang-format off: one case per line, read as a table */
    static const struct {
        const char *input, *message_part;
    } cases[] = {
        {"${env:BAD-NAME}", "environment variable \"BAD-NAME\" has invalid name"},
        {"${foo:bar}", "scheme \"foo\" is not supported for uri \"foo:bar\""},
        {"${env:X$Y}", "contains unsupported characters ('$')"},
        {"${1a:b}", "invalid uri: \"1a:b\""},
        {"${env:TEST_LOOP}", "too many recursive expansions"},
        {"${env:TEST_SELF_MAP}", "too many recursive expansions"},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct error err = {0};
        char *got = expand_one(cases[i].input, &err);
        if (got)
            fail_msg("%s: expected an error, got %s", cases[i].input, got);
        if (!strstr(err.message, cases[i].message_part))
            fail_msg("%s: expected \"%s\" in \"%s\"", cases[i].input, cases[i].message_part,
                     err.message);
    }
}

static void test_expansion_leaves_keys_and_walks_lists(void **state)
{
    json_t *tree = json_pack("{s:i,s:[s,{s:s}]}", "${env:TEST_HOST}", 1, "list", "${TEST_PORT}",
                             "k", "x${TEST_HOST}");
    struct error err = {0};
    assert_int_equal(config_expand(tree, &err), 0);
    char *got = compact(tree);
    assert_string_equal(got, "{\"${env:TEST_HOST}\":1,\"list\":[4318,{\"k\":\"xexample.com\"}]}");
    free(got);
    json_decref(tree);
}

static void test_file_scheme_reads_yaml(void **state)
{
    char path[] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char content[] = "endpoint: localhost:1234\n";
    assert_int_equal(write(fd, content, sizeof(content) - 1), (ssize_t)sizeof(content) - 1);
    close(fd);
    char input[128];
    snprintf(input, sizeof(input), "${file:%s}", path);
    struct error err = {0};
    char *got = expand_one(input, &err);
    unlink(path);
    assert_non_null(got);
    assert_string_equal(got, "{\"endpoint\":\"localhost:1234\"}");
    free(got);
}

/* ---- --set ---- */

static const char set_base[] = "processors:\n"
                               "  batch: {timeout: 1s, send_batch_size: 10}\n"
                               "exporters:\n"
                               "  otlphttp/loki: {endpoint: http://a}\n"
                               "service:\n"
                               "  pipelines:\n"
                               "    logs: {processors: [batch, other]}\n";

static void test_set_cases(void **state)
{
    /* clang-format off: one case per line, read as a table */
    static const struct {
        const char *assignment, *path, *expected_json;
    } cases[] = {
        {"processors.batch.timeout=2s", "processors",
         "{\"batch\":{\"send_batch_size\":10,\"timeout\":\"2s\"}}"},
        {"processors::batch::timeout=2s", "processors",
         "{\"batch\":{\"send_batch_size\":10,\"timeout\":\"2s\"}}"},
        {"exporters.otlphttp/loki.endpoint=http://b:1/otlp", "exporters",
         "{\"otlphttp/loki\":{\"endpoint\":\"http://b:1/otlp\"}}"},
        {"processors.batch.send_batch_size= 100 ", "processors",
         "{\"batch\":{\"send_batch_size\":100,\"timeout\":\"1s\"}}"},
        {"processors.batch.timeout=", "processors",
         "{\"batch\":{\"send_batch_size\":10,\"timeout\":null}}"},
        {"processors.batch={send_batch_max_size: 20}", "processors",
         "{\"batch\":{\"send_batch_max_size\":20,\"send_batch_size\":10,\"timeout\":\"1s\"}}"},
        {"service.pipelines.logs.processors=[batch]", "service",
         "{\"pipelines\":{\"logs\":{\"processors\":[\"batch\"]}}}"},
        {"receivers.otlp.protocols.http.include_metadata=true", "receivers",
         "{\"otlp\":{\"protocols\":{\"http\":{\"include_metadata\":true}}}}"},
        {"processors.batch.timeout=a=b", "processors",
         "{\"batch\":{\"send_batch_size\":10,\"timeout\":\"a=b\"}}"},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *tree = NULL;
        assert_int_equal(yamljson_parse(set_base, strlen(set_base), "base", &tree, NULL, NULL), 0);
        struct error err = {0};
        if (config_apply_set(tree, cases[i].assignment, &err) < 0)
            fail_msg("%s: %s", cases[i].assignment, err.message);
        char *got = compact(json_object_get(tree, cases[i].path));
        if (strcmp(got, cases[i].expected_json) != 0)
            fail_msg("%s: expected %s, got %s", cases[i].assignment, cases[i].expected_json, got);
        free(got);
        json_decref(tree);
    }
}

static void test_set_changes_one_yaml_alias_only(void **state)
{
    static const char text[] = "receivers:\n"
                               "  otlp: &otlp {protocols: {http: {endpoint: 127.0.0.1:0}}}\n"
                               "  otlp/2: *otlp\n"
                               "exporters: {otlp_http: {endpoint: http://x}}\n"
                               "service: {pipelines: {logs: {receivers: [otlp, otlp/2], "
                               "exporters: [otlp_http]}}}\n";
    const char *sets[] = {"receivers.otlp/2.protocols.http.endpoint=127.0.0.1:1"};
    struct config *cfg = NULL;
    struct error err = {0};
    if (config_load_text(text, "test", sets, 1, &cfg, &err) < 0)
        fail_msg("%s", err.message);
    json_t *receivers = json_object_get(cfg->tree, "receivers");
    char *first = compact(json_object_get(receivers, "otlp"));
    char *second = compact(json_object_get(receivers, "otlp/2"));
    assert_string_equal(first, "{\"protocols\":{\"http\":{\"endpoint\":\"127.0.0.1:0\"}}}");
    assert_string_equal(second, "{\"protocols\":{\"http\":{\"endpoint\":\"127.0.0.1:1\"}}}");
    free(first);
    free(second);
    config_free(cfg);
}

static void test_set_errors(void **state)
{
    /* clang-format off: one case per line, read as a table */
    static const struct {
        const char *assignment, *message_part;
    } cases[] = {
        {"processors.batch.timeout", "missing equal sign"},
        {"processors.batch.timeout=a: b", "invalid --set"},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *tree = json_object();
        struct error err = {0};
        assert_true(config_apply_set(tree, cases[i].assignment, &err) < 0);
        if (!strstr(err.message, cases[i].message_part))
            fail_msg("%s: expected \"%s\" in \"%s\"", cases[i].assignment, cases[i].message_part,
                     err.message);
        json_decref(tree);
    }
}

/* ---- decoding and validation ---- */

#define VALID_CONFIG                                                                               \
    "receivers:\n"                                                                                 \
    "  otlp:\n"                                                                                    \
    "    protocols:\n"                                                                             \
    "      http: {endpoint: 127.0.0.1:0}\n"                                                        \
    "processors:\n"                                                                                \
    "  batch: {}\n"                                                                                \
    "exporters:\n"                                                                                 \
    "  otlphttp/loki: {endpoint: http://127.0.0.1:1/otlp}\n"                                       \
    "service:\n"                                                                                   \
    "  pipelines:\n"                                                                               \
    "    logs: {receivers: [otlp], processors: [batch], exporters: [otlphttp/loki]}\n"

static void test_valid_config_builds_pipelines(void **state)
{
    struct config *cfg = NULL;
    struct error err = {0};
    const char *sets[] = {
        "service.pipelines.logs/2={receivers: [otlp], exporters: [otlphttp/loki]}"};
    if (config_load_text(VALID_CONFIG, "test", sets, 1, &cfg, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(cfg->pipeline_count, 2);
    const struct config_pipeline *second = NULL;
    for (size_t i = 0; i < cfg->pipeline_count; i++)
        if (!strcmp(cfg->pipelines[i].id, "logs/2"))
            second = &cfg->pipelines[i];
    assert_non_null(second);
    assert_int_equal(second->signal, SIGNAL_LOGS);
    assert_int_equal(second->processor_count, 0);
    struct config_component *exporter = config_find_component(cfg, KIND_EXPORTER, "otlphttp/loki");
    assert_non_null(exporter);
    assert_true(exporter->via_alias);
    assert_string_equal(exporter->descriptor->type, "otlp_http");
    assert_int_equal(exporter->used_signals, SIGNAL_BIT(SIGNAL_LOGS));
    config_free(cfg);
}

static void test_unused_components_are_accepted_and_not_used(void **state)
{
    struct config *cfg = NULL;
    struct error err = {0};
    const char *sets[] = {"receivers.otlp/unused.protocols.http.endpoint=127.0.0.1:0",
                          "exporters.otlp_http/unused.endpoint=http://x"};
    if (config_load_text(VALID_CONFIG, "test", sets, 2, &cfg, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(config_find_component(cfg, KIND_RECEIVER, "otlp/unused")->used_signals, 0);
    assert_int_equal(config_find_component(cfg, KIND_EXPORTER, "otlp_http/unused")->used_signals,
                     0);
    config_free(cfg);
}

static void test_set_values_are_expanded(void **state)
{
    struct config *cfg = NULL;
    struct error err = {0};
    const char *sets[] = {"exporters.otlphttp/loki.endpoint=http://${env:TEST_HOST}:3100/otlp"};
    if (config_load_text(VALID_CONFIG, "test", sets, 1, &cfg, &err) < 0)
        fail_msg("%s", err.message);
    json_t *endpoint = json_object_get(
        json_object_get(json_object_get(cfg->tree, "exporters"), "otlphttp/loki"), "endpoint");
    assert_string_equal(json_string_value(endpoint), "http://example.com:3100/otlp");
    config_free(cfg);
}

/* Each case: --set overrides on VALID_CONFIG (or a whole text), and a part of the message. */
static void test_validation_errors_name_the_path(void **state)
{
    /* clang-format off: one case per line, read as a table */
    static const struct {
        const char *text;
        const char *sets[3];
        const char *message_part;
    } cases[] = {
        {VALID_CONFIG,
         {"receivers.otlp.protocols.http.endpont=x"},
         "receivers.otlp.protocols.http: unknown key \"endpont\""},
        {VALID_CONFIG,
         {"receivers.foo.x=1"},
         "receivers: unknown type: \"foo\" for id: \"foo\" (valid values: [filelog otlp])"},
        {VALID_CONFIG,
         {"processors.nope=null"},
         "processors: unknown type: \"nope\" for id: \"nope\" (valid values: [batch "
         "k8sattributes resourcedetection])"},
        {VALID_CONFIG,
         {"exporters.zipkin/tempo.endpoint=x"},
         "exporters: unknown type: \"zipkin\" for id: \"zipkin/tempo\""},
        {VALID_CONFIG, {"connectors.forward=null"}, "connectors: unknown type: \"forward\""},
        {VALID_CONFIG, {"recievers.otlp=null"}, "unknown key \"recievers\""},
        {VALID_CONFIG, {"receivers.otlp/=null"}, "the part after / should not be empty"},
        {VALID_CONFIG, {"receivers.ot-lp=null"}, "invalid character(s) in type \"ot-lp\""},
        {VALID_CONFIG,
         {"processors.batch.timeout=soon"},
         "processors.batch.timeout: expected a duration"},
        {VALID_CONFIG,
         {"processors.batch.send_batch_max_size=10"},
         "invalid configuration: processors.batch: send_batch_max_size must be greater or equal "
         "to send_batch_size"},
        {VALID_CONFIG,
         {"receivers.otlp.protocols.grpc.max_recv_msg_size_mib=-1"},
         "receivers.otlp.protocols.grpc: invalid max_recv_msg_size_mib value, must be between 1 "
         "and 8796093022207: -1"},
        {VALID_CONFIG,
         {"receivers.otlp.protocols=null"},
         "receivers.otlp: must specify at least one protocol when using the OTLP receiver"},
        {VALID_CONFIG,
         {"receivers.otlp.protocols.http.tls={cert_file: a}"},
         "receivers.otlp.protocols.http.tls: not supported by otelcol-ref"},
        {VALID_CONFIG,
         {"service.pipelines.logs.receivers=[otlp/2]"},
         "service.pipelines.logs: references receiver \"otlp/2\" which is not configured"},
        {VALID_CONFIG,
         {"service.pipelines.logs.processors=[memory_limiter]"},
         "service.pipelines.logs: references processor \"memory_limiter\" which is not configured"},
        {VALID_CONFIG,
         {"service.pipelines.logs.exporters=[otlp_http]"},
         "service.pipelines.logs: references exporter \"otlp_http\" which is not configured"},
        {VALID_CONFIG,
         {"service.pipelines.logs.receivers=[]"},
         "service.pipelines.logs: must have at least one receiver"},
        {VALID_CONFIG,
         {"service.pipelines.logs.exporters=[]"},
         "service.pipelines.logs: must have at least one exporter"},
        {VALID_CONFIG,
         {"service.pipelines.logs.processors=[batch, batch]"},
         "references processor \"batch\" multiple times"},
        {VALID_CONFIG,
         {"service.pipelines.logs.exporter=[x]"},
         "service.pipelines.logs: unknown key \"exporter\""},
        {VALID_CONFIG,
         {"service.pipelines.profiles={receivers: [otlp], exporters: [otlphttp/loki]}"},
         "unknown signal \"profiles\""},
        {VALID_CONFIG,
         {"service.pipelines=null"},
         "service.pipelines: service must have at least one pipeline"},
        {VALID_CONFIG,
         {"service.extensions=[health_check]"},
         "service.extensions: references extension \"health_check\" which is not configured"},
        {VALID_CONFIG,
         {"service.telemetry.metrics.level=loud"},
         "service.telemetry.metrics.level: unknown metrics level \"loud\""},
        {VALID_CONFIG,
         {"service.telemetry.metrics.readers=[]"},
         "reader should exist when metric level is not none"},
        {VALID_CONFIG,
         {"service.telemetry.metrics.address=:8888"},
         "service.telemetry.metrics: unknown key \"address\""},
        {VALID_CONFIG, {"service.telemetry.logs.level=chatty"}, "unrecognized level: \"chatty\""},
        {"", {NULL}, "empty configuration file"},
        {"exporters: {otlp_http: {endpoint: http://x}}\n"
         "service: {pipelines: {logs: {receivers: [a], exporters: [otlp_http]}}}\n",
         {NULL},
         "no receiver configuration specified in config"},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        while (n < 3 && cases[i].sets[n])
            n++;
        struct config *cfg = NULL;
        struct error err = {0};
        int rc = config_load_text(cases[i].text, "test", cases[i].sets, n, &cfg, &err);
        if (rc == 0) {
            config_free(cfg);
            fail_msg("case %zu (%s): accepted", i, n ? cases[i].sets[0] : "text");
        }
        assert_null(cfg);
        if (!strstr(err.message, cases[i].message_part))
            fail_msg("case %zu: expected \"%s\" in \"%s\"", i, cases[i].message_part, err.message);
    }
}

static void test_telemetry_readers(void **state)
{
    /* clang-format off: one case per line, read as a table */
    static const struct {
        const char *set;
        size_t readers;
        const char *host;
        int port;
        bool suffix;
        enum telemetry_level level;
    } cases[] = {
        /* no readers written: otelconftelemetry's default, without type suffix */
        {NULL, 1, "localhost", 8888, false, TELEMETRY_NORMAL},
        {"service.telemetry.metrics.readers=[{pull: {exporter: {prometheus: {host: 0.0.0.0, port: "
         "9999}}}}]",
         1, "0.0.0.0", 9999, true, TELEMETRY_NORMAL},
        {"service.telemetry.metrics.readers=[{pull: {exporter: {prometheus: {host: '', port: 1, "
         "without_type_suffix: true}}}}]",
         1, "", 1, false, TELEMETRY_NORMAL},
        {"service.telemetry.metrics.readers=[{pull: {exporter: {prometheus/development: {port: 2, "
         "translation_strategy: UnderscoreEscapingWithoutSuffixes}}}}]",
         1, "localhost", 2, false, TELEMETRY_NORMAL},
        {"service.telemetry.metrics.level=none", 1, "localhost", 8888, false, TELEMETRY_NONE},
        {"service.telemetry.metrics.level=Detailed", 1, "localhost", 8888, false,
         TELEMETRY_DETAILED},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config *cfg = NULL;
        struct error err = {0};
        const char *sets[] = {cases[i].set};
        if (config_load_text(VALID_CONFIG, "test", sets, cases[i].set ? 1 : 0, &cfg, &err) < 0)
            fail_msg("case %zu: %s", i, err.message);
        const struct config_telemetry *t = &cfg->telemetry;
        assert_int_equal(t->reader_count, cases[i].readers);
        assert_string_equal(t->readers[0].host, cases[i].host);
        assert_int_equal(t->readers[0].port, cases[i].port);
        assert_int_equal(t->readers[0].type_suffix, cases[i].suffix);
        assert_int_equal(t->metrics_level, cases[i].level);
        config_free(cfg);
    }
}

static void test_logs_level_is_read(void **state)
{
    struct config *cfg = NULL;
    struct error err = {0};
    const char *sets[] = {"service.telemetry.logs.level=debug"};
    assert_int_equal(config_load_text(VALID_CONFIG, "test", sets, 1, &cfg, &err), 0);
    assert_true(cfg->telemetry.log_level_set);
    assert_int_equal(cfg->telemetry.log_level, LOG_DEBUG);
    config_free(cfg);
}

static void test_load_merges_files_in_order(void **state)
{
    char first[] = "/tmp/test_config_a_XXXXXX", second[] = "/tmp/test_config_b_XXXXXX";
    int fa = mkstemp(first), fb = mkstemp(second);
    assert_true(fa >= 0 && fb >= 0);
    const char *override = "processors:\n  batch: {send_batch_size: 5}\n";
    assert_true(write(fa, VALID_CONFIG, strlen(VALID_CONFIG)) > 0);
    assert_true(write(fb, override, strlen(override)) > 0);
    close(fa);
    close(fb);
    char file_uri[64];
    snprintf(file_uri, sizeof(file_uri), "file:%s", second);
    const char *uris[] = {first, file_uri};
    struct config *cfg = NULL;
    struct error err = {0};
    int rc = config_load(uris, 2, NULL, 0, &cfg, &err);
    unlink(first);
    unlink(second);
    if (rc < 0)
        fail_msg("%s", err.message);
    json_t *size = json_object_get(
        json_object_get(json_object_get(cfg->tree, "processors"), "batch"), "send_batch_size");
    assert_int_equal(json_integer_value(size), 5);
    config_free(cfg);
}

static void test_load_takes_env_and_yaml_locations(void **state)
{
    setenv("TEST_WHOLE_CONFIG", VALID_CONFIG, 1);
    const char *uris[] = {"env:TEST_WHOLE_CONFIG",
                          "yaml:processors::batch::timeout: ${env:TEST_PORT}ms"};
    struct config *cfg = NULL;
    struct error err = {0};
    if (config_load(uris, 2, NULL, 0, &cfg, &err) < 0)
        fail_msg("%s", err.message);
    json_t *timeout = json_object_get(
        json_object_get(json_object_get(cfg->tree, "processors"), "batch"), "timeout");
    assert_string_equal(json_string_value(timeout), "4318ms");
    config_free(cfg);
}

static void test_missing_file_is_an_error(void **state)
{
    const char *uris[] = {"/nonexistent/otelcol.yaml"};
    struct config *cfg = NULL;
    struct error err = {0};
    assert_true(config_load(uris, 1, NULL, 0, &cfg, &err) < 0);
    assert_null(cfg);
    assert_non_null(strstr(err.message, "cannot retrieve the configuration"));
    assert_non_null(strstr(err.message, "/nonexistent/otelcol.yaml"));
}

static void test_no_config_flag_is_an_error(void **state)
{
    struct config *cfg = NULL;
    struct error err = {0};
    assert_true(config_load(NULL, 0, NULL, 0, &cfg, &err) < 0);
    assert_string_equal(err.message, "at least one config flag must be provided");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_expansion_cases),
        cmocka_unit_test(test_env_expansion_errors),
        cmocka_unit_test(test_expansion_leaves_keys_and_walks_lists),
        cmocka_unit_test(test_file_scheme_reads_yaml),
        cmocka_unit_test(test_set_cases),
        cmocka_unit_test(test_set_changes_one_yaml_alias_only),
        cmocka_unit_test(test_set_errors),
        cmocka_unit_test(test_valid_config_builds_pipelines),
        cmocka_unit_test(test_unused_components_are_accepted_and_not_used),
        cmocka_unit_test(test_set_values_are_expanded),
        cmocka_unit_test(test_validation_errors_name_the_path),
        cmocka_unit_test(test_telemetry_readers),
        cmocka_unit_test(test_logs_level_is_read),
        cmocka_unit_test(test_load_merges_files_in_order),
        cmocka_unit_test(test_load_takes_env_and_yaml_locations),
        cmocka_unit_test(test_missing_file_is_an_error),
        cmocka_unit_test(test_no_config_flag_is_an_error),
    };
    return cmocka_run_group_tests(tests, setup_environment, NULL);
}
