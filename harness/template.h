/*
 * template.h - the `--collector 'CMD {config} {set}'` command template, so any collector that
 * takes upstream's `--config FILE --set key=value` flags can be tested (a real otelcol-contrib,
 * the reference under valgrind, ...).
 *
 * The template is split into words like a shell would split it (whitespace; '...' and "..."
 * quotes; backslash escapes), but nothing is ever run through a shell. Placeholders:
 *   {config}  as a whole word: two words `--config PATH`; inside a word: PATH
 *   {set}     as a whole word: `--set k=v` for every override (ports, endpoints) - required,
 *             since the ports are chosen per run and reach the collector only this way
 * Any other `{word}` is an error rather than being passed on silently.
 */
#ifndef HARNESS_TEMPLATE_H
#define HARNESS_TEMPLATE_H

#include <stddef.h>

#include "error.h"

#define TEMPLATE_MAX_WORDS 256
#define TEMPLATE_MAX_WORD 4096

/* A NULL-terminated argv. Owns its strings. */
struct argv_list {
    char **items;
    size_t count;
    size_t cap;
};

/* Appends a copy of `word`. Returns 0 or -ENOMEM, or -E2BIG past TEMPLATE_MAX_WORDS. */
int template_argv_add(struct argv_list *list, const char *word);
void template_argv_free(struct argv_list *list);
/* The argv as one line, words with spaces quoted, for logs and reports. Truncated to `size`. */
void template_argv_format(const struct argv_list *list, char *buf, size_t size);

/* Expands `tmpl` into `out` (which must be empty). Errors (-EINVAL, message in err): empty
 * template, unterminated quote, no {config}, no {set}, {set} inside a word, unknown placeholder.
 * On failure `out` may hold some words: the caller frees it. */
int template_expand(const char *tmpl, const char *config_path, char *const *sets, size_t set_count,
                    struct argv_list *out, struct error *err);

#endif
