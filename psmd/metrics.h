/* SPDX-License-Identifier: MIT */
/* metrics.h - psmd's figures: stats and health replies, Prometheus text, the metrics_file. */
#ifndef PSMD_METRICS_H
#define PSMD_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "metrics_count.h"
#include "psm_err.h"

struct psmd;

#define METRICS_FILE_PERIOD 15	/* seconds between metrics_file writes */
#define METRICS_HEARTBEAT_MAX 5 /* seconds: older is unhealthy */
#define METRICS_FILL_MAX 0.9	/* table fill: fuller is unhealthy */

/* The figures of the stats reply, added to out. */
int metrics_stats(struct psmd *d, cJSON *out, struct psm_err *err);
/* healthy and checks [{name, ok, detail}] added to out; *healthy says the verdict. */
int metrics_health(struct psmd *d, cJSON *out, bool *healthy, struct psm_err *err);
/* Prometheus text exposition (malloc'd), NULL when out of memory. */
char *metrics_text(struct psmd *d);

/* ---- shared by the figures' files (metrics.c, metrics_fleet.c) ---------------------- */

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

/* Once a second: writes metrics_file (tmp, fsync, rename) every METRICS_FILE_PERIOD s. */
void metrics_tick(struct psmd *d, int64_t now);

#endif
