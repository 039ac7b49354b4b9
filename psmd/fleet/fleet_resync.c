/* SPDX-License-Identifier: MIT */
/* fleet_resync.c - the reader's full resync from the state hash, trim checks, oversized skips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fleet_reader.h"

/* The value of key in XINFO STREAM's flat [key, value, ...] reply; NULL when absent. */
static const struct rconn_reply *fleet_info(const struct rconn_reply *r, const char *key)
{
	for (size_t i = 0; r->type == RCONN_ARRAY && i + 1 < r->elements; i += 2)
		if (r->element[i]->type == RCONN_STRING && strcmp(r->element[i]->str, key) == 0)
			return r->element[i + 1];
	return NULL;
}

/* Whether entries after pos were trimmed (or the feed is gone while pos is set): resync.
 * last gets the feed's last generated id ("0-0" when there is no feed). */
int fleet_trim_check(struct fleet_reader *rd, char last[FLEET_ID_MAX], struct psm_err *err)
{
	const char *argv[] = {"XINFO", "STREAM", rd->feed};
	const struct rconn_reply *del, *first;
	struct rconn_reply *r;
	char id[FLEET_ID_MAX];
	int rc = rconn_call(rd->c, RCONN_T(RCONN_ARRAY), &r, err, 3, argv, NULL);

	snprintf(last, FLEET_ID_MAX, "0-0");
	if (rc != PSM_OK && rconn_connected(rd->c)) { /* "ERR no such key" */
		rd->resync |= rd->pos[0] != '\0' && strcmp(rd->pos, "0-0") != 0;
		return PSM_OK;
	}
	if (rc != PSM_OK)
		return rc;
	if (!fleet_str(fleet_info(r, "last-generated-id"), last, FLEET_ID_MAX))
		snprintf(last, FLEET_ID_MAX, "0-0");
	del = fleet_info(r, "max-deleted-entry-id");
	first = fleet_info(r, "first-entry");
	if (del != NULL && fleet_str(del, id, sizeof(id))) /* XDEL after pos */
		rd->resync |= fleet_id_cmp(id, rd->pos) > 0;
	if (first != NULL && first->type == RCONN_ARRAY && first->elements == 2 &&
	    fleet_str(first->element[0], id, sizeof(id))) /* trimmed up to after pos */
		rd->resync |= fleet_id_cmp(id, rd->pos) > 0;
	else /* empty: everything added after pos is gone */
		rd->resync |= fleet_id_cmp(last, rd->pos) > 0;
	rconn_reply_free(r);
	return PSM_OK;
}

/* The epoch key's value ("" while there is none): a writer sets it (SET NX) when Redis
 * has none, so the keys being replaced (FLUSHALL, an empty restart) changes it. */
int fleet_epoch(struct fleet_reader *rd, struct psm_err *err)
{
	const char *get[] = {"GET", rd->epoch_key};
	struct rconn_reply *r;
	int rc =
	    rconn_call(rd->c, RCONN_T(RCONN_STRING) | RCONN_T(RCONN_NIL), &r, err, 2, get, NULL);

	if (rc != PSM_OK)
		return rc;
	rd->epoch[0] = '\0';
	if (r->type == RCONN_STRING && !fleet_str(r, rd->epoch, sizeof(rd->epoch)))
		rc = fleet_bad(rd, "GET: not an epoch", err);
	rconn_reply_free(r);
	return rc;
}

/* A job for one field and value of the state hash; false when they are not strings. */
static bool fleet_value_job(struct fleet_reader *rd, const struct rconn_reply *k,
			    const struct rconn_reply *v, struct fleet_job *j)
{
	if (k->type != RCONN_STRING || v->type != RCONN_STRING)
		return false;
	snprintf(j->where, sizeof(j->where), "state field %.60s", k->str);
	j->in.resync = true;
	memcpy(j->in.replid, rd->replid, sizeof(j->in.replid));
	j->prepared = fleet_value_parse(v->str, v->len, &j->e, j->sig);
	if (!j->prepared) {
		j->res = SIGN_MALFORMED;
		psm_err_set(&j->err, PSM_EINVAL, "not a state value");
	}
	return true;
}

/* One HSCAN step: the records checked and queued, *cursor the next ("0" at the end). */
static int fleet_scan_step(struct fleet_reader *rd, char cursor[FLEET_ID_MAX], struct psm_err *err)
{
	char count[16];
	const char *argv[] = {"HSCAN", rd->state, cursor, "COUNT", count};
	const struct rconn_reply *kv;
	struct rconn_reply *r;
	int rc;
	bool ok;
	size_t n = 0;

	snprintf(count, sizeof(count), "%u", rd->scan_count);
	rc = rconn_call(rd->c, RCONN_T(RCONN_ARRAY), &r, err, 5, argv, NULL);
	if (rc != PSM_OK)
		return rc;
	ok = r->elements == 2 && fleet_str(r->element[0], cursor, FLEET_ID_MAX) &&
	     (kv = r->element[1])->type == RCONN_ARRAY && kv->elements % 2 == 0 &&
	     fleet_jobs(rd, kv->elements / 2);
	for (; ok && n < kv->elements / 2; n++)
		ok = fleet_value_job(rd, kv->element[2 * n], kv->element[2 * n + 1], &rd->jobs[n]);
	if (ok) {
		fleet_pool_run(rd->pool, rd->jobs, n);
		rc = fleet_jobs_emit(rd, n) < 0 ? PSM_EUNAVAIL : PSM_OK;
	}
	rconn_reply_free(r);
	return ok ? rc : fleet_bad(rd, "HSCAN: not a hash scan reply", err);
}

/*
 * A full resync: the feed's last id first, then every record of the state hash, then a
 * marker that moves the position to that id (entries added meanwhile are read again:
 * applying a record twice changes nothing).  The daemon then republishes its own records.
 * A pass cut short (a reply over max_reply, a dropped connection) goes on where it was.
 */
int fleet_resync_run(struct fleet_reader *rd, struct psm_err *err)
{
	int rc = PSM_OK;

	if (!rd->scanning) {
		rc = fleet_trim_check(rd, rd->scan_last, err);
		if (rc != PSM_OK)
			return rc;
		fleet_logf(rd->f, LOG_NOTICE, "fleet: full resync from %s", rd->state);
		rd->scanning = true;
		snprintf(rd->scan_cursor, sizeof(rd->scan_cursor), "0");
	}
	do
		rc = fleet_scan_step(rd, rd->scan_cursor, err);
	while (rc == PSM_OK && strcmp(rd->scan_cursor, "0") != 0);
	if (rc == PSM_OK)
		rc = fleet_epoch(rd, err);
	if (rc != PSM_OK)
		return rc;
	rd->scanning = false;
	snprintf(rd->pos, sizeof(rd->pos), "%s", rd->scan_last);
	rd->resync = false;
	if (!fleet_mark(rd, rd->scan_last))
		return PSM_EUNAVAIL;
	pthread_mutex_lock(&rd->f->mu);
	rd->f->st.resyncs++;
	rd->f->want_republish = true;
	pthread_mutex_unlock(&rd->f->mu);
	fleet_wake_daemon(rd->f);
	return PSM_OK;
}

void fleet_shrink(struct fleet_reader *rd)
{
	unsigned *n = rd->scanning ? &rd->scan_count : &rd->count;

	rd->streak = 0;
	if (*n > 1)
		*n /= 2;
	else if (rd->scanning)
		rd->skip_scan = true; /* one value alone is too large */
	else
		rd->skip_entry = true; /* one entry alone is too large */
}

/* Runs a read-only script (EVAL_RO; EVAL on a Redis before 7) with one key and one arg. */
static int fleet_ro_script(struct fleet_reader *rd, const char *script, const char *key,
			   const char *arg, struct rconn_reply **r, struct psm_err *err)
{
	const char *argv[] = {"EVAL_RO", script, "1", key, arg};
	unsigned want = RCONN_T(RCONN_STRING) | RCONN_T(RCONN_NIL);
	int rc = rconn_call(rd->c, want, r, err, 5, argv, NULL);

	if (rc != PSM_OK && rconn_connected(rd->c)) {
		argv[0] = "EVAL";
		rc = rconn_call(rd->c, want, r, err, 5, argv, NULL);
	}
	return rc;
}

/* The id of the entry after pos, and the cursor after one HSCAN step, without the bytes. */
static const char fleet_next_id[] =
    "local e = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', 1)\n"
    "if #e == 0 then return false end\n"
    "return e[1][1]\n";
static const char fleet_next_cursor[] =
    "return redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', 1)[1]\n";

int fleet_skip(struct fleet_reader *rd, struct psm_err *err)
{
	bool entry = rd->skip_entry;
	char next[FLEET_ID_MAX], where[FLEET_ID_MAX + 32];
	struct rconn_reply *r;
	int rc = entry
		     ? fleet_ro_script(rd, fleet_next_id, rd->feed, rd->pos[0] ? rd->pos : "0-0",
				       &r, err)
		     : fleet_ro_script(rd, fleet_next_cursor, rd->state, rd->scan_cursor, &r, err);

	if (rc != PSM_OK)
		return rc;
	rd->skip_entry = rd->skip_scan = false;
	if (r->type == RCONN_STRING && fleet_str(r, next, sizeof(next))) {
		snprintf(where, sizeof(where), entry ? "feed entry %s" : "state hash at cursor %s",
			 entry ? next : rd->scan_cursor);
		fleet_drop(rd->f, SIGN_OVERSIZED, where, "larger than max_reply alone");
		memcpy(entry ? rd->pos : rd->scan_cursor, next, sizeof(next));
		if (entry && !fleet_mark(rd, rd->pos))
			rc = PSM_EUNAVAIL;
	}
	rconn_reply_free(r);
	return rc;
}
