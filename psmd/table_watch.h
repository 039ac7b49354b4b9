/* SPDX-License-Identifier: MIT */
/* table_watch.h - psmd checks its live table and republishes it when damaged or removed. */
#ifndef PSMD_TABLE_WATCH_H
#define PSMD_TABLE_WATCH_H

#include <stdbool.h>

struct psmd;

/*
 * Verifies the served table (table_verify); when it is damaged, logs why,
 * marks it (health: degraded) and republishes it from state at once
 * (counted in d->table.watch.republished).  A table already marked damaged
 * is only retried when retry is set (once a second: a rebuild is not cheap).
 */
void table_watch_check(struct psmd *d, bool retry);

#endif
