/*
 * step_fault.c - the `fault` step: sets or clears the fault one fake injects into the requests it
 * gets, through the fakes' control API (PUT/DELETE /v1/faults/{fake}, fakes/fault.h).
 *
 * `- fault: {loki: {status: 503, retry_after: "1", times: 2}}` or `- fault: {loki: clear}`. The
 * spec is checked at load time against the keys the fakes' fault injector takes, so a typo fails
 * with the scenario's file and line rather than as a control API error halfway through a run;
 * then it is sent as written. It is not interpreted here: the fake applies it (fakes/fault.h).
 *
 * What a loaded step holds is struct step_fault (step_fault.h); the descriptor, defined last,
 * is this kind's entry in the table of steps.c.
 */
#include "step_fault.h"
#include "steps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_loader.h"

/* ---- load ---- */

/* The body is `{fake: spec}`, not one fixed mapping, so the descriptor has no field table: the
 * spec's keys are these. */
static const struct field fault_spec_fields[] = {
    {"status", FIELD_INT, false, "an HTTP status the fake answers with, e.g. 503"},
    {"retry_after", FIELD_STR | FIELD_INT, false, "a Retry-After value in seconds, e.g. \"2\""},
    {"body", FIELD_STR, false, "the message of the error body"},
    {"times", FIELD_INT, false, "how many requests the fault applies to (omit: until cleared)"},
    {"latency_ms", FIELD_INT, false, "a delay in milliseconds before answering"},
    {"stall", FIELD_BOOL, false, "true to hold requests until the fault is cleared"},
    {"reset", FIELD_BOOL, false, "true to drop the connection without answering"},
    {"grpc_status", FIELD_STR | FIELD_INT, false,
     "a gRPC status a gRPC front answers with, e.g. UNAVAILABLE or RESOURCE_EXHAUSTED"},
    {"message", FIELD_STR, false, "the gRPC status message"},
    {"retry_info_delay", FIELD_STR, false,
     "a delay such as \"1s\" for a google.rpc.RetryInfo in the gRPC status details"},
    {NULL, 0, false, NULL},
};

int step_fault_check_spec(struct loader *l, const json_t *spec, int line, const char *path)
{
    int rc = loader_check_fields(l, spec, line, path, fault_spec_fields);
    if (rc < 0)
        return rc;
    const json_t *status = json_object_get(spec, "status");
    if (status && (json_integer_value(status) < 200 || json_integer_value(status) > 599))
        return loader_fail(l, line, path, "status: expected 200-599");
    if (!status && !json_object_get(spec, "grpc_status") &&
        !loader_get_bool(spec, "reset", false) && !loader_get_bool(spec, "stall", false) &&
        !json_object_get(spec, "latency_ms"))
        return loader_fail(l, line, path,
                           "a fault needs status, reset, stall or latency_ms (or grpc_status)");
    const json_t *times = json_object_get(spec, "times");
    if (times && json_integer_value(times) < 1)
        return loader_fail(l, line, path,
                           "times: expected at least 1 (omit it for \"until cleared\")");
    return 0;
}

static int load_fault_step(struct loader *l, struct step *st, const json_t *obj, const char *path,
                           int line)
{
    struct step_fault *f = step_fault_data(st);
    if (!json_is_object(obj) || json_object_size(obj) != 1)
        return loader_fail(l, line, path,
                           "expected one fake and its fault, e.g. {loki: {status: 503, "
                           "retry_after: \"1\", times: 2}} or {loki: clear}");
    const char *key = json_object_iter_key(json_object_iter((json_t *)obj));
    const json_t *spec = json_object_get(obj, key);
    int kline = loader_line_of_key(l, obj, key, line);
    if (scenario_fake_parse(key, &f->fake) < 0)
        return loader_fail(l, kline, path,
                           "unknown fake \"%s\" (expected one of: prometheus, loki, "
                           "tempo)",
                           key);
    char sub[512];
    loader_join(sub, sizeof(sub), path, key);
    if (json_is_string(spec) && !strcmp(json_string_value(spec), "clear")) {
        f->clear = true;
        snprintf(st->label, sizeof(st->label), "fault %s clear", key);
        return 0;
    }
    int rc = step_fault_check_spec(l, spec, kline, sub);
    if (rc < 0)
        return rc;
    const json_t *status = json_object_get(spec, "status");
    const json_t *grpc_status = json_object_get(spec, "grpc_status");
    const json_t *times = json_object_get(spec, "times");
    f->spec = spec;
    char times_text[32] = "";
    if (times)
        snprintf(times_text, sizeof(times_text), " x%" JSON_INTEGER_FORMAT,
                 json_integer_value(times));
    char what[32];
    if (status)
        snprintf(what, sizeof(what), "%" JSON_INTEGER_FORMAT, json_integer_value(status));
    else if (json_is_string(grpc_status))
        snprintf(what, sizeof(what), "%s", json_string_value(grpc_status));
    else if (grpc_status)
        snprintf(what, sizeof(what), "grpc %" JSON_INTEGER_FORMAT, json_integer_value(grpc_status));
    else
        snprintf(what, sizeof(what), "%s",
                 loader_get_bool(spec, "reset", false)   ? "reset"
                 : loader_get_bool(spec, "stall", false) ? "stall"
                                                         : "delay");
    snprintf(st->label, sizeof(st->label), "fault %s %s%s", key, what, times_text);
    return 0;
}

/* ---- run ---- */

static int run_fault(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
                     struct error *err)
{
    const struct step_fault *f = step_fault_data(st);
    int rc = f->clear ? fakes_client_clear_fault(&ctx->fakes, f->fake, err)
                      : fakes_client_put_fault(&ctx->fakes, f->fake, f->spec, err);
    if (rc == 0 && !f->clear) {
        char *text = json_dumps(f->spec, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(detail, size, "%s: %s", scenario_fake_name(f->fake), text ? text : "");
        free(text);
    }
    return rc;
}

/* The spec is borrowed from the document: nothing to free. */
const struct step_kind_desc step_fault_kind = {
    .name = "fault",
    .data_size = sizeof(struct step_fault),
    .load = load_fault_step,
    .run = run_fault,
};
