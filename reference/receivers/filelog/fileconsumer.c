/*
 * fileconsumer.c - the poll cycle of the filelog receiver: which files are new, which are the
 * same file under a new name, which were rotated away, and where reading resumes
 * (fileconsumer.h).
 *
 * Mirrors contrib@v0.142.0 pkg/stanza/fileconsumer:
 *   file.go          Start (load the checkpoint; when it holds offsets, log "Resuming from
 *                    previously known offset(s). 'start_at' setting is not applicable." and read
 *                    every file found from its offset or from 0), poll (match; consume in batches
 *                    of max_concurrent_files/2, stopping after max_batches; then every later file
 *                    is read from the beginning; save the checkpoint; rotate the known sets),
 *                    makeFingerprint (an empty file is skipped until it has data), makeReaders
 *                    (a fingerprint equal to one already opened in this poll is a copy:
 *                    copytruncate), newReader (match the previous poll's open files, then the
 *                    last three polls' closed files, by fingerprint prefix; else "Started
 *                    watching file"), Stop (close and save)
 *   file_other.go    readLostFiles: a file open last poll that no file of this poll continues is
 *                    read to its end through the old handle (renamed out of the pattern, or
 *                    deleted), unless a file of the same name shows that it was truncated
 *                    (the old handle then no longer starts with its fingerprint)
 *   internal/tracker current / previous poll files and knownFiles[3]; the checkpoint holds the
 *                    known files and the previous poll's
 *   internal/reader/factory.go NewReaderFromMetadata: with start_at end (first poll only) a
 *                    file starts at its size; the file attributes are resolved on every open
 *
 * What a restart can repeat or lose, with storage: the checkpoint is written at the end of
 * every poll and at stop, after the receiver has handed every record read in that poll
 * downstream, so a SIGKILL repeats exactly the lines read by the poll it interrupted (read
 * after the last checkpoint) and loses nothing the files still hold; records an operator holds
 * across polls (recombine) when the process dies are lost, as upstream. Without storage, a
 * restart starts at the end of every file (start_at: end), losing what was written while down.
 */
#include "receivers/filelog/fileconsumer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* A set of pointers (fileset.Fileset): readers or metadata. */
struct fc_set {
    void **items;
    size_t count, cap;
};

struct fileconsumer {
    struct fileconsumer_config cfg;
    struct fileconsumer_callbacks callbacks;
    struct fc_read_context read;
    bool from_beginning; /* readerFactory.FromBeginning */
    struct file_storage_client *storage;
    struct fc_set current, previous;               /* struct fc_reader * */
    struct fc_set known[FILECONSUMER_KNOWN_POLLS]; /* struct fc_metadata *, [0] newest */
    struct fc_paths matches;
};

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- sets ---- */

static int set_add(struct fc_set *s, void *item)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        void **grown = realloc(s->items, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        s->items = grown;
        s->cap = cap;
    }
    s->items[s->count++] = item;
    return 0;
}

static void *set_remove_at(struct fc_set *s, size_t i)
{
    void *item = s->items[i];
    memmove(s->items + i, s->items + i + 1, (s->count - i - 1) * sizeof(*s->items));
    s->count--;
    return item;
}

static struct fc_metadata *reader_meta(void *item, bool readers)
{
    return readers ? ((struct fc_reader *)item)->meta : item;
}

/* Fileset.Match: removes and returns the first item whose fingerprint `fp` equals (`prefix`
 * false) or starts with (`prefix` true). */
static void *set_match(struct fc_set *s, bool readers, const unsigned char *fp, size_t fp_len,
                       bool prefix)
{
    for (size_t i = 0; i < s->count; i++) {
        const struct fc_metadata *m = reader_meta(s->items[i], readers);
        bool hit = prefix
                       ? fc_fingerprint_starts_with(fp, fp_len, m->fingerprint, m->fingerprint_len)
                       : (m->fingerprint_len == fp_len && memcmp(m->fingerprint, fp, fp_len) == 0);
        if (hit)
            return set_remove_at(s, i);
    }
    return NULL;
}

/* ---- readers ---- */

static void reader_free(struct fc_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    fc_metadata_free(r->meta);
    free(r->path);
    free(r);
}

/* Reader.Close: the file is closed, the metadata goes on (caller owns it). */
static struct fc_metadata *reader_close(struct fc_reader *r)
{
    struct fc_metadata *m = r->meta;
    r->meta = NULL;
    reader_free(r);
    return m;
}

/* attrs.Resolver.Resolve for the configured attributes. */
static int resolve_attributes(const struct fileconsumer_config *cfg, const char *path,
                              struct fileconsumer_file *out)
{
    fc_attributes_release(out);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (cfg->include_file_name && !(out->name = strdup(base)))
        return -ENOMEM;
    if (cfg->include_file_path && !(out->path = strdup(path)))
        return -ENOMEM;
    if (cfg->include_file_name_resolved || cfg->include_file_path_resolved) {
        char *resolved = realpath(path, NULL); /* filepath.EvalSymlinks + Abs */
        if (!resolved)
            return errno == ENOMEM ? -ENOMEM : -EIO;
        if (cfg->include_file_name_resolved) {
            const char *rs = strrchr(resolved, '/');
            out->name_resolved = strdup(rs ? rs + 1 : resolved);
            if (!out->name_resolved) {
                free(resolved);
                return -ENOMEM;
            }
        }
        if (cfg->include_file_path_resolved)
            out->path_resolved = resolved;
        else
            free(resolved);
    }
    return 0;
}

/* factory.NewReaderFromMetadata: takes `fd` and `m` (freed on failure). */
static int reader_from_metadata(struct fileconsumer *fc, int fd, const char *path,
                                struct fc_metadata *m, struct fc_reader **out)
{
    *out = NULL;
    struct fc_reader *r = calloc(1, sizeof(*r));
    if (!r) {
        close(fd);
        fc_metadata_free(m);
        return -ENOMEM;
    }
    r->fd = fd;
    r->meta = m;
    r->path = strdup(path);
    int rc = r->path ? 0 : -ENOMEM;
    if (rc == 0 && m->fingerprint_len > fc->cfg.fingerprint_size) {
        /* fingerprint_size was lowered since the checkpoint: compare what is left */
        unsigned char *shorter = NULL;
        size_t shorter_len = 0;
        rc = fc_fingerprint_read(fd, fc->cfg.fingerprint_size, &shorter, &shorter_len);
        if (rc == 0 &&
            !fc_fingerprint_starts_with(m->fingerprint, m->fingerprint_len, shorter, shorter_len)) {
            free(shorter);
            rc = -ESTALE; /* "file truncated" */
        } else if (rc == 0) {
            free(m->fingerprint);
            m->fingerprint = shorter;
            m->fingerprint_len = shorter_len;
        }
    }
    if (rc == 0 && !fc->from_beginning) {
        struct stat st;
        if (fstat(fd, &st) < 0)
            rc = -EIO;
        else
            m->offset = st.st_size;
    }
    if (rc == 0)
        rc = resolve_attributes(&fc->cfg, path, &m->attributes);
    if (rc < 0) {
        reader_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* Manager.newReader: the open file `fd` with fingerprint `fp` (taken). */
static int new_reader(struct fileconsumer *fc, int fd, const char *path, unsigned char *fp,
                      size_t fp_len, struct fc_reader **out)
{
    struct fc_reader *old = set_match(&fc->previous, true, fp, fp_len, true);
    if (old) {
        if (strcmp(old->path, path) != 0)
            log_debug(fc->cfg.log_name, "File has been rotated original_path=%s rotated_path=%s",
                      old->path, path);
        free(fp);
        return reader_from_metadata(fc, fd, path, reader_close(old), out);
    }
    for (size_t i = 0; i < FILECONSUMER_KNOWN_POLLS; i++) {
        struct fc_metadata *m = set_match(&fc->known[i], false, fp, fp_len, true);
        if (m) {
            free(fp);
            return reader_from_metadata(fc, fd, path, m, out);
        }
    }
    log_info(fc->cfg.log_name, "Started watching file path=%s", path);
    struct fc_metadata *m = calloc(1, sizeof(*m));
    if (!m) {
        free(fp);
        close(fd);
        return -ENOMEM;
    }
    m->fingerprint = fp;
    m->fingerprint_len = fp_len;
    m->flush_last_change_ns = monotonic_ns();
    return reader_from_metadata(fc, fd, path, m, out);
}

/* makeFingerprint + makeReaders for one path. */
static void make_reader(struct fileconsumer *fc, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_error(fc->cfg.log_name, "Failed to open file error=\"open %s: %s\"", path,
                  strerror(errno));
        return;
    }
    unsigned char *fp = NULL;
    size_t fp_len = 0;
    if (fc_fingerprint_read(fd, fc->cfg.fingerprint_size, &fp, &fp_len) < 0 || fp_len == 0) {
        close(fd); /* unreadable, or empty: not read until its fingerprint can be compared */
        free(fp);
        return;
    }
    /* the same content twice in one poll: a copy of a file being rotated by copytruncate */
    struct fc_reader *dup = set_match(&fc->current, true, fp, fp_len, false);
    if (dup) {
        log_debug(fc->cfg.log_name, "Skipping duplicate file path=%s", path);
        if (set_add(&fc->current, dup) < 0) /* Match removed it; it goes back (at the end) */
            reader_free(dup);
        close(fd);
        free(fp);
        return;
    }
    struct fc_reader *r = NULL;
    int rc = new_reader(fc, fd, path, fp, fp_len, &r);
    if (rc < 0) {
        log_error(fc->cfg.log_name, "Failed to create reader error=\"%s\" path=%s",
                  rc == -ESTALE ? "file truncated" : strerror(-rc), path);
        return;
    }
    if (set_add(&fc->current, r) < 0) {
        log_error(fc->cfg.log_name, "Failed to create reader error=\"out of memory\" path=%s",
                  path);
        reader_free(r);
    }
}

/* file_other.go readLostFiles. */
static void read_lost_files(struct fileconsumer *fc)
{
    for (size_t i = 0; i < fc->previous.count; i++) {
        struct fc_reader *old = fc->previous.items[i];
        bool lost = true;
        for (size_t j = 0; j < fc->current.count && lost; j++) {
            const struct fc_reader *r = fc->current.items[j];
            if (fc_fingerprint_starts_with(r->meta->fingerprint, r->meta->fingerprint_len,
                                           old->meta->fingerprint, old->meta->fingerprint_len))
                lost = false; /* continued under another reader */
            else if (!strcmp(r->path, old->path) && !fc_reader_validate(&fc->read, old))
                lost = false; /* truncated in place: the new reader reads it */
        }
        if (lost && !fc->read.stopping)
            fc_reader_read_to_end(&fc->read, old);
    }
}

/* tracker.ClosePreviousFiles: the previous poll's files are closed, their metadata known. */
static void close_previous_files(struct fileconsumer *fc)
{
    for (size_t i = 0; i < fc->previous.count; i++) {
        struct fc_metadata *m = reader_close(fc->previous.items[i]);
        if (set_add(&fc->known[0], m) < 0) {
            log_error(fc->cfg.log_name, "dropping a file's offset: out of memory");
            fc_metadata_free(m);
        }
    }
    fc->previous.count = 0;
}

/* Manager.consume for one batch of paths. */
static void consume(struct fileconsumer *fc, char *const *paths, size_t count)
{
    for (size_t i = 0; i < count; i++)
        make_reader(fc, paths[i]);
    read_lost_files(fc);
    for (size_t i = 0; i < fc->current.count && !fc->read.stopping; i++)
        fc_reader_read_to_end(&fc->read, fc->current.items[i]);
    /* tracker.EndConsume: previous -> known[0], current -> previous */
    close_previous_files(fc);
    struct fc_set swap = fc->previous;
    fc->previous = fc->current;
    fc->current = swap;
    fc->current.count = 0;
}

/* tracker.GetMetadata (known files, then the previous poll's) encoded and stored. */
static void save_checkpoint(struct fileconsumer *fc)
{
    if (!fc->storage)
        return;
    if (fc->callbacks.before_checkpoint)
        fc->callbacks.before_checkpoint(fc->callbacks.ctx);
    size_t total = fc->previous.count;
    for (size_t i = 0; i < FILECONSUMER_KNOWN_POLLS; i++)
        total += fc->known[i].count;
    struct fc_metadata **all = calloc(total ? total : 1, sizeof(*all));
    char *value = NULL;
    size_t len = 0;
    struct error err = {0};
    int rc = all ? 0 : -ENOMEM;
    if (rc == 0) {
        size_t n = 0;
        for (size_t i = 0; i < FILECONSUMER_KNOWN_POLLS; i++)
            for (size_t j = 0; j < fc->known[i].count; j++)
                all[n++] = fc->known[i].items[j];
        for (size_t j = 0; j < fc->previous.count; j++)
            all[n++] = ((struct fc_reader *)fc->previous.items[j])->meta;
        rc = fc_checkpoint_encode(all, total, &value, &len);
    }
    if (rc == 0)
        rc = file_storage_client_set(fc->storage, FILECONSUMER_CHECKPOINT_KEY, value, len, &err);
    else
        error_set(&err, rc, ERROR_PERMANENT, "encode known files: out of memory");
    if (rc < 0)
        log_error(fc->cfg.log_name, "save offsets error=\"%s\"", err.message);
    free(value);
    free(all);
}

/* tracker.EndPoll: known[0] -> known[1] -> known[2] -> forgotten. */
static void end_poll(struct fileconsumer *fc)
{
    struct fc_set oldest = fc->known[FILECONSUMER_KNOWN_POLLS - 1];
    for (size_t i = 0; i < oldest.count; i++)
        fc_metadata_free(oldest.items[i]);
    oldest.count = 0;
    memmove(fc->known + 1, fc->known, (FILECONSUMER_KNOWN_POLLS - 1) * sizeof(fc->known[0]));
    fc->known[0] = oldest;
}

void fileconsumer_poll(struct fileconsumer *fc)
{
    int rc = fc_find_files(fc->cfg.include, fc->cfg.exclude, &fc->matches);
    if (rc < 0)
        log_debug(fc->cfg.log_name, "finding files error=\"%s\"", strerror(-rc));
    size_t batch = fc->cfg.max_concurrent_files / 2;
    if (batch == 0)
        batch = 1;
    char *const *paths = fc->matches.items;
    size_t left = fc->matches.count;
    int64_t batches = 0;
    while (left > batch) {
        consume(fc, paths, batch);
        if (fc->cfg.max_batches != 0 && ++batches >= fc->cfg.max_batches)
            return; /* upstream returns here: no checkpoint, no rotation this poll */
        paths += batch;
        left -= batch;
    }
    consume(fc, paths, left);
    fc->from_beginning = true; /* any file that appears later is read from its start */
    save_checkpoint(fc);
    end_poll(fc);
}

int fileconsumer_create(const struct fileconsumer_config *cfg,
                        const struct fileconsumer_callbacks *callbacks, struct fileconsumer **out,
                        struct error *err)
{
    *out = NULL;
    struct fileconsumer *fc = calloc(1, sizeof(*fc));
    if (!fc)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    fc->cfg = *cfg;
    fc->callbacks = *callbacks;
    fc->read.cfg = &fc->cfg;
    fc->read.callbacks = &fc->callbacks;
    fc->from_beginning = cfg->start_at_beginning;
    *out = fc;
    return 0;
}

int fileconsumer_start(struct fileconsumer *fc, struct file_storage_client *storage,
                       struct error *err)
{
    int rc = fc_find_files(fc->cfg.include, fc->cfg.exclude, &fc->matches);
    if (rc == 0 && fc->matches.count == 0)
        log_warn(fc->cfg.log_name,
                 "finding files error=\"no files match the configured criteria\"");
    fc_paths_clear(&fc->matches);
    fc->storage = storage;
    if (!storage)
        return 0;
    char *value = NULL;
    size_t len = 0;
    struct fc_metadata **saved = NULL;
    size_t count = 0;
    rc = file_storage_client_get(storage, FILECONSUMER_CHECKPOINT_KEY, &value, &len, err);
    if (rc == 0 && value)
        rc = fc_checkpoint_decode(value, len, &saved, &count, err);
    free(value);
    if (rc < 0)
        return error_prefix(err, "read known files from database");
    if (count > 0) {
        log_info(fc->cfg.log_name,
                 "Resuming from previously known offset(s). 'start_at' setting is not "
                 "applicable.");
        fc->from_beginning = true;
    }
    for (size_t i = 0; i < count; i++) {
        if (rc == 0 && (rc = set_add(&fc->known[0], saved[i])) == 0)
            continue;
        fc_metadata_free(saved[i]);
    }
    free(saved);
    return rc < 0 ? error_set(err, rc, ERROR_PERMANENT, "out of memory") : 0;
}

void fileconsumer_stop(struct fileconsumer *fc)
{
    close_previous_files(fc);
    save_checkpoint(fc);
    fc->storage = NULL;
}

void fileconsumer_destroy(struct fileconsumer *fc)
{
    if (!fc)
        return;
    for (size_t i = 0; i < fc->current.count; i++)
        reader_free(fc->current.items[i]);
    for (size_t i = 0; i < fc->previous.count; i++)
        reader_free(fc->previous.items[i]);
    free(fc->current.items);
    free(fc->previous.items);
    for (size_t k = 0; k < FILECONSUMER_KNOWN_POLLS; k++) {
        for (size_t i = 0; i < fc->known[k].count; i++)
            fc_metadata_free(fc->known[k].items[i]);
        free(fc->known[k].items);
    }
    fc_paths_release(&fc->matches);
    fc_read_context_release(&fc->read);
    free(fc);
}
