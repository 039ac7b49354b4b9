/* SPDX-License-Identifier: MIT */
/* test_text.c - text_check: UTF-8 (RFC 3629) without C0, DEL or C1 controls; JSON trees named by
 * path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

static void ok(const char *s)
{
	struct psm_err e = {0};

	if (text_check("f", s, strlen(s), &e) != PSM_OK)
		fail_msg("\"%s\" refused: %s", s, e.msg);
}

static void bad(const char *s, const char *msg)
{
	struct psm_err e = {0};

	assert_int_equal(text_check("f", s, strlen(s), &e), PSM_EINVAL);
	assert_int_equal(e.code, PSM_EINVAL);
	assert_string_equal(e.msg, msg);
}

static void test_text_valid(void **state)
{
	(void)state;
	ok("");
	ok("plain ASCII ~!");
	ok("caf\xc3\xa9");	/* U+00E9 */
	ok("\xc2\xa0");		/* U+00A0: the first code point after C1 */
	ok("\xe2\x82\xac");	/* U+20AC */
	ok("\xef\xbf\xbd");	/* U+FFFD */
	ok("\xf0\x9f\x94\x91"); /* U+1F511 */
	ok("\xf4\x8f\xbf\xbf"); /* U+10FFFF */
}

static void test_text_invalid_utf8(void **state)
{
	(void)state;
	bad("\xff", "f: invalid UTF-8 at byte 1");
	bad("ab\xc3(", "f: invalid UTF-8 at byte 3");	       /* cut 2-byte sequence */
	bad("x\xc3", "f: invalid UTF-8 at byte 2");	       /* cut at the end */
	bad("\xc0\xaf", "f: invalid UTF-8 at byte 1");	       /* overlong '/' */
	bad("\xe0\x80\xaf", "f: invalid UTF-8 at byte 1");     /* overlong, 3 bytes */
	bad("\xed\xa0\x80", "f: invalid UTF-8 at byte 1");     /* U+D800, a surrogate */
	bad("\xf4\x90\x80\x80", "f: invalid UTF-8 at byte 1"); /* above U+10FFFF */
	bad("\x80", "f: invalid UTF-8 at byte 1");	       /* a lone continuation byte */
}

static void test_text_controls(void **state)
{
	(void)state;
	bad("a\tb", "f: control character U+0009 at byte 2");
	bad("\x1b[2J", "f: control character U+001B at byte 1");
	bad("del\x7f", "f: control character U+007F at byte 4");
	bad("\xc2\x80", "f: control character U+0080 at byte 1");
	bad("x\xc2\x9b", "f: control character U+009B at byte 2"); /* CSI */
	bad("\xc2\x9f", "f: control character U+009F at byte 1");
}

static void test_text_json_paths(void **state)
{
	struct psm_err e = {0};
	const cJSON *at = NULL;
	cJSON *j;

	(void)state;
	j = cJSON_Parse("{\"a\":1,\"m\":{\"list\":[\"ok\",\"x\\u0007\"]}}");
	assert_non_null(j);
	assert_int_equal(text_check_json("", j, &at, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "m.list[1]: control character U+0007 at byte 2");
	assert_string_equal(at->valuestring, "x\a");
	cJSON_Delete(j);
	j = cJSON_Parse("{\"m\":{\"k\\u009b\":1}}");
	assert_int_equal(text_check_json("req", j, &at, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "req.m: key: control character U+009B at byte 2");
	assert_string_equal(at->string, "k\xc2\x9b");
	cJSON_Delete(j);
	j = cJSON_Parse("{\"k\":[\"caf\xc3\xa9\",{\"n\":null,\"t\":true}],\"x\":2.5}");
	assert_int_equal(text_check_json("", j, NULL, &e), PSM_OK);
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_valid),
	    cmocka_unit_test(test_text_invalid_utf8),
	    cmocka_unit_test(test_text_controls),
	    cmocka_unit_test(test_text_json_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
