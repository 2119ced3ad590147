/*
 * options.h - option tables and the one generic binder (fluent-bit's config_map idea).
 *
 * Each component declares its options once: type, key, default (as YAML text), offset of the
 * field in its config struct, one-line description. options_bind() fills the struct from a JSON
 * object (parsed YAML), applying defaults, checking types and rejecting unknown keys, with error
 * messages that name the YAML path ("receivers.otlp.protocols.http: unknown key \"endpont\"").
 * Components check by hand only rules that span fields. `otelcol-ref components` prints every
 * table with options_describe().
 */
#ifndef OTEL_COMMON_OPTIONS_H
#define OTEL_COMMON_OPTIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

enum option_type {
    OPT_END = 0,     /* terminates a table */
    OPT_STRING,      /* char * (malloc'd, freed by options_free; NULL when absent, no default) */
    OPT_BOOL,        /* bool */
    OPT_INT,         /* int64_t */
    OPT_DOUBLE,      /* double (an integer is accepted) */
    OPT_DURATION,    /* int64_t nanoseconds; Go duration text ("5s", "1m30s", "200ms") or an
                        integer number of nanoseconds, as the collector's confmap decodes it */
    OPT_STRING_LIST, /* struct option_string_list */
    OPT_OBJECT,      /* a nested table, its offsets from base + this option's offset: 0 keeps
                        the parent's base, offsetof(struct, member) binds a table shared by
                        several components (configtls, retry_on_failure) into that member */
    OPT_JSON,        /* json_t * kept as is (a new reference; freed by options_free) */
};

/* Option flags. */
#define OPT_REQUIRED 0x1 /* absent key is an error */
#define OPT_PRESENCE                                                                               \
    0x2 /* `presence_offset` names a bool set to true when the key is present                      \
           (even as `http:` with a null value, as upstream's optional                              \
           sub-sections work) */

struct option_string_list {
    char **items; /* malloc'd strings */
    size_t count;
};

struct option {
    enum option_type type;
    const char *key;
    const char *default_value; /* YAML text; NULL = zero value */
    size_t offset;
    const char *description;
    unsigned flags;
    const struct option *children; /* OPT_OBJECT: the nested table */
    size_t presence_offset;        /* with OPT_PRESENCE */
};

/* Binds `object` (an object or null = all defaults) into `base` using `table`. `path` is the YAML
 * path of `object` for messages ("processors.batch"). On failure the struct may be partly filled:
 * call options_free. Returns 0 or -EINVAL (err says the path and the problem) / -ENOMEM. */
int options_bind(const struct option *table, const json_t *object, void *base, const char *path,
                 struct error *err);

/* Frees what options_bind allocated in `base` (strings, lists, json). Safe on a zeroed struct. */
void options_free(const struct option *table, void *base);

/* Prints the table, one option a line with its type, default and description, indented. */
void options_describe(const struct option *table, FILE *out, int indent);

/* Parses a Go duration ("300ms", "1.5h", "2h45m", "-1s", "0") into nanoseconds. -EINVAL if bad. */
int options_parse_duration(const char *text, int64_t *out_ns);

#endif
