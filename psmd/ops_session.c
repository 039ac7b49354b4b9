/* SPDX-License-Identifier: MIT */
/* ops_session.c - login sessions: open and close (pam_psm), list, show, extend, kill. */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "leader.h"
#include "log.h"
#include "ttl.h"

_Static_assert(REC_BOOT_ID_SIZE == LEADER_BOOT_SIZE, "a boot id is the same size everywhere");

struct ops_slist {
	cJSON *arr;
	const char *user; /* NULL: all */
	const char *host; /* this host: only its sessions; NULL: every host's ("fleet") */
	int64_t now;
	int rc;
};

static int ops_list_session(void *ctx, struct record *rec)
{
	struct ops_slist *l = ctx;
	const struct rec_session *s = &rec->u.session;
	cJSON *o;

	if (s->expires <= l->now || (l->user != NULL && strcmp(s->user, l->user) != 0))
		return 0;
	if (l->host != NULL && !store_session_here(s, l->host))
		return 0;
	o = record_session_to_json(s);
	if (o == NULL || !cJSON_AddItemToArray(l->arr, o)) {
		cJSON_Delete(o);
		return l->rc = PSM_ENOMEM;
	}
	return 0;
}

int ops_sessions(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	struct ops_slist l = {.now = c->now,
			      .host = c->req->a.fleet ? NULL : c->d->conf.cfg.host_name};
	int rc = PSM_OK;

	if (c->req->a.user != NULL || !c->peer->admin)
		rc = ops_self_user(c, &l.user, err);
	if (rc != PSM_OK)
		return rc;
	l.arr = cJSON_AddArrayToObject(reply, "sessions");
	if (l.arr == NULL || (c->req->a.fleet && !cJSON_AddBoolToObject(reply, "fleet", true)))
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	state_foreach(c->d->store.st, REC_SESSION, ops_list_session, &l);
	if (l.rc != PSM_OK)
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return PSM_OK;
}

static int ops_reply_session(cJSON *reply, const struct record *sess, struct psm_err *err)
{
	return ops_add(reply, "session", record_session_to_json(&sess->u.session), err);
}

/* A session that is still running: psmd keeps an expired one a while for explanations,
 * but it cannot be shown as live nor brought back by an extend. */
static int ops_find_live_session(struct ops_ctx *c, struct record **sess, struct psm_err *err)
{
	int rc = ops_find_session(c, sess, err);

	if (rc == PSM_OK && c->now >= (*sess)->u.session.expires)
		return psm_err_set(err, PSM_ENOENT, "session %s expired", c->req->a.session_id);
	return rc;
}

int ops_session_show(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	struct record *sess;
	int rc = ops_find_live_session(c, &sess, err);

	if (rc != PSM_OK)
		return rc;
	snprintf(c->principal, sizeof(c->principal), "%s", sess->u.session.user);
	return ops_reply_session(reply, sess, err);
}

/* A session TTL is at most the policy's session_ttl_max (and ends before REC_TIME_MAX). */
static int ops_session_ttl_ok(const struct ops_ctx *c, int64_t ttl, struct psm_err *err)
{
	int64_t max = policy_session_ttl_max(c->d->conf.pol);
	const char *given = c->req->a.ttl_text != NULL ? c->req->a.ttl_text : "session_ttl";
	char text[32];

	if (ttl > max) {
		ttl_format(max, text, sizeof(text));
		return psm_err_set(err, PSM_EINVAL,
				   "ttl \"%s\": longer than the policy's "
				   "session_ttl_max (%s)",
				   given, text);
	}
	if (ttl > REC_TIME_MAX - c->now)
		return psm_err_set(err, PSM_EINVAL, "ttl \"%s\": too long", given);
	return PSM_OK;
}

/* A new version of the session expiring ttl seconds from now. */
int ops_session_extend(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	struct record *sess, next;
	uint8_t id[ID_BYTES];
	int rc = ops_find_live_session(c, &sess, err);

	if (rc == PSM_OK)
		rc = ops_session_ttl_ok(c, c->req->a.ttl, err);
	if (rc != PSM_OK)
		return rc;
	memcpy(id, sess->u.session.id, ID_BYTES);
	id_format(id, c->id);
	snprintf(c->principal, sizeof(c->principal), "%s", sess->u.session.user);
	rc = record_copy(&next, sess, err);
	if (rc != PSM_OK)
		return rc;
	next.u.session.expires = c->now + c->req->a.ttl;
	next.u.session.version = store_version(&c->d->store);
	next.u.session.table_unit = REC_U32_NONE;
	rc = store_add(&c->d->store, &next, c->now, err);
	if (rc != PSM_OK)
		return rc;
	c->changed = true;
	sess = state_session(c->d->store.st, id);
	if (sess == NULL)
		return psm_err_set(err, PSM_ESYS, "session %s: lost", c->id);
	return ops_reply_session(reply, sess, err);
}

/* A session ended by a kill or a close: whose it was and who leads it. */
struct ops_ended {
	bool ended;		       /* it was live and has its tombstone now */
	bool here;		       /* this host's: its leader is a process here */
	struct leader_id leader;       /* when here */
	char host[REC_ORIGIN_MAX + 1]; /* its origin, the host whose psmd ends its leader */
};

/* Ends the session (its grants with it); *e says whose it was and its leader. */
static int ops_session_end(struct ops_ctx *c, struct ops_ended *e, struct psm_err *err)
{
	struct record *sess;
	int rc = ops_find_session(c, &sess, err);

	memset(e, 0, sizeof(*e));
	if (rc == PSM_ENOENT)
		return PSM_OK;
	if (rc != PSM_OK)
		return rc;
	sweep_leader_of(&sess->u.session, &e->leader);
	e->here = store_session_here(&sess->u.session, c->d->conf.cfg.host_name);
	snprintf(e->host, sizeof(e->host), "%s",
		 sess->u.session.origin != NULL ? sess->u.session.origin : "");
	id_format(sess->u.session.id, c->id);
	snprintf(c->principal, sizeof(c->principal), "%s", sess->u.session.user);
	rc = ops_end(c, sess, err);
	e->ended = rc == PSM_OK;
	return rc;
}

/* SIGTERM to the ended session's leader when it is provably still that process. */
static int ops_kill_leader(struct ops_ctx *c, const struct leader_id *leader, cJSON *reply,
			   struct psm_err *err)
{
	struct psm_err why = {0};
	int st = sweep_end_leader(&c->d->sweep, leader, c->now, true, &why);
	const char *what = st == LEADER_LIVE ? "signalled" : leader_state_name(st);

	if (st == LEADER_LIVE)
		log_msg(LOG_NOTICE,
			"session %s killed: SIGTERM to its leader, pid %lld, once on disk", c->id,
			(long long)leader->pid);
	else if (st == LEADER_EXITED)
		log_msg(LOG_NOTICE,
			"session %s killed: its leader, pid %lld, exited already: "
			"nothing signalled",
			c->id, (long long)leader->pid);
	else
		log_msg(LOG_WARNING, "session %s killed: its leader, pid %lld, not signalled: %s",
			c->id, (long long)leader->pid, why.msg);
	if (cJSON_AddStringToObject(reply, "leader", what) == NULL ||
	    (st == LEADER_UNPROVEN && cJSON_AddStringToObject(reply, "note", why.msg) == NULL) ||
	    !cJSON_AddBoolToObject(reply, "killed", st == LEADER_LIVE))
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return PSM_OK;
}

/* Another host's session, ended here: nothing is signalled here (its pid is a process of
 * that host); its own psmd ends the leader when the end reaches it through the fleet. */
static int ops_kill_remote(struct ops_ctx *c, const struct ops_ended *e, cJSON *reply,
			   struct psm_err *err)
{
	char note[160];

	snprintf(note, sizeof(note), "session of host %s: its psmd ends the leader", e->host);
	log_msg(LOG_NOTICE,
		"session %s of host %s killed: nothing signalled here, %s ends its leader", c->id,
		e->host, e->host);
	if (cJSON_AddStringToObject(reply, "leader", "remote") == NULL ||
	    cJSON_AddStringToObject(reply, "host", e->host) == NULL ||
	    cJSON_AddStringToObject(reply, "note", note) == NULL ||
	    !cJSON_AddBoolToObject(reply, "killed", false))
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return PSM_OK;
}

/* Whether the session asked for existed and has ended (its tombstone is kept): a kill of
 * it is then no error, while an id psmd never knew (a typo) is. */
static bool ops_session_ended_before(const struct ops_ctx *c)
{
	uint8_t id[ID_BYTES];

	return id_parse(c->req->a.session_id, id, NULL) == PSM_OK &&
	       state_tomb(c->d->store.st, REC_SESSION_END, id) != NULL;
}

int ops_session_kill(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	struct ops_ended e;
	int rc = ops_session_end(c, &e, err);

	if (rc != PSM_OK)
		return rc;
	if (e.ended)
		return e.here ? ops_kill_leader(c, &e.leader, reply, err)
			      : ops_kill_remote(c, &e, reply, err);
	if (!ops_session_ended_before(c))
		return psm_err_set(err, PSM_ENOENT, "session %s: no such session",
				   c->req->a.session_id);
	if (!cJSON_AddBoolToObject(reply, "killed", false))
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return PSM_OK;
}

int ops_session_close(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	struct ops_ended e;
	int rc = ops_session_end(c, &e, err);

	if (rc == PSM_OK && !cJSON_AddBoolToObject(reply, "closed", e.ended))
		rc = psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return rc;
}

/* expires: ttl from the request, else the policy's session_ttl, else its session_ttl_max. */
static int ops_session_expires(const struct ops_ctx *c, int64_t *expires, struct psm_err *err)
{
	int64_t ttl =
	    c->req->a.ttl_text != NULL ? c->req->a.ttl : policy_session_ttl(c->d->conf.pol);
	int rc;

	if (ttl <= 0)
		ttl = policy_session_ttl_max(c->d->conf.pol);
	rc = ops_session_ttl_ok(c, ttl, err);
	if (rc == PSM_OK)
		*expires = c->now + ttl;
	return rc;
}

static int ops_session_fields(const struct ops_ctx *c, struct rec_session *s, struct psm_err *err)
{
	const struct proto_args *a = &c->req->a;

	s->user = strdup(a->user);
	s->service = strdup(a->service);
	s->tty = strdup(a->tty != NULL ? a->tty : "");
	s->rhost = strdup(a->rhost != NULL ? a->rhost : "");
	s->origin = strdup(c->d->conf.cfg.host_name);
	s->metadata = a->metadata != NULL ? cJSON_PrintUnformatted(a->metadata) : strdup("{}");
	if (!s->user || !s->service || !s->tty || !s->rhost || !s->origin || !s->metadata)
		return psm_err_set(err, PSM_ENOMEM, "session: out of memory");
	return PSM_OK;
}

/*
 * The leader's identity, read by psmd itself from /proc: start time and boot id
 * (what a later kill checks), and the audit session id when the request gave none.
 */
/*
 * Which process leads the session: the caller itself when it is in another pid namespace
 * (its pid numbers mean nothing here; SO_PEERCRED's is translated), else the pid asked
 * for, never pid 1 nor psmd.  The requester must be able to signal it itself (checked
 * against its owner once read): psmd signals it as root later.
 */
static int ops_session_leader_pid(const struct ops_ctx *c, int64_t *pid, struct psm_err *err)
{
	bool same = false;
	int rc = leader_same_pidns(c->peer->pid, &same, err);

	*pid = same ? c->req->a.pid : c->peer->pid;
	if (rc == PSM_OK && (*pid == 1 || *pid == (int64_t)getpid()))
		rc = psm_err_set(err, PSM_EPERM, "pid %lld is never a session leader",
				 (long long)*pid);
	return rc;
}

static int ops_session_leader(const struct ops_ctx *c, struct rec_session *s, struct psm_err *err)
{
	struct leader_id id;
	int64_t pid;
	int rc = ops_session_leader_pid(c, &pid, err);

	if (rc == PSM_OK && (rc = leader_read(pid, &id, err)) == PSM_ENOENT)
		return psm_err_set(err, PSM_EINVAL,
				   "pid %lld: no such process (the leader "
				   "must be running)",
				   (long long)pid);
	if (rc != PSM_OK)
		return psm_err_prefix(err, "session leader");
	if (c->peer->uid != 0 && id.uid != c->peer->uid)
		return psm_err_set(err, PSM_EPERM,
				   "pid %lld: not a process of the requester "
				   "(uid %u): a session's leader is one its opener may signal",
				   (long long)pid, (unsigned)c->peer->uid);
	s->pid = (uint32_t)id.pid;
	s->leader_start = id.start;
	memcpy(s->boot_id, id.boot, sizeof(s->boot_id));
	s->audit = proto_has(c->req, PK_AUDIT) ? (uint32_t)c->req->a.audit : id.audit;
	return PSM_OK;
}

static int ops_session_build(struct ops_ctx *c, struct record *rec, struct psm_err *err)
{
	const struct proto_args *a = &c->req->a;
	struct rec_session *s = &rec->u.session;
	uid_t uid;
	gid_t gid;
	int rc = store_user_id(a->user, &uid, &gid, err);

	if (rc == PSM_OK && (a->pid <= 0 || a->pid > INT32_MAX))
		rc = psm_err_set(err, PSM_EINVAL, "pid: expected a process id");
	if (rc == PSM_OK && (a->audit < 0 || a->audit > (int64_t)REC_U32_NONE))
		rc = psm_err_set(err, PSM_EINVAL, "audit: expected a kernel audit session id");
	if (rc == PSM_OK)
		rc = ops_session_expires(c, &s->expires, err);
	if (rc == PSM_OK)
		rc = ops_session_leader(c, s, err);
	if (rc == PSM_OK)
		rc = ops_session_fields(c, s, err);
	if (rc == PSM_OK)
		rc = id_new(s->id, err);
	if (rc != PSM_OK)
		return rc;
	s->uid = (uint32_t)uid;
	s->created = c->now;
	s->version = store_version(&c->d->store);
	return record_validate(rec, err);
}

int ops_session_open(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	return ops_add_new(c, REC_SESSION, ops_session_build, "session_id", reply, err);
}
