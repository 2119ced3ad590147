/*
 * poll_until.h - the one way tests wait (STYLE.md "Tests"): poll a condition with backoff, 5 ms
 * doubling to 500 ms between polls, until it holds or a deadline passes, never a bare sleep.
 * Header-only, for the cmocka tests of every directory (cmake/OtelTests.cmake puts common/tests
 * on their include path).
 */
#ifndef OTEL_TESTS_POLL_UNTIL_H
#define OTEL_TESTS_POLL_UNTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

/* Milliseconds on the monotonic clock: only differences mean anything. */
static inline long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Calls `condition(ctx)` until it returns true (true) or `timeout_ms` have passed (false),
 * sleeping 5 ms, 10 ms, 20 ms, ... at most 500 ms between calls. */
static inline bool poll_until(bool (*condition)(void *ctx), void *ctx, long timeout_ms)
{
    long long deadline = monotonic_ms() + timeout_ms;
    long delay_ms = 5;
    while (!condition(ctx)) {
        if (monotonic_ms() >= deadline)
            return false;
        struct timespec ts = {.tv_sec = delay_ms / 1000, .tv_nsec = (delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        delay_ms = delay_ms * 2 > 500 ? 500 : delay_ms * 2;
    }
    return true;
}

/* poll_until, and on timeout says on stderr what it waited for: "waited N ms for <what>". */
static inline bool poll_until_or_say(bool (*condition)(void *ctx), void *ctx, long timeout_ms,
                                     const char *what)
{
    if (poll_until(condition, ctx, timeout_ms))
        return true;
    fprintf(stderr, "waited %ld ms for %s\n", timeout_ms, what);
    return false;
}

#endif
