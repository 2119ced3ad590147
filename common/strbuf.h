/*
 * strbuf.h - a growable text buffer with a hard maximum (curl's dynbuf idea): going past the
 * maximum or running out of memory is an ordinary, sticky error, never unbounded growth. After
 * the first failure every append is ignored, so builders append freely and check once at the
 * end with strbuf_finish.
 */
#ifndef OTEL_COMMON_STRBUF_H
#define OTEL_COMMON_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *data; /* NUL-terminated once anything was appended; owned by the buffer */
    size_t len, cap, max;
    int error; /* 0, -ENOMEM or -E2BIG (past max) */
};

/* An empty buffer that may grow to `max` bytes (excluding the NUL). */
#define STRBUF_INIT(max_bytes)                                                                     \
    {                                                                                              \
        NULL, 0, 0, (max_bytes), 0                                                                 \
    }

void strbuf_add(struct strbuf *b, const void *data, size_t len);
void strbuf_puts(struct strbuf *b, const char *s);
void strbuf_putc(struct strbuf *b, char c);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The text so far; "" when empty. Borrowed: valid until the next append or release. */
const char *strbuf_str(const struct strbuf *b);

/* Hands the text to the caller (*out malloc'd, "" when nothing was appended; *len may be NULL)
 * and leaves the buffer empty. On a sticky error frees everything and returns it. */
int strbuf_finish(struct strbuf *b, char **out, size_t *len);

/* Frees the text and resets the buffer (the maximum is kept). */
void strbuf_release(struct strbuf *b);

#endif
