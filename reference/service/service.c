/*
 * service.c - pipelines built from a validated config, started and shut down in upstream's
 * order, plus the self-metrics endpoints (service.h).
 *
 * Mirrors core@v0.144.0:
 *   service/internal/graph/graph.go   one receiver/exporter instance shared by every pipeline
 *                                     that lists it, processors per pipeline, a fan-out where a
 *                                     node has several consumers; start: exporters, processors
 *                                     in reverse topological order, receivers; shutdown reversed.
 *   service/extensions/extensions.go  the extensions of service.extensions are built first,
 *                                     started before every pipeline component in their listed
 *                                     order and shut down after all of them in reverse; a
 *                                     component reaches them through its host (GetExtensions),
 *                                     here service_host_extension().
 *   internal/fanoutconsumer           clone for all but the last consumer, errors joined.
 *   service/telemetry/otelconftelemetry  /metrics served by each pull Prometheus reader.
 *
 * `_total`: with the default reader (no `readers:` written) 0.144 sets without_type_suffix, so
 * counters are exposed as `otelcol_receiver_accepted_spans` (factory.go createDefaultConfig).
 * An explicitly configured prometheus reader defaults without_type_suffix to false and OTel-Go's
 * exporter then appends `_total` to every counter (opentelemetry-collector#12458, documented in
 * its CHANGELOG by PR #12500; opentelemetry.io#9183 shows it on 0.145). We follow both: the
 * default reader serves plain names, an explicit reader serves `_total` unless it sets
 * without_type_suffix: true. Deliberately not copied: the unit suffixes and the
 * otel_scope_name/otel_scope_version labels an explicit reader also adds, target_info, and the
 * process/runtime metrics other than otelcol_process_memory_rss.
 */
#include "service.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"
#include "log.h"
#include "pdata.h"

#define METRICS_RENDER_MAX (64u * 1024 * 1024)

/* ---- fan-out ---- */

struct fanout {
    struct consumer consumer; /* first member: the fan-out is its own consumer */
    struct consumer **targets;
    size_t count;
};

/* Joins `local` into `total` as multierr does ("a; b"). */
static void join_error(struct error *total, int *result, const struct error *local, int rc)
{
    if (*result == 0) {
        *result = rc;
        error_set(total, rc, local->kind, "%s", local->message);
        return;
    }
    if (!total)
        return;
    size_t used = strlen(total->message);
    size_t room = sizeof(total->message) - 1 - used;
    size_t add = strlen(local->message);
    if (room >= 2) {
        memcpy(total->message + used, "; ", 2);
        used += 2;
        room -= 2;
        if (add > room)
            add = room; /* truncated, as error_set truncates */
        memcpy(total->message + used, local->message, add);
        total->message[used + add] = '\0';
    }
    if (local->kind == ERROR_PERMANENT)
        total->kind = ERROR_PERMANENT; /* consumererror.IsPermanent looks through the join */
}

static int fanout_consume(struct consumer *self, struct payload *p, struct error *err)
{
    struct fanout *f = self->ctx;
    int result = 0;
    for (size_t i = 0; i < f->count; i++) {
        bool last = i + 1 == f->count;
        struct payload *item = last ? p : payload_clone(p);
        struct error local = {0};
        int rc;
        if (!item)
            rc =
                error_set(&local, -ENOMEM, ERROR_REFUSED, "out of memory cloning data for fan-out");
        else
            rc = consumer_consume(f->targets[i], item, &local);
        if (rc < 0)
            join_error(err, &result, &local, rc);
    }
    return result;
}

int fanout_consumer_create(struct consumer *const *targets, size_t count, struct consumer **out)
{
    *out = NULL;
    if (count == 0)
        return -EINVAL;
    struct fanout *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->targets = calloc(count, sizeof(*f->targets));
    if (!f->targets) {
        free(f);
        return -ENOMEM;
    }
    memcpy(f->targets, targets, count * sizeof(*targets));
    f->count = count;
    f->consumer.consume = fanout_consume;
    f->consumer.ctx = f;
    *out = &f->consumer;
    return 0;
}

void fanout_consumer_destroy(struct consumer *fanout)
{
    if (!fanout)
        return;
    struct fanout *f = fanout->ctx;
    free(f->targets);
    free(f);
}

/* ---- the service ---- */

struct metrics_endpoint {
    struct httpd *server;
    struct telemetry *telemetry;
    bool type_suffix;
    const struct config_metrics_reader *reader;
};

struct service {
    const struct config *cfg;
    struct telemetry *telemetry;
    /* every component instance, in creation order: exporters, processors, receivers */
    struct component **components;
    size_t component_count, component_cap;
    size_t started_count; /* components[0..started_count) are started, in start order */
    struct component **start_order;
    /* fan-outs made while wiring, owned here */
    struct consumer **fanouts;
    size_t fanout_count, fanout_cap;
    struct metrics_endpoint endpoints[CONFIG_MAX_METRICS_READERS];
    size_t endpoint_count;
    bool shut_down;
    struct service *next_live; /* in live_services */
};

/* Every service between create and destroy, so that a component can find its host's extensions
 * (service_host_extension) without component.h carrying a back pointer. A process runs one
 * service; tests may run a few. Guarded by live_lock. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct service *live_services;

static void live_add(struct service *s)
{
    pthread_mutex_lock(&live_lock);
    s->next_live = live_services;
    live_services = s;
    pthread_mutex_unlock(&live_lock);
}

static void live_remove(struct service *s)
{
    pthread_mutex_lock(&live_lock);
    for (struct service **p = &live_services; *p; p = &(*p)->next_live) {
        if (*p == s) {
            *p = s->next_live;
            break;
        }
    }
    pthread_mutex_unlock(&live_lock);
}

long long service_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int component_consume(struct consumer *self, struct payload *p, struct error *err)
{
    struct component *c = self->ctx;
    return c->descriptor->consume(c, p, err);
}

static int grow(void ***items, size_t *cap, size_t count)
{
    if (count < *cap)
        return 0;
    size_t want = *cap ? *cap * 2 : 8;
    void **grown = realloc(*items, want * sizeof(void *));
    if (!grown)
        return -ENOMEM;
    *items = grown;
    *cap = want;
    return 0;
}

/* A new component instance of `cc`, registered in s->components so that destroy finds it even
 * if create fails. The config struct is borrowed from the config. */
static int instance_new(struct service *s, const struct config_component *cc,
                        struct component **out, struct error *err)
{
    *out = NULL;
    if (grow((void ***)&s->components, &s->component_cap, s->component_count) < 0)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    struct component *c = calloc(1, sizeof(*c));
    if (!c)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    s->components[s->component_count++] = c;
    c->descriptor = cc->descriptor;
    snprintf(c->id, sizeof(c->id), "%s", cc->id);
    snprintf(c->log_name, sizeof(c->log_name), "%s/%s", component_kind_name(cc->kind), cc->id);
    c->config = cc->config;
    c->telemetry = s->telemetry;
    c->self.consume = component_consume;
    c->self.ctx = c;
    *out = c;
    return 0;
}

static int instance_create(struct component *c, const struct config_component *cc,
                           struct error *err)
{
    if ((cc->kind == KIND_PROCESSOR || cc->kind == KIND_EXPORTER) && !c->descriptor->consume)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: the component cannot consume data",
                         cc->path);
    if (!c->descriptor->create)
        return 0;
    int rc = c->descriptor->create(c, err);
    if (rc < 0)
        error_prefix(err, "failed to build %s: %s",
                     cc->kind == KIND_EXTENSION ? "extensions" : "pipelines", cc->path);
    return rc;
}

static int keep_fanout(struct service *s, struct consumer *const *targets, size_t count,
                       struct consumer **out, struct error *err)
{
    if (count == 1) {
        *out = targets[0];
        return 0;
    }
    if (grow((void ***)&s->fanouts, &s->fanout_cap, s->fanout_count) < 0)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    if (fanout_consumer_create(targets, count, out) < 0)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    s->fanouts[s->fanout_count++] = *out;
    return 0;
}

static struct component *find_instance(struct service *s, const struct config_component *cc)
{
    for (size_t i = 0; i < s->component_count; i++)
        if (s->components[i]->config == cc->config)
            return s->components[i];
    return NULL;
}

/* The pipeline's first consumer: its exporters (fanned out), behind its processors, each
 * processor its own instance. */
static int build_pipeline(struct service *s, const struct config_pipeline *p,
                          struct consumer **head, struct error *err)
{
    struct consumer **exporters =
        calloc(p->exporter_count ? p->exporter_count : 1, sizeof(*exporters));
    if (!exporters)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    for (size_t i = 0; i < p->exporter_count; i++)
        exporters[i] = &find_instance(s, p->exporters[i])->self;
    struct consumer *tail;
    int rc = keep_fanout(s, exporters, p->exporter_count, &tail, err);
    free(exporters); /* the fan-out keeps its own copy */
    if (rc < 0)
        return rc;
    for (size_t i = p->processor_count; i-- > 0;) {
        const struct config_component *cc = p->processors[i];
        struct component *c;
        if ((rc = instance_new(s, cc, &c, err)) < 0)
            return rc;
        c->pipeline_signal = p->signal;
        snprintf(c->pipeline_id, sizeof(c->pipeline_id), "%.*s", (int)sizeof(c->pipeline_id) - 1,
                 p->id); /* config.c keeps pipeline ids shorter than this */
        c->next[p->signal] = tail;
        if ((rc = instance_create(c, cc, err)) < 0)
            return rc;
        tail = &c->self;
    }
    *head = tail;
    return 0;
}

static double read_pdata_current(void *ctx)
{
    return (double)pdata_bytes_current();
}
static double read_pdata_peak(void *ctx)
{
    return (double)pdata_bytes_peak();
}

static double read_rss(void *ctx)
{
    long pages_total = 0, pages_resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2)
        pages_resident = 0;
    fclose(f);
    return (double)pages_resident * (double)sysconf(_SC_PAGESIZE);
}

static int register_service_metrics(struct telemetry *t)
{
    int rc = telemetry_gauge_fn(t, "otelcol_ref_pdata_bytes",
                                "Bytes of telemetry data held in memory (counting allocator).",
                                "kind=\"current\"", read_pdata_current, NULL);
    if (rc == 0)
        rc = telemetry_gauge_fn(t, "otelcol_ref_pdata_bytes",
                                "Bytes of telemetry data held in memory (counting allocator).",
                                "kind=\"peak\"", read_pdata_peak, NULL);
    if (rc == 0)
        rc = telemetry_gauge_fn(t, "otelcol_process_memory_rss",
                                "Total physical memory (resident set size) [alpha]", NULL, read_rss,
                                NULL);
    return rc;
}

int service_create(const struct config *cfg, struct service **out, struct error *err)
{
    *out = NULL;
    int rc;
    struct consumer **heads = NULL, **targets = NULL;
    struct service *s = calloc(1, sizeof(*s));
    if (!s)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    s->cfg = cfg;
    s->telemetry = telemetry_new();
    heads = calloc(cfg->pipeline_count ? cfg->pipeline_count : 1, sizeof(*heads));
    /* a receiver listed twice in one pipeline still counts once per listing: bound by the sum */
    size_t listings = 1;
    for (size_t p = 0; p < cfg->pipeline_count; p++)
        listings += cfg->pipelines[p].receiver_count;
    targets = calloc(listings, sizeof(*targets));
    if (!s->telemetry || !heads || !targets || register_service_metrics(s->telemetry) < 0) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    live_add(s);
    /* Extensions first, in service.extensions order: everything else may use them. */
    for (size_t i = 0; i < cfg->extension_count; i++) {
        struct component *c;
        if ((rc = instance_new(s, cfg->extensions[i], &c, err)) < 0 ||
            (rc = instance_create(c, cfg->extensions[i], err)) < 0)
            goto fail;
    }
    /* Exporters next: pipelines are wired to them. */
    for (size_t i = 0; i < cfg->component_count; i++) {
        const struct config_component *cc = &cfg->components[i];
        if (cc->kind != KIND_EXPORTER || !cc->used_signals)
            continue;
        struct component *c;
        if ((rc = instance_new(s, cc, &c, err)) < 0 || (rc = instance_create(c, cc, err)) < 0)
            goto fail;
    }
    for (size_t i = 0; i < cfg->pipeline_count; i++)
        if ((rc = build_pipeline(s, &cfg->pipelines[i], &heads[i], err)) < 0)
            goto fail;
    /* Receivers: per signal, every pipeline that lists the receiver, fanned out if several. */
    for (size_t i = 0; i < cfg->component_count; i++) {
        const struct config_component *cc = &cfg->components[i];
        if (cc->kind != KIND_RECEIVER || !cc->used_signals)
            continue;
        struct component *c;
        if ((rc = instance_new(s, cc, &c, err)) < 0)
            goto fail;
        for (int sig = 0; sig < SIGNAL_COUNT; sig++) {
            size_t n = 0;
            for (size_t p = 0; p < cfg->pipeline_count; p++) {
                const struct config_pipeline *pl = &cfg->pipelines[p];
                for (size_t r = 0; (int)pl->signal == sig && r < pl->receiver_count; r++)
                    if (pl->receivers[r] == cc)
                        targets[n++] = heads[p];
            }
            if (n && (rc = keep_fanout(s, targets, n, &c->next[sig], err)) < 0)
                goto fail;
        }
        if ((rc = instance_create(c, cc, err)) < 0)
            goto fail;
    }
    *out = s;
    s = NULL;
    rc = 0;
fail:
    free(targets);
    free(heads);
    service_destroy(s);
    return rc;
}

/* ---- self-metrics endpoint ---- */

/* Appends `_total` to the names of counter families, as OTel-Go's Prometheus exporter does when
 * the reader does not set without_type_suffix. The registry's text is ours, so the format is
 * known: "# HELP name ...", "# TYPE name counter", then "name{...} v" lines. */
char *service_render_metrics(struct telemetry *t, bool type_suffix, size_t *len)
{
    size_t text_len = 0;
    char *text = telemetry_render(t, &text_len);
    if (!text || !type_suffix) {
        if (len)
            *len = text_len;
        return text;
    }
    /* Every line grows by at most 6 bytes ("_total"). */
    size_t lines = 0;
    for (size_t i = 0; i < text_len; i++)
        lines += text[i] == '\n';
    size_t cap = text_len + lines * 6 + 1;
    char *out = cap <= METRICS_RENDER_MAX ? malloc(cap) : NULL;
    if (!out) {
        free(text);
        return NULL;
    }
    size_t w = 0;
    char family[256] = "";
    bool counter = false;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        size_t line_len = end ? (size_t)(end - line) + 1 : strlen(line);
        const char *name = line;
        if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7))
            name = line + 7;
        size_t name_len = strcspn(name, " {\n");
        if (!strncmp(line, "# HELP ", 7)) {
            /* a new family starts; its TYPE line follows right after */
            snprintf(family, sizeof(family), "%.*s", (int)name_len, name);
            const char *type = end ? end + 1 : "";
            size_t prefix = 7 + name_len + 1;
            counter = !strncmp(type, "# TYPE ", 7) && !strncmp(type + prefix, "counter\n", 8);
        }
        bool rename = counter && name_len == strlen(family) && !strncmp(name, family, name_len) &&
                      !(name_len >= 6 && !strncmp(name + name_len - 6, "_total", 6));
        size_t before = (size_t)(name - line) + name_len;
        memcpy(out + w, line, before);
        w += before;
        if (rename) {
            memcpy(out + w, "_total", 6);
            w += 6;
        }
        memcpy(out + w, line + before, line_len - before);
        w += line_len - before;
        line += line_len;
    }
    out[w] = '\0';
    free(text);
    if (len)
        *len = w;
    return out;
}

static void metrics_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct metrics_endpoint *e = ctx;
    if (strcmp(req->path, "/metrics") != 0) {
        /* Go's ServeMux, which otelconf's server uses, for any other path */
        if (http_response_printf(resp, 404, "text/plain; charset=utf-8", "404 page not found\n") <
            0)
            resp->status = 500;
        return;
    }
    size_t len = 0;
    char *text = service_render_metrics(e->telemetry, e->type_suffix, &len);
    if (!text) {
        resp->status = 500;
        return;
    }
    http_response_take_body(resp, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static int start_metrics_endpoints(struct service *s, struct error *err)
{
    const struct config_telemetry *t = &s->cfg->telemetry;
    if (t->metrics_level == TELEMETRY_NONE)
        return 0;
    for (size_t i = 0; i < t->reader_count; i++) {
        struct metrics_endpoint *e = &s->endpoints[s->endpoint_count];
        e->telemetry = s->telemetry;
        e->type_suffix = t->readers[i].type_suffix;
        e->reader = &t->readers[i];
        const char *host = t->readers[i].host[0] ? t->readers[i].host : NULL;
        e->server = httpd_start(host, t->readers[i].port, 64 * 1024, metrics_handler, e, err);
        if (!e->server)
            return error_prefix(err, "failed to start the telemetry metrics server");
        s->endpoint_count++;
        log_info(NULL, "Serving metrics endpoint=%s:%d", host ? host : "0.0.0.0",
                 httpd_port(e->server));
    }
    return 0;
}

static void stop_metrics_endpoints(struct service *s)
{
    for (size_t i = 0; i < s->endpoint_count; i++) {
        httpd_stop(s->endpoints[i].server);
        s->endpoints[i].server = NULL;
    }
}

/* ---- lifecycle ---- */

#define RANK_COUNT 4

static int kind_rank(const struct component *c)
{
    /* start order: extensions, exporters, processors, receivers */
    switch (c->descriptor->kind) {
    case KIND_EXTENSION: return 0;
    case KIND_EXPORTER: return 1;
    case KIND_PROCESSOR: return 2;
    case KIND_RECEIVER: return 3;
    }
    return RANK_COUNT;
}

int service_start(struct service *s, struct error *err)
{
    int rc = start_metrics_endpoints(s, err);
    if (rc < 0)
        goto fail;
    s->start_order = calloc(s->component_count ? s->component_count : 1, sizeof(*s->start_order));
    if (!s->start_order) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    /* Processors were created last-to-first within each pipeline, which is already upstream's
     * reverse topological start order; keep creation order within a kind. */
    size_t n = 0;
    for (int rank = 0; rank < RANK_COUNT; rank++)
        for (size_t i = 0; i < s->component_count; i++)
            if (kind_rank(s->components[i]) == rank)
                s->start_order[n++] = s->components[i];
    for (size_t i = 0; i < n; i++) {
        struct component *c = s->start_order[i];
        if (c->descriptor->start) {
            log_debug(c->log_name, "Starting component");
            rc = c->descriptor->start(c, err);
            if (rc < 0) {
                error_prefix(err, "failed to start %s", c->log_name);
                goto fail;
            }
        }
        s->started_count = i + 1;
    }
    return 0;
fail:
    service_shutdown(s, 5000);
    return rc;
}

void service_shutdown(struct service *s, long long timeout_ms)
{
    if (!s || s->shut_down)
        return;
    s->shut_down = true;
    long long deadline = service_now_ms() + timeout_ms;
    /* Reverse start order: receivers stop taking data, then processors flush (first of each
     * pipeline first, because their creation was last-to-first), then exporters drain, then
     * extensions (a receiver's last checkpoint is written before its storage goes away). */
    for (size_t i = s->started_count; i-- > 0;) {
        struct component *c = s->start_order[i];
        if (c->descriptor->shutdown)
            c->descriptor->shutdown(c, deadline);
    }
    s->started_count = 0;
    stop_metrics_endpoints(s);
}

void service_destroy(struct service *s)
{
    if (!s)
        return;
    service_shutdown(s, 5000);
    live_remove(s);
    /* Receivers first: they hold consumers that point into processors and exporters; extensions
     * last: any component may still hold a reference to one until it is destroyed. */
    for (int rank = RANK_COUNT; rank >= 0; rank--) {
        for (size_t i = 0; i < s->component_count; i++) {
            struct component *c = s->components[i];
            if (c && kind_rank(c) == rank) {
                if (c->descriptor->destroy)
                    c->descriptor->destroy(c);
                free(c);
                s->components[i] = NULL;
            }
        }
    }
    free(s->components);
    free(s->start_order);
    for (size_t i = 0; i < s->fanout_count; i++)
        fanout_consumer_destroy(s->fanouts[i]);
    free(s->fanouts);
    telemetry_free(s->telemetry);
    free(s);
}

struct telemetry *service_telemetry(struct service *s)
{
    return s ? s->telemetry : NULL;
}

struct component *service_find_component(struct service *s, enum component_kind kind,
                                         const char *id, const char *pipeline_id)
{
    for (size_t i = 0; s && i < s->component_count; i++) {
        struct component *c = s->components[i];
        if (c && c->descriptor->kind == kind && !strcmp(c->id, id) &&
            (!pipeline_id || !strcmp(c->pipeline_id, pipeline_id)))
            return c;
    }
    return NULL;
}

int service_metrics_port(const struct service *s, size_t index)
{
    if (!s || index >= s->endpoint_count || !s->endpoints[index].server)
        return 0;
    return httpd_port(s->endpoints[index].server);
}

struct component *service_host_extension(const struct component *requester, const char *id)
{
    struct component *found = NULL;
    pthread_mutex_lock(&live_lock);
    for (struct service *s = live_services; s; s = s->next_live) {
        bool owns = false;
        for (size_t i = 0; i < s->component_count && !owns; i++)
            owns = s->components[i] == requester;
        if (!owns)
            continue;
        for (size_t i = 0; i < s->component_count && !found; i++) {
            struct component *c = s->components[i];
            if (c && c->descriptor->kind == KIND_EXTENSION && !strcmp(c->id, id))
                found = c;
        }
        break; /* only the requester's own service counts */
    }
    pthread_mutex_unlock(&live_lock);
    return found;
}
