/* lines.c - delivery accounting of numbered pod log lines (see lines.h). */
#include "lines.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lines_scan_tokens(const char *text, size_t len, void (*found)(void *ctx, uint64_t seq),
                       void *ctx)
{
    for (size_t i = 0; i + 4 < len; i++) {
        if (memcmp(text + i, "seq=", 4) != 0)
            continue;
        size_t j = i + 4;
        uint64_t v = 0;
        int digits = 0;
        while (j < len && text[j] >= '0' && text[j] <= '9' && digits < 19) {
            v = v * 10 + (uint64_t)(text[j] - '0');
            j++;
            digits++;
        }
        if (digits)
            found(ctx, v);
        i = j - 1;
    }
}

static void count_hit(void *opaque, uint64_t seq)
{
    struct lines_tally *t = opaque;
    if (seq == 0 || seq > t->seq_count) {
        t->unknown++;
        return;
    }
    if (t->hits[seq - 1] < UINT16_MAX)
        t->hits[seq - 1]++;
}

static int scan_view(const json_t *view, struct lines_tally *t, struct error *err)
{
    const json_t *tenants = json_object_get(view, "tenants");
    if (!json_is_object(tenants))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "not a Loki view (no \"tenants\")");
    const char *tenant;
    json_t *body;
    json_object_foreach((json_t *)tenants, tenant, body)
    {
        size_t i, j;
        json_t *stream, *entry;
        json_array_foreach(json_object_get(body, "streams"), i, stream)
        {
            json_array_foreach(json_object_get(stream, "entries"), j, entry)
            {
                const json_t *line = json_object_get(entry, "line");
                t->entries++;
                if (json_is_string(line))
                    lines_scan_tokens(json_string_value(line), json_string_length(line), count_hit,
                                      t);
            }
        }
    }
    return 0;
}

static void note(uint64_t *list, size_t *shown, uint64_t seq)
{
    if (*shown < LINES_FIRST_SHOWN)
        list[(*shown)++] = seq;
}

int lines_tally(const struct pod_logs *logs, const json_t *loki_view, struct lines_tally *out,
                struct error *err)
{
    memset(out, 0, sizeof(*out));
    out->seq_count = logs->seq_count;
    out->file_count = logs->file_count;
    if (logs->seq_count) {
        out->hits = calloc(logs->seq_count, sizeof(*out->hits));
        if (!out->hits)
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
    int rc = scan_view(loki_view, out, err);
    if (rc < 0) {
        lines_tally_free(out);
        return rc;
    }
    for (size_t s = 0; s < logs->seq_count; s++) {
        struct lines_count *f = &out->files[logs->seq_file[s]];
        uint64_t seq = s + 1;
        f->written++;
        out->total.written++;
        if (out->hits[s] == 0) {
            note(f->missing, &f->missing_shown, seq);
            note(out->total.missing, &out->total.missing_shown, seq);
            continue;
        }
        f->delivered++;
        out->total.delivered++;
        if (out->hits[s] > 1) {
            f->duplicated++;
            out->total.duplicated++;
            note(f->duplicates, &f->duplicates_shown, seq);
            note(out->total.duplicates, &out->total.duplicates_shown, seq);
        }
    }
    for (size_t i = 0; i < out->file_count; i++)
        out->files[i].lost = out->files[i].written - out->files[i].delivered;
    out->total.lost = out->total.written - out->total.delivered;
    return 0;
}

void lines_tally_free(struct lines_tally *t)
{
    free(t->hits);
    t->hits = NULL;
}

static const char *const measure_names[] = {"written", "delivered", "lost", "duplicated"};

const char *lines_measure_name(enum lines_measure m)
{
    return (unsigned)m < 4 ? measure_names[m] : "?";
}

int lines_measure_parse(const char *name, enum lines_measure *out)
{
    for (int i = 0; i < 4; i++) {
        if (!strcmp(name, measure_names[i])) {
            *out = (enum lines_measure)i;
            return 0;
        }
    }
    return -EINVAL;
}

static const struct lines_count *count_of(const struct pod_logs *logs, const struct lines_tally *t,
                                          const char *file)
{
    static const struct lines_count none;
    if (!file)
        return &t->total;
    for (size_t i = 0; i < logs->file_count && i < t->file_count; i++)
        if (!strcmp(logs->files[i].key, file))
            return &t->files[i];
    return &none;
}

double lines_check_value(const struct pod_logs *logs, const struct lines_tally *t,
                         const struct lines_check *c, bool *holds)
{
    const struct lines_count *n = count_of(logs, t, c->file);
    size_t v = c->measure == LINES_WRITTEN     ? n->written
               : c->measure == LINES_DELIVERED ? n->delivered
               : c->measure == LINES_LOST      ? n->lost
                                               : n->duplicated;
    if (holds)
        *holds = c->all ? v == n->written : condition_holds(&c->cond, (double)v);
    return (double)v;
}

void lines_check_describe(const struct pod_logs *logs, const struct lines_tally *t,
                          const struct lines_check *c, bool with_want, char *buf, size_t size)
{
    bool holds;
    double v = lines_check_value(logs, t, c, &holds);
    char value[64], want[64], subject[300];
    condition_format_number(v, value, sizeof(value));
    if (c->all)
        snprintf(want, sizeof(want), "all %zu written", count_of(logs, t, c->file)->written);
    else
        condition_format(&c->cond, want, sizeof(want));
    if (c->file)
        snprintf(subject, sizeof(subject), "lines[%s].%s", c->file, lines_measure_name(c->measure));
    else
        snprintf(subject, sizeof(subject), "lines.%s", lines_measure_name(c->measure));
    snprintf(buf, size, "%s = %s%s%s%s", subject, value, with_want ? " (want " : "",
             with_want ? want : "", with_want ? ")" : "");
}

static json_t *seq_list(const uint64_t *list, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n && a; i++)
        json_array_append_new(a, json_integer((json_int_t)list[i]));
    return a;
}

static json_t *count_json(const struct lines_count *c)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:o, s:o}", "written", (json_int_t)c->written,
                     "delivered", (json_int_t)c->delivered, "lost", (json_int_t)c->lost,
                     "duplicated", (json_int_t)c->duplicated, "first_missing",
                     seq_list(c->missing, c->missing_shown), "first_duplicated",
                     seq_list(c->duplicates, c->duplicates_shown));
}

json_t *lines_tally_json(const struct pod_logs *logs, const struct lines_tally *t)
{
    json_t *files = json_array();
    json_t *total = count_json(&t->total);
    if (!files || !total)
        goto fail;
    json_object_set_new(total, "unknown_tokens", json_integer((json_int_t)t->unknown));
    json_object_set_new(total, "loki_entries_searched", json_integer((json_int_t)t->entries));
    for (size_t i = 0; i < logs->file_count && i < t->file_count; i++) {
        const struct pod_log_file *f = &logs->files[i];
        json_t *item = count_json(&t->files[i]);
        if (!item)
            goto fail;
        json_object_set_new(item, "file", json_string(f->rel));
        json_object_set_new(item, "key", json_string(f->key));
        json_object_set_new(item, "format", json_string(pod_log_format_name(f->format)));
        json_object_set_new(item, "rotations", json_integer(f->rotations));
        json_array_append_new(files, item);
    }
    return json_pack("{s:o, s:o}", "total", total, "files", files);
fail:
    json_decref(files);
    json_decref(total);
    return NULL;
}

static void print_seqs(FILE *out, const char *what, const uint64_t *list, size_t shown,
                       size_t total)
{
    if (!shown)
        return;
    fprintf(out, "; %s", what);
    for (size_t i = 0; i < shown; i++)
        fprintf(out, "%s%" PRIu64, i ? "," : " ", list[i]);
    if (total > shown)
        fprintf(out, ",...");
}

static void print_count(FILE *out, const struct lines_count *c)
{
    fprintf(out, "%zu written, %zu delivered, %zu lost, %zu delivered twice", c->written,
            c->delivered, c->lost, c->duplicated);
    print_seqs(out, "missing", c->missing, c->missing_shown, c->lost);
    print_seqs(out, "twice", c->duplicates, c->duplicates_shown, c->duplicated);
}

void lines_tally_print(const struct pod_logs *logs, const struct lines_tally *t, FILE *out,
                       const char *indent)
{
    fprintf(out, "%slines: ", indent);
    print_count(out, &t->total);
    if (t->unknown)
        fprintf(out, "; %zu tokens the run never wrote", t->unknown);
    fprintf(out, "\n");
    size_t width = 0;
    for (size_t i = 0; i < logs->file_count; i++)
        if (strlen(logs->files[i].key) > width)
            width = strlen(logs->files[i].key);
    for (size_t i = 0; i < logs->file_count && i < t->file_count; i++) {
        fprintf(out, "%s  %-*s  ", indent, (int)width, logs->files[i].key);
        print_count(out, &t->files[i]);
        if (logs->files[i].rotations)
            fprintf(out, " (%d rotation%s)", logs->files[i].rotations,
                    logs->files[i].rotations == 1 ? "" : "s");
        fprintf(out, "\n");
    }
}
