/* SPDX-License-Identifier: MIT */
/* sync.h - the daemon's side of fleet sync: records from the fleet in, this host's out. */
#ifndef PSMD_SYNC_H
#define PSMD_SYNC_H

#include "psm_err.h"
#include "record.h"

struct psmd;

/*
 * With a "redis" object in the config (and a loop), starts the fleet part (fleet.h) and
 * watches its fd; this host's records made while Redis was out of reach before the last
 * stop (above fleet.pushed) are queued for Redis again.  Without one, does nothing.
 */
int sync_start(struct psmd *d, struct psm_err *err);
void sync_stop(struct psmd *d);

/* Once a second: after a reload that changed the redis object or host_name, the fleet part
 * restarts with the new one (or starts, or stops). */
void sync_tick(struct psmd *d);

/* The store's hook after a commit: this host's records go to Redis. */
void sync_committed(void *ctx, const struct record *rec);

/* After the loop's commits: the fleet's records of this iteration are committed (their
 * position is saved), or, when that failed, a resync is asked for. */
void sync_flush(struct psmd *d);

#endif
