/*
 * service.h - builds and runs the pipelines of a validated config: one shared instance per
 * receiver and exporter, one processor instance per pipeline, consumers chained through
 * `struct consumer`, and the self-metrics endpoint.
 *
 * Mirrors core@v0.144.0 service/service.go, service/extensions and service/internal/graph (build
 * order, start order extensions -> exporters -> processors (last first) -> receivers, shutdown
 * in reverse, fan-out of a receiver shared by several pipelines and of a pipeline's exporters)
 * and service/telemetry/otelconftelemetry (pull Prometheus readers serving /metrics).
 */
#ifndef OTEL_REF_SERVICE_H
#define OTEL_REF_SERVICE_H

#include <stddef.h>

#include "component.h"
#include "config.h"
#include "error.h"
#include "telemetry.h"

/* ---- fan-out ---- */

/* A consumer that hands each payload to every target, in order: a clone to all but the last,
 * the original to the last (DESIGN.md §3). It returns 0 when every target accepted; otherwise
 * the errors joined with "; " (as multierr does), PERMANENT if any target failed permanently,
 * else the first error's kind. The targets are borrowed and must outlive the fan-out.
 * Returns 0 or -ENOMEM; the caller owns *out (fanout_consumer_destroy). */
int fanout_consumer_create(struct consumer *const *targets, size_t count, struct consumer **out);
void fanout_consumer_destroy(struct consumer *fanout); /* NULL is accepted */

/* ---- the service ---- */

struct service;

/* Creates every component the pipelines use (create callbacks only: nothing listens yet) and
 * the self-metrics registry. `cfg` is borrowed and must outlive the service. Unused receivers
 * and exporters are not created, as upstream. Returns 0 or a negative code with err naming the
 * component ("receivers.otlp: ..."); on failure *out is NULL and everything built is freed. */
int service_create(const struct config *cfg, struct service **out, struct error *err);

/* Starts the self-metrics endpoints, then exporters, processors (last of each pipeline first)
 * and receivers. On failure what was started is shut down again; the caller still destroys. */
int service_start(struct service *s, struct error *err);

/* Stops receivers, then processors (first to last, so batches flush downstream), then
 * exporters, each bounded by `timeout_ms` from now; then the metrics endpoints. Idempotent. */
void service_shutdown(struct service *s, long long timeout_ms);

/* Destroys every component and the registry. Accepts a half-built service and NULL. */
void service_destroy(struct service *s);

/* The running instance of a receiver or exporter, or of the processor `id` in `pipeline_id`
 * (NULL for receivers and exporters); NULL when there is none. Borrowed. */
struct component *service_find_component(struct service *s, enum component_kind kind,
                                         const char *id, const char *pipeline_id);

/* The extension `id` ("file_storage", "file_storage/x") of the service that runs `requester`,
 * as upstream's component.Host.GetExtensions gives it: NULL when the service has no such
 * extension (not configured, or not listed in service.extensions). Extensions start before
 * every other component and stop after them, so a component may use what it gets from its
 * start callback until its shutdown returns. Borrowed. Thread-safe. */
struct component *service_host_extension(const struct component *requester, const char *id);

/* The self-metrics registry (borrowed). */
struct telemetry *service_telemetry(struct service *s);

/* The port the `index`th metrics endpoint listens on (0 when it does not run). */
int service_metrics_port(const struct service *s, size_t index);

/* Renders the registry as the endpoint serves it: with `type_suffix`, counter families get the
 * `_total` suffix an explicit Prometheus reader adds (see service.c). Caller frees. NULL on
 * ENOMEM. */
char *service_render_metrics(struct telemetry *t, bool type_suffix, size_t *len);

/* Monotonic clock in milliseconds (the time base of component shutdown deadlines). */
long long service_now_ms(void);

#endif
