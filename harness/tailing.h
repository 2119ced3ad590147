/*
 * tailing.h - which files a process (and its descendants) holds open, from /proc/PID/fd.
 *
 * Why: with `start_at: end` a file that exists at the collector's first poll is read from its
 * end, and any file that appears later from its start (facts/receivers.md §2 "start_at: end").
 * Whether a line written right after the collector starts is read therefore depends on whether
 * its first poll (200 ms after start, upstream) has happened, which nothing on the wire shows.
 * Upstream's fileconsumer keeps the files of the latest poll open until the next one, so "the
 * collector holds this file open" is the observable sign that it polled and knows the file,
 * and scenarios wait for it instead of guessing a delay. Descendants are included so that a
 * wrapper (valgrind, a shell) around the collector does not hide it.
 *
 * Linux only (/proc); elsewhere every file reads as not open and the wait times out saying so.
 */
#ifndef HARNESS_TAILING_H
#define HARNESS_TAILING_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* True when `pid` or one of its descendants has `path` open (compared after realpath, so the
 * path may contain symlinks). */
bool tailing_is_open(pid_t pid, const char *path);

/* How many of `paths` are open (fills `open[i]` when non-NULL). One /proc scan for all. */
size_t tailing_count_open(pid_t pid, const char *const *paths, size_t n, bool *open);

#endif
