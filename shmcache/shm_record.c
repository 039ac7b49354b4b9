/* SPDX-License-Identifier: MIT */
/* shm_record.c - encode a record for the writer; copy, verify and decode one for any reader. */
#include <stdbool.h>
#include <string.h>

#include "crc32c.h"
#include "shm_pread.h"

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
	r.size_inv = ~r.size;
	r.next = next;
	r.next_inv = ~next;
	r.hash = hash;
	r.hash_inv = ~hash;
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

void shm_entry_set(struct shm_entry *e, enum shm_field f, const void *p, size_t n)
{
	e->f[f] = p;
	e->flen[f] = (uint16_t)n;
}

void shm_entry_set_str(struct shm_entry *e, enum shm_field f, const char *s)
{
	if (s != NULL)
		shm_entry_set(e, f, s, strlen(s));
}

void shm_rec_set_next(unsigned char *rec, uint32_t next)
{
	uint32_t size, inv = ~next;

	memcpy(rec + offsetof(struct shm_rec, next), &next, sizeof(next));
	memcpy(rec + offsetof(struct shm_rec, next_inv), &inv, sizeof(inv));
	memcpy(&size, rec + offsetof(struct shm_rec, size), sizeof(size));
	shm_rec_crc_update(rec, size);
}

static uint32_t shm_rec_word(const unsigned char *p, size_t off)
{
	return __atomic_load_n((const uint32_t *)(const void *)(p + off), __ATOMIC_RELAXED);
}

/* Whether a record of size bytes (its size pair) fits at unit. */
static bool shm_rec_size_ok(const struct shm_view *v, uint32_t unit, uint32_t size,
			    uint32_t size_inv)
{
	return (size ^ size_inv) == SHM_NONE && size >= sizeof(struct shm_rec) &&
	       size <= SHM_REC_MAX && size <= (v->arena_units - unit) * SHM_UNIT;
}

/* SHM_VIEW_PREAD: the record's first bytes are in buf (shm_rec_route); reads the rest and
 * checks the crc of the copy. */
static int shm_rec_copy_pread(const struct shm_view *v, uint32_t unit, struct shm_recbuf *buf,
			      struct shm_rec *r)
{
	uint32_t size;

	if (buf->unit != unit && shm_pread_head(v, unit, buf) != 0)
		return -PSM_EUNAVAIL;
	size = shm_word_at(buf->b, offsetof(struct shm_rec, size));
	if (!shm_rec_size_ok(v, unit, size,
			     shm_word_at(buf->b, offsetof(struct shm_rec, size_inv))) ||
	    shm_pread_rest(v, unit, size, buf) != 0)
		return -PSM_EUNAVAIL;
	buf->unit = SHM_NONE; /* from here on buf holds a decoded record, not a chain's head */
	memcpy(r, buf->b, sizeof(*r));
	return shm_crc32c_view(v, buf->b + 4, size - 4) == r->crc ? 0 : -PSM_EUNAVAIL;
}

/* Copies the record at unit into buf after checking its size pair and that it fits, then
 * checks the copy's size and crc; *r gets the copied header.  0 or -PSM_EUNAVAIL. */
static int shm_rec_copy(const struct shm_view *v, uint32_t unit, struct shm_recbuf *buf,
			struct shm_rec *r)
{
	const unsigned char *p;
	uint32_t size, crc, want;

	if (unit >= v->arena_units)
		return -PSM_EUNAVAIL;
	if (v->base == NULL)
		return shm_rec_copy_pread(v, unit, buf, r);
	p = v->base + v->arena_off + (uint64_t)unit * SHM_UNIT;
	size = shm_rec_word(p, offsetof(struct shm_rec, size));
	if (!shm_rec_size_ok(v, unit, size, shm_rec_word(p, offsetof(struct shm_rec, size_inv))))
		return -PSM_EUNAVAIL;
	want = shm_rec_word(p, offsetof(struct shm_rec, crc));
	memcpy(buf->b, &want, sizeof(want));
	crc = shm_crc32c_copy(v, buf->b + 4, p + 4, size - 4);
	memcpy(r, buf->b, sizeof(*r));
	return r->size == size && crc == want ? 0 : -PSM_EUNAVAIL;
}

/* Decodes the copied header r (fields in buf) into out; false when the field lengths do not
 * add up to the record's size or one is over SHM_FIELD_MAX (out is then unchanged). */
static bool shm_rec_decode(const struct shm_rec *r, const struct shm_recbuf *buf, uint32_t unit,
			   struct shm_entry *out)
{
	uint32_t pos = sizeof(*r), big = 0;
	int i;

	/* the lengths first: no pointer is made from them before they add up (r->size fits buf);
	 * flen + BIAS has bit 11 or above set exactly when flen > SHM_FIELD_MAX, so one test of
	 * the OR of them all finds any field that is too long */
#define SHM_FLEN_BIAS (2048u - 1u - SHM_FIELD_MAX)
	_Static_assert(SHM_FIELD_MAX < 2048, "shm_rec_decode's length test");
#pragma GCC unroll 9
	for (i = 0; i < SHM_NFIELDS; i++) {
		big |= r->flen[i] + SHM_FLEN_BIAS;
		pos += r->flen[i];
	}
	if ((big >> 11) != 0 || pos != r->size)
		return false;
	pos = sizeof(*r);
#pragma GCC unroll 9
	for (i = 0; i < SHM_NFIELDS; i++) {
		out->f[i] = (const char *)buf->b + pos;
		out->flen[i] = r->flen[i];
		pos += r->flen[i];
	}
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
	out->unit = unit;
	return true;
}

int shm_rec_load(const struct shm_view *v, uint32_t unit, uint32_t hash, uint32_t next,
		 struct shm_entry *out, struct shm_recbuf *buf)
{
	struct shm_rec r;

	if (shm_rec_copy(v, unit, buf, &r) != 0 || r.hash != hash || r.next != next ||
	    r.kind < SHM_GRANT || r.kind > SHM_BREAKGLASS || !shm_rec_decode(&r, buf, unit, out))
		return -PSM_EUNAVAIL;
	return 0;
}
