/* SPDX-License-Identifier: MIT */
/* snapshot_child.h - a snapshot written by a child process, so psmd's loop never waits for one. */
#ifndef PSMD_SNAPSHOT_CHILD_H
#define PSMD_SNAPSHOT_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "psm_err.h"
#include "state.h"

/* A snapshot being written by a child process. */
struct snapshot_child {
	pid_t pid;  /* 0: none */
	int report; /* the child writes why it failed here */
	uint32_t seq;
};

/*
 * Forks a child that runs snapshot_write(dirfd, seq, st) (snapshot.h) on its
 * copy-on-write image of st and exits; the caller goes on at once (and may change
 * st).  PSM_ESYS when the pipe or the fork fails.
 */
int snapshot_spawn(int dirfd, uint32_t seq, const struct state *st, struct snapshot_child *c,
		   struct psm_err *err);
/* Whether the child has finished (block: waits for it): 0 still running or none,
 * 1 snapshot.<seq> is written, -1 it failed (err says why).  c is empty after 1 or -1. */
int snapshot_reap(struct snapshot_child *c, bool block, struct psm_err *err);
/* Ends a running child (SIGKILL) and waits for it; its snapshot.new stays behind. */
void snapshot_kill(struct snapshot_child *c);

#endif
