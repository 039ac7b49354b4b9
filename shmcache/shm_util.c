/* SPDX-License-Identifier: MIT */
/* shm_util.c - key hash, group-mask bits, table names and header checksums. */
#include <stdio.h>
#include <string.h>

#include "psm_str.h"
#include "crc32c.h"
#include "shm_format.h"

#define SHM_NAME_MAX 200

/* The last 1..7 bytes of a key as one word: two overlapping loads (the length, mixed into
 * the hash, fixes which bytes they are). */
static uint64_t shm_hash_tail(const unsigned char *p, size_t len)
{
	uint32_t a, b;

	if (len >= 4) {
		memcpy(&a, p, 4);
		memcpy(&b, p + len - 4, 4);
		return a | (uint64_t)b << 32;
	}
	return p[0] | (uint64_t)p[len / 2] << 8 | (uint64_t)p[len - 1] << 16;
}

/* Multiply-xorshift over 8-byte words, then the murmur3 64-bit finalizer.  Kind and length
 * are mixed before the first word: XORed straight into it, they would only flip key bits
 * (kind 1 "u0000001" would be kind 2 "u0000002"). */
uint32_t shm_hash(uint8_t kind, const char *key, size_t len)
{
	const unsigned char *p = (const unsigned char *)key;
	/* A principal's grants and denies share a hash: one walk finds both (SHM_RULE). */
	uint64_t class = kind == SHM_DENY || kind == SHM_RULE ? SHM_GRANT : kind;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (class << 56) ^ len, w;

	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 29;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	if (len > 0) {
		h = (h ^ shm_hash_tail(p, len)) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

uint64_t shm_seg_bit(const char *seg, size_t len)
{
	if (len == 1 && seg[0] == '*')
		return SHM_MASK_ANY;
	return 1ull << (shm_hash(0, seg, len) % 63u);
}

static int shm_name_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

int shm_name_check(const char *name, struct psm_err *err)
{
	size_t i, n;

	if (name == NULL || name[0] != '/')
		return psm_err_set(err, PSM_EINVAL, "table name %s%s%s: must start with '/'",
				   name ? "'" : "", name ? name : "(null)", name ? "'" : "");
	n = strlen(name + 1);
	if (n == 0 || n > SHM_NAME_MAX)
		return psm_err_set(err, PSM_EINVAL,
				   "table name '%.*s': must be 1 to %d characters after '/'",
				   SHM_NAME_MAX + 1, name, SHM_NAME_MAX);
	if (psm_streq(name, "/.") || psm_streq(name, "/.."))
		return psm_err_set(err, PSM_EINVAL, "table name '%s': not a name", name);
	for (i = 1; i <= n; i++) {
		if (!shm_name_char_ok(name[i]))
			return psm_err_set(
			    err, PSM_EINVAL,
			    "table name '%s': bad character at %zu (allowed: A-Z a-z 0-9 . _ -)",
			    name, i);
	}
	return PSM_OK;
}

/* Plain copies, not snprintf: this is on every PAM decision's open. */
int shm_path(char *buf, size_t n, const char *name, const char *suffix)
{
	size_t pos = 0;

	if (n == 0)
		return -1;
	buf[0] = '\0';
	return psm_append(buf, n, &pos, "/dev/shm") && psm_append(buf, n, &pos, name) &&
		       psm_append(buf, n, &pos, suffix ? suffix : "")
		   ? 0
		   : -1;
}

uint32_t shm_mut_crc(const struct shm_mut *m)
{
	return shm_crc32c(0, m, offsetof(struct shm_mut, crc));
}

uint32_t shm_hdr_crc(const struct shm_hdr *h)
{
	return shm_crc32c(0, h, offsetof(struct shm_hdr, st_crc));
}

void shm_geom_for(uint64_t capacity, struct shm_geom *g)
{
	uint32_t nb = 1;

	/* at least two buckets per record: chains stay short (a lookup that misses reads
	 * about 0.5 records, each one cache miss on a big table), for 8 bytes more a record */
	while (nb < 2 * capacity)
		nb <<= 1;
	g->nbuckets = nb;
	g->buckets_off = SHM_HDR_SIZE;
	g->arena_off = (g->buckets_off + (uint64_t)nb * sizeof(struct shm_bucket) + SHM_UNIT - 1) /
		       SHM_UNIT * SHM_UNIT;
	g->arena_units = capacity * SHM_UNITS_PER_REC;
	g->total_size = g->arena_off + g->arena_units * SHM_UNIT;
}

void shm_view_set_static(struct shm_view *v, const struct shm_hdr *h)
{
	v->nbuckets = h->nbuckets;
	v->buckets_off = h->buckets_off;
	v->arena_off = h->arena_off;
	v->arena_units = h->arena_units;
	v->unit_size = h->unit_size;
	v->capacity = h->capacity;
	v->created = h->created;
	memcpy(v->host_name, h->host_name, sizeof(v->host_name));
	v->host_name[sizeof(v->host_name) - 1] = '\0';
	v->crc_hw = shm_crc32c_have_hw() != 0;
}
