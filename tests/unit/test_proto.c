/* SPDX-License-Identifier: MIT */
/* test_proto.c - the admin protocol (SPEC §9): every op's schema, replies, error codes, framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "ttl.h"

/* Parses json, which must be valid; the caller frees r. */
static void req_ok(const char *json, struct proto_req *r)
{
	struct psm_err e = {0};

	if (proto_parse_request(json, strlen(json), r, &e) != PSM_OK)
		fail_msg("%s: %s", json, e.msg);
	assert_non_null(r->op);
}

/* json must be refused with ecode and a message containing msg. */
static void req_bad(const char *json, int ecode, const char *msg)
{
	struct proto_req r;
	struct psm_err e = {0};
	int rc = proto_parse_request(json, strlen(json), &r, &e);

	if (rc != PSM_EINVAL)
		fail_msg("%s: accepted (rc %d), want \"%s\"", json, rc, msg);
	if (r.ecode != ecode)
		fail_msg("%s: code %s, want %s (%s)", json, proto_code_name(r.ecode),
			 proto_code_name(ecode), e.msg);
	if (strstr(e.msg, msg) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", json, e.msg, msg);
	proto_req_free(&r);
}

static void inval(const char *json, const char *msg)
{
	req_bad(json, PROTO_E_INVALID_ARGUMENT, msg);
}

#define G "{\"op\":\"grant\",\"user\":\"alice\",\"perm\":\"sudo:run\""

static void test_grant_good(void **state)
{
	struct proto_req r;

	(void)state;
	req_ok(G ",\"ttl\":\"2h\",\"from\":[\"10.0.0.0/8\",\"LOCAL\"],\"hosts\":[\"web-01\",\"*\"],"
		 "\"session\":\"abc234\",\"reason\":\"INC-42\",\"tag\":\"t1\"}",
	       &r);
	assert_int_equal(r.op->id, PROTO_OP_GRANT);
	assert_string_equal(r.a.user, "alice");
	assert_string_equal(r.a.perm, "sudo:run");
	assert_int_equal(r.a.ttl, 7200);
	assert_string_equal(r.a.reason, "INC-42");
	assert_string_equal(r.tag, "t1");
	assert_int_equal(cJSON_GetArraySize(r.a.from), 2);
	assert_true(proto_has(&r, PK_TTL));
	assert_false(proto_has(&r, PK_UNTIL));
	proto_req_free(&r);
}

static void test_grant_until_group(void **state)
{
	struct proto_req r;

	(void)state;
	req_ok("{\"op\":\"grant\",\"user\":\"%wheel\",\"perm\":\"login:*\","
	       "\"until\":\"2030-01-02T03:04:05Z\"}",
	       &r);
	assert_string_equal(r.a.user, "%wheel");
	assert_int_equal(r.a.until, 1893553445);
	assert_null(r.tag);
	proto_req_free(&r);
}

static void test_grant_unknown_key(void **state)
{
	(void)state;
	inval(G ",\"colour\":\"red\"}", "colour: unknown key for op grant");
	inval(G ",\"perms\":[\"a\"]}", "perms: unknown key for op grant");
}

static void test_grant_wrong_types(void **state)
{
	(void)state;
	inval("{\"op\":\"grant\",\"user\":5,\"perm\":\"a\"}", "user: expected a string");
	inval(G ",\"ttl\":7200}", "ttl: expected a string");
	inval(G ",\"from\":\"10.0.0.0/8\"}", "from: expected an array of strings");
	inval(G ",\"from\":[1]}", "from: expected an array of strings");
	inval(G ",\"hosts\":{}}", "hosts: expected an array of strings");
	inval(G ",\"reason\":true}", "reason: expected a string");
	inval(G ",\"session\":null}", "session: expected a string");
}

static void test_grant_missing(void **state)
{
	(void)state;
	inval("{\"op\":\"grant\",\"user\":\"alice\"}", "perm: required for op grant");
	inval("{\"op\":\"grant\",\"perm\":\"a\"}", "user: required for op grant");
}

static void test_grant_oversize(void **state)
{
	struct proto_req r;
	char buf[1200];

	(void)state;
	snprintf(buf, sizeof(buf), G ",\"reason\":\"%0256d\"}", 0);
	inval(buf, "reason: longer than 255 bytes");
	snprintf(buf, sizeof(buf), G ",\"reason\":\"%0255d\"}", 0);
	req_ok(buf, &r);
	proto_req_free(&r);
	snprintf(buf, sizeof(buf), "{\"op\":\"grant\",\"user\":\"%0256d\",\"perm\":\"a\"}", 0);
	inval(buf, "user: longer than 255 bytes");
	snprintf(buf, sizeof(buf), "{\"op\":\"grant\",\"user\":\"a\",\"perm\":\"%0256d\"}", 0);
	inval(buf, "longer than 255 bytes");
}

static void test_grant_bad_ttl(void **state)
{
	(void)state;
	inval(G ",\"ttl\":\"5x\"}", "ttl \"5x\": unknown unit 'x' (use s, m, h, d, w)");
	inval(G ",\"ttl\":\"0\"}", "must be positive");
	inval(G ",\"ttl\":\"-1h\"}", "must be positive");
	inval(G ",\"ttl\":\"\"}", "ttl: empty");
}

static void test_grant_bad_until(void **state)
{
	(void)state;
	inval(G ",\"until\":\"tomorrow\"}", "until: time \"tomorrow\"");
	inval(G ",\"until\":\"2026-02-30\"}", "no such date");
}

static void test_grant_bad_perm(void **state)
{
	(void)state;
	inval("{\"op\":\"grant\",\"user\":\"a\",\"perm\":\"sudo:r!n\"}",
	      "perm: pattern \"sudo:r!n\": bad character '!' at 7");
	inval("{\"op\":\"grant\",\"user\":\"a\",\"perm\":\"a::b\"}", "empty segment");
	inval("{\"op\":\"grant\",\"user\":\"a\",\"perm\":\"\"}", "perm: empty");
}

static void test_grant_bad_from_hosts(void **state)
{
	(void)state;
	inval(G ",\"from\":[\"10.0.0.0/33\"]}", "from: ");
	inval(G ",\"from\":[\"LOCAL\",\"bad!name\"]}", "from: ");
	inval(G ",\"from\":[]}", "from: 1 to 64 items");
	inval(G ",\"hosts\":[\"web 01\"]}", "hosts: \"web 01\": not a host name or label");
}

static void test_grant_bad_user(void **state)
{
	(void)state;
	inval("{\"op\":\"grant\",\"user\":\"al:ice\",\"perm\":\"a\"}",
	      "user: \"al:ice\": bad character");
	inval("{\"op\":\"grant\",\"user\":\"%\",\"perm\":\"a\"}", "user: empty name");
	inval("{\"op\":\"grant\",\"user\":\"-rf\",\"perm\":\"a\"}", "must not start with '-'");
	inval("{\"op\":\"grant\",\"user\":\"a\",\"perm\":\"a\",\"session\":\"x/y\"}",
	      "session: \"x/y\": character 2, '/', is not a letter or digit");
}

static void test_grant_ttl_and_until(void **state)
{
	(void)state;
	inval(G ",\"ttl\":\"2h\",\"until\":\"2030-01-01\"}", "ttl, until: give one or the other");
}

static void test_revoke_forms(void **state)
{
	struct proto_req r;

	(void)state;
	req_ok("{\"op\":\"revoke\",\"grant_id\":\"abcdefghijklmnopqrstuvwxyz\"}", &r);
	assert_string_equal(r.a.grant_id, "abcdefghijklmnopqrstuvwxyz");
	proto_req_free(&r);
	req_ok("{\"op\":\"revoke\",\"user\":\"%ops\",\"perm\":\"sudo:*\"}", &r);
	assert_null(r.a.grant_id);
	proto_req_free(&r);
	inval("{\"op\":\"revoke\",\"grant_id\":\"ab\",\"user\":\"a\"}", "give grant_id, or user");
	inval("{\"op\":\"revoke\",\"user\":\"a\"}", "perm: required for op revoke");
	inval("{\"op\":\"revoke\"}", "user: required for op revoke (or grant_id)");
	inval("{\"op\":\"revoke\",\"grant_id\":7}", "grant_id: expected a string");
	inval("{\"op\":\"revoke\",\"grant_id\":\"ab\",\"ttl\":\"1h\"}", "ttl: unknown key");
}

static void test_grants_schema(void **state)
{
	struct proto_req r;

	(void)state;
	req_ok("{\"op\":\"grants\"}", &r);
	assert_null(r.a.user);
	proto_req_free(&r);
	req_ok("{\"op\":\"grants\",\"user\":\"%wheel\"}", &r);
	proto_req_free(&r);
	inval("{\"op\":\"grants\",\"user\":[]}", "user: expected a string");
	inval("{\"op\":\"grants\",\"perm\":\"a\"}", "perm: unknown key for op grants");
}

#define C "{\"op\":\"check\",\"user\":\"alice\""

static void test_check_schema(void **state)
{
	struct proto_req r;

	(void)state;
	req_ok(C ",\"perms\":[\"sudo:run\",\"login:ssh\"],\"mode\":\"any\",\"service\":\"sudo\","
		 "\"rhost\":\"10.1.2.3\",\"explain\":true}",
	       &r);
	assert_true(r.a.any);
	assert_true(r.a.explain);
	assert_int_equal(cJSON_GetArraySize(r.a.perms), 2);
	proto_req_free(&r);
	req_ok(C ",\"perms\":[\"sudo:run\"]}", &r);
	assert_false(r.a.any);
	proto_req_free(&r);
	inval(C "}", "perms: required for op check");
	inval(C ",\"perms\":[]}", "perms: 1 to 64 items");
	inval(C ",\"perms\":[\"sudo:*\"]}", "perms: permission \"sudo:*\"");
	inval(C ",\"perms\":[\"a\"],\"mode\":\"some\"}", "mode: \"some\": use \"all\" or \"any\"");
	inval(C ",\"perms\":[\"a\"],\"explain\":\"yes\"}", "explain: expected true or false");
	inval("{\"op\":\"check\",\"user\":\"%wheel\",\"perms\":[\"a\"]}",
	      "user: \"%wheel\": bad character at 1");
}

static void test_check_perms_limit(void **state)
{
	char buf[2048];
	size_t o;
	int i;

	(void)state;
	o = (size_t)snprintf(buf, sizeof(buf), C ",\"perms\":[");
	for (i = 0; i < 65; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"p%d\"", i ? "," : "", i);
	snprintf(buf + o, sizeof(buf) - o, "]}");
	inval(buf, "perms: 1 to 64 items");
}

static void test_sessions_schema(void **state)
{
	struct proto_req r;

	(void)state;
	req_ok("{\"op\":\"sessions\",\"user\":\"bob\"}", &r);
	proto_req_free(&r);
	req_ok("{\"op\":\"sessions\"}", &r);
	proto_req_free(&r);
	inval("{\"op\":\"sessions\",\"user\":1}", "user: expected a string");
	inval("{\"op\":\"sessions\",\"all\":true}", "all: unknown key for op sessions");
}

static void test_session_id_ops(void **state)
{
	static const char *const ops[] = {"session_show", "session_kill", "session_close"};
	struct proto_req r;
	char buf[256];
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), "{\"op\":\"%s\",\"session_id\":\"0123456789abcdef\"}",
			 ops[i]);
		req_ok(buf, &r);
		assert_string_equal(r.a.session_id, "0123456789abcdef");
		proto_req_free(&r);
		snprintf(buf, sizeof(buf), "{\"op\":\"%s\"}", ops[i]);
		inval(buf, "session_id: required for op");
		snprintf(buf, sizeof(buf), "{\"op\":\"%s\",\"session_id\":\"a b\"}", ops[i]);
		inval(buf, "session_id: \"a b\": character 2, ' ', is not a letter or digit");
		snprintf(buf, sizeof(buf), "{\"op\":\"%s\",\"session_id\":\"%065d\"}", ops[i], 0);
		inval(buf, "session_id: longer than 64 bytes");
	}
}

static void test_session_extend(void **state)
{
	struct proto_req r;

	(void)state;
	req_ok("{\"op\":\"session_extend\",\"session_id\":\"ab\",\"ttl\":\"1h30m\"}", &r);
	assert_int_equal(r.a.ttl, 5400);
	proto_req_free(&r);
	inval("{\"op\":\"session_extend\",\"session_id\":\"ab\"}", "ttl: required");
	inval("{\"op\":\"session_extend\",\"session_id\":\"ab\",\"ttl\":\"1q\"}",
	      "unknown unit 'q'");
}

#define O "{\"op\":\"session_open\",\"user\":\"alice\",\"service\":\"sshd\""

static void test_session_open(void **state)
{
	struct proto_req r;
	char buf[1400];

	(void)state;
	req_ok(O ",\"pid\":4242,\"tty\":\"pts/0\",\"rhost\":\"10.0.0.5\",\"audit\":4294967295,"
		 "\"ttl\":\"12h\",\"metadata\":{\"k\":\"v\"}}",
	       &r);
	assert_int_equal(r.a.pid, 4242);
	assert_int_equal(r.a.audit, 4294967295LL);
	assert_true(cJSON_IsObject(r.a.metadata));
	proto_req_free(&r);
	inval(O "}", "pid: required for op session_open");
	inval(O ",\"pid\":0}", "pid: out of range 1..2147483647");
	inval(O ",\"pid\":1.5}", "pid: expected an integer");
	inval(O ",\"pid\":\"1\"}", "pid: expected an integer");
	inval(O ",\"pid\":1,\"audit\":4294967296}", "audit: out of range");
	inval(O ",\"pid\":1,\"metadata\":[]}", "metadata: expected an object");
	inval("{\"op\":\"session_open\",\"user\":\"%g\",\"service\":\"s\",\"pid\":1}", "user: ");
	snprintf(buf, sizeof(buf), O ",\"pid\":1,\"metadata\":{\"k\":\"%01020d\"}}", 0);
	inval(buf, "metadata: larger than 1024 bytes serialized");
}

static void test_no_key_ops(void **state)
{
	static const char *const ops[] = {"cleanup", "stats",  "health",
					  "metrics", "export", "reload"};
	struct proto_req r;
	char buf[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"op\":\"%s\",\"tag\":\"x\"}", ops[i]);
		req_ok(buf, &r);
		assert_string_equal(r.op->name, ops[i]);
		proto_req_free(&r);
		snprintf(buf, sizeof(buf), "{\"op\":\"%s\",\"user\":\"a\"}", ops[i]);
		inval(buf, "user: unknown key for op");
	}
}

static void test_import_schema(void **state)
{
	struct proto_req r;

	(void)state;
	req_ok("{\"op\":\"import\",\"grants\":[{\"grant_id\":\"a\"}],\"sessions\":[],"
	       "\"dry_run\":true}",
	       &r);
	assert_true(r.a.dry_run);
	assert_int_equal(cJSON_GetArraySize(r.a.grants), 1);
	proto_req_free(&r);
	inval("{\"op\":\"import\",\"grants\":[1]}", "grants: expected an array of objects");
	inval("{\"op\":\"import\",\"sessions\":{}}", "sessions: expected an array of objects");
	inval("{\"op\":\"import\",\"dry_run\":1}", "dry_run: expected true or false");
}

/* One good request per op, every key it may carry. */
static const char *const good_reqs[PROTO_OP_COUNT] = {
    G ",\"ttl\":\"2h\",\"from\":[\"LOCAL\"],\"hosts\":[\"h\"],\"session\":\"s1\","
      "\"reason\":\"r\"}",
    "{\"op\":\"revoke\",\"grant_id\":\"g1\"}",
    "{\"op\":\"grants\",\"user\":\"alice\"}",
    C ",\"perms\":[\"a:b\"],\"mode\":\"all\",\"service\":\"sudo\",\"rhost\":\"h\","
      "\"explain\":false,\"at\":\"2h\"}",
    "{\"op\":\"sessions\",\"user\":\"alice\",\"fleet\":true}",
    "{\"op\":\"session_show\",\"session_id\":\"s1\"}",
    "{\"op\":\"session_extend\",\"session_id\":\"s1\",\"ttl\":\"1h\"}",
    "{\"op\":\"session_kill\",\"session_id\":\"s1\"}",
    O ",\"tty\":\"pts/1\",\"rhost\":\"h\",\"pid\":2,\"audit\":3,\"ttl\":\"1h\","
      "\"metadata\":{}}",
    "{\"op\":\"session_close\",\"session_id\":\"s1\"}",
    "{\"op\":\"cleanup\"}",
    "{\"op\":\"stats\"}",
    "{\"op\":\"health\"}",
    "{\"op\":\"metrics\"}",
    "{\"op\":\"export\"}",
    "{\"op\":\"import\",\"grants\":[],\"sessions\":[],\"dry_run\":false}",
    "{\"op\":\"reload\",\"strict\":true}",
    "{\"op\":\"recover\",\"decision\":\"drop\"}",
    "{\"op\":\"fleet\"}",
    "{\"op\":\"history\",\"user\":\"%wheel\",\"since\":\"2026-12-07T05:00:00Z\","
    "\"until\":\"1d\"}",
};

/* history's since/until and check's at: ISO 8601 UTC, or a duration meaning that long ago. */
static void test_past_times(void **state)
{
	struct proto_req r;
	int64_t now = time_now_utc();

	(void)state;
	req_ok("{\"op\":\"history\",\"since\":\"2026-12-07T05:00:00Z\",\"until\":\"2h\"}", &r);
	assert_int_equal(r.a.since, 1796619600);
	assert_true(r.a.till >= now - 7200 && r.a.till <= time_now_utc() - 7200);
	proto_req_free(&r);
	req_ok(C ",\"perms\":[\"a:b\"],\"at\":\"2026-12-07\"}", &r);
	assert_int_equal(r.a.at, 1796601600);
	proto_req_free(&r);
	inval("{\"op\":\"history\",\"since\":\"yesterday\"}",
	      "since: \"yesterday\": not a time (ISO 8601 UTC");
	inval("{\"op\":\"history\",\"until\":\"2h-\"}", "until: \"2h-\": not a time");
	inval(G ",\"until\":\"2h\"}", "until");
}

/* The required keys of protocol.md, per op (revoke: grant_id, or user and perm). */
static const char *const required_keys[PROTO_OP_COUNT] = {
    ",user,perm,",
    NULL,
    ",",
    ",user,perms,",
    ",",
    ",session_id,",
    ",session_id,ttl,",
    ",session_id,",
    ",user,service,pid,",
    ",session_id,",
    ",",
    ",",
    ",",
    ",",
    ",",
    ",",
    ",",
    ",",
    ",",
    ",",
};

static bool is_required(const struct proto_op *op, const char *key)
{
	char k[64];

	snprintf(k, sizeof(k), ",%s,", key);
	return strstr(required_keys[op->id], k) != NULL;
}

/* Parses o printed, expecting it accepted. */
static void obj_ok(cJSON *o)
{
	struct proto_req r;
	char *s = cJSON_PrintUnformatted(o);

	assert_non_null(s);
	req_ok(s, &r);
	proto_req_free(&r);
	free(s);
}

/* Parses o printed, expecting a refusal whose message contains want. */
static void obj_bad(cJSON *o, const char *want)
{
	char *s = cJSON_PrintUnformatted(o);

	assert_non_null(s);
	inval(s, want);
	free(s);
}

/* A value of another JSON type than v. */
static cJSON *wrong_type(const cJSON *v)
{
	return cJSON_IsString(v) ? cJSON_CreateNumber(1) : cJSON_CreateString("x");
}

static void check_op_schema(const struct proto_op *op, const char *json)
{
	cJSON *o = cJSON_Parse(json), *m;
	char want[96];

	assert_non_null(o);
	for (m = o->child; m != NULL; m = m->next) {
		cJSON *d;

		if (strcmp(m->string, "op") == 0)
			continue;
		d = cJSON_Duplicate(o, 1);
		/* wrong type */
		cJSON_ReplaceItemInObjectCaseSensitive(d, m->string, wrong_type(m));
		snprintf(want, sizeof(want), "%s: expected", m->string);
		obj_bad(d, want);
		/* missing: refused when required, else fine */
		cJSON_DeleteItemFromObjectCaseSensitive(d, m->string);
		snprintf(want, sizeof(want), "%s: required for op %s", m->string, op->name);
		if (op->id == PROTO_OP_REVOKE)
			obj_bad(d, "user: required for op revoke (or grant_id)");
		else if (is_required(op, m->string))
			obj_bad(d, want);
		else
			obj_ok(d);
		cJSON_Delete(d);
	}
	cJSON_AddNumberToObject(o, "bogus", 1);
	snprintf(want, sizeof(want), "bogus: unknown key for op %s", op->name);
	obj_bad(o, want);
	cJSON_Delete(o);
}

static void test_every_op_schema(void **state)
{
	struct proto_req r;
	uint64_t missing;
	size_t i;

	(void)state;
	for (i = 0; i < PROTO_OP_COUNT; i++) {
		req_ok(good_reqs[i], &r);
		assert_int_equal(r.op->id, i);
		/* every key the op allows appears in its good request, but the alternatives */
		missing = r.op->keys & ~r.have;
		if (r.op->id == PROTO_OP_GRANT)
			missing &= ~PROTO_BIT(PK_UNTIL);
		if (r.op->id == PROTO_OP_REVOKE)
			missing &= ~(PROTO_BIT(PK_PRINCIPAL) | PROTO_BIT(PK_PERM));
		assert_int_equal(missing, 0);
		proto_req_free(&r);
		check_op_schema(proto_op_get((enum proto_op_id)i), good_reqs[i]);
	}
}

static void test_unknown_op(void **state)
{
	struct proto_req r;
	struct psm_err e = {0};
	const char *j = "{\"op\":\"frobnicate\",\"tag\":\"t9\"}";

	(void)state;
	assert_int_equal(proto_parse_request(j, strlen(j), &r, &e), PSM_EINVAL);
	assert_int_equal(r.ecode, PROTO_E_UNKNOWN_OP);
	assert_string_equal(e.msg, "op: unknown op \"frobnicate\"");
	assert_string_equal(r.tag, "t9"); /* echoed even on error */
	proto_req_free(&r);
	inval("{\"user\":\"a\"}", "op: required");
	inval("{\"op\":3}", "op: expected a string");
}

static void test_invalid_json(void **state)
{
	(void)state;
	inval("{", "request: invalid JSON");
	inval("nope", "request: invalid JSON");
	inval("", "request: invalid JSON");
	inval("{\"op\":\"stats\"} {}", "request: text after the JSON object");
	inval("{\"op\":\"stats\",}", "request: invalid JSON");
}

static void test_non_object(void **state)
{
	(void)state;
	inval("[]", "request: expected a JSON object");
	inval("\"stats\"", "request: expected a JSON object");
	inval("42", "request: expected a JSON object");
	inval("null", "request: expected a JSON object");
}

/* A stats request padded with spaces to total bytes including the newline. */
static char *padded(size_t total)
{
	char *b = malloc(total + 1);
	const char *j = "{\"op\":\"stats\"}";

	assert_non_null(b);
	memset(b, ' ', total);
	memcpy(b, j, strlen(j));
	b[total - 1] = '\n';
	b[total] = '\0';
	return b;
}

static void test_too_large(void **state)
{
	struct proto_req r;
	struct psm_err e = {0};
	char *b = padded(PROTO_LINE_MAX);

	(void)state;
	assert_int_equal(proto_parse_request(b, PROTO_LINE_MAX, &r, &e), PSM_OK);
	proto_req_free(&r);
	free(b);
	b = padded(PROTO_LINE_MAX + 1);
	assert_int_equal(proto_parse_request(b, PROTO_LINE_MAX + 1, &r, &e), PSM_EINVAL);
	assert_int_equal(r.ecode, PROTO_E_TOO_LARGE);
	assert_non_null(strstr(e.msg, "larger than 65536 bytes"));
	proto_req_free(&r);
	free(b);
}

static void test_tag(void **state)
{
	struct proto_req r;
	struct psm_err e = {0};
	char buf[200];

	(void)state;
	snprintf(buf, sizeof(buf), "{\"op\":\"stats\",\"tag\":\"%065d\"}", 0);
	assert_int_equal(proto_parse_request(buf, strlen(buf), &r, &e), PSM_EINVAL);
	assert_null(r.tag);
	assert_non_null(strstr(e.msg, "tag: longer than 64 bytes"));
	proto_req_free(&r);
	inval("{\"op\":\"stats\",\"tag\":1}", "tag: expected a string");
	snprintf(buf, sizeof(buf),
		 "{\"op\":\"grant\",\"tag\":\"q\",\"user\":\"a\",\"perm\":\"!\"}");
	assert_int_equal(proto_parse_request(buf, strlen(buf), &r, &e), PSM_EINVAL);
	assert_string_equal(r.tag, "q");
	proto_req_free(&r);
}

static void test_duplicate_and_hidden(void **state)
{
	(void)state;
	inval(G ",\"user\":\"root\"}", "user: duplicate key");
	inval("{\"op\":\"stats\",\"op\":\"grant\"}", "op: duplicate key");
	/* "alice\u0000x" must not read as "alice". */
	inval("{\"op\":\"grants\",\"user\":\"alice\\u0000x\"}", "request: NUL character");
	inval(G ",\"reason\":\"a\\nb\"}", "reason: control character U+000A at byte 2");
}

static void test_authorize(void **state)
{
	struct proto_req r;
	struct psm_err e = {0};

	(void)state;
	req_ok(G "}", &r);
	assert_int_equal(proto_authorize(&r, true, "root", &e), PSM_OK);
	assert_int_equal(proto_authorize(&r, false, "alice", &e), PSM_EPERM);
	assert_string_equal(e.msg, "not permitted (admins only)");
	proto_req_free(&r);
	req_ok("{\"op\":\"grants\"}", &r);
	assert_int_equal(proto_authorize(&r, false, "bob", &e), PSM_OK);
	proto_req_free(&r);
	req_ok("{\"op\":\"grants\",\"user\":\"alice\"}", &r);
	assert_int_equal(proto_authorize(&r, false, "alice", &e), PSM_OK);
	assert_int_equal(proto_authorize(&r, false, "bob", &e), PSM_EPERM);
	proto_req_free(&r);
	req_ok("{\"op\":\"grants\",\"user\":\"%bob\"}", &r);
	assert_int_equal(proto_authorize(&r, false, "bob", &e), PSM_EPERM);
	proto_req_free(&r);
	req_ok("{\"op\":\"metrics\"}", &r);
	assert_int_equal(proto_authorize(&r, false, "nobody", &e), PSM_OK);
	proto_req_free(&r);
	/* registering a session is for root (PAM) and admins only, even for oneself */
	req_ok(O ",\"pid\":9}", &r);
	assert_int_equal(proto_authorize(&r, true, "root", &e), PSM_OK);
	assert_int_equal(proto_authorize(&r, false, "alice", &e), PSM_EPERM);
	assert_string_equal(e.msg, "not permitted (admins only)");
	assert_int_equal(proto_authorize(&r, false, "mallory", &e), PSM_EPERM);
	proto_req_free(&r);
}

static void test_op_table(void **state)
{
	static const char *const admin[] = {
	    "grant",   "revoke", "session_extend", "session_kill", "session_open",
	    "cleanup", "export", "import",	   "reload",	   "recover"};
	const struct proto_op *op;
	size_t i;

	(void)state;
	for (i = 0; i < PROTO_OP_COUNT; i++) {
		op = proto_op_get((enum proto_op_id)i);
		assert_non_null(op);
		assert_int_equal(op->id, i);
		assert_ptr_equal(proto_op_find(op->name), op);
	}
	for (i = 0; i < sizeof(admin) / sizeof(admin[0]); i++)
		assert_true(proto_op_admin_only(proto_op_find(admin[i])));
	assert_false(proto_op_admin_only(proto_op_find("check")));
	assert_false(proto_op_admin_only(proto_op_find("fleet")));
	assert_true(proto_op_needs_owner(proto_op_find("session_close")));
	assert_true(proto_op_needs_proof(proto_op_find("session_close")));
	assert_true(proto_op_needs_owner(proto_op_find("session_show")));
	assert_false(proto_op_needs_proof(proto_op_find("session_show")));
	assert_true(proto_op_mutates(proto_op_find("grant")));
	assert_false(proto_op_mutates(proto_op_find("grants")));
	assert_null(proto_op_find("GRANT"));
	assert_null(proto_op_get(PROTO_OP_COUNT));
}

static void test_reply_ok_exact(void **state)
{
	cJSON *f = cJSON_CreateObject();
	size_t len = 0;
	char *s;

	(void)state;
	cJSON_AddStringToObject(f, "grant_id", "abc");
	cJSON_AddNullToObject(f, "not_after");
	s = proto_reply_ok(f, NULL, &len);
	assert_string_equal(s, "{\"ok\":true,\"grant_id\":\"abc\",\"not_after\":null}\n");
	assert_int_equal(len, strlen(s));
	free(s);
	f = cJSON_CreateObject();
	cJSON_AddNumberToObject(f, "revoked", 2);
	s = proto_reply_ok(f, "t1", NULL);
	assert_string_equal(s, "{\"ok\":true,\"tag\":\"t1\",\"revoked\":2}\n");
	free(s);
	s = proto_reply_ok(NULL, NULL, NULL);
	assert_string_equal(s, "{\"ok\":true}\n");
	free(s);
}

static void test_reply_error_exact(void **state)
{
	struct psm_err e = {0};
	char *s;

	(void)state;
	s = proto_reply_error(PROTO_E_INVALID_ARGUMENT, "ttl: unknown unit 'x' (use s, m, h, d, w)",
			      NULL, NULL);
	assert_string_equal(s, "{\"ok\":false,\"error\":{\"code\":\"invalid_argument\","
			       "\"message\":\"ttl: unknown unit 'x' (use s, m, h, d, w)\"}}\n");
	free(s);
	s = proto_reply_error(PROTO_E_TOO_LARGE, "say \"hi\"\n", "t", NULL);
	assert_string_equal(s, "{\"ok\":false,\"tag\":\"t\",\"error\":{\"code\":\"too_large\","
			       "\"message\":\"say \\\"hi\\\"\\n\"}}\n");
	free(s);
	psm_err_set(&e, PSM_ENOENT, "grant abc: no such grant");
	s = proto_reply_err(&e, NULL, NULL);
	assert_string_equal(s, "{\"ok\":false,\"error\":{\"code\":\"not_found\","
			       "\"message\":\"grant abc: no such grant\"}}\n");
	free(s);
	assert_non_null(strstr(proto_reply_oom, "\"internal\""));
}

static void test_codes(void **state)
{
	static const struct {
		const char *name;
		int exit_code;
	} want[PROTO_E_COUNT] = {
	    {"invalid_argument", 2}, {"unknown_op", 2},	 {"too_large", 2},  {"not_permitted", 4},
	    {"not_found", 2},	     {"unavailable", 3}, {"table_full", 3}, {"internal", 3},
	};
	int i;

	(void)state;
	for (i = 0; i < PROTO_E_COUNT; i++) {
		assert_string_equal(proto_code_name(i), want[i].name);
		assert_int_equal(proto_code_parse(want[i].name), i);
		assert_int_equal(proto_code_exit(i), want[i].exit_code);
		assert_int_equal(psm_exit_code(proto_code_to_psm(i)), want[i].exit_code);
	}
	assert_int_equal(proto_code_parse("bogus"), -1);
	assert_string_equal(proto_code_name(99), "internal");
	assert_int_equal(proto_code_from_psm(PSM_EPERM), PROTO_E_NOT_PERMITTED);
	assert_int_equal(proto_code_from_psm(PSM_EFULL), PROTO_E_TABLE_FULL);
	assert_int_equal(proto_code_from_psm(PSM_EUNAVAIL), PROTO_E_UNAVAILABLE);
	assert_int_equal(proto_code_from_psm(PSM_ENOMEM), PROTO_E_INTERNAL);
	assert_int_equal(proto_code_from_psm(PSM_EINVAL), PROTO_E_INVALID_ARGUMENT);
}

static void test_reply_parse(void **state)
{
	struct proto_reply r;
	struct psm_err e = {0};
	const char *ok = "{\"ok\":true,\"tag\":\"z\",\"removed\":3}";
	const char *bad = "{\"ok\":false,\"error\":{\"code\":\"not_permitted\",\"message\":\"m\"}}";
	const char *odd = "{\"ok\":false,\"error\":{\"code\":\"new_code\",\"message\":\"m\"}}";

	(void)state;
	assert_int_equal(proto_reply_parse(ok, strlen(ok), &r, &e), PSM_OK);
	assert_true(r.ok);
	assert_string_equal(r.tag, "z");
	proto_reply_free(&r);
	assert_int_equal(proto_reply_parse(bad, strlen(bad), &r, &e), PSM_OK);
	assert_false(r.ok);
	assert_int_equal(r.ecode, PROTO_E_NOT_PERMITTED);
	assert_string_equal(r.message, "m");
	proto_reply_free(&r);
	assert_int_equal(proto_reply_parse(odd, strlen(odd), &r, &e), PSM_OK);
	assert_int_equal(r.ecode, PROTO_E_INTERNAL);
	proto_reply_free(&r);
	assert_int_equal(proto_reply_parse("{\"x\":1}", 7, &r, &e), PSM_EUNAVAIL);
	assert_non_null(strstr(e.msg, "malformed reply"));
	assert_int_equal(proto_reply_parse("{\"ok\":false}", 12, &r, &e), PSM_EUNAVAIL);
	assert_int_equal(proto_reply_parse("nope", 4, &r, &e), PSM_EUNAVAIL);
}

static void expect_line(struct proto_lines *l, const char *want)
{
	const char *line;
	size_t len;

	assert_int_equal(proto_lines_next(l, &line, &len), PROTO_LINES_LINE);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(line, want, len);
}

static void test_lines_split(void **state)
{
	struct proto_lines l;
	const char *line;
	size_t len;

	(void)state;
	proto_lines_init(&l, 64);
	assert_int_equal(proto_lines_next(&l, &line, &len), PROTO_LINES_NONE); /* nothing yet */
	assert_int_equal(proto_lines_feed(&l, "a\n\nbc\nde", 8, NULL), PSM_OK);
	expect_line(&l, "a");
	expect_line(&l, "");
	expect_line(&l, "bc");
	assert_int_equal(proto_lines_next(&l, &line, &len), PROTO_LINES_NONE);
	assert_int_equal(proto_lines_pending(&l), 2);
	assert_int_equal(proto_lines_feed(&l, "f\n", 2, NULL), PSM_OK);
	expect_line(&l, "def");
	assert_int_equal(proto_lines_next(&l, &line, &len), PROTO_LINES_NONE);
	assert_int_equal(proto_lines_pending(&l), 0);
	proto_lines_free(&l);
}

static void test_lines_bytewise(void **state)
{
	struct proto_lines l;
	char want[32], got[32];
	const char *line;
	size_t len, i, n = 0;
	const char *text = "{\"op\":\"stats\"}\n{\"op\":\"health\"}\n";

	(void)state;
	proto_lines_init(&l, PROTO_LINE_MAX);
	for (i = 0; text[i] != '\0'; i++) {
		assert_int_equal(proto_lines_feed(&l, text + i, 1, NULL), PSM_OK);
		while (proto_lines_next(&l, &line, &len) == PROTO_LINES_LINE) {
			snprintf(got, sizeof(got), "%.*s", (int)len, line);
			snprintf(want, sizeof(want), "%s",
				 n == 0 ? "{\"op\":\"stats\"}" : "{\"op\":\"health\"}");
			assert_string_equal(got, want);
			n++;
		}
	}
	assert_int_equal(n, 2);
	proto_lines_free(&l);
}

static void test_lines_many(void **state)
{
	struct proto_lines l;
	char *text = malloc(10000 * 8 + 1);
	const char *line;
	size_t len, i, o = 0, n = 0;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 10000; i++)
		o += (size_t)sprintf(text + o, "%07zu\n", i);
	proto_lines_init(&l, 16);
	for (i = 0; i < o; i += 7) {
		assert_int_equal(proto_lines_feed(&l, text + i, o - i < 7 ? o - i : 7, NULL),
				 PSM_OK);
		while (proto_lines_next(&l, &line, &len) == PROTO_LINES_LINE) {
			assert_int_equal(len, 7);
			assert_int_equal(strtoul(line, NULL, 10), n);
			n++;
		}
	}
	assert_int_equal(n, 10000);
	assert_true(l.cap <= 4096); /* consumed lines do not pile up */
	proto_lines_free(&l);
	free(text);
}

static void test_lines_oversize(void **state)
{
	struct proto_lines l;
	const char *line;
	size_t len;

	(void)state;
	/* Exactly max bytes with the newline: fine. */
	proto_lines_init(&l, 8);
	assert_int_equal(proto_lines_feed(&l, "1234567\n", 8, NULL), PSM_OK);
	expect_line(&l, "1234567");
	/* max bytes and still no newline: too large, and it stays so. */
	assert_int_equal(proto_lines_feed(&l, "1234567", 7, NULL), PSM_OK);
	assert_int_equal(proto_lines_next(&l, &line, &len), PROTO_LINES_NONE);
	assert_int_equal(proto_lines_feed(&l, "8", 1, NULL), PSM_OK);
	assert_int_equal(proto_lines_next(&l, &line, &len), PROTO_LINES_TOO_LARGE);
	assert_int_equal(proto_lines_feed(&l, "\n{}\n", 4, NULL), PSM_OK);
	assert_int_equal(proto_lines_next(&l, &line, &len), PROTO_LINES_TOO_LARGE);
	proto_lines_free(&l);
	/* A long line that arrives with its newline in one piece. */
	proto_lines_init(&l, 8);
	assert_int_equal(proto_lines_feed(&l, "ok\n123456789\n", 13, NULL), PSM_OK);
	expect_line(&l, "ok");
	assert_int_equal(proto_lines_next(&l, &line, &len), PROTO_LINES_TOO_LARGE);
	proto_lines_free(&l);
}

static void test_lines_protocol_max(void **state)
{
	struct proto_lines l;
	struct proto_req r;
	struct psm_err e = {0};
	const char *line;
	size_t len;
	char *b = padded(PROTO_LINE_MAX);

	(void)state;
	proto_lines_init(&l, PROTO_LINE_MAX);
	assert_int_equal(proto_lines_feed(&l, b, PROTO_LINE_MAX, NULL), PSM_OK);
	assert_int_equal(proto_lines_next(&l, &line, &len), PROTO_LINES_LINE);
	assert_int_equal(proto_parse_request(line, len, &r, &e), PSM_OK);
	proto_req_free(&r);
	b[PROTO_LINE_MAX - 1] = ' ';
	assert_int_equal(proto_lines_feed(&l, b, PROTO_LINE_MAX, NULL), PSM_OK);
	assert_int_equal(proto_lines_feed(&l, "\n", 1, NULL), PSM_OK);
	assert_int_equal(proto_lines_next(&l, &line, &len), PROTO_LINES_TOO_LARGE);
	proto_lines_free(&l);
	free(b);
}

static void test_print_line(void **state)
{
	cJSON *o = cJSON_CreateObject();
	size_t len;
	char *s;

	(void)state;
	cJSON_AddStringToObject(o, "op", "check");
	cJSON_AddItemToObject(o, "perms", cJSON_CreateArray());
	s = proto_print_line(o, &len);
	assert_string_equal(s, "{\"op\":\"check\",\"perms\":[]}\n");
	assert_int_equal(len, strlen(s));
	free(s);
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grant_good),
	    cmocka_unit_test(test_grant_until_group),
	    cmocka_unit_test(test_grant_unknown_key),
	    cmocka_unit_test(test_grant_wrong_types),
	    cmocka_unit_test(test_grant_missing),
	    cmocka_unit_test(test_grant_oversize),
	    cmocka_unit_test(test_grant_bad_ttl),
	    cmocka_unit_test(test_grant_bad_until),
	    cmocka_unit_test(test_grant_bad_perm),
	    cmocka_unit_test(test_grant_bad_from_hosts),
	    cmocka_unit_test(test_grant_bad_user),
	    cmocka_unit_test(test_grant_ttl_and_until),
	    cmocka_unit_test(test_revoke_forms),
	    cmocka_unit_test(test_grants_schema),
	    cmocka_unit_test(test_check_schema),
	    cmocka_unit_test(test_check_perms_limit),
	    cmocka_unit_test(test_sessions_schema),
	    cmocka_unit_test(test_session_id_ops),
	    cmocka_unit_test(test_session_extend),
	    cmocka_unit_test(test_session_open),
	    cmocka_unit_test(test_no_key_ops),
	    cmocka_unit_test(test_import_schema),
	    cmocka_unit_test(test_every_op_schema),
	    cmocka_unit_test(test_past_times),
	    cmocka_unit_test(test_unknown_op),
	    cmocka_unit_test(test_invalid_json),
	    cmocka_unit_test(test_non_object),
	    cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_tag),
	    cmocka_unit_test(test_duplicate_and_hidden),
	    cmocka_unit_test(test_authorize),
	    cmocka_unit_test(test_op_table),
	    cmocka_unit_test(test_reply_ok_exact),
	    cmocka_unit_test(test_reply_error_exact),
	    cmocka_unit_test(test_codes),
	    cmocka_unit_test(test_reply_parse),
	    cmocka_unit_test(test_lines_split),
	    cmocka_unit_test(test_lines_bytewise),
	    cmocka_unit_test(test_lines_many),
	    cmocka_unit_test(test_lines_oversize),
	    cmocka_unit_test(test_lines_protocol_max),
	    cmocka_unit_test(test_print_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
