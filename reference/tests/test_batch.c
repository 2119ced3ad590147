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
#include "component_fixture.h"
#include "pdata.h"
#include "telemetry.h"

/* ---- the processor, wired as the service wires it, in front of a capturing consumer ---- */

struct fixture {
    struct component_fixture *processor;
    struct test_consumer capture; /* next[SIGNAL_TRACES]: the size of every batch sent */
};

static struct fixture *fixture_start(const char *config_json)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    test_consumer_init(&f->capture);
    f->processor = component_fixture_new(&batch_processor_descriptor, "batch", config_json);
    struct component *c = &f->processor->component;
    snprintf(c->pipeline_id, sizeof(c->pipeline_id), "traces");
    c->pipeline_signal = SIGNAL_TRACES;
    c->next[SIGNAL_TRACES] = &f->capture.consumer;
    component_fixture_start(f->processor);
    return f;
}

static void fixture_release(struct fixture *f)
{
    component_fixture_free(f->processor);
    test_consumer_destroy(&f->capture);
    free(f);
}

static void consume_spans(struct fixture *f, size_t n)
{
    struct error err = {0};
    assert_int_equal(component_fixture_consume_spans(f->processor, n, &err), 0);
}

static void shutdown_processor(struct fixture *f)
{
    component_fixture_shutdown(f->processor, 5000);
}

static uint64_t counter_value(struct fixture *f, const char *name)
{
    return component_fixture_counter(f->processor, name);
}

static void assert_sizes(struct fixture *f, const size_t *expected, size_t n)
{
    pthread_mutex_lock(&f->capture.lock);
    size_t count = f->capture.calls;
    size_t sizes[TEST_CONSUMER_SIZES_MAX];
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
    assert_true(test_consumer_wait_calls(&f->capture, 3));
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
    assert_true(test_consumer_wait_calls(&f->capture, 1));
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
    assert_true(test_consumer_wait_calls(&f->capture, 3));
    consume_spans(f, 10); /* below send_batch_size, still sent at once: there is no timer */
    assert_true(test_consumer_wait_calls(&f->capture, 4));
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
    test_consumer_fail(&f->capture, -EIO, ERROR_RETRYABLE, "backend unavailable");
    consume_spans(f, 10); /* accepted: the batch processor never reports downstream errors */
    assert_true(test_consumer_wait_calls(&f->capture, 1));
    shutdown_processor(f);
    assert_int_equal(test_consumer_calls(&f->capture), 1); /* dropped, not retried */
    /* telemetry is recorded for successful sends only */
    assert_int_equal(counter_value(f, "otelcol_processor_batch_batch_size_trigger_send"), 0);
    fixture_release(f);
}

static void test_batch_discards_payloads_without_items(void **state)
{
    struct fixture *f = fixture_start("{\"timeout\": 0}");
    consume_spans(f, 0);
    consume_spans(f, 5);
    assert_true(test_consumer_wait_calls(&f->capture, 1));
    shutdown_processor(f);
    const size_t expected[] = {5}; /* the empty payload never reached the exporter */
    assert_sizes(f, expected, 1);
    fixture_release(f);
}

static void test_batch_records_send_size_histogram(void **state)
{
    struct fixture *f = fixture_start("{\"timeout\": 0}");
    consume_spans(f, 1500);
    assert_true(test_consumer_wait_calls(&f->capture, 1));
    shutdown_processor(f);
    size_t len = 0;
    char *text = telemetry_render(f->processor->telemetry, &len);
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
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        component_config_expect(&batch_processor_descriptor, "batch", cases[i].config,
                                cases[i].message);
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
