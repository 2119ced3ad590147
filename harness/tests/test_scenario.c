/*
 * test_scenario.c - the scenario loader: what a valid file becomes, and the message (file:line:
 * path: what was expected) for each kind of mistake. The error cases are a table, readable as
 * the specification of the loader's messages.
 */
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pdata.h"
#include "report.h"
#include "scenario.h"
#include "step_fault.h"
#include "step_target.h"
#include "step_k8s.h"
#include "step_otlp.h"
#include "step_pod_log.h"
#include "step_restart.h"
#include "step_wait.h"
#include "steps.h"

static char root[PATH_MAX];

static void write_file(const char *rel, const char *text)
{
    char path[PATH_MAX + 256];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char config_yaml[] =
    "receivers:\n"
    "  otlp:\n"
    "    protocols:\n"
    "      http:\n"
    "        endpoint: 0.0.0.0:4318\n"
    "processors:\n"
    "  batch: {}\n"
    "exporters:\n"
    "  otlphttp/loki:\n"
    "    endpoint: http://loki:3100/otlp\n"
    "  debug: {}\n"
    "service:\n"
    "  pipelines:\n"
    "    logs: {receivers: [otlp], processors: [batch], exporters: [otlphttp/loki, debug]}\n";

/* The team's shape: OTLP over gRPC in, Tempo over gRPC out (SEED-CONFIG.md). */
static const char grpc_config_yaml[] =
    "receivers:\n"
    "  otlp:\n"
    "    protocols:\n"
    "      grpc:\n"
    "        endpoint: 0.0.0.0:4317\n"
    "exporters:\n"
    "  otlp/tempo:\n"
    "    endpoint: tempo:4317\n"
    "    tls: {insecure: true}\n"
    "  otlphttp/loki:\n"
    "    endpoint: http://loki:3100/otlp\n"
    "service:\n"
    "  pipelines:\n"
    "    traces: {receivers: [otlp], exporters: [otlp/tempo]}\n"
    "    logs: {receivers: [otlp], exporters: [otlphttp/loki]}\n";

static const char logs_json[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "{\"stringValue\":\"web\"}}]},\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":"
    "\"1764000000000000000\",\"body\":{\"stringValue\":\"hello\"}}]}]}]}\n";

static const char rbac_yaml[] =
    "apiVersion: rbac.authorization.k8s.io/v1\n"
    "kind: ClusterRole\n"
    "metadata: {name: otel-collector-collector}\n"
    "rules: [{apiGroups: [\"\"], resources: [pods], verbs: [list, watch]}]\n";

static const char objects_yaml[] = "apiVersion: v1\n"
                                   "kind: Pod\n"
                                   "metadata: {name: web, namespace: default}\n"
                                   "---\n"
                                   "apiVersion: apps/v1\n"
                                   "kind: ReplicaSet\n"
                                   "metadata: {name: web-1, namespace: default}\n";

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/test_scenario_XXXXXX");
    if (!mkdtemp(root))
        return -1;
    char path[PATH_MAX + 64];
    const char *dirs[] = {"scenarios", "scenarios/inputs", "scenarios/inputs/k8s", "configs",
                          "kind",      "kind/manifests"};
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
        mkdir(path, 0755);
    }
    write_file("configs/c.yaml", config_yaml);
    write_file("configs/g.yaml", grpc_config_yaml);
    write_file("scenarios/inputs/logs.json", logs_json);
    write_file("scenarios/inputs/app.prom", "# TYPE up gauge\nup 1\n");
    write_file("kind/manifests/rbac-seed.yaml", rbac_yaml);
    write_file("kind/manifests/rbac.yaml", rbac_yaml);
    write_file("scenarios/inputs/k8s/objects.yaml", objects_yaml);
    write_file("scenarios/inputs/k8s/no-kind.yaml",
               "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n# no kind\napiVersion: v1\n"
               "metadata: {name: b}\n");
    write_file("scenarios/inputs/k8s/no-name.yaml",
               "apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Pod, metadata: "
               "{namespace: default}}\n");
    write_file("scenarios/inputs/k8s/empty.yaml", "# nothing\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    report_remove_tree(root);
    return 0;
}

/* Writes scenarios/case.yaml and loads it. */
static int load_case(const char *yaml, struct scenario **s, struct error *err)
{
    write_file("scenarios/case.yaml", yaml);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/scenarios/case.yaml", root);
    return scenario_load(path, NULL, s, err);
}

#define HEAD                                                                                       \
    "name: case\nsummary: a test\nconfig: configs/c.yaml\nendpoints: {otlphttp/loki: loki}\n"

static void test_valid_scenario_is_resolved(void **state)
{
    (void)state;
    struct scenario *s = NULL;
    struct error err = {0};
    int rc = load_case(
        HEAD "env: {K8S_NODE_NAME: node-1}\n"
             "steps:\n"
             "  - otlp: {file: inputs/logs.json, encoding: json, gzip: true, timestamps: now}\n"
             "  - fault: {loki: {status: 503, retry_after: 1, times: 2}}\n"
             "  - wait: {loki: {records: 1}, collector: {otelcol_exporter_sent_log_records: 1}, "
             "timeout: 5s}\n"
             "  - restart: {signal: KILL}\n"
             "  - otlp: {raw: {method: GET, path: /v1/logs}, expect_status: 405,\n"
             "           expect_body: \"405 method not allowed, supported: [POST]\"}\n"
             "expect:\n"
             "  golden: [loki, requests/loki]\n"
             "  fakes: {loki: {records: 1, requests: \">= 1\"}}\n"
             "  collector: {'otelcol_exporter_sent_log_records{exporter=\"otlphttp/loki\"}': 1}\n",
        &s, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(s->name, "case");
    assert_int_equal(s->endpoint_count, 1);
    assert_int_equal(s->endpoints[0].fake, FAKE_LOKI);
    assert_int_equal(s->step_count, 5);
    assert_string_equal(s->steps[0].desc->name, "otlp");
    const struct step_otlp *o = step_otlp_data(&s->steps[0]);
    assert_int_equal(o->signal, SIGNAL_LOGS);
    assert_true(o->json_encoding);
    assert_true(o->gzip);
    assert_true(o->timestamps_now);
    assert_string_equal(o->content_type, "application/json");
    assert_int_equal(step_fault_data(&s->steps[1])->fake, FAKE_LOKI);
    const struct step_wait *w = step_wait_data(&s->steps[2]);
    assert_int_equal(w->count, 2);
    assert_int_equal(w->conds[0].cond.op, COND_GE); /* "at least" in a wait */
    assert_int_equal(w->timeout_ms, 5000);
    assert_int_equal(step_restart_data(&s->steps[3])->signal, SIGKILL);
    o = step_otlp_data(&s->steps[4]);
    assert_true(o->raw);
    assert_int_equal(o->expect_status, 405);
    assert_int_equal(s->golden_count, 2);
    assert_int_equal(s->expect_count, 3);
    assert_int_equal(s->expect_counts[0].cond.op, COND_EQ); /* "exactly" in expect */
    assert_int_equal(s->expect_counts[2].cond.op, COND_GE); /* collector first, then fakes */
    assert_string_equal(s->env[0], "K8S_NODE_NAME=node-1");
    assert_string_equal(s->golden_dir, "case");
    scenario_free(s);
}

#define HEAD_GRPC                                                                                  \
    "name: case\nsummary: a test\nconfig: configs/g.yaml\n"                                        \
    "endpoints: {otlp/tempo: tempo, otlphttp/loki: loki}\n"

static void test_valid_grpc_scenario_is_resolved(void **state)
{
    (void)state;
    struct scenario *s = NULL;
    struct error err = {0};
    int rc = load_case(
        HEAD_GRPC "steps:\n"
                  "  - fault: {tempo: {grpc_status: UNAVAILABLE, times: 2}}\n"
                  "  - otlp: {transport: grpc, file: inputs/logs.json, gzip: true}\n"
                  "  - otlp: {transport: grpc, raw: {path: /x.Y/Z, body_hex: \"ff\"},\n"
                  "           expect_grpc_status: UNIMPLEMENTED, expect_grpc_message: unknown}\n"
                  "  - otlp: {transport: grpc, signal: logs, raw: {body_size: 10},\n"
                  "           expect_grpc_status: 13}\n"
                  "expect: {golden: [tempo]}\n",
        &s, &err);
    if (rc != 0)
        fail_msg("%s", err.message);
    assert_int_equal(s->endpoint_count, 2);
    for (size_t i = 0; i < s->endpoint_count; i++)
        assert_int_equal(s->endpoints[i].grpc, s->endpoints[i].fake == FAKE_TEMPO);
    const struct step_otlp *o = step_otlp_data(&s->steps[1]);
    assert_true(o->grpc);
    assert_true(o->gzip);
    assert_string_equal(o->path, "/opentelemetry.proto.collector.logs.v1.LogsService/Export");
    assert_int_equal(o->expect_grpc_code, 0); /* OK unless stated */
    assert_null(o->expect_grpc_message);
    o = step_otlp_data(&s->steps[2]);
    assert_true(o->grpc && o->raw);
    assert_string_equal(o->path, "/x.Y/Z");
    assert_int_equal(o->expect_grpc_code, 12);
    assert_string_equal(o->expect_grpc_message, "unknown");
    o = step_otlp_data(&s->steps[3]);
    assert_string_equal(o->path, "/opentelemetry.proto.collector.logs.v1.LogsService/Export");
    assert_int_equal(o->expect_grpc_code, 13);
    assert_string_equal(s->steps[3].label,
                        "otlp grpc raw /opentelemetry.proto.collector.logs.v1.LogsService/Export");
    scenario_free(s);
}

static const struct {
    const char *what;
    const char *yaml;
    const char *message; /* a substring of the error, from the file name on */
} error_cases[] = {
    {"unknown wait condition",
     HEAD "steps:\n  - otlp: {file: inputs/logs.json}\n  - wait: {lokki: {records: 2}}\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:7: steps[1].wait: unknown condition \"lokki\" (expected one of: prometheus, loki, "
     "tempo, collector, lines, tailing, checkpointed, target, timeout)"},
    {"unknown top-level key", HEAD "stesp: []\nexpect: {golden: [loki]}\n",
     "case.yaml:5: unknown key \"stesp\" (expected one of: name, summary, config,"},
    {"missing required key",
     "name: case\nconfig: configs/c.yaml\nendpoints: {otlphttp/loki: loki}\nexpect: {golden: "
     "[loki]}\n",
     "case.yaml:1: missing required key \"summary\""},
    {"name differs from the file",
     "name: other\nsummary: s\nconfig: configs/c.yaml\nendpoints: {otlphttp/loki: loki}\n"
     "expect: {golden: [loki]}\n",
     "case.yaml:1: name: \"other\" does not match the file name (expected \"case\")"},
    {"config file missing",
     "name: case\nsummary: s\nconfig: configs/nope.yaml\nexpect: {golden: [loki]}\n",
     "case.yaml:3: config: cannot read"},
    {"exporter without an endpoint",
     "name: case\nsummary: s\nconfig: configs/c.yaml\nexpect: {golden: [loki]}\n",
     "endpoints: exporter \"otlphttp/loki\" of configs/c.yaml has no entry"},
    {"endpoint names an exporter the config lacks",
     "name: case\nsummary: s\nconfig: configs/c.yaml\nendpoints:\n  otlphttp/loki: loki\n"
     "  otlphttp/lokki: loki\nexpect: {golden: [loki]}\n",
     "case.yaml:6: endpoints.otlphttp/lokki: configs/c.yaml has no exporter \"otlphttp/lokki\""},
    {"unknown step", HEAD "steps:\n  - sleep: 1s\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0]: unknown step \"sleep\" (expected one of: otlp, fault, wait, restart, "
     "stop, start, pod_log, k8s, target; there is no sleep: wait for a condition)"},
    {"wrong type in a step",
     HEAD "steps:\n  - otlp: {file: inputs/logs.json, gzip: \"yes\"}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].otlp.gzip: expected true or false, got a string"},
    {"unknown key in a step",
     HEAD "steps:\n  - otlp:\n      file: inputs/logs.json\n      gzipp: true\nexpect: {golden: "
          "[loki]}\n",
     "case.yaml:8: steps[0].otlp: unknown key \"gzipp\""},
    {"payload file missing",
     HEAD "steps:\n  - otlp: {file: inputs/nope.json}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].otlp.file: cannot read"},
    {"signal contradicts the payload",
     HEAD "steps:\n  - otlp: {file: inputs/logs.json, signal: traces}\nexpect: {golden: [loki]}\n",
     "steps[0].otlp: signal traces does not match inputs/logs.json, which holds logs"},
    {"file and raw together",
     HEAD
     "steps:\n  - otlp: {file: inputs/logs.json, raw: {method: GET}}\nexpect: {golden: [loki]}\n",
     "steps[0].otlp: expected exactly one of file (a payload) or raw"},
    {"unknown count of a fake",
     HEAD "steps:\n  - wait: {loki: {recs: 2}}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].wait.loki: unknown count \"recs\" for loki (expected one of: "
     "requests,"},
    {"bad condition",
     HEAD "steps:\n  - wait: {loki: {records: \"about 2\"}}\nexpect: {golden: [loki]}\n",
     "steps[0].wait.loki.records: expected a number or a comparison such as \">= 3\""},
    {"bad duration",
     HEAD "steps:\n  - wait: {loki: {records: 2}, timeout: 10}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].wait.timeout: expected a positive duration such as \"10s\""},
    {"bad metric selector",
     HEAD
     "steps:\n  - wait: {collector: {'otelcol_x{exporter=loki}': 1}}\nexpect: {golden: [loki]}\n",
     "steps[0].wait.collector.otelcol_x{exporter=loki}: expected a metric name with optional "
     "labels"},
    {"unknown golden view", HEAD "expect:\n  golden: [loki, lokki]\n",
     "case.yaml:6: expect.golden[1]: unknown view \"lokki\""},
    {"nothing to verify", HEAD "expect: {}\n", "case.yaml:5: expect: nothing to verify"},
    {"fault that does nothing",
     HEAD "steps:\n  - fault: {loki: {times: 2}}\nexpect: {golden: [loki]}\n",
     "steps[0].fault.loki: a fault needs status, reset, stall or latency_ms"},
    {"exit_code with steps",
     HEAD "steps:\n  - wait: {loki: {records: 1}}\nexpect: {exit_code: 1}\n",
     "steps: a scenario that expects the collector to exit (exit_code) has no steps"},
    {"grpc transport without a grpc receiver",
     HEAD "steps:\n  - otlp: {file: inputs/logs.json, transport: grpc}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].otlp: configs/c.yaml has no otlp receiver with protocols.grpc"},
    {"json over grpc",
     HEAD_GRPC "steps:\n  - otlp: {file: inputs/logs.json, transport: grpc, encoding: json}\n"
               "expect: {golden: [loki]}\n",
     "steps[0].otlp: OTLP over gRPC carries protobuf only"},
    {"an HTTP check on a gRPC call",
     HEAD_GRPC "steps:\n  - otlp: {file: inputs/logs.json, transport: grpc, expect_status: 503}\n"
               "expect: {golden: [loki]}\n",
     "steps[0].otlp: expect_status is an HTTP check; a gRPC call is checked with "
     "expect_grpc_status"},
    {"a gRPC check on an HTTP request",
     HEAD "steps:\n  - otlp: {file: inputs/logs.json, expect_grpc_status: UNAVAILABLE}\n"
          "expect: {golden: [loki]}\n",
     "steps[0].otlp: expect_grpc_status needs transport: grpc"},
    {"unknown gRPC status",
     HEAD_GRPC "steps:\n  - otlp: {file: inputs/logs.json, transport: grpc,\n"
               "           expect_grpc_status: Unavailable}\nexpect: {golden: [loki]}\n",
     "steps[0].otlp: expect_grpc_status: expected a gRPC status name (OK, CANCELLED"},
    {"HTTP parts in a raw gRPC call",
     HEAD_GRPC "steps:\n  - otlp: {transport: grpc, signal: logs,\n"
               "           raw: {content_type: application/grpc, body: x}}\n"
               "expect: {golden: [loki]}\n",
     "steps[0].otlp: raw.content_type has no meaning for a gRPC call"},
    {"gRPC exporter pointed at a fake without gRPC",
     "name: case\nsummary: s\nconfig: configs/g.yaml\n"
     "endpoints: {otlp/tempo: loki, otlphttp/loki: loki}\nexpect: {golden: [loki]}\n",
     "case.yaml:4: endpoints.otlp/tempo: loki has no OTLP/gRPC endpoint (only tempo has one)"},
    {"raw options outside raw",
     HEAD "steps:\n  - otlp: {raw: {method: GET, path: /v1/logs}, gzip: true}\nexpect: {golden: "
          "[loki]}\n",
     "steps[0].otlp: gzip applies to file payloads"},
    {"evidence that is not a count",
     HEAD "finding: {text: t, evidence: [loki.nothing]}\nexpect: {golden: [loki]}\n",
     "case.yaml:5: finding.evidence[0]: unknown count \"loki.nothing\""},
    {"YAML syntax error", HEAD "steps: [\n", "case.yaml:"},
    {"pod log without a format",
     HEAD "steps:\n  - pod_log: {pod: default/web, container: nginx, lines: [a]}\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].pod_log: format: required on the first step that writes "
     "default/web/nginx"},
    {"pod without a namespace",
     HEAD "steps:\n  - pod_log: {pod: web, container: nginx, format: docker, lines: [a]}\n"
          "expect: {golden: [loki]}\n",
     "steps[0].pod_log: pod: expected namespace/name, e.g. default/web-7d4b9c-x2x7k"},
    {"another format for the same file",
     HEAD "steps:\n  - pod_log: {pod: default/web, container: nginx, format: docker, lines: [a]}\n"
          "  - pod_log: {pod: default/web, container: nginx, format: crio, lines: [b]}\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:7: steps[1].pod_log: default/web/nginx was written in docker format by an "
     "earlier step"},
    {"lines and rotate together",
     HEAD "steps:\n  - pod_log: {pod: default/web, container: nginx, format: docker, lines: [a],\n"
          "             rotate: rename}\nexpect: {golden: [loki]}\n",
     "steps[0].pod_log: expected either lines (to write) or rotate"},
    {"rotation of a file never written",
     HEAD "steps:\n  - pod_log: {pod: default/web, container: nginx, format: docker, rotate: "
          "rename}\nexpect: {golden: [loki]}\n",
     "steps[0].pod_log: default/web/nginx is rotated before any step wrote to it"},
    {"a raw line with a stream",
     HEAD "steps:\n  - pod_log: {pod: default/web, container: nginx, format: docker,\n"
          "             lines: [{raw: x, stream: stderr}]}\nexpect: {golden: [loki]}\n",
     "steps[0].pod_log.lines[0]: a raw line is written as it is"},
    {"utc_offset on containerd",
     HEAD "steps:\n  - pod_log: {pod: default/web, container: nginx, format: containerd,\n"
          "             utc_offset: \"+02:00\", lines: [a]}\nexpect: {golden: [loki]}\n",
     "steps[0].pod_log: utc_offset applies to crio"},
    {"lines of a file no step wrote",
     HEAD "steps:\n  - pod_log: {pod: default/web, container: nginx, format: docker, lines: [a]}\n"
          "  - wait: {lines: {files: {default/api/app: {delivered: all}}}}\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:7: steps[1].wait.lines.files: no pod_log step before this one writes "
     "\"default/api/app\""},
    {"unknown lines count",
     HEAD "steps:\n  - pod_log: {pod: default/web, container: nginx, format: docker, lines: [a]}\n"
          "expect: {lines: {gone: 0}}\n",
     "expect.lines: unknown count \"gone\" (expected written, delivered, lost, duplicated or "
     "files)"},
    {"all on a count other than delivered",
     HEAD "steps:\n  - pod_log: {pod: default/web, container: nginx, format: docker, lines: [a]}\n"
          "expect: {lines: {lost: all}}\n",
     "expect.lines: \"all\" applies to delivered"},
    {"tailing a file no step wrote",
     HEAD "steps:\n  - wait: {tailing: [default/web/nginx]}\nexpect: {golden: [loki]}\n",
     "steps[0].wait.tailing[0]: no pod_log step before this one writes \"default/web/nginx\""},
    {"checkpointed a file no step wrote",
     HEAD "steps:\n  - wait: {checkpointed: [default/web/nginx]}\nexpect: {golden: [loki]}\n",
     "steps[0].wait.checkpointed[0]: no pod_log step before this one writes "
     "\"default/web/nginx\""},
    {"before_start with another step",
     HEAD "before_start:\n  - wait: {loki: {records: 1}}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: before_start[0]: before_start holds pod_log steps only"},
    {"a wait while the collector is stopped",
     HEAD "steps:\n  - stop: {signal: KILL}\n  - wait: {loki: {records: 1}}\n  - start:\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:7: steps[1]: the collector is stopped here: only pod_log, k8s and target steps "
     "can run until start"},
    {"stopped at the end", HEAD "steps:\n  - stop:\nexpect: {golden: [loki]}\n",
     "steps: the collector is stopped at the end: add a start step"},
    {"start without stop", HEAD "steps:\n  - start:\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0]: start needs a stop before it"},
    {"a subset that is not one",
     HEAD "pipelines: {logs: {receivers: [otlp], processors: [memory_limiter], exporters: "
          "[otlphttp/loki]}}\nexpect: {golden: [loki]}\n",
     "case.yaml:5: pipelines.logs.processors: \"memory_limiter\" is not in the config's logs "
     "pipeline (processors: [batch]); a subset can only leave components out (config "
     "configs/c.yaml)"},
    /* the kubernetes: section, expect.kubernetes and the k8s step */
    {"unknown key in the kubernetes section",
     HEAD "kubernetes: {asa: x}\nexpect: {golden: [loki]}\n",
     "case.yaml:5: kubernetes: unknown key \"asa\" (expected one of: objects, as, rbac)"},
    {"a manifest that does not exist",
     HEAD "kubernetes:\n  objects: [inputs/k8s/nope.yaml]\nexpect: {golden: [loki]}\n",
     "case.yaml:6: kubernetes.objects[0]: cannot read"},
    {"a manifest object without a kind",
     HEAD "kubernetes: {objects: [inputs/k8s/no-kind.yaml]}\nexpect: {golden: [loki]}\n",
     "case.yaml:5: kubernetes.objects[0]: inputs/k8s/no-kind.yaml:6: document 2: no kind (every "
     "object needs apiVersion, kind and metadata.name)"},
    {"a List item without a name",
     HEAD "kubernetes: {objects: [inputs/k8s/no-name.yaml]}\nexpect: {golden: [loki]}\n",
     "kubernetes.objects[0]: inputs/k8s/no-name.yaml:4: document 1 item 0 (Pod): no "
     "metadata.name"},
    {"a manifest with no object",
     HEAD "kubernetes: {objects: [inputs/k8s/empty.yaml]}\nexpect: {golden: [loki]}\n",
     "kubernetes.objects[0]: inputs/k8s/empty.yaml holds no object"},
    {"an RBAC manifest that does not exist",
     HEAD "kubernetes: {rbac: kind/manifests/rbac-fixed.yaml}\nexpect: {golden: [loki]}\n",
     "case.yaml:5: kubernetes.rbac: cannot read"},
    {"as without a namespace", HEAD "kubernetes: {as: otel-collector}\nexpect: {golden: [loki]}\n",
     "case.yaml:5: kubernetes.as: expected a service account namespace/name"},
    {"as that is a user, not a service account",
     HEAD "kubernetes: {as: \"system:serviceaccount:a:b\"}\nexpect: {golden: [loki]}\n",
     "kubernetes.as: expected a service account namespace/name (the collector's token"},
    {"env that the harness sets",
     HEAD "env: {KUBECONFIG: /x}\nkubernetes: {}\nexpect: {golden: [loki]}\n",
     "case.yaml:5: env.KUBECONFIG: set by the harness for the fake Kubernetes API"},
    {"expect.kubernetes without the section", HEAD "expect:\n  kubernetes: {denied: 0}\n",
     "case.yaml:6: expect.kubernetes: needs a kubernetes: section"},
    {"the calls golden written out", HEAD "kubernetes: {}\nexpect:\n  golden: [kubernetes-calls]\n",
     "case.yaml:7: expect.golden[0]: kubernetes-calls is implied by expect.kubernetes"},
    {"an unknown expect.kubernetes key", HEAD "kubernetes: {}\nexpect:\n  kubernetes: {deny: 0}\n",
     "case.yaml:7: expect.kubernetes: unknown key \"deny\" (expected one of: denied, "
     "unused_grants, objects)"},
    {"a denied count of an identity that is none",
     HEAD "kubernetes: {}\nexpect:\n  kubernetes:\n    denied: {otel: 0}\n",
     "case.yaml:8: expect.kubernetes.denied.otel: expected a service account namespace/name"},
    {"a bad denied count", HEAD "kubernetes: {}\nexpect:\n  kubernetes: {denied: some}\n",
     "expect.kubernetes.denied: expected a number or a comparison"},
    {"an object type that is a kind",
     HEAD "kubernetes: {}\nexpect:\n  kubernetes:\n    objects: {Pod: 1}\n",
     "case.yaml:8: expect.kubernetes.objects: \"Pod\": expected a resource type as the API names "
     "it"},
    {"kubernetes with exit_code", HEAD "kubernetes: {}\nexpect: {exit_code: 1, kubernetes: {}}\n",
     "expect: kubernetes cannot be checked when the collector is expected to exit"},
    {"kubernetes evidence without the section",
     HEAD "finding: {text: t, evidence: [kubernetes.denied]}\nexpect: {golden: [loki]}\n",
     "case.yaml:5: finding.evidence[0]: kubernetes.denied needs a kubernetes: section"},
    {"unknown kubernetes evidence",
     HEAD "kubernetes: {}\nfinding: {text: t, evidence: [kubernetes.refused]}\n"
          "expect: {golden: [loki]}\n",
     "finding.evidence[0]: unknown count \"kubernetes.refused\" (kubernetes.calls, "
     "kubernetes.denied or kubernetes.unused_grants"},
    {"a k8s step with an unknown action",
     HEAD "steps:\n  - k8s: {aply: inputs/k8s/objects.yaml}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].k8s: unknown action \"aply\" (expected one of: apply, delete, patch, "
     "relabel, call, phase, fault)"},
    {"a k8s phase that is no phase",
     HEAD "steps:\n  - k8s: {phase: {pod: shop/checkout, phase: Done}}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].k8s.phase: phase: expected Pending, Running, Succeeded or Failed, got "
     "\"Done\""},
    {"a k8s fault that does nothing",
     HEAD "steps:\n  - k8s: {fault: {times: 2}}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].k8s.fault: a fault needs status, cut_watches, reset or latency_ms"},
    {"a k8s fault with a success status",
     HEAD "steps:\n  - k8s: {fault: {status: 200}}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].k8s.fault: status: expected an error status, 400-599"},
    {"a k8s step with two actions",
     HEAD "steps:\n  - k8s: {apply: inputs/k8s/objects.yaml, delete: {file: "
          "inputs/k8s/objects.yaml}}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].k8s: expected one action (apply, delete, patch, relabel, call, phase, "
     "fault)"},
    {"apply of a manifest without kinds",
     HEAD "steps:\n  - k8s:\n      apply: [inputs/k8s/objects.yaml, inputs/k8s/no-kind.yaml]\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:7: steps[0].k8s.apply[1]: inputs/k8s/no-kind.yaml:6: document 2: no kind"},
    {"apply of an inline object without a name",
     HEAD "steps:\n  - k8s: {apply: {apiVersion: v1, kind: Pod}}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].k8s.apply: no metadata.name (an inline object needs apiVersion, kind "
     "and metadata.name)"},
    {"delete without a name",
     HEAD "steps:\n  - k8s: {delete: {kind: Pod, namespace: default}}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].k8s.delete: missing required key \"name\""},
    {"delete of a file that does not exist",
     HEAD "steps:\n  - k8s: {delete: [{file: inputs/k8s/nope.yaml}]}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].k8s.delete[0]: cannot read"},
    {"patch without merge",
     HEAD "steps:\n  - k8s: {patch: {kind: Pod, name: web}}\nexpect: {golden: [loki]}\n",
     "steps[0].k8s.patch: missing required key \"merge\""},
    {"relabel of a pod without a namespace",
     HEAD "steps:\n  - k8s: {relabel: {pod: web, labels: {a: b}}}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].k8s.relabel: pod: expected namespace/name"},
    {"relabel to a label that is not a string",
     HEAD "steps:\n  - k8s: {relabel: {pod: default/web, labels: {replicas: 3}}}\n"
          "expect: {golden: [loki]}\n",
     "steps[0].k8s.relabel: labels.replicas: expected a string (to set) or null (to remove), got "
     "an integer"},
    {"a call without an identity",
     HEAD "steps:\n  - k8s: {call: {verb: list, resource: pods}}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].k8s.call: as: required when the scenario has no kubernetes: section"},
    {"a call with a verb it cannot make",
     HEAD "kubernetes: {}\nsteps:\n  - k8s: {call: {verb: watch, resource: pods}}\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:7: steps[0].k8s.call.verb: unknown value \"watch\" (expected one of: get, list)"},
    {"a get without a name",
     HEAD "kubernetes: {}\nsteps:\n  - k8s: {call: {verb: get, resource: pods}}\n"
          "expect: {golden: [loki]}\n",
     "steps[0].k8s.call: get needs the object's name"},
    {"a call of a kind, not a resource",
     HEAD "kubernetes: {}\nsteps:\n  - k8s: {call: {verb: list, resource: ReplicaSet}}\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:7: steps[0].k8s.call: resource: expected a resource as kubectl names it"},
    {"items expected of a get",
     HEAD "kubernetes: {}\nsteps:\n  - k8s: {call: {verb: get, resource: pods, name: a, "
          "expect_items: 1}}\nexpect: {golden: [loki]}\n",
     "steps[0].k8s.call: expect_items: a count (0 or more) of what a list answers"},
    {"target without an address",
     HEAD "steps:\n  - target: {body: inputs/app.prom}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].target: missing required key \"address\""},
    {"target on an address that is not loopback",
     HEAD "steps:\n  - target:\n      address: 10.0.0.5\n      body: inputs/app.prom\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:7: steps[0].target.address: expected a loopback address such as 127.0.1.5, got "
     "\"10.0.0.5\""},
    {"target body file missing",
     HEAD "steps:\n  - target: {address: 127.0.1.5, body: inputs/nope.prom}\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].target.body: cannot read"},
    {"target bodies item missing",
     HEAD "steps:\n  - target:\n      address: 127.0.1.5\n      bodies:\n        - "
          "inputs/app.prom\n        - inputs/nope.prom\nexpect: {golden: [loki]}\n",
     "case.yaml:10: steps[0].target.bodies[1]: cannot read"},
    {"target with body and bodies",
     HEAD "steps:\n  - target: {address: 127.0.1.5, body: inputs/app.prom, bodies: "
          "[inputs/app.prom]}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].target: expected body (one file) or bodies (a list), not both"},
    {"target with a fault that does nothing",
     HEAD "steps:\n  - target: {address: 127.0.1.5, fault: {times: 2}}\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].target.fault: a fault needs status, reset, stall or latency_ms"},
    {"target stop with a body",
     HEAD "steps:\n  - target: {address: 127.0.1.5, body: inputs/app.prom, stop: true}\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].target: stop: true stands alone"},
    {"target that does nothing",
     HEAD "steps:\n  - target: {address: 127.0.1.5}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].target: nothing to do: expected body or bodies (serve), fault, or "
     "stop: true"},
    {"wait on an unknown count of a target",
     HEAD "steps:\n  - wait:\n      target:\n        127.0.1.5: {scrape: 2}\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:8: steps[0].wait.target.127.0.1.5: unknown count \"scrape\" for a target (expected "
     "one of: scrapes, requests)"},
    {"wait on a target without counts",
     HEAD "steps:\n  - wait: {target: {127.0.1.5: 2}}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].wait.target.127.0.1.5: expected counts such as {scrapes: 2}, got an "
     "integer"},
    {"target path without a slash",
     HEAD "steps:\n  - target: {address: 127.0.1.5, path: metrics, body: inputs/app.prom}\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].target.path: expected a path starting with /"},
};

/* A target served with two bodies and a fault, then its fault changed, cleared, and stopped. */
static void test_valid_target_steps_are_resolved(void **state)
{
    (void)state;
    struct scenario *s = NULL;
    struct error err = {0};
    int rc = load_case(HEAD "steps:\n"
                            "  - target: {address: 127.0.1.5, path: /m, bodies: [inputs/app.prom, "
                            "inputs/app.prom], fault: {status: 503, times: 1}}\n"
                            "  - target: {address: 127.0.1.5, fault: {reset: true}}\n"
                            "  - target: {address: 127.0.1.5, fault: clear}\n"
                            "  - wait: {target: {127.0.1.5: {scrapes: 2, requests: \"< 5\"}}}\n"
                            "  - target: {address: 127.0.1.5, port: 9100, stop: true}\n"
                            "expect: {golden: [loki]}\n",
                       &s, &err);
    if (rc != 0)
        fail_msg("%s", err.message);
    assert_int_equal(s->step_count, 5);
    const struct step_target *serve = step_target_data(&s->steps[0]);
    assert_int_equal(serve->action, STEP_TARGET_SERVE);
    assert_string_equal(serve->path, "/m");
    assert_int_equal(serve->body_count, 2);
    assert_string_equal(serve->bodies[1], "# TYPE up gauge\nup 1\n");
    assert_non_null(serve->fault);
    assert_int_equal(step_target_data(&s->steps[1])->action, STEP_TARGET_FAULT);
    assert_int_equal(step_target_data(&s->steps[2])->action, STEP_TARGET_CLEAR_FAULT);
    const struct step_wait *w = step_wait_data(&s->steps[3]);
    assert_int_equal(w->targets_count, 2);
    assert_string_equal(w->targets[0].stat, "scrapes");
    assert_int_equal(w->targets[0].cond.op, COND_GE);
    assert_int_equal(w->targets[1].cond.op, COND_LT);
    assert_string_equal(s->steps[3].label,
                        "wait target 127.0.1.5 scrapes >= 2, target 127.0.1.5 requests < 5");
    assert_int_equal(step_target_data(&s->steps[4])->action, STEP_TARGET_STOP);
    assert_string_equal(s->steps[4].label, "target 127.0.1.5:9100 stop");
    scenario_free(s);
}

static void test_errors_name_file_line_and_expectation(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        struct scenario *s = NULL;
        struct error err = {0};
        int rc = load_case(error_cases[i].yaml, &s, &err);
        if (rc == 0 || !strstr(err.message, error_cases[i].message)) {
            fprintf(stderr, "case \"%s\": rc %d\n  got:  %s\n  want: ...%s...\n",
                    error_cases[i].what, rc, err.message, error_cases[i].message);
            scenario_free(s);
            fail();
        }
        assert_null(s);
    }
}

static void test_valid_pod_log_scenario_is_resolved(void **state)
{
    (void)state;
    struct scenario *s = NULL;
    struct error err = {0};
    int rc = load_case(
        HEAD "pipelines: {logs: {receivers: [otlp], processors: [batch], exporters: "
             "[otlphttp/loki]}}\n"
             "before_start:\n"
             "  - pod_log: {pod: default/web, container: nginx, format: crio, lines: [old]}\n"
             "steps:\n"
             "  - wait: {tailing: [default/web/nginx], timeout: 5s}\n"
             "  - pod_log:\n"
             "      pod: default/web\n"
             "      container: nginx\n"
             "      numbered: true\n"
             "      repeat: 3\n"
             "      split: 16KiB\n"
             "      lines:\n"
             "        - GET / 200\n"
             "        - {stream: stderr, text: warn, partial: true}\n"
             "        - {hex: \"48 ff\", numbered: false}\n"
             "        - {raw: '{\"log\":\"cut {seq}'}\n"
             "        - {text: big, size: 1MiB+1}\n"
             "  - pod_log: {pod: default/web, container: nginx, rotate: copytruncate}\n"
             "  - wait: {lines: {delivered: all, files: {default/web/nginx: {lost: \"< 2\"}}}}\n"
             "expect:\n"
             "  lines: {lost: 0, duplicated: 0, files: {default/web/nginx: {written: 15}}}\n",
        &s, &err);
    if (rc != 0)
        fail_msg("%s", err.message);
    assert_true(s->has_pod_logs);
    assert_non_null(s->left_out);
    /* The subset drops the debug exporter, which no longer needs (or may have) an endpoint. */
    assert_null(json_object_get(json_object_get(s->config, "exporters"), "debug"));
    assert_non_null(json_object_get(json_object_get(s->config_full, "exporters"), "debug"));
    assert_int_equal(s->pre_step_count, 1);
    const struct step_pod_log *pl = step_pod_log_data(&s->pre_steps[0]);
    assert_int_equal(pl->format, POD_LOG_CRIO);
    assert_int_equal(pl->utc_offset_min, 120); /* crio's point: an offset */
    pl = step_pod_log_data(&s->steps[1]);
    assert_int_equal(pl->format, POD_LOG_CRIO); /* inherited from the file's first step */
    assert_string_equal(pl->key, "default/web/nginx");
    assert_int_equal(pl->line_count, 5);
    assert_int_equal(pl->repeat, 3);
    assert_int_equal(pl->split, 16384);
    assert_true(pl->lines[0].numbered);
    assert_string_equal(pl->lines[1].stream, "stderr");
    assert_true(pl->lines[1].partial);
    assert_int_equal(pl->lines[2].len, 2);
    assert_false(pl->lines[2].numbered);
    assert_true(pl->lines[3].raw);
    assert_int_equal(pl->lines[4].size, 1048577);
    assert_string_equal(s->steps[1].label, "pod_log default/web/nginx crio 15 lines numbered");
    pl = step_pod_log_data(&s->steps[2]);
    assert_true(pl->rotate);
    assert_int_equal(pl->rotation, POD_LOG_ROTATE_COPYTRUNCATE);
    const struct step_wait *w = step_wait_data(&s->steps[3]);
    assert_int_equal(w->lines_count, 2);
    assert_true(w->lines[0].all);
    assert_null(w->lines[0].file);
    assert_string_equal(w->lines[1].file, "default/web/nginx");
    assert_int_equal(w->lines[1].cond.op, COND_LT);
    assert_string_equal(s->steps[0].label, "wait tailing default/web/nginx");
    assert_int_equal(s->expect_lines_count, 3);
    assert_int_equal(s->expect_lines[0].cond.op, COND_EQ);
    scenario_free(s);
}

/* The messages that list step kinds are built from the table of step kinds (steps.h); these are
 * the whole messages as they read with today's kinds, plus the rules the descriptors carry
 * (bare bodies, before_start, stop/start) and the order in which mistakes are reported. */
static const struct {
    const char *what;
    const char *yaml;
    const char *message; /* a substring of the error, from the file name on */
} step_kind_cases[] = {
    {"a step with two keys",
     HEAD "steps:\n  - {otlp: {file: inputs/logs.json}, wait: {loki: {records: 1}}}\n"
          "expect: {golden: [loki]}\n",
     "case.yaml:6: steps[0]: expected a mapping with one key: otlp, fault, wait, restart, stop, "
     "start, pod_log, k8s or target"},
    {"an unknown step that is not sleep", HEAD "steps:\n  - nap: 1s\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0]: unknown step \"nap\" (expected one of: otlp, fault, wait, restart, "
     "stop, start, pod_log, k8s, target)"},
    {"before_start item that is not a step",
     HEAD "before_start:\n  - pod_log\nexpect: {golden: [loki]}\n",
     "case.yaml:6: before_start[0]: expected a pod_log step"},
    {"before_start with a wait, whole message",
     HEAD "before_start:\n  - wait: {loki: {records: 1}}\nexpect: {golden: [loki]}\n",
     "case.yaml:6: before_start[0]: before_start holds pod_log steps only (the files that exist "
     "when the collector starts); put wait under steps"},
    {"a stop while stopped",
     HEAD "steps:\n  - stop:\n  - stop:\n  - start:\nexpect: {golden: [loki]}\n",
     "case.yaml:7: steps[1]: the collector is already stopped (start it first)"},
    {"start with options",
     HEAD "steps:\n  - stop:\n  - start: {timeout: 5s}\nexpect: {golden: [loki]}\n",
     "case.yaml:7: steps[1].start: start takes no options (it waits for the collector to listen)"},
    {"a restart that is not a mapping",
     HEAD "steps:\n  - restart: KILL\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].restart: expected a mapping with keys from: signal, timeout; got a "
     "string"},
    {"an otlp step without a body", HEAD "steps:\n  - otlp:\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].otlp: expected a mapping with keys from: file, raw, signal, "
     "transport, encoding, gzip, timestamps, path, receiver, expect_status, expect_body, "
     "expect_content_type, expect_grpc_status, expect_grpc_message; got nothing (null)"},
    {"a fault without a body", HEAD "steps:\n  - fault:\nexpect: {golden: [loki]}\n",
     "case.yaml:6: steps[0].fault: expected one fake and its fault"},
    /* The receiver of an otlp step is checked once the whole scenario has loaded: a later
     * mistake in the file is reported first. */
    {"a later mistake before the missing receiver",
     HEAD "steps:\n  - otlp: {file: inputs/logs.json, transport: grpc}\n"
          "  - wait: {lokki: {records: 1}}\nexpect: {golden: [loki]}\n",
     "case.yaml:7: steps[1].wait: unknown condition \"lokki\""},
    {"a mistake in expect before the missing receiver",
     HEAD
     "steps:\n  - otlp: {file: inputs/logs.json, transport: grpc}\nexpect: {golden: [lokki]}\n",
     "case.yaml:7: expect.golden[0]: unknown view \"lokki\""},
};

static void test_step_kind_rules_and_messages(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(step_kind_cases) / sizeof(step_kind_cases[0]); i++) {
        struct scenario *s = NULL;
        struct error err = {0};
        int rc = load_case(step_kind_cases[i].yaml, &s, &err);
        if (rc == 0 || !strstr(err.message, step_kind_cases[i].message)) {
            fprintf(stderr, "case \"%s\": rc %d\n  got:  %s\n  want: ...%s...\n",
                    step_kind_cases[i].what, rc, err.message, step_kind_cases[i].message);
            scenario_free(s);
            fail();
        }
        assert_null(s);
    }
}

/* `- restart:`, `- stop:` and `- start:` alone mean their defaults. */
static void test_bare_collector_steps_take_their_defaults(void **state)
{
    (void)state;
    struct scenario *s = NULL;
    struct error err = {0};
    int rc = load_case(
        HEAD "steps:\n"
             "  - restart:\n"
             "  - stop:\n"
             "  - pod_log: {pod: default/web, container: nginx, format: docker, lines: [a]}\n"
             "  - start:\n"
             "  - stop: {signal: KILL, timeout: 5s}\n"
             "  - start: {}\n"
             "expect: {golden: [loki]}\n",
        &s, &err);
    if (rc != 0)
        fail_msg("%s", err.message);
    assert_int_equal(s->step_count, 6);
    assert_string_equal(s->steps[0].desc->name, "restart");
    assert_int_equal(step_restart_data(&s->steps[0])->signal, SIGTERM);
    assert_int_equal(step_restart_data(&s->steps[0])->timeout_ms, 30000);
    assert_string_equal(s->steps[0].label, "restart TERM");
    assert_string_equal(s->steps[1].desc->name, "stop");
    assert_string_equal(s->steps[1].label, "stop TERM");
    assert_string_equal(s->steps[2].desc->name, "pod_log");
    assert_string_equal(s->steps[3].desc->name, "start");
    assert_string_equal(s->steps[3].label, "start");
    assert_int_equal(step_restart_data(&s->steps[4])->signal, SIGKILL);
    assert_int_equal(step_restart_data(&s->steps[4])->timeout_ms, 5000);
    assert_string_equal(s->steps[4].label, "stop KILL");
    assert_string_equal(s->steps[5].desc->name, "start");
    scenario_free(s);
}

static void test_valid_kubernetes_scenario_is_resolved(void **state)
{
    (void)state;
    struct scenario *s = NULL;
    struct error err = {0};
    int rc = load_case(
        HEAD
        "kubernetes: {objects: [inputs/k8s/objects.yaml]}\n"
        "finding: {text: t, evidence: [kubernetes.denied, kubernetes.unused_grants]}\n"
        "steps:\n"
        "  - k8s: {apply: [inputs/k8s/objects.yaml,\n"
        "                  {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: x}}]}\n"
        "  - k8s: {delete: [{kind: Pod, namespace: x, name: p},\n"
        "                   {file: inputs/k8s/objects.yaml}]}\n"
        "  - k8s: {patch: {kind: Node, name: n, merge: {metadata: {annotations: {a: b}}}}}\n"
        "  - k8s: {relabel: {pod: default/web, labels: {tier: web, old: null}}}\n"
        "  - k8s: {call: {verb: list, resource: replicasets.apps, label_selector: 'app in "
        "(a,b)',\n"
        "                 expect_status: 403}}\n"
        "  - k8s: {call: {as: kube-system/other, verb: get, resource: pods/status,\n"
        "                 namespace: default, name: web}}\n"
        "  - stop:\n"
        "  - k8s: {delete: {kind: Pod, name: web}}\n"
        "  - start:\n"
        "expect:\n"
        "  golden: [loki]\n"
        "  kubernetes:\n"
        "    denied: {opentelemetry/otel-collector-collector: 1, kube-system/other: \"== 0\"}\n"
        "    unused_grants: \"> 0\"\n"
        "    objects: {pods: 1, replicasets.apps/default: 0}\n",
        &s, &err);
    if (rc != 0)
        fail_msg("%s", err.message);
    const struct k8s_section *k = &s->kubernetes;
    assert_true(k->enabled);
    /* The defaults: the collector's service account, the team's RBAC as documented. */
    assert_string_equal(k->user, "system:serviceaccount:opentelemetry:otel-collector-collector");
    assert_string_equal(k->namespace, "opentelemetry");
    assert_string_equal(k->name, "otel-collector-collector");
    assert_string_equal(k->rbac_label, "kind/manifests/rbac-seed.yaml");
    assert_non_null(strstr(k->rbac, "/kind/manifests/rbac-seed.yaml"));
    assert_int_equal(k->object_count, 1);
    assert_non_null(strstr(k->objects[0], "/scenarios/inputs/k8s/objects.yaml"));
    /* expect.kubernetes implies the calls golden. */
    assert_int_equal(s->golden_count, 2);
    assert_string_equal(s->golden[1], "kubernetes-calls");
    assert_int_equal(k->denied_count, 2);
    assert_string_equal(k->denied[1].user, "system:serviceaccount:kube-system:other");
    assert_int_equal(k->denied[1].cond.op, COND_EQ);
    assert_true(k->has_unused_grants);
    assert_int_equal(k->unused_grants.op, COND_GT);
    assert_int_equal(k->objects_expected_count, 2);
    assert_string_equal(k->objects_expected[1].type, "replicasets.apps");
    assert_string_equal(k->objects_expected[1].namespace, "default");

    const struct step_k8s *d = step_k8s_data(&s->steps[0]);
    assert_string_equal(step_k8s_action_name(d), "apply");
    assert_int_equal(d->item_count, 2);
    assert_string_equal(d->items[0].label, "inputs/k8s/objects.yaml");
    assert_non_null(d->items[1].object);
    assert_string_equal(s->steps[0].label, "k8s apply inputs/k8s/objects.yaml +1");
    d = step_k8s_data(&s->steps[1]);
    assert_int_equal(d->target_count, 3); /* one named, two from the file */
    assert_string_equal(d->targets[2].kind, "ReplicaSet");
    assert_string_equal(d->targets[2].api_version, "apps/v1");
    assert_string_equal(d->targets[2].namespace, "default");
    d = step_k8s_data(&s->steps[2]);
    assert_string_equal(d->targets[0].namespace, "");
    assert_false(d->targets[0].namespace_given);
    d = step_k8s_data(&s->steps[3]);
    assert_string_equal(step_k8s_action_name(d), "relabel");
    assert_string_equal(d->targets[0].kind, "Pod");
    assert_string_equal(d->targets[0].namespace, "default");
    assert_true(json_is_null(
        json_object_get(json_object_get(json_object_get(d->patch, "metadata"), "labels"), "old")));
    d = step_k8s_data(&s->steps[4]);
    assert_string_equal(d->user, k->user); /* the section's identity */
    assert_string_equal(d->request,
                        "/apis/apps/v1/replicasets?labelSelector=app%20in%20%28a%2Cb%29");
    assert_int_equal(d->expect_status, 403);
    assert_string_equal(s->steps[4].label,
                        "k8s call list replicasets.apps as opentelemetry/otel-collector-collector");
    d = step_k8s_data(&s->steps[5]);
    assert_string_equal(d->user, "system:serviceaccount:kube-system:other");
    assert_string_equal(d->request, "/api/v1/namespaces/default/pods/web/status");
    assert_int_equal(d->expect_status, 200);
    assert_int_equal(d->expect_items, -1);
    scenario_free(s);
}

/* kubectl's resource forms, as a call names them, to the API's paths. */
static void test_k8s_call_paths(void **state)
{
    (void)state;
    static const struct {
        const char *resource, *namespace, *name, *query, *path;
    } cases[] = {
        {"pods", "", "", "", "/api/v1/pods"},
        {"pods", "shop", "web", "", "/api/v1/namespaces/shop/pods/web"},
        {"pods/log", "shop", "web", "", "/api/v1/namespaces/shop/pods/web/log"},
        {"replicasets.apps", "", "", "limit=1", "/apis/apps/v1/replicasets?limit=1"},
        {"replicasets.v1.apps", "a", "", "", "/apis/apps/v1/namespaces/a/replicasets"},
        {"servicemonitors.monitoring.coreos.com", "", "", "",
         "/apis/monitoring.coreos.com/v1/servicemonitors"},
        {"widgets.v2beta1.example.com", "", "", "", "/apis/example.com/v2beta1/widgets"},
        {"deployments.apps/scale", "a", "web", "",
         "/apis/apps/v1/namespaces/a/deployments/web/scale"},
    };
    char out[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(step_k8s_api_path(cases[i].resource, cases[i].namespace, cases[i].name,
                                           cases[i].query, out, sizeof(out)),
                         0);
        assert_string_equal(out, cases[i].path);
    }
    assert_int_equal(step_k8s_api_path("ReplicaSet", "", "", "", out, sizeof(out)), -EINVAL);
    assert_int_equal(step_k8s_api_path(".apps", "", "", "", out, sizeof(out)), -EINVAL);
    assert_int_equal(step_k8s_api_path("pods", "", "", "", out, 8), -ENAMETOOLONG);
}

static void test_fake_counts_map_to_statistics(void **state)
{
    (void)state;
    assert_string_equal(scenario_fake_stat(FAKE_LOKI, "records"), "records");
    assert_string_equal(scenario_fake_stat(FAKE_LOKI, "entries"), "records");
    assert_string_equal(scenario_fake_stat(FAKE_TEMPO, "requests"), "requests");
    assert_string_equal(scenario_fake_stat(FAKE_PROMETHEUS, "samples"), "samples");
    assert_null(scenario_fake_stat(FAKE_PROMETHEUS, "records"));
    assert_null(scenario_fake_stat(FAKE_TEMPO, "samples"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_scenario_is_resolved),
        cmocka_unit_test(test_valid_grpc_scenario_is_resolved),
        cmocka_unit_test(test_valid_pod_log_scenario_is_resolved),
        cmocka_unit_test(test_errors_name_file_line_and_expectation),
        cmocka_unit_test(test_valid_target_steps_are_resolved),
        cmocka_unit_test(test_step_kind_rules_and_messages),
        cmocka_unit_test(test_bare_collector_steps_take_their_defaults),
        cmocka_unit_test(test_valid_kubernetes_scenario_is_resolved),
        cmocka_unit_test(test_k8s_call_paths),
        cmocka_unit_test(test_fake_counts_map_to_statistics),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
