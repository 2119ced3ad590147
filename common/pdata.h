/*
 * pdata.h - telemetry in memory: the protobuf-c structs of the OTLP export requests.
 *
 * Every pdata allocation goes through one counting ProtobufCAllocator (pdata_allocator()), so
 * protobuf_c_message_free_unpacked(msg, pdata_allocator()) frees any tree, and the process knows
 * exactly how many bytes of telemetry it holds (pdata_bytes_current / _peak); memory_limiter reads
 * that number. The allocator can be told to fail the Nth allocation, for torture tests.
 *
 * A `struct payload` owns one export request of one signal. Whoever holds the pointer owns it;
 * passing it to a consumer passes ownership (DESIGN.md §3).
 */
#ifndef OTEL_COMMON_PDATA_H
#define OTEL_COMMON_PDATA_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "error.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

/* Short names for the generated types used everywhere. */
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest otlp_traces_req;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest otlp_metrics_req;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest otlp_logs_req;
typedef Opentelemetry__Proto__Common__V1__KeyValue otlp_keyvalue;
typedef Opentelemetry__Proto__Common__V1__AnyValue otlp_anyvalue;
typedef Opentelemetry__Proto__Resource__V1__Resource otlp_resource;

enum signal { SIGNAL_TRACES = 0, SIGNAL_METRICS = 1, SIGNAL_LOGS = 2 };
#define SIGNAL_COUNT 3

/* "traces", "metrics", "logs" (upstream's pipeline type names). */
const char *signal_name(enum signal s);
/* Parses a pipeline type name ("traces", "traces/foo" counts as traces); -EINVAL otherwise. */
int signal_parse(const char *name, enum signal *out);
/* Upstream's item noun for self-metrics: "spans", "metric_points", "log_records". */
const char *signal_item_name(enum signal s);

struct payload {
    enum signal signal;
    union {
        otlp_traces_req *traces;
        otlp_metrics_req *metrics;
        otlp_logs_req *logs;
        ProtobufCMessage *message; /* the same pointer, for generic code */
    };
};

/* Bytes one element of a field of `type` takes in a protobuf-c struct (a scalar, a pointer, or
 * ProtobufCBinaryData): the stride of its repeated arrays. */
static inline size_t pdata_type_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: return 4;
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    return 0;
}

/* ---- the counting allocator ---- */

/* The process-wide allocator for all pdata. Thread-safe. */
ProtobufCAllocator *pdata_allocator(void);
void *pdata_alloc(size_t size); /* NULL on failure (counted or injected) */
void *pdata_calloc(size_t n, size_t size);
char *pdata_strdup(const char *s);
void pdata_free(void *ptr);
size_t pdata_bytes_current(void);
/* Telemetry held in encoded form outside any tree (an exporter's queued request bodies) counts
 * too: hold when it is taken, release the same number when it is freed. */
void pdata_bytes_hold(size_t n);
void pdata_bytes_release(size_t n);
size_t pdata_bytes_peak(void);
void pdata_reset_peak(void);
/* Between begin and end, pdata allocations of the calling thread are cut from shared regions
 * (bump allocation; a region is freed when its last block is) instead of one malloc each: for
 * decoding, where a request becomes a thousand small nodes at once. `size_hint` is the expected
 * total (e.g. twice the wire size). Blocks stay ordinary pdata blocks: they move between trees
 * and are freed with pdata_free / protobuf_c_message_free_unpacked as any other. Nesting is not
 * supported: begin closes a region already open. */
void pdata_region_begin(size_t size_hint);
void pdata_region_end(void);

/* Torture support: the Nth pdata allocation from now (0 = the next one) fails, and every one
 * after it too until pdata_fail_clear(). Returns nothing; pdata_allocations() counts attempts. */
void pdata_fail_after(long n);
void pdata_fail_clear(void);
long pdata_allocations(void);

/* ---- payloads ---- */

/* A new payload with an empty request of `signal`. NULL on allocation failure.
 * Caller owns the result; free with payload_free. */
struct payload *payload_new(enum signal signal);
/* Frees the payload and its whole request tree. NULL is accepted. */
void payload_free(struct payload *p);
/* Decodes protobuf bytes into a new payload. Returns 0 or -EINVAL (message in err) / -ENOMEM. */
int payload_decode(enum signal signal, const uint8_t *buf, size_t len, struct payload **out,
                   struct error *err);
/* Encodes the request as protobuf. Caller owns *out (malloc'd, free with free()). */
int payload_encode(const struct payload *p, uint8_t **out, size_t *out_len);
/* Deep copy. NULL on allocation failure. Caller owns the result. */
struct payload *payload_clone(const struct payload *p);
/* Spans / data points (every point of every metric type counts 1) / log records. */
size_t payload_item_count(const struct payload *p);
/* Moves every resource entry of `src` to the end of `dst` (same signal), leaving `src` empty
 * (still owned by the caller). Returns 0 or -ENOMEM (then nothing was moved). */
int payload_merge(struct payload *dst, struct payload *src);
/* Removes the first `max_items` items of `src` (in order) into a new payload, splitting a
 * resource or scope as upstream's batch processor does (a copied Resource/Scope heads the part
 * that moves; metric identity is copied when a metric is split between data points). If `src`
 * has at most `max_items` items, everything moves. Caller owns *out. Returns 0 or -ENOMEM
 * (then `src` is unchanged). */
int payload_split(struct payload *src, size_t max_items, struct payload **out);

/* ---- attributes (KeyValue arrays) ---- */

/* Borrowed pointer to the value of `key` in the array, or NULL. */
const otlp_anyvalue *pdata_attr_get(otlp_keyvalue *const *attrs, size_t n, const char *key);
/* String value of `key` if it is a string attribute, else NULL. Borrowed. */
const char *pdata_attr_get_string(otlp_keyvalue *const *attrs, size_t n, const char *key);
/* Sets `key` to a string value, replacing an existing value (upsert). The array may be
 * reallocated; arrays and strings are pdata-allocated. Returns 0 or -ENOMEM. */
int pdata_attr_upsert_string(otlp_keyvalue ***attrs, size_t *n, const char *key, const char *value);
/* Inserts only when absent (resourcedetection's override: false). Returns 0 or -ENOMEM. */
int pdata_attr_insert_string(otlp_keyvalue ***attrs, size_t *n, const char *key, const char *value);

#endif
