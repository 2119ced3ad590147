/*
 * scenario_loader.h - what the parts of the scenario loader share: the top level (scenario.c)
 * and the `load` of every step kind (steps.h, step_*.c). Nothing else includes it.
 *
 * A `struct loader` is one scenario_load call: the scenario being filled, where its error goes,
 * and the pod log files the steps loaded so far write. Every message goes through loader_fail,
 * so all of them read "file:line: path: what was expected" (scenario.h): `path` is the YAML path
 * of the node ("steps[2].wait"), `line` where it is (0: none known, the message has no line).
 * Unless a function says otherwise it returns 0, or -EINVAL with that message in l->err, or
 * -ENOMEM with "out of memory".
 *
 * Field tables: a mapping's keys are declared once (key, accepted JSON types, required, what is
 * expected in words), and the list ends with an all-NULL entry. loader_check_fields checks a
 * mapping against its table, so unknown keys, wrong types and missing keys read the same
 * everywhere; rules that span fields (a step has `file` or `raw`) are checked by hand after.
 *
 * Why not common/options.h's binder: its messages carry a YAML path but no line, and scenario
 * sections are variant-typed (a step is one of several kinds, `wait` keys are fakes or metric
 * selectors, `expect_body` is a string or a mapping), which a struct-filling table does not
 * express. Durations are parsed with its options_parse_duration, so they read as in configs.
 */
#ifndef HARNESS_SCENARIO_LOADER_H
#define HARNESS_SCENARIO_LOADER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "condition.h"
#include "error.h"
#include "lines.h"
#include "pod_log.h"
#include "scenario.h"

/* A pod log file written by a step loaded so far, with its runtime format: a later step of the
 * file inherits the format, and waits and expectations may only name known files. */
struct known_file {
    char key[256]; /* "namespace/pod/container[/N]", as struct step_pod_log's key */
    enum pod_log_format format;
    bool written; /* some step wrote lines to it (a rotation needs that) */
};

struct known_files {
    struct known_file files[POD_LOG_MAX_FILES];
    size_t count;
};

struct loader {
    struct scenario *s;        /* being loaded; its path names the file in messages */
    struct error *err;         /* may be NULL */
    struct known_files *known; /* grows as pod_log steps load, in file order */
};

/* The known file named `key`, or NULL. */
struct known_file *loader_known_file(struct known_files *known, const char *key);

/* ---- messages ---- */

/* Sets l->err to "file:line: path: message" (no line when line <= 0, no path when it is "") and
 * returns -EINVAL. */
int loader_fail(struct loader *l, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The line of a node, of a mapping's key, of a list's item; `fallback` when yamljson's side
 * table does not know it (a node built by the loader). */
int loader_line_of_node(struct loader *l, const json_t *node, int fallback);
int loader_line_of_key(struct loader *l, const json_t *object, const char *key, int fallback);
int loader_line_of_index(struct loader *l, const json_t *array, size_t index, int fallback);

/* "a mapping", "a string", "nothing (null)" ...: what a message says it got. */
const char *loader_type_name(const json_t *v);

/* out = path "." key, or key alone at the top level. */
void loader_join(char *out, size_t size, const char *path, const char *key);

/* ---- field tables ---- */

#define FIELD_STR 0x01u
#define FIELD_INT 0x02u
#define FIELD_REAL 0x04u
#define FIELD_BOOL 0x08u
#define FIELD_MAP 0x10u
#define FIELD_LIST 0x20u
#define FIELD_NUM (FIELD_INT | FIELD_REAL)

struct field {
    const char *key;
    unsigned types; /* FIELD_* accepted; null is never accepted */
    bool required;
    const char *expect; /* "a duration such as 10s" */
};

/* Checks that `obj` is a mapping whose keys are all in `fields`, with the right types, and that
 * required keys are present. `line` is where `obj` is (for a value that is not a mapping). */
int loader_check_fields(struct loader *l, const json_t *obj, int line, const char *path,
                        const struct field *fields);

/* ---- values of a checked mapping ---- */

/* Borrowed from obj; NULL when absent or not a string. */
const char *loader_get_string(const json_t *obj, const char *key);
bool loader_get_bool(const json_t *obj, const char *key, bool def);
/* A positive duration such as "10s", rounded up to whole milliseconds; def_ms when absent. */
int loader_get_duration(struct loader *l, const json_t *obj, const char *key, const char *path,
                        int64_t def_ms, int64_t *out_ms);
/* A key whose value must be one of `choices` (NULL-terminated): *index is its position, or -1
 * when the key is absent. */
int loader_check_choice(struct loader *l, const json_t *obj, const char *key, const char *path,
                        const char *const *choices, int *index);
/* A list of strings appended to out (at most SCENARIO_MAX_ITEMS in all), borrowed from the
 * list; `expect` says what each item is, in words. */
int loader_string_list(struct loader *l, const json_t *list, const char *path, const char **out,
                       size_t *count, const char *expect);

/* `rel` against `base` (or as is when absolute) into out, which must be readable. */
int loader_resolve(struct loader *l, char *out, size_t size, const char *base, const char *rel,
                   int line, const char *path);

/* "48 69 ff" -> bytes (spaces ignored). Returns 0, -EINVAL (not pairs of hex digits) or -ENOMEM,
 * and sets no message. Caller owns *out (free). */
int loader_hex_decode(const char *text, uint8_t **out, size_t *len);
/* 21000000, "20MiB", "20MiB+1", "512KiB" -> bytes. Returns 0 or -EINVAL; sets no message. */
int loader_parse_size(const json_t *v, int64_t *out);

/* ---- counts that waits and expectations share ---- */

/* `{records: 3, requests: ">= 1"}` of one fake, appended to out (at most SCENARIO_MAX_ITEMS).
 * A bare number compares with default_op (a wait: at least, an expectation: exactly). */
int loader_fake_counts(struct loader *l, enum fake_id fake, const json_t *map, const char *path,
                       int line, enum condition_op default_op, struct count_check *out,
                       size_t *count);
/* `{otelcol_exporter_sent_log_records: 3}`: collector self-metric selectors and values. */
int loader_collector_counts(struct loader *l, const json_t *map, const char *path, int line,
                            enum condition_op default_op, struct count_check *out, size_t *count);
/* `{delivered: all, lost: 0, files: {ns/pod/container: {delivered: 6}}}`: counts of numbered pod
 * log lines (lines.h), of every file or of the ones named, which must be known files. */
int loader_lines_checks(struct loader *l, const json_t *map, const char *path, int line,
                        enum condition_op default_op, struct lines_check *out, size_t *count);

#endif
