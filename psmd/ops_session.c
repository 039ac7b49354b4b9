/* SPDX-License-Identifier: MIT */
/* ops_session.c - login sessions: open and close (pam_psm), list, show, extend, kill. */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"
#include "log.h"

struct ops_slist {
	cJSON *arr;
	const char *user; /* NULL: all */
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
	o = record_session_to_json(s);
	if (o == NULL || !cJSON_AddItemToArray(l->arr, o)) {
		cJSON_Delete(o);
		return l->rc = PSM_ENOMEM;
	}
	return 0;
}

int ops_sessions(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	struct ops_slist l = {.now = c->now};
	int rc = PSM_OK;

	if (c->req->a.user != NULL || !c->peer->admin)
		rc = ops_self_user(c, &l.user, err);
	if (rc != PSM_OK)
		return rc;
	l.arr = cJSON_AddArrayToObject(reply, "sessions");
	if (l.arr == NULL)
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

/* A new version of the session expiring ttl seconds from now. */
int ops_session_extend(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	struct record *sess, next;
	uint8_t id[ID_BYTES];
	int rc = ops_find_live_session(c, &sess, err);

	if (rc != PSM_OK)
		return rc;
	if (c->req->a.ttl > REC_TIME_MAX - c->now)
		return psm_err_set(err, PSM_EINVAL, "ttl \"%s\": too long", c->req->a.ttl_text);
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

/* Ends the session (its grants with it); *pid gets its leader. */
static int ops_session_end(struct ops_ctx *c, bool *ended, pid_t *pid, struct psm_err *err)
{
	struct record *sess;
	int rc = ops_find_session(c, &sess, err);

	*ended = false;
	if (rc == PSM_ENOENT)
		return PSM_OK;
	if (rc != PSM_OK)
		return rc;
	*pid = (pid_t)sess->u.session.pid;
	id_format(sess->u.session.id, c->id);
	snprintf(c->principal, sizeof(c->principal), "%s", sess->u.session.user);
	rc = ops_end(c, sess, err);
	*ended = rc == PSM_OK;
	return rc;
}

int ops_session_kill(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	bool ended;
	pid_t pid = 0;
	int rc = ops_session_end(c, &ended, &pid, err);

	if (rc != PSM_OK)
		return rc;
	if (ended && pid > 1) {
		log_msg(LOG_NOTICE, "session %s killed: SIGTERM to its leader, pid %ld", c->id,
			(long)pid);
		sweep_end_leader(&c->d->sweep, pid, c->now);
	}
	if (!cJSON_AddBoolToObject(reply, "killed", ended))
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return PSM_OK;
}

int ops_session_close(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	bool ended;
	pid_t pid = 0;
	int rc = ops_session_end(c, &ended, &pid, err);

	if (rc == PSM_OK && !cJSON_AddBoolToObject(reply, "closed", ended))
		rc = psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	return rc;
}

/* expires: ttl from the request, else the policy's session_ttl, else none. */
static int64_t ops_session_expires(const struct ops_ctx *c)
{
	int64_t ttl = c->req->a.ttl_text != NULL ? c->req->a.ttl
						 : policy_session_ttl(c->d->conf.pol);

	if (ttl <= 0)
		return REC_NOT_AFTER_NONE;
	return ttl > REC_TIME_MAX - c->now ? REC_TIME_MAX : c->now + ttl;
}

static int ops_session_fields(const struct ops_ctx *c, struct rec_session *s,
			      struct psm_err *err)
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

/* The kernel audit session id of pid; REC_U32_NONE when unset or unreadable. */
static uint32_t ops_audit_of(pid_t pid)
{
	char path[64], buf[32] = "";
	unsigned long v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/sessionid", (long)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return REC_U32_NONE;
	if (fgets(buf, sizeof(buf), f) == NULL || sscanf(buf, "%lu", &v) != 1 ||
	    v >= REC_U32_NONE)
		v = REC_U32_NONE;
	fclose(f);
	return (uint32_t)v;
}

/*
 * A non-admin registers only a session whose leader is one of its own processes
 * (psmd signals it on kill) and whose audit id is its own.
 */
static int ops_session_vouch(const struct ops_ctx *c, struct psm_err *err)
{
	const struct proto_args *a = &c->req->a;
	char path[64];
	struct stat st;

	if (c->peer->admin)
		return PSM_OK;
	snprintf(path, sizeof(path), "/proc/%lld", (long long)a->pid);
	if (stat(path, &st) != 0 || st.st_uid != c->peer->uid)
		return psm_err_set(err, PSM_EPERM, "not permitted (pid %lld is not a process of "
				   "yours)", (long long)a->pid);
	if (proto_has(c->req, PK_AUDIT) && a->audit != (int64_t)REC_U32_NONE &&
	    (uint32_t)a->audit != ops_audit_of(c->peer->pid))
		return psm_err_set(err, PSM_EPERM, "not permitted (audit %lld is not your "
				   "session's)", (long long)a->audit);
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
		rc = ops_session_vouch(c, err);
	if (rc == PSM_OK)
		rc = ops_session_fields(c, s, err);
	if (rc == PSM_OK)
		rc = id_new(s->id, err);
	if (rc != PSM_OK)
		return rc;
	s->uid = (uint32_t)uid;
	s->pid = (uint32_t)a->pid;
	s->audit = proto_has(c->req, PK_AUDIT) ? (uint32_t)a->audit : REC_U32_NONE;
	s->created = c->now;
	s->expires = ops_session_expires(c);
	s->version = store_version(&c->d->store);
	return record_validate(rec, err);
}

int ops_session_open(struct ops_ctx *c, cJSON *reply, struct psm_err *err)
{
	return ops_add_new(c, REC_SESSION, ops_session_build, "session_id", reply, err);
}
