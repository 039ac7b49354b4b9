/* SPDX-License-Identifier: MIT */
/* eval.h - the access decision, read from the table, and its explanation. */
#ifndef PSM_EVAL_H
#define PSM_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "psm_err.h"
#include "shm.h"

/*
 * Fail closed by construction: the decision starts as deny; only a complete,
 * validated match of a grant (user or one of the user's groups, pattern,
 * not_before <= now < not_after, 'from', uid, session binding) with no
 * matching deny sets allow.  A deny rule beats any grant.  Groups come from
 * getgrouplist() at decision time, and only when the table holds a group
 * record whose pattern could match the permission.
 */
struct eval_req {
	const char *user;
	uid_t uid;	   /* from getpwnam by the caller */
	gid_t gid;	   /* primary group, for getgrouplist */
	const char *perm;  /* required permission (validated by the caller) */
	const char *rhost; /* PAM_RHOST; NULL or "" = none */
	uint32_t audit;	   /* caller's kernel audit session id, SHM_U32_NONE if unknown */
	int64_t now;	   /* UTC seconds (CLOCK_REALTIME) */
	const char *table; /* table name for eval_explain ("/psm"); NULL = "table" */
};

enum eval_decision { EVAL_DENY = 0, EVAL_ALLOW = 1 };

enum eval_reason {
	EVAL_R_GRANT = 1, /* allowed by entry */
	EVAL_R_DENY_RULE, /* denied by deny entry */
	EVAL_R_NO_GRANT,  /* nothing matched */
	EVAL_R_EXPIRED,	  /* a grant matched but its not_after has passed (entry) */
	EVAL_R_NOT_YET,	  /* a grant matched but not_before is in the future (entry) */
	EVAL_R_FROM,	  /* a grant matched but not from this rhost (entry) */
	EVAL_R_UID,	  /* a grant for this name but another uid (entry) */
	EVAL_R_SESSION,	  /* a grant bound to another session (entry) */
};

struct eval_out {
	int decision;	 /* EVAL_ALLOW or EVAL_DENY */
	int reason;	 /* enum eval_reason */
	bool have_entry; /* entry/buf hold the deciding (or nearest-miss) record */
	struct shm_entry entry;
	struct shm_recbuf buf;
	struct shm_counters info; /* the header's counters at decision time */
	unsigned ngroups;	  /* groups looked up (0 when skipped) */
	bool groups_resolved;
	bool need_audit; /* a session-bound grant failed only for want of req->audit:
			  * a caller that left audit unknown may look it up and retry */
};

/*
 * Makes the decision.  Returns PSM_OK with out filled, or PSM_EUNAVAIL when
 * the table is corrupt or never consistent within SHM_READ_TRIES, PSM_ESYS /
 * PSM_ENOMEM on system failure.  Never allocates on the common path.
 */
int eval_check(const struct shm_view *v, const struct eval_req *req, struct eval_out *out,
	       struct psm_err *err);

/*
 * eval_check of the permission PAM service SERVICE requires (the policy's services
 * map, else "pam:SERVICE"), read in the same read transaction as the decision:
 * req->perm is set to buf (size n), which holds that permission on PSM_OK.
 * PSM_EINVAL for an empty service or a permission longer than buf.
 */
int eval_check_service(const struct shm_view *v, struct eval_req *req, const char *service,
		       char *buf, size_t n, struct eval_out *out, struct psm_err *err);

/* Whether user is one of the policy's break_glass users copied into the table. */
int eval_break_glass(const struct shm_view *v, const char *user, bool *yes, struct psm_err *err);

/* The kernel audit session id of session record id (SHM_SESSION); SHM_U32_NONE when the
 * table has no such session. */
int eval_session_audit(const struct shm_view *v, const char *id, uint32_t *audit,
		       struct psm_err *err);

/* One short phrase: "granted by policy.json binding 2 role ops", "deny rule 1", "no grant",
 * "grant expired 2026-11-23T10:00:00Z", ... */
void eval_reason_text(const struct eval_out *o, char *buf, size_t n);

/* Several lines for --explain: decision, deciding record (source, principal, pattern,
 * validity, from, reason, issuer) or why none matched, table age and generation. */
void eval_explain(const struct eval_out *o, const struct eval_req *req, char *buf, size_t n);

/* Where record e comes from: its source text ("policy.json binding 2 role ops", a fleet
 * host), else "PRINCIPAL PATTERN". */
void eval_source(const struct shm_entry *e, char *buf, size_t n);

/*
 * The explanation as JSON members (eval_json.c; psmctl(8) JSON OUTPUT, "explain"):
 * decision, perm, rule (grant, binding, deny or none), source, principal, pattern,
 * expires/expires_unix, from, hosts, reason, issuer, grant_id, session, why (the
 * one-phrase reason), table, table_generation, table_age_s, writer_pid.  The caller
 * opens and closes the object.
 */
struct json_out;
void eval_explain_json(struct json_out *w, const struct eval_out *o, const struct eval_req *req);
/* The same members when no table was read (break-glass while it is unavailable): rule as
 * given, why the phrase, the record and table members null or empty. */
void eval_explain_json_bare(struct json_out *w, bool allow, const char *perm, const char *rule,
			    const char *why);

#endif
