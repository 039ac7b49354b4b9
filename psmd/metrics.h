/* SPDX-License-Identifier: MIT */
/* metrics.h - psmd's figures: stats and health replies, Prometheus text, the metrics_file. */
#ifndef PSMD_METRICS_H
#define PSMD_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "metrics_count.h"
#include "psm_err.h"

struct psmd;

#define METRICS_FILE_PERIOD 15	/* seconds between metrics_file writes */
#define METRICS_HEARTBEAT_MAX 5 /* seconds: older is unhealthy */
#define METRICS_FILL_MAX 0.9	/* table fill: fuller is unhealthy */

/* The figures of the stats reply, added to out. */
int metrics_stats(struct psmd *d, cJSON *out, struct psm_err *err);
/* healthy and checks [{name, ok, detail}] added to out; *healthy says the verdict. */
int metrics_health(struct psmd *d, cJSON *out, bool *healthy, struct psm_err *err);
/* Prometheus text exposition (malloc'd), NULL when out of memory. */
char *metrics_text(struct psmd *d);

/* Once a second: writes metrics_file (tmp, fsync, rename) every METRICS_FILE_PERIOD s. */
void metrics_tick(struct psmd *d, int64_t now);

#endif
