/* SPDX-License-Identifier: MIT */
/* hlc.h - hybrid logical clock: versions that order changes across hosts. */
#ifndef PSMD_HLC_H
#define PSMD_HLC_H

#include <stdint.h>

#include "psm_err.h"

/*
 * A version is 64 bits: 48 bits of wall-clock milliseconds since the epoch,
 * shifted left 16, OR a 16-bit logical counter.  Versions from one clock
 * strictly increase even when the wall clock steps back (the counter goes
 * on; when it overflows it carries into the millisecond part).  Observing a
 * remote version moves the clock past it, so a change made after seeing a
 * remote change always has the higher version: "newer wins" then means
 * "happened later" across the fleet.
 */
#define HLC_LOGICAL_BITS 16
#define HLC_WALL_MAX_MS ((INT64_C(1) << 48) - 1)
/* A remote version more than this far ahead of our wall clock is refused,
 * so one host with a wild clock cannot drag every other host's clock along. */
#define HLC_MAX_AHEAD_MS (INT64_C(24) * 3600 * 1000)

struct hlc {
	uint64_t last; /* highest version issued or observed; 0 at start */
};

void hlc_init(struct hlc *c);

/* A new version, greater than every version issued or observed before. */
uint64_t hlc_now(struct hlc *c, int64_t wall_ms);

/*
 * Merges a version seen in a record from elsewhere (another host, the
 * journal).  PSM_EINVAL (clock unchanged) when it is more than
 * HLC_MAX_AHEAD_MS ahead of wall_ms.
 */
int hlc_observe(struct hlc *c, uint64_t remote, int64_t wall_ms, struct psm_err *err);

/* Merges a version from this host's own durable history (the journal on
 * start-up: state_counts().max_version) without the drift check. */
void hlc_restore(struct hlc *c, uint64_t version);

uint64_t hlc_make(int64_t wall_ms, uint16_t logical);
int64_t hlc_wall_ms(uint64_t version);
uint16_t hlc_logical(uint64_t version);

/* CLOCK_REALTIME in milliseconds. */
int64_t hlc_wall_now_ms(void);

#endif
