/* SPDX-License-Identifier: MIT */
/* decide.h - the account decision shared by pam_psm.so and psm-query: one code path. */
#ifndef PSM_DECIDE_H
#define PSM_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "eval.h"
#include "perm.h"
#include "psm_err.h"

/* What to decide. Every pointer may be NULL unless said otherwise. */
struct decide_req {
	const char *table;	    /* shm name; NULL = DECIDE_TABLE_DEFAULT */
	const char *user;	    /* required */
	const char *service;	    /* PAM service (or psm-query --service) */
	const char *perm;	    /* explicit permission; NULL = the service's */
	const char *rhost;	    /* PAM_RHOST */
	const char *session;	    /* session id: its audit id binds session grants */
	uint32_t audit;		    /* caller's audit session id, SHM_U32_NONE if none */
	uint32_t (*audit_fn)(void); /* or: looks it up, only when a session-bound grant
				     * could decide (audit is then ignored) */
	int64_t max_stale;	    /* seconds; 0 = off */
	const char *break_glass;    /* "root,ops": allowed while the table is unavailable */
	int64_t now;		    /* UTC seconds; 0 = now */
};

#define DECIDE_TABLE_DEFAULT "/psm"
#define DECIDE_WARN_AGE 60 /* heartbeat age (s) worth a warning when max_stale is off */

enum decide_status {
	DECIDE_DENY = 0,
	DECIDE_ALLOW,
	DECIDE_UNKNOWN_USER,
	DECIDE_UNAVAIL, /* missing, unsafe, corrupt or (max_stale) stale table */
};

struct decide_out {
	int status;			/* enum decide_status */
	bool break_glass;		/* allowed as a break-glass user while unavailable */
	bool stale;			/* heartbeat older than max_stale */
	bool have_eval;			/* req/ev hold a decision read from the table */
	int64_t age;			/* heartbeat age (s) when have_eval */
	char perm[PERM_MAX + 1];	/* the permission decided on ("" if not known yet) */
	char why[PSM_ERR_MSG_MAX + 64]; /* reason text or why the table is unavailable */
	struct eval_req req;
	struct eval_out ev;
};

/*
 * Opens the table, looks the user up (getpwnam_r), works out the permission,
 * decides, applies max_stale and break-glass, and closes the table again: no
 * state is kept between calls.  Returns PSM_OK with o->status set, PSM_EINVAL
 * for a bad permission, service or table name, PSM_ESYS / PSM_ENOMEM for
 * system failures (o->status is then DECIDE_DENY).
 */
int decide_run(const struct decide_req *r, struct decide_out *o, struct psm_err *err);

/* Whether user is in the comma-separated list ("root,ops"). */
bool decide_in_list(const char *list, const char *user);

#endif
