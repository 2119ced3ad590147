/*
 * test_k8s_selector.c - the API server's labelSelector and fieldSelector, as tables that read as
 * the specification: selector text -> the 400 message, or selector x object -> match.
 *
 * Expected messages were derived by walking apimachinery's labels/selector.go and
 * fields/selector.go by hand (see the top of k8s_selector.c); cases marked "quirk" pin an
 * upstream oddity that a cleaner implementation would lose. Every table runs to the end and
 * reports every mismatch before failing.
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

#include "k8s_selector.h"

#define KEY_RULE                                                                                   \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define VALUE_RULE                                                                                 \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is "                                       \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
#define SUBDOMAIN_RULE                                                                             \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define REQ "unable to parse requirement: "
#define INTEGER "for 'Gt', 'Lt' operators, the value must be an integer"
#define DEFAULT_ONLY                                                                               \
    " is not a known field selector: only \"metadata.name\", \"metadata.namespace\""

/* Mismatches are printed as they are found; a table fails once, at its end. */
static int mismatches;

static void mismatch(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mismatch(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    mismatches++;
}

static void finish_table(const char *table)
{
    int n = mismatches;
    mismatches = 0;
    if (n > 0)
        fail_msg("%s: %d mismatch(es), listed above", table, n);
}

static json_t *json_or_fail(const char *text)
{
    if (!text)
        return NULL;
    json_error_t error;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &error);
    if (!v)
        fail_msg("test JSON does not parse: %s: %s", text, error.text);
    return v;
}

/* A string of `n` copies of `c` followed by `tail` (caller frees). */
static char *repeat(char c, size_t n, const char *tail)
{
    size_t tail_len = strlen(tail);
    char *s = malloc(n + tail_len + 1);
    assert_non_null(s);
    memset(s, c, n);
    memcpy(s + n, tail, tail_len + 1);
    return s;
}

/* ---- label selectors ---- */

struct label_case {
    const char *selector;
    const char *labels; /* JSON object, or NULL = no labels */
    bool matches;
};

static const struct label_case label_cases[] = {
    /* nothing selects everything */
    {"", NULL, true},
    {"", "{\"a\":\"b\"}", true},
    {"   ", "{}", true},
    /* equality */
    {"a=b", "{\"a\":\"b\"}", true},
    {"a=b", "{\"a\":\"c\"}", false},
    {"a=b", "{}", false},
    {"a=b", NULL, false},
    {"a==b", "{\"a\":\"b\"}", true},
    {"a!=b", "{\"a\":\"b\"}", false},
    {"a!=b", "{\"a\":\"c\"}", true},
    {"a!=b", "{}", true},
    {"a=", "{\"a\":\"\"}", true},
    {"a=", "{}", false},
    {"a=,b", "{\"a\":\"\",\"b\":\"x\"}", true},
    /* sets */
    {"a in (b,c)", "{\"a\":\"c\"}", true},
    {"a in (b,c)", "{\"a\":\"d\"}", false},
    {"a in (b,c)", "{}", false},
    {"a notin (b,c)", "{\"a\":\"d\"}", true},
    {"a notin (b,c)", "{\"a\":\"b\"}", false},
    {"a notin (b,c)", "{}", true},
    {"a in ()", "{\"a\":\"\"}", true},
    {"a in (b,)", "{\"a\":\"\"}", true},
    {"a in (,b)", "{\"a\":\"\"}", true},
    {"a in (b,,c)", "{\"a\":\"\"}", true},
    {"a in (in)", "{\"a\":\"in\"}", true},
    {"in in (notin)", "{\"in\":\"notin\"}", true},
    {"x in (foo,,baz),y,z notin ()", "{\"x\":\"baz\",\"y\":\"\",\"z\":\"q\"}", true},
    {"x in (foo,,baz),y,z notin ()", "{\"x\":\"baz\",\"y\":\"\",\"z\":\"\"}", false},
    /* existence */
    {"a", "{\"a\":\"\"}", true},
    {"a", "{\"b\":\"a\"}", false},
    {"!a", "{\"b\":\"a\"}", true},
    {"!a", "{\"a\":\"x\"}", false},
    {"!a", NULL, true},
    {"a,!b", "{\"a\":\"1\"}", true},
    {"a,!b", "{\"a\":\"1\",\"b\":\"2\"}", false},
    /* Gt / Lt compare 64-bit integers; a label that is no integer never matches */
    {"a>1", "{\"a\":\"2\"}", true},
    {"a>1", "{\"a\":\"1\"}", false},
    {"a>1", "{\"a\":\"x\"}", false},
    {"a>1", "{}", false},
    {"a<10", "{\"a\":\"9\"}", true},
    {"a<10", "{\"a\":\"10\"}", false},
    {"a<10", "{\"a\":\"-3\"}", true},
    {"a>9223372036854775806", "{\"a\":\"9223372036854775807\"}", true},
    {"a>1", "{\"a\":\"9223372036854775808\"}", false},
    /* blanks as the lexer skips them: ' ', tab, CR, LF around every token */
    {" a = b , c ", "{\"a\":\"b\",\"c\":\"\"}", true},
    {"a\tin\t(\tb\t,\tc\t)", "{\"a\":\"c\"}", true},
    {"a\r\n!=\nb", "{\"a\":\"c\"}", true},
    {"a in(b)", "{\"a\":\"b\"}", true},
    {"example.com/app=web", "{\"example.com/app\":\"web\"}", true},
    {"app.kubernetes.io/name in (otel, collector)", "{\"app.kubernetes.io/name\":\"otel\"}", true},
    /* AND of every requirement */
    {"a=b,a=c", "{\"a\":\"b\"}", false},
    {"a=b,c=d", "{\"a\":\"b\",\"c\":\"d\"}", true},
    {"a=b,c=d", "{\"a\":\"b\",\"c\":\"x\"}", false},
    /* a label that is not a string counts as absent */
    {"a", "{\"a\":1}", false},
    {"a!=1", "{\"a\":1}", true},
};

static void test_label_selector_matches_label_sets(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(label_cases) / sizeof(label_cases[0]); i++) {
        const struct label_case *c = &label_cases[i];
        struct k8s_label_selector *sel = NULL;
        struct error err = {0};
        if (k8s_label_selector_parse(c->selector, &sel, &err) != 0) {
            mismatch("label %zu \"%s\": parse failed: %s", i, c->selector, err.message);
            continue;
        }
        json_t *labels = json_or_fail(c->labels);
        bool got = k8s_label_selector_matches(sel, labels);
        if (got != c->matches)
            mismatch("label %zu \"%s\" x %s: got %s", i, c->selector,
                     c->labels ? c->labels : "(none)", got ? "match" : "no match");
        json_decref(labels);
        k8s_label_selector_free(sel);
    }
    finish_table("label selector matches");
}

struct label_error_case {
    const char *selector;
    const char *message;
};

static const struct label_error_case label_errors[] = {
    /* the outer grammar: requirement (',' requirement)* */
    {",a", "found ',', expected: !, identifier, or 'end of string'"},
    {"=a", "found '=', expected: !, identifier, or 'end of string'"},
    {"!=a", "found '!=', expected: !, identifier, or 'end of string'"},
    {"(a)", "found '(', expected: !, identifier, or 'end of string'"},
    {"a=b,", "found '', expected: identifier after ','"},
    {"a=b,,c", "found ',', expected: identifier after ','"},
    {"a=b c", "found 'c', expected: ',' or 'end of string'"},
    {"a=b=c", "found '=', expected: ',' or 'end of string'"},
    {"!a=b", "found '=', expected: ',' or 'end of string'"},
    {"a in (b) c", "found 'c', expected: ',' or 'end of string'"},
    /* one requirement */
    {"!", REQ "found '', expected: identifier"},
    {"!!a", REQ "found '!', expected: identifier"},
    {"a b", REQ "found 'b', expected: in, notin, =, ==, !=, gt, lt"},
    {"a)", REQ "found ')', expected: in, notin, =, ==, !=, gt, lt"},
    {"a (b)", REQ "found '(', expected: in, notin, =, ==, !=, gt, lt"},
    {"a=(b)", REQ "found '(', expected: identifier"},
    {"a=!b", REQ "found '!', expected: identifier"},
    /* quirk: no comma before "expected" here */
    {"a in b", REQ "found 'b' expected: '('"},
    {"a notin", REQ "found '' expected: '('"},
    {"a in (", REQ "found '', expected: ',', ')' or identifier"},
    {"a in (=", REQ "found '=', expected: ',', ')' or identifier"},
    {"a in (b", REQ "found '', expected: ',' or ')'"},
    {"a in (b c)", REQ "found 'c', expected: ',' or ')'"},
    {"a in (b,", REQ "found '', expected: ',', or identifier"},
    {"a in (b,=)", REQ "found '=', expected: ',', or identifier"},
    {"a in ((b))", REQ "found '(', expected: ',', ')' or identifier"},
    /* label keys: the nil path prints as "<nil>" (quirk) */
    {"-a=b", REQ "<nil>: Invalid value: \"-a\": name part " KEY_RULE},
    {"a-", REQ "<nil>: Invalid value: \"a-\": name part " KEY_RULE},
    {"!a_", REQ "<nil>: Invalid value: \"a_\": name part " KEY_RULE},
    {"a/b/c=d", REQ "<nil>: Invalid value: \"a/b/c\": a valid label key " KEY_RULE
                    " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"},
    {"/a", REQ "<nil>: Invalid value: \"/a\": prefix part must be non-empty"},
    {"a/", REQ "<nil>: Invalid value: \"a/\": name part must be non-empty; name part " KEY_RULE},
    {"/", REQ "<nil>: Invalid value: \"/\": prefix part must be non-empty; name part must be "
              "non-empty; name part " KEY_RULE},
    {"Example.com/a", REQ "<nil>: Invalid value: \"Example.com/a\": prefix part " SUBDOMAIN_RULE},
    {"a..b/c", REQ "<nil>: Invalid value: \"a..b/c\": prefix part " SUBDOMAIN_RULE},
    {"-a.com/c", REQ "<nil>: Invalid value: \"-a.com/c\": prefix part " SUBDOMAIN_RULE},
    {"k\xc3\xa4y=v", REQ "<nil>: Invalid value: \"k\xc3\xa4y\": name part " KEY_RULE},
    {"k\xff=v", REQ "<nil>: Invalid value: \"k\\xff\": name part " KEY_RULE},
    {"a\"b", REQ "<nil>: Invalid value: \"a\\\"b\": name part " KEY_RULE},
    /* label values, reported by index into the sorted, distinct value set */
    {"a=-b", REQ "values[0][a]: Invalid value: \"-b\": " VALUE_RULE},
    {"a!=b.", REQ "values[0][a]: Invalid value: \"b.\": " VALUE_RULE},
    {"a in (b,-c)", REQ "values[0][a]: Invalid value: \"-c\": " VALUE_RULE},
    {"a in (z,b,_y)", REQ "values[0][a]: Invalid value: \"_y\": " VALUE_RULE},
    {"a in (-b,_c)", REQ "[values[0][a]: Invalid value: \"-b\": " VALUE_RULE
                         ", values[1][a]: Invalid value: \"_c\": " VALUE_RULE "]"},
    {"a=\xc3\xa9", REQ "values[0][a]: Invalid value: \"\xc3\xa9\": " VALUE_RULE},
    /* Gt / Lt want one integer value */
    {"a>x", REQ "values[0]: Invalid value: \"x\": " INTEGER},
    {"a<", REQ "values[0]: Invalid value: \"\": " INTEGER},
    {"a>1.5", REQ "values[0]: Invalid value: \"1.5\": " INTEGER},
    {"a>99999999999999999999", REQ "values[0]: Invalid value: \"99999999999999999999\": " INTEGER},
    {"a>-1", REQ "values[0][a]: Invalid value: \"-1\": " VALUE_RULE},
    {"a>_1", REQ "[values[0]: Invalid value: \"_1\": " INTEGER
                 ", values[0][a]: Invalid value: \"_1\": " VALUE_RULE "]"},
};

static void test_label_selector_refuses_with_upstream_messages(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(label_errors) / sizeof(label_errors[0]); i++) {
        const struct label_error_case *c = &label_errors[i];
        struct k8s_label_selector *sel = NULL;
        struct error err = {0};
        int rc = k8s_label_selector_parse(c->selector, &sel, &err);
        if (rc != -EINVAL)
            mismatch("label error %zu \"%s\": rc %d, want -EINVAL", i, c->selector, rc);
        else if (strcmp(err.message, c->message) != 0)
            mismatch("label error %zu \"%s\":\n   got  %s\n   want %s", i, c->selector, err.message,
                     c->message);
        if (sel)
            mismatch("label error %zu: a selector was returned with the error", i);
        k8s_label_selector_free(sel);
    }
    finish_table("label selector errors");
}

/* Lengths: 63 bytes for a name part or a value, 253 for a prefix. */
static void test_label_selector_checks_lengths(void **state)
{
    (void)state;
    struct k8s_label_selector *sel = NULL;
    struct error err = {0};

    char *longest_key = repeat('k', 63, "");
    assert_int_equal(k8s_label_selector_parse(longest_key, &sel, &err), 0);
    k8s_label_selector_free(sel);
    char *long_key = repeat('k', 64, "=v");
    assert_int_equal(k8s_label_selector_parse(long_key, &sel, &err), -EINVAL);
    char *want = NULL;
    assert_true(asprintf(&want,
                         REQ "<nil>: Invalid value: \"%.64s\": name part must be no more "
                             "than 63 bytes",
                         long_key) > 0);
    assert_string_equal(err.message, want);
    free(want);

    char *long_prefix = repeat('p', 254, "/k");
    assert_int_equal(k8s_label_selector_parse(long_prefix, &sel, &err), -EINVAL);
    assert_non_null(strstr(err.message, "\": prefix part must be no more than 253 bytes"));
    assert_null(strstr(err.message, "; "));

    char *long_value = repeat('v', 64, "");
    char *text = NULL;
    assert_true(asprintf(&text, "a=%s", long_value) > 0);
    assert_int_equal(k8s_label_selector_parse(text, &sel, &err), -EINVAL);
    assert_true(asprintf(&want,
                         REQ "values[0][a]: Invalid value: \"%s\": must be no more than 63 "
                             "bytes",
                         long_value) > 0);
    assert_string_equal(err.message, want);
    free(want);
    free(text);

    /* too long and badly formed: both details, joined by "; " */
    long_value[63] = '-';
    assert_true(asprintf(&text, "a=%s", long_value) > 0);
    assert_int_equal(k8s_label_selector_parse(text, &sel, &err), -EINVAL);
    assert_non_null(strstr(err.message, "must be no more than 63 bytes; a valid label must be"));
    free(text);

    free(longest_key);
    free(long_key);
    free(long_prefix);
    free(long_value);
}

/* Our own bounds, not upstream's: past them an ordinary 400 with our text. */
static void test_label_selector_limits(void **state)
{
    (void)state;
    struct k8s_label_selector *sel = NULL;
    struct error err = {0};

    char *longest = repeat(' ', K8S_SELECTOR_TEXT_MAX - 1, "a");
    assert_int_equal(k8s_label_selector_parse(longest, &sel, &err), 0);
    k8s_label_selector_free(sel);
    char *too_long = repeat(' ', K8S_SELECTOR_TEXT_MAX, "a");
    assert_int_equal(k8s_label_selector_parse(too_long, &sel, &err), -EINVAL);
    assert_string_equal(err.message, "labelSelector is longer than 8192 bytes");
    assert_null(sel);

    char text[K8S_SELECTOR_REQUIREMENTS_MAX * 8 + 8] = "";
    for (int i = 0; i < K8S_SELECTOR_REQUIREMENTS_MAX; i++)
        sprintf(text + strlen(text), "%sk%d", i ? "," : "", i);
    assert_int_equal(k8s_label_selector_parse(text, &sel, &err), 0);
    json_t *labels = json_object();
    for (int i = 0; i < K8S_SELECTOR_REQUIREMENTS_MAX; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        json_object_set_new(labels, key, json_string(""));
    }
    assert_true(k8s_label_selector_matches(sel, labels));
    json_decref(labels);
    k8s_label_selector_free(sel);
    strcat(text, ",one_more");
    assert_int_equal(k8s_label_selector_parse(text, &sel, &err), -EINVAL);
    assert_string_equal(err.message, "labelSelector has more than 128 requirements");

    free(longest);
    free(too_long);
}

/* Whatever the bytes, the answer is a selector or an error with a message: never a crash. */
static void test_label_selector_survives_bad_input(void **state)
{
    (void)state;
    const char *const nasty[] = {
        "((((((((((",   "))))))",   "a in ((((((",    "a in (b,c",      "!!!!!!!", "=====",
        "a notin ()))", "\xff\xfe", "a=\xed\xa0\x80", "\xe2\x80\x8b=b", ",,,,",    "a in (,,,,,,,",
        "a<<<1",        "a>>1",     "a==>1",          "a in (b)(c)",
    };
    for (size_t i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++) {
        struct k8s_label_selector *sel = NULL;
        struct error err = {0};
        int rc = k8s_label_selector_parse(nasty[i], &sel, &err);
        if (rc == 0)
            k8s_label_selector_free(sel);
        else if (rc != -EINVAL || err.message[0] == '\0')
            mismatch("nasty %zu: rc %d, message \"%s\"", i, rc, err.message);
    }
    /* A deterministic fuzz over the lexer's alphabet and some bytes beyond it. */
    const char alphabet[] = "ab=!(),<> \tin1-_./\xc3\xa4\xff";
    uint32_t seed = 12345;
    char text[64];
    for (int round = 0; round < 20000; round++) {
        size_t len = 0;
        seed = seed * 1103515245u + 12345u;
        size_t want = (seed >> 16) % (sizeof(text) - 1);
        while (len < want) {
            seed = seed * 1103515245u + 12345u;
            text[len++] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        text[len] = '\0';
        struct k8s_label_selector *sel = NULL;
        struct error err = {0};
        int rc = k8s_label_selector_parse(text, &sel, &err);
        if (rc == 0) {
            json_t *labels = json_pack("{s:s, s:s}", "a", "1", "b", "in");
            k8s_label_selector_matches(sel, labels);
            json_decref(labels);
            k8s_label_selector_free(sel);
        } else if (rc != -EINVAL || err.message[0] == '\0') {
            mismatch("fuzz \"%s\": rc %d, message \"%s\"", text, rc, err.message);
        }
    }
    finish_table("bad label selectors");
}

static void test_label_selector_empty_and_null(void **state)
{
    (void)state;
    struct k8s_label_selector *sel = NULL;
    assert_int_equal(k8s_label_selector_parse(NULL, &sel, NULL), 0);
    assert_true(k8s_label_selector_is_empty(sel));
    assert_true(k8s_label_selector_matches(sel, NULL));
    k8s_label_selector_free(sel);
    assert_int_equal(k8s_label_selector_parse("a", &sel, NULL), 0);
    assert_false(k8s_label_selector_is_empty(sel));
    k8s_label_selector_free(sel);
    /* a NULL error is accepted on failure too */
    assert_int_equal(k8s_label_selector_parse("a in (", &sel, NULL), -EINVAL);
    assert_null(sel);
    k8s_label_selector_free(NULL);
}

/* ---- field selectors ---- */

static const char pod[] =
    "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"shop\"},"
    "\"spec\":{\"nodeName\":\"node-a\",\"restartPolicy\":\"Always\","
    "\"schedulerName\":\"default-scheduler\",\"serviceAccountName\":\"web\",\"hostNetwork\":true},"
    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.7\","
    "\"podIPs\":[{\"ip\":\"10.0.0.7\"},{\"ip\":\"fd00::7\"}],\"nominatedNodeName\":\"node-b\"}}";
static const char pending_pod[] =
    "{\"metadata\":{\"name\":\"a,b=c\",\"namespace\":\"shop\"},"
    "\"spec\":{\"serviceAccount\":\"legacy\"},"
    "\"status\":{\"phase\":\"Pending\",\"podIPs\":[{\"ip\":\"10.0.0.8\"}]}}";
static const char node[] = "{\"metadata\":{\"name\":\"node-a\"},\"spec\":{\"unschedulable\":true}}";
static const char plain_node[] = "{\"metadata\":{\"name\":\"node-b\"},\"spec\":{}}";
static const char namespace_object[] =
    "{\"metadata\":{\"name\":\"shop\"},\"status\":{\"phase\":\"Active\"}}";
static const char service[] = "{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"},"
                              "\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"None\"}}";
static const char configmap[] = "{\"metadata\":{\"name\":\"cfg\",\"namespace\":\"shop\"}}";
static const char replicaset[] = "{\"metadata\":{\"name\":\"web-5d9\",\"namespace\":\"shop\"}}";
static const char controller[] = "{\"metadata\":{\"name\":\"rc\"},\"status\":{\"replicas\":3}}";
static const char secret[] = "{\"metadata\":{\"name\":\"s\"},\"type\":\"Opaque\"}";
static const char event[] = "{\"metadata\":{\"name\":\"e\"},\"reason\":\"Pulled\","
                            "\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"web-1\"},"
                            "\"source\":{\"component\":\"kubelet\"}}";

struct field_case {
    const char *resource, *group;
    const char *selector;
    const char *object;
    bool matches;
};

static const struct field_case field_cases[] = {
    {"pods", "", "", pod, true},
    {"pods", "", "metadata.name=web-1", pod, true},
    {"pods", "", "metadata.name==web-1", pod, true},
    {"pods", "", "metadata.name!=web-1", pod, false},
    {"pods", "", "metadata.name=web-2", pod, false},
    {"pods", "", "metadata.namespace=shop,metadata.name=web-1", pod, true},
    {"pods", "", "metadata.namespace=shop,metadata.name=web-2", pod, false},
    {"pods", "", "spec.nodeName=node-a", pod, true},
    {"pods", "", "spec.host=node-a", pod, true}, /* alias of spec.nodeName */
    {"pods", "", "spec.host!=node-a", pod, false},
    {"pods", "", "spec.nodeName=", pending_pod, true}, /* unscheduled: "" */
    {"pods", "", "spec.restartPolicy=Always", pod, true},
    {"pods", "", "spec.schedulerName=default-scheduler", pod, true},
    {"pods", "", "spec.serviceAccountName=web", pod, true},
    {"pods", "", "spec.serviceAccountName=legacy", pending_pod, true}, /* deprecated field */
    {"pods", "", "spec.hostNetwork=true", pod, true},
    {"pods", "", "spec.hostNetwork=false", pending_pod, true}, /* absent = false */
    {"pods", "", "spec.hostNetwork!=true", pending_pod, true},
    {"pods", "", "status.phase=Running", pod, true},
    {"pods", "", "status.phase!=Running", pod, false},
    {"pods", "", "status.phase!=Running", pending_pod, true},
    {"pods", "", "status.podIP=10.0.0.7", pod, true},
    {"pods", "", "status.podIP=10.0.0.8", pending_pod, true}, /* from podIPs[0] */
    {"pods", "", "status.podIP=fd00::7", pod, false},
    /* quirk: status.podIPs is accepted but not in the pod's field set, so it reads "" */
    {"pods", "", "status.podIPs=10.0.0.7", pod, false},
    {"pods", "", "status.podIPs=fd00::7", pod, false},
    {"pods", "", "status.podIPs=", pod, true},
    {"pods", "", "status.podIPs!=10.0.0.7", pod, true},
    {"pods", "", "status.nominatedNodeName=node-b", pod, true},
    /* escapes in values: \, \= \\ */
    {"pods", "", "metadata.name=a\\,b\\=c", pending_pod, true},
    {"pods", "", "metadata.name=a\\,b\\=d", pending_pod, false},
    {"pods", "", ",metadata.name=web-1,", pod, true}, /* empty terms are skipped */
    {"nodes", "", "spec.unschedulable=true", node, true},
    {"nodes", "", "spec.unschedulable=false", plain_node, true},
    {"nodes", "", "spec.unschedulable!=false", plain_node, false},
    {"nodes", "", "metadata.name=node-a", node, true},
    {"namespaces", "", "status.phase=Active", namespace_object, true},
    {"namespaces", "", "metadata.name=shop", namespace_object, true},
    {"services", "", "spec.type=ClusterIP,spec.clusterIP=None", service, true},
    {"services", "", "spec.clusterIP!=None", service, false},
    {"services", "", "metadata.namespace=shop", service, true},
    {"replicationcontrollers", "", "status.replicas=3", controller, true},
    {"replicationcontrollers", "", "status.replicas=0", "{}", true}, /* absent = 0 */
    {"secrets", "", "type=Opaque", secret, true},
    {"events", "", "involvedObject.kind=Pod,involvedObject.name=web-1,reason=Pulled", event, true},
    {"events", "", "source=kubelet", event, true},
    {"configmaps", "", "metadata.name=cfg,metadata.namespace=shop", configmap, true},
    {"configmaps", NULL, "metadata.name!=cfg", configmap, false},
    {"replicasets", "apps", "metadata.name=web-5d9", replicaset, true},
};

static void test_field_selector_matches_objects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]); i++) {
        const struct field_case *c = &field_cases[i];
        struct k8s_field_selector *sel = NULL;
        struct error err = {0};
        if (k8s_field_selector_parse(c->selector, c->resource, c->group, &sel, &err) != 0) {
            mismatch("field %zu %s \"%s\": parse failed: %s", i, c->resource, c->selector,
                     err.message);
            continue;
        }
        json_t *object = json_or_fail(c->object);
        bool got = k8s_field_selector_matches(sel, object);
        if (got != c->matches)
            mismatch("field %zu %s \"%s\": got %s", i, c->resource, c->selector,
                     got ? "match" : "no match");
        json_decref(object);
        k8s_field_selector_free(sel);
    }
    finish_table("field selector matches");
}

struct field_error_case {
    const char *resource, *group;
    const char *selector;
    const char *message;
};

static const struct field_error_case field_errors[] = {
    /* fields.ParseSelector */
    {"pods", "", "foo", "invalid selector: 'foo'; can't understand 'foo'"},
    {"pods", "", "metadata.name",
     "invalid selector: 'metadata.name'; can't understand "
     "'metadata.name'"},
    /* terms are sorted before they are read: the first bad one in that order is reported */
    {"pods", "", "zz,aa", "invalid selector: 'zz,aa'; can't understand 'aa'"},
    {"pods", "", "b=1,foo", "invalid selector: 'b=1,foo'; can't understand 'foo'"},
    /* a syntax error anywhere beats an unsupported label */
    {"pods", "", "spec.foo=x,zz", "invalid selector: 'spec.foo=x,zz'; can't understand 'zz'"},
    /* UnescapeValue; quirk: the rune is printed as a number */
    {"pods", "", "metadata.name=a=b", "invalid field selector: unescaped character in value: 61"},
    {"pods", "", "metadata.name=a\\", "invalid field selector: invalid escape sequence: \\"},
    {"pods", "", "metadata.name=a\\x", "invalid field selector: invalid escape sequence: \\x"},
    {"pods", "", "metadata.name=\\\xc3\xa4",
     "invalid field selector: invalid escape sequence: "
     "\\\xc3\xa4"},
    {"pods", "", "metadata.name=\\\xff",
     "invalid field selector: invalid escape sequence: "
     "\\\xef\xbf\xbd"},
    {"pods", "", "a=\\,\\x", "invalid field selector: invalid escape sequence: \\x"},
    /* the resource's field labels */
    {"pods", "", "spec.foo=x", "field label not supported: spec.foo"},
    {"pods", "", "status.hostIP=1.2.3.4", "field label not supported: status.hostIP"},
    {"pods", "", "z=1,spec.foo=x", "field label not supported: spec.foo"},
    {"pods", "", "metadata.name=a,metadata.labels=x", "field label not supported: metadata.labels"},
    {"nodes", "", "metadata.namespace=x", "field label not supported: metadata.namespace"},
    {"nodes", "", "spec.host=x", "field label not supported: spec.host"},
    {"namespaces", "", "metadata.namespace=x", "field label not supported: metadata.namespace"},
    {"services", "", "spec.ports=80", "field label not supported: spec.ports"},
    {"secrets", "", "data=x", "field label not supported: data"},
    /* every other resource: the default conversion's message */
    {"configmaps", "", "data.x=1", "\"data.x\"" DEFAULT_ONLY},
    {"endpoints", "", "spec.nodeName=n", "\"spec.nodeName\"" DEFAULT_ONLY},
    {"replicasets", "apps", "status.replicas=1", "\"status.replicas\"" DEFAULT_ONLY},
    {"pods", "example.com", "spec.nodeName=n", "\"spec.nodeName\"" DEFAULT_ONLY},
    {"configmaps", "", "d\xc3\xa4=1", "\"d\xc3\xa4\"" DEFAULT_ONLY},
    {"configmaps", "", "\"=1", "\"\\\"\"" DEFAULT_ONLY},
};

static void test_field_selector_refuses_with_upstream_messages(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(field_errors) / sizeof(field_errors[0]); i++) {
        const struct field_error_case *c = &field_errors[i];
        struct k8s_field_selector *sel = NULL;
        struct error err = {0};
        int rc = k8s_field_selector_parse(c->selector, c->resource, c->group, &sel, &err);
        if (rc != -EINVAL)
            mismatch("field error %zu \"%s\": rc %d, want -EINVAL", i, c->selector, rc);
        else if (strcmp(err.message, c->message) != 0)
            mismatch("field error %zu \"%s\":\n   got  %s\n   want %s", i, c->selector, err.message,
                     c->message);
        if (sel)
            mismatch("field error %zu: a selector was returned with the error", i);
        k8s_field_selector_free(sel);
    }
    finish_table("field selector errors");
}

struct name_case {
    const char *selector;
    const char *name; /* NULL = no name pinned */
};

static const struct name_case name_cases[] = {
    {"metadata.name=web-1", "web-1"},
    {"metadata.name==web-1", "web-1"},
    {"spec.nodeName=node-a,metadata.name=web-1", "web-1"},
    {"metadata.name=web-1,status.phase!=Running", "web-1"},
    {"metadata.name=a\\,b", "a,b"},
    /* the first equality term in sorted order wins */
    {"metadata.name=b,metadata.name=a", "a"},
    {"metadata.name!=x,metadata.name=y", "y"},
    /* no resource check happens before the name is taken */
    {"metadata.name=web-1,spec.unknown=x", "web-1"},
    /* nothing pinned */
    {"", NULL},
    {NULL, NULL},
    {"metadata.name!=web-1", NULL},
    {"metadata.namespace=web-1", NULL},
    {"metadata.name=", NULL},
    {"metadata.name=web-1,broken", NULL},
    /* not a valid path segment */
    {"metadata.name=.", NULL},
    {"metadata.name=..", NULL},
    {"metadata.name=a/b", NULL},
    {"metadata.name=a%2Fb", NULL},
    {"metadata.name=...", "..."},
};

static void test_field_selector_pins_request_name(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
        const struct name_case *c = &name_cases[i];
        char *name = (char *)"unset";
        int rc = k8s_field_selector_request_name(c->selector, &name);
        if (rc != 0)
            mismatch("name %zu: rc %d", i, rc);
        else if ((name == NULL) != (c->name == NULL) || (name && strcmp(name, c->name) != 0))
            mismatch("name %zu \"%s\": got %s, want %s", i, c->selector ? c->selector : "(null)",
                     name ? name : "(none)", c->name ? c->name : "(none)");
        free(name);
    }
    finish_table("request names");
}

/* RequiresExactMatch on a compiled selector sees labels after their aliases. */
static void test_field_selector_exact_match(void **state)
{
    (void)state;
    struct k8s_field_selector *sel = NULL;
    assert_int_equal(
        k8s_field_selector_parse("spec.host=node-a,metadata.name!=x", "pods", "", &sel, NULL), 0);
    assert_string_equal(k8s_field_selector_exact_match(sel, "spec.nodeName"), "node-a");
    assert_null(k8s_field_selector_exact_match(sel, "spec.host"));
    assert_null(k8s_field_selector_exact_match(sel, "metadata.name"));
    assert_false(k8s_field_selector_is_empty(sel));
    k8s_field_selector_free(sel);

    assert_int_equal(k8s_field_selector_parse(NULL, "pods", NULL, &sel, NULL), 0);
    assert_true(k8s_field_selector_is_empty(sel));
    assert_true(k8s_field_selector_matches(sel, NULL));
    assert_null(k8s_field_selector_exact_match(sel, "metadata.name"));
    k8s_field_selector_free(sel);
    assert_int_equal(k8s_field_selector_parse(",,", "pods", NULL, &sel, NULL), 0);
    assert_true(k8s_field_selector_is_empty(sel));
    k8s_field_selector_free(sel);
    k8s_field_selector_free(NULL);
}

static void test_field_selector_limits(void **state)
{
    (void)state;
    struct k8s_field_selector *sel = NULL;
    struct error err = {0};

    char *too_long = repeat('x', K8S_SELECTOR_TEXT_MAX - 1, "=1");
    assert_int_equal(k8s_field_selector_parse(too_long, "pods", "", &sel, &err), -EINVAL);
    assert_string_equal(err.message, "fieldSelector is longer than 8192 bytes");
    assert_null(sel);
    char *name = (char *)"unset";
    assert_int_equal(k8s_field_selector_request_name(too_long, &name), 0);
    assert_null(name);
    free(too_long);

    char text[K8S_SELECTOR_REQUIREMENTS_MAX * 24] = "";
    for (int i = 0; i < K8S_SELECTOR_REQUIREMENTS_MAX; i++)
        sprintf(text + strlen(text), "%smetadata.name!=n%d", i ? "," : "", i);
    assert_int_equal(k8s_field_selector_parse(text, "pods", "", &sel, &err), 0);
    json_t *object = json_or_fail(pod);
    assert_true(k8s_field_selector_matches(sel, object));
    json_decref(object);
    k8s_field_selector_free(sel);
    strcat(text, ",metadata.name!=last");
    assert_int_equal(k8s_field_selector_parse(text, "pods", "", &sel, &err), -EINVAL);
    assert_string_equal(err.message, "fieldSelector has more than 128 terms");
}

static void test_field_selector_survives_bad_input(void **state)
{
    (void)state;
    const char alphabet[] = "a=!,\\.x\xc3\xa4\xff";
    uint32_t seed = 777;
    char text[48];
    for (int round = 0; round < 20000; round++) {
        size_t len = 0;
        seed = seed * 1103515245u + 12345u;
        size_t want = (seed >> 16) % (sizeof(text) - 1);
        while (len < want) {
            seed = seed * 1103515245u + 12345u;
            text[len++] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        text[len] = '\0';
        struct k8s_field_selector *sel = NULL;
        struct error err = {0};
        int rc = k8s_field_selector_parse(text, "configmaps", "", &sel, &err);
        if (rc == 0) {
            k8s_field_selector_matches(sel, NULL);
            k8s_field_selector_free(sel);
        } else if (rc != -EINVAL || err.message[0] == '\0') {
            mismatch("fuzz \"%s\": rc %d, message \"%s\"", text, rc, err.message);
        }
        char *name = NULL;
        if (k8s_field_selector_request_name(text, &name) != 0)
            mismatch("fuzz \"%s\": request name failed", text);
        free(name);
    }
    finish_table("bad field selectors");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_selector_matches_label_sets),
        cmocka_unit_test(test_label_selector_refuses_with_upstream_messages),
        cmocka_unit_test(test_label_selector_checks_lengths),
        cmocka_unit_test(test_label_selector_limits),
        cmocka_unit_test(test_label_selector_survives_bad_input),
        cmocka_unit_test(test_label_selector_empty_and_null),
        cmocka_unit_test(test_field_selector_matches_objects),
        cmocka_unit_test(test_field_selector_refuses_with_upstream_messages),
        cmocka_unit_test(test_field_selector_pins_request_name),
        cmocka_unit_test(test_field_selector_exact_match),
        cmocka_unit_test(test_field_selector_limits),
        cmocka_unit_test(test_field_selector_survives_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
