/* SPDX-License-Identifier: MIT */
/* sync.c - fleet sync in the daemon: records from other hosts through the store's one way in. */
#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "config.h"
#include "daemon.h"
#include "fleet.h"
#include "json_cjson.h"
#include "leader.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "sweep.h"
#include "plural.h"

#define SYNC_TAKE 256 /* records taken from the fleet per loop turn */

/* A record applied from the fleet: its commit does not send it back. */
struct sync_mark {
	uint8_t id[ID_BYTES];
	uint64_t version;
};

/* What this loop turn took from the fleet, until its commit. */
static struct {
	bool pending;			      /* records were applied and wait for the commit */
	struct sync_mark from[SYNC_TAKE * 2]; /* applied from the fleet since the last commit */
	size_t nfrom;
	struct fleet_in last;	  /* the last one taken (its position; rec moved out) */
	unsigned long fails_seen; /* store.commits_failed when they were applied */
	bool failed;		  /* one could not be applied: resync */
} sync_turn;

static void sync_log(int prio, const char *line)
{
	log_msg(prio, "%s", line);
}

static bool sync_own(const struct psmd *d, const char *origin)
{
	return origin != NULL && strcasecmp(origin, d->conf.cfg.host_name) == 0;
}

static const char *sync_origin(const struct record *r)
{
	return r->type == REC_GRANT	? r->u.grant.origin
	       : r->type == REC_SESSION ? r->u.session.origin
					: r->u.tomb.origin;
}

/* The audit line of a record applied from another host (origin host and issuer); NULL
 * when out of memory.  The caller emits it once the record applied, and frees it. */
static char *sync_audit(const struct record *r)
{
	struct json_out w;
	char id[ID_TEXT_SIZE];

	json_out_init_flags(&w, NULL, 0, JSON_OUT_CJSON);
	audit_begin(&w, (int64_t)time(NULL));
	id_format(record_id(r), id);
	json_out_kv_string(&w, "op", "fleet");
	json_out_kv_string(&w, "type", record_type_name(r->type));
	json_out_kv_string(
	    &w, r->type == REC_GRANT || r->type == REC_REVOKE ? "grant_id" : "session_id", id);
	if (r->type == REC_GRANT) {
		json_out_kv_string(&w, "principal", r->u.grant.principal);
		json_out_kv_string(&w, "pattern", r->u.grant.pattern);
		json_out_kv_string(&w, "issuer", r->u.grant.issuer);
		json_out_kv_string(&w, "reason", r->u.grant.reason);
	} else if (r->type == REC_SESSION) {
		json_out_kv_string(&w, "principal", r->u.session.user);
	}
	json_out_kv_string(&w, "origin", sync_origin(r));
	json_out_kv_string(&w, "result", "ok");
	json_out_end_object(&w);
	return json_cjson_take(&w, NULL);
}

/* A revoke's or session end's signer must cover what it ends: the grant's hosts, the
 * session's host (the state holds them; one this host does not hold: a key of every scope). */
static bool sync_scope_ok(const struct psmd *d, const struct fleet_in *in)
{
	const struct record *r = &in->rec, *held;
	const char *host;

	if (in->signer == NULL || (r->type != REC_REVOKE && r->type != REC_SESSION_END))
		return true;
	if (r->type == REC_REVOKE)
		return sign_scope_ok(in->signer, r, state_grant(d->store.st, r->u.tomb.id));
	held = state_session(d->store.st, r->u.tomb.id);
	host = held != NULL ? held->u.session.origin : NULL;
	return keys_cover(in->signer, host != NULL ? &host : NULL, host != NULL ? 1 : 0);
}

/* Why the state will not take r: replayed (not newer than what is held) or expired. */
static enum sign_result sync_refused(int outcome)
{
	return outcome == STATE_EXPIRED || outcome == STATE_SESSION_ENDED ? SIGN_EXPIRED
									  : SIGN_REPLAYED;
}

/* A session of this host ended from another: its leader (pinned before the record applied)
 * is ended after the commit, as `psmctl session kill` does here. */
static void sync_kill_leader(struct psmd *d, const struct leader_id *leader, const char *id,
			     int64_t now)
{
	struct psm_err why = {0};
	int st = sweep_end_leader(&d->sweep, leader, now, true, &why);

	if (st == LEADER_LIVE)
		log_msg(LOG_NOTICE,
			"session %s ended by another host: SIGTERM to its leader, pid %lld, once "
			"on disk",
			id, (long long)leader->pid);
	else
		log_msg(LOG_NOTICE,
			"session %s ended by another host: its leader, pid %lld, not signalled: %s",
			id, (long long)leader->pid,
			st == LEADER_EXITED ? "exited already" : why.msg);
}

/* Applies a checked record through the store's one way in; ends a leader when due. */
static void sync_apply_add(struct psmd *d, struct fleet_in *in, const struct leader_id *leader,
			   int64_t now)
{
	struct record *r = &in->rec;
	struct psm_err err = {0};
	char id[ID_TEXT_SIZE];
	int type = r->type;
	char *line = sync_own(d, sync_origin(r)) ? NULL : sync_audit(r);
	struct sync_mark m = {.version = record_version(r)};

	memcpy(m.id, record_id(r), ID_BYTES);
	id_format(record_id(r), id);
	if (store_add_from(&d->store, r, now, true, &err) != PSM_OK) {
		log_msg(LOG_ERR, "fleet: %s %s not applied: %s", record_type_name(type), id,
			err.msg);
		sync_turn.failed = true; /* read it again in a resync */
		free(line);
		return;
	}
	if (line != NULL)
		audit_emit(line);
	free(line);
	if (sync_turn.nfrom < sizeof(sync_turn.from) / sizeof(sync_turn.from[0]))
		sync_turn.from[sync_turn.nfrom++] = m;
	fleet_count(d->fleet, SIGN_APPLIED);
	if (leader != NULL)
		sync_kill_leader(d, leader, id, now);
}

/* The session of this host that r ends, when r comes from another host; else NULL. */
static const struct record *sync_own_session(const struct psmd *d, const struct record *r)
{
	const struct record *held;

	if (r->type != REC_SESSION_END || sync_own(d, r->u.tomb.origin))
		return NULL;
	held = state_session(d->store.st, r->u.tomb.id);
	return held != NULL && sync_own(d, held->u.session.origin) ? held : NULL;
}

/* Checks and applies one record from the fleet; it is consumed. */
static void sync_apply(struct psmd *d, struct fleet_in *in, int64_t now)
{
	struct record *r = &in->rec;
	struct leader_id leader;
	const struct record *own;
	struct psm_err err = {0};
	char id[ID_TEXT_SIZE], what[ID_TEXT_SIZE + 16];
	int oc;

	id_format(record_id(r), id);
	snprintf(what, sizeof(what), "%s %s", record_type_name(r->type), id);
	if (!sync_scope_ok(d, in)) {
		snprintf(err.msg, sizeof(err.msg), "key %s may not end it", in->signer->name);
		fleet_drop(d->fleet, SIGN_OUT_OF_SCOPE, what, err.msg);
		record_free(r);
		return;
	}
	if (hlc_observe(&d->store.hlc, record_version(r), now * 1000, &err) != PSM_OK) {
		fleet_drop(d->fleet, SIGN_MALFORMED, what, err.msg);
		record_free(r);
		return;
	}
	oc = state_check(d->store.st, r, now);
	if (oc != STATE_APPLIED) {
		if (!in->resync && !sync_own(d, sync_origin(r)))
			fleet_drop(d->fleet, sync_refused(oc), what, state_outcome_name(oc));
		record_free(r);
		return;
	}
	own = sync_own_session(d, r);
	if (own != NULL)
		sweep_leader_of(&own->u.session, &leader);
	sync_apply_add(d, in, own != NULL ? &leader : NULL, now);
}

struct sync_pub {
	struct psmd *d;
	uint64_t above;
	size_t n;
};

static int sync_pub_one(void *ctx, struct record *rec)
{
	struct sync_pub *p = ctx;
	struct psm_err err = {0};

	if (!sync_own(p->d, sync_origin(rec)) || record_version(rec) <= p->above ||
	    store_pending(rec))
		return 0;
	if (fleet_publish(p->d->fleet, rec, &err) != PSM_OK) {
		log_msg(LOG_ERR, "fleet: %s", err.msg);
		return 1;
	}
	p->n++;
	return 0;
}

/* Queues this host's records above version `above` for Redis again (the script keeps the
 * newer of two, so a record Redis holds already changes nothing). */
static void sync_republish(struct psmd *d, uint64_t above)
{
	static const int types[] = {REC_GRANT, REC_REVOKE, REC_SESSION, REC_SESSION_END};
	struct sync_pub p = {d, above, 0};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (state_foreach(d->store.st, types[i], sync_pub_one, &p) != 0)
			break;
	if (p.n > 0)
		log_msg(LOG_INFO, "fleet: %zu %s of this host queued for Redis again", p.n,
			plural(p.n, "record", "records"));
}

static void sync_ready(void *ctx, int fd, short revents)
{
	static struct fleet_in v[SYNC_TAKE];
	struct psmd *d = ctx;
	int64_t now = (int64_t)time(NULL);
	size_t n = fleet_take(d->fleet, v, SYNC_TAKE);

	(void)fd;
	(void)revents;
	if (n > 0 && !sync_turn.pending) {
		sync_turn.pending = true;
		sync_turn.fails_seen = d->store.commits_failed;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].rec.type != 0)
			sync_apply(d, &v[i], now);
		else
			record_free(&v[i].rec);
	}
	if (n > 0)
		sync_turn.last = v[n - 1];
	if (fleet_want_republish(d->fleet))
		sync_republish(d, 0);
}

void sync_flush(struct psmd *d)
{
	struct store *s = &d->store;
	struct psm_err err = {0};
	bool failed;

	if (d->fleet == NULL || !sync_turn.pending)
		return;
	if (s->j != NULL && (journal_pending(s->j) > 0 || s->batch.n > 0) &&
	    store_commit(s, NULL, &err) != PSM_OK)
		log_msg(LOG_ERR,
			"fleet: journal commit failed: records from the fleet taken back "
			"(read again in a resync): %s",
			err.msg);
	failed = sync_turn.failed || s->commits_failed != sync_turn.fails_seen;
	sync_turn.nfrom = 0;
	if (failed)
		fleet_resync(d->fleet);
	else
		fleet_applied(d->fleet, &sync_turn.last);
	sync_turn.pending = sync_turn.failed = false;
}

/* Whether rec came from the fleet in this turn (else it was made here: a request, an
 * import, the extension of another host's session). */
static bool sync_from_fleet(const struct record *rec)
{
	uint64_t v = record_version(rec);

	for (size_t i = 0; i < sync_turn.nfrom; i++)
		if (sync_turn.from[i].version == v &&
		    memcmp(sync_turn.from[i].id, record_id(rec), ID_BYTES) == 0)
			return true;
	return false;
}

void sync_committed(void *ctx, const struct record *rec)
{
	struct psmd *d = ctx;
	struct psm_err err = {0};

	if (d->fleet != NULL && !sync_from_fleet(rec) &&
	    fleet_publish(d->fleet, rec, &err) != PSM_OK)
		log_msg(LOG_ERR, "fleet: %s (pushed after the next resync)", err.msg);
}

int sync_start(struct psmd *d, struct psm_err *err)
{
	const struct psmd_config *cfg = &d->conf.cfg;
	int rc;

	if (!cfg->redis.enabled || d->loop == NULL || d->fleet != NULL)
		return PSM_OK;
	rc = fleet_start(&d->fleet, &cfg->redis, cfg->host_name, cfg->state_dir, sync_log, err);
	if (rc == PSM_OK)
		rc = loop_add(d->loop, fleet_fd(d->fleet), POLLIN, sync_ready, d, err);
	if (rc != PSM_OK) {
		sync_stop(d);
		return rc;
	}
	sync_republish(d, fleet_pushed(d->fleet));
	return PSM_OK;
}

void sync_stop(struct psmd *d)
{
	if (d->fleet == NULL)
		return;
	if (d->loop != NULL)
		loop_del(d->loop, fleet_fd(d->fleet));
	sync_flush(d);
	fleet_stop(d->fleet);
	d->fleet = NULL;
	sync_turn.pending = false;
}

void sync_tick(struct psmd *d)
{
	const struct psmd_config *cfg = &d->conf.cfg;
	struct psm_err err = {0};

	if (d->fleet != NULL && fleet_same(d->fleet, &cfg->redis, cfg->host_name))
		return;
	if (d->fleet == NULL && !cfg->redis.enabled)
		return;
	if (d->fleet != NULL) {
		log_msg(LOG_NOTICE, "fleet: the redis config changed: restarting fleet sync");
		sync_stop(d);
	}
	if (sync_start(d, &err) != PSM_OK)
		log_msg(LOG_ERR, "fleet: not started: %s", err.msg);
}
