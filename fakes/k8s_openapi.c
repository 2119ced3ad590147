/*
 * k8s_openapi.c - the OpenAPI v3 documents of k8s_openapi.h, built from k8s_resources.h's table.
 * Their shape was checked against kube-openapi spec3 (the root's "paths" of
 * {"serverRelativeURL": ...}) and the operations a 1.32 server publishes for patch (operationId,
 * parameters, requestBody content types, x-kubernetes-action, x-kubernetes-group-version-kind).
 *
 * The hash in each serverRelativeURL is the FNV-1a of the document: it changes only when the
 * document does, which is all a client's cache needs of it.
 */
#include "k8s_openapi.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_patch.h"
#include "k8s_resources.h"

#define ROOT_PATH "/openapi/v3"

/* "api/v1" or "apis/<group>/<version>": the key of a group-version in the root document. */
static void group_version_path(const struct k8s_resource_type *rt, char *out, size_t size)
{
    if (rt->group[0])
        snprintf(out, size, "apis/%s/%s", rt->group, rt->version);
    else
        snprintf(out, size, "api/%s", rt->version);
}

static bool allows_patch(const struct k8s_resource_type *rt)
{
    for (const char *p = rt->verbs; p && (p = strstr(p, "patch")); p += 5)
        if ((p == rt->verbs || p[-1] == ' ') && (p[5] == ' ' || p[5] == '\0'))
            return true;
    return false;
}

static json_t *query_parameter(const char *name, const char *description)
{
    return json_pack("{s:s,s:s,s:s,s:{s:s,s:b}}", "name", name, "in", "query", "description",
                     description, "schema", "type", "string", "uniqueItems", 1);
}

/* The path item of one object of `rt` with its patch operation. */
static json_t *patch_path_item(const struct k8s_resource_type *rt)
{
    char operation_id[300];
    snprintf(operation_id, sizeof(operation_id), "patch%s%s", rt->namespaced ? "Namespaced" : "",
             rt->kind);
    json_t *parameters = json_array();
    json_t *content = json_object();
    json_t *empty = json_object();
    int rc = !parameters || !content || !empty;
    rc = rc ||
         json_array_append_new(
             parameters,
             query_parameter("dryRun", "When present, indicates that modifications should not be "
                                       "persisted."));
    rc = rc || json_array_append_new(parameters,
                                     query_parameter("fieldManager",
                                                     "fieldManager is a name associated with the "
                                                     "actor or entity that is making these "
                                                     "changes."));
    rc = rc || json_array_append_new(
                   parameters,
                   query_parameter("fieldValidation",
                                   "fieldValidation instructs the server on how to handle objects "
                                   "in the request (POST/PUT/PATCH) containing unknown or "
                                   "duplicate fields. Valid values are: Ignore, Warn (the "
                                   "default), Strict."));
    rc = rc || json_array_append_new(parameters,
                                     query_parameter("force", "Force is going to \"force\" Apply "
                                                              "requests."));
    rc = rc || json_object_set(content, K8S_PATCH_JSON_MEDIA_TYPE, empty);
    rc = rc || json_object_set(content, K8S_PATCH_MERGE_MEDIA_TYPE, empty);
    if (!rt->custom)
        rc = rc || json_object_set(content, K8S_PATCH_STRATEGIC_MEDIA_TYPE, empty);
    json_decref(empty);
    if (rc) {
        json_decref(parameters);
        json_decref(content);
        return NULL;
    }
    char description[300];
    snprintf(description, sizeof(description), "partially update the specified %s", rt->kind);
    return json_pack("{s:{s:s,s:s,s:o,s:{s:o,s:b},s:{s:{s:s}},s:s,s:{s:s,s:s,s:s}}}", "patch",
                     "description", description, "operationId", operation_id, "parameters",
                     parameters, "requestBody", "content", content, "required", 1, "responses",
                     "200", "description", "OK", "x-kubernetes-action", "patch",
                     "x-kubernetes-group-version-kind", "group", rt->group, "version", rt->version,
                     "kind", rt->kind);
}

/* The document of one group-version ("apis/apps/v1"), or NULL with *found 0. */
static json_t *group_version_document(const char *wanted, int *found)
{
    json_t *paths = json_object();
    *found = 0;
    for (const struct k8s_resource_type *const *t = k8s_resource_types; paths && *t; t++) {
        char gv[300];
        group_version_path(*t, gv, sizeof(gv));
        if (strcmp(gv, wanted))
            continue;
        *found = 1;
        if (!allows_patch(*t))
            continue;
        char path[700];
        snprintf(path, sizeof(path), "/%s/%s%s/{name}", gv,
                 (*t)->namespaced ? "namespaces/{namespace}/" : "", (*t)->plural);
        if (json_object_set_new(paths, path, patch_path_item(*t))) {
            json_decref(paths);
            paths = NULL;
        }
    }
    if (!*found || !paths) {
        json_decref(paths);
        return NULL;
    }
    return json_pack("{s:s,s:{s:s,s:s},s:o,s:{s:{}}}", "openapi", "3.0.0", "info", "title",
                     "Kubernetes", "version", "v1.32.0", "paths", paths, "components", "schemas");
}

static uint64_t fnv1a(const char *text, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)text[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static json_t *root_document(void)
{
    json_t *paths = json_object();
    for (const struct k8s_resource_type *const *t = k8s_resource_types; paths && *t; t++) {
        char gv[300];
        group_version_path(*t, gv, sizeof(gv));
        if (json_object_get(paths, gv))
            continue;
        int found = 0;
        json_t *doc = group_version_document(gv, &found);
        char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(doc);
        if (!text) {
            json_decref(paths);
            return NULL;
        }
        char url[400];
        snprintf(url, sizeof(url), ROOT_PATH "/%s?hash=%016" PRIX64, gv, fnv1a(text, strlen(text)));
        free(text);
        if (json_object_set_new(paths, gv, json_pack("{s:s}", "serverRelativeURL", url))) {
            json_decref(paths);
            return NULL;
        }
    }
    return paths ? json_pack("{s:o}", "paths", paths) : NULL;
}

json_t *k8s_openapi_document(const char *path, int *found)
{
    *found = 0;
    if (!strcmp(path, ROOT_PATH)) {
        *found = 1;
        return root_document();
    }
    if (strncmp(path, ROOT_PATH "/", strlen(ROOT_PATH) + 1))
        return NULL;
    return group_version_document(path + strlen(ROOT_PATH) + 1, found);
}
