/* SPDX-License-Identifier: MIT */
/* ttl.h - TTL strings ("90", "30s", "15m", "2h", "1d", "1w", "1h30m") and their formatting. */
#ifndef PSM_TTL_H
#define PSM_TTL_H

#include <stddef.h>
#include <stdint.h>

#include "psm_err.h"

#define TTL_MAX_SECONDS (100LL * 365 * 86400) /* 100 years */

/* Zero, negative, overflowing (> TTL_MAX_SECONDS), empty, blanks or unknown units: PSM_EINVAL,
 * e.g. "ttl \"5x\": unknown unit 'x' (use s, m, h, d, w)".  In a sum the units go in
 * descending order (w d h m s), each at most once; a bare number is seconds. */
int ttl_parse(const char *s, int64_t *seconds, struct psm_err *err);
/* "1h30m", "2d", "45s"; "0s" for 0. */
void ttl_format(int64_t seconds, char *buf, size_t n);
/* "2026-11-23T18:26:06Z" (UTC); INT64_MAX gives "never", INT64_MIN "always". */
void time_format_utc(int64_t t, char *buf, size_t n);
/* The UTC seconds of now (CLOCK_REALTIME). */
int64_t time_now_utc(void);
/* Parses ISO 8601 UTC "YYYY-MM-DDTHH:MM[:SS]Z" (or "+00:00"), and "YYYY-MM-DD". */
int time_parse_utc(const char *s, int64_t *t, struct psm_err *err);

#endif
