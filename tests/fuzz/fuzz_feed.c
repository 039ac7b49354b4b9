/* SPDX-License-Identifier: MIT */
/* fuzz_feed.c - libFuzzer harness: a fleet state value / feed entry through the fleet's entry
 * check, with integrity off, as it came, and signed again by a trusted key. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fleet_int.h"
#include "sign.h"
#include "fuzz.h"

/* A check of this harness: the message names the function (fuzz.h prints the condition). */
#define FZ_CHECK(cond) FUZZ_CHECK(cond, "in %s", __func__)

/*
 * Two keys made from fixed seeds, so that corpus files signed with them stay valid:
 * "fz-all" signs for every scope, "fz-web" only for host web-01 (trusted_keys lines built at
 * init).  The corpus's signed values were made with these seeds.
 */
#define FZ_SEED_ALL "psm fuzz_feed: key fz-all, seed."
#define FZ_SEED_WEB "psm fuzz_feed: key fz-web, seed."

static struct fleet fz_off, fz_on; /* integrity off; trusted_keys set */
static struct keys_secret fz_all, fz_web;

static void fz_key(struct keys_secret *k, const char *seed, const char *name, char *line,
		   size_t cap)
{
	unsigned char pk[KEYS_PUBLIC_BYTES];

	FZ_CHECK(strlen(seed) == crypto_sign_SEEDBYTES);
	crypto_sign_seed_keypair(pk, k->sk, (const unsigned char *)seed);
	snprintf(k->name, sizeof(k->name), "%s", name);
	keys_public_line(pk, name, line, cap);
}

static void fz_init(void)
{
	char all[KEYS_LINE_MAX], web[KEYS_LINE_MAX], text[3 * KEYS_LINE_MAX];
	struct psm_err err = {0};
	static bool done;

	if (done)
		return;
	done = true;
	FZ_CHECK(keys_init(&err) == PSM_OK);
	fz_key(&fz_all, FZ_SEED_ALL, "fz-all", all, sizeof(all));
	fz_key(&fz_web, FZ_SEED_WEB, "fz-web", web, sizeof(web));
	snprintf(text, sizeof(text), "%s\n%s hosts=web-01\n", all, web);
	FZ_CHECK(keys_trusted_parse("fuzz", text, strlen(text), &fz_on.trusted, &err) == PSM_OK);
	FZ_CHECK(fz_on.trusted.n == 2);
}

/* A value's fields lie inside it: r after the header line, key a word, sig 64 bytes. */
static void fz_check_value(const char *v, size_t len, const struct sign_entry *e)
{
	const char *r = (const char *)e->r;

	FZ_CHECK(r > v && r <= v + len && r[-1] == '\n' && e->rlen == (size_t)(v + len - r));
	FZ_CHECK(e->sig == NULL || e->siglen == SIGN_BYTES);
	if (e->key != NULL) {
		FZ_CHECK(e->key > v && e->key + e->keylen < r && e->keylen > 0);
		FZ_CHECK(memchr(e->key, ' ', e->keylen) == NULL);
		FZ_CHECK(memchr(e->key, '\n', e->keylen) == NULL);
	}
}

/* fleet_entry_check on f: a result of the enum, and what passes is a valid record signed (when
 * f has trusted keys) by a key that verifies it and may sign for it. */
static enum sign_result fz_check(struct fleet *f, const struct sign_entry *e)
{
	struct fleet_in in;
	struct psm_err err = {0};
	const struct keys_public *k = NULL;
	enum sign_result res = fleet_entry_check(f, e, &in, &err);

	FZ_CHECK(res >= SIGN_APPLIED && res < SIGN_NRESULTS);
	if (res != SIGN_APPLIED) {
		FZ_CHECK(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
		return res;
	}
	FZ_CHECK(record_validate(&in.rec, &err) == PSM_OK);
	if (f->trusted.n == 0) {
		FZ_CHECK(in.signer == NULL);
	} else {
		FZ_CHECK(sign_verify(e, &f->trusted, &k) == SIGN_APPLIED && k == in.signer);
		FZ_CHECK(in.rec.type == REC_REVOKE || in.rec.type == REC_SESSION_END ||
			 sign_scope_ok(k, &in.rec, NULL));
	}
	record_free(&in.rec);
	return res;
}

/* The entry as it came: with integrity off, and against the trusted keys. */
static enum sign_result fz_as_is(const struct sign_entry *e)
{
	enum sign_result off = fz_check(&fz_off, e), on = fz_check(&fz_on, e);

	if (e->r != NULL && e->rlen <= FLEET_RECORD_MAX && (e->sig == NULL || e->key == NULL))
		FZ_CHECK(on == SIGN_UNSIGNED);
	if (on == SIGN_APPLIED)
		FZ_CHECK(off == SIGN_APPLIED);
	return off;
}

/* Its r signed again by key k: the signature passes, so the result is the record's own. */
static void fz_signed(const struct sign_entry *e, const struct keys_secret *k, enum sign_result off)
{
	unsigned char sig[SIGN_BYTES];
	struct sign_entry s = *e;
	enum sign_result on;

	sign_record(k, e->r, e->rlen, sig);
	s.sig = sig;
	s.siglen = SIGN_BYTES;
	s.key = k->name;
	s.keylen = strlen(k->name);
	on = fz_check(&fz_on, &s);
	if (on == SIGN_OUT_OF_SCOPE)
		FZ_CHECK(off == SIGN_APPLIED && k == &fz_web);
	else
		FZ_CHECK(on == off);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = malloc(size > 0 ? size : 1); /* an exact copy: no NUL after it */
	unsigned char sigbuf[SIGN_BYTES];
	struct sign_entry e;
	enum sign_result off;

	fz_init();
	if (v == NULL)
		return 0;
	memcpy(v, data, size);
	if (fleet_value_parse(v, size, &e, sigbuf)) {
		fz_check_value(v, size, &e);
	} else { /* a feed entry whose "r" is all of it */
		memset(&e, 0, sizeof(e));
		e.r = (const unsigned char *)v;
		e.rlen = size;
	}
	off = fz_as_is(&e);
	if (e.rlen <= FLEET_RECORD_MAX)
		fz_signed(&e, size % 2 ? &fz_web : &fz_all, off);
	free(v);
	return 0;
}
