/* Unit tests for compress: round trips, Go-worded errors, the output bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"

static void test_round_trip_every_compression(void **state)
{
    const char *text = "hello hello hello hello otlp";
    enum compression kinds[] = {COMPRESSION_NONE, COMPRESSION_GZIP, COMPRESSION_ZLIB,
                                COMPRESSION_DEFLATE, COMPRESSION_ZSTD};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        uint8_t *packed = NULL, *unpacked = NULL;
        size_t packed_len = 0, unpacked_len = 0;
        assert_int_equal(
            compress_buffer(kinds[i], (const uint8_t *)text, strlen(text), &packed, &packed_len),
            0);
        struct error err = {0};
        assert_int_equal(
            decompress_buffer(kinds[i], packed, packed_len, 1024, &unpacked, &unpacked_len, &err),
            0);
        assert_int_equal(unpacked_len, strlen(text));
        assert_string_equal((char *)unpacked, text);
        free(packed);
        free(unpacked);
    }
}

static void test_content_encoding_names_match_exactly(void **state)
{
    enum compression c;
    assert_int_equal(compression_parse("gzip", &c), 0);
    assert_int_equal(c, COMPRESSION_GZIP);
    assert_int_equal(compression_parse(NULL, &c), 0);
    assert_int_equal(c, COMPRESSION_NONE);
    assert_int_equal(compression_parse("identity", &c), -ENOTSUP);
    assert_int_equal(compression_parse("GZIP", &c), -ENOTSUP);
    assert_int_equal(compression_parse("br", &c), -ENOTSUP);
}

static void test_bad_gzip_header_is_worded_as_go(void **state)
{
    uint8_t *out = NULL;
    size_t len = 0;
    struct error err = {0};
    const char *junk = "this is not gzip at all";
    assert_int_equal(decompress_buffer(COMPRESSION_GZIP, (const uint8_t *)junk, strlen(junk), 1024,
                                       &out, &len, &err),
                     -EINVAL);
    assert_string_equal(err.message, "gzip: invalid header");
    assert_null(out);
}

static void test_bad_zlib_header_is_worded_as_go(void **state)
{
    static const uint8_t not_zlib[] = {0x12, 0x34, 0x56};
    uint8_t *out = NULL;
    size_t len = 0;
    struct error err = {0};
    assert_int_equal(
        decompress_buffer(COMPRESSION_ZLIB, not_zlib, sizeof(not_zlib), 1024, &out, &len, &err),
        -EINVAL);
    assert_string_equal(err.message, "zlib: invalid header");
    assert_string_equal(compress_header_error(COMPRESSION_GZIP, not_zlib, 3), "unexpected EOF");
    assert_null(compress_header_error(COMPRESSION_ZSTD, not_zlib, 3));
}

static void test_truncated_gzip_is_unexpected_eof(void **state)
{
    char text[4096];
    memset(text, 'x', sizeof(text));
    uint8_t *packed = NULL, *out = NULL;
    size_t packed_len = 0, len = 0;
    assert_int_equal(
        compress_buffer(COMPRESSION_GZIP, (uint8_t *)text, sizeof(text), &packed, &packed_len), 0);
    struct error err = {0};
    assert_int_equal(
        decompress_buffer(COMPRESSION_GZIP, packed, packed_len / 2, 1 << 20, &out, &len, &err),
        -EINVAL);
    assert_string_equal(err.message, "unexpected EOF");
    free(packed);
}

static void test_output_past_the_bound_is_too_large(void **state)
{
    size_t big = 1 << 20;
    uint8_t *text = calloc(1, big);
    uint8_t *packed = NULL, *out = NULL;
    size_t packed_len = 0, len = 0;
    assert_int_equal(compress_buffer(COMPRESSION_GZIP, text, big, &packed, &packed_len), 0);
    struct error err = {0};
    assert_int_equal(
        decompress_buffer(COMPRESSION_GZIP, packed, packed_len, big - 1, &out, &len, &err), -EFBIG);
    assert_string_equal(err.message, "http: request body too large");
    assert_int_equal(decompress_buffer(COMPRESSION_GZIP, packed, packed_len, big, &out, &len, &err),
                     0);
    assert_int_equal(len, big);
    free(out);
    out = NULL;
    assert_int_equal(decompress_buffer(COMPRESSION_NONE, text, big, big - 1, &out, &len, &err),
                     -EFBIG);
    free(packed);
    free(text);
}

/* Compressors are pooled across threads: several threads compressing at once must each get a
 * whole, private compressor (a shared one would interleave their outputs). */
struct compress_worker {
    int id;
    int failures;
};

static void *compress_worker_main(void *arg)
{
    struct compress_worker *w = arg;
    char text[64 * 1024];
    for (int round = 0; round < 20; round++) {
        size_t len = 0;
        while (len + 64 < sizeof(text))
            len += (size_t)snprintf(text + len, sizeof(text) - len, "worker %d round %d line %zu\n",
                                    w->id, round, len);
        enum compression c = round % 2 ? COMPRESSION_GZIP : COMPRESSION_ZLIB;
        uint8_t *packed = NULL, *unpacked = NULL;
        size_t packed_len = 0, unpacked_len = 0;
        struct error err = {0};
        if (compress_buffer(c, (const uint8_t *)text, len, &packed, &packed_len) != 0 ||
            decompress_buffer(c, packed, packed_len, sizeof(text), &unpacked, &unpacked_len,
                              &err) != 0 ||
            unpacked_len != len || memcmp(unpacked, text, len) != 0)
            w->failures++;
        free(packed);
        free(unpacked);
    }
    return NULL;
}

static void test_threads_compressing_at_once_each_round_trip(void **state)
{
    (void)state;
    enum { WORKERS = 4 };
    pthread_t threads[WORKERS];
    struct compress_worker workers[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        workers[i] = (struct compress_worker){.id = i};
        assert_int_equal(pthread_create(&threads[i], NULL, compress_worker_main, &workers[i]), 0);
    }
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_compression),
        cmocka_unit_test(test_content_encoding_names_match_exactly),
        cmocka_unit_test(test_bad_gzip_header_is_worded_as_go),
        cmocka_unit_test(test_bad_zlib_header_is_worded_as_go),
        cmocka_unit_test(test_truncated_gzip_is_unexpected_eof),
        cmocka_unit_test(test_output_past_the_bound_is_too_large),
        cmocka_unit_test(test_threads_compressing_at_once_each_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
