/*
 * test_filelog_consumer.c - the filelog receiver's file reading (reference/receivers/filelog/
 * fileconsumer.c, file_reader.c, file_checkpoint.c) driven poll by poll, without threads:
 * start_at, fingerprint matching, rotation by rename (out of and within the pattern) and by
 * copytruncate with nothing lost and nothing read twice, line splitting (empty lines, long lines,
 * a last line without newline, invalid UTF-8), and the checkpoint in the storage extension
 * across a restart, with and without storage. The expectations are upstream's behaviour as
 * written in facts/receivers.md §2.
 *
 * Waiting (only for the force flush, which is about time) polls until the record shows up or a
 * deadline passes; no test asserts after a bare sleep.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "component.h"
#include "extensions/file_storage.h"
#include "log.h"
#include "options.h"
#include "poll_until.h"
#include "receivers/filelog/fileconsumer.h"

extern const struct component_descriptor file_storage_extension_descriptor;

#define WAIT_MS 20000
#define MAX_TOKENS 4096

/* ---- what the consumer emitted ---- */

struct token {
    char *text;
    char name[64];
    char path[256];
    int64_t record_number, record_offset;
};

struct capture {
    struct token tokens[MAX_TOKENS];
    size_t count;
    int checkpoints;
};

static void on_emit(void *ctx, const struct fileconsumer_token *t)
{
    struct capture *cap = ctx;
    assert_true(cap->count < MAX_TOKENS);
    struct token *k = &cap->tokens[cap->count++];
    k->text = strndup(t->text, t->len);
    assert_non_null(k->text);
    snprintf(k->name, sizeof(k->name), "%s", t->file->name ? t->file->name : "");
    snprintf(k->path, sizeof(k->path), "%s", t->file->path ? t->file->path : "");
    k->record_number = t->record_number;
    k->record_offset = t->record_offset;
}

static void on_checkpoint(void *ctx)
{
    ((struct capture *)ctx)->checkpoints++;
}

static void capture_clear(struct capture *cap)
{
    for (size_t i = 0; i < cap->count; i++)
        free(cap->tokens[i].text);
    cap->count = 0;
}

/* ---- the fixture: a directory, a consumer over `<dir>/<pattern>` ---- */

struct fixture {
    char dir[64];
    char *include_items[2], *exclude_items[2];
    struct option_string_list include, exclude;
    struct fileconsumer_config cfg;
    struct capture cap;
    struct fileconsumer *fc;
    /* storage, when a test uses it */
    struct component extension;
    struct file_storage_client *storage;
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_filelog_consumer.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->include.items = f->include_items;
    f->exclude.items = f->exclude_items;
    f->cfg = (struct fileconsumer_config){
        .include = &f->include,
        .exclude = &f->exclude,
        .start_at_beginning = false,
        .fingerprint_size = 1000,
        .max_log_size = 1024 * 1024,
        .max_concurrent_files = 1024,
        .force_flush_period_ns = 500 * 1000000LL,
        .include_file_name = true,
        .include_file_path = true,
        .log_name = "receiver/filelog",
    };
    *state = f;
    return 0;
}

static void consumer_close(struct fixture *f)
{
    if (f->fc) {
        fileconsumer_stop(f->fc);
        fileconsumer_destroy(f->fc);
        f->fc = NULL;
    }
    file_storage_client_close(f->storage);
    f->storage = NULL;
}

static int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    consumer_close(f);
    capture_clear(&f->cap);
    if (f->extension.state)
        file_storage_extension_descriptor.destroy(&f->extension);
    if (f->extension.config) {
        options_free(file_storage_extension_descriptor.options, f->extension.config);
        free(f->extension.config);
    }
    for (size_t i = 0; i < f->include.count; i++)
        free(f->include.items[i]);
    for (size_t i = 0; i < f->exclude.count; i++)
        free(f->exclude.items[i]);
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void set_include(struct fixture *f, const char *pattern)
{
    char *p = malloc(512);
    assert_non_null(p);
    snprintf(p, 512, "%s/%s", f->dir, pattern);
    f->include.items[f->include.count++] = p;
}

/* A storage extension over <dir>/storage, opened for `receiver/filelog`. */
static void open_storage(struct fixture *f)
{
    const struct component_descriptor *d = &file_storage_extension_descriptor;
    struct error err = {0};
    if (!f->extension.state) {
        char dir[128];
        snprintf(dir, sizeof(dir), "%s/storage", f->dir);
        assert_int_equal(mkdir(dir, 0700), 0);
        json_t *config = json_pack("{s:s}", "directory", dir);
        f->extension.descriptor = d;
        f->extension.config = calloc(1, d->config_size);
        assert_non_null(f->extension.config);
        snprintf(f->extension.id, sizeof(f->extension.id), "file_storage");
        assert_int_equal(options_bind(d->options, config, f->extension.config, "x", &err), 0);
        json_decref(config);
        assert_int_equal(d->create(&f->extension, &err), 0);
        assert_int_equal(d->start(&f->extension, &err), 0);
    }
    assert_int_equal(
        file_storage_client_open(&f->extension, KIND_RECEIVER, "filelog", NULL, &f->storage, &err),
        0);
}

static void consumer_open(struct fixture *f)
{
    struct fileconsumer_callbacks callbacks = {
        .emit = on_emit, .yield = NULL, .before_checkpoint = on_checkpoint, .ctx = &f->cap};
    struct error err = {0};
    assert_int_equal(fileconsumer_create(&f->cfg, &callbacks, &f->fc, &err), 0);
    if (fileconsumer_start(f->fc, f->storage, &err) != 0)
        fail_msg("start: %s", err.message);
}

static void path_of(const struct fixture *f, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", f->dir, name);
}

static void append(struct fixture *f, const char *name, const char *text)
{
    char path[512];
    path_of(f, name, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static void append_bytes(struct fixture *f, const char *name, const void *bytes, size_t len)
{
    char path[512];
    path_of(f, name, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
}

static void move(struct fixture *f, const char *from, const char *to)
{
    char a[512], b[512];
    path_of(f, from, a, sizeof(a));
    path_of(f, to, b, sizeof(b));
    assert_int_equal(rename(a, b), 0);
}

/* logrotate's copytruncate: copy the file, then truncate the original in place. */
static void copy_file(struct fixture *f, const char *from, const char *to)
{
    char a[512], b[512], buf[65536];
    path_of(f, from, a, sizeof(a));
    path_of(f, to, b, sizeof(b));
    int in = open(a, O_RDONLY), out = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(in >= 0 && out >= 0);
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

static void truncate_file(struct fixture *f, const char *name)
{
    char path[512];
    path_of(f, name, path, sizeof(path));
    assert_int_equal(truncate(path, 0), 0);
}

/* The captured bodies equal `expected` (NULL-terminated) in order; then forgets them. */
static void expect_bodies(struct fixture *f, const char *const *expected)
{
    size_t n = 0;
    for (; expected[n]; n++) {
        if (n >= f->cap.count)
            fail_msg("record %zu: want \"%s\", got nothing (only %zu records)", n, expected[n],
                     f->cap.count);
        if (strcmp(f->cap.tokens[n].text, expected[n]) != 0)
            fail_msg("record %zu: want \"%s\", got \"%s\"", n, expected[n], f->cap.tokens[n].text);
    }
    if (f->cap.count != n)
        fail_msg("unexpected extra record \"%s\"", f->cap.tokens[n].text);
    capture_clear(&f->cap);
}

#define EXPECT(f, ...)                                                                             \
    do {                                                                                           \
        const char *expected_[] = {__VA_ARGS__, NULL};                                             \
        expect_bodies(f, expected_);                                                               \
    } while (0)
#define EXPECT_NONE(f)                                                                             \
    do {                                                                                           \
        const char *expected_[] = {NULL};                                                          \
        expect_bodies(f, expected_);                                                               \
    } while (0)

struct records_goal {
    struct fixture *f;
    size_t count;
};

/* One poll of the consumer, then: were `count` records captured? */
static bool polled_records(void *ctx)
{
    struct records_goal *g = ctx;
    fileconsumer_poll(g->f->fc);
    return g->f->cap.count >= g->count;
}

/* Polls (poll_until.h's backoff between polls) until `count` records were captured. */
static bool poll_for_records(struct fixture *f, size_t count)
{
    struct records_goal goal = {f, count};
    if (poll_until(polled_records, &goal, WAIT_MS))
        return true;
    print_error("polled %d ms for %zu records, saw %zu\n", WAIT_MS, count, f->cap.count);
    return false;
}

/* ---- start_at ---- */

static void test_start_at_end_skips_what_the_first_poll_finds(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    append(f, "old.log", "before 1\nbefore 2\n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT_NONE(f);
    append(f, "old.log", "after\n");
    fileconsumer_poll(f->fc);
    EXPECT(f, "after");
    /* a file that appears after the first poll is read from its start */
    append(f, "new.log", "new 1\nnew 2\n");
    fileconsumer_poll(f->fc);
    EXPECT(f, "new 1", "new 2");
}

static void test_start_at_beginning_reads_everything(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    f->cfg.start_at_beginning = true;
    append(f, "a.log", "one\ntwo\n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT(f, "one", "two");
    fileconsumer_poll(f->fc);
    EXPECT_NONE(f);
    assert_int_equal(f->cap.checkpoints, 0); /* no storage, no checkpoint */
}

static void test_empty_file_is_read_from_start_once_it_has_data(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    append(f, "empty.log", "");
    consumer_open(f);
    fileconsumer_poll(f->fc); /* start_at end, but the file is empty: skipped, not tracked */
    append(f, "empty.log", "first\nsecond\n");
    fileconsumer_poll(f->fc);
    EXPECT(f, "first", "second");
}

/* ---- lines ---- */

static void test_lines_are_trimmed_and_empty_ones_skipped(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    f->cfg.start_at_beginning = true;
    append(f, "a.log", "  padded \t\n\n   \nwindows\r\nlast\n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    assert_int_equal(f->cap.count, 3);
    /* empty lines still count as records read (reader.RecordNum) */
    assert_int_equal(f->cap.tokens[2].record_number, 5);
    assert_int_equal(f->cap.tokens[1].record_offset, 16); /* where the "windows" line starts */
    assert_string_equal(f->cap.tokens[0].name, "a.log");
    char path[512];
    path_of(f, "a.log", path, sizeof(path));
    assert_string_equal(f->cap.tokens[0].path, path);
    EXPECT(f, "padded", "windows", "last");
}

static void test_preserve_whitespace_options(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    f->cfg.start_at_beginning = true;
    f->cfg.preserve_leading_whitespaces = true;
    append(f, "a.log", "  lead and trail  \n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT(f, "  lead and trail");
}

static void test_long_lines_are_cut_into_max_log_size_pieces(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    f->cfg.start_at_beginning = true;
    f->cfg.max_log_size = 16;
    append(f, "a.log", "0123456789abcdefGHIJKLMNOPQRSTUVwxyz\n0123456789abcdef\nshort\n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT(f, "0123456789abcdef", "GHIJKLMNOPQRSTUV", "wxyz", "0123456789abcdef", "short");
    /* a piece is emitted as soon as max_log_size bytes are there, newline or not */
    append(f, "a.log", "ABCDEFGHIJKLMNOPqr");
    fileconsumer_poll(f->fc);
    EXPECT(f, "ABCDEFGHIJKLMNOP");
    append(f, "a.log", "s\n");
    fileconsumer_poll(f->fc);
    EXPECT(f, "qrs");
}

static void test_long_lines_spanning_read_chunks(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    f->cfg.start_at_beginning = true;
    f->cfg.max_log_size = 1024 * 1024;
    /* a 600 KiB line (longer than one read), then a normal one */
    size_t len = 600 * 1024;
    char *line = malloc(len + 2);
    assert_non_null(line);
    for (size_t i = 0; i < len; i++)
        line[i] = (char)('a' + i % 26);
    line[len] = '\n';
    line[len + 1] = '\0';
    append(f, "a.log", line);
    append(f, "a.log", "after\n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    assert_int_equal(f->cap.count, 2);
    line[len] = '\0';
    assert_string_equal(f->cap.tokens[0].text, line);
    assert_string_equal(f->cap.tokens[1].text, "after");
    capture_clear(&f->cap);
    free(line);
}

static void test_last_line_without_newline_is_flushed_after_the_period(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    f->cfg.start_at_beginning = true;
    f->cfg.force_flush_period_ns = 50 * 1000000LL;
    append(f, "a.log", "complete\npartial");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT(f, "complete"); /* "partial" waits for its newline or the flush period */
    assert_true(poll_for_records(f, 1));
    EXPECT(f, "partial");
    fileconsumer_poll(f->fc);
    EXPECT_NONE(f); /* flushed once */
    append(f, "a.log", " continued\n");
    fileconsumer_poll(f->fc);
    EXPECT(f, "continued"); /* what follows is a new line */
}

static void test_last_line_is_never_flushed_with_period_zero(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    f->cfg.start_at_beginning = true;
    f->cfg.force_flush_period_ns = 0;
    append(f, "a.log", "partial");
    consumer_open(f);
    for (int i = 0; i < 3; i++)
        fileconsumer_poll(f->fc);
    EXPECT_NONE(f);
    append(f, "a.log", " done\n");
    fileconsumer_poll(f->fc);
    EXPECT(f, "partial done");
}

static void test_invalid_utf8_becomes_replacement_characters(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    f->cfg.start_at_beginning = true;
    static const unsigned char bytes[] = {'o',  'k',  ' ', 0xC3, 0xA9, ' ',  0xFF, 'x',
                                          0xE2, 0x82, ' ', 0xED, 0xA0, 0x80, '\n'};
    append_bytes(f, "a.log", bytes, sizeof(bytes));
    consumer_open(f);
    fileconsumer_poll(f->fc);
    /* é stays; 0xFF, the cut E2 82 and the surrogate ED A0 80 give one U+FFFD per byte */
    EXPECT(f, "ok \xC3\xA9 \xEF\xBF\xBDx\xEF\xBF\xBD\xEF\xBF\xBD "
              "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

/* ---- fingerprints ---- */

static void test_growing_file_keeps_its_offset(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    f->cfg.start_at_beginning = true;
    f->cfg.fingerprint_size = 16;
    append(f, "a.log", "ab\n"); /* fingerprint shorter than fingerprint_size */
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT(f, "ab");
    for (int i = 0; i < 5; i++) { /* the fingerprint grows past 16 bytes: still the same file */
        char line[32];
        snprintf(line, sizeof(line), "line %d\n", i);
        append(f, "a.log", line);
        fileconsumer_poll(f->fc);
        line[strlen(line) - 1] = '\0';
        EXPECT(f, line);
    }
}

static void test_files_with_equal_fingerprints_are_read_once(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    f->cfg.start_at_beginning = true;
    f->cfg.fingerprint_size = 16;
    /* the same first 16 bytes: upstream takes the second file for a copy of the first (a known
     * limitation of fingerprints), and reads it once only */
    append(f, "a.log", "same first line!\nfrom a\n");
    append(f, "b.log", "same first line!\nfrom b\n");
    append(f, "c.log", "different start.\nfrom c\n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT(f, "same first line!", "from a", "different start.", "from c");
}

/* ---- rotation ---- */

static void test_rename_out_of_the_pattern_reads_the_rest_through_the_old_handle(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log"); /* kubelet: 0.log -> 0.log.20240101-000000 */
    f->cfg.start_at_beginning = true;
    append(f, "0.log", "one\ntwo\n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT(f, "one", "two");
    append(f, "0.log", "three\nfour\n"); /* written just before the rotation, not read yet */
    move(f, "0.log", "0.log.20240101-000000");
    append(f, "0.log", "five\n");
    fileconsumer_poll(f->fc);
    EXPECT(f, "three", "four", "five"); /* the lost file first, then the new one from 0 */
    fileconsumer_poll(f->fc);
    EXPECT_NONE(f);
    append(f, "0.log", "six\n");
    fileconsumer_poll(f->fc);
    EXPECT(f, "six");
}

static void test_rename_within_the_pattern_keeps_the_offset(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    f->cfg.start_at_beginning = true;
    append(f, "a.log", "one\ntwo\n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT(f, "one", "two");
    append(f, "a.log", "three\n");
    move(f, "a.log", "b.log");
    fileconsumer_poll(f->fc);
    assert_int_equal(f->cap.count, 1);
    assert_string_equal(f->cap.tokens[0].name, "b.log"); /* attributes follow the new name */
    EXPECT(f, "three");
}

static void test_deleted_file_is_read_to_its_end(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    f->cfg.start_at_beginning = true;
    append(f, "a.log", "one\n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT(f, "one");
    append(f, "a.log", "two\n");
    char path[512];
    path_of(f, "a.log", path, sizeof(path));
    assert_int_equal(unlink(path), 0);
    fileconsumer_poll(f->fc);
    EXPECT(f, "two");
}

static void test_copytruncate_loses_nothing_and_repeats_nothing(void **state)
{
    struct fixture *f = *state;
    set_include(f, "a.log*"); /* the copy matches the pattern too */
    f->cfg.start_at_beginning = true;
    f->cfg.fingerprint_size = 16; /* the file is longer than its fingerprint, as real logs are */
    append(f, "a.log", "the first line\nthe second line\n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT(f, "the first line", "the second line");
    append(f, "a.log", "three\n");
    copy_file(f, "a.log", "a.log.1");
    fileconsumer_poll(f->fc); /* between copy and truncate: an equal fingerprint, a duplicate */
    EXPECT(f, "three");
    truncate_file(f, "a.log");
    append(f, "a.log", "four\n");
    fileconsumer_poll(f->fc);
    EXPECT(f, "four");
    fileconsumer_poll(f->fc);
    EXPECT_NONE(f);
}

static void test_copytruncate_of_a_file_shorter_than_its_fingerprint_repeats_it(void **state)
{
    struct fixture *f = *state;
    set_include(f, "a.log*");
    f->cfg.start_at_beginning = true;
    append(f, "a.log", "one\n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT(f, "one");
    append(f, "a.log", "two\n");
    copy_file(f, "a.log", "a.log.1");
    fileconsumer_poll(f->fc);
    /* On purpose, as upstream: a poll drops a copy only when its fingerprint EQUALS one already
     * opened (tracker GetCurrentFile, fileset.Equal). a.log's reader still holds the fingerprint
     * of the last poll ("one\n"), the copy's is "one\ntwo\n": not equal, so the copy counts as
     * a new file and is read from its start. Only files shorter than fingerprint_size do this. */
    EXPECT(f, "two", "one", "two");
}

static void test_copytruncate_between_polls(void **state)
{
    struct fixture *f = *state;
    set_include(f, "a.log*");
    f->cfg.start_at_beginning = true;
    append(f, "a.log", "one\n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT(f, "one");
    append(f, "a.log", "two\n");
    copy_file(f, "a.log", "a.log.1"); /* the copy continues the old file: "two" read there */
    truncate_file(f, "a.log");
    append(f, "a.log", "three\n");
    fileconsumer_poll(f->fc);
    /* the new a.log is read first (sorted), then the copy from the old offset */
    EXPECT(f, "three", "two");
}

/* ---- checkpoints ---- */

static void test_checkpoint_round_trip(void **state)
{
    struct fc_metadata a = {0}, b = {0};
    unsigned char fp_a[] = {'h', 'e', 'l', 'l', 'o', '\n', 0x00, 0xFF};
    a.fingerprint = fp_a;
    a.fingerprint_len = sizeof(fp_a);
    a.offset = 123456789012LL;
    a.record_num = 42;
    a.flush_last_length = 7;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    a.flush_last_change_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    a.attributes.name = "0.log";
    a.attributes.path = "/var/log/pods/x/y/0.log";
    unsigned char fp_b[] = {'x'};
    b.fingerprint = fp_b;
    b.fingerprint_len = 1;
    b.flush_last_change_ns = a.flush_last_change_ns;
    struct fc_metadata *list[] = {&a, &b};
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(fc_checkpoint_encode(list, 2, &text, &len), 0);
    /* upstream's JSON shape, one value per line after the count */
    const char *head = "2\n{\"Fingerprint\":{\"first_bytes\":\"aGVsbG8KAP8=\"},";
    assert_memory_equal(text, head, strlen(head));
    assert_non_null(strstr(text, "\"Offset\":123456789012,\"RecordNum\":42,"));
    assert_non_null(strstr(text, "\"FileAttributes\":{\"log.file.name\":\"0.log\","));
    struct fc_metadata **decoded = NULL;
    size_t count = 0;
    struct error err = {0};
    assert_int_equal(fc_checkpoint_decode(text, len, &decoded, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_int_equal(decoded[0]->fingerprint_len, sizeof(fp_a));
    assert_memory_equal(decoded[0]->fingerprint, fp_a, sizeof(fp_a));
    assert_int_equal(decoded[0]->offset, 123456789012LL);
    assert_int_equal(decoded[0]->record_num, 42);
    assert_int_equal(decoded[0]->flush_last_length, 7);
    /* wall clock and back: within a few milliseconds of the original */
    int64_t drift = decoded[0]->flush_last_change_ns - a.flush_last_change_ns;
    assert_true(drift > -50000000LL && drift < 50000000LL);
    assert_int_equal(decoded[1]->fingerprint_len, 1);
    for (size_t i = 0; i < count; i++)
        fc_metadata_free(decoded[i]);
    free(decoded);
    free(text);
    /* damaged values are refused with a reason */
    static const char *const bad[] = {"", "x\n",
                                      "2\n{\"Fingerprint\":{\"first_bytes\":\"eA==\"},"
                                      "\"Offset\":1}\n",
                                      "1\n{\"Offset\":1}\n", "1\nnot json\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        decoded = NULL;
        if (fc_checkpoint_decode(bad[i], strlen(bad[i]), &decoded, &count, &err) != -EINVAL)
            fail_msg("accepted bad checkpoint %zu", i);
    }
}

static void test_restart_with_storage_resumes_exactly(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    append(f, "a.log", "ignored by start_at end\n");
    open_storage(f);
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT_NONE(f);
    append(f, "a.log", "one\ntwo\n");
    fileconsumer_poll(f->fc);
    EXPECT(f, "one", "two");
    assert_true(f->cap.checkpoints >= 2); /* every poll hands over, then checkpoints */
    consumer_close(f);

    /* while the collector is down */
    append(f, "a.log", "while down\n");
    append(f, "b.log", "new while down\n");
    open_storage(f);
    consumer_open(f); /* "Resuming from previously known offset(s)": start_at no longer applies */
    fileconsumer_poll(f->fc);
    EXPECT(f, "while down", "new while down");
    append(f, "a.log", "after\n");
    fileconsumer_poll(f->fc);
    EXPECT(f, "after");
}

static void test_restart_without_storage_starts_at_the_end(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    append(f, "a.log", "x\n");
    consumer_open(f);
    fileconsumer_poll(f->fc);
    append(f, "a.log", "one\n");
    fileconsumer_poll(f->fc);
    EXPECT(f, "one");
    consumer_close(f);
    append(f, "a.log", "lost while down\n"); /* upstream loses this too */
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT_NONE(f);
    append(f, "a.log", "after\n");
    fileconsumer_poll(f->fc);
    EXPECT(f, "after");
}

static void test_checkpoint_keeps_closed_files_for_three_polls(void **state)
{
    struct fixture *f = *state;
    set_include(f, "*.log");
    f->cfg.start_at_beginning = true;
    append(f, "a.log", "one\n");
    open_storage(f);
    consumer_open(f);
    fileconsumer_poll(f->fc);
    EXPECT(f, "one");
    move(f, "a.log", "a.txt"); /* out of the pattern: closed, known for three more polls */
    for (int polls = 1; polls <= 4; polls++) {
        fileconsumer_poll(f->fc);
        char *value = NULL;
        size_t len = 0;
        struct error err = {0};
        assert_int_equal(
            file_storage_client_get(f->storage, FILECONSUMER_CHECKPOINT_KEY, &value, &len, &err),
            0);
        assert_non_null(value);
        /* polls 1-3 still remember it (previous poll, then knownFiles[0..2]) */
        if (polls <= 3)
            assert_memory_equal(value, "1\n", 2);
        else
            assert_memory_equal(value, "0\n", 2);
        free(value);
    }
    EXPECT_NONE(f);
}

int main(void)
{
    log_set_level(LOG_ERROR);
#define TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_start_at_end_skips_what_the_first_poll_finds),
        TEST(test_start_at_beginning_reads_everything),
        TEST(test_empty_file_is_read_from_start_once_it_has_data),
        TEST(test_lines_are_trimmed_and_empty_ones_skipped),
        TEST(test_preserve_whitespace_options),
        TEST(test_long_lines_are_cut_into_max_log_size_pieces),
        TEST(test_long_lines_spanning_read_chunks),
        TEST(test_last_line_without_newline_is_flushed_after_the_period),
        TEST(test_last_line_is_never_flushed_with_period_zero),
        TEST(test_invalid_utf8_becomes_replacement_characters),
        TEST(test_growing_file_keeps_its_offset),
        TEST(test_files_with_equal_fingerprints_are_read_once),
        TEST(test_rename_out_of_the_pattern_reads_the_rest_through_the_old_handle),
        TEST(test_rename_within_the_pattern_keeps_the_offset),
        TEST(test_deleted_file_is_read_to_its_end),
        TEST(test_copytruncate_loses_nothing_and_repeats_nothing),
        TEST(test_copytruncate_of_a_file_shorter_than_its_fingerprint_repeats_it),
        TEST(test_copytruncate_between_polls),
        cmocka_unit_test(test_checkpoint_round_trip),
        TEST(test_restart_with_storage_resumes_exactly),
        TEST(test_restart_without_storage_starts_at_the_end),
        TEST(test_checkpoint_keeps_closed_files_for_three_polls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
