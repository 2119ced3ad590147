/* strbuf.c - see strbuf.h. */
#include "strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_add(struct strbuf *b, const void *data, size_t len)
{
    if (b->error)
        return;
    if (len > b->max || b->len > b->max - len) {
        b->error = -E2BIG;
        return;
    }
    if (b->len + len + 1 > b->cap) {
        size_t want = b->cap ? b->cap : 256;
        while (want < b->len + len + 1)
            want *= 2;
        if (want > b->max + 1)
            want = b->max + 1;
        char *grown = realloc(b->data, want);
        if (!grown) {
            b->error = -ENOMEM;
            return;
        }
        b->data = grown;
        b->cap = want;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void strbuf_puts(struct strbuf *b, const char *s)
{
    strbuf_add(b, s, strlen(s));
}

void strbuf_putc(struct strbuf *b, char c)
{
    strbuf_add(b, &c, 1);
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->error = b->error ? b->error : -EINVAL;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        strbuf_add(b, small, (size_t)n);
        return;
    }
    char *large = malloc((size_t)n + 1);
    if (!large) {
        b->error = b->error ? b->error : -ENOMEM;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(large, (size_t)n + 1, fmt, ap);
    va_end(ap);
    strbuf_add(b, large, (size_t)n);
    free(large);
}

const char *strbuf_str(const struct strbuf *b)
{
    return b->data ? b->data : "";
}

int strbuf_finish(struct strbuf *b, char **out, size_t *len)
{
    if (!b->error && !b->data)
        strbuf_add(b, "", 0);
    int rc = b->error;
    if (rc) {
        strbuf_release(b);
        return rc;
    }
    *out = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return 0;
}

void strbuf_release(struct strbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->error = 0;
}
