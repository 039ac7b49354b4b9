/* SPDX-License-Identifier: MIT */
/* decide.c - the account decision shared by pam_psm.so and psm-query. */
#include "decide.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nss.h"
#include "psm_str.h"
#include "shm.h"
#include "ttl.h"

bool decide_in_list(const char *list, const char *user)
{
	size_t ulen = strlen(user);
	const char *p = list;

	if (list == NULL || ulen == 0)
		return false;
	while (*p != '\0') {
		size_t len = psm_span_until(p, ',');

		if (len == ulen && psm_mem_eq(p, user, len))
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

static void decide_unavail(const struct decide_req *r, struct decide_out *o, const char *why)
{
	o->status = DECIDE_UNAVAIL;
	psm_copy(o->why, sizeof(o->why), why);
	if (decide_in_list(r->break_glass, r->user)) {
		o->status = DECIDE_ALLOW;
		o->break_glass = true;
	}
}

/* Stale table (max_stale): unavailable, with the policy's break-glass users too. */
static int decide_stale(const struct shm_view *v, const struct decide_req *r, struct decide_out *o,
			struct psm_err *err)
{
	char age[64], max[64], why[192];
	bool bg = false;
	int rc;

	o->stale = true;
	ttl_format(o->age, age, sizeof(age));
	ttl_format(r->max_stale, max, sizeof(max));
	psm_fmt(why, sizeof(why), "table %s: stale: heartbeat %s ago (max_stale %s)", o->req.table,
		age, max);
	decide_unavail(r, o, why);
	if (o->break_glass)
		return PSM_OK;
	rc = eval_break_glass(v, r->user, &bg, err);
	if (rc == PSM_OK && bg) {
		o->status = DECIDE_ALLOW;
		o->break_glass = true;
	}
	return rc == PSM_EUNAVAIL ? PSM_OK : rc;
}

/* The request's audit id before deciding: the session's, the caller's, or unknown for now. */
static int decide_audit(const struct shm_view *v, const struct decide_req *r, struct decide_out *o,
			struct psm_err *err)
{
	if (r->session != NULL)
		return eval_session_audit(v, r->session, &o->req.audit, err);
	o->req.audit = r->audit_fn != NULL ? SHM_U32_NONE : r->audit;
	return PSM_OK;
}

/* The decision on the explicit permission, else on the service's (looked up in the same
 * read, into o->perm); once more with the caller's audit id when only that was missing. */
static int decide_eval(const struct shm_view *v, const struct decide_req *r, struct decide_out *o,
		       struct psm_err *err)
{
	int rc = r->perm != NULL ? eval_check(v, &o->req, &o->ev, err)
				 : eval_check_service(v, &o->req, r->service, o->perm,
						      sizeof(o->perm), &o->ev, err);

	if (rc != PSM_OK || !o->ev.need_audit || o->ev.decision == EVAL_ALLOW ||
	    o->ev.reason == EVAL_R_DENY_RULE || r->session != NULL || r->audit_fn == NULL)
		return rc;
	o->req.audit = r->audit_fn();
	if (o->req.audit == SHM_U32_NONE)
		return PSM_OK;
	return eval_check(v, &o->req, &o->ev, err);
}

/* Everything that needs the open table. */
static int decide_view(const struct shm_view *v, const struct decide_req *r, struct decide_out *o,
		       struct psm_err *err)
{
	int rc = decide_audit(v, r, o, err);

	if (rc == PSM_OK)
		rc = decide_eval(v, r, o, err);
	if (rc != PSM_OK)
		return rc;
	o->have_eval = true;
	o->age = o->req.now - o->ev.info.heartbeat;
	if (r->max_stale > 0 && o->age > r->max_stale)
		return decide_stale(v, r, o, err);
	o->status = o->ev.decision == EVAL_ALLOW ? DECIDE_ALLOW : DECIDE_DENY;
	eval_reason_text(&o->ev, o->why, sizeof(o->why));
	return PSM_OK;
}

static void decide_init(const struct decide_req *r, struct decide_out *o)
{
	o->status = DECIDE_DENY;
	o->break_glass = o->stale = o->have_eval = false;
	o->age = 0;
	psm_copy(o->perm, sizeof(o->perm), r->perm != NULL ? r->perm : "");
	o->why[0] = '\0';
	memset(&o->req, 0, sizeof(o->req));
	o->req.user = r->user;
	o->req.perm = o->perm;
	o->req.rhost = r->rhost;
	o->req.audit = SHM_U32_NONE;
	o->req.now = r->now != 0 ? r->now : time_now_utc();
	o->req.table = r->table != NULL ? r->table : DECIDE_TABLE_DEFAULT;
}

int decide_run(const struct decide_req *r, struct decide_out *o, struct psm_err *err)
{
	struct shm_view v;
	struct psm_err e;
	struct nss_id u;
	int rc;

	decide_init(r, o);
	if (r->user == NULL || r->user[0] == '\0')
		return psm_err_set(err, PSM_EINVAL, "no user name");
	if (r->perm != NULL && (rc = perm_validate(r->perm, strlen(r->perm), err)) != PSM_OK)
		return rc;
	rc = nss_user(r->user, &u, err);
	if (rc == 0) {
		o->status = DECIDE_UNKNOWN_USER;
		psm_copy(o->why, sizeof(o->why), "unknown user");
		return PSM_OK;
	}
	if (rc != 1)
		return -rc;
	o->req.uid = u.uid;
	o->req.gid = u.gid;
	rc = shm_view_open_pread(&v, o->req.table, &e);
	if (rc == PSM_OK) {
		rc = decide_view(&v, r, o, &e);
		shm_view_close_pread(&v);
	}
	if (rc == PSM_EUNAVAIL) {
		o->have_eval = false;
		decide_unavail(r, o, e.msg);
		return PSM_OK;
	}
	if (rc != PSM_OK) {
		o->status = DECIDE_DENY;
		if (err != NULL)
			*err = e;
	}
	return rc;
}
