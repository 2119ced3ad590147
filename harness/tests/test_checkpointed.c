/*
 * test_checkpointed.c - reading the collector's saved filelog offsets from its storage folder:
 * upstream's JSON checkpoint lines, found by the file's path (or name) and its size now.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "checkpointed.h"

struct fixture {
    char dir[64];    /* the storage folder */
    char log[128];   /* a pod log file of 12 bytes */
    char store[128]; /* one storage file in dir */
};

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/otel-test-checkpoint-XXXXXX");
    if (!fx || !mkdtemp(fx->dir))
        return -1;
    snprintf(fx->log, sizeof(fx->log), "%s/0.log", fx->dir);
    snprintf(fx->store, sizeof(fx->store), "%s/receiver_filelog_", fx->dir);
    write_file(fx->log, "line 1\nline\n", 12);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    unlink(fx->log);
    unlink(fx->store);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* A storage file as a key-value store keeps it: binary framing around the JSON value. */
static void store(struct fixture *fx, const char *json_lines)
{
    char buf[2048];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "OTKV0001\x01%c%c%c", 0, 0, 0);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", json_lines);
    buf[n++] = '\0';
    write_file(fx->store, buf, n);
}

static bool check(struct fixture *fx, char *seen, size_t size)
{
    const char *dirs[] = {fx->dir};
    return checkpointed_file(dirs, 1, fx->log, seen, size);
}

static void test_offset_at_the_files_size_by_path_is_checkpointed(void **state)
{
    struct fixture *fx = *state;
    char line[1024], seen[200];
    snprintf(line, sizeof(line),
             "1\n{\"Fingerprint\":{\"first_bytes\":\"bGluZQ==\"},\"Offset\":12,\"RecordNum\":2,"
             "\"FileAttributes\":{\"log.file.name\":\"0.log\",\"log.file.path\":\"%s\"}}\n",
             fx->log);
    store(fx, line);
    assert_true(check(fx, seen, sizeof(seen)));
    assert_string_equal(seen, "checkpointed at 12 bytes");
}

static void test_an_older_offset_is_not_checkpointed_yet(void **state)
{
    struct fixture *fx = *state;
    char line[1024], seen[200];
    snprintf(line, sizeof(line),
             "1\n{\"Offset\":7,\"FileAttributes\":{\"log.file.path\":\"%s\"}}\n", fx->log);
    store(fx, line);
    assert_false(check(fx, seen, sizeof(seen)));
    assert_string_equal(seen, "checkpoint at 7 of 12 bytes");
}

static void test_another_files_offset_does_not_count(void **state)
{
    struct fixture *fx = *state;
    char seen[200];
    store(fx, "1\n{\"Offset\":12,\"FileAttributes\":{\"log.file.path\":\"/elsewhere/0.log\"}}\n");
    assert_false(check(fx, seen, sizeof(seen)));
    assert_string_equal(seen, "no checkpoint of it yet (file at 12 bytes)");
}

static void test_without_paths_the_name_identifies_the_file(void **state)
{
    struct fixture *fx = *state;
    char seen[200];
    store(fx, "1\n{\"Offset\":12,\"FileAttributes\":{\"log.file.name\":\"0.log\"}}\n");
    assert_true(check(fx, seen, sizeof(seen)));
}

static void test_no_storage_file_is_no_checkpoint(void **state)
{
    struct fixture *fx = *state;
    char seen[200];
    assert_false(check(fx, seen, sizeof(seen)));
    assert_string_equal(seen, "no checkpoint of it yet (file at 12 bytes)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_offset_at_the_files_size_by_path_is_checkpointed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_older_offset_is_not_checkpointed_yet, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_another_files_offset_does_not_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_paths_the_name_identifies_the_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_storage_file_is_no_checkpoint, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
