/* SPDX-License-Identifier: MIT */
/* test_leader.c - a session leader's identity from /proc, and signals only to that very process. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "leader.h"
#include "under_valgrind.h"

/* A child that waits in pause() for a signal; its pid. */
static pid_t spawn_child(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	assert_true(pid > 0);
	return pid;
}

static void test_read_self(void **state)
{
	struct leader_id a, b;
	struct psm_err err = {0};

	(void)state;
	assert_int_equal(leader_read(getpid(), &a, &err), PSM_OK);
	assert_true(a.start > 0);
	assert_int_equal(strlen(a.boot), LEADER_BOOT_SIZE - 1);
	assert_int_equal(a.uid, geteuid());
	assert_int_equal(leader_read(getpid(), &b, &err), PSM_OK);
	assert_int_equal(leader_compare(&a, &b, &err), LEADER_LIVE);
}

static void test_read_missing(void **state)
{
	struct leader_id id;
	struct psm_err err = {0};

	(void)state;
	assert_int_equal(leader_read(0, &id, &err), PSM_ENOENT);
	assert_int_equal(leader_read(INT64_C(1) << 40, &id, &err), PSM_ENOENT);
	assert_string_equal(err.msg, "pid 1099511627776: no such process");
}

static void test_compare(void **state)
{
	struct leader_id want, now;
	struct psm_err err = {0};

	(void)state;
	assert_int_equal(leader_read(getpid(), &now, &err), PSM_OK);
	want = now;
	want.start = now.start + 1; /* another process took the pid */
	assert_int_equal(leader_compare(&want, &now, &err), LEADER_EXITED);
	want = now;
	want.boot[0] = want.boot[0] == '0' ? '1' : '0'; /* a reboot since */
	assert_int_equal(leader_compare(&want, &now, &err), LEADER_EXITED);
	want = now;
	want.start = 0; /* nothing recorded: never signal */
	assert_int_equal(leader_compare(&want, &now, &err), LEADER_UNPROVEN);
	assert_non_null(strstr(err.msg, "no start time and boot id were recorded"));
	want = now;
	want.boot[0] = '\0';
	assert_int_equal(leader_compare(&want, &now, &err), LEADER_UNPROVEN);
}

static void test_pin_and_signal(void **state)
{
	struct leader_id id;
	struct psm_err err = {0};
	pid_t pid;
	int fd, status;

	vg_skip("pidfd_open(2) (session leaders)");
	pid = spawn_child();
	(void)state;
	assert_int_equal(leader_read(pid, &id, &err), PSM_OK);
	assert_int_equal(leader_pin(&id, &fd, &err), LEADER_LIVE);
	assert_true(fd >= 0);
	assert_int_equal(leader_signal(fd, 0), 0);
	assert_int_equal(leader_signal(fd, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	assert_int_equal(leader_signal(fd, 0), ESRCH); /* reaped: the pidfd says so */
	close(fd);
	assert_int_equal(leader_pin(&id, &fd, &err), LEADER_EXITED);
	assert_int_equal(fd, -1);
}

/* Another process at the recorded pid (faked by a wrong start time) is never pinned. */
static void test_pin_other(void **state)
{
	struct leader_id id;
	struct psm_err err = {0};
	pid_t pid;
	int fd;

	vg_skip("pidfd_open(2) (session leaders)");
	pid = spawn_child();
	(void)state;
	assert_int_equal(leader_read(pid, &id, &err), PSM_OK);
	id.start -= 1;
	assert_int_equal(leader_pin(&id, &fd, &err), LEADER_EXITED);
	assert_int_equal(fd, -1);
	id.start = 0;
	assert_int_equal(leader_pin(&id, &fd, &err), LEADER_UNPROVEN);
	assert_int_equal(fd, -1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_self), cmocka_unit_test(test_read_missing),
	    cmocka_unit_test(test_compare),   cmocka_unit_test(test_pin_and_signal),
	    cmocka_unit_test(test_pin_other),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
