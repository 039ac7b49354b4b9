/* SPDX-License-Identifier: MIT */
/* test_perm.c - permission and pattern validation and the pattern_match truth table (SPEC §3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "perm.h"

static int perm_v(const char *s, struct psm_err *e)
{
	return perm_validate(s, strlen(s), e);
}

static int pat_v(const char *s, struct psm_err *e)
{
	return pattern_validate(s, strlen(s), e);
}

static bool match(const char *pat, const char *perm)
{
	return pattern_match(pat, strlen(pat), perm, strlen(perm));
}

static void expect_bad(int (*fn)(const char *, struct psm_err *), const char *s, const char *msg)
{
	struct psm_err e = {0};

	assert_int_equal(fn(s, &e), PSM_EINVAL);
	assert_int_equal(e.code, PSM_EINVAL);
	if (strstr(e.msg, msg) == NULL)
		fail_msg("input \"%s\": message \"%s\" lacks \"%s\"", s, e.msg, msg);
}

static void test_perm_valid(void **state)
{
	static const char *good[] = {
	    "login:ssh", "sudo:run", "sudo:cmd:/usr/bin/systemctl",
	    "a",	 "A-Z_a.z",  "x@y+z",
	    "0:1:2",	 "pam:sshd", "very.long/segment-name_with@all+chars",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(perm_v(good[i], NULL), PSM_OK);
		assert_int_equal(pat_v(good[i], NULL), PSM_OK);
	}
}

static void test_perm_bad_char_message(void **state)
{
	(void)state;
	expect_bad(perm_v, "sudo:r!n", "permission \"sudo:r!n\": bad character '!' at 7");
	expect_bad(pat_v, "sudo:r!n", "pattern \"sudo:r!n\": bad character '!' at 7");
}

static void test_perm_bad_char_classes(void **state)
{
	static const struct {
		const char *s, *msg;
	} bad[] = {
	    {"a b", "bad character ' ' at 2"},
	    {"a\tb", "bad character '\\x09' at 2"},
	    {"a#", "bad character '#' at 2"},
	    {"a,b", "bad character ',' at 2"},
	    {"a;b", "bad character ';' at 2"},
	    {"a=b", "bad character '=' at 2"},
	    {"\"a", "bad character '\"' at 1"},
	    {"a\\b", "bad character '\\x5c' at 2"},
	    {"a\x01", "bad character '\\x01' at 2"},
	    {"\xc3\xa9t\xc3\xa9", "'\\xc3' at 1"},
	    {"a\x7f", "'\\x7f' at 2"},
	    {"login:*", "bad character '*' at 7"},
	    {"a%b", "'%' at 2"},
	    {"a~", "'~' at 2"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(perm_v, bad[i].s, bad[i].msg);
}

static void test_perm_nul_byte(void **state)
{
	struct psm_err e;

	(void)state;
	assert_int_equal(perm_validate("ab\0c", 4, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "bad character '\\x00' at 3"));
	assert_non_null(strstr(e.msg, "\"ab\\x00c\""));
}

static void test_perm_empty_segments(void **state)
{
	(void)state;
	expect_bad(perm_v, "a::b", "permission \"a::b\": empty segment at 3");
	expect_bad(perm_v, ":a", "empty segment at 1");
	expect_bad(perm_v, "a:", "empty segment at 3");
	expect_bad(perm_v, ":", "empty segment at 1");
	expect_bad(pat_v, "*::*", "empty segment at 3");
	expect_bad(pat_v, "login:", "empty segment at 7");
}

static void test_perm_empty(void **state)
{
	struct psm_err e;

	(void)state;
	expect_bad(perm_v, "", "permission is empty");
	expect_bad(pat_v, "", "pattern is empty");
	assert_int_equal(perm_validate(NULL, 0, &e), PSM_EINVAL);
}

static void test_perm_length(void **state)
{
	char s[300];
	struct psm_err e;

	(void)state;
	memset(s, 'a', sizeof(s));
	assert_int_equal(perm_validate(s, 255, NULL), PSM_OK);
	assert_int_equal(pattern_validate(s, 255, NULL), PSM_OK);
	assert_int_equal(perm_validate(s, 256, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "longer than 255 bytes"));
	assert_non_null(strstr(e.msg, "...")); /* quoted input is cut */
	assert_int_equal(pattern_validate(s, 256, &e), PSM_EINVAL);
}

static void test_pattern_valid(void **state)
{
	static const char *good[] = {"*", "*:*", "login:*", "a:*:c", "*:run", "sudo:cmd:*"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(pat_v(good[i], NULL), PSM_OK);
		assert_int_equal(perm_v(good[i], NULL), PSM_EINVAL);
	}
}

static void test_pattern_star_not_whole_segment(void **state)
{
	(void)state;
	expect_bad(pat_v, "a*", "pattern \"a*\": '*' must be a whole segment at 2");
	expect_bad(pat_v, "*a", "'*' must be a whole segment at 1");
	expect_bad(pat_v, "login:s*", "'*' must be a whole segment at 8");
	expect_bad(pat_v, "**", "'*' must be a whole segment at 1");
	expect_bad(pat_v, "a:**:b", "at 3");
}

static void test_pattern_match_spec_table(void **state)
{
	static const struct {
		const char *pat, *perm;
		bool m;
	} t[] = {
	    /* SPEC §3 examples */
	    {"login:*", "login:ssh", true},
	    {"sudo:*", "sudo:cmd:/usr/bin/systemctl", true},
	    {"*", "login:ssh", true},
	    {"*", "sudo:cmd:/usr/bin/systemctl", true},
	    {"*", "a", true},
	    /* exact */
	    {"sudo:run", "sudo:run", true},
	    {"sudo:run", "sudo:runx", false},
	    {"sudo:run", "sudo:ru", false},
	    {"sudo:run", "Sudo:run", false},
	    {"sudo:run", "sudo:run:x", false},
	    {"sudo:run:x", "sudo:run", false},
	    /* last '*' matches one or more */
	    {"login:*", "login", false},
	    {"login:*", "login:a:b:c", true},
	    {"login:*", "logins:ssh", false},
	    {"a:b:*", "a:b:c", true},
	    {"a:b:*", "a:b", false},
	    /* middle '*' matches exactly one */
	    {"a:*:c", "a:b:c", true},
	    {"a:*:c", "a:x:y:c", false},
	    {"a:*:c", "a:c", false},
	    {"a:*:c", "a:b:d", false},
	    {"*:run", "sudo:run", true},
	    {"*:run", "run", false},
	    {"*:run", "a:b:run", false},
	    {"*:*", "a", false},
	    {"*:*", "a:b", true},
	    {"*:*", "a:b:c", true},
	    {"*:b:*", "a:b:c:d", true},
	    {"*:b:*", "a:c:c:d", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (match(t[i].pat, t[i].perm) != t[i].m)
			fail_msg("pattern_match(\"%s\", \"%s\") != %d", t[i].pat, t[i].perm,
				 t[i].m);
		if (pattern_match_valid(t[i].pat, strlen(t[i].pat), t[i].perm, strlen(t[i].perm)) !=
		    t[i].m)
			fail_msg("pattern_match_valid(\"%s\", \"%s\") != %d", t[i].pat, t[i].perm,
				 t[i].m);
	}
}

/* The hot-path matcher trusts only the permission: a bad pattern must still never match. */
static void test_pattern_match_valid_bad_patterns(void **state)
{
	static const struct {
		const char *pat, *perm;
	} t[] = {
	    {"a*", "a"},       {"a*", "ab"}, {"**", "a"},     {"a::b", "a:b"},	 {":a", "a"},
	    {"a:", "a"},       {"", "a"},    {"a!", "a"},     {"a:**", "a:b"},	 {"*a:b", "a:b"},
	    {"a:\x01", "a:b"}, {":", "a"},   {"a:b:", "a:b"}, {"a::*", "a:b:c"}, {"*:", "a:b"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (pattern_match_valid(t[i].pat, strlen(t[i].pat), t[i].perm, strlen(t[i].perm)))
			fail_msg("pattern_match_valid(\"%s\", \"%s\") matched", t[i].pat,
				 t[i].perm);
	assert_false(pattern_match_valid("a", 1, "a", 0));
}

static void test_pattern_match_invalid_never(void **state)
{
	char big[300];

	(void)state;
	assert_false(match("a*", "a"));
	assert_false(match("a*", "ab"));
	assert_false(match("a::b", "a::b"));
	assert_false(match("", ""));
	assert_false(match("*", ""));
	assert_false(match("a:*", "a:"));
	assert_false(match("*", "a b"));
	assert_false(match("*", "a:*")); /* '*' is not a permission character */
	assert_false(match("a:*", "a:*"));
	assert_false(match("a!", "a!"));
	memset(big, 'a', sizeof(big));
	assert_true(pattern_match("*", 1, big, 255));
	assert_false(pattern_match("*", 1, big, 256));
	assert_false(pattern_match(big, 256, big, 256));
}

static void test_pattern_match_lengths(void **state)
{
	(void)state;
	/* lengths, not NUL terminators, bound the inputs */
	assert_true(pattern_match("login:*XYZ", 7, "login:sshQQ", 9));
	assert_false(pattern_match("login:ssh", 9, "login:ssh", 8));
	assert_true(pattern_match("sudo:run", 8, "sudo:run:more", 8));
}

static void test_perm_first_segment(void **state)
{
	(void)state;
	assert_int_equal(perm_first_segment("login:ssh", 9), 5);
	assert_int_equal(perm_first_segment("login", 5), 5);
	assert_int_equal(perm_first_segment("*", 1), 1);
	assert_int_equal(perm_first_segment(":a", 2), 0);
	assert_int_equal(perm_first_segment("ab:c", 2), 2);
}

/* perm_scan (the decision's one pass) = strlen + perm_validate + perm_first_segment. */
static void expect_scan_same(const char *s)
{
	struct psm_err e1 = {0}, e2 = {0};
	size_t len = 99999, first = 99999;
	int want = perm_validate(s, strlen(s), &e1);

	assert_int_equal(perm_scan(s, &len, &first, &e2), want);
	assert_string_equal(e2.msg, e1.msg);
	if (want != PSM_OK)
		return;
	assert_int_equal(len, strlen(s));
	assert_int_equal(first, perm_first_segment(s, len));
}

static void test_perm_scan(void **state)
{
	static const char *const cases[] = {
	    "sudo:run", "login",	 "login:ssh:x", "a:b", "",    ":", "a:",
	    ":a",	"a::b",		 "a:b:",	"a b", "a:*", "*", "sudo:r\xc3\xa9n",
	    "pam:sshd", "x/y@z+1_2.3-4",
	};
	char big[300];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_scan_same(cases[i]);
	for (size_t n = 250; n < sizeof(big); n++) {
		memset(big, 'a', n);
		big[n] = '\0';
		big[3] = ':';
		expect_scan_same(big);
	}
}

/* Every string of up to 6 characters over a good character, ':', '*', a space and a high
 * byte: each odd and even place of a bad character or an empty segment. */
static void test_perm_scan_every_short(void **state)
{
	static const char alpha[] = "a:* \xff";
	char s[8];

	(void)state;
	for (size_t n = 0; n <= 6; n++) {
		size_t total = 1, k;

		for (k = 0; k < n; k++)
			total *= sizeof(alpha) - 1;
		for (size_t code = 0; code < total; code++) {
			size_t c = code;

			for (k = 0; k < n; k++, c /= sizeof(alpha) - 1)
				s[k] = alpha[c % (sizeof(alpha) - 1)];
			s[n] = '\0';
			expect_scan_same(s);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_perm_valid),
	    cmocka_unit_test(test_perm_bad_char_message),
	    cmocka_unit_test(test_perm_bad_char_classes),
	    cmocka_unit_test(test_perm_nul_byte),
	    cmocka_unit_test(test_perm_empty_segments),
	    cmocka_unit_test(test_perm_empty),
	    cmocka_unit_test(test_perm_length),
	    cmocka_unit_test(test_pattern_valid),
	    cmocka_unit_test(test_pattern_star_not_whole_segment),
	    cmocka_unit_test(test_pattern_match_spec_table),
	    cmocka_unit_test(test_pattern_match_invalid_never),
	    cmocka_unit_test(test_pattern_match_valid_bad_patterns),
	    cmocka_unit_test(test_pattern_match_lengths),
	    cmocka_unit_test(test_perm_first_segment),
	    cmocka_unit_test(test_perm_scan),
	    cmocka_unit_test(test_perm_scan_every_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
