/* SPDX-License-Identifier: MIT */
/* ids.h - 128-bit random ids (grant_id, session_id): generation, text form, parsing. */
#ifndef PSMD_IDS_H
#define PSMD_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "psm_err.h"

#define ID_BYTES 16
#define ID_TEXT_LEN 26 /* RFC 4648 base32, lower case, no padding */
#define ID_HEX_LEN 32
#define ID_TEXT_SIZE (ID_TEXT_LEN + 1)

/* Fills id with 128 random bits from libsodium (sodium_init is done once). */
int id_new(uint8_t id[ID_BYTES], struct psm_err *err);

/* Writes the 26-character lower-case base32 form and a NUL into out. */
void id_format(const uint8_t id[ID_BYTES], char out[ID_TEXT_SIZE]);

/*
 * Parses the 26-character base32 form (either case; the 2 unused low bits of
 * the last character must be zero) or 32 hex digits (either case).  Anything
 * else: PSM_EINVAL "id \"...\": expected 26 base32 or 32 hex characters".
 */
int id_parse(const char *s, uint8_t id[ID_BYTES], struct psm_err *err);

bool id_is_zero(const uint8_t id[ID_BYTES]);

/* A well-mixed 64-bit hash of an id (ids are random: the first 8 bytes). */
uint64_t id_hash(const uint8_t id[ID_BYTES]);

#endif
