/* SPDX-License-Identifier: MIT */
/* test_eval.c - the access decision: grants, denies, groups, validity, from, uid, sessions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "eval_fixture.h"
#include "json_out.h"
#include "perm.h"
#include "policy.h"

static int64_t now;

/* Decides for user (uid, gid) and perm; asserts PSM_OK. */
static void ck(struct fx *f, const char *user, uid_t uid, const char *perm, const char *rhost,
	       uint32_t audit, struct eval_out *out)
{
	struct eval_req r = {.user = user,
			     .uid = uid,
			     .gid = uid,
			     .perm = perm,
			     .rhost = rhost,
			     .audit = audit,
			     .now = now,
			     .table = f->name};
	struct psm_err e = {0};

	assert_int_equal(eval_check(&f->v, &r, out, &e), PSM_OK);
}

/* One-record table: is perm allowed for alice (uid 1000)? */
static int one(const struct fx_rec *rec, const char *perm, const char *rhost, int *reason)
{
	struct fx f;
	struct eval_out out;

	fx_table_n(&f, rec, 1);
	ck(&f, "alice", 1000, perm, rhost, SHM_U32_NONE, &out);
	fx_end(&f);
	if (reason)
		*reason = out.reason;
	return out.decision;
}

#define GRANT(pat)                                                                                 \
	{                                                                                          \
		.kind = SHM_GRANT, .key = "alice", .pattern = (pat)                                \
	}

/* A case for one(): the decision for perm from rhost, and its reason unless why is 0. */
struct one_case {
	const char *perm;
	const char *rhost;
	int want;
	int why;
};

/* Decides every case against the one-record table rec. */
static void one_cases(const struct fx_rec *rec, const struct one_case *c, size_t n)
{
	const char *rhost;
	size_t i;
	int got, reason;

	for (i = 0; i < n; i++) {
		got = one(rec, c[i].perm, c[i].rhost, &reason);
		rhost = c[i].rhost ? c[i].rhost : "(none)";
		if (got != c[i].want || (c[i].why != 0 && reason != c[i].why))
			fail_msg("%s from %s: decision %d reason %d, want %d reason %d", c[i].perm,
				 rhost, got, reason, c[i].want, c[i].why);
	}
}

#define ONE_CASES(rec, ...)                                                                        \
	do {                                                                                       \
		static const struct one_case cases_[] = {__VA_ARGS__};                             \
		one_cases((rec), cases_, sizeof(cases_) / sizeof(cases_[0]));                      \
	} while (0)

static void test_user_grant_allows(void **state)
{
	struct fx_rec r = GRANT("sudo:run");
	int reason;

	(void)state;
	assert_int_equal(one(&r, "sudo:run", NULL, &reason), EVAL_ALLOW);
	assert_int_equal(reason, EVAL_R_GRANT);
}

static void test_empty_table_denies(void **state)
{
	struct fx f;
	struct eval_out out;

	(void)state;
	fx_begin(&f);
	fx_publish(&f);
	ck(&f, "alice", 1000, "sudo:run", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_DENY);
	assert_int_equal(out.reason, EVAL_R_NO_GRANT);
	assert_false(out.have_entry);
	fx_end(&f);
}

static void test_other_user_grant_denies(void **state)
{
	struct fx_rec r = {.kind = SHM_GRANT, .key = "bob", .pattern = "*"};

	(void)state;
	assert_int_equal(one(&r, "sudo:run", NULL, NULL), EVAL_DENY);
}

static void test_pattern_star_last_matches_rest(void **state)
{
	struct fx_rec r = GRANT("sudo:*");

	(void)state;
	ONE_CASES(&r, {"sudo:cmd:/usr/bin/systemctl", NULL, EVAL_ALLOW, 0},
		  {"sudo:run", NULL, EVAL_ALLOW, 0}, {"sudo", NULL, EVAL_DENY, 0},
		  {"login:ssh", NULL, EVAL_DENY, 0});
}

static void test_pattern_star_middle_one_segment(void **state)
{
	struct fx_rec r = GRANT("a:*:c");

	(void)state;
	ONE_CASES(&r, {"a:b:c", NULL, EVAL_ALLOW, 0}, {"a:b:x:c", NULL, EVAL_DENY, 0},
		  {"a:c", NULL, EVAL_DENY, 0});
}

static void test_pattern_star_alone_matches_all(void **state)
{
	struct fx_rec r = GRANT("*");

	(void)state;
	ONE_CASES(&r, {"login:ssh", NULL, EVAL_ALLOW, 0}, {"x", NULL, EVAL_ALLOW, 0});
}

static void test_pattern_exact_no_prefix(void **state)
{
	struct fx_rec r = GRANT("sudo:run");

	(void)state;
	ONE_CASES(&r, {"sudo:runx", NULL, EVAL_DENY, 0}, {"sudo:run:x", NULL, EVAL_DENY, 0});
}

static void test_group_grant_allows(void **state)
{
	struct fx f;
	struct eval_out out;

	(void)state;
	fx_table(&f, {.kind = SHM_GRANT,
		      .flags = SHM_FL_GROUP,
		      .key = "%0",
		      .principal = "%root",
		      .pattern = "sudo:*"});
	ck(&f, "root", 0, "sudo:run", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_ALLOW);
	assert_true(out.groups_resolved);
	assert_true(out.ngroups >= 1);
	ck(&f, "alice", 1000, "sudo:run", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_DENY);
	fx_end(&f);
}

/*
 * Decides perm for user on a table of the two records r, inserted in the order given and
 * then reversed: a key's records are read newest first, so each order is one scan order.
 */
static void ck_pair(const struct fx_rec r[2], const char *user, uid_t uid, const char *perm,
		    const char *rhost, struct eval_out out[2])
{
	const struct fx_rec rev[2] = {r[1], r[0]};
	struct fx f;

	fx_table_n(&f, r, 2);
	ck(&f, user, uid, perm, rhost, SHM_U32_NONE, &out[0]);
	fx_end(&f);
	fx_table_n(&f, rev, 2);
	ck(&f, user, uid, perm, rhost, SHM_U32_NONE, &out[1]);
	fx_end(&f);
}

/* Both decisions of ck_pair are denies by deny rule `rule`, with that rule as the entry. */
static void assert_denied_by_rule(const struct eval_out out[2], uint32_t rule)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (out[i].decision != EVAL_DENY || out[i].reason != EVAL_R_DENY_RULE)
			fail_msg("scan order %d: decision %d reason %d, want deny by rule %u", i,
				 out[i].decision, out[i].reason, (unsigned)rule);
		assert_true(out[i].have_entry);
		assert_int_equal(out[i].entry.kind, SHM_DENY);
		assert_int_equal(out[i].entry.rule, rule);
	}
}

/* A matching deny beats a matching grant of the same principal, whichever the scan meets
 * first (grant first: the decision sees an allowing grant and a deny). */
static void test_deny_beats_grant(void **state)
{
	const struct fx_rec user[2] = {
	    GRANT("*"),
	    {.kind = SHM_DENY,
	     .key = "alice",
	     .pattern = "sudo:*",
	     .rule = 1,
	     .source = "policy.json deny 1"},
	};
	const struct fx_rec group[2] = {
	    {.kind = SHM_GRANT, .flags = SHM_FL_GROUP, .key = "%0", .pattern = "*"},
	    {.kind = SHM_DENY, .flags = SHM_FL_GROUP, .key = "%0", .pattern = "sudo:*", .rule = 3},
	};
	struct eval_out out[2];

	(void)state;
	ck_pair(user, "alice", 1000, "sudo:run", NULL, out);
	assert_denied_by_rule(out, 1);
	ck_pair(user, "alice", 1000, "login:ssh", NULL, out);
	assert_int_equal(out[0].decision, EVAL_ALLOW);
	assert_int_equal(out[1].decision, EVAL_ALLOW);
	ck_pair(group, "root", 0, "sudo:run", NULL, out);
	assert_denied_by_rule(out, 3);
	ck_pair(group, "root", 0, "login:ssh", NULL, out);
	assert_int_equal(out[0].decision, EVAL_ALLOW);
	assert_int_equal(out[1].decision, EVAL_ALLOW);
}

/* A user grant allows before the groups are read: a group deny still beats it. */
static void test_group_deny_beats_user_grant(void **state)
{
	const struct fx_rec r[2] = {
	    {.kind = SHM_GRANT, .key = "root", .pattern = "sudo:run"},
	    {.kind = SHM_DENY,
	     .flags = SHM_FL_GROUP,
	     .key = "%0",
	     .principal = "%root",
	     .pattern = "sudo:*",
	     .rule = 2},
	};
	struct eval_out out[2];

	(void)state;
	ck_pair(r, "root", 0, "sudo:run", NULL, out);
	assert_denied_by_rule(out, 2);
	assert_true(out[0].groups_resolved);
}

static void test_expired_deny_ignored(void **state)
{
	struct fx f;
	struct eval_out out;

	(void)state;
	fx_table(
	    &f, GRANT("sudo:run"),
	    {.kind = SHM_DENY, .key = "alice", .pattern = "*", .na = now - 10, .rule = 1},
	    {.kind = SHM_DENY, .key = "alice", .pattern = "*", .from = "192.0.2.0/24", .rule = 2});
	ck(&f, "alice", 1000, "sudo:run", "10.0.0.1", SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_ALLOW);
	ck(&f, "alice", 1000, "sudo:run", "192.0.2.9", SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_DENY);
	assert_int_equal(out.entry.rule, 2);
	fx_end(&f);
}

static void test_not_after_exactly_now_denies(void **state)
{
	struct fx_rec r = {.kind = SHM_GRANT, .key = "alice", .pattern = "*", .na = now};
	int reason;

	(void)state;
	assert_int_equal(one(&r, "sudo:run", NULL, &reason), EVAL_DENY);
	assert_int_equal(reason, EVAL_R_EXPIRED);
	r.na = now + 1;
	assert_int_equal(one(&r, "sudo:run", NULL, NULL), EVAL_ALLOW);
}

static void test_not_before(void **state)
{
	struct fx_rec r = {.kind = SHM_GRANT, .key = "alice", .pattern = "*", .nb = now + 1};
	int reason;

	(void)state;
	assert_int_equal(one(&r, "sudo:run", NULL, &reason), EVAL_DENY);
	assert_int_equal(reason, EVAL_R_NOT_YET);
	r.nb = now;
	assert_int_equal(one(&r, "sudo:run", NULL, NULL), EVAL_ALLOW);
	r.nb = now - 1;
	assert_int_equal(one(&r, "sudo:run", NULL, NULL), EVAL_ALLOW);
}

static void test_from_cidr(void **state)
{
	struct fx_rec r = {
	    .kind = SHM_GRANT, .key = "alice", .pattern = "*", .from = "10.0.0.0/8,2001:db8::/32"};

	(void)state;
	ONE_CASES(&r, {"login:ssh", "10.1.2.3", EVAL_ALLOW, 0},
		  {"login:ssh", "2001:db8::5", EVAL_ALLOW, 0},
		  {"login:ssh", "11.0.0.1", EVAL_DENY, EVAL_R_FROM},
		  {"login:ssh", NULL, EVAL_DENY, 0});
}

static void test_from_local(void **state)
{
	struct fx_rec r = {.kind = SHM_GRANT, .key = "alice", .pattern = "*", .from = "LOCAL"};

	(void)state;
	ONE_CASES(&r, {"login:ssh", NULL, EVAL_ALLOW, 0}, {"login:ssh", "", EVAL_ALLOW, 0},
		  {"login:ssh", "127.0.0.1", EVAL_ALLOW, 0},
		  {"login:ssh", "testhost", EVAL_ALLOW, 0},
		  {"login:ssh", "192.0.2.1", EVAL_DENY, EVAL_R_FROM});
}

static void test_from_suffix(void **state)
{
	struct fx_rec r = {
	    .kind = SHM_GRANT, .key = "alice", .pattern = "*", .from = ".corp.example"};

	(void)state;
	ONE_CASES(&r, {"login:ssh", "ws1.corp.example", EVAL_ALLOW, 0},
		  {"login:ssh", "corp.example", EVAL_DENY, 0},
		  {"login:ssh", "xcorp.example", EVAL_DENY, 0},
		  {"login:ssh", "10.0.0.1", EVAL_DENY, 0});
}

static void test_uid_mismatch(void **state)
{
	struct fx_rec r = {.kind = SHM_GRANT,
			   .flags = SHM_FL_UID_CHECKED,
			   .key = "alice",
			   .pattern = "*",
			   .uid = 1234};
	int reason;

	(void)state;
	assert_int_equal(one(&r, "login:ssh", NULL, &reason), EVAL_DENY);
	assert_int_equal(reason, EVAL_R_UID);
	r.uid = 1000;
	assert_int_equal(one(&r, "login:ssh", NULL, NULL), EVAL_ALLOW);
	r.flags = 0;
	r.uid = 1234;
	assert_int_equal(one(&r, "login:ssh", NULL, NULL), EVAL_ALLOW);
}

static void test_session_bound(void **state)
{
	struct fx f;
	struct eval_out out;

	(void)state;
	fx_table(&f, {.kind = SHM_GRANT,
		      .flags = SHM_FL_SESSION_BOUND,
		      .key = "alice",
		      .pattern = "sudo:*",
		      .audit = 42,
		      .session = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"});
	ck(&f, "alice", 1000, "sudo:run", NULL, 42, &out);
	assert_int_equal(out.decision, EVAL_ALLOW);
	assert_false(out.need_audit);
	ck(&f, "alice", 1000, "sudo:run", NULL, 43, &out);
	assert_int_equal(out.decision, EVAL_DENY);
	assert_int_equal(out.reason, EVAL_R_SESSION);
	assert_false(out.need_audit);
	ck(&f, "alice", 1000, "sudo:run", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_DENY);
	assert_int_equal(out.reason, EVAL_R_SESSION);
	assert_true(out.need_audit);
	ck(&f, "alice", 1000, "login:ssh", NULL, SHM_U32_NONE, &out);
	assert_false(out.need_audit);
	fx_end(&f);
}

static void test_group_mask_skips_lookup(void **state)
{
	struct fx f;
	struct eval_out out;

	(void)state;
	fx_table(&f, {.kind = SHM_GRANT, .flags = SHM_FL_GROUP, .key = "%0", .pattern = "login:*"});
	ck(&f, "root", 0, "sudo:run", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_DENY);
	assert_false(out.groups_resolved);
	assert_int_equal(out.ngroups, 0);
	ck(&f, "root", 0, "login:ssh", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_ALLOW);
	assert_true(out.groups_resolved);
	fx_end(&f);
}

/* Allowed by the user's own grant: group grants cannot change that, a group deny can. */
static void test_group_mask_allowed_needs_only_denies(void **state)
{
	struct fx f;
	struct eval_out out;

	(void)state;
	fx_table(&f, GRANT("sudo:*"),
		 {.kind = SHM_GRANT, .flags = SHM_FL_GROUP, .key = "%0", .pattern = "sudo:run"},
		 {.kind = SHM_DENY, .flags = SHM_FL_GROUP, .key = "%0", .pattern = "login:*"});
	ck(&f, "alice", 1000, "sudo:run", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_ALLOW);
	assert_false(out.groups_resolved);
	/* not allowed by their own records: the group grants are looked at */
	ck(&f, "root", 0, "sudo:run", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_ALLOW);
	assert_true(out.groups_resolved);
	fx_end(&f);
	/* a group deny on the permission's segment: groups are looked up even when allowed */
	fx_table(&f, {.kind = SHM_GRANT, .key = "root", .pattern = "login:*"},
		 {.kind = SHM_DENY, .flags = SHM_FL_GROUP, .key = "%0", .pattern = "login:ssh"});
	ck(&f, "root", 0, "login:ssh", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_DENY);
	assert_int_equal(out.reason, EVAL_R_DENY_RULE);
	assert_true(out.groups_resolved);
	ck(&f, "root", 0, "login:console", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_ALLOW);
	assert_true(out.groups_resolved);
	fx_end(&f);
}

static void test_group_mask_no_groups_at_all(void **state)
{
	struct fx f;
	struct eval_out out;

	(void)state;
	fx_table(&f, GRANT("login:*"));
	ck(&f, "alice", 1000, "login:ssh", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_ALLOW);
	assert_false(out.groups_resolved);
	assert_int_equal(out.ngroups, 0);
	fx_end(&f);
}

static void test_group_mask_any(void **state)
{
	struct fx f;
	struct eval_out out;

	(void)state;
	fx_table(&f, {.kind = SHM_GRANT, .flags = SHM_FL_GROUP, .key = "%0", .pattern = "*"});
	ck(&f, "root", 0, "anything:at:all", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_ALLOW);
	assert_true(out.groups_resolved);
	fx_end(&f);
}

/* The most informative near miss is reported, whichever order the misses are met in. */
static void test_near_miss_most_informative(void **state)
{
	const struct fx_rec r[2] = {
	    {.kind = SHM_GRANT, .key = "alice", .pattern = "*", .na = now - 5},
	    {.kind = SHM_GRANT, .key = "alice", .pattern = "*", .from = "10.0.0.0/8"},
	};
	struct fx f;
	struct eval_out out[2];
	int i;

	(void)state;
	ck_pair(r, "alice", 1000, "sudo:run", "192.0.2.1", out);
	for (i = 0; i < 2; i++) {
		assert_int_equal(out[i].decision, EVAL_DENY);
		assert_int_equal(out[i].reason, EVAL_R_FROM);
		assert_true(out[i].have_entry);
		assert_int_not_equal(out[i].entry.flen[SHM_F_FROM], 0);
	}
	/* a grant whose pattern does not match is no near miss */
	fx_table(&f, {.kind = SHM_GRANT, .key = "alice", .pattern = "x:y", .from = "LOCAL"});
	ck(&f, "alice", 1000, "sudo:run", "192.0.2.1", SHM_U32_NONE, &out[0]);
	assert_int_equal(out[0].reason, EVAL_R_NO_GRANT);
	assert_false(out[0].have_entry);
	fx_end(&f);
}

/* A grant that allows beats a near miss, met before or after it. */
static void test_valid_grant_beats_near_miss(void **state)
{
	const struct fx_rec r[2] = {
	    {.kind = SHM_GRANT, .key = "alice", .pattern = "*", .na = now - 5},
	    {.kind = SHM_GRANT, .key = "alice", .pattern = "sudo:run", .source = "good"},
	};
	struct eval_out out[2];
	int i;

	(void)state;
	ck_pair(r, "alice", 1000, "sudo:run", NULL, out);
	for (i = 0; i < 2; i++) {
		assert_int_equal(out[i].decision, EVAL_ALLOW);
		assert_int_equal(out[i].reason, EVAL_R_GRANT);
		assert_int_equal(out[i].entry.flen[SHM_F_SOURCE], 4);
		assert_memory_equal(out[i].entry.f[SHM_F_SOURCE], "good", 4);
	}
}

/* The service's permission and the decision on it, from one read. */
static void test_check_service(void **state)
{
	struct fx f;
	struct eval_out out;
	struct eval_req r = {.user = "alice", .uid = 1000, .gid = 1000, .now = 1};
	struct psm_err e = {0};
	char buf[PERM_MAX + 1];

	(void)state;
	fx_table(&f, {.kind = SHM_SERVICE, .key = "sshd", .pattern = "login:ssh"}, GRANT("login:*"),
		 GRANT("pam:cron"));
	assert_int_equal(eval_check_service(&f.v, &r, "sshd", buf, sizeof(buf), &out, &e), PSM_OK);
	assert_string_equal(buf, "login:ssh");
	assert_ptr_equal(r.perm, buf);
	assert_int_equal(out.decision, EVAL_ALLOW);
	assert_int_equal(eval_check_service(&f.v, &r, "cron", buf, sizeof(buf), &out, &e), PSM_OK);
	assert_string_equal(buf, "pam:cron");
	assert_int_equal(out.decision, EVAL_ALLOW);
	assert_int_equal(eval_check_service(&f.v, &r, "sudo", buf, sizeof(buf), &out, &e), PSM_OK);
	assert_string_equal(buf, "pam:sudo");
	assert_int_equal(out.decision, EVAL_DENY);
	assert_int_equal(out.reason, EVAL_R_NO_GRANT);
	assert_int_equal(eval_check_service(&f.v, &r, "sshd", buf, 5, &out, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, "permission of service \"sshd\" is too long"));
	assert_int_equal(out.decision, EVAL_DENY);
	assert_int_equal(eval_check_service(&f.v, &r, "", buf, sizeof(buf), &out, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "no PAM service name");
	assert_string_equal(buf, "");
	fx_end(&f);
}

static void test_break_glass(void **state)
{
	struct fx f;
	bool yes = true;

	(void)state;
	fx_table(&f, {.kind = SHM_BREAKGLASS, .key = "root"});
	assert_int_equal(eval_break_glass(&f.v, "root", &yes, NULL), PSM_OK);
	assert_true(yes);
	assert_int_equal(eval_break_glass(&f.v, "alice", &yes, NULL), PSM_OK);
	assert_false(yes);
	fx_end(&f);
}

static void test_session_audit_lookup(void **state)
{
	struct fx f;
	uint32_t audit = 0;

	(void)state;
	fx_table(&f, {.kind = SHM_SESSION,
		      .key = "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		      .principal = "alice",
		      .audit = 77});
	assert_int_equal(eval_session_audit(&f.v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", &audit, NULL),
			 PSM_OK);
	assert_int_equal(audit, 77);
	assert_int_equal(eval_session_audit(&f.v, "NOPE", &audit, NULL), PSM_OK);
	assert_int_equal(audit, SHM_U32_NONE);
	fx_end(&f);
}

static void test_reason_texts(void **state)
{
	struct fx f;
	struct eval_out out;
	char buf[256];

	(void)state;
	fx_table(&f,
		 {.kind = SHM_GRANT,
		  .key = "alice",
		  .pattern = "login:*",
		  .source = "policy.json binding 2 (role ops)"},
		 {.kind = SHM_DENY,
		  .key = "alice",
		  .pattern = "sudo:*",
		  .rule = 1,
		  .source = "policy.json deny 1"},
		 {.kind = SHM_GRANT, .key = "alice", .pattern = "db:*", .na = 1700000000});
	ck(&f, "alice", 1000, "login:ssh", NULL, SHM_U32_NONE, &out);
	eval_reason_text(&out, buf, sizeof(buf));
	assert_string_equal(buf, "granted by policy.json binding 2 (role ops)");
	ck(&f, "alice", 1000, "sudo:run", NULL, SHM_U32_NONE, &out);
	eval_reason_text(&out, buf, sizeof(buf));
	assert_string_equal(buf, "deny rule 1");
	ck(&f, "alice", 1000, "db:read", NULL, SHM_U32_NONE, &out);
	eval_reason_text(&out, buf, sizeof(buf));
	assert_string_equal(buf, "grant expired 2023-11-14T22:13:20Z");
	ck(&f, "alice", 1000, "web:x", NULL, SHM_U32_NONE, &out);
	eval_reason_text(&out, buf, sizeof(buf));
	assert_string_equal(buf, "no grant");
	fx_end(&f);
}

/* The decision for user (uid) and perm at time t, in *r and *out. */
static void decide_at(struct fx *f, const char *user, uid_t uid, const char *perm, int64_t t,
		      struct eval_req *r, struct eval_out *out)
{
	*r = (struct eval_req){.user = user,
			       .uid = uid,
			       .gid = uid,
			       .perm = perm,
			       .audit = SHM_U32_NONE,
			       .now = t,
			       .table = f->name};
	assert_int_equal(eval_check(&f->v, r, out, NULL), PSM_OK);
}

static void explain_at(struct fx *f, const char *user, uid_t uid, const char *perm, int64_t t,
		       char *buf, size_t n)
{
	struct eval_req r;
	struct eval_out out;

	decide_at(f, user, uid, perm, t, &r, &out);
	eval_explain(&out, &r, buf, n);
}

static void explain(struct fx *f, const char *user, uid_t uid, const char *perm, char *buf,
		    size_t n)
{
	explain_at(f, user, uid, perm, now, buf, n);
}

static void test_explain_deny_rule(void **state)
{
	struct fx f;
	char buf[4096], want[128];

	(void)state;
	fx_table(&f, {.kind = SHM_DENY,
		      .flags = SHM_FL_GROUP,
		      .key = "%0",
		      .principal = "%wheel",
		      .pattern = "sudo:*",
		      .rule = 1,
		      .source = "policy.json deny 1"});
	/* now, not the suite's start: the heartbeat (the table's creation) is not before it */
	explain_at(&f, "root", 0, "sudo:run", (int64_t)time(NULL), buf, sizeof(buf));
	assert_non_null(strstr(buf, "decision: deny\n"));
	assert_non_null(strstr(buf, "reason:   deny rule 1 (policy.json deny 1)\n"));
	assert_non_null(strstr(buf, "rule:     %wheel  sudo:*  from anywhere  permanent\n"));
	snprintf(want, sizeof(want), "table:    %s generation ", f.name);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, ", heartbeat ")); /* 0s, or 1s when a second ticks */
	assert_non_null(strstr(buf, "s ago (psmd pid "));
	fx_end(&f);
}

static void test_explain_grant_expiry(void **state)
{
	struct fx f;
	char buf[4096];

	(void)state;
	fx_table(&f, {.kind = SHM_GRANT,
		      .key = "alice",
		      .pattern = "sudo:run",
		      .na = now + 3600 + 59 * 60,
		      .issuer = "root",
		      .reason = "INC-42",
		      .from = "10.0.0.0/8",
		      .source = "psmctl grant"});
	explain(&f, "alice", 1000, "sudo:run", buf, sizeof(buf));
	assert_non_null(strstr(buf, "decision: deny\n"));
	assert_non_null(strstr(buf, "grant only from 10.0.0.0/8"));
	assert_non_null(strstr(buf, "(in 1h59m)"));
	assert_non_null(strstr(buf, "issuer:   root\n"));
	assert_non_null(strstr(buf, "note:     INC-42\n"));
	fx_end(&f);
}

static void test_explain_no_match(void **state)
{
	struct fx f;
	char buf[4096];

	(void)state;
	fx_table(&f,
		 {.kind = SHM_GRANT, .flags = SHM_FL_GROUP, .key = "%4242", .pattern = "sudo:*"});
	explain(&f, "root", 0, "sudo:run", buf, sizeof(buf));
	assert_non_null(strstr(buf, "reason:   no grant for root (or their groups: "));
	assert_non_null(strstr(buf, " checked) matches sudo:run\n"));
	explain(&f, "root", 0, "login:ssh", buf, sizeof(buf));
	assert_non_null(strstr(buf, "groups not checked"));
	fx_end(&f);
}

/* --explain --json: the same explanation as members (eval_json.c). */
static void explain_json(struct fx *f, const char *user, uid_t uid, const char *perm,
			 struct json_out *w)
{
	struct eval_req r;
	struct eval_out out;

	decide_at(f, user, uid, perm, now, &r, &out);
	json_out_init_flags(w, NULL, 0, JSON_OUT_CJSON);
	json_out_begin_object(w);
	eval_explain_json(w, &out, &r);
	json_out_end_object(w);
	assert_int_equal(json_out_finish(w, NULL), PSM_OK);
}

static void test_explain_json(void **state)
{
	struct fx f;
	struct json_out w;
	char want[160];

	(void)state;
	fx_table(&f, {.kind = SHM_GRANT,
		      .key = "alice",
		      .pattern = "sudo:run",
		      .na = now + 3600,
		      .issuer = "root",
		      .reason = "INC-42",
		      .from = "10.0.0.0/8",
		      .source = "psmctl grant"});
	explain_json(&f, "alice", 1000, "sudo:run", &w);
	assert_non_null(
	    strstr(w.buf, "{\"decision\":\"deny\",\"perm\":\"sudo:run\",\"rule\":\"grant\","));
	snprintf(want, sizeof(want),
		 ",\"expires_unix\":%lld,\"from\":[\"10.0.0.0/8\"],\"hosts\":[],",
		 (long long)(now + 3600));
	assert_non_null(strstr(w.buf, want));
	assert_non_null(strstr(w.buf, "\"reason\":\"INC-42\",\"issuer\":\"root\","));
	assert_non_null(strstr(w.buf, "\"why\":\"grant only from 10.0.0.0/8\""));
	assert_non_null(strstr(w.buf, ",\"table_age_s\":"));
	json_out_free(&w);
	explain_json(&f, "bob", 1001, "sudo:run", &w);
	assert_non_null(strstr(w.buf, "\"rule\":\"none\",\"source\":null,"));
	assert_non_null(strstr(w.buf, "\"expires\":null,\"expires_unix\":null,\"from\":[]"));
	json_out_free(&w);
	fx_end(&f);
}

static void test_bad_request(void **state)
{
	struct fx f;
	struct eval_out out;
	struct eval_req r = {.user = "alice", .perm = NULL, .now = 1};

	(void)state;
	fx_begin(&f);
	fx_publish(&f);
	assert_int_equal(eval_check(&f.v, &r, &out, NULL), PSM_EINVAL);
	assert_int_equal(out.decision, EVAL_DENY);
	fx_end(&f);
}

static void test_update_after_publish_seen(void **state)
{
	struct fx f;
	struct eval_out out;

	(void)state;
	fx_begin(&f);
	fx_add(&f, &(struct fx_rec)GRANT("sudo:run"));
	fx_publish(&f);
	shm_writer_begin(f.w);
	fx_add(&f, &(struct fx_rec){.kind = SHM_DENY, .key = "alice", .pattern = "*"});
	shm_writer_commit(f.w);
	ck(&f, "alice", 1000, "sudo:run", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_DENY);
	fx_end(&f);
}

static const char test_policy[] =
    "{ \"roles\": { \"ops\": [\"login:*\", \"sudo:run\"] },\n"
    "  \"bindings\": [ { \"group\": \"root\", \"roles\": [\"ops\"] },\n"
    "                { \"user\": \"root\", \"perms\": [\"db:*\"], \"from\": [\"LOCAL\"] } ],\n"
    "  \"deny\": [ { \"user\": \"root\", \"perms\": [\"sudo:cmd:*\"] } ],\n"
    "  \"services\": { \"sshd\": \"login:ssh\" },\n"
    "  \"break_glass\": { \"users\": [\"root\"] } }\n";

static void test_policy_compiled_table(void **state)
{
	struct fx f;
	struct policy *p = NULL;
	struct policy_compile_opts co = {.host_name = "testhost", .now = now};
	struct psm_err e = {0};
	struct eval_out out;
	struct eval_req r = {.uid = 0, .gid = 0, .audit = SHM_U32_NONE, .now = now};
	char buf[PERM_MAX + 1];

	(void)state;
	assert_int_equal(policy_load_text("policy.json", test_policy, strlen(test_policy), &p, &e),
			 PSM_OK);
	fx_begin(&f);
	assert_int_equal(policy_compile(p, f.w, &co, &e), PSM_OK);
	fx_publish(&f);
	policy_free(p);
	ck(&f, "root", 0, "login:ssh", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_ALLOW);
	ck(&f, "root", 0, "db:read", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.decision, EVAL_ALLOW);
	ck(&f, "root", 0, "db:read", "192.0.2.1", SHM_U32_NONE, &out);
	assert_int_equal(out.reason, EVAL_R_FROM);
	ck(&f, "root", 0, "sudo:cmd:/bin/sh", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.reason, EVAL_R_DENY_RULE);
	ck(&f, "root", 0, "web:x", NULL, SHM_U32_NONE, &out);
	assert_int_equal(out.reason, EVAL_R_NO_GRANT);
	r.user = "root";
	assert_int_equal(eval_check_service(&f.v, &r, "sshd", buf, sizeof(buf), &out, NULL),
			 PSM_OK);
	assert_string_equal(buf, "login:ssh");
	assert_int_equal(out.decision, EVAL_ALLOW);
	fx_end(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_user_grant_allows),
	    cmocka_unit_test(test_empty_table_denies),
	    cmocka_unit_test(test_other_user_grant_denies),
	    cmocka_unit_test(test_pattern_star_last_matches_rest),
	    cmocka_unit_test(test_pattern_star_middle_one_segment),
	    cmocka_unit_test(test_pattern_star_alone_matches_all),
	    cmocka_unit_test(test_pattern_exact_no_prefix),
	    cmocka_unit_test(test_group_grant_allows),
	    cmocka_unit_test(test_deny_beats_grant),
	    cmocka_unit_test(test_group_deny_beats_user_grant),
	    cmocka_unit_test(test_expired_deny_ignored),
	    cmocka_unit_test(test_not_after_exactly_now_denies),
	    cmocka_unit_test(test_not_before),
	    cmocka_unit_test(test_from_cidr),
	    cmocka_unit_test(test_from_local),
	    cmocka_unit_test(test_from_suffix),
	    cmocka_unit_test(test_uid_mismatch),
	    cmocka_unit_test(test_session_bound),
	    cmocka_unit_test(test_group_mask_skips_lookup),
	    cmocka_unit_test(test_group_mask_allowed_needs_only_denies),
	    cmocka_unit_test(test_group_mask_no_groups_at_all),
	    cmocka_unit_test(test_group_mask_any),
	    cmocka_unit_test(test_near_miss_most_informative),
	    cmocka_unit_test(test_valid_grant_beats_near_miss),
	    cmocka_unit_test(test_check_service),
	    cmocka_unit_test(test_break_glass),
	    cmocka_unit_test(test_session_audit_lookup),
	    cmocka_unit_test(test_reason_texts),
	    cmocka_unit_test(test_explain_deny_rule),
	    cmocka_unit_test(test_explain_grant_expiry),
	    cmocka_unit_test(test_explain_no_match),
	    cmocka_unit_test(test_explain_json),
	    cmocka_unit_test(test_bad_request),
	    cmocka_unit_test(test_update_after_publish_seen),
	    cmocka_unit_test(test_policy_compiled_table),
	};

	now = (int64_t)time(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
