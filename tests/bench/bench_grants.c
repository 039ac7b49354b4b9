/* SPDX-License-Identifier: MIT */
/* bench_grants.c - SPEC §12 admin socket figures: durable grants/s pipelined, table bytes per
 * entry. */

/*
 * Method.  Builds N request lines first, then writes them on one connection
 * to psmd's socket without waiting for replies, while one poll loop reads
 * the replies as they come (psmd answers each only once it is in the
 * journal on disk, fsync'd, and in the table).  The time from the first byte
 * written to the last reply read gives N / s, once per repeat, as
 * "S KEY.per_s".  Every reply must be {"ok":true,...}, or the program stops
 * with status 1 and shows the reply.
 *   -b grant     grant requests: USER, pattern bench:rREPEAT:gI, ttl 1h, reason
 *   -b session   session_open requests: USER, service bench, this pid, ttl 1h
 * With -t SHM it also reads the table's header before and after (shm_info) and
 * prints S bytes.KIND.total_per_record (total_size / records) and
 * S bytes.KIND.arena_per_record (arena_used grown / N) for the last repeat.
 *
 * -H ITEM gives each grant "hosts": [ITEM] (fleet: a host name, a label or "*").
 *
 * Usage: bench_grants -s SOCKET [-b grant|session] [-k KEY] [-r REPEATS] [-n N] [-u USER] [-t SHM]
 *                     [-H ITEM]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench_util.h"
#include "shm.h"

#define BENCH_LINE_MAX 256
#define BENCH_RBUF (1u << 16)

struct grants_bench {
	const char *sock, *kind, *key, *user, *shm, *hosts;
	unsigned long repeats, n;
};

struct grants_io {
	int fd;
	const char *out; /* the requests */
	size_t out_len, out_off;
	char in[BENCH_RBUF];
	size_t in_len;
	unsigned long replies;
};

static void __attribute__((noreturn)) grants_die(const char *what)
{
	int e = errno;

	fprintf(stderr, "bench_grants: %s%s%s\n", what, e ? ": " : "", e ? strerror(e) : "");
	exit(1);
}

/* All N request lines of one repeat in one malloc'd buffer. */
static char *grants_requests(const struct grants_bench *b, unsigned long rep, size_t *len)
{
	char *buf = malloc(b->n * BENCH_LINE_MAX), *p;
	unsigned long i;

	if (buf == NULL)
		grants_die("out of memory");
	p = buf;
	for (i = 0; i < b->n; i++) {
		if (strcmp(b->kind, "session") == 0)
			p += sprintf(p,
				     "{\"op\":\"session_open\",\"user\":\"%s\","
				     "\"service\":\"bench\",\"pid\":%ld,\"ttl\":\"1h\"}\n",
				     b->user, (long)getpid());
		else
			p += sprintf(p,
				     "{\"op\":\"grant\",\"user\":\"%s\","
				     "\"perm\":\"bench:r%lu:g%lu\",\"ttl\":\"1h\","
				     "\"reason\":\"bench\"%s%s%s}\n",
				     b->user, rep, i, b->hosts ? ",\"hosts\":[\"" : "",
				     b->hosts ? b->hosts : "", b->hosts ? "\"]" : "");
	}
	*len = (size_t)(p - buf);
	return buf;
}

static int grants_connect(const char *path)
{
	int fd;

	errno = 0;
	fd = bench_unix_connect(path);
	if (fd < 0)
		grants_die(path);
	if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
		grants_die("fcntl");
	return fd;
}

/* Takes the whole reply lines out of io->in; each must say ok. */
static void grants_take_lines(struct grants_io *io)
{
	char *start = io->in, *nl;

	while ((nl = memchr(start, '\n', io->in_len - (size_t)(start - io->in))) != NULL) {
		if (strncmp(start, "{\"ok\":true", 10) != 0) {
			fprintf(stderr, "bench_grants: psmd refused request %lu: %.*s\n",
				io->replies + 1, (int)(nl - start), start);
			exit(1);
		}
		io->replies++;
		start = nl + 1;
	}
	io->in_len -= (size_t)(start - io->in);
	memmove(io->in, start, io->in_len);
	if (io->in_len == sizeof(io->in))
		grants_die("reply line too long");
}

static void grants_write(struct grants_io *io)
{
	ssize_t n = write(io->fd, io->out + io->out_off, io->out_len - io->out_off);

	if (n < 0 && errno != EAGAIN && errno != EINTR)
		grants_die("write");
	if (n > 0)
		io->out_off += (size_t)n;
}

static void grants_read(struct grants_io *io)
{
	ssize_t n = read(io->fd, io->in + io->in_len, sizeof(io->in) - io->in_len);

	if (n == 0) {
		errno = 0;
		grants_die("psmd closed the connection");
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		grants_die("read");
	if (n > 0) {
		io->in_len += (size_t)n;
		grants_take_lines(io);
	}
}

/* Writes every request and reads every reply; returns the elapsed ns. */
static uint64_t grants_run(const struct grants_bench *b, const char *req, size_t len)
{
	static struct grants_io io;
	struct pollfd p;
	uint64_t t0;

	memset(&io, 0, sizeof(io));
	io.fd = grants_connect(b->sock);
	io.out = req;
	io.out_len = len;
	t0 = bench_now_ns();
	while (io.replies < b->n) {
		p = (struct pollfd){.fd = io.fd,
				    .events = POLLIN | (io.out_off < io.out_len ? POLLOUT : 0)};
		if (poll(&p, 1, 30000) <= 0)
			grants_die("no progress in 30 s");
		if (p.revents & POLLOUT)
			grants_write(&io);
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			grants_read(&io);
	}
	t0 = bench_now_ns() - t0;
	close(io.fd);
	return t0;
}

static void grants_info(const char *shm, struct shm_info *info)
{
	struct shm_view v;
	struct psm_err err = {0};

	if (shm_view_open(&v, shm, &err) != PSM_OK || shm_info_get(&v, info, &err) != PSM_OK) {
		fprintf(stderr, "bench_grants: table %s: %s\n", shm, err.msg);
		exit(1);
	}
	shm_view_close(&v);
}

static void grants_bytes(const struct grants_bench *b, const struct shm_info *before)
{
	struct shm_info after;
	char key[64];

	grants_info(b->shm, &after);
	snprintf(key, sizeof(key), "bytes.%s", b->kind);
	bench_emit(key, ".records", (double)after.records);
	bench_emit(key, ".total_per_record", (double)after.total_size / (double)after.records);
	bench_emit(key, ".arena_per_record",
		   (double)(after.arena_used - before->arena_used) / (double)b->n);
}

static void grants_usage(void)
{
	fprintf(stderr, "usage: bench_grants -s SOCKET [-b grant|session] [-k KEY] [-r REPEATS] "
			"[-n N] [-u USER] [-t SHM] [-H ITEM]\n");
	exit(2);
}

static void grants_args(int argc, char **argv, struct grants_bench *b)
{
	int c;

	*b = (struct grants_bench){
	    .kind = "grant", .key = "grants.pipe", .user = "daemon", .repeats = 5, .n = 20000};
	while ((c = getopt(argc, argv, "s:b:k:r:n:u:t:H:")) != -1) {
		switch (c) {
		case 's':
			b->sock = optarg;
			break;
		case 'b':
			b->kind = optarg;
			break;
		case 'k':
			b->key = optarg;
			break;
		case 'r':
			b->repeats = bench_count(optarg, "repeats");
			break;
		case 'n':
			b->n = bench_count(optarg, "count");
			break;
		case 'u':
			b->user = optarg;
			break;
		case 't':
			b->shm = optarg;
			break;
		case 'H':
			b->hosts = optarg;
			break;
		default:
			grants_usage();
		}
	}
	if (b->sock == NULL || optind != argc || strlen(b->user) > 64 ||
	    (b->hosts != NULL && strlen(b->hosts) > 63) ||
	    (strcmp(b->kind, "grant") != 0 && strcmp(b->kind, "session") != 0))
		grants_usage();
}

int main(int argc, char **argv)
{
	struct grants_bench b;
	struct shm_info before = {0};
	unsigned long rep;

	grants_args(argc, argv, &b);
	for (rep = 0; rep < b.repeats; rep++) {
		size_t len;
		char *req = grants_requests(&b, rep, &len);
		uint64_t ns;

		if (b.shm != NULL)
			grants_info(b.shm, &before);
		ns = grants_run(&b, req, len);
		free(req);
		bench_emit(b.key, ".per_s", (double)b.n * 1e9 / (double)ns);
	}
	if (b.shm != NULL)
		grants_bytes(&b, &before);
	return 0;
}
