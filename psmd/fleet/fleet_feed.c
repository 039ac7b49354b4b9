/* SPDX-License-Identifier: MIT */
/* fleet_feed.c - the reader thread: follow the feed from the last applied id, resync when lost. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>

#include "fleet_int.h"

/* The reader's own view; only its thread touches it. */
struct fleet_reader {
	struct fleet *f;
	struct rconn *c;
	struct backoff b;
	char pos[FLEET_ID_MAX];		       /* the last entry read ("" none) */
	char replid[RCONN_REPLID_LEN + 1];     /* of the server read now */
	char pos_replid[RCONN_REPLID_LEN + 1]; /* of the server pos is an id of */
	char epoch[40];			       /* the epoch key's value seen last ("" none) */
	bool resync;			       /* a full resync is due */
	struct fleet_pool *pool;
	struct fleet_job *jobs; /* for one reply's entries */
	size_t cap;
	char feed[160], state[160], epoch_key[160];
};

/* "ms-seq" into two numbers; false when it is not a stream id. */
static bool fleet_id_parse(const char *s, uint64_t *ms, uint64_t *seq)
{
	char *end;

	*ms = strtoull(s, &end, 10);
	if (end == s || *end != '-')
		return false;
	*seq = strtoull(end + 1, &end, 10);
	return *end == '\0';
}

/* <0, 0, >0 as stream id a is before, equal to or after b (an unparsable id is 0-0). */
static int fleet_id_cmp(const char *a, const char *b)
{
	uint64_t am = 0, as = 0, bm = 0, bs = 0;

	fleet_id_parse(a, &am, &as);
	fleet_id_parse(b, &bm, &bs);
	if (am != bm)
		return am < bm ? -1 : 1;
	return as < bs ? -1 : as > bs ? 1 : 0;
}

/* Queues in (waits while the queue is full); false when stopping. */
static bool fleet_in_push(struct fleet *f, struct fleet_in *in)
{
	bool ok = false;

	pthread_mutex_lock(&f->mu);
	while (!f->stopping && f->in.n >= FLEET_IN_MAX)
		fleet_wait(f, &f->wake_read, 100);
	if (!f->stopping && fleet_fifo_push(&f->in, in) == PSM_OK)
		ok = true;
	pthread_mutex_unlock(&f->mu);
	if (!ok)
		record_free(&in->rec);
	fleet_wake_daemon(f);
	return ok;
}

/* A string element's text into buf (NUL-terminated); false for another type or too long. */
static bool fleet_str(const struct rconn_reply *r, char *buf, size_t n)
{
	if (r == NULL || r->type != RCONN_STRING || r->len >= n)
		return false;
	memcpy(buf, r->str, r->len + 1);
	return true;
}

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

/* Room for n jobs, zeroed. */
static bool fleet_jobs(struct fleet_reader *rd, size_t n)
{
	if (n > rd->cap) {
		struct fleet_job *j = realloc(rd->jobs, n * sizeof(*j));

		if (j == NULL)
			return false;
		rd->jobs = j;
		rd->cap = n;
	}
	memset(rd->jobs, 0, n * sizeof(*rd->jobs));
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
	j->prepared = fleet_fields(en->element[1], &j->e);
	if (!j->prepared) {
		j->res = SIGN_MALFORMED;
		psm_err_set(&j->err, PSM_EINVAL, "not the fields r, sig, key");
	}
	return true;
}

/* The checked jobs in order: queued, or dropped.  1: the last was queued, 0: dropped,
 * -1: stopping. */
static int fleet_jobs_emit(struct fleet_reader *rd, size_t n)
{
	int got = 1;

	for (size_t i = 0; i < n; i++) {
		struct fleet_job *j = &rd->jobs[i];

		if (got < 0) {
			if (j->res == SIGN_APPLIED)
				record_free(&j->in.rec);
			continue;
		}
		if (j->res != SIGN_APPLIED) {
			fleet_drop(rd->f, j->res, j->where, j->err.msg);
			got = 0;
		} else {
			got = fleet_in_push(rd->f, &j->in) ? 1 : -1;
		}
	}
	return got;
}

/* A position-only item: once applied, the daemon saves id (after a resync, or drops). */
static bool fleet_mark(struct fleet_reader *rd, const char *id)
{
	struct fleet_in in = {0};

	snprintf(in.feed_id, sizeof(in.feed_id), "%s", id);
	memcpy(in.replid, rd->replid, sizeof(in.replid));
	in.rec.type = 0;
	return fleet_in_push(rd->f, &in);
}

/* Closes the connection: the reply was not what Redis sends. */
static int fleet_bad(struct fleet_reader *rd, const char *what, struct psm_err *err)
{
	psm_err_set(err, PSM_EUNAVAIL, "redis %s: %s", rconn_addr(rd->c), what);
	rconn_close(rd->c, err->msg);
	return PSM_EUNAVAIL;
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
	*full = v->elements >= FLEET_READ_COUNT;
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

	snprintf(count, sizeof(count), "%d", FLEET_READ_COUNT);
	snprintf(block, sizeof(block), "%d", FLEET_BLOCK_MS);
	rc = rconn_send(rd->c, 2, get, NULL, err);
	if (rc == PSM_OK)
		rc = rconn_send(rd->c, 8, xr, NULL, err);
	if (rc == PSM_OK)
		rc = rconn_read(rd->c, RCONN_T(RCONN_STRING) | RCONN_T(RCONN_NIL), &ep, err);
	if (rc == PSM_OK)
		rc = rconn_read(rd->c, RCONN_T(RCONN_ARRAY) | RCONN_T(RCONN_NIL), &r, err);
	if (rc == PSM_OK && (ep->type == RCONN_NIL || strcmp(ep->str, rd->epoch) != 0)) {
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
static int fleet_trim_check(struct fleet_reader *rd, char last[FLEET_ID_MAX], struct psm_err *err)
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

/* The epoch key: set when absent (this host is the first since the keys were made), read. */
static int fleet_epoch(struct fleet_reader *rd, struct psm_err *err)
{
	unsigned char rnd[16];
	char val[40];
	const char *set[] = {"SET", rd->epoch_key, val, "NX"};
	const char *get[] = {"GET", rd->epoch_key};
	struct rconn_reply *r;
	int rc;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(val + 2 * i, 3, "%02x", rnd[i]);
	rc = rconn_call(rd->c, RCONN_T(RCONN_STATUS) | RCONN_T(RCONN_NIL), &r, err, 4, set, NULL);
	if (rc != PSM_OK)
		return rc;
	rconn_reply_free(r);
	rc = rconn_call(rd->c, RCONN_T(RCONN_STRING), &r, err, 2, get, NULL);
	if (rc != PSM_OK)
		return rc;
	if (!fleet_str(r, rd->epoch, sizeof(rd->epoch)))
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
static int fleet_scan_step(struct fleet_reader *rd, char cursor[32], struct psm_err *err)
{
	const char *argv[] = {"HSCAN", rd->state, cursor, "COUNT", FLEET_SCAN_COUNT};
	const struct rconn_reply *kv;
	struct rconn_reply *r;
	int rc = rconn_call(rd->c, RCONN_T(RCONN_ARRAY), &r, err, 5, argv, NULL);
	bool ok;
	size_t n = 0;

	if (rc != PSM_OK)
		return rc;
	ok = r->elements == 2 && fleet_str(r->element[0], cursor, 32) &&
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
 */
static int fleet_resync_run(struct fleet_reader *rd, struct psm_err *err)
{
	char last[FLEET_ID_MAX], cursor[32] = "0";
	int rc = fleet_trim_check(rd, last, err);

	fleet_logf(rd->f, LOG_NOTICE, "fleet: full resync from %s", rd->state);
	do
		rc = rc == PSM_OK ? fleet_scan_step(rd, cursor, err) : rc;
	while (rc == PSM_OK && strcmp(cursor, "0") != 0);
	if (rc == PSM_OK)
		rc = fleet_epoch(rd, err);
	if (rc != PSM_OK)
		return rc;
	snprintf(rd->pos, sizeof(rd->pos), "%s", last);
	rd->resync = false;
	if (!fleet_mark(rd, last))
		return PSM_EUNAVAIL;
	pthread_mutex_lock(&rd->f->mu);
	rd->f->st.resyncs++;
	rd->f->want_republish = true;
	pthread_mutex_unlock(&rd->f->mu);
	fleet_wake_daemon(rd->f);
	return PSM_OK;
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
	if (rc == PSM_OK && rd->resync)
		rc = fleet_resync_run(rd, &err);
	else if (rc == PSM_OK)
		rc = fleet_read_once(rd, &full, &err);
	if (rc == PSM_OK && full)
		rc = fleet_trim_check(rd, last, &err);
	if (rc == PSM_OK)
		backoff_reset(&rd->b);
	else
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
