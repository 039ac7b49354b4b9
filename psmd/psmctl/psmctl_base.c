/* SPDX-License-Identifier: MIT */
/* psmctl_base.c - psmctl's one-line errors on standard error. */
#include "psmctl_base.h"

#include <stdarg.h>
#include <stdio.h>

int ctl_fail(struct ctl *c, int status, const char *fmt, ...)
{
	va_list ap;

	fputs("psmctl: ", stderr);
	if (c != NULL && c->what != NULL)
		fprintf(stderr, "%s: ", c->what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}
