/*
 * loadgen.c - otel-loadgen, the load generator of the benchmarks (scripts/bench).
 *
 * Sends a fixed number of spans or log records to an OTLP/HTTP receiver as protobuf export
 * requests of `--batch` items (100 by default: what an SDK's batch span processor sends under
 * load), over `--connections` keep-alive connections driven by one libcurl multi handle, and
 * prints one JSON line with what it sent and how fast. It measures the sender's side only; the
 * collector's CPU and memory are read by scripts/bench from /proc.
 *
 * Requests are encoded once before the clock starts (`--variants` distinct bodies with distinct
 * trace and span ids, cycled), so the generator spends its CPU on HTTP, not on protobuf, and
 * leaves the machine's cores to the collector. Timestamps are "now" at encoding time: Loki
 * rejects entries older than a week, and a run lasts minutes.
 *
 * Delivery follows the OTLP/HTTP client rules of the spec (and of the collector's otlphttp
 * exporter, shared/facts/pipeline.md §6): 2xx is delivered; 429, 502, 503 and 504 are
 * retried after a back-off (Retry-After is not parsed: the back-off is short and bounded);
 * everything else is counted as failed and not retried. The exit status is 0 only when every
 * item was delivered.
 *
 * By default it sends as fast as the receiver answers, which is what a throughput benchmark
 * wants. `--rate` paces it instead, for measuring memory at a load the whole pipeline (fakes
 * included) sustains: an OTLP/HTTP receiver answers once the batch processor took the data, so
 * an unpaced sender fills the exporter's queue whenever the backend is the slower side.
 *
 * Deliberately not here: gRPC, JSON encoding, metrics (later benchmarks).
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "compress.h"
#include "error.h"
#include "pdata.h"

#define LOADGEN_MAX_CONNECTIONS 256
#define LOADGEN_MAX_BATCH 100000
#define LOADGEN_MAX_VARIANTS 4096
/* Per request: a stalled receiver must not hang the benchmark forever. */
#define LOADGEN_REQUEST_TIMEOUT_S 60L
/* Retry back-off for 429/5xx: short, because the benchmark wants to see throughput, doubling
 * so a refusing receiver is not hammered. */
#define LOADGEN_BACKOFF_MIN_MS 5
#define LOADGEN_BACKOFF_MAX_MS 1000

typedef Opentelemetry__Proto__Trace__V1__ResourceSpans resource_spans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans scope_spans;
typedef Opentelemetry__Proto__Trace__V1__Span span;
typedef Opentelemetry__Proto__Trace__V1__Status span_status;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs resource_logs;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs scope_logs;
typedef Opentelemetry__Proto__Logs__V1__LogRecord log_record;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope scope;

struct options {
    const char *url;
    enum signal signal;
    long long items;
    long batch;
    long connections;
    long variants;
    enum compression compression;
    long timeout_s;
    long long rate; /* items per second; 0 = as fast as the receiver answers */
};

/* ---- a bump allocator for building requests: everything of one request is freed at once,
 * so the builders need no per-field cleanup on their error paths. ---- */

struct arena_block {
    struct arena_block *next;
    size_t used, size;
    max_align_t data[]; /* aligned storage */
};

struct arena {
    struct arena_block *head;
};

static void *arena_alloc(struct arena *a, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct arena_block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        b = calloc(1, sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->size = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    return p; /* calloc'd: zeroed */
}

static void arena_free(struct arena *a)
{
    while (a->head) {
        struct arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

static char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = arena_alloc(a, (size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* A deterministic id generator (splitmix64): distinct ids per variant and item, no libc rand
 * state, reproducible runs. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int random_bytes(struct arena *a, uint64_t *state, size_t len, ProtobufCBinaryData *out)
{
    uint8_t *p = arena_alloc(a, len);
    if (!p)
        return -ENOMEM;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t r = splitmix64(state);
        memcpy(p + i, &r, len - i < 8 ? len - i : 8);
    }
    out->data = p;
    out->len = len;
    return 0;
}

/* ---- attributes ---- */

static otlp_keyvalue *kv_new(struct arena *a, const char *key)
{
    otlp_keyvalue *kv = arena_alloc(a, sizeof(*kv));
    otlp_anyvalue *v = arena_alloc(a, sizeof(*v));
    if (!kv || !v)
        return NULL;
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(v);
    kv->key = (char *)key; /* static strings: the arena never frees them */
    kv->value = v;
    return kv;
}

static otlp_keyvalue *kv_string(struct arena *a, const char *key, char *value)
{
    otlp_keyvalue *kv = value ? kv_new(a, key) : NULL;
    if (!kv)
        return NULL;
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    kv->value->string_value = value;
    return kv;
}

static otlp_keyvalue *kv_int(struct arena *a, const char *key, int64_t value)
{
    otlp_keyvalue *kv = kv_new(a, key);
    if (!kv)
        return NULL;
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    kv->value->int_value = value;
    return kv;
}

/* Fills an attribute array from a NULL-checked list: returns -ENOMEM if any entry is NULL
 * (an allocation inside kv_* failed). */
static int attrs_set(struct arena *a, otlp_keyvalue ***attrs, size_t *n, otlp_keyvalue **list,
                     size_t count)
{
    *attrs = arena_alloc(a, count * sizeof(**attrs));
    if (!*attrs)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        if (!list[i])
            return -ENOMEM;
        (*attrs)[i] = list[i];
    }
    *n = count;
    return 0;
}

/* The resource of every request: what a Kubernetes workload's SDK sends. */
static otlp_resource *resource_new(struct arena *a, const char *service, long variant)
{
    otlp_resource *r = arena_alloc(a, sizeof(*r));
    if (!r)
        return NULL;
    opentelemetry__proto__resource__v1__resource__init(r);
    otlp_keyvalue *list[] = {
        kv_string(a, "service.name", (char *)service),
        kv_string(a, "service.namespace", "bench"),
        kv_string(a, "service.instance.id", arena_printf(a, "loadgen-%ld", variant % 8)),
        kv_string(a, "service.version", "1.0.0"),
        kv_string(a, "deployment.environment", "bench"),
        kv_string(a, "k8s.namespace.name", "default"),
        kv_string(a, "k8s.pod.name", arena_printf(a, "loadgen-7d4b9c-%05ld", variant % 8)),
        kv_string(a, "telemetry.sdk.language", "c"),
    };
    if (attrs_set(a, &r->attributes, &r->n_attributes, list, sizeof(list) / sizeof(list[0])))
        return NULL;
    return r;
}

static scope *scope_new(struct arena *a)
{
    scope *s = arena_alloc(a, sizeof(*s));
    if (!s)
        return NULL;
    opentelemetry__proto__common__v1__instrumentation_scope__init(s);
    s->name = "otel-loadgen";
    s->version = "1.0.0";
    return s;
}

/* ---- requests ---- */

static const char *const span_routes[] = {"/api/v1/orders", "/api/v1/items/{id}", "/healthz",
                                          "/api/v1/cart", "/api/v1/checkout"};
#define ROUTE_COUNT (sizeof(span_routes) / sizeof(span_routes[0]))

/* `count` spans in traces of 10 spans (one SERVER root, CLIENT children). */
static ProtobufCMessage *traces_request_new(struct arena *a, long variant, long count,
                                            uint64_t now_ns)
{
    uint64_t seed = 0x5eed0000ULL + (uint64_t)variant;
    otlp_traces_req *req = arena_alloc(a, sizeof(*req));
    resource_spans *rs = arena_alloc(a, sizeof(*rs));
    scope_spans *ss = arena_alloc(a, sizeof(*ss));
    resource_spans **rs_list = arena_alloc(a, sizeof(*rs_list));
    scope_spans **ss_list = arena_alloc(a, sizeof(*ss_list));
    span **spans = arena_alloc(a, (size_t)count * sizeof(*spans));
    if (!req || !rs || !ss || !rs_list || !ss_list || !spans)
        return NULL;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(req);
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    rs->resource = resource_new(a, "loadgen-traces", variant);
    ss->scope = scope_new(a);
    if (!rs->resource || !ss->scope)
        return NULL;

    ProtobufCBinaryData trace_id = {0, NULL}, root_id = {0, NULL};
    for (long i = 0; i < count; i++) {
        span *s = arena_alloc(a, sizeof(*s));
        span_status *st = arena_alloc(a, sizeof(*st));
        if (!s || !st)
            return NULL;
        opentelemetry__proto__trace__v1__span__init(s);
        opentelemetry__proto__trace__v1__status__init(st);
        bool root = i % 10 == 0;
        if (root && (random_bytes(a, &seed, 16, &trace_id) < 0))
            return NULL;
        s->trace_id = trace_id;
        if (random_bytes(a, &seed, 8, &s->span_id) < 0)
            return NULL;
        if (root)
            root_id = s->span_id;
        else
            s->parent_span_id = root_id;
        const char *route = span_routes[(size_t)(i / 10) % ROUTE_COUNT];
        s->name =
            root ? arena_printf(a, "GET %s", route) : arena_printf(a, "SELECT orders %ld", i % 10);
        s->kind = root ? OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER
                       : OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
        s->start_time_unix_nano = now_ns - 5000000ULL + (uint64_t)i * 1000ULL;
        s->end_time_unix_nano = s->start_time_unix_nano + 1000000ULL + (uint64_t)(i % 7) * 1000ULL;
        s->flags = 0x100; /* SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK, as current SDKs set */
        otlp_keyvalue *root_attrs[] = {
            kv_string(a, "http.request.method", "GET"),
            kv_string(a, "url.path", (char *)route),
            kv_string(a, "http.route", (char *)route),
            kv_int(a, "http.response.status_code", i % 50 == 0 ? 500 : 200),
            kv_string(a, "server.address", "shop.example.com"),
            kv_int(a, "server.port", 8080),
        };
        otlp_keyvalue *child_attrs[] = {
            kv_string(a, "db.system.name", "postgresql"),
            kv_string(a, "db.namespace", "shop"),
            kv_string(a, "db.query.text", "SELECT id, total FROM orders WHERE customer_id = $1"),
            kv_string(a, "server.address", "postgres.default.svc"),
        };
        int rc = root ? attrs_set(a, &s->attributes, &s->n_attributes, root_attrs, 6)
                      : attrs_set(a, &s->attributes, &s->n_attributes, child_attrs, 4);
        if (rc < 0 || !s->name)
            return NULL;
        st->code = i % 50 == 0
                       ? OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR
                       : OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_UNSET;
        s->status = st;
        spans[i] = s;
    }
    ss->spans = spans;
    ss->n_spans = (size_t)count;
    ss_list[0] = ss;
    rs->scope_spans = ss_list;
    rs->n_scope_spans = 1;
    rs_list[0] = rs;
    req->resource_spans = rs_list;
    req->n_resource_spans = 1;
    return &req->base;
}

/* `count` log records: request logs of a web server, every tenth an error inside a trace. */
static ProtobufCMessage *logs_request_new(struct arena *a, long variant, long count,
                                          uint64_t now_ns)
{
    uint64_t seed = 0x10650000ULL + (uint64_t)variant;
    otlp_logs_req *req = arena_alloc(a, sizeof(*req));
    resource_logs *rl = arena_alloc(a, sizeof(*rl));
    scope_logs *sl = arena_alloc(a, sizeof(*sl));
    resource_logs **rl_list = arena_alloc(a, sizeof(*rl_list));
    scope_logs **sl_list = arena_alloc(a, sizeof(*sl_list));
    log_record **records = arena_alloc(a, (size_t)count * sizeof(*records));
    if (!req || !rl || !sl || !rl_list || !sl_list || !records)
        return NULL;
    opentelemetry__proto__collector__logs__v1__export_logs_service_request__init(req);
    opentelemetry__proto__logs__v1__resource_logs__init(rl);
    opentelemetry__proto__logs__v1__scope_logs__init(sl);
    rl->resource = resource_new(a, "loadgen-logs", variant);
    sl->scope = scope_new(a);
    if (!rl->resource || !sl->scope)
        return NULL;

    for (long i = 0; i < count; i++) {
        log_record *r = arena_alloc(a, sizeof(*r));
        otlp_anyvalue *body = arena_alloc(a, sizeof(*body));
        if (!r || !body)
            return NULL;
        opentelemetry__proto__logs__v1__log_record__init(r);
        opentelemetry__proto__common__v1__any_value__init(body);
        bool error = i % 10 == 9;
        const char *route = span_routes[(size_t)i % ROUTE_COUNT];
        r->time_unix_nano = now_ns - 5000000ULL + (uint64_t)i * 1000ULL;
        r->observed_time_unix_nano = r->time_unix_nano + 1000ULL;
        r->severity_number =
            error ? OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_ERROR
                  : OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_INFO;
        r->severity_text = error ? "ERROR" : "INFO";
        body->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        body->string_value = arena_printf(a,
                                          "%s 10.244.1.%ld - - \"GET %s HTTP/1.1\" %d %ld \"-\" "
                                          "\"curl/8.5.0\" request_id=%ld-%ld",
                                          error ? "error" : "info", i % 250, route,
                                          error ? 500 : 200, 512 + i, variant, i);
        r->body = body;
        otlp_keyvalue *attrs[] = {
            kv_string(a, "http.request.method", "GET"),
            kv_string(a, "url.path", (char *)route),
            kv_int(a, "http.response.status_code", error ? 500 : 200),
        };
        if (!body->string_value || attrs_set(a, &r->attributes, &r->n_attributes, attrs, 3) < 0)
            return NULL;
        if (error && (random_bytes(a, &seed, 16, &r->trace_id) < 0 ||
                      random_bytes(a, &seed, 8, &r->span_id) < 0))
            return NULL;
        if (error)
            r->flags = 1; /* sampled */
        records[i] = r;
    }
    sl->log_records = records;
    sl->n_log_records = (size_t)count;
    sl_list[0] = sl;
    rl->scope_logs = sl_list;
    rl->n_scope_logs = 1;
    rl_list[0] = rl;
    req->resource_logs = rl_list;
    req->n_resource_logs = 1;
    return &req->base;
}

struct body {
    uint8_t *data; /* malloc'd */
    size_t len;
    long items;
};

/* Encodes (and compresses) one request of `count` items. Returns 0 or -ENOMEM. */
static int body_encode(const struct options *o, long variant, long count, uint64_t now_ns,
                       struct body *out)
{
    struct arena a = {NULL};
    uint8_t *packed = NULL;
    int rc = -ENOMEM;
    ProtobufCMessage *msg = o->signal == SIGNAL_TRACES
                                ? traces_request_new(&a, variant, count, now_ns)
                                : logs_request_new(&a, variant, count, now_ns);
    if (!msg)
        goto done;
    size_t len = protobuf_c_message_get_packed_size(msg);
    packed = malloc(len ? len : 1);
    if (!packed)
        goto done;
    protobuf_c_message_pack(msg, packed);
    rc = compress_buffer(o->compression, packed, len, &out->data, &out->len);
    out->items = count;
done:
    free(packed);
    arena_free(&a);
    return rc;
}

/* ---- sending ---- */

struct slot {
    CURL *easy;
    long body;               /* index into bodies, -1 when idle */
    long long not_before_ms; /* a retried request waits for its back-off */
    int backoff_ms;
    char error[CURL_ERROR_SIZE];
};

struct run {
    const struct options *opt;
    struct body *bodies;
    long variant_count; /* bodies[0..variant_count) are full batches; the last may be partial */
    long long requests_total, requests_started;
    long *retry_queue; /* body indexes waiting to be re-sent (at most one per connection) */
    long retry_count;
    long long delivered_items, delivered_requests, retried_requests, failed_requests;
    long long failed_items;
    long status_counts[6]; /* by hundreds: 1xx..5xx, [0] = transport errors */
    char first_failure[CURL_ERROR_SIZE + 64];
};

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000L;
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    return size * nmemb;
}

/* Which body the next new request sends: full batches cycle through the variants; the very
 * last request carries the remainder when --items is not a multiple of --batch. */
static long next_body_index(struct run *r)
{
    long long i = r->requests_started++;
    if (i == r->requests_total - 1 && r->opt->items % r->opt->batch)
        return r->variant_count; /* the partial body */
    return (long)(i % r->variant_count);
}

static int slot_start(struct run *r, CURLM *multi, struct slot *s, long body)
{
    s->body = body;
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, (const char *)r->bodies[body].data);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->bodies[body].len);
    CURLMcode mc = curl_multi_add_handle(multi, s->easy);
    if (mc != CURLM_OK) {
        fprintf(stderr, "otel-loadgen: curl_multi_add_handle: %s\n", curl_multi_strerror(mc));
        return -EIO;
    }
    return 0;
}

/* Keeps the first failure's description for the report; later ones are only counted. */
static void note_failure(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note_failure(struct run *r, const char *fmt, ...)
{
    if (r->first_failure[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->first_failure, sizeof(r->first_failure), fmt, ap);
    va_end(ap);
}

/* Books the outcome of one finished request and says whether it must be sent again. */
static bool request_finished(struct run *r, struct slot *s, CURLcode result)
{
    long status = 0;
    const struct body *b = &r->bodies[s->body];
    if (result != CURLE_OK) {
        r->status_counts[0]++;
        r->failed_requests++;
        r->failed_items += b->items;
        note_failure(r, "transport error: %ld %s", (long)result,
                     s->error[0] ? s->error : curl_easy_strerror(result));
        return false;
    }
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 100 && status < 600)
        r->status_counts[status / 100]++;
    if (status >= 200 && status < 300) {
        r->delivered_items += b->items;
        r->delivered_requests++;
        s->backoff_ms = 0;
        return false;
    }
    if (status == 429 || status == 502 || status == 503 || status == 504) {
        r->retried_requests++;
        s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : LOADGEN_BACKOFF_MIN_MS;
        if (s->backoff_ms > LOADGEN_BACKOFF_MAX_MS)
            s->backoff_ms = LOADGEN_BACKOFF_MAX_MS;
        return true;
    }
    r->failed_requests++;
    r->failed_items += b->items;
    note_failure(r, "HTTP status %ld", status);
    return false;
}

/* How long to wait for socket activity: until the next paced request is due, else until a
 * retry's back-off may have passed, else (requests in flight) a while. */
static int poll_timeout_ms(const struct run *r, long active, long long next_due)
{
    long long wait = active ? 100 : LOADGEN_BACKOFF_MIN_MS;
    if (r->opt->rate > 0 && r->requests_started < r->requests_total) {
        long long until_due = next_due - monotonic_ms();
        if (until_due < wait)
            wait = until_due < 0 ? 0 : until_due;
    }
    return (int)wait;
}

/* Drives every connection until all requests are answered or the deadline passes.
 * Returns 0, or -ETIMEDOUT / -EIO. */
static int send_all(struct run *r, CURLM *multi, struct slot *slots, long nslots)
{
    long long started = monotonic_ms();
    long long deadline = started + r->opt->timeout_s * 1000LL;
    long active = 0;
    for (;;) {
        long long now = monotonic_ms();
        /* With --rate, request N may start only once N * batch items are due; the schedule is
         * absolute (from the start), so a slow answer is caught up on, not lost. */
        long long next_due =
            r->opt->rate > 0 ? started + r->requests_started * r->opt->batch * 1000LL / r->opt->rate
                             : now;
        /* Fill idle connections: retries first (their back-off permitting), then new work. */
        for (long i = 0; i < nslots; i++) {
            struct slot *s = &slots[i];
            if (s->body >= 0 || s->not_before_ms > now)
                continue;
            long body;
            if (r->retry_count > 0)
                body = r->retry_queue[--r->retry_count];
            else if (r->requests_started < r->requests_total && next_due <= now)
                body = next_body_index(r);
            else
                continue;
            if (slot_start(r, multi, s, body) < 0)
                return -EIO;
            active++;
            if (r->opt->rate > 0)
                next_due = started + r->requests_started * r->opt->batch * 1000LL / r->opt->rate;
        }
        if (active == 0 && r->retry_count == 0 && r->requests_started >= r->requests_total)
            return 0;
        if (now > deadline) {
            fprintf(stderr, "otel-loadgen: gave up after %lds with %ld requests in flight\n",
                    r->opt->timeout_s, active);
            return -ETIMEDOUT;
        }
        int running = 0;
        CURLMcode mc = curl_multi_perform(multi, &running);
        if (mc == CURLM_OK)
            mc = curl_multi_poll(multi, NULL, 0, poll_timeout_ms(r, active, next_due), NULL);
        if (mc != CURLM_OK) {
            fprintf(stderr, "otel-loadgen: curl multi: %s\n", curl_multi_strerror(mc));
            return -EIO;
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct slot *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            CURLcode result = msg->data.result;
            curl_multi_remove_handle(multi, s->easy);
            active--;
            if (request_finished(r, s, result)) {
                r->retry_queue[r->retry_count++] = s->body;
                s->not_before_ms = monotonic_ms() + s->backoff_ms;
            }
            s->body = -1;
            s->error[0] = '\0';
        }
    }
}

static int slot_init(struct slot *s, const struct options *o, struct curl_slist *headers)
{
    s->body = -1;
    s->easy = curl_easy_init();
    if (!s->easy)
        return -ENOMEM;
    curl_easy_setopt(s->easy, CURLOPT_URL, o->url);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(s->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(s->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT, LOADGEN_REQUEST_TIMEOUT_S);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->error);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, (char *)s);
    curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "otel-loadgen/1.0");
    return 0;
}

/* ---- command line ---- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: otel-loadgen --url URL --signal traces|logs [--items N] [--batch N]\n"
            "                    [--connections N] [--variants N] [--compression none|gzip]\n"
            "                    [--rate ITEMS_PER_SECOND] [--timeout-s N]\n"
            "Sends N items (default 2000000) as OTLP/HTTP protobuf requests of --batch items\n"
            "(default 100) over --connections keep-alive connections (default 4), and prints\n"
            "one JSON line: items, requests, seconds, items_per_second, statuses. --rate paces\n"
            "the requests (default 0: as fast as the receiver answers).\n");
}

static int parse_long(const char *name, const char *text, long long min, long long max,
                      long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text ? text : "", &end, 10);
    if (!text || errno || end == text || *end || v < min || v > max) {
        fprintf(stderr, "otel-loadgen: %s must be an integer in [%lld, %lld], got \"%s\"\n", name,
                min, max, text ? text : "");
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){.url = NULL,
                          .signal = SIGNAL_TRACES,
                          .items = 2000000,
                          .batch = 100,
                          .connections = 4,
                          .variants = 64,
                          .compression = COMPRESSION_NONE,
                          .timeout_s = 900,
                          .rate = 0};
    bool have_signal = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        long long v = 0;
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(arg, "--url") && val) {
            o->url = val;
        } else if (!strcmp(arg, "--signal") && val) {
            if (strcmp(val, "traces") && strcmp(val, "logs")) {
                fprintf(stderr, "otel-loadgen: --signal must be traces or logs, got \"%s\"\n", val);
                return -EINVAL;
            }
            o->signal = strcmp(val, "traces") ? SIGNAL_LOGS : SIGNAL_TRACES;
            have_signal = true;
        } else if (!strcmp(arg, "--items")) {
            if (parse_long(arg, val, 1, 1000000000000LL, &o->items) < 0)
                return -EINVAL;
        } else if (!strcmp(arg, "--batch")) {
            if (parse_long(arg, val, 1, LOADGEN_MAX_BATCH, &v) < 0)
                return -EINVAL;
            o->batch = (long)v;
        } else if (!strcmp(arg, "--connections")) {
            if (parse_long(arg, val, 1, LOADGEN_MAX_CONNECTIONS, &v) < 0)
                return -EINVAL;
            o->connections = (long)v;
        } else if (!strcmp(arg, "--variants")) {
            if (parse_long(arg, val, 1, LOADGEN_MAX_VARIANTS, &v) < 0)
                return -EINVAL;
            o->variants = (long)v;
        } else if (!strcmp(arg, "--rate")) {
            if (parse_long(arg, val, 0, 1000000000LL, &o->rate) < 0)
                return -EINVAL;
        } else if (!strcmp(arg, "--timeout-s")) {
            if (parse_long(arg, val, 1, 86400, &v) < 0)
                return -EINVAL;
            o->timeout_s = (long)v;
        } else if (!strcmp(arg, "--compression") && val) {
            if (strcmp(val, "none") && strcmp(val, "gzip")) {
                fprintf(stderr, "otel-loadgen: --compression must be none or gzip\n");
                return -EINVAL;
            }
            o->compression = strcmp(val, "gzip") ? COMPRESSION_NONE : COMPRESSION_GZIP;
        } else {
            fprintf(stderr, "otel-loadgen: unknown or incomplete option \"%s\"\n", arg);
            usage(stderr);
            return -EINVAL;
        }
        if (strcmp(arg, "-h") && strcmp(arg, "--help"))
            i++; /* every option takes one value */
    }
    if (!o->url || !have_signal) {
        fprintf(stderr, "otel-loadgen: --url and --signal are required\n");
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

/* Writes `s` as a JSON string literal (quotes, backslashes and control bytes escaped). */
static void print_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    struct options opt;
    int prc = parse_options(argc, argv, &opt);
    if (prc)
        return prc > 0 ? 0 : 2;

    int exit_code = 1;
    struct run r = {.opt = &opt};
    struct slot *slots = NULL;
    struct curl_slist *headers = NULL;
    CURLM *multi = NULL;
    bool curl_ready = false;

    /* More variants than requests would only waste memory. */
    r.requests_total = (opt.items + opt.batch - 1) / opt.batch;
    r.variant_count = opt.variants;
    if (r.variant_count > r.requests_total)
        r.variant_count = (long)r.requests_total;
    r.bodies = calloc((size_t)r.variant_count + 1, sizeof(*r.bodies));
    r.retry_queue = calloc((size_t)opt.connections, sizeof(*r.retry_queue));
    slots = calloc((size_t)opt.connections, sizeof(*slots));
    if (!r.bodies || !r.retry_queue || !slots) {
        fprintf(stderr, "otel-loadgen: out of memory\n");
        goto done;
    }
    uint64_t now_ns = realtime_ns();
    size_t encoded_bytes = 0;
    for (long v = 0; v <= r.variant_count; v++) {
        long count = v < r.variant_count ? opt.batch : (long)(opt.items % opt.batch);
        if (count == 0)
            continue;
        if (body_encode(&opt, v, count, now_ns, &r.bodies[v]) < 0) {
            fprintf(stderr, "otel-loadgen: out of memory while encoding requests\n");
            goto done;
        }
        encoded_bytes += r.bodies[v].len;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "otel-loadgen: curl_global_init failed\n");
        goto done;
    }
    curl_ready = true;
    const char *header_lines[] = {
        "Content-Type: application/x-protobuf",
        /* curl waits for "100 Continue" before large POST bodies; OTLP clients never do. */
        "Expect:",
        opt.compression == COMPRESSION_GZIP ? "Content-Encoding: gzip" : NULL,
    };
    for (size_t i = 0; i < sizeof(header_lines) / sizeof(header_lines[0]); i++) {
        if (!header_lines[i])
            continue;
        struct curl_slist *next = curl_slist_append(headers, header_lines[i]);
        if (!next) {
            fprintf(stderr, "otel-loadgen: out of memory\n");
            goto done;
        }
        headers = next;
    }
    multi = curl_multi_init();
    if (!multi) {
        fprintf(stderr, "otel-loadgen: curl_multi_init failed\n");
        goto done;
    }
    /* Exactly --connections connections, each kept alive for the whole run. */
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, opt.connections);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, opt.connections);
    for (long i = 0; i < opt.connections; i++) {
        if (slot_init(&slots[i], &opt, headers) < 0) {
            fprintf(stderr, "otel-loadgen: curl_easy_init failed\n");
            goto done;
        }
    }

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = send_all(&r, multi, slots, opt.connections);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("{\"signal\":\"%s\",\"url\":", signal_name(opt.signal));
    print_json_string(opt.url);
    printf(",\"items\":%lld,\"batch\":%ld,\"connections\":%ld,\"compression\":\"%s\","
           "\"request_bytes_avg\":%zu,\"requests\":%lld,\"delivered_items\":%lld,"
           "\"failed_items\":%lld,\"retried_requests\":%lld,\"failed_requests\":%lld,"
           "\"statuses\":{\"transport_error\":%ld,\"2xx\":%ld,\"4xx\":%ld,\"5xx\":%ld},"
           "\"rate\":%lld,\"seconds\":%.3f,\"items_per_second\":%.0f",
           opt.items, opt.batch, opt.connections, compression_name(opt.compression),
           encoded_bytes / (size_t)(r.variant_count + (opt.items % opt.batch ? 1 : 0)),
           r.delivered_requests + r.failed_requests, r.delivered_items, r.failed_items,
           r.retried_requests, r.failed_requests, r.status_counts[0], r.status_counts[2],
           r.status_counts[4], r.status_counts[5], opt.rate, seconds,
           seconds > 0 ? (double)r.delivered_items / seconds : 0.0);
    /* The generator's own CPU: on a small machine it competes with the collector for cores,
     * and the report should say how much. */
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) == 0)
        printf(",\"cpu_seconds\":%.3f",
               (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
                   (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6);
    if (r.first_failure[0]) {
        printf(",\"first_failure\":");
        print_json_string(r.first_failure);
    }
    printf("}\n");
    fflush(stdout);
    if (rc == 0 && r.delivered_items == opt.items)
        exit_code = 0;
    else if (r.first_failure[0])
        fprintf(stderr, "otel-loadgen: %lld of %lld items not delivered; first failure: %s\n",
                opt.items - r.delivered_items, opt.items, r.first_failure);

done:
    if (slots) {
        for (long i = 0; i < opt.connections; i++) {
            if (slots[i].easy) {
                if (multi && slots[i].body >= 0)
                    curl_multi_remove_handle(multi, slots[i].easy);
                curl_easy_cleanup(slots[i].easy);
            }
        }
    }
    if (multi)
        curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
    if (curl_ready)
        curl_global_cleanup();
    if (r.bodies) {
        for (long v = 0; v <= r.variant_count; v++)
            free(r.bodies[v].data);
    }
    free(r.bodies);
    free(r.retry_queue);
    free(slots);
    return exit_code;
}
