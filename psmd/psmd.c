/* SPDX-License-Identifier: MIT */
/* psmd.c - psmd's life: start (lock, store, table, admin socket), serve in the loop, stop. */
#include "psmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "notify.h"
#include "sync.h"
#include "table_guard.h"
#include "table_watch.h"

/* Says who holds the lock, from the pid it wrote into the file. */
static int psmd_lock_busy(int fd, const char *path, struct psm_err *err)
{
	char buf[32] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid = n > 0 ? strtol(buf, NULL, 10) : 0;

	return psm_err_set(err, PSM_EUNAVAIL, "another psmd holds %s (pid %ld)", path, pid);
}

/* Creates state_dir (0700) if missing and takes an exclusive flock on state_dir/psmd.lock. */
static int psmd_lock(struct psmd *d, struct psm_err *err)
{
	const char *dir = d->conf.cfg.state_dir;
	char path[PATH_MAX];
	int fd;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return psm_err_set(err, PSM_ESYS, "state_dir %s: %s", dir, strerror(errno));
	if ((size_t)snprintf(path, sizeof(path), "%s/psmd.lock", dir) >= sizeof(path))
		return psm_err_set(err, PSM_EINVAL, "state_dir %s: path too long", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return psm_err_set(err, PSM_ESYS, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int rc = errno == EWOULDBLOCK
			     ? psmd_lock_busy(fd, path, err)
			     : psm_err_set(err, PSM_ESYS, "%s: flock: %s", path, strerror(errno));

		close(fd);
		return rc;
	}
	if (ftruncate(fd, 0) != 0 || dprintf(fd, "%ld\n", (long)getpid()) < 0) {
		close(fd);
		return psm_err_set(err, PSM_ESYS, "%s: %s", path, strerror(errno));
	}
	d->lock_fd = fd;
	return PSM_OK;
}

static int psmd_store_rebuild(void *ctx, uint64_t min_capacity, struct psm_err *err)
{
	return daemon_rebuild(ctx, min_capacity, err);
}

static void psmd_store_check(void *ctx)
{
	table_watch_check(ctx, false);
}

/* The store's view of the daemon: the parts it works with and its two hooks up. */
static int psmd_store_open(struct psmd *d, struct psm_err *err)
{
	struct store_host host = {
	    .table = &d->table,
	    .cfg = &d->conf.cfg,
	    .sweep = &d->sweep,
	    .rebuild = psmd_store_rebuild,
	    .check = psmd_store_check,
	    .committed = sync_committed,
	    .ctx = d,
	};

	return store_open(&d->store, &host, d->started, err);
}

int psmd_start(struct psmd *d, struct psm_err *err)
{
	int rc = daemon_load_running(d, err);

	if (rc != PSM_OK)
		return rc;
	d->started = (int64_t)time(NULL);
	rc = table_guard_install(err);
	if (rc == PSM_OK)
		rc = psmd_lock(d, err);
	if (rc == PSM_OK)
		rc = psmd_store_open(d, err);
	if (rc == PSM_OK)
		rc = daemon_rebuild(d, d->table.capacity, err);
	if (rc == PSM_OK && d->loop != NULL)
		rc = control_open(&d->ctl, d, d->loop, err);
	if (rc == PSM_OK)
		rc = sync_start(d, err);
	if (rc != PSM_OK) {
		psmd_stop(d);
		return rc;
	}
	daemon_serving(d, "serving");
	return PSM_OK;
}

static void psmd_tick(void *ctx)
{
	struct psmd *d = ctx;
	int64_t now = (int64_t)time(NULL);

	table_watch_check(d, true);
	table_heartbeat(&d->table);
	store_sweep_tick(&d->store, now);
	sweep_escalate(&d->sweep, now);
	store_tick(&d->store);
	metrics_tick(d, now);
	control_tick(d->ctl, now);
	sync_tick(d);
}

static void psmd_before_io(void *ctx)
{
	struct psmd *d = ctx;

	table_watch_check(d, false); /* the batch writes into a table checked just now */
}

static void psmd_after_io(void *ctx)
{
	struct psmd *d = ctx;

	table_watch_check(d, false); /* damage met by the batch is mended before its replies */
	log_flush();		     /* the audit lines before their replies */
	control_flush(d->ctl);
	sync_flush(d); /* records from the fleet: committed, then their position saved */
}

static void psmd_reload(void *ctx)
{
	daemon_reload(ctx, false, NULL);
}

int psmd_run(struct psmd *d, struct loop *l, struct psm_err *err)
{
	const struct loop_hooks hooks = {
	    .tick = psmd_tick,
	    .before_io = psmd_before_io,
	    .after_io = psmd_after_io,
	    .reload = psmd_reload,
	    .ctx = d,
	};

	return loop_run(l, &hooks, err);
}

void psmd_stop(struct psmd *d)
{
	notify_send("STOPPING=1");
	control_close(d->ctl);
	d->ctl = NULL;
	sync_stop(d); /* the fleet's last records committed before the store closes */
	store_close(&d->store, true);
	sweep_free(&d->sweep);
	table_close(&d->table);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	d->lock_fd = -1;
	daemon_conf_free(&d->conf);
}
