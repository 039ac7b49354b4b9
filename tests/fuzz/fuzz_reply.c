/* SPDX-License-Identifier: MIT */
/* fuzz_reply.c - libFuzzer harness: pam_psm's parser of psmd's session reply line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pam_session.h"
#include "fuzz.h"

/* A check of this harness: the message names the function (fuzz.h prints the condition). */
#define FZ_CHECK(cond) FUZZ_CHECK(cond, "in %s", __func__)

static const char fz_word_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789_-";

/* s is NUL-terminated within cap and made of [A-Za-z0-9_-] only. */
static void fz_check_word(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	FZ_CHECK(n < cap);
	FZ_CHECK(strspn(s, fz_word_chars) == n);
}

/* What a parsed reply may hold: the module copies these into syslog and the environment. */
static void fz_check_reply(const struct pam_session_reply *r)
{
	size_t i, n;

	fz_check_word(r->session_id, sizeof(r->session_id));
	fz_check_word(r->code, sizeof(r->code));
	FZ_CHECK(r->has_id == (r->session_id[0] != '\0'));
	n = strnlen(r->message, sizeof(r->message));
	FZ_CHECK(n < sizeof(r->message));
	for (i = 0; i < n; i++)
		FZ_CHECK(r->message[i] >= 0x20 && r->message[i] < 0x7f);
	if (r->ok)
		FZ_CHECK(r->code[0] == '\0' && r->message[0] == '\0');
	if (!r->has_expires)
		FZ_CHECK(r->expires == 0);
	if (!r->has_closed)
		FZ_CHECK(!r->closed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact copy, no NUL after it: a read past the line is caught */
	char *line = malloc(size > 0 ? size : 1);
	struct pam_session_reply r;
	struct psm_err err = {0};
	int rc;

	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	rc = pam_session_reply_parse(line, size, &r, &err);
	FZ_CHECK(rc == PSM_OK || rc == PSM_EUNAVAIL);
	if (rc == PSM_OK) {
		FZ_CHECK(memchr(line, '\0', size) == NULL);
		fz_check_reply(&r);
	} else {
		FZ_CHECK(strncmp(err.msg, "malformed reply from psmd: ", 27) == 0);
		FZ_CHECK(strchr(err.msg, '\n') == NULL);
	}
	free(line);
	return 0;
}
