/*
 * test_wait.c - the waiting helper with a fake clock: the backoff sequence (5 ms doubling to
 * 500 ms), the last check exactly at the deadline, the timeout message naming what was awaited
 * and what was last seen, and conditions that abort.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wait.h"

struct fake_clock {
    int64_t now;
    int64_t sleeps[64];
    size_t count;
};

static int64_t fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now;
}

static void fake_sleep(void *ctx, int64_t ms)
{
    struct fake_clock *c = ctx;
    if (c->count < 64)
        c->sleeps[c->count++] = ms;
    c->now += ms;
}

struct counter {
    int calls;
    int succeed_at; /* 0 = never */
};

static int count_condition(void *ctx, char *seen, size_t size, struct error *err)
{
    (void)err;
    struct counter *c = ctx;
    c->calls++;
    snprintf(seen, size, "loki.records = %d", c->calls);
    return c->succeed_at && c->calls >= c->succeed_at ? 1 : 0;
}

static void test_backoff_doubles_from_5ms_to_500ms(void **state)
{
    (void)state;
    int64_t d = 0;
    const int64_t expected[] = {5, 10, 20, 40, 80, 160, 320, 500, 500};
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        d = wait_next_delay(d);
        assert_int_equal(d, expected[i]);
    }
}

static void test_condition_checked_at_once_then_with_backoff(void **state)
{
    (void)state;
    struct fake_clock clock = {.now = 1000};
    struct wait_clock wc = {fake_now, fake_sleep, &clock};
    struct counter c = {.succeed_at = 4};
    struct wait_spec spec = {.what = "loki records >= 4", .timeout_ms = 10000, .clock = &wc};
    int64_t elapsed;
    assert_int_equal(wait_until(&spec, count_condition, &c, &elapsed, NULL), 0);
    assert_int_equal(c.calls, 4);
    assert_int_equal(clock.count, 3);
    assert_int_equal(clock.sleeps[0], 5);
    assert_int_equal(clock.sleeps[1], 10);
    assert_int_equal(clock.sleeps[2], 20);
    assert_int_equal(elapsed, 35);
}

static void test_timeout_says_what_was_awaited_and_last_seen(void **state)
{
    (void)state;
    struct fake_clock clock = {.now = 0};
    struct wait_clock wc = {fake_now, fake_sleep, &clock};
    struct counter c = {0};
    struct wait_spec spec = {.what = "loki.records >= 2", .timeout_ms = 1000, .clock = &wc};
    struct error err;
    assert_int_equal(wait_until(&spec, count_condition, &c, NULL, &err), -ETIMEDOUT);
    /* 5+10+20+40+80+160+320 = 635, then the sleep is cut to 365 to land on the deadline. */
    assert_int_equal(clock.now, 1000);
    assert_int_equal(clock.sleeps[clock.count - 1], 365);
    assert_int_equal(c.calls, 9); /* at once, after each of 7 sleeps, and at the deadline */
    assert_string_equal(err.message, "timed out after 1s waiting for loki.records >= 2; "
                                     "last seen: loki.records = 9");
}

static int failing_condition(void *ctx, char *seen, size_t size, struct error *err)
{
    (void)ctx;
    (void)seen;
    (void)size;
    return error_set(err, -ECHILD, ERROR_PERMANENT, "the collector exited (exit 2)");
}

static void test_condition_error_ends_the_wait_at_once(void **state)
{
    (void)state;
    struct fake_clock clock = {.now = 0};
    struct wait_clock wc = {fake_now, fake_sleep, &clock};
    struct wait_spec spec = {.what = "x", .timeout_ms = 5000, .clock = &wc};
    struct error err;
    assert_int_equal(wait_until(&spec, failing_condition, NULL, NULL, &err), -ECHILD);
    assert_int_equal(clock.count, 0);
    assert_string_equal(err.message, "the collector exited (exit 2)");
}

static void test_duration_format(void **state)
{
    (void)state;
    char buf[32];
    wait_format_duration(250, buf, sizeof(buf));
    assert_string_equal(buf, "250ms");
    wait_format_duration(10000, buf, sizeof(buf));
    assert_string_equal(buf, "10s");
    wait_format_duration(1500, buf, sizeof(buf));
    assert_string_equal(buf, "1.5s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_from_5ms_to_500ms),
        cmocka_unit_test(test_condition_checked_at_once_then_with_backoff),
        cmocka_unit_test(test_timeout_says_what_was_awaited_and_last_seen),
        cmocka_unit_test(test_condition_error_ends_the_wait_at_once),
        cmocka_unit_test(test_duration_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
