/* SPDX-License-Identifier: MIT */
/* metrics.h - psmd's figures: request counters, journal fsync latency, stats/health/metrics replies. */
#ifndef PSMD_METRICS_H
#define PSMD_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "proto.h"
#include "psm_err.h"

struct psmd;

#define METRICS_BUCKETS 11	      /* fsync latency histogram buckets (+Inf implied) */
#define METRICS_FILE_PERIOD 15	      /* seconds between metrics_file writes */
#define METRICS_HEARTBEAT_MAX 5	      /* seconds: older is unhealthy */
#define METRICS_FILL_MAX 0.9	      /* table fill: fuller is unhealthy */

struct metrics {
	uint64_t requests[PROTO_OP_COUNT + 1]; /* the last: requests without a known op */
	uint64_t errors[PROTO_OP_COUNT + 1];
	uint64_t fsyncs, fsync_sum_ns, fsync_max_ns, fsync_last_ns;
	uint64_t fsync_le[METRICS_BUCKETS]; /* cumulative counts per bucket */
	int64_t file_due;		     /* next metrics_file write */
};

/* op: a PROTO_OP_*, or -1 when the request had no known op. */
void metrics_request(struct metrics *m, int op, bool ok);
void metrics_fsync(struct metrics *m, uint64_t ns);

/* The figures of the stats reply, added to out. */
int metrics_stats(struct psmd *d, cJSON *out, struct psm_err *err);
/* healthy and checks [{name, ok, detail}] added to out; *healthy says the verdict. */
int metrics_health(struct psmd *d, cJSON *out, bool *healthy, struct psm_err *err);
/* Prometheus text exposition (malloc'd), NULL when out of memory. */
char *metrics_text(struct psmd *d);

/* Once a second: writes metrics_file (tmp, fsync, rename) every METRICS_FILE_PERIOD s. */
void metrics_tick(struct psmd *d, int64_t now);

#endif
