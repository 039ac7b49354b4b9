/* SPDX-License-Identifier: MIT */
/* test_json_out.c - json_out: the escaper (UTF-8 checked, or bytes as cJSON), the writer's
 * commas, nesting, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "json_out.h"

/* ---- the escaper ------------------------------------------------------------------- */

/* s[0..n) escaped into a roomy buffer after "<<" must be exactly "<<" want. */
static void expect_escape(const char *s, size_t n, const char *want)
{
	char buf[256] = "<<";
	size_t len = 2;
	struct psm_err e = {0};

	if (json_out_escape(buf, sizeof(buf), &len, s, n, &e) != PSM_OK)
		fail_msg("escape \"%.*s\": %s", (int)n, s, e.msg);
	assert_string_equal(buf + 2, want);
	assert_int_equal(len, 2 + strlen(want));
}

static void expect_bad_utf8_n(const char *s, size_t n, size_t at)
{
	char buf[64] = "<<", msg[64];
	size_t len = 2;
	struct psm_err e = {0};

	assert_int_equal(json_out_escape(buf, sizeof(buf), &len, s, n, &e), PSM_EINVAL);
	snprintf(msg, sizeof(msg), "not valid UTF-8 at byte %zu", at);
	assert_string_equal(e.msg, msg);
	assert_int_equal(len, 2); /* nothing appended, still terminated */
	assert_string_equal(buf, "<<");
}

static void expect_bad_utf8(const char *s, size_t at)
{
	expect_bad_utf8_n(s, strlen(s), at);
}

static void test_escape_controls(void **state)
{
	static const char *const named[0x20] = {
	    ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t",
	};
	char in, want[8];
	int c;

	(void)state;
	for (c = 0; c < 0x20; c++) {
		in = (char)c;
		if (named[c] != NULL)
			snprintf(want, sizeof(want), "%s", named[c]);
		else
			snprintf(want, sizeof(want), "\\u%04x",
				 (unsigned)c); /* lowercase, 4 digits */
		expect_escape(&in, 1, want);
	}
	expect_escape("a\x1f"
		      "b\x01",
		      4, "a\\u001fb\\u0001");
	expect_escape("\x7f", 1, "\x7f"); /* DEL is not a control character to JSON */
}

static void test_escape_quote_backslash(void **state)
{
	(void)state;
	expect_escape("say \"hi\"", 8, "say \\\"hi\\\"");
	expect_escape("C:\\dir\\", 7, "C:\\\\dir\\\\");
	expect_escape("a/b", 3, "a/b"); /* '/' stays as it is */
	expect_escape("", 0, "");
	expect_escape("x\0y", 3, "x\\u0000y"); /* a NUL inside s[0..n) too */
}

static void test_escape_utf8_passthrough(void **state)
{
	(void)state;
	expect_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
		      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	expect_escape("\xc2\x80", 2, "\xc2\x80");		  /* U+0080 */
	expect_escape("\xdf\xbf", 2, "\xdf\xbf");		  /* U+07FF */
	expect_escape("\xe0\xa0\x80", 3, "\xe0\xa0\x80");	  /* U+0800 */
	expect_escape("\xed\x9f\xbf", 3, "\xed\x9f\xbf");	  /* U+D7FF */
	expect_escape("\xee\x80\x80", 3, "\xee\x80\x80");	  /* U+E000 */
	expect_escape("\xef\xbf\xbf", 3, "\xef\xbf\xbf");	  /* U+FFFF */
	expect_escape("\xf0\x90\x80\x80", 4, "\xf0\x90\x80\x80"); /* U+10000 */
	expect_escape("\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
}

static void test_escape_utf8_invalid(void **state)
{
	(void)state;
	expect_bad_utf8("\x80", 0); /* a lone continuation byte */
	expect_bad_utf8("ab\xff", 2);
	expect_bad_utf8("\xc0\x80", 0);		/* overlong NUL */
	expect_bad_utf8("\xc1\xbf", 0);		/* overlong */
	expect_bad_utf8("x\xe0\x9f\xbf", 1);	/* overlong 3-byte */
	expect_bad_utf8("\xf0\x8f\xbf\xbf", 0); /* overlong 4-byte */
	expect_bad_utf8("ok\xed\xa0\x80", 2);	/* a surrogate, U+D800 */
	expect_bad_utf8("\xed\xbf\xbf", 0);	/* U+DFFF */
	expect_bad_utf8("\xf4\x90\x80\x80", 0); /* above U+10FFFF */
	expect_bad_utf8("\xf5\x80\x80\x80", 0);
	expect_bad_utf8("abc\xe2\x82", 3); /* cut short at the end */
	expect_bad_utf8("\xc3"
			"A",
			0); /* a bad continuation byte */
	expect_bad_utf8("\xe2\x82"
			"A",
			0);
	expect_bad_utf8("\xc3\xa9\"\xc3", 3);	 /* after escapes: counted in s */
	expect_bad_utf8_n("\xe2\x82\xac", 2, 0); /* valid bytes, but past n */
	expect_bad_utf8_n("a\xf0\x9f\x98\x80", 4, 1);
}

static void test_escape_full(void **state)
{
	struct psm_err e = {0};
	char buf[8];
	size_t len;

	(void)state;
	len = 0; /* "a\n" is 3 bytes: with the NUL it fills buf[4] exactly */
	assert_int_equal(json_out_escape(buf, 4, &len, "a\n", 2, &e), PSM_OK);
	assert_string_equal(buf, "a\\n");
	len = 0;
	memcpy(buf, "zzzzzzz", 8);
	assert_int_equal(json_out_escape(buf, 3, &len, "a\n", 2, &e), PSM_EFULL);
	assert_int_equal(len, 0);
	assert_string_equal(buf, ""); /* as it was: empty, terminated */
	len = 1; /* never half a character: "é" needs 2 bytes + NUL after "x" */
	memcpy(buf, "x", 2);
	assert_int_equal(json_out_escape(buf, 3, &len, "\xc3\xa9", 2, &e), PSM_EFULL);
	assert_int_equal(len, 1);
	assert_string_equal(buf, "x");
	len = 0; /* an escape is never split either */
	assert_int_equal(json_out_escape(buf, 6, &len, "\x01", 1, &e), PSM_EFULL);
	assert_int_equal(len, 0);
}

/* bytes >= 0x80 as they are, valid UTF-8 or not, as cJSON prints them */
static void test_escape_cjson_bytes(void **state)
{
	static const char *const in[] = {"\xff\xfe",	 "\xc0\x80",	"\x80",
					 "\xed\xa0\x80", "caf\xc3\xa9", "ab\xe2\x82"};
	char buf[64];
	size_t len;
	struct psm_err e = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		len = 0;
		assert_int_equal(json_out_escape_flags(buf, sizeof(buf), &len, in[i], strlen(in[i]),
						       JSON_OUT_CJSON, &e),
				 PSM_OK);
		assert_string_equal(buf, in[i]);
	}
	len = 0; /* the rest escaped as in the strict mode */
	assert_int_equal(
	    json_out_escape_flags(buf, sizeof(buf), &len, "\xff\"\\\n\x01", 5, JSON_OUT_CJSON, &e),
	    PSM_OK);
	assert_string_equal(buf, "\xff\\\"\\\\\\n\\u0001");
}

/* s[0..n) needs no escape (nor, with JSON_OUT_UTF8, a UTF-8 check): byte by byte. */
static bool plain_ref(const unsigned char *s, size_t n, unsigned flags)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == '"' || s[i] == '\\' ||
		    ((flags & JSON_OUT_UTF8) && s[i] >= 0x80))
			return false;
	return true;
}

/* json_out_plain() says what plain_ref() says, in both modes. */
static void expect_plain(const unsigned char *s, size_t n)
{
	assert_int_equal(json_out_plain((const char *)s, n, JSON_OUT_CJSON),
			 plain_ref(s, n, JSON_OUT_CJSON));
	assert_int_equal(json_out_plain((const char *)s, n, JSON_OUT_UTF8),
			 plain_ref(s, n, JSON_OUT_UTF8));
}

/* json_out_plain (8 bytes at a time, short strings in overlapping loads) against byte by
 * byte: every length to 40, one byte of every kind at every place.  The strings are
 * malloc'd to the byte, so that ASan sees any read past them. */
static void test_plain_words(void **state)
{
	static const unsigned char kinds[] = {0x00, 0x01, 0x1f, '"', '\\', 0x80,
					      0xc3, 0xff, 0x20, '/', 0x7e, 0x7f};
	unsigned char *s;

	(void)state;
	for (size_t n = 0; n <= 40; n++) {
		s = malloc(n != 0 ? n : 1);
		assert_non_null(s);
		for (size_t i = 0; i < n; i++)
			s[i] = (unsigned char)('a' + i % 26);
		assert_true(json_out_plain((const char *)s, n, JSON_OUT_UTF8));
		for (size_t at = 0; at < n; at++) {
			for (size_t k = 0; k < sizeof(kinds); k++) {
				s[at] = kinds[k];
				expect_plain(s, n);
			}
			s[at] = (unsigned char)('a' + at % 26);
		}
		free(s);
	}
}

/* ---- the writer -------------------------------------------------------------------- */

static void expect_text(struct json_out *w, const char *want)
{
	struct psm_err e = {0};

	if (json_out_finish(w, &e) != PSM_OK)
		fail_msg("json_out: %s", e.msg);
	assert_string_equal(w->buf, want);
	assert_int_equal(w->len, strlen(want));
}

static void expect_code(struct json_out *w, int code, const char *msg)
{
	struct psm_err e = {0};

	assert_int_equal(json_out_finish(w, &e), code);
	if (strstr(e.msg, msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, msg);
}

static void test_writer_nesting(void **state)
{
	struct json_out w;

	(void)state;
	json_out_init(&w, NULL, 0);
	json_out_begin_object(&w);
	json_out_kv_int64(&w, "a", 1);
	json_out_key(&w, "b");
	json_out_begin_array(&w);
	json_out_bool(&w, true);
	json_out_bool(&w, false);
	json_out_null(&w);
	json_out_string(&w, "x");
	json_out_begin_object(&w);
	json_out_end_object(&w);
	json_out_end_array(&w);
	json_out_key(&w, "c");
	json_out_begin_object(&w);
	json_out_key(&w, "d");
	json_out_begin_array(&w);
	json_out_end_array(&w);
	json_out_end_object(&w);
	json_out_key(&w, "e");
	json_out_begin_array(&w);
	json_out_begin_array(&w);
	json_out_int64(&w, 1);
	json_out_end_array(&w);
	json_out_begin_array(&w);
	json_out_int64(&w, 2);
	json_out_end_array(&w);
	json_out_end_array(&w);
	json_out_kv_string(&w, "k\"ey", "v\n");
	json_out_end_object(&w);
	expect_text(&w, "{\"a\":1,\"b\":[true,false,null,\"x\",{}],\"c\":{\"d\":[]},"
			"\"e\":[[1],[2]],\"k\\\"ey\":\"v\\n\"}\n");
	json_out_free(&w);
}

static void test_writer_top_level_lines(void **state)
{
	struct json_out w;

	(void)state;
	json_out_init(&w, NULL, 0);
	json_out_int64(&w, 7);
	json_out_begin_array(&w);
	json_out_end_array(&w);
	json_out_string_n(&w, "ab\0c", 4);
	expect_text(&w, "7\n[]\n\"ab\\u0000c\"\n"); /* no commas between top-level values */
	json_out_reset(&w);
	json_out_begin_object(&w);
	json_out_end_object(&w);
	expect_text(&w, "{}\n");
	json_out_free(&w);
}

static void test_writer_int64_extremes(void **state)
{
	struct json_out w;

	(void)state;
	json_out_init(&w, NULL, 0);
	json_out_begin_array(&w);
	json_out_int64(&w, INT64_MIN);
	json_out_int64(&w, INT64_MAX);
	json_out_int64(&w, 0);
	json_out_int64(&w, -1);
	json_out_int64(&w, 9007199254740993); /* 2^53 + 1: exact, no double on the way */
	json_out_end_array(&w);
	expect_text(&w, "[-9223372036854775808,9223372036854775807,0,-1,9007199254740993]\n");
	json_out_free(&w);
}

/* JSON_OUT_CJSON (psmd): bytes as they are, values back to back, no newline. */
static void test_writer_cjson_mode(void **state)
{
	struct json_out w;

	(void)state;
	json_out_init_flags(&w, NULL, 0, JSON_OUT_CJSON);
	json_out_begin_array(&w);
	json_out_string(&w, "a\xff");
	json_out_string(&w, NULL);
	json_out_uint64(&w, UINT64_MAX);
	json_out_raw_value(&w, "1.5", 3);
	json_out_end_array(&w);
	json_out_begin_object(&w);
	json_out_kv_string(&w, "k\xff", "v\xc0");
	json_out_kv_int64(&w, "n", -42);
	json_out_end_object(&w);
	expect_text(&w, "[\"a\xff\",\"\",18446744073709551615,1.5]{\"k\xff\":\"v\xc0\",\"n\":-42}");
	json_out_free(&w);
}

/* Keys known when compiling and keys that are not take the same checks. */
static void test_writer_keys(void **state)
{
	const char *volatile keys[] = {"plain", "k\"q", "k\xff"}; /* not known when compiling */
	struct json_out w;

	(void)state;
	json_out_init(&w, NULL, 0);
	json_out_begin_object(&w);
	for (size_t i = 0; i < 2; i++)
		json_out_kv_int64(&w, keys[i], (int64_t)i);
	json_out_kv_int64(&w, "k\"q", 2);
	json_out_end_object(&w);
	expect_text(&w, "{\"plain\":0,\"k\\\"q\":1,\"k\\\"q\":2}\n");
	json_out_reset(&w);
	json_out_begin_object(&w);
	json_out_kv_string(&w, keys[2], "v");
	expect_code(&w, PSM_EINVAL, "not valid UTF-8 at byte 1");
	assert_null(strstr(w.err.msg, ": not")); /* a key's error is not prefixed */
	json_out_reset(&w);
	json_out_begin_object(&w);
	json_out_kv_string(&w, "k\xff", "v");
	expect_code(&w, PSM_EINVAL, "not valid UTF-8 at byte 1");
	json_out_free(&w);
}

static void test_writer_misuse(void **state)
{
	struct json_out w;
	int i;

	(void)state;
	json_out_init(&w, NULL, 0);
	json_out_key(&w, "a");
	expect_code(&w, PSM_EINVAL, "a key outside an object");
	json_out_reset(&w);
	json_out_begin_object(&w);
	json_out_int64(&w, 1);
	expect_code(&w, PSM_EINVAL, "a value without a key");
	json_out_reset(&w);
	json_out_begin_object(&w);
	json_out_key(&w, "a");
	json_out_key(&w, "b");
	expect_code(&w, PSM_EINVAL, "a key without a value");
	json_out_reset(&w);
	json_out_begin_object(&w);
	json_out_key(&w, "a");
	json_out_end_object(&w);
	expect_code(&w, PSM_EINVAL, "unbalanced '}'");
	json_out_reset(&w);
	json_out_begin_object(&w);
	json_out_end_array(&w);
	expect_code(&w, PSM_EINVAL, "unbalanced ']'");
	json_out_reset(&w);
	json_out_begin_array(&w);
	expect_code(&w, PSM_EINVAL, "left open");
	json_out_reset(&w);
	for (i = 0; i < JSON_OUT_DEPTH_MAX; i++)
		json_out_begin_array(&w);
	assert_int_equal(w.code, PSM_OK);
	json_out_begin_array(&w);
	expect_code(&w, PSM_EINVAL, "nested too deeply");
	json_out_free(&w);
}

static void test_writer_error_sticks(void **state)
{
	struct json_out w;
	size_t len;

	(void)state;
	json_out_init(&w, NULL, 0);
	json_out_begin_object(&w);
	json_out_kv_string(&w, "user", "bad\xff");
	len = w.len;
	json_out_kv_int64(&w, "n", 1);
	json_out_end_object(&w);
	assert_int_equal(w.len, len); /* nothing more written */
	expect_code(&w, PSM_EINVAL, "user: not valid UTF-8 at byte 3");
	json_out_reset(&w); /* and reset forgets it */
	json_out_null(&w);
	expect_text(&w, "null\n");
	json_out_free(&w);
}

static void test_writer_overflow(void **state)
{
	struct json_out w;

	(void)state;
	json_out_init(&w, NULL, 6);
	json_out_string(&w, "abc"); /* "abc" and '\n': 6 bytes, the limit */
	expect_text(&w, "\"abc\"\n");
	json_out_reset(&w);
	json_out_string(&w, "abcd");
	expect_code(&w, PSM_EFULL, "too long");
	assert_true(w.len <= 6);
	assert_int_equal(w.buf[w.len], '\0');
	json_out_reset(&w);
	json_out_string(&w, "\n\n"); /* escapes count: "\n\n" quoted is 6 bytes */
	expect_code(&w, PSM_EFULL, "too long");
	json_out_reset(&w);
	json_out_raw(&w, "1234567", 7);
	expect_code(&w, PSM_EFULL, "too long");
	json_out_free(&w);
}

/* Large strings make the buffer grow, past any first guess. */
static void test_writer_grows(void **state)
{
	static char big[100000];
	struct json_out w;

	(void)state;
	memset(big, 'q', sizeof(big) - 1);
	json_out_init(&w, NULL, 0);
	json_out_begin_array(&w);
	json_out_string(&w, big);
	json_out_string(&w, big);
	json_out_end_array(&w);
	assert_int_equal(json_out_finish(&w, NULL), PSM_OK);
	assert_int_equal(w.len, 2 * (sizeof(big) - 1 + 2) + 4);
	assert_int_equal(w.buf[1], '"');
	assert_int_equal(w.buf[sizeof(big) + 1], '"');
	assert_int_equal(w.buf[sizeof(big) + 2], ',');
	json_out_free(&w);
}

static void test_writer_file(void **state)
{
	char path[] = "/tmp/psm-test-json-out-XXXXXX", got[64] = "";
	struct json_out w;
	FILE *fp;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w+");
	assert_non_null(fp);
	json_out_init(&w, fp, 0);
	json_out_begin_object(&w);
	json_out_kv_int64(&w, "a", 1);
	assert_int_equal(ftell(fp), 0); /* nothing out before the value is complete */
	json_out_end_object(&w);
	assert_int_equal(ftell(fp), 8);
	assert_int_equal(w.len, 0);
	json_out_begin_array(&w); /* dropped by reset, never written */
	json_out_reset(&w);
	json_out_raw(&w, "tail", 4);
	assert_int_equal(json_out_finish(&w, NULL), PSM_OK);
	rewind(fp);
	assert_int_equal(fread(got, 1, sizeof(got) - 1, fp), 12);
	assert_string_equal(got, "{\"a\":1}\ntail");
	json_out_free(&w);
	fclose(fp);
	unlink(path);
}

static void test_writer_write_error(void **state)
{
	struct json_out w;
	FILE *fp = fopen("/dev/full", "w");

	(void)state;
	assert_non_null(fp);
	json_out_init(&w, fp, 0);
	json_out_begin_object(&w);
	json_out_kv_string(&w, "a", "b");
	json_out_end_object(&w);
	assert_int_equal(w.code, PSM_ESYS); /* found when the value goes out */
	json_out_null(&w);
	expect_code(&w, PSM_ESYS, "write: No space left on device");
	json_out_free(&w);
	fclose(fp);
}

/* ---- psm's output conventions: times and lists ------------------------------------ */

/* The members written into {} by fn, as text. */
static void expect_members(void (*fn)(struct json_out *w), const char *want)
{
	struct json_out w;
	struct psm_err e = {0};

	json_out_init_flags(&w, NULL, 0, JSON_OUT_CJSON);
	json_out_begin_object(&w);
	fn(&w);
	json_out_end_object(&w);
	assert_int_equal(json_out_finish(&w, &e), PSM_OK);
	assert_string_equal(w.buf, want);
	json_out_free(&w);
}

static void times(struct json_out *w)
{
	json_out_kv_time(w, "expires", 1796623200, INT64_MAX);
	json_out_kv_time(w, "not_after", INT64_MAX, INT64_MAX);
}

/* A time is an RFC 3339 UTC string and its seconds; none is null twice. */
static void test_kv_time(void **state)
{
	(void)state;
	expect_members(times, "{\"expires\":\"2026-12-07T06:00:00Z\",\"expires_unix\":1796623200,"
			      "\"not_after\":null,\"not_after_unix\":null}");
}

static void lists(struct json_out *w)
{
	json_out_kv_list(w, "from", "10.0.0.0/8,LOCAL", 16);
	json_out_kv_list(w, "hosts", "", 0);
	json_out_kv_list(w, "one", "web", 3);
}

/* A comma-separated text is an array of strings; none is []. */
static void test_kv_list(void **state)
{
	(void)state;
	expect_members(lists,
		       "{\"from\":[\"10.0.0.0/8\",\"LOCAL\"],\"hosts\":[],\"one\":[\"web\"]}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_controls),
	    cmocka_unit_test(test_escape_quote_backslash),
	    cmocka_unit_test(test_escape_utf8_passthrough),
	    cmocka_unit_test(test_escape_utf8_invalid),
	    cmocka_unit_test(test_escape_full),
	    cmocka_unit_test(test_escape_cjson_bytes),
	    cmocka_unit_test(test_plain_words),
	    cmocka_unit_test(test_writer_nesting),
	    cmocka_unit_test(test_writer_top_level_lines),
	    cmocka_unit_test(test_writer_int64_extremes),
	    cmocka_unit_test(test_writer_cjson_mode),
	    cmocka_unit_test(test_writer_keys),
	    cmocka_unit_test(test_writer_misuse),
	    cmocka_unit_test(test_writer_error_sticks),
	    cmocka_unit_test(test_writer_overflow),
	    cmocka_unit_test(test_writer_grows),
	    cmocka_unit_test(test_writer_file),
	    cmocka_unit_test(test_writer_write_error),
	    cmocka_unit_test(test_kv_time),
	    cmocka_unit_test(test_kv_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
