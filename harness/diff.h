/*
 * diff.h - a path-level comparison of two JSON documents that collects every mismatch (as the
 * collector testbed's correctness validator does) instead of stopping at the first.
 *
 * Paths read like `streams[0].values[2][1]` or `series["http_requests_total{job=\"x\"}"]`.
 * Numbers compare by value (1 equals 1.0). Arrays compare element by element; surplus or missing
 * elements are mismatches of their own.
 */
#ifndef HARNESS_DIFF_H
#define HARNESS_DIFF_H

#include <jansson.h>
#include <stdio.h>

#define DIFF_MAX_STORED 10000 /* beyond this only the count grows */
#define DIFF_VALUE_MAX 160    /* printed values are cut to this many bytes */

struct diff_entry {
    char *path;
    char *expected; /* compact JSON, or "(missing)" */
    char *actual;
};

struct diff {
    struct diff_entry *items;
    size_t stored;
    size_t cap;
    size_t total; /* every mismatch found, stored or not */
    int oom;      /* an allocation failed: the list is incomplete */
};

/* Compares; returns the number of mismatches (0 = equal). */
size_t diff_json(const json_t *expected, const json_t *actual, struct diff *out);

/* Prints at most `max_lines` entries as "<indent>path: expected X, got Y", then
 * "<indent>... and N more" if there were more. */
void diff_print(const struct diff *d, FILE *out, size_t max_lines, const char *indent);

void diff_free(struct diff *d);

#endif
