/* SPDX-License-Identifier: MIT */
/* table_watch.c - psmd checks its live table before and after each batch and each second,
 * and republishes it from state when it was damaged or removed. */
#include "table_watch.h"

#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

/* A damaged table is rebuilt from config, policy and state, as at start. */
static void table_watch_republish(struct psmd *d)
{
	struct table_watch *w = &d->table.watch;
	const char *name = d->conf.cfg.shm_name;
	struct psm_err err = {0};

	/* a reload or a growth may have published a fresh table since */
	if (d->table.builds == w->builds && daemon_rebuild(d, d->table.capacity, &err) != PSM_OK) {
		if (strcmp(err.msg, w->err) != 0)
			log_msg(LOG_ERR, "table %s damaged (%s): not republished: %s", name, w->why,
				err.msg);
		snprintf(w->err, sizeof(w->err), "%s", err.msg);
		return;
	}
	w->damaged = false;
	w->err[0] = '\0';
	w->republished++;
	log_msg(LOG_NOTICE, "table %s damaged (%s): republished, generation %llu", name, w->why,
		(unsigned long long)shm_writer_generation(d->table.w));
}

void table_watch_check(struct psmd *d, bool retry)
{
	struct table_watch *w = &d->table.watch;
	char why[sizeof(w->why)];

	if (w->damaged) {
		if (retry)
			table_watch_republish(d);
		return;
	}
	if (table_verify(&d->table, why, sizeof(why)) == 0)
		return;
	w->damaged = true;
	w->builds = d->table.builds;
	memcpy(w->why, why, sizeof(w->why));
	log_msg(LOG_WARNING, "table %s damaged (%s): republishing it from state",
		d->conf.cfg.shm_name, why);
	table_watch_republish(d);
}
