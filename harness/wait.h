/*
 * wait.h - the one way the harness waits: poll a condition with backoff until a deadline.
 *
 * Mirrors the collector testbed's WaitForN (testbed/testbed/test_case.go): instead of sleeping a
 * guessed time, a step states what it waits for, the helper checks it at once, then after 5 ms,
 * 10 ms, 20 ms ... capped at 500 ms, and at the deadline says what it waited for and what it saw
 * last. There is deliberately no "sleep N seconds" anywhere in the harness.
 *
 * The clock is injectable so the unit tests can check the backoff sequence and the deadline
 * without real time passing.
 */
#ifndef HARNESS_WAIT_H
#define HARNESS_WAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define WAIT_FIRST_DELAY_MS 5
#define WAIT_MAX_DELAY_MS 500
#define WAIT_SEEN_MAX 512

struct wait_clock {
    int64_t (*now_ms)(void *ctx);            /* monotonic milliseconds */
    void (*sleep_ms)(void *ctx, int64_t ms); /* may return early (signals) */
    void *ctx;
};

/* A condition: returns 1 when satisfied, 0 when not yet (after writing what it saw into `seen`,
 * which has WAIT_SEEN_MAX bytes), or a negative code with `err` filled to abort the wait (e.g.
 * "the collector exited"). */
typedef int (*wait_condition_fn)(void *ctx, char *seen, size_t seen_size, struct error *err);

struct wait_spec {
    const char *what;   /* what is awaited, for the timeout message: "loki records >= 2" */
    int64_t timeout_ms; /* > 0 */
    const struct wait_clock *clock; /* NULL = the real monotonic clock */
};

/* Polls `cond` until it holds or `spec->timeout_ms` passes (the condition is always checked once
 * more at the deadline). Returns 0 when it held; -ETIMEDOUT with err = "timed out after 10s
 * waiting for <what>; last seen: <seen>"; -ECANCELED when wait_cancel() was called; or the
 * condition's own negative code and message. `elapsed_ms` (may be NULL) gets the time spent. */
int wait_until(const struct wait_spec *spec, wait_condition_fn cond, void *ctx, int64_t *elapsed_ms,
               struct error *err);

/* The delay after `previous_ms` (0 = the first delay): 5, 10, 20, ... capped at 500. */
int64_t wait_next_delay(int64_t previous_ms);

/* Formats a duration for messages: "250ms", "10s", "1.5s". */
void wait_format_duration(int64_t ms, char *buf, size_t size);

/* Asks every running and future wait to stop with -ECANCELED (SIGINT/SIGTERM of the harness).
 * Async-signal-safe. */
void wait_cancel(void);
bool wait_cancelled(void);

/* The real clock's now, for timings in reports. */
int64_t wait_monotonic_ms(void);

#endif
