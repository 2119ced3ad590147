/*
 * k8s_table.c - the Tables of k8s_table.h. Checked against apiserver registry/rest/table.go
 * (default convertor), apiextensions-apiserver customresource/tableconvertor (CRD columns),
 * kubernetes pkg/printers/internalversion/printers.go (printPod and its column definitions),
 * pkg/printers/storage (the server always prints the wide columns), apimachinery
 * util/duration (HumanDuration) and apiserver handlers/response.go asTable (row objects).
 *
 * The column descriptions are the API documentation texts the real server sends (the
 * swagger docs of ObjectMeta, PodStatus and PodSpec); kubectl shows only names.
 */
#include "k8s_table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gostr.h"

#define NAME_DESCRIPTION                                                                           \
    "Name must be unique within a namespace. Is required when creating resources, although "       \
    "some resources may allow a client to request the generation of an appropriate name "          \
    "automatically. Name is primarily intended for creation idempotence and configuration "        \
    "definition. Cannot be updated. More info: "                                                   \
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
#define CREATION_DESCRIPTION                                                                       \
    "CreationTimestamp is a timestamp representing the server time when this object was "          \
    "created. It is not guaranteed to be set in happens-before order across separate "             \
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "     \
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "                      \
    "https://git.k8s.io/community/contributors/devel/sig-architecture/"                            \
    "api-conventions.md#metadata"

struct column {
    const char *name, *type, *format, *description;
    int priority;
};

static const struct column default_columns[] = {
    {"Name", "string", "name", NAME_DESCRIPTION, 0},
    {"Created At", "date", "", CREATION_DESCRIPTION, 0},
    {NULL, NULL, NULL, NULL, 0},
};

static const struct column custom_resource_columns[] = {
    {"Name", "string", "name", NAME_DESCRIPTION, 0},
    {"Age", "date", "",
     "Custom resource definition column (in JSONPath format): .metadata.creationTimestamp", 0},
    {NULL, NULL, NULL, NULL, 0},
};

static const struct column pod_columns[] = {
    {"Name", "string", "name", NAME_DESCRIPTION, 0},
    {"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0},
    {"Status", "string", "", "The aggregate status of the containers in this pod.", 0},
    {"Restarts", "string", "",
     "The number of times the containers in this pod have been restarted and when the last "
     "container in this pod has restarted.",
     0},
    {"Age", "string", "", CREATION_DESCRIPTION, 0},
    {"IP", "string", "",
     "podIP address allocated to the pod. Routable at least within the cluster. Empty if not "
     "yet allocated.",
     1},
    {"Node", "string", "",
     "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the "
     "scheduler simply schedules this pod onto that node, assuming that it fits resource "
     "requirements.",
     1},
    {"Nominated Node", "string", "",
     "nominatedNodeName is set only when this pod preempts other pods on the node, but it "
     "cannot be scheduled right away as preemption victims receive their graceful termination "
     "periods. This field does not guarantee that the pod will be scheduled on this node. "
     "Scheduler may decide to place the pod elsewhere if other nodes become available sooner. "
     "Scheduler may also decide to give the resources on this node to a higher priority pod "
     "that is created after preemption. As a result, this field may be different than "
     "PodSpec.nodeName when the pod is scheduled.",
     1},
    {"Readiness Gates", "string", "",
     "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when "
     "all its containers are ready AND all conditions specified in the readiness gates have "
     "status equal to \"True\" More info: "
     "https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
     1},
    {NULL, NULL, NULL, NULL, 0},
};

/* ---- negotiation ---- */

static void trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

static bool token_is(const char *s, size_t len, const char *want)
{
    return strlen(want) == len && !strncasecmp(s, want, len);
}

const char *k8s_table_version_wanted(const char *accept)
{
    for (const char *clause = accept; clause && *clause;) {
        const char *end = strchr(clause, ',');
        size_t clause_len = end ? (size_t)(end - clause) : strlen(clause);
        const char *as = NULL, *g = NULL, *v = NULL;
        size_t as_len = 0, g_len = 0, v_len = 0;
        bool json = false;
        for (const char *part = clause; part < clause + clause_len;) {
            const char *semi = memchr(part, ';', (size_t)(clause + clause_len - part));
            size_t len = semi ? (size_t)(semi - part) : (size_t)(clause + clause_len - part);
            const char *p = part;
            size_t n = len;
            trim(&p, &n);
            if (part == clause) {
                json = token_is(p, n, "application/json") || token_is(p, n, "application/*") ||
                       token_is(p, n, "*/*");
            } else {
                const char *eq = memchr(p, '=', n);
                if (eq) {
                    const char *value = eq + 1;
                    size_t value_len = n - (size_t)(value - p), key_len = (size_t)(eq - p);
                    trim(&value, &value_len);
                    if (token_is(p, key_len, "as")) {
                        as = value;
                        as_len = value_len;
                    } else if (token_is(p, key_len, "g")) {
                        g = value;
                        g_len = value_len;
                    } else if (token_is(p, key_len, "v")) {
                        v = value;
                        v_len = value_len;
                    }
                }
            }
            part = semi ? semi + 1 : clause + clause_len;
        }
        if (json && !as)
            return NULL; /* a plain answer is acceptable first */
        if (json && token_is(as, as_len, "Table") && g && token_is(g, g_len, "meta.k8s.io")) {
            if (v && token_is(v, v_len, "v1"))
                return "v1";
            if (v && token_is(v, v_len, "v1beta1"))
                return "v1beta1";
        }
        clause = end ? end + 1 : NULL;
    }
    return NULL;
}

int k8s_table_include_parse(const char *value, enum k8s_table_include *out, struct error *err)
{
    if (!value || !value[0] || !strcmp(value, "Metadata"))
        *out = K8S_TABLE_INCLUDE_METADATA;
    else if (!strcmp(value, "Object"))
        *out = K8S_TABLE_INCLUDE_OBJECT;
    else if (!strcmp(value, "None"))
        *out = K8S_TABLE_INCLUDE_NONE;
    else {
        char quoted[300];
        go_quote_to(quoted, sizeof(quoted), value, strlen(value));
        return error_set(err, -EBADMSG, ERROR_PERMANENT, "unrecognized includeObject value: %s",
                         quoted);
    }
    return 0;
}

/* ---- times ---- */

void k8s_table_human_duration(int64_t seconds, char *out, size_t size)
{
    if (seconds < -1) {
        snprintf(out, size, "<invalid>");
        return;
    }
    if (seconds < 0) {
        snprintf(out, size, "0s");
        return;
    }
    if (seconds < 60 * 2) {
        snprintf(out, size, "%" PRId64 "s", seconds);
        return;
    }
    int64_t minutes = seconds / 60;
    if (minutes < 10) {
        int64_t s = seconds % 60;
        if (s == 0)
            snprintf(out, size, "%" PRId64 "m", minutes);
        else
            snprintf(out, size, "%" PRId64 "m%" PRId64 "s", minutes, s);
        return;
    }
    if (minutes < 60 * 3) {
        snprintf(out, size, "%" PRId64 "m", minutes);
        return;
    }
    int64_t hours = seconds / 3600;
    if (hours < 8) {
        int64_t m = minutes % 60;
        if (m == 0)
            snprintf(out, size, "%" PRId64 "h", hours);
        else
            snprintf(out, size, "%" PRId64 "h%" PRId64 "m", hours, m);
    } else if (hours < 48) {
        snprintf(out, size, "%" PRId64 "h", hours);
    } else if (hours < 24 * 8) {
        int64_t h = hours % 24;
        if (h == 0)
            snprintf(out, size, "%" PRId64 "d", hours / 24);
        else
            snprintf(out, size, "%" PRId64 "d%" PRId64 "h", hours / 24, h);
    } else if (hours < 24 * 365 * 2) {
        snprintf(out, size, "%" PRId64 "d", hours / 24);
    } else if (hours < 24 * 365 * 8) {
        int64_t dy = (hours / 24) % 365;
        if (dy == 0)
            snprintf(out, size, "%" PRId64 "y", hours / 24 / 365);
        else
            snprintf(out, size, "%" PRId64 "y%" PRId64 "d", hours / 24 / 365, dy);
    } else {
        snprintf(out, size, "%" PRId64 "y", hours / 24 / 365);
    }
}

/* An RFC 3339 time ("2024-05-01T10:00:00Z", fractions and offsets too) in seconds since the
 * epoch; false when absent or malformed (metav1.Time's zero value). */
static bool parse_time(const char *text, int64_t *out)
{
    struct tm tm = {0};
    int consumed = 0;
    if (!text || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6)
        return false;
    const char *p = text + consumed;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++) {
        }
    int offset = 0;
    if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return false;
        offset = (hh * 60 + mm) * 60 * (*p == '-' ? -1 : 1);
    } else if (*p != 'Z' && *p != 'z') {
        return false;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (int64_t)timegm(&tm) - offset;
    return true;
}

/* translateTimestampSince */
static void age_of(const char *timestamp, int64_t now, char *out, size_t size)
{
    int64_t t;
    if (!parse_time(timestamp, &t))
        snprintf(out, size, "<unknown>");
    else
        k8s_table_human_duration(now - t, out, size);
}

/* ---- rows ---- */

static const char *string_at(const json_t *object, const char *key)
{
    return json_string_value(json_object_get(object, key));
}

static json_int_t integer_at(const json_t *object, const char *key)
{
    return json_integer_value(json_object_get(object, key));
}

static bool is_true(const json_t *object, const char *key)
{
    return json_is_true(json_object_get(object, key));
}

/* The time of the latest lastState.terminated.finishedAt of a container status. */
static void note_restart(const json_t *status, int64_t *last)
{
    const json_t *terminated = json_object_get(json_object_get(status, "lastState"), "terminated");
    int64_t t;
    if (terminated && parse_time(string_at(terminated, "finishedAt"), &t) && t > *last)
        *last = t;
}

static bool condition_true(const json_t *pod_status, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(pod_status, "conditions"), i, c)
    {
        const char *t = string_at(c, "type"), *s = string_at(c, "status");
        if (t && s && !strcmp(t, type) && !strcmp(s, "True"))
            return true;
    }
    return false;
}

/* The reason a terminated state shows: its reason, else Signal:N or ExitCode:N. */
static void terminated_reason(const json_t *terminated, const char *prefix, char *out, size_t size)
{
    const char *reason = string_at(terminated, "reason");
    if (reason && reason[0])
        snprintf(out, size, "%s%s", prefix, reason);
    else if (integer_at(terminated, "signal"))
        snprintf(out, size, "%sSignal:%" JSON_INTEGER_FORMAT, prefix,
                 integer_at(terminated, "signal"));
    else
        snprintf(out, size, "%sExitCode:%" JSON_INTEGER_FORMAT, prefix,
                 integer_at(terminated, "exitCode"));
}

/* A restartable init container (a sidecar): restartPolicy Always. */
static bool is_sidecar(const json_t *spec, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, "initContainers"), i, c)
    {
        const char *n = string_at(c, "name"), *policy = string_at(c, "restartPolicy");
        if (n && name && !strcmp(n, name))
            return policy && !strcmp(policy, "Always");
    }
    return false;
}

/* printPod: the nine cells of a pod (wide columns included) and its row conditions. */
static int pod_cells(const json_t *pod, int64_t now, json_t *cells, json_t **conditions)
{
    const json_t *meta = json_object_get(pod, "metadata");
    const json_t *spec = json_object_get(pod, "spec");
    const json_t *status = json_object_get(pod, "status");
    const char *phase = string_at(status, "phase");
    char reason[256];
    snprintf(reason, sizeof(reason), "%s", phase ? phase : "");
    if (string_at(status, "reason") && string_at(status, "reason")[0])
        snprintf(reason, sizeof(reason), "%s", string_at(status, "reason"));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c)
    {
        const char *type = string_at(c, "type"), *why = string_at(c, "reason");
        if (type && why && !strcmp(type, "PodScheduled") && !strcmp(why, "SchedulingGated"))
            snprintf(reason, sizeof(reason), "SchedulingGated");
    }
    long total = (long)json_array_size(json_object_get(spec, "containers")), ready = 0;
    json_array_foreach(json_object_get(spec, "initContainers"), i, c)
    {
        total += is_sidecar(spec, string_at(c, "name"));
    }
    json_int_t restarts = 0;
    int64_t last_restart = 0;
    bool initializing = false;
    const json_t *init_statuses = json_object_get(status, "initContainerStatuses");
    json_array_foreach(init_statuses, i, c)
    {
        restarts += integer_at(c, "restartCount");
        note_restart(c, &last_restart);
        const json_t *state = json_object_get(c, "state");
        const json_t *terminated = json_object_get(state, "terminated");
        const json_t *waiting = json_object_get(state, "waiting");
        const char *waiting_reason = string_at(waiting, "reason");
        if (is_sidecar(spec, string_at(c, "name")) && is_true(c, "started")) {
            ready += is_true(c, "ready");
            continue;
        }
        if (terminated && integer_at(terminated, "exitCode") == 0)
            continue;
        if (terminated)
            terminated_reason(terminated, "Init:", reason, sizeof(reason));
        else if (waiting_reason && waiting_reason[0] && strcmp(waiting_reason, "PodInitializing"))
            snprintf(reason, sizeof(reason), "Init:%s", waiting_reason);
        else
            snprintf(reason, sizeof(reason), "Init:%zu/%zu", i,
                     json_array_size(json_object_get(spec, "initContainers")));
        initializing = true;
        break;
    }
    if (!initializing || condition_true(status, "Initialized")) {
        restarts = 0;
        bool running = false;
        const json_t *statuses = json_object_get(status, "containerStatuses");
        for (size_t k = json_array_size(statuses); k-- > 0;) {
            const json_t *s = json_array_get(statuses, k);
            restarts += integer_at(s, "restartCount");
            note_restart(s, &last_restart);
            const json_t *state = json_object_get(s, "state");
            const json_t *terminated = json_object_get(state, "terminated");
            const char *waiting_reason = string_at(json_object_get(state, "waiting"), "reason");
            if (waiting_reason && waiting_reason[0]) {
                snprintf(reason, sizeof(reason), "%s", waiting_reason);
            } else if (terminated) {
                terminated_reason(terminated, "", reason, sizeof(reason));
            } else if (is_true(s, "ready") && json_object_get(state, "running")) {
                running = true;
                ready++;
            }
        }
        if (!strcmp(reason, "Completed") && running)
            snprintf(reason, sizeof(reason), "%s",
                     condition_true(status, "Ready") ? "Running" : "NotReady");
    }
    bool terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
    if (json_object_get(meta, "deletionTimestamp")) {
        const char *why = string_at(status, "reason");
        if (why && !strcmp(why, "NodeLost"))
            snprintf(reason, sizeof(reason), "Unknown");
        else if (!terminal)
            snprintf(reason, sizeof(reason), "Terminating");
    }
    char ready_text[48], restarts_text[64], age[32];
    snprintf(ready_text, sizeof(ready_text), "%ld/%ld", ready, total);
    if (last_restart) {
        char ago[32];
        k8s_table_human_duration(now - last_restart, ago, sizeof(ago));
        snprintf(restarts_text, sizeof(restarts_text), "%" JSON_INTEGER_FORMAT " (%s ago)",
                 restarts, ago);
    } else {
        snprintf(restarts_text, sizeof(restarts_text), "%" JSON_INTEGER_FORMAT, restarts);
    }
    age_of(string_at(meta, "creationTimestamp"), now, age, sizeof(age));
    const char *ip = string_at(json_array_get(json_object_get(status, "podIPs"), 0), "ip");
    const char *node = string_at(spec, "nodeName");
    const char *nominated = string_at(status, "nominatedNodeName");
    char gates[48] = "<none>";
    const json_t *readiness_gates = json_object_get(spec, "readinessGates");
    if (json_array_size(readiness_gates)) {
        size_t met = 0;
        json_array_foreach(readiness_gates, i, c)
        {
            const char *type = string_at(c, "conditionType");
            size_t k;
            json_t *cond;
            json_array_foreach(json_object_get(status, "conditions"), k, cond)
            {
                const char *t = string_at(cond, "type"), *s = string_at(cond, "status");
                if (type && t && !strcmp(t, type)) {
                    met += s && !strcmp(s, "True");
                    break;
                }
            }
        }
        snprintf(gates, sizeof(gates), "%zu/%zu", met, json_array_size(readiness_gates));
    }
    const char *name = string_at(meta, "name");
    const char *texts[] = {name ? name : "",
                           ready_text,
                           reason,
                           restarts_text,
                           age,
                           ip && ip[0] ? ip : "<none>",
                           node && node[0] ? node : "<none>",
                           nominated && nominated[0] ? nominated : "<none>",
                           gates};
    for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++)
        if (json_array_append_new(cells, json_string(texts[k])))
            return -ENOMEM;
    if (terminal) {
        bool succeeded = !strcmp(phase, "Succeeded");
        *conditions = json_pack(
            "[{s:s,s:s,s:s,s:s}]", "type", "Completed", "status", "True", "reason", phase,
            "message", succeeded ? "The pod has completed successfully." : "The pod failed.");
        if (!*conditions)
            return -ENOMEM;
    }
    return 0;
}

static int name_and_time_cells(const struct k8s_resource_type *rt, const json_t *object,
                               int64_t now, json_t *cells)
{
    const json_t *meta = json_object_get(object, "metadata");
    const char *name = string_at(meta, "name");
    const char *created = string_at(meta, "creationTimestamp");
    char time_cell[48];
    int64_t t;
    if (rt->custom) { /* the CRD's Age column: a date shown as an age */
        age_of(created, now, time_cell, sizeof(time_cell));
    } else if (parse_time(created, &t)) { /* Created At: RFC 3339 in UTC */
        time_t secs = (time_t)t;
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(time_cell, sizeof(time_cell), "%Y-%m-%dT%H:%M:%SZ", &tm);
    } else {
        snprintf(time_cell, sizeof(time_cell), "0001-01-01T00:00:00Z"); /* the zero time */
    }
    if (json_array_append_new(cells, json_string(name ? name : "")) ||
        json_array_append_new(cells, json_string(time_cell)))
        return -ENOMEM;
    return 0;
}

/* The object a row carries: PartialObjectMetadata, the object itself, or null. */
static json_t *row_object(const struct k8s_resource_type *rt, const json_t *object,
                          const struct k8s_table_options *o)
{
    if (o->include == K8S_TABLE_INCLUDE_NONE)
        return json_null();
    if (o->include == K8S_TABLE_INCLUDE_OBJECT) {
        json_t *copy = json_deep_copy(object);
        if (copy && (json_object_set_new(copy, "kind", json_string(rt->kind)) ||
                     json_object_set_new(copy, "apiVersion", json_string(rt->api_version)))) {
            json_decref(copy);
            return NULL;
        }
        return copy;
    }
    char api_version[32];
    snprintf(api_version, sizeof(api_version), "meta.k8s.io/%s", o->version);
    json_t *meta = json_object_get(object, "metadata");
    return json_pack("{s:s,s:s,s:O}", "kind", "PartialObjectMetadata", "apiVersion", api_version,
                     "metadata", meta ? meta : json_object());
}

static json_t *row_of(const struct k8s_resource_type *rt, const json_t *object,
                      const struct k8s_table_options *o)
{
    json_t *cells = json_array(), *conditions = NULL;
    json_t *row = json_object();
    int rc = !cells || !row;
    if (!rc)
        rc = !strcmp(rt->plural, "pods") && !rt->group[0]
                 ? pod_cells(object, o->now_s, cells, &conditions)
                 : name_and_time_cells(rt, object, o->now_s, cells);
    rc = rc || json_object_set(row, "cells", cells);
    if (!rc && conditions)
        rc = json_object_set(row, "conditions", conditions);
    rc = rc || json_object_set_new(row, "object", row_object(rt, object, o));
    json_decref(cells);
    json_decref(conditions);
    if (rc) {
        json_decref(row);
        return NULL;
    }
    return row;
}

static json_t *columns_of(const struct k8s_resource_type *rt)
{
    const struct column *columns = !strcmp(rt->plural, "pods") && !rt->group[0] ? pod_columns
                                   : rt->custom ? custom_resource_columns
                                                : default_columns;
    json_t *list = json_array();
    for (const struct column *c = columns; list && c->name; c++) {
        json_t *one = json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", c->name, "type", c->type, "format",
                                c->format, "description", c->description, "priority", c->priority);
        if (json_array_append_new(list, one)) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/* The Table with `metadata` (stolen) and one row per object of `objects`. */
static json_t *table_of(const struct k8s_resource_type *rt, json_t *metadata,
                        const json_t *const *objects, size_t count,
                        const struct k8s_table_options *o)
{
    char api_version[32];
    snprintf(api_version, sizeof(api_version), "meta.k8s.io/%s", o->version);
    json_t *rows = json_array();
    json_t *columns = o->no_headers ? json_null() : columns_of(rt);
    json_t *table = json_object();
    int rc = !rows || !columns || !table || !metadata;
    for (size_t i = 0; !rc && i < count; i++)
        rc = json_array_append_new(rows, row_of(rt, objects[i], o));
    rc = rc || json_object_set_new(table, "kind", json_string("Table"));
    rc = rc || json_object_set_new(table, "apiVersion", json_string(api_version));
    rc = rc || json_object_set(table, "metadata", metadata);
    rc = rc || json_object_set(table, "columnDefinitions", columns);
    rc = rc || json_object_set(table, "rows", rows);
    json_decref(rows);
    json_decref(columns);
    json_decref(metadata);
    if (rc) {
        json_decref(table);
        return NULL;
    }
    return table;
}

json_t *k8s_table_of_list(const struct k8s_resource_type *rt, const json_t *list,
                          const struct k8s_table_options *options)
{
    const json_t *items = json_object_get(list, "items");
    size_t count = json_array_size(items);
    const json_t **objects = malloc((count ? count : 1) * sizeof(*objects));
    if (!objects)
        return NULL;
    for (size_t i = 0; i < count; i++)
        objects[i] = json_array_get(items, i);
    json_t *meta = json_object_get(list, "metadata");
    json_t *table = table_of(rt, meta ? json_deep_copy(meta) : json_object(),
                             (const json_t *const *)objects, count, options);
    free(objects);
    return table;
}

json_t *k8s_table_of_object(const struct k8s_resource_type *rt, const json_t *object,
                            const struct k8s_table_options *options)
{
    const char *rv = string_at(json_object_get(object, "metadata"), "resourceVersion");
    json_t *meta = rv ? json_pack("{s:s}", "resourceVersion", rv) : json_object();
    return table_of(rt, meta, &object, 1, options);
}
