/* SPDX-License-Identifier: MIT */
/* fleet_prune.c - the state hash forgets records a day past their expiry (never a permanent one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "fleet_int.h"

/*
 * Deletes a field only while it still holds the version seen (a newer record written
 * meanwhile stays).  A record past its expiry is refused by every host anyway, and a
 * tombstone is kept until the grant's not_after: nothing expired can come back after it.
 */
static const char fleet_prune_script[] =
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if v and string.sub(v, 1, #ARGV[2] + 1) == ARGV[2] .. ' ' then\n"
    "  return redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "end\n"
    "return 0\n";

/* Whether a state value's expiry (its third word) is over a day ago; version gets its first. */
static bool fleet_prune_due(const char *v, size_t len, int64_t now, char *version, size_t n)
{
	char head[96], word[3][32];
	size_t hl = len < sizeof(head) - 1 ? len : sizeof(head) - 1;
	char *end;
	long long expiry;

	memcpy(head, v, hl);
	head[hl] = '\0';
	if (sscanf(head, "%31s %31s %31s", word[0], word[1], word[2]) != 3 ||
	    strcmp(word[2], "-") == 0)
		return false;
	expiry = strtoll(word[2], &end, 10);
	if (*end != '\0' || expiry + FLEET_PRUNE_GRACE_S >= now)
		return false;
	snprintf(version, n, "%s", word[0]);
	return strspn(version, "0123456789") == strlen(version);
}

static int fleet_prune_field(struct fleet *f, struct rconn *c, const char *field,
			     const char *version, struct psm_err *err)
{
	char state[160];
	const char *argv[] = {"EVAL", fleet_prune_script, "1", state, field, version};
	struct rconn_reply *r;
	int rc;

	fleet_key(f, state, sizeof(state), "state");
	rc = rconn_call(c, RCONN_T(RCONN_INTEGER), &r, err, 6, argv, NULL);
	if (rc == PSM_OK)
		rconn_reply_free(r);
	return rc;
}

int fleet_prune_step(struct fleet *f, struct rconn *c, char cursor[32], struct psm_err *err)
{
	char state[160], version[32];
	const char *argv[] = {"HSCAN", state, cursor, "COUNT", FLEET_SCAN_COUNT};
	const struct rconn_reply *kv;
	struct rconn_reply *r;
	int64_t now = fleet_now_ms() / 1000;
	int rc;

	fleet_key(f, state, sizeof(state), "state");
	rc = rconn_call(c, RCONN_T(RCONN_ARRAY), &r, err, 5, argv, NULL);
	if (rc != PSM_OK)
		return rc;
	if (r->elements != 2 || r->element[0]->type != RCONN_STRING || r->element[0]->len >= 32 ||
	    (kv = r->element[1])->type != RCONN_ARRAY || kv->elements % 2 != 0) {
		rconn_reply_free(r);
		rconn_close(c, "HSCAN: not a hash scan reply");
		return psm_err_set(err, PSM_EUNAVAIL, "redis: HSCAN: not a hash scan reply");
	}
	memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
	for (size_t i = 0; rc == PSM_OK && i < kv->elements; i += 2) {
		const struct rconn_reply *k = kv->element[i], *v = kv->element[i + 1];

		if (k->type == RCONN_STRING && v->type == RCONN_STRING &&
		    fleet_prune_due(v->str, v->len, now, version, sizeof(version)))
			rc = fleet_prune_field(f, c, k->str, version, err);
	}
	rconn_reply_free(r);
	return rc;
}

int fleet_epoch_set(struct fleet *f, struct rconn *c, struct psm_err *err)
{
	unsigned char rnd[16];
	char key[160], val[2 * sizeof(rnd) + 1];
	const char *set[] = {"SET", key, val, "NX"};
	struct rconn_reply *r;
	int rc;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return psm_err_set(err, PSM_ESYS, "fleet: getrandom failed");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(val + 2 * i, 3, "%02x", rnd[i]);
	fleet_key(f, key, sizeof(key), "epoch");
	rc = rconn_call(c, RCONN_T(RCONN_STATUS) | RCONN_T(RCONN_NIL), &r, err, 4, set, NULL);
	if (rc == PSM_OK)
		rconn_reply_free(r);
	return rc;
}
