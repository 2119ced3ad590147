/*
 * resourcedetection.c - the `resourcedetection` processor: detects the collector's own resource
 * once at start (detectors `env` and `system`, env.c and system.c) and merges it into the
 * resource of every ResourceSpans / ResourceMetrics / ResourceLogs that passes.
 *
 * Mirrors contrib@v0.143.0 processor/resourcedetectionprocessor/{config.go,factory.go,
 * resourcedetection_processor.go,internal/resourcedetection.go} (facts: shared/facts/pipeline.md
 * §4; the 0.144 image the team runs has the same behaviour), where it shows:
 *   - config: detectors [env], override true, timeout 5s (the squashed HTTP client timeout, used
 *     as the detection deadline), refresh_interval 0 (detect once), system.* (system.c).
 *   - create: each detector name is strings.TrimSpace'd; an unknown one fails creation with
 *     `invalid detector key: <name>`, as getDetectors does (not validation: upstream's Config
 *     has no check for it, so `validate` passes such a config there too). A detector upstream
 *     has and otelcol-ref does not (ec2, gcp, ...) fails creation with a message that says so.
 *   - start: every detector runs; a failing one is retried with exponential backoff (1 s
 *     initial, x2, randomization 1.5) until the timeout, each failure logged Warn `failed to
 *     detect resource`. Results merge in detector list order, the first detector wins a key; the
 *     first non-empty schema URL wins. The propagateerrors gate is Beta (on) in 0.143/0.144, so
 *     any detector error fails Start with the errors joined by "\n" (errors.Join), and no
 *     detector at all (`detectors: []`) fails with `resource detection failed: no detectors
 *     succeeded`, both on purpose as upstream.
 *   - consume: for each resource, MergeResource(to, detected, override): nothing when the
 *     detected resource is empty; override true replaces values (keeping the key's position),
 *     false keeps any existing key, even one with an empty value; new keys are appended in
 *     detected order. The schema URL is set only when the data has none. Never fails upstream;
 *     here only running out of memory fails (refused, the payload dropped).
 *   - refresh_interval > 0: one thread re-detects at that interval; a failed refresh keeps the
 *     previous snapshot when it had attributes (Warn `resource refresh failed; keeping previous
 *     snapshot`), else the failed (empty) result is used.
 *
 * Deliberately not done: detectors run one after the other, not in parallel: with a shared
 * deadline the result is the same for env and system (a failing detector still retries until
 * the deadline, and every detector gets at least one attempt), only a start with several
 * failing detectors can take longer than `timeout`. The other keys of the squashed HTTP client
 * config (endpoint, headers, tls, ...) and the sections of the detectors otelcol-ref lacks
 * (ec2:, gcp:, ...) are unknown keys here, where upstream accepts them. No profiles signal.
 *
 * Thread: with refresh_interval > 0 one thread per instance ("resdet-refresh"), started by
 * start() and joined by shutdown()/destroy(); its one job is to replace the snapshot. The
 * snapshot is behind one mutex, held while a payload is merged (in memory, no I/O) and while
 * it is swapped, never while detecting.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "component.h"
#include "log.h"
#include "options.h"
#include "pdata.h"
#include "resourcedetection.h"

#define DETECTORS_MAX 64

static const struct option resourcedetection_options[] = {
    {OPT_STRING_LIST, "detectors", "[env]", offsetof(struct resourcedetection_config, detectors),
     "detectors in priority order (otelcol-ref has env and system)", 0, NULL, 0},
    {OPT_BOOL, "override", "true", offsetof(struct resourcedetection_config, override),
     "detected values replace existing resource attributes", 0, NULL, 0},
    {OPT_DURATION, "timeout", "5s", offsetof(struct resourcedetection_config, timeout_ns),
     "deadline of the detection at start, retries included", 0, NULL, 0},
    {OPT_DURATION, "refresh_interval", "0s",
     offsetof(struct resourcedetection_config, refresh_interval_ns),
     "re-detect this often (0 = detect once at start)", 0, NULL, 0},
    {OPT_OBJECT, "system", NULL, offsetof(struct resourcedetection_config, system),
     "the system detector", 0, resourcedetection_system_options, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

enum detector_kind { DETECTOR_ENV, DETECTOR_SYSTEM };

/* Detectors upstream's factory knows (contrib v0.143 factory.go) that otelcol-ref does not. */
static const char *const upstream_only_detectors[] = {
    "akamai",
    "alibaba_ecs",
    "aks",
    "azure",
    "consul",
    "digitalocean",
    "docker",
    "dynatrace",
    "ec2",
    "ecs",
    "eks",
    "elastic_beanstalk",
    "lambda",
    "gcp",
    "heroku",
    "hetzner",
    "ibmcloud_classic",
    "ibmcloud_vpc",
    "k8snode",
    "kubeadm",
    "nova",
    "openshift",
    "oraclecloud",
    "scaleway",
    "tencent_cvm",
    "upcloud",
    "vultr",
};

struct resourcedetection_processor {
    const char *log_name;                       /* borrowed from the component */
    struct consumer *next;                      /* downstream, owned by the service */
    const struct resourcedetection_config *cfg; /* borrowed: the component's config */
    enum detector_kind detectors[DETECTORS_MAX];
    size_t detector_count;
    unsigned random_state; /* backoff jitter; start() and the refresh thread never overlap */

    bool sync_ready;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the refresh thread and backoff waits, woken by shutdown */
    pthread_t refresher;
    bool refresher_started;
    /* --- guarded by lock --- */
    struct resourcedetection_resource snapshot;
    bool stopping;
};

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the detected resource ---- */

void resourcedetection_resource_clear(struct resourcedetection_resource *r)
{
    for (size_t i = 0; i < r->count; i++) {
        free(r->items[i].key);
        free(r->items[i].value);
    }
    free(r->items);
    free(r->schema_url);
    memset(r, 0, sizeof(*r));
}

static struct resourcedetection_attribute *find(const struct resourcedetection_resource *r,
                                                const char *key, size_t key_len)
{
    for (size_t i = 0; i < r->count; i++)
        if (strlen(r->items[i].key) == key_len && !memcmp(r->items[i].key, key, key_len))
            return &r->items[i];
    return NULL;
}

const char *resourcedetection_resource_get(const struct resourcedetection_resource *r,
                                           const char *key)
{
    const struct resourcedetection_attribute *a = find(r, key, strlen(key));
    return a ? a->value : NULL;
}

int resourcedetection_resource_put(struct resourcedetection_resource *r, const char *key,
                                   size_t key_len, const char *value, size_t value_len)
{
    char *copy = strndup(value, value_len);
    if (!copy)
        return -ENOMEM;
    struct resourcedetection_attribute *a = find(r, key, key_len);
    if (a) {
        free(a->value);
        a->value = copy;
        return 0;
    }
    if (r->count == RESOURCEDETECTION_ATTRIBUTES_MAX) {
        free(copy);
        return -E2BIG;
    }
    if (r->count == r->capacity) {
        size_t capacity = r->capacity ? r->capacity * 2 : 8;
        struct resourcedetection_attribute *grown = realloc(r->items, capacity * sizeof(*grown));
        if (!grown) {
            free(copy);
            return -ENOMEM;
        }
        r->items = grown;
        r->capacity = capacity;
    }
    char *key_copy = strndup(key, key_len);
    if (!key_copy) {
        free(copy);
        return -ENOMEM;
    }
    r->items[r->count++] = (struct resourcedetection_attribute){key_copy, copy};
    return 0;
}

/* MergeResource(into, from, false) between detected resources and MergeSchemaURL: first wins. */
static int merge_first_wins(struct resourcedetection_resource *into,
                            const struct resourcedetection_resource *from)
{
    for (size_t i = 0; i < from->count; i++) {
        const struct resourcedetection_attribute *a = &from->items[i];
        if (find(into, a->key, strlen(a->key)))
            continue;
        int rc = resourcedetection_resource_put(into, a->key, strlen(a->key), a->value,
                                                strlen(a->value));
        if (rc < 0)
            return rc;
    }
    if (!into->schema_url && from->schema_url && from->schema_url[0]) {
        if (!(into->schema_url = strdup(from->schema_url)))
            return -ENOMEM;
    }
    return 0;
}

/* ---- detection ---- */

static int run_detector(struct resourcedetection_processor *rp, enum detector_kind kind,
                        struct resourcedetection_resource *out, struct error *err)
{
    if (kind == DETECTOR_ENV)
        return resourcedetection_env_detect(out, err);
    return resourcedetection_system_detect(
        &rp->cfg->system, &resourcedetection_system_probe_default, rp->log_name, out, err);
}

/* Waits until `until_ns` (monotonic) or shutdown. Returns false when shutting down. */
static bool wait_until(struct resourcedetection_processor *rp, int64_t until_ns)
{
    struct timespec due = {.tv_sec = (time_t)(until_ns / 1000000000LL),
                           .tv_nsec = (long)(until_ns % 1000000000LL)};
    pthread_mutex_lock(&rp->lock);
    while (!rp->stopping && monotonic_ns() < until_ns)
        pthread_cond_timedwait(&rp->wake, &rp->lock, &due);
    bool running = !rp->stopping;
    pthread_mutex_unlock(&rp->lock);
    return running;
}

/* The next backoff wait: 1 s x 2^attempt, randomized by +-150 %, never negative. */
static int64_t backoff_ns(struct resourcedetection_processor *rp, int attempt)
{
    double interval = 1e9;
    for (int i = 0; i < attempt && interval < 3.6e12; i++)
        interval *= 2;
    double random = (double)rand_r(&rp->random_state) / RAND_MAX; /* 0..1 */
    double wait = interval * (1 - 1.5 + random * 2 * 1.5);
    return wait < 0 ? 0 : (int64_t)wait;
}

/* One detector with retries until `deadline_ns`; the last error when it never succeeds. */
static int detect_with_retries(struct resourcedetection_processor *rp, enum detector_kind kind,
                               int64_t deadline_ns, struct resourcedetection_resource *out,
                               struct error *err)
{
    for (int attempt = 0;; attempt++) {
        resourcedetection_resource_clear(out);
        error_clear(err);
        int rc = run_detector(rp, kind, out, err);
        if (rc == 0)
            return 0;
        log_warn(rp->log_name, "failed to detect resource\" error=\"%s", err->message);
        int64_t retry_at = monotonic_ns() + backoff_ns(rp, attempt);
        /* Upstream selects between its timer and the context deadline. */
        if (retry_at >= deadline_ns) {
            if (wait_until(rp, deadline_ns))
                log_warn(rp->log_name, "context was cancelled\" error=\"context deadline exceeded");
            return rc;
        }
        if (!wait_until(rp, retry_at))
            return rc;
    }
}

/* Runs every detector and merges their results into `out` (empty on entry). Returns 0, or the
 * joined detector errors (out then holds what the others found). */
static int detect_all(struct resourcedetection_processor *rp,
                      struct resourcedetection_resource *out, struct error *err)
{
    int64_t deadline = monotonic_ns() + (rp->cfg->timeout_ns > 0 ? rp->cfg->timeout_ns : 0);
    size_t successes = 0;
    int rc = 0;
    log_info(rp->log_name, "began detecting resource information");
    error_clear(err);
    for (size_t i = 0; i < rp->detector_count; i++) {
        struct resourcedetection_resource found = {0};
        struct error detector_err = {0};
        int detector_rc =
            detect_with_retries(rp, rp->detectors[i], deadline, &found, &detector_err);
        if (detector_rc == -ENOMEM) {
            resourcedetection_resource_clear(&found);
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        }
        if (detector_rc < 0) {
            /* errors.Join: one message per line */
            if (rc < 0)
                error_set(err, rc, ERROR_PERMANENT, "%s\n%s", err->message, detector_err.message);
            else
                rc = error_set(err, detector_rc, ERROR_PERMANENT, "%s", detector_err.message);
            continue;
        }
        successes++;
        int merge_rc = merge_first_wins(out, &found);
        resourcedetection_resource_clear(&found);
        if (merge_rc < 0)
            return error_set(err, merge_rc, ERROR_PERMANENT, "out of memory");
    }
    if (log_get_level() <= LOG_INFO) {
        char text[2048];
        size_t n = 0;
        text[0] = '\0';
        for (size_t i = 0; i < out->count && n < sizeof(text); i++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s:%s", i ? " " : "",
                                  out->items[i].key, out->items[i].value);
        log_info(rp->log_name, "detected resource information\" resource=\"map[%s]", text);
    }
    if (successes == 0 && rc == 0)
        rc = error_set(err, -ENOENT, ERROR_PERMANENT,
                       "resource detection failed: no detectors succeeded");
    if (successes == 0)
        resourcedetection_resource_clear(out);
    return rc;
}

/* Provider.Refresh: detects and stores the result, keeping a good snapshot on failure. */
static int refresh(struct resourcedetection_processor *rp, struct error *err)
{
    struct resourcedetection_resource fresh = {0};
    int rc = detect_all(rp, &fresh, err);
    pthread_mutex_lock(&rp->lock);
    bool had_good = rp->snapshot.count > 0;
    if (rc < 0 && had_good) {
        pthread_mutex_unlock(&rp->lock);
        log_warn(rp->log_name, "resource refresh failed; keeping previous snapshot\" error=\"%s",
                 err->message);
        resourcedetection_resource_clear(&fresh);
        return 0;
    }
    struct resourcedetection_resource old = rp->snapshot;
    rp->snapshot = fresh;
    pthread_mutex_unlock(&rp->lock);
    resourcedetection_resource_clear(&old);
    return rc;
}

static void *refresh_main(void *arg)
{
    struct resourcedetection_processor *rp = arg;
    pthread_setname_np(pthread_self(), "resdet-refresh");
    int64_t next = monotonic_ns() + rp->cfg->refresh_interval_ns;
    while (wait_until(rp, next)) {
        struct error err = {0};
        if (refresh(rp, &err) < 0)
            log_warn(rp->log_name, "resource refresh failed\" error=\"%s", err.message);
        next += rp->cfg->refresh_interval_ns;
        int64_t now = monotonic_ns();
        if (next < now) /* a ticker drops the ticks it missed */
            next = now + rp->cfg->refresh_interval_ns;
    }
    return NULL;
}

/* ---- applying ---- */

/* Sets *schema_url to `detected` when the data has none (MergeSchemaURL). */
static int merge_schema_url(char **schema_url, const char *detected)
{
    if (!detected || !detected[0] || (*schema_url && (*schema_url)[0]))
        return 0;
    char *copy = pdata_strdup(detected);
    if (!copy)
        return -ENOMEM;
    if (*schema_url && *schema_url != protobuf_c_empty_string)
        pdata_free(*schema_url);
    *schema_url = copy;
    return 0;
}

/* MergeResource(*resource, detected, override); creates the Resource when the data has none. */
static int merge_resource(otlp_resource **resource, const struct resourcedetection_resource *d,
                          bool override)
{
    if (d->count == 0)
        return 0;
    if (!*resource) {
        otlp_resource *fresh = pdata_alloc(sizeof(*fresh));
        if (!fresh)
            return -ENOMEM;
        opentelemetry__proto__resource__v1__resource__init(fresh);
        *resource = fresh;
    }
    otlp_resource *r = *resource;
    for (size_t i = 0; i < d->count; i++) {
        int rc = override ? pdata_attr_upsert_string(&r->attributes, &r->n_attributes,
                                                     d->items[i].key, d->items[i].value)
                          : pdata_attr_insert_string(&r->attributes, &r->n_attributes,
                                                     d->items[i].key, d->items[i].value);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int apply(struct payload *p, const struct resourcedetection_resource *d, bool override)
{
    int rc = 0;
    switch (p->signal) {
    case SIGNAL_TRACES:
        for (size_t i = 0; rc == 0 && i < p->traces->n_resource_spans; i++) {
            Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = p->traces->resource_spans[i];
            if ((rc = merge_schema_url(&rs->schema_url, d->schema_url)) == 0)
                rc = merge_resource(&rs->resource, d, override);
        }
        break;
    case SIGNAL_METRICS:
        for (size_t i = 0; rc == 0 && i < p->metrics->n_resource_metrics; i++) {
            Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm =
                p->metrics->resource_metrics[i];
            if ((rc = merge_schema_url(&rm->schema_url, d->schema_url)) == 0)
                rc = merge_resource(&rm->resource, d, override);
        }
        break;
    case SIGNAL_LOGS:
        for (size_t i = 0; rc == 0 && i < p->logs->n_resource_logs; i++) {
            Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = p->logs->resource_logs[i];
            if ((rc = merge_schema_url(&rl->schema_url, d->schema_url)) == 0)
                rc = merge_resource(&rl->resource, d, override);
        }
        break;
    }
    return rc;
}

/* ---- component callbacks ---- */

static int resourcedetection_validate(const void *config, struct error *err)
{
    const struct resourcedetection_config *cfg = config;
    int rc = resourcedetection_system_validate(&cfg->system, err);
    if (rc < 0)
        error_prefix(err, "system");
    return rc;
}

static void processor_free(struct resourcedetection_processor *rp)
{
    if (!rp)
        return;
    if (rp->sync_ready) {
        if (rp->refresher_started) {
            pthread_mutex_lock(&rp->lock);
            rp->stopping = true;
            pthread_cond_broadcast(&rp->wake);
            pthread_mutex_unlock(&rp->lock);
            pthread_join(rp->refresher, NULL);
        }
        pthread_cond_destroy(&rp->wake);
        pthread_mutex_destroy(&rp->lock);
    }
    resourcedetection_resource_clear(&rp->snapshot);
    free(rp);
}

/* Fills rp->detectors from the config: getDetectors' checks, in its words. */
static int resolve_detectors(struct resourcedetection_processor *rp, struct error *err)
{
    const struct option_string_list *names = &rp->cfg->detectors;
    if (names->count > DETECTORS_MAX)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "more than %d detectors", DETECTORS_MAX);
    for (size_t i = 0; i < names->count; i++) {
        const char *name = names->items[i];
        size_t len = strlen(name);
        while (len > 0 && strchr(" \t\n\v\f\r", name[len - 1]))
            len--;
        while (len > 0 && strchr(" \t\n\v\f\r", *name))
            name++, len--;
        if (len == 3 && !strncmp(name, "env", 3)) {
            rp->detectors[rp->detector_count++] = DETECTOR_ENV;
            continue;
        }
        if (len == 6 && !strncmp(name, "system", 6)) {
            rp->detectors[rp->detector_count++] = DETECTOR_SYSTEM;
            continue;
        }
        for (size_t k = 0; k < sizeof(upstream_only_detectors) / sizeof(upstream_only_detectors[0]);
             k++)
            if (strlen(upstream_only_detectors[k]) == len &&
                !strncmp(name, upstream_only_detectors[k], len))
                return error_set(err, -ENOTSUP, ERROR_PERMANENT,
                                 "detector %.*s is not implemented by otelcol-ref (only env and "
                                 "system are)",
                                 (int)len, name);
        return error_set(err, -EINVAL, ERROR_PERMANENT, "invalid detector key: %.*s", (int)len,
                         name);
    }
    return 0;
}

static int resourcedetection_create(struct component *c, struct error *err)
{
    const struct resourcedetection_config *cfg = c->config;
    int rc = 0;
    pthread_condattr_t attr;
    bool attr_ready = false;
    struct resourcedetection_processor *rp = calloc(1, sizeof(*rp));
    if (!rp)
        goto fail_nomem;
    rp->log_name = c->log_name;
    rp->cfg = cfg;
    rp->random_state = (unsigned)monotonic_ns();
    rp->next = c->next[c->pipeline_signal];
    if (!rp->next) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "no downstream consumer for %s",
                       signal_name(c->pipeline_signal));
        goto fail;
    }
    if ((rc = resolve_detectors(rp, err)) < 0)
        goto fail;
    for (int a = 0; a < SYSTEM_ATTR_COUNT; a++)
        if (cfg->system.attributes[a].enabled && !resourcedetection_system_attribute_produced(a))
            log_warn(c->log_name,
                     "system.resource_attributes.%s is enabled but otelcol-ref does "
                     "not compute it: it is left out",
                     resourcedetection_system_attribute_name(a));
    if (pthread_condattr_init(&attr) != 0)
        goto fail_nomem;
    attr_ready = true;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&rp->lock, NULL) != 0)
        goto fail_nomem;
    if (pthread_cond_init(&rp->wake, &attr) != 0) {
        pthread_mutex_destroy(&rp->lock);
        goto fail_nomem;
    }
    rp->sync_ready = true;
    pthread_condattr_destroy(&attr);
    c->state = rp;
    return 0;

fail_nomem:
    rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
fail:
    if (attr_ready)
        pthread_condattr_destroy(&attr);
    processor_free(rp);
    return rc;
}

static int resourcedetection_start(struct component *c, struct error *err)
{
    struct resourcedetection_processor *rp = c->state;
    int rc = refresh(rp, err);
    if (rc < 0)
        return rc;
    if (rp->cfg->refresh_interval_ns > 0) {
        if (pthread_create(&rp->refresher, NULL, refresh_main, rp) != 0)
            return error_set(err, -EAGAIN, ERROR_PERMANENT,
                             "cannot start the resource refresh thread");
        rp->refresher_started = true;
    }
    return 0;
}

static int resourcedetection_consume(struct component *c, struct payload *p, struct error *err)
{
    struct resourcedetection_processor *rp = c->state;
    pthread_mutex_lock(&rp->lock);
    int rc = apply(p, &rp->snapshot, rp->cfg->override);
    pthread_mutex_unlock(&rp->lock);
    if (rc < 0) {
        payload_free(p);
        return error_set(err, rc, ERROR_REFUSED, "out of memory adding the detected resource");
    }
    return consumer_consume(rp->next, p, err);
}

static void resourcedetection_shutdown(struct component *c, long long deadline_ms)
{
    (void)deadline_ms;
    struct resourcedetection_processor *rp = c->state;
    if (!rp || !rp->refresher_started)
        return;
    pthread_mutex_lock(&rp->lock);
    rp->stopping = true;
    pthread_cond_broadcast(&rp->wake);
    pthread_mutex_unlock(&rp->lock);
    pthread_join(rp->refresher, NULL);
    rp->refresher_started = false;
}

static void resourcedetection_destroy(struct component *c)
{
    processor_free(c->state);
    c->state = NULL;
}

const struct component_descriptor resourcedetection_processor_descriptor = {
    .type = "resourcedetection",
    .kind = KIND_PROCESSOR,
    .signals = SIGNALS_ALL,
    .deprecated_alias = NULL,
    .summary = "adds the collector's own resource (env, system detectors) to every resource",
    .options = resourcedetection_options,
    .config_size = sizeof(struct resourcedetection_config),
    .validate = resourcedetection_validate,
    .create = resourcedetection_create,
    .start = resourcedetection_start,
    .consume = resourcedetection_consume,
    .shutdown = resourcedetection_shutdown,
    .destroy = resourcedetection_destroy,
};
