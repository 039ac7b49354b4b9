/* SPDX-License-Identifier: MIT */
/* store_batch.h - the changes not yet committed: what each displaced, to take them back. */
#ifndef PSMD_STORE_BATCH_H
#define PSMD_STORE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "psm_err.h"
#include "record.h"

struct shm_writer;
struct state;

/* Called by store.c only; calls down (the state, the table writer), never back up. */
struct store_undo {
	int type; /* the record the change applied */
	uint8_t id[ID_BYTES];
	struct record *old; /* copies of the records it displaced, to put back in order */
	size_t nold, capold;
};

struct store_batch {
	struct store_undo *v;
	size_t n, cap;
	bool applying; /* a change of the batch is being applied: its table insert waits */
};

/* Notes the change rec is about to make to st (copies of what it displaces). */
int store_batch_note(struct store_batch *b, const struct state *st, const struct record *rec,
		     struct psm_err *err);
/* Forgets the last note (its change was not made). */
void store_batch_forget(struct store_batch *b);
/* Takes the batch back, the last change first, inside one batch of the table w (may be NULL),
 * and empties it; the caller recomputes what depends on the state (store_recompute_due). */
void store_batch_rollback(struct store_batch *b, struct state *st, struct shm_writer *w,
			  int64_t now);
void store_batch_clear(struct store_batch *b);
void store_batch_free(struct store_batch *b);

#endif
