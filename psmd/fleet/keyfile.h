/* SPDX-License-Identifier: MIT */
/* keyfile.h - reads a small key file psmd trusts: regular, not a symlink, owner and mode checked.
 */
#ifndef PSMD_KEYFILE_H
#define PSMD_KEYFILE_H

#include <stddef.h>

#include "psm_err.h"

/*
 * The fleet's key files (signing_key, trusted_keys) decide what psmd lets
 * into its table, so they are read only when nobody else could have written
 * them: a regular file (a symbolic link is refused, O_NOFOLLOW), owned by
 * root or by psmd's effective uid, and
 *   KEYFILE_SECRET  mode 0600 or stricter (no group or other bit at all);
 *                   read into sodium_malloc'd memory (guarded, wiped on free);
 *   KEYFILE_PUBLIC  not writable by group or others.
 * Errors are PSM_EINVAL (PSM_ENOENT for a missing file, PSM_ESYS for a read
 * that fails) with a message "PATH: why" that never shows the file's bytes.
 */
enum keyfile_kind { KEYFILE_PUBLIC, KEYFILE_SECRET };

#define KEYFILE_SECRET_MAX 4096u      /* a secret key file is one short line */
#define KEYFILE_PUBLIC_MAX (4u << 20) /* trusted_keys: 4096 keys with long scopes */

/* Reads path into *buf (NUL-terminated; *len bytes before the NUL); free it with
 * keyfile_free(*buf, kind). */
int keyfile_read(const char *path, enum keyfile_kind kind, char **buf, size_t *len,
		 struct psm_err *err);
/* Frees a buffer of keyfile_read (a secret one is wiped first); NULL is fine. */
void keyfile_free(char *buf, enum keyfile_kind kind);

#endif
