/*
 * prometheus.c - the fake Prometheus 3 OTLP receiver: HTTP answers, OTLP-to-series conversion,
 * a small in-memory TSDB with Prometheus's append rules, and the views the goldens hold.
 *
 * Mirrors prom@v3.9.1 (checked against the files named in shared/facts/pipeline.md §7):
 *   web/api/v1/api.go, storage/remote/write_handler.go   routes, DecodeOTLPWriteRequest (content
 *        type and encoding checks and their texts), otlpWriteHandler.ServeHTTP (400 for the
 *        storage sentinels, 500 otherwise, http.Error's text/plain with a trailing newline),
 *        rwExporter.ConsumeMetrics (rollback on any error; commit errors are not reported),
 *        remoteWriteAppender (samples more than maxAheadTime = 10 min ahead are out of bounds)
 *   storage/remote/otlptranslator/prometheusremotewrite/metrics_to_prw.go (FromMetrics: the
 *        per-metric temporality, name and empty-data-point errors, all joined "; " as multierr
 *        does, and conversion going on past them), helper.go (createAttributes: sorted
 *        attributes, colliding names joined with ';', promotion that never overrides, job and
 *        instance; histogram and summary series; target_info), number_data_points.go,
 *        histograms.go (exponential histograms to native histograms), combined_appender.go
 *   tsdb/head.go, tsdb/head_append.go   (Head.Appender / initAppender: the head's time range is
 *        set by the first sample ever appended, even if that request is rolled back;
 *        appendableMinValidTime = head max time - chunk range / 2 = 1 h; memSeries.appendable
 *        with out-of-order window 0; at commit, samples of one request that are out of order or
 *        duplicates among themselves are dropped silently, not reported)
 *   storage/errors.go, storage/interface.go (the error texts)
 *   otlptranslator@v1.0.0 through prometheus_names.c.
 *
 * Deliberately simplified or left out (say so when a scenario depends on it):
 *   - Exponential histograms are stored as a native-histogram summary (count, sum, schema after
 *     the downscale to 8, zero count): buckets are not kept, and two histograms count as equal
 *     (for the duplicate rule) when those four match. Of Histogram.Validate only the count check
 *     is done. Whether 3.9.1 still needs a feature flag for native histograms is unconfirmed;
 *     the fake always accepts them.
 *   - No exemplars, no metadata WAL records, no start-time (created timestamp) zero samples, no
 *     delta feature flags, no UTF-8 translation strategies, no scope promotion, no external
 *     labels, no readiness (503) state, no head compaction or truncation (the head's lower bound
 *     only ever comes from its max time minus 1 h).
 *   - Hard limits a real Prometheus does not have (the fake must not grow without bound):
 *     see the MAX_* constants; passing one is a 500 with a text naming the fake's limit.
 *
 * Cost: the fake sits behind benchmarks, so a sample must be cheap to append: its labels are
 * borrowed until it makes a new series, series are found through a hash index, and accepted
 * requests are kept as their protobuf bytes (kept.h) until ?view=otlp asks for their JSON.
 */
#include "prometheus.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compress.h"
#include "error.h"
#include "kept.h"
#include "log.h"
#include "otlp_json.h"
#include "pdata.h"
#include "fake_util.h"
#include "prometheus_names.h"

#define COMPONENT "fake/prometheus"
#define OTLP_METRICS_PATH "/api/v1/otlp/v1/metrics"
#define TEXT_PLAIN "text/plain; charset=utf-8" /* what Go's http.Error sets */
#define CONTENT_TYPE_PROTOBUF "application/x-protobuf"
#define CONTENT_TYPE_JSON "application/json"

/* value.StaleNaN: the NaN bit pattern Prometheus uses as a staleness marker. */
#define STALE_NAN_BITS UINT64_C(0x7ff0000000000002)
/* storage/remote: samples further ahead of the wall clock are out of bounds. */
#define MAX_AHEAD_TIME_MS (INT64_C(10) * 60 * 1000)
/* tsdb.DefaultBlockDuration; appends older than head max time - half of it are out of bounds. */
#define HEAD_CHUNK_RANGE_MS (INT64_C(2) * 60 * 60 * 1000)
/* target_info is repeated every lookback delta / 2 = 2.5 min (default lookback 5 min). */
#define TARGET_INFO_INTERVAL_NS (INT64_C(150) * 1000 * 1000 * 1000)
/* Prometheus's native histogram schema range; OTLP scales above are downscaled. */
#define NATIVE_HISTOGRAM_SCHEMA_MIN (-4)
#define NATIVE_HISTOGRAM_SCHEMA_MAX 8
#define NO_RECORDED_VALUE_FLAG 1u

/* The fake's own bounds (Prometheus has none of these). */
#define MAX_DECOMPRESSED_BODY ((size_t)256 << 20)
#define MAX_SERIES ((size_t)1000000)
#define MAX_SAMPLES ((size_t)20000000)
#define MAX_SAMPLES_PER_REQUEST ((size_t)2000000)
#define MAX_TARGET_INFO_SAMPLES_PER_RESOURCE ((size_t)10000)
#define MAX_ERROR_TEXT ((size_t)64 * 1024)
#define MAX_OTLP_REQUESTS_KEPT ((size_t)100000)

/* Result codes inside this file: -ERANGE marks a storage error (out of order, out of bounds,
 * duplicate: HTTP 400), -EINVAL a conversion error (HTTP 500), -E2BIG/-ENOSPC a fake limit
 * (500), -ENOMEM running out of memory (500). */
#define STORAGE_ERROR (-ERANGE)

/* ---- label sets (model/labels, kept sorted by name) ---- */

/* An owned label is one allocation, "name\0value\0", that `name` points to; a borrowed one
 * (a set with `borrowed`) points to strings that outlive the set. A sample's labels are its
 * point's labels plus one or two more, and its series nearly always exists already: borrowing
 * them means a sample costs no copy until it makes a new series. */
struct label {
    const char *name, *value;
};

struct label_set {
    struct label *items;
    size_t count, cap;
    bool borrowed;
};

static void label_free(struct label *l, bool borrowed)
{
    if (!borrowed)
        free((char *)l->name); /* the value is inside the same block */
}

/* An owned copy of name=value; name NULL on ENOMEM. */
static struct label label_dup(const char *name, const char *value)
{
    size_t name_len = strlen(name), value_len = strlen(value);
    char *block = malloc(name_len + value_len + 2);
    if (!block)
        return (struct label){NULL, NULL};
    memcpy(block, name, name_len + 1);
    memcpy(block + name_len + 1, value, value_len + 1);
    return (struct label){block, block + name_len + 1};
}

static void label_set_free(struct label_set *ls)
{
    for (size_t i = 0; i < ls->count; i++)
        label_free(&ls->items[i], ls->borrowed);
    free(ls->items);
    *ls = (struct label_set){.borrowed = ls->borrowed};
}

static int label_set_reserve(struct label_set *ls, size_t want)
{
    if (want <= ls->cap)
        return 0;
    size_t cap = ls->cap ? ls->cap : 8;
    while (cap < want)
        cap *= 2;
    struct label *grown = realloc(ls->items, cap * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    ls->items = grown;
    ls->cap = cap;
    return 0;
}

/* Index of `name`, or -1 with *insert_at set to where it would go. */
static long label_set_index(const struct label_set *ls, const char *name, size_t *insert_at)
{
    size_t lo = 0, hi = ls->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(ls->items[mid].name, name);
        if (cmp == 0)
            return (long)mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (insert_at)
        *insert_at = lo;
    return -1;
}

/* labels.Builder.Get: the value, or "" when the label is absent. Borrowed. */
static const char *label_set_get(const struct label_set *ls, const char *name)
{
    long i = label_set_index(ls, name, NULL);
    return i < 0 ? "" : ls->items[i].value;
}

/* labels.Builder.Set, including its quirk that setting "" deletes the label (so an empty
 * attribute value, or an empty service.name, leaves no label). Copies both strings, unless the
 * set is borrowed (then they must outlive it). Returns 0 or -ENOMEM (then the set is
 * unchanged). */
static int label_set_set(struct label_set *ls, const char *name, const char *value)
{
    size_t at = 0;
    long i = label_set_index(ls, name, &at);
    if (!value[0]) {
        if (i >= 0) {
            label_free(&ls->items[i], ls->borrowed);
            memmove(&ls->items[i], &ls->items[i + 1],
                    (ls->count - (size_t)i - 1) * sizeof(ls->items[0]));
            ls->count--;
        }
        return 0;
    }
    struct label l = ls->borrowed ? (struct label){name, value} : label_dup(name, value);
    if (!l.name)
        return -ENOMEM;
    if (i >= 0) {
        label_free(&ls->items[i], ls->borrowed);
        ls->items[i] = l;
        return 0;
    }
    if (label_set_reserve(ls, ls->count + 1) < 0) {
        label_free(&l, ls->borrowed);
        return -ENOMEM;
    }
    memmove(&ls->items[at + 1], &ls->items[at], (ls->count - at) * sizeof(ls->items[0]));
    ls->items[at] = l;
    ls->count++;
    return 0;
}

/* An owned copy of `src` into `dst` (empty on entry). Returns 0 or -ENOMEM. */
static int label_set_copy(struct label_set *dst, const struct label_set *src)
{
    *dst = (struct label_set){0};
    if (!src->count)
        return 0;
    dst->items = calloc(src->count, sizeof(*dst->items));
    if (!dst->items)
        return -ENOMEM;
    dst->cap = src->count;
    for (size_t i = 0; i < src->count; i++) {
        dst->items[i] = label_dup(src->items[i].name, src->items[i].value);
        if (!dst->items[i].name) {
            label_set_free(dst);
            return -ENOMEM;
        }
        dst->count++;
    }
    return 0;
}

/* Makes the borrowed set `dst` show the labels of `src` (keeping room for `extra` more), reusing
 * its items array. Returns 0 or -ENOMEM. */
static int label_set_borrow(struct label_set *dst, const struct label_set *src, size_t extra)
{
    dst->count = 0;
    if (label_set_reserve(dst, src->count + extra) < 0)
        return -ENOMEM;
    if (src->count)
        memcpy(dst->items, src->items, src->count * sizeof(*src->items));
    dst->count = src->count;
    return 0;
}

/* labels.Compare: label by label, name then value; a prefix sorts first. */
static int label_set_compare(const struct label_set *a, const struct label_set *b)
{
    size_t n = a->count < b->count ? a->count : b->count;
    for (size_t i = 0; i < n; i++) {
        int cmp = strcmp(a->items[i].name, b->items[i].name);
        if (cmp)
            return cmp;
        cmp = strcmp(a->items[i].value, b->items[i].value);
        if (cmp)
            return cmp;
    }
    return a->count < b->count ? -1 : a->count > b->count;
}

/* ---- samples and the store ---- */

enum sample_kind { SAMPLE_FLOAT, SAMPLE_HISTOGRAM };

/* What the fake keeps of a native histogram (see the file comment). */
struct histogram_summary {
    uint64_t count, zero_count;
    double sum;
    int32_t schema;
};

/* Every stored sample is one of these, so `kind` says which member is meant. */
struct sample {
    int64_t timestamp_ms;
    enum sample_kind kind;
    union {
        double value;                       /* SAMPLE_FLOAT */
        struct histogram_summary histogram; /* SAMPLE_HISTOGRAM */
    };
};

struct series {
    struct label_set labels;
    uint64_t hash;          /* label_set_hash(&labels) */
    struct sample *samples; /* in timestamp order */
    size_t sample_count, sample_cap;
    size_t commit_reserve; /* samples the running commit will add at most */
};

struct metadata {
    char *family;
    const char *type; /* static: "counter", "gauge", ... */
    char *help, *unit;
};

struct prometheus {
    pthread_mutex_t lock;
    bool otlp_enabled;
    char **promote_resource_attributes; /* NULL-terminated, owned */

    struct series **series; /* sorted by label set */
    size_t series_count, series_cap;
    /* The same series by label hash (open addressing, a power of two, NULL = free): a sample
     * finds its series with one hash and one compare, not a binary search of compares. */
    struct series **index;
    size_t index_cap;
    size_t sample_total;
    struct metadata *metadata; /* sorted by family */
    size_t metadata_count, metadata_cap;
    /* The head's time range: unset until the first sample reaches it. */
    bool head_initialised;
    int64_t head_max_time_ms;

    /* Accepted requests as they came, for ?view=otlp (built when asked, kept). */
    struct kept_list accepted;
    bool otlp_log_full_warned;
};

static bool is_stale_marker(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits == STALE_NAN_BITS;
}

static double stale_marker(void)
{
    uint64_t bits = STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

static void series_free(struct series *s)
{
    if (!s)
        return;
    label_set_free(&s->labels);
    free(s->samples);
    free(s);
}

static void metadata_clear(struct metadata *m)
{
    free(m->family);
    free(m->help);
    free(m->unit);
    *m = (struct metadata){0};
}

/* Mixes a string into a hash eight bytes at a time (its length too, so that "ab","c" and
 * "a","bc" differ): every sample hashes its labels, so this is on the hot path. */
static uint64_t hash_text(uint64_t h, const char *s)
{
    size_t len = strlen(s);
    for (; len >= 8; s += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * UINT64_C(0x9e3779b97f4a7c15);
        h ^= h >> 29;
    }
    uint64_t tail = (uint64_t)len << 56;
    memcpy(&tail, s, len); /* len < 8: the low bytes, the length in the top one */
    h = (h ^ tail) * UINT64_C(0x9e3779b97f4a7c15);
    return h ^ (h >> 29);
}

static uint64_t label_set_hash(const struct label_set *ls)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < ls->count; i++)
        h = hash_text(hash_text(h, ls->items[i].name), ls->items[i].value);
    return h;
}

static void index_put(struct series **index, size_t cap, struct series *s)
{
    size_t i = (size_t)s->hash & (cap - 1);
    while (index[i])
        i = (i + 1) & (cap - 1);
    index[i] = s;
}

/* The stored series with these labels (hash = label_set_hash(labels)), or NULL. */
static struct series *series_lookup(const struct prometheus *p, const struct label_set *labels,
                                    uint64_t hash)
{
    for (size_t i = p->index_cap ? (size_t)hash & (p->index_cap - 1) : 0; p->index_cap;
         i = (i + 1) & (p->index_cap - 1)) {
        struct series *s = p->index[i];
        if (!s)
            return NULL;
        if (s->hash == hash && label_set_compare(&s->labels, labels) == 0)
            return s;
    }
    return NULL;
}

/* Room in the index for `total` series at most half full, rebuilt when it grows. Returns 0 or
 * -ENOMEM (then the index is as it was). */
static int index_reserve(struct prometheus *p, size_t total)
{
    if (total <= p->index_cap / 2)
        return 0;
    size_t cap = p->index_cap ? p->index_cap : 64;
    while (total > cap / 2)
        cap *= 2;
    struct series **grown = calloc(cap, sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    for (size_t i = 0; i < p->series_count; i++)
        index_put(grown, cap, p->series[i]);
    free(p->index);
    p->index = grown;
    p->index_cap = cap;
    return 0;
}

/* Binary search in a sorted array of series. Returns the series or NULL with *insert_at set. */
static struct series *series_search(struct series *const *list, size_t count,
                                    const struct label_set *labels, size_t *insert_at)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = label_set_compare(&list[mid]->labels, labels);
        if (cmp == 0)
            return list[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (insert_at)
        *insert_at = lo;
    return NULL;
}

/* Makes room for `want` items in `items` (a malloc'd array of `item_size` items, or NULL).
 * Returns the array, maybe moved; on failure returns it unchanged and sets *failed. */
static void *reserve_items(void *items, size_t *cap, size_t want, size_t item_size, bool *failed)
{
    if (want <= *cap)
        return items;
    size_t grown_cap = *cap ? *cap : 16;
    while (grown_cap < want)
        grown_cap *= 2;
    void *grown = realloc(items, grown_cap * item_size);
    if (!grown) {
        *failed = true;
        return items;
    }
    *cap = grown_cap;
    return grown;
}

/* RESERVE(array, cap, want, failed): array = reserve_items(array, ...), typed. */
#define RESERVE(array, cap, want, failed)                                                          \
    ((array) = reserve_items((array), &(cap), (want), sizeof(*(array)), (failed)))

/* ---- one request: conversion into pending samples, then commit or rollback ---- */

struct pending_sample {
    struct series *series;   /* the stored series, or NULL when the series is new */
    struct label_set labels; /* owned; the commit moves it into a new series */
    struct sample sample;
    bool target_info;
};

/* The appender of one request (headAppender + the converter's error list). */
struct transaction {
    struct prometheus *p;
    int64_t max_time_ms; /* now + maxAheadTime */
    bool min_valid_known;
    int64_t min_valid_time_ms;

    struct pending_sample *pending;
    size_t pending_count, pending_cap;
    struct metadata *metadata;
    size_t metadata_count, metadata_cap;

    char *errors; /* every error, joined with "; " as multierr.Error() does */
    size_t errors_len;
    bool storage_error; /* one of them is out of order / out of bounds / duplicate */

    struct label_set scratch; /* borrowed: a sample's labels on their way to the appender */
};

static void transaction_free(struct transaction *tx)
{
    for (size_t i = 0; i < tx->pending_count; i++)
        label_set_free(&tx->pending[i].labels);
    free(tx->pending);
    label_set_free(&tx->scratch);
    for (size_t i = 0; i < tx->metadata_count; i++)
        metadata_clear(&tx->metadata[i]);
    free(tx->metadata);
    free(tx->errors);
    *tx = (struct transaction){0};
}

/* Adds a conversion or storage error to the request's list. Returns 0 or -ENOMEM. */
static int transaction_add_error(struct transaction *tx, const struct error *err)
{
    if (err->code == STORAGE_ERROR)
        tx->storage_error = true;
    size_t len = strlen(err->message);
    size_t sep = tx->errors_len ? 2 : 0;
    if (tx->errors_len + sep + len + 1 > MAX_ERROR_TEXT)
        return 0; /* the fake's bound on the text; the status is already decided */
    char *grown = realloc(tx->errors, tx->errors_len + sep + len + 1);
    if (!grown)
        return -ENOMEM;
    tx->errors = grown;
    if (sep)
        memcpy(tx->errors + tx->errors_len, "; ", 2);
    memcpy(tx->errors + tx->errors_len + sep, err->message, len + 1);
    tx->errors_len += sep + len;
    return 0;
}

static int transaction_add_metadata(struct transaction *tx, const char *family, const char *type,
                                    const char *help, const char *unit)
{
    bool failed = false;
    RESERVE(tx->metadata, tx->metadata_cap, tx->metadata_count + 1, &failed);
    if (failed)
        return -ENOMEM;
    struct metadata m = {strdup(family), type, strdup(help ? help : ""), strdup(unit ? unit : "")};
    if (!m.family || !m.help || !m.unit) {
        metadata_clear(&m);
        return -ENOMEM;
    }
    tx->metadata[tx->metadata_count++] = m;
    return 0;
}

static int duplicate_float_error(struct error *err, int64_t t, const struct sample *existing,
                                 double new_value)
{
    char new_text[PROMETHEUS_FLOAT_TEXT_MAX], existing_text[PROMETHEUS_FLOAT_TEXT_MAX];
    /* errDuplicateSampleForTimestamp.Error() leaves out the details when t is 0, on purpose. */
    if (t == 0)
        return error_set(err, STORAGE_ERROR, ERROR_PERMANENT, "duplicate sample for timestamp");
    prometheus_format_float(new_value, 'g', new_text);
    if (existing->kind == SAMPLE_HISTOGRAM)
        return error_set(err, STORAGE_ERROR, ERROR_PERMANENT,
                         "duplicate sample for timestamp %" PRId64
                         "; overrides not allowed: existing is a histogram, new value %s",
                         t, new_text);
    prometheus_format_float(existing->value, 'g', existing_text);
    return error_set(err, STORAGE_ERROR, ERROR_PERMANENT,
                     "duplicate sample for timestamp %" PRId64
                     "; overrides not allowed: existing %s, new value %s",
                     t, existing_text, new_text);
}

static bool histograms_equal(const struct sample *a, const struct sample *b)
{
    return a->kind == SAMPLE_HISTOGRAM && b->kind == SAMPLE_HISTOGRAM &&
           a->histogram.count == b->histogram.count &&
           a->histogram.zero_count == b->histogram.zero_count &&
           a->histogram.schema == b->histogram.schema &&
           same_bits(a->histogram.sum, b->histogram.sum);
}

/* memSeries.appendable for an in-order sample (t >= min valid time, OOO window 0), against what
 * is committed. Returns 0 (append, or an identical duplicate that is silently accepted) or
 * STORAGE_ERROR with upstream's text. */
static int check_appendable(const struct series *s, const struct sample *sample, struct error *err)
{
    if (!s || !s->sample_count)
        return 0; /* a fresh series takes anything */
    const struct sample *last = &s->samples[s->sample_count - 1];
    int64_t t = sample->timestamp_ms;
    if (t > last->timestamp_ms)
        return 0;
    if (t < last->timestamp_ms)
        return error_set(err, STORAGE_ERROR, ERROR_PERMANENT, "out of order sample");
    if (sample->kind == SAMPLE_HISTOGRAM) {
        if (!histograms_equal(last, sample))
            return error_set(err, STORAGE_ERROR, ERROR_PERMANENT, "duplicate sample for timestamp");
        return 0;
    }
    if (last->kind == SAMPLE_HISTOGRAM || !same_bits(last->value, sample->value))
        return duplicate_float_error(err, t, last, sample->value);
    return 0;
}

/* histogram.Histogram.Validate, the count rule only. */
static int validate_histogram(const struct histogram_summary *h, uint64_t observations,
                              struct error *err)
{
    if (isnan(h->sum)) {
        if (observations > h->count)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "%" PRIu64 " observations found in buckets, but the Count field is "
                             "%" PRIu64 ": histogram's observation count should be at least the "
                             "number of observations found in the buckets",
                             observations, h->count);
    } else if (observations != h->count) {
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "%" PRIu64 " observations found in buckets, but the Count field is "
                         "%" PRIu64 ": histogram's observation count should equal the number "
                         "of observations found in the buckets (in absence of NaN)",
                         observations, h->count);
    }
    return 0;
}

/* Appender.Append for one sample (remoteWriteAppender, then headAppender): checks it against
 * the committed state and queues it. `labels` stays the caller's (copied only for a series that
 * does not exist yet). `observations` is the bucket total of a histogram (ignored otherwise).
 * Returns 0, STORAGE_ERROR, -EINVAL, -E2BIG or -ENOMEM (message in err). */
static int transaction_append(struct transaction *tx, const struct label_set *labels,
                              struct sample *sample, uint64_t observations, bool target_info,
                              struct error *err)
{
    struct prometheus *p = tx->p;
    int64_t t = sample->timestamp_ms;
    if (t > tx->max_time_ms)
        return error_set(err, STORAGE_ERROR, ERROR_PERMANENT,
                         "out of bounds: timestamp is too far in the future");
    if (!tx->min_valid_known) {
        /* initAppender: an empty head takes its time range from the first sample, and keeps
         * it even when this request is rolled back. */
        if (!p->head_initialised) {
            p->head_initialised = true;
            p->head_max_time_ms = t;
        }
        int64_t head_max = p->head_max_time_ms;
        tx->min_valid_time_ms = head_max < INT64_MIN + HEAD_CHUNK_RANGE_MS / 2
                                    ? INT64_MIN
                                    : head_max - HEAD_CHUNK_RANGE_MS / 2;
        tx->min_valid_known = true;
    }
    if (t < tx->min_valid_time_ms)
        return error_set(err, STORAGE_ERROR, ERROR_PERMANENT, "out of bounds");

    struct series *s = series_lookup(p, labels, label_set_hash(labels));
    /* A staleness marker for a series that holds histograms is a histogram marker. */
    if (sample->kind == SAMPLE_FLOAT && is_stale_marker(sample->value) && s && s->sample_count &&
        s->samples[s->sample_count - 1].kind == SAMPLE_HISTOGRAM) {
        sample->kind = SAMPLE_HISTOGRAM;
        sample->histogram = (struct histogram_summary){.sum = sample->value};
    } else if (sample->kind == SAMPLE_HISTOGRAM && !is_stale_marker(sample->histogram.sum)) {
        int rc = validate_histogram(&sample->histogram, observations, err);
        if (rc < 0)
            return rc;
    }
    int rc = check_appendable(s, sample, err);
    if (rc < 0)
        return rc;

    if (tx->pending_count >= MAX_SAMPLES_PER_REQUEST)
        return error_set(err, -E2BIG, ERROR_PERMANENT,
                         "fake prometheus: more than %zu samples in one request",
                         MAX_SAMPLES_PER_REQUEST);
    bool failed = false;
    RESERVE(tx->pending, tx->pending_cap, tx->pending_count + 1, &failed);
    struct label_set owned = {0}; /* a new series' labels, moved into it at commit */
    if (failed || (!s && label_set_copy(&owned, labels) < 0))
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    tx->pending[tx->pending_count++] = (struct pending_sample){
        .series = s, .labels = owned, .sample = *sample, .target_info = target_info};
    return 0;
}

/* Adds a sample to a series at commit time. The head re-checks every queued sample against
 * what this same commit already added: samples out of order or duplicated within one request
 * are dropped here without an error, as Prometheus's commit does. Capacity was reserved. */
static void commit_sample(struct prometheus *p, struct series *s, const struct sample *sample,
                          int64_t *max_appended)
{
    if (s->sample_count) {
        const struct sample *last = &s->samples[s->sample_count - 1];
        if (sample->timestamp_ms <= last->timestamp_ms)
            return;
    }
    s->samples[s->sample_count++] = *sample;
    p->sample_total++;
    if (sample->timestamp_ms > *max_appended)
        *max_appended = sample->timestamp_ms;
}

/* Merges the sorted new series into the sorted store, from the back (room was reserved). */
static void merge_series(struct prometheus *p, struct series *const *created, size_t count)
{
    size_t i = p->series_count, j = count, k = p->series_count + count;
    while (j > 0) {
        if (i > 0 && label_set_compare(&p->series[i - 1]->labels, &created[j - 1]->labels) > 0)
            p->series[--k] = p->series[--i];
        else
            p->series[--k] = created[--j];
    }
    p->series_count += count;
}

static void commit_metadata(struct prometheus *p, struct metadata *m)
{
    size_t lo = 0, hi = p->metadata_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(p->metadata[mid].family, m->family);
        if (cmp == 0) {
            metadata_clear(&p->metadata[mid]);
            p->metadata[mid] = *m;
            *m = (struct metadata){0};
            return;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&p->metadata[lo + 1], &p->metadata[lo],
            (p->metadata_count - lo) * sizeof(p->metadata[0]));
    p->metadata[lo] = *m;
    p->metadata_count++;
    *m = (struct metadata){0};
}

/* headAppender.Commit. Everything that can fail (new series, room for samples and metadata,
 * the fake's limits) is done before anything becomes visible, so a failure leaves the store as
 * it was. Returns 0, -ENOSPC (a fake limit; message in err) or -ENOMEM. */
static int transaction_commit(struct transaction *tx, struct error *err)
{
    struct prometheus *p = tx->p;
    struct series **created = NULL;
    size_t created_count = 0;
    int rc = 0;

    if (tx->pending_count) {
        created = calloc(tx->pending_count, sizeof(*created));
        if (!created)
            return -ENOMEM;
    }
    for (size_t i = 0; i < tx->pending_count; i++) {
        struct pending_sample *ps = &tx->pending[i];
        if (!ps->series) {
            size_t at = 0;
            ps->series = series_search(created, created_count, &ps->labels, &at);
            if (!ps->series) {
                struct series *s = calloc(1, sizeof(*s));
                if (!s) {
                    rc = -ENOMEM;
                    goto fail;
                }
                s->labels = ps->labels;
                s->hash = label_set_hash(&s->labels);
                ps->labels = (struct label_set){0};
                memmove(&created[at + 1], &created[at], (created_count - at) * sizeof(*created));
                created[at] = s;
                created_count++;
                ps->series = s;
            }
        }
        ps->series->commit_reserve++;
    }
    if (p->series_count + created_count > MAX_SERIES ||
        p->sample_total + tx->pending_count > MAX_SAMPLES) {
        rc = error_set(err, -ENOSPC, ERROR_PERMANENT,
                       "fake prometheus: storage limit reached (%zu series, %zu samples)",
                       MAX_SERIES, MAX_SAMPLES);
        goto fail;
    }
    bool failed = false;
    RESERVE(p->series, p->series_cap, p->series_count + created_count, &failed);
    RESERVE(p->metadata, p->metadata_cap, p->metadata_count + tx->metadata_count, &failed);
    for (size_t i = 0; i < tx->pending_count && !failed; i++) {
        struct series *s = tx->pending[i].series;
        RESERVE(s->samples, s->sample_cap, s->sample_count + s->commit_reserve, &failed);
    }
    if (failed || index_reserve(p, p->series_count + created_count) < 0) {
        rc = -ENOMEM;
        goto fail;
    }

    /* Nothing below can fail. */
    merge_series(p, created, created_count);
    for (size_t i = 0; i < created_count; i++)
        index_put(p->index, p->index_cap, created[i]);
    int64_t max_appended = INT64_MIN;
    for (size_t i = 0; i < tx->pending_count; i++) {
        tx->pending[i].series->commit_reserve = 0;
        commit_sample(p, tx->pending[i].series, &tx->pending[i].sample, &max_appended);
    }
    if (max_appended > p->head_max_time_ms)
        p->head_max_time_ms = max_appended;
    for (size_t i = 0; i < tx->metadata_count; i++)
        commit_metadata(p, &tx->metadata[i]);
    free(created);
    return 0;

fail:
    for (size_t i = 0; i < tx->pending_count; i++)
        if (tx->pending[i].series)
            tx->pending[i].series->commit_reserve = 0;
    for (size_t i = 0; i < created_count; i++)
        series_free(created[i]);
    free(created);
    return rc;
}

/* ---- OTLP to series (metrics_to_prw.go, helper.go, number_data_points.go, histograms.go) ---- */

typedef Opentelemetry__Proto__Metrics__V1__Metric otlp_metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint otlp_number_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint otlp_histogram_point;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint otlp_exp_histogram_point;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint otlp_summary_point;

static const char *const identifying_attributes[] = {"service.namespace", "service.name",
                                                     "service.instance.id"};
#define IDENTIFYING_ATTRIBUTE_COUNT 3

/* pcommon.Map.Get: the first attribute with that key, or NULL. */
static const otlp_keyvalue *find_attribute(otlp_keyvalue *const *attrs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (attrs[i] && attrs[i]->key && strcmp(attrs[i]->key, key) == 0)
            return attrs[i];
    return NULL;
}

struct resource_context {
    otlp_keyvalue **attrs;
    size_t n_attrs;
    /* job and instance, worked out at the first data point and kept for the resource's others
     * (NULL: the attribute is absent, so the label is not set). */
    bool identity_known;
    char *job, *instance;
};

struct attribute_entry {
    const char *key;
    char *value;
    size_t position;
};

static int compare_attribute_entries(const void *a, const void *b)
{
    const struct attribute_entry *x = a, *y = b;
    int cmp = strcmp(x->key, y->key);
    if (cmp)
        return cmp;
    return x->position < y->position ? -1 : x->position > y->position;
}

static bool is_ignored(const char *key, const char *const *ignore, size_t n_ignore)
{
    for (size_t i = 0; i < n_ignore; i++)
        if (strcmp(key, ignore[i]) == 0)
            return true;
    return false;
}

/* createAttributes, first half: attributes sorted by key, names sanitised, and values of keys
 * that sanitise to the same name joined with ';' in key order. Returns 0, -EINVAL (a key that
 * makes no label name; message in err) or -ENOMEM. */
static int add_attribute_labels(struct label_set *ls, otlp_keyvalue *const *attrs, size_t n,
                                const char *const *ignore, size_t n_ignore, struct error *err)
{
    struct attribute_entry *entries = n ? calloc(n, sizeof(*entries)) : NULL;
    size_t count = 0;
    int rc = 0;
    if (n && !entries)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!attrs[i])
            continue;
        const char *key = attrs[i]->key ? attrs[i]->key : "";
        if (is_ignored(key, ignore, n_ignore))
            continue;
        rc = prometheus_attribute_as_string(attrs[i]->value, &entries[count].value);
        if (rc < 0)
            goto done;
        entries[count].key = key;
        entries[count].position = i;
        count++;
    }
    if (count > 1)
        qsort(entries, count, sizeof(*entries), compare_attribute_entries);
    for (size_t i = 0; i < count; i++) {
        char *name = NULL;
        rc = prometheus_build_label_name(entries[i].key, &name, err);
        if (rc < 0)
            goto done;
        const char *existing = label_set_get(ls, name);
        if (existing[0]) {
            size_t len = strlen(existing) + 1 + strlen(entries[i].value) + 1;
            char *joined = malloc(len);
            if (!joined) {
                free(name);
                rc = -ENOMEM;
                goto done;
            }
            snprintf(joined, len, "%s;%s", existing, entries[i].value);
            rc = label_set_set(ls, name, joined);
            free(joined);
        } else {
            rc = label_set_set(ls, name, entries[i].value);
        }
        free(name);
        if (rc < 0)
            goto done;
    }
done:
    for (size_t i = 0; i < count; i++)
        free(entries[i].value);
    free(entries);
    return rc;
}

/* job = service.namespace/service.name (or service.name), instance = service.instance.id, into
 * res->job and res->instance. Returns 0 or -ENOMEM. */
static int resource_identity(struct resource_context *res)
{
    if (res->identity_known)
        return 0;
    const otlp_keyvalue *name = find_attribute(res->attrs, res->n_attrs, "service.name");
    const otlp_keyvalue *ns = find_attribute(res->attrs, res->n_attrs, "service.namespace");
    const otlp_keyvalue *instance = find_attribute(res->attrs, res->n_attrs, "service.instance.id");
    char *name_text = NULL, *ns_text = NULL, *job = NULL, *instance_text = NULL;
    int rc = 0;
    if (name) {
        rc = prometheus_attribute_as_string(name->value, &name_text);
        if (rc == 0 && ns)
            rc = prometheus_attribute_as_string(ns->value, &ns_text);
        if (rc == 0 && ns_text) {
            size_t len = strlen(ns_text) + 1 + strlen(name_text) + 1;
            job = malloc(len);
            if (job)
                snprintf(job, len, "%s/%s", ns_text, name_text);
            else
                rc = -ENOMEM;
        }
        if (rc == 0 && !job) {
            job = name_text;
            name_text = NULL;
        }
    }
    if (rc == 0 && instance)
        rc = prometheus_attribute_as_string(instance->value, &instance_text);
    free(name_text);
    free(ns_text);
    if (rc < 0) {
        free(job);
        free(instance_text);
        return rc;
    }
    res->job = job;
    res->instance = instance_text;
    res->identity_known = true;
    return 0;
}

static void resource_context_clear(struct resource_context *res)
{
    free(res->job);
    free(res->instance);
    *res = (struct resource_context){0};
}

/* Sets job and instance as the resource says (an empty value removes the label, as
 * label_set_set does). Returns 0 or -ENOMEM. */
static int add_job_and_instance(struct label_set *ls, struct resource_context *res)
{
    int rc = resource_identity(res);
    if (rc == 0 && res->job)
        rc = label_set_set(ls, "job", res->job);
    if (rc == 0 && res->instance)
        rc = label_set_set(ls, "instance", res->instance);
    return rc;
}

/* addPromotedAttributes: configured resource attributes, never over an existing label. */
static int add_promoted_labels(struct transaction *tx, struct label_set *ls,
                               struct resource_context *res, struct error *err)
{
    char *const *promote = tx->p->promote_resource_attributes;
    if (!promote || !promote[0])
        return 0;
    for (size_t i = 0; i < res->n_attrs; i++) {
        otlp_keyvalue *kv = res->attrs[i];
        if (!kv || !kv->key)
            continue;
        bool wanted = false;
        for (size_t j = 0; promote[j] && !wanted; j++)
            wanted = strcmp(promote[j], kv->key) == 0;
        if (!wanted)
            continue;
        char *name = NULL, *value = NULL;
        int rc = prometheus_build_label_name(kv->key, &name, err);
        if (rc < 0)
            return rc;
        if (!label_set_get(ls, name)[0]) {
            rc = prometheus_attribute_as_string(kv->value, &value);
            if (rc == 0)
                rc = label_set_set(ls, name, value);
        }
        free(name);
        free(value);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* createAttributes for a data point: its attributes, promoted resource attributes, job and
 * instance. On error `out` is freed. */
static int build_point_labels(struct transaction *tx, struct resource_context *res,
                              otlp_keyvalue *const *attrs, size_t n, struct label_set *out,
                              struct error *err)
{
    *out = (struct label_set){0};
    int rc = add_attribute_labels(out, attrs, n, NULL, 0, err);
    if (rc == 0)
        rc = add_promoted_labels(tx, out, res, err);
    if (rc == 0)
        rc = add_job_and_instance(out, res);
    if (rc < 0)
        label_set_free(out);
    return rc;
}

static int64_t nanos_to_millis(uint64_t ns)
{
    return (int64_t)ns / 1000000; /* Go: int64(timestamp) / 1_000_000 */
}

/* Appends one float sample to the series base + __name__ = name (+ extra label). */
static int append_float_series(struct transaction *tx, const struct label_set *base,
                               const char *name, const char *extra_name, const char *extra_value,
                               int64_t t, double value, struct error *err)
{
    /* Borrowed from `base` and the caller's strings: transaction_append copies them only for a
     * new series. */
    struct label_set *labels = &tx->scratch;
    labels->borrowed = true;
    int rc = label_set_borrow(labels, base, 2);
    if (rc == 0 && extra_name)
        rc = label_set_set(labels, extra_name, extra_value);
    if (rc == 0)
        rc = label_set_set(labels, "__name__", name);
    if (rc == 0) {
        struct sample sample = {.timestamp_ms = t, .kind = SAMPLE_FLOAT, .value = value};
        rc = transaction_append(tx, labels, &sample, 0, false, err);
    }
    labels->count = 0;
    return rc;
}

static char *concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

static int add_number_points(struct transaction *tx, struct resource_context *res,
                             const char *family, otlp_number_point *const *points, size_t n,
                             struct error *err)
{
    for (size_t i = 0; i < n; i++) {
        const otlp_number_point *pt = points[i];
        if (!pt)
            continue;
        struct label_set base;
        int rc = build_point_labels(tx, res, pt->attributes, pt->n_attributes, &base, err);
        if (rc < 0)
            return rc;
        double value = 0; /* a point without a value counts as 0, as in Go */
        if (pt->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT)
            value = (double)pt->as_int;
        else if (pt->value_case ==
                 OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE)
            value = pt->as_double;
        if (pt->flags & NO_RECORDED_VALUE_FLAG)
            value = stale_marker();
        rc = append_float_series(tx, &base, family, NULL, NULL, nanos_to_millis(pt->time_unix_nano),
                                 value, err);
        label_set_free(&base);
        if (rc < 0)
            return rc; /* the rest of this metric's points are not converted, as upstream */
    }
    return 0;
}

/* The `le` texts of a histogram's bounds, formatted once per metric: its points nearly always
 * share their bounds, and formatting a float as Go does costs more than storing the sample. */
struct le_texts {
    double *bounds; /* the bounds the texts are for */
    char **texts;
    size_t count;
};

static void le_texts_clear(struct le_texts *c)
{
    for (size_t i = 0; c->texts && i < c->count; i++)
        free(c->texts[i]);
    free(c->texts);
    free(c->bounds);
    *c = (struct le_texts){0};
}

/* Makes `c` hold the texts of bounds[0..count). Returns 0 or -ENOMEM (then `c` is empty). */
static int le_texts_for(struct le_texts *c, const double *bounds, size_t count)
{
    /* Bit for bit: 0 and -0 print differently. */
    if (c->texts && c->count == count &&
        (!count || memcmp(c->bounds, bounds, count * sizeof(*bounds)) == 0))
        return 0;
    le_texts_clear(c);
    c->bounds = malloc((count ? count : 1) * sizeof(*c->bounds));
    c->texts = calloc(count ? count : 1, sizeof(*c->texts));
    if (!c->bounds || !c->texts) {
        le_texts_clear(c);
        return -ENOMEM;
    }
    c->count = count;
    for (size_t i = 0; i < count; i++) {
        char le[PROMETHEUS_FLOAT_TEXT_MAX];
        prometheus_format_float(bounds[i], 'f', le);
        c->texts[i] = strdup(le);
        if (!c->texts[i]) {
            le_texts_clear(c);
            return -ENOMEM;
        }
    }
    if (count)
        memcpy(c->bounds, bounds, count * sizeof(*bounds));
    return 0;
}

/* Classic histogram series: _sum (when set), _count, cumulative _bucket{le} and le="+Inf". */
static int add_histogram_points(struct transaction *tx, struct resource_context *res,
                                const char *family, otlp_histogram_point *const *points, size_t n,
                                struct error *err)
{
    char *sum_name = concat(family, "_sum"), *count_name = concat(family, "_count");
    char *bucket_name = concat(family, "_bucket");
    struct le_texts le = {0};
    int rc = 0;
    if (!sum_name || !count_name || !bucket_name) {
        rc = -ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const otlp_histogram_point *pt = points[i];
        if (!pt)
            continue;
        struct label_set base;
        rc = build_point_labels(tx, res, pt->attributes, pt->n_attributes, &base, err);
        if (rc < 0)
            break;
        bool stale = pt->flags & NO_RECORDED_VALUE_FLAG;
        int64_t t = nanos_to_millis(pt->time_unix_nano);
        if (pt->_sum_case == OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM)
            rc = append_float_series(tx, &base, sum_name, NULL, NULL, t,
                                     stale ? stale_marker() : pt->sum, err);
        if (rc == 0)
            rc = append_float_series(tx, &base, count_name, NULL, NULL, t,
                                     stale ? stale_marker() : (double)pt->count, err);
        uint64_t cumulative = 0;
        size_t buckets = pt->n_explicit_bounds < pt->n_bucket_counts ? pt->n_explicit_bounds
                                                                     : pt->n_bucket_counts;
        if (rc == 0)
            rc = le_texts_for(&le, pt->explicit_bounds, buckets);
        for (size_t b = 0; rc == 0 && b < buckets; b++) {
            cumulative += pt->bucket_counts[b];
            rc = append_float_series(tx, &base, bucket_name, "le", le.texts[b], t,
                                     stale ? stale_marker() : (double)cumulative, err);
        }
        if (rc == 0)
            rc = append_float_series(tx, &base, bucket_name, "le", "+Inf", t,
                                     stale ? stale_marker() : (double)pt->count, err);
        label_set_free(&base);
    }
done:
    le_texts_clear(&le);
    free(sum_name);
    free(count_name);
    free(bucket_name);
    return rc;
}

static int add_summary_points(struct transaction *tx, struct resource_context *res,
                              const char *family, otlp_summary_point *const *points, size_t n,
                              struct error *err)
{
    char *sum_name = concat(family, "_sum"), *count_name = concat(family, "_count");
    int rc = 0;
    if (!sum_name || !count_name) {
        rc = -ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const otlp_summary_point *pt = points[i];
        if (!pt)
            continue;
        struct label_set base;
        rc = build_point_labels(tx, res, pt->attributes, pt->n_attributes, &base, err);
        if (rc < 0)
            break;
        bool stale = pt->flags & NO_RECORDED_VALUE_FLAG;
        int64_t t = nanos_to_millis(pt->time_unix_nano);
        rc = append_float_series(tx, &base, sum_name, NULL, NULL, t,
                                 stale ? stale_marker() : pt->sum, err);
        if (rc == 0)
            rc = append_float_series(tx, &base, count_name, NULL, NULL, t,
                                     stale ? stale_marker() : (double)pt->count, err);
        for (size_t q = 0; rc == 0 && q < pt->n_quantile_values; q++) {
            const Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile *vq =
                pt->quantile_values[q];
            if (!vq)
                continue;
            char quantile[PROMETHEUS_FLOAT_TEXT_MAX];
            prometheus_format_float(vq->quantile, 'f', quantile);
            rc = append_float_series(tx, &base, family, "quantile", quantile, t,
                                     stale ? stale_marker() : vq->value, err);
        }
        label_set_free(&base);
    }
done:
    free(sum_name);
    free(count_name);
    return rc;
}

static uint64_t
bucket_total(const Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets *b)
{
    uint64_t total = 0;
    for (size_t i = 0; b && i < b->n_bucket_counts; i++)
        total += b->bucket_counts[i];
    return total;
}

/* Exponential histograms become native histograms; the fake keeps their summary. */
static int add_exponential_histogram_points(struct transaction *tx, struct resource_context *res,
                                            const char *family,
                                            otlp_exp_histogram_point *const *points, size_t n,
                                            struct error *err)
{
    for (size_t i = 0; i < n; i++) {
        const otlp_exp_histogram_point *pt = points[i];
        if (!pt)
            continue;
        if (pt->scale < NATIVE_HISTOGRAM_SCHEMA_MIN)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "cannot convert exponential to native histogram. Scale must be >= "
                             "%d, was %" PRId32,
                             NATIVE_HISTOGRAM_SCHEMA_MIN, pt->scale);
        struct sample sample = {.timestamp_ms = nanos_to_millis(pt->time_unix_nano),
                                .kind = SAMPLE_HISTOGRAM};
        sample.histogram.schema =
            pt->scale > NATIVE_HISTOGRAM_SCHEMA_MAX ? NATIVE_HISTOGRAM_SCHEMA_MAX : pt->scale;
        sample.histogram.zero_count = pt->zero_count;
        if (pt->flags & NO_RECORDED_VALUE_FLAG) {
            sample.histogram.sum = stale_marker();
            sample.histogram.count = STALE_NAN_BITS; /* upstream puts the marker bits there */
        } else {
            sample.histogram.count = pt->count;
            if (pt->_sum_case ==
                OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___SUM_SUM)
                sample.histogram.sum = pt->sum;
        }
        uint64_t observations =
            pt->zero_count + bucket_total(pt->positive) + bucket_total(pt->negative);

        struct label_set labels;
        int rc = build_point_labels(tx, res, pt->attributes, pt->n_attributes, &labels, err);
        if (rc == 0)
            rc = label_set_set(&labels, "__name__", family);
        if (rc == 0)
            rc = transaction_append(tx, &labels, &sample, observations, false, err);
        label_set_free(&labels);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* otelMetricTypeToPromMetricType, cumulative only (delta never gets this far). */
static const char *metadata_type(const otlp_metric *m)
{
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE: return "gauge";
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        return m->sum && m->sum->is_monotonic ? "counter" : "gauge";
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM: return "histogram";
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY: return "summary";
    default: return "unknown";
    }
}

static enum prometheus_metric_type namer_type(const otlp_metric *m)
{
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE: return PROMETHEUS_METRIC_TYPE_GAUGE;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        return m->sum && m->sum->is_monotonic ? PROMETHEUS_METRIC_TYPE_MONOTONIC_COUNTER
                                              : PROMETHEUS_METRIC_TYPE_NON_MONOTONIC_COUNTER;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        return PROMETHEUS_METRIC_TYPE_HISTOGRAM;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        return PROMETHEUS_METRIC_TYPE_EXPONENTIAL_HISTOGRAM;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        return PROMETHEUS_METRIC_TYPE_SUMMARY;
    default: return PROMETHEUS_METRIC_TYPE_UNKNOWN;
    }
}

/* Number of data points and the timestamps range of a metric (findMinAndMaxTimestamps). */
static size_t metric_points(const otlp_metric *m, uint64_t *earliest, uint64_t *latest)
{
    size_t n = 0;
#define SCAN(field)                                                                                \
    do {                                                                                           \
        if (!m->field)                                                                             \
            break;                                                                                 \
        n = m->field->n_data_points;                                                               \
        for (size_t i = 0; i < n; i++) {                                                           \
            if (!m->field->data_points[i])                                                         \
                continue;                                                                          \
            uint64_t ts = m->field->data_points[i]->time_unix_nano;                                \
            if (ts < *earliest)                                                                    \
                *earliest = ts;                                                                    \
            if (ts > *latest)                                                                      \
                *latest = ts;                                                                      \
        }                                                                                          \
    } while (0)
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE: SCAN(gauge); break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM: SCAN(sum); break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM: SCAN(histogram); break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        SCAN(exponential_histogram);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY: SCAN(summary); break;
    default: break;
    }
#undef SCAN
    return n;
}

static bool temporality_is_cumulative(Opentelemetry__Proto__Metrics__V1__AggregationTemporality t)
{
    return t ==
           OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
}

/* One metric of FromMetrics. Returns 0, or an error for the request's list (message in err);
 * -ENOMEM and -E2BIG stop the whole conversion. */
static int convert_metric(struct transaction *tx, struct resource_context *res,
                          const otlp_metric *m, struct error *err)
{
    const char *name = m->name ? m->name : "";
    char *family = NULL, *unit = NULL, *quoted = NULL;
    int rc = 0;
    bool cumulative = true;

    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        break; /* no temporality to check */
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        cumulative = m->sum && temporality_is_cumulative(m->sum->aggregation_temporality);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        cumulative =
            m->histogram && temporality_is_cumulative(m->histogram->aggregation_temporality);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        cumulative = m->exponential_histogram &&
                     temporality_is_cumulative(m->exponential_histogram->aggregation_temporality);
        break;
    default:
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "could not get aggregation temporality for %s as it has unsupported "
                         "metric type Empty",
                         name);
    }
    if (!cumulative) {
        rc = go_quote(name, &quoted);
        if (rc == 0)
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "invalid temporality and type combination for metric %s", quoted);
        free(quoted);
        return rc;
    }

    rc = prometheus_build_metric_name(name, m->unit, namer_type(m), &family, err);
    if (rc < 0)
        return rc;
    rc = prometheus_build_unit_name(m->unit, &unit);
    if (rc < 0)
        goto done;

    uint64_t ignored_earliest = UINT64_MAX, ignored_latest = 0;
    if (metric_points(m, &ignored_earliest, &ignored_latest) == 0) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "empty data points. %s is dropped", name);
        goto done;
    }
    size_t pending_before = tx->pending_count;
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        rc =
            add_number_points(tx, res, family, m->gauge->data_points, m->gauge->n_data_points, err);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        rc = add_number_points(tx, res, family, m->sum->data_points, m->sum->n_data_points, err);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        rc = add_histogram_points(tx, res, family, m->histogram->data_points,
                                  m->histogram->n_data_points, err);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        rc =
            add_exponential_histogram_points(tx, res, family, m->exponential_histogram->data_points,
                                             m->exponential_histogram->n_data_points, err);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        rc = add_summary_points(tx, res, family, m->summary->data_points, m->summary->n_data_points,
                                err);
        break;
    default: break;
    }
    /* Metadata travels with the samples: only a family that appended something has any. */
    if (tx->pending_count > pending_before) {
        int meta_rc = transaction_add_metadata(tx, family, metadata_type(m), m->description, unit);
        if (meta_rc < 0)
            rc = meta_rc;
    }
done:
    free(family);
    free(unit);
    return rc;
}

static bool target_info_seen(const struct transaction *tx, const struct label_set *labels,
                             int64_t t)
{
    for (size_t i = 0; i < tx->pending_count; i++) {
        const struct pending_sample *ps = &tx->pending[i];
        if (!ps->target_info || ps->sample.timestamp_ms != t)
            continue;
        const struct label_set *other = ps->series ? &ps->series->labels : &ps->labels;
        if (label_set_compare(other, labels) == 0)
            return true;
    }
    return false;
}

static int append_target_info_sample(struct transaction *tx, const struct label_set *labels,
                                     int64_t t, struct error *err)
{
    if (target_info_seen(tx, labels, t))
        return 0; /* deduplicated within the request, as upstream's seenTargetInfo does */
    struct sample sample = {.timestamp_ms = t, .kind = SAMPLE_FLOAT, .value = 1};
    return transaction_append(tx, labels, &sample, 0, true, err);
}

static int64_t floor_millis(int64_t ns)
{
    int64_t ms = ns / 1000000;
    return (ns % 1000000 < 0) ? ms - 1 : ms; /* time.Time.UnixMilli rounds down */
}

/* addResourceTargetInfo: one gauge per resource carrying its non-identifying attributes. */
static int add_target_info(struct transaction *tx, struct resource_context *res, uint64_t earliest,
                           uint64_t latest, struct error *err)
{
    size_t non_identifying = res->n_attrs;
    for (size_t i = 0; i < IDENTIFYING_ATTRIBUTE_COUNT; i++)
        if (find_attribute(res->attrs, res->n_attrs, identifying_attributes[i]))
            non_identifying--;
    if (non_identifying == 0)
        return 0; /* only job and instance: target_info would say nothing */

    struct label_set labels = {0};
    int rc = add_attribute_labels(&labels, res->attrs, res->n_attrs, identifying_attributes,
                                  IDENTIFYING_ATTRIBUTE_COUNT, err);
    if (rc == 0)
        rc = add_job_and_instance(&labels, res);
    if (rc == 0)
        rc = label_set_set(&labels, "__name__", "target_info");
    if (rc < 0)
        goto done;
    if (!label_set_get(&labels, "job")[0] && !label_set_get(&labels, "instance")[0])
        goto done; /* no identifying label to join it on */

    size_t pending_before = tx->pending_count, emitted = 0;
    int64_t first = (int64_t)earliest, last = (int64_t)latest;
    for (int64_t t = first; t < last; t += TARGET_INFO_INTERVAL_NS) {
        if (++emitted > MAX_TARGET_INFO_SAMPLES_PER_RESOURCE) {
            rc = error_set(err, -E2BIG, ERROR_PERMANENT,
                           "fake prometheus: target_info would need more than %zu samples",
                           MAX_TARGET_INFO_SAMPLES_PER_RESOURCE);
            goto done;
        }
        rc = append_target_info_sample(tx, &labels, floor_millis(t), err);
        if (rc < 0)
            goto done;
        if (t > INT64_MAX - TARGET_INFO_INTERVAL_NS)
            break;
    }
    rc = append_target_info_sample(tx, &labels, floor_millis(last), err);
    if (rc == 0 && tx->pending_count > pending_before)
        rc = transaction_add_metadata(tx, "target_info", "gauge", "Target metadata", "");
done:
    label_set_free(&labels);
    return rc;
}

static bool stops_conversion(int rc)
{
    return rc == -ENOMEM || rc == -E2BIG;
}

/* The metrics of one resource, then its target_info. Returns as convert_request does. */
static int convert_resource(struct transaction *tx,
                            const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm,
                            struct resource_context *res, struct error *err)
{
    uint64_t earliest = UINT64_MAX, latest = 0;
    for (size_t s = 0; s < rm->n_scope_metrics; s++) {
        const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[s];
        for (size_t i = 0; sm && i < sm->n_metrics; i++) {
            if (!sm->metrics[i])
                continue;
            /* Counted before any check, so a rejected metric still widens the range. */
            metric_points(sm->metrics[i], &earliest, &latest);
            error_clear(err);
            int rc = convert_metric(tx, res, sm->metrics[i], err);
            if (stops_conversion(rc))
                return rc;
            if (rc < 0 && transaction_add_error(tx, err) < 0)
                return -ENOMEM;
        }
    }
    if (earliest != UINT64_MAX) {
        error_clear(err);
        int rc = add_target_info(tx, res, earliest, latest, err);
        if (stops_conversion(rc))
            return rc;
        if (rc < 0 && transaction_add_error(tx, err) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* FromMetrics: converts every metric, collecting errors and going on past them. Returns 0 (the
 * errors, if any, are in tx) or -ENOMEM / -E2BIG (message in err) when it had to stop. */
static int convert_request(struct transaction *tx, const otlp_metrics_req *req, struct error *err)
{
    for (size_t r = 0; r < req->n_resource_metrics; r++) {
        const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = req->resource_metrics[r];
        if (!rm)
            continue;
        struct resource_context res = {0};
        if (rm->resource) {
            res.attrs = rm->resource->attributes;
            res.n_attrs = rm->resource->n_attributes;
        }
        int rc = convert_resource(tx, rm, &res, err);
        resource_context_clear(&res);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int64_t wall_clock_millis(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* ---- HTTP ---- */

/* http.Error: text/plain, nosniff, the text and a newline. */
static void respond_text(struct http_response *resp, int status, const char *text)
{
    resp->status = status;
    if (http_response_printf(resp, status, TEXT_PLAIN, "%s\n", text) < 0) {
        resp->content_type = NULL; /* out of memory: the status alone must do */
        return;
    }
    http_response_add_header(resp, "X-Content-Type-Options", "nosniff");
}

static void respond_empty(struct http_response *resp, int status)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->content_type = NULL;
    resp->status = status;
}

/* Converts and stores one decoded request under the lock; fills the response. `kept` is the
 * request kept for ?view=otlp (NULL when it could not be made): taken when the request is
 * stored, else left to the caller. */
static void store_request(struct prometheus *p, const struct payload *payload, struct kept **kept,
                          struct http_response *resp)
{
    struct transaction tx = {.p = p, .max_time_ms = wall_clock_millis() + MAX_AHEAD_TIME_MS};
    struct error err = {0};
    int rc = convert_request(&tx, payload->metrics, &err);
    if (rc < 0) {
        /* Stopped early: roll back, and say why in the fake's words. */
        if (!err.message[0])
            error_set(&err, rc, ERROR_PERMANENT, "%s",
                      rc == -ENOMEM ? "out of memory"
                                    : "fake prometheus: a name or label value is too long");
        log_warn(COMPONENT, "request rolled back: %s", err.message);
        respond_text(resp, 500, err.message);
        goto done;
    }
    if (tx.errors_len) {
        /* Rollback: nothing of the request is stored. */
        int status = tx.storage_error ? 400 : 500;
        log_info(COMPONENT, "request rolled back with %d: %s", status, tx.errors);
        respond_text(resp, status, tx.errors);
        goto done;
    }
    error_clear(&err);
    rc = transaction_commit(&tx, &err);
    if (rc < 0) {
        if (rc == -ENOMEM)
            error_set(&err, rc, ERROR_PERMANENT, "out of memory");
        log_warn(COMPONENT, "request not stored: %s", err.message);
        respond_text(resp, 500, err.message);
        goto done;
    }
    if (p->accepted.count < MAX_OTLP_REQUESTS_KEPT) {
        if (!*kept || kept_list_append(&p->accepted, *kept) < 0)
            log_warn(COMPONENT, "out of memory: an accepted request is missing from ?view=otlp");
        else
            *kept = NULL;
    } else if (!p->otlp_log_full_warned) {
        p->otlp_log_full_warned = true;
        log_warn(COMPONENT, "more than %zu accepted requests: ?view=otlp keeps only the first",
                 MAX_OTLP_REQUESTS_KEPT);
    }
    respond_empty(resp, 200);
done:
    transaction_free(&tx);
}

void prometheus_handle(struct prometheus *p, const struct http_request *req,
                       struct http_response *resp, size_t *items_out)
{
    struct payload *payload = NULL;
    uint8_t *inflated = NULL;
    struct error err = {0};
    if (items_out)
        *items_out = 0;

    if (!req->path || strcmp(req->path, OTLP_METRICS_PATH) != 0) {
        respond_text(resp, 404, "404 page not found");
        return;
    }
    if (!req->method || strcmp(req->method, "POST") != 0) {
        /* The API router answers OPTIONS on every path with 204 and other methods on a POST
         * route with 405 (httprouter's HandleMethodNotAllowed); from code reading, unconfirmed
         * by a run. */
        if (req->method && strcmp(req->method, "OPTIONS") == 0) {
            respond_empty(resp, 204);
        } else {
            respond_text(resp, 405, "Method Not Allowed");
            http_response_add_header(resp, "Allow", "OPTIONS, POST");
        }
        return;
    }
    if (!p->otlp_enabled) {
        respond_text(resp, 404,
                     "otlp write receiver needs to be enabled with --web.enable-otlp-receiver");
        return;
    }
    if (req->body_too_large) {
        /* Prometheus reads any size; the server in front of the fake has a limit. */
        respond_text(resp, 413, "fake prometheus: request body larger than the fake accepts");
        return;
    }

    /* DecodeOTLPWriteRequest: exact content types only, parameters included. */
    const char *content_type = httpd_request_header(req, "Content-Type");
    if (!content_type)
        content_type = "";
    bool json = strcmp(content_type, CONTENT_TYPE_JSON) == 0;
    if (!json && strcmp(content_type, CONTENT_TYPE_PROTOBUF) != 0) {
        char text[ERROR_MESSAGE_MAX];
        snprintf(text, sizeof(text), "unsupported content type: %s, supported: [%s, %s]",
                 content_type, CONTENT_TYPE_JSON, CONTENT_TYPE_PROTOBUF);
        respond_text(resp, 400, text);
        return;
    }
    const char *encoding = httpd_request_header(req, "Content-Encoding");
    if (!encoding)
        encoding = "";
    const uint8_t *body = req->body ? req->body : (const uint8_t *)"";
    size_t body_len = req->body ? req->body_len : 0;
    if (strcmp(encoding, "gzip") == 0) {
        size_t inflated_len = 0;
        if (decompress_buffer(COMPRESSION_GZIP, body, body_len, MAX_DECOMPRESSED_BODY, &inflated,
                              &inflated_len, &err) < 0) {
            respond_text(resp, 400, err.message);
            return;
        }
        body = inflated;
        body_len = inflated_len;
    } else if (encoding[0]) {
        char text[ERROR_MESSAGE_MAX];
        snprintf(text, sizeof(text),
                 "unsupported compression: %s. Only \"gzip\" or no compression supported",
                 encoding);
        respond_text(resp, 400, text);
        return;
    }

    int rc = json ? otlp_json_decode_payload(SIGNAL_METRICS, (const char *)body, body_len, &payload,
                                             &err)
                  : payload_decode(SIGNAL_METRICS, body, body_len, &payload, &err);
    if (rc < 0) {
        if (rc == -ENOMEM)
            respond_text(resp, 500, "out of memory");
        else
            respond_text(resp, 400, err.message);
        goto done;
    }
    if (items_out)
        *items_out = payload_item_count(payload);

    /* Copied before taking the lock; a JSON request is kept as its tree (kept_new). */
    struct kept *kept = kept_new(payload, json ? NULL : body, body_len, 0);
    pthread_mutex_lock(&p->lock);
    store_request(p, payload, &kept, resp);
    pthread_mutex_unlock(&p->lock);
    kept_unref(kept);
done:
    payload_free(payload);
    free(inflated);
}

/* ---- views ---- */

/* A sample value as the view shows it: integers as JSON integers (counts stay exact and read
 * well), other numbers as reals, and the values JSON has no number for as strings. */
static json_t *value_to_json(double v)
{
    if (is_stale_marker(v))
        return json_string("stale");
    if (isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "+Inf" : "-Inf");
    if (v == floor(v) && fabs(v) <= 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

static json_t *sample_to_json(const struct sample *s)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int rc = json_object_set_new(o, "timestamp_ms", json_integer(s->timestamp_ms));
    if (s->kind == SAMPLE_HISTOGRAM && is_stale_marker(s->histogram.sum)) {
        rc |= json_object_set_new(o, "value", json_string("stale"));
    } else if (s->kind == SAMPLE_HISTOGRAM) {
        json_t *h = json_object();
        if (!h) {
            json_decref(o);
            return NULL;
        }
        rc |= json_object_set_new(h, "count", value_to_json((double)s->histogram.count));
        rc |= json_object_set_new(h, "sum", value_to_json(s->histogram.sum));
        rc |= json_object_set_new(h, "schema", json_integer(s->histogram.schema));
        rc |= json_object_set_new(h, "zero_count", value_to_json((double)s->histogram.zero_count));
        rc |= json_object_set_new(o, "histogram", h);
    } else {
        rc |= json_object_set_new(o, "value", value_to_json(s->value));
    }
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Sets k1 and k2 of `o` to v1 and v2, taking all three references. NULL (and all three
 * released) when `ok` is false (building the members failed) or a set fails. */
static json_t *object_of_two(bool ok, json_t *o, const char *k1, json_t *v1, const char *k2,
                             json_t *v2)
{
    int rc = ok && o ? 0 : -1;
    if (rc == 0) {
        rc = json_object_set_new(o, k1, v1);
        v1 = NULL;
        rc |= json_object_set_new(o, k2, v2);
        v2 = NULL;
    }
    json_decref(v1);
    json_decref(v2);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *series_to_json(const struct series *s)
{
    json_t *o = json_object(), *labels = json_object(), *samples = json_array();
    int rc = (o && labels && samples) ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < s->labels.count; i++)
        rc = json_object_set_new(labels, s->labels.items[i].name,
                                 json_string(s->labels.items[i].value));
    for (size_t i = 0; rc == 0 && i < s->sample_count; i++)
        rc = json_array_append_new(samples, sample_to_json(&s->samples[i]));
    return object_of_two(rc == 0, o, "labels", labels, "samples", samples);
}

json_t *prometheus_view(struct prometheus *p)
{
    json_t *view = json_object(), *series = json_array(), *metadata = json_object();
    int rc = (view && series && metadata) ? 0 : -1;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; rc == 0 && i < p->series_count; i++)
        rc = json_array_append_new(series, series_to_json(p->series[i]));
    for (size_t i = 0; rc == 0 && i < p->metadata_count; i++) {
        const struct metadata *m = &p->metadata[i];
        json_t *entry =
            json_pack("{s:s, s:s, s:s}", "type", m->type, "help", m->help, "unit", m->unit);
        rc = json_object_set_new(metadata, m->family, entry);
    }
    pthread_mutex_unlock(&p->lock);
    return object_of_two(rc == 0, view, "series", series, "metadata", metadata);
}

json_t *prometheus_view_otlp(struct prometheus *p)
{
    struct kept_list kept;
    pthread_mutex_lock(&p->lock);
    int rc = kept_list_snapshot(&p->accepted, &kept);
    pthread_mutex_unlock(&p->lock);
    json_t *all = rc ? NULL : kept_list_otlp_json(&kept);
    kept_list_clear(&kept);
    return all;
}

/* ---- lifecycle ---- */

static void clear_store(struct prometheus *p)
{
    for (size_t i = 0; i < p->series_count; i++)
        series_free(p->series[i]);
    free(p->series);
    p->series = NULL;
    p->series_count = p->series_cap = 0;
    free(p->index);
    p->index = NULL;
    p->index_cap = 0;
    p->sample_total = 0;
    for (size_t i = 0; i < p->metadata_count; i++)
        metadata_clear(&p->metadata[i]);
    free(p->metadata);
    p->metadata = NULL;
    p->metadata_count = p->metadata_cap = 0;
    p->head_initialised = false;
    p->head_max_time_ms = 0;
    p->otlp_log_full_warned = false;
}

void prometheus_reset(struct prometheus *p)
{
    struct kept_list old;
    pthread_mutex_lock(&p->lock);
    clear_store(p);
    kept_list_detach(&p->accepted, &old);
    pthread_mutex_unlock(&p->lock);
    kept_list_clear(&old);
}

struct prometheus *prometheus_new(const struct prometheus_options *opts)
{
    struct prometheus *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return NULL;
    }
    p->otlp_enabled = opts ? opts->otlp_enabled : true;
    size_t n = 0;
    while (opts && opts->promote_resource_attributes && opts->promote_resource_attributes[n])
        n++;
    p->promote_resource_attributes = calloc(n + 1, sizeof(char *));
    if (!p->promote_resource_attributes)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        p->promote_resource_attributes[i] = strdup(opts->promote_resource_attributes[i]);
        if (!p->promote_resource_attributes[i])
            goto fail;
    }
    return p;
fail:
    prometheus_free(p);
    return NULL;
}

void prometheus_free(struct prometheus *p)
{
    if (!p)
        return;
    clear_store(p);
    kept_list_clear(&p->accepted);
    for (size_t i = 0; p->promote_resource_attributes && p->promote_resource_attributes[i]; i++)
        free(p->promote_resource_attributes[i]);
    free(p->promote_resource_attributes);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
