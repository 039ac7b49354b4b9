/* SPDX-License-Identifier: MIT */
/* test_psm_str.c - psm_str.h's ASCII helpers (and psm_fmt) give libc's answers (C locale) on every
 * pair. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "psm_err.h"
#include "psm_str.h"

static const char *const words[] = {
    "",		 "a",	       "A",
    "ab",	 "aB",	       "abc",
    "ABC",	 "abd",	       "localhost",
    "LocalHost", "localhost.", "local",
    "a,,b",	 "a,b",	       ",",
    ",,",	 "..",	       "a.b..c",
    "x y",	 "1h30m",      "\t",
    "Z",	 "[",	       "@",
    "`",	 "{",	       "fail",
    "succeed",	 "debug",      "/.",
    "/..",	 "%eth0",      "fe80::1%eth0",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static void test_classes(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		assert_int_equal(psm_is_digit(c), isdigit(c) != 0);
		assert_int_equal(psm_is_alpha(c), isalpha(c) != 0);
		assert_int_equal(psm_is_alnum(c), isalnum(c) != 0);
		assert_int_equal(psm_lower(c), tolower(c));
	}
}

static void test_compare(void **state)
{
	(void)state;
	for (size_t i = 0; i < NWORDS; i++) {
		for (size_t j = 0; j < NWORDS; j++) {
			const char *a = words[i], *b = words[j];

			assert_int_equal(psm_streq(a, b), strcmp(a, b) == 0);
			assert_int_equal(psm_case_eq(a, b), strcasecmp(a, b) == 0);
			for (size_t n = 0; n < 12; n++) {
				assert_int_equal(psm_strneq(a, b, n), strncmp(a, b, n) == 0);
				assert_int_equal(psm_casen_eq(a, b, n), strncasecmp(a, b, n) == 0);
			}
		}
	}
}

/* psm_mem_eq agrees with memcmp at every length to 40 and every position of a difference. */
static void test_mem_eq(void **state)
{
	unsigned char a[48], b[48];

	(void)state;
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n <= 40; n++) {
		assert_true(psm_mem_eq(a, b, n));
		for (size_t d = 0; d < n + 2; d++) {
			b[d] ^= 0x80;
			assert_int_equal(psm_mem_eq(a, b, n), memcmp(a, b, n) == 0);
			assert_int_equal(psm_mem_eq(a + 3, b + 3, n), memcmp(a + 3, b + 3, n) == 0);
			b[d] ^= 0x80;
		}
	}
}

/* psm_mem_chr agrees with memchr at every length to 40, for each byte value there and absent,
 * a NUL and a byte above 0x7f among them (unsigned char compares), and the first of repeats. */
static void test_mem_chr(void **state)
{
	unsigned char a[48];

	(void)state;
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (unsigned char)(i * 37 + 11);
	a[20] = '\0';
	a[30] = a[10];
	for (size_t n = 0; n <= 40; n++) {
		for (size_t i = 0; i < sizeof(a); i++)
			assert_ptr_equal(psm_mem_chr(a, a[i], n), memchr(a, a[i], n));
		assert_ptr_equal(psm_mem_chr(a, 0x100 | a[5], n), memchr(a, 0x100 | a[5], n));
		assert_null(psm_mem_chr(a, 1, n));
	}
}

/* psm_u32_dec writes what "%u" writes, at the edges of its digit counts and the ends. */
static void test_u32_dec(void **state)
{
	static const uint32_t vals[] = {0,     9,	  10,	      99,	 100,
					65535, 999999999, 1000000000, UINT32_MAX};
	char buf[PSM_U32_DEC_MAX], want[16];

	(void)state;
	assert_int_equal(psm_u32_dec(buf, 0), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(psm_u32_dec(buf, 9), 1);
	assert_string_equal(buf, "9");
	assert_int_equal(psm_u32_dec(buf, 10), 2);
	assert_string_equal(buf, "10");
	assert_int_equal(psm_u32_dec(buf, UINT32_MAX), 10);
	assert_string_equal(buf, "4294967295");
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		int n = snprintf(want, sizeof(want), "%u", (unsigned)vals[i]);

		assert_int_equal(psm_u32_dec(buf, vals[i]), n);
		assert_string_equal(buf, want);
	}
}

/* psm_append_n after a prefix leaves what snprintf's "%s%.*s" leaves, at every size and bound,
 * and says false exactly when snprintf would have cut; psm_copy is snprintf's "%s". */
static void test_append(void **state)
{
	(void)state;
	for (size_t i = 0; i < NWORDS; i++) {
		for (size_t n = 3; n < 16; n++) {
			for (size_t max = 0; max < 14; max++) {
				char got[16], want[16];
				size_t pos = 2;
				int w = snprintf(want, n, "ab%.*s", (int)max, words[i]);

				memcpy(got, "ab", 3);
				assert_int_equal(psm_append_n(got, n, &pos, words[i], max),
						 (size_t)w < n);
				assert_string_equal(got, want);
				assert_int_equal(pos, strlen(want));
			}
			char got[16], want[16];
			int w = snprintf(want, n - 2, "%s", words[i]);

			assert_int_equal(psm_copy(got, n - 2, words[i]), (size_t)w < n - 2);
			assert_string_equal(got, want);
		}
	}
}

/* psm_fmt is snprintf: the same bytes and the same return value, cut or not. */
static void test_fmt(void **state)
{
	(void)state;
	for (size_t n = 0; n < 24; n++) {
		char got[24], want[24];

		memset(got, 'x', sizeof(got));
		memset(want, 'x', sizeof(want));
		assert_int_equal(psm_fmt(got, n, "%s/%u %0*lld", "10.0.0.0", 8u, 5, -1LL),
				 snprintf(want, n, "%s/%u %0*lld", "10.0.0.0", 8u, 5, -1LL));
		assert_memory_equal(got, want, sizeof(got));
	}
}

static void test_search(void **state)
{
	static const char set[] = " \t\n\r\v\f";

	(void)state;
	for (size_t i = 0; i < NWORDS; i++) {
		const char *s = words[i];

		for (size_t n = 0; n < 12; n++)
			assert_int_equal(psm_strnlen(s, n), strnlen(s, n));
		assert_int_equal(psm_has_any(s, set), strpbrk(s, set) != NULL);
		for (const char *c = ",.:%ab"; *c != '\0'; c++) {
			char pair[3] = {*c, *c, '\0'};

			assert_ptr_equal(psm_strchr(s, *c), strchr(s, *c));
			assert_int_equal(psm_span_until(s, *c), strcspn(s, (char[]){*c, '\0'}));
			assert_int_equal(psm_has_pair(s, *c), strstr(s, pair) != NULL);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classes), cmocka_unit_test(test_compare),
	    cmocka_unit_test(test_mem_eq),  cmocka_unit_test(test_mem_chr),
	    cmocka_unit_test(test_u32_dec), cmocka_unit_test(test_append),
	    cmocka_unit_test(test_fmt),	    cmocka_unit_test(test_search),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
