/* SPDX-License-Identifier: MIT */
/* log.h - psmd's one place to log: syslog (LOG_DAEMON, ident "psmd"), else or also stderr. */
#ifndef PSMD_LOG_H
#define PSMD_LOG_H

#include <syslog.h>

/*
 * Without a syslog listener (on /dev/log, looked for once a second) every
 * line goes to stderr instead, which systemd's journal captures: no line,
 * audit lines above all, is ever dropped silently.
 */
enum log_mode {
	LOG_MODE_SYSLOG = 0, /* syslog only */
	LOG_MODE_BOTH = 1,   /* syslog, and a copy on stderr (-d) */
	LOG_MODE_STDERR = 2, /* stderr only, "psmd: message" (-n) */
};

void log_open(int mode);
void log_close(void);

/*
 * Between log_hold() and log_flush() the lines that go to stderr are kept
 * (up to 64 KiB, in order) and written together: psmd's loop holds them
 * while it handles one iteration's requests, then writes all their audit
 * lines with one write() before any reply goes out.  Lines to syslog are
 * sent as they come.  log_close() and log_fatal() flush too.
 */
void log_hold(void);
void log_flush(void);

/* prio is a syslog priority (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO). */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A fatal error: logged as LOG_ERR, and also printed on stderr when stderr
 * gets no copy yet and is not systemd's journal (so it is not shown twice).
 */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
