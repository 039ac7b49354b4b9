/* SPDX-License-Identifier: MIT */
/* test_ops.c - psmd's request handlers on a real daemon core: grants into the table, revokes,
 * sessions, authorization, growth, expiry, and state kept across a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "psmd.h"
#include "daemon_fixture.h"
#include "eval.h"
#include "log.h"
#include "ops.h"
#include "under_valgrind.h"

struct fixture {
	char dir[64];
	char conf[128];
	char shm[64];
	struct psmd d;
	struct ops_peer root, nobody;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void fx_start(struct fixture *f)
{
	struct psm_err err = {0};

	daemon_init(&f->d, f->conf, true);
	if (psmd_start(&f->d, &err) != PSM_OK)
		fail_msg("psmd_start: %s", err.msg);
}

static int64_t clock_ahead; /* seconds the ops' clock runs ahead of time(NULL) */

static int setup(void **state)
{
	static int n;
	struct fixture *f = calloc(1, sizeof(*f));
	char path[160], text[1024];

	clock_ahead = 0; /* a failed test may have left it moved */
	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/psm-test-ops-%ld-%d", (long)getpid(), n);
	snprintf(f->shm, sizeof(f->shm), "/psm-test-%ld-ops%d", (long)getpid(), n++);
	if (mkdir(f->dir, 0700) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/policy.json", f->dir);
	write_file(path, "{ \"roles\": { \"r\": [\"pol:*\"] },"
			 "  \"bindings\": [ { \"user\": \"daemon\", \"roles\": [\"r\"] } ] }");
	snprintf(f->conf, sizeof(f->conf), "%s/psmd.conf", f->dir);
	snprintf(text, sizeof(text),
		 "{ \"shm_name\": \"%s\", \"socket\": \"%s/sock\", \"state_dir\": \"%s/state\","
		 "  \"policy\": \"%s\", \"capacity\": 2, \"host_name\": \"ops-host\","
		 "  \"labels\": [\"web\"] }",
		 f->shm, f->dir, f->dir, path);
	write_file(f->conf, text);
	f->root = (struct ops_peer){.uid = 0, .gid = 0, .pid = getpid(), .admin = true};
	strcpy(f->root.name, "root");
	f->nobody = (struct ops_peer){.uid = 65534, .gid = 65534, .pid = getpid()};
	strcpy(f->nobody.name, "nobody");
	fx_start(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int rc = dfx_stop(&f->d, f->shm, f->dir);

	free(f);
	return rc;
}

/* Runs one request line as peer, its change left in the batch (not committed). */
static int call_held(struct fixture *f, const struct ops_peer *peer, const char *line,
		     cJSON **reply, struct psm_err *err, bool *changed)
{
	return dfx_call_held(&f->d, peer, (int64_t)time(NULL) + clock_ahead, line, reply, err,
			     changed);
}

/* Runs one request line as peer; *reply (may be NULL) gets the reply fields. */
static int call(struct fixture *f, const struct ops_peer *peer, const char *line, cJSON **reply,
		struct psm_err *err)
{
	return dfx_call(&f->d, peer, (int64_t)time(NULL) + clock_ahead, line, reply, err);
}

static char *grant(struct fixture *f, const char *user, const char *perm, const char *extra)
{
	char line[512];
	cJSON *r = NULL;
	struct psm_err err = {0};
	char *id;

	snprintf(line, sizeof(line), "{\"op\":\"grant\",\"user\":\"%s\",\"perm\":\"%s\"%s}", user,
		 perm, extra);
	if (call(f, &f->root, line, &r, &err) != PSM_OK)
		fail_msg("grant: %s", err.msg);
	id = strdup(cJSON_GetObjectItem(r, "grant_id")->valuestring);
	cJSON_Delete(r);
	return id;
}

/* The table's decision for user / perm, as a reader makes it. */
static bool allowed(struct fixture *f, const char *user, const char *perm, uint32_t audit)
{
	struct eval_req req = {.user = user, .perm = perm, .audit = audit, .now = time(NULL)};
	struct eval_out *out = malloc(sizeof(*out));
	struct psm_err err;
	bool yes;

	assert_non_null(out);
	assert_int_equal(store_user_id(user, &req.uid, &req.gid, NULL), PSM_OK);
	assert_int_equal(eval_check(shm_writer_view(f->d.table.w), &req, out, &err), PSM_OK);
	yes = out->decision == EVAL_ALLOW;
	free(out);
	return yes;
}

static void test_grant_is_in_the_table_at_once(void **state)
{
	struct fixture *f = *state;
	char *id = grant(f, "daemon", "sudo:run", ",\"ttl\":\"2h\",\"reason\":\"INC-42\"");

	assert_int_equal(strlen(id), ID_TEXT_LEN);
	assert_true(allowed(f, "daemon", "sudo:run", SHM_U32_NONE));
	assert_false(allowed(f, "daemon", "sudo:other", SHM_U32_NONE));
	assert_true(allowed(f, "daemon", "pol:x", SHM_U32_NONE)); /* the policy's, still */
	free(id);
}

static void test_grant_errors_change_nothing(void **state)
{
	struct fixture *f = *state;
	struct psm_err err = {0};
	struct state_counts sc;

	assert_int_equal(call(f, &f->root,
			      "{\"op\":\"grant\",\"user\":\"psm-no-such-user\","
			      "\"perm\":\"a:b\"}",
			      NULL, &err),
			 PSM_EINVAL);
	assert_non_null(strstr(err.msg, "unknown to NSS"));
	assert_int_equal(call(f, &f->root,
			      "{\"op\":\"grant\",\"user\":\"%psm-no-such-group\","
			      "\"perm\":\"a:b\"}",
			      NULL, &err),
			 PSM_EINVAL);
	assert_int_equal(call(f, &f->root,
			      "{\"op\":\"grant\",\"user\":\"daemon\",\"perm\":\"a:b\","
			      "\"until\":\"2001-01-01T00:00:00Z\"}",
			      NULL, &err),
			 PSM_EINVAL);
	assert_non_null(strstr(err.msg, "in the past"));
	assert_int_equal(call(f, &f->root,
			      "{\"op\":\"grant\",\"user\":\"daemon\",\"perm\":\"a:b\","
			      "\"session\":\"aaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
			      NULL, &err),
			 PSM_ENOENT);
	state_counts(f->d.store.st, &sc);
	assert_int_equal(sc.grants, 0);
	assert_int_equal(journal_pending(f->d.store.j), 0);
}

static void test_other_hosts_grant_is_kept_not_served(void **state)
{
	struct fixture *f = *state;
	char *a = grant(f, "daemon", "h:other", ",\"hosts\":[\"elsewhere\"]");
	char *b = grant(f, "daemon", "h:label", ",\"hosts\":[\"elsewhere\",\"web\"]");
	uint8_t id[ID_BYTES];

	assert_false(allowed(f, "daemon", "h:other", SHM_U32_NONE));
	assert_true(allowed(f, "daemon", "h:label", SHM_U32_NONE));
	assert_int_equal(id_parse(a, id, NULL), PSM_OK);
	assert_non_null(state_grant(f->d.store.st, id));
	free(a);
	free(b);
}

static void test_revoke_by_id_and_by_pattern(void **state)
{
	struct fixture *f = *state;
	char *id = grant(f, "daemon", "r:1", ""), line[128];
	char *two = grant(f, "daemon", "r:2", "");
	struct psm_err err = {0};

	snprintf(line, sizeof(line), "{\"op\":\"revoke\",\"grant_id\":\"%s\"}", id);
	assert_int_equal(call(f, &f->root, line, NULL, &err), PSM_OK);
	assert_false(allowed(f, "daemon", "r:1", SHM_U32_NONE));
	assert_int_equal(call(f, &f->root, line, NULL, &err), PSM_ENOENT);
	assert_non_null(strstr(err.msg, "already revoked"));
	assert_int_equal(call(f, &f->root,
			      "{\"op\":\"revoke\",\"user\":\"daemon\","
			      "\"perm\":\"r:2\"}",
			      NULL, &err),
			 PSM_OK);
	assert_false(allowed(f, "daemon", "r:2", SHM_U32_NONE));
	assert_int_equal(call(f, &f->root,
			      "{\"op\":\"revoke\",\"user\":\"daemon\","
			      "\"perm\":\"r:2\"}",
			      NULL, &err),
			 PSM_ENOENT);
	free(id);
	free(two);
}

/* psmd holds an expired grant a while: revoke neither counts nor finds it. */
static void test_revoke_skips_expired_grants(void **state)
{
	struct fixture *f = *state;
	char *gone = grant(f, "daemon", "x:1", ",\"ttl\":\"60s\""), line[128];
	char *live = grant(f, "daemon", "x:1", "");
	struct psm_err err = {0};
	cJSON *r = NULL;

	clock_ahead = 120;
	assert_int_equal(call(f, &f->root,
			      "{\"op\":\"revoke\",\"user\":\"daemon\","
			      "\"perm\":\"x:1\"}",
			      &r, &err),
			 PSM_OK);
	assert_int_equal(cJSON_GetObjectItem(r, "revoked")->valueint, 1);
	cJSON_Delete(r);
	snprintf(line, sizeof(line), "{\"op\":\"revoke\",\"grant_id\":\"%s\"}", gone);
	assert_int_equal(call(f, &f->root, line, NULL, &err), PSM_ENOENT);
	assert_non_null(strstr(err.msg, " expired"));
	clock_ahead = 0;
	free(gone);
	free(live);
}

/* export leaves out held expired records; stats labels them. */
static void test_export_and_stats_of_expired(void **state)
{
	struct fixture *f = *state;
	char *gone = grant(f, "daemon", "x:2", ",\"ttl\":\"60s\"");
	char *live = grant(f, "daemon", "x:3", "");
	struct psm_err err = {0};
	cJSON *r = NULL;

	clock_ahead = 120;
	assert_int_equal(call(f, &f->root, "{\"op\":\"export\"}", &r, &err), PSM_OK);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "grants")), 1);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "grants"), 0), "grant_id")
		->valuestring,
	    live);
	cJSON_Delete(r);
	assert_int_equal(call(f, &f->root, "{\"op\":\"stats\"}", &r, &err), PSM_OK);
	assert_int_equal(cJSON_GetObjectItem(r, "expired_held")->valueint, 1);
	cJSON_Delete(r);
	clock_ahead = 0;
	free(gone);
	free(live);
}

static void test_non_admin_limits(void **state)
{
	struct fixture *f = *state;
	struct psm_err err = {0};
	cJSON *r = NULL;

	assert_int_equal(call(f, &f->nobody,
			      "{\"op\":\"grant\",\"user\":\"nobody\","
			      "\"perm\":\"a:b\"}",
			      NULL, &err),
			 PSM_EPERM);
	assert_int_equal(call(f, &f->nobody,
			      "{\"op\":\"check\",\"user\":\"daemon\","
			      "\"perms\":[\"a:b\"]}",
			      NULL, &err),
			 PSM_EPERM);
	assert_int_equal(call(f, &f->nobody,
			      "{\"op\":\"check\",\"user\":\"nobody\","
			      "\"perms\":[\"a:b\"]}",
			      &r, &err),
			 PSM_OK);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r, "allowed")));
	cJSON_Delete(r);
	assert_int_equal(call(f, &f->nobody, "{\"op\":\"stats\"}", NULL, &err), PSM_OK);
	assert_int_equal(call(f, &f->nobody, "{\"op\":\"export\"}", NULL, &err), PSM_EPERM);
	/* a session whose leader is not the caller's process */
	assert_int_equal(call(f, &f->nobody,
			      "{\"op\":\"session_open\",\"user\":\"nobody\","
			      "\"service\":\"x\",\"pid\":1}",
			      NULL, &err),
			 PSM_EPERM);
}

/* session_open of user's session as peer, led by pid (audit 77); *r: the reply. */
static int try_open(struct fixture *f, const struct ops_peer *peer, const char *user, long pid,
		    cJSON **r, struct psm_err *err)
{
	char line[256];

	snprintf(line, sizeof(line),
		 "{\"op\":\"session_open\",\"user\":\"%s\",\"service\":"
		 "\"sshd\",\"tty\":\"pts/3\",\"pid\":%ld,\"audit\":77}",
		 user, pid);
	return call(f, peer, line, r, err);
}

/* A session of user opened by root, led by pid; its id. */
static char *open_led(struct fixture *f, const char *user, long pid)
{
	cJSON *r = NULL;
	struct psm_err err = {0};
	char *id;

	if (try_open(f, &f->root, user, pid, &r, &err) != PSM_OK)
		fail_msg("session_open: %s", err.msg);
	id = strdup(cJSON_GetObjectItem(r, "session_id")->valuestring);
	cJSON_Delete(r);
	return id;
}

/* A session of user led by the test's parent (alive, root's; never signalled here). */
static char *open_session(struct fixture *f, const char *user)
{
	return open_led(f, user, (long)getppid());
}

static void test_session_bound_grant_dies_with_its_session(void **state)
{
	struct fixture *f = *state;
	char *sid = open_session(f, "daemon"), extra[128], line[128];
	char *gid;
	struct psm_err err = {0};

	snprintf(extra, sizeof(extra), ",\"session\":\"%s\"", sid);
	gid = grant(f, "daemon", "bound:x", extra);
	assert_true(allowed(f, "daemon", "bound:x", 77));
	assert_false(allowed(f, "daemon", "bound:x", 78));
	assert_false(allowed(f, "daemon", "bound:x", SHM_U32_NONE));
	snprintf(line, sizeof(line), "{\"op\":\"session_close\",\"session_id\":\"%s\"}", sid);
	assert_int_equal(call(f, &f->root, line, NULL, &err), PSM_OK);
	assert_false(allowed(f, "daemon", "bound:x", 77));
	free(sid);
	free(gid);
}

static void test_session_ownership(void **state)
{
	struct fixture *f = *state;
	char *sid = open_session(f, "daemon"), line[128];
	struct psm_err err = {0};
	cJSON *r = NULL;

	snprintf(line, sizeof(line), "{\"op\":\"session_show\",\"session_id\":\"%s\"}", sid);
	assert_int_equal(call(f, &f->nobody, line, NULL, &err), PSM_EPERM);
	assert_int_equal(call(f, &f->root, line, &r, &err), PSM_OK);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(r, "session"), "service")->valuestring, "sshd");
	cJSON_Delete(r);
	snprintf(line, sizeof(line), "{\"op\":\"session_close\",\"session_id\":\"%s\"}", sid);
	assert_int_equal(call(f, &f->nobody, line, NULL, &err), PSM_EPERM);
	assert_int_equal(call(f, &f->nobody, "{\"op\":\"sessions\"}", &r, &err), PSM_OK);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "sessions")), 0);
	cJSON_Delete(r);
	free(sid);
}

static void test_table_grows_never_evicts(void **state)
{
	struct fixture *f = *state;
	char perm[32];
	int i;

	for (i = 0; i < 60; i++) {
		snprintf(perm, sizeof(perm), "grow:%d", i);
		free(grant(f, "daemon", perm, ""));
	}
	assert_true(f->d.table.capacity >= 60);
	for (i = 0; i < 60; i++) {
		snprintf(perm, sizeof(perm), "grow:%d", i);
		assert_true(allowed(f, "daemon", perm, SHM_U32_NONE));
	}
}

static void test_restart_keeps_acknowledged_grants(void **state)
{
	struct fixture *f = *state;
	char *id = grant(f, "daemon", "keep:x", ",\"ttl\":\"1h\"");
	char *gone = grant(f, "daemon", "keep:gone", ""), line[128];

	snprintf(line, sizeof(line), "{\"op\":\"revoke\",\"grant_id\":\"%s\"}", gone);
	assert_int_equal(call(f, &f->root, line, NULL, NULL), PSM_OK);
	psmd_stop(&f->d);
	fx_start(f);
	assert_true(allowed(f, "daemon", "keep:x", SHM_U32_NONE));
	assert_false(allowed(f, "daemon", "keep:gone", SHM_U32_NONE));
	free(id);
	free(gone);
}

/* A request whose change stays in the batch; its id from the reply (key), or NULL. */
static char *held(struct fixture *f, const char *line, const char *key)
{
	struct psm_err err = {0};
	cJSON *r = NULL;
	bool changed;
	char *id = NULL;

	if (call_held(f, &f->root, line, &r, &err, &changed) != PSM_OK)
		fail_msg("%s: %s", line, err.msg);
	assert_true(changed);
	if (key != NULL)
		id = strdup(cJSON_GetObjectItem(r, key)->valuestring);
	cJSON_Delete(r);
	return id;
}

/* store_commit with the journal unable to grow by one byte: EFBIG at the write. */
static int commit_failing(struct fixture *f, struct psm_err *err)
{
	struct journal_info ji;
	struct rlimit old, lim;
	int rc;

	journal_info(f->d.store.j, &ji);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)ji.segment_bytes;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = store_commit(&f->d.store, NULL, err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	return rc;
}

static void test_grant_enters_the_table_after_its_commit(void **state)
{
	struct fixture *f = *state;
	char *id = held(f, "{\"op\":\"grant\",\"user\":\"daemon\",\"perm\":\"c:1\"}", "grant_id");

	assert_false(allowed(f, "daemon", "c:1", SHM_U32_NONE)); /* not on disk yet */
	assert_int_equal(store_commit(&f->d.store, NULL, NULL), PSM_OK);
	assert_true(allowed(f, "daemon", "c:1", SHM_U32_NONE));
	free(id);
}

/* The batch: a session ends (its bound grant with it), a grant is revoked, another is made,
 * and one made and revoked; the commit fails: all of it is taken back. */
static void test_failed_commit_takes_the_batch_back(void **state)
{
	struct fixture *f = *state;
	char *sid = open_session(f, "daemon"), *a = grant(f, "daemon", "a:1", ""), line[160];
	char *bound, *b, *c;
	struct psm_err err = {0};
	struct state_counts sc;
	uint8_t aid[ID_BYTES];

	snprintf(line, sizeof(line), ",\"session\":\"%s\"", sid);
	bound = grant(f, "daemon", "bound:1", line);
	snprintf(line, sizeof(line), "{\"op\":\"session_close\",\"session_id\":\"%s\"}", sid);
	free(held(f, line, NULL));
	snprintf(line, sizeof(line), "{\"op\":\"revoke\",\"grant_id\":\"%s\"}", a);
	free(held(f, line, NULL));
	b = held(f, "{\"op\":\"grant\",\"user\":\"daemon\",\"perm\":\"b:1\"}", "grant_id");
	c = held(f, "{\"op\":\"grant\",\"user\":\"daemon\",\"perm\":\"c:1\"}", "grant_id");
	snprintf(line, sizeof(line), "{\"op\":\"revoke\",\"grant_id\":\"%s\"}", c);
	free(held(f, line, NULL));

	assert_int_equal(commit_failing(f, &err), PSM_ESYS);
	assert_non_null(strstr(err.msg, "write"));
	assert_true(allowed(f, "daemon", "a:1", SHM_U32_NONE));
	assert_true(allowed(f, "daemon", "bound:1", 77));
	assert_false(allowed(f, "daemon", "b:1", SHM_U32_NONE));
	assert_false(allowed(f, "daemon", "c:1", SHM_U32_NONE));
	state_counts(f->d.store.st, &sc);
	assert_int_equal(sc.grants, 2);
	assert_int_equal(sc.sessions, 1);
	assert_int_equal(sc.revokes + sc.session_ends, 0);
	assert_int_equal(id_parse(a, aid, NULL), PSM_OK);
	assert_non_null(state_grant(f->d.store.st, aid));
	assert_int_equal(journal_pending(f->d.store.j), 0);

	/* the disk takes writes again: so does psmd, revokes included */
	snprintf(line, sizeof(line), "{\"op\":\"revoke\",\"grant_id\":\"%s\"}", a);
	assert_int_equal(call(f, &f->root, line, NULL, &err), PSM_OK);
	assert_false(allowed(f, "daemon", "a:1", SHM_U32_NONE));
	free(b);
	b = grant(f, "daemon", "b:1", "");
	psmd_stop(&f->d);
	fx_start(f);
	assert_true(allowed(f, "daemon", "b:1", SHM_U32_NONE));
	assert_true(allowed(f, "daemon", "bound:1", 77));
	assert_false(allowed(f, "daemon", "a:1", SHM_U32_NONE));
	assert_false(allowed(f, "daemon", "c:1", SHM_U32_NONE));
	free(sid);
	free(a);
	free(bound);
	free(b);
	free(c);
}

static void test_sweep_reclaims_what_expired(void **state)
{
	struct fixture *f = *state;
	char *id = grant(f, "daemon", "sw:x", ",\"ttl\":\"1m\"");
	struct shm_info before, after;

	assert_int_equal(table_info(&f->d.table, &before, NULL), PSM_OK);
	assert_int_equal(store_sweep(&f->d.store, time(NULL) + 30), 0);
	assert_int_equal(store_sweep(&f->d.store, time(NULL) + 120), 1);
	assert_int_equal(table_info(&f->d.table, &after, NULL), PSM_OK);
	assert_int_equal(after.records, before.records - 1);
	free(id);
}

/* A grant of daemon's is exported and psmd started afresh: returns the import request of
 * that export's grants, for the caller to send (and free). */
static cJSON *export_then_fresh(void **state)
{
	struct fixture *f = *state;
	char *id = grant(f, "daemon", "imp:x", ",\"ttl\":\"1h\"");
	cJSON *exp = NULL, *req = cJSON_CreateObject();

	assert_int_equal(call(f, &f->root, "{\"op\":\"export\"}", &exp, NULL), PSM_OK);
	free(id);
	teardown(state);
	setup(state);
	cJSON_AddStringToObject(req, "op", "import");
	cJSON_AddItemToObject(req, "grants", cJSON_DetachItemFromObject(exp, "grants"));
	cJSON_Delete(exp);
	return req;
}

static void test_import_dry_run_changes_nothing(void **state)
{
	cJSON *req = export_then_fresh(state), *r = NULL;
	struct fixture *f = *state;
	struct state_counts sc;
	char *line;

	cJSON_AddTrueToObject(req, "dry_run");
	line = cJSON_PrintUnformatted(req);
	assert_int_equal(call(f, &f->root, line, &r, NULL), PSM_OK);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(r, "imported"), "grants")->valueint, 1);
	state_counts(f->d.store.st, &sc);
	assert_int_equal(sc.grants, 0);
	assert_false(allowed(f, "daemon", "imp:x", SHM_U32_NONE));
	cJSON_Delete(r);
	free(line);
	cJSON_DeleteItemFromObject(req, "dry_run");
	line = cJSON_PrintUnformatted(req);
	assert_int_equal(call(f, &f->root, line, NULL, NULL), PSM_OK);
	assert_true(allowed(f, "daemon", "imp:x", SHM_U32_NONE));
	free(line);
	cJSON_Delete(req);
}

/* Whether a grants reply lists principal with pattern. */
static bool listed(const cJSON *r, const char *principal, const char *pattern)
{
	const cJSON *g;

	cJSON_ArrayForEach(
	    g, cJSON_GetObjectItem(
		   r, "grants")) if (strcmp(cJSON_GetObjectItem(g, "principal")->valuestring,
					    principal) == 0 &&
				     strcmp(cJSON_GetObjectItem(g, "pattern")->valuestring,
					    pattern) == 0) return true;
	return false;
}

/* An import whose commit fails leaves nothing; the same import goes in afterwards. */
static void test_failed_commit_takes_an_import_back(void **state)
{
	cJSON *req = export_then_fresh(state);
	struct fixture *f = *state;
	struct state_counts sc;
	struct psm_err err = {0};
	char *line = cJSON_PrintUnformatted(req);

	free(held(f, line, NULL));
	assert_false(allowed(f, "daemon", "imp:x", SHM_U32_NONE)); /* not on disk yet */
	assert_int_equal(commit_failing(f, &err), PSM_ESYS);
	state_counts(f->d.store.st, &sc);
	assert_int_equal(sc.grants, 0);
	assert_false(allowed(f, "daemon", "imp:x", SHM_U32_NONE));
	assert_int_equal(call(f, &f->root, line, NULL, NULL), PSM_OK);
	assert_true(allowed(f, "daemon", "imp:x", SHM_U32_NONE));
	free(line);
	cJSON_Delete(req);
}

static void test_grants_of_a_user_include_its_groups(void **state)
{
	struct fixture *f = *state;
	cJSON *r = NULL;

	free(grant(f, "daemon", "own:x", ""));
	free(grant(f, "%daemon", "grp:x", ""));
	free(grant(f, "nobody", "other:x", ""));
	assert_int_equal(call(f, &f->root, "{\"op\":\"grants\",\"user\":\"daemon\"}", &r, NULL),
			 PSM_OK);
	assert_true(listed(r, "daemon", "own:x"));
	assert_true(listed(r, "%daemon", "grp:x"));
	assert_true(listed(r, "daemon", "pol:*")); /* the policy's */
	assert_false(listed(r, "nobody", "other:x"));
	cJSON_Delete(r);
	assert_int_equal(call(f, &f->nobody, "{\"op\":\"grants\"}", &r, NULL), PSM_OK);
	assert_true(listed(r, "nobody", "other:x"));
	assert_false(listed(r, "daemon", "own:x"));
	cJSON_Delete(r);
}

/* session_kill signals the leader only once the session's end is on disk: a commit that
 * fails takes the end back and leaves the leader alone; the next kill's commit signals it. */
static void test_kill_signals_after_its_commit(void **state)
{
	struct fixture *f = *state;
	pid_t child;
	char line[256], *sid;
	struct psm_err err = {0};

	vg_skip("pidfd_open(2) (session leaders)");
	child = dfx_leader_child();
	sid = open_led(f, "daemon", (long)child);
	snprintf(line, sizeof(line), "{\"op\":\"session_kill\",\"session_id\":\"%s\"}", sid);
	free(held(f, line, NULL));
	assert_false(dfx_child_ended(child, false)); /* not on disk yet: not signalled */
	assert_int_equal(commit_failing(f, &err), PSM_ESYS);
	assert_false(dfx_child_ended(child, false));
	assert_int_equal(f->d.sweep.n, 0); /* no pidfd kept for a kill taken back */

	free(held(f, line, NULL));
	assert_false(dfx_child_ended(child, false));
	assert_int_equal(store_commit(&f->d.store, NULL, NULL), PSM_OK);
	if (!dfx_child_ended(child, true)) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		fail_msg("the leader of a killed session lives after the commit");
	}
	free(sid);
}

/* The leader named at open must be one the requester could signal itself: a non-root
 * admin may not name root's process (psmd would signal it as root), nobody names psmd's
 * own pid or pid 1; a zombie leader has ended. */
static void test_session_leader_must_be_the_requesters(void **state)
{
	struct fixture *f = *state;
	struct ops_peer adm = {.uid = 65534, .gid = 65534, .pid = getpid(), .admin = true};
	pid_t child;
	char line[256], *sid;
	struct psm_err err = {0};
	cJSON *r = NULL;

	vg_skip("pidfd_open(2) (session leaders)");
	child = dfx_leader_child();
	assert_int_equal(try_open(f, &adm, "daemon", (long)child, NULL, &err), PSM_EPERM);
	assert_non_null(strstr(err.msg, "not a process of the requester"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(try_open(f, &f->root, "daemon", (long)getpid(), NULL, &err), PSM_EPERM);
	assert_non_null(strstr(err.msg, "never a session leader")); /* psmd's own */
	memset(&err, 0, sizeof(err));
	assert_int_equal(try_open(f, &f->root, "daemon", 1, NULL, &err), PSM_EPERM);

	sid = open_led(f, "daemon", (long)child);
	kill(child, SIGKILL); /* a zombie until reaped: it has ended */
	for (int i = 0; i < 500; i++) {
		char path[64], st[512] = "";
		FILE *fp;

		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)child);
		if ((fp = fopen(path, "r")) != NULL) {
			(void)!fgets(st, sizeof(st), fp);
			fclose(fp);
		}
		if (strstr(st, ") Z ") != NULL)
			break;
		usleep(10000);
	}
	snprintf(line, sizeof(line), "{\"op\":\"session_kill\",\"session_id\":\"%s\"}", sid);
	assert_int_equal(call(f, &f->root, line, &r, &err), PSM_OK);
	assert_string_equal(cJSON_GetObjectItem(r, "leader")->valuestring, "exited");
	cJSON_Delete(r);
	assert_true(dfx_child_ended(child, true));
	free(sid);
}

/* One valid request per op, in an order that makes each succeed (@: the pid of the session's
 * leader for session_open, the session's id after it), and a key its handler replies with. */
static const struct op_line {
	const char *op;
	const char *line;
	const char *key;
} op_lines[] = {
    {"grant", "{\"op\":\"grant\",\"user\":\"daemon\",\"perm\":\"x:y\",\"ttl\":\"1h\"}", "grant_id"},
    {"grants", "{\"op\":\"grants\",\"user\":\"daemon\"}", "grants"},
    {"revoke", "{\"op\":\"revoke\",\"user\":\"daemon\",\"perm\":\"x:y\"}", "revoked"},
    {"check", "{\"op\":\"check\",\"user\":\"daemon\",\"perms\":[\"pol:a\"]}", "allowed"},
    {"session_open", "{\"op\":\"session_open\",\"user\":\"daemon\",\"service\":\"sshd\",\"pid\":@}",
     "session_id"},
    {"sessions", "{\"op\":\"sessions\",\"user\":\"daemon\"}", "sessions"},
    {"session_show", "{\"op\":\"session_show\",\"session_id\":\"@\"}", "session"},
    {"session_extend", "{\"op\":\"session_extend\",\"session_id\":\"@\",\"ttl\":\"2h\"}",
     "session"},
    {"session_close", "{\"op\":\"session_close\",\"session_id\":\"@\"}", "closed"},
    {"session_kill", "{\"op\":\"session_kill\",\"session_id\":\"@\"}", "killed"},
    {"cleanup", "{\"op\":\"cleanup\"}", "removed"},
    {"stats", "{\"op\":\"stats\"}", "expired_held"},
    {"health", "{\"op\":\"health\"}", "healthy"},
    {"metrics", "{\"op\":\"metrics\"}", "text"},
    {"export", "{\"op\":\"export\"}", "grants"},
    {"import", "{\"op\":\"import\",\"grants\":[],\"dry_run\":true}", "imported"},
    {"reload", "{\"op\":\"reload\"}", "policy"},
    {"recover", "{\"op\":\"recover\"}", "damage"},
    {"fleet", "{\"op\":\"fleet\"}", "enabled"},
    {"history", "{\"op\":\"history\",\"user\":\"daemon\",\"since\":\"1h\"}", "events"},
};

#define N_OP_LINES (sizeof(op_lines) / sizeof(op_lines[0]))

/* Every op of the protocol's table has a line in op_lines, and every line names an op. */
static void assert_op_lines_cover_the_protocol(void)
{
	size_t j;

	for (int i = 0; i < PROTO_OP_COUNT; i++) {
		const struct proto_op *op = proto_op_get((enum proto_op_id)i);

		for (j = 0; j < N_OP_LINES && strcmp(op_lines[j].op, op->name) != 0; j++)
			;
		if (j == N_OP_LINES)
			fail_msg("op %s has no valid request line in op_lines", op->name);
	}
	for (j = 0; j < N_OP_LINES; j++)
		if (proto_op_find(op_lines[j].op) == NULL)
			fail_msg("op_lines: %s is no op of the protocol", op_lines[j].op);
	assert_int_equal(N_OP_LINES, PROTO_OP_COUNT);
}

/* Every op reaches its own handler: a valid request of each succeeds with the handler's reply. */
static void test_every_op_has_a_handler(void **state)
{
	struct fixture *f = *state;
	char line[256], pid[24], *sid = NULL;
	const char *arg, *at;

	assert_op_lines_cover_the_protocol();
	snprintf(pid, sizeof(pid), "%ld", (long)dfx_leader_child());
	for (size_t i = 0; i < N_OP_LINES; i++) {
		struct psm_err err = {0};
		cJSON *r = NULL;

		arg = strcmp(op_lines[i].op, "session_open") == 0 ? pid : sid;
		at = strchr(op_lines[i].line, '@');
		assert_true(at == NULL || arg != NULL);
		snprintf(line, sizeof(line), "%.*s%s%s", at ? (int)(at - op_lines[i].line) : 256,
			 op_lines[i].line, at ? arg : "", at ? at + 1 : "");
		if (call(f, &f->root, line, &r, &err) != PSM_OK)
			fail_msg("%s: %s", line, err.msg);
		if (cJSON_GetObjectItem(r, op_lines[i].key) == NULL)
			fail_msg("%s: no \"%s\" in the reply", line, op_lines[i].key);
		if (strcmp(op_lines[i].op, "session_open") == 0)
			sid = strdup(cJSON_GetObjectItem(r, "session_id")->valuestring);
		cJSON_Delete(r);
	}
	free(sid);
}

/* Every test runs between setup and teardown. */
#define OPS_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    OPS_TEST(test_grant_is_in_the_table_at_once),
	    OPS_TEST(test_grant_errors_change_nothing),
	    OPS_TEST(test_other_hosts_grant_is_kept_not_served),
	    OPS_TEST(test_revoke_by_id_and_by_pattern),
	    OPS_TEST(test_revoke_skips_expired_grants),
	    OPS_TEST(test_export_and_stats_of_expired),
	    OPS_TEST(test_non_admin_limits),
	    OPS_TEST(test_session_bound_grant_dies_with_its_session),
	    OPS_TEST(test_session_ownership),
	    OPS_TEST(test_table_grows_never_evicts),
	    OPS_TEST(test_restart_keeps_acknowledged_grants),
	    OPS_TEST(test_grant_enters_the_table_after_its_commit),
	    OPS_TEST(test_failed_commit_takes_the_batch_back),
	    OPS_TEST(test_sweep_reclaims_what_expired),
	    OPS_TEST(test_import_dry_run_changes_nothing),
	    OPS_TEST(test_failed_commit_takes_an_import_back),
	    OPS_TEST(test_kill_signals_after_its_commit),
	    OPS_TEST(test_session_leader_must_be_the_requesters),
	    OPS_TEST(test_grants_of_a_user_include_its_groups),
	    OPS_TEST(test_every_op_has_a_handler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
