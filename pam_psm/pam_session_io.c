/* SPDX-License-Identifier: MIT */
/* pam_session_io.c - one request and its reply on psmd's admin socket, bounded in time and size. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pam_session.h"

struct pam_io {
	const char *path;
	int fd;
	int64_t deadline_ms; /* CLOCK_MONOTONIC */
	struct psm_err *err;
};

static int64_t pam_io_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pam_io_fail(struct pam_io *io, const char *why)
{
	return psm_err_set(io->err, PSM_EUNAVAIL, "psmd socket %s: %s", io->path, why);
}

static int pam_io_errno(struct pam_io *io, const char *what, int e)
{
	return psm_err_set(io->err, PSM_EUNAVAIL, "psmd socket %s: %s: %s", io->path, what,
			   strerror(e));
}

/* Waits until fd is ready for events, or the deadline passes. */
static int pam_io_wait(struct pam_io *io, short events, const char *what)
{
	struct pollfd p = { .fd = io->fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = io->deadline_ms - pam_io_now_ms();
		if (left <= 0)
			return pam_io_fail(io, what);
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return PSM_OK;
		if (n < 0 && errno != EINTR)
			return pam_io_errno(io, "poll", errno);
	}
}

/* A non-blocking connect; a full backlog (EAGAIN) is retried until the deadline. */
static int pam_io_connect(struct pam_io *io)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(int);
	int e = 0;

	if (strlen(io->path) >= sizeof(sa.sun_path))
		return pam_io_fail(io, "path too long");
	strcpy(sa.sun_path, io->path);
	while (connect(io->fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS)
			break;
		if (errno != EAGAIN)
			return pam_io_errno(io, "connect", errno);
		if (pam_io_now_ms() >= io->deadline_ms)
			return pam_io_fail(io, "connect: timed out (backlog full)");
		poll(NULL, 0, 10);
	}
	if (pam_io_wait(io, POLLOUT, "connect: timed out") != PSM_OK)
		return PSM_EUNAVAIL;
	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
		return pam_io_errno(io, "connect", errno);
	return e == 0 ? PSM_OK : pam_io_errno(io, "connect", e);
}

static int pam_io_send(struct pam_io *io, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if (pam_io_wait(io, POLLOUT, "send: timed out") != PSM_OK)
			return PSM_EUNAVAIL;
		n = send(io->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return pam_io_errno(io, "send", errno);
		buf += n;
		len -= (size_t)n;
	}
	return PSM_OK;
}

/* Reads until the first newline, which must be the last byte read (one request, one
 * reply); reply[cap] is NUL-terminated. */
static int pam_io_recv(struct pam_io *io, char *reply, size_t cap, size_t *len)
{
	const char *nl;
	ssize_t n;

	*len = 0;
	while (*len == 0 || reply[*len - 1] != '\n') {
		if (*len + 1 >= cap)
			return pam_io_fail(io, "reply too long");
		if (pam_io_wait(io, POLLIN, "no reply in time") != PSM_OK)
			return PSM_EUNAVAIL;
		n = recv(io->fd, reply + *len, cap - 1 - *len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return pam_io_errno(io, "recv", errno);
		if (n == 0)
			return pam_io_fail(io, *len == 0 ? "closed without a reply"
							 : "reply cut short");
		nl = memchr(reply + *len, '\n', (size_t)n);
		if (nl != NULL && nl != reply + *len + n - 1)
			return pam_io_fail(io, "unexpected data after the reply");
		*len += (size_t)n;
		reply[*len] = '\0';
	}
	return PSM_OK;
}

int pam_session_exchange(const char *path, const char *req, size_t req_len, char *reply,
			 size_t cap, size_t *len, int timeout_ms, struct psm_err *err)
{
	struct pam_io io = { .path = path, .err = err,
			     .deadline_ms = pam_io_now_ms() + timeout_ms };
	int rc;

	*len = 0;
	if (cap > 0)
		reply[0] = '\0';
	io.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (io.fd < 0)
		return pam_io_errno(&io, "socket", errno);
	rc = pam_io_connect(&io);
	if (rc == PSM_OK)
		rc = pam_io_send(&io, req, req_len);
	if (rc == PSM_OK)
		rc = pam_io_recv(&io, reply, cap, len);
	close(io.fd);
	if (rc != PSM_OK && cap > 0) {
		*len = 0;
		reply[0] = '\0';
	}
	return rc;
}
