/* SPDX-License-Identifier: MIT */
/* metrics_count.h - psmd's counters: requests by op, journal fsync latency. */
#ifndef PSMD_METRICS_COUNT_H
#define PSMD_METRICS_COUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

#define METRICS_BUCKETS 11 /* fsync latency histogram buckets (+Inf implied) */

/* Upper bounds of the fsync histogram's buckets, seconds. */
extern const double metrics_le[METRICS_BUCKETS];

/* Counted by control.c as requests are answered and commits made; read by metrics.c. */
struct metrics {
	uint64_t requests[PROTO_OP_COUNT + 1]; /* the last: requests without a known op */
	uint64_t errors[PROTO_OP_COUNT + 1];
	uint64_t fsyncs, fsync_sum_ns, fsync_max_ns, fsync_last_ns;
	uint64_t fsync_le[METRICS_BUCKETS]; /* cumulative counts per bucket */
	int64_t file_due;		    /* next metrics_file write */
};

/* op: a PROTO_OP_*, or -1 when the request had no known op. */
void metrics_request(struct metrics *m, int op, bool ok);
void metrics_fsync(struct metrics *m, uint64_t ns);

#endif
