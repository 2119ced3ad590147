/*
 * test_config_subset.c - running part of a config: the pipelines kept, the components no kept
 * pipeline uses removed, what was left out described, and every way a "subset" that would
 * change the pipeline is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_subset.h"

/* The team's shape (SEED-CONFIG.md), trimmed to ids. */
static const char team[] =
    "{\"receivers\":{\"otlp\":{},\"filelog\":{\"include\":[\"/var/log/pods/*/*/*.log\"]},"
    "\"prometheus\":{}},"
    "\"processors\":{\"batch\":{},\"memory_limiter\":{},\"k8sattributes\":{},"
    "\"resourcedetection\":{}},"
    "\"exporters\":{\"otlphttp/prometheus\":{},\"otlphttp/loki\":{},\"otlp/tempo\":{}},"
    "\"extensions\":{\"file_storage\":{}},"
    "\"service\":{\"extensions\":[\"file_storage\"],\"pipelines\":{"
    "\"metrics\":{\"receivers\":[\"otlp\",\"prometheus\"],\"processors\":[\"memory_limiter\","
    "\"k8sattributes\",\"resourcedetection\",\"batch\"],\"exporters\":[\"otlphttp/prometheus\"]},"
    "\"logs\":{\"receivers\":[\"otlp\",\"filelog\"],\"processors\":[\"memory_limiter\","
    "\"k8sattributes\",\"resourcedetection\",\"batch\"],\"exporters\":[\"otlphttp/loki\"]},"
    "\"traces\":{\"receivers\":[\"otlp\"],\"processors\":[\"memory_limiter\",\"k8sattributes\","
    "\"resourcedetection\",\"batch\"],\"exporters\":[\"otlp/tempo\"]}}}}";

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fprintf(stderr, "bad test JSON: %s\n", e.text);
    assert_non_null(v);
    return v;
}

static void test_logs_subset_keeps_what_it_uses_and_says_what_it_left_out(void **state)
{
    (void)state;
    json_t *config = parse(team);
    json_t *pipelines = parse("{\"logs\":{\"receivers\":[\"otlp\",\"filelog\"],"
                              "\"processors\":[\"batch\"],\"exporters\":[\"otlphttp/loki\"]}}");
    json_t *effective = NULL, *left_out = NULL;
    assert_int_equal(config_subset_apply(config, pipelines, &effective, &left_out, NULL), 0);
    json_t *want = parse(
        "{\"receivers\":{\"otlp\":{},\"filelog\":{\"include\":[\"/var/log/pods/*/*/*.log\"]}},"
        "\"processors\":{\"batch\":{}},\"exporters\":{\"otlphttp/loki\":{}},"
        "\"extensions\":{\"file_storage\":{}},"
        "\"service\":{\"extensions\":[\"file_storage\"],\"pipelines\":{\"logs\":{\"receivers\":"
        "[\"otlp\",\"filelog\"],\"processors\":[\"batch\"],\"exporters\":[\"otlphttp/loki\"]}}}}");
    assert_true(json_equal(effective, want));
    json_t *want_left = parse(
        "{\"pipelines\":[\"metrics\",\"traces\"],\"from_pipelines\":{\"logs\":{\"processors\":"
        "[\"memory_limiter\",\"k8sattributes\",\"resourcedetection\"]}},\"components\":["
        "\"receivers.prometheus\",\"processors.memory_limiter\",\"processors.k8sattributes\","
        "\"processors.resourcedetection\",\"exporters.otlphttp/prometheus\","
        "\"exporters.otlp/tempo\"]}");
    assert_true(json_equal(left_out, want_left));
    char text[1024];
    config_subset_describe(left_out, text, sizeof(text));
    assert_string_equal(text, "pipelines metrics, traces; from logs: processors memory_limiter, "
                              "k8sattributes, resourcedetection; so no longer used: "
                              "receivers.prometheus, exporters.otlphttp/prometheus, "
                              "exporters.otlp/tempo");
    /* The file's own config is untouched. */
    assert_int_equal(json_object_size(json_object_get(config, "processors")), 4);
    json_decref(want);
    json_decref(want_left);
    json_decref(effective);
    json_decref(left_out);
    json_decref(pipelines);
    json_decref(config);
}

static void test_subsets_that_change_the_pipeline_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *pipelines;
        const char *message;
    } cases[] = {
        {"{\"logs/2\":{\"receivers\":[\"filelog\"],\"exporters\":[\"otlphttp/loki\"]}}",
         "pipelines.logs/2: the config has no such pipeline (it has: metrics, logs, traces)"},
        {"{\"logs\":{\"receivers\":[\"filelog\"],\"processors\":[\"probabilistic_sampler\"],"
         "\"exporters\":[\"otlphttp/loki\"]}}",
         "pipelines.logs.processors: \"probabilistic_sampler\" is not in the config's logs "
         "pipeline (processors: [memory_limiter, k8sattributes, resourcedetection, batch]); a "
         "subset can only leave components out"},
        {"{\"logs\":{\"receivers\":[\"filelog\"],\"processors\":[\"batch\",\"memory_limiter\"],"
         "\"exporters\":[\"otlphttp/loki\"]}}",
         "pipelines.logs.processors: \"memory_limiter\" comes before \"batch\" in the config"},
        {"{\"logs\":{\"receivers\":[],\"exporters\":[\"otlphttp/loki\"]}}",
         "pipelines.logs.receivers: a pipeline needs at least one"},
        {"{\"logs\":{\"receivers\":[\"filelog\"]}}",
         "pipelines.logs.exporters: a pipeline needs at least one"},
        {"{\"logs\":{\"receivers\":[\"filelog\"],\"exporters\":[\"otlphttp/loki\"],\"x\":1}}",
         "pipelines.logs: unknown key \"x\""},
        {"{}", "pipelines: expected the pipelines to run"},
    };
    json_t *config = parse(team);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *pipelines = parse(cases[i].pipelines);
        json_t *effective = NULL, *left_out = NULL;
        struct error err;
        assert_int_equal(config_subset_apply(config, pipelines, &effective, &left_out, &err),
                         -EINVAL);
        if (!strstr(err.message, cases[i].message)) {
            fprintf(stderr, "case %zu:\n  got:  %s\n  want: %s\n", i, err.message,
                    cases[i].message);
            fail();
        }
        assert_null(effective);
        assert_null(left_out);
        json_decref(pipelines);
    }
    json_decref(config);
}

static void test_whole_config_leaves_nothing_out(void **state)
{
    (void)state;
    json_t *config = parse(team);
    json_t *pipelines =
        json_deep_copy(json_object_get(json_object_get(config, "service"), "pipelines"));
    json_t *effective = NULL, *left_out = NULL;
    assert_int_equal(config_subset_apply(config, pipelines, &effective, &left_out, NULL), 0);
    assert_true(json_equal(effective, config));
    char text[256];
    config_subset_describe(left_out, text, sizeof(text));
    assert_string_equal(text, "nothing left out");
    json_decref(effective);
    json_decref(left_out);
    json_decref(pipelines);
    json_decref(config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logs_subset_keeps_what_it_uses_and_says_what_it_left_out),
        cmocka_unit_test(test_subsets_that_change_the_pipeline_are_refused),
        cmocka_unit_test(test_whole_config_leaves_nothing_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
