/*
 * time.c - the timestamp parser of pkg/stanza (contrib v0.142 operator/helper/time.go and
 * internal/coreinternal/timeutils/{parser.go,internal/ctimefmt/ctimefmt.go}) and the part of
 * Go's time.Parse it relies on (layout chunks, the parse rules of every element, the error
 * texts), written once so every layout behaves as upstream's:
 *   - strptime layouts are translated to Go layouts (%Y->2006, %m->01, %d->02, %H->15, %M->04,
 *     %S->05, %L->999, %f->999999, %s->999999999, %z->Z0700, %j->-07:00, ...; facts §2); a
 *     digit in the layout or an unknown directive is a build error;
 *   - `.999` takes any number of fractional digits (more than asked for too) and `.000` exactly
 *     as many; a fraction after seconds with no fraction in the layout is still read;
 *   - a layout ending in `Z` is read in UTC, otherwise in `location`, or Local when unset
 *     (setLocation); an offset in the value always wins;
 *   - a year-0 result gets the current year, or the previous one when that would be more than
 *     7 days ahead (SetTimestampYear);
 *   - epoch layouts s, ms, us, ns, s.ms, s.us, s.ns on strings, ints and doubles, with upstream's
 *     formatting quirks for doubles ("%10.3f");
 *   - the parse_from field is left in place.
 * Locations come from the TZif files of the system zoneinfo (Local: $TZ or /etc/localtime, as
 * Go); beyond the last transition of a file the last offset holds (Debian's files are "fat",
 * listing transitions to 2037). Not done: time zone abbreviations other than UTC/GMT are read as
 * offset 0 (Go looks them up in the location), the time-only-layout rule of later contrib
 * versions, `native` (there is no native time value in an entry).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../operator.h"

enum std {
    STD_NONE = 0,
    STD_LONG_MONTH,
    STD_MONTH,
    STD_NUM_MONTH,
    STD_ZERO_MONTH,
    STD_LONG_WEEKDAY,
    STD_WEEKDAY,
    STD_DAY,
    STD_UNDER_DAY,
    STD_ZERO_DAY,
    STD_UNDER_YEARDAY,
    STD_ZERO_YEARDAY,
    STD_HOUR,
    STD_HOUR12,
    STD_ZERO_HOUR12,
    STD_MINUTE,
    STD_ZERO_MINUTE,
    STD_SECOND,
    STD_ZERO_SECOND,
    STD_LONG_YEAR,
    STD_YEAR,
    STD_PM_UPPER,
    STD_PM_LOWER,
    STD_TZ,
    STD_ISO_TZ,
    STD_ISO_SECONDS_TZ,
    STD_ISO_SHORT_TZ,
    STD_ISO_COLON_TZ,
    STD_ISO_COLON_SECONDS_TZ,
    STD_NUM_TZ,
    STD_NUM_SECONDS_TZ,
    STD_NUM_SHORT_TZ,
    STD_NUM_COLON_TZ,
    STD_NUM_COLON_SECONDS_TZ,
    STD_FRAC0,
    STD_FRAC9,
};

struct chunk {
    size_t prefix_start, prefix_len; /* literal text before the element, in layout */
    size_t std_start, std_len;       /* the element's text in layout */
    enum std std;
    int digits; /* fractional digits */
};

#define MAX_CHUNKS 64
#define MAX_TRANSITIONS 2048

struct zone {
    int64_t *times; /* transitions */
    uint8_t *index;
    size_t n_times;
    int32_t offsets[256];
    bool is_dst[256];
    size_t n_types;
};

enum loc_kind { LOC_UTC, LOC_ZONE };

enum layout_type { LAYOUT_GOTIME, LAYOUT_EPOCH, LAYOUT_NATIVE };

struct stanza_time_parser {
    struct stanza_field parse_from;
    enum layout_type type;
    char *layout; /* the Go layout (or the epoch layout) */
    struct chunk chunks[MAX_CHUNKS];
    size_t n_chunks;
    enum loc_kind loc;
    struct zone zone;
};

/* ---- Go's nextStdChunk ---- */

static bool starts_lower(const char *s)
{
    return *s >= 'a' && *s <= 'z';
}

static bool is_digit_at(const char *s, size_t len, size_t i)
{
    return i < len && s[i] >= '0' && s[i] <= '9';
}

/* Finds the next element in layout[from..]; returns its std (STD_NONE at the end). */
static enum std next_std(const char *layout, size_t len, size_t from, size_t *at, size_t *elen,
                         int *digits)
{
    static const enum std std0x[] = {STD_ZERO_MONTH,  STD_ZERO_DAY,    STD_ZERO_HOUR12,
                                     STD_ZERO_MINUTE, STD_ZERO_SECOND, STD_YEAR};
    for (size_t i = from; i < len; i++) {
        const char *l = layout + i;
        size_t rest = len - i;
        *at = i;
        switch (l[0]) {
        case 'J':
            if (rest >= 3 && !strncmp(l, "Jan", 3)) {
                if (rest >= 7 && !strncmp(l, "January", 7))
                    return *elen = 7, STD_LONG_MONTH;
                if (!starts_lower(l + 3))
                    return *elen = 3, STD_MONTH;
            }
            break;
        case 'M':
            if (rest >= 3) {
                if (!strncmp(l, "Mon", 3)) {
                    if (rest >= 6 && !strncmp(l, "Monday", 6))
                        return *elen = 6, STD_LONG_WEEKDAY;
                    if (!starts_lower(l + 3))
                        return *elen = 3, STD_WEEKDAY;
                }
                if (!strncmp(l, "MST", 3))
                    return *elen = 3, STD_TZ;
            }
            break;
        case '0':
            if (rest >= 2 && l[1] >= '1' && l[1] <= '6')
                return *elen = 2, std0x[l[1] - '1'];
            if (rest >= 3 && l[1] == '0' && l[2] == '2')
                return *elen = 3, STD_ZERO_YEARDAY;
            break;
        case '1':
            if (rest >= 2 && l[1] == '5')
                return *elen = 2, STD_HOUR;
            return *elen = 1, STD_NUM_MONTH;
        case '2':
            if (rest >= 4 && !strncmp(l, "2006", 4))
                return *elen = 4, STD_LONG_YEAR;
            return *elen = 1, STD_DAY;
        case '_':
            if (rest >= 2 && l[1] == '2') {
                if (rest >= 5 && !strncmp(l + 1, "2006", 4)) {
                    *at = i + 1; /* a literal '_' then the year */
                    return *elen = 4, STD_LONG_YEAR;
                }
                return *elen = 2, STD_UNDER_DAY;
            }
            if (rest >= 3 && l[1] == '_' && l[2] == '2')
                return *elen = 3, STD_UNDER_YEARDAY;
            break;
        case '3': return *elen = 1, STD_HOUR12;
        case '4': return *elen = 1, STD_MINUTE;
        case '5': return *elen = 1, STD_SECOND;
        case 'P':
            if (rest >= 2 && l[1] == 'M')
                return *elen = 2, STD_PM_UPPER;
            break;
        case 'p':
            if (rest >= 2 && l[1] == 'm')
                return *elen = 2, STD_PM_LOWER;
            break;
        case '-':
            if (rest >= 7 && !strncmp(l, "-070000", 7))
                return *elen = 7, STD_NUM_SECONDS_TZ;
            if (rest >= 9 && !strncmp(l, "-07:00:00", 9))
                return *elen = 9, STD_NUM_COLON_SECONDS_TZ;
            if (rest >= 5 && !strncmp(l, "-0700", 5))
                return *elen = 5, STD_NUM_TZ;
            if (rest >= 6 && !strncmp(l, "-07:00", 6))
                return *elen = 6, STD_NUM_COLON_TZ;
            if (rest >= 3 && !strncmp(l, "-07", 3))
                return *elen = 3, STD_NUM_SHORT_TZ;
            break;
        case 'Z':
            if (rest >= 7 && !strncmp(l, "Z070000", 7))
                return *elen = 7, STD_ISO_SECONDS_TZ;
            if (rest >= 9 && !strncmp(l, "Z07:00:00", 9))
                return *elen = 9, STD_ISO_COLON_SECONDS_TZ;
            if (rest >= 5 && !strncmp(l, "Z0700", 5))
                return *elen = 5, STD_ISO_TZ;
            if (rest >= 6 && !strncmp(l, "Z07:00", 6))
                return *elen = 6, STD_ISO_COLON_TZ;
            if (rest >= 3 && !strncmp(l, "Z07", 3))
                return *elen = 3, STD_ISO_SHORT_TZ;
            break;
        case '.':
        case ',':
            if (rest >= 2 && (l[1] == '0' || l[1] == '9')) {
                char ch = l[1];
                size_t j = 1;
                while (j < rest && l[j] == ch)
                    j++;
                if (!is_digit_at(l, rest, j)) {
                    *digits = (int)(j - 1);
                    return *elen = j, ch == '0' ? STD_FRAC0 : STD_FRAC9;
                }
            }
            break;
        }
    }
    *at = len;
    *elen = 0;
    return STD_NONE;
}

static int compile_layout(struct stanza_time_parser *tp, struct error *err)
{
    const char *layout = tp->layout;
    size_t len = strlen(layout), pos = 0;
    tp->n_chunks = 0;
    for (;;) {
        if (tp->n_chunks == MAX_CHUNKS)
            return error_set(err, -EINVAL, ERROR_PERMANENT, "layout too long: %s", layout);
        struct chunk *c = &tp->chunks[tp->n_chunks++];
        size_t at, elen;
        int digits = 0;
        c->std = next_std(layout, len, pos, &at, &elen, &digits);
        c->prefix_start = pos;
        c->prefix_len = at - pos;
        c->std_start = at;
        c->std_len = elen;
        c->digits = digits;
        pos = at + elen;
        if (c->std == STD_NONE)
            return 0;
    }
}

/* ---- Go's parse ---- */

struct parsed {
    int year, month, day, yday, hour, min, sec;
    int64_t nsec;
    bool pm_set, am_set;
    bool utc;        /* "Z" or "UTC" in the value */
    int zone_offset; /* seconds east, valid when has_offset */
    bool has_offset;
    bool zone_name; /* an abbreviation was read (treated as offset 0) */
};

static const char *const long_months[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};
static const char *const long_days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};

static bool lookup_name(const char *const *tab, size_t n, size_t short_len, const char **v,
                        size_t *vlen, int *out)
{
    for (size_t i = 0; i < n; i++) {
        size_t l = short_len ? short_len : strlen(tab[i]);
        if (*vlen >= l && !strncasecmp(*v, tab[i], l)) {
            *out = (int)i;
            *v += l;
            *vlen -= l;
            return true;
        }
    }
    return false;
}

static bool getnum(const char **v, size_t *vlen, bool fixed, int *out)
{
    if (!is_digit_at(*v, *vlen, 0))
        return false;
    if (!is_digit_at(*v, *vlen, 1)) {
        if (fixed)
            return false;
        *out = (*v)[0] - '0';
        *v += 1, *vlen -= 1;
        return true;
    }
    *out = ((*v)[0] - '0') * 10 + (*v)[1] - '0';
    *v += 2, *vlen -= 2;
    return true;
}

static bool getnum3(const char **v, size_t *vlen, bool fixed, int *out)
{
    int n = 0;
    size_t i = 0;
    for (; i < 3 && is_digit_at(*v, *vlen, i); i++)
        n = n * 10 + (*v)[i] - '0';
    if (i == 0 || (fixed && i != 3))
        return false;
    *out = n;
    *v += i, *vlen -= i;
    return true;
}

/* parseNanoseconds: value[0] is '.' or ','; nbytes includes it. */
static bool parse_nanos(const char *v, size_t nbytes, int64_t *out)
{
    if (v[0] != '.' && v[0] != ',')
        return false;
    if (nbytes > 10)
        nbytes = 10;
    int64_t ns = 0;
    for (size_t i = 1; i < nbytes; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        ns = ns * 10 + (v[i] - '0');
    }
    for (size_t i = nbytes; i < 10; i++)
        ns *= 10;
    *out = ns;
    return true;
}

/* Go's parseTimeZone, reduced to what decides the length. */
static size_t time_zone_length(const char *v, size_t len)
{
    if (len < 3)
        return 0;
    if (len >= 4 && (!strncmp(v, "ChST", 4) || !strncmp(v, "MeST", 4)))
        return 4;
    if (!strncmp(v, "GMT", 3)) {
        size_t n = 3;
        if (n < len && (v[n] == '+' || v[n] == '-')) {
            size_t k = n + 1;
            while (k < len && v[k] >= '0' && v[k] <= '9')
                k++;
            if (k > n + 1)
                n = k;
        }
        return n;
    }
    if (v[0] == '+' || v[0] == '-') {
        size_t k = 1;
        while (k < len && k < 3 && v[k] >= '0' && v[k] <= '9')
            k++;
        return k > 1 ? k : 0;
    }
    size_t upper = 0;
    while (upper < len && upper < 6 && v[upper] >= 'A' && v[upper] <= 'Z')
        upper++;
    switch (upper) {
    case 0:
    case 1:
    case 2:
    case 6: return 0;
    case 5: return v[4] == 'T' ? 5 : 0;
    case 4: return (v[3] == 'T' || !strncmp(v, "WITA", 4)) ? 4 : 0;
    default: return 3;
    }
}

static bool is_leap(int y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int days_in(int month, int year)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int parse_error(struct error *err, const char *value, size_t vlen, const char *layout,
                       const char *rest, size_t rest_len, const char *elem, size_t elem_len)
{
    return error_set(err, -EINVAL, ERROR_PERMANENT,
                     "parsing time \"%.*s\" as \"%s\": cannot parse \"%.*s\" as \"%.*s\"",
                     (int)vlen, value, layout, (int)rest_len, rest, (int)elem_len, elem);
}

static int go_parse(const struct stanza_time_parser *tp, const char *value, size_t vlen,
                    struct parsed *p, struct error *err)
{
    const char *layout = tp->layout;
    const char *v = value;
    size_t n = vlen;
    const char *range = NULL;
    memset(p, 0, sizeof(*p));
    p->month = -1, p->day = -1, p->yday = -1;
    for (size_t ci = 0; ci < tp->n_chunks; ci++) {
        const struct chunk *c = &tp->chunks[ci];
        /* skip(): the literal prefix; a space matches any run of spaces */
        const char *pre = layout + c->prefix_start;
        size_t plen = c->prefix_len;
        while (plen) {
            if (*pre == ' ') {
                if (n && *v != ' ')
                    return parse_error(err, value, vlen, layout, v, n, layout + c->prefix_start,
                                       c->prefix_len);
                while (plen && *pre == ' ')
                    pre++, plen--;
                while (n && *v == ' ')
                    v++, n--;
                continue;
            }
            if (!n || *v != *pre)
                return parse_error(err, value, vlen, layout, v, n, layout + c->prefix_start,
                                   c->prefix_len);
            pre++, plen--, v++, n--;
        }
        if (c->std == STD_NONE) {
            if (n)
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "parsing time \"%.*s\": extra text: \"%.*s\"", (int)vlen, value,
                                 (int)n, v);
            break;
        }
        const char *hold = v;
        size_t hold_n = n;
        bool ok = true;
        int num;
        switch (c->std) {
        case STD_YEAR:
            if (n < 2 || !is_digit_at(v, n, 0) || !is_digit_at(v, n, 1)) {
                ok = false;
                break;
            }
            p->year = (v[0] - '0') * 10 + v[1] - '0';
            p->year += p->year >= 69 ? 1900 : 2000;
            v += 2, n -= 2;
            break;
        case STD_LONG_YEAR:
            if (n < 4 || !is_digit_at(v, n, 0) || !is_digit_at(v, n, 1) || !is_digit_at(v, n, 2) ||
                !is_digit_at(v, n, 3)) {
                ok = false;
                break;
            }
            p->year = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + v[3] - '0';
            v += 4, n -= 4;
            break;
        case STD_MONTH:
        case STD_LONG_MONTH:
            ok = lookup_name(long_months, 12, c->std == STD_MONTH ? 3 : 0, &v, &n, &p->month);
            p->month++;
            break;
        case STD_NUM_MONTH:
        case STD_ZERO_MONTH:
            ok = getnum(&v, &n, c->std == STD_ZERO_MONTH, &p->month);
            if (ok && (p->month <= 0 || p->month > 12))
                range = "month";
            break;
        case STD_WEEKDAY:
        case STD_LONG_WEEKDAY:
            ok = lookup_name(long_days, 7, c->std == STD_WEEKDAY ? 3 : 0, &v, &n, &num);
            break;
        case STD_DAY:
        case STD_UNDER_DAY:
        case STD_ZERO_DAY:
            if (c->std == STD_UNDER_DAY && n && *v == ' ')
                v++, n--;
            ok = getnum(&v, &n, c->std == STD_ZERO_DAY, &p->day);
            break;
        case STD_UNDER_YEARDAY:
        case STD_ZERO_YEARDAY:
            for (int i = 0; i < 2; i++)
                if (c->std == STD_UNDER_YEARDAY && n && *v == ' ')
                    v++, n--;
            ok = getnum3(&v, &n, c->std == STD_ZERO_YEARDAY, &p->yday);
            break;
        case STD_HOUR:
            ok = getnum(&v, &n, false, &p->hour);
            if (p->hour < 0 || p->hour >= 24)
                range = "hour";
            break;
        case STD_HOUR12:
        case STD_ZERO_HOUR12:
            ok = getnum(&v, &n, c->std == STD_ZERO_HOUR12, &p->hour);
            if (p->hour < 0 || p->hour > 12)
                range = "hour";
            break;
        case STD_MINUTE:
        case STD_ZERO_MINUTE:
            ok = getnum(&v, &n, c->std == STD_ZERO_MINUTE, &p->min);
            if (p->min < 0 || p->min >= 60)
                range = "minute";
            break;
        case STD_SECOND:
        case STD_ZERO_SECOND:
            ok = getnum(&v, &n, c->std == STD_ZERO_SECOND, &p->sec);
            if (!ok)
                break;
            if (p->sec < 0 || p->sec >= 60) {
                range = "second";
                break;
            }
            /* a fraction in the value with none in the layout is still read */
            if (n >= 2 && (v[0] == '.' || v[0] == ',') && is_digit_at(v, n, 1)) {
                enum std next = ci + 1 < tp->n_chunks ? tp->chunks[ci + 1].std : STD_NONE;
                if (next == STD_FRAC0 || next == STD_FRAC9)
                    break;
                size_t k = 2;
                while (k < n && is_digit_at(v, n, k))
                    k++;
                ok = parse_nanos(v, k, &p->nsec);
                v += k, n -= k;
            }
            break;
        case STD_PM_UPPER:
        case STD_PM_LOWER:
            if (n < 2) {
                ok = false;
                break;
            }
            if (!strncmp(v, c->std == STD_PM_UPPER ? "PM" : "pm", 2))
                p->pm_set = true;
            else if (!strncmp(v, c->std == STD_PM_UPPER ? "AM" : "am", 2))
                p->am_set = true;
            else
                ok = false;
            v += 2, n -= 2;
            break;
        case STD_ISO_TZ:
        case STD_ISO_SHORT_TZ:
        case STD_ISO_COLON_TZ:
        case STD_ISO_SECONDS_TZ:
        case STD_ISO_COLON_SECONDS_TZ:
            if (n >= 1 && *v == 'Z') {
                v++, n--;
                p->utc = true;
                break;
            }
            /* fall through */
        case STD_NUM_TZ:
        case STD_NUM_SHORT_TZ:
        case STD_NUM_COLON_TZ:
        case STD_NUM_SECONDS_TZ:
        case STD_NUM_COLON_SECONDS_TZ: {
            const char *h, *m = "00", *s = "00";
            size_t take;
            if (c->std == STD_ISO_COLON_TZ || c->std == STD_NUM_COLON_TZ) {
                if (n < 6 || v[3] != ':') {
                    ok = false;
                    break;
                }
                h = v + 1, m = v + 4, take = 6;
            } else if (c->std == STD_NUM_SHORT_TZ || c->std == STD_ISO_SHORT_TZ) {
                if (n < 3) {
                    ok = false;
                    break;
                }
                h = v + 1, take = 3;
            } else if (c->std == STD_ISO_COLON_SECONDS_TZ || c->std == STD_NUM_COLON_SECONDS_TZ) {
                if (n < 9 || v[3] != ':' || v[6] != ':') {
                    ok = false;
                    break;
                }
                h = v + 1, m = v + 4, s = v + 7, take = 9;
            } else if (c->std == STD_ISO_SECONDS_TZ || c->std == STD_NUM_SECONDS_TZ) {
                if (n < 7) {
                    ok = false;
                    break;
                }
                h = v + 1, m = v + 3, s = v + 5, take = 7;
            } else {
                if (n < 5) {
                    ok = false;
                    break;
                }
                h = v + 1, m = v + 3, take = 5;
            }
            int hr, mm, ss;
            const char *hp = h, *mp = m, *sp = s;
            size_t two = 2, two2 = 2, two3 = 2;
            if (!getnum(&hp, &two, true, &hr) || !getnum(&mp, &two2, true, &mm) ||
                !getnum(&sp, &two3, true, &ss)) {
                ok = false;
                break;
            }
            if (hr > 24)
                range = "time zone offset hour";
            if (mm > 60)
                range = "time zone offset minute";
            if (ss > 60)
                range = "time zone offset second";
            p->zone_offset = (hr * 60 + mm) * 60 + ss;
            if (v[0] == '-')
                p->zone_offset = -p->zone_offset;
            else if (v[0] != '+')
                ok = false;
            p->has_offset = true;
            v += take, n -= take;
            break;
        }
        case STD_TZ: {
            if (n >= 3 && !strncmp(v, "UTC", 3)) {
                p->utc = true;
                v += 3, n -= 3;
                break;
            }
            size_t zl = time_zone_length(v, n);
            if (!zl) {
                ok = false;
                break;
            }
            p->zone_name = true;
            v += zl, n -= zl;
            break;
        }
        case STD_FRAC0: {
            size_t nd = 1 + (size_t)c->digits;
            if (n < nd) {
                ok = false;
                break;
            }
            ok = parse_nanos(v, nd, &p->nsec);
            v += nd, n -= nd;
            break;
        }
        case STD_FRAC9: {
            if (n < 2 || (v[0] != '.' && v[0] != ',') || v[1] < '0' || v[1] > '9')
                break; /* fraction omitted */
            size_t i = 0;
            while (i + 1 < n && v[i + 1] >= '0' && v[i + 1] <= '9')
                i++;
            ok = parse_nanos(v, 1 + i, &p->nsec);
            v += 1 + i, n -= 1 + i;
            break;
        }
        default: break;
        }
        if (range)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "parsing time \"%.*s\": %s out of range", (int)vlen, value, range);
        if (!ok)
            return parse_error(err, value, vlen, layout, hold, hold_n, layout + c->std_start,
                               c->std_len);
    }
    if (p->pm_set && p->hour < 12)
        p->hour += 12;
    else if (p->am_set && p->hour == 12)
        p->hour = 0;
    if (p->yday >= 0) {
        int d = 0, m = 0, yday = p->yday;
        if (is_leap(p->year)) {
            if (yday == 31 + 29)
                m = 2, d = 29;
            else if (yday > 31 + 29)
                yday--;
        }
        if (d == 0) {
            static const int before[] = {0,   31,  59,  90,  120, 151, 181,
                                         212, 243, 273, 304, 334, 365};
            if (yday < 1 || yday > 365)
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "parsing time \"%.*s\": day-of-year out of range", (int)vlen,
                                 value);
            m = (yday - 1) / 31 + 1;
            if (before[m] < yday)
                m++;
            d = yday - before[m - 1];
        }
        if (p->month >= 0 && p->month != m)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "parsing time \"%.*s\": day-of-year does not match month", (int)vlen,
                             value);
        p->month = m;
        if (p->day >= 0 && p->day != d)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "parsing time \"%.*s\": day-of-year does not match day", (int)vlen,
                             value);
        p->day = d;
    } else {
        if (p->month < 0)
            p->month = 1;
        if (p->day < 0)
            p->day = 1;
    }
    if (p->day < 1 || p->day > days_in(p->month, p->year))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "parsing time \"%.*s\": day out of range",
                         (int)vlen, value);
    return 0;
}

/* ---- locations (TZif) ---- */

static void zone_release(struct zone *z)
{
    free(z->times);
    free(z->index);
    memset(z, 0, sizeof(*z));
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads a TZif file (RFC 8536): the 64-bit block of v2+ files, else the v1 block. */
static int zone_load(const char *path, struct zone *z)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    int rc = -ENOENT;
    if (!f)
        return rc;
    buf = malloc(1 << 20);
    size_t len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    rc = -EINVAL;
    if (!buf || len < 44 || memcmp(buf, "TZif", 4))
        goto done;
    size_t off = 0, tsize = 4;
    for (int pass = 0; pass < 2; pass++) {
        if (off + 44 > len)
            goto done;
        const unsigned char *h = buf + off;
        uint32_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28),
                 timecnt = be32(h + 32), typecnt = be32(h + 36), charcnt = be32(h + 40);
        size_t body =
            timecnt * tsize + timecnt + typecnt * 6 + charcnt + leap * (tsize + 4) + isstd + isut;
        if (pass == 0 && buf[4] >= '2') {
            off += 44 + body;
            tsize = 8;
            continue;
        }
        if (off + 44 + body > len || typecnt == 0 || typecnt > 256 || timecnt > MAX_TRANSITIONS)
            goto done;
        const unsigned char *d = h + 44;
        z->times = calloc(timecnt ? timecnt : 1, sizeof(int64_t));
        z->index = calloc(timecnt ? timecnt : 1, 1);
        if (!z->times || !z->index) {
            rc = -ENOMEM;
            goto done;
        }
        for (uint32_t i = 0; i < timecnt; i++) {
            const unsigned char *t = d + (size_t)i * tsize;
            z->times[i] = tsize == 8 ? (int64_t)((uint64_t)be32(t) << 32 | be32(t + 4))
                                     : (int64_t)(int32_t)be32(t);
        }
        memcpy(z->index, d + (size_t)timecnt * tsize, timecnt);
        const unsigned char *types = d + (size_t)timecnt * tsize + timecnt;
        for (uint32_t i = 0; i < typecnt; i++) {
            z->offsets[i] = (int32_t)be32(types + 6 * i);
            z->is_dst[i] = types[6 * i + 4];
        }
        for (uint32_t i = 0; i < timecnt; i++)
            if (z->index[i] >= typecnt)
                goto done;
        z->n_times = timecnt;
        z->n_types = typecnt;
        rc = 0;
        break;
    }
done:
    free(buf);
    if (rc < 0)
        zone_release(z);
    return rc;
}

/* Go's Location.lookup: the offset at `unix` and the span [start, end) it holds for. */
static int32_t zone_lookup(const struct zone *z, int64_t unix_sec, int64_t *start, int64_t *end)
{
    *start = INT64_MIN;
    *end = INT64_MAX;
    if (z->n_times == 0 || unix_sec < z->times[0]) {
        size_t t = 0;
        for (size_t i = 0; i < z->n_types; i++)
            if (!z->is_dst[i]) {
                t = i;
                break;
            }
        if (z->n_times)
            *end = z->times[0];
        return z->offsets[t];
    }
    size_t lo = 0, hi = z->n_times;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (unix_sec < z->times[mid])
            hi = mid;
        else
            lo = mid;
    }
    *start = z->times[lo];
    if (lo + 1 < z->n_times)
        *end = z->times[lo + 1];
    return z->offsets[z->index[lo]];
}

static int64_t to_unix_ns(const struct stanza_time_parser *tp, const struct parsed *p)
{
    int64_t secs =
        days_from_civil(p->year, p->month, p->day) * 86400 + p->hour * 3600 + p->min * 60 + p->sec;
    if (p->utc || p->zone_name) {
        /* UTC, or an abbreviation: read as offset 0 (see the file comment) */
    } else if (p->has_offset) {
        secs -= p->zone_offset;
    } else if (tp->loc == LOC_ZONE) {
        int64_t start, end;
        int32_t offset = zone_lookup(&tp->zone, secs, &start, &end);
        if (offset != 0) {
            int64_t utc = secs - offset;
            if (utc < start || utc >= end)
                offset = zone_lookup(&tp->zone, utc, &start, &end);
            secs -= offset;
        }
    }
    return secs * 1000000000 + p->nsec;
}

static int load_location(struct stanza_time_parser *tp, const char *name, struct error *err)
{
    char path[512];
    if (!name || !*name || !strcmp(name, "UTC")) {
        tp->loc = LOC_UTC;
        return 0;
    }
    if (!strcmp(name, "Local")) {
        /* Go's time.Local: $TZ ("" = UTC, ":name" or name), else /etc/localtime */
        const char *tz = getenv("TZ");
        tp->loc = LOC_UTC;
        if (tz && !*tz)
            return 0;
        if (tz) {
            if (*tz == ':')
                tz++;
            if (*tz == '/')
                snprintf(path, sizeof(path), "%s", tz);
            else
                snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
        } else {
            snprintf(path, sizeof(path), "/etc/localtime");
        }
        int rc = zone_load(path, &tp->zone);
        if (rc == -ENOMEM)
            return error_set(err, rc, ERROR_PERMANENT, "out of memory");
        if (rc == 0)
            tp->loc = LOC_ZONE;
        return 0; /* Go falls back to UTC too */
    }
    if (name[0] == '/' || strstr(name, "..") || strchr(name, '\\'))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "invalid 'location': failed to load location %s: time: invalid location "
                         "name",
                         name);
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    int rc = zone_load(path, &tp->zone);
    if (rc == -ENOMEM)
        return error_set(err, rc, ERROR_PERMANENT, "out of memory");
    if (rc < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "invalid 'location': failed to load location %s: unknown time zone %s",
                         name, name);
    tp->loc = LOC_ZONE;
    return 0;
}

/* ---- strptime (ctimefmt.ToNative) ---- */

int stanza_strptime_to_gotime(const char *strptime, char **out, struct error *err)
{
    static const char *const subst[128] = {
        ['Y'] = "2006",        ['y'] = "06",
        ['m'] = "01",          ['o'] = "_1",
        ['q'] = "1",           ['b'] = "Jan",
        ['h'] = "Jan",         ['B'] = "January",
        ['d'] = "02",          ['e'] = "_2",
        ['g'] = "2",           ['a'] = "Mon",
        ['A'] = "Monday",      ['H'] = "15",
        ['l'] = "3",           ['I'] = "03",
        ['p'] = "PM",          ['P'] = "pm",
        ['M'] = "04",          ['S'] = "05",
        ['L'] = "999",         ['f'] = "999999",
        ['s'] = "999999999",   ['Z'] = "MST",
        ['z'] = "Z0700",       ['w'] = "-070000",
        ['i'] = "-07",         ['j'] = "-07:00",
        ['k'] = "-07:00:00",   ['D'] = "01/02/2006",
        ['x'] = "01/02/2006",  ['F'] = "2006-01-02",
        ['T'] = "15:04:05",    ['X'] = "15:04:05",
        ['r'] = "03:04:05 pm", ['R'] = "15:04",
        ['n'] = "\n",          ['t'] = "\t",
        ['%'] = "%",           ['c'] = "Mon Jan 02 15:04:05 2006",
    };
    *out = NULL;
    for (const char *s = strptime; *s; s++)
        if (*s >= '0' && *s <= '9')
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "parse strptime layout: format string should not contain decimals");
    size_t cap = strlen(strptime) * 12 + 1;
    char *buf = malloc(cap);
    if (!buf)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    size_t n = 0;
    for (const char *s = strptime; *s; s++) {
        if (*s != '%' || !s[1]) {
            buf[n++] = *s;
            continue;
        }
        unsigned char d = (unsigned char)*++s;
        const char *rep = d < 128 ? subst[d] : NULL;
        if (!rep) {
            free(buf);
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "parse strptime layout: convert to go time format: [unsupported "
                             "ctimefmt.ToNative() directive: %%%c]",
                             d);
        }
        size_t l = strlen(rep);
        memcpy(buf + n, rep, l);
        n += l;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

/* ---- the parser ---- */

void stanza_time_parser_free(struct stanza_time_parser *tp)
{
    if (!tp)
        return;
    stanza_field_release(&tp->parse_from);
    free(tp->layout);
    zone_release(&tp->zone);
    free(tp);
}

static bool ends_with_z(const char *s)
{
    size_t l = strlen(s);
    return l && s[l - 1] == 'Z';
}

int stanza_time_parser_new_gotime(const char *layout, bool utc, struct stanza_time_parser **out,
                                  struct error *err)
{
    struct stanza_time_parser *tp = calloc(1, sizeof(*tp));
    int rc = -ENOMEM;
    *out = NULL;
    if (!tp || !(tp->layout = strdup(layout))) {
        error_set(err, rc, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    tp->type = LAYOUT_GOTIME;
    if ((rc = compile_layout(tp, err)) < 0 ||
        (rc = load_location(tp, utc ? "UTC" : "Local", err)) < 0)
        goto fail;
    *out = tp;
    return 0;
fail:
    stanza_time_parser_free(tp);
    return rc;
}

int stanza_time_parser_build(const struct stanza_time_config *c, struct stanza_time_parser **out,
                             struct error *err)
{
    struct stanza_time_parser *tp = calloc(1, sizeof(*tp));
    int rc = -ENOMEM;
    *out = NULL;
    if (!tp)
        return error_set(err, rc, ERROR_PERMANENT, "out of memory");
    const char *type = c->layout_type && *c->layout_type ? c->layout_type : "strptime";
    if (!c->parse_from) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "missing required parameter 'parse_from'");
        goto fail;
    }
    if ((!c->layout || !*c->layout) && strcmp(type, "native")) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "missing required configuration parameter `layout`");
        goto fail;
    }
    if ((rc = stanza_field_parse_strict(c->parse_from, &tp->parse_from, err)) < 0)
        goto fail;
    if (!strcmp(type, "strptime")) {
        if ((rc = stanza_strptime_to_gotime(c->layout, &tp->layout, err)) < 0)
            goto fail;
        tp->type = LAYOUT_GOTIME;
    } else if (!strcmp(type, "gotime")) {
        tp->type = LAYOUT_GOTIME;
        if (!(tp->layout = strdup(c->layout))) {
            rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            goto fail;
        }
    } else if (!strcmp(type, "epoch")) {
        static const char *const ok[] = {"s", "ms", "us", "ns", "s.ms", "s.us", "s.ns"};
        bool found = false;
        for (size_t i = 0; i < 7; i++)
            found = found || !strcmp(c->layout, ok[i]);
        if (!found) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "invalid `layout` for `epoch` type (specify 's', 'ms', 'us', 'ns', "
                           "'s.ms', 's.us', or 's.ns')");
            goto fail;
        }
        tp->type = LAYOUT_EPOCH;
        if (!(tp->layout = strdup(c->layout))) {
            rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            goto fail;
        }
    } else if (!strcmp(type, "native")) {
        tp->type = LAYOUT_NATIVE;
    } else {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "unsupported layout_type %s (valid values are 'strptime', 'gotime', and "
                       "'epoch')",
                       type);
        goto fail;
    }
    if (tp->type == LAYOUT_GOTIME) {
        if ((rc = compile_layout(tp, err)) < 0)
            goto fail;
        const char *loc = c->location && *c->location ? c->location
                          : ends_with_z(tp->layout)   ? "UTC"
                                                      : "Local";
        if ((rc = load_location(tp, loc, err)) < 0)
            goto fail;
    }
    *out = tp;
    return 0;
fail:
    stanza_time_parser_free(tp);
    return rc;
}

static const char *go_type_of(const otlp_anyvalue *v)
{
    switch (v ? v->value_case : ANY_NOT_SET) {
    case ANY_STRING: return "string";
    case ANY_INT: return "int64";
    case ANY_DOUBLE: return "float64";
    case ANY_BOOL: return "bool";
    case ANY_KVLIST: return "map[string]interface {}";
    case ANY_ARRAY: return "[]interface {}";
    case ANY_BYTES: return "[]uint8";
    default: return "<nil>";
    }
}

/* strconv.ParseInt(s, 10, 64) */
static bool parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == len)
        return false;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static int parse_epoch(const struct stanza_time_parser *tp, const otlp_anyvalue *v,
                       int64_t *unix_ns, struct error *err)
{
    char buf[64];
    const char *stamp;
    size_t len;
    const char *l = tp->layout;
    bool split = strchr(l, '.') != NULL;
    switch (v ? v->value_case : ANY_NOT_SET) {
    case ANY_STRING: stamp = v->string_value, len = strlen(stamp); break;
    case ANY_BYTES: stamp = (const char *)v->bytes_value.data, len = v->bytes_value.len; break;
    case ANY_INT:
        snprintf(buf, sizeof(buf), split ? "%lld.0" : "%lld", (long long)v->int_value);
        stamp = buf, len = strlen(buf);
        break;
    case ANY_DOUBLE:
        if (!split)
            snprintf(buf, sizeof(buf), "%lld", (long long)v->double_value);
        else
            snprintf(buf, sizeof(buf),
                     !strcmp(l, "s.ms")   ? "%10.3f"
                     : !strcmp(l, "s.us") ? "%10.6f"
                                          : "%10.9f",
                     v->double_value);
        stamp = buf, len = strlen(buf);
        break;
    default:
        return error_set(err, -EINVAL, ERROR_PERMANENT, "type %s cannot be parsed as a time",
                         go_type_of(v));
    }
    int64_t a, b;
    if (!split) {
        if (!parse_int64(stamp, len, &a))
            goto bad;
        int64_t scale = !strcmp(l, "s")    ? 1000000000
                        : !strcmp(l, "ms") ? 1000000
                        : !strcmp(l, "us") ? 1000
                                           : 1;
        if (scale == 1000000000)
            *unix_ns = a * scale;
        else
            *unix_ns = (a / (1000000000 / scale)) * 1000000000 + (a % (1000000000 / scale)) * scale;
        return 0;
    }
    const char *dot = memchr(stamp, '.', len);
    if (!dot || memchr(dot + 1, '.', len - (size_t)(dot - stamp) - 1))
        goto bad;
    if (!parse_int64(stamp, (size_t)(dot - stamp), &a) ||
        !parse_int64(dot + 1, len - (size_t)(dot - stamp) - 1, &b))
        goto bad;
    int64_t sub = !strcmp(l, "s.ms") ? 1000000 : !strcmp(l, "s.us") ? 1000 : 1;
    *unix_ns = a * 1000000000 + b * sub;
    return 0;
bad:
    return error_set(err, -EINVAL, ERROR_PERMANENT, "invalid value '%.*s' for layout '%s'",
                     (int)len, stamp, l);
}

int stanza_time_parse_value(struct stanza_time_parser *tp, const otlp_anyvalue *v, int64_t *unix_ns,
                            struct error *err)
{
    if (tp->type == LAYOUT_EPOCH)
        return parse_epoch(tp, v, unix_ns, err);
    if (tp->type == LAYOUT_NATIVE)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "native time.Time field required, but found value of type %s",
                         go_type_of(v));
    const char *s;
    size_t len;
    if (v && v->value_case == ANY_STRING)
        s = v->string_value, len = strlen(s);
    else if (v && v->value_case == ANY_BYTES)
        s = (const char *)v->bytes_value.data, len = v->bytes_value.len;
    else
        return error_set(err, -EINVAL, ERROR_PERMANENT, "type %s cannot be parsed as a time",
                         go_type_of(v));
    struct parsed p;
    int rc = go_parse(tp, s, len, &p, err);
    if (rc < 0)
        return rc;
    if (p.year == 0) {
        /* SetTimestampYear: this year, or last year when that is over 7 days ahead */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        struct tm tm;
        time_t t = now.tv_sec;
        gmtime_r(&t, &tm);
        p.year = tm.tm_year + 1900;
        if (p.day > days_in(p.month, p.year))
            p.day = days_in(p.month, p.year); /* Feb 29 of year 0 normalizes in Go */
        int64_t ns = to_unix_ns(tp, &p);
        if (ns > (int64_t)now.tv_sec * 1000000000 + 7LL * 86400 * 1000000000)
            p.year--;
    }
    *unix_ns = to_unix_ns(tp, &p);
    return 0;
}

int stanza_time_parser_parse(struct stanza_time_parser *tp, struct stanza_entry *e,
                             struct error *err)
{
    const otlp_anyvalue *v = stanza_field_get(e, &tp->parse_from);
    if (!v) {
        char name[256];
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "log entry does not have the expected parse_from field (parse_from: %s)",
                         stanza_field_string(&tp->parse_from, name, sizeof(name)));
    }
    int64_t ns;
    int rc = stanza_time_parse_value(tp, v, &ns, err);
    if (rc < 0)
        return rc;
    e->record->time_unix_nano = (uint64_t)ns;
    return 0;
}

/* The embedded `timestamp:` block's keys (helper.TimeParser). */
const struct option stanza_time_options[] = {
    {OPT_STRING, "parse_from", NULL, offsetof(struct stanza_time_config, parse_from),
     "field holding the time", 0, NULL, 0},
    {OPT_STRING, "layout", NULL, offsetof(struct stanza_time_config, layout), "time layout", 0,
     NULL, 0},
    {OPT_STRING, "layout_type", "strptime", offsetof(struct stanza_time_config, layout_type),
     "strptime, gotime, epoch or native", 0, NULL, 0},
    {OPT_STRING, "location", NULL, offsetof(struct stanza_time_config, location),
     "IANA time zone for values without an offset", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};
