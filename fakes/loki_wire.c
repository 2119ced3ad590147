/*
 * loki_wire.c - the request summary of loki_wire.h. Field numbers are those of
 * proto/opentelemetry/proto/{logs,common}/v1; the per-record metadata follows
 * loki_otlp.c's record_to_entry label for label (its names' lengths are spelled out below).
 */
#include "loki_wire.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "loki_otlp.h"
#include "otlp_wire.h"
#include "pdata.h"

#define NOT_SURE (-EAGAIN)

/* ---- sizes of the strings translation would make ---- */

static size_t unsigned_digits(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Length of the decimal text of `v` (loki_otlp.c's decimal()). */
static size_t signed_digits(int64_t v)
{
    if (v >= 0)
        return unsigned_digits((uint64_t)v);
    return 1 + unsigned_digits((uint64_t)0 - (uint64_t)v);
}

/* Length of AnyValue.AsString() of the AnyValue `value` (read to its end). NOT_SURE for maps
 * and arrays (their JSON), for strings with a NUL and for what the check is not sure of. */
static int any_value_length(struct otlp_wire_message *value, size_t *out)
{
    struct otlp_wire_field f;
    *out = 0; /* an empty value: "" */
    int rc;
    while ((rc = otlp_wire_checked_next(value, 0, &f)) == 1) {
        switch (f.number) {
        case 1: /* string_value */
            if (memchr(f.data, 0, f.len))
                return NOT_SURE;
            *out = f.len;
            break;
        case 2: *out = f.value ? 4 : 5; break; /* bool_value: true / false */
        case 3: *out = signed_digits((int64_t)f.value); break;
        case 4: { /* double_value */
            double d;
            memcpy(&d, &f.value, sizeof(d));
            char text[64];
            loki_format_double(d, text, sizeof(text));
            *out = strlen(text);
            break;
        }
        case 5:                                    /* array_value */
        case 6: return NOT_SURE;                   /* kvlist_value */
        case 7: *out = (f.len + 2) / 3 * 4; break; /* bytes_value: base64 */
        default: break;
        }
    }
    return rc < 0 ? NOT_SURE : 0;
}

/* any_value_length of the AnyValue field `f` of `parent`. */
static int any_value_field_length(const struct otlp_wire_message *parent,
                                  const struct otlp_wire_field *f, size_t *out)
{
    struct otlp_wire_message value;
    if (!otlp_wire_open_field(&value, parent, f))
        return NOT_SURE;
    return any_value_length(&value, out);
}

/* One log attribute (a KeyValue, read to its end) as structured metadata: one label,
 * normalised key = AsString(). */
static int attribute_size(struct otlp_wire_message *attribute, size_t *bytes)
{
    struct otlp_wire_field f;
    const uint8_t *key = (const uint8_t *)"";
    size_t key_len = 0, value_len = 0;
    int rc;
    while ((rc = otlp_wire_checked_next(attribute, OTLP_WIRE_WALK(2), &f)) == 1) {
        if (f.number == 1) {
            key = f.data;
            key_len = f.len;
        } else if (f.number == 2) {
            int vrc = any_value_field_length(attribute, &f, &value_len);
            if (vrc < 0)
                return vrc;
        }
    }
    if (rc < 0 || memchr(key, 0, key_len))
        return NOT_SURE;
    *bytes = loki_normalized_label_length((const char *)key, key_len) + value_len;
    return 0;
}

static bool all_zero(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (data[i])
            return false;
    return true;
}

/* ---- records ---- */

/* What every entry of one resource and scope carries: their structured metadata. */
struct shared_metadata {
    size_t count, bytes;
};

static void summary_add_entry(struct loki_wire_summary *s, int64_t ts, size_t line, size_t count,
                              size_t bytes)
{
    if (s->records == 0 || ts < s->oldest_ns)
        s->oldest_ns = ts;
    if (s->records == 0 || ts > s->newest_ns)
        s->newest_ns = ts;
    s->records++;
    if (line > s->longest_line)
        s->longest_line = line;
    if (count > s->most_metadata_entries)
        s->most_metadata_entries = count;
    if (bytes > s->most_metadata_bytes)
        s->most_metadata_bytes = bytes;
}

/* One LogRecord: record_to_entry's metadata (attributes, observed_timestamp, severity_number,
 * severity_text, dropped_attributes_count, flags, trace_id, span_id, then the shared ones), its
 * line and its timestamp. */
static int summarize_record(struct otlp_wire_message *record, int64_t now_ns,
                            const struct shared_metadata *shared, struct loki_wire_summary *s)
{
    struct otlp_wire_field f;
    uint64_t time = 0, observed = 0;
    int32_t severity = 0;
    uint32_t dropped = 0, flags = 0;
    size_t count = shared->count, bytes = shared->bytes, line = 0;
    int rc;
    while ((rc = otlp_wire_checked_next(record, OTLP_WIRE_WALK(5) | OTLP_WIRE_WALK(6), &f)) == 1) {
        int part = 0;
        size_t size = 0;
        switch (f.number) {
        case 1: time = f.value; break;
        case 11: observed = f.value; break;
        case 2: severity = (int32_t)(uint32_t)f.value; break; /* protobuf-c keeps 32 bits */
        case 3:                                               /* severity_text */
            if (memchr(f.data, 0, f.len))
                return NOT_SURE;
            if (f.len)
                count++, bytes += strlen("severity_text") + f.len;
            break;
        case 5: part = any_value_field_length(record, &f, &line); break;
        case 6: {
            struct otlp_wire_message attribute;
            part = otlp_wire_open_field(&attribute, record, &f) ? attribute_size(&attribute, &size)
                                                                : NOT_SURE;
            count++, bytes += size;
            break;
        }
        case 7: dropped = (uint32_t)f.value; break;
        case 8: flags = (uint32_t)f.value; break;
        case 9:
            if (!all_zero(f.data, f.len))
                count++, bytes += strlen("trace_id") + 2 * f.len;
            break;
        case 10:
            if (!all_zero(f.data, f.len))
                count++, bytes += strlen("span_id") + 2 * f.len;
            break;
        default: break; /* event_name and unknown fields: not translated */
        }
        if (part < 0)
            return part;
    }
    if (rc < 0)
        return NOT_SURE;
    if (time && observed)
        count++, bytes += strlen("observed_timestamp") + signed_digits((int64_t)observed);
    if (severity)
        count++, bytes += strlen("severity_number") + signed_digits(severity);
    if (dropped)
        count++, bytes += strlen("dropped_attributes_count") + unsigned_digits(dropped);
    if (flags)
        count++, bytes += strlen("flags") + unsigned_digits(flags);
    /* timestampFromLogRecord, as record_to_entry. */
    int64_t ts = time ? (int64_t)time : observed ? (int64_t)observed : now_ns;
    summary_add_entry(s, ts, line, count, bytes);
    return 0;
}

/* ---- resources and scopes ---- */

typedef Opentelemetry__Proto__Common__V1__InstrumentationScope otlp_scope;

/* What one resource and scope give every entry of theirs: the stream's label extremes and the
 * entry's metadata (theirs only). */
struct shared_part {
    struct shared_metadata metadata;
    size_t label_names; /* service_name not counted */
    size_t longest_label_name, longest_label_value;
};

static void summary_add_labels(struct loki_wire_summary *s, const struct shared_part *part)
{
    if (part->label_names > s->most_label_names)
        s->most_label_names = part->label_names;
    if (part->longest_label_name > s->longest_label_name)
        s->longest_label_name = part->longest_label_name;
    if (part->longest_label_value > s->longest_label_value)
        s->longest_label_value = part->longest_label_value;
}

/* Translates `resource` and `scope` (either may be NULL) with one empty record into *part.
 * NOT_SURE when Loki would skip the resource for invalid labels. The answer depends on the two
 * messages only (the empty record has no timestamp to compare with `now_ns`). */
static int translate_shared(otlp_resource *resource, otlp_scope *scope, int64_t now_ns,
                            struct shared_part *part)
{
    Opentelemetry__Proto__Logs__V1__LogRecord record =
        OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
    Opentelemetry__Proto__Logs__V1__LogRecord *records[] = {&record};
    Opentelemetry__Proto__Logs__V1__ScopeLogs scope_logs =
        OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT;
    scope_logs.scope = scope;
    scope_logs.n_log_records = 1;
    scope_logs.log_records = records;
    Opentelemetry__Proto__Logs__V1__ScopeLogs *scopes[] = {&scope_logs};
    Opentelemetry__Proto__Logs__V1__ResourceLogs resource_logs =
        OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT;
    resource_logs.resource = resource;
    resource_logs.n_scope_logs = 1;
    resource_logs.scope_logs = scopes;
    Opentelemetry__Proto__Logs__V1__ResourceLogs *resources[] = {&resource_logs};
    otlp_logs_req req =
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT;
    req.n_resource_logs = 1;
    req.resource_logs = resources;

    struct loki_push push;
    if (loki_otlp_translate(&req, now_ns, &push) < 0)
        return -ENOMEM;
    int rc = NOT_SURE;
    memset(part, 0, sizeof(*part));
    if (push.count == 1 && push.streams[0].count == 1) {
        const struct loki_labels *labels = &push.streams[0].labels;
        part->label_names = labels->count;
        if (loki_labels_get(labels, "service_name"))
            part->label_names--;
        for (size_t i = 0; i < labels->count; i++) {
            size_t n = strlen(labels->items[i].name), v = strlen(labels->items[i].value);
            if (n > part->longest_label_name)
                part->longest_label_name = n;
            if (v > part->longest_label_value)
                part->longest_label_value = v;
        }
        const struct loki_labels *metadata = &push.streams[0].entries[0].metadata;
        part->metadata.count = metadata->count;
        for (size_t i = 0; i < metadata->count; i++)
            part->metadata.bytes +=
                strlen(metadata->items[i].name) + strlen(metadata->items[i].value);
        rc = 0;
    }
    loki_push_clear(&push);
    return rc;
}

/* A resource or scope as its bytes (borrowed from the request), or absent. */
struct part_bytes {
    const uint8_t *data; /* NULL: the field is absent */
    size_t len;
};

/* ---- the cache of translated resources and scopes ----
 *
 * The collector's batch keeps every incoming request's resource apart, so the pushes carry the
 * same resource and scope bytes again and again (a resource per 100 records in the benchmark,
 * eight distinct ones). translate_shared gives the same answer for the same bytes, so each
 * distinct pair is unpacked and translated once, not once per ScopeLogs: the cache maps the
 * bytes (compared in full, never by hash alone) to the answer. Entries are replaced in turn;
 * pairs of more than CACHE_KEY_MAX bytes are not kept. */
#define CACHE_ENTRIES 32
#define CACHE_KEY_MAX 4096

struct cache_entry {
    uint64_t hash;
    uint8_t *key; /* the resource's bytes then the scope's; NULL: an empty slot */
    size_t resource_len, scope_len;
    bool has_resource, has_scope;
    struct shared_part part;
};

struct loki_wire_cache {
    pthread_mutex_t lock; /* held for a lookup or an insert, never across a translation */
    struct cache_entry entries[CACHE_ENTRIES];
    size_t next; /* the slot the next insert replaces */
};

struct loki_wire_cache *loki_wire_cache_new(void)
{
    struct loki_wire_cache *cache = calloc(1, sizeof(*cache));
    if (cache)
        pthread_mutex_init(&cache->lock, NULL);
    return cache;
}

void loki_wire_cache_free(struct loki_wire_cache *cache)
{
    if (!cache)
        return;
    for (size_t i = 0; i < CACHE_ENTRIES; i++)
        free(cache->entries[i].key);
    pthread_mutex_destroy(&cache->lock);
    free(cache);
}

/* FNV-1a over both parts, with their presence and lengths. */
static uint64_t pair_hash(struct part_bytes resource, struct part_bytes scope)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const struct part_bytes parts[2] = {resource, scope};
    for (int p = 0; p < 2; p++) {
        h = (h ^ (parts[p].data ? parts[p].len + 1 : 0)) * 0x100000001b3ull;
        for (size_t i = 0; parts[p].data && i < parts[p].len; i++)
            h = (h ^ parts[p].data[i]) * 0x100000001b3ull;
    }
    return h;
}

static bool entry_matches(const struct cache_entry *e, uint64_t hash, struct part_bytes resource,
                          struct part_bytes scope)
{
    return e->key && e->hash == hash && e->has_resource == (resource.data != NULL) &&
           e->has_scope == (scope.data != NULL) && e->resource_len == resource.len &&
           e->scope_len == scope.len &&
           (!resource.len || memcmp(e->key, resource.data, resource.len) == 0) &&
           (!scope.len || memcmp(e->key + resource.len, scope.data, scope.len) == 0);
}

static bool cache_lookup(struct loki_wire_cache *cache, uint64_t hash, struct part_bytes resource,
                         struct part_bytes scope, struct shared_part *part)
{
    bool found = false;
    pthread_mutex_lock(&cache->lock);
    for (size_t i = 0; i < CACHE_ENTRIES && !found; i++)
        if (entry_matches(&cache->entries[i], hash, resource, scope)) {
            *part = cache->entries[i].part;
            found = true;
        }
    pthread_mutex_unlock(&cache->lock);
    return found;
}

/* Keeps a copy of the pair's bytes with its answer; out of memory, it keeps nothing. */
static void cache_insert(struct loki_wire_cache *cache, uint64_t hash, struct part_bytes resource,
                         struct part_bytes scope, const struct shared_part *part)
{
    if (resource.len + scope.len > CACHE_KEY_MAX)
        return;
    uint8_t *key = malloc(resource.len + scope.len + 1);
    if (!key)
        return;
    if (resource.len)
        memcpy(key, resource.data, resource.len);
    if (scope.len)
        memcpy(key + resource.len, scope.data, scope.len);
    pthread_mutex_lock(&cache->lock);
    struct cache_entry *e = &cache->entries[cache->next];
    cache->next = (cache->next + 1) % CACHE_ENTRIES;
    uint8_t *old = e->key;
    *e = (struct cache_entry){
        .hash = hash,
        .key = key,
        .resource_len = resource.len,
        .scope_len = scope.len,
        .has_resource = resource.data != NULL,
        .has_scope = scope.data != NULL,
        .part = *part,
    };
    pthread_mutex_unlock(&cache->lock);
    free(old);
}

/* translate_shared of the resource and scope in `resource_bytes` and `scope_bytes`, through
 * `cache` when there is one; the label extremes go into `s`. */
static int shared_for(struct loki_wire_cache *cache, struct part_bytes resource_bytes,
                      struct part_bytes scope_bytes, int64_t now_ns, struct loki_wire_summary *s,
                      struct shared_metadata *shared)
{
    struct shared_part part;
    uint64_t hash = cache ? pair_hash(resource_bytes, scope_bytes) : 0;
    if (cache && cache_lookup(cache, hash, resource_bytes, scope_bytes, &part)) {
        summary_add_labels(s, &part);
        *shared = part.metadata;
        return 0;
    }
    otlp_resource *resource = NULL;
    otlp_scope *scope = NULL;
    int rc = 0;
    if (resource_bytes.data) {
        resource = opentelemetry__proto__resource__v1__resource__unpack(NULL, resource_bytes.len,
                                                                        resource_bytes.data);
        if (!resource)
            rc = NOT_SURE;
    }
    if (rc == 0 && scope_bytes.data) {
        scope = opentelemetry__proto__common__v1__instrumentation_scope__unpack(
            NULL, scope_bytes.len, scope_bytes.data);
        if (!scope)
            rc = NOT_SURE;
    }
    if (rc == 0)
        rc = translate_shared(resource, scope, now_ns, &part);
    if (rc == 0) {
        summary_add_labels(s, &part);
        *shared = part.metadata;
        if (cache)
            cache_insert(cache, hash, resource_bytes, scope_bytes, &part);
    }
    if (scope)
        opentelemetry__proto__common__v1__instrumentation_scope__free_unpacked(scope, NULL);
    if (resource)
        opentelemetry__proto__resource__v1__resource__free_unpacked(resource, NULL);
    return rc;
}

/* ---- the walk ---- */

/* The bytes of the last field `number` of the message `data` (the checked walk refuses a
 * singular field sent twice), found without checking: the walk checks them in turn. */
static struct part_bytes find_field(const uint8_t *data, size_t len, uint32_t number)
{
    struct otlp_wire_reader r;
    struct otlp_wire_field f;
    struct part_bytes found = {0};
    otlp_wire_init(&r, data, len);
    while (otlp_wire_next(&r, &f) == 1)
        if (f.number == number && f.type == OTLP_WIRE_LEN)
            found = (struct part_bytes){f.data, f.len};
    return found;
}

/* ScopeLogs: scope = 1, log_records = 2. */
static int summarize_scope_logs(struct otlp_wire_message *scope_logs, struct part_bytes resource,
                                struct loki_wire_cache *cache, int64_t now_ns,
                                struct loki_wire_summary *s)
{
    struct part_bytes scope =
        find_field(scope_logs->r.pos, (size_t)(scope_logs->r.end - scope_logs->r.pos), 1);
    struct shared_metadata shared;
    int rc = shared_for(cache, resource, scope, now_ns, s, &shared);
    struct otlp_wire_message record;
    struct otlp_wire_field f;
    int next = 0;
    while (rc == 0 && (next = otlp_wire_checked_next(scope_logs, OTLP_WIRE_WALK(2), &f)) == 1)
        if (f.number == 2)
            rc = otlp_wire_open_field(&record, scope_logs, &f)
                     ? summarize_record(&record, now_ns, &shared, s)
                     : NOT_SURE;
    return rc == 0 && next < 0 ? NOT_SURE : rc;
}

/* ResourceLogs: resource = 1, scope_logs = 2. */
static int summarize_resource_logs(struct otlp_wire_message *resource_logs,
                                   struct loki_wire_cache *cache, int64_t now_ns,
                                   struct loki_wire_summary *s)
{
    struct part_bytes resource =
        find_field(resource_logs->r.pos, (size_t)(resource_logs->r.end - resource_logs->r.pos), 1);
    struct otlp_wire_message scope_logs;
    struct otlp_wire_field f;
    int rc = 0, next = 0;
    bool any_scope = false;
    while (rc == 0 && (next = otlp_wire_checked_next(resource_logs, OTLP_WIRE_WALK(2), &f)) == 1) {
        if (f.number == 2) {
            rc = otlp_wire_open_field(&scope_logs, resource_logs, &f)
                     ? summarize_scope_logs(&scope_logs, resource, cache, now_ns, s)
                     : NOT_SURE;
            any_scope = true;
        }
    }
    if (rc == 0 && next < 0)
        rc = NOT_SURE;
    if (rc == 0 && !any_scope) {
        /* No records, but translation still checks the labels: an invalid set is skipped. */
        struct shared_metadata unused;
        rc = shared_for(cache, resource, (struct part_bytes){0}, now_ns, s, &unused);
    }
    return rc;
}

int loki_wire_summarize(const uint8_t *buf, size_t len, int64_t now_ns,
                        struct loki_wire_cache *cache, struct loki_wire_summary *out)
{
    memset(out, 0, sizeof(*out));
    struct otlp_wire_message request, resource_logs;
    struct otlp_wire_field f;
    if (!otlp_wire_open(
            &request,
            &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
            buf, len, 1))
        return NOT_SURE;
    int rc = 0, next = 0;
    while (rc == 0 && (next = otlp_wire_checked_next(&request, OTLP_WIRE_WALK(1), &f)) == 1)
        if (f.number == 1)
            rc = otlp_wire_open_field(&resource_logs, &request, &f)
                     ? summarize_resource_logs(&resource_logs, cache, now_ns, out)
                     : NOT_SURE;
    if (rc == 0 && next < 0)
        rc = NOT_SURE;
    if (rc == 0 && out->records == 0)
        rc = NOT_SURE; /* Loki answers 422: the full path words it */
    return rc;
}
