/* SPDX-License-Identifier: MIT */
/* metrics_count.c - psmd's counters: requests by op, journal fsync latency. */
#include "metrics_count.h"

const double metrics_le[METRICS_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
					    0.01,   0.025,   0.05,   0.1,   1.0};

void metrics_request(struct metrics *m, int op, bool ok)
{
	size_t i = op >= 0 && op < PROTO_OP_COUNT ? (size_t)op : PROTO_OP_COUNT;

	m->requests[i]++;
	if (!ok)
		m->errors[i]++;
}

void metrics_fsync(struct metrics *m, uint64_t ns)
{
	m->fsyncs++;
	m->fsync_sum_ns += ns;
	m->fsync_last_ns = ns;
	if (ns > m->fsync_max_ns)
		m->fsync_max_ns = ns;
	for (size_t i = 0; i < METRICS_BUCKETS; i++)
		if ((double)ns / 1e9 <= metrics_le[i])
			m->fsync_le[i]++;
}
