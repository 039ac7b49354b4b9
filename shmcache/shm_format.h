/* SPDX-License-Identifier: MIT */
/* shm_format.h - internal: the byte layout of the shared table and helpers shared by reader and
 * writer. */
#ifndef PSM_SHM_FORMAT_H
#define PSM_SHM_FORMAT_H

/*
 * Layout.  The object /dev/shm/NAME is one flat mapping of four parts, each
 * found by an offset in the header (never a pointer):
 *
 *   [ header 256 B | buckets: nbuckets x 8 B | arena: arena_units x 64 B ]
 *
 * The header's static part (magic .. host_name) is written once when the
 * table is made and covered by st_crc.  Its live part holds the seqlock
 * counter `seq`, the `retired` flag (set once, by the psmd that replaces the
 * table) and an 80-byte block of counters (generation, heartbeat, records,
 * group masks, ...) covered by its own CRC, rewritten at every commit with
 * the seq value that commit publishes.
 *
 * A bucket is {head, ~head}: the unit index of the first record of its chain,
 * stored twice so that one damaged byte is noticed; an empty bucket is
 * {0xffffffff, 0}.  All-ones is the "none" marker at every width.  There are
 * at least two buckets per record of capacity (a power of two), so chains stay
 * short: on a big table every record a lookup walks is a cache miss.
 *
 * A record starts on a 64-byte unit of the arena and takes as many units as
 * it needs: a 112-byte fixed part (struct shm_rec: CRC32C over everything
 * after the crc word, exact size, next record in the chain, hash, the numeric
 * fields of struct shm_entry, the nine field lengths, kind) followed by the
 * field bytes in order.  A record lives in the chain of bucket
 * (hash & (nbuckets - 1)), where hash = shm_hash(kind, key).  The writer
 * recomputes a record's CRC whenever it changes its `next`.
 *
 * Routing words.  size, next and hash are each stored next to their bitwise
 * complement (like a bucket), so a reader checks them in place, one cache
 * line, without copying the record: a lookup follows a chain by the checked
 * `next` and skips a record whose checked hash is not the key's hash (its key
 * cannot be the one looked for), and copies and CRC-checks only a record
 * whose hash matches.  One damaged byte of a routing word breaks its pair:
 * corruption, never a wrongly skipped record.  A damaged byte elsewhere in a
 * skipped record changes no answer; the CRC catches it where the record is read.
 *
 * Concurrency.  psmd is the only writer.  A write batch makes seq odd
 * (relaxed store + release fence), changes buckets and records, rewrites the
 * counter block, then makes seq even again with a release store.  A reader
 * loads seq with acquire (retrying, bounded, while it is odd), copies what it
 * needs into its own memory, and after an acquire fence re-reads seq: equal
 * means the copies are consistent.  While it reads, the reader may see torn
 * data, so it never follows anything it has not checked: each record is
 * copied (bounded by SHM_REC_MAX and the arena end) and its CRC and field
 * lengths are verified before it is decoded, chain hops are bounded by the
 * arena size (a cycle is corruption, never a hang), and a record whose hash
 * does not belong to its bucket is corruption.  A check that fails inside a
 * transaction that then turns out inconsistent is just a retry; one that
 * fails in a consistent transaction is corruption (PSM_EUNAVAIL).
 *
 * A pread reader reads the whole header with one pread(2) at open, which
 * copies its bytes in no promised order: the counter block in that copy may
 * be older or newer than the seq beside it.  It is used for the transaction
 * that begins at that seq only when its CRC holds and its own seq field
 * equals that seq (the block that commit wrote); else the block is read
 * again inside the transaction, by a pread of its own after seq.
 *
 * Free space is tracked by the writer in its own heap (free lists by size in
 * units plus a bump pointer), never in the shared object.  psmd replaces a
 * table (growth, restart) by building a new one under a private name,
 * renaming it over NAME and setting the old one's `retired` flag, which tells
 * readers to reopen.
 */

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "shm.h"

#define SHM_MAGIC 0x31304c42544d5350ull /* "PSMTBL01" little-endian */
#define SHM_FORMAT_VERSION 5u
#define SHM_UNIT 64u
#define SHM_HDR_SIZE 256u
#define SHM_NONE 0xffffffffu
#define SHM_CAPACITY_MAX (1u << 24) /* records; keeps unit indices < 2^26 */
#define SHM_UNITS_PER_REC 4u	    /* arena units reserved per record of capacity */
#define SHM_HOST_MAX 64
_Static_assert(SHM_HOST_MAX == SHM_HOST_NAME_MAX, "host name size");

/* Counters a reader may use, rewritten (with crc) at every commit. */
struct shm_mut {
	uint64_t generation;
	int64_t heartbeat;
	uint64_t records;
	uint64_t arena_used;
	uint64_t group_mask;	  /* group grants and denies, see shm_seg_bit() */
	uint64_t group_deny_mask; /* the same for group denies alone */
	uint64_t seq;		  /* the even seq published with this block (see seq below) */
	uint32_t writer_pid;
	uint32_t policy_roles;
	uint32_t policy_bindings;
	uint32_t policy_denies;
	uint32_t crc; /* crc32c of the bytes before it */
	uint32_t pad;
};
_Static_assert(sizeof(struct shm_mut) == 80, "shm_mut size");
_Static_assert(offsetof(struct shm_mut, crc) == 72, "shm_mut crc offset");

struct shm_hdr {
	/* static part, covered by st_crc */
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint64_t total_size;
	uint64_t buckets_off;
	uint64_t arena_off;
	uint64_t arena_units;
	uint64_t capacity;
	int64_t created;
	uint32_t nbuckets;
	uint32_t unit_size;
	char host_name[SHM_HOST_MAX];
	uint32_t st_crc; /* crc32c of the bytes before it */
	uint32_t pad0;
	/* live part */
	_Atomic uint64_t seq; /* odd while the writer is in a batch */
	_Atomic uint32_t retired;
	uint32_t pad1;
	struct shm_mut mut;
	unsigned char reserved[16];
};
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "atomic u64 size");
_Static_assert(sizeof(struct shm_hdr) == SHM_HDR_SIZE, "shm_hdr size");
_Static_assert(offsetof(struct shm_hdr, nbuckets) == 64, "shm_hdr nbuckets offset");
_Static_assert(offsetof(struct shm_hdr, host_name) == 72, "shm_hdr host_name offset");
_Static_assert(offsetof(struct shm_hdr, st_crc) == 136, "shm_hdr st_crc offset");
_Static_assert(offsetof(struct shm_hdr, seq) == 144, "shm_hdr seq offset");
_Static_assert(offsetof(struct shm_hdr, retired) == 152, "shm_hdr retired offset");
_Static_assert(offsetof(struct shm_hdr, mut) == 160, "shm_hdr mut offset");

struct shm_bucket {
	uint32_t head; /* unit index or SHM_NONE */
	uint32_t inv;  /* ~head */
};
_Static_assert(sizeof(struct shm_bucket) == 8, "shm_bucket size");

struct shm_rec {
	uint32_t crc;  /* crc32c of bytes [4, size) */
	uint32_t size; /* exact bytes: this header plus the fields */
	/* routing words, each with its complement: checked in place, before any copy */
	uint32_t next;	   /* unit index or SHM_NONE */
	uint32_t next_inv; /* ~next */
	uint32_t hash;	   /* shm_hash(kind, key) */
	uint32_t hash_inv; /* ~hash */
	uint32_t rule;
	uint32_t uid;
	uint32_t pid;
	uint32_t audit;
	int64_t not_before;
	int64_t not_after;
	uint64_t version;
	int64_t created;
	uint8_t id[16];
	uint16_t flen[SHM_NFIELDS];
	uint8_t kind;
	uint8_t flags;
	uint32_t size_inv; /* ~size */
};
_Static_assert(sizeof(struct shm_rec) == 112, "shm_rec size");
_Static_assert(offsetof(struct shm_rec, size) == 4, "shm_rec size offset");
_Static_assert(offsetof(struct shm_rec, next) == 8, "shm_rec next offset");
_Static_assert(offsetof(struct shm_rec, hash_inv) == 20, "shm_rec hash_inv offset");
_Static_assert(offsetof(struct shm_rec, not_before) == 40, "shm_rec not_before offset");
_Static_assert(offsetof(struct shm_rec, id) == 72, "shm_rec id offset");
_Static_assert(offsetof(struct shm_rec, flen) == 88, "shm_rec flen offset");
_Static_assert(offsetof(struct shm_rec, kind) == 106, "shm_rec kind offset");
_Static_assert(offsetof(struct shm_rec, size_inv) == 108, "shm_rec size_inv offset");
_Static_assert(SHM_NFIELDS == 9, "field count is part of the format");
_Static_assert(SHM_REC_MAX % SHM_UNIT == 0, "SHM_REC_MAX in whole units");

static inline const struct shm_hdr *shm_hdr_of(const struct shm_view *v)
{
	return (const struct shm_hdr *)(const void *)v->base;
}

/* shm_util.c */
uint32_t shm_hash(uint8_t kind, const char *key, size_t len);
int shm_name_check(const char *name, struct psm_err *err);
uint32_t shm_mut_crc(const struct shm_mut *m);
/* Geometry for a capacity (1..SHM_CAPACITY_MAX): the static sizes of the header. */
struct shm_geom {
	uint32_t nbuckets;
	uint64_t buckets_off, arena_off, arena_units, total_size;
};
void shm_geom_for(uint64_t capacity, struct shm_geom *g);
uint32_t shm_hdr_crc(const struct shm_hdr *h);
/* Copies the geometry and static fields of the validated header h into v. */
void shm_view_set_static(struct shm_view *v, const struct shm_hdr *h);

/* shm_record.c */
/* Writes the record for e (size bytes) at dst, with next and its crc. */
void shm_rec_encode(unsigned char *dst, const struct shm_entry *e, size_t size, uint32_t hash,
		    uint32_t next);
/* Sets the next field of the record at rec and updates its crc. */
void shm_rec_set_next(unsigned char *rec, uint32_t next);
/*
 * Copies the record at unit into buf, verifies it (bounds, size pair, crc, lengths, kind;
 * hash and next equal to the routing words from shm_rec_route()) and decodes it into out.
 * 0 or -PSM_EUNAVAIL.
 */
int shm_rec_load(const struct shm_view *v, uint32_t unit, uint32_t hash, uint32_t next,
		 struct shm_entry *out, struct shm_recbuf *buf);
/* Whether routing words n/ni and h/hi are intact pairs and h belongs to bucket. */
static inline int shm_route_check(const struct shm_view *v, uint32_t n, uint32_t ni, uint32_t h,
				  uint32_t hi, uint32_t bucket, uint32_t *hash, uint32_t *next)
{
	if (((n ^ ni) & (h ^ hi)) != SHM_NONE || (h & (v->nbuckets - 1)) != bucket)
		return -PSM_EUNAVAIL;
	*hash = h;
	*next = n;
	return 0;
}

/* Word at byte off of p (a copy in the reader's memory). */
static inline uint32_t shm_word_at(const unsigned char *p, size_t off)
{
	uint32_t w;

	memcpy(&w, p + off, sizeof(w));
	return w;
}

/* Head of bucket b, SHM_NONE when empty, or the marker SHM_BAD_UNIT when its pair is broken. */
#define SHM_BAD_UNIT 0xfffffffeu
static inline uint32_t shm_bucket_pair(uint32_t head, uint32_t inv)
{
	return (head ^ inv) == SHM_NONE ? head : SHM_BAD_UNIT;
}

#endif
