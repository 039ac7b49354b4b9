/* SPDX-License-Identifier: MIT */
/* metrics_out.c - how the figures are written: health checks, and the Prometheus text buffer. */
#include "metrics_out.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int metrics_check(cJSON *arr, const char *name, bool ok, bool *healthy, const char *fmt, ...)
{
	cJSON *o = cJSON_CreateObject();
	char detail[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	*healthy = *healthy && ok;
	if (o == NULL || !cJSON_AddStringToObject(o, "name", name) ||
	    !cJSON_AddBoolToObject(o, "ok", ok) || !cJSON_AddStringToObject(o, "detail", detail) ||
	    !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return PSM_ENOMEM;
	}
	return PSM_OK;
}

void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (int tries = 0; tries < 2 && !b->oom; tries++) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)(n > 0 ? n : 0) + 1) * 2;
		char *p = realloc(b->p, cap);

		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

void metrics_head(struct metrics_buf *b, const char *name, const char *type, const char *help)
{
	metrics_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}
