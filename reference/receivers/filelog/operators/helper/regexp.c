/*
 * regexp.c - Go (RE2) regular expressions run by PCRE2 with JIT, and upstream's MatchValues
 * (contrib v0.142 pkg/stanza/operator/helper/regexp.go).
 *
 * Go and PCRE2 agree on the syntax these configs use ((?P<name>...), classes, anchors,
 * leftmost-first submatches). Where they differ by default the compile options make PCRE2 act as
 * Go does: `$` matches only at the very end (PCRE2_DOLLAR_ENDONLY; Go has no "before a final
 * newline" rule), UTF-8 subjects with invalid bytes still match (PCRE2_MATCH_INVALID_UTF; Go
 * reads them as U+FFFD), duplicate group names are allowed (the later group wins in
 * MatchValues, as Go's map assignment does). Perl constructs RE2 refuses are refused here with
 * Go's message, so a config that upstream rejects is rejected here too.
 * Under valgrind the JIT is left out: its vectorised scans read past the subject inside the
 * allocation, which memcheck reports though it is harmless; the interpreter gives the same results.
 * Not done: Go's limit of 1000 repetitions per counted group.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "../operator.h"

struct named_group {
    char *name;
    uint32_t number;
};

/* The last subject that matched, with its group offsets. A regex over log.file.path (the
 * team's extract-metadata-from-filepath) sees the same path line after line; a repeat costs a
 * compare instead of a match (about 140 ns for that pattern). A regex that never sees a repeat
 * stops remembering after MEMO_GIVE_UP tries, so the line parsers pay nothing for it. */
#define MEMO_MAX_SUBJECT 512
#define MEMO_GIVE_UP 64

struct stanza_regex {
    pcre2_code *code;
    pcre2_match_data *match;
    struct named_group *names; /* in group-number order */
    size_t n_names;
    bool duplicate_names;
    /* --- the memo --- */
    const PCRE2_SIZE *ovector; /* offsets of the last match: pcre2's or memo_ovector */
    uint32_t pairs;
    char *memo_subject; /* NULL when nothing is remembered */
    size_t memo_len;
    PCRE2_SIZE *memo_ovector;
    unsigned memo_hits, memo_misses;
};

/* The RE2 check: the first Perl-only construct in `p`, or NULL. */
static const char *unsupported_perl(const char *p, char *what, size_t size)
{
    bool in_class = false;
    for (size_t i = 0; p[i]; i++) {
        char c = p[i];
        if (c == '\\') {
            char n = p[i + 1];
            if (!n)
                break;
            if ((n >= '1' && n <= '9') || n == 'g' || n == 'k' || n == 'Z' || n == 'G' ||
                n == 'K' || n == 'R' || n == 'X' || n == 'h' || n == 'H' || n == 'V' || n == 'N') {
                if (!in_class || (n >= '1' && n <= '9')) {
                    snprintf(what, size, "invalid escape sequence: `\\%c`", n);
                    return what;
                }
            }
            i++;
            continue;
        }
        if (in_class) {
            if (c == ']')
                in_class = false;
            continue;
        }
        if (c == '[') {
            in_class = true;
            if (p[i + 1] == '^')
                i++;
            if (p[i + 1] == ']')
                i++;
            continue;
        }
        if (c == '(' && p[i + 1] == '?') {
            const char *q = p + i + 2;
            static const char *const bad[] = {"=", "!", "<=", "<!", ">", "|", "#", "(",
                                              "R", "&", "+",  "0",  "1", "2", "3", "4",
                                              "5", "6", "7",  "8",  "9", "C"};
            for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
                if (!strncmp(q, bad[k], strlen(bad[k]))) {
                    snprintf(what, size, "invalid or unsupported Perl syntax: `(?%s`", bad[k]);
                    return what;
                }
        }
        if ((c == '*' || c == '+' || c == '?' || c == '}') && p[i + 1] == '+') {
            snprintf(what, size, "invalid nested repetition operator: `%c+`", c);
            return what;
        }
    }
    return NULL;
}

void stanza_regex_free(struct stanza_regex *re)
{
    if (!re)
        return;
    for (size_t i = 0; i < re->n_names; i++)
        free(re->names[i].name);
    free(re->names);
    free(re->memo_subject);
    free(re->memo_ovector);
    pcre2_match_data_free(re->match);
    pcre2_code_free(re->code);
    free(re);
}

static int by_number(const void *a, const void *b)
{
    const struct named_group *x = a, *y = b;
    return (x->number > y->number) - (x->number < y->number);
}

int stanza_regex_compile(const char *pattern, struct stanza_regex **out, struct error *err)
{
    char what[128];
    int rc = -ENOMEM;
    *out = NULL;
    const char *bad = unsupported_perl(pattern, what, sizeof(what));
    if (bad)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "error parsing regexp: %s", bad);
    struct stanza_regex *re = calloc(1, sizeof(*re));
    if (!re)
        goto fail;
    int code;
    PCRE2_SIZE offset;
    re->code =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_DUPNAMES,
                      &code, &offset, NULL);
    if (!re->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof(msg));
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "error parsing regexp: %s at offset %zu",
                       (const char *)msg, (size_t)offset);
        goto fail;
    }
    /* JIT failing (no executable memory) is not fatal: pcre2_match interprets. */
    if (!RUNNING_ON_VALGRIND)
        (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
    if (!(re->match = pcre2_match_data_create_from_pattern(re->code, NULL)))
        goto fail;
    re->ovector = pcre2_get_ovector_pointer(re->match);
    re->pairs = pcre2_get_ovector_count(re->match);
    uint32_t count = 0, entry_size = 0;
    PCRE2_SPTR table = NULL;
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
    if (count) {
        if (!(re->names = calloc(count, sizeof(*re->names))))
            goto fail;
        for (uint32_t i = 0; i < count; i++) {
            PCRE2_SPTR e = table + (size_t)i * entry_size;
            re->names[i].number = ((uint32_t)e[0] << 8) | e[1];
            if (!(re->names[i].name = strdup((const char *)e + 2)))
                goto fail;
            re->n_names++;
        }
        qsort(re->names, re->n_names, sizeof(*re->names), by_number);
        for (size_t i = 0; i < re->n_names; i++)
            for (size_t k = i + 1; k < re->n_names; k++)
                re->duplicate_names |= !strcmp(re->names[i].name, re->names[k].name);
    }
    *out = re;
    return 0;
fail:
    if (rc == -ENOMEM)
        error_set(err, rc, ERROR_PERMANENT, "out of memory");
    stanza_regex_free(re);
    return rc;
}

static void memo_remember(struct stanza_regex *re, const char *subject, size_t len)
{
    if (len > MEMO_MAX_SUBJECT || (re->memo_hits == 0 && re->memo_misses >= MEMO_GIVE_UP))
        return;
    if (!re->memo_subject) {
        re->memo_subject = malloc(MEMO_MAX_SUBJECT);
        re->memo_ovector = malloc(2 * re->pairs * sizeof(*re->memo_ovector));
        if (!re->memo_subject || !re->memo_ovector) {
            free(re->memo_subject);
            free(re->memo_ovector);
            re->memo_subject = NULL;
            re->memo_ovector = NULL;
            return;
        }
    }
    memcpy(re->memo_subject, subject, len);
    re->memo_len = len;
    memcpy(re->memo_ovector, re->ovector, 2 * re->pairs * sizeof(*re->memo_ovector));
}

int stanza_regex_match(struct stanza_regex *re, const char *subject, size_t len)
{
    if (re->memo_subject && len == re->memo_len && !memcmp(subject, re->memo_subject, len)) {
        re->memo_hits++;
        re->ovector = re->memo_ovector;
        return 1;
    }
    re->memo_misses++;
    re->ovector = pcre2_get_ovector_pointer(re->match);
    int rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, 0, re->match, NULL);
    if (rc >= 0) {
        memo_remember(re, subject, len);
        return 1;
    }
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    return -EINVAL;
}

size_t stanza_regex_name_count(const struct stanza_regex *re)
{
    return re->n_names;
}

const char *stanza_regex_name(const struct stanza_regex *re, size_t i, const char **start,
                              size_t *len, const char *subject)
{
    const PCRE2_SIZE *ov = re->ovector;
    uint32_t pairs = re->pairs;
    uint32_t g = re->names[i].number;
    *start = subject;
    *len = 0;
    if (g < pairs && ov[2 * g] != PCRE2_UNSET) {
        *start = subject + ov[2 * g];
        *len = ov[2 * g + 1] - ov[2 * g];
    }
    return re->names[i].name;
}

int stanza_regex_match_values(struct stanza_regex *re, const char *subject, size_t len,
                              otlp_keyvalue ***into, size_t *n_into)
{
    int rc = stanza_regex_match(re, subject, len);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    /* Into an empty map without duplicate names: one array for all groups, no upserts. */
    bool direct = !*into && *n_into == 0 && !re->duplicate_names && re->n_names;
    if (direct && !(*into = pdata_calloc(re->n_names, sizeof(**into))))
        return -ENOMEM;
    for (size_t i = 0; i < re->n_names; i++) {
        const char *start;
        size_t vlen;
        const char *name = stanza_regex_name(re, i, &start, &vlen, subject);
        otlp_anyvalue *v = stanza_value_string_n(start, vlen);
        if (!v)
            return -ENOMEM;
        if (direct) {
            otlp_keyvalue *kv = stanza_kv_new(name, strlen(name), v);
            if (!kv) {
                stanza_value_free(v);
                return -ENOMEM;
            }
            (*into)[(*n_into)++] = kv;
        } else if (stanza_kv_upsert(into, n_into, name, v) < 0) {
            return -ENOMEM;
        }
    }
    return 0;
}
