/*
 * crigen.c - otel-crigen, the input generator of `scripts/bench filelog`.
 *
 * Writes container log files as the kubelet lays them out and containerd writes them, before
 * the collector starts: `DIR/<namespace>_<pod>_<uid>/<container>/0.log` (the shape of
 * /var/log/pods that configs/daemonset.yaml's path regex reads), each line in CRI format with
 * Go's RFC3339Nano time in UTC, `2026-11-26T03:00:00.000001001Z stdout F <message>`
 * (containerd's pkg/cri/io/logger.go; scenarios/README.md "pod_log" has the same format).
 *
 * Every line is exactly `--line-bytes` bytes with its newline (200 by default) and carries a
 * sequence number unique across all files (`seq=000000000042`), padded with a-z filler. Lines
 * are spread evenly over `--files` files (one pod with one container each); the total is
 * `--size` bytes rounded down to whole lines (1 GiB by default). Line k is stamped
 * generation start - lines us + k us (+1 ns, so no fractional zero is trimmed): in the past,
 * within Loki's 7-day window, and increasing. Prints one JSON line:
 * {"files":N,"lines":N,"bytes":N,"seconds":S}.
 *
 * Deliberately not here: P (partial) lines, stderr, docker and CRI-O formats, rotation. The
 * benchmark measures the steady path of one format; the scenarios cover the rest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define CRIGEN_MAX_FILES 1024
#define CRIGEN_MIN_LINE 64    /* time (30) + " stdout F " (10) + "seq=" and 12 digits + room */
#define CRIGEN_MAX_LINE 16384 /* containerd's buffer: a longer line would be split (P/F) */
#define CRIGEN_BUFFER ((size_t)1 << 20)

struct options {
    const char *dir;
    unsigned long long size;
    long files;
    long line_bytes;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: otel-crigen --dir DIR [--size BYTES] [--files N] [--line-bytes N]\n"
                 "Writes BYTES (default 1GiB; suffixes K, M, G, KiB, MiB, GiB) of containerd CRI\n"
                 "lines of --line-bytes bytes (default 200) into --files files (default 4) under\n"
                 "DIR/<namespace>_<pod>_<uid>/<container>/0.log, each line numbered uniquely, and\n"
                 "prints one JSON line: files, lines, bytes, seconds.\n");
}

static int parse_long(const char *name, const char *text, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text ? text : "", &end, 10);
    if (!text || errno || end == text || *end || v < min || v > max) {
        fprintf(stderr, "otel-crigen: %s must be an integer in [%ld, %ld], got \"%s\"\n", name, min,
                max, text ? text : "");
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* "1GiB", "512MiB", "300M", "1000": binary suffixes with i, decimal without. */
static int parse_size(const char *text, unsigned long long *out)
{
    static const struct {
        const char *suffix;
        unsigned long long factor;
    } units[] = {{"", 1},
                 {"k", 1000ULL},
                 {"kb", 1000ULL},
                 {"kib", 1ULL << 10},
                 {"m", 1000000ULL},
                 {"mb", 1000000ULL},
                 {"mib", 1ULL << 20},
                 {"g", 1000000000ULL},
                 {"gb", 1000000000ULL},
                 {"gib", 1ULL << 30}};
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text ? text : "", &end, 10);
    if (!text || errno || end == text || text[0] == '-')
        goto fail;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(end, units[i].suffix) == 0) {
            if (v > (1ULL << 40) / units[i].factor)
                goto fail;
            *out = v * units[i].factor;
            return 0;
        }
    }
fail:
    fprintf(stderr, "otel-crigen: --size must be a byte count up to 1TiB like 1GiB, got \"%s\"\n",
            text ? text : "");
    return -EINVAL;
}

/* Returns 0, 1 for --help (printed), or -EINVAL (message printed). */
static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){.dir = NULL, .size = 1ULL << 30, .files = 4, .line_bytes = 200};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(arg, "--dir") && val) {
            o->dir = val;
        } else if (!strcmp(arg, "--size")) {
            if (parse_size(val, &o->size) < 0)
                return -EINVAL;
        } else if (!strcmp(arg, "--files")) {
            if (parse_long(arg, val, 1, CRIGEN_MAX_FILES, &o->files) < 0)
                return -EINVAL;
        } else if (!strcmp(arg, "--line-bytes")) {
            if (parse_long(arg, val, CRIGEN_MIN_LINE, CRIGEN_MAX_LINE, &o->line_bytes) < 0)
                return -EINVAL;
        } else {
            fprintf(stderr, "otel-crigen: unknown or incomplete option \"%s\"\n", arg);
            usage(stderr);
            return -EINVAL;
        }
        i++; /* every option takes one value */
    }
    if (!o->dir) {
        fprintf(stderr, "otel-crigen: --dir is required\n");
        usage(stderr);
        return -EINVAL;
    }
    if (o->size / (unsigned long long)o->line_bytes < (unsigned long long)o->files) {
        fprintf(stderr, "otel-crigen: --size %llu holds fewer than one %ld-byte line per file\n",
                o->size, o->line_bytes);
        return -EINVAL;
    }
    return 0;
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* mkdir that accepts an existing directory. */
static int make_dir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    fprintf(stderr, "otel-crigen: cannot create %s: %s\n", path, strerror(errno));
    return -errno;
}

/* mkdir -p: every missing directory of `path`. */
static int make_dirs(const char *path)
{
    char partial[4096];
    size_t len = strlen(path);
    if (len >= sizeof(partial)) {
        fprintf(stderr, "otel-crigen: --dir is too long\n");
        return -ENAMETOOLONG;
    }
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        memcpy(partial, path, i);
        partial[i] = '\0';
        int rc = make_dir(partial);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Writes lines [first, first + count) of the run to the file of pod `index`. The caller's
 * `line` buffer (line_bytes + 1 bytes) is reused. Returns 0 or a negative errno (printed). */
static int write_file(const struct options *o, long index, uint64_t first, uint64_t count,
                      uint64_t base_ns, char *line)
{
    char path[4096];
    int rc = 0;
    FILE *f = NULL;
    char *buffer = NULL;
    int n = snprintf(path, sizeof(path), "%s/bench_crigen-%ld_00000000-0000-4000-8000-%012lx",
                     o->dir, index, index);
    if (n < 0 || (size_t)n >= sizeof(path) - 32) {
        fprintf(stderr, "otel-crigen: --dir is too long\n");
        return -ENAMETOOLONG;
    }
    if ((rc = make_dir(path)) < 0)
        return rc;
    strcat(path, "/app");
    if ((rc = make_dir(path)) < 0)
        return rc;
    strcat(path, "/0.log");
    f = fopen(path, "w");
    buffer = malloc(CRIGEN_BUFFER);
    if (!f || !buffer) {
        rc = f ? -ENOMEM : -errno;
        fprintf(stderr, "otel-crigen: cannot write %s: %s\n", path, strerror(-rc));
        goto fail;
    }
    setvbuf(f, buffer, _IOFBF, CRIGEN_BUFFER);

    /* "YYYY-MM-DDTHH:MM:SS" changes once a second of stamps (a million lines): cached. */
    char date[32] = "";
    int64_t date_sec = -1;
    const size_t header = 30 + 10; /* time, " stdout F " */
    for (uint64_t seq = first; seq < first + count; seq++) {
        uint64_t ns = base_ns + seq * 1000ULL + 1;
        int64_t sec = (int64_t)(ns / 1000000000ULL);
        if (sec != date_sec) {
            time_t t = (time_t)sec;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
            date_sec = sec;
        }
        int w = snprintf(line, (size_t)o->line_bytes + 1,
                         "%s.%09" PRIu64 "Z stdout F seq=%012" PRIu64 " ", date,
                         ns % UINT64_C(1000000000), seq);
        if (w < 0 || (size_t)w < header) {
            rc = -EINVAL;
            fprintf(stderr, "otel-crigen: cannot format line %" PRIu64 "\n", seq);
            goto fail;
        }
        for (long i = w; i < o->line_bytes - 1; i++)
            line[i] = (char)('a' + (i % 26));
        line[o->line_bytes - 1] = '\n';
        if (fwrite(line, 1, (size_t)o->line_bytes, f) != (size_t)o->line_bytes) {
            rc = -errno;
            fprintf(stderr, "otel-crigen: write to %s failed: %s\n", path, strerror(errno));
            goto fail;
        }
    }
    if (fclose(f) != 0) {
        f = NULL;
        rc = -errno;
        fprintf(stderr, "otel-crigen: write to %s failed: %s\n", path, strerror(errno));
        goto fail;
    }
    f = NULL;
fail:
    if (f)
        fclose(f);
    free(buffer);
    return rc;
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc > 0 ? 0 : 2;
    if (make_dirs(o.dir) < 0)
        return 1;
    char *line = malloc((size_t)o.line_bytes + 1);
    if (!line) {
        fprintf(stderr, "otel-crigen: out of memory\n");
        return 1;
    }
    uint64_t lines = o.size / (uint64_t)o.line_bytes;
    uint64_t per_file = lines / (uint64_t)o.files, extra = lines % (uint64_t)o.files;
    uint64_t base_ns = realtime_ns() - lines * 1000ULL;
    double started = monotonic_s();
    uint64_t first = 0;
    for (long i = 0; i < o.files && rc == 0; i++) {
        uint64_t count = per_file + ((uint64_t)i < extra ? 1 : 0);
        rc = write_file(&o, i, first, count, base_ns, line);
        first += count;
    }
    free(line);
    if (rc < 0)
        return 1;
    printf("{\"files\":%ld,\"lines\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.3f}\n",
           o.files, lines, lines * (uint64_t)o.line_bytes, monotonic_s() - started);
    return 0;
}
