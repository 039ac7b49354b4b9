/* SPDX-License-Identifier: MIT */
/* fleet_jobs.c - the reader's small parts: stream ids, reply strings, checked jobs queued in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_reader.h"

/* "ms-seq" into two numbers; false when it is not a stream id. */
bool fleet_id_parse(const char *s, uint64_t *ms, uint64_t *seq)
{
	char *end;

	*ms = strtoull(s, &end, 10);
	if (end == s || *end != '-')
		return false;
	*seq = strtoull(end + 1, &end, 10);
	return *end == '\0';
}

/* <0, 0, >0 as stream id a is before, equal to or after b (an unparsable id is 0-0). */
int fleet_id_cmp(const char *a, const char *b)
{
	uint64_t am = 0, as = 0, bm = 0, bs = 0;

	fleet_id_parse(a, &am, &as);
	fleet_id_parse(b, &bm, &bs);
	if (am != bm)
		return am < bm ? -1 : 1;
	return as < bs ? -1 : as > bs ? 1 : 0;
}

/* Queues in (waits while the queue is full); false when stopping. */
bool fleet_in_push(struct fleet *f, struct fleet_in *in)
{
	bool ok = false;

	pthread_mutex_lock(&f->mu);
	while (!f->stopping && f->in.n >= FLEET_IN_MAX)
		fleet_wait(f, &f->wake_read, 100);
	if (!f->stopping && fleet_fifo_push(&f->in, in) == PSM_OK)
		ok = true;
	pthread_mutex_unlock(&f->mu);
	if (!ok)
		record_free(&in->rec);
	fleet_wake_daemon(f);
	return ok;
}

/* A string element's text into buf (NUL-terminated); false for another type or too long. */
bool fleet_str(const struct rconn_reply *r, char *buf, size_t n)
{
	if (r == NULL || r->type != RCONN_STRING || r->len >= n)
		return false;
	memcpy(buf, r->str, r->len + 1);
	return true;
}

/* Room for n jobs, zeroed. */
bool fleet_jobs(struct fleet_reader *rd, size_t n)
{
	if (n > rd->cap) {
		struct fleet_job *j = realloc(rd->jobs, n * sizeof(*j));

		if (j == NULL)
			return false;
		rd->jobs = j;
		rd->cap = n;
	}
	memset(rd->jobs, 0, n * sizeof(*rd->jobs));
	return true;
}

/* The checked jobs in order: queued, or dropped.  1: the last was queued, 0: dropped,
 * -1: stopping. */
int fleet_jobs_emit(struct fleet_reader *rd, size_t n)
{
	int got = 1;

	for (size_t i = 0; i < n; i++) {
		struct fleet_job *j = &rd->jobs[i];

		if (j->own) { /* applied here already: only the position moves (a marker) */
			got = got < 0 ? got : 0;
			continue;
		}
		if (got < 0) {
			if (j->res == SIGN_APPLIED)
				record_free(&j->in.rec);
			continue;
		}
		if (j->res != SIGN_APPLIED) {
			fleet_drop(rd->f, j->res, j->where, j->err.msg);
			got = 0;
		} else {
			got = fleet_in_push(rd->f, &j->in) ? 1 : -1;
		}
	}
	return got;
}

/* A position-only item: once applied, the daemon saves id (after a resync, or drops). */
bool fleet_mark(struct fleet_reader *rd, const char *id)
{
	struct fleet_in in = {0};

	snprintf(in.feed_id, sizeof(in.feed_id), "%s", id);
	memcpy(in.replid, rd->replid, sizeof(in.replid));
	in.rec.type = 0;
	return fleet_in_push(rd->f, &in);
}

/* Closes the connection: the reply was not what Redis sends. */
int fleet_bad(struct fleet_reader *rd, const char *what, struct psm_err *err)
{
	psm_err_set(err, PSM_EUNAVAIL, "redis %s: %s", rconn_addr(rd->c), what);
	rconn_close(rd->c, err->msg);
	return PSM_EUNAVAIL;
}
