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

/* A decompressed body whose buffer comes from, and goes back to, a small process-wide pool:
 * a server that decompresses one large body after another then reuses warm memory instead of
 * faulting in fresh pages for each (the fakes' ingest). `data` is NUL-terminated (not counted
 * in `len`); `cap` is the pool's business. */
struct decompressed {
    uint8_t *data;
    size_t len;
    size_t cap;
};

/* decompress_buffer into a pooled buffer, with the same results and errors. A gzip body whose
 * trailer states a size within `max_out` is inflated by libdeflate in one call; any other
 * body, and any body libdeflate does not take, goes through decompress_buffer, so every error
 * keeps its words. On success the caller owns *out until decompressed_release; on failure
 * *out is empty. */
int decompress_pooled(enum compression c, const uint8_t *in, size_t len, size_t max_out,
                      struct decompressed *out, struct error *err);
/* Gives the buffer back to the pool (or frees it) and empties `d`. An empty `d` is accepted. */
void decompressed_release(struct decompressed *d);

#endif
