/*
 * grpc_runtime.c - grpc_init/grpc_shutdown and gRPC core's log lines (see grpc_runtime.h).
 *
 * gRPC core logs through gpr_log (src/core/lib/gpr/log.cc): by default to stderr in its own
 * format, at GRPC_VERBOSITY (ERROR when unset). Routing it through log.h keeps every line of our
 * programs in one structured format; the level mapping is gRPC's DEBUG/INFO/ERROR to ours.
 */
#include "grpc_runtime.h"

#include <pthread.h>

#include <grpc/grpc.h>
#include <grpc/support/log.h>

#include "log.h"

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void route_grpc_log(gpr_log_func_args *args)
{
    enum log_level level = args->severity == GPR_LOG_SEVERITY_ERROR  ? LOG_ERROR
                           : args->severity == GPR_LOG_SEVERITY_INFO ? LOG_INFO
                                                                     : LOG_DEBUG;
    if (level == LOG_ERROR || log_get_level() <= level)
        log_msg(level, "grpc", "%s (%s:%d)", args->message ? args->message : "",
                args->file ? args->file : "?", args->line);
}

static void install_log_function(void)
{
    gpr_set_log_function(route_grpc_log);
}

void grpc_runtime_acquire(void)
{
    pthread_once(&log_once, install_log_function);
    grpc_init();
}

void grpc_runtime_release(void)
{
    grpc_shutdown();
}
