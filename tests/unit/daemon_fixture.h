/* SPDX-License-Identifier: MIT */
/* daemon_fixture.h - stopping an in-process psmd started by a unit test, and removing its files;
 * a child process to lead the sessions a test opens. */
#ifndef PSM_TEST_DAEMON_FIXTURE_H
#define PSM_TEST_DAEMON_FIXTURE_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "psmd.h"

static pid_t dfx_leader; /* the child dfx_leader_child started; dfx_stop ends it if it lives */

/* A child that waits to be signalled: a session leader of the test's own. */
static inline pid_t dfx_leader_child(void)
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		abort();
	}
	if (pid == 0) {
		for (;;)
			pause();
	}
	dfx_leader = pid;
	return pid;
}

/* Whether the child pid has ended (reaped then), waiting up to about 5 s for it when asked. */
static inline bool dfx_child_ended(pid_t pid, bool wait_for_it)
{
	for (int i = 0; i < (wait_for_it ? 500 : 1); i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			if (pid == dfx_leader)
				dfx_leader = 0;
			return true;
		}
		if (wait_for_it)
			usleep(10000);
	}
	return false;
}

/* Ends the leader child left, stops d, unlinks its table shm and removes dir; -1 if dir could
 * not be removed. */
static inline int dfx_stop(struct psmd *d, const char *shm, const char *dir)
{
	char cmd[160];

	if (dfx_leader > 0) {
		kill(dfx_leader, SIGKILL);
		waitpid(dfx_leader, NULL, 0);
		dfx_leader = 0;
	}
	psmd_stop(d);
	shm_unlink(shm);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
