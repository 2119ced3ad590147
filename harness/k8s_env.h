/*
 * k8s_env.h - what a run gives the collector to reach the fake Kubernetes API, as a pod gets it
 * in the cluster: the scenario's objects and RBAC in place before the collector starts, a
 * service account token, the API's CA and namespace in a folder that stands for
 * /var/run/secrets/kubernetes.io/serviceaccount, a kubeconfig, and the environment that points
 * at them.
 *
 * The collector's environment, for a scenario with a `kubernetes:` section:
 *   KUBERNETES_SERVICE_HOST=127.0.0.1, KUBERNETES_SERVICE_PORT=<the fake's HTTPS port>
 *       what the kubelet sets in every pod; client-go's InClusterConfig (auth_type
 *       serviceAccount, k8sattributes' default) builds https://HOST:PORT from them;
 *   OTELCOL_REF_SERVICEACCOUNT_DIR=<run>/var/run/secrets/kubernetes.io/serviceaccount
 *       holding `token`, `ca.crt` and `namespace`: otelcol-ref's stand-in for the fixed path
 *       InClusterConfig reads (a real otelcol-contrib reads the fixed path, so with
 *       --collector it can only use the kubeconfig);
 *   KUBECONFIG=<run>/kubeconfig
 *       auth_type kubeConfig: one cluster (server https://127.0.0.1:PORT,
 *       certificate-authority the ca.crt above), one user with the token, one context with the
 *       service account's namespace, current-context set. Written as JSON, which YAML readers
 *       (client-go's included) take as it is.
 * Everything lives in the run's temp dir (it stands for the node's and the pod's file system).
 *
 * Tokens are made through the control API (POST /v1/k8s/tokens), one per identity per run and
 * kept here, so a `k8s` step's calls as an identity reuse it.
 */
#ifndef HARNESS_K8S_ENV_H
#define HARNESS_K8S_ENV_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "fakes_client.h"
#include "k8s_calls.h"
#include "k8s_control.h"

struct k8s_section; /* k8s_scenario.h */

#define K8S_ENV_COUNT 4 /* the variables the collector gets */
#define K8S_ENV_MAX_TOKENS 8

/* The names of the variables above, NULL-terminated: the loader refuses them in `env:`. */
extern const char *const k8s_env_variables[];

struct k8s_env {
    char run_dir[PATH_MAX];
    char account_dir[PATH_MAX + 64]; /* <run>/var/run/secrets/kubernetes.io/serviceaccount */
    char ca_file[PATH_MAX + 96];     /* <account_dir>/ca.crt, once fetched */
    bool ca_written;
    char kubeconfig[PATH_MAX + 32];
    char env[K8S_ENV_COUNT][PATH_MAX + 128]; /* "NAME=value" for the collector */
    size_t env_count;
    struct {
        char user[K8S_CALLS_USER_MAX];
        char token[K8S_CONTROL_TOKEN_MAX];
    } tokens[K8S_ENV_MAX_TOKENS];
    size_t token_count;
};

/* Starts empty for the run whose temp dir is `run_dir`. */
void k8s_env_init(struct k8s_env *e, const char *run_dir);

/* For a scenario with a `kubernetes:` section: applies its RBAC manifest, then its objects (in
 * that order, so objects may rely on what the RBAC creates), makes the token of its `as`
 * identity, writes the files and fills e->env. `summary` (may be NULL) gets what was set up,
 * for result.json. Must run before the collector starts. */
int k8s_env_prepare(struct k8s_env *e, const struct k8s_section *k, const struct fakes_client *f,
                    json_t *summary, struct error *err);

/* The token of `user` (made at its first use in the run). Borrowed from e. */
int k8s_env_token(struct k8s_env *e, const struct fakes_client *f, const char *user,
                  const char **token, struct error *err);

/* The CA file of the fake's HTTPS front (fetched at its first use). Borrowed from e. */
int k8s_env_ca_file(struct k8s_env *e, const struct fakes_client *f, const char **path,
                    struct error *err);

#endif
