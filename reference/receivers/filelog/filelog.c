/*
 * filelog.c - the `filelog` receiver: configuration, the poll thread, turning lines into entries
 * for the operator pipeline, and batching the pipeline's output into logs payloads.
 *
 * Mirrors contrib@v0.142.0:
 *   receiver/filelogreceiver (filelog.go)        the input's options squashed with the
 *                                                adapter's `operators`, `storage` and
 *                                                `retry_on_failure`
 *   pkg/stanza/fileconsumer/config.go            defaults (poll_interval 200ms, start_at end,
 *                                                fingerprint_size 1000, max_log_size 1MiB,
 *                                                max_concurrent_files 1024, encoding utf-8,
 *                                                force_flush_period 500ms, include_file_name
 *                                                true) and validate()'s messages
 *   pkg/stanza/operator/helper/bytesize.go       sizes as 1000, 1.5, "1MiB", "16kb"
 *   pkg/stanza/operator/input/file/input.go      log.file.* attributes, body = the line as a
 *                                                string, empty tokens skipped
 *   pkg/stanza/adapter/receiver.go, factory.go,  "Starting stanza receiver"; the storage client
 *   storage.go, converter.go                     of the `storage` extension ("storage extension
 *                                                '%s' not found"); ConvertEntries groups by
 *                                                resource then scope; consumeEntries logs
 *                                                "ConsumeLogs() failed" and drops
 *   pkg/stanza/operator/helper/emitter.go        BatchingLogEmitter: 100 entries or every 100ms
 *   internal/coreinternal/consumerretry          retry_on_failure (enabled false, 1s, 30s, 5m):
 *                                                disabled, an error is logged and the data
 *                                                dropped; enabled, retried with exponential
 *                                                backoff (factor 0.5, multiplier 1.5) while
 *                                                reading waits, until max_elapsed_time
 *   receiverhelper ObsReport                     otelcol_receiver_accepted/refused_log_records
 *                                                with receiver=<id> and transport="" (the
 *                                                adapter sets no transport)
 *
 * One thread per receiver ("filelog-poll", started in start, joined in shutdown) owns all of the
 * reading state, the operator pipeline and the batch: it polls every poll_interval (the first
 * poll one interval after start, as Go's ticker), and every 100ms between and during polls it
 * ticks the pipeline and flushes the batch. Consuming downstream happens in this thread, so a
 * slow or retrying consumer holds reading back, as upstream's synchronous emitter does.
 *
 * Deliberately not done (a config error, never silently ignored): multiline, header,
 * ordering_criteria, exclude_older_than, delete_after_read, compression, polls_to_archive,
 * acquire_fs_lock, owner/group attributes, the input's static `attributes` / `resource`, and
 * encodings other than UTF-8 (utf-16, nop, IANA names).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "component.h"
#include "exporters/exporterhelper/retry.h"
#include "extensions/file_storage.h"
#include "log.h"
#include "pdata.h"
#include "receivers/filelog/fileconsumer.h"
#include "receivers/filelog/stanza.h"
#include "service.h"
#include "telemetry.h"

#define EMITTER_MAX_BATCH 100                  /* emitter.go defaultMaxBatchSize */
#define EMITTER_FLUSH_NS (100 * 1000 * 1000LL) /* emitter.go defaultFlushInterval */
#define REGION_HINT ((size_t)1024 * 1024)      /* pdata region per poll: ~3000 records */
#define MIN_FINGERPRINT_SIZE 16                /* fingerprint.MinSize */
#define MAX_BYTE_SIZE ((int64_t)1 << 30)       /* a bound on any size option (1 GiB) */

typedef Opentelemetry__Proto__Logs__V1__ResourceLogs otlp_resource_logs;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs otlp_scope_logs;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope otlp_scope;

/* receivers.filelog, as bound by the option table below. */
struct filelog_config {
    struct option_string_list include, exclude;
    char *start_at;
    int64_t poll_interval;
    json_t *fingerprint_size, *max_log_size, *initial_buffer_size; /* helper.ByteSize */
    int64_t max_concurrent_files, max_batches;
    char *encoding;
    int64_t force_flush_period;
    bool include_file_name, include_file_path, include_file_name_resolved,
        include_file_path_resolved;
    bool include_file_record_number, include_file_record_offset;
    bool preserve_leading_whitespaces, preserve_trailing_whitespaces;
    char *storage;
    bool retry_enabled;
    int64_t retry_initial_interval, retry_max_interval, retry_max_elapsed_time;
    json_t *operators;
    /* upstream options otelcol-ref does not implement: an error when set */
    json_t *multiline, *header, *ordering_criteria, *exclude_older_than, *delete_after_read,
        *compression, *polls_to_archive, *acquire_fs_lock, *include_file_owner_name,
        *include_file_owner_group_name, *attributes, *resource;
};

#define CFG(field) offsetof(struct filelog_config, field)

static const struct option retry_options[] = {
    {OPT_BOOL, "enabled", "false", CFG(retry_enabled),
     "retry a refused batch (and hold reading meanwhile) instead of dropping it", 0, NULL, 0},
    {OPT_DURATION, "initial_interval", "1s", CFG(retry_initial_interval),
     "wait after the first failure", 0, NULL, 0},
    {OPT_DURATION, "max_interval", "30s", CFG(retry_max_interval), "longest wait between tries", 0,
     NULL, 0},
    {OPT_DURATION, "max_elapsed_time", "5m", CFG(retry_max_elapsed_time),
     "give up (drop) after this long; 0 = never", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

#define UNSUPPORTED(key, field)                                                                    \
    {                                                                                              \
        OPT_JSON, key, NULL, CFG(field), "not supported by otelcol-ref (an error when set)", 0,    \
            NULL, 0                                                                                \
    }

static const struct option filelog_options[] = {
    {OPT_STRING_LIST, "include", NULL, CFG(include), "files to read (doublestar globs)", 0, NULL,
     0},
    {OPT_STRING_LIST, "exclude", NULL, CFG(exclude), "files not to read (doublestar globs)", 0,
     NULL, 0},
    {OPT_STRING, "start_at", "end", CFG(start_at),
     "end or beginning: where files found by the first poll start", 0, NULL, 0},
    {OPT_DURATION, "poll_interval", "200ms", CFG(poll_interval), "time between polls", 0, NULL, 0},
    {OPT_JSON, "fingerprint_size", "1000", CFG(fingerprint_size),
     "bytes at the start of a file that identify it (at least 16; 1000, \"1KiB\")", 0, NULL, 0},
    {OPT_JSON, "max_log_size", "1MiB", CFG(max_log_size),
     "longer lines are cut into pieces of this size, each one record", 0, NULL, 0},
    {OPT_JSON, "initial_buffer_size", "16KiB", CFG(initial_buffer_size),
     "accepted (otelcol-ref sizes its read buffer itself)", 0, NULL, 0},
    {OPT_INT, "max_concurrent_files", "1024", CFG(max_concurrent_files),
     "files are consumed in batches of half this", 0, NULL, 0},
    {OPT_INT, "max_batches", "0", CFG(max_batches), "batches per poll (0 = all)", 0, NULL, 0},
    {OPT_STRING, "encoding", "utf-8", CFG(encoding),
     "utf-8 (also utf8, ascii, us-ascii); other encodings are not supported", 0, NULL, 0},
    {OPT_DURATION, "force_flush_period", "500ms", CFG(force_flush_period),
     "a last line without newline is emitted after this long without new data (0 = never)", 0, NULL,
     0},
    {OPT_BOOL, "include_file_name", "true", CFG(include_file_name),
     "attribute log.file.name (base name)", 0, NULL, 0},
    {OPT_BOOL, "include_file_path", "false", CFG(include_file_path),
     "attribute log.file.path (as matched)", 0, NULL, 0},
    {OPT_BOOL, "include_file_name_resolved", "false", CFG(include_file_name_resolved),
     "attribute log.file.name_resolved (symlinks resolved)", 0, NULL, 0},
    {OPT_BOOL, "include_file_path_resolved", "false", CFG(include_file_path_resolved),
     "attribute log.file.path_resolved (symlinks resolved)", 0, NULL, 0},
    {OPT_BOOL, "include_file_record_number", "false", CFG(include_file_record_number),
     "attribute log.file.record_number", 0, NULL, 0},
    {OPT_BOOL, "include_file_record_offset", "false", CFG(include_file_record_offset),
     "attribute log.file.record_offset", 0, NULL, 0},
    {OPT_BOOL, "preserve_leading_whitespaces", "false", CFG(preserve_leading_whitespaces),
     "keep leading whitespace of lines", 0, NULL, 0},
    {OPT_BOOL, "preserve_trailing_whitespaces", "false", CFG(preserve_trailing_whitespaces),
     "keep trailing whitespace of lines", 0, NULL, 0},
    {OPT_STRING, "storage", NULL, CFG(storage),
     "storage extension id keeping file offsets across restarts", 0, NULL, 0},
    {OPT_OBJECT, "retry_on_failure", NULL, 0, "retrying refused batches", 0, retry_options, 0},
    {OPT_JSON, "operators", NULL, CFG(operators), "the operator pipeline (a list)", 0, NULL, 0},
    UNSUPPORTED("multiline", multiline),
    UNSUPPORTED("header", header),
    UNSUPPORTED("ordering_criteria", ordering_criteria),
    UNSUPPORTED("exclude_older_than", exclude_older_than),
    UNSUPPORTED("delete_after_read", delete_after_read),
    UNSUPPORTED("compression", compression),
    UNSUPPORTED("polls_to_archive", polls_to_archive),
    UNSUPPORTED("acquire_fs_lock", acquire_fs_lock),
    UNSUPPORTED("include_file_owner_name", include_file_owner_name),
    UNSUPPORTED("include_file_owner_group_name", include_file_owner_group_name),
    UNSUPPORTED("attributes", attributes),
    UNSUPPORTED("resource", resource),
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

/* ---- configuration ---- */

/* helper.ByteSize: an integer, a number (truncated), or "<number> <unit>" with kb/kib/mb/...
 * (case-insensitive), e.g. "1MiB", "1.5 kb". -EINVAL with upstream's words otherwise. */
static int parse_byte_size(const json_t *value, int64_t *out, char *why, size_t why_size)
{
    if (json_is_integer(value)) {
        *out = json_integer_value(value);
        return 0;
    }
    if (json_is_real(value)) {
        *out = (int64_t)json_real_value(value);
        return 0;
    }
    if (!json_is_string(value)) {
        snprintf(why, why_size, "failed to unmarshal to int64, float64, or string");
        return -EINVAL;
    }
    const char *text = json_string_value(value);
    const char *p = text;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0)
        goto bad;
    p += digits;
    if (*p == '.') {
        p++;
        p += strspn(p, "0123456789");
    }
    double number = strtod(text, NULL);
    number = (double)(float)number; /* strconv.ParseFloat(s, 32) */
    while (*p == ' ' || *p == '\t')
        p++;
    static const struct {
        const char *unit;
        double multiplier;
    } units[] = {{"", 1},
                 {"kb", 1e3},
                 {"kib", 1024.0},
                 {"mb", 1e6},
                 {"mib", 1048576.0},
                 {"gb", 1e9},
                 {"gib", 1073741824.0},
                 {"tb", 1e12},
                 {"tib", 1099511627776.0},
                 {"pb", 1e15},
                 {"pib", 1125899906842624.0}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(p, units[i].unit) == 0) {
            double bytes = number * units[i].multiplier;
            *out = bytes > (double)INT64_MAX ? INT64_MAX : (int64_t)bytes;
            return 0;
        }
    }
bad:
    snprintf(why, why_size, "invalid byte size '%s'", text);
    return -EINVAL;
}

static bool utf8_encoding(const char *name)
{
    static const char *const accepted[] = {"", "utf-8", "utf8", "ascii", "us-ascii"};
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
        if (!strcasecmp(name, accepted[i]))
            return true;
    return false;
}

/* Set to something other than its zero value (`false`, 0, "", {} and [] read as unset). */
static bool json_set(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return false;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    return true;
}

/* The sizes of a validated config. */
static void config_sizes(const struct filelog_config *cfg, int64_t *fingerprint, int64_t *max_log)
{
    char why[128];
    *fingerprint = 1000;
    *max_log = 1024 * 1024;
    parse_byte_size(cfg->fingerprint_size, fingerprint, why, sizeof(why));
    parse_byte_size(cfg->max_log_size, max_log, why, sizeof(why));
}

static void discard_entry(void *ctx, struct stanza_entry *e)
{
    stanza_entry_free(e);
}

/* fileconsumer config.go validate() in its order and words, then what otelcol-ref adds. A
 * message starting with `.` continues the receiver's path (config.c). */
static int filelog_validate(const void *config, struct error *err)
{
    const struct filelog_config *cfg = config;
    if (cfg->include.count == 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "required argument `include` is empty");
    for (size_t i = 0; i < cfg->include.count; i++)
        if (fc_glob_validate(cfg->include.items[i]) < 0)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "parse include glob: syntax error in pattern");
    for (size_t i = 0; i < cfg->exclude.count; i++)
        if (fc_glob_validate(cfg->exclude.items[i]) < 0)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "parse exclude glob: syntax error in pattern");
    static const struct {
        const char *key;
        size_t offset;
    } sizes[] = {{"fingerprint_size", CFG(fingerprint_size)},
                 {"max_log_size", CFG(max_log_size)},
                 {"initial_buffer_size", CFG(initial_buffer_size)}};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        const json_t *v = *(json_t *const *)((const char *)cfg + sizes[i].offset);
        int64_t bytes;
        char why[160];
        if (v && parse_byte_size(v, &bytes, why, sizeof(why)) < 0)
            return error_set(err, -EINVAL, ERROR_PERMANENT, ".%s: %s", sizes[i].key, why);
        if (v && bytes > MAX_BYTE_SIZE)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             ".%s: %lld bytes is more than otelcol-ref allows (%lld)", sizes[i].key,
                             (long long)bytes, (long long)MAX_BYTE_SIZE);
    }
    int64_t fingerprint, max_log;
    config_sizes(cfg, &fingerprint, &max_log);
    if (max_log <= 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "`max_log_size` must be positive");
    if (cfg->max_concurrent_files <= 1)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "`max_concurrent_files` must be greater than 1");
    if (fingerprint < MIN_FINGERPRINT_SIZE)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "`fingerprint_size` must be at least %d bytes", MIN_FINGERPRINT_SIZE);
    if (cfg->max_batches < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "`max_batches` must not be negative");
    const char *encoding = cfg->encoding ? cfg->encoding : "";
    if (!utf8_encoding(encoding))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         ".encoding: \"%s\" is not supported by otelcol-ref (utf-8, utf8, ascii, "
                         "us-ascii)",
                         encoding);
    const char *start_at = cfg->start_at ? cfg->start_at : "end";
    if (strcmp(start_at, "end") != 0 && strcmp(start_at, "beginning") != 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "invalid start_at location '%s'", start_at);
    /* Go's time.NewTicker panics on a non-positive period; say it instead */
    if (cfg->poll_interval <= 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, ".poll_interval: must be positive");
    static const struct {
        const char *key;
        size_t offset;
    } unsupported[] = {
        {"multiline", CFG(multiline)},
        {"header", CFG(header)},
        {"ordering_criteria", CFG(ordering_criteria)},
        {"exclude_older_than", CFG(exclude_older_than)},
        {"delete_after_read", CFG(delete_after_read)},
        {"compression", CFG(compression)},
        {"polls_to_archive", CFG(polls_to_archive)},
        {"acquire_fs_lock", CFG(acquire_fs_lock)},
        {"include_file_owner_name", CFG(include_file_owner_name)},
        {"include_file_owner_group_name", CFG(include_file_owner_group_name)},
        {"attributes", CFG(attributes)},
        {"resource", CFG(resource)},
    };
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        const json_t *v = *(json_t *const *)((const char *)cfg + unsupported[i].offset);
        if (json_set(v))
            return error_set(err, -EINVAL, ERROR_PERMANENT, ".%s: not supported by otelcol-ref",
                             unsupported[i].key);
    }
    if (cfg->retry_enabled && cfg->retry_initial_interval <= 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         ".retry_on_failure.initial_interval: must be positive");
    if (cfg->operators && !json_is_null(cfg->operators) && !json_is_array(cfg->operators))
        return error_set(err, -EINVAL, ERROR_PERMANENT, ".operators: expected a list");
    /* Build the pipeline once now so that operator errors are config errors with their path,
     * as upstream's operator configs fail when the config is loaded. */
    struct stanza_pipeline *trial = NULL;
    int rc = stanza_pipeline_build(cfg->operators, ".operators", "receiver/filelog", discard_entry,
                                   NULL, &trial, err);
    stanza_pipeline_free(trial);
    return rc;
}

/* ---- the receiver ---- */

struct filelog_receiver {
    struct component *component;
    const struct filelog_config *cfg;
    struct fileconsumer *consumer;
    struct stanza_pipeline *pipeline;
    struct file_storage_client *storage;
    struct retry_config retry;
    uint64_t random_state;
    /* the BatchingLogEmitter's batch, owned by the poll thread */
    struct stanza_entry *batch[EMITTER_MAX_BATCH];
    size_t batch_count;
    int64_t next_tick_ns;
    bool in_poll; /* a pdata region is open (reading) */
    /* the poll thread */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* CLOCK_MONOTONIC */
    atomic_bool stop_requested;
    long long deadline_ms; /* shutdown deadline, under lock */
    /* self-metrics */
    struct tm_counter *accepted, *refused, *failed;
};

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- emitting: BatchingLogEmitter + ConvertEntries + consumerretry ---- */

static bool values_equal(const otlp_anyvalue *a, const otlp_anyvalue *b);

/* Same keys with equal values, in any order (HashResource ignores order). */
static bool attributes_equal(otlp_keyvalue *const *a, size_t na, otlp_keyvalue *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        const otlp_anyvalue *other = pdata_attr_get(b, nb, a[i]->key);
        if (!other && !a[i]->value)
            continue;
        if (!other || !values_equal(a[i]->value, other))
            return false;
    }
    return true;
}

static bool values_equal(const otlp_anyvalue *a, const otlp_anyvalue *b)
{
    if (!a || !b)
        return a == b;
    if (a->value_case != b->value_case)
        return false;
    switch (a->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        return !strcmp(a->string_value, b->string_value);
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        return a->bool_value == b->bool_value;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        return a->int_value == b->int_value;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        return a->double_value == b->double_value ||
               (isnan(a->double_value) && isnan(b->double_value));
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        return a->bytes_value.len == b->bytes_value.len &&
               (a->bytes_value.len == 0 ||
                !memcmp(a->bytes_value.data, b->bytes_value.data, a->bytes_value.len));
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
        size_t n = a->array_value ? a->array_value->n_values : 0;
        if (n != (b->array_value ? b->array_value->n_values : 0))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!values_equal(a->array_value->values[i], b->array_value->values[i]))
                return false;
        return true;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        return attributes_equal(a->kvlist_value ? a->kvlist_value->values : NULL,
                                a->kvlist_value ? a->kvlist_value->n_values : 0,
                                b->kvlist_value ? b->kvlist_value->values : NULL,
                                b->kvlist_value ? b->kvlist_value->n_values : 0);
    default: return true;
    }
}

/* ConvertEntries: one ResourceLogs per distinct resource in order of first appearance, one
 * ScopeLogs with an empty scope in each (entries carry no scope name here), the records moved
 * in. The entries are consumed (freed) whatever happens. NULL on ENOMEM. */
static struct payload *convert_entries(struct stanza_entry **entries, size_t count)
{
    struct payload *p = payload_new(SIGNAL_LOGS);
    size_t *group_of = calloc(count ? count : 1, sizeof(*group_of));
    size_t *group_size = calloc(count ? count : 1, sizeof(*group_size));
    size_t *first = calloc(count ? count : 1, sizeof(*first));
    bool ok = p && group_of && group_size && first;
    size_t groups = 0;
    for (size_t i = 0; ok && i < count; i++) {
        size_t g = 0;
        while (g < groups &&
               !attributes_equal(entries[first[g]]->resource, entries[first[g]]->n_resource,
                                 entries[i]->resource, entries[i]->n_resource))
            g++;
        if (g == groups)
            first[groups++] = i;
        group_of[i] = g;
        group_size[g]++;
    }
    otlp_logs_req *req = ok ? p->logs : NULL;
    if (ok && groups > 0) {
        req->resource_logs = pdata_calloc(groups, sizeof(*req->resource_logs));
        ok = req->resource_logs != NULL;
    }
    for (size_t g = 0; ok && g < groups; g++) {
        otlp_resource_logs *rl = pdata_alloc(sizeof(*rl));
        otlp_resource *resource = pdata_alloc(sizeof(*resource));
        otlp_scope_logs *sl = pdata_alloc(sizeof(*sl));
        otlp_scope *scope = pdata_alloc(sizeof(*scope));
        otlp_scope_logs **sls = pdata_calloc(1, sizeof(*sls));
        otlp_log_record **records = pdata_calloc(group_size[g], sizeof(*records));
        if (!rl || !resource || !sl || !scope || !sls || !records) {
            pdata_free(rl);
            pdata_free(resource);
            pdata_free(sl);
            pdata_free(scope);
            pdata_free(sls);
            pdata_free(records);
            ok = false;
            break;
        }
        opentelemetry__proto__logs__v1__resource_logs__init(rl);
        opentelemetry__proto__resource__v1__resource__init(resource);
        opentelemetry__proto__logs__v1__scope_logs__init(sl);
        opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
        struct stanza_entry *head = entries[first[g]];
        resource->attributes = head->resource; /* moved */
        resource->n_attributes = head->n_resource;
        head->resource = NULL;
        head->n_resource = 0;
        rl->resource = resource;
        rl->scope_logs = sls;
        rl->n_scope_logs = 1;
        sls[0] = sl;
        sl->scope = scope;
        sl->log_records = records;
        req->resource_logs[req->n_resource_logs++] = rl;
    }
    for (size_t i = 0; ok && i < count; i++) {
        otlp_scope_logs *sl = req->resource_logs[group_of[i]]->scope_logs[0];
        sl->log_records[sl->n_log_records++] = entries[i]->record; /* moved */
        entries[i]->record = NULL;
    }
    for (size_t i = 0; i < count; i++)
        stanza_entry_free(entries[i]);
    free(group_of);
    free(group_size);
    free(first);
    if (!ok) {
        payload_free(p);
        return NULL;
    }
    return p;
}

static double random01(struct filelog_receiver *r)
{
    /* xorshift64*: the backoff jitter needs no more, and no shared state */
    uint64_t x = r->random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->random_state = x;
    return (double)((x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* Waits `wait_ns`; a stop requested meanwhile cuts the wait short (the caller then plans again
 * against the shutdown deadline). Returns the shutdown deadline (monotonic ns) once stop was
 * requested, 0 before. */
static int64_t pause_for_retry(struct filelog_receiver *r, int64_t wait_ns)
{
    int64_t until = monotonic_ns() + wait_ns;
    pthread_mutex_lock(&r->lock);
    bool was_stopping = atomic_load(&r->stop_requested);
    while (was_stopping || !atomic_load(&r->stop_requested)) {
        struct timespec ts = {(time_t)(until / 1000000000LL), (long)(until % 1000000000LL)};
        if (pthread_cond_timedwait(&r->wake, &r->lock, &ts) == ETIMEDOUT)
            break;
    }
    int64_t deadline = atomic_load(&r->stop_requested) ? (int64_t)r->deadline_ms * 1000000LL : 0;
    pthread_mutex_unlock(&r->lock);
    return deadline;
}

/* consumerretry.logsConsumer + adapter consumeEntries for one payload (taken). */
static void consume_payload(struct filelog_receiver *r, struct payload *p)
{
    const char *name = r->component->log_name;
    size_t items = payload_item_count(p);
    struct consumer *next = r->component->next[SIGNAL_LOGS];
    struct error err = {0};
    int rc;
    if (!r->retry.enabled) {
        rc = consumer_consume(next, p, &err);
        if (rc < 0)
            log_error(name,
                      "ConsumeLogs() failed. Enable retry_on_failure to slow down reading logs "
                      "and avoid dropping. error=\"%s\"",
                      err.message);
    } else {
        struct retry_backoff backoff;
        retry_backoff_init(&backoff, &r->retry);
        int64_t started = monotonic_ns();
        int64_t deadline = 0;
        if (atomic_load(&r->stop_requested)) {
            pthread_mutex_lock(&r->lock);
            deadline = (int64_t)r->deadline_ms * 1000000LL;
            pthread_mutex_unlock(&r->lock);
        }
        for (;;) {
            struct payload *attempt = payload_clone(p);
            if (!attempt) {
                rc = error_set(&err, -ENOMEM, ERROR_REFUSED, "out of memory copying logs");
            } else {
                error_clear(&err);
                rc = consumer_consume(next, attempt, &err);
            }
            if (rc == 0)
                break;
            if (err.kind == ERROR_PERMANENT) {
                log_error(name,
                          "ConsumeLogs() failed. The error is not retryable. Dropping data. "
                          "error=\"%s\" dropped_items=%zu",
                          err.message, items);
                break;
            }
            int64_t wait_ns = 0;
            int64_t delay = retry_backoff_next(&backoff, random01(r));
            enum retry_verdict verdict =
                retry_plan(&r->retry, monotonic_ns(), started, delay, false, 0, deadline, &wait_ns);
            if (verdict == RETRY_VERDICT_DEADLINE) { /* shutdown: the context's deadline */
                error_prefix(&err, "context is cancelled or timed out");
                break;
            }
            if (verdict == RETRY_VERDICT_EXHAUSTED) {
                log_error(name,
                          "Max elapsed time expired. Dropping data. error=\"%s\" "
                          "dropped_items=%zu",
                          err.message, items);
                break;
            }
            char interval[32];
            retry_format_duration(wait_ns, interval, sizeof(interval));
            log_debug(name,
                      "ConsumeLogs() failed. Will retry the request after interval. "
                      "error=\"%s\" interval=%s logs_count=%zu",
                      err.message, interval, items);
            /* reading waits meanwhile: backpressure; a shutdown keeps retrying until its
             * deadline instead of dropping at once */
            deadline = pause_for_retry(r, wait_ns);
        }
        payload_free(p);
    }
    if (rc < 0) {
        log_error(name, "ConsumeLogs() failed error=\"%s\"", err.message);
        tm_counter_add(r->refused, items);
    } else {
        tm_counter_add(r->accepted, items);
    }
}

/* BatchingLogEmitter.flush: the batch becomes one payload downstream. */
static void emitter_flush(struct filelog_receiver *r)
{
    if (r->batch_count == 0)
        return;
    size_t count = r->batch_count;
    r->batch_count = 0;
    /* downstream allocations (processors run in this thread) stay out of the reading region */
    if (r->in_poll)
        pdata_region_end();
    struct payload *p = convert_entries(r->batch, count);
    if (!p) {
        log_error(r->component->log_name,
                  "ConsumeLogs() failed error=\"out of memory converting entries\"");
        tm_counter_add(r->failed, count);
    } else {
        consume_payload(r, p);
    }
    if (r->in_poll)
        pdata_region_begin(REGION_HINT);
}

/* The pipeline's sink (stanza_sink_fn): the entry joins the batch. */
static void emitter_add(void *ctx, struct stanza_entry *e)
{
    struct filelog_receiver *r = ctx;
    r->batch[r->batch_count++] = e;
    if (r->batch_count == EMITTER_MAX_BATCH)
        emitter_flush(r);
}

/* Every 100ms: operators' timers (recombine) and the emitter's flush interval. The pipeline is
 * given wall-clock time: its operators compare it with entries' observed_time_unix_nano. */
static void tick(struct filelog_receiver *r, int64_t now)
{
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    stanza_pipeline_tick(r->pipeline, (int64_t)wall.tv_sec * 1000000000LL + wall.tv_nsec);
    emitter_flush(r);
    r->next_tick_ns = now + EMITTER_FLUSH_NS;
}

/* ---- lines to entries ---- */

static otlp_keyvalue *string_attribute(const char *key, const char *value)
{
    otlp_keyvalue *kv = pdata_alloc(sizeof(*kv));
    otlp_anyvalue *v = pdata_alloc(sizeof(*v));
    char *k = pdata_strdup(key), *s = pdata_strdup(value);
    if (!kv || !v || !k || !s) {
        pdata_free(kv);
        pdata_free(v);
        pdata_free(k);
        pdata_free(s);
        return NULL;
    }
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(v);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = s;
    kv->key = k;
    kv->value = v;
    return kv;
}

static otlp_keyvalue *int_attribute(const char *key, int64_t value)
{
    otlp_keyvalue *kv = pdata_alloc(sizeof(*kv));
    otlp_anyvalue *v = pdata_alloc(sizeof(*v));
    char *k = pdata_strdup(key);
    if (!kv || !v || !k) {
        pdata_free(kv);
        pdata_free(v);
        pdata_free(k);
        return NULL;
    }
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(v);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v->int_value = value;
    kv->key = k;
    kv->value = v;
    return kv;
}

/* input.go: the body is the line as a string, with the file attributes configured. */
static int fill_entry(struct filelog_receiver *r, struct stanza_entry *e,
                      const struct fileconsumer_token *t)
{
    otlp_log_record *record = e->record;
    otlp_anyvalue *body = pdata_alloc(sizeof(*body));
    char *text = pdata_alloc(t->len + 1);
    if (!body || !text) {
        pdata_free(body);
        pdata_free(text);
        return -ENOMEM;
    }
    opentelemetry__proto__common__v1__any_value__init(body);
    memcpy(text, t->text, t->len);
    text[t->len] = '\0';
    body->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    body->string_value = text;
    record->body = body;
    const struct fileconsumer_file *f = t->file;
    const char *keys[4] = {"log.file.name", "log.file.path", "log.file.name_resolved",
                           "log.file.path_resolved"};
    const char *values[4] = {f->name, f->path, f->name_resolved, f->path_resolved};
    size_t n = 0;
    for (size_t i = 0; i < 4; i++)
        n += values[i] != NULL;
    n += r->cfg->include_file_record_number + r->cfg->include_file_record_offset;
    if (n == 0)
        return 0;
    record->attributes = pdata_calloc(n, sizeof(*record->attributes));
    if (!record->attributes)
        return -ENOMEM;
    for (size_t i = 0; i < 4; i++) {
        if (!values[i])
            continue;
        if (!(record->attributes[record->n_attributes] = string_attribute(keys[i], values[i])))
            return -ENOMEM;
        record->n_attributes++;
    }
    if (r->cfg->include_file_record_number) {
        otlp_keyvalue *kv = int_attribute("log.file.record_number", t->record_number);
        if (!kv)
            return -ENOMEM;
        record->attributes[record->n_attributes++] = kv;
    }
    if (r->cfg->include_file_record_offset) {
        otlp_keyvalue *kv = int_attribute("log.file.record_offset", t->record_offset);
        if (!kv)
            return -ENOMEM;
        record->attributes[record->n_attributes++] = kv;
    }
    return 0;
}

/* fileconsumer emit callback: one token becomes one entry through the operators. */
static void on_token(void *ctx, const struct fileconsumer_token *t)
{
    struct filelog_receiver *r = ctx;
    struct stanza_entry *e = stanza_entry_new();
    if (!e || fill_entry(r, e, t) < 0) {
        stanza_entry_free(e);
        log_error(r->component->log_name, "failed to create entry error=\"out of memory\"");
        tm_counter_add(r->failed, 1);
        return;
    }
    stanza_pipeline_process(r->pipeline, e);
}

static bool on_yield(void *ctx)
{
    struct filelog_receiver *r = ctx;
    int64_t now = monotonic_ns();
    if (now >= r->next_tick_ns)
        tick(r, now);
    return atomic_load(&r->stop_requested);
}

static void on_checkpoint(void *ctx)
{
    emitter_flush(ctx);
}

/* ---- the poll thread ---- */

static void *poll_thread(void *arg)
{
    struct filelog_receiver *r = arg;
    const int64_t interval = r->cfg->poll_interval;
    int64_t next_poll = monotonic_ns() + interval; /* a ticker: first poll after one interval */
    r->next_tick_ns = monotonic_ns() + EMITTER_FLUSH_NS;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        while (!atomic_load(&r->stop_requested)) {
            int64_t until = next_poll < r->next_tick_ns ? next_poll : r->next_tick_ns;
            if (monotonic_ns() >= until)
                break;
            struct timespec ts = {(time_t)(until / 1000000000LL), (long)(until % 1000000000LL)};
            pthread_cond_timedwait(&r->wake, &r->lock, &ts);
        }
        pthread_mutex_unlock(&r->lock);
        if (atomic_load(&r->stop_requested))
            break;
        int64_t now = monotonic_ns();
        if (now >= r->next_tick_ns)
            tick(r, now);
        if (now >= next_poll) {
            r->in_poll = true;
            pdata_region_begin(REGION_HINT);
            fileconsumer_poll(r->consumer);
            pdata_region_end();
            r->in_poll = false;
            /* Go's ticker drops ticks a slow poll missed: the next one is on the grid */
            next_poll += interval;
            now = monotonic_ns();
            if (next_poll <= now)
                next_poll += ((now - next_poll) / interval + 1) * interval;
        }
    }
    /* Shutdown: everything read goes downstream, then the final checkpoint. */
    stanza_pipeline_flush(r->pipeline);
    emitter_flush(r);
    fileconsumer_stop(r->consumer);
    return NULL;
}

/* ---- lifecycle ---- */

static void filelog_destroy(struct component *c)
{
    struct filelog_receiver *r = c->state;
    if (!r)
        return;
    for (size_t i = 0; i < r->batch_count; i++)
        stanza_entry_free(r->batch[i]);
    fileconsumer_destroy(r->consumer);
    stanza_pipeline_free(r->pipeline);
    file_storage_client_close(r->storage);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
    c->state = NULL;
}

static int register_metrics(struct component *c, struct filelog_receiver *r, struct error *err)
{
    if (!c->telemetry)
        return 0;
    char labels[256];
    snprintf(labels, sizeof(labels), "receiver=\"%s\",transport=\"\"", c->id);
    r->accepted = telemetry_counter(c->telemetry, "otelcol_receiver_accepted_log_records",
                                    "Number of log records successfully pushed into the "
                                    "pipeline. [alpha]",
                                    labels);
    r->refused = telemetry_counter(c->telemetry, "otelcol_receiver_refused_log_records",
                                   "Number of log records that could not be pushed into the "
                                   "pipeline. [alpha]",
                                   labels);
    r->failed = telemetry_counter(c->telemetry, "otelcol_receiver_failed_log_records",
                                  "The number of log records that failed to be processed by the "
                                  "receiver due to internal errors. [alpha]",
                                  labels);
    if (!r->accepted || !r->refused || !r->failed)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "cannot register self-metrics");
    return 0;
}

static int filelog_create(struct component *c, struct error *err)
{
    const struct filelog_config *cfg = c->config;
    int rc;
    struct filelog_receiver *r = calloc(1, sizeof(*r));
    if (!r)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    c->state = r;
    r->component = c;
    r->cfg = cfg;
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wake, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&r->stop_requested, false);
    r->random_state = (uint64_t)monotonic_ns() | 1;
    /* consumerretry: cenkalti/backoff's defaults for what the config does not set */
    r->retry = (struct retry_config){
        .enabled = cfg->retry_enabled,
        .initial_interval_ns = cfg->retry_initial_interval,
        .randomization_factor = 0.5,
        .multiplier = 1.5,
        .max_interval_ns = cfg->retry_max_interval,
        .max_elapsed_time_ns = cfg->retry_max_elapsed_time,
    };
    if ((rc = register_metrics(c, r, err)) < 0)
        goto fail;
    char path[sizeof(c->id) + 32];
    snprintf(path, sizeof(path), "receivers.%s.operators", c->id);
    if ((rc = stanza_pipeline_build(cfg->operators, path, c->log_name, emitter_add, r, &r->pipeline,
                                    err)) < 0)
        goto fail;
    int64_t fingerprint, max_log;
    config_sizes(cfg, &fingerprint, &max_log);
    struct fileconsumer_config fc = {
        .include = &cfg->include,
        .exclude = &cfg->exclude,
        .start_at_beginning = cfg->start_at && !strcmp(cfg->start_at, "beginning"),
        .fingerprint_size = (size_t)fingerprint,
        .max_log_size = (size_t)max_log,
        .max_concurrent_files = (size_t)cfg->max_concurrent_files,
        .max_batches = cfg->max_batches,
        .force_flush_period_ns = cfg->force_flush_period,
        .include_file_name = cfg->include_file_name,
        .include_file_path = cfg->include_file_path,
        .include_file_name_resolved = cfg->include_file_name_resolved,
        .include_file_path_resolved = cfg->include_file_path_resolved,
        .preserve_leading_whitespaces = cfg->preserve_leading_whitespaces,
        .preserve_trailing_whitespaces = cfg->preserve_trailing_whitespaces,
        .log_name = c->log_name,
    };
    struct fileconsumer_callbacks callbacks = {
        .emit = on_token,
        .yield = on_yield,
        .before_checkpoint = on_checkpoint,
        .ctx = r,
    };
    rc = fileconsumer_create(&fc, &callbacks, &r->consumer, err);
fail:
    if (rc < 0)
        filelog_destroy(c);
    return rc;
}

static int filelog_start(struct component *c, struct error *err)
{
    struct filelog_receiver *r = c->state;
    log_info(c->log_name, "Starting stanza receiver");
    int rc;
    if (r->cfg->storage) {
        /* adapter/storage.go GetStorageClient */
        struct component *ext = service_host_extension(c, r->cfg->storage);
        if (!ext)
            return error_set(err, -ENOENT, ERROR_PERMANENT,
                             "storage client: storage extension '%s' not found", r->cfg->storage);
        rc = file_storage_client_open(ext, KIND_RECEIVER, c->id, "", &r->storage, err);
        if (rc < 0)
            return error_prefix(err, "storage client");
    }
    if ((rc = fileconsumer_start(r->consumer, r->storage, err)) < 0)
        return error_prefix(err, "start stanza");
    rc = pthread_create(&r->thread, NULL, poll_thread, r);
    if (rc != 0)
        return error_set(err, -rc, ERROR_PERMANENT, "cannot start the poll thread: %s",
                         strerror(rc));
    pthread_setname_np(r->thread, "filelog-poll");
    r->thread_started = true;
    return 0;
}

static void filelog_shutdown(struct component *c, long long deadline_ms)
{
    struct filelog_receiver *r = c->state;
    if (!r)
        return;
    log_info(c->log_name, "Stopping stanza receiver");
    pthread_mutex_lock(&r->lock);
    r->deadline_ms = deadline_ms;
    atomic_store(&r->stop_requested, true);
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->lock);
    if (r->thread_started) {
        pthread_join(r->thread, NULL);
        r->thread_started = false;
    }
    file_storage_client_close(r->storage); /* storage.Client.Close */
    r->storage = NULL;
}

const struct component_descriptor filelog_receiver_descriptor = {
    .type = "filelog",
    .kind = KIND_RECEIVER,
    .signals = SIGNAL_BIT(SIGNAL_LOGS),
    .deprecated_alias = NULL,
    .summary = "tails files (container logs) through the stanza operator pipeline",
    .options = filelog_options,
    .config_size = sizeof(struct filelog_config),
    .validate = filelog_validate,
    .create = filelog_create,
    .start = filelog_start,
    .consume = NULL,
    .shutdown = filelog_shutdown,
    .destroy = filelog_destroy,
};
