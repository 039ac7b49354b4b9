/* SPDX-License-Identifier: MIT */
/* store_entry.h - runtime grants and sessions as table records: NSS, host scope. */
#ifndef PSMD_STORE_ENTRY_H
#define PSMD_STORE_ENTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "psm_err.h"
#include "record.h"

struct psmd_config;
struct shm_writer;
struct state;

/* Called by store.c, store_fill.c and the ops; calls down only (state, table writer, NSS).
 * st gives a session-bound grant its session's audit id and expiry. */

/* Whether grant g applies on this host: hosts absent, host_name, one of labels, or "*". */
bool store_in_scope(const struct rec_grant *g, const struct psmd_config *cfg);

/* Whether session s is this host's (its origin is host_name, compared as grants' hosts are;
 * none: made here): only those enter the table and have their leaders signalled here.
 * host_name NULL (this host unknown): no session is. */
bool store_session_here(const struct rec_session *s, const char *host_name);

/* NSS: a user's uid and primary gid, a group's gid.  Unknown: PSM_EINVAL
 * "user \"x\" unknown to NSS"; PSM_ESYS / PSM_ENOMEM on failure. */
int store_user_id(const char *name, uid_t *uid, gid_t *gid, struct psm_err *err);
int store_group_id(const char *name, gid_t *gid, struct psm_err *err);

/* Inserts rec into w (inside a batch) when it belongs in this host's table; *unit is
 * REC_U32_NONE when it does not (another host's grant or session, a tombstone). */
int store_entry_insert(const struct state *st, struct shm_writer *w, const struct record *rec,
		       const struct psmd_config *cfg, uint32_t *unit, struct psm_err *err);

/* Whether rec could be inserted into w (w may be NULL: NSS and fields only), inserting
 * nothing: the errors of store_entry_insert but PSM_EFULL. */
int store_entry_check(const struct state *st, const struct shm_writer *w, const struct record *rec,
		      const struct psmd_config *cfg, struct psm_err *err);

#endif
