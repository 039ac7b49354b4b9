/* SPDX-License-Identifier: MIT */
/* journal.h - durable state in state_dir: the journal (group commit), snapshots, load, repair. */
#ifndef PSMD_JOURNAL_H
#define PSMD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal_quar.h"
#include "psm_err.h"
#include "record.h"
#include "state.h"

/*
 * journal.c is the top of psmd/persist: it owns state_dir and calls the parts
 * below it (frame.h for the bytes, snapshot.h and snapshot_child.h for the
 * snapshots, journal_scan.h to replay a segment, journal_quar.h for the
 * quarantine).  Files in state_dir (directory 0700, every file 0600, all
 * opened O_CLOEXEC; their bytes: frame.h):
 *   journal.NNNNNN   a segment: a header, then the records appended to it
 *   snapshot.NNNNNN  the whole state as it was when segment NNNNNN began
 *   snapshot.new     a snapshot being written (renamed when complete)
 *   quarantine       the grants a damaged segment put in quarantine (journal_quar.h)
 *   lock             flock()ed while a journal is open: one psmd per directory
 *
 * Load: the newest valid snapshot, then every segment from its number on, in
 * order.  A corrupt newest snapshot is renamed *.corrupt and the previous one
 * is used with every segment since (both are kept for that).  A torn tail in
 * the LAST segment (journal_scan.h) is cut off and reported; other damage to
 * the records is corruption (journal_recovery below); a damaged segment
 * header is an error.  Expired entries are dropped on load.
 */

struct journal;

struct journal_report {
	char snapshot[32]; /* snapshot loaded ("snapshot.000004"), "" if none */
	uint64_t snapshot_records;
	uint32_t segments; /* segments replayed */
	uint64_t journal_records;
	uint64_t ignored;	    /* superseded or repeated records (normal) */
	uint64_t dropped;	    /* expired, dropped on load */
	uint64_t torn_bytes;	    /* bytes cut from the last segment */
	char torn[PSM_ERR_MSG_MAX]; /* "journal.000003: torn tail at byte 4096, 37 bytes dropped" */
	char fallback[PSM_ERR_MSG_MAX]; /* why the newest snapshot was not used, "" if it was */
	uint32_t corrupt;		/* damaged regions found by this load (journal_recovery) */
	uint64_t quarantined;		/* grants in quarantine after it */
};

/* One line for the log: "loaded snapshot.000004 (1200 records) + 2 segments (37 records), ..." */
void journal_report_format(const struct journal_report *r, char *buf, size_t n);

/*
 * Opens (creating it 0700 if missing) and locks state_dir, loads it into a new
 * state (*st; expired entries dropped at now), and opens the last segment for
 * appending.  PSM_EEXIST: another journal holds the directory; PSM_EUNAVAIL:
 * damaged beyond what the rules above repair (the message names the file and
 * byte); PSM_ESYS: a system call failed.
 */
int journal_open(struct journal **j, const char *state_dir, int64_t now, struct state **st,
		 struct journal_report *rep, struct psm_err *err);
/* Closes; records appended but not committed are dropped. */
void journal_close(struct journal *j);

/* Queues a record (serialised now).  Nothing is written before journal_commit. */
int journal_append(struct journal *j, const struct record *rec, struct psm_err *err);
/* Queues record JSON text as it is (the caller vouches it is a valid record). */
int journal_append_json(struct journal *j, const char *json, size_t len, struct psm_err *err);
/* Records queued and not yet committed. */
size_t journal_pending(const struct journal *j);

/*
 * Writes everything queued with one write() and one fdatasync() (group
 * commit: reply to those clients after this returns).  *fsync_ns (may be
 * NULL) gets the fdatasync latency.  On failure (PSM_ESYS, the message names
 * the file and the call) the segment is cut back to its last committed size,
 * durably (ftruncate, fdatasync: the failed write may be on disk all the same),
 * and the queue is dropped: none of it was committed, and the next records
 * go where they went.  The journal takes work again at once; only when the
 * cut or its fdatasync failed are appends refused (PSM_EUNAVAIL) until it succeeds,
 * tried again at each append and commit.
 */
int journal_commit(struct journal *j, uint64_t *fsync_ns, struct psm_err *err);

/*
 * Commits what is queued, starts a new segment and writes a snapshot of st
 * (snapshot.new, fsync, rename, fsync the directory).  Then removes the
 * snapshots older than the previous one and the segments before that one.
 */
int journal_snapshot(struct journal *j, const struct state *st, struct psm_err *err);

/*
 * The same with the snapshot written by a child process (snapshot_spawn): it
 * returns once the new segment is started, and the caller may change st at
 * once.  journal_snapshot_poll() completes it (the pruning).  Without a child
 * (fork failed) it writes the snapshot itself.  PSM_EEXIST while one is
 * being written.  journal_snapshot() and journal_close() end a running one.
 */
int journal_snapshot_start(struct journal *j, const struct state *st, struct psm_err *err);
/* 0: none under way, or still being written (block: waits for it); 1: written and
 * the older files pruned; -1: it failed (err), and the snapshot is due again. */
int journal_snapshot_poll(struct journal *j, bool block, struct psm_err *err);

/*
 * Damage that is not a torn tail (journal_scan.h) is corruption: the segment is
 * kept as it is (a copy goes to journal.NNNNNN.corrupt), every provable record
 * is loaded, and the grants whose revoke may have been lost go to quarantine
 * (struct journal_recovery, journal_quar.h).
 */
/* The damage and the quarantine pending (both empty when there is none). */
const struct journal_recovery *journal_recovery(const struct journal *j);
/* The quarantined grant with this id (NULL: none): revoke reaches it. */
const struct record *journal_quarantined(const struct journal *j, const uint8_t id[ID_BYTES]);
/* After a commit: the quarantined grants st now holds a revoke of leave the quarantine (and
 * its file), so `recover --accept` never brings them back. */
int journal_recovery_prune(struct journal *j, const struct state *st, struct psm_err *err);
/* The admin has decided (the grants were journaled again or revoked, committed, and a
 * snapshot written): the quarantine file goes and the recovery is empty again. */
int journal_recovery_done(struct journal *j, struct psm_err *err);

struct journal_info {
	uint32_t segment;	/* the segment being appended */
	uint64_t segment_bytes; /* its committed size */
	uint64_t records_since_snapshot;
	uint64_t commits, records; /* since open */
	bool broken;		   /* a failed commit could not be cut back yet */
	bool failing;		   /* the last commit failed (why): no commit worked since */
	uint64_t failures;	   /* commits that failed, since open */
	char why[PSM_ERR_MSG_MAX];
	bool snapshotting; /* a snapshot is being written in the background */
};
void journal_info(const struct journal *j, struct journal_info *info);

/*
 * The history state_dir still holds (psmctl history, check --at): the records of the
 * oldest snapshot (snap true), then of every segment from its number on, in order, each
 * parsed and passed to fn (which may keep it with record_move; it is freed after).  A
 * damaged frame ends the reading of its file (journal load reports damage).  fn's
 * non-PSM_OK return stops the reading and is returned.  Older changes are gone (pruned
 * with their snapshot): the audit log has them.
 */
typedef int (*journal_each_fn)(void *ctx, struct record *rec, bool snap, struct psm_err *err);
int journal_each(const struct journal *j, journal_each_fn fn, void *ctx, struct psm_err *err);

#endif
