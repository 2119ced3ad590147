/*
 * run.h - one scenario run, start to finish: a temp dir, the fakes, the wiring, the collector,
 * the steps, the checks, the reports; and the context the steps and checks share.
 *
 * Whatever happens (a failed step, a harness error, SIGINT), every child is stopped and reaped
 * before run_scenario returns, and a result.json is written for the scenario.
 */
#ifndef HARNESS_RUN_H
#define HARNESS_RUN_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "collector.h"
#include "error.h"
#include "fakes_client.h"
#include "k8s_env.h"
#include "lines.h"
#include "mask.h"
#include "pod_log.h"
#include "scenario.h"
#include "wiring.h"

struct run_options {
    const char *scenario_path;
    const char *source_root;        /* NULL: the scenario's folder's parent */
    const char *collector_template; /* full template (main builds the default) */
    const char *fakes_binary;
    const char *report_root; /* reports/ */
    bool update_golden;
    bool keep;
    FILE *term; /* progress lines */
};

struct run_ctx {
    const struct run_options *opt;
    struct scenario *s;
    char run_dir[PATH_MAX];
    char report_dir[PATH_MAX];
    int64_t run_start_ns; /* wall clock at the start, whole milliseconds */
    int64_t started_ms;   /* monotonic */
    char hostname[256];
    struct mask_context mask;
    struct fakes_client fakes;
    bool fakes_started;
    char endpoints[FAKE_COUNT][256];
    char grpc_targets[FAKE_COUNT][256]; /* "" = the fake has no gRPC front */
    struct wiring wiring;
    struct collector collector;
    bool collector_initialised;
    /* The two cleared OTEL_RESOURCE* first, then the fake Kubernetes API's (k8s_env.h), then the
     * scenario's; NULL-terminated. */
    char *env[2 + K8S_ENV_COUNT + SCENARIO_MAX_ITEMS + 1];
    json_t *result; /* result.json under construction */
    json_t *steps;  /* borrowed from result */
    json_t *checks; /* borrowed from result */
    int step_failures;
    int check_failures;
    bool collector_exit_reported; /* a step or the startup already said the collector died */
    /* The pod log files the steps write, when the scenario has any (pod_log.h). */
    struct pod_logs *pod_logs;
    /* The fake Kubernetes API's credentials and the collector's way to it (k8s_env.h). */
    struct k8s_env kubernetes;
    /* The config the collector runs: the scenario's file, or its subset written to the report
     * folder (config_subset.h). */
    char config_run_path[PATH_MAX];
};

/* Runs one scenario file. Returns 0 when it ran to a verdict (*passed says which), or a
 * negative code when the scenario could not run at all (bad file, missing binary), in which
 * case a result with status "error" is still written and err says why. */
int run_scenario(const struct run_options *o, bool *passed, struct error *err);

/* Appends a check result to ctx->checks (status "pass", "fail", "updated", "unchanged") and
 * counts failures. `message` may be NULL. */
void run_add_check(struct run_ctx *ctx, const char *kind, const char *name, const char *status,
                   const char *message);

#endif
