/* SPDX-License-Identifier: MIT */
/* table_guard.h - psmd's watch over its live table: checked against /dev/shm, SIGBUS-proof. */
#ifndef PSMD_TABLE_GUARD_H
#define PSMD_TABLE_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "psm_err.h"
#include "shm.h"

/*
 * Anyone root can truncate, chmod, chown or remove /dev/shm/NAME under a
 * running psmd.  table_guard_verify() compares the served table with what is
 * at its name; psmd republishes when they differ.  A shrunk file would make
 * the next touch of the mapping a SIGBUS: table_guard_orphan() swaps the
 * mapping for anonymous memory of the same size first, and a SIGBUS handler
 * does the same for a truncate that lands between the check and the touch.
 */

/* The SIGBUS handler (SA_SIGINFO): only faults inside the guarded range are survived. */
int table_guard_install(struct psm_err *err);

/* The mapping of the served table (NULL: none). */
void table_guard_set(const struct shm_view *v);

/* True once since the handler last swapped the mapping (a truncate raced a touch). */
bool table_guard_tripped(void);

/* Replaces the guarded mapping by zeroed anonymous memory: it is never read from the file
 * again (the writer's batch goes on, harmlessly, until the table is republished). */
void table_guard_orphan(void);

/*
 * 0 when /dev/shm/NAME is still the object v maps: same device and inode, the
 * mapped size, owner uid, group gid, mode 0640.  Else -1 and why[] says what
 * changed ("removed", "size 0, expected 65536", "mode 0666", ...); *shrunk is
 * set when the file's size no longer matches the mapping.
 */
int table_guard_verify(const struct shm_view *v, uid_t uid, gid_t gid, char *why, size_t n,
		       bool *shrunk);

#endif
