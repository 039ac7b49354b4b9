/* SPDX-License-Identifier: MIT */
/* fleet_feed.c - the reader thread: follow the feed from the last applied id, resync when lost. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>

#include "fleet_reader.h"

/* A feed entry's field list [f1, v1, f2, v2, ...] into e; false when it is not one. */
static bool fleet_fields(const struct rconn_reply *fl, struct sign_entry *e)
{
	memset(e, 0, sizeof(*e));
	if (fl->type != RCONN_ARRAY || fl->elements % 2 != 0)
		return false;
	for (size_t i = 0; i < fl->elements; i += 2) {
		const struct rconn_reply *k = fl->element[i], *v = fl->element[i + 1];

		if (k->type != RCONN_STRING || v->type != RCONN_STRING)
			return false;
		if (strcmp(k->str, SIGN_FIELD_RECORD) == 0 && e->r == NULL) {
			e->r = (const unsigned char *)v->str;
			e->rlen = v->len;
		} else if (strcmp(k->str, SIGN_FIELD_SIG) == 0 && e->sig == NULL) {
			e->sig = (const unsigned char *)v->str;
			e->siglen = v->len;
		} else if (strcmp(k->str, SIGN_FIELD_KEY) == 0 && e->key == NULL) {
			e->key = v->str;
			e->keylen = v->len;
		} else {
			return false; /* a field twice, or one no writer sends */
		}
	}
	return true;
}

/* A job for one entry [id, fields] of an XREAD reply; false when it is not a stream entry
 * (the reply is not Redis's). */
static bool fleet_entry_job(struct fleet_reader *rd, const struct rconn_reply *en,
			    struct fleet_job *j)
{
	uint64_t ms, seq;

	if (en->type != RCONN_ARRAY || en->elements != 2 ||
	    !fleet_str(en->element[0], j->in.feed_id, sizeof(j->in.feed_id)) ||
	    !fleet_id_parse(j->in.feed_id, &ms, &seq))
		return false;
	memcpy(j->in.replid, rd->replid, sizeof(j->in.replid));
	j->in.feed_ms = (int64_t)ms;
	snprintf(j->where, sizeof(j->where), "feed entry %s", j->in.feed_id);
	j->own = fleet_own_take(rd->f, ms, seq);
	if (j->own)
		return true;
	j->prepared = fleet_fields(en->element[1], &j->e);
	if (!j->prepared) {
		j->res = SIGN_MALFORMED;
		psm_err_set(&j->err, PSM_EINVAL, "not the fields r, sig, key");
	}
	return true;
}

/* The entries of an XREAD reply [[feed, [entry, ...]]], checked on every core, then queued
 * in order; a dropped last entry still moves the saved position (a marker). */
static int fleet_read_entries(struct fleet_reader *rd, const struct rconn_reply *r, bool *full,
			      struct psm_err *err)
{
	const struct rconn_reply *s, *v;
	int got;

	if (r->elements != 1 || (s = r->element[0])->type != RCONN_ARRAY || s->elements != 2 ||
	    (v = s->element[1])->type != RCONN_ARRAY)
		return fleet_bad(rd, "XREAD: not a stream reply", err);
	if (!fleet_jobs(rd, v->elements))
		return fleet_bad(rd, "out of memory", err);
	for (size_t i = 0; i < v->elements; i++)
		if (!fleet_entry_job(rd, v->element[i], &rd->jobs[i]))
			return fleet_bad(rd, "XREAD: not a stream entry", err);
	fleet_pool_run(rd->pool, rd->jobs, v->elements);
	if (v->elements > 0)
		snprintf(rd->pos, sizeof(rd->pos), "%s", rd->jobs[v->elements - 1].in.feed_id);
	got = fleet_jobs_emit(rd, v->elements);
	if (got < 0 || (got == 0 && !fleet_mark(rd, rd->pos)))
		return PSM_EUNAVAIL;
	*full = v->elements >= rd->count;
	if (*full && rd->count < FLEET_READ_COUNT && ++rd->streak >= 8) {
		rd->count *= 2; /* grown back, slowly */
		rd->streak = 0;
	}
	return PSM_OK;
}

/* One XREAD BLOCK from pos, pipelined behind a GET of the epoch key: the entries are queued.
 * *full when COUNT entries came (more may wait: check for a trim). */
static int fleet_read_once(struct fleet_reader *rd, bool *full, struct psm_err *err)
{
	char count[16], block[16];
	const char *get[] = {"GET", rd->epoch_key};
	const char *xr[] = {"XREAD", "COUNT", count, "BLOCK", block, "STREAMS", rd->feed, rd->pos};
	struct rconn_reply *ep = NULL, *r = NULL;
	int rc;

	snprintf(count, sizeof(count), "%u", rd->count);
	snprintf(block, sizeof(block), "%d", FLEET_BLOCK_MS);
	rc = rconn_send(rd->c, 2, get, NULL, err);
	if (rc == PSM_OK)
		rc = rconn_send(rd->c, 8, xr, NULL, err);
	if (rc == PSM_OK)
		rc = rconn_read(rd->c, RCONN_T(RCONN_STRING) | RCONN_T(RCONN_NIL), &ep, err);
	if (rc == PSM_OK)
		rc = rconn_read(rd->c, RCONN_T(RCONN_ARRAY) | RCONN_T(RCONN_NIL), &r, err);
	if (rc == PSM_OK && strcmp(ep->type == RCONN_NIL ? "" : ep->str, rd->epoch) != 0) {
		rd->resync = true; /* FLUSHALL, or another host saw the keys gone */
		fleet_logf(rd->f, LOG_NOTICE, "fleet: the keys in Redis were replaced: resync");
	}
	*full = false;
	if (rc == PSM_OK && !rd->resync && r->type == RCONN_ARRAY)
		rc = fleet_read_entries(rd, r, full, err);
	rconn_reply_free(ep);
	rconn_reply_free(r);
	return rc;
}

/* Connects to the server the feed is read from and decides whether a resync is due. */
static int fleet_read_connect(struct fleet_reader *rd, struct psm_err *err)
{
	const struct config_redis *cfg = &rd->f->cfg;
	char last[FLEET_ID_MAX];
	int rc = cfg->read_url != NULL ? rconn_connect(rd->c, &cfg->read, err)
				       : rconn_connect_config(rd->c, cfg, err);

	if (rc == PSM_OK)
		rc = rconn_set_timeout(rd->c, FLEET_BLOCK_MS + RCONN_COMMAND_TIMEOUT_MS, err);
	if (rc == PSM_OK)
		rc = rconn_replid(rd->c, rd->replid, err);
	if (rc == PSM_OK && (rd->pos[0] == '\0' || strcmp(rd->pos_replid, rd->replid) != 0))
		rd->resync = true; /* new host, or failover / restart without persistence */
	if (rc == PSM_OK)
		memcpy(rd->pos_replid, rd->replid, sizeof(rd->replid));
	if (rc == PSM_OK)
		rc = fleet_trim_check(rd, last, err);
	if (rc == PSM_OK)
		rc = fleet_epoch(rd, err);
	if (rc != PSM_OK)
		rconn_close(rd->c, err->msg);
	return rc;
}

/* After a failure: the connection is closed, the state line logged, the next try later. */
static void fleet_read_down(struct fleet_reader *rd, const struct psm_err *err)
{
	struct fleet *f = rd->f;

	if (rconn_connected(rd->c))
		rconn_close(rd->c, err->msg);
	fleet_conn_log(f, rd->c, "reader");
	pthread_mutex_lock(&f->mu);
	fleet_set_up(f, &f->read_up, false, rconn_addr(rd->c), NULL);
	fleet_wait(f, &f->wake_read, backoff_next(&rd->b));
	pthread_mutex_unlock(&f->mu);
}

/* One turn of the reader: connect when down, resync when due, else read on. */
static void fleet_read_turn(struct fleet_reader *rd)
{
	struct psm_err err = {0};
	char last[FLEET_ID_MAX];
	bool full = false;
	int rc = PSM_OK;

	if (!rconn_connected(rd->c)) {
		rc = fleet_read_connect(rd, &err);
		fleet_conn_log(rd->f, rd->c, "reader");
		if (rc == PSM_OK) {
			pthread_mutex_lock(&rd->f->mu);
			fleet_set_up(rd->f, &rd->f->read_up, true, rconn_addr(rd->c), NULL);
			pthread_mutex_unlock(&rd->f->mu);
		}
	}
	pthread_mutex_lock(&rd->f->mu);
	rd->resync |= rd->f->want_resync;
	rd->f->want_resync = false;
	pthread_mutex_unlock(&rd->f->mu);
	if (rc == PSM_OK && (rd->skip_entry || rd->skip_scan))
		rc = fleet_skip(rd, &err);
	if (rc == PSM_OK && rd->resync)
		rc = fleet_resync_run(rd, &err);
	else if (rc == PSM_OK)
		rc = fleet_read_once(rd, &full, &err);
	if (rc == PSM_OK && full)
		rc = fleet_trim_check(rd, last, &err);
	if (rc == PSM_OK) {
		backoff_reset(&rd->b);
		return;
	}
	if (rconn_oversized(rd->c))
		fleet_shrink(rd);
	fleet_read_down(rd, &err);
}

static void fleet_reader_init(struct fleet_reader *rd, struct fleet *f)
{
	memset(rd, 0, sizeof(*rd));
	rd->f = f;
	snprintf(rd->feed, sizeof(rd->feed), "%s{fleet}:feed", f->cfg.key_prefix);
	snprintf(rd->state, sizeof(rd->state), "%s{fleet}:state", f->cfg.key_prefix);
	snprintf(rd->epoch_key, sizeof(rd->epoch_key), "%s{fleet}:epoch", f->cfg.key_prefix);
	pthread_mutex_lock(&f->mu);
	memcpy(rd->pos, f->st.last_id, sizeof(rd->pos));
	memcpy(rd->pos_replid, f->replid, sizeof(rd->pos_replid));
	pthread_mutex_unlock(&f->mu);
	backoff_init(&rd->b, 0);
	/* about 2 KiB an entry: a reply of COUNT entries stays well under max_reply */
	rd->count = (unsigned)((f->cfg.max_reply ? f->cfg.max_reply : CONFIG_MAX_REPLY) / 2048);
	rd->count = rd->count < 1 ? 1 : rd->count > FLEET_READ_COUNT ? FLEET_READ_COUNT : rd->count;
	rd->scan_count = rd->count;
	snprintf(rd->scan_cursor, sizeof(rd->scan_cursor), "0");
}

void *fleet_read_main(void *arg)
{
	struct fleet *f = arg;
	struct fleet_reader rd;
	struct rconn_opts o;
	bool stopping = false;

	fleet_reader_init(&rd, f);
	rconn_opts_from_config(&o, &f->cfg, f->cfg.read_url != NULL ? &f->cfg.read : &f->cfg.addr);
	rd.c = rconn_new(&o);
	rd.pool = fleet_pool_start(f);
	if (rd.c == NULL || rd.pool == NULL)
		fleet_logf(f, LOG_ERR, "fleet reader: out of memory: not reading the feed");
	while (rd.c != NULL && rd.pool != NULL && !stopping) {
		fleet_read_turn(&rd);
		pthread_mutex_lock(&f->mu);
		stopping = f->stopping;
		pthread_mutex_unlock(&f->mu);
	}
	rconn_free(rd.c);
	fleet_pool_stop(rd.pool);
	free(rd.jobs);
	return NULL;
}
