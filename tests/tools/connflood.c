/* SPDX-License-Identifier: MIT */
/* connflood.c - test tool: floods psmd's admin socket (many, slow, churning, unread clients). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char cf_usage[] =
    "usage: connflood SOCKET MODE N [ARG]\n"
    "  hold N       opens N connections (a full backlog ends the opening), keeps them until\n"
    "               killed; prints \"open K\" and, once a second, \"closed C\" (psmd closed C)\n"
    "  slow N MS    N connections, each sending one byte of a request every MS ms (round\n"
    "               robin) and never its newline; prints \"open K\" and \"closed C\" as hold\n"
    "  churn N      opens and closes N connections, one after the other: every 2nd sends\n"
    "               half a request first, every 3rd a whole one it never reads; prints \"done\"\n"
    "  noread N     one connection sending N \"grants\" requests it never reads; prints\n"
    "               \"sent B\" (bytes sent), \"closed\" when psmd closes it; runs until killed\n"
    "  exit: 0 as above, 2 bad usage, 3 the socket cannot be reached at all.\n";

#define CF_MAX 65536
#define CF_SLOW_REQ "{\"op\":\"health\"                                                      "

static volatile sig_atomic_t cf_quit;

static void cf_on_term(int sig)
{
	(void)sig;
	cf_quit = 1;
}

/* A connected, non-blocking socket to path; -1 (errno set) when refused or the backlog is full. */
static int cf_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void cf_say(const char *what, long v)
{
	printf("%s %ld\n", what, v);
	fflush(stdout);
}

/* Opens up to n connections into fds; the count. */
static int cf_open_many(const char *path, int *fds, int n)
{
	int k;

	for (k = 0; k < n; k++) {
		fds[k] = cf_connect(path);
		if (fds[k] < 0)
			break;
	}
	return k;
}

/* Reads and drops what psmd sent; true when it closed the connection. */
static bool cf_drain_closed(int fd)
{
	char buf[4096];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		;
	return r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
}

/* Counts the connections psmd closed (their fd becomes -1 and is closed). */
static int cf_reap(int *fds, int n, int *closed)
{
	for (int i = 0; i < n; i++) {
		if (fds[i] >= 0 && cf_drain_closed(fds[i])) {
			close(fds[i]);
			fds[i] = -1;
			(*closed)++;
		}
	}
	return *closed;
}

static void cf_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* One byte of the slow request (its pos-th) on each connection still open. */
static void cf_slow_byte(const int *fds, int k, size_t pos)
{
	for (int i = 0; i < k; i++)
		if (fds[i] >= 0 && write(fds[i], &CF_SLOW_REQ[pos], 1) < 0 && errno != EAGAIN)
			continue; /* closed: cf_reap counts it */
}

/* hold and slow: keep n connections; slow ones get one byte each every ms. */
static int cf_hold(const char *path, int n, long ms)
{
	static int fds[CF_MAX];
	int k = cf_open_many(path, fds, n), closed = 0, said = -1;
	size_t pos = 0;

	if (k == 0)
		return 3;
	cf_say("open", k);
	while (!cf_quit) {
		if (ms > 0) {
			cf_slow_byte(fds, k, pos);
			pos = (pos + 1) % (sizeof(CF_SLOW_REQ) - 1);
		}
		if (cf_reap(fds, k, &closed) != said)
			cf_say("closed", closed);
		said = closed;
		cf_sleep_ms(ms > 0 ? ms : 100);
	}
	return 0;
}

/* churn: n connections opened and closed one after the other. */
static int cf_churn(const char *path, int n)
{
	static const char half[] = "{\"op\":\"gra";
	static const char whole[] = "{\"op\":\"stats\"}\n";

	for (int i = 0; i < n; i++) {
		int fd = cf_connect(path);

		if (fd < 0 && errno == EAGAIN) { /* the backlog is full: let psmd catch up */
			cf_sleep_ms(1);
			i--;
			continue;
		}
		if (fd < 0)
			return 3;
		if (i % 2 == 0 && write(fd, half, sizeof(half) - 1) < 0)
			perror("connflood: write");
		else if (i % 3 == 0 && write(fd, whole, sizeof(whole) - 1) < 0)
			perror("connflood: write");
		close(fd);
	}
	cf_say("done", n);
	return 0;
}

/* noread: n grants requests on one connection, never read. */
static int cf_noread(const char *path, int n)
{
	static const char req[] = "{\"op\":\"grants\"}\n";
	size_t len = (size_t)n * (sizeof(req) - 1), sent = 0;
	char *buf = malloc(len);
	int fd = cf_connect(path);
	struct pollfd p = {.fd = fd};

	if (fd < 0 || buf == NULL)
		return 3;
	for (size_t i = 0; i < len; i += sizeof(req) - 1)
		memcpy(buf + i, req, sizeof(req) - 1);
	while (!cf_quit && !(p.revents & (POLLHUP | POLLERR))) {
		p.events = sent < len ? POLLOUT : 0;
		if (poll(&p, 1, 200) > 0 && (p.revents & POLLOUT)) {
			ssize_t w = write(fd, buf + sent, len - sent);

			sent += w > 0 ? (size_t)w : 0;
			if (sent == len)
				cf_say("sent", (long)sent);
		}
	}
	if (!cf_quit)
		cf_say("closed", 1);
	close(fd);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc >= 4 ? atoi(argv[3]) : 0;
	struct sigaction sa = {.sa_handler = cf_on_term};

	if (argc < 4 || n <= 0 || n > CF_MAX) {
		fputs(cf_usage, stderr);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[2], "hold") == 0)
		return cf_hold(argv[1], n, 0);
	if (strcmp(argv[2], "slow") == 0 && argc == 5 && atol(argv[4]) > 0)
		return cf_hold(argv[1], n, atol(argv[4]));
	if (strcmp(argv[2], "churn") == 0)
		return cf_churn(argv[1], n);
	if (strcmp(argv[2], "noread") == 0)
		return cf_noread(argv[1], n);
	fputs(cf_usage, stderr);
	return 2;
}
