/*
 * test_lines.c - delivery accounting of numbered pod log lines: tokens found in Loki's lines
 * (whatever the collector made of the line around them), per file and in total: written,
 * delivered, lost, delivered twice, the first missing and duplicated numbers, tokens the run
 * never wrote; and the `lines:` conditions of waits and expectations.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lines.h"
#include "report.h"

static char root[PATH_MAX];
static struct pod_logs logs;

/* Two files: ns/a/c gets seq 1-5, ns/b/c seq 6-8. */
static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/test_lines_XXXXXX");
    if (!mkdtemp(root) || pod_logs_init(&logs, root, 0, NULL) < 0)
        return -1;
    struct pod_log_file *a =
        pod_logs_file(&logs, "ns", "a", "u", "c", 0, POD_LOG_CONTAINERD, 0, 16384, NULL);
    struct pod_log_file *b =
        pod_logs_file(&logs, "ns", "b", "u", "c", 0, POD_LOG_DOCKER, 0, 16384, NULL);
    const struct pod_log_line line = {
        .stream = "stdout", .bytes = (const uint8_t *)"x", .len = 1, .size = -1, .numbered = true};
    if (!a || !b || pod_logs_write(&logs, a, &line, 1, 5, NULL, NULL) < 0 ||
        pod_logs_write(&logs, b, &line, 1, 3, NULL, NULL) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pod_logs_free(&logs);
    report_remove_tree(root);
    return 0;
}

static void collect(void *ctx, uint64_t seq)
{
    uint64_t *found = ctx;
    found[++found[0]] = seq;
}

static void test_tokens_are_found_wherever_they_sit(void **state)
{
    (void)state;
    static const char text[] =
        "{\"log\":\"GET / seq=000012\\n\"} seq=7 xseq=000003 seq= seq=000000000000000000001";
    uint64_t found[8] = {0};
    lines_scan_tokens(text, strlen(text), collect, found);
    assert_int_equal(found[0], 4);
    assert_int_equal(found[1], 12); /* ended by the escaped newline of a raw docker line */
    assert_int_equal(found[2], 7);
    assert_int_equal(found[3], 3); /* a token is a token: the scenarios never write "xseq=" */
    assert_int_equal(found[4], 0); /* 19 digits at most: the rest is not read as a number */
}

static json_t *view_of(const char *const *lines, size_t n)
{
    json_t *entries = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(entries,
                              json_pack("{s:s, s:s}", "line", lines[i], "timestamp_ns", "1"));
    /* Two streams in two tenants: every entry counts wherever it landed. */
    json_t *second = json_array();
    json_array_append_new(second, json_pack("{s:s}", "line", "seq=000008"));
    return json_pack("{s:{s:{s:[{s:o}]}, s:{s:[{s:o}]}}}", "tenants", "fake", "streams", "entries",
                     entries, "other", "streams", "entries", second);
}

static void test_tally_counts_per_file_and_in_total(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "hello seq=000001", "seq=000002 seq=000003", /* a recombined line carries two */
        "again seq=000001",                          /* delivered twice */
        "seq=000006",       "seq=000099",            /* never written */
        "no token at all",
    };
    json_t *view = view_of(lines, sizeof(lines) / sizeof(lines[0]));
    struct lines_tally t;
    assert_int_equal(lines_tally(&logs, view, &t, NULL), 0);
    assert_int_equal(t.entries, 7);
    assert_int_equal(t.unknown, 1);
    /* ns/a/c: 1,2,3 delivered (1 twice), 4,5 lost */
    assert_int_equal(t.files[0].written, 5);
    assert_int_equal(t.files[0].delivered, 3);
    assert_int_equal(t.files[0].lost, 2);
    assert_int_equal(t.files[0].duplicated, 1);
    assert_int_equal(t.files[0].missing_shown, 2);
    assert_int_equal(t.files[0].missing[0], 4);
    assert_int_equal(t.files[0].missing[1], 5);
    assert_int_equal(t.files[0].duplicates[0], 1);
    /* ns/b/c: 6 and 8 delivered, 7 lost */
    assert_int_equal(t.files[1].written, 3);
    assert_int_equal(t.files[1].delivered, 2);
    assert_int_equal(t.files[1].lost, 1);
    assert_int_equal(t.files[1].missing[0], 7);
    assert_int_equal(t.total.written, 8);
    assert_int_equal(t.total.delivered, 5);
    assert_int_equal(t.total.lost, 3);
    assert_int_equal(t.total.duplicated, 1);

    json_t *section = lines_tally_json(&logs, &t);
    assert_non_null(section);
    json_t *file = json_array_get(json_object_get(section, "files"), 0);
    assert_string_equal(json_string_value(json_object_get(file, "key")), "ns/a/c");
    assert_string_equal(json_string_value(json_object_get(file, "file")), "ns_a_u/c/0.log");
    assert_int_equal(json_integer_value(json_object_get(file, "lost")), 2);
    assert_int_equal(json_array_size(json_object_get(file, "first_missing")), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(section, "total"), "unknown_tokens")),
        1);
    json_decref(section);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    lines_tally_print(&logs, &t, out, "  ");
    fclose(out);
    assert_non_null(strstr(text, "lines: 8 written, 5 delivered, 3 lost, 1 delivered twice; "
                                 "missing 4,5,7; twice 1; 1 tokens the run never wrote\n"));
    assert_non_null(strstr(text, "    ns/a/c  5 written, 3 delivered, 2 lost, 1 delivered twice; "
                                 "missing 4,5; twice 1\n"));
    free(text);
    lines_tally_free(&t);
    json_decref(view);
}

static void test_checks_measure_files_and_totals(void **state)
{
    (void)state;
    static const char *const lines[] = {"seq=000001", "seq=000002", "seq=000003",
                                        "seq=000004", "seq=000005", "seq=000006"};
    json_t *view = view_of(lines, 6);
    struct lines_tally t;
    assert_int_equal(lines_tally(&logs, view, &t, NULL), 0);
    bool holds;
    struct lines_check all_a = {.file = "ns/a/c", .measure = LINES_DELIVERED, .all = true};
    assert_int_equal(lines_check_value(&logs, &t, &all_a, &holds), 5);
    assert_true(holds);
    struct lines_check all = {.measure = LINES_DELIVERED, .all = true};
    /* 1-6, and 8 from the other tenant: 7 of 8, so not all. */
    assert_int_equal(lines_check_value(&logs, &t, &all, &holds), 7);
    assert_false(holds);
    struct lines_check lost_b = {.file = "ns/b/c", .measure = LINES_LOST, .cond = {COND_EQ, 1}};
    assert_int_equal(lines_check_value(&logs, &t, &lost_b, &holds), 1);
    assert_true(holds);
    /* A file nobody wrote counts 0. */
    struct lines_check none = {.file = "ns/z/c", .measure = LINES_WRITTEN, .cond = {COND_EQ, 0}};
    assert_int_equal(lines_check_value(&logs, &t, &none, &holds), 0);
    assert_true(holds);
    char buf[256];
    struct lines_check dup = {.measure = LINES_DUPLICATED, .cond = {COND_EQ, 1}};
    lines_check_describe(&logs, &t, &dup, true, buf, sizeof(buf));
    assert_string_equal(buf, "lines.duplicated = 0 (want == 1)");
    lines_check_describe(&logs, &t, &lost_b, false, buf, sizeof(buf));
    assert_string_equal(buf, "lines[ns/b/c].lost = 1");
    lines_check_describe(&logs, &t, &all_a, true, buf, sizeof(buf));
    assert_string_equal(buf, "lines[ns/a/c].delivered = 5 (want all 5 written)");
    lines_tally_free(&t);
    json_decref(view);

    struct error err;
    json_t *bad = json_pack("{s:[]}", "streams");
    assert_int_equal(lines_tally(&logs, bad, &t, &err), -EINVAL);
    json_decref(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_are_found_wherever_they_sit),
        cmocka_unit_test(test_tally_counts_per_file_and_in_total),
        cmocka_unit_test(test_checks_measure_files_and_totals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
