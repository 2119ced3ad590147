/*
 * ports.h - free loopback ports for the collector's listeners (scenarios never hold port
 * literals, so `ctest -j` runs do not collide).
 *
 * The fakes bind port 0 themselves and report what they got; the collector cannot (its config
 * needs a number), so the harness finds a free port below the kernel's ephemeral range (where
 * outgoing connections cannot take it in the meantime), releases it and passes it with --set.
 * Ports handed out by this process are remembered so one run never gets the same port twice,
 * and reserved machine-wide (a lock file in $TMPDIR/otel-ports/, see ports.c) so that no other
 * harness or benchmark hands them out while this process runs.
 */
#ifndef HARNESS_PORTS_H
#define HARNESS_PORTS_H

#include <stdbool.h>

#include "error.h"

/* A free TCP port on 127.0.0.1. Returns 0 or a negative code (message in err). */
int ports_allocate(int *port, struct error *err);

/* True when something accepts TCP connections on 127.0.0.1:port right now. */
bool ports_accepting(int port);

#endif
