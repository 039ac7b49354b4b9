/* SPDX-License-Identifier: MIT */
/* test_state_orders.c - the state's merge rules hold in every order records of one id arrive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record_fixture.h"
#include "state.h"

/*
 * One id, four records: live v1, live v2 (a newer version of it), its tombstone
 * at v2 (a tie: the tombstone wins) and at v3; each is applied twice (a replay),
 * so a run is one of the 8!/2^4 = 2520 distinct orders of that multiset.  Every
 * order must end in the same state, and no step may leave the live record in
 * place once a tombstone of an equal or higher version has been applied.
 */
enum { NREC = 4, NSTEP = 2 * NREC };

struct orders {
	int live_type, tomb_type;
	struct record rec[NREC]; /* live v1, live v2, tomb v2, tomb v3 */
	/* during a run */
	uint64_t max_tomb;   /* highest tombstone version applied so far */
	int in_table;	     /* what the listener says is live */
	int64_t live_expiry; /* the live v2's not_after / expires */
};

/* The listener is the table: a live record entering must beat every tombstone seen. */
static void on_change(void *ctx, int event, struct record *rec)
{
	struct orders *o = ctx;

	if (event == STATE_EV_DEL) {
		o->in_table--;
		return;
	}
	assert_true(record_version(rec) > o->max_tomb);
	o->in_table++;
	assert_int_equal(o->in_table, 1);
}

static void make_live(struct orders *o, struct record *r, uint64_t version, int64_t expiry)
{
	if (o->live_type == REC_GRANT) {
		fx_grant(r, "alice", "sudo:run", version, expiry);
		return;
	}
	fx_session(r, "alice", version, expiry);
}

/* The four records; the live ones' validity ends at expiry (v1 a minute earlier). */
static void orders_init(struct orders *o, int live_type, int64_t expiry)
{
	memset(o, 0, sizeof(*o));
	o->live_type = live_type;
	o->tomb_type = live_type == REC_GRANT ? REC_REVOKE : REC_SESSION_END;
	o->live_expiry = expiry;
	make_live(o, &o->rec[1], 2, expiry);
	make_live(o, &o->rec[0], 1, expiry == REC_NOT_AFTER_NONE ? expiry : expiry - 60);
	if (live_type == REC_GRANT)
		memcpy(o->rec[0].u.grant.id, o->rec[1].u.grant.id, ID_BYTES);
	else
		memcpy(o->rec[0].u.session.id, o->rec[1].u.session.id, ID_BYTES);
	assert_int_equal(record_tomb_for(&o->rec[2], &o->rec[1], 2, "web-02", NULL), PSM_OK);
	assert_int_equal(record_tomb_for(&o->rec[3], &o->rec[1], 3, "web-03", NULL), PSM_OK);
}

static void orders_free(struct orders *o)
{
	int i;

	for (i = 0; i < NREC; i++)
		record_free(&o->rec[i]);
}

static const struct record *live_of(const struct orders *o, const struct state *s)
{
	const uint8_t *id = record_id(&o->rec[0]);

	return o->live_type == REC_GRANT ? state_grant(s, id) : state_session(s, id);
}

/* Applies a copy of rec[i]; checks the step's outcome against the model. */
static void apply_step(struct orders *o, struct state *s, int i)
{
	const struct record *r = &o->rec[i];
	bool tomb = r->type == o->tomb_type;
	struct record c;
	int oc = -1;

	assert_int_equal(record_copy(&c, r, NULL), PSM_OK);
	if (tomb && record_version(r) > o->max_tomb)
		o->max_tomb = record_version(r); /* before: the listener checks against it */
	assert_int_equal(state_apply(s, &c, FX_NOW, &oc, NULL), PSM_OK);
	if (!tomb && o->max_tomb >= record_version(r))
		assert_int_not_equal(oc, STATE_APPLIED); /* a replay after the revoke */
	if (o->max_tomb > 0) {
		const struct record *live = live_of(o, s);

		assert_true(live == NULL || record_version(live) > o->max_tomb);
		assert_non_null(state_tomb(s, o->tomb_type, record_id(r)));
	}
}

/* The one final state every order must reach. */
static void check_final(const struct orders *o, const struct state *s)
{
	const struct record *t = state_tomb(s, o->tomb_type, record_id(&o->rec[0]));
	struct state_counts c;

	assert_null(live_of(o, s));
	assert_int_equal(o->in_table, 0);
	assert_non_null(t);
	assert_int_equal(t->type, o->tomb_type);
	assert_int_equal(t->u.tomb.version, 3);
	assert_string_equal(t->u.tomb.origin, "web-03");
	assert_true(t->u.tomb.keep_until == o->live_expiry);
	state_counts(s, &c);
	assert_int_equal(c.grants + c.sessions, 0);
	assert_int_equal(c.revokes + c.session_ends, 1);
	assert_int_equal(c.max_version, 3);
}

/* A fresh state whose listener checks against o's model, reset. */
static struct state *orders_state(struct orders *o)
{
	struct state *s = NULL;

	assert_int_equal(state_new(&s, NULL), PSM_OK);
	o->max_tomb = 0;
	o->in_table = 0;
	state_set_listener(s, on_change, o);
	return s;
}

/* Runs one order (indexes into rec) on a fresh state. */
static void run_order(struct orders *o, const int order[NSTEP])
{
	struct state *s = orders_state(o);
	int i;

	for (i = 0; i < NSTEP; i++)
		apply_step(o, s, order[i]);
	check_final(o, s);
	state_free(s);
}

/* The next order in lexicographic order (equal items stay put); false after the last. */
static bool next_order(int a[NSTEP])
{
	int i = NSTEP - 2, j = NSTEP - 1, t;

	while (i >= 0 && a[i] >= a[i + 1])
		i--;
	if (i < 0)
		return false;
	while (a[j] <= a[i])
		j--;
	t = a[i], a[i] = a[j], a[j] = t;
	for (i++, j = NSTEP - 1; i < j; i++, j--)
		t = a[i], a[i] = a[j], a[j] = t;
	return true;
}

/* Every order of the multiset {0,0,1,1,2,2,3,3}; returns how many were run. */
static int run_all_orders(int live_type, int64_t expiry)
{
	int order[NSTEP] = {0, 0, 1, 1, 2, 2, 3, 3};
	struct orders o;
	int n = 0;

	orders_init(&o, live_type, expiry);
	do {
		run_order(&o, order);
		n++;
	} while (next_order(order));
	orders_free(&o);
	return n;
}

static void test_orders_grant_timed(void **state)
{
	(void)state;
	assert_int_equal(run_all_orders(REC_GRANT, FX_NOW + 3600), 2520);
}

static void test_orders_grant_permanent(void **state)
{
	(void)state;
	assert_int_equal(run_all_orders(REC_GRANT, REC_NOT_AFTER_NONE), 2520);
}

static void test_orders_session_timed(void **state)
{
	(void)state;
	assert_int_equal(run_all_orders(REC_SESSION, FX_NOW + 3600), 2520);
}

static void test_orders_session_no_expiry(void **state)
{
	(void)state;
	assert_int_equal(run_all_orders(REC_SESSION, REC_NOT_AFTER_NONE), 2520);
}

/* The tie on its own, both ways round: the tombstone wins whichever comes first. */
static void test_orders_tie_both_ways(void **state)
{
	static const int first[][2] = {{1, 2}, {2, 1}};
	struct orders o;
	size_t k;

	(void)state;
	orders_init(&o, REC_GRANT, FX_NOW + 3600);
	for (k = 0; k < 2; k++) {
		struct state *s = orders_state(&o);

		apply_step(&o, s, first[k][0]);
		apply_step(&o, s, first[k][1]);
		assert_null(live_of(&o, s));
		assert_int_equal(state_tomb(s, REC_REVOKE, record_id(&o.rec[1]))->u.tomb.version,
				 2);
		state_free(s);
	}
	orders_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_orders_grant_timed),
	    cmocka_unit_test(test_orders_grant_permanent),
	    cmocka_unit_test(test_orders_session_timed),
	    cmocka_unit_test(test_orders_session_no_expiry),
	    cmocka_unit_test(test_orders_tie_both_ways),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
