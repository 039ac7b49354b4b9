/* SPDX-License-Identifier: MIT */
/* ops.c - the table of request handlers, authorization, and helpers the handlers share. */
#include "ops.h"

#include <string.h>

#include "daemon.h"
#include "leader.h"
#include "log.h"

/* One handler per op, indexed by the protocol's op id. */
static const ops_fn ops_table[PROTO_OP_COUNT] = {
    [PROTO_OP_GRANT] = ops_grant,
    [PROTO_OP_REVOKE] = ops_revoke,
    [PROTO_OP_GRANTS] = ops_grants,
    [PROTO_OP_CHECK] = ops_check,
    [PROTO_OP_SESSIONS] = ops_sessions,
    [PROTO_OP_SESSION_SHOW] = ops_session_show,
    [PROTO_OP_SESSION_EXTEND] = ops_session_extend,
    [PROTO_OP_SESSION_KILL] = ops_session_kill,
    [PROTO_OP_SESSION_OPEN] = ops_session_open,
    [PROTO_OP_SESSION_CLOSE] = ops_session_close,
    [PROTO_OP_CLEANUP] = ops_cleanup,
    [PROTO_OP_STATS] = ops_stats,
    [PROTO_OP_HEALTH] = ops_health,
    [PROTO_OP_RECOVER] = ops_recover,
    [PROTO_OP_METRICS] = ops_metrics,
    [PROTO_OP_EXPORT] = ops_export,
    [PROTO_OP_IMPORT] = ops_import,
    [PROTO_OP_RELOAD] = ops_reload,
    [PROTO_OP_FLEET] = ops_fleet,
    [PROTO_OP_HISTORY] = ops_history,
};

/*
 * Whether the session's recorded leader is still that very process and runs as
 * the peer's uid: then the session is provably the peer's own.
 */
static bool ops_leader_is_peers(const struct ops_ctx *c, const struct rec_session *s)
{
	struct leader_id want, now;

	sweep_leader_of(s, &want);
	return leader_read(want.pid, &now, NULL) == PSM_OK &&
	       leader_compare(&want, &now, NULL) == LEADER_LIVE && now.uid == c->peer->uid;
}

/*
 * A non-admin may touch only a session of their own uid (an absent one is the
 * handler's); for the ops that need proof, one of this host led by a live process of theirs.
 */
static int ops_owner(const struct ops_ctx *c, struct psm_err *err)
{
	struct record *sess;

	if (ops_find_session(c, &sess, NULL) != PSM_OK)
		return PSM_OK;
	if (sess->u.session.uid != (uint32_t)c->peer->uid)
		return psm_err_set(err, PSM_EPERM, "not permitted (session %s is not yours)",
				   c->req->a.session_id);
	if (proto_op_needs_proof(c->req->op) &&
	    !store_session_here(&sess->u.session, c->d->conf.cfg.host_name))
		return psm_err_set(err, PSM_EPERM,
				   "not permitted (session %s is of host %s: not provably yours "
				   "here; admins only)",
				   c->req->a.session_id, sess->u.session.origin);
	if (!proto_op_needs_proof(c->req->op) || ops_leader_is_peers(c, &sess->u.session))
		return PSM_OK;
	return psm_err_set(err, PSM_EPERM,
			   "not permitted (session %s is not provably yours: "
			   "its leader, pid %lu, is not a live process of yours; admins only)",
			   c->req->a.session_id, (unsigned long)sess->u.session.pid);
}

int ops_run(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	const struct proto_op *op = c->req->op;
	const char *name = c->peer->name[0] != '\0' ? c->peer->name : NULL;
	ops_fn fn = ops_table[op->id];
	int rc = proto_authorize(c->req, c->peer->admin, name, err);

	if (rc == PSM_OK && !c->peer->admin && proto_op_needs_owner(op))
		rc = ops_owner(c, err);
	if (rc != PSM_OK)
		return rc;
	if (fn == NULL)
		return psm_err_set(err, PSM_ESYS, "op %s: no handler", op->name);
	return fn(c, reply, err);
}

int ops_self_user(const struct ops_ctx *c, const char **user, struct psm_err *err)
{
	*user = c->req->a.user;
	if (*user != NULL)
		return PSM_OK;
	if (c->peer->name[0] == '\0')
		return psm_err_set(err, PSM_EPERM, "uid %u has no user name",
				   (unsigned)c->peer->uid);
	*user = c->peer->name;
	return PSM_OK;
}

int ops_find_session(const struct ops_ctx *c, struct record **sess, struct psm_err *err)
{
	uint8_t id[ID_BYTES];
	int rc = id_parse(c->req->a.session_id, id, err);

	if (rc != PSM_OK)
		return psm_err_prefix(err, "session_id");
	*sess = state_session(c->d->store.st, id);
	if (*sess == NULL)
		return psm_err_set(err, PSM_ENOENT, "session %s: no such session",
				   c->req->a.session_id);
	return PSM_OK;
}

cJSON *ops_add_time(cJSON *o, const char *key, int64_t t, int64_t none)
{
	if (t == none)
		return cJSON_AddNullToObject(o, key);
	return cJSON_AddNumberToObject(o, key, (double)t);
}

static size_t ops_held(const struct ops_ctx *c)
{
	struct state_counts k;

	state_counts(c->d->store.st, &k);
	return k.grants + k.sessions;
}

int ops_room(struct ops_ctx *c, size_t more, struct psm_err *err)
{
	uint64_t max = c->d->conf.cfg.max_records;
	size_t held = ops_held(c);

	if (held + more <= max)
		return PSM_OK;
	if (store_sweep(&c->d->store, c->now) > 0 && (held = ops_held(c)) + more <= max)
		return PSM_OK; /* expired ones kept for --explain go first */
	log_msg(LOG_WARNING,
		"capacity: table full (%zu records, ceiling %llu in psmd.conf): "
		"%s refused",
		held, (unsigned long long)max, c->req->op->name);
	return psm_err_set(err, PSM_EFULL,
			   "capacity: table full (%zu records, ceiling %llu in "
			   "psmd.conf)",
			   held, (unsigned long long)max);
}

int ops_add_new(struct ops_ctx *c, int type, ops_build_fn build, const char *id_key, cJSON *reply,
		struct psm_err *err)
{
	struct record rec;
	int64_t end;
	int rc = ops_room(c, 1, err);

	if (rc != PSM_OK)
		return rc;
	record_init(&rec, type);
	rc = build(c, &rec, err);
	if (rc != PSM_OK) {
		record_free(&rec);
		return rc;
	}
	id_format(record_id(&rec), c->id);
	end = record_expiry(&rec);
	rc = store_add(&c->d->store, &rec, c->now, err); /* consumes rec */
	if (rc != PSM_OK)
		return rc;
	c->changed = true;
	if (cJSON_AddStringToObject(reply, id_key, c->id) == NULL ||
	    ops_add_time(reply, type == REC_GRANT ? "not_after" : "expires", end,
			 REC_NOT_AFTER_NONE) == NULL)
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return PSM_OK;
}

int ops_end(struct ops_ctx *c, const struct record *live, struct psm_err *err)
{
	struct store *s = &c->d->store;
	struct record tomb;
	int rc;

	record_init(&tomb, REC_REVOKE);
	rc = record_tomb_for(&tomb, live, store_version(s), c->d->conf.cfg.host_name, err);
	if (rc != PSM_OK) {
		record_free(&tomb);
		return rc;
	}
	rc = store_add(s, &tomb, c->now, err);
	if (rc == PSM_OK)
		c->changed = true;
	return rc;
}
