/*
 * parser.c - what every parser operator shares (contrib v0.142 pkg/stanza/operator/helper/
 * parser.go ParserConfig / ParserOperator): parse_from (default body), parse_to (default
 * attributes; parsed maps merge into it, keys overwritten, the body untouched), `body`, the
 * embedded `timestamp:` and `severity:` blocks, and the order of failure handling: a missing
 * parse_from field, a parse error and a parse_to error each go to on_error at once; time and
 * severity errors are handled after both were tried, the parsed values staying in place.
 * Not done: the `trace` and `scope_name` blocks (a build error says so; an entry here has no
 * scope name to set).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../operator.h"

void stanza_parser_release(struct stanza_parser *p)
{
    stanza_field_release(&p->parse_from);
    stanza_field_release(&p->parse_to);
    stanza_field_release(&p->body);
    stanza_time_parser_free(p->time);
    stanza_severity_parser_free(p->severity);
    memset(p, 0, sizeof(*p));
}

int stanza_parser_init(struct stanza_operator *op, struct stanza_parser *p,
                       const struct stanza_parser_config *c, const char *path, struct error *err)
{
    int rc = stanza_transformer_init(op, &c->transformer, path, err);
    if (rc < 0)
        return rc;
    if (c->trace && !json_is_null(c->trace))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "%s.trace: not supported by otelcol-ref",
                         path);
    if (c->scope_name && !json_is_null(c->scope_name))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "%s.scope_name: not supported by otelcol-ref", path);
    if ((rc = stanza_field_parse_strict(c->parse_from, &p->parse_from, err)) < 0)
        return error_prefix(err, "%s.parse_from", path);
    if ((rc = stanza_field_parse(c->parse_to, &p->parse_to, err)) < 0)
        return error_prefix(err, "%s.parse_to", path);
    if (c->body) {
        if ((rc = stanza_field_parse_strict(c->body, &p->body, err)) < 0)
            return error_prefix(err, "%s.body", path);
        p->has_body = true;
        if (p->parse_to.root == STANZA_FIELD_BODY && p->parse_to.n_keys == 0)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "%s: `parse_to: body` not allowed when `body` is configured", path);
    }
    if (c->has_timestamp && (rc = stanza_time_parser_build(&c->timestamp, &p->time, err)) < 0)
        return error_prefix(err, "%s.timestamp", path);
    if (c->has_severity && (rc = stanza_severity_parser_build(&c->severity, &p->severity, err)) < 0)
        return error_prefix(err, "%s.severity", path);
    return 0;
}

int stanza_parser_parse_with(struct stanza_operator *op, struct stanza_parser *p,
                             struct stanza_entry *e, stanza_parse_fn parse)
{
    struct error err;
    char name[256];
    const otlp_anyvalue *value = stanza_field_get(e, &p->parse_from);
    if (!value) {
        snprintf(err.message, sizeof(err.message),
                 "Entry is missing the expected parse_from field. (parse_from: %s)",
                 stanza_field_string(&p->parse_from, name, sizeof(name)));
        stanza_operator_handle_error(op, e, err.message);
        return -EINVAL;
    }
    otlp_anyvalue *parsed = NULL;
    int rc = parse(op, value, &parsed, &err);
    if (rc < 0) {
        stanza_operator_handle_error(op, e, err.message);
        return rc;
    }
    if ((rc = stanza_field_set(e, &p->parse_to, parsed)) < 0) {
        stanza_operator_handle_error(op, e,
                                     rc == -ENOMEM ? "set parse_to: out of memory"
                                                   : "set parse_to: cannot set attributes root");
        return rc;
    }
    if (p->has_body) {
        const otlp_anyvalue *b = stanza_field_get(e, &p->body);
        if (b) {
            otlp_anyvalue *copy = stanza_value_clone(b);
            if (!copy) {
                stanza_operator_handle_error(op, e, "out of memory");
                return -ENOMEM;
            }
            stanza_value_free(e->record->body);
            e->record->body = copy;
        }
    }
    struct error time_err, sev_err;
    int time_rc = p->time ? stanza_time_parser_parse(p->time, e, &time_err) : 0;
    int sev_rc = p->severity ? stanza_severity_parser_parse(p->severity, e, &sev_err) : 0;
    if (time_rc < 0 || sev_rc < 0) {
        char msg[ERROR_MESSAGE_MAX + 32];
        snprintf(msg, sizeof(msg), "%s: %s", time_rc < 0 ? "time parser" : "severity parser",
                 time_rc < 0 ? time_err.message : sev_err.message);
        stanza_operator_handle_error(op, e, msg);
        return -EINVAL;
    }
    return 0;
}

void stanza_parser_process(struct stanza_operator *op, struct stanza_parser *p,
                           struct stanza_entry *e, stanza_parse_fn parse)
{
    struct error err;
    int skip = stanza_operator_skip(op, e, &err);
    if (skip < 0) {
        stanza_operator_handle_error(op, e, err.message);
        return;
    }
    if (skip) {
        stanza_operator_write(op, e);
        return;
    }
    if (stanza_parser_parse_with(op, p, e, parse) < 0)
        return;
    stanza_operator_write(op, e);
}
