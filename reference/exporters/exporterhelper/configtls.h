/*
 * configtls.h - the `tls` section of a client (core@v0.144.0 config/configtls/configtls.go
 * ClientConfig with its squashed Config), one option table shared by every exporter.
 * Deliberately not here: the server side (receivers reject `tls` until they support it).
 */
#ifndef OTEL_REF_CONFIGTLS_H
#define OTEL_REF_CONFIGTLS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "options.h"

struct configtls_client {
    bool insecure;
    bool insecure_skip_verify;
    bool include_system_ca_certs_pool;
    char *ca_file, *ca_pem, *cert_file, *cert_pem, *key_file, *key_pem;
    char *server_name_override, *min_version, *max_version;
    struct option_string_list cipher_suites, curve_preferences;
    int64_t reload_interval_ns;
};

/* Bind with {OPT_OBJECT, "tls", NULL, offsetof(struct my_config, tls), ...,
 * configtls_client_options}.
 */
extern const struct option configtls_client_options[];

/* Reads a PEM file or takes the inline PEM text (file wins when both are set, as configtls
 * loads the file). *out is NULL when neither is set. Caller frees *out. Returns 0 or -errno with
 * err "failed to load <what>: open <file>: ..." in configtls' words. */
int configtls_load_pem(const char *file, const char *pem, const char *what, char **out,
                       struct error *err);

#endif
