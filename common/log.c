/* log.c - see log.h. One formatted line per call, written with a single write(2) so lines from
 * concurrent threads never interleave. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int current_level = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    atomic_store(&current_level, (int)level);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&current_level);
}

int log_parse_level(const char *name, enum log_level *out)
{
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_msg(enum log_level level, const char *comp, const char *fmt, ...)
{
    if ((int)level < atomic_load(&current_level))
        return;
    char line[2048];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     now.tv_nsec / 1000000, level_names[level]);
    if (comp && n < (int)sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, " comp=%s", comp);
    if (n < (int)sizeof(line) - 8) {
        char text[sizeof(line)];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        /* logfmt: the message is quoted, so quotes, backslashes and line breaks are escaped */
        n += snprintf(line + n, sizeof(line) - (size_t)n, " msg=\"");
        for (const char *p = text; *p && n < (int)sizeof(line) - 4; p++) {
            char escaped = *p == '"'    ? '"'
                           : *p == '\\' ? '\\'
                           : *p == '\n' ? 'n'
                           : *p == '\r' ? 'r'
                                        : 0;
            if (escaped) {
                line[n++] = '\\';
                line[n++] = escaped;
            } else {
                line[n++] = *p;
            }
        }
        line[n++] = '"';
    }
    if (n >= (int)sizeof(line))
        n = (int)sizeof(line) - 1;
    line[n++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, (size_t)n);
    (void)ignored;
}
