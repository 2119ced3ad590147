/*
 * component_fixture.h - what the component unit tests of reference/tests share, so that each
 * test file holds only what is its own: a component bound from a YAML or JSON snippet and run as
 * the service runs it (bind, validate, create, start, consume, shutdown, destroy, named
 * `kind/id`), its self-metric counters, a consumer that records what reaches it, and the
 * payloads and backend answers more than one test sends.
 *
 * Built as the static library reference_test_support (reference/CMakeLists.txt), linked into
 * every reference unit test; not named test_*.c, so cmake/OtelTests.cmake does not glob it as a
 * test. Helpers fail the running cmocka test on what only a broken test causes (a snippet that
 * does not parse, out of memory, a component that does not start); what the component under
 * test answers is returned for the test to check. Waits are poll_until.h's, never a sleep.
 */
#ifndef OTEL_REF_TESTS_COMPONENT_FIXTURE_H
#define OTEL_REF_TESTS_COMPONENT_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "component.h"
#include "error.h"
#include "pdata.h"
#include "telemetry.h"

#define TEST_WAIT_MS 30000 /* generous: the same tests run under valgrind */

/* exporterhelper retries short enough that only a server-given delay (Retry-After, RetryInfo)
 * can make a test wait long: JSON members for an exporter config. */
#define TEST_FAST_RETRY                                                                            \
    "\"retry_on_failure\": {\"initial_interval\": \"10ms\", \"randomization_factor\": 0, "         \
    "\"max_interval\": \"20ms\", \"max_elapsed_time\": \"60s\"}"

/* ---- test data ---- */

/* A traces payload of `n` spans in one resource and one scope; no resource at all for n == 0.
 * Caller owns it (payload_free, or a consume call takes it). */
struct payload *test_payload_of_spans(size_t n);

/* Packs into `buf` the ExportTraceServiceResponse of a partial success (2 spans rejected, "2
 * spans had no trace id") a backend answers with; returns its length. */
size_t test_partial_success_response(uint8_t *buf, size_t size);

/* ---- a count another thread bumps under a lock (a fake backend's requests) ---- */

/* *count, read under `lock`. */
int test_count_read(pthread_mutex_t *lock, const int *count);
/* Polls until *count reaches `want`; false after TEST_WAIT_MS, saying on stderr how many
 * `what` it waited for and saw. */
bool test_count_wait(pthread_mutex_t *lock, const int *count, int want, const char *what);

/* ---- a consumer that records what reached it ---- */

#define TEST_CONSUMER_SIZES_MAX 64

/* Records every payload it is given, then accepts it, or fails it with fail_code, fail_kind and
 * fail_message when fail_code is set. Read the record under `lock` while a component runs. */
struct test_consumer {
    struct consumer consumer;
    pthread_mutex_t lock;
    int calls;
    size_t items;                          /* over all calls */
    size_t sizes[TEST_CONSUMER_SIZES_MAX]; /* items of each of the first calls */
    int fail_code;                         /* 0 = accept */
    enum error_kind fail_kind;
    const char *fail_message;
};

void test_consumer_init(struct test_consumer *t);
void test_consumer_destroy(struct test_consumer *t);
/* Makes every later call fail with `code` (negative), `kind` and `message` (borrowed). */
void test_consumer_fail(struct test_consumer *t, int code, enum error_kind kind,
                        const char *message);
int test_consumer_calls(struct test_consumer *t);
/* Polls until `calls` calls reached the consumer; false after TEST_WAIT_MS, said on stderr. */
bool test_consumer_wait_calls(struct test_consumer *t, int calls);

/* Initialises all SIGNAL_COUNT consumers and wires those of `signals` (SIGNAL_BIT()s) as c's
 * next[] consumers; test_consumers_destroy undoes the initialisation. */
void test_consumers_wire(struct test_consumer *consumers, unsigned signals, struct component *c);
void test_consumers_destroy(struct test_consumer *consumers);

/* ---- a component's config ---- */

/* Binds `text` (YAML; JSON is YAML) into `config` (d->config_size zeroed bytes) as the service
 * binds the section of component `id` ("otlp/tempo" of an exporter is at
 * "exporters.otlp/tempo"), then validates it. Returns 0, or a negative code with the message in
 * err; `config` then needs options_free either way. */
int component_config_bind(const struct component_descriptor *d, const char *id, const char *text,
                          void *config, struct error *err);

/* Checks one row of a config-validation table: `text` binds and validates when `message` is
 * NULL, else it is refused with an error containing `message`; fails the test otherwise. */
void component_config_expect(const struct component_descriptor *d, const char *id, const char *text,
                             const char *message);

/* ---- the component, wired as the service wires it ---- */

struct component_fixture {
    struct component component;
    struct telemetry *telemetry; /* its own registry, owned */
    char labels[192];            /* of its self-metrics: exporter="otlp/tempo" */
    bool shut_down;
};

/* A component of `d` named `id`, its config bound from `text` and validated (the test fails
 * otherwise), not yet created: wire component.next[] and the pipeline now, then start it. Free
 * with component_fixture_free. */
struct component_fixture *component_fixture_new(const struct component_descriptor *d,
                                                const char *id, const char *text);
/* Creates and starts it; the test fails when either step fails. */
void component_fixture_start(struct component_fixture *f);
/* Hands it `n` spans as the previous pipeline step would; returns what consume returns. */
int component_fixture_consume_spans(struct component_fixture *f, size_t n, struct error *err);
/* Shuts it down with a deadline `within_ms` from now. */
void component_fixture_shutdown(struct component_fixture *f, long long within_ms);
/* Shuts down (5 s deadline) what was created and not yet shut down, destroys it, and frees the
 * config, the registry and f. NULL is accepted. */
void component_fixture_free(struct component_fixture *f);

/* Its counter `name`: the same name and labels give back the component's own handle. */
uint64_t component_fixture_counter(struct component_fixture *f, const char *name);
/* Polls until counter `name` reaches `value`; false after TEST_WAIT_MS, said on stderr. */
bool component_fixture_wait_counter(struct component_fixture *f, const char *name, uint64_t value);

#endif
