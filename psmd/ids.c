/* SPDX-License-Identifier: MIT */
/* ids.c - 128-bit random ids from libsodium, printed as 26 chars of lower-case base32. */
#include "ids.h"

#include <string.h>

#include <sodium.h>

static const char id_b32[] = "abcdefghijklmnopqrstuvwxyz234567";

int id_new(uint8_t id[ID_BYTES], struct psm_err *err)
{
	/* sodium_init is thread-safe and idempotent: 0 first time, 1 after. */
	if (sodium_init() < 0)
		return psm_err_set(err, PSM_ESYS, "id: libsodium initialisation failed");
	randombytes_buf(id, ID_BYTES);
	return PSM_OK;
}

void id_format(const uint8_t id[ID_BYTES], char out[ID_TEXT_SIZE])
{
	unsigned int acc = 0, bits = 0;
	size_t i, o = 0;

	for (i = 0; i < ID_BYTES; i++) {
		acc = (acc << 8) | id[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = id_b32[(acc >> bits) & 31];
		}
	}
	out[o++] = id_b32[(acc << (5 - bits)) & 31]; /* 128 = 25*5 + 3 */
	out[o] = '\0';
}

static int id_b32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

static int id_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool id_parse_b32(const char *s, uint8_t id[ID_BYTES])
{
	unsigned int acc = 0, bits = 0;
	size_t i, o = 0;

	for (i = 0; i < ID_TEXT_LEN; i++) {
		int v = id_b32_value(s[i]);

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

static bool id_parse_hex(const char *s, uint8_t id[ID_BYTES])
{
	size_t i;

	for (i = 0; i < ID_BYTES; i++) {
		int hi = id_hex_value(s[2 * i]), lo = id_hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Copies at most 40 bytes of s for a message, with '?' for unprintable bytes. */
static void id_quote(const char *s, size_t len, char *buf, size_t n)
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

int id_parse(const char *s, uint8_t id[ID_BYTES], struct psm_err *err)
{
	uint8_t tmp[ID_BYTES];
	size_t len = s == NULL ? 0 : strnlen(s, ID_HEX_LEN + 41);
	bool ok = false;
	char q[48];

	if (len == ID_TEXT_LEN)
		ok = id_parse_b32(s, tmp);
	else if (len == ID_HEX_LEN)
		ok = id_parse_hex(s, tmp);
	if (!ok) {
		id_quote(s == NULL ? "" : s, len, q, sizeof(q));
		return psm_err_set(err, PSM_EINVAL,
				   "id \"%s\": expected 26 base32 or 32 hex characters", q);
	}
	memcpy(id, tmp, ID_BYTES);
	return PSM_OK;
}

bool id_is_zero(const uint8_t id[ID_BYTES])
{
	static const uint8_t zero[ID_BYTES];

	return memcmp(id, zero, ID_BYTES) == 0;
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
