/* SPDX-License-Identifier: MIT */
/* json_out.h - a small JSON writer (psm-query --json) and psm's one JSON string escaper. */
#ifndef PSM_JSON_OUT_H
#define PSM_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "psm_err.h"

/*
 * Neither psm-query nor pam_psm.so links a JSON library (a DT_NEEDED library costs
 * every process that loads it).  They only write JSON: compact, as
 * cJSON_PrintUnformatted would ("{"a":1,"b":[true,null]}"), no spaces.
 */

/* ---- the escaper ------------------------------------------------------------------- */

/*
 * Appends s[0..n) JSON-escaped, without quotes, to buf[*len..cap) and keeps buf
 * NUL-terminated: '"' and '\\' as \" and \\, \b \f \n \r \t as such, the other bytes
 * below 0x20 as \u00XX (lowercase hex); everything else is copied as it is, bytes >= 0x80
 * only where they form valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF).  PSM_EINVAL "not valid UTF-8 at byte N" (N counted in s), or
 * PSM_EFULL when it does not fit (the NUL included); buf and *len are then as they were.
 */
int json_out_escape(char *buf, size_t cap, size_t *len, const char *s, size_t n,
		    struct psm_err *err);

/* Length of the valid UTF-8 sequence at s[0..n) (1-4; n >= 1), 0 when it is not one. */
size_t json_out_utf8_len(const unsigned char *s, size_t n);

/* ---- the writer -------------------------------------------------------------------- */

#define JSON_OUT_DEPTH_MAX 64 /* nesting of objects and arrays */

/*
 * Text builds up in buf (NUL-terminated, len bytes).  Each complete top-level value is
 * followed by '\n' (JSON Lines); with a FILE it is then written there, flushed, and
 * dropped from buf.  Commas and colons are the writer's business.  The first error
 * sticks (later calls do nothing) and json_out_finish() returns it: PSM_ENOMEM, PSM_EFULL
 * (buf would pass max), PSM_ESYS (writing to the FILE failed), PSM_EINVAL (a string not
 * valid UTF-8, a key outside an object, a value without its key, unbalanced or too deep
 * nesting).
 */
struct json_out {
	char *buf;
	size_t len, cap;
	size_t max;        /* most bytes buf may hold (the NUL not counted); 0 = no limit */
	FILE *fp;          /* NULL: buffer only */
	int depth;
	uint64_t objects;  /* bit d: level d + 1 is an object (else an array) */
	bool comma;        /* the next member or element needs a ',' before it */
	bool key;          /* a key was written: a value comes next */
	int code;          /* the first error, PSM_OK when none */
	struct psm_err err;
};

void json_out_init(struct json_out *w, FILE *fp, size_t max);
/* Empties buf (text not written yet is dropped), forgets the nesting and any error. */
void json_out_reset(struct json_out *w);
void json_out_free(struct json_out *w);

void json_out_begin_object(struct json_out *w);
void json_out_end_object(struct json_out *w);
void json_out_begin_array(struct json_out *w);
void json_out_end_array(struct json_out *w);
/* A member's key (escaped like a string); its value must come next. */
void json_out_key(struct json_out *w, const char *key);
void json_out_string(struct json_out *w, const char *s);
void json_out_string_n(struct json_out *w, const char *s, size_t n);
void json_out_int64(struct json_out *w, int64_t v);
void json_out_bool(struct json_out *w, bool v);
void json_out_null(struct json_out *w);

/* key and value in one call; an error in the value is prefixed with "key: ". */
void json_out_kv_string(struct json_out *w, const char *key, const char *s);
void json_out_kv_string_n(struct json_out *w, const char *key, const char *s, size_t n);
void json_out_kv_int64(struct json_out *w, const char *key, int64_t v);

/* Appends n bytes as they are, outside the JSON bookkeeping: for plain text built in the
 * same buffer.  With a FILE they go out with the next complete value or at finish. */
void json_out_raw(struct json_out *w, const char *s, size_t n);

/* Writes what is left to the FILE, if any; PSM_OK or the first error (also PSM_EINVAL
 * when an object or array was left open), copied into *err. */
int json_out_finish(struct json_out *w, struct psm_err *err);

#endif
