/* Unit tests for the option binder: defaults, types, unknown keys, presence, durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "options.h"
#include "yamljson.h"

struct sample_config {
    char *endpoint;
    bool insecure;
    int64_t queue_size;
    int64_t timeout_ns;
    struct option_string_list include;
    bool http_present;
    char *http_endpoint;
};

static const struct option http_options[] = {
    {OPT_STRING, "endpoint", "localhost:4318", offsetof(struct sample_config, http_endpoint),
     "listen address", 0, NULL, 0},
    {0},
};

static const struct option sample_options[] = {
    {OPT_STRING, "endpoint", NULL, offsetof(struct sample_config, endpoint), "where", OPT_REQUIRED,
     NULL, 0},
    {OPT_BOOL, "insecure", "false", offsetof(struct sample_config, insecure), "plain text", 0, NULL,
     0},
    {OPT_INT, "queue_size", "1000", offsetof(struct sample_config, queue_size), "requests", 0, NULL,
     0},
    {OPT_DURATION, "timeout", "30s", offsetof(struct sample_config, timeout_ns), "per request", 0,
     NULL, 0},
    {OPT_STRING_LIST, "include", NULL, offsetof(struct sample_config, include), "globs", 0, NULL,
     0},
    {OPT_OBJECT, "http", NULL, 0, "HTTP protocol", OPT_PRESENCE, http_options,
     offsetof(struct sample_config, http_present)},
    {0},
};

static int bind_text(const char *yaml, struct sample_config *cfg, struct error *err)
{
    json_t *doc = NULL;
    int rc = yamljson_parse(yaml, strlen(yaml), "t", &doc, NULL, err);
    if (rc == 0)
        rc = options_bind(sample_options, doc, cfg, "exporters.otlp_http", err);
    json_decref(doc);
    return rc;
}

static void test_defaults_apply_when_keys_are_absent(void **state)
{
    struct sample_config cfg = {0};
    struct error err = {0};
    assert_int_equal(bind_text("endpoint: http://x\n", &cfg, &err), 0);
    assert_string_equal(cfg.endpoint, "http://x");
    assert_false(cfg.insecure);
    assert_int_equal(cfg.queue_size, 1000);
    assert_int_equal(cfg.timeout_ns, 30000000000LL);
    assert_false(cfg.http_present);
    assert_string_equal(cfg.http_endpoint, "localhost:4318");
    options_free(sample_options, &cfg);
}

static void test_presence_is_set_for_an_empty_section(void **state)
{
    struct sample_config cfg = {0};
    struct error err = {0};
    assert_int_equal(bind_text("endpoint: e\nhttp:\n", &cfg, &err), 0);
    assert_true(cfg.http_present);
    assert_string_equal(cfg.http_endpoint, "localhost:4318");
    options_free(sample_options, &cfg);
}

static void test_unknown_key_names_the_path(void **state)
{
    struct sample_config cfg = {0};
    struct error err = {0};
    assert_int_equal(bind_text("endpoint: e\nhttp: {endpont: x}\n", &cfg, &err), -EINVAL);
    assert_non_null(strstr(err.message, "exporters.otlp_http.http: unknown key \"endpont\""));
    options_free(sample_options, &cfg);
}

static void test_wrong_type_names_the_path(void **state)
{
    struct sample_config cfg = {0};
    struct error err = {0};
    assert_int_equal(bind_text("endpoint: e\nqueue_size: many\n", &cfg, &err), -EINVAL);
    assert_non_null(strstr(err.message, "exporters.otlp_http.queue_size: expected an integer"));
    options_free(sample_options, &cfg);
}

static void test_missing_required_key(void **state)
{
    struct sample_config cfg = {0};
    struct error err = {0};
    assert_int_equal(bind_text("insecure: true\n", &cfg, &err), -EINVAL);
    assert_string_equal(err.message, "exporters.otlp_http.endpoint: required");
    options_free(sample_options, &cfg);
}

static void test_go_durations(void **state)
{
    static const struct {
        const char *text;
        int64_t ns;
        int rc;
    } cases[] = {
        {"5s", 5000000000LL, 0},
        {"200ms", 200000000LL, 0},
        {"1m30s", 90000000000LL, 0},
        {"1.5h", 5400000000000LL, 0},
        {"0", 0, 0},
        {"-1s", -1000000000LL, 0},
        {"10", 0, -EINVAL},
        {"5 s", 0, -EINVAL},
        {"", 0, -EINVAL},
        {"3d", 0, -EINVAL},
        {"250us", 250000LL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ns = 0;
        int rc = options_parse_duration(cases[i].text, &ns);
        if (rc != cases[i].rc || (rc == 0 && ns != cases[i].ns))
            fail_msg("%s: rc=%d ns=%lld", cases[i].text, rc, (long long)ns);
    }
}

static void test_string_list_and_scalar_to_string(void **state)
{
    struct sample_config cfg = {0};
    struct error err = {0};
    assert_int_equal(bind_text("endpoint: 4317\ninclude: [a, b]\n", &cfg, &err), 0);
    assert_string_equal(cfg.endpoint, "4317");
    assert_int_equal(cfg.include.count, 2);
    assert_string_equal(cfg.include.items[1], "b");
    options_free(sample_options, &cfg);
}

/* A table written once for a struct of its own, bound into a member of two different configs
 * (as configtls or retry_on_failure are shared by exporters). */
struct shared_part {
    int64_t size;
    char *name;
};

static const struct option shared_part_options[] = {
    {OPT_INT, "size", "7", offsetof(struct shared_part, size), "a size", 0, NULL, 0},
    {OPT_STRING, "name", NULL, offsetof(struct shared_part, name), "a name", 0, NULL, 0},
    {0},
};

struct embedding_config {
    bool flag;
    struct shared_part first, second;
};

static const struct option embedding_options[] = {
    {OPT_BOOL, "flag", "true", offsetof(struct embedding_config, flag), "a flag", 0, NULL, 0},
    {OPT_OBJECT, "first", NULL, offsetof(struct embedding_config, first), "one", 0,
     shared_part_options, 0},
    {OPT_OBJECT, "second", NULL, offsetof(struct embedding_config, second), "two", 0,
     shared_part_options, 0},
    {0},
};

static void test_object_offset_binds_a_shared_table_into_a_member(void **state)
{
    struct embedding_config cfg = {0};
    struct error err = {0};
    json_t *doc = NULL;
    const char *yaml = "first: {name: a}\nsecond: {size: 3, name: b}\n";
    assert_int_equal(yamljson_parse(yaml, strlen(yaml), "t", &doc, NULL, &err), 0);
    assert_int_equal(options_bind(embedding_options, doc, &cfg, "x", &err), 0);
    json_decref(doc);
    assert_true(cfg.flag);
    assert_int_equal(cfg.first.size, 7);
    assert_string_equal(cfg.first.name, "a");
    assert_int_equal(cfg.second.size, 3);
    assert_string_equal(cfg.second.name, "b");
    options_free(embedding_options, &cfg);
    assert_null(cfg.first.name);
    assert_null(cfg.second.name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_offset_binds_a_shared_table_into_a_member),
        cmocka_unit_test(test_defaults_apply_when_keys_are_absent),
        cmocka_unit_test(test_presence_is_set_for_an_empty_section),
        cmocka_unit_test(test_unknown_key_names_the_path),
        cmocka_unit_test(test_wrong_type_names_the_path),
        cmocka_unit_test(test_missing_required_key),
        cmocka_unit_test(test_go_durations),
        cmocka_unit_test(test_string_list_and_scalar_to_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
