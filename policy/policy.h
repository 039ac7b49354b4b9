/* SPDX-License-Identifier: MIT */
/* policy.h - the policy file: parse, validate, and compile into the table. */
#ifndef PSM_POLICY_H
#define PSM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "psm_err.h"
#include "shm.h"

/*
 * policy.json, then policy.d/ *.json beside it in name order, merged:
 *   roles       {name: [pattern...]}           duplicate role name across files: error
 *   bindings    [{user|group, roles, perms?, from?, hosts?, reason?}]
 *   deny        [{user|group, perms, from?, hosts?, reason?}]
 *   services    {pam service: permission}      duplicate service across files: error
 *   session_ttl TTL string                      set in at most one file
 *   session_ttl_max TTL string                  set in at most one file; default 7d;
 *                                               session_ttl may not exceed it
 *   break_glass {users: [user...]}              set in at most one file
 * Comments allowed. Unknown keys, wrong types, duplicate keys, unknown roles,
 * bad patterns/CIDRs/TTLs: PSM_EINVAL "FILE:LINE:COL: what".
 */
struct policy;

struct policy_counts {
	unsigned roles, bindings, denies, services, break_glass, files;
	unsigned warnings; /* from policy_check_nss(); 0 before it ran */
};

/* Loads path and the policy.d directory beside it (absent is fine; *.json files only,
 * dotfiles skipped, strcmp order).  A missing path: PSM_ENOENT; unreadable: PSM_ESYS. */
int policy_load(const char *path, struct policy **out, struct psm_err *err);
/* One in-memory document (tests, psmctl policy check of a single file). */
int policy_load_text(const char *file, const char *text, size_t len, struct policy **out,
		     struct psm_err *err);
void policy_free(struct policy *p);

void policy_get_counts(const struct policy *p, struct policy_counts *c);
/* "3 roles, 2 bindings, 1 deny rule, 1 warning": every noun singular or plural as its count. */
void policy_counts_text(const struct policy_counts *c, char *buf, size_t n);
/* Where binding (deny false) or deny rule number (from 1) is written: "FILE:LINE" of its
 * "user" or "group" member into buf.  PSM_ENOENT when there is no such rule. */
int policy_rule_where(const struct policy *p, bool deny, unsigned number, char *buf, size_t n);
/* Seconds; 0 when the policy sets none. */
int64_t policy_session_ttl(const struct policy *p);
/* The longest TTL a session may get (at open or extend), seconds: session_ttl_max or 7 days. */
#define POLICY_SESSION_TTL_MAX (7 * 86400)
int64_t policy_session_ttl_max(const struct policy *p);

struct policy_compile_opts {
	const char *host_name;	   /* this host, for 'hosts' scope */
	const char *const *labels; /* NULL-terminated; may be NULL */
	int64_t now;		   /* not used for policy grants (permanent); for versions */
	/* Called for each non-fatal problem (unknown user or group: binding skipped). */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
};

/*
 * Looks up in NSS the user or group of every binding and deny rule, and every
 * break_glass user; each one NSS does not know is a warning kept in p:
 * "FILE:LINE:COL: warning: group \"sudoers\" is unknown to NSS" (a failed lookup:
 * "... could not be looked up in NSS: why").  With o, rules whose 'hosts' leave this
 * host out are not looked up; o NULL: every rule.  Replaces the warnings of an
 * earlier call.  PSM_ENOMEM only.
 */
int policy_check_nss(struct policy *p, const struct policy_compile_opts *o, struct psm_err *err);
/* Warning i (0 <= i < policy_counts.warnings). */
const char *policy_warning(const struct policy *p, unsigned i);

/*
 * Inserts the policy's SHM_GRANT (flags SHM_FL_SRC_POLICY, one record per
 * principal x pattern, permanent), SHM_DENY (one per principal x pattern,
 * rule = deny rule number from 1), SHM_SERVICE and SHM_BREAKGLASS records
 * into w, inside the caller's batch.  Users are keyed by name with their uid
 * (SHM_FL_UID_CHECKED) when NSS knows them; groups by "%gid" (SHM_FL_GROUP),
 * and a group NSS does not know is skipped with a warning.  Bindings and deny
 * rules whose 'hosts' do not name this host or one of its labels are left out.
 * PSM_EFULL when the table is too small.
 */
int policy_compile(const struct policy *p, struct shm_writer *w,
		   const struct policy_compile_opts *o, struct psm_err *err);

#endif
