/* wiring.c - per-run ports and --set overrides (see wiring.h). */
#include "wiring.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
