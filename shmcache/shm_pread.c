/* SPDX-License-Identifier: MIT */
/* shm_pread.c - the reads of a view opened with SHM_VIEW_PREAD: pread(2) instead of a mapping. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "shm_pread.h"

/*
 * A pread is one copy by the kernel, in no promised byte order, so each
 * word that orders a transaction (seq) is read by a pread of its own, and an
 * acquire fence after it orders the reads that follow (the same fences as a
 * mapped reader's atomics).  Everything else is copied and then checked
 * exactly as a mapped reader checks its copies: routing-word pairs, bucket
 * pairs, record CRCs, bounds, and seq unchanged at the end.
 */

int shm_pread(const struct shm_view *v, uint64_t off, void *dst, size_t len)
{
	ssize_t n;

	if (off > v->size || len > v->size - off)
		return -PSM_EUNAVAIL;
	do {
		n = pread(v->fd, dst, len, (off_t)off);
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -PSM_EUNAVAIL;
}

uint64_t shm_pread_seq(const struct shm_view *v)
{
	uint64_t seq;

	atomic_thread_fence(memory_order_acquire);
	if (shm_pread(v, offsetof(struct shm_hdr, seq), &seq, sizeof(seq)) != 0)
		return 1;
	atomic_thread_fence(memory_order_acquire);
	return seq;
}

uint32_t shm_pread_bucket_head(const struct shm_view *v, uint32_t b)
{
	struct shm_bucket bk;

	if (b >= v->nbuckets ||
	    shm_pread(v, v->buckets_off + (uint64_t)b * sizeof(bk), &bk, sizeof(bk)) != 0)
		return SHM_BAD_UNIT;
	return shm_bucket_pair(bk.head, bk.inv);
}

/* Bytes of a record's head at unit: SHM_PREAD_CHUNK, or up to the arena's end. */
static uint32_t shm_head_len(const struct shm_view *v, uint32_t unit)
{
	uint64_t left = (v->arena_units - unit) * SHM_UNIT;

	return left < SHM_PREAD_CHUNK ? (uint32_t)left : SHM_PREAD_CHUNK;
}

int shm_pread_head(const struct shm_view *v, uint32_t unit, struct shm_recbuf *buf)
{
	uint32_t n;

	buf->unit = SHM_NONE;
	buf->have = 0;
	if (unit >= v->arena_units)
		return -PSM_EUNAVAIL;
	n = shm_head_len(v, unit);
	if (shm_pread(v, v->arena_off + (uint64_t)unit * SHM_UNIT, buf->b, n) != 0)
		return -PSM_EUNAVAIL;
	buf->unit = unit;
	buf->have = n;
	return 0;
}

/*
 * Where a window for the n bytes at arena offset off begins: centred on them (a chain's next
 * records lie just below, newer ones were prepended; other keys' records anywhere near), moved
 * to keep SHM_WIN_SIZE bytes inside the arena.  Whole units; holds [off, off + n).
 */
static uint64_t shm_win_start(const struct shm_view *v, uint64_t off, uint32_t n)
{
	uint64_t arena = v->arena_units * SHM_UNIT, half = (SHM_WIN_SIZE - n) / 2;
	uint64_t start = off > half ? (off - half) & ~(uint64_t)(SHM_UNIT - 1) : 0;

	if (arena >= SHM_WIN_SIZE && start > arena - SHM_WIN_SIZE)
		start = arena - SHM_WIN_SIZE;
	return start;
}

/* The window's length from start: SHM_WIN_SIZE, or up to the arena's end. */
static size_t shm_win_len(const struct shm_view *v, uint64_t start)
{
	uint64_t left = v->arena_units * SHM_UNIT - start;

	return left < SHM_WIN_SIZE ? (size_t)left : SHM_WIN_SIZE;
}

int shm_pread_head_win(const struct shm_view *v, uint32_t unit, struct shm_recbuf *buf,
		       struct shm_win *w)
{
	uint64_t off = (uint64_t)unit * SHM_UNIT, start;
	size_t len;
	uint32_t n;

	if (w == NULL)
		return shm_pread_head(v, unit, buf);
	buf->unit = SHM_NONE;
	buf->have = 0;
	if (unit >= v->arena_units)
		return -PSM_EUNAVAIL;
	n = shm_head_len(v, unit);
	if (w->len == 0 || off < w->off || off + n > w->off + w->len) {
		start = shm_win_start(v, off, n);
		len = shm_win_len(v, start);
		w->len = 0;
		if (shm_pread(v, v->arena_off + start, w->b, len) != 0)
			return -PSM_EUNAVAIL;
		w->off = start;
		w->len = (uint32_t)len;
	}
	memcpy(buf->b, w->b + (off - w->off), n);
	buf->unit = unit;
	buf->have = n;
	return 0;
}

int shm_pread_rest(const struct shm_view *v, uint32_t unit, uint32_t size, struct shm_recbuf *buf)
{
	uint64_t off = v->arena_off + (uint64_t)unit * SHM_UNIT;

	if (buf->unit != unit && shm_pread_head(v, unit, buf) != 0)
		return -PSM_EUNAVAIL;
	if (size > SHM_REC_MAX)
		return -PSM_EUNAVAIL;
	if (size <= buf->have)
		return 0;
	if (shm_pread(v, off + buf->have, buf->b + buf->have, size - buf->have) != 0)
		return -PSM_EUNAVAIL;
	buf->have = size;
	return 0;
}
