/* SPDX-License-Identifier: MIT */
/* ops_check.c - the check op: the decision for each permission, from psmd's own published table. */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "eval.h"
#include "json_out.h"
#include "ops_history.h"
#include "perm.h"

#define OPS_EXPLAIN_MAX 4096

/* Denied: the user's grants in quarantine after journal damage that match the permission are
 * named (otherwise the explanation just says "no grant"). */
static void ops_explain_quarantine(const struct ops_ctx *c, const struct eval_req *req, char *buf,
				   size_t n)
{
	const struct journal_recovery *r =
	    c->d->store.j != NULL ? journal_recovery(c->d->store.j) : NULL;
	size_t i, pos = strlen(buf);
	char id[ID_TEXT_SIZE];

	for (i = 0; r != NULL && i < r->ngrants && pos < n; i++) {
		const struct rec_grant *g = &r->grants[i].u.grant;

		if (strcmp(g->principal, req->user) != 0 || g->not_after <= c->now ||
		    !pattern_match(g->pattern, strlen(g->pattern), req->perm, strlen(req->perm)))
			continue;
		id_format(g->id, id);
		pos += (size_t)snprintf(buf + pos, n - pos,
					"note:     grant %s (%s %s) is in quarantine after journal "
					"damage (psmctl recover)\n",
					id, g->principal, g->pattern);
	}
}

/* --explain's structured form (eval_explain_json), as a cJSON object; NULL when out of
 * memory.  The reply keeps "explain" as text for people; psmctl --json prints this one. */
static cJSON *ops_explain_fields(const struct eval_out *out, const struct eval_req *req)
{
	struct json_out w;
	cJSON *o = NULL;

	json_out_init_flags(&w, NULL, 0, JSON_OUT_CJSON);
	json_out_begin_object(&w);
	eval_explain_json(&w, out, req);
	json_out_end_object(&w);
	if (w.code == PSM_OK)
		o = cJSON_ParseWithLength(w.buf, w.len);
	json_out_free(&w);
	return o;
}

/* One permission's result object, decided on the served table or (--at) the past's;
 * *allowed gets the decision. */
static int ops_check_one(const struct ops_ctx *c, const struct ops_at *at, struct eval_req *req,
			 cJSON *results, bool *allowed, struct psm_err *err)
{
	const struct shm_view *v = shm_writer_view(at != NULL ? at->w : c->d->table.w);
	struct eval_out *out = malloc(sizeof(*out));
	char reason[512], *explain = NULL;
	cJSON *o = cJSON_CreateObject();
	int rc = out == NULL || o == NULL ? psm_err_set(err, PSM_ENOMEM, "check: out of memory")
					  : eval_check(v, req, out, err);

	if (rc == PSM_OK) {
		*allowed = out->decision == EVAL_ALLOW;
		eval_reason_text(out, reason, sizeof(reason));
		if (c->req->a.explain && (explain = malloc(OPS_EXPLAIN_MAX)) != NULL)
			eval_explain(out, req, explain, OPS_EXPLAIN_MAX);
		if (explain != NULL && !*allowed && at == NULL)
			ops_explain_quarantine(c, req, explain, OPS_EXPLAIN_MAX);
		if (explain != NULL && at != NULL)
			ops_at_explain(at, out->have_entry ? &out->entry : NULL, explain,
				       OPS_EXPLAIN_MAX);
		if (!cJSON_AddStringToObject(o, "perm", req->perm) ||
		    !cJSON_AddBoolToObject(o, "allowed", *allowed) ||
		    !cJSON_AddStringToObject(o, "reason", reason) ||
		    (c->req->a.explain &&
		     (!cJSON_AddStringToObject(o, "explain", explain ? explain : "") ||
		      ops_add(o, "explain_fields", ops_explain_fields(out, req), err) != PSM_OK)))
			rc = psm_err_set(err, PSM_ENOMEM, "check: out of memory");
	}
	free(explain);
	free(out);
	if (rc == PSM_OK && cJSON_AddItemToArray(results, o))
		return PSM_OK;
	cJSON_Delete(o);
	return rc != PSM_OK ? rc : psm_err_set(err, PSM_ENOMEM, "check: out of memory");
}

static int ops_check_at(struct ops_ctx *c, const struct ops_at *at, cJSON *reply,
			struct psm_err *err)
{
	const struct proto_args *a = &c->req->a;
	struct eval_req req = {
	    .user = a->user,
	    .rhost = a->rhost,
	    .audit = SHM_U32_NONE,
	    .now = at != NULL ? at->at : c->now,
	    .table = c->d->conf.cfg.shm_name,
	};
	bool all = true, any = false;
	const cJSON *p;
	cJSON *results;
	int rc;

	snprintf(c->principal, sizeof(c->principal), "%s", a->user);
	if (c->d->table.w == NULL)
		return psm_err_set(err, PSM_EUNAVAIL, "table: not published yet");
	rc = store_user_id(a->user, &req.uid, &req.gid, err);
	results = rc == PSM_OK ? cJSON_AddArrayToObject(reply, "results") : NULL;
	if (rc == PSM_OK && results == NULL)
		rc = psm_err_set(err, PSM_ENOMEM, "check: out of memory");
	cJSON_ArrayForEach(p, a->perms)
	{
		bool allowed = false;

		if (rc != PSM_OK)
			break;
		req.perm = p->valuestring;
		rc = ops_check_one(c, at, &req, results, &allowed, err);
		all = all && allowed;
		any = any || allowed;
	}
	if (rc == PSM_OK && !cJSON_AddBoolToObject(reply, "allowed", a->any ? any : all))
		rc = psm_err_set(err, PSM_ENOMEM, "check: out of memory");
	return rc;
}

int ops_check(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	struct ops_at at;
	int rc;

	if (!proto_has(c->req, PK_AT))
		return ops_check_at(c, NULL, reply, err);
	/* It reads the whole journal and builds a table, in psmd's loop: not for every user. */
	if (!c->peer->admin)
		return psm_err_set(err, PSM_EPERM, "check --at reads the journal: admins only");
	rc = ops_at_open(c, c->req->a.at, &at, err);
	if (rc == PSM_OK)
		rc = ops_check_at(c, &at, reply, err);
	ops_at_free(&at);
	return rc;
}
