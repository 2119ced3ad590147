/*
 * step_restart.h - what a `restart` or `stop` step holds once loaded (step_restart.c): how the
 * collector is stopped. `start` takes no options and holds nothing (its descriptor's data_size
 * is 0).
 *
 * The kinds' own struct lives here, beside them rather than in scenario.h, so that adding or
 * changing a kind touches only its own files; step_restart.c fills and reads it, and tests read
 * it through step_restart_data. It owns nothing.
 */
#ifndef HARNESS_STEP_RESTART_H
#define HARNESS_STEP_RESTART_H

#include <assert.h>
#include <stdint.h>

#include "scenario.h"

struct step_restart {   /* restart and stop */
    int signal;         /* SIGTERM or SIGKILL */
    int64_t timeout_ms; /* for the exit */
};

/* Defined last in step_restart.c. */
extern const struct step_kind_desc step_restart_kind;
extern const struct step_kind_desc step_stop_kind;

/* The data of `st`, which must be a restart or stop step (asserted). Borrowed from st, which
 * owns it. */
static inline struct step_restart *step_restart_data(const struct step *st)
{
    assert(st->desc == &step_restart_kind || st->desc == &step_stop_kind);
    return st->data;
}

#endif
