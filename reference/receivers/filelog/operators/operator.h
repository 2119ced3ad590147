/*
 * operator.h - the inside of the filelog operator pipeline (pkg/stanza in contrib v0.142):
 * value helpers on pdata AnyValues, the operator descriptor every operator file defines, the
 * shared parts of operator configs (writer / transformer / parser, as upstream's
 * operator/helper/{writer,transformer,parser}.go), and the helpers the parsers share (regexp,
 * timestamp, severity, on_error handling).
 *
 * Only files of the filelog stanza pipeline include this header; the receiver uses stanza.h.
 * Threading: a pipeline is driven by one caller at a time (stanza.h), so operators keep scratch
 * state (PCRE2 match data, buffers) without locks.
 */
#ifndef OTEL_REF_FILELOG_OPERATOR_H
#define OTEL_REF_FILELOG_OPERATOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../expr.h"
#include "../stanza.h"
#include "error.h"
#include "options.h"
#include "pdata.h"

/* ---- AnyValue helpers (stanza_entry.c) ---- */

#define ANY_CASE(name) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##name
#define ANY_STRING ANY_CASE(STRING_VALUE)
#define ANY_BOOL ANY_CASE(BOOL_VALUE)
#define ANY_INT ANY_CASE(INT_VALUE)
#define ANY_DOUBLE ANY_CASE(DOUBLE_VALUE)
#define ANY_ARRAY ANY_CASE(ARRAY_VALUE)
#define ANY_KVLIST ANY_CASE(KVLIST_VALUE)
#define ANY_BYTES ANY_CASE(BYTES_VALUE)
#define ANY_NOT_SET OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET

typedef Opentelemetry__Proto__Common__V1__KeyValueList otlp_kvlist;
typedef Opentelemetry__Proto__Common__V1__ArrayValue otlp_array;

/* New pdata AnyValues; NULL on ENOMEM. Caller owns (stanza_value_free). The _n variant copies
 * `len` bytes of `s` (which need not be NUL-terminated). An empty map is an empty kvlist. */
otlp_anyvalue *stanza_value_string(const char *s);
otlp_anyvalue *stanza_value_string_n(const char *s, size_t len);
/* Takes `s` (pdata-allocated) on success; on failure `s` is still the caller's. */
otlp_anyvalue *stanza_value_string_take(char *s);
otlp_anyvalue *stanza_value_int(int64_t v);
otlp_anyvalue *stanza_value_double(double v);
otlp_anyvalue *stanza_value_bool(bool v);
otlp_anyvalue *stanza_value_nil(void);
otlp_anyvalue *stanza_value_map(void);
otlp_anyvalue *stanza_value_array(void);
/* Deep copy; NULL on ENOMEM (a NULL `v` gives a nil value). */
otlp_anyvalue *stanza_value_clone(const otlp_anyvalue *v);
/* Converts a JSON value (a config value or a parsed document) into a new AnyValue: objects become
 * kvlists, arrays arrays, integers ints, reals doubles, null an empty value. NULL on ENOMEM. */
otlp_anyvalue *stanza_value_from_json(const json_t *j);
void stanza_value_free(otlp_anyvalue *v);
/* True for a kvlist value (upstream's map[string]any). */
bool stanza_value_is_map(const otlp_anyvalue *v);
/* String of a string value, else NULL. Borrowed. */
const char *stanza_value_str(const otlp_anyvalue *v);

/* KeyValue arrays (attributes, resource, kvlists): upsert takes `value` (freed on failure);
 * 0 or -ENOMEM. */
int stanza_kv_upsert(otlp_keyvalue ***kvs, size_t *n, const char *key, otlp_anyvalue *value);
/* Same with a key that is not NUL-terminated. */
int stanza_kv_upsert_n(otlp_keyvalue ***kvs, size_t *n, const char *key, size_t key_len,
                       otlp_anyvalue *value);
/* A new KeyValue holding `value` (taken only on success). NULL on ENOMEM. */
otlp_keyvalue *stanza_kv_new(const char *key, size_t key_len, otlp_anyvalue *value);
otlp_anyvalue *stanza_kv_get(otlp_keyvalue *const *kvs, size_t n, const char *key);
/* Removes `key`, handing its value to the caller (NULL when absent). */
otlp_anyvalue *stanza_kv_take(otlp_keyvalue ***kvs, size_t *n, const char *key);
void stanza_kv_free_all(otlp_keyvalue ***kvs, size_t *n);
/* Moves every entry of the map `from` (taken) into kvs, overwriting keys; 0 or -ENOMEM. */
int stanza_kv_merge_map(otlp_keyvalue ***kvs, size_t *n, otlp_anyvalue *from);

/* Upstream's entry.Field.String() ("attributes.x", "attributes['log.file.path']", "body").
 * Writes into `buf` (truncated). */
const char *stanza_field_string(const struct stanza_field *f, char *buf, size_t size);
/* stanza_field_parse, but `attributes` and `resource` alone are rejected as upstream's Field
 * (not RootableField) does: "attributes cannot be referenced without subfield". */
int stanza_field_parse_strict(const char *text, struct stanza_field *out, struct error *err);
/* Deep copy of an entry; NULL on ENOMEM. */
struct stanza_entry *stanza_entry_clone(const struct stanza_entry *e);
/* Sets the severity text (copied). 0 or -ENOMEM. */
int stanza_entry_set_severity_text(struct stanza_entry *e, const char *text);

/* ---- operators ---- */

struct stanza_operator;
struct stanza_pipeline;

/* Writer part of every config (helper.WriterConfig): keys `type`, `id`, `output`. */
struct stanza_writer_config {
    char *type;
    char *id;
    json_t *output; /* a string or a list of strings */
};

/* Transformer part (helper.TransformerConfig): `on_error` (default send) and `if`. */
struct stanza_transformer_config {
    struct stanza_writer_config writer;
    char *on_error;
    char *if_expr;
};

struct stanza_time_config {
    char *parse_from;
    char *layout;
    char *layout_type;
    char *location;
};

struct stanza_severity_config {
    char *parse_from;
    char *preset;
    json_t *mapping;
    bool overwrite_text;
};

/* Parser part (helper.ParserConfig). */
struct stanza_parser_config {
    struct stanza_transformer_config transformer;
    char *parse_from;
    char *parse_to;
    char *body;
    bool has_timestamp, has_severity;
    struct stanza_time_config timestamp;
    struct stanza_severity_config severity;
    json_t *trace, *scope_name; /* accepted keys, rejected by hand: not implemented */
};

extern const struct option stanza_time_options[];
extern const struct option stanza_severity_options[];

/* Option-table rows for the shared parts; `T` is the operator's config struct and `m` the member
 * holding the shared part. Declared once here so every operator binds them the same way. */
#define STANZA_WRITER_OPTIONS(T, m)                                                                 \
    {OPT_STRING, "type", NULL, offsetof(T, m.type), "operator type", OPT_REQUIRED, NULL, 0},        \
        {OPT_STRING, "id", NULL, offsetof(T, m.id), "operator id (default: the type)", 0, NULL, 0}, \
    {                                                                                               \
        OPT_JSON, "output", NULL, offsetof(T, m.output),                                            \
            "operator id(s) to send to (default: the next operator)", 0, NULL, 0                    \
    }
#define STANZA_TRANSFORMER_OPTIONS(T, m)                                                           \
    STANZA_WRITER_OPTIONS(T, m.writer), {OPT_STRING,                                               \
                                         "on_error",                                               \
                                         "send",                                                   \
                                         offsetof(T, m.on_error),                                  \
                                         "send, send_quiet, drop or drop_quiet",                   \
                                         0,                                                        \
                                         NULL,                                                     \
                                         0},                                                       \
    {                                                                                              \
        OPT_STRING, "if", NULL, offsetof(T, m.if_expr),                                            \
            "expression; the operator is skipped when it is false", 0, NULL, 0                     \
    }
#define STANZA_PARSER_OPTIONS(T, m)                                                                  \
    STANZA_TRANSFORMER_OPTIONS(T, m.transformer), {OPT_STRING,                                       \
                                                   "parse_from",                                     \
                                                   "body",                                           \
                                                   offsetof(T, m.parse_from),                        \
                                                   "field to parse",                                 \
                                                   0,                                                \
                                                   NULL,                                             \
                                                   0},                                               \
        {OPT_STRING,                                                                                 \
         "parse_to",                                                                                 \
         "attributes",                                                                               \
         offsetof(T, m.parse_to),                                                                    \
         "field the parsed values are merged into",                                                  \
         0,                                                                                          \
         NULL,                                                                                       \
         0},                                                                                         \
        {OPT_STRING, "body", NULL, offsetof(T, m.body), "field copied to the body after parsing",    \
         0,          NULL,   0},                                                                     \
        {OPT_OBJECT,                                                                                 \
         "timestamp",                                                                                \
         NULL,                                                                                       \
         offsetof(T, m.timestamp),                                                                   \
         "embedded time parser",                                                                     \
         OPT_PRESENCE,                                                                               \
         stanza_time_options,                                                                        \
         offsetof(T, m.has_timestamp)},                                                              \
        {OPT_OBJECT,                                                                                 \
         "severity",                                                                                 \
         NULL,                                                                                       \
         offsetof(T, m.severity),                                                                    \
         "embedded severity parser",                                                                 \
         OPT_PRESENCE,                                                                               \
         stanza_severity_options,                                                                    \
         offsetof(T, m.has_severity)},                                                               \
        {OPT_JSON, "trace", NULL, offsetof(T, m.trace), "not supported by otelcol-ref", 0, NULL, 0}, \
    {                                                                                                \
        OPT_JSON, "scope_name", NULL, offsetof(T, m.scope_name), "not supported by otelcol-ref",     \
            0, NULL, 0                                                                               \
    }

/* One constant descriptor per operator type (the registry in stanza_pipeline.c lists them). */
struct stanza_operator_type {
    const char *type;
    const struct option *options;
    size_t config_size;
    /* Builds op->impl from the bound config (which stays owned by the pipeline until free).
     * `path` names the operator in messages. 0 or -EINVAL / -ENOMEM with err filled. */
    int (*build)(struct stanza_operator *op, void *config, const char *path, struct error *err);
    /* Takes `e`: forwards it (stanza_operator_write / _handle_error) or frees it. */
    void (*process)(struct stanza_operator *op, struct stanza_entry *e);
    void (*tick)(struct stanza_operator *op, int64_t now_ns); /* optional */
    void (*flush)(struct stanza_operator *op);                /* optional */
    void (*destroy)(struct stanza_operator *op);              /* frees impl; optional */
    /* Router: outputs come from routes (stanza_operator.routes), never from `output`. */
    bool is_router;
};

enum stanza_on_error { ON_ERROR_SEND = 0, ON_ERROR_SEND_QUIET, ON_ERROR_DROP, ON_ERROR_DROP_QUIET };

/* The outputs of one writer or one route. */
struct stanza_outputs {
    char **ids; /* malloc'd */
    size_t n_ids;
    struct stanza_operator **ops; /* resolved at build; NULL entry = the sink */
    size_t n_ops;
};

struct stanza_operator {
    const struct stanza_operator_type *type;
    struct stanza_pipeline *pipeline;
    char *id;     /* malloc'd */
    char *path;   /* "receivers.filelog.operators[2]", malloc'd */
    void *config; /* bound config struct (type->options), malloc'd */
    void *impl;   /* operator state */
    const char *log_name;
    /* writer */
    struct stanza_outputs outputs;
    bool to_sink; /* the last operator with no output: the receiver's emitter */
    /* transformer */
    bool is_transformer;
    enum stanza_on_error on_error;
    struct expr *if_expr;
    /* router: its routes' outputs (filled by the router's build) */
    struct stanza_outputs **routes;
    size_t n_routes;
};

/* Sends `e` (taken) to the operator's outputs: a copy to all but the last (upstream's
 * WriterOperator.Write), or to the sink; freed when there is nowhere to go. */
void stanza_operator_write(struct stanza_operator *op, struct stanza_entry *e);
void stanza_outputs_write(struct stanza_operator *op, const struct stanza_outputs *outs,
                          struct stanza_entry *e);
/* upstream's HandleEntryError: logs `Failed to process entry` (error level, or debug when
 * quiet) with the error text, then sends (send, send_quiet) or frees (drop, drop_quiet). */
void stanza_operator_handle_error(struct stanza_operator *op, struct stanza_entry *e,
                                  const char *message);
/* upstream's Skip: evaluates `if`. 1 = skip (the caller writes e on), 0 = process, <0 = error
 * (message in err). */
int stanza_operator_skip(struct stanza_operator *op, const struct stanza_entry *e,
                         struct error *err);
/* TransformerOperator.ProcessWith: skip check, transform, then write or handle the error. */
typedef int (*stanza_transform_fn)(struct stanza_operator *op, struct stanza_entry *e,
                                   struct error *err);
void stanza_transformer_process(struct stanza_operator *op, struct stanza_entry *e,
                                stanza_transform_fn transform);
/* Parses an `output` value (string or list) into outs->ids. */
int stanza_outputs_parse(const json_t *output, struct stanza_outputs *outs, const char *path,
                         struct error *err);
void stanza_outputs_release(struct stanza_outputs *outs);
/* Binds the transformer part (on_error, if) into op; used by every transformer's build. */
int stanza_transformer_init(struct stanza_operator *op, const struct stanza_transformer_config *c,
                            const char *path, struct error *err);
/* For transformers whose whole state is one field (flatten, remove): stanza_transformer_init,
 * then `field` parsed into a stanza_field that becomes op->impl (strictly: no bare root when
 * `strict`). A missing field is "<path>: <missing>" (upstream's words differ per operator).
 * Free with stanza_field_transformer_destroy. */
int stanza_field_transformer_init(struct stanza_operator *op,
                                  const struct stanza_transformer_config *c, const char *field,
                                  bool strict, const char *missing, const char *path,
                                  struct error *err);
void stanza_field_transformer_destroy(struct stanza_operator *op);
/* Log component of the operator: "receiver/filelog" or what the receiver named. */
const char *stanza_operator_log_name(const struct stanza_operator *op);

/* ---- regular expressions (helper/regexp.c): Go RE2 syntax run by PCRE2 with JIT ---- */

struct stanza_regex;
/* Compiles once (JIT). Constructs RE2 does not have (lookaround, backreferences, atomic
 * groups, possessive quantifiers, recursion, conditionals) are rejected with Go's message.
 * Caller owns *out. */
int stanza_regex_compile(const char *pattern, struct stanza_regex **out, struct error *err);
void stanza_regex_free(struct stanza_regex *re);
/* Unanchored search. 1 = match, 0 = no match. Captures stay readable until the next match. */
int stanza_regex_match(struct stanza_regex *re, const char *subject, size_t len);
size_t stanza_regex_name_count(const struct stanza_regex *re);
/* The i-th named group (in group-number order): its name and its captured span (an empty span
 * for a group that did not participate, as Go returns ""). */
const char *stanza_regex_name(const struct stanza_regex *re, size_t i, const char **start,
                              size_t *len, const char *subject);
/* upstream helper.MatchValues: merges the named groups of a match into the map `into` (strings),
 * in group order. 0, -ENOENT ("regex pattern does not match"), -ENOMEM. */
int stanza_regex_match_values(struct stanza_regex *re, const char *subject, size_t len,
                              otlp_keyvalue ***into, size_t *n_into);

/* ---- time (helper/time.c) ---- */

struct stanza_time_parser;
/* Validates and compiles (upstream TimeParser.Validate): strptime is translated to a Go layout
 * once; `location` as upstream. Caller owns *out. */
int stanza_time_parser_build(const struct stanza_time_config *c, struct stanza_time_parser **out,
                             struct error *err);
void stanza_time_parser_free(struct stanza_time_parser *tp);
/* Parses the time at parse_from into e's time_unix_nano. 0 or <0 with the message in err. */
int stanza_time_parser_parse(struct stanza_time_parser *tp, struct stanza_entry *e,
                             struct error *err);
/* A Go-layout parser without the entry part (the container operator's fixed layouts). `utc`
 * selects UTC instead of Local for values without an offset. */
int stanza_time_parser_new_gotime(const char *layout, bool utc, struct stanza_time_parser **out,
                                  struct error *err);
int stanza_time_parse_value(struct stanza_time_parser *tp, const otlp_anyvalue *value,
                            int64_t *unix_ns, struct error *err);
/* Translates a strptime layout into a Go layout (ctimefmt.ToNative). Caller frees *out. */
int stanza_strptime_to_gotime(const char *strptime, char **out, struct error *err);

/* ---- severity (helper/severity.c) ---- */

struct stanza_severity_parser;
int stanza_severity_parser_build(const struct stanza_severity_config *c,
                                 struct stanza_severity_parser **out, struct error *err);
void stanza_severity_parser_free(struct stanza_severity_parser *sp);
int stanza_severity_parser_parse(struct stanza_severity_parser *sp, struct stanza_entry *e,
                                 struct error *err);

/* ---- parser helper (helper/parser.c): upstream ParserOperator ---- */

/* Parses a raw value into new key/values (the operator's parse function). 0, or <0 with err. */
typedef int (*stanza_parse_fn)(struct stanza_operator *op, const otlp_anyvalue *value,
                               otlp_anyvalue **parsed, struct error *err);

struct stanza_parser {
    struct stanza_field parse_from, parse_to;
    bool has_body;
    struct stanza_field body;
    struct stanza_time_parser *time;
    struct stanza_severity_parser *severity;
};

int stanza_parser_init(struct stanza_operator *op, struct stanza_parser *p,
                       const struct stanza_parser_config *c, const char *path, struct error *err);
void stanza_parser_release(struct stanza_parser *p);
/* ParserOperator.ProcessWith: skip check, parse, set parse_to, body, timestamp, severity, then
 * writes e on or handles the error. Takes `e`. */
void stanza_parser_process(struct stanza_operator *op, struct stanza_parser *p,
                           struct stanza_entry *e, stanza_parse_fn parse);
/* ParserOperator.ParseWith without the write: 0 = parsed (e still the caller's), <0 = failed and
 * already handled by on_error (e was taken). */
int stanza_parser_parse_with(struct stanza_operator *op, struct stanza_parser *p,
                             struct stanza_entry *e, stanza_parse_fn parse);

/* Parses `len` bytes of JSON text holding an object into a new map value (json_parser.c; the
 * container operator's docker lines too). */
int stanza_json_parse_object(const char *text, size_t len, bool parse_ints, otlp_anyvalue **parsed,
                             struct error *err);
/* helper.ByteSize: an integer or a string such as "100KiB", "1.5MB" into bytes. */
int stanza_bytesize_parse(const json_t *value, int64_t *out, const char *path, struct error *err);

/* ---- the operator types ---- */

extern const struct stanza_operator_type stanza_router_operator;
extern const struct stanza_operator_type stanza_regex_parser_operator;
extern const struct stanza_operator_type stanza_json_parser_operator;
extern const struct stanza_operator_type stanza_time_parser_operator;
extern const struct stanza_operator_type stanza_severity_parser_operator;
extern const struct stanza_operator_type stanza_recombine_operator;
extern const struct stanza_operator_type stanza_move_operator;
extern const struct stanza_operator_type stanza_add_operator;
extern const struct stanza_operator_type stanza_remove_operator;
extern const struct stanza_operator_type stanza_copy_operator;
extern const struct stanza_operator_type stanza_flatten_operator;
extern const struct stanza_operator_type stanza_retain_operator;
extern const struct stanza_operator_type stanza_container_operator;

/* The recombine operator as a building block (the container operator owns one). */
struct stanza_recombine;
struct stanza_recombine_settings {
    const char *is_first_entry, *is_last_entry;
    const char *combine_field;
    const char *combine_with;
    const char *source_identifier;
    const char *overwrite_with;
    int64_t max_batch_size, max_unmatched_batch_size, max_sources, max_log_size;
    int64_t force_flush_period_ns;
};
/* Emitted entries go to emit(ctx, e) (taken). */
typedef void (*stanza_emit_fn)(void *ctx, struct stanza_entry *e);
int stanza_recombine_new(const struct stanza_recombine_settings *s, struct stanza_operator *owner,
                         stanza_emit_fn emit, void *emit_ctx, struct stanza_recombine **out,
                         struct error *err);
void stanza_recombine_free(struct stanza_recombine *r);
void stanza_recombine_add(struct stanza_recombine *r, struct stanza_entry *e);
void stanza_recombine_tick(struct stanza_recombine *r, int64_t now_ns);
void stanza_recombine_flush_all(struct stanza_recombine *r);

#endif
