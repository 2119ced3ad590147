/*
 * k8s_request.c - the API server's RequestInfo for the fake Kubernetes API (k8s_request.h).
 *
 * Follows apiserver pkg/endpoints/request/requestinfo.go (NewRequestInfo): at least three path
 * segments for a resource request, the `watch` and `proxy` special verbs after the version,
 * `namespaces/<ns>/<resource>` scoping (but `namespaces/<ns>/status` and `/finalize` are the
 * namespace's own subresources), and GET / DELETE without a name becoming list or watch /
 * deletecollection. The `watch` query value counts as false for what Go's strconv.ParseBool
 * reads as false ("0", "f", "false" in any case), as the parameter codec does, else true.
 */
#include "k8s_request.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_PARTS 16

/* Copies segment `seg` of length `len` into `out` (size `size`); false when it does not fit. */
static bool copy_part(char *out, size_t size, const char *seg, size_t len)
{
    if (len >= size)
        return false;
    memcpy(out, seg, len);
    out[len] = '\0';
    return true;
}

static bool watch_requested(const char *value)
{
    if (!value)
        return false;
    return strcmp(value, "0") != 0 && strcasecmp(value, "f") != 0 &&
           strcasecmp(value, "false") != 0;
}

static const char *verb_of_method(const char *method)
{
    if (!strcmp(method, "POST"))
        return "create";
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
        return "get";
    if (!strcmp(method, "PUT"))
        return "update";
    if (!strcmp(method, "PATCH"))
        return "patch";
    if (!strcmp(method, "DELETE"))
        return "delete";
    return "";
}

static void non_resource(const char *method, struct k8s_request_info *out)
{
    out->resource_request = false;
    out->group[0] = out->version[0] = out->namespace_[0] = '\0';
    out->resource[0] = out->subresource[0] = out->name[0] = out->api_prefix[0] = '\0';
    size_t i = 0;
    for (; method[i] && i + 1 < sizeof(out->verb); i++)
        out->verb[i] = (char)(method[i] >= 'A' && method[i] <= 'Z' ? method[i] + 32 : method[i]);
    out->verb[i] = '\0';
}

void k8s_request_parse(const char *method, const char *path, const char *watch_param,
                       struct k8s_request_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!copy_part(out->path, sizeof(out->path), path, strlen(path))) {
        out->path[0] = '\0';
        non_resource(method, out);
        return;
    }
    /* Split on '/', dropping empty segments as Go's splitPath (strings.Trim then Split) keeps
     * only the inner ones. */
    const char *parts[MAX_PARTS];
    size_t lens[MAX_PARTS], n = 0;
    for (const char *p = path; *p && n < MAX_PARTS;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, "/");
        parts[n] = p;
        lens[n++] = len;
        p += len;
    }
    size_t at = 0;
    bool apis = n > 0 && lens[0] == 4 && !strncmp(parts[0], "apis", 4);
    bool api = n > 0 && lens[0] == 3 && !strncmp(parts[0], "api", 3);
    if (n < 3 || (!api && !apis) || (apis && n < 4)) {
        non_resource(method, out);
        return;
    }
    snprintf(out->api_prefix, sizeof(out->api_prefix), "%s", api ? "api" : "apis");
    at = 1;
    if (apis && !copy_part(out->group, sizeof(out->group), parts[at++], lens[1])) {
        non_resource(method, out);
        return;
    }
    if (!copy_part(out->version, sizeof(out->version), parts[at], lens[at])) {
        non_resource(method, out);
        return;
    }
    at++;
    out->resource_request = true;
    if ((lens[at] == 5 && !strncmp(parts[at], "watch", 5)) ||
        (lens[at] == 5 && !strncmp(parts[at], "proxy", 5))) {
        snprintf(out->verb, sizeof(out->verb), "%.*s", (int)lens[at], parts[at]);
        at++;
        if (at >= n) { /* "unable to determine kind and namespace from url": not a resource */
            non_resource(method, out);
            return;
        }
    } else {
        snprintf(out->verb, sizeof(out->verb), "%s", verb_of_method(method));
    }
    if (lens[at] == 10 && !strncmp(parts[at], "namespaces", 10) && at + 1 < n) {
        if (!copy_part(out->namespace_, sizeof(out->namespace_), parts[at + 1], lens[at + 1])) {
            non_resource(method, out);
            return;
        }
        bool own_subresource =
            at + 2 < n && ((lens[at + 2] == 6 && !strncmp(parts[at + 2], "status", 6)) ||
                           (lens[at + 2] == 8 && !strncmp(parts[at + 2], "finalize", 8)));
        if (at + 2 < n && !own_subresource)
            at += 2;
    }
    size_t left = n - at;
    bool ok = true;
    if (left >= 3 && strcmp(out->verb, "proxy") != 0)
        ok = copy_part(out->subresource, sizeof(out->subresource), parts[at + 2], lens[at + 2]);
    if (ok && left >= 2)
        ok = copy_part(out->name, sizeof(out->name), parts[at + 1], lens[at + 1]);
    if (ok && left >= 1)
        ok = copy_part(out->resource, sizeof(out->resource), parts[at], lens[at]);
    if (!ok) {
        non_resource(method, out);
        return;
    }
    if (!out->name[0] && !strcmp(out->verb, "get"))
        snprintf(out->verb, sizeof(out->verb), "%s",
                 watch_requested(watch_param) ? "watch" : "list");
    if (!out->name[0] && !strcmp(out->verb, "delete"))
        snprintf(out->verb, sizeof(out->verb), "deletecollection");
}
