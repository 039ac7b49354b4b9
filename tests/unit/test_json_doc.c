/* SPDX-License-Identifier: MIT */
/* test_json_doc.c - JSON with comments: positions, syntax errors, duplicate keys, typed getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "json_doc.h"

static int parse(struct json_doc *d, const char *text, struct psm_err *e)
{
	return json_doc_parse(d, "t.json", text, strlen(text), e);
}

static void expect_parse_error(const char *text, const char *msg)
{
	struct json_doc d;
	struct psm_err e = {0};

	assert_int_equal(parse(&d, text, &e), PSM_EINVAL);
	assert_null(d.root);
	if (strstr(e.msg, msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, msg);
}

/* Position "L:C" of the first node whose key is key (or of the root when key is NULL). */
static void expect_pos(const struct json_doc *d, const char *key, unsigned line, unsigned col)
{
	size_t i;

	for (i = 0; i < d->nnodes; i++) {
		const char *k = d->nodes[i]->string;

		if ((key == NULL && i == 0) || (key != NULL && k != NULL && strcmp(k, key) == 0)) {
			assert_int_equal(d->line[i], line);
			assert_int_equal(d->col[i], col);
			return;
		}
	}
	fail_msg("no node \"%s\"", key);
}

static void test_json_line_comments(void **state)
{
	struct json_doc d;
	struct psm_err e;
	const char *t = "// head\n{ // after brace\n  \"a\": 1, // x\n  \"b\": 2\n}\n// tail";

	(void)state;
	assert_int_equal(parse(&d, t, &e), PSM_OK);
	assert_int_equal(cJSON_GetObjectItem(d.root, "b")->valueint, 2);
	expect_pos(&d, NULL, 2, 1);
	expect_pos(&d, "a", 3, 3);
	expect_pos(&d, "b", 4, 3);
	json_doc_free(&d);
}

static void test_json_block_comments(void **state)
{
	struct json_doc d;
	struct psm_err e;
	const char *t = "{ /* one\n two\n three */ \"a\": /* in */ [1,\n /**/ 2],\n\t\"b\": true }";

	(void)state;
	assert_int_equal(parse(&d, t, &e), PSM_OK);
	expect_pos(&d, "a", 3, 11);
	expect_pos(&d, "b", 5, 2);
	assert_int_equal(d.nnodes, 5);
	assert_int_equal(d.line[2], 3); /* element 1 */
	assert_int_equal(d.col[2], 26);
	assert_int_equal(d.line[3], 4); /* element 2 */
	assert_int_equal(d.col[3], 7);
	json_doc_free(&d);
}

static void test_json_comments_inside_strings(void **state)
{
	struct json_doc d;
	struct psm_err e;
	const char *t = "{\"u\": \"http://x/*y*/\", \"q\": \"a\\\"//b\", \"k//\": \"/*\"}";

	(void)state;
	assert_int_equal(parse(&d, t, &e), PSM_OK);
	assert_string_equal(cJSON_GetObjectItem(d.root, "u")->valuestring, "http://x/*y*/");
	assert_string_equal(cJSON_GetObjectItem(d.root, "q")->valuestring, "a\"//b");
	assert_string_equal(cJSON_GetObjectItem(d.root, "k//")->valuestring, "/*");
	json_doc_free(&d);
}

static void test_json_unterminated_comment(void **state)
{
	(void)state;
	expect_parse_error("{\"a\": 1,\n  /* open\n", "t.json:2:3: unterminated comment");
	expect_parse_error("{} /", "t.json:1:4: syntax error near '/'");
}

static void test_json_syntax_error_position(void **state)
{
	(void)state;
	expect_parse_error("{\n  \"a\": 1,\n  \"b\": tru\n}",
			   "t.json:3:8: syntax error near 'tru'");
	expect_parse_error("{\"a\": 1 \"b\": 2}", "t.json:1:9: syntax error near '\"b\": 2}'");
	expect_parse_error("{\"a\": [1, 2,]}", "t.json:1:13: syntax error near ']}'");
	expect_parse_error("{\"a\": 1}\n{\"b\": 2}", "t.json:2:1: syntax error near '{\"b\": 2}'");
	expect_parse_error("{\"a\": 'x'}", "t.json:1:7: syntax error");
}

static void test_json_syntax_error_at_end(void **state)
{
	(void)state;
	expect_parse_error("{\"a\": [1,\n", "syntax error at end of input");
	expect_parse_error("{\"a\": \"open", "t.json:1:");
}

static void test_json_duplicate_keys(void **state)
{
	(void)state;
	expect_parse_error("{\"roles\": {},\n \"x\": 1,\n  \"roles\": {}}",
			   "t.json:3:3: duplicate key \"roles\"");
	expect_parse_error("{\"a\": {\"k\": 1,\n\"j\": 2, \"k\": 3}}",
			   "t.json:2:9: duplicate key \"k\"");
	expect_parse_error("{\"a\": [{\"z\": 1, \"z\": 1}]}", "t.json:1:17: duplicate key \"z\"");
	/* keys that decode to the same text are the same key */
	expect_parse_error("{\"ab\": 1, \"a\\u0062\": 2}", "duplicate key \"ab\"");
}

static void test_json_duplicate_first_second_occurrence(void **state)
{
	(void)state;
	/* two duplicated names: the error is at the earliest second occurrence */
	expect_parse_error("{\"b\": 1, \"a\": 1, \"a\": 2, \"b\": 2}",
			   "t.json:1:18: duplicate key \"a\"");
}

static void test_json_empty_and_non_object(void **state)
{
	struct json_doc d;
	struct psm_err e;

	(void)state;
	expect_parse_error("", "t.json:1:1: empty document");
	expect_parse_error("  \n // nothing\n /* at all */\n", "empty document");
	expect_parse_error("[1, 2]", "t.json:1:1: top level must be an object");
	expect_parse_error("\n  \"text\"", "t.json:2:3: top level must be an object");
	expect_parse_error("42", "top level must be an object");
	assert_int_equal(parse(&d, "{}", &e), PSM_OK);
	assert_int_equal(d.nnodes, 1);
	json_doc_free(&d);
}

static void test_json_nul_and_bom(void **state)
{
	struct json_doc d;
	struct psm_err e;

	(void)state;
	assert_int_equal(json_doc_parse(&d, "t.json", "{\"a\":\n 1\0}", 9, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "t.json:2:3: NUL byte"));
	assert_int_equal(json_doc_parse(&d, "t.json", "{\"a\": \"x\0y\"}", 12, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "t.json:1:9: NUL byte"));
	assert_int_equal(parse(&d, "{\"u\": \"root\\u0000x\"}", &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "t.json:1:12: \\u0000 is not allowed in strings"));
	assert_int_equal(parse(&d, "{\"u\": \"a\\\\u0000\"}", &e),
			 PSM_OK); /* an escaped backslash */
	json_doc_free(&d);
	assert_int_equal(parse(&d, "\xef\xbb\xbf{\"a\": 1}", &e), PSM_OK);
	expect_pos(&d, "a", 1, 5);
	json_doc_free(&d);
}

static void test_json_not_nul_terminated(void **state)
{
	struct json_doc d;
	struct psm_err e;
	const char t[] = "{\"a\": 1}GARBAGE";

	(void)state;
	assert_int_equal(json_doc_parse(&d, "t.json", t, 8, &e), PSM_OK);
	assert_int_equal(cJSON_GetObjectItem(d.root, "a")->valueint, 1);
	json_doc_free(&d);
}

static void test_json_raw_newline_in_string(void **state)
{
	(void)state;
	/* cJSON takes a raw line end inside a string: a control character, refused */
	expect_parse_error("{\"a\": \"x\ny\",\n \"b\": 1}",
			   "t.json:1:2: a: control character U+000A at byte 2");
}

/* Strings and keys: UTF-8 without control characters, named by their path, at FILE:L:C. */
static void test_json_text_checked(void **state)
{
	(void)state;
	expect_parse_error("{\"a\": [\"ok\", \"\xff\"]}",
			   "t.json:1:14: a[1]: invalid UTF-8 at byte 1");
	expect_parse_error("{\"a\": {\"b\": \"x\\u001b\"}}", "t.json:1:8: a.b: control character "
							     "U+001B at byte 2");
	expect_parse_error("{\"a\": \"\\u0085\"}",
			   "t.json:1:2: a: control character U+0085 at byte 1");
	expect_parse_error("{\"k\xc3\": 1}", "t.json:1:2: key: invalid UTF-8 at byte 2");
	expect_parse_error("{\"a\": {\"\\u007f\": 1}}",
			   "t.json:1:8: a: key: control character U+007F "
			   "at byte 1");
	expect_parse_error("{\"a\": \"\\ud800\"}", "syntax error");
}

static void test_json_positions_preorder(void **state)
{
	struct json_doc d;
	struct psm_err e;
	const char *t = "{\"a\": {\"b\": [true, null, {\"c\": \"s\"}]},\n\"d\": -1.5e3}";
	static const unsigned cols[] = {1, 2, 8, 14, 20, 26, 27, 1};
	size_t i;

	(void)state;
	assert_int_equal(parse(&d, t, &e), PSM_OK);
	assert_int_equal(d.nnodes, 8);
	for (i = 0; i < d.nnodes; i++)
		assert_int_equal(d.col[i], cols[i]);
	assert_int_equal(d.line[7], 2);
	assert_ptr_equal(d.nodes[0], d.root);
	assert_string_equal(d.nodes[6]->string, "c");
	json_doc_free(&d);
}

static void test_json_error_at_node(void **state)
{
	struct json_doc d;
	struct psm_err e;
	const cJSON *arr;

	(void)state;
	assert_int_equal(parse(&d, "{\n  \"list\": [\n    1,\n    \"two\"]\n}", &e), PSM_OK);
	arr = cJSON_GetObjectItem(d.root, "list");
	assert_int_equal(json_doc_error(&d, arr, &e, "bad %s", "list"), PSM_EINVAL);
	assert_string_equal(e.msg, "t.json:2:3: bad list");
	json_doc_error(&d, arr->child->next, &e, "bad element");
	assert_string_equal(e.msg, "t.json:4:5: bad element");
	json_doc_error(&d, NULL, &e, "no node");
	assert_string_equal(e.msg, "t.json: no node");
	json_doc_free(&d);
}

static void test_json_check_keys(void **state)
{
	static const char *const keys[] = {"user", "roles", NULL};
	struct json_doc d;
	struct psm_err e;
	const cJSON *b;

	(void)state;
	assert_int_equal(parse(&d, "{\"b\": [{\"user\": \"a\",\n   \"colour\": 1}, 5]}", &e),
			 PSM_OK);
	b = cJSON_GetObjectItem(d.root, "b");
	assert_int_equal(json_doc_check_keys(&d, b->child, "binding", keys, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "t.json:2:4: unknown key \"colour\" in binding");
	assert_int_equal(json_doc_check_keys(&d, b->child->next, "binding", keys, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "t.json:2:18: binding: expected an object");
	assert_int_equal(
	    json_doc_check_keys(&d, d.root, "top", (const char *const[]){"b", NULL}, &e), PSM_OK);
	json_doc_free(&d);
}

static void test_json_string_getter(void **state)
{
	struct json_doc d;
	struct psm_err e;
	const char *s = "untouched";

	(void)state;
	assert_int_equal(parse(&d, "{\"s\": \"v\",\n \"n\": 5, \"z\": null}", &e), PSM_OK);
	assert_int_equal(json_doc_string(&d, d.root, "s", true, &s, &e), PSM_OK);
	assert_string_equal(s, "v");
	s = "untouched";
	assert_int_equal(json_doc_string(&d, d.root, "missing", false, &s, &e), PSM_OK);
	assert_string_equal(s, "untouched");
	assert_int_equal(json_doc_string(&d, d.root, "z", false, &s, &e), PSM_OK);
	assert_string_equal(s, "untouched");
	assert_int_equal(json_doc_string(&d, d.root, "missing", true, &s, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "t.json:1:1: missing \"missing\"");
	assert_int_equal(json_doc_string(&d, d.root, "n", false, &s, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "t.json:2:2: n: expected a string");
	json_doc_free(&d);
}

static void test_json_uint_getter(void **state)
{
	struct json_doc d;
	struct psm_err e;
	uint64_t v = 9;

	(void)state;
	assert_int_equal(parse(&d,
			       "{\"a\": 100000, \"neg\": -1, \"frac\": 1.5, \"s\": \"1\", "
			       "\"big\": 1e300, \"zero\": 0}",
			       &e),
			 PSM_OK);
	assert_int_equal(json_doc_uint(&d, d.root, "a", true, 100000, &v, &e), PSM_OK);
	assert_int_equal(v, 100000);
	assert_int_equal(json_doc_uint(&d, d.root, "zero", true, 5, &v, &e), PSM_OK);
	assert_int_equal(v, 0);
	assert_int_equal(json_doc_uint(&d, d.root, "a", true, 99999, &v, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "t.json:1:2: a: expected a whole number from 0 to 99999"));
	assert_int_equal(json_doc_uint(&d, d.root, "neg", true, 10, &v, &e), PSM_EINVAL);
	assert_int_equal(json_doc_uint(&d, d.root, "frac", true, 10, &v, &e), PSM_EINVAL);
	assert_int_equal(json_doc_uint(&d, d.root, "s", true, 10, &v, &e), PSM_EINVAL);
	assert_int_equal(json_doc_uint(&d, d.root, "big", true, UINT64_MAX, &v, &e), PSM_EINVAL);
	v = 7;
	assert_int_equal(json_doc_uint(&d, d.root, "nope", false, 10, &v, &e), PSM_OK);
	assert_int_equal(v, 7);
	json_doc_free(&d);
}

static void test_json_strings_getter(void **state)
{
	struct json_doc d;
	struct psm_err e;
	const cJSON *a = NULL;

	(void)state;
	assert_int_equal(parse(&d,
			       "{\"ok\": [\"a\", \"b\"], \"lone\": \"a\",\n \"mixed\": [\"a\", 2],"
			       " \"empty\": []}",
			       &e),
			 PSM_OK);
	assert_int_equal(json_doc_strings(&d, d.root, "ok", true, &a, &e), PSM_OK);
	assert_int_equal(cJSON_GetArraySize(a), 2);
	assert_int_equal(json_doc_strings(&d, d.root, "empty", true, &a, &e), PSM_OK);
	assert_int_equal(cJSON_GetArraySize(a), 0);
	assert_int_equal(json_doc_strings(&d, d.root, "lone", true, &a, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "t.json:1:20: lone: expected an array of strings");
	assert_int_equal(json_doc_strings(&d, d.root, "mixed", true, &a, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "t.json:2:17: mixed: expected an array of strings");
	a = NULL;
	assert_int_equal(json_doc_strings(&d, d.root, "none", false, &a, &e), PSM_OK);
	assert_null(a);
	json_doc_free(&d);
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void test_json_load(void **state)
{
	char dir[] = "/tmp/psm-test-json-XXXXXX", path[256];
	struct json_doc d;
	struct psm_err e;
	char *big;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p.json", dir);
	write_file(path, "{\n \"a\": x}", 10);
	assert_int_equal(json_doc_load(&d, path, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, ":2:7: syntax error near 'x}'"));
	assert_non_null(strstr(e.msg, path));
	write_file(path, "{\"a\": 1} // ok", 14);
	assert_int_equal(json_doc_load(&d, path, &e), PSM_OK);
	assert_string_equal(d.file, path);
	json_doc_free(&d);
	big = malloc((4u << 20) + 2);
	assert_non_null(big);
	memset(big, ' ', (4u << 20) + 2);
	big[0] = '{';
	big[(4u << 20) + 1] = '}';
	write_file(path, big, (4u << 20) + 2);
	free(big);
	assert_int_equal(json_doc_load(&d, path, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "larger than 4 MiB"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(json_doc_load(&d, path, &e), PSM_ENOENT);
	assert_int_equal(json_doc_load(&d, dir, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "not a regular file"));
	assert_int_equal(rmdir(dir), 0);
}

static void test_json_free_twice(void **state)
{
	struct json_doc d;

	(void)state;
	assert_int_equal(parse(&d, "{\"a\": [1, 2, 3]}", NULL), PSM_OK);
	json_doc_free(&d);
	json_doc_free(&d);
	assert_null(d.root);
	assert_int_equal(parse(&d, "{", NULL), PSM_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_line_comments),
	    cmocka_unit_test(test_json_block_comments),
	    cmocka_unit_test(test_json_comments_inside_strings),
	    cmocka_unit_test(test_json_unterminated_comment),
	    cmocka_unit_test(test_json_syntax_error_position),
	    cmocka_unit_test(test_json_syntax_error_at_end),
	    cmocka_unit_test(test_json_duplicate_keys),
	    cmocka_unit_test(test_json_duplicate_first_second_occurrence),
	    cmocka_unit_test(test_json_empty_and_non_object),
	    cmocka_unit_test(test_json_nul_and_bom),
	    cmocka_unit_test(test_json_not_nul_terminated),
	    cmocka_unit_test(test_json_raw_newline_in_string),
	    cmocka_unit_test(test_json_text_checked),
	    cmocka_unit_test(test_json_positions_preorder),
	    cmocka_unit_test(test_json_error_at_node),
	    cmocka_unit_test(test_json_check_keys),
	    cmocka_unit_test(test_json_string_getter),
	    cmocka_unit_test(test_json_uint_getter),
	    cmocka_unit_test(test_json_strings_getter),
	    cmocka_unit_test(test_json_load),
	    cmocka_unit_test(test_json_free_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
