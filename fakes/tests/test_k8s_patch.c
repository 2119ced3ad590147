/*
 * test_k8s_patch.c - the PATCH bodies of the fake Kubernetes API as tables: which media types a
 * built-in type and a custom resource take (and the 415 text), RFC 7386 merge patches (the RFC's
 * own examples), RFC 6902 JSON patches with json-patch.v4's quirks, and the 400/413/422 answers
 * for bodies that do not decode or do not apply. JSON is written with single quotes.
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

#include "k8s_patch.h"
#include "k8s_resources.h"

static char *unquote(const char *text)
{
    char *copy = strdup(text);
    assert_non_null(copy);
    for (char *p = copy; *p; p++)
        if (*p == '\'')
            *p = '"';
    return copy;
}

static json_t *quoted_json(const char *text)
{
    char *copy = unquote(text);
    json_error_t jerr;
    json_t *j = json_loads(copy, JSON_DECODE_ANY, &jerr);
    if (!j)
        fail_msg("bad test JSON %s: %s", text, jerr.text);
    free(copy);
    return j;
}

static const struct k8s_resource_type *pods(void)
{
    return k8s_resource_find("", "pods");
}

static const struct k8s_resource_type *servicemonitors(void)
{
    return k8s_resource_find("monitoring.coreos.com", "servicemonitors");
}

#define ACCEPTED_BUILT_IN                                                                          \
    "the body of the request was in an unknown format - accepted media types include: "            \
    "application/json-patch+json, application/merge-patch+json, "                                  \
    "application/strategic-merge-patch+json"

static void test_media_types_as_the_patch_handler_reads_them(void **state)
{
    enum k8s_patch_type type;
    struct error err = {0};
    assert_int_equal(
        k8s_patch_type_of("application/merge-patch+json; charset=utf-8", pods(), &type, &err), 0);
    assert_int_equal(type, K8S_PATCH_MERGE);
    assert_int_equal(k8s_patch_type_of("application/json-patch+json", pods(), &type, &err), 0);
    assert_int_equal(type, K8S_PATCH_JSON);
    assert_int_equal(
        k8s_patch_type_of("application/strategic-merge-patch+json", pods(), &type, &err), 0);
    assert_int_equal(type, K8S_PATCH_STRATEGIC);
    /* server-side apply is not served; nothing but the part before ';' is cleaned */
    const char *refused[] = {"application/apply-patch+yaml", "application/json", NULL,
                             " application/merge-patch+json", "Application/Merge-Patch+json"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_int_equal(k8s_patch_type_of(refused[i], pods(), &type, &err), -ENOTSUP);
        assert_string_equal(err.message, ACCEPTED_BUILT_IN);
    }
    /* a custom resource takes no strategic merge patch (kubectl sends merge patches) */
    assert_int_equal(
        k8s_patch_type_of("application/strategic-merge-patch+json", servicemonitors(), &type, &err),
        -ENOTSUP);
    assert_string_equal(err.message,
                        "the body of the request was in an unknown format - accepted media types "
                        "include: application/json-patch+json, application/merge-patch+json");
    assert_int_equal(k8s_patch_http_status(-ENOTSUP), 415);
    assert_string_equal(k8s_patch_reason(-ENOTSUP), "UnsupportedMediaType");
}

struct patch_case {
    enum k8s_patch_type type;
    const char *live, *patch;
    const char *want;    /* NULL when an error is expected */
    int code;            /* expected error */
    const char *message; /* expected message */
};

#define GENERIC_422 "the server rejected our request due to an error in our request"
#define DOC "{'metadata':{'name':'x','labels':{'a':'1'}},'spec':{'list':[1,2,3]}}"

static const struct patch_case cases[] = {
    /* RFC 7386 appendix A, on objects */
    {K8S_PATCH_MERGE, "{'a':'b'}", "{'a':'c'}", "{'a':'c'}", 0, NULL},
    {K8S_PATCH_MERGE, "{'a':'b'}", "{'b':'c'}", "{'a':'b','b':'c'}", 0, NULL},
    {K8S_PATCH_MERGE, "{'a':'b'}", "{'a':null}", "{}", 0, NULL},
    {K8S_PATCH_MERGE, "{'a':'b','b':'c'}", "{'a':null}", "{'b':'c'}", 0, NULL},
    {K8S_PATCH_MERGE, "{'a':['b']}", "{'a':'c'}", "{'a':'c'}", 0, NULL},
    {K8S_PATCH_MERGE, "{'a':'c'}", "{'a':['b']}", "{'a':['b']}", 0, NULL},
    {K8S_PATCH_MERGE, "{'a':{'b':'c'}}", "{'a':{'b':'d','c':null}}", "{'a':{'b':'d'}}", 0, NULL},
    {K8S_PATCH_MERGE, "{'a':[{'b':'c'}]}", "{'a':[1]}", "{'a':[1]}", 0, NULL},
    {K8S_PATCH_MERGE, "{'e':null}", "{'a':1}", "{'e':null,'a':1}", 0, NULL},
    {K8S_PATCH_MERGE, "{}", "{'a':{'bb':{'ccc':null}}}", "{'a':{'bb':{}}}", 0, NULL},
    /* json-patch prunes nulls inside objects of a new list, not the list's own nulls */
    {K8S_PATCH_MERGE, "{}", "{'a':[{'x':null,'y':1},null]}", "{'a':[{'y':1},null]}", 0, NULL},
    {K8S_PATCH_MERGE, "{}", "[1]", NULL, -EBADMSG,
     "error decoding patch: json: cannot unmarshal array into Go value of type "
     "map[string]interface {}"},
    {K8S_PATCH_MERGE, "{}", "null", NULL, -EBADMSG, "Invalid JSON Patch"},
    /* RFC 6902 */
    {K8S_PATCH_JSON, DOC, "[{'op':'add','path':'/metadata/labels/b','value':'2'}]",
     "{'metadata':{'name':'x','labels':{'a':'1','b':'2'}},'spec':{'list':[1,2,3]}}", 0, NULL},
    {K8S_PATCH_JSON, DOC,
     "[{'op':'add','path':'/spec/list/1','value':9},{'op':'add','path':'/spec/list/-','value':4}"
     "]",
     "{'metadata':{'name':'x','labels':{'a':'1'}},'spec':{'list':[1,9,2,3,4]}}", 0, NULL},
    {K8S_PATCH_JSON, DOC, "[{'op':'remove','path':'/spec/list/-1'}]",
     "{'metadata':{'name':'x','labels':{'a':'1'}},'spec':{'list':[1,2]}}", 0, NULL},
    {K8S_PATCH_JSON, DOC, "[{'op':'replace','path':'/metadata/labels/zz','value':'new'}]",
     "{'metadata':{'name':'x','labels':{'a':'1','zz':'new'}},'spec':{'list':[1,2,3]}}", 0,
     NULL}, /* quirk: replace of a missing member adds it */
    {K8S_PATCH_JSON, DOC,
     "[{'op':'move','from':'/metadata/labels/a','path':'/metadata/labels/c'},{'op':'copy',"
     "'from':'/spec/list','path':'/spec/copy'}]",
     "{'metadata':{'name':'x','labels':{'c':'1'}},'spec':{'list':[1,2,3],'copy':[1,2,3]}}", 0,
     NULL},
    {K8S_PATCH_JSON, DOC,
     "[{'op':'test','path':'/metadata/name','value':'x'},{'op':'add','path':'/metadata/labels/"
     "app.kubernetes.io~1name','value':'web'}]",
     "{'metadata':{'name':'x','labels':{'a':'1','app.kubernetes.io/name':'web'}},'spec':{'list':"
     "[1,2,3]}}",
     0, NULL},
    {K8S_PATCH_JSON, DOC, "null", DOC, 0, NULL},
    {K8S_PATCH_JSON, DOC, "[{'op':'test','path':'/metadata/name','value':'y'}]", NULL, -EINVAL,
     GENERIC_422},
    {K8S_PATCH_JSON, DOC, "[{'op':'remove','path':'/metadata/missing'}]", NULL, -EINVAL,
     GENERIC_422},
    {K8S_PATCH_JSON, DOC, "[{'op':'add','path':'/nope/x','value':1}]", NULL, -EINVAL, GENERIC_422},
    {K8S_PATCH_JSON, DOC, "[{'op':'replace','path':'/spec/list/3','value':1}]", NULL, -EINVAL,
     GENERIC_422},
    {K8S_PATCH_JSON, DOC, "[{'op':'frobnicate','path':'/a'}]", NULL, -EINVAL, GENERIC_422},
    {K8S_PATCH_JSON, DOC, "[{'op':'add'}]", NULL, -EINVAL, GENERIC_422},
    {K8S_PATCH_JSON, DOC, "[{'op':'replace','path':'','value':[1]}]", NULL, -EINVAL,
     " \"\" is invalid: patch: Invalid value: \"[1]\": json: cannot unmarshal array into Go "
     "value of type map[string]interface {}"},
    {K8S_PATCH_JSON, DOC, "{}", NULL, -EBADMSG,
     "error decoding patch: json: cannot unmarshal object into Go value of type "
     "[]handlers.jsonPatchOp"},
    {K8S_PATCH_JSON, DOC, "[{'op':'add','path':1}]", NULL, -EBADMSG,
     "error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.path "
     "of type string"},
    {K8S_PATCH_JSON, DOC, "['add']", NULL, -EBADMSG,
     "error decoding patch: json: cannot unmarshal string into Go value of type "
     "handlers.jsonPatchOp"},
    /* strategic merge: the body must be a map */
    {K8S_PATCH_STRATEGIC, DOC, "[]", NULL, -EBADMSG,
     "json: cannot unmarshal array into Go value of type map[string]interface {}"},
    {K8S_PATCH_STRATEGIC, DOC, "null", DOC, 0, NULL},
};

static void test_patch_table(void **state)
{
    int mismatches = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct patch_case *c = &cases[i];
        json_t *live = quoted_json(c->live), *before = json_deep_copy(live);
        char *body = unquote(c->patch);
        json_t *out = NULL;
        struct error err = {0};
        int rc = k8s_patch_apply(c->type, pods(), live, body, strlen(body), &out, &err);
        if (c->want) {
            json_t *want = quoted_json(c->want);
            if (rc != 0 || !json_equal(out, want)) {
                char *got = out ? json_dumps(out, JSON_COMPACT) : NULL;
                fprintf(stderr, "case %zu (%s): rc %d (%s), got %s\n", i, c->patch, rc, err.message,
                        got ? got : "nothing");
                free(got);
                mismatches++;
            }
            json_decref(want);
        } else if (rc != c->code || strcmp(err.message, c->message) || out) {
            fprintf(stderr, "case %zu (%s): rc %d \"%s\", want %d \"%s\"\n", i, c->patch, rc,
                    err.message, c->code, c->message);
            mismatches++;
        }
        if (!json_equal(live, before)) {
            fprintf(stderr, "case %zu: the live object was changed\n", i);
            mismatches++;
        }
        json_decref(out);
        json_decref(live);
        json_decref(before);
        free(body);
    }
    if (mismatches)
        fail_msg("%d mismatch(es), listed above", mismatches);
}

static void test_malformed_bodies_are_400_with_the_parser_message(void **state)
{
    json_t *live = json_object(), *out = NULL;
    struct error err = {0};
    const enum k8s_patch_type types[] = {K8S_PATCH_JSON, K8S_PATCH_MERGE, K8S_PATCH_STRATEGIC};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(k8s_patch_apply(types[i], pods(), live, "{not json", 9, &out, &err),
                         -EBADMSG);
        assert_null(out);
        assert_int_equal(k8s_patch_http_status(err.code), 400);
        assert_int_equal(k8s_patch_apply(types[i], pods(), live, "", 0, &out, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "unexpected end of JSON input"));
    }
    json_decref(live);
}

static void test_more_than_ten_thousand_operations_are_413(void **state)
{
    /* empty operations: they decode, and the count is checked before any is applied */
    size_t n = K8S_PATCH_MAX_OPERATIONS + 1, cap = n * 3 + 8, w = 0;
    char *body = malloc(cap);
    assert_non_null(body);
    body[w++] = '[';
    for (size_t i = 0; i < n; i++)
        w += (size_t)snprintf(body + w, cap - w, "%s{}", i ? "," : "");
    body[w++] = ']';
    json_t *live = json_object(), *out = NULL;
    struct error err = {0};
    assert_int_equal(k8s_patch_apply(K8S_PATCH_JSON, pods(), live, body, w, &out, &err), -EFBIG);
    assert_string_equal(err.message, "Request entity too large: The allowed maximum operations in "
                                     "a JSON patch is 10000, got 10001");
    assert_int_equal(k8s_patch_http_status(err.code), 413);
    json_decref(live);
    free(body);
}

/* Copying a list onto its own end doubles it; the accumulated copies are bounded. */
static void test_copies_cannot_grow_an_object_without_bound(void **state)
{
    char body[4096];
    size_t w = (size_t)snprintf(body, sizeof(body), "[");
    for (int i = 0; i < 60; i++)
        w +=
            (size_t)snprintf(body + w, sizeof(body) - w,
                             "%s{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/a/-\"}", i ? "," : "");
    snprintf(body + w, sizeof(body) - w, "]");
    char *big = malloc(64 * 1024 + 1); /* few, large values: cheap under valgrind */
    assert_non_null(big);
    memset(big, 'x', 64 * 1024);
    big[64 * 1024] = '\0';
    json_t *live = json_pack("{s:[s]}", "a", big), *out = NULL;
    free(big);
    struct error err = {0};
    assert_int_equal(k8s_patch_apply(K8S_PATCH_JSON, pods(), live, body, strlen(body), &out, &err),
                     -EINVAL);
    assert_null(out);
    json_decref(live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_media_types_as_the_patch_handler_reads_them),
        cmocka_unit_test(test_patch_table),
        cmocka_unit_test(test_malformed_bodies_are_400_with_the_parser_message),
        cmocka_unit_test(test_more_than_ten_thousand_operations_are_413),
        cmocka_unit_test(test_copies_cannot_grow_an_object_without_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
