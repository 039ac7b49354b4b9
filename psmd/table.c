/* SPDX-License-Identifier: MIT */
/* table.c - builds the table from policy + runtime state, grows it when full, publishes it. */
#include "table.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "table_guard.h"

/* Logs each policy_compile warning once, however many times a growing build repeats it. */
struct table_warn {
	unsigned seen;	 /* warnings in this attempt */
	unsigned logged; /* warnings logged over all attempts */
};

static void table_on_warn(void *ctx, const char *msg)
{
	struct table_warn *tw = ctx;

	if (++tw->seen > tw->logged) {
		log_msg(LOG_WARNING, "policy: %s", msg);
		tw->logged++;
	}
}

static int64_t table_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

/* Fills a fresh writer with everything the table holds, in one batch. */
static int table_fill(struct shm_writer *w, const struct table_src *src, struct table_warn *tw,
		      struct psm_err *err)
{
	struct policy_compile_opts o = {
	    .host_name = src->cfg->host_name,
	    .labels = (const char *const *)src->cfg->labels,
	    .now = table_now(),
	    .warn = table_on_warn,
	    .warn_ctx = tw,
	};
	struct policy_counts pc;
	int rc;

	tw->seen = 0;
	shm_writer_begin(w);
	rc = policy_compile(src->pol, w, &o, err);
	if (rc == PSM_OK && src->fill != NULL)
		rc = src->fill(src->fill_ctx, w, src, err);
	shm_writer_commit(w);
	if (rc != PSM_OK)
		return rc;
	policy_get_counts(src->pol, &pc);
	shm_writer_set_policy_counts(w, pc.roles, pc.bindings, pc.denies);
	shm_writer_heartbeat(w, o.now);
	return PSM_OK;
}

/* One attempt at capacity cap: a filled, unpublished writer in *out. */
static int table_try(const struct table_src *src, uint64_t cap, uint64_t gen, struct table_warn *tw,
		     struct shm_writer **out, struct psm_err *err)
{
	struct shm_writer_opts o = {
	    .name = src->cfg->shm_name,
	    .capacity = cap,
	    .group = src->group,
	    .host_name = src->cfg->host_name,
	    .generation = gen,
	};
	int rc = shm_writer_create(out, &o, err);

	if (rc != PSM_OK)
		return rc;
	rc = table_fill(*out, src, tw, err);
	if (rc != PSM_OK) {
		shm_writer_discard(*out);
		*out = NULL;
	}
	return rc;
}

/* Builds at the configured capacity, doubling it while the table comes out full. */
static int table_build(const struct table_src *src, uint64_t gen, uint64_t *cap,
		       struct shm_writer **out, struct psm_err *err)
{
	struct table_warn tw = {0, 0};
	uint64_t next;
	int rc;

	*cap = src->cfg->capacity > src->min_capacity ? src->cfg->capacity : src->min_capacity;
	if (*cap > CONFIG_CAPACITY_MAX)
		*cap = CONFIG_CAPACITY_MAX;
	for (;;) {
		rc = table_try(src, *cap, gen, &tw, out, err);
		if (rc != PSM_EFULL)
			return rc;
		if (*cap >= CONFIG_CAPACITY_MAX)
			return psm_err_prefix(err, "table full at its largest capacity %llu",
					      (unsigned long long)*cap);
		next = *cap * 2 < CONFIG_CAPACITY_MAX ? *cap * 2 : CONFIG_CAPACITY_MAX;
		log_msg(LOG_NOTICE, "table full at capacity %llu: growing it to %llu",
			(unsigned long long)*cap, (unsigned long long)next);
		*cap = next;
	}
}

int table_rebuild(struct table *t, const struct table_src *src, struct psm_err *err)
{
	struct shm_writer *w = NULL;
	uint64_t cap, gen = 0;
	int rc;

	/* The new table continues the served one's generation count (the writer's own copy:
	 * the served mapping may be damaged). */
	if (t->w != NULL)
		gen = shm_writer_generation(t->w);
	rc = table_build(src, gen, &cap, &w, err);
	if (rc != PSM_OK)
		return rc;
	rc = shm_writer_publish(w, err);
	if (rc != PSM_OK) {
		shm_writer_discard(w);
		return rc;
	}
	table_guard_set(shm_writer_view(w));
	if (t->w != NULL)
		shm_writer_close(t->w);
	t->w = w;
	t->capacity = cap;
	t->gid = src->group;
	t->builds++;
	return PSM_OK;
}

void table_heartbeat(struct table *t)
{
	if (t->w != NULL)
		shm_writer_heartbeat(t->w, table_now());
}

int table_verify(struct table *t, char *why, size_t n)
{
	bool shrunk = false;

	if (t->w == NULL)
		return 0;
	if (table_guard_tripped()) {
		snprintf(why, n, "shrank under a write: SIGBUS caught");
		return -1;
	}
	if (table_guard_verify(shm_writer_view(t->w), geteuid(), t->gid, why, n, &shrunk) == 0)
		return 0;
	if (shrunk)
		table_guard_orphan();
	return -1;
}

int table_info(const struct table *t, struct shm_info *out, struct psm_err *err)
{
	if (t->w == NULL)
		return psm_err_set(err, PSM_EUNAVAIL, "no table yet");
	return shm_info_get(shm_writer_view(t->w), out, err);
}

void table_close(struct table *t)
{
	table_guard_set(NULL);
	if (t->w != NULL)
		shm_writer_close(t->w);
	t->w = NULL;
}
