/*
 * checks.h - the `expect` section, verified at the end of a run: counts on the fakes and the
 * collector's self-metrics, golden views, the collector's log, the finding's evidence.
 *
 * Each check is recorded in result.json whether it passes or not, and a failing check never
 * stops the others: a run reports every mismatch it can see. Counts and goldens are read
 * while the collector still runs (its metrics endpoint goes away with it); log checks after it
 * stopped, so every line it wrote on shutdown is there.
 */
#ifndef HARNESS_CHECKS_H
#define HARNESS_CHECKS_H

#include <stdbool.h>
#include <stdio.h>

#include "run.h"

/* expect.fakes and expect.collector, read until they hold or 5 s pass (self-metrics lag the
 * backends: checks.c) and judged on the last reading. */
void checks_counts(struct run_ctx *ctx, FILE *details);

/* expect.golden. With --update-golden the goldens are rewritten only when `may_update` (the
 * steps and the other checks passed): a broken run must not become the expectation. */
void checks_goldens(struct run_ctx *ctx, bool may_update, FILE *details);

/* The delivery of numbered pod log lines (lines.h): measured once from the fake Loki, written to
 * result.json ("lines"), summed up in `summary` (the terminal, after the verdict), and checked
 * against expect.lines. Nothing when the scenario writes no pod logs. */
void checks_lines(struct run_ctx *ctx, FILE *summary, FILE *details);

/* For a scenario with a `kubernetes:` section: what each identity asked the fake Kubernetes API
 * (k8s_calls.h), into result.json ("kubernetes": per identity its calls, the denied ones and the
 * grants it never used, and those counts of the `as` identity at the top), summed up in `summary`,
 * and checked against expect.kubernetes (denied, unused_grants, objects). The kubernetes-calls
 * golden is checked with the other goldens. */
void checks_kubernetes(struct run_ctx *ctx, FILE *summary, FILE *details);

/* expect.collector_log (and the message of expect.exit_code). */
void checks_collector_log(struct run_ctx *ctx, FILE *details);

/* The finding's evidence and the final counts, into result.json ("finding", "counts"). */
void checks_record_evidence(struct run_ctx *ctx);

#endif
