/*
 * step_pod_log.h - what a `pod_log` step holds once loaded (step_pod_log.c): the container log
 * file it writes and the lines it appends, or the rotation it performs (pod_log.h).
 *
 * The kind's own struct lives here, beside its kind rather than in scenario.h, so that adding or
 * changing a kind touches only its own files; step_pod_log.c fills and reads it, and tests read
 * it through step_pod_log_data. Strings are borrowed from the scenario's document unless a field
 * says it is owned; what is owned is released by the kind's free.
 */
#ifndef HARNESS_STEP_POD_LOG_H
#define HARNESS_STEP_POD_LOG_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pod_log.h"
#include "scenario.h"

#define STEP_POD_LOG_MAX_LINES 256 /* items of one pod_log step's `lines` */

/* Appends lines to a container's log file, or rotates it (pod_log.h). */
struct step_pod_log {
    char namespace_name[64];
    char pod[128];
    const char *uid; /* NULL: derived from namespace/pod */
    const char *container;
    int restart_count;
    char key[256]; /* "namespace/pod/container[/N]": how waits and expectations name it */
    enum pod_log_format format; /* given, or inherited from the file's first step */
    int utc_offset_min;         /* crio */
    size_t split;               /* the runtime's line buffer: longer lines become fragments */
    struct pod_log_line *lines; /* owned */
    size_t line_count;
    uint8_t **owned; /* decoded hex contents, freed with the step */
    size_t owned_count;
    size_t repeat;
    bool rotate;
    enum pod_log_rotation rotation;
};

extern const struct step_kind_desc step_pod_log_kind; /* defined last in step_pod_log.c */

/* The data of `st`, which must be a pod_log step (asserted). Borrowed from st, which owns it;
 * writable, for the kind's load. */
static inline struct step_pod_log *step_pod_log_data(const struct step *st)
{
    assert(st->desc == &step_pod_log_kind);
    return st->data;
}

#endif
