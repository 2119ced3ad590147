/*
 * prom_to_otlp.c - a parsed scrape to an OTLP metrics payload, and the synthetic scrape gauges.
 * What each rule mirrors upstream (contrib receiver/prometheusreceiver, facts in
 * shared/facts/receivers.md §3) is said where the rule is; the header lists what is left out.
 *
 * The tree is built in place in pdata: every node is hung on the payload as soon as it exists,
 * so one payload_free cleans up after an allocation failure anywhere.
 */
#include "prom_to_otlp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics otlp_resource_metrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics otlp_scope_metrics;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope otlp_scope;
typedef Opentelemetry__Proto__Metrics__V1__Metric otlp_metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint otlp_number_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint otlp_histogram_point;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint otlp_summary_point;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile otlp_quantile;

#define METRIC_DATA(kind) OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_##kind
#define CUMULATIVE                                                                                 \
    OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE
/* DataPointFlags.FLAG_NO_RECORDED_VALUE_MASK: what a StaleNaN becomes (metricfamily.go). */
#define NO_RECORDED_VALUE 1u
#define NS_PER_MS UINT64_C(1000000)

/* ---- small pdata helpers ---- */

/* Appends `item` to a pdata pointer array of *n entries. The array is allocated with room for
 * the next power of two, so it grows only when *n is 0 or a power of two. 0 or -ENOMEM. */
static int append_pointer(void ***array, size_t *n, void *item)
{
    size_t count = *n;
    if ((count & (count - 1)) == 0) {
        void **grown = pdata_calloc(count ? count * 2 : 1, sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        if (count)
            memcpy(grown, *array, count * sizeof(*grown));
        pdata_free(*array);
        *array = grown;
    }
    (*array)[count] = item;
    *n = count + 1;
    return 0;
}

#define APPEND(array, n, item) append_pointer((void ***)&(array), &(n), (item))

static void *message_new(const ProtobufCMessageDescriptor *descriptor)
{
    ProtobufCMessage *m = pdata_alloc(descriptor->sizeof_message);
    if (m)
        descriptor->message_init(m);
    return m;
}

static void message_free(void *message)
{
    if (message)
        protobuf_c_message_free_unpacked(message, pdata_allocator());
}

/* Replaces a string field (which holds protobuf_c_empty_string or a pdata copy) by a copy. */
static int set_string(char **field, const char *value)
{
    char *copy = pdata_strdup(value ? value : "");
    if (!copy)
        return -ENOMEM;
    if (*field && *field != protobuf_c_empty_string)
        pdata_free(*field);
    *field = copy;
    return 0;
}

static bool same_string(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* ---- labels ---- */

static const char *label_value(const struct expfmt_sample *sample, const char *name)
{
    for (size_t i = 0; i < sample->label_count; i++)
        if (strcmp(sample->labels[i].name, name) == 0)
            return sample->labels[i].value;
    return NULL;
}

/* Labels that never become data point attributes: util.go notUsefulLabels* (the target labels and
 * le/quantile, which the histogram and summary points carry as buckets and quantiles), the scope
 * labels of transaction.go, and empty values (metricfamily.go populateAttributes). */
static bool is_attribute_label(const struct expfmt_label *label, enum expfmt_type type)
{
    static const char *const target_labels[] = {"__name__", "job", "instance", "__scheme__",
                                                "__metrics_path__"};
    if (label->value[0] == '\0')
        return false;
    for (size_t i = 0; i < sizeof target_labels / sizeof *target_labels; i++)
        if (strcmp(label->name, target_labels[i]) == 0)
            return false;
    if (strncmp(label->name, "otel_scope_", strlen("otel_scope_")) == 0)
        return false;
    if (type == EXPFMT_HISTOGRAM && strcmp(label->name, "le") == 0)
        return false;
    if (type == EXPFMT_SUMMARY && strcmp(label->name, "quantile") == 0)
        return false;
    return true;
}

static size_t attribute_label_count(const struct expfmt_sample *sample, enum expfmt_type type)
{
    size_t count = 0;
    for (size_t i = 0; i < sample->label_count; i++)
        count += is_attribute_label(&sample->labels[i], type);
    return count;
}

/* True when the point's attributes are exactly the sample's attribute labels (as a set). */
static bool attributes_match(otlp_keyvalue *const *attrs, size_t n,
                             const struct expfmt_sample *sample, enum expfmt_type type)
{
    if (attribute_label_count(sample, type) != n)
        return false;
    for (size_t i = 0; i < sample->label_count; i++) {
        const struct expfmt_label *label = &sample->labels[i];
        if (!is_attribute_label(label, type))
            continue;
        const char *value = pdata_attr_get_string(attrs, n, label->name);
        if (!value || strcmp(value, label->value) != 0)
            return false;
    }
    return true;
}

static int copy_attributes(otlp_keyvalue ***attrs, size_t *n, const struct expfmt_sample *sample,
                           enum expfmt_type type)
{
    for (size_t i = 0; i < sample->label_count; i++) {
        const struct expfmt_label *label = &sample->labels[i];
        if (is_attribute_label(label, type) &&
            pdata_attr_upsert_string(attrs, n, label->name, label->value) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* ---- resource and scope ---- */

/* server.address only when the host is "discernible" (prom_to_otlp.go isDiscernibleHost): not a
 * loopback address, not unspecified (0.0.0.0, ::), not localhost. */
static bool is_discernible_host(const char *host)
{
    if (host[0] == '\0' || strcmp(host, "localhost") == 0)
        return false;
    unsigned char v4[4], v6[16];
    if (inet_pton(AF_INET, host, v4) == 1)
        return v4[0] != 127 && !(v4[0] == 0 && v4[1] == 0 && v4[2] == 0 && v4[3] == 0);
    if (inet_pton(AF_INET6, host, v6) == 1) {
        static const unsigned char zero[16], loopback[16] = {[15] = 1};
        static const unsigned char mapped_prefix[12] = {[10] = 0xff, [11] = 0xff};
        if (memcmp(v6, zero, 16) == 0 || memcmp(v6, loopback, 16) == 0)
            return false;
        if (memcmp(v6, mapped_prefix, 12) == 0) /* ::ffff:a.b.c.d is judged as a.b.c.d */
            return v6[12] != 127 && !(v6[12] == 0 && v6[13] == 0 && v6[14] == 0 && v6[15] == 0);
    }
    return true;
}

/* Splits host:port as Go's net.SplitHostPort does for an instance label: "h:p" or "[v6]:p".
 * Anything else is an error upstream, and then (prom_to_otlp.go CreateResource) the whole label
 * is the host, brackets included, and the port is "". The caller owns both strings (malloc). */
static int split_instance(const char *instance, char **host, char **port)
{
    const char *host_start = instance, *host_end = instance + strlen(instance);
    const char *port_text = "";
    if (instance[0] == '[') {
        const char *close = strchr(instance, ']');
        if (close && close[1] == ':') {
            host_start = instance + 1;
            host_end = close;
            port_text = close + 2;
        }
    } else {
        const char *colon = strchr(instance, ':');
        if (colon && colon == strrchr(instance, ':')) { /* more colons: "too many colons" */
            host_end = colon;
            port_text = colon + 1;
        }
    }
    *host = strndup(host_start, (size_t)(host_end - host_start));
    *port = strdup(port_text);
    if (!*host || !*port) {
        free(*host);
        free(*port);
        return -ENOMEM;
    }
    return 0;
}

/* The Resource of CreateResource (prom_to_otlp.go), attributes in upstream's order. */
static int fill_resource(otlp_resource *resource, const char *job, const char *instance,
                         const char *scheme)
{
    char *host = NULL, *port = NULL;
    if (split_instance(instance, &host, &port) < 0)
        return -ENOMEM;
    otlp_keyvalue ***attrs = &resource->attributes;
    size_t *n = &resource->n_attributes;
    int rc = -ENOMEM;
    if (pdata_attr_upsert_string(attrs, n, "service.name", job) < 0)
        goto done;
    if (is_discernible_host(host) && pdata_attr_upsert_string(attrs, n, "server.address", host) < 0)
        goto done;
    if (pdata_attr_upsert_string(attrs, n, "service.instance.id", instance) < 0 ||
        pdata_attr_upsert_string(attrs, n, "server.port", port) < 0 ||
        pdata_attr_upsert_string(attrs, n, "url.scheme", scheme ? scheme : "") < 0)
        goto done;
    rc = 0;
done:
    free(host);
    free(port);
    return rc;
}

/* The ResourceMetrics of (job, instance), created at the end when missing. NULL on -ENOMEM. */
static otlp_resource_metrics *resource_for(otlp_metrics_req *req, const char *job,
                                           const char *instance, const char *scheme)
{
    for (size_t i = 0; i < req->n_resource_metrics; i++) {
        otlp_resource *r = req->resource_metrics[i]->resource;
        if (same_string(pdata_attr_get_string(r->attributes, r->n_attributes, "service.name"),
                        job) &&
            same_string(
                pdata_attr_get_string(r->attributes, r->n_attributes, "service.instance.id"),
                instance))
            return req->resource_metrics[i];
    }
    otlp_resource_metrics *rm =
        message_new(&opentelemetry__proto__metrics__v1__resource_metrics__descriptor);
    if (!rm)
        return NULL;
    if (APPEND(req->resource_metrics, req->n_resource_metrics, rm) < 0) {
        message_free(rm);
        return NULL;
    }
    rm->resource = message_new(&opentelemetry__proto__resource__v1__resource__descriptor);
    if (!rm->resource || fill_resource(rm->resource, job, instance, scheme) < 0)
        return NULL;
    return rm;
}

static otlp_scope_metrics *scope_for(otlp_resource_metrics *rm, const char *name,
                                     const char *version, const char *schema_url)
{
    for (size_t i = 0; i < rm->n_scope_metrics; i++) {
        otlp_scope_metrics *sm = rm->scope_metrics[i];
        if (same_string(sm->scope->name, name) && same_string(sm->scope->version, version) &&
            same_string(sm->schema_url, schema_url))
            return sm;
    }
    otlp_scope_metrics *sm =
        message_new(&opentelemetry__proto__metrics__v1__scope_metrics__descriptor);
    if (!sm)
        return NULL;
    if (APPEND(rm->scope_metrics, rm->n_scope_metrics, sm) < 0) {
        message_free(sm);
        return NULL;
    }
    sm->scope = message_new(&opentelemetry__proto__common__v1__instrumentation_scope__descriptor);
    if (!sm->scope || set_string(&sm->scope->name, name) < 0 ||
        set_string(&sm->scope->version, version) < 0 ||
        (schema_url && set_string(&sm->schema_url, schema_url) < 0))
        return NULL;
    return sm;
}

/* The scope of a sample (transaction.go getScopeID, getMetrics): as soon as one of the
 * otel_scope_name/version/schema_url labels is there, the scope is made of those three (an absent
 * one is ""); without any, it is the receiver itself at the collector version. */
static otlp_scope_metrics *scope_for_sample(otlp_resource_metrics *rm,
                                            const struct expfmt_sample *sample)
{
    const char *name = label_value(sample, "otel_scope_name");
    const char *version = label_value(sample, "otel_scope_version");
    const char *schema_url = label_value(sample, "otel_scope_schema_url");
    if (!name && !version && !schema_url)
        return scope_for(rm, PROM_TO_OTLP_SCOPE_NAME, PROM_TO_OTLP_COLLECTOR_VERSION, NULL);
    return scope_for(rm, name, version, schema_url);
}

/* ---- metrics ---- */

/* UNIT metadata to UCUM (pkg/translator/prometheus unit_to_ucum.go): the words of the facts'
 * list are mapped, X_per_Y becomes X/Y, any other word is kept as written. Caller frees. */
static const char *ucum_word(const char *word, size_t len)
{
    static const struct {
        const char *prometheus, *ucum;
    } words[] = {{"seconds", "s"},
                 {"milliseconds", "ms"},
                 {"bytes", "By"},
                 {"ratio", "1"},
                 {"percent", "%"}};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strlen(words[i].prometheus) == len && strncmp(words[i].prometheus, word, len) == 0)
            return words[i].ucum;
    return NULL;
}

static char *ucum_unit(const char *unit)
{
    const char *per = strstr(unit, "_per_");
    size_t left_len = per ? (size_t)(per - unit) : strlen(unit);
    const char *right = per ? per + strlen("_per_") : NULL;
    const char *left_ucum = ucum_word(unit, left_len);
    const char *right_ucum = right ? ucum_word(right, strlen(right)) : NULL;
    size_t size = left_len + (right ? strlen(right) + 2 : 1) + 4;
    char *out = malloc(size);
    if (!out)
        return NULL;
    int written = left_ucum ? snprintf(out, size, "%s", left_ucum)
                            : snprintf(out, size, "%.*s", (int)left_len, unit);
    if (right)
        snprintf(out + written, size - (size_t)written, "/%s", right_ucum ? right_ucum : right);
    return out;
}

static otlp_metric *metric_new(otlp_scope_metrics *sm, const char *name,
                               const struct expfmt_family *family, const char *type_name)
{
    otlp_metric *m = message_new(&opentelemetry__proto__metrics__v1__metric__descriptor);
    if (!m)
        return NULL;
    if (APPEND(sm->metrics, sm->n_metrics, m) < 0) {
        message_free(m);
        return NULL;
    }
    if (set_string(&m->name, name) < 0 || set_string(&m->description, family->help) < 0)
        return NULL;
    if (family->unit && family->unit[0]) {
        char *unit = ucum_unit(family->unit);
        int rc = unit ? set_string(&m->unit, unit) : -ENOMEM;
        free(unit);
        if (rc < 0)
            return NULL;
    }
    /* Metric.metadata["prometheus.type"] (pkg/translator/prometheus constants.go). */
    if (pdata_attr_upsert_string(&m->metadata, &m->n_metadata, "prometheus.type", type_name) < 0)
        return NULL;
    switch (family->type) {
    case EXPFMT_COUNTER:
    case EXPFMT_INFO:
    case EXPFMT_STATESET:
        m->sum = message_new(&opentelemetry__proto__metrics__v1__sum__descriptor);
        if (!m->sum)
            return NULL;
        m->data_case = METRIC_DATA(SUM);
        m->sum->aggregation_temporality = CUMULATIVE;
        m->sum->is_monotonic = family->type == EXPFMT_COUNTER;
        break;
    case EXPFMT_HISTOGRAM:
        m->histogram = message_new(&opentelemetry__proto__metrics__v1__histogram__descriptor);
        if (!m->histogram)
            return NULL;
        m->data_case = METRIC_DATA(HISTOGRAM);
        m->histogram->aggregation_temporality = CUMULATIVE;
        break;
    case EXPFMT_SUMMARY:
        m->summary = message_new(&opentelemetry__proto__metrics__v1__summary__descriptor);
        if (!m->summary)
            return NULL;
        m->data_case = METRIC_DATA(SUMMARY);
        break;
    default: /* gauge and unknown (util.go convToMetricType) */
        m->gauge = message_new(&opentelemetry__proto__metrics__v1__gauge__descriptor);
        if (!m->gauge)
            return NULL;
        m->data_case = METRIC_DATA(GAUGE);
        break;
    }
    return m;
}

static otlp_metric *metric_for(otlp_scope_metrics *sm, const char *name,
                               const struct expfmt_family *family)
{
    for (size_t i = 0; i < sm->n_metrics; i++)
        if (strcmp(sm->metrics[i]->name, name) == 0)
            return sm->metrics[i];
    return metric_new(sm, name, family, expfmt_type_name(family->type));
}

/* ---- samples ---- */

static bool is_stale(double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits == PROM_STALE_NAN_BITS;
}

/* time_unix_nano: the sample's own timestamp (honor_timestamps defaults to true), else the
 * scrape time; both are milliseconds upstream. */
static uint64_t sample_time_ns(const struct expfmt_sample *sample, uint64_t scrape_time_ns)
{
    if (sample->has_timestamp)
        return (uint64_t)sample->timestamp_ms * NS_PER_MS;
    return scrape_time_ns / NS_PER_MS * NS_PER_MS;
}

static bool has_suffix(const char *name, const char *family, const char *suffix)
{
    size_t family_len = strlen(family);
    return strncmp(name, family, family_len) == 0 && strcmp(name + family_len, suffix) == 0;
}

/* The point of `m` whose attributes are the sample's; NULL when there is none. */
static void *find_point(otlp_metric *m, const struct expfmt_sample *sample, enum expfmt_type type)
{
    switch (m->data_case) {
    case METRIC_DATA(SUM):
        for (size_t i = 0; i < m->sum->n_data_points; i++) {
            otlp_number_point *p = m->sum->data_points[i];
            if (attributes_match(p->attributes, p->n_attributes, sample, type))
                return p;
        }
        break;
    case METRIC_DATA(HISTOGRAM):
        for (size_t i = 0; i < m->histogram->n_data_points; i++) {
            otlp_histogram_point *p = m->histogram->data_points[i];
            if (attributes_match(p->attributes, p->n_attributes, sample, type))
                return p;
        }
        break;
    case METRIC_DATA(SUMMARY):
        for (size_t i = 0; i < m->summary->n_data_points; i++) {
            otlp_summary_point *p = m->summary->data_points[i];
            if (attributes_match(p->attributes, p->n_attributes, sample, type))
                return p;
        }
        break;
    default: break;
    }
    return NULL;
}

/* _created (OpenMetrics, seconds) is the start time of the point with the same labels: the one
 * case where v0.142 sets start_time_unix_nano (facts §3 Timestamps). */
static uint64_t created_ns(double seconds)
{
    return seconds > 0 && isfinite(seconds) ? (uint64_t)(seconds * 1e9) : 0;
}

static int add_number_point(otlp_metric *m, const struct expfmt_sample *sample,
                            enum expfmt_type type, uint64_t scrape_time_ns)
{
    otlp_number_point *p =
        message_new(&opentelemetry__proto__metrics__v1__number_data_point__descriptor);
    if (!p)
        return -ENOMEM;
    int rc = m->data_case == METRIC_DATA(SUM)
                 ? APPEND(m->sum->data_points, m->sum->n_data_points, p)
                 : APPEND(m->gauge->data_points, m->gauge->n_data_points, p);
    if (rc < 0) {
        message_free(p);
        return -ENOMEM;
    }
    p->time_unix_nano = sample_time_ns(sample, scrape_time_ns);
    if (is_stale(sample->value)) {
        p->flags = NO_RECORDED_VALUE;
    } else {
        p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
        p->as_double = sample->value;
    }
    return copy_attributes(&p->attributes, &p->n_attributes, sample, type);
}

/* A histogram or summary group, while its samples are gathered (metricfamily.go metricGroup). */
struct group {
    otlp_metric *metric;
    void *point; /* otlp_histogram_point or otlp_summary_point, already in the metric */
    bool has_count, stale;
    struct bucket {
        double bound, cumulative;
    } * buckets;
    size_t bucket_count;
};

struct family_groups {
    struct group *items;
    size_t count, capacity;
};

static void family_groups_clear(struct family_groups *groups)
{
    for (size_t i = 0; i < groups->count; i++)
        free(groups->items[i].buckets);
    free(groups->items);
    memset(groups, 0, sizeof *groups);
}

static struct group *group_for(struct family_groups *groups, otlp_metric *m,
                               const struct expfmt_sample *sample, enum expfmt_type type)
{
    void *point = find_point(m, sample, type);
    if (point) {
        for (size_t i = 0; i < groups->count; i++)
            if (groups->items[i].point == point)
                return &groups->items[i];
        return NULL; /* cannot happen: every point of this family's metrics has a group */
    }
    if (groups->count == groups->capacity) {
        size_t capacity = groups->capacity ? groups->capacity * 2 : 8;
        struct group *grown = realloc(groups->items, capacity * sizeof(*grown));
        if (!grown)
            return NULL;
        groups->items = grown;
        groups->capacity = capacity;
    }
    int rc;
    if (type == EXPFMT_HISTOGRAM) {
        otlp_histogram_point *p =
            message_new(&opentelemetry__proto__metrics__v1__histogram_data_point__descriptor);
        if (!p)
            return NULL;
        rc = APPEND(m->histogram->data_points, m->histogram->n_data_points, p);
        if (rc < 0)
            message_free(p);
        else
            rc = copy_attributes(&p->attributes, &p->n_attributes, sample, type);
        point = rc < 0 ? NULL : p;
    } else {
        otlp_summary_point *p =
            message_new(&opentelemetry__proto__metrics__v1__summary_data_point__descriptor);
        if (!p)
            return NULL;
        rc = APPEND(m->summary->data_points, m->summary->n_data_points, p);
        if (rc < 0)
            message_free(p);
        else
            rc = copy_attributes(&p->attributes, &p->n_attributes, sample, type);
        point = rc < 0 ? NULL : p;
    }
    if (!point)
        return NULL;
    struct group *g = &groups->items[groups->count++];
    memset(g, 0, sizeof *g);
    g->metric = m;
    g->point = point;
    return g;
}

static int add_bucket(struct group *g, double bound, double cumulative)
{
    struct bucket *grown = realloc(g->buckets, (g->bucket_count + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    g->buckets = grown;
    g->buckets[g->bucket_count++] = (struct bucket){bound, cumulative};
    return 0;
}

static int compare_buckets(const void *a, const void *b)
{
    double x = ((const struct bucket *)a)->bound, y = ((const struct bucket *)b)->bound;
    return (x > y) - (x < y);
}

/* Bounds sorted and without +Inf; cumulative counts become per-bucket counts, the last bucket
 * being _count minus the last finite bucket (metricfamily.go toDistributionPoint). */
static int finish_histogram_point(struct group *g)
{
    otlp_histogram_point *p = g->point;
    if (g->stale) {
        /* The bounds are still sent, with zero counts: a StaleNaN as uint64 would be huge. */
        p->flags = NO_RECORDED_VALUE;
        p->count = 0;
        p->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM__NOT_SET;
    }
    qsort(g->buckets, g->bucket_count, sizeof *g->buckets, compare_buckets);
    size_t finite = 0;
    while (finite < g->bucket_count && isfinite(g->buckets[finite].bound))
        finite++;
    p->explicit_bounds = pdata_calloc(finite ? finite : 1, sizeof(double));
    p->bucket_counts = pdata_calloc(finite + 1, sizeof(uint64_t));
    if (!p->explicit_bounds || !p->bucket_counts)
        return -ENOMEM;
    double previous = 0;
    for (size_t i = 0; i < finite; i++) {
        p->explicit_bounds[i] = g->buckets[i].bound;
        double delta = g->buckets[i].cumulative - previous;
        p->bucket_counts[i] = delta > 0 && !g->stale ? (uint64_t)delta : 0;
        previous = g->buckets[i].cumulative;
    }
    double last = (double)p->count - previous;
    p->bucket_counts[finite] = last > 0 && !g->stale ? (uint64_t)last : 0;
    p->n_explicit_bounds = finite;
    p->n_bucket_counts = finite + 1;
    return 0;
}

static void remove_point(otlp_metric *m, void *point)
{
    void **points = m->data_case == METRIC_DATA(HISTOGRAM) ? (void **)m->histogram->data_points
                                                           : (void **)m->summary->data_points;
    size_t *n = m->data_case == METRIC_DATA(HISTOGRAM) ? &m->histogram->n_data_points
                                                       : &m->summary->n_data_points;
    for (size_t i = 0; i < *n; i++) {
        if (points[i] != point)
            continue;
        memmove(&points[i], &points[i + 1], (*n - i - 1) * sizeof(*points));
        (*n)--;
        message_free(point);
        return;
    }
}

/* Takes one histogram or summary sample into its group. Samples of other names are ignored. */
static int add_grouped_sample(struct family_groups *groups, otlp_scope_metrics *sm,
                              const struct expfmt_family *family,
                              const struct expfmt_sample *sample, uint64_t scrape_time_ns)
{
    enum expfmt_type type = family->type;
    bool is_count = has_suffix(sample->name, family->name, "_count");
    bool is_sum = has_suffix(sample->name, family->name, "_sum");
    bool is_created = has_suffix(sample->name, family->name, "_created");
    bool is_value = type == EXPFMT_HISTOGRAM ? has_suffix(sample->name, family->name, "_bucket")
                                             : strcmp(sample->name, family->name) == 0;
    if (!is_count && !is_sum && !is_created && !is_value)
        return 0;
    otlp_metric *m = metric_for(sm, family->name, family);
    struct group *g = m ? group_for(groups, m, sample, type) : NULL;
    if (!g)
        return -ENOMEM;
    if (is_count) {
        g->has_count = true;
        g->stale = g->stale || is_stale(sample->value);
        uint64_t count = isfinite(sample->value) && sample->value > 0 ? (uint64_t)sample->value : 0;
        uint64_t time = sample_time_ns(sample, scrape_time_ns); /* the point's time is _count's */
        if (type == EXPFMT_HISTOGRAM) {
            ((otlp_histogram_point *)g->point)->count = count;
            ((otlp_histogram_point *)g->point)->time_unix_nano = time;
        } else {
            ((otlp_summary_point *)g->point)->count = count;
            ((otlp_summary_point *)g->point)->time_unix_nano = time;
        }
        return 0;
    }
    if (is_sum) {
        g->stale = g->stale || is_stale(sample->value);
        if (type == EXPFMT_HISTOGRAM) {
            otlp_histogram_point *p = g->point;
            p->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM;
            p->sum = sample->value;
        } else {
            ((otlp_summary_point *)g->point)->sum = sample->value;
        }
        return 0;
    }
    if (is_created) {
        uint64_t start = created_ns(sample->value);
        if (type == EXPFMT_HISTOGRAM)
            ((otlp_histogram_point *)g->point)->start_time_unix_nano = start;
        else
            ((otlp_summary_point *)g->point)->start_time_unix_nano = start;
        return 0;
    }
    const char *bound_text = label_value(sample, type == EXPFMT_HISTOGRAM ? "le" : "quantile");
    if (!bound_text)
        return 0; /* a bucket without le or a quantile sample without quantile: not usable */
    char *end;
    double bound = strtod(bound_text, &end);
    if (end == bound_text || *end != '\0')
        return 0; /* upstream logs a conversion error and skips the sample */
    if (type == EXPFMT_HISTOGRAM)
        return add_bucket(g, bound, sample->value);
    otlp_summary_point *p = g->point;
    otlp_quantile *q = message_new(
        &opentelemetry__proto__metrics__v1__summary_data_point__value_at_quantile__descriptor);
    if (!q)
        return -ENOMEM;
    if (APPEND(p->quantile_values, p->n_quantile_values, q) < 0) {
        message_free(q);
        return -ENOMEM;
    }
    q->quantile = bound;
    q->value = sample->value;
    return 0;
}

static int compare_quantiles(const void *a, const void *b)
{
    double x = (*(otlp_quantile *const *)a)->quantile, y = (*(otlp_quantile *const *)b)->quantile;
    return (x > y) - (x < y);
}

/* Quantiles sorted (metricfamily.go sortPoints); a stale point keeps its quantiles with the
 * values unset (0) and has no count or sum (toSummaryPoint). */
static void finish_summary_point(struct group *g)
{
    otlp_summary_point *p = g->point;
    qsort(p->quantile_values, p->n_quantile_values, sizeof *p->quantile_values, compare_quantiles);
    if (!g->stale)
        return;
    p->flags = NO_RECORDED_VALUE;
    p->count = 0;
    p->sum = 0;
    for (size_t q = 0; q < p->n_quantile_values; q++)
        p->quantile_values[q]->value = 0;
}

/* Ends a histogram or summary family: groups without _count are dropped (metricfamily.go),
 * stale groups lose their values. */
static int finish_groups(struct family_groups *groups)
{
    for (size_t i = 0; i < groups->count; i++) {
        struct group *g = &groups->items[i];
        if (!g->has_count) {
            remove_point(g->metric, g->point);
            continue;
        }
        if (g->metric->data_case == METRIC_DATA(HISTOGRAM)) {
            if (finish_histogram_point(g) < 0)
                return -ENOMEM;
        } else {
            finish_summary_point(g);
        }
    }
    return 0;
}

static size_t metric_point_count(const otlp_metric *m)
{
    switch (m->data_case) {
    case METRIC_DATA(GAUGE): return m->gauge->n_data_points;
    case METRIC_DATA(SUM): return m->sum->n_data_points;
    case METRIC_DATA(HISTOGRAM): return m->histogram->n_data_points;
    case METRIC_DATA(SUMMARY): return m->summary->n_data_points;
    default: return 0;
    }
}

/* A metric whose every group was dropped is not sent, nor a Resource without metrics. */
static void remove_empty_metrics(otlp_metrics_req *req)
{
    for (size_t r = 0; r < req->n_resource_metrics; r++) {
        otlp_resource_metrics *rm = req->resource_metrics[r];
        for (size_t s = 0; s < rm->n_scope_metrics; s++) {
            otlp_scope_metrics *sm = rm->scope_metrics[s];
            size_t kept = 0;
            for (size_t i = 0; i < sm->n_metrics; i++) {
                if (metric_point_count(sm->metrics[i]) == 0)
                    message_free(sm->metrics[i]);
                else
                    sm->metrics[kept++] = sm->metrics[i];
            }
            sm->n_metrics = kept;
        }
    }
    /* transaction.go getMetrics: a Resource without any metric (target_info alone) is not sent. */
    size_t kept = 0;
    for (size_t r = 0; r < req->n_resource_metrics; r++) {
        otlp_resource_metrics *rm = req->resource_metrics[r];
        size_t metrics = 0;
        for (size_t s = 0; s < rm->n_scope_metrics; s++)
            metrics += rm->scope_metrics[s]->n_metrics;
        if (metrics == 0)
            message_free(rm);
        else
            req->resource_metrics[kept++] = rm;
    }
    req->n_resource_metrics = kept;
}

/* target_info's labels (but job, instance and __name__) go on the Resource (transaction.go). */
static int add_target_info(otlp_resource_metrics *rm, const struct expfmt_sample *sample)
{
    otlp_resource *r = rm->resource;
    for (size_t i = 0; i < sample->label_count; i++) {
        const struct expfmt_label *label = &sample->labels[i];
        if (strcmp(label->name, "job") == 0 || strcmp(label->name, "instance") == 0 ||
            strcmp(label->name, "__name__") == 0)
            continue;
        if (pdata_attr_upsert_string(&r->attributes, &r->n_attributes, label->name, label->value) <
            0)
            return -ENOMEM;
    }
    return 0;
}

/* A counter's _created sample: the start time of the counter point with the same labels. */
static void apply_counter_created(otlp_scope_metrics *sm, const struct expfmt_family *family,
                                  const struct expfmt_sample *sample)
{
    for (size_t i = 0; i < sm->n_metrics; i++) {
        otlp_metric *m = sm->metrics[i];
        if (m->data_case != METRIC_DATA(SUM) ||
            strncmp(m->name, family->name, strlen(family->name)))
            continue;
        otlp_number_point *p = find_point(m, sample, family->type);
        if (p)
            p->start_time_unix_nano = created_ns(sample->value);
    }
}

static int convert_family(otlp_metrics_req *req, const struct expfmt_family *family,
                          const struct prom_target *target, uint64_t scrape_time_ns)
{
    if (family->type == EXPFMT_GAUGEHISTOGRAM)
        return 0; /* util.go convToMetricType: no OTLP type, dropped */
    struct family_groups groups = {0};
    bool grouped = family->type == EXPFMT_HISTOGRAM || family->type == EXPFMT_SUMMARY;
    int rc = 0;
    /* Two passes for counters: points first, then the _created samples that name their start. */
    for (int pass = 0; pass < (family->type == EXPFMT_COUNTER ? 2 : 1) && rc == 0; pass++) {
        for (size_t i = 0; i < family->sample_count && rc == 0; i++) {
            const struct expfmt_sample *sample = &family->samples[i];
            /* transaction.go getJobAndInstance: a missing or empty label takes the target's. */
            const char *job = label_value(sample, "job");
            const char *instance = label_value(sample, "instance");
            otlp_resource_metrics *rm =
                resource_for(req, job && job[0] ? job : target->job,
                             instance && instance[0] ? instance : target->instance, target->scheme);
            if (!rm) {
                rc = -ENOMEM;
                break;
            }
            if (strcmp(sample->name, "target_info") == 0) {
                rc = add_target_info(rm, sample);
                continue;
            }
            otlp_scope_metrics *sm = scope_for_sample(rm, sample);
            if (!sm) {
                rc = -ENOMEM;
                break;
            }
            if (grouped) {
                rc = add_grouped_sample(&groups, sm, family, sample, scrape_time_ns);
                continue;
            }
            bool created = family->type == EXPFMT_COUNTER &&
                           has_suffix(sample->name, family->name, "_created");
            if (created != (pass == 1))
                continue;
            if (created) {
                apply_counter_created(sm, family, sample);
                continue;
            }
            /* metadata.go metadataForMetric: the name is the sample's (a counter keeps _total),
             * except for info, whose _info suffix is trimmed back to the family name. */
            otlp_metric *m =
                metric_for(sm, family->type == EXPFMT_INFO ? family->name : sample->name, family);
            rc = m ? add_number_point(m, sample, family->type, scrape_time_ns) : -ENOMEM;
        }
    }
    if (rc == 0 && grouped)
        rc = finish_groups(&groups);
    family_groups_clear(&groups);
    return rc;
}

int prom_to_otlp_convert(const struct expfmt_body *body, const struct prom_target *target,
                         uint64_t scrape_time_ns, struct payload **out, struct error *err)
{
    *out = NULL;
    struct payload *p = payload_new(SIGNAL_METRICS);
    if (!p)
        goto fail;
    for (size_t i = 0; i < body->family_count; i++)
        if (convert_family(p->metrics, &body->families[i], target, scrape_time_ns) < 0)
            goto fail;
    remove_empty_metrics(p->metrics);
    *out = p;
    return 0;
fail:
    payload_free(p);
    return error_set(err, -ENOMEM, ERROR_PERMANENT,
                     "prometheus: out of memory converting a scrape");
}

/* ---- synthetic scrape metrics ---- */

static int append_scrape_gauge(otlp_scope_metrics *sm, const char *name, const char *description,
                               const char *unit, double value, uint64_t time_ns)
{
    /* The descriptions are the receiver's own (internal/metadata.go), not Prometheus'. */
    struct expfmt_family family = {.type = EXPFMT_GAUGE, .help = (char *)description};
    otlp_metric *m = metric_new(sm, name, &family, "gauge");
    if (!m || (unit && set_string(&m->unit, unit) < 0))
        return -ENOMEM;
    otlp_number_point *p =
        message_new(&opentelemetry__proto__metrics__v1__number_data_point__descriptor);
    if (!p)
        return -ENOMEM;
    if (APPEND(m->gauge->data_points, m->gauge->n_data_points, p) < 0) {
        message_free(p);
        return -ENOMEM;
    }
    p->time_unix_nano = time_ns;
    p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    p->as_double = value;
    return 0;
}

int prom_to_otlp_append_scrape_report(struct payload *payload, const struct prom_target *target,
                                      uint64_t scrape_time_ns,
                                      const struct prom_scrape_report *report, struct error *err)
{
    /* prometheus scrape.go:report appends these with the target's labels and the scrape time. */
    uint64_t time_ns = scrape_time_ns / NS_PER_MS * NS_PER_MS;
    otlp_resource_metrics *rm =
        resource_for(payload->metrics, target->job, target->instance, target->scheme);
    otlp_scope_metrics *sm =
        rm ? scope_for(rm, PROM_TO_OTLP_SCOPE_NAME, PROM_TO_OTLP_COLLECTOR_VERSION, NULL) : NULL;
    if (!sm ||
        append_scrape_gauge(sm, "up", "The scraping was successful", NULL, report->up ? 1 : 0,
                            time_ns) < 0 ||
        append_scrape_gauge(sm, "scrape_duration_seconds", "Duration of the scrape", "s",
                            report->duration_seconds, time_ns) < 0 ||
        append_scrape_gauge(sm, "scrape_samples_scraped",
                            "The number of samples the target exposed", NULL,
                            report->samples_scraped, time_ns) < 0 ||
        append_scrape_gauge(sm, "scrape_samples_post_metric_relabeling",
                            "The number of samples remaining after metric relabeling was applied",
                            NULL, report->samples_post_metric_relabeling, time_ns) < 0 ||
        append_scrape_gauge(sm, "scrape_series_added",
                            "The approximate number of new series in this scrape", NULL,
                            report->series_added, time_ns) < 0)
        return error_set(err, -ENOMEM, ERROR_PERMANENT,
                         "prometheus: out of memory adding the scrape metrics");
    return 0;
}
