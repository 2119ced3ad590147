/*
 * test_steps.c - the table of step kinds (steps.h): what the loader and the runner rely on when
 * they know a kind only through its descriptor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "steps.h"

static void test_every_kind_is_found_by_its_name(void **state)
{
    (void)state;
    size_t count = 0;
    for (size_t i = 0; steps_registry[i]; i++, count++)
        assert_ptr_equal(steps_find(steps_registry[i]->name), steps_registry[i]);
    assert_int_equal(count, 9);
    assert_null(steps_find("sleep"));
    assert_null(steps_find(""));
}

/* Code that must tell kinds apart (tests) compares descriptors or their names, so each entry is
 * its own descriptor with its own name. The loader calls a kind's free only on allocated data,
 * so a kind that frees something must declare the size of its data. */
static void test_every_kind_can_load_and_run_and_has_its_own_name(void **state)
{
    (void)state;
    for (size_t i = 0; steps_registry[i]; i++) {
        const struct step_kind_desc *d = steps_registry[i];
        assert_non_null(d->name);
        assert_non_null(d->load);
        assert_non_null(d->run);
        if (d->free)
            assert_true(d->data_size > 0);
        for (size_t j = 0; j < i; j++) {
            assert_ptr_not_equal(steps_registry[j], d);
            assert_string_not_equal(steps_registry[j]->name, d->name);
        }
    }
}

/* The stop/start rules of the loader hold only if stopping and starting kinds exist and neither
 * claims to run while the collector is stopped. */
static void test_stop_and_start_are_described_consistently(void **state)
{
    (void)state;
    const struct step_kind_desc *stop = steps_find("stop"), *start = steps_find("start");
    assert_non_null(stop);
    assert_non_null(start);
    assert_int_equal(stop->collector, STEP_COLLECTOR_STOPS);
    assert_int_equal(start->collector, STEP_COLLECTOR_STARTS);
    for (size_t i = 0; steps_registry[i]; i++)
        if (steps_registry[i]->collector != STEP_COLLECTOR_KEPT)
            assert_false(steps_registry[i]->while_stopped || steps_registry[i]->before_start);
    assert_true(steps_find("pod_log")->before_start);
    assert_true(steps_find("pod_log")->while_stopped);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_is_found_by_its_name),
        cmocka_unit_test(test_every_kind_can_load_and_run_and_has_its_own_name),
        cmocka_unit_test(test_stop_and_start_are_described_consistently),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
