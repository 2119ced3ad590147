/*
 * otlpgrpc.h - the `otlp_grpc` exporter (deprecated alias `otlp`): its descriptor and the pieces
 * the unit tests check directly. Mirrors core@v0.144.0 exporter/otlpexporter (factory.go,
 * config.go, otlp.go) and config/configgrpc (ClientConfig); see otlpgrpc.c for what it does not
 * do.
 */
#ifndef OTEL_REF_OTLPGRPC_H
#define OTEL_REF_OTLPGRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "component.h"

extern const struct component_descriptor otlp_grpc_exporter_descriptor;

/* The endpoint rules of otlpexporter's Config.Validate and configgrpc's ClientConfig.Validate,
 * in their words: empty -> `requires a non-empty "endpoint"`; unix://<path> needs a path;
 * otherwise http://, https:// and dns:// (dns:/// too) are stripped and the rest must be
 * host:port as Go's net.SplitHostPort reads it ("address tempo: missing port in address") with a
 * port strconv.Atoi takes (`invalid port "x"`). Returns 0 or -EINVAL. */
int otlpgrpc_validate_endpoint(const char *endpoint, struct error *err);

/* Reads grpc-status-details-bin (a google.rpc.Status) for a google.rpc.RetryInfo detail, as
 * upstream's statusutil.GetRetryInfo: *has_retry_info and its delay (0 when absent or unset).
 * Returns 0, or -EINVAL when the bytes are not a Status (then no RetryInfo). */
int otlpgrpc_parse_status_details(const uint8_t *details, size_t len, bool *has_retry_info,
                                  int64_t *delay_ns);

/* Go's codes.Code.String(): "Unavailable", "ResourceExhausted", ..., "Code(17)". */
const char *otlpgrpc_go_code_name(int code, char *buf, size_t size);

#endif
