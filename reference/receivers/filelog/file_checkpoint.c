/*
 * file_checkpoint.c - the filelog receiver's saved offsets: the value of `file_input.knownFiles`
 * in the storage extension (fileconsumer.h).
 *
 * Mirrors contrib@v0.142.0 pkg/stanza/fileconsumer/internal/checkpoint/checkpoint.go (the JSON
 * form; the protobuf form behind the alpha gate filelog.protobufCheckpointEncoding is not
 * written): json.Encoder output, that is the number of files on the first line and then one
 * reader.Metadata object per line, fields as Go names them:
 *   {"Fingerprint":{"first_bytes":"<base64>"},"Offset":N,"RecordNum":N,
 *    "FileAttributes":{"log.file.name":"0.log",...},"HeaderFinalized":false,
 *    "FlushState":{"LastDataChange":"<RFC 3339 time>","LastDataLength":N},
 *    "TokenLenState":{"MinimumLength":0},"FileType":""}
 * Decoding reads Fingerprint, Offset, RecordNum and FlushState and ignores the rest (upstream
 * re-resolves the file attributes whenever it reopens a file). The flush time is kept as a
 * monotonic clock here and written as wall-clock time, as Go's time.Time is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "receivers/filelog/fileconsumer.h"
#include "strbuf.h"

#define CHECKPOINT_MAX_BYTES ((size_t)64 * 1024 * 1024)
#define CHECKPOINT_MAX_FILES 1000000

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Go's encoding/json writes []byte as standard base64 with padding. Caller frees. */
static char *base64_encode(const unsigned char *in, size_t len)
{
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[w++] = base64_alphabet[(v >> 18) & 63];
        out[w++] = base64_alphabet[(v >> 12) & 63];
        out[w++] = i + 1 < len ? base64_alphabet[(v >> 6) & 63] : '=';
        out[w++] = i + 2 < len ? base64_alphabet[v & 63] : '=';
    }
    out[w] = '\0';
    return out;
}

static int base64_value(char c)
{
    const char *p = c ? strchr(base64_alphabet, c) : NULL;
    return p ? (int)(p - base64_alphabet) : -1;
}

/* -EINVAL on bad input. *out is malloc'd (NULL for an empty string). */
static int base64_decode(const char *in, unsigned char **out, size_t *len)
{
    size_t n = strlen(in);
    *out = NULL;
    *len = 0;
    if (n % 4 != 0)
        return -EINVAL;
    if (n == 0)
        return 0;
    unsigned char *buf = malloc(n / 4 * 3);
    if (!buf)
        return -ENOMEM;
    size_t w = 0;
    for (size_t i = 0; i < n; i += 4) {
        int a = base64_value(in[i]), b = base64_value(in[i + 1]);
        int c = in[i + 2] == '=' ? 0 : base64_value(in[i + 2]);
        int d = in[i + 3] == '=' ? 0 : base64_value(in[i + 3]);
        bool pad_ok = in[i + 2] != '=' || in[i + 3] == '=';
        if (a < 0 || b < 0 || c < 0 || d < 0 || !pad_ok ||
            (i + 4 < n && (in[i + 2] == '=' || in[i + 3] == '='))) {
            free(buf);
            return -EINVAL;
        }
        unsigned v = (unsigned)a << 18 | (unsigned)b << 12 | (unsigned)c << 6 | (unsigned)d;
        buf[w++] = (unsigned char)(v >> 16);
        if (in[i + 2] != '=')
            buf[w++] = (unsigned char)(v >> 8);
        if (in[i + 3] != '=')
            buf[w++] = (unsigned char)v;
    }
    *out = buf;
    *len = w;
    return 0;
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* time.Time's MarshalJSON (RFC 3339 with nanoseconds, trailing zeros dropped), in UTC. */
static void format_time(int64_t unix_ns, char *out, size_t size)
{
    time_t secs = (time_t)(unix_ns / 1000000000LL);
    long nanos = (long)(unix_ns % 1000000000LL);
    if (nanos < 0) {
        nanos += 1000000000L;
        secs--;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    char fraction[16] = "";
    if (nanos) {
        snprintf(fraction, sizeof(fraction), ".%09ld", nanos);
        size_t n = strlen(fraction);
        while (fraction[n - 1] == '0')
            fraction[--n] = '\0';
    }
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fraction);
}

/* RFC 3339 ("2006-01-02T15:04:05.999999999Z07:00") to Unix ns; -EINVAL otherwise. */
static int parse_time(const char *text, int64_t *unix_ns)
{
    struct tm tm = {0};
    int consumed = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &consumed) != 6)
        return -EINVAL;
    const char *p = text + consumed;
    int64_t nanos = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 9)
                nanos = nanos * 10 + (*p - '0');
        for (; digits < 9; digits++)
            nanos *= 10;
    }
    int64_t zone = 0;
    if (*p == '+' || *p == '-') {
        int hours, minutes;
        if (sscanf(p + 1, "%2d:%2d", &hours, &minutes) != 2)
            return -EINVAL;
        zone = (hours * 3600 + minutes * 60) * (*p == '-' ? -1 : 1);
    } else if (*p != 'Z') {
        return -EINVAL;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t secs = timegm(&tm);
    *unix_ns = ((int64_t)secs - zone) * 1000000000LL + nanos;
    return 0;
}

static json_t *attributes_json(const struct fileconsumer_file *a)
{
    json_t *o = json_object();
    const char *keys[] = {"log.file.name", "log.file.path", "log.file.name_resolved",
                          "log.file.path_resolved"};
    const char *values[] = {a->name, a->path, a->name_resolved, a->path_resolved};
    for (size_t i = 0; o && i < 4; i++) {
        if (values[i] && json_object_set_new(o, keys[i], json_string(values[i])) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *metadata_json(const struct fc_metadata *m, int64_t wall_minus_mono)
{
    char *fingerprint = base64_encode(m->fingerprint, m->fingerprint_len);
    char when[64];
    format_time(m->flush_last_change_ns + wall_minus_mono, when, sizeof(when));
    json_t *attributes = attributes_json(&m->attributes);
    json_t *o = NULL;
    if (fingerprint && attributes)
        o = json_pack("{s:{s:s},s:I,s:I,s:O,s:b,s:{s:s,s:I},s:{s:i},s:s}", "Fingerprint",
                      "first_bytes", fingerprint, "Offset", (json_int_t)m->offset, "RecordNum",
                      (json_int_t)m->record_num, "FileAttributes", attributes, "HeaderFinalized", 0,
                      "FlushState", "LastDataChange", when, "LastDataLength",
                      (json_int_t)m->flush_last_length, "TokenLenState", "MinimumLength", 0,
                      "FileType", "");
    json_decref(attributes);
    free(fingerprint);
    return o;
}

int fc_checkpoint_encode(struct fc_metadata *const *metadata, size_t count, char **out, size_t *len)
{
    *out = NULL;
    struct strbuf b = STRBUF_INIT(CHECKPOINT_MAX_BYTES);
    int64_t wall_minus_mono = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
    strbuf_printf(&b, "%zu\n", count);
    for (size_t i = 0; i < count && b.error == 0; i++) {
        json_t *o = metadata_json(metadata[i], wall_minus_mono);
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (!text) {
            strbuf_release(&b);
            return -ENOMEM;
        }
        strbuf_puts(&b, text);
        strbuf_putc(&b, '\n');
        free(text);
    }
    return strbuf_finish(&b, out, len);
}

static int decode_one(const char *line, size_t line_len, int64_t mono_minus_wall,
                      struct fc_metadata **out, struct error *err)
{
    json_error_t jerr;
    json_t *o = json_loadb(line, line_len, 0, &jerr);
    struct fc_metadata *m = calloc(1, sizeof(*m));
    int rc = 0;
    if (!m) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    if (!json_is_object(o)) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "decoding file metadata: %s",
                       o ? "not an object" : jerr.text);
        goto fail;
    }
    const char *first_bytes =
        json_string_value(json_object_get(json_object_get(o, "Fingerprint"), "first_bytes"));
    json_t *offset = json_object_get(o, "Offset"), *record_num = json_object_get(o, "RecordNum");
    if (!first_bytes || !json_is_integer(offset) || json_integer_value(offset) < 0) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "decoding file metadata: no Fingerprint.first_bytes or Offset");
        goto fail;
    }
    rc = base64_decode(first_bytes, &m->fingerprint, &m->fingerprint_len);
    if (rc < 0) {
        rc = error_set(err, rc, ERROR_PERMANENT, "decoding file metadata: %s",
                       rc == -ENOMEM ? "out of memory" : "bad base64 in first_bytes");
        goto fail;
    }
    m->offset = json_integer_value(offset);
    m->record_num = json_is_integer(record_num) ? json_integer_value(record_num) : 0;
    json_t *flush = json_object_get(o, "FlushState");
    const char *when = json_string_value(json_object_get(flush, "LastDataChange"));
    int64_t unix_ns = 0;
    if (when && parse_time(when, &unix_ns) == 0)
        m->flush_last_change_ns = unix_ns + mono_minus_wall;
    else
        m->flush_last_change_ns = clock_ns(CLOCK_MONOTONIC);
    json_t *length = json_object_get(flush, "LastDataLength");
    if (json_is_integer(length) && json_integer_value(length) > 0)
        m->flush_last_length = (size_t)json_integer_value(length);
    *out = m;
    m = NULL;
fail:
    json_decref(o);
    fc_metadata_free(m);
    return rc;
}

int fc_checkpoint_decode(const char *data, size_t len, struct fc_metadata ***out, size_t *count,
                         struct error *err)
{
    *out = NULL;
    *count = 0;
    const char *end = data + len;
    const char *nl = memchr(data, '\n', len);
    size_t first_len = nl ? (size_t)(nl - data) : len;
    char number[32];
    if (first_len == 0 || first_len >= sizeof(number))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "decoding file count: not a number");
    memcpy(number, data, first_len);
    number[first_len] = '\0';
    char *stop;
    long long files = strtoll(number, &stop, 10);
    if (*stop || files < 0 || files > CHECKPOINT_MAX_FILES)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "decoding file count: \"%s\"", number);
    struct fc_metadata **list = calloc(files ? (size_t)files : 1, sizeof(*list));
    if (!list)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    int64_t mono_minus_wall = clock_ns(CLOCK_MONOTONIC) - clock_ns(CLOCK_REALTIME);
    const char *line = nl ? nl + 1 : end;
    size_t n = 0;
    int rc = 0;
    for (; n < (size_t)files; n++) {
        if (line >= end) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "decoding file metadata: %lld files announced, %zu found", files, n);
            break;
        }
        const char *line_end = memchr(line, '\n', (size_t)(end - line));
        if (!line_end)
            line_end = end;
        if ((rc = decode_one(line, (size_t)(line_end - line), mono_minus_wall, &list[n], err)) < 0)
            break;
        line = line_end + 1;
    }
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            fc_metadata_free(list[i]);
        free(list);
        return rc;
    }
    *out = list;
    *count = n;
    return 0;
}
