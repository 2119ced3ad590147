/*
 * test_retry.c - unit tests of the exporters' retry rules
 * (reference/exporters/exporterhelper/retry.c): status classification, Retry-After parsing, backoff
 * bounds with randomisation, the give-up rules and upstream's config validation messages. Every
 * case is a row of a table that reads as the rule it checks (core@v0.144.0 retry_sender.go,
 * otlp.go, configretry/backoff.go).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../exporters/exporterhelper/retry.h"

#define SECOND 1000000000LL
#define MS 1000000LL

static const struct retry_config upstream_defaults = {
    .enabled = true,
    .initial_interval_ns = 5 * SECOND,
    .randomization_factor = 0.5,
    .multiplier = 1.5,
    .max_interval_ns = 30 * SECOND,
    .max_elapsed_time_ns = 300 * SECOND,
};

static void test_retry_classifies_http_statuses(void **state)
{
    static const struct {
        int status;
        enum retry_class expected;
        bool honours_retry_after;
    } cases[] = {
        {200, RETRY_CLASS_SUCCESS, false},   {202, RETRY_CLASS_SUCCESS, false},
        {204, RETRY_CLASS_SUCCESS, false},   {429, RETRY_CLASS_RETRYABLE, true},
        {502, RETRY_CLASS_RETRYABLE, false}, {503, RETRY_CLASS_RETRYABLE, true},
        {504, RETRY_CLASS_RETRYABLE, false}, {400, RETRY_CLASS_PERMANENT, false},
        {401, RETRY_CLASS_PERMANENT, false}, {403, RETRY_CLASS_PERMANENT, false},
        {404, RETRY_CLASS_PERMANENT, false}, {413, RETRY_CLASS_PERMANENT, false},
        {500, RETRY_CLASS_PERMANENT, false}, /* Prometheus' rollback: dropped, not retried */
        {501, RETRY_CLASS_PERMANENT, false}, {301, RETRY_CLASS_PERMANENT, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (retry_classify_http_status(cases[i].status) != cases[i].expected)
            fail_msg("status %d classified wrongly", cases[i].status);
        assert_int_equal(retry_status_honours_retry_after(cases[i].status),
                         cases[i].honours_retry_after);
    }
}

static void test_retry_classifies_grpc_codes(void **state)
{
    /* exporter/otlpexporter/otlp.go shouldRetry, as a table of code, RetryInfo, class */
    static const struct {
        int code;
        bool retry_info;
        enum retry_class expected;
    } cases[] = {
        {0, false, RETRY_CLASS_SUCCESS},    /* OK */
        {1, false, RETRY_CLASS_RETRYABLE},  /* Canceled */
        {2, false, RETRY_CLASS_PERMANENT},  /* Unknown */
        {3, false, RETRY_CLASS_PERMANENT},  /* InvalidArgument (Tempo's bad ids) */
        {4, false, RETRY_CLASS_RETRYABLE},  /* DeadlineExceeded */
        {5, false, RETRY_CLASS_PERMANENT},  /* NotFound */
        {7, false, RETRY_CLASS_PERMANENT},  /* PermissionDenied */
        {8, false, RETRY_CLASS_PERMANENT},  /* ResourceExhausted without RetryInfo (Tempo) */
        {8, true, RETRY_CLASS_RETRYABLE},   /* ResourceExhausted with RetryInfo */
        {9, false, RETRY_CLASS_PERMANENT},  /* FailedPrecondition */
        {10, false, RETRY_CLASS_RETRYABLE}, /* Aborted */
        {11, false, RETRY_CLASS_RETRYABLE}, /* OutOfRange */
        {12, false, RETRY_CLASS_PERMANENT}, /* Unimplemented */
        {13, false, RETRY_CLASS_PERMANENT}, /* Internal */
        {13, true, RETRY_CLASS_PERMANENT},  /* RetryInfo does not make Internal retryable */
        {14, false, RETRY_CLASS_RETRYABLE}, /* Unavailable */
        {15, false, RETRY_CLASS_RETRYABLE}, /* DataLoss */
        {16, false, RETRY_CLASS_PERMANENT}, /* Unauthenticated */
        {99, false, RETRY_CLASS_PERMANENT}, /* not a code */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (retry_classify_grpc_status(cases[i].code, cases[i].retry_info) != cases[i].expected)
            fail_msg("code %d (RetryInfo %d) classified wrongly", cases[i].code,
                     cases[i].retry_info);
}

static void test_retry_parses_retry_after_seconds_and_dates(void **state)
{
    /* 2015-10-21 07:28:00 UTC */
    const int64_t date = 1445412480LL * SECOND;
    static const struct {
        const char *value;
        int64_t now_offset_ns; /* now = date + offset */
        int rc;
        int64_t delay_ns;
    } cases[] = {
        {"30", 0, 0, 30 * SECOND},
        {"0", 0, 0, 0},
        {"+7", 0, 0, 7 * SECOND},
        {"-5", 0, 0, -5 * SECOND}, /* Atoi accepts it; max(backoff, -5s) is the backoff */
        {"Wed, 21 Oct 2015 07:28:00 GMT", -10 * SECOND, 0, 10 * SECOND},
        {"Wed, 21 Oct 2015 07:28:00 UTC", -90 * SECOND, 0, 90 * SECOND},
        {"wed, 21 oct 2015 07:28:00 GMT", -1 * SECOND, 0, 1 * SECOND},   /* names fold case */
        {"Wed, 21 Oct 2015 07:28:00 GMT", 20 * SECOND, 0, -20 * SECOND}, /* in the past */
        {"Sun, 21 Oct 2015 07:28:00 GMT", 0, 0, 0}, /* weekday not checked against the date */
        {"", 0, -EINVAL, 0},
        {" 5", 0, -EINVAL, 0},
        {"5s", 0, -EINVAL, 0},
        {"1.5", 0, -EINVAL, 0},
        {"Wed, 21 Oct 2015 07:28:00", 0, -EINVAL, 0},     /* no zone */
        {"Wed, 21-Oct-2015 07:28:00 GMT", 0, -EINVAL, 0}, /* RFC 850, not RFC 1123 */
        {"Wed, 32 Oct 2015 07:28:00 GMT", 0, -EINVAL, 0},
        {"Wed, 1 Oct 2015 07:28:00 GMT", 0, -EINVAL, 0}, /* day needs two digits */
        {"2015-10-21T07:28:00Z", 0, -EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t delay = 12345;
        int rc = retry_parse_retry_after(cases[i].value, date + cases[i].now_offset_ns, &delay);
        if (rc != cases[i].rc)
            fail_msg("\"%s\": rc %d, expected %d", cases[i].value, rc, cases[i].rc);
        if (rc == 0 && delay != cases[i].delay_ns)
            fail_msg("\"%s\": delay %lld, expected %lld", cases[i].value, (long long)delay,
                     (long long)cases[i].delay_ns);
    }
}

static void test_retry_backoff_stays_within_randomization_bounds(void **state)
{
    /* The un-randomised interval grows 5s, 7.5s, 11.25s, ... and is capped at 30s. */
    static const double intervals_s[] = {5, 7.5, 11.25, 16.875, 25.3125, 30, 30, 30};
    static const double randoms[] = {0.0, 0.5, 0.999999};
    for (size_t r = 0; r < sizeof(randoms) / sizeof(randoms[0]); r++) {
        struct retry_backoff b;
        retry_backoff_init(&b, &upstream_defaults);
        for (size_t i = 0; i < sizeof(intervals_s) / sizeof(intervals_s[0]); i++) {
            double current = intervals_s[i] * SECOND;
            int64_t next = retry_backoff_next(&b, randoms[r]);
            double low = current * 0.5, high = current * 1.5 + 1;
            if ((double)next < low - 1 || (double)next > high)
                fail_msg("retry %zu, random %.6f: %lld ns outside [%.0f, %.0f]", i, randoms[r],
                         (long long)next, low, high);
        }
    }
    /* random 0 gives exactly the lower bound: interval * (1 - factor) */
    struct retry_backoff b;
    retry_backoff_init(&b, &upstream_defaults);
    assert_int_equal(retry_backoff_next(&b, 0.0), 2500 * MS);
    assert_int_equal(retry_backoff_next(&b, 0.0), 3750 * MS);
}

static void test_retry_backoff_without_randomization_is_exact(void **state)
{
    struct retry_config cfg = upstream_defaults;
    cfg.randomization_factor = 0;
    cfg.initial_interval_ns = 1 * SECOND;
    cfg.multiplier = 2;
    cfg.max_interval_ns = 5 * SECOND;
    static const int64_t expected[] = {1 * SECOND, 2 * SECOND, 4 * SECOND, 5 * SECOND, 5 * SECOND};
    struct retry_backoff b;
    retry_backoff_init(&b, &cfg);
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        assert_int_equal(retry_backoff_next(&b, 0.73), expected[i]);
}

static void test_retry_plan_applies_throttle_max_elapsed_and_deadline(void **state)
{
    static const struct {
        const char *rule;
        int64_t now_ns, backoff_ns;
        bool has_throttle;
        int64_t throttle_ns, deadline_ns, max_elapsed_ns;
        enum retry_verdict verdict;
        int64_t wait_ns;
    } cases[] = {
        {"plain backoff", 10 * SECOND, 5 * SECOND, false, 0, 0, 300 * SECOND, RETRY_VERDICT_WAIT,
         5 * SECOND},
        {"Retry-After longer than the backoff wins", 0, 5 * SECOND, true, 30 * SECOND, 0,
         300 * SECOND, RETRY_VERDICT_WAIT, 30 * SECOND},
        {"backoff longer than Retry-After wins", 0, 5 * SECOND, true, 1 * SECOND, 0, 300 * SECOND,
         RETRY_VERDICT_WAIT, 5 * SECOND},
        {"a Retry-After date in the past leaves the backoff", 0, 5 * SECOND, true, -9 * SECOND, 0,
         300 * SECOND, RETRY_VERDICT_WAIT, 5 * SECOND},
        {"next try exactly at max_elapsed is still allowed", 295 * SECOND, 5 * SECOND, false, 0, 0,
         300 * SECOND, RETRY_VERDICT_WAIT, 5 * SECOND},
        {"next try after max_elapsed gives up", 296 * SECOND, 5 * SECOND, false, 0, 0, 300 * SECOND,
         RETRY_VERDICT_EXHAUSTED, 5 * SECOND},
        {"a throttle past max_elapsed gives up", 0, 5 * SECOND, true, 400 * SECOND, 0, 300 * SECOND,
         RETRY_VERDICT_EXHAUSTED, 400 * SECOND},
        {"max_elapsed 0 retries forever", 10000 * SECOND, 30 * SECOND, false, 0, 0, 0,
         RETRY_VERDICT_WAIT, 30 * SECOND},
        {"next try after the shutdown deadline stops", 10 * SECOND, 5 * SECOND, false, 0,
         12 * SECOND, 300 * SECOND, RETRY_VERDICT_DEADLINE, 5 * SECOND},
        {"next try before the shutdown deadline waits", 10 * SECOND, 1 * SECOND, false, 0,
         12 * SECOND, 300 * SECOND, RETRY_VERDICT_WAIT, 1 * SECOND},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct retry_config cfg = upstream_defaults;
        cfg.max_elapsed_time_ns = cases[i].max_elapsed_ns;
        int64_t wait = -1;
        enum retry_verdict v =
            retry_plan(&cfg, cases[i].now_ns, 0, cases[i].backoff_ns, cases[i].has_throttle,
                       cases[i].throttle_ns, cases[i].deadline_ns, &wait);
        if (v != cases[i].verdict || wait != cases[i].wait_ns)
            fail_msg("%s: verdict %d wait %lld, expected %d wait %lld", cases[i].rule, v,
                     (long long)wait, cases[i].verdict, (long long)cases[i].wait_ns);
    }
}

static void test_retry_config_validation_uses_upstream_messages(void **state)
{
    static const struct {
        const char *change;
        struct retry_config cfg;
        const char *message; /* NULL = valid */
    } cases[] = {
        {"defaults", {true, 5 * SECOND, 0.5, 1.5, 30 * SECOND, 300 * SECOND}, NULL},
        {"negative initial_interval",
         {true, -1, 0.5, 1.5, 30 * SECOND, 300 * SECOND},
         "'initial_interval' must be non-negative"},
        {"randomization_factor above 1",
         {true, 5 * SECOND, 1.5, 1.5, 30 * SECOND, 300 * SECOND},
         "'randomization_factor' must be within [0, 1]"},
        {"negative multiplier",
         {true, 5 * SECOND, 0.5, -1, 30 * SECOND, 300 * SECOND},
         "'multiplier' must be non-negative"},
        {"negative max_interval",
         {true, 5 * SECOND, 0.5, 1.5, -1, 300 * SECOND},
         "'max_interval' must be non-negative"},
        {"negative max_elapsed_time",
         {true, 5 * SECOND, 0.5, 1.5, 30 * SECOND, -1},
         "'max_elapsed_time' must be non-negative"},
        {"max_elapsed below initial",
         {true, 5 * SECOND, 0.5, 1.5, 1 * SECOND, 2 * SECOND},
         "'max_elapsed_time' must not be less than 'initial_interval'"},
        {"max_elapsed below max_interval",
         {true, 5 * SECOND, 0.5, 1.5, 30 * SECOND, 10 * SECOND},
         "'max_elapsed_time' must not be less than 'max_interval'"},
        {"max_elapsed 0 skips the comparisons", {true, 5 * SECOND, 0.5, 1.5, 30 * SECOND, 0}, NULL},
        {"disabled is never checked", {false, -1, 7, -1, -1, -1}, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct error err = {0};
        int rc = retry_config_validate(&cases[i].cfg, &err);
        if (!cases[i].message) {
            if (rc != 0)
                fail_msg("%s: unexpected error \"%s\"", cases[i].change, err.message);
            continue;
        }
        if (rc != -EINVAL || strcmp(err.message, cases[i].message) != 0)
            fail_msg("%s: got rc %d \"%s\", expected \"%s\"", cases[i].change, rc, err.message,
                     cases[i].message);
    }
}

static void test_retry_formats_durations_as_go_does(void **state)
{
    static const struct {
        int64_t ns;
        const char *text;
    } cases[] = {
        {0, "0s"},
        {5 * SECOND, "5s"},
        {7500 * MS, "7.5s"},
        {4167897123LL, "4.167897123s"},
        {90 * SECOND, "1m30s"},
        {3723 * SECOND, "1h2m3s"},
        {250 * MS, "250ms"},
        {1500, "1.5\xc2\xb5s"},
        {999, "999ns"},
        {-1 * SECOND, "-1s"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[40];
        retry_format_duration(cases[i].ns, out, sizeof(out));
        if (strcmp(out, cases[i].text) != 0)
            fail_msg("%lld ns: \"%s\", expected \"%s\"", (long long)cases[i].ns, out,
                     cases[i].text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_classifies_http_statuses),
        cmocka_unit_test(test_retry_classifies_grpc_codes),
        cmocka_unit_test(test_retry_parses_retry_after_seconds_and_dates),
        cmocka_unit_test(test_retry_backoff_stays_within_randomization_bounds),
        cmocka_unit_test(test_retry_backoff_without_randomization_is_exact),
        cmocka_unit_test(test_retry_plan_applies_throttle_max_elapsed_and_deadline),
        cmocka_unit_test(test_retry_config_validation_uses_upstream_messages),
        cmocka_unit_test(test_retry_formats_durations_as_go_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
