/* SPDX-License-Identifier: MIT */
/* ops.h - the admin socket's request handlers: one function per op, found in a table. */
#ifndef PSMD_OPS_H
#define PSMD_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "ids.h"
#include "ops_reply.h"
#include "proto.h"
#include "psm_err.h"
#include "record.h"

struct psmd;

/* Who is asking (SO_PEERCRED at accept). */
struct ops_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool admin;	/* uid 0 or a member of admin_group */
	char name[256]; /* "" when NSS does not know the uid */
};

/* One request being handled. */
struct ops_ctx {
	struct psmd *d;
	const struct ops_peer *peer;
	const struct proto_req *req;
	int64_t now;
	bool changed;			    /* journal records queued: reply after the commit */
	char id[ID_TEXT_SIZE];		    /* the grant or session made or touched (audit) */
	char principal[PROTO_NAME_MAX + 2]; /* for the audit line when not in the request */
};

/* Fills reply with the op's fields; an error leaves it to the caller to discard. */
typedef int (*ops_fn)(struct ops_ctx *c, cJSON *reply, struct psm_err *err);

/*
 * Authorizes (proto_authorize, then session ownership for non-admins) and
 * runs the op's handler from the table.  PSM_OK with reply filled, or a psm
 * code with err (PSM_EPERM, PSM_EINVAL, PSM_ENOENT, PSM_EFULL, ...).
 */
int ops_run(struct ops_ctx *c, cJSON *reply, struct psm_err *err);

/* Handlers (ops_grant.c, ops_check.c, ops_session.c, ops_admin.c). */
int ops_grant(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_revoke(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_grants(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_check(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_sessions(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_session_show(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_session_extend(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_session_kill(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_session_open(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_session_close(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_cleanup(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_stats(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_health(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_metrics(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_fleet(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_export(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_import(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_reload(struct ops_ctx *c, cJSON *reply, struct psm_err *err);
int ops_recover(struct ops_ctx *c, cJSON *reply, struct psm_err *err); /* ops_recover.c */
int ops_history(struct ops_ctx *c, cJSON *reply, struct psm_err *err); /* ops_history.c */

/* Helpers shared by the handlers (ops.c). */
/* The user a "self" op is about: the request's, else the peer's own name. */
int ops_self_user(const struct ops_ctx *c, const char **user, struct psm_err *err);
/* The session of the request's session_id: PSM_ENOENT when there is none. */
int ops_find_session(const struct ops_ctx *c, struct record **sess, struct psm_err *err);
/* Adds a number, or null for the "none" value. */
cJSON *ops_add_time(cJSON *o, const char *key, int64_t t, int64_t none);
/*
 * Room for more grants and sessions under psmd.conf's max_records (expired ones
 * are swept first when needed): PSM_EFULL "capacity: table full (N records,
 * ceiling M in psmd.conf)" otherwise, and logged; nothing is ever evicted.
 */
int ops_room(struct ops_ctx *c, size_t more, struct psm_err *err);
/* Fills in a new record (a grant, a session) from the request. */
typedef int (*ops_build_fn)(struct ops_ctx *c, struct record *rec, struct psm_err *err);
/*
 * Makes a record of type (REC_GRANT or REC_SESSION) with build and stores it (journaled,
 * table updated); the reply gets id_key: its id, and "not_after" (a grant) or "expires"
 * (a session): its end, null when none.
 */
int ops_add_new(struct ops_ctx *c, int type, ops_build_fn build, const char *id_key, cJSON *reply,
		struct psm_err *err);
/* Ends a live grant or session with its tombstone (journaled, table updated). */
int ops_end(struct ops_ctx *c, const struct record *live, struct psm_err *err);

#endif
