/*
 * step_target.h - what a `target` step holds once loaded (step_target.c): a fake scrape target to
 * serve (its address, path and the bodies read from the scenario's files), or what to do to one
 * already served (set or clear its fault, stop it).
 *
 * The bodies are read at load time, so a missing or oversized file fails with the scenario's
 * file and line; the step owns them. Everything else is borrowed from the scenario's document.
 */
#ifndef HARNESS_STEP_TARGET_H
#define HARNESS_STEP_TARGET_H

#include <assert.h>
#include <jansson.h>
#include <stddef.h>

#include "scenario.h"

#define STEP_TARGET_MAX_BODIES 16
/* The control API keeps 1 MiB of a request; the bodies travel inside one JSON request. */
#define STEP_TARGET_MAX_BODY_BYTES (512u * 1024)

enum step_target_action {
    STEP_TARGET_SERVE = 0,   /* body/bodies given: start it (with `fault` when given) */
    STEP_TARGET_FAULT,       /* fault: {...} alone: set the fault of a served target */
    STEP_TARGET_CLEAR_FAULT, /* fault: clear */
    STEP_TARGET_STOP,        /* stop: true: later scrapes are refused */
};

struct step_target {
    enum step_target_action action;
    const char *address;      /* borrowed */
    long port;                /* 0 = any free port */
    const char *path;         /* borrowed; NULL = the fakes' default /metrics */
    const char *content_type; /* borrowed; NULL = the fakes' default (text format 0.0.4) */
    char *bodies[STEP_TARGET_MAX_BODIES]; /* owned, NUL-terminated file contents */
    size_t body_lens[STEP_TARGET_MAX_BODIES];
    size_t body_count;
    const json_t *fault; /* borrowed: sent as is (fakes/fault.h) */
};

extern const struct step_kind_desc step_target_kind; /* defined last in step_target.c */

/* The data of `st`, which must be a target step (asserted). Borrowed from st, which owns it. */
static inline struct step_target *step_target_data(const struct step *st)
{
    assert(st->desc == &step_target_kind);
    return st->data;
}

#endif
