/* SPDX-License-Identifier: MIT */
/* test_ttl.c - TTL strings (SPEC §3), ttl_format round trips, and ISO 8601 UTC times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ttl.h"

static void expect_ttl(const char *s, int64_t want)
{
	struct psm_err e = {0};
	int64_t v = -1;

	if (ttl_parse(s, &v, &e) != PSM_OK)
		fail_msg("ttl \"%s\": %s", s, e.msg);
	if (v != want)
		fail_msg("ttl \"%s\" = %lld, want %lld", s, (long long)v, (long long)want);
}

static void expect_ttl_bad(const char *s, const char *msg)
{
	struct psm_err e = {0};
	int64_t v = 77;

	assert_int_equal(ttl_parse(s, &v, &e), PSM_EINVAL);
	assert_int_equal(v, 77); /* untouched on error */
	if (strstr(e.msg, msg) == NULL)
		fail_msg("ttl \"%s\": message \"%s\" lacks \"%s\"", s, e.msg, msg);
}

static void test_ttl_units(void **state)
{
	(void)state;
	expect_ttl("90", 90);
	expect_ttl("30s", 30);
	expect_ttl("15m", 900);
	expect_ttl("2h", 7200);
	expect_ttl("1d", 86400);
	expect_ttl("1w", 604800);
	expect_ttl("1", 1);
	expect_ttl("007m", 420);
}

static void test_ttl_sums(void **state)
{
	(void)state;
	expect_ttl("1h30m", 5400);
	expect_ttl("1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
	expect_ttl("1d12h", 129600);
	expect_ttl("2m30s", 150);
	expect_ttl("0h5m", 300); /* a zero term is fine when the sum is positive */
}

static void test_ttl_zero_negative(void **state)
{
	(void)state;
	expect_ttl_bad("0", "ttl \"0\": must be positive");
	expect_ttl_bad("0s", "must be positive");
	expect_ttl_bad("0h0m", "must be positive");
	expect_ttl_bad("-5m", "ttl \"-5m\": must be positive");
	expect_ttl_bad("-1", "must be positive");
}

static void test_ttl_unknown_unit(void **state)
{
	(void)state;
	expect_ttl_bad("5x", "ttl \"5x\": unknown unit 'x' (use s, m, h, d, w)");
	expect_ttl_bad("5M", "unknown unit 'M'");
	expect_ttl_bad("5y", "unknown unit 'y'");
	expect_ttl_bad("1h30min", "unknown unit 'min'");
	expect_ttl_bad("5ms", "unknown unit 'ms'");
	expect_ttl_bad("5m!", "expected a number before '!'");
}

static void test_ttl_order(void **state)
{
	(void)state;
	expect_ttl_bad("30m1h", "ttl \"30m1h\": unit 'h' out of order (use w, d, h, m, s in "
				"that order, each once)");
	expect_ttl_bad("1h1h", "unit 'h' out of order");
	expect_ttl_bad("1s1w", "unit 'w' out of order");
}

static void test_ttl_syntax(void **state)
{
	(void)state;
	expect_ttl_bad("", "ttl \"\": empty");
	expect_ttl_bad(" 5m", "ttl \" 5m\": no spaces allowed");
	expect_ttl_bad("5m ", "no spaces allowed");
	expect_ttl_bad("1h\t30m", "no spaces allowed");
	expect_ttl_bad("h", "expected a number before 'h'");
	expect_ttl_bad("1h30", "number without a unit at the end");
	expect_ttl_bad("+5m", "expected a number before '+'");
	expect_ttl_bad("1.5h", "unexpected '.' after a number");
	assert_int_equal(ttl_parse(NULL, &(int64_t){0}, NULL), PSM_EINVAL);
}

static void test_ttl_overflow(void **state)
{
	char s[64];

	(void)state;
	snprintf(s, sizeof(s), "%lld", (long long)TTL_MAX_SECONDS);
	expect_ttl(s, TTL_MAX_SECONDS);
	snprintf(s, sizeof(s), "%lld", (long long)TTL_MAX_SECONDS + 1);
	expect_ttl_bad(s, "too large (max 100 years)");
	snprintf(s, sizeof(s), "%llds", (long long)TTL_MAX_SECONDS + 1);
	expect_ttl_bad(s, "too large");
	expect_ttl_bad("99999999999999999999999999", "too large");
	expect_ttl_bad("9223372036854775807w", "too large");
	expect_ttl_bad("5300w", "too large");
	expect_ttl_bad("5200w36500d", "too large");
	expect_ttl("5200w", 5200LL * 604800);
}

static void test_ttl_format(void **state)
{
	static const struct {
		int64_t s;
		const char *want;
	} t[] = {
	    {0, "0s"},	   {-5, "0s"},	   {45, "45s"},	   {90, "1m30s"},	   {5400, "1h30m"},
	    {86400, "1d"}, {172800, "2d"}, {604800, "1w"}, {694861, "1w1d1h1m1s"}, {3601, "1h1s"},
	};
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ttl_format(t[i].s, buf, sizeof(buf));
		assert_string_equal(buf, t[i].want);
	}
	ttl_format(694861, buf, 5); /* truncated but terminated */
	assert_int_equal(strlen(buf), 4);
}

static void test_ttl_round_trip(void **state)
{
	char buf[64];
	int64_t v, s;

	(void)state;
	for (s = 1; s < TTL_MAX_SECONDS; s = s * 3 + 7) {
		ttl_format(s, buf, sizeof(buf));
		assert_int_equal(ttl_parse(buf, &v, NULL), PSM_OK);
		assert_int_equal(v, s);
	}
	ttl_format(TTL_MAX_SECONDS, buf, sizeof(buf));
	assert_int_equal(ttl_parse(buf, &v, NULL), PSM_OK);
	assert_int_equal(v, TTL_MAX_SECONDS);
}

static void test_time_format(void **state)
{
	char buf[64];

	(void)state;
	time_format_utc(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	time_format_utc(1795458366, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-23T18:26:06Z");
	time_format_utc(INT64_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "never");
	time_format_utc(INT64_MIN, buf, sizeof(buf));
	assert_string_equal(buf, "always");
}

/* The local formatter (no gmtime_r/strftime in the module) gives gmtime's dates. */
static void test_time_format_calendar(void **state)
{
	static const struct {
		int64_t t;
		const char *want;
	} cases[] = {
	    {-1, "1969-12-31T23:59:59Z"},
	    {-86401, "1969-12-30T23:59:59Z"},
	    {951782400, "2000-02-29T00:00:00Z"},
	    {951868799, "2000-02-29T23:59:59Z"},
	    {4107542400LL, "2100-03-01T00:00:00Z"},
	    {253402300799LL, "9999-12-31T23:59:59Z"},
	    {253402300800LL, "10000-01-01T00:00:00Z"},
	    {-55093392000LL, "0224-02-29T00:00:00Z"}, /* ISO 8601: four digits, as parsed */
	    {-62135596801LL, "0000-12-31T23:59:59Z"},
	    {-62167219201LL, "-0001-12-31T23:59:59Z"},
	    {INT64_MAX - 1, "?"},
	};
	char buf[64], small[8];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_format_utc(cases[i].t, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
	time_format_utc(0, small, sizeof(small));
	assert_string_equal(small, "?");
}

static void test_time_parse(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(time_parse_utc("2026-11-23T18:26:06Z", &t, NULL), PSM_OK);
	assert_int_equal(t, 1795458366);
	assert_int_equal(time_parse_utc("2026-11-23T18:26:06+00:00", &t, NULL), PSM_OK);
	assert_int_equal(t, 1795458366);
	assert_int_equal(time_parse_utc("2026-11-23T18:26Z", &t, NULL), PSM_OK);
	assert_int_equal(t, 1795458360);
	assert_int_equal(time_parse_utc("2026-11-23", &t, NULL), PSM_OK);
	assert_int_equal(t, 1795392000);
	assert_int_equal(time_parse_utc("2024-02-29", &t, NULL), PSM_OK);
}

static void test_time_parse_bad(void **state)
{
	static const char *bad[] = {
	    "",		  "2026-11-23T18:26:06", "2026-11-23T18:26:06+01:00", "2026-13-01",
	    "2026-02-30", "2025-02-29",		 "2026-11-23T24:00Z",	      "2026-11-23T18:60Z",
	    "26-11-23",	  "2026-11-23 18:26Z",	 "2026-11-23T18:26:06Zjunk",  "tomorrow",
	};
	struct psm_err e;
	int64_t t = 5;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (time_parse_utc(bad[i], &t, &e) != PSM_EINVAL)
			fail_msg("time \"%s\" accepted", bad[i]);
		assert_non_null(strstr(e.msg, "time \""));
	}
	assert_int_equal(t, 5);
}

static void test_time_round_trip(void **state)
{
	char buf[64];
	int64_t t, back;

	(void)state;
	for (t = 0; t < 4102444800LL; t += 86399 * 37 + 11) {
		time_format_utc(t, buf, sizeof(buf));
		assert_int_equal(time_parse_utc(buf, &back, NULL), PSM_OK);
		assert_int_equal(back, t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ttl_units),
	    cmocka_unit_test(test_ttl_sums),
	    cmocka_unit_test(test_ttl_zero_negative),
	    cmocka_unit_test(test_ttl_unknown_unit),
	    cmocka_unit_test(test_ttl_order),
	    cmocka_unit_test(test_ttl_syntax),
	    cmocka_unit_test(test_ttl_overflow),
	    cmocka_unit_test(test_ttl_format),
	    cmocka_unit_test(test_ttl_round_trip),
	    cmocka_unit_test(test_time_format),
	    cmocka_unit_test(test_time_format_calendar),
	    cmocka_unit_test(test_time_parse),
	    cmocka_unit_test(test_time_parse_bad),
	    cmocka_unit_test(test_time_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
