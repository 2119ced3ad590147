/*
 * severity_parser.c - the `severity_parser` operator (contrib v0.142 pkg/stanza/operator/parser/
 * severity/config.go): a transformer around helper/severity.go with its keys at the top level
 * (parse_from, preset, mapping, overwrite_text). A parse error goes to on_error.
 */
#include <errno.h>
#include <stdlib.h>

#include "operator.h"

struct severity_parser_config {
    struct stanza_transformer_config transformer;
    struct stanza_severity_config severity;
};

static const struct option severity_parser_options[] = {
    STANZA_TRANSFORMER_OPTIONS(struct severity_parser_config, transformer),
    {OPT_STRING, "parse_from", NULL, offsetof(struct severity_parser_config, severity.parse_from),
     "field holding the severity", 0, NULL, 0},
    {OPT_STRING, "preset", "default", offsetof(struct severity_parser_config, severity.preset),
     "built-in mapping: default, otel (aliases) or none", 0, NULL, 0},
    {OPT_JSON, "mapping", NULL, offsetof(struct severity_parser_config, severity.mapping),
     "severity name -> value(s)", 0, NULL, 0},
    {OPT_BOOL, "overwrite_text", "false",
     offsetof(struct severity_parser_config, severity.overwrite_text),
     "set the severity text to the level name", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static void severity_parser_destroy(struct stanza_operator *op)
{
    stanza_severity_parser_free(op->impl);
    op->impl = NULL;
}

static int severity_parser_build(struct stanza_operator *op, void *config, const char *path,
                                 struct error *err)
{
    struct severity_parser_config *c = config;
    int rc = stanza_transformer_init(op, &c->transformer, path, err);
    if (rc < 0)
        return rc;
    struct stanza_severity_parser *sp;
    if ((rc = stanza_severity_parser_build(&c->severity, &sp, err)) < 0)
        return error_prefix(err, "%s", path);
    op->impl = sp;
    return 0;
}

static int severity_transform(struct stanza_operator *op, struct stanza_entry *e, struct error *err)
{
    return stanza_severity_parser_parse(op->impl, e, err);
}

static void severity_parser_process(struct stanza_operator *op, struct stanza_entry *e)
{
    stanza_transformer_process(op, e, severity_transform);
}

const struct stanza_operator_type stanza_severity_parser_operator = {
    .type = "severity_parser",
    .options = severity_parser_options,
    .config_size = sizeof(struct severity_parser_config),
    .build = severity_parser_build,
    .process = severity_parser_process,
    .destroy = severity_parser_destroy,
};
