/* Unit tests for strbuf: growth, the hard maximum, sticky errors, hand-off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static void test_appends_grow_and_stay_terminated(void **state)
{
    struct strbuf b = STRBUF_INIT(1 << 20);
    assert_string_equal(strbuf_str(&b), "");
    for (int i = 0; i < 1000; i++)
        strbuf_printf(&b, "%d,", i);
    strbuf_putc(&b, '!');
    assert_int_equal(b.len, strlen(strbuf_str(&b)));
    assert_non_null(strstr(strbuf_str(&b), "998,999,!"));
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(strbuf_finish(&b, &out, &len), 0);
    assert_int_equal(len, strlen(out));
    assert_null(b.data);
    free(out);
}

static void test_past_the_maximum_is_a_sticky_error(void **state)
{
    struct strbuf b = STRBUF_INIT(8);
    strbuf_puts(&b, "12345678");
    assert_int_equal(b.error, 0);
    strbuf_putc(&b, '9');
    assert_int_equal(b.error, -E2BIG);
    strbuf_puts(&b, ""); /* ignored after the error */
    char *out = NULL;
    assert_int_equal(strbuf_finish(&b, &out, NULL), -E2BIG);
    assert_null(out);
    assert_null(b.data);
}

static void test_long_printf_is_not_truncated(void **state)
{
    struct strbuf b = STRBUF_INIT(1 << 20);
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    strbuf_printf(&b, "<%s>", big);
    assert_int_equal(b.len, sizeof(big) + 1);
    strbuf_release(&b);
}

static void test_finish_of_an_empty_buffer_gives_an_empty_string(void **state)
{
    struct strbuf b = STRBUF_INIT(16);
    char *out = NULL;
    assert_int_equal(strbuf_finish(&b, &out, NULL), 0);
    assert_string_equal(out, "");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appends_grow_and_stay_terminated),
        cmocka_unit_test(test_past_the_maximum_is_a_sticky_error),
        cmocka_unit_test(test_long_printf_is_not_truncated),
        cmocka_unit_test(test_finish_of_an_empty_buffer_gives_an_empty_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
