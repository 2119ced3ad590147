/*
 * otlp.h - the `otlp` receiver (gRPC and HTTP protocols): its descriptor and the pieces tests
 * use directly. Mirrors core@v0.144.0 receiver/otlpreceiver (config.go, factory.go, otlp.go,
 * otlphttp.go, internal/{trace,metrics,logs}/otlp.go), config/confighttp (server.go,
 * compression.go) and config/configgrpc (configgrpc.go); see otlp.c, otlp_http.c and
 * otlp_grpc.c for what they do and do not do.
 */
#ifndef OTEL_REF_OTLP_H
#define OTEL_REF_OTLP_H

#include <stddef.h>

#include "component.h"

extern const struct component_descriptor otlp_receiver_descriptor;

/* The port the receiver's HTTP server listens on once started (endpoint "127.0.0.1:0" picks an
 * ephemeral one), 0 when it does not listen. */
int otlp_receiver_http_port(const struct component *c);

/* The port of the receiver's gRPC server once started, 0 when it does not listen. */
int otlp_receiver_grpc_port(const struct component *c);

/* Go's mime.ParseMediaType as the receiver uses it: the lower-cased media type of a
 * Content-Type value, parameters checked and dropped ("Application/JSON; charset=utf-8" ->
 * "application/json"). Returns 0, or -EINVAL when Go would report an error (the receiver then
 * treats the type as unsupported). */
int otlp_http_media_type(const char *content_type, char *out, size_t size);

#endif
