/* promtext.c - a small Prometheus text-format reader and selector matcher (see promtext.h). */
#include "promtext.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 256
#define VALUE_MAX_LEN 1024

static void sample_clear(struct promtext_sample *s)
{
    free(s->name);
    for (size_t i = 0; i < s->label_count; i++) {
        free(s->labels[i].name);
        free(s->labels[i].value);
    }
    memset(s, 0, sizeof(*s));
}

void promtext_free(struct promtext *m)
{
    for (size_t i = 0; i < m->count; i++)
        sample_clear(&m->samples[i]);
    free(m->samples);
    memset(m, 0, sizeof(*m));
}

static bool is_name_char(char c, bool first)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':' ||
           (!first && isdigit((unsigned char)c));
}

/* Reads `name{labels}` from *p (up to `end`); on success fills names/values (malloc'd) and
 * advances *p. Returns 0, -EINVAL (syntax) or -ENOMEM. Shared by lines and selectors. */
static int parse_series(const char **p, const char *end, struct promtext_sample *s)
{
    const char *q = *p;
    char buf[VALUE_MAX_LEN];
    size_t n = 0;
    while (q < end && is_name_char(*q, n == 0) && n + 1 < NAME_MAX_LEN)
        buf[n++] = *q++;
    if (n == 0)
        return -EINVAL;
    buf[n] = '\0';
    if (!(s->name = strdup(buf)))
        return -ENOMEM;
    if (q < end && *q == '{') {
        q++;
        for (;;) {
            while (q < end && (*q == ' ' || *q == ','))
                q++;
            if (q < end && *q == '}') {
                q++;
                break;
            }
            if (s->label_count >= PROMTEXT_MAX_LABELS)
                return -EINVAL;
            n = 0;
            while (q < end && is_name_char(*q, n == 0) && n + 1 < NAME_MAX_LEN)
                buf[n++] = *q++;
            buf[n] = '\0';
            if (n == 0 || q + 1 >= end || *q != '=' || q[1] != '"')
                return -EINVAL;
            struct promtext_label *l = &s->labels[s->label_count];
            if (!(l->name = strdup(buf)))
                return -ENOMEM;
            s->label_count++;
            q += 2;
            n = 0;
            while (q < end && *q != '"') {
                char c = *q++;
                if (c == '\\' && q < end) {
                    c = *q++;
                    if (c == 'n')
                        c = '\n';
                }
                if (n + 1 >= sizeof(buf))
                    return -EINVAL;
                buf[n++] = c;
            }
            if (q >= end)
                return -EINVAL;
            q++; /* closing quote */
            buf[n] = '\0';
            if (!(l->value = strdup(buf)))
                return -ENOMEM;
        }
    }
    *p = q;
    return 0;
}

static int add_sample(struct promtext *m, struct promtext_sample *s)
{
    if (m->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct promtext_sample *grown = realloc(m->samples, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        m->samples = grown;
        m->cap = cap;
    }
    m->samples[m->count++] = *s;
    memset(s, 0, sizeof(*s));
    return 0;
}

static double parse_value(const char *text, bool *ok)
{
    char *end;
    *ok = true;
    if (!strncmp(text, "+Inf", 4))
        return INFINITY;
    if (!strncmp(text, "-Inf", 4))
        return -INFINITY;
    if (!strncmp(text, "NaN", 3))
        return NAN;
    double v = strtod(text, &end);
    if (end == text)
        *ok = false;
    return v;
}

int promtext_parse(const char *text, size_t len, struct promtext *out, struct error *err)
{
    memset(out, 0, sizeof(*out));
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *q = p;
        while (q < eol && (*q == ' ' || *q == '\t'))
            q++;
        if (q < eol && *q != '#') {
            struct promtext_sample s = {0};
            int rc = parse_series(&q, eol, &s);
            if (rc == 0) {
                while (q < eol && *q == ' ')
                    q++;
                bool ok;
                char value[64];
                size_t n =
                    (size_t)(eol - q) < sizeof(value) - 1 ? (size_t)(eol - q) : sizeof(value) - 1;
                memcpy(value, q, n);
                value[n] = '\0';
                s.value = parse_value(value, &ok);
                if (ok)
                    rc = add_sample(out, &s);
            }
            sample_clear(&s);
            if (rc == -ENOMEM) {
                promtext_free(out);
                return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            }
        }
        p = eol + 1;
    }
    return 0;
}

static bool name_matches(const char *sample, const char *wanted)
{
    if (!strcmp(sample, wanted))
        return true;
    size_t n = strlen(wanted);
    return !strncmp(sample, wanted, n) && !strcmp(sample + n, "_total");
}

static bool labels_match(const struct promtext_sample *s, const struct promtext_sample *sel)
{
    for (size_t i = 0; i < sel->label_count; i++) {
        bool hit = false;
        for (size_t j = 0; j < s->label_count && !hit; j++)
            hit = !strcmp(s->labels[j].name, sel->labels[i].name) &&
                  !strcmp(s->labels[j].value, sel->labels[i].value);
        if (!hit)
            return false;
    }
    return true;
}

static int parse_selector(const char *selector, struct promtext_sample *sel)
{
    const char *p = selector, *end = selector + strlen(selector);
    int rc = parse_series(&p, end, sel);
    if (rc == 0 && p != end)
        rc = -EINVAL;
    return rc;
}

int promtext_check_selector(const char *selector, char *why, size_t why_size)
{
    struct promtext_sample sel = {0};
    int rc = parse_selector(selector, &sel);
    sample_clear(&sel);
    if (rc == -EINVAL)
        snprintf(why, why_size,
                 "expected a metric name with optional labels, such as "
                 "otelcol_exporter_sent_log_records{exporter=\"otlphttp/loki\"}");
    return rc;
}

int promtext_sum(const struct promtext *m, const char *selector, double *sum, bool *found,
                 struct error *err)
{
    struct promtext_sample sel = {0};
    *sum = 0;
    *found = false;
    int rc = parse_selector(selector, &sel);
    if (rc < 0) {
        rc = error_set(err, rc, ERROR_PERMANENT, "bad metric selector \"%s\"", selector);
        goto done;
    }
    for (size_t i = 0; i < m->count; i++) {
        const struct promtext_sample *s = &m->samples[i];
        if (name_matches(s->name, sel.name) && labels_match(s, &sel)) {
            *sum += s->value;
            *found = true;
        }
    }
done:
    sample_clear(&sel);
    return rc;
}

json_t *promtext_to_json(const struct promtext *m, const char *const *prefixes)
{
    json_t *out = json_object();
    if (!out)
        return NULL;
    for (size_t i = 0; i < m->count; i++) {
        const struct promtext_sample *s = &m->samples[i];
        bool wanted = false;
        for (const char *const *p = prefixes; p && *p && !wanted; p++)
            wanted = !strncmp(s->name, *p, strlen(*p));
        /* Reports keep counters and gauges; one line per histogram bucket is noise. */
        size_t name_len = strlen(s->name);
        if (!wanted || (name_len > 7 && !strcmp(s->name + name_len - 7, "_bucket")))
            continue;
        char key[1024];
        size_t n = (size_t)snprintf(key, sizeof(key), "%s", s->name);
        for (size_t j = 0; j < s->label_count && n < sizeof(key); j++)
            n += (size_t)snprintf(key + n, sizeof(key) - n, "%s%s=\"%s\"", j ? "," : "{",
                                  s->labels[j].name, s->labels[j].value);
        if (s->label_count && n < sizeof(key))
            snprintf(key + n, sizeof(key) - n, "}");
        json_t *v = isfinite(s->value) ? json_real(s->value) : json_string("NaN");
        if (isfinite(s->value) && s->value == floor(s->value) && fabs(s->value) < 9e15) {
            json_decref(v);
            v = json_integer((json_int_t)s->value);
        }
        if (!v || json_object_set_new(out, key, v) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}
