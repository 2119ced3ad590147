/*
 * wiring.h - connects a scenario's collector config to this run's ports: the --set overrides
 * that point every otlp receiver at a fresh loopback port, every exporter at its fake, and the
 * self-metrics reader at a fresh port (DESIGN.md §2: local runs override only endpoints and
 * paths with --set; the config file itself is never rewritten).
 *
 * Ports are variables, never literals: they are chosen here for each run, so `ctest -j` runs
 * do not collide and the same scenario works against any collector that takes --set.
 */
#ifndef HARNESS_WIRING_H
#define HARNESS_WIRING_H

#include <stddef.h>

#include "error.h"
#include "scenario.h"

#define WIRING_MAX_SETS 64
#define WIRING_SET_MAX 1024
#define WIRING_MAX_RECEIVERS 8
#define WIRING_MAX_STORAGE 4

struct wiring_receiver {
    const char *id; /* borrowed from the config */
    int http_port;  /* 0 = no http protocol */
    int grpc_port;  /* 0 = no grpc protocol */
};

struct wiring {
    char sets[WIRING_MAX_SETS][WIRING_SET_MAX];
    char *set_ptrs[WIRING_MAX_SETS + 1]; /* NULL-terminated view of `sets` for templates */
    size_t set_count;
    struct wiring_receiver receivers[WIRING_MAX_RECEIVERS];
    size_t receiver_count;
    int metrics_port;
    int listen_ports[2 * WIRING_MAX_RECEIVERS + 1]; /* what must accept before "ready" */
    size_t listen_count;
    /* file_storage directories on this host (wiring_build_files), for `checkpointed` waits */
    char storage_dirs[WIRING_MAX_STORAGE][WIRING_SET_MAX];
    size_t storage_count;
};

/* Allocates the ports and builds the overrides: the scenario's own `set:` first, then the
 * harness's (so a scenario cannot override a port by accident). `endpoints[fake]` is the base
 * URL of each fake (fakes_client_endpoint). A scenario that maps an otlp/otlp_grpc exporter
 * needs wiring_build_grpc. */
int wiring_build(struct wiring *w, const struct scenario *s, char endpoints[FAKE_COUNT][256],
                 struct error *err);
/* The same, with `grpc_targets[fake]`, the host:port of each fake's gRPC front ("" when it has
 * none, fakes_client_grpc_target): an otlp/otlp_grpc exporter gets `endpoint: host:port` and
 * `tls.insecure: true` (the fakes speak plaintext h2c, as the team's Tempo does). -EINVAL when
 * an exporter is mapped to a fake without a gRPC front. */
int wiring_build_grpc(struct wiring *w, const struct scenario *s, char endpoints[FAKE_COUNT][256],
                      char grpc_targets[FAKE_COUNT][256], struct error *err);

/* Points the config's files at the run's own host tree under `host_root` (DESIGN.md §5: the
 * collector's include/exclude are pointed at the scenario's temporary root): every absolute
 * include/exclude glob of a filelog receiver gets `host_root` in front (so
 * /var/log/pods/x/y/z.log is read from <host_root>/var/log/pods/...), and every file_storage
 * extension's directory (default /var/lib/otelcol/file_storage) and compaction.directory
 * likewise; those folders are created, since upstream's file_storage requires them to exist.
 * Relative globs are left alone. Appends to the overrides wiring_build made. */
int wiring_build_files(struct wiring *w, const struct scenario *s, const char *host_root,
                       struct error *err);

/* The http port of receiver `id` (NULL = the first otlp receiver with http), or 0. */
int wiring_http_port(const struct wiring *w, const char *id);
/* The grpc port of receiver `id` (NULL = the first otlp receiver with grpc), or 0. */
int wiring_grpc_port(const struct wiring *w, const char *id);

#endif
