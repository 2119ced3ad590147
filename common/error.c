/* error.c - filling and decorating `struct error` (see error.h for the convention). */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int error_setv(struct error *err, int code, enum error_kind kind, const char *fmt, va_list ap)
{
    if (err) {
        err->kind = kind;
        err->code = code;
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
    }
    return code;
}

int error_set(struct error *err, int code, enum error_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(err, code, kind, fmt, ap);
    va_end(ap);
    return code;
}

int error_prefix(struct error *err, const char *fmt, ...)
{
    if (!err)
        return -EINVAL;
    char prefix[ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char joined[2 * ERROR_MESSAGE_MAX + 2];
    snprintf(joined, sizeof(joined), "%s: %s", prefix, err->message);
    /* Truncation is wanted here: the message is bounded. */
    size_t n = strnlen(joined, sizeof(err->message) - 1);
    memcpy(err->message, joined, n);
    err->message[n] = '\0';
    return err->code;
}

void error_clear(struct error *err)
{
    if (err) {
        err->kind = ERROR_NONE;
        err->code = 0;
        err->message[0] = '\0';
    }
}

const char *error_kind_name(enum error_kind kind)
{
    switch (kind) {
    case ERROR_NONE: return "none";
    case ERROR_REFUSED: return "refused";
    case ERROR_RETRYABLE: return "retryable";
    case ERROR_PERMANENT: return "permanent";
    }
    return "unknown";
}
