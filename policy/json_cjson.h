/* SPDX-License-Identifier: MIT */
/* json_cjson.h - cJSON items written with json_out.h (cJSON mode), byte for byte as cJSON prints
 * them. */
#ifndef POLICY_JSON_CJSON_H
#define POLICY_JSON_CJSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "json_out.h"

/*
 * The hot paths (journal records, audit lines, replies) write their JSON with the
 * shared writer (json_out.h) in its JSON_OUT_CJSON mode instead of building a cJSON tree
 * and printing it: cJSON 1.7.15 prints every number with sprintf("%1.15g") and reads it
 * back with sscanf (about 0.5 us each), and a tree costs three allocations a member.
 * The text is byte for byte what cJSON_PrintUnformatted gives for the same members
 * (bytes >= 0x80 copied as they are), so journals and snapshots read back with cJSON as
 * before.  Here only what is psmd's own: cJSON items, and a few shapes of members.
 */

/* Any cJSON value (object, array, scalar) as cJSON_PrintUnformatted prints it. */
void json_cjson_item(struct json_out *w, const cJSON *item);
/* A member of a cJSON object: its name (escaped as needed) and its value. */
void json_cjson_member(struct json_out *w, const cJSON *member);
/* v's decimal digits as a string (an integer beyond a double's 2^53). */
void json_cjson_uint_str(struct json_out *w, uint64_t v);
/* key: v, or null when v == none (inline: a literal key is checked when compiling). */
static inline __attribute__((always_inline)) void
json_cjson_kint_or_null(struct json_out *w, const char *key, int64_t v, int64_t none)
{
	if (v != none) {
		json_out_kv_int64(w, key, v);
		return;
	}
	json_out_key(w, key);
	json_out_null(w);
}
/* The text (malloc'd, NUL-terminated; *len without the NUL when len is non-NULL) and an
 * empty writer (its flags kept); NULL on the writer's error (out of memory, left open). */
char *json_cjson_take(struct json_out *w, size_t *len);

#endif
