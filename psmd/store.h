/* SPDX-License-Identifier: MIT */
/* store.h - runtime grants and sessions: apply a record to the state, journal it, mirror it in the
 * table. */
#ifndef PSMD_STORE_H
#define PSMD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hlc.h"
#include "journal.h"
#include "psm_err.h"
#include "record.h"
#include "shm.h"
#include "state.h"
#include "store_batch.h"
#include "store_entry.h"

struct psmd_config;
struct sweep;
struct table;
struct table_src;

/*
 * What the store is given by the daemon above it (psmd.c, at store_open): the parts it
 * works with, and two calls back up for the table as a whole.  The store calls down
 * (persist/, sweep.c, the table) and up only through these hooks: it never sees struct
 * psmd.  Ops, control and the sweeper's tick call the store; the store calls none of them.
 */
struct store_host {
	struct table *table;	       /* the served table: records are mirrored in it */
	const struct psmd_config *cfg; /* the running config (a reload replaces it in place) */
	struct sweep *sweep;	       /* the sweeper's bookkeeping and held kills */
	/* Rebuilds the table from config, policy and state, at least min_capacity records
	 * large (daemon_rebuild); the served table is kept on failure. */
	int (*rebuild)(void *ctx, uint64_t min_capacity, struct psm_err *err);
	/* Checks the served table and republishes it when damaged (table_watch_check). */
	void (*check)(void *ctx);
	/* After a commit, each record a change of the batch applied (NULL: none); fleet sync
	 * publishes this host's. */
	void (*committed)(void *ctx, const struct record *rec);
	void *ctx;
};

/*
 * The batch: the changes made since the last journal commit (the requests of one loop
 * iteration, group-committed by control_flush).  Each is applied to the state at once,
 * so later requests of the batch see it, but its grant or session enters the table
 * (table_unit STORE_UNIT_PENDING until then) only once the commit succeeded; a failed
 * commit takes every change of the batch back, the last first, with the copies of what
 * each displaced.  Removals reach the table at once: PAM may only deny early.
 */
#define STORE_UNIT_PENDING (REC_U32_NONE - 1)

/* A record's table unit from a (re)build, applied only when the build is published. */
struct store_unit {
	struct record *rec;
	uint32_t unit;
};

struct store {
	struct store_host host;
	struct state *st; /* NULL until store_open */
	struct journal *j;
	struct hlc hlc;
	struct store_batch batch;
	bool table_short;	    /* an insert by the listener failed: rebuild the table */
	uint8_t replaced[ID_BYTES]; /* the last session taken out: a new version of it
				     * re-mirrors its bound grants (their expiry is its) */
	int64_t next_due;	    /* when the sweeper has something to do (INT64_MAX: never) */
	struct store_unit *units;   /* filled by store_fill */
	size_t nunits, cap;
	unsigned long commits_failed; /* journal commits that failed (their batch taken back) */
};

/*
 * Opens state_dir's journal and loads it (expired entries dropped at now),
 * logging what was loaded; call before the first table build so the first
 * published table holds every acknowledged change.
 */
int store_open(struct store *s, const struct store_host *host, int64_t now, struct psm_err *err);
/* Snapshots (when snapshot is true) and closes. */
void store_close(struct store *s, bool snapshot);

/* Once a second: a snapshot when the journal has grown by STORE_SNAPSHOT_RECORDS and by
 * as many records as the state holds, written in the background (journal_snapshot_start);
 * the one before is completed first. */
#define STORE_SNAPSHOT_RECORDS 10000
void store_tick(struct store *s);

/* A new version from this host's clock. */
uint64_t store_version(struct store *s);

/*
 * The store's door for records in (the ops use it; a replication part would too):
 * applies a record made by a request as a change of the batch: makes room in
 * the table (growing it when needed; never evicting), queues it in the
 * journal and applies it to the state; its table record waits for
 * store_commit.  Consumes rec.  Errors leave nothing changed: PSM_EFULL table
 * full, PSM_EINVAL (the record cannot be in the table: unknown user or group,
 * fields too long), PSM_EUNAVAIL journal unusable, PSM_ENOMEM.
 */
int store_add(struct store *s, struct record *rec, int64_t now, struct psm_err *err);
/* The same; fleet: a record from another host that cannot be in this host's table (a user
 * or group it does not know) is kept in the state and journal all the same, out of the
 * table (logged when the table is built), so a later revoke of it works here too. */
int store_add_from(struct store *s, struct record *rec, int64_t now, bool fleet,
		   struct psm_err *err);

/*
 * Commits the batch (journal_commit: one write, one fdatasync), then puts its
 * grants and sessions in the table.  On failure every change of the batch is
 * taken back (state and table as before it) and err says why (PSM_ESYS).
 */
int store_commit(struct store *s, uint64_t *fsync_ns, struct psm_err *err);

/* Whether rec was applied by a change not yet committed (it stays out of table builds). */
bool store_pending(const struct record *rec);

/* table_src fill hook: inserts every runtime grant and session in scope (inside the batch). */
int store_fill(void *ctx, struct shm_writer *w, const struct table_src *src, struct psm_err *err);
/* After a table build: publish the units store_fill recorded (ok) or forget them. */
void store_units_done(struct store *s, bool ok);

/* When the sweeper is next due (sweep_due of every record): recomputes next_due. */
void store_recompute_due(struct store *s);

/* The sweeper's passes over the state (sweep_expire), next_due recomputed after each.
 * store_sweep removes everything expired at now at once (cleanup, room) and returns how
 * many grants and sessions went; store_sweep_tick, once a second and only when due, ends
 * expired sessions' leaders and reclaims what expired SWEEP_KEEP seconds ago. */
size_t store_sweep(struct store *s, int64_t now);
void store_sweep_tick(struct store *s, int64_t now);

/* The journal hook of state_import: notes the change in the batch, queues rec and observes
 * its version (the caller sets batch.applying around state_import). */
int store_import_hook(void *ctx, const struct record *rec, struct psm_err *err);

#endif
