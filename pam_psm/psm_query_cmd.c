/* SPDX-License-Identifier: MIT */
/* psm_query_cmd.c - psm-query's commands: check, user, sessions. */
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cond.h"
#include "decide.h"
#include "eval.h"
#include "perm.h"
#include "psm_query.h"
#include "shm.h"
#include "ttl.h"

#define PSM_QUERY_EXPLAIN_MAX 16384

/* Prints obj as one line of JSON and frees it. */
static int psm_query_json(cJSON *obj, int status)
{
	char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;

	cJSON_Delete(obj);
	if (s == NULL)
		return psm_query_fail(PSM_QUERY_UNAVAIL, "out of memory");
	puts(s);
	cJSON_free(s);
	return status;
}

static void psm_query_warn_age(int64_t age)
{
	char t[64];

	if (age <= DECIDE_WARN_AGE)
		return;
	ttl_format(age, t, sizeof(t));
	fprintf(stderr, "psm-query: warning: table heartbeat is %s ago (is psmd running?)\n", t);
}

/* Field i of e as a NUL-terminated string in buf. */
static const char *psm_query_field(const struct shm_entry *e, int i, char *buf, size_t n)
{
	int len = e->f[i] != NULL ? e->flen[i] : 0;

	snprintf(buf, n, "%.*s", len, len > 0 ? e->f[i] : "");
	return buf;
}

static void psm_query_add_time(cJSON *obj, const char *key, int64_t t, int64_t none)
{
	char buf[64];

	if (t == none) {
		cJSON_AddNullToObject(obj, key);
		return;
	}
	time_format_utc(t, buf, sizeof(buf));
	cJSON_AddStringToObject(obj, key, buf);
}

/* A grant or deny record as a JSON object. */
static cJSON *psm_query_entry_json(const struct shm_entry *e)
{
	static const struct { int f; const char *key; } fields[] = {
		{ SHM_F_PRINCIPAL, "principal" }, { SHM_F_PATTERN, "pattern" },
		{ SHM_F_SOURCE, "source" }, { SHM_F_ISSUER, "issuer" },
		{ SHM_F_REASON, "reason" }, { SHM_F_HOSTS, "hosts" },
	};
	char buf[SHM_FIELD_MAX + 1], from[COND_ENC_MAX];
	cJSON *o = cJSON_CreateObject();
	size_t i;

	for (i = 0; o != NULL && i < sizeof(fields) / sizeof(fields[0]); i++)
		cJSON_AddStringToObject(o, fields[i].key,
					psm_query_field(e, fields[i].f, buf, sizeof(buf)));
	if (o == NULL)
		return NULL;
	cond_format((const unsigned char *)(e->f[SHM_F_FROM] ? e->f[SHM_F_FROM] : ""),
		    e->f[SHM_F_FROM] ? e->flen[SHM_F_FROM] : 0, from, sizeof(from));
	cJSON_AddStringToObject(o, "from", from[0] ? from : "anywhere");
	psm_query_add_time(o, "not_before", e->not_before, SHM_TIME_NONE_BEFORE);
	psm_query_add_time(o, "not_after", e->not_after, SHM_TIME_NONE_AFTER);
	if (e->rule != SHM_U32_NONE)
		cJSON_AddNumberToObject(o, "rule", e->rule);
	if (e->flags & SHM_FL_SESSION_BOUND)
		cJSON_AddStringToObject(o, "session",
					psm_query_field(e, SHM_F_SESSION, buf, sizeof(buf)));
	return o;
}

/* ---- check ------------------------------------------------------------------ */

static int psm_query_check_json(const struct psm_query_opts *o, const struct decide_out *d,
				const char *explain, int status)
{
	static const char *const names[] = { "deny", "allow", "deny", "unavailable" };
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "user", d->req.user);
	cJSON_AddStringToObject(j, "perm", d->perm);
	if (o->service != NULL)
		cJSON_AddStringToObject(j, "service", o->service);
	cJSON_AddStringToObject(j, "decision", names[d->status]);
	cJSON_AddStringToObject(j, "reason", d->why);
	if (d->have_eval && d->ev.have_entry)
		cJSON_AddItemToObject(j, "rule", psm_query_entry_json(&d->ev.entry));
	if (d->have_eval) {
		cJSON *t = cJSON_AddObjectToObject(j, "table");

		cJSON_AddStringToObject(t, "name", o->shm);
		cJSON_AddNumberToObject(t, "generation", (double)d->ev.info.generation);
		cJSON_AddNumberToObject(t, "heartbeat_age", (double)d->age);
		cJSON_AddNumberToObject(t, "writer_pid", d->ev.info.writer_pid);
	}
	if (explain != NULL)
		cJSON_AddStringToObject(j, "explain", explain);
	return psm_query_json(j, status);
}

static int psm_query_check_out(const struct psm_query_opts *o, const struct decide_out *d)
{
	int status = d->status == DECIDE_ALLOW ? PSM_QUERY_OK : PSM_QUERY_DENY;
	char *explain = NULL;

	if (o->explain) {
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
		status = psm_query_check_json(o, d, explain, status);
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
	struct psm_err e = { 0 };
	int rc;

	if (o->npos < 3 && o->service == NULL)
		return psm_query_fail(PSM_QUERY_USAGE, "check: PERM missing (or give --service S)");
	if (o->npos >= 3 && perm_validate(o->pos[2], strlen(o->pos[2]), &e) != PSM_OK)
		return psm_query_fail(PSM_QUERY_USAGE, "%s", e.msg);
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
	const char *user;       /* filter (sessions) or the user (grants) */
	bool known;             /* NSS knows user */
	uid_t uid;
	struct eval_groups groups;
	int64_t now;
	struct shm_info info;
	cJSON *arr;
};

static int psm_query_open(const struct psm_query_opts *o, struct shm_view *v)
{
	struct psm_err e;
	int rc = shm_view_open(v, o->shm, &e);

	if (rc != PSM_OK)
		return psm_query_fail(psm_exit_code(rc), "%s", e.msg);
	return PSM_QUERY_OK;
}

static int psm_query_list_reset(const struct shm_view *v, struct psm_query_list *l,
				struct psm_err *err)
{
	cJSON_Delete(l->arr);
	l->arr = cJSON_CreateArray();
	if (l->arr == NULL)
		return psm_err_set(err, PSM_ENOMEM, "out of memory");
	return shm_info_get(v, &l->info, err);
}

static int psm_query_grants_of(const struct shm_view *v, struct psm_query_list *l,
			       const char *key, struct psm_err *err)
{
	struct shm_iter it;
	struct shm_entry e;
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
		cJSON_AddItemToArray(l->arr, psm_query_entry_json(&e));
	}
	free(b);
	if (rc < 0)
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: corrupt records under key \"%s\"",
				   v->name, key);
	return PSM_OK;
}

/* eval_read_fn: the user's grants and its groups'. */
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

static int psm_query_list_out(const struct psm_query_opts *o, struct psm_query_list *l,
			      const char *const *cols)
{
	const cJSON *it;
	size_t i;

	psm_query_warn_age(l->now - l->info.heartbeat);
	if (o->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddItemToObject(j, "items", l->arr);
		l->arr = NULL;
		return psm_query_json(j, PSM_QUERY_OK);
	}
	cJSON_ArrayForEach(it, l->arr) {
		for (i = 0; cols[i] != NULL; i++) {
			const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, cols[i]);

			if (i > 0)
				putchar(':');
			if (cJSON_IsNumber(c))
				printf("%.0f", c->valuedouble);
			else
				fputs(cJSON_IsString(c) ? c->valuestring : "never", stdout);
		}
		putchar('\n');
	}
	return PSM_QUERY_OK;
}

/* Reads with fn in one consistent transaction and prints the columns. */
static int psm_query_list_run(const struct psm_query_opts *o, struct psm_query_list *l,
			      eval_read_fn fn, const char *const *cols)
{
	struct shm_view v;
	struct psm_err e = { 0 };
	int rc = psm_query_open(o, &v);

	if (rc != PSM_QUERY_OK)
		return rc;
	l->now = (int64_t)time(NULL);
	rc = eval_read(&v, fn, l, &e);
	shm_view_close(&v);
	if (rc == PSM_OK)
		rc = psm_query_list_out(o, l, cols);
	else
		rc = psm_query_fail(psm_exit_code(rc), "%s", e.msg);
	cJSON_Delete(l->arr);
	return rc;
}

int psm_query_user(const struct psm_query_opts *o)
{
	static const char *const cols[] = { "principal", "pattern", "not_after", "source", NULL };
	struct psm_query_list l;
	struct psm_err e = { 0 };
	struct passwd *pw;
	int rc;

	memset(&l, 0, sizeof(l));
	l.user = o->pos[1];
	pw = getpwnam(l.user);
	if (pw != NULL) {
		l.known = true;
		l.uid = pw->pw_uid;
		if (eval_groups_get(&l.groups, l.user, pw->pw_gid, &e) != PSM_OK)
			return psm_query_fail(psm_exit_code(e.code), "%s", e.msg);
	}
	rc = psm_query_list_run(o, &l, psm_query_user_fn, cols);
	if (l.known)
		eval_groups_free(&l.groups);
	return rc;
}

/* shm_scan callback: one session record. */
static int psm_query_session_cb(const struct shm_entry *e, void *ctx)
{
	struct psm_query_list *l = ctx;
	char buf[SHM_FIELD_MAX + 1];
	cJSON *j;

	psm_query_field(e, SHM_F_PRINCIPAL, buf, sizeof(buf));
	/* psmd keeps an expired session in the table a while (for explanations): not listed */
	if (e->kind != SHM_SESSION || l->now >= e->not_after ||
	    (l->user != NULL && strcmp(buf, l->user) != 0))
		return 0;
	j = cJSON_CreateObject();
	if (j == NULL)
		return PSM_ENOMEM;
	cJSON_AddStringToObject(j, "id", psm_query_field(e, SHM_F_KEY, buf, sizeof(buf)));
	cJSON_AddStringToObject(j, "user", psm_query_field(e, SHM_F_PRINCIPAL, buf, sizeof(buf)));
	cJSON_AddNumberToObject(j, "uid", e->uid);
	cJSON_AddStringToObject(j, "service", psm_query_field(e, SHM_F_HOSTS, buf, sizeof(buf)));
	cJSON_AddStringToObject(j, "tty", psm_query_field(e, SHM_F_REASON, buf, sizeof(buf)));
	cJSON_AddStringToObject(j, "rhost", psm_query_field(e, SHM_F_ISSUER, buf, sizeof(buf)));
	cJSON_AddNumberToObject(j, "pid", e->pid);
	psm_query_add_time(j, "created", e->created, SHM_TIME_NONE_BEFORE);
	psm_query_add_time(j, "expires", e->not_after, SHM_TIME_NONE_AFTER);
	cJSON_AddItemToArray(l->arr, j);
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
	static const char *const cols[] = { "id", "user", "service", "tty", "rhost", "pid",
					    "created", "expires", NULL };
	struct psm_query_list l;

	memset(&l, 0, sizeof(l));
	l.user = o->npos > 1 ? o->pos[1] : NULL;
	return psm_query_list_run(o, &l, psm_query_sessions_fn, cols);
}
