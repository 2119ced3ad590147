/*
 * steps.h - the step kinds of a scenario (DESIGN.md §5) and running a step.
 *
 * Each step kind is one constant `struct step_kind_desc`, defined last in its own file, as the
 * collector's components (reference/service/component.h) and the fakes' backends (fakes/fakes.h)
 * are: step_otlp.c, step_pod_log.c, step_fault.c, step_wait.c, step_restart.c for restart,
 * stop and start, step_k8s.c and step_target.c. steps.c lists them in one table; the loader
 * (scenario.c) and the runner (run.c) know the kinds only through it. A kind keeps what it loads in
 * its own struct, declared in its own header (step_otlp.h ...: a struct step holds only a pointer
 * to it, scenario.h) so that its file and its tests can read it. Adding a step kind is its file,
 * its header when others need its struct, and one entry in the table in steps.c; nothing else
 * changes.
 *
 * The order of the calls, for every step of a scenario:
 *   1. scenario_load, in file order: the body is checked against `fields` (when set), the
 *      loader allocates st->data (data_size bytes, zeroed; a failure is "out of memory", an
 *      ordinary error), then `load` fills the step; a step may rely on what the steps before it
 *      loaded (the pod log files they write, l->known).
 *   2. scenario_load, once the whole file has loaded (config, steps, expect): `check` (when set)
 *      for rules against the rest of the scenario.
 *   3. run_scenario: `run`, in order, at most once.
 *   4. scenario_free: `free` (when set), for every step that was counted and whose data was
 *      allocated - including one whose load failed midway, so it must accept half-filled data
 *      (it starts zeroed); then the loader frees st->data itself.
 * A step either succeeds with a one-line detail for the report, or fails with a message that
 * says what was expected and what happened.
 */
#ifndef HARNESS_STEPS_H
#define HARNESS_STEPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "run.h"
#include "scenario.h"

struct loader; /* scenario_loader.h */
struct field;

/* What a step does to the collector, for the loader's stop/start ordering rules. */
enum step_collector_effect {
    STEP_COLLECTOR_KEPT = 0, /* running before and after (a restart ends where it began) */
    STEP_COLLECTOR_STOPS,    /* leaves it stopped: only `while_stopped` steps until a start */
    STEP_COLLECTOR_STARTS,   /* starts one that a stop left stopped */
};

struct step_kind_desc {
    const char *name; /* the step's key in a scenario: "otlp" */
    /* sizeof the kind's own struct (step_<kind>.h), which st->data points to; 0 for a kind that
     * holds nothing (start), whose st->data stays NULL. */
    size_t data_size;
    /* The keys of the step's mapping, checked before `load`. NULL when the body is not one fixed
     * mapping (fault: {fake: spec}; wait: conditions keyed by what they count; start: nothing):
     * `load` checks it. */
    const struct field *fields;
    /* `- restart:` alone (a null body) means every default: `load` gets an empty mapping. */
    bool bare;
    /* May be listed in before_start: it runs before the collector starts. */
    bool before_start;
    /* May run between a stop and a start, while the collector is down. */
    bool while_stopped;
    enum step_collector_effect collector;
    /* Fills st->data (zeroed, data_size bytes) from `body` (checked against `fields`): `path` is
     * the step's YAML path ("steps[2].otlp"), `line` where its key is. Sets st->label. Strings
     * may be borrowed from the document; what it allocates inside st->data, `free` releases.
     * Fails as scenario_loader.h says. */
    int (*load)(struct loader *l, struct step *st, const json_t *body, const char *path, int line);
    /* Optional: checks st against the whole loaded scenario (l->s). */
    int (*check)(struct loader *l, const struct step *st, const char *path);
    /* Runs the step; `detail` (may be left empty) describes what happened, for result.json. */
    int (*run)(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
               struct error *err);
    /* Optional: releases what `load` allocated inside st->data (not st->data itself, which the
     * loader frees after it); accepts half-loaded data. Called only when st->data was allocated,
     * so a kind with a `free` has a data_size. */
    void (*free)(struct step *st);
};

/* Every step kind, in the order messages list them. NULL-terminated. */
extern const struct step_kind_desc *const steps_registry[];

/* The kind named `name` ("otlp"), or NULL. */
const struct step_kind_desc *steps_find(const char *name);

/* Runs one step through its descriptor. `detail` (may be empty) describes what happened, for
 * result.json. */
int steps_run(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
              struct error *err);

/* Counts the numbered pod log lines the fake Loki holds now (lines.h), for a wait's `lines` and
 * for expect.lines. Free with lines_tally_free. */
int steps_tally_lines(struct run_ctx *ctx, struct lines_tally *out, struct error *err);

#endif
