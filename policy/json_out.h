/* SPDX-License-Identifier: MIT */
/* json_out.h - psm's one JSON writer (a growing buffer or a FILE) and its string escaper. */
#ifndef PSM_JSON_OUT_H
#define PSM_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "psm_err.h"

/*
 * Everything psm writes as JSON is written here: psm-query --json, pam_psm's session
 * requests (the escaper), psmd's journal and snapshot records, audit lines and replies
 * (psmd/json_cjson.h adds cJSON items on top).  Neither psm-query nor pam_psm.so links a
 * JSON library (a DT_NEEDED library costs every process that loads it), and psmd's hot
 * paths build no cJSON tree.  The text is compact and byte for byte what
 * cJSON_PrintUnformatted prints for the same values ("{"a":1,"b":[true,null]}"): strings
 * escaped the same way, integers as plain decimals.
 *
 * Bytes >= 0x80 in strings and keys: with JSON_OUT_UTF8 only valid UTF-8 passes
 * (psm-query, pam_psm); without it they are copied as they are, as cJSON does (psmd
 * prints whatever bytes it accepted, e.g. a grant's reason, as it did with cJSON).
 */

/* ---- the escaper ------------------------------------------------------------------- */

#define JSON_OUT_UTF8 0x1u  /* bytes >= 0x80 only as valid UTF-8, else PSM_EINVAL */
#define JSON_OUT_LINES 0x2u /* '\n' after each complete top-level value (JSON Lines) */
#define JSON_OUT_CJSON 0x0u /* neither: bytes as they are, values back to back (psmd) */

/*
 * Appends s[0..n) JSON-escaped, without quotes, to buf[*len..cap) and keeps buf
 * NUL-terminated: '"' and '\\' as \" and \\, \b \f \n \r \t as such, the other bytes
 * below 0x20 as \u00XX (lowercase hex); everything else is copied as it is.  With
 * JSON_OUT_UTF8 in flags, bytes >= 0x80 only where they form valid UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF): PSM_EINVAL "not valid UTF-8 at
 * byte N" (N counted in s).  PSM_EFULL when it does not fit (the NUL included).  On an
 * error buf and *len are as they were.
 */
int json_out_escape_flags(char *buf, size_t cap, size_t *len, const char *s, size_t n,
			  unsigned flags, struct psm_err *err);
/* json_out_escape_flags() with JSON_OUT_UTF8. */
int json_out_escape(char *buf, size_t cap, size_t *len, const char *s, size_t n,
		    struct psm_err *err);

/* Length of the valid UTF-8 sequence at s[0..n) (1-4; n >= 1), 0 when it is not one. */
size_t json_out_utf8_len(const unsigned char *s, size_t n);

/* The decimal digits of v written backwards, ending just before end (at most 20 bytes);
 * returns where they start. */
char *json_out_digits(uint64_t v, char *end);

/* ---- the writer -------------------------------------------------------------------- */

/* Nesting of objects and arrays: above cJSON's parse limit (1000), so psmd can print any
 * tree cJSON gave it. */
#define JSON_OUT_DEPTH_MAX 1024

/*
 * Text builds up in buf (NUL-terminated, len bytes).  When a top-level value is complete
 * (followed by '\n' with JSON_OUT_LINES) and there is a FILE, buf is written there,
 * flushed, and emptied.  Commas and colons are the writer's business.  The first error
 * sticks (later calls do nothing) and json_out_finish() returns it: PSM_ENOMEM, PSM_EFULL
 * (buf would pass max), PSM_ESYS (writing to the FILE failed), PSM_EINVAL (a string not
 * valid UTF-8 with JSON_OUT_UTF8, a key outside an object, a value without its key,
 * unbalanced or too deep nesting).  A zeroed struct is a writer with JSON_OUT_CJSON, no
 * FILE and no limit.
 */
struct json_out {
	char *buf;
	size_t len, cap;
	size_t max;	/* most bytes buf may hold (the NUL not counted); 0 = no limit */
	FILE *fp;	/* NULL: buffer only */
	unsigned flags; /* JSON_OUT_UTF8, JSON_OUT_LINES */
	int depth;
	bool comma; /* the next member or element needs a ',' before it */
	bool key;   /* a key was written: a value comes next */
	int code;   /* the first error, PSM_OK when none */
	uint64_t objects[JSON_OUT_DEPTH_MAX / 64]; /* bit d: level d + 1 is an object */
	struct psm_err err;
};

/* A writer with JSON_OUT_UTF8 | JSON_OUT_LINES (psm-query). */
void json_out_init(struct json_out *w, FILE *fp, size_t max);
void json_out_init_flags(struct json_out *w, FILE *fp, size_t max, unsigned flags);
/* Empties buf (text not written yet is dropped), forgets the nesting and any error;
 * keeps the buffer for the next text. */
void json_out_reset(struct json_out *w);
void json_out_free(struct json_out *w);

void json_out_begin_object(struct json_out *w);
void json_out_end_object(struct json_out *w);
void json_out_begin_array(struct json_out *w);
void json_out_end_array(struct json_out *w);
/* s NULL prints "", as cJSON does. */
void json_out_string(struct json_out *w, const char *s);
void json_out_string_n(struct json_out *w, const char *s, size_t n);
void json_out_int64(struct json_out *w, int64_t v);
void json_out_uint64(struct json_out *w, uint64_t v);
void json_out_bool(struct json_out *w, bool v);
void json_out_null(struct json_out *w);
/* A value that is JSON text already (a number printed elsewhere, a cJSON raw item):
 * s[0..n) as it is, with the ',' it needs. */
void json_out_raw_value(struct json_out *w, const char *s, size_t n);

/* A time the way every psm JSON output prints one (psmctl(8) JSON OUTPUT): "key" as an
 * RFC 3339 UTC string ("2026-12-07T05:00:00Z") and "key_unix" as its integer seconds; both
 * null when t is none (no such time: never expires, not yet connected). */
void json_out_kv_time(struct json_out *w, const char *key, int64_t t, int64_t none);

/* "key" as an array of the comma-separated items of s[0..n) ("a,b" -> ["a","b"]); [] when
 * n is 0: lists (from, hosts) are always arrays in psm's JSON output. */
void json_out_kv_list(struct json_out *w, const char *key, const char *s, size_t n);

/* Appends n bytes as they are, outside the JSON bookkeeping: for plain text built in the
 * same buffer (a newline after a line).  With a FILE they go out with the next complete
 * value or at finish. */
void json_out_raw(struct json_out *w, const char *s, size_t n);

/* Writes what is left to the FILE, if any; PSM_OK or the first error (also PSM_EINVAL
 * when an object or array was left open), copied into *err. */
int json_out_finish(struct json_out *w, struct psm_err *err);

/* ---- keys: inline, so that a literal key is checked when compiling --------------- */

/*
 * psmd writes some 40 members a grant (record, audit line, reply), nearly all with a
 * literal key: inline, the check that such a key needs no escape is done when compiling,
 * and what is left is one call that writes the member.  The out-of-line halves (not for
 * callers) take the key's length k and whether it is known to need no escape (plain;
 * else they check): json_out_member_n() writes the key after its ',' and before its ':',
 * false (error set) when it may not come here; the others the key and its value.
 */
bool json_out_member_n(struct json_out *w, const char *key, size_t k, bool plain);
void json_out_member_string(struct json_out *w, const char *key, size_t k, bool plain,
			    const char *s, size_t n);
void json_out_member_int64(struct json_out *w, const char *key, size_t k, bool plain, int64_t v);

#define JSON_OUT_INLINE static inline __attribute__((always_inline))
#define JSON_OUT_ONES UINT64_C(0x0101010101010101)
#define JSON_OUT_HIGH UINT64_C(0x8080808080808080)

/* Non-zero when one of the 8 bytes of x is below 0x20, '"' or '\\', or (high is
 * JSON_OUT_HIGH) >= 0x80: the usual "has a byte below n" test, three times. */
JSON_OUT_INLINE uint64_t json_out_special8(uint64_t x, uint64_t high)
{
	uint64_t q = x ^ (JSON_OUT_ONES * '"'), b = x ^ (JSON_OUT_ONES * '\\');

	return (((x - JSON_OUT_ONES * 0x20) & ~x) | ((q - JSON_OUT_ONES) & ~q) |
		((b - JSON_OUT_ONES) & ~b) | (x & high)) &
	       JSON_OUT_HIGH;
}

/* p[0..n) (n < 8) in one word, in two loads that may overlap; the rest 'a'. */
JSON_OUT_INLINE uint64_t json_out_short8(const unsigned char *p, size_t n)
{
	uint32_t a4, b4;
	uint16_t a2, b2;

	if (n >= 4) {
		memcpy(&a4, p, 4);
		memcpy(&b4, p + n - 4, 4);
		return (uint64_t)a4 << 32 | b4;
	}
	if (n >= 2) {
		memcpy(&a2, p, 2);
		memcpy(&b2, p + n - 2, 2);
		return JSON_OUT_ONES * 'a' << 32 | (uint64_t)a2 << 16 | b2;
	}
	return n == 1 ? JSON_OUT_ONES * 'a' << 8 | p[0] : JSON_OUT_ONES * 'a';
}

/* Whether s[0..n) is written as it is: nothing to escape, and with JSON_OUT_UTF8 in
 * flags no byte >= 0x80 (8 bytes at a time, the last word overlapping). */
JSON_OUT_INLINE bool json_out_plain(const char *s, size_t n, unsigned flags)
{
	const unsigned char *u = (const unsigned char *)s;
	uint64_t high = flags & JSON_OUT_UTF8 ? JSON_OUT_HIGH : 0, x, any = 0;
	size_t i;

	if (n < 8)
		return json_out_special8(json_out_short8(u, n), high) == 0;
	for (i = 0; n - i > 8; i += 8) {
		memcpy(&x, u + i, 8);
		any |= json_out_special8(x, high);
	}
	memcpy(&x, u + n - 8, 8);
	return (any | json_out_special8(x, high)) == 0;
}

/* Whether key[0..k) is known, when compiling, to need no escape: a literal's length is
 * known then, and so is this; any other key is checked out of line. */
JSON_OUT_INLINE bool json_out_plain_known(const char *key, size_t k, unsigned flags)
{
	return __builtin_constant_p(k) && json_out_plain(key, k, flags);
}

/* A member's key (escaped like a string); its value must come next. */
JSON_OUT_INLINE void json_out_key(struct json_out *w, const char *key)
{
	size_t k = strlen(key);

	w->key = json_out_member_n(w, key, k, json_out_plain_known(key, k, w->flags));
}

/* key and value in one call; an error in the value is prefixed with "key: ". */
JSON_OUT_INLINE void json_out_kv_string_n(struct json_out *w, const char *key, const char *s,
					  size_t n)
{
	size_t k = strlen(key);

	json_out_member_string(w, key, k, json_out_plain_known(key, k, w->flags), s, n);
}

/* s NULL prints "", as cJSON does. */
JSON_OUT_INLINE void json_out_kv_string(struct json_out *w, const char *key, const char *s)
{
	s = s != NULL ? s : "";
	json_out_kv_string_n(w, key, s, strlen(s));
}

JSON_OUT_INLINE void json_out_kv_int64(struct json_out *w, const char *key, int64_t v)
{
	size_t k = strlen(key);

	json_out_member_int64(w, key, k, json_out_plain_known(key, k, w->flags), v);
}

#endif
