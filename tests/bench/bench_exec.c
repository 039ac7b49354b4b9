/* SPDX-License-Identifier: MIT */
/* bench_exec.c - SPEC §12 whole-process figures: wall time of fork + exec + wait of a command. */

/*
 * Method.  Runs CMD RUNS times in a row, each as a fresh child (fork,
 * optionally drop to UID/GID with no supplementary groups, stdin/stdout/
 * stderr on /dev/null, execvp), and times fork -> waitpid with
 * CLOCK_MONOTONIC: what a shell or a script pays to ask the command.  Every
 * run must exit with STATUS (default 0), or the program stops with status 1
 * and shows the command's stderr once.  One untimed warm-up run comes
 * first.  Prints KEY.p50 and KEY.p99 per repeat.  tests/bench/run.sh uses it for `psm-query check`
 * next to /bin/true (the fork/exec floor) and for `sudo -n true` with and without pam_psm (inside a
 * private namespace).
 *
 * Usage: bench_exec -k KEY [-r REPEATS] [-n RUNS] [-e STATUS] [-u UID -g GID] -- CMD [ARG...]
 */
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

struct exec_bench {
	char **argv;
	long uid, gid;
	int status;
	int quiet;
};

/* Child side: drop privileges if asked, silence, exec. */
static void __attribute__((noreturn)) exec_child(const struct exec_bench *b)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	gid_t g = (gid_t)b->gid;
	uid_t u = (uid_t)b->uid;

	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || (b->quiet && dup2(fd, 2) < 0))
		_exit(126);
	if (b->uid >= 0 &&
	    (setgroups(0, NULL) != 0 || setresgid(g, g, g) != 0 || setresuid(u, u, u) != 0))
		_exit(126);
	execvp(b->argv[0], b->argv);
	_exit(127);
}

/* One run; returns the exit status (or 128 + signal). */
static int exec_once(const struct exec_bench *b)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0)
		exec_child(b);
	while (waitpid(pid, &st, 0) < 0)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void exec_check(struct exec_bench *b, int rc)
{
	if (rc == b->status)
		return;
	fprintf(stderr, "bench_exec: %s exited %d, expected %d; its stderr:\n", b->argv[0], rc,
		b->status);
	b->quiet = 0;
	exec_once(b);
	exit(1);
}

static void __attribute__((noreturn)) exec_usage(void)
{
	fprintf(stderr, "usage: bench_exec -k KEY [-r REPEATS] [-n RUNS] [-e STATUS] "
			"[-u UID -g GID] -- CMD [ARG...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct exec_bench b = {.uid = -1, .gid = -1, .status = 0, .quiet = 1};
	unsigned long repeats = 5, runs = 200, r, i;
	const char *key = NULL;
	uint64_t *s, t0;
	int opt, rc;

	while ((opt = getopt(argc, argv, "+k:r:n:e:u:g:")) != -1) {
		if (opt == 'k')
			key = optarg;
		else if (opt == 'r')
			repeats = bench_count(optarg, "repeats");
		else if (opt == 'n')
			runs = bench_count(optarg, "runs");
		else if (opt == 'e')
			b.status = atoi(optarg);
		else if (opt == 'u')
			b.uid = atol(optarg);
		else if (opt == 'g')
			b.gid = atol(optarg);
		else
			exec_usage();
	}
	if (!key || optind >= argc || (b.uid < 0) != (b.gid < 0))
		exec_usage();
	b.argv = argv + optind;
	s = calloc(runs, sizeof(*s));
	if (!s)
		return 1;
	exec_check(&b, exec_once(&b)); /* untimed warm-up */
	for (r = 0; r < repeats; r++) {
		for (i = 0; i < runs; i++) {
			t0 = bench_now_ns();
			rc = exec_once(&b);
			s[i] = bench_now_ns() - t0;
			exec_check(&b, rc);
		}
		bench_emit_p50_p99(key, s, runs);
	}
	free(s);
	return 0;
}
