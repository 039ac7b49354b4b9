/* SPDX-License-Identifier: MIT */
/* backoff.h - reconnect delays: exponential with jitter, from 100 ms to 30 s. */
#ifndef PSM_BACKOFF_H
#define PSM_BACKOFF_H

#include <stdint.h>

#define BACKOFF_MIN_MS 100u
#define BACKOFF_MAX_MS 30000u

/*
 * The n-th retry waits a random time in [ceil/2, ceil], ceil = min(100 ms *
 * 2^n, 30 s), never under 100 ms: retries spread out (no herd of hosts
 * reconnecting in step) and reach the 30 s cap after 9 failures.  A success
 * resets it.  The random source is the caller's (backoff_next_ms takes it),
 * so the function is pure and its bounds testable.
 */
struct backoff {
	unsigned failures; /* since the last success */
	uint64_t rng;	   /* xorshift state for backoff_next (never 0) */
};

/* A fresh state; seed 0 takes one from getrandom(). */
void backoff_init(struct backoff *b, uint64_t seed);

/* The delay before retry number `failures` (0 = first), given a random 32-bit value. */
unsigned backoff_delay_ms(unsigned failures, uint32_t rnd);

/* The delay for the next retry, counting one more failure. */
unsigned backoff_next(struct backoff *b);

/* After a success: the next failure waits the shortest delay again. */
void backoff_reset(struct backoff *b);

#endif
