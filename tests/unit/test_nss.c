/* SPDX-License-Identifier: MIT */
/* test_nss.c - nss.c: known and unknown users and groups, and entries larger than the first buffer.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "nss.h"

#define BIG_UID 61010u
#define BIG_GID 61110u
#define ALL_GID 61000u
#define NO_ID 3999999990u /* neither a uid nor a gid of any test host */

static void test_nss_root(void **state)
{
	struct psm_err e = {0};
	struct nss_groups g;
	struct nss_id u;
	bool has0 = false;

	(void)state;
	assert_int_equal(nss_user("root", &u, &e), 1);
	assert_int_equal(u.uid, 0);
	assert_int_equal(u.gid, 0);
	memset(&u, 0xff, sizeof(u));
	assert_int_equal(nss_user_uid(0, &u, &e), 1);
	assert_string_equal(u.name, "root");
	assert_int_equal(u.gid, 0);
	assert_int_equal(nss_group("root", &u, &e), 1);
	assert_int_equal(u.gid, 0);
	memset(&u, 0xff, sizeof(u));
	assert_int_equal(nss_group_gid(0, &u, &e), 1);
	assert_string_equal(u.name, "root");
	assert_int_equal(nss_groups(&g, "root", 0, &e), 1);
	for (int i = 0; i < g.n; i++)
		has0 |= g.list[i] == 0;
	nss_groups_free(&g);
	assert_true(has0);
	assert_int_equal(e.code, PSM_OK);
}

static void test_nss_unknown(void **state)
{
	struct psm_err e = {0};
	struct nss_id u;
	char longname[NSS_NAME_MAX + 2];

	(void)state;
	assert_int_equal(nss_user("psm-test-no-such-user", &u, &e), 0);
	assert_int_equal(nss_group("psm-test-no-such-group", &u, &e), 0);
	assert_int_equal(nss_user_uid((uid_t)NO_ID, &u, &e), 0);
	assert_int_equal(nss_group_gid((gid_t)NO_ID, &u, &e), 0);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(nss_user(longname, &u, &e), 0);
	assert_int_equal(nss_group(longname, &u, &e), 0);
	assert_int_equal(e.code, PSM_OK); /* unknown is an answer, not an error */
}

/* Writes the passwd line of NAME (uid id, group psm-all) whose gecos is n 'x'. */
static int write_big_user(FILE *f, const char *name, unsigned id, size_t n)
{
	fprintf(f, "%s:x:%u:%u:", name, id, ALL_GID);
	for (size_t i = 0; i < n; i++)
		fputc('x', f);
	return fprintf(f, ":/:/bin/sh\n") < 0 ? -1 : 0;
}

/* The private passwd and group files: root, psm-big (10 KiB gecos), psm-huge (2 MiB gecos,
 * beyond NSS_BUF_MAX), the group psm-bigadm of psm-big with a 10 KiB member list. */
static int write_files(const char *dir)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/passwd", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "root:x:0:0:root:/root:/bin/sh\n");
	write_big_user(f, "psm-big", BIG_UID, 10240);
	write_big_user(f, "psm-huge", BIG_UID + 1, 2u << 20);
	if (fclose(f) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/group", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "root:x:0:\npsm-bigadm:x:%u:psm-big", BIG_GID);
	for (int i = 0; i < 1024; i++)
		fprintf(f, ",psm-m%04d", i);
	fprintf(f, "\n");
	return fclose(f);
}

/* In the private namespace: 0 when every lookup answers right, else the failing check's number. */
static int big_checks(void)
{
	struct psm_err e = {0};
	struct nss_groups g;
	struct nss_id u;
	bool in = false;

	if (nss_user("psm-big", &u, &e) != 1 || u.uid != BIG_UID || u.gid != ALL_GID)
		return 1;
	if (nss_user_uid(BIG_UID, &u, &e) != 1 || strcmp(u.name, "psm-big") != 0)
		return 2;
	if (nss_group("psm-bigadm", &u, &e) != 1 || u.gid != BIG_GID)
		return 3;
	if (nss_group_gid(BIG_GID, &u, &e) != 1 || strcmp(u.name, "psm-bigadm") != 0)
		return 4;
	if (nss_groups(&g, "psm-big", ALL_GID, &e) != 1)
		return 5;
	for (int i = 0; i < g.n; i++)
		in |= g.list[i] == BIG_GID;
	nss_groups_free(&g);
	if (!in)
		return 6;
	/* Beyond the cap: a failure with a reason, not "unknown". */
	if (nss_user("psm-huge", &u, &e) != -PSM_ESYS || e.code != PSM_ESYS ||
	    strstr(e.msg, "user \"psm-huge\": ") != e.msg)
		return 7;
	return 0;
}

/* Child: its own mount namespace with dir's passwd and group over /etc's. */
static int big_child(const char *dir)
{
	char path[128];

	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
		return 100;
	snprintf(path, sizeof(path), "%s/passwd", dir);
	if (mount(path, "/etc/passwd", "none", MS_BIND, NULL) != 0)
		return 101;
	snprintf(path, sizeof(path), "%s/group", dir);
	if (mount(path, "/etc/group", "none", MS_BIND, NULL) != 0)
		return 102;
	return big_checks();
}

static void test_nss_big_entries(void **state)
{
	char dir[] = "/tmp/psm-test-nss-XXXXXX", path[128];
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip(); /* a private mount namespace needs root */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(write_files(dir), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(big_child(dir));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	snprintf(path, sizeof(path), "%s/passwd", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/group", dir);
	unlink(path);
	rmdir(dir);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("private NSS: check %d of big_checks failed (100+: namespace setup)",
			 WEXITSTATUS(status));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nss_root),
	    cmocka_unit_test(test_nss_unknown),
	    cmocka_unit_test(test_nss_big_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
