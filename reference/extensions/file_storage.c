/*
 * file_storage.c - the `file_storage` extension (file_storage.h).
 *
 * Mirrors contrib@v0.142.0 extension/storage/filestorage:
 *   config.go     directory (must exist unless create_directory), timeout, fsync, compaction.*,
 *                 create_directory + directory_permissions (octal, permission bits only); the
 *                 Validate checks and messages, in their order
 *   factory.go    defaults: /var/lib/otelcol/file_storage, timeout 1s, compaction directory =
 *                 the directory, max_transaction_size 65536, rebound thresholds 100/10 MiB,
 *                 check_interval 5s, directory_permissions 0750
 *   extension.go  one storage file per client: `<kind>_<type>_<name>[_<client name>]`, every
 *                 character outside [A-Za-z0-9._~-] replaced by `~`; with create_directory the
 *                 directory is created on start
 *   client.go     bbolt.Open waits up to `timeout` for the file lock and fails with "timeout"
 *
 * The file format is ours (upstream's is a bbolt database): "OTKV0001", a little-endian u32 count,
 * then per key u32 key length, key, u32 value length, value, and a CRC-32 of everything before
 * it. Every change rewrites the file: write a temp file, fsync it, rename it over the old one,
 * so a reader (or a restart after SIGKILL or power loss) sees the old or the new content, never
 * a mix. With `fsync: true` the directory is fsynced as well, so the rename itself survives a
 * power loss; a killed process loses nothing either way (the page cache outlives it).
 * The lock is flock(2) on `<file>.lock`, a file that is never renamed, so it keeps meaning the
 * same thing across rewrites.
 *
 * Deliberately not done: compaction (nothing to compact: the file has no free pages), the
 * storage metrics upstream's newer versions add.
 */
#include "extensions/file_storage.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "log.h"
#include "options.h"

#define FILE_MAGIC "OTKV0001"
#define FILE_MAGIC_LEN 8
#define FILE_MAX_BYTES ((size_t)64 * 1024 * 1024) /* a checkpoint is kilobytes; refuse nonsense */
#define FILE_MAX_KEYS 4096
#define LOCK_RETRY_NS (10 * 1000 * 1000LL)

#define CFG(field) offsetof(struct file_storage_config, field)

static const struct option compaction_options[] = {
    {OPT_BOOL, "on_start", "false", CFG(compaction_on_start),
     "accepted (compact when the collector starts; nothing to compact here)", 0, NULL, 0},
    {OPT_BOOL, "on_rebound", "false", CFG(compaction_on_rebound),
     "accepted (online compaction; nothing to compact here)", 0, NULL, 0},
    {OPT_STRING, "directory", "/var/lib/otelcol/file_storage", CFG(compaction_directory),
     "temporary directory of compaction (must exist when on_start or on_rebound)", 0, NULL, 0},
    {OPT_INT, "max_transaction_size", "65536", CFG(compaction_max_transaction_size),
     "accepted, not used", 0, NULL, 0},
    {OPT_INT, "rebound_needed_threshold_mib", "100", CFG(compaction_rebound_needed_threshold_mib),
     "accepted, not used", 0, NULL, 0},
    {OPT_INT, "rebound_trigger_threshold_mib", "10", CFG(compaction_rebound_trigger_threshold_mib),
     "accepted, not used", 0, NULL, 0},
    {OPT_DURATION, "check_interval", "5s", CFG(compaction_check_interval),
     "accepted, not used (must be positive with on_rebound)", 0, NULL, 0},
    {OPT_BOOL, "cleanup_on_start", "false", CFG(compaction_cleanup_on_start), "accepted, not used",
     0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option file_storage_options[] = {
    {OPT_STRING, "directory", "/var/lib/otelcol/file_storage", CFG(directory),
     "where the storage files live (must exist unless create_directory)", 0, NULL, 0},
    {OPT_DURATION, "timeout", "1s", CFG(timeout), "how long to wait for a storage file's lock", 0,
     NULL, 0},
    {OPT_BOOL, "fsync", "false", CFG(fsync),
     "also fsync the directory after each write (the file itself is always fsynced)", 0, NULL, 0},
    {OPT_BOOL, "create_directory", "false", CFG(create_directory),
     "create the directory on start when it is missing", 0, NULL, 0},
    {OPT_STRING, "directory_permissions", "0750", CFG(directory_permissions),
     "octal mode of a directory create_directory makes", 0, NULL, 0},
    {OPT_OBJECT, "compaction", NULL, 0, "compaction settings (accepted)", 0, compaction_options, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

/* Go's syscall error strings are strerror's with a lower-case first letter ("no such file or
 * directory"); upstream's messages embed them. */
static void go_strerror(int errnum, char *out, size_t size)
{
    snprintf(out, size, "%s", strerror(errnum));
    if (out[0])
        out[0] = (char)tolower((unsigned char)out[0]);
}

/* strconv.ParseInt(s, 8, 32): optional sign, octal digits, fits an int32. */
static int parse_octal(const char *text, long *out)
{
    const char *p = text;
    bool negative = false;
    if (*p == '+' || *p == '-')
        negative = *p++ == '-';
    if (!*p)
        return -EINVAL;
    long value = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '7')
            return -EINVAL;
        value = value * 8 + (*p - '0');
        if (value > INT32_MAX)
            return -EINVAL;
    }
    *out = negative ? -value : value;
    return 0;
}

/* config.go Validate, in its order and words. */
static int file_storage_validate(const void *config, struct error *err)
{
    const struct file_storage_config *cfg = config;
    const char *dirs[2] = {cfg->directory ? cfg->directory : "", NULL};
    if (cfg->compaction_on_start || cfg->compaction_on_rebound)
        dirs[1] = cfg->compaction_directory ? cfg->compaction_directory : "";
    for (size_t i = 0; i < 2 && dirs[i]; i++) {
        struct stat st;
        char reason[128];
        if (stat(dirs[i], &st) < 0) {
            int saved = errno;
            go_strerror(saved, reason, sizeof(reason));
            if (!cfg->create_directory && saved == ENOENT)
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "directory must exist: stat %s: %s. You can enable the "
                                 "create_directory option to automatically create it",
                                 dirs[i], reason);
            if (saved != ENOENT)
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "problem accessing configured directory: %s, err: stat %s: %s",
                                 dirs[i], dirs[i], reason);
        } else if (!S_ISDIR(st.st_mode)) {
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s is not a directory", dirs[i]);
        }
    }
    if (cfg->compaction_max_transaction_size < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "max transaction size for compaction cannot be less than 0");
    if (cfg->compaction_on_rebound && cfg->compaction_check_interval <= 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "compaction check interval must be positive when rebound compaction is "
                         "set");
    if (cfg->create_directory) {
        long mode = 0;
        if (parse_octal(cfg->directory_permissions ? cfg->directory_permissions : "", &mode) < 0)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "directory_permissions value must be a valid octal representation");
        if ((mode & 0777) != mode)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "directory_permissions contain invalid bits for file access");
    }
    return 0;
}

/* ---- the extension ---- */

struct file_storage {
    const struct file_storage_config *config;
    const char *log_name;
};

static int file_storage_create(struct component *c, struct error *err)
{
    struct file_storage *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    fs->config = c->config;
    fs->log_name = c->log_name;
    c->state = fs;
    return 0;
}

/* os.MkdirAll: every missing parent with the same mode. */
static int make_directories(const char *path, mode_t mode, struct error *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return error_set(err, -ENAMETOOLONG, ERROR_PERMANENT, "directory path too long: %s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST) {
            char reason[128];
            go_strerror(errno, reason, sizeof(reason));
            return error_set(err, -EIO, ERROR_PERMANENT, "mkdir %s: %s", buf, reason);
        }
        *p = saved;
        if (!saved)
            break;
    }
    return 0;
}

static int file_storage_start(struct component *c, struct error *err)
{
    struct file_storage *fs = c->state;
    if (!fs->config->create_directory)
        return 0;
    long mode = 0750;
    if (fs->config->directory_permissions)
        parse_octal(fs->config->directory_permissions, &mode); /* validated */
    int rc = make_directories(fs->config->directory, (mode_t)mode, err);
    if (rc == 0 && (fs->config->compaction_on_start || fs->config->compaction_on_rebound))
        rc = make_directories(fs->config->compaction_directory, (mode_t)mode, err);
    return rc;
}

static void file_storage_destroy(struct component *c)
{
    free(c->state);
    c->state = NULL;
}

/* ---- clients ---- */

struct kv_entry {
    char *key;
    unsigned char *value;
    size_t len;
};

struct file_storage_client {
    pthread_mutex_t lock;
    char *path;      /* the storage file */
    char *temp_path; /* where a rewrite is prepared */
    char *directory;
    int lock_fd;
    bool fsync_directory;
    struct kv_entry *entries;
    size_t count;
};

/* extension.go sanitize: everything outside [A-Za-z0-9._~-] becomes `~`. */
static void sanitize(char *name)
{
    for (char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_' && *p != '~')
            *p = '~';
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void free_entries(struct file_storage_client *c)
{
    for (size_t i = 0; i < c->count; i++) {
        free(c->entries[i].key);
        free(c->entries[i].value);
    }
    free(c->entries);
    c->entries = NULL;
    c->count = 0;
}

/* Parses a whole storage file into c->entries. -EIO with the reason when it is not ours. */
static int parse_file(struct file_storage_client *c, const unsigned char *data, size_t size,
                      struct error *err)
{
    const char *why = NULL;
    if (size < FILE_MAGIC_LEN + 8 || memcmp(data, FILE_MAGIC, FILE_MAGIC_LEN) != 0) {
        why = "not a file_storage file";
        goto fail;
    }
    if (get_u32(data + size - 4) != (uint32_t)crc32(0L, data, (uInt)(size - 4))) {
        why = "checksum mismatch";
        goto fail;
    }
    size_t pos = FILE_MAGIC_LEN, end = size - 4;
    uint32_t count = get_u32(data + pos);
    pos += 4;
    if (count > FILE_MAX_KEYS) {
        why = "too many keys";
        goto fail;
    }
    c->entries = calloc(count ? count : 1, sizeof(*c->entries));
    if (!c->entries)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    for (uint32_t i = 0; i < count; i++) {
        uint32_t key_len, value_len;
        if (end - pos < 4 || (key_len = get_u32(data + pos), end - pos - 4 < key_len)) {
            why = "truncated key";
            goto fail;
        }
        pos += 4;
        const unsigned char *key = data + pos;
        pos += key_len;
        if (end - pos < 4 || (value_len = get_u32(data + pos), end - pos - 4 < value_len)) {
            why = "truncated value";
            goto fail;
        }
        pos += 4;
        struct kv_entry *e = &c->entries[c->count];
        e->key = malloc(key_len + 1);
        e->value = malloc(value_len + 1);
        if (!e->key || !e->value) {
            free(e->key);
            free(e->value);
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        }
        memcpy(e->key, key, key_len);
        e->key[key_len] = '\0';
        memcpy(e->value, data + pos, value_len);
        e->value[value_len] = '\0';
        e->len = value_len;
        c->count++;
        pos += value_len;
    }
    if (pos != end) {
        why = "trailing bytes";
        goto fail;
    }
    return 0;
fail:
    return error_set(err, -EIO, ERROR_PERMANENT, "%s: %s", c->path, why);
}

static int load_file(struct file_storage_client *c, struct error *err)
{
    int rc = 0;
    unsigned char *data = NULL;
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0; /* a new client: empty */
        return error_set(err, -EIO, ERROR_PERMANENT, "open %s: %s", c->path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size < 0 || (size_t)st.st_size > FILE_MAX_BYTES) {
        rc = error_set(err, -EIO, ERROR_PERMANENT, "%s: cannot stat or larger than %zu bytes",
                       c->path, FILE_MAX_BYTES);
        goto fail;
    }
    size_t size = (size_t)st.st_size;
    data = malloc(size ? size : 1);
    if (!data) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, data + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = error_set(err, -EIO, ERROR_PERMANENT, "read %s: %s", c->path,
                           n < 0 ? strerror(errno) : "file shrank while reading");
            goto fail;
        }
        got += (size_t)n;
    }
    rc = parse_file(c, data, size, err);
fail:
    free(data);
    close(fd);
    return rc;
}

static int write_all(int fd, const unsigned char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes c->entries to the file: temp file, fsync, rename, optionally fsync the directory.
 * Called with the client's mutex held. */
static int save_file(struct file_storage_client *c, struct error *err)
{
    size_t size = FILE_MAGIC_LEN + 4 + 4;
    for (size_t i = 0; i < c->count; i++)
        size += 8 + strlen(c->entries[i].key) + c->entries[i].len;
    if (size > FILE_MAX_BYTES)
        return error_set(err, -E2BIG, ERROR_PERMANENT, "%s: more than %zu bytes to store", c->path,
                         FILE_MAX_BYTES);
    unsigned char *data = malloc(size);
    if (!data)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    size_t pos = 0;
    memcpy(data, FILE_MAGIC, FILE_MAGIC_LEN);
    pos += FILE_MAGIC_LEN;
    put_u32(data + pos, (uint32_t)c->count);
    pos += 4;
    for (size_t i = 0; i < c->count; i++) {
        size_t key_len = strlen(c->entries[i].key);
        put_u32(data + pos, (uint32_t)key_len);
        memcpy(data + pos + 4, c->entries[i].key, key_len);
        pos += 4 + key_len;
        put_u32(data + pos, (uint32_t)c->entries[i].len);
        memcpy(data + pos + 4, c->entries[i].value, c->entries[i].len);
        pos += 4 + c->entries[i].len;
    }
    put_u32(data + pos, (uint32_t)crc32(0L, data, (uInt)pos));
    int rc = 0;
    int fd = open(c->temp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = error_set(err, -EIO, ERROR_PERMANENT, "open %s: %s", c->temp_path, strerror(errno));
        goto fail;
    }
    int w = write_all(fd, data, size);
    if (w == 0 && fsync(fd) < 0)
        w = -errno;
    if (close(fd) < 0 && w == 0)
        w = -errno;
    if (w < 0) {
        rc = error_set(err, -EIO, ERROR_PERMANENT, "write %s: %s", c->temp_path, strerror(-w));
        unlink(c->temp_path);
        goto fail;
    }
    if (rename(c->temp_path, c->path) < 0) {
        rc = error_set(err, -EIO, ERROR_PERMANENT, "rename %s: %s", c->temp_path, strerror(errno));
        unlink(c->temp_path);
        goto fail;
    }
    if (c->fsync_directory) {
        int dir_fd = open(c->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd >= 0) {
            if (fsync(dir_fd) < 0)
                rc = error_set(err, -EIO, ERROR_PERMANENT, "fsync %s: %s", c->directory,
                               strerror(errno));
            close(dir_fd);
        }
    }
fail:
    free(data);
    return rc;
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* bbolt.Open's flock with Options.Timeout: retry until the timeout (0 = forever). */
static int take_lock(struct file_storage_client *c, int64_t timeout_ns, struct error *err)
{
    size_t len = strlen(c->path) + sizeof(".lock");
    char *lock_path = malloc(len);
    if (!lock_path)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    snprintf(lock_path, len, "%s.lock", c->path);
    c->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int saved = errno;
    free(lock_path);
    if (c->lock_fd < 0)
        return error_set(err, -EIO, ERROR_PERMANENT, "open %s.lock: %s", c->path, strerror(saved));
    int64_t deadline = monotonic_ns() + timeout_ns;
    for (;;) {
        if (flock(c->lock_fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return error_set(err, -EIO, ERROR_PERMANENT, "flock %s.lock: %s", c->path,
                             strerror(errno));
        if (timeout_ns > 0 && monotonic_ns() >= deadline)
            return error_set(err, -ETIMEDOUT, ERROR_PERMANENT, "timeout");
        struct timespec pause = {0, LOCK_RETRY_NS};
        nanosleep(&pause, NULL);
    }
}

static const char *kind_string(enum component_kind kind)
{
    switch (kind) {
    case KIND_RECEIVER: return "receiver";
    case KIND_PROCESSOR: return "processor";
    case KIND_EXPORTER: return "exporter";
    case KIND_EXTENSION: return "extension";
    }
    return "other";
}

extern const struct component_descriptor file_storage_extension_descriptor;

int file_storage_client_open(struct component *extension, enum component_kind kind,
                             const char *component_id, const char *name,
                             struct file_storage_client **out, struct error *err)
{
    *out = NULL;
    if (!extension || extension->descriptor != &file_storage_extension_descriptor ||
        !extension->state)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "non-storage extension '%s' found",
                         extension ? extension->id : "");
    const struct file_storage *fs = extension->state;
    int rc = 0;
    char *raw = NULL;
    struct file_storage_client *c = calloc(1, sizeof(*c));
    if (!c)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    c->lock_fd = -1;
    pthread_mutex_init(&c->lock, NULL);
    /* `type/name` -> type and name; the file is <kind>_<type>_<name>[_<client name>] */
    size_t type_len = strcspn(component_id, "/");
    const char *id_name = component_id[type_len] == '/' ? component_id + type_len + 1 : "";
    size_t raw_len = strlen(component_id) + (name ? strlen(name) : 0) + 32;
    raw = malloc(raw_len);
    const char *directory = fs->config->directory ? fs->config->directory : ".";
    c->directory = strdup(directory);
    if (!raw || !c->directory) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    if (name && *name)
        snprintf(raw, raw_len, "%s_%.*s_%s_%s", kind_string(kind), (int)type_len, component_id,
                 id_name, name);
    else
        snprintf(raw, raw_len, "%s_%.*s_%s", kind_string(kind), (int)type_len, component_id,
                 id_name);
    sanitize(raw);
    size_t path_len = strlen(directory) + strlen(raw) + 2;
    c->path = malloc(path_len);
    c->temp_path = malloc(path_len + 4);
    if (!c->path || !c->temp_path) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    snprintf(c->path, path_len, "%s/%s", directory, raw);
    snprintf(c->temp_path, path_len + 4, "%s.tmp", c->path);
    c->fsync_directory = fs->config->fsync;
    if ((rc = take_lock(c, fs->config->timeout, err)) < 0)
        goto fail;
    if ((rc = load_file(c, err)) < 0)
        goto fail;
    log_debug(fs->log_name, "Opened storage file path=%s keys=%zu", c->path, c->count);
    *out = c;
    c = NULL;
fail:
    free(raw);
    file_storage_client_close(c);
    return rc;
}

static struct kv_entry *find_entry(struct file_storage_client *c, const char *key)
{
    for (size_t i = 0; i < c->count; i++)
        if (!strcmp(c->entries[i].key, key))
            return &c->entries[i];
    return NULL;
}

int file_storage_client_get(struct file_storage_client *c, const char *key, char **value,
                            size_t *len, struct error *err)
{
    *value = NULL;
    if (len)
        *len = 0;
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    struct kv_entry *e = find_entry(c, key);
    if (e) {
        *value = malloc(e->len + 1);
        if (!*value) {
            rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        } else {
            memcpy(*value, e->value, e->len);
            (*value)[e->len] = '\0';
            if (len)
                *len = e->len;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int file_storage_client_set(struct file_storage_client *c, const char *key, const void *value,
                            size_t len, struct error *err)
{
    int rc = 0;
    unsigned char *copy = malloc(len + 1);
    char *key_copy = NULL;
    if (!copy)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    memcpy(copy, value, len);
    copy[len] = '\0';
    pthread_mutex_lock(&c->lock);
    struct kv_entry *e = find_entry(c, key);
    if (e && e->len == len && memcmp(e->value, value, len) == 0) {
        free(copy); /* unchanged: an idle receiver does not rewrite the file every poll */
        goto done;
    }
    if (e) {
        unsigned char *old = e->value;
        size_t old_len = e->len;
        e->value = copy;
        e->len = len;
        rc = save_file(c, err);
        if (rc < 0) { /* keep memory and disk the same */
            e->value = old;
            e->len = old_len;
            free(copy);
        } else {
            free(old);
        }
        goto done;
    }
    if (c->count >= FILE_MAX_KEYS) {
        free(copy);
        rc = error_set(err, -E2BIG, ERROR_PERMANENT, "%s: more than %d keys", c->path,
                       FILE_MAX_KEYS);
        goto done;
    }
    struct kv_entry *grown = realloc(c->entries, (c->count + 1) * sizeof(*grown));
    key_copy = strdup(key);
    if (grown)
        c->entries = grown;
    if (!grown || !key_copy) {
        free(copy);
        free(key_copy);
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto done;
    }
    c->entries[c->count++] = (struct kv_entry){key_copy, copy, len};
    rc = save_file(c, err);
    if (rc < 0) {
        c->count--;
        free(key_copy);
        free(copy);
    }
done:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int file_storage_client_delete(struct file_storage_client *c, const char *key, struct error *err)
{
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    struct kv_entry *e = find_entry(c, key);
    if (e) {
        struct kv_entry removed = *e;
        size_t index = (size_t)(e - c->entries);
        memmove(e, e + 1, (c->count - index - 1) * sizeof(*e));
        c->count--;
        rc = save_file(c, err);
        if (rc < 0) { /* put it back where it was */
            memmove(c->entries + index + 1, c->entries + index, (c->count - index) * sizeof(*e));
            c->entries[index] = removed;
            c->count++;
        } else {
            free(removed.key);
            free(removed.value);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void file_storage_client_close(struct file_storage_client *c)
{
    if (!c)
        return;
    if (c->lock_fd >= 0)
        close(c->lock_fd); /* releases the flock */
    free_entries(c);
    free(c->path);
    free(c->temp_path);
    free(c->directory);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const char *file_storage_client_path(const struct file_storage_client *c)
{
    return c ? c->path : NULL;
}

const struct component_descriptor file_storage_extension_descriptor = {
    .type = "file_storage",
    .kind = KIND_EXTENSION,
    .signals = 0,
    .deprecated_alias = NULL,
    .summary = "key-value storage on disk for components' state (filelog offsets)",
    .options = file_storage_options,
    .config_size = sizeof(struct file_storage_config),
    .validate = file_storage_validate,
    .create = file_storage_create,
    .start = file_storage_start,
    .consume = NULL,
    .shutdown = NULL,
    .destroy = file_storage_destroy,
};
