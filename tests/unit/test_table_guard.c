/* SPDX-License-Identifier: MIT */
/* test_table_guard.c - psmd's watch over its live table: a truncate that races a write is
 * survived (SIGBUS caught) and mended; a chmod is found and mended; other SIGBUSes still kill. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "psmd.h"
#include "daemon_fixture.h"
#include "eval.h"
#include "ops.h"
#include "table_guard.h"
#include "table_watch.h"
#include "under_valgrind.h"

struct fixture {
	struct dfx_paths p;
	char path[96];
	struct psmd d;
	struct ops_peer root;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || dfx_start(&f->d, &f->root, &f->p, "guard") != 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "/dev/shm%s", f->p.shm);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int rc = dfx_stop(&f->d, f->p.shm, f->p.dir);

	signal(SIGBUS, SIG_DFL);
	free(f);
	return rc;
}

/* A grant as root, written into the table psmd holds mapped now. */
static void grant(struct fixture *f, const char *perm)
{
	char line[160];
	struct proto_req req;
	struct ops_ctx c = {.d = &f->d, .peer = &f->root, .now = (int64_t)time(NULL)};
	cJSON *fields = cJSON_CreateObject();
	struct psm_err err = {0};

	snprintf(line, sizeof(line),
		 "{\"op\":\"grant\",\"user\":\"daemon\",\"perm\":\"%s\","
		 "\"ttl\":\"1h\"}",
		 perm);
	assert_int_equal(proto_parse_request(line, strlen(line), &req, &err), PSM_OK);
	c.req = &req;
	if (ops_run(&c, fields, &err) != PSM_OK)
		fail_msg("%s: %s", line, err.msg);
	assert_int_equal(store_commit(&f->d.store, NULL, NULL), PSM_OK);
	proto_req_free(&req);
	cJSON_Delete(fields);
}

/* What a reader of the published table (not psmd's mapping) decides for daemon / perm. */
static int reader_allows(struct fixture *f, const char *perm)
{
	struct eval_req req = {
	    .user = "daemon", .perm = perm, .now = (int64_t)time(NULL), .audit = SHM_U32_NONE};
	struct eval_out out;
	struct shm_view v;
	int rc;

	assert_int_equal(store_user_id("daemon", &req.uid, &req.gid, NULL), PSM_OK);
	assert_int_equal(shm_view_open(&v, f->p.shm, NULL), PSM_OK);
	rc = eval_check(&v, &req, &out, NULL);
	shm_view_close(&v);
	assert_int_equal(rc, PSM_OK);
	return out.decision == EVAL_ALLOW;
}

static void test_guard_truncate_races_a_write(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	vg_skip("a deliberate SIGBUS (the table truncated under a write)");
	assert_int_equal(table_guard_install(NULL), PSM_OK); /* cmocka sets its own per test */
	grant(f, "k:one");
	/* the truncate lands after the batch's check: the grant's writes fault */
	assert_int_equal(truncate(f->path, 0), 0);
	grant(f, "k:two");
	assert_false(f->d.table.watch.damaged);
	table_watch_check(&f->d, false);
	assert_false(f->d.table.watch.damaged);
	assert_string_equal(f->d.table.watch.why, "shrank under a write: SIGBUS caught");
	assert_int_equal(f->d.table.watch.republished, 1);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, shm_writer_view(f->d.table.w)->size);
	assert_true(reader_allows(f, "k:one"));
	assert_true(reader_allows(f, "k:two"));
	table_heartbeat(&f->d.table);
	table_watch_check(&f->d, false);
	assert_int_equal(f->d.table.watch.republished, 1);
}

static void test_guard_truncate_found_before_a_write(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(truncate(f->path, 4096), 0);
	table_watch_check(&f->d, false);
	assert_non_null(strstr(f->d.table.watch.why, "size 4096, expected "));
	assert_int_equal(f->d.table.watch.republished, 1);
	grant(f, "k:after");
	assert_true(reader_allows(f, "k:after"));
}

static void test_guard_chmod_found_and_mended(void **state)
{
	struct fixture *f = *state;
	struct stat before, after;

	assert_int_equal(stat(f->path, &before), 0);
	assert_int_equal(chmod(f->path, 0666), 0);
	table_watch_check(&f->d, false);
	assert_string_equal(f->d.table.watch.why, "mode 0666");
	assert_int_equal(stat(f->path, &after), 0);
	assert_int_equal(after.st_mode & 07777, 0640);
	assert_int_not_equal(after.st_ino, before.st_ino);
	assert_int_equal(f->d.table.watch.republished, 1);
}

static void test_guard_blocked_then_rebuilt_by_a_reload(void **state)
{
	struct fixture *f = *state;
	struct psm_err err = {0};
	uint64_t builds;

	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(mkdir(f->path, 0777), 0);
	table_watch_check(&f->d, false);
	assert_true(f->d.table.watch.damaged);
	assert_string_equal(f->d.table.watch.why, "removed, replaced by a directory");
	assert_non_null(strstr(f->d.table.watch.err, "is a directory, not a psm table"));
	table_watch_check(&f->d, true); /* still blocked: still damaged, nothing counted */
	assert_true(f->d.table.watch.damaged);
	assert_int_equal(f->d.table.watch.republished, 0);
	assert_int_equal(rmdir(f->path), 0);
	assert_int_equal(daemon_rebuild(&f->d, f->d.table.capacity, &err), PSM_OK);
	builds = f->d.table.builds;
	table_watch_check(&f->d, true); /* the reload's table counts: no second build */
	assert_false(f->d.table.watch.damaged);
	assert_int_equal(f->d.table.watch.republished, 1);
	assert_int_equal(f->d.table.builds, builds);
	assert_true(access(f->path, R_OK) == 0);
}

static void test_guard_other_sigbus_still_kills(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (table_guard_install(NULL) != PSM_OK)
			_exit(2);
		raise(SIGBUS); /* si_addr outside the table's mapping */
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGBUS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_guard_truncate_races_a_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guard_truncate_found_before_a_write, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_guard_chmod_found_and_mended, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guard_blocked_then_rebuilt_by_a_reload, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_guard_other_sigbus_still_kills, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
