/* SPDX-License-Identifier: MIT */
/* store_entry.c - runtime grants and sessions as table records: NSS, host scope. */
#include "store_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "nss.h"
#include "proto.h"
#include "shm.h"
#include "state.h"

/* Strings an entry points into. */
struct store_ent {
	struct shm_entry e;
	char key[32];
	char hosts[SHM_FIELD_MAX + 1];
	unsigned char from[SHM_FIELD_MAX];
	char sid[ID_TEXT_SIZE];
};

/* An unknown name is bad input; a failed lookup keeps nss's message. */
static int store_nss_err(int found, const char *what, const char *name, struct psm_err *err)
{
	if (found == 0)
		return psm_err_set(err, PSM_EINVAL, "%s \"%.200s\" unknown to NSS", what, name);
	return -found;
}

/* The last user found, kept for one second: a pipelined stream of grants for one user
 * does not read the passwd database for each. */
static struct {
	char name[PROTO_NAME_MAX + 1];
	uid_t uid;
	gid_t gid;
	time_t until;
} store_user_cache;

int store_user_id(const char *name, uid_t *uid, gid_t *gid, struct psm_err *err)
{
	time_t now = time(NULL);
	struct nss_id u;
	int found;

	if (now < store_user_cache.until && strcmp(name, store_user_cache.name) == 0) {
		*uid = store_user_cache.uid;
		*gid = store_user_cache.gid;
		return PSM_OK;
	}
	found = nss_user(name, &u, err);
	if (found != 1)
		return store_nss_err(found, "user", name, err);
	*uid = u.uid;
	*gid = u.gid;
	if (strlen(name) < sizeof(store_user_cache.name)) {
		strcpy(store_user_cache.name, name);
		store_user_cache.uid = *uid;
		store_user_cache.gid = *gid;
		store_user_cache.until = now + 1;
	}
	return PSM_OK;
}

int store_group_id(const char *name, gid_t *gid, struct psm_err *err)
{
	struct nss_id g;
	int found = nss_group(name, &g, err);

	if (found == 1)
		*gid = g.gid;
	return found == 1 ? PSM_OK : store_nss_err(found, "group", name, err);
}

bool store_in_scope(const struct rec_grant *g, const struct psmd_config *cfg)
{
	size_t i, k;

	if (g->nhosts == 0) /* this host's only: the one it was made on */
		return g->origin == NULL || strcasecmp(g->origin, cfg->host_name) == 0;
	for (i = 0; i < g->nhosts; i++) {
		if (strcmp(g->hosts[i], "*") == 0 || strcasecmp(g->hosts[i], cfg->host_name) == 0)
			return true;
		for (k = 0; k < cfg->nlabels; k++)
			if (strcmp(g->hosts[i], cfg->labels[k]) == 0)
				return true;
	}
	return false;
}

bool store_session_here(const struct rec_session *s, const char *host_name)
{
	return host_name != NULL && (s->origin == NULL || strcasecmp(s->origin, host_name) == 0);
}

static void store_ent_init(struct store_ent *b, uint8_t kind, const uint8_t *id)
{
	memset(&b->e, 0, sizeof(b->e));
	b->e.kind = kind;
	b->e.rule = SHM_U32_NONE;
	b->e.uid = SHM_U32_NONE;
	b->e.audit = SHM_U32_NONE;
	memcpy(b->e.id, id, ID_BYTES);
}

/* The key: "alice" with its uid, or "%gid" for a group. */
static int store_grant_key(const struct rec_grant *g, struct store_ent *b, struct psm_err *err)
{
	uid_t uid = 0;
	gid_t gid = 0;
	int rc;

	if (g->principal[0] == '%') {
		rc = store_group_id(g->principal + 1, &gid, err);
		snprintf(b->key, sizeof(b->key), "%%%u", (unsigned)gid);
		shm_entry_set_str(&b->e, SHM_F_KEY, b->key);
		b->e.flags |= SHM_FL_GROUP;
		return rc;
	}
	rc = store_user_id(g->principal, &uid, &gid, err);
	shm_entry_set_str(&b->e, SHM_F_KEY, g->principal);
	b->e.uid = (uint32_t)uid;
	b->e.flags |= SHM_FL_UID_CHECKED;
	return rc;
}

static int store_grant_hosts(const struct rec_grant *g, struct store_ent *b, struct psm_err *err)
{
	size_t i, used = 0;

	b->hosts[0] = '\0';
	for (i = 0; i < g->nhosts; i++) {
		int n = snprintf(b->hosts + used, sizeof(b->hosts) - used, "%s%s", i ? "," : "",
				 g->hosts[i]);

		if (n < 0 || (size_t)n >= sizeof(b->hosts) - used)
			return psm_err_set(err, PSM_EINVAL, "hosts: longer than %d bytes in all",
					   SHM_FIELD_MAX);
		used += (size_t)n;
	}
	shm_entry_set(&b->e, SHM_F_HOSTS, b->hosts, used);
	return PSM_OK;
}

/* A session-bound grant carries its session's kernel audit id (none: never matches)
 * and expires with it at the latest. */
static void store_grant_session(const struct state *st, const struct rec_grant *g,
				struct store_ent *b)
{
	const struct record *sess;

	if (!g->has_session)
		return;
	id_format(g->session, b->sid);
	shm_entry_set_str(&b->e, SHM_F_SESSION, b->sid);
	b->e.flags |= SHM_FL_SESSION_BOUND;
	sess = state_session(st, g->session);
	if (sess == NULL)
		return;
	b->e.audit = sess->u.session.audit;
	/* readers end it with its session (kept expired sessions still give their audit id) */
	if (sess->u.session.expires < b->e.not_after)
		b->e.not_after = sess->u.session.expires;
}

static int store_grant_entry(const struct state *st, const struct rec_grant *g, struct store_ent *b,
			     struct psm_err *err)
{
	size_t flen = 0;
	int rc;

	store_ent_init(b, SHM_GRANT, g->id);
	b->e.flags = g->source == REC_SRC_FLEET ? SHM_FL_SRC_FLEET : SHM_FL_SRC_ADMIN;
	b->e.not_before = g->not_before;
	b->e.not_after = g->not_after;
	b->e.version = g->version;
	b->e.created = g->created;
	rc = store_grant_key(g, b, err);
	if (rc == PSM_OK)
		rc = record_grant_from_enc(g, b->from, sizeof(b->from), &flen, err);
	if (rc == PSM_OK)
		rc = store_grant_hosts(g, b, err);
	if (rc != PSM_OK)
		return rc;
	shm_entry_set(&b->e, SHM_F_FROM, b->from, flen);
	shm_entry_set_str(&b->e, SHM_F_PRINCIPAL, g->principal);
	shm_entry_set_str(&b->e, SHM_F_PATTERN, g->pattern);
	shm_entry_set_str(&b->e, SHM_F_REASON, g->reason);
	shm_entry_set_str(&b->e, SHM_F_ISSUER, g->issuer);
	shm_entry_set_str(&b->e, SHM_F_SOURCE, g->source == REC_SRC_FLEET ? "fleet" : "psmctl");
	store_grant_session(st, g, b);
	return PSM_OK;
}

static void store_session_entry(const struct rec_session *ss, struct store_ent *b)
{
	store_ent_init(b, SHM_SESSION, ss->id);
	b->e.flags = SHM_FL_SRC_ADMIN;
	b->e.not_before = SHM_TIME_NONE_BEFORE;
	b->e.not_after = ss->expires;
	b->e.version = ss->version;
	b->e.created = ss->created;
	b->e.uid = ss->uid;
	b->e.pid = ss->pid;
	b->e.audit = ss->audit;
	id_format(ss->id, b->sid);
	shm_entry_set_str(&b->e, SHM_F_KEY, b->sid);
	shm_entry_set_str(&b->e, SHM_F_PRINCIPAL, ss->user);
	shm_entry_set_str(&b->e, SHM_F_HOSTS, ss->service);
	shm_entry_set_str(&b->e, SHM_F_REASON, ss->tty);
	shm_entry_set_str(&b->e, SHM_F_ISSUER, ss->rhost);
	shm_entry_set_str(&b->e, SHM_F_SESSION, ss->metadata);
}

/* rec's table entry in a new *b; *b NULL when rec has none on this host (another host's
 * grant or session, a tombstone). */
static int store_entry_make(const struct state *st, const struct record *rec,
			    const struct psmd_config *cfg, struct store_ent **b,
			    struct psm_err *err)
{
	int rc = PSM_OK;

	*b = NULL;
	if (rec->type == REC_GRANT && !store_in_scope(&rec->u.grant, cfg))
		return PSM_OK;
	if (rec->type == REC_SESSION && !store_session_here(&rec->u.session, cfg->host_name))
		return PSM_OK;
	if (rec->type != REC_GRANT && rec->type != REC_SESSION)
		return PSM_OK;
	*b = malloc(sizeof(**b));
	if (*b == NULL)
		return psm_err_set(err, PSM_ENOMEM, "table record: out of memory");
	if (rec->type == REC_GRANT)
		rc = store_grant_entry(st, &rec->u.grant, *b, err);
	else
		store_session_entry(&rec->u.session, *b);
	if (rc != PSM_OK) {
		free(*b);
		*b = NULL;
	}
	return rc;
}

/*
 * Inserts rec into w when it belongs in the table; *unit = REC_U32_NONE when
 * it does not (another host's grant, a tombstone).
 */
int store_entry_insert(const struct state *st, struct shm_writer *w, const struct record *rec,
		       const struct psmd_config *cfg, uint32_t *unit, struct psm_err *err)
{
	struct store_ent *b;
	int rc = store_entry_make(st, rec, cfg, &b, err);

	*unit = REC_U32_NONE;
	if (rc == PSM_OK && b != NULL)
		rc = shm_writer_insert(w, &b->e, unit, err);
	free(b);
	return rc;
}

int store_entry_check(const struct state *st, const struct shm_writer *w, const struct record *rec,
		      const struct psmd_config *cfg, struct psm_err *err)
{
	struct store_ent *b;
	int rc = store_entry_make(st, rec, cfg, &b, err);

	if (rc == PSM_OK && b != NULL && w != NULL)
		rc = shm_writer_check(w, &b->e, err);
	free(b);
	return rc;
}
