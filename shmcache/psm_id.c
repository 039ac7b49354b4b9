/* SPDX-License-Identifier: MIT */
/* psm_id.c - 128-bit ids as 26 chars of lower-case base32 (RFC 4648), and back (also from hex). */
#include "psm_id.h"

#include <string.h>

static const char psm_id_b32[] = "abcdefghijklmnopqrstuvwxyz234567";

void psm_id_format(const uint8_t id[PSM_ID_BYTES], char out[PSM_ID_TEXT_SIZE])
{
	unsigned int acc = 0, bits = 0;
	size_t i, o = 0;

	for (i = 0; i < PSM_ID_BYTES; i++) {
		acc = (acc << 8) | id[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = psm_id_b32[(acc >> bits) & 31];
		}
	}
	out[o++] = psm_id_b32[(acc << (5 - bits)) & 31]; /* 128 = 25*5 + 3 */
	out[o] = '\0';
}

static int psm_id_b32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

static int psm_id_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool psm_id_parse_b32(const char *s, uint8_t id[PSM_ID_BYTES])
{
	unsigned int acc = 0, bits = 0;
	size_t i, o = 0;

	for (i = 0; i < PSM_ID_TEXT_LEN; i++) {
		int v = psm_id_b32_value(s[i]);

		if (v < 0)
			return false;
		acc = (acc << 5) | (unsigned int)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			id[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (acc & ((1u << bits) - 1)) == 0; /* canonical: unused bits zero */
}

static bool psm_id_parse_hex(const char *s, uint8_t id[PSM_ID_BYTES])
{
	size_t i;

	for (i = 0; i < PSM_ID_BYTES; i++) {
		int hi = psm_id_hex_value(s[2 * i]), lo = psm_id_hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Copies at most 40 bytes of s for a message, with '?' for unprintable bytes. */
static void psm_id_quote(const char *s, size_t len, char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < len && i < 40 && i + 4 < n; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
	if (i < len && i + 4 < n) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
}

int psm_id_parse(const char *s, uint8_t id[PSM_ID_BYTES], struct psm_err *err)
{
	uint8_t tmp[PSM_ID_BYTES];
	size_t len = s == NULL ? 0 : strnlen(s, PSM_ID_HEX_LEN + 41);
	bool ok = false;
	char q[48];

	if (len == PSM_ID_TEXT_LEN)
		ok = psm_id_parse_b32(s, tmp);
	else if (len == PSM_ID_HEX_LEN)
		ok = psm_id_parse_hex(s, tmp);
	if (!ok) {
		psm_id_quote(s == NULL ? "" : s, len, q, sizeof(q));
		return psm_err_set(err, PSM_EINVAL,
				   "id \"%s\": expected 26 base32 or 32 hex characters", q);
	}
	memcpy(id, tmp, PSM_ID_BYTES);
	return PSM_OK;
}

bool psm_id_is_zero(const uint8_t id[PSM_ID_BYTES])
{
	static const uint8_t zero[PSM_ID_BYTES];

	return memcmp(id, zero, PSM_ID_BYTES) == 0;
}
