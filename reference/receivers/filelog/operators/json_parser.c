/*
 * json_parser.c - the `json_parser` operator (contrib v0.142 pkg/stanza/operator/parser/json/
 * {config.go,parser.go}): a string holding a JSON object is parsed and merged into parse_to;
 * numbers become doubles (float64) unless `parse_ints: true`, which keeps integers that fit in
 * int64 as ints; objects become maps, arrays arrays, null an empty value. Anything but a JSON
 * object (or null, which Go decodes into an empty map) is an error for on_error, as is a value
 * that is not a string ("type T cannot be parsed as JSON").
 * Jansson parses; unlike Go it refuses invalid UTF-8 inside strings (an error here, U+FFFD
 * upstream).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator.h"

struct json_parser_config {
    struct stanza_parser_config parser;
    bool parse_ints;
};

static const struct option json_parser_options[] = {
    STANZA_PARSER_OPTIONS(struct json_parser_config, parser),
    {OPT_BOOL, "parse_ints", "false", offsetof(struct json_parser_config, parse_ints),
     "keep integers as ints instead of doubles", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

struct json_parser {
    struct stanza_parser parser;
    bool parse_ints;
};

static void json_parser_destroy(struct stanza_operator *op)
{
    struct json_parser *jp = op->impl;
    if (!jp)
        return;
    stanza_parser_release(&jp->parser);
    free(jp);
    op->impl = NULL;
}

static int json_parser_build(struct stanza_operator *op, void *config, const char *path,
                             struct error *err)
{
    struct json_parser_config *c = config;
    struct json_parser *jp = calloc(1, sizeof(*jp));
    if (!jp)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    op->impl = jp;
    jp->parse_ints = c->parse_ints;
    return stanza_parser_init(op, &jp->parser, &c->parser, path, err);
}

int stanza_json_parse_object(const char *text, size_t len, bool parse_ints, otlp_anyvalue **parsed,
                             struct error *err)
{
    json_error_t jerr;
    size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;
    json_t *doc = json_loadb(text, len, flags | (parse_ints ? 0 : JSON_DECODE_INT_AS_REAL), &jerr);
    if (!doc && parse_ints)
        doc = json_loadb(text, len, flags | JSON_DECODE_INT_AS_REAL, &jerr); /* > int64 */
    if (!doc)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s", jerr.text);
    if (json_is_null(doc)) {
        json_decref(doc);
        *parsed = stanza_value_map();
    } else if (!json_is_object(doc)) {
        const char *kind = json_is_array(doc)     ? "array"
                           : json_is_string(doc)  ? "string"
                           : json_is_boolean(doc) ? "bool"
                                                  : "number";
        json_decref(doc);
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "json: cannot unmarshal %s into Go value of type map[string]interface {}",
                         kind);
    } else {
        *parsed = stanza_value_from_json(doc);
        json_decref(doc);
    }
    return *parsed ? 0 : error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
}

static int json_parse(struct stanza_operator *op, const otlp_anyvalue *value,
                      otlp_anyvalue **parsed, struct error *err)
{
    struct json_parser *jp = op->impl;
    const char *s = stanza_value_str(value);
    if (!s)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "type %s cannot be parsed as JSON",
                         value->value_case == ANY_KVLIST ? "map[string]interface {}"
                         : value->value_case == ANY_INT  ? "int64"
                                                         : "<nil>");
    return stanza_json_parse_object(s, strlen(s), jp->parse_ints, parsed, err);
}

static void json_parser_process(struct stanza_operator *op, struct stanza_entry *e)
{
    struct json_parser *jp = op->impl;
    stanza_parser_process(op, &jp->parser, e, json_parse);
}

const struct stanza_operator_type stanza_json_parser_operator = {
    .type = "json_parser",
    .options = json_parser_options,
    .config_size = sizeof(struct json_parser_config),
    .build = json_parser_build,
    .process = json_parser_process,
    .destroy = json_parser_destroy,
};
