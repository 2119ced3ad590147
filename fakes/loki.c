/*
 * loki.c - fake Loki 3.x OTLP endpoint (pipeline.md §8), checked against loki@v3.6.4:
 *   pkg/loghttp/push/otlp.go      extractLogs (encodings, content types), the translation is in
 *                                 loki_otlp.c
 *   pkg/loghttp/push/push.go      OTLPError: google.rpc.Status with code 0, 500 -> 503; the
 *                                 Content-Type header is set after WriteHeader, so Go sniffs
 *                                 the body instead: application/octet-stream
 *   pkg/distributor/http.go       pushHandler: parse errors -> 400, push errors -> their status
 *   pkg/distributor/distributor.go PushWithResolver: no streams -> 422, streams without entries
 *                                 skipped, label checks per stream, entry checks per entry, bad
 *                                 entries dropped and good ones stored, then 400 with the
 *                                 grouped messages (util.GroupedErrors)
 *   pkg/distributor/validator.go  ValidateLabels / ValidateEntry, in that order of checks
 *   pkg/validation/validate.go    the messages, word for word
 *   dskit middleware/http_auth.go, tenant/{resolver,tenant}.go: 401 `no org id`, tenant checks
 *
 * Request flow: route (404 / 405 as gorilla mux) -> tenant (401/400) -> Content-Encoding ->
 * body size (413) -> Content-Type -> decode (400) -> translate -> validate -> store -> 204 or
 * 400 / 422. A protobuf push whose every entry passes is answered from its bytes instead
 * (loki_wire.h: the same numbers, read without building the tree or the push); decoding and
 * translating it cost the fake more CPU than the collector spent sending it.
 *
 * Storage: ingest translates and validates every entry as Loki does, since that decides the
 * answer, but keeps only the request as it came (its protobuf bytes, kept.h) with its tenant
 * and clock. A view replays the push of every kept request, which gives exactly the entries
 * ingest stored. Keeping the translated entries instead cost ~3 KB per entry. With
 * loki_options.discard (otel-fakes --discard, for benchmarks) nothing is kept: the answer and
 * the count of stored entries (*items_out) are the same, the views stay empty.
 *
 * An OTLP request without any log record: otlp.go returns an empty push request for it
 * (`ld.LogRecordCount() == 0`), and PushWithResolver refuses a push without streams with 422
 * `error at least one valid stream is required for ingestion` before any validation. So such a
 * request is 422 here too, not 204 (unlike the collector's receiver, which answers an empty
 * request with success). So is a request whose every resource has labels that fail
 * LabelSet.Validate (otlp.go skips such a resource). A resource with labels but no records
 * makes a stream without entries, which Loki skips silently: 204 when nothing else is wrong.
 *
 * Deliberately not done:
 * - lz4 request bodies: Loki reads them, this fake answers them as an unsupported encoding (400)
 *   because no lz4 library is part of the build. A simplification; the collector's otlphttp
 *   exporter sends gzip by default.
 * - detected_level: Loki 3.x adds it by rules (level fields, severity_number ranges, JSON and
 *   logfmt lines, keywords) whose precedence and normalisation changed between 3.x releases;
 *   the facts do not pin them for v3.6.4, so a guess would put a wrong label into goldens.
 *   Left out.
 * - rate limiting, stream limits, per-stream rate limits: injected as faults instead (429 with
 *   Loki's message, see loki_refuse).
 * - the ingester's de-duplication of entries identical in timestamp and line: the fake keeps
 *   both, so a scenario can see that a retry delivered twice.
 * - per-tenant otlp_config, severity_text_as_label, time sharding, line truncation: defaults only.
 */
#include "loki.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compress.h"
#include "fake_util.h"
#include "kept.h"
#include "log.h"
#include "loki_otlp.h"
#include "loki_wire.h"
#include "otlp_json.h"
#include "pdata.h"

#define LOG_COMP "fake/loki"
#define OTLP_PATH "/otlp/v1/logs"
#define NO_ORG_ID "no org id"
#define MISSING_STREAMS "error at least one valid stream is required for ingestion"
#define TENANT_ID_MAX 150

/* What a kept push request needs beside its bytes to be pushed again for a view: the push is a
 * function of the request, the tenant and the clock (records without a timestamp get `now`,
 * validation compares with it), so replaying it gives exactly what was stored. */
struct push_index {
    int64_t now_ns;
    char tenant[TENANT_ID_MAX + 1];
};

struct loki {
    pthread_mutex_t mutex;
    bool auth_enabled;
    bool discard; /* loki_options.discard */
    int64_t (*now_ns)(void);
    struct kept_list kept; /* requests with stored entries, in arrival order */
    size_t stored_entries;
    struct loki_wire_cache *wire_cache; /* translated resources of the fast path */
};

/* ---- lifecycle ---- */

struct loki *loki_new(const struct loki_options *opts)
{
    struct loki *loki = calloc(1, sizeof(*loki));
    if (!loki)
        return NULL;
    loki->auth_enabled = opts && opts->auth_enabled;
    loki->discard = opts && opts->discard;
    loki->now_ns = opts && opts->now_ns ? opts->now_ns : fake_util_now_ns;
    pthread_mutex_init(&loki->mutex, NULL);
    loki->wire_cache = loki_wire_cache_new();
    if (!loki->wire_cache) {
        loki_free(loki);
        return NULL;
    }
    return loki;
}

void loki_free(struct loki *loki)
{
    if (!loki)
        return;
    kept_list_clear(&loki->kept);
    loki_wire_cache_free(loki->wire_cache);
    pthread_mutex_destroy(&loki->mutex);
    free(loki);
}

void loki_reset(struct loki *loki)
{
    struct kept_list old;
    pthread_mutex_lock(&loki->mutex);
    kept_list_detach(&loki->kept, &old);
    loki->stored_entries = 0;
    pthread_mutex_unlock(&loki->mutex);
    kept_list_clear(&old);
}

size_t loki_stored_entries(struct loki *loki)
{
    pthread_mutex_lock(&loki->mutex);
    size_t n = loki->stored_entries;
    pthread_mutex_unlock(&loki->mutex);
    return n;
}

/* ---- answers ---- */

/* OTLPError: the status in the header, google.rpc.Status{code: 0, message} as the body. */
static void otlp_error(struct http_response *resp, int status, const char *message)
{
    if (status == 500)
        status = 503; /* "so OTLP clients retry", on purpose as upstream */
    fake_util_write_rpc_status(resp, status, 0, message, false, "application/octet-stream");
}

static void text_error(struct http_response *resp, int status, const char *message)
{
    /* http.Error: text/plain; charset=utf-8 with a trailing newline. */
    http_response_printf(resp, status, "text/plain; charset=utf-8", "%s\n", message);
}

/* ---- tenancy (dskit tenant package) ---- */

static bool tenant_char_supported(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!-_.*'()", c) != NULL;
}

/* tenant.ValidTenantID. Returns 0 or -EINVAL with dskit's message. */
static int validate_tenant_id(const char *id, size_t len, struct error *err)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (!tenant_char_supported(c)) {
            /* Go prints the byte with %c: as the rune of that byte value. */
            char shown[3] = {(char)c, 0, 0};
            if (c >= 0x80) {
                shown[0] = (char)(0xc0 | (c >> 6));
                shown[1] = (char)(0x80 | (c & 0x3f));
            }
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "tenant ID '%.*s' contains unsupported character '%s'", (int)len, id,
                             shown);
        }
    }
    if (len > TENANT_ID_MAX)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "tenant ID is too long: max %d characters",
                         TENANT_ID_MAX);
    if ((len == 1 && id[0] == '.') || (len == 2 && id[0] == '.' && id[1] == '.'))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "tenant ID is '.' or '..'");
    return 0;
}

/* tenant.TenantID: the org id may list tenants with `|`; each must be valid, and more than one
 * distinct tenant is refused for a push. */
static int resolve_tenant(const char *org_id, char *out, size_t out_size, struct error *err)
{
    const char *first = org_id;
    size_t first_len = strcspn(org_id, "|");
    for (const char *p = org_id;;) {
        size_t len = strcspn(p, "|");
        int rc = validate_tenant_id(p, len, err);
        if (rc < 0)
            return rc;
        if (len != first_len || memcmp(p, first, len) != 0)
            return error_set(err, -EINVAL, ERROR_PERMANENT, "multiple org IDs present");
        if (!p[len])
            break;
        p += len + 1;
    }
    snprintf(out, out_size, "%.*s", (int)first_len, first);
    return 0;
}

/* ---- decoding ---- */

/* A push request's body and, once decoded, its tree. For a protobuf body `protobuf` is the
 * bytes the tree comes from (the request's own, or `plain` when it was compressed). */
struct decoded {
    const uint8_t *data; /* the body after Content-Encoding */
    size_t data_len;
    struct payload *payload;
    const uint8_t *protobuf; /* NULL for a JSON body */
    size_t len;
    struct decompressed plain; /* the decompressed body, or empty */
};

static void decoded_clear(struct decoded *d)
{
    payload_free(d->payload);
    decompressed_release(&d->plain);
    memset(d, 0, sizeof(*d));
}

/* Undoes the Content-Encoding, after the size check. On failure fills `resp` with Loki's
 * answer and returns a negative code (then `out` holds nothing). The caller clears `out` with
 * decoded_clear. */
static int read_body(const struct loki_push_request *req, struct decoded *out,
                     struct http_response *resp)
{
    struct error err = {0};
    memset(out, 0, sizeof(*out));
    const char *encoding = req->content_encoding ? req->content_encoding : "";
    enum compression compression = COMPRESSION_NONE;
    if (strcmp(encoding, "gzip") == 0) {
        compression = COMPRESSION_GZIP;
    } else if (strcmp(encoding, "zstd") == 0) {
        compression = COMPRESSION_ZSTD;
    } else if (encoding[0]) {
        /* lz4 lands here too: see the file comment. */
        char message[512];
        snprintf(message, sizeof(message),
                 "unsupported content encoding %.200s: only gzip, lz4 and zstd are supported",
                 encoding);
        otlp_error(resp, 400, message);
        return -EINVAL;
    }
    if (req->body_too_large) {
        char message[256];
        snprintf(message, sizeof(message), "message size too large than max (%zu vs %u)",
                 req->body_len + 1, LOKI_MAX_RECV_MSG_SIZE);
        otlp_error(resp, 413, message);
        return -EFBIG;
    }
    out->data = req->body;
    out->data_len = req->body_len;
    if (compression != COMPRESSION_NONE) {
        int rc = decompress_pooled(compression, req->body, req->body_len, LOKI_MAX_RECV_MSG_SIZE,
                                   &out->plain, &err);
        if (rc == -EFBIG) {
            char message[256];
            /* Loki reads through a LimitReader of limit + 1 bytes, so that is what it saw. */
            snprintf(message, sizeof(message), "request body too large: %u bytes, limit: %u bytes",
                     LOKI_MAX_RECV_MSG_SIZE + 1, LOKI_MAX_RECV_MSG_SIZE);
            otlp_error(resp, 413, message);
            return rc;
        }
        if (rc < 0) {
            otlp_error(resp, rc == -ENOMEM ? 500 : 400,
                       err.message[0] ? err.message : "cannot decompress the request body");
            return rc;
        }
        out->data = out->plain.data;
        out->data_len = out->plain.len;
    }
    return 0;
}

static bool is_protobuf(const struct loki_push_request *req)
{
    /* The content type must match exactly: no parameters, no other case (extractLogs). */
    return req->content_type && strcmp(req->content_type, "application/x-protobuf") == 0;
}

/* Decodes the body read_body gave. On failure fills `resp` with Loki's answer and returns a
 * negative code; the caller clears `d` with decoded_clear either way. */
static int decode_body(const struct loki_push_request *req, struct decoded *d,
                       struct http_response *resp)
{
    struct error err = {0};
    const char *ct = req->content_type ? req->content_type : "";
    int rc;
    if (is_protobuf(req)) {
        rc = payload_decode(SIGNAL_LOGS, d->data, d->data_len, &d->payload, &err);
        d->protobuf = d->data;
        d->len = d->data_len;
    } else if (strcmp(ct, "application/json") == 0) {
        rc = otlp_json_decode_payload(SIGNAL_LOGS, (const char *)d->data, d->data_len, &d->payload,
                                      &err);
    } else {
        char message[512];
        snprintf(message, sizeof(message), "content type: %.300s is not supported", ct);
        otlp_error(resp, 400, message);
        return -EINVAL;
    }
    if (rc < 0) {
        otlp_error(resp, rc == -ENOMEM ? 500 : 400,
                   err.message[0] ? err.message : "cannot decode the request body");
        return rc;
    }
    return 0;
}

static int decode_request(const struct loki_push_request *req, struct decoded *out,
                          struct http_response *resp)
{
    int rc = read_body(req, out, resp);
    if (rc == 0)
        rc = decode_body(req, out, resp);
    if (rc < 0)
        decoded_clear(out);
    return rc;
}

/* ---- validation (distributor + validator) ---- */

/* Go's time.Format(time.RFC3339) in UTC (Loki's image runs in UTC): seconds, no fraction. */
static void format_rfc3339(int64_t ns, char *out, size_t size)
{
    int64_t sec = ns / 1000000000LL;
    if (ns % 1000000000LL < 0)
        sec--;
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, size, "%" PRId64, sec);
        return;
    }
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* util.GroupedErrors, with groups in order of first occurrence (Go iterates a map, so its order
 * varies from run to run; the fake picks the stable one). */
struct grouped_errors {
    struct {
        char *message;
        size_t n;
    } * items;
    size_t count, cap;
    size_t total;
    bool oom;
};

static void grouped_add(struct grouped_errors *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void grouped_add(struct grouped_errors *g, const char *fmt, ...)
{
    char *message = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&message, fmt, ap);
    va_end(ap);
    g->total++;
    if (n < 0) {
        g->oom = true;
        return;
    }
    for (size_t i = 0; i < g->count; i++) {
        if (strcmp(g->items[i].message, message) == 0) {
            g->items[i].n++;
            free(message);
            return;
        }
    }
    if (g->count == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 4;
        void *grown = realloc(g->items, cap * sizeof(*g->items));
        if (!grown) {
            free(message);
            g->oom = true;
            return;
        }
        g->items = grown;
        g->cap = cap;
    }
    g->items[g->count].message = message;
    g->items[g->count].n = 1;
    g->count++;
}

static char *grouped_text(const struct grouped_errors *g)
{
    size_t size = 1;
    for (size_t i = 0; i < g->count; i++)
        size += strlen(g->items[i].message) + 48;
    char *out = malloc(size);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < g->count; i++) {
        if (i)
            w += (size_t)snprintf(out + w, size - w, "; ");
        if (g->count > 1 || g->items[i].n > 1)
            w += (size_t)snprintf(out + w, size - w, "%zu errors like: ", g->items[i].n);
        w += (size_t)snprintf(out + w, size - w, "%s", g->items[i].message);
    }
    out[w] = '\0';
    return out;
}

static void grouped_clear(struct grouped_errors *g)
{
    for (size_t i = 0; i < g->count; i++)
        free(g->items[i].message);
    free(g->items);
    memset(g, 0, sizeof(*g));
}

/* ValidateLabels: false (error added) when the stream is refused as a whole. */
static bool validate_labels(const struct loki_stream *s, struct grouped_errors *errors)
{
    size_t names = s->labels.count;
    /* Loki does not count service_name, which it often adds itself. */
    if (loki_labels_get(&s->labels, "service_name"))
        names--;
    if (names > LOKI_MAX_LABEL_NAMES_PER_SERIES) {
        grouped_add(errors, "entry for stream '%s' has %zu label names; limit %d", s->key, names,
                    LOKI_MAX_LABEL_NAMES_PER_SERIES);
        return false;
    }
    for (size_t i = 0; i < s->labels.count; i++) {
        const struct loki_label *l = &s->labels.items[i];
        if (strlen(l->name) > LOKI_MAX_LABEL_NAME_LENGTH) {
            grouped_add(errors, "stream '%s' has label name too long: '%s'", s->key, l->name);
            return false;
        }
        if (strlen(l->value) > LOKI_MAX_LABEL_VALUE_LENGTH) {
            grouped_add(errors, "stream '%s' has label value too long: '%s'", s->key, l->value);
            return false;
        }
    }
    return true;
}

/* ValidateEntry: false (error added) when the entry is dropped. */
static bool validate_entry(const struct loki_stream *s, const struct loki_entry *e, int64_t now,
                           struct grouped_errors *errors)
{
    int64_t oldest = now - LOKI_REJECT_OLD_SAMPLES_MAX_AGE_NS;
    int64_t newest = now + LOKI_CREATION_GRACE_PERIOD_NS;
    char t1[64], t2[64];
    if (e->timestamp_ns < oldest) {
        format_rfc3339(e->timestamp_ns, t1, sizeof(t1));
        format_rfc3339(oldest, t2, sizeof(t2));
        grouped_add(errors,
                    "entry for stream '%s' has timestamp too old: %s, oldest acceptable "
                    "timestamp is: %s",
                    s->key, t1, t2);
        return false;
    }
    if (e->timestamp_ns > newest) {
        format_rfc3339(e->timestamp_ns, t1, sizeof(t1));
        grouped_add(errors, "entry for stream '%s' has timestamp too new: %s", s->key, t1);
        return false;
    }
    if (e->line_len > LOKI_MAX_LINE_SIZE) {
        grouped_add(errors,
                    "Max entry size '%d' bytes exceeded for stream '%s' while adding an entry "
                    "with length '%zu' bytes",
                    LOKI_MAX_LINE_SIZE, s->key, e->line_len);
        return false;
    }
    if (e->metadata.count > 0) {
        size_t size = 0;
        for (size_t i = 0; i < e->metadata.count; i++)
            size += strlen(e->metadata.items[i].name) + strlen(e->metadata.items[i].value);
        if (size > LOKI_MAX_STRUCTURED_METADATA_SIZE) {
            grouped_add(errors,
                        "stream '%s' has structured metadata too large: '%zu' bytes, limit: "
                        "'%d' bytes. Please see `limits_config.max_structured_metadata_size` or "
                        "contact your Loki administrator to increase it.",
                        s->key, size, LOKI_MAX_STRUCTURED_METADATA_SIZE);
            return false;
        }
        if (e->metadata.count > LOKI_MAX_STRUCTURED_METADATA_COUNT) {
            grouped_add(errors,
                        "stream '%s' has too many structured metadata labels: '%zu', limit: "
                        "'%d'. Please see `limits_config.max_structured_metadata_entries_count` "
                        "or contact your Loki administrator to increase it.",
                        s->key, e->metadata.count, LOKI_MAX_STRUCTURED_METADATA_COUNT);
            return false;
        }
    }
    return true;
}

/* The distributor strips invalid UTF-8 and U+FFFD from structured metadata values (it checks
 * for utf8.RuneError, then maps those runes away). In place. */
static void sanitize_in_place(char *value)
{
    unsigned char *r = (unsigned char *)value, *w = r;
    while (*r) {
        unsigned char c = *r;
        size_t n = 1;
        bool valid = true;
        if (c >= 0x80) {
            size_t need = (c & 0xe0) == 0xc0   ? 2
                          : (c & 0xf0) == 0xe0 ? 3
                          : (c & 0xf8) == 0xf0 ? 4
                                               : 0;
            uint32_t cp = need == 2 ? (c & 0x1fu) : need == 3 ? (c & 0x0fu) : (c & 0x07u);
            valid = need != 0;
            for (size_t i = 1; valid && i < need; i++) {
                if ((r[i] & 0xc0) != 0x80)
                    valid = false;
                else
                    cp = (cp << 6) | (r[i] & 0x3f);
            }
            if (valid) {
                uint32_t min = need == 2 ? 0x80 : need == 3 ? 0x800 : 0x10000;
                valid =
                    cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) && cp != 0xfffd;
                n = need;
            }
        }
        if (valid) {
            memmove(w, r, n);
            w += n;
        }
        r += valid ? n : 1;
    }
    *w = '\0';
}

/* The value a kept entry stores: `value` itself when it is ASCII (nothing to strip), else a
 * sanitized copy in the push's memory, since entries of a push share their resource's and
 * scope's values and each was checked against the limits as it came. NULL on ENOMEM. */
static char *sanitized_metadata_value(struct loki_push *push, char *value)
{
    const unsigned char *p = (const unsigned char *)value;
    while (*p && *p < 0x80)
        p++;
    if (!*p)
        return value;
    char *copy = loki_push_strdup(push, value);
    if (copy)
        sanitize_in_place(copy);
    return copy;
}

/* Validates every stream of `push` in place: refused streams and dropped entries are removed
 * (their memory is the push's). Returns 0 with the number of entries left in *kept_total, or
 * -ENOMEM. */
static int validate_push(struct loki_push *push, int64_t now, struct grouped_errors *errors,
                         size_t *kept_total)
{
    *kept_total = 0;
    for (size_t i = 0; i < push->count; i++) {
        struct loki_stream *s = &push->streams[i];
        if (s->count == 0)
            continue; /* Loki skips a stream without entries before any check */
        if (!validate_labels(s, errors)) {
            s->count = 0;
            continue;
        }
        size_t kept = 0;
        for (size_t j = 0; j < s->count; j++) {
            struct loki_entry *e = &s->entries[j];
            if (!validate_entry(s, e, now, errors))
                continue;
            for (size_t k = 0; k < e->metadata.count; k++) {
                char *value = sanitized_metadata_value(push, e->metadata.items[k].value);
                if (!value)
                    return -ENOMEM;
                e->metadata.items[k].value = value;
            }
            s->entries[kept++] = *e;
        }
        s->count = kept;
        *kept_total += kept;
    }
    return 0;
}

/* ---- storage ---- */

/* Keeps the request with what replaying its push needs, and counts its entries as stored. All
 * or nothing: on -ENOSPC (the fake is full) or -ENOMEM the store is as it was. */
static int store(struct loki *loki, const char *tenant, const struct decoded *d, int64_t now,
                 size_t entries)
{
    /* Made outside the lock: it copies the request. */
    struct kept *kept =
        d->protobuf ? kept_new_bytes(SIGNAL_LOGS, d->protobuf, d->len, sizeof(struct push_index))
                    : kept_new(d->payload, NULL, 0, sizeof(struct push_index));
    if (kept) {
        struct push_index *index = kept_index(kept);
        index->now_ns = now;
        snprintf(index->tenant, sizeof(index->tenant), "%s", tenant);
    }
    int rc = 0;
    pthread_mutex_lock(&loki->mutex);
    if (loki->stored_entries + entries > LOKI_MAX_STORED_ENTRIES)
        rc = -ENOSPC;
    else if (!kept || kept_list_append(&loki->kept, kept) < 0)
        rc = -ENOMEM;
    if (rc == 0) {
        loki->stored_entries += entries;
        kept = NULL;
    }
    pthread_mutex_unlock(&loki->mutex);
    kept_unref(kept);
    return rc;
}

/* ---- the push ---- */

/* True when no stream and no entry of a summarised request fails validate_labels or
 * validate_entry: every check there compares one number with a limit, so the extremes decide. */
static bool summary_passes(const struct loki_wire_summary *s, int64_t now)
{
    return s->most_label_names <= LOKI_MAX_LABEL_NAMES_PER_SERIES &&
           s->longest_label_name <= LOKI_MAX_LABEL_NAME_LENGTH &&
           s->longest_label_value <= LOKI_MAX_LABEL_VALUE_LENGTH &&
           s->oldest_ns >= now - LOKI_REJECT_OLD_SAMPLES_MAX_AGE_NS &&
           s->newest_ns <= now + LOKI_CREATION_GRACE_PERIOD_NS &&
           s->longest_line <= LOKI_MAX_LINE_SIZE &&
           s->most_metadata_bytes <= LOKI_MAX_STRUCTURED_METADATA_SIZE &&
           s->most_metadata_entries <= LOKI_MAX_STRUCTURED_METADATA_COUNT;
}

/* Stores the `entries` that passed validation (unless discarding) and answers: 503 when the
 * fake cannot hold them, else 400 with the grouped errors when there are any (`errors` may be
 * NULL: none), else 204. */
static void store_and_answer(struct loki *loki, const char *tenant, const struct decoded *d,
                             int64_t now, size_t entries, struct grouped_errors *errors,
                             struct http_response *resp, size_t *items_out)
{
    if (entries > 0) {
        int rc = loki->discard ? 0 : store(loki, tenant, d, now, entries);
        if (rc < 0) {
            char message[256];
            snprintf(message, sizeof(message),
                     rc == -ENOSPC ? "fake loki holds %u entries, its maximum; reset it with "
                                     "DELETE /v1/received"
                                   : "fake loki: out of memory (%u entries max)",
                     LOKI_MAX_STORED_ENTRIES);
            otlp_error(resp, 503, message);
            return;
        }
        *items_out = entries;
    }
    if (errors && (errors->count > 0 || errors->oom)) {
        char *text = grouped_text(errors);
        otlp_error(resp, 400, text ? text : "validation failed");
        free(text);
    } else {
        resp->status = 204;
    }
}

void loki_push(struct loki *loki, const struct loki_push_request *req, struct http_response *resp,
               size_t *items_out)
{
    *items_out = 0;
    if (!req->path || strcmp(req->path, OTLP_PATH) != 0) {
        text_error(resp, 404, "404 page not found");
        return;
    }
    if (!req->method || strcmp(req->method, "POST") != 0) {
        resp->status = 405; /* gorilla mux: method mismatch, empty body */
        return;
    }
    char tenant[TENANT_ID_MAX + 1] = "fake"; /* fakeauth's tenant with auth disabled */
    if (loki->auth_enabled) {
        if (!req->org_id || !req->org_id[0]) {
            text_error(resp, 401, NO_ORG_ID);
            return;
        }
        struct error err = {0};
        if (resolve_tenant(req->org_id, tenant, sizeof(tenant), &err) < 0) {
            otlp_error(resp, 400, err.message);
            return;
        }
    }
    struct decoded decoded;
    if (read_body(req, &decoded, resp) < 0) {
        decoded_clear(&decoded);
        return;
    }
    int64_t now = loki->now_ns();
    struct loki_wire_summary summary;
    if (is_protobuf(req) &&
        loki_wire_summarize(decoded.data, decoded.data_len, now, loki->wire_cache, &summary) == 0 &&
        summary_passes(&summary, now)) {
        /* Every entry passes: the answer of the full path, without building the push. */
        decoded.protobuf = decoded.data;
        decoded.len = decoded.data_len;
        store_and_answer(loki, tenant, &decoded, now, summary.records, NULL, resp, items_out);
        decoded_clear(&decoded);
        return;
    }
    if (decode_body(req, &decoded, resp) < 0) {
        decoded_clear(&decoded);
        return;
    }

    struct loki_push push;
    if (loki_otlp_translate(decoded.payload->logs, now, &push) < 0) {
        decoded_clear(&decoded);
        otlp_error(resp, 500, "out of memory");
        return;
    }
    if (push.invalid_resources)
        log_debug(LOG_COMP, "skipped %zu resources with invalid labels", push.invalid_resources);
    if (push.count == 0) {
        /* Also a request without log records: otlp.go turns it into an empty push request. */
        loki_push_clear(&push);
        decoded_clear(&decoded);
        otlp_error(resp, 422, MISSING_STREAMS);
        return;
    }
    struct grouped_errors errors = {0};
    size_t kept = 0;
    if (validate_push(&push, now, &errors, &kept) < 0)
        otlp_error(resp, 500, "out of memory");
    else
        store_and_answer(loki, tenant, &decoded, now, kept, &errors, resp, items_out);
    grouped_clear(&errors);
    loki_push_clear(&push);
    decoded_clear(&decoded);
}

static void request_parts(const struct http_request *req, struct loki_push_request *out)
{
    *out = (struct loki_push_request){
        .method = req->method,
        .path = req->path,
        .content_type = httpd_request_header(req, "Content-Type"),
        .content_encoding = httpd_request_header(req, "Content-Encoding"),
        .org_id = httpd_request_header(req, "X-Scope-OrgID"),
        .body = req->body,
        .body_len = req->body_len,
        .body_too_large = req->body_too_large,
    };
}

void loki_handle(struct loki *loki, const struct http_request *req, struct http_response *resp,
                 size_t *items_out)
{
    struct loki_push_request parts;
    request_parts(req, &parts);
    loki_push(loki, &parts, resp, items_out);
}

/* ---- faults ---- */

/* Lines and bytes Loki's rate limiter would count for this request (0 when it does not
 * decode). */
static void count_lines(struct loki *loki, const struct loki_push_request *req, size_t *lines,
                        size_t *bytes)
{
    *lines = *bytes = 0;
    struct http_response scratch = {0};
    struct decoded decoded;
    if (decode_request(req, &decoded, &scratch) == 0) {
        struct loki_push push;
        if (loki_otlp_translate(decoded.payload->logs, loki->now_ns(), &push) == 0) {
            for (size_t i = 0; i < push.count; i++)
                for (size_t j = 0; j < push.streams[i].count; j++) {
                    (*lines)++;
                    *bytes += push.streams[i].entries[j].line_len;
                }
            loki_push_clear(&push);
        }
        decoded_clear(&decoded);
    }
    free(scratch.body);
}

void loki_refuse(struct loki *loki, const struct loki_push_request *req, struct http_response *resp,
                 int status, const char *message)
{
    if (status < 300) {
        resp->status = status;
        return;
    }
    if (status == 401) {
        text_error(resp, 401, message ? message : NO_ORG_ID);
        return;
    }
    if (message) {
        otlp_error(resp, status, message);
        return;
    }
    if (status == 429) {
        size_t lines, bytes;
        count_lines(loki, req, &lines, &bytes);
        const char *tenant = loki->auth_enabled && req->org_id ? req->org_id : "fake";
        char text[1024];
        snprintf(text, sizeof(text),
                 "Ingestion rate limit exceeded for user %.200s (limit: %d bytes/sec) while "
                 "attempting to ingest '%zu' lines totaling '%zu' bytes, reduce log volume or "
                 "contact your Loki administrator to see if the limit can be increased",
                 tenant, LOKI_INGESTION_RATE_BYTES, lines, bytes);
        otlp_error(resp, 429, text);
        return;
    }
    otlp_error(resp, status, fake_util_status_text(status));
}

void loki_refuse_http(struct loki *loki, const struct http_request *req, struct http_response *resp,
                      int status, const char *message)
{
    struct loki_push_request parts;
    request_parts(req, &parts);
    loki_refuse(loki, &parts, resp, status, message);
}

/* ---- views ---- */

static json_t *labels_object(const struct loki_labels *labels)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < labels->count; i++) {
        /* A repeated name (possible in structured metadata): the last value wins. */
        const char *value = labels->items[i].value;
        if (fake_util_json_set(o, labels->items[i].name,
                               fake_util_json_string(value, strlen(value)))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *entry_json(const struct loki_entry *e)
{
    char ts[32];
    snprintf(ts, sizeof(ts), "%" PRId64, e->timestamp_ns);
    json_t *o = json_object();
    if (!o)
        return NULL;
    /* Loki stores bytes; JSON cannot carry invalid UTF-8, so such bytes show as U+FFFD. */
    json_t *line = fake_util_json_string(e->line, e->line_len);
    int rc = json_object_set_new(o, "timestamp_ns", json_string(ts));
    rc |= json_object_set_new(o, "line", line);
    rc |= json_object_set_new(o, "structured_metadata", labels_object(&e->metadata));
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The view is built from the kept requests on each call, outside the fake's lock: their pushes
 * are replayed (translated and validated again with their own clock and tenant), which gives
 * the entries ingest stored, and every entry goes to its stream in arrival order. */

struct view_stream {
    char *key;
    json_t *labels;
    json_t *entries; /* arrival order */
};

struct view_tenant {
    char *name;
    struct view_stream *streams; /* sorted by key */
    size_t count, cap;
};

struct view {
    struct view_tenant *tenants; /* sorted by name */
    size_t count, cap;
};

static void view_clear(struct view *v)
{
    for (size_t i = 0; i < v->count; i++) {
        struct view_tenant *t = &v->tenants[i];
        for (size_t j = 0; j < t->count; j++) {
            free(t->streams[j].key);
            json_decref(t->streams[j].labels);
            json_decref(t->streams[j].entries);
        }
        free(t->streams);
        free(t->name);
    }
    free(v->tenants);
    memset(v, 0, sizeof(*v));
}

/* Makes room for one more item in a sorted array and opens a gap at `at`. Returns 0 or
 * -ENOMEM. */
static int insert_gap(void **items, size_t *count, size_t *cap, size_t item_size, size_t at)
{
    if (*count == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 8;
        void *grown = realloc(*items, grown_cap * item_size);
        if (!grown)
            return -ENOMEM;
        *items = grown;
        *cap = grown_cap;
    }
    char *base = *items;
    memmove(base + (at + 1) * item_size, base + at * item_size, (*count - at) * item_size);
    (*count)++;
    return 0;
}

static struct view_tenant *view_tenant_for(struct view *v, const char *name)
{
    size_t lo = 0, hi = v->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(v->tenants[mid].name, name);
        if (c == 0)
            return &v->tenants[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    char *copy = strdup(name);
    if (!copy || insert_gap((void **)&v->tenants, &v->count, &v->cap, sizeof(*v->tenants), lo)) {
        free(copy);
        return NULL;
    }
    v->tenants[lo] = (struct view_tenant){.name = copy};
    return &v->tenants[lo];
}

/* The tenant's stream with the key of `from`, created (labels from `from`) when new. */
static struct view_stream *view_stream_for(struct view_tenant *t, const struct loki_stream *from)
{
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(t->streams[mid].key, from->key);
        if (c == 0)
            return &t->streams[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    struct view_stream s = {strdup(from->key), labels_object(&from->labels), json_array()};
    if (!s.key || !s.labels || !s.entries ||
        insert_gap((void **)&t->streams, &t->count, &t->cap, sizeof(*t->streams), lo)) {
        free(s.key);
        json_decref(s.labels);
        json_decref(s.entries);
        return NULL;
    }
    t->streams[lo] = s;
    return &t->streams[lo];
}

/* Replays the push of one kept request into the view. Returns 0 or -ENOMEM. */
static int view_add(struct view *v, struct kept *kept)
{
    const struct push_index *index = kept_index(kept);
    struct payload *payload = NULL;
    if (kept_open(kept, &payload, NULL) < 0)
        return -ENOMEM;
    struct loki_push push;
    int rc = loki_otlp_translate(payload->logs, index->now_ns, &push);
    kept_close(kept, payload);
    if (rc < 0)
        return rc;
    struct grouped_errors ignored = {0};
    size_t entries;
    rc = validate_push(&push, index->now_ns, &ignored, &entries);
    grouped_clear(&ignored);
    struct view_tenant *t = rc ? NULL : view_tenant_for(v, index->tenant);
    if (!t)
        rc = -ENOMEM;
    for (size_t i = 0; i < push.count && !rc; i++) {
        const struct loki_stream *from = &push.streams[i];
        if (from->count == 0)
            continue; /* refused, or every entry dropped: never stored */
        struct view_stream *s = view_stream_for(t, from);
        rc = s ? 0 : -ENOMEM;
        for (size_t j = 0; j < from->count && !rc; j++)
            rc = json_array_append_new(s->entries, entry_json(&from->entries[j])) ? -ENOMEM : 0;
    }
    loki_push_clear(&push);
    return rc;
}

static json_t *view_json(const struct view *v)
{
    json_t *root = json_object();
    json_t *tenants = json_object();
    if (!root || !tenants || json_object_set(root, "tenants", tenants))
        goto fail;
    for (size_t i = 0; i < v->count; i++) {
        const struct view_tenant *t = &v->tenants[i];
        json_t *tenant = json_object();
        json_t *streams = json_array();
        int rc = !tenant || !streams || json_object_set(tenant, "streams", streams) ||
                 json_object_set(tenants, t->name, tenant);
        for (size_t j = 0; !rc && j < t->count; j++) {
            json_t *stream = json_object();
            rc = !stream || json_object_set(stream, "labels", t->streams[j].labels) ||
                 json_object_set(stream, "entries", t->streams[j].entries) ||
                 json_array_append(streams, stream);
            json_decref(stream);
        }
        json_decref(streams);
        json_decref(tenant);
        if (rc)
            goto fail;
    }
    json_decref(tenants);
    return root;
fail:
    json_decref(tenants);
    json_decref(root);
    return NULL;
}

json_t *loki_view(struct loki *loki)
{
    struct kept_list kept;
    pthread_mutex_lock(&loki->mutex);
    int rc = kept_list_snapshot(&loki->kept, &kept);
    pthread_mutex_unlock(&loki->mutex);
    struct view v = {0};
    for (size_t i = 0; i < kept.count && !rc; i++)
        rc = view_add(&v, kept.items[i]);
    json_t *root = rc ? NULL : view_json(&v);
    view_clear(&v);
    kept_list_clear(&kept);
    return root;
}

json_t *loki_view_otlp(struct loki *loki)
{
    struct kept_list kept;
    pthread_mutex_lock(&loki->mutex);
    int rc = kept_list_snapshot(&loki->kept, &kept);
    pthread_mutex_unlock(&loki->mutex);
    json_t *all = rc ? NULL : kept_list_otlp_json(&kept);
    kept_list_clear(&kept);
    return all;
}
