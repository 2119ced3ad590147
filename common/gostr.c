/*
 * gostr.c - Go's view of strings for the programs that imitate Go servers and collectors
 * (gostr.h): UTF-8 decoding as unicode/utf8 does it, and strconv.Quote.
 */
#include "gostr.h"

#include <stdio.h>
#include <string.h>

#include "strbuf.h"

size_t go_utf8_next(const unsigned char *s, size_t len, uint32_t *rune, bool *valid)
{
    *valid = true;
    unsigned char c = s[0];
    if (c < 0x80) {
        *rune = c;
        return 1;
    }
    size_t n;
    uint32_t r, min;
    if ((c & 0xe0) == 0xc0) {
        n = 2, r = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, r = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, r = c & 0x07, min = 0x10000;
    } else {
        goto invalid;
    }
    if (n > len)
        goto invalid;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            goto invalid;
        r = (r << 6) | (s[i] & 0x3f);
    }
    if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
        goto invalid;
    *rune = r;
    return n;
invalid:
    *valid = false;
    *rune = 0xfffd;
    return 1;
}

/* Whether Go's strconv.IsPrint says yes for a rune above ASCII, approximated: Go's tables list
 * every printable range of Unicode; here the non-printable runes a name or a path is likely to
 * carry are excluded (C1 controls, no-break space, soft hyphen, the Unicode spaces and format
 * characters, the byte-order mark, noncharacters, private use). */
static bool go_printable(uint32_t r)
{
    if (r <= 0xa0 || r == 0xad || r == 0x1680 || r == 0x3000 || r == 0xfeff)
        return false;
    if ((r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
        (r >= 0x205f && r <= 0x206f) || (r >= 0xfff9 && r <= 0xfffb) || r == 0xfffe || r == 0xffff)
        return false;
    if ((r >= 0xe000 && r <= 0xf8ff) || r >= 0xf0000)
        return false; /* private use */
    return true;
}

void go_escape_each(const char *s, size_t len,
                    void (*emit)(void *ctx, const char *data, size_t len), void *ctx)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    if (!s)
        len = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        char esc[12];
        if (c < 0x80) {
            const char *named = NULL;
            switch (c) {
            case '"': named = "\\\""; break;
            case '\\': named = "\\\\"; break;
            case '\a': named = "\\a"; break;
            case '\b': named = "\\b"; break;
            case '\f': named = "\\f"; break;
            case '\n': named = "\\n"; break;
            case '\r': named = "\\r"; break;
            case '\t': named = "\\t"; break;
            case '\v': named = "\\v"; break;
            default: break;
            }
            if (named) {
                emit(ctx, named, 2);
            } else if (c >= 0x20 && c < 0x7f) {
                emit(ctx, (const char *)p + i, 1);
            } else {
                esc[0] = '\\', esc[1] = 'x', esc[2] = hex[c >> 4], esc[3] = hex[c & 15];
                emit(ctx, esc, 4);
            }
            i++;
            continue;
        }
        uint32_t rune;
        bool valid;
        size_t n = go_utf8_next(p + i, len - i, &rune, &valid);
        if (!valid) { /* Go: a byte that starts no valid rune is \xNN */
            esc[0] = '\\', esc[1] = 'x', esc[2] = hex[c >> 4], esc[3] = hex[c & 15];
            emit(ctx, esc, 4);
        } else if (go_printable(rune)) {
            emit(ctx, (const char *)p + i, n);
        } else {
            int w = rune < 0x10000 ? snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)rune)
                                   : snprintf(esc, sizeof(esc), "\\U%08x", (unsigned)rune);
            emit(ctx, esc, (size_t)w);
        }
        i += n;
    }
}

void go_quote_each(const char *s, size_t len, void (*emit)(void *ctx, const char *data, size_t len),
                   void *ctx)
{
    emit(ctx, "\"", 1);
    go_escape_each(s, len, emit, ctx);
    emit(ctx, "\"", 1);
}

static void emit_strbuf(void *ctx, const char *data, size_t len)
{
    strbuf_add(ctx, data, len);
}

int go_quote(const char *s, char **out)
{
    size_t len = strlen(s ? s : "");
    /* At most 4 bytes out per byte in (\xNN; a 4-byte rune becomes at most \U0010ffff). */
    struct strbuf b = STRBUF_INIT(4 * len + 3);
    go_quote_each(s, len, emit_strbuf, &b);
    return strbuf_finish(&b, out, NULL);
}

struct bounded {
    char *buf;
    size_t size, len;
};

static void emit_bounded(void *ctx, const char *data, size_t len)
{
    struct bounded *b = ctx;
    for (size_t i = 0; i < len && b->len + 1 < b->size; i++)
        b->buf[b->len++] = data[i];
    b->buf[b->len] = '\0';
}

void go_quote_to(char *buf, size_t size, const char *s, size_t len)
{
    if (size == 0)
        return;
    struct bounded b = {buf, size, 0};
    buf[0] = '\0';
    go_quote_each(s, len, emit_bounded, &b);
}
