/*
 * test_loki_wire.c - loki_wire_summarize against the full translation it stands in for: on a
 * table of requests, every number of the summary equals what loki_otlp_translate's push gives
 * (the same extremes computed from its entries and streams), and requests the summary does not
 * cover say so (-EAGAIN) instead of guessing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"
#include "loki_otlp.h"
#include "loki_wire.h"
#include "pdata.h"

#define NOW 1700000000000000000LL

/* The summary as the full path sees it: translate, then the extremes over the push. */
static void summary_from_push(const uint8_t *buf, size_t len, struct loki_wire_summary *out)
{
    memset(out, 0, sizeof(*out));
    struct payload *p = NULL;
    assert_int_equal(payload_decode(SIGNAL_LOGS, buf, len, &p, NULL), 0);
    struct loki_push push;
    assert_int_equal(loki_otlp_translate(p->logs, NOW, &push), 0);
    for (size_t i = 0; i < push.count; i++) {
        const struct loki_stream *s = &push.streams[i];
        size_t names = s->labels.count - (loki_labels_get(&s->labels, "service_name") ? 1 : 0);
        if (names > out->most_label_names)
            out->most_label_names = names;
        for (size_t k = 0; k < s->labels.count; k++) {
            size_t n = strlen(s->labels.items[k].name), v = strlen(s->labels.items[k].value);
            out->longest_label_name = n > out->longest_label_name ? n : out->longest_label_name;
            out->longest_label_value = v > out->longest_label_value ? v : out->longest_label_value;
        }
        for (size_t j = 0; j < s->count; j++) {
            const struct loki_entry *e = &s->entries[j];
            size_t bytes = 0;
            for (size_t k = 0; k < e->metadata.count; k++)
                bytes += strlen(e->metadata.items[k].name) + strlen(e->metadata.items[k].value);
            if (out->records == 0 || e->timestamp_ns < out->oldest_ns)
                out->oldest_ns = e->timestamp_ns;
            if (out->records == 0 || e->timestamp_ns > out->newest_ns)
                out->newest_ns = e->timestamp_ns;
            out->records++;
            if (e->line_len > out->longest_line)
                out->longest_line = e->line_len;
            if (e->metadata.count > out->most_metadata_entries)
                out->most_metadata_entries = e->metadata.count;
            if (bytes > out->most_metadata_bytes)
                out->most_metadata_bytes = bytes;
        }
    }
    loki_push_clear(&push);
    payload_free(p);
}

static const char *const covered[] = {
    /* strings, ints, bools, doubles, bytes, empty values; every record field */
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "{\"stringValue\":\"web\"}},{\"key\":\"k8s.namespace.name\",\"value\":{\"stringValue\":"
    "\"prod\"}},{\"key\":\"host.name\",\"value\":{\"stringValue\":\"node-1\"}}]},\"scopeLogs\":[{"
    "\"scope\":{\"name\":\"lib\",\"version\":\"1.2\",\"attributes\":[{\"key\":\"sa\",\"value\":"
    "{\"boolValue\":true}}],\"droppedAttributesCount\":2},\"logRecords\":[{\"timeUnixNano\":"
    "\"1699999999000000000\",\"observedTimeUnixNano\":\"1699999999500000000\","
    "\"severityNumber\":17,\"severityText\":\"ERROR\",\"body\":{\"stringValue\":\"boom\"},"
    "\"attributes\":[{\"key\":\"http.status_code\",\"value\":{\"intValue\":\"-500\"}},{\"key\":"
    "\"ratio\",\"value\":{\"doubleValue\":0.000001}},{\"key\":\"ok\",\"value\":{\"boolValue\":"
    "false}},{\"key\":\"raw\",\"value\":{\"bytesValue\":\"AQID\"}},{\"key\":\"none\",\"value\":{}},"
    "{\"key\":\"9lives\",\"value\":{\"stringValue\":\"x\"}},{\"key\":\"_x\",\"value\":"
    "{\"stringValue\":\"y\"}},{\"key\":\"__y\",\"value\":{\"stringValue\":\"z\"}},{\"key\":"
    "\"caf\\u00e9.n\\u00e4me\",\"value\":{\"stringValue\":\"\\u00fc\"}},{\"key\":\"\",\"value\":"
    "{\"stringValue\":\"empty key\"}}],\"droppedAttributesCount\":3,\"flags\":1,\"traceId\":"
    "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\"},{"
    "\"observedTimeUnixNano\":"
    "\"1699999998000000000\",\"body\":{\"intValue\":\"42\"}},{\"body\":{\"doubleValue\":1e21}},"
    "{\"body\":{\"boolValue\":true},\"traceId\":\"00000000000000000000000000000000\"}]}]},"
    "{\"resource\":{},\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"1\",\"body\":"
    "{\"bytesValue\":\"AQIDBA==\"}}]}]}]}",
    /* service_name discovered from an index label; two resources of one stream */
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"k8s.container.name\",\"value\":"
    "{\"stringValue\":\"nginx\"}}]},\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":"
    "\"1700000000000000000\",\"body\":{\"stringValue\":\"a\"}}]}]},{\"resource\":{\"attributes\":"
    "[{\"key\":\"k8s.container.name\",\"value\":{\"stringValue\":\"nginx\"}}]},\"scopeLogs\":[{"
    "\"logRecords\":[{\"timeUnixNano\":\"1800000000000000000\",\"body\":{\"stringValue\":"
    "\"bb\"}}]}]}]}",
};

static void assert_summaries_equal(const struct loki_wire_summary *fast,
                                   const struct loki_wire_summary *full)
{
    assert_int_equal(fast->records, full->records);
    assert_true(fast->oldest_ns == full->oldest_ns);
    assert_true(fast->newest_ns == full->newest_ns);
    assert_int_equal(fast->longest_line, full->longest_line);
    assert_int_equal(fast->most_metadata_entries, full->most_metadata_entries);
    assert_int_equal(fast->most_metadata_bytes, full->most_metadata_bytes);
    assert_int_equal(fast->most_label_names, full->most_label_names);
    assert_int_equal(fast->longest_label_name, full->longest_label_name);
    assert_int_equal(fast->longest_label_value, full->longest_label_value);
}

/* Every covered request, summarised without a cache, with a cache of its own (first a miss,
 * then a hit) and with one cache shared by all the requests, equals the full translation. */
static void test_summary_equals_the_full_translation(void **state)
{
    (void)state;
    struct loki_wire_cache *shared = loki_wire_cache_new();
    assert_non_null(shared);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof(covered) / sizeof(covered[0]); i++) {
            size_t len;
            uint8_t *buf = proto_from_json(SIGNAL_LOGS, covered[i], &len);
            struct loki_wire_summary full;
            summary_from_push(buf, len, &full);
            struct loki_wire_cache *own = loki_wire_cache_new();
            assert_non_null(own);
            struct loki_wire_cache *caches[] = {NULL, own, own, shared};
            for (size_t c = 0; c < sizeof(caches) / sizeof(caches[0]); c++) {
                struct loki_wire_summary fast;
                int rc = loki_wire_summarize(buf, len, NOW, caches[c], &fast);
                if (rc != 0)
                    fail_msg("request %zu, cache %zu: summarize says %d", i, c, rc);
                assert_summaries_equal(&fast, &full);
            }
            loki_wire_cache_free(own);
            free(buf);
        }
    }
    loki_wire_cache_free(shared);
}

/* A cached resource is told apart from one that differs in a single byte of a label value, and
 * from the same resource without its scope. */
static void test_cache_tells_resources_apart(void **state)
{
    (void)state;
    static const char *const requests[] = {
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"aaaa\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"s\"},"
        "\"logRecords\":[{\"timeUnixNano\":\"1700000000000000000\"}]}]}]}",
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"aaaaa\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"s\"},"
        "\"logRecords\":[{\"timeUnixNano\":\"1700000000000000000\"}]}]}]}",
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"aaaa\"}}]},\"scopeLogs\":[{\"logRecords\":[{"
        "\"timeUnixNano\":\"1700000000000000000\"}]}]}]}",
    };
    struct loki_wire_cache *cache = loki_wire_cache_new();
    assert_non_null(cache);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
            size_t len;
            uint8_t *buf = proto_from_json(SIGNAL_LOGS, requests[i], &len);
            struct loki_wire_summary fast, full;
            assert_int_equal(loki_wire_summarize(buf, len, NOW, cache, &fast), 0);
            summary_from_push(buf, len, &full);
            assert_summaries_equal(&fast, &full);
            free(buf);
        }
    loki_wire_cache_free(cache);
}

static const char *const not_covered[] = {
    /* a map attribute (flattened into several labels) */
    "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"attributes\":[{\"key\":\"m\","
    "\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"a\",\"value\":{\"intValue\":\"1\"}}]}}}]"
    "}]}]}]}",
    /* an array body (its JSON) */
    "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"arrayValue\":{\"values\":"
    "[{\"stringValue\":\"a\"}]}}}]}]}]}",
    /* no records: 422 */
    "{\"resourceLogs\":[{\"scopeLogs\":[{}]}]}",
};

static void test_what_the_summary_does_not_cover_takes_the_full_path(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(not_covered) / sizeof(not_covered[0]); i++) {
        size_t len;
        uint8_t *buf = proto_from_json(SIGNAL_LOGS, not_covered[i], &len);
        struct loki_wire_summary s;
        if (loki_wire_summarize(buf, len, NOW, NULL, &s) != -EAGAIN)
            fail_msg("request %zu: summarized", i);
        free(buf);
    }
    /* A resource with service.name "\xff" (invalid UTF-8 in a label: LabelSet.Validate fails and
     * Loki skips the resource) and one record. */
    static const uint8_t invalid_label[] = {
        0x0a, 29, /* resource_logs */
        0x0a, 21, /* resource */
        0x0a, 19, /* attributes */
        0x0a, 12,   's', 'e',  'r', 'v',  'i',  'c', 'e',  '.', 'n',  'a', 'm',
        'e',  0x12, 3,   0x0a, 1,   0xff, 0x12, 4,   0x12, 2,   0x2a, 0,
    };
    struct loki_wire_summary s;
    assert_int_equal(loki_wire_summarize(invalid_label, sizeof(invalid_label), NOW, NULL, &s),
                     -EAGAIN);
    /* A body "a\0b": protobuf-c's C string ends at the NUL, the wire has three bytes. */
    static const uint8_t nul_in_body[] = {0x0a, 11,   0x12, 9,   0x12, 7,  0x2a,
                                          5,    0x0a, 3,    'a', 0,    'b'};
    assert_int_equal(loki_wire_summarize(nul_in_body, sizeof(nul_in_body), NOW, NULL, &s), -EAGAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_equals_the_full_translation),
        cmocka_unit_test(test_cache_tells_resources_apart),
        cmocka_unit_test(test_what_the_summary_does_not_cover_takes_the_full_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
