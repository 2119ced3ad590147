/*
 * component_fixture.c - the shared scaffolding of the reference component tests (see
 * component_fixture.h): run a component as service.c runs it, record what reaches a consumer,
 * build the payloads and answers several tests send. It checks no behaviour itself; the tests
 * do.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "component_fixture.h"
#include "options.h"
#include "poll_until.h"
#include "yamljson.h"

/* ---- test data ---- */

struct payload *test_payload_of_spans(size_t n)
{
    struct payload *p = payload_new(SIGNAL_TRACES);
    assert_non_null(p);
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

size_t test_partial_success_response(uint8_t *buf, size_t size)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess partial =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    partial.rejected_spans = 2;
    partial.error_message = "2 spans had no trace id";
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse response =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    response.partial_success = &partial;
    assert_true(protobuf_c_message_get_packed_size(&response.base) <= size);
    return protobuf_c_message_pack(&response.base, buf);
}

/* ---- a count another thread bumps under a lock ---- */

int test_count_read(pthread_mutex_t *lock, const int *count)
{
    pthread_mutex_lock(lock);
    int n = *count;
    pthread_mutex_unlock(lock);
    return n;
}

struct count_goal {
    pthread_mutex_t *lock;
    const int *count;
    int want;
};

static bool count_reached(void *ctx)
{
    struct count_goal *goal = ctx;
    return test_count_read(goal->lock, goal->count) >= goal->want;
}

bool test_count_wait(pthread_mutex_t *lock, const int *count, int want, const char *what)
{
    struct count_goal goal = {lock, count, want};
    if (poll_until(count_reached, &goal, TEST_WAIT_MS))
        return true;
    print_error("waited %d ms for %d %s, saw %d\n", TEST_WAIT_MS, want, what,
                test_count_read(lock, count));
    return false;
}

/* ---- a consumer that records what reached it ---- */

static int test_consume(struct consumer *self, struct payload *p, struct error *err)
{
    struct test_consumer *t = self->ctx;
    size_t items = payload_item_count(p);
    payload_free(p);
    pthread_mutex_lock(&t->lock);
    if (t->calls < TEST_CONSUMER_SIZES_MAX)
        t->sizes[t->calls] = items;
    t->calls++;
    t->items += items;
    int code = t->fail_code;
    enum error_kind kind = t->fail_kind;
    const char *message = t->fail_message;
    pthread_mutex_unlock(&t->lock);
    if (code)
        return error_set(err, code, kind, "%s", message);
    return 0;
}

void test_consumer_init(struct test_consumer *t)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    t->consumer.consume = test_consume;
    t->consumer.ctx = t;
}

void test_consumer_destroy(struct test_consumer *t)
{
    pthread_mutex_destroy(&t->lock);
}

void test_consumer_fail(struct test_consumer *t, int code, enum error_kind kind,
                        const char *message)
{
    pthread_mutex_lock(&t->lock);
    t->fail_code = code;
    t->fail_kind = kind;
    t->fail_message = message;
    pthread_mutex_unlock(&t->lock);
}

int test_consumer_calls(struct test_consumer *t)
{
    return test_count_read(&t->lock, &t->calls);
}

bool test_consumer_wait_calls(struct test_consumer *t, int calls)
{
    return test_count_wait(&t->lock, &t->calls, calls, "consumer calls");
}

void test_consumers_wire(struct test_consumer *consumers, unsigned signals, struct component *c)
{
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        test_consumer_init(&consumers[s]);
        if (signals & SIGNAL_BIT(s))
            c->next[s] = &consumers[s].consumer;
    }
}

void test_consumers_destroy(struct test_consumer *consumers)
{
    for (int s = 0; s < SIGNAL_COUNT; s++)
        test_consumer_destroy(&consumers[s]);
}

/* ---- a component's config ---- */

int component_config_bind(const struct component_descriptor *d, const char *id, const char *text,
                          void *config, struct error *err)
{
    char path[256];
    snprintf(path, sizeof(path), "%s.%s", component_kind_section(d->kind), id);
    json_t *tree = NULL;
    int rc = yamljson_parse(text, strlen(text), "test", &tree, NULL, err);
    if (rc == 0)
        rc = options_bind(d->options, tree, config, path, err);
    if (rc == 0)
        rc = d->validate(config, err);
    json_decref(tree);
    return rc;
}

void component_config_expect(const struct component_descriptor *d, const char *id, const char *text,
                             const char *message)
{
    void *config = calloc(1, d->config_size);
    assert_non_null(config);
    struct error err = {0};
    int rc = component_config_bind(d, id, text, config, &err);
    options_free(d->options, config);
    free(config);
    if (!message && rc != 0)
        fail_msg("%s: unexpected error \"%s\"", text, err.message);
    if (message && (rc == 0 || !strstr(err.message, message)))
        fail_msg("%s: got \"%s\", expected \"%s\"", text, rc ? err.message : "(valid)", message);
}

/* ---- the component, wired as the service wires it ---- */

struct component_fixture *component_fixture_new(const struct component_descriptor *d,
                                                const char *id, const char *text)
{
    struct component_fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->component.descriptor = d;
    f->component.config = calloc(1, d->config_size);
    assert_non_null(f->component.config);
    struct error err = {0};
    if (component_config_bind(d, id, text, f->component.config, &err) != 0)
        fail_msg("config %s: %s", text, err.message);
    const char *kind = component_kind_name(d->kind);
    snprintf(f->component.id, sizeof(f->component.id), "%s", id);
    snprintf(f->component.log_name, sizeof(f->component.log_name), "%s/%s", kind, id);
    snprintf(f->labels, sizeof(f->labels), "%s=\"%s\"", kind, id);
    f->telemetry = telemetry_new();
    assert_non_null(f->telemetry);
    f->component.telemetry = f->telemetry;
    return f;
}

void component_fixture_start(struct component_fixture *f)
{
    const struct component_descriptor *d = f->component.descriptor;
    struct error err = {0};
    if (d->create(&f->component, &err) != 0 || d->start(&f->component, &err) != 0)
        fail_msg("create/start %s: %s", f->component.log_name, err.message);
}

int component_fixture_consume_spans(struct component_fixture *f, size_t n, struct error *err)
{
    return f->component.descriptor->consume(&f->component, test_payload_of_spans(n), err);
}

void component_fixture_shutdown(struct component_fixture *f, long long within_ms)
{
    f->component.descriptor->shutdown(&f->component, monotonic_ms() + within_ms);
    f->shut_down = true;
}

void component_fixture_free(struct component_fixture *f)
{
    if (!f)
        return;
    const struct component_descriptor *d = f->component.descriptor;
    if (!f->shut_down && f->component.state)
        component_fixture_shutdown(f, 5000);
    if (f->component.state)
        d->destroy(&f->component);
    options_free(d->options, f->component.config);
    free(f->component.config);
    telemetry_free(f->telemetry);
    free(f);
}

uint64_t component_fixture_counter(struct component_fixture *f, const char *name)
{
    return tm_counter_value(telemetry_counter(f->telemetry, name, "", f->labels));
}

struct counter_goal {
    struct component_fixture *fixture;
    const char *name;
    uint64_t value;
};

static bool counter_reached(void *ctx)
{
    struct counter_goal *goal = ctx;
    return component_fixture_counter(goal->fixture, goal->name) >= goal->value;
}

bool component_fixture_wait_counter(struct component_fixture *f, const char *name, uint64_t value)
{
    struct counter_goal goal = {f, name, value};
    return poll_until_or_say(counter_reached, &goal, TEST_WAIT_MS, name);
}
