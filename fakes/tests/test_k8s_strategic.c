/*
 * test_k8s_strategic.c - strategic merge patch as the API server applies it, as a table:
 * live object x patch -> result, or -> the error code and message. JSON is written with single
 * quotes for readability. The cases follow what kubectl apply sends for built-in types
 * ($setElementOrder, merged containers, ports and env, $retainKeys, $deleteFromPrimitiveList)
 * and the directives and errors of apimachinery's strategicpatch tests. Every case runs; the
 * table fails once at the end, listing each mismatch.
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

#include "k8s_strategic.h"

/* JSON with ' for " (caller decrefs). */
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

struct smp_case {
    const char *name;
    const char *group, *kind;
    const char *live, *patch;
    const char *want;    /* the result, or NULL when an error is expected */
    int code;            /* expected error */
    const char *message; /* expected error message */
};

#define POD_AB                                                                                     \
    "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'a','image':'x:1','ports':[{"          \
    "'containerPort':80}]},{'name':'b','image':'y:1'}]}}"

static const struct smp_case cases[] = {
    {"kubectl apply: new image of one container, order kept", "", "Pod", POD_AB,
     "{'spec':{'$setElementOrder/containers':[{'name':'a'},{'name':'b'}],'containers':[{"
     "'image':'x:2','name':'a'}]}}",
     "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'a','image':'x:2','ports':[{"
     "'containerPort':80}]},{'name':'b','image':'y:1'}]}}",
     0, NULL},
    {"ports merge by containerPort; a new item goes first without $setElementOrder", "", "Pod",
     POD_AB, "{'spec':{'containers':[{'name':'a','ports':[{'containerPort':443}]}]}}",
     "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'a','image':'x:1','ports':[{"
     "'containerPort':443},{'containerPort':80}]},{'name':'b','image':'y:1'}]}}",
     0, NULL},
    {"$setElementOrder places the new port last", "", "Pod", POD_AB,
     "{'spec':{'containers':[{'name':'a','$setElementOrder/ports':[{'containerPort':80},{"
     "'containerPort':443}],'ports':[{'containerPort':443}]}]}}",
     "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'a','image':'x:1','ports':[{"
     "'containerPort':80},{'containerPort':443}]},{'name':'b','image':'y:1'}]}}",
     0, NULL},
    {"$setElementOrder alone reorders", "", "Pod", POD_AB,
     "{'spec':{'$setElementOrder/containers':[{'name':'b'},{'name':'a'}]}}",
     "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'b','image':'y:1'},{'name':'a',"
     "'image':'x:1','ports':[{'containerPort':80}]}]}}",
     0, NULL},
    {"$patch delete removes one container", "", "Pod", POD_AB,
     "{'spec':{'containers':[{'name':'b','$patch':'delete'}]}}",
     "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'a','image':'x:1','ports':[{"
     "'containerPort':80}]}]}}",
     0, NULL},
    {"$patch replace makes the list", "", "Pod", POD_AB,
     "{'spec':{'containers':[{'name':'c','image':'z'},{'$patch':'replace'}]}}",
     "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'c','image':'z'}]}}", 0, NULL},
    {"$patch replace on a map", "", "Pod", POD_AB,
     "{'metadata':{'$patch':'replace','name':'p','labels':{'a':'1'}}}",
     "{'metadata':{'name':'p','labels':{'a':'1'}},'spec':{'containers':[{'name':'a','image':"
     "'x:1','ports':[{'containerPort':80}]},{'name':'b','image':'y:1'}]}}",
     0, NULL},
    {"env merges by name; $setElementOrder puts B after A", "apps", "Deployment",
     "{'spec':{'template':{'spec':{'containers':[{'name':'a','env':[{'name':'A','value':'1'}]}]"
     "}}}}",
     "{'spec':{'template':{'spec':{'containers':[{'name':'a','$setElementOrder/env':[{'name':"
     "'A'},{'name':'B'}],'env':[{'name':'B','value':'2'}]}]}}}}",
     "{'spec':{'template':{'spec':{'containers':[{'name':'a','env':[{'name':'A','value':'1'},{"
     "'name':'B','value':'2'}]}]}}}}",
     0, NULL},
    {"volumeMounts merge by mountPath", "apps", "Deployment",
     "{'spec':{'template':{'spec':{'containers':[{'name':'a','volumeMounts':[{'mountPath':'/a',"
     "'name':'v1'}]}]}}}}",
     "{'spec':{'template':{'spec':{'containers':[{'name':'a','volumeMounts':[{'mountPath':'/a',"
     "'readOnly':true}]}]}}}}",
     "{'spec':{'template':{'spec':{'containers':[{'name':'a','volumeMounts':[{'mountPath':'/a',"
     "'name':'v1','readOnly':true}]}]}}}}",
     0, NULL},
    {"$retainKeys clears what the union no longer holds", "apps", "Deployment",
     "{'spec':{'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxSurge':1}}}}",
     "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate'}}}",
     "{'spec':{'strategy':{'type':'Recreate'}}}", 0, NULL},
    {"finalizers unite", "", "ConfigMap", "{'metadata':{'finalizers':['a','b','c']}}",
     "{'metadata':{'finalizers':['c','d']}}", "{'metadata':{'finalizers':['a','b','c','d']}}", 0,
     NULL},
    {"$deleteFromPrimitiveList", "", "ConfigMap", "{'metadata':{'finalizers':['a','b','c']}}",
     "{'metadata':{'$deleteFromPrimitiveList/finalizers':['b']}}",
     "{'metadata':{'finalizers':['a','c']}}", 0, NULL},
    {"null deletes, a new map loses its nulls", "", "ConfigMap",
     "{'metadata':{'labels':{'x':'1','y':'2'}},'data':{'k':'v'}}",
     "{'metadata':{'labels':{'x':null}},'extra':{'a':null,'b':1}}",
     "{'metadata':{'labels':{'y':'2'}},'data':{'k':'v'},'extra':{'b':1}}", 0, NULL},
    {"a list without a strategy is replaced", "", "Pod",
     "{'spec':{'tolerations':[{'key':'a'},{'key':'b'}]}}", "{'spec':{'tolerations':[{'key':'c'}]}}",
     "{'spec':{'tolerations':[{'key':'c'}]}}", 0, NULL},
    {"status conditions merge by type", "", "Pod",
     "{'status':{'phase':'Pending','conditions':[{'type':'Ready','status':'False'},{'type':"
     "'PodScheduled','status':'True'}]}}",
     "{'status':{'phase':'Running','conditions':[{'type':'Ready','status':'True'}]}}",
     "{'status':{'phase':'Running','conditions':[{'type':'Ready','status':'True'},{'type':"
     "'PodScheduled','status':'True'}]}}",
     0, NULL},
    {"service ports merge by port", "", "Service", "{'spec':{'ports':[{'port':80,'name':'http'}]}}",
     "{'spec':{'ports':[{'port':80,'targetPort':8080}]}}",
     "{'spec':{'ports':[{'port':80,'name':'http','targetPort':8080}]}}", 0, NULL},
    {"an integer and a real are different keys, as int64 and float64", "", "Service",
     "{'spec':{'ports':[{'port':80}]}}", "{'spec':{'ports':[{'port':80.0,'name':'x'}]}}",
     "{'spec':{'ports':[{'port':80.0,'name':'x'},{'port':80}]}}", 0, NULL},
    {"an element without its merge key: 500 with upstream's text", "", "Pod", POD_AB,
     "{'spec':{'containers':[{'image':'x'}]}}", NULL, -EPROTO,
     "map: map[image:x] does not contain declared merge key: name"},
    {"an unknown directive", "", "Pod", POD_AB,
     "{'spec':{'containers':[{'name':'a','$patch':'bogus'}]}}", NULL, -EPROTO,
     "unknown patch type: bogus in map: map[$patch:bogus name:a]"},
    {"lists of lists: the generic 422", "", "ConfigMap", "{'metadata':{'finalizers':[]}}",
     "{'metadata':{'finalizers':[['b']]}}", NULL, -EINVAL,
     "the server rejected our request due to an error in our request"},
    {"elements of different types", "", "ConfigMap", "{'metadata':{'finalizers':['a']}}",
     "{'metadata':{'finalizers':[1]}}", NULL, -EPROTO,
     "list element types are not identical: [[a] [1]]"},
    {"$retainKeys that is not a list", "apps", "Deployment", "{'spec':{'strategy':{}}}",
     "{'spec':{'strategy':{'$retainKeys':'type'}}}", NULL, -EBADMSG,
     "invalid patch format of retainKeys"},
    {"a key missing from $retainKeys", "apps", "Deployment", "{'spec':{'strategy':{}}}",
     "{'spec':{'strategy':{'$retainKeys':['type'],'rollingUpdate':{}}}}", NULL, -EBADMSG,
     "invalid patch format of retainKeys"},
    {"a $deleteFromPrimitiveList without its list", "", "ConfigMap",
     "{'metadata':{'finalizers':['a']}}", "{'metadata':{'$deleteFromPrimitiveListx':['a']}}", NULL,
     -EBADMSG, "invalid patch format of primitive list"},
    {"a $setElementOrder without its list", "", "Pod", POD_AB,
     "{'spec':{'$setElementOrderx':[{'name':'a'}]}}", NULL, -EBADMSG,
     "invalid patch format of setElementOrder list"},
    {"a patch list out of the $setElementOrder order", "", "Pod", POD_AB,
     "{'spec':{'$setElementOrder/containers':[{'name':'a'},{'name':'b'}],'containers':[{'name':"
     "'b'},{'name':'a'}]}}",
     NULL, -EPROTO,
     "The order in patch list:\n[map[name:b] map[name:a]]\n doesn't match $setElementOrder "
     "list:\n[map[name:a] map[name:b]]\n"},
};

static void test_strategic_merge_table(void **state)
{
    int mismatches = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct smp_case *c = &cases[i];
        json_t *live = quoted_json(c->live), *patch = quoted_json(c->patch);
        json_t *live_before = json_deep_copy(live), *patch_before = json_deep_copy(patch);
        json_t *out = NULL;
        struct error err = {0};
        int rc = k8s_strategic_apply(c->group, c->kind, live, patch, &out, &err);
        if (c->want) {
            json_t *want = quoted_json(c->want);
            if (rc != 0 || !json_equal(out, want)) {
                char *got = out ? json_dumps(out, JSON_COMPACT) : NULL;
                fprintf(stderr, "%s: rc %d (%s), got %s\n", c->name, rc, err.message,
                        got ? got : "nothing");
                free(got);
                mismatches++;
            }
            json_decref(want);
        } else if (rc != c->code || strcmp(err.message, c->message)) {
            fprintf(stderr, "%s: rc %d message \"%s\", want %d \"%s\"\n", c->name, rc, err.message,
                    c->code, c->message);
            mismatches++;
        }
        if (!json_equal(live, live_before) || !json_equal(patch, patch_before)) {
            fprintf(stderr, "%s: the inputs were changed\n", c->name);
            mismatches++;
        }
        json_decref(out);
        json_decref(live);
        json_decref(patch);
        json_decref(live_before);
        json_decref(patch_before);
    }
    if (mismatches)
        fail_msg("%d mismatch(es), listed above", mismatches);
}

/* Upstream's ordering sorts with Go's insertion sort for up to 20 elements; past that the
 * positions come from a stable sort: a long list keeps its order and gets the patch's items. */
static void test_long_lists_keep_their_order(void **state)
{
    json_t *live = json_pack("{s:{s:[]}}", "metadata", "finalizers");
    json_t *patch = json_pack("{s:{s:[]}}", "metadata", "finalizers");
    json_t *list = json_object_get(json_object_get(live, "metadata"), "finalizers");
    char name[32];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof(name), "f%02d", i);
        json_array_append_new(list, json_string(name));
    }
    json_array_append_new(json_object_get(json_object_get(patch, "metadata"), "finalizers"),
                          json_string("zz"));
    json_t *out = NULL;
    assert_int_equal(k8s_strategic_apply("", "ConfigMap", live, patch, &out, NULL), 0);
    json_t *merged = json_object_get(json_object_get(out, "metadata"), "finalizers");
    assert_int_equal(json_array_size(merged), 51);
    assert_string_equal(json_string_value(json_array_get(merged, 0)), "zz");
    assert_string_equal(json_string_value(json_array_get(merged, 1)), "f00");
    assert_string_equal(json_string_value(json_array_get(merged, 50)), "f49");
    json_decref(out);
    json_decref(live);
    json_decref(patch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strategic_merge_table),
        cmocka_unit_test(test_long_lists_keep_their_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
