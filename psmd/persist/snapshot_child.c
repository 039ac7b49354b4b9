/* SPDX-License-Identifier: MIT */
/* snapshot_child.c - a snapshot written by a child process, so psmd's loop never waits for one. */
#include "snapshot_child.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frame.h"
#include "snapshot.h"

/*
 * fork() gives the child a copy-on-write image of the state as it is now,
 * which is exactly what a snapshot taken at the start of the new segment
 * must hold; the parent goes on serving (and appending to that segment)
 * at once.  The child writes snapshot.new, fsyncs, renames and exits; it
 * dies with psmd (PR_SET_PDEATHSIG) and keeps psmd's state_dir lock fds,
 * so a new psmd can never run next to a leftover child.  It closes its
 * copies of psmd's sockets, so that a client psmd hangs up on sees the end
 * at once.  Why it failed comes back through a pipe.
 */

/* Closes every socket the child inherited (the admin socket, its clients, syslog's). */
static void snap_child_close_sockets(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	struct stat st;

	if (d == NULL)
		return; /* no /proc: they stay open until the child exits */
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);

		if (fd > STDERR_FILENO && fd != dirfd(d) && fstat(fd, &st) == 0 &&
		    S_ISSOCK(st.st_mode))
			close(fd);
	}
	closedir(d);
}

/* The child's side: default signals, no sockets, lower priority; write, report, exit. */
static void __attribute__((noreturn))
snap_child_run(int dirfd, uint32_t seq, const struct state *st, pid_t parent, int report)
{
	static const int sigs[] = {SIGHUP, SIGTERM, SIGINT};
	struct psm_err err = {0};
	sigset_t none;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(2);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	snap_child_close_sockets();
	setpriority(PRIO_PROCESS, 0, 10); /* background work; best effort */
	if (snapshot_write(dirfd, seq, st, &err) == PSM_OK)
		_exit(0);
	/* why, for the parent; the exit status says it failed either way */
	if (write(report, err.msg, strnlen(err.msg, sizeof(err.msg))) < 0)
		_exit(1);
	_exit(1);
}

int snapshot_spawn(int dirfd, uint32_t seq, const struct state *st, struct snapshot_child *c,
		   struct psm_err *err)
{
	pid_t parent = getpid();
	int fds[2];

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
		return psm_err_set(err, PSM_ESYS, "snapshot: pipe: %s", strerror(errno));
	c->pid = fork();
	if (c->pid == 0) {
		close(fds[0]);
		snap_child_run(dirfd, seq, st, parent, fds[1]);
	}
	close(fds[1]);
	if (c->pid < 0) {
		c->pid = 0;
		close(fds[0]);
		return psm_err_set(err, PSM_ESYS, "snapshot: fork: %s", strerror(errno));
	}
	c->report = fds[0];
	c->seq = seq;
	return PSM_OK;
}

/* What the child said, after it exited. */
static int snap_child_status(struct snapshot_child *c, int status, struct psm_err *err)
{
	char why[PSM_ERR_MSG_MAX] = "";
	ssize_t n = read(c->report, why, sizeof(why) - 1);
	char name[32];

	close(c->report);
	c->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return PSM_OK;
	why[n > 0 ? n : 0] = '\0';
	frame_file_name(&frame_snapshot, c->seq, name, sizeof(name));
	if (why[0] != '\0')
		return psm_err_set(err, PSM_ESYS, "%s: %s", name, why);
	if (WIFSIGNALED(status))
		return psm_err_set(err, PSM_ESYS, "%s: the writer was killed by SIG%s", name,
				   sigabbrev_np(WTERMSIG(status)));
	return psm_err_set(err, PSM_ESYS, "%s: the writer failed (status %d)", name,
			   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int snapshot_reap(struct snapshot_child *c, bool block, struct psm_err *err)
{
	int status = 0;
	pid_t r;

	if (c->pid <= 0)
		return 0;
	do
		r = waitpid(c->pid, &status, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	if (r < 0) {
		psm_err_set(err, PSM_ESYS, "snapshot: waitpid: %s", strerror(errno));
		close(c->report);
		c->pid = 0;
		return -1;
	}
	return snap_child_status(c, status, err) == PSM_OK ? 1 : -1;
}

void snapshot_kill(struct snapshot_child *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	snapshot_reap(c, true, NULL);
}
