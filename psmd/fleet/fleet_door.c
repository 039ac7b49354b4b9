/* SPDX-License-Identifier: MIT */
/* fleet_door.c - the daemon's calls: applied positions, counts, own records out, figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_int.h"

void fleet_applied(struct fleet *f, const struct fleet_in *last)
{
	pthread_mutex_lock(&f->mu);
	if (last->feed_id[0] != '\0')
		snprintf(f->st.last_id, sizeof(f->st.last_id), "%s", last->feed_id);
	if (last->feed_ms > 0)
		f->st.lag_ms = fleet_now_ms() - last->feed_ms;
	f->taken_ms = 0;
	pthread_mutex_unlock(&f->mu);
	if (last->feed_id[0] != '\0')
		fleet_pos_save(f, last->replid, last->feed_id);
}

void fleet_count(struct fleet *f, enum sign_result result)
{
	if ((unsigned)result >= SIGN_NRESULTS)
		return;
	pthread_mutex_lock(&f->mu);
	f->st.records[result]++;
	pthread_mutex_unlock(&f->mu);
}

void fleet_out_free(struct fleet_out *o)
{
	free(o->r);
	o->r = NULL;
}

static int fleet_out_make(struct fleet_out *o, const struct record *rec, struct psm_err *err)
{
	char id[ID_TEXT_SIZE];
	bool grantish = rec->type == REC_GRANT || rec->type == REC_REVOKE;

	memset(o, 0, sizeof(*o));
	o->r = record_print(rec);
	if (o->r == NULL)
		return psm_err_set(err, PSM_ENOMEM, "fleet: out of memory");
	o->rlen = strlen(o->r);
	id_format(record_id(rec), id);
	snprintf(o->field, sizeof(o->field), "%c:%s", grantish ? 'g' : 's', id);
	snprintf(o->version, sizeof(o->version), "%llu", (unsigned long long)record_version(rec));
	o->tomb = rec->type == REC_REVOKE || rec->type == REC_SESSION_END;
	o->type = rec->type;
	o->expiry = record_expiry(rec);
	o->version_n = record_version(rec);
	return PSM_OK;
}

int fleet_publish(struct fleet *f, const struct record *rec, struct psm_err *err)
{
	struct fleet_out o;
	int rc = fleet_out_make(&o, rec, err);

	if (rc != PSM_OK)
		return rc;
	pthread_mutex_lock(&f->mu);
	if (f->out.n >= FLEET_OUT_MAX || fleet_fifo_push(&f->out, &o) != PSM_OK) {
		f->out_lost = true; /* the state has it: republished once Redis is back */
		fleet_out_free(&o);
	} else if (o.version_n > f->queued_max) {
		f->queued_max = o.version_n;
	}
	f->st.queued = f->out.n;
	pthread_cond_signal(&f->wake_push);
	pthread_mutex_unlock(&f->mu);
	return PSM_OK;
}

void fleet_resync(struct fleet *f)
{
	pthread_mutex_lock(&f->mu);
	f->want_resync = true;
	pthread_cond_signal(&f->wake_read);
	pthread_mutex_unlock(&f->mu);
}

bool fleet_want_republish(struct fleet *f)
{
	bool want;

	pthread_mutex_lock(&f->mu);
	want = f->want_republish;
	f->want_republish = false;
	pthread_mutex_unlock(&f->mu);
	return want;
}

uint64_t fleet_pushed(const struct fleet *f)
{
	return f->pushed_at_start;
}

void fleet_stats(struct fleet *f, struct fleet_stats *st)
{
	pthread_mutex_lock(&f->mu);
	*st = f->st;
	st->queued = f->out.n;
	st->lag_entries = f->in.n + (f->taken_ms > 0 ? 1 : 0);
	if (f->in.n > 0 && f->taken_ms == 0)
		st->oldest_unapplied_ms =
		    fleet_now_ms() - ((struct fleet_in *)fleet_fifo_at(&f->in, 0))->feed_ms;
	else if (f->taken_ms > 0)
		st->oldest_unapplied_ms = fleet_now_ms() - f->taken_ms;
	pthread_mutex_unlock(&f->mu);
	if (st->oldest_unapplied_ms < 0)
		st->oldest_unapplied_ms = 0;
}
