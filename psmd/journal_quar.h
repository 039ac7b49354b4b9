/* SPDX-License-Identifier: MIT */
/* journal_quar.h - the quarantine after journal corruption: computed on load, kept in
 * state_dir/quarantine. */
#ifndef PSMD_JOURNAL_QUAR_H
#define PSMD_JOURNAL_QUAR_H

#include <stdbool.h>

#include "journal.h"
#include "journal_scan.h"

/*
 * state_dir/quarantine: {"format":"psm-quarantine","version":1,"damage":[TEXT...],
 * "grants":[RECORD...]} (records as in the journal).  It exists from the load that
 * found the damage until journal_recovery_done().
 */

/* Reads the file into rcv (nothing when it does not exist); a damaged file is
 * PSM_EUNAVAIL: psmd does not start rather than forget the quarantine. */
int jq_load(int dirfd, struct journal_recovery *rcv, struct psm_err *err);
/*
 * Adds this load's damage (js's regions) and its grants loaded before the last
 * region without a later record to rcv, takes every grant of rcv out of st, and
 * rewrites the file when rcv grew.
 */
int jq_apply(int dirfd, struct state *st, struct jscan *js, struct journal_recovery *rcv,
	     struct psm_err *err);
/* Removes the file (durably) and empties rcv. */
int jq_clear(int dirfd, struct journal_recovery *rcv, struct psm_err *err);
void jq_free(struct journal_recovery *rcv);

#endif
