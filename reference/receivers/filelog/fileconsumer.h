/*
 * fileconsumer.h - finding, fingerprinting, tracking and reading the files of the filelog
 * receiver: upstream's pkg/stanza/fileconsumer (contrib@v0.142.0), cut into one file per concern
 * as upstream's internal packages are:
 *   fileconsumer.c     the poll cycle and file tracking (file.go, file_other.go,
 *                      internal/tracker), start/stop with the checkpoint
 *   file_glob.c        include/exclude matching (matcher/internal/finder, doublestar v4)
 *   file_reader.c      reading one file to its end: lines, max_log_size pieces, trimming, the
 *                      force flush of a last line without newline, UTF-8 (internal/reader,
 *                      internal/fingerprint, split, trim, flush, textutils)
 *   file_checkpoint.c  the `knownFiles` value kept in the storage extension (internal/checkpoint)
 *
 * Everything runs in the caller's thread (the receiver's poll thread): upstream reads the files
 * of a poll concurrently, here they are read one after the other, which changes only the
 * interleaving of records from different files, never the order within one file.
 */
#ifndef OTEL_REF_FILECONSUMER_H
#define OTEL_REF_FILECONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "extensions/file_storage.h"
#include "options.h"

/* Polls whose closed files are remembered for matching (tracker.go knownFiles: 3). */
#define FILECONSUMER_KNOWN_POLLS 3
/* The storage key: the file input operator's id `file_input` scopes `knownFiles`
 * (operator/persister.go "%s.%s"). */
#define FILECONSUMER_CHECKPOINT_KEY "file_input.knownFiles"

struct fileconsumer_config {
    const struct option_string_list *include, *exclude; /* borrowed, outlive the consumer */
    bool start_at_beginning;
    size_t fingerprint_size;
    size_t max_log_size;
    size_t max_concurrent_files;   /* files are consumed in batches of half of it */
    int64_t max_batches;           /* batches per poll; 0 = all */
    int64_t force_flush_period_ns; /* <= 0: a last line without newline is never emitted */
    bool include_file_name, include_file_path;
    bool include_file_name_resolved, include_file_path_resolved;
    bool preserve_leading_whitespaces, preserve_trailing_whitespaces;
    const char *log_name; /* "receiver/filelog" for logs; borrowed */
};

/* The file a token came from, as its attributes name it; NULL for attributes not configured. */
struct fileconsumer_file {
    const char *name, *path, *name_resolved, *path_resolved;
};

/* One line (or one max_log_size piece of a longer line): trimmed, valid UTF-8 (invalid bytes
 * replaced by U+FFFD), never empty. Borrowed for the duration of the emit callback. */
struct fileconsumer_token {
    const char *text;
    size_t len;
    const struct fileconsumer_file *file;
    int64_t record_number; /* tokens read from this file so far, this one included */
    int64_t record_offset; /* byte offset of the token in the file */
};

struct fileconsumer_callbacks {
    void (*emit)(void *ctx, const struct fileconsumer_token *token);
    /* Called between read chunks (every few hundred KiB) and between files, so the owner can do
     * its time-based work while a large file is read; returns true when reading must stop now
     * (shutdown). Offsets then stay at the last token emitted. May be NULL. */
    bool (*yield)(void *ctx);
    /* Called before each checkpoint is saved: the owner hands everything emitted so far
     * downstream, so that saved offsets never run ahead of what was delivered. May be NULL. */
    void (*before_checkpoint)(void *ctx);
    void *ctx;
};

struct fileconsumer;

/* A consumer that has not polled yet. Validates nothing (the receiver did). Caller owns *out
 * (fileconsumer_destroy). 0 or -ENOMEM. */
int fileconsumer_create(const struct fileconsumer_config *cfg,
                        const struct fileconsumer_callbacks *callbacks, struct fileconsumer **out,
                        struct error *err);

/* file.go Start: with `storage` (borrowed until fileconsumer_stop), loads the offsets saved by a
 * previous run; when there are any, start_at no longer applies (every file is read from its saved
 * offset, or from 0 when it is new). Also warns when no file matches yet. 0, or a negative code
 * when the saved value cannot be read (upstream then fails to start). */
int fileconsumer_start(struct fileconsumer *fc, struct file_storage_client *storage,
                       struct error *err);

/* One poll cycle (file.go poll): match, open and fingerprint, read lost files, read every file to
 * its end, close the previous poll's files, save the checkpoint. */
void fileconsumer_poll(struct fileconsumer *fc);

/* file.go Stop: closes the open files and saves the final checkpoint. Call after the last poll;
 * afterwards only fileconsumer_destroy. */
void fileconsumer_stop(struct fileconsumer *fc);

/* Closes everything. NULL is accepted. */
void fileconsumer_destroy(struct fileconsumer *fc);

/* ==== between the fileconsumer's own files ==== */

/* ---- file_glob.c ---- */

struct fc_paths {
    char **items; /* malloc'd */
    size_t count, cap;
};

void fc_paths_clear(struct fc_paths *paths); /* frees the strings, keeps the array */
void fc_paths_release(struct fc_paths *paths);

/* 0 when `pattern` is a valid doublestar pattern, -EINVAL otherwise (unclosed `[` or `{`, a
 * trailing `\`). */
int fc_glob_validate(const char *pattern);

/* doublestar.PathMatch: does the whole `path` match `pattern`? `*`, `?` and classes never match
 * `/`; a component `**` matches any number of components (zero included). */
bool fc_glob_match(const char *pattern, const char *path);

/* matcher.MatchFiles without ordering criteria: the files (not directories) matching any include
 * and no exclude, in include order, each include's matches in directory-walk order (entries
 * sorted by name, as Go's ReadDir), duplicates dropped. `paths` is cleared first. -ENOMEM, or 0
 * (unreadable directories are skipped). */
int fc_find_files(const struct option_string_list *include,
                  const struct option_string_list *exclude, struct fc_paths *paths);

/* ---- file_reader.c ---- */

/* What is remembered of a file between polls and across restarts (reader.Metadata). */
struct fc_metadata {
    unsigned char *fingerprint; /* the first bytes of the file (at most fingerprint_size) */
    size_t fingerprint_len;
    int64_t offset;     /* where reading resumes: just after the last token emitted */
    int64_t record_num; /* tokens read so far */
    /* flush.State: when the unterminated data at the end last changed (monotonic ns) and how long
     * it was; it is emitted once force_flush_period passes without a change. */
    int64_t flush_last_change_ns;
    size_t flush_last_length;
    /* FileAttributes as of the last open: configured ones set, others NULL (malloc'd) */
    struct fileconsumer_file attributes;
};

/* An open file of the current or previous poll (reader.Reader). */
struct fc_reader {
    struct fc_metadata *meta; /* owned */
    int fd;
    char *path; /* as matched (malloc'd) */
};

/* Buffers shared by every reader of one consumer (one thread reads at a time). */
struct fc_read_context {
    const struct fileconsumer_config *cfg;
    const struct fileconsumer_callbacks *callbacks;
    unsigned char *buffer;
    size_t cap, max_cap; /* grows up to max_log_size plus room for its newline */
    char *scratch;       /* a token with invalid UTF-8, rewritten */
    size_t scratch_cap;
    bool stopping; /* the yield callback said stop */
};

void fc_metadata_free(struct fc_metadata *m);
void fc_attributes_release(struct fileconsumer_file *a);

/* fingerprint.NewFromFile: up to `size` bytes from offset 0 into *out (malloc'd; NULL with
 * *len 0 for an empty file). 0, -ENOMEM or -EIO. */
int fc_fingerprint_read(int fd, size_t size, unsigned char **out, size_t *len);
/* Fingerprint.StartsWith: `old` is a non-empty prefix of `current`. */
bool fc_fingerprint_starts_with(const unsigned char *current, size_t current_len,
                                const unsigned char *old, size_t old_len);

/* Reader.ReadToEnd: from meta->offset to the end of the file, emitting every token, then applies
 * the force flush to what is left without newline, and refreshes a short fingerprint. */
void fc_reader_read_to_end(struct fc_read_context *ctx, struct fc_reader *r);
/* Reader.Validate: the open file still starts with the remembered fingerprint (false after a
 * truncation). */
bool fc_reader_validate(const struct fc_read_context *ctx, const struct fc_reader *r);
void fc_read_context_release(struct fc_read_context *ctx);

/* ---- file_checkpoint.c ---- */

/* checkpoint.Save's JSON: the count, then one object per file (Fingerprint.first_bytes in
 * base64, Offset, RecordNum, FileAttributes, HeaderFinalized, FlushState, TokenLenState,
 * FileType), one per line. Caller frees *out. 0 or -ENOMEM. */
int fc_checkpoint_encode(struct fc_metadata *const *metadata, size_t count, char **out,
                         size_t *len);
/* checkpoint.Load: the metadata of a saved value (caller frees each with fc_metadata_free and
 * the array with free). -EINVAL with the reason when it is not such a value. */
int fc_checkpoint_decode(const char *data, size_t len, struct fc_metadata ***out, size_t *count,
                         struct error *err);

#endif
