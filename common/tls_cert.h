/*
 * tls_cert.h - a self-signed TLS server certificate made in memory at start-up, for fakes that
 * must speak HTTPS to clients that insist on it (client-go's in-cluster config is https only:
 * shared/facts/pipeline.md §3 "Auth / connection").
 *
 * The certificate is its own CA (basicConstraints CA:TRUE, keyCertSign), so a client trusts it
 * by taking the certificate itself as its CA bundle: a kubeconfig's
 * certificate-authority-data, client-go's in-cluster ca.crt, curl's --cacert. Its subject
 * alternative names are the ones given (DNS names and IP addresses), valid from a minute ago for
 * a year; the key is a fresh ECDSA P-256 key each time, never written to disk by this module.
 *
 * Made with GnuTLS, the TLS library libmicrohttpd serves HTTPS with.
 */
#ifndef OTEL_COMMON_TLS_CERT_H
#define OTEL_COMMON_TLS_CERT_H

#include <stddef.h>

#include "error.h"

#define TLS_CERT_MAX_NAMES 16

struct tls_cert {
    char *cert_pem; /* owned */
    char *key_pem;  /* owned */
};

/* Makes a self-signed certificate for `common_name` with the subject alternative names
 * `dns_names` (n_dns of them) and `ips` (n_ips textual IPv4/IPv6 addresses), at most
 * TLS_CERT_MAX_NAMES of each. Returns 0 with *out filled (free with tls_cert_free), or
 * -EINVAL (a bad IP, too many names) / -ENOMEM / -EIO (GnuTLS failed) with `err` filled. */
int tls_cert_self_signed(const char *common_name, const char *const *dns_names, size_t n_dns,
                         const char *const *ips, size_t n_ips, struct tls_cert *out,
                         struct error *err);

/* Frees what tls_cert_self_signed made and zeroes *cert. NULL is accepted. */
void tls_cert_free(struct tls_cert *cert);

#endif
