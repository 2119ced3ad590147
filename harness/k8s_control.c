/*
 * k8s_control.c - the fake Kubernetes API's control routes and calls to its HTTPS front (see
 * k8s_control.h).
 */
#include "k8s_control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"

#define MANIFEST_MAX (3u * 1024 * 1024) /* the fake API's body limit (K8S_API_MAX_BODY) */

/* A request to the control API whose answer is JSON; a status other than 2xx is an error quoting
 * the answer's "error" (the fakes' error body) or its start. */
static int control_json(const struct fakes_client *f, const char *method, const char *route,
                        const char *content_type, const char *body, size_t len, json_t **out,
                        struct error *err)
{
    char url[1024];
    struct httpc_response resp;
    snprintf(url, sizeof(url), "%s%s", f->control, route);
    struct httpc_request req = {
        .method = method, .url = url, .content_type = content_type, .body = body, .body_len = len};
    if (out)
        *out = NULL;
    int rc = httpc_do(&req, &resp, err);
    if (rc < 0)
        goto done;
    json_t *answer = json_loadb((const char *)resp.body, resp.body_len, JSON_DECODE_ANY, NULL);
    if (resp.status < 200 || resp.status > 299) {
        const char *why = json_string_value(json_object_get(answer, "error"));
        rc = error_set(err, -EIO, ERROR_PERMANENT, "%s %s answered %ld: %.600s", method, route,
                       resp.status, why ? why : (const char *)resp.body);
        json_decref(answer);
        goto done;
    }
    if (!answer) {
        rc = error_set(err, -EPROTO, ERROR_PERMANENT, "%s %s: the answer is not JSON: %.200s",
                       method, route, (const char *)resp.body);
        goto done;
    }
    if (out)
        *out = answer;
    else
        json_decref(answer);
done:
    httpc_response_free(&resp);
    return rc;
}

int k8s_control_apply(const struct fakes_client *f, const char *text, size_t len, const char *what,
                      char *summary, size_t summary_size, struct error *err)
{
    json_t *answer = NULL;
    /* The fake reads YAML and JSON alike (JSON is YAML); the type only documents the body. */
    int rc =
        control_json(f, "POST", "/v1/k8s/objects", "application/yaml", text, len, &answer, err);
    if (rc < 0)
        return error_prefix(err, "applying %s", what);
    /* The fake answers kubectl's words: created, configured, unchanged. */
    size_t counts[3] = {0}, i;
    static const char *const actions[3] = {"created", "configured", "unchanged"};
    const json_t *item;
    const json_t *applied = json_object_get(answer, "applied");
    json_array_foreach(applied, i, item)
    {
        const char *action = json_string_value(json_object_get(item, "action"));
        for (size_t a = 0; action && a < 3; a++)
            counts[a] += !strcmp(action, actions[a]);
    }
    if (summary) {
        size_t n = (size_t)snprintf(summary, summary_size, "%zu object%s", json_array_size(applied),
                                    json_array_size(applied) == 1 ? "" : "s");
        for (size_t a = 0, first = 1; a < 3 && n < summary_size; a++) {
            if (!counts[a])
                continue;
            n += (size_t)snprintf(summary + n, summary_size - n, "%s %zu %s", first ? ":" : ",",
                                  counts[a], actions[a]);
            first = 0;
        }
    }
    json_decref(answer);
    return 0;
}

int k8s_control_apply_file(const struct fakes_client *f, const char *path, const char *label,
                           char *summary, size_t summary_size, struct error *err)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return error_set(err, -errno, ERROR_PERMANENT, "%s: %s", path, strerror(errno));
    char *text = malloc(MANIFEST_MAX + 1);
    size_t len = text ? fread(text, 1, MANIFEST_MAX + 1, file) : 0;
    bool failed = ferror(file);
    fclose(file);
    int rc;
    if (!text)
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    else if (failed)
        rc = error_set(err, -EIO, ERROR_PERMANENT, "reading %s failed", path);
    else if (len > MANIFEST_MAX)
        rc = error_set(err, -EFBIG, ERROR_PERMANENT,
                       "%s is larger than the fake API takes (%u bytes)", label, MANIFEST_MAX);
    else
        rc = k8s_control_apply(f, text, len, label, summary, summary_size, err);
    free(text);
    return rc;
}

int k8s_control_delete(const struct fakes_client *f, const char *type, const char *namespace,
                       const char *name, struct error *err)
{
    char route[1024];
    size_t n = strcspn(type, ".");
    snprintf(route, sizeof(route), "/v1/k8s/objects/%s/%.*s/%s/%s", type[n] ? type + n + 1 : "core",
             (int)n, type, *namespace ? namespace : "_", name);
    return control_json(f, "DELETE", route, NULL, NULL, 0, NULL, err);
}

int k8s_control_fault(const struct fakes_client *f, const json_t *spec, json_t **out,
                      struct error *err)
{
    if (!spec)
        return control_json(f, "DELETE", "/v1/faults/kubernetes", NULL, NULL, 0, out, err);
    char *body = json_dumps(spec, JSON_COMPACT);
    if (!body)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    int rc = control_json(f, "PUT", "/v1/faults/kubernetes", "application/json", body, strlen(body),
                          out, err);
    free(body);
    return rc;
}

int k8s_control_pod_phase(const struct fakes_client *f, const char *namespace, const char *name,
                          const char *phase, struct error *err)
{
    char route[1024];
    snprintf(route, sizeof(route), "/v1/k8s/pods/%s/%s/phase", namespace, name);
    json_t *request = json_pack("{s:s}", "phase", phase);
    char *body = request ? json_dumps(request, JSON_COMPACT) : NULL;
    json_decref(request);
    if (!body)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    int rc = control_json(f, "POST", route, "application/json", body, strlen(body), NULL, err);
    free(body);
    return rc;
}

int k8s_control_token(const struct fakes_client *f, const char *user, char *token,
                      struct error *err)
{
    json_t *request = json_pack("{s:s}", "user", user);
    char *body = request ? json_dumps(request, JSON_COMPACT) : NULL;
    json_t *answer = NULL;
    json_decref(request);
    if (!body)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    int rc = control_json(f, "POST", "/v1/k8s/tokens", "application/json", body, strlen(body),
                          &answer, err);
    free(body);
    if (rc < 0)
        return rc;
    const char *value = json_string_value(json_object_get(answer, "token"));
    if (!value || strlen(value) >= K8S_CONTROL_TOKEN_MAX)
        rc =
            error_set(err, -EPROTO, ERROR_PERMANENT, "POST /v1/k8s/tokens: no token in the answer");
    else
        snprintf(token, K8S_CONTROL_TOKEN_MAX, "%s", value);
    json_decref(answer);
    return rc;
}

int k8s_control_write_ca(const struct fakes_client *f, const char *path, struct error *err)
{
    char url[256];
    struct httpc_response resp;
    snprintf(url, sizeof(url), "%s/v1/tls/ca.crt", f->control);
    struct httpc_request req = {.method = "GET", .url = url};
    int rc = httpc_do(&req, &resp, err);
    if (rc == 0 && resp.status != 200)
        rc = error_set(err, -EIO, ERROR_PERMANENT, "GET /v1/tls/ca.crt answered %ld: %.200s",
                       resp.status, (const char *)resp.body);
    if (rc == 0) {
        FILE *file = fopen(path, "wb");
        bool ok = file && fwrite(resp.body, 1, resp.body_len, file) == resp.body_len;
        ok = file && fclose(file) == 0 && ok;
        if (!ok)
            rc = error_set(err, -EIO, ERROR_PERMANENT, "writing %s failed", path);
    }
    httpc_response_free(&resp);
    return rc;
}

int k8s_control_audit(const struct fakes_client *f, json_t **out, struct error *err)
{
    int rc = control_json(f, "GET", "/v1/k8s/audit", NULL, NULL, 0, out, err);
    if (rc == 0 && !json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        rc = error_set(err, -EPROTO, ERROR_PERMANENT, "GET /v1/k8s/audit: not a list");
    }
    return rc;
}

int k8s_control_objects(const struct fakes_client *f, json_t **out, struct error *err)
{
    json_t *view = NULL;
    int rc = control_json(f, "GET", "/v1/received/kubernetes", NULL, NULL, 0, &view, err);
    if (rc < 0)
        return rc;
    *out = json_incref(json_object_get(view, "objects"));
    json_decref(view);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return error_set(err, -EPROTO, ERROR_PERMANENT,
                         "GET /v1/received/kubernetes: no \"objects\" mapping");
    }
    return 0;
}

const json_t *k8s_control_find(const json_t *objects, const char *api_version, const char *kind,
                               const char *namespace, const char *name, const char **type)
{
    const char *key;
    const json_t *list;
    json_object_foreach((json_t *)objects, key, list)
    {
        size_t i;
        const json_t *object;
        json_array_foreach(list, i, object)
        {
            const json_t *meta = json_object_get(object, "metadata");
            const char *ns = json_string_value(json_object_get(meta, "namespace"));
            const char *object_name = json_string_value(json_object_get(meta, "name"));
            const char *object_kind = json_string_value(json_object_get(object, "kind"));
            const char *version = json_string_value(json_object_get(object, "apiVersion"));
            if (!object_name || !object_kind || strcmp(object_name, name) != 0 ||
                strcmp(object_kind, kind) != 0 || strcmp(ns ? ns : "", namespace) != 0 ||
                (api_version && (!version || strcmp(version, api_version) != 0)))
                continue;
            *type = key;
            return object;
        }
    }
    return NULL;
}

int k8s_control_api_call(const struct fakes_client *f, const char *ca_file, const char *token,
                         const char *method, const char *path_and_query, long *status,
                         json_t **body, struct error *err)
{
    char url[2048];
    struct httpc_response resp;
    if (f->kubernetes_https_port <= 0)
        return error_set(err, -ENOTSUP, ERROR_PERMANENT,
                         "otel-fakes has no Kubernetes API over HTTPS (no kubernetes_https port "
                         "on its ready line)");
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", f->kubernetes_https_port, path_and_query);
    struct httpc_request req = {
        .method = method, .url = url, .bearer_token = token, .ca_file = ca_file};
    if (body)
        *body = NULL;
    int rc = httpc_do(&req, &resp, err);
    if (rc == 0) {
        *status = resp.status;
        if (body)
            *body = json_loadb((const char *)resp.body, resp.body_len, 0, NULL);
    }
    httpc_response_free(&resp);
    return rc;
}
