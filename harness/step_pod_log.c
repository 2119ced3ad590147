/*
 * step_pod_log.c - the pod_log step: append lines to a container's log file under the run's
 * /var/log/pods, or rotate it (pod_log.h has the formats and why they look as they do).
 *
 * The step returns as soon as the bytes are in the file: whether and when the collector reads
 * them is for a later `wait` to establish (lines delivered, or the file held open).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "steps.h"

int step_pod_log_run(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                     struct error *err)
{
    const struct step_pod_log *pl = &st->pod_log;
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
