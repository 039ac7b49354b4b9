/* SPDX-License-Identifier: MIT */
/* keys_secret.c - this host's Ed25519 secret key file: made by psmctl keygen, loaded by psmd. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "keyfile.h"
#include "frame.h"

#define KS_B64_LEN (sodium_base64_ENCODED_LEN(KEYS_SECRET_BYTES, sodium_base64_VARIANT_ORIGINAL))
/* "ed25519-secret:" + base64 + " " + NAME + "\n" + NUL */
#define KS_LINE_MAX (sizeof(KEYS_SECRET_PREFIX) + KS_B64_LEN + KEYS_NAME_MAX + 2)

void keys_secret_free(struct keys_secret *s)
{
	if (s != NULL)
		sodium_free(s); /* wipes the memory first */
}

/* The seed half of sk must give the public half it carries (a damaged file would sign
 * with a key nobody trusts). */
static bool ks_pair_ok(const unsigned char sk[KEYS_SECRET_BYTES])
{
	unsigned char seed[crypto_sign_SEEDBYTES], pk[KEYS_PUBLIC_BYTES];
	unsigned char *sk2 = sodium_malloc(KEYS_SECRET_BYTES);
	bool ok;

	if (sk2 == NULL)
		return false;
	crypto_sign_ed25519_sk_to_seed(seed, sk);
	ok = crypto_sign_seed_keypair(pk, sk2, seed) == 0 &&
	     sodium_memcmp(pk, sk + crypto_sign_SEEDBYTES, KEYS_PUBLIC_BYTES) == 0;
	sodium_memzero(seed, sizeof(seed));
	sodium_free(sk2);
	return ok;
}

/* "ed25519-secret:<base64> NAME[\n]" of text[0..len) into s. */
static int ks_parse(const char *path, const char *text, size_t len, struct keys_secret *s,
		    struct psm_err *err)
{
	size_t pre = strlen(KEYS_SECRET_PREFIX), got = 0, n;
	const char *b64 = text + pre, *end = NULL, *name;
	struct psm_err e = {0};

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len < pre || memcmp(text, KEYS_SECRET_PREFIX, pre) != 0)
		return psm_err_set(err, PSM_EINVAL, "%s:1:1: expected ed25519-secret:<base64> NAME",
				   path);
	if (sodium_base642bin(s->sk, sizeof(s->sk), b64, len - pre, NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != sizeof(s->sk) || end == text + len || *end != ' ')
		return psm_err_set(err, PSM_EINVAL,
				   "%s:1:%zu: secret key: not the base64 of %d "
				   "bytes followed by a name",
				   path, pre + 1, KEYS_SECRET_BYTES);
	name = end + 1;
	n = (size_t)(text + len - name);
	if (n > KEYS_NAME_MAX || memchr(name, '\0', n) != NULL)
		return psm_err_set(err, PSM_EINVAL, "%s:1:%zu: key name: not a host-like name",
				   path, (size_t)(name - text) + 1);
	memcpy(s->name, name, n);
	s->name[n] = '\0';
	if (record_check_host("key name", s->name, &e) != PSM_OK)
		return psm_err_set(err, PSM_EINVAL, "%s:1:%zu: %s", path, (size_t)(name - text) + 1,
				   e.msg);
	if (!ks_pair_ok(s->sk))
		return psm_err_set(err, PSM_EINVAL, "%s: secret key does not match its public half",
				   path);
	return PSM_OK;
}

int keys_secret_load(const char *path, struct keys_secret **out, struct psm_err *err)
{
	struct keys_secret *s;
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = keys_init(err);
	if (rc == PSM_OK)
		rc = keyfile_read(path, KEYFILE_SECRET, &text, &len, err);
	if (rc != PSM_OK)
		return rc;
	s = sodium_malloc(sizeof(*s));
	if (s == NULL)
		rc = psm_err_set(err, PSM_ENOMEM, "%s: out of memory", path);
	else
		rc = ks_parse(path, text, len, s, err);
	keyfile_free(text, KEYFILE_SECRET);
	if (rc != PSM_OK) {
		keys_secret_free(s);
		return rc;
	}
	sodium_mprotect_readonly(s);
	*out = s;
	return PSM_OK;
}

/* Creates path (0600, never over an existing file or through a symlink) holding text. */
static int ks_write_new(const char *path, const char *text, struct psm_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	int rc;

	if (fd < 0 && errno == EEXIST)
		return psm_err_set(err, PSM_EEXIST,
				   "%s: already exists (keygen never overwrites "
				   "a file)",
				   path);
	if (fd < 0)
		return psm_err_set(err, errno == EACCES ? PSM_EPERM : PSM_EINVAL, "%s: %s", path,
				   strerror(errno));
	rc = frame_write_all(fd, text, strlen(text), path, err); /* umask only tightens 0600 */
	if (rc == PSM_OK && fsync(fd) != 0)
		rc = psm_err_set(err, PSM_ESYS, "%s: fsync: %s", path, strerror(errno));
	if (close(fd) != 0 && rc == PSM_OK)
		rc = psm_err_set(err, PSM_ESYS, "%s: close: %s", path, strerror(errno));
	if (rc != PSM_OK)
		unlink(path);
	return rc;
}

/* A new key and the text of its file, all in sodium_malloc'd memory. */
struct ks_new {
	struct keys_secret key;
	unsigned char pk[KEYS_PUBLIC_BYTES];
	char b64[KS_B64_LEN];
	char text[KS_LINE_MAX];
};

int keys_generate(const char *path, const char *name, char *line, size_t cap, struct psm_err *err)
{
	struct ks_new *k;
	int rc = record_check_host("key name", name, err);

	if (rc == PSM_OK)
		rc = keys_init(err);
	if (rc != PSM_OK)
		return rc;
	k = sodium_malloc(sizeof(*k));
	if (k == NULL)
		return psm_err_set(err, PSM_ENOMEM, "%s: out of memory", path);
	crypto_sign_keypair(k->pk, k->key.sk);
	sodium_bin2base64(k->b64, sizeof(k->b64), k->key.sk, sizeof(k->key.sk),
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(k->text, sizeof(k->text), KEYS_SECRET_PREFIX "%s %s\n", k->b64, name);
	rc = ks_write_new(path, k->text, err);
	if (rc == PSM_OK)
		keys_public_line(k->pk, name, line, cap);
	sodium_free(k);
	return rc;
}
