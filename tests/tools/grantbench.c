/* SPDX-License-Identifier: MIT */
/* grantbench.c - durable grants per second, pipelined on one admin socket connection. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* usage: grantbench SOCKET USER COUNT [TAG]: prints "N grants in S s: R grants/s". */

struct gb {
	int fd;
	long count, sent, replies, ok;
	char out[65536];
	size_t olen, ooff;
	char in[65536];
	size_t ilen;
	const char *user, *tag;
};

static double gb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fills the output buffer with more grant lines. */
static void gb_fill(struct gb *g)
{
	if (g->ooff == g->olen)
		g->ooff = g->olen = 0;
	while (g->sent < g->count && sizeof(g->out) - g->olen > 256) {
		int n = snprintf(g->out + g->olen, sizeof(g->out) - g->olen,
				 "{\"op\":\"grant\",\"user\":\"%s\",\"perm\":\"bench:%s:%ld\","
				 "\"ttl\":\"1h\",\"reason\":\"bench\"}\n",
				 g->user, g->tag, g->sent);

		g->olen += (size_t)n;
		g->sent++;
	}
}

static int gb_read(struct gb *g)
{
	ssize_t n = read(g->fd, g->in + g->ilen, sizeof(g->in) - g->ilen);
	char *p, *start = g->in;

	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0)
		return -1;
	g->ilen += (size_t)n;
	while ((p = memchr(start, '\n', g->ilen - (size_t)(start - g->in))) != NULL) {
		g->replies++;
		if (strncmp(start, "{\"ok\":true", 10) == 0)
			g->ok++;
		start = p + 1;
	}
	g->ilen -= (size_t)(start - g->in);
	memmove(g->in, start, g->ilen);
	return 0;
}

static int gb_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "grantbench: connect %s: %s\n", path, strerror(errno));
		exit(3);
	}
	return fd;
}

static void gb_nonblock(int fd)
{
	int one = 1;

	ioctl(fd, FIONBIO, &one);
}

int main(int argc, char **argv)
{
	struct gb *g = calloc(1, sizeof(*g));
	double t0, dt;

	if (argc < 4 || g == NULL) {
		fprintf(stderr, "usage: grantbench SOCKET USER COUNT [TAG]\n");
		return 2;
	}
	g->fd = gb_connect(argv[1]);
	gb_nonblock(g->fd);
	g->user = argv[2];
	g->count = atol(argv[3]);
	g->tag = argc > 4 ? argv[4] : "x";
	t0 = gb_now();
	while (g->replies < g->count) {
		struct pollfd p = {.fd = g->fd, .events = POLLIN};

		gb_fill(g);
		if (g->olen > g->ooff)
			p.events |= POLLOUT;
		if (poll(&p, 1, 10000) <= 0)
			break;
		if ((p.revents & POLLIN) && gb_read(g) != 0)
			break;
		if (p.revents & POLLOUT) {
			ssize_t n = write(g->fd, g->out + g->ooff, g->olen - g->ooff);

			if (n < 0 && errno == EAGAIN)
				continue;
			if (n < 0)
				break;
			g->ooff += (size_t)n;
		}
	}
	dt = gb_now() - t0;
	printf("%ld grants (%ld ok) in %.3f s: %.0f grants/s\n", g->replies, g->ok, dt,
	       (double)g->ok / dt);
	return g->ok == g->count ? 0 : 1;
}
