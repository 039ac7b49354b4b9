/* SPDX-License-Identifier: MIT */
/* psm_err.c - set, prefix and map psm error codes. */
#include "psm_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "psm_str.h"

int psm_err_set(struct psm_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
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
	w = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
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
