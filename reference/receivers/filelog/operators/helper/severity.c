/*
 * severity.c - the severity parser of pkg/stanza (contrib v0.142 operator/helper/
 * {severity.go,severity_builder.go}, entry/severity.go): the built-in mappings ("none",
 * "otel"/"aliases", and the default one that adds warning*, err*), the user `mapping` (strings,
 * lists, 2xx..5xx, {min, max} ranges; keys are severity names, unknown names mean DEFAULT),
 * lookups by lower-cased text, whole float64 numbers as text, `overwrite_text`.
 *
 * On purpose as upstream: an int64 value (json_parser with parse_ints) is "type int64 cannot be
 * a severity" (upstream's find only takes int, float64, string and []byte); the severity text is
 * the original value, not the lower-cased key. Severity numbers are OTLP's (entry.Severity and
 * plog.SeverityNumber share 0..24).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../operator.h"

#define SEVERITY_MAX_KEYS 4096 /* bounds user ranges such as {min: 0, max: 1000000} */
#define SEVERITY_KEY_MAX 64

struct severity_key {
    char key[SEVERITY_KEY_MAX];
    int severity;
};

struct stanza_severity_parser {
    struct stanza_field parse_from;
    struct severity_key *keys;
    size_t n_keys, cap;
    bool overwrite_text;
};

static const char *const level_names[] = {
    "DEFAULT", "TRACE",  "TRACE2", "TRACE3", "TRACE4", "DEBUG",  "DEBUG2", "DEBUG3", "DEBUG4",
    "INFO",    "INFO2",  "INFO3",  "INFO4",  "WARN",   "WARN2",  "WARN3",  "WARN4",  "ERROR",
    "ERROR2",  "ERROR3", "ERROR4", "FATAL",  "FATAL2", "FATAL3", "FATAL4"};

static int add_key(struct stanza_severity_parser *sp, const char *key, size_t len, int severity)
{
    char lower[SEVERITY_KEY_MAX];
    if (len >= sizeof(lower))
        len = sizeof(lower) - 1;
    for (size_t i = 0; i < len; i++)
        lower[i] = (char)tolower((unsigned char)key[i]);
    lower[len] = '\0';
    for (size_t i = 0; i < sp->n_keys; i++)
        if (!strcmp(sp->keys[i].key, lower)) {
            sp->keys[i].severity = severity;
            return 0;
        }
    if (sp->n_keys == SEVERITY_MAX_KEYS)
        return -E2BIG;
    if (sp->n_keys == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 64;
        struct severity_key *grown = realloc(sp->keys, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        sp->keys = grown;
        sp->cap = cap;
    }
    memcpy(sp->keys[sp->n_keys].key, lower, len + 1);
    sp->keys[sp->n_keys++].severity = severity;
    return 0;
}

static int add_aliases(struct stanza_severity_parser *sp)
{
    static const char *const names[] = {"trace", "debug", "info", "warn", "error", "fatal"};
    char key[16];
    for (int level = 1; level <= 24; level++) {
        int base = (level - 1) / 4, step = (level - 1) % 4;
        snprintf(key, sizeof(key), step ? "%s%d" : "%s", names[base], step + 1);
        int rc = add_key(sp, key, strlen(key), level);
        snprintf(key, sizeof(key), "%d", level);
        if (rc < 0 || (rc = add_key(sp, key, strlen(key), level)) < 0)
            return rc;
    }
    return 0;
}

static int find_key(const struct stanza_severity_parser *sp, const char *text, size_t len)
{
    if (len >= SEVERITY_KEY_MAX)
        return -1;
    for (size_t i = 0; i < sp->n_keys; i++) {
        const char *k = sp->keys[i].key;
        if (strlen(k) == len && !strncasecmp(k, text, len))
            return sp->keys[i].severity;
    }
    return -1;
}

static int add_range(struct stanza_severity_parser *sp, long long lo, long long hi, int severity)
{
    char key[32];
    if (lo > hi) {
        long long t = lo;
        lo = hi;
        hi = t;
    }
    if (hi - lo >= SEVERITY_MAX_KEYS)
        return -E2BIG;
    for (long long i = lo; i <= hi; i++) {
        snprintf(key, sizeof(key), "%lld", i);
        int rc = add_key(sp, key, strlen(key), severity);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* parseableValues for one mapped value. */
static int add_value(struct stanza_severity_parser *sp, const json_t *v, int severity,
                     struct error *err)
{
    char key[32];
    if (json_is_integer(v)) {
        snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(v));
        return add_key(sp, key, strlen(key), severity);
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strlen(s) == 3 && s[0] >= '2' && s[0] <= '5' && !strcmp(s + 1, "xx"))
            return add_range(sp, (s[0] - '0') * 100, (s[0] - '0') * 100 + 99, severity);
        return add_key(sp, s, strlen(s), severity);
    }
    if (json_is_object(v)) {
        json_t *lo = json_object_get(v, "min"), *hi = json_object_get(v, "max");
        if (json_is_integer(lo) && json_is_integer(hi))
            return add_range(sp, json_integer_value(lo), json_integer_value(hi), severity);
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "type map[string]interface {} cannot be parsed as a severity");
    }
    return error_set(err, -EINVAL, ERROR_PERMANENT, "type %s cannot be parsed as a severity",
                     json_is_real(v)      ? "float64"
                     : json_is_boolean(v) ? "bool"
                                          : "<nil>");
}

void stanza_severity_parser_free(struct stanza_severity_parser *sp)
{
    if (!sp)
        return;
    stanza_field_release(&sp->parse_from);
    free(sp->keys);
    free(sp);
}

int stanza_severity_parser_build(const struct stanza_severity_config *c,
                                 struct stanza_severity_parser **out, struct error *err)
{
    struct stanza_severity_parser *sp = calloc(1, sizeof(*sp));
    int rc = -ENOMEM;
    *out = NULL;
    if (!sp)
        goto fail;
    const char *preset = c->preset ? c->preset : "";
    if (strcmp(preset, "none")) {
        if ((rc = add_aliases(sp)) < 0)
            goto fail;
        if (strcmp(preset, "otel") && strcmp(preset, "aliases")) {
            static const char *const extra[] = {"warning", "warning2", "warning3", "warning4",
                                                "err",     "err2",     "err3",     "err4"};
            for (int i = 0; i < 8; i++)
                if ((rc = add_key(sp, extra[i], strlen(extra[i]), (i < 4 ? 13 : 17) + i % 4)) < 0)
                    goto fail;
        }
    }
    if (c->mapping && !json_is_null(c->mapping)) {
        if (!json_is_object(c->mapping)) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT, "severity.mapping: expected a mapping");
            goto fail;
        }
        /* validateSeverity: the key is looked up in the alias table; unknown means DEFAULT */
        struct stanza_severity_parser aliases = {0};
        if ((rc = add_aliases(&aliases)) < 0) {
            free(aliases.keys);
            goto fail;
        }
        const char *name;
        json_t *value;
        json_object_foreach(c->mapping, name, value)
        {
            int sev = find_key(&aliases, name, strlen(name));
            if (sev < 0)
                sev = 0;
            if (json_is_array(value)) {
                size_t i;
                json_t *item;
                json_array_foreach(value, i, item)
                {
                    if ((rc = add_value(sp, item, sev, err)) < 0)
                        break;
                }
            } else {
                rc = add_value(sp, value, sev, err);
            }
            if (rc < 0) {
                free(aliases.keys);
                goto fail;
            }
        }
        free(aliases.keys);
    }
    if (!c->parse_from) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "missing required field 'parse_from'");
        goto fail;
    }
    if ((rc = stanza_field_parse_strict(c->parse_from, &sp->parse_from, err)) < 0)
        goto fail;
    sp->overwrite_text = c->overwrite_text;
    *out = sp;
    return 0;
fail:
    if (rc == -ENOMEM)
        error_set(err, rc, ERROR_PERMANENT, "out of memory");
    else if (rc == -E2BIG)
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "severity mapping too large (over %d keys)",
                       SEVERITY_MAX_KEYS);
    stanza_severity_parser_free(sp);
    return rc;
}

int stanza_severity_parser_parse(struct stanza_severity_parser *sp, struct stanza_entry *e,
                                 struct error *err)
{
    const otlp_anyvalue *v = stanza_field_get(e, &sp->parse_from);
    char buf[32];
    const char *text;
    size_t len;
    if (!v) {
        char name[256];
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "log entry does not have the expected parse_from field (parse_from: %s)",
                         stanza_field_string(&sp->parse_from, name, sizeof(name)));
    }
    switch (v->value_case) {
    case ANY_STRING: text = v->string_value, len = strlen(text); break;
    case ANY_BYTES: text = (const char *)v->bytes_value.data, len = v->bytes_value.len; break;
    case ANY_DOUBLE:
        if (v->double_value != trunc(v->double_value) || fabs(v->double_value) > 9e18)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "parse: type float64 cannot be a severity unless it is a whole "
                             "number");
        snprintf(buf, sizeof(buf), "%lld", (long long)v->double_value);
        text = buf, len = strlen(buf);
        break;
    default:
        return error_set(err, -EINVAL, ERROR_PERMANENT, "parse: type %s cannot be a severity",
                         v->value_case == ANY_INT      ? "int64"
                         : v->value_case == ANY_BOOL   ? "bool"
                         : v->value_case == ANY_KVLIST ? "map[string]interface {}"
                                                       : "<nil>");
    }
    int sev = find_key(sp, text, len);
    if (sev < 0)
        sev = 0;
    char *copy = pdata_alloc(len + 1);
    if (!copy)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    if (sp->overwrite_text && sev != 0) {
        pdata_free(copy);
        if (stanza_entry_set_severity_text(e, level_names[sev]) < 0)
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    } else {
        memcpy(copy, text, len);
        copy[len] = '\0';
        if (e->record->severity_text && e->record->severity_text != protobuf_c_empty_string)
            pdata_free(e->record->severity_text);
        e->record->severity_text = copy;
    }
    e->record->severity_number = (Opentelemetry__Proto__Logs__V1__SeverityNumber)sev;
    return 0;
}

const struct option stanza_severity_options[] = {
    {OPT_STRING, "parse_from", NULL, offsetof(struct stanza_severity_config, parse_from),
     "field holding the severity", 0, NULL, 0},
    {OPT_STRING, "preset", "default", offsetof(struct stanza_severity_config, preset),
     "built-in mapping: default, otel (aliases) or none", 0, NULL, 0},
    {OPT_JSON, "mapping", NULL, offsetof(struct stanza_severity_config, mapping),
     "severity name -> value(s), 2xx..5xx or {min, max}", 0, NULL, 0},
    {OPT_BOOL, "overwrite_text", "false", offsetof(struct stanza_severity_config, overwrite_text),
     "set the severity text to the level name", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};
