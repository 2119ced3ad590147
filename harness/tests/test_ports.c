/*
 * test_ports.c - the collector's ports: free to bind, never handed out twice, below the kernel's
 * ephemeral range (where outgoing connections cannot take them before the collector binds).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ports.h"

static int ephemeral_low(void)
{
    int low = 32768, high = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        assert_int_equal(fscanf(f, "%d %d", &low, &high), 2);
        fclose(f);
    }
    return low;
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_ports_are_free_distinct_and_below_the_ephemeral_range(void **state)
{
    (void)state;
    enum { N = 20 };
    int ports[N], fds[N];
    int low = ephemeral_low();
    for (int i = 0; i < N; i++) {
        struct error err = {0};
        assert_int_equal(ports_allocate(&ports[i], &err), 0);
        for (int k = 0; k < i; k++)
            assert_int_not_equal(ports[i], ports[k]);
        if (low > 10000 + 256)
            assert_true(ports[i] >= 10000 && ports[i] < low);
        /* Free for real: the collector will bind it; hold it so the next ones differ anyway. */
        fds[i] = listen_on(ports[i]);
        assert_true(fds[i] >= 0);
        assert_true(ports_accepting(ports[i]));
    }
    for (int i = 0; i < N; i++)
        close(fds[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ports_are_free_distinct_and_below_the_ephemeral_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
