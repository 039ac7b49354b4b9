/* SPDX-License-Identifier: MIT */
/* test_ops_fleet.c - another host's sessions in this psmd: out of its table and its default
 * listing, ended without a signal here, not closable by a user; the fleet op without Redis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "daemon_fixture.h"
#include "leader.h"
#include "metrics.h"
#include "under_valgrind.h"

#define FAR_HOST "far-host-02"
#define LOCAL_HEX "0123456789abcdef0123456789abcd01"
#define REMOTE_HEX "0123456789abcdef0123456789abcd02"

struct fixture {
	struct dfx_paths p;
	struct psmd d;
	struct ops_peer root, user; /* user: uid 0 but no admin, as a login's own process */
	pid_t leader;		    /* leads both sessions */
	char local[ID_TEXT_SIZE], remote[ID_TEXT_SIZE];
};

/* One request as peer, now, committed (dfx_call). */
static int call(struct fixture *f, const struct ops_peer *peer, const char *line, cJSON **reply,
		struct psm_err *err)
{
	return dfx_call(&f->d, peer, (int64_t)time(NULL), line, reply, err);
}

/* An exported session of origin, led by f->leader (its real identity), for an hour. */
static void session_json(const struct fixture *f, const char *hex, const char *origin, char *buf,
			 size_t n)
{
	struct leader_id id;
	int64_t now = (int64_t)time(NULL);

	assert_int_equal(leader_read(f->leader, &id, NULL), PSM_OK);
	snprintf(
	    buf, n,
	    "{\"session_id\":\"%s\",\"user\":\"root\",\"uid\":0,\"service\":\"sshd\","
	    "\"tty\":\"pts/9\",\"rhost\":\"\",\"pid\":%ld,\"audit\":null,\"leader_start\":%lld,"
	    "\"boot_id\":\"%s\",\"created\":%lld,\"expires\":%lld,\"metadata\":{},"
	    "\"origin\":\"%s\",\"version\":\"1\"}",
	    hex, (long)f->leader, (long long)id.start, id.boot, (long long)now,
	    (long long)(now + 3600), origin);
}

static void id_text(const char *hex, char out[ID_TEXT_SIZE])
{
	uint8_t id[ID_BYTES];

	assert_int_equal(id_parse(hex, id, NULL), PSM_OK);
	id_format(id, out);
}

static struct fixture fx; /* one test at a time */

static int setup(void **state)
{
	struct fixture *f = &fx;
	char line[4096], local[1024], remote[1024];
	struct psm_err err = {0};

	memset(f, 0, sizeof(*f));
	if (dfx_start(&f->d, &f->root, &f->p, "opsfleet") != 0)
		return -1;
	assert_string_not_equal(f->d.conf.cfg.host_name, FAR_HOST);
	f->user = f->root;
	f->user.admin = false;
	f->leader = dfx_leader_child();
	session_json(f, LOCAL_HEX, f->d.conf.cfg.host_name, local, sizeof(local));
	session_json(f, REMOTE_HEX, FAR_HOST, remote, sizeof(remote));
	snprintf(line, sizeof(line), "{\"op\":\"import\",\"sessions\":[%s,%s]}", local, remote);
	if (call(f, &f->root, line, NULL, &err) != PSM_OK)
		fail_msg("import: %s", err.msg);
	id_text(LOCAL_HEX, f->local);
	id_text(REMOTE_HEX, f->remote);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return dfx_stop(&fx.d, fx.p.shm, fx.p.dir);
}

static int count_session(const struct shm_entry *e, void *ctx)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

/* The ids the sessions op lists (extra: more request members), space-separated. */
static void listed(struct fixture *f, const char *extra, char *out, size_t n, bool *fleet)
{
	char line[128];
	cJSON *r = NULL, *s;
	struct psm_err err = {0};

	snprintf(line, sizeof(line), "{\"op\":\"sessions\"%s}", extra);
	assert_int_equal(call(f, &f->root, line, &r, &err), PSM_OK);
	out[0] = '\0';
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(r, "sessions"))
	{
		const char *o = cJSON_GetStringValue(cJSON_GetObjectItem(s, "origin"));

		snprintf(out + strlen(out), n - strlen(out), "%s@%s ",
			 cJSON_GetStringValue(cJSON_GetObjectItem(s, "session_id")), o ? o : "?");
	}
	*fleet = cJSON_IsTrue(cJSON_GetObjectItem(r, "fleet"));
	cJSON_Delete(r);
}

static void test_remote_session_not_in_table(void **state)
{
	struct fixture *f = *state;
	int n = 0;

	shm_scan(shm_writer_view(f->d.table.w), SHM_SESSION, count_session, &n);
	assert_int_equal(n, 1); /* this host's */
}

static void test_sessions_list_this_host_unless_fleet(void **state)
{
	struct fixture *f = *state;
	char got[512], want[512];
	bool fleet;

	listed(f, "", got, sizeof(got), &fleet);
	snprintf(want, sizeof(want), "%s@%s ", f->local, f->d.conf.cfg.host_name);
	assert_string_equal(got, want);
	assert_false(fleet);
	listed(f, ",\"fleet\":true", got, sizeof(got), &fleet);
	assert_non_null(strstr(got, want));
	snprintf(want, sizeof(want), "%s@%s ", f->remote, FAR_HOST);
	assert_non_null(strstr(got, want));
	assert_true(fleet);
}

static void test_remote_kill_signals_nothing(void **state)
{
	struct fixture *f = *state;
	struct psm_err err = {0};
	char line[160];
	cJSON *r = NULL;
	uint8_t id[ID_BYTES];

	vg_skip("pidfd_open(2) (session leaders)");
	snprintf(line, sizeof(line), "{\"op\":\"session_kill\",\"session_id\":\"%s\"}", f->remote);
	assert_int_equal(call(f, &f->root, line, &r, &err), PSM_OK);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(r, "host")));
	assert_string_equal(cJSON_GetObjectItem(r, "host")->valuestring, FAR_HOST);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(r, "leader")));
	assert_string_equal(cJSON_GetObjectItem(r, "leader")->valuestring, "remote");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r, "killed")));
	cJSON_Delete(r);
	assert_int_equal(id_parse(f->remote, id, NULL), PSM_OK);
	assert_non_null(state_tomb(f->d.store.st, REC_SESSION_END, id)); /* ended, journaled */
	assert_int_equal(f->d.sweep.n, 0); /* a signalled leader would wait here for SIGKILL */
	/* the same leader, by this host's session: signalled after the commit */
	snprintf(line, sizeof(line), "{\"op\":\"session_kill\",\"session_id\":\"%s\"}", f->local);
	assert_int_equal(call(f, &f->root, line, &r, &err), PSM_OK);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "killed")));
	cJSON_Delete(r);
	assert_int_equal(f->d.sweep.n, 1);
	assert_true(dfx_child_ended(f->leader, true));
}

static void test_remote_close_by_user_refused(void **state)
{
	struct fixture *f = *state;
	struct psm_err err = {0};
	char line[160], want[160];

	snprintf(line, sizeof(line), "{\"op\":\"session_close\",\"session_id\":\"%s\"}", f->remote);
	assert_int_equal(call(f, &f->user, line, NULL, &err), PSM_EPERM);
	snprintf(want, sizeof(want), "session %s is of host %s", f->remote, FAR_HOST);
	assert_non_null(strstr(err.msg, want));
	/* the same user, leader and uid, for this host's session: provably theirs */
	snprintf(line, sizeof(line), "{\"op\":\"session_close\",\"session_id\":\"%s\"}", f->local);
	assert_int_equal(call(f, &f->user, line, NULL, &err), PSM_OK);
}

static void test_fleet_off(void **state)
{
	struct fixture *f = *state;
	struct psm_err err = {0};
	cJSON *r = NULL, *c;
	char *text;

	assert_int_equal(call(f, &f->user, "{\"op\":\"fleet\"}", &r, &err), PSM_OK);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r, "enabled")));
	assert_int_equal(cJSON_GetArraySize(r), 1);
	cJSON_Delete(r);
	assert_int_equal(call(f, &f->root, "{\"op\":\"health\"}", &r, &err), PSM_OK);
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(r, "checks"))
	    assert_string_not_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c, "name")), "fleet");
	cJSON_Delete(r);
	text = metrics_text(&f->d);
	assert_non_null(text);
	assert_null(strstr(text, "psm_fleet_"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_remote_session_not_in_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sessions_list_this_host_unless_fleet, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_remote_kill_signals_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remote_close_by_user_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fleet_off, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
