/* SPDX-License-Identifier: MIT */
/* shm_record.c - encode a record for the writer; copy, verify and decode one for any reader. */
#include <string.h>

#include "shm_format.h"

static void shm_rec_crc_update(unsigned char *rec, uint32_t size)
{
	uint32_t crc = shm_crc32c(0, rec + 4, size - 4);

	memcpy(rec + offsetof(struct shm_rec, crc), &crc, sizeof(crc));
}

void shm_rec_encode(unsigned char *dst, const struct shm_entry *e, size_t size, uint32_t hash,
		    uint32_t next)
{
	struct shm_rec r;
	size_t pos = sizeof(r);
	int i;

	memset(&r, 0, sizeof(r));
	r.size = (uint32_t)size;
	r.next = next;
	r.hash = hash;
	r.kind = e->kind;
	r.flags = e->flags;
	r.rule = e->rule;
	r.uid = e->uid;
	r.pid = e->pid;
	r.audit = e->audit;
	r.not_before = e->not_before;
	r.not_after = e->not_after;
	r.version = e->version;
	r.created = e->created;
	memcpy(r.id, e->id, sizeof(r.id));
	for (i = 0; i < SHM_NFIELDS; i++)
		r.flen[i] = e->flen[i];
	memcpy(dst, &r, sizeof(r));
	for (i = 0; i < SHM_NFIELDS; i++) {
		if (e->flen[i] > 0)
			memcpy(dst + pos, e->f[i], e->flen[i]);
		pos += e->flen[i];
	}
	shm_rec_crc_update(dst, r.size);
}

void shm_rec_set_next(unsigned char *rec, uint32_t next)
{
	uint32_t size;

	memcpy(rec + offsetof(struct shm_rec, next), &next, sizeof(next));
	memcpy(&size, rec + offsetof(struct shm_rec, size), sizeof(size));
	shm_rec_crc_update(rec, size);
}

uint32_t shm_bucket_head(const struct shm_view *v, uint32_t b)
{
	const struct shm_bucket *bk = (const struct shm_bucket *)(const void *)
		(v->base + v->buckets_off) + b;
	uint32_t head = __atomic_load_n(&bk->head, __ATOMIC_ACQUIRE);
	uint32_t inv = __atomic_load_n(&bk->inv, __ATOMIC_RELAXED);

	return (head ^ inv) == SHM_NONE ? head : SHM_BAD_UNIT;
}

/* Copies the record at unit into buf after checking it fits; 0 or -PSM_EUNAVAIL. */
static int shm_rec_copy(const struct shm_view *v, uint32_t unit, struct shm_recbuf *buf,
			struct shm_rec *r)
{
	const unsigned char *p;
	uint64_t avail;
	uint32_t size, crc;

	if (unit >= v->arena_units)
		return -PSM_EUNAVAIL;
	avail = (v->arena_units - unit) * SHM_UNIT;
	p = v->base + v->arena_off + (uint64_t)unit * SHM_UNIT;
	size = __atomic_load_n((const uint32_t *)(const void *)(p + offsetof(struct shm_rec, size)),
			       __ATOMIC_RELAXED);
	if (size < sizeof(*r) || size > SHM_REC_MAX || size > avail)
		return -PSM_EUNAVAIL;
	memcpy(buf->b, p, 4);
	crc = shm_crc32c_copy(buf->b + 4, p + 4, size - 4);
	memcpy(r, buf->b, sizeof(*r));
	if (r->size != size || crc != r->crc)
		return -PSM_EUNAVAIL;
	return 0;
}

static void shm_rec_decode(const struct shm_rec *r, const struct shm_recbuf *buf, uint32_t unit,
			   struct shm_entry *out)
{
	size_t pos = sizeof(*r);
	int i;

	out->kind = r->kind;
	out->flags = r->flags;
	out->not_before = r->not_before;
	out->not_after = r->not_after;
	out->version = r->version;
	memcpy(out->id, r->id, sizeof(out->id));
	out->rule = r->rule;
	out->uid = r->uid;
	out->pid = r->pid;
	out->audit = r->audit;
	out->created = r->created;
	for (i = 0; i < SHM_NFIELDS; i++) {
		out->f[i] = (const char *)buf->b + pos;
		out->flen[i] = r->flen[i];
		pos += r->flen[i];
	}
	out->unit = unit;
}

int shm_rec_load(const struct shm_view *v, uint32_t unit, uint32_t bucket,
		 struct shm_entry *out, struct shm_recbuf *buf, uint32_t *next, uint32_t *hash)
{
	struct shm_rec r;
	size_t total = sizeof(r);
	int i;

	if (shm_rec_copy(v, unit, buf, &r) != 0)
		return -PSM_EUNAVAIL;
	for (i = 0; i < SHM_NFIELDS; i++) {
		if (r.flen[i] > SHM_FIELD_MAX)
			return -PSM_EUNAVAIL;
		total += r.flen[i];
	}
	if (total != r.size || r.kind < SHM_GRANT || r.kind > SHM_BREAKGLASS ||
	    (r.hash & (v->nbuckets - 1)) != bucket)
		return -PSM_EUNAVAIL;
	shm_rec_decode(&r, buf, unit, out);
	*next = r.next;
	*hash = r.hash;
	return 0;
}
