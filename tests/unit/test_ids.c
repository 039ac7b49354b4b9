/* SPDX-License-Identifier: MIT */
/* test_ids.c - 128-bit ids: base32 and hex forms, round trips, rejection of everything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ids.h"

static void test_ids_round_trip(void **state)
{
	uint8_t id[ID_BYTES], back[ID_BYTES];
	char text[ID_TEXT_SIZE];
	int i;
	size_t k;

	(void)state;
	for (i = 0; i < 1000; i++) {
		assert_int_equal(id_new(id, NULL), PSM_OK);
		id_format(id, text);
		assert_int_equal(strlen(text), ID_TEXT_LEN);
		for (k = 0; k < ID_TEXT_LEN; k++)
			assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz234567", text[k]));
		assert_int_equal(id_parse(text, back, NULL), PSM_OK);
		assert_memory_equal(id, back, ID_BYTES);
	}
}

static void test_ids_known_vectors(void **state)
{
	uint8_t id[ID_BYTES], back[ID_BYTES];
	char text[ID_TEXT_SIZE];

	(void)state;
	memset(id, 0, sizeof(id));
	id_format(id, text);
	assert_string_equal(text, "aaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_true(id_is_zero(id));
	memset(id, 0xff, sizeof(id));
	id_format(id, text); /* base64.b32encode(b"\xff" * 16) without "=" */
	assert_string_equal(text, "77777777777777777777777774");
	assert_false(id_is_zero(id));
	assert_int_equal(id_parse("ffffffffffffffffffffffffffffffff", back, NULL), PSM_OK);
	assert_memory_equal(id, back, ID_BYTES);
}

static void test_ids_hex_and_case(void **state)
{
	uint8_t id[ID_BYTES], a[ID_BYTES], b[ID_BYTES], c[ID_BYTES];
	char text[ID_TEXT_SIZE], hex[ID_HEX_LEN + 1], up[ID_TEXT_SIZE];
	size_t i;

	(void)state;
	assert_int_equal(id_new(id, NULL), PSM_OK);
	for (i = 0; i < ID_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02X", id[i]);
	assert_int_equal(id_parse(hex, a, NULL), PSM_OK);
	assert_memory_equal(id, a, ID_BYTES);
	id_format(id, text);
	for (i = 0; i <= ID_TEXT_LEN; i++)
		up[i] = (char)(text[i] >= 'a' && text[i] <= 'z' ? text[i] - 32 : text[i]);
	assert_int_equal(id_parse(up, b, NULL), PSM_OK);
	assert_memory_equal(id, b, ID_BYTES);
	assert_int_equal(id_parse(text, c, NULL), PSM_OK);
	assert_memory_equal(id, c, ID_BYTES);
}

static void test_ids_reject(void **state)
{
	static const char *bad[] = {
	    "",
	    "abc",
	    "aaaaaaaaaaaaaaaaaaaaaaaaa",   /* 25 */
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 27 */
	    "aaaaaaaaaaaaaaaaaaaaaaaaa0",  /* '0' not base32 */
	    "aaaaaaaaaaaaaaaaaaaaaaaaa1",
	    "aaaaaaaaaaaaaaaaaaaaaaaa8a",
	    "aaaaaaaaaaaaaaaaaaaaaaaaab",	 /* unused low bits set */
	    "77777777777777777777777777",	 /* non-canonical tail */
	    "0123456789abcdef0123456789abcdeg",	 /* 'g' not hex */
	    "0123456789abcdef0123456789abcde",	 /* 31 hex */
	    "0123456789abcdef0123456789abcdef0", /* 33 hex */
	    "aaaaaaaaaaaa aaaaaaaaaaaaa",
	    "aaaaaaaaaaaa\naaaaaaaaaaaaa",
	};
	uint8_t id[ID_BYTES], keep[ID_BYTES];
	struct psm_err e;
	size_t i;

	(void)state;
	memset(keep, 0x5a, sizeof(keep));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(id, keep, sizeof(id));
		psm_err_clear(&e);
		if (id_parse(bad[i], id, &e) != PSM_EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(strstr(e.msg, "expected 26 base32 or 32 hex characters"));
		assert_null(strchr(e.msg, '\n'));
		assert_memory_equal(id, keep, ID_BYTES); /* untouched on error */
	}
	assert_int_equal(id_parse(NULL, id, &e), PSM_EINVAL);
}

static void test_ids_unique_and_hash(void **state)
{
	uint8_t a[ID_BYTES], b[ID_BYTES];

	(void)state;
	assert_int_equal(id_new(a, NULL), PSM_OK);
	assert_int_equal(id_new(b, NULL), PSM_OK);
	assert_memory_not_equal(a, b, ID_BYTES);
	assert_int_not_equal(id_hash(a), id_hash(b));
	memcpy(b, a, ID_BYTES);
	assert_int_equal(id_hash(a), id_hash(b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ids_round_trip),	cmocka_unit_test(test_ids_known_vectors),
	    cmocka_unit_test(test_ids_hex_and_case),	cmocka_unit_test(test_ids_reject),
	    cmocka_unit_test(test_ids_unique_and_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
