/*
 * test_pod_log.c - the pod_log writers: each runtime's record format byte for byte (docker's
 * JSON escaping, the CRI time with Go's RFC3339Nano trimming, CRI-O's numeric offset), partial
 * lines and the runtime's split of long lines, numbered lines and their tokens, the files'
 * layout under /var/log/pods, and rotation by rename and by copytruncate.
 */
#include <limits.h>
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

#include "pod_log.h"
#include "report.h"

#define BASE_NS (1764000000LL * 1000000000LL) /* 2025-11-24T16:00:00Z */

static const uint8_t *u(const char *s)
{
    return (const uint8_t *)s;
}

static void assert_record(enum pod_log_format f, const char *stream, int64_t t, int offset,
                          const char *content, size_t len, bool partial, const char *want)
{
    struct strbuf b = STRBUF_INIT(1 << 20);
    pod_log_format_record(&b, f, stream, t, offset, u(content), len, partial);
    assert_int_equal(b.error, 0);
    assert_string_equal(strbuf_str(&b), want);
    strbuf_release(&b);
}

static void test_time_formats_as_go_rfc3339nano(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        int offset;
        bool fixed9;
        const char *want;
    } cases[] = {
        /* RFC3339Nano drops trailing zeros of the fraction, and the dot when nothing is left. */
        {BASE_NS, 0, false, "2025-11-24T16:00:00Z"},
        {BASE_NS + 500000000, 0, false, "2025-11-24T16:00:00.5Z"},
        {BASE_NS + 456789, 0, false, "2025-11-24T16:00:00.000456789Z"},
        /* docker's RFC3339NanoFixed always writes nine digits. */
        {BASE_NS, 0, true, "2025-11-24T16:00:00.000000000Z"},
        {BASE_NS + 1000000, 0, true, "2025-11-24T16:00:00.001000000Z"},
        /* CRI-O: the node's local time with its offset. */
        {BASE_NS + 1000000, 120, false, "2025-11-24T18:00:00.001+02:00"},
        {BASE_NS, -330, false, "2025-11-24T10:30:00-05:30"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64];
        pod_log_format_time(buf, sizeof(buf), cases[i].t, cases[i].offset, cases[i].fixed9);
        assert_string_equal(buf, cases[i].want);
    }
}

static void test_containerd_and_crio_records(void **state)
{
    (void)state;
    assert_record(POD_LOG_CONTAINERD, "stdout", BASE_NS + 456789, 0, "GET / 200", 9, false,
                  "2025-11-24T16:00:00.000456789Z stdout F GET / 200\n");
    assert_record(POD_LOG_CONTAINERD, "stderr", BASE_NS, 0, "warn", 4, true,
                  "2025-11-24T16:00:00Z stderr P warn\n");
    /* An empty line keeps the space after the tag, as containerd writes it. */
    assert_record(POD_LOG_CONTAINERD, "stdout", BASE_NS, 0, "", 0, false,
                  "2025-11-24T16:00:00Z stdout F \n");
    /* The offset applies to crio only: containerd and docker write UTC. */
    assert_record(POD_LOG_CRIO, "stdout", BASE_NS, 120, "ok", 2, false,
                  "2025-11-24T18:00:00+02:00 stdout F ok\n");
    assert_record(POD_LOG_CONTAINERD, "stdout", BASE_NS, 120, "ok", 2, false,
                  "2025-11-24T16:00:00Z stdout F ok\n");
}

static void test_docker_records_escape_as_docker_does(void **state)
{
    (void)state;
    assert_record(POD_LOG_DOCKER, "stdout", BASE_NS, 0, "GET / 200", 9, false,
                  "{\"log\":\"GET / 200\\n\",\"stream\":\"stdout\","
                  "\"time\":\"2025-11-24T16:00:00.000000000Z\"}\n");
    /* A partial message is the one without the newline. */
    assert_record(POD_LOG_DOCKER, "stderr", BASE_NS, 0, "part", 4, true,
                  "{\"log\":\"part\",\"stream\":\"stderr\","
                  "\"time\":\"2025-11-24T16:00:00.000000000Z\"}\n");
    /* " and \ escaped; < > & and control bytes (tab too) as \u00XX; invalid UTF-8 as \ufffd;
     * valid multi-byte characters as they are; U+2028 escaped. */
    static const char content[] = "a\"b\\<&>\t\x01\xff\xc3\xa9\xe2\x80\xa8";
    assert_record(POD_LOG_DOCKER, "stdout", BASE_NS, 0, content, sizeof(content) - 1, true,
                  "{\"log\":\"a\\\"b\\\\\\u003c\\u0026\\u003e\\u0009\\u0001\\ufffd\xc3\xa9"
                  "\\u2028\",\"stream\":\"stdout\",\"time\":\"2025-11-24T16:00:00.000000000Z\"}\n");
}

static void test_long_lines_split_into_partial_fragments(void **state)
{
    (void)state;
    struct strbuf b = STRBUF_INIT(1 << 20);
    pod_log_format_line(&b, POD_LOG_CONTAINERD, "stdout", BASE_NS, 0, u("abcdefghij"), 10, false,
                        4);
    assert_string_equal(strbuf_str(&b), "2025-11-24T16:00:00Z stdout P abcd\n"
                                        "2025-11-24T16:00:00Z stdout P efgh\n"
                                        "2025-11-24T16:00:00Z stdout F ij\n");
    strbuf_release(&b);
    /* A line that does not end stays partial in its last fragment too. */
    pod_log_format_line(&b, POD_LOG_CONTAINERD, "stdout", BASE_NS, 0, u("abcdef"), 6, true, 4);
    assert_string_equal(strbuf_str(&b), "2025-11-24T16:00:00Z stdout P abcd\n"
                                        "2025-11-24T16:00:00Z stdout P ef\n");
    strbuf_release(&b);
    pod_log_format_line(&b, POD_LOG_DOCKER, "stdout", BASE_NS, 0, u("abcdefghij"), 10, false, 4);
    assert_string_equal(strbuf_str(&b), "{\"log\":\"abcd\",\"stream\":\"stdout\","
                                        "\"time\":\"2025-11-24T16:00:00.000000000Z\"}\n"
                                        "{\"log\":\"efgh\",\"stream\":\"stdout\","
                                        "\"time\":\"2025-11-24T16:00:00.000000000Z\"}\n"
                                        "{\"log\":\"ij\\n\",\"stream\":\"stdout\","
                                        "\"time\":\"2025-11-24T16:00:00.000000000Z\"}\n");
    strbuf_release(&b);
    /* split 0: never split, whatever the length. */
    pod_log_format_line(&b, POD_LOG_CONTAINERD, "stdout", BASE_NS, 0, u("abcdefghij"), 10, false,
                        0);
    assert_string_equal(strbuf_str(&b), "2025-11-24T16:00:00Z stdout F abcdefghij\n");
    strbuf_release(&b);
}

static void test_utc_offsets_and_formats_parse(void **state)
{
    (void)state;
    int m;
    assert_int_equal(pod_log_parse_utc_offset("+02:00", &m), 0);
    assert_int_equal(m, 120);
    assert_int_equal(pod_log_parse_utc_offset("-05:30", &m), 0);
    assert_int_equal(m, -330);
    assert_int_equal(pod_log_parse_utc_offset("Z", &m), 0);
    assert_int_equal(m, 0);
    assert_int_equal(pod_log_parse_utc_offset("+2:00", &m), -EINVAL);
    assert_int_equal(pod_log_parse_utc_offset("+25:00", &m), -EINVAL);
    enum pod_log_format f;
    assert_int_equal(pod_log_format_parse("crio", &f), 0);
    assert_int_equal(f, POD_LOG_CRIO);
    assert_int_equal(pod_log_format_parse("cri-o", &f), -EINVAL);
}

/* ---- files ---- */

static char root[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/test_pod_log_XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    report_remove_tree(root);
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_files_are_laid_out_as_the_kubelet_does(void **state)
{
    (void)state;
    static struct pod_logs logs;
    char pods[PATH_MAX + 32];
    snprintf(pods, sizeof(pods), "%s/layout/var/log/pods", root);
    assert_int_equal(pod_logs_init(&logs, pods, BASE_NS, NULL), 0);
    struct pod_log_file *f = pod_logs_file(&logs, "default", "web-7d4b9c-x2x7k", "", "nginx", 0,
                                           POD_LOG_CONTAINERD, 0, 16384, NULL);
    assert_non_null(f);
    char uid[48];
    pod_log_derive_uid("default", "web-7d4b9c-x2x7k", uid, sizeof(uid));
    assert_string_equal(f->uid, uid);
    assert_int_equal(strlen(uid), 36);
    assert_int_equal(uid[14], '4'); /* shaped as a v4 UUID */
    char rel[256];
    snprintf(rel, sizeof(rel), "default_web-7d4b9c-x2x7k_%s/nginx/0.log", uid);
    assert_string_equal(f->rel, rel);
    assert_string_equal(f->key, "default/web-7d4b9c-x2x7k/nginx");
    /* The same file again, and the same key with another format is refused. */
    assert_ptr_equal(pod_logs_file(&logs, "default", "web-7d4b9c-x2x7k", NULL, "nginx", 0,
                                   POD_LOG_CONTAINERD, 0, 16384, NULL),
                     f);
    struct error err;
    assert_null(pod_logs_file(&logs, "default", "web-7d4b9c-x2x7k", NULL, "nginx", 0,
                              POD_LOG_DOCKER, 0, 16384, &err));
    assert_non_null(strstr(err.message, "containerd"));
    /* restart_count names the file and the key. */
    struct pod_log_file *g = pod_logs_file(&logs, "default", "web-7d4b9c-x2x7k", "uid-1", "nginx",
                                           2, POD_LOG_DOCKER, 0, 16384, NULL);
    assert_non_null(g);
    assert_string_equal(g->rel, "default_web-7d4b9c-x2x7k_uid-1/nginx/2.log");
    assert_string_equal(g->key, "default/web-7d4b9c-x2x7k/nginx/2");
    assert_null(pod_logs_file(&logs, "my_ns", "p", NULL, "c", 0, POD_LOG_DOCKER, 0, 0, &err));
    pod_logs_free(&logs);
}

static void test_numbered_lines_get_tokens_and_times(void **state)
{
    (void)state;
    static struct pod_logs logs;
    char pods[PATH_MAX + 32];
    snprintf(pods, sizeof(pods), "%s/numbered/var/log/pods", root);
    assert_int_equal(pod_logs_init(&logs, pods, BASE_NS, NULL), 0);
    struct pod_log_file *f =
        pod_logs_file(&logs, "ns", "p", "u", "c", 0, POD_LOG_CONTAINERD, 0, 16384, NULL);
    struct pod_log_file *g =
        pod_logs_file(&logs, "ns", "q", "u", "c", 0, POD_LOG_DOCKER, 0, 16384, NULL);
    const struct pod_log_line lines[] = {
        {.stream = "stdout", .bytes = u("hello"), .len = 5, .size = -1, .numbered = true},
        {.stream = "stderr",
         .bytes = u("oops"),
         .len = 4,
         .partial = true,
         .size = -1,
         .numbered = true},
        {.stream = "stdout", .bytes = u("big"), .len = 3, .size = 20, .numbered = true},
        {.bytes = u("{\"log\":\"cut {seq}"), .len = 17, .raw = true, .size = -1},
        {.bytes = u(""), .len = 0, .raw = true, .size = -1},
        {.stream = "stdout", .bytes = u("plain"), .len = 5, .size = -1},
    };
    size_t written = 0;
    assert_int_equal(pod_logs_write(&logs, f, lines, 6, 1, &written, NULL), 0);
    assert_int_equal(written, 6);
    /* Tokens are counted across the run, times per logical line: line k at k ms (+456789 ns). */
    assert_string_equal(slurp(f->path),
                        "2025-11-24T16:00:00.000456789Z stdout F hello seq=000001\n"
                        "2025-11-24T16:00:00.001456789Z stderr P oops seq=000002\n"
                        "2025-11-24T16:00:00.002456789Z stdout F bigabcdef seq=000003\n"
                        "{\"log\":\"cut seq=000004\n"
                        "\n"
                        "2025-11-24T16:00:00.005456789Z stdout F plain\n");
    assert_int_equal(f->numbered, 4);
    assert_int_equal(f->records, 6);
    const struct pod_log_line one = {
        .stream = "stdout", .bytes = u("x"), .len = 1, .size = -1, .numbered = true};
    assert_int_equal(pod_logs_write(&logs, g, &one, 1, 2, &written, NULL), 0);
    assert_int_equal(written, 2);
    assert_int_equal(pod_logs_file_of_seq(&logs, 4), 0);
    assert_int_equal(pod_logs_file_of_seq(&logs, 5), 1);
    assert_int_equal(pod_logs_file_of_seq(&logs, 6), 1);
    assert_int_equal(pod_logs_file_of_seq(&logs, 7), -1);
    assert_int_equal(pod_logs_file_of_seq(&logs, 0), -1);
    assert_int_equal(g->last_seq, 6);
    assert_true(pod_logs_is_line_time(&logs, BASE_NS + 456789));
    assert_true(pod_logs_is_line_time(&logs, BASE_NS + 7 * 1000000 + 456789));
    assert_false(pod_logs_is_line_time(&logs, BASE_NS + 8 * 1000000 + 456789));
    assert_false(pod_logs_is_line_time(&logs, BASE_NS + 1000000));
    pod_logs_free(&logs);
}

static void test_rotation_by_rename_and_by_copytruncate(void **state)
{
    (void)state;
    static struct pod_logs logs;
    char pods[PATH_MAX + 32], path[PATH_MAX + 64];
    snprintf(pods, sizeof(pods), "%s/rotate/var/log/pods", root);
    assert_int_equal(pod_logs_init(&logs, pods, BASE_NS, NULL), 0);
    struct pod_log_file *f =
        pod_logs_file(&logs, "ns", "p", "u", "c", 0, POD_LOG_CONTAINERD, 0, 16384, NULL);
    const struct pod_log_line line = {.stream = "stdout", .bytes = u("a"), .len = 1, .size = -1};
    char rotated[PATH_MAX];
    struct error err;
    /* Nothing to rotate before the first write. */
    assert_int_equal(pod_logs_rotate(&logs, f, POD_LOG_ROTATE_RENAME, 1764000000, rotated,
                                     sizeof(rotated), &err),
                     -ENOENT);

    assert_int_equal(pod_logs_write(&logs, f, &line, 1, 1, NULL, NULL), 0);
    assert_int_equal(pod_logs_rotate(&logs, f, POD_LOG_ROTATE_RENAME, 1764000000, rotated,
                                     sizeof(rotated), NULL),
                     0);
    assert_string_equal(rotated, "0.log.20251124-160000");
    assert_int_equal(access(f->path, F_OK), -1); /* the next write creates 0.log again */
    assert_int_equal(pod_logs_write(&logs, f, &line, 1, 1, NULL, NULL), 0);
    /* A second rotation in the same second takes the next second's name. */
    assert_int_equal(pod_logs_rotate(&logs, f, POD_LOG_ROTATE_RENAME, 1764000000, rotated,
                                     sizeof(rotated), NULL),
                     0);
    assert_string_equal(rotated, "0.log.20251124-160001");
    snprintf(path, sizeof(path), "%s.20251124-160000", f->path);
    assert_string_equal(slurp(path), "2025-11-24T16:00:00.000456789Z stdout F a\n");
    snprintf(path, sizeof(path), "%s.20251124-160001", f->path);
    assert_string_equal(slurp(path), "2025-11-24T16:00:00.001456789Z stdout F a\n");

    assert_int_equal(pod_logs_write(&logs, f, &line, 1, 1, NULL, NULL), 0);
    assert_int_equal(
        pod_logs_rotate(&logs, f, POD_LOG_ROTATE_COPYTRUNCATE, 0, rotated, sizeof(rotated), NULL),
        0);
    assert_string_equal(rotated, "0.log.1");
    snprintf(path, sizeof(path), "%s.1", f->path);
    assert_string_equal(slurp(path), "2025-11-24T16:00:00.002456789Z stdout F a\n");
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, 0); /* same inode, cut to zero, written on */
    assert_int_equal(pod_logs_write(&logs, f, &line, 1, 1, NULL, NULL), 0);
    assert_string_equal(slurp(f->path), "2025-11-24T16:00:00.003456789Z stdout F a\n");
    assert_int_equal(f->rotations, 3);
    pod_logs_free(&logs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_formats_as_go_rfc3339nano),
        cmocka_unit_test(test_containerd_and_crio_records),
        cmocka_unit_test(test_docker_records_escape_as_docker_does),
        cmocka_unit_test(test_long_lines_split_into_partial_fragments),
        cmocka_unit_test(test_utc_offsets_and_formats_parse),
        cmocka_unit_test(test_files_are_laid_out_as_the_kubelet_does),
        cmocka_unit_test(test_numbered_lines_get_tokens_and_times),
        cmocka_unit_test(test_rotation_by_rename_and_by_copytruncate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
