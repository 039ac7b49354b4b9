/* SPDX-License-Identifier: MIT */
/* fleet_sign.c - test tool: the Ed25519 signature of a feed entry's r (stdin) by a signing key. */
#include <stdio.h>
#include <stdlib.h>

#include "keys.h"
#include "sign.h"

/*
 * fleet_sign SIGNING_KEY <R >SIG
 * Writes the 64 raw bytes a host with SIGNING_KEY puts in a feed entry's "sig" field for the
 * record bytes R (read whole from stdin, at most 64 MiB), so a test can make entries a real
 * host would accept but psmctl never writes (expired, malformed JSON, oversized).
 * Exit 0, or 2 with a one-line error.
 */

#define FLEET_SIGN_MAX (64u << 20)

/* All of stdin into a new buffer; NULL when over FLEET_SIGN_MAX or out of memory. */
static unsigned char *fleet_sign_read(size_t *len)
{
	unsigned char *buf = malloc(FLEET_SIGN_MAX);
	size_t n = 0, got;

	if (buf == NULL)
		return NULL;
	while ((got = fread(buf + n, 1, FLEET_SIGN_MAX - n, stdin)) > 0)
		n += got;
	if (ferror(stdin) || n == FLEET_SIGN_MAX) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	struct keys_secret *sk = NULL;
	struct psm_err err = {0};
	unsigned char sig[SIGN_BYTES], *r;
	size_t rlen = 0;

	if (argc != 2) {
		fputs("usage: fleet_sign SIGNING_KEY <RECORD >SIGNATURE\n", stderr);
		return 2;
	}
	if (keys_secret_load(argv[1], &sk, &err) != PSM_OK) {
		fprintf(stderr, "fleet_sign: %s\n", err.msg);
		return 2;
	}
	r = fleet_sign_read(&rlen);
	if (r == NULL) {
		fputs("fleet_sign: stdin: unreadable or over 64 MiB\n", stderr);
		keys_secret_free(sk);
		return 2;
	}
	sign_record(sk, r, rlen, sig);
	keys_secret_free(sk);
	free(r);
	return fwrite(sig, 1, sizeof(sig), stdout) == sizeof(sig) && fflush(stdout) == 0 ? 0 : 2;
}
