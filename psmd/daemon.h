/* SPDX-License-Identifier: MIT */
/* daemon.h - psmd's parts and its configuration: config and policy, table builds, reload. */
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
struct fleet;
struct loop;

/* What a (re)load produces; replaced as a whole on a successful SIGHUP. */
struct daemon_conf {
	struct psmd_config cfg;
	struct policy *pol;
	gid_t table_gid;
};

/*
 * The daemon's parts, one of each.  Above this header: the ops (ops*.c), the admin socket
 * (control.c), the table watch, the reports (metrics.c) and psmd.c, which wires them.
 * Below it: the parts it holds (store, sweep, table, counters), which never see it; they
 * call back up only through the hooks psmd.c gives them (store_host, loop_hooks).
 */
struct psmd {
	const char *conf_path; /* -c FILE, else CONFIG_DEFAULT_PATH */
	bool conf_given;       /* -c given: a missing file is an error, not "defaults" */
	struct daemon_conf conf;
	int lock_fd; /* flock on state_dir/psmd.lock; -1 when not held */
	struct table table;
	struct loop *loop;  /* set before psmd_start: the admin socket joins it */
	struct store store; /* runtime grants and sessions, durable */
	struct sweep sweep; /* expiry and session kills */
	struct metrics metrics;
	struct control *ctl; /* the admin socket; NULL before psmd_start */
	struct fleet *fleet; /* fleet sync (fleet.h); NULL without redis in psmd.conf */
	int64_t started;     /* UTC seconds */
};

void daemon_init(struct psmd *d, const char *conf_path, bool conf_given);

/* -n: loads and checks config and policy (warnings on the log, errors with strict or
 * strict_policy), prints the two OK lines on stdout. */
int daemon_check(struct psmd *d, bool strict, struct psm_err *err);

/* The running config and policy (strict_policy as the config says), into d->conf. */
int daemon_load_running(struct psmd *d, struct psm_err *err);
void daemon_conf_free(struct daemon_conf *c);

/* Logs "WHAT /psm: N records, generation G (policy ...)" and tells systemd READY=1. */
void daemon_serving(struct psmd *d, const char *what);

/* SIGHUP (and the reload op): reload config and policy into a new table; on any error
 * keep serving the old one (and say why in err).  A policy warning is such an error
 * with strict (the reload op's "strict") or strict_policy. */
int daemon_reload(struct psmd *d, bool strict, struct psm_err *err);

/* Rebuilds the table from the running config, policy and state, at least min_capacity
 * records large (growth); the served table is kept on failure. */
int daemon_rebuild(struct psmd *d, uint64_t min_capacity, struct psm_err *err);

#endif
