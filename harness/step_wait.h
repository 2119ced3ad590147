/*
 * step_wait.h - what a `wait` step holds once loaded (step_wait.c): the conditions it polls and
 * its deadline.
 *
 * The kind's own struct lives here, beside its kind rather than in scenario.h, so that adding or
 * changing a kind touches only its own files; step_wait.c fills and reads it, and tests read it
 * through step_wait_data. The conditions' types are shared with `expect` and stay with their
 * owners: struct count_check in scenario.h, struct lines_check in lines.h. It owns nothing:
 * names and selectors are borrowed from the scenario's document.
 */
#ifndef HARNESS_STEP_WAIT_H
#define HARNESS_STEP_WAIT_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "lines.h"
#include "scenario.h"

/* `target: {127.0.1.5: {scrapes: 2}}`: a count of one fake scrape target (fakes/targets.h),
 * named as the control API names it (address, address:port or id). */
struct target_count {
    const char *name; /* borrowed */
    const char *stat; /* "scrapes" or "requests" (static) */
    struct condition cond;
};

struct step_wait {
    struct count_check conds[SCENARIO_MAX_ITEMS];
    size_t count;
    struct lines_check lines[SCENARIO_MAX_ITEMS]; /* delivery of numbered pod log lines */
    size_t lines_count;
    const char *tailing[SCENARIO_MAX_ITEMS]; /* pod log keys the collector must hold open */
    size_t tailing_count;
    /* pod log keys whose offset the collector's storage must hold at the file's end */
    const char *checkpointed[SCENARIO_MAX_ITEMS];
    size_t checkpointed_count;
    struct target_count targets[SCENARIO_MAX_ITEMS]; /* counts of fake scrape targets */
    size_t targets_count;
    int64_t timeout_ms;
};

extern const struct step_kind_desc step_wait_kind; /* defined last in step_wait.c */

/* The data of `st`, which must be a wait step (asserted). Borrowed from st, which owns it. */
static inline struct step_wait *step_wait_data(const struct step *st)
{
    assert(st->desc == &step_wait_kind);
    return st->data;
}

#endif
