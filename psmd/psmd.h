/* SPDX-License-Identifier: MIT */
/* psmd.h - psmd's life: start (lock, store, table, admin socket), serve in the loop, stop. */
#ifndef PSMD_PSMD_H
#define PSMD_PSMD_H

#include "daemon.h"
#include "psm_err.h"

struct loop;

/*
 * The top of the daemon: the only file that wires the parts together.  It calls down
 * into daemon.c (config, policy, table builds, reload), the store, the sweeper, the
 * admin socket (control.c), the table watch and the figures, and gives the loop
 * (loop_run) and the store (store_open) the hooks through which they call back up.
 */

/* Loads, takes the state_dir lock, builds and publishes the table, tells systemd READY=1.
 * Another psmd holding the lock is PSM_EUNAVAIL.  Policy warnings are logged; with
 * strict_policy they are errors here too (PSM_EINVAL: a restart never applies a policy
 * that a reload would refuse).  The admin socket joins d->loop when it is set. */
int psmd_start(struct psmd *d, struct psm_err *err);

/* Serves in l until SIGTERM or SIGINT: each second the heartbeat, expiry, snapshots and
 * metrics_file; around each iteration's input the table check, then the group commit and
 * its replies; on SIGHUP a reload (daemon_reload). */
int psmd_run(struct psmd *d, struct loop *l, struct psm_err *err);

/* SIGTERM/SIGINT: STOPPING=1, release everything, leave the table for readers. */
void psmd_stop(struct psmd *d);

#endif
