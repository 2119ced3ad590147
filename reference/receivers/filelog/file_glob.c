/*
 * file_glob.c - which files the filelog receiver reads: `include` and `exclude` patterns with
 * doublestar's syntax (fileconsumer.h).
 *
 * Mirrors contrib@v0.142.0 pkg/stanza/fileconsumer/matcher/internal/finder/finder.go: every
 * include is expanded with doublestar.FilepathGlob(pattern, WithFilesOnly()), a match is dropped
 * when doublestar.PathMatch(exclude, match) holds for any exclude, and a path found by two
 * includes is kept once, at its first place. The pattern language is github.com/bmatcuk/
 * doublestar/v4's: `*` any run of characters but `/`, `?` one character, `[abc]` `[a-z]` `[!x]`
 * `[^x]` classes, `{a,b}` alternatives (may hold `/`), `\` escapes, and `**` as a whole path
 * component for any number of directories (zero included, so a trailing `**` also matches the
 * directory before it). Dot files are not special. Patterns are matched against the path as
 * written (relative patterns give relative paths; a doubled `/` is collapsed as filepath.Clean
 * does).
 *
 * The walk visits directories in name order (Go's ReadDir sorts), which is the order upstream
 * returns matches in. Deliberately not done: following symlinked directories while expanding
 * `**` (they would allow loops; explicit components do follow symlinks), ordering_criteria.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "receivers/filelog/fileconsumer.h"

#define GLOB_MAX_ALTERNATIVES 256 /* brace expansion of one pattern */
#define GLOB_MAX_DEPTH 64         /* directories below a `**` */
#define GLOB_MAX_COMPONENTS 128
#define GLOB_MAX_PATHS (1u << 20) /* files one poll may match */
#define GLOB_PATH_MAX 4096

/* ---- path lists ---- */

static int paths_push(struct fc_paths *paths, const char *path)
{
    if (paths->count == paths->cap) {
        if (paths->cap >= GLOB_MAX_PATHS)
            return -E2BIG;
        size_t cap = paths->cap ? paths->cap * 2 : 64;
        char **grown = realloc(paths->items, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        paths->items = grown;
        paths->cap = cap;
    }
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    paths->items[paths->count++] = copy;
    return 0;
}

void fc_paths_clear(struct fc_paths *paths)
{
    for (size_t i = 0; i < paths->count; i++)
        free(paths->items[i]);
    paths->count = 0;
}

void fc_paths_release(struct fc_paths *paths)
{
    fc_paths_clear(paths);
    free(paths->items);
    paths->items = NULL;
    paths->cap = 0;
}

/* ---- brace expansion ---- */

/* The index of the `]` closing the class that opens at p[0] == '[', or 0 when unclosed. */
static size_t class_end(const char *p)
{
    size_t i = 1;
    if (p[i] == '!' || p[i] == '^')
        i++;
    if (p[i] == ']')
        i++; /* a leading `]` is a member */
    for (; p[i]; i++) {
        if (p[i] == '\\' && p[i + 1])
            i++;
        else if (p[i] == ']')
            return i;
    }
    return 0;
}

/* Finds the first top-level `{...}`: *open and *close are its indexes. 0 when there is none,
 * -EINVAL when a `{` or `[` is unclosed or a `\` ends the pattern. */
static int find_braces(const char *p, size_t *open, size_t *close)
{
    int depth = 0;
    for (size_t i = 0; p[i]; i++) {
        if (p[i] == '\\') {
            if (!p[i + 1])
                return -EINVAL;
            i++;
        } else if (p[i] == '[') {
            size_t end = class_end(p + i);
            if (!end)
                return -EINVAL;
            i += end;
        } else if (p[i] == '{') {
            if (depth++ == 0)
                *open = i;
        } else if (p[i] == '}' && depth > 0) {
            if (--depth == 0) {
                *close = i;
                return 1;
            }
        }
    }
    return depth > 0 ? -EINVAL : 0;
}

/* Appends every brace-free pattern `p` stands for to `out`. */
static int expand_braces(const char *p, struct fc_paths *out)
{
    size_t open = 0, close = 0;
    int found = find_braces(p, &open, &close);
    if (found < 0)
        return found;
    if (found == 0)
        return out->count >= GLOB_MAX_ALTERNATIVES ? -E2BIG : paths_push(out, p);
    size_t len = strlen(p);
    char *buf = malloc(len + 1);
    if (!buf)
        return -ENOMEM;
    int rc = 0;
    size_t start = open + 1;
    int depth = 0;
    for (size_t i = open + 1; i <= close && rc == 0; i++) {
        if (p[i] == '\\') {
            i++;
            continue;
        }
        if (p[i] == '[') {
            i += class_end(p + i);
            continue;
        }
        if (p[i] == '{')
            depth++;
        else if (p[i] == '}' && depth > 0)
            depth--;
        else if ((p[i] == ',' && depth == 0) || i == close) {
            /* prefix + this alternative + suffix, expanded again for nested braces */
            size_t n = 0;
            memcpy(buf, p, open);
            n += open;
            memcpy(buf + n, p + start, i - start);
            n += i - start;
            memcpy(buf + n, p + close + 1, len - close - 1);
            n += len - close - 1;
            buf[n] = '\0';
            rc = expand_braces(buf, out);
            start = i + 1;
        }
    }
    free(buf);
    return rc;
}

int fc_glob_validate(const char *pattern)
{
    size_t open, close;
    struct fc_paths scratch = {0};
    if (find_braces(pattern, &open, &close) < 0)
        return -EINVAL;
    int rc = expand_braces(pattern, &scratch);
    fc_paths_release(&scratch);
    if (rc == -ENOMEM)
        return rc;
    return rc < 0 ? -EINVAL : 0; /* more than GLOB_MAX_ALTERNATIVES counts as bad too */
}

/* ---- one component ---- */

/* One UTF-8 character at s (as Go's DecodeRuneInString: an invalid byte counts as one). */
static size_t rune_decode(const unsigned char *s, size_t len, unsigned *rune)
{
    unsigned c = s[0];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || n > len) {
        *rune = c;
        return 1;
    }
    unsigned r = n == 1 ? c : c & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *rune = c;
            return 1;
        }
        r = (r << 6) | (s[i] & 0x3f);
    }
    *rune = r;
    return n;
}

/* Does the class at p[0] == '[' (ending at p[end]) hold `rune`? */
static bool class_matches(const char *p, size_t end, unsigned rune)
{
    size_t i = 1;
    bool negate = p[i] == '!' || p[i] == '^';
    if (negate)
        i++;
    bool found = false;
    bool first = true;
    while (i < end || (first && p[i] == ']')) {
        first = false;
        unsigned lo, hi;
        if (p[i] == '\\')
            i++;
        i += rune_decode((const unsigned char *)p + i, end - i + 1, &lo);
        hi = lo;
        if (p[i] == '-' && i + 1 < end) {
            i++;
            if (p[i] == '\\')
                i++;
            i += rune_decode((const unsigned char *)p + i, end - i + 1, &hi);
        }
        if (rune >= lo && rune <= hi)
            found = true;
    }
    return found != negate;
}

/* Matches one path component `name` against one pattern component (no `/`, no braces). */
static bool component_matches(const char *p, size_t plen, const char *s, size_t slen)
{
    size_t pi = 0, si = 0;
    size_t star_p = (size_t)-1, star_s = 0; /* where to resume after the last `*` */
    while (si < slen || pi < plen) {
        if (pi < plen) {
            char c = p[pi];
            if (c == '*') {
                while (pi < plen && p[pi] == '*')
                    pi++;
                star_p = pi;
                star_s = si;
                continue;
            }
            if (si < slen) {
                unsigned rune;
                size_t n = rune_decode((const unsigned char *)s + si, slen - si, &rune);
                if (c == '?') {
                    pi++;
                    si += n;
                    continue;
                }
                if (c == '[') {
                    size_t end = class_end(p + pi);
                    if (end && pi + end < plen && class_matches(p + pi, end, rune)) {
                        pi += end + 1;
                        si += n;
                        continue;
                    }
                } else {
                    if (c == '\\' && pi + 1 < plen)
                        c = p[++pi];
                    if (c == s[si]) {
                        pi++;
                        si++;
                        continue;
                    }
                }
            }
        }
        if (star_p != (size_t)-1 && star_s < slen) {
            unsigned rune;
            star_s += rune_decode((const unsigned char *)s + star_s, slen - star_s, &rune);
            pi = star_p;
            si = star_s;
            continue;
        }
        return false;
    }
    return true;
}

static bool has_meta(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] == '*' || p[i] == '?' || p[i] == '[' || p[i] == '\\')
            return true;
    return false;
}

/* ---- splitting into components ---- */

struct parts {
    const char *start[GLOB_MAX_COMPONENTS];
    size_t len[GLOB_MAX_COMPONENTS];
    size_t count;
    bool absolute;
};

/* Splits at `/`, dropping empty components (filepath.Clean's doubled slashes and trailing
 * slash). -E2BIG past GLOB_MAX_COMPONENTS. */
static int split_parts(const char *s, struct parts *out)
{
    out->count = 0;
    out->absolute = s[0] == '/';
    while (*s) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char *end = strchr(s, '/');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (out->count == GLOB_MAX_COMPONENTS)
            return -E2BIG;
        out->start[out->count] = s;
        out->len[out->count] = len;
        out->count++;
        s += len;
    }
    return 0;
}

static bool is_doublestar(const struct parts *p, size_t i)
{
    return p->len[i] == 2 && p->start[i][0] == '*' && p->start[i][1] == '*';
}

static bool match_parts(const struct parts *pat, size_t pi, const struct parts *path, size_t si)
{
    while (pi < pat->count) {
        if (is_doublestar(pat, pi)) {
            /* `**` takes zero or more components; try the shortest first */
            for (size_t k = si; k <= path->count; k++)
                if (match_parts(pat, pi + 1, path, k))
                    return true;
            return false;
        }
        if (si >= path->count ||
            !component_matches(pat->start[pi], pat->len[pi], path->start[si], path->len[si]))
            return false;
        pi++;
        si++;
    }
    return si == path->count;
}

bool fc_glob_match(const char *pattern, const char *path)
{
    struct fc_paths alternatives = {0};
    bool matched = false;
    if (expand_braces(pattern, &alternatives) < 0) {
        fc_paths_release(&alternatives);
        return false; /* PathMatch returns false with ErrBadPattern */
    }
    struct parts *pat = malloc(sizeof(*pat)), *name = malloc(sizeof(*name));
    if (pat && name && split_parts(path, name) == 0) {
        for (size_t i = 0; i < alternatives.count && !matched; i++)
            matched = split_parts(alternatives.items[i], pat) == 0 &&
                      pat->absolute == name->absolute && match_parts(pat, 0, name, 0);
    }
    free(pat);
    free(name);
    fc_paths_release(&alternatives);
    return matched;
}

/* ---- walking the file system ---- */

struct walk {
    const struct parts *pattern;
    struct fc_paths *found;
    int error; /* first -ENOMEM / -E2BIG */
};

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of `dir` but `.` and `..`, sorted by name. NULL list (count 0) when unreadable. */
static int read_sorted(const char *dir, struct fc_paths *names)
{
    DIR *d = opendir(*dir ? dir : ".");
    if (!d)
        return 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        rc = paths_push(names, e->d_name);
    }
    closedir(d);
    if (rc == 0 && names->count > 1)
        qsort(names->items, names->count, sizeof(char *), compare_names);
    return rc;
}

/* `base` + "/" + name, or name when base is "" (a relative pattern's start). */
static bool join(char *out, const char *base, const char *name, size_t name_len)
{
    size_t base_len = strlen(base);
    bool slash = base_len > 0 && base[base_len - 1] != '/';
    if (base_len + slash + name_len + 1 > GLOB_PATH_MAX)
        return false;
    memcpy(out, base, base_len);
    if (slash)
        out[base_len++] = '/';
    memcpy(out + base_len, name, name_len);
    out[base_len + name_len] = '\0';
    return true;
}

static void add_file(struct walk *w, const char *path)
{
    struct stat st;
    if (w->error == 0 && stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
        w->error = paths_push(w->found, path); /* WithFilesOnly: anything but a directory */
}

static bool is_directory(const char *path, bool follow)
{
    struct stat st;
    if ((follow ? stat(path, &st) : lstat(path, &st)) < 0)
        return false;
    return S_ISDIR(st.st_mode);
}

static void walk_component(struct walk *w, const char *base, size_t index, int depth);

/* `**` at `index`: zero directories, then every subdirectory (not through symlinks). */
static void walk_doublestar(struct walk *w, const char *base, size_t index, int depth)
{
    const struct parts *p = w->pattern;
    bool last = index + 1 == p->count;
    struct fc_paths names = {0};
    if (w->error == 0 && (w->error = read_sorted(base, &names)) == 0) {
        char *path = malloc(GLOB_PATH_MAX);
        if (!path)
            w->error = -ENOMEM;
        if (!last)
            walk_component(w, base, index + 1, depth);
        for (size_t i = 0; path && i < names.count && w->error == 0; i++) {
            if (!join(path, base, names.items[i], strlen(names.items[i])))
                continue;
            if (is_directory(path, false)) {
                if (depth < GLOB_MAX_DEPTH)
                    walk_doublestar(w, path, index, depth + 1);
            } else if (last) {
                add_file(w, path); /* a trailing `**` matches every file below */
            }
        }
        free(path);
    }
    fc_paths_release(&names);
}

static void walk_component(struct walk *w, const char *base, size_t index, int depth)
{
    const struct parts *p = w->pattern;
    if (w->error || index >= p->count)
        return;
    if (is_doublestar(p, index)) {
        walk_doublestar(w, base, index, depth);
        return;
    }
    bool last = index + 1 == p->count;
    char *path = malloc(GLOB_PATH_MAX);
    if (!path) {
        w->error = -ENOMEM;
        return;
    }
    const char *comp = p->start[index];
    size_t comp_len = p->len[index];
    if (!has_meta(comp, comp_len)) {
        if (join(path, base, comp, comp_len)) {
            if (last)
                add_file(w, path);
            else if (is_directory(path, true))
                walk_component(w, path, index + 1, depth);
        }
        free(path);
        return;
    }
    struct fc_paths names = {0};
    if ((w->error = read_sorted(base, &names)) == 0) {
        for (size_t i = 0; i < names.count && w->error == 0; i++) {
            const char *name = names.items[i];
            size_t name_len = strlen(name);
            if (!component_matches(comp, comp_len, name, name_len) ||
                !join(path, base, name, name_len))
                continue;
            if (last)
                add_file(w, path);
            else if (is_directory(path, true))
                walk_component(w, path, index + 1, depth);
        }
    }
    fc_paths_release(&names);
    free(path);
}

/* FilepathGlob(pattern, WithFilesOnly()) for one brace-free pattern. */
static int glob_one(const char *pattern, struct fc_paths *found)
{
    struct parts *parts = malloc(sizeof(*parts));
    if (!parts)
        return -ENOMEM;
    int rc = split_parts(pattern, parts);
    if (rc == 0 && parts->count > 0) {
        struct walk w = {parts, found, 0};
        walk_component(&w, parts->absolute ? "/" : "", 0, 0);
        rc = w.error;
    }
    free(parts);
    return rc;
}

/* ---- the finder ---- */

static bool excluded(const struct option_string_list *exclude, const char *path)
{
    for (size_t i = 0; exclude && i < exclude->count; i++)
        if (fc_glob_match(exclude->items[i], path))
            return true;
    return false;
}

/* A set of the paths kept so far (open addressing on the string hash), so that dropping
 * duplicates stays linear with thousands of files. */
struct seen {
    const char **slots;
    size_t cap;
};

static size_t hash_string(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* true when `path` was new (and is now in the set). */
static bool seen_insert(struct seen *set, const char *path)
{
    size_t i = hash_string(path) & (set->cap - 1);
    while (set->slots[i]) {
        if (!strcmp(set->slots[i], path))
            return false;
        i = (i + 1) & (set->cap - 1);
    }
    set->slots[i] = path;
    return true;
}

int fc_find_files(const struct option_string_list *include,
                  const struct option_string_list *exclude, struct fc_paths *paths)
{
    fc_paths_clear(paths);
    struct fc_paths alternatives = {0}, found = {0};
    struct seen seen = {NULL, 0};
    int rc = 0;
    for (size_t i = 0; include && i < include->count && rc == 0; i++) {
        fc_paths_clear(&alternatives);
        if (expand_braces(include->items[i], &alternatives) < 0)
            continue; /* validated at config time */
        for (size_t a = 0; a < alternatives.count && rc == 0; a++)
            rc = glob_one(alternatives.items[a], &found);
    }
    if (rc == 0 && found.count > 0) {
        size_t cap = 16;
        while (cap < found.count * 2)
            cap *= 2;
        seen.slots = calloc(cap, sizeof(*seen.slots));
        seen.cap = cap;
        if (!seen.slots)
            rc = -ENOMEM;
    }
    for (size_t i = 0; i < found.count && rc == 0; i++) {
        if (excluded(exclude, found.items[i]) || !seen_insert(&seen, found.items[i]))
            continue;
        rc = paths_push(paths, found.items[i]);
    }
    free(seen.slots);
    fc_paths_release(&found);
    fc_paths_release(&alternatives);
    if (rc < 0)
        fc_paths_clear(paths);
    return rc;
}
