/* tls_cert.c - self-signed certificates with GnuTLS (see tls_cert.h). */
#include "tls_cert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define VALID_FOR_SECONDS (365L * 24 * 3600)

/* A GnuTLS export (PEM) into a NUL-terminated malloc'd string. */
static int export_pem(gnutls_datum_t *datum, char **out)
{
    *out = malloc(datum->size + 1);
    if (!*out)
        return -ENOMEM;
    memcpy(*out, datum->data, datum->size);
    (*out)[datum->size] = '\0';
    return 0;
}

static int fail_gnutls(struct error *err, const char *what, int code)
{
    return error_set(err, -EIO, ERROR_PERMANENT, "making the TLS certificate: %s: %s", what,
                     gnutls_strerror(code));
}

/* Adds the subject alternative names. Returns 0 or a negative code with `err` filled. */
static int add_names(gnutls_x509_crt_t crt, const char *const *dns_names, size_t n_dns,
                     const char *const *ips, size_t n_ips, struct error *err)
{
    for (size_t i = 0; i < n_dns; i++) {
        int rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, dns_names[i],
                                                      (unsigned)strlen(dns_names[i]),
                                                      GNUTLS_FSAN_APPEND);
        if (rc < 0)
            return fail_gnutls(err, "a DNS name", rc);
    }
    for (size_t i = 0; i < n_ips; i++) {
        unsigned char raw[16];
        unsigned len;
        if (inet_pton(AF_INET, ips[i], raw) == 1)
            len = 4;
        else if (inet_pton(AF_INET6, ips[i], raw) == 1)
            len = 16;
        else
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "making the TLS certificate: \"%s\" is not an IP address", ips[i]);
        int rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, raw, len,
                                                      GNUTLS_FSAN_APPEND);
        if (rc < 0)
            return fail_gnutls(err, "an IP address", rc);
    }
    return 0;
}

int tls_cert_self_signed(const char *common_name, const char *const *dns_names, size_t n_dns,
                         const char *const *ips, size_t n_ips, struct tls_cert *out,
                         struct error *err)
{
    memset(out, 0, sizeof(*out));
    if (n_dns > TLS_CERT_MAX_NAMES || n_ips > TLS_CERT_MAX_NAMES)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "making the TLS certificate: at most %d names of each kind",
                         TLS_CERT_MAX_NAMES);
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t cert_pem = {0}, key_pem = {0};
    int rc = 0, g;
    if ((g = gnutls_x509_privkey_init(&key)) < 0 || (g = gnutls_x509_crt_init(&crt)) < 0) {
        rc = fail_gnutls(err, "init", g);
        goto done;
    }
    if ((g = gnutls_x509_privkey_generate(
             key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0) {
        rc = fail_gnutls(err, "generating the key", g);
        goto done;
    }
    /* A random positive serial: clients cache certificates by issuer and serial. */
    unsigned char serial[16];
    if ((g = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0) {
        rc = fail_gnutls(err, "a serial number", g);
        goto done;
    }
    serial[0] &= 0x7f;
    time_t now = time(NULL);
    static const char *const usage = "1.3.6.1.5.5.7.3.1"; /* id-kp-serverAuth */
    if ((g = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
        (g = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
        (g = gnutls_x509_crt_set_activation_time(crt, now - 60)) < 0 ||
        (g = gnutls_x509_crt_set_expiration_time(crt, now + VALID_FOR_SECONDS)) < 0 ||
        (g = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, common_name,
                                           (unsigned)strlen(common_name))) < 0 ||
        (g = gnutls_x509_crt_set_key(crt, key)) < 0 ||
        (g = gnutls_x509_crt_set_basic_constraints(crt, 1, -1)) < 0 ||
        (g = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
                                                    GNUTLS_KEY_KEY_CERT_SIGN)) < 0 ||
        (g = gnutls_x509_crt_set_key_purpose_oid(crt, usage, 0)) < 0) {
        rc = fail_gnutls(err, "the certificate's fields", g);
        goto done;
    }
    if ((rc = add_names(crt, dns_names, n_dns, ips, n_ips, err)) < 0)
        goto done;
    if ((g = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0) {
        rc = fail_gnutls(err, "signing", g);
        goto done;
    }
    if ((g = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cert_pem)) < 0 ||
        (g = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &key_pem)) < 0) {
        rc = fail_gnutls(err, "exporting PEM", g);
        goto done;
    }
    if (export_pem(&cert_pem, &out->cert_pem) < 0 || export_pem(&key_pem, &out->key_pem) < 0) {
        tls_cert_free(out);
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
done:
    gnutls_free(cert_pem.data);
    if (key_pem.data) {
        memset(key_pem.data, 0, key_pem.size);
        gnutls_free(key_pem.data);
    }
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    return rc;
}

void tls_cert_free(struct tls_cert *cert)
{
    if (!cert)
        return;
    free(cert->cert_pem);
    if (cert->key_pem) {
        memset(cert->key_pem, 0, strlen(cert->key_pem));
        free(cert->key_pem);
    }
    cert->cert_pem = cert->key_pem = NULL;
}
