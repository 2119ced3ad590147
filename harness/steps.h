/*
 * steps.h - runs the steps of a scenario (scenario.h): otlp (step_otlp.c), pod_log
 * (step_pod_log.c), fault, wait, restart, stop and start (steps.c). A step either succeeds with a
 * one-line detail for the report, or fails with a message that says what was expected and what
 * happened.
 */
#ifndef HARNESS_STEPS_H
#define HARNESS_STEPS_H

#include <stddef.h>

#include "error.h"
#include "run.h"
#include "scenario.h"

/* Runs one step. `detail` (may be empty) describes what happened, for result.json. */
int steps_run(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
              struct error *err);

int step_otlp_run(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                  struct error *err);

int step_pod_log_run(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                     struct error *err);

/* Counts the numbered pod log lines the fake Loki holds now (lines.h). Free with
 * lines_tally_free. */
int steps_tally_lines(struct run_ctx *ctx, struct lines_tally *out, struct error *err);

#endif
