/* SPDX-License-Identifier: MIT */
/* ids.c - 128-bit random ids from libsodium, and their hash (text form: shmcache/psm_id.c). */
#include "ids.h"

#include <string.h>

#include <sodium.h>

/*
 * libsodium's randombytes_buf() is one getrandom() system call per call: a
 * pipelined stream of grants would make one per id.  Ids are taken from a
 * pool of random bytes instead, refilled by one call per IDS_POOL / ID_BYTES
 * ids; every id's bytes are wiped from the pool as they are handed out.
 * psmd's only child (snapshot_child.c) makes no ids, so no two processes
 * hand out the same bytes.
 */
#define IDS_POOL 4096

static struct {
	uint8_t bytes[IDS_POOL];
	size_t used; /* bytes[used..] are unused; IDS_POOL when empty */
} ids_pool = {.used = IDS_POOL};

int id_new(uint8_t id[ID_BYTES], struct psm_err *err)
{
	if (ids_pool.used + ID_BYTES > IDS_POOL) {
		/* sodium_init is thread-safe and idempotent: 0 first time, 1 after. */
		if (sodium_init() < 0)
			return psm_err_set(err, PSM_ESYS, "id: libsodium initialisation failed");
		randombytes_buf(ids_pool.bytes, IDS_POOL);
		ids_pool.used = 0;
	}
	memcpy(id, ids_pool.bytes + ids_pool.used, ID_BYTES);
	sodium_memzero(ids_pool.bytes + ids_pool.used, ID_BYTES);
	ids_pool.used += ID_BYTES;
	return PSM_OK;
}

uint64_t id_hash(const uint8_t id[ID_BYTES])
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}
