/* SPDX-License-Identifier: MIT */
/* sign.h - the signed envelope of a fleet feed entry: Ed25519 over the record's exact bytes. */
#ifndef PSMD_SIGN_H
#define PSMD_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "keys.h"
#include "record.h"

/*
 * A feed entry (SPEC §11) has the fields
 *   r    the record: its JSON text exactly as record_print()/the journal
 *        wrote it (UTF-8); the signature covers these bytes, nothing else
 *   sig  the 64-byte Ed25519 detached signature of r (raw bytes)
 *   key  the signing key's name (a trusted_keys name)
 * "sig" and "key" are there when the writing host has a signing_key.
 *
 * A reader with trusted_keys checks an entry with sign_verify() BEFORE it
 * parses r; after parsing, sign_scope_ok() says whether the key may sign
 * for the record's hosts.  The other results (replayed, expired, malformed
 * JSON, oversized) are found by the feed code; all of them share this enum,
 * whose names are the result label of psm_fleet_records_total.
 */
#define SIGN_BYTES 64 /* crypto_sign_BYTES */
#define SIGN_FIELD_RECORD "r"
#define SIGN_FIELD_SIG "sig"
#define SIGN_FIELD_KEY "key"

enum sign_result {
	SIGN_APPLIED = 0,  /* "applied": passed (verify: the signature is good) */
	SIGN_OUT_OF_SCOPE, /* the key may not sign for the record's hosts */
	SIGN_UNSIGNED,	   /* no sig or no key field while trusted_keys is set */
	SIGN_FORGED,	   /* the signature does not verify with the named key */
	SIGN_UNTRUSTED,	   /* no trusted key has that name */
	SIGN_REPLAYED,	   /* version not newer than the one held (feed code) */
	SIGN_EXPIRED,	   /* validity over (feed code) */
	SIGN_MALFORMED,	   /* sig not 64 bytes; r not a record (feed code) */
	SIGN_OVERSIZED,	   /* over max_reply (feed code) */
	SIGN_NRESULTS
};

/* The metrics label of r ("applied", "out_of_scope", ...); "unknown" out of range. */
const char *sign_result_name(enum sign_result r);

/* The fields of one entry as read from Redis (not NUL-terminated; NULL: field absent). */
struct sign_entry {
	const unsigned char *r;
	size_t rlen;
	const unsigned char *sig;
	size_t siglen;
	const char *key;
	size_t keylen;
};

/* sig = the signature of r[0..rlen) by sk; the entry's "key" field is sk->name. */
void sign_record(const struct keys_secret *sk, const void *r, size_t rlen,
		 unsigned char sig[SIGN_BYTES]);

/*
 * Checks e against trusted (the parsed trusted_keys; NULL when the host has
 * none: integrity is off, every entry passes, *key = NULL).  In this order:
 * no sig or no key field: SIGN_UNSIGNED; sig not SIGN_BYTES long:
 * SIGN_MALFORMED; key not a trusted name: SIGN_UNTRUSTED; signature wrong:
 * SIGN_FORGED; else SIGN_APPLIED with *key (when key is non-NULL) the signer,
 * for sign_scope_ok().  Reads only the bytes: r is not parsed.
 */
enum sign_result sign_verify(const struct sign_entry *e, const struct keys_trusted *trusted,
			     const struct keys_public **key);

/*
 * The hosts a record speaks for, into hosts[] (room for REC_LIST_MAX):
 * a grant's "hosts" (its origin when it has none); a session's and a
 * session_end's origin; a revoke's: those of the grant it revokes (grant:
 * the held grant of the same id; NULL, or another id: none, 0).  Returns how many.
 */
size_t sign_record_hosts(const struct record *r, const struct record *grant, const char **hosts);

/* True when key (sign_verify's) may sign r: keys_cover(key, sign_record_hosts(...)).
 * A revoke of a grant this host does not hold passes only with a key of every scope. */
bool sign_scope_ok(const struct keys_public *key, const struct record *r,
		   const struct record *grant);

#endif
