/* checkpointed.c - reading the collector's saved filelog offsets (see checkpointed.h). */
#include "checkpointed.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A checkpoint is kilobytes; a storage file past this is not read (nor is it the collector's). */
#define STORAGE_FILE_MAX ((size_t)16 * 1024 * 1024)

/* The whole of `path` into a NUL-terminated buffer (caller frees), or NULL. */
static char *read_small_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        (size_t)st.st_size <= STORAGE_FILE_MAX && (buf = malloc((size_t)st.st_size + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)st.st_size, f);
        buf[*len] = '\0';
    }
    fclose(f);
    return buf;
}

/* The first occurrence of `needle` in data[0, len), which may hold NUL bytes, or NULL. */
static const char *find(const char *data, size_t len, const char *needle)
{
    return memmem(data, len, needle, strlen(needle));
}

/* Over the lines of `data` that name the file (`identity`): sets *exact when one holds
 * "Offset":`size`, and keeps the largest offset seen in *largest (for the message). */
static void scan_lines(const char *data, size_t len, const char *identity, long long size,
                       bool *exact, long long *largest)
{
    const char *end = data + len;
    for (const char *line = data; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *stop = nl ? nl : end;
        const char *at = find(line, (size_t)(stop - line), identity);
        const char *offset = at ? find(line, (size_t)(stop - line), "\"Offset\":") : NULL;
        if (offset) {
            long long v = strtoll(offset + 9, NULL, 10);
            *exact = *exact || v == size;
            if (v > *largest)
                *largest = v;
        }
        line = stop + 1;
    }
}

bool checkpointed_file(const char *const *dirs, size_t ndirs, const char *path, char *seen,
                       size_t seen_size)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(seen, seen_size, "cannot stat the file: %s", strerror(errno));
        return false;
    }
    long long size = (long long)st.st_size;
    /* JSON strings as Go's encoder writes these paths: nothing in them needs escaping. */
    char by_path[4200], by_name[600];
    const char *base = strrchr(path, '/');
    snprintf(by_path, sizeof(by_path), "\"log.file.path\":\"%s\"", path);
    snprintf(by_name, sizeof(by_name), "\"log.file.name\":\"%s\"", base ? base + 1 : path);
    bool exact_path = false, exact_name = false;
    long long largest_path = -1, largest_name = -1;
    for (size_t i = 0; i < ndirs; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char file[4400];
            snprintf(file, sizeof(file), "%s/%s", dirs[i], e->d_name);
            size_t len = 0;
            char *data = read_small_file(file, &len);
            if (!data)
                continue;
            scan_lines(data, len, by_path, size, &exact_path, &largest_path);
            scan_lines(data, len, by_name, size, &exact_name, &largest_name);
            free(data);
        }
        closedir(d);
    }
    /* By path when the checkpoint carries paths; by name only when no line has this path. */
    bool exact = largest_path >= 0 ? exact_path : exact_name;
    long long largest = largest_path >= 0 ? largest_path : largest_name;
    if (exact)
        snprintf(seen, seen_size, "checkpointed at %lld bytes", size);
    else if (largest < 0)
        snprintf(seen, seen_size, "no checkpoint of it yet (file at %lld bytes)", size);
    else
        snprintf(seen, seen_size, "checkpoint at %lld of %lld bytes", largest, size);
    return exact;
}
