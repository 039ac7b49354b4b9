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
	expect_jstr("caf\xc3\xa9", "\"caf\xc3\xa9\"");                 /* U+00E9 */
	expect_jstr("\xe2\x82\xac", "\"\xe2\x82\xac\"");               /* U+20AC */
	expect_jstr("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");               /* U+FFFF */
	expect_jstr("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");       /* U+1F600 */
	expect_jstr("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");       /* U+10FFFF */
	expect_jstr_refused("\x80");                 /* lone continuation byte */
	expect_jstr_refused("a\xbf");
	expect_jstr_refused("\xc0\x80");             /* overlong NUL */
	expect_jstr_refused("\xc1\xbf");             /* overlong */
	expect_jstr_refused("\xe0\x80\x80");         /* overlong */
	expect_jstr_refused("\xe0\x9f\xbf");         /* overlong */
	expect_jstr_refused("\xed\xa0\x80");         /* surrogate U+D800 */
	expect_jstr_refused("\xed\xbf\xbf");         /* surrogate U+DFFF */
	expect_jstr_refused("\xf0\x80\x80\x80");     /* overlong */
	expect_jstr_refused("\xf4\x90\x80\x80");     /* above U+10FFFF */
	expect_jstr_refused("\xf5\x80\x80\x80");
	expect_jstr_refused("\xfe");
	expect_jstr_refused("\xff");
	expect_jstr_refused("\xe2\x82");             /* truncated */
	expect_jstr_refused("\xf0\x9f\x98");
	expect_jstr_refused("\xe2\x28\xa1");         /* bad continuation */
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
	assert_int_equal(pam_session_json_string(buf, sizeof(buf), &len, "a\xff", &e),
			 PSM_EINVAL);
	assert_string_equal(buf, "xx");
	assert_int_equal(len, 2);
	assert_non_null(strstr(e.msg, "not valid UTF-8 at byte 1"));
}

/* ---- writing: requests -------------------------------------------------------------------- */

static const struct pam_session_open full_open = {
	.user = "root", .service = "sshd", .tty = "ssh", .rhost = "192.0.2.7",
	.pid = 4242, .audit = 17, .ttl = 5400,
};

static void test_req_open(void **state)
{
	char buf[PAM_SESSION_REQ_MAX];
	struct pam_session_open o = { .user = "root", .service = "su", .pid = 1,
				      .audit = PAM_SESSION_AUDIT_NONE };
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
		"a\"b", "\\", "\\\"", "x\ny", "\x01\x02\x1f", "}\n{\"op\":\"grant\"}",
		"\",\"user\":\"root", "caf\xc3\xa9 \xf0\x9f\x98\x80", "\x7f", "/\\/", "\\u0041",
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

static void expect_bad(const char *line)
{
	struct pam_session_reply r;
	struct psm_err e;

	if (scan(line, &r, &e) != PSM_EUNAVAIL)
		fail_msg("accepted: %s", line);
	assert_non_null(strstr(e.msg, "malformed reply from psmd: "));
}

static void test_reply_ok(void **state)
{
	struct pam_session_reply r;

	(void)state;
	assert_int_equal(scan("{\"ok\":true,\"session_id\":\"2xi2ep5pnxayzwqhidqgb5vvqq\","
			      "\"expires\":1795503541}\n", &r, NULL), PSM_OK);
	assert_true(r.ok && r.has_id && r.has_expires && !r.has_closed);
	assert_string_equal(r.session_id, "2xi2ep5pnxayzwqhidqgb5vvqq");
	assert_int_equal(r.expires, 1795503541);
	assert_string_equal(r.message, "");
	assert_int_equal(scan(" { \"expires\" : null , \"tag\":\"t\", \"session_id\" : \"A-b_9\" ,"
			      "\"ok\" : true } \r\n", &r, NULL), PSM_OK);
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
}

static void test_reply_error(void **state)
{
	struct pam_session_reply r;

	(void)state;
	assert_int_equal(scan("{\"ok\":false,\"error\":{\"code\":\"not_permitted\","
			      "\"message\":\"not permitted (only about your own user)\"}}\n",
			      &r, NULL), PSM_OK);
	assert_false(r.ok);
	assert_string_equal(r.code, "not_permitted");
	assert_string_equal(r.message, "not permitted (only about your own user)");
	/* escapes decoded, surrogate pairs joined */
	assert_int_equal(scan("{\"error\":{\"extra\":[1,{}],\"message\":\"a\\\"b\\\\c\\/\\n"
			      "\\u00e9\\u20AC\\ud83d\\ude00\\t\"},\"ok\":false}", &r, NULL),
			 PSM_OK);
	assert_string_equal(r.message, "a\"b\\c/\n\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\t");
	assert_string_equal(r.code, "");
}

/* A long message is cut at a character boundary, not in the middle of one. */
static void test_reply_long_message(void **state)
{
	char line[2048], *p = line;
	struct pam_session_reply r;
	int i;

	(void)state;
	p += sprintf(p, "{\"ok\":false,\"error\":{\"message\":\"x");
	for (i = 0; i < 300; i++)
		p += sprintf(p, "\xe2\x82\xac");
	sprintf(p, "\",\"code\":\"internal\"}}");
	assert_int_equal(scan(line, &r, NULL), PSM_OK);
	assert_int_equal(strlen(r.message), 1 + 3 * ((PAM_SESSION_MSG_MAX - 2) / 3));
	assert_string_equal(r.code, "internal");
}

static void test_reply_skips_nested(void **state)
{
	char line[512] = "{\"x\":";
	struct pam_session_reply r;
	int i;

	(void)state;
	assert_int_equal(scan("{\"x\":{\"a\":[1,-2.5e+3,{\"b\":null,\"ok\":false}],\"c\":\"}\","
			      "\"error\":{\"message\":5}},\"y\":[[],{},\"]\",true,false],"
			      "\"ok\":true,\"session_id\":\"abc\"}", &r, NULL), PSM_OK);
	assert_true(r.ok);
	assert_string_equal(r.session_id, "abc");
	/* the top object is level 1: 15 more levels pass, 16 more do not */
	for (i = 0; i < 14; i++)
		strcat(line, "[");
	strcat(line, "{}");
	for (i = 0; i < 14; i++)
		strcat(line, "]");
	strcat(line, ",\"ok\":true}");
	assert_int_equal(scan(line, &r, NULL), PSM_OK);
	strcpy(line, "{\"x\":[");
	for (i = 0; i < 14; i++)
		strcat(line, "[");
	strcat(line, "{}");
	for (i = 0; i < 14; i++)
		strcat(line, "]");
	strcat(line, "],\"ok\":true}");
	expect_bad(line);
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
	char id[PAM_SESSION_ID_MAX + 64];

	(void)state;
	expect_bad("{\"ok\":\"true\"}");
	expect_bad("{\"ok\":1}");
	expect_bad("{\"ok\":null}");
	expect_bad("{\"ok\":true,\"session_id\":5}");
	expect_bad("{\"ok\":true,\"session_id\":null}");
	expect_bad("{\"ok\":true,\"session_id\":\"\"}");
	expect_bad("{\"ok\":true,\"session_id\":\"a b\"}");
	expect_bad("{\"ok\":true,\"session_id\":\"a\\nb\"}");
	expect_bad("{\"ok\":true,\"session_id\":\"../x\"}");
	expect_bad("{\"ok\":true,\"session_id\":[\"abc\"]}");
	snprintf(id, sizeof(id), "{\"ok\":true,\"session_id\":\"%0*d\"}",
		 PAM_SESSION_ID_MAX + 1, 0);
	expect_bad(id);
	snprintf(id, sizeof(id), "{\"ok\":true,\"session_id\":\"%0*d\"}", PAM_SESSION_ID_MAX, 0);
	assert_int_equal(pam_session_reply_parse(id, strlen(id), &(struct pam_session_reply){ 0 },
						 NULL), PSM_OK);
	expect_bad("{\"ok\":true,\"expires\":\"1\"}");
	expect_bad("{\"ok\":true,\"expires\":1.5}");
	expect_bad("{\"ok\":true,\"expires\":1e3}");
	expect_bad("{\"ok\":true,\"expires\":true}");
	expect_bad("{\"ok\":true,\"expires\":9223372036854775808}");
	expect_bad("{\"ok\":true,\"expires\":-9223372036854775809}");
	expect_bad("{\"ok\":true,\"closed\":\"yes\"}");
	expect_bad("{\"ok\":false,\"error\":\"boom\"}");
	expect_bad("{\"ok\":false,\"error\":{\"message\":5}}");
	expect_bad("{\"ok\":false,\"error\":{\"code\":1,\"message\":\"m\"}}");
	expect_bad("{\"ok\":false,\"error\":{\"code\":\"a_code_much_longer_than_the_buffer\","
		   "\"message\":\"m\"}}");
}

static void test_reply_missing_fields(void **state)
{
	(void)state;
	expect_bad("{}");
	expect_bad("{\"session_id\":\"abc\"}");
	expect_bad("{\"ok\":false}");
	expect_bad("{\"ok\":false,\"error\":{}}");
	expect_bad("{\"ok\":false,\"error\":{\"code\":\"internal\"}}");
	expect_bad("{\"ok\":false,\"message\":\"m\"}");
}

static void test_reply_not_json(void **state)
{
	static const char *const bad[] = {
		"", "\n", "null", "[]", "\"ok\"", "{", "}", "{\"ok\":true}x", "{\"ok\":true}{}",
		"{\"ok\":true}\n{\"ok\":true}\n", "{\"ok\":true,}", "{,\"ok\":true}",
		"{\"ok\" true}", "{'ok':true}", "{ok:true}", "{\"ok\":tru}", "{\"ok\":truex}",
		"{\"ok\":True}", "{\"ok\":true,\"ok\":false}",
		"{\"ok\":false,\"error\":{\"message\":\"a\",\"message\":\"b\"}}",
		"{\"ok\":true,\"x\":\"a\tb\"}", "{\"ok\":true,\"x\":\"a\\x\"}",
		"{\"ok\":true,\"x\":\"\\ud800\"}", "{\"ok\":true,\"x\":\"\\udc00\\ud800\"}",
		"{\"ok\":true,\"x\":\"\\ud800\\u0041\"}", "{\"ok\":true,\"x\":\"\\u0000\"}",
		"{\"ok\":true,\"x\":\"\\u12\"}", "{\"ok\":true,\"x\":\"\\u12g4\"}",
		"{\"ok\":true,\"x\":\"\xff\"}", "{\"ok\":true,\"x\":\"\xc0\x80\"}",
		"{\"ok\":true,\"x\":012}", "{\"ok\":true,\"x\":-}", "{\"ok\":true,\"x\":1.}",
		"{\"ok\":true,\"x\":.5}", "{\"ok\":true,\"x\":1e}", "{\"ok\":true,\"x\":+1}",
		"{\"ok\":true,\"x\":NaN}", "{\"ok\":true,\"x\":[1,]}", "{\"ok\":true,\"x\":[1 2]}",
		"{\"ok\":true,\"x\":{\"a\"}}", "{\"ok\":true\"x\":1}", "\xef\xbb\xbf{\"ok\":true}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i]);
	/* a NUL byte inside the line */
	assert_int_equal(pam_session_reply_parse("{\"ok\":true}\0", 12,
						 &(struct pam_session_reply){ 0 }, NULL),
			 PSM_EUNAVAIL);
	assert_int_equal(pam_session_reply_parse("{\"ok\":\"a\0b\"}", 12,
						 &(struct pam_session_reply){ 0 }, NULL),
			 PSM_EUNAVAIL);
}

/* ---- socket I/O against a fake psmd --------------------------------------------------------- */

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
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
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

	rc = pam_session_exchange(f->path, "{\"op\":\"x\"}\n", 11, buf, cap, &len, timeout_ms, e);
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
	assert_int_equal(exchange(&f, buf, sizeof(buf), 2000, &e), PSM_EUNAVAIL);
	assert_non_null(strstr(e.msg, ": path too long"));
	assert_int_equal(count_fds(), fds);
}

/* ---- the module in a real libpam ------------------------------------------------------------ */

/* A handle for user root on service psm-sess whose stack is STACK (MODULE -> the module). */
static pam_handle_t *pam_with(const char *stack)
{
	char text[2 * PATH_MAX + 512];
	struct pam_conv conv = { conv_none, NULL };
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
	fake_start(&f, FAKE_REPLY, 1, 1, "{\"ok\":false,\"error\":{\"code\":\"invalid_argument\","
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
		cmocka_unit_test(test_io_reply),
		cmocka_unit_test(test_io_failures),
		cmocka_unit_test(test_pam_open_close),
		cmocka_unit_test(test_pam_failures),
		cmocka_unit_test(test_pam_loop),
		cmocka_unit_test(test_pam_bad_arguments),
	};

	(void)argc;
	if (pam_fixture_find_module(argv[0]) != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
