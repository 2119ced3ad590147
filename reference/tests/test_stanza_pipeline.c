/*
 * test_stanza_pipeline.c - the filelog operator pipeline (reference/receivers/filelog/
 * stanza_*.c and operators/) against contrib v0.142 pkg/stanza: wiring and build errors, field
 * paths, every operator, the team's documented operator list (SEED-CONFIG.md), upstream's
 * Kubernetes example chain and the container operator on docker, containerd and CRI-O lines.
 *
 * Each case is YAML operators + input lines (+ attributes the file reader adds) -> the entries
 * that reach the sink, rendered as one canonical line each (keys sorted) so the tables read as
 * the specification.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "receivers/filelog/operators/operator.h"
#include "receivers/filelog/stanza.h"
#include "strbuf.h"
#include "yamljson.h"

#define MAX_OUT 16
#define DOCKER_PATH "/var/log/pods/default_web-1_0f3c1a2b-0000-4000-8000-123456789abc/nginx/0.log"

struct capture {
    char *lines[MAX_OUT];
    size_t n;
};

static void render_value(struct strbuf *b, const otlp_anyvalue *v);

static int cmp_kv(const void *a, const void *b)
{
    return strcmp((*(otlp_keyvalue *const *)a)->key, (*(otlp_keyvalue *const *)b)->key);
}

static void render_kvs(struct strbuf *b, otlp_keyvalue **kvs, size_t n)
{
    otlp_keyvalue **sorted = calloc(n ? n : 1, sizeof(*sorted));
    assert_non_null(sorted);
    if (n)
        memcpy(sorted, kvs, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_kv);
    strbuf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        strbuf_printf(b, "%s%s=", i ? " " : "", sorted[i]->key);
        render_value(b, sorted[i]->value);
    }
    strbuf_putc(b, '}');
    free(sorted);
}

static void render_value(struct strbuf *b, const otlp_anyvalue *v)
{
    switch (v ? v->value_case : ANY_NOT_SET) {
    case ANY_STRING:
        strbuf_putc(b, '"');
        for (const char *s = v->string_value; *s; s++)
            if (*s == '\n')
                strbuf_puts(b, "\\n");
            else
                strbuf_putc(b, *s);
        strbuf_putc(b, '"');
        break;
    case ANY_INT: strbuf_printf(b, "%lld", (long long)v->int_value); break;
    case ANY_DOUBLE: strbuf_printf(b, "%gd", v->double_value); break;
    case ANY_BOOL: strbuf_puts(b, v->bool_value ? "true" : "false"); break;
    case ANY_KVLIST: render_kvs(b, v->kvlist_value->values, v->kvlist_value->n_values); break;
    case ANY_ARRAY:
        strbuf_putc(b, '[');
        for (size_t i = 0; i < v->array_value->n_values; i++) {
            if (i)
                strbuf_putc(b, ',');
            render_value(b, v->array_value->values[i]);
        }
        strbuf_putc(b, ']');
        break;
    default: strbuf_puts(b, "nil");
    }
}

/* body=... attrs={...} res={...} ts=... [sev=N/"text"] */
static char *render_entry(const struct stanza_entry *e)
{
    struct strbuf b = STRBUF_INIT(1 << 16);
    strbuf_puts(&b, "body=");
    render_value(&b, e->record->body);
    strbuf_puts(&b, " attrs=");
    render_kvs(&b, e->record->attributes, e->record->n_attributes);
    if (e->n_resource) {
        strbuf_puts(&b, " res=");
        render_kvs(&b, e->resource, e->n_resource);
    }
    strbuf_printf(&b, " ts=%llu", (unsigned long long)e->record->time_unix_nano);
    if (e->record->severity_number || (e->record->severity_text && *e->record->severity_text))
        strbuf_printf(&b, " sev=%d/%s", (int)e->record->severity_number, e->record->severity_text);
    char *out = NULL;
    assert_int_equal(strbuf_finish(&b, &out, NULL), 0);
    return out;
}

static void capture_sink(void *ctx, struct stanza_entry *e)
{
    struct capture *c = ctx;
    assert_true(c->n < MAX_OUT);
    c->lines[c->n++] = render_entry(e);
    stanza_entry_free(e);
}

static void capture_release(struct capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[i]);
    c->n = 0;
}

static int build(const char *yaml, struct capture *cap, struct stanza_pipeline **p,
                 struct error *err)
{
    json_t *ops = NULL;
    assert_int_equal(yamljson_parse(yaml, strlen(yaml), "test", &ops, NULL, err), 0);
    int rc = stanza_pipeline_build(ops, "receivers.filelog.operators", "receiver/filelog",
                                   capture_sink, cap, p, err);
    json_decref(ops);
    return rc;
}

static struct stanza_entry *line(const char *body, const char *path)
{
    struct stanza_entry *e = stanza_entry_new();
    assert_non_null(e);
    e->record->body = stanza_value_string(body);
    if (path) {
        assert_int_equal(pdata_attr_upsert_string(&e->record->attributes, &e->record->n_attributes,
                                                  "log.file.path", path),
                         0);
        assert_int_equal(pdata_attr_upsert_string(&e->record->attributes, &e->record->n_attributes,
                                                  "log.file.name", strrchr(path, '/') + 1),
                         0);
    }
    return e;
}

struct run_case {
    const char *name;
    const char *operators; /* YAML list */
    const char *lines[4];
    const char *path; /* log.file.path (and .name) added by the reader; NULL = none */
    const char *expected[4];
};

static void run_cases(const struct run_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct run_case *c = &cases[i];
        struct capture cap = {0};
        struct stanza_pipeline *p = NULL;
        struct error err = {0};
        if (build(c->operators, &cap, &p, &err) < 0)
            fail_msg("%s: build failed: %s", c->name, err.message);
        for (size_t k = 0; k < 4 && c->lines[k]; k++)
            stanza_pipeline_process(p, line(c->lines[k], c->path));
        stanza_pipeline_flush(p);
        size_t expected = 0;
        while (expected < 4 && c->expected[expected])
            expected++;
        for (size_t k = 0; k < cap.n || k < expected; k++) {
            const char *want = k < expected ? c->expected[k] : "(nothing)";
            const char *got = k < cap.n ? cap.lines[k] : "(nothing)";
            if (strcmp(want, got))
                fail_msg("%s: entry %zu\n  want %s\n  got  %s", c->name, k, want, got);
        }
        capture_release(&cap);
        stanza_pipeline_free(p);
    }
}

/* ---- upstream's Kubernetes example chain (facts §2 "Usual upstream definitions") ---- */

static const char k8s_chain[] =
    "- type: router\n"
    "  id: get-format\n"
    "  routes:\n"
    "    - {output: parser-docker, expr: 'body matches \"^\\\\{\"'}\n"
    "    - {output: parser-crio, expr: 'body matches \"^[^ Z]+ \"'}\n"
    "    - {output: parser-containerd, expr: 'body matches \"^[^ Z]+Z\"'}\n"
    "- type: regex_parser\n"
    "  id: parser-crio\n"
    "  regex: '^(?P<time>[^ Z]+) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$'\n"
    "  output: extract_metadata_from_filepath\n"
    "  timestamp: {parse_from: attributes.time, layout_type: gotime,\n"
    "              layout: '2006-01-02T15:04:05.999999999Z07:00'}\n"
    "- type: regex_parser\n"
    "  id: parser-containerd\n"
    "  regex: '^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$'\n"
    "  output: extract_metadata_from_filepath\n"
    "  timestamp: {parse_from: attributes.time, layout: '%Y-%m-%dT%H:%M:%S.%LZ'}\n"
    "- type: json_parser\n"
    "  id: parser-docker\n"
    "  output: extract_metadata_from_filepath\n"
    "  timestamp: {parse_from: attributes.time, layout: '%Y-%m-%dT%H:%M:%S.%LZ'}\n"
    "- type: regex_parser\n"
    "  id: extract_metadata_from_filepath\n"
    "  regex: "
    "'^.*\\/(?P<namespace>[^_]+)_(?P<pod_name>[^_]+)_(?P<uid>[a-f0-9\\-]{36})\\/"
    "(?P<container_name>[^\\._]+)\\/(?P<restart_count>\\d+)\\.log$'\n"
    "  parse_from: attributes[\"log.file.path\"]\n"
    "  cache: {size: 128}\n"
    "- {type: move, from: attributes.log, to: body}\n"
    "- {type: move, from: attributes.stream, to: 'attributes[\"log.iostream\"]'}\n"
    "- {type: move, from: attributes.container_name, to: 'resource[\"k8s.container.name\"]'}\n"
    "- {type: move, from: attributes.namespace, to: 'resource[\"k8s.namespace.name\"]'}\n"
    "- {type: move, from: attributes.pod_name, to: 'resource[\"k8s.pod.name\"]'}\n"
    "- {type: move, from: attributes.restart_count, to: "
    "'resource[\"k8s.container.restart_count\"]'}\n"
    "- {type: move, from: attributes.uid, to: 'resource[\"k8s.pod.uid\"]'}\n";

#define K8S_RES                                                                                    \
    "res={k8s.container.name=\"nginx\" k8s.container.restart_count=\"0\" "                         \
    "k8s.namespace.name=\"default\" k8s.pod.name=\"web-1\" "                                       \
    "k8s.pod.uid=\"0f3c1a2b-0000-4000-8000-123456789abc\"}"
#define FILE_ATTRS "log.file.name=\"0.log\" log.file.path=\"" DOCKER_PATH "\""

static void test_upstream_kubernetes_chain(void **state)
{
    (void)state;
    static const struct run_case cases[] = {
        {"docker line: JSON parsed, \\n kept in the body, time stays an attribute",
         k8s_chain,
         {"{\"log\":\"hello docker\\n\",\"stream\":\"stdout\",\"time\":\"2024-05-01T10:20:30."
          "123456789Z\"}"},
         DOCKER_PATH,
         {"body=\"hello docker\\n\" attrs={" FILE_ATTRS
          " log.iostream=\"stdout\" time=\"2024-05-01T10:20:30.123456789Z\"} " K8S_RES
          " ts=1714558830123456789"}},
        {"containerd line (UTC, Z): logtag kept, nanoseconds through %L",
         k8s_chain,
         {"2024-05-01T10:20:30.123456789Z stderr F hello containerd"},
         DOCKER_PATH,
         {"body=\"hello containerd\" attrs={" FILE_ATTRS
          " log.iostream=\"stderr\" logtag=\"F\" time=\"2024-05-01T10:20:30.123456789Z\"} " K8S_RES
          " ts=1714558830123456789"}},
        {"CRI-O line with an offset: the crio route, gotime layout",
         k8s_chain,
         {"2024-05-01T05:20:30.5-05:00 stdout P part one"},
         DOCKER_PATH,
         {"body=\"part one\" attrs={" FILE_ATTRS
          " log.iostream=\"stdout\" logtag=\"P\" time=\"2024-05-01T05:20:30.5-05:00\"} " K8S_RES
          " ts=1714558830500000000"}},
    };
    run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- the container operator ---- */

static void test_container_operator(void **state)
{
    (void)state;
    static const struct run_case cases[] = {
        {"docker: time deleted, log to body with its \\n, stream to log.iostream",
         "- {type: container, id: container-parser}\n",
         {"{\"log\":\"hi\\n\",\"stream\":\"stdout\",\"time\":\"2024-05-01T10:20:30.5Z\"}"},
         DOCKER_PATH,
         {"body=\"hi\\n\" attrs={" FILE_ATTRS " log.iostream=\"stdout\"} " K8S_RES
          " ts=1714558830500000000"}},
        {"containerd P+P+F joined with \"\": the first fragment's entry (logtag P)",
         "- {type: container}\n",
         {"2024-05-01T10:20:30.1Z stdout P one ", "2024-05-01T10:20:31.2Z stdout P two ",
          "2024-05-01T10:20:32.3Z stdout F three"},
         DOCKER_PATH,
         {"body=\"one two three\" attrs={" FILE_ATTRS
          " log.iostream=\"stdout\" logtag=\"P\"} " K8S_RES " ts=1714558830100000000"}},
        {"crio with an offset, single F line",
         "- {type: container, format: crio}\n",
         {"2024-05-01T12:20:30.000000001+02:00 stderr F x"},
         DOCKER_PATH,
         {"body=\"x\" attrs={" FILE_ATTRS " log.iostream=\"stderr\" logtag=\"F\"} " K8S_RES
          " ts=1714558830000000001"}},
        {"auto-detect failure: the entry is dropped",
         "- {type: container}\n",
         {"plain text line"},
         DOCKER_PATH,
         {NULL}},
        {"missing log.file.path with add_metadata_from_filepath: dropped",
         "- {type: container}\n",
         {"2024-05-01T10:20:30.1Z stdout F x"},
         NULL,
         {NULL}},
        {"add_metadata_from_filepath: false needs no path",
         "- {type: container, add_metadata_from_filepath: false}\n",
         {"2024-05-01T10:20:30.1Z stdout F x"},
         NULL,
         {"body=\"x\" attrs={log.iostream=\"stdout\" logtag=\"F\"} ts=1714558830100000000"}},
        {"rotated file name still gives k8s metadata",
         "- {type: container}\n",
         {"2024-05-01T10:20:30.1Z stdout F x"},
         "/var/log/pods/ns_pod_abc-1/c/3.log.20240501-102030",
         {"body=\"x\" attrs={log.file.name=\"3.log.20240501-102030\" "
          "log.file.path=\"/var/log/pods/ns_pod_abc-1/c/3.log.20240501-102030\" "
          "log.iostream=\"stdout\" logtag=\"F\"} res={k8s.container.name=\"c\" "
          "k8s.container.restart_count=\"3\" k8s.namespace.name=\"ns\" k8s.pod.name=\"pod\" "
          "k8s.pod.uid=\"abc-1\"} ts=1714558830100000000"}},
    };
    run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_container_partial_lines_flush_after_force_flush_period(void **state)
{
    (void)state;
    struct capture cap = {0};
    struct stanza_pipeline *p = NULL;
    struct error err = {0};
    assert_int_equal(build("- {type: container}\n", &cap, &p, &err), 0);
    struct stanza_entry *e = line("2024-05-01T10:20:30.1Z stdout P only part", DOCKER_PATH);
    uint64_t observed = e->record->observed_time_unix_nano;
    stanza_pipeline_process(p, e);
    stanza_pipeline_tick(p, (int64_t)observed + 4900000000LL);
    assert_int_equal(cap.n, 0);
    stanza_pipeline_tick(p, (int64_t)observed + 5000000000LL);
    assert_int_equal(cap.n, 1);
    assert_non_null(strstr(cap.lines[0], "body=\"only part\""));
    capture_release(&cap);
    stanza_pipeline_free(p);
}

/* ---- the team's documented operator list (SEED-CONFIG.md) ---- */

static const char seed_operators[] =
    "- type: router\n"
    "  routes:\n"
    "    - {output: parser-docker, expr: 'body matches \"^\\\\{\"'}\n"
    "    - {output: parser-containerd, expr: 'body matches \"^[^ Z]+Z\"'}\n"
    "- type: regex_parser\n"
    "  id: extract-metadata-from-filepath\n"
    "  regex: "
    "'^.*\\/(?P<namespace>[^_]+)_(?P<pod_name>[^_]+)_(?P<uid>[a-f0-9-]+)\\/"
    "(?P<container_name>[^\\/]+)\\/.*$'\n"
    "  parse_from: attributes[\"log.file.path\"]\n";

struct build_error_case {
    const char *name;
    const char *operators;
    const char *message;
};

static void test_build_errors(void **state)
{
    (void)state;
    static const struct build_error_case cases[] = {
        {"the team's list routes to undefined operators", seed_operators,
         "receivers.filelog.operators[0]: failed to set outputs on route: operator "
         "parser-docker does not exist"},
        {"unknown key with its YAML path", "- {type: regex_parser, regx: '(?P<a>.)'}\n",
         "receivers.filelog.operators[0]: unknown key \"regx\""},
        {"unknown operator type", "- {type: regex}\n",
         "receivers.filelog.operators[0]: unsupported type 'regex'"},
        {"unknown output", "- {type: move, from: body, to: attributes.x, output: nowhere}\n",
         "operator 'nowhere' does not exist"},
        {"cycle",
         "- {type: move, id: a, from: body, to: attributes.x, output: b}\n"
         "- {type: move, id: b, from: attributes.x, to: body, output: a}\n",
         "pipeline has a circular dependency (cycles: (a -> b -> a)"},
        {"duplicate explicit ids",
         "- {type: move, id: m, from: body, to: attributes.x}\n"
         "- {type: copy, id: m, from: body, to: attributes.y}\n",
         "operator with id 'm' already exists in pipeline"},
        {"bad on_error", "- {type: move, from: body, to: attributes.x, on_error: ignore}\n",
         "invalid `on_error` field"},
        {"regex without named groups", "- {type: regex_parser, regex: '^(.*)$'}\n",
         "no named capture groups in regex pattern"},
        {"regex Go does not accept", "- {type: regex_parser, regex: '(?P<a>x)(?=y)'}\n",
         "invalid or unsupported Perl syntax"},
        {"bare field name", "- {type: move, from: log, to: body}\n", "unrecognized prefix"},
        {"attributes without subfield", "- {type: copy, from: attributes, to: body}\n",
         "attributes cannot be referenced without subfield"},
        {"if outside the expr subset",
         "- {type: move, from: body, to: attributes.x, if: 'len(body) > 1'}\n",
         "failed to compile expression 'len(body) > 1'"},
        {"recombine needs one of is_first_entry / is_last_entry",
         "- {type: recombine, combine_field: body}\n",
         "one of is_first_entry and is_last_entry must be set"},
        {"strptime with a digit", "- {type: time_parser, parse_from: body, layout: '%Y1'}\n",
         "format string should not contain decimals"},
        {"unknown time zone",
         "- {type: time_parser, parse_from: body, layout: '%H', location: Mars/Base}\n",
         "unknown time zone Mars/Base"},
        {"container format", "- {type: container, format: podman}\n", "invalid `format` field"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct capture cap = {0};
        struct stanza_pipeline *p = NULL;
        struct error err = {0};
        if (build(cases[i].operators, &cap, &p, &err) == 0)
            fail_msg("%s: expected a build error", cases[i].name);
        if (!strstr(err.message, cases[i].message))
            fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].name, err.message,
                     cases[i].message);
    }
}

/* ---- wiring and the other operators ---- */

static void test_operators(void **state)
{
    (void)state;
    static const struct run_case cases[] = {
        {"no operators: straight to the sink", "[]", {"x"}, NULL, {"body=\"x\" attrs={} ts=0"}},
        {"router: no match and no default drops silently; default catches",
         "- {type: router, routes: [{expr: 'body == \"a\"', output: tag}], default: plain}\n"
         "- {type: add, id: tag, field: attributes.t, value: yes}\n"
         "- {type: add, id: plain, field: attributes.p, value: 1}\n",
         {"a", "b"},
         NULL,
         {"body=\"a\" attrs={p=1 t=\"yes\"} ts=0", "body=\"b\" attrs={p=1} ts=0"}},
        {"router: a map body makes `matches` fail (Warn), the next route is tried",
         "- {type: json_parser}\n"
         "- {type: move, from: attributes.a, to: body}\n"
         "- type: router\n"
         "  routes:\n"
         "    - {expr: 'body matches \"x\"', output: first}\n"
         "    - {expr: 'true', output: second, attributes: {via: 'EXPR(attributes.k)'}}\n"
         "- {type: add, id: first, field: attributes.r, value: first}\n"
         "- {type: add, id: second, field: attributes.r, value: second}\n",
         {"{\"a\":{\"b\":1},\"k\":\"v\"}"},
         NULL,
         {"body={b=1d} attrs={k=\"v\" r=\"second\" via=\"v\"} ts=0"}},
        {"regex_parser: no match -> error log, sent on unchanged; groups that do not take part "
         "are \"\"",
         "- {type: regex_parser, regex: '^(?P<a>x)(?P<b>y)?$'}\n",
         {"x", "z"},
         NULL,
         {"body=\"x\" attrs={a=\"x\" b=\"\"} ts=0", "body=\"z\" attrs={} ts=0"}},
        {"regex_parser: on_error drop",
         "- {type: regex_parser, regex: '^(?P<a>x)$', on_error: drop}\n",
         {"z"},
         NULL,
         {NULL}},
        {"if: false skips the operator",
         "- {type: add, field: attributes.a, value: set, if: 'body == \"yes\"'}\n",
         {"yes", "no"},
         NULL,
         {"body=\"yes\" attrs={a=\"set\"} ts=0", "body=\"no\" attrs={} ts=0"}},
        {"json_parser: doubles by default, ints with parse_ints, nested maps and arrays",
         "- {type: json_parser}\n- {type: json_parser, parse_to: attributes.n, parse_ints: true}\n",
         {"{\"i\":3,\"f\":1.5,\"m\":{\"k\":null},\"l\":[1,\"s\"]}"},
         NULL,
         {"body=\"{\"i\":3,\"f\":1.5,\"m\":{\"k\":null},\"l\":[1,\"s\"]}\" "
          "attrs={f=1.5d i=3d l=[1d,\"s\"] m={k=nil} n={f=1.5d i=3 l=[1,\"s\"] m={k=nil}}} ts=0"}},
        {"json_parser: not JSON -> sent on unchanged",
         "- {type: json_parser}\n",
         {"nope"},
         NULL,
         {"body=\"nope\" attrs={} ts=0"}},
        {"time_parser epoch, source kept; severity_parser default mapping",
         "- {type: regex_parser, regex: '^(?P<ts>\\S+) (?P<lvl>\\S+)'}\n"
         "- {type: time_parser, parse_from: attributes.ts, layout_type: epoch, layout: s.ms}\n"
         "- {type: severity_parser, parse_from: attributes.lvl}\n",
         {"1700000000.250 WARNING"},
         NULL,
         {"body=\"1700000000.250 WARNING\" attrs={lvl=\"WARNING\" ts=\"1700000000.250\"} "
          "ts=1700000000250000000 sev=13/WARNING"}},
        {"strptime in a location; severity overwrite_text",
         "- {type: regex_parser, regex: '^(?P<ts>[^|]+)\\|(?P<lvl>.*)$',\n"
         "   timestamp: {parse_from: attributes.ts, layout: '%d/%b/%Y:%H:%M:%S %z'},\n"
         "   severity: {parse_from: attributes.lvl, overwrite_text: true}}\n"
         "- {type: time_parser, id: t2, parse_from: attributes.ts, layout_type: gotime,\n"
         "   layout: '02/Jan/2006:15:04:05', location: Asia/Tokyo, if: 'attributes.lvl == "
         "\"err\"'}\n",
         {"10/Oct/2023:13:55:36 -0700|eRR", "10/Oct/2023:13:55:36|err"},
         NULL,
         {"body=\"10/Oct/2023:13:55:36 -0700|eRR\" attrs={lvl=\"eRR\" ts=\"10/Oct/2023:13:55:36 "
          "-0700\"} ts=1696971336000000000 sev=17/ERROR",
          "body=\"10/Oct/2023:13:55:36|err\" attrs={lvl=\"err\" ts=\"10/Oct/2023:13:55:36\"} "
          "ts=1696913736000000000 sev=17/ERROR"}},
        {"copy, flatten, remove, retain",
         "- {type: json_parser}\n"
         "- {type: copy, from: attributes.a, to: resource.copied}\n"
         "- {type: flatten, field: attributes.a}\n"
         "- {type: remove, field: attributes.drop}\n"
         "- {type: retain, fields: [attributes.x, attributes.drop2]}\n",
         {"{\"a\":{\"x\":\"1\",\"y\":\"2\"},\"drop\":true,\"drop2\":false,\"z\":0}"},
         NULL,
         {"body=\"{\"a\":{\"x\":\"1\",\"y\":\"2\"},\"drop\":true,"
          "\"drop2\":false,\"z\":0}\" attrs={drop2=false x=\"1\"} "
          "res={copied={x=\"1\" y=\"2\"}} ts=0"}},
        {"moves between top-level keys: replace, rename, map to resource, onto itself",
         "- {type: json_parser}\n"
         "- {type: move, from: attributes.a, to: attributes.b}\n"
         "- {type: move, from: attributes.c, to: attributes.renamed}\n"
         "- {type: move, from: attributes.m, to: resource.m}\n"
         "- {type: move, from: attributes.b, to: attributes.b}\n"
         "- {type: move, from: attributes.renamed, to: resource.r}\n",
         {"{\"a\":\"1\",\"b\":\"2\",\"m\":{\"k\":\"v\"},\"c\":\"3\",\"d\":4}"},
         NULL,
         {"body=\"{\"a\":\"1\",\"b\":\"2\",\"m\":{\"k\":\"v\"},\"c\":\"3\",\"d\":4}\" "
          "attrs={b=\"1\" d=4d} res={m={k=\"v\"} r=\"3\"} ts=0"}},
        {"regex_parser on repeated subjects: each line gets its own captures",
         "- {type: regex_parser, regex: '^(?P<ns>[^_]+)_(?P<pod>[^_]+)$'}\n",
         {"default_web-1", "default_web-1", "default_web-2", "default_web-1"},
         NULL,
         {"body=\"default_web-1\" attrs={ns=\"default\" pod=\"web-1\"} ts=0",
          "body=\"default_web-1\" attrs={ns=\"default\" pod=\"web-1\"} ts=0",
          "body=\"default_web-2\" attrs={ns=\"default\" pod=\"web-2\"} ts=0",
          "body=\"default_web-1\" attrs={ns=\"default\" pod=\"web-1\"} ts=0"}},
        {"move a missing field: error, sent on",
         "- {type: move, from: attributes.no, to: body}\n",
         {"x"},
         NULL,
         {"body=\"x\" attrs={} ts=0"}},
        {"default ids are deduplicated: two moves chain",
         "- {type: add, field: attributes.a, value: 1}\n- {type: add, field: attributes.b, value: "
         "2}\n",
         {"x"},
         NULL,
         {"body=\"x\" attrs={a=1 b=2} ts=0"}},
        {"recombine is_first_entry with the default \\n; newest keeps the last entry",
         "- type: recombine\n"
         "  combine_field: body\n"
         "  is_first_entry: 'body matches \"^[^ ]\"'\n"
         "  source_identifier: attributes.src\n",
         {"first", "  cont 1", "second"},
         NULL,
         {"body=\"first\\n  cont 1\" attrs={} ts=0", "body=\"second\" attrs={} ts=0"}},
    };
    run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- field paths ---- */

static void test_field_paths(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int root;
        size_t n_keys;
        const char *last_key;
        const char *error;
    } cases[] = {
        {"body", STANZA_FIELD_BODY, 0, NULL, NULL},
        {"body.a.b", STANZA_FIELD_BODY, 2, "b", NULL},
        {"attributes.x", STANZA_FIELD_ATTRIBUTES, 1, "x", NULL},
        {"attributes[\"log.file.path\"]", STANZA_FIELD_ATTRIBUTES, 1, "log.file.path", NULL},
        {"resource['k8s.pod.name']", STANZA_FIELD_RESOURCE, 1, "k8s.pod.name", NULL},
        {"attributes[\"a\"].b['c']", STANZA_FIELD_ATTRIBUTES, 3, "c", NULL},
        {"attributes", STANZA_FIELD_ATTRIBUTES, 0, NULL, NULL},
        {"log", 0, 0, NULL, "unrecognized prefix"},
        {"attributes[x]", 0, 0, NULL, "strings in brackets must be surrounded by quotes"},
        {"attributes[\"x\"", 0, 0, NULL, "found unclosed left bracket"},
        {"attributes[\"x", 0, 0, NULL, "found unclosed double quote"},
        {"attributes[\"x\"]y", 0, 0, NULL, "bracketed access must be followed by a dot"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct stanza_field f;
        struct error err = {0};
        int rc = stanza_field_parse(cases[i].text, &f, &err);
        if (cases[i].error) {
            if (rc == 0 || !strstr(err.message, cases[i].error))
                fail_msg("%s: expected \"%s\", got \"%s\"", cases[i].text, cases[i].error,
                         err.message);
            continue;
        }
        if (rc != 0)
            fail_msg("%s: %s", cases[i].text, err.message);
        assert_int_equal(f.root, cases[i].root);
        assert_int_equal(f.n_keys, cases[i].n_keys);
        if (cases[i].last_key)
            assert_string_equal(f.keys[f.n_keys - 1], cases[i].last_key);
        stanza_field_release(&f);
    }

    /* set through missing and non-map intermediates, get, delete, merge */
    struct stanza_entry *e = stanza_entry_new();
    struct stanza_field a_b, a, root;
    struct error err;
    assert_int_equal(stanza_field_parse("attributes.a.b", &a_b, &err), 0);
    assert_int_equal(stanza_field_parse("attributes.a", &a, &err), 0);
    assert_int_equal(stanza_field_parse("attributes", &root, &err), 0);
    assert_int_equal(stanza_field_set(e, &a, stanza_value_string("scalar")), 0);
    assert_int_equal(stanza_field_set(e, &a_b, stanza_value_string("v")), 0);
    assert_string_equal(stanza_value_str(stanza_field_get(e, &a_b)), "v");
    assert_int_equal(stanza_field_set(e, &root, stanza_value_string("x")), -EINVAL);
    otlp_anyvalue *old = NULL;
    assert_int_equal(stanza_field_delete(e, &a_b, &old), 0);
    assert_string_equal(stanza_value_str(old), "v");
    stanza_value_free(old);
    assert_int_equal(stanza_field_delete(e, &a_b, NULL), -ENOENT);
    assert_null(stanza_field_get(e, &a_b));
    stanza_field_release(&a_b);
    stanza_field_release(&a);
    stanza_field_release(&root);
    stanza_entry_free(e);
}

static int quiet(void **state)
{
    (void)state;
    log_set_level(LOG_ERROR + 1 > LOG_ERROR ? LOG_ERROR : LOG_ERROR);
    setenv("TZ", "UTC", 1);
    return 0;
}

/* ---- allocation failures ---- */

/* The daemonset's recombine settings after its id: whole CRI lines per file, then the path. */
#define RECOMBINE_BY_FILE                                                                          \
    "  output: path\n"                                                                             \
    "  combine_field: attributes.log\n"                                                            \
    "  source_identifier: attributes[\"log.file.path\"]\n"                                         \
    "  is_last_entry: \"attributes.logtag == 'F'\"\n"                                              \
    "  combine_with: \"\"\n"

/* Every operator the configs use, in one chain: the daemonset's router, parsers and recombines,
 * then the path regex, moves into body / attributes / resource, and the other transformers. */
static const char torture_chain[] =
    "- type: router\n"
    "  routes:\n"
    "    - {output: parser-docker, expr: 'body matches \"^\\\\{\"'}\n"
    "    - {output: parser-containerd, expr: 'body matches \"^[^ Z]+Z\"'}\n"
    "    - {output: parser-crio, expr: 'body matches \"^[^ Z]+ \"'}\n"
    "- type: json_parser\n"
    "  id: parser-docker\n"
    "  output: path\n"
    "  timestamp: {parse_from: attributes.time, layout: '%Y-%m-%dT%H:%M:%S.%LZ'}\n"
    "- type: regex_parser\n"
    "  id: parser-containerd\n"
    "  regex: '^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$'\n"
    "  timestamp: {parse_from: attributes.time, layout: '%Y-%m-%dT%H:%M:%S.%LZ'}\n"
    "- type: recombine\n"
    "  id: containerd-recombine\n" RECOMBINE_BY_FILE "- type: regex_parser\n"
    "  id: parser-crio\n"
    "  regex: '^(?P<time>[^ Z]+) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$'\n"
    "  timestamp: {parse_from: attributes.time, layout_type: gotime,\n"
    "              layout: '2006-01-02T15:04:05.999999999Z07:00'}\n"
    "- type: recombine\n"
    "  id: crio-recombine\n" RECOMBINE_BY_FILE "- type: regex_parser\n"
    "  id: path\n"
    "  regex: "
    "'^.*\\/(?P<namespace>[^_]+)_(?P<pod_name>[^_]+)_(?P<uid>[a-f0-9-]+)\\/"
    "(?P<container_name>[^\\/]+)\\/.*$'\n"
    "  parse_from: attributes[\"log.file.path\"]\n"
    "- {type: move, from: attributes.log, to: body, on_error: send_quiet}\n"
    "- {type: move, from: attributes.stream, to: 'attributes[\"log.iostream\"]'}\n"
    "- {type: move, from: attributes.container_name, to: 'resource[\"k8s.container.name\"]'}\n"
    "- {type: move, from: attributes.namespace, to: 'resource[\"k8s.namespace.name\"]'}\n"
    "- {type: move, from: attributes.pod_name, to: 'resource[\"k8s.pod.name\"]'}\n"
    "- {type: move, from: attributes.uid, to: 'resource[\"k8s.pod.uid\"]'}\n"
    "- {type: add, field: attributes.m, value: {k: v, n: {x: 1}}}\n"
    "- {type: copy, from: attributes.m, to: resource.copied}\n"
    "- {type: flatten, field: attributes.m}\n"
    "- {type: remove, field: attributes.k}\n"
    "- {type: severity_parser, parse_from: attributes.logtag, on_error: send_quiet}\n"
    "- {type: retain, fields: [attributes.x, attributes.time, 'attributes[\"log.iostream\"]',\n"
    "                          'attributes[\"log.file.path\"]']}\n";

static const char *const torture_lines[] = {
    "{\"log\":\"docker line\\n\",\"stream\":\"stdout\",\"time\":\"2024-05-01T10:20:30.1Z\"}",
    "2024-05-01T10:20:30.1Z stdout P first half, ",
    "2024-05-01T10:20:30.2Z stdout F second half",
    "2024-05-01T12:20:30.000000001+02:00 stderr F crio line",
    "2024-05-01T10:20:31.1Z stderr F whole line",
    "{\"log\": cut json",
    "matches no route",
    "2024-05-01T10:20:32.1Z stdout P held until the flush",
};
#define TORTURE_LINES (sizeof(torture_lines) / sizeof(torture_lines[0]))

/* Counts entries and frees them (the capture sink renders them, which allocates). */
static void count_sink(void *ctx, struct stanza_entry *e)
{
    (*(size_t *)ctx)++;
    stanza_entry_free(e);
}

/* The Nth pdata allocation fails, for N = 0, 1, ... until a run needs no more: whatever an
 * operator does with a failed allocation (drop the entry, send it on unchanged, log), nothing
 * crashes and no pdata block is lost or freed twice (the byte count comes back exactly; the
 * memcheck run checks the heap). */
static void test_allocation_failures_in_every_operator_leak_nothing(void **state)
{
    (void)state;
    for (int chain = 0; chain < 2; chain++) {
        const char *operators = chain == 0 ? torture_chain : "- {type: container}\n";
        size_t full_run_entries = 0;
        struct error err = {0};
        json_t *ops = NULL;
        /* Parsed once: only the pipeline's run is tortured, and the build reads `ops` without
         * changing it (every point still builds a fresh pipeline). */
        assert_int_equal(yamljson_parse(operators, strlen(operators), "test", &ops, NULL, &err), 0);
        for (long n = 0;; n++) {
            size_t baseline = pdata_bytes_current();
            size_t delivered = 0;
            struct stanza_pipeline *p = NULL;
            if (stanza_pipeline_build(ops, "receivers.filelog.operators", "receiver/filelog",
                                      count_sink, &delivered, &p, &err) < 0)
                fail_msg("build failed: %s", err.message);
            struct stanza_entry *entries[TORTURE_LINES];
            for (size_t i = 0; i < TORTURE_LINES; i++)
                entries[i] = line(torture_lines[i], DOCKER_PATH);
            long before = pdata_allocations();
            pdata_fail_after(n);
            for (size_t i = 0; i < TORTURE_LINES; i++)
                stanza_pipeline_process(p, entries[i]);
            stanza_pipeline_flush(p);
            long used = pdata_allocations() - before;
            pdata_fail_clear();
            stanza_pipeline_free(p);
            assert_int_equal(pdata_bytes_current(), baseline);
            if (used <= n) { /* the failure point was never reached: every path is covered */
                full_run_entries = delivered;
                break;
            }
        }
        json_decref(ops);
        assert_true(full_run_entries > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_paths),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_upstream_kubernetes_chain),
        cmocka_unit_test(test_container_operator),
        cmocka_unit_test(test_container_partial_lines_flush_after_force_flush_period),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_allocation_failures_in_every_operator_leak_nothing),
    };
    return cmocka_run_group_tests(tests, quiet, NULL);
}
