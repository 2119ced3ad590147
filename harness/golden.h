/*
 * golden.h - golden files: canonical JSON text, reading and (re)writing, and the declared
 * ordering rules that make a backend view stable before it is compared.
 *
 * Canonical text (DESIGN.md §5): object keys sorted bytewise, 2-space indent, ": " after keys,
 * one value per line, a newline at the end, integers as integers, reals in their shortest
 * round-trip form (always with a '.' or an exponent, so a reread keeps them real), strings with
 * only the escapes JSON requires. The same input always gives the same bytes, so goldens diff
 * cleanly in git. The printer is the harness's own (not json_dumps) because jansson prints
 * 0.1 as 0.10000000000000001.
 *
 * Ordering: arrays whose order is not meaningful to a dashboard (Loki streams, Prometheus
 * series, Tempo traces, which arrive in whatever order batches were exported) are sorted by the
 * canonical text of each element. Arrays whose order is meaningful (lines of a stream, samples
 * of a series) keep the order the fake gives. The rules are a table in golden.c.
 */
#ifndef HARNESS_GOLDEN_H
#define HARNESS_GOLDEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define GOLDEN_MAX_TEXT (256u * 1024 * 1024)

/* Canonical text of `doc`. Caller frees. NULL on ENOMEM or past GOLDEN_MAX_TEXT. */
char *golden_canonical_text(const json_t *doc, size_t *len);

/* Sorts, in place, the arrays the ordering rules name for `view` ("loki", "requests/loki"...). */
int golden_apply_ordering(json_t *doc, const char *view, struct error *err);
/* Sorts `array` in place by the canonical text of its elements; with `unique`, equal elements
 * are kept once. Returns 0 or -ENOMEM (the array may then have lost elements). */
int golden_sort_array(json_t *array, bool unique);

/* The golden file of a view: <golden_root>/<dir>/<view>.json ("requests/loki" -> a subfolder). */
void golden_path(char *buf, size_t size, const char *golden_root, const char *dir,
                 const char *view);

/* Reads a golden. -ENOENT (message says to run --update-golden) when it does not exist. */
int golden_read(const char *path, json_t **out, struct error *err);

/* Writes the canonical text of `doc` to `path` (creating folders; atomically via rename). */
int golden_write(const char *path, const json_t *doc, struct error *err);

/* Creates every missing folder of `path` (mkdir -p of its dirname when `is_file`). */
int golden_mkdirs(const char *path, int is_file, struct error *err);

#endif
