/*
 * request_log.h - what one fake was asked (DESIGN.md §4: `GET /v1/requests/{fake}`), bounded.
 *
 * Every request to a fake is one entry: sequence number, arrival time, method, path, the headers
 * of note (Content-Type, Content-Encoding, User-Agent, X-Scope-OrgID), body bytes as received,
 * items accepted, status answered, whether a fault fired. The log keeps the last `capacity`
 * entries and counts the ones it dropped; sequence numbers never restart (not even on reset), so
 * a poller's `since` stays meaningful. Beside the entries it keeps unbounded counters for
 * `GET /v1/stats`. Thread-safe: one mutex, held briefly.
 */
#ifndef OTEL_FAKES_REQUEST_LOG_H
#define OTEL_FAKES_REQUEST_LOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REQUEST_LOG_CAPACITY 10000
#define REQUEST_LOG_VALUE_MAX 256 /* header values are cut to this many bytes */

/* One request, as the front handler saw it. Strings are borrowed (NULL = header absent). */
struct request_log_entry {
    int64_t time_unix_ms;
    const char *method;
    const char *path;
    const char *content_type;
    const char *content_encoding;
    const char *user_agent;
    const char *org_id;
    size_t bytes;
    size_t items;  /* items the backend accepted */
    int status;    /* 0 = no answer (connection reset) */
    bool fault;    /* a fault fired on this request */
    bool accepted; /* the backend recorded the data (2xx and not answered by a fault) */
    /* A gRPC front's request: transport "grpc" and the status it answered by name
     * ("UNAVAILABLE"; NULL = the stream was reset). NULL transport = HTTP, and then neither is
     * shown, so HTTP entries read as they always did. */
    const char *transport;
    const char *grpc_status;
};

struct request_log_stats {
    uint64_t requests;
    uint64_t accepted_requests;
    uint64_t items;
};

struct request_log;

/* NULL on ENOMEM or capacity 0. Caller owns; free with request_log_free. */
struct request_log *request_log_new(size_t capacity);
void request_log_free(struct request_log *log);

/* Copies the entry in, evicting the oldest when full. Returns the sequence number given (>= 1),
 * or 0 on ENOMEM (the counters are still updated). */
uint64_t request_log_append(struct request_log *log, const struct request_log_entry *entry);

/* {"requests":[{"seq":n,"time_unix_ms":...,"method":...,"path":...,"content_type":...,
 * "content_encoding":...,"user_agent":...,"org_id":...,"bytes":n,"items":n,"status":n,
 * "fault":bool}, ...],"dropped":n} with the entries whose seq > `since`, oldest first. Absent
 * headers are null. gRPC entries add "transport":"grpc" and "grpc_status":"<NAME>"|null. Caller
 * owns; NULL on ENOMEM. */
json_t *request_log_view(struct request_log *log, uint64_t since);

void request_log_stats(struct request_log *log, struct request_log_stats *out);

/* Forgets every entry and zeroes the counters (sequence numbers go on). */
void request_log_reset(struct request_log *log);

#endif
