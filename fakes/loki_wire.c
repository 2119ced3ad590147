/*
 * loki_wire.c - the request summary of loki_wire.h. Field numbers are those of
 * proto/opentelemetry/proto/{logs,common}/v1; the per-record metadata follows
 * loki_otlp.c's record_to_entry label for label (its names' lengths are spelled out below).
 */
#include "loki_wire.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
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

/* Length of AnyValue.AsString() of the AnyValue in `data`. NOT_SURE for maps and arrays (their
 * JSON) and for strings with a NUL. */
static int any_value_length(const uint8_t *data, size_t len, size_t *out)
{
    struct otlp_wire_reader r;
    struct otlp_wire_field f;
    otlp_wire_init(&r, data, len);
    *out = 0; /* an empty value: "" */
    int rc;
    while ((rc = otlp_wire_next(&r, &f)) == 1) {
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

/* One log attribute as structured metadata: one label, normalised key = AsString(). */
static int attribute_size(const uint8_t *data, size_t len, size_t *bytes)
{
    struct otlp_wire_reader r;
    struct otlp_wire_field f;
    otlp_wire_init(&r, data, len);
    const uint8_t *key = (const uint8_t *)"";
    size_t key_len = 0, value_len = 0;
    int rc;
    while ((rc = otlp_wire_next(&r, &f)) == 1) {
        if (f.number == 1) {
            key = f.data;
            key_len = f.len;
        } else if (f.number == 2) {
            int vrc = any_value_length(f.data, f.len, &value_len);
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
static int summarize_record(const uint8_t *data, size_t len, int64_t now_ns,
                            const struct shared_metadata *shared, struct loki_wire_summary *s)
{
    struct otlp_wire_reader r;
    struct otlp_wire_field f;
    otlp_wire_init(&r, data, len);
    uint64_t time = 0, observed = 0;
    int32_t severity = 0;
    uint32_t dropped = 0, flags = 0;
    size_t count = shared->count, bytes = shared->bytes, line = 0;
    int rc;
    while ((rc = otlp_wire_next(&r, &f)) == 1) {
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
        case 5: part = any_value_length(f.data, f.len, &line); break;
        case 6:
            part = attribute_size(f.data, f.len, &size);
            count++, bytes += size;
            break;
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

/* Translates `resource` and `scope` (either may be NULL) with one empty record: the stream's
 * labels go into the summary, the entry's metadata (theirs only) into *shared. NOT_SURE when
 * Loki would skip the resource for invalid labels. */
static int translate_shared(otlp_resource *resource, otlp_scope *scope, int64_t now_ns,
                            struct loki_wire_summary *s, struct shared_metadata *shared)
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
    if (push.count == 1 && push.streams[0].count == 1) {
        const struct loki_labels *labels = &push.streams[0].labels;
        size_t names = labels->count;
        if (loki_labels_get(labels, "service_name"))
            names--;
        if (names > s->most_label_names)
            s->most_label_names = names;
        for (size_t i = 0; i < labels->count; i++) {
            size_t n = strlen(labels->items[i].name), v = strlen(labels->items[i].value);
            if (n > s->longest_label_name)
                s->longest_label_name = n;
            if (v > s->longest_label_value)
                s->longest_label_value = v;
        }
        const struct loki_labels *metadata = &push.streams[0].entries[0].metadata;
        shared->count = metadata->count;
        shared->bytes = 0;
        for (size_t i = 0; i < metadata->count; i++)
            shared->bytes += strlen(metadata->items[i].name) + strlen(metadata->items[i].value);
        rc = 0;
    }
    loki_push_clear(&push);
    return rc;
}

/* The one field `number` of a message (otlp_wire_check proved there is at most one), or
 * NULL. */
static const uint8_t *find_field(const uint8_t *data, size_t len, uint32_t number, size_t *out_len)
{
    struct otlp_wire_reader r;
    struct otlp_wire_field f;
    otlp_wire_init(&r, data, len);
    while (otlp_wire_next(&r, &f) == 1)
        if (f.number == number) {
            *out_len = f.len;
            return f.data;
        }
    return NULL;
}

static int summarize_scope_logs(const uint8_t *data, size_t len, otlp_resource *resource,
                                int64_t now_ns, struct loki_wire_summary *s)
{
    size_t scope_len = 0;
    const uint8_t *scope_bytes = find_field(data, len, 1, &scope_len);
    otlp_scope *scope = NULL;
    if (scope_bytes) {
        scope = opentelemetry__proto__common__v1__instrumentation_scope__unpack(NULL, scope_len,
                                                                                scope_bytes);
        if (!scope)
            return NOT_SURE;
    }
    struct shared_metadata shared;
    int rc = translate_shared(resource, scope, now_ns, s, &shared);
    struct otlp_wire_reader r;
    struct otlp_wire_field f;
    otlp_wire_init(&r, data, len);
    while (rc == 0 && otlp_wire_next(&r, &f) == 1)
        if (f.number == 2)
            rc = summarize_record(f.data, f.len, now_ns, &shared, s);
    if (scope)
        opentelemetry__proto__common__v1__instrumentation_scope__free_unpacked(scope, NULL);
    return rc;
}

static int summarize_resource_logs(const uint8_t *data, size_t len, int64_t now_ns,
                                   struct loki_wire_summary *s)
{
    size_t resource_len = 0;
    const uint8_t *resource_bytes = find_field(data, len, 1, &resource_len);
    otlp_resource *resource = NULL;
    if (resource_bytes) {
        resource = opentelemetry__proto__resource__v1__resource__unpack(NULL, resource_len,
                                                                        resource_bytes);
        if (!resource)
            return NOT_SURE;
    }
    struct otlp_wire_reader r;
    struct otlp_wire_field f;
    otlp_wire_init(&r, data, len);
    int rc = 0;
    bool any_scope = false;
    while (rc == 0 && otlp_wire_next(&r, &f) == 1) {
        if (f.number == 2) {
            rc = summarize_scope_logs(f.data, f.len, resource, now_ns, s);
            any_scope = true;
        }
    }
    if (rc == 0 && !any_scope) {
        /* No records, but translation still checks the labels: an invalid set is skipped. */
        struct shared_metadata unused;
        rc = translate_shared(resource, NULL, now_ns, s, &unused);
    }
    if (resource)
        opentelemetry__proto__resource__v1__resource__free_unpacked(resource, NULL);
    return rc;
}

int loki_wire_summarize(const uint8_t *buf, size_t len, int64_t now_ns,
                        struct loki_wire_summary *out)
{
    memset(out, 0, sizeof(*out));
    if (!otlp_wire_check(
            &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
            buf, len, 1))
        return NOT_SURE;
    struct otlp_wire_reader r;
    struct otlp_wire_field f;
    otlp_wire_init(&r, buf, len);
    int rc = 0;
    while (rc == 0 && otlp_wire_next(&r, &f) == 1)
        if (f.number == 1)
            rc = summarize_resource_logs(f.data, f.len, now_ns, out);
    if (rc == 0 && out->records == 0)
        rc = NOT_SURE; /* Loki answers 422: the full path words it */
    return rc;
}
