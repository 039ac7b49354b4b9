/* SPDX-License-Identifier: MIT */
/* ids.c - 128-bit random ids from libsodium, and their hash (text form: shmcache/psm_id.c). */
#include "ids.h"

#include <string.h>

#include <sodium.h>

int id_new(uint8_t id[ID_BYTES], struct psm_err *err)
{
	/* sodium_init is thread-safe and idempotent: 0 first time, 1 after. */
	if (sodium_init() < 0)
		return psm_err_set(err, PSM_ESYS, "id: libsodium initialisation failed");
	randombytes_buf(id, ID_BYTES);
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
