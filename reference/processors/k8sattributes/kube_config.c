/*
 * kube_config.c - where the k8sattributes processor's API client connects, and as whom: the
 * auth_type of upstream's k8sconfig.MakeClient (contrib v0.143/v0.144
 * internal/k8sconfig/config.go, facts/pipeline.md §3 "Auth / connection"):
 *   - serviceAccount: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (else
 *     upstream's error), then client-go's rest.InClusterConfig: https://host:port, the bearer
 *     token of the mounted service account, its ca.crt. client-go only logs a CA it cannot read
 *     and goes on with the system roots; a token it cannot read is an error (both as here).
 *   - none: https to the same host, TLS verification off, no token.
 *   - kubeConfig: client-go's default loading rules: $KUBECONFIG (a ':'-separated list of files,
 *     the first file to set a map entry or current-context wins) or ~/.kube/config; `context`
 *     overrides current-context. Relative file paths are relative to the kubeconfig's folder.
 *     Cluster: server, certificate-authority(-data), insecure-skip-tls-verify. User: token,
 *     tokenFile, client-certificate(-data), client-key(-data).
 *   - tls: client certificates from upstream's own config keys, which otelcol-ref does not
 *     bind yet: refused at start with a message saying so.
 *
 * The service account folder is /var/run/secrets/kubernetes.io/serviceaccount, or the folder
 * named by OTELCOL_REF_SERVICEACCOUNT_DIR: otelcol-ref's stand-in so that the harness can run
 * the team's config (auth_type serviceAccount) outside a pod. Upstream has no such variable.
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8sattributes.h"
#include "yamljson.h"

#define SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
/* Tokens and certificates are small; anything bigger is not one. */
#define KUBE_FILE_MAX (1u << 20)

void k8s_api_config_free(struct k8s_api_config *c)
{
    if (!c)
        return;
    free(c->server);
    free(c->token);
    free(c->ca_file);
    free(c->ca_pem);
    free(c->cert_file);
    free(c->cert_pem);
    free(c->key_file);
    free(c->key_pem);
    free(c->describe);
    memset(c, 0, sizeof(*c));
}

/* Reads a small file whole, NUL-terminated. Returns 0, or -errno with err saying which file as
 * Go's os.ReadFile would ("open PATH: no such file or directory"). */
static int read_small_file(const char *path, char **out, size_t *len, struct error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(err, -errno, ERROR_PERMANENT, "open %s: %s", path, strerror(errno));
    char *buf = malloc(KUBE_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    size_t n = fread(buf, 1, KUBE_FILE_MAX + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || n > KUBE_FILE_MAX) {
        free(buf);
        return error_set(err, -EIO, ERROR_PERMANENT, "read %s: %s", path,
                         failed ? "read error" : "larger than 1 MiB");
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

/* A token file's text without surrounding white space (client-go TrimSpace). */
static int read_token(const char *path, char **out, struct error *err)
{
    char *text;
    int rc = read_small_file(path, &text, NULL, err);
    if (rc < 0)
        return rc;
    char *start = text;
    while (*start && strchr(" \t\r\n", *start))
        start++;
    size_t n = strlen(start);
    while (n && strchr(" \t\r\n", start[n - 1]))
        n--;
    memmove(text, start, n);
    text[n] = '\0';
    *out = text;
    return 0;
}

static int set_string(char **dst, const char *src, struct error *err)
{
    free(*dst);
    *dst = src ? strdup(src) : NULL;
    if (src && !*dst)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    return 0;
}

/* net.JoinHostPort: IPv6 literals get brackets. */
static int service_host_url(struct k8s_api_config *c, const char *host, const char *port,
                            struct error *err)
{
    bool v6 = strchr(host, ':') != NULL;
    size_t n = strlen(host) + strlen(port) + 16;
    c->server = malloc(n);
    if (!c->server)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    snprintf(c->server, n, v6 ? "https://[%s]:%s" : "https://%s:%s", host, port);
    return 0;
}

static int load_in_cluster(struct k8s_api_config *c, bool authenticate, struct error *err)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "unable to load k8s config, KUBERNETES_SERVICE_HOST and "
                         "KUBERNETES_SERVICE_PORT must be defined");
    int rc = service_host_url(c, host, port, err);
    if (rc < 0)
        return rc;
    if (!authenticate) {
        c->insecure = true;
        return set_string(&c->describe, "no credentials (auth_type none)", err);
    }
    const char *dir = getenv("OTELCOL_REF_SERVICEACCOUNT_DIR");
    if (!dir || !*dir)
        dir = SERVICEACCOUNT_DIR;
    char path[4096];
    snprintf(path, sizeof(path), "%s/token", dir);
    if ((rc = read_token(path, &c->token, err)) < 0)
        return rc;
    snprintf(path, sizeof(path), "%s/ca.crt", dir);
    FILE *probe = fopen(path, "rb");
    if (probe) {
        fclose(probe);
        if ((rc = set_string(&c->ca_file, path, err)) < 0)
            return rc;
    } else {
        c->ca_unreadable = true; /* client-go logs it and uses the system roots */
    }
    char describe[4200];
    snprintf(describe, sizeof(describe), "the service account token in %s", dir);
    return set_string(&c->describe, describe, err);
}

/* ---- kubeconfig ---- */

/* The entries of every kubeconfig file in load order, and which file each came from. */
struct kubeconfig_set {
    json_t *files;       /* array of the parsed documents */
    json_t *dirs;        /* array of each file's folder (strings), same order */
    const char *current; /* first non-empty current-context, borrowed from files */
    const char *first;   /* the first file's path, for messages */
};

/* The named entry (`{name: ..., <field>: {...}}`) of list `list_key` in the first file that has
 * it; *dir gets that file's folder. Borrowed. */
static const json_t *kubeconfig_find(const struct kubeconfig_set *set, const char *list_key,
                                     const char *field, const char *name, const char **dir)
{
    size_t i;
    json_t *doc;
    json_array_foreach(set->files, i, doc)
    {
        const json_t *list = json_object_get(doc, list_key);
        size_t j;
        const json_t *entry;
        json_array_foreach(list, j, entry)
        {
            const char *n = json_string_value(json_object_get(entry, "name"));
            if (n && !strcmp(n, name)) {
                *dir = json_string_value(json_array_get(set->dirs, i));
                return json_object_get(entry, field);
            }
        }
    }
    return NULL;
}

static const char *str_field(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

/* A path from a kubeconfig, made absolute against its file's folder. */
static int resolve_path(char **dst, const char *dir, const char *path, struct error *err)
{
    if (path[0] == '/' || !dir || !*dir)
        return set_string(dst, path, err);
    size_t n = strlen(dir) + strlen(path) + 2;
    free(*dst);
    if (!(*dst = malloc(n)))
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    snprintf(*dst, n, "%s/%s", dir, path);
    return 0;
}

/* `*-data` fields: base64 of PEM, decoded with GnuTLS's decoder. */
static int decode_data(char **dst, const char *b64, const char *what, struct error *err)
{
    gnutls_datum_t in = {.data = (unsigned char *)b64, .size = (unsigned)strlen(b64)};
    gnutls_datum_t out = {0};
    if (gnutls_base64_decode2(&in, &out) < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "kubeconfig %s is not valid base64", what);
    free(*dst);
    *dst = malloc(out.size + 1);
    if (*dst) {
        memcpy(*dst, out.data, out.size);
        (*dst)[out.size] = '\0';
    }
    gnutls_free(out.data);
    return *dst ? 0 : error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
}

static void kubeconfig_set_free(struct kubeconfig_set *set)
{
    json_decref(set->files);
    json_decref(set->dirs);
}

/* Loads $KUBECONFIG's files (missing ones are skipped, as client-go does) or ~/.kube/config. */
static int kubeconfig_load(struct kubeconfig_set *set, char *first_path, size_t first_size,
                           struct error *err)
{
    set->files = json_array();
    set->dirs = json_array();
    if (!set->files || !set->dirs)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    const char *env = getenv("KUBECONFIG");
    char list[8192];
    if (env && *env) {
        snprintf(list, sizeof(list), "%s", env);
    } else {
        const char *home = getenv("HOME");
        snprintf(list, sizeof(list), "%s/.kube/config", home && *home ? home : "");
    }
    first_path[0] = '\0';
    char *save = NULL;
    for (char *path = strtok_r(list, ":", &save); path; path = strtok_r(NULL, ":", &save)) {
        if (!first_path[0])
            snprintf(first_path, first_size, "%s", path);
        FILE *probe = fopen(path, "rb");
        if (!probe)
            continue;
        fclose(probe);
        json_t *doc = NULL;
        int rc = yamljson_load_file(path, &doc, NULL, err);
        if (rc < 0)
            return rc;
        if (!json_is_object(doc)) {
            json_decref(doc);
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: a kubeconfig is a mapping", path);
        }
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof(dir), ".");
        if (json_array_append_new(set->files, doc) < 0 ||
            json_array_append_new(set->dirs, json_string(dir)) < 0)
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        if (!set->current)
            set->current = str_field(doc, "current-context");
    }
    return 0;
}

static int load_kubeconfig(struct k8s_api_config *c, const char *context_override,
                           struct error *err)
{
    struct kubeconfig_set set = {0};
    char first_path[4096];
    int rc = kubeconfig_load(&set, first_path, sizeof(first_path), err);
    if (rc < 0)
        goto out;
    const char *context_name =
        context_override && *context_override ? context_override : set.current;
    if (json_array_size(set.files) == 0 || !context_name) {
        /* clientcmd's ErrEmptyConfig text. */
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "invalid configuration: no configuration has been provided, try setting "
                       "KUBERNETES_MASTER environment variable");
        goto out;
    }
    const char *dir = NULL;
    const json_t *context = kubeconfig_find(&set, "contexts", "context", context_name, &dir);
    if (!context) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "invalid configuration: context was not found for specified context: %s",
                       context_name);
        goto out;
    }
    const char *cluster_name = str_field(context, "cluster");
    const char *user_name = str_field(context, "user");
    const json_t *cluster =
        cluster_name ? kubeconfig_find(&set, "clusters", "cluster", cluster_name, &dir) : NULL;
    const char *server = cluster ? str_field(cluster, "server") : NULL;
    if (!server) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "invalid configuration: no server found for cluster \"%s\"",
                       cluster_name ? cluster_name : "");
        goto out;
    }
    size_t n = strlen(server);
    while (n && server[n - 1] == '/')
        n--;
    if (!(c->server = strndup(server, n))) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto out;
    }
    c->insecure = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
    const char *s;
    if ((s = str_field(cluster, "certificate-authority-data")))
        rc = decode_data(&c->ca_pem, s, "certificate-authority-data", err);
    else if ((s = str_field(cluster, "certificate-authority")))
        rc = resolve_path(&c->ca_file, dir, s, err);
    if (rc < 0)
        goto out;
    const json_t *user = user_name ? kubeconfig_find(&set, "users", "user", user_name, &dir) : NULL;
    if ((s = str_field(user, "token"))) {
        rc = set_string(&c->token, s, err);
    } else if ((s = str_field(user, "tokenFile"))) {
        char *path = NULL;
        rc = resolve_path(&path, dir, s, err);
        if (rc == 0)
            rc = read_token(path, &c->token, err);
        free(path);
    }
    if (rc == 0 && (s = str_field(user, "client-certificate-data")))
        rc = decode_data(&c->cert_pem, s, "client-certificate-data", err);
    else if (rc == 0 && (s = str_field(user, "client-certificate")))
        rc = resolve_path(&c->cert_file, dir, s, err);
    if (rc == 0 && (s = str_field(user, "client-key-data")))
        rc = decode_data(&c->key_pem, s, "client-key-data", err);
    else if (rc == 0 && (s = str_field(user, "client-key")))
        rc = resolve_path(&c->key_file, dir, s, err);
    if (rc < 0)
        goto out;
    char describe[4400];
    snprintf(describe, sizeof(describe), "kubeconfig context \"%s\" (%s)", context_name,
             first_path);
    rc = set_string(&c->describe, describe, err);
out:
    kubeconfig_set_free(&set);
    return rc;
}

int k8s_api_config_load(const char *auth_type, const char *context, struct k8s_api_config *out,
                        struct error *err)
{
    memset(out, 0, sizeof(*out));
    int rc;
    if (!auth_type || !strcmp(auth_type, "serviceAccount"))
        rc = load_in_cluster(out, true, err);
    else if (!strcmp(auth_type, "none"))
        rc = load_in_cluster(out, false, err);
    else if (!strcmp(auth_type, "kubeConfig"))
        rc = load_kubeconfig(out, context, err);
    else
        rc = error_set(err, -ENOTSUP, ERROR_PERMANENT,
                       "auth_type %s is accepted but otelcol-ref cannot connect with it yet "
                       "(use serviceAccount, kubeConfig or none)",
                       auth_type);
    if (rc < 0)
        k8s_api_config_free(out);
    return rc;
}
