/*
 * test_resourcedetection.c - unit tests of the resourcedetection processor
 * (reference/processors/resourcedetection/) against contrib@v0.143.0
 * processor/resourcedetectionprocessor (facts/pipeline.md §4): config defaults and validation,
 * the env detector's parser (a table read as a specification of upstream's regular expression
 * and url.QueryUnescape), the system detector on an injected machine, merge order of detectors,
 * override true/false on the data, start failures, and all three signals.
 *
 * The processor runs as the service runs it (bind, validate, create, start, consume, shutdown,
 * destroy) in front of a consumer that keeps the last payload. The env detector reads the test
 * process's environment: tests set OTEL_RESOURCE_ATTRIBUTES / OTEL_RESOURCE and unset them after
 * (cmocka runs tests one at a time).
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
#include <unistd.h>

#include <cmocka.h>

#include "../processors/resourcedetection/resourcedetection.h"
#include "component.h"
#include "component_fixture.h"
#include "options.h"
#include "pdata.h"
#include "poll_until.h"
#include "yamljson.h"

extern const struct component_descriptor resourcedetection_processor_descriptor;
#define RD (&resourcedetection_processor_descriptor)

/* ---- a consumer that keeps the last payload ---- */

struct keeper {
    struct consumer consumer;
    pthread_mutex_t lock;
    struct payload *last;
    int calls;
};

static int keep_consume(struct consumer *self, struct payload *p, struct error *err)
{
    (void)err;
    struct keeper *k = self->ctx;
    pthread_mutex_lock(&k->lock);
    payload_free(k->last);
    k->last = p;
    k->calls++;
    pthread_mutex_unlock(&k->lock);
    return 0;
}

/* ---- the processor in front of a keeper ---- */

struct fixture {
    struct component_fixture *processor;
    struct keeper keeper;
};

/* A processor of `config` (YAML) for `signal`, bound and created, not started. */
static struct fixture *fixture_new(const char *config, enum signal signal)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    pthread_mutex_init(&f->keeper.lock, NULL);
    f->keeper.consumer.consume = keep_consume;
    f->keeper.consumer.ctx = &f->keeper;
    f->processor = component_fixture_new(RD, "resourcedetection", config);
    struct component *c = &f->processor->component;
    snprintf(c->pipeline_id, sizeof(c->pipeline_id), "%s", signal_name(signal));
    c->pipeline_signal = signal;
    c->next[signal] = &f->keeper.consumer;
    return f;
}

static struct fixture *fixture_start(const char *config, enum signal signal)
{
    struct fixture *f = fixture_new(config, signal);
    component_fixture_start(f->processor);
    return f;
}

static void fixture_free(struct fixture *f)
{
    component_fixture_free(f->processor);
    payload_free(f->keeper.last);
    pthread_mutex_destroy(&f->keeper.lock);
    free(f);
}

/* Creates and starts by hand: returns what create or start returned, message in err. */
static int fixture_try_start(struct fixture *f, struct error *err)
{
    struct component *c = &f->processor->component;
    int rc = c->descriptor->create(c, err);
    if (rc == 0)
        rc = c->descriptor->start(c, err);
    return rc;
}

static void set_env(const char *attributes, const char *deprecated)
{
    if (attributes)
        setenv("OTEL_RESOURCE_ATTRIBUTES", attributes, 1);
    else
        unsetenv("OTEL_RESOURCE_ATTRIBUTES");
    if (deprecated)
        setenv("OTEL_RESOURCE", deprecated, 1);
    else
        unsetenv("OTEL_RESOURCE");
}

/* ---- payloads with one resource holding `attrs` (key, value pairs, NULL-terminated) ---- */

static otlp_resource *resource_of(const char *const *attrs)
{
    otlp_resource *r = pdata_calloc(1, sizeof(*r));
    assert_non_null(r);
    opentelemetry__proto__resource__v1__resource__init(r);
    for (size_t i = 0; attrs && attrs[i]; i += 2)
        assert_int_equal(
            pdata_attr_upsert_string(&r->attributes, &r->n_attributes, attrs[i], attrs[i + 1]), 0);
    return r;
}

static struct payload *payload_with_resource(enum signal signal, const char *const *attrs,
                                             const char *schema_url)
{
    struct payload *p = payload_new(signal);
    assert_non_null(p);
    char *schema = schema_url ? pdata_strdup(schema_url) : NULL;
    switch (signal) {
    case SIGNAL_TRACES: {
        Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = pdata_calloc(1, sizeof(*rs));
        assert_non_null(rs);
        opentelemetry__proto__trace__v1__resource_spans__init(rs);
        rs->resource = resource_of(attrs);
        if (schema)
            rs->schema_url = schema;
        p->traces->resource_spans = pdata_calloc(1, sizeof(rs));
        p->traces->resource_spans[0] = rs;
        p->traces->n_resource_spans = 1;
        break;
    }
    case SIGNAL_METRICS: {
        Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = pdata_calloc(1, sizeof(*rm));
        assert_non_null(rm);
        opentelemetry__proto__metrics__v1__resource_metrics__init(rm);
        rm->resource = resource_of(attrs);
        if (schema)
            rm->schema_url = schema;
        p->metrics->resource_metrics = pdata_calloc(1, sizeof(rm));
        p->metrics->resource_metrics[0] = rm;
        p->metrics->n_resource_metrics = 1;
        break;
    }
    case SIGNAL_LOGS: {
        Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = pdata_calloc(1, sizeof(*rl));
        assert_non_null(rl);
        opentelemetry__proto__logs__v1__resource_logs__init(rl);
        rl->resource = resource_of(attrs);
        if (schema)
            rl->schema_url = schema;
        p->logs->resource_logs = pdata_calloc(1, sizeof(rl));
        p->logs->resource_logs[0] = rl;
        p->logs->n_resource_logs = 1;
        break;
    }
    }
    return p;
}

/* The first resource of the last payload that reached the keeper, and its schema URL. */
static const otlp_resource *last_resource(struct fixture *f, const char **schema_url)
{
    struct payload *p = f->keeper.last;
    assert_non_null(p);
    switch (p->signal) {
    case SIGNAL_TRACES:
        *schema_url = p->traces->resource_spans[0]->schema_url;
        return p->traces->resource_spans[0]->resource;
    case SIGNAL_METRICS:
        *schema_url = p->metrics->resource_metrics[0]->schema_url;
        return p->metrics->resource_metrics[0]->resource;
    case SIGNAL_LOGS:
        *schema_url = p->logs->resource_logs[0]->schema_url;
        return p->logs->resource_logs[0]->resource;
    }
    return NULL;
}

/* Sends one payload with `attrs` and checks that the resource that arrives holds exactly
 * `expected` (key, value pairs, NULL-terminated), in that order. */
static void expect_resource(struct fixture *f, enum signal signal, const char *const *attrs,
                            const char *const *expected)
{
    struct error err = {0};
    struct component *c = &f->processor->component;
    assert_int_equal(c->descriptor->consume(c, payload_with_resource(signal, attrs, NULL), &err),
                     0);
    const char *schema_url;
    const otlp_resource *r = last_resource(f, &schema_url);
    size_t n = 0;
    while (expected[2 * n])
        n++;
    for (size_t i = 0; i < n && i < r->n_attributes; i++) {
        const otlp_keyvalue *kv = r->attributes[i];
        if (strcmp(kv->key, expected[2 * i]) ||
            strcmp(kv->value->string_value, expected[2 * i + 1]))
            fail_msg("attribute %zu is %s=%s, expected %s=%s", i, kv->key, kv->value->string_value,
                     expected[2 * i], expected[2 * i + 1]);
    }
    if (r->n_attributes != n)
        fail_msg("%zu attributes, expected %zu", r->n_attributes, n);
}

static char host_name[256];

static const char *this_host(void)
{
    assert_int_equal(gethostname(host_name, sizeof(host_name)), 0);
    return host_name;
}

/* ---- config ---- */

static void test_resourcedetection_config_defaults_are_upstreams(void **state)
{
    (void)state;
    struct resourcedetection_config cfg = {0};
    struct error err = {0};
    assert_int_equal(component_config_bind(RD, "resourcedetection", "{}", &cfg, &err), 0);
    assert_int_equal(cfg.detectors.count, 1);
    assert_string_equal(cfg.detectors.items[0], "env");
    assert_true(cfg.override);
    assert_int_equal(cfg.timeout_ns, 5000000000LL);
    assert_int_equal(cfg.refresh_interval_ns, 0);
    assert_int_equal(cfg.system.hostname_sources.count, 0); /* [dns, os] when detecting */
    for (int a = 0; a < SYSTEM_ATTR_COUNT; a++)
        assert_int_equal(cfg.system.attributes[a].enabled,
                         a == SYSTEM_ATTR_HOST_NAME || a == SYSTEM_ATTR_OS_TYPE);
    options_free(RD->options, &cfg);
}

static void test_resourcedetection_config_team_values_bind(void **state)
{
    (void)state;
    struct resourcedetection_config cfg = {0};
    struct error err = {0};
    assert_int_equal(component_config_bind(RD, "resourcedetection",
                                           "{detectors: [env, system], timeout: 5s, override: "
                                           "false, system: {hostname_sources: [os], "
                                           "resource_attributes: {host.name: {enabled: false}, "
                                           "host.arch: {enabled: true}}}}",
                                           &cfg, &err),
                     0);
    assert_int_equal(cfg.detectors.count, 2);
    assert_string_equal(cfg.detectors.items[1], "system");
    assert_false(cfg.override);
    assert_false(cfg.system.attributes[SYSTEM_ATTR_HOST_NAME].enabled);
    assert_true(cfg.system.attributes[SYSTEM_ATTR_OS_TYPE].enabled);
    assert_true(cfg.system.attributes[SYSTEM_ATTR_HOST_ARCH].enabled);
    assert_string_equal(cfg.system.hostname_sources.items[0], "os");
    options_free(RD->options, &cfg);
}

static void test_resourcedetection_config_validation_messages(void **state)
{
    (void)state;
    static const struct {
        const char *config;
        const char *message; /* NULL = accepted */
    } rows[] = {
        {"{detectors: [env, system], timeout: 5s, override: false}", NULL},
        {"{refresh_interval: 1m, system: {hostname_sources: [os, dns, cname, lookup]}}", NULL},
        {"{system: {hostname_sources: []}}", NULL},
        {"{system: {hostname_sources: [dns, fqdn]}}",
         "system: hostname_sources contains invalid value: \"fqdn\""},
        {"{detector: [env]}", "processors.resourcedetection: unknown key \"detector\""},
        {"{system: {hostname_source: [os]}}",
         "processors.resourcedetection.system: unknown key \"hostname_source\""},
        {"{system: {resource_attributes: {host.nme: {enabled: true}}}}",
         "processors.resourcedetection.system.resource_attributes: unknown key \"host.nme\""},
        {"{system: {resource_attributes: {host.name: {enabled: 3}}}}",
         "processors.resourcedetection.system.resource_attributes.host.name.enabled: expected a "
         "boolean"},
        {"{timeout: five}", "processors.resourcedetection.timeout: expected a duration"},
        {"{override: maybe}", "processors.resourcedetection.override: expected a boolean"},
        {"{detectors: env}", "processors.resourcedetection.detectors: expected a list"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        component_config_expect(RD, "resourcedetection", rows[i].config, rows[i].message);
}

static void test_resourcedetection_unknown_detector_fails_create(void **state)
{
    (void)state;
    static const struct {
        const char *config, *message;
    } rows[] = {
        {"{detectors: [env, sytem]}", "invalid detector key: sytem"},
        {"{detectors: [ec2]}", "detector ec2 is not implemented by otelcol-ref"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct fixture *f = fixture_new(rows[i].config, SIGNAL_TRACES);
        struct error err = {0};
        struct component *c = &f->processor->component;
        assert_int_not_equal(c->descriptor->create(c, &err), 0);
        if (!strstr(err.message, rows[i].message))
            fail_msg("%s: got \"%s\", expected \"%s\"", rows[i].config, err.message,
                     rows[i].message);
        fixture_free(f);
    }
}

static void test_resourcedetection_detector_names_are_trimmed(void **state)
{
    (void)state;
    set_env("a=1", NULL);
    struct fixture *f = fixture_start("{detectors: [' env ']}", SIGNAL_TRACES);
    const char *const expected[] = {"a", "1", NULL};
    expect_resource(f, SIGNAL_TRACES, NULL, expected);
    fixture_free(f);
    set_env(NULL, NULL);
}

/* ---- the env parser ---- */

static void test_resourcedetection_env_parsing_table(void **state)
{
    (void)state;
    /* OTEL_RESOURCE_ATTRIBUTES as set -> the attributes in order ("k=v;k=v") or the error. */
    static const struct {
        const char *env;
        const char *attributes; /* "" = none; NULL when an error is expected */
        const char *error;
    } rows[] = {
        /* valid */
        {"service.version=1.0.0,deployment.environment=production",
         "service.version=1.0.0;deployment.environment=production", NULL},
        {"k=v", "k=v", NULL},
        {"k8s.pod.name=web-1,a.b/c=d", "k8s.pod.name=web-1;a.b/c=d", NULL},
        {"a=1,", "a=1", NULL},    /* a trailing comma ends the last pair */
        {"a=b=c", "a=b=c", NULL}, /* the lazy value takes the rest up to `,` or the end */
        {"a,b=c", "a,b=c", NULL}, /* the lazy key takes the comma: upstream's quirk */
        {"a b=c d", "a b=c d", NULL},
        {"a=1,a=2", "a=2", NULL}, /* PutStr: the last value wins */
        /* whitespace */
        {"  a = 1 ,\tb\t=\t2  ", "a=1;b=2", NULL},
        {"\n a=1\n", "a=1", NULL},
        {"   ", "", NULL}, /* trimmed to nothing: no attributes, no error */
        {"", "", NULL},
        {"\xc2\xa0"
         "a=1\xe3\x80\x80",
         "a=1", NULL}, /* TrimSpace knows Unicode spaces */
        /* empty values */
        {"a=", "a=", NULL},
        {"a=,b=2", "a=;b=2", NULL},
        {"a= ,b=", "a=;b=", NULL},
        /* escapes */
        {"a=hello%20world", "a=hello world", NULL},
        {"a=x+y", "a=x y", NULL}, /* QueryUnescape: + is a space */
        {"a=%2B%2C%3D", "a=+,=", NULL},
        {"a=%c3%a9", "a=\xc3\xa9", NULL},
        {"a%20b=1", "a%20b=1", NULL}, /* keys are not decoded */
        /* bad escapes */
        {"a=%zz", NULL,
         "invalid resource format in attribute: \"a=%zz\", err: invalid URL escape "
         "\"%zz\""},
        {"a=1,b=x%4", NULL,
         "invalid resource format in attribute: \"b=x%4\", err: invalid URL "
         "escape \"%4\""},
        {"b=%,c=1", NULL,
         "invalid resource format in attribute: \"b=%,\", err: invalid URL "
         "escape \"%\""},
        {"a=%4g5", NULL,
         "invalid resource format in attribute: \"a=%4g5\", err: invalid URL "
         "escape \"%4g\""},
        /* missing = */
        {"novalue", NULL, "invalid resource format: \"novalue\""},
        {"a=1,novalue", NULL, "invalid resource format, invalid text: \"novalue\""},
        {"novalue,a=1", "novalue,a=1", NULL}, /* and so does a key */
        {",", NULL, "invalid resource format: \",\""},
        {"=1", NULL, "invalid resource format: \"=1\""},
        {"a=1, =2", "a=1; =2", NULL}, /* a key of one space: the only way the pattern matches */
        /* non-ASCII */
        {"a=caf\xc3\xa9", NULL, "invalid resource format: \"a=caf\xc3\xa9\""},
        {"a=1,b=\xc3\xa9", NULL, "invalid resource format, invalid text: \"b=\xc3\xa9\""},
        {"\xc3\xa9=1", NULL, "invalid resource format: \"\xc3\xa9=1\""},
        {"a=1,\xff=2", NULL, "invalid resource format, invalid text: \"\\xff=2\""},
        {"a=\"q\"\x01", "a=\"q\"\x01", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct resourcedetection_resource r = {0};
        struct error err = {0};
        int rc = resourcedetection_env_detect_from(rows[i].env, NULL, &r, &err);
        char got[2048] = "";
        size_t n = 0;
        for (size_t k = 0; k < r.count; k++)
            n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s=%s", k ? ";" : "", r.items[k].key,
                                  r.items[k].value);
        if (rows[i].error) {
            if (rc == 0 || strcmp(err.message, rows[i].error) || r.count != 0)
                fail_msg("row %zu [%s]: rc %d, error \"%s\", attributes [%s]; expected error "
                         "\"%s\"",
                         i, rows[i].env, rc, err.message, got, rows[i].error);
        } else if (rc != 0 || strcmp(got, rows[i].attributes)) {
            fail_msg("row %zu [%s]: rc %d (%s), attributes [%s]; expected [%s]", i, rows[i].env, rc,
                     err.message, got, rows[i].attributes);
        }
        resourcedetection_resource_clear(&r);
    }
}

/* Builds "k<sep>=v" with a key of `key_len` and a value of `value_len` characters. */
static char *long_pair(size_t key_len, size_t value_len)
{
    char *s = malloc(key_len + value_len + 2);
    assert_non_null(s);
    memset(s, 'k', key_len);
    s[key_len] = '=';
    memset(s + key_len + 1, 'v', value_len);
    s[key_len + value_len + 1] = '\0';
    return s;
}

static void test_resourcedetection_env_length_limits(void **state)
{
    (void)state;
    struct resourcedetection_resource r = {0};
    struct error err = {0};
    /* 256 and 256: the longest pair. */
    char *text = long_pair(256, 256);
    assert_int_equal(resourcedetection_env_parse(text, &r, &err), 0);
    assert_int_equal(r.count, 1);
    assert_int_equal(strlen(r.items[0].key), 256);
    assert_int_equal(strlen(r.items[0].value), 256);
    resourcedetection_resource_clear(&r);
    free(text);
    /* A key of 257: the match starts one character later, which is "invalid text". */
    text = long_pair(257, 1);
    assert_int_equal(resourcedetection_env_parse(text, &r, &err), -EINVAL);
    assert_string_equal(err.message, "invalid resource format, invalid text: \"k\"");
    assert_int_equal(r.count, 0);
    free(text);
    /* A value of 257: nothing matches at all. */
    text = long_pair(3, 257);
    assert_int_equal(resourcedetection_env_parse(text, &r, &err), -EINVAL);
    const char *prefix = "invalid resource format: \"kkk=vvv";
    assert_true(strncmp(err.message, prefix, strlen(prefix)) == 0);
    free(text);
}

static void test_resourcedetection_env_falls_back_to_otel_resource(void **state)
{
    (void)state;
    struct resourcedetection_resource r = {0};
    struct error err = {0};
    assert_int_equal(resourcedetection_env_detect_from(NULL, "old=1", &r, &err), 0);
    assert_string_equal(resourcedetection_resource_get(&r, "old"), "1");
    resourcedetection_resource_clear(&r);
    assert_int_equal(resourcedetection_env_detect_from("  ", "old=1", &r, &err), 0);
    assert_string_equal(resourcedetection_resource_get(&r, "old"), "1");
    resourcedetection_resource_clear(&r);
    assert_int_equal(resourcedetection_env_detect_from("new=2", "old=1", &r, &err), 0);
    assert_int_equal(r.count, 1);
    assert_string_equal(resourcedetection_resource_get(&r, "new"), "2");
    assert_null(r.schema_url);
    resourcedetection_resource_clear(&r);
}

/* ---- the system detector on an injected machine ---- */

static const char *fake_host = "node-1";
static const char *fake_canonical = NULL; /* NULL: the lookup fails */
static const char *fake_reverse = NULL;

static int fake_hostname(char *buf, size_t size, struct error *err)
{
    if (!fake_host)
        return error_set(err, -EIO, ERROR_PERMANENT, "no host name");
    snprintf(buf, size, "%s", fake_host);
    return 0;
}

static int fake_lookup_canonical(const char *host, char *buf, size_t size, struct error *err)
{
    if (!fake_canonical)
        return error_set(err, -EIO, ERROR_PERMANENT, "lookup %s: no such host", host);
    snprintf(buf, size, "%s", fake_canonical);
    return 0;
}

static int fake_lookup_reverse(const char *host, char *buf, size_t size, struct error *err)
{
    if (!fake_reverse)
        return error_set(err, -EIO, ERROR_PERMANENT, "lookup %s: no such host", host);
    snprintf(buf, size, "%s", fake_reverse);
    return 0;
}

static char hosts_path[64];

/* A probe reading a hosts file with `hosts` as its text. */
static struct resourcedetection_system_probe fake_probe(const char *hosts)
{
    snprintf(hosts_path, sizeof(hosts_path), "/tmp/test_resourcedetection.hosts.XXXXXX");
    int fd = mkstemp(hosts_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, hosts, strlen(hosts)), (ssize_t)strlen(hosts));
    close(fd);
    return (struct resourcedetection_system_probe){fake_hostname, hosts_path, fake_lookup_canonical,
                                                   fake_lookup_reverse};
}

static void system_config(struct resourcedetection_system_config *cfg, const char *yaml)
{
    struct error err = {0};
    memset(cfg, 0, sizeof(*cfg));
    json_t *tree = NULL;
    assert_int_equal(yamljson_parse(yaml, strlen(yaml), "test", &tree, NULL, &err), 0);
    assert_int_equal(options_bind(resourcedetection_system_options, tree, cfg, "system", &err), 0);
    json_decref(tree);
}

static void test_resourcedetection_system_hostname_sources(void **state)
{
    (void)state;
    static const struct {
        const char *sources;
        const char *hosts;
        const char *host, *canonical, *reverse;
        const char *expected; /* NULL = all sources fail */
    } rows[] = {
        /* os: the host name as it is */
        {"[os]", "", "node-1", NULL, NULL, "node-1"},
        /* dns: the hosts line naming the host gives its canonical name (kubelet's pod line) */
        {"[dns]", "127.0.0.1 localhost\n10.244.1.7 otel-collector-x2x7k\n", "otel-collector-x2x7k",
         NULL, NULL, "otel-collector-x2x7k"},
        {"[dns]", "# comment node-1\n127.0.1.1 node-1.example.com node-1\n", "node-1", NULL, NULL,
         "node-1.example.com"},
        {"[dns]", "127.0.0.1 a node-1\n127.0.0.1 b node-1\n", "node-1", NULL, NULL, "a"},
        {"[dns]", "127.0.0.1 foo # node-1\n", "node-1", "node-1.cluster.local", NULL,
         "node-1.cluster.local"}, /* a commented alias does not count: the resolver answers */
        {"[dns]", "127.0.0.1 _invalid_ node-1\n", "node-1", NULL, "node-1.rev", "node-1.rev"},
        {"[dns]", "", "node-1", NULL, NULL, NULL},
        /* the default [dns, os]: dns fails, os answers */
        {"[]", "", "node-1", NULL, NULL, "node-1"},
        {"[]", "127.0.0.1 node-1.lan node-1\n", "node-1", NULL, NULL, "node-1.lan"},
        /* cname and lookup ask the resolver only */
        {"[cname]", "127.0.0.1 node-1.lan node-1\n", "node-1", "node-1.dc", NULL, "node-1.dc"},
        {"[lookup]", "", "node-1", "node-1.dc", "node-1.ptr", "node-1.ptr"},
        {"[lookup, cname]", "", "node-1", "node-1.dc", NULL, "node-1.dc"},
        /* nothing works */
        {"[os]", "", NULL, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char yaml[128];
        snprintf(yaml, sizeof(yaml), "{hostname_sources: %s}", rows[i].sources);
        struct resourcedetection_system_config cfg;
        system_config(&cfg, yaml);
        fake_host = rows[i].host;
        fake_canonical = rows[i].canonical;
        fake_reverse = rows[i].reverse;
        struct resourcedetection_system_probe probe = fake_probe(rows[i].hosts);
        struct resourcedetection_resource r = {0};
        struct error err = {0};
        int rc =
            resourcedetection_system_detect(&cfg, &probe, "processor/resourcedetection", &r, &err);
        unlink(hosts_path);
        if (!rows[i].expected) {
            if (rc == 0)
                fail_msg("row %zu: host.name %s, expected a failure", i,
                         resourcedetection_resource_get(&r, "host.name"));
            assert_string_equal(err.message, "all hostname sources failed to get hostname");
            assert_int_equal(r.count, 0);
        } else {
            if (rc != 0)
                fail_msg("row %zu: %s", i, err.message);
            const char *got = resourcedetection_resource_get(&r, "host.name");
            if (strcmp(got, rows[i].expected))
                fail_msg("row %zu: host.name %s, expected %s", i, got, rows[i].expected);
            /* host.name, then os.type: upstream's order; the semconv schema URL */
            assert_int_equal(r.count, 2);
            assert_string_equal(r.items[0].key, "host.name");
            assert_string_equal(r.items[1].key, "os.type");
            assert_string_equal(r.items[1].value, "linux");
            assert_string_equal(r.schema_url, "https://opentelemetry.io/schemas/1.38.0");
        }
        resourcedetection_resource_clear(&r);
        options_free(resourcedetection_system_options, &cfg);
    }
    fake_host = "node-1";
}

static void test_resourcedetection_system_attribute_toggles(void **state)
{
    (void)state;
    struct resourcedetection_system_config cfg;
    system_config(&cfg, "{hostname_sources: [os], resource_attributes: {host.name: {enabled: "
                        "false}, host.arch: {enabled: true}, os.version: {enabled: true}, "
                        "os.description: {enabled: true}}}");
    fake_host = "node-1";
    struct resourcedetection_system_probe probe = fake_probe("");
    struct resourcedetection_resource r = {0};
    struct error err = {0};
    assert_int_equal(resourcedetection_system_detect(&cfg, &probe, NULL, &r, &err), 0);
    unlink(hosts_path);
    assert_int_equal(r.count, 4);
    assert_string_equal(r.items[0].key, "os.type");
    assert_string_equal(r.items[1].key, "host.arch");
    assert_true(r.items[1].value[0] != '\0');
    assert_string_equal(r.items[2].key, "os.description");
    assert_non_null(strstr(r.items[2].value, "Linux"));
    assert_string_equal(r.items[3].key, "os.version");
    resourcedetection_resource_clear(&r);
    options_free(resourcedetection_system_options, &cfg);
}

/* ---- the processor ---- */

static void test_resourcedetection_team_config_adds_host_name_and_os_type(void **state)
{
    (void)state;
    set_env(NULL, NULL);
    struct fixture *f =
        fixture_start("{detectors: [env, system], timeout: 5s, override: false, system: "
                      "{hostname_sources: [os]}}",
                      SIGNAL_LOGS);
    const char *const attrs[] = {"k8s.pod.name", "web-1", NULL};
    const char *const expected[] = {"k8s.pod.name", "web-1", "host.name", this_host(),
                                    "os.type",      "linux", NULL};
    expect_resource(f, SIGNAL_LOGS, attrs, expected);
    const char *schema_url;
    last_resource(f, &schema_url);
    assert_string_equal(schema_url, "https://opentelemetry.io/schemas/1.38.0");
    fixture_free(f);
}

static void test_resourcedetection_detectors_merge_in_list_order_first_wins(void **state)
{
    (void)state;
    set_env("host.name=from-env,team=shop", NULL);
    struct fixture *f = fixture_start(
        "{detectors: [env, system], system: {hostname_sources: [os]}}", SIGNAL_TRACES);
    const char *const env_first[] = {"host.name", "from-env", "team", "shop",
                                     "os.type",   "linux",    NULL};
    expect_resource(f, SIGNAL_TRACES, NULL, env_first);
    fixture_free(f);

    f = fixture_start("{detectors: [system, env], system: {hostname_sources: [os]}}",
                      SIGNAL_TRACES);
    const char *const system_first[] = {"host.name", this_host(), "os.type", "linux",
                                        "team",      "shop",      NULL};
    expect_resource(f, SIGNAL_TRACES, NULL, system_first);
    fixture_free(f);
    set_env(NULL, NULL);
}

static void test_resourcedetection_override_true_replaces_in_place(void **state)
{
    (void)state;
    set_env("service.version=2.0.0,deployment.environment=production", NULL);
    struct fixture *f = fixture_start("{detectors: [env]}", SIGNAL_METRICS); /* override: true */
    const char *const attrs[] = {"service.version", "1.0.0", "service.name", "checkout", NULL};
    const char *const expected[] = {
        "service.version", "2.0.0", "service.name", "checkout", "deployment.environment",
        "production",      NULL};
    expect_resource(f, SIGNAL_METRICS, attrs, expected);
    /* an existing empty value is replaced too */
    const char *const empty[] = {"deployment.environment", "", NULL};
    const char *const replaced[] = {"deployment.environment", "production", "service.version",
                                    "2.0.0", NULL};
    expect_resource(f, SIGNAL_METRICS, empty, replaced);
    fixture_free(f);
    set_env(NULL, NULL);
}

static void test_resourcedetection_override_false_keeps_existing_even_empty(void **state)
{
    (void)state;
    set_env("service.version=2.0.0,deployment.environment=production", NULL);
    struct fixture *f = fixture_start("{detectors: [env], override: false}", SIGNAL_LOGS);
    const char *const attrs[] = {"service.version", "1.0.0", "deployment.environment", "", NULL};
    const char *const expected[] = {"service.version", "1.0.0", "deployment.environment", "", NULL};
    expect_resource(f, SIGNAL_LOGS, attrs, expected);
    /* and a resource without attributes gets all of them */
    const char *const none[] = {NULL};
    const char *const all[] = {"service.version", "2.0.0", "deployment.environment", "production",
                               NULL};
    expect_resource(f, SIGNAL_LOGS, none, all);
    fixture_free(f);
    set_env(NULL, NULL);
}

static void test_resourcedetection_empty_detection_leaves_data_alone(void **state)
{
    (void)state;
    set_env(NULL, NULL);
    struct fixture *f = fixture_start("{}", SIGNAL_TRACES);
    const char *const attrs[] = {"a", "1", NULL};
    expect_resource(f, SIGNAL_TRACES, attrs, attrs);
    const char *schema_url;
    last_resource(f, &schema_url);
    assert_string_equal(schema_url, ""); /* env has no schema URL */
    fixture_free(f);
}

static void test_resourcedetection_keeps_the_datas_schema_url(void **state)
{
    (void)state;
    set_env(NULL, NULL);
    struct fixture *f =
        fixture_start("{detectors: [system], system: {hostname_sources: [os]}}", SIGNAL_TRACES);
    struct error err = {0};
    struct component *c = &f->processor->component;
    assert_int_equal(
        c->descriptor->consume(
            c, payload_with_resource(SIGNAL_TRACES, NULL, "https://opentelemetry.io/schemas/1.9.0"),
            &err),
        0);
    const char *schema_url;
    last_resource(f, &schema_url);
    assert_string_equal(schema_url, "https://opentelemetry.io/schemas/1.9.0");
    fixture_free(f);
}

static void test_resourcedetection_all_three_signals(void **state)
{
    (void)state;
    set_env("cluster=kind", NULL);
    const enum signal signals[] = {SIGNAL_TRACES, SIGNAL_METRICS, SIGNAL_LOGS};
    for (size_t i = 0; i < 3; i++) {
        struct fixture *f = fixture_start("{override: false}", signals[i]);
        const char *const attrs[] = {"service.name", "web", NULL};
        const char *const expected[] = {"service.name", "web", "cluster", "kind", NULL};
        expect_resource(f, signals[i], attrs, expected);
        fixture_free(f);
    }
    /* a payload whose ResourceSpans has no Resource at all gets one */
    struct fixture *f = fixture_start("{}", SIGNAL_TRACES);
    struct payload *p = payload_with_resource(SIGNAL_TRACES, NULL, NULL);
    protobuf_c_message_free_unpacked(&p->traces->resource_spans[0]->resource->base,
                                     pdata_allocator());
    p->traces->resource_spans[0]->resource = NULL;
    struct error err = {0};
    struct component *c = &f->processor->component;
    assert_int_equal(c->descriptor->consume(c, p, &err), 0);
    const char *schema_url;
    const otlp_resource *r = last_resource(f, &schema_url);
    assert_non_null(r);
    assert_string_equal(pdata_attr_get_string(r->attributes, r->n_attributes, "cluster"), "kind");
    fixture_free(f);
    set_env(NULL, NULL);
}

static void test_resourcedetection_bad_env_fails_start_after_retries(void **state)
{
    (void)state;
    set_env("a=%zz", NULL);
    struct fixture *f = fixture_new("{detectors: [env, system], timeout: 50ms}", SIGNAL_LOGS);
    struct error err = {0};
    long long started = monotonic_ms();
    assert_int_equal(fixture_try_start(f, &err), -EINVAL);
    /* retried until the deadline, as upstream's backoff loop does */
    assert_true(monotonic_ms() - started >= 40);
    assert_string_equal(err.message, "invalid resource format in attribute: \"a=%zz\", err: "
                                     "invalid URL escape \"%zz\"");
    fixture_free(f);
    set_env(NULL, NULL);
}

static void test_resourcedetection_no_detectors_fails_start(void **state)
{
    (void)state;
    struct fixture *f = fixture_new("{detectors: []}", SIGNAL_LOGS);
    struct error err = {0};
    assert_int_not_equal(fixture_try_start(f, &err), 0);
    assert_string_equal(err.message, "resource detection failed: no detectors succeeded");
    fixture_free(f);
}

struct refresh_goal {
    struct fixture *f;
    const char *value;
};

static bool refreshed(void *ctx)
{
    struct refresh_goal *goal = ctx;
    struct error err = {0};
    struct component *c = &goal->f->processor->component;
    if (c->descriptor->consume(c, payload_with_resource(SIGNAL_TRACES, NULL, NULL), &err) != 0)
        return false;
    const char *schema_url;
    const otlp_resource *r = last_resource(goal->f, &schema_url);
    const char *v = pdata_attr_get_string(r->attributes, r->n_attributes, "rev");
    return v && !strcmp(v, goal->value);
}

static void test_resourcedetection_refresh_interval_redetects(void **state)
{
    (void)state;
    set_env("rev=1", NULL);
    struct fixture *f = fixture_start("{refresh_interval: 20ms}", SIGNAL_TRACES);
    struct refresh_goal goal = {f, "1"};
    assert_true(refreshed(&goal));
    /* Only the value of a variable that exists changes while the refresh thread reads the
     * environment: glibc then swaps one pointer of environ, never moves the array. */
    setenv("OTEL_RESOURCE_ATTRIBUTES", "rev=2", 1);
    goal.value = "2";
    assert_true(poll_until_or_say(refreshed, &goal, TEST_WAIT_MS, "rev=2 after a refresh"));
    fixture_free(f);
    set_env(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resourcedetection_config_defaults_are_upstreams),
        cmocka_unit_test(test_resourcedetection_config_team_values_bind),
        cmocka_unit_test(test_resourcedetection_config_validation_messages),
        cmocka_unit_test(test_resourcedetection_unknown_detector_fails_create),
        cmocka_unit_test(test_resourcedetection_detector_names_are_trimmed),
        cmocka_unit_test(test_resourcedetection_env_parsing_table),
        cmocka_unit_test(test_resourcedetection_env_length_limits),
        cmocka_unit_test(test_resourcedetection_env_falls_back_to_otel_resource),
        cmocka_unit_test(test_resourcedetection_system_hostname_sources),
        cmocka_unit_test(test_resourcedetection_system_attribute_toggles),
        cmocka_unit_test(test_resourcedetection_team_config_adds_host_name_and_os_type),
        cmocka_unit_test(test_resourcedetection_detectors_merge_in_list_order_first_wins),
        cmocka_unit_test(test_resourcedetection_override_true_replaces_in_place),
        cmocka_unit_test(test_resourcedetection_override_false_keeps_existing_even_empty),
        cmocka_unit_test(test_resourcedetection_empty_detection_leaves_data_alone),
        cmocka_unit_test(test_resourcedetection_keeps_the_datas_schema_url),
        cmocka_unit_test(test_resourcedetection_all_three_signals),
        cmocka_unit_test(test_resourcedetection_bad_env_fails_start_after_retries),
        cmocka_unit_test(test_resourcedetection_no_detectors_fails_start),
        cmocka_unit_test(test_resourcedetection_refresh_interval_redetects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
