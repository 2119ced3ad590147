/*
 * lines.h - delivery accounting of numbered pod log lines: which of the lines the run wrote
 * (pod_log.h) reached Loki, which never did, and which arrived more than once.
 *
 * A line is delivered when its token (`seq=000123`) appears in the `line` of an entry of the
 * fake Loki's view, in any tenant and stream. Only `line` is searched: the message may also sit
 * in structured metadata (the seed config leaves it in the `log` attribute), and counting both
 * would make every line look duplicated. Per file and in total:
 *   written     numbered lines written
 *   delivered   distinct tokens found at least once
 *   lost        written - delivered (so far: a wait decides when "so far" is final)
 *   duplicated  tokens found more than once ("delivered twice")
 * plus the first LINES_FIRST_SHOWN missing and duplicated numbers, and tokens found that the run
 * never wrote (`unknown`: a bug of the harness or of the collector's splitting).
 */
#ifndef HARNESS_LINES_H
#define HARNESS_LINES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "condition.h"
#include "error.h"
#include "pod_log.h"

#define LINES_FIRST_SHOWN 10

struct lines_count {
    size_t written, delivered, lost, duplicated;
    uint64_t missing[LINES_FIRST_SHOWN];
    size_t missing_shown;
    uint64_t duplicates[LINES_FIRST_SHOWN];
    size_t duplicates_shown;
};

struct lines_tally {
    uint16_t *hits; /* per seq - 1, saturating */
    size_t seq_count;
    size_t unknown;
    size_t entries; /* Loki entries searched */
    struct lines_count total;
    struct lines_count files[POD_LOG_MAX_FILES];
    size_t file_count;
};

/* Counts the lines of `logs` found in `loki_view` (GET /v1/received/loki). Caller frees with
 * lines_tally_free. -ENOMEM, or -EINVAL when the view is not a Loki view. */
int lines_tally(const struct pod_logs *logs, const json_t *loki_view, struct lines_tally *out,
                struct error *err);
void lines_tally_free(struct lines_tally *t);

/* Finds every token in `text` and calls `found` with its number. Exposed for the tests. */
void lines_scan_tokens(const char *text, size_t len, void (*found)(void *ctx, uint64_t seq),
                       void *ctx);

/* What a `lines:` condition measures. */
enum lines_measure { LINES_WRITTEN = 0, LINES_DELIVERED, LINES_LOST, LINES_DUPLICATED };

const char *lines_measure_name(enum lines_measure m);
/* "delivered" -> LINES_DELIVERED ...; -EINVAL otherwise. */
int lines_measure_parse(const char *name, enum lines_measure *out);

/* One `lines:` condition of a wait or an expectation: a count of one file or of all. */
struct lines_check {
    const char *file; /* "namespace/pod/container[/N]", or NULL for every file */
    enum lines_measure measure;
    bool all; /* "delivered: all": delivered == written */
    struct condition cond;
    int line;
};

/* The measured value of `c`, and whether it holds. A file the run has not written yet counts 0
 * everywhere. */
double lines_check_value(const struct pod_logs *logs, const struct lines_tally *t,
                         const struct lines_check *c, bool *holds);

/* "lines.delivered = 5 (want == 6)", "lines[default/web/nginx].lost = 0". */
void lines_check_describe(const struct pod_logs *logs, const struct lines_tally *t,
                          const struct lines_check *c, bool with_want, char *buf, size_t size);

/* The `lines` section of result.json: totals and one entry per file. New reference or NULL. */
json_t *lines_tally_json(const struct pod_logs *logs, const struct lines_tally *t);

/* Terminal lines: a total, then one line per file (indented by `indent`). */
void lines_tally_print(const struct pod_logs *logs, const struct lines_tally *t, FILE *out,
                       const char *indent);

#endif
