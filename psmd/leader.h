/* SPDX-License-Identifier: MIT */
/* leader.h - a session leader's identity from /proc, and signals to that very process only. */
#ifndef PSMD_LEADER_H
#define PSMD_LEADER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "psm_err.h"

/*
 * A pid names a process only until it exits: pids are reused, within hours
 * on a busy host and at once after a reboot.  The pid with the process's
 * start time (clock ticks after boot, field 22 of /proc/PID/stat) and the
 * boot id (/proc/sys/kernel/random/boot_id) names one process for ever.
 * psmd reads them when a session opens, and signals the leader later only
 * through a pidfd that it opened and then checked against them: the pidfd
 * pins that process, so the signal cannot reach another one.
 */
#define LEADER_BOOT_SIZE 37 /* a boot id: 36 characters of UUID text, NUL */

struct leader_id {
	int64_t pid;
	int64_t start;		     /* clock ticks after boot; 0: unknown */
	char boot[LEADER_BOOT_SIZE]; /* "": unknown */
	uid_t uid;		     /* owner of /proc/PID: the process's effective uid */
	uint32_t audit;		     /* /proc/PID/sessionid; UINT32_MAX when unset */
};

/* What a recorded leader is now. */
enum leader_state {
	LEADER_LIVE = 0, /* the very process, running */
	LEADER_EXITED,	 /* gone: no such pid, another process holds it, or a reboot since */
	LEADER_UNPROVEN, /* cannot tell (no identity recorded, /proc unreadable): never signal */
};

/* The identity of the process pid now: PSM_ENOENT when there is none, PSM_ESYS unreadable. */
int leader_read(int64_t pid, struct leader_id *id, struct psm_err *err);
/* Whether the process now (leader_read) is the one recorded in want; err says why not proven. */
int leader_compare(const struct leader_id *want, const struct leader_id *now, struct psm_err *err);
/*
 * Opens a pidfd on want's pid and proves it is want's process: LEADER_LIVE with
 * *pidfd open (the caller closes it), else *pidfd is -1 (and err says why when
 * LEADER_UNPROVEN).
 */
int leader_pin(const struct leader_id *want, int *pidfd, struct psm_err *err);
/* sig (0: probe) to the process of a pidfd: 0, or an errno (ESRCH: it has exited). */
int leader_signal(int pidfd, int sig);
/* Whether the process peer (an SO_PEERCRED pid) is in psmd's own pid namespace: a pid it
 * names means the same process to psmd only then.  PSM_EPERM for 0 (not visible here). */
int leader_same_pidns(int64_t peer, bool *same, struct psm_err *err);
/* "exited", "live", "unproven". */
const char *leader_state_name(int state);

#endif
