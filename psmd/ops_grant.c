/* SPDX-License-Identifier: MIT */
/* ops_grant.c - the grant, revoke and grants ops: runtime grants made, ended and listed. */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "eval.h"
#include "nss.h"

/* Copies an array of strings (validated by the protocol) into *v. */
static int ops_strv(const cJSON *arr, char ***v, size_t *n, struct psm_err *err)
{
	const cJSON *it;
	int count = cJSON_GetArraySize(arr);

	*n = 0;
	if (arr == NULL || count == 0)
		return PSM_OK;
	*v = calloc((size_t)count, sizeof(**v));
	if (*v == NULL)
		return psm_err_set(err, PSM_ENOMEM, "grant: out of memory");
	cJSON_ArrayForEach(it, arr)
	{
		(*v)[*n] = strdup(it->valuestring);
		if ((*v)[*n] == NULL)
			return psm_err_set(err, PSM_ENOMEM, "grant: out of memory");
		(*n)++;
	}
	return PSM_OK;
}

static int ops_grant_validity(const struct ops_ctx *c, struct rec_grant *g, struct psm_err *err)
{
	const struct proto_args *a = &c->req->a;

	if (a->ttl_text != NULL) {
		if (a->ttl > REC_TIME_MAX - c->now)
			return psm_err_set(err, PSM_EINVAL, "ttl \"%s\": too long", a->ttl_text);
		g->not_after = c->now + a->ttl;
	} else if (a->until_text != NULL) {
		if (a->until <= c->now)
			return psm_err_set(err, PSM_EINVAL, "until \"%s\": in the past",
					   a->until_text);
		g->not_after = a->until;
	}
	return PSM_OK;
}

/* --session ID: the session must be live and carry a kernel audit session id. */
static int ops_grant_session(const struct ops_ctx *c, struct rec_grant *g, struct psm_err *err)
{
	const char *text = c->req->a.session;
	const struct record *sess;

	if (text == NULL)
		return PSM_OK;
	if (id_parse(text, g->session, err) != PSM_OK)
		return psm_err_prefix(err, "session");
	sess = state_session(c->d->store.st, g->session);
	if (sess == NULL)
		return psm_err_set(err, PSM_ENOENT, "session %s: no such session", text);
	if (sess->u.session.audit == REC_U32_NONE)
		return psm_err_set(err, PSM_EINVAL,
				   "session %s: has no kernel audit session id, "
				   "so a grant bound to it could never apply",
				   text);
	g->has_session = true;
	return PSM_OK;
}

static int ops_grant_strings(const struct ops_ctx *c, struct rec_grant *g, struct psm_err *err)
{
	const struct proto_args *a = &c->req->a;
	char issuer[64];

	if (c->peer->name[0] == '\0')
		snprintf(issuer, sizeof(issuer), "uid %u", (unsigned)c->peer->uid);
	g->principal = strdup(a->user);
	g->pattern = strdup(a->perm);
	g->reason = strdup(a->reason != NULL ? a->reason : "");
	g->issuer = strdup(c->peer->name[0] != '\0' ? c->peer->name : issuer);
	g->origin = strdup(c->d->conf.cfg.host_name);
	if (!g->principal || !g->pattern || !g->reason || !g->issuer || !g->origin)
		return psm_err_set(err, PSM_ENOMEM, "grant: out of memory");
	if (ops_strv(a->from, &g->from, &g->nfrom, err) != PSM_OK)
		return PSM_ENOMEM;
	return ops_strv(a->hosts, &g->hosts, &g->nhosts, err);
}

static int ops_grant_build(struct ops_ctx *c, struct record *rec, struct psm_err *err)
{
	struct rec_grant *g = &rec->u.grant;
	int rc = ops_grant_validity(c, g, err);

	if (rc == PSM_OK)
		rc = ops_grant_session(c, g, err);
	if (rc == PSM_OK)
		rc = ops_grant_strings(c, g, err);
	if (rc == PSM_OK)
		rc = id_new(g->id, err);
	if (rc != PSM_OK)
		return rc;
	g->source = REC_SRC_ADMIN;
	g->created = c->now;
	g->version = store_version(&c->d->store);
	return record_validate(rec, err);
}

int ops_grant(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	return ops_add_new(c, REC_GRANT, ops_grant_build, "grant_id", reply, err);
}

/* ---- revoke --------------------------------------------------------------------------- */

/* The live grant with this id, or the one in quarantine after journal damage (its revoke
 * takes it out of the quarantine: recover --accept never brings it back). */
static const struct record *ops_revocable(const struct ops_ctx *c, const uint8_t id[ID_BYTES])
{
	const struct store *s = &c->d->store;
	const struct record *g = state_grant(s->st, id);

	if (g == NULL && state_tomb(s->st, REC_REVOKE, id) == NULL)
		g = journal_quarantined(s->j, id);
	return g;
}

static int ops_revoke_id(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	uint8_t id[ID_BYTES];
	const struct record *g;
	int rc;

	if (id_parse(c->req->a.grant_id, id, err) != PSM_OK)
		return psm_err_prefix(err, "grant_id");
	id_format(id, c->id);
	g = ops_revocable(c, id);
	if (g == NULL)
		return psm_err_set(err, PSM_ENOENT, "grant %s: %s", c->id,
				   state_tomb(c->d->store.st, REC_REVOKE, id) != NULL
				       ? "already revoked"
				       : "no such grant");
	if (record_expiry(g) <= c->now) /* held a while after expiry, for explanations */
		return psm_err_set(err, PSM_ENOENT, "grant %s expired", c->id);
	rc = ops_end(c, g, err);
	if (rc == PSM_OK && cJSON_AddNumberToObject(reply, "revoked", 1) == NULL)
		rc = psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return rc;
}

struct ops_ids {
	uint8_t (*v)[ID_BYTES];
	size_t n, cap;
	int64_t now; /* grants expired at now are left out */
};

static int ops_ids_add(struct ops_ids *ids, const struct record *rec)
{
	if (record_expiry(rec) <= ids->now)
		return 0;
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 16;
		void *v = realloc(ids->v, cap * ID_BYTES);

		if (v == NULL)
			return PSM_ENOMEM;
		ids->v = v;
		ids->cap = cap;
	}
	memcpy(ids->v[ids->n++], record_id(rec), ID_BYTES);
	return 0;
}

static int ops_ids_push(void *ctx, struct record *rec)
{
	return ops_ids_add(ctx, rec);
}

/* The quarantined grants of USER with exactly PATTERN join ids. */
static int ops_ids_quarantined(const struct ops_ctx *c, struct ops_ids *ids)
{
	const struct journal_recovery *r =
	    c->d->store.j != NULL ? journal_recovery(c->d->store.j) : NULL;
	const struct proto_args *a = &c->req->a;
	size_t i;
	int rc = 0;

	for (i = 0; r != NULL && rc == 0 && i < r->ngrants; i++) {
		const struct rec_grant *g = &r->grants[i].u.grant;

		if (strcmp(g->principal, a->user) == 0 && strcmp(g->pattern, a->perm) == 0 &&
		    state_tomb(c->d->store.st, REC_REVOKE, g->id) == NULL)
			rc = ops_ids_add(ids, &r->grants[i]);
	}
	return rc;
}

/* The policy's grant of a principal for exactly a pattern: its binding number. */
struct ops_policy_find {
	const char *principal, *pattern;
	unsigned rule; /* 0: none */
};

static bool ops_field_is(const struct shm_entry *e, enum shm_field f, const char *s)
{
	return e->flen[f] == strlen(s) && memcmp(e->f[f], s, e->flen[f]) == 0;
}

static int ops_policy_find_one(const struct shm_entry *e, void *ctx)
{
	struct ops_policy_find *f = ctx;

	if ((e->flags & SHM_FL_SRC_POLICY) && ops_field_is(e, SHM_F_PRINCIPAL, f->principal) &&
	    ops_field_is(e, SHM_F_PATTERN, f->pattern) && e->rule != SHM_U32_NONE) {
		f->rule = e->rule;
		return 1;
	}
	return 0;
}

/* Nothing to revoke: when the policy grants exactly this, say where (FILE:LINE), since only
 * an edit of the policy and a reload can take it away. */
static int ops_revoke_none(const struct ops_ctx *c, struct psm_err *err)
{
	const struct proto_args *a = &c->req->a;
	struct ops_policy_find f = {a->user, a->perm, 0};
	char where[160];

	if (c->d->table.w != NULL)
		shm_scan(shm_writer_view(c->d->table.w), SHM_GRANT, ops_policy_find_one, &f);
	if (f.rule == 0 ||
	    policy_rule_where(c->d->conf.pol, false, f.rule, where, sizeof(where)) != PSM_OK)
		return psm_err_set(err, PSM_ENOENT, "no grant of %s with pattern %s", a->user,
				   a->perm);
	return psm_err_set(
	    err, PSM_ENOENT,
	    "%.64s %.64s is granted by the policy, %s (binding %u): a policy grant "
	    "cannot be revoked at runtime; edit the file and run psmctl policy reload",
	    a->user, a->perm, where, f.rule);
}

/* revoke USER PATTERN: every grant of that principal with exactly that pattern. */
static int ops_revoke_match(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	const struct proto_args *a = &c->req->a;
	struct ops_ids ids = {.now = c->now};
	size_t i, done = 0;
	int rc = state_foreach_principal(c->d->store.st, a->user, a->perm, ops_ids_push, &ids);

	if (rc == 0)
		rc = ops_ids_quarantined(c, &ids);
	if (rc != 0)
		rc = psm_err_set(err, PSM_ENOMEM, "revoke: out of memory");
	for (i = 0; rc == PSM_OK && i < ids.n; i++) {
		const struct record *g = ops_revocable(c, ids.v[i]);

		if (g != NULL && (rc = ops_end(c, g, err)) == PSM_OK)
			done++;
	}
	if (ids.n == 1)
		id_format(ids.v[0], c->id);
	free(ids.v);
	if (rc == PSM_OK && done == 0)
		rc = ops_revoke_none(c, err);
	if (rc == PSM_OK && cJSON_AddNumberToObject(reply, "revoked", (double)done) == NULL)
		rc = psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return rc;
}

int ops_revoke(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	if (c->req->a.grant_id != NULL)
		return ops_revoke_id(c, reply, err);
	return ops_revoke_match(c, reply, err);
}

/* ---- grants ------------------------------------------------------------------------------ */

#define OPS_LIST_GROUPS 64 /* groups of a user whose grants are listed with the user's */

struct ops_list {
	cJSON *arr;
	const char *principal; /* NULL: all */
	const struct ops_ctx *c;
	int rc;
	/* the principal, then "%group" for each group of a user principal */
	char names[OPS_LIST_GROUPS + 1][PROTO_NAME_MAX + 2];
	size_t nnames;
};

static int ops_list_grant(void *ctx, struct record *rec)
{
	struct ops_list *l = ctx;
	cJSON *o;

	if (rec->u.grant.not_after <= l->c->now)
		return 0;
	o = record_grant_to_json(&rec->u.grant);
	if (o == NULL || !cJSON_AddItemToArray(l->arr, o)) {
		cJSON_Delete(o);
		return l->rc = PSM_ENOMEM;
	}
	return 0;
}

static void ops_field(const struct shm_entry *e, enum shm_field f, char *buf, size_t n)
{
	size_t len = e->flen[f] < n ? e->flen[f] : n - 1;

	memcpy(buf, e->f[f] != NULL ? e->f[f] : "", len);
	buf[len] = '\0';
}

/* A policy grant of the table as a protocol grant object (no id; permanent). */
static cJSON *ops_policy_grant(const struct shm_entry *e, const struct ops_ctx *c)
{
	char principal[SHM_FIELD_MAX + 1], pattern[SHM_FIELD_MAX + 1], why[SHM_FIELD_MAX + 1];
	cJSON *o = cJSON_CreateObject();

	ops_field(e, SHM_F_PRINCIPAL, principal, sizeof(principal));
	ops_field(e, SHM_F_PATTERN, pattern, sizeof(pattern));
	ops_field(e, e->flen[SHM_F_REASON] ? SHM_F_REASON : SHM_F_SOURCE, why, sizeof(why));
	if (o == NULL || !cJSON_AddNullToObject(o, "grant_id") ||
	    !cJSON_AddStringToObject(o, "principal", principal) ||
	    !cJSON_AddStringToObject(o, "pattern", pattern) ||
	    !cJSON_AddNullToObject(o, "not_before") || !cJSON_AddNullToObject(o, "not_after") ||
	    !cJSON_AddArrayToObject(o, "from") || !cJSON_AddArrayToObject(o, "hosts") ||
	    !cJSON_AddNullToObject(o, "session") || !cJSON_AddStringToObject(o, "reason", why) ||
	    !cJSON_AddStringToObject(o, "issuer", "policy") ||
	    !cJSON_AddStringToObject(o, "source", "policy") ||
	    !cJSON_AddStringToObject(o, "origin", c->d->conf.cfg.host_name) ||
	    !cJSON_AddNumberToObject(o, "version", (double)e->version) ||
	    !cJSON_AddNumberToObject(o, "created", (double)e->created)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static bool ops_list_wants(const struct ops_list *l, const struct shm_entry *e)
{
	size_t i;

	if (l->principal == NULL)
		return true;
	for (i = 0; i < l->nnames; i++)
		if (e->flen[SHM_F_PRINCIPAL] == strlen(l->names[i]) &&
		    memcmp(e->f[SHM_F_PRINCIPAL], l->names[i], e->flen[SHM_F_PRINCIPAL]) == 0)
			return true;
	return false;
}

static int ops_list_policy(const struct shm_entry *e, void *ctx)
{
	struct ops_list *l = ctx;
	cJSON *o;

	if (!(e->flags & SHM_FL_SRC_POLICY) || !ops_list_wants(l, e))
		return 0;
	o = ops_policy_grant(e, l->c);
	if (o == NULL || !cJSON_AddItemToArray(l->arr, o)) {
		cJSON_Delete(o);
		return l->rc = PSM_ENOMEM;
	}
	return 0;
}

/* A user principal's list covers the grants of the groups NSS says it is in. */
static void ops_list_names(struct ops_list *l)
{
	struct nss_groups g;
	struct nss_id gr;
	uid_t uid;
	gid_t gid;

	snprintf(l->names[0], sizeof(l->names[0]), "%s", l->principal);
	l->nnames = 1;
	if (l->principal[0] == '%' || store_user_id(l->principal, &uid, &gid, NULL) != PSM_OK ||
	    nss_groups(&g, l->principal, gid, NULL) != 1)
		return;
	for (int i = 0; i < g.n && l->nnames <= OPS_LIST_GROUPS; i++) {
		if (nss_group_gid(g.list[i], &gr, NULL) != 1)
			continue;
		snprintf(l->names[l->nnames++], sizeof(l->names[0]), "%%%.*s", PROTO_NAME_MAX,
			 gr.name);
	}
	nss_groups_free(&g);
}

static int ops_list_state(struct ops_list *l)
{
	if (l->principal == NULL)
		return state_foreach(l->c->d->store.st, REC_GRANT, ops_list_grant, l);
	for (size_t i = 0; i < l->nnames && l->rc == PSM_OK; i++)
		state_foreach_principal(l->c->d->store.st, l->names[i], NULL, ops_list_grant, l);
	return l->rc;
}

/* grants NAME for a name NSS does not know (a typo, most often) and nothing names: said so,
 * as grant says it.  Grants held for a name NSS has forgotten are still listed. */
static int ops_list_known(const struct ops_list *l, struct psm_err *err)
{
	uid_t uid;
	gid_t gid;

	if (l->principal == NULL || cJSON_GetArraySize(l->arr) > 0)
		return PSM_OK;
	if (l->principal[0] == '%')
		return store_group_id(l->principal + 1, &gid, err);
	return store_user_id(l->principal, &uid, &gid, err);
}

static int ops_grants_list(struct ops_list *l, cJSON *reply, struct psm_err *err)
{
	const struct ops_ctx *c = l->c;
	int rc = PSM_OK;

	if (c->req->a.user != NULL || !c->peer->admin)
		rc = ops_self_user(c, &l->principal, err);
	if (rc != PSM_OK)
		return rc;
	if (l->principal != NULL)
		ops_list_names(l);
	l->arr = cJSON_AddArrayToObject(reply, "grants");
	if (l->arr == NULL)
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	if (c->d->table.w != NULL &&
	    shm_scan(shm_writer_view(c->d->table.w), SHM_GRANT, ops_list_policy, l) < 0 &&
	    l->rc == PSM_OK)
		return psm_err_set(err, PSM_EUNAVAIL, "table: unreadable");
	if (l->rc == PSM_OK)
		ops_list_state(l);
	if (l->rc != PSM_OK)
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return ops_list_known(l, err);
}

int ops_grants(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	struct ops_list *lp = calloc(1, sizeof(*lp));
	int rc;

	if (lp == NULL)
		return psm_err_set(err, PSM_ENOMEM, "grants: out of memory");
	lp->c = c;
	rc = ops_grants_list(lp, reply, err);
	if (rc == PSM_OK && lp->principal != NULL)
		snprintf(c->principal, sizeof(c->principal), "%s", lp->principal);
	free(lp);
	return rc;
}
