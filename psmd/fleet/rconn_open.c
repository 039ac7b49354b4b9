/* SPDX-License-Identifier: MIT */
/* rconn_open.c - the handshake (is it Redis, AUTH, SELECT), Sentinel lookup, ROLE and replid. */
#include "rconn.h"
#include "rconn_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpass.h"

void rconn_opts_from_config(struct rconn_opts *opts, const struct config_redis *r,
			    const struct config_redis_addr *a)
{
	memset(opts, 0, sizeof(*opts));
	opts->password_file = r->password_file;
	opts->user = a != NULL ? a->user : NULL;
	opts->db = a != NULL ? a->db : 0;
	opts->connect_timeout_ms = RCONN_CONNECT_TIMEOUT_MS;
	opts->command_timeout_ms = RCONN_COMMAND_TIMEOUT_MS;
	opts->max_reply = (size_t)r->max_reply;
}

/* PING: PONG, or NOAUTH from a Redis that wants AUTH first; anything else is not Redis. */
static int rconn_ping(struct rconn *c, bool *noauth, struct psm_err *err)
{
	const char *argv[] = {"PING"};
	struct rconn_reply *r;
	char text[64] = "";
	bool pong;
	int rc = rconn_call(c, RCONN_T_ANY, &r, err, 1, argv, NULL);

	if (rc != PSM_OK)
		return rc;
	pong = r->type == RCONN_STATUS && strcmp(r->str, "PONG") == 0;
	*noauth = r->type == RCONN_ERROR && strncmp(r->str, "NOAUTH", 6) == 0;
	if (r->str != NULL)
		rconn_clean(text, sizeof(text), r->str, r->len);
	rconn_reply_free(r);
	if (pong || *noauth)
		return PSM_OK;
	return rconn_fail(c, err, "not a Redis server: PING got \"%s\"", text);
}

/* A command (argc 0: one already sent) whose reply must be +OK; else the connection closes. */
static int rconn_ok(struct rconn *c, struct psm_err *err, int argc, const char **argv)
{
	struct rconn_reply *r = NULL;
	int rc = argc == 0 ? rconn_read(c, RCONN_T(RCONN_STATUS), &r, err)
			   : rconn_call(c, RCONN_T(RCONN_STATUS), &r, err, argc, argv, NULL);

	rconn_reply_free(r);
	if (rc != PSM_OK)
		rconn_close(c, NULL);
	return rc;
}

/* AUTH [user] password from password_file; the password is wiped after it is sent. */
static int rconn_auth(struct rconn *c, struct psm_err *err)
{
	const struct rconn_opts *o = rconn_opts(c);
	const char *argv[3] = {"AUTH"};
	struct rpass p;
	int argc = 1, rc = rpass_load(o->password_file, &p, err);

	if (rc != PSM_OK) {
		rconn_close(c, NULL);
		return rc;
	}
	if (p.user[0] != '\0' || o->user != NULL)
		argv[argc++] = p.user[0] != '\0' ? p.user : o->user;
	argv[argc++] = p.pass;
	rc = rconn_send_secret(c, argc, argv, NULL, err);
	rpass_wipe(&p);
	return rc == PSM_OK ? rconn_ok(c, err, 0, NULL) : rc;
}

/* Opens a, checks it is Redis; with login: AUTH (when configured) and SELECT db. */
int rconn_hello(struct rconn *c, const struct config_redis_addr *a, bool login, struct psm_err *err)
{
	const struct rconn_opts *o = rconn_opts(c);
	bool noauth = false, auth = login && o->password_file != NULL;
	char db[16];
	const char *select[] = {"SELECT", db};
	int rc = rconn_open_socket(c, a, err);

	if (rc == PSM_OK)
		rc = rconn_ping(c, &noauth, err);
	if (rc == PSM_OK && noauth && !auth)
		rc = rconn_fail(c, err, "the server wants a password (redis.password_file)");
	if (rc == PSM_OK && auth)
		rc = rconn_auth(c, err);
	snprintf(db, sizeof(db), "%u", o->db);
	if (rc == PSM_OK && login && o->db != 0)
		rc = rconn_ok(c, err, 2, select);
	return rc;
}

int rconn_role(struct rconn *c, char *buf, size_t n, struct psm_err *err)
{
	const char *argv[] = {"ROLE"};
	struct rconn_reply *r;
	int rc = rconn_call(c, RCONN_T(RCONN_ARRAY), &r, err, 1, argv, NULL);

	if (rc != PSM_OK)
		return rc;
	if (r->elements == 0 || r->element[0]->type != RCONN_STRING) {
		rconn_reply_free(r);
		return rconn_fail(c, err, "not a Redis server: ROLE gave no role");
	}
	rconn_clean(buf, n, r->element[0]->str, r->element[0]->len);
	rconn_reply_free(r);
	return PSM_OK;
}

/* The public connects end here: the state becomes up (with the role) or down. */
int rconn_done(struct rconn *c, const char *role, int rc, struct psm_err *err)
{
	if (rc == PSM_OK)
		rconn_set_up(c, role);
	else
		rconn_set_down(c, err != NULL ? err->msg : "cannot connect");
	return rc;
}

/* Connects and reads the role; an error reply to ROLE (an ACL without it) is role "?". */
int rconn_login(struct rconn *c, const struct config_redis_addr *a, char *role, size_t n,
		struct psm_err *err)
{
	int rc = rconn_hello(c, a, true, err);

	snprintf(role, n, "?");
	if (rc == PSM_OK)
		rc = rconn_role(c, role, n, err);
	if (rc != PSM_OK && rconn_connected(c)) {
		snprintf(role, n, "?");
		rc = PSM_OK;
	}
	return rc;
}

int rconn_connect(struct rconn *c, const struct config_redis_addr *a, struct psm_err *err)
{
	char role[16];

	return rconn_done(c, role, rconn_login(c, a, role, sizeof(role), err), err);
}
