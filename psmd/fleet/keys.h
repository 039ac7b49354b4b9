/* SPDX-License-Identifier: MIT */
/* keys.h - fleet signing keys: this host's Ed25519 secret key and the trusted_keys list. */
#ifndef PSMD_KEYS_H
#define PSMD_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "psm_err.h"
#include "record.h"

/*
 * Two files of psmd.conf's "redis" object (psmd.conf(5), FLEET KEYS):
 *
 * signing_key, written by `psmctl keygen FILE [--name NAME]`: one line
 *     ed25519-secret:<base64 of libsodium's 64-byte secret key> NAME
 *   mode 0600 or stricter, owned by root or psmd's euid (keyfile.h).  NAME is
 *   the key's name, sent in every feed entry's "key" field.
 *
 * trusted_keys: one public key a line,
 *     ed25519:<base64 of the 32-byte public key> NAME [hosts=ITEM,...]
 *   ITEM is a host name, a label or "*".  Blank lines are ignored; "#"
 *   starts a comment (a whole line, or after the fields).  A key with
 *   hosts= signs only records whose every host it lists ("*" lists them
 *   all); a key without hosts= signs for every scope.  Names are like host
 *   names (1..63 of A-Z a-z 0-9 . _ -), unique in the file; at most
 *   KEYS_MAX keys and KEYS_SCOPES_MAX items a key.  Errors read
 *   "FILE:LINE:COL: what is wrong", COL the byte column (from 1) of the bad
 *   field, so `psmd -n` prints them as they are and exits 2 (PSM_EINVAL).
 *
 * Key bytes never appear in a message.  Every function here that uses
 * libsodium calls keys_init() first; it is safe to call again.
 */

#define KEYS_PUBLIC_BYTES 32 /* crypto_sign_PUBLICKEYBYTES */
#define KEYS_SECRET_BYTES 64 /* crypto_sign_SECRETKEYBYTES: seed, then the public key */
#define KEYS_NAME_MAX REC_HOST_MAX
#define KEYS_MAX 4096
#define KEYS_SCOPES_MAX REC_LIST_MAX
#define KEYS_PUBLIC_PREFIX "ed25519:"
#define KEYS_SECRET_PREFIX "ed25519-secret:"
/* "ed25519:" + 44 base64 + " " + NAME + NUL */
#define KEYS_LINE_MAX (sizeof(KEYS_PUBLIC_PREFIX) + 44 + 1 + KEYS_NAME_MAX + 1)

/* One key of trusted_keys. */
struct keys_public {
	char name[KEYS_NAME_MAX + 1];
	unsigned char pk[KEYS_PUBLIC_BYTES];
	bool all;			   /* no hosts=, or hosts= lists "*": every scope */
	char (*scopes)[KEYS_NAME_MAX + 1]; /* the hosts= items but "*" */
	size_t nscopes;
	unsigned line, col; /* of its name, for messages */
};

/* The parsed trusted_keys file; keys sorted by name. */
struct keys_trusted {
	struct keys_public *keys;
	size_t n;
};

/* This host's secret key: the struct lives in sodium_malloc'd memory, read-only once
 * loaded, wiped by keys_secret_free. */
struct keys_secret {
	unsigned char sk[KEYS_SECRET_BYTES];
	char name[KEYS_NAME_MAX + 1];
};

/* sodium_init(); PSM_EUNAVAIL when libsodium cannot start. */
int keys_init(struct psm_err *err);

/* Loads and parses trusted_keys at path (a public key file, keyfile.h). */
int keys_trusted_load(const char *path, struct keys_trusted *t, struct psm_err *err);
/* Parses text[0..len) of trusted_keys; file names it in messages.  On error t is empty. */
int keys_trusted_parse(const char *file, const char *text, size_t len, struct keys_trusted *t,
		       struct psm_err *err);
void keys_trusted_free(struct keys_trusted *t);

/* The key named name[0..len) (a feed entry's "key" bytes, not NUL-terminated); NULL when
 * unknown. */
const struct keys_public *keys_find(const struct keys_trusted *t, const char *name, size_t len);

/*
 * True when key may sign for every item of hosts[0..n): a key of every scope
 * (key->all) covers anything; else each item must be one of its hosts= items
 * (an item "*", every host, only by a key of every scope).  With n == 0 (a
 * record whose scope is unknown) only a key of every scope covers it.  A NULL
 * key covers nothing.
 */
bool keys_cover(const struct keys_public *key, const char *const *hosts, size_t n);

/* "ed25519:<base64 of pk> NAME" into buf (at least KEYS_LINE_MAX bytes). */
void keys_public_line(const unsigned char pk[KEYS_PUBLIC_BYTES], const char *name, char *buf,
		      size_t cap);

/* keys_secret.c: loads signing_key at path (a secret key file, keyfile.h); the secret must
 * match its own public half. */
int keys_secret_load(const char *path, struct keys_secret **out, struct psm_err *err);
/* Wipes and frees s (NULL is fine). */
void keys_secret_free(struct keys_secret *s);

/*
 * Makes a new key pair named name, writes the secret key file at path
 * (created mode 0600 with O_EXCL|O_NOFOLLOW: an existing file or symlink is
 * PSM_EEXIST and left as it was) and puts its trusted_keys line into
 * line[0..cap) (KEYS_LINE_MAX).
 */
int keys_generate(const char *path, const char *name, char *line, size_t cap, struct psm_err *err);

#endif
