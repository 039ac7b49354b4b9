/* SPDX-License-Identifier: MIT */
/* proto_json.h - compact JSON text straight into a buffer, byte for byte as cJSON prints it. */
#ifndef PSMD_PROTO_JSON_H
#define PSMD_PROTO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/*
 * The hot paths (journal records, audit lines, replies) write their JSON
 * here instead of building a cJSON tree and printing it: cJSON 1.7.15 prints
 * every number with sprintf("%1.15g") and reads it back with sscanf (about
 * 0.5 us each), and a tree costs three allocations a member.  The text is
 * byte for byte what cJSON_PrintUnformatted gives for the same members
 * (strings escaped the same way, integers as plain decimals), so journals
 * and snapshots read back with cJSON as before.
 *
 * Members and items are separated by themselves: open an object, then
 * key + value pairs; open an array, then values.  Appends never fail
 * one by one: running out of memory marks the writer (oom) and
 * proto_json_take() then gives NULL.
 */
struct proto_json {
	char *p; /* NUL-terminated once anything was written */
	size_t len, cap;
	bool comma; /* the next member or item is not the first */
	bool oom;
};

void proto_json_init(struct proto_json *w);
void proto_json_free(struct proto_json *w);
/* Empties the text, keeping the buffer for the next one. */
void proto_json_reset(struct proto_json *w);
/* The text (malloc'd, NUL-terminated; *len without the NUL when len is non-NULL) and an
 * empty writer; NULL when out of memory. */
char *proto_json_take(struct proto_json *w, size_t *len);

void proto_json_open(struct proto_json *w, char brace);	 /* '{' or '[' */
void proto_json_close(struct proto_json *w, char brace); /* '}' or ']' */
/* key is the caller's own name, printed as it is: no quotes, backslashes or control
 * characters in it (names from outside go through proto_json_item). */
void proto_json_key(struct proto_json *w, const char *key);
void proto_json_str(struct proto_json *w, const char *s); /* NULL prints "" as cJSON does */
void proto_json_int(struct proto_json *w, int64_t v);
void proto_json_uint(struct proto_json *w, uint64_t v);
/* v's decimal digits as a string (an integer beyond a double's 2^53). */
void proto_json_uint_str(struct proto_json *w, uint64_t v);
void proto_json_bool(struct proto_json *w, bool v);
void proto_json_null(struct proto_json *w);
/* Any cJSON value (object, array, scalar) as cJSON_PrintUnformatted prints it. */
void proto_json_item(struct proto_json *w, const cJSON *item);
/* A member of a cJSON object: its name (escaped as needed) and its value. */
void proto_json_member(struct proto_json *w, const cJSON *member);
/* Bytes as they are (a newline after a line, a value already in JSON). */
void proto_json_raw(struct proto_json *w, const char *s, size_t n);

/* key + value in one call. */
void proto_json_kstr(struct proto_json *w, const char *key, const char *s);
void proto_json_kint(struct proto_json *w, const char *key, int64_t v);
/* key: v, or null when v == none. */
void proto_json_kint_or_null(struct proto_json *w, const char *key, int64_t v, int64_t none);

#endif
