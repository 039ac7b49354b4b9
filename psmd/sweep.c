/* SPDX-License-Identifier: MIT */
/* sweep.c - psmd's sweeper: reclaims expired grants, sessions and tombstones; ends session leaders. */
#include "sweep.h"

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

static bool sweep_kills(const struct psmd *d)
{
	return d->conf.cfg.session_expiry == CONFIG_EXPIRY_KILL;
}

int64_t sweep_due(const struct psmd *d, const struct record *rec)
{
	int64_t t = record_expiry(rec);

	if (rec->type == REC_SESSION && sweep_kills(d) && t > d->sweep.ended_upto)
		return t;
	return t > INT64_MAX - SWEEP_KEEP ? INT64_MAX : t + SWEEP_KEEP;
}

struct sweep_ending {
	struct sweep *sw;
	int64_t now;
};

static int sweep_end_one(void *ctx, struct record *rec)
{
	struct sweep_ending *e = ctx;
	const struct rec_session *ss = &rec->u.session;
	char id[ID_TEXT_SIZE];

	if (ss->expires > e->sw->ended_upto && ss->expires <= e->now && ss->pid > 1) {
		id_format(ss->id, id);
		log_msg(LOG_NOTICE, "session %s of %s expired: SIGTERM to its leader, pid %ld",
			id, ss->user, (long)ss->pid);
		sweep_end_leader(e->sw, (pid_t)ss->pid, e->now);
	}
	return 0;
}

/* Ends the leaders of sessions expired since the last pass, reclaims what expired at cutoff. */
static size_t sweep_pass(struct psmd *d, int64_t now, int64_t cutoff)
{
	struct store *s = &d->store;
	struct shm_writer *w = d->table.w;
	struct sweep_ending e = {&d->sweep, now};
	size_t n;

	if (s->st == NULL)
		return 0;
	if (sweep_kills(d))
		state_foreach(s->st, REC_SESSION, sweep_end_one, &e);
	if (now > d->sweep.ended_upto)
		d->sweep.ended_upto = now;
	if (w != NULL)
		shm_writer_begin(w);
	n = state_expire(s->st, cutoff);
	if (w != NULL)
		shm_writer_commit(w);
	store_recompute_due(s);
	d->sweep.removed += n;
	if (n > 0)
		log_msg(LOG_INFO, "sweep: %zu expired grants and sessions removed", n);
	return n;
}

size_t sweep_run(struct psmd *d, int64_t now)
{
	return sweep_pass(d, now, now);
}

void sweep_end_leader(struct sweep *sw, pid_t pid, int64_t now)
{
	if (pid <= 1)
		return;
	if (kill(pid, SIGTERM) != 0) {
		if (errno != ESRCH)
			log_msg(LOG_WARNING, "session leader %ld: SIGTERM: %s", (long)pid,
				strerror(errno));
		return;
	}
	if (sw->n == sw->cap) {
		size_t cap = sw->cap ? sw->cap * 2 : 8;
		struct sweep_kill *k = realloc(sw->kills, cap * sizeof(*k));

		if (k == NULL) {
			log_msg(LOG_ERR, "session leader %ld: no memory to escalate", (long)pid);
			return;
		}
		sw->kills = k;
		sw->cap = cap;
	}
	sw->kills[sw->n++] = (struct sweep_kill){pid, now + SWEEP_GRACE};
}

/* SIGKILL to leaders still alive after their grace; forgets those that are gone. */
static void sweep_escalate(struct sweep *sw, int64_t now)
{
	size_t i = 0;

	while (i < sw->n) {
		struct sweep_kill *k = &sw->kills[i];

		if (kill(k->pid, 0) != 0 && errno == ESRCH) {
			*k = sw->kills[--sw->n];
			continue;
		}
		if (now < k->deadline) {
			i++;
			continue;
		}
		log_msg(LOG_NOTICE, "session leader %ld still alive after %d s: SIGKILL",
			(long)k->pid, SWEEP_GRACE);
		kill(k->pid, SIGKILL);
		*k = sw->kills[--sw->n];
	}
}

void sweep_tick(struct psmd *d, int64_t now)
{
	if (d->store.st != NULL && d->store.next_due <= now)
		sweep_pass(d, now, now - SWEEP_KEEP);
	sweep_escalate(&d->sweep, now);
}

void sweep_free(struct sweep *sw)
{
	free(sw->kills);
	memset(sw, 0, sizeof(*sw));
}
