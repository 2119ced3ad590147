/*
 * test_ports.c - the collector's ports: free to bind, never handed out twice, below the kernel's
 * ephemeral range (where outgoing connections cannot take them before the collector binds),
 * and reserved machine-wide while the process that got them runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

/* Another process (a parallel harness, scripts/bench) cannot take the lock of a port this one
 * was handed: `flock -n` on the same file fails while this process lives. */
static void test_a_port_handed_out_is_locked_for_other_processes(void **state)
{
    (void)state;
    char dir[] = "/tmp/otel-test-ports-XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("TMPDIR", dir, 1);
    int port;
    struct error err = {0};
    assert_int_equal(ports_allocate(&port, &err), 0);
    char path[128];
    snprintf(path, sizeof(path), "%s/otel-ports/%d.lock", dir, port);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) { /* another process: its own open file description of the lock */
        int fd = open(path, O_RDWR);
        _exit(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    unsetenv("TMPDIR");
    unlink(path);
    snprintf(path, sizeof(path), "%s/otel-ports", dir);
    rmdir(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ports_are_free_distinct_and_below_the_ephemeral_range),
        cmocka_unit_test(test_a_port_handed_out_is_locked_for_other_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
