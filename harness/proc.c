/*
 * proc.c - fork/exec with redirections, process groups and a death signal (see proc.h).
 *
 * exec failures are reported back through a close-on-exec pipe: the parent reads 0 bytes when
 * exec succeeded, or the child's errno when it did not, so "binary not found" is an error of
 * proc_spawn and not a mysterious exit 127 later.
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wait.h"

/* In the child only: report errno through the pipe and leave without running atexit handlers. */
static void child_fail(int report_fd, int stage)
{
    int payload[2] = {stage, errno};
    ssize_t ignored = write(report_fd, payload, sizeof(payload));
    (void)ignored;
    _exit(127);
}

static const char *stage_name(int stage)
{
    switch (stage) {
    case 1: return "open stdout log";
    case 2: return "open stderr log";
    case 3: return "chdir";
    case 4: return "setenv";
    default: return "exec";
    }
}

int proc_spawn(struct proc *p, const char *name, const struct proc_spawn_options *o,
               struct error *err)
{
    int report[2] = {-1, -1};
    int rc = 0;
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);

    if (pipe2(report, O_CLOEXEC) < 0)
        return error_set(err, -errno, ERROR_PERMANENT, "%s: pipe: %s", name, strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        rc = error_set(err, -errno, ERROR_PERMANENT, "%s: fork: %s", name, strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        close(report[0]);
        setpgid(0, 0);
        /* Dies with the harness, even on SIGKILL of the harness. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            close(devnull);
        }
        const char *out_path = o->stdout_path ? o->stdout_path : "/dev/null";
        int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (out < 0)
            child_fail(report[1], 1);
        int errfd = out;
        if (o->stderr_path && strcmp(o->stderr_path, out_path) != 0) {
            errfd = open(o->stderr_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (errfd < 0)
                child_fail(report[1], 2);
        }
        dup2(out, STDOUT_FILENO);
        dup2(errfd, STDERR_FILENO);
        if (out > STDERR_FILENO)
            close(out);
        if (errfd > STDERR_FILENO && errfd != out)
            close(errfd);
        if (o->cwd && chdir(o->cwd) < 0)
            child_fail(report[1], 3);
        for (char *const *e = o->env; e && *e; e++)
            if (putenv(*e) < 0)
                child_fail(report[1], 4);
        execvp(o->argv[0], o->argv);
        child_fail(report[1], 5);
    }
    /* Also from the parent, so a signal sent right after spawn reaches the group. */
    setpgid(pid, pid);
    p->pid = pid;
    close(report[1]);
    report[1] = -1;
    int payload[2];
    ssize_t n;
    do {
        n = read(report[0], payload, sizeof(payload));
    } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof(payload)) {
        rc = error_set(err, -payload[1], ERROR_PERMANENT, "%s: %s %s: %s", name,
                       stage_name(payload[0]), payload[0] == 5 ? o->argv[0] : "",
                       strerror(payload[1]));
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        p->pid = 0;
        goto fail;
    }
fail:
    if (report[0] >= 0)
        close(report[0]);
    if (report[1] >= 0)
        close(report[1]);
    return rc;
}

bool proc_poll(struct proc *p)
{
    if (p->exited)
        return true;
    if (p->pid <= 0)
        return true;
    int status;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid) {
        p->exited = true;
        p->status = status;
        /* Anything the child left in its group (a wrapper's children) goes with it. */
        kill(-p->pid, SIGKILL);
        return true;
    }
    if (r < 0 && errno == ECHILD) {
        p->exited = true;
        p->status = 0;
        return true;
    }
    return false;
}

void proc_signal(struct proc *p, int sig)
{
    if (p->pid > 0 && !p->exited)
        kill(-p->pid, sig);
}

static int exited_condition(void *ctx, char *seen, size_t seen_size, struct error *err)
{
    (void)err;
    struct proc *p = ctx;
    if (proc_poll(p))
        return 1;
    snprintf(seen, seen_size, "%s (pid %d) still running", p->name, (int)p->pid);
    return 0;
}

int proc_wait_exit(struct proc *p, int64_t timeout_ms, struct error *err)
{
    char what[64];
    snprintf(what, sizeof(what), "%s to exit", p->name);
    struct wait_spec spec = {.what = what, .timeout_ms = timeout_ms};
    return wait_until(&spec, exited_condition, p, NULL, err);
}

void proc_stop(struct proc *p, int sig, int64_t grace_ms)
{
    if (p->pid <= 0 || proc_poll(p))
        return;
    proc_signal(p, sig);
    /* Deliberately not through wait_until: cleanup must also work after wait_cancel(). */
    int64_t deadline = wait_monotonic_ms() + grace_ms;
    int64_t delay = 0;
    while (!proc_poll(p) && wait_monotonic_ms() < deadline) {
        delay = wait_next_delay(delay);
        struct timespec ts = {.tv_sec = 0, .tv_nsec = delay * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!proc_poll(p)) {
        kill(-p->pid, SIGKILL);
        int status;
        while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
            ;
        p->exited = true;
        p->status = status;
    }
}

void proc_describe_status(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, size, "status 0x%x", status);
}

int proc_exit_code(const struct proc *p)
{
    if (!p->exited || !WIFEXITED(p->status))
        return -1;
    return WEXITSTATUS(p->status);
}
