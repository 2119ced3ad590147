/*
 * time_parser.c - the `time_parser` operator (contrib v0.142 pkg/stanza/operator/parser/time/
 * config.go): a transformer whose whole job is the timestamp block of helper/time.go, with the
 * same keys at the top level (parse_from, layout, layout_type, location). The source field is
 * left in place; a parse error goes to on_error.
 */
#include <errno.h>
#include <stdlib.h>

#include "operator.h"

struct time_parser_config {
    struct stanza_transformer_config transformer;
    struct stanza_time_config time;
};

static const struct option time_parser_options[] = {
    STANZA_TRANSFORMER_OPTIONS(struct time_parser_config, transformer),
    {OPT_STRING, "parse_from", NULL, offsetof(struct time_parser_config, time.parse_from),
     "field holding the time", 0, NULL, 0},
    {OPT_STRING, "layout", NULL, offsetof(struct time_parser_config, time.layout), "time layout", 0,
     NULL, 0},
    {OPT_STRING, "layout_type", "strptime", offsetof(struct time_parser_config, time.layout_type),
     "strptime, gotime, epoch or native", 0, NULL, 0},
    {OPT_STRING, "location", NULL, offsetof(struct time_parser_config, time.location),
     "IANA time zone for values without an offset", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static void time_parser_destroy(struct stanza_operator *op)
{
    stanza_time_parser_free(op->impl);
    op->impl = NULL;
}

static int time_parser_build(struct stanza_operator *op, void *config, const char *path,
                             struct error *err)
{
    struct time_parser_config *c = config;
    int rc = stanza_transformer_init(op, &c->transformer, path, err);
    if (rc < 0)
        return rc;
    struct stanza_time_parser *tp;
    if ((rc = stanza_time_parser_build(&c->time, &tp, err)) < 0)
        return error_prefix(err, "%s", path);
    op->impl = tp;
    return 0;
}

static int time_transform(struct stanza_operator *op, struct stanza_entry *e, struct error *err)
{
    return stanza_time_parser_parse(op->impl, e, err);
}

static void time_parser_process(struct stanza_operator *op, struct stanza_entry *e)
{
    stanza_transformer_process(op, e, time_transform);
}

const struct stanza_operator_type stanza_time_parser_operator = {
    .type = "time_parser",
    .options = time_parser_options,
    .config_size = sizeof(struct time_parser_config),
    .build = time_parser_build,
    .process = time_parser_process,
    .destroy = time_parser_destroy,
};
