/*
 * file_reader.c - reading one file from its saved offset to its end (fileconsumer.h).
 *
 * Mirrors contrib@v0.142.0 pkg/stanza:
 *   fileconsumer/internal/reader/reader.go    ReadToEnd from Offset; Offset moves past each
 *                                             token emitted, RecordNum counts tokens; a
 *                                             fingerprint shorter than fingerprint_size is
 *                                             refreshed after new data was read, unless the
 *                                             file no longer starts with it (truncated);
 *                                             Validate re-reads the fingerprint
 *   fileconsumer/internal/fingerprint         the first fingerprint_size bytes, StartsWith
 *   split/split.go NewlineSplitFunc           tokens end at `\n`, a `\r` before it is dropped
 *   trim/trim.go                              ToLength: a line longer than max_log_size is cut
 *                                             into max_log_size pieces, each its own token
 *                                             (nothing dropped); Whitespace: leading and
 *                                             trailing ` \t\r\n` removed unless preserve_*
 *   flush/flush.go                            the data after the last newline is emitted as a
 *                                             token once force_flush_period passed since the
 *                                             last token or the last growth of that data
 *   internal/coreinternal/textutils           utf-8 decoding of each token
 *   adapter (input.go convertTokens)          empty tokens give no record
 *
 * Reading is done in large pread(2) chunks into one buffer shared by every file (the consumer
 * reads one file at a time), tokens are cut in place and handed over as pointers: no syscall and
 * no allocation per line. Invalid UTF-8: each byte that does not start a valid sequence becomes
 * U+FFFD, which is what Go's utf8.DecodeRune based decoders do; that x/text's UTF-8 decoder does
 * exactly this is ASSUMED from its documentation, not verified by running upstream
 * (facts/receivers.md §6).
 *
 * The force flush is checked where upstream's split function sees no newline at the end of the
 * data read in a poll; upstream checks it on every split call, which differs only for a line
 * that takes longer than force_flush_period to arrive in one read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "receivers/filelog/fileconsumer.h"

#define READ_CHUNK ((size_t)256 * 1024) /* one pread; a chunk of 200-byte lines is ~1300 lines */
#define NEWLINE_ROOM 4096               /* beyond max_log_size, to see the line's end */

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void fc_attributes_release(struct fileconsumer_file *a)
{
    free((char *)a->name);
    free((char *)a->path);
    free((char *)a->name_resolved);
    free((char *)a->path_resolved);
    memset(a, 0, sizeof(*a));
}

void fc_metadata_free(struct fc_metadata *m)
{
    if (!m)
        return;
    free(m->fingerprint);
    fc_attributes_release(&m->attributes);
    free(m);
}

void fc_read_context_release(struct fc_read_context *ctx)
{
    free(ctx->buffer);
    free(ctx->scratch);
    ctx->buffer = NULL;
    ctx->scratch = NULL;
    ctx->cap = ctx->scratch_cap = 0;
}

/* ---- fingerprints ---- */

static ssize_t pread_full(int fd, unsigned char *buf, size_t len, off_t offset)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, offset + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int fc_fingerprint_read(int fd, size_t size, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf)
        return -ENOMEM;
    ssize_t n = pread_full(fd, buf, size, 0);
    if (n < 0) {
        free(buf);
        return -EIO;
    }
    if (n == 0) {
        free(buf);
        return 0;
    }
    *out = buf;
    *len = (size_t)n;
    return 0;
}

bool fc_fingerprint_starts_with(const unsigned char *current, size_t current_len,
                                const unsigned char *old, size_t old_len)
{
    return old_len > 0 && old_len <= current_len && memcmp(current, old, old_len) == 0;
}

bool fc_reader_validate(const struct fc_read_context *ctx, const struct fc_reader *r)
{
    if (r->fd < 0)
        return false;
    unsigned char *now = NULL;
    size_t now_len = 0;
    if (fc_fingerprint_read(r->fd, ctx->cfg->fingerprint_size, &now, &now_len) < 0)
        return false;
    bool valid =
        fc_fingerprint_starts_with(now, now_len, r->meta->fingerprint, r->meta->fingerprint_len);
    free(now);
    return valid;
}

/* reader.updateFingerprint: after new data, a short fingerprint grows with the file, unless the
 * file no longer starts with it ("fingerprint tampered, likely due to truncation"). */
static void update_fingerprint(const struct fc_read_context *ctx, struct fc_reader *r)
{
    unsigned char *now = NULL;
    size_t now_len = 0;
    if (fc_fingerprint_read(r->fd, ctx->cfg->fingerprint_size, &now, &now_len) < 0)
        return;
    struct fc_metadata *m = r->meta;
    if (m->fingerprint_len > 0 &&
        !fc_fingerprint_starts_with(now, now_len, m->fingerprint, m->fingerprint_len)) {
        free(now);
        return;
    }
    if (now_len == 0) {
        free(now);
        return;
    }
    free(m->fingerprint);
    m->fingerprint = now;
    m->fingerprint_len = now_len;
}

/* ---- tokens ---- */

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The length of the valid UTF-8 sequence at s (Go's utf8.DecodeRune acceptance: no overlongs,
 * no surrogates, nothing above U+10FFFF), or 0 when s[0] does not start one. */
static size_t utf8_valid_length(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* Points *text at valid UTF-8 for the token: the token itself when it is valid (the usual case,
 * checked eight bytes at a time while ASCII), else a rewritten copy in ctx->scratch. */
static int decode_utf8(struct fc_read_context *ctx, const unsigned char *s, size_t len,
                       const char **text, size_t *text_len)
{
    size_t i = 0;
    while (i + 8 <= len) {
        uint64_t word;
        memcpy(&word, s + i, 8);
        if (word & 0x8080808080808080ull)
            break;
        i += 8;
    }
    while (i < len) {
        size_t n = utf8_valid_length(s + i, len - i);
        if (n == 0)
            break;
        i += n;
    }
    if (i == len) {
        *text = (const char *)s;
        *text_len = len;
        return 0;
    }
    if (ctx->scratch_cap < len * 3) {
        char *grown = realloc(ctx->scratch, len * 3);
        if (!grown)
            return -ENOMEM;
        ctx->scratch = grown;
        ctx->scratch_cap = len * 3;
    }
    char *out = ctx->scratch;
    memcpy(out, s, i);
    size_t w = i;
    while (i < len) {
        size_t n = utf8_valid_length(s + i, len - i);
        if (n == 0) {
            memcpy(out + w, "\xEF\xBF\xBD", 3); /* U+FFFD for the one byte */
            w += 3;
            i++;
        } else {
            memcpy(out + w, s + i, n);
            w += n;
            i += n;
        }
    }
    *text = out;
    *text_len = w;
    return 0;
}

/* One token found at file offset `offset`: counted, trimmed, decoded, emitted unless empty. */
static void emit_token(struct fc_read_context *ctx, struct fc_reader *r, const unsigned char *s,
                       size_t len, int64_t offset)
{
    const struct fileconsumer_config *cfg = ctx->cfg;
    struct fc_metadata *m = r->meta;
    m->record_num++;
    if (!cfg->preserve_leading_whitespaces)
        while (len > 0 && is_space(s[0])) {
            s++;
            len--;
        }
    if (!cfg->preserve_trailing_whitespaces)
        while (len > 0 && is_space(s[len - 1]))
            len--;
    if (len == 0)
        return;
    struct fileconsumer_token token = {
        .file = &m->attributes,
        .record_number = m->record_num,
        .record_offset = offset,
    };
    if (decode_utf8(ctx, s, len, &token.text, &token.len) < 0) {
        log_error(cfg->log_name, "failed to decode token error=\"out of memory\" path=%s", r->path);
        return;
    }
    ctx->callbacks->emit(ctx->callbacks->ctx, &token);
}

/* Makes room to read: moves unconsumed bytes to the front, grows the buffer when a line longer
 * than it is pending. false on ENOMEM. */
static bool ensure_room(struct fc_read_context *ctx, size_t *have)
{
    if (*have < ctx->cap)
        return true;
    size_t cap = ctx->cap * 2;
    if (cap > ctx->max_cap)
        cap = ctx->max_cap;
    if (cap <= ctx->cap)
        return false; /* cannot happen: a full buffer always holds a max_log_size piece */
    unsigned char *grown = realloc(ctx->buffer, cap);
    if (!grown)
        return false;
    ctx->buffer = grown;
    ctx->cap = cap;
    return true;
}

static bool should_stop(struct fc_read_context *ctx)
{
    if (!ctx->stopping && ctx->callbacks->yield)
        ctx->stopping = ctx->callbacks->yield(ctx->callbacks->ctx);
    return ctx->stopping;
}

/* The data after the last newline at the end of the file: flush.State. */
static void flush_tail(struct fc_read_context *ctx, struct fc_reader *r, size_t have)
{
    struct fc_metadata *m = r->meta;
    int64_t period = ctx->cfg->force_flush_period_ns;
    if (have == 0 || period <= 0)
        return;
    int64_t now = monotonic_ns();
    if (now - m->flush_last_change_ns > period) {
        int64_t offset = m->offset;
        m->offset += (int64_t)have;
        m->flush_last_change_ns = now;
        m->flush_last_length = 0;
        emit_token(ctx, r, ctx->buffer, have, offset);
        return;
    }
    if (have > m->flush_last_length) { /* still growing: postpone */
        m->flush_last_change_ns = now;
        m->flush_last_length = have;
    }
}

void fc_reader_read_to_end(struct fc_read_context *ctx, struct fc_reader *r)
{
    const size_t max = ctx->cfg->max_log_size;
    struct fc_metadata *m = r->meta;
    if (!ctx->buffer) {
        ctx->max_cap = max + NEWLINE_ROOM > READ_CHUNK ? max + NEWLINE_ROOM : READ_CHUNK;
        ctx->cap = READ_CHUNK < ctx->max_cap ? READ_CHUNK : ctx->max_cap;
        ctx->buffer = malloc(ctx->cap);
        if (!ctx->buffer) {
            ctx->cap = 0;
            log_error(ctx->cfg->log_name, "failed during scan error=\"out of memory\" path=%s",
                      r->path);
            return;
        }
    }
    size_t have = 0; /* buffer[0..have) holds the file from m->offset on */
    bool read_any = false;
    for (;;) {
        if (should_stop(ctx))
            break; /* the offset stays after the last token emitted */
        if (!ensure_room(ctx, &have)) {
            log_error(ctx->cfg->log_name, "failed during scan error=\"out of memory\" path=%s",
                      r->path);
            break;
        }
        ssize_t n = pread(r->fd, ctx->buffer + have, ctx->cap - have, (off_t)(m->offset + have));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            log_error(ctx->cfg->log_name, "failed during scan error=\"%s\" path=%s",
                      strerror(errno), r->path);
            break;
        }
        if (n == 0) {
            flush_tail(ctx, r, have);
            break;
        }
        have += (size_t)n;
        read_any = true;
        /* cut every token in the buffer */
        size_t start = 0;
        bool found = false;
        for (;;) {
            size_t avail = have - start;
            const unsigned char *line = ctx->buffer + start;
            const unsigned char *nl = memchr(line, '\n', avail);
            size_t token_len, advance;
            if (nl) {
                token_len = (size_t)(nl - line);
                advance = token_len + 1;
                if (token_len > 0 && line[token_len - 1] == '\r')
                    token_len--;
                if (token_len > max) /* trim.ToLength: a max_log_size piece first */
                    token_len = advance = max;
            } else if (avail >= max) {
                token_len = advance = max;
            } else {
                break; /* need more data (or the flush at the end) */
            }
            int64_t offset = m->offset + (int64_t)start;
            start += advance;
            emit_token(ctx, r, line, token_len, offset);
            found = true;
        }
        if (start > 0) {
            m->offset += (int64_t)start;
            have -= start;
            memmove(ctx->buffer, ctx->buffer + start, have);
        }
        if (found) { /* a token resets the flush clock (flush.State.Func) */
            m->flush_last_change_ns = monotonic_ns();
            m->flush_last_length = 0;
        }
    }
    if (read_any && m->fingerprint_len < ctx->cfg->fingerprint_size)
        update_fingerprint(ctx, r);
}
