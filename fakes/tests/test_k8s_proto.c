/*
 * test_k8s_proto.c - a SelfSubjectAccessReview in the Kubernetes protobuf envelope, as
 * `kubectl auth can-i` posts it, read into the JSON the API's JSON path reads; and what is
 * refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "k8s_proto.h"

/* Appends field `number` (length-delimited) holding data[0, len) to buf at *n; lengths < 128. */
static void put_field(uint8_t *buf, size_t *n, unsigned number, const void *data, size_t len)
{
    assert_true(len < 128);
    buf[(*n)++] = (uint8_t)(number << 3 | 2);
    buf[(*n)++] = (uint8_t)len;
    memcpy(buf + *n, data, len);
    *n += len;
}

static void put_string(uint8_t *buf, size_t *n, unsigned number, const char *s)
{
    put_field(buf, n, number, s, strlen(s));
}

/* "k8s\0" + runtime.Unknown{typeMeta{apiVersion, kind}, raw: review, contentType}. */
static size_t envelope(uint8_t *out, const char *api_version, const char *kind, const uint8_t *raw,
                       size_t raw_len)
{
    uint8_t meta[96];
    size_t m = 0, n = 4;
    put_string(meta, &m, 1, api_version);
    put_string(meta, &m, 2, kind);
    memcpy(out, "k8s\0", 4);
    put_field(out, &n, 1, meta, m);
    put_field(out, &n, 2, raw, raw_len);
    put_string(out, &n, 4, "application/vnd.kubernetes.protobuf");
    return n;
}

/* SelfSubjectAccessReview{spec{resourceAttributes{verb, resource, namespace?}}}. */
static size_t review(uint8_t *out, const char *verb, const char *resource, const char *ns)
{
    uint8_t attrs[64], spec[80];
    size_t a = 0, s = 0, n = 0;
    if (ns)
        put_string(attrs, &a, 1, ns);
    put_string(attrs, &a, 2, verb);
    put_string(attrs, &a, 5, resource);
    put_field(spec, &s, 1, attrs, a);
    put_field(out, &n, 2, spec, s);
    return n;
}

static void test_a_review_reads_as_its_json(void **state)
{
    (void)state;
    uint8_t raw[128], body[256];
    size_t raw_len = review(raw, "list", "replicasets", "shop");
    size_t len = envelope(body, "authorization.k8s.io/v1", "SelfSubjectAccessReview", raw, raw_len);
    json_t *got = NULL;
    struct error err = {0};
    assert_int_equal(k8s_proto_decode(body, len, &got, &err), 0);
    json_t *want = json_loads("{\"apiVersion\":\"authorization.k8s.io/v1\","
                              "\"kind\":\"SelfSubjectAccessReview\",\"metadata\":{},"
                              "\"spec\":{\"resourceAttributes\":{\"namespace\":\"shop\","
                              "\"verb\":\"list\",\"resource\":\"replicasets\"}}}",
                              0, NULL);
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);
}

static void test_other_kinds_are_not_decoded(void **state)
{
    (void)state;
    uint8_t raw[128], body[256];
    size_t raw_len = review(raw, "get", "pods", NULL);
    size_t len = envelope(body, "v1", "Pod", raw, raw_len);
    json_t *got = NULL;
    struct error err = {0};
    assert_int_equal(k8s_proto_decode(body, len, &got, &err), -ENOTSUP);
    assert_null(got);
    assert_string_equal(err.message, "a protobuf v1 Pod body is not decoded by this fake");
}

static void test_bad_bytes_are_bad_messages(void **state)
{
    (void)state;
    uint8_t raw[128], body[256];
    size_t raw_len = review(raw, "get", "pods", NULL);
    size_t len = envelope(body, "authorization.k8s.io/v1", "SelfSubjectAccessReview", raw, raw_len);
    json_t *got = NULL;
    struct error err = {0};
    assert_int_equal(k8s_proto_decode((const uint8_t *)"{\"kind\":1}", 10, &got, &err), -EBADMSG);
    for (size_t cut = 5; cut < len; cut += 7) { /* every truncation is refused, none crashes */
        int rc = k8s_proto_decode(body, cut, &got, &err);
        assert_true(rc == -EBADMSG || rc == 0);
        json_decref(got);
        got = NULL;
    }
    body[len - 1] = 0xff; /* the content type is no longer UTF-8: still read (not needed) */
    assert_int_equal(k8s_proto_decode(body, len, &got, &err), 0);
    json_decref(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_review_reads_as_its_json),
        cmocka_unit_test(test_other_kinds_are_not_decoded),
        cmocka_unit_test(test_bad_bytes_are_bad_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
