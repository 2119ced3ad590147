/*
 * recombine.c - the `recombine` operator (contrib v0.142 pkg/stanza/operator/transformer/
 * recombine/{config.go,transformer.go}), also the building block of the container operator.
 *
 * Entries are batched per source (source_identifier, default attributes["log.file.path"]; an
 * entry without it logs Warn and joins "DefaultSourceIdentifier"). A batch is emitted as one
 * entry whose combine_field holds the fragments joined with combine_with (default "\n"):
 *   - is_last_entry true: this entry closes the batch; is_first_entry true: the open batch is
 *     emitted and this entry starts the next;
 *   - the joined size passes max_log_size (0 = no limit), the count reaches max_batch_size
 *     (1000), or 100 (max_unmatched_batch_size) entries arrive with no match at all;
 *   - force_flush_period (5s) after the first entry of the batch (checked on tick);
 *   - more than max_sources (1000) sources: everything is flushed (logged at error level);
 *   - flush (shutdown) emits everything.
 * With overwrite_with: oldest (the default) the emitted entry is the batch's first entry, with
 * its attributes and timestamp (so logtag stays "P" after a P..F join); only combine_field is
 * replaced. This follows the code (facts §2, code-read); newest uses the last entry.
 * On purpose as upstream: `if` is accepted but never evaluated (Process does not call Skip); a
 * failing expression goes to on_error; an entry whose combine_field is not a string logs
 * "entry does not contain the combine_field" and adds nothing to the text.
 * Bounded: a joined text stops growing at RECOMBINE_HARD_MAX bytes even with max_log_size 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "operator.h"

#define RECOMBINE_HARD_MAX (64u << 20)
#define DEFAULT_SOURCE "DefaultSourceIdentifier"

struct batch {
    char *source;
    struct stanza_entry *base;
    int64_t n_entries;
    char *text;
    size_t len, cap;
    uint64_t first_observed_ns;
    bool match_detected;
};

struct stanza_recombine {
    struct stanza_operator *owner;
    struct expr *expr;
    bool match_first;
    bool overwrite_newest;
    struct stanza_field combine_field, source_identifier;
    char *combine_with;
    int64_t max_batch_size, max_unmatched_batch_size, max_sources, max_log_size;
    int64_t force_flush_ns;
    struct batch *batches;
    size_t n_batches;
    stanza_emit_fn emit;
    void *emit_ctx;
};

static void batch_release(struct batch *b)
{
    free(b->source);
    free(b->text);
    stanza_entry_free(b->base);
    memset(b, 0, sizeof(*b));
}

void stanza_recombine_free(struct stanza_recombine *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_batches; i++)
        batch_release(&r->batches[i]);
    free(r->batches);
    expr_free(r->expr);
    stanza_field_release(&r->combine_field);
    stanza_field_release(&r->source_identifier);
    free(r->combine_with);
    free(r);
}

int stanza_recombine_new(const struct stanza_recombine_settings *s, struct stanza_operator *owner,
                         stanza_emit_fn emit, void *emit_ctx, struct stanza_recombine **out,
                         struct error *err)
{
    struct stanza_recombine *r = calloc(1, sizeof(*r));
    int rc = -ENOMEM;
    *out = NULL;
    if (!r)
        goto oom;
    r->owner = owner;
    r->emit = emit;
    r->emit_ctx = emit_ctx;
    bool first = s->is_first_entry && *s->is_first_entry;
    bool last = s->is_last_entry && *s->is_last_entry;
    if (first && last) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "only one of is_first_entry and is_last_entry can be set");
        goto fail;
    }
    if (!first && !last) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "one of is_first_entry and is_last_entry must be set");
        goto fail;
    }
    r->match_first = first;
    if ((rc = expr_compile(first ? s->is_first_entry : s->is_last_entry, true, &r->expr, err)) <
        0) {
        error_prefix(err, "failed to compile %s", first ? "is_first_entry" : "is_last_entry");
        goto fail;
    }
    if (!s->combine_field || !*s->combine_field) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "missing required argument 'combine_field'");
        goto fail;
    }
    if ((rc = stanza_field_parse_strict(s->combine_field, &r->combine_field, err)) < 0 ||
        (rc = stanza_field_parse_strict(s->source_identifier, &r->source_identifier, err)) < 0)
        goto fail;
    const char *ow = s->overwrite_with ? s->overwrite_with : "";
    if (!strcmp(ow, "newest")) {
        r->overwrite_newest = true;
    } else if (strcmp(ow, "oldest") && *ow) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "invalid value '%s' for parameter 'overwrite_with'", ow);
        goto fail;
    }
    if (!(r->combine_with = strdup(s->combine_with ? s->combine_with : "")))
        goto oom;
    r->max_batch_size = s->max_batch_size;
    r->max_unmatched_batch_size = s->max_unmatched_batch_size;
    r->max_sources = s->max_sources;
    r->max_log_size = s->max_log_size;
    r->force_flush_ns = s->force_flush_period_ns;
    if (!(r->batches =
              calloc(r->max_sources > 0 ? (size_t)r->max_sources + 1 : 1, sizeof(*r->batches))))
        goto oom;
    *out = r;
    return 0;
oom:
    rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
fail:
    stanza_recombine_free(r);
    return rc;
}

static void flush_batch(struct stanza_recombine *r, size_t i)
{
    struct batch b = r->batches[i];
    /* remove it first: emitting may come back into this operator */
    r->batches[i] = r->batches[--r->n_batches];
    memset(&r->batches[r->n_batches], 0, sizeof(struct batch));
    if (b.base) {
        otlp_anyvalue *v = stanza_value_string_n(b.text ? b.text : "", b.len);
        if (!v || stanza_field_set(b.base, &r->combine_field, v) < 0) {
            log_error(stanza_operator_log_name(r->owner),
                      "there was error flushing combined logs\" error=\"out of memory");
            stanza_entry_free(b.base);
        } else {
            r->emit(r->emit_ctx, b.base);
        }
        b.base = NULL;
    }
    batch_release(&b);
}

static ptrdiff_t find_batch(struct stanza_recombine *r, const char *source)
{
    for (size_t i = 0; i < r->n_batches; i++)
        if (!strcmp(r->batches[i].source, source))
            return (ptrdiff_t)i;
    return -1;
}

void stanza_recombine_flush_all(struct stanza_recombine *r)
{
    while (r->n_batches)
        flush_batch(r, r->n_batches - 1);
}

static bool append(struct batch *b, const char *s, size_t len)
{
    if (b->len + len + 1 > RECOMBINE_HARD_MAX)
        return false;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *grown = realloc(b->text, cap);
        if (!grown)
            return false;
        b->text = grown;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, len);
    b->len += len;
    b->text[b->len] = '\0';
    return true;
}

static void flush_source(struct stanza_recombine *r, const char *source)
{
    ptrdiff_t i = find_batch(r, source);
    if (i >= 0)
        flush_batch(r, (size_t)i);
}

static void add_to_batch(struct stanza_recombine *r, struct stanza_entry *e, const char *source,
                         bool matches)
{
    const char *name = stanza_operator_log_name(r->owner);
    ptrdiff_t i = find_batch(r, source);
    struct stanza_entry *dropped = NULL; /* an entry whose only contribution is its text */
    if (i < 0) {
        if ((int64_t)r->n_batches >= r->max_sources) {
            log_error(name, "Too many sources. Flushing all batched logs. Consider increasing "
                            "max_sources parameter");
            stanza_recombine_flush_all(r);
        }
        struct batch *b = &r->batches[r->n_batches];
        if (!(b->source = strdup(source))) {
            log_error(name, "Failed to process entry\" error=\"out of memory");
            stanza_entry_free(e);
            return;
        }
        b->base = e;
        b->n_entries = 1;
        b->first_observed_ns = e->record->observed_time_unix_nano;
        i = (ptrdiff_t)r->n_batches++;
    } else {
        struct batch *b = &r->batches[i];
        b->n_entries++;
        if (r->overwrite_newest) {
            dropped = b->base;
            b->base = e;
        } else {
            dropped = e;
        }
    }
    struct batch *b = &r->batches[i];
    if (matches)
        b->match_detected = true;
    const otlp_anyvalue *v = stanza_field_get(e, &r->combine_field);
    const char *s = stanza_value_str(v);
    size_t len = s ? strlen(s) : 0;
    if (!s && v && v->value_case == ANY_BYTES)
        s = (const char *)v->bytes_value.data, len = v->bytes_value.len;
    if (!s) {
        log_error(name, "entry does not contain the combine_field");
        stanza_entry_free(dropped);
        return;
    }
    if ((b->len > 0 && !append(b, r->combine_with, strlen(r->combine_with))) || !append(b, s, len))
        log_error(name, "there was error flushing combined logs\" error=\"combined entry too "
                        "large or out of memory");
    stanza_entry_free(dropped);
    if ((r->max_log_size > 0 && (int64_t)b->len > r->max_log_size) ||
        (r->max_batch_size > 0 && b->n_entries >= r->max_batch_size) ||
        (!b->match_detected && r->max_unmatched_batch_size > 0 &&
         b->n_entries >= r->max_unmatched_batch_size) ||
        b->len + 1 >= RECOMBINE_HARD_MAX)
        flush_batch(r, (size_t)i);
}

void stanza_recombine_add(struct stanza_recombine *r, struct stanza_entry *e)
{
    struct error err;
    bool matches;
    if (expr_eval_bool(r->expr, e, &matches, &err) < 0) {
        stanza_operator_handle_error(r->owner, e, err.message);
        return;
    }
    const char *source = stanza_value_str(stanza_field_get(e, &r->source_identifier));
    char copy[4096];
    if (!source) {
        log_warn(stanza_operator_log_name(r->owner),
                 "entry does not contain the source_identifier, so it may be pooled with other "
                 "sources");
        source = DEFAULT_SOURCE;
    } else if (!*source) {
        source = DEFAULT_SOURCE;
    }
    /* A last entry with nothing batched for its source is a batch of one: the combined text is
     * its own string, so it goes on as it is, without the copy into a batch buffer and back
     * (a complete CRI line, the common case, takes this path). Upstream would first flush every
     * batch when the sources are full; then the general path below keeps that order. */
    if (matches && !r->match_first && (int64_t)r->n_batches < r->max_sources &&
        find_batch(r, source) < 0) {
        const otlp_anyvalue *v = stanza_field_get(e, &r->combine_field);
        if (v && v->value_case == ANY_STRING) {
            r->emit(r->emit_ctx, e);
            return;
        }
    }
    /* the source text lives in e, which a flush below may free */
    snprintf(copy, sizeof(copy), "%s", source);
    if (matches && r->match_first) {
        flush_source(r, copy);
        add_to_batch(r, e, copy, matches);
    } else if (matches) {
        add_to_batch(r, e, copy, matches);
        flush_source(r, copy);
    } else {
        add_to_batch(r, e, copy, matches);
    }
}

void stanza_recombine_tick(struct stanza_recombine *r, int64_t now_ns)
{
    for (size_t i = r->n_batches; i-- > 0;)
        if (i < r->n_batches &&
            now_ns - (int64_t)r->batches[i].first_observed_ns >= r->force_flush_ns)
            flush_batch(r, i);
}

/* ---- the operator ---- */

struct recombine_config {
    struct stanza_transformer_config transformer;
    char *is_first_entry, *is_last_entry;
    int64_t max_batch_size, max_unmatched_batch_size, max_sources;
    char *combine_field, *combine_with, *source_identifier, *overwrite_with;
    int64_t force_flush_period;
    json_t *max_log_size;
};

static const struct option recombine_options[] = {
    STANZA_TRANSFORMER_OPTIONS(struct recombine_config, transformer),
    {OPT_STRING, "is_first_entry", NULL, offsetof(struct recombine_config, is_first_entry),
     "expression: this entry starts a new record", 0, NULL, 0},
    {OPT_STRING, "is_last_entry", NULL, offsetof(struct recombine_config, is_last_entry),
     "expression: this entry ends the record", 0, NULL, 0},
    {OPT_INT, "max_batch_size", "1000", offsetof(struct recombine_config, max_batch_size),
     "entries per record at most", 0, NULL, 0},
    {OPT_INT, "max_unmatched_batch_size", "100",
     offsetof(struct recombine_config, max_unmatched_batch_size),
     "entries without any match before a flush", 0, NULL, 0},
    {OPT_INT, "max_sources", "1000", offsetof(struct recombine_config, max_sources),
     "sources batched at once", 0, NULL, 0},
    {OPT_STRING, "combine_field", NULL, offsetof(struct recombine_config, combine_field),
     "field whose values are joined", 0, NULL, 0},
    {OPT_STRING, "combine_with", "\"\\n\"", offsetof(struct recombine_config, combine_with),
     "separator", 0, NULL, 0},
    {OPT_STRING, "source_identifier", "'attributes[\"log.file.path\"]'",
     offsetof(struct recombine_config, source_identifier), "field naming the source", 0, NULL, 0},
    {OPT_STRING, "overwrite_with", "oldest", offsetof(struct recombine_config, overwrite_with),
     "oldest or newest: whose entry carries the record", 0, NULL, 0},
    {OPT_DURATION, "force_flush_period", "5s",
     offsetof(struct recombine_config, force_flush_period),
     "flush a batch this long after it began", 0, NULL, 0},
    {OPT_JSON, "max_log_size", NULL, offsetof(struct recombine_config, max_log_size),
     "flush when the joined text passes this size (0 = no limit)", 0, NULL, 0},
    {OPT_END, NULL, NULL, 0, NULL, 0, NULL, 0},
};

static void recombine_emit(void *ctx, struct stanza_entry *e)
{
    stanza_operator_write(ctx, e);
}

static int recombine_build(struct stanza_operator *op, void *config, const char *path,
                           struct error *err)
{
    struct recombine_config *c = config;
    int rc = stanza_transformer_init(op, &c->transformer, path, err);
    if (rc < 0)
        return rc;
    struct stanza_recombine_settings s = {
        .is_first_entry = c->is_first_entry,
        .is_last_entry = c->is_last_entry,
        .combine_field = c->combine_field,
        .combine_with = c->combine_with,
        .source_identifier = c->source_identifier,
        .overwrite_with = c->overwrite_with,
        .max_batch_size = c->max_batch_size,
        .max_unmatched_batch_size = c->max_unmatched_batch_size,
        .max_sources = c->max_sources,
        .force_flush_period_ns = c->force_flush_period,
    };
    char size_path[512];
    snprintf(size_path, sizeof(size_path), "%s.max_log_size", path);
    if ((rc = stanza_bytesize_parse(c->max_log_size, &s.max_log_size, size_path, err)) < 0)
        return rc;
    struct stanza_recombine *r;
    if ((rc = stanza_recombine_new(&s, op, recombine_emit, op, &r, err)) < 0)
        return error_prefix(err, "%s", path);
    op->impl = r;
    return 0;
}

static void recombine_process(struct stanza_operator *op, struct stanza_entry *e)
{
    stanza_recombine_add(op->impl, e);
}

static void recombine_tick(struct stanza_operator *op, int64_t now_ns)
{
    stanza_recombine_tick(op->impl, now_ns);
}

static void recombine_flush(struct stanza_operator *op)
{
    stanza_recombine_flush_all(op->impl);
}

static void recombine_destroy(struct stanza_operator *op)
{
    stanza_recombine_free(op->impl);
    op->impl = NULL;
}

const struct stanza_operator_type stanza_recombine_operator = {
    .type = "recombine",
    .options = recombine_options,
    .config_size = sizeof(struct recombine_config),
    .build = recombine_build,
    .process = recombine_process,
    .tick = recombine_tick,
    .flush = recombine_flush,
    .destroy = recombine_destroy,
};
