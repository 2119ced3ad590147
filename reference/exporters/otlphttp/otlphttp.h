/*
 * otlphttp.h - the `otlp_http` exporter (deprecated alias `otlphttp`): its descriptor and the
 * pieces the unit tests check directly. Mirrors core@v0.144.0 exporter/otlphttpexporter
 * (factory.go composeSignalURL, config.go, otlp.go); see otlphttp.c for what it does not do.
 */
#ifndef OTEL_REF_OTLPHTTP_H
#define OTEL_REF_OTLPHTTP_H

#include <stddef.h>

#include "component.h"

extern const struct component_descriptor otlp_http_exporter_descriptor;

/* Upstream's composeSignalURL: a non-empty `signal_endpoint` is used verbatim; otherwise
 * `endpoint` + "/v1/<signal>" ("v1/<signal>" when the endpoint already ends with "/"). Writes
 * the URL into `out`. Returns 0, -EINVAL with err "either endpoint or <signal>_endpoint must be
 * specified" when both are empty, or -ENAMETOOLONG when `out` is too small. */
int otlphttp_compose_url(const char *endpoint, const char *signal_endpoint, const char *signal,
                         char *out, size_t size, struct error *err);

/* The User-Agent otelcol-ref sends: "OpenTelemetry Collector Reference/0.144.0 (linux/amd64)". */
const char *otlphttp_user_agent(void);

#endif
