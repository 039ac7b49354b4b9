/* SPDX-License-Identifier: MIT */
/* hlc.c - hybrid logical clock (48-bit wall milliseconds << 16 | 16-bit counter). */
#include "hlc.h"

#include <time.h>

void hlc_init(struct hlc *c)
{
	c->last = 0;
}

static int64_t hlc_clamp_ms(int64_t ms)
{
	if (ms < 0)
		return 0;
	return ms > HLC_WALL_MAX_MS ? HLC_WALL_MAX_MS : ms;
}

uint64_t hlc_make(int64_t wall_ms, uint16_t logical)
{
	return (uint64_t)hlc_clamp_ms(wall_ms) << HLC_LOGICAL_BITS | logical;
}

int64_t hlc_wall_ms(uint64_t version)
{
	return (int64_t)(version >> HLC_LOGICAL_BITS);
}

uint16_t hlc_logical(uint64_t version)
{
	return (uint16_t)(version & 0xffff);
}

uint64_t hlc_now(struct hlc *c, int64_t wall_ms)
{
	uint64_t pt = hlc_make(wall_ms, 0);

	if (pt > c->last)
		c->last = pt;
	else if (c->last < UINT64_MAX)
		c->last++; /* same or earlier millisecond: the counter goes on */
	return c->last;
}

int hlc_observe(struct hlc *c, uint64_t remote, int64_t wall_ms, struct psm_err *err)
{
	if (hlc_wall_ms(remote) > hlc_clamp_ms(wall_ms) + HLC_MAX_AHEAD_MS)
		return psm_err_set(err, PSM_EINVAL,
				   "version %llu is %lld ms ahead of this host's clock",
				   (unsigned long long)remote,
				   (long long)(hlc_wall_ms(remote) - hlc_clamp_ms(wall_ms)));
	if (remote > c->last)
		c->last = remote;
	return PSM_OK;
}

void hlc_restore(struct hlc *c, uint64_t version)
{
	if (version > c->last)
		c->last = version;
}

int64_t hlc_wall_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
