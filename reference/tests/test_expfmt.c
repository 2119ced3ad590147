/*
 * test_expfmt.c - unit tests of the exposition-format parser (reference/receivers/prometheus/
 * expfmt.c). The accepted bodies are the examples of the Prometheus exposition-format
 * documentation and of the OpenMetrics 1.0 specification; each parsed body is rendered back
 * into one canonical line per family and per sample, so the expected result reads like the input.
 * The refused bodies are a table of input and upstream's error (prometheus model/textparse
 * promparse.go, openmetricsparse.go and their lexers), plus hostile input: 1 MB label values,
 * too many labels, invalid UTF-8, truncated lines, a missing # EOF.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expfmt.h"
#include "strbuf.h"

#define PROM EXPFMT_FORMAT_PROMETHEUS
#define OM EXPFMT_FORMAT_OPENMETRICS

/* The shortest %g that reads back to the same double; NaN and infinities as upstream writes. */
static void render_number(struct strbuf *out, double value)
{
    if (isnan(value)) {
        uint64_t bits;
        memcpy(&bits, &value, sizeof bits);
        strbuf_printf(out, bits == UINT64_C(0x7ff8000000000001) ? "NaN" : "NaN(bits %llx)",
                      (unsigned long long)bits);
        return;
    }
    if (isinf(value)) {
        strbuf_puts(out, value > 0 ? "+Inf" : "-Inf");
        return;
    }
    char text[64];
    if (value == (double)(long long)value && fabs(value) < 1e15) {
        strbuf_printf(out, "%lld", (long long)value);
        return;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*g", precision, value);
        if (strtod(text, NULL) == value)
            break;
    }
    strbuf_puts(out, text);
}

static void render_labels(struct strbuf *out, const struct expfmt_label *labels, size_t count)
{
    strbuf_putc(out, '{');
    for (size_t i = 0; i < count; i++) {
        strbuf_printf(out, "%s%s=\"", i ? "," : "", labels[i].name);
        for (const char *c = labels[i].value; *c; c++) {
            if (*c == '\n')
                strbuf_puts(out, "\\n");
            else if (*c == '"' || *c == '\\')
                strbuf_printf(out, "\\%c", *c);
            else
                strbuf_putc(out, *c);
        }
        strbuf_putc(out, '"');
    }
    strbuf_putc(out, '}');
}

/* "family NAME TYPE [help=...] [unit=...]" then one line per sample:
 * "  name{labels} value [@ts_ms] [# {labels} value [@ts_ms]]". */
static char *render(const struct expfmt_body *body)
{
    struct strbuf out = STRBUF_INIT(1 << 24);
    for (size_t f = 0; f < body->family_count; f++) {
        const struct expfmt_family *family = &body->families[f];
        strbuf_printf(&out, "family %s %s", family->name, expfmt_type_name(family->type));
        if (family->help)
            strbuf_printf(&out, " help=%s", family->help);
        if (family->unit)
            strbuf_printf(&out, " unit=%s", family->unit);
        strbuf_putc(&out, '\n');
        for (size_t s = 0; s < family->sample_count; s++) {
            const struct expfmt_sample *sample = &family->samples[s];
            strbuf_printf(&out, "  %s", sample->name);
            render_labels(&out, sample->labels, sample->label_count);
            strbuf_putc(&out, ' ');
            render_number(&out, sample->value);
            if (sample->has_timestamp)
                strbuf_printf(&out, " @%lld", (long long)sample->timestamp_ms);
            if (sample->exemplar) {
                strbuf_puts(&out, " # ");
                render_labels(&out, sample->exemplar->labels, sample->exemplar->label_count);
                strbuf_putc(&out, ' ');
                render_number(&out, sample->exemplar->value);
                if (sample->exemplar->has_timestamp)
                    strbuf_printf(&out, " @%lld", (long long)sample->exemplar->timestamp_ms);
            }
            strbuf_putc(&out, '\n');
        }
    }
    char *text = NULL;
    assert_int_equal(strbuf_finish(&out, &text, NULL), 0);
    return text;
}

static void expect_parsed(enum expfmt_format format, const char *input, const char *expected)
{
    struct expfmt_body *body = NULL;
    struct error err = {0};
    int rc = expfmt_parse(input, strlen(input), format, NULL, &body, &err);
    if (rc != 0)
        fail_msg("parse failed (%d): %s\ninput:\n%s", rc, err.message, input);
    char *text = render(body);
    if (strcmp(text, expected) != 0) {
        /* cmocka cuts long messages: the whole comparison goes to stderr. */
        fprintf(stderr, "input:\n%s\nexpected:\n%s\ngot:\n%s\n", input, expected, text);
        fail();
    }
    free(text);
    expfmt_body_destroy(body);
}

static void expect_refused(enum expfmt_format format, const char *input, size_t len, int code,
                           const char *message)
{
    struct expfmt_body *body = (struct expfmt_body *)&body; /* must be reset to NULL */
    struct error err = {0};
    int rc = expfmt_parse(input, len, format, NULL, &body, &err);
    if (rc != code || strcmp(err.message, message) != 0)
        fail_msg("input %.200s\nexpected %d %s\ngot      %d %s", input, code, message, rc,
                 err.message);
    assert_null(body);
}

/* ---- the Prometheus exposition-format documentation ---- */

static void test_expfmt_parses_the_text_format_documentation_example(void **state)
{
    (void)state;
    /* The documentation's example, without its "something_weird ... +Inf -3982045" line: see
     * test_expfmt_refuses_negative_text_timestamps_as_upstream_does. */
    expect_parsed(PROM,
                  "# HELP http_requests_total The total number of HTTP requests.\n"
                  "# TYPE http_requests_total counter\n"
                  "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
                  "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
                  "\n"
                  "# Escaping in label values:\n"
                  "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot "
                  "find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
                  "\n"
                  "# Minimalistic line:\n"
                  "metric_without_timestamp_and_labels 12.47\n"
                  "\n"
                  "# A weird metric from before the epoch:\n"
                  "something_weird{problem=\"division by zero\"} +Inf\n"
                  "\n"
                  "# A histogram, which has a pretty complex representation in the text format:\n"
                  "# HELP http_request_duration_seconds A histogram of the request duration.\n"
                  "# TYPE http_request_duration_seconds histogram\n"
                  "http_request_duration_seconds_bucket{le=\"0.05\"} 24054\n"
                  "http_request_duration_seconds_bucket{le=\"0.1\"} 33444\n"
                  "http_request_duration_seconds_bucket{le=\"0.2\"} 100392\n"
                  "http_request_duration_seconds_bucket{le=\"0.5\"} 129389\n"
                  "http_request_duration_seconds_bucket{le=\"1\"} 133988\n"
                  "http_request_duration_seconds_bucket{le=\"+Inf\"} 144320\n"
                  "http_request_duration_seconds_sum 53423\n"
                  "http_request_duration_seconds_count 144320\n"
                  "\n"
                  "# Finally a summary, which has a complex representation, too:\n"
                  "# HELP rpc_duration_seconds A summary of the RPC duration in seconds.\n"
                  "# TYPE rpc_duration_seconds summary\n"
                  "rpc_duration_seconds{quantile=\"0.01\"} 3102\n"
                  "rpc_duration_seconds{quantile=\"0.05\"} 3272\n"
                  "rpc_duration_seconds{quantile=\"0.5\"} 4773\n"
                  "rpc_duration_seconds{quantile=\"0.9\"} 9001\n"
                  "rpc_duration_seconds{quantile=\"0.99\"} 76656\n"
                  "rpc_duration_seconds_sum 1.7560473e+07\n"
                  "rpc_duration_seconds_count 2693\n",
                  "family http_requests_total counter help=The total number of HTTP requests.\n"
                  "  http_requests_total{method=\"post\",code=\"200\"} 1027 @1395066363000\n"
                  "  http_requests_total{method=\"post\",code=\"400\"} 3 @1395066363000\n"
                  "family msdos_file_access_time_seconds unknown\n"
                  "  msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot "
                  "find file:\\n\\\"FILE.TXT\\\"\"} 1458255915\n"
                  "family metric_without_timestamp_and_labels unknown\n"
                  "  metric_without_timestamp_and_labels{} 12.47\n"
                  "family something_weird unknown\n"
                  "  something_weird{problem=\"division by zero\"} +Inf\n"
                  "family http_request_duration_seconds histogram help=A histogram of the "
                  "request duration.\n"
                  "  http_request_duration_seconds_bucket{le=\"0.05\"} 24054\n"
                  "  http_request_duration_seconds_bucket{le=\"0.1\"} 33444\n"
                  "  http_request_duration_seconds_bucket{le=\"0.2\"} 100392\n"
                  "  http_request_duration_seconds_bucket{le=\"0.5\"} 129389\n"
                  "  http_request_duration_seconds_bucket{le=\"1\"} 133988\n"
                  "  http_request_duration_seconds_bucket{le=\"+Inf\"} 144320\n"
                  "  http_request_duration_seconds_sum{} 53423\n"
                  "  http_request_duration_seconds_count{} 144320\n"
                  "family rpc_duration_seconds summary help=A summary of the RPC duration in "
                  "seconds.\n"
                  "  rpc_duration_seconds{quantile=\"0.01\"} 3102\n"
                  "  rpc_duration_seconds{quantile=\"0.05\"} 3272\n"
                  "  rpc_duration_seconds{quantile=\"0.5\"} 4773\n"
                  "  rpc_duration_seconds{quantile=\"0.9\"} 9001\n"
                  "  rpc_duration_seconds{quantile=\"0.99\"} 76656\n"
                  "  rpc_duration_seconds_sum{} 17560473\n"
                  "  rpc_duration_seconds_count{} 2693\n");
}

static void test_expfmt_refuses_negative_text_timestamps_as_upstream_does(void **state)
{
    (void)state;
    /* The documentation shows a negative timestamp, but promlex.l lexes a timestamp as {D}+:
     * Prometheus refuses the line, so the reference does too (on purpose). */
    const char *input = "something_weird{problem=\"division by zero\"} +Inf -3982045\n";
    expect_refused(PROM, input, strlen(input), -EINVAL,
                   "line 1: expected timestamp or new record, got \"-\" (\"INVALID\") while "
                   "parsing: \"something_weird{problem=\\\"division by zero\\\"} +Inf -\"");
}

static void test_expfmt_text_format_whitespace_comments_and_help_escapes(void **state)
{
    (void)state;
    expect_parsed(PROM,
                  "  # a comment, then one with a NUL-free oddity\n"
                  "#HELP not_metadata because no blank after the hash\n"
                  "# HELP a\tline one\\nline two \\\\ and \\\" kept\n"
                  "# TYPE a gauge\n"
                  "\t a { b = \"1\" c=\"2\" , } \t 3 \t 42 \t\n"
                  "# HELP empty_help   \n"
                  "empty_help 1\n"
                  "last_line_without_newline 5",
                  "family a gauge help=line one\nline two \\ and \\\" kept\n"
                  "  a{b=\"1\",c=\"2\"} 3 @42\n"
                  "family empty_help unknown help=\n"
                  "  empty_help{} 1\n"
                  "family last_line_without_newline unknown\n"
                  "  last_line_without_newline{} 5\n");
}

static void test_expfmt_values_parse_as_go_parse_float(void **state)
{
    (void)state;
    expect_parsed(PROM,
                  "a NaN\na nan\na +Inf\na -inf\na Infinity\na -1.5e-3\na .5\na 5.\na 1E3\n"
                  "a 1e-400\n",
                  "family a unknown\n"
                  "  a{} NaN\n  a{} NaN\n  a{} +Inf\n  a{} -Inf\n  a{} +Inf\n  a{} -0.0015\n"
                  "  a{} 0.5\n  a{} 5\n  a{} 1000\n  a{} 0\n");
}

static void test_expfmt_quoted_names_of_prometheus_3(void **state)
{
    (void)state;
    expect_parsed(PROM,
                  "# TYPE \"my.metric\" counter\n"
                  "{\"my.metric\", \"http.method\"=\"GET\"} 1\n",
                  "family my.metric counter\n"
                  "  my.metric{http.method=\"GET\"} 1\n");
}

static void test_expfmt_repeated_and_late_metadata_as_upstream_keeps_it(void **state)
{
    (void)state;
    /* textparse reports every TYPE/HELP line and checks none against earlier ones: the last one
     * before a sample is the one it is read under. */
    expect_parsed(PROM,
                  "# TYPE a counter\n# TYPE a gauge\n# HELP a first\n# HELP a second\n"
                  "a 1\n# TYPE a counter\na 2\n",
                  "family a gauge help=second\n  a{} 1\n"
                  "family a counter help=second\n  a{} 2\n");
}

/* ---- the OpenMetrics 1.0 specification ---- */

static void test_expfmt_parses_the_openmetrics_overall_example(void **state)
{
    (void)state;
    expect_parsed(
        OM,
        "# TYPE acme_http_router_request_seconds summary\n"
        "# UNIT acme_http_router_request_seconds seconds\n"
        "# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request "
        "router.\n"
        "acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.32\n"
        "acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283.0\n"
        "acme_http_router_request_seconds_created{path=\"/api/v1\",method=\"GET\"} "
        "1605281325.0\n"
        "acme_http_router_request_seconds_sum{path=\"/api/v2\",method=\"POST\"} 479.3\n"
        "acme_http_router_request_seconds_count{path=\"/api/v2\",method=\"POST\"} 34.0\n"
        "acme_http_router_request_seconds_created{path=\"/api/v2\",method=\"POST\"} "
        "1605281325.0\n"
        "# TYPE go_goroutines gauge\n"
        "# HELP go_goroutines Number of goroutines that currently exist.\n"
        "go_goroutines 69\n"
        "# TYPE process_cpu_seconds counter\n"
        "# UNIT process_cpu_seconds seconds\n"
        "# HELP process_cpu_seconds Total user and system CPU time spent in seconds.\n"
        "process_cpu_seconds_total 4.20072246e+06\n"
        "# EOF\n",
        "family acme_http_router_request_seconds summary help=Latency though all of ACME's "
        "HTTP request router. unit=seconds\n"
        "  acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.32\n"
        "  acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283\n"
        "  acme_http_router_request_seconds_created{path=\"/api/v1\",method=\"GET\"} "
        "1605281325\n"
        "  acme_http_router_request_seconds_sum{path=\"/api/v2\",method=\"POST\"} 479.3\n"
        "  acme_http_router_request_seconds_count{path=\"/api/v2\",method=\"POST\"} 34\n"
        "  acme_http_router_request_seconds_created{path=\"/api/v2\",method=\"POST\"} "
        "1605281325\n"
        "family go_goroutines gauge help=Number of goroutines that currently exist.\n"
        "  go_goroutines{} 69\n"
        "family process_cpu_seconds counter help=Total user and system CPU time spent in "
        "seconds. unit=seconds\n"
        "  process_cpu_seconds_total{} 4200722.46\n");
}

static void test_expfmt_parses_openmetrics_counter_with_exemplar_and_timestamps(void **state)
{
    (void)state;
    /* Seconds become milliseconds as upstream does: int64(ts * 1000), truncated. */
    expect_parsed(OM,
                  "# TYPE foo counter\n"
                  "foo_total 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
                  "foo_created 1520430000.123\n"
                  "# EOF\n",
                  "family foo counter\n"
                  "  foo_total{} 17 @1520879607789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
                  "  foo_created{} 1520430000.123\n");
}

static void test_expfmt_parses_openmetrics_histogram_with_exemplars(void **state)
{
    (void)state;
    /* The specification writes "foo_created  1520430000.123" with two spaces; its own ABNF and
     * upstream's lexer allow one, so the example is taken with one. */
    expect_parsed(OM,
                  "# TYPE foo histogram\n"
                  "foo_bucket{le=\"0.01\"} 0\n"
                  "foo_bucket{le=\"0.1\"} 8 # {} 0.054\n"
                  "foo_bucket{le=\"1\"} 11 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
                  "foo_bucket{le=\"10\"} 17 # {trace_id=\"oHg5SJYRHA0\"} 9.8 1520879607.789\n"
                  "foo_bucket{le=\"+Inf\"} 17\n"
                  "foo_count 17\n"
                  "foo_sum 324789.3\n"
                  "foo_created 1520430000.123\n"
                  "# EOF\n",
                  "family foo histogram\n"
                  "  foo_bucket{le=\"0.01\"} 0\n"
                  "  foo_bucket{le=\"0.1\"} 8 # {} 0.054\n"
                  "  foo_bucket{le=\"1\"} 11 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
                  "  foo_bucket{le=\"10\"} 17 # {trace_id=\"oHg5SJYRHA0\"} 9.8 @1520879607789\n"
                  "  foo_bucket{le=\"+Inf\"} 17\n"
                  "  foo_count{} 17\n"
                  "  foo_sum{} 324789.3\n"
                  "  foo_created{} 1520430000.123\n");
}

static void test_expfmt_parses_openmetrics_gauge_unknown_info_stateset_gaugehistogram(void **state)
{
    (void)state;
    expect_parsed(OM,
                  "# TYPE foo gauge\nfoo 17.0\n"
                  "# TYPE unk unknown\nunk 42.23\n"
                  "# TYPE build info\nbuild_info{name=\"pretty name\",version=\"8.2.7\"} 1\n"
                  "# TYPE st stateset\n"
                  "st{entity=\"controller\",st=\"a\"} 1.0\n"
                  "st{entity=\"controller\",st=\"bb\"} 0.0\n"
                  "st{entity=\"replica\",st=\"ccc\"} 1.0\n"
                  "# TYPE gh gaugehistogram\n"
                  "gh_bucket{le=\"0.01\"} 20.0\n"
                  "gh_bucket{le=\"+Inf\"} 42.0\n"
                  "gh_gcount 42.0\n"
                  "gh_gsum 3289.3\n"
                  "# TYPE s summary\n"
                  "s_count 17.0\ns_sum 324789.3\ns{quantile=\"0.1\"} 42.0 1520879607\n"
                  "s_created 1520430000.123\n"
                  "# EOF",
                  "family foo gauge\n  foo{} 17\n"
                  "family unk unknown\n  unk{} 42.23\n"
                  "family build info\n  build_info{name=\"pretty name\",version=\"8.2.7\"} 1\n"
                  "family st stateset\n"
                  "  st{entity=\"controller\",st=\"a\"} 1\n"
                  "  st{entity=\"controller\",st=\"bb\"} 0\n"
                  "  st{entity=\"replica\",st=\"ccc\"} 1\n"
                  "family gh gaugehistogram\n"
                  "  gh_bucket{le=\"0.01\"} 20\n"
                  "  gh_bucket{le=\"+Inf\"} 42\n"
                  "  gh_gcount{} 42\n"
                  "  gh_gsum{} 3289.3\n"
                  "family s summary\n"
                  "  s_count{} 17\n  s_sum{} 324789.3\n  s{quantile=\"0.1\"} 42 @1520879607000\n"
                  "  s_created{} 1520430000.123\n");
}

static void test_expfmt_openmetrics_escapes_nan_inf_and_trailing_comma(void **state)
{
    (void)state;
    /* OpenMetrics unescapes HELP as label values (\" too), openmetricsparse.go Help. */
    expect_parsed(OM,
                  "# HELP a quote \\\" backslash \\\\ newline \\n other \\t\n"
                  "a{b=\"x\\\"y\\\\z\\nw\",} NaN\n"
                  "a +Inf 0.5\n"
                  "a -Inf -1.5\n"
                  "# EOF\n",
                  "family a unknown help=quote \" backslash \\ newline \n other \\t\n"
                  "  a{b=\"x\\\"y\\\\z\\nw\"} NaN\n"
                  "  a{} +Inf @500\n"
                  "  a{} -Inf @-1500\n");
}

static void test_expfmt_openmetrics_counter_without_total_is_accepted_as_upstream(void **state)
{
    (void)state;
    /* The OpenMetrics specification wants counter samples named _total or _created, but
     * openmetricsparse.go checks no sample suffix: the collector accepts such a body, so the
     * reference does too (on purpose). */
    expect_parsed(OM, "# TYPE a counter\na 1\n# EOF\n", "family a counter\n  a{} 1\n");
}

/* ---- refused bodies ---- */

struct refused_case {
    enum expfmt_format format;
    const char *input;
    int code;
    const char *message;
};

static const struct refused_case refused_cases[] = {
    /* Prometheus text format: promparse.go */
    {PROM, "a{0=\"1\"} 1\n", -EINVAL,
     "line 1: expected label name, got \"0\" (\"INVALID\") while parsing: \"a{0\""},
    {PROM, "a{b} 1\n", -EINVAL,
     "line 1: expected equal, got \"} \" (\"BCLOSE\") while parsing: \"a{b} \""},
    {PROM, "a{b=c} 1\n", -EINVAL,
     "line 1: expected label value, got \"c\" (\"INVALID\") while parsing: \"a{b=c\""},
    {PROM, "ok 1\na{b=\"c", -EINVAL,
     "line 2: expected label value, got \"\\\"\" (\"INVALID\") while parsing: \"a{b=\\\"\""},
    {PROM, "a{b=\"c\"\n", -EINVAL,
     "line 1: expected label name, got \"\\n\" (\"INVALID\") while parsing: "
     "\"a{b=\\\"c\\\"\\n\""},
    {PROM, "a\n", -EINVAL,
     "line 1: expected value after metric, got \"\\n\" (\"INVALID\") while parsing: "
     "\"a\\n\""},
    {PROM, "a 1 2 3\n", -EINVAL,
     "line 1: expected next entry after timestamp, got \"3\" (\"INVALID\") while parsing: "
     "\"a 1 2 3\""},
    {PROM, "a 1 1.5\n", -EINVAL,
     "line 1: expected next entry after timestamp, got \".\" (\"INVALID\") while parsing: "
     "\"a 1 1.\""},
    {PROM, "a abc\n", -EINVAL,
     "line 1: strconv.ParseFloat: parsing \"abc\": invalid syntax while parsing: \"a abc\""},
    {PROM, "a 0x1p3\n", -EINVAL,
     "line 1: unsupported character in float while parsing: \"a 0x1p3\""},
    {PROM, "a 1_000\n", -EINVAL,
     "line 1: unsupported character in float while parsing: \"a 1_000\""},
    {PROM, "a 1e999\n", -EINVAL,
     "line 1: strconv.ParseFloat: parsing \"1e999\": value out of range while parsing: "
     "\"a 1e999\""},
    {PROM, "a 1 99999999999999999999\n", -EINVAL,
     "line 1: strconv.ParseInt: parsing \"99999999999999999999\": value out of range while "
     "parsing: \"a 1 99999999999999999999\""},
    {PROM, "# TYPE a foo\n", -EINVAL, "line 1: invalid metric type \"foo\""},
    {PROM, "# TYPE a counter \n", -EINVAL, "line 1: invalid metric type \"counter \""},
    {PROM, "# TYPE a info\n", -EINVAL, "line 1: invalid metric type \"info\""},
    {PROM, "# HELP 1a x\n", -EINVAL,
     "line 1: expected metric name after HELP, got \"1\" (\"INVALID\") while parsing: "
     "\"# HELP 1\""},
    {PROM, "a{b=\"\xff\"} 1\n", -EINVAL, "line 1: invalid UTF-8 label value: \"\\\"\\xff\\\"\""},
    {PROM, "# HELP a bad \xc3\x28\n", -EINVAL,
     "line 1: help text \"bad \\xc3(\" is not a valid utf8 string"},
    {PROM, "a{b=\"1\",b=\"2\"} 1\n", -EINVAL,
     "line 1: invalid sample: non-unique label names: \"b\""},
    {PROM, "{} 1\n", -EINVAL, "line 1: metric name not set while parsing: \"{} 1\""},
    {PROM, "a{\"b\"} 1\n", -EINVAL,
     "line 1: metric name already set while parsing: \"a{\\\"b\\\"}\""},
    /* promlex.l lets a quoted label value span lines; the line count goes on past it. */
    {PROM, "a{b=\"x\ny\"} 1\nc d\n", -EINVAL,
     "line 3: strconv.ParseFloat: parsing \"d\": invalid syntax while parsing: \"c d\""},
    {PROM, "=1\n", -EINVAL,
     "line 1: expected a valid start token, got \"=\" (\"INVALID\") while parsing: \"=\""},
    {PROM, "a{} {\n", -EINVAL,
     "line 1: expected value after metric, got \"{\" (\"BOPEN\") while parsing: \"a{} {\""},
    {PROM, "{\"a\xff\"} 1\n", -EINVAL, "line 1: invalid metric name or label names: \"a\\xff\""},
    {PROM, "a{\"b\xc0\"=\"1\"} 1\n", -EINVAL,
     "line 1: invalid metric name or label names: \"b\\xc0\""},
    /* OpenMetrics: openmetricsparse.go */
    {OM, "a 1\n", -EINVAL, "line 2: data does not end with # EOF"},
    {OM, "a 1", -EINVAL, "line 1: data does not end with # EOF"},
    {OM, "", -EINVAL, "line 1: data does not end with # EOF"},
    {OM, "# EOF\na 1\n", -EINVAL, "line 1: unexpected data after # EOF"},
    {OM, "# EOF\n\n", -EINVAL, "line 1: unexpected data after # EOF"},
    {OM, "a 1\n\n# EOF\n", -EINVAL,
     "line 2: expected a valid start token, got \"\\n\" (\"INVALID\") while parsing: \"\\n\""},
    {OM, "# a comment\n# EOF\n", -EINVAL,
     "line 1: expected a valid start token, got \"a\" (\"INVALID\") while parsing: \"# a\""},
    {OM, "a  1\n# EOF\n", -EINVAL,
     "line 1: expected value after metric, got \" \" (\"INVALID\") while parsing: \"a \""},
    {OM, "a\t1\n# EOF\n", -EINVAL,
     "line 1: expected value after metric, got \"\\t\" (\"INVALID\") while parsing: \"a\\t\""},
    {OM, "a{b=\"1\" c=\"2\"} 1\n# EOF\n", -EINVAL,
     "line 1: expected comma or brace close, got \" \" (\"INVALID\") while parsing: "
     "\"a{b=\\\"1\\\" \""},
    {OM, "a{b=\"x\ny\"} 1\n# EOF\n", -EINVAL,
     "line 1: expected label value, got \"\\\"\" (\"INVALID\") while parsing: \"a{b=\\\"\""},
    {OM, "# HELP a\n# EOF\n", -EINVAL, "line 1: expected text in HELP"},
    {OM, "# TYPE a untyped\n# EOF\n", -EINVAL, "line 1: invalid metric type \"untyped\""},
    {OM, "# UNIT a_seconds bytes\n# EOF\n", -EINVAL,
     "line 1: unit \"bytes\" not a suffix of metric \"a_seconds\""},
    {OM, "a 1 NaN\n# EOF\n", -EINVAL, "line 1: invalid timestamp NaN"},
    {OM, "a 1 # {\"x\"} 1\n# EOF\n", -EINVAL,
     "line 1: expected label name, got \"} \" (\"BCLOSE\") while parsing: "
     "\"a 1 # {\\\"x\\\"} \""},
    {OM, "a 1 # {b=\"c\"}\n# EOF\n", -EINVAL,
     "line 1: expected value after exemplar labels, got \"\\n\" (\"INVALID\") while parsing: "
     "\"a 1 # {b=\\\"c\\\"}\\n\""},
    {OM, "a 1 # {b=\"c\"} 1 2 3\n# EOF\n", -EINVAL,
     "line 1: expected next entry after exemplar timestamp, got \" \" (\"INVALID\") while "
     "parsing: \"a 1 # {b=\\\"c\\\"} 1 2 \""},
    {OM, "a 1 # {b=\"c\"} 1 +Inf\n# EOF\n", -EINVAL, "line 1: invalid exemplar timestamp +Inf"},
    {OM, "a 1 # {b=\"c\"} 1", -EINVAL, "line 1: data does not end with # EOF"},
    {OM, "a{b=\"\xed\xa0\x80\"} 1\n# EOF\n", -EINVAL,
     "line 1: invalid UTF-8 label value: \"\\\"\\xed\\xa0\\x80\\\"\""},
    {OM, "a{b=\"1\",b=\"1\"} 1\n# EOF\n", -EINVAL,
     "line 1: invalid sample: non-unique label names: \"b\""},
};

static void test_expfmt_refuses_what_upstream_refuses(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof refused_cases / sizeof refused_cases[0]; i++) {
        const struct refused_case *c = &refused_cases[i];
        expect_refused(c->format, c->input, strlen(c->input), c->code, c->message);
    }
}

/* ---- hostile input and limits ---- */

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_expfmt_refuses_a_1mb_label_value_past_the_line_limit(void **state)
{
    (void)state;
    char *value = repeat('v', 1 << 20);
    size_t size = strlen(value) + 64;
    char *input = malloc(size);
    assert_non_null(input);
    snprintf(input, size, "ok 1\na{b=\"%s\"} 1\n", value);
    expect_refused(PROM, input, strlen(input), -E2BIG,
                   "line 2: line is 1048585 bytes, more than 262144 (the limit max_line_bytes)");

    /* With the line limit raised the same body parses, and the value comes back whole. */
    struct expfmt_limits limits = {EXPFMT_MAX_BODY_BYTES, 2 << 20, EXPFMT_MAX_LABELS, 10};
    struct expfmt_body *body = NULL;
    struct error err = {0};
    assert_int_equal(expfmt_parse(input, strlen(input), PROM, &limits, &body, &err), 0);
    assert_int_equal(body->family_count, 2);
    assert_string_equal(body->families[1].samples[0].labels[0].value, value);
    expfmt_body_destroy(body);
    free(input);
    free(value);
}

static void test_expfmt_refuses_bodies_past_the_body_labels_and_samples_limits(void **state)
{
    (void)state;
    struct expfmt_limits limits = {16, 1024, 2, 2};
    struct expfmt_body *body = NULL;
    struct error err = {0};
    const char *big = "a 1\nb 2\nc 3\nd 4\ne 5\n";
    assert_int_equal(expfmt_parse(big, strlen(big), PROM, &limits, &body, &err), -E2BIG);
    assert_string_equal(err.message, "body is 20 bytes, more than 16 (the limit max_body_bytes)");
    assert_null(body);

    limits.max_body_bytes = 1024;
    const char *labels = "a{x=\"1\",y=\"2\",z=\"3\"} 1\n";
    assert_int_equal(expfmt_parse(labels, strlen(labels), PROM, &limits, &body, &err), -E2BIG);
    assert_string_equal(err.message, "line 1: more than 2 labels (the limit max_labels)");

    assert_int_equal(expfmt_parse(big, strlen(big), PROM, &limits, &body, &err), -E2BIG);
    assert_string_equal(err.message, "line 3: more than 2 samples (the limit max_samples)");
    assert_null(body);

    const char *metadata = "# TYPE a gauge\n# TYPE b gauge\n# TYPE c gauge\n";
    assert_int_equal(expfmt_parse(metadata, strlen(metadata), PROM, &limits, &body, &err), -E2BIG);
    assert_string_equal(err.message, "line 3: more than 2 families (the limit max_samples)");
    assert_null(body);

    /* The default label limit, with generated names. */
    struct strbuf many = STRBUF_INIT(1 << 20);
    strbuf_puts(&many, "a{");
    for (int i = 0; i < 300; i++)
        strbuf_printf(&many, "l%d=\"v\",", i);
    strbuf_puts(&many, "} 1\n");
    expect_refused(PROM, strbuf_str(&many), many.len, -E2BIG,
                   "line 1: more than 256 labels (the limit max_labels)");
    strbuf_release(&many);
}

static void test_expfmt_survives_every_truncation_of_a_valid_body(void **state)
{
    (void)state;
    /* Every prefix of a body with every construct must parse or fail with a message, never
     * crash or leak (this runs under valgrind and ASan too). */
    static const char body[] =
        "# HELP foo a \\\"help\\\"\n# TYPE foo histogram\n# UNIT foo seconds\n"
        "foo_bucket{le=\"0.1\",a=\"x\\\"y\"} 8 1520879607.789 # {trace_id=\"KOO\"} 0.054 "
        "1520879607.7\n{\"q.name\",b=\"\"} NaN\nfoo_count 17\n# EOF\n";
    for (int format = PROM; format <= OM; format++) {
        for (size_t len = 0; len <= sizeof body - 1; len++) {
            struct expfmt_body *parsed = NULL;
            struct error err = {0};
            int rc = expfmt_parse(body, len, (enum expfmt_format)format, NULL, &parsed, &err);
            if (rc == 0) {
                assert_non_null(parsed);
                expfmt_body_destroy(parsed);
            } else {
                assert_int_equal(rc, -EINVAL);
                assert_true(strncmp(err.message, "line ", 5) == 0);
                assert_null(parsed);
            }
        }
    }
}

static void test_expfmt_survives_random_mutations_of_a_valid_body(void **state)
{
    (void)state;
    /* Bytes that matter to the lexers, dropped at pseudo-random places (a fixed seed, so a
     * failure reproduces). Each result must be a body or an error with its line. */
    static const char body[] =
        "# HELP foo a \\\"help\\\"\n# TYPE foo histogram\n# UNIT foo seconds\n"
        "foo_bucket{le=\"0.1\",a=\"x\\\"y\"} 8 1520879607.789 # {trace_id=\"KOO\"} 0.054 "
        "1520879607.7\n{\"q.name\",b=\"\"} NaN\nfoo_count 17 12\n# EOF\n";
    static const char interesting[] = "{}\"\\\n #=,\t\xff\0.e+-_p1";
    char mutated[sizeof body];
    uint32_t seed = 2463534242u;
    for (int round = 0; round < 4000; round++) {
        memcpy(mutated, body, sizeof body);
        for (int changes = 1 + round % 3; changes > 0; changes--) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            mutated[seed % (sizeof body - 1)] = interesting[(seed >> 8) % (sizeof interesting - 1)];
        }
        struct expfmt_body *parsed = NULL;
        struct error err = {0};
        int rc = expfmt_parse(mutated, sizeof body - 1, round % 2 ? OM : PROM, NULL, &parsed, &err);
        if (rc == 0) {
            assert_non_null(parsed);
            expfmt_body_destroy(parsed);
        } else {
            assert_int_equal(rc, -EINVAL);
            assert_true(strncmp(err.message, "line ", 5) == 0);
            assert_null(parsed);
        }
    }
}

static void test_expfmt_a_nul_byte_ends_a_text_body_as_in_promlex(void **state)
{
    (void)state;
    static const char input[] = "a 1\n\0b 2\n";
    struct expfmt_body *body = NULL;
    struct error err = {0};
    assert_int_equal(expfmt_parse(input, sizeof input - 1, PROM, NULL, &body, &err), 0);
    assert_int_equal(body->family_count, 1);
    expfmt_body_destroy(body);
}

/* ---- choosing the format ---- */

static void test_expfmt_chooses_the_format_from_the_content_type_as_upstream(void **state)
{
    (void)state;
    static const struct {
        const char *content_type;
        enum expfmt_format fallback;
        int rc;
        enum expfmt_format format;
        const char *message;
    } cases[] = {
        {"text/plain; version=0.0.4; charset=utf-8", EXPFMT_FORMAT_NONE, 0, PROM, ""},
        {"application/openmetrics-text; version=1.0.0; charset=utf-8", EXPFMT_FORMAT_NONE, 0, OM,
         ""},
        {"Application/OpenMetrics-Text", EXPFMT_FORMAT_NONE, 0, OM, ""},
        {"", EXPFMT_FORMAT_NONE, -EPROTONOSUPPORT, EXPFMT_FORMAT_NONE,
         "non-compliant scrape target sending blank Content-Type and no "
         "fallback_scrape_protocol specified for target"},
        {"", PROM, 1, PROM,
         "non-compliant scrape target sending blank Content-Type, using "
         "fallback_scrape_protocol \"text/plain\""},
        {"application/json", EXPFMT_FORMAT_NONE, -EPROTONOSUPPORT, EXPFMT_FORMAT_NONE,
         "received unsupported Content-Type \"application/json\" and no "
         "fallback_scrape_protocol specified for target"},
        {"application/vnd.google.protobuf", PROM, 1, PROM,
         "received unsupported Content-Type \"application/vnd.google.protobuf\", using "
         "fallback_scrape_protocol \"text/plain\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum expfmt_format format;
        struct error err = {0};
        int rc =
            expfmt_format_for_content_type(cases[i].content_type, cases[i].fallback, &format, &err);
        if (rc != cases[i].rc || format != cases[i].format ||
            strcmp(err.message, cases[i].message) != 0)
            fail_msg("%s: got %d %d %s", cases[i].content_type, rc, (int)format, err.message);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expfmt_parses_the_text_format_documentation_example),
        cmocka_unit_test(test_expfmt_refuses_negative_text_timestamps_as_upstream_does),
        cmocka_unit_test(test_expfmt_text_format_whitespace_comments_and_help_escapes),
        cmocka_unit_test(test_expfmt_values_parse_as_go_parse_float),
        cmocka_unit_test(test_expfmt_quoted_names_of_prometheus_3),
        cmocka_unit_test(test_expfmt_repeated_and_late_metadata_as_upstream_keeps_it),
        cmocka_unit_test(test_expfmt_parses_the_openmetrics_overall_example),
        cmocka_unit_test(test_expfmt_parses_openmetrics_counter_with_exemplar_and_timestamps),
        cmocka_unit_test(test_expfmt_parses_openmetrics_histogram_with_exemplars),
        cmocka_unit_test(test_expfmt_parses_openmetrics_gauge_unknown_info_stateset_gaugehistogram),
        cmocka_unit_test(test_expfmt_openmetrics_escapes_nan_inf_and_trailing_comma),
        cmocka_unit_test(test_expfmt_openmetrics_counter_without_total_is_accepted_as_upstream),
        cmocka_unit_test(test_expfmt_refuses_what_upstream_refuses),
        cmocka_unit_test(test_expfmt_refuses_a_1mb_label_value_past_the_line_limit),
        cmocka_unit_test(test_expfmt_refuses_bodies_past_the_body_labels_and_samples_limits),
        cmocka_unit_test(test_expfmt_survives_every_truncation_of_a_valid_body),
        cmocka_unit_test(test_expfmt_survives_random_mutations_of_a_valid_body),
        cmocka_unit_test(test_expfmt_a_nul_byte_ends_a_text_body_as_in_promlex),
        cmocka_unit_test(test_expfmt_chooses_the_format_from_the_content_type_as_upstream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
