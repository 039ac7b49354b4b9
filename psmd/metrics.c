/* SPDX-License-Identifier: MIT */
/* metrics.c - psmd's figures: stats and health replies, Prometheus text, the metrics_file. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "metrics_fleet.h"
#include "metrics_out.h"
#include "ops_reply.h"
#include "plural.h"

static const char *metrics_op_name(size_t i)
{
	return i < PROTO_OP_COUNT ? proto_op_get((enum proto_op_id)i)->name : "unknown";
}

/* What the figures are made of, read once. */
struct metrics_now {
	struct shm_info info;
	bool table_ok;
	double fill;
	struct state_counts sc;
	struct journal_info ji;
	uint64_t by_source[4]; /* index: enum record_source; [0] unused */
	int64_t now;
};

static int metrics_count_source(const struct shm_entry *e, void *ctx)
{
	uint64_t *by = ctx;

	if (e->flags & SHM_FL_SRC_POLICY)
		by[REC_SRC_POLICY]++;
	else if (e->flags & SHM_FL_SRC_FLEET)
		by[REC_SRC_FLEET]++;
	else
		by[REC_SRC_ADMIN]++;
	return 0;
}

static void metrics_gather(struct psmd *d, struct metrics_now *n)
{
	memset(n, 0, sizeof(*n));
	n->now = (int64_t)time(NULL);
	n->table_ok = table_info(&d->table, &n->info, NULL) == PSM_OK;
	if (n->table_ok) {
		n->fill = shm_writer_fill(d->table.w);
		shm_scan(shm_writer_view(d->table.w), SHM_GRANT, metrics_count_source,
			 n->by_source);
	}
	if (d->store.st != NULL)
		state_counts(d->store.st, &n->sc);
	if (d->store.j != NULL)
		journal_info(d->store.j, &n->ji);
}

static cJSON *metrics_ops_object(const uint64_t *v)
{
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; o != NULL && i <= PROTO_OP_COUNT; i++)
		if (v[i] != 0 && !cJSON_AddNumberToObject(o, metrics_op_name(i), (double)v[i])) {
			cJSON_Delete(o);
			return NULL;
		}
	return o;
}

static cJSON *metrics_grants_object(const struct metrics_now *n)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL ||
	    !cJSON_AddNumberToObject(o, "policy", (double)n->by_source[REC_SRC_POLICY]) ||
	    !cJSON_AddNumberToObject(o, "admin", (double)n->by_source[REC_SRC_ADMIN]) ||
	    !cJSON_AddNumberToObject(o, "fleet", (double)n->by_source[REC_SRC_FLEET]) ||
	    !cJSON_AddNumberToObject(o, "held", (double)n->sc.grants)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *metrics_journal_object(const struct metrics *m, const struct metrics_now *n)
{
	cJSON *o = cJSON_CreateObject();
	double avg = m->fsyncs ? (double)m->fsync_sum_ns / (double)m->fsyncs / 1e3 : 0;

	if (o == NULL || !cJSON_AddNumberToObject(o, "segment", n->ji.segment) ||
	    !cJSON_AddNumberToObject(o, "bytes", (double)n->ji.segment_bytes) ||
	    !cJSON_AddNumberToObject(o, "records_since_snapshot",
				     (double)n->ji.records_since_snapshot) ||
	    !cJSON_AddNumberToObject(o, "commits", (double)n->ji.commits) ||
	    !cJSON_AddNumberToObject(o, "records", (double)n->ji.records) ||
	    !cJSON_AddNumberToObject(o, "fsync_avg_us", avg) ||
	    !cJSON_AddNumberToObject(o, "fsync_max_us", (double)m->fsync_max_ns / 1e3) ||
	    !cJSON_AddBoolToObject(o, "broken", n->ji.broken)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int metrics_stats(struct psmd *d, cJSON *out, struct psm_err *err)
{
	struct metrics_now n;
	cJSON *ok;

	metrics_gather(d, &n);
	ok = cJSON_AddNumberToObject(out, "records", (double)n.info.records);
	if (ok != NULL)
		ok = cJSON_AddNumberToObject(out, "capacity", (double)n.info.capacity);
	if (ok != NULL)
		ok = cJSON_AddNumberToObject(out, "fill", (double)(int)(n.fill * 1000) / 1000);
	if (ok != NULL)
		ok = cJSON_AddNumberToObject(out, "table_bytes", (double)n.info.total_size);
	if (ok != NULL)
		ok = cJSON_AddNumberToObject(out, "arena_used", (double)n.info.arena_used);
	if (ok != NULL)
		ok = cJSON_AddNumberToObject(out, "sessions", (double)n.sc.sessions);
	if (ok != NULL)
		ok = cJSON_AddNumberToObject(out, "tombstones",
					     (double)(n.sc.revokes + n.sc.session_ends));
	if (ok != NULL)
		ok = cJSON_AddNumberToObject(out, "generation", (double)n.info.generation);
	if (ok != NULL)
		ok = cJSON_AddNumberToObject(out, "uptime", (double)(n.now - d->started));
	if (ok != NULL)
		ok = cJSON_AddNumberToObject(out, "swept", (double)d->sweep.removed);
	if (ok == NULL || ops_add(out, "grants", metrics_grants_object(&n), err) != PSM_OK ||
	    ops_add(out, "requests", metrics_ops_object(d->metrics.requests), err) != PSM_OK ||
	    ops_add(out, "errors", metrics_ops_object(d->metrics.errors), err) != PSM_OK ||
	    ops_add(out, "journal", metrics_journal_object(&d->metrics, &n), err) != PSM_OK)
		return psm_err_set(err, PSM_ENOMEM, "stats: out of memory");
	return PSM_OK;
}

/* The served table against what is at its name (table_watch.c). */
static int metrics_check_table_file(const struct psmd *d, cJSON *arr, bool *healthy)
{
	const struct table_watch *w = &d->table.watch;

	if (w->damaged)
		return metrics_check(
		    arr, "table_file", false, healthy, "damaged (%s); %s%s", w->why,
		    w->err[0] != '\0' ? "not republished: " : "republishing", w->err);
	return metrics_check(arr, "table_file", true, healthy, "intact, republished %llu %s",
			     (unsigned long long)w->republished,
			     plural(w->republished, "time", "times"));
}

/* The journal takes writes: degraded while its last commit failed, until one works. */
static int metrics_check_journal(const struct psmd *d, const struct journal_info *ji, cJSON *arr,
				 bool *healthy)
{
	if (ji->failing || ji->broken)
		return metrics_check(
		    arr, "journal", false, healthy,
		    "last commit failed: %s%s; each change is tried again, healthy "
		    "once one is on disk",
		    ji->why, ji->broken ? " (not cut back yet)" : "");
	return metrics_check(arr, "journal", d->store.j != NULL, healthy,
			     "writable, segment %u, %llu bytes", ji->segment,
			     (unsigned long long)ji->segment_bytes);
}

/* Journal damage found on load: degraded until psmctl recover --accept|--drop. */
static int metrics_recovery(struct psmd *d, cJSON *arr, bool *healthy)
{
	const struct journal_recovery *r = d->store.j != NULL ? journal_recovery(d->store.j) : NULL;

	if (r == NULL || (r->ndamage == 0 && r->ngrants == 0))
		return metrics_check(arr, "recovery", true, healthy, "no journal damage");
	return metrics_check(arr, "recovery", false, healthy,
			     "%zu %s in quarantine, %zu damaged journal %s (%.120s); "
			     "decide with psmctl recover --accept|--drop",
			     r->ngrants, plural(r->ngrants, "grant", "grants"), r->ndamage,
			     plural(r->ndamage, "region", "regions"),
			     r->ndamage > 0 ? r->damage[0] : "-");
}

int metrics_health(struct psmd *d, cJSON *out, bool *healthy, struct psm_err *err)
{
	struct metrics_now n;
	cJSON *arr = cJSON_AddArrayToObject(out, "checks");
	int64_t age;
	int rc;

	metrics_gather(d, &n);
	age = n.now - n.info.heartbeat;
	*healthy = true;
	if (arr == NULL)
		return psm_err_set(err, PSM_ENOMEM, "health: out of memory");
	rc = metrics_check(arr, "table", n.table_ok && age <= METRICS_HEARTBEAT_MAX, healthy,
			   "%s generation %llu, heartbeat %llds ago", d->conf.cfg.shm_name,
			   (unsigned long long)n.info.generation, (long long)age);
	rc |= metrics_check_table_file(d, arr, healthy);
	rc |= metrics_check_journal(d, &n.ji, arr, healthy);
	rc |= metrics_recovery(d, arr, healthy);
	rc |= metrics_fleet_check(d, arr, healthy);
	rc |= metrics_check(arr, "capacity", n.fill < METRICS_FILL_MAX, healthy,
			    "%.1f%% of %llu records", n.fill * 100,
			    (unsigned long long)n.info.capacity);
	if (rc != PSM_OK || !cJSON_AddBoolToObject(out, "healthy", *healthy))
		return psm_err_set(err, PSM_ENOMEM, "health: out of memory");
	return PSM_OK;
}

/* ---- Prometheus text ------------------------------------------------------------------ */

static void metrics_text_ops(struct metrics_buf *b, const struct metrics *m)
{
	metrics_head(b, "psm_requests_total", "counter", "Admin socket requests by op.");
	for (size_t i = 0; i <= PROTO_OP_COUNT; i++)
		metrics_printf(b, "psm_requests_total{op=\"%s\"} %llu\n", metrics_op_name(i),
			       (unsigned long long)m->requests[i]);
	metrics_head(b, "psm_request_errors_total", "counter", "Admin socket error replies by op.");
	for (size_t i = 0; i <= PROTO_OP_COUNT; i++)
		metrics_printf(b, "psm_request_errors_total{op=\"%s\"} %llu\n", metrics_op_name(i),
			       (unsigned long long)m->errors[i]);
}

static void metrics_text_fsync(struct metrics_buf *b, const struct metrics *m,
			       const struct journal_info *ji)
{
	metrics_head(b, "psm_journal_commit_failures_total", "counter",
		     "Group commits that failed (write or fdatasync); their changes were refused.");
	metrics_printf(b, "psm_journal_commit_failures_total %llu\n",
		       (unsigned long long)ji->failures);
	metrics_head(b, "psm_journal_fsync_seconds", "histogram",
		     "Latency of the journal's fdatasync (one per group commit).");
	for (size_t i = 0; i < METRICS_BUCKETS; i++)
		metrics_printf(b, "psm_journal_fsync_seconds_bucket{le=\"%g\"} %llu\n",
			       metrics_le[i], (unsigned long long)m->fsync_le[i]);
	metrics_printf(b, "psm_journal_fsync_seconds_bucket{le=\"+Inf\"} %llu\n",
		       (unsigned long long)m->fsyncs);
	metrics_printf(b, "psm_journal_fsync_seconds_sum %.9f\n", (double)m->fsync_sum_ns / 1e9);
	metrics_printf(b, "psm_journal_fsync_seconds_count %llu\n", (unsigned long long)m->fsyncs);
}

/* Journal damage found on load and the grants it put in quarantine (psmctl recover). */
static void metrics_text_recovery(struct metrics_buf *b, struct psmd *d)
{
	const struct journal_recovery *r = d->store.j != NULL ? journal_recovery(d->store.j) : NULL;

	metrics_head(b, "psm_journal_damaged_regions", "gauge",
		     "Damaged journal regions found on load, until psmctl recover.");
	metrics_printf(b, "psm_journal_damaged_regions %zu\n", r != NULL ? r->ndamage : 0);
	metrics_head(b, "psm_quarantined_grants", "gauge",
		     "Grants kept out of the table after journal damage, until psmctl recover.");
	metrics_printf(b, "psm_quarantined_grants %zu\n", r != NULL ? r->ngrants : 0);
}

static void metrics_text_table(struct metrics_buf *b, const struct metrics_now *n)
{
	static const char *const src[] = {"", "policy", "admin", "fleet"};

	metrics_head(b, "psm_table_entries", "gauge", "Records in the shared-memory table.");
	metrics_printf(b, "psm_table_entries %llu\n", (unsigned long long)n->info.records);
	metrics_head(b, "psm_table_capacity", "gauge", "Records the table is sized for.");
	metrics_printf(b, "psm_table_capacity %llu\n", (unsigned long long)n->info.capacity);
	metrics_head(b, "psm_grants", "gauge", "Grants in the table by source.");
	for (int i = REC_SRC_POLICY; i <= REC_SRC_FLEET; i++)
		metrics_printf(b, "psm_grants{source=\"%s\"} %llu\n", src[i],
			       (unsigned long long)n->by_source[i]);
	metrics_head(b, "psm_sessions", "gauge", "Login sessions psmd holds.");
	metrics_printf(b, "psm_sessions %llu\n", (unsigned long long)n->sc.sessions);
	metrics_head(b, "psm_table_generation", "counter", "Write batches of the table.");
	metrics_printf(b, "psm_table_generation %llu\n", (unsigned long long)n->info.generation);
	metrics_head(b, "psm_heartbeat_age_seconds", "gauge",
		     "Age of the table's writer heartbeat.");
	metrics_printf(b, "psm_heartbeat_age_seconds %lld\n",
		       (long long)(n->table_ok ? n->now - n->info.heartbeat : -1));
}

static void metrics_text_watch(struct metrics_buf *b, const struct table_watch *w)
{
	metrics_head(b, "psm_table_republished_total", "counter",
		     "Times psmd republished its table after finding it damaged or removed.");
	metrics_printf(b, "psm_table_republished_total %llu\n", (unsigned long long)w->republished);
	metrics_head(b, "psm_table_damaged", "gauge",
		     "1 while the table is damaged, not republished.");
	metrics_printf(b, "psm_table_damaged %d\n", w->damaged ? 1 : 0);
}

char *metrics_text(struct psmd *d)
{
	struct metrics_buf b = {.cap = 8192};
	struct metrics_now n;

	b.p = malloc(b.cap);
	if (b.p == NULL)
		return NULL;
	metrics_gather(d, &n);
	metrics_text_table(&b, &n);
	metrics_text_watch(&b, &d->table.watch);
	metrics_text_ops(&b, &d->metrics);
	metrics_text_fsync(&b, &d->metrics, &n.ji);
	metrics_text_recovery(&b, d);
	metrics_fleet_text(&b, d);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* text into path atomically: path.tmp, fsync, rename. */
static int metrics_write_file(const char *path, const char *text, struct psm_err *err)
{
	char tmp[4096];
	size_t len = strlen(text);
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return psm_err_set(err, PSM_EINVAL, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return psm_err_set(err, PSM_ESYS, "%s: %s", tmp, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		psm_err_set(err, PSM_ESYS, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return PSM_ESYS;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		psm_err_set(err, PSM_ESYS, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return PSM_ESYS;
	}
	return PSM_OK;
}

void metrics_tick(struct psmd *d, int64_t now)
{
	struct psm_err err = {0};
	char *text;

	if (d->conf.cfg.metrics_file == NULL || now < d->metrics.file_due)
		return;
	d->metrics.file_due = now + METRICS_FILE_PERIOD;
	text = metrics_text(d);
	if (text == NULL || metrics_write_file(d->conf.cfg.metrics_file, text, &err) != PSM_OK)
		log_msg(LOG_WARNING, "metrics_file: %s", text == NULL ? "out of memory" : err.msg);
	free(text);
}
