/*
 * test_k8s_table.c - server-side printing: which Accept headers get a Table, the ages
 * duration.HumanDuration prints, the pod cells printPod computes (as a table of pod states ->
 * READY, STATUS, RESTARTS), the default and custom-resource columns, and the row objects
 * includeObject asks for. JSON is written with single quotes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "k8s_resources.h"
#include "k8s_table.h"

/* 2024-05-01T10:00:00Z, the clock of these tests */
#define NOW 1714557600

static json_t *quoted_json(const char *text)
{
    char *copy = strdup(text);
    assert_non_null(copy);
    for (char *p = copy; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t jerr;
    json_t *j = json_loads(copy, 0, &jerr);
    if (!j)
        fail_msg("bad test JSON %s: %s", text, jerr.text);
    free(copy);
    return j;
}

static const char *cell(const json_t *table, size_t row, size_t column)
{
    const json_t *rows = json_object_get(table, "rows");
    const char *s = json_string_value(
        json_array_get(json_object_get(json_array_get(rows, row), "cells"), column));
    return s ? s : "(none)";
}

static void test_accept_headers_that_ask_for_a_table(void **state)
{
    const struct {
        const char *accept, *want;
    } cases[] = {
        {"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
         "g=meta.k8s.io,application/json",
         "v1"},
        {"application/json;as=Table;v=v1beta1;g=meta.k8s.io", "v1beta1"},
        {"application/json; as=Table; g=meta.k8s.io; v=v1", "v1"},
        {"application/json", NULL},
        {"application/json, application/json;as=Table;v=v1;g=meta.k8s.io", NULL},
        {"application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json", NULL},
        {"application/json;as=Table;v=v2;g=meta.k8s.io", NULL},
        {NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = k8s_table_version_wanted(cases[i].accept);
        if (!cases[i].want)
            assert_null(got);
        else
            assert_string_equal(got, cases[i].want);
    }
    enum k8s_table_include include;
    struct error err = {0};
    assert_int_equal(k8s_table_include_parse(NULL, &include, &err), 0);
    assert_int_equal(include, K8S_TABLE_INCLUDE_METADATA);
    assert_int_equal(k8s_table_include_parse("None", &include, &err), 0);
    assert_int_equal(include, K8S_TABLE_INCLUDE_NONE);
    assert_int_equal(k8s_table_include_parse("Bogus", &include, &err), -EBADMSG);
    assert_string_equal(err.message, "unrecognized includeObject value: \"Bogus\"");
}

static void test_human_durations(void **state)
{
    const struct {
        int64_t seconds;
        const char *want;
    } cases[] = {
        {-5, "<invalid>"},
        {-1, "0s"},
        {0, "0s"},
        {119, "119s"},
        {120, "2m"},
        {150, "2m30s"},
        {599, "9m59s"},
        {600, "10m"},
        {3 * 3600 - 1, "179m"},
        {3 * 3600, "3h"},
        {3 * 3600 + 60, "3h1m"},
        {8 * 3600, "8h"},
        {47 * 3600, "47h"},
        {48 * 3600, "2d"},
        {50 * 3600, "2d2h"},
        {8 * 86400, "8d"},
        {2 * 365 * 86400, "2y"},
        {2 * 365 * 86400 + 86400, "2y1d"},
        {9 * 365 * 86400, "9y"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char got[32];
        k8s_table_human_duration(cases[i].seconds, got, sizeof(got));
        if (strcmp(got, cases[i].want))
            fail_msg("%lld s: got %s, want %s", (long long)cases[i].seconds, got, cases[i].want);
    }
}

#define META "'metadata':{'name':'p','creationTimestamp':'2024-05-01T09:55:00Z'}"
#define ONE_CONTAINER "'spec':{'containers':[{'name':'app'}]}"
#define TWO_CONTAINERS "'spec':{'containers':[{'name':'app'},{'name':'side'}]}"

/* What printPod shows for pods in various states. */
static void test_pod_cells_as_print_pod_computes_them(void **state)
{
    const struct {
        const char *pod, *ready, *status, *restarts;
    } cases[] = {
        {"{" META "," ONE_CONTAINER ",'status':{'phase':'Pending'}}", "0/1", "Pending", "0"},
        {"{" META "," ONE_CONTAINER ",'status':{'phase':'Pending','containerStatuses':[{'name':"
         "'app','ready':false,'restartCount':0,'state':{'waiting':{'reason':"
         "'ContainerCreating'}}}]}}",
         "0/1", "ContainerCreating", "0"},
        {"{" META "," TWO_CONTAINERS ",'status':{'phase':'Running','containerStatuses':[{'name':"
         "'app','ready':true,'restartCount':1,'state':{'running':{}}},{'name':'side','ready':"
         "true,'restartCount':2,'state':{'running':{}}}]}}",
         "2/2", "Running", "3"},
        {"{" META "," ONE_CONTAINER ",'status':{'phase':'Running','containerStatuses':[{'name':"
         "'app','ready':false,'restartCount':3,'state':{'waiting':{'reason':'CrashLoopBackOff'}},"
         "'lastState':{'terminated':{'exitCode':1,'finishedAt':'2024-05-01T09:55:00Z'}}}]}}",
         "0/1", "CrashLoopBackOff", "3 (5m ago)"},
        {"{" META "," ONE_CONTAINER ",'status':{'phase':'Succeeded','containerStatuses':[{'name':"
         "'app','ready':false,'state':{'terminated':{'exitCode':0,'reason':'Completed'}}}]}}",
         "0/1", "Completed", "0"},
        {"{" META "," ONE_CONTAINER ",'status':{'phase':'Failed','containerStatuses':[{'name':"
         "'app','state':{'terminated':{'exitCode':137}}}]}}",
         "0/1", "ExitCode:137", "0"},
        {"{" META ",'spec':{'initContainers':[{'name':'init'}],'containers':[{'name':'app'}]},"
         "'status':{'phase':'Pending','initContainerStatuses':[{'name':'init','state':{"
         "'running':{}}}]}}",
         "0/1", "Init:0/1", "0"},
        {"{" META ",'spec':{'initContainers':[{'name':'init'}],'containers':[{'name':'app'}]},"
         "'status':{'phase':'Pending','initContainerStatuses':[{'name':'init','state':{"
         "'terminated':{'exitCode':1,'reason':'Error'}}}]}}",
         "0/1", "Init:Error", "0"},
        {"{'metadata':{'name':'p','creationTimestamp':'2024-05-01T09:55:00Z',"
         "'deletionTimestamp':'2024-05-01T10:00:00Z'}," ONE_CONTAINER
         ",'status':{'phase':'Running','containerStatuses':[{'name':'app','ready':true,'state':{"
         "'running':{}}}]}}",
         "1/1", "Terminating", "0"},
        {"{" META "," ONE_CONTAINER ",'status':{'phase':'Pending','conditions':[{'type':"
         "'PodScheduled','status':'False','reason':'SchedulingGated'}]}}",
         "0/1", "SchedulingGated", "0"},
    };
    const struct k8s_resource_type *pods = k8s_resource_find("", "pods");
    struct k8s_table_options o = {.version = "v1", .now_s = NOW};
    int mismatches = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *pod = quoted_json(cases[i].pod);
        json_t *table = k8s_table_of_object(pods, pod, &o);
        assert_non_null(table);
        if (strcmp(cell(table, 0, 1), cases[i].ready) ||
            strcmp(cell(table, 0, 2), cases[i].status) ||
            strcmp(cell(table, 0, 3), cases[i].restarts) || strcmp(cell(table, 0, 4), "5m")) {
            fprintf(stderr, "case %zu: got %s %s %s %s, want %s %s %s 5m\n", i, cell(table, 0, 1),
                    cell(table, 0, 2), cell(table, 0, 3), cell(table, 0, 4), cases[i].ready,
                    cases[i].status, cases[i].restarts);
            mismatches++;
        }
        json_decref(table);
        json_decref(pod);
    }
    if (mismatches)
        fail_msg("%d mismatch(es), listed above", mismatches);
}

static void test_pod_table_has_the_wide_columns_and_completed_rows(void **state)
{
    const struct k8s_resource_type *pods = k8s_resource_find("", "pods");
    json_t *list = quoted_json(
        "{'kind':'PodList','apiVersion':'v1','metadata':{'resourceVersion':'42'},'items':[{" META
        ",'spec':{'nodeName':'kind-worker','containers':[{'name':'app'}]},'status':{'phase':"
        "'Succeeded','podIPs':[{'ip':'10.0.0.7'}]}}]}");
    struct k8s_table_options o = {.version = "v1", .now_s = NOW};
    json_t *table = k8s_table_of_list(pods, list, &o);
    assert_string_equal(json_string_value(json_object_get(table, "kind")), "Table");
    assert_string_equal(json_string_value(json_object_get(table, "apiVersion")), "meta.k8s.io/v1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(table, "metadata"), "resourceVersion")),
        "42");
    json_t *columns = json_object_get(table, "columnDefinitions");
    assert_int_equal(json_array_size(columns), 9);
    const char *names[] = {"Name", "Ready", "Status",         "Restarts",       "Age",
                           "IP",   "Node",  "Nominated Node", "Readiness Gates"};
    for (size_t i = 0; i < 9; i++) {
        json_t *c = json_array_get(columns, i);
        assert_string_equal(json_string_value(json_object_get(c, "name")), names[i]);
        assert_int_equal(json_integer_value(json_object_get(c, "priority")), i < 5 ? 0 : 1);
    }
    assert_string_equal(cell(table, 0, 5), "10.0.0.7");
    assert_string_equal(cell(table, 0, 6), "kind-worker");
    assert_string_equal(cell(table, 0, 7), "<none>");
    json_t *row = json_array_get(json_object_get(table, "rows"), 0);
    json_t *condition = json_array_get(json_object_get(row, "conditions"), 0);
    assert_string_equal(json_string_value(json_object_get(condition, "type")), "Completed");
    assert_string_equal(json_string_value(json_object_get(condition, "reason")), "Succeeded");
    json_t *object = json_object_get(row, "object");
    assert_string_equal(json_string_value(json_object_get(object, "kind")),
                        "PartialObjectMetadata");
    assert_string_equal(json_string_value(json_object_get(object, "apiVersion")), "meta.k8s.io/v1");
    assert_null(json_object_get(object, "spec"));
    json_decref(table);
    json_decref(list);
}

static void test_other_types_get_name_and_creation_columns(void **state)
{
    json_t *cm = quoted_json("{'kind':'ConfigMap','apiVersion':'v1'," META ",'data':{'a':'1'}}");
    struct k8s_table_options o = {
        .version = "v1beta1", .include = K8S_TABLE_INCLUDE_OBJECT, .now_s = NOW};
    json_t *table = k8s_table_of_object(k8s_resource_find("", "configmaps"), cm, &o);
    json_t *columns = json_object_get(table, "columnDefinitions");
    assert_int_equal(json_array_size(columns), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(columns, 1), "name")),
                        "Created At");
    assert_string_equal(json_string_value(json_object_get(json_array_get(columns, 1), "type")),
                        "date");
    assert_string_equal(cell(table, 0, 0), "p");
    assert_string_equal(cell(table, 0, 1), "2024-05-01T09:55:00Z");
    assert_string_equal(json_string_value(json_object_get(table, "apiVersion")),
                        "meta.k8s.io/v1beta1");
    json_t *object = json_object_get(json_array_get(json_object_get(table, "rows"), 0), "object");
    assert_string_equal(json_string_value(json_object_get(object, "kind")), "ConfigMap");
    json_decref(table);

    /* custom resources: the CRD default, NAME and AGE */
    o.include = K8S_TABLE_INCLUDE_NONE;
    o.no_headers = true;
    table =
        k8s_table_of_object(k8s_resource_find("monitoring.coreos.com", "servicemonitors"), cm, &o);
    assert_true(json_is_null(json_object_get(table, "columnDefinitions")));
    assert_string_equal(cell(table, 0, 1), "5m");
    assert_true(
        json_is_null(json_object_get(json_array_get(json_object_get(table, "rows"), 0), "object")));
    json_decref(table);
    o.no_headers = false;
    table =
        k8s_table_of_object(k8s_resource_find("monitoring.coreos.com", "servicemonitors"), cm, &o);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(table, "columnDefinitions"), 1), "name")),
        "Age");
    json_decref(table);
    json_decref(cm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_headers_that_ask_for_a_table),
        cmocka_unit_test(test_human_durations),
        cmocka_unit_test(test_pod_cells_as_print_pod_computes_them),
        cmocka_unit_test(test_pod_table_has_the_wide_columns_and_completed_rows),
        cmocka_unit_test(test_other_types_get_name_and_creation_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
