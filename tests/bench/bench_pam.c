/* SPDX-License-Identifier: MIT */
/* bench_pam.c - SPEC §12 PAM figures: whole account decisions through libpam, and the NSS pair. */

/*
 * Method.  One PAM account decision is what sudo or sshd pay per request:
 * pam_start_confdir(SERVICE, USER, conv, CONFDIR) -> pam_acct_mgmt ->
 * pam_end, in this process, against the stock libpam and stock modules.
 * CONFDIR (written by tests/bench/run.sh) holds one service file per stack
 * (pam_permit, pam_psm with its table, pam_access with 1000 rules) and
 * "other" = pam_deny.  Each decision is timed alone with CLOCK_MONOTONIC
 * (they take tens of µs or more) and must return PAM_SUCCESS, or the program
 * stops with status 1.  "nss" times getpwnam_r + getgrouplist of USER, the
 * lookups pam_psm itself makes.  "dlopen:PATH" times dlopen(PATH, RTLD_NOW)
 * + dlclose, what libpam does to a module in every pam_start/pam_end (the
 * module's constructors run each time).  In every repeat the specs run one after
 * the other (side by side), each for ITERS decisions or until its time
 * budget (-t seconds per spec and repeat) is spent, at least one.  Prints
 * pam.SERVICE.p50/.p99 (or nss.p50/.p99) per repeat.
 *
 * Usage: bench_pam -d CONFDIR -u USER [-r REPEATS] [-n ITERS] [-t SECONDS] SPEC...
 *        SPEC = SERVICE | nss | dlopen:PATH
 */
#include <dlfcn.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "bench_util.h"

struct pam_bench {
	const char *confdir;
	const char *user;
	unsigned long iters;
	uint64_t budget_ns;
	uint64_t *s;
};

static int pam_bench_conv(int n, const struct pam_message **msg, struct pam_response **resp,
			  void *data)
{
	(void)n;
	(void)msg;
	(void)resp;
	(void)data;
	return PAM_CONV_ERR;
}

/* One whole decision; returns pam_acct_mgmt's result. */
static int pam_bench_decide(const struct pam_bench *b, const char *service)
{
	struct pam_conv conv = {pam_bench_conv, NULL};
	pam_handle_t *pamh = NULL;
	int rc;

	rc = pam_start_confdir(service, b->user, &conv, b->confdir, &pamh);
	if (rc != PAM_SUCCESS)
		return rc;
	rc = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

/* getpwnam_r + getgrouplist, as a PAM module resolving a user and its groups does. */
static int pam_bench_nss(const struct pam_bench *b, const char *unused)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[64];
	int ng = 64;

	(void)unused;
	if (getpwnam_r(b->user, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return PAM_USER_UNKNOWN;
	if (getgrouplist(b->user, pw.pw_gid, groups, &ng) < 0)
		return PAM_BUF_ERR;
	return PAM_SUCCESS;
}

/* Loads and unloads a module the way libpam does. */
static int pam_bench_dlopen(const struct pam_bench *b, const char *spec)
{
	void *h = dlopen(strchr(spec, ':') + 1, RTLD_NOW);

	(void)b;
	if (!h) {
		fprintf(stderr, "bench_pam: %s\n", dlerror());
		return PAM_SYSTEM_ERR;
	}
	dlclose(h);
	return PAM_SUCCESS;
}

/* The output key of a spec: nss, pam.SERVICE, dlopen.BASENAME. */
static void pam_bench_key(const char *spec, char *key, size_t n)
{
	const char *slash = strrchr(spec, '/');

	if (strcmp(spec, "nss") == 0)
		snprintf(key, n, "nss");
	else if (strncmp(spec, "dlopen:", 7) == 0)
		snprintf(key, n, "dlopen.%s", slash ? slash + 1 : spec + 7);
	else
		snprintf(key, n, "pam.%s", spec);
}

/* One repeat of one spec. */
static void pam_bench_run(const struct pam_bench *b, const char *spec)
{
	int (*fn)(const struct pam_bench *, const char *) = strcmp(spec, "nss") == 0 ? pam_bench_nss
							    : strncmp(spec, "dlopen:", 7) == 0
								? pam_bench_dlopen
								: pam_bench_decide;
	uint64_t start = bench_now_ns(), t0;
	char key[256];
	size_t i;
	int rc;

	for (i = 0; i < b->iters && (i == 0 || bench_now_ns() - start < b->budget_ns); i++) {
		t0 = bench_now_ns();
		rc = fn(b, spec);
		b->s[i] = bench_now_ns() - t0;
		if (rc != PAM_SUCCESS) {
			fprintf(stderr, "bench_pam: %s: %s for user %s, expected success\n", spec,
				pam_strerror(NULL, rc), b->user);
			exit(1);
		}
	}
	pam_bench_key(spec, key, sizeof(key));
	bench_emit_p50_p99(key, b->s, i);
	bench_emit(key, ".iters", (double)i);
}

static void __attribute__((noreturn)) pam_bench_usage(void)
{
	fprintf(stderr, "usage: bench_pam -d CONFDIR -u USER [-r REPEATS] [-n ITERS] "
			"[-t SECONDS] SPEC...   (SPEC = SERVICE | nss | dlopen:PATH)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct pam_bench b = {.iters = 2000, .budget_ns = 1000000000ull};
	unsigned long repeats = 5, r;
	int opt, i;

	while ((opt = getopt(argc, argv, "d:u:r:n:t:")) != -1) {
		if (opt == 'd')
			b.confdir = optarg;
		else if (opt == 'u')
			b.user = optarg;
		else if (opt == 'r')
			repeats = bench_count(optarg, "repeats");
		else if (opt == 'n')
			b.iters = bench_count(optarg, "iterations");
		else if (opt == 't')
			b.budget_ns = bench_count(optarg, "seconds") * 1000000000ull;
		else
			pam_bench_usage();
	}
	if (!b.confdir || !b.user || optind >= argc)
		pam_bench_usage();
	b.s = calloc(b.iters, sizeof(*b.s));
	if (!b.s)
		return 1;
	for (r = 0; r < repeats; r++)
		for (i = optind; i < argc; i++)
			pam_bench_run(&b, argv[i]);
	free(b.s);
	return 0;
}
