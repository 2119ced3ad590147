/*
 * log.h - structured one-line logs to stderr: `ts=... level=warn comp=exporter/otlphttp/loki
 * msg="..." key=value`. The level is checked before anything is formatted, so a disabled debug
 * log costs one comparison. Thread-safe (one write(2) per line).
 */
#ifndef OTEL_COMMON_LOG_H
#define OTEL_COMMON_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Process-wide minimum level; default LOG_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "debug", "info", "warn", "error" (upstream's names); returns -EINVAL otherwise. */
int log_parse_level(const char *name, enum log_level *out);

/* `comp` names the instance ("receiver/otlp", "fake/loki"; NULL for the process itself).
 * `fmt` formats the message; any extra structured fields are written as part of it by the
 * caller ("msg text\" key=value" is not needed: use log_kv for fields). */
void log_msg(enum log_level level, const char *comp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(comp, ...)                                                                       \
    do {                                                                                           \
        if (log_get_level() <= LOG_DEBUG)                                                          \
            log_msg(LOG_DEBUG, comp, __VA_ARGS__);                                                 \
    } while (0)
#define log_info(comp, ...)                                                                        \
    do {                                                                                           \
        if (log_get_level() <= LOG_INFO)                                                           \
            log_msg(LOG_INFO, comp, __VA_ARGS__);                                                  \
    } while (0)
#define log_warn(comp, ...)                                                                        \
    do {                                                                                           \
        if (log_get_level() <= LOG_WARN)                                                           \
            log_msg(LOG_WARN, comp, __VA_ARGS__);                                                  \
    } while (0)
#define log_error(comp, ...) log_msg(LOG_ERROR, comp, __VA_ARGS__)

#endif
