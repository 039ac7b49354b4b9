/* SPDX-License-Identifier: MIT */
/* perm.c - validation and matching of permissions ("sudo:run") and patterns ("login:*"). */
#include "perm.h"

#include <stdint.h>
#include <string.h>

#include "psm_str.h"

/* Characters allowed in a segment: A-Z a-z 0-9 _ . - / @ + (a table: this is on the PAM path).
 * Each entry is 1 or 0: perm_scan adds them. */
#define PERM_ALNUM_ROW(a) [a] = 1, [a + 1] = 1, [a + 2] = 1, [a + 3] = 1, [a + 4] = 1
static const unsigned char perm_chars[256] = {
    PERM_ALNUM_ROW('a'), PERM_ALNUM_ROW('f'), PERM_ALNUM_ROW('k'), PERM_ALNUM_ROW('p'),
    PERM_ALNUM_ROW('u'), ['z'] = 1,	      PERM_ALNUM_ROW('A'), PERM_ALNUM_ROW('F'),
    PERM_ALNUM_ROW('K'), PERM_ALNUM_ROW('P'), PERM_ALNUM_ROW('U'), ['Z'] = 1,
    PERM_ALNUM_ROW('0'), PERM_ALNUM_ROW('5'), ['_'] = 1,	   ['.'] = 1,
    ['-'] = 1,		 ['/'] = 1,	      ['@'] = 1,	   ['+'] = 1,
};

static bool perm_char_ok(unsigned char c)
{
	return perm_chars[c] != 0;
}

/* Quotes s for a message: non-printable bytes as \xNN, cut after 64 bytes with "...". */
static void perm_quote(const char *s, size_t len, char *buf, size_t n)
{
	size_t o = 0, i;

	for (i = 0; i < len && i < 64 && o + 5 < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)psm_fmt(buf + o, n - o, "\\x%02x", c);
	}
	if (i < len && o + 4 < n) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

/* One character for a message: 'x' or '\xNN'. */
static void perm_char_text(unsigned char c, char *buf, size_t n)
{
	if (c >= 0x20 && c < 0x7f && c != '\\')
		psm_fmt(buf, n, "'%c'", c);
	else
		psm_fmt(buf, n, "'\\x%02x'", c);
}

static int perm_fail(const char *what, const char *s, size_t len, struct psm_err *err,
		     const char *why, size_t pos)
{
	char q[300];
	char ch[16];

	perm_quote(s, len, q, sizeof(q));
	if (why != NULL)
		return psm_err_set(err, PSM_EINVAL, "%s \"%s\": %s at %zu", what, q, why, pos);
	perm_char_text((unsigned char)s[pos - 1], ch, sizeof(ch));
	return psm_err_set(err, PSM_EINVAL, "%s \"%s\": bad character %s at %zu", what, q, ch, pos);
}

/* Checks one segment s[0..len) that starts at 0-based offset off in the whole string. */
static int perm_check_segment(const char *what, const char *all, size_t alllen, size_t off,
			      size_t len, bool star_ok, struct psm_err *err)
{
	const char *s = all + off;
	size_t i;

	if (len == 0)
		return perm_fail(what, all, alllen, err, "empty segment", off + 1);
	if (star_ok && len == 1 && s[0] == '*')
		return PSM_OK;
	for (i = 0; i < len; i++) {
		if (perm_char_ok((unsigned char)s[i]))
			continue;
		if (s[i] == '*' && star_ok)
			return perm_fail(what, all, alllen, err, "'*' must be a whole segment",
					 off + i + 1);
		return perm_fail(what, all, alllen, err, NULL, off + i + 1);
	}
	return PSM_OK;
}

static int perm_check(const char *what, const char *s, size_t len, bool star_ok,
		      struct psm_err *err)
{
	size_t start = 0, i;
	int rc;

	if (s == NULL || len == 0)
		return psm_err_set(err, PSM_EINVAL, "%s is empty", what);
	if (len > PERM_MAX)
		return perm_fail(what, s, len, err, "longer than 255 bytes", len);
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != ':')
			continue;
		rc = perm_check_segment(what, s, len, start, i - start, star_ok, err);
		if (rc != PSM_OK)
			return rc;
		start = i + 1;
	}
	return PSM_OK;
}

static bool perm_ok_fast(const char *s, size_t len, bool star_ok);

int perm_validate(const char *s, size_t len, struct psm_err *err)
{
	if (perm_ok_fast(s, len, false))
		return PSM_OK;
	return perm_check("permission", s, len, false, err);
}

int perm_scan(const char *s, size_t *len, size_t *first, struct psm_err *err)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, seg, f = 0;

	/* segment by segment: a run of letters and digits, then ':' or the end */
	for (;;) {
		seg = i;
		/* two at a time: p[i + 1] is read only when p[i] is not the end ('\0' is not one)
		 */
		while (perm_chars[p[i]] != 0 && perm_chars[p[i + 1]] != 0)
			i += 2;
		i += perm_chars[p[i]];
		if (i == seg || p[i] != ':')
			break;
		if (f == 0)
			f = i;
		i++;
	}
	/* invalid, empty, longer than PERM_MAX or ending in ':': perm_check says why */
	if (p[i] != '\0' || i == seg || i > PERM_MAX)
		return perm_check("permission", s, strlen(s), false, err);
	*len = i;
	*first = f != 0 ? f : i;
	return PSM_OK;
}

int pattern_validate(const char *s, size_t len, struct psm_err *err)
{
	return perm_check("pattern", s, len, true, err);
}

size_t perm_first_segment(const char *s, size_t len)
{
	size_t i = 0;

	/* segments are short: a plain loop beats a memchr call here */
	while (i < len && s[i] != ':')
		i++;
	return i;
}

/* Cheap structural check used by matching: valid characters, no empty segment. */
static bool perm_ok_fast(const char *s, size_t len, bool star_ok)
{
	size_t i, seg = 0;

	if (len == 0 || len > PERM_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ':') {
			if (seg == 0)
				return false;
			seg = 0;
			continue;
		}
		if (!perm_char_ok(c) && !(star_ok && c == '*'))
			return false;
		seg++;
	}
	return seg != 0;
}

/*
 * Walks the pattern's segments against the permission's.  A "*" segment
 * consumes one permission segment; a final "*" consumes all that remain (at
 * least one).  '*' inside a longer segment makes the pattern invalid.
 */
bool pattern_match(const char *pat, size_t plen, const char *perm, size_t len)
{
	if (!perm_ok_fast(pat, plen, true) || !perm_ok_fast(perm, len, false))
		return false;
	return pattern_match_valid(pat, plen, perm, len);
}

/*
 * The walk needs no validation of the pattern: with a valid permission, an
 * empty segment, a '*' inside a segment or a byte outside the permission
 * alphabet simply never matches.
 */
bool pattern_match_valid(const char *pat, size_t plen, const char *perm, size_t len)
{
	size_t pi = 0, si = 0;

	if (plen == 0 || len == 0)
		return false;
	/* the common cases: the very permission, or a pattern without '*' (equal or no match) */
	if (plen == len && psm_mem_eq(pat, perm, len))
		return true;
	if (psm_mem_chr(pat, '*', plen) == NULL)
		return false;
	for (;;) {
		size_t pseg = perm_first_segment(pat + pi, plen - pi);
		size_t sseg;
		bool plast = pi + pseg == plen;

		if (si >= len)
			return false;
		sseg = perm_first_segment(perm + si, len - si);
		if (pseg == 1 && pat[pi] == '*') {
			if (plast)
				return true;
		} else if (psm_mem_chr(pat + pi, '*', pseg) != NULL) {
			return false;
		} else if (pseg != sseg || !psm_mem_eq(pat + pi, perm + si, pseg)) {
			return false;
		}
		if (plast)
			return si + sseg == len;
		pi += pseg + 1;
		si += sseg + 1;
	}
}
