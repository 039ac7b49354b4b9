/* SPDX-License-Identifier: MIT */
/* test_proto_json.c - psmd's JSON (json_out.h, cJSON mode): what cJSON prints, replies, records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "json_cjson.h"
#include "record.h"
#include "record_fixture.h"

/* json_cjson_item(item) must print exactly what cJSON prints. */
static void assert_same_as_cjson(const cJSON *item)
{
	struct json_out w;
	char *want = cJSON_PrintUnformatted(item), *got;
	size_t len = 0;

	json_out_init_flags(&w, NULL, 0, JSON_OUT_CJSON);
	json_cjson_item(&w, item);
	got = json_cjson_take(&w, &len);
	assert_non_null(want);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(want);
	free(got);
}

static void test_pj_strings_like_cjson(void **state)
{
	static const char *const texts[] = {
	    "",
	    "plain",
	    "quote \" backslash \\ slash /",
	    "del \x7f",
	    "utf-8 \xc3\xa9 \xe2\x82\xac",
	    "not utf-8 \xff\xfe",
	    "\"",
	    "\\\\",
	    "tab\tnl\ncr\rbs\bff\f",
	};
	cJSON *arr = cJSON_CreateArray(), *obj = cJSON_CreateObject();
	char ctl[2] = {0, 0}, key[16];
	int c;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(texts[i]));
	for (c = 1; c < 0x20; c++) { /* every control character, as a value and in a key */
		ctl[0] = (char)c;
		cJSON_AddItemToArray(arr, cJSON_CreateString(ctl));
		snprintf(key, sizeof(key), "k%c\"%d", c, c);
		cJSON_AddStringToObject(obj, key, ctl);
	}
	assert_same_as_cjson(arr);
	assert_same_as_cjson(obj);
	cJSON_Delete(arr);
	cJSON_Delete(obj);
}

static void test_pj_numbers_like_cjson(void **state)
{
	static const double nums[] = {
	    0,
	    -0.0,
	    1,
	    -1,
	    42,
	    2147483647.0,
	    2147483648.0,
	    -2147483649.0,
	    1800000000,
	    253402300799.0,
	    999999999999999.0,
	    -999999999999999.0,
	    1e15,
	    1e16,
	    123456789012345678.0,
	    9007199254740993.0,
	    1.5,
	    -2.25,
	    0.1,
	    1.0 / 3,
	    1e-7,
	    3.14159e300,
	    -4.9e-324,
	};
	cJSON *arr = cJSON_CreateArray();

	(void)state;
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(nums[i]));
	cJSON_AddItemToArray(arr, cJSON_CreateNumber(1e308 * 10)); /* inf: null, as cJSON */
	assert_same_as_cjson(arr);
	cJSON_Delete(arr);
}

static void test_pj_trees_like_cjson(void **state)
{
	const char *doc =
	    "{\"a\":{},\"b\":[],\"c\":[[],{},[1,[2,[3]]]],\"d\":{\"e\":{\"f\":null}},"
	    "\"t\":true,\"f\":false,\"n\":null,\"s\":\"x\",\"m\":[1,\"two\",{\"3\":3}]}";
	cJSON *o = cJSON_Parse(doc), *raw = cJSON_CreateRaw("{\"raw\":1}");

	(void)state;
	assert_non_null(o);
	cJSON_AddItemToObject(o, "r", raw);
	assert_same_as_cjson(o);
	cJSON_Delete(o);
}

/* As deep as cJSON parses (CJSON_NESTING_LIMIT): arrays, then objects. */
static void test_pj_deep_like_cjson(void **state)
{
	static char doc[8 * CJSON_NESTING_LIMIT + 8];
	cJSON *o;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < CJSON_NESTING_LIMIT; i++)
		doc[n++] = '[';
	for (int i = 0; i < CJSON_NESTING_LIMIT; i++)
		doc[n++] = ']';
	doc[n] = '\0';
	o = cJSON_Parse(doc);
	assert_non_null(o);
	assert_same_as_cjson(o);
	cJSON_Delete(o);
	for (n = 0; n < 5 * CJSON_NESTING_LIMIT; n += 5)
		memcpy(doc + n, "{\"a\":", 5);
	memcpy(doc + n, "null", 4);
	memset(doc + n + 4, '}', CJSON_NESTING_LIMIT);
	doc[n + 4 + CJSON_NESTING_LIMIT] = '\0';
	o = cJSON_Parse(doc);
	assert_non_null(o);
	assert_same_as_cjson(o);
	cJSON_Delete(o);
}

static void test_pj_writer_calls(void **state)
{
	struct json_out w;
	char *text;
	size_t len;

	(void)state;
	json_out_init_flags(&w, NULL, 0, JSON_OUT_CJSON);
	json_out_begin_object(&w);
	json_out_kv_int64(&w, "min", INT64_MIN);
	json_cjson_kint_or_null(&w, "none", 7, 7);
	json_cjson_kint_or_null(&w, "some", -7, 7);
	json_out_key(&w, "v");
	json_cjson_uint_str(&w, UINT64_MAX);
	json_out_key(&w, "list");
	json_out_begin_array(&w);
	json_out_uint64(&w, 0);
	json_out_string(&w, NULL);
	json_out_bool(&w, false);
	json_out_begin_object(&w);
	json_out_end_object(&w);
	json_out_end_array(&w);
	json_out_kv_string(&w, "esc", "a\"b");
	json_out_end_object(&w);
	text = json_cjson_take(&w, &len);
	assert_string_equal(text, "{\"min\":-9223372036854775808,\"none\":null,\"some\":-7,"
				  "\"v\":\"18446744073709551615\",\"list\":[0,\"\",false,{}],"
				  "\"esc\":\"a\\\"b\"}");
	assert_int_equal(len, strlen(text));
	assert_null(w.buf); /* take empties the writer */
	free(text);
}

static void test_pj_reset_and_take_empty(void **state)
{
	struct json_out w;
	char *text;
	size_t len = 99;

	(void)state;
	json_out_init_flags(&w, NULL, 0, JSON_OUT_CJSON);
	text = json_cjson_take(&w, &len);
	assert_string_equal(text, "");
	assert_int_equal(len, 0);
	free(text);
	for (int i = 0; i < 3; i++) { /* one buffer, many texts */
		json_out_reset(&w);
		json_out_begin_array(&w);
		json_out_int64(&w, i);
		json_out_int64(&w, i);
		json_out_end_array(&w);
	}
	assert_string_equal(w.buf, "[2,2]");
	assert_int_equal(w.len, 5);
	json_out_free(&w);
}

static void test_pj_grows(void **state)
{
	struct json_out w;
	char big[5000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_out_init_flags(&w, NULL, 0, JSON_OUT_CJSON);
	json_out_begin_array(&w);
	for (int i = 0; i < 10; i++)
		json_out_string(&w, big);
	json_out_end_array(&w);
	assert_int_equal(w.code, PSM_OK);			 /* not out of memory */
	assert_int_equal(w.len, 2 + 10 * (strlen(big) + 2) + 9); /* [ ] "" and 9 commas */
	assert_int_equal(strlen(w.buf), w.len);
	json_out_free(&w);
}

static void test_pj_reply_lines(void **state)
{
	cJSON *f = cJSON_CreateObject();
	char *line;
	size_t len;

	(void)state;
	cJSON_AddStringToObject(f, "grant_id", "abc");
	cJSON_AddNumberToObject(f, "not_after", 1800003600);
	line = proto_reply_ok(f, "t\"1", &len);
	assert_string_equal(line, "{\"ok\":true,\"tag\":\"t\\\"1\",\"grant_id\":\"abc\","
				  "\"not_after\":1800003600}\n");
	assert_int_equal(len, strlen(line));
	free(line);
	line = proto_reply_ok(NULL, NULL, NULL);
	assert_string_equal(line, "{\"ok\":true}\n");
	free(line);
	line = proto_reply_error(PROTO_E_NOT_FOUND, "no \"x\"\n", NULL, &len);
	assert_string_equal(line, "{\"ok\":false,\"error\":{\"code\":\"not_found\","
				  "\"message\":\"no \\\"x\\\"\\n\"}}\n");
	free(line);
}

/* The text of a record is what cJSON prints for it, and reads back as the same record. */
static void assert_record_text(const struct record *r)
{
	char *text = record_print(r), *again;
	cJSON *tree = record_to_json(r);
	struct record back;
	struct psm_err err = {0};

	assert_non_null(text);
	assert_non_null(tree);
	again = cJSON_PrintUnformatted(tree);
	assert_string_equal(text, again);
	if (record_parse(text, strlen(text), &back, &err) != PSM_OK)
		fail_msg("record_parse: %s", err.msg);
	free(again);
	again = record_print(&back);
	assert_string_equal(text, again);
	record_free(&back);
	cJSON_Delete(tree);
	free(text);
	free(again);
}

static void test_pj_records(void **state)
{
	struct record g, s;
	char *text;

	(void)state;
	fx_grant(&g, "%wheel", "sudo:cmd:*", UINT64_MAX, FX_NOW + 60);
	free(g.u.grant.reason);
	g.u.grant.reason = strdup("INC \"42\" \\ caf\xc3\xa9");
	assert_record_text(&g);
	fx_session(&s, "alice", 7, REC_NOT_AFTER_NONE);
	free(s.u.session.metadata);
	s.u.session.metadata = strdup("{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null}}");
	assert_record_text(&s);
	text = record_print(&s);
	assert_non_null(strstr(text, "\"metadata\":{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null}},"));
	assert_non_null(strstr(text, "\"expires\":null,"));
	free(text);
	free(s.u.session.metadata);
	s.u.session.metadata = strdup("{not json");
	assert_null(record_print(&s)); /* never a broken record in the journal */
	record_free(&g);
	record_free(&s);
}

/* ---- replies as psm's JSON output (proto_present) and back (proto_unpresent) ---------- */

static char *presented(const char *reply)
{
	struct psm_err e = {0};
	cJSON *o = cJSON_Parse(reply);
	char *s;

	assert_non_null(o);
	assert_int_equal(proto_present(o, &e), PSM_OK);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* Times become RFC 3339 strings with "_unix" beside them (null twice when none), numeric
 * versions strings, uptime uptime_s, a check's structured explanation its "explain"; the tag
 * goes and a session's metadata stays as it is. */
static void test_pj_present(void **state)
{
	char *s;

	(void)state;
	s = presented("{\"ok\":true,\"tag\":\"t\",\"grants\":[{\"not_after\":1796623200,"
		      "\"not_before\":null,\"version\":0}],\"uptime\":5}");
	assert_string_equal(s, "{\"ok\":true,\"grants\":[{\"not_after\":\"2026-12-07T06:00:00Z\","
			       "\"not_after_unix\":1796623200,\"not_before\":null,"
			       "\"not_before_unix\":null,\"version\":\"0\"}],\"uptime_s\":5}");
	free(s);
	s = presented("{\"ok\":true,\"session\":{\"expires\":null,\"metadata\":{\"created\":1}}}");
	assert_string_equal(s, "{\"ok\":true,\"session\":{\"expires\":null,\"expires_unix\":null,"
			       "\"metadata\":{\"created\":1}}}");
	free(s);
	s = presented("{\"results\":[{\"explain\":\"text\",\"explain_fields\":{\"expires\":null,"
		      "\"expires_unix\":null}}]}");
	assert_string_equal(
	    s, "{\"results\":[{\"explain\":{\"expires\":null,\"expires_unix\":null}}]}");
	free(s);
}

/* An exported object goes back to the wire's integer times; a version 1 one stays. */
static void test_pj_unpresent(void **state)
{
	struct psm_err e = {0};
	cJSON *o =
	    cJSON_Parse("{\"not_after\":\"2026-12-07T06:00:00Z\",\"not_after_unix\":1796623200,"
			"\"not_before\":null,\"not_before_unix\":null,\"created\":5}");
	char *s;

	(void)state;
	assert_int_equal(proto_unpresent(o, &e), PSM_OK);
	s = cJSON_PrintUnformatted(o);
	assert_string_equal(s, "{\"not_after\":1796623200,\"not_before\":null,\"created\":5}");
	free(s);
	cJSON_Delete(o);
	o = cJSON_Parse("{\"expires\":\"2026-12-07T06:00:00Z\",\"expires_unix\":1796623201}");
	assert_int_equal(proto_unpresent(o, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "disagree"));
	cJSON_Delete(o);
	o = cJSON_Parse("{\"expires\":7,\"expires_unix\":7}");
	assert_int_equal(proto_unpresent(o, &e), PSM_EINVAL);
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pj_strings_like_cjson),
	    cmocka_unit_test(test_pj_numbers_like_cjson),
	    cmocka_unit_test(test_pj_trees_like_cjson),
	    cmocka_unit_test(test_pj_deep_like_cjson),
	    cmocka_unit_test(test_pj_writer_calls),
	    cmocka_unit_test(test_pj_reset_and_take_empty),
	    cmocka_unit_test(test_pj_grows),
	    cmocka_unit_test(test_pj_reply_lines),
	    cmocka_unit_test(test_pj_records),
	    cmocka_unit_test(test_pj_present),
	    cmocka_unit_test(test_pj_unpresent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
