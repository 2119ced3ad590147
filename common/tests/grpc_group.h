/*
 * grpc_group.h - cmocka group setup and teardown for tests that start gRPC servers or clients:
 * the group holds one reference to gRPC core (grpc_runtime.h) from its first test to its
 * last, so that each test's servers and channels do not initialise and shut gRPC core down
 * again. Every test still creates and destroys its own servers, channels and calls; the last
 * release at the group's end joins gRPC's threads before valgrind's leak check. Under
 * valgrind the library's start and shutdown cost more than most tests themselves.
 * Header-only (cmake/OtelTests.cmake puts common/tests on every test's include path).
 */
#ifndef OTEL_TESTS_GRPC_GROUP_H
#define OTEL_TESTS_GRPC_GROUP_H

#include "grpc_runtime.h"

static inline int grpc_group_setup(void **state)
{
    (void)state;
    grpc_runtime_acquire();
    return 0;
}

static inline int grpc_group_teardown(void **state)
{
    (void)state;
    grpc_runtime_release();
    return 0;
}

#endif
