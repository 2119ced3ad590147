/*
 * test_report.c - junit.xml and findings.md are rebuilt from every scenario's result.json in
 * the report folder: one testcase per scenario, failures with their messages, findings with
 * their measured evidence.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "report.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void add_result(const char *root, const char *name, const char *json)
{
    char dir[PATH_MAX];
    assert_int_equal(report_prepare_dir(root, name, dir, sizeof(dir), NULL), 0);
    json_t *r = json_loads(json, 0, NULL);
    assert_non_null(r);
    assert_int_equal(report_write_result(dir, r, NULL), 0);
    json_decref(r);
}

static void test_aggregate_lists_every_scenario(void **state)
{
    (void)state;
    char root[] = "/tmp/test_report_XXXXXX";
    assert_non_null(mkdtemp(root));
    add_result(root, "b-fails",
               "{\"status\":\"fail\",\"duration_ms\":1500,\"steps\":[{\"label\":\"wait loki\","
               "\"status\":\"fail\",\"error\":\"timed out <after> 1s\"}],\"checks\":[],"
               "\"finding\":{\"text\":\"Retries & "
               "drops.\",\"evidence\":[{\"count\":\"loki.requests\",\"value\":3}]}}");
    add_result(root, "a-passes",
               "{\"status\":\"pass\",\"duration_ms\":250,\"steps\":[],\"checks\":[],"
               "\"finding\":{\"text\":\"Logs "
               "arrive.\",\"evidence\":[{\"count\":\"loki.records\",\"value\":6},"
               "{\"count\":\"collector.otelcol_exporter_sent_log_records\",\"value\":6}]}}");
    add_result(root, "c-error", "{\"status\":\"error\",\"error\":\"no such file\"}");
    assert_int_equal(report_aggregate(root, NULL), 0);

    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/junit.xml", root);
    char *junit = slurp(path);
    assert_non_null(strstr(junit, "tests=\"3\" failures=\"1\" errors=\"1\""));
    assert_non_null(
        strstr(junit, "<testcase classname=\"scenario\" name=\"a-passes\" time=\"0.250\">"));
    assert_non_null(
        strstr(junit, "<failure message=\"step 0 (wait loki): timed out &lt;after&gt; 1s\">"));
    assert_non_null(strstr(junit, "<error message=\"no such file\">"));
    assert_true(strstr(junit, "a-passes") < strstr(junit, "b-fails"));
    free(junit);

    snprintf(path, sizeof(path), "%s/findings.md", root);
    char *findings = slurp(path);
    assert_non_null(strstr(findings, "## a-passes (PASS)\n\nLogs arrive.\n\nEvidence: "
                                     "`loki.records` = 6, "
                                     "`collector.otelcol_exporter_sent_log_records` = 6.\n"));
    assert_non_null(strstr(findings, "## b-fails (FAIL)"));
    assert_non_null(strstr(findings, "not confirmed by this run"));
    assert_null(strstr(findings, "c-error"));
    free(findings);
    report_remove_tree(root);
}

static void test_xml_escape(void **state)
{
    (void)state;
    char out[64];
    report_xml_escape("a<b>&\"'\x01", out, sizeof(out));
    assert_string_equal(out, "a&lt;b&gt;&amp;&quot;&apos;?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregate_lists_every_scenario),
        cmocka_unit_test(test_xml_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
