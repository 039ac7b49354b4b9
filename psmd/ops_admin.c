/* SPDX-License-Identifier: MIT */
/* ops_admin.c - operations ops: cleanup, stats, health, metrics, fleet, export, import, reload. */
#include "ops.h"

#include <stdlib.h>

#include "daemon.h"
#include "metrics.h"
#include "metrics_fleet.h"
#include "sweep.h"

int ops_cleanup(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	size_t n = store_sweep(&c->d->store, c->now);

	if (!cJSON_AddNumberToObject(reply, "removed", (double)n))
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return PSM_OK;
}

/* Records psmd still holds after they expired (for explanations); sweep reclaims them. */
struct ops_held {
	int64_t now;
	size_t n;
};

static int ops_count_held(void *ctx, struct record *rec)
{
	struct ops_held *h = ctx;

	if (record_expiry(rec) <= h->now)
		h->n++;
	return 0;
}

int ops_stats(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	struct ops_held h = {.now = c->now};
	int rc = metrics_stats(c->d, reply, err);

	if (rc != PSM_OK || c->d->store.st == NULL)
		return rc;
	state_foreach(c->d->store.st, REC_GRANT, ops_count_held, &h);
	state_foreach(c->d->store.st, REC_SESSION, ops_count_held, &h);
	if (!cJSON_AddNumberToObject(reply, "expired_held", (double)h.n))
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return PSM_OK;
}

int ops_health(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	bool healthy;

	return metrics_health(c->d, reply, &healthy, err);
}

int ops_metrics(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	char *text = metrics_text(c->d);
	cJSON *s = text != NULL ? cJSON_CreateString(text) : NULL;

	free(text);
	return ops_add(reply, "text", s, err);
}

/* Fleet sync's figures, or {"enabled":false} without it. */
int ops_fleet(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	return metrics_fleet(c->d, reply, err);
}

/* Array key of doc, moved out without the items whose time key (null: never) is <= now. */
static cJSON *ops_export_live(cJSON *doc, const char *key, const char *time_key, int64_t now)
{
	cJSON *arr = cJSON_DetachItemFromObjectCaseSensitive(doc, key), *it, *next;

	for (it = arr != NULL ? arr->child : NULL; it != NULL; it = next) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, time_key);

		next = it->next;
		if (cJSON_IsNumber(t) && t->valuedouble <= (double)now)
			cJSON_Delete(cJSON_DetachItemViaPointer(arr, it));
	}
	return arr;
}

/* The export document's two arrays, moved into the reply; held expired records left out. */
int ops_export(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	cJSON *doc = NULL;
	int rc = state_export(c->d->store.st, &doc, err);

	if (rc != PSM_OK)
		return rc;
	rc = ops_add(reply, "grants", ops_export_live(doc, "grants", "not_after", c->now), err);
	if (rc == PSM_OK)
		rc = ops_add(reply, "sessions", ops_export_live(doc, "sessions", "expires", c->now),
			     err);
	cJSON_Delete(doc);
	return rc;
}

static int ops_import_reply(cJSON *reply, struct state_import_report *rep, struct psm_err *err)
{
	cJSON *imp = cJSON_CreateObject();

	if (imp == NULL || !cJSON_AddNumberToObject(imp, "grants", (double)rep->grants) ||
	    !cJSON_AddNumberToObject(imp, "sessions", (double)rep->sessions)) {
		cJSON_Delete(imp);
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	}
	if (ops_add(reply, "imported", imp, err) != PSM_OK)
		return PSM_ENOMEM;
	if (rep->skipped == NULL)
		rep->skipped = cJSON_CreateArray();
	return ops_add(reply, "skipped", rep->skipped, err);
}

/* How many records of arr (grants or sessions of an import) psmd does not hold yet: only
 * those can take room under max_records (re-importing one's own export takes none). */
static size_t ops_import_new(const struct ops_ctx *c, const cJSON *arr, int type)
{
	const char *key = type == REC_GRANT ? "grant_id" : "session_id";
	const cJSON *item;
	uint8_t id[ID_BYTES];
	size_t n = 0;

	cJSON_ArrayForEach(item, arr)
	{
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, key));
		bool held = s != NULL && id_parse(s, id, NULL) == PSM_OK &&
			    (type == REC_GRANT ? state_grant(c->d->store.st, id) != NULL
					       : state_session(c->d->store.st, id) != NULL);

		n += !held;
	}
	return n;
}

int ops_import(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	const struct proto_args *a = &c->req->a;
	struct state_import_report rep = {0};
	struct shm_writer *w = c->d->table.w;
	struct psm_err gerr = {0};
	int rc = ops_room(c,
			  ops_import_new(c, a->grants, REC_GRANT) +
			      ops_import_new(c, a->sessions, REC_SESSION),
			  err);

	if (rc != PSM_OK)
		return rc;
	if (!a->dry_run) {
		rep.on_apply = store_import_hook;
		rep.ctx = &c->d->store;
		c->changed = true;
	}
	if (w != NULL && !a->dry_run)
		shm_writer_begin(w);
	c->d->store.batch.applying = !a->dry_run; /* into the table after the commit */
	rc = state_import(c->d->store.st, a->grants, a->sessions, a->dry_run, c->now, &rep, err);
	c->d->store.batch.applying = false;
	if (w != NULL && !a->dry_run)
		shm_writer_commit(w);
	if (c->d->store.table_short) {
		c->d->store.table_short = false;
		if (daemon_rebuild(c->d, c->d->table.capacity * 2, &gerr) != PSM_OK && rc == PSM_OK)
			rc = psm_err_set(err, PSM_EFULL, "imported, but %s", gerr.msg);
	}
	if (rc == PSM_OK)
		rc = ops_import_reply(reply, &rep, err);
	else
		cJSON_Delete(rep.skipped);
	return rc;
}

int ops_reload(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	cJSON *p;
	int rc = daemon_reload(c->d, c->req->a.strict, err);

	if (rc != PSM_OK)
		return rc;
	p = proto_policy_json(c->d->conf.pol);
	if (p == NULL)
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return ops_add(reply, "policy", p, err);
}
