/*
 * yamljson.c - libyaml document tree -> json_t (see yamljson.h).
 *
 * Scalar typing follows the YAML 1.2 core schema as gopkg.in/yaml.v3 resolves it (its resolve.go):
 * that is what decides whether `port: 0800` or `enabled: yes` is a string or a number in the
 * collector, so it decides here too ("yes"/"no"/"on"/"off" stay strings, as in yaml.v3).
 *
 * Aliases: libyaml's document loader makes an alias another reference to its anchor's node, and
 * the conversion copies the node at every reference, so nine nested anchors each aliased nine
 * times would expand to 9^9 values. yaml.v3 (decode.go, the fix of CVE-2019-11253) stops a
 * decode where alias expansion makes most of the work: after more than 100 values from aliases
 * and 1,000 in all, it fails when the share from aliases passes allowedAliasRatio (99% up to
 * 400,000 values, falling linearly to 10% at 4,000,000), with "document contains excessive
 * aliasing". The same rule applies here; a node met again while converting is an alias.
 */
#include "yamljson.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct line_entry {
    const json_t *container;
    char *key;  /* object member, or NULL for the container itself / an array element */
    long index; /* array element index, or -1 */
    int line;
};

struct yaml_lines {
    char *name;
    struct line_entry *entries;
    size_t count, cap;
};

static int lines_add(struct yaml_lines *lines, const json_t *container, const char *key, long index,
                     int line)
{
    if (!lines)
        return 0;
    if (lines->count == lines->cap) {
        size_t cap = lines->cap ? lines->cap * 2 : 64;
        struct line_entry *grown = realloc(lines->entries, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        lines->entries = grown;
        lines->cap = cap;
    }
    struct line_entry *e = &lines->entries[lines->count];
    e->container = container;
    e->key = key ? strdup(key) : NULL;
    if (key && !e->key)
        return -ENOMEM;
    e->index = index;
    e->line = line;
    lines->count++;
    return 0;
}

static int lines_find(const struct yaml_lines *lines, const json_t *container, const char *key,
                      long index)
{
    if (!lines)
        return 0;
    for (size_t i = 0; i < lines->count; i++) {
        const struct line_entry *e = &lines->entries[i];
        if (e->container != container || e->index != index)
            continue;
        if ((key == NULL) != (e->key == NULL))
            continue;
        if (key && strcmp(key, e->key) != 0)
            continue;
        return e->line;
    }
    return 0;
}

int yaml_lines_of_node(const struct yaml_lines *lines, const json_t *node)
{
    return lines_find(lines, node, NULL, -1);
}

int yaml_lines_of_key(const struct yaml_lines *lines, const json_t *object, const char *key)
{
    return lines_find(lines, object, key, -1);
}

int yaml_lines_of_index(const struct yaml_lines *lines, const json_t *array, size_t index)
{
    return lines_find(lines, array, NULL, (long)index);
}

const char *yaml_lines_name(const struct yaml_lines *lines)
{
    return lines && lines->name ? lines->name : "<yaml>";
}

void yaml_lines_free(struct yaml_lines *lines)
{
    if (!lines)
        return;
    for (size_t i = 0; i < lines->count; i++)
        free(lines->entries[i].key);
    free(lines->entries);
    free(lines->name);
    free(lines);
}

/* ---- scalar typing ---- */

static bool all_digits(const char *s, int base)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s == '_')
            continue;
        if (base == 16 ? !strchr("0123456789abcdefABCDEF", *s) : (*s < '0' || *s >= '0' + base))
            return false;
    }
    return true;
}

static json_t *parse_integer(const char *text)
{
    const char *s = text;
    bool negative = false;
    if (*s == '+' || *s == '-')
        negative = *s++ == '-';
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        base = 8;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        base = 2;
        s += 2;
    }
    if (!all_digits(s, base))
        return NULL;
    char digits[64];
    size_t n = 0;
    for (; *s && n + 1 < sizeof(digits); s++)
        if (*s != '_')
            digits[n++] = *s;
    digits[n] = '\0';
    errno = 0;
    char *end;
    unsigned long long v = strtoull(digits, &end, base);
    if (errno || *end || v > (unsigned long long)INT64_MAX + (negative ? 1u : 0u))
        return NULL; /* too large for an integer: yaml.v3 falls back to float/string */
    return json_integer(negative ? (json_int_t)(0 - v) : (json_int_t)v);
}

static json_t *parse_float(const char *text)
{
    /* .inf and .nan have no JSON number: jansson refuses them, so they stay strings. No config
     * key of this project takes an infinite or NaN number. */
    /* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
    const char *s = text;
    if (*s == '+' || *s == '-')
        s++;
    bool digits = false;
    while (*s >= '0' && *s <= '9') {
        s++;
        digits = true;
    }
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9') {
            s++;
            digits = true;
        }
    }
    if (!digits)
        return NULL;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return NULL;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s)
        return NULL;
    return json_real(strtod(text, NULL));
}

json_t *yamljson_scalar(const char *text)
{
    if (!*text || !strcmp(text, "~") || !strcmp(text, "null") || !strcmp(text, "Null") ||
        !strcmp(text, "NULL"))
        return json_null();
    if (!strcmp(text, "true") || !strcmp(text, "True") || !strcmp(text, "TRUE"))
        return json_true();
    if (!strcmp(text, "false") || !strcmp(text, "False") || !strcmp(text, "FALSE"))
        return json_false();
    json_t *v = parse_integer(text);
    if (!v)
        v = parse_float(text);
    if (!v)
        v = json_string(text);
    return v;
}

/* ---- document conversion ---- */

/* The deepest nesting a document may have (check_depth and convert_node say so past it). */
#define MAX_DEPTH 256

struct converter {
    yaml_document_t *doc;
    struct yaml_lines *lines;
    struct error *err;
    const char *name;
    int depth;
    unsigned char *seen; /* per node of the document: converted once already */
    int alias_depth;     /* > 0 while converting a node reached again (an alias) */
    long decode_count, alias_count;
    unsigned long outer_line; /* the last node's line outside any alias: where one is used */
};

/* yaml.v3's allowedAliasRatio: the share of decoded values that may come from aliases. */
static double allowed_alias_ratio(long decode_count)
{
    const double low = 400000, high = 4000000;
    if (decode_count <= low)
        return 0.99;
    if (decode_count >= high)
        return 0.10;
    return 0.99 - 0.89 * ((double)decode_count - low) / (high - low);
}

/* Counts one value as yaml.v3 counts them; false (with the error set) when the document has
 * passed the alias bound. */
static bool count_value(struct converter *cv)
{
    cv->decode_count++;
    if (cv->alias_depth > 0)
        cv->alias_count++;
    if (cv->alias_count > 100 && cv->decode_count > 1000 &&
        (double)cv->alias_count / (double)cv->decode_count >
            allowed_alias_ratio(cv->decode_count)) {
        error_set(cv->err, -EINVAL, ERROR_PERMANENT,
                  "%s:%lu: document contains excessive aliasing (%ld of the first %ld values "
                  "come from aliases)",
                  cv->name, cv->outer_line, cv->alias_count, cv->decode_count);
        return false;
    }
    return true;
}

static json_t *convert_node(struct converter *cv, yaml_node_t *node);

static int merge_into(json_t *object, json_t *source)
{
    /* `<<` merge: keys already present win over merged ones (YAML merge key semantics). */
    const char *key;
    json_t *value;
    json_object_foreach(source, key, value)
    {
        if (!json_object_get(object, key) && json_object_set(object, key, value) < 0)
            return -ENOMEM;
    }
    return 0;
}

static json_t *convert_mapping(struct converter *cv, yaml_node_t *node)
{
    json_t *merges = NULL;
    json_t *object = json_object();
    if (!object || lines_add(cv->lines, object, NULL, -1, (int)node->start_mark.line + 1) < 0)
        goto oom;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *key_node = yaml_document_get_node(cv->doc, pair->key);
        yaml_node_t *value_node = yaml_document_get_node(cv->doc, pair->value);
        if (!key_node || key_node->type != YAML_SCALAR_NODE) {
            error_set(cv->err, -EINVAL, ERROR_PERMANENT, "%s:%lu: mapping keys must be scalars",
                      cv->name, key_node ? (unsigned long)key_node->start_mark.line + 1 : 0UL);
            goto fail;
        }
        const char *key = (const char *)key_node->data.scalar.value;
        json_t *value = convert_node(cv, value_node);
        if (!value)
            goto fail;
        if (!strcmp(key, "<<") && key_node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
            /* Merged after the explicit keys, which win over merged ones. */
            if (!merges)
                merges = json_array();
            if (!merges || json_array_append_new(merges, value) < 0)
                goto oom;
            continue;
        }
        if (json_object_get(object, key)) {
            error_set(cv->err, -EINVAL, ERROR_PERMANENT,
                      "%s:%lu: mapping key \"%s\" already defined", cv->name,
                      (unsigned long)key_node->start_mark.line + 1, key);
            json_decref(value);
            goto fail;
        }
        if (json_object_set_new(object, key, value) < 0 ||
            lines_add(cv->lines, object, key, -1, (int)key_node->start_mark.line + 1) < 0)
            goto oom;
    }
    size_t m;
    json_t *merge;
    json_array_foreach(merges, m, merge)
    {
        json_t *sources = json_is_array(merge) ? merge : NULL;
        size_t i;
        json_t *source;
        if (json_is_object(merge) && merge_into(object, merge) < 0)
            goto oom;
        json_array_foreach(sources, i, source)
        {
            if (json_is_object(source) && merge_into(object, source) < 0)
                goto oom;
        }
    }
    json_decref(merges);
    return object;
oom:
    error_set(cv->err, -ENOMEM, ERROR_PERMANENT, "out of memory");
fail:
    json_decref(merges);
    json_decref(object);
    return NULL;
}

static json_t *convert_sequence(struct converter *cv, yaml_node_t *node)
{
    json_t *array = json_array();
    if (!array || lines_add(cv->lines, array, NULL, -1, (int)node->start_mark.line + 1) < 0)
        goto oom;
    long index = 0;
    for (yaml_node_item_t *item = node->data.sequence.items.start;
         item < node->data.sequence.items.top; item++, index++) {
        yaml_node_t *child = yaml_document_get_node(cv->doc, *item);
        json_t *value = convert_node(cv, child);
        if (!value)
            goto fail;
        if (json_array_append_new(array, value) < 0 ||
            lines_add(cv->lines, array, NULL, index, child ? (int)child->start_mark.line + 1 : 0) <
                0)
            goto oom;
    }
    return array;
oom:
    error_set(cv->err, -ENOMEM, ERROR_PERMANENT, "out of memory");
fail:
    json_decref(array);
    return NULL;
}

static json_t *convert_node(struct converter *cv, yaml_node_t *node)
{
    if (!node)
        return json_null();
    /* Aliases are resolved by libyaml's document loader into shared nodes; a cycle would recurse
     * forever, so depth is bounded. */
    if (++cv->depth > MAX_DEPTH) {
        error_set(cv->err, -EINVAL, ERROR_PERMANENT, "%s:%lu: nesting too deep (or alias cycle)",
                  cv->name, (unsigned long)node->start_mark.line + 1);
        cv->depth--;
        return NULL;
    }
    size_t index = (size_t)(node - cv->doc->nodes.start);
    bool alias = cv->seen[index];
    cv->seen[index] = 1;
    cv->alias_depth += alias;
    if (cv->alias_depth == 0)
        cv->outer_line = (unsigned long)node->start_mark.line + 1;
    json_t *result = NULL;
    if (!count_value(cv))
        goto done;
    switch (node->type) {
    case YAML_SCALAR_NODE: {
        const char *text = (const char *)node->data.scalar.value;
        /* libyaml gives every untagged scalar the str tag, so only the style tells a plain
         * scalar (typed by content) from a quoted or block one (always a string). */
        if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            result = yamljson_scalar(text);
        else
            result = json_stringn(text, node->data.scalar.length);
        if (!result)
            error_set(cv->err, -EINVAL, ERROR_PERMANENT, "%s:%lu: invalid scalar (not UTF-8?)",
                      cv->name, (unsigned long)node->start_mark.line + 1);
        break;
    }
    case YAML_MAPPING_NODE: result = convert_mapping(cv, node); break;
    case YAML_SEQUENCE_NODE: result = convert_sequence(cv, node); break;
    default: result = json_null();
    }
done:
    cv->alias_depth -= alias;
    cv->depth--;
    return result;
}

/* libyaml's document loader takes time quadratic in the nesting depth (27 s for a 200 kB
 * `a: [[[...]]]` 100,000 deep, 53 s for maps), all spent before convert_node could refuse the
 * depth. So the events are read first, which is linear and stops at the first node past
 * MAX_DEPTH. Returns 0 (also for a syntax error: the loader reports it with its own words), or
 * -EINVAL with the file and line of the node that went too deep. */
static int check_depth(const char *text, size_t len, const char *name, struct error *err)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int depth = 0, rc = 0;
    for (;;) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event))
            break;
        yaml_event_type_t type = event.type;
        unsigned long line = (unsigned long)event.start_mark.line + 1;
        yaml_event_delete(&event);
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > MAX_DEPTH) {
                rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                               "%s:%lu: nesting too deep (or alias cycle)", name, line);
                break;
            }
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (type == YAML_STREAM_END_EVENT) {
            break;
        }
    }
    yaml_parser_delete(&parser);
    return rc;
}

int yamljson_parse(const char *text, size_t len, const char *name, json_t **out,
                   struct yaml_lines **lines_out, struct error *err)
{
    if (!name)
        name = "<yaml>";
    *out = NULL;
    if (lines_out)
        *lines_out = NULL;
    int depth_rc = check_depth(text, len, name, err);
    if (depth_rc < 0)
        return depth_rc;
    struct yaml_lines *lines = NULL;
    if (lines_out) {
        lines = calloc(1, sizeof(*lines));
        if (!lines || !(lines->name = strdup(name))) {
            free(lines);
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        }
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        yaml_lines_free(lines);
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    json_t *documents = json_array();
    int rc = documents ? 0 : error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    while (rc == 0) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT, "%s:%lu:%lu: %s%s%s", name,
                           (unsigned long)parser.problem_mark.line + 1,
                           (unsigned long)parser.problem_mark.column + 1,
                           parser.problem ? parser.problem : "invalid YAML",
                           parser.context ? " " : "", parser.context ? parser.context : "");
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (!root) {
            yaml_document_delete(&doc);
            break; /* end of stream */
        }
        struct converter cv = {&doc, lines, err, name, 0, NULL, 0, 0, 0, 0};
        size_t nodes = (size_t)(doc.nodes.top - doc.nodes.start);
        json_t *value = NULL;
        if (!(cv.seen = calloc(nodes ? nodes : 1, 1)))
            error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        else
            value = convert_node(&cv, root);
        free(cv.seen);
        yaml_document_delete(&doc);
        if (!value) {
            rc = err && err->code ? err->code : -EINVAL;
            break;
        }
        if (json_array_append_new(documents, value) < 0)
            rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    yaml_parser_delete(&parser);
    if (rc < 0) {
        json_decref(documents);
        yaml_lines_free(lines);
        return rc;
    }
    size_t count = json_array_size(documents);
    if (count == 1) {
        *out = json_incref(json_array_get(documents, 0));
        json_decref(documents);
    } else if (count == 0) {
        *out = json_null();
        json_decref(documents);
    } else {
        *out = documents;
    }
    if (lines_out)
        *lines_out = lines;
    return 0;
}

int yamljson_load_file(const char *path, json_t **out, struct yaml_lines **lines, struct error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(err, -errno, ERROR_PERMANENT, "cannot read %s: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len + 4096 > cap) {
            size_t want = cap ? cap * 2 : 8192;
            if (want > 64u * 1024 * 1024) {
                rc = error_set(err, -EFBIG, ERROR_PERMANENT, "%s: file larger than 64 MiB", path);
                break;
            }
            char *grown = realloc(text, want);
            if (!grown) {
                rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
                break;
            }
            text = grown;
            cap = want;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = error_set(err, -EIO, ERROR_PERMANENT, "cannot read %s", path);
    fclose(f);
    if (rc == 0)
        rc = yamljson_parse(text ? text : "", len, path, out, lines, err);
    free(text);
    return rc;
}
