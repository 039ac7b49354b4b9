/* SPDX-License-Identifier: MIT */
/* pam_fixture.h - the real pam_psm.so in real libpam: module path, PAM config dir, log capture. */
#ifndef PSM_PAM_FIXTURE_H
#define PSM_PAM_FIXTURE_H

#include <libgen.h>
#include <limits.h>
#include <security/pam_appl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char module[PATH_MAX]; /* BUILD/pam_psm.so, next to BUILD/tests/ */
static char confdir[64];      /* the PAM configuration directory (pam_start_confdir) */
static char logbuf[16384];

/*
 * libpam's pam_syslog() ends in glibc's __syslog_chk(); this definition in the
 * test program takes its place (the executable comes first in symbol lookup),
 * so the module's log lines land in logbuf as "<PRIO>message".
 */
void __syslog_chk(int prio, int flag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void __syslog_chk(int prio, int flag, const char *fmt, ...)
{
	size_t n = strlen(logbuf);
	va_list ap;

	(void)flag;
	if (n + 2 >= sizeof(logbuf))
		return;
	n += (size_t)snprintf(logbuf + n, sizeof(logbuf) - n, "<%d>", prio & 7);
	va_start(ap, fmt);
	vsnprintf(logbuf + n, sizeof(logbuf) - n, fmt, ap);
	va_end(ap);
	n = strlen(logbuf);
	if (n + 1 < sizeof(logbuf))
		strcat(logbuf, "\n");
}

/* Whether the log since the last log_clear() has a line containing text. */
static inline bool log_has(const char *text)
{
	return strstr(logbuf, text) != NULL;
}

static inline void log_clear(void)
{
	logbuf[0] = '\0';
}

static inline int conv_none(int n, const struct pam_message **msg, struct pam_response **resp,
			    void *data)
{
	(void)n, (void)msg, (void)resp, (void)data;
	return PAM_CONV_ERR;
}

/* Writes confdir/name (a PAM service file); false when it could not. */
static inline bool write_file(const char *name, const char *text)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", confdir, name);
	f = fopen(path, "w");
	if (f == NULL)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

/* Makes confdir /tmp/psm-test-TAG-PID-XXXXXX whose "other" service denies; -1 on failure. */
static inline int pam_fixture_setup(const char *tag)
{
	snprintf(confdir, sizeof(confdir), "/tmp/psm-test-%s-%d-XXXXXX", tag, (int)getpid());
	if (mkdtemp(confdir) == NULL)
		return -1;
	if (!write_file("other", "account required pam_deny.so\nsession required pam_deny.so\n"))
		return -1;
	return 0;
}

/* Removes confdir and everything in it. */
static inline int pam_fixture_teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", confdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Sets module from the test program's path argv0; -1 when it cannot be resolved. */
static inline int pam_fixture_find_module(const char *argv0)
{
	char self[PATH_MAX];

	if (realpath(argv0, self) == NULL)
		return -1;
	snprintf(module, sizeof(module), "%s/../pam_psm.so", dirname(self));
	return 0;
}

#endif
