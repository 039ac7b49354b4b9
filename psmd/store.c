/* SPDX-License-Identifier: MIT */
/* store.c - runtime grants and sessions: apply a record to the state, journal it, mirror it in the
 * table. */
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "sweep.h"
#include "table.h"

#define STORE_FILL_GROW 0.8 /* grow the table before it is fuller than this */

static uint32_t *store_unit_of(struct record *rec)
{
	if (rec->type == REC_GRANT)
		return &rec->u.grant.table_unit;
	if (rec->type == REC_SESSION)
		return &rec->u.session.table_unit;
	return NULL;
}

/* session_expiry "kill": the sweeper ends expired sessions' leaders. */
static bool store_kills(const struct store *s)
{
	return s->host.cfg->session_expiry == CONFIG_EXPIRY_KILL;
}

static void store_due(struct store *s, const struct record *rec)
{
	int64_t t = sweep_due(s->host.sweep, store_kills(s), rec), e = record_expiry(rec);

	if (t < s->next_due)
		s->next_due = t;
	if (e < s->host.sweep->oldest)
		s->host.sweep->oldest = e;
}

/* A new version of a session: its bound grants' table records take its new expiry. */
static int store_remirror_one(void *ctx, struct record *rec)
{
	struct store *s = ctx;
	struct rec_grant *g = &rec->u.grant;
	struct shm_writer *w = s->host.table->w;
	struct psm_err err = {0};

	if (!g->has_session || memcmp(g->session, s->replaced, ID_BYTES) != 0 ||
	    g->table_unit == STORE_UNIT_PENDING) /* it enters after the commit */
		return 0;
	if (g->table_unit != REC_U32_NONE)
		shm_writer_remove(w, g->table_unit, NULL);
	g->table_unit = REC_U32_NONE;
	if (store_entry_insert(s->st, w, rec, s->host.cfg, &g->table_unit, &err) != PSM_OK) {
		log_msg(LOG_WARNING, "table: %s", err.msg);
		s->table_short = true;
	}
	return 0;
}

/*
 * A grant or session that enters gets its table record (one applied by a change of the
 * batch: after the commit, store_publish); one that leaves loses it at once.
 */
static void store_listen(void *ctx, int event, struct record *rec)
{
	struct store *s = ctx;
	struct shm_writer *w = s->host.table->w;
	uint32_t *unit = store_unit_of(rec);
	struct psm_err err = {0};

	if (event == STATE_EV_ADD) {
		store_due(s, rec);
		if (s->batch.applying) {
			*unit = STORE_UNIT_PENDING;
			return;
		}
		if (w != NULL &&
		    store_entry_insert(s->st, w, rec, s->host.cfg, unit, &err) != PSM_OK) {
			log_msg(LOG_WARNING, "table: %s", err.msg);
			s->table_short = true;
		}
		if (w != NULL && rec->type == REC_SESSION &&
		    memcmp(s->replaced, rec->u.session.id, ID_BYTES) == 0)
			state_foreach_bound(s->st, rec->u.session.id, store_remirror_one, s);
		return;
	}
	if (*unit == STORE_UNIT_PENDING)
		*unit = REC_U32_NONE;
	if (*unit != REC_U32_NONE && w != NULL && shm_writer_remove(w, *unit, &err) != PSM_OK)
		log_msg(LOG_ERR, "table: removing a record: %s", err.msg);
	*unit = REC_U32_NONE;
	if (rec->type == REC_SESSION)
		memcpy(s->replaced, rec->u.session.id, ID_BYTES);
}

static void store_log_report(const struct journal_report *rep, const char *dir)
{
	char text[1024];

	journal_report_format(rep, text, sizeof(text));
	log_msg(LOG_INFO, "state %s: %s", dir, text);
	if (rep->fallback[0] != '\0')
		log_msg(LOG_WARNING, "state %s: %s", dir, rep->fallback);
	if (rep->torn[0] != '\0')
		log_msg(LOG_WARNING, "state %s: %s", dir, rep->torn);
}

/* Every damaged region and quarantined grant, until an admin decides (psmctl recover). */
static void store_log_recovery(const struct journal_recovery *r, const char *dir)
{
	char id[ID_TEXT_SIZE];
	size_t i;

	for (i = 0; i < r->ndamage; i++)
		log_msg(LOG_ERR, "state %s: %s", dir, r->damage[i]);
	for (i = 0; i < r->ngrants; i++) {
		id_format(r->grants[i].u.grant.id, id);
		log_msg(LOG_ERR,
			"state %s: grant %s (%s %s) in quarantine: its revoke may be in a "
			"damaged journal region; psmctl recover --accept|--drop",
			dir, id, r->grants[i].u.grant.principal, r->grants[i].u.grant.pattern);
	}
}

int store_open(struct store *s, const struct store_host *host, int64_t now, struct psm_err *err)
{
	const char *dir = host->cfg->state_dir;
	struct journal_report rep;
	struct state_counts c;
	int rc;

	memset(s, 0, sizeof(*s));
	s->host = *host;
	s->next_due = INT64_MAX;
	memset(&rep, 0, sizeof(rep));
	rc = journal_open(&s->j, dir, now, &s->st, &rep, err);
	if (rc != PSM_OK)
		return psm_err_prefix(err, "state_dir %s", dir);
	store_log_report(&rep, dir);
	store_log_recovery(journal_recovery(s->j), dir);
	state_counts(s->st, &c);
	hlc_init(&s->hlc);
	hlc_restore(&s->hlc, c.max_version);
	state_set_listener(s->st, store_listen, s);
	store_recompute_due(s);
	return PSM_OK;
}

void store_close(struct store *s, bool snapshot)
{
	struct psm_err err = {0};

	if (s->j != NULL && snapshot && journal_snapshot(s->j, s->st, &err) != PSM_OK)
		log_msg(LOG_ERR, "snapshot on stop: %s", err.msg);
	if (s->j != NULL)
		journal_close(s->j);
	if (s->st != NULL) {
		state_set_listener(s->st, NULL, NULL);
		state_free(s->st);
	}
	free(s->units);
	store_batch_free(&s->batch);
	memset(s, 0, sizeof(*s));
}

void store_tick(struct store *s)
{
	struct journal_info ji;
	struct state_counts c;
	uint64_t held;
	struct psm_err err = {0};

	if (s->j == NULL)
		return;
	if (journal_snapshot_poll(s->j, false, &err) < 0)
		log_msg(LOG_ERR, "snapshot: %s", err.msg);
	journal_info(s->j, &ji);
	state_counts(s->st, &c);
	held = c.grants + c.sessions + c.revokes + c.session_ends;
	/* the journal stays within about twice the state: snapshots cost O(1) per record */
	/* a snapshot commits what is queued: never under a batch whose commit is not settled */
	if (ji.broken || s->batch.n > 0 || ji.snapshotting ||
	    ji.records_since_snapshot < STORE_SNAPSHOT_RECORDS || ji.records_since_snapshot < held)
		return;
	if (journal_snapshot_start(s->j, s->st, &err) != PSM_OK)
		log_msg(LOG_ERR, "snapshot: %s", err.msg);
}

uint64_t store_version(struct store *s)
{
	return hlc_now(&s->hlc, hlc_wall_now_ms());
}

static int store_due_one(void *ctx, struct record *rec)
{
	store_due(ctx, rec);
	return 0;
}

void store_recompute_due(struct store *s)
{
	static const int types[] = {REC_GRANT, REC_SESSION, REC_REVOKE, REC_SESSION_END};

	s->next_due = INT64_MAX;
	s->host.sweep->oldest = INT64_MAX;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		state_foreach(s->st, types[i], store_due_one, s);
}

/* A sweeper pass (sweep_expire), then when it is next due. */
static size_t store_sweep_pass(struct store *s, int64_t now, int64_t cutoff)
{
	size_t n;

	if (s->st == NULL)
		return 0;
	n = sweep_expire(s->host.sweep, s->st, s->host.table->w, store_kills(s), now, cutoff);
	store_recompute_due(s);
	return n;
}

size_t store_sweep(struct store *s, int64_t now)
{
	return store_sweep_pass(s, now, now);
}

void store_sweep_tick(struct store *s, int64_t now)
{
	if (s->st != NULL && s->next_due <= now)
		store_sweep_pass(s, now, now - SWEEP_KEEP);
}

/* Notes rec's change in the batch and queues rec in the journal; nothing changed on error. */
static int store_queue(struct store *s, const struct record *rec, struct psm_err *err)
{
	int rc = store_batch_note(&s->batch, s->st, rec, err);

	if (rc == PSM_OK && (rc = journal_append(s->j, rec, err)) != PSM_OK)
		store_batch_forget(&s->batch);
	return rc;
}

int store_import_hook(void *ctx, const struct record *rec, struct psm_err *err)
{
	struct store *s = ctx;

	if (hlc_observe(&s->hlc, record_version(rec), hlc_wall_now_ms(), NULL) != PSM_OK)
		log_msg(LOG_WARNING, "import: a version far ahead of this host's clock");
	return store_queue(s, rec, err);
}

/* Why a request's record does not apply. */
static int store_outcome_err(int oc, const struct record *rec, struct psm_err *err)
{
	char id[ID_TEXT_SIZE];

	id_format(record_id(rec), id);
	switch (oc) {
	case STATE_REVOKED:
		return psm_err_set(err, PSM_ENOENT, "%s: revoked or ended", id);
	case STATE_SESSION_ENDED:
		return psm_err_set(err, PSM_ENOENT, "session: the session has ended");
	case STATE_EXPIRED:
		return psm_err_set(err, PSM_EINVAL, "validity: already expired");
	default:
		return psm_err_set(err, PSM_EEXIST, "%s: a newer version is already there", id);
	}
}

/* One insert in its own batch. */
static int store_insert_once(struct store *s, const struct record *rec, uint32_t *unit,
			     struct psm_err *err)
{
	struct shm_writer *w = s->host.table->w;
	int rc;

	shm_writer_begin(w);
	rc = store_entry_insert(s->st, w, rec, s->host.cfg, unit, err);
	shm_writer_commit(w);
	return rc;
}

static int store_grow(struct store *s, struct psm_err *err)
{
	uint64_t cap = s->host.table->capacity;

	log_msg(LOG_NOTICE, "table %.0f%% full at capacity %llu: growing it",
		shm_writer_fill(s->host.table->w) * 100.0, (unsigned long long)cap);
	return s->host.rebuild(s->host.ctx, cap * 2, err);
}

/*
 * Room for one more record: expired ones kept for --explain go first (they
 * never make the table full), then the table grows.  PSM_EFULL when neither helps.
 */
static int store_make_room(struct store *s, int64_t now, struct psm_err *err)
{
	if (s->host.sweep->oldest <= now && store_sweep(s, now) > 0 &&
	    shm_writer_fill(s->host.table->w) <= STORE_FILL_GROW)
		return PSM_OK;
	if (s->host.table->capacity >= CONFIG_CAPACITY_MAX)
		return psm_err_set(err, PSM_EFULL, "at the largest capacity");
	return store_grow(s, err);
}

/* Room in the table for one more record, made before a change is journaled: the table grows
 * when filling; PSM_EFULL only when it is full at the largest capacity. */
static int store_room(struct store *s, int64_t now, struct psm_err *err)
{
	struct shm_writer *w = s->host.table->w;
	struct psm_err gerr = {0};

	if (w == NULL || shm_writer_fill(w) <= STORE_FILL_GROW ||
	    store_make_room(s, now, &gerr) == PSM_OK)
		return PSM_OK;
	if (gerr.code != PSM_EFULL)
		log_msg(LOG_WARNING, "table growth: %s", gerr.msg);
	if (shm_writer_fill(s->host.table->w) < 1.0)
		return PSM_OK;
	log_msg(LOG_ERR, "table full at capacity %llu",
		(unsigned long long)s->host.table->capacity);
	return psm_err_set(err, PSM_EFULL,
			   "table full (capacity %llu records); nothing was evicted",
			   (unsigned long long)s->host.table->capacity);
}

/* Puts rec in the table when it belongs there, making room first when it is filling. */
static int store_mirror(struct store *s, const struct record *rec, int64_t now, uint32_t *unit,
			struct psm_err *err)
{
	struct psm_err gerr = {0};
	int rc;

	*unit = REC_U32_NONE;
	if (s->host.table->w == NULL)
		return PSM_OK;
	if (shm_writer_fill(s->host.table->w) > STORE_FILL_GROW &&
	    store_make_room(s, now, &gerr) != PSM_OK && gerr.code != PSM_EFULL)
		log_msg(LOG_WARNING, "table growth: %s", gerr.msg);
	rc = store_insert_once(s, rec, unit, err);
	if (rc == PSM_EFULL && store_make_room(s, now, &gerr) == PSM_OK)
		rc = store_insert_once(s, rec, unit, err);
	if (rc != PSM_OK)
		*unit = REC_U32_NONE;
	return rc;
}

/* A committed grant or session enters the table; a session's new expiry reaches its bound
 * grants' table records.  Out of room: it stays out (PAM denies it), logged. */
static void store_publish_one(struct store *s, struct record *rec, uint32_t *unit, int64_t now)
{
	struct shm_writer *w = s->host.table->w;
	struct psm_err err = {0};
	char id[ID_TEXT_SIZE];

	if (store_mirror(s, rec, now, unit, &err) != PSM_OK) {
		id_format(record_id(rec), id);
		log_msg(LOG_ERR, "table: %s %s is on disk but not in the table: %s",
			record_type_name(rec->type), id, err.msg);
	}
	if (w == NULL || rec->type != REC_SESSION)
		return;
	memcpy(s->replaced, rec->u.session.id, ID_BYTES);
	shm_writer_begin(s->host.table->w);
	state_foreach_bound(s->st, rec->u.session.id, store_remirror_one, s);
	shm_writer_commit(s->host.table->w);
}

/* Tells the daemon of a committed change: the record it applied, if it is still held. */
static void store_committed_one(struct store *s, const struct store_undo *u)
{
	const struct record *rec = u->type == REC_GRANT	    ? state_grant(s->st, u->id)
				   : u->type == REC_SESSION ? state_session(s->st, u->id)
							    : state_tomb(s->st, u->type, u->id);

	if (rec != NULL && rec->type == u->type)
		s->host.committed(s->host.ctx, rec);
}

/* After the commit: the batch's grants and sessions still live enter the table, in order;
 * each change is told to the daemon (fleet sync publishes this host's). */
static void store_publish(struct store *s, int64_t now)
{
	for (size_t i = 0; i < s->batch.n; i++) {
		const struct store_undo *u = &s->batch.v[i];
		struct record *rec = u->type == REC_GRANT     ? state_grant(s->st, u->id)
				     : u->type == REC_SESSION ? state_session(s->st, u->id)
							      : NULL;

		if (rec != NULL && *store_unit_of(rec) == STORE_UNIT_PENDING)
			store_publish_one(s, rec, store_unit_of(rec), now);
		if (s->host.committed != NULL)
			store_committed_one(s, u);
	}
	store_batch_clear(&s->batch);
}

int store_commit(struct store *s, uint64_t *fsync_ns, struct psm_err *err)
{
	int64_t now = (int64_t)time(NULL);
	struct psm_err gerr = {0};
	int rc = journal_commit(s->j, fsync_ns, err);

	if (rc == PSM_OK) {
		store_publish(s, now);
	} else {
		s->commits_failed++;
		store_batch_rollback(&s->batch, s->st, s->host.table->w, now);
		store_recompute_due(s);
	}
	if (rc == PSM_OK && journal_recovery_prune(s->j, s->st, &gerr) != PSM_OK)
		log_msg(LOG_ERR, "quarantine: %s (the next load drops the revoked grant)",
			gerr.msg);
	sweep_settle(s->host.sweep, rc == PSM_OK, now); /* a kill's signal, once on disk */
	s->host.check(s->host.ctx); /* a table damaged under the publish is mended before
				     * the replies say the changes are in it */
	if (s->table_short) {
		s->table_short = false;
		if (s->host.rebuild(s->host.ctx, s->host.table->capacity * 2, &gerr) != PSM_OK)
			log_msg(LOG_ERR, "table: %s", gerr.msg);
	}
	return rc;
}

bool store_pending(const struct record *rec)
{
	const uint32_t *unit = rec->type == REC_GRANT	  ? &rec->u.grant.table_unit
			       : rec->type == REC_SESSION ? &rec->u.session.table_unit
							  : NULL;

	return unit != NULL && *unit == STORE_UNIT_PENDING;
}

/* state_apply as a change of the batch, inside a table batch (the listener removes units). */
static int store_apply(struct store *s, struct record *rec, int64_t now, int *oc,
		       struct psm_err *err)
{
	struct shm_writer *w = s->host.table->w;
	int rc;

	if (w != NULL)
		shm_writer_begin(w);
	s->batch.applying = true;
	rc = state_apply(s->st, rec, now, oc, err);
	s->batch.applying = false;
	if (w != NULL)
		shm_writer_commit(w);
	return rc;
}

int store_add(struct store *s, struct record *rec, int64_t now, struct psm_err *err)
{
	return store_add_from(s, rec, now, false, err);
}

int store_add_from(struct store *s, struct record *rec, int64_t now, bool fleet,
		   struct psm_err *err)
{
	int oc = state_check(s->st, rec, now), rc;

	if (oc != STATE_APPLIED)
		rc = store_outcome_err(oc, rec, err);
	else
		rc = store_entry_check(s->st, s->host.table->w, rec, s->host.cfg, err);
	if (rc == PSM_EINVAL && fleet)
		rc = PSM_OK; /* kept, out of this host's table (e.g. a user it does not know) */
	if (rc == PSM_OK && (rec->type == REC_GRANT || rec->type == REC_SESSION))
		rc = store_room(s, now, err); /* a tombstone needs none: never refused for room */
	if (rc == PSM_OK)
		rc = store_queue(s, rec, err);
	if (rc != PSM_OK) {
		record_free(rec);
		return rc;
	}
	store_due(s, rec);
	rc = store_apply(s, rec, now, &oc, err);
	if (rc == PSM_OK && oc != STATE_APPLIED)
		log_msg(LOG_ERR, "state: a checked record did not apply (%s)",
			state_outcome_name(oc));
	return rc;
}
