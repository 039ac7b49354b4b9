/* SPDX-License-Identifier: MIT */
/* nss.h - the one NSS lookup of psm: users, groups and a user's group list. */
#ifndef PSM_NSS_H
#define PSM_NSS_H

#include <stddef.h>
#include <sys/types.h>

#include "psm_err.h"

/*
 * One buffer rule: each lookup starts in a stack buffer of NSS_BUF_STACK bytes
 * (no allocation for the common entry) and, while NSS answers ERANGE, retries in a
 * heap buffer four times larger, up to NSS_BUF_MAX bytes.
 *
 * One return rule: 1 found (*out filled), 0 unknown to NSS (the name or id does not
 * exist; getpwnam(3) lists 0, ENOENT, ESRCH, EBADF and EPERM as "not found"), or a
 * negative -PSM_ENOMEM / -PSM_ESYS with err filled ("user NAME: why").  A name longer
 * than NSS_NAME_MAX is unknown.  Nothing here logs.
 */
#define NSS_BUF_STACK 4096
#define NSS_BUF_MAX (1024 * 1024)
#define NSS_NAME_MAX 255

/* A user (uid, primary gid, name) or a group (gid, name; uid unused).  name is set by the
 * lookups by id only: a lookup by name leaves it as it was. */
struct nss_id {
	uid_t uid;
	gid_t gid;
	char name[NSS_NAME_MAX + 1];
};

int nss_user(const char *name, struct nss_id *out, struct psm_err *err);
int nss_user_uid(uid_t uid, struct nss_id *out, struct psm_err *err);
int nss_group(const char *name, struct nss_id *out, struct psm_err *err);
int nss_group_gid(gid_t gid, struct nss_id *out, struct psm_err *err);

/*
 * The groups of user (primary group gid) as NSS says (getgrouplist): up to
 * NSS_GROUPS_STACK in g->stack, more (at most NSS_GROUPS_MAX) in g->heap.  Same
 * return rule; never 0, as the list always holds gid.  nss_groups_free() releases
 * the heap part (also after a failure).
 */
#define NSS_GROUPS_STACK 64
#define NSS_GROUPS_MAX 65536
struct nss_groups {
	gid_t stack[NSS_GROUPS_STACK];
	gid_t *heap;
	const gid_t *list;
	int n;
};
int nss_groups(struct nss_groups *g, const char *user, gid_t gid, struct psm_err *err);
void nss_groups_free(struct nss_groups *g);

#endif
