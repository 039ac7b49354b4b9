/* SPDX-License-Identifier: MIT */
/* hostile_exec.c - test tool: runs a command in a hostile setting (limits, fds, signals, env). */
/*
 * hostile_exec [OPTION...] [--] CMD [ARG...]
 *   --nofile N      RLIMIT_NOFILE soft and hard N
 *   --as KIB        RLIMIT_AS soft and hard KIB KiB
 *   --stack KIB     RLIMIT_STACK soft and hard KIB KiB
 *   --ignore SIG    SIG's disposition SIG_IGN (a number or CHLD, PIPE, TERM, ALRM, HUP)
 *   --block-all     every signal blocked (the kernel keeps KILL and STOP deliverable)
 *   --env-fill KIB  adds variables of 64 KiB each (HOSTILE_FILL_N) up to KIB KiB in all
 *   --close FD      closes FD (repeatable), after everything else
 * then execvp(CMD).  Exit 125 on a bad option or a failed setting (message on stderr), 127
 * when exec fails (silent: stderr may be closed by then).  Used by tests/e2e/hostile_env.sh.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define HOSTILE_MAX_CLOSE 16
#define HOSTILE_FILL_CHUNK (64 * 1024)

struct hostile_limit {
	int res;
	rlim_t value;
};

struct hostile {
	struct hostile_limit limit[3];
	int nlimit;
	int close_fd[HOSTILE_MAX_CLOSE];
	int nclose;
	long fill_kib;
};

static int hostile_fail(const char *what, const char *why)
{
	fprintf(stderr, "hostile_exec: %s: %s\n", what, why);
	return 125;
}

static int hostile_num(const char *s, long *out)
{
	char *end;

	*out = strtol(s, &end, 10);
	return end == s || *end != '\0' || *out < 0 ? -1 : 0;
}

/* Notes a limit; set just before exec (this program itself needs more than a tiny one). */
static int hostile_limit(struct hostile *h, int res, const char *val, long unit)
{
	long n;

	if (hostile_num(val, &n) != 0)
		return hostile_fail(val, "not a number");
	if (h->nlimit == (int)(sizeof(h->limit) / sizeof(h->limit[0])))
		return hostile_fail(val, "one --nofile, --as and --stack each");
	h->limit[h->nlimit].res = res;
	h->limit[h->nlimit++].value = (rlim_t)n * (rlim_t)unit;
	return 0;
}

static int hostile_set_limits(const struct hostile *h)
{
	struct rlimit rl;
	int i;

	for (i = 0; i < h->nlimit; i++) {
		rl.rlim_cur = rl.rlim_max = h->limit[i].value;
		if (setrlimit(h->limit[i].res, &rl) != 0)
			return hostile_fail("setrlimit", strerror(errno));
	}
	return 0;
}

static int hostile_signo(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {{"CHLD", SIGCHLD}, {"PIPE", SIGPIPE}, {"TERM", SIGTERM},
		     {"ALRM", SIGALRM}, {"HUP", SIGHUP},   {"INT", SIGINT}};
	long n;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].sig;
	return hostile_num(s, &n) == 0 && n > 0 && n < NSIG ? (int)n : -1;
}

static int hostile_ignore(const char *val)
{
	int sig = hostile_signo(val);

	if (sig < 0)
		return hostile_fail(val, "not a signal");
	if (signal(sig, SIG_IGN) == SIG_ERR)
		return hostile_fail("signal", strerror(errno));
	return 0;
}

static int hostile_block_all(void)
{
	sigset_t all;

	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL) != 0)
		return hostile_fail("sigprocmask", strerror(errno));
	return 0;
}

/* Adds HOSTILE_FILL_<i>=xxx... variables, HOSTILE_FILL_CHUNK bytes each, kib KiB in all. */
static int hostile_fill(long kib)
{
	char name[48], *val;
	long i, chunks = kib * 1024 / HOSTILE_FILL_CHUNK;

	val = malloc(HOSTILE_FILL_CHUNK);
	if (val == NULL)
		return hostile_fail("env-fill", "out of memory");
	memset(val, 'x', HOSTILE_FILL_CHUNK - 1);
	val[HOSTILE_FILL_CHUNK - 1] = '\0';
	for (i = 0; i < chunks; i++) {
		snprintf(name, sizeof(name), "HOSTILE_FILL_%ld", i);
		if (setenv(name, val, 1) != 0)
			return free(val), hostile_fail("setenv", strerror(errno));
	}
	free(val);
	return 0;
}

static int hostile_opt(int c, const char *arg, struct hostile *h)
{
	long n;

	switch (c) {
	case 'n':
		return hostile_limit(h, RLIMIT_NOFILE, arg, 1);
	case 'a':
		return hostile_limit(h, RLIMIT_AS, arg, 1024);
	case 's':
		return hostile_limit(h, RLIMIT_STACK, arg, 1024);
	case 'i':
		return hostile_ignore(arg);
	case 'b':
		return hostile_block_all();
	case 'e':
		if (hostile_num(arg, &n) != 0)
			return hostile_fail(arg, "not a number");
		h->fill_kib = n;
		return 0;
	case 'c':
		if (hostile_num(arg, &n) != 0 || n > 1024 || h->nclose == HOSTILE_MAX_CLOSE)
			return hostile_fail(arg, "not an fd (or too many --close)");
		h->close_fd[h->nclose++] = (int)n;
		return 0;
	default:
		return hostile_fail("usage", "hostile_exec [OPTION...] [--] CMD [ARG...]");
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"nofile", required_argument, NULL, 'n'}, {"as", required_argument, NULL, 'a'},
	    {"stack", required_argument, NULL, 's'},  {"ignore", required_argument, NULL, 'i'},
	    {"block-all", no_argument, NULL, 'b'},    {"env-fill", required_argument, NULL, 'e'},
	    {"close", required_argument, NULL, 'c'},  {NULL, 0, NULL, 0}};
	struct hostile h = {.nlimit = 0};
	int c, i, rc;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1)
		if ((rc = hostile_opt(c, optarg, &h)) != 0)
			return rc;
	if (optind >= argc)
		return hostile_opt('?', NULL, &h);
	if (h.fill_kib > 0 && (rc = hostile_fill(h.fill_kib)) != 0)
		return rc;
	if ((rc = hostile_set_limits(&h)) != 0)
		return rc;
	for (i = 0; i < h.nclose; i++)
		close(h.close_fd[i]);
	execvp(argv[optind], argv + optind);
	return 127;
}
