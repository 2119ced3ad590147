/*
 * config.c - resolving and decoding the collector configuration (config.h).
 *
 * Resolution follows core@v0.144.0 confmap/resolver.go, step by step:
 *   1. every --config location is retrieved (file, env:, yaml:) and merged in order, then every
 *      --set (otelcol/flags.go turns `a.b=c` into the YAML document `a::b: c`, whose top-level
 *      `::` keys are unflattened); merging joins maps and replaces everything else;
 *   2. every string value is expanded (confmap/expand.go findURI/findAndExpandURI): the first
 *      `}` closes the reference opened by the last `${` before it; `${VAR}` means `${env:VAR}`
 *      (the collector's default scheme); an odd number of `$` right before `${` escapes it
 *      and, as upstream, stops expansion of that whole string; a value that is exactly one
 *      reference takes the retrieved value with its YAML type, an embedded one is replaced by
 *      the raw text (every occurrence of the same reference); results are expanded again until
 *      nothing changes;
 *   3. `$$` becomes `$` in every string value (resolver.go escapeDollarSigns).
 * The env provider (confmap/provider/envprovider/provider.go): `NAME:-default`, names must match
 * ^[a-zA-Z_][a-zA-Z0-9_]*$, an unset variable logs a warning and expands to nothing (null as a
 * whole value, "" embedded); values are parsed as YAML, but a value that parses to a string is
 * kept verbatim (NewRetrievedFromYAML), and invalid YAML is kept as a string.
 *
 * Decoding and validation follow otelcol/config.go, service/pipelines/config.go and the graph
 * builder's signal checks, with upstream's messages; paths are written with `.` instead of `::`.
 * A component's validate() message that starts with `.` continues the component's path
 * (".protocols.grpc: ..." -> "receivers.otlp.protocols.grpc: ..."); any other message is
 * prefixed with the path and ": ".
 *
 * Deliberately not done: the http/https providers (an error says the scheme is not supported),
 * keeping both the typed value and its original text for a whole-value reference (the option
 * binder turns scalars back into text where a string is expected), connectors (none exist here,
 * so any entry is an unknown type).
 *
 * Extensions are decoded as any component; only those listed in service.extensions are built
 * (service/extensions/config.go: each listed once and configured), as upstream.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamljson.h"

#define CONFIG_FILE_MAX_BYTES (16u * 1024 * 1024)
/* Upstream stops at 1000 rounds of expansion per value (expandValueRecursively); a
 * self-referencing variable would otherwise never end. A value expanding into a map that refers
 * to itself is stopped by the nesting depth. */
#define EXPANSION_MAX_ROUNDS 1000
#define EXPANSION_MAX_DEPTH 64

/* ---- small text helpers ---- */

static char *dup_range(const char *s, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

/* Replaces every occurrence of `needle` in `haystack` with `replacement`. Caller frees. */
static char *replace_all(const char *haystack, const char *needle, const char *replacement)
{
    size_t needle_len = strlen(needle), repl_len = strlen(replacement);
    size_t count = 0;
    for (const char *p = strstr(haystack, needle); p; p = strstr(p + needle_len, needle))
        count++;
    size_t out_len = strlen(haystack) + count * repl_len - count * needle_len;
    char *out = malloc(out_len + 1);
    if (!out)
        return NULL;
    char *w = out;
    const char *r = haystack;
    for (const char *p = strstr(r, needle); p; p = strstr(r, needle)) {
        memcpy(w, r, (size_t)(p - r));
        w += p - r;
        memcpy(w, replacement, repl_len);
        w += repl_len;
        r = p + needle_len;
    }
    strcpy(w, r);
    return out;
}

/* ---- retrieving values (providers) ---- */

/* A retrieved value: the typed value and its text form (Retrieved.AsRaw / AsString). */
struct retrieved {
    json_t *value;
    char *text;
};

static void retrieved_clear(struct retrieved *r)
{
    json_decref(r->value);
    free(r->text);
    r->value = NULL;
    r->text = NULL;
}

/* confmap.NewRetrievedFromYAML: YAML-typed, except that strings (and text that is not valid
 * YAML) are kept verbatim. */
static int retrieved_from_yaml(const char *bytes, size_t len, struct retrieved *out,
                               struct error *err)
{
    json_t *parsed = NULL;
    struct error ignored;
    int rc = yamljson_parse(bytes, len, "value", &parsed, NULL, &ignored);
    if (rc == -ENOMEM)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    if (rc < 0 || json_is_string(parsed)) {
        json_decref(parsed);
        parsed = json_stringn(bytes, len);
    }
    out->value = parsed;
    out->text = dup_range(bytes, len);
    if (!out->value || !out->text) {
        retrieved_clear(out);
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory (or invalid UTF-8)");
    }
    return 0;
}

static bool valid_env_name(const char *name)
{
    if (!(isalpha((unsigned char)name[0]) || name[0] == '_'))
        return false;
    for (const char *p = name + 1; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return false;
    return true;
}

static int retrieve_env(const char *opaque, struct retrieved *out, struct error *err)
{
    int rc = 0;
    char *name = strdup(opaque);
    if (!name)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    char *default_value = strstr(name, ":-");
    if (default_value) {
        *default_value = '\0';
        default_value += 2;
    }
    if (!valid_env_name(name)) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "environment variable \"%s\" has invalid name: must match regex "
                       "^[a-zA-Z_][a-zA-Z0-9_]*$",
                       name);
        goto fail;
    }
    const char *value = getenv(name);
    if (!value) {
        if (default_value && !*default_value) {
            /* upstream returns an explicit empty string here, not null */
            out->value = json_string("");
            out->text = strdup("");
            if (!out->value || !out->text) {
                retrieved_clear(out);
                rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            }
            goto fail;
        }
        if (default_value) {
            value = default_value;
        } else {
            log_warn(NULL, "Configuration references unset environment variable name=%s", name);
            value = "";
        }
    } else if (!*value) {
        log_info(NULL, "Configuration references empty environment variable name=%s", name);
    }
    rc = retrieved_from_yaml(value, strlen(value), out, err);
fail:
    free(name);
    return rc;
}

static int read_whole_file(const char *path, char **out, size_t *out_len, struct error *err)
{
    *out = NULL;
    int rc = 0;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(err, errno == ENOENT ? -ENOENT : -EIO, ERROR_PERMANENT,
                         "unable to read the file %s: %s", path, strerror(errno));
    size_t cap = 64 * 1024, len = 0;
    buf = malloc(cap + 1);
    if (!buf) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    for (;;) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
        if (len == cap) {
            if (cap >= CONFIG_FILE_MAX_BYTES) {
                rc = error_set(err, -EFBIG, ERROR_PERMANENT, "the file %s is larger than %u bytes",
                               path, CONFIG_FILE_MAX_BYTES);
                goto fail;
            }
            char *grown = realloc(buf, cap * 2 + 1);
            if (!grown) {
                rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
                goto fail;
            }
            buf = grown;
            cap *= 2;
        }
    }
    if (ferror(f)) {
        rc = error_set(err, -EIO, ERROR_PERMANENT, "unable to read the file %s: %s", path,
                       strerror(errno));
        goto fail;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
fail:
    free(buf);
    fclose(f);
    return rc;
}

static int retrieve_file(const char *path, struct retrieved *out, struct error *err)
{
    char *content = NULL;
    size_t len = 0;
    int rc = read_whole_file(path, &content, &len, err);
    if (rc == 0)
        rc = retrieved_from_yaml(content, len, out, err);
    free(content);
    return rc;
}

static bool valid_scheme(const char *scheme, size_t len)
{
    /* confmap's schemePattern [A-Za-z][A-Za-z0-9+.-]+ : at least two characters */
    if (len < 2 || !isalpha((unsigned char)scheme[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        unsigned char ch = (unsigned char)scheme[i];
        if (!(isalnum(ch) || ch == '+' || ch == '.' || ch == '-'))
            return false;
    }
    return true;
}

/* Retrieves `scheme:opaque`: the inside of a ${...} reference (after the default scheme was
 * added), where upstream refuses a `$` in the opaque part, or a --config location, where it
 * does not (`reference` tells which). */
static int retrieve_uri(const char *uri, bool reference, struct retrieved *out, struct error *err)
{
    const char *colon = strchr(uri, ':');
    if (!colon || !valid_scheme(uri, (size_t)(colon - uri)))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "invalid uri: \"%s\"", uri);
    const char *opaque = colon + 1;
    size_t scheme_len = (size_t)(colon - uri);
    if (reference && strchr(opaque, '$'))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "the uri \"%s\" contains unsupported characters ('$')", uri);
    if (scheme_len == 3 && !strncmp(uri, "env", 3))
        return retrieve_env(opaque, out, err);
    if (scheme_len == 4 && !strncmp(uri, "file", 4))
        return retrieve_file(opaque, out, err);
    if (scheme_len == 4 && !strncmp(uri, "yaml", 4))
        return retrieved_from_yaml(opaque, strlen(opaque), out, err);
    return error_set(err, -EINVAL, ERROR_PERMANENT,
                     "scheme \"%.*s\" is not supported for uri \"%s\"", (int)scheme_len, uri, uri);
}

/* ---- expansion (confmap/expand.go) ---- */

/* findURI: the first potentially expandable `${...}` in `input`, or false. */
static bool find_uri(const char *input, const char **uri_start, size_t *uri_len)
{
    const char *s = input;
    for (;;) {
        const char *close = strchr(s, '}');
        if (!close)
            return false;
        const char *open = NULL;
        for (const char *p = s; p < close; p++)
            if (p[0] == '$' && p[1] == '{')
                open = p;
        if (!open) {
            s = close + 1;
            continue;
        }
        size_t dollars = 0;
        for (const char *p = open - 1; p >= s && *p == '$'; p--)
            dollars++;
        if (dollars % 2 == 1)
            return false; /* escaped: upstream then expands nothing more in this string */
        *uri_start = open;
        *uri_len = (size_t)(close - open) + 1;
        return true;
    }
}

/* One round of findAndExpandURI on a string. *out gets a new value when *changed. */
static int expand_string_once(const char *input, json_t **out, bool *changed, struct error *err)
{
    *changed = false;
    *out = NULL;
    if (!strstr(input, "${") || !strchr(input, '}'))
        return 0;
    const char *start;
    size_t len;
    if (!find_uri(input, &start, &len))
        return 0;
    int rc;
    struct retrieved r = {0};
    char *reference = dup_range(start, len);
    char *uri = NULL;
    if (!reference) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    /* strip ${ }, and give a scheme-less reference the default scheme `env` */
    const char *inner = reference + 2;
    size_t inner_len = len - 3;
    bool has_scheme = memchr(inner, ':', inner_len) != NULL;
    uri = malloc(inner_len + 5);
    if (!uri) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    snprintf(uri, inner_len + 5, "%s%.*s", has_scheme ? "" : "env:", (int)inner_len, inner);
    rc = retrieve_uri(uri, true, &r, err);
    if (rc < 0)
        goto fail;
    if (len == strlen(input)) {
        *out = r.value; /* the whole value is one reference: keep the YAML type */
        r.value = NULL;
    } else {
        char *replaced = replace_all(input, reference, r.text);
        *out = replaced ? json_string(replaced) : NULL;
        free(replaced);
        if (!*out) {
            rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory (or invalid UTF-8)");
            goto fail;
        }
    }
    *changed = true;
fail:
    retrieved_clear(&r);
    free(reference);
    free(uri);
    return rc;
}

static int expand_node(json_t *node, json_t **replacement, int depth, struct error *err);

static int expand_children(json_t *node, int depth, struct error *err)
{
    if (depth > EXPANSION_MAX_DEPTH)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "too many recursive expansions");
    if (json_is_object(node)) {
        void *iter = json_object_iter(node);
        while (iter) {
            json_t *value = json_object_iter_value(iter);
            json_t *replacement = NULL;
            int rc = expand_node(value, &replacement, depth + 1, err);
            if (rc < 0)
                return rc;
            if (replacement && json_object_iter_set_new(node, iter, replacement) < 0)
                return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            iter = json_object_iter_next(node, iter);
        }
    } else if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++) {
            json_t *replacement = NULL;
            int rc = expand_node(json_array_get(node, i), &replacement, depth + 1, err);
            if (rc < 0)
                return rc;
            if (replacement && json_array_set_new(node, i, replacement) < 0)
                return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        }
    }
    return 0;
}

/* Expands `node` until nothing changes. A string whose expansion changed it gets a new value in
 * *replacement (a new reference); containers are expanded in place. */
static int expand_node(json_t *node, json_t **replacement, int depth, struct error *err)
{
    *replacement = NULL;
    if (!json_is_string(node))
        return expand_children(node, depth, err);
    json_t *current = json_incref(node);
    int rc = 0;
    int rounds = 0;
    while (json_is_string(current)) {
        json_t *next = NULL;
        bool changed = false;
        rc = expand_string_once(json_string_value(current), &next, &changed, err);
        if (rc < 0 || !changed)
            break;
        json_decref(current);
        current = next;
        if (++rounds >= EXPANSION_MAX_ROUNDS) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT, "too many recursive expansions");
            break;
        }
    }
    /* A whole-value reference may have produced a map or a list: expand inside it too. */
    if (rc == 0)
        rc = expand_children(current, depth, err);
    if (rc < 0 || current == node) {
        json_decref(current);
        return rc;
    }
    *replacement = current;
    return 0;
}

/* resolver.go escapeDollarSigns: `$$` -> `$` in every string value (not in keys). */
static int unescape_dollars(json_t *node, json_t **replacement, struct error *err)
{
    *replacement = NULL;
    if (json_is_string(node)) {
        const char *s = json_string_value(node);
        if (!strstr(s, "$$"))
            return 0;
        char *unescaped = replace_all(s, "$$", "$");
        *replacement = unescaped ? json_string(unescaped) : NULL;
        free(unescaped);
        return *replacement ? 0 : error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    if (json_is_object(node)) {
        void *iter = json_object_iter(node);
        while (iter) {
            json_t *r = NULL;
            if (unescape_dollars(json_object_iter_value(iter), &r, err) < 0)
                return -ENOMEM;
            if (r && json_object_iter_set_new(node, iter, r) < 0)
                return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            iter = json_object_iter_next(node, iter);
        }
    } else if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++) {
            json_t *r = NULL;
            if (unescape_dollars(json_array_get(node, i), &r, err) < 0)
                return -ENOMEM;
            if (r && json_array_set_new(node, i, r) < 0)
                return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        }
    }
    return 0;
}

int config_expand(json_t *tree, struct error *err)
{
    json_t *replacement = NULL;
    if (json_is_string(tree))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "expected a mapping at the top level");
    int rc = expand_node(tree, &replacement, 0, err);
    json_decref(replacement);
    if (rc < 0)
        return rc;
    rc = unescape_dollars(tree, &replacement, err);
    json_decref(replacement);
    return rc;
}

/* ---- merging and --set ---- */

/* confmap Merge (koanf maps.Merge): maps are joined recursively, anything else replaces. */
static int merge_into(json_t *dst, json_t *src)
{
    const char *key;
    json_t *value;
    json_object_foreach(src, key, value)
    {
        json_t *existing = json_object_get(dst, key);
        if (json_is_object(existing) && json_is_object(value)) {
            if (merge_into(existing, value) < 0)
                return -ENOMEM;
            continue;
        }
        if (json_object_set(dst, key, value) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* koanf's Unflatten with delimiter "::", applied to the top-level keys of a retrieved map. */
static int unflatten_top_level(json_t *map, json_t **out, struct error *err)
{
    json_t *result = json_object();
    if (!result)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    const char *key;
    json_t *value;
    json_object_foreach(map, key, value)
    {
        json_t *level = result;
        const char *part = key;
        const char *sep;
        while ((sep = strstr(part, "::")) != NULL) {
            char *name = dup_range(part, (size_t)(sep - part));
            if (!name)
                goto nomem;
            json_t *child = json_object_get(level, name);
            if (!json_is_object(child)) {
                child = json_object();
                if (!child || json_object_set_new(level, name, child) < 0) {
                    free(name);
                    goto nomem;
                }
            }
            free(name);
            level = child;
            part = sep + 2;
        }
        json_t *existing = json_object_get(level, part);
        if (json_is_object(existing) && json_is_object(value)) {
            if (merge_into(existing, value) < 0)
                goto nomem;
        } else if (json_object_set(level, part, value) < 0) {
            goto nomem;
        }
    }
    *out = result;
    return 0;
nomem:
    json_decref(result);
    return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
}

/* Merges one retrieved document (null = empty) into `tree`. */
static int merge_document(json_t *tree, json_t *document, const char *what, struct error *err)
{
    if (json_is_null(document))
        return 0;
    if (!json_is_object(document))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "cannot retrieve the configuration: %s is not a mapping", what);
    /* A deep copy first: YAML aliases share one node in the parsed document, and merging or
     * expanding in place must not change every alias at once (yaml.v3 gives each its copy). */
    json_t *copy = json_deep_copy(document);
    json_t *flat = NULL;
    if (!copy)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    int rc = unflatten_top_level(copy, &flat, err);
    json_decref(copy);
    if (rc < 0)
        return rc;
    rc = merge_into(tree, flat);
    json_decref(flat);
    return rc < 0 ? error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory") : 0;
}

static char *trim_copy(const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    return dup_range(s, len);
}

int config_apply_set(json_t *tree, const char *assignment, struct error *err)
{
    int rc;
    char *key = NULL, *value = NULL, *dotted = NULL, *document_text = NULL;
    json_t *document = NULL;
    const char *equal = strchr(assignment, '=');
    if (!equal)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "missing equal sign");
    key = trim_copy(assignment, (size_t)(equal - assignment));
    value = trim_copy(equal + 1, strlen(equal + 1));
    dotted = key ? replace_all(key, ".", "::") : NULL;
    if (!key || !value || !dotted) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    /* Exactly upstream's "yaml:" + key + ": " + value document, so that values such as
     * `[a, b]` or `{x: 1}` parse, and `a: b` fails, as they do there. */
    size_t size = strlen(dotted) + strlen(value) + 3;
    document_text = malloc(size);
    if (!document_text) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    snprintf(document_text, size, "%s: %s", dotted, value);
    rc = yamljson_parse(document_text, strlen(document_text), "--set", &document, NULL, err);
    if (rc < 0) {
        error_prefix(err, "invalid --set \"%s\"", assignment);
        goto fail;
    }
    rc = merge_document(tree, document, "--set value", err);
fail:
    json_decref(document);
    free(document_text);
    free(dotted);
    free(value);
    free(key);
    return rc;
}

/* ---- decoding: components ---- */

static const char *const top_level_keys[] = {"receivers",  "processors", "exporters",
                                             "connectors", "extensions", "service"};

struct section {
    const char *name;
    enum component_kind kind;
};

/* Connectors have no kind of their own here; none exist, so every entry is an unknown type. */
static const struct section component_sections[] = {
    {"receivers", KIND_RECEIVER},   {"processors", KIND_PROCESSOR}, {"exporters", KIND_EXPORTER},
    {"extensions", KIND_EXTENSION}, {"connectors", KIND_EXTENSION},
};

/* upstream component.Type: ^[a-zA-Z][0-9a-zA-Z_]{0,62}$ */
static bool valid_type(const char *type, size_t len)
{
    if (len == 0 || len > 63 || !isalpha((unsigned char)type[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!(isalnum((unsigned char)type[i]) || type[i] == '_'))
            return false;
    return true;
}

/* upstream name rule: no whitespace, control characters or symbols; we check the first two. */
static bool valid_name(const char *name)
{
    if (!*name)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (isspace(*p) || iscntrl(*p))
            return false;
    return true;
}

/* Splits `type[/name]` into the type (written to `type`) and checks both parts. */
static int parse_id(const char *section, const char *id, char *type, size_t type_size,
                    struct error *err)
{
    if (!*id)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "cannot unmarshal the configuration: %s: id must not be empty", section);
    if (strlen(id) >= CONFIG_ID_MAX)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "cannot unmarshal the configuration: %s: id \"%.40s...\" is longer than "
                         "%d characters",
                         section, id, CONFIG_ID_MAX - 1);
    size_t type_len = strcspn(id, "/");
    if (type_len == 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "cannot unmarshal the configuration: %s: in \"%s\" id: the part before "
                         "/ should not be empty",
                         section, id);
    if (!valid_type(id, type_len))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "cannot unmarshal the configuration: %s: in \"%s\" id: invalid "
                         "character(s) in type \"%.*s\"",
                         section, id, (int)type_len, id);
    if (id[type_len] == '/') {
        const char *name = id + type_len + 1;
        if (!*name)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "cannot unmarshal the configuration: %s: in \"%s\" id: the part "
                             "after / should not be empty",
                             section, id);
        if (!valid_name(name))
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "cannot unmarshal the configuration: %s: in \"%s\" id: invalid "
                             "character(s) in name \"%s\"",
                             section, id, name);
    }
    snprintf(type, type_size, "%.*s", (int)type_len, id);
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "valid values: [batch otlp_http otlphttp]" for a kind, sorted as Go prints its factory map. */
static void known_types(enum component_kind kind, bool none_valid, char *out, size_t size)
{
    const char *names[64];
    size_t n = 0;
    for (size_t i = 0; component_registry[i] && n + 2 <= 64; i++) {
        const struct component_descriptor *d = component_registry[i];
        if (none_valid || d->kind != kind)
            continue;
        names[n++] = d->type;
        if (d->deprecated_alias)
            names[n++] = d->deprecated_alias;
    }
    qsort(names, n, sizeof(names[0]), compare_strings);
    size_t used = (size_t)snprintf(out, size, "[");
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? " " : "", names[i]);
    if (used < size)
        snprintf(out + used, size - used, "]");
}

static int decode_components(json_t *tree, struct config *cfg, struct error *err)
{
    for (size_t s = 0; s < sizeof(component_sections) / sizeof(component_sections[0]); s++) {
        const struct section *section = &component_sections[s];
        json_t *entries = json_object_get(tree, section->name);
        if (!entries || json_is_null(entries))
            continue;
        if (!json_is_object(entries))
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "cannot unmarshal the configuration: %s: expected a mapping",
                             section->name);
        const char *id;
        json_t *value;
        json_object_foreach(entries, id, value)
        {
            char type[CONFIG_ID_MAX];
            int rc = parse_id(section->name, id, type, sizeof(type), err);
            if (rc < 0)
                return rc;
            bool via_alias = false;
            bool connectors = !strcmp(section->name, "connectors");
            const struct component_descriptor *d =
                connectors ? NULL : component_find(section->kind, type, &via_alias);
            if (!d) {
                char known[512];
                known_types(section->kind, connectors, known, sizeof(known));
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 /* otelcol/internal/configunmarshaler errorUnknownType */
                                 "cannot unmarshal the configuration: %s: unknown type: \"%s\" "
                                 "for id: \"%s\" (valid values: %s)",
                                 section->name, type, id, known);
            }
            struct config_component *c = &cfg->components[cfg->component_count];
            memset(c, 0, sizeof(*c));
            c->kind = section->kind;
            c->descriptor = d;
            c->via_alias = via_alias;
            snprintf(c->id, sizeof(c->id), "%s", id);
            snprintf(c->path, sizeof(c->path), "%s.%s", section->name, id);
            c->config = calloc(1, d->config_size ? d->config_size : 1);
            if (!c->config)
                return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            cfg->component_count++; /* counted now, so config_free releases a half-bound one */
            if (d->options) {
                rc = options_bind(d->options, value, c->config, c->path, err);
                if (rc < 0) {
                    if (rc != -ENOMEM)
                        error_prefix(err, "cannot unmarshal the configuration");
                    return rc;
                }
            } else if (!json_is_null(value) && json_object_size(value) > 0) {
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "cannot unmarshal the configuration: %s: takes no options",
                                 c->path);
            }
        }
    }
    return 0;
}

static int validate_components(struct config *cfg, struct error *err)
{
    for (size_t i = 0; i < cfg->component_count; i++) {
        struct config_component *c = &cfg->components[i];
        if (!c->descriptor->validate)
            continue;
        struct error local = {0};
        int rc = c->descriptor->validate(c->config, &local);
        if (rc < 0) {
            /* ".sub.key: problem" continues the component's path; anything else follows it */
            return error_set(err, rc, ERROR_PERMANENT, "invalid configuration: %s%s%s", c->path,
                             local.message[0] == '.' ? "" : ": ", local.message);
        }
    }
    return 0;
}

/* ---- decoding: service ---- */

#define SERVICE_IGNORED_MAX 16

/* service:: as bound by the option tables below. Keys upstream accepts that otelcol-ref has no
 * use for are bound into `ignored` (so they are accepted, typed as "any", and freed). */
struct service_section {
    json_t *pipelines;
    struct option_string_list extensions;
    char *logs_level;
    char *metrics_level;
    bool readers_present;
    json_t *readers;
    json_t *ignored[SERVICE_IGNORED_MAX];
};

#define IGNORED(i) (offsetof(struct service_section, ignored) + (i) * sizeof(json_t *))

static const struct option logs_options[] = {
    {OPT_STRING, "level", "info", offsetof(struct service_section, logs_level),
     "minimum level of the collector's own logs (debug, info, warn, error)", 0, NULL, 0},
    {OPT_JSON, "development", NULL, IGNORED(0), "accepted, not used", 0, NULL, 0},
    {OPT_JSON, "encoding", NULL, IGNORED(1), "accepted, not used (logs are logfmt)", 0, NULL, 0},
    {OPT_JSON, "disable_caller", NULL, IGNORED(2), "accepted, not used", 0, NULL, 0},
    {OPT_JSON, "disable_stacktrace", NULL, IGNORED(3), "accepted, not used", 0, NULL, 0},
    {OPT_JSON, "sampling", NULL, IGNORED(4), "accepted, not used", 0, NULL, 0},
    {OPT_JSON, "output_paths", NULL, IGNORED(5), "accepted, not used (stderr)", 0, NULL, 0},
    {OPT_JSON, "error_output_paths", NULL, IGNORED(6), "accepted, not used", 0, NULL, 0},
    {OPT_JSON, "initial_fields", NULL, IGNORED(7), "accepted, not used", 0, NULL, 0},
    {OPT_JSON, "processors", NULL, IGNORED(8), "accepted, not used", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option metrics_options[] = {
    {OPT_STRING, "level", "normal", offsetof(struct service_section, metrics_level),
     "none, basic, normal or detailed", 0, NULL, 0},
    {OPT_JSON, "readers", NULL, offsetof(struct service_section, readers),
     "pull Prometheus readers (default: one on localhost:8888)", OPT_PRESENCE, NULL,
     offsetof(struct service_section, readers_present)},
    {OPT_JSON, "views", NULL, IGNORED(9), "accepted, not used", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option telemetry_options[] = {
    {OPT_OBJECT, "logs", NULL, 0, "the collector's own logs", 0, logs_options, 0},
    {OPT_OBJECT, "metrics", NULL, 0, "the collector's own metrics", 0, metrics_options, 0},
    {OPT_JSON, "traces", NULL, IGNORED(10), "accepted, not used", 0, NULL, 0},
    {OPT_JSON, "resource", NULL, IGNORED(11), "accepted, not used", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option service_options[] = {
    {OPT_JSON, "pipelines", NULL, offsetof(struct service_section, pipelines),
     "pipelines by id (traces, metrics, logs, logs/2 ...)", 0, NULL, 0},
    {OPT_STRING_LIST, "extensions", NULL, offsetof(struct service_section, extensions),
     "extensions to start", 0, NULL, 0},
    {OPT_OBJECT, "telemetry", NULL, 0, "the collector's own telemetry", 0, telemetry_options, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

/* One pull Prometheus exporter (otelconf's Prometheus / prometheus/development). */
struct prometheus_section {
    char *host;
    int64_t port;
    bool without_units, without_type_suffix, without_scope_info, without_target_info;
    json_t *with_resource_constant_labels;
    char *translation_strategy;
};

static const struct option prometheus_options[] = {
    {OPT_STRING, "host", "localhost", offsetof(struct prometheus_section, host),
     "listen host (\"\" or 0.0.0.0 = all interfaces)", 0, NULL, 0},
    {OPT_INT, "port", NULL, offsetof(struct prometheus_section, port), "listen port", OPT_REQUIRED,
     NULL, 0},
    {OPT_BOOL, "without_units", "false", offsetof(struct prometheus_section, without_units),
     "accepted (otelcol-ref's metric names carry no unit suffix)", 0, NULL, 0},
    {OPT_BOOL, "without_type_suffix", "false",
     offsetof(struct prometheus_section, without_type_suffix),
     "false: counters are exposed with a `_total` suffix", 0, NULL, 0},
    {OPT_BOOL, "without_scope_info", "false",
     offsetof(struct prometheus_section, without_scope_info), "accepted, not used", 0, NULL, 0},
    {OPT_BOOL, "without_target_info", "false",
     offsetof(struct prometheus_section, without_target_info), "accepted, not used", 0, NULL, 0},
    {OPT_JSON, "with_resource_constant_labels", NULL,
     offsetof(struct prometheus_section, with_resource_constant_labels), "accepted, not used", 0,
     NULL, 0},
    {OPT_STRING, "translation_strategy", NULL,
     offsetof(struct prometheus_section, translation_strategy),
     "UnderscoreEscapingWithSuffixes, UnderscoreEscapingWithoutSuffixes, ...", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static int decode_prometheus_reader(json_t *exporter, const char *path,
                                    struct config_metrics_reader *reader, struct error *err)
{
    struct prometheus_section p = {0};
    int rc = options_bind(prometheus_options, exporter, &p, path, err);
    if (rc < 0)
        goto fail;
    if (p.port < 0 || p.port > 65535) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "%s.port: %lld is not a valid port", path,
                       (long long)p.port);
        goto fail;
    }
    reader->port = (int)p.port;
    snprintf(reader->host, sizeof(reader->host), "%s", p.host ? p.host : "");
    reader->type_suffix = !p.without_type_suffix;
    if (p.translation_strategy) {
        if (strstr(p.translation_strategy, "WithoutSuffixes") ||
            !strcmp(p.translation_strategy, "NoTranslation"))
            reader->type_suffix = false;
        else if (strstr(p.translation_strategy, "WithSuffixes"))
            reader->type_suffix = true;
        else
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "%s.translation_strategy: unknown strategy \"%s\"", path,
                           p.translation_strategy);
    }
fail:
    options_free(prometheus_options, &p);
    return rc;
}

/* The OTel config-model fields of one reader that are known here (others are errors). */
static int check_keys(json_t *object, const char *path, const char *const *known, size_t n,
                      struct error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value)
    {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found = found || !strcmp(key, known[i]);
        if (!found)
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: unknown key \"%s\"", path, key);
    }
    return 0;
}

static int decode_readers(const struct service_section *s, struct config_telemetry *t,
                          struct error *err)
{
    static const char *const reader_keys[] = {"pull", "periodic", "cardinality_limits"};
    static const char *const pull_keys[] = {"exporter", "producers", "cardinality_limits"};
    static const char *const exporter_keys[] = {"prometheus", "prometheus/development"};
    const char *base = "service.telemetry.metrics.readers";
    t->reader_count = 0;
    if (!s->readers_present || json_is_null(s->readers)) {
        /* otelconftelemetry's default reader: pull Prometheus on localhost:8888 (the gate
         * telemetry.UseLocalHostAsDefaultMetricsAddress is beta, so on, in 0.144), with
         * without_type_suffix: counters keep their plain names. */
        snprintf(t->readers[0].host, sizeof(t->readers[0].host), "localhost");
        t->readers[0].port = 8888;
        t->readers[0].type_suffix = false;
        t->reader_count = 1;
        return 0;
    }
    if (!json_is_array(s->readers))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected a list", base);
    for (size_t i = 0; i < json_array_size(s->readers); i++) {
        char path[256];
        snprintf(path, sizeof(path), "%s[%zu]", base, i);
        json_t *reader = json_array_get(s->readers, i);
        if (!json_is_object(reader))
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected a mapping", path);
        int rc = check_keys(reader, path, reader_keys, 3, err);
        if (rc < 0)
            return rc;
        json_t *pull = json_object_get(reader, "pull");
        if (!pull) {
            log_warn(NULL,
                     "%s: only pull Prometheus readers are served by otelcol-ref; this "
                     "reader is ignored",
                     path);
            continue;
        }
        char pull_path[300];
        snprintf(pull_path, sizeof(pull_path), "%s.pull", path);
        if (!json_is_object(pull))
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected a mapping", pull_path);
        if ((rc = check_keys(pull, pull_path, pull_keys, 3, err)) < 0)
            return rc;
        json_t *exporter = json_object_get(pull, "exporter");
        char exporter_path[320];
        snprintf(exporter_path, sizeof(exporter_path), "%s.exporter", pull_path);
        if (!json_is_object(exporter))
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: expected a mapping",
                             exporter_path);
        if ((rc = check_keys(exporter, exporter_path, exporter_keys, 2, err)) < 0)
            return rc;
        const char *name =
            json_object_get(exporter, "prometheus") ? "prometheus" : "prometheus/development";
        json_t *prometheus = json_object_get(exporter, name);
        if (!prometheus)
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: no exporter configured",
                             exporter_path);
        if (t->reader_count == CONFIG_MAX_METRICS_READERS)
            return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: at most %d pull readers", base,
                             CONFIG_MAX_METRICS_READERS);
        char prometheus_path[352];
        snprintf(prometheus_path, sizeof(prometheus_path), "%s.%s", exporter_path, name);
        rc = decode_prometheus_reader(prometheus, prometheus_path, &t->readers[t->reader_count],
                                      err);
        if (rc < 0)
            return rc;
        t->reader_count++;
    }
    return 0;
}

static int decode_telemetry(const struct service_section *s, struct config_telemetry *t,
                            struct error *err)
{
    static const struct {
        const char *name;
        enum telemetry_level level;
    } levels[] = {
        {"none", TELEMETRY_NONE},
        {"basic", TELEMETRY_BASIC},
        {"normal", TELEMETRY_NORMAL},
        {"detailed", TELEMETRY_DETAILED},
    };
    bool found = false;
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (s->metrics_level && !strcasecmp(s->metrics_level, levels[i].name)) {
            t->metrics_level = levels[i].level;
            found = true;
        }
    }
    if (!found)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "service.telemetry.metrics.level: unknown metrics level \"%s\"",
                         s->metrics_level ? s->metrics_level : "");
    const char *level = s->logs_level ? s->logs_level : "info";
    /* zap's dpanic/panic/fatal only ever log at error level here */
    if (!strcasecmp(level, "dpanic") || !strcasecmp(level, "panic") || !strcasecmp(level, "fatal"))
        level = "error";
    if (log_parse_level(level, &t->log_level) < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "service.telemetry.logs.level: unrecognized level: \"%s\"", level);
    t->log_level_set = s->logs_level != NULL;
    int rc = decode_readers(s, t, err);
    if (rc < 0)
        return rc;
    if (t->metrics_level != TELEMETRY_NONE && s->readers_present && json_is_array(s->readers) &&
        json_array_size(s->readers) == 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "invalid configuration: service.telemetry: collector telemetry metrics "
                         "reader should exist when metric level is not none");
    return 0;
}

/* ---- decoding: pipelines ---- */

struct pipeline_section {
    struct option_string_list receivers, processors, exporters;
};

static const struct option pipeline_options[] = {
    {OPT_STRING_LIST, "receivers", NULL, offsetof(struct pipeline_section, receivers),
     "receiver ids", 0, NULL, 0},
    {OPT_STRING_LIST, "processors", NULL, offsetof(struct pipeline_section, processors),
     "processor ids, in order", 0, NULL, 0},
    {OPT_STRING_LIST, "exporters", NULL, offsetof(struct pipeline_section, exporters),
     "exporter ids", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct config_component *config_find_component(const struct config *cfg, enum component_kind kind,
                                               const char *id)
{
    for (size_t i = 0; i < cfg->component_count; i++)
        if (cfg->components[i].kind == kind && !strcmp(cfg->components[i].id, id))
            return &cfg->components[i];
    return NULL;
}

static int parse_pipeline_id(const char *id, enum signal *signal, struct error *err)
{
    size_t type_len = strcspn(id, "/");
    /* component.h keeps a processor's pipeline id in 64 bytes */
    if (strlen(id) >= sizeof(((struct component *)0)->pipeline_id))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "cannot unmarshal the configuration: service.pipelines: id \"%.40s...\" "
                         "is too long",
                         id);
    if (type_len == 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "cannot unmarshal the configuration: service.pipelines: %s",
                         *id ? "the part before / should not be empty" : "id must not be empty");
    if (id[type_len] == '/' && !valid_name(id + type_len + 1))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "cannot unmarshal the configuration: service.pipelines: in \"%s\" id: "
                         "the part after / should not be empty or contain spaces",
                         id);
    if (signal_parse(id, signal) < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "cannot unmarshal the configuration: service.pipelines: pipeline \"%s\": "
                         "unknown signal \"%.*s\" (valid values: [logs metrics traces])",
                         id, (int)type_len, id);
    return 0;
}

/* Resolves one list of ids into component pointers (borrowed); an id that names no configured
 * component of `kind` is upstream's "references ... which is not configured" error. */
static int resolve_refs(struct config *cfg, struct config_pipeline *p, enum component_kind kind,
                        const struct option_string_list *ids, struct config_component ***out,
                        size_t *count, struct error *err)
{
    *count = 0;
    *out = calloc(ids->count ? ids->count : 1, sizeof(**out));
    if (!*out)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    for (size_t i = 0; i < ids->count; i++) {
        struct config_component *c = config_find_component(cfg, kind, ids->items[i]);
        if (!c)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "invalid configuration: service.pipelines.%s: references %s \"%s\" "
                             "which is not configured",
                             p->id, component_kind_name(kind), ids->items[i]);
        (*out)[(*count)++] = c;
    }
    return 0;
}

/* Pass 1: the structure of every pipeline (ids, keys, lists), no references yet. */
static int decode_pipelines(json_t *pipelines, struct config *cfg,
                            struct pipeline_section **sections_out, struct error *err)
{
    *sections_out = NULL;
    size_t n = json_is_object(pipelines) ? json_object_size(pipelines) : 0;
    if (pipelines && !json_is_null(pipelines) && !json_is_object(pipelines))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "cannot unmarshal the configuration: service.pipelines: expected a "
                         "mapping");
    cfg->pipelines = calloc(n ? n : 1, sizeof(*cfg->pipelines));
    struct pipeline_section *sections = calloc(n ? n : 1, sizeof(*sections));
    *sections_out = sections;
    if (!cfg->pipelines || !sections)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    if (n == 0)
        return 0;
    const char *id;
    json_t *value;
    json_object_foreach(pipelines, id, value)
    {
        struct config_pipeline *p = &cfg->pipelines[cfg->pipeline_count];
        int rc = parse_pipeline_id(id, &p->signal, err);
        if (rc < 0)
            return rc;
        snprintf(p->id, sizeof(p->id), "%s", id);
        char path[CONFIG_ID_MAX + 32];
        snprintf(path, sizeof(path), "service.pipelines.%s", id);
        struct pipeline_section *section = &sections[cfg->pipeline_count];
        cfg->pipeline_count++;
        rc = options_bind(pipeline_options, value, section, path, err);
        if (rc < 0) {
            if (rc != -ENOMEM)
                error_prefix(err, "cannot unmarshal the configuration");
            return rc;
        }
    }
    return 0;
}

/* service/pipelines/config.go Validate: at least one pipeline, each with a receiver and an
 * exporter, no processor twice. */
static int validate_pipelines(const struct config *cfg, const struct pipeline_section *sections,
                              struct error *err)
{
    if (cfg->pipeline_count == 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "invalid configuration: service.pipelines: service must have at least "
                         "one pipeline");
    for (size_t i = 0; i < cfg->pipeline_count; i++) {
        const struct pipeline_section *s = &sections[i];
        const char *id = cfg->pipelines[i].id;
        if (s->receivers.count == 0)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "invalid configuration: service.pipelines.%s: must have at least one "
                             "receiver",
                             id);
        if (s->exporters.count == 0)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "invalid configuration: service.pipelines.%s: must have at least one "
                             "exporter",
                             id);
        for (size_t a = 0; a < s->processors.count; a++)
            for (size_t b = 0; b < a; b++)
                if (!strcmp(s->processors.items[a], s->processors.items[b]))
                    return error_set(err, -EINVAL, ERROR_PERMANENT,
                                     "invalid configuration: service.pipelines.%s: references "
                                     "processor \"%s\" multiple times",
                                     id, s->processors.items[a]);
    }
    return 0;
}

static size_t count_of_kind(const struct config *cfg, enum component_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->component_count; i++)
        n += cfg->components[i].kind == kind;
    return n;
}

/* otelcol/config.go Validate, its first checks: something is configured at all. */
static int validate_not_empty(const struct config *cfg, struct error *err)
{
    if (cfg->component_count == 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "invalid configuration: empty configuration file");
    if (count_of_kind(cfg, KIND_RECEIVER) == 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "invalid configuration: no receiver configuration specified in config");
    if (count_of_kind(cfg, KIND_EXPORTER) == 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "invalid configuration: no exporter configuration specified in config");
    return 0;
}

/* otelcol/config.go Validate (references), then the graph builder's signal checks. */
static int validate_references(struct config *cfg, const struct pipeline_section *sections,
                               const struct service_section *service, struct error *err)
{
    /* service/extensions/config.go: each listed extension once, each one configured. The list
     * is kept in its order: extensions start in it (and stop in reverse). */
    cfg->extensions =
        calloc(service->extensions.count ? service->extensions.count : 1, sizeof(*cfg->extensions));
    if (!cfg->extensions)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    for (size_t i = 0; i < service->extensions.count; i++) {
        const char *id = service->extensions.items[i];
        for (size_t j = 0; j < i; j++)
            if (!strcmp(service->extensions.items[j], id))
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "invalid configuration: service.extensions: references "
                                 "extension \"%s\" multiple times",
                                 id);
        struct config_component *c = config_find_component(cfg, KIND_EXTENSION, id);
        if (!c)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "invalid configuration: service.extensions: references extension "
                             "\"%s\" which is not configured",
                             id);
        cfg->extensions[cfg->extension_count++] = c;
    }
    for (size_t i = 0; i < cfg->pipeline_count; i++) {
        struct config_pipeline *p = &cfg->pipelines[i];
        const struct pipeline_section *s = &sections[i];
        int rc = resolve_refs(cfg, p, KIND_RECEIVER, &s->receivers, &p->receivers,
                              &p->receiver_count, err);
        if (rc == 0)
            rc = resolve_refs(cfg, p, KIND_PROCESSOR, &s->processors, &p->processors,
                              &p->processor_count, err);
        if (rc == 0)
            rc = resolve_refs(cfg, p, KIND_EXPORTER, &s->exporters, &p->exporters,
                              &p->exporter_count, err);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < cfg->pipeline_count; i++) {
        struct config_pipeline *p = &cfg->pipelines[i];
        unsigned bit = SIGNAL_BIT(p->signal);
        for (size_t r = 0; r < p->receiver_count; r++) {
            if (!(p->receivers[r]->descriptor->signals & bit))
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "failed to create \"%s\" receiver for data type \"%s\": "
                                 "telemetry type is not supported",
                                 p->receivers[r]->id, signal_name(p->signal));
            p->receivers[r]->used_signals |= bit;
        }
        for (size_t r = 0; r < p->processor_count; r++) {
            if (!(p->processors[r]->descriptor->signals & bit))
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "failed to create \"%s\" processor, in pipeline \"%s\": "
                                 "telemetry type is not supported",
                                 p->processors[r]->id, p->id);
            p->processors[r]->used_signals |= bit;
        }
        for (size_t r = 0; r < p->exporter_count; r++) {
            if (!(p->exporters[r]->descriptor->signals & bit))
                return error_set(err, -EINVAL, ERROR_PERMANENT,
                                 "failed to create \"%s\" exporter for data type \"%s\": "
                                 "telemetry type is not supported",
                                 p->exporters[r]->id, signal_name(p->signal));
            p->exporters[r]->used_signals |= bit;
        }
    }
    return 0;
}

static void free_pipeline_sections(struct pipeline_section *sections, size_t n)
{
    if (!sections)
        return;
    for (size_t i = 0; i < n; i++)
        options_free(pipeline_options, &sections[i]);
    free(sections);
}

static size_t count_entries(json_t *tree)
{
    size_t n = 0;
    for (size_t s = 0; s < sizeof(component_sections) / sizeof(component_sections[0]); s++) {
        json_t *entries = json_object_get(tree, component_sections[s].name);
        if (json_is_object(entries))
            n += json_object_size(entries);
    }
    return n;
}

static int check_top_level_keys(json_t *tree, struct error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(tree, key, value)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(top_level_keys) / sizeof(top_level_keys[0]); i++)
            known = known || !strcmp(key, top_level_keys[i]);
        if (!known)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "cannot unmarshal the configuration: unknown key \"%s\" (known keys: "
                             "receivers, processors, exporters, connectors, extensions, service)",
                             key);
    }
    return 0;
}

int config_build(json_t *tree, struct config **out, struct error *err)
{
    *out = NULL;
    int rc;
    struct service_section service = {0};
    struct pipeline_section *sections = NULL;
    size_t section_count = 0;
    json_t *empty = NULL;
    struct config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    if (!tree || json_is_null(tree)) {
        tree = empty = json_object();
        if (!empty) {
            rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            goto fail;
        }
    }
    if (!json_is_object(tree)) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "cannot unmarshal the configuration: expected a mapping at the top level");
        goto fail;
    }
    cfg->tree = json_incref(tree);
    if ((rc = check_top_level_keys(tree, err)) < 0)
        goto fail;
    size_t entries = count_entries(tree);
    cfg->components = calloc(entries ? entries : 1, sizeof(*cfg->components));
    if (!cfg->components) {
        rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        goto fail;
    }
    if ((rc = decode_components(tree, cfg, err)) < 0)
        goto fail;
    rc = options_bind(service_options, json_object_get(tree, "service"), &service, "service", err);
    if (rc < 0) {
        if (rc != -ENOMEM)
            error_prefix(err, "cannot unmarshal the configuration");
        goto fail;
    }
    rc = decode_pipelines(service.pipelines, cfg, &sections, err);
    section_count = cfg->pipeline_count;
    if (rc < 0)
        goto fail;
    if ((rc = validate_components(cfg, err)) < 0)
        goto fail;
    if ((rc = decode_telemetry(&service, &cfg->telemetry, err)) < 0)
        goto fail;
    if ((rc = validate_not_empty(cfg, err)) < 0)
        goto fail;
    if ((rc = validate_pipelines(cfg, sections, err)) < 0)
        goto fail;
    if ((rc = validate_references(cfg, sections, &service, err)) < 0)
        goto fail;
    for (size_t i = 0; i < cfg->component_count; i++) {
        const struct config_component *c = &cfg->components[i];
        if (c->via_alias && c->used_signals) {
            char log_name[CONFIG_ID_MAX + 16];
            snprintf(log_name, sizeof(log_name), "%s/%s", component_kind_name(c->kind), c->id);
            /* service/internal/builders/builders.go, on purpose word for word */
            log_warn(log_name, "\"%s\" alias is deprecated; use \"%s\" instead",
                     c->descriptor->deprecated_alias, c->descriptor->type);
        }
    }
    *out = cfg;
    cfg = NULL;
fail:
    free_pipeline_sections(sections, section_count);
    options_free(service_options, &service);
    json_decref(empty);
    config_free(cfg);
    return rc;
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->component_count; i++) {
        struct config_component *c = &cfg->components[i];
        if (c->config && c->descriptor->options)
            options_free(c->descriptor->options, c->config);
        free(c->config);
    }
    free(cfg->components);
    free(cfg->extensions);
    for (size_t i = 0; i < cfg->pipeline_count; i++) {
        free(cfg->pipelines[i].receivers);
        free(cfg->pipelines[i].processors);
        free(cfg->pipelines[i].exporters);
    }
    free(cfg->pipelines);
    json_decref(cfg->tree);
    free(cfg);
}

/* ---- resolving ---- */

/* Retrieves one --config location: `file:PATH` or a bare path, `env:VAR`, `yaml:TEXT`. */
static int retrieve_location(const char *uri, json_t **out, struct error *err)
{
    *out = NULL;
    int rc;
    struct retrieved r = {0};
    const char *colon = strchr(uri, ':');
    /* upstream: no scheme, or a Windows drive letter, means a file */
    bool is_file = !colon || (colon - uri == 1) || !valid_scheme(uri, (size_t)(colon - uri));
    if (is_file || !strncmp(uri, "file:", 5)) {
        const char *path = is_file ? uri : uri + 5;
        struct yaml_lines *lines = NULL;
        rc = yamljson_load_file(path, out, &lines, err);
        yaml_lines_free(lines);
        if (rc < 0)
            error_prefix(err, "cannot retrieve the configuration");
        return rc;
    }
    rc = retrieve_uri(uri, false, &r, err);
    if (rc < 0) {
        error_prefix(err, "cannot retrieve the configuration");
        return rc;
    }
    *out = r.value;
    r.value = NULL;
    retrieved_clear(&r);
    return 0;
}

static int resolve(json_t *tree, const char *const *sets, size_t set_count, struct config **out,
                   struct error *err)
{
    int rc = 0;
    for (size_t i = 0; i < set_count && rc == 0; i++)
        rc = config_apply_set(tree, sets[i], err);
    if (rc == 0)
        rc = config_expand(tree, err);
    if (rc == 0)
        rc = config_build(tree, out, err);
    return rc;
}

int config_load(const char *const *uris, size_t uri_count, const char *const *sets,
                size_t set_count, struct config **out, struct error *err)
{
    *out = NULL;
    int rc = 0;
    json_t *tree = json_object();
    if (!tree)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    if (uri_count == 0) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "at least one config flag must be provided");
        goto fail;
    }
    for (size_t i = 0; i < uri_count; i++) {
        json_t *document = NULL;
        rc = retrieve_location(uris[i], &document, err);
        if (rc == 0)
            rc = merge_document(tree, document, uris[i], err);
        json_decref(document);
        if (rc < 0)
            goto fail;
    }
    rc = resolve(tree, sets, set_count, out, err);
fail:
    json_decref(tree);
    return rc;
}

int config_load_text(const char *yaml_text, const char *name, const char *const *sets,
                     size_t set_count, struct config **out, struct error *err)
{
    *out = NULL;
    json_t *document = NULL;
    json_t *tree = json_object();
    if (!tree)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    int rc =
        yamljson_parse(yaml_text, strlen(yaml_text), name ? name : "config", &document, NULL, err);
    if (rc == 0)
        rc = merge_document(tree, document, name ? name : "config", err);
    if (rc == 0)
        rc = resolve(tree, sets, set_count, out, err);
    json_decref(document);
    json_decref(tree);
    return rc;
}
