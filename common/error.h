/*
 * error.h - the one result convention of the project.
 *
 * Every fallible function returns 0 on success or a negative errno-style code (-EINVAL, -ENOMEM,
 * -EIO, ...). When the caller needs to know more, it passes a `struct error *` (which may be
 * NULL) and the callee fills in a human message and, for delivery results, a kind. The kinds are
 * the three-valued delivery result of DESIGN.md §3: a consumer either accepts, refuses
 * (retryable: memory limiter, full queue), or fails permanently (bad data) / retryably (backend).
 */
#ifndef OTEL_COMMON_ERROR_H
#define OTEL_COMMON_ERROR_H

#include <errno.h> /* every user compares with -EINVAL etc. */
#include <stdarg.h>
#include <stddef.h>

enum error_kind {
    ERROR_NONE = 0,
    ERROR_REFUSED,   /* retryable: memory limiter refused, queue full; not the sender's fault */
    ERROR_RETRYABLE, /* retryable: backend or transport failure */
    ERROR_PERMANENT, /* the data itself is bad or was rejected for good; never retry */
};

#define ERROR_MESSAGE_MAX 1024

struct error {
    enum error_kind kind;
    int code; /* the negative errno-style code that was returned with this error */
    char message[ERROR_MESSAGE_MAX];
};

/* Fills `err` (when non-NULL) and returns `code`, so that `return error_set(err, ...)` reads
 * naturally. `code` must be negative. The message is truncated to ERROR_MESSAGE_MAX - 1. */
int error_set(struct error *err, int code, enum error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int error_setv(struct error *err, int code, enum error_kind kind, const char *fmt, va_list ap);

/* Prepends "prefix: " to an already filled message (used to add a YAML path or a file name).
 * Returns err->code. A NULL err is accepted and ignored (returns -EINVAL). */
int error_prefix(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Resets `err` to "no error". NULL is accepted. */
void error_clear(struct error *err);

/* Human name of a kind: "refused", "retryable", "permanent". */
const char *error_kind_name(enum error_kind kind);

#endif
