/* SPDX-License-Identifier: MIT */
/* audit.c - one JSON audit line per mutating request, to syslog (AUTHPRIV, ident psmd). */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "json_out.h"
#include "ttl.h"

/* key: v, left out when v is NULL or "". */
static void audit_str(struct json_out *w, const char *key, const char *v)
{
	if (v != NULL && v[0] != '\0')
		json_out_kv_string(w, key, v);
}

/* The request's own values: who and what it was about. */
static void audit_args(struct json_out *w, const struct ops_ctx *c)
{
	const struct proto_args *a = &c->req->a;
	const char *id_key = c->req->op->id == PROTO_OP_GRANT || c->req->op->id == PROTO_OP_REVOKE
				 ? "grant_id"
				 : "session_id";

	audit_str(w, "principal", a->user != NULL ? a->user : c->principal);
	audit_str(w, "pattern", a->perm);
	audit_str(w, id_key,
		  c->id[0] != '\0' ? c->id : (a->grant_id ? a->grant_id : a->session_id));
	if (a->ttl_text != NULL)
		json_out_kv_int64(w, "ttl_s", a->ttl);
	if (a->until_text != NULL)
		json_out_kv_time(w, "until", a->until, INT64_MIN);
	audit_str(w, "reason", a->reason);
	audit_str(w, "session", a->session);
	audit_str(w, "service", a->service);
	if (a->dry_run) {
		json_out_key(w, "dry_run");
		json_out_bool(w, true);
	}
}

void audit_begin(struct json_out *w, int64_t now)
{
	static char when[32];
	static int64_t when_t = INT64_MIN;

	if (now != when_t) { /* one formatted time per second */
		time_format_utc(now, when, sizeof(when));
		when_t = now;
	}
	json_out_begin_object(w);
	json_out_kv_string(w, "time", when);
	json_out_kv_int64(w, "time_unix", now);
}

/* The line, in a buffer kept from one request to the next (psmd has one thread). */
static void audit_line(struct json_out *w, const struct ops_ctx *c, int rc,
		       const struct psm_err *err)
{
	json_out_reset(w);
	audit_begin(w, c->now);
	json_out_kv_int64(w, "uid", c->peer->uid);
	audit_str(w, "user", c->peer->name);
	json_out_kv_string(w, "op", c->req->op->name);
	audit_args(w, c);
	json_out_kv_string(w, "result",
			   rc == PSM_OK ? "ok" : proto_code_name(proto_code_from_psm(rc)));
	if (rc != PSM_OK && err != NULL)
		json_out_kv_string(w, "error", err->msg);
	json_out_end_object(w);
}

/* The line in the buffer kept from one request to the next; NULL when it failed (logged). */
static const char *audit_build(const struct ops_ctx *c, int rc, const struct psm_err *err)
{
	static struct json_out w; /* zeroed: JSON_OUT_CJSON */

	audit_line(&w, c, rc, err);
	if (w.code != PSM_OK) {
		log_msg(LOG_AUTHPRIV | LOG_ERR, "audit: %s: op %s by uid %u", w.err.msg,
			c->req->op->name, (unsigned)c->peer->uid);
		json_out_free(&w);
		return NULL;
	}
	return w.buf;
}

void audit_emit(const char *line)
{
	log_msg(LOG_AUTHPRIV | LOG_NOTICE, "%s", line);
}

void audit_log(const struct ops_ctx *c, int rc, const struct psm_err *err)
{
	const char *line = audit_build(c, rc, err);

	if (line != NULL)
		audit_emit(line);
}

char *audit_text(const struct ops_ctx *c, int rc, const struct psm_err *err)
{
	const char *line = audit_build(c, rc, err);
	char *copy = line != NULL ? strdup(line) : NULL;

	if (line != NULL && copy == NULL)
		log_msg(LOG_AUTHPRIV | LOG_ERR, "audit: out of memory: op %s by uid %u",
			c->req->op->name, (unsigned)c->peer->uid);
	return copy;
}
