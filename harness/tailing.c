/* tailing.c - files held open by a process tree, read from /proc (see tailing.h). */
#include "tailing.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PROCS 64

/* The pid and its descendants, from /proc/PID/task/TID/children (the kernel's own list, no
 * scan of every process). */
static size_t process_tree(pid_t root, pid_t *out, size_t max)
{
    size_t n = 0, next = 0;
    if (root <= 0)
        return 0;
    out[n++] = root;
    while (next < n) {
        pid_t pid = out[next++];
        char dir[64];
        snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[64 + sizeof(e->d_name) + 16];
            snprintf(path, sizeof(path), "%s/%s/children", dir, e->d_name);
            FILE *f = fopen(path, "r");
            if (!f)
                continue;
            int child;
            while (n < max && fscanf(f, "%d", &child) == 1)
                out[n++] = (pid_t)child;
            fclose(f);
        }
        closedir(d);
    }
    return n;
}

size_t tailing_count_open(pid_t pid, const char *const *paths, size_t n, bool *open)
{
    pid_t procs[MAX_PROCS];
    size_t nprocs = process_tree(pid, procs, MAX_PROCS);
    char(*real)[PATH_MAX] = calloc(n ? n : 1, sizeof(*real));
    bool *found = calloc(n ? n : 1, sizeof(*found));
    size_t count = 0;
    if (!real || !found)
        goto done;
    for (size_t i = 0; i < n; i++)
        if (!realpath(paths[i], real[i]))
            snprintf(real[i], sizeof(real[i]), "%s", paths[i]);
    for (size_t p = 0; p < nprocs; p++) {
        char dir[64];
        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)procs[p]);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char link[64 + sizeof(e->d_name) + 4], target[PATH_MAX];
            snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
            ssize_t len = readlink(link, target, sizeof(target) - 1);
            if (len <= 0)
                continue;
            target[len] = '\0';
            for (size_t i = 0; i < n; i++)
                if (!found[i] && !strcmp(target, real[i]))
                    found[i] = true;
        }
        closedir(d);
    }
    for (size_t i = 0; i < n; i++) {
        count += found[i];
        if (open)
            open[i] = found[i];
    }
done:
    if (open && (!real || !found))
        memset(open, 0, n * sizeof(*open));
    free(real);
    free(found);
    return count;
}

bool tailing_is_open(pid_t pid, const char *path)
{
    return tailing_count_open(pid, &path, 1, NULL) == 1;
}
