/*
 * test_file_storage.c - the file_storage extension (reference/extensions/file_storage.c):
 * upstream's config validation messages, the client file naming, values surviving a reopen,
 * the lock that keeps two users off one file, damaged files refused, and the extension wired
 * through the service (started before, stopped after the pipeline components).
 *
 * Every test works in its own directory under /tmp, removed afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "component.h"
#include "config.h"
#include "extensions/file_storage.h"
#include "log.h"
#include "options.h"
#include "service.h"

extern const struct component_descriptor file_storage_extension_descriptor;

/* ---- temp directories ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static char *make_temp_dir(void)
{
    char *dir = strdup("/tmp/test_file_storage.XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_temp_dir(char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* ---- an extension instance built as the service builds it ---- */

struct extension {
    struct component component;
};

/* Binds `config_json` ("{...}" with %s for the directory) and validates it; returns the
 * validation code, err filled. */
static int extension_bind(struct extension *x, const char *config_json, struct error *err)
{
    const struct component_descriptor *d = &file_storage_extension_descriptor;
    json_error_t json_err;
    json_t *config = json_loads(config_json, 0, &json_err);
    if (!config)
        fail_msg("bad test JSON %s: %s", config_json, json_err.text);
    x->component.descriptor = d;
    x->component.config = calloc(1, d->config_size);
    assert_non_null(x->component.config);
    snprintf(x->component.id, sizeof(x->component.id), "file_storage");
    snprintf(x->component.log_name, sizeof(x->component.log_name), "extension/file_storage");
    int rc = options_bind(d->options, config, x->component.config, "extensions.file_storage", err);
    if (rc == 0)
        rc = d->validate(x->component.config, err);
    json_decref(config);
    return rc;
}

static void extension_start(struct extension *x)
{
    const struct component_descriptor *d = &file_storage_extension_descriptor;
    struct error err = {0};
    if (d->create(&x->component, &err) != 0 || d->start(&x->component, &err) != 0)
        fail_msg("create/start: %s", err.message);
}

static void extension_release(struct extension *x)
{
    const struct component_descriptor *d = &file_storage_extension_descriptor;
    if (x->component.state)
        d->destroy(&x->component);
    options_free(d->options, x->component.config);
    free(x->component.config);
}

static char *json_with_dir(const char *format, const char *dir)
{
    size_t n = strlen(format) + 2 * strlen(dir) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, format, dir, dir);
    return out;
}

/* ---- validation ---- */

static void test_missing_directory_is_upstreams_error(void **state)
{
    struct extension x = {0};
    struct error err = {0};
    int rc = extension_bind(&x, "{\"directory\": \"/nonexistent/otelcol-ref-test\"}", &err);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(err.message,
                        "directory must exist: stat /nonexistent/otelcol-ref-test: no such file or "
                        "directory. You can enable the create_directory option to automatically "
                        "create it");
    extension_release(&x);
}

static void test_directory_that_is_a_file_is_refused(void **state)
{
    char *dir = make_temp_dir();
    char path[512];
    snprintf(path, sizeof(path), "%s/plain", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    char *json = json_with_dir("{\"directory\": \"%s/plain\"}", dir);
    struct extension x = {0};
    struct error err = {0};
    assert_int_equal(extension_bind(&x, json, &err), -EINVAL);
    char expected[600];
    snprintf(expected, sizeof(expected), "%s is not a directory", path);
    assert_string_equal(err.message, expected);
    extension_release(&x);
    free(json);
    remove_temp_dir(dir);
}

static void test_validation_table(void **state)
{
    static const struct {
        const char *json;
        const char *message; /* NULL: valid */
    } cases[] = {
        {"{\"directory\": \"/tmp\"}", NULL},
        {"{\"directory\": \"/tmp\", \"timeout\": \"2s\", \"fsync\": true}", NULL},
        {"{\"directory\": \"/nonexistent/x\", \"create_directory\": true}", NULL},
        {"{\"directory\": \"/tmp\", \"compaction\": {\"max_transaction_size\": -1}}",
         "max transaction size for compaction cannot be less than 0"},
        {"{\"directory\": \"/tmp\", \"compaction\": {\"on_rebound\": true, \"directory\": "
         "\"/tmp\", \"check_interval\": \"0s\"}}",
         "compaction check interval must be positive when rebound compaction is set"},
        {"{\"directory\": \"/tmp\", \"compaction\": {\"on_start\": true, \"directory\": "
         "\"/nonexistent/c\"}}",
         "directory must exist: stat /nonexistent/c: no such file or directory. You can enable "
         "the create_directory option to automatically create it"},
        {"{\"directory\": \"/tmp\", \"create_directory\": true, \"directory_permissions\": "
         "\"0x750\"}",
         "directory_permissions value must be a valid octal representation"},
        {"{\"directory\": \"/tmp\", \"create_directory\": true, \"directory_permissions\": "
         "\"1750\"}",
         "directory_permissions contain invalid bits for file access"},
        {"{\"directory\": \"/tmp\", \"directroy\": \"/x\"}",
         "extensions.file_storage: unknown key \"directroy\" (known keys: directory, timeout, "
         "fsync, create_directory, directory_permissions, compaction)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct extension x = {0};
        struct error err = {0};
        int rc = extension_bind(&x, cases[i].json, &err);
        if (!cases[i].message && rc != 0)
            fail_msg("case %zu %s: unexpected error %s", i, cases[i].json, err.message);
        if (cases[i].message && (rc == 0 || strcmp(err.message, cases[i].message) != 0))
            fail_msg("case %zu %s:\n  want %s\n  got  %s", i, cases[i].json, cases[i].message,
                     rc == 0 ? "(no error)" : err.message);
        extension_release(&x);
    }
}

static void test_config_error_names_the_extension_path(void **state)
{
    const char *yaml = "receivers: {otlp: {protocols: {http: {endpoint: 'localhost:0'}}}}\n"
                       "exporters: {otlp_http: {endpoint: 'http://localhost:1'}}\n"
                       "extensions: {file_storage: {directory: /nonexistent/fs}}\n"
                       "service:\n"
                       "  extensions: [file_storage]\n"
                       "  pipelines: {logs: {receivers: [otlp], exporters: [otlp_http]}}\n";
    struct config *cfg = NULL;
    struct error err = {0};
    assert_int_equal(config_load_text(yaml, "test", NULL, 0, &cfg, &err), -EINVAL);
    assert_non_null(strstr(err.message, "invalid configuration: extensions.file_storage: "
                                        "directory must exist: stat /nonexistent/fs"));
    assert_null(cfg);
}

static void test_extension_listed_twice_is_an_error(void **state)
{
    const char *yaml = "receivers: {otlp: {protocols: {http: {endpoint: 'localhost:0'}}}}\n"
                       "exporters: {otlp_http: {endpoint: 'http://localhost:1'}}\n"
                       "extensions: {file_storage: {directory: /tmp}}\n"
                       "service:\n"
                       "  extensions: [file_storage, file_storage]\n"
                       "  pipelines: {logs: {receivers: [otlp], exporters: [otlp_http]}}\n";
    struct config *cfg = NULL;
    struct error err = {0};
    assert_int_equal(config_load_text(yaml, "test", NULL, 0, &cfg, &err), -EINVAL);
    assert_string_equal(err.message, "invalid configuration: service.extensions: references "
                                     "extension \"file_storage\" multiple times");
}

/* ---- clients ---- */

static struct extension *started_extension(const char *dir, const char *extra)
{
    struct extension *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    char json[1024];
    snprintf(json, sizeof(json), "{\"directory\": \"%s\"%s%s}", dir, extra ? ", " : "",
             extra ? extra : "");
    struct error err = {0};
    if (extension_bind(x, json, &err) != 0)
        fail_msg("%s: %s", json, err.message);
    extension_start(x);
    return x;
}

static void test_client_file_is_named_as_upstream(void **state)
{
    char *dir = make_temp_dir();
    struct extension *x = started_extension(dir, NULL);
    static const struct {
        const char *id, *name, *file;
    } cases[] = {
        {"filelog", NULL, "receiver_filelog_"},
        {"filelog/app", NULL, "receiver_filelog_app"},
        {"filelog/a b:c", "x/y", "receiver_filelog_a~b~c_x~y"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct file_storage_client *c = NULL;
        struct error err = {0};
        assert_int_equal(file_storage_client_open(&x->component, KIND_RECEIVER, cases[i].id,
                                                  cases[i].name, &c, &err),
                         0);
        char expected[512];
        snprintf(expected, sizeof(expected), "%s/%s", dir, cases[i].file);
        assert_string_equal(file_storage_client_path(c), expected);
        file_storage_client_close(c);
    }
    extension_release(x);
    free(x);
    remove_temp_dir(dir);
}

static void test_values_survive_reopen(void **state)
{
    char *dir = make_temp_dir();
    struct extension *x = started_extension(dir, "\"fsync\": true");
    struct file_storage_client *c = NULL;
    struct error err = {0};
    assert_int_equal(
        file_storage_client_open(&x->component, KIND_RECEIVER, "filelog", NULL, &c, &err), 0);
    char *value = NULL;
    size_t len = 0;
    assert_int_equal(file_storage_client_get(c, "file_input.knownFiles", &value, &len, &err), 0);
    assert_null(value); /* a new client is empty */
    static const char binary[] = {'a', '\0', 'b', '\n', (char)0xff};
    assert_int_equal(file_storage_client_set(c, "file_input.knownFiles", "1\n{}\n", 5, &err), 0);
    assert_int_equal(file_storage_client_set(c, "bin", binary, sizeof(binary), &err), 0);
    assert_int_equal(file_storage_client_set(c, "gone", "x", 1, &err), 0);
    assert_int_equal(file_storage_client_delete(c, "gone", &err), 0);
    assert_int_equal(file_storage_client_delete(c, "never-there", &err), 0);
    file_storage_client_close(c);

    c = NULL;
    assert_int_equal(
        file_storage_client_open(&x->component, KIND_RECEIVER, "filelog", NULL, &c, &err), 0);
    assert_int_equal(file_storage_client_get(c, "file_input.knownFiles", &value, &len, &err), 0);
    assert_non_null(value);
    assert_int_equal(len, 5);
    assert_memory_equal(value, "1\n{}\n", 5);
    free(value);
    assert_int_equal(file_storage_client_get(c, "bin", &value, &len, &err), 0);
    assert_int_equal(len, sizeof(binary));
    assert_memory_equal(value, binary, sizeof(binary));
    free(value);
    assert_int_equal(file_storage_client_get(c, "gone", &value, &len, &err), 0);
    assert_null(value);
    file_storage_client_close(c);
    extension_release(x);
    free(x);
    remove_temp_dir(dir);
}

static void test_second_client_of_a_file_times_out(void **state)
{
    char *dir = make_temp_dir();
    struct extension *x = started_extension(dir, "\"timeout\": \"50ms\"");
    struct file_storage_client *first = NULL, *second = NULL;
    struct error err = {0};
    assert_int_equal(
        file_storage_client_open(&x->component, KIND_RECEIVER, "filelog", NULL, &first, &err), 0);
    assert_int_equal(
        file_storage_client_open(&x->component, KIND_RECEIVER, "filelog", NULL, &second, &err),
        -ETIMEDOUT);
    assert_string_equal(err.message, "timeout"); /* bbolt's ErrTimeout */
    assert_null(second);
    file_storage_client_close(first); /* the lock goes with it */
    assert_int_equal(
        file_storage_client_open(&x->component, KIND_RECEIVER, "filelog", NULL, &second, &err), 0);
    file_storage_client_close(second);
    extension_release(x);
    free(x);
    remove_temp_dir(dir);
}

static void test_damaged_file_is_refused(void **state)
{
    char *dir = make_temp_dir();
    struct extension *x = started_extension(dir, NULL);
    struct file_storage_client *c = NULL;
    struct error err = {0};
    assert_int_equal(
        file_storage_client_open(&x->component, KIND_RECEIVER, "filelog", NULL, &c, &err), 0);
    assert_int_equal(file_storage_client_set(c, "k", "value", 5, &err), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s", file_storage_client_path(c));
    file_storage_client_close(c);
    /* flip one byte of the value: the checksum no longer holds */
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char byte;
    assert_int_equal(pread(fd, &byte, 1, st.st_size - 6), 1);
    byte ^= 0x20;
    assert_int_equal(pwrite(fd, &byte, 1, st.st_size - 6), 1);
    close(fd);
    c = NULL;
    assert_int_equal(
        file_storage_client_open(&x->component, KIND_RECEIVER, "filelog", NULL, &c, &err), -EIO);
    assert_non_null(strstr(err.message, "checksum mismatch"));
    assert_null(c);
    /* not ours at all */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello world, not a store", 24), 24);
    close(fd);
    assert_int_equal(
        file_storage_client_open(&x->component, KIND_RECEIVER, "filelog", NULL, &c, &err), -EIO);
    assert_non_null(strstr(err.message, "not a file_storage file"));
    extension_release(x);
    free(x);
    remove_temp_dir(dir);
}

static void test_create_directory_makes_it_on_start(void **state)
{
    char *dir = make_temp_dir();
    char nested[512];
    snprintf(nested, sizeof(nested), "%s/a/b", dir);
    struct extension *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"directory\": \"%s\", \"create_directory\": true, \"directory_permissions\": "
             "\"0700\"}",
             nested);
    struct error err = {0};
    assert_int_equal(extension_bind(x, json, &err), 0);
    extension_start(x);
    struct stat st;
    assert_int_equal(stat(nested, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    extension_release(x);
    free(x);
    remove_temp_dir(dir);
}

static void test_non_storage_extension_is_refused(void **state)
{
    struct component other = {0};
    snprintf(other.id, sizeof(other.id), "health_check");
    struct file_storage_client *c = NULL;
    struct error err = {0};
    assert_int_equal(file_storage_client_open(&other, KIND_RECEIVER, "filelog", NULL, &c, &err),
                     -EINVAL);
    assert_string_equal(err.message, "non-storage extension 'health_check' found");
}

/* ---- through the service ---- */

static void test_service_builds_and_finds_extensions(void **state)
{
    char *dir = make_temp_dir();
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "receivers: {otlp: {protocols: {http: {endpoint: 'localhost:0'}}}}\n"
             "exporters: {otlp_http: {endpoint: 'http://localhost:1'}}\n"
             "extensions:\n"
             "  file_storage: {directory: %s}\n"
             "  file_storage/unused: {directory: %s}\n"
             "service:\n"
             "  extensions: [file_storage]\n"
             "  telemetry: {metrics: {level: none}}\n"
             "  pipelines: {logs: {receivers: [otlp], exporters: [otlp_http]}}\n",
             dir, dir);
    struct config *cfg = NULL;
    struct error err = {0};
    if (config_load_text(yaml, "test", NULL, 0, &cfg, &err) != 0)
        fail_msg("config: %s", err.message);
    assert_int_equal(cfg->extension_count, 1);
    struct service *s = NULL;
    if (service_create(cfg, &s, &err) != 0)
        fail_msg("service: %s", err.message);
    struct component *receiver = service_find_component(s, KIND_RECEIVER, "otlp", NULL);
    assert_non_null(receiver);
    struct component *ext = service_host_extension(receiver, "file_storage");
    assert_non_null(ext);
    assert_ptr_equal(ext->descriptor, &file_storage_extension_descriptor);
    assert_null(service_host_extension(receiver, "file_storage/unused")); /* not listed */
    struct component stranger = {0};
    assert_null(service_host_extension(&stranger, "file_storage")); /* not of this service */
    if (service_start(s, &err) != 0)
        fail_msg("start: %s", err.message);
    service_shutdown(s, 5000);
    service_destroy(s);
    config_free(cfg);
    remove_temp_dir(dir);
}

int main(void)
{
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_directory_is_upstreams_error),
        cmocka_unit_test(test_directory_that_is_a_file_is_refused),
        cmocka_unit_test(test_validation_table),
        cmocka_unit_test(test_config_error_names_the_extension_path),
        cmocka_unit_test(test_extension_listed_twice_is_an_error),
        cmocka_unit_test(test_client_file_is_named_as_upstream),
        cmocka_unit_test(test_values_survive_reopen),
        cmocka_unit_test(test_second_client_of_a_file_times_out),
        cmocka_unit_test(test_damaged_file_is_refused),
        cmocka_unit_test(test_create_directory_makes_it_on_start),
        cmocka_unit_test(test_non_storage_extension_is_refused),
        cmocka_unit_test(test_service_builds_and_finds_extensions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
