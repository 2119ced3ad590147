/* ports.c - free-port allocation and a TCP readiness probe (see ports.h). */
#include "ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
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

static int bind_ephemeral(int *port, struct error *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return error_set(err, -errno, ERROR_PERMANENT, "socket: %s", strerror(errno));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    int rc = 0;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        rc = error_set(err, -errno, ERROR_PERMANENT, "binding an ephemeral port: %s",
                       strerror(errno));
    else
        *port = ntohs(addr.sin_port);
    close(fd);
    return rc;
}

int ports_allocate(int *port, struct error *err)
{
    for (int attempt = 0; attempt < 32; attempt++) {
        int rc = bind_ephemeral(port, err);
        if (rc < 0)
            return rc;
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
