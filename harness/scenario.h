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
 * the step lists, and hands each step's body to its kind. The per-kind structs below are what
 * those kinds fill in; they live here, in the union of struct step, so a scenario is one
 * allocation and tests can read what a step became.
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
#include "lines.h"
#include "pod_log.h"

#define SCENARIO_MAX_STEPS 64
/* before_start: the pod logs that exist when the collector starts */
#define SCENARIO_MAX_PRE_STEPS 16
#define SCENARIO_MAX_ITEMS 32      /* conditions of a wait, goldens, endpoints, env entries ... */
#define SCENARIO_MAX_LOG_LINES 256 /* items of one pod_log step's `lines` */

/* The fakes a scenario can name. */
enum fake_id { FAKE_PROMETHEUS = 0, FAKE_LOKI, FAKE_TEMPO, FAKE_COUNT };

const char *scenario_fake_name(enum fake_id fake);
/* "prometheus" -> FAKE_PROMETHEUS; -EINVAL otherwise. */
int scenario_fake_parse(const char *name, enum fake_id *out);

/* Which kind a step is, for code that must tell kinds apart (tests); everything else goes through
 * the step's descriptor (steps.h). stop and start split a restart in two, so steps can run while
 * the collector is down (lines a container writes while the DaemonSet pod restarts). */
enum step_kind {
    STEP_OTLP = 0,
    STEP_FAULT,
    STEP_WAIT,
    STEP_RESTART,
    STEP_POD_LOG,
    STEP_STOP,
    STEP_START
};

enum body_check_kind { BODY_ANY = 0, BODY_TEXT, BODY_CONTAINS, BODY_JSON, BODY_HEX, BODY_STATUS };

/* What a response body must be. BODY_STATUS decodes a google.rpc.Status from the body in the
 * response's Content-Type (protobuf or JSON), since upstream answers errors in the request's
 * encoding and protojson spacing is randomised (receivers.md §1). */
struct body_check {
    enum body_check_kind kind;
    const char *text;   /* TEXT / CONTAINS / HEX */
    const json_t *json; /* JSON */
    bool has_code;
    int code;                     /* STATUS */
    const char *message;          /* STATUS: exact */
    const char *message_contains; /* STATUS: substring */
};

struct step_otlp {
    /* A payload file (OTLP JSON) ... */
    char file[PATH_MAX];    /* resolved; "" for a raw request */
    const char *file_label; /* as the scenario wrote it */
    json_t *payload;        /* parsed payload file (owned) */
    int signal;             /* enum signal of pdata.h */
    bool json_encoding;     /* encoding: json (else proto) */
    bool gzip;
    bool timestamps_now;
    /* ... or a raw request for bad-input cases. */
    bool raw;
    const char *method;       /* default POST */
    const char *content_type; /* NULL: none sent (raw) or derived from the encoding */
    const char *content_encoding;
    const char *body_text; /* raw body: text */
    uint8_t *body_bytes;   /* raw body: decoded body_hex (owned) */
    size_t body_bytes_len;
    int64_t body_size; /* raw body: this many filler bytes (-1 = unset) */
    /* Both */
    const char *path;     /* URL path; default /v1/<signal>. gRPC: the full method name, default
                             /opentelemetry.proto.collector.<signal>.v1.<Service>/Export */
    const char *receiver; /* otlp receiver id; default: the config's first with the transport */
    int expect_status;    /* default 200 */
    struct body_check expect_body;
    const char *expect_content_type; /* media type prefix, or NULL */
    /* transport: grpc - a unary call to the receiver's gRPC endpoint, checked in gRPC terms. */
    bool grpc;
    int expect_grpc_code;            /* enum grpc_code of grpcd.h; default OK */
    const char *expect_grpc_message; /* a substring of the status message, or NULL */
};

struct step_fault {
    enum fake_id fake;
    bool clear;
    const json_t *spec; /* borrowed: sent as is to PUT /v1/faults/{fake} */
};

/* One awaited or expected count: a fake's statistic or a collector self-metric. */
struct count_check {
    bool collector; /* a collector metric, else a fake statistic */
    enum fake_id fake;
    const char *key;   /* fake statistic as the fakes name it, or a metric selector */
    const char *label; /* as the scenario wrote it ("records") */
    struct condition cond;
    int line;
};

struct step_wait {
    struct count_check conds[SCENARIO_MAX_ITEMS];
    size_t count;
    struct lines_check lines[SCENARIO_MAX_ITEMS]; /* delivery of numbered pod log lines */
    size_t lines_count;
    const char *tailing[SCENARIO_MAX_ITEMS]; /* pod log keys the collector must hold open */
    size_t tailing_count;
    int64_t timeout_ms;
};

struct step_restart {   /* restart and stop */
    int signal;         /* SIGTERM or SIGKILL */
    int64_t timeout_ms; /* for the exit */
};

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

struct step_kind_desc; /* steps.h */

/* One step: what its kind's load filled in (its file, step_<kind>.c, says what each field
 * means to it). */
struct step {
    const struct step_kind_desc *desc; /* the kind: name, load, run, free (steps.h) */
    enum step_kind kind;               /* desc->kind */
    int line;
    char label[384]; /* for progress lines: "otlp logs json", "wait loki.records>=2" */
    union {
        struct step_otlp otlp;
        struct step_fault fault;
        struct step_wait wait;
        struct step_restart restart;
        struct step_pod_log pod_log;
    };
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
    /* expect */
    const char *golden[SCENARIO_MAX_ITEMS]; /* views: "loki", "requests/loki", "otlp/tempo" */
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
