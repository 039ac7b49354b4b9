/* SPDX-License-Identifier: MIT */
/* test_pam_session.c - pam_psm's session stack: request writer, reply scanner, socket I/O, PAM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pam_fixture.h"
#include "pam_session.h"
#include "proto.h"
#include "proto_client.h"

/* ---- writing: JSON strings ----------------------------------------------------------------- */

/* s as a JSON string, or NULL (and the rc in *rc) when it was refused. */
static const char *jstr(const char *s, int *rc)
{
	static char buf[512];
	size_t len = 0;
	struct psm_err e;

	*rc = pam_session_json_string(buf, sizeof(buf), &len, s, &e);
	if (*rc != PSM_OK)
		return NULL;
	assert_int_equal(len, strlen(buf));
	return buf;
}

static void expect_jstr(const char *in, const char *want)
{
	int rc;
	const char *got = jstr(in, &rc);

	assert_int_equal(rc, PSM_OK);
	assert_string_equal(got, want);
}

static void expect_jstr_refused(const char *in)
{
	int rc;

	assert_null(jstr(in, &rc));
	assert_int_equal(rc, PSM_EINVAL);
}

static void test_string_escapes(void **state)
{
	(void)state;
	expect_jstr("alice", "\"alice\"");
	expect_jstr("", "\"\"");
	expect_jstr("a\"b", "\"a\\\"b\"");
	expect_jstr("a\\b", "\"a\\\\b\"");
	expect_jstr("\\\"", "\"\\\\\\\"\"");
	expect_jstr("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"");
	expect_jstr("\x01\x1f\x7f/", "\"\\u0001\\u001f\x7f/\"");
	expect_jstr("pts/0", "\"pts/0\"");
}

static void test_string_utf8(void **state)
{
	(void)state;
	expect_jstr("caf\xc3\xa9", "\"caf\xc3\xa9\"");		 /* U+00E9 */
	expect_jstr("\xe2\x82\xac", "\"\xe2\x82\xac\"");	 /* U+20AC */
	expect_jstr("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");	 /* U+FFFF */
	expect_jstr("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""); /* U+1F600 */
	expect_jstr("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
	expect_jstr_refused("\x80");				 /* lone continuation byte */
	expect_jstr_refused("a\xbf");
	expect_jstr_refused("\xc0\x80");	 /* overlong NUL */
	expect_jstr_refused("\xc1\xbf");	 /* overlong */
	expect_jstr_refused("\xe0\x80\x80");	 /* overlong */
	expect_jstr_refused("\xe0\x9f\xbf");	 /* overlong */
	expect_jstr_refused("\xed\xa0\x80");	 /* surrogate U+D800 */
	expect_jstr_refused("\xed\xbf\xbf");	 /* surrogate U+DFFF */
	expect_jstr_refused("\xf0\x80\x80\x80"); /* overlong */
	expect_jstr_refused("\xf4\x90\x80\x80"); /* above U+10FFFF */
	expect_jstr_refused("\xf5\x80\x80\x80");
	expect_jstr_refused("\xfe");
	expect_jstr_refused("\xff");
	expect_jstr_refused("\xe2\x82"); /* truncated */
	expect_jstr_refused("\xf0\x9f\x98");
	expect_jstr_refused("\xe2\x28\xa1"); /* bad continuation */
}

/* A string that does not fit, or is refused, leaves the buffer as it was. */
static void test_string_bounds(void **state)
{
	char buf[9] = "xx";
	size_t len = 2;
	struct psm_err e;

	(void)state;
	assert_int_equal(pam_session_json_string(buf, sizeof(buf), &len, "abcd", &e), PSM_OK);
	assert_string_equal(buf, "xx\"abcd\"");
	assert_int_equal(len, 8);
	len = 2;
	buf[2] = '\0';
	assert_int_equal(pam_session_json_string(buf, 8, &len, "abcd", &e), PSM_EINVAL);
	assert_string_equal(buf, "xx");
	assert_int_equal(len, 2);
	assert_int_equal(pam_session_json_string(buf, 8, &len, "\x01", &e), PSM_EINVAL);
	assert_string_equal(buf, "xx");
	assert_int_equal(pam_session_json_string(buf, sizeof(buf), &len, "a\xff", &e), PSM_EINVAL);
	assert_string_equal(buf, "xx");
	assert_int_equal(len, 2);
	assert_non_null(strstr(e.msg, "not valid UTF-8 at byte 1"));
}

/* ---- writing: requests -------------------------------------------------------------------- */

static const struct pam_session_open full_open = {
    .user = "root",
    .service = "sshd",
    .tty = "ssh",
    .rhost = "192.0.2.7",
    .pid = 4242,
    .audit = 17,
    .ttl = 5400,
};

static void test_req_open(void **state)
{
	char buf[PAM_SESSION_REQ_MAX];
	struct pam_session_open o = {
	    .user = "root", .service = "su", .pid = 1, .audit = PAM_SESSION_AUDIT_NONE};
	size_t len;

	(void)state;
	assert_int_equal(pam_session_req_open(&full_open, buf, sizeof(buf), &len, NULL), PSM_OK);
	assert_string_equal(buf, "{\"op\":\"session_open\",\"user\":\"root\",\"service\":\"sshd\","
				 "\"tty\":\"ssh\",\"rhost\":\"192.0.2.7\",\"pid\":4242,"
				 "\"audit\":17,\"ttl\":\"5400s\"}\n");
	assert_int_equal(len, strlen(buf));
	/* absent and empty optional fields are left out */
	o.tty = "";
	assert_int_equal(pam_session_req_open(&o, buf, sizeof(buf), &len, NULL), PSM_OK);
	assert_string_equal(buf, "{\"op\":\"session_open\",\"user\":\"root\",\"service\":\"su\","
				 "\"pid\":1}\n");
}

static void test_req_close(void **state)
{
	char buf[128];
	size_t len;
	struct psm_err e;

	(void)state;
	assert_int_equal(pam_session_req_close("abc123", buf, sizeof(buf), &len, NULL), PSM_OK);
	assert_string_equal(buf, "{\"op\":\"session_close\",\"session_id\":\"abc123\"}\n");
	assert_int_equal(pam_session_req_close(NULL, buf, sizeof(buf), &len, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "session_id: missing");
	assert_int_equal(pam_session_req_close("abc", buf, 20, &len, &e), PSM_EINVAL);
}

/* Every buffer short of the whole line (and its NUL) is refused, nothing written past it. */
static void assert_req_open_needs_whole_line(void)
{
	char whole[PAM_SESSION_REQ_MAX], buf[PAM_SESSION_REQ_MAX];
	size_t need, len;
	int rc;

	assert_int_equal(pam_session_req_open(&full_open, whole, sizeof(whole), &need, NULL),
			 PSM_OK);
	for (size_t cap = 0; cap <= need + 1; cap++) {
		memset(buf, 'X', sizeof(buf));
		rc = pam_session_req_open(&full_open, buf, cap, &len, NULL);
		if (cap <= need && rc != PSM_EINVAL)
			fail_msg("a %zu-byte buffer for a %zu-byte line: rc %d", cap, need + 1, rc);
		if (cap > need) {
			assert_int_equal(rc, PSM_OK);
			assert_string_equal(buf, whole);
		}
		assert_int_equal(buf[cap], 'X');
	}
}

static void test_req_open_refused(void **state)
{
	char buf[PAM_SESSION_REQ_MAX], *big;
	struct pam_session_open o = full_open;
	struct psm_err e;
	size_t len;

	(void)state;
	o.user = NULL;
	assert_int_equal(pam_session_req_open(&o, buf, sizeof(buf), &len, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "user: missing");
	o.user = "root";
	o.service = "";
	assert_int_equal(pam_session_req_open(&o, buf, sizeof(buf), &len, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "service: missing");
	o.service = "sshd";
	o.rhost = "h\xc0\xafst";
	assert_int_equal(pam_session_req_open(&o, buf, sizeof(buf), &len, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "rhost: not valid UTF-8 at byte 1");
	big = malloc(PAM_SESSION_REQ_MAX);
	assert_non_null(big);
	memset(big, 'a', PAM_SESSION_REQ_MAX - 1);
	big[PAM_SESSION_REQ_MAX - 1] = '\0';
	o.rhost = big;
	assert_int_equal(pam_session_req_open(&o, buf, sizeof(buf), &len, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "rhost: too long for a request");
	free(big);
	assert_req_open_needs_whole_line();
}

static bool has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A request line as cJSON reads it: tty and rhost are s, and nothing else came in. */
static void expect_cjson(const char *line, size_t len, const char *s)
{
	cJSON *o = cJSON_ParseWithLength(line, len);

	assert_non_null(o);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "tty")), s);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "rhost")), s);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "user")), "root");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "op")), "session_open");
	assert_int_equal(cJSON_GetArraySize(o), 8);
	cJSON_Delete(o);
}

/* psmd's own request parser reads back exactly what was sent (it refuses control
 * characters in tty and rhost, which cJSON alone must then read back). */
static void expect_proto(const char *line, size_t len, const char *s)
{
	struct proto_req r;
	struct psm_err e;

	if (proto_parse_request(line, len, &r, &e) != PSM_OK)
		fail_msg("%s: %s", line, e.msg);
	assert_int_equal(r.op->id, PROTO_OP_SESSION_OPEN);
	assert_string_equal(r.a.rhost, s);
	assert_string_equal(r.a.tty, s);
	assert_string_equal(r.a.user, "root");
	assert_string_equal(r.a.service, "sshd");
	assert_int_equal(r.a.pid, 4242);
	assert_int_equal(r.a.audit, 17);
	assert_int_equal(r.a.ttl, 5400);
	proto_req_free(&r);
}

static void test_req_round_trip(void **state)
{
	static const char *const hostile[] = {
	    "a\"b",
	    "\\",
	    "\\\"",
	    "x\ny",
	    "\x01\x02\x1f",
	    "}\n{\"op\":\"grant\"}",
	    "\",\"user\":\"root",
	    "caf\xc3\xa9 \xf0\x9f\x98\x80",
	    "\x7f",
	    "/\\/",
	    "\\u0041",
	};
	char buf[PAM_SESSION_REQ_MAX];
	struct pam_session_open o = full_open;
	struct proto_req r;
	struct psm_err e;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		o.rhost = hostile[i];
		o.tty = hostile[i];
		assert_int_equal(pam_session_req_open(&o, buf, sizeof(buf), &len, NULL), PSM_OK);
		assert_ptr_equal(memchr(buf, '\n', len), buf + len - 1);
		expect_cjson(buf, len, hostile[i]);
		if (!has_control(hostile[i]))
			expect_proto(buf, len, hostile[i]);
	}
	assert_int_equal(pam_session_req_close("abc", buf, sizeof(buf), &len, NULL), PSM_OK);
	assert_int_equal(proto_parse_request(buf, len, &r, &e), PSM_OK);
	assert_int_equal(r.op->id, PROTO_OP_SESSION_CLOSE);
	assert_string_equal(r.a.session_id, "abc");
	proto_req_free(&r);
}

/* ---- scanning replies ------------------------------------------------------------------------ */

static int scan(const char *line, struct pam_session_reply *r, struct psm_err *e)
{
	return pam_session_reply_parse(line, strlen(line), r, e);
}

/* line[0..len) is refused, the message naming why (NULL: any reason). */
static void expect_refused(const char *line, size_t len, const char *why)
{
	struct pam_session_reply r;
	struct psm_err e;

	if (pam_session_reply_parse(line, len, &r, &e) != PSM_EUNAVAIL)
		fail_msg("accepted: %.*s", (int)len, line);
	assert_non_null(strstr(e.msg, "malformed reply from psmd: "));
	if (why != NULL && strstr(e.msg, why) == NULL)
		fail_msg("%.*s: \"%s\", not \"%s\"", (int)len, line, e.msg, why);
}

static void expect_why(const char *line, const char *why)
{
	expect_refused(line, strlen(line), why);
}

static void expect_bad(const char *line)
{
	expect_refused(line, strlen(line), NULL);
}

static void test_reply_ok(void **state)
{
	struct pam_session_reply r;

	(void)state;
	assert_int_equal(scan("{\"ok\":true,\"session_id\":\"2xi2ep5pnxayzwqhidqgb5vvqq\","
			      "\"expires\":1795503541}\n",
			      &r, NULL),
			 PSM_OK);
	assert_true(r.ok && r.has_id && r.has_expires && !r.has_closed);
	assert_string_equal(r.session_id, "2xi2ep5pnxayzwqhidqgb5vvqq");
	assert_int_equal(r.expires, 1795503541);
	assert_string_equal(r.message, "");
	/* white space inside the object, any order, other members skipped */
	assert_int_equal(scan("{ \"expires\" : null , \"tag\":\"t\", \"session_id\" : \"A-b_9\" ,"
			      "\"ok\" : true }\n",
			      &r, NULL),
			 PSM_OK);
	assert_true(r.ok && r.has_expires);
	assert_int_equal(r.expires, 0);
	assert_string_equal(r.session_id, "A-b_9");
	assert_int_equal(scan("{\"ok\":true,\"closed\":false}", &r, NULL), PSM_OK);
	assert_true(r.ok && r.has_closed && !r.closed && !r.has_id);
	assert_int_equal(scan("{\"ok\":true,\"closed\":true}", &r, NULL), PSM_OK);
	assert_true(r.closed);
	assert_int_equal(scan("{\"ok\":true,\"expires\":9223372036854775807}", &r, NULL), PSM_OK);
	assert_int_equal(r.expires, INT64_MAX);
	assert_int_equal(scan("{\"ok\":true,\"expires\":-9223372036854775808}", &r, NULL), PSM_OK);
	assert_int_equal(r.expires, INT64_MIN);
	assert_int_equal(scan("{\"ok\":true,\"expires\":0}", &r, NULL), PSM_OK);
	assert_int_equal(r.expires, 0);
	assert_int_equal(scan("{\"ok\":true,\"expires\":-7}", &r, NULL), PSM_OK);
	assert_int_equal(r.expires, -7);
	assert_int_equal(scan("{\"ok\":true,\"expires\":-0}", &r, NULL), PSM_OK);
	assert_int_equal(r.expires, 0);
}

static void test_reply_error(void **state)
{
	struct pam_session_reply r;

	(void)state;
	assert_int_equal(scan("{\"ok\":false,\"error\":{\"code\":\"not_permitted\","
			      "\"message\":\"not permitted (only about your own user)\"}}\n",
			      &r, NULL),
			 PSM_OK);
	assert_false(r.ok);
	assert_string_equal(r.code, "not_permitted");
	assert_string_equal(r.message, "not permitted (only about your own user)");
	/* for syslog: \" \\ \/ decoded, any other escape, control character or non-ASCII
	 * character (one per UTF-8 sequence) shown as '?'; error's other members skipped */
	assert_int_equal(
	    scan("{\"error\":{\"extra\":[1,{\"message\":1}],\"message\":\"a\\\"b\\\\c"
		 "\\/\\n\\u00e9\\ud83d\\ude00\\t|\x01\t\x7f|caf\xc3\xa9 \xf0\x9f\x98\x80!\"},"
		 "\"ok\":false}",
		 &r, NULL),
	    PSM_OK);
	assert_string_equal(r.message, "a\"b\\c/?????|???|caf? ?!");
	assert_string_equal(r.code, "");
	/* ok:true: whatever error says is dropped */
	assert_int_equal(
	    scan("{\"ok\":true,\"error\":{\"code\":\"x\",\"message\":\"m\"}}", &r, NULL), PSM_OK);
	assert_string_equal(r.code, "");
	assert_string_equal(r.message, "");
}

/* A long message is cut to the buffer, and what follows it is still read. */
static void test_reply_long_message(void **state)
{
	char line[2048], *p = line;
	struct pam_session_reply r;
	int i;

	(void)state;
	p += sprintf(p, "{\"ok\":false,\"error\":{\"message\":\"x");
	for (i = 0; i < 300; i++)
		p += sprintf(p, "\xe2\x82\xac\\\"");
	sprintf(p, "\",\"code\":\"internal\"}}");
	assert_int_equal(scan(line, &r, NULL), PSM_OK);
	assert_int_equal(strlen(r.message), PAM_SESSION_MSG_MAX - 1);
	assert_memory_equal(r.message, "x?\"?\"?\"", 7);
	assert_string_equal(r.code, "internal");
}

/* Members the module does not read are skipped whatever they hold (no recursion: jsmn's
 * parent links); only the top level's and error's own keys are read. */
static void test_reply_skips_nested(void **state)
{
	char line[512] = "{\"x\":";
	struct pam_session_reply r;
	int i;

	(void)state;
	assert_int_equal(scan("{\"x\":{\"a\":[1,-2.5e+3,{\"b\":null,\"ok\":false}],\"c\":\"}\","
			      "\"error\":{\"message\":5}},\"y\":[[],{},\"]\",true,false],"
			      "\"ok\":true,\"session_id\":\"abc\",\"y\":1}",
			      &r, NULL),
			 PSM_OK);
	assert_true(r.ok);
	assert_string_equal(r.session_id, "abc");
	assert_false(r.has_expires || r.has_closed);
	/* 100 levels deep: within the token table, and read without recursion */
	for (i = 0; i < 100; i++)
		strcat(line, "[");
	for (i = 0; i < 100; i++)
		strcat(line, "]");
	strcat(line, ",\"ok\":true}");
	assert_int_equal(scan(line, &r, NULL), PSM_OK);
	assert_true(r.ok);
}

/* Every proper prefix of a good reply is refused. */
static void test_reply_truncated(void **state)
{
	static const char *const good[] = {
	    "{\"ok\":true,\"session_id\":\"abc\",\"expires\":1795503541}\n",
	    "{\"ok\":false,\"error\":{\"code\":\"x\",\"message\":\"a\\u00e9\\ud83d\\ude00\"}}",
	    "{\"ok\":true,\"closed\":false,\"z\":[null,1.5e3,{\"k\":\"v\"}]}",
	};
	struct pam_session_reply r;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(scan(good[i], &r, NULL), PSM_OK);
		for (n = 0; n < strlen(good[i]) - (good[i][strlen(good[i]) - 1] == '\n'); n++)
			if (pam_session_reply_parse(good[i], n, &r, NULL) != PSM_EUNAVAIL)
				fail_msg("prefix of %zu bytes accepted: %.*s", n, (int)n, good[i]);
	}
}

static void test_reply_wrong_types(void **state)
{
	static const char word[] = "expected a string of [A-Za-z0-9_-]";
	static const char expires[] = "\"expires\" is not an integer or null";
	char id[PAM_SESSION_ID_MAX + 64];

	(void)state;
	expect_why("{\"ok\":\"true\"}", "expected true or false");
	expect_why("{\"ok\":1}", "expected true or false");
	expect_why("{\"ok\":null}", "expected true or false");
	expect_why("{\"ok\":tru}", "expected true or false");
	expect_why("{\"ok\":truex}", "expected true or false");
	expect_why("{\"ok\":[true]}", "expected true or false");
	expect_why("{\"ok\":true,\"session_id\":5}", word);
	expect_why("{\"ok\":true,\"session_id\":null}", word);
	expect_why("{\"ok\":true,\"session_id\":\"\"}", word);
	expect_why("{\"ok\":true,\"session_id\":\"a b\"}", word);
	expect_why("{\"ok\":true,\"session_id\":\"a\\nb\"}", word);
	expect_why("{\"ok\":true,\"session_id\":\"a\\u0062\"}", word);
	expect_why("{\"ok\":true,\"session_id\":\"../x\"}", word);
	expect_why("{\"ok\":true,\"session_id\":\"caf\xc3\xa9\"}", word);
	expect_why("{\"ok\":true,\"session_id\":[\"abc\"]}", word);
	expect_why("{\"ok\":true,\"session_id\":\"abc\":\"z\"}", word); /* a key, not a value */
	snprintf(id, sizeof(id), "{\"ok\":true,\"session_id\":\"%0*d\"}", PAM_SESSION_ID_MAX + 1,
		 0);
	expect_why(id, word);
	snprintf(id, sizeof(id), "{\"ok\":true,\"session_id\":\"%0*d\"}", PAM_SESSION_ID_MAX, 0);
	assert_int_equal(
	    pam_session_reply_parse(id, strlen(id), &(struct pam_session_reply){0}, NULL), PSM_OK);
	expect_why("{\"ok\":true,\"expires\":\"1\"}", expires);
	expect_why("{\"ok\":true,\"expires\":1.5}", expires);
	expect_why("{\"ok\":true,\"expires\":1e3}", expires);
	expect_why("{\"ok\":true,\"expires\":true}", expires);
	expect_why("{\"ok\":true,\"expires\":012}", expires);
	expect_why("{\"ok\":true,\"expires\":-01}", expires);
	expect_why("{\"ok\":true,\"expires\":-}", expires);
	expect_why("{\"ok\":true,\"expires\":9223372036854775808}", expires);
	expect_why("{\"ok\":true,\"expires\":-9223372036854775809}", expires);
	expect_why("{\"ok\":true,\"expires\":123456789012345678901234}", expires);
	expect_why("{\"ok\":true,\"expires\":18446744073709551617}", expires); /* 2^64 + 1 */
	expect_why("{\"ok\":true,\"expires\":-18446744073709551615}", expires);
	expect_why("{\"ok\":true,\"expires\":1-2}", expires);
	expect_why("{\"ok\":true,\"closed\":\"yes\"}", "expected true or false");
	expect_why("{\"ok\":true,\"closed\":null}", "expected true or false");
	expect_why("{\"ok\":false,\"error\":\"boom\"}", "expected an object");
	expect_why("{\"ok\":false,\"error\":{\"message\":5}}", "\"message\" is not a string");
	expect_why("{\"ok\":false,\"error\":{\"message\":\"m\":\"z\"}}",
		   "\"message\" is not a string");
	expect_why("{\"ok\":false,\"error\":{\"code\":1,\"message\":\"m\"}}", word);
	expect_why("{\"ok\":false,\"error\":{\"code\":\"a b\",\"message\":\"m\"}}", word);
	expect_why("{\"ok\":false,\"error\":{\"code\":\"a_code_much_longer_than_the_buffer\","
		   "\"message\":\"m\"}}",
		   word);
}

static void test_reply_missing_fields(void **state)
{
	(void)state;
	expect_why("{}", "no \"ok\"");
	expect_why("{\"session_id\":\"abc\"}", "no \"ok\"");
	expect_why("{\"x\":{\"ok\":true}}", "no \"ok\"");
	expect_why("{\"ok\":false}", "without \"error\".\"message\"");
	expect_why("{\"ok\":false,\"error\":{}}", "without \"error\".\"message\"");
	expect_why("{\"ok\":false,\"error\":{\"code\":\"internal\"}}", "without");
	expect_why("{\"ok\":false,\"message\":\"m\"}", "without \"error\".\"message\"");
	expect_why("{\"ok\":false,\"error\":{\"x\":{\"message\":\"m\"}}}", "without");
}

/* Not one JSON object filling the line, or not one jsmn reads. */
static void test_reply_not_json(void **state)
{
	static const char *const bad[] = {
	    "",
	    "\n",
	    "null",
	    "[]",
	    "\"ok\"",
	    "{",
	    "}",
	    "{\"ok\":true}x",
	    "{\"ok\" true}",
	    "{'ok':true}",
	    "{ok:true}",
	    "{\"ok\":True}",
	    "{\"ok\":true,\"x\":\"a\\x\"}",
	    "{\"ok\":true,\"x\":\"\\u12\"}",
	    "{\"ok\":true,\"x\":\"\\u12g4\"}",
	    "{\"ok\":true,\"x\":.5}",
	    "{\"ok\":true,\"x\":+1}",
	    "{\"ok\":true,\"x\":NaN}",
	    "\xef\xbb\xbf{\"ok\":true}",
	    " {\"ok\":true}",
	};
	static const char *const after[] = {
	    "{\"ok\":true}{}",	 "{\"ok\":true}\n{\"ok\":true}\n",
	    "{\"ok\":true} ",	 "{\"ok\":true}\r\n",
	    "{\"ok\":true}\n\n", "{\"ok\":true}\t",
	};
	static const char *const shape[] = {
	    "{\"ok\":true \"x\"}",
	    "{\"ok\":true,\"a\"}",
	    "{\"x\":1 \"ok\":true}",
	    "{\"session_id\":\"abc\":\"z\",\"ok\":true}",
	    "{\"ok\":true,\"error\":{\"m\"}}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i]);
	for (i = 0; i < sizeof(after) / sizeof(after[0]); i++)
		expect_why(after[i], "data after the reply");
	for (i = 0; i < sizeof(shape) / sizeof(shape[0]); i++)
		expect_why(shape[i], "expected a key and its value");
	/* a NUL byte anywhere in the line */
	expect_refused("{\"ok\":true}\0", 12, "a NUL byte");
	expect_refused("{\"ok\":\"a\0b\"}", 12, "a NUL byte");
	expect_refused("{\"ok\":true,\"x\":\"a\0\"}", 20, "a NUL byte");
}

/* A reply from an exact-size heap copy (ASan sees any read past it); the result. */
static int scan_exact(const char *line, size_t len, struct pam_session_reply *r)
{
	char *copy = malloc(len > 0 ? len : 1);
	struct psm_err e;
	int rc;

	assert_non_null(copy);
	memcpy(copy, line, len);
	rc = pam_session_reply_parse(copy, len, r, &e);
	free(copy);
	if (rc != PSM_OK)
		assert_non_null(strstr(e.msg, "malformed reply from psmd: "));
	return rc;
}

/* Each key the module reads, twice at the level it reads it: refused (two readers could
 * take different ones). */
static void test_reply_duplicates(void **state)
{
	static const char *const twice[] = {
	    "{\"ok\":true,\"ok\":false}",
	    "{\"ok\":false,\"ok\":true}",
	    "{\"ok\":true,\"session_id\":\"a\",\"session_id\":\"b\"}",
	    "{\"ok\":true,\"expires\":1,\"expires\":2}",
	    "{\"ok\":true,\"closed\":true,\"closed\":1}",
	    "{\"ok\":false,\"error\":{\"message\":\"a\"},\"error\":{\"message\":\"b\"}}",
	    "{\"ok\":false,\"error\":{\"code\":\"a\",\"code\":\"b\",\"message\":\"m\"}}",
	    "{\"ok\":false,\"error\":{\"message\":\"a\",\"message\":\"b\"}}",
	};
	struct pam_session_reply r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(twice) / sizeof(twice[0]); i++)
		expect_why(twice[i], "duplicate key");
	/* a key it does not read may come twice; a read key may come again one level down */
	assert_int_equal(scan("{\"x\":1,\"ok\":true,\"x\":2,\"y\":{\"ok\":false}}", &r, NULL),
			 PSM_OK);
	assert_true(r.ok);
}

/* Hostile replies: each is refused (never read as ok), whatever its size or shape. */
static void test_reply_hostile(void **state)
{
	static const char *const bad[] = {
	    "[{\"ok\":true}]",
	    "\"{\\\"ok\\\":true}\"",
	    "true",
	    "1",
	    "{\"ok\":true]",
	    "{\"ok\":true,\"session_id\":{\"id\":\"abc\"}}",
	    "{\"ok\":[true]}",
	    "{\"ok\":{}}",
	    "{\"ok\":true,\"x\":[}",
	    "{\"ok\":true,\"x\":{]}",
	    "{\"ok\":true:1}",
	    "{\"ok\":\"x\":true}",
	    "{\"ok\":true\"x\":1}",
	};
	struct pam_session_reply r;
	char big[PAM_SESSION_REPLY_MAX * 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (scan_exact(bad[i], strlen(bad[i]), &r) != PSM_EUNAVAIL)
			fail_msg("accepted: %s", bad[i]);
	/* longer than a reply may be; deeper, and more values, than the token table holds */
	memset(big, '[', sizeof(big));
	expect_refused(big, sizeof(big), "too long");
	expect_refused(big, PAM_SESSION_REPLY_MAX - 1, "too many values");
	strcpy(big, "{\"ok\":true,\"x\":[");
	for (i = 0; i + 6 < PAM_SESSION_TOKENS_MAX; i++)
		strcat(big, "0,");
	strcat(big, "0]}"); /* obj, ok, true, x, array and TOKENS_MAX - 5 zeros: all of it */
	assert_int_equal(scan_exact(big, strlen(big), &r), PSM_OK);
	strcpy(big + strlen(big) - 2, ",0]}");
	expect_refused(big, strlen(big), "too many values");
	assert_int_equal(scan_exact(big, strlen(big), &r), PSM_EUNAVAIL);
	assert_false(r.ok);
	/* NUL bytes: in a key, after the newline, alone; and nothing */
	assert_int_equal(scan_exact("{\"o\0k\":true}", 12, &r), PSM_EUNAVAIL);
	assert_int_equal(scan_exact("{\"ok\":true}\n\0", 13, &r), PSM_EUNAVAIL);
	assert_int_equal(scan_exact("\0", 1, &r), PSM_EUNAVAIL);
	assert_int_equal(scan_exact("", 0, &r), PSM_EUNAVAIL);
}

static bool only_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* Every good reply with any one byte replaced: refused, or read within its bounds (ASan),
 * the id and code of [A-Za-z0-9_-] and the message printable ASCII. */
static void test_reply_mutated(void **state)
{
	static const char *const good[] = {
	    "{\"ok\":true,\"session_id\":\"abc\",\"expires\":1795503541}\n",
	    "{\"ok\":false,\"error\":{\"code\":\"x\",\"message\":\"a\\u00e9\\ud83d\\ude00\"}}\n",
	    "{\"ok\":true,\"closed\":false,\"z\":[null,-1.5e3,{\"k\":\"v\"}]}\n",
	};
	static const char with[] = {'\0', '"',	  '\\',	  '{',	  '}',	'[',   ']',
				    ',',  ':',	  ' ',	  'u',	  '0',	'-',   'e',
				    '\n', '\x7f', '\x80', '\xff', '\t', '\x01'};
	static const char word[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
	struct pam_session_reply r;
	char line[128];
	size_t i, at, w, n;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		n = strlen(good[i]);
		for (at = 0; at < n; at++)
			for (w = 0; w < sizeof(with); w++) {
				memcpy(line, good[i], n);
				line[at] = with[w];
				rc = scan_exact(line, n, &r);
				assert_true(rc == PSM_OK || rc == PSM_EUNAVAIL);
				assert_true(strlen(r.session_id) <= PAM_SESSION_ID_MAX);
				assert_true(strspn(r.session_id, word) == strlen(r.session_id));
				assert_true(strspn(r.code, word) == strlen(r.code));
				assert_true(only_printable(r.message));
			}
	}
}

/* ---- socket I/O (proto_client.c) against a fake psmd ------------------------------------- */

enum fake_mode { FAKE_REPLY, FAKE_PIECES, FAKE_CLOSE, FAKE_SILENT };

/* A one-thread server: for each of its conns connections, reads one line, then does what
 * mode says with the next of its nreplies replies (in turn). */
struct fake {
	char path[PATH_MAX];
	int lfd;
	enum fake_mode mode;
	int conns, nreplies;
	const char *replies[4];
	char got[4][PAM_SESSION_REQ_MAX]; /* the first request lines received */
	pthread_t thread;
};

static void fake_read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap && read(fd, buf + n, 1) == 1 && buf[n++] != '\n')
		;
	buf[n] = '\0';
}

static void fake_write(int fd, const char *s, bool pieces)
{
	size_t i, n = strlen(s);

	for (i = 0; i < n; i += pieces ? 1 : n) {
		if (write(fd, s + i, pieces ? 1 : n) < 0)
			return;
		if (pieces)
			usleep(200);
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	char junk[16];
	int i, fd;

	for (i = 0; i < f->conns; i++) {
		fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			break;
		fake_read_line(fd, f->got[i < 3 ? i : 3], sizeof(f->got[0]));
		if (f->mode == FAKE_SILENT) /* until the client gives up and closes */
			while (read(fd, junk, sizeof(junk)) > 0)
				;
		else if (f->mode != FAKE_CLOSE)
			fake_write(fd, f->replies[i % f->nreplies], f->mode == FAKE_PIECES);
		close(fd);
	}
	return NULL;
}

/* fake_start(f, mode, conns, nreplies, reply...): nreplies <= 4 replies, used in turn. */
static void fake_start(struct fake *f, enum fake_mode mode, int conns, int nreplies, ...)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	static int n;
	va_list ap;
	int i;

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->conns = conns;
	f->nreplies = nreplies;
	va_start(ap, nreplies);
	for (i = 0; i < nreplies && i < 4; i++)
		f->replies[i] = va_arg(ap, const char *);
	va_end(ap);
	snprintf(f->path, sizeof(f->path), "%s/sock%d", confdir, n++);
	assert_true(strlen(f->path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->lfd);
	unlink(f->path);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* One exchange of "{\"op\":\"x\"}\n" with f; the reply in buf. */
static int exchange(struct fake *f, char *buf, size_t cap, int timeout_ms, struct psm_err *e)
{
	size_t len;
	int rc;

	rc = proto_client_exchange(f->path, "{\"op\":\"x\"}\n", 11, buf, cap, &len, timeout_ms, e);
	assert_int_equal(len, strlen(buf));
	return rc;
}

static void test_io_reply(void **state)
{
	char buf[PAM_SESSION_REPLY_MAX];
	int fds = count_fds();
	struct fake f;

	(void)state;
	fake_start(&f, FAKE_REPLY, 1, 1, "{\"ok\":true}\n");
	assert_int_equal(exchange(&f, buf, sizeof(buf), 2000, NULL), PSM_OK);
	fake_stop(&f);
	assert_string_equal(buf, "{\"ok\":true}\n");
	assert_string_equal(f.got[0], "{\"op\":\"x\"}\n");
	fake_start(&f, FAKE_PIECES, 1, 1, "{\"ok\":false,\"error\":{\"message\":\"m\"}}\n");
	assert_int_equal(exchange(&f, buf, sizeof(buf), 5000, NULL), PSM_OK);
	fake_stop(&f);
	assert_string_equal(buf, "{\"ok\":false,\"error\":{\"message\":\"m\"}}\n");
	assert_int_equal(count_fds(), fds); /* the client's socket was closed */
}

static void test_io_failures(void **state)
{
	char buf[16];
	struct psm_err e;
	int fds = count_fds();
	struct fake f;

	(void)state;
	fake_start(&f, FAKE_CLOSE, 1, 0);
	assert_int_equal(exchange(&f, buf, sizeof(buf), 2000, &e), PSM_EUNAVAIL);
	fake_stop(&f);
	assert_non_null(strstr(e.msg, ": closed without a reply"));
	fake_start(&f, FAKE_REPLY, 1, 1, "{\"ok\":true}");
	assert_int_equal(exchange(&f, buf, sizeof(buf), 2000, &e), PSM_EUNAVAIL);
	fake_stop(&f);
	assert_non_null(strstr(e.msg, ": reply cut short"));
	fake_start(&f, FAKE_REPLY, 1, 1, "{\"ok\":true,\"x\":\"123456\"}\n");
	assert_int_equal(exchange(&f, buf, sizeof(buf), 2000, &e), PSM_EUNAVAIL);
	fake_stop(&f);
	assert_non_null(strstr(e.msg, ": reply too long"));
	fake_start(&f, FAKE_REPLY, 1, 1, "{}\n{}\n");
	assert_int_equal(exchange(&f, buf, sizeof(buf), 2000, &e), PSM_EUNAVAIL);
	fake_stop(&f);
	assert_non_null(strstr(e.msg, ": unexpected data after the reply"));
	fake_start(&f, FAKE_SILENT, 1, 0);
	assert_int_equal(exchange(&f, buf, sizeof(buf), 100, &e), PSM_EUNAVAIL);
	fake_stop(&f);
	assert_non_null(strstr(e.msg, ": no reply in time"));
	snprintf(f.path, sizeof(f.path), "%s/no-such-socket", confdir);
	assert_int_equal(exchange(&f, buf, sizeof(buf), 2000, &e), PSM_EUNAVAIL);
	assert_non_null(strstr(e.msg, "/no-such-socket: connect: No such file or directory"));
	memset(f.path, 'a', 120); /* sun_path holds 108 bytes */
	f.path[120] = '\0';
	assert_int_equal(exchange(&f, buf, sizeof(buf), 2000, &e), PSM_EINVAL); /* bad input */
	assert_non_null(strstr(e.msg, ": path too long"));
	assert_int_equal(count_fds(), fds);
}

/* ---- the module in a real libpam ------------------------------------------------------------ */

/* A handle for user root on service psm-sess whose stack is STACK (MODULE -> the module). */
static pam_handle_t *pam_with(const char *stack)
{
	char text[2 * PATH_MAX + 512];
	struct pam_conv conv = {conv_none, NULL};
	pam_handle_t *pamh = NULL;
	const char *m = strstr(stack, "MODULE");

	assert_non_null(m);
	snprintf(text, sizeof(text), "%.*s%s%s\n", (int)(m - stack), stack, module, m + 6);
	assert_true(write_file("psm-sess", text));
	assert_int_equal(pam_start_confdir("psm-sess", "root", &conv, confdir, &pamh), PAM_SUCCESS);
	assert_int_equal(pam_set_item(pamh, PAM_TTY, "pts/9"), PAM_SUCCESS);
	assert_int_equal(pam_set_item(pamh, PAM_RHOST, "192.0.2.1"), PAM_SUCCESS);
	return pamh;
}

/* open: the request psmd gets, PSM_SESSION_ID; close: the id from pam_get_data, not from
 * the (user-controlled) environment. */
static void test_pam_open_close(void **state)
{
	char stack[PATH_MAX + 128];
	struct proto_req r;
	pam_handle_t *pamh;
	struct fake f;

	(void)state;
	fake_start(&f, FAKE_REPLY, 2, 2, "{\"ok\":true,\"session_id\":\"abc123\",\"expires\":99}\n",
		   "{\"ok\":true,\"closed\":true}\n");
	snprintf(stack, sizeof(stack), "session required MODULE socket=%s ttl=1h30m", f.path);
	pamh = pam_with(stack);
	assert_int_equal(pam_open_session(pamh, 0), PAM_SUCCESS);
	assert_string_equal(pam_getenv(pamh, "PSM_SESSION_ID"), "abc123");
	assert_int_equal(pam_putenv(pamh, "PSM_SESSION_ID=forged"), PAM_SUCCESS);
	assert_int_equal(pam_close_session(pamh, 0), PAM_SUCCESS);
	assert_null(pam_getenv(pamh, "PSM_SESSION_ID"));
	pam_end(pamh, PAM_SUCCESS);
	fake_stop(&f);
	assert_int_equal(proto_parse_request(f.got[0], strlen(f.got[0]), &r, NULL), PSM_OK);
	assert_int_equal(r.op->id, PROTO_OP_SESSION_OPEN);
	assert_string_equal(r.a.user, "root");
	assert_string_equal(r.a.service, "psm-sess");
	assert_string_equal(r.a.tty, "pts/9");
	assert_string_equal(r.a.rhost, "192.0.2.1");
	assert_int_equal(r.a.pid, getpid());
	assert_int_equal(r.a.ttl, 5400);
	proto_req_free(&r);
	assert_string_equal(f.got[1], "{\"op\":\"session_close\",\"session_id\":\"abc123\"}\n");
}

/* psmd down or refusing: PAM_SESSION_ERR and a log line; "optional" lets the login on. */
static void test_pam_failures(void **state)
{
	char stack[PATH_MAX + 128];
	pam_handle_t *pamh;
	struct fake f;

	(void)state;
	log_clear();
	snprintf(stack, sizeof(stack), "session required MODULE socket=%s/none", confdir);
	pamh = pam_with(stack);
	assert_int_equal(pam_open_session(pamh, 0), PAM_SESSION_ERR);
	assert_null(pam_getenv(pamh, "PSM_SESSION_ID"));
	assert_non_null(strstr(logbuf, "session open for user root failed: psmd socket "));
	pam_end(pamh, PAM_SUCCESS);
	snprintf(stack, sizeof(stack),
		 "session optional MODULE socket=%s/none\nsession required pam_permit.so", confdir);
	pamh = pam_with(stack);
	assert_int_equal(pam_open_session(pamh, 0), PAM_SUCCESS);
	assert_int_equal(pam_close_session(pamh, 0), PAM_SUCCESS); /* nothing to close */
	pam_end(pamh, PAM_SUCCESS);
	fake_start(&f, FAKE_REPLY, 1, 1,
		   "{\"ok\":false,\"error\":{\"code\":\"invalid_argument\","
		   "\"message\":\"user \\\"root\\\": no such user\"}}\n");
	snprintf(stack, sizeof(stack), "session required MODULE socket=%s", f.path);
	pamh = pam_with(stack);
	log_clear();
	assert_int_equal(pam_open_session(pamh, 0), PAM_SESSION_ERR);
	pam_end(pamh, PAM_SUCCESS);
	fake_stop(&f);
	assert_non_null(strstr(logbuf, "session open for user root refused by psmd: "
				       "user \"root\": no such user (invalid_argument)"));
	fake_start(&f, FAKE_REPLY, 1, 1, "{\"ok\":true}\n");
	snprintf(stack, sizeof(stack), "session required MODULE socket=%s", f.path);
	pamh = pam_with(stack);
	assert_int_equal(pam_open_session(pamh, 0), PAM_SESSION_ERR);
	pam_end(pamh, PAM_SUCCESS);
	fake_stop(&f);
	if (strstr(logbuf, "malformed reply from psmd: no \"session_id\"") == NULL)
		fail_msg("log: %s", logbuf);
}

/* A hostile or broken psmd: the session step fails (PAM_SESSION_ERR), no id is exported. */
static void test_pam_hostile_replies(void **state)
{
	static char huge[PAM_SESSION_REPLY_MAX + 64], many[PAM_SESSION_REPLY_MAX];
	const char *const replies[] = {
	    "{\"ok\":true,\"session_id\":\"abc\",\"session_id\":\"def\"}\n",
	    "[{\"ok\":true,\"session_id\":\"abc\"}]\n",
	    "{\"ok\":\"true\",\"session_id\":\"abc\"}\n",
	    "{\"ok\":true,\"session_id\":\"abc\"",
	    "{\"ok\":true,\"session_id\":\"abc\"} \n",
	    "{\"ok\":true,\"session_id\":\"../abc\"}\n",
	    "{\"ok\":true,\"session_id\":\"abc\\u0000\"}\n",
	    many,
	    huge,
	};
	char stack[PATH_MAX + 128];
	pam_handle_t *pamh;
	struct fake f;
	size_t i;

	(void)state;
	snprintf(huge, sizeof(huge), "{\"ok\":true,\"session_id\":\"abc\",\"x\":\"%0*d\"}\n",
		 PAM_SESSION_REPLY_MAX, 0);
	strcpy(many, "{\"ok\":true,\"session_id\":\"abc\",\"x\":[0"); /* more values than tokens */
	for (i = 0; i < PAM_SESSION_TOKENS_MAX; i++)
		strcat(many, ",0");
	strcat(many, "]}\n");
	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		fake_start(&f, FAKE_REPLY, 1, 1, replies[i]);
		snprintf(stack, sizeof(stack), "session required MODULE socket=%s", f.path);
		pamh = pam_with(stack);
		if (pam_open_session(pamh, 0) != PAM_SESSION_ERR)
			fail_msg("session opened on reply %zu", i);
		assert_null(pam_getenv(pamh, "PSM_SESSION_ID"));
		pam_end(pamh, PAM_SUCCESS);
		fake_stop(&f);
	}
}

/* Many sessions in one process: no descriptor is left open (SPEC §7; leaks: valgrind). */
static void test_pam_loop(void **state)
{
	char stack[PATH_MAX + 128];
	pam_handle_t *pamh;
	struct fake f;
	int i, fds = count_fds();

	(void)state;
	fake_start(&f, FAKE_REPLY, 200, 2, "{\"ok\":true,\"session_id\":\"id\",\"expires\":null}\n",
		   "{\"ok\":true,\"closed\":true}\n");
	snprintf(stack, sizeof(stack), "session required MODULE socket=%s", f.path);
	for (i = 0; i < 100; i++) {
		pamh = pam_with(stack);
		assert_int_equal(pam_open_session(pamh, 0), PAM_SUCCESS);
		assert_int_equal(pam_close_session(pamh, 0), PAM_SUCCESS);
		pam_end(pamh, PAM_SUCCESS);
	}
	fake_stop(&f);
	assert_int_equal(count_fds(), fds);
}

static void test_pam_bad_arguments(void **state)
{
	pam_handle_t *pamh;

	(void)state;
	pamh = pam_with("session required MODULE socket=relative.sock");
	assert_int_equal(pam_open_session(pamh, 0), PAM_SERVICE_ERR);
	pam_end(pamh, PAM_SUCCESS);
	pamh = pam_with("session required MODULE ttl=5x");
	assert_int_equal(pam_open_session(pamh, 0), PAM_SERVICE_ERR);
	pam_end(pamh, PAM_SUCCESS);
}

static int setup(void **state)
{
	(void)state;
	return pam_fixture_setup("sess");
}

static int teardown(void **state)
{
	(void)state;
	return pam_fixture_teardown();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_string_escapes),
	    cmocka_unit_test(test_string_utf8),
	    cmocka_unit_test(test_string_bounds),
	    cmocka_unit_test(test_req_open),
	    cmocka_unit_test(test_req_close),
	    cmocka_unit_test(test_req_open_refused),
	    cmocka_unit_test(test_req_round_trip),
	    cmocka_unit_test(test_reply_ok),
	    cmocka_unit_test(test_reply_error),
	    cmocka_unit_test(test_reply_long_message),
	    cmocka_unit_test(test_reply_skips_nested),
	    cmocka_unit_test(test_reply_truncated),
	    cmocka_unit_test(test_reply_wrong_types),
	    cmocka_unit_test(test_reply_missing_fields),
	    cmocka_unit_test(test_reply_not_json),
	    cmocka_unit_test(test_reply_duplicates),
	    cmocka_unit_test(test_reply_hostile),
	    cmocka_unit_test(test_reply_mutated),
	    cmocka_unit_test(test_io_reply),
	    cmocka_unit_test(test_io_failures),
	    cmocka_unit_test(test_pam_open_close),
	    cmocka_unit_test(test_pam_failures),
	    cmocka_unit_test(test_pam_hostile_replies),
	    cmocka_unit_test(test_pam_loop),
	    cmocka_unit_test(test_pam_bad_arguments),
	};

	(void)argc;
	if (pam_fixture_find_module(argv[0]) != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
