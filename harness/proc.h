/*
 * proc.h - child processes of the harness (otel-fakes, the collector): spawn, signal, reap.
 *
 * Every child gets its own process group (so a wrapper such as valgrind and whatever it starts
 * are signalled together) and PR_SET_PDEATHSIG=SIGKILL (so a harness killed by a ctest timeout
 * leaves no orphan behind). Output goes to a log file, never to a pipe that could fill up and
 * block the child. Whoever spawns a child must call proc_stop() on every path: it signals the
 * group, waits a bounded time, escalates to SIGKILL and reaps.
 */
#ifndef HARNESS_PROC_H
#define HARNESS_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct proc {
    pid_t pid;     /* 0 = never started or already reaped */
    bool exited;   /* reaped; `status` is valid */
    int status;    /* raw wait status */
    char name[32]; /* "collector", "otel-fakes": for messages */
};

struct proc_spawn_options {
    char *const *argv;       /* argv[0] is looked up in PATH when it has no '/' */
    const char *cwd;         /* NULL = the harness's */
    const char *stdout_path; /* appended to; NULL = /dev/null */
    const char *stderr_path; /* appended to; NULL = same file as stdout */
    char *const *env;        /* "K=V" entries added to the harness's environment; may be NULL */
};

/* Starts the child. Fails (with the reason: "exec otelcol-ref: No such file or directory") when
 * fork, the redirections or exec fail; in that case nothing is left running. */
int proc_spawn(struct proc *p, const char *name, const struct proc_spawn_options *o,
               struct error *err);

/* Non-blocking reap. Returns true when the child has exited (now or before). */
bool proc_poll(struct proc *p);

/* Sends `sig` to the child's process group. No-op after exit. */
void proc_signal(struct proc *p, int sig);

/* Waits up to `timeout_ms` for the child to exit (polling with the wait helper's backoff).
 * Returns 0 when it exited, -ETIMEDOUT otherwise (the child is left running). */
int proc_wait_exit(struct proc *p, int64_t timeout_ms, struct error *err);

/* Stops the child for good: `sig` (SIGTERM usually) to the group, up to `grace_ms` to exit,
 * then SIGKILL and a final reap. Safe to call on a never-started or exited proc. Returns the
 * final wait status via p->status. */
void proc_stop(struct proc *p, int sig, int64_t grace_ms);

/* "exit 0", "exit 1", "killed by signal 9 (Killed)". */
void proc_describe_status(int status, char *buf, size_t size);

/* Exit code if the child exited normally, else -1. */
int proc_exit_code(const struct proc *p);

#endif
