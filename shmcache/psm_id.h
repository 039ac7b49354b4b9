/* SPDX-License-Identifier: MIT */
/* psm_id.h - text form of 128-bit grant and session ids: one encoder for psmd, PAM and tools. */
#ifndef PSM_ID_H
#define PSM_ID_H

#include <stdbool.h>
#include <stdint.h>

#include "psm_err.h"

#define PSM_ID_BYTES 16
#define PSM_ID_TEXT_LEN 26 /* RFC 4648 base32, lower case, no padding */
#define PSM_ID_HEX_LEN 32
#define PSM_ID_TEXT_SIZE (PSM_ID_TEXT_LEN + 1)

/* Writes the 26-character lower-case base32 form and a NUL into out. */
void psm_id_format(const uint8_t id[PSM_ID_BYTES], char out[PSM_ID_TEXT_SIZE]);

/*
 * Parses the 26-character base32 form (either case; the 2 unused low bits of
 * the last character must be zero) or 32 hex digits (either case).  Anything
 * else: PSM_EINVAL "id \"...\": expected 26 base32 or 32 hex characters".
 */
int psm_id_parse(const char *s, uint8_t id[PSM_ID_BYTES], struct psm_err *err);

bool psm_id_is_zero(const uint8_t id[PSM_ID_BYTES]);

#endif
