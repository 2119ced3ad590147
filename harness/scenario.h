/*
 * scenario.h - a scenario file (DESIGN.md §5) loaded, checked and resolved.
 *
 * A scenario is data, like curl's tests/data/testNNN: the collector config it runs, which fake
 * each exporter sends to, the steps (send OTLP, write pod logs, inject a fault, wait for a
 * condition, restart the collector) and what to verify. The loader rejects anything it does not
 * understand - unknown keys included - with the file, the line and what it expected:
 *
 *   scenarios/x.yaml:12: steps[2].wait: unknown condition "lokki" (expected one of: loki,
 *   prometheus, tempo, collector, timeout)
 *
 * It also opens what the scenario refers to (the collector config, payload files) so a typo in
 * a path fails at load time, not halfway through a run. When the scenario runs only some
 * pipelines of its config (`pipelines:`), the config it holds is that subset (config_subset.h)
 * and the file's own is kept beside it. Pod log files are checked in step order: a file's first
 * step names its runtime format, later steps inherit it, and waits and expectations may only
 * name files an earlier step writes.
 *
 * Each step kind is a descriptor in its own file (steps.h): scenario.c loads the top level and
 * the step lists, and hands each step's body to its kind. This header knows no kind: a struct
 * step is generic, and what a kind fills in is its own struct in its own header
 * (step_otlp.h, step_fault.h, step_wait.h, step_restart.h, step_pod_log.h), which the kind's
 * file and the tests read. Adding a step kind changes nothing here. What stays here is what
 * several kinds or `expect` share: the fakes (enum fake_id) and the counts (struct
 * count_check); the numbered-line checks (struct lines_check) are lines.h's.
 *
 * Strings in these structs are borrowed from the parsed document the scenario owns (`doc`);
 * resolved paths are copied into fixed buffers. Indices in messages are 0-based.
 */
#ifndef HARNESS_SCENARIO_H
#define HARNESS_SCENARIO_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "condition.h"
#include "error.h"
#include "k8s_scenario.h"
#include "lines.h"

#define SCENARIO_MAX_STEPS 64
/* before_start: the pod logs that exist when the collector starts */
#define SCENARIO_MAX_PRE_STEPS 16
#define SCENARIO_MAX_ITEMS 32 /* conditions of a wait, goldens, endpoints, env entries ... */

/* The fakes a scenario can name. */
enum fake_id { FAKE_PROMETHEUS = 0, FAKE_LOKI, FAKE_TEMPO, FAKE_COUNT };

const char *scenario_fake_name(enum fake_id fake);
/* "prometheus" -> FAKE_PROMETHEUS; -EINVAL otherwise. */
int scenario_fake_parse(const char *name, enum fake_id *out);

/* One awaited or expected count: a fake's statistic or a collector self-metric. Here, not in a
 * step's header, because a wait (step_wait.h) and expect (below) both hold them, and counts.h
 * measures them for both. */
struct count_check {
    bool collector; /* a collector metric, else a fake statistic */
    enum fake_id fake;
    const char *key;   /* fake statistic as the fakes name it, or a metric selector */
    const char *label; /* as the scenario wrote it ("records") */
    struct condition cond;
    int line;
};

struct step_kind_desc; /* steps.h */

/* One step. What it holds is its kind's business: `data` is the kind's own struct
 * (struct step_<kind> of step_<kind>.h, which says what each field means), desc->data_size bytes
 * that the loader allocates zeroed before the kind's load and frees after the kind's free (NULL
 * for a kind with no data, start). Nothing outside the kind's file and its tests reads it. */
struct step {
    const struct step_kind_desc *desc; /* the kind: name, data size, load, run, free (steps.h) */
    int line;
    char label[384]; /* for progress lines: "otlp logs json", "wait loki.records>=2" */
    void *data;      /* owned: the kind's struct, see above */
};

struct endpoint_map {
    const char *exporter; /* "otlphttp/loki" */
    enum fake_id fake;
    bool grpc; /* an otlp/otlp_grpc exporter: host:port of the fake's gRPC front, plaintext */
};

struct scenario {
    json_t *doc; /* the parsed scenario (owned); strings below point into it */
    struct yaml_lines *lines;
    char path[PATH_MAX]; /* as given */
    char root[PATH_MAX]; /* the repository: scenarios/.., configs/, golden/ */
    char scenarios_dir[PATH_MAX];
    const char *name;
    const char *summary;
    char config_path[PATH_MAX]; /* resolved */
    const char *config_label;
    json_t *config;         /* the config the collector runs: the file, or its subset (owned) */
    json_t *config_full;    /* the file as written, when `pipelines` runs a subset (owned) */
    json_t *left_out;       /* what the subset removed (config_subset.h), or NULL (owned) */
    const char *golden_dir; /* default: name */
    struct endpoint_map endpoints[SCENARIO_MAX_ITEMS];
    size_t endpoint_count;
    const char *env[SCENARIO_MAX_ITEMS]; /* "K=V", owned copies */
    size_t env_count;
    const char *sets[SCENARIO_MAX_ITEMS]; /* extra --set "k=v" */
    size_t set_count;
    bool loki_auth_enabled;
    bool prometheus_otlp_disabled;
    int64_t startup_timeout_ms;
    const char *finding;
    const char *evidence[SCENARIO_MAX_ITEMS]; /* "loki.requests", "collector.<selector>" */
    size_t evidence_count;
    struct step steps[SCENARIO_MAX_STEPS];
    size_t step_count;
    struct step pre_steps[SCENARIO_MAX_PRE_STEPS]; /* before_start: pod_log steps only */
    size_t pre_step_count;
    bool has_pod_logs; /* some step writes pod logs: the run needs a /var/log/pods root */
    /* `kubernetes:` and expect.kubernetes (k8s_scenario.h) */
    struct k8s_section kubernetes;
    /* expect */
    /* views: "loki", "requests/loki", "otlp/tempo"; "kubernetes-calls" when expect.kubernetes */
    const char *golden[SCENARIO_MAX_ITEMS];
    size_t golden_count;
    struct count_check expect_counts[SCENARIO_MAX_ITEMS];
    size_t expect_count;
    struct lines_check expect_lines[SCENARIO_MAX_ITEMS];
    size_t expect_lines_count;
    bool has_exit_code;
    int exit_code;
    const char *exit_message;
    const char *log_contains[SCENARIO_MAX_ITEMS];
    size_t log_contains_count;
    const char *log_absent[SCENARIO_MAX_ITEMS];
    size_t log_absent_count;
};

/* Loads and checks `path`. `root` is the repository (NULL: the parent of the scenario's folder).
 * Returns 0, or -EINVAL/-ENOENT with "file:line: path: what was expected" in err, or -ENOMEM.
 * Caller owns *out (scenario_free). */
int scenario_load(const char *path, const char *root, struct scenario **out, struct error *err);
void scenario_free(struct scenario *s);

/* The fake statistic name for a condition key ("records" -> "items"), or NULL if the key is
 * not valid for that fake. */
const char *scenario_fake_stat(enum fake_id fake, const char *key);
/* The condition keys valid for `fake`, comma-separated ("requests, ..., records, entries"),
 * for messages. */
void scenario_fake_count_keys(enum fake_id fake, char *buf, size_t size);

/* The otlp receivers of a collector config that have an http / grpc protocol, in config order:
 * fills ids (borrowed from config) and returns how many. */
size_t scenario_otlp_receivers(const json_t *config, const char **ids, bool *has_http,
                               bool *has_grpc, size_t max);

#endif
