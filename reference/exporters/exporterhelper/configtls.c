/*
 * configtls.c - the client `tls` option table and PEM loading (see configtls.h), checked against
 * core@v0.144.0 config/configtls/configtls.go (keys, defaults: insecure false, min_version
 * "1.2" applied by Go when empty).
 */
#include "configtls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TLS(field) offsetof(struct configtls_client, field)
#define PEM_MAX (1024 * 1024) /* a CA bundle is far smaller; anything larger is a mistake */

const struct option configtls_client_options[] = {
    {OPT_BOOL, "insecure", "false", TLS(insecure),
     "plaintext (gRPC: h2c; no effect on http:// URLs)", 0, NULL, 0},
    {OPT_BOOL, "insecure_skip_verify", "false", TLS(insecure_skip_verify),
     "do not verify the server certificate", 0, NULL, 0},
    {OPT_BOOL, "include_system_ca_certs_pool", "false", TLS(include_system_ca_certs_pool),
     "trust system CAs besides ca_file", 0, NULL, 0},
    {OPT_STRING, "ca_file", NULL, TLS(ca_file), "CA bundle file", 0, NULL, 0},
    {OPT_STRING, "ca_pem", NULL, TLS(ca_pem), "CA bundle PEM text", 0, NULL, 0},
    {OPT_STRING, "cert_file", NULL, TLS(cert_file), "client certificate file", 0, NULL, 0},
    {OPT_STRING, "cert_pem", NULL, TLS(cert_pem), "client certificate PEM text", 0, NULL, 0},
    {OPT_STRING, "key_file", NULL, TLS(key_file), "client key file", 0, NULL, 0},
    {OPT_STRING, "key_pem", NULL, TLS(key_pem), "client key PEM text", 0, NULL, 0},
    {OPT_STRING, "server_name_override", NULL, TLS(server_name_override),
     "TLS server name (otlp_grpc; not applied by otlp_http)", 0, NULL, 0},
    {OPT_STRING, "min_version", NULL, TLS(min_version),
     "minimum TLS version (accepted, not applied)", 0, NULL, 0},
    {OPT_STRING, "max_version", NULL, TLS(max_version),
     "maximum TLS version (accepted, not applied)", 0, NULL, 0},
    {OPT_STRING_LIST, "cipher_suites", NULL, TLS(cipher_suites),
     "cipher suites (accepted, not applied)", 0, NULL, 0},
    {OPT_STRING_LIST, "curve_preferences", NULL, TLS(curve_preferences),
     "curves (accepted, not applied)", 0, NULL, 0},
    {OPT_DURATION, "reload_interval", NULL, TLS(reload_interval_ns),
     "certificate reload (accepted, not applied)", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

int configtls_load_pem(const char *file, const char *pem, const char *what, char **out,
                       struct error *err)
{
    *out = NULL;
    if (!file || !*file) {
        if (!pem || !*pem)
            return 0;
        *out = strdup(pem);
        return *out ? 0 : error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    int rc = 0;
    char *text = NULL;
    FILE *f = fopen(file, "rb");
    if (!f) {
        rc = -errno;
        return error_set(err, rc, ERROR_PERMANENT, "failed to load %s: open %s: %s", what, file,
                         strerror(-rc));
    }
    text = malloc(PEM_MAX + 1);
    if (!text) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto out;
    }
    size_t n = fread(text, 1, PEM_MAX + 1, f);
    if (ferror(f) || n > PEM_MAX) {
        rc = error_set(err, -EFBIG, ERROR_PERMANENT, "failed to load %s: %s: %s", what, file,
                       n > PEM_MAX ? "larger than 1 MiB" : "read error");
        goto out;
    }
    text[n] = '\0';
    *out = text;
    text = NULL;
out:
    free(text);
    fclose(f);
    return rc;
}
