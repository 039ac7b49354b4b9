/* SPDX-License-Identifier: MIT */
/* state.h - psmd's in-memory model: grants, sessions and tombstones by id, ordered by version. */
#ifndef PSMD_STATE_H
#define PSMD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "psm_err.h"
#include "record.h"

/*
 * The state holds, per id, the record with the highest version: a live grant
 * or session, or its tombstone (revoke / session_end).  Applying a record is
 * idempotent and order-independent:
 *   - a newer version replaces an older one; an equal or older one is ignored;
 *   - a tombstone beats a grant/session of an older or EQUAL version, and is
 *     kept until its keep_until, so an older grant never comes back;
 *   - a grant bound to a session dies with that session, and a grant bound to
 *     a session that has ended is refused;
 *   - records already expired at `now` are not stored.
 * A listener hears every grant/session that enters or leaves, so psmd can
 * keep the shared-memory table in step (the record's table_unit is its slot).
 * Callbacks must not modify the state (setting table_unit is fine).
 */
struct state;

enum state_outcome {
	STATE_APPLIED = 0,	 /* the record changed the state */
	STATE_DUPLICATE = 1,	 /* this exact version is already there */
	STATE_STALE = 2,	 /* a newer version of the id is there */
	STATE_REVOKED = 3,	 /* a tombstone of an equal or newer version beats it */
	STATE_SESSION_ENDED = 4, /* grant bound to a session that has ended */
	STATE_EXPIRED = 5,	 /* already expired at now */
};
const char *state_outcome_name(int outcome);

enum state_event {
	STATE_EV_ADD = 1, /* a grant or session entered (set its table_unit now) */
	STATE_EV_DEL = 2, /* a grant or session leaves (called before it is freed) */
};
typedef void (*state_listener_fn)(void *ctx, int event, struct record *rec);

int state_new(struct state **s, struct psm_err *err);
void state_free(struct state *s);
void state_set_listener(struct state *s, state_listener_fn fn, void *ctx);

/*
 * Applies rec (grant, revoke, session, session_end; assumed valid: see
 * record_validate).  Always takes rec's contents: on return rec is empty.
 * *outcome (may be NULL) says what happened.  Errors: PSM_ENOMEM only, with
 * the state unchanged.
 */
int state_apply(struct state *s, struct record *rec, int64_t now, int *outcome,
		struct psm_err *err);
/* What state_apply would do, without doing it. */
int state_check(const struct state *s, const struct record *rec, int64_t now);

/* Lookups by id: the live grant/session, or the tombstone (type REC_REVOKE or
 * REC_SESSION_END).  NULL when absent. */
struct record *state_grant(const struct state *s, const uint8_t id[ID_BYTES]);
struct record *state_session(const struct state *s, const uint8_t id[ID_BYTES]);
struct record *state_tomb(const struct state *s, int type, const uint8_t id[ID_BYTES]);

/* Visits every record of type (REC_GRANT, REC_SESSION, REC_REVOKE,
 * REC_SESSION_END) in no particular order; cb returns nonzero to stop (returned). */
typedef int (*state_visit_fn)(void *ctx, struct record *rec);
int state_foreach(const struct state *s, int type, state_visit_fn cb, void *ctx);
/* Visits the grants of principal ("alice", "%wheel"), only those whose pattern is
 * exactly `pattern` unless it is NULL (for "revoke USER PATTERN", "grants USER"). */
int state_foreach_principal(const struct state *s, const char *principal, const char *pattern,
			    state_visit_fn cb, void *ctx);

/* Visits the grants bound to session (as state_foreach). */
int state_foreach_bound(const struct state *s, const uint8_t session[ID_BYTES], state_visit_fn cb,
			void *ctx);

/* Takes out the record of type with id, if there is one, as a newer version would (the
 * listener hears it; a session's bound grants stay), without a tombstone: to take back a
 * change not committed, or to put a grant whose revoke may have been lost in quarantine.
 * False when there was none. */
bool state_remove(struct state *s, int type, const uint8_t id[ID_BYTES]);

struct state_counts {
	size_t grants, sessions, revokes, session_ends;
	uint64_t max_version; /* highest version ever applied: feed it to hlc_observe() */
};
void state_counts(const struct state *s, struct state_counts *c);

/*
 * Removes grants and sessions whose not_after/expires is <= now (and the
 * grants bound to those sessions), and tombstones whose keep_until is <= now.
 * The listener hears each grant/session removed.  Returns how many grants and
 * sessions were removed (tombstones are not counted).
 */
size_t state_expire(struct state *s, int64_t now);

/* {"format":"psm-export","version":1,"grants":[...],"sessions":[...]}, sorted by id. */
int state_export(const struct state *s, cJSON **out, struct psm_err *err);

struct state_import_report {
	size_t grants, sessions; /* applied (on a dry run: would be) */
	cJSON *skipped;		 /* [{"kind","index","id","reason"}]; the caller frees */
	/* Optional: called with each record just before it is applied (not on a dry
	 * run), e.g. to journal it; nonzero stops the import with that error. */
	int (*on_apply)(void *ctx, const struct record *rec, struct psm_err *err);
	void *ctx;
};

/*
 * Imports grant and session objects (the protocol's, as exported; either
 * array may be NULL) with their ids, versions and absolute validity.  Invalid,
 * expired, revoked or already present items are skipped and listed with the
 * reason; they do not fail the import.  Errors: an array of the wrong type
 * (PSM_EINVAL), out of memory, or on_apply failing.
 */
int state_import(struct state *s, const cJSON *grants, const cJSON *sessions, bool dry_run,
		 int64_t now, struct state_import_report *rep, struct psm_err *err);
/* The same for a whole export document (format and version are checked when present). */
int state_import_doc(struct state *s, const cJSON *doc, bool dry_run, int64_t now,
		     struct state_import_report *rep, struct psm_err *err);

#endif
