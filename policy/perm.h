/* SPDX-License-Identifier: MIT */
/* perm.h - permissions ("sudo:run") and patterns ("login:*"): validation and matching. */
#ifndef PSM_PERM_H
#define PSM_PERM_H

#include <stdbool.h>
#include <stddef.h>

#include "psm_err.h"

#define PERM_MAX 255

/*
 * A permission is segments joined by ':'; a segment is 1+ of
 * A-Z a-z 0-9 _ . - / @ +.  At most 255 bytes.  A pattern may also have
 * segments that are exactly "*".  Errors name the bad character and its
 * 1-based position: "permission \"sudo:r!n\": bad character '!' at 7".
 */
int perm_validate(const char *s, size_t len, struct psm_err *err);
int pattern_validate(const char *s, size_t len, struct psm_err *err);

/*
 * "*" matches exactly one segment, except as the last segment, where it
 * matches one or more; "*" alone matches everything.  Both inputs are assumed
 * valid; an invalid input never matches.  No allocation.
 */
bool pattern_match(const char *pat, size_t plen, const char *perm, size_t len);

/*
 * pattern_match for the hot path: perm must already be valid (perm_validate);
 * the pattern may be anything (an invalid one never matches).
 */
bool pattern_match_valid(const char *pat, size_t plen, const char *perm, size_t len);

/* Length of the first segment of s (up to the first ':' or the end). */
size_t perm_first_segment(const char *s, size_t len);
/*
 * perm_validate, strlen and perm_first_segment of a NUL-terminated permission in one pass
 * (the decision path's): *len and *first are set on PSM_OK; the same errors otherwise.
 */
int perm_scan(const char *s, size_t *len, size_t *first, struct psm_err *err);

#endif
