/* SPDX-License-Identifier: MIT */
/* test_state.c - psmd's in-memory state: version order, tombstones, expiry, export/import. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record_fixture.h"
#include "state.h"

/* Counts what the listener hears and hands out table units. */
struct listen {
	int adds, dels;
	uint32_t next_unit;
	uint32_t last_del_unit;
};

static void on_change(void *ctx, int event, struct record *rec)
{
	struct listen *l = ctx;
	uint32_t *unit =
	    rec->type == REC_GRANT ? &rec->u.grant.table_unit : &rec->u.session.table_unit;

	if (event == STATE_EV_ADD) {
		l->adds++;
		*unit = ++l->next_unit;
	} else {
		l->dels++;
		l->last_del_unit = *unit;
	}
}

static struct state *new_state(struct listen *l)
{
	struct state *s = NULL;

	assert_int_equal(state_new(&s, NULL), PSM_OK);
	if (l != NULL) {
		memset(l, 0, sizeof(*l));
		state_set_listener(s, on_change, l);
	}
	return s;
}

/* Applies a copy of r and returns the outcome. */
static int apply(struct state *s, const struct record *r)
{
	struct record c;
	int oc = -1;

	assert_int_equal(record_copy(&c, r, NULL), PSM_OK);
	assert_int_equal(state_apply(s, &c, FX_NOW, &oc, NULL), PSM_OK);
	assert_null(c.u.grant.principal); /* always consumed */
	return oc;
}

static void test_state_apply_and_lookup(void **state)
{
	struct listen l;
	struct state *s = new_state(&l);
	struct record g;
	struct record *got;
	struct state_counts c;

	(void)state;
	fx_grant(&g, "alice", "sudo:run", 10, FX_NOW + 60);
	assert_int_equal(apply(s, &g), STATE_APPLIED);
	got = state_grant(s, g.u.grant.id);
	assert_non_null(got);
	assert_string_equal(got->u.grant.pattern, "sudo:run");
	assert_int_equal(got->u.grant.table_unit, 1);
	assert_null(state_session(s, g.u.grant.id));
	assert_int_equal(apply(s, &g), STATE_DUPLICATE); /* idempotent */
	assert_int_equal(l.adds, 1);
	state_counts(s, &c);
	assert_int_equal(c.grants, 1);
	assert_int_equal(c.max_version, 10);
	record_free(&g);
	state_free(s);
}

static void test_state_newer_version_wins(void **state)
{
	struct listen l;
	struct state *s = new_state(&l);
	struct record v1, v2, v0;

	(void)state;
	fx_grant(&v1, "alice", "sudo:run", 10, FX_NOW + 60);
	fx_grant_id(&v2, v1.u.grant.id, 20, FX_NOW + 600);
	fx_grant_id(&v0, v1.u.grant.id, 5, FX_NOW + 6000);
	assert_int_equal(apply(s, &v1), STATE_APPLIED);
	assert_int_equal(apply(s, &v2), STATE_APPLIED);
	assert_int_equal(l.dels, 1);
	assert_int_equal(l.last_del_unit, 1); /* the old record's table slot */
	assert_int_equal(state_grant(s, v1.u.grant.id)->u.grant.not_after, FX_NOW + 600);
	assert_int_equal(apply(s, &v0), STATE_STALE);
	assert_int_equal(apply(s, &v1), STATE_STALE);
	assert_int_equal(state_grant(s, v1.u.grant.id)->u.grant.version, 20);
	record_free(&v0);
	record_free(&v1);
	record_free(&v2);
	state_free(s);
}

static void test_state_tombstone_beats_equal_and_older(void **state)
{
	struct listen l;
	struct state *s = new_state(&l);
	struct record g, t, older, newer;
	struct state_counts c;

	(void)state;
	fx_grant(&g, "alice", "sudo:run", 10, FX_NOW + 60);
	fx_tomb(&t, REC_REVOKE, g.u.grant.id, 10, FX_NOW + 60); /* equal version */
	assert_int_equal(apply(s, &g), STATE_APPLIED);
	assert_int_equal(apply(s, &t), STATE_APPLIED);
	assert_null(state_grant(s, g.u.grant.id));
	assert_int_equal(l.dels, 1);
	assert_non_null(state_tomb(s, REC_REVOKE, g.u.grant.id));
	/* the grant again, and an older one: never come back */
	assert_int_equal(apply(s, &g), STATE_REVOKED);
	fx_grant_id(&older, g.u.grant.id, 3, FX_NOW + 60);
	assert_int_equal(apply(s, &older), STATE_REVOKED);
	assert_int_equal(apply(s, &t), STATE_DUPLICATE);
	/* a strictly newer grant of that id wins over the tombstone */
	fx_grant_id(&newer, g.u.grant.id, 11, FX_NOW + 60);
	assert_int_equal(apply(s, &newer), STATE_APPLIED);
	assert_null(state_tomb(s, REC_REVOKE, g.u.grant.id));
	state_counts(s, &c);
	assert_int_equal(c.grants, 1);
	assert_int_equal(c.revokes, 0);
	record_free(&g);
	record_free(&t);
	record_free(&older);
	record_free(&newer);
	state_free(s);
}

static void test_state_revoke_before_grant(void **state)
{
	struct state *s = new_state(NULL);
	struct record g, t, old_t;

	(void)state;
	fx_grant(&g, "alice", "sudo:run", 10, FX_NOW + 60);
	fx_tomb(&t, REC_REVOKE, g.u.grant.id, 12, FX_NOW + 60);
	fx_tomb(&old_t, REC_REVOKE, g.u.grant.id, 9, FX_NOW + 60);
	assert_int_equal(apply(s, &t), STATE_APPLIED); /* arrives first (fleet) */
	assert_int_equal(apply(s, &g), STATE_REVOKED);
	assert_null(state_grant(s, g.u.grant.id));
	assert_int_equal(apply(s, &old_t), STATE_STALE);
	assert_int_equal(state_tomb(s, REC_REVOKE, g.u.grant.id)->u.tomb.version, 12);
	record_free(&g);
	record_free(&t);
	record_free(&old_t);
	state_free(s);
}

static void test_state_older_tombstone_loses(void **state)
{
	struct state *s = new_state(NULL);
	struct record g, t;
	struct state_counts c;

	(void)state;
	fx_grant(&g, "alice", "sudo:run", 10, FX_NOW + 60);
	fx_tomb(&t, REC_REVOKE, g.u.grant.id, 9, FX_NOW + 60);
	assert_int_equal(apply(s, &g), STATE_APPLIED);
	assert_int_equal(apply(s, &t), STATE_STALE);
	assert_non_null(state_grant(s, g.u.grant.id));
	state_counts(s, &c);
	assert_int_equal(c.revokes, 0);
	record_free(&g);
	record_free(&t);
	state_free(s);
}

/* Export text of a state, for comparisons. */
static char *export_text(const struct state *s)
{
	cJSON *doc = NULL;
	char *text;

	assert_int_equal(state_export(s, &doc, NULL), PSM_OK);
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return text;
}

static void test_state_order_independent(void **state)
{
	struct record r[5];
	static const int perms[][5] = {
	    {0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}, {1, 4, 0, 3, 2}, {3, 2, 1, 0, 4},
	};
	char *first = NULL, *text;
	size_t p, i;

	(void)state;
	fx_grant(&r[0], "alice", "sudo:run", 10, FX_NOW + 60);
	fx_grant_id(&r[1], r[0].u.grant.id, 20, FX_NOW + 90);
	fx_tomb(&r[2], REC_REVOKE, r[0].u.grant.id, 15, FX_NOW + 60); /* loses to v20 */
	fx_grant(&r[3], "bob", "login:*", 7, FX_NOW + 60);
	fx_tomb(&r[4], REC_REVOKE, r[3].u.grant.id, 7, FX_NOW + 60); /* beats v7 */
	for (p = 0; p < sizeof(perms) / sizeof(perms[0]); p++) {
		struct state *s = new_state(NULL);

		for (i = 0; i < 5; i++)
			apply(s, &r[perms[p][i]]);
		for (i = 0; i < 5; i++) /* re-applying everything changes nothing */
			assert_int_not_equal(apply(s, &r[i]), STATE_APPLIED);
		text = export_text(s);
		if (first == NULL)
			first = text;
		else {
			assert_string_equal(first, text);
			free(text);
		}
		assert_int_equal(state_grant(s, r[0].u.grant.id)->u.grant.version, 20);
		assert_null(state_grant(s, r[3].u.grant.id));
		state_free(s);
	}
	free(first);
	for (i = 0; i < 5; i++)
		record_free(&r[i]);
}

static void test_state_expiry(void **state)
{
	struct listen l;
	struct state *s = new_state(&l);
	struct record g1, g2, perm, t, sess, late;
	struct state_counts c;

	(void)state;
	fx_grant(&g1, "alice", "sudo:run", 10, FX_NOW + 60);
	fx_grant(&g2, "alice", "login:ssh", 10, FX_NOW + 120);
	fx_grant(&perm, "alice", "login:console", 10, REC_NOT_AFTER_NONE);
	fx_session(&sess, "alice", 10, FX_NOW + 60);
	fx_tomb(&t, REC_REVOKE, g2.u.grant.id, 11, FX_NOW + 120);
	apply(s, &g1);
	apply(s, &g2);
	apply(s, &perm);
	apply(s, &sess);
	apply(s, &t);
	assert_int_equal(state_expire(s, FX_NOW + 59), 0);
	assert_int_equal(state_expire(s, FX_NOW + 60), 2); /* g1 and the session */
	assert_null(state_grant(s, g1.u.grant.id));
	assert_null(state_session(s, sess.u.session.id));
	assert_int_equal(l.dels, 3); /* g2 (revoked), g1, session */
	state_counts(s, &c);
	assert_int_equal(c.revokes, 1);
	assert_int_equal(state_expire(s, FX_NOW + 120), 0); /* only the tombstone went */
	state_counts(s, &c);
	assert_int_equal(c.revokes, 0);
	assert_int_equal(c.grants, 1);
	/* an older copy of g2 turning up later is expired, so still refused */
	fx_grant_id(&late, g2.u.grant.id, 10, FX_NOW + 120);
	assert_int_equal(state_check(s, &late, FX_NOW + 120), STATE_EXPIRED);
	{
		int oc = -1;

		assert_int_equal(state_apply(s, &late, FX_NOW + 120, &oc, NULL), PSM_OK);
		assert_int_equal(oc, STATE_EXPIRED);
		assert_null(state_grant(s, g2.u.grant.id));
	}
	record_free(&g1);
	record_free(&g2);
	record_free(&perm);
	record_free(&t);
	record_free(&sess);
	record_free(&late);
	state_free(s);
}

static void test_state_expired_not_stored(void **state)
{
	struct listen l;
	struct state *s = new_state(&l);
	struct record g, t;
	struct state_counts c;

	(void)state;
	fx_grant(&g, "alice", "sudo:run", 10, FX_NOW);
	assert_int_equal(apply(s, &g), STATE_EXPIRED);
	fx_tomb(&t, REC_REVOKE, g.u.grant.id, 11, FX_NOW - 1);
	assert_int_equal(apply(s, &t), STATE_EXPIRED);
	state_counts(s, &c);
	assert_int_equal(c.grants + c.revokes, 0);
	assert_int_equal(l.adds, 0);
	record_free(&g);
	record_free(&t);
	state_free(s);
}

static void test_state_session_bound_grants(void **state)
{
	struct listen l;
	struct state *s = new_state(&l);
	struct record sess, g, other, end, late;
	struct state_counts c;

	(void)state;
	fx_session(&sess, "alice", 10, FX_NOW + 600);
	fx_grant(&g, "alice", "sudo:run", 11, FX_NOW + 60);
	g.u.grant.has_session = true;
	memcpy(g.u.grant.session, sess.u.session.id, ID_BYTES);
	fx_grant(&other, "alice", "login:ssh", 11, FX_NOW + 60);
	apply(s, &sess);
	apply(s, &g);
	apply(s, &other);
	fx_tomb(&end, REC_SESSION_END, sess.u.session.id, 12, FX_NOW + 600);
	assert_int_equal(apply(s, &end), STATE_APPLIED);
	assert_null(state_session(s, sess.u.session.id));
	assert_null(state_grant(s, g.u.grant.id)); /* died with its session */
	assert_non_null(state_grant(s, other.u.grant.id));
	assert_int_equal(l.dels, 2);
	/* a grant bound to the ended session is refused */
	fx_grant(&late, "alice", "sudo:*", 13, FX_NOW + 60);
	late.u.grant.has_session = true;
	memcpy(late.u.grant.session, sess.u.session.id, ID_BYTES);
	assert_int_equal(apply(s, &late), STATE_SESSION_ENDED);
	/* and an older copy of the session does not come back */
	assert_int_equal(apply(s, &sess), STATE_REVOKED);
	state_counts(s, &c);
	assert_int_equal(c.sessions, 0);
	assert_int_equal(c.session_ends, 1);
	record_free(&sess);
	record_free(&g);
	record_free(&other);
	record_free(&end);
	record_free(&late);
	state_free(s);
}

static void test_state_session_expiry_cascades(void **state)
{
	struct state *s = new_state(NULL);
	struct record sess, g;

	(void)state;
	fx_session(&sess, "alice", 10, FX_NOW + 60);
	fx_grant(&g, "alice", "sudo:run", 11, FX_NOW + 600);
	g.u.grant.has_session = true;
	memcpy(g.u.grant.session, sess.u.session.id, ID_BYTES);
	apply(s, &sess);
	apply(s, &g);
	assert_int_equal(state_expire(s, FX_NOW + 60), 2);
	assert_null(state_grant(s, g.u.grant.id));
	record_free(&sess);
	record_free(&g);
	state_free(s);
}

static void test_state_session_extend(void **state)
{
	struct listen l;
	struct state *s = new_state(&l);
	struct record v1, v2, g;
	struct record *got;

	(void)state;
	fx_session(&v1, "alice", 10, FX_NOW + 60);
	assert_int_equal(record_copy(&v2, &v1, NULL), PSM_OK);
	v2.u.session.version = 11;
	v2.u.session.expires = FX_NOW + 3600;
	fx_grant(&g, "alice", "sudo:run", 11, FX_NOW + 600);
	g.u.grant.has_session = true;
	memcpy(g.u.grant.session, v1.u.session.id, ID_BYTES);
	apply(s, &v1);
	apply(s, &g);
	assert_int_equal(apply(s, &v2), STATE_APPLIED);
	got = state_session(s, v1.u.session.id);
	assert_int_equal(got->u.session.expires, FX_NOW + 3600);
	assert_non_null(state_grant(s, g.u.grant.id)); /* an extension keeps bound grants */
	assert_int_equal(l.dels, 1);
	assert_int_equal(state_expire(s, FX_NOW + 61), 0);
	record_free(&v1);
	record_free(&v2);
	record_free(&g);
	state_free(s);
}

static int count_visit(void *ctx, struct record *rec)
{
	(void)rec;
	(*(int *)ctx)++;
	return 0;
}

static void test_state_by_principal(void **state)
{
	struct state *s = new_state(NULL);
	struct record r;
	int n, i;

	(void)state;
	for (i = 0; i < 3; i++) {
		fx_grant(&r, "alice", i < 2 ? "sudo:run" : "login:ssh", 10, FX_NOW + 60);
		apply(s, &r);
		record_free(&r);
	}
	fx_grant(&r, "%alice", "sudo:run", 10, FX_NOW + 60); /* a group, not the user */
	apply(s, &r);
	record_free(&r);
	n = 0;
	state_foreach_principal(s, "alice", "sudo:run", count_visit, &n);
	assert_int_equal(n, 2);
	n = 0;
	state_foreach_principal(s, "alice", NULL, count_visit, &n);
	assert_int_equal(n, 3);
	n = 0;
	state_foreach_principal(s, "%alice", NULL, count_visit, &n);
	assert_int_equal(n, 1);
	n = 0;
	state_foreach_principal(s, "bob", NULL, count_visit, &n);
	assert_int_equal(n, 0);
	n = 0;
	state_foreach(s, REC_GRANT, count_visit, &n);
	assert_int_equal(n, 4);
	state_free(s);
}

static void test_state_many_grants(void **state)
{
	struct state *s = new_state(NULL);
	enum { N = 20000 };
	uint8_t(*ids)[ID_BYTES] = calloc(N, ID_BYTES);
	struct record r;
	struct state_counts c;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		fx_grant(&r, i % 2 ? "alice" : "bob", "sudo:run", 10, FX_NOW + 60 + (int64_t)i);
		memcpy(ids[i], r.u.grant.id, ID_BYTES);
		assert_int_equal(state_apply(s, &r, FX_NOW, NULL, NULL), PSM_OK);
	}
	for (i = 0; i < N; i++)
		assert_non_null(state_grant(s, ids[i]));
	assert_int_equal(state_expire(s, FX_NOW + 60 + N / 2), N / 2 + 1);
	state_counts(s, &c);
	assert_int_equal(c.grants, N / 2 - 1);
	for (i = 0; i < N; i++)
		assert_true((state_grant(s, ids[i]) != NULL) == (i > N / 2));
	free(ids);
	state_free(s);
}

/* A state with two grants (one session-bound), a session and a revoked grant. */
static struct state *sample_state(void)
{
	struct state *s = new_state(NULL);
	struct record r, sess;

	fx_session(&sess, "alice", 10, FX_NOW + 600);
	fx_grant(&r, "alice", "sudo:run", 11, FX_NOW + 60);
	r.u.grant.has_session = true;
	memcpy(r.u.grant.session, sess.u.session.id, ID_BYTES);
	apply(s, &sess);
	apply(s, &r);
	record_free(&r);
	record_free(&sess);
	fx_grant(&r, "%ops", "login:*", 12, REC_NOT_AFTER_NONE);
	r.u.grant.nfrom = 1;
	r.u.grant.from = calloc(1, sizeof(char *));
	r.u.grant.from[0] = fx_dup("192.0.2.0/24");
	apply(s, &r);
	record_free(&r);
	return s;
}

static void test_state_export_import_round_trip(void **state)
{
	struct state *a = sample_state(), *b = new_state(NULL);
	struct state_import_report rep = {0};
	char *ta = export_text(a), *tb;
	cJSON *doc = cJSON_Parse(ta);

	(void)state;
	assert_non_null(strstr(ta, "{\"format\":\"psm-export\",\"version\":1,\"grants\":["));
	assert_int_equal(state_import_doc(b, doc, false, FX_NOW, &rep, NULL), PSM_OK);
	assert_int_equal(rep.grants, 2);
	assert_int_equal(rep.sessions, 1);
	assert_int_equal(cJSON_GetArraySize(rep.skipped), 0);
	cJSON_Delete(rep.skipped);
	tb = export_text(b);
	assert_string_equal(ta, tb);
	/* importing again: everything is already there */
	assert_int_equal(state_import_doc(b, doc, false, FX_NOW, &rep, NULL), PSM_OK);
	assert_int_equal(rep.grants + rep.sessions, 0);
	assert_int_equal(cJSON_GetArraySize(rep.skipped), 3);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(rep.skipped, 0), "reason")->valuestring,
	    "already present");
	cJSON_Delete(rep.skipped);
	cJSON_Delete(doc);
	free(ta);
	free(tb);
	state_free(a);
	state_free(b);
}

static int count_applied(void *ctx, const struct record *rec, struct psm_err *err)
{
	(void)rec;
	(void)err;
	(*(int *)ctx)++;
	return PSM_OK;
}

static void test_state_import_skips_and_dry_run(void **state)
{
	struct state *a = sample_state(), *b = new_state(NULL);
	struct state_import_report rep = {0};
	struct state_counts c;
	cJSON *doc = NULL, *grants, *bad;
	int applied = 0;

	(void)state;
	assert_int_equal(state_export(a, &doc, NULL), PSM_OK);
	grants = cJSON_GetObjectItem(doc, "grants");
	bad = cJSON_Duplicate(cJSON_GetArrayItem(grants, 0), true);
	cJSON_ReplaceItemInObject(bad, "pattern", cJSON_CreateString("sudo:r!n"));
	cJSON_AddItemToArray(grants, bad);
	/* dry run: counts, skipped list, and no change */
	assert_int_equal(state_import_doc(b, doc, true, FX_NOW, &rep, NULL), PSM_OK);
	assert_int_equal(rep.grants, 2);
	assert_int_equal(cJSON_GetArraySize(rep.skipped), 1);
	assert_non_null(
	    strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(rep.skipped, 0), "reason")->valuestring,
		   "pattern"));
	cJSON_Delete(rep.skipped);
	state_counts(b, &c);
	assert_int_equal(c.grants + c.sessions, 0);
	/* at a later time the 60 s grant has expired and is skipped */
	rep.on_apply = count_applied;
	rep.ctx = &applied;
	assert_int_equal(state_import_doc(b, doc, false, FX_NOW + 100, &rep, NULL), PSM_OK);
	assert_int_equal(rep.grants, 1);
	assert_int_equal(rep.sessions, 1);
	assert_int_equal(applied, 2);
	assert_int_equal(cJSON_GetArraySize(rep.skipped), 2);
	cJSON_Delete(rep.skipped);
	cJSON_Delete(doc);
	state_free(a);
	state_free(b);
}

static void test_state_import_doc_errors(void **state)
{
	struct state *s = new_state(NULL);
	struct state_import_report rep = {0};
	struct psm_err e = {0};
	const char *bad[][2] = {
	    {"[]", "import: expected a JSON object"},
	    {"{\"format\":\"tar\"}", "format: expected \"psm-export\""},
	    {"{\"version\":2}", "version: only version 1 is known"},
	    {"{\"grants\":{}}", "grants: expected an array"},
	    {"{\"extra\":1}", "import: unknown key \"extra\""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *doc = cJSON_Parse(bad[i][0]);

		assert_int_equal(state_import_doc(s, doc, false, FX_NOW, &rep, &e), PSM_EINVAL);
		assert_string_equal(e.msg, bad[i][1]);
		cJSON_Delete(rep.skipped);
		rep.skipped = NULL;
		cJSON_Delete(doc);
	}
	state_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_apply_and_lookup),
	    cmocka_unit_test(test_state_newer_version_wins),
	    cmocka_unit_test(test_state_tombstone_beats_equal_and_older),
	    cmocka_unit_test(test_state_revoke_before_grant),
	    cmocka_unit_test(test_state_older_tombstone_loses),
	    cmocka_unit_test(test_state_order_independent),
	    cmocka_unit_test(test_state_expiry),
	    cmocka_unit_test(test_state_expired_not_stored),
	    cmocka_unit_test(test_state_session_bound_grants),
	    cmocka_unit_test(test_state_session_expiry_cascades),
	    cmocka_unit_test(test_state_session_extend),
	    cmocka_unit_test(test_state_by_principal),
	    cmocka_unit_test(test_state_many_grants),
	    cmocka_unit_test(test_state_export_import_round_trip),
	    cmocka_unit_test(test_state_import_skips_and_dry_run),
	    cmocka_unit_test(test_state_import_doc_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
