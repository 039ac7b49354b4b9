/* SPDX-License-Identifier: MIT */
/* test_hlc.c - hybrid logical clock: monotonic across clock steps, merging remote versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hlc.h"

#define T0 INT64_C(1800000000000) /* ms */

static void test_hlc_layout(void **state)
{
	uint64_t v = hlc_make(T0, 7);

	(void)state;
	assert_int_equal(hlc_wall_ms(v), T0);
	assert_int_equal(hlc_logical(v), 7);
	assert_int_equal(v, ((uint64_t)T0 << 16) | 7);
	assert_int_equal(hlc_wall_ms(hlc_make(-5, 0)), 0);
	assert_int_equal(hlc_wall_ms(hlc_make(INT64_MAX, 0)), HLC_WALL_MAX_MS);
}

static void test_hlc_advancing_clock(void **state)
{
	struct hlc c;

	(void)state;
	hlc_init(&c);
	assert_int_equal(hlc_now(&c, T0), hlc_make(T0, 0));
	assert_int_equal(hlc_now(&c, T0), hlc_make(T0, 1));
	assert_int_equal(hlc_now(&c, T0), hlc_make(T0, 2));
	assert_int_equal(hlc_now(&c, T0 + 1), hlc_make(T0 + 1, 0));
}

static void test_hlc_clock_goes_backwards(void **state)
{
	struct hlc c;
	uint64_t prev, v;
	int64_t wall[] = {T0, T0 + 50, T0 - 1000, T0 - 2000, T0 + 10, T0 + 49, T0 + 51, 0};
	size_t i;

	(void)state;
	hlc_init(&c);
	prev = hlc_now(&c, wall[0]);
	for (i = 1; i < sizeof(wall) / sizeof(wall[0]); i++) {
		v = hlc_now(&c, wall[i]);
		assert_true(v > prev);
		prev = v;
	}
	/* while the wall clock was behind, the millisecond part stayed at T0 + 50 */
	assert_int_equal(hlc_wall_ms(prev), T0 + 51);
}

static void test_hlc_counter_overflow_carries(void **state)
{
	struct hlc c;
	uint64_t v;

	(void)state;
	hlc_init(&c);
	c.last = hlc_make(T0, 0xffff);
	v = hlc_now(&c, T0);
	assert_int_equal(v, hlc_make(T0 + 1, 0));
	assert_true(hlc_now(&c, T0 - 10) > v);
}

static void test_hlc_observe(void **state)
{
	struct hlc c;
	uint64_t remote = hlc_make(T0 + 5000, 3), v;

	(void)state;
	hlc_init(&c);
	hlc_now(&c, T0);
	assert_int_equal(hlc_observe(&c, remote, T0, NULL), PSM_OK);
	v = hlc_now(&c, T0);
	assert_true(v > remote);
	assert_int_equal(v, hlc_make(T0 + 5000, 4));
	/* an older remote changes nothing */
	assert_int_equal(hlc_observe(&c, hlc_make(T0 - 100, 0), T0, NULL), PSM_OK);
	assert_int_equal(hlc_now(&c, T0), hlc_make(T0 + 5000, 5));
}

static void test_hlc_observe_far_future_refused(void **state)
{
	struct hlc c;
	struct psm_err e = {0};
	uint64_t before;

	(void)state;
	hlc_init(&c);
	before = hlc_now(&c, T0);
	assert_int_equal(hlc_observe(&c, hlc_make(T0 + HLC_MAX_AHEAD_MS + 1, 0), T0, &e),
			 PSM_EINVAL);
	assert_non_null(strstr(e.msg, "ahead of this host's clock"));
	assert_int_equal(c.last, before);
	assert_int_equal(hlc_observe(&c, hlc_make(T0 + HLC_MAX_AHEAD_MS, 0), T0, NULL), PSM_OK);
}

static void test_hlc_restore_after_restart(void **state)
{
	struct hlc c;
	uint64_t saved = hlc_make(T0 + HLC_MAX_AHEAD_MS * 2, 9); /* clock since stepped back */

	(void)state;
	hlc_init(&c);
	hlc_restore(&c, saved);
	assert_true(hlc_now(&c, T0) > saved);
	hlc_restore(&c, 1); /* older: no effect */
	assert_int_equal(hlc_now(&c, T0), hlc_make(T0 + HLC_MAX_AHEAD_MS * 2, 11));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hlc_layout),
	    cmocka_unit_test(test_hlc_advancing_clock),
	    cmocka_unit_test(test_hlc_clock_goes_backwards),
	    cmocka_unit_test(test_hlc_counter_overflow_carries),
	    cmocka_unit_test(test_hlc_observe),
	    cmocka_unit_test(test_hlc_observe_far_future_refused),
	    cmocka_unit_test(test_hlc_restore_after_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
