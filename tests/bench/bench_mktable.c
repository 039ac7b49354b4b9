/* SPDX-License-Identifier: MIT */
/* bench_mktable.c - builds a psm table from a policy file as psmd does, for the bench stacks. */

/*
 * Method.  policy_load(POLICY) -> shm_writer_create(NAME) -> begin ->
 * policy_compile -> commit -> heartbeat -> shm_writer_publish: psmd's
 * code path for the policy part of the table, without the daemon (no
 * socket, no state dir), so the PAM and psm-query figures do not depend on
 * psmd's startup.  With -H it then stays in the foreground like psmd,
 * refreshing the heartbeat every second (so pam_psm never sees a stale
 * table and never logs about one), prints "ready" once the table is
 * published, and on SIGTERM/SIGINT unlinks the table and exits 0.
 * Without -H the table is left behind for the caller to remove.  The
 * default capacity is psmd's (100000 records), so readers map a table of
 * the usual size.
 *
 * Usage: bench_mktable [-H] [-c CAPACITY] NAME POLICY
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "policy.h"
#include "shm.h"

static volatile sig_atomic_t mktable_quit;

static void mktable_on_signal(int sig)
{
	(void)sig;
	mktable_quit = 1;
}

static void mktable_warn(void *ctx, const char *msg)
{
	(void)msg;
	++*(unsigned *)ctx;
}

static int mktable_fail(const char *what, const struct psm_err *e)
{
	fprintf(stderr, "bench_mktable: %s: %s\n", what, e->msg);
	return 1;
}

static int mktable_build(struct shm_writer *w, const struct policy *p, struct psm_err *err)
{
	unsigned warnings = 0;
	struct policy_compile_opts o = {
	    .host_name = "bench",
	    .labels = NULL,
	    .now = (int64_t)time(NULL),
	    .warn = mktable_warn,
	    .warn_ctx = &warnings,
	};
	struct policy_counts c;
	int rc;

	shm_writer_begin(w);
	rc = policy_compile(p, w, &o, err);
	shm_writer_commit(w);
	if (rc != PSM_OK)
		return rc;
	policy_get_counts(p, &c);
	fprintf(stderr, "bench_mktable: %u bindings, %u deny rules, %u warnings\n", c.bindings,
		c.denies, warnings);
	shm_writer_heartbeat(w, (int64_t)time(NULL));
	return shm_writer_publish(w, err);
}

/* Foreground until SIGTERM/SIGINT, heartbeat every second. */
static void mktable_hold(struct shm_writer *w)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = mktable_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	while (!mktable_quit) {
		sleep(1);
		shm_writer_heartbeat(w, (int64_t)time(NULL));
	}
}

static void __attribute__((noreturn)) mktable_usage(void)
{
	fprintf(stderr, "usage: bench_mktable [-H] [-c CAPACITY] NAME POLICY\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct shm_writer_opts o = {.capacity = 100000, .group = 0, .host_name = "bench"};
	struct shm_writer *w;
	struct policy *p;
	struct psm_err err;
	int opt, hold = 0;

	while ((opt = getopt(argc, argv, "Hc:")) != -1) {
		if (opt == 'H')
			hold = 1;
		else if (opt == 'c')
			o.capacity = bench_count(optarg, "capacity");
		else
			mktable_usage();
	}
	if (optind + 2 != argc)
		mktable_usage();
	o.name = argv[optind];
	if (policy_load(argv[optind + 1], &p, &err) != PSM_OK)
		return mktable_fail("policy", &err);
	if (shm_writer_create(&w, &o, &err) != PSM_OK)
		return mktable_fail("table", &err);
	if (mktable_build(w, p, &err) != PSM_OK) {
		shm_writer_discard(w);
		return mktable_fail("table", &err);
	}
	policy_free(p);
	if (hold)
		mktable_hold(w);
	shm_writer_close(w);
	if (hold)
		shm_unlink(o.name);
	return 0;
}
