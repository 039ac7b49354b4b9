/* SPDX-License-Identifier: MIT */
/* fuzz_strings.c - the small parsers of outside strings, picked by the first byte (mod 5): TTLs,
 * ISO times, 'from' conditions, permissions and patterns, the UTF-8 text check; each with the
 * properties its header promises (corpus: tests/fuzz/corpus/strings). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "fuzz.h"
#include "perm.h"
#include "text.h"
#include "ttl.h"

/* A valid TTL is in 1..TTL_MAX_SECONDS, and its formatted text parses back to it. */
static void fuzz_ttl(const char *s)
{
	struct psm_err err = {0};
	int64_t t, back;
	char buf[64];

	if (ttl_parse(s, &t, &err) != PSM_OK)
		return;
	FUZZ_CHECK(t > 0 && t <= TTL_MAX_SECONDS, "ttl \"%s\" = %lld", s, (long long)t);
	ttl_format(t, buf, sizeof(buf));
	FUZZ_CHECK(ttl_parse(buf, &back, &err) == PSM_OK && back == t, "\"%s\" -> %s -> %s", s, buf,
		   err.msg);
}

/* A valid time formats to text that parses back to it. */
static void fuzz_time(const char *s)
{
	struct psm_err err = {0};
	int64_t t, back;
	char buf[64];

	if (time_parse_utc(s, &t, &err) != PSM_OK)
		return;
	time_format_utc(t, buf, sizeof(buf));
	FUZZ_CHECK(time_parse_utc(buf, &back, &err) == PSM_OK && back == t, "\"%s\" -> %s -> %s", s,
		   buf, err.msg);
}

/* Items (comma-separated) before the first newline, an rhost after it: compiled, matched,
 * formatted, and the formatted list compiles to the same bytes. */
static void fuzz_cond(char *s)
{
	unsigned char enc[COND_ENC_MAX], again[COND_ENC_MAX];
	size_t len = 0, len2 = 0;
	char *rhost = strchr(s, '\n'), *save = NULL, text[4 * COND_ENC_MAX];
	struct cond_req r;
	struct psm_err err = {0};

	if (rhost != NULL)
		*rhost++ = '\0';
	for (char *it = strtok_r(s, ",", &save); it != NULL; it = strtok_r(NULL, ",", &save))
		if (cond_compile(it, enc, sizeof(enc), &len, &err) != PSM_OK)
			return;
	cond_req_init(&r, rhost, "web-01");
	cond_match(enc, len, &r);
	cond_format(enc, len, text, sizeof(text));
	save = NULL;
	for (char *it = strtok_r(text, ",", &save); it != NULL; it = strtok_r(NULL, ",", &save))
		FUZZ_CHECK(cond_compile(it, again, sizeof(again), &len2, &err) == PSM_OK,
			   "formatted item \"%s\": %s", it, err.msg);
	FUZZ_CHECK(len2 == len && memcmp(enc, again, len) == 0, "format/compile differ");
}

/* A pattern before the first newline, a permission after it: the validators and the two
 * matchers agree. */
static void fuzz_perm(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n);
	size_t plen = nl != NULL ? (size_t)(nl - s) : n, len = 0, first = 0;
	const char *perm = nl != NULL ? nl + 1 : s;
	size_t permlen = nl != NULL ? n - plen - 1 : n;
	bool pat_ok = pattern_validate(s, plen, NULL) == PSM_OK;
	bool perm_ok = perm_validate(perm, permlen, NULL) == PSM_OK;

	FUZZ_CHECK(perm_validate(s, plen, NULL) != PSM_OK || pat_ok, "a permission not a pattern");
	if (memchr(perm, '\0', permlen) == NULL) {
		bool scan_ok = perm_scan(perm, &len, &first, NULL) == PSM_OK;

		FUZZ_CHECK(scan_ok == perm_ok, "perm_scan and perm_validate differ");
		FUZZ_CHECK(!scan_ok || (len == permlen && first == perm_first_segment(perm, len)),
			   "perm_scan lengths");
	}
	if (!perm_ok)
		return;
	FUZZ_CHECK(pattern_match_valid(s, plen, perm, permlen) ==
		       (pat_ok && pattern_match(s, plen, perm, permlen)),
		   "the matchers differ");
	FUZZ_CHECK(pattern_match(perm, permlen, perm, permlen),
		   "a permission does not match itself");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	size_t n;

	if (size == 0)
		return 0;
	n = size - 1;
	s = malloc(n + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, n);
	s[n] = '\0';
	switch (data[0] % 5) {
	case 0:
		fuzz_ttl(s);
		break;
	case 1:
		fuzz_time(s);
		break;
	case 2:
		fuzz_cond(s);
		break;
	case 3:
		fuzz_perm(s, n);
		break;
	default:
		text_check("field", s, n, NULL);
		break;
	}
	free(s);
	return 0;
}
