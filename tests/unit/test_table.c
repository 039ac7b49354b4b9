/* SPDX-License-Identifier: MIT */
/* test_table.c - psmd/table.c: build from config + policy, grow, republish, heartbeat. */
#include <fcntl.h>
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

#include "config.h"
#include "log.h"
#include "policy.h"
#include "table.h"

/* The unknown group comes first: every attempt of a growing build meets its warning before
 * the table comes out full. */
static const char policy_a[] =
    "{ \"roles\": { \"ops\": [\"login:*\", \"sudo:run\", \"a:1\", \"a:2\", \"a:3\"] },\n"
    "  \"bindings\": [ { \"group\": \"psm-test-no-such-group\", \"roles\": [\"ops\"] },\n"
    "                { \"user\": \"root\", \"roles\": [\"ops\"] } ] }\n";

static const char policy_b[] =
    "{ \"roles\": { \"ops\": [\"login:*\", \"sudo:run\", \"a:1\", \"a:2\", \"a:3\", \"db:x\"] },\n"
    "  \"bindings\": [ { \"user\": \"root\", \"roles\": [\"ops\"] } ] }\n";

struct fixture {
	struct psmd_config cfg;
	struct policy *pol;
	struct table t;
	char name[64];
	gid_t group;	       /* the table_src's */
	uint64_t min_capacity; /* the table_src's */
};

static int setup(void **state)
{
	static int n;
	struct fixture *f = calloc(1, sizeof(*f));
	struct psm_err e;

	if (f == NULL || config_defaults(&f->cfg, &e) != PSM_OK)
		return -1;
	snprintf(f->name, sizeof(f->name), "/psm-test-%ld-%d", (long)getpid(), n++);
	free(f->cfg.shm_name);
	f->cfg.shm_name = strdup(f->name);
	f->cfg.capacity = 1;
	log_open(LOG_MODE_STDERR);
	*state = f;
	return f->cfg.shm_name == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	table_close(&f->t);
	if (f->pol != NULL)
		policy_free(f->pol);
	shm_unlink(f->name);
	config_free(&f->cfg);
	free(f);
	return 0;
}

static void use_policy(struct fixture *f, const char *text)
{
	struct psm_err e;

	if (f->pol != NULL)
		policy_free(f->pol);
	f->pol = NULL;
	assert_int_equal(policy_load_text("p.json", text, strlen(text), &f->pol, &e), PSM_OK);
}

static int rebuild(struct fixture *f, struct psm_err *e)
{
	struct table_src src = {
	    .cfg = &f->cfg, .pol = f->pol, .group = f->group, .min_capacity = f->min_capacity};

	return table_rebuild(&f->t, &src, e);
}

/* Whether the table under f->name holds grant key -> pattern. */
static bool has_grant(const struct shm_view *v, const char *key, const char *pattern)
{
	struct shm_recbuf buf;
	struct shm_entry e;
	struct shm_iter it;

	shm_iter_init(v, &it, SHM_GRANT, key, strlen(key));
	while (shm_iter_next(v, &it, &e, &buf) == 1)
		if (e.flen[SHM_F_PATTERN] == strlen(pattern) &&
		    memcmp(e.f[SHM_F_PATTERN], pattern, strlen(pattern)) == 0)
			return true;
	return false;
}

static void test_build_grows_and_publishes(void **state)
{
	struct fixture *f = *state;
	struct shm_info info;
	struct shm_view v;
	struct psm_err e;
	struct stat st;
	time_t now = time(NULL);

	use_policy(f, policy_a);
	f->group = 65534;
	assert_int_equal(rebuild(f, &e), PSM_OK);
	assert_int_equal(f->t.capacity, 8); /* 1 -> 2 -> 4 -> 8 for 5 records */
	assert_int_equal(f->t.builds, 1);
	assert_int_equal(f->t.gid, 65534);
	assert_int_equal(shm_view_open(&v, f->name, &e), PSM_OK);
	assert_int_equal(shm_info_get(&v, &info, &e), PSM_OK);
	assert_int_equal(info.records, 5);
	assert_int_equal(info.capacity, 8);
	assert_int_equal(info.policy_roles, 1);
	assert_int_equal(info.policy_bindings, 2);
	assert_true(info.heartbeat >= now); /* stamped by the build */
	assert_true(has_grant(&v, "root", "sudo:run"));
	assert_int_equal(fstat(v.fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 65534);
	shm_view_close(&v);
}

/* Runs a build with stderr in a file; returns what the log said. */
static char *rebuild_logged(struct fixture *f)
{
	char path[] = "/tmp/psm-test-log-XXXXXX";
	static char out[4096];
	struct psm_err e;
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	assert_int_equal(rebuild(f, &e), PSM_OK);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return out;
}

static void test_warnings_once_however_often_it_grows(void **state)
{
	struct fixture *f = *state;
	const char *log, *p;
	int warnings = 0, grows = 0;

	use_policy(f, policy_a);
	log = rebuild_logged(f);
	for (p = log; (p = strstr(p, "unknown to NSS")) != NULL; p++)
		warnings++;
	for (p = log; (p = strstr(p, "table full at capacity")) != NULL; p++)
		grows++;
	assert_int_equal(grows, 3);
	assert_int_equal(warnings, 1);
	assert_non_null(strstr(log, "psmd: policy: p.json binding 1: group "
				    "\"psm-test-no-such-group\" unknown to NSS"));
}

static void test_rebuild_retires_the_old_table(void **state)
{
	struct fixture *f = *state;
	struct shm_info before, after;
	struct shm_view old, v;
	struct psm_err e;

	use_policy(f, policy_a);
	assert_int_equal(rebuild(f, &e), PSM_OK);
	assert_int_equal(shm_view_open(&old, f->name, &e), PSM_OK);
	assert_false(shm_view_retired(&old));
	assert_int_equal(table_info(&f->t, &before, &e), PSM_OK);
	use_policy(f, policy_b);
	assert_int_equal(rebuild(f, &e), PSM_OK);
	assert_int_equal(f->t.builds, 2);
	assert_int_equal(table_info(&f->t, &after, &e), PSM_OK);
	assert_true(after.generation > before.generation); /* the count goes on */
	assert_true(shm_view_retired(&old));
	assert_false(has_grant(&old, "root", "db:x"));
	assert_int_equal(shm_view_open(&v, f->name, &e), PSM_OK);
	assert_true(has_grant(&v, "root", "db:x"));
	assert_false(shm_view_retired(&v));
	shm_view_close(&old);
	shm_view_close(&v);
}

static void test_failed_rebuild_keeps_the_served_table(void **state)
{
	struct fixture *f = *state;
	struct shm_info before, after;
	struct shm_writer *w;
	struct shm_view v;
	struct psm_err e;

	use_policy(f, policy_a);
	assert_int_equal(rebuild(f, &e), PSM_OK);
	w = f->t.w;
	assert_int_equal(table_info(&f->t, &before, &e), PSM_OK);
	free(f->cfg.shm_name); /* a name the table cannot be created under: the build fails */
	f->cfg.shm_name = strdup("/psm-test/not-a-name");
	assert_non_null(f->cfg.shm_name);
	use_policy(f, policy_b);
	assert_int_equal(rebuild(f, &e), PSM_EINVAL);
	assert_ptr_equal(f->t.w, w);
	assert_int_equal(f->t.builds, 1);
	assert_int_equal(shm_view_open(&v, f->name, &e), PSM_OK);
	assert_false(shm_view_retired(&v));
	assert_int_equal(shm_info_get(&v, &after, &e), PSM_OK);
	assert_int_equal(after.records, before.records);
	assert_int_equal(after.generation, before.generation);
	assert_false(has_grant(&v, "root", "db:x"));
	shm_view_close(&v);
}

/* A rebuild after growth starts at the capacity it grew to (min_capacity), not the configured. */
static void test_rebuild_starts_at_min_capacity(void **state)
{
	struct fixture *f = *state;
	struct shm_info info;
	struct psm_err e;

	use_policy(f, policy_b);
	f->min_capacity = 16;
	assert_int_equal(rebuild(f, &e), PSM_OK);
	assert_int_equal(f->t.capacity, 16);
	assert_int_equal(table_info(&f->t, &info, &e), PSM_OK);
	assert_int_equal(info.capacity, 16);
	f->cfg.capacity = 32; /* the configured one when it is larger */
	assert_int_equal(rebuild(f, &e), PSM_OK);
	assert_int_equal(f->t.capacity, 32);
}

static void test_heartbeat_and_close(void **state)
{
	struct fixture *f = *state;
	struct shm_info info;
	struct shm_view v;
	struct psm_err e;
	time_t now;

	use_policy(f, policy_b);
	assert_int_equal(rebuild(f, &e), PSM_OK);
	shm_writer_heartbeat(f->t.w, 5);
	assert_int_equal(table_info(&f->t, &info, &e), PSM_OK);
	assert_int_equal(info.heartbeat, 5);
	now = time(NULL);
	table_heartbeat(&f->t);
	assert_int_equal(table_info(&f->t, &info, &e), PSM_OK);
	assert_true(info.heartbeat >= now && info.heartbeat <= now + 2);
	table_close(&f->t);
	assert_null(f->t.w);
	assert_int_equal(table_info(&f->t, &info, &e), PSM_EUNAVAIL);
	table_heartbeat(&f->t);					  /* no table: nothing to do */
	assert_int_equal(shm_view_open(&v, f->name, &e), PSM_OK); /* left for readers */
	assert_int_equal(shm_info_get(&v, &info, &e), PSM_OK);
	assert_true(info.heartbeat >= now);
	shm_view_close(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_build_grows_and_publishes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_warnings_once_however_often_it_grows, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rebuild_retires_the_old_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_rebuild_keeps_the_served_table, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rebuild_starts_at_min_capacity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_heartbeat_and_close, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
