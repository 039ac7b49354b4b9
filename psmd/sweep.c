/* SPDX-License-Identifier: MIT */
/* sweep.c - psmd's sweeper: reclaims expired grants, sessions and tombstones; ends session leaders.
 */
#include "sweep.h"

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leader.h"
#include "log.h"
#include "shm.h"
#include "state.h"
#include "store_entry.h"
#include "plural.h"

int64_t sweep_due(const struct sweep *sw, bool kills, const struct record *rec)
{
	int64_t t = record_expiry(rec);

	if (rec->type == REC_SESSION && kills && t > sw->ended_upto)
		return t;
	return t > INT64_MAX - SWEEP_KEEP ? INT64_MAX : t + SWEEP_KEEP;
}

struct sweep_ending {
	struct sweep *sw;
	int64_t now;
	const char *host; /* this host (the table names it); NULL: none known, nothing signalled */
};

static int sweep_end_one(void *ctx, struct record *rec)
{
	struct sweep_ending *e = ctx;
	const struct rec_session *ss = &rec->u.session;
	struct psm_err why = {0};
	struct leader_id leader;
	char id[ID_TEXT_SIZE];
	int st;

	if (ss->expires <= e->sw->ended_upto || ss->expires > e->now)
		return 0;
	if (!store_session_here(ss, e->host))
		return 0; /* another host's session: its own psmd ends its leader */
	id_format(ss->id, id);
	sweep_leader_of(ss, &leader);
	st = sweep_end_leader(e->sw, &leader, e->now, false, &why);
	if (st == LEADER_LIVE)
		log_msg(LOG_NOTICE, "session %s of %s expired: SIGTERM to its leader, pid %ld", id,
			ss->user, (long)ss->pid);
	else if (st == LEADER_EXITED)
		log_msg(LOG_INFO,
			"session %s of %s expired: its leader, pid %ld, exited already: "
			"nothing signalled",
			id, ss->user, (long)ss->pid);
	else
		log_msg(LOG_WARNING,
			"session %s of %s expired: its leader, pid %ld, not "
			"signalled: %s",
			id, ss->user, (long)ss->pid, why.msg);
	return 0;
}

size_t sweep_expire(struct sweep *sw, struct state *st, struct shm_writer *w, bool kills,
		    int64_t now, int64_t cutoff)
{
	struct sweep_ending e = {sw, now, w != NULL ? shm_writer_view(w)->host_name : NULL};
	size_t n;

	if (kills)
		state_foreach(st, REC_SESSION, sweep_end_one, &e);
	if (now > sw->ended_upto)
		sw->ended_upto = now;
	if (w != NULL)
		shm_writer_begin(w);
	n = state_expire(st, cutoff);
	if (w != NULL)
		shm_writer_commit(w);
	sw->removed += n;
	if (n > 0)
		log_msg(LOG_INFO, "sweep: removed %zu expired %s", n,
			plural(n, "grant or session", "grants and sessions"));
	return n;
}

void sweep_leader_of(const struct rec_session *s, struct leader_id *id)
{
	memset(id, 0, sizeof(*id));
	id->pid = s->pid;
	id->start = s->leader_start;
	memcpy(id->boot, s->boot_id, sizeof(id->boot));
	id->audit = s->audit;
}

/* Keeps the pidfd of a leader that got SIGTERM (held: that will get it after the commit),
 * for SIGKILL after its grace. */
static void sweep_escalate_later(struct sweep *sw, int64_t pid, int pidfd, int64_t now, bool held)
{
	if (sw->n == sw->cap) {
		size_t cap = sw->cap ? sw->cap * 2 : 8;
		struct sweep_kill *k = realloc(sw->kills, cap * sizeof(*k));

		if (k == NULL) {
			log_msg(LOG_ERR, "session leader %lld: no memory to escalate",
				(long long)pid);
			close(pidfd);
			return;
		}
		sw->kills = k;
		sw->cap = cap;
	}
	sw->kills[sw->n++] = (struct sweep_kill){pid, pidfd, now + SWEEP_GRACE, held};
}

/* SIGTERM through the pinned pidfd: LEADER_LIVE, or LEADER_EXITED / LEADER_UNPROVEN. */
static int sweep_term(int fd, struct psm_err *err)
{
	int e = leader_signal(fd, SIGTERM);

	if (e == 0)
		return LEADER_LIVE;
	if (e == ESRCH)
		return LEADER_EXITED;
	psm_err_set(err, PSM_ESYS, "SIGTERM: %s", strerror(e));
	return LEADER_UNPROVEN;
}

int sweep_end_leader(struct sweep *sw, const struct leader_id *id, int64_t now, bool held,
		     struct psm_err *err)
{
	int fd, st;

	if (id->pid <= 1) {
		psm_err_set(err, PSM_EPERM, "pid %lld is never a session leader",
			    (long long)id->pid);
		return LEADER_UNPROVEN;
	}
	st = leader_pin(id, &fd, err);
	if (st == LEADER_LIVE && !held)
		st = sweep_term(fd, err);
	if (st != LEADER_LIVE) {
		if (fd >= 0)
			close(fd);
		return st;
	}
	sweep_escalate_later(sw, id->pid, fd, now, held);
	return LEADER_LIVE;
}

/* Forgets entry i (its pidfd closed). */
static void sweep_forget(struct sweep *sw, size_t i)
{
	close(sw->kills[i].pidfd);
	sw->kills[i] = sw->kills[--sw->n];
}

void sweep_escalate(struct sweep *sw, int64_t now)
{
	size_t i = 0;

	while (i < sw->n) {
		struct sweep_kill *k = &sw->kills[i];

		if (k->held) {
			i++;
			continue;
		}
		if (leader_signal(k->pidfd, 0) == ESRCH) {
			sweep_forget(sw, i);
			continue;
		}
		if (now < k->deadline) {
			i++;
			continue;
		}
		log_msg(LOG_NOTICE, "session leader %lld still alive after %d s: SIGKILL",
			(long long)k->pid, SWEEP_GRACE);
		leader_signal(k->pidfd, SIGKILL);
		sweep_forget(sw, i);
	}
}

void sweep_settle(struct sweep *sw, bool committed, int64_t now)
{
	struct psm_err why = {0};
	size_t i = 0;

	while (i < sw->n) {
		struct sweep_kill *k = &sw->kills[i];
		int st = LEADER_UNPROVEN;

		if (!k->held) {
			i++;
			continue;
		}
		if (committed && (st = sweep_term(k->pidfd, &why)) == LEADER_LIVE) {
			k->held = false;
			k->deadline = now + SWEEP_GRACE;
			i++;
			continue;
		}
		if (committed)
			log_msg(LOG_NOTICE, "session leader %lld: not signalled: %s",
				(long long)k->pid,
				st == LEADER_EXITED ? "it exited meanwhile" : why.msg);
		sweep_forget(sw, i);
	}
}

void sweep_free(struct sweep *sw)
{
	while (sw->n > 0)
		sweep_forget(sw, sw->n - 1);
	free(sw->kills);
	memset(sw, 0, sizeof(*sw));
}
