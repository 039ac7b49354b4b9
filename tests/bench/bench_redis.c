/* SPDX-License-Identifier: MIT */
/* bench_redis.c - SPEC §12 peer figure: one Redis SISMEMBER round trip through hiredis. */

/*
 * Method.  Connects with hiredis (the library psmd uses) to a redis-server
 * that tests/bench/run.sh started for this run (loopback TCP port or Unix
 * socket), fills one set with 1000 members ("psm:bench:<pid>"), then times
 * N blocking SISMEMBER calls one at a time, each with its own
 * CLOCK_MONOTONIC pair (a round trip is tens of µs: the clock's ~20 ns does
 * not matter).  Half the queries are members, half are not.  Each repeat
 * prints KEY.p50 and KEY.p99 in ns.  The set is deleted at the end.
 *
 * Usage: bench_redis (-p PORT | -s SOCKET) [-r REPEATS] [-n CALLS] [-k KEY]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "bench_util.h"

#define MEMBERS 1000

static void __attribute__((noreturn)) redis_die(const char *what, const redisContext *c)
{
	fprintf(stderr, "bench_redis: %s: %s\n", what, c && c->err ? c->errstr : "bad reply");
	exit(1);
}

/* Runs one command and checks that the reply is an integer; returns it. */
static long long redis_int(redisContext *c, const char *fmt, const char *set, const char *arg)
{
	redisReply *r = redisCommand(c, fmt, set, arg);
	long long v;

	if (!r)
		redis_die("command", c);
	if (r->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(r);
		redis_die(fmt, NULL);
	}
	v = r->integer;
	freeReplyObject(r);
	return v;
}

static void redis_fill(redisContext *c, const char *set)
{
	char m[32];
	int i;

	redis_int(c, "DEL %s%s", set, "");
	for (i = 0; i < MEMBERS; i++) {
		snprintf(m, sizeof(m), "user%d:sudo:run", i);
		redis_int(c, "SADD %s %s", set, m);
	}
}

/* One repeat: n SISMEMBER calls timed one by one. */
static void redis_run(redisContext *c, const char *set, const char *key, uint64_t *s, size_t n)
{
	char m[32];
	size_t i, hits = 0;
	uint64_t t0;

	for (i = 0; i < n; i++) {
		snprintf(m, sizeof(m), "user%zu:sudo:run", (i * 7919) % (2 * MEMBERS));
		t0 = bench_now_ns();
		hits += (size_t)redis_int(c, "SISMEMBER %s %s", set, m);
		s[i] = bench_now_ns() - t0;
	}
	if (hits == 0)
		redis_die("SISMEMBER never found a member", NULL);
	bench_emit_p50_p99(key, s, n);
}

static void __attribute__((noreturn)) redis_usage(void)
{
	fprintf(stderr,
		"usage: bench_redis (-p PORT | -s SOCKET) [-r REPEATS] [-n CALLS] [-k KEY]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long repeats = 5, n = 10000, r, port = 0;
	const char *sock = NULL, *key = "redis";
	struct timeval tv = {5, 0};
	redisContext *c;
	char set[64];
	uint64_t *s;
	int opt;

	while ((opt = getopt(argc, argv, "p:s:r:n:k:")) != -1) {
		if (opt == 'p')
			port = bench_count(optarg, "port");
		else if (opt == 's')
			sock = optarg;
		else if (opt == 'r')
			repeats = bench_count(optarg, "repeats");
		else if (opt == 'n')
			n = bench_count(optarg, "calls");
		else if (opt == 'k')
			key = optarg;
		else
			redis_usage();
	}
	if ((port == 0) == (sock == NULL) || port > 65535 || optind != argc)
		redis_usage();
	c = sock ? redisConnectUnixWithTimeout(sock, tv)
		 : redisConnectWithTimeout("127.0.0.1", (int)port, tv);
	if (!c || c->err)
		redis_die("connect", c);
	s = calloc(n, sizeof(*s));
	if (!s)
		redis_die("calloc", NULL);
	snprintf(set, sizeof(set), "psm:bench:%d", (int)getpid());
	redis_fill(c, set);
	for (r = 0; r < repeats; r++)
		redis_run(c, set, key, s, n);
	redis_int(c, "DEL %s%s", set, "");
	redisFree(c);
	free(s);
	return 0;
}
