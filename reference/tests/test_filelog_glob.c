/*
 * test_filelog_glob.c - which files the filelog receiver reads (reference/receivers/filelog/
 * file_glob.c): doublestar's pattern language as a table, then include/exclude on a real tree
 * laid out as kubelet lays out /var/log/pods, including the team's exclude of the collector's
 * own pods.
 */
#include <errno.h>
#include <ftw.h>
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

#include "receivers/filelog/fileconsumer.h"

/* doublestar.PathMatch, case by case: pattern, path, expected. */
static const struct {
    const char *pattern, *path;
    bool match;
} match_cases[] = {
    /* `*` stays within one component */
    {"/var/log/*.log", "/var/log/a.log", true},
    {"/var/log/*.log", "/var/log/x/a.log", false},
    {"/var/log/*", "/var/log/.hidden", true}, /* dot files are not special */
    {"*.log", "a.log", true},
    {"*.log", "/a.log", false}, /* relative pattern, absolute path */
    /* `**` crosses directories, zero included */
    {"/var/log/**/*.log", "/var/log/a.log", true},
    {"/var/log/**/*.log", "/var/log/a/b/c.log", true},
    {"/var/log/**", "/var/log/a/b/c.log", true},
    {"/var/log/**", "/var/log", true},
    {"/var/**/c.log", "/var/log/a/b/c.log", true},
    {"/var/**/x/*.log", "/var/log/a/b/c.log", false},
    {"/var/log/a**", "/var/log/abc", true}, /* not a whole component: like `*` */
    {"/var/log/a**", "/var/log/a/b", false},
    /* `?` and classes */
    {"/var/log/?.log", "/var/log/a.log", true},
    {"/var/log/?.log", "/var/log/ab.log", false},
    {"/var/log/?.log", "/var/log/é.log", true}, /* one character, two bytes */
    {"/var/log/[abc].log", "/var/log/b.log", true},
    {"/var/log/[abc].log", "/var/log/d.log", false},
    {"/var/log/[a-c].log", "/var/log/c.log", true},
    {"/var/log/[!a-c].log", "/var/log/c.log", false},
    {"/var/log/[^a-c].log", "/var/log/d.log", true},
    {"/var/log/[*].log", "/var/log/*.log", true},
    /* alternatives, nested, and holding a `/` */
    {"/var/log/{a,b}.log", "/var/log/b.log", true},
    {"/var/log/{a,b}.log", "/var/log/c.log", false},
    {"/var/log/{a,b{c,d}}.log", "/var/log/bd.log", true},
    {"/var/{log/x,tmp}/*.log", "/var/log/x/a.log", true},
    {"/var/{log/x,tmp}/*.log", "/var/tmp/a.log", true},
    /* escapes */
    {"/var/log/\\*.log", "/var/log/*.log", true},
    {"/var/log/\\*.log", "/var/log/a.log", false},
    /* the team's patterns */
    {"/var/log/pods/*/*/*.log", "/var/log/pods/default_web-1_0a1b/nginx/0.log", true},
    {"/var/log/pods/*/*/*.log", "/var/log/pods/default_web-1_0a1b/nginx/0.log.20240101-000000",
     false},
    {"/var/log/pods/*/*/*.log", "/var/log/pods/default_web-1_0a1b/0.log", false},
    {"/var/log/pods/opentelemetry_otel-collector*/*/*.log",
     "/var/log/pods/opentelemetry_otel-collector-collector-abcde_0a1b/otc-container/0.log", true},
    {"/var/log/pods/opentelemetry_otel-collector*/*/*.log",
     "/var/log/pods/opentelemetry_other-app-1_0a1b/app/0.log", false},
    {"/var/log/pods/opentelemetry_otel-collector*/*/*.log",
     "/var/log/pods/default_otel-collector-x_0a1b/app/0.log", false},
};

static void test_glob_match_table(void **state)
{
    int failures = 0;
    for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
        bool got = fc_glob_match(match_cases[i].pattern, match_cases[i].path);
        if (got != match_cases[i].match) {
            print_error("%s vs %s: want %s, got %s\n", match_cases[i].pattern, match_cases[i].path,
                        match_cases[i].match ? "match" : "no match", got ? "match" : "no match");
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_glob_validation(void **state)
{
    static const struct {
        const char *pattern;
        bool valid;
    } cases[] = {
        {"/var/log/*.log", true},    {"/var/log/{a,b}.log", true}, {"/var/log/[ab].log", true},
        {"/var/log/[ab.log", false}, {"/var/log/{a,b.log", false}, {"/var/log/a\\", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if ((fc_glob_validate(cases[i].pattern) == 0) != cases[i].valid)
            fail_msg("%s: want %s", cases[i].pattern, cases[i].valid ? "valid" : "invalid");
}

/* ---- the finder on a real tree ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void touch(const char *root, const char *relative)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, relative);
    /* parents first */
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    if (relative[strlen(relative) - 1] == '/') {
        mkdir(path, 0755);
        return;
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("x\n", f);
    fclose(f);
}

struct tree {
    char root[64];
};

static int tree_setup(void **state)
{
    struct tree *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    snprintf(t->root, sizeof(t->root), "/tmp/test_filelog_glob.XXXXXX");
    assert_non_null(mkdtemp(t->root));
    static const char *const files[] = {
        "pods/default_web-1_0a1b/nginx/0.log",
        "pods/default_web-1_0a1b/nginx/0.log.20240101-000000",
        "pods/default_web-1_0a1b/nginx/1.log",
        "pods/default_web-1_0a1b/sidecar/0.log",
        "pods/kube-system_dns-2_9f8e/coredns/0.log",
        "pods/opentelemetry_otel-collector-collector-abcde_77aa/otc-container/0.log",
        "pods/opentelemetry_other-app-1_66bb/app/0.log",
        "pods/default_web-1_0a1b/nginx/dir.log/", /* a directory named like a log */
        "deep/a/b/c/x.log",
        "deep/y.log",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        touch(t->root, files[i]);
    char link[256], target[256];
    snprintf(target, sizeof(target), "%s/deep/y.log", t->root);
    snprintf(link, sizeof(link), "%s/deep/link.log", t->root);
    assert_int_equal(symlink(target, link), 0); /* a symlink to a file is a file */
    *state = t;
    return 0;
}

static int tree_teardown(void **state)
{
    struct tree *t = *state;
    nftw(t->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(t);
    return 0;
}

/* Runs the finder with patterns relative to the tree (prefixed with its root) and compares the
 * result, relative again, with `expected` (NULL-terminated, in order). */
static void expect_found(const struct tree *t, const char *const *include,
                         const char *const *exclude, const char *const *expected)
{
    char *inc[8], *exc[8];
    struct option_string_list include_list = {inc, 0}, exclude_list = {exc, 0};
    for (; include && include[include_list.count]; include_list.count++) {
        inc[include_list.count] = malloc(512);
        snprintf(inc[include_list.count], 512, "%s/%s", t->root, include[include_list.count]);
    }
    for (; exclude && exclude[exclude_list.count]; exclude_list.count++) {
        exc[exclude_list.count] = malloc(512);
        snprintf(exc[exclude_list.count], 512, "%s/%s", t->root, exclude[exclude_list.count]);
    }
    struct fc_paths found = {0};
    assert_int_equal(fc_find_files(&include_list, &exclude_list, &found), 0);
    size_t root_len = strlen(t->root) + 1;
    size_t n = 0;
    for (; expected[n]; n++) {
        if (n >= found.count)
            fail_msg("missing %s (found only %zu)", expected[n], found.count);
        assert_string_equal(found.items[n] + root_len, expected[n]);
    }
    if (found.count != n)
        fail_msg("unexpected extra match %s", found.items[n]);
    fc_paths_release(&found);
    for (size_t i = 0; i < include_list.count; i++)
        free(inc[i]);
    for (size_t i = 0; i < exclude_list.count; i++)
        free(exc[i]);
}

static void test_finder_matches_files_only_sorted(void **state)
{
    const char *include[] = {"pods/*/*/*.log", NULL};
    const char *expected[] = {
        "pods/default_web-1_0a1b/nginx/0.log",
        "pods/default_web-1_0a1b/nginx/1.log",
        "pods/default_web-1_0a1b/sidecar/0.log",
        "pods/kube-system_dns-2_9f8e/coredns/0.log",
        "pods/opentelemetry_other-app-1_66bb/app/0.log",
        NULL,
    };
    /* and the collector's own pod is left out by the team's exclude */
    const char *exclude[] = {"pods/opentelemetry_otel-collector*/*/*.log", NULL};
    expect_found(*state, include, exclude, expected);
}

static void test_finder_without_exclude_sees_the_collector_pod(void **state)
{
    const char *include[] = {"pods/opentelemetry_*/*/*.log", NULL};
    const char *expected[] = {
        "pods/opentelemetry_otel-collector-collector-abcde_77aa/otc-container/0.log",
        "pods/opentelemetry_other-app-1_66bb/app/0.log",
        NULL,
    };
    expect_found(*state, include, NULL, expected);
}

static void test_finder_doublestar_and_duplicates(void **state)
{
    /* `**` reaches every depth; a path two includes find is listed once, at its first place */
    const char *include[] = {"deep/**/*.log", "deep/y.log", "pods/default_web-1_0a1b/*/0.log",
                             NULL};
    const char *expected[] = {
        "deep/link.log",
        "deep/y.log",
        "deep/a/b/c/x.log",
        "pods/default_web-1_0a1b/nginx/0.log",
        "pods/default_web-1_0a1b/sidecar/0.log",
        NULL,
    };
    expect_found(*state, include, NULL, expected);
}

static void test_finder_literal_and_missing(void **state)
{
    const char *include[] = {"deep/y.log", "deep/missing.log", "nowhere/*/*.log", NULL};
    const char *expected[] = {"deep/y.log", NULL};
    expect_found(*state, include, NULL, expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_match_table),
        cmocka_unit_test(test_glob_validation),
        cmocka_unit_test_setup_teardown(test_finder_matches_files_only_sorted, tree_setup,
                                        tree_teardown),
        cmocka_unit_test_setup_teardown(test_finder_without_exclude_sees_the_collector_pod,
                                        tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_finder_doublestar_and_duplicates, tree_setup,
                                        tree_teardown),
        cmocka_unit_test_setup_teardown(test_finder_literal_and_missing, tree_setup, tree_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
