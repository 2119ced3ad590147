/*
 * fault.c - the fault injector of fault.h.
 *
 * Mirrors nothing upstream: it stands in for the ways real backends fail (Loki 429 rate limits,
 * Tempo and Prometheus 5xx, slow or hung servers, dropped connections) so that scenarios can see
 * the collector's retry and queue behaviour (pipeline.md §6 and §11 item 5). How each status is
 * worded is the backend's business (the `refuse` function of its descriptor), not this file's.
 *
 * Stalls wait on a condition variable for a "release generation" to move past the one they saw
 * when the fault fired, so a release frees exactly the requests stalled before it, and requests
 * that stall afterwards wait for the next release.
 */
#include "fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fault {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool active;
    struct fault_spec spec;
    bool has_spec;       /* a spec was set and not cleared (it may be used up) */
    unsigned long fired; /* since the spec was set */
    long remaining;      /* with spec.times > 0 */
    unsigned long stalled;
    uint64_t release_generation;
    bool shutting_down;
};

/* ---- parsing ---- */

static const char *const known_fields[] = {"status",     "retry_after", "body",  "times",
                                           "latency_ms", "stall",       "reset", NULL};

static bool is_known_field(const char *key)
{
    for (size_t i = 0; known_fields[i]; i++)
        if (strcmp(known_fields[i], key) == 0)
            return true;
    return false;
}

/* Reads an optional integer field in [min, max]. *present tells whether it was given (null counts
 * as absent). */
static int get_integer(json_t *root, const char *key, long min, long max, long *out, bool *present,
                       struct error *err)
{
    json_t *v = json_object_get(root, key);
    *present = false;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "field \"%s\" must be an integer", key);
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "field \"%s\" must be between %ld and %ld, got %lld", key, min, max,
                         (long long)n);
    *out = (long)n;
    *present = true;
    return 0;
}

static int get_bool(json_t *root, const char *key, bool *out, struct error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "field \"%s\" must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

/* Retry-After goes into a response header: printable ASCII only, so a fault cannot inject
 * header lines. A number is accepted too and written in decimal (seconds). */
static int get_retry_after(json_t *root, char *out, struct error *err)
{
    json_t *v = json_object_get(root, "retry_after");
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "field \"retry_after\" must not be negative");
        snprintf(out, FAULT_RETRY_AFTER_MAX, "%lld", (long long)json_integer_value(v));
        return 0;
    }
    if (!json_is_string(v))
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "field \"retry_after\" must be a string or an integer");
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len >= FAULT_RETRY_AFTER_MAX)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "field \"retry_after\" must have 1 to %d characters",
                         FAULT_RETRY_AFTER_MAX - 1);
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return error_set(err, -EINVAL, ERROR_PERMANENT,
                             "field \"retry_after\" must be printable ASCII");
    memcpy(out, s, len + 1);
    return 0;
}

int fault_spec_parse(const char *text, size_t len, struct fault_spec *out, struct error *err)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = 0;
    if (!root)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "invalid JSON: %s (line %d, column %d)",
                         jerr.text, jerr.line, jerr.column);
    if (!json_is_object(root)) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT, "a fault must be a JSON object");
        goto fail;
    }
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        if (!is_known_field(key)) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "unknown field \"%s\"; known: status, retry_after, body, times, "
                           "latency_ms, stall, reset",
                           key);
            goto fail;
        }
    }
    long n;
    bool present;
    if ((rc = get_integer(root, "status", 200, 599, &n, &present, err)) < 0)
        goto fail;
    if (present)
        out->status = (int)n;
    if ((rc = get_integer(root, "times", 1, 1000000000L, &n, &present, err)) < 0)
        goto fail;
    if (present)
        out->times = n;
    if ((rc = get_integer(root, "latency_ms", 0, FAULT_LATENCY_MAX_MS, &n, &present, err)) < 0)
        goto fail;
    if (present)
        out->latency_ms = n;
    if ((rc = get_bool(root, "stall", &out->stall, err)) < 0 ||
        (rc = get_bool(root, "reset", &out->reset, err)) < 0 ||
        (rc = get_retry_after(root, out->retry_after, err)) < 0)
        goto fail;
    json_t *body = json_object_get(root, "body");
    if (body && !json_is_null(body)) {
        if (!json_is_string(body)) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT, "field \"body\" must be a string");
            goto fail;
        }
        if (json_string_length(body) > FAULT_BODY_MAX) {
            rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                           "field \"body\" must have at most %d bytes", FAULT_BODY_MAX);
            goto fail;
        }
        out->body = strdup(json_string_value(body));
        if (!out->body) {
            rc = error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
            goto fail;
        }
    }
    /* Rules across fields: say what is wrong rather than install a fault that cannot do what
     * its author meant. */
    if (out->reset && out->status) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "\"reset\" drops the connection without answering: it cannot be combined "
                       "with \"status\"");
        goto fail;
    }
    if (!out->status && (out->body || out->retry_after[0])) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "\"body\" and \"retry_after\" need a \"status\" to answer with");
        goto fail;
    }
    if (!out->status && !out->reset && !out->stall && out->latency_ms == 0) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "a fault needs at least one of status, latency_ms, stall, reset");
        goto fail;
    }
    json_decref(root);
    return 0;
fail:
    fault_spec_clear(out);
    json_decref(root);
    return rc;
}

void fault_spec_clear(struct fault_spec *spec)
{
    if (!spec)
        return;
    free(spec->body);
    memset(spec, 0, sizeof(*spec));
}

json_t *fault_spec_json(const struct fault_spec *spec)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int rc = 0;
    if (spec->status)
        rc |= json_object_set_new(o, "status", json_integer(spec->status));
    if (spec->retry_after[0])
        rc |= json_object_set_new(o, "retry_after", json_string(spec->retry_after));
    if (spec->body)
        rc |= json_object_set_new(o, "body", json_string(spec->body));
    if (spec->times)
        rc |= json_object_set_new(o, "times", json_integer(spec->times));
    if (spec->latency_ms)
        rc |= json_object_set_new(o, "latency_ms", json_integer(spec->latency_ms));
    rc |= json_object_set_new(o, "stall", json_boolean(spec->stall));
    rc |= json_object_set_new(o, "reset", json_boolean(spec->reset));
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- the injector ---- */

struct fault *fault_new(void)
{
    struct fault *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    /* Latency is measured on the monotonic clock: a wall-clock step must not stretch it. */
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&f->mutex, NULL);
    pthread_cond_init(&f->cond, &attr);
    pthread_condattr_destroy(&attr);
    return f;
}

void fault_free(struct fault *f)
{
    if (!f)
        return;
    fault_spec_clear(&f->spec);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mutex);
    free(f);
}

void fault_set(struct fault *f, struct fault_spec *spec)
{
    pthread_mutex_lock(&f->mutex);
    fault_spec_clear(&f->spec);
    f->spec = *spec;
    memset(spec, 0, sizeof(*spec));
    f->has_spec = true;
    f->active = true;
    f->fired = 0;
    f->remaining = f->spec.times;
    pthread_mutex_unlock(&f->mutex);
}

void fault_clear(struct fault *f)
{
    pthread_mutex_lock(&f->mutex);
    fault_spec_clear(&f->spec);
    f->has_spec = false;
    f->active = false;
    f->fired = 0;
    f->remaining = 0;
    f->release_generation++;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mutex);
}

void fault_release(struct fault *f)
{
    pthread_mutex_lock(&f->mutex);
    f->release_generation++;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mutex);
}

void fault_shutdown(struct fault *f)
{
    pthread_mutex_lock(&f->mutex);
    f->shutting_down = true;
    f->release_generation++;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mutex);
}

bool fault_take(struct fault *f, struct fault_action *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&f->mutex);
    if (!f->active) {
        pthread_mutex_unlock(&f->mutex);
        return false;
    }
    out->spec = f->spec;
    out->spec.body = NULL;
    out->release_generation = f->release_generation;
    f->fired++;
    if (f->spec.times > 0 && --f->remaining <= 0)
        f->active = false;
    const char *body = f->spec.body;
    /* Copying under the mutex keeps the body alive against a concurrent fault_set; the copy is
     * at most FAULT_BODY_MAX bytes. */
    if (body)
        out->spec.body = strdup(body);
    pthread_mutex_unlock(&f->mutex);
    return true;
}

void fault_action_clear(struct fault_action *action)
{
    if (!action)
        return;
    fault_spec_clear(&action->spec);
    action->release_generation = 0;
}

static void deadline_after_ms(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

void fault_wait(struct fault *f, const struct fault_action *action)
{
    pthread_mutex_lock(&f->mutex);
    if (action->spec.latency_ms > 0) {
        struct timespec deadline;
        deadline_after_ms(&deadline, action->spec.latency_ms);
        while (!f->shutting_down) {
            if (pthread_cond_timedwait(&f->cond, &f->mutex, &deadline) == ETIMEDOUT)
                break;
        }
    }
    if (action->spec.stall) {
        f->stalled++;
        while (!f->shutting_down && f->release_generation == action->release_generation)
            pthread_cond_wait(&f->cond, &f->mutex);
        f->stalled--;
    }
    pthread_mutex_unlock(&f->mutex);
}

json_t *fault_view(struct fault *f)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    pthread_mutex_lock(&f->mutex);
    json_t *spec = f->has_spec ? fault_spec_json(&f->spec) : json_null();
    bool active = f->active;
    unsigned long fired = f->fired, stalled = f->stalled;
    json_t *remaining = (f->has_spec && f->spec.times > 0)
                            ? json_integer(f->remaining > 0 ? f->remaining : 0)
                            : json_null();
    pthread_mutex_unlock(&f->mutex);
    int rc = json_object_set_new(o, "active", json_boolean(active));
    rc |= json_object_set_new(o, "fault", spec);
    rc |= json_object_set_new(o, "fired", json_integer((json_int_t)fired));
    rc |= json_object_set_new(o, "remaining", remaining);
    rc |= json_object_set_new(o, "stalled", json_integer((json_int_t)stalled));
    if (rc || !spec || !remaining) {
        json_decref(o);
        return NULL;
    }
    return o;
}

unsigned long fault_fired(struct fault *f)
{
    pthread_mutex_lock(&f->mutex);
    unsigned long n = f->fired;
    pthread_mutex_unlock(&f->mutex);
    return n;
}
