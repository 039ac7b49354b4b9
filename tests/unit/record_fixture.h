/* SPDX-License-Identifier: MIT */
/* record_fixture.h - builds valid psmd records for the record, state and journal tests. */
#ifndef PSM_RECORD_FIXTURE_H
#define PSM_RECORD_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "record.h"

#define FX_NOW INT64_C(1800000000) /* 2027-01-15: "now" in every test */

static inline char *fx_dup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

/* A grant with a fresh random id, created 100 s before FX_NOW. */
static inline void fx_grant(struct record *r, const char *principal, const char *pattern,
			    uint64_t version, int64_t not_after)
{
	struct rec_grant *g = &r->u.grant;

	record_init(r, REC_GRANT);
	if (id_new(g->id, NULL) != PSM_OK)
		abort();
	g->principal = fx_dup(principal);
	g->pattern = fx_dup(pattern);
	g->not_after = not_after;
	g->reason = fx_dup("INC-42");
	g->issuer = fx_dup("root");
	g->origin = fx_dup("web-01");
	g->version = version;
	g->created = FX_NOW - 100;
}

/* The same grant id with another version (and validity). */
static inline void fx_grant_id(struct record *r, const uint8_t id[ID_BYTES], uint64_t version,
			       int64_t not_after)
{
	fx_grant(r, "alice", "sudo:run", version, not_after);
	memcpy(r->u.grant.id, id, ID_BYTES);
}

static inline void fx_session(struct record *r, const char *user, uint64_t version, int64_t expires)
{
	struct rec_session *s = &r->u.session;

	record_init(r, REC_SESSION);
	if (id_new(s->id, NULL) != PSM_OK)
		abort();
	s->user = fx_dup(user);
	s->uid = 1000;
	s->service = fx_dup("sshd");
	s->tty = fx_dup("pts/3");
	s->rhost = fx_dup("10.1.2.3");
	s->pid = 4242;
	s->created = FX_NOW - 100;
	s->expires = expires;
	s->metadata = fx_dup("{\"ticket\":\"INC-42\"}");
	s->origin = fx_dup("web-01");
	s->version = version;
}

/* A revoke (REC_REVOKE) or session_end (REC_SESSION_END) of id. */
static inline void fx_tomb(struct record *r, int type, const uint8_t id[ID_BYTES], uint64_t version,
			   int64_t keep_until)
{
	record_init(r, type);
	memcpy(r->u.tomb.id, id, ID_BYTES);
	r->u.tomb.origin = fx_dup("web-02");
	r->u.tomb.version = version;
	r->u.tomb.keep_until = keep_until;
}

#endif
