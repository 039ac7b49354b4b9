/* SPDX-License-Identifier: MIT */
/* leader.c - a session leader's identity from /proc, and signals to that very process only. */
#include "leader.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LEADER_STAT_MAX 4096
#define LEADER_START_FIELD 22 /* starttime in /proc/PID/stat */

/* Reads up to cap-1 bytes of path, NUL-terminated: bytes read, or -1 with errno. */
static ssize_t leader_slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;

	if (fd < 0)
		return -1;
	do
		n = read(fd, buf, cap - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* Field 22 of a stat line; the name (field 2) may hold spaces and ')' itself. */
static int leader_parse_start(const char *line, int64_t *start)
{
	const char *p = strrchr(line, ')');
	char *end;
	int field = 2;

	if (p == NULL)
		return -1;
	while (*p != '\0' && field < LEADER_START_FIELD) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return -1;
		field++;
	}
	errno = 0;
	*start = (int64_t)strtoll(p + 1, &end, 10);
	return errno == 0 && end != p + 1 && *start > 0 ? 0 : -1;
}

/* Whether a stat line's state (field 3, after the name) says the process has exited. */
static bool leader_zombie(const char *line)
{
	const char *p = strrchr(line, ')');

	return p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static int leader_boot_id(char boot[LEADER_BOOT_SIZE], struct psm_err *err)
{
	char buf[64];
	ssize_t n = leader_slurp("/proc/sys/kernel/random/boot_id", buf, sizeof(buf));

	if (n < LEADER_BOOT_SIZE - 1)
		return psm_err_set(err, PSM_ESYS, "boot id: %s",
				   n < 0 ? strerror(errno) : "too short");
	memcpy(boot, buf, LEADER_BOOT_SIZE - 1);
	boot[LEADER_BOOT_SIZE - 1] = '\0';
	return PSM_OK;
}

/* /proc/PID/sessionid; UINT32_MAX when unset or unreadable. */
static uint32_t leader_audit(const char *dir)
{
	char path[64], buf[32];
	unsigned long v;

	snprintf(path, sizeof(path), "%s/sessionid", dir);
	if (leader_slurp(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%lu", &v) != 1 ||
	    v >= UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)v;
}

/* The start time from dir/stat. */
static int leader_read_start(const char *dir, int64_t pid, int64_t *start, struct psm_err *err)
{
	char path[64], *line = malloc(LEADER_STAT_MAX);
	int rc = PSM_OK;

	if (line == NULL)
		return psm_err_set(err, PSM_ENOMEM, "pid %" PRId64 ": out of memory", pid);
	snprintf(path, sizeof(path), "%s/stat", dir);
	if (leader_slurp(path, line, LEADER_STAT_MAX) <= 0)
		rc = psm_err_set(err, errno == ENOENT || errno == ESRCH ? PSM_ENOENT : PSM_ESYS,
				 "pid %" PRId64 ": %s", pid, strerror(errno));
	else if (leader_zombie(line))
		rc = psm_err_set(err, PSM_ENOENT, "pid %" PRId64 ": exited (a zombie)", pid);
	else if (leader_parse_start(line, start) != 0)
		rc = psm_err_set(err, PSM_ESYS, "pid %" PRId64 ": no start time in %s", pid, path);
	free(line);
	return rc;
}

int leader_read(int64_t pid, struct leader_id *id, struct psm_err *err)
{
	char dir[48];
	struct stat st;
	int rc, e;

	memset(id, 0, sizeof(*id));
	id->pid = pid;
	if (pid <= 0 || pid > INT32_MAX)
		return psm_err_set(err, PSM_ENOENT, "pid %" PRId64 ": no such process", pid);
	snprintf(dir, sizeof(dir), "/proc/%" PRId64, pid);
	if (stat(dir, &st) != 0) {
		e = errno;
		return psm_err_set(err, e == ENOENT ? PSM_ENOENT : PSM_ESYS, "pid %" PRId64 ": %s",
				   pid, e == ENOENT ? "no such process" : strerror(e));
	}
	rc = leader_read_start(dir, pid, &id->start, err);
	if (rc == PSM_OK)
		rc = leader_boot_id(id->boot, err);
	id->uid = st.st_uid;
	id->audit = leader_audit(dir);
	return rc;
}

int leader_compare(const struct leader_id *want, const struct leader_id *now, struct psm_err *err)
{
	if (want->boot[0] != '\0' && strcmp(want->boot, now->boot) != 0)
		return LEADER_EXITED; /* rebooted since: every process of then is gone */
	if (want->start != 0 && want->start != now->start)
		return LEADER_EXITED; /* another process took the pid */
	if (want->start == 0 || want->boot[0] == '\0') {
		psm_err_set(err, PSM_EPERM,
			    "no start time and boot id were recorded for pid "
			    "%" PRId64 " when the session opened",
			    want->pid);
		return LEADER_UNPROVEN;
	}
	return LEADER_LIVE;
}

int leader_pin(const struct leader_id *want, int *pidfd, struct psm_err *err)
{
	struct leader_id now;
	int fd, rc, st;

	*pidfd = -1;
	fd = (int)syscall(SYS_pidfd_open, (pid_t)want->pid, 0);
	if (fd < 0 && errno == ESRCH)
		return LEADER_EXITED;
	if (fd < 0) {
		psm_err_set(err, PSM_ESYS, "pidfd_open %" PRId64 ": %s", want->pid,
			    strerror(errno));
		return LEADER_UNPROVEN;
	}
	/* the pidfd pins what held the pid; /proc now shows that process or a later one */
	rc = leader_read(want->pid, &now, err);
	if (rc == PSM_ENOENT)
		st = LEADER_EXITED;
	else if (rc != PSM_OK)
		st = LEADER_UNPROVEN;
	else
		st = leader_compare(want, &now, err);
	if (st == LEADER_LIVE)
		*pidfd = fd;
	else
		close(fd);
	return st;
}

int leader_signal(int pidfd, int sig)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0)
		return 0;
	return errno;
}

const char *leader_state_name(int state)
{
	switch (state) {
	case LEADER_LIVE:
		return "live";
	case LEADER_EXITED:
		return "exited";
	default:
		return "unproven";
	}
}

/*
 * How many pid numbers the NSpid: line of /proc/WHO/status holds: 1 for a process in /proc's
 * own pid namespace, more below it; -1 with errno.  The file is world-readable: unlike
 * /proc/PID/ns/pid, it needs no ptrace access (CAP_SYS_PTRACE) to sshd's, su's and sudo's
 * session processes, which are not dumpable.
 */
static int leader_nspid_count(const char *who)
{
	char path[48], buf[LEADER_STAT_MAX];
	const char *p;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%s/status", who);
	if (leader_slurp(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "\nNSpid:");
	if (p == NULL)
		return errno = ENOTSUP, -1; /* a kernel before 4.1 */
	for (p += 7; *p != '\0' && *p != '\n'; p++)
		n += (*p >= '0' && *p <= '9') && (p[-1] == '\t' || p[-1] == ' ');
	return n;
}

int leader_same_pidns(int64_t peer, bool *same, struct psm_err *err)
{
	char who[24];
	int self, other;

	if (peer <= 0)
		return psm_err_set(err, PSM_EPERM,
				   "the caller is outside psmd's pid namespace: "
				   "it cannot name a session leader");
	snprintf(who, sizeof(who), "%" PRId64, peer);
	if ((self = leader_nspid_count("self")) < 0 || (other = leader_nspid_count(who)) < 0)
		return psm_err_set(err, PSM_ESYS, "the caller's pid namespace: %s",
				   strerror(errno));
	if (self != 1)
		return psm_err_set(err, PSM_ESYS,
				   "the caller's pid namespace: /proc is not psmd's own "
				   "(NSpid of psmd has %d numbers)",
				   self);
	*same = other == 1;
	return PSM_OK;
}
