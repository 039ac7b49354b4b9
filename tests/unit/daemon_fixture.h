/* SPDX-License-Identifier: MIT */
/* daemon_fixture.h - stopping an in-process psmd started by a unit test, and removing its files. */
#ifndef PSM_TEST_DAEMON_FIXTURE_H
#define PSM_TEST_DAEMON_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "daemon.h"
#include "psmd.h"

/* Stops d, unlinks its table shm and removes dir; -1 if dir could not be removed. */
static inline int dfx_stop(struct psmd *d, const char *shm, const char *dir)
{
	char cmd[160];

	psmd_stop(d);
	shm_unlink(shm);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
