/* SPDX-License-Identifier: MIT */
/* snapshot.h - writing and loading whole-state snapshots (their bytes: frame.h). */
#ifndef PSMD_SNAPSHOT_H
#define PSMD_SNAPSHOT_H

#include <stdint.h>

#include "psm_err.h"
#include "state.h"

/*
 * A snapshot, snapshot.NNNNNN in state_dir, holds the whole state as it was when
 * journal segment NNNNNN began (journal.h): every grant, session and tombstone.
 * The journal writes one at each segment roll, here or in a child process
 * (snapshot_child.h), and loads the newest intact one before the segments.
 */

/*
 * Writes every record of st (grants, sessions, tombstones) to dirfd's
 * "snapshot.new" (0600), fsyncs it, renames it to snapshot.<seq> and fsyncs
 * the directory.  On failure snapshot.new is removed.
 */
int snapshot_write(int dirfd, uint32_t seq, const struct state *st, struct psm_err *err);

/*
 * Loads snapshot.<seq> from dirfd into st (which should be empty): header,
 * every frame and CRC, the record count, every record's validity.  Expired
 * records are not stored; *records and *dropped count them.  Any damage:
 * PSM_EUNAVAIL naming the file and byte.
 */
int snapshot_load(int dirfd, uint32_t seq, struct state *st, int64_t now, uint64_t *records,
		  uint64_t *dropped, struct psm_err *err);

#endif
