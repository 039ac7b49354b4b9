/* SPDX-License-Identifier: MIT */
/* ids.h - 128-bit random ids (grant_id, session_id): generation here, text form in psm_id.h. */
#ifndef PSMD_IDS_H
#define PSMD_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "psm_err.h"
#include "psm_id.h"

#define ID_BYTES PSM_ID_BYTES
#define ID_TEXT_LEN PSM_ID_TEXT_LEN /* RFC 4648 base32, lower case, no padding */
#define ID_HEX_LEN PSM_ID_HEX_LEN
#define ID_TEXT_SIZE PSM_ID_TEXT_SIZE

/* Fills id with 128 random bits from libsodium (sodium_init is done once). */
int id_new(uint8_t id[ID_BYTES], struct psm_err *err);

/* The text form is shmcache/psm_id.c's (the same in psmd, pam_psm and psm-query). */
static inline void id_format(const uint8_t id[ID_BYTES], char out[ID_TEXT_SIZE])
{
	psm_id_format(id, out);
}

static inline int id_parse(const char *s, uint8_t id[ID_BYTES], struct psm_err *err)
{
	return psm_id_parse(s, id, err);
}

static inline bool id_is_zero(const uint8_t id[ID_BYTES])
{
	return psm_id_is_zero(id);
}

/* A well-mixed 64-bit hash of an id (ids are random: the first 8 bytes). */
uint64_t id_hash(const uint8_t id[ID_BYTES]);

#endif
