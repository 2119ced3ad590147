/*
 * pod_log.h - container log files as the node's runtime writes them under /var/log/pods, for
 * the filelog receiver to tail: the `pod_log` step's writers, its rotation, and the record of
 * every numbered line written (what lines.h counts against what Loki received).
 *
 * Layout and formats, as the kubelet and the runtimes write them:
 *   <root>/<namespace>_<pod>_<uid>/<container>/<restart_count>.log
 *   docker      {"log":"GET / 200\n","stream":"stdout","time":"2025-11-20T10:15:00.123456789Z"}
 *               (moby daemon/logger/jsonfilelog: the time always with 9 digits, the message
 *               keeps its newline, a line longer than the 16 KiB read buffer is written as
 *               several records of which only the last ends in "\n"; the JSON is escaped as Go's
 *               encoding/json does, so invalid UTF-8 becomes \ufffd)
 *   containerd  2025-11-20T10:15:00.123456789Z stdout F GET / 200
 *   crio        2025-11-20T12:15:00.123456789+02:00 stdout F GET / 200
 *               (the CRI format of kubelet's pkg/kubelet/kuberuntime/logs: RFC 3339 with Go's
 *               RFC3339Nano trailing-zero trimming, the stream, P for a partial fragment or F
 *               for the last one, a space, the bytes; a line longer than the runtime's buffer,
 *               16 KiB by default, is cut into P fragments ended by an F one. containerd on a UTC
 *               node writes Z; CRI-O writes the node's local time with its numeric offset.)
 * Rotation: `rename` as the kubelet does (0.log -> 0.log.20251120-101500, the next write creates
 * a new 0.log), `copytruncate` as logrotate does (the content is copied to 0.log.1, 0.log is cut
 * to zero and written on). Neither rotated name matches `*.log`.
 *
 * Numbered lines carry a token `seq=000123`, unique within the run (not per file), so a line that
 * reached Loki can be traced back to its file whatever the collector did to it (raw body,
 * recombined, moved). Every logical line also gets a distinct time: the run start plus
 * POD_LOG_TIME_STEP_NS per line written, plus POD_LOG_TIME_FRACTION_NS, so all nine fraction
 * digits carry information and a collector that drops nanoseconds shows in the goldens.
 *
 * Not done: gzip of older rotated files (kubelet compresses them; nobody tails them), the
 * docker json-file `attrs` field, writing from several threads at once (one step writes at a
 * time, in order, which is what makes the goldens deterministic).
 */
#ifndef HARNESS_POD_LOG_H
#define HARNESS_POD_LOG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "strbuf.h"

#define POD_LOG_MAX_FILES 64
#define POD_LOG_MAX_SEQ 1000000 /* numbered lines per run */
#define POD_LOG_MAX_LINE (8 * 1024 * 1024)
#define POD_LOG_DEFAULT_SPLIT 16384 /* containerd max_container_log_line_size, dockerd's buffer */
#define POD_LOG_TIME_STEP_NS 1000000LL
#define POD_LOG_TIME_FRACTION_NS 456789LL

enum pod_log_format { POD_LOG_DOCKER = 0, POD_LOG_CONTAINERD, POD_LOG_CRIO };

const char *pod_log_format_name(enum pod_log_format f);
/* "docker" -> POD_LOG_DOCKER ...; -EINVAL otherwise. */
int pod_log_format_parse(const char *name, enum pod_log_format *out);

/* "+02:00", "-05:30", "+00:00", "Z" -> minutes east of UTC. -EINVAL otherwise. */
int pod_log_parse_utc_offset(const char *text, int *minutes);

/* One logical line of a step, as the scenario gives it. Strings are borrowed. */
struct pod_log_line {
    const char *stream;   /* "stdout" or "stderr" */
    const uint8_t *bytes; /* the content (text, or decoded hex) */
    size_t len;
    bool partial;  /* the runtime's line did not end: P (CRI) / no "\n" (docker) */
    bool raw;      /* written exactly as given plus "\n", in no runtime format */
    int64_t size;  /* pad the content to this many bytes (long lines); -1 = as is */
    bool numbered; /* carries a seq token (appended, or at "{seq}" in the content) */
};

/* Formats one runtime record into `out` (appends): the bytes one write of the runtime puts in
 * the file, newline included. `partial` marks a record that does not end the line (P / no "\n"
 * in the docker log). `utc_offset_min` applies to crio (0 writes "Z", as Go does for UTC). */
void pod_log_format_record(struct strbuf *out, enum pod_log_format f, const char *stream,
                           int64_t time_ns, int utc_offset_min, const uint8_t *content, size_t len,
                           bool partial);

/* Formats one logical line: split into records of at most `split` content bytes (0 = never),
 * all but the last partial, the last partial only if `partial`. */
void pod_log_format_line(struct strbuf *out, enum pod_log_format f, const char *stream,
                         int64_t time_ns, int utc_offset_min, const uint8_t *content, size_t len,
                         bool partial, size_t split);

/* RFC 3339 as Go's RFC3339Nano formats it (trailing zeros of the fraction trimmed, no fraction
 * when zero), or with a fixed 9-digit fraction when `fixed9` (docker's RFC3339NanoFixed).
 * `utc_offset_min` 0 writes "Z". */
void pod_log_format_time(char *buf, size_t size, int64_t time_ns, int utc_offset_min, bool fixed9);

/* One container log file and what was written to it. */
struct pod_log_file {
    char namespace_name[64];
    char pod[128];
    char uid[48];
    char container[64];
    int restart_count;
    char key[256];       /* "namespace/pod/container", plus "/N" when restart_count != 0 */
    char rel[PATH_MAX];  /* "<ns>_<pod>_<uid>/<container>/<n>.log", under the pods root */
    char path[PATH_MAX]; /* absolute */
    enum pod_log_format format;
    int utc_offset_min;
    size_t split;
    size_t numbered; /* numbered lines written */
    size_t records;  /* runtime records written (all lines, all fragments) */
    int rotations;
    uint64_t last_seq; /* 0 = none yet */
};

struct pod_logs {
    char root[PATH_MAX]; /* .../var/log/pods */
    int64_t clock_base_ns;
    struct pod_log_file files[POD_LOG_MAX_FILES];
    size_t file_count;
    uint16_t *seq_file; /* seq - 1 -> file index */
    size_t seq_count, seq_cap;
    uint64_t lines_written; /* logical lines, for their times */
};

/* Prepares an empty set rooted at `root` (created, with parents, if missing). `clock_base_ns`
 * is the run start: line k gets the time clock_base_ns + k * POD_LOG_TIME_STEP_NS +
 * POD_LOG_TIME_FRACTION_NS. */
int pod_logs_init(struct pod_logs *logs, const char *root, int64_t clock_base_ns,
                  struct error *err);
void pod_logs_free(struct pod_logs *logs);

/* The file of ns/pod/container/restart, registered on first use (`uid` NULL or "" = derived from
 * ns/pod, stable across runs). A file's format is fixed by its first use: a different one is
 * -EINVAL. Returns the file (borrowed) or NULL with err. */
struct pod_log_file *pod_logs_file(struct pod_logs *logs, const char *namespace_name,
                                   const char *pod, const char *uid, const char *container,
                                   int restart_count, enum pod_log_format format,
                                   int utc_offset_min, size_t split, struct error *err);
/* The registered file with this key ("ns/pod/container[/N]"), or NULL. */
struct pod_log_file *pod_logs_find(struct pod_logs *logs, const char *key);

/* The stable uid derived from ns/pod (a UUID-shaped hex string), into buf (>= 37 bytes). */
void pod_log_derive_uid(const char *namespace_name, const char *pod, char *buf, size_t size);

/* Appends `count` lines (repeated `repeat` times) to the file, in one write per logical line, so
 * a reader never sees a record cut in the middle by the harness. Numbered lines get the next
 * seq tokens. `written` (may be NULL) gets the number of logical lines. */
int pod_logs_write(struct pod_logs *logs, struct pod_log_file *file,
                   const struct pod_log_line *lines, size_t count, size_t repeat, size_t *written,
                   struct error *err);

enum pod_log_rotation { POD_LOG_ROTATE_RENAME = 0, POD_LOG_ROTATE_COPYTRUNCATE };

/* Rotates the file. `now_s` (epoch seconds) names the renamed file as the kubelet does
 * (<n>.log.YYYYMMDD-HHMMSS, UTC); a name already taken gets the next second. `rotated`
 * (may be NULL) gets the new name of the old content. A file never written is -ENOENT. */
int pod_logs_rotate(struct pod_logs *logs, struct pod_log_file *file, enum pod_log_rotation how,
                    int64_t now_s, char *rotated, size_t rotated_size, struct error *err);

/* The file index of a seq token (1-based), or -1 when the run never wrote it. */
int pod_logs_file_of_seq(const struct pod_logs *logs, uint64_t seq);

/* True when `time_ns` is a time this set gave to a line (see the header comment). */
bool pod_logs_is_line_time(const struct pod_logs *logs, int64_t time_ns);

#endif
