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
 * module's constructors run each time).  "table:SHM:PERM" times pam_psm's table work
 * alone: open SHM as the module does (SHM_VIEW_PREAD), eval_check of PERM for USER
 * (uid/gid looked up once at start; PERM must need no group lookup), close;
 * "floor:SHM:PERM" its system calls alone (pam_bench_floor).  In every
 * repeat the specs take turns, one call each per round (paired side by side: a
 * drift of the machine hits them all alike), for ITERS rounds or until the time
 * budget (-t seconds per spec and repeat) is spent, at least one round.  Prints
 * pam.SERVICE.p50/.p99 (or nss.p50/.p99) per repeat.
 *
 * Usage: bench_pam -d CONFDIR -u USER [-r REPEATS] [-n ITERS] [-t SECONDS] SPEC...
 *        SPEC = SERVICE | nss | dlopen:PATH | table:SHM:PERM | floor:SHM:PERM
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "bench_util.h"
#include "eval.h"
#include "shm.h"

struct pam_bench {
	const char *confdir;
	const char *user;
	uid_t uid; /* of user, looked up once (for "table:") */
	gid_t gid;
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

/* pam_psm's table work alone, without NSS: open the table as the module does (pread view),
 * decide PERM for USER (uid/gid looked up once, before), close.  "table:SHM:PERM". */
static int pam_bench_table(const struct pam_bench *b, const char *spec)
{
	const char *shm = spec + 6, *colon = strchr(shm, ':');
	char name[256];
	struct shm_view v;
	struct eval_out out;
	struct eval_req r = {.user = b->user,
			     .uid = b->uid,
			     .gid = b->gid,
			     .audit = SHM_U32_NONE,
			     .now = (int64_t)time(NULL)};
	int rc;

	if (colon == NULL || (size_t)(colon - shm) >= sizeof(name))
		return PAM_SERVICE_ERR;
	snprintf(name, sizeof(name), "%.*s", (int)(colon - shm), shm);
	r.perm = colon + 1;
	if (shm_view_open_flags(&v, name, SHM_VIEW_PREAD, NULL) != PSM_OK)
		return PAM_AUTHINFO_UNAVAIL;
	rc = eval_check(&v, &r, &out, NULL);
	shm_view_close(&v);
	if (rc != PSM_OK || out.groups_resolved)
		return PAM_SYSTEM_ERR; /* a group lookup would be NSS, not table work */
	return out.decision == EVAL_ALLOW ? PAM_SUCCESS : PAM_PERM_DENIED;
}

/*
 * "floor:SHM:PERM": the system calls of "table:SHM:PERM" alone, without psm's own work: the
 * preads of one table decision are recorded once (pread is interposed: psm's libraries are
 * linked into this program), then each call replays open (the module's flags), fstat, those
 * preads and close.  table minus floor is what psm's code adds to the kernel's part.
 */
#define PAM_BENCH_READS 64
static struct {
	bool on;
	unsigned n;
	off_t off[PAM_BENCH_READS];
	size_t len[PAM_BENCH_READS];
} pam_bench_rec;

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (pam_bench_rec.on && pam_bench_rec.n < PAM_BENCH_READS) {
		pam_bench_rec.off[pam_bench_rec.n] = off;
		pam_bench_rec.len[pam_bench_rec.n++] = n;
	}
	return (ssize_t)syscall(SYS_pread64, fd, buf, n, off);
}

static int pam_bench_floor(const struct pam_bench *b, const char *spec)
{
	static char path[300], buf[SHM_REC_MAX > 8192 ? SHM_REC_MAX : 8192];
	const char *shm = spec + 6, *colon = strchr(shm, ':');
	struct stat st;
	unsigned i;
	int fd, rc = PAM_SUCCESS;

	if (path[0] == '\0') {
		pam_bench_rec.on = true;
		rc = pam_bench_table(b, spec);
		pam_bench_rec.on = false;
		if (colon == NULL || rc != PAM_SUCCESS)
			return rc == PAM_SUCCESS ? PAM_SERVICE_ERR : rc;
		snprintf(path, sizeof(path), "/dev/shm%.*s", (int)(colon - shm), shm);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0)
		rc = PAM_AUTHINFO_UNAVAIL;
	for (i = 0; rc == PAM_SUCCESS && i < pam_bench_rec.n; i++)
		if (pread(fd, buf,
			  pam_bench_rec.len[i] < sizeof(buf) ? pam_bench_rec.len[i] : sizeof(buf),
			  pam_bench_rec.off[i]) < 0)
			rc = PAM_SYSTEM_ERR;
	if (fd >= 0)
		close(fd);
	return rc;
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
	else if (strncmp(spec, "table:", 6) == 0)
		snprintf(key, n, "table");
	else if (strncmp(spec, "floor:", 6) == 0)
		snprintf(key, n, "table.floor");
	else
		snprintf(key, n, "pam.%s", spec);
}

static int (*pam_bench_fn(const char *spec))(const struct pam_bench *, const char *)
{
	if (strcmp(spec, "nss") == 0)
		return pam_bench_nss;
	if (strncmp(spec, "dlopen:", 7) == 0)
		return pam_bench_dlopen;
	if (strncmp(spec, "table:", 6) == 0)
		return pam_bench_table;
	if (strncmp(spec, "floor:", 6) == 0)
		return pam_bench_floor;
	return pam_bench_decide;
}

/* One timed call of spec k into sample i; exits when it does not succeed. */
static void pam_bench_one(const struct pam_bench *b, char **specs, int k, size_t i)
{
	uint64_t t0 = bench_now_ns();
	int rc = pam_bench_fn(specs[k])(b, specs[k]);

	b->s[(size_t)k * b->iters + i] = bench_now_ns() - t0;
	if (rc != PAM_SUCCESS) {
		fprintf(stderr, "bench_pam: %s: %s for user %s, expected success\n", specs[k],
			pam_strerror(NULL, rc), b->user);
		exit(1);
	}
}

/* One repeat: the specs take turns, one call each per round (paired: a drift of the
 * machine hits them all alike), for ITERS rounds or until the budget (per spec) is spent. */
static void pam_bench_run(const struct pam_bench *b, char **specs, int n)
{
	uint64_t start = bench_now_ns(), budget = b->budget_ns * (uint64_t)n;
	char key[256];
	size_t i;
	int k;

	for (i = 0; i < b->iters && (i == 0 || bench_now_ns() - start < budget); i++)
		for (k = 0; k < n; k++)
			pam_bench_one(b, specs, k, i);
	for (k = 0; k < n; k++) {
		pam_bench_key(specs[k], key, sizeof(key));
		bench_emit_p50_p99(key, b->s + (size_t)k * b->iters, i);
		bench_emit(key, ".iters", (double)i);
	}
}

/* uid and gid of the bench user. */
static int pam_bench_ids(struct pam_bench *b)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwnam_r(b->user, &pw, buf, sizeof(buf), &res) != 0 || !res) {
		fprintf(stderr, "bench_pam: no user %s\n", b->user);
		return -1;
	}
	b->uid = pw.pw_uid;
	b->gid = pw.pw_gid;
	return 0;
}

static void __attribute__((noreturn)) pam_bench_usage(void)
{
	fprintf(stderr, "usage: bench_pam -d CONFDIR -u USER [-r REPEATS] [-n ITERS] "
			"[-t SECONDS] SPEC...\n"
			"  SPEC = SERVICE | nss | dlopen:PATH | table:SHM:PERM | floor:SHM:PERM\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct pam_bench b = {.iters = 2000, .budget_ns = 1000000000ull};
	unsigned long repeats = 5, r;
	int opt;

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
	b.s = calloc(b.iters * (size_t)(argc - optind), sizeof(*b.s));
	if (!b.s || pam_bench_ids(&b) != 0)
		return 1;
	for (r = 0; r < repeats; r++)
		pam_bench_run(&b, argv + optind, argc - optind);
	free(b.s);
	return 0;
}
