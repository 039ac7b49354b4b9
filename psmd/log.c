/* SPDX-License-Identifier: MIT */
/* log.c - psmd's log: syslog (LOG_DAEMON, ident "psmd"), with a copy on stderr for -d. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int log_dest = LOG_MODE_SYSLOG;

void log_open(int mode)
{
	log_dest = mode;
	if (mode == LOG_MODE_STDERR)
		return;
	openlog("psmd", LOG_NDELAY | (mode == LOG_MODE_BOTH ? LOG_PERROR : 0), LOG_DAEMON);
}

void log_close(void)
{
	if (log_dest != LOG_MODE_STDERR)
		closelog();
}

static void log_stderr(const char *fmt, va_list ap)
{
	fputs("psmd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_dest == LOG_MODE_STDERR)
		log_stderr(fmt, ap);
	else
		vsyslog(prio, fmt, ap);
	va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_dest == LOG_MODE_STDERR) {
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
