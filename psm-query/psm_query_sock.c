/* SPDX-License-Identifier: MIT */
/* psm_query_sock.c - the caller's own questions through psmd's socket when the table is not
 * readable, and check --at (only psmd's journal knows the past). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "nss.h"
#include "proto.h"
#include "proto_client.h"
#include "psm_query.h"
#include "shm.h"
#include "shm_format.h"
#include "ttl.h"

#define PSM_QUERY_REPLY_MAX (4u << 20) /* the caller's own grants and sessions */
#define PSM_QUERY_TIMEOUT_MS 5000

/* Opened as the table reader opens it (O_NONBLOCK: a FIFO squatted at the name must not block
 * us); anything but EACCES/EPERM is the table path's to report. */
bool psm_query_table_denied(const char *shm)
{
	char path[256];
	int fd = shm_name_check(shm, NULL) != PSM_OK || shm_path(path, sizeof(path), shm, NULL) < 0
		     ? -2
		     : open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);

	if (fd >= 0)
		close(fd);
	return fd == -1 && (errno == EACCES || errno == EPERM);
}

/* PSM_QUERY_OK when user is the caller's own (NSS gives it getuid()), else exit 4, said. */
static int psm_query_self(const struct psm_query_opts *o, const char *user)
{
	struct psm_err e = {0};
	struct nss_id u;
	int rc = nss_user(user, &u, &e);

	if (rc < 0)
		return psm_query_fail(psm_exit_code(-rc), "%s", e.msg);
	if (rc == 1 && u.uid == getuid())
		return PSM_QUERY_OK;
	return psm_query_fail(PSM_QUERY_DENIED,
			      "%s: not permitted (table %s: permission denied; without "
			      "read access to the table you may ask only about yourself)",
			      user, o->shm);
}

/* The reply to req (consumed), or the failure said: exit 3 psmd unavailable, 4 not
 * permitted, 2 bad input. */
static int psm_query_ask(const struct psm_query_opts *o, cJSON *req, struct proto_reply *r)
{
	struct psm_err e = {0};
	char *line = req != NULL ? proto_print_line(req, NULL) : NULL, *buf = NULL;
	size_t got = 0;
	int rc = PSM_ENOMEM;

	cJSON_Delete(req);
	memset(r, 0, sizeof(*r));
	if (line != NULL && (buf = malloc(PSM_QUERY_REPLY_MAX)) != NULL)
		rc = proto_client_exchange(o->socket, line, strlen(line), buf, PSM_QUERY_REPLY_MAX,
					   &got, PSM_QUERY_TIMEOUT_MS, &e);
	if (rc == PSM_ENOMEM && buf == NULL)
		psm_err_set(&e, PSM_ENOMEM, "out of memory");
	free(line);
	if (rc == PSM_OK)
		rc = proto_reply_parse(buf, got, r, &e);
	free(buf);
	if (rc == PSM_OK && r->ok)
		return PSM_QUERY_OK;
	if (rc == PSM_OK) {
		rc = proto_code_exit(r->ecode);
		psm_err_set(&e, PSM_EINVAL, "psmd: %s", r->message);
	} else {
		rc = psm_exit_code(rc);
	}
	proto_reply_free(r);
	return psm_query_fail(rc, "%s", e.msg);
}

/* A time of a reply (seconds, or already text) as ISO 8601 UTC; null: "never". */
static const char *psm_query_time(const cJSON *t, char *buf, size_t n)
{
	if (cJSON_IsString(t))
		return t->valuestring;
	if (!cJSON_IsNumber(t))
		return "never";
	time_format_utc((int64_t)t->valuedouble, buf, n);
	return buf;
}

static const char *psm_query_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* ---- check ------------------------------------------------------------------------ */

static cJSON *psm_query_check_req(const struct psm_query_opts *o)
{
	cJSON *req = cJSON_CreateObject(), *perms = cJSON_AddArrayToObject(req, "perms");
	bool ok = perms != NULL && cJSON_AddStringToObject(req, "op", "check") &&
		  cJSON_AddStringToObject(req, "user", o->pos[1]) &&
		  cJSON_AddItemToArray(perms, cJSON_CreateString(o->pos[2])) &&
		  cJSON_AddBoolToObject(req, "explain", o->explain);

	if (ok && o->rhost != NULL)
		ok = cJSON_AddStringToObject(req, "rhost", o->rhost) != NULL;
	if (ok && o->at != NULL)
		ok = cJSON_AddStringToObject(req, "at", o->at) != NULL;
	if (ok)
		return req;
	cJSON_Delete(req);
	return NULL;
}

/* The check in psm's JSON output (psmctl(8) JSON OUTPUT), as the table path prints it,
 * with "via":"psmd"; res (presented) lends its structured explanation. */
static int psm_query_check_print_json(const struct psm_query_opts *o, bool allowed,
				      const char *reason, cJSON *res)
{
	cJSON *j = cJSON_CreateObject(), *ex = cJSON_GetObjectItemCaseSensitive(res, "explain");
	const cJSON *age = cJSON_GetObjectItemCaseSensitive(ex, "table_age_s");
	char *s;
	bool ok = cJSON_AddTrueToObject(j, "ok") && cJSON_AddStringToObject(j, "user", o->pos[1]) &&
		  cJSON_AddStringToObject(j, "perm", o->pos[2]) &&
		  cJSON_AddStringToObject(j, "decision", allowed ? "allow" : "deny") &&
		  cJSON_AddStringToObject(j, "reason", reason) &&
		  cJSON_AddFalseToObject(j, "break_glass") &&
		  (cJSON_IsNumber(age) ? cJSON_AddNumberToObject(j, "table_age_s", age->valuedouble)
				       : cJSON_AddNullToObject(j, "table_age_s")) &&
		  cJSON_AddStringToObject(j, "via", "psmd");

	if (ok && o->service != NULL)
		ok = cJSON_AddStringToObject(j, "service", o->service) != NULL;
	if (ok && o->at != NULL)
		ok = cJSON_AddStringToObject(j, "at", o->at) != NULL;
	if (ok && o->explain && cJSON_IsObject(ex))
		ok = cJSON_AddItemToObject(j, "explain", cJSON_Duplicate(ex, 1));
	s = ok ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (s == NULL)
		return psm_query_fail(PSM_QUERY_UNAVAIL, "out of memory");
	puts(s);
	cJSON_free(s);
	return PSM_QUERY_OK;
}

/* Prints the first result as the table path prints its decision. */
static int psm_query_check_print(const struct psm_query_opts *o, cJSON *root)
{
	const cJSON *res = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "results"), 0);
	bool allowed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "allowed"));
	const char *reason = psm_query_str(res, "reason"), *explain = psm_query_str(res, "explain");
	int status = allowed ? PSM_QUERY_OK : PSM_QUERY_DENY;

	if (!cJSON_IsObject(res))
		return psm_query_fail(PSM_QUERY_UNAVAIL, "malformed reply from psmd: no result");
	if (o->json) {
		struct psm_err e = {0};

		if (proto_present(root, &e) != PSM_OK)
			return psm_query_fail(PSM_QUERY_UNAVAIL, "out of memory");
		return psm_query_check_print_json(o, allowed, reason, (cJSON *)res) == PSM_QUERY_OK
			   ? status
			   : PSM_QUERY_UNAVAIL;
	}
	if (o->explain && o->service != NULL)
		printf("%sservice:  %s\n", explain, o->service);
	else if (o->explain)
		fputs(explain, stdout);
	else
		printf("%s: %s\n", allowed ? "allow" : "deny", reason);
	return status;
}

int psm_query_sock_check(const struct psm_query_opts *o)
{
	struct proto_reply r;
	int rc;

	if (o->npos < 3 || o->session != NULL)
		return psm_query_fail(PSM_QUERY_USAGE,
				      "check: %s: through psmd give PERM, without --session",
				      o->at != NULL ? "--at" : "the table is not readable");
	if (o->at == NULL && (rc = psm_query_self(o, o->pos[1])) != PSM_QUERY_OK)
		return rc;
	rc = psm_query_ask(o, psm_query_check_req(o), &r);
	if (rc != PSM_QUERY_OK)
		return rc;
	rc = psm_query_check_print(o, r.root);
	proto_reply_free(&r);
	return rc;
}

/* ---- user and sessions ------------------------------------------------------------ */

/* A grant's source as the table names it: "psmctl" (admin), "fleet", or the policy's
 * "FILE binding N role R", which psmd's grants reply carries as the reason. */
static const char *psm_query_source(const cJSON *it)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(it, "source");
	const cJSON *why = cJSON_GetObjectItemCaseSensitive(it, "reason");

	if (!cJSON_IsString(src))
		return "-";
	if (strcmp(src->valuestring, "admin") == 0)
		return "psmctl";
	if (strcmp(src->valuestring, "policy") == 0 && cJSON_IsString(why))
		return why->valuestring;
	return src->valuestring;
}

/* The columns of one listed object, tab-separated (the table path's format). */
static void psm_query_sock_line(const cJSON *it, const char *const *cols)
{
	char t[64];
	const cJSON *v;
	size_t i;

	for (i = 0; cols[i] != NULL; i++) {
		v = cJSON_GetObjectItemCaseSensitive(it, cols[i]);
		if (i > 0)
			putchar('\t');
		if (strcmp(cols[i], "source") == 0)
			fputs(psm_query_source(it), stdout);
		else if (cJSON_IsString(v))
			fputs(v->valuestring, stdout);
		else if (cJSON_IsNumber(v) && strcmp(cols[i], "pid") == 0)
			printf("%.0f", v->valuedouble);
		else
			fputs(psm_query_time(v, t, sizeof(t)), stdout);
	}
	putchar('\n');
}

/* The reply's array key, listed as lines of cols or as {"items":[...]}. */
static int psm_query_sock_list(const struct psm_query_opts *o, cJSON *req, const char *key,
			       const char *const *cols)
{
	struct proto_reply r;
	const cJSON *arr, *it;
	char *s;
	int rc = psm_query_ask(o, req, &r);

	if (rc != PSM_QUERY_OK)
		return rc;
	arr = cJSON_GetObjectItemCaseSensitive(r.root, key);
	if (o->json) { /* psmd's reply as psm's JSON output: {"ok":true,KEY:[...],"via":"psmd"} */
		struct psm_err e = {0};

		s = NULL;
		if (proto_present(r.root, &e) == PSM_OK &&
		    cJSON_AddStringToObject(r.root, "via", "psmd") != NULL)
			s = cJSON_PrintUnformatted(r.root);
		if (s != NULL)
			puts(s);
		cJSON_free(s);
	} else {
		cJSON_ArrayForEach(it, arr) psm_query_sock_line(it, cols);
	}
	proto_reply_free(&r);
	return cJSON_IsArray(arr) ? PSM_QUERY_OK
				  : psm_query_fail(PSM_QUERY_UNAVAIL, "malformed reply from psmd");
}

static cJSON *psm_query_list_req(const char *op, const char *key, const char *user)
{
	cJSON *req = cJSON_CreateObject();

	if (cJSON_AddStringToObject(req, "op", op) && cJSON_AddStringToObject(req, key, user))
		return req;
	cJSON_Delete(req);
	return NULL;
}

int psm_query_sock_user(const struct psm_query_opts *o)
{
	static const char *const cols[] = {"principal", "pattern", "not_after", "source", NULL};
	int rc = psm_query_self(o, o->pos[1]);

	if (rc != PSM_QUERY_OK)
		return rc;
	return psm_query_sock_list(o, psm_query_list_req("grants", "user", o->pos[1]), "grants",
				   cols);
}

int psm_query_sock_sessions(const struct psm_query_opts *o)
{
	static const char *const cols[] = {"session_id", "user",    "service", "tty", "rhost",
					   "pid",	 "created", "expires", NULL};
	struct nss_id me;
	struct psm_err e = {0};
	const char *user = o->npos > 1 ? o->pos[1] : NULL;
	int rc;

	if (user == NULL) {
		rc = nss_user_uid(getuid(), &me, &e);
		if (rc != 1)
			return psm_query_fail(rc < 0 ? psm_exit_code(-rc) : PSM_QUERY_UNAVAIL,
					      "uid %u: %s", (unsigned)getuid(),
					      rc < 0 ? e.msg : "unknown to NSS");
		user = me.name;
	}
	rc = psm_query_self(o, user);
	if (rc != PSM_QUERY_OK)
		return rc;
	return psm_query_sock_list(o, psm_query_list_req("sessions", "user", user), "sessions",
				   cols);
}
