/* SPDX-License-Identifier: MIT */
/* journal_quar.h - the quarantine after journal corruption: computed on load, kept in
 * state_dir/quarantine. */
#ifndef PSMD_JOURNAL_QUAR_H
#define PSMD_JOURNAL_QUAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal_scan.h"
#include "psm_err.h"
#include "record.h"
#include "state.h"

/*
 * Damage that is not a torn tail (journal_scan.h) is corruption: the segment is
 * kept as it is (a copy goes to journal.NNNNNN.corrupt), every provable record
 * is loaded, and every live grant that was loaded before the last damaged
 * region and has no record after it is put in quarantine: out of the state
 * (and so out of the table) until an admin decides.  The damage and the
 * quarantined grants are kept in state_dir/quarantine (0600, written
 * atomically), so a restart or a snapshot does not bring them back.
 */
struct journal_recovery {
	char **damage; /* one line per damaged region: where, why, what is lost */
	size_t ndamage;
	struct record *grants; /* the quarantined grants */
	size_t ngrants;
};

/*
 * state_dir/quarantine: one journal frame (4-byte length, CRC32C of the length bytes and
 * the JSON, frame.h) of {"format":"psm-quarantine","version":1,"damage":[TEXT...],
 * "grants":[RECORD...]} (records as in the journal), and nothing after it.  It exists
 * from the load that found the damage until journal_recovery_done().
 */

/* Reads the file into rcv (nothing when it does not exist); a damaged file (bad length,
 * bad checksum, not the JSON above) is PSM_EUNAVAIL: psmd does not start rather than
 * forget or change the quarantine. */
int jq_load(int dirfd, struct journal_recovery *rcv, struct psm_err *err);
/*
 * Adds this load's damage (js's regions) and its grants loaded before the last
 * region without a later record to rcv, takes every grant of rcv out of st, drops from
 * rcv those st holds a revoke of, and rewrites the file when rcv changed.
 */
int jq_apply(int dirfd, struct state *st, struct jscan *js, struct journal_recovery *rcv,
	     struct psm_err *err);
/* The quarantined grant with this id, NULL when there is none. */
const struct record *jq_find(const struct journal_recovery *rcv, const uint8_t id[ID_BYTES]);
/* Drops from rcv the grants st holds a (committed) revoke of and rewrites the file when
 * any went: a quarantined grant revoked is out of the quarantine for good. */
int jq_prune(int dirfd, struct journal_recovery *rcv, const struct state *st, struct psm_err *err);
/* Removes the file (durably) and empties rcv. */
int jq_clear(int dirfd, struct journal_recovery *rcv, struct psm_err *err);
void jq_free(struct journal_recovery *rcv);

#endif
