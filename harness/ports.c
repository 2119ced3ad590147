/* ports.c - free-port allocation and a TCP readiness probe (see ports.h). */
#include "ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PORTS_REMEMBERED 64

static int handed_out[PORTS_REMEMBERED];
static int handed_out_count;

static bool already_handed_out(int port)
{
    for (int i = 0; i < handed_out_count; i++)
        if (handed_out[i] == port)
            return true;
    return false;
}

/* Binds 127.0.0.1:port (0 = let the kernel choose) and releases it at once. 0 with *port set,
 * or -errno (-EADDRINUSE when taken). */
static int bind_release(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    int rc = 0;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        rc = -errno;
    else
        *port = ntohs(addr.sin_port);
    close(fd);
    return rc;
}

/* The lowest port of the kernel's ephemeral range (net.ipv4.ip_local_port_range). */
static int ephemeral_low(void)
{
    int low = 32768, high = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d %d", &low, &high) != 2)
            low = 32768;
        fclose(f);
    }
    return low;
}

/* A port found free is still free only until someone binds it, and the collector binds it
 * seconds later (under valgrind, many). Parallel harnesses (ctest -j) and the benchmarks
 * (scripts/bench) therefore reserve what they hand out: a lock file per port in
 * $TMPDIR/otel-ports/, held with flock until the holder exits (the kernel lets go of it then,
 * even after a crash, so a stale file reserves nothing). The files stay: empty, at most one per
 * port of the range, and removing one would race with a process about to lock it. A port whose
 * lock another process holds is skipped. Returns true when this process now holds the port's lock;
 * false when another does. Where no lock can be made at all (an unwritable TMPDIR), the port is
 * taken without one: the bind check below still applies. */
static bool reserve(int port)
{
    const char *tmp = getenv("TMPDIR");
    char dir[512], path[600];
    snprintf(dir, sizeof(dir), "%s/otel-ports", tmp && *tmp ? tmp : "/tmp");
    if (mkdir(dir, 0777) < 0 && errno != EEXIST)
        return true;
    snprintf(path, sizeof(path), "%s/%d.lock", dir, port);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return true;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return false;
    }
    return true; /* fd stays open (and locked) for the life of the process, on purpose */
}

/* Ports are chosen below the ephemeral range: a port released there can be taken again at once
 * as the local port of any outgoing connection (curl, gRPC, the fakes' clients: many of them
 * when ctest runs scenarios in parallel) before the collector binds it. Below the range only
 * another listener can take it, and parallel harnesses start their search at different random
 * places. The kernel's choice is the fallback. */
#define PORTS_LOW 10000

int ports_allocate(int *port, struct error *err)
{
    static unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    int high = ephemeral_low() - 1;
    if (high > PORTS_LOW + 256) {
        int span = high - PORTS_LOW + 1;
        int start = (int)(rand_r(&seed) % (unsigned)span);
        for (int i = 0; i < 256; i++) {
            int candidate = PORTS_LOW + (start + i) % span;
            if (already_handed_out(candidate) || bind_release(&candidate) < 0 ||
                !reserve(candidate))
                continue;
            if (handed_out_count < PORTS_REMEMBERED)
                handed_out[handed_out_count++] = candidate;
            *port = candidate;
            return 0;
        }
    }
    for (int attempt = 0; attempt < 32; attempt++) {
        *port = 0;
        int rc = bind_release(port);
        if (rc < 0)
            return error_set(err, rc, ERROR_PERMANENT, "binding an ephemeral port: %s",
                             strerror(-rc));
        if (already_handed_out(*port))
            continue;
        if (handed_out_count < PORTS_REMEMBERED)
            handed_out[handed_out_count++] = *port;
        return 0;
    }
    return error_set(err, -EADDRINUSE, ERROR_PERMANENT, "no new free port after 32 attempts");
}

bool ports_accepting(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    return ok;
}
