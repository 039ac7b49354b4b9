/* SPDX-License-Identifier: MIT */
/* test_record.c - psmd records: JSON round trips of every type and every validation error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cond.h"
#include "record.h"
#include "record_fixture.h"

/* record -> JSON text -> record -> JSON text: both texts equal; returns the copy. */
static void round_trip(const struct record *r, struct record *back)
{
	char *a = record_print(r), *b;
	struct psm_err e = {0};

	assert_non_null(a);
	if (record_parse(a, strlen(a), back, &e) != PSM_OK)
		fail_msg("%s: %s", a, e.msg);
	b = record_print(back);
	assert_non_null(b);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void test_record_grant_round_trip(void **state)
{
	struct record r, back;
	struct rec_grant *g = &r.u.grant, *h = &back.u.grant;
	uint8_t sid[ID_BYTES];

	(void)state;
	fx_grant(&r, "%wheel", "sudo:*", UINT64_C(0xfedcba9876543210), FX_NOW + 7200);
	g->not_before = FX_NOW - 50;
	g->nfrom = 2;
	g->from = calloc(2, sizeof(char *));
	g->from[0] = fx_dup("10.0.0.0/8");
	g->from[1] = fx_dup("LOCAL");
	g->nhosts = 1;
	g->hosts = calloc(1, sizeof(char *));
	g->hosts[0] = fx_dup("web");
	id_new(sid, NULL);
	g->has_session = true;
	memcpy(g->session, sid, ID_BYTES);
	g->source = REC_SRC_FLEET;
	assert_int_equal(record_validate(&r, NULL), PSM_OK);
	round_trip(&r, &back);
	assert_int_equal(back.type, REC_GRANT);
	assert_memory_equal(h->id, g->id, ID_BYTES);
	assert_string_equal(h->principal, "%wheel");
	assert_int_equal(h->version, UINT64_C(0xfedcba9876543210)); /* exact beyond 2^53 */
	assert_int_equal(h->not_before, FX_NOW - 50);
	assert_int_equal(h->not_after, FX_NOW + 7200);
	assert_int_equal(h->nfrom, 2);
	assert_string_equal(h->from[1], "LOCAL");
	assert_string_equal(h->hosts[0], "web");
	assert_true(h->has_session);
	assert_memory_equal(h->session, sid, ID_BYTES);
	assert_int_equal(h->source, REC_SRC_FLEET);
	assert_int_equal(h->table_unit, REC_U32_NONE);
	record_free(&r);
	record_free(&back);
}

static void test_record_grant_permanent_nulls(void **state)
{
	struct record r, back;
	cJSON *o;

	(void)state;
	fx_grant(&r, "alice", "login:*", 5, REC_NOT_AFTER_NONE);
	o = record_to_json(&r);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "not_before")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "not_after")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "session")));
	assert_string_equal(cJSON_GetObjectItem(o, "version")->valuestring, "5");
	cJSON_Delete(o);
	round_trip(&r, &back);
	assert_int_equal(back.u.grant.not_before, REC_NOT_BEFORE_NONE);
	assert_int_equal(back.u.grant.not_after, REC_NOT_AFTER_NONE);
	assert_false(back.u.grant.has_session);
	record_free(&r);
	record_free(&back);
}

static void test_record_session_round_trip(void **state)
{
	struct record r, back;
	struct rec_session *s;

	(void)state;
	fx_session(&r, "alice", 77, FX_NOW + 3600);
	r.u.session.audit = 12;
	round_trip(&r, &back);
	s = &back.u.session;
	assert_int_equal(back.type, REC_SESSION);
	assert_memory_equal(s->id, r.u.session.id, ID_BYTES);
	assert_string_equal(s->user, "alice");
	assert_int_equal(s->uid, 1000);
	assert_string_equal(s->service, "sshd");
	assert_string_equal(s->tty, "pts/3");
	assert_string_equal(s->rhost, "10.1.2.3");
	assert_int_equal(s->pid, 4242);
	assert_int_equal(s->audit, 12);
	assert_int_equal(s->expires, FX_NOW + 3600);
	assert_string_equal(s->metadata, "{\"ticket\":\"INC-42\"}");
	record_free(&back);
	r.u.session.audit = REC_U32_NONE;
	r.u.session.expires = REC_NOT_AFTER_NONE;
	round_trip(&r, &back);
	assert_int_equal(back.u.session.audit, REC_U32_NONE);
	assert_int_equal(back.u.session.expires, REC_NOT_AFTER_NONE);
	record_free(&r);
	record_free(&back);
}

static void test_record_tombstones_round_trip(void **state)
{
	static const int types[] = {REC_REVOKE, REC_SESSION_END};
	struct record r, back;
	uint8_t id[ID_BYTES];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		id_new(id, NULL);
		fx_tomb(&r, types[i], id, 99, i == 0 ? FX_NOW + 60 : REC_NOT_AFTER_NONE);
		round_trip(&r, &back);
		assert_int_equal(back.type, types[i]);
		assert_memory_equal(back.u.tomb.id, id, ID_BYTES);
		assert_int_equal(back.u.tomb.version, 99);
		assert_int_equal(back.u.tomb.keep_until, r.u.tomb.keep_until);
		assert_string_equal(back.u.tomb.origin, "web-02");
		assert_int_equal(record_expiry(&back), r.u.tomb.keep_until);
		record_free(&r);
		record_free(&back);
	}
}

static void test_record_protocol_objects(void **state)
{
	struct record r, back;
	struct psm_err e = {0};
	cJSON *o;

	(void)state;
	fx_grant(&r, "bob", "login:ssh", 3, FX_NOW + 60);
	o = record_grant_to_json(&r.u.grant);
	assert_null(cJSON_GetObjectItem(o, "type"));
	assert_int_equal(record_grant_from_json(o, &back, &e), PSM_OK);
	assert_string_equal(back.u.grant.principal, "bob");
	record_free(&back);
	cJSON_AddStringToObject(o, "type", "grant"); /* not a key of the protocol object */
	assert_int_equal(record_grant_from_json(o, &back, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "unknown key \"type\"");
	cJSON_Delete(o);
	record_free(&r);
	fx_session(&r, "bob", 4, FX_NOW + 60);
	o = record_session_to_json(&r.u.session);
	assert_int_equal(record_session_from_json(o, &back, &e), PSM_OK);
	assert_string_equal(back.u.session.user, "bob");
	cJSON_Delete(o);
	record_free(&r);
	record_free(&back);
}

/* A mutation of a valid record's JSON and the message it must give. */
struct bad_case {
	const char *key;
	const char *value; /* JSON text; NULL: delete the key */
	const char *msg;   /* expected substring */
};

static void expect_bad_cases(const struct record *base, const struct bad_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		cJSON *o = record_to_json(base);
		struct psm_err e = {0};
		struct record r;

		cJSON_DeleteItemFromObjectCaseSensitive(o, c[i].key);
		if (c[i].value != NULL)
			cJSON_AddItemToObject(o, c[i].key, cJSON_Parse(c[i].value));
		if (record_from_json(o, &r, &e) != PSM_EINVAL)
			fail_msg("%s=%s accepted", c[i].key, c[i].value ? c[i].value : "(none)");
		if (strstr(e.msg, c[i].msg) == NULL)
			fail_msg("%s=%s: message \"%s\" lacks \"%s\"", c[i].key,
				 c[i].value ? c[i].value : "(none)", e.msg, c[i].msg);
		assert_null(strchr(e.msg, '\n'));
		assert_null(r.u.grant.principal); /* nothing left to free */
		cJSON_Delete(o);
	}
}

static void test_record_grant_validation(void **state)
{
	static const struct bad_case cases[] = {
	    {"colour", "\"red\"", "unknown key \"colour\""},
	    {"col\nour", "1", "unknown key \"col?our\""},
	    {"grant_id", NULL, "grant_id: missing"},
	    {"grant_id", "\"xyz\"", "grant_id: id \"xyz\""},
	    {"grant_id", "17", "grant_id: expected a string"},
	    {"principal", NULL, "principal: missing"},
	    {"principal", "7", "principal: expected a string"},
	    {"principal", "\"\"", "principal: empty"},
	    {"principal", "\"%\"", "principal: empty"},
	    {"principal", "\"a:b\"", "principal: bad character 0x3a at 2"},
	    {"principal", "\"-rf\"", "principal: may not begin with '-'"},
	    {"principal", "\"a\\nb\"", "principal: bad character 0x0a"},
	    {"pattern", "\"sudo:r!n\"", "pattern: pattern \"sudo:r!n\": bad character '!' at 7"},
	    {"pattern", "[]", "pattern: expected a string"},
	    {"not_after", "\"2h\"", "not_after: expected an integer or null"},
	    {"not_after", "1.5", "not_after: expected an integer"},
	    {"not_after", "-3", "not_after: expected an integer from 0"},
	    {"not_after", "1799999000", "not_after: not after created"},
	    {"not_before", "1800009999", "not_after: not after not_before"},
	    {"not_after", "1e300", "not_after: expected an integer from 0"},
	    {"from", "\"10.0.0.0/8\"", "from: expected an array of strings"},
	    {"from", "[1]", "from: item 1 is not a string"},
	    {"from", "[\"LOCAL\", \"300.1.1.1/8\"]", "from[1]"},
	    {"hosts", "[\"web 01\"]", "hosts[0]: bad character 0x20 at 4"},
	    {"hosts", "[\"*\", \"\"]", "hosts[1]: empty"},
	    {"session", "\"nope\"", "session: id \"nope\""},
	    {"reason", "7", "reason: expected a string"},
	    {"issuer", NULL, "issuer: missing"},
	    {"source", "\"ldap\"", "source: must be policy, admin or fleet"},
	    {"origin", "\"web/01\"", "origin: bad character 0x2f"},
	    {"origin", "\"\"", "origin: empty"},
	    {"version", "\"0\"", "version: expected a decimal string"},
	    {"version", "\"12x\"", "version: expected a decimal string"},
	    {"version", "\"18446744073709551616\"", "version: expected a decimal string"},
	    {"version", "-1", "version: expected a decimal string"},
	    {"version", NULL, "version: missing"},
	    {"created", "null", "created: expected an integer"},
	    {"type", "\"grnat\"", "type: unknown record type \"grnat\""},
	    {"type", "1", "type: expected a string"},
	    {"type", NULL, "type: missing"},
	};
	struct record base;

	(void)state;
	fx_grant(&base, "alice", "sudo:run", 10, FX_NOW + 3600);
	base.u.grant.not_before = FX_NOW - 10;
	expect_bad_cases(&base, cases, sizeof(cases) / sizeof(cases[0]));
	record_free(&base);
}

static void test_record_lengths(void **state)
{
	char big[1100];
	struct bad_case c[4];
	struct record base, r;
	cJSON *o;

	(void)state;
	fx_session(&base, "alice", 10, FX_NOW + 3600);
	/* metadata: {"k":"xxx..."} of 1025 bytes serialized is too long, 1024 is fine */
	snprintf(big, sizeof(big), "{\"k\":\"%0*d\"}", 1025 - 8, 0);
	c[0] = (struct bad_case){"metadata", big, "metadata: longer than 1024 bytes"};
	c[1] = (struct bad_case){"metadata", "[1]", "metadata: expected an object"};
	c[2] = (struct bad_case){"user", "\"%wheel\"", "user: a group is not allowed here"};
	c[3] = (struct bad_case){"pid", "0", "pid: 0 is not a process id"};
	expect_bad_cases(&base, c, 4);
	o = record_to_json(&base);
	snprintf(big, sizeof(big), "{\"k\":\"%0*d\"}", 1024 - 8, 0);
	cJSON_ReplaceItemInObject(o, "metadata", cJSON_Parse(big));
	assert_int_equal(record_from_json(o, &r, NULL), PSM_OK);
	assert_int_equal(strlen(r.u.session.metadata), 1024);
	record_free(&r);
	cJSON_Delete(o);
	record_free(&base);

	fx_grant(&base, "alice", "sudo:run", 10, FX_NOW + 3600);
	memset(big, 'r', 256);
	big[256] = '\0';
	o = record_to_json(&base);
	cJSON_ReplaceItemInObject(o, "reason", cJSON_CreateString(big));
	assert_int_equal(record_from_json(o, &r, NULL), PSM_EINVAL);
	big[255] = '\0';
	cJSON_ReplaceItemInObject(o, "reason", cJSON_CreateString(big));
	assert_int_equal(record_from_json(o, &r, NULL), PSM_OK);
	record_free(&r);
	cJSON_Delete(o);
	record_free(&base);
}

static void test_record_reason_message(void **state)
{
	struct record r;
	struct psm_err e = {0};
	char big[300];

	(void)state;
	fx_grant(&r, "alice", "sudo:run", 10, FX_NOW + 3600);
	memset(big, 'x', 256);
	big[256] = '\0';
	free(r.u.grant.reason);
	r.u.grant.reason = fx_dup(big);
	assert_int_equal(record_validate(&r, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "reason: longer than 255 bytes");
	record_free(&r);
}

static void test_record_session_validation(void **state)
{
	static const struct bad_case cases[] = {
	    {"uid", "-1", "uid: expected an integer from 0 to 4294967294"},
	    {"uid", "4294967295", "uid: expected an integer from 0 to 4294967294"},
	    {"uid", NULL, "uid: missing"},
	    {"service", "\"\"", "service: empty"},
	    {"service", "\"ss hd\"", "service: bad character 0x20"},
	    {"tty", "3", "tty: expected a string"},
	    {"pid", "\"1\"", "pid: expected an integer"},
	    {"audit", "true", "audit: expected an integer or null"},
	    {"expires", "1799999900", "expires: not after created"},
	    {"session_id", "null", "session_id: expected a string"},
	    {"grant_id", "\"aaaaaaaaaaaaaaaaaaaaaaaaaa\"", "unknown key \"grant_id\""},
	};
	struct record base;

	(void)state;
	fx_session(&base, "alice", 10, FX_NOW + 3600);
	expect_bad_cases(&base, cases, sizeof(cases) / sizeof(cases[0]));
	record_free(&base);
}

static void test_record_tomb_validation(void **state)
{
	static const struct bad_case cases[] = {
	    {"keep_until", "\"soon\"", "keep_until: expected an integer or null"},
	    {"principal", "\"alice\"", "unknown key \"principal\""},
	    {"grant_id", NULL, "grant_id: missing"},
	    {"origin", NULL, "origin: missing"},
	};
	struct record base;
	uint8_t id[ID_BYTES];

	(void)state;
	id_new(id, NULL);
	fx_tomb(&base, REC_REVOKE, id, 5, FX_NOW);
	expect_bad_cases(&base, cases, sizeof(cases) / sizeof(cases[0]));
	record_free(&base);
}

static void test_record_version_forms(void **state)
{
	struct record base, r;
	cJSON *o;

	(void)state;
	fx_grant(&base, "alice", "sudo:run", 10, FX_NOW + 3600);
	o = record_to_json(&base);
	cJSON_ReplaceItemInObject(o, "version", cJSON_CreateNumber(123456789));
	assert_int_equal(record_from_json(o, &r, NULL), PSM_OK);
	assert_int_equal(r.u.grant.version, 123456789);
	record_free(&r);
	cJSON_ReplaceItemInObject(o, "version", cJSON_CreateString("18446744073709551615"));
	assert_int_equal(record_from_json(o, &r, NULL), PSM_OK);
	assert_int_equal(r.u.grant.version, UINT64_MAX);
	record_free(&r);
	cJSON_Delete(o);
	record_free(&base);
}

static void test_record_parse_errors(void **state)
{
	struct psm_err e = {0};
	struct record r;
	const char *dup = "{\"type\":\"revoke\",\"grant_id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaa\","
			  "\"origin\":\"a\",\"origin\":\"b\",\"version\":\"1\"}";

	(void)state;
	assert_int_equal(record_parse("{\"type\":", 8, &r, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "record: not valid JSON");
	assert_int_equal(record_parse("[1]", 3, &r, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "record: not a JSON object");
	assert_int_equal(record_parse(dup, strlen(dup), &r, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "origin: duplicate key");
	/* an all-zero id is no id */
	dup = "{\"type\":\"revoke\",\"grant_id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaa\","
	      "\"origin\":\"a\",\"version\":\"1\"}";
	assert_int_equal(record_parse(dup, strlen(dup), &r, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "grant_id: missing");
}

static void test_record_copy_is_deep(void **state)
{
	struct record r, c;
	char *a, *b;

	(void)state;
	fx_grant(&r, "alice", "sudo:run", 10, FX_NOW + 3600);
	r.u.grant.nhosts = 1;
	r.u.grant.hosts = calloc(1, sizeof(char *));
	r.u.grant.hosts[0] = fx_dup("db");
	assert_int_equal(record_copy(&c, &r, NULL), PSM_OK);
	a = record_print(&r);
	record_free(&r); /* the copy must not share anything */
	b = record_print(&c);
	assert_string_equal(a, b);
	free(a);
	free(b);
	record_free(&c);
	fx_session(&r, "bob", 1, FX_NOW + 5);
	assert_int_equal(record_copy(&c, &r, NULL), PSM_OK);
	assert_ptr_not_equal(c.u.session.metadata, r.u.session.metadata);
	assert_string_equal(c.u.session.metadata, r.u.session.metadata);
	record_free(&r);
	record_free(&c);
}

static void test_record_from_enc(void **state)
{
	unsigned char enc[COND_ENC_MAX];
	struct record r;
	size_t len = 99;

	(void)state;
	fx_grant(&r, "alice", "sudo:run", 10, FX_NOW + 3600);
	assert_int_equal(record_grant_from_enc(&r.u.grant, enc, sizeof(enc), &len, NULL), PSM_OK);
	assert_int_equal(len, 0); /* anywhere */
	r.u.grant.nfrom = 1;
	r.u.grant.from = calloc(1, sizeof(char *));
	r.u.grant.from[0] = fx_dup("10.0.0.0/8");
	assert_int_equal(record_grant_from_enc(&r.u.grant, enc, sizeof(enc), &len, NULL), PSM_OK);
	assert_int_equal(len, 2 + 5); /* type, len, prefix, 4 address bytes */
	record_free(&r);
}

static void test_record_tomb_for(void **state)
{
	struct record g, sess, t;

	(void)state;
	fx_grant(&g, "alice", "sudo:run", 10, FX_NOW + 3600);
	assert_int_equal(record_tomb_for(&t, &g, 11, "web-02", NULL), PSM_OK);
	assert_int_equal(t.type, REC_REVOKE);
	assert_memory_equal(t.u.tomb.id, g.u.grant.id, ID_BYTES);
	assert_int_equal(t.u.tomb.version, 11);
	assert_int_equal(t.u.tomb.keep_until, FX_NOW + 3600); /* the grant's not_after */
	assert_string_equal(t.u.tomb.origin, "web-02");
	assert_int_equal(record_validate(&t, NULL), PSM_OK);
	record_free(&t);
	fx_session(&sess, "alice", 10, REC_NOT_AFTER_NONE);
	assert_int_equal(record_tomb_for(&t, &sess, 12, "web-01", NULL), PSM_OK);
	assert_int_equal(t.type, REC_SESSION_END);
	assert_int_equal(t.u.tomb.keep_until, REC_NOT_AFTER_NONE); /* kept for ever */
	assert_int_equal(record_tomb_for(&g, &t, 13, "web-01", NULL), PSM_EINVAL);
	record_free(&t);
	record_free(&sess);
	record_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_grant_round_trip),
	    cmocka_unit_test(test_record_grant_permanent_nulls),
	    cmocka_unit_test(test_record_session_round_trip),
	    cmocka_unit_test(test_record_tombstones_round_trip),
	    cmocka_unit_test(test_record_protocol_objects),
	    cmocka_unit_test(test_record_grant_validation),
	    cmocka_unit_test(test_record_lengths),
	    cmocka_unit_test(test_record_reason_message),
	    cmocka_unit_test(test_record_session_validation),
	    cmocka_unit_test(test_record_tomb_validation),
	    cmocka_unit_test(test_record_version_forms),
	    cmocka_unit_test(test_record_parse_errors),
	    cmocka_unit_test(test_record_copy_is_deep),
	    cmocka_unit_test(test_record_from_enc),
	    cmocka_unit_test(test_record_tomb_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
