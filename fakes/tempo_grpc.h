/*
 * tempo_grpc.h - the gRPC front of the fake Tempo (DESIGN.md §4: "Tempo: gRPC
 * opentelemetry.proto.collector.trace.v1.TraceService/Export over h2c"), on its own port beside
 * the OTLP/HTTP one, as Tempo's distributor listens on 4317 beside 4318 (pipeline.md §9).
 *
 * It is a second front on the same fake, not a second fake: a request goes fault -> Tempo's
 * ingest (the same as HTTP's) -> request log, through the tempo fake's own fault
 * injector and request log, so `GET /v1/received/tempo`, `/v1/requests/tempo`, `/v1/stats` and
 * `PUT /v1/faults/tempo` cover both transports. The log marks gRPC entries with
 * "transport":"grpc" and the status answered by name.
 *
 * The server itself is common/grpcd (gRPC C core: HTTP/2, flow control, the 4 MiB receive limit,
 * gzip); this file only answers calls.
 */
#ifndef OTEL_FAKES_TEMPO_GRPC_H
#define OTEL_FAKES_TEMPO_GRPC_H

#include "error.h"

#define TEMPO_GRPC_EXPORT_METHOD "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

struct fake;
struct tempo_grpc;

/* Serves `fake` (the "tempo" fake of fakes.h, borrowed: it must outlive the server) over gRPC on
 * host:port (0 = ephemeral). NULL with `err` filled when it cannot listen. Caller owns; stop
 * with tempo_grpc_stop. */
struct tempo_grpc *tempo_grpc_start(struct fake *fake, const char *host, int port,
                                    struct error *err);
int tempo_grpc_port(const struct tempo_grpc *server);
/* Stops the server (calls still running must have been released from any stall first:
 * fault_shutdown) and frees it. NULL is accepted. */
void tempo_grpc_stop(struct tempo_grpc *server);

#endif
