/* SPDX-License-Identifier: MIT */
/* fleet_own.c - the feed ids of this host's own entries: the reader skips them unverified. */
#include "fleet_reader.h"

/*
 * The writer's script returns the id of each entry it adds to the feed; the reader, meeting
 * that id, knows the entry is the one this host wrote (a stream id is never reused while the
 * feed exists: a replaced feed is a resync) and that its record is already applied here.
 * Skipping it spares one Ed25519 verify, parse and apply per own change.  Both sides walk
 * the ids in increasing order: the reader drops the ids it has passed.  An id the reader
 * met before the writer recorded it is verified as any other entry, then dropped here.
 */
void fleet_own_add(struct fleet *f, const char *id)
{
	struct fleet_id v;

	if (!fleet_id_parse(id, &v.ms, &v.seq))
		return;
	pthread_mutex_lock(&f->mu);
	if (f->own.n >= FLEET_OWN_MAX)
		fleet_fifo_pop(&f->own, 1);
	fleet_fifo_push(&f->own, &v); /* out of memory: the entry is only verified */
	pthread_mutex_unlock(&f->mu);
}

static int fleet_id_order(const struct fleet_id *a, uint64_t ms, uint64_t seq)
{
	if (a->ms != ms)
		return a->ms < ms ? -1 : 1;
	return a->seq < seq ? -1 : a->seq > seq ? 1 : 0;
}

/* True when ms-seq is an own entry's id (forgotten then, as every id before it). */
bool fleet_own_take(struct fleet *f, uint64_t ms, uint64_t seq)
{
	bool own = false;

	pthread_mutex_lock(&f->mu);
	while (f->own.n > 0) {
		int c = fleet_id_order(fleet_fifo_at(&f->own, 0), ms, seq);

		if (c > 0)
			break;
		fleet_fifo_pop(&f->own, 1);
		if (c == 0) {
			own = true;
			break;
		}
	}
	pthread_mutex_unlock(&f->mu);
	return own;
}
