/* SPDX-License-Identifier: MIT */
/* ops_history.h - the journal's history (the history op) and the table of a past moment
 * (check --at): one reading of the journal for both. */
#ifndef PSMD_OPS_HISTORY_H
#define PSMD_OPS_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "ops.h"
#include "shm.h"

struct hist;

/* A private, unpublished table as it was at time at: today's policy records (copied from
 * the served table) and the grants in force at at, replayed from the journal. */
struct ops_at {
	int64_t at;
	struct shm_writer *w; /* discarded by ops_at_free */
	struct hist *h;
};

int ops_at_open(struct ops_ctx *c, int64_t at, struct ops_at *t, struct psm_err *err);
/* Appends what the journal says of the grant that decided (its id, when and by whom it was
 * made) and what the answer was made from. */
void ops_at_explain(const struct ops_at *t, const struct shm_entry *e, char *buf, size_t n);
void ops_at_free(struct ops_at *t);

#endif
