/* SPDX-License-Identifier: MIT */
/* bench_util.h - clock, percentiles and the "S KEY VALUE" lines shared by the bench programs. */
#ifndef PSM_BENCH_UTIL_H
#define PSM_BENCH_UTIL_H

/*
 * Every bench program prints one line per repeat and figure:
 *   S <key> <value>
 * (value in ns unless the key says otherwise).  tests/bench/run.sh collects
 * these lines and prints the min and the median over the repeats of each key.
 * Header-only (static inline) because the Makefile links each bench program
 * from its own single object.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Sorts a[0..n) in place and returns the p-th percentile (0 < p < 100), nearest rank. */
static inline uint64_t bench_percentile(uint64_t *a, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	qsort(a, n, sizeof(*a), bench_cmp_u64);
	rank = (size_t)((p / 100.0) * (double)n);
	return a[rank < n ? rank : n - 1];
}

/* Percentile of an already sorted array. */
static inline uint64_t bench_sorted_pct(const uint64_t *a, size_t n, double p)
{
	size_t rank = (size_t)((p / 100.0) * (double)n);

	return n == 0 ? 0 : a[rank < n ? rank : n - 1];
}

/* Prints "S KEY+SUFFIX VALUE". */
static inline void bench_emit(const char *key, const char *suffix, double value)
{
	printf("S %s%s %.1f\n", key, suffix, value);
	fflush(stdout);
}

/* Emits KEY.p50 and KEY.p99 of samples (sorted in place). */
static inline void bench_emit_p50_p99(const char *key, uint64_t *s, size_t n)
{
	qsort(s, n, sizeof(*s), bench_cmp_u64);
	bench_emit(key, ".p50", (double)bench_sorted_pct(s, n, 50));
	bench_emit(key, ".p99", (double)bench_sorted_pct(s, n, 99));
}

/* Parses a positive count argument; exits with status 2 on garbage. */
static inline unsigned long bench_count(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v == 0) {
		fprintf(stderr, "bench: bad %s \"%s\"\n", what, s);
		exit(2);
	}
	return v;
}

/* A blocking connection to the Unix stream socket at path; -1 with errno on failure. */
static inline int bench_unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

#endif
