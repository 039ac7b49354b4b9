/* SPDX-License-Identifier: MIT */
/* bench_sign.c - SPEC §12 fleet figure: Ed25519 verify of one feed entry (a typical grant). */

/*
 * Method.  One grant record as the journal writes it (record_print: ~400
 * bytes of JSON: a command pattern, two 'from' CIDRs, two hosts, a reason),
 * signed once with a fresh key (sign_record); trusted_keys holds 64 keys
 * (names k0..k62 and the signer's), so sign_verify's lookup is a real one.
 * Each sample is one sign_verify() of the entry - key lookup plus
 * crypto_sign_verify_detached over the record bytes - timed with a
 * CLOCK_MONOTONIC pair (vDSO, ~20 ns: noise beside ~50 us).  p50 and p99 of
 * -n samples, each repeat printed as its own "S KEY VALUE" lines (ns):
 *   S sign.verify.p50 / .p99   verify one entry (goal: <= 100 us)
 *   S sign.sign.p50            sign one entry (the writer's cost, for reference)
 *   S sign.record_bytes        the length of r
 * A verify that does not pass ends the program with status 1.
 *
 * Usage: bench_sign [-r REPEATS] [-n SAMPLES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../unit/record_fixture.h"
#include "bench_util.h"
#include "sign.h"

#define NKEYS 64

static void bench_die(const char *what)
{
	fprintf(stderr, "bench_sign: %s\n", what);
	exit(1);
}

/* trusted_keys text: NKEYS - 1 other keys, then the signer's line. */
static void bench_trusted(const struct keys_secret *sk, struct keys_trusted *t)
{
	char *text = malloc(NKEYS * KEYS_LINE_MAX), line[KEYS_LINE_MAX];
	unsigned char pk[KEYS_PUBLIC_BYTES], other[KEYS_SECRET_BYTES];
	size_t len = 0;
	struct psm_err err = {0};
	int i;

	if (text == NULL)
		bench_die("out of memory");
	for (i = 0; i < NKEYS - 1; i++) {
		char name[16];

		crypto_sign_keypair(pk, other);
		snprintf(name, sizeof(name), "k%d", i);
		keys_public_line(pk, name, line, sizeof(line));
		len += (size_t)sprintf(text + len, "%s\n", line);
	}
	crypto_sign_ed25519_sk_to_pk(pk, sk->sk);
	keys_public_line(pk, sk->name, line, sizeof(line));
	len += (size_t)sprintf(text + len, "%s hosts=web,db-01\n", line);
	if (keys_trusted_parse("bench", text, len, t, &err) != PSM_OK)
		bench_die(err.msg);
	free(text);
}

/* The typical grant's record bytes (malloc'd). */
static char *bench_record(void)
{
	struct record r;
	struct rec_grant *g = &r.u.grant;
	char *text;

	fx_grant(&r, "alice", "sudo:cmd:/usr/bin/systemctl", 7, FX_NOW + 3600);
	g->from = calloc(2, sizeof(char *));
	g->hosts = calloc(2, sizeof(char *));
	if (g->from == NULL || g->hosts == NULL)
		bench_die("out of memory");
	g->from[0] = fx_dup("10.1.0.0/16");
	g->from[1] = fx_dup("192.168.7.0/24");
	g->hosts[0] = fx_dup("web");
	g->hosts[1] = fx_dup("db-01");
	g->nfrom = g->nhosts = 2;
	free(g->reason);
	g->reason = fx_dup("INC-4242: restart nginx on the web tier and the database proxy "
			   "during the incident");
	text = record_print(&r);
	record_free(&r);
	if (text == NULL)
		bench_die("out of memory");
	return text;
}

static void bench_run(const struct sign_entry *e, const struct keys_trusted *t,
		      const struct keys_secret *sk, uint64_t *s, size_t n)
{
	unsigned char sig[SIGN_BYTES];
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		enum sign_result res = sign_verify(e, t, NULL);

		s[i] = bench_now_ns() - t0;
		if (res != SIGN_APPLIED)
			bench_die(sign_result_name(res));
	}
	bench_emit_p50_p99("sign.verify", s, n);
	for (i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();

		sign_record(sk, e->r, e->rlen, sig);
		s[i] = bench_now_ns() - t0;
	}
	bench_emit("sign.sign", ".p50", (double)bench_percentile(s, n, 50));
	bench_emit("sign.record_bytes", "", (double)e->rlen);
}

int main(int argc, char **argv)
{
	unsigned long repeats = 5, n = 2000, r;
	struct keys_secret sk = {.name = "web-key"};
	struct keys_trusted t;
	unsigned char sig[SIGN_BYTES];
	char *rec;
	uint64_t *s;
	int opt;

	while ((opt = getopt(argc, argv, "r:n:")) != -1) {
		if (opt == 'r')
			repeats = bench_count(optarg, "repeats");
		else if (opt == 'n')
			n = bench_count(optarg, "samples");
		else
			bench_die("usage: bench_sign [-r REPEATS] [-n SAMPLES]");
	}
	if (sodium_init() < 0)
		bench_die("libsodium: initialisation failed");
	crypto_sign_keypair(sig, sk.sk); /* sig: scratch for the public key */
	bench_trusted(&sk, &t);
	rec = bench_record();
	sign_record(&sk, rec, strlen(rec), sig);
	s = calloc(n, sizeof(*s));
	if (s == NULL)
		bench_die("out of memory");
	for (r = 0; r < repeats; r++)
		bench_run(&(struct sign_entry){(unsigned char *)rec, strlen(rec), sig, SIGN_BYTES,
					       sk.name, strlen(sk.name)},
			  &t, &sk, s, n);
	free(s);
	free(rec);
	keys_trusted_free(&t);
	return 0;
}
