/* SPDX-License-Identifier: MIT */
/* proto_client.c - connect to psmd's admin socket, send a request, read its reply, by a deadline.
 */
#include "proto_client.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "psm_str.h"

static int64_t client_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int client_fail(const struct proto_client *c, struct psm_err *err, const char *why)
{
	return psm_err_set(err, PSM_EUNAVAIL, "psmd socket %s: %s", c->path, why);
}

static int client_errno(const struct proto_client *c, struct psm_err *err, const char *what, int e)
{
	const char *hint = e == ENOENT || e == ECONNREFUSED ? " (is psmd running?)" : "";

	return psm_err_set(err, PSM_EUNAVAIL, "psmd socket %s: %s: %s%s", c->path, what,
			   e == EPIPE ? "connection closed by psmd" : strerror(e), hint);
}

/* Waits until the socket is ready for events, or the deadline passes (then: why). */
static int client_wait(const struct proto_client *c, short events, const char *why,
		       struct psm_err *err)
{
	struct pollfd p = {.fd = c->fd, .events = events};
	int64_t left;
	int n;

	for (;;) {
		left = c->deadline_ms - client_now_ms();
		if (left <= 0)
			return client_fail(c, err, why);
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return PSM_OK;
		if (n < 0 && errno != EINTR)
			return client_errno(c, err, "poll", errno);
	}
}

/* A non-blocking connect; a full backlog (EAGAIN) is retried until the deadline. */
static int client_connect(struct proto_client *c, const struct sockaddr_un *sa, struct psm_err *err)
{
	socklen_t len = sizeof(int);
	int e = 0;

	while (connect(c->fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS)
			break;
		if (errno != EAGAIN)
			return client_errno(c, err, "connect", errno);
		if (client_now_ms() >= c->deadline_ms)
			return client_fail(c, err, "connect: timed out (backlog full)");
		poll(NULL, 0, 10);
	}
	if (client_wait(c, POLLOUT, "connect: timed out", err) != PSM_OK)
		return PSM_EUNAVAIL;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
		return client_errno(c, err, "connect", errno);
	return e == 0 ? PSM_OK : client_errno(c, err, "connect", e);
}

int proto_client_open(struct proto_client *c, const char *path, int timeout_ms, struct psm_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int rc;

	*c = (struct proto_client){.path = path, .fd = -1};
	proto_client_deadline(c, timeout_ms);
	if (strlen(path) >= sizeof(sa.sun_path))
		return psm_err_set(err, PSM_EINVAL,
				   "psmd socket %s: path too long (at most %zu bytes)", path,
				   sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return client_errno(c, err, "socket", errno);
	rc = client_connect(c, &sa, err);
	if (rc != PSM_OK)
		proto_client_close(c);
	return rc;
}

void proto_client_deadline(struct proto_client *c, int timeout_ms)
{
	c->deadline_ms = client_now_ms() + timeout_ms;
}

int proto_client_send(struct proto_client *c, const char *buf, size_t len, struct psm_err *err)
{
	ssize_t n;

	while (len > 0) {
		if (client_wait(c, POLLOUT, "send: timed out", err) != PSM_OK)
			return PSM_EUNAVAIL;
		n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return client_errno(c, err, "send", errno);
		buf += n;
		len -= (size_t)n;
	}
	return PSM_OK;
}

int proto_client_read(struct proto_client *c, char *buf, size_t cap, size_t *n, size_t have,
		      struct psm_err *err)
{
	ssize_t got;

	*n = 0;
	for (;;) {
		if (client_wait(c, POLLIN, "no reply in time", err) != PSM_OK)
			return PSM_EUNAVAIL;
		got = recv(c->fd, buf, cap, MSG_DONTWAIT);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0)
			return client_errno(c, err, "recv", errno);
		if (got == 0)
			return client_fail(
			    c, err, have == 0 ? "closed without a reply" : "reply cut short");
		*n = (size_t)got;
		return PSM_OK;
	}
}

int proto_client_line(struct proto_client *c, char *buf, size_t cap, size_t *len,
		      struct psm_err *err)
{
	const char *nl;
	size_t n;

	*len = 0;
	while (*len == 0 || buf[*len - 1] != '\n') {
		if (*len + 1 >= cap)
			return client_fail(c, err, "reply too long");
		if (proto_client_read(c, buf + *len, cap - 1 - *len, &n, *len, err) != PSM_OK)
			return PSM_EUNAVAIL;
		nl = psm_mem_chr(buf + *len, '\n', n);
		if (nl != NULL && nl != buf + *len + n - 1)
			return client_fail(c, err, "unexpected data after the reply");
		*len += n;
		buf[*len] = '\0';
	}
	return PSM_OK;
}

void proto_client_close(struct proto_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int proto_client_exchange(const char *path, const char *req, size_t req_len, char *reply,
			  size_t cap, size_t *len, int timeout_ms, struct psm_err *err)
{
	struct proto_client c;
	int rc = proto_client_open(&c, path, timeout_ms, err);

	*len = 0;
	if (rc == PSM_OK)
		rc = proto_client_send(&c, req, req_len, err);
	if (rc == PSM_OK)
		rc = proto_client_line(&c, reply, cap, len, err);
	proto_client_close(&c);
	if (rc != PSM_OK)
		*len = 0;
	if (cap > 0 && rc != PSM_OK)
		reply[0] = '\0';
	return rc;
}
