/*
 * fault.c - the fault injector of fault.h.
 *
 * Mirrors nothing upstream: it stands in for the ways real backends fail (Loki 429 rate limits,
 * Tempo and Prometheus 5xx, slow or hung servers, dropped connections) so that scenarios can see
 * the collector's retry and queue behaviour (pipeline.md §6 and §11 item 5). How each status is
 * worded is the backend's business (the `refuse` function of its descriptor), not this file's.
 * gRPC terms (grpc_status, message, retry_info_delay) are parsed here and completed from the HTTP
 * terms and back (derive_terms), so that each front of a backend reads only its own fields.
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

#include "grpcd.h"
#include "options.h"

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

static const char *const known_fields[] = {
    "status",      "retry_after", "body",        "times",   "latency_ms",
    "stall",       "reset",       "grpc_status", "message", "retry_info_delay",
    "cut_watches", NULL};

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

int fault_http_status_for_grpc(int grpc_code)
{
    switch (grpc_code) {
    case GRPC_CODE_OK: return 200;
    case GRPC_CODE_CANCELLED:
    case GRPC_CODE_DEADLINE_EXCEEDED:
    case GRPC_CODE_ABORTED:
    case GRPC_CODE_OUT_OF_RANGE:
    case GRPC_CODE_UNAVAILABLE:
    case GRPC_CODE_DATA_LOSS: return 503;
    case GRPC_CODE_RESOURCE_EXHAUSTED: return 429;
    case GRPC_CODE_INVALID_ARGUMENT: return 400;
    case GRPC_CODE_UNAUTHENTICATED: return 401;
    case GRPC_CODE_PERMISSION_DENIED: return 403;
    case GRPC_CODE_UNIMPLEMENTED: return 404;
    default: return 500;
    }
}

int fault_grpc_code_for_http(int status)
{
    if (status >= 200 && status < 300)
        return GRPC_CODE_OK;
    switch (status) {
    case 400: return GRPC_CODE_INVALID_ARGUMENT;
    case 401: return GRPC_CODE_UNAUTHENTICATED;
    case 403: return GRPC_CODE_PERMISSION_DENIED;
    case 404: return GRPC_CODE_UNIMPLEMENTED;
    case 429: return GRPC_CODE_RESOURCE_EXHAUSTED;
    case 502:
    case 503:
    case 504: return GRPC_CODE_UNAVAILABLE;
    default: return GRPC_CODE_UNKNOWN;
    }
}

/* "UNAVAILABLE" (the protocol's name, as grpc_code_name spells it) or its number. */
static int get_grpc_code(json_t *root, struct fault_spec *out, struct error *err)
{
    json_t *v = json_object_get(root, "grpc_status");
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= GRPC_CODE_OK &&
        json_integer_value(v) <= GRPC_CODE_UNAUTHENTICATED) {
        out->grpc_code = (int)json_integer_value(v);
        out->has_grpc_code = true;
        return 0;
    }
    for (int code = GRPC_CODE_OK; json_is_string(v) && code <= GRPC_CODE_UNAUTHENTICATED; code++) {
        if (strcmp(json_string_value(v), grpc_code_name(code)) == 0) {
            out->grpc_code = code;
            out->has_grpc_code = true;
            return 0;
        }
    }
    return error_set(err, -EINVAL, ERROR_PERMANENT,
                     "field \"grpc_status\" must be a gRPC code name such as \"UNAVAILABLE\" or "
                     "\"RESOURCE_EXHAUSTED\", or its number (0 to 16)");
}

/* A gRPC status message goes into the grpc-message header (percent-encoded by gRPC): bounded so
 * that it fits the server's status buffer. */
static int get_message(json_t *root, struct fault_spec *out, struct error *err)
{
    json_t *v = json_object_get(root, "message");
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return error_set(err, -EINVAL, ERROR_PERMANENT, "field \"message\" must be a string");
    if (json_string_length(v) > FAULT_MESSAGE_MAX)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "field \"message\" must have at most %d bytes", FAULT_MESSAGE_MAX);
    out->message = strdup(json_string_value(v));
    if (!out->message)
        return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    return 0;
}

/* A Go-style duration ("1s", "250ms"), as RetryInfo's retry_delay is written in configs. */
static int get_retry_info_delay(json_t *root, struct fault_spec *out, struct error *err)
{
    json_t *v = json_object_get(root, "retry_info_delay");
    if (!v || json_is_null(v))
        return 0;
    int64_t ns;
    if (!json_is_string(v) || json_string_length(v) >= FAULT_DELAY_TEXT_MAX ||
        options_parse_duration(json_string_value(v), &ns) < 0 || ns < 0)
        return error_set(err, -EINVAL, ERROR_PERMANENT,
                         "field \"retry_info_delay\" must be a duration such as \"1s\" or "
                         "\"500ms\"");
    out->has_retry_info = true;
    out->retry_info_delay_ns = ns;
    snprintf(out->retry_info_delay, sizeof(out->retry_info_delay), "%s", json_string_value(v));
    return 0;
}

/* Fills the terms of the transport the author did not write (fault.h): each front then reads
 * only its own fields. */
static int derive_terms(struct fault_spec *out, struct error *err)
{
    if (out->has_grpc_code && !out->status) {
        out->status = fault_http_status_for_grpc(out->grpc_code);
        out->http_derived = true;
        if (out->message && !out->body && !(out->body = strdup(out->message)))
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    } else if (out->status && !out->has_grpc_code) {
        out->grpc_code = fault_grpc_code_for_http(out->status);
        out->has_grpc_code = true;
        out->grpc_derived = true;
        if (out->body && !out->message && !(out->message = strndup(out->body, FAULT_MESSAGE_MAX)))
            return error_set(err, -ENOMEM, ERROR_PERMANENT, "out of memory");
    }
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
                           "latency_ms, stall, reset, grpc_status, message, retry_info_delay, "
                           "cut_watches",
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
        (rc = get_bool(root, "cut_watches", &out->cut_watches, err)) < 0 ||
        (rc = get_retry_after(root, out->retry_after, err)) < 0 ||
        (rc = get_grpc_code(root, out, err)) < 0 || (rc = get_message(root, out, err)) < 0 ||
        (rc = get_retry_info_delay(root, out, err)) < 0)
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
    if (out->reset && (out->status || out->has_grpc_code)) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "\"reset\" drops the connection without answering: it cannot be combined "
                       "with \"%s\"",
                       out->status ? "status" : "grpc_status");
        goto fail;
    }
    if (!out->has_grpc_code && !out->status && (out->message || out->has_retry_info)) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "\"message\" and \"retry_info_delay\" need a \"grpc_status\" (or a "
                       "\"status\") to answer with");
        goto fail;
    }
    if (!out->status && (out->body || out->retry_after[0])) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "\"body\" and \"retry_after\" need a \"status\" to answer with");
        goto fail;
    }
    if (!fault_spec_per_request(out) && !out->cut_watches) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "a fault needs at least one of status, grpc_status, latency_ms, stall, "
                       "reset, cut_watches");
        goto fail;
    }
    if ((rc = derive_terms(out, err)) < 0)
        goto fail;
    if (out->has_retry_info && out->grpc_code == GRPC_CODE_OK) {
        rc = error_set(err, -EINVAL, ERROR_PERMANENT,
                       "\"retry_info_delay\" goes into the details of an error status: it "
                       "cannot be combined with grpc_status OK (or a 2xx status)");
        goto fail;
    }
    json_decref(root);
    return 0;
fail:
    fault_spec_clear(out);
    json_decref(root);
    return rc;
}

bool fault_spec_per_request(const struct fault_spec *spec)
{
    return spec->status || spec->has_grpc_code || spec->reset || spec->stall ||
           spec->latency_ms > 0;
}

void fault_spec_clear(struct fault_spec *spec)
{
    if (!spec)
        return;
    free(spec->body);
    free(spec->message);
    memset(spec, 0, sizeof(*spec));
}

json_t *fault_spec_json(const struct fault_spec *spec)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int rc = 0;
    if (spec->status && !spec->http_derived)
        rc |= json_object_set_new(o, "status", json_integer(spec->status));
    if (spec->retry_after[0])
        rc |= json_object_set_new(o, "retry_after", json_string(spec->retry_after));
    if (spec->body && !spec->http_derived)
        rc |= json_object_set_new(o, "body", json_string(spec->body));
    if (spec->has_grpc_code && !spec->grpc_derived)
        rc |= json_object_set_new(o, "grpc_status", json_string(grpc_code_name(spec->grpc_code)));
    if (spec->message && !spec->grpc_derived)
        rc |= json_object_set_new(o, "message", json_string(spec->message));
    if (spec->has_retry_info)
        rc |= json_object_set_new(o, "retry_info_delay", json_string(spec->retry_info_delay));
    if (spec->times)
        rc |= json_object_set_new(o, "times", json_integer(spec->times));
    if (spec->latency_ms)
        rc |= json_object_set_new(o, "latency_ms", json_integer(spec->latency_ms));
    rc |= json_object_set_new(o, "stall", json_boolean(spec->stall));
    rc |= json_object_set_new(o, "reset", json_boolean(spec->reset));
    if (spec->cut_watches)
        rc |= json_object_set_new(o, "cut_watches", json_true());
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
    out->spec.message = NULL;
    out->release_generation = f->release_generation;
    f->fired++;
    if (f->spec.times > 0 && --f->remaining <= 0)
        f->active = false;
    const char *body = f->spec.body;
    /* Copying under the mutex keeps the body alive against a concurrent fault_set; the copy is
     * at most FAULT_BODY_MAX bytes. */
    if (body)
        out->spec.body = strdup(body);
    if (f->spec.message)
        out->spec.message = strdup(f->spec.message);
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
