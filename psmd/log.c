/* SPDX-License-Identifier: MIT */
/* log.c - psmd's log: syslog (LOG_DAEMON, ident "psmd") when /dev/log is there, else stderr. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LOG_HOLD_MAX 65536 /* bytes of stderr lines held before they are written */

static int log_dest = LOG_MODE_SYSLOG;
static bool log_syslog_seen;
static time_t log_checked = -1; /* CLOCK_MONOTONIC_COARSE second of the last check */

void log_open(int mode)
{
	log_dest = mode;
	log_checked = -1;
	if (mode == LOG_MODE_STDERR)
		return;
	openlog("psmd", LOG_NDELAY | (mode == LOG_MODE_BOTH ? LOG_PERROR : 0), LOG_DAEMON);
}

void log_close(void)
{
	log_flush();
	if (log_dest != LOG_MODE_STDERR)
		closelog();
}

/* Whether something listens on /dev/log (datagram, as journald and rsyslog, or stream). */
static bool log_syslog_probe(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int type = SOCK_DGRAM, fd, rc;

	memcpy(sa.sun_path, _PATH_LOG, sizeof(_PATH_LOG));
	for (;;) {
		fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return false;
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		if (rc != 0 && errno == EPROTOTYPE && type == SOCK_DGRAM) {
			close(fd);
			type = SOCK_STREAM;
			continue;
		}
		close(fd);
		return rc == 0;
	}
}

/*
 * Whether syslog takes lines.  Without a listener on /dev/log glibc's
 * syslog() tries to connect again on every call (and drops the line), so
 * look at most once a second; glibc reconnects by itself once it is back.
 */
static bool log_syslog_up(void)
{
	struct timespec ts;

	if (log_dest == LOG_MODE_STDERR)
		return false;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (ts.tv_sec != log_checked) {
		log_checked = ts.tv_sec;
		log_syslog_seen = log_syslog_probe();
	}
	return log_syslog_seen;
}

/* Lines held for one write (log_hold): whole lines only. */
static struct {
	bool on;
	size_t len;
	char buf[LOG_HOLD_MAX];
} log_held;

static void log_writev(struct iovec *iov, int n)
{
	while (writev(STDERR_FILENO, iov, n) < 0 && errno == EINTR)
		;
}

void log_hold(void)
{
	log_held.on = true;
}

/* Writes the lines held (after what stdio has buffered). */
static void log_write_held(void)
{
	struct iovec iov = {log_held.buf, log_held.len};

	fflush(stderr);
	if (log_held.len == 0)
		return;
	log_held.len = 0;
	log_writev(&iov, 1);
}

void log_flush(void)
{
	log_held.on = false;
	log_write_held();
}

/* Keeps the line while holding (writing what is held first when it is full);
 * false when it is to be written now. */
static bool log_keep(const struct iovec iov[3])
{
	size_t n = iov[0].iov_len + iov[1].iov_len + iov[2].iov_len;

	if (!log_held.on || n > LOG_HOLD_MAX)
		return false;
	if (log_held.len + n > LOG_HOLD_MAX)
		log_write_held();
	for (int i = 0; i < 3; i++) {
		memcpy(log_held.buf + log_held.len, iov[i].iov_base, iov[i].iov_len);
		log_held.len += iov[i].iov_len;
	}
	return true;
}

/* "psmd: message\n" in one writev(), so that lines of a busy daemon never interleave. */
__attribute__((format(printf, 1, 0))) static void log_stderr(const char *fmt, va_list ap)
{
	char buf[2048], *big = NULL;
	struct iovec iov[3] = {{"psmd: ", 6}, {buf, 0}, {"\n", 1}};
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n >= (int)sizeof(buf) && vasprintf(&big, fmt, copy) >= 0)
		iov[1].iov_base = big;
	va_end(copy);
	if (n < 0)
		return;
	iov[1].iov_len = big != NULL ? (size_t)n : strnlen(buf, sizeof(buf) - 1);
	if (!log_keep(iov)) {
		log_write_held(); /* in order after the lines held */
		log_writev(iov, 3);
	}
	free(big);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_syslog_up())
		vsyslog(prio, fmt, ap); /* LOG_PERROR copies it to stderr with -d */
	else
		log_stderr(fmt, ap);
	va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
	va_list ap;

	log_flush();
	va_start(ap, fmt);
	if (!log_syslog_up()) {
		log_stderr(fmt, ap);
	} else {
		va_list copy;

		va_copy(copy, ap);
		vsyslog(LOG_ERR, fmt, copy);
		va_end(copy);
		if (log_dest == LOG_MODE_SYSLOG && getenv("JOURNAL_STREAM") == NULL)
			log_stderr(fmt, ap);
	}
	va_end(ap);
}
