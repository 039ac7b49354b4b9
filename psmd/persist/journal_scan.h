/* SPDX-License-Identifier: MIT */
/* journal_scan.h - replaying a journal segment that may be damaged: resync, torn tail or
 * corruption. */
#ifndef PSMD_JOURNAL_SCAN_H
#define PSMD_JOURNAL_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "psm_err.h"
#include "state.h"

/*
 * A frame is provable when its length is in range and inside the file, its JSON
 * starts with '{' and its checksum holds.  After a damaged frame the scan looks
 * for the next provable frame, byte by byte (every frame delimits itself).
 *   - torn tail: no provable frame follows in the LAST segment and the damage is
 *     what an unfinished append leaves: fewer than 8 bytes, only zero bytes, or a
 *     length running past the end that the checksum does not prove to be a whole
 *     frame with a damaged length.  Only a torn tail may be cut off.
 *   - corruption: any other damage.  The bytes up to the next provable frame (or
 *     the end) are a region whose records are lost; the scan goes on after it.
 * Every record read after the last region has its id noted (jscan_seen): a grant
 * loaded before a region whose id has no later record may have lost its revoke.
 */
struct jscan_region {
	char seg[32];	 /* "journal.000003" */
	size_t from, to; /* bytes [from, to) unreadable */
	const char *why; /* "bad checksum", ... */
};

struct jscan {
	struct state *st;
	int64_t now;
	uint64_t records, dropped, ignored;
	struct jscan_region *regions;
	size_t nregions, rcap;
	uint8_t (*seen)[ID_BYTES]; /* ids read after the last region */
	size_t nseen, scap;
	bool sorted;
	bool torn;	      /* the segment just scanned ends in a torn tail ... */
	size_t torn_at;	      /* ... from this byte ... */
	const char *torn_why; /* ... for this reason */
};

/* Applies every provable record of segment name, d[JOURNAL_HDR_SIZE..size) (the caller has
 * checked its header: frame_check_header), resyncing past damage.  A record that is provable but
 * does not apply is an error (PSM_EUNAVAIL naming the byte), as is PSM_ENOMEM. */
int jscan_segment(struct jscan *s, const unsigned char *d, size_t size, const char *name, bool last,
		  struct psm_err *err);
/* Whether a record of id was read after the last region. */
bool jscan_seen(struct jscan *s, const uint8_t id[ID_BYTES]);
/* "journal.000001: bytes 311-409 unreadable (bad checksum), the records there are lost" */
void jscan_region_text(const struct jscan_region *r, char *buf, size_t n);
void jscan_free(struct jscan *s);

#endif
