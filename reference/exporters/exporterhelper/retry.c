/*
 * retry.c - retry decision, Retry-After parsing and exponential backoff (see retry.h).
 *
 * Checked against core@v0.144.0 config/configretry/backoff.go,
 * exporter/exporterhelper/internal/retry_sender.go, exporter/otlphttpexporter/otlp.go,
 * exporter/otlpexporter/otlp.go and
 * cenkalti/backoff v5 exponential.go. Pure functions only: no clock, no randomness, no sleeping.
 */
#include "retry.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NS_PER_SECOND 1000000000LL

int retry_config_validate(const struct retry_config *cfg, struct error *err)
{
    /* Upstream validates nothing when retries are off, so a disabled block may hold anything. */
    if (!cfg->enabled)
        return 0;
    if (cfg->initial_interval_ns < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "'initial_interval' must be non-negative");
    if (cfg->randomization_factor < 0 || cfg->randomization_factor > 1)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "'randomization_factor' must be within [0, 1]");
    if (cfg->multiplier < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "'multiplier' must be non-negative");
    if (cfg->max_interval_ns < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "'max_interval' must be non-negative");
    if (cfg->max_elapsed_time_ns < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "'max_elapsed_time' must be non-negative");
    if (cfg->max_elapsed_time_ns > 0) {
        if (cfg->max_elapsed_time_ns < cfg->initial_interval_ns)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "'max_elapsed_time' must not be less than 'initial_interval'");
        if (cfg->max_elapsed_time_ns < cfg->max_interval_ns)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "'max_elapsed_time' must not be less than 'max_interval'");
    }
    return 0;
}

enum retry_class retry_classify_http_status(int status)
{
    if (status >= 200 && status <= 299)
        return RETRY_CLASS_SUCCESS;
    /* Only the OTLP spec's throttling/unavailable codes are retried; a 500 is permanent on
     * purpose (upstream's isRetryableStatusCode), so Prometheus' rollback 500s are dropped. */
    switch (status) {
    case 429:
    case 502:
    case 503:
    case 504: return RETRY_CLASS_RETRYABLE;
    default: return RETRY_CLASS_PERMANENT;
    }
}

enum retry_class retry_classify_grpc_status(int code, bool has_retry_info)
{
    switch (code) {
    case 0: return RETRY_CLASS_SUCCESS;
    case 1:  /* Canceled */
    case 4:  /* DeadlineExceeded */
    case 10: /* Aborted */
    case 11: /* OutOfRange */
    case 14: /* Unavailable */
    case 15: /* DataLoss */ return RETRY_CLASS_RETRYABLE;
    case 8: /* ResourceExhausted: the server can recover only if it said when */
        return has_retry_info ? RETRY_CLASS_RETRYABLE : RETRY_CLASS_PERMANENT;
    default: return RETRY_CLASS_PERMANENT;
    }
}

bool retry_status_honours_retry_after(int status)
{
    return status == 429 || status == 503;
}

/* Go's strconv.Atoi on a 64-bit platform: [+-]?[0-9]+ and nothing else, in int64 range. */
static int parse_go_atoi(const char *s, int64_t *out)
{
    bool negative = false;
    if (*s == '+' || *s == '-')
        negative = *s++ == '-';
    if (!*s)
        return -EINVAL;
    uint64_t value = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        uint64_t digit = (uint64_t)(*s - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return -ERANGE;
        value = value * 10 + digit;
    }
    if ((!negative && value > (uint64_t)INT64_MAX) || (negative && value > (uint64_t)INT64_MAX + 1))
        return -ERANGE;
    *out = negative ? (int64_t)(0 - value) : (int64_t)value;
    return 0;
}

/* Reads exactly `n` decimal digits. */
static int parse_fixed_digits(const char **s, int n, int *out)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return -EINVAL;
        value = value * 10 + (c - '0');
    }
    *s += n;
    *out = value;
    return 0;
}

static int parse_literal(const char **s, const char *literal)
{
    size_t n = strlen(literal);
    if (strncmp(*s, literal, n) != 0)
        return -EINVAL;
    *s += n;
    return 0;
}

/* Index of a three-letter name in `names` (Go's lookup ignores ASCII case), or -1. */
static int parse_short_name(const char **s, const char *const names[], int count)
{
    for (int i = 0; i < count; i++) {
        if (strncasecmp(*s, names[i], 3) == 0) {
            *s += 3;
            return i;
        }
    }
    return -1;
}

/* time.Parse(time.RFC1123, v): "Mon, 02 Jan 2006 15:04:05 MST". The weekday is checked to be a
 * day name but not against the date, as Go does. */
static int parse_rfc1123(const char *s, int64_t *unix_seconds)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int day, month, year, hour, minute, second;
    if (parse_short_name(&s, days, 7) < 0 || parse_literal(&s, ", ") < 0 ||
        parse_fixed_digits(&s, 2, &day) < 0 || parse_literal(&s, " ") < 0 ||
        (month = parse_short_name(&s, months, 12)) < 0 || parse_literal(&s, " ") < 0 ||
        parse_fixed_digits(&s, 4, &year) < 0 || parse_literal(&s, " ") < 0 ||
        parse_fixed_digits(&s, 2, &hour) < 0 || parse_literal(&s, ":") < 0 ||
        parse_fixed_digits(&s, 2, &minute) < 0 || parse_literal(&s, ":") < 0 ||
        parse_fixed_digits(&s, 2, &second) < 0 || parse_literal(&s, " ") < 0)
        return -EINVAL;
    /* Zone: an upper-case abbreviation of 3 to 5 letters ("GMT", "UTC", "CEST"). */
    size_t zone_len = 0;
    while (s[zone_len] >= 'A' && s[zone_len] <= 'Z')
        zone_len++;
    if (zone_len < 3 || zone_len > 5 || s[zone_len] != '\0')
        return -EINVAL;
    static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (day < 1 || day > month_days[month] || hour > 23 || minute > 59 || second > 59)
        return -EINVAL;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 1 && day == 29 && !leap)
        return -EINVAL;
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = month,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = minute,
                    .tm_sec = second};
    *unix_seconds = (int64_t)timegm(&tm);
    return 0;
}

int retry_parse_retry_after(const char *value, int64_t now_unix_ns, int64_t *delay_ns)
{
    if (!value)
        return -EINVAL;
    int64_t seconds;
    int rc = parse_go_atoi(value, &seconds);
    if (rc == 0) {
        /* time.Duration(seconds) * time.Second; saturate where Go would wrap around. */
        if (seconds > INT64_MAX / NS_PER_SECOND)
            *delay_ns = INT64_MAX;
        else if (seconds < INT64_MIN / NS_PER_SECOND)
            *delay_ns = INT64_MIN;
        else
            *delay_ns = seconds * NS_PER_SECOND;
        return 0;
    }
    int64_t date;
    if (parse_rfc1123(value, &date) < 0)
        return -EINVAL;
    *delay_ns = date * NS_PER_SECOND - now_unix_ns; /* time.Until(date) */
    return 0;
}

void retry_backoff_init(struct retry_backoff *b, const struct retry_config *cfg)
{
    b->initial_interval_ns = cfg->initial_interval_ns;
    b->randomization_factor = cfg->randomization_factor;
    b->multiplier = cfg->multiplier;
    b->max_interval_ns = cfg->max_interval_ns;
    b->current_interval_ns = 0;
}

int64_t retry_backoff_next(struct retry_backoff *b, double random01)
{
    if (b->current_interval_ns == 0)
        b->current_interval_ns = b->initial_interval_ns;
    int64_t current = b->current_interval_ns;
    int64_t next;
    if (b->randomization_factor == 0) {
        next = current;
    } else {
        double delta = b->randomization_factor * (double)current;
        double min_interval = (double)current - delta;
        double max_interval = (double)current + delta;
        /* The +1 is v5's: with min 1 and max 3, 1, 2 and 3 are equally likely. */
        next = (int64_t)(min_interval + random01 * (max_interval - min_interval + 1));
    }
    /* incrementCurrentInterval: saturate at max_interval before the multiplication overflows. */
    if ((double)current >= (double)b->max_interval_ns / b->multiplier)
        b->current_interval_ns = b->max_interval_ns;
    else
        b->current_interval_ns = (int64_t)((double)current * b->multiplier);
    return next;
}

enum retry_verdict retry_plan(const struct retry_config *cfg, int64_t now_ns, int64_t started_ns,
                              int64_t backoff_ns, bool has_throttle, int64_t throttle_ns,
                              int64_t deadline_ns, int64_t *wait_ns)
{
    int64_t delay = backoff_ns;
    if (has_throttle && throttle_ns > delay)
        delay = throttle_ns;
    if (delay < 0)
        delay = 0;
    int64_t next_try = now_ns + delay;
    *wait_ns = delay;
    if (cfg->max_elapsed_time_ns > 0 && started_ns + cfg->max_elapsed_time_ns < next_try)
        return RETRY_VERDICT_EXHAUSTED;
    if (deadline_ns > 0 && deadline_ns < next_try)
        return RETRY_VERDICT_DEADLINE;
    return RETRY_VERDICT_WAIT;
}

/* Go's fmtFrac: the fraction of v / 10^prec without trailing zeros (and without the point when
 * it is zero), written backwards ending at buf[w]. Returns the new start; *v becomes v / 10^prec.
 */
static size_t format_fraction(char *buf, size_t w, uint64_t *v, int prec)
{
    bool print = false;
    for (int i = 0; i < prec; i++) {
        uint64_t digit = *v % 10;
        print = print || digit != 0;
        if (print)
            buf[--w] = (char)('0' + digit);
        *v /= 10;
    }
    if (print)
        buf[--w] = '.';
    return w;
}

static size_t format_integer(char *buf, size_t w, uint64_t v)
{
    if (v == 0) {
        buf[--w] = '0';
        return w;
    }
    while (v > 0) {
        buf[--w] = (char)('0' + v % 10);
        v /= 10;
    }
    return w;
}

void retry_format_duration(int64_t ns, char *out, size_t size)
{
    char buf[40];
    size_t w = sizeof(buf);
    bool negative = ns < 0;
    uint64_t u = negative ? 0 - (uint64_t)ns : (uint64_t)ns;
    if (u < (uint64_t)NS_PER_SECOND) {
        int prec;
        buf[--w] = 's';
        if (u == 0) {
            buf[--w] = '0';
            goto done;
        } else if (u < 1000) {
            prec = 0;
            buf[--w] = 'n';
        } else if (u < 1000000) {
            prec = 3;
            buf[--w] = (char)0xb5; /* U+00B5 MICRO SIGN, as Go writes it */
            buf[--w] = (char)0xc2;
        } else {
            prec = 6;
            buf[--w] = 'm';
        }
        w = format_fraction(buf, w, &u, prec);
        w = format_integer(buf, w, u);
    } else {
        buf[--w] = 's';
        w = format_fraction(buf, w, &u, 9);
        w = format_integer(buf, w, u % 60);
        u /= 60;
        if (u > 0) {
            buf[--w] = 'm';
            w = format_integer(buf, w, u % 60);
            u /= 60;
            if (u > 0) {
                buf[--w] = 'h';
                w = format_integer(buf, w, u);
            }
        }
    }
done:
    if (negative)
        buf[--w] = '-';
    snprintf(out, size, "%.*s", (int)(sizeof(buf) - w), buf + w);
}
