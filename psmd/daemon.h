/* SPDX-License-Identifier: MIT */
/* daemon.h - psmd's life: load config and policy, lock state_dir, serve, reload, stop. */
#ifndef PSMD_DAEMON_H
#define PSMD_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "metrics_count.h"
#include "policy.h"
#include "psm_err.h"
#include "store.h"
#include "sweep.h"
#include "table.h"

#define PSMD_VERSION "0.1.0"

struct control;
struct loop;

/* What a (re)load produces; replaced as a whole on a successful SIGHUP. */
struct daemon_conf {
	struct psmd_config cfg;
	struct policy *pol;
	gid_t table_gid;
};

struct psmd {
	const char *conf_path; /* -c FILE, else CONFIG_DEFAULT_PATH */
	bool conf_given;       /* -c given: a missing file is an error, not "defaults" */
	struct daemon_conf conf;
	int lock_fd; /* flock on state_dir/psmd.lock; -1 when not held */
	struct table table;
	struct loop *loop;	/* set before daemon_start: the admin socket joins it */
	struct store store;	/* runtime grants and sessions, durable */
	struct sweep sweep;	/* expiry and session kills */
	struct metrics metrics;
	struct control *ctl;	/* the admin socket; NULL before daemon_start */
	int64_t started;	/* UTC seconds */
};

void daemon_init(struct psmd *d, const char *conf_path, bool conf_given);

/* -n: loads and checks config and policy (warnings on the log, errors with strict or
 * strict_policy), prints the two OK lines on stdout. */
int daemon_check(struct psmd *d, bool strict, struct psm_err *err);

/* Loads, takes the state_dir lock, builds and publishes the table, tells systemd READY=1.
 * Another psmd holding the lock is PSM_EUNAVAIL.  Policy warnings are logged; with
 * strict_policy they are errors here too (PSM_EINVAL: a restart never applies a policy
 * that a reload would refuse). */
int daemon_start(struct psmd *d, struct psm_err *err);

/* Once a second: the heartbeat, expiry, snapshots, metrics_file. */
void daemon_tick(struct psmd *d);

/* Before the loop handles an iteration's input: the table is checked (table_watch.c). */
void daemon_before_io(struct psmd *d);

/* After the loop handled an iteration's input: group commit, then the replies. */
void daemon_after_io(struct psmd *d);

/* SIGHUP (and the reload op): reload config and policy into a new table; on any error
 * keep serving the old one (and say why in err).  A policy warning is such an error
 * with strict (the reload op's "strict") or strict_policy. */
int daemon_reload(struct psmd *d, bool strict, struct psm_err *err);

/* Rebuilds the table from the running config, policy and state, at least min_capacity
 * records large (growth); the served table is kept on failure. */
int daemon_rebuild(struct psmd *d, uint64_t min_capacity, struct psm_err *err);

/* SIGTERM/SIGINT: STOPPING=1, release everything, leave the table for readers. */
void daemon_stop(struct psmd *d);

#endif
