/* SPDX-License-Identifier: MIT */
/* test_policy.c - the policy file (SPEC §4): keys, types, errors with FILE:LINE:COL, merging,
 * compiling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cond.h"
#include "policy.h"

static const char spec_example[] =
    "{\n"
    "  \"roles\": {\n"
    "    \"ops\":   [\"login:*\", \"sudo:run\"],\n"
    "    \"dev\":   [\"login:ssh\"],\n"
    "    \"admin\": [\"*\"]\n"
    "  },\n"
    "  \"bindings\": [\n"
    "    { \"group\": \"root\", \"roles\": [\"admin\"] },\n"
    "    { \"user\": \"alice\",  \"roles\": [\"dev\"], \"from\": [\"10.0.0.0/8\", \"LOCAL\"] }\n"
    "  ],\n"
    "  \"deny\": [ { \"user\": \"guest\", \"perms\": [\"sudo:*\"] } ],\n"
    "  \"services\": { \"sshd\": \"login:ssh\", \"sudo\": \"sudo:run\", \"su\": \"sudo:su\", "
    "\"login\": \"login:console\" },\n"
    "  \"session_ttl\": \"12h\",\n"
    "  \"break_glass\": { \"users\": [\"root\"] }\n"
    "}\n";

static int load_text(const char *text, struct policy **p, struct psm_err *e)
{
	return policy_load_text("/etc/psm/policy.json", text, strlen(text), p, e);
}

static void expect_error(const char *text, const char *msg)
{
	struct policy *p = (struct policy *)1;
	struct psm_err e = {0};

	assert_int_equal(load_text(text, &p, &e), PSM_EINVAL);
	assert_ptr_equal(p, (struct policy *)1); /* untouched */
	if (strstr(e.msg, msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, msg);
}

/* Unknown users and groups are warnings at their FILE:LINE:COL, counted; known ones are not. */
static void test_policy_nss_warnings(void **state)
{
	static const char text[] =
	    "{\n"
	    "  \"roles\": { \"r\": [\"a:b\"] },\n"
	    "  \"bindings\": [ { \"group\": \"root\", \"roles\": [\"r\"] },\n"
	    "    { \"group\": \"psm-no-such-group\", \"roles\": [\"r\"] } ],\n"
	    "  \"deny\": [ { \"user\": \"psm-no-such-user\", \"perms\": [\"a:b\"] } ],\n"
	    "  \"break_glass\": { \"users\": [\"root\", \"psm-no-such-bg\"] }\n"
	    "}\n";
	struct policy *p;
	struct psm_err e;
	struct policy_counts c;
	char buf[128];

	(void)state;
	if (load_text(text, &p, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	policy_get_counts(p, &c);
	assert_int_equal(c.warnings, 0); /* none before the check */
	assert_int_equal(policy_check_nss(p, NULL, &e), PSM_OK);
	policy_get_counts(p, &c);
	assert_int_equal(c.warnings, 3);
	assert_string_equal(policy_warning(p, 0), "/etc/psm/policy.json:4:7: warning: group "
						  "\"psm-no-such-group\" is unknown to NSS");
	assert_string_equal(policy_warning(p, 1), "/etc/psm/policy.json:5:15: warning: user "
						  "\"psm-no-such-user\" is unknown to NSS");
	assert_string_equal(policy_warning(p, 2), "/etc/psm/policy.json:6:38: warning: user "
						  "\"psm-no-such-bg\" is unknown to NSS");
	policy_counts_text(&c, buf, sizeof(buf));
	assert_string_equal(buf, "1 role, 2 bindings, 1 deny rule, 3 warnings");
	assert_int_equal(policy_check_nss(p, NULL, &e), PSM_OK); /* again: replaced, not added */
	policy_get_counts(p, &c);
	assert_int_equal(c.warnings, 3);
	policy_free(p);
}

static void test_policy_counts_text(void **state)
{
	struct policy_counts c = {.roles = 1, .bindings = 1, .denies = 0, .warnings = 1};
	char buf[128];

	(void)state;
	policy_counts_text(&c, buf, sizeof(buf));
	assert_string_equal(buf, "1 role, 1 binding, 0 deny rules, 1 warning");
	c = (struct policy_counts){.roles = 0, .bindings = 2, .denies = 1, .warnings = 0};
	policy_counts_text(&c, buf, sizeof(buf));
	assert_string_equal(buf, "0 roles, 2 bindings, 1 deny rule, 0 warnings");
}

static void test_policy_spec_example(void **state)
{
	struct policy *p;
	struct psm_err e;
	struct policy_counts c;

	(void)state;
	if (load_text(spec_example, &p, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	policy_get_counts(p, &c);
	assert_int_equal(c.roles, 3);
	assert_int_equal(c.bindings, 2);
	assert_int_equal(c.denies, 1);
	assert_int_equal(c.services, 4);
	assert_int_equal(c.break_glass, 1);
	assert_int_equal(c.files, 1);
	assert_int_equal(policy_session_ttl(p), 12 * 3600);
	policy_free(p);
}

static void test_policy_empty_object(void **state)
{
	struct policy *p;
	struct policy_counts c;

	(void)state;
	assert_int_equal(load_text("{ // nothing yet\n}", &p, NULL), PSM_OK);
	policy_get_counts(p, &c);
	assert_int_equal(c.roles + c.bindings + c.denies + c.services + c.break_glass, 0);
	assert_int_equal(policy_session_ttl(p), 0);
	assert_int_equal(policy_session_ttl_max(p), 7 * 86400);
	policy_free(p);
}

static void test_policy_unknown_keys(void **state)
{
	(void)state;
	expect_error("{\"roles\": {},\n \"colour\": 1}",
		     "/etc/psm/policy.json:2:2: unknown key \"colour\" in policy");
	expect_error("{\"roles\": {\"ops\": [\"a\"]},\n \"bindings\": [\n"
		     "  {\"user\": \"alice\", \"roles\": [\"ops\"], \"colour\": \"red\"}]}",
		     "/etc/psm/policy.json:3:39: unknown key \"colour\" in binding");
	expect_error("{\"deny\": [{\"user\": \"a\", \"perms\": [\"x\"], \"roles\": []}]}",
		     "policy.json:1:41: unknown key \"roles\" in deny rule");
	expect_error("{\"break_glass\": {\"users\": [], \"groups\": []}}",
		     "policy.json:1:31: unknown key \"groups\" in break_glass");
}

static void test_policy_wrong_types(void **state)
{
	(void)state;
	expect_error("{\"roles\": []}", "policy.json:1:2: roles: expected an object");
	expect_error("{\"roles\": {\"ops\": \"login:*\"}}",
		     "policy.json:1:12: role \"ops\": expected an array of patterns");
	expect_error("{\"roles\": {\"ops\": [\"a\", 1]}}",
		     "policy.json:1:25: role \"ops\": expected an array of patterns");
	expect_error("{\"bindings\": {}}", "policy.json:1:2: bindings: expected an array");
	expect_error("{\"deny\": \"x\"}", "policy.json:1:2: deny: expected an array");
	expect_error("{\"bindings\": null}", "policy.json:1:2: bindings: expected an array");
	expect_error("{\"bindings\": [\"alice\"]}",
		     "policy.json:1:15: binding: expected an object");
	expect_error("{\"bindings\": [{\"user\": 5, \"perms\": [\"a\"]}]}",
		     "policy.json:1:16: user: expected a string");
	expect_error("{\"bindings\": [{\"user\": \"a\", \"perms\": \"a\"}]}",
		     "policy.json:1:29: perms: expected an array of strings");
	expect_error("{\"bindings\": [{\"user\": \"a\", \"perms\": [\"a\"], \"from\": \"LOCAL\"}]}",
		     "from: expected an array of strings");
	expect_error("{\"bindings\": [{\"user\": \"a\", \"perms\": [\"a\"], \"reason\": 1}]}",
		     "reason: expected a string");
	expect_error("{\"services\": [\"sshd\"]}", "policy.json:1:2: services: expected an object");
	expect_error("{\"services\": {\"sshd\": 1}}",
		     "policy.json:1:15: service \"sshd\": expected a permission string");
	expect_error("{\"session_ttl\": 3600}", "policy.json:1:2: session_ttl: expected a string");
	expect_error("{\"break_glass\": [\"root\"]}", "break_glass: expected an object");
	expect_error("{\"break_glass\": {\"users\": \"root\"}}",
		     "users: expected an array of strings");
	expect_error("{\"break_glass\": {}}", "policy.json:1:2: missing \"users\"");
}

static void test_policy_principal_rules(void **state)
{
	(void)state;
	expect_error("{\"bindings\": [{\"perms\": [\"a\"]}]}",
		     "policy.json:1:15: binding needs exactly one of \"user\" or \"group\"");
	expect_error("{\"bindings\": [\n {\"user\": \"a\", \"group\": \"b\", \"perms\": [\"a\"]}]}",
		     "policy.json:2:2: binding needs exactly one of \"user\" or \"group\"");
	expect_error("{\"deny\": [{\"perms\": [\"a\"]}]}",
		     "deny rule needs exactly one of \"user\" or \"group\"");
	expect_error("{\"bindings\": [{\"user\": \"al ice\", \"perms\": [\"a\"]}]}",
		     "policy.json:1:16: user \"al ice\": bad character at 3");
	expect_error("{\"bindings\": [{\"user\": \"-x\", \"perms\": [\"a\"]}]}",
		     "user \"-x\": must not start with '-'");
	expect_error("{\"bindings\": [{\"user\": \"a:b\", \"perms\": [\"a\"]}]}",
		     "bad character at 2");
	expect_error("{\"bindings\": [{\"user\": \"a/b\", \"perms\": [\"a\"]}]}",
		     "bad character at 2");
	expect_error("{\"bindings\": [{\"user\": \"\", \"perms\": [\"a\"]}]}",
		     "user name must be 1-255 bytes");
	expect_error(
	    "{\"bindings\": [{\"group\": \"%wheel\", \"perms\": [\"a\"]}]}",
	    "group \"%wheel\": must not start with '%' (write the group name without '%')");
	expect_error("{\"break_glass\": {\"users\": [\"ok\", \"b\\tad\"]}}",
		     "policy.json:1:34: break_glass.users[1]: control character U+0009 at byte 2");
}

static void test_policy_user_name_255(void **state)
{
	char text[600], name[257];
	struct policy *p;
	struct psm_err e;

	(void)state;
	memset(name, 'u', 255);
	name[255] = '\0';
	snprintf(text, sizeof(text), "{\"bindings\": [{\"user\": \"%s\", \"perms\": [\"a\"]}]}",
		 name);
	assert_int_equal(load_text(text, &p, &e), PSM_OK);
	policy_free(p);
	memset(name, 'u', 256);
	name[256] = '\0';
	snprintf(text, sizeof(text), "{\"bindings\": [{\"user\": \"%s\", \"perms\": [\"a\"]}]}",
		 name);
	expect_error(text, "user name must be 1-255 bytes");
}

static void test_policy_undefined_role(void **state)
{
	(void)state;
	expect_error("{\"roles\": {\"ops\": [\"a\"]},\n \"bindings\": [{\"user\": \"a\",\n"
		     "   \"roles\": [\"ops\", \"opz\"]}]}",
		     "/etc/psm/policy.json:3:21: role \"opz\" is not defined");
}

static void test_policy_roles_or_perms(void **state)
{
	(void)state;
	expect_error("{\"bindings\": [{\"user\": \"a\"}]}",
		     "policy.json:1:15: binding needs \"roles\" or \"perms\"");
	expect_error("{\"deny\": [{\"user\": \"a\"}]}", "policy.json:1:11: missing \"perms\"");
}

static void test_policy_bad_patterns(void **state)
{
	(void)state;
	expect_error("{\"roles\": {\"ops\": [\"login:*\",\n \"su*\"]}}",
		     "policy.json:2:2: pattern \"su*\": '*' must be a whole segment at 3");
	expect_error("{\"bindings\": [{\"user\": \"a\", \"perms\": [\"sudo:r!n\"]}]}",
		     "policy.json:1:39: pattern \"sudo:r!n\": bad character '!' at 7");
	expect_error("{\"deny\": [{\"user\": \"a\", \"perms\": [\"a::b\"]}]}",
		     "policy.json:1:35: pattern \"a::b\": empty segment at 3");
	expect_error("{\"roles\": {\"o ps\": []}}",
		     "policy.json:1:12: role name \"o ps\": use 1-64 letters");
}

static void test_policy_bad_from(void **state)
{
	(void)state;
	expect_error(
	    "{\"bindings\": [{\"user\": \"a\", \"perms\": [\"a\"],\n \"from\": [\"LOCAL\", "
	    "\"10.0.0.1/8\"]}]}",
	    "policy.json:2:20: from: \"10.0.0.1/8\": host bits set (did you mean 10.0.0.0/8?)");
	expect_error(
	    "{\"bindings\": [{\"user\": \"a\", \"perms\": [\"a\"], \"from\": [\"corp\"]}]}",
	    "from: \"corp\": not a CIDR");
	expect_error("{\"bindings\": [{\"user\": \"a\", \"perms\": [\"a\"], \"from\": []}]}",
		     "from: empty list");
}

static void test_policy_bad_hosts(void **state)
{
	(void)state;
	expect_error(
	    "{\"bindings\": [{\"user\": \"a\", \"perms\": [\"a\"], \"hosts\": [\"web 1\"]}]}",
	    "policy.json:1:55: hosts: \"web 1\" is not a host name, a label or \"*\"");
	expect_error("{\"bindings\": [{\"user\": \"a\", \"perms\": [\"a\"], \"hosts\": []}]}",
		     "hosts: empty list");
}

static void test_policy_bad_ttl(void **state)
{
	(void)state;
	expect_error("{\n  \"session_ttl\": \"0\"}",
		     "/etc/psm/policy.json:2:3: session_ttl: ttl \"0\": must be positive");
	expect_error("{\"session_ttl\": \"5x\"}", "session_ttl: ttl \"5x\": unknown unit 'x'");
}

static void test_policy_ttl_max(void **state)
{
	struct policy *p;

	(void)state;
	expect_error("{\n  \"session_ttl\": \"8d\"}",
		     "/etc/psm/policy.json:2:3: session_ttl 1w1d is longer than session_ttl_max 1w "
		     "(the default)");
	expect_error("{\"session_ttl\": \"2h\", \"session_ttl_max\": \"1h\"}",
		     "session_ttl 2h is longer than session_ttl_max 1h");
	expect_error("{\"session_ttl_max\": \"0\"}",
		     "session_ttl_max: ttl \"0\": must be positive");
	assert_int_equal(
	    load_text("{\"session_ttl\": \"30d\", \"session_ttl_max\": \"90d\"}", &p, NULL),
	    PSM_OK);
	assert_int_equal(policy_session_ttl(p), 30 * 86400);
	assert_int_equal(policy_session_ttl_max(p), 90 * 86400);
	policy_free(p);
}

static void test_policy_bad_service(void **state)
{
	(void)state;
	expect_error(
	    "{\"services\": {\"sshd\": \"login:*\"}}",
	    "policy.json:1:15: service \"sshd\": permission \"login:*\": bad character '*' at 7");
	expect_error("{\"services\": {\"a/b\": \"x\"}}", "service \"a/b\": bad character at 2");
}

static void test_policy_duplicate_key(void **state)
{
	(void)state;
	expect_error("{\"roles\": {\"ops\": [\"a\"],\n  \"ops\": [\"b\"]}}",
		     "/etc/psm/policy.json:2:3: duplicate key \"ops\"");
	expect_error("{\"bindings\": [{\"user\": \"a\", \"user\": \"b\", \"perms\": [\"a\"]}]}",
		     "policy.json:1:29: duplicate key \"user\"");
}

static void test_policy_syntax_error(void **state)
{
	(void)state;
	expect_error("{\"roles\": {\"ops\": [\"a\",]}}", "/etc/psm/policy.json:1:24: syntax error");
	expect_error("{\"roles\": {} /* open", "policy.json:1:14: unterminated comment");
}

static void test_policy_comments_and_reason(void **state)
{
	struct policy *p;
	struct psm_err e;
	char text[1200], big[600];

	(void)state;
	assert_int_equal(load_text("{ /* c */ \"bindings\": [ // x\n {\"user\": \"a\", \"perms\": "
				   "[\"a\"], \"reason\": \"INC-42 // not a comment\"}]}",
				   &p, &e),
			 PSM_OK);
	policy_free(p);
	memset(big, 'r', 513);
	big[513] = '\0';
	snprintf(text, sizeof(text),
		 "{\"bindings\": [{\"user\": \"a\", \"perms\": [\"a\"], "
		 "\"reason\": \"%s\"}]}",
		 big);
	expect_error(text, "reason: longer than 512 bytes");
}

/* Every prefix and every one-byte deletion of a valid file: an answer, never a crash. */
static void test_policy_mutations(void **state)
{
	char buf[sizeof(spec_example)];
	size_t len = sizeof(spec_example) - 1, i;
	struct policy *p;
	struct psm_err e;
	int rc;

	(void)state;
	for (i = 0; i < 2 * len; i++) {
		size_t n = i < len ? i : len - 1;

		if (i < len) {
			memcpy(buf, spec_example, i);
		} else {
			memcpy(buf, spec_example, i - len);
			memcpy(buf + (i - len), spec_example + (i - len) + 1, len - (i - len) - 1);
		}
		rc = policy_load_text("/etc/psm/policy.json", buf, n, &p, &e);
		if (rc == PSM_OK) {
			policy_free(p);
			continue;
		}
		assert_int_equal(rc, PSM_EINVAL);
		if (strncmp(e.msg, "/etc/psm/policy.json:", 21) != 0 || strstr(e.msg, "internal"))
			fail_msg("mutation %zu: %s", i, e.msg);
	}
}

/* ---- files and policy.d ----------------------------------------------------------- */

struct tdir {
	char root[64];
	char pd[96];
};

static void put(const struct tdir *t, const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int tdir_setup(void **state)
{
	struct tdir *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	snprintf(t->root, sizeof(t->root), "/tmp/psm-test-policy-XXXXXX");
	if (mkdtemp(t->root) == NULL)
		return -1;
	snprintf(t->pd, sizeof(t->pd), "%s/policy.json", t->root);
	*state = t;
	return 0;
}

static int tdir_teardown(void **state)
{
	struct tdir *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

static void mkd(const struct tdir *t)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/policy.d", t->root);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void test_policy_load_missing_dir_ok(void **state)
{
	struct tdir *t = *state;
	struct policy *p;
	struct psm_err e;
	struct policy_counts c;

	put(t, "policy.json", spec_example);
	if (policy_load(t->pd, &p, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	policy_get_counts(p, &c);
	assert_int_equal(c.files, 1);
	assert_int_equal(c.roles, 3);
	policy_free(p);
}

static void test_policy_load_missing_file(void **state)
{
	struct tdir *t = *state;
	struct policy *p = NULL;
	struct psm_err e;

	assert_int_equal(policy_load(t->pd, &p, &e), PSM_ENOENT);
	assert_null(p);
	assert_non_null(strstr(e.msg, "policy.json"));
}

static void test_policy_load_merge_order(void **state)
{
	struct tdir *t = *state;
	struct policy *p;
	struct psm_err e;
	struct policy_counts c;

	put(t, "policy.json", "{\"roles\": {\"a\": [\"x\"]}}");
	mkd(t);
	/* 20-b.json defines a role that 10-a.json (loaded earlier) already uses */
	put(t, "policy.d/20-b.json",
	    "{\"roles\": {\"b\": [\"y\"]}, \"services\": {\"s2\": \"p\"}}");
	put(t, "policy.d/10-a.json",
	    "{\"bindings\": [{\"user\": \"u\", \"roles\": [\"a\", \"b\"]}],"
	    " \"services\": {\"s1\": \"p\"}, \"session_ttl\": \"1h\"}");
	put(t, "policy.d/.hidden.json", "not json at all");
	put(t, "policy.d/notes.txt", "not json either");
	put(t, "policy.d/x.json.bak", "{");
	if (policy_load(t->pd, &p, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	policy_get_counts(p, &c);
	assert_int_equal(c.files, 3);
	assert_int_equal(c.roles, 2);
	assert_int_equal(c.services, 2);
	assert_int_equal(c.bindings, 1);
	assert_int_equal(policy_session_ttl(p), 3600);
	policy_free(p);
}

static void test_policy_load_error_names_dropin(void **state)
{
	struct tdir *t = *state;
	struct policy *p = NULL;
	struct psm_err e;

	put(t, "policy.json", "{}");
	mkd(t);
	put(t, "policy.d/50-x.json",
	    "{\n  \"bindings\": [{\"user\": \"u\", \"roles\": [\"nope\"]}]}");
	assert_int_equal(policy_load(t->pd, &p, &e), PSM_EINVAL);
	assert_null(p);
	assert_non_null(strstr(e.msg, "/policy.d/50-x.json:2:40: role \"nope\" is not defined"));
}

static void test_policy_duplicate_role_across_files(void **state)
{
	struct tdir *t = *state;
	struct policy *p;
	struct psm_err e;
	char want[256];

	put(t, "policy.json", "{\"roles\": {\"ops\": [\"a\"]}}");
	mkd(t);
	put(t, "policy.d/a.json", "{\"roles\": {\"dev\": [\"b\"],\n \"ops\": [\"c\"]}}");
	assert_int_equal(policy_load(t->pd, &p, &e), PSM_EINVAL);
	snprintf(want, sizeof(want), "policy.d/a.json:2:2: role \"ops\" already defined in %s",
		 t->pd);
	if (strstr(e.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, want);
}

static void test_policy_duplicate_service_across_files(void **state)
{
	struct tdir *t = *state;
	struct policy *p;
	struct psm_err e;

	put(t, "policy.json", "{\"services\": {\"sshd\": \"login:ssh\"}}");
	mkd(t);
	put(t, "policy.d/a.json", "{\"services\": {\"sshd\": \"login:other\"}}");
	assert_int_equal(policy_load(t->pd, &p, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "policy.d/a.json:1:15: service \"sshd\" already defined in"));
}

static void test_policy_ttl_and_break_glass_once(void **state)
{
	struct tdir *t = *state;
	struct policy *p;
	struct psm_err e;

	put(t, "policy.json",
	    "{\"session_ttl\": \"1h\", \"break_glass\": {\"users\": [\"root\"]}}");
	mkd(t);
	put(t, "policy.d/a.json", "{\"session_ttl\": \"2h\"}");
	assert_int_equal(policy_load(t->pd, &p, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "policy.d/a.json:1:2: session_ttl already set in"));
	put(t, "policy.d/a.json", "{\"break_glass\": {\"users\": [\"admin\"]}}");
	assert_int_equal(policy_load(t->pd, &p, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "policy.d/a.json:1:2: break_glass already set in"));
}

static void test_policy_dropin_dir_is_file(void **state)
{
	struct tdir *t = *state;
	struct policy *p;
	struct psm_err e;

	put(t, "policy.json", "{}");
	put(t, "policy.d", "I am not a directory");
	assert_int_equal(policy_load(t->pd, &p, &e), PSM_ESYS);
	assert_non_null(strstr(e.msg, "policy.d: Not a directory"));
}

static void test_policy_dropin_syntax_error(void **state)
{
	struct tdir *t = *state;
	struct policy *p;
	struct psm_err e;

	put(t, "policy.json", "{}");
	mkd(t);
	put(t, "policy.d/z.json", "{\n\"roles\": {\n\"x\": [\"a\"] oops}}");
	assert_int_equal(policy_load(t->pd, &p, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "policy.d/z.json:3:12: syntax error near 'oops}}'"));
}

/* ---- compile into a real table ------------------------------------------------------ */

struct rec {
	uint8_t kind, flags;
	uint32_t rule, uid;
	int64_t nb, na;
	char f[SHM_NFIELDS][SHM_FIELD_MAX + 1];
	size_t flen[SHM_NFIELDS];
};

struct ctab {
	struct shm_writer *w;
	char name[64];
	char warnings[4096];
	unsigned nwarn;
};

static void warn_cb(void *ctx, const char *msg)
{
	struct ctab *c = ctx;
	size_t n = strlen(c->warnings);

	snprintf(c->warnings + n, sizeof(c->warnings) - n, "%s\n", msg);
	c->nwarn++;
}

/* Compiles text into a fresh table for host "web-01" with labels web, prod. */
static int compile_text(struct ctab *c, const char *text, struct psm_err *e)
{
	static unsigned n;
	static const char *const labels[] = {"web", "prod", NULL};
	struct shm_writer_opts wo = {.capacity = 256, .group = 0, .host_name = "web-01"};
	struct policy_compile_opts co = {
	    .host_name = "web-01", .labels = labels, .now = 1700000000, .warn = warn_cb};
	struct policy *p;
	int rc;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "/psm-test-%d-%u", (int)getpid(), n++);
	wo.name = c->name;
	co.warn_ctx = c;
	rc = load_text(text, &p, e);
	if (rc != PSM_OK)
		return rc;
	rc = shm_writer_create(&c->w, &wo, e);
	if (rc == PSM_OK) {
		shm_writer_begin(c->w);
		rc = policy_compile(p, c->w, &co, e);
		shm_writer_commit(c->w);
	}
	policy_free(p);
	return rc;
}

static void ctab_done(struct ctab *c)
{
	if (c->w != NULL)
		shm_writer_discard(c->w);
	c->w = NULL;
}

/* Copies out every record of (kind, key); returns how many (at most max). */
static size_t get_recs(const struct ctab *c, uint8_t kind, const char *key, struct rec *out,
		       size_t max)
{
	const struct shm_view *v = shm_writer_view(c->w);
	struct shm_iter it;
	struct shm_entry e;
	struct shm_recbuf buf;
	size_t n = 0;
	int rc, i;

	shm_iter_init(v, &it, kind, key, strlen(key));
	while ((rc = shm_iter_next(v, &it, &e, &buf)) == 1) {
		if (n >= max)
			fail_msg("more than %zu records for %s", max, key);
		memset(&out[n], 0, sizeof(out[n]));
		out[n].kind = e.kind;
		out[n].flags = e.flags;
		out[n].rule = e.rule;
		out[n].uid = e.uid;
		out[n].nb = e.not_before;
		out[n].na = e.not_after;
		for (i = 0; i < SHM_NFIELDS; i++) {
			memcpy(out[n].f[i], e.f[i] ? e.f[i] : "", e.flen[i]);
			out[n].flen[i] = e.flen[i];
		}
		n++;
	}
	assert_int_equal(rc, 0);
	return n;
}

/* The record of a list with the given pattern. */
static const struct rec *find_pat(const struct rec *r, size_t n, const char *pat)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(r[i].f[SHM_F_PATTERN], pat) == 0)
			return &r[i];
	fail_msg("no record with pattern %s", pat);
	return NULL;
}

static void test_compile_user_grants(void **state)
{
	struct ctab c;
	struct psm_err e;
	struct rec r[8];
	const struct rec *x;
	size_t n;

	(void)state;
	if (compile_text(&c, spec_example, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	n = get_recs(&c, SHM_GRANT, "root", r, 8); /* none: root is bound only as a group */
	assert_int_equal(n, 0);
	ctab_done(&c);
	if (compile_text(
		&c,
		"{\"roles\": {\"ops\": [\"login:*\", \"sudo:run\"]},\n"
		"\"bindings\": [{\"user\": \"root\", \"roles\": [\"ops\"], \"reason\": \"r1\"}]}",
		&e) != PSM_OK)
		fail_msg("%s", e.msg);
	n = get_recs(&c, SHM_GRANT, "root", r, 8);
	assert_int_equal(n, 2);
	x = find_pat(r, n, "sudo:run");
	assert_int_equal(x->flags, SHM_FL_SRC_POLICY | SHM_FL_UID_CHECKED);
	assert_int_equal(x->uid, 0);
	assert_int_equal(x->rule, 1);
	assert_true(x->nb == SHM_TIME_NONE_BEFORE && x->na == SHM_TIME_NONE_AFTER);
	assert_string_equal(x->f[SHM_F_PRINCIPAL], "root");
	assert_string_equal(x->f[SHM_F_SOURCE], "policy.json binding 1 role ops");
	assert_string_equal(x->f[SHM_F_ISSUER], "policy");
	assert_string_equal(x->f[SHM_F_REASON], "r1");
	assert_int_equal(x->flen[SHM_F_FROM], 0);
	assert_int_equal(x->flen[SHM_F_HOSTS], 0);
	find_pat(r, n, "login:*");
	assert_int_equal(c.nwarn, 0);
	ctab_done(&c);
}

static void test_compile_group_grant(void **state)
{
	struct ctab c;
	struct psm_err e;
	struct rec r[8];
	size_t n;

	(void)state;
	if (compile_text(&c, spec_example, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	n = get_recs(&c, SHM_GRANT, "%0", r, 8);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].flags, SHM_FL_SRC_POLICY | SHM_FL_GROUP);
	assert_string_equal(r[0].f[SHM_F_PRINCIPAL], "%root");
	assert_string_equal(r[0].f[SHM_F_PATTERN], "*");
	assert_string_equal(r[0].f[SHM_F_SOURCE], "policy.json binding 1 role admin");
	assert_int_equal(r[0].rule, 1);
	ctab_done(&c);
}

static void test_compile_unknown_user_and_group(void **state)
{
	struct ctab c;
	struct psm_err e;
	struct rec r[8];
	size_t n;

	(void)state;
	if (compile_text(&c,
			 "{\"bindings\": [{\"group\": \"no-such-group-psm\", \"perms\": [\"a\"]},"
			 "{\"user\": \"no-such-user-psm\", \"perms\": [\"b\"]}]}",
			 &e) != PSM_OK)
		fail_msg("%s", e.msg);
	assert_int_equal(c.nwarn, 2);
	assert_non_null(strstr(c.warnings, "policy.json binding 1: group \"no-such-group-psm\" "
					   "unknown to NSS"));
	assert_non_null(strstr(c.warnings, "policy.json binding 2: user \"no-such-user-psm\" "
					   "unknown to NSS"));
	n = get_recs(&c, SHM_GRANT, "no-such-user-psm", r, 8);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].flags, SHM_FL_SRC_POLICY); /* no uid check */
	assert_int_equal(r[0].rule, 2);
	assert_string_equal(r[0].f[SHM_F_SOURCE], "policy.json binding 2 perms");
	ctab_done(&c);
}

static void test_compile_from_encoding(void **state)
{
	struct ctab c;
	struct psm_err e;
	struct rec r[8];
	struct cond_req q;
	size_t n;

	(void)state;
	if (compile_text(&c, spec_example, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	n = get_recs(&c, SHM_GRANT, "alice", r, 8);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].f[SHM_F_PATTERN], "login:ssh");
	assert_int_equal(r[0].rule, 2);
	assert_int_equal(r[0].flen[SHM_F_FROM], 7 + 2);
	cond_req_init(&q, "10.1.2.3", "web-01");
	assert_true(cond_match((unsigned char *)r[0].f[SHM_F_FROM], r[0].flen[SHM_F_FROM], &q));
	cond_req_init(&q, "192.0.2.1", "web-01");
	assert_false(cond_match((unsigned char *)r[0].f[SHM_F_FROM], r[0].flen[SHM_F_FROM], &q));
	cond_req_init(&q, NULL, "web-01");
	assert_true(cond_match((unsigned char *)r[0].f[SHM_F_FROM], r[0].flen[SHM_F_FROM], &q));
	ctab_done(&c);
}

static void test_compile_deny(void **state)
{
	struct ctab c;
	struct psm_err e;
	struct rec r[8];
	size_t n;

	(void)state;
	if (compile_text(
		&c,
		"{\"deny\": [{\"user\": \"root\", \"perms\": [\"x\"]},\n"
		"{\"group\": \"root\", \"perms\": [\"sudo:*\", \"login:*\"], \"reason\": \"no\"}]}",
		&e) != PSM_OK)
		fail_msg("%s", e.msg);
	n = get_recs(&c, SHM_DENY, "root", r, 8);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].rule, 1);
	assert_int_equal(r[0].flags & SHM_FL_GROUP, 0);
	assert_string_equal(r[0].f[SHM_F_SOURCE], "policy.json deny 1");
	n = get_recs(&c, SHM_DENY, "%0", r, 8);
	assert_int_equal(n, 2);
	assert_int_equal(find_pat(r, n, "sudo:*")->rule, 2);
	assert_int_equal(find_pat(r, n, "login:*")->flags, SHM_FL_SRC_POLICY | SHM_FL_GROUP);
	assert_string_equal(find_pat(r, n, "login:*")->f[SHM_F_REASON], "no");
	assert_string_equal(find_pat(r, n, "login:*")->f[SHM_F_SOURCE], "policy.json deny 2");
	assert_int_equal(get_recs(&c, SHM_GRANT, "root", r, 8), 0);
	ctab_done(&c);
}

static void test_compile_dedupe_patterns(void **state)
{
	struct ctab c;
	struct psm_err e;
	struct rec r[8];
	size_t n;

	(void)state;
	if (compile_text(&c,
			 "{\"roles\": {\"a\": [\"x\", \"y\"], \"b\": [\"y\", \"z\"]},\n"
			 "\"bindings\": [{\"user\": \"root\", \"roles\": [\"a\", \"b\"], "
			 "\"perms\": [\"x\", \"w\"]}]}",
			 &e) != PSM_OK)
		fail_msg("%s", e.msg);
	n = get_recs(&c, SHM_GRANT, "root", r, 8);
	assert_int_equal(n, 4); /* x y z w, each once */
	assert_string_equal(find_pat(r, n, "y")->f[SHM_F_SOURCE], "policy.json binding 1 role a");
	assert_string_equal(find_pat(r, n, "z")->f[SHM_F_SOURCE], "policy.json binding 1 role b");
	assert_string_equal(find_pat(r, n, "w")->f[SHM_F_SOURCE], "policy.json binding 1 perms");
	ctab_done(&c);
}

static void test_compile_hosts_scope(void **state)
{
	struct ctab c;
	struct psm_err e;
	struct rec r[8];
	size_t n;

	(void)state;
	if (compile_text(
		&c,
		"{\"bindings\": [\n"
		"{\"user\": \"root\", \"perms\": [\"h1\"], \"hosts\": [\"WEB-01\"]},\n"
		"{\"user\": \"root\", \"perms\": [\"h2\"], \"hosts\": [\"db-01\", \"prod\"]},\n"
		"{\"user\": \"root\", \"perms\": [\"h3\"], \"hosts\": [\"*\"]},\n"
		"{\"user\": \"root\", \"perms\": [\"h4\"], \"hosts\": [\"db-01\", \"db\"]},\n"
		"{\"user\": \"root\", \"perms\": [\"h5\"]}],\n"
		"\"deny\": [{\"user\": \"root\", \"perms\": [\"d\"], \"hosts\": [\"db\"]}]}",
		&e) != PSM_OK)
		fail_msg("%s", e.msg);
	n = get_recs(&c, SHM_GRANT, "root", r, 8);
	assert_int_equal(n, 4);
	assert_string_equal(find_pat(r, n, "h1")->f[SHM_F_HOSTS], "WEB-01");
	assert_string_equal(find_pat(r, n, "h2")->f[SHM_F_HOSTS], "db-01,prod");
	assert_int_equal(find_pat(r, n, "h2")->rule, 2);
	assert_int_equal(find_pat(r, n, "h3")->rule, 3);
	assert_int_equal(find_pat(r, n, "h5")->rule, 5); /* numbering counts skipped bindings */
	assert_int_equal(get_recs(&c, SHM_DENY, "root", r, 8), 0);
	ctab_done(&c);
}

static void test_compile_services_and_break_glass(void **state)
{
	struct ctab c;
	struct psm_err e;
	struct rec r[4];

	(void)state;
	if (compile_text(&c, spec_example, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	assert_int_equal(get_recs(&c, SHM_SERVICE, "sshd", r, 4), 1);
	assert_string_equal(r[0].f[SHM_F_PATTERN], "login:ssh");
	assert_int_equal(r[0].flags, SHM_FL_SRC_POLICY);
	assert_int_equal(get_recs(&c, SHM_SERVICE, "login", r, 4), 1);
	assert_string_equal(r[0].f[SHM_F_PATTERN], "login:console");
	assert_int_equal(get_recs(&c, SHM_SERVICE, "ftp", r, 4), 0);
	assert_int_equal(get_recs(&c, SHM_BREAKGLASS, "root", r, 4), 1);
	assert_int_equal(r[0].flags, SHM_FL_SRC_POLICY);
	assert_int_equal(get_recs(&c, SHM_BREAKGLASS, "alice", r, 4), 0);
	ctab_done(&c);
}

static void test_compile_counts_in_header(void **state)
{
	struct ctab c;
	struct psm_err e;
	struct shm_info info;

	(void)state;
	if (compile_text(&c, spec_example, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	assert_int_equal(shm_info_get(shm_writer_view(c.w), &info, &e), PSM_OK);
	assert_int_equal(info.policy_roles, 3);
	assert_int_equal(info.policy_bindings, 2);
	assert_int_equal(info.policy_denies, 1);
	/* guest (deny, unknown to NSS) and alice (unknown) warn; root group binding does not */
	assert_null(strstr(c.warnings, "group"));
	ctab_done(&c);
}

static void test_compile_table_full(void **state)
{
	struct ctab c;
	struct psm_err e;
	char text[20000];
	size_t o, i;
	int rc;

	(void)state;
	o = (size_t)snprintf(text, sizeof(text),
			     "{\"bindings\": [{\"user\": \"root\", \"perms\": [");
	for (i = 0; i < 600; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\"p%zu\"", i ? "," : "", i);
	snprintf(text + o, sizeof(text) - o, "]}]}");
	rc = compile_text(&c, text, &e);
	assert_int_equal(rc, PSM_EFULL);
	assert_non_null(strstr(e.msg, "policy.json binding 1 perms: "));
	ctab_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_policy_spec_example),
	    cmocka_unit_test(test_policy_empty_object),
	    cmocka_unit_test(test_policy_unknown_keys),
	    cmocka_unit_test(test_policy_wrong_types),
	    cmocka_unit_test(test_policy_principal_rules),
	    cmocka_unit_test(test_policy_user_name_255),
	    cmocka_unit_test(test_policy_undefined_role),
	    cmocka_unit_test(test_policy_roles_or_perms),
	    cmocka_unit_test(test_policy_bad_patterns),
	    cmocka_unit_test(test_policy_bad_from),
	    cmocka_unit_test(test_policy_bad_hosts),
	    cmocka_unit_test(test_policy_bad_ttl),
	    cmocka_unit_test(test_policy_ttl_max),
	    cmocka_unit_test(test_policy_bad_service),
	    cmocka_unit_test(test_policy_duplicate_key),
	    cmocka_unit_test(test_policy_syntax_error),
	    cmocka_unit_test(test_policy_comments_and_reason),
	    cmocka_unit_test(test_policy_mutations),
	    cmocka_unit_test_setup_teardown(test_policy_load_missing_dir_ok, tdir_setup,
					    tdir_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_load_missing_file, tdir_setup,
					    tdir_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_load_merge_order, tdir_setup,
					    tdir_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_load_error_names_dropin, tdir_setup,
					    tdir_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_duplicate_role_across_files, tdir_setup,
					    tdir_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_duplicate_service_across_files, tdir_setup,
					    tdir_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_ttl_and_break_glass_once, tdir_setup,
					    tdir_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_dropin_dir_is_file, tdir_setup,
					    tdir_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_dropin_syntax_error, tdir_setup,
					    tdir_teardown),
	    cmocka_unit_test(test_compile_user_grants),
	    cmocka_unit_test(test_compile_group_grant),
	    cmocka_unit_test(test_compile_unknown_user_and_group),
	    cmocka_unit_test(test_compile_from_encoding),
	    cmocka_unit_test(test_compile_deny),
	    cmocka_unit_test(test_compile_dedupe_patterns),
	    cmocka_unit_test(test_compile_hosts_scope),
	    cmocka_unit_test(test_compile_services_and_break_glass),
	    cmocka_unit_test(test_compile_counts_in_header),
	    cmocka_unit_test(test_compile_table_full),
	    cmocka_unit_test(test_policy_nss_warnings),
	    cmocka_unit_test(test_policy_counts_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
