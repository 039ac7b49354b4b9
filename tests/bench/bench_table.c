/* SPDX-License-Identifier: MIT */
/* bench_table.c - SPEC §12 table figures: eval_check on a shm_view, and bytes per entry. */

/*
 * Method.  Tables are built with psm's writer API, the code path psmd uses
 * (shm_writer_create, shm_writer_begin, shm_writer_insert, shm_writer_commit,
 * shm_writer_publish), under a temporary name /psm-bench-<pid>-<n>, then
 * opened read-only with shm_view_open() exactly as pam_psm and psm-query do.
 * Records are a mix of user grants: 8 pattern shapes (sudo:run, login:*,
 * login:ssh, sudo:cmd:/usr/bin/systemctl, *, pam:sshd), a quarter with a
 * 'from' CIDR, a third with an expiry, uid-checked; every 100th user has a
 * second grant, every 1000th a deny record; 16 group grants on login:* (so a
 * sudo:run check skips the NSS group lookup, as the group mask allows).
 *
 * Workloads (requests are precomputed in a sequential array):
 *   same   one user, sudo:run, allowed, on the 10^3-record table (warm)
 *   rand3  uniformly random existing users, sudo:run, on 10^3 records
 *   rand6  the same on 10^6 records (the table is ~270 MB: cache misses)
 * Timing: CLOCK_MONOTONIC (vDSO).  p50 = median of batches of 64 checks
 * divided by 64 (the clock's own ~20 ns is spread over 64 checks).  p99 =
 * 99th percentile of per-check samples, one clock pair around each check:
 * it includes one clock read (reported as timer.p50), so it overstates.
 * Repeated -r times; each repeat prints its own "S KEY VALUE" lines.
 * Bytes per entry: shm_info total_size / records and arena_used / records
 * of the 10^6 table.
 * Instructions (-I CHECKS, run under valgrind --tool=callgrind
 * --collect-atstart=no): the 10^3 table only; 1000 untimed same-key checks
 * warm it up, then CHECKS more run between two CALLGRIND_TOGGLE_COLLECT
 * client requests, so callgrind's total is the instructions of CHECKS warm
 * same-key checks (tests/bench/run.sh divides).  No figures are printed.
 *
 * Usage: bench_table [-r REPEATS] [-n CHECKS] [-N BIG_RECORDS] | -I CHECKS
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include "bench_util.h"
#include "cond.h"
#include "eval.h"
#include "shm.h"

#define BATCH 64
#define UID_BASE 100000u
#define NGROUPS_BENCH 16

#define NAME_LEN 16

struct bench_key {
	char name[NAME_LEN];
	uint32_t uid;
};

struct bench_table {
	char name[64];
	struct shm_view view;
	uint64_t nusers;
};

/* Table names to unlink at exit, also when a step fails. */
static char bench_names[2][64];

static void bench_unlink_all(void)
{
	size_t i;

	for (i = 0; i < 2; i++)
		if (bench_names[i][0])
			shm_unlink(bench_names[i]);
}

/* SIGINT/SIGTERM/SIGHUP: the tables are hundreds of MB of /dev/shm; do not leave them. */
static void bench_on_signal(int sig)
{
	bench_unlink_all();
	_exit(128 + sig);
}

static void bench_cleanup_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	atexit(bench_unlink_all);
}

static const char *const bench_patterns[8] = {
    "sudo:run", "sudo:run", "sudo:run", "login:*", "login:ssh", "sudo:cmd:/usr/bin/systemctl",
    "*",	"pam:sshd",
};

static void __attribute__((noreturn)) bench_die(const char *what, const struct psm_err *e)
{
	fprintf(stderr, "bench_table: %s: %s\n", what, e ? e->msg : "failed");
	exit(1);
}

/* User i's name: "u" + 7 digits (tables stay below 10^7 users). */
static size_t bench_user_name(char name[NAME_LEN], uint64_t i)
{
	return (size_t)snprintf(name, NAME_LEN, "u%07u", (unsigned)(i % 10000000u));
}

static void bench_set_field(struct shm_entry *e, enum shm_field f, const void *p, size_t n)
{
	e->f[f] = p;
	e->flen[f] = (uint16_t)n;
}

static void bench_insert(struct shm_writer *w, struct shm_entry *e)
{
	struct psm_err err;

	if (shm_writer_insert(w, e, NULL, &err) != PSM_OK)
		bench_die("shm_writer_insert", &err);
}

/* User i's grant (or deny, for kind SHM_DENY) with pattern pat. */
static void bench_user_record(struct shm_writer *w, uint64_t i, uint8_t kind, const char *pat,
			      const unsigned char *from, size_t fromlen, int64_t now)
{
	struct shm_entry e;
	char key[NAME_LEN], reason[24];
	size_t klen = bench_user_name(key, i);
	int rlen = snprintf(reason, sizeof(reason), "INC-%llu", (unsigned long long)i);

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.flags = SHM_FL_UID_CHECKED | (i % 2 ? SHM_FL_SRC_ADMIN : SHM_FL_SRC_POLICY);
	e.not_before = SHM_TIME_NONE_BEFORE;
	e.not_after = (i % 3 == 0) ? now + 86400 : SHM_TIME_NONE_AFTER;
	e.version = i + 1;
	memcpy(e.id, &i, sizeof(i));
	e.rule = kind == SHM_DENY ? 1 : SHM_U32_NONE;
	e.uid = UID_BASE + (uint32_t)i;
	e.pid = 0;
	e.audit = SHM_U32_NONE;
	e.created = now;
	bench_set_field(&e, SHM_F_KEY, key, klen);
	bench_set_field(&e, SHM_F_PRINCIPAL, key, klen);
	bench_set_field(&e, SHM_F_PATTERN, pat, strlen(pat));
	bench_set_field(&e, SHM_F_FROM, from, i % 4 == 0 ? fromlen : 0);
	bench_set_field(&e, SHM_F_REASON, reason, (size_t)rlen);
	bench_set_field(&e, SHM_F_ISSUER, "root", 4);
	bench_set_field(&e, SHM_F_SOURCE, "psmctl", 6);
	bench_insert(w, &e);
}

static void bench_group_record(struct shm_writer *w, unsigned g, int64_t now)
{
	struct shm_entry e;
	char key[16];
	int klen = snprintf(key, sizeof(key), "%%%u", 60000 + g);

	memset(&e, 0, sizeof(e));
	e.kind = SHM_GRANT;
	e.flags = SHM_FL_GROUP | SHM_FL_SRC_POLICY;
	e.not_before = SHM_TIME_NONE_BEFORE;
	e.not_after = SHM_TIME_NONE_AFTER;
	e.rule = g + 1;
	e.audit = SHM_U32_NONE;
	e.created = now;
	bench_set_field(&e, SHM_F_KEY, key, (size_t)klen);
	bench_set_field(&e, SHM_F_PRINCIPAL, key, (size_t)klen);
	bench_set_field(&e, SHM_F_PATTERN, "login:*", 7);
	bench_set_field(&e, SHM_F_SOURCE, "policy.json", 11);
	bench_insert(w, &e);
}

static void bench_fill(struct shm_writer *w, uint64_t nusers, int64_t now)
{
	unsigned char from[COND_ENC_MAX];
	size_t fromlen = 0;
	struct psm_err err;
	uint64_t i;
	unsigned g;

	if (cond_compile("10.0.0.0/8", from, sizeof(from), &fromlen, &err) != PSM_OK)
		bench_die("cond_compile", &err);
	shm_writer_begin(w);
	for (i = 0; i < nusers; i++) {
		bench_user_record(w, i, SHM_GRANT, bench_patterns[i % 8], from, fromlen, now);
		if (i % 100 == 50)
			bench_user_record(w, i, SHM_GRANT, "login:console", from, 0, now);
		if (i % 1000 == 500)
			bench_user_record(w, i, SHM_DENY, "sudo:cmd:*", from, 0, now);
	}
	for (g = 0; g < NGROUPS_BENCH; g++)
		bench_group_record(w, g, now);
	shm_writer_commit(w);
}

/* Builds and publishes a table of about nrec records, then opens a reader view on it. */
static void bench_table_make(struct bench_table *t, uint64_t nrec, unsigned n)
{
	struct shm_writer_opts o = {.name = t->name, .group = 0, .host_name = "bench"};
	struct shm_writer *w;
	struct psm_err err;

	snprintf(t->name, sizeof(t->name), "/psm-bench-%d-%u", (int)getpid(), n);
	snprintf(bench_names[n % 2], sizeof(bench_names[0]), "%s", t->name);
	t->nusers = nrec - nrec / 100 - nrec / 1000 - NGROUPS_BENCH;
	o.capacity = nrec + 64;
	if (shm_writer_create(&w, &o, &err) != PSM_OK)
		bench_die("shm_writer_create", &err);
	bench_fill(w, t->nusers, (int64_t)time(NULL));
	shm_writer_heartbeat(w, (int64_t)time(NULL));
	if (shm_writer_publish(w, &err) != PSM_OK)
		bench_die("shm_writer_publish", &err);
	shm_writer_close(w);
	if (shm_view_open(&t->view, t->name, &err) != PSM_OK)
		bench_die("shm_view_open", &err);
}

static void bench_table_close(struct bench_table *t)
{
	shm_view_close(&t->view);
}

/* n request keys: user `fixed` every time, or uniformly random users when fixed < 0. */
static struct bench_key *bench_keys(size_t n, uint64_t nusers, long fixed, uint64_t seed)
{
	struct bench_key *k = calloc(n, sizeof(*k));
	uint64_t x = seed | 1, u;
	size_t i;

	if (!k)
		bench_die("calloc", NULL);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		u = fixed >= 0 ? (uint64_t)fixed : x % nusers;
		bench_user_name(k[i].name, u);
		k[i].uid = UID_BASE + (uint32_t)u;
	}
	return k;
}

static int bench_check(const struct shm_view *v, const struct bench_key *k, struct eval_out *o)
{
	struct eval_req r = {
	    .user = k->name,
	    .uid = k->uid,
	    .gid = k->uid,
	    .perm = "sudo:run",
	    .rhost = NULL,
	    .audit = SHM_U32_NONE,
	    .now = 0,
	};
	struct psm_err err;

	r.now = (int64_t)time(NULL);
	if (eval_check(v, &r, o, &err) != PSM_OK)
		bench_die("eval_check", &err);
	return o->decision + (o->groups_resolved ? 2 : 0);
}

/* One repeat of one workload: emits KEY.p50 (batches) and KEY.p99 (per check).
 * Returns the share of the per-check pass that was allowed, in percent. */
static double bench_run(const char *key, const struct shm_view *v, const struct bench_key *k,
			size_t n, struct eval_out *o, uint64_t *s)
{
	size_t nb = n / BATCH, b, i, allow = 0, grouped = 0;
	uint64_t t0;
	int d;

	for (b = 0; b < nb; b++) {
		t0 = bench_now_ns();
		for (i = b * BATCH; i < (b + 1) * BATCH; i++)
			grouped += (size_t)(bench_check(v, &k[i], o) >> 1);
		s[b] = bench_now_ns() - t0;
	}
	bench_emit(key, ".p50", (double)bench_percentile(s, nb, 50) / BATCH);
	for (i = 0; i < n; i++) {
		t0 = bench_now_ns();
		d = bench_check(v, &k[i], o);
		s[i] = bench_now_ns() - t0;
		allow += (size_t)(d & 1);
		grouped += (size_t)(d >> 1);
	}
	bench_emit(key, ".p99", (double)bench_percentile(s, n, 99));
	if (grouped)
		fprintf(stderr,
			"bench_table: warning: %s: %zu checks looked up groups though the "
			"group mask rules them out\n",
			key, grouped);
	return 100.0 * (double)allow / (double)n;
}

/* Median cost of one clock pair, to read the per-check p99 with. */
static void bench_timer(uint64_t *s, size_t n)
{
	size_t i;
	uint64_t t0;

	for (i = 0; i < n; i++) {
		t0 = bench_now_ns();
		s[i] = bench_now_ns() - t0;
	}
	bench_emit("timer", ".p50", (double)bench_percentile(s, n, 50));
}

static void bench_bytes(const struct bench_table *t)
{
	struct shm_info info;
	struct psm_err err;

	if (shm_info_get(&t->view, &info, &err) != PSM_OK)
		bench_die("shm_info_get", &err);
	bench_emit("bytes", ".records", (double)info.records);
	bench_emit("bytes", ".total_per_record", (double)info.total_size / (double)info.records);
	bench_emit("bytes", ".arena_per_record", (double)info.arena_used / (double)info.records);
}

static void bench_usage(void)
{
	fprintf(stderr, "usage: bench_table [-r REPEATS] [-n CHECKS] [-N BIG_RECORDS] | "
			"-I CHECKS\n");
	exit(2);
}

/* -I: n warm same-key checks with callgrind collecting (see the top of this file). */
static int bench_instr(struct bench_table *small, size_t n, struct eval_out *o)
{
	struct bench_key *same = bench_keys(1, small->nusers, 1, 1);
	size_t i, allow = 0;

	for (i = 0; i < 1000; i++)
		allow += (size_t)(bench_check(&small->view, same, o) & 1);
	CALLGRIND_TOGGLE_COLLECT;
	for (i = 0; i < n; i++)
		allow += (size_t)(bench_check(&small->view, same, o) & 1);
	CALLGRIND_TOGGLE_COLLECT;
	free(same);
	if (allow != n + 1000) {
		fprintf(stderr, "bench_table: the same-key check was not allowed\n");
		return 1;
	}
	return 0;
}

/* The three workloads, run side by side in every repeat. */
static int bench_all(struct bench_table *small, struct bench_table *large, unsigned long repeats,
		     size_t n, struct eval_out *o, uint64_t *s)
{
	struct bench_key *same = bench_keys(n, small->nusers, 1, 1);
	struct bench_key *rand3 = bench_keys(n, small->nusers, -1, 0x9e3779b97f4a7c15ull);
	struct bench_key *rand6 = bench_keys(n, large->nusers, -1, 0xd1b54a32d192ed03ull);
	unsigned long r;
	int rc = 0;

	for (r = 0; r < repeats && rc == 0; r++) {
		bench_timer(s, n);
		if (bench_run("table.same", &small->view, same, n, o, s) != 100.0) {
			fprintf(stderr, "bench_table: the same-key check was not allowed\n");
			rc = 1;
		}
		bench_emit("table.rand3", ".allow_pct",
			   bench_run("table.rand3", &small->view, rand3, n, o, s));
		bench_emit("table.rand6", ".allow_pct",
			   bench_run("table.rand6", &large->view, rand6, n, o, s));
	}
	free(same);
	free(rand3);
	free(rand6);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long repeats = 5, n = 1000000, big = 1000000, instr = 0;
	struct bench_table small, large;
	struct eval_out *o = malloc(sizeof(*o));
	uint64_t *s;
	int c, rc;

	while ((c = getopt(argc, argv, "r:n:N:I:")) != -1) {
		if (c == 'r')
			repeats = bench_count(optarg, "repeats");
		else if (c == 'n')
			n = bench_count(optarg, "checks");
		else if (c == 'N')
			big = bench_count(optarg, "records");
		else if (c == 'I')
			instr = bench_count(optarg, "checks");
		else
			bench_usage();
	}
	s = calloc(n, sizeof(*s));
	if (!o || !s || n < BATCH || big < 2000)
		bench_usage();
	bench_cleanup_setup();
	bench_table_make(&small, 1000, 1);
	if (instr > 0) {
		rc = bench_instr(&small, instr, o);
		bench_table_close(&small);
		free(s);
		free(o);
		return rc;
	}
	bench_table_make(&large, big, 2);
	bench_bytes(&large);
	rc = bench_all(&small, &large, repeats, n, o, s);
	bench_table_close(&small);
	bench_table_close(&large);
	free(s);
	free(o);
	return rc;
}
