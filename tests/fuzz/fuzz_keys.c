/* SPDX-License-Identifier: MIT */
/* fuzz_keys.c - libFuzzer harness: the trusted_keys parser and the signing_key file loader. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "keyfile.h"
#include "keys.h"
#include "sign.h"
#include "fuzz.h"

/* A check of this harness: the message names the function (fuzz.h prints the condition). */
#define FZ_CHECK(cond) FUZZ_CHECK(cond, "in %s", __func__)

static char fz_path[96]; /* the secret key file, there only while one input is loaded */

static void fz_init(void)
{
	struct psm_err err = {0};

	if (fz_path[0] != '\0')
		return;
	snprintf(fz_path, sizeof(fz_path), "/dev/shm/fuzz_keys.%d", (int)getpid());
	FZ_CHECK(keys_init(&err) == PSM_OK);
}

/* A parsed trusted_keys: sorted, unique, every name and scope host-like, each found again, and
 * each key's own line parsing back to it. */
static void fz_check_trusted(const struct keys_trusted *t)
{
	struct psm_err e = {0};
	char line[KEYS_LINE_MAX];
	struct keys_trusted one;

	FZ_CHECK(t->n <= KEYS_MAX);
	for (size_t i = 0; i < t->n; i++) {
		const struct keys_public *k = &t->keys[i];

		FZ_CHECK(i == 0 || strcmp(t->keys[i - 1].name, k->name) < 0);
		FZ_CHECK(record_check_host("name", k->name, &e) == PSM_OK);
		FZ_CHECK(keys_find(t, k->name, strlen(k->name)) == k);
		FZ_CHECK(k->all || (k->nscopes >= 1 && k->nscopes <= KEYS_SCOPES_MAX));
		for (size_t j = 0; j < k->nscopes; j++)
			FZ_CHECK(record_check_host("scope", k->scopes[j], &e) == PSM_OK);
		keys_public_line(k->pk, k->name, line, sizeof(line));
		FZ_CHECK(keys_trusted_parse("again", line, strlen(line), &one, &e) == PSM_OK);
		FZ_CHECK(one.n == 1 && one.keys[0].all && strcmp(one.keys[0].name, k->name) == 0 &&
			 memcmp(one.keys[0].pk, k->pk, KEYS_PUBLIC_BYTES) == 0);
		keys_trusted_free(&one);
	}
}

static void fz_trusted(const char *text, size_t len)
{
	struct keys_trusted t;
	struct psm_err err = {0};
	int rc = keys_trusted_parse("trusted_keys", text, len, &t, &err);

	FZ_CHECK(rc == PSM_OK || rc == PSM_EINVAL);
	if (rc == PSM_OK)
		fz_check_trusted(&t);
	else
		FZ_CHECK(t.n == 0 && t.keys == NULL && strncmp(err.msg, "trusted_keys:", 13) == 0 &&
			 strchr(err.msg, '\n') == NULL);
	keys_trusted_free(&t);
}

/* A loaded secret key signs what its own public half, trusted under its name, verifies. */
static void fz_check_secret(const struct keys_secret *sk)
{
	static const char r[] = "{\"type\":\"revoke\"}";
	struct keys_public pub = {.all = true};
	struct keys_trusted t = {&pub, 1};
	unsigned char sig[SIGN_BYTES];
	struct sign_entry e = {(const unsigned char *)r, strlen(r), sig, sizeof(sig), sk->name,
			       strlen(sk->name)};
	struct psm_err err = {0};

	FZ_CHECK(record_check_host("name", sk->name, &err) == PSM_OK);
	snprintf(pub.name, sizeof(pub.name), "%s", sk->name);
	FZ_CHECK(crypto_sign_ed25519_sk_to_pk(pub.pk, sk->sk) == 0);
	sign_record(sk, r, strlen(r), sig);
	FZ_CHECK(sign_verify(&e, &t, NULL) == SIGN_APPLIED);
}

/* Key bytes never appear in a message: the first 16 characters of the base64 field are not in
 * it (unless the rest of the text holds them too, as a name may). */
static void fz_check_secret_msg(const char *text, size_t len, const char *msg)
{
	size_t pre = strlen(KEYS_SECRET_PREFIX);
	char b64[17];

	if (len < pre + 16 || memcmp(text, KEYS_SECRET_PREFIX, pre) != 0)
		return;
	memcpy(b64, text + pre, 16);
	b64[16] = '\0';
	if (memchr(b64, '\0', 16) == NULL && strchr(b64, ' ') == NULL &&
	    memmem(text + pre + 16, len - pre - 16, b64, 16) == NULL)
		FZ_CHECK(strstr(msg, b64) == NULL);
}

static void fz_secret(const char *text, size_t len)
{
	struct keys_secret *sk = NULL;
	struct psm_err err = {0};
	int fd = open(fz_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc;

	FZ_CHECK(fd >= 0);
	FZ_CHECK(write(fd, text, len) == (ssize_t)len);
	close(fd);
	rc = keys_secret_load(fz_path, &sk, &err);
	unlink(fz_path);
	FZ_CHECK(rc == PSM_OK || rc == PSM_EINVAL);
	if (rc == PSM_OK) {
		FZ_CHECK(len <= KEYFILE_SECRET_MAX);
		fz_check_secret(sk);
	} else {
		FZ_CHECK(sk == NULL && strchr(err.msg, '\n') == NULL);
		fz_check_secret_msg(text, len, err.msg);
	}
	keys_secret_free(sk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size > 0 ? size : 1); /* an exact copy: no NUL after it */

	fz_init();
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	fz_trusted(text, size);
	if (size <= 2 * KEYFILE_SECRET_MAX)
		fz_secret(text, size);
	free(text);
	return 0;
}
