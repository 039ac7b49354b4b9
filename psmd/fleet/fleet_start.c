/* SPDX-License-Identifier: MIT */
/* fleet_start.c - fleet sync's start and stop: keys, files, threads; records handed to the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fleet_int.h"

static int fleet_keys_load(struct fleet *f, struct psm_err *err)
{
	int rc = keys_init(err);

	if (rc == PSM_OK && f->cfg.trusted_keys != NULL)
		rc = keys_trusted_load(f->cfg.trusted_keys, &f->trusted, err);
	if (rc == PSM_OK && f->cfg.signing_key != NULL)
		rc = keys_secret_load(f->cfg.signing_key, &f->sk, err);
	f->st.trusted_keys = f->trusted.n;
	f->st.signing = f->sk != NULL;
	return rc;
}

static int fleet_open_files(struct fleet *f, const char *state_dir, struct psm_err *err)
{
	f->dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0)
		return psm_err_set(err, PSM_ESYS, "%s: %s", state_dir, strerror(errno));
	f->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->evfd < 0)
		return psm_err_set(err, PSM_ESYS, "fleet: eventfd: %s", strerror(errno));
	f->pushed = fleet_pushed_load(f->dirfd);
	f->pushed_at_start = f->pushed;
	f->queued_max = f->pushed;
	fleet_pos_load(f->dirfd, f->replid, f->st.last_id);
	return PSM_OK;
}

static int fleet_init(struct fleet *f, const struct config_redis *r, const char *host_name,
		      struct psm_err *err)
{
	pthread_condattr_t ca;

	f->dirfd = f->evfd = -1;
	fleet_fifo_init(&f->in, sizeof(struct fleet_in));
	fleet_fifo_init(&f->out, sizeof(struct fleet_out));
	fleet_fifo_init(&f->own, sizeof(struct fleet_id));
	pthread_mutex_init(&f->mu, NULL);
	pthread_mutex_init(&f->log_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->wake_push, &ca);
	pthread_cond_init(&f->wake_read, &ca);
	pthread_condattr_destroy(&ca);
	f->host_name = strdup(host_name);
	if (f->host_name == NULL || fleet_conf_copy(&f->cfg, r) != PSM_OK)
		return psm_err_set(err, PSM_ENOMEM, "fleet: out of memory");
	return PSM_OK;
}

static int fleet_threads(struct fleet *f, struct psm_err *err)
{
	int e = pthread_create(&f->push_th, NULL, fleet_push_main, f);

	f->push_started = e == 0;
	if (e == 0) {
		e = pthread_create(&f->read_th, NULL, fleet_read_main, f);
		f->read_started = e == 0;
	}
	if (e != 0)
		return psm_err_set(err, PSM_ESYS, "fleet: threads: %s", strerror(e));
	return PSM_OK;
}

int fleet_start(struct fleet **out, const struct config_redis *r, const char *host_name,
		const char *state_dir, fleet_log_fn log, struct psm_err *err)
{
	struct fleet *f = calloc(1, sizeof(*f));
	int rc;

	*out = NULL;
	if (f == NULL)
		return psm_err_set(err, PSM_ENOMEM, "fleet: out of memory");
	f->log = log;
	rc = fleet_init(f, r, host_name, err);
	if (rc == PSM_OK)
		rc = fleet_keys_load(f, err);
	if (rc == PSM_OK)
		rc = fleet_open_files(f, state_dir, err);
	if (rc == PSM_OK)
		rc = fleet_threads(f, err);
	if (rc != PSM_OK) {
		fleet_stop(f);
		return rc;
	}
	*out = f;
	return PSM_OK;
}

static void fleet_drain(struct fleet *f)
{
	for (size_t i = 0; i < f->in.n; i++)
		record_free(&((struct fleet_in *)fleet_fifo_at(&f->in, i))->rec);
	for (size_t i = 0; i < f->out.n; i++)
		fleet_out_free(fleet_fifo_at(&f->out, i));
	fleet_fifo_free(&f->in);
	fleet_fifo_free(&f->out);
	fleet_fifo_free(&f->own);
}

void fleet_stop(struct fleet *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stopping = true;
	pthread_cond_broadcast(&f->wake_push);
	pthread_cond_broadcast(&f->wake_read);
	pthread_mutex_unlock(&f->mu);
	if (f->push_started)
		pthread_join(f->push_th, NULL);
	if (f->read_started)
		pthread_join(f->read_th, NULL);
	fleet_drain(f);
	keys_trusted_free(&f->trusted);
	keys_secret_free(f->sk);
	fleet_conf_free(&f->cfg);
	if (f->dirfd >= 0)
		close(f->dirfd);
	if (f->evfd >= 0)
		close(f->evfd);
	pthread_cond_destroy(&f->wake_push);
	pthread_cond_destroy(&f->wake_read);
	pthread_mutex_destroy(&f->mu);
	pthread_mutex_destroy(&f->log_mu);
	free(f->host_name);
	free(f);
}

int fleet_fd(const struct fleet *f)
{
	return f->evfd;
}

/* The waiting log lines, written by the daemon's thread after unlocking. */
static size_t fleet_take_logs(struct fleet *f, struct fleet_log *v, size_t *lost)
{
	size_t n;

	pthread_mutex_lock(&f->log_mu);
	n = f->nlogs;
	memcpy(v, f->logs, n * sizeof(*v));
	*lost = f->logs_lost;
	f->nlogs = f->logs_lost = 0;
	pthread_mutex_unlock(&f->log_mu);
	return n;
}

size_t fleet_take(struct fleet *f, struct fleet_in *v, size_t max)
{
	static struct fleet_log logs[FLEET_LOG_MAX]; /* the daemon's thread only */
	uint64_t count;
	size_t n, nlogs, lost;

	if (read(f->evfd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		count = 0; /* nothing to reset */
	nlogs = fleet_take_logs(f, logs, &lost);
	pthread_mutex_lock(&f->mu);
	for (n = 0; n < max && f->in.n > 0; n++) {
		memcpy(&v[n], fleet_fifo_at(&f->in, 0), sizeof(*v));
		fleet_fifo_pop(&f->in, 1);
		if (f->taken_ms == 0 && v[n].feed_ms > 0)
			f->taken_ms = v[n].feed_ms;
	}
	if (f->in.n > 0)
		fleet_wake_daemon(f); /* more: the loop comes back */
	if (n > 0)
		pthread_cond_signal(&f->wake_read);
	pthread_mutex_unlock(&f->mu);
	for (size_t i = 0; i < nlogs && f->log != NULL; i++)
		f->log(logs[i].prio, logs[i].line);
	if (lost > 0 && f->log != NULL)
		f->log(LOG_WARNING, "fleet: log lines dropped (too many at once)");
	return n;
}
