/* SPDX-License-Identifier: MIT */
/* psm_query_cmd.c - psm-query's commands: check, user, sessions. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cond.h"
#include "decide.h"
#include "eval.h"
#include "json_out.h"
#include "nss.h"
#include "perm.h"
#include "psm_query.h"
#include "shm.h"
#include "ttl.h"

#define PSM_QUERY_EXPLAIN_MAX 16384
#define PSM_QUERY_KV_MAX 12

/* A record (grant, deny rule or session) as named values: one JSON object, or a line.
 * TIME: s the RFC 3339 text, n the seconds (JSON: "key" and "key_unix"); LIST: s the
 * comma-separated items (JSON: an array). */
enum psm_query_kind {
	PSM_QUERY_STR,
	PSM_QUERY_INT,
	PSM_QUERY_NULL,
	PSM_QUERY_TIME,
	PSM_QUERY_LIST
};

struct psm_query_kv {
	const char *key;
	int kind;      /* enum psm_query_kind */
	const char *s; /* PSM_QUERY_STR: s[0..len) */
	size_t len;
	int64_t n; /* PSM_QUERY_INT */
};

struct psm_query_item {
	int n;
	struct psm_query_kv kv[PSM_QUERY_KV_MAX];
	char from[COND_ENC_MAX];
	char time[2][64]; /* times formatted, in the order added */
	int ntime;
};

static void psm_query_warn_age(int64_t age)
{
	char t[64];

	if (age <= DECIDE_WARN_AGE)
		return;
	ttl_format(age, t, sizeof(t));
	fprintf(stderr, "psm-query: warning: table heartbeat is %s ago (is psmd running?)\n", t);
}

/* The JSON (or listing) is complete: status, or a failure to write it. */
static int psm_query_out_done(struct json_out *w, int status)
{
	struct psm_err e;
	int rc = json_out_finish(w, &e);

	json_out_free(w);
	if (rc != PSM_OK)
		return psm_query_fail(psm_exit_code(rc), "output: %s", e.msg);
	return status;
}

static struct psm_query_kv *psm_query_kv_add(struct psm_query_item *it, const char *key, int kind)
{
	struct psm_query_kv *kv = &it->kv[it->n++];

	kv->key = key;
	kv->kind = kind;
	return kv;
}

static void psm_query_kv_str(struct psm_query_item *it, const char *key, const char *s, size_t len)
{
	struct psm_query_kv *kv = psm_query_kv_add(it, key, PSM_QUERY_STR);

	kv->s = s;
	kv->len = len;
}

/* Field f of e, up to a NUL in it, if any. */
static void psm_query_kv_field(struct psm_query_item *it, const char *key,
			       const struct shm_entry *e, int f)
{
	const char *s = e->f[f] != NULL ? e->f[f] : "";

	psm_query_kv_str(it, key, s, strnlen(s, e->f[f] != NULL ? e->flen[f] : 0));
}

static void psm_query_kv_int(struct psm_query_item *it, const char *key, int64_t v)
{
	psm_query_kv_add(it, key, PSM_QUERY_INT)->n = v;
}

/* t as RFC 3339 UTC (and its seconds), or null when it is none. */
static void psm_query_kv_time(struct psm_query_item *it, const char *key, int64_t t, int64_t none)
{
	char *buf = it->time[it->ntime];

	if (t == none) { /* null: s NULL */
		psm_query_kv_add(it, key, PSM_QUERY_TIME)->s = NULL;
		return;
	}
	it->ntime++;
	time_format_utc(t, buf, sizeof(it->time[0]));
	psm_query_kv_str(it, key, buf, strlen(buf));
	it->kv[it->n - 1].kind = PSM_QUERY_TIME;
	it->kv[it->n - 1].n = t;
}

/* A grant or deny record. */
static void psm_query_entry_item(const struct shm_entry *e, struct psm_query_item *it)
{
	static const struct {
		int f;
		const char *key;
	} fields[] = {
	    {SHM_F_PRINCIPAL, "principal"}, {SHM_F_PATTERN, "pattern"}, {SHM_F_SOURCE, "source"},
	    {SHM_F_ISSUER, "issuer"},	    {SHM_F_REASON, "reason"},	{SHM_F_HOSTS, "hosts"},
	};
	size_t i;

	memset(it, 0, sizeof(*it));
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		psm_query_kv_field(it, fields[i].key, e, fields[i].f);
	it->kv[it->n - 1].kind = PSM_QUERY_LIST; /* hosts */
	cond_format((const unsigned char *)(e->f[SHM_F_FROM] ? e->f[SHM_F_FROM] : ""),
		    e->f[SHM_F_FROM] ? e->flen[SHM_F_FROM] : 0, it->from, sizeof(it->from));
	psm_query_kv_str(it, "from", it->from, strlen(it->from)); /* "": anywhere */
	it->kv[it->n - 1].kind = PSM_QUERY_LIST;
	psm_query_kv_time(it, "not_before", e->not_before, SHM_TIME_NONE_BEFORE);
	psm_query_kv_time(it, "not_after", e->not_after, SHM_TIME_NONE_AFTER);
	if (e->rule != SHM_U32_NONE)
		psm_query_kv_int(it, "rule_index", e->rule);
	if (e->flags & SHM_FL_SESSION_BOUND)
		psm_query_kv_field(it, "session", e, SHM_F_SESSION);
}

/* A session record. */
static void psm_query_session_item(const struct shm_entry *e, struct psm_query_item *it)
{
	memset(it, 0, sizeof(*it));
	psm_query_kv_field(it, "session_id", e, SHM_F_KEY);
	psm_query_kv_field(it, "user", e, SHM_F_PRINCIPAL);
	psm_query_kv_int(it, "uid", e->uid);
	psm_query_kv_field(it, "service", e, SHM_F_HOSTS);
	psm_query_kv_field(it, "tty", e, SHM_F_REASON);
	psm_query_kv_field(it, "rhost", e, SHM_F_ISSUER);
	psm_query_kv_int(it, "pid", e->pid);
	psm_query_kv_time(it, "created", e->created, SHM_TIME_NONE_BEFORE);
	psm_query_kv_time(it, "expires", e->not_after, SHM_TIME_NONE_AFTER);
}

static void psm_query_item_json(struct json_out *w, const struct psm_query_item *it)
{
	const struct psm_query_kv *kv;

	json_out_begin_object(w);
	for (kv = it->kv; kv < it->kv + it->n; kv++) {
		if (kv->kind == PSM_QUERY_STR) {
			json_out_kv_string_n(w, kv->key, kv->s, kv->len);
			continue;
		}
		if (kv->kind == PSM_QUERY_TIME) {
			json_out_kv_time(w, kv->key, kv->s != NULL ? kv->n : INT64_MIN, INT64_MIN);
			continue;
		}
		if (kv->kind == PSM_QUERY_LIST) {
			json_out_kv_list(w, kv->key, kv->s, kv->len);
			continue;
		}
		json_out_key(w, kv->key);
		if (kv->kind == PSM_QUERY_INT)
			json_out_int64(w, kv->n);
		else
			json_out_null(w);
	}
	json_out_end_object(w);
}

/* The value named key; NULL when there is none. */
static const struct psm_query_kv *psm_query_item_get(const struct psm_query_item *it,
						     const char *key)
{
	int i;

	for (i = 0; i < it->n; i++)
		if (strcmp(it->kv[i].key, key) == 0)
			return &it->kv[i];
	return NULL;
}

/* The values named by cols, tab-separated (getent-like, no header: times hold ':'), as one
 * line; a null or missing one "never". */
static void psm_query_item_line(struct json_out *b, const struct psm_query_item *it,
				const char *const *cols)
{
	const struct psm_query_kv *kv;
	char num[24];
	size_t i;

	for (i = 0; cols[i] != NULL; i++) {
		kv = psm_query_item_get(it, cols[i]);
		if (i > 0)
			json_out_raw(b, "\t", 1);
		if (kv == NULL || kv->kind == PSM_QUERY_NULL ||
		    (kv->kind == PSM_QUERY_TIME && kv->s == NULL)) {
			json_out_raw(b, "never", 5);
		} else if (kv->kind != PSM_QUERY_INT) {
			json_out_raw(b, kv->s, kv->len);
		} else {
			snprintf(num, sizeof(num), "%" PRId64, kv->n);
			json_out_raw(b, num, strlen(num));
		}
	}
	json_out_raw(b, "\n", 1);
}

/* ---- check ------------------------------------------------------------------ */

/* --explain --json: the structured explanation (psmctl(8) JSON OUTPUT, "explain"). */
static void psm_query_explain_json(struct json_out *w, const struct decide_out *d)
{
	json_out_key(w, "explain");
	json_out_begin_object(w);
	if (d->have_eval)
		eval_explain_json(w, &d->ev, &d->req);
	else
		eval_explain_json_bare(w, d->status == DECIDE_ALLOW, d->perm,
				       d->break_glass ? "break_glass" : "none", d->why);
	json_out_end_object(w);
}

static int psm_query_check_json(const struct psm_query_opts *o, const struct decide_out *d,
				int status)
{
	static const char *const names[] = {"deny", "allow", "deny", "unavailable"};
	struct json_out w;

	json_out_init(&w, stdout, 0);
	json_out_begin_object(&w);
	json_out_key(&w, "ok");
	json_out_bool(&w, true);
	json_out_kv_string(&w, "user", d->req.user);
	json_out_kv_string(&w, "perm", d->perm);
	if (o->service != NULL)
		json_out_kv_string(&w, "service", o->service);
	json_out_kv_string(&w, "decision", names[d->status]);
	json_out_kv_string(&w, "reason", d->why);
	json_out_key(&w, "break_glass");
	json_out_bool(&w, d->break_glass);
	json_out_key(&w, "table_age_s");
	if (d->have_eval)
		json_out_int64(&w, d->age);
	else
		json_out_null(&w);
	if (o->explain)
		psm_query_explain_json(&w, d);
	json_out_end_object(&w);
	return psm_query_out_done(&w, status);
}

static int psm_query_check_out(const struct psm_query_opts *o, const struct decide_out *d)
{
	int status = d->status == DECIDE_ALLOW ? PSM_QUERY_OK : PSM_QUERY_DENY;
	char *explain = NULL;

	if (o->explain && !o->json) {
		explain = malloc(PSM_QUERY_EXPLAIN_MAX);
		if (explain == NULL)
			return psm_query_fail(PSM_QUERY_UNAVAIL, "out of memory");
		if (d->have_eval)
			eval_explain(&d->ev, &d->req, explain, PSM_QUERY_EXPLAIN_MAX);
		else
			snprintf(explain, PSM_QUERY_EXPLAIN_MAX, "decision: deny\nreason:   %s\n",
				 d->why);
	}
	if (o->json)
		status = psm_query_check_json(o, d, status);
	else if (explain != NULL && o->service != NULL)
		printf("%sservice:  %s\n", explain, o->service);
	else if (explain != NULL)
		fputs(explain, stdout);
	else
		printf("%s: %s\n", status == PSM_QUERY_OK ? "allow" : "deny", d->why);
	free(explain);
	return status;
}

int psm_query_check(const struct psm_query_opts *o)
{
	struct decide_req r;
	struct decide_out *d;
	struct psm_err e = {0};
	int rc;

	if (o->npos < 3 && o->service == NULL)
		return psm_query_fail(PSM_QUERY_USAGE, "check: PERM missing (or give --service S)");
	if (o->npos >= 3 && perm_validate(o->pos[2], strlen(o->pos[2]), &e) != PSM_OK)
		return psm_query_fail(PSM_QUERY_USAGE, "%s", e.msg);
	if (o->at != NULL || psm_query_table_denied(o->shm))
		return psm_query_sock_check(o);
	memset(&r, 0, sizeof(r));
	r.table = o->shm;
	r.user = o->pos[1];
	r.service = o->service;
	r.perm = o->npos >= 3 ? o->pos[2] : NULL;
	r.rhost = o->rhost;
	r.session = o->session;
	r.audit = SHM_U32_NONE;
	d = malloc(sizeof(*d));
	if (d == NULL)
		return psm_query_fail(PSM_QUERY_UNAVAIL, "out of memory");
	rc = decide_run(&r, d, &e);
	if (rc != PSM_OK)
		rc = psm_query_fail(psm_exit_code(rc), "%s", e.msg);
	else if (d->status == DECIDE_UNAVAIL)
		rc = psm_query_fail(PSM_QUERY_UNAVAIL, "%s", d->why);
	else {
		if (d->have_eval)
			psm_query_warn_age(d->age);
		rc = psm_query_check_out(o, d);
	}
	free(d);
	return rc;
}

/* ---- user and sessions: listings read in one transaction ----------------------- */

struct psm_query_list {
	const char *user; /* filter (sessions) or the user (grants) */
	bool known;	  /* NSS knows user */
	uid_t uid;
	struct nss_groups groups;
	int64_t now;
	struct shm_info info;
	const char *const *cols; /* the columns of a line; NULL: --json */
	const char *json_list;	 /* --json: the array's name (grants, sessions) */
	struct json_out out;	 /* --json: straight to stdout once complete; else the lines */
};

static int psm_query_open(const struct psm_query_opts *o, struct shm_view *v)
{
	struct psm_err e;
	int rc = shm_view_open(v, o->shm, &e);

	if (rc != PSM_OK)
		return psm_query_fail(psm_exit_code(rc), "%s", e.msg);
	return PSM_QUERY_OK;
}

/* A (re)start of the read: nothing listed yet. */
static int psm_query_list_reset(const struct shm_view *v, struct psm_query_list *l,
				struct psm_err *err)
{
	json_out_reset(&l->out);
	if (l->cols == NULL) {
		json_out_begin_object(&l->out);
		json_out_key(&l->out, "ok");
		json_out_bool(&l->out, true);
		if (l->user != NULL)
			json_out_kv_string(&l->out, "user", l->user);
		json_out_key(&l->out, l->json_list);
		json_out_begin_array(&l->out);
	}
	return shm_info_get(v, &l->info, err);
}

static void psm_query_list_add(struct psm_query_list *l, const struct psm_query_item *it)
{
	if (l->cols == NULL)
		psm_query_item_json(&l->out, it);
	else
		psm_query_item_line(&l->out, it, l->cols);
}

static int psm_query_grants_of(const struct shm_view *v, struct psm_query_list *l, const char *key,
			       struct psm_err *err)
{
	struct shm_iter it;
	struct shm_entry e;
	struct psm_query_item item;
	struct shm_recbuf *b = malloc(sizeof(*b));
	int rc;

	if (b == NULL)
		return psm_err_set(err, PSM_ENOMEM, "out of memory");
	shm_iter_init(v, &it, SHM_GRANT, key, strlen(key));
	while ((rc = shm_iter_next(v, &it, &e, b)) == 1) {
		if (e.kind != SHM_GRANT || l->now < e.not_before || l->now >= e.not_after)
			continue;
		if ((e.flags & SHM_FL_UID_CHECKED) && (!l->known || e.uid != (uint32_t)l->uid))
			continue;
		psm_query_entry_item(&e, &item);
		psm_query_list_add(l, &item);
	}
	free(b);
	if (rc < 0)
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: corrupt records under key \"%s\"",
				   v->name, key);
	return PSM_OK;
}

/* shm_read_fn: the user's grants and its groups'. */
static int psm_query_user_fn(const struct shm_view *v, void *ctx, struct psm_err *err)
{
	struct psm_query_list *l = ctx;
	char key[16];
	int i, rc = psm_query_list_reset(v, l, err);

	if (rc == PSM_OK)
		rc = psm_query_grants_of(v, l, l->user, err);
	for (i = 0; rc == PSM_OK && l->known && i < l->groups.n; i++) {
		snprintf(key, sizeof(key), "%%%u", (unsigned)l->groups.list[i]);
		rc = psm_query_grants_of(v, l, key, err);
	}
	return rc;
}

/* The listing read: out to stdout. */
static int psm_query_list_out(struct psm_query_list *l)
{
	psm_query_warn_age(l->now - l->info.heartbeat);
	if (l->cols == NULL) {
		json_out_end_array(&l->out);
		json_out_end_object(&l->out);
	} else if (l->out.code == PSM_OK && l->out.len > 0) {
		fwrite(l->out.buf, 1, l->out.len, stdout); /* errors: main's ferror(stdout) */
	}
	return psm_query_out_done(&l->out, PSM_QUERY_OK);
}

/* Reads with fn in one consistent transaction and prints the items. */
static int psm_query_list_run(const struct psm_query_opts *o, struct psm_query_list *l,
			      shm_read_fn fn, const char *const *cols)
{
	struct shm_view v;
	struct psm_err e = {0};
	int rc = psm_query_open(o, &v);

	if (rc != PSM_QUERY_OK)
		return rc;
	l->cols = o->json ? NULL : cols;
	json_out_init(&l->out, o->json ? stdout : NULL, 0);
	l->now = (int64_t)time(NULL);
	rc = shm_read_txn(&v, fn, l, &e);
	shm_view_close(&v);
	if (rc == PSM_OK)
		return psm_query_list_out(l);
	json_out_free(&l->out);
	return psm_query_fail(psm_exit_code(rc), "%s", e.msg);
}

int psm_query_user(const struct psm_query_opts *o)
{
	static const char *const cols[] = {"principal", "pattern", "not_after", "source", NULL};
	struct psm_query_list l;
	struct psm_err e = {0};
	struct nss_id u;
	int rc;

	if (psm_query_table_denied(o->shm))
		return psm_query_sock_user(o);
	memset(&l, 0, sizeof(l));
	l.user = o->pos[1];
	l.json_list = "grants";
	rc = nss_user(l.user, &u, &e);
	if (rc == 1) {
		l.known = true;
		l.uid = u.uid;
		rc = nss_groups(&l.groups, l.user, u.gid, &e);
	}
	if (rc < 0)
		return psm_query_fail(psm_exit_code(-rc), "%s", e.msg);
	rc = psm_query_list_run(o, &l, psm_query_user_fn, cols);
	if (l.known)
		nss_groups_free(&l.groups);
	return rc;
}

/* shm_scan callback: one session record. */
static int psm_query_session_cb(const struct shm_entry *e, void *ctx)
{
	struct psm_query_list *l = ctx;
	struct psm_query_item it;
	const struct psm_query_kv *user;

	/* psmd keeps an expired session in the table a while (for explanations): not listed */
	if (e->kind != SHM_SESSION || l->now >= e->not_after)
		return 0;
	psm_query_session_item(e, &it);
	user = psm_query_item_get(&it, "user");
	if (l->user != NULL &&
	    (user->len != strlen(l->user) || memcmp(user->s, l->user, user->len) != 0))
		return 0;
	psm_query_list_add(l, &it);
	return 0;
}

static int psm_query_sessions_fn(const struct shm_view *v, void *ctx, struct psm_err *err)
{
	struct psm_query_list *l = ctx;
	int rc = psm_query_list_reset(v, l, err);

	if (rc != PSM_OK)
		return rc;
	rc = shm_scan(v, SHM_SESSION, psm_query_session_cb, l);
	if (rc == PSM_ENOMEM)
		return psm_err_set(err, PSM_ENOMEM, "out of memory");
	if (rc != 0)
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: corrupt session records", v->name);
	return PSM_OK;
}

int psm_query_sessions(const struct psm_query_opts *o)
{
	static const char *const cols[] = {"session_id", "user",    "service", "tty", "rhost",
					   "pid",	 "created", "expires", NULL};
	struct psm_query_list l;

	if (psm_query_table_denied(o->shm))
		return psm_query_sock_sessions(o);
	memset(&l, 0, sizeof(l));
	l.json_list = "sessions";
	l.user = o->npos > 1 ? o->pos[1] : NULL;
	return psm_query_list_run(o, &l, psm_query_sessions_fn, cols);
}
