/*
 * compress.c - gzip/zlib/deflate with zlib (streaming decompression) and libdeflate (whole-buffer
 * compression), zstd with libzstd (see compress.h).
 *
 * Content-Encoding names and their exact, case-sensitive matching follow the collector's
 * confighttp (core@v0.142.0:config/confighttp/compression.go): "deflate" is decoded as a zlib
 * stream there, so it is here. snappy and lz4 (which confighttp also accepts) have no library on
 * this platform's list of dependencies; they are rejected as unsupported, a known gap.
 */
#include "compress.h"

#include <errno.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static const struct {
    const char *name;
    enum compression c;
} encodings[] = {
    {"gzip", COMPRESSION_GZIP},
    {"zlib", COMPRESSION_ZLIB},
    {"deflate", COMPRESSION_DEFLATE},
    {"zstd", COMPRESSION_ZSTD},
};

int compression_parse(const char *content_encoding, enum compression *out)
{
    if (!content_encoding || !*content_encoding) {
        *out = COMPRESSION_NONE;
        return 0;
    }
    for (size_t i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++) {
        if (strcmp(content_encoding, encodings[i].name) == 0) {
            *out = encodings[i].c;
            return 0;
        }
    }
    return -ENOTSUP;
}

const char *compression_name(enum compression c)
{
    for (size_t i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++)
        if (encodings[i].c == c)
            return encodings[i].name;
    return "none";
}

/* zlib's windowBits: 16+ selects the gzip wrapper, plain MAX_WBITS the zlib wrapper. */
static int zlib_window_bits(enum compression c)
{
    return c == COMPRESSION_GZIP ? 16 + MAX_WBITS : MAX_WBITS;
}

/* Compression level of gzip, zlib and deflate bodies. The collector's confighttp leaves the level
 * at Go's flate.DefaultCompression, which is level 6; libdeflate's levels follow zlib's scale, so
 * level 6 there gives the same trade-off (within 1% of zlib's size on OTLP bodies). */
#define DEFLATE_LEVEL 6

/* libdeflate compresses a whole buffer 1.7x faster than zlib's deflate at the same level (measured
 * on 430 KB OTLP log requests: about 440 against 260 MB/s). A compressor holds about 650 KB of
 * match-finder tables, so compressors are pooled rather than made per call (a fresh one would
 * page-fault its tables in every time) or kept per thread (ten exporter consumers would hold
 * 6.5 MB between requests). */
#define IDLE_COMPRESSORS_MAX 2

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct libdeflate_compressor *pool[IDLE_COMPRESSORS_MAX];
static size_t pool_len;

static struct libdeflate_compressor *compressor_take(void)
{
    struct libdeflate_compressor *c = NULL;
    pthread_mutex_lock(&pool_lock);
    if (pool_len > 0)
        c = pool[--pool_len];
    pthread_mutex_unlock(&pool_lock);
    return c ? c : libdeflate_alloc_compressor(DEFLATE_LEVEL);
}

static void compressor_give_back(struct libdeflate_compressor *c)
{
    pthread_mutex_lock(&pool_lock);
    if (pool_len < IDLE_COMPRESSORS_MAX) {
        pool[pool_len++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    if (c)
        libdeflate_free_compressor(c);
}

static int compress_deflate(enum compression c, const uint8_t *in, size_t len, uint8_t **out,
                            size_t *out_len)
{
    struct libdeflate_compressor *z = compressor_take();
    if (!z)
        return -ENOMEM;
    size_t cap = c == COMPRESSION_GZIP ? libdeflate_gzip_compress_bound(z, len)
                                       : libdeflate_zlib_compress_bound(z, len);
    uint8_t *buf = malloc(cap);
    if (!buf) {
        compressor_give_back(z);
        return -ENOMEM;
    }
    /* "deflate" is a zlib stream on the wire, as confighttp writes and reads it. */
    size_t produced = c == COMPRESSION_GZIP ? libdeflate_gzip_compress(z, in, len, buf, cap)
                                            : libdeflate_zlib_compress(z, in, len, buf, cap);
    compressor_give_back(z);
    if (produced == 0) { /* cannot happen with a bound-sized buffer */
        free(buf);
        return -EINVAL;
    }
    *out = buf;
    *out_len = produced;
    return 0;
}

static int compress_zstd(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    size_t cap = ZSTD_compressBound(len);
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        return -ENOMEM;
    size_t n = ZSTD_compress(buf, cap, in, len, 1);
    if (ZSTD_isError(n)) {
        free(buf);
        return -EINVAL;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

int compress_buffer(enum compression c, const uint8_t *in, size_t len, uint8_t **out,
                    size_t *out_len)
{
    switch (c) {
    case COMPRESSION_NONE: {
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf)
            return -ENOMEM;
        if (len)
            memcpy(buf, in, len);
        *out = buf;
        *out_len = len;
        return 0;
    }
    case COMPRESSION_GZIP:
    case COMPRESSION_ZLIB:
    case COMPRESSION_DEFLATE: return compress_deflate(c, in, len, out, out_len);
    case COMPRESSION_ZSTD: return compress_zstd(in, len, out, out_len);
    }
    return -EINVAL;
}

/* A growable output buffer bounded by `max`: growing past it is -EFBIG. */
struct bounded_buffer {
    uint8_t *data;
    size_t len, cap, max;
};

static int bounded_reserve(struct bounded_buffer *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t want = b->cap ? b->cap * 2 : 64 * 1024;
    while (want < b->len + extra + 1)
        want *= 2;
    if (want > b->max + 1)
        want = b->max + 1;
    if (want <= b->cap)
        return -EFBIG;
    uint8_t *grown = realloc(b->data, want);
    if (!grown)
        return -ENOMEM;
    b->data = grown;
    b->cap = want;
    return 0;
}

/* The checks are Go's own (compress/gzip Reader.readHeader, compress/zlib reader.Reset), done
 * before any data is inflated, as Go's readers do in their constructors. */
const char *compress_header_error(enum compression c, const uint8_t *in, size_t len)
{
    if (c == COMPRESSION_GZIP) {
        if (len < 10) /* io.ReadFull of the 10-byte header */
            return len == 0 ? "EOF" : "unexpected EOF";
        if (in[0] != 0x1f || in[1] != 0x8b || in[2] != 8)
            return "gzip: invalid header";
        return NULL;
    }
    if (c == COMPRESSION_ZLIB || c == COMPRESSION_DEFLATE) {
        if (len < 2)
            return len == 0 ? "EOF" : "unexpected EOF";
        unsigned h = (unsigned)in[0] << 8 | in[1];
        if ((in[0] & 0x0f) != 8 || (in[0] >> 4) > 7 || h % 31 != 0)
            return "zlib: invalid header";
        if (in[1] & 0x20) /* a preset dictionary: Go has none to offer */
            return len < 6 ? "unexpected EOF" : "zlib: invalid dictionary";
        return NULL;
    }
    return NULL;
}

static int decompress_zlib(enum compression c, const uint8_t *in, size_t len,
                           struct bounded_buffer *b, struct error *err)
{
    const char *header_problem = compress_header_error(c, in, len);
    if (header_problem)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s", header_problem);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, zlib_window_bits(c)) != Z_OK)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    int rc = Z_OK;
    int result = 0;
    while (rc != Z_STREAM_END) {
        if (bounded_reserve(b, 64 * 1024) < 0 && b->cap - b->len <= 1) {
            result = error_set(err, -EFBIG, ERROR_PERMANENT, "http: request body too large");
            break;
        }
        zs.next_out = b->data + b->len;
        zs.avail_out = (uInt)(b->cap - b->len - 1);
        uInt before = zs.avail_out;
        rc = inflate(&zs, Z_NO_FLUSH);
        b->len += before - zs.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
            /* the header was checked above: anything failing now is corrupt data */
            result =
                error_set(err, -EINVAL, ERROR_PERMANENT, "flate: corrupt input before offset %lu",
                          (unsigned long)zs.total_in);
            break;
        }
        if (rc == Z_MEM_ERROR) {
            result = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            break;
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
            result = error_set(err, -EINVAL, ERROR_PERMANENT, len < 2 ? "EOF" : "unexpected EOF");
            break;
        }
    }
    inflateEnd(&zs);
    return result;
}

static int decompress_zstd(const uint8_t *in, size_t len, struct bounded_buffer *b,
                           struct error *err)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    ZSTD_initDStream(ds);
    ZSTD_inBuffer input = {in, len, 0};
    int result = 0;
    size_t ret = 1;
    while (ret != 0) {
        if (bounded_reserve(b, 64 * 1024) < 0 && b->cap - b->len <= 1) {
            result = error_set(err, -EFBIG, ERROR_PERMANENT, "http: request body too large");
            break;
        }
        ZSTD_outBuffer output = {b->data + b->len, b->cap - b->len - 1, 0};
        size_t in_before = input.pos;
        ret = ZSTD_decompressStream(ds, &output, &input);
        b->len += output.pos;
        if (ZSTD_isError(ret)) {
            result = error_set(err, -EINVAL, ERROR_PERMANENT, "zstd: %s", ZSTD_getErrorName(ret));
            break;
        }
        if (ret != 0 && input.pos == input.size && output.pos == 0 && in_before == input.pos) {
            result = error_set(err, -EINVAL, ERROR_PERMANENT, "unexpected EOF");
            break;
        }
    }
    ZSTD_freeDStream(ds);
    return result;
}

int decompress_buffer(enum compression c, const uint8_t *in, size_t len, size_t max_out,
                      uint8_t **out, size_t *out_len, struct error *err)
{
    struct bounded_buffer b = {NULL, 0, 0, max_out};
    int rc;
    switch (c) {
    case COMPRESSION_NONE:
        if (len > max_out)
            return error_set(err, -EFBIG, ERROR_PERMANENT, "http: request body too large");
        rc = bounded_reserve(&b, len);
        if (rc == 0 && len)
            memcpy(b.data, in, len);
        b.len = len;
        break;
    case COMPRESSION_GZIP:
    case COMPRESSION_ZLIB:
    case COMPRESSION_DEFLATE: rc = decompress_zlib(c, in, len, &b, err); break;
    case COMPRESSION_ZSTD: rc = decompress_zstd(in, len, &b, err); break;
    default: rc = error_set(err, -ENOTSUP, ERROR_PERMANENT, "unsupported compression");
    }
    if (rc == -ENOMEM && err && !err->message[0])
        error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    if (rc < 0) {
        free(b.data);
        return rc;
    }
    if (!b.data && bounded_reserve(&b, 0) < 0)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    b.data[b.len] = '\0';
    *out = b.data;
    *out_len = b.len;
    return 0;
}

/* ---- pooled decompression ---- */

/* Idle buffers kept for the next body, and the largest one kept (a rare huge body is freed
 * rather than held). */
#define IDLE_BUFFERS_MAX 4
#define IDLE_BUFFER_MAX_BYTES ((size_t)16 * 1024 * 1024)

static pthread_mutex_t buffers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint8_t *data;
    size_t cap;
} idle_buffers[IDLE_BUFFERS_MAX];
static size_t idle_count;

/* A buffer of at least `want` bytes into d->data / d->cap: the pool's largest idle one, grown
 * if needed. Returns 0 or -ENOMEM. */
static int buffer_take(struct decompressed *d, size_t want)
{
    pthread_mutex_lock(&buffers_lock);
    if (idle_count > 0) {
        idle_count--;
        d->data = idle_buffers[idle_count].data;
        d->cap = idle_buffers[idle_count].cap;
    }
    pthread_mutex_unlock(&buffers_lock);
    if (d->cap >= want)
        return 0;
    uint8_t *grown = realloc(d->data, want);
    if (!grown)
        return -ENOMEM;
    d->data = grown;
    d->cap = want;
    return 0;
}

void decompressed_release(struct decompressed *d)
{
    if (d->data && d->cap <= IDLE_BUFFER_MAX_BYTES) {
        pthread_mutex_lock(&buffers_lock);
        if (idle_count < IDLE_BUFFERS_MAX) {
            idle_buffers[idle_count].data = d->data;
            idle_buffers[idle_count].cap = d->cap;
            idle_count++;
            d->data = NULL;
        }
        pthread_mutex_unlock(&buffers_lock);
    }
    free(d->data);
    *d = (struct decompressed){0};
}

/* Idle libdeflate decompressors: one costs a 10 KB allocation and its zeroing, more than a
 * small body's inflation. A decompressor holds no state between calls. */
static struct libdeflate_decompressor *idle_decompressors[IDLE_BUFFERS_MAX];
static size_t idle_decompressor_count;

/* A decompressor from the pool or a new one; NULL on ENOMEM. */
static struct libdeflate_decompressor *decompressor_take(void)
{
    struct libdeflate_decompressor *z = NULL;
    pthread_mutex_lock(&buffers_lock);
    if (idle_decompressor_count > 0)
        z = idle_decompressors[--idle_decompressor_count];
    pthread_mutex_unlock(&buffers_lock);
    return z ? z : libdeflate_alloc_decompressor();
}

static void decompressor_release(struct libdeflate_decompressor *z)
{
    pthread_mutex_lock(&buffers_lock);
    if (idle_decompressor_count < IDLE_BUFFERS_MAX) {
        idle_decompressors[idle_decompressor_count++] = z;
        z = NULL;
    }
    pthread_mutex_unlock(&buffers_lock);
    libdeflate_free_decompressor(z); /* NULL is accepted */
}

/* gzip by libdeflate: 0 with d filled, or -1 when decompress_buffer must decide. */
static int gzip_in_one_call(const uint8_t *in, size_t len, size_t max_out, struct decompressed *d)
{
    /* Only a plain header (no name, extra or header CRC, which zlib checks and libdeflate
     * skips): what the collector and Go's gzip.Writer send. */
    if (len < 18 || in[3] != 0)
        return -1;
    /* ISIZE, the last 4 bytes: the size modulo 2^32 when the body is one gzip member. A wrong
     * hint (several members, a lie) only means libdeflate fails and zlib decides. */
    size_t hint = (size_t)in[len - 4] | (size_t)in[len - 3] << 8 | (size_t)in[len - 2] << 16 |
                  (size_t)in[len - 1] << 24;
    if (hint > max_out || buffer_take(d, hint + 1) < 0)
        return -1;
    struct libdeflate_decompressor *z = decompressor_take();
    if (!z)
        return -1;
    size_t in_used = 0, produced = 0;
    enum libdeflate_result r =
        libdeflate_gzip_decompress_ex(z, in, len, d->data, hint, &in_used, &produced);
    decompressor_release(z);
    if (r != LIBDEFLATE_SUCCESS)
        return -1;
    /* zlib, too, stops after the first member and ignores what follows it. */
    d->len = produced;
    d->data[produced] = '\0';
    return 0;
}

int decompress_pooled(enum compression c, const uint8_t *in, size_t len, size_t max_out,
                      struct decompressed *out, struct error *err)
{
    *out = (struct decompressed){0};
    if (c == COMPRESSION_GZIP && gzip_in_one_call(in, len, max_out, out) == 0)
        return 0;
    uint8_t *data = NULL;
    size_t data_len = 0;
    int rc = decompress_buffer(c, in, len, max_out, &data, &data_len, err);
    if (rc < 0) {
        decompressed_release(out);
        return rc;
    }
    /* A pooled buffer taken for a failed fast try goes back; this one joins the pool later. */
    decompressed_release(out);
    out->data = data;
    out->len = data_len;
    out->cap = data_len + 1;
    return 0;
}
