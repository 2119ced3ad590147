/*
 * step_fault.h - what a `fault` step holds once loaded (step_fault.c): the fake and the fault
 * spec sent to it, or that its fault is cleared.
 *
 * The kind's own struct lives here, beside its kind rather than in scenario.h, so that adding or
 * changing a kind touches only its own files; step_fault.c fills and reads it, and tests read it
 * through step_fault_data. It owns nothing: the spec is borrowed from the scenario's document.
 */
#ifndef HARNESS_STEP_FAULT_H
#define HARNESS_STEP_FAULT_H

#include <assert.h>
#include <jansson.h>
#include <stdbool.h>

#include "scenario.h"

struct step_fault {
    enum fake_id fake;
    bool clear;
    const json_t *spec; /* borrowed: sent as is to PUT /v1/faults/{fake} */
};

extern const struct step_kind_desc step_fault_kind; /* defined last in step_fault.c */

struct loader;
/* Checks a fault spec as the fakes' fault injector takes it (fakes/fault.h): its keys and types,
 * status 200-599, times >= 1, and that it does something; `line` and `path` locate it in
 * messages. For the `target` step too, whose faults are the same (step_target.c). */
int step_fault_check_spec(struct loader *l, const json_t *spec, int line, const char *path);

/* The data of `st`, which must be a fault step (asserted). Borrowed from st, which owns it. */
static inline struct step_fault *step_fault_data(const struct step *st)
{
    assert(st->desc == &step_fault_kind);
    return st->data;
}

#endif
