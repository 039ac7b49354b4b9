/* SPDX-License-Identifier: MIT */
/* test_fleet_sign.c - the signed feed envelope: every flipped byte rejected, with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "record_fixture.h"
#include "sign.h"

/* Two signers: "web-key" may sign for web and db-01 only, "ops" for every scope. */
struct sign_fx {
	struct keys_secret web, ops, stranger;
	struct keys_trusted trusted;
	struct record grant;
	char *r; /* the grant's record bytes, as the journal has them */
	unsigned char sig[SIGN_BYTES];
};

static void make_key(struct keys_secret *k, const char *name, char *line, size_t cap)
{
	unsigned char pk[KEYS_PUBLIC_BYTES];

	crypto_sign_keypair(pk, k->sk);
	snprintf(k->name, sizeof(k->name), "%s", name);
	keys_public_line(pk, name, line, cap);
}

/* A typical grant (~400 bytes of JSON): two 'from' CIDRs, two hosts. */
static void typical_grant(struct record *r)
{
	struct rec_grant *g = &r->u.grant;

	fx_grant(r, "alice", "sudo:cmd:/usr/bin/systemctl", 7, FX_NOW + 3600);
	g->from = calloc(2, sizeof(char *));
	g->from[0] = fx_dup("10.1.0.0/16");
	g->from[1] = fx_dup("192.168.7.0/24");
	g->nfrom = 2;
	g->hosts = calloc(2, sizeof(char *));
	g->hosts[0] = fx_dup("web");
	g->hosts[1] = fx_dup("db-01");
	g->nhosts = 2;
	free(g->reason);
	g->reason = fx_dup(
	    "INC-4242: restart nginx on the web tier and the database proxy during the incident");
}

static int sign_setup(void **state)
{
	struct sign_fx *f = calloc(1, sizeof(*f));
	char a[KEYS_LINE_MAX], b[KEYS_LINE_MAX], s[KEYS_LINE_MAX], text[512];
	struct psm_err e = {0};

	if (f == NULL)
		return -1;
	make_key(&f->web, "web-key", a, sizeof(a));
	make_key(&f->ops, "ops", b, sizeof(b));
	make_key(&f->stranger, "stranger", s, sizeof(s)); /* not in trusted_keys */
	snprintf(text, sizeof(text), "%s hosts=web,db-01\n%s\n", a, b);
	if (keys_trusted_parse("tk", text, strlen(text), &f->trusted, &e) != PSM_OK)
		return -1;
	typical_grant(&f->grant);
	if (record_validate(&f->grant, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	f->r = record_print(&f->grant);
	if (f->r == NULL)
		return -1;
	sign_record(&f->web, f->r, strlen(f->r), f->sig);
	*state = f;
	return 0;
}

static int sign_teardown(void **state)
{
	struct sign_fx *f = *state;

	keys_trusted_free(&f->trusted);
	record_free(&f->grant);
	free(f->r);
	free(f);
	return 0;
}

static struct sign_entry entry(const unsigned char *r, size_t rlen, const unsigned char *sig,
			       size_t siglen, const char *key)
{
	struct sign_entry e = {r, rlen, sig, siglen, key, key != NULL ? strlen(key) : 0};

	return e;
}

static enum sign_result verify(const struct sign_fx *f, const struct sign_entry *e)
{
	return sign_verify(e, &f->trusted, NULL);
}

static void test_sign_verify_ok(void **state)
{
	struct sign_fx *f = *state;
	struct sign_entry e =
	    entry((unsigned char *)f->r, strlen(f->r), f->sig, SIGN_BYTES, "web-key");
	const struct keys_public *k = NULL;

	assert_in_range(strlen(f->r), 300, 500);
	assert_int_equal(sign_verify(&e, &f->trusted, &k), SIGN_APPLIED);
	assert_non_null(k);
	assert_string_equal(k->name, "web-key");
	/* the record bytes of the envelope are the journal's: they parse back to the grant */
	{
		struct record back;
		struct psm_err err = {0};

		assert_int_equal(record_parse(f->r, strlen(f->r), &back, &err), PSM_OK);
		assert_memory_equal(back.u.grant.id, f->grant.u.grant.id, ID_BYTES);
		record_free(&back);
	}
}

/* Each bit of r flipped in turn: forged, every time. */
static void test_sign_every_record_bit(void **state)
{
	struct sign_fx *f = *state;
	size_t len = strlen(f->r), i;
	unsigned char *r = malloc(len);
	unsigned bit;

	assert_non_null(r);
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			struct sign_entry e = entry(r, len, f->sig, SIGN_BYTES, "web-key");

			memcpy(r, f->r, len);
			r[i] ^= (unsigned char)(1u << bit);
			if (verify(f, &e) != SIGN_FORGED)
				fail_msg("record byte %zu bit %u flipped: %s", i, bit,
					 sign_result_name(verify(f, &e)));
		}
	}
	/* shorter, longer, empty */
	memcpy(r, f->r, len);
	assert_int_equal(
	    verify(f, &(struct sign_entry){r, len - 1, f->sig, SIGN_BYTES, "web-key", 7}),
	    SIGN_FORGED);
	assert_int_equal(verify(f, &(struct sign_entry){r, 0, f->sig, SIGN_BYTES, "web-key", 7}),
			 SIGN_FORGED);
	free(r);
}

/* Each bit of the signature flipped in turn: forged. */
static void test_sign_every_signature_bit(void **state)
{
	struct sign_fx *f = *state;
	unsigned char sig[SIGN_BYTES];
	size_t i;
	unsigned bit;

	for (i = 0; i < SIGN_BYTES; i++) {
		for (bit = 0; bit < 8; bit++) {
			struct sign_entry e =
			    entry((unsigned char *)f->r, strlen(f->r), sig, SIGN_BYTES, "web-key");

			memcpy(sig, f->sig, SIGN_BYTES);
			sig[i] ^= (unsigned char)(1u << bit);
			if (verify(f, &e) != SIGN_FORGED)
				fail_msg("signature byte %zu bit %u flipped: %s", i, bit,
					 sign_result_name(verify(f, &e)));
		}
	}
}

/* Each bit of the key name flipped: no trusted key has that name. */
static void test_sign_every_key_name_bit(void **state)
{
	struct sign_fx *f = *state;
	char name[8];
	size_t i;
	unsigned bit;

	for (i = 0; i < 7; i++) {
		for (bit = 0; bit < 8; bit++) {
			struct sign_entry e =
			    entry((unsigned char *)f->r, strlen(f->r), f->sig, SIGN_BYTES, NULL);

			memcpy(name, "web-key", 8);
			name[i] = (char)(name[i] ^ (1 << bit));
			e.key = name;
			e.keylen = 7;
			if (verify(f, &e) != SIGN_UNTRUSTED)
				fail_msg("key name byte %zu bit %u flipped: %s", i, bit,
					 sign_result_name(verify(f, &e)));
		}
	}
	assert_int_equal(verify(f, &(struct sign_entry){(unsigned char *)f->r, strlen(f->r), f->sig,
							SIGN_BYTES, "web-ke", 6}),
			 SIGN_UNTRUSTED);
	assert_int_equal(verify(f, &(struct sign_entry){(unsigned char *)f->r, strlen(f->r), f->sig,
							SIGN_BYTES, "web-keys", 8}),
			 SIGN_UNTRUSTED);
}

/* Signed by one trusted key, named as another: the signature does not verify. */
static void test_sign_wrong_key(void **state)
{
	struct sign_fx *f = *state;
	struct sign_entry e = entry((unsigned char *)f->r, strlen(f->r), f->sig, SIGN_BYTES, "ops");
	unsigned char sig[SIGN_BYTES];

	assert_int_equal(verify(f, &e), SIGN_FORGED);
	/* a key nobody trusts, claiming a trusted name */
	sign_record(&f->stranger, f->r, strlen(f->r), sig);
	e = entry((unsigned char *)f->r, strlen(f->r), sig, SIGN_BYTES, "web-key");
	assert_int_equal(verify(f, &e), SIGN_FORGED);
}

static void test_sign_unknown_key(void **state)
{
	struct sign_fx *f = *state;
	unsigned char sig[SIGN_BYTES];
	struct sign_entry e;

	sign_record(&f->stranger, f->r, strlen(f->r), sig);
	e = entry((unsigned char *)f->r, strlen(f->r), sig, SIGN_BYTES, "stranger");
	assert_int_equal(verify(f, &e), SIGN_UNTRUSTED);
	e.keylen = 0;
	assert_int_equal(verify(f, &e), SIGN_UNTRUSTED);
}

static void test_sign_unsigned(void **state)
{
	struct sign_fx *f = *state;
	struct sign_entry e = entry((unsigned char *)f->r, strlen(f->r), NULL, 0, NULL);
	const struct keys_public *k = (const struct keys_public *)1;

	assert_int_equal(verify(f, &e), SIGN_UNSIGNED);
	e = entry((unsigned char *)f->r, strlen(f->r), f->sig, SIGN_BYTES, NULL);
	assert_int_equal(verify(f, &e), SIGN_UNSIGNED); /* sig without key */
	e = entry((unsigned char *)f->r, strlen(f->r), NULL, 0, "web-key");
	assert_int_equal(verify(f, &e), SIGN_UNSIGNED); /* key without sig */
	/* without trusted_keys integrity is off: everything passes, no signer */
	assert_int_equal(sign_verify(&e, NULL, &k), SIGN_APPLIED);
	assert_null(k);
}

static void test_sign_signature_length(void **state)
{
	struct sign_fx *f = *state;
	unsigned char sig[SIGN_BYTES + 1];
	struct sign_entry e =
	    entry((unsigned char *)f->r, strlen(f->r), sig, SIGN_BYTES - 1, "web-key");

	memcpy(sig, f->sig, SIGN_BYTES);
	sig[SIGN_BYTES] = 0;
	assert_int_equal(verify(f, &e), SIGN_MALFORMED);
	e.siglen = SIGN_BYTES + 1;
	assert_int_equal(verify(f, &e), SIGN_MALFORMED);
	e.siglen = 0;
	assert_int_equal(verify(f, &e), SIGN_MALFORMED);
	e.siglen = SIGN_BYTES; /* the same bytes, the right length */
	assert_int_equal(verify(f, &e), SIGN_APPLIED);
}

/* After parsing: the key must cover the record's hosts. */
static void test_sign_scope(void **state)
{
	struct sign_fx *f = *state;
	const struct keys_public *web = keys_find(&f->trusted, "web-key", 7);
	const struct keys_public *ops = keys_find(&f->trusted, "ops", 3);
	struct rec_grant *g = &f->grant.u.grant;
	struct record s, revoke, other;

	assert_true(sign_scope_ok(web, &f->grant, NULL)); /* hosts web, db-01 */
	assert_true(sign_scope_ok(ops, &f->grant, NULL));
	free(g->hosts[1]);
	g->hosts[1] = fx_dup("db-02");
	assert_false(sign_scope_ok(web, &f->grant, NULL)); /* db-02 not covered */
	assert_true(sign_scope_ok(ops, &f->grant, NULL));
	free(g->hosts[1]);
	g->hosts[1] = fx_dup("*");
	assert_false(sign_scope_ok(web, &f->grant, NULL));
	/* no hosts: the origin's host */
	g->nhosts = 0;
	assert_false(sign_scope_ok(web, &f->grant, NULL)); /* origin web-01 */
	free(g->origin);
	g->origin = fx_dup("web");
	assert_true(sign_scope_ok(web, &f->grant, NULL));
	g->nhosts = 2;
	g->hosts[1][0] = 'd'; /* hosts web, "d": back to out of scope for the revoke below */
	/* a session: its origin */
	fx_session(&s, "alice", 3, FX_NOW + 60);
	assert_false(sign_scope_ok(web, &s, NULL)); /* web-01 */
	free(s.u.session.origin);
	s.u.session.origin = fx_dup("db-01");
	assert_true(sign_scope_ok(web, &s, NULL));
	record_free(&s);
	/* a revoke: the revoked grant's hosts; unknown grant: only a key of every scope */
	fx_tomb(&revoke, REC_REVOKE, g->id, 9, FX_NOW + 3600);
	assert_false(sign_scope_ok(web, &revoke, &f->grant));
	assert_false(sign_scope_ok(web, &revoke, NULL));
	assert_true(sign_scope_ok(ops, &revoke, NULL));
	g->hosts[1][0] = '\0';
	free(g->hosts[1]);
	g->hosts[1] = fx_dup("db-01");
	assert_true(sign_scope_ok(web, &revoke, &f->grant));
	fx_grant(&other, "bob", "sudo:run", 3, FX_NOW + 60); /* another id: not the one revoked */
	free(other.u.grant.origin);
	other.u.grant.origin = fx_dup("web"); /* a grant the key could sign for */
	assert_true(sign_scope_ok(web, &other, NULL));
	assert_false(sign_scope_ok(web, &revoke, &other));
	record_free(&other);
	/* a session_end: its origin (web-02) */
	revoke.type = REC_SESSION_END;
	assert_false(sign_scope_ok(web, &revoke, NULL));
	assert_true(sign_scope_ok(ops, &revoke, NULL));
	record_free(&revoke);
	assert_false(sign_scope_ok(NULL, &f->grant, NULL));
}

/* The results are psm_fleet_records_total's result labels (SPEC §11), in its order. */
static void test_sign_result_names(void **state)
{
	static const char *const spec[] = {"applied", "out_of_scope", "unsigned",
					   "forged",  "untrusted",    "replayed",
					   "expired", "malformed",    "oversized"};
	size_t i;

	(void)state;
	assert_int_equal(SIGN_NRESULTS, sizeof(spec) / sizeof(spec[0]));
	for (i = 0; i < SIGN_NRESULTS; i++)
		assert_string_equal(sign_result_name((enum sign_result)i), spec[i]);
	assert_string_equal(sign_result_name(SIGN_NRESULTS), "unknown");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, sign_setup, sign_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_sign_verify_ok),
	    T(test_sign_every_record_bit),
	    T(test_sign_every_signature_bit),
	    T(test_sign_every_key_name_bit),
	    T(test_sign_wrong_key),
	    T(test_sign_unknown_key),
	    T(test_sign_unsigned),
	    T(test_sign_signature_length),
	    T(test_sign_scope),
	    cmocka_unit_test(test_sign_result_names),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
