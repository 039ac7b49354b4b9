/* SPDX-License-Identifier: MIT */
/* store_fill.c - a whole table build: every runtime grant and session after the policy's. */
#include "store.h"

#include <stdlib.h>

#include "log.h"
#include "table.h"

struct store_fill_ctx {
	struct store *s;
	struct shm_writer *w;
	const struct table_src *src;
	struct psm_err *err;
};

static int store_unit_push(struct store *s, struct record *rec, uint32_t unit)
{
	if (s->nunits == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct store_unit *u = realloc(s->units, cap * sizeof(*u));

		if (u == NULL)
			return PSM_ENOMEM;
		s->units = u;
		s->cap = cap;
	}
	s->units[s->nunits++] = (struct store_unit){rec, unit};
	return PSM_OK;
}

static int store_fill_one(void *ctx, struct record *rec)
{
	struct store_fill_ctx *f = ctx;
	struct psm_err e = {0};
	char id[ID_TEXT_SIZE];
	uint32_t unit = REC_U32_NONE;
	int rc;

	if (store_pending(rec))
		return 0; /* not committed yet: it enters after the commit */
	rc = store_entry_insert(f->s->st, f->w, rec, f->src->cfg, &unit, &e);
	if (rc == PSM_EFULL || rc == PSM_ENOMEM) {
		*f->err = e;
		return rc;
	}
	if (rc != PSM_OK) {
		id_format(record_id(rec), id);
		log_msg(LOG_WARNING, "%s %s left out of the table: %s", record_type_name(rec->type),
			id, e.msg);
	}
	if (store_unit_push(f->s, rec, unit) != PSM_OK)
		return psm_err_set(f->err, PSM_ENOMEM, "table build: out of memory");
	return 0;
}

int store_fill(void *ctx, struct shm_writer *w, const struct table_src *src, struct psm_err *err)
{
	struct store_fill_ctx f = {ctx, w, src, err};
	int rc;

	f.s->nunits = 0;
	if (f.s->st == NULL)
		return PSM_OK;
	/* sessions first: a bound grant takes its session's audit id from the state */
	rc = state_foreach(f.s->st, REC_SESSION, store_fill_one, &f);
	if (rc == 0)
		rc = state_foreach(f.s->st, REC_GRANT, store_fill_one, &f);
	return rc;
}

void store_units_done(struct store *s, bool ok)
{
	size_t i;

	for (i = 0; ok && i < s->nunits; i++) {
		struct record *r = s->units[i].rec;

		if (r->type == REC_GRANT)
			r->u.grant.table_unit = s->units[i].unit;
		else
			r->u.session.table_unit = s->units[i].unit;
	}
	s->nunits = 0;
}
