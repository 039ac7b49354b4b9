/* SPDX-License-Identifier: MIT */
/* audit.c - one JSON audit line per mutating request, to syslog (AUTHPRIV, ident psmd). */
#include "audit.h"

#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "proto_json.h"

/* key: v, left out when v is NULL or "". */
static void audit_str(struct proto_json *w, const char *key, const char *v)
{
	if (v != NULL && v[0] != '\0')
		proto_json_kstr(w, key, v);
}

/* The request's own values: who and what it was about. */
static void audit_args(struct proto_json *w, const struct ops_ctx *c)
{
	const struct proto_args *a = &c->req->a;
	const char *id_key = c->req->op->id == PROTO_OP_GRANT || c->req->op->id == PROTO_OP_REVOKE
				     ? "grant_id" : "session_id";

	audit_str(w, "principal", a->user != NULL ? a->user : c->principal);
	audit_str(w, "pattern", a->perm);
	audit_str(w, id_key, c->id[0] != '\0' ? c->id : (a->grant_id ? a->grant_id
								     : a->session_id));
	audit_str(w, "ttl", a->ttl_text);
	audit_str(w, "until", a->until_text);
	audit_str(w, "reason", a->reason);
	audit_str(w, "session", a->session);
	audit_str(w, "service", a->service);
	if (a->dry_run) {
		proto_json_key(w, "dry_run");
		proto_json_bool(w, true);
	}
}

/* The line, in a buffer kept from one request to the next (psmd has one thread). */
static void audit_line(struct proto_json *w, const struct ops_ctx *c, int rc,
		       const struct psm_err *err)
{
	static char when[32];
	static time_t when_t = -1;
	time_t now = (time_t)c->now;
	struct tm tm;

	if (now != when_t) { /* one formatted time per second */
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		when_t = now;
	}
	proto_json_reset(w);
	proto_json_open(w, '{');
	proto_json_kstr(w, "time", when);
	proto_json_kint(w, "uid", c->peer->uid);
	audit_str(w, "user", c->peer->name);
	proto_json_kstr(w, "op", c->req->op->name);
	audit_args(w, c);
	proto_json_kstr(w, "result",
			rc == PSM_OK ? "ok" : proto_code_name(proto_code_from_psm(rc)));
	if (rc != PSM_OK && err != NULL)
		proto_json_kstr(w, "error", err->msg);
	proto_json_close(w, '}');
}

void audit_log(const struct ops_ctx *c, int rc, const struct psm_err *err)
{
	static struct proto_json w;

	audit_line(&w, c, rc, err);
	if (w.oom) {
		proto_json_free(&w);
		log_msg(LOG_AUTHPRIV | LOG_ERR, "audit: out of memory: op %s by uid %u",
			c->req->op->name, (unsigned)c->peer->uid);
		return;
	}
	log_msg(LOG_AUTHPRIV | LOG_NOTICE, "%s", w.p);
}
