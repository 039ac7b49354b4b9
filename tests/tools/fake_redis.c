/* SPDX-License-Identifier: MIT */
/* fake_redis.c - test tool: a hostile "Redis" on loopback that answers with one chosen bad reply.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char fr_usage[] =
    "usage: fake_redis [-p PORT] [-r] MODE\n"
    "  listens on 127.0.0.1:PORT (default: a free port), prints the port on stdout, then\n"
    "  answers every command with MODE's reply:\n"
    "    bulk      $2147483647 then filler bytes as fast as the client reads\n"
    "    trickle   $2147483647 then one filler byte every 100 ms\n"
    "    bigarray  *2147483647 then :1 elements as fast as the client reads\n"
    "    nested    arrays nested 10 deep around :1\n"
    "    int       an integer :42        status  +OK        error  -ERR fake\n"
    "    garbage   bytes that are not RESP\n"
    "    hang      reads, never answers  close   closes each connection at once\n"
    "    half      half a reply (an array's first element, half a bulk), then nothing\n"
    "  -r: answer the handshake like Redis (PING PONG, AUTH/SELECT/CLIENT OK, ROLE master,\n"
    "      INFO with a master_replid, SCRIPT LOAD a sha) and only the other commands badly.\n"
    "  stderr: \"accept N\" per connection, \"CMD -> MODE|real\" per command.\n";

#define FR_MAXCONN 64
#define FR_INMAX (4u << 20) /* a command larger than this closes the connection */
#define FR_ARGMAX 4096	    /* arguments in one command */
#define FR_TICK_MS 100
#define FR_BIG 2147483647ULL

enum fr_mode {
	FR_BULK,
	FR_TRICKLE,
	FR_BIGARRAY,
	FR_NESTED,
	FR_INT,
	FR_STATUS,
	FR_ERROR,
	FR_GARBAGE,
	FR_HANG,
	FR_CLOSE,
	FR_HALF,
	FR_NMODES
};

static const char *const fr_names[FR_NMODES] = {"bulk", "trickle", "bigarray", "nested",
						"int",	"status",  "error",    "garbage",
						"hang", "close",   "half"};

/* One client: bytes read and not yet parsed, bytes to write, and an endless tail to stream. */
struct fr_conn {
	int fd;
	char *in;
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	uint64_t tail;	/* filler bytes (bulk) or elements (bigarray) still to send */
	bool streaming; /* a bulk/bigarray reply is under way: later commands wait */
};

struct fr_server {
	enum fr_mode mode;
	bool handshake;
	int lfd;
	unsigned accepted;
	struct fr_conn c[FR_MAXCONN];
};

static void fr_die(const char *what)
{
	fprintf(stderr, "fake_redis: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Appends n bytes to c's output. */
static void fr_out(struct fr_conn *c, const char *s, size_t n)
{
	char *p = realloc(c->out, c->outlen + n);

	if (p == NULL)
		fr_die("realloc");
	memcpy(p + c->outlen, s, n);
	c->out = p;
	c->outlen += n;
}

static void fr_outs(struct fr_conn *c, const char *s)
{
	fr_out(c, s, strlen(s));
}

static void fr_close(struct fr_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* The handshake's honest replies: true when name was one of them. */
static bool fr_real(struct fr_conn *c, const char *name)
{
	static const char info[] = "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
				   "master_replid:0123456789abcdef0123456789abcdef01234567\r\n"
				   "master_repl_offset:0\r\n";
	char hdr[32];

	if (strcmp(name, "PING") == 0) {
		fr_outs(c, "+PONG\r\n");
	} else if (strcmp(name, "AUTH") == 0 || strcmp(name, "SELECT") == 0 ||
		   strcmp(name, "CLIENT") == 0) {
		fr_outs(c, "+OK\r\n");
	} else if (strcmp(name, "ROLE") == 0) {
		fr_outs(c, "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
	} else if (strcmp(name, "INFO") == 0) {
		snprintf(hdr, sizeof(hdr), "$%zu\r\n", sizeof(info) - 1);
		fr_outs(c, hdr);
		fr_outs(c, info);
		fr_outs(c, "\r\n");
	} else if (strcmp(name, "SCRIPT") == 0) {
		fr_outs(c, "$40\r\n0123456789abcdef0123456789abcdef01234567\r\n");
	} else {
		return false;
	}
	return true;
}

/* MODE's reply to one command. */
static void fr_hostile(struct fr_server *s, struct fr_conn *c)
{
	static const char garbage[] =
	    "\x16\x03\x01\x00\xa5HTTP/1.1 400 Bad Request\r\n\xff\xfe\r\n";
	int i;

	switch (s->mode) {
	case FR_BULK:
	case FR_TRICKLE:
		fr_outs(c, "$2147483647\r\n");
		c->tail = FR_BIG;
		c->streaming = true;
		break;
	case FR_BIGARRAY:
		fr_outs(c, "*2147483647\r\n");
		c->tail = FR_BIG;
		c->streaming = true;
		break;
	case FR_NESTED:
		for (i = 0; i < 10; i++)
			fr_outs(c, "*1\r\n");
		fr_outs(c, ":1\r\n");
		break;
	case FR_INT:
		fr_outs(c, ":42\r\n");
		break;
	case FR_STATUS:
		fr_outs(c, "+OK\r\n");
		break;
	case FR_ERROR:
		fr_outs(c, "-ERR fake\r\n");
		break;
	case FR_GARBAGE:
		fr_out(c, garbage, sizeof(garbage) - 1);
		break;
	case FR_HALF:
		fr_outs(c, "*2\r\n$4\r\nhalf\r\n$64\r\nthe reply stops h");
		break;
	default: /* hang: no reply; close never gets here */
		break;
	}
}

/* Parses "<prefix><digits>\r\n" at p[0..n): the number, or -1 incomplete, -2 malformed. */
static long long fr_line(const char *p, size_t n, char prefix, size_t *used)
{
	long long v = 0;
	size_t i = 1;

	if (n < 1)
		return -1;
	if (p[0] != prefix)
		return -2;
	for (; i < n && isdigit((unsigned char)p[i]); i++) {
		v = v * 10 + (p[i] - '0');
		if (v > (long long)FR_INMAX)
			return -2;
	}
	if (i + 1 >= n)
		return i < n && p[i] != '\r' ? -2 : -1;
	if (p[i] != '\r' || p[i + 1] != '\n' || i == 1)
		return -2;
	*used = i + 2;
	return v;
}

/*
 * One command (a RESP array of bulk strings) at the start of in[0..n): its length,
 * 0 while incomplete, -1 when malformed; name gets its first argument, upper case.
 */
static long long fr_command(const char *in, size_t n, char *name, size_t namesz)
{
	size_t off = 0, used = 0;
	long long argc = fr_line(in, n, '*', &used), i, len;

	if (argc < 0)
		return argc == -1 ? 0 : -1;
	if (argc < 1 || argc > FR_ARGMAX)
		return -1;
	off = used;
	for (i = 0; i < argc; i++) {
		len = fr_line(in + off, n - off, '$', &used);
		if (len < 0)
			return len == -1 ? 0 : -1;
		if (off + used + (size_t)len + 2 > n)
			return 0;
		if (i == 0)
			for (size_t j = 0; j < namesz; j++)
				name[j] = j + 1 < namesz && j < (size_t)len
					      ? (char)toupper((unsigned char)in[off + used + j])
					      : '\0';
		off += used + (size_t)len + 2;
	}
	return (long long)off;
}

/* Answers the complete commands read so far; false when the connection must close. */
static bool fr_answer(struct fr_server *s, struct fr_conn *c)
{
	char name[32];
	long long n;
	bool real;

	while (!c->streaming && c->inlen > 0) {
		n = fr_command(c->in, c->inlen, name, sizeof(name));
		if (n < 0)
			return false;
		if (n == 0)
			return c->inlen < FR_INMAX;
		real = s->handshake && fr_real(c, name);
		if (!real)
			fr_hostile(s, c);
		fprintf(stderr, "%s -> %s\n", name, real ? "real" : fr_names[s->mode]);
		memmove(c->in, c->in + n, c->inlen - (size_t)n);
		c->inlen -= (size_t)n;
	}
	return true;
}

static bool fr_read(struct fr_server *s, struct fr_conn *c)
{
	ssize_t n;

	if (c->in == NULL && (c->in = malloc(FR_INMAX)) == NULL)
		fr_die("malloc");
	n = read(c->fd, c->in + c->inlen, FR_INMAX - c->inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	c->inlen += (size_t)n;
	return fr_answer(s, c);
}

/* Refills c's output from its endless tail: a tick's byte (trickle) or a chunk. */
static void fr_refill(struct fr_server *s, struct fr_conn *c, bool tick)
{
	static char chunk[65536];
	size_t i;

	if (c->tail == 0 || c->outoff < c->outlen)
		return;
	c->outlen = c->outoff = 0;
	if (s->mode == FR_TRICKLE) {
		if (tick) {
			fr_outs(c, "x");
			c->tail--;
		}
		return;
	}
	for (i = 0; i + 4 <= sizeof(chunk); i += 4)
		memcpy(chunk + i, s->mode == FR_BIGARRAY ? ":1\r\n" : "xxxx", 4);
	fr_out(c, chunk, sizeof(chunk));
	c->tail = c->tail > sizeof(chunk) / 4 ? c->tail - sizeof(chunk) / 4 : 0;
}

static bool fr_write(struct fr_conn *c)
{
	ssize_t n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n < 0)
		return false;
	c->outoff += (size_t)n;
	if (c->outoff == c->outlen)
		c->outlen = c->outoff = 0;
	return true;
}

static void fr_accept(struct fr_server *s)
{
	int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	size_t i;

	if (fd < 0)
		return;
	fprintf(stderr, "accept %u\n", ++s->accepted);
	for (i = 0; i < FR_MAXCONN && s->c[i].fd >= 0; i++)
		;
	if (s->mode == FR_CLOSE || i == FR_MAXCONN) {
		close(fd);
		return;
	}
	s->c[i].fd = fd;
}

static int fr_listen(unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t alen = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		fr_die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		fr_die("bind");
	if (listen(fd, 64) != 0)
		fr_die("listen");
	if (getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
		fr_die("getsockname");
	printf("%u\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

static int64_t fr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One connection's turn after poll: read, refill, write; closes it when done. */
static void fr_serve(struct fr_server *s, struct fr_conn *c, short revents, bool tick)
{
	bool ok = true;

	if (revents & (POLLIN | POLLHUP | POLLERR))
		ok = fr_read(s, c);
	if (ok)
		fr_refill(s, c, tick);
	if (ok && c->outoff < c->outlen && (revents & POLLOUT))
		ok = fr_write(c);
	if (!ok)
		fr_close(c);
}

static void fr_loop(struct fr_server *s)
{
	struct pollfd p[FR_MAXCONN + 1];
	int64_t next = fr_now_ms() + FR_TICK_MS;
	size_t i;

	for (;;) {
		p[0] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		for (i = 0; i < FR_MAXCONN; i++) {
			struct fr_conn *c = &s->c[i];
			bool wr = c->outoff < c->outlen || (c->tail > 0 && s->mode != FR_TRICKLE);

			p[i + 1] = (struct pollfd){.fd = c->fd,
						   .events = (short)(POLLIN | (wr ? POLLOUT : 0))};
		}
		if (poll(p, FR_MAXCONN + 1, FR_TICK_MS) < 0 && errno != EINTR)
			fr_die("poll");
		bool tick = fr_now_ms() >= next;

		if (tick)
			next = fr_now_ms() + FR_TICK_MS;
		if (p[0].revents & POLLIN)
			fr_accept(s);
		for (i = 0; i < FR_MAXCONN; i++)
			if (s->c[i].fd >= 0)
				fr_serve(s, &s->c[i], p[i + 1].revents | (tick ? POLLOUT : 0),
					 tick);
	}
}

int main(int argc, char **argv)
{
	static struct fr_server s;
	unsigned port = 0;
	int opt, m;

	while ((opt = getopt(argc, argv, "p:r")) != -1) {
		if (opt == 'p')
			port = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 'r')
			s.handshake = true;
		else
			return fputs(fr_usage, stderr), 2;
	}
	for (m = 0; optind + 1 == argc && m < FR_NMODES; m++)
		if (strcmp(argv[optind], fr_names[m]) == 0)
			break;
	if (optind + 1 != argc || m == FR_NMODES || port > 65535)
		return fputs(fr_usage, stderr), 2;
	s.mode = (enum fr_mode)m;
	for (m = 0; m < FR_MAXCONN; m++)
		s.c[m].fd = -1;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stderr, NULL, _IOLBF, 0);
	s.lfd = fr_listen(port);
	fr_loop(&s);
}
