/* template.c - shell-like word splitting and placeholder expansion of --collector (template.h). */
#include "template.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int template_argv_add(struct argv_list *list, const char *word)
{
    if (list->count + 1 >= TEMPLATE_MAX_WORDS)
        return -E2BIG;
    if (list->count + 2 > list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        char **grown = realloc(list->items, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        list->items = grown;
        list->cap = cap;
    }
    char *copy = strdup(word);
    if (!copy)
        return -ENOMEM;
    list->items[list->count++] = copy;
    list->items[list->count] = NULL;
    return 0;
}

void template_argv_free(struct argv_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = list->cap = 0;
}

void template_argv_format(const struct argv_list *list, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < list->count && n < size; i++) {
        const char *w = list->items[i];
        bool quote = strpbrk(w, " \t\"'{}[]") != NULL || !*w;
        n += (size_t)snprintf(buf + n, size - n, "%s%s%s%s", i ? " " : "", quote ? "'" : "", w,
                              quote ? "'" : "");
    }
}

/* A word under construction, bounded by TEMPLATE_MAX_WORD. */
struct word {
    char text[TEMPLATE_MAX_WORD];
    size_t len;
    bool started; /* quotes make an empty word a word: '' */
};

static int word_append(struct word *w, const char *s, size_t n, struct error *err)
{
    if (w->len + n >= sizeof(w->text))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "--collector: a word is longer than %d bytes", TEMPLATE_MAX_WORD);
    memcpy(w->text + w->len, s, n);
    w->len += n;
    w->text[w->len] = '\0';
    w->started = true;
    return 0;
}

/* Expands placeholders inside one finished word and appends the result(s). `quoted` words keep
 * their braces literal only if they hold no known placeholder: a quoted {config} still expands,
 * because quoting is how a user keeps a path with spaces in one word. */
static int emit_word(struct word *w, const char *config_path, char *const *sets, size_t set_count,
                     bool *saw_config, bool *saw_set, struct argv_list *out, struct error *err)
{
    int rc;
    if (!strcmp(w->text, "{config}")) {
        *saw_config = true;
        if ((rc = template_argv_add(out, "--config")) < 0 ||
            (rc = template_argv_add(out, config_path)) < 0)
            goto nomem;
        goto reset;
    }
    if (!strcmp(w->text, "{set}")) {
        *saw_set = true;
        for (size_t i = 0; i < set_count; i++)
            if ((rc = template_argv_add(out, "--set")) < 0 ||
                (rc = template_argv_add(out, sets[i])) < 0)
                goto nomem;
        goto reset;
    }
    char expanded[TEMPLATE_MAX_WORD];
    size_t n = 0;
    for (const char *p = w->text; *p;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t name_len = close ? (size_t)(close - p - 1) : 0;
            bool is_name =
                close && name_len > 0 && strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_") == name_len;
            if (is_name) {
                const char *value = NULL;
                if (name_len == 6 && !strncmp(p + 1, "config", 6)) {
                    value = config_path;
                    *saw_config = true;
                } else if (name_len == 3 && !strncmp(p + 1, "set", 3)) {
                    return error_set(err, -EINVAL, ERROR_PERMANENT,
                                     "--collector: {set} must be a word of its own (it expands "
                                     "to several --set arguments), not part of \"%s\"",
                                     w->text);
                } else {
                    return error_set(err, -EINVAL, ERROR_PERMANENT,
                                     "--collector: unknown placeholder {%.*s} (known: {config}, "
                                     "{set})",
                                     (int)name_len, p + 1);
                }
                size_t vlen = strlen(value);
                if (n + vlen >= sizeof(expanded))
                    return error_set(err, -EINVAL, ERROR_PERMANENT,
                                     "--collector: a word is longer than %d bytes",
                                     TEMPLATE_MAX_WORD);
                memcpy(expanded + n, value, vlen);
                n += vlen;
                p = close + 1;
                continue;
            }
        }
        if (n + 1 >= sizeof(expanded))
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "--collector: a word is longer than %d bytes", TEMPLATE_MAX_WORD);
        expanded[n++] = *p++;
    }
    expanded[n] = '\0';
    if ((rc = template_argv_add(out, expanded)) < 0)
        goto nomem;
reset:
    w->len = 0;
    w->text[0] = '\0';
    w->started = false;
    return 0;
nomem:
    return error_set(err, rc, ERROR_PERMANENT, "--collector: %s",
                     rc == -E2BIG ? "too many words" : "out of memory");
}

int template_expand(const char *tmpl, const char *config_path, char *const *sets, size_t set_count,
                    struct argv_list *out, struct error *err)
{
    struct word w = {.len = 0};
    bool saw_config = false, saw_set = false;
    char quote = 0;
    int rc;

    if (!tmpl)
        tmpl = "";
    for (const char *p = tmpl;; p++) {
        char c = *p;
        if (c == '\0') {
            if (quote)
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "--collector: unterminated %c quote in \"%s\"", quote, tmpl);
            if (w.started && (rc = emit_word(&w, config_path, sets, set_count, &saw_config,
                                             &saw_set, out, err)) < 0)
                return rc;
            break;
        }
        if (quote) {
            if (c == quote) {
                quote = 0;
            } else if (c == '\\' && quote == '"' && (p[1] == '"' || p[1] == '\\')) {
                if ((rc = word_append(&w, ++p, 1, err)) < 0)
                    return rc;
            } else if ((rc = word_append(&w, p, 1, err)) < 0) {
                return rc;
            }
            continue;
        }
        if (c == '\'' || c == '"') {
            quote = c;
            w.started = true;
        } else if (c == '\\' && p[1]) {
            if ((rc = word_append(&w, ++p, 1, err)) < 0)
                return rc;
        } else if (c == ' ' || c == '\t' || c == '\n') {
            if (w.started && (rc = emit_word(&w, config_path, sets, set_count, &saw_config,
                                             &saw_set, out, err)) < 0)
                return rc;
        } else if ((rc = word_append(&w, p, 1, err)) < 0) {
            return rc;
        }
    }
    if (out->count == 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "--collector: the template is empty");
    if (!saw_config)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "--collector: the template has no {config} (where the config file goes)");
    if (!saw_set)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "--collector: the template has no {set} (the per-run ports and "
                         "endpoints are passed as --set overrides)");
    return 0;
}
