/* SPDX-License-Identifier: MIT */
/* test_sweep.c - psmd's sweeper: expired grants and sessions kept for --explain, reclaimed
 * later, or at once when the table needs the room; session-bound grants end with the session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "psmd.h"
#include "daemon_fixture.h"
#include "eval.h"
#include "ops.h"
#include "under_valgrind.h"

struct fixture {
	struct dfx_paths p;
	struct psmd d;
	struct ops_peer root;
	int64_t t0;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || dfx_start(&f->d, &f->root, &f->p, "sweep") != 0)
		return -1;
	f->t0 = (int64_t)time(NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int rc = dfx_stop(&f->d, f->p.shm, f->p.dir);

	free(f);
	return rc;
}

/* Runs one request as root at time now; returns the reply's string field key (strdup). */
static char *call_at(struct fixture *f, int64_t now, const char *line, const char *key)
{
	struct proto_req req;
	struct ops_ctx c = {.d = &f->d, .peer = &f->root, .now = now};
	cJSON *fields = cJSON_CreateObject();
	struct psm_err err = {0};
	char *v = NULL;

	assert_int_equal(proto_parse_request(line, strlen(line), &req, &err), PSM_OK);
	c.req = &req;
	if (ops_run(&c, fields, &err) != PSM_OK)
		fail_msg("%s: %s", line, err.msg);
	if (c.changed)
		assert_int_equal(store_commit(&f->d.store, NULL, NULL), PSM_OK);
	proto_req_free(&req);
	if (key != NULL)
		v = strdup(cJSON_GetObjectItem(fields, key)->valuestring);
	cJSON_Delete(fields);
	return v;
}

/* The table's answer for daemon / perm at time now: 1 allow, 0 deny; why in reason. */
static int check_at(struct fixture *f, const char *perm, uint32_t audit, int64_t now, char *reason,
		    size_t n)
{
	struct eval_req req = {.user = "daemon", .perm = perm, .audit = audit, .now = now};
	struct eval_out out;

	assert_int_equal(store_user_id("daemon", &req.uid, &req.gid, NULL), PSM_OK);
	assert_int_equal(eval_check(shm_writer_view(f->d.table.w), &req, &out, NULL), PSM_OK);
	eval_reason_text(&out, reason, n);
	return out.decision == EVAL_ALLOW;
}

static uint64_t records(struct fixture *f)
{
	struct shm_info info;

	assert_int_equal(table_info(&f->d.table, &info, NULL), PSM_OK);
	return info.records;
}

static void test_sweep_keeps_expired_for_explain(void **state)
{
	struct fixture *f = *state;
	uint64_t before = records(f);
	char why[256];

	free(call_at(f, f->t0,
		     "{\"op\":\"grant\",\"user\":\"daemon\",\"perm\":\"k:x\","
		     "\"ttl\":\"60s\"}",
		     NULL));
	assert_int_equal(records(f), before + 1);
	store_sweep_tick(&f->d.store, f->t0 + 61);
	store_sweep_tick(&f->d.store, f->t0 + 60 + SWEEP_KEEP - 1);
	assert_int_equal(records(f), before + 1);
	assert_int_equal(check_at(f, "k:x", SHM_U32_NONE, f->t0 + 61, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "grant expired"));
	store_sweep_tick(&f->d.store, f->t0 + 60 + SWEEP_KEEP);
	assert_int_equal(records(f), before);
	assert_int_equal(check_at(f, "k:x", SHM_U32_NONE, f->t0 + 61, why, sizeof(why)), 0);
	assert_string_equal(why, "no grant");
}

/* cleanup (store_sweep) does not wait. */
static void test_sweep_cleanup_at_once(void **state)
{
	struct fixture *f = *state;
	uint64_t before = records(f);

	free(call_at(f, f->t0,
		     "{\"op\":\"grant\",\"user\":\"daemon\",\"perm\":\"c:x\","
		     "\"ttl\":\"60s\"}",
		     NULL));
	assert_int_equal(store_sweep(&f->d.store, f->t0 + 59), 0);
	assert_int_equal(store_sweep(&f->d.store, f->t0 + 60), 1);
	assert_int_equal(records(f), before);
}

/* A filling table drops kept expired grants rather than grow (or ever be full). */
static void test_sweep_expired_make_room(void **state)
{
	struct fixture *f = *state;
	uint64_t cap = f->d.table.capacity, n = 0;
	char line[160], why[256];

	while (shm_writer_fill(f->d.table.w) <= 0.8 && n < 100000) {
		snprintf(line, sizeof(line),
			 "{\"op\":\"grant\",\"user\":\"daemon\","
			 "\"perm\":\"old:%llu\",\"ttl\":\"10s\"}",
			 (unsigned long long)n++);
		free(call_at(f, f->t0 - 100, line, NULL)); /* expired 90 s ago */
	}
	assert_int_equal(f->d.table.capacity, cap);
	free(call_at(f, f->t0, "{\"op\":\"grant\",\"user\":\"daemon\",\"perm\":\"new:x\"}", NULL));
	assert_int_equal(f->d.table.capacity, cap);
	assert_true(f->d.sweep.removed >= n);
	assert_int_equal(check_at(f, "new:x", SHM_U32_NONE, f->t0, why, sizeof(why)), 1);
}

/* A grant bound to a session ends when the session expires (it is kept, not gone),
 * and follows it when the session is extended. */
static void test_sweep_bound_grant_expires_with_session(void **state)
{
	struct fixture *f = *state;
	char line[256], why[256], *sid;

	snprintf(line, sizeof(line),
		 "{\"op\":\"session_open\",\"user\":\"daemon\",\"service\":"
		 "\"sshd\",\"pid\":%ld,\"audit\":77,\"ttl\":\"60s\"}",
		 (long)getppid());
	sid = call_at(f, f->t0, line, "session_id");
	snprintf(line, sizeof(line),
		 "{\"op\":\"grant\",\"user\":\"daemon\",\"perm\":\"b:x\","
		 "\"ttl\":\"1h\",\"session\":\"%s\"}",
		 sid);
	free(call_at(f, f->t0, line, NULL));
	assert_int_equal(check_at(f, "b:x", 77, f->t0 + 59, why, sizeof(why)), 1);
	store_sweep_tick(&f->d.store, f->t0 + 61);
	assert_int_equal(check_at(f, "b:x", 77, f->t0 + 61, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "grant expired"));
	/* before it expired, the session is extended: its grant follows */
	snprintf(line, sizeof(line),
		 "{\"op\":\"session_extend\",\"session_id\":\"%s\","
		 "\"ttl\":\"2m\"}",
		 sid);
	free(call_at(f, f->t0 + 30, line, NULL));
	assert_int_equal(check_at(f, "b:x", 77, f->t0 + 140, why, sizeof(why)), 1);
	assert_int_equal(check_at(f, "b:x", 77, f->t0 + 151, why, sizeof(why)), 0);
	free(sid);
}

/* Runs line at time now and expects it to fail with code; returns nothing. */
static void call_fails_at(struct fixture *f, int64_t now, const char *line, int code,
			  const char *msg)
{
	struct proto_req req;
	struct ops_ctx c = {.d = &f->d, .peer = &f->root, .now = now};
	cJSON *fields = cJSON_CreateObject();
	struct psm_err err = {0};

	assert_int_equal(proto_parse_request(line, strlen(line), &req, &err), PSM_OK);
	c.req = &req;
	assert_int_equal(ops_run(&c, fields, &err), code);
	assert_non_null(strstr(err.msg, msg));
	assert_false(c.changed);
	proto_req_free(&req);
	cJSON_Delete(fields);
}

/* A session kept after it expired is not live: show and extend refuse it (an extend
 * would otherwise bring it back); kill still ends the login. */
static void test_sweep_expired_session_not_live(void **state)
{
	struct fixture *f = *state;
	pid_t leader;
	char line[256], *sid;

	vg_skip("pidfd_open(2) (session leaders)");
	leader = dfx_leader_child();
	snprintf(line, sizeof(line),
		 "{\"op\":\"session_open\",\"user\":\"daemon\",\"service\":"
		 "\"sshd\",\"pid\":%ld,\"ttl\":\"60s\"}",
		 (long)leader);
	sid = call_at(f, f->t0, line, "session_id");
	snprintf(line, sizeof(line), "{\"op\":\"session_show\",\"session_id\":\"%s\"}", sid);
	free(call_at(f, f->t0 + 59, line, NULL));
	call_fails_at(f, f->t0 + 60, line, PSM_ENOENT, " expired");
	snprintf(line, sizeof(line),
		 "{\"op\":\"session_extend\",\"session_id\":\"%s\","
		 "\"ttl\":\"1h\"}",
		 sid);
	call_fails_at(f, f->t0 + 61, line, PSM_ENOENT, " expired");
	assert_false(dfx_child_ended(leader, false));
	snprintf(line, sizeof(line), "{\"op\":\"session_kill\",\"session_id\":\"%s\"}", sid);
	free(call_at(f, f->t0 + 62, line, NULL));
	assert_true(dfx_child_ended(leader, true));
	free(sid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sweep_keeps_expired_for_explain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_cleanup_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_expired_make_room, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_bound_grant_expires_with_session, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_expired_session_not_live, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
