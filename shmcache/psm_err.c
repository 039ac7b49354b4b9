/* SPDX-License-Identifier: MIT */
/* psm_err.c - set, prefix and map psm error codes; the one formatter of their texts. */
#include "psm_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "psm_str.h"

/* The one vsnprintf of psm's texts (psm_err_set, psm_err_prefix, psm_fmt, the appenders that
 * take a va_list).  Out of line: inlined, _FORTIFY_SOURCE would make some of its copies
 * vsnprintf and others __vsnprintf_chk, two symbols for pam_psm.so to bind at every load. */
__attribute__((noinline)) int psm_vfmt(char *buf, size_t n, const char *fmt, va_list ap)
{
	return vsnprintf(buf, n, fmt, ap);
}

int psm_fmt(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = psm_vfmt(buf, n, fmt, ap);
	va_end(ap);
	return w;
}

int psm_err_set(struct psm_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	psm_vfmt(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int psm_err_prefix(struct psm_err *e, const char *fmt, ...)
{
	char old[PSM_ERR_MSG_MAX];
	size_t n;
	int w;
	va_list ap;

	if (e == NULL)
		return PSM_EINVAL;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	w = psm_vfmt(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = w < 0 ? 0 : (size_t)w;
	if (n + 2 < sizeof(e->msg)) {
		size_t room = sizeof(e->msg) - n - 2;
		size_t len = psm_strnlen(old, room - 1);

		memcpy(e->msg + n, ": ", 2);
		memcpy(e->msg + n + 2, old, len);
		e->msg[n + 2 + len] = '\0';
	}
	return e->code;
}

void psm_err_clear(struct psm_err *e)
{
	if (e == NULL)
		return;
	e->code = PSM_OK;
	e->msg[0] = '\0';
}

int psm_exit_code(int code)
{
	switch (code) {
	case PSM_OK:
		return 0;
	case PSM_EINVAL:
	case PSM_ENOENT:
	case PSM_EEXIST:
		return 2;
	case PSM_EPERM:
		return 4;
	default:
		return 3;
	}
}
