/*
 * test_batch.c - unit tests of the batch processor (reference/processors/batch.c) against the
 * flush rules of core@v0.144.0 processor/batchprocessor (facts/pipeline.md §2): size-triggered
 * chunks, the remainder on the timer, timeout 0, shutdown flush, dropped sender errors, and the
 * config validation messages.
 *
 * The processor runs as the service runs it (options bound from JSON, validate, create, start,
 * consume, shutdown, destroy) in front of a capturing consumer. Waiting is a poll of a condition
 * with backoff until a deadline, never a bare sleep.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../processors/batch.h"
#include "component.h"
#include "options.h"
#include "pdata.h"
#include "poll_until.h"
#include "telemetry.h"

#define MAX_CAPTURED 64
#define WAIT_MS 20000 /* generous: the same tests run under valgrind */

/* ---- a payload of N spans (one resource, one scope) ---- */

static struct payload *make_spans(size_t n)
{
    struct payload *p = payload_new(SIGNAL_TRACES);
    if (!p)
        return NULL;
    if (n == 0)
        return p;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = pdata_calloc(1, sizeof(*rs));
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = pdata_calloc(1, sizeof(*ss));
    Opentelemetry__Proto__Resource__V1__Resource *resource = pdata_calloc(1, sizeof(*resource));
    Opentelemetry__Proto__Common__V1__InstrumentationScope *scope = pdata_calloc(1, sizeof(*scope));
    p->traces->resource_spans = pdata_calloc(1, sizeof(*p->traces->resource_spans));
    assert_non_null(rs);
    assert_non_null(ss);
    assert_non_null(resource);
    assert_non_null(scope);
    assert_non_null(p->traces->resource_spans);
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    opentelemetry__proto__resource__v1__resource__init(resource);
    opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
    p->traces->resource_spans[0] = rs;
    p->traces->n_resource_spans = 1;
    rs->resource = resource;
    rs->scope_spans = pdata_calloc(1, sizeof(*rs->scope_spans));
    assert_non_null(rs->scope_spans);
    rs->scope_spans[0] = ss;
    rs->n_scope_spans = 1;
    ss->scope = scope;
    ss->spans = pdata_calloc(n, sizeof(*ss->spans));
    assert_non_null(ss->spans);
    for (size_t i = 0; i < n; i++) {
        Opentelemetry__Proto__Trace__V1__Span *span = pdata_calloc(1, sizeof(*span));
        assert_non_null(span);
        opentelemetry__proto__trace__v1__span__init(span);
        ss->spans[i] = span;
        ss->n_spans++;
    }
    return p;
}

/* ---- a downstream consumer that records the size of every batch ---- */

struct capture {
    struct consumer consumer;
    pthread_mutex_t lock;
    size_t sizes[MAX_CAPTURED];
    size_t count;
    bool fail; /* answer every batch with a retryable error */
};

static int capture_consume(struct consumer *self, struct payload *p, struct error *err)
{
    struct capture *cap = self->ctx;
    size_t items = payload_item_count(p);
    payload_free(p);
    pthread_mutex_lock(&cap->lock);
    if (cap->count < MAX_CAPTURED)
        cap->sizes[cap->count] = items;
    cap->count++;
    bool fail = cap->fail;
    pthread_mutex_unlock(&cap->lock);
    if (fail)
        return error_set(err, -EIO, ERROR_RETRYABLE, "backend unavailable");
    return 0;
}

static size_t captured_count(struct capture *cap)
{
    pthread_mutex_lock(&cap->lock);
    size_t n = cap->count;
    pthread_mutex_unlock(&cap->lock);
    return n;
}

/* ---- waiting: poll_until.h, with backoff until a deadline ---- */

struct batches_goal {
    struct capture *cap;
    size_t count;
};

static bool has_batches(void *ctx)
{
    struct batches_goal *g = ctx;
    return captured_count(g->cap) >= g->count;
}

static bool wait_for_batches(struct capture *cap, size_t count)
{
    struct batches_goal goal = {cap, count};
    if (poll_until(has_batches, &goal, WAIT_MS))
        return true;
    print_error("waited %d ms for %zu batches, saw %zu\n", WAIT_MS, count, captured_count(cap));
    return false;
}

/* ---- the processor, wired as the service wires it ---- */

struct fixture {
    struct component component;
    struct capture capture;
    struct telemetry *telemetry;
    bool started, shut_down;
};

static int fixture_bind(struct fixture *f, const char *config_json, struct error *err)
{
    const struct component_descriptor *d = &batch_processor_descriptor;
    json_error_t json_err;
    json_t *config = json_loads(config_json, 0, &json_err);
    assert_non_null(config);
    f->component.descriptor = d;
    f->component.config = calloc(1, d->config_size);
    assert_non_null(f->component.config);
    int rc = options_bind(d->options, config, f->component.config, "processors.batch", err);
    if (rc == 0)
        rc = d->validate(f->component.config, err);
    json_decref(config);
    return rc;
}

static void fixture_release(struct fixture *f)
{
    const struct component_descriptor *d = &batch_processor_descriptor;
    if (f->started && !f->shut_down)
        d->shutdown(&f->component, monotonic_ms() + 5000);
    if (f->component.state)
        d->destroy(&f->component);
    options_free(d->options, f->component.config);
    free(f->component.config);
    telemetry_free(f->telemetry);
    pthread_mutex_destroy(&f->capture.lock);
    free(f);
}

static struct fixture *fixture_start(const char *config_json)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    pthread_mutex_init(&f->capture.lock, NULL);
    f->capture.consumer.consume = capture_consume;
    f->capture.consumer.ctx = &f->capture;
    f->telemetry = telemetry_new();
    assert_non_null(f->telemetry);
    struct error err = {0};
    if (fixture_bind(f, config_json, &err) != 0)
        fail_msg("config %s: %s", config_json, err.message);
    snprintf(f->component.id, sizeof(f->component.id), "batch");
    snprintf(f->component.log_name, sizeof(f->component.log_name), "processor/batch");
    snprintf(f->component.pipeline_id, sizeof(f->component.pipeline_id), "traces");
    f->component.pipeline_signal = SIGNAL_TRACES;
    f->component.next[SIGNAL_TRACES] = &f->capture.consumer;
    f->component.telemetry = f->telemetry;
    const struct component_descriptor *d = &batch_processor_descriptor;
    if (d->create(&f->component, &err) != 0 || d->start(&f->component, &err) != 0)
        fail_msg("create/start: %s", err.message);
    f->started = true;
    return f;
}

static void consume_spans(struct fixture *f, size_t n)
{
    struct payload *p = make_spans(n);
    assert_non_null(p);
    struct error err = {0};
    assert_int_equal(batch_processor_descriptor.consume(&f->component, p, &err), 0);
}

static void shutdown_processor(struct fixture *f)
{
    batch_processor_descriptor.shutdown(&f->component, monotonic_ms() + 5000);
    f->shut_down = true;
}

static uint64_t counter_value(struct fixture *f, const char *name)
{
    /* Asking the registry again for the same name and labels returns the processor's handle. */
    return tm_counter_value(telemetry_counter(f->telemetry, name, "", "processor=\"batch\""));
}

static void assert_sizes(struct fixture *f, const size_t *expected, size_t n)
{
    pthread_mutex_lock(&f->capture.lock);
    size_t count = f->capture.count;
    size_t sizes[MAX_CAPTURED];
    memcpy(sizes, f->capture.sizes, sizeof(sizes));
    pthread_mutex_unlock(&f->capture.lock);
    assert_int_equal(count, n);
    for (size_t i = 0; i < n; i++)
        if (sizes[i] != expected[i])
            fail_msg("batch %zu has %zu items, expected %zu", i, sizes[i], expected[i]);
}

/* ---- tests ---- */

static void test_batch_sends_max_size_chunks_then_remainder_on_timer(void **state)
{
    /* The team's tuning: 5000 spans at send_batch_size 1024 / max 2048 leave as 2048 and 2048
     * at once (size trigger), and the 904 left (< 1024) wait for the timer. */
    struct fixture *f = fixture_start(
        "{\"timeout\": \"300ms\", \"send_batch_size\": 1024, \"send_batch_max_size\": 2048}");
    consume_spans(f, 5000);
    assert_true(wait_for_batches(&f->capture, 3));
    const size_t expected[] = {2048, 2048, 904};
    assert_sizes(f, expected, 3);
    assert_int_equal(counter_value(f, "otelcol_processor_batch_batch_size_trigger_send"), 2);
    assert_int_equal(counter_value(f, "otelcol_processor_batch_timeout_trigger_send"), 1);
    fixture_release(f);
}

static void test_batch_sends_arrival_above_size_as_one_batch(void **state)
{
    /* 1500 spans into an empty buffer: 1500 >= 1024 and <= 2048, so one send of 1500. The
     * timeout is long so that only the size rule can have sent it. */
    struct fixture *f = fixture_start(
        "{\"timeout\": \"1h\", \"send_batch_size\": 1024, \"send_batch_max_size\": 2048}");
    consume_spans(f, 1500);
    assert_true(wait_for_batches(&f->capture, 1));
    shutdown_processor(f); /* nothing is left: shutdown sends nothing more */
    const size_t expected[] = {1500};
    assert_sizes(f, expected, 1);
    assert_int_equal(counter_value(f, "otelcol_processor_batch_batch_size_trigger_send"), 1);
    fixture_release(f);
}

static void test_batch_timeout_zero_flushes_each_arrival_split_at_max(void **state)
{
    struct fixture *f =
        fixture_start("{\"timeout\": 0, \"send_batch_size\": 1024, \"send_batch_max_size\": 2048}");
    consume_spans(f, 5000);
    assert_true(wait_for_batches(&f->capture, 3));
    consume_spans(f, 10); /* below send_batch_size, still sent at once: there is no timer */
    assert_true(wait_for_batches(&f->capture, 4));
    const size_t expected[] = {2048, 2048, 904, 10};
    assert_sizes(f, expected, 4);
    assert_int_equal(counter_value(f, "otelcol_processor_batch_batch_size_trigger_send"), 4);
    fixture_release(f);
}

static void test_batch_shutdown_flushes_the_remainder(void **state)
{
    struct fixture *f = fixture_start("{\"timeout\": \"1h\", \"send_batch_size\": 1024}");
    consume_spans(f, 500);
    consume_spans(f, 300);
    shutdown_processor(f);
    const size_t expected[] = {800};
    assert_sizes(f, expected, 1);
    /* upstream counts the final send as a timeout-triggered one */
    assert_int_equal(counter_value(f, "otelcol_processor_batch_timeout_trigger_send"), 1);
    fixture_release(f);
}

static void test_batch_drops_batches_the_sender_refuses(void **state)
{
    struct fixture *f = fixture_start("{\"timeout\": 0}");
    pthread_mutex_lock(&f->capture.lock);
    f->capture.fail = true;
    pthread_mutex_unlock(&f->capture.lock);
    consume_spans(f, 10); /* accepted: the batch processor never reports downstream errors */
    assert_true(wait_for_batches(&f->capture, 1));
    shutdown_processor(f);
    assert_int_equal(captured_count(&f->capture), 1); /* dropped, not retried */
    /* telemetry is recorded for successful sends only */
    assert_int_equal(counter_value(f, "otelcol_processor_batch_batch_size_trigger_send"), 0);
    fixture_release(f);
}

static void test_batch_discards_payloads_without_items(void **state)
{
    struct fixture *f = fixture_start("{\"timeout\": 0}");
    consume_spans(f, 0);
    consume_spans(f, 5);
    assert_true(wait_for_batches(&f->capture, 1));
    shutdown_processor(f);
    const size_t expected[] = {5}; /* the empty payload never reached the exporter */
    assert_sizes(f, expected, 1);
    fixture_release(f);
}

static void test_batch_records_send_size_histogram(void **state)
{
    struct fixture *f = fixture_start("{\"timeout\": 0}");
    consume_spans(f, 1500);
    assert_true(wait_for_batches(&f->capture, 1));
    shutdown_processor(f);
    size_t len = 0;
    char *text = telemetry_render(f->telemetry, &len);
    assert_non_null(text);
    if (!strstr(text, "otelcol_processor_batch_batch_send_size_bucket{processor=\"batch\","
                      "le=\"2000\"} 1") ||
        !strstr(text, "otelcol_processor_batch_batch_send_size_bucket{processor=\"batch\","
                      "le=\"1000\"} 0") ||
        !strstr(text, "otelcol_processor_batch_batch_send_size_sum{processor=\"batch\"} 1500"))
        fail_msg("unexpected exposition:\n%s", text);
    free(text);
    fixture_release(f);
}

static void test_batch_option_defaults_match_upstream(void **state)
{
    static const struct {
        const char *key;
        const char *default_value;
    } expected[] = {
        {"timeout", "200ms"},
        {"send_batch_size", "8192"},
        {"send_batch_max_size", "0"},
        {"metadata_keys", NULL},
        {"metadata_cardinality_limit", "1000"},
    };
    const struct option *options = batch_processor_descriptor.options;
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        const struct option *opt = options;
        while (opt->type != OPT_END && strcmp(opt->key, expected[i].key) != 0)
            opt++;
        if (opt->type == OPT_END)
            fail_msg("option %s missing", expected[i].key);
        if ((opt->default_value == NULL) != (expected[i].default_value == NULL) ||
            (opt->default_value && strcmp(opt->default_value, expected[i].default_value) != 0))
            fail_msg("option %s defaults to %s", expected[i].key,
                     opt->default_value ? opt->default_value : "(none)");
    }
    assert_string_equal(batch_processor_descriptor.type, "batch");
    assert_int_equal(batch_processor_descriptor.signals, SIGNALS_ALL);
}

static void test_batch_config_validation_messages(void **state)
{
    static const struct {
        const char *config;
        const char *message; /* NULL = valid */
    } cases[] = {
        {"{}", NULL},
        {"{\"send_batch_size\": 2048, \"send_batch_max_size\": 2048}", NULL},
        {"{\"send_batch_size\": 4096, \"send_batch_max_size\": 0}", NULL},
        {"{\"timeout\": 0}", NULL},
        {"{\"metadata_keys\": [\"tenant\", \"region\"]}", NULL},
        {"{\"send_batch_size\": 4096, \"send_batch_max_size\": 1000}",
         "send_batch_max_size must be greater or equal to send_batch_size"},
        {"{\"send_batch_max_size\": 1000}", /* against the default size 8192 */
         "send_batch_max_size must be greater or equal to send_batch_size"},
        {"{\"timeout\": \"-5s\"}", "timeout must be greater or equal to 0"},
        {"{\"metadata_keys\": [\"tenant\", \"tenant\"]}",
         "duplicate entry in metadata_keys: \"tenant\" (case-insensitive)"},
        {"{\"metadata_keys\": [\"Tenant\", \"TENANT\"]}",
         "duplicate entry in metadata_keys: \"tenant\" (case-insensitive)"},
        {"{\"send_batch_size\": -1}",
         "send_batch_size: -1 does not fit an unsigned 32-bit integer"},
        {"{\"send_batch_size\": 100, \"send_batch_max_size\": 5000000000}",
         "send_batch_max_size: 5000000000 does not fit an unsigned 32-bit integer"},
        {"{\"send_batch_sise\": 100}", "unknown key \"send_batch_sise\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture *f = calloc(1, sizeof(*f));
        assert_non_null(f);
        pthread_mutex_init(&f->capture.lock, NULL);
        struct error err = {0};
        int rc = fixture_bind(f, cases[i].config, &err);
        if (!cases[i].message && rc != 0)
            fail_msg("%s: unexpected error \"%s\"", cases[i].config, err.message);
        if (cases[i].message && (rc == 0 || !strstr(err.message, cases[i].message)))
            fail_msg("%s: got \"%s\", expected \"%s\"", cases[i].config,
                     rc ? err.message : "(valid)", cases[i].message);
        fixture_release(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_sends_max_size_chunks_then_remainder_on_timer),
        cmocka_unit_test(test_batch_sends_arrival_above_size_as_one_batch),
        cmocka_unit_test(test_batch_timeout_zero_flushes_each_arrival_split_at_max),
        cmocka_unit_test(test_batch_shutdown_flushes_the_remainder),
        cmocka_unit_test(test_batch_drops_batches_the_sender_refuses),
        cmocka_unit_test(test_batch_discards_payloads_without_items),
        cmocka_unit_test(test_batch_records_send_size_histogram),
        cmocka_unit_test(test_batch_option_defaults_match_upstream),
        cmocka_unit_test(test_batch_config_validation_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
