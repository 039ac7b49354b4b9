/* SPDX-License-Identifier: MIT */
/* fleet_keys.c - test tool: loads trusted_keys (and a signing_key), signs and verifies a record. */
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "sign.h"

/*
 * fleet_keys TRUSTED_KEYS                 loads it: "N keys" and a line per key
 *                                         "NAME every-scope" or "NAME hosts=A,B"
 * fleet_keys TRUSTED_KEYS SIGNING_KEY     also loads the secret key, signs a record's bytes
 *                                         with it and verifies them against TRUSTED_KEYS:
 *                                         "signed by NAME: RESULT" (sign_result_name)
 * Exit 0 (and RESULT applied), 1 another RESULT, 2 with the loader's one-line error.
 */

static void print_keys(const struct keys_trusted *t)
{
	size_t i, j;

	printf("%zu keys\n", t->n);
	for (i = 0; i < t->n; i++) {
		printf("%s %s", t->keys[i].name, t->keys[i].all ? "every-scope" : "hosts=");
		for (j = 0; !t->keys[i].all && j < t->keys[i].nscopes; j++)
			printf("%s%s", j ? "," : "", t->keys[i].scopes[j]);
		putchar('\n');
	}
}

static int sign_and_verify(const struct keys_trusted *t, const char *path)
{
	static const char r[] = "{\"type\":\"revoke\",\"grant_id\":\"01JD0000000000000000000000\","
				"\"origin\":\"h1\",\"version\":\"7\",\"keep_until\":null}";
	struct keys_secret *sk = NULL;
	struct psm_err err = {0};
	unsigned char sig[SIGN_BYTES];
	struct sign_entry e = {(const unsigned char *)r, strlen(r), sig, sizeof(sig), NULL, 0};
	enum sign_result res;

	if (keys_secret_load(path, &sk, &err) != PSM_OK) {
		fprintf(stderr, "fleet_keys: %s\n", err.msg);
		return 2;
	}
	sign_record(sk, r, strlen(r), sig);
	e.key = sk->name;
	e.keylen = strlen(sk->name);
	res = sign_verify(&e, t, NULL);
	printf("signed by %s: %s\n", sk->name, sign_result_name(res));
	keys_secret_free(sk);
	return res == SIGN_APPLIED ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct keys_trusted t;
	struct psm_err err = {0};
	int rc = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: fleet_keys TRUSTED_KEYS [SIGNING_KEY]\n");
		return 2;
	}
	if (keys_trusted_load(argv[1], &t, &err) != PSM_OK) {
		fprintf(stderr, "fleet_keys: %s\n", err.msg);
		return 2;
	}
	print_keys(&t);
	if (argc == 3)
		rc = sign_and_verify(&t, argv[2]);
	keys_trusted_free(&t);
	return rc;
}
