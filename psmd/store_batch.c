/* SPDX-License-Identifier: MIT */
/* store_batch.c - the changes not yet committed: what each displaced, to take them back when the
 * commit fails. */
#include "store_batch.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shm.h"
#include "state.h"

/* Appends a copy of rec to u's records to put back. */
static int sb_keep(void *ctx, struct record *rec)
{
	struct store_undo *u = ctx;

	if (u->nold == u->capold) {
		size_t cap = u->capold ? u->capold * 2 : 2;
		struct record *v = realloc(u->old, cap * sizeof(*v));

		if (v == NULL)
			return PSM_ENOMEM;
		u->old = v;
		u->capold = cap;
	}
	if (record_copy(&u->old[u->nold], rec, NULL) != PSM_OK)
		return PSM_ENOMEM;
	u->nold++;
	return 0;
}

static void sb_undo_free(struct store_undo *u)
{
	for (size_t i = 0; i < u->nold; i++)
		record_free(&u->old[i]);
	free(u->old);
	memset(u, 0, sizeof(*u));
}

/* The live record and the tombstone of id (either may be NULL); live_type REC_GRANT or
 * REC_SESSION. */
static void sb_holders(const struct state *st, int live_type, const uint8_t *id,
		       struct record **live, struct record **tomb)
{
	*live = live_type == REC_GRANT ? state_grant(st, id) : state_session(st, id);
	*tomb = state_tomb(st, live_type == REC_GRANT ? REC_REVOKE : REC_SESSION_END, id);
}

/* What rec displaces: the records holding its id, and a session's bound grants when it ends. */
static int sb_keep_displaced(const struct state *st, const struct record *rec, struct store_undo *u)
{
	int live_type = rec->type == REC_REVOKE	       ? REC_GRANT
			: rec->type == REC_SESSION_END ? REC_SESSION
						       : rec->type;
	struct record *live, *tomb;
	int rc = PSM_OK;

	sb_holders(st, live_type, u->id, &live, &tomb);
	if (live != NULL)
		rc = sb_keep(u, live); /* a session before its bound grants */
	if (rc == PSM_OK && tomb != NULL)
		rc = sb_keep(u, tomb);
	if (rc == PSM_OK && rec->type == REC_SESSION_END)
		rc = state_foreach_bound(st, u->id, sb_keep, u);
	return rc;
}

int store_batch_note(struct store_batch *b, const struct state *st, const struct record *rec,
		     struct psm_err *err)
{
	struct store_undo *u;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct store_undo *v = realloc(b->v, cap * sizeof(*v));

		if (v == NULL)
			return psm_err_set(err, PSM_ENOMEM, "batch: out of memory");
		b->v = v;
		b->cap = cap;
	}
	u = &b->v[b->n];
	memset(u, 0, sizeof(*u));
	u->type = rec->type;
	memcpy(u->id, record_id(rec), ID_BYTES);
	if (sb_keep_displaced(st, rec, u) != PSM_OK) {
		sb_undo_free(u);
		return psm_err_set(err, PSM_ENOMEM, "batch: out of memory");
	}
	b->n++;
	return PSM_OK;
}

void store_batch_forget(struct store_batch *b)
{
	if (b->n > 0)
		sb_undo_free(&b->v[--b->n]);
}

/* Takes one change back: its record goes, what it displaced comes back (the listener puts
 * it in the table again). */
static void sb_undo(struct state *st, struct store_undo *u, int64_t now)
{
	struct psm_err err = {0};

	state_remove(st, u->type, u->id);
	for (size_t i = 0; i < u->nold; i++)
		if (state_apply(st, &u->old[i], now, NULL, &err) != PSM_OK)
			log_msg(LOG_ERR, "batch: putting a record back: %s", err.msg);
}

void store_batch_rollback(struct store_batch *b, struct state *st, struct shm_writer *w,
			  int64_t now)
{
	b->applying = false;
	if (w != NULL)
		shm_writer_begin(w); /* readers see the table as before, never a step between */
	for (size_t i = b->n; i-- > 0;)
		sb_undo(st, &b->v[i], now);
	if (w != NULL)
		shm_writer_commit(w);
	store_batch_clear(b);
}

void store_batch_clear(struct store_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		sb_undo_free(&b->v[i]);
	b->n = 0;
}

void store_batch_free(struct store_batch *b)
{
	store_batch_clear(b);
	free(b->v);
	memset(b, 0, sizeof(*b));
}
