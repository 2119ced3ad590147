/*
 * test_httpd.c - what httpd.h adds for the fake Kubernetes API: bodies streamed in parts with
 * chunked transfer encoding (a watch), a stream that notices its client left, and HTTPS with a
 * self-signed certificate from tls_cert.h that a verifying client accepts.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "httpd.h"
#include "poll_until.h"
#include "tls_cert.h"

/* ---- a stream of numbered parts, or one that waits for its client to leave ---- */

struct parts {
    int sent, total;
    bool wait_for_close; /* after the parts, block until the client closes */
    atomic_bool saw_close, freed;
};

static long parts_next(void *ctx, struct MHD_Connection *connection, uint8_t *buf, size_t max)
{
    struct parts *p = ctx;
    if (p->sent < p->total)
        return snprintf((char *)buf, max, "{\"part\":%d}\n", ++p->sent);
    if (!p->wait_for_close)
        return 0;
    long long deadline = monotonic_ms() + 10000;
    while (monotonic_ms() < deadline) {
        if (httpd_stream_peer_closed(connection)) {
            atomic_store(&p->saw_close, true);
            return -1;
        }
        struct timespec slice = {0, 20 * 1000000};
        nanosleep(&slice, NULL);
    }
    return -1;
}

static void parts_free(void *ctx)
{
    struct parts *p = ctx;
    atomic_store(&p->freed, true);
}

static const struct http_stream_ops parts_ops = {parts_next, parts_free};

static void stream_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)req;
    resp->content_type = "application/json";
    resp->stream = &parts_ops;
    resp->stream_ctx = ctx;
}

static void hello_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    http_response_printf(resp, 200, "text/plain", "hello over %s", "https");
}

/* ---- a curl client ---- */

struct got {
    char body[4096];
    size_t len;
    bool chunked;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct got *g = ctx;
    size_t len = size * n;
    if (g->len + len < sizeof(g->body)) {
        memcpy(g->body + g->len, data, len);
        g->len += len;
        g->body[g->len] = '\0';
    }
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    struct got *g = ctx;
    if (strncasecmp(data, "Transfer-Encoding: chunked", 26) == 0)
        g->chunked = true;
    return size * n;
}

static CURLcode fetch(const char *url, const char *ca_pem, long timeout_ms, struct got *g,
                      long *status)
{
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, g);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, g);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (ca_pem) {
        struct curl_blob blob = {(void *)ca_pem, strlen(ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
    }
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(curl);
    return rc;
}

static bool is_true(void *ctx)
{
    return atomic_load((atomic_bool *)ctx);
}

/* ---- tests ---- */

static void test_a_streamed_body_arrives_in_chunked_parts(void **state)
{
    (void)state;
    struct parts p = {.total = 3};
    struct error err = {0};
    struct httpd *server = httpd_start("127.0.0.1", 0, 1024, stream_handler, &p, &err);
    assert_non_null(server);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/watch", httpd_port(server));
    struct got g = {0};
    long status = 0;
    assert_int_equal(fetch(url, NULL, 10000, &g, &status), CURLE_OK);
    assert_int_equal(status, 200);
    assert_true(g.chunked);
    assert_string_equal(g.body, "{\"part\":1}\n{\"part\":2}\n{\"part\":3}\n");
    assert_true(poll_until(is_true, &p.freed, 5000));
    httpd_stop(server);
}

static void test_a_stream_sees_its_client_leave(void **state)
{
    (void)state;
    struct parts p = {.total = 1, .wait_for_close = true};
    struct error err = {0};
    struct httpd *server = httpd_start("127.0.0.1", 0, 1024, stream_handler, &p, &err);
    assert_non_null(server);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/watch", httpd_port(server));
    struct got g = {0};
    long status = 0;
    /* The client gives up after 300 ms, with the first part received. */
    assert_int_equal(fetch(url, NULL, 300, &g, &status), CURLE_OPERATION_TIMEDOUT);
    assert_string_equal(g.body, "{\"part\":1}\n");
    assert_true(poll_until(is_true, &p.saw_close, 5000));
    assert_true(poll_until(is_true, &p.freed, 5000));
    httpd_stop(server);
}

static void test_https_with_a_self_signed_certificate_verifies(void **state)
{
    (void)state;
    const char *dns[] = {"localhost"};
    const char *ips[] = {"127.0.0.1", "::1"};
    struct tls_cert cert;
    struct error err = {0};
    assert_int_equal(tls_cert_self_signed("otel-fakes", dns, 1, ips, 2, &cert, &err), 0);
    assert_non_null(strstr(cert.cert_pem, "-----BEGIN CERTIFICATE-----"));
    struct httpd *server = httpd_start_tls("127.0.0.1", 0, 1024, hello_handler, NULL, cert.cert_pem,
                                           cert.key_pem, &err);
    assert_non_null(server);
    char url[64];
    long status = 0;
    /* By IP and by name: both are in the certificate's alternative names. */
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/", httpd_port(server));
    struct got g = {0};
    assert_int_equal(fetch(url, cert.cert_pem, 10000, &g, &status), CURLE_OK);
    assert_int_equal(status, 200);
    assert_string_equal(g.body, "hello over https");
    snprintf(url, sizeof(url), "https://localhost:%d/", httpd_port(server));
    struct got by_name = {0};
    assert_int_equal(fetch(url, cert.cert_pem, 10000, &by_name, &status), CURLE_OK);
    /* A client that does not trust the certificate refuses it. */
    struct got refused = {0};
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/", httpd_port(server));
    assert_int_equal(fetch(url, NULL, 10000, &refused, &status), CURLE_PEER_FAILED_VERIFICATION);
    httpd_stop(server);
    tls_cert_free(&cert);
}

static void test_a_certificate_refuses_what_is_not_an_ip(void **state)
{
    (void)state;
    const char *ips[] = {"not-an-ip"};
    struct tls_cert cert;
    struct error err = {0};
    assert_int_equal(tls_cert_self_signed("otel-fakes", NULL, 0, ips, 1, &cert, &err), -EINVAL);
    assert_string_equal(err.message,
                        "making the TLS certificate: \"not-an-ip\" is not an IP address");
    assert_null(cert.cert_pem);
    assert_null(cert.key_pem);
}

static void test_https_needs_a_certificate(void **state)
{
    (void)state;
    struct error err = {0};
    assert_null(httpd_start_tls("127.0.0.1", 0, 1024, hello_handler, NULL, NULL, NULL, &err));
    assert_string_equal(err.message, "HTTPS needs a certificate and a key");
}

static int setup_curl(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown_curl(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_streamed_body_arrives_in_chunked_parts),
        cmocka_unit_test(test_a_stream_sees_its_client_leave),
        cmocka_unit_test(test_https_with_a_self_signed_certificate_verifies),
        cmocka_unit_test(test_a_certificate_refuses_what_is_not_an_ip),
        cmocka_unit_test(test_https_needs_a_certificate),
    };
    return cmocka_run_group_tests(tests, setup_curl, teardown_curl);
}
