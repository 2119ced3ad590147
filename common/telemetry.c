/*
 * telemetry.c - the self-metrics registry of telemetry.h, rendered as Prometheus text format
 * 0.0.4 (HELP/TYPE lines, families sorted by name, series sorted by their canonical label set,
 * histograms as cumulative _bucket{le=...} + _sum + _count).
 *
 * Upstream: the collector's metrics are OTel-Go instruments exposed by the OTel-Go Prometheus
 * exporter through client_golang (service/telemetry/otelconftelemetry/factory.go). Two of its
 * observable habits are copied on purpose:
 *   - a series exists only once it has been recorded: an OTel counter that was created but never
 *     Add()ed is absent from /metrics, while an Add(0) makes it appear with value 0. Handles are
 *     therefore created at component create time (cheap updates later) but rendered only once
 *     touched by an add/set/observe. Callback gauges (telemetry_gauge_fn) are always rendered,
 *     as OTel observable instruments report on every collection.
 *   - label values are escaped as client_golang escapes them (\\, \", \n) and numbers are
 *     written in Go's shortest round-trip form ("0.005", "1e+06", "+Inf", "NaN").
 *
 * Deliberately not done: units and type suffixes in names (the caller gives the full name; the
 * service decides about `_total`), OpenMetrics negotiation, exemplars, removal of series.
 *
 * Concurrency: one mutex protects the family/series lists (registration and rendering); values
 * are atomics, so updates never take the lock. A gauge callback runs under the registry lock and
 * must not call back into the registry.
 */
#include "telemetry.h"
#include "strbuf.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hard limits: a bad caller gets NULL, never unbounded growth. */
#define RENDER_MAX_BYTES (64u * 1024 * 1024)
#define LABELS_MAX_BYTES 4096
#define LABELS_MAX_PAIRS 32
#define HISTOGRAM_MAX_BOUNDS 256

enum family_type { FAMILY_COUNTER, FAMILY_GAUGE, FAMILY_HISTOGRAM };

struct tm_counter {
    _Atomic uint64_t value;
    _Atomic bool touched;
};

struct tm_gauge {
    _Atomic uint64_t bits; /* the double's bit pattern, so that updates can be lock-free */
    _Atomic bool touched;
    double (*read)(void *ctx); /* callback gauge when non-NULL (always rendered) */
    void *read_ctx;
};

struct tm_histogram {
    double *bounds;
    size_t bound_count;
    _Atomic uint64_t *buckets; /* bound_count + 1 (the last is +Inf), not cumulative */
    _Atomic uint64_t sum_bits;
    _Atomic bool touched;
};

struct series {
    char *labels; /* canonical: sorted by name, `name="value"` joined with ',' ("" for none) */
    union {
        struct tm_counter counter;
        struct tm_gauge gauge;
        struct tm_histogram histogram;
    };
    struct series *next;
};

struct family {
    char *name;
    char *help;
    enum family_type type;
    struct series *series;
    size_t series_count;
    struct family *next;
};

struct telemetry {
    pthread_mutex_t lock;
    struct family *families;
    size_t family_count;
};

/* ---- small helpers ---- */

static uint64_t double_to_bits(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof(bits));
    return bits;
}

static double bits_to_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

static void atomic_add_double(_Atomic uint64_t *target, double delta)
{
    uint64_t old = atomic_load(target);
    uint64_t updated;
    do {
        updated = double_to_bits(bits_to_double(old) + delta);
    } while (!atomic_compare_exchange_weak(target, &old, updated));
}

static bool valid_metric_name(const char *name)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':';
        bool digit = *p >= '0' && *p <= '9';
        if (!alpha && !(digit && p != name))
            return false;
    }
    return true;
}

static bool valid_label_name(const char *name, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
        bool digit = ch >= '0' && ch <= '9';
        if (!alpha && !(digit && i > 0))
            return false;
    }
    return true;
}

/* Go's strconv.FormatFloat(v, 'g', -1, 64), as client_golang writes sample values and `le`: the
 * fewest significant digits that read back to the same double, in exponent form only when the
 * decimal exponent is < -4 or >= 6 (Go's fixed threshold for shortest 'g': "20000", "1e+06"). */
static void format_double(char *out, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(out, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, size, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char exp_form[64];
    int digits = 1;
    for (; digits <= 17; digits++) {
        snprintf(exp_form, sizeof(exp_form), "%.*e", digits - 1, v);
        if (strtod(exp_form, NULL) == v)
            break;
    }
    if (digits > 17)
        digits = 17;
    const char *e = strchr(exp_form, 'e');
    int exponent = e ? atoi(e + 1) : 0;
    if (exponent < -4 || exponent >= 6) {
        snprintf(out, size, "%s", exp_form); /* C, like Go, writes at least two exponent digits */
        return;
    }
    int decimals = digits - 1 - exponent;
    snprintf(out, size, "%.*f", decimals > 0 ? decimals : 0, v);
}

/* ---- label sets ---- */

struct label_pair {
    const char *name;
    size_t name_len;
    char value[LABELS_MAX_BYTES];
    size_t value_len;
};

static int compare_label_pairs(const void *a, const void *b)
{
    const struct label_pair *pa = a, *pb = b;
    size_t n = pa->name_len < pb->name_len ? pa->name_len : pb->name_len;
    int c = memcmp(pa->name, pb->name, n);
    if (c)
        return c;
    return pa->name_len < pb->name_len ? -1 : pa->name_len > pb->name_len;
}

static void skip_separators(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == ',')
        (*p)++;
}

/* Parses `a="x", b="y"` (the caller's text form) into the canonical form: pairs sorted by name,
 * no spaces, values re-escaped the way client_golang writes them. Caller owns *out. Returns 0,
 * -EINVAL (malformed or duplicate name) or -ENOMEM. */
static int canonical_labels(const char *text, char **out)
{
    *out = NULL;
    if (!text)
        text = "";
    if (strlen(text) >= LABELS_MAX_BYTES)
        return -EINVAL;
    struct label_pair *pairs = calloc(LABELS_MAX_PAIRS, sizeof(*pairs));
    if (!pairs)
        return -ENOMEM;
    int rc = -EINVAL;
    size_t count = 0;
    const char *p = text;
    skip_separators(&p);
    while (*p) {
        if (count == LABELS_MAX_PAIRS)
            goto fail;
        struct label_pair *pair = &pairs[count];
        pair->name = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        pair->name_len = (size_t)(p - pair->name);
        if (!valid_label_name(pair->name, pair->name_len))
            goto fail;
        while (*p == ' ')
            p++;
        if (*p++ != '=')
            goto fail;
        while (*p == ' ')
            p++;
        if (*p++ != '"')
            goto fail;
        /* Unescape into value; it is re-escaped below, so both `\"` and `\\` survive. */
        while (*p && *p != '"') {
            char ch = *p++;
            if (ch == '\\') {
                if (!*p)
                    goto fail;
                ch = *p++;
                if (ch == 'n')
                    ch = '\n';
            }
            pair->value[pair->value_len++] = ch;
        }
        if (*p++ != '"')
            goto fail;
        count++;
        skip_separators(&p);
    }
    qsort(pairs, count, sizeof(*pairs), compare_label_pairs);
    for (size_t i = 1; i < count; i++)
        if (compare_label_pairs(&pairs[i - 1], &pairs[i]) == 0)
            goto fail;
    struct strbuf b = STRBUF_INIT(2 * LABELS_MAX_BYTES + 16);
    for (size_t i = 0; i < count; i++) {
        if (i)
            strbuf_add(&b, ",", 1);
        strbuf_add(&b, pairs[i].name, pairs[i].name_len);
        strbuf_add(&b, "=\"", 2);
        for (size_t j = 0; j < pairs[i].value_len; j++) {
            char ch = pairs[i].value[j];
            if (ch == '\\')
                strbuf_add(&b, "\\\\", 2);
            else if (ch == '"')
                strbuf_add(&b, "\\\"", 2);
            else if (ch == '\n')
                strbuf_add(&b, "\\n", 2);
            else
                strbuf_add(&b, &ch, 1);
        }
        strbuf_add(&b, "\"", 1);
    }
    rc = strbuf_finish(&b, out, NULL);
fail:
    free(pairs);
    return rc;
}

/* ---- registry ---- */

struct telemetry *telemetry_new(void)
{
    struct telemetry *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

static void series_free(struct series *s, enum family_type type)
{
    if (type == FAMILY_HISTOGRAM) {
        free(s->histogram.bounds);
        free((void *)s->histogram.buckets);
    }
    free(s->labels);
    free(s);
}

void telemetry_free(struct telemetry *t)
{
    if (!t)
        return;
    struct family *f = t->families;
    while (f) {
        struct family *next_family = f->next;
        struct series *s = f->series;
        while (s) {
            struct series *next_series = s->next;
            series_free(s, f->type);
            s = next_series;
        }
        free(f->name);
        free(f->help);
        free(f);
        f = next_family;
    }
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* Finds or creates the family; NULL when the name is taken by another type or on ENOMEM.
 * Called with the lock held. */
static struct family *family_get(struct telemetry *t, const char *name, const char *help,
                                 enum family_type type)
{
    for (struct family *f = t->families; f; f = f->next) {
        if (!strcmp(f->name, name))
            return f->type == type ? f : NULL;
    }
    struct family *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (!f->name || !f->help) {
        free(f->name);
        free(f->help);
        free(f);
        return NULL;
    }
    f->type = type;
    f->next = t->families;
    t->families = f;
    t->family_count++;
    return f;
}

/* Finds the series with these canonical labels or creates a zeroed one (histogram storage is
 * filled by the caller). Takes ownership of `labels` in every case. Lock held. */
static struct series *series_get(struct family *f, char *labels, bool *created)
{
    *created = false;
    for (struct series *s = f->series; s; s = s->next) {
        if (!strcmp(s->labels, labels)) {
            free(labels);
            return s;
        }
    }
    struct series *s = calloc(1, sizeof(*s));
    if (!s) {
        free(labels);
        return NULL;
    }
    s->labels = labels;
    *created = true;
    return s;
}

static void series_link(struct family *f, struct series *s)
{
    s->next = f->series;
    f->series = s;
    f->series_count++;
}

/* The common part of every registration: validate, canonicalize, find or create. On success
 * the lock is held and *series_out is set; on failure the lock is released and NULL returned. */
static struct family *register_begin(struct telemetry *t, const char *name, const char *help,
                                     const char *labels, enum family_type type,
                                     struct series **series_out, bool *created)
{
    *series_out = NULL;
    if (!t || !valid_metric_name(name))
        return NULL;
    char *canonical = NULL;
    if (canonical_labels(labels, &canonical) < 0)
        return NULL;
    pthread_mutex_lock(&t->lock);
    struct family *f = family_get(t, name, help, type);
    if (!f) {
        free(canonical);
        pthread_mutex_unlock(&t->lock);
        return NULL;
    }
    *series_out = series_get(f, canonical, created);
    if (!*series_out) {
        pthread_mutex_unlock(&t->lock);
        return NULL;
    }
    return f;
}

struct tm_counter *telemetry_counter(struct telemetry *t, const char *name, const char *help,
                                     const char *labels)
{
    struct series *s;
    bool created;
    struct family *f = register_begin(t, name, help, labels, FAMILY_COUNTER, &s, &created);
    if (!f)
        return NULL;
    if (created)
        series_link(f, s);
    pthread_mutex_unlock(&t->lock);
    return &s->counter;
}

void tm_counter_add(struct tm_counter *c, uint64_t delta)
{
    if (!c)
        return;
    atomic_fetch_add(&c->value, delta);
    atomic_store(&c->touched, true);
}

uint64_t tm_counter_value(const struct tm_counter *c)
{
    return c ? atomic_load(&((struct tm_counter *)c)->value) : 0;
}

struct tm_gauge *telemetry_gauge(struct telemetry *t, const char *name, const char *help,
                                 const char *labels)
{
    struct series *s;
    bool created;
    struct family *f = register_begin(t, name, help, labels, FAMILY_GAUGE, &s, &created);
    if (!f)
        return NULL;
    if (created)
        series_link(f, s);
    pthread_mutex_unlock(&t->lock);
    return &s->gauge;
}

void tm_gauge_set(struct tm_gauge *g, double value)
{
    if (!g)
        return;
    atomic_store(&g->bits, double_to_bits(value));
    atomic_store(&g->touched, true);
}

void tm_gauge_add(struct tm_gauge *g, double delta)
{
    if (!g)
        return;
    atomic_add_double(&g->bits, delta);
    atomic_store(&g->touched, true);
}

int telemetry_gauge_fn(struct telemetry *t, const char *name, const char *help, const char *labels,
                       double (*read)(void *ctx), void *ctx)
{
    if (!read)
        return -EINVAL;
    struct series *s;
    bool created;
    struct family *f = register_begin(t, name, help, labels, FAMILY_GAUGE, &s, &created);
    if (!f)
        return -EINVAL;
    /* Registering the same series again replaces the callback (a component re-created). */
    s->gauge.read = read;
    s->gauge.read_ctx = ctx;
    if (created)
        series_link(f, s);
    pthread_mutex_unlock(&t->lock);
    return 0;
}

struct tm_histogram *telemetry_histogram(struct telemetry *t, const char *name, const char *help,
                                         const char *labels, const double *bounds,
                                         size_t bound_count)
{
    if (bound_count > HISTOGRAM_MAX_BOUNDS || (bound_count && !bounds))
        return NULL;
    for (size_t i = 1; i < bound_count; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return NULL;
    struct series *s;
    bool created;
    struct family *f = register_begin(t, name, help, labels, FAMILY_HISTOGRAM, &s, &created);
    if (!f)
        return NULL;
    struct tm_histogram *result = &s->histogram;
    if (created) {
        struct tm_histogram *h = &s->histogram;
        h->bounds = calloc(bound_count ? bound_count : 1, sizeof(double));
        h->buckets = calloc(bound_count + 1, sizeof(*h->buckets));
        if (!h->bounds || !h->buckets) {
            series_free(s, FAMILY_HISTOGRAM);
            result = NULL;
            goto out;
        }
        if (bound_count)
            memcpy(h->bounds, bounds, bound_count * sizeof(double));
        h->bound_count = bound_count;
        series_link(f, s);
    }
out:
    pthread_mutex_unlock(&t->lock);
    return result;
}

void tm_histogram_observe(struct tm_histogram *h, double value)
{
    if (!h)
        return;
    size_t i = 0;
    /* Prometheus buckets are `le`: a value equal to a bound belongs to that bound's bucket. */
    while (i < h->bound_count && value > h->bounds[i])
        i++;
    atomic_fetch_add(&h->buckets[i], 1);
    atomic_add_double(&h->sum_bits, value);
    atomic_store(&h->touched, true);
}

/* ---- rendering ---- */

static int compare_families(const void *a, const void *b)
{
    const struct family *fa = *(const struct family *const *)a;
    const struct family *fb = *(const struct family *const *)b;
    return strcmp(fa->name, fb->name);
}

static int compare_series(const void *a, const void *b)
{
    const struct series *sa = *(const struct series *const *)a;
    const struct series *sb = *(const struct series *const *)b;
    return strcmp(sa->labels, sb->labels);
}

static bool series_visible(const struct family *f, const struct series *s)
{
    switch (f->type) {
    case FAMILY_COUNTER: return atomic_load(&((struct series *)s)->counter.touched);
    case FAMILY_GAUGE: return s->gauge.read || atomic_load(&((struct series *)s)->gauge.touched);
    case FAMILY_HISTOGRAM: return atomic_load(&((struct series *)s)->histogram.touched);
    }
    return false;
}

/* `name{labels}` or `name{labels,extra}`; the braces are left out when there are no labels. */
static void render_sample_name(struct strbuf *b, const char *name, const char *suffix,
                               const char *labels, const char *extra)
{
    strbuf_puts(b, name);
    strbuf_puts(b, suffix);
    bool has_labels = labels && *labels;
    bool has_extra = extra && *extra;
    if (!has_labels && !has_extra)
        return;
    strbuf_puts(b, "{");
    if (has_labels)
        strbuf_puts(b, labels);
    if (has_labels && has_extra)
        strbuf_puts(b, ",");
    if (has_extra)
        strbuf_puts(b, extra);
    strbuf_puts(b, "}");
}

static void render_help(struct strbuf *b, const struct family *f)
{
    strbuf_printf(b, "# HELP %s ", f->name);
    for (const char *p = f->help; *p; p++) {
        if (*p == '\\')
            strbuf_puts(b, "\\\\");
        else if (*p == '\n')
            strbuf_puts(b, "\\n");
        else
            strbuf_add(b, p, 1);
    }
    strbuf_puts(b, "\n");
}

static void render_series(struct strbuf *b, const struct family *f, struct series *s)
{
    char number[64];
    switch (f->type) {
    case FAMILY_COUNTER:
        render_sample_name(b, f->name, "", s->labels, NULL);
        strbuf_printf(b, " %llu\n", (unsigned long long)atomic_load(&s->counter.value));
        break;
    case FAMILY_GAUGE: {
        double v = s->gauge.read ? s->gauge.read(s->gauge.read_ctx)
                                 : bits_to_double(atomic_load(&s->gauge.bits));
        format_double(number, sizeof(number), v);
        render_sample_name(b, f->name, "", s->labels, NULL);
        strbuf_printf(b, " %s\n", number);
        break;
    }
    case FAMILY_HISTOGRAM: {
        struct tm_histogram *h = &s->histogram;
        uint64_t cumulative = 0;
        char le[96];
        for (size_t i = 0; i <= h->bound_count; i++) {
            cumulative += atomic_load(&h->buckets[i]);
            if (i < h->bound_count)
                format_double(number, sizeof(number), h->bounds[i]);
            else
                snprintf(number, sizeof(number), "+Inf");
            snprintf(le, sizeof(le), "le=\"%s\"", number);
            render_sample_name(b, f->name, "_bucket", s->labels, le);
            strbuf_printf(b, " %llu\n", (unsigned long long)cumulative);
        }
        format_double(number, sizeof(number), bits_to_double(atomic_load(&h->sum_bits)));
        render_sample_name(b, f->name, "_sum", s->labels, NULL);
        strbuf_printf(b, " %s\n", number);
        /* _count is the +Inf bucket, so the two always agree even while observations race. */
        render_sample_name(b, f->name, "_count", s->labels, NULL);
        strbuf_printf(b, " %llu\n", (unsigned long long)cumulative);
        break;
    }
    }
}

static const char *family_type_name(enum family_type type)
{
    switch (type) {
    case FAMILY_COUNTER: return "counter";
    case FAMILY_GAUGE: return "gauge";
    case FAMILY_HISTOGRAM: return "histogram";
    }
    return "untyped";
}

char *telemetry_render(struct telemetry *t, size_t *len)
{
    if (!t)
        return NULL;
    struct strbuf b = STRBUF_INIT(RENDER_MAX_BYTES);
    struct family **families = NULL;
    struct series **series = NULL;
    char *result = NULL;
    pthread_mutex_lock(&t->lock);
    families = calloc(t->family_count ? t->family_count : 1, sizeof(*families));
    if (!families)
        goto fail;
    size_t nf = 0;
    for (struct family *f = t->families; f; f = f->next)
        families[nf++] = f;
    qsort(families, nf, sizeof(*families), compare_families);
    for (size_t i = 0; i < nf; i++) {
        struct family *f = families[i];
        free(series);
        series = calloc(f->series_count ? f->series_count : 1, sizeof(*series));
        if (!series)
            goto fail;
        size_t ns = 0;
        for (struct series *s = f->series; s; s = s->next)
            if (series_visible(f, s))
                series[ns++] = s;
        if (ns == 0)
            continue; /* as client_golang, a family without samples is not written at all */
        qsort(series, ns, sizeof(*series), compare_series);
        render_help(&b, f);
        strbuf_printf(&b, "# TYPE %s %s\n", f->name, family_type_name(f->type));
        for (size_t j = 0; j < ns; j++)
            render_series(&b, f, series[j]);
    }
    /* an empty registry renders as "" rather than NULL */
    if (strbuf_finish(&b, &result, len) < 0)
        result = NULL;
fail:
    pthread_mutex_unlock(&t->lock);
    free(series);
    free(families);
    strbuf_release(&b);
    return result;
}
