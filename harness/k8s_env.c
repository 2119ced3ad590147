/*
 * k8s_env.c - the collector's way to the fake Kubernetes API (see k8s_env.h).
 */
#include "k8s_env.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "golden.h"
#include "k8s_scenario.h"

#define ACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBECONFIG_NAME "otel-fakes" /* the cluster and context of the kubeconfig */

const char *const k8s_env_variables[] = {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
                                         "OTELCOL_REF_SERVICEACCOUNT_DIR", "KUBECONFIG", NULL};

void k8s_env_init(struct k8s_env *e, const char *run_dir)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->run_dir, sizeof(e->run_dir), "%s", run_dir);
    snprintf(e->account_dir, sizeof(e->account_dir), "%s" ACCOUNT_DIR, run_dir);
    snprintf(e->ca_file, sizeof(e->ca_file), "%s/ca.crt", e->account_dir);
    snprintf(e->kubeconfig, sizeof(e->kubeconfig), "%s/kubeconfig", run_dir);
}

/* Writes `len` bytes of `text` to `path`, as the kubelet writes the account files: no newline
 * added. */
static int write_text(const char *path, const char *text, size_t len, struct error *err)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(text, 1, len, f) == len;
    ok = f && fclose(f) == 0 && ok;
    return ok ? 0 : error_set(err, -EIO, ERROR_PERMANENT, "writing %s failed", path);
}

int k8s_env_ca_file(struct k8s_env *e, const struct fakes_client *f, const char **path,
                    struct error *err)
{
    int rc = 0;
    if (!e->ca_written && (rc = golden_mkdirs(e->account_dir, 0, err)) == 0 &&
        (rc = k8s_control_write_ca(f, e->ca_file, err)) == 0)
        e->ca_written = true;
    *path = e->ca_file;
    return rc;
}

int k8s_env_token(struct k8s_env *e, const struct fakes_client *f, const char *user,
                  const char **token, struct error *err)
{
    for (size_t i = 0; i < e->token_count; i++) {
        if (!strcmp(e->tokens[i].user, user)) {
            *token = e->tokens[i].token;
            return 0;
        }
    }
    if (e->token_count >= K8S_ENV_MAX_TOKENS)
        return error_set(err, -ENOSPC, ERROR_PERMANENT,
                         "more than %d identities in one run: raise K8S_ENV_MAX_TOKENS",
                         K8S_ENV_MAX_TOKENS);
    int rc = k8s_control_token(f, user, e->tokens[e->token_count].token, err);
    if (rc < 0)
        return rc;
    snprintf(e->tokens[e->token_count].user, sizeof(e->tokens[0].user), "%s", user);
    *token = e->tokens[e->token_count++].token;
    return 0;
}

static int write_kubeconfig(const struct k8s_env *e, const struct k8s_section *k, int https_port,
                            const char *token, struct error *err)
{
    char server[64];
    snprintf(server, sizeof(server), "https://127.0.0.1:%d", https_port);
    json_t *config = json_pack(
        "{s:s, s:s, s:[{s:s, s:{s:s, s:s}}], s:[{s:s, s:{s:s}}], s:[{s:s, s:{s:s, s:s, s:s}}], "
        "s:s}",
        "apiVersion", "v1", "kind", "Config", "clusters", "name", KUBECONFIG_NAME, "cluster",
        "server", server, "certificate-authority", e->ca_file, "users", "name", k->user, "user",
        "token", token, "contexts", "name", KUBECONFIG_NAME, "context", "cluster", KUBECONFIG_NAME,
        "user", k->user, "namespace", k->namespace, "current-context", KUBECONFIG_NAME);
    if (!config)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    int rc = golden_write(e->kubeconfig, config, err);
    json_decref(config);
    return rc;
}

static int add_env(struct k8s_env *e, const char *name, const char *value, struct error *err)
{
    int n = snprintf(e->env[e->env_count], sizeof(e->env[0]), "%s=%s", name, value);
    if (n < 0 || (size_t)n >= sizeof(e->env[0]))
        return error_set(err, -ENAMETOOLONG, ERROR_PERMANENT, "%s is too long", name);
    e->env_count++;
    return 0;
}

int k8s_env_prepare(struct k8s_env *e, const struct k8s_section *k, const struct fakes_client *f,
                    json_t *summary, struct error *err)
{
    char applied[256], port[16], path[PATH_MAX + 128];
    const char *token, *ca;
    json_t *objects = json_array();
    int rc = 0;
    if (!objects)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    if (f->kubernetes_https_port <= 0) {
        rc = error_set(err, -ENOTSUP, ERROR_PERMANENT,
                       "the scenario has a kubernetes: section, but otel-fakes has no Kubernetes "
                       "API over HTTPS (no kubernetes_https port on its ready line)");
        goto done;
    }
    if (k->rbac[0]) {
        if ((rc = k8s_control_apply_file(f, k->rbac, k->rbac_label, applied, sizeof(applied),
                                         err)) < 0)
            goto done;
        json_array_append_new(objects,
                              json_pack("{s:s, s:s}", "file", k->rbac_label, "applied", applied));
    }
    for (size_t i = 0; i < k->object_count; i++) {
        if ((rc = k8s_control_apply_file(f, k->objects[i], k->object_labels[i], applied,
                                         sizeof(applied), err)) < 0)
            goto done;
        json_array_append_new(
            objects, json_pack("{s:s, s:s}", "file", k->object_labels[i], "applied", applied));
    }
    if ((rc = k8s_env_ca_file(e, f, &ca, err)) < 0 ||
        (rc = k8s_env_token(e, f, k->user, &token, err)) < 0)
        goto done;
    snprintf(path, sizeof(path), "%s/token", e->account_dir);
    if ((rc = write_text(path, token, strlen(token), err)) < 0)
        goto done;
    snprintf(path, sizeof(path), "%s/namespace", e->account_dir);
    if ((rc = write_text(path, k->namespace, strlen(k->namespace), err)) < 0 ||
        (rc = write_kubeconfig(e, k, f->kubernetes_https_port, token, err)) < 0)
        goto done;
    snprintf(port, sizeof(port), "%d", f->kubernetes_https_port);
    e->env_count = 0;
    if ((rc = add_env(e, k8s_env_variables[0], "127.0.0.1", err)) < 0 ||
        (rc = add_env(e, k8s_env_variables[1], port, err)) < 0 ||
        (rc = add_env(e, k8s_env_variables[2], e->account_dir, err)) < 0 ||
        (rc = add_env(e, k8s_env_variables[3], e->kubeconfig, err)) < 0)
        goto done;
    if (summary) {
        json_t *env = json_object();
        for (size_t i = 0; env && i < e->env_count; i++) {
            const char *eq = strchr(e->env[i], '=');
            char name[64];
            snprintf(name, sizeof(name), "%.*s", (int)(eq - e->env[i]), e->env[i]);
            json_object_set_new(env, name, json_string(eq + 1));
        }
        json_object_set_new(summary, "as", json_string(k->user));
        json_object_set_new(summary, "rbac", json_string(k->rbac[0] ? k->rbac_label : "none"));
        json_object_set(summary, "applied", objects);
        if (env)
            json_object_set_new(summary, "env", env);
    }
done:
    json_decref(objects);
    return rc;
}
