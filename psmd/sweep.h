/* SPDX-License-Identifier: MIT */
/* sweep.h - psmd's sweeper: reclaims expired grants, sessions and tombstones; ends sessions. */
#ifndef PSMD_SWEEP_H
#define PSMD_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Readers enforce not_after themselves: the sweeper only reclaims space in
 * the state and the table (the journal drops expired entries at the next
 * snapshot or load).  An expired grant or session stays SWEEP_KEEP seconds,
 * so that `psm-query check --explain` can say "grant expired 5s ago", unless
 * the table needs the room first (store_add reclaims before it grows) or the
 * admin asks (`psmctl cleanup`).  With session_expiry "kill" a session's
 * leader is signalled when the session expires, not when it is reclaimed.
 * The sweeper runs in the tick only when something is due.
 */
#define SWEEP_GRACE 5  /* seconds between SIGTERM and SIGKILL of a session leader */
#define SWEEP_KEEP 600 /* seconds an expired grant or session is kept */

struct sweep_kill {
	int64_t pid;
	int pidfd;	  /* pins the very leader that got SIGTERM */
	int64_t deadline; /* SIGKILL then if it still lives */
	bool held;	  /* SIGTERM waits for the commit of the session's end */
};

struct sweep {
	struct sweep_kill *kills;
	size_t n, cap;
	uint64_t removed;   /* since start */
	int64_t ended_upto; /* sessions expired up to here had their leaders ended */
	int64_t oldest;	    /* no record held expires before this (a lower bound) */
};

struct record;
struct rec_session;
struct leader_id;
struct psm_err;
struct shm_writer;
struct state;

/* When the sweeper next has something to do about rec (INT64_MAX: never); kills: the
 * config's session_expiry is "kill". */
int64_t sweep_due(const struct sweep *sw, bool kills, const struct record *rec);
/*
 * One pass over st: with kills, ends the leaders of this host's sessions (their origin is
 * the host_name w's header names; none without w) expired since the last pass; then
 * removes what expired at cutoff from st (and, through st's listener, from the table w,
 * in one table batch).  Returns how many grants and sessions went: the
 * caller (store.c) recomputes when the sweeper is next due.  Calls nothing above it.
 */
size_t sweep_expire(struct sweep *sw, struct state *st, struct shm_writer *w, bool kills,
		    int64_t now, int64_t cutoff);
/* Once a second: SIGKILL to leaders still alive after their grace; forgets those gone. */
void sweep_escalate(struct sweep *sw, int64_t now);
/* The leader identity recorded in a session (leader.h). */
void sweep_leader_of(const struct rec_session *s, struct leader_id *id);
/*
 * Sends SIGTERM to a session leader, and SIGKILL after SWEEP_GRACE seconds if it
 * lives, both through a pidfd and only when the process is provably the one
 * recorded (leader_pin).  Returns LEADER_LIVE (signalled), LEADER_EXITED (nothing
 * to signal), or LEADER_UNPROVEN with err saying why nothing was signalled.
 * With held, the leader is pinned now and SIGTERM waits for sweep_settle: a kill
 * request signals only once the session's end is on disk.
 */
int sweep_end_leader(struct sweep *sw, const struct leader_id *id, int64_t now, bool held,
		     struct psm_err *err);
/* After a group commit: the held leaders get their SIGTERM (committed) or are let go. */
void sweep_settle(struct sweep *sw, bool committed, int64_t now);
void sweep_free(struct sweep *sw);

#endif
