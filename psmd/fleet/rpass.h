/* SPDX-License-Identifier: MIT */
/* rpass.h - the Redis password_file: checked like a secret, read, wiped after use. */
#ifndef PSM_RPASS_H
#define PSM_RPASS_H

#include "psm_err.h"

#define RPASS_USER_MAX 128
#define RPASS_MAX 512

/*
 * The file holds one line: "password", or "user password" for an ACL user
 * (split at the first space).  It must be a regular file (not a symlink),
 * owned by root or by psmd's effective uid, and neither readable nor
 * writable by group or others (mode 0600 or stricter).
 */
struct rpass {
	char user[RPASS_USER_MAX + 1]; /* "" = the default user */
	char pass[RPASS_MAX + 1];
};

/* Reads path into *p.  Errors (PSM_EINVAL) name the file and why; never its content. */
int rpass_load(const char *path, struct rpass *p, struct psm_err *err);

/* Overwrites *p (explicit_bzero). */
void rpass_wipe(struct rpass *p);

/* rpass_load then rpass_wipe: for psmd -n, startup and reload. */
int rpass_check(const char *path, struct psm_err *err);

#endif
