/* SPDX-License-Identifier: MIT */
/* metrics_fleet.h - fleet sync's figures: the fleet op, its health check, its metrics. */
#ifndef PSMD_METRICS_FLEET_H
#define PSMD_METRICS_FLEET_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "psm_err.h"

struct metrics_buf;
struct psmd;

#define METRICS_FLEET_LAG_MAX_MS 60000 /* an entry read and not applied for longer: degraded */

/* The fleet op's reply (SPEC §11 "Commands"): {"enabled":false} without redis in psmd.conf,
 * else enabled, address, role, connected since when, last_id, lag, records by result,
 * queued, resyncs, trusted_keys, signing. */
int metrics_fleet(struct psmd *d, cJSON *out, struct psm_err *err);
/* The "fleet" health check (nothing without fleet sync): degraded while Redis is out of
 * reach or the oldest entry read is not applied after METRICS_FLEET_LAG_MAX_MS. */
int metrics_fleet_check(struct psmd *d, cJSON *checks, bool *healthy);
/* psm_fleet_* metrics (nothing without fleet sync). */
void metrics_fleet_text(struct metrics_buf *b, struct psmd *d);

#endif
