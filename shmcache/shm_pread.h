/* SPDX-License-Identifier: MIT */
/* shm_pread.h - internal: the reads of a view opened with SHM_VIEW_PREAD (pread(2), no mapping),
 * and the record and bucket reads that take pread or the mapping as the view has it. */
#ifndef PSM_SHM_PREAD_H
#define PSM_SHM_PREAD_H

#include "shm_format.h"

#define SHM_PREAD_CHUNK 512u /* first bytes of a record read with its routing words */
/* pread of exactly len bytes at off; 0 or -PSM_EUNAVAIL. */
int shm_pread(const struct shm_view *v, uint64_t off, void *dst, size_t len);
/* seq, then an acquire fence; an odd value (never consistent) when unreadable. */
uint64_t shm_pread_seq(const struct shm_view *v);
/* Head of bucket b read by pread, as shm_bucket_pair gives it (SHM_BAD_UNIT when unreadable). */
uint32_t shm_pread_bucket_head(const struct shm_view *v, uint32_t b);
/* Reads the first bytes of the record at unit into buf (buf->unit, buf->have); 0 or
 * -PSM_EUNAVAIL.  The record's words are then taken from buf. */
int shm_pread_head(const struct shm_view *v, uint32_t unit, struct shm_recbuf *buf);
/* The same, from window w when it holds those bytes, else from one pread of the SHM_WIN_SIZE
 * bytes that end with them into w (a key's records are adjacent, the chain's next ones usually
 * just below: newer records are prepended).  w NULL: shm_pread_head. */
int shm_pread_head_win(const struct shm_view *v, uint32_t unit, struct shm_recbuf *buf,
		       struct shm_win *w);
/* Completes buf (from shm_pread_head of unit) up to size bytes; 0 or -PSM_EUNAVAIL. */
int shm_pread_rest(const struct shm_view *v, uint32_t unit, uint32_t size, struct shm_recbuf *buf);

/*
 * The checked routing words of the record at unit, read in place (a mapped view) or from
 * its first bytes read into buf (SHM_VIEW_PREAD, through win unless NULL): hash (which must
 * belong to bucket) and next.  0, or -PSM_EUNAVAIL (out of the arena, a broken pair, wrong
 * bucket; inside a transaction that turns out inconsistent, a torn read).  Each word is loaded
 * once.
 */
static inline int shm_rec_route(const struct shm_view *v, uint32_t unit, uint32_t bucket,
				uint32_t *hash, uint32_t *next, struct shm_recbuf *buf,
				struct shm_win *win)
{
	const uint32_t *w;
	uint32_t n, ni, h, hi;

	if (unit >= v->arena_units)
		return -PSM_EUNAVAIL;
	if (v->base == NULL) {
		if (shm_pread_head_win(v, unit, buf, win) != 0)
			return -PSM_EUNAVAIL;
		return shm_route_check(v, shm_word_at(buf->b, offsetof(struct shm_rec, next)),
				       shm_word_at(buf->b, offsetof(struct shm_rec, next_inv)),
				       shm_word_at(buf->b, offsetof(struct shm_rec, hash)),
				       shm_word_at(buf->b, offsetof(struct shm_rec, hash_inv)),
				       bucket, hash, next);
	}
	w = (const uint32_t *)(const void *)(v->base + v->arena_off + (uint64_t)unit * SHM_UNIT);
	n = __atomic_load_n(&w[offsetof(struct shm_rec, next) / 4], __ATOMIC_RELAXED);
	ni = __atomic_load_n(&w[offsetof(struct shm_rec, next_inv) / 4], __ATOMIC_RELAXED);
	h = __atomic_load_n(&w[offsetof(struct shm_rec, hash) / 4], __ATOMIC_RELAXED);
	hi = __atomic_load_n(&w[offsetof(struct shm_rec, hash_inv) / 4], __ATOMIC_RELAXED);
	return shm_route_check(v, n, ni, h, hi, bucket, hash, next);
}

/* Head of bucket b (shm_bucket_pair): read in place, or by pread for SHM_VIEW_PREAD. */
static inline uint32_t shm_bucket_head(const struct shm_view *v, uint32_t b)
{
	const struct shm_bucket *bk;
	uint32_t head, inv;

	if (v->base == NULL)
		return shm_pread_bucket_head(v, b);
	bk = (const struct shm_bucket *)(const void *)(v->base + v->buckets_off) + b;
	head = __atomic_load_n(&bk->head, __ATOMIC_ACQUIRE);
	inv = __atomic_load_n(&bk->inv, __ATOMIC_RELAXED);
	return shm_bucket_pair(head, inv);
}

#endif
