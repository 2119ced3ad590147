/*
 * step_pod_log.c - the `pod_log` step: appends lines to a container's log file under the run's
 * /var/log/pods, as a container runtime writes them, or rotates the file as the kubelet
 * (rename) or logrotate (copytruncate) does. pod_log.h has the formats and why they look as
 * they do.
 *
 * Loading follows a file through the scenario (l->known): a file's first step names its runtime
 * format and later steps inherit it, a rotation needs an earlier write, and waits and
 * expectations may name only files some pod_log step writes. It is the one kind allowed in
 * before_start (the files that exist when the collector starts) and while the collector is
 * stopped (what a container writes while the DaemonSet pod restarts).
 *
 * The step returns as soon as the bytes are in the file: whether and when the collector reads
 * them is for a later `wait` to establish (lines delivered, or the file held open).
 *
 * What a loaded step holds is struct step_pod_log (step_pod_log.h); the descriptor, defined
 * last, is this kind's entry in the table of steps.c.
 */
#include "step_pod_log.h"
#include "steps.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scenario_loader.h"

/* ---- load ---- */

static const struct field pod_log_fields[] = {
    {"pod", FIELD_STR, true, "namespace/name of the pod, e.g. default/web-7d4b9c-x2x7k"},
    {"container", FIELD_STR, true, "the container name, e.g. nginx"},
    {"uid", FIELD_STR, false, "the pod uid (default: derived from namespace/name, stable)"},
    {"restart_count", FIELD_INT, false,
     "the container's restart count: the N of N.log (default 0)"},
    {"format", FIELD_STR, false, "docker, containerd or crio (required on a file's first step)"},
    {"utc_offset", FIELD_STR, false,
     "crio: the node's UTC offset written in times, e.g. \"+02:00\""},
    {"split", FIELD_INT | FIELD_STR, false,
     "the runtime's line buffer: longer lines are written as fragments (default 16384; 0 = "
     "never)"},
    {"numbered", FIELD_BOOL, false, "true: every line carries a seq=NNNNNN token (for lines:)"},
    {"lines", FIELD_LIST, false, "the lines: {stream, text | hex | raw, partial, size, numbered}"},
    {"repeat", FIELD_INT, false, "write `lines` this many times (default 1)"},
    {"rotate", FIELD_STR, false, "rename (kubelet) or copytruncate (logrotate), instead of lines"},
    {NULL, 0, false, NULL},
};

static const struct field log_line_fields[] = {
    {"stream", FIELD_STR, false, "stdout or stderr (default stdout)"},
    {"text", FIELD_STR, false, "the line's text"},
    {"hex", FIELD_STR, false, "the line's bytes as hex, e.g. \"48 69 ff\" (invalid UTF-8)"},
    {"raw", FIELD_STR, false,
     "bytes written as they are, in no runtime format (\"{seq}\": a token)"},
    {"partial", FIELD_BOOL, false, "true: the runtime's line does not end here (P / no \\n)"},
    {"size", FIELD_INT | FIELD_STR, false,
     "pad the text to this many bytes, e.g. 40000 or \"1MiB+1\""},
    {"numbered", FIELD_BOOL, false, "overrides the step's numbered for this line"},
    {NULL, 0, false, NULL},
};

static int load_log_line(struct loader *l, struct step_pod_log *pl, const json_t *item,
                         bool numbered, const char *path, int line)
{
    struct pod_log_line *out = &pl->lines[pl->line_count];
    memset(out, 0, sizeof(*out));
    out->stream = "stdout";
    out->size = -1;
    out->numbered = numbered;
    if (json_is_string(item)) {
        out->bytes = (const uint8_t *)json_string_value(item);
        out->len = json_string_length(item);
        pl->line_count++;
        return 0;
    }
    int rc = loader_check_fields(l, item, line, path, log_line_fields);
    if (rc < 0)
        return rc;
    static const char *const streams[] = {"stdout", "stderr", NULL};
    int choice;
    if ((rc = loader_check_choice(l, item, "stream", path, streams, &choice)) < 0)
        return rc;
    if (choice >= 0)
        out->stream = streams[choice];
    int contents = (json_object_get(item, "text") != NULL) +
                   (json_object_get(item, "hex") != NULL) + (json_object_get(item, "raw") != NULL);
    if (contents != 1)
        return loader_fail(l, line, path, "expected exactly one of text, hex or raw");
    const json_t *text = json_object_get(item, "text");
    const json_t *raw = json_object_get(item, "raw");
    const char *hex = loader_get_string(item, "hex");
    if (text || raw) {
        out->bytes = (const uint8_t *)json_string_value(text ? text : raw);
        out->len = json_string_length(text ? text : raw);
        out->raw = raw != NULL;
    } else {
        uint8_t *bytes;
        size_t n;
        if (loader_hex_decode(hex, &bytes, &n) < 0)
            return loader_fail(l, loader_line_of_key(l, item, "hex", line), path,
                               "hex: expected pairs of hex digits, e.g. \"48 69 ff\"");
        pl->owned[pl->owned_count++] = bytes;
        out->bytes = bytes;
        out->len = n;
    }
    out->partial = loader_get_bool(item, "partial", false);
    out->numbered = loader_get_bool(item, "numbered", numbered);
    if (out->raw && (json_object_get(item, "partial") || json_object_get(item, "size") ||
                     json_object_get(item, "stream")))
        return loader_fail(l, line, path,
                           "a raw line is written as it is: stream, partial and size do not apply "
                           "(put \"{seq}\" in it for a token)");
    const json_t *size = json_object_get(item, "size");
    if (size && (loader_parse_size(size, &out->size) < 0 || out->size > POD_LOG_MAX_LINE))
        return loader_fail(l, loader_line_of_key(l, item, "size", line), path,
                           "size: expected a size up to 8MiB such as 40000 or \"1MiB+1\"");
    pl->line_count++;
    return 0;
}

static int load_pod_log_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                             int line)
{
    struct known_files *known = l->known;
    struct step_pod_log *pl = step_pod_log_data(st);
    int rc;
    line = loader_line_of_node(l, obj, line);
    const char *pod = loader_get_string(obj, "pod");
    const char *slash = strchr(pod, '/');
    if (!slash || slash == pod || !slash[1] || strchr(slash + 1, '/') ||
        (size_t)(slash - pod) >= sizeof(pl->namespace_name) || strlen(slash + 1) >= sizeof(pl->pod))
        return loader_fail(
            l, loader_line_of_key(l, obj, "pod", line), path,
            "pod: expected namespace/name, e.g. default/web-7d4b9c-x2x7k; got \"%s\"", pod);
    snprintf(pl->namespace_name, sizeof(pl->namespace_name), "%.*s", (int)(slash - pod), pod);
    snprintf(pl->pod, sizeof(pl->pod), "%s", slash + 1);
    if (strchr(pl->namespace_name, '_') || strchr(pl->pod, '_'))
        return loader_fail(l, loader_line_of_key(l, obj, "pod", line), path,
                           "pod: Kubernetes names have no '_' (the kubelet joins them with '_')");
    pl->container = loader_get_string(obj, "container");
    pl->uid = loader_get_string(obj, "uid");
    const json_t *restarts = json_object_get(obj, "restart_count");
    pl->restart_count = restarts ? (int)json_integer_value(restarts) : 0;
    if (pl->restart_count < 0)
        return loader_fail(l, loader_line_of_key(l, obj, "restart_count", line), path,
                           "restart_count: expected 0 or more");
    if (strchr(pl->container, '/') || !*pl->container)
        return loader_fail(l, loader_line_of_key(l, obj, "container", line), path,
                           "container: expected a container name");
    if (pl->restart_count)
        snprintf(pl->key, sizeof(pl->key), "%s/%s/%d", pod, pl->container, pl->restart_count);
    else
        snprintf(pl->key, sizeof(pl->key), "%s/%s", pod, pl->container);

    struct known_file *kf = loader_known_file(known, pl->key);
    const char *format = loader_get_string(obj, "format");
    if (format) {
        if (pod_log_format_parse(format, &pl->format) < 0)
            return loader_fail(l, loader_line_of_key(l, obj, "format", line), path,
                               "unknown format \"%s\" (expected docker, containerd or crio)",
                               format);
        if (kf && kf->format != pl->format)
            return loader_fail(
                l, loader_line_of_key(l, obj, "format", line), path,
                "%s was written in %s format by an earlier step; one runtime writes a "
                "file",
                pl->key, pod_log_format_name(kf->format));
    } else if (kf) {
        pl->format = kf->format;
    } else {
        return loader_fail(
            l, line, path,
            "format: required on the first step that writes %s (docker, containerd or "
            "crio)",
            pl->key);
    }
    const char *offset = loader_get_string(obj, "utc_offset");
    pl->utc_offset_min = 0;
    if (offset) {
        if (pl->format != POD_LOG_CRIO)
            return loader_fail(l, loader_line_of_key(l, obj, "utc_offset", line), path,
                               "utc_offset applies to crio (docker and containerd write UTC)");
        if (pod_log_parse_utc_offset(offset, &pl->utc_offset_min) < 0)
            return loader_fail(l, loader_line_of_key(l, obj, "utc_offset", line), path,
                               "utc_offset: expected +hh:mm or -hh:mm, e.g. \"+02:00\"");
    } else if (pl->format == POD_LOG_CRIO) {
        /* The point of a crio file here is the numeric offset: Z would be a containerd line. */
        pl->utc_offset_min = 120;
    }
    pl->split = POD_LOG_DEFAULT_SPLIT;
    const json_t *split = json_object_get(obj, "split");
    if (split) {
        int64_t n;
        if (loader_parse_size(split, &n) < 0 || n > POD_LOG_MAX_LINE)
            return loader_fail(
                l, loader_line_of_key(l, obj, "split", line), path,
                "split: expected a size such as 16384 or \"16KiB\" (0 = never split)");
        pl->split = (size_t)n;
    }

    const char *rotate = loader_get_string(obj, "rotate");
    const json_t *lines = json_object_get(obj, "lines");
    if (!rotate == !lines)
        return loader_fail(l, line, path,
                           "expected either lines (to write) or rotate (rename or copytruncate)");
    if (rotate) {
        static const char *const rotations[] = {"rename", "copytruncate", NULL};
        int choice;
        if ((rc = loader_check_choice(l, obj, "rotate", path, rotations, &choice)) < 0)
            return rc;
        static const char *const write_only[] = {"numbered", "repeat", "split", NULL};
        for (int i = 0; write_only[i]; i++)
            if (json_object_get(obj, write_only[i]))
                return loader_fail(l, loader_line_of_key(l, obj, write_only[i], line), path,
                                   "%s applies to lines, not to rotate", write_only[i]);
        if (!kf || !kf->written)
            return loader_fail(l, loader_line_of_key(l, obj, "rotate", line), path,
                               "%s is rotated before any step wrote to it", pl->key);
        pl->rotate = true;
        pl->rotation = (enum pod_log_rotation)choice;
        snprintf(st->label, sizeof(st->label), "pod_log %s rotate %s", pl->key, rotations[choice]);
        return 0;
    }
    char sub[512];
    loader_join(sub, sizeof(sub), path, "lines");
    int lline = loader_line_of_key(l, obj, "lines", line);
    if (json_array_size(lines) == 0 || json_array_size(lines) > STEP_POD_LOG_MAX_LINES)
        return loader_fail(l, lline, sub, "expected 1 to %d lines", STEP_POD_LOG_MAX_LINES);
    pl->lines = calloc(json_array_size(lines), sizeof(*pl->lines));
    pl->owned = calloc(json_array_size(lines), sizeof(*pl->owned));
    if (!pl->lines || !pl->owned)
        return error_set(l->err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    bool numbered = loader_get_bool(obj, "numbered", false);
    for (size_t i = 0; i < json_array_size(lines); i++) {
        char isub[600];
        snprintf(isub, sizeof(isub), "%s[%zu]", sub, i);
        if ((rc = load_log_line(l, pl, json_array_get(lines, i), numbered, isub,
                                loader_line_of_index(l, lines, i, lline))) < 0)
            return rc;
    }
    const json_t *repeat = json_object_get(obj, "repeat");
    pl->repeat = 1;
    if (repeat) {
        json_int_t n = json_integer_value(repeat);
        if (n < 1 || n > POD_LOG_MAX_SEQ)
            return loader_fail(l, loader_line_of_key(l, obj, "repeat", line), path,
                               "repeat: expected 1 to %d", POD_LOG_MAX_SEQ);
        pl->repeat = (size_t)n;
    }
    if (!kf) {
        if (known->count >= POD_LOG_MAX_FILES)
            return loader_fail(l, line, path, "more than %d pod log files", POD_LOG_MAX_FILES);
        kf = &known->files[known->count++];
        snprintf(kf->key, sizeof(kf->key), "%s", pl->key);
        kf->format = pl->format;
    }
    kf->written = true;
    l->s->has_pod_logs = true;
    size_t total = pl->line_count * pl->repeat;
    snprintf(st->label, sizeof(st->label), "pod_log %s %s %zu line%s%s", pl->key,
             pod_log_format_name(pl->format), total, total == 1 ? "" : "s",
             numbered ? " numbered" : "");
    return 0;
}

/* ---- run ---- */

static int run_pod_log(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                       struct error *err)
{
    const struct step_pod_log *pl = step_pod_log_data(st);
    if (!ctx->pod_logs)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "no pod log root for this run");
    struct pod_log_file *f =
        pod_logs_file(ctx->pod_logs, pl->namespace_name, pl->pod, pl->uid, pl->container,
                      pl->restart_count, pl->format, pl->utc_offset_min, pl->split, err);
    if (!f)
        return err->code;
    if (pl->rotate) {
        char rotated[PATH_MAX];
        int rc = pod_logs_rotate(ctx->pod_logs, f, pl->rotation, (int64_t)time(NULL), rotated,
                                 sizeof(rotated), err);
        if (rc == 0)
            snprintf(detail, size, "%s %s to %s",
                     pl->rotation == POD_LOG_ROTATE_RENAME ? "renamed" : "copied and truncated",
                     f->rel, rotated);
        return rc;
    }
    /* A file's runtime settings may change between steps (a runtime restarted with another
     * line buffer); the latest step's apply to what it writes. */
    f->split = pl->split;
    f->utc_offset_min = pl->utc_offset_min;
    size_t records_before = f->records, numbered_before = f->numbered;
    size_t written = 0;
    int rc = pod_logs_write(ctx->pod_logs, f, pl->lines, pl->line_count, pl->repeat, &written, err);
    if (rc < 0)
        return rc;
    size_t numbered = f->numbered - numbered_before;
    char seqs[64] = "";
    /* One step writes one file, so its tokens are consecutive. */
    if (numbered)
        snprintf(seqs, sizeof(seqs), ", seq=%06" PRIu64 "..%06" PRIu64,
                 f->last_seq - (uint64_t)numbered + 1, f->last_seq);
    snprintf(detail, size, "%zu line%s (%zu record%s) appended to %s%s", written,
             written == 1 ? "" : "s", f->records - records_before,
             f->records - records_before == 1 ? "" : "s", f->rel, seqs);
    return 0;
}

static void free_pod_log(struct step *st)
{
    struct step_pod_log *pl = step_pod_log_data(st);
    for (size_t i = 0; i < pl->owned_count; i++)
        free(pl->owned[i]);
    free(pl->owned);
    free(pl->lines);
}

const struct step_kind_desc step_pod_log_kind = {
    .name = "pod_log",
    .data_size = sizeof(struct step_pod_log),
    .fields = pod_log_fields,
    .before_start = true,
    .while_stopped = true,
    .load = load_pod_log_step,
    .run = run_pod_log,
    .free = free_pod_log,
};
