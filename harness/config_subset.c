/* config_subset.c - a subset of a config's pipelines and the components they use (see
 * config_subset.h). */
#include "config_subset.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const lists[] = {"receivers", "processors", "exporters"};

static bool list_has(const json_t *list, const char *name)
{
    size_t i;
    json_t *item;
    json_array_foreach((json_t *)list, i, item)
    {
        if (json_is_string(item) && !strcmp(json_string_value(item), name))
            return true;
    }
    return false;
}

static void join_names(const json_t *object_or_list, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    if (json_is_object(object_or_list)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)object_or_list, key, v)
        {
            if (n < size)
                n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", key);
        }
    } else {
        size_t i;
        json_t *item;
        json_array_foreach((json_t *)object_or_list, i, item)
        {
            if (n < size && json_is_string(item))
                n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "",
                                      json_string_value(item));
        }
    }
}

/* Checks one list of a subset pipeline against the config's; fills `removed` with what the
 * config's list has and the subset does not. */
static int check_list(const char *pipeline, const char *kind, const json_t *want,
                      const json_t *have, json_t *removed, struct error *err)
{
    char known[512];
    join_names(have, known, sizeof(known));
    if (want && !json_is_array(want))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "pipelines.%s.%s: expected a list of component ids", pipeline, kind);
    size_t i, last = 0;
    json_t *item;
    json_array_foreach((json_t *)want, i, item)
    {
        if (!json_is_string(item))
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "pipelines.%s.%s[%zu]: expected a component id", pipeline, kind, i);
        const char *name = json_string_value(item);
        size_t at;
        json_t *h;
        bool found = false;
        json_array_foreach((json_t *)have, at, h)
        {
            if (json_is_string(h) && !strcmp(json_string_value(h), name)) {
                found = true;
                break;
            }
        }
        if (!found)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "pipelines.%s.%s: \"%s\" is not in the config's %s pipeline (%s: "
                             "[%s]); a subset can only leave components out",
                             pipeline, kind, name, pipeline, kind, known);
        /* Processors run in order: a subset must keep the config's order, or the run would
         * test a pipeline nobody deploys. */
        if (!strcmp(kind, "processors") && i > 0 && at < last)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "pipelines.%s.processors: \"%s\" comes before \"%s\" in the config "
                             "([%s]); a subset keeps the config's order",
                             pipeline, name, json_string_value(json_array_get(want, i - 1)), known);
        last = at;
    }
    if ((!strcmp(kind, "receivers") || !strcmp(kind, "exporters")) && json_array_size(want) == 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "pipelines.%s.%s: a pipeline needs at least one (the config has [%s])",
                         pipeline, kind, known);
    json_array_foreach((json_t *)have, i, item)
    {
        if (json_is_string(item) && !list_has(want, json_string_value(item)))
            json_array_append(removed, item);
    }
    return 0;
}

static bool used_anywhere(const json_t *pipelines, const char *kind, const char *id)
{
    const char *pid;
    json_t *p;
    json_object_foreach((json_t *)pipelines, pid, p)
    {
        /* A connector is an exporter of one pipeline and a receiver of another. */
        if (!strcmp(kind, "connectors")) {
            if (list_has(json_object_get(p, "receivers"), id) ||
                list_has(json_object_get(p, "exporters"), id))
                return true;
        } else if (list_has(json_object_get(p, kind), id)) {
            return true;
        }
    }
    return false;
}

int config_subset_apply(const json_t *config, const json_t *pipelines, json_t **effective,
                        json_t **left_out, struct error *err)
{
    static const char *const sections[] = {"receivers", "processors", "exporters", "connectors"};
    json_t *copy = NULL, *out = NULL;
    int rc = 0;
    *effective = *left_out = NULL;
    const json_t *have = json_object_get(json_object_get(config, "service"), "pipelines");
    char known[512];
    join_names(have, known, sizeof(known));
    if (!json_is_object(pipelines) || json_object_size(pipelines) == 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "pipelines: expected the pipelines to run, e.g. {logs: {receivers: "
                         "[filelog], processors: [batch], exporters: [otlphttp/loki]}}");
    out = json_pack("{s:[], s:{}, s:[]}", "pipelines", "from_pipelines", "components");
    copy = json_deep_copy(config);
    if (!out || !copy) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    const char *id;
    json_t *p;
    json_object_foreach((json_t *)pipelines, id, p)
    {
        const json_t *orig = json_object_get(have, id);
        if (!orig) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "pipelines.%s: the config has no such pipeline (it has: %s)", id, known);
            goto fail;
        }
        if (!json_is_object(p)) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "pipelines.%s: expected {receivers, processors, exporters}", id);
            goto fail;
        }
        const char *key;
        json_t *v;
        json_object_foreach(p, key, v)
        {
            if (strcmp(key, "receivers") && strcmp(key, "processors") && strcmp(key, "exporters")) {
                rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                               "pipelines.%s: unknown key \"%s\" (expected receivers, processors, "
                               "exporters)",
                               id, key);
                goto fail;
            }
        }
        json_t *removed_here = json_object();
        if (!removed_here) {
            rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            goto fail;
        }
        for (size_t k = 0; k < 3; k++) {
            json_t *removed = json_array();
            if (!removed || (rc = check_list(id, lists[k], json_object_get(p, lists[k]),
                                             json_object_get(orig, lists[k]), removed, err)) < 0) {
                json_decref(removed);
                json_decref(removed_here);
                if (rc == 0)
                    rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
                goto fail;
            }
            if (json_array_size(removed))
                json_object_set_new(removed_here, lists[k], removed);
            else
                json_decref(removed);
        }
        if (json_object_size(removed_here))
            json_object_set_new(json_object_get(out, "from_pipelines"), id, removed_here);
        else
            json_decref(removed_here);
    }
    json_object_foreach((json_t *)have, id, p)
    {
        if (!json_object_get(pipelines, id))
            json_array_append_new(json_object_get(out, "pipelines"), json_string(id));
    }
    json_t *service = json_object_get(copy, "service");
    json_t *new_pipelines = json_deep_copy(pipelines);
    if (!new_pipelines || json_object_set_new(service, "pipelines", new_pipelines) < 0) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
        json_t *section = json_object_get(copy, sections[s]);
        void *tmp;
        json_t *v;
        const char *cid;
        json_object_foreach_safe(section, tmp, cid, v)
        {
            if (used_anywhere(pipelines, sections[s], cid))
                continue;
            char name[600];
            snprintf(name, sizeof(name), "%s.%s", sections[s], cid);
            json_array_append_new(json_object_get(out, "components"), json_string(name));
            json_object_del(section, cid);
        }
    }
    *effective = copy;
    *left_out = out;
    return 0;
fail:
    json_decref(copy);
    json_decref(out);
    return rc;
}

void config_subset_describe(const json_t *left_out, char *buf, size_t size)
{
    size_t n = 0;
    char names[512];
    buf[0] = '\0';
    const json_t *pipelines = json_object_get(left_out, "pipelines");
    if (json_array_size(pipelines)) {
        join_names(pipelines, names, sizeof(names));
        n += (size_t)snprintf(buf + n, size - n, "pipelines %s", names);
    }
    const char *id;
    json_t *p;
    json_object_foreach((json_t *)json_object_get(left_out, "from_pipelines"), id, p)
    {
        bool first = true;
        for (size_t k = 0; k < 3 && n < size; k++) {
            const json_t *removed = json_object_get(p, lists[k]);
            if (!json_array_size(removed))
                continue;
            join_names(removed, names, sizeof(names));
            if (first)
                n += (size_t)snprintf(buf + n, size - n, "%sfrom %s: %s %s", n ? "; " : "", id,
                                      lists[k], names);
            else
                n += (size_t)snprintf(buf + n, size - n, ", %s %s", lists[k], names);
            first = false;
        }
    }
    /* Components no kept pipeline uses, beyond those just named. */
    size_t i, extra = 0;
    json_t *item;
    json_array_foreach((json_t *)json_object_get(left_out, "components"), i, item)
    {
        const char *c = json_string_value(item);
        const char *dot = c ? strchr(c, '.') : NULL;
        if (!dot || n >= size)
            continue;
        bool named = false;
        json_object_foreach((json_t *)json_object_get(left_out, "from_pipelines"), id, p)
        {
            for (size_t k = 0; k < 3; k++)
                if (!strncmp(c, lists[k], (size_t)(dot - c)) &&
                    list_has(json_object_get(p, lists[k]), dot + 1))
                    named = true;
        }
        if (named)
            continue;
        n += (size_t)snprintf(buf + n, size - n, "%s%s",
                              extra++ ? ", "
                              : n     ? "; so no longer used: "
                                      : "no longer used: ",
                              c);
    }
    if (!n)
        snprintf(buf, size, "nothing left out");
}
