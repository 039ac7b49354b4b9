/* SPDX-License-Identifier: MIT */
/* backoff.c - exponential reconnect delays with jitter (100 ms to 30 s). */
#include "backoff.h"

#include <sys/random.h>
#include <time.h>

void backoff_init(struct backoff *b, uint64_t seed)
{
	b->failures = 0;
	if (seed == 0 && getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
	b->rng = seed != 0 ? seed : 0x2545f4914f6cdd1dULL;
}

unsigned backoff_delay_ms(unsigned failures, uint32_t rnd)
{
	unsigned ceil = BACKOFF_MAX_MS, half, d;

	if (failures < 16 && (BACKOFF_MIN_MS << failures) < BACKOFF_MAX_MS)
		ceil = BACKOFF_MIN_MS << failures;
	half = ceil / 2;
	d = half + (unsigned)(rnd % (half + 1));
	return d < BACKOFF_MIN_MS ? BACKOFF_MIN_MS : d;
}

unsigned backoff_next(struct backoff *b)
{
	uint64_t x = b->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	b->rng = x;
	return backoff_delay_ms(b->failures < 64 ? b->failures++ : b->failures,
				(uint32_t)(x >> 32));
}

void backoff_reset(struct backoff *b)
{
	b->failures = 0;
}
