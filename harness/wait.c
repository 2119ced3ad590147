/*
 * wait.c - polling with backoff until a deadline (see wait.h). The sleep before the deadline is
 * shortened so the last check happens at the deadline, not up to 500 ms after it.
 */
#include "wait.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t cancelled;

void wait_cancel(void)
{
    cancelled = 1;
}

bool wait_cancelled(void)
{
    return cancelled != 0;
}

int64_t wait_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_now_ms(void *ctx)
{
    (void)ctx;
    return wait_monotonic_ms();
}

static void real_sleep_ms(void *ctx, int64_t ms)
{
    (void)ctx;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    /* An interrupting signal ends the sleep early; the loop re-checks the cancel flag. */
    nanosleep(&ts, NULL);
}

static const struct wait_clock real_clock = {real_now_ms, real_sleep_ms, NULL};

int64_t wait_next_delay(int64_t previous_ms)
{
    if (previous_ms <= 0)
        return WAIT_FIRST_DELAY_MS;
    int64_t next = previous_ms * 2;
    return next > WAIT_MAX_DELAY_MS ? WAIT_MAX_DELAY_MS : next;
}

void wait_format_duration(int64_t ms, char *buf, size_t size)
{
    if (ms < 1000)
        snprintf(buf, size, "%lldms", (long long)ms);
    else if (ms % 1000 == 0)
        snprintf(buf, size, "%llds", (long long)(ms / 1000));
    else
        snprintf(buf, size, "%.1fs", (double)ms / 1000.0);
}

int wait_until(const struct wait_spec *spec, wait_condition_fn cond, void *ctx, int64_t *elapsed_ms,
               struct error *err)
{
    const struct wait_clock *clock = spec->clock ? spec->clock : &real_clock;
    char seen[WAIT_SEEN_MAX] = "nothing yet";
    int64_t start = clock->now_ms(clock->ctx);
    int64_t deadline = start + (spec->timeout_ms > 0 ? spec->timeout_ms : 0);
    int64_t delay = 0;
    int rc;

    for (;;) {
        if (wait_cancelled()) {
            rc = error_set(err, -ECANCELED, ERROR_PERMANENT, "interrupted while waiting for %s",
                           spec->what);
            goto done;
        }
        rc = cond(ctx, seen, sizeof(seen), err);
        if (rc != 0)
            goto done; /* 1 = satisfied, < 0 = the condition's own error */
        int64_t now = clock->now_ms(clock->ctx);
        if (now >= deadline) {
            char timeout[32];
            wait_format_duration(spec->timeout_ms, timeout, sizeof(timeout));
            rc = error_set(err, -ETIMEDOUT, ERROR_PERMANENT,
                           "timed out after %s waiting for %s; last seen: %s", timeout, spec->what,
                           seen);
            goto done;
        }
        delay = wait_next_delay(delay);
        int64_t sleep = delay < deadline - now ? delay : deadline - now;
        clock->sleep_ms(clock->ctx, sleep);
    }
done:
    if (elapsed_ms)
        *elapsed_ms = clock->now_ms(clock->ctx) - start;
    return rc > 0 ? 0 : rc;
}
