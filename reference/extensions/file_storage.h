/*
 * file_storage.h - the `file_storage` extension: a key-value store on disk that components use to
 * keep state across restarts (the filelog receiver's file offsets).
 *
 * Mirrors contrib@v0.142.0 extension/storage/filestorage: one storage file per client, named
 * `<kind>_<type>_<name>[_<client name>]` with unsafe characters replaced by `~` (extension.go
 * GetClient/sanitize), the options and Validate messages of config.go, `timeout` as the time to
 * wait for the file's lock. Upstream keeps a bbolt database per client; here a client's keys live
 * in one small file that is rewritten whole on every change, atomically (temp file, fsync,
 * rename), which is all the filelog checkpoints need. Compaction is accepted and has nothing to
 * do (a rewritten file never holds free pages).
 */
#ifndef OTEL_REF_FILE_STORAGE_H
#define OTEL_REF_FILE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "component.h"
#include "error.h"

/* extensions.file_storage, as bound by the option table in file_storage.c. */
struct file_storage_config {
    char *directory;
    int64_t timeout;
    bool fsync;
    bool create_directory;
    char *directory_permissions;
    bool compaction_on_start, compaction_on_rebound, compaction_cleanup_on_start;
    char *compaction_directory;
    int64_t compaction_max_transaction_size;
    int64_t compaction_rebound_needed_threshold_mib, compaction_rebound_trigger_threshold_mib;
    int64_t compaction_check_interval;
};

/* One component's view of the store (upstream's storage.Client). Thread-safe. */
struct file_storage_client;

/* Opens the client of component `component_id` ("filelog", "filelog/app") of `kind`, with an
 * optional client `name` (NULL or ""), on the started extension `extension`. Waits up to the
 * extension's `timeout` for the file's lock (0 = forever), as bbolt does; -ETIMEDOUT ("timeout")
 * when another process or client holds it. -EINVAL when `extension` is not a file_storage
 * extension ("non-storage extension ... found", upstream's words). A file that is not ours or
 * is damaged is -EIO with its path in the message: upstream's bbolt refuses to open it too.
 * Caller owns *out (file_storage_client_close). */
int file_storage_client_open(struct component *extension, enum component_kind kind,
                             const char *component_id, const char *name,
                             struct file_storage_client **out, struct error *err);

/* The value of `key`: *value is malloc'd (caller frees; NUL-terminated for convenience, the
 * terminator not counted in *len) or NULL when the key is absent. 0 or -ENOMEM. */
int file_storage_client_get(struct file_storage_client *c, const char *key, char **value,
                            size_t *len, struct error *err);

/* Stores `value` (copied) under `key` and rewrites the file. Writing the same value again does
 * not touch the disk. 0, -ENOMEM, -EIO (the old file stays as it was), -E2BIG past 64 MiB. */
int file_storage_client_set(struct file_storage_client *c, const char *key, const void *value,
                            size_t len, struct error *err);

/* Removes `key` (absent is fine). 0 or -EIO. */
int file_storage_client_delete(struct file_storage_client *c, const char *key, struct error *err);

/* Releases the lock and frees the client. NULL is accepted. */
void file_storage_client_close(struct file_storage_client *c);

/* The path of the file behind the client (borrowed), for logs and tests. */
const char *file_storage_client_path(const struct file_storage_client *c);

#endif
