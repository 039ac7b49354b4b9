/* SPDX-License-Identifier: MIT */
/* ops_history.c - the history op (grants, revokes, expiries and sessions from the journal) and
 * the table of a past moment for check --at: one reading of the journal for both. */
#include "ops_history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "hlc.h"
#include "journal.h"
#include "store_entry.h"
#include "ttl.h"

enum hist_kind {
	HIST_GRANT = 0,
	HIST_REVOKE,
	HIST_EXPIRE,
	HIST_SESSION_OPEN,
	HIST_SESSION_EXTEND,
	HIST_SESSION_CLOSE,
	HIST_SESSION_EXPIRE,
};

static const char *const hist_names[] = {"grant",	  "revoke",	    "expire",
					 "session_open",  "session_extend", "session_close",
					 "session_expire"};

/* A grant or a session as the journal last had it: from start (made) until end (revoked,
 * closed; INT64_MAX while neither). */
struct hist_item {
	struct record rec;
	int64_t start, end;
};

/* The items of one type, found by id (open addressing: slot = index + 1, 0 free). */
struct hist_set {
	struct hist_item *v;
	size_t n, cap;
	uint32_t *slot;
	size_t nslot;
};

struct hist_ev {
	int64_t t;
	int kind; /* enum hist_kind */
	size_t item, seq;
};

struct hist {
	struct hist_set g, s; /* grants, sessions */
	struct hist_ev *ev;
	size_t nev, evcap;
};

static size_t hist_probe(const struct hist_set *s, const uint8_t id[ID_BYTES])
{
	size_t i = (size_t)id_hash(id) & (s->nslot - 1);

	while (s->slot[i] != 0 && memcmp(record_id(&s->v[s->slot[i] - 1].rec), id, ID_BYTES) != 0)
		i = (i + 1) & (s->nslot - 1);
	return i;
}

static struct hist_item *hist_find(const struct hist_set *s, const uint8_t id[ID_BYTES])
{
	size_t i = s->nslot > 0 ? hist_probe(s, id) : 0;

	return s->nslot > 0 && s->slot[i] != 0 ? &s->v[s->slot[i] - 1] : NULL;
}

/* Room for one more item, the index twice as large as the items. */
static int hist_grow(struct hist_set *s)
{
	size_t i, n = s->nslot == 0 ? 64 : s->nslot * 2;
	struct hist_item *v;

	if (s->n == s->cap) {
		v = realloc(s->v, (s->cap == 0 ? 32 : s->cap * 2) * sizeof(*v));
		if (v == NULL)
			return PSM_ENOMEM;
		s->v = v;
		s->cap = s->cap == 0 ? 32 : s->cap * 2;
	}
	if ((s->n + 1) * 2 <= s->nslot)
		return PSM_OK;
	free(s->slot);
	s->slot = calloc(n, sizeof(*s->slot));
	if (s->slot == NULL)
		return PSM_ENOMEM;
	s->nslot = n;
	for (i = 0; i < s->n; i++)
		s->slot[hist_probe(s, record_id(&s->v[i].rec))] = (uint32_t)(i + 1);
	return PSM_OK;
}

/* rec (moved in) as the item of its id: a new one (*fresh), or the newer version of one. */
static int hist_put(struct hist_set *s, struct record *rec, size_t *item, bool *fresh)
{
	struct hist_item *it = hist_find(s, record_id(rec));

	*fresh = it == NULL;
	if (it == NULL) {
		if (hist_grow(s) != PSM_OK)
			return PSM_ENOMEM;
		it = &s->v[s->n];
		record_init(&it->rec, rec->type);
		it->end = INT64_MAX;
		s->slot[hist_probe(s, record_id(rec))] = (uint32_t)(s->n + 1);
		s->n++;
	}
	record_free(&it->rec);
	record_move(&it->rec, rec);
	*item = (size_t)(it - s->v);
	return PSM_OK;
}

static int hist_event(struct hist *h, int64_t t, int kind, size_t item)
{
	if (h->nev == h->evcap) {
		size_t cap = h->evcap == 0 ? 64 : h->evcap * 2;
		struct hist_ev *v = realloc(h->ev, cap * sizeof(*v));

		if (v == NULL)
			return PSM_ENOMEM;
		h->ev = v;
		h->evcap = cap;
	}
	h->ev[h->nev] = (struct hist_ev){.t = t, .kind = kind, .item = item, .seq = h->nev};
	h->nev++;
	return PSM_OK;
}

/* A revoke or session_end: the end of the item it names, if the journal still has it. */
static int hist_end(struct hist *h, const struct record *rec, int64_t t)
{
	bool grant = rec->type == REC_REVOKE;
	struct hist_set *s = grant ? &h->g : &h->s;
	struct hist_item *it = hist_find(s, record_id(rec));

	if (it == NULL || it->end != INT64_MAX)
		return PSM_OK;
	it->end = t;
	return hist_event(h, t, grant ? HIST_REVOKE : HIST_SESSION_CLOSE, (size_t)(it - s->v));
}

/* journal_each_fn: one record of the journal, in order. */
static int hist_record(void *ctx, struct record *rec, bool snap, struct psm_err *err)
{
	struct hist *h = ctx;
	int64_t t = hlc_wall_ms(record_version(rec)) / 1000;
	bool grant = rec->type == REC_GRANT, fresh;
	struct hist_set *s = grant ? &h->g : &h->s;
	size_t item;
	int rc = PSM_OK, kind = grant ? HIST_GRANT : HIST_SESSION_OPEN;

	(void)snap;
	if (rec->type == REC_REVOKE || rec->type == REC_SESSION_END)
		rc = hist_end(h, rec, t);
	else if (grant || rec->type == REC_SESSION) {
		if (hist_find(s, record_id(rec)) == NULL)
			t = grant ? rec->u.grant.created : rec->u.session.created;
		rc = hist_put(s, rec, &item, &fresh);
		if (rc == PSM_OK && fresh)
			s->v[item].start = t;
		if (rc == PSM_OK && (fresh || !grant))
			rc = hist_event(h, t, fresh ? kind : HIST_SESSION_EXTEND, item);
	}
	return rc == PSM_OK ? PSM_OK : psm_err_set(err, rc, "history: out of memory");
}

/* The expiries: an end (not_after, expires) passed before now and before any revoke. */
static int hist_expiries(struct hist *h, int64_t now)
{
	size_t i;
	int rc = PSM_OK;

	for (i = 0; rc == PSM_OK && i < h->g.n; i++) {
		int64_t end = h->g.v[i].rec.u.grant.not_after;

		if (end != REC_NOT_AFTER_NONE && end <= now && end < h->g.v[i].end)
			rc = hist_event(h, end, HIST_EXPIRE, i);
	}
	for (i = 0; rc == PSM_OK && i < h->s.n; i++) {
		int64_t end = h->s.v[i].rec.u.session.expires;

		if (end != REC_NOT_AFTER_NONE && end <= now && end < h->s.v[i].end)
			rc = hist_event(h, end, HIST_SESSION_EXPIRE, i);
	}
	return rc;
}

static void hist_set_free(struct hist_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		record_free(&s->v[i].rec);
	free(s->v);
	free(s->slot);
}

static void hist_free(struct hist *h)
{
	if (h == NULL)
		return;
	hist_set_free(&h->g);
	hist_set_free(&h->s);
	free(h->ev);
	free(h);
}

/* Reads the journal into a new *hp. */
static int hist_load(const struct ops_ctx *c, struct hist **hp, struct psm_err *err)
{
	struct hist *h = calloc(1, sizeof(*h));
	int rc;

	*hp = NULL;
	if (h == NULL)
		return psm_err_set(err, PSM_ENOMEM, "history: out of memory");
	if (c->d->store.j == NULL) {
		free(h);
		return psm_err_set(err, PSM_EUNAVAIL, "history: no journal open");
	}
	rc = journal_each(c->d->store.j, hist_record, h, err);
	if (rc != PSM_OK) {
		hist_free(h);
		return rc;
	}
	*hp = h;
	return PSM_OK;
}

/* ---- the history op ------------------------------------------------------------------- */

/* key: t as RFC 3339 UTC and key_unix: t as seconds (null both when none). */
static bool hist_time(cJSON *o, const char *key, int64_t t)
{
	char buf[64], ukey[48];

	snprintf(ukey, sizeof(ukey), "%s_unix", key);
	if (t == REC_NOT_AFTER_NONE || t == REC_NOT_BEFORE_NONE)
		return cJSON_AddNullToObject(o, key) && cJSON_AddNullToObject(o, ukey);
	time_format_utc(t, buf, sizeof(buf));
	return cJSON_AddStringToObject(o, key, buf) && cJSON_AddNumberToObject(o, ukey, (double)t);
}

static bool hist_grant_json(cJSON *o, const struct rec_grant *g, int kind)
{
	char id[ID_TEXT_SIZE];

	id_format(g->id, id);
	return cJSON_AddStringToObject(o, "principal", g->principal) &&
	       cJSON_AddStringToObject(o, "pattern", g->pattern) &&
	       cJSON_AddStringToObject(o, "id", id) &&
	       (kind == HIST_GRANT ? cJSON_AddStringToObject(o, "by", g->issuer)
				   : cJSON_AddNullToObject(o, "by")) &&
	       cJSON_AddStringToObject(o, "reason", g->reason) &&
	       cJSON_AddStringToObject(o, "origin", g->origin) &&
	       hist_time(o, "not_after", g->not_after);
}

static bool hist_session_json(cJSON *o, const struct rec_session *s)
{
	char id[ID_TEXT_SIZE];

	id_format(s->id, id);
	return cJSON_AddStringToObject(o, "principal", s->user) &&
	       cJSON_AddStringToObject(o, "service", s->service) &&
	       cJSON_AddStringToObject(o, "id", id) && cJSON_AddNullToObject(o, "by") &&
	       cJSON_AddStringToObject(o, "tty", s->tty) &&
	       cJSON_AddStringToObject(o, "rhost", s->rhost) &&
	       cJSON_AddStringToObject(o, "origin", s->origin) &&
	       hist_time(o, "expires", s->expires);
}

static const struct record *hist_ev_rec(const struct hist *h, const struct hist_ev *e)
{
	return e->kind <= HIST_EXPIRE ? &h->g.v[e->item].rec : &h->s.v[e->item].rec;
}

static int hist_ev_json(const struct hist *h, const struct hist_ev *e, cJSON *arr)
{
	const struct record *r = hist_ev_rec(h, e);
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL && hist_time(o, "time", e->t) &&
		  cJSON_AddStringToObject(o, "event", hist_names[e->kind]) &&
		  (r->type == REC_GRANT ? hist_grant_json(o, &r->u.grant, e->kind)
					: hist_session_json(o, &r->u.session));

	if (ok && cJSON_AddItemToArray(arr, o))
		return PSM_OK;
	cJSON_Delete(o);
	return PSM_ENOMEM;
}

static int hist_ev_cmp(const void *a, const void *b)
{
	const struct hist_ev *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Whether event e is in the request's window and of its principal (a user's sessions too). */
static bool hist_wanted(const struct ops_ctx *c, const struct hist *h, const struct hist_ev *e)
{
	const struct proto_args *a = &c->req->a;
	const struct record *r = hist_ev_rec(h, e);
	const char *who = r->type == REC_GRANT ? r->u.grant.principal : r->u.session.user;

	if (proto_has(c->req, PK_SINCE) && e->t < a->since)
		return false;
	if (e->t > (proto_has(c->req, PK_TILL) ? a->till : c->now))
		return false;
	return a->user == NULL || strcmp(a->user, who) == 0;
}

int ops_history(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	struct hist *h;
	cJSON *arr;
	size_t i;
	int rc = hist_load(c, &h, err);

	if (rc != PSM_OK)
		return rc;
	if (c->req->a.user != NULL)
		snprintf(c->principal, sizeof(c->principal), "%s", c->req->a.user);
	rc = hist_expiries(h, c->now);
	if (h->nev > 1)
		qsort(h->ev, h->nev, sizeof(*h->ev), hist_ev_cmp);
	arr = rc == PSM_OK ? cJSON_AddArrayToObject(reply, "events") : NULL;
	rc = arr == NULL ? PSM_ENOMEM : PSM_OK;
	for (i = 0; rc == PSM_OK && i < h->nev; i++)
		if (hist_wanted(c, h, &h->ev[i]))
			rc = hist_ev_json(h, &h->ev[i], arr);
	hist_free(h);
	return rc == PSM_OK ? PSM_OK : psm_err_set(err, PSM_ENOMEM, "history: out of memory");
}

/* ---- the table at a past moment (check --at) ------------------------------------------ */

/* shm_scan_cb: today's policy records into the private table (runtime ones are the past's). */
static int at_copy_policy(const struct shm_entry *e, void *ctx)
{
	struct shm_writer *w = ctx;

	if ((e->kind == SHM_GRANT && !(e->flags & SHM_FL_SRC_POLICY)) || e->kind == SHM_SESSION)
		return 0;
	return shm_writer_insert(w, e, NULL, NULL) == PSM_OK ? 0 : -1;
}

/* The grants of the journal in force at t: made by then, not revoked by then, in their
 * window (session-bound grants are left out: the past's sessions are not replayed). */
static int at_fill_grants(struct ops_ctx *c, struct ops_at *t, struct psm_err *err)
{
	size_t i;
	uint32_t unit;
	int rc = PSM_OK;

	for (i = 0; rc == PSM_OK && i < t->h->g.n; i++) {
		const struct hist_item *it = &t->h->g.v[i];
		const struct rec_grant *g = &it->rec.u.grant;

		if (it->start > t->at || it->end <= t->at || g->has_session ||
		    (g->not_before != REC_NOT_BEFORE_NONE && g->not_before > t->at) ||
		    g->not_after <= t->at)
			continue;
		rc =
		    store_entry_insert(c->d->store.st, t->w, &it->rec, &c->d->conf.cfg, &unit, err);
		if (rc == PSM_EINVAL || rc == PSM_ENOENT)
			rc = PSM_OK; /* a principal NSS no longer knows: as psmd would leave it out
				      */
	}
	return rc;
}

int ops_at_open(struct ops_ctx *c, int64_t at, struct ops_at *t, struct psm_err *err)
{
	struct shm_writer_opts wo = {
	    .name = c->d->conf.cfg.shm_name,
	    .group = c->d->table.gid,
	    .host_name = c->d->conf.cfg.host_name,
	};
	int rc;

	memset(t, 0, sizeof(*t));
	t->at = at;
	if (at > c->now)
		return psm_err_set(err, PSM_EINVAL, "at: in the future (ask check without --at)");
	if (c->d->table.w == NULL)
		return psm_err_set(err, PSM_EUNAVAIL, "table: not published yet");
	rc = hist_load(c, &t->h, err);
	wo.capacity = c->d->table.capacity + (t->h != NULL ? t->h->g.n : 0);
	if (rc == PSM_OK)
		rc = shm_writer_create(&t->w, &wo, err);
	if (rc != PSM_OK)
		return rc;
	shm_writer_begin(t->w);
	if (shm_scan(shm_writer_view(c->d->table.w), 0, at_copy_policy, t->w) != 0)
		rc = psm_err_set(err, PSM_EFULL, "at: the past's table: out of room");
	if (rc == PSM_OK)
		rc = at_fill_grants(c, t, err);
	shm_writer_commit(t->w);
	shm_writer_heartbeat(t->w, at);
	return rc;
}

void ops_at_explain(const struct ops_at *t, const struct shm_entry *e, char *buf, size_t n)
{
	size_t pos = strlen(buf);
	const struct hist_item *it = e != NULL ? hist_find(&t->h->g, e->id) : NULL;
	char when[64], made[64], id[ID_TEXT_SIZE];

	time_format_utc(t->at, when, sizeof(when));
	if (pos < n)
		pos += (size_t)snprintf(
		    buf + pos, n - pos,
		    "at:       %s: grants from psmd's journal, today's policy\n", when);
	if (it == NULL || pos >= n)
		return;
	id_format(it->rec.u.grant.id, id);
	time_format_utc(it->start, made, sizeof(made));
	snprintf(buf + pos, n - pos, "grant:    %s, made %s by %s\n", id, made,
		 it->rec.u.grant.issuer);
}

void ops_at_free(struct ops_at *t)
{
	if (t->w != NULL)
		shm_writer_discard(t->w);
	hist_free(t->h);
	memset(t, 0, sizeof(*t));
}
