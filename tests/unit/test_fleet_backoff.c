/* SPDX-License-Identifier: MIT */
/* test_fleet_backoff.c - reconnect delays: within 100 ms..30 s, growing, jittered, reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

/* Every retry count and extreme random value stays within [100 ms, 30 s] and [ceil/2, ceil]. */
static void test_bounds(void **state)
{
	const uint32_t rnds[] = {0, 1, 12345, 0x7fffffffu, 0xffffffffu};

	(void)state;
	for (unsigned f = 0; f < 200; f++) {
		unsigned ceil = f < 9 ? BACKOFF_MIN_MS << f : BACKOFF_MAX_MS;

		if (ceil > BACKOFF_MAX_MS)
			ceil = BACKOFF_MAX_MS;
		for (size_t i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
			unsigned d = backoff_delay_ms(f, rnds[i]);

			assert_in_range(d, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
			assert_in_range(d, ceil / 2, ceil);
		}
	}
	assert_int_equal(backoff_delay_ms(0, 0), BACKOFF_MIN_MS);
	assert_int_equal(backoff_delay_ms(100, 0xffffffffu) <= BACKOFF_MAX_MS, 1);
	assert_int_equal(backoff_delay_ms(UINT32_MAX, 0), BACKOFF_MAX_MS / 2);
}

/* The ceiling doubles per failure up to 30 s: the largest delay of retry n grows. */
static void test_growth_and_reset(void **state)
{
	struct backoff b;
	unsigned prev = 0, d = 0;

	(void)state;
	for (unsigned f = 0; f < 9; f++) {
		unsigned top = backoff_delay_ms(f, UINT32_MAX - 1);

		assert_true(top > prev);
		prev = top;
	}
	assert_int_equal(backoff_delay_ms(9, 15000), BACKOFF_MAX_MS);
	backoff_init(&b, 42);
	for (int i = 0; i < 20; i++)
		d = backoff_next(&b);
	assert_in_range(d, BACKOFF_MAX_MS / 2, BACKOFF_MAX_MS);
	backoff_reset(&b);
	assert_in_range(backoff_next(&b), BACKOFF_MIN_MS, BACKOFF_MIN_MS);
	assert_in_range(backoff_next(&b), BACKOFF_MIN_MS, 2 * BACKOFF_MIN_MS);
}

/* Jitter: two hosts seeded differently do not retry in step. */
static void test_jitter(void **state)
{
	struct backoff a, b;
	int same = 0;

	(void)state;
	backoff_init(&a, 1);
	backoff_init(&b, 2);
	for (int i = 0; i < 12; i++)
		same += backoff_next(&a) == backoff_next(&b);
	assert_true(same < 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_growth_and_reset),
	    cmocka_unit_test(test_jitter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
