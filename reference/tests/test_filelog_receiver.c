/*
 * test_filelog_receiver.c - the filelog receiver as a component (reference/receivers/filelog/
 * filelog.c): its config errors, records as upstream shapes them, the BatchingLogEmitter's
 * batches, self-metrics, dropping without retry_on_failure and holding reading with it, the
 * storage extension reached through the service, and a restart after SIGKILL that loses
 * nothing and repeats nothing.
 *
 * The receiver runs its own poll thread here (poll_interval 10ms); tests wait for what they
 * expect by polling a condition with backoff until a deadline, never with a bare sleep.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "component.h"
#include "config.h"
#include "log.h"
#include "options.h"
#include "pdata.h"
#include "poll_until.h"
#include "service.h"
#include "telemetry.h"

extern const struct component_descriptor filelog_receiver_descriptor;

#define WAIT_MS 20000
#define MAX_BODIES 20000
#define MAX_PAYLOADS 4096

/* ---- a downstream consumer that keeps what it is given ---- */

struct capture {
    struct consumer consumer;
    pthread_mutex_t lock;
    char *bodies[MAX_BODIES];
    size_t body_count;
    size_t payload_sizes[MAX_PAYLOADS];
    size_t payload_count;
    char first_body_of_attempt[8][64]; /* the first record of the first attempts */
    size_t attempts;
    int fail_next;             /* answer this many calls with an error */
    enum error_kind fail_kind; /* of that error */
    otlp_logs_req *last;       /* the last accepted request, kept for shape checks */
    int output_fd;             /* > 0: append each body as a line (the SIGKILL test's child) */
};

static int capture_consume(struct consumer *self, struct payload *p, struct error *err)
{
    struct capture *cap = self->ctx;
    pthread_mutex_lock(&cap->lock);
    otlp_logs_req *req = p->logs;
    const char *first = NULL;
    if (req->n_resource_logs && req->resource_logs[0]->n_scope_logs &&
        req->resource_logs[0]->scope_logs[0]->n_log_records)
        first = req->resource_logs[0]->scope_logs[0]->log_records[0]->body->string_value;
    if (cap->attempts < 8)
        snprintf(cap->first_body_of_attempt[cap->attempts], 64, "%s", first ? first : "");
    cap->attempts++;
    if (cap->fail_next > 0) {
        cap->fail_next--;
        pthread_mutex_unlock(&cap->lock);
        payload_free(p);
        return error_set(err, -EIO, cap->fail_kind, "backend says no");
    }
    if (cap->payload_count < MAX_PAYLOADS)
        cap->payload_sizes[cap->payload_count] = payload_item_count(p);
    cap->payload_count++;
    char *out = NULL;
    size_t out_len = 0, out_cap = 0;
    for (size_t r = 0; r < req->n_resource_logs; r++)
        for (size_t s = 0; s < req->resource_logs[r]->n_scope_logs; s++) {
            Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = req->resource_logs[r]->scope_logs[s];
            for (size_t i = 0; i < sl->n_log_records; i++) {
                const char *body = sl->log_records[i]->body->string_value;
                if (cap->output_fd > 0) {
                    size_t n = strlen(body) + 1;
                    if (out_len + n > out_cap) {
                        out_cap = (out_len + n) * 2;
                        out = realloc(out, out_cap);
                        assert_non_null(out);
                    }
                    memcpy(out + out_len, body, n - 1);
                    out[out_len + n - 1] = '\n';
                    out_len += n;
                } else if (cap->body_count < MAX_BODIES) {
                    cap->bodies[cap->body_count++] = strdup(body);
                }
            }
        }
    if (out) { /* one write per payload: a SIGKILL never tears a line */
        assert_int_equal(write(cap->output_fd, out, out_len), (ssize_t)out_len);
        free(out);
    }
    if (cap->last)
        protobuf_c_message_free_unpacked(&cap->last->base, pdata_allocator());
    cap->last = p->logs;
    p->logs = NULL;
    pthread_mutex_unlock(&cap->lock);
    pdata_free(p); /* the request moved to cap->last */
    return 0;
}

static void capture_init(struct capture *cap)
{
    memset(cap, 0, sizeof(*cap));
    pthread_mutex_init(&cap->lock, NULL);
    cap->consumer.consume = capture_consume;
    cap->consumer.ctx = cap;
}

static void capture_release(struct capture *cap)
{
    for (size_t i = 0; i < cap->body_count; i++)
        free(cap->bodies[i]);
    if (cap->last)
        protobuf_c_message_free_unpacked(&cap->last->base, pdata_allocator());
    pthread_mutex_destroy(&cap->lock);
}

static size_t body_count(struct capture *cap)
{
    pthread_mutex_lock(&cap->lock);
    size_t n = cap->body_count;
    pthread_mutex_unlock(&cap->lock);
    return n;
}

/* ---- waiting ---- */

/* Polls `condition` with backoff (poll_until.h) until it holds or WAIT_MS pass. */
static bool wait_for(bool (*condition)(void *), void *ctx, const char *what)
{
    return poll_until_or_say(condition, ctx, WAIT_MS, what);
}

struct count_goal {
    struct capture *cap;
    size_t count;
};

static bool has_bodies(void *ctx)
{
    struct count_goal *g = ctx;
    return body_count(g->cap) >= g->count;
}

static bool wait_bodies(struct capture *cap, size_t count)
{
    struct count_goal g = {cap, count};
    char what[64];
    snprintf(what, sizeof(what), "%zu records", count);
    return wait_for(has_bodies, &g, what);
}

/* ---- files ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void make_dir(char *out, size_t size)
{
    snprintf(out, size, "/tmp/test_filelog_receiver.XXXXXX");
    assert_non_null(mkdtemp(out));
}

static void remove_dir(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void append(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* Appends lines "<prefix> <from>" .. "<prefix> <to - 1>" in one write. */
static void append_lines(const char *dir, const char *name, const char *prefix, int from, int to)
{
    size_t cap = (size_t)(to - from) * 32 + 1;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = 0;
    for (int i = from; i < to; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s %d\n", prefix, i);
    append(dir, name, text);
    free(text);
}

/* ---- the receiver, driven as the service drives it ---- */

struct fixture {
    char dir[64];
    struct component component;
    struct telemetry *telemetry;
    struct capture cap;
    bool started;
};

static int bind_config(struct component *c, const char *json, struct error *err)
{
    const struct component_descriptor *d = &filelog_receiver_descriptor;
    json_error_t json_err;
    json_t *config = json_loads(json, 0, &json_err);
    if (!config)
        fail_msg("bad test JSON %s: %s", json, json_err.text);
    c->descriptor = d;
    c->config = calloc(1, d->config_size);
    assert_non_null(c->config);
    int rc = options_bind(d->options, config, c->config, "receivers.filelog", err);
    if (rc == 0)
        rc = d->validate(c->config, err);
    json_decref(config);
    return rc;
}

/* Starts a receiver over the `.log` files of a fresh directory, with `extra` JSON members added
 * to the config. */
static struct fixture *fixture_start(const char *extra)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    make_dir(f->dir, sizeof(f->dir));
    capture_init(&f->cap);
    f->telemetry = telemetry_new();
    char json[2048];
    snprintf(json, sizeof(json), "{\"include\": [\"%s/*.log\"], \"poll_interval\": \"10ms\"%s%s}",
             f->dir, extra ? ", " : "", extra ? extra : "");
    struct error err = {0};
    if (bind_config(&f->component, json, &err) != 0)
        fail_msg("config %s: %s", json, err.message);
    snprintf(f->component.id, sizeof(f->component.id), "filelog");
    snprintf(f->component.log_name, sizeof(f->component.log_name), "receiver/filelog");
    f->component.telemetry = f->telemetry;
    f->component.next[SIGNAL_LOGS] = &f->cap.consumer;
    const struct component_descriptor *d = &filelog_receiver_descriptor;
    if (d->create(&f->component, &err) != 0 || d->start(&f->component, &err) != 0)
        fail_msg("create/start: %s", err.message);
    f->started = true;
    return f;
}

static void fixture_stop(struct fixture *f)
{
    const struct component_descriptor *d = &filelog_receiver_descriptor;
    if (f->started)
        d->shutdown(&f->component, monotonic_ms() + 5000);
    f->started = false;
    d->destroy(&f->component);
    options_free(d->options, f->component.config);
    free(f->component.config);
    telemetry_free(f->telemetry);
    capture_release(&f->cap);
    remove_dir(f->dir);
    free(f);
}

static uint64_t counter(struct fixture *f, const char *name)
{
    return tm_counter_value(
        telemetry_counter(f->telemetry, name, "", "receiver=\"filelog\",transport=\"\""));
}

static bool refused_two(void *ctx)
{
    return counter(ctx, "otelcol_receiver_refused_log_records") >= 2;
}

static bool refused_three(void *ctx)
{
    return counter(ctx, "otelcol_receiver_refused_log_records") >= 3;
}

/* ---- configuration ---- */

static void test_config_errors(void **state)
{
    static const struct {
        const char *json, *message;
    } cases[] = {
        {"{}", "required argument `include` is empty"},
        {"{\"include\": [\"/x/[a.log\"]}", "parse include glob: syntax error in pattern"},
        {"{\"include\": [\"/x\"], \"exclude\": [\"/x/{a\"]}",
         "parse exclude glob: syntax error in pattern"},
        {"{\"include\": [\"/x\"], \"fingerprint_size\": 8}",
         "`fingerprint_size` must be at least 16 bytes"},
        {"{\"include\": [\"/x\"], \"max_log_size\": \"lots\"}",
         ".max_log_size: invalid byte size 'lots'"},
        {"{\"include\": [\"/x\"], \"max_log_size\": 0}", "`max_log_size` must be positive"},
        {"{\"include\": [\"/x\"], \"max_concurrent_files\": 1}",
         "`max_concurrent_files` must be greater than 1"},
        {"{\"include\": [\"/x\"], \"max_batches\": -1}", "`max_batches` must not be negative"},
        {"{\"include\": [\"/x\"], \"encoding\": \"utf-16\"}",
         ".encoding: \"utf-16\" is not supported by otelcol-ref (utf-8, utf8, ascii, us-ascii)"},
        {"{\"include\": [\"/x\"], \"start_at\": \"middle\"}", "invalid start_at location 'middle'"},
        {"{\"include\": [\"/x\"], \"multiline\": {\"line_start_pattern\": \"^x\"}}",
         ".multiline: not supported by otelcol-ref"},
        {"{\"include\": [\"/x\"], \"delete_after_read\": true}",
         ".delete_after_read: not supported by otelcol-ref"},
        {"{\"include\": [\"/x\"], \"operators\": {\"type\": \"noop\"}}",
         ".operators: expected a list"},
        {"{\"include\": [\"/x\"], \"poll_interval\": \"0s\"}", ".poll_interval: must be positive"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct component c = {0};
        struct error err = {0};
        int rc = bind_config(&c, cases[i].json, &err);
        if (rc == 0 || strcmp(err.message, cases[i].message) != 0)
            fail_msg("case %zu %s:\n  want %s\n  got  %s", i, cases[i].json, cases[i].message,
                     rc == 0 ? "(no error)" : err.message);
        options_free(filelog_receiver_descriptor.options, c.config);
        free(c.config);
    }
}

static void test_config_accepts_upstream_forms(void **state)
{
    static const char *const ok[] = {
        "{\"include\": [\"/x\"], \"max_log_size\": \"1MiB\", \"fingerprint_size\": \"1kb\"}",
        "{\"include\": [\"/x\"], \"fingerprint_size\": 1.5e3, \"encoding\": \"UTF8\"}",
        "{\"include\": [\"/x\"], \"multiline\": {}, \"delete_after_read\": false, "
        "\"attributes\": {}}",
        "{\"include\": [\"/x\"], \"retry_on_failure\": {\"enabled\": true, \"initial_interval\": "
        "\"2s\"}, \"storage\": \"file_storage/x\", \"operators\": []}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct component c = {0};
        struct error err = {0};
        if (bind_config(&c, ok[i], &err) != 0)
            fail_msg("%s: %s", ok[i], err.message);
        options_free(filelog_receiver_descriptor.options, c.config);
        free(c.config);
    }
}

static void test_config_error_carries_the_yaml_path(void **state)
{
    const char *yaml = "receivers: {filelog/app: {include: [/x], start_at: soon}}\n"
                       "exporters: {otlp_http: {endpoint: 'http://localhost:1'}}\n"
                       "service: {pipelines: {logs: {receivers: [filelog/app], "
                       "exporters: [otlp_http]}}}\n";
    struct config *cfg = NULL;
    struct error err = {0};
    assert_int_equal(config_load_text(yaml, "test", NULL, 0, &cfg, &err), -EINVAL);
    assert_string_equal(err.message, "invalid configuration: receivers.filelog/app: invalid "
                                     "start_at location 'soon'");
}

/* ---- records and batches ---- */

static void test_records_are_shaped_as_upstream(void **state)
{
    struct fixture *f = fixture_start("\"start_at\": \"beginning\", \"include_file_path\": true");
    append(f->dir, "app.log", "hello world\n");
    assert_true(wait_bodies(&f->cap, 1));
    pthread_mutex_lock(&f->cap.lock);
    otlp_logs_req *req = f->cap.last;
    assert_int_equal(req->n_resource_logs, 1);
    Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[0];
    assert_non_null(rl->resource);
    assert_int_equal(rl->resource->n_attributes, 0); /* the resource stays empty */
    assert_int_equal(rl->n_scope_logs, 1);
    assert_non_null(rl->scope_logs[0]->scope);
    assert_string_equal(rl->scope_logs[0]->scope->name, ""); /* no scope name */
    Opentelemetry__Proto__Logs__V1__LogRecord *record = rl->scope_logs[0]->log_records[0];
    assert_string_equal(record->body->string_value, "hello world");
    assert_int_equal(record->time_unix_nano, 0);      /* no parser set a time */
    assert_true(record->observed_time_unix_nano > 0); /* observed when read */
    assert_int_equal(record->severity_number, 0);
    assert_int_equal(record->n_attributes, 2); /* include_file_name defaults to true */
    assert_string_equal(record->attributes[0]->key, "log.file.name");
    assert_string_equal(record->attributes[0]->value->string_value, "app.log");
    assert_string_equal(record->attributes[1]->key, "log.file.path");
    char path[512];
    snprintf(path, sizeof(path), "%s/app.log", f->dir);
    assert_string_equal(record->attributes[1]->value->string_value, path);
    pthread_mutex_unlock(&f->cap.lock);
    fixture_stop(f);
}

static void test_emitter_batches_by_one_hundred(void **state)
{
    struct fixture *f = fixture_start("\"start_at\": \"beginning\"");
    append_lines(f->dir, "app.log", "line", 0, 250);
    assert_true(wait_bodies(&f->cap, 250));
    pthread_mutex_lock(&f->cap.lock);
    assert_int_equal(f->cap.payload_count, 3);
    assert_int_equal(f->cap.payload_sizes[0], 100);
    assert_int_equal(f->cap.payload_sizes[1], 100);
    assert_int_equal(f->cap.payload_sizes[2], 50);
    for (size_t i = 0; i < 250; i++) { /* in order, each once */
        char expected[32];
        snprintf(expected, sizeof(expected), "line %zu", i);
        assert_string_equal(f->cap.bodies[i], expected);
    }
    pthread_mutex_unlock(&f->cap.lock);
    assert_int_equal(counter(f, "otelcol_receiver_accepted_log_records"), 250);
    assert_int_equal(counter(f, "otelcol_receiver_refused_log_records"), 0);
    size_t len = 0;
    char *text = telemetry_render(f->telemetry, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "otelcol_receiver_accepted_log_records{receiver=\"filelog\","
                                 "transport=\"\"} 250"));
    free(text);
    fixture_stop(f);
}

static void test_unterminated_line_reaches_downstream_after_flush_period(void **state)
{
    struct fixture *f = fixture_start("\"start_at\": \"beginning\", \"force_flush_period\": "
                                      "\"50ms\"");
    append(f->dir, "app.log", "whole\nno newline yet");
    assert_true(wait_bodies(&f->cap, 2));
    pthread_mutex_lock(&f->cap.lock);
    assert_string_equal(f->cap.bodies[0], "whole");
    assert_string_equal(f->cap.bodies[1], "no newline yet");
    pthread_mutex_unlock(&f->cap.lock);
    fixture_stop(f);
}

/* ---- downstream failures ---- */

static void test_refused_batch_is_dropped_without_retry(void **state)
{
    struct fixture *f = fixture_start("\"start_at\": \"beginning\"");
    pthread_mutex_lock(&f->cap.lock);
    f->cap.fail_next = 1;
    f->cap.fail_kind = ERROR_REFUSED; /* memory_limiter */
    pthread_mutex_unlock(&f->cap.lock);
    append_lines(f->dir, "app.log", "dropped", 0, 3);
    /* the refusal is counted, the data dropped, and reading goes on */
    (void)poll_until(refused_three, f, WAIT_MS);
    assert_int_equal(counter(f, "otelcol_receiver_refused_log_records"), 3);
    append_lines(f->dir, "app.log", "kept", 0, 2);
    assert_true(wait_bodies(&f->cap, 2));
    pthread_mutex_lock(&f->cap.lock);
    assert_int_equal(f->cap.body_count, 2);
    assert_string_equal(f->cap.bodies[0], "kept 0");
    pthread_mutex_unlock(&f->cap.lock);
    assert_int_equal(counter(f, "otelcol_receiver_accepted_log_records"), 2);
    fixture_stop(f);
}

static void test_retry_on_failure_holds_reading_and_delivers_once(void **state)
{
    struct fixture *f = fixture_start("\"start_at\": \"beginning\", \"retry_on_failure\": "
                                      "{\"enabled\": true, \"initial_interval\": \"10ms\", "
                                      "\"max_interval\": \"20ms\"}");
    pthread_mutex_lock(&f->cap.lock);
    f->cap.fail_next = 3;
    f->cap.fail_kind = ERROR_REFUSED;
    pthread_mutex_unlock(&f->cap.lock);
    append_lines(f->dir, "app.log", "line", 0, 150);
    assert_true(wait_bodies(&f->cap, 150));
    pthread_mutex_lock(&f->cap.lock);
    assert_int_equal(f->cap.body_count, 150); /* nothing twice */
    for (size_t i = 0; i < 150; i++) {
        char expected[32];
        snprintf(expected, sizeof(expected), "line %zu", i);
        assert_string_equal(f->cap.bodies[i], expected);
    }
    /* the same first batch was tried four times before anything else went */
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(f->cap.first_body_of_attempt[i], "line 0");
    assert_string_equal(f->cap.first_body_of_attempt[4], "line 100");
    pthread_mutex_unlock(&f->cap.lock);
    assert_int_equal(counter(f, "otelcol_receiver_accepted_log_records"), 150);
    assert_int_equal(counter(f, "otelcol_receiver_refused_log_records"), 0);
    fixture_stop(f);
}

static void test_retry_on_failure_drops_permanent_errors(void **state)
{
    struct fixture *f = fixture_start("\"start_at\": \"beginning\", \"retry_on_failure\": "
                                      "{\"enabled\": true, \"initial_interval\": \"10ms\"}");
    pthread_mutex_lock(&f->cap.lock);
    f->cap.fail_next = 1;
    f->cap.fail_kind = ERROR_PERMANENT;
    pthread_mutex_unlock(&f->cap.lock);
    append_lines(f->dir, "app.log", "bad", 0, 2);
    (void)poll_until(refused_two, f, WAIT_MS);
    assert_int_equal(counter(f, "otelcol_receiver_refused_log_records"), 2);
    pthread_mutex_lock(&f->cap.lock);
    assert_int_equal(f->cap.attempts, 1); /* not retried */
    pthread_mutex_unlock(&f->cap.lock);
    fixture_stop(f);
}

static void test_retry_on_failure_gives_up_after_max_elapsed_time(void **state)
{
    struct fixture *f = fixture_start("\"start_at\": \"beginning\", \"retry_on_failure\": "
                                      "{\"enabled\": true, \"initial_interval\": \"10ms\", "
                                      "\"max_elapsed_time\": \"60ms\"}");
    pthread_mutex_lock(&f->cap.lock);
    f->cap.fail_next = 1000000;
    f->cap.fail_kind = ERROR_RETRYABLE;
    pthread_mutex_unlock(&f->cap.lock);
    append_lines(f->dir, "app.log", "line", 0, 3);
    assert_true(wait_for(refused_three, f, "the batch to be given up"));
    pthread_mutex_lock(&f->cap.lock);
    assert_true(f->cap.attempts >= 2); /* it was retried before being dropped */
    assert_int_equal(f->cap.body_count, 0);
    pthread_mutex_unlock(&f->cap.lock);
    fixture_stop(f);
}

static bool attempted_twice(void *ctx)
{
    struct capture *cap = ctx;
    pthread_mutex_lock(&cap->lock);
    bool done = cap->attempts >= 2;
    pthread_mutex_unlock(&cap->lock);
    return done;
}

static void test_shutdown_ends_retrying_at_its_deadline(void **state)
{
    struct fixture *f = fixture_start("\"start_at\": \"beginning\", \"retry_on_failure\": "
                                      "{\"enabled\": true, \"initial_interval\": \"10ms\", "
                                      "\"max_interval\": \"10ms\", \"max_elapsed_time\": 0}");
    pthread_mutex_lock(&f->cap.lock);
    f->cap.fail_next = 1000000; /* the backend never recovers */
    f->cap.fail_kind = ERROR_RETRYABLE;
    pthread_mutex_unlock(&f->cap.lock);
    append_lines(f->dir, "app.log", "line", 0, 3);
    assert_true(wait_for(attempted_twice, &f->cap, "retries"));
    long long started = monotonic_ms();
    filelog_receiver_descriptor.shutdown(&f->component, started + 300);
    f->started = false;
    long long took = monotonic_ms() - started;
    assert_true(took < 5000); /* bounded by the deadline (generous for valgrind) */
    assert_int_equal(counter(f, "otelcol_receiver_refused_log_records"), 3);
    fixture_stop(f);
}

/* ---- allocation failures ---- */

struct accounted {
    struct fixture *f;
    uint64_t lines;
};

static bool all_lines_accounted(void *ctx)
{
    struct accounted *a = ctx;
    return counter(a->f, "otelcol_receiver_accepted_log_records") +
               counter(a->f, "otelcol_receiver_failed_log_records") >=
           a->lines;
}

/* The Nth pdata allocation fails, for N = 0, 1, ... until a run needs no more: every line is
 * then either delivered or counted as failed (never lost silently, never twice), and nothing
 * leaks (valgrind's memcheck run checks the heap, the counters here the pdata bytes). */
static void test_allocation_failures_are_counted_and_leak_nothing(void **state)
{
    size_t baseline = pdata_bytes_current();
    for (long n = 0;; n++) {
        long before = pdata_allocations();
        pdata_fail_after(n);
        struct fixture *f = fixture_start("\"start_at\": \"beginning\"");
        append_lines(f->dir, "app.log", "line", 0, 3);
        struct accounted a = {f, 3};
        assert_true(wait_for(all_lines_accounted, &a, "every line delivered or failed"));
        uint64_t accepted = counter(f, "otelcol_receiver_accepted_log_records");
        assert_int_equal(accepted + counter(f, "otelcol_receiver_failed_log_records"), 3);
        assert_int_equal(body_count(&f->cap), accepted);
        long used = pdata_allocations() - before;
        pdata_fail_clear();
        fixture_stop(f);
        assert_int_equal(pdata_bytes_current(), baseline);
        if (used <= n) /* the failure point was never reached: every path is covered */
            break;
    }
}

/* ---- storage, through the service ---- */

struct service_run {
    struct config *cfg;
    struct service *service;
};

/* A service with file_storage on <dir>/storage and filelog over the .log files of <dir>/logs,
 * whose records go to `cap`. */
static void service_run_start(struct service_run *run, const char *dir, struct capture *cap,
                              const char *extensions)
{
    char yaml[4096];
    snprintf(yaml, sizeof(yaml),
             "receivers:\n"
             "  filelog: {include: ['%s/logs/*.log'], poll_interval: 10ms, storage: "
             "file_storage}\n"
             "exporters: {otlp_http: {endpoint: 'http://127.0.0.1:1'}}\n"
             "extensions: {file_storage: {directory: '%s/storage'}}\n"
             "service:\n"
             "  extensions: %s\n"
             "  telemetry: {metrics: {level: none}}\n"
             "  pipelines: {logs: {receivers: [filelog], exporters: [otlp_http]}}\n",
             dir, dir, extensions);
    struct error err = {0};
    if (config_load_text(yaml, "test", NULL, 0, &run->cfg, &err) != 0)
        fail_msg("config: %s", err.message);
    if (service_create(run->cfg, &run->service, &err) != 0)
        fail_msg("service: %s", err.message);
    struct component *c = service_find_component(run->service, KIND_RECEIVER, "filelog", NULL);
    assert_non_null(c);
    c->next[SIGNAL_LOGS] = &cap->consumer; /* records come here instead of the exporter */
}

static void service_run_stop(struct service_run *run)
{
    service_shutdown(run->service, 5000);
    service_destroy(run->service);
    config_free(run->cfg);
}

static void make_storage_dirs(const char *dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/logs", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/storage", dir);
    assert_int_equal(mkdir(path, 0700), 0);
}

static void test_missing_storage_extension_fails_start(void **state)
{
    char dir[64];
    make_dir(dir, sizeof(dir));
    make_storage_dirs(dir);
    struct capture cap;
    capture_init(&cap);
    struct service_run run;
    service_run_start(&run, dir, &cap, "[]"); /* configured but not listed: not started */
    struct error err = {0};
    assert_true(service_start(run.service, &err) < 0);
    assert_string_equal(err.message, "failed to start receiver/filelog: storage client: storage "
                                     "extension 'file_storage' not found");
    service_run_stop(&run);
    capture_release(&cap);
    remove_dir(dir);
}

/* ---- SIGKILL ---- */

static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

struct file_goal {
    const char *path;
    size_t lines;
    const char *needle; /* or: the file contains this */
};

static bool file_reaches(void *ctx)
{
    struct file_goal *g = ctx;
    if (!g->needle)
        return count_lines(g->path) >= g->lines;
    FILE *f = fopen(g->path, "rb");
    if (!f)
        return false;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the storage file is binary around the checkpoint text: search past NULs */
    for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
        if (strstr(buf + i, g->needle))
            return true;
    return false;
}

/* The child: runs the collector until killed, writing every record it delivers to `output`. */
static void run_child(const char *dir, const char *output)
{
    struct capture cap;
    capture_init(&cap);
    cap.output_fd = open(output, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (cap.output_fd < 0)
        _exit(2);
    struct service_run run;
    struct error err = {0};
    service_run_start(&run, dir, &cap, "[file_storage]");
    if (service_start(run.service, &err) != 0)
        _exit(3);
    for (;;)
        pause(); /* until SIGKILL */
}

static void test_restart_with_storage_loses_nothing_and_repeats_nothing(void **state)
{
    char dir[64], logs[128];
    make_dir(dir, sizeof(dir));
    make_storage_dirs(dir);
    snprintf(logs, sizeof(logs), "%s/logs", dir);
    append(logs, "app.log", "before the first start\n"); /* start_at end skips it */
    struct capture cap;
    capture_init(&cap);
    struct service_run run;
    struct error err = {0};
    service_run_start(&run, dir, &cap, "[file_storage]");
    if (service_start(run.service, &err) != 0)
        fail_msg("start: %s", err.message);
    /* start_at end applies to the first poll only: its checkpoint says it has happened */
    char storage[160];
    snprintf(storage, sizeof(storage), "%s/storage/receiver_filelog_", dir);
    char offset[32];
    snprintf(offset, sizeof(offset), "\"Offset\":%zu,", strlen("before the first start\n"));
    struct file_goal first_poll = {storage, 0, offset};
    assert_true(wait_for(file_reaches, &first_poll, "the first poll's checkpoint"));
    append_lines(logs, "app.log", "first run", 0, 5);
    assert_true(wait_bodies(&cap, 5));
    service_run_stop(&run);

    append_lines(logs, "app.log", "while down", 0, 3);
    append_lines(logs, "new.log", "new file while down", 0, 2);
    struct capture again;
    capture_init(&again);
    service_run_start(&run, dir, &again, "[file_storage]");
    if (service_start(run.service, &err) != 0)
        fail_msg("restart: %s", err.message);
    assert_true(wait_bodies(&again, 5));
    append_lines(logs, "app.log", "second run", 0, 1);
    assert_true(wait_bodies(&again, 6));
    service_run_stop(&run);
    static const char *const expected[] = {"while down 0",          "while down 1",
                                           "while down 2",          "new file while down 0",
                                           "new file while down 1", "second run 0"};
    assert_int_equal(again.body_count, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(again.bodies[i], expected[i]);
    for (size_t i = 0; i < 5; i++) {
        char want[32];
        snprintf(want, sizeof(want), "first run %zu", i);
        assert_string_equal(cap.bodies[i], want);
    }
    capture_release(&cap);
    capture_release(&again);
    remove_dir(dir);
}

static void test_sigkill_then_restart_loses_nothing(void **state)
{
    char dir[64], logs[128], output[128], storage[160];
    make_dir(dir, sizeof(dir));
    make_storage_dirs(dir);
    snprintf(logs, sizeof(logs), "%s/logs", dir);
    snprintf(output, sizeof(output), "%s/delivered.txt", dir);
    snprintf(storage, sizeof(storage), "%s/storage/receiver_filelog_", dir);
    append(logs, "app.log", "x\n"); /* the first poll starts after it (start_at end) */
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        run_child(dir, output);
    /* the child has polled once when its checkpoint exists */
    struct file_goal started = {storage, 0, "\"Offset\":2,"};
    assert_true(wait_for(file_reaches, &started, "the child's first checkpoint"));
    append_lines(logs, "app.log", "before kill", 0, 100);
    struct file_goal delivered = {output, 100, NULL};
    assert_true(wait_for(file_reaches, &delivered, "100 records from the child"));
    /* and checkpointed: 2 + 100 lines of "before kill N\n" */
    char offset[64];
    snprintf(offset, sizeof(offset), "\"Offset\":%d,", 2 + 10 * 14 + 90 * 15);
    struct file_goal saved = {storage, 0, offset};
    assert_true(wait_for(file_reaches, &saved, "the checkpoint of those records"));
    assert_int_equal(kill(child, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));

    append_lines(logs, "app.log", "while dead", 0, 10); /* lost without storage; not here */
    struct capture cap;
    capture_init(&cap);
    struct service_run run;
    struct error err = {0};
    service_run_start(&run, dir, &cap, "[file_storage]");
    if (service_start(run.service, &err) != 0)
        fail_msg("restart: %s", err.message);
    assert_true(wait_bodies(&cap, 10));
    append_lines(logs, "app.log", "after restart", 0, 1);
    assert_true(wait_bodies(&cap, 11));
    service_run_stop(&run);
    assert_int_equal(count_lines(output), 100); /* the child delivered each line once */
    assert_int_equal(cap.body_count, 11);       /* and the restart nothing it had */
    for (size_t i = 0; i < 10; i++) {
        char want[32];
        snprintf(want, sizeof(want), "while dead %zu", i);
        assert_string_equal(cap.bodies[i], want);
    }
    assert_string_equal(cap.bodies[10], "after restart 0");
    capture_release(&cap);
    remove_dir(dir);
}

static void test_sigkill_while_writing_loses_nothing(void **state)
{
    char dir[64], logs[128], output[128], storage[160];
    make_dir(dir, sizeof(dir));
    make_storage_dirs(dir);
    snprintf(logs, sizeof(logs), "%s/logs", dir);
    snprintf(output, sizeof(output), "%s/delivered.txt", dir);
    snprintf(storage, sizeof(storage), "%s/storage/receiver_filelog_", dir);
    append(logs, "app.log", "x\n");
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        run_child(dir, output);
    struct file_goal started = {storage, 0, "\"Offset\":2,"};
    assert_true(wait_for(file_reaches, &started, "the child's first checkpoint"));
    enum { TOTAL = 3000 };
    for (int i = 0; i < TOTAL; i += 100) { /* bursts while the child reads */
        append_lines(logs, "app.log", "line", i, i + 100);
        if (i == TOTAL / 2) {
            struct file_goal some = {output, 500, NULL};
            assert_true(wait_for(file_reaches, &some, "some records from the child"));
            assert_int_equal(kill(child, SIGKILL), 0); /* in the middle of the stream */
        }
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    struct capture cap;
    capture_init(&cap);
    struct service_run run;
    struct error err = {0};
    service_run_start(&run, dir, &cap, "[file_storage]");
    if (service_start(run.service, &err) != 0)
        fail_msg("restart: %s", err.message);
    /* every line arrives at least once across the two runs; the restart repeats only what the
     * child had read after its last checkpoint */
    size_t before = count_lines(output);
    assert_true(wait_bodies(&cap, before >= TOTAL ? 0 : TOTAL - before));
    service_run_stop(&run);
    unsigned char *seen = calloc(TOTAL, 1);
    assert_non_null(seen);
    FILE *out = fopen(output, "r");
    assert_non_null(out);
    char line[64];
    while (fgets(line, sizeof(line), out)) {
        int n;
        if (sscanf(line, "line %d", &n) == 1 && n >= 0 && n < TOTAL)
            seen[n]++;
    }
    fclose(out);
    for (size_t i = 0; i < cap.body_count; i++) {
        int n;
        if (sscanf(cap.bodies[i], "line %d", &n) == 1 && n >= 0 && n < TOTAL)
            seen[n]++;
    }
    int missing = 0;
    for (int i = 0; i < TOTAL; i++)
        missing += seen[i] == 0;
    assert_int_equal(missing, 0);
    free(seen);
    capture_release(&cap);
    remove_dir(dir);
}

int main(void)
{
    log_set_level(LOG_ERROR); /* ConsumeLogs() failures are expected here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_accepts_upstream_forms),
        cmocka_unit_test(test_config_error_carries_the_yaml_path),
        cmocka_unit_test(test_records_are_shaped_as_upstream),
        cmocka_unit_test(test_emitter_batches_by_one_hundred),
        cmocka_unit_test(test_unterminated_line_reaches_downstream_after_flush_period),
        cmocka_unit_test(test_refused_batch_is_dropped_without_retry),
        cmocka_unit_test(test_retry_on_failure_holds_reading_and_delivers_once),
        cmocka_unit_test(test_retry_on_failure_drops_permanent_errors),
        cmocka_unit_test(test_retry_on_failure_gives_up_after_max_elapsed_time),
        cmocka_unit_test(test_shutdown_ends_retrying_at_its_deadline),
        cmocka_unit_test(test_allocation_failures_are_counted_and_leak_nothing),
        cmocka_unit_test(test_missing_storage_extension_fails_start),
        cmocka_unit_test(test_restart_with_storage_loses_nothing_and_repeats_nothing),
        cmocka_unit_test(test_sigkill_then_restart_loses_nothing),
        cmocka_unit_test(test_sigkill_while_writing_loses_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
