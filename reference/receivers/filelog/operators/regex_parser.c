/*
 * regex_parser.c - the `regex_parser` operator (contrib v0.142 pkg/stanza/operator/parser/regex/
 * {config.go,factory.go,parser.go}, helper/regexp.go): the named groups of an unanchored match
 * become string values merged into parse_to (attributes by default); a group that did not take
 * part gives ""; no match is "regex pattern does not match" and goes to on_error; a non-string
 * value is "type 'T' cannot be parsed as regex". `regex` is required and must have a named
 * group. `cache: {size: N}` keeps the last results per input (direct-mapped here; upstream's is
 * a map with FIFO eviction: only the speed differs, never the result).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator.h"

struct regex_parser_config {
    struct stanza_parser_config parser;
    char *regex;
    struct {
        int64_t size;
    } cache;
};

static const struct option cache_options[] = {
    {OPT_INT, "size", "0", 0, "results kept per distinct input (0 = no cache)", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static const struct option regex_parser_options[] = {
    STANZA_PARSER_OPTIONS(struct regex_parser_config, parser),
    {OPT_STRING, "regex", NULL, offsetof(struct regex_parser_config, regex),
     "RE2 pattern with named groups", 0, NULL, 0},
    {OPT_OBJECT, "cache", NULL, offsetof(struct regex_parser_config, cache), "result cache", 0,
     cache_options, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct cache_slot {
    char *key;
    otlp_anyvalue *map;
};

struct regex_parser {
    struct stanza_parser parser;
    struct stanza_regex *re;
    struct cache_slot *cache;
    size_t cache_size;
};

static void regex_parser_destroy(struct stanza_operator *op)
{
    struct regex_parser *rp = op->impl;
    if (!rp)
        return;
    stanza_parser_release(&rp->parser);
    stanza_regex_free(rp->re);
    for (size_t i = 0; i < rp->cache_size; i++) {
        free(rp->cache[i].key);
        stanza_value_free(rp->cache[i].map);
    }
    free(rp->cache);
    free(rp);
    op->impl = NULL;
}

static int regex_parser_build(struct stanza_operator *op, void *config, const char *path,
                              struct error *err)
{
    struct regex_parser_config *c = config;
    struct regex_parser *rp = calloc(1, sizeof(*rp));
    if (!rp)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    op->impl = rp;
    int rc = stanza_parser_init(op, &rp->parser, &c->parser, path, err);
    if (rc < 0)
        return rc;
    if (!c->regex || !*c->regex)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s: missing required field 'regex'", path);
    if ((rc = stanza_regex_compile(c->regex, &rp->re, err)) < 0)
        return error_prefix(err, "%s: compiling regex", path);
    if (stanza_regex_name_count(rp->re) == 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "%s: no named capture groups in regex pattern (use named capture groups "
                         "like '^(?P<my_key>.*)$' to specify the key name for the parsed field)",
                         path);
    if (c->cache.size < 0 || c->cache.size > 65535)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "%s.cache.size: must be between 0 and 65535 (a uint16)", path);
    if (c->cache.size > 0) {
        if (!(rp->cache = calloc((size_t)c->cache.size, sizeof(*rp->cache))))
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        rp->cache_size = (size_t)c->cache.size;
    }
    return 0;
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int regex_parse(struct stanza_operator *op, const otlp_anyvalue *value,
                       otlp_anyvalue **parsed, struct error *err)
{
    struct regex_parser *rp = op->impl;
    const char *s = stanza_value_str(value);
    if (!s)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "type '%s' cannot be parsed as regex",
                         value->value_case == ANY_KVLIST  ? "map[string]interface {}"
                         : value->value_case == ANY_INT   ? "int64"
                         : value->value_case == ANY_BYTES ? "[]uint8"
                                                          : "<nil>");
    struct cache_slot *slot = NULL;
    if (rp->cache_size) {
        slot = &rp->cache[hash(s) % rp->cache_size];
        if (slot->key && !strcmp(slot->key, s)) {
            *parsed = stanza_value_clone(slot->map);
            return *parsed ? 0 : error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
        }
    }
    otlp_anyvalue *map = stanza_value_map();
    if (!map)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    int rc = stanza_regex_match_values(rp->re, s, strlen(s), &map->kvlist_value->values,
                                       &map->kvlist_value->n_values);
    if (rc < 0) {
        stanza_value_free(map);
        return error_set(err, rc, ERROR_PERMANENT, "%s",
                         rc == -ENOENT ? "regex pattern does not match" : "out of memory");
    }
    if (slot) {
        otlp_anyvalue *copy = stanza_value_clone(map);
        char *key = strdup(s);
        if (copy && key) {
            free(slot->key);
            stanza_value_free(slot->map);
            slot->key = key;
            slot->map = copy;
        } else {
            free(key);
            stanza_value_free(copy);
        }
    }
    *parsed = map;
    return 0;
}

static void regex_parser_process(struct stanza_operator *op, struct stanza_entry *e)
{
    struct regex_parser *rp = op->impl;
    stanza_parser_process(op, &rp->parser, e, regex_parse);
}

const struct stanza_operator_type stanza_regex_parser_operator = {
    .type = "regex_parser",
    .options = regex_parser_options,
    .config_size = sizeof(struct regex_parser_config),
    .build = regex_parser_build,
    .process = regex_parser_process,
    .destroy = regex_parser_destroy,
};
