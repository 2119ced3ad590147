/*
 * steps.c - the table of step kinds (steps.h) and what every step kind's run shares.
 *
 * The table plays the part of the collector's component registry
 * (reference/service/registry.c): the loader finds a kind by its name here and builds the
 * "expected one of" lists of its messages from it, so its order is the order those lists show.
 * What a kind does lives in its own file, and what it holds in its own header (step_<kind>.h);
 * nothing here knows one kind from another. Adding a kind is its file (and header) plus its
 * extern below and its entry in the table.
 */
#include "steps.h"

#include <errno.h>
#include <string.h>

/* Defined last in each step kind's file. */
extern const struct step_kind_desc step_otlp_kind;
extern const struct step_kind_desc step_fault_kind;
extern const struct step_kind_desc step_wait_kind;
extern const struct step_kind_desc step_restart_kind;
extern const struct step_kind_desc step_stop_kind;
extern const struct step_kind_desc step_start_kind;
extern const struct step_kind_desc step_pod_log_kind;
extern const struct step_kind_desc step_k8s_kind;
extern const struct step_kind_desc step_target_kind;

const struct step_kind_desc *const steps_registry[] = {
    &step_otlp_kind,  &step_fault_kind,   &step_wait_kind, &step_restart_kind, &step_stop_kind,
    &step_start_kind, &step_pod_log_kind, &step_k8s_kind,  &step_target_kind,  NULL,
};

const struct step_kind_desc *steps_find(const char *name)
{
    for (size_t i = 0; steps_registry[i]; i++)
        if (!strcmp(steps_registry[i]->name, name))
            return steps_registry[i];
    return NULL;
}

int steps_run(struct run_ctx *ctx, const struct step *st, char *detail, size_t size,
              struct error *err)
{
    detail[0] = '\0';
    if (!st->desc)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "unknown step kind");
    return st->desc->run(ctx, st, detail, size, err);
}

int steps_tally_lines(struct run_ctx *ctx, struct lines_tally *out, struct error *err)
{
    json_t *view = NULL;
    memset(out, 0, sizeof(*out));
    if (!ctx->pod_logs)
        return error_set(err, -EINVAL, ERROR_PERMANENT, "the scenario writes no pod logs");
    int rc = fakes_client_view(&ctx->fakes, "loki", &view, err);
    if (rc == 0)
        rc = lines_tally(ctx->pod_logs, view, out, err);
    json_decref(view);
    return rc;
}
