/* SPDX-License-Identifier: MIT */
/* rconn_sentinel.c - finds the primary through Sentinel; the primary's replication id. */
#include "rconn.h"
#include "rconn_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RCONN_HOST_MAX 255

/* Sentinel's answer [host, port] into out (host in buf); false when it is not one. */
static bool rconn_master_addr(const struct rconn_reply *r, char *buf, size_t n,
			      struct config_redis_addr *out)
{
	const struct rconn_reply *h, *p;
	unsigned long port;
	char *end;

	if (r->type != RCONN_ARRAY || r->elements != 2)
		return false;
	h = r->element[0];
	p = r->element[1];
	if (h->type != RCONN_STRING || p->type != RCONN_STRING || h->len == 0 || h->len >= n ||
	    strspn(h->str, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:") !=
		h->len)
		return false;
	port = strtoul(p->str, &end, 10);
	if (p->len == 0 || *end != '\0' || port < 1 || port > 65535 || p->str[0] == '-')
		return false;
	memcpy(buf, h->str, h->len + 1);
	memset(out, 0, sizeof(*out));
	out->host = buf;
	out->port = (unsigned)port;
	return true;
}

/* Asks one sentinel for name's primary. */
static int rconn_ask(struct rconn *c, const struct config_redis_addr *s, const char *name,
		     char *host, struct config_redis_addr *out, struct psm_err *err)
{
	const char *argv[] = {"SENTINEL", "get-master-addr-by-name", name};
	struct rconn_reply *r = NULL;
	int rc = rconn_hello(c, s, false, err);

	if (rc == PSM_OK)
		rc = rconn_call(c, RCONN_T(RCONN_ARRAY) | RCONN_T(RCONN_NIL), &r, err, 3, argv,
				NULL);
	if (rc == PSM_OK && r->type == RCONN_NIL)
		rc = rconn_fail(c, err, "sentinel knows no primary named \"%s\"", name);
	else if (rc == PSM_OK && !rconn_master_addr(r, host, RCONN_HOST_MAX + 1, out))
		rc = rconn_fail(c, err, "sentinel gave no host and port for \"%s\"", name);
	rconn_reply_free(r);
	rconn_close(c, NULL);
	return rc;
}

/* Connects to the address a sentinel gave and checks that it is the primary now. */
static int rconn_primary(struct rconn *c, const struct config_redis_addr *a, char *role, size_t n,
			 struct psm_err *err)
{
	int rc = rconn_login(c, a, role, n, err);

	if (rc == PSM_OK && strcmp(role, "master") != 0)
		rc = rconn_fail(c, err, "not the primary (role %s): Sentinel is behind", role);
	return rc;
}

int rconn_connect_sentinel(struct rconn *c, const struct config_redis_addr *sentinels, size_t n,
			   const char *master_name, struct psm_err *err)
{
	char host[RCONN_HOST_MAX + 1], role[16] = "?";
	struct config_redis_addr primary;
	int rc = psm_err_set(err, PSM_EINVAL, "redis: no sentinels");

	for (size_t i = 0; i < n; i++) {
		rc = rconn_ask(c, &sentinels[i], master_name, host, &primary, err);
		if (rc == PSM_OK)
			rc = rconn_primary(c, &primary, role, sizeof(role), err);
		if (rc == PSM_OK || rc == PSM_ENOMEM)
			break;
	}
	return rconn_done(c, role, rc, err);
}

/* The value of "field:" in an INFO text, up to the end of its line, into out[n]. */
static bool rconn_info_field(const char *info, const char *field, char *out, size_t n)
{
	size_t flen = strlen(field), vlen;
	const char *p = info;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, field, flen) == 0 && p[flen] == ':') {
			p += flen + 1;
			vlen = strcspn(p, "\r\n");
			if (vlen >= n)
				return false;
			memcpy(out, p, vlen);
			out[vlen] = '\0';
			return true;
		}
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return false;
}

int rconn_replid(struct rconn *c, char out[RCONN_REPLID_LEN + 1], struct psm_err *err)
{
	const char *argv[] = {"INFO", "replication"};
	struct rconn_reply *r;
	bool ok;
	int rc = rconn_call(c, RCONN_T(RCONN_STRING), &r, err, 2, argv, NULL);

	if (rc != PSM_OK)
		return rc;
	ok = rconn_info_field(r->str, "master_replid", out, RCONN_REPLID_LEN + 1) &&
	     strlen(out) == RCONN_REPLID_LEN && strspn(out, "0123456789abcdef") == RCONN_REPLID_LEN;
	rconn_reply_free(r);
	if (!ok)
		return rconn_fail(c, err, "INFO replication has no master_replid");
	return PSM_OK;
}

/* Connects as the config says: through the sentinels when it names them, else to url. */
int rconn_connect_config(struct rconn *c, const struct config_redis *r, struct psm_err *err)
{
	if (r->nsentinels > 0)
		return rconn_connect_sentinel(c, r->sentinels, r->nsentinels, r->master_name, err);
	return rconn_connect(c, &r->addr, err);
}
