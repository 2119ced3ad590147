/*
 * compress.h - HTTP body compression (gzip, zlib and deflate with zlib and libdeflate, zstd with
 * libzstd), shared by the OTLP receiver, the exporters and the fakes. Every output buffer has a
 * hard maximum: going past it is an error, never unbounded growth.
 */
#ifndef OTEL_COMMON_COMPRESS_H
#define OTEL_COMMON_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum compression {
    COMPRESSION_NONE = 0,
    COMPRESSION_GZIP,
    COMPRESSION_ZLIB,
    COMPRESSION_DEFLATE,
    COMPRESSION_ZSTD
};

/* Maps a Content-Encoding value (exact, case-sensitive, as Go's confighttp matches it) to a
 * compression: "" or NULL -> NONE, "gzip", "zlib", "deflate", "zstd". Returns -ENOTSUP for any
 * other value (including "identity"). */
int compression_parse(const char *content_encoding, enum compression *out);
const char *compression_name(enum compression c);

/* Compresses `in`. Caller owns *out (free()). Returns 0 or -ENOMEM / -EINVAL. */
int compress_buffer(enum compression c, const uint8_t *in, size_t len, uint8_t **out,
                    size_t *out_len);

/* Go's words for a bad or short stream header of `in` ("gzip: invalid header",
 * "unexpected EOF", "zlib: invalid header"), or NULL when the header is fine or `c` has none to
 * check. Go's readers fail on the header before reading any data, which decides the order of
 * answers in the OTLP receiver. */
const char *compress_header_error(enum compression c, const uint8_t *in, size_t len);

/* Decompresses `in` into a new buffer of at most `max_out` bytes (NUL-terminated, the NUL not
 * counted). Caller owns *out (free()). Errors: -EINVAL with a message in the words of Go's
 * readers ("gzip: invalid header", "zlib: invalid header", "unexpected EOF"), -EFBIG when the
 * output would pass `max_out` ("http: request body too large"), -ENOMEM. */
int decompress_buffer(enum compression c, const uint8_t *in, size_t len, size_t max_out,
                      uint8_t **out, size_t *out_len, struct error *err);

#endif
