/* SPDX-License-Identifier: MIT */
/* psmctl_io.c - psmctl's connection to psmd: connect, send a request, read its reply, bounded in time. */
#include "psmctl.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on c->fd until deadline; 0 on timeout. */
static int ctl_wait(struct ctl *c, short events, int64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = events };
	int64_t left;
	int n;

	do {
		left = deadline - ctl_now_ms();
		if (left <= 0)
			return 0;
		n = poll(&p, 1, (int)left);
	} while (n < 0 && errno == EINTR);
	return n;
}

static int ctl_connect_fail(struct ctl *c, int e)
{
	const char *hint = e == ENOENT || e == ECONNREFUSED ? " (is psmd running?)" : "";

	c->what = NULL;
	return ctl_fail(c, CTL_UNAVAIL, "connect %s: %s%s", c->socket, strerror(e), hint);
}

static int ctl_connect(struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = ctl_now_ms() + CTL_TIMEOUT_MS;

	if (strlen(c->socket) >= sizeof(sa.sun_path))
		return ctl_fail(c, CTL_USAGE, "socket path too long: %s", c->socket);
	memcpy(sa.sun_path, c->socket, strlen(c->socket) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return ctl_connect_fail(c, errno);
	/* A Unix socket whose backlog is full says EAGAIN: try again until the deadline. */
	while (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS)
			break;
		if (errno != EAGAIN)
			return ctl_connect_fail(c, errno);
		if (ctl_now_ms() >= deadline)
			return ctl_fail(c, CTL_UNAVAIL, "connect %s: timed out after %d s",
					c->socket, CTL_TIMEOUT_MS / 1000);
		poll(NULL, 0, 10);
	}
	proto_lines_init(&c->lines, PROTO_REPLY_MAX);
	return CTL_OK;
}

static int ctl_send(struct ctl *c, const char *buf, size_t len)
{
	int64_t deadline = ctl_now_ms() + CTL_TIMEOUT_MS;
	ssize_t n;

	while (len > 0) {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return ctl_fail(c, CTL_UNAVAIL, "send to %s: %s", c->socket,
					errno == EPIPE ? "connection closed by psmd" : strerror(errno));
		if (n < 0 && errno == EAGAIN && ctl_wait(c, POLLOUT, deadline) == 0)
			return ctl_fail(c, CTL_UNAVAIL, "%s: psmd did not read the request within %d s",
					c->socket, CTL_TIMEOUT_MS / 1000);
	}
	return CTL_OK;
}

/* Reads until one whole line is buffered. */
static int ctl_recv(struct ctl *c, const char **line, size_t *len)
{
	int64_t deadline = ctl_now_ms() + CTL_TIMEOUT_MS;
	char buf[65536];
	struct psm_err err = { 0 };
	ssize_t n;
	int st;

	while ((st = proto_lines_next(&c->lines, line, len)) == PROTO_LINES_NONE) {
		if (ctl_wait(c, POLLIN, deadline) == 0)
			return ctl_fail(c, CTL_UNAVAIL, "%s: no reply from psmd within %d s",
					c->socket, CTL_TIMEOUT_MS / 1000);
		n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return ctl_fail(c, CTL_UNAVAIL, "read from %s: %s", c->socket, strerror(errno));
		if (n == 0)
			return ctl_fail(c, CTL_UNAVAIL, "%s: connection closed by psmd before it "
					"replied", c->socket);
		if (proto_lines_feed(&c->lines, buf, (size_t)n, &err) != PSM_OK)
			return ctl_fail(c, CTL_UNAVAIL, "%s", err.msg);
	}
	if (st == PROTO_LINES_TOO_LARGE)
		return ctl_fail(c, CTL_UNAVAIL, "reply from psmd larger than %u bytes",
				PROTO_REPLY_MAX);
	return CTL_OK;
}

int ctl_call(struct ctl *c, const cJSON *req, struct proto_reply *reply)
{
	struct psm_err err = { 0 };
	const char *line;
	size_t len;
	char *out;
	int rc;

	memset(reply, 0, sizeof(*reply));
	if (c->fd < 0 && (rc = ctl_connect(c)) != CTL_OK)
		return rc;
	out = proto_print_line(req, &len);
	if (out == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	rc = ctl_send(c, out, len);
	free(out);
	if (rc == CTL_OK)
		rc = ctl_recv(c, &line, &len);
	if (rc != CTL_OK)
		return rc;
	if (proto_reply_parse(line, len, reply, &err) != PSM_OK)
		return ctl_fail(c, CTL_UNAVAIL, "%s", err.msg);
	if (reply->ok)
		return CTL_OK;
	rc = ctl_fail(c, proto_code_exit(reply->ecode), "%s", reply->message);
	proto_reply_free(reply);
	return rc;
}

void ctl_close(struct ctl *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		proto_lines_free(&c->lines);
	}
	c->fd = -1;
}
