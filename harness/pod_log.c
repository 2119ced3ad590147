/*
 * pod_log.c - the runtimes' log writers, rotation and the numbered-line record (see pod_log.h).
 *
 * Checked against: moby daemon/logger/jsonfilelog/jsonlog/jsonlogbytes.go (the JSON escaping of
 * `log`, RFC3339NanoFixed), daemon/logger/copier.go (the 16 KiB buffer and partial messages),
 * containerd internal/cri/io/logger.go (time, stream, P/F tag, 16 KiB default split), kubelet
 * pkg/kubelet/logs/container_log_manager.go (rotation by rename with a UTC timestamp suffix).
 */
#include "pod_log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "golden.h"

static const char *const format_names[] = {"docker", "containerd", "crio"};

const char *pod_log_format_name(enum pod_log_format f)
{
    return (unsigned)f < 3 ? format_names[f] : "?";
}

int pod_log_format_parse(const char *name, enum pod_log_format *out)
{
    for (int i = 0; i < 3; i++) {
        if (!strcmp(name, format_names[i])) {
            *out = (enum pod_log_format)i;
            return 0;
        }
    }
    return -EINVAL;
}

int pod_log_parse_utc_offset(const char *text, int *minutes)
{
    if (!strcmp(text, "Z")) {
        *minutes = 0;
        return 0;
    }
    if ((text[0] != '+' && text[0] != '-') || strlen(text) != 6 || text[3] != ':' ||
        !isdigit((unsigned char)text[1]) || !isdigit((unsigned char)text[2]) ||
        !isdigit((unsigned char)text[4]) || !isdigit((unsigned char)text[5]))
        return -EINVAL;
    int h = (text[1] - '0') * 10 + (text[2] - '0');
    int m = (text[4] - '0') * 10 + (text[5] - '0');
    if (h > 14 || m > 59)
        return -EINVAL;
    *minutes = (text[0] == '-' ? -1 : 1) * (h * 60 + m);
    return 0;
}

/* ---- formatting ---- */

void pod_log_format_time(char *buf, size_t size, int64_t time_ns, int utc_offset_min, bool fixed9)
{
    int64_t secs = time_ns / 1000000000LL;
    int64_t frac = time_ns % 1000000000LL;
    if (frac < 0) {
        frac += 1000000000LL;
        secs--;
    }
    time_t local = (time_t)(secs + (int64_t)utc_offset_min * 60);
    struct tm tm;
    gmtime_r(&local, &tm);
    char fraction[16] = "";
    if (fixed9) {
        snprintf(fraction, sizeof(fraction), ".%09" PRId64, frac);
    } else if (frac) {
        /* Go's RFC3339Nano: ".999999999" drops trailing zeros, and the dot with them. */
        snprintf(fraction, sizeof(fraction), ".%09" PRId64, frac);
        size_t n = strlen(fraction);
        while (n > 1 && fraction[n - 1] == '0')
            fraction[--n] = '\0';
    }
    char zone[16] = "Z";
    if (utc_offset_min) {
        int a = utc_offset_min < 0 ? -utc_offset_min : utc_offset_min;
        snprintf(zone, sizeof(zone), "%c%02d:%02d", utc_offset_min < 0 ? '-' : '+', a / 60, a % 60);
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fraction, zone);
}

/* The length of the valid UTF-8 sequence at s (1-4), or 0 when the bytes there are not one
 * (Go's utf8.DecodeRune returning RuneError with size 1). */
static size_t utf8_sequence(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF are invalid too. */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* docker's jsonlog string escaping (ffjsonWriteJSONBytesAsString): \" \\ \n \r, every other
 * byte below 0x20 and < > & as \u00XX, invalid UTF-8 as \ufffd, U+2028/2029 escaped.
 * `newline` ends the string with the message's "\n" (escaped), as a complete line has it. */
static void docker_json_string(struct strbuf *out, const uint8_t *s, size_t n, bool newline)
{
    static const char hex[] = "0123456789abcdef";
    strbuf_putc(out, '"');
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        if (b < 0x80) {
            if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&') {
                strbuf_putc(out, (char)b);
            } else if (b == '\\' || b == '"') {
                strbuf_putc(out, '\\');
                strbuf_putc(out, (char)b);
            } else if (b == '\n') {
                strbuf_puts(out, "\\n");
            } else if (b == '\r') {
                strbuf_puts(out, "\\r");
            } else {
                char esc[7] = {'\\', 'u', '0', '0', hex[b >> 4], hex[b & 0xf], 0};
                strbuf_puts(out, esc);
            }
            i++;
            continue;
        }
        size_t len = utf8_sequence(s + i, n - i);
        if (!len) {
            strbuf_puts(out, "\\ufffd");
            i++;
            continue;
        }
        if (len == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 &&
            (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
            strbuf_puts(out, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
        } else {
            strbuf_add(out, s + i, len);
        }
        i += len;
    }
    if (newline)
        strbuf_puts(out, "\\n");
    strbuf_putc(out, '"');
}

void pod_log_format_record(struct strbuf *out, enum pod_log_format f, const char *stream,
                           int64_t time_ns, int utc_offset_min, const uint8_t *content, size_t len,
                           bool partial)
{
    char when[64];
    if (f == POD_LOG_DOCKER) {
        /* The message keeps its newline; a partial message is the one without it. */
        pod_log_format_time(when, sizeof(when), time_ns, 0, true);
        strbuf_puts(out, "{\"log\":");
        docker_json_string(out, content, len, !partial);
        strbuf_printf(out, ",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream, when);
        return;
    }
    pod_log_format_time(when, sizeof(when), time_ns, f == POD_LOG_CRIO ? utc_offset_min : 0, false);
    strbuf_printf(out, "%s %s %c ", when, stream, partial ? 'P' : 'F');
    strbuf_add(out, content, len);
    strbuf_putc(out, '\n');
}

void pod_log_format_line(struct strbuf *out, enum pod_log_format f, const char *stream,
                         int64_t time_ns, int utc_offset_min, const uint8_t *content, size_t len,
                         bool partial, size_t split)
{
    size_t at = 0;
    do {
        size_t chunk = len - at;
        bool last = true;
        if (split && chunk > split) {
            chunk = split;
            last = false;
        }
        pod_log_format_record(out, f, stream, time_ns, utc_offset_min, content + at, chunk,
                              last ? partial : true);
        at += chunk;
    } while (at < len);
}

/* ---- the file set ---- */

int pod_logs_init(struct pod_logs *logs, const char *root, int64_t clock_base_ns, struct error *err)
{
    memset(logs, 0, sizeof(*logs));
    if (snprintf(logs->root, sizeof(logs->root), "%s", root) >= (int)sizeof(logs->root))
        return error_set(err, -ENAMETOOLONG, ERROR_PERMANENT, "path too long: %s", root);
    logs->clock_base_ns = clock_base_ns;
    return golden_mkdirs(logs->root, 0, err);
}

void pod_logs_free(struct pod_logs *logs)
{
    free(logs->seq_file);
    logs->seq_file = NULL;
    logs->seq_count = logs->seq_cap = 0;
}

static uint64_t fnv1a64(const char *s, uint64_t seed)
{
    uint64_t h = seed;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

void pod_log_derive_uid(const char *namespace_name, const char *pod, char *buf, size_t size)
{
    char name[256];
    snprintf(name, sizeof(name), "%s/%s", namespace_name, pod);
    uint64_t a = fnv1a64(name, 0xcbf29ce484222325ULL);
    uint64_t b = fnv1a64(name, a ^ 0x9e3779b97f4a7c15ULL);
    /* Shaped as a version-4 UUID, as the API server's pod uids are. */
    snprintf(buf, size, "%08" PRIx32 "-%04" PRIx32 "-4%03" PRIx32 "-%04" PRIx32 "-%012" PRIx64,
             (uint32_t)(a >> 32), (uint32_t)(a >> 16) & 0xffff, (uint32_t)a & 0xfff,
             ((uint32_t)(b >> 48) & 0x3fff) | 0x8000, (uint64_t)(b & 0xffffffffffffULL));
}

static bool valid_name_part(const char *s, bool underscores_ok)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s == '/' || (!underscores_ok && *s == '_') || (unsigned char)*s < 0x20)
            return false;
    return true;
}

struct pod_log_file *pod_logs_find(struct pod_logs *logs, const char *key)
{
    for (size_t i = 0; i < logs->file_count; i++)
        if (!strcmp(logs->files[i].key, key))
            return &logs->files[i];
    return NULL;
}

struct pod_log_file *pod_logs_file(struct pod_logs *logs, const char *namespace_name,
                                   const char *pod, const char *uid, const char *container,
                                   int restart_count, enum pod_log_format format,
                                   int utc_offset_min, size_t split, struct error *err)
{
    char key[256];
    /* `_` separates the parts of the pod folder's name: Kubernetes names never contain it. */
    if (!valid_name_part(namespace_name, false) || !valid_name_part(pod, false) ||
        !valid_name_part(container, true) || restart_count < 0) {
        error_set(err, -EINVAL, ERROR_PERMANENT,
                  "not a pod log: namespace \"%s\", pod \"%s\", container \"%s\" (names are "
                  "non-empty, without '/', and the namespace and pod without '_')",
                  namespace_name, pod, container);
        return NULL;
    }
    if (restart_count)
        snprintf(key, sizeof(key), "%s/%s/%s/%d", namespace_name, pod, container, restart_count);
    else
        snprintf(key, sizeof(key), "%s/%s/%s", namespace_name, pod, container);
    struct pod_log_file *f = pod_logs_find(logs, key);
    if (f) {
        if (f->format != format) {
            error_set(err, -EINVAL, ERROR_PERMANENT,
                      "%s is written in %s format, not %s (one runtime writes a file)", key,
                      pod_log_format_name(f->format), pod_log_format_name(format));
            return NULL;
        }
        return f;
    }
    if (logs->file_count >= POD_LOG_MAX_FILES) {
        error_set(err, -E2BIG, ERROR_PERMANENT, "more than %d pod log files", POD_LOG_MAX_FILES);
        return NULL;
    }
    f = &logs->files[logs->file_count];
    memset(f, 0, sizeof(*f));
    snprintf(f->namespace_name, sizeof(f->namespace_name), "%s", namespace_name);
    snprintf(f->pod, sizeof(f->pod), "%s", pod);
    snprintf(f->container, sizeof(f->container), "%s", container);
    if (uid && *uid)
        snprintf(f->uid, sizeof(f->uid), "%s", uid);
    else
        pod_log_derive_uid(namespace_name, pod, f->uid, sizeof(f->uid));
    f->restart_count = restart_count;
    snprintf(f->key, sizeof(f->key), "%s", key);
    /* Built aside: the names may point into `logs` themselves. */
    char rel[PATH_MAX], full[PATH_MAX];
    snprintf(rel, sizeof(rel), "%s_%s_%s/%s/%d.log", f->namespace_name, f->pod, f->uid,
             f->container, restart_count);
    if (snprintf(full, sizeof(full), "%s/%s", logs->root, rel) >= (int)sizeof(full)) {
        error_set(err, -ENAMETOOLONG, ERROR_PERMANENT, "path too long: %s/%s", logs->root, rel);
        return NULL;
    }
    memcpy(f->rel, rel, sizeof(rel));
    memcpy(f->path, full, sizeof(full));
    f->format = format;
    f->utc_offset_min = utc_offset_min;
    f->split = split;
    if (golden_mkdirs(f->path, 1, err) < 0)
        return NULL;
    logs->file_count++;
    return f;
}

/* ---- writing ---- */

static int seq_add(struct pod_logs *logs, size_t file_index, uint64_t *seq, struct error *err)
{
    if (logs->seq_count >= POD_LOG_MAX_SEQ)
        return error_set(err, -E2BIG, ERROR_PERMANENT, "more than %d numbered lines in one run",
                         POD_LOG_MAX_SEQ);
    if (logs->seq_count == logs->seq_cap) {
        size_t cap = logs->seq_cap ? logs->seq_cap * 2 : 1024;
        uint16_t *grown = realloc(logs->seq_file, cap * sizeof(*grown));
        if (!grown)
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        logs->seq_file = grown;
        logs->seq_cap = cap;
    }
    logs->seq_file[logs->seq_count++] = (uint16_t)file_index;
    *seq = logs->seq_count;
    return 0;
}

int pod_logs_file_of_seq(const struct pod_logs *logs, uint64_t seq)
{
    if (seq == 0 || seq > logs->seq_count)
        return -1;
    return logs->seq_file[seq - 1];
}

bool pod_logs_is_line_time(const struct pod_logs *logs, int64_t time_ns)
{
    int64_t d = time_ns - logs->clock_base_ns - POD_LOG_TIME_FRACTION_NS;
    return d >= 0 && d % POD_LOG_TIME_STEP_NS == 0 &&
           (uint64_t)(d / POD_LOG_TIME_STEP_NS) < logs->lines_written;
}

/* The line's content: its bytes, "{seq}" replaced by the token (or the token appended to a
 * numbered line), padded to `size` before the token. */
static void build_content(struct strbuf *b, const struct pod_log_line *l, uint64_t seq)
{
    char token[32] = "";
    if (seq)
        snprintf(token, sizeof(token), "seq=%06" PRIu64, seq);
    const uint8_t *at = NULL;
    if (seq && l->len >= 5)
        for (size_t i = 0; i + 5 <= l->len && !at; i++)
            if (!memcmp(l->bytes + i, "{seq}", 5))
                at = l->bytes + i;
    if (at) {
        strbuf_add(b, l->bytes, (size_t)(at - l->bytes));
        strbuf_puts(b, token);
        strbuf_add(b, at + 5, l->len - (size_t)(at - l->bytes) - 5);
    } else {
        strbuf_add(b, l->bytes, l->len);
    }
    size_t tail = !at && seq ? strlen(token) + 1 : 0; /* " seq=000123" */
    if (l->size >= 0) {
        /* A filler that shows where a cut fell: the alphabet, over and over. */
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz";
        size_t i = 0;
        while (b->len + tail < (size_t)l->size && !b->error)
            strbuf_putc(b, alphabet[i++ % 26]);
    }
    if (!at && seq) {
        if (b->len)
            strbuf_putc(b, ' ');
        strbuf_puts(b, token);
    }
}

static int write_all(int fd, const char *data, size_t len, const char *path, struct error *err)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return error_set(err, -errno, ERROR_PERMANENT, "write %s: %s", path, strerror(errno));
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static bool line_has_placeholder(const struct pod_log_line *l)
{
    for (size_t i = 0; i + 5 <= l->len; i++)
        if (!memcmp(l->bytes + i, "{seq}", 5))
            return true;
    return false;
}

int pod_logs_write(struct pod_logs *logs, struct pod_log_file *file,
                   const struct pod_log_line *lines, size_t count, size_t repeat, size_t *written,
                   struct error *err)
{
    int rc = 0;
    size_t file_index = (size_t)(file - logs->files);
    struct strbuf content = STRBUF_INIT(POD_LOG_MAX_LINE);
    struct strbuf record = STRBUF_INIT(2 * POD_LOG_MAX_LINE);
    int fd = open(file->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (written)
        *written = 0;
    if (fd < 0)
        return error_set(err, -errno, ERROR_PERMANENT, "open %s: %s", file->path, strerror(errno));
    for (size_t r = 0; r < (repeat ? repeat : 1) && rc == 0; r++) {
        for (size_t i = 0; i < count && rc == 0; i++) {
            const struct pod_log_line *l = &lines[i];
            uint64_t seq = 0;
            /* A raw line is the file's bytes as given: it gets a token only where it asks for
             * one, so a blank line or a cut JSON stays what it is. */
            bool numbered = l->raw ? line_has_placeholder(l) : l->numbered;
            if (numbered && (rc = seq_add(logs, file_index, &seq, err)) < 0)
                break;
            int64_t when = logs->clock_base_ns +
                           (int64_t)logs->lines_written * POD_LOG_TIME_STEP_NS +
                           POD_LOG_TIME_FRACTION_NS;
            logs->lines_written++;
            strbuf_release(&content);
            strbuf_release(&record);
            build_content(&content, l, seq);
            if (l->raw) {
                strbuf_add(&record, content.data ? content.data : "", content.len);
                strbuf_putc(&record, '\n');
                file->records++;
            } else {
                pod_log_format_line(&record, file->format, l->stream, when, file->utc_offset_min,
                                    (const uint8_t *)strbuf_str(&content), content.len, l->partial,
                                    file->split);
                file->records += file->split && content.len > file->split
                                     ? (content.len + file->split - 1) / file->split
                                     : 1;
            }
            if (content.error || record.error) {
                rc = error_set(err, content.error ? content.error : record.error, ERROR_PERMANENT,
                               "a line of %s is larger than %d bytes", file->key, POD_LOG_MAX_LINE);
                break;
            }
            /* One write per logical line: the reader sees whole records or nothing new. */
            if ((rc = write_all(fd, record.data, record.len, file->path, err)) < 0)
                break;
            if (seq) {
                file->numbered++;
                file->last_seq = seq;
            }
            if (written)
                (*written)++;
        }
    }
    strbuf_release(&content);
    strbuf_release(&record);
    if (close(fd) < 0 && rc == 0)
        rc = error_set(err, -errno, ERROR_PERMANENT, "close %s: %s", file->path, strerror(errno));
    return rc;
}

/* ---- rotation ---- */

static int copy_file(const char *from, const char *to, struct error *err)
{
    int rc = 0;
    char buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return error_set(err, -errno, ERROR_PERMANENT, "open %s: %s", from, strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        rc = error_set(err, -errno, ERROR_PERMANENT, "create %s: %s", to, strerror(errno));
        close(in);
        return rc;
    }
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = error_set(err, -errno, ERROR_PERMANENT, "read %s: %s", from, strerror(errno));
            break;
        }
        if (n == 0 || (rc = write_all(out, buf, (size_t)n, to, err)) < 0)
            break;
    }
    close(in);
    if (close(out) < 0 && rc == 0)
        rc = error_set(err, -errno, ERROR_PERMANENT, "close %s: %s", to, strerror(errno));
    return rc;
}

int pod_logs_rotate(struct pod_logs *logs, struct pod_log_file *file, enum pod_log_rotation how,
                    int64_t now_s, char *rotated, size_t rotated_size, struct error *err)
{
    (void)logs;
    char target[PATH_MAX + 64];
    struct stat st;
    if (stat(file->path, &st) < 0)
        return error_set(err, -ENOENT, ERROR_PERMANENT,
                         "cannot rotate %s: nothing was written to it yet", file->key);
    int tries;
    for (tries = 0; tries < 1000; tries++) {
        if (how == POD_LOG_ROTATE_RENAME) {
            time_t t = (time_t)(now_s + tries);
            struct tm tm;
            gmtime_r(&t, &tm);
            snprintf(target, sizeof(target), "%s.%04d%02d%02d-%02d%02d%02d", file->path,
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
        } else {
            snprintf(target, sizeof(target), "%s.%d", file->path, tries + 1);
        }
        if (access(target, F_OK) != 0)
            break;
    }
    if (tries == 1000)
        return error_set(err, -EEXIST, ERROR_PERMANENT, "no free name to rotate %s to", file->path);
    int rc;
    if (how == POD_LOG_ROTATE_RENAME) {
        if (rename(file->path, target) < 0)
            return error_set(err, -errno, ERROR_PERMANENT, "rename %s: %s", file->path,
                             strerror(errno));
    } else {
        if ((rc = copy_file(file->path, target, err)) < 0)
            return rc;
        if (truncate(file->path, 0) < 0)
            return error_set(err, -errno, ERROR_PERMANENT, "truncate %s: %s", file->path,
                             strerror(errno));
    }
    file->rotations++;
    if (rotated) {
        const char *base = strrchr(target, '/');
        snprintf(rotated, rotated_size, "%s", base ? base + 1 : target);
    }
    return 0;
}
