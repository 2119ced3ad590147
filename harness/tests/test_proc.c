/*
 * test_proc.c - child processes: exec failures are errors of spawn, output goes to the log
 * file, a child that ignores SIGTERM is killed after the grace period, and a stopped child's
 * whole process group is gone (no orphans).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc.h"
#include "wait.h"

static void test_exec_failure_is_a_spawn_error(void **state)
{
    (void)state;
    struct proc p;
    struct error err;
    char *argv[] = {"/nonexistent/otelcol", NULL};
    struct proc_spawn_options o = {.argv = argv};
    assert_int_equal(proc_spawn(&p, "collector", &o, &err), -ENOENT);
    assert_non_null(strstr(err.message, "exec /nonexistent/otelcol"));
    assert_int_equal(p.pid, 0);
}

static void test_output_goes_to_the_log_and_exit_code_is_kept(void **state)
{
    (void)state;
    char log[] = "/tmp/test_proc_XXXXXX";
    int fd = mkstemp(log);
    close(fd);
    struct proc p;
    char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    char *env[] = {"HARNESS_TEST=1", NULL};
    struct proc_spawn_options o = {.argv = argv, .stdout_path = log, .env = env};
    assert_int_equal(proc_spawn(&p, "sh", &o, NULL), 0);
    assert_int_equal(proc_wait_exit(&p, 5000, NULL), 0);
    assert_int_equal(proc_exit_code(&p), 3);
    char buf[64] = {0};
    FILE *f = fopen(log, "r");
    assert_true(fread(buf, 1, sizeof(buf) - 1, f) > 0);
    fclose(f);
    assert_string_equal(buf, "out\nerr\n");
    char status[64];
    proc_describe_status(p.status, status, sizeof(status));
    assert_string_equal(status, "exit 3");
    unlink(log);
}

/* Processes of process group `pgid` that are not zombies, from /proc/<pid>/stat. */
static int group_members_running(pid_t pgid)
{
    DIR *proc = opendir("/proc");
    struct dirent *e;
    int n = 0;
    if (!proc)
        return -1;
    while ((e = readdir(proc))) {
        char path[300], line[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(line, sizeof(line), f)) {
            /* pid (comm) state ppid pgrp ... ; comm may hold spaces, so parse after ')'. */
            char *close = strrchr(line, ')');
            char state;
            int ppid, pgrp;
            if (close && sscanf(close + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 &&
                pgrp == (int)pgid && state != 'Z')
                n++;
        }
        fclose(f);
    }
    closedir(proc);
    return n;
}

static void test_stop_escalates_and_leaves_no_group_member(void **state)
{
    (void)state;
    struct proc p;
    char log[] = "/tmp/test_proc_XXXXXX";
    int fd = mkstemp(log);
    close(fd);
    /* A parent that ignores TERM and a grandchild in the same group. */
    char *argv[] = {"sh", "-c", "trap '' TERM; sleep 30 & echo ready; sleep 30; wait", NULL};
    struct proc_spawn_options o = {.argv = argv, .stdout_path = log};
    assert_int_equal(proc_spawn(&p, "stubborn", &o, NULL), 0);
    pid_t group = p.pid;
    /* Wait until the trap is in place, or SIGTERM would simply end the shell. */
    char buf[16] = {0};
    int64_t ready_by = wait_monotonic_ms() + 5000;
    while (!strstr(buf, "ready") && wait_monotonic_ms() < ready_by) {
        FILE *f = fopen(log, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);
            buf[n] = '\0';
            fclose(f);
        }
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    unlink(log);
    assert_non_null(strstr(buf, "ready"));
    int64_t t0 = wait_monotonic_ms();
    proc_stop(&p, SIGTERM, 300);
    int64_t took = wait_monotonic_ms() - t0;
    assert_true(p.exited);
    assert_true(took >= 250 && took < 5000);
    /* Give the kernel a moment to deliver the group SIGKILL, polling (no bare sleep). A killed
     * grandchild is re-parented to init and may stay a zombie until init reaps it, so count
     * only members that still run. */
    int64_t deadline = wait_monotonic_ms() + 5000;
    while (group_members_running(group) > 0 && wait_monotonic_ms() < deadline) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(group_members_running(group), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_failure_is_a_spawn_error),
        cmocka_unit_test(test_output_goes_to_the_log_and_exit_code_is_kept),
        cmocka_unit_test(test_stop_escalates_and_leaves_no_group_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
