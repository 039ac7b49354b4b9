/* SPDX-License-Identifier: MIT */
/* daemon.c - psmd's configuration: load and check config and policy, build the table, reload. */
#include "daemon.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fleet_check.h"
#include "log.h"
#include "notify.h"
#include "nss.h"
#include "plural.h"

void daemon_init(struct psmd *d, const char *conf_path, bool conf_given)
{
	memset(d, 0, sizeof(*d));
	d->conf_path = conf_path != NULL ? conf_path : CONFIG_DEFAULT_PATH;
	d->conf_given = conf_given;
	d->lock_fd = -1;
}

void daemon_conf_free(struct daemon_conf *c)
{
	config_free(&c->cfg);
	if (c->pol != NULL)
		policy_free(c->pol);
	c->pol = NULL;
}

static const char *daemon_conf_name(const struct psmd_config *cfg)
{
	return cfg->file != NULL ? cfg->file : "built-in defaults";
}

/* The config file; without -c, a missing default file means the built-in defaults. */
static int daemon_load_config(const struct psmd *d, struct psmd_config *cfg, struct psm_err *err)
{
	int rc = config_load(d->conf_path, cfg, err);

	if (rc != PSM_ENOENT || d->conf_given)
		return rc;
	log_msg(LOG_NOTICE, "%s not found: using the built-in defaults", d->conf_path);
	return config_defaults(cfg, err);
}

/* table_group -> gid; an unknown group is a configuration error. */
static int daemon_group(const struct psmd_config *cfg, gid_t *gid, struct psm_err *err)
{
	struct nss_id g;
	int found = nss_group(cfg->table_group, &g, err);

	if (found < 0) {
		psm_err_prefix(err, "table_group");
		return -found;
	}
	if (found == 0)
		return psm_err_set(err, PSM_EINVAL, "%s: table_group \"%s\": no such group",
				   daemon_conf_name(cfg), cfg->table_group);
	*gid = g.gid;
	return PSM_OK;
}

/* How policy warnings count: as errors when strict_policy says so, or always (--strict). */
enum daemon_strict { DAEMON_STRICT_CONF, DAEMON_STRICT_ALWAYS };

/* Logs each policy warning; when they count as errors, a warning refuses the policy. */
static int daemon_policy_warnings(const struct daemon_conf *c, enum daemon_strict strict,
				  struct psm_err *err)
{
	struct policy_compile_opts o = {
	    .host_name = c->cfg.host_name,
	    .labels = (const char *const *)c->cfg.labels,
	};
	const char *why = strict == DAEMON_STRICT_ALWAYS ? "strict" : "strict_policy";
	struct policy_counts pc;
	unsigned i;
	int rc = policy_check_nss(c->pol, &o, err);

	if (rc != PSM_OK)
		return rc;
	policy_get_counts(c->pol, &pc);
	for (i = 0; i < pc.warnings; i++)
		log_msg(LOG_WARNING, "%s", policy_warning(c->pol, i));
	if (pc.warnings == 0 || (strict == DAEMON_STRICT_CONF && !c->cfg.strict_policy))
		return PSM_OK;
	if (pc.warnings == 1)
		return psm_err_set(err, PSM_EINVAL, "%s (%s: warnings are errors)",
				   policy_warning(c->pol, 0), why);
	return psm_err_set(err, PSM_EINVAL, "%s (and %u more; %s: warnings are errors)",
			   policy_warning(c->pol, 0), pc.warnings - 1, why);
}

/* Config, then the policy it names and its warnings, then the table group. */
static int daemon_load(const struct psmd *d, struct daemon_conf *c, enum daemon_strict strict,
		       struct psm_err *err)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = daemon_load_config(d, &c->cfg, err);
	if (rc != PSM_OK)
		return rc;
	rc = policy_load(c->cfg.policy, &c->pol, err);
	if (rc == PSM_OK)
		rc = daemon_policy_warnings(c, strict, err);
	if (rc == PSM_OK)
		rc = daemon_group(&c->cfg, &c->table_gid, err);
	if (rc == PSM_OK && fleet_check_files(&c->cfg.redis, err) != PSM_OK)
		rc = psm_err_prefix(err, "%s", daemon_conf_name(&c->cfg));
	if (rc != PSM_OK)
		daemon_conf_free(c);
	return rc;
}

static void daemon_policy_text(const struct daemon_conf *c, char *buf, size_t n)
{
	struct policy_counts pc;

	policy_get_counts(c->pol, &pc);
	policy_counts_text(&pc, buf, n);
}

int daemon_check(struct psmd *d, bool strict, struct psm_err *err)
{
	char counts[128];
	int rc = daemon_load(d, &d->conf, strict ? DAEMON_STRICT_ALWAYS : DAEMON_STRICT_CONF, err);

	if (rc != PSM_OK)
		return rc;
	daemon_policy_text(&d->conf, counts, sizeof(counts));
	printf("policy OK: %s\n", counts);
	printf("configuration OK\n");
	daemon_conf_free(&d->conf);
	return fflush(stdout) == 0 ? PSM_OK
				   : psm_err_set(err, PSM_ESYS, "stdout: %s", strerror(errno));
}

/* The table from policy c and the runtime state, at least min_capacity records large. */
static int daemon_build_at(struct psmd *d, const struct daemon_conf *c, uint64_t min_capacity,
			   struct psm_err *err)
{
	struct table_src src = {
	    .cfg = &c->cfg,
	    .pol = c->pol,
	    .group = c->table_gid,
	    .min_capacity = min_capacity,
	    .fill = store_fill,
	    .fill_ctx = &d->store,
	};
	int rc = table_rebuild(&d->table, &src, err);

	store_units_done(&d->store, rc == PSM_OK);
	return rc;
}

/* A (re)build keeps the size the table grew to. */
static int daemon_build(struct psmd *d, const struct daemon_conf *c, struct psm_err *err)
{
	return daemon_build_at(d, c, d->table.capacity, err);
}

int daemon_load_running(struct psmd *d, struct psm_err *err)
{
	return daemon_load(d, &d->conf, DAEMON_STRICT_CONF, err);
}

int daemon_rebuild(struct psmd *d, uint64_t min_capacity, struct psm_err *err)
{
	return daemon_build_at(d, &d->conf, min_capacity, err);
}

/* Logs "WHAT /psm: N records, generation G (policy ...)" and tells systemd READY=1. */
void daemon_serving(struct psmd *d, const char *what)
{
	struct shm_info info = {0};
	struct psm_err err = {0};
	char counts[128];

	if (table_info(&d->table, &info, &err) != PSM_OK)
		log_msg(LOG_WARNING, "table header: %s", err.msg);
	daemon_policy_text(&d->conf, counts, sizeof(counts));
	log_msg(LOG_INFO, "%s %s: %llu %s, generation %llu (policy %s: %s)", what,
		d->conf.cfg.shm_name, (unsigned long long)info.records,
		plural(info.records, "record", "records"), (unsigned long long)info.generation,
		d->conf.cfg.policy, counts);
	if (notify_send("READY=1\nSTATUS=serving %llu %s\nMAINPID=%ld",
			(unsigned long long)info.records, plural(info.records, "record", "records"),
			(long)getpid()) != 0)
		log_msg(LOG_WARNING, "NOTIFY_SOCKET: %s", strerror(errno));
}

/* Keys only a restart can change: running value in *cur, reloaded value in *next. */
struct daemon_fixed {
	const char *key;
	char **cur, **next;
};

#define DAEMON_NFIXED 3

static void daemon_fixed_keys(struct psmd_config *cur, struct psmd_config *next,
			      struct daemon_fixed k[DAEMON_NFIXED])
{
	k[0] = (struct daemon_fixed){"shm_name", &cur->shm_name, &next->shm_name};
	k[1] = (struct daemon_fixed){"state_dir", &cur->state_dir, &next->state_dir};
	k[2] = (struct daemon_fixed){"socket", &cur->socket, &next->socket};
}

/* Logs each changed restart-only key, then swaps: next keeps the running values. */
static void daemon_keep_fixed(struct psmd_config *cur, struct psmd_config *next, bool quiet)
{
	struct daemon_fixed k[DAEMON_NFIXED];

	daemon_fixed_keys(cur, next, k);
	for (size_t i = 0; i < DAEMON_NFIXED; i++) {
		char *tmp = *k[i].next;

		if (!quiet && strcmp(*k[i].cur, tmp) != 0)
			log_msg(LOG_WARNING, "%s: %s \"%s\" needs a restart: keeping \"%s\"",
				daemon_conf_name(next), k[i].key, tmp, *k[i].cur);
		*k[i].next = *k[i].cur;
		*k[i].cur = tmp;
	}
}

/* Loads and builds the new table from next; on failure everything running is as before. */
static int daemon_reload_into(struct psmd *d, struct daemon_conf *next, bool strict,
			      struct psm_err *err)
{
	int rc = daemon_load(d, next, strict ? DAEMON_STRICT_ALWAYS : DAEMON_STRICT_CONF, err);

	if (rc != PSM_OK)
		return rc;
	daemon_keep_fixed(&d->conf.cfg, &next->cfg, false);
	rc = daemon_build(d, next, err);
	if (rc != PSM_OK) {
		daemon_keep_fixed(&d->conf.cfg, &next->cfg, true); /* swap back */
		daemon_conf_free(next);
	}
	return rc;
}

static uint64_t daemon_monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int daemon_reload(struct psmd *d, bool strict, struct psm_err *err)
{
	struct daemon_conf next;
	struct psm_err e = {0};
	int rc;

	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
		    (unsigned long long)daemon_monotonic_usec());
	log_msg(LOG_INFO, "reloading %s", d->conf_path);
	rc = daemon_reload_into(d, &next, strict, &e);
	if (rc != PSM_OK) {
		log_msg(LOG_ERR, "reload failed, still serving the old table: %s", e.msg);
		notify_send("READY=1\nSTATUS=reload failed: %s", e.msg);
		if (err != NULL)
			*err = e;
		return rc;
	}
	daemon_conf_free(&d->conf);
	d->conf = next;
	daemon_serving(d, "reloaded:");
	return PSM_OK;
}
