/* SPDX-License-Identifier: MIT */
/* json_doc.h - JSON with comments, parsed by cJSON, with file:line:column for every node. */
#ifndef PSM_JSON_DOC_H
#define PSM_JSON_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "psm_err.h"

/*
 * Used for policy.json, policy.d/ *.json and psmd.conf.  // and / * * /
 * comments are allowed; duplicate keys in one object are an error; every
 * error reads like a compiler's: "FILE:LINE:COL: what".
 */
struct json_doc {
	char *file; /* name used in messages */
	cJSON *root;
	size_t nnodes;
	const cJSON **nodes; /* pre-order, parallel to pos[] */
	uint32_t *line;
	uint32_t *col;
};

/* Parses text (need not be NUL-terminated). Duplicate keys and syntax errors: PSM_EINVAL. */
int json_doc_parse(struct json_doc *d, const char *file, const char *text, size_t len,
		   struct psm_err *err);
/* Reads and parses a file (at most 4 MiB). */
int json_doc_load(struct json_doc *d, const char *path, struct psm_err *err);
void json_doc_free(struct json_doc *d);

/* The line of node n (for an object member: its key), from 1; 0 when n is not d's. */
unsigned json_doc_line(const struct json_doc *d, const cJSON *n);
/* Sets err to "FILE:LINE:COL: <fmt>" at node n (for an object member: the key). Returns PSM_EINVAL.
 */
int json_doc_error(const struct json_doc *d, const cJSON *n, struct psm_err *err, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));

/*
 * Checks that every member of object obj is one of keys[] (NULL-terminated);
 * else "FILE:L:C: unknown key \"k\" in WHAT".  Also fails if obj is not an object.
 */
int json_doc_check_keys(const struct json_doc *d, const cJSON *obj, const char *what,
			const char *const *keys, struct psm_err *err);

/* Typed getters: absent member -> PSM_OK with *out untouched (when !required;
 * a JSON null counts as absent, so "metrics_file": null means "not set"),
 * wrong type -> "FILE:L:C: KEY: expected a string" etc. */
int json_doc_string(const struct json_doc *d, const cJSON *obj, const char *key, bool required,
		    const char **out, struct psm_err *err);
int json_doc_uint(const struct json_doc *d, const cJSON *obj, const char *key, bool required,
		  uint64_t max, uint64_t *out, struct psm_err *err);
int json_doc_bool(const struct json_doc *d, const cJSON *obj, const char *key, bool *out,
		  struct psm_err *err);
/* Array of strings (a lone string is NOT accepted). */
int json_doc_strings(const struct json_doc *d, const cJSON *obj, const char *key, bool required,
		     const cJSON **arr, struct psm_err *err);

#endif
