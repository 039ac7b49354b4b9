/* SPDX-License-Identifier: MIT */
/* metrics_out.h - how the figures are written, shared by metrics.c and metrics_fleet.c. */
#ifndef PSMD_METRICS_OUT_H
#define PSMD_METRICS_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "psm_err.h"

/* One health check {name, ok, detail} appended to arr; *healthy becomes false when !ok.
 * PSM_ENOMEM when out of memory. */
int metrics_check(cJSON *arr, const char *name, bool ok, bool *healthy, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The Prometheus text being built; oom once a growth failed (then the text is dropped). */
struct metrics_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "# HELP name help" and "# TYPE name type". */
void metrics_head(struct metrics_buf *b, const char *name, const char *type, const char *help);

#endif
