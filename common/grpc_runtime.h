/*
 * grpc_runtime.h - what grpcd.c and grpcc.c share about the gRPC C core library itself: one
 * grpc_init per server or client (gRPC core counts them and cleans up at the last
 * grpc_shutdown), and gRPC's own log lines routed into log.h's format (comp=grpc) instead of
 * gRPC's `E0102 ...` lines on stderr. Not for use outside common/grpc*.c.
 */
#ifndef OTEL_COMMON_GRPC_RUNTIME_H
#define OTEL_COMMON_GRPC_RUNTIME_H

/* grpc_init(), routing gRPC's logs first (once per process). */
void grpc_runtime_acquire(void);
/* grpc_shutdown(); the last one frees gRPC core's globals and joins its threads. Every server,
 * channel and call of the caller must be destroyed before. */
void grpc_runtime_release(void);

#endif
