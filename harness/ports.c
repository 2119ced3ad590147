/* ports.c - free-port allocation and a TCP readiness probe (see ports.h). */
#include "ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
            if (already_handed_out(candidate) || bind_release(&candidate) < 0)
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
