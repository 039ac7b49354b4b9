/* SPDX-License-Identifier: MIT */
/* audit.c - one JSON audit line per mutating request, to syslog (AUTHPRIV, ident psmd). */
#include "audit.h"

#include <stdlib.h>
#include <time.h>

#include "log.h"

static void audit_str(cJSON *o, const char *key, const char *v)
{
	if (v != NULL && v[0] != '\0')
		cJSON_AddStringToObject(o, key, v);
}

/* The request's own values: who and what it was about. */
static void audit_args(cJSON *o, const struct ops_ctx *c)
{
	const struct proto_args *a = &c->req->a;
	const char *id_key = c->req->op->id == PROTO_OP_GRANT || c->req->op->id == PROTO_OP_REVOKE
				     ? "grant_id" : "session_id";

	audit_str(o, "principal", a->user != NULL ? a->user : c->principal);
	audit_str(o, "pattern", a->perm);
	audit_str(o, id_key, c->id[0] != '\0' ? c->id : (a->grant_id ? a->grant_id
								     : a->session_id));
	audit_str(o, "ttl", a->ttl_text);
	audit_str(o, "until", a->until_text);
	audit_str(o, "reason", a->reason);
	audit_str(o, "session", a->session);
	audit_str(o, "service", a->service);
	if (a->dry_run)
		cJSON_AddTrueToObject(o, "dry_run");
}

void audit_log(const struct ops_ctx *c, int rc, const struct psm_err *err)
{
	cJSON *o = cJSON_CreateObject();
	char when[32], *line;
	time_t now = (time_t)c->now;
	struct tm tm;

	if (o == NULL)
		goto oom;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddNumberToObject(o, "uid", (double)c->peer->uid);
	audit_str(o, "user", c->peer->name);
	cJSON_AddStringToObject(o, "op", c->req->op->name);
	audit_args(o, c);
	cJSON_AddStringToObject(o, "result",
				rc == PSM_OK ? "ok" : proto_code_name(proto_code_from_psm(rc)));
	if (rc != PSM_OK && err != NULL)
		cJSON_AddStringToObject(o, "error", err->msg);
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (line == NULL)
		goto oom;
	log_msg(LOG_AUTHPRIV | LOG_NOTICE, "%s", line);
	free(line);
	return;
oom:
	log_msg(LOG_AUTHPRIV | LOG_ERR, "audit: out of memory: op %s by uid %u",
		c->req->op->name, (unsigned)c->peer->uid);
}
