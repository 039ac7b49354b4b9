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
 * Paired mode (-f FILE -a SRC_A -b SRC_B -K KEY_B): two configurations of the same
 * command take turns run by run.  Before each run FILE is rewritten (untimed) with
 * SRC_A's bytes for a KEY run or SRC_B's for a KEY_B run; the order alternates (A B, B A,
 * ...) so neither side always runs first.  Prints KEY and KEY_B p50/p99 per repeat and
 * KEY_B.ratio, the ratio of their medians: the machine's drift, even between two runs,
 * hits both sides alike.  tests/bench/sudo.sh passes pam.d/sudo without and with pam_psm.
 *
 * Usage: bench_exec -k KEY [-r REPEATS] [-n RUNS] [-e STATUS] [-u UID -g GID]
 *                   [-f FILE -a SRC_A -b SRC_B -K KEY_B] -- CMD [ARG...]
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

/* What one side of a paired run writes to the shared file first. */
struct exec_side {
	const char *key;
	char *text;
	size_t len;
	uint64_t *s; /* the run times of a repeat */
};

struct exec_bench {
	char **argv;
	long uid, gid;
	const char *file; /* paired mode: rewritten before every run */
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
			"[-u UID -g GID] [-f FILE -a SRC_A -b SRC_B -K KEY_B] -- CMD [ARG...]\n");
	exit(2);
}

static void __attribute__((noreturn)) exec_die(const char *what, const char *path)
{
	fprintf(stderr, "bench_exec: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

/* The whole of file path into side (paired mode). */
static void exec_side_load(struct exec_side *side, const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		exec_die("cannot read", path);
	side->len = (size_t)n;
	side->text = malloc(side->len + 1);
	if (!side->text || fread(side->text, 1, side->len, f) != side->len)
		exec_die("cannot read", path);
	fclose(f);
}

/* Writes side's text to the shared file (untimed, before a run of that side). */
static void exec_side_put(const struct exec_bench *b, const struct exec_side *side)
{
	int fd = open(b->file, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0 || write(fd, side->text, side->len) != (ssize_t)side->len || close(fd) != 0)
		exec_die("cannot write", b->file);
}

/* One timed run of side (its file written first in paired mode). */
static uint64_t exec_timed(struct exec_bench *b, const struct exec_side *side)
{
	uint64_t t0, t;
	int rc;

	if (b->file)
		exec_side_put(b, side);
	t0 = bench_now_ns();
	rc = exec_once(b);
	t = bench_now_ns() - t0;
	exec_check(b, rc);
	return t;
}

/* One repeat: runs of side 0 alone, or of both sides taking turns; emits the figures. */
static void exec_repeat(struct exec_bench *b, struct exec_side *side, int nsides,
			unsigned long runs)
{
	unsigned long i;
	int k;

	for (i = 0; i < runs; i++)
		for (k = 0; k < nsides; k++) {
			int j = (int)(i & 1) && nsides == 2 ? 1 - k : k;

			side[j].s[i] = exec_timed(b, &side[j]);
		}
	for (k = 0; k < nsides; k++)
		bench_emit_p50_p99(side[k].key, side[k].s, runs);
	if (nsides == 2)
		printf("S %s.ratio %.4f\n", side[1].key,
		       (double)bench_percentile(side[1].s, runs, 50) /
			   (double)bench_percentile(side[0].s, runs, 50));
}

int main(int argc, char **argv)
{
	struct exec_bench b = {.uid = -1, .gid = -1, .status = 0, .quiet = 1};
	struct exec_side side[2] = {{0}};
	const char *src[2] = {NULL, NULL};
	unsigned long repeats = 5, runs = 200, r;
	int opt, k, nsides;

	while ((opt = getopt(argc, argv, "+k:r:n:e:u:g:f:a:b:K:")) != -1) {
		if (opt == 'k')
			side[0].key = optarg;
		else if (opt == 'K')
			side[1].key = optarg;
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
		else if (opt == 'f')
			b.file = optarg;
		else if (opt == 'a' || opt == 'b')
			src[opt - 'a'] = optarg;
		else
			exec_usage();
	}
	nsides = b.file ? 2 : 1;
	if (!side[0].key || optind >= argc || (b.uid < 0) != (b.gid < 0) ||
	    (b.file != NULL) != (src[0] && src[1] && side[1].key) ||
	    (!b.file && (src[0] || src[1] || side[1].key)))
		exec_usage();
	b.argv = argv + optind;
	for (k = 0; k < nsides; k++) {
		side[k].s = calloc(runs, sizeof(uint64_t));
		if (!side[k].s)
			return 1;
		if (b.file)
			exec_side_load(&side[k], src[k]);
	}
	for (k = 0; k < nsides; k++)
		exec_timed(&b, &side[k]); /* untimed warm-up of each side */
	for (r = 0; r < repeats; r++)
		exec_repeat(&b, side, nsides, runs);
	for (k = 0; k < nsides; k++) {
		free(side[k].s);
		free(side[k].text);
	}
	return 0;
}
