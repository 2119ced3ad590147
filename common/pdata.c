/*
 * pdata.c - telemetry in memory (see pdata.h): the counting allocator, payload life cycle,
 * item counts, merge, split, attribute helpers.
 *
 * Mirrors the collector's pdata (core@v0.144.0 pdata/ptrace, pmetric, plog) where behaviour is
 * observable: item counts are spans / data points / log records, and payload_split follows the
 * batch processor's split_traces.go / split_metrics.go / split_logs.go (whole resources while they
 * fit, then a copied Resource with whole scopes, then a copied Scope with single items; metrics
 * split between data points), see shared/facts/pipeline.md §2 "Splitting".
 *
 * Every node of every tree is a separate block from the counting allocator, so
 * protobuf_c_message_free_unpacked(msg, pdata_allocator()) frees any tree built here.
 * Out of memory is an ordinary error: functions that change a tree first allocate everything
 * they need and only then move pointers, so a failure leaves the input untouched.
 *
 * Deliberately not done: unknown protobuf fields are not carried by copies (upstream pdata drops
 * them on unmarshal too); protobuf nesting deeper than PDATA_MAX_DEPTH is rejected on decode
 * (protobuf-c unpacks recursively and would otherwise overflow the stack on hostile input).
 */
#include "pdata.h"
#include "pdata_wire.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Memcheck must see region blocks as the heap blocks they stand for, or a use after free inside
 * a region would go unnoticed: each cut is announced as a malloc and each free as a free. ASan
 * has no such hook that fits, so under ASan every block comes from the heap. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MALLOCLIKE_BLOCK
#define VALGRIND_MALLOCLIKE_BLOCK(addr, size, redzone, zeroed) ((void)0)
#define VALGRIND_FREELIKE_BLOCK(addr, redzone) ((void)0)
#define VALGRIND_MAKE_MEM_NOACCESS(addr, size) ((void)0)
#define VALGRIND_MAKE_MEM_UNDEFINED(addr, size) ((void)0)
#endif
#if defined(__SANITIZE_ADDRESS__)
#define PDATA_REGIONS 0
#else
#define PDATA_REGIONS 1
#endif

/* Message nesting accepted from the wire (otlp_json.c uses the same bound). Real OTLP needs
 * about 10 levels plus 3 per nested map or array inside an attribute value. */
#define PDATA_MAX_DEPTH 128

/* ---- the counting allocator ---- */

/* Each block starts with a 16-byte header (keeping the caller's pointer aligned for any type:
 * max_align_t is 16 on the platforms we build). A heap block's header holds its total size; a
 * region block's header holds its region. The counters include headers and whole regions: they
 * are what the process really holds for telemetry. */
#define BLOCK_HEADER 16
_Static_assert(BLOCK_HEADER >= 2 * sizeof(void *), "header must hold a word and a kind");
_Static_assert(BLOCK_HEADER % alignof(max_align_t) == 0, "header must keep max alignment");

enum block_kind { BLOCK_HEAP = 0, BLOCK_REGION = 1 };

struct block_header {
    union {
        size_t total;                /* BLOCK_HEAP: bytes of the malloc'd block */
        struct pdata_region *region; /* BLOCK_REGION: the region the block was cut from */
    };
    uintptr_t kind;
};
_Static_assert(sizeof(struct block_header) == BLOCK_HEADER, "header layout");

/* A region is one malloc'd chunk that a decoding thread cuts blocks from with a bump pointer:
 * decoding a request makes a thousand small nodes, and one chunk instead of a thousand mallocs
 * (and frees, possibly in another thread) is most of the difference in the receive path's cost.
 * While open, `live` holds a large bias minus the blocks other threads freed so far, and the
 * owning thread counts in plain `cut` its cuts less its own frees (no locked instruction per
 * allocation or own free); closing swaps the bias for `cut`, so `live` becomes the number of
 * blocks still alive. The chunk goes back
 * when `live` reaches zero, whichever thread frees the last block; the bias keeps it from
 * reaching zero while the region is still being cut from. Blocks may move
 * freely between trees (merge, split): each free finds its region in its own header. The cost
 * is that a region is kept whole while any of its blocks lives. */
struct pdata_region {
    atomic_long live;
    /* 64 bytes apart, `live` and the owner's fields below never share a cache line: other
     * threads decrement `live` while the owner still cuts (writes `used` and `cut`), which
     * would bounce the line between cores on every block. */
    char live_line_pad[64 - sizeof(atomic_long)];
    long cut;    /* blocks cut while open, less the owner's frees; only the owner touches it */
    size_t size; /* bytes of the chunk, accounted in bytes_current */
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

#define REGION_MIN_SIZE ((size_t)16 * 1024)
#define REGION_MAX_SIZE ((size_t)4 * 1024 * 1024)

static atomic_size_t bytes_current;
static atomic_size_t bytes_peak;
/* Failure injection: only while armed does each allocation take a ticket from the shared
 * counter, so the hot path pays one relaxed load of a read-mostly flag. */
static atomic_bool fail_armed;
static atomic_long allocation_attempts;
static atomic_long fail_from = -1; /* attempt index from which every allocation fails; -1 none */

/* Set when an allocation fails in this thread, so callers of library code that reports failure
 * without a reason (protobuf_c_message_unpack returns NULL for bad data and for no memory) can
 * tell the two apart. */
static _Thread_local bool alloc_failed;
/* The region this thread cuts blocks from, between pdata_region_begin and _end. */
static _Thread_local struct pdata_region *open_region;
static _Thread_local size_t open_region_hint;

static void account_add(size_t total)
{
    size_t now = atomic_fetch_add_explicit(&bytes_current, total, memory_order_relaxed) + total;
    size_t peak = atomic_load_explicit(&bytes_peak, memory_order_relaxed);
    while (now > peak && !atomic_compare_exchange_weak(&bytes_peak, &peak, now))
        ;
}

static void account_sub(size_t total)
{
    atomic_fetch_sub_explicit(&bytes_current, total, memory_order_relaxed);
}

/* False when an injected failure is due (torture runs). */
static bool allocation_allowed(void)
{
    if (!atomic_load_explicit(&fail_armed, memory_order_relaxed))
        return true;
    long attempt = atomic_fetch_add(&allocation_attempts, 1);
    long limit = atomic_load(&fail_from);
    return !(limit >= 0 && attempt >= limit);
}

#define REGION_OPEN_BIAS (LONG_MAX / 2)

static void region_release(struct pdata_region *r)
{
    account_sub(sizeof(*r) + r->size);
    free(r);
}

/* A block of the region was freed (any thread). */
static void region_block_freed(struct pdata_region *r)
{
    /* The thread still cutting from the region un-counts its own cut: no locked instruction
     * for the many short-lived blocks a decoder or the filelog operators free right away.
     * Closing turns `cut` into what is still alive either way. */
    if (r == open_region) {
        r->cut--;
        return;
    }
    if (atomic_fetch_sub_explicit(&r->live, 1, memory_order_acq_rel) == 1)
        region_release(r);
}

/* The owning thread stops cutting from the region. */
static void region_close(struct pdata_region *r)
{
    long delta = r->cut - REGION_OPEN_BIAS;
    if (atomic_fetch_add_explicit(&r->live, delta, memory_order_acq_rel) + delta == 0)
        region_release(r);
}

static struct pdata_region *region_new(size_t size)
{
    struct pdata_region *r = malloc(sizeof(*r) + size);
    if (!r)
        return NULL;
    atomic_init(&r->live, REGION_OPEN_BIAS);
    r->cut = 0;
    r->size = size;
    r->used = 0;
    VALGRIND_MAKE_MEM_NOACCESS(r->data, size);
    account_add(sizeof(*r) + size);
    return r;
}

/* Cuts `total` bytes (header included, a multiple of 16) from this thread's open region,
 * replacing the region when it is full. NULL when the block should come from the heap. */
static unsigned char *region_cut(size_t total)
{
    struct pdata_region *r = open_region;
    if (total > REGION_MAX_SIZE / 4)
        return NULL; /* a large block would waste most of a region: heap */
    if (!r || r->size - r->used < total) {
        size_t size = open_region_hint;
        if (r)
            size = r->size * 2; /* the hint was too small: grow geometrically */
        if (size < REGION_MIN_SIZE)
            size = REGION_MIN_SIZE;
        if (size > REGION_MAX_SIZE)
            size = REGION_MAX_SIZE;
        struct pdata_region *fresh = region_new(size);
        if (!fresh)
            return NULL;
        if (r)
            region_close(r); /* freed once its blocks are */
        open_region = r = fresh;
    }
    unsigned char *block = r->data + r->used;
    r->used += total;
    r->cut++;
    VALGRIND_MAKE_MEM_UNDEFINED(block, BLOCK_HEADER);
    struct block_header *h = (struct block_header *)block;
    h->region = r;
    h->kind = BLOCK_REGION;
    VALGRIND_MALLOCLIKE_BLOCK(block + BLOCK_HEADER, total - BLOCK_HEADER, 0, 0);
    return block;
}

void pdata_region_begin(size_t size_hint)
{
    pdata_region_end();
    open_region_hint = size_hint;
}

void pdata_region_end(void)
{
    if (open_region)
        region_close(open_region);
    open_region = NULL;
    open_region_hint = 0;
}

void *pdata_alloc(size_t size)
{
    if (!allocation_allowed() || size > SIZE_MAX - 2 * BLOCK_HEADER) {
        alloc_failed = true;
        return NULL;
    }
    size_t total = (size + BLOCK_HEADER + BLOCK_HEADER - 1) & ~(size_t)(BLOCK_HEADER - 1);
    unsigned char *block = PDATA_REGIONS && open_region_hint ? region_cut(total) : NULL;
    if (!block) {
        block = malloc(total);
        if (!block) {
            alloc_failed = true;
            return NULL;
        }
        struct block_header *h = (struct block_header *)block;
        h->total = total;
        h->kind = BLOCK_HEAP;
        account_add(total);
    }
    return block + BLOCK_HEADER;
}

void *pdata_calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        alloc_failed = true;
        return NULL;
    }
    void *p = pdata_alloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

char *pdata_strdup(const char *s)
{
    size_t len = strlen(s);
    char *copy = pdata_alloc(len + 1);
    if (copy)
        memcpy(copy, s, len + 1);
    return copy;
}

void pdata_free(void *ptr)
{
    if (!ptr)
        return;
    struct block_header *h = (struct block_header *)((unsigned char *)ptr - BLOCK_HEADER);
    if (h->kind == BLOCK_REGION) {
        VALGRIND_FREELIKE_BLOCK(ptr, 0);
        region_block_freed(h->region);
        return;
    }
    account_sub(h->total);
    free(h);
}

void pdata_bytes_hold(size_t n)
{
    account_add(n);
}

void pdata_bytes_release(size_t n)
{
    account_sub(n);
}

size_t pdata_bytes_current(void)
{
    return atomic_load(&bytes_current);
}

size_t pdata_bytes_peak(void)
{
    return atomic_load(&bytes_peak);
}

void pdata_reset_peak(void)
{
    atomic_store(&bytes_peak, atomic_load(&bytes_current));
}

void pdata_fail_after(long n)
{
    atomic_store(&fail_from, atomic_load(&allocation_attempts) + (n < 0 ? 0 : n));
    atomic_store(&fail_armed, true);
}

void pdata_fail_clear(void)
{
    atomic_store(&fail_armed, false);
    atomic_store(&fail_from, -1);
}

long pdata_allocations(void)
{
    return atomic_load(&allocation_attempts);
}

static void *allocator_alloc(void *data, size_t size)
{
    (void)data;
    return pdata_alloc(size);
}

static void allocator_free(void *data, void *ptr)
{
    (void)data;
    pdata_free(ptr);
}

static ProtobufCAllocator counting_allocator = {
    .alloc = allocator_alloc,
    .free = allocator_free,
    .allocator_data = NULL,
};

ProtobufCAllocator *pdata_allocator(void)
{
    return &counting_allocator;
}

/* ---- signals ---- */

const char *signal_name(enum signal s)
{
    switch (s) {
    case SIGNAL_TRACES: return "traces";
    case SIGNAL_METRICS: return "metrics";
    case SIGNAL_LOGS: return "logs";
    }
    return "unknown";
}

int signal_parse(const char *name, enum signal *out)
{
    if (!name)
        return -EINVAL;
    /* "traces/foo" is a pipeline id of type traces (upstream's type[/name]). */
    size_t type_len = strcspn(name, "/");
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        const char *candidate = signal_name((enum signal)s);
        if (strlen(candidate) == type_len && strncmp(name, candidate, type_len) == 0) {
            *out = (enum signal)s;
            return 0;
        }
    }
    return -EINVAL;
}

const char *signal_item_name(enum signal s)
{
    switch (s) {
    case SIGNAL_TRACES: return "spans";
    case SIGNAL_METRICS: return "metric_points";
    case SIGNAL_LOGS: return "log_records";
    }
    return "items";
}

/* ---- generic access to the request trees ----
 *
 * The three signals share one shape: Request.resource_X[] -> ResourceX{resource, scope_X[]} ->
 * ScopeX{scope, items[]}. The code below walks that shape through protobuf-c's descriptors so
 * merge and split are written once; metrics add one level (Metric -> data points). */

struct signal_shape {
    const ProtobufCMessageDescriptor *request;
    const char *resources; /* repeated field of the request */
    const ProtobufCMessageDescriptor *resource_x;
    const char *scopes; /* repeated field of ResourceX */
    const ProtobufCMessageDescriptor *scope_x;
    const char *items; /* repeated field of ScopeX */
};

static const struct signal_shape shapes[SIGNAL_COUNT] = {
    [SIGNAL_TRACES] =
        {&opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
         "resource_spans", &opentelemetry__proto__trace__v1__resource_spans__descriptor,
         "scope_spans", &opentelemetry__proto__trace__v1__scope_spans__descriptor, "spans"},
    [SIGNAL_METRICS] =
        {&opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor,
         "resource_metrics", &opentelemetry__proto__metrics__v1__resource_metrics__descriptor,
         "scope_metrics", &opentelemetry__proto__metrics__v1__scope_metrics__descriptor, "metrics"},
    [SIGNAL_LOGS] =
        {&opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
         "resource_logs", &opentelemetry__proto__logs__v1__resource_logs__descriptor, "scope_logs",
         &opentelemetry__proto__logs__v1__scope_logs__descriptor, "log_records"},
};

/* A repeated message field seen from outside: its count and its array. Like protobuf-c itself,
 * this reaches struct members through the descriptor's offsets. */
struct list {
    size_t *n;
    ProtobufCMessage ***items;
};

static const ProtobufCFieldDescriptor *field_named(const ProtobufCMessageDescriptor *desc,
                                                   const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, name);
    assert(f != NULL);
    return f;
}

static struct list list_of(ProtobufCMessage *msg, const char *field)
{
    const ProtobufCFieldDescriptor *f = field_named(msg->descriptor, field);
    assert(f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE);
    return (struct list){(size_t *)((char *)msg + f->quantifier_offset),
                         (ProtobufCMessage ***)((char *)msg + f->offset)};
}

/* The singular message field `field` (resource, scope) as a pointer slot. */
static ProtobufCMessage **slot_of(ProtobufCMessage *msg, const char *field)
{
    const ProtobufCFieldDescriptor *f = field_named(msg->descriptor, field);
    assert(f->label != PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE);
    return (ProtobufCMessage **)((char *)msg + f->offset);
}

typedef Opentelemetry__Proto__Metrics__V1__Metric otlp_metric;

/* The data points of a metric, whatever its type; n == NULL when it has no data. */
static struct list metric_points(otlp_metric *m)
{
    /* The data members share one union slot; each type's struct starts with its base. */
    ProtobufCMessage *data = NULL;
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        data = (ProtobufCMessage *)m->gauge;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        data = (ProtobufCMessage *)m->sum;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        data = (ProtobufCMessage *)m->histogram;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        data = (ProtobufCMessage *)m->exponential_histogram;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        data = (ProtobufCMessage *)m->summary;
        break;
    default: break;
    }
    /* A case with a NULL member cannot come from unpack but may be built by hand. */
    if (!data)
        return (struct list){NULL, NULL};
    return list_of(data, "data_points");
}

static size_t metric_point_count(otlp_metric *m)
{
    struct list points = metric_points(m);
    return points.n ? *points.n : 0;
}

/* Items a ScopeX holds: spans, log records, or data points over all its metrics. */
static size_t scope_item_count(enum signal s, ProtobufCMessage *scope_x)
{
    struct list items = list_of(scope_x, shapes[s].items);
    if (s != SIGNAL_METRICS)
        return *items.n;
    size_t count = 0;
    for (size_t i = 0; i < *items.n; i++)
        count += metric_point_count((otlp_metric *)(*items.items)[i]);
    return count;
}

static size_t resource_item_count(enum signal s, ProtobufCMessage *resource_x)
{
    struct list scopes = list_of(resource_x, shapes[s].scopes);
    size_t count = 0;
    for (size_t i = 0; i < *scopes.n; i++)
        count += scope_item_count(s, (*scopes.items)[i]);
    return count;
}

/* A new message of `desc` with every field at its default, from the counting allocator. */
static ProtobufCMessage *message_new(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *msg = pdata_alloc(desc->sizeof_message);
    if (msg)
        desc->message_init(msg);
    return msg;
}

static void message_free(ProtobufCMessage *msg)
{
    protobuf_c_message_free_unpacked(msg, pdata_allocator());
}

static ProtobufCMessage *message_dup(const ProtobufCMessage *src);

/* Copies one value of a string/bytes/message field into `dst` (which holds the default).
 * Returns 0 or -ENOMEM with `dst` unchanged. */
static int value_dup(const ProtobufCFieldDescriptor *f, void *dst, const void *src)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)src;
        if (!s || s == f->default_value) {
            *(const char **)dst = s;
            return 0;
        }
        char *copy = pdata_strdup(s);
        if (!copy)
            return -ENOMEM;
        *(char **)dst = copy;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = src;
        ProtobufCBinaryData copy = {b->len, NULL};
        if (b->len > 0) {
            copy.data = pdata_alloc(b->len);
            if (!copy.data)
                return -ENOMEM;
            memcpy(copy.data, b->data, b->len);
        }
        *(ProtobufCBinaryData *)dst = copy;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)src;
        if (!m) {
            *(ProtobufCMessage **)dst = NULL;
            return 0;
        }
        ProtobufCMessage *copy = message_dup(m);
        if (!copy)
            return -ENOMEM;
        *(ProtobufCMessage **)dst = copy;
        return 0;
    }
    default: memcpy(dst, src, pdata_type_size(f->type)); return 0;
    }
}

/* Deep copy driven by the descriptor. At every step the copy is a valid tree (counts are only
 * raised after the element is in place, a oneof case only after its value), so a failure frees
 * it with free_unpacked. NULL on allocation failure. */
static ProtobufCMessage *message_dup(const ProtobufCMessage *src)
{
    const ProtobufCMessageDescriptor *desc = src->descriptor;
    ProtobufCMessage *dst = message_new(desc);
    if (!dst)
        return NULL;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        const char *s = (const char *)src;
        char *d = (char *)dst;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)(s + f->quantifier_offset);
            if (which != f->id)
                continue;
            if (value_dup(f, d + f->offset, s + f->offset) < 0)
                goto fail;
            *(uint32_t *)(d + f->quantifier_offset) = which;
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(s + f->quantifier_offset);
            const char *from = *(char *const *)(s + f->offset);
            if (n == 0 || !from)
                continue;
            size_t elem = pdata_type_size(f->type);
            char *to = pdata_calloc(n, elem);
            if (!to)
                goto fail;
            *(char **)(d + f->offset) = to;
            size_t *count = (size_t *)(d + f->quantifier_offset);
            for (size_t k = 0; k < n; k++) {
                if (value_dup(f, to + k * elem, from + k * elem) < 0)
                    goto fail;
                *count = k + 1;
            }
        } else {
            if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
                memcpy(d + f->quantifier_offset, s + f->quantifier_offset,
                       sizeof(protobuf_c_boolean));
            if (value_dup(f, d + f->offset, s + f->offset) < 0)
                goto fail;
        }
    }
    return dst;
fail:
    message_free(dst);
    return NULL;
}

/* ---- wire-format depth check ---- */

static int read_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            return -1;
        uint8_t byte = buf[(*pos)++];
        value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = value;
            return 0;
        }
    }
    return -1;
}

/* Walks the wire format of `desc` and fails on nesting deeper than PDATA_MAX_DEPTH, before
 * protobuf-c's recursive unpack sees it. Malformed framing also fails here (unpack would too). */
static int wire_depth_check(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                            int depth)
{
    if (depth > PDATA_MAX_DEPTH)
        return -1;
    size_t pos = 0;
    while (pos < len) {
        uint64_t tag, value;
        if (read_varint(buf, len, &pos, &tag) < 0)
            return -1;
        switch (tag & 7) {
        case 0:
            if (read_varint(buf, len, &pos, &value) < 0)
                return -1;
            break;
        case 1:
            if (len - pos < 8)
                return -1;
            pos += 8;
            break;
        case 5:
            if (len - pos < 4)
                return -1;
            pos += 4;
            break;
        case 2: {
            if (read_varint(buf, len, &pos, &value) < 0 || value > len - pos)
                return -1;
            const ProtobufCFieldDescriptor *f =
                tag >> 3 <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(tag >> 3))
                    : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                wire_depth_check(f->descriptor, buf + pos, (size_t)value, depth + 1) < 0)
                return -1;
            pos += (size_t)value;
            break;
        }
        default: return -1; /* groups are not part of OTLP; protobuf-c would reject them too */
        }
    }
    return 0;
}

/* Upstream pdata holds trace and span ids in fixed-size arrays, so its protobuf unmarshal
 * rejects any other non-empty length; this walk gives the same answer. Returns the name of the
 * first bad field, or NULL. */
static const char *bad_id_field(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    bool otlp = desc->package_name && strncmp(desc->package_name, "opentelemetry.proto.", 20) == 0;
    const char *base = (const char *)msg;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            const ProtobufCMessage *const *subs =
                (const ProtobufCMessage *const *)(base + f->offset);
            size_t n = 1;
            if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                n = *(const size_t *)(base + f->quantifier_offset);
                subs = *(const ProtobufCMessage *const *const *)(base + f->offset);
            }
            for (size_t k = 0; k < n; k++) {
                const char *bad = subs[k] ? bad_id_field(subs[k]) : NULL;
                if (bad)
                    return bad;
            }
        } else if (otlp && f->type == PROTOBUF_C_TYPE_BYTES &&
                   f->label != PROTOBUF_C_LABEL_REPEATED) {
            size_t want =
                strcmp(f->name, "trace_id") == 0                                            ? 16
                : strcmp(f->name, "span_id") == 0 || strcmp(f->name, "parent_span_id") == 0 ? 8
                                                                                            : 0;
            size_t len = ((const ProtobufCBinaryData *)(base + f->offset))->len;
            if (want && len != 0 && len != want)
                return f->name;
        }
    }
    return NULL;
}

/* ---- payloads ---- */

struct payload *payload_new(enum signal signal)
{
    struct payload *p = pdata_alloc(sizeof(*p));
    if (!p)
        return NULL;
    p->signal = signal;
    p->message = message_new(shapes[signal].request);
    if (!p->message) {
        pdata_free(p);
        return NULL;
    }
    return p;
}

void payload_free(struct payload *p)
{
    if (!p)
        return;
    message_free(p->message);
    pdata_free(p);
}

int payload_decode(enum signal signal, const uint8_t *buf, size_t len, struct payload **out,
                   struct error *err)
{
    *out = NULL;
    const ProtobufCMessageDescriptor *desc = shapes[signal].request;
    if (wire_depth_check(desc, buf, len, 1) < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "invalid protobuf %s request (malformed, or nested deeper than %d)",
                         signal_name(signal), PDATA_MAX_DEPTH);
    struct payload *p = pdata_alloc(sizeof(*p));
    if (!p)
        return error_set(err, -ENOMEM, ERROR_REFUSED, "out of memory decoding protobuf");
    p->signal = signal;
    alloc_failed = false;
    /* Decoded nodes take roughly twice the wire size (structs, pointer arrays, NUL-terminated
     * copies of strings): one region of that size usually holds the whole tree. */
    pdata_region_begin(2 * len + 1024);
    p->message = protobuf_c_message_unpack(desc, pdata_allocator(), len, buf);
    pdata_region_end();
    if (!p->message) {
        bool no_memory = alloc_failed;
        pdata_free(p);
        if (no_memory)
            return error_set(err, -ENOMEM, ERROR_REFUSED, "out of memory decoding protobuf");
        return error_set(err, -EINVAL, ERROR_PERMANENT, "invalid protobuf %s request",
                         signal_name(signal));
    }
    const char *bad = bad_id_field(p->message);
    if (bad) {
        payload_free(p);
        return error_set(err, -EINVAL, ERROR_PERMANENT, "invalid protobuf %s request: %s: %s",
                         signal_name(signal), bad, "length mismatch");
    }
    *out = p;
    return 0;
}

int payload_encode(const struct payload *p, uint8_t **out, size_t *out_len)
{
    return pdata_wire_encode(p->message, out, out_len);
}

struct payload *payload_clone(const struct payload *p)
{
    struct payload *copy = pdata_alloc(sizeof(*copy));
    if (!copy)
        return NULL;
    copy->signal = p->signal;
    copy->message = message_dup(p->message);
    if (!copy->message) {
        pdata_free(copy);
        return NULL;
    }
    return copy;
}

size_t payload_item_count(const struct payload *p)
{
    struct list resources = list_of(p->message, shapes[p->signal].resources);
    size_t count = 0;
    for (size_t i = 0; i < *resources.n; i++)
        count += resource_item_count(p->signal, (*resources.items)[i]);
    return count;
}

int payload_merge(struct payload *dst, struct payload *src)
{
    if (dst->signal != src->signal)
        return -EINVAL;
    struct list to = list_of(dst->message, shapes[dst->signal].resources);
    struct list from = list_of(src->message, shapes[src->signal].resources);
    if (*from.n == 0)
        return 0;
    size_t total = *to.n + *from.n;
    ProtobufCMessage **joined = pdata_calloc(total, sizeof(*joined));
    if (!joined)
        return -ENOMEM;
    if (*to.n)
        memcpy(joined, *to.items, *to.n * sizeof(*joined));
    memcpy(joined + *to.n, *from.items, *from.n * sizeof(*joined));
    pdata_free(*to.items);
    pdata_free(*from.items);
    *to.items = joined;
    *to.n = total;
    *from.items = NULL;
    *from.n = 0;
    return 0;
}

/* ---- split ----
 *
 * Upstream's algorithm (split_traces.go and friends), restated: walk resources in order, moving
 * whole ones while they fit; the first one that does not fit is split: a new ResourceX with a
 * copy of its Resource (schema_url is not copied, on purpose, as upstream) takes whole scopes
 * while they fit; the first scope that does not fit is split: a new ScopeX with a copy of its
 * Scope takes items one by one. For metrics the items are metrics moved whole while they fit,
 * and the first that does not fit is split between data points into a new Metric that copies
 * name, description, unit, temporality and monotonicity (not metadata).
 *
 * To leave `src` unchanged on -ENOMEM, the split is planned first (where the cut falls),
 * then every block it needs is allocated, and only then are pointers moved. */

struct split_plan {
    size_t whole_resources; /* leading resources that move whole */
    bool partial_resource;  /* the resource after them is split */
    size_t whole_scopes;    /* leading scopes of the split resource that move whole */
    bool partial_scope;     /* the scope after them is split */
    size_t whole_items;     /* leading items (spans, log records, metrics) of the split scope */
    bool partial_metric;    /* metrics: the metric after them is split */
    size_t points;          /* data points moved out of the split metric */
};

static void split_plan_make(enum signal s, ProtobufCMessage *request, size_t max,
                            struct split_plan *plan)
{
    const struct signal_shape *shape = &shapes[s];
    memset(plan, 0, sizeof(*plan));
    size_t moved = 0;
    struct list resources = list_of(request, shape->resources);
    size_t r = 0;
    for (; r < *resources.n; r++) {
        size_t count = resource_item_count(s, (*resources.items)[r]);
        if (moved + count > max)
            break;
        moved += count;
    }
    plan->whole_resources = r;
    if (r == *resources.n || moved == max)
        return;
    plan->partial_resource = true;
    struct list scopes = list_of((*resources.items)[r], shape->scopes);
    size_t sc = 0;
    for (; sc < *scopes.n; sc++) {
        size_t count = scope_item_count(s, (*scopes.items)[sc]);
        if (moved + count > max)
            break;
        moved += count;
    }
    plan->whole_scopes = sc;
    if (sc == *scopes.n || moved == max)
        return;
    plan->partial_scope = true;
    struct list items = list_of((*scopes.items)[sc], shape->items);
    if (s != SIGNAL_METRICS) {
        plan->whole_items = max - moved;
        return;
    }
    size_t m = 0;
    for (; m < *items.n; m++) {
        size_t count = metric_point_count((otlp_metric *)(*items.items)[m]);
        if (moved + count > max)
            break;
        moved += count;
    }
    plan->whole_items = m;
    if (m == *items.n || moved == max)
        return;
    plan->partial_metric = true;
    plan->points = max - moved;
}

/* Everything the split allocates, owned here until the commit. */
struct split_blocks {
    struct payload *out;
    ProtobufCMessage **out_resources, **kept_resources;
    ProtobufCMessage *resource_x; /* new ResourceX heading the moved part of the split one */
    ProtobufCMessage **out_scopes, **kept_scopes;
    ProtobufCMessage *scope_x; /* new ScopeX heading the moved part of the split scope */
    ProtobufCMessage **out_items, **kept_items;
    otlp_metric *metric; /* new Metric heading the moved points of the split metric */
    ProtobufCMessage **out_points, **kept_points;
};

static void split_blocks_free(struct split_blocks *b)
{
    pdata_free(b->out_resources);
    pdata_free(b->kept_resources);
    pdata_free(b->out_scopes);
    pdata_free(b->kept_scopes);
    pdata_free(b->out_items);
    pdata_free(b->kept_items);
    pdata_free(b->out_points);
    pdata_free(b->kept_points);
    if (b->resource_x)
        message_free(b->resource_x);
    if (b->scope_x)
        message_free(b->scope_x);
    if (b->metric)
        message_free(&b->metric->base);
    payload_free(b->out);
}

/* An array for `n` pointers, or NULL when n is 0 (which is not a failure). */
static int pointer_array(size_t n, ProtobufCMessage ***out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    *out = pdata_calloc(n, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

/* A new ResourceX/ScopeX holding a copy of `src`'s head field (resource or scope). */
static ProtobufCMessage *container_with_head_copy(ProtobufCMessage *src, const char *head)
{
    ProtobufCMessage *container = message_new(src->descriptor);
    if (!container)
        return NULL;
    ProtobufCMessage *from = *slot_of(src, head);
    if (from) {
        ProtobufCMessage *copy = message_dup(from);
        if (!copy) {
            message_free(container);
            return NULL;
        }
        *slot_of(container, head) = copy;
    }
    return container;
}

static char *string_dup_or_default(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return (char *)protobuf_c_empty_string;
    return pdata_strdup(s);
}

/* A Metric with `src`'s identity and an empty data message of the same type. */
static otlp_metric *metric_identity_copy(const otlp_metric *src)
{
    otlp_metric *m = (otlp_metric *)message_new(src->base.descriptor);
    if (!m)
        return NULL;
    if (!(m->name = string_dup_or_default(src->name)) ||
        !(m->description = string_dup_or_default(src->description)) ||
        !(m->unit = string_dup_or_default(src->unit)))
        goto fail;
    switch (src->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        m->gauge = (void *)message_new(src->gauge->base.descriptor);
        if (!m->gauge)
            goto fail;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        m->sum = (void *)message_new(src->sum->base.descriptor);
        if (!m->sum)
            goto fail;
        m->sum->aggregation_temporality = src->sum->aggregation_temporality;
        m->sum->is_monotonic = src->sum->is_monotonic;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        m->histogram = (void *)message_new(src->histogram->base.descriptor);
        if (!m->histogram)
            goto fail;
        m->histogram->aggregation_temporality = src->histogram->aggregation_temporality;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        m->exponential_histogram = (void *)message_new(src->exponential_histogram->base.descriptor);
        if (!m->exponential_histogram)
            goto fail;
        m->exponential_histogram->aggregation_temporality =
            src->exponential_histogram->aggregation_temporality;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        m->summary = (void *)message_new(src->summary->base.descriptor);
        if (!m->summary)
            goto fail;
        break;
    default: break;
    }
    m->data_case = src->data_case;
    return m;
fail:
    message_free(&m->base);
    return NULL;
}

/* Allocates every block the plan needs. Returns 0 or -ENOMEM (blocks freed by the caller). */
static int split_blocks_alloc(enum signal s, ProtobufCMessage *request,
                              const struct split_plan *plan, struct split_blocks *b)
{
    const struct signal_shape *shape = &shapes[s];
    struct list resources = list_of(request, shape->resources);
    size_t out_n = plan->whole_resources + (plan->partial_resource ? 1 : 0);
    if (!(b->out = payload_new(s)) || pointer_array(out_n, &b->out_resources) < 0 ||
        pointer_array(*resources.n - plan->whole_resources, &b->kept_resources) < 0)
        return -ENOMEM;
    if (!plan->partial_resource)
        return 0;

    ProtobufCMessage *resource_x = (*resources.items)[plan->whole_resources];
    struct list scopes = list_of(resource_x, shape->scopes);
    if (!(b->resource_x = container_with_head_copy(resource_x, "resource")) ||
        pointer_array(plan->whole_scopes + (plan->partial_scope ? 1 : 0), &b->out_scopes) < 0 ||
        pointer_array(*scopes.n - plan->whole_scopes, &b->kept_scopes) < 0)
        return -ENOMEM;
    if (!plan->partial_scope)
        return 0;

    ProtobufCMessage *scope_x = (*scopes.items)[plan->whole_scopes];
    struct list items = list_of(scope_x, shape->items);
    if (!(b->scope_x = container_with_head_copy(scope_x, "scope")) ||
        pointer_array(plan->whole_items + (plan->partial_metric ? 1 : 0), &b->out_items) < 0 ||
        pointer_array(*items.n - plan->whole_items, &b->kept_items) < 0)
        return -ENOMEM;
    if (!plan->partial_metric)
        return 0;

    otlp_metric *metric = (otlp_metric *)(*items.items)[plan->whole_items];
    struct list points = metric_points(metric);
    if (!(b->metric = metric_identity_copy(metric)) ||
        pointer_array(plan->points, &b->out_points) < 0 ||
        pointer_array(*points.n - plan->points, &b->kept_points) < 0)
        return -ENOMEM;
    return 0;
}

/* Moves the first `moved` entries of `from` into `out` (already sized), the rest into `kept`,
 * and makes `kept` the list's new array. Frees the old array. Cannot fail. */
static void list_cut(struct list from, size_t moved, ProtobufCMessage **out,
                     ProtobufCMessage **kept)
{
    size_t n = *from.n;
    if (moved)
        memcpy(out, *from.items, moved * sizeof(*out));
    if (n > moved)
        memcpy(kept, *from.items + moved, (n - moved) * sizeof(*kept));
    pdata_free(*from.items);
    *from.items = kept;
    *from.n = n - moved;
}

/* Moves the planned items; every block is in `b`, so nothing here can fail. */
static void split_commit(enum signal s, ProtobufCMessage *request, const struct split_plan *plan,
                         struct split_blocks *b)
{
    const struct signal_shape *shape = &shapes[s];
    struct list resources = list_of(request, shape->resources);
    ProtobufCMessage *resource_x =
        plan->partial_resource ? (*resources.items)[plan->whole_resources] : NULL;
    list_cut(resources, plan->whole_resources, b->out_resources, b->kept_resources);
    struct list out_resources = list_of(b->out->message, shape->resources);
    *out_resources.items = b->out_resources;
    *out_resources.n = plan->whole_resources;
    b->out_resources = b->kept_resources = NULL;
    if (!resource_x)
        return;

    struct list scopes = list_of(resource_x, shape->scopes);
    ProtobufCMessage *scope_x = plan->partial_scope ? (*scopes.items)[plan->whole_scopes] : NULL;
    list_cut(scopes, plan->whole_scopes, b->out_scopes, b->kept_scopes);
    struct list new_scopes = list_of(b->resource_x, shape->scopes);
    *new_scopes.items = b->out_scopes;
    *new_scopes.n = plan->whole_scopes;
    (*out_resources.items)[(*out_resources.n)++] = b->resource_x;
    b->out_scopes = b->kept_scopes = NULL;
    b->resource_x = NULL;
    if (!scope_x)
        return;

    struct list items = list_of(scope_x, shape->items);
    otlp_metric *metric =
        plan->partial_metric ? (otlp_metric *)(*items.items)[plan->whole_items] : NULL;
    list_cut(items, plan->whole_items, b->out_items, b->kept_items);
    struct list new_items = list_of(b->scope_x, shape->items);
    *new_items.items = b->out_items;
    *new_items.n = plan->whole_items;
    (*new_scopes.items)[(*new_scopes.n)++] = b->scope_x;
    b->out_items = b->kept_items = NULL;
    b->scope_x = NULL;
    if (!metric)
        return;

    struct list points = metric_points(metric);
    list_cut(points, plan->points, b->out_points, b->kept_points);
    struct list new_points = metric_points(b->metric);
    *new_points.items = b->out_points;
    *new_points.n = plan->points;
    (*new_items.items)[(*new_items.n)++] = &b->metric->base;
    b->out_points = b->kept_points = NULL;
    b->metric = NULL;
}

int payload_split(struct payload *src, size_t max_items, struct payload **out)
{
    *out = NULL;
    /* Everything moves when it fits, as upstream returns the input itself. max_items 0 means
     * "no cap" (send_batch_max_size: 0). */
    if (max_items == 0 || payload_item_count(src) <= max_items) {
        struct payload *all = payload_new(src->signal);
        if (!all)
            return -ENOMEM;
        if (payload_merge(all, src) < 0) {
            payload_free(all);
            return -ENOMEM;
        }
        *out = all;
        return 0;
    }
    struct split_plan plan;
    split_plan_make(src->signal, src->message, max_items, &plan);
    struct split_blocks blocks = {0};
    if (split_blocks_alloc(src->signal, src->message, &plan, &blocks) < 0) {
        split_blocks_free(&blocks);
        return -ENOMEM;
    }
    split_commit(src->signal, src->message, &plan, &blocks);
    *out = blocks.out;
    blocks.out = NULL;
    split_blocks_free(&blocks);
    return 0;
}

/* ---- attributes ---- */

static otlp_keyvalue *attr_find(otlp_keyvalue *const *attrs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (attrs[i] && attrs[i]->key && strcmp(attrs[i]->key, key) == 0)
            return attrs[i];
    return NULL;
}

const otlp_anyvalue *pdata_attr_get(otlp_keyvalue *const *attrs, size_t n, const char *key)
{
    otlp_keyvalue *kv = attr_find(attrs, n, key);
    return kv ? kv->value : NULL;
}

const char *pdata_attr_get_string(otlp_keyvalue *const *attrs, size_t n, const char *key)
{
    const otlp_anyvalue *v = pdata_attr_get(attrs, n, key);
    if (v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
        return v->string_value;
    return NULL;
}

/* A new AnyValue holding a copy of `value`. NULL on allocation failure. */
static otlp_anyvalue *anyvalue_string(const char *value)
{
    otlp_anyvalue *v =
        (otlp_anyvalue *)message_new(&opentelemetry__proto__common__v1__any_value__descriptor);
    if (!v)
        return NULL;
    /* Always a real copy, even for "": the oneof case must be set and the tree stays freeable. */
    v->string_value = pdata_strdup(value);
    if (!v->string_value) {
        message_free(&v->base);
        return NULL;
    }
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    return v;
}

/* Appends key=value (string). The array is replaced by a larger one. 0 or -ENOMEM (then the
 * array is unchanged). */
static int attr_append_string(otlp_keyvalue ***attrs, size_t *n, const char *key, const char *value)
{
    otlp_keyvalue *kv =
        (otlp_keyvalue *)message_new(&opentelemetry__proto__common__v1__key_value__descriptor);
    if (!kv)
        return -ENOMEM;
    otlp_keyvalue **grown = NULL;
    if (!(kv->key = pdata_strdup(key)) || !(kv->value = anyvalue_string(value)) ||
        !(grown = pdata_calloc(*n + 1, sizeof(*grown)))) {
        message_free(&kv->base);
        return -ENOMEM;
    }
    if (*n)
        memcpy(grown, *attrs, *n * sizeof(*grown));
    grown[*n] = kv;
    pdata_free(*attrs);
    *attrs = grown;
    (*n)++;
    return 0;
}

int pdata_attr_upsert_string(otlp_keyvalue ***attrs, size_t *n, const char *key, const char *value)
{
    otlp_keyvalue *kv = attr_find(*attrs, *n, key);
    if (!kv)
        return attr_append_string(attrs, n, key, value);
    otlp_anyvalue *v = anyvalue_string(value);
    if (!v)
        return -ENOMEM;
    if (kv->value)
        message_free(&kv->value->base);
    kv->value = v;
    return 0;
}

int pdata_attr_insert_string(otlp_keyvalue ***attrs, size_t *n, const char *key, const char *value)
{
    if (attr_find(*attrs, *n, key))
        return 0;
    return attr_append_string(attrs, n, key, value);
}
