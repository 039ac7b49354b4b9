/* SPDX-License-Identifier: MIT */
/* sign.c - the signed envelope of a fleet feed entry: Ed25519 over the record's exact bytes. */
#include "sign.h"

#include <string.h>

#include <sodium.h>

static const char *const sign_names[SIGN_NRESULTS] = {
    [SIGN_APPLIED] = "applied",	    [SIGN_OUT_OF_SCOPE] = "out_of_scope",
    [SIGN_UNSIGNED] = "unsigned",   [SIGN_FORGED] = "forged",
    [SIGN_UNTRUSTED] = "untrusted", [SIGN_REPLAYED] = "replayed",
    [SIGN_EXPIRED] = "expired",	    [SIGN_MALFORMED] = "malformed",
    [SIGN_OVERSIZED] = "oversized",
};

const char *sign_result_name(enum sign_result r)
{
	return (unsigned)r < SIGN_NRESULTS ? sign_names[r] : "unknown";
}

void sign_record(const struct keys_secret *sk, const void *r, size_t rlen,
		 unsigned char sig[SIGN_BYTES])
{
	crypto_sign_detached(sig, NULL, r, rlen, sk->sk);
}

enum sign_result sign_verify(const struct sign_entry *e, const struct keys_trusted *trusted,
			     const struct keys_public **key)
{
	const struct keys_public *k;

	if (key != NULL)
		*key = NULL;
	if (trusted == NULL)
		return SIGN_APPLIED;
	if (e->sig == NULL || e->key == NULL)
		return SIGN_UNSIGNED;
	if (e->siglen != SIGN_BYTES)
		return SIGN_MALFORMED;
	k = keys_find(trusted, e->key, e->keylen);
	if (k == NULL)
		return SIGN_UNTRUSTED;
	if (e->r == NULL || crypto_sign_verify_detached(e->sig, e->r, e->rlen, k->pk) != 0)
		return SIGN_FORGED;
	if (key != NULL)
		*key = k;
	return SIGN_APPLIED;
}

/* A grant's hosts, or its origin when it names none. */
static size_t sign_grant_hosts(const struct rec_grant *g, const char **hosts)
{
	size_t i, n = g->nhosts < REC_LIST_MAX ? g->nhosts : REC_LIST_MAX;

	if (n == 0) {
		hosts[0] = g->origin;
		return g->origin != NULL ? 1 : 0;
	}
	for (i = 0; i < n; i++)
		hosts[i] = g->hosts[i];
	return n;
}

size_t sign_record_hosts(const struct record *r, const struct record *grant, const char **hosts)
{
	switch (r->type) {
	case REC_GRANT:
		return sign_grant_hosts(&r->u.grant, hosts);
	case REC_SESSION:
		hosts[0] = r->u.session.origin;
		return hosts[0] != NULL ? 1 : 0;
	case REC_SESSION_END:
		hosts[0] = r->u.tomb.origin;
		return hosts[0] != NULL ? 1 : 0;
	case REC_REVOKE:
		if (grant == NULL || grant->type != REC_GRANT ||
		    memcmp(grant->u.grant.id, r->u.tomb.id, ID_BYTES) != 0)
			return 0;
		return sign_grant_hosts(&grant->u.grant, hosts);
	default:
		return 0;
	}
}

bool sign_scope_ok(const struct keys_public *key, const struct record *r,
		   const struct record *grant)
{
	const char *hosts[REC_LIST_MAX];
	size_t n = sign_record_hosts(r, grant, hosts);

	return keys_cover(key, hosts, n);
}
