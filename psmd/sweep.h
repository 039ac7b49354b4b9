/* SPDX-License-Identifier: MIT */
/* sweep.h - psmd's sweeper: reclaims expired grants, sessions and tombstones; ends sessions. */
#ifndef PSMD_SWEEP_H
#define PSMD_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Readers enforce not_after themselves: the sweeper only reclaims space in
 * the state and the table (the journal drops expired entries at the next
 * snapshot or load).  It runs in the tick only when something is due.
 */
#define SWEEP_GRACE 5 /* seconds between SIGTERM and SIGKILL of a session leader */

struct sweep_kill {
	pid_t pid;
	int64_t deadline; /* SIGKILL then if it still lives */
};

struct sweep {
	struct sweep_kill *kills;
	size_t n, cap;
	uint64_t removed; /* since start */
};

struct psmd;

/* Removes everything expired at now; returns how many grants and sessions went. */
size_t sweep_run(struct psmd *d, int64_t now);
/* Once a second: sweep_run when due, and SIGKILL to leaders past their grace. */
void sweep_tick(struct psmd *d, int64_t now);
/* Sends SIGTERM to a session leader and SIGKILL after SWEEP_GRACE seconds if it lives. */
void sweep_end_leader(struct sweep *sw, pid_t pid, int64_t now);
void sweep_free(struct sweep *sw);

#endif
