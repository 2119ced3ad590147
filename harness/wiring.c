/* wiring.c - per-run ports and --set overrides (see wiring.h). */
#include "wiring.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "golden.h"
#include "ports.h"

static int add_set(struct wiring *w, struct error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int add_set(struct wiring *w, struct error *err, const char *fmt, ...)
{
    if (w->set_count >= WIRING_MAX_SETS)
        return error_set(err, -E2BIG, ERROR_PERMANENT, "more than %d --set overrides",
                         WIRING_MAX_SETS);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->sets[w->set_count], WIRING_SET_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= WIRING_SET_MAX)
        return error_set(err, -E2BIG, ERROR_PERMANENT, "a --set override is longer than %d bytes",
                         WIRING_SET_MAX);
    w->set_ptrs[w->set_count] = w->sets[w->set_count];
    w->set_count++;
    w->set_ptrs[w->set_count] = NULL;
    return 0;
}

static int listen_on(struct wiring *w, int *port, struct error *err)
{
    int rc = ports_allocate(port, err);
    if (rc == 0)
        w->listen_ports[w->listen_count++] = *port;
    return rc;
}

int wiring_build(struct wiring *w, const struct scenario *s, char endpoints[FAKE_COUNT][256],
                 struct error *err)
{
    char none[FAKE_COUNT][256] = {""};
    return wiring_build_grpc(w, s, endpoints, none, err);
}

int wiring_build_grpc(struct wiring *w, const struct scenario *s, char endpoints[FAKE_COUNT][256],
                      char grpc_targets[FAKE_COUNT][256], struct error *err)
{
    int rc;
    memset(w, 0, sizeof(*w));
    for (size_t i = 0; i < s->set_count; i++)
        if ((rc = add_set(w, err, "%s", s->sets[i])) < 0)
            return rc;

    const char *ids[WIRING_MAX_RECEIVERS];
    bool http[WIRING_MAX_RECEIVERS], grpc[WIRING_MAX_RECEIVERS];
    size_t n = scenario_otlp_receivers(s->config, ids, http, grpc, WIRING_MAX_RECEIVERS);
    for (size_t i = 0; i < n; i++) {
        struct wiring_receiver *r = &w->receivers[w->receiver_count++];
        r->id = ids[i];
        if (http[i]) {
            if ((rc = listen_on(w, &r->http_port, err)) < 0 ||
                (rc = add_set(w, err, "receivers.%s.protocols.http.endpoint=127.0.0.1:%d", r->id,
                              r->http_port)) < 0)
                return rc;
        }
        if (grpc[i]) {
            /* Never the config's 0.0.0.0:4317: two runs at once would collide. */
            if ((rc = listen_on(w, &r->grpc_port, err)) < 0 ||
                (rc = add_set(w, err, "receivers.%s.protocols.grpc.endpoint=127.0.0.1:%d", r->id,
                              r->grpc_port)) < 0)
                return rc;
        }
    }
    for (size_t i = 0; i < s->endpoint_count; i++) {
        const struct endpoint_map *e = &s->endpoints[i];
        if (!e->grpc) {
            if ((rc = add_set(w, err, "exporters.%s.endpoint=%s", e->exporter,
                              endpoints[e->fake])) < 0)
                return rc;
            continue;
        }
        if (!grpc_targets[e->fake][0])
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "exporter %s: the fake %s has no gRPC endpoint", e->exporter,
                             scenario_fake_name(e->fake));
        /* Plaintext whatever the config says: the fakes have no TLS (the seed's otlp/tempo is
         * `tls: {insecure: true}` anyway). */
        if ((rc = add_set(w, err, "exporters.%s.endpoint=%s", e->exporter, grpc_targets[e->fake])) <
                0 ||
            (rc = add_set(w, err, "exporters.%s.tls.insecure=true", e->exporter)) < 0)
            return rc;
    }
    if ((rc = listen_on(w, &w->metrics_port, err)) < 0 ||
        (rc = add_set(w, err,
                      "service.telemetry.metrics.readers=[{pull: {exporter: {prometheus: "
                      "{host: 127.0.0.1, port: %d}}}}]",
                      w->metrics_port)) < 0)
        return rc;
    return 0;
}

/* A YAML flow list of the globs with `root` in front of the absolute ones, as a --set value. */
static int prefixed_list(const json_t *list, const char *root, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "[");
    size_t i;
    json_t *item;
    json_array_foreach((json_t *)list, i, item)
    {
        const char *glob = json_string_value(item);
        if (!glob)
            return -EINVAL;
        /* JSON's quoting is YAML's double-quoted scalar: a glob's * [ ] { } stay literal. */
        char joined[PATH_MAX + 256];
        snprintf(joined, sizeof(joined), "%s%s", glob[0] == '/' ? root : "", glob);
        json_t *value = json_string(joined);
        char *quoted = value ? json_dumps(value, JSON_ENCODE_ANY) : NULL;
        json_decref(value);
        if (!quoted)
            return -ENOMEM;
        n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s", i ? ", " : "", quoted);
        free(quoted);
    }
    n += (size_t)snprintf(out + n, n < size ? size - n : 0, "]");
    return n < size ? 0 : -E2BIG;
}

static int storage_directory(struct wiring *w, const char *set_key, const char *configured,
                             const char *host_root, struct error *err)
{
    char dir[PATH_MAX + 256];
    if (snprintf(dir, sizeof(dir), "%s%s", host_root, configured) >= (int)sizeof(dir))
        return error_set(err, -ENAMETOOLONG, ERROR_PERMANENT, "path too long: %s%s", host_root,
                         configured);
    int rc = golden_mkdirs(dir, 0, err);
    if (rc < 0)
        return rc;
    json_t *value = json_string(dir);
    char *quoted = value ? json_dumps(value, JSON_ENCODE_ANY) : NULL;
    json_decref(value);
    if (!quoted)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    rc = add_set(w, err, "%s=%s", set_key, quoted);
    free(quoted);
    return rc;
}

int wiring_build_files(struct wiring *w, const struct scenario *s, const char *host_root,
                       struct error *err)
{
    char type[128], value[WIRING_SET_MAX];
    const char *id;
    json_t *c;
    int rc;
    json_object_foreach(json_object_get(s->config, "receivers"), id, c)
    {
        size_t len = strcspn(id, "/");
        snprintf(type, sizeof(type), "%.*s", (int)len, id);
        if (strcmp(type, "filelog") != 0)
            continue;
        static const char *const keys[] = {"include", "exclude"};
        for (size_t k = 0; k < 2; k++) {
            const json_t *list = json_object_get(c, keys[k]);
            if (!json_is_array(list))
                continue;
            if (prefixed_list(list, host_root, value, sizeof(value)) < 0)
                return error_set(err, -E2BIG, ERROR_PERMANENT,
                                 "receivers.%s.%s: the globs under %s do not fit in a --set", id,
                                 keys[k], host_root);
            if ((rc = add_set(w, err, "receivers.%s.%s=%s", id, keys[k], value)) < 0)
                return rc;
        }
    }
    json_object_foreach(json_object_get(s->config, "extensions"), id, c)
    {
        size_t len = strcspn(id, "/");
        snprintf(type, sizeof(type), "%.*s", (int)len, id);
        if (strcmp(type, "file_storage") != 0)
            continue;
        /* Upstream's default on Linux (extension/storage/filestorage/factory.go). A relative
         * directory is the collector's working directory's business (the run dir) already. */
        const char *dir = json_string_value(json_object_get(c, "directory"));
        char key[300];
        snprintf(key, sizeof(key), "extensions.%s.directory", id);
        if (!dir)
            dir = "/var/lib/otelcol/file_storage";
        if (dir[0] == '/' && (rc = storage_directory(w, key, dir, host_root, err)) < 0)
            return rc;
        if (dir[0] == '/' && w->storage_count < WIRING_MAX_STORAGE)
            snprintf(w->storage_dirs[w->storage_count++], WIRING_SET_MAX, "%s%s", host_root, dir);
        const char *compaction =
            json_string_value(json_object_get(json_object_get(c, "compaction"), "directory"));
        if (compaction && compaction[0] == '/') {
            snprintf(key, sizeof(key), "extensions.%s.compaction.directory", id);
            if ((rc = storage_directory(w, key, compaction, host_root, err)) < 0)
                return rc;
        }
    }
    return 0;
}

int wiring_grpc_port(const struct wiring *w, const char *id)
{
    for (size_t i = 0; i < w->receiver_count; i++)
        if (w->receivers[i].grpc_port && (!id || !strcmp(id, w->receivers[i].id)))
            return w->receivers[i].grpc_port;
    return 0;
}

int wiring_http_port(const struct wiring *w, const char *id)
{
    for (size_t i = 0; i < w->receiver_count; i++)
        if (w->receivers[i].http_port && (!id || !strcmp(id, w->receivers[i].id)))
            return w->receivers[i].http_port;
    return 0;
}
