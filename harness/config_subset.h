/*
 * config_subset.h - runs part of a collector config: the scenario names the pipelines to run,
 * each with a subset of its receivers, processors and exporters, and the harness gives the
 * collector the config with only those pipelines and the components they use.
 *
 * Why a derived file and not --set: upstream's --set (and every extra --config) is merged into
 * the config (confmap: maps are joined, so `--set service.pipelines={logs: ...}` keeps the
 * metrics and traces pipelines), and nothing in confmap deletes a key. A collector that lacks
 * a component the config defines (otelcol-ref has no prometheus receiver or k8sattributes yet)
 * refuses the whole file as upstream does ("unknown type"), even when no pipeline uses it. So
 * the harness writes the subset to reports/NAME/config.yaml, passes that with --config, and
 * every other change (endpoints, paths) is still a --set on top, as for a full config.
 *
 * The subset cannot change the pipeline, only remove from it: each pipeline named must exist
 * in the config, its lists must be subsets of the config's (processors in the config's order),
 * and the components kept are copied as they are. What was removed is returned, so the report
 * can say which parts of the team's config a run did not exercise.
 */
#ifndef HARNESS_CONFIG_SUBSET_H
#define HARNESS_CONFIG_SUBSET_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

/* Applies `pipelines` (the scenario's `{id: {receivers, processors, exporters}}`) to `config`.
 * On success *effective is the new config (a new reference; `config` is not changed) and
 * *left_out describes what was removed:
 *   {"pipelines": ["metrics", "traces"],
 *    "from_pipelines": {"logs": {"processors": ["memory_limiter", ...]}},
 *    "components": ["receivers.prometheus", "processors.k8sattributes", ...]}
 * -EINVAL with a message naming the pipeline and the component when the subset is not one. */
int config_subset_apply(const json_t *config, const json_t *pipelines, json_t **effective,
                        json_t **left_out, struct error *err);

/* One line for the terminal: "left out: pipelines metrics, traces; from logs: processors
 * memory_limiter, k8sattributes, resourcedetection; receivers prometheus; ..." ("nothing left
 * out" when empty). */
void config_subset_describe(const json_t *left_out, char *buf, size_t size);

#endif
