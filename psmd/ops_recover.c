/* SPDX-License-Identifier: MIT */
/* ops_recover.c - the recover op: what journal damage lost and quarantined, and the admin's
 * decision. */
#include "ops.h"

#include <string.h>

#include "daemon.h"
#include "log.h"
#include "plural.h"

/* "damage": [TEXT...], "quarantined": [GRANT...], as they are now. */
static int rv_list(const struct journal_recovery *r, cJSON *reply, struct psm_err *err)
{
	cJSON *dmg = cJSON_AddArrayToObject(reply, "damage");
	cJSON *q = cJSON_AddArrayToObject(reply, "quarantined");
	bool ok = dmg != NULL && q != NULL;
	size_t i;

	for (i = 0; ok && i < r->ndamage; i++)
		ok = cJSON_AddItemToArray(dmg, cJSON_CreateString(r->damage[i]));
	for (i = 0; ok && i < r->ngrants; i++)
		ok = cJSON_AddItemToArray(q, record_grant_to_json(&r->grants[i].u.grant));
	return ok ? PSM_OK : psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
}

/* One quarantined grant: journaled again as it was (accept) or revoked (drop).  One that
 * cannot come back (its session ended, a newer version or revoke is there) is left out. */
static int rv_one(struct ops_ctx *c, const struct record *g, bool accept, bool *done,
		  struct psm_err *err)
{
	struct record rec;
	char id[ID_TEXT_SIZE];
	int rc;

	id_format(g->u.grant.id, id);
	*done = false;
	if (!accept)
		rc = ops_end(c, g, err);
	else if ((rc = record_copy(&rec, g, err)) == PSM_OK)
		rc = store_add(&c->d->store, &rec, c->now, err); /* consumes rec */
	if (accept && (rc == PSM_ENOENT || rc == PSM_EEXIST || rc == PSM_EINVAL)) {
		log_msg(LOG_WARNING, "recover: grant %s not put back: %s", id, err->msg);
		psm_err_clear(err);
		return PSM_OK;
	}
	if (rc != PSM_OK)
		return rc;
	c->changed = *done = true;
	log_msg(LOG_NOTICE, "recover: grant %s (%s %s) %s", id, g->u.grant.principal,
		g->u.grant.pattern, accept ? "put back" : "revoked");
	return PSM_OK;
}

/* Applies the decision to every grant still valid; *n counts those it changed. */
static int rv_decide(struct ops_ctx *c, const struct journal_recovery *r, bool accept, size_t *n,
		     struct psm_err *err)
{
	size_t i;
	bool done;
	int rc = PSM_OK;

	for (i = 0, *n = 0; rc == PSM_OK && i < r->ngrants; i++) {
		if (record_expiry(&r->grants[i]) <= c->now)
			continue; /* expired meanwhile: nothing to decide */
		rc = rv_one(c, &r->grants[i], accept, &done, err);
		*n += done;
	}
	return rc;
}

/*
 * recover: lists; with a decision applies it, commits, writes a snapshot (so the
 * damaged segment is not replayed again) and ends the quarantine.
 */
int ops_recover(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	struct store *s = &c->d->store;
	const char *decision = c->req->a.decision;
	const struct journal_recovery *r;
	size_t n = 0;
	int rc;

	if (s->j == NULL)
		return psm_err_set(err, PSM_EUNAVAIL, "journal: not open");
	r = journal_recovery(s->j);
	rc = rv_list(r, reply, err);
	if (rc != PSM_OK || decision == NULL)
		return rc;
	/* this op commits itself: a failed commit here must not drop other requests' records
	 * that the group commit after this request would then acknowledge */
	if (journal_pending(s->j) > 0 || s->batch.n > 0)
		return psm_err_set(err, PSM_EUNAVAIL,
				   "recover: other changes are being committed; try again");
	rc = rv_decide(c, r, strcmp(decision, "accept") == 0, &n, err);
	if (rc == PSM_OK)
		rc = store_commit(s, NULL, err); /* a failure takes the decisions back */
	if (rc == PSM_OK)
		rc = journal_snapshot(s->j, s->st, err);
	if (rc == PSM_OK)
		rc = journal_recovery_done(s->j, err);
	if (rc != PSM_OK)
		return psm_err_prefix(err, "recover --%s", decision);
	log_msg(LOG_NOTICE, "recover --%s: %zu %s, the journal damage is acknowledged", decision, n,
		plural(n, "grant", "grants"));
	if (cJSON_AddStringToObject(reply, "decision", decision) == NULL ||
	    cJSON_AddNumberToObject(reply, "decided", (double)n) == NULL)
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return PSM_OK;
}
