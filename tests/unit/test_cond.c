/* SPDX-License-Identifier: MIT */
/* test_cond.c - 'from' conditions: compile (CIDR v4/v6, LOCAL, suffixes), request parsing,
 * matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "cond.h"

struct enc {
	unsigned char b[COND_ENC_MAX];
	size_t n;
};

/* Compiles a NULL-terminated list of items; fails the test on error. */
static void compile_all(struct enc *e, const char *const *items)
{
	struct psm_err err;

	e->n = 0;
	for (; *items != NULL; items++)
		if (cond_compile(*items, e->b, sizeof(e->b), &e->n, &err) != PSM_OK)
			fail_msg("cond_compile(\"%s\"): %s", *items, err.msg);
}

static void expect_bad(const char *item, const char *msg)
{
	unsigned char b[64];
	size_t n = 0;
	struct psm_err e = {0};

	assert_int_equal(cond_compile(item, b, sizeof(b), &n, &e), PSM_EINVAL);
	assert_int_equal(n, 0);
	if (strstr(e.msg, msg) == NULL)
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", item, e.msg, msg);
}

static bool match_rhost(const struct enc *e, const char *rhost)
{
	struct cond_req r;

	cond_req_init(&r, rhost, "web-01");
	return cond_match(e->b, e->n, &r);
}

static void test_cond_cidr4_encoding(void **state)
{
	static const unsigned char want[] = {COND_CIDR4, 5, 8, 10, 0, 0, 0};
	struct enc e;

	(void)state;
	compile_all(&e, (const char *[]){"10.0.0.0/8", NULL});
	assert_int_equal(e.n, sizeof(want));
	assert_memory_equal(e.b, want, sizeof(want));
}

static void test_cond_cidr6_encoding(void **state)
{
	struct enc e;

	(void)state;
	compile_all(&e, (const char *[]){"2001:db8::/32", NULL});
	assert_int_equal(e.n, 19);
	assert_int_equal(e.b[0], COND_CIDR6);
	assert_int_equal(e.b[1], 17);
	assert_int_equal(e.b[2], 32);
	assert_int_equal(e.b[3], 0x20);
	assert_int_equal(e.b[4], 0x01);
	assert_int_equal(e.b[5], 0x0d);
	assert_int_equal(e.b[6], 0xb8);
}

static void test_cond_bare_address(void **state)
{
	struct enc e;

	(void)state;
	compile_all(&e, (const char *[]){"192.0.2.7", "2001:db8::7", NULL});
	assert_int_equal(e.b[0], COND_CIDR4);
	assert_int_equal(e.b[2], 32);
	assert_int_equal(e.b[7], COND_CIDR6);
	assert_int_equal(e.b[9], 128);
	assert_true(match_rhost(&e, "192.0.2.7"));
	assert_false(match_rhost(&e, "192.0.2.8"));
	assert_true(match_rhost(&e, "2001:db8::7"));
	assert_false(match_rhost(&e, "2001:db8::8"));
}

static void test_cond_host_bits(void **state)
{
	(void)state;
	expect_bad("10.0.0.1/8", "\"10.0.0.1/8\": host bits set (did you mean 10.0.0.0/8?)");
	expect_bad("192.168.1.130/25", "did you mean 192.168.1.128/25?");
	expect_bad("2001:db8::1/32", "host bits set (did you mean 2001:db8::/32?)");
	expect_bad("0.0.0.1/0", "did you mean 0.0.0.0/0?");
}

static void test_cond_bad_prefix_and_address(void **state)
{
	(void)state;
	expect_bad("10.0.0.0/33", "\"10.0.0.0/33\": prefix length must be 0-32");
	expect_bad("2001:db8::/129", "prefix length must be 0-128");
	expect_bad("10.0.0.0/", "prefix length must be 0-32");
	expect_bad("10.0.0.0/-1", "prefix length");
	expect_bad("10.0.0.0/8/8", "prefix length");
	expect_bad("10.0.0.256", "\"10.0.0.256\": not an IPv4 address");
	expect_bad("10.0.0", "not an IPv4 address");
	expect_bad("2001:db8:::1", "not an IPv6 address");
	expect_bad("1host.example", "not an IPv4 address");
}

static void test_cond_local_and_suffix(void **state)
{
	static const unsigned char want[] = {COND_LOCAL, 0,   COND_SUFFIX, 13,	'.', 'c',
					     'o',	 'r', 'p',	   '.', 'e', 'x',
					     'a',	 'm', 'p',	   'l', 'e'};
	struct enc e;

	(void)state;
	compile_all(&e, (const char *[]){"LOCAL", ".Corp.EXAMPLE", NULL});
	assert_int_equal(e.n, sizeof(want));
	assert_memory_equal(e.b, want, sizeof(want));
}

static void test_cond_bad_items(void **state)
{
	(void)state;
	expect_bad("", "empty 'from' condition");
	expect_bad("corp.example", "not a CIDR, an address, LOCAL or a name suffix");
	expect_bad("local", "not a CIDR");
	expect_bad(".", "not a valid name suffix");
	expect_bad(".corp..example", "not a valid name suffix");
	expect_bad(".corp.example.", "not a valid name suffix");
	expect_bad(".co rp", "bad character in name suffix at 4");
	expect_bad(".co/rp", "bad character in name suffix at 4");
}

static void test_cond_capacity(void **state)
{
	unsigned char b[10];
	size_t n = 0;
	struct psm_err e;

	(void)state;
	assert_int_equal(cond_compile("10.0.0.0/8", b, sizeof(b), &n, &e), PSM_OK);
	assert_int_equal(n, 7);
	assert_int_equal(cond_compile("10.0.0.0/8", b, sizeof(b), &n, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "too many 'from' conditions"));
	assert_int_equal(n, 7);
	assert_int_equal(cond_compile("LOCAL", b, sizeof(b), &n, &e), PSM_OK);
	assert_int_equal(n, 9);
}

static void test_cond_v4mapped_cidr(void **state)
{
	struct enc e;
	char buf[64];

	(void)state;
	compile_all(&e, (const char *[]){"::ffff:10.0.0.0/104", NULL});
	assert_int_equal(e.b[0], COND_CIDR4);
	assert_int_equal(e.b[2], 8);
	cond_format(e.b, e.n, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.0/8");
}

static void test_cond_req_init(void **state)
{
	static const struct {
		const char *rhost;
		int family;
		bool local;
		bool name;
	} t[] = {
	    {NULL, 0, true, false},
	    {"", 0, true, false},
	    {"localhost", 0, true, true},
	    {"LOCALHOST", 0, true, true},
	    {"127.0.0.1", AF_INET, true, false},
	    {"127.1.2.3", AF_INET, true, false},
	    {"::1", AF_INET6, true, false},
	    {"::ffff:127.0.0.1", AF_INET, true, false},
	    {"web-01", 0, true, true},
	    {"WEB-01", 0, true, true},
	    {"10.1.2.3", AF_INET, false, false},
	    {"2001:db8::1", AF_INET6, false, false},
	    {"::ffff:10.1.2.3", AF_INET, false, false},
	    {"a.corp.example", 0, false, true},
	    {"fe80::1%eth0", AF_INET6, false, false},
	    {"web-011", 0, false, true},
	};
	struct cond_req r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cond_req_init(&r, t[i].rhost, "web-01");
		if (r.family != t[i].family || r.local != t[i].local ||
		    (r.name != NULL) != t[i].name)
			fail_msg("rhost \"%s\": family %d local %d name %d",
				 t[i].rhost ? t[i].rhost : "(null)", r.family, r.local,
				 r.name != NULL);
	}
	cond_req_init(&r, "::ffff:10.1.2.3", NULL);
	assert_memory_equal(r.addr, ((unsigned char[]){10, 1, 2, 3}), 4);
	cond_req_init(&r, "web-01", NULL);
	assert_false(r.local);
}

static void test_cond_match_cidr4(void **state)
{
	struct enc e;

	(void)state;
	compile_all(&e, (const char *[]){"10.0.0.0/8", "192.168.1.128/25", NULL});
	assert_true(match_rhost(&e, "10.0.0.0"));
	assert_true(match_rhost(&e, "10.255.255.255"));
	assert_false(match_rhost(&e, "11.0.0.0"));
	assert_false(match_rhost(&e, "9.255.255.255"));
	assert_true(match_rhost(&e, "192.168.1.128"));
	assert_true(match_rhost(&e, "192.168.1.255"));
	assert_false(match_rhost(&e, "192.168.1.127"));
	assert_true(match_rhost(&e, "::ffff:10.9.9.9"));
	assert_false(match_rhost(&e, "2001:db8::1"));
	assert_false(match_rhost(&e, "ten.example"));
	assert_false(match_rhost(&e, NULL));
	compile_all(&e, (const char *[]){"0.0.0.0/0", NULL});
	assert_true(match_rhost(&e, "203.0.113.9"));
	assert_false(match_rhost(&e, "::2"));
}

static void test_cond_match_cidr6(void **state)
{
	struct enc e;

	(void)state;
	compile_all(&e, (const char *[]){"2001:db8::/32", "fc00::/7", NULL});
	assert_true(match_rhost(&e, "2001:db8::1"));
	assert_true(match_rhost(&e, "2001:db8:ffff::1"));
	assert_false(match_rhost(&e, "2001:db9::1"));
	assert_true(match_rhost(&e, "fd12:3456::1"));
	assert_true(match_rhost(&e, "fc00::1"));
	assert_false(match_rhost(&e, "fe00::1"));
	assert_false(match_rhost(&e, "10.0.0.1"));
	assert_true(match_rhost(&e, "2001:db8::1%eth0"));
}

static void test_cond_match_suffix(void **state)
{
	struct enc e;

	(void)state;
	compile_all(&e, (const char *[]){".corp.example", NULL});
	assert_true(match_rhost(&e, "a.corp.example"));
	assert_true(match_rhost(&e, "A.B.Corp.Example"));
	assert_true(match_rhost(&e, "a.corp.example."));
	assert_false(match_rhost(&e, "corp.example"));
	assert_false(match_rhost(&e, "xcorp.example"));
	assert_false(match_rhost(&e, "a.corp.example.evil"));
	assert_false(match_rhost(&e, "10.0.0.1"));
	assert_false(match_rhost(&e, NULL));
	assert_false(match_rhost(&e, "localhost"));
}

static void test_cond_match_local(void **state)
{
	struct enc e;

	(void)state;
	compile_all(&e, (const char *[]){"LOCAL", NULL});
	assert_true(match_rhost(&e, NULL));
	assert_true(match_rhost(&e, ""));
	assert_true(match_rhost(&e, "127.0.0.1"));
	assert_true(match_rhost(&e, "::1"));
	assert_true(match_rhost(&e, "localhost"));
	assert_true(match_rhost(&e, "web-01"));
	assert_false(match_rhost(&e, "web-02"));
	assert_false(match_rhost(&e, "10.0.0.1"));
	assert_false(match_rhost(&e, "::2"));
}

static void test_cond_match_empty_is_anywhere(void **state)
{
	struct cond_req r;

	(void)state;
	cond_req_init(&r, "203.0.113.5", "h");
	assert_true(cond_match(NULL, 0, &r));
	assert_true(cond_match((const unsigned char *)"", 0, &r));
}

static void test_cond_match_malformed(void **state)
{
	struct cond_req r;
	struct enc e;
	static const unsigned char badtype[] = {9, 0};
	static const unsigned char trunc[] = {COND_CIDR4, 5, 8, 10};
	static const unsigned char badlen[] = {COND_CIDR4, 4, 8, 10, 0, 0};
	static const unsigned char badpfx[] = {COND_CIDR4, 5, 33, 10, 0, 0, 0};
	static const unsigned char lonelen[] = {COND_LOCAL};
	static const unsigned char localpay[] = {COND_LOCAL, 1, 'x'};
	static const unsigned char sufnodot[] = {COND_SUFFIX, 2, 'a', 'b'};

	(void)state;
	cond_req_init(&r, NULL, "h"); /* local: LOCAL would match */
	assert_false(cond_match(badtype, sizeof(badtype), &r));
	assert_false(cond_match(trunc, sizeof(trunc), &r));
	assert_false(cond_match(badlen, sizeof(badlen), &r));
	assert_false(cond_match(badpfx, sizeof(badpfx), &r));
	assert_false(cond_match(lonelen, sizeof(lonelen), &r));
	assert_false(cond_match(localpay, sizeof(localpay), &r));
	assert_false(cond_match(sufnodot, sizeof(sufnodot), &r));
	/* a valid LOCAL followed by garbage: the whole encoding is rejected */
	compile_all(&e, (const char *[]){"LOCAL", NULL});
	e.b[e.n++] = 77;
	assert_false(cond_match(e.b, e.n, &r));
}

static void test_cond_format(void **state)
{
	struct enc e;
	char buf[256], small[8];

	(void)state;
	compile_all(&e, (const char *[]){"10.0.0.0/8", "LOCAL", "2001:db8::/32", ".corp.example",
					 "192.0.2.7", NULL});
	cond_format(e.b, e.n, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.0/8,LOCAL,2001:db8::/32,.corp.example,192.0.2.7/32");
	cond_format(e.b, 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	cond_format(e.b, e.n, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	cond_format(e.b, 4, buf, sizeof(buf)); /* truncated encoding */
	assert_string_equal(buf, "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cond_cidr4_encoding),
	    cmocka_unit_test(test_cond_cidr6_encoding),
	    cmocka_unit_test(test_cond_bare_address),
	    cmocka_unit_test(test_cond_host_bits),
	    cmocka_unit_test(test_cond_bad_prefix_and_address),
	    cmocka_unit_test(test_cond_local_and_suffix),
	    cmocka_unit_test(test_cond_bad_items),
	    cmocka_unit_test(test_cond_capacity),
	    cmocka_unit_test(test_cond_v4mapped_cidr),
	    cmocka_unit_test(test_cond_req_init),
	    cmocka_unit_test(test_cond_match_cidr4),
	    cmocka_unit_test(test_cond_match_cidr6),
	    cmocka_unit_test(test_cond_match_suffix),
	    cmocka_unit_test(test_cond_match_local),
	    cmocka_unit_test(test_cond_match_empty_is_anywhere),
	    cmocka_unit_test(test_cond_match_malformed),
	    cmocka_unit_test(test_cond_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
