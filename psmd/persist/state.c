/* SPDX-License-Identifier: MIT */
/* state.c - psmd's in-memory grants, sessions and tombstones: last-writer-wins by version. */
#include "state.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/*
 * Every record lives in one st_obj, linked into intrusive chained hash maps:
 * by id (one map per record type), grants also by principal and, when bound
 * to a session, by that session's id.  Maps double when they get full.
 */
struct st_link {
	struct st_link *next;
	uint64_t hash;
};

struct st_map {
	struct st_link **b;
	size_t mask; /* buckets - 1 */
	size_t n;
};

struct st_obj {
	struct st_link by_id;
	struct st_link by_principal; /* grants */
	struct st_link by_session;   /* session-bound grants */
	struct record rec;
};

enum { ST_GRANT, ST_SESSION, ST_REVOKE, ST_SESSION_END, ST_NMAPS };

struct state {
	struct st_map id[ST_NMAPS];
	struct st_map principal; /* grants by principal */
	struct st_map bound;	 /* grants by the session they are bound to */
	uint64_t max_version;
	state_listener_fn listener;
	void *listener_ctx;
};

#define st_container(ptr, member)                                                                  \
	((struct st_obj *)(void *)((char *)(ptr)-offsetof(struct st_obj, member)))

#define ST_MAP_MIN 64

/* ---- hash maps ------------------------------------------------------------------ */

static uint64_t st_str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

static int st_map_init(struct st_map *m)
{
	m->b = calloc(ST_MAP_MIN, sizeof(*m->b));
	m->mask = ST_MAP_MIN - 1;
	m->n = 0;
	return m->b == NULL ? PSM_ENOMEM : PSM_OK;
}

/* Makes room for one more link (doubles at load factor 1). */
static int st_map_reserve(struct st_map *m)
{
	size_t nb = (m->mask + 1) * 2, i;
	struct st_link **b;

	if (m->n < m->mask + 1)
		return PSM_OK;
	b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return PSM_ENOMEM;
	for (i = 0; i <= m->mask; i++) {
		struct st_link *l = m->b[i], *next;

		for (; l != NULL; l = next) {
			next = l->next;
			l->next = b[l->hash & (nb - 1)];
			b[l->hash & (nb - 1)] = l;
		}
	}
	free(m->b);
	m->b = b;
	m->mask = nb - 1;
	return PSM_OK;
}

/* Inserts l (room must have been reserved). */
static void st_map_put(struct st_map *m, struct st_link *l, uint64_t hash)
{
	struct st_link **slot = &m->b[hash & m->mask];

	l->hash = hash;
	l->next = *slot;
	*slot = l;
	m->n++;
}

static void st_map_del(struct st_map *m, struct st_link *l)
{
	struct st_link **p = &m->b[l->hash & m->mask];

	while (*p != NULL && *p != l)
		p = &(*p)->next;
	if (*p != NULL) {
		*p = l->next;
		m->n--;
	}
}

static int st_type_map(int type)
{
	switch (type) {
	case REC_GRANT:
		return ST_GRANT;
	case REC_SESSION:
		return ST_SESSION;
	case REC_REVOKE:
		return ST_REVOKE;
	default:
		return ST_SESSION_END;
	}
}

static struct st_obj *st_find(const struct st_map *m, const uint8_t id[ID_BYTES])
{
	uint64_t h = id_hash(id);
	struct st_link *l;

	for (l = m->b[h & m->mask]; l != NULL; l = l->next) {
		struct st_obj *o = st_container(l, by_id);

		if (l->hash == h && memcmp(record_id(&o->rec), id, ID_BYTES) == 0)
			return o;
	}
	return NULL;
}

/* ---- life of the state -------------------------------------------------------------- */

int state_new(struct state **out, struct psm_err *err)
{
	struct state *s = calloc(1, sizeof(*s));
	int i, rc = s == NULL ? PSM_ENOMEM : PSM_OK;

	for (i = 0; rc == PSM_OK && i < ST_NMAPS; i++)
		rc = st_map_init(&s->id[i]);
	if (rc == PSM_OK)
		rc = st_map_init(&s->principal);
	if (rc == PSM_OK)
		rc = st_map_init(&s->bound);
	if (rc != PSM_OK) {
		state_free(s);
		return psm_err_set(err, PSM_ENOMEM, "state: out of memory");
	}
	*out = s;
	return PSM_OK;
}

void state_free(struct state *s)
{
	size_t i;
	int t;

	if (s == NULL)
		return;
	for (t = 0; t < ST_NMAPS; t++) {
		struct st_map *m = &s->id[t];

		for (i = 0; m->b != NULL && i <= m->mask; i++) {
			struct st_link *l = m->b[i], *next;

			for (; l != NULL; l = next) {
				struct st_obj *o = st_container(l, by_id);

				next = l->next;
				record_free(&o->rec);
				free(o);
			}
		}
		free(m->b);
	}
	free(s->principal.b);
	free(s->bound.b);
	free(s);
}

void state_set_listener(struct state *s, state_listener_fn fn, void *ctx)
{
	s->listener = fn;
	s->listener_ctx = ctx;
}

static const char *const st_outcome_names[] = {
    [STATE_APPLIED] = "applied",
    [STATE_DUPLICATE] = "already present",
    [STATE_STALE] = "a newer version is present",
    [STATE_REVOKED] = "revoked",
    [STATE_SESSION_ENDED] = "its session has ended",
    [STATE_EXPIRED] = "expired",
};

const char *state_outcome_name(int outcome)
{
	if (outcome < STATE_APPLIED || outcome > STATE_EXPIRED)
		return "unknown";
	return st_outcome_names[outcome];
}

/* ---- linking records in and out ------------------------------------------------------ */

static void st_emit(struct state *s, int event, struct st_obj *o)
{
	if (s->listener != NULL && (o->rec.type == REC_GRANT || o->rec.type == REC_SESSION))
		s->listener(s->listener_ctx, event, &o->rec);
}

/* Reserves room in every map a record of this type goes into. */
static int st_reserve(struct state *s, int type)
{
	int rc = st_map_reserve(&s->id[st_type_map(type)]);

	if (rc == PSM_OK && type == REC_GRANT)
		rc = st_map_reserve(&s->principal);
	if (rc == PSM_OK && type == REC_GRANT)
		rc = st_map_reserve(&s->bound);
	return rc;
}

/* Links o in (room reserved) and tells the listener. */
static void st_link_in(struct state *s, struct st_obj *o)
{
	struct rec_grant *g = &o->rec.u.grant;

	st_map_put(&s->id[st_type_map(o->rec.type)], &o->by_id, id_hash(record_id(&o->rec)));
	if (o->rec.type == REC_GRANT) {
		st_map_put(&s->principal, &o->by_principal, st_str_hash(g->principal));
		if (g->has_session)
			st_map_put(&s->bound, &o->by_session, id_hash(g->session));
	}
	if (record_version(&o->rec) > s->max_version)
		s->max_version = record_version(&o->rec);
	st_emit(s, STATE_EV_ADD, o);
}

static void st_unlink(struct state *s, struct st_obj *o)
{
	st_emit(s, STATE_EV_DEL, o);
	st_map_del(&s->id[st_type_map(o->rec.type)], &o->by_id);
	if (o->rec.type == REC_GRANT) {
		st_map_del(&s->principal, &o->by_principal);
		if (o->rec.u.grant.has_session)
			st_map_del(&s->bound, &o->by_session);
	}
	record_free(&o->rec);
	free(o);
}

/* Removes the grants bound to session id; returns how many. */
static size_t st_drop_bound(struct state *s, const uint8_t id[ID_BYTES])
{
	uint64_t h = id_hash(id);
	struct st_link *l, *next;
	size_t n = 0;

	for (l = s->bound.b[h & s->bound.mask]; l != NULL; l = next) {
		struct st_obj *o = st_container(l, by_session);

		next = l->next;
		if (l->hash == h && memcmp(o->rec.u.grant.session, id, ID_BYTES) == 0) {
			st_unlink(s, o);
			n++;
		}
	}
	return n;
}

/* Removes a live record; a session takes its bound grants with it. */
static size_t st_remove_live(struct state *s, struct st_obj *o, bool cascade)
{
	uint8_t id[ID_BYTES];
	bool session = o->rec.type == REC_SESSION;

	memcpy(id, record_id(&o->rec), ID_BYTES);
	st_unlink(s, o);
	return 1 + (session && cascade ? st_drop_bound(s, id) : 0);
}

/* ---- applying records ------------------------------------------------------------------ */

static int st_tomb_type(int live_type)
{
	return live_type == REC_GRANT ? REC_REVOKE : REC_SESSION_END;
}

static int st_live_type(int tomb_type)
{
	return tomb_type == REC_REVOKE ? REC_GRANT : REC_SESSION;
}

static int st_compare(uint64_t have, uint64_t v)
{
	return have == v ? STATE_DUPLICATE : STATE_STALE;
}

static int st_check_live(const struct state *s, const struct record *r, int64_t now)
{
	const uint8_t *id = record_id(r);
	struct st_obj *have = st_find(&s->id[st_type_map(r->type)], id);
	struct st_obj *tomb = st_find(&s->id[st_type_map(st_tomb_type(r->type))], id);
	uint64_t v = record_version(r);

	if (have != NULL && record_version(&have->rec) >= v)
		return st_compare(record_version(&have->rec), v);
	if (tomb != NULL && record_version(&tomb->rec) >= v)
		return STATE_REVOKED;
	if (r->type == REC_GRANT && r->u.grant.has_session &&
	    st_find(&s->id[ST_SESSION_END], r->u.grant.session) != NULL)
		return STATE_SESSION_ENDED;
	if (record_expiry(r) <= now)
		return STATE_EXPIRED;
	return STATE_APPLIED;
}

static int st_check_tomb(const struct state *s, const struct record *r, int64_t now)
{
	const uint8_t *id = record_id(r);
	struct st_obj *have = st_find(&s->id[st_type_map(r->type)], id);
	struct st_obj *live = st_find(&s->id[st_type_map(st_live_type(r->type))], id);
	uint64_t v = record_version(r);

	if (live != NULL && record_version(&live->rec) > v)
		return STATE_STALE;
	if (have != NULL && record_version(&have->rec) >= v)
		return st_compare(record_version(&have->rec), v);
	if (live == NULL && record_expiry(r) <= now)
		return STATE_EXPIRED;
	return STATE_APPLIED;
}

int state_check(const struct state *s, const struct record *r, int64_t now)
{
	if (r->type == REC_GRANT || r->type == REC_SESSION)
		return st_check_live(s, r, now);
	return st_check_tomb(s, r, now);
}

/* Replaces whatever holds r's id (the old record of its type, the other kind)
 * by r; r's tombstone is dropped when its keep_until has passed. */
static void st_commit(struct state *s, struct st_obj *o, int64_t now)
{
	const struct record *r = &o->rec;
	const uint8_t *id = record_id(r);
	bool live = r->type == REC_GRANT || r->type == REC_SESSION;
	int other = live ? st_tomb_type(r->type) : st_live_type(r->type);
	struct st_obj *old = st_find(&s->id[st_type_map(r->type)], id);
	struct st_obj *x = st_find(&s->id[st_type_map(other)], id);

	if (old != NULL)
		st_remove_live(s, old, false); /* newer version of the same kind */
	if (x != NULL)
		st_remove_live(s, x, false);
	if (r->type == REC_SESSION_END)
		st_drop_bound(s, id); /* its grants end with the session */
	if (!live && record_expiry(r) <= now) {
		record_free(&o->rec);
		free(o);
		return;
	}
	st_link_in(s, o);
}

int state_apply(struct state *s, struct record *rec, int64_t now, int *outcome, struct psm_err *err)
{
	int oc = state_check(s, rec, now);
	struct st_obj *o;

	if (outcome != NULL)
		*outcome = oc;
	if (oc != STATE_APPLIED) {
		record_free(rec);
		return PSM_OK;
	}
	o = calloc(1, sizeof(*o));
	if (o == NULL || st_reserve(s, rec->type) != PSM_OK) {
		free(o);
		record_free(rec);
		return psm_err_set(err, PSM_ENOMEM, "state: out of memory");
	}
	record_move(&o->rec, rec);
	st_commit(s, o, now);
	return PSM_OK;
}

/* ---- taking a record out ------------------------------------------------------------- */

bool state_remove(struct state *s, int type, const uint8_t id[ID_BYTES])
{
	struct st_obj *o = st_find(&s->id[st_type_map(type)], id);

	if (o != NULL)
		st_remove_live(s, o, false);
	return o != NULL;
}

/* ---- lookups and iteration -------------------------------------------------------------- */

struct record *state_grant(const struct state *s, const uint8_t id[ID_BYTES])
{
	struct st_obj *o = st_find(&s->id[ST_GRANT], id);

	return o == NULL ? NULL : &o->rec;
}

struct record *state_session(const struct state *s, const uint8_t id[ID_BYTES])
{
	struct st_obj *o = st_find(&s->id[ST_SESSION], id);

	return o == NULL ? NULL : &o->rec;
}

struct record *state_tomb(const struct state *s, int type, const uint8_t id[ID_BYTES])
{
	struct st_obj *o;

	if (type != REC_REVOKE && type != REC_SESSION_END)
		return NULL;
	o = st_find(&s->id[st_type_map(type)], id);
	return o == NULL ? NULL : &o->rec;
}

int state_foreach(const struct state *s, int type, state_visit_fn cb, void *ctx)
{
	const struct st_map *m = &s->id[st_type_map(type)];
	size_t i;
	int rc;

	for (i = 0; i <= m->mask; i++) {
		struct st_link *l = m->b[i], *next;

		for (; l != NULL; l = next) {
			next = l->next;
			rc = cb(ctx, &st_container(l, by_id)->rec);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

int state_foreach_principal(const struct state *s, const char *principal, const char *pattern,
			    state_visit_fn cb, void *ctx)
{
	uint64_t h = st_str_hash(principal);
	struct st_link *l, *next;
	int rc;

	for (l = s->principal.b[h & s->principal.mask]; l != NULL; l = next) {
		struct rec_grant *g = &st_container(l, by_principal)->rec.u.grant;

		next = l->next;
		if (l->hash != h || strcmp(g->principal, principal) != 0)
			continue;
		if (pattern != NULL && strcmp(g->pattern, pattern) != 0)
			continue;
		rc = cb(ctx, &st_container(l, by_principal)->rec);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int state_foreach_bound(const struct state *s, const uint8_t session[ID_BYTES], state_visit_fn cb,
			void *ctx)
{
	uint64_t h = id_hash(session);
	struct st_link *l, *next;
	int rc;

	for (l = s->bound.b[h & s->bound.mask]; l != NULL; l = next) {
		struct st_obj *o = st_container(l, by_session);

		next = l->next;
		if (l->hash != h || memcmp(o->rec.u.grant.session, session, ID_BYTES) != 0)
			continue;
		rc = cb(ctx, &o->rec);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void state_counts(const struct state *s, struct state_counts *c)
{
	c->grants = s->id[ST_GRANT].n;
	c->sessions = s->id[ST_SESSION].n;
	c->revokes = s->id[ST_REVOKE].n;
	c->session_ends = s->id[ST_SESSION_END].n;
	c->max_version = s->max_version;
}

/* ---- expiry -------------------------------------------------------------------------- */

/* Removes the records of map t with expiry <= now; returns how many (cascades included). */
static size_t st_expire_map(struct state *s, int t, int64_t now)
{
	struct st_map *m = &s->id[t];
	size_t i, n = 0;

	for (i = 0; i <= m->mask; i++) {
		struct st_link *l = m->b[i], *next;

		for (; l != NULL; l = next) {
			struct st_obj *o = st_container(l, by_id);

			next = l->next;
			if (record_expiry(&o->rec) > now)
				continue;
			/* a cascade only touches grants: never this bucket's neighbours */
			n += st_remove_live(s, o, true);
		}
	}
	return n;
}

size_t state_expire(struct state *s, int64_t now)
{
	size_t n = st_expire_map(s, ST_GRANT, now);

	n += st_expire_map(s, ST_SESSION, now);
	st_expire_map(s, ST_REVOKE, now);
	st_expire_map(s, ST_SESSION_END, now);
	return n;
}

/* ---- export and import ------------------------------------------------------------------ */

struct st_vec {
	const struct record **v;
	size_t n, cap;
};

static int st_vec_push(void *ctx, struct record *rec)
{
	struct st_vec *v = ctx;

	if (v->n == v->cap) {
		size_t cap = v->cap == 0 ? 64 : v->cap * 2;
		const struct record **nv = realloc(v->v, cap * sizeof(*nv));

		if (nv == NULL)
			return PSM_ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = rec;
	return 0;
}

static int st_cmp_id(const void *a, const void *b)
{
	const struct record *ra = *(const struct record *const *)a;
	const struct record *rb = *(const struct record *const *)b;

	return memcmp(record_id(ra), record_id(rb), ID_BYTES);
}

/* Adds the records of type, sorted by id, to a new array key of doc. */
static int st_export_type(const struct state *s, int type, cJSON *doc, const char *key)
{
	struct st_vec v = {0};
	cJSON *arr = cJSON_AddArrayToObject(doc, key);
	size_t i;
	int rc = arr == NULL ? PSM_ENOMEM : state_foreach(s, type, st_vec_push, &v);

	if (rc == PSM_OK && v.n > 1)
		qsort(v.v, v.n, sizeof(*v.v), st_cmp_id);
	for (i = 0; rc == PSM_OK && i < v.n; i++) {
		cJSON *o = type == REC_GRANT ? record_grant_to_json(&v.v[i]->u.grant)
					     : record_session_to_json(&v.v[i]->u.session);

		if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			rc = PSM_ENOMEM;
		}
	}
	free(v.v);
	return rc;
}

int state_export(const struct state *s, cJSON **out, struct psm_err *err)
{
	cJSON *doc = cJSON_CreateObject();
	int rc = doc == NULL ? PSM_ENOMEM : PSM_OK;

	if (rc == PSM_OK && (cJSON_AddStringToObject(doc, "format", "psm-export") == NULL ||
			     cJSON_AddNumberToObject(doc, "version", 1) == NULL))
		rc = PSM_ENOMEM;
	if (rc == PSM_OK)
		rc = st_export_type(s, REC_GRANT, doc, "grants");
	if (rc == PSM_OK)
		rc = st_export_type(s, REC_SESSION, doc, "sessions");
	if (rc != PSM_OK) {
		cJSON_Delete(doc);
		return psm_err_set(err, PSM_ENOMEM, "export: out of memory");
	}
	*out = doc;
	return PSM_OK;
}

/* Adds {"kind","index","id","reason"} to rep->skipped. */
static int st_skip(struct state_import_report *rep, const char *kind, size_t index,
		   const cJSON *item, const char *reason)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(
	    item, strcmp(kind, "grant") == 0 ? "grant_id" : "session_id");
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || !cJSON_AddItemToArray(rep->skipped, o) ||
	    cJSON_AddStringToObject(o, "kind", kind) == NULL ||
	    cJSON_AddNumberToObject(o, "index", (double)index) == NULL ||
	    cJSON_AddStringToObject(o, "id", cJSON_IsString(id) ? id->valuestring : "") == NULL ||
	    cJSON_AddStringToObject(o, "reason", reason) == NULL)
		return PSM_ENOMEM;
	return PSM_OK;
}

/* Imports one item of kind ("grant"/"session"). */
static int st_import_item(struct state *s, const cJSON *item, const char *kind, size_t index,
			  bool dry_run, int64_t now, struct state_import_report *rep,
			  struct psm_err *err)
{
	bool grant = strcmp(kind, "grant") == 0;
	struct psm_err e = {0};
	struct record r;
	int oc, rc = grant ? record_grant_from_json(item, &r, &e)
			   : record_session_from_json(item, &r, &e);

	if (rc == PSM_ENOMEM)
		return psm_err_set(err, rc, "import: out of memory");
	if (rc != PSM_OK)
		return st_skip(rep, kind, index, item, e.msg);
	oc = state_check(s, &r, now);
	if (oc == STATE_APPLIED && !dry_run && rep->on_apply != NULL)
		rc = rep->on_apply(rep->ctx, &r, err);
	if (oc == STATE_APPLIED && !dry_run && rc == PSM_OK)
		rc = state_apply(s, &r, now, NULL, err);
	record_free(&r);
	if (rc != PSM_OK)
		return rc;
	if (oc != STATE_APPLIED)
		return st_skip(rep, kind, index, item, state_outcome_name(oc));
	*(grant ? &rep->grants : &rep->sessions) += 1;
	return PSM_OK;
}

static int st_import_array(struct state *s, const cJSON *arr, const char *kind, bool dry_run,
			   int64_t now, struct state_import_report *rep, struct psm_err *err)
{
	const cJSON *item;
	size_t i = 0;
	int rc;

	if (arr == NULL || cJSON_IsNull(arr))
		return PSM_OK;
	if (!cJSON_IsArray(arr))
		return psm_err_set(err, PSM_EINVAL, "%ss: expected an array", kind);
	cJSON_ArrayForEach(item, arr)
	{
		rc = st_import_item(s, item, kind, i++, dry_run, now, rep, err);
		if (rc != PSM_OK)
			return rc;
	}
	return PSM_OK;
}

int state_import(struct state *s, const cJSON *grants, const cJSON *sessions, bool dry_run,
		 int64_t now, struct state_import_report *rep, struct psm_err *err)
{
	int rc;

	rep->grants = rep->sessions = 0;
	rep->skipped = cJSON_CreateArray();
	if (rep->skipped == NULL)
		return psm_err_set(err, PSM_ENOMEM, "import: out of memory");
	/* sessions first: grants bound to them then find them */
	rc = st_import_array(s, sessions, "session", dry_run, now, rep, err);
	if (rc == PSM_OK)
		rc = st_import_array(s, grants, "grant", dry_run, now, rep, err);
	if (rc == PSM_ENOMEM)
		psm_err_set(err, rc, "import: out of memory");
	return rc;
}

int state_import_doc(struct state *s, const cJSON *doc, bool dry_run, int64_t now,
		     struct state_import_report *rep, struct psm_err *err)
{
	const cJSON *m, *f = cJSON_GetObjectItemCaseSensitive(doc, "format");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "version");

	rep->skipped = NULL;
	if (!cJSON_IsObject(doc))
		return psm_err_set(err, PSM_EINVAL, "import: expected a JSON object");
	cJSON_ArrayForEach(m, doc)
	{
		if (strcmp(m->string, "format") != 0 && strcmp(m->string, "version") != 0 &&
		    strcmp(m->string, "grants") != 0 && strcmp(m->string, "sessions") != 0)
			return psm_err_set(err, PSM_EINVAL, "import: unknown key \"%.64s\"",
					   m->string);
	}
	if (f != NULL && (!cJSON_IsString(f) || strcmp(f->valuestring, "psm-export") != 0))
		return psm_err_set(err, PSM_EINVAL, "format: expected \"psm-export\"");
	if (v != NULL && (!cJSON_IsNumber(v) || v->valuedouble != 1))
		return psm_err_set(err, PSM_EINVAL, "version: only version 1 is known");
	return state_import(s, cJSON_GetObjectItemCaseSensitive(doc, "grants"),
			    cJSON_GetObjectItemCaseSensitive(doc, "sessions"), dry_run, now, rep,
			    err);
}
