/* SPDX-License-Identifier: MIT */
/* psm_str.h - small ASCII string helpers for the PAM decision path (no libc import each). */
#ifndef PSM_STR_H
#define PSM_STR_H

/*
 * pam_psm.so is loaded by libpam with RTLD_NOW: every libc symbol it imports is bound at
 * load, and the string functions are IFUNCs whose resolvers run then too.  These helpers
 * replace the rarely-needed ones on the module's paths (strcasecmp, strncasecmp, strchr,
 * strnlen, strstr, strpbrk, strcspn, strncmp, ctype) or cost more than they do (memcmp, memchr);
 * they are ASCII-only, the same answer as libc in the C locale, and no locale can change them.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline bool psm_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool psm_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool psm_is_alnum(int c)
{
	return psm_is_alpha(c) || psm_is_digit(c);
}

static inline int psm_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* strnlen: the length of s, at most max. */
static inline size_t psm_strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != '\0')
		n++;
	return n;
}

/* strcspn(s, one char): the length of s's first span without c. */
static inline size_t psm_span_until(const char *s, char c)
{
	size_t n = 0;

	while (s[n] != '\0' && s[n] != c)
		n++;
	return n;
}

/* strchr for c != '\0': the first c in s, or NULL. */
static inline const char *psm_strchr(const char *s, char c)
{
	s += psm_span_until(s, c);
	return *s == c ? s : NULL;
}

/* strpbrk(s, set) != NULL. */
static inline bool psm_has_any(const char *s, const char *set)
{
	for (; *s != '\0'; s++)
		if (psm_strchr(set, *s) != NULL)
			return true;
	return false;
}

/* strstr(s, "cc") != NULL: c twice in a row somewhere in s. */
static inline bool psm_has_pair(const char *s, char c)
{
	for (; *s != '\0'; s++)
		if (s[0] == c && s[1] == c)
			return true;
	return false;
}

/* The first n chars of a and b equal (fold: ASCII letters folded), stopping after a NUL. */
static inline bool psm_eq_n(const char *a, const char *b, size_t n, bool fold)
{
	for (size_t i = 0; i < n; i++) {
		int x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (fold ? psm_lower(x) != psm_lower(y) : x != y)
			return false;
		if (x == '\0')
			return true;
	}
	return true;
}

/* strncmp(a, b, n) == 0. */
static inline bool psm_strneq(const char *a, const char *b, size_t n)
{
	return psm_eq_n(a, b, n, false);
}

/* strcmp(a, b) == 0. */
static inline bool psm_streq(const char *a, const char *b)
{
	return psm_eq_n(a, b, (size_t)-1, false);
}

/* strncasecmp(a, b, n) == 0, ASCII letters only folded. */
static inline bool psm_casen_eq(const char *a, const char *b, size_t n)
{
	return psm_eq_n(a, b, n, true);
}

/* strcasecmp(a, b) == 0, ASCII letters only folded. */
static inline bool psm_case_eq(const char *a, const char *b)
{
	return psm_eq_n(a, b, (size_t)-1, true);
}

/* memcmp(a, b, n) == 0, inline, 8 bytes at a time: the decision path compares short keys
 * and permissions, where the call into libc costs more than the compare. */
static inline bool psm_mem_eq(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;
	uint64_t x, y;

	for (; n >= 8; p += 8, q += 8, n -= 8) {
		memcpy(&x, p, 8);
		memcpy(&y, q, 8);
		if (x != y)
			return false;
	}
	for (; n > 0; n--)
		if (*p++ != *q++)
			return false;
	return true;
}

/* memchr(p, c, n): the first byte (unsigned char)c in p[0..n), or NULL. */
static inline const void *psm_mem_chr(const void *p, int c, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		if (s[i] == (unsigned char)c)
			return s + i;
	return NULL;
}

/* Appends s's first max bytes (fewer at a NUL) at buf + *pos and a NUL, cut to fit buf[n] as
 * snprintf's "%.*s" cuts; *pos moves past them.  False when s was cut.  n > 0, *pos < n. */
static inline bool psm_append_n(char *buf, size_t n, size_t *pos, const char *s, size_t max)
{
	size_t room = n - 1 - *pos, i;

	for (i = 0; i < max && i < room && s[i] != '\0'; i++)
		buf[*pos + i] = s[i];
	*pos += i;
	buf[*pos] = '\0';
	return i == max || s[i] == '\0';
}

/* The same for all of s (snprintf's "%s"). */
static inline bool psm_append(char *buf, size_t n, size_t *pos, const char *s)
{
	return psm_append_n(buf, n, pos, s, SIZE_MAX);
}

/* snprintf(dst, cap, "%s", src) without formatting: src cut to cap - 1 bytes (cap > 0); false
 * when it was cut. */
static inline bool psm_copy(char *dst, size_t cap, const char *src)
{
	size_t pos = 0;

	return psm_append(dst, cap, &pos, src);
}

#define PSM_U32_DEC_MAX 11 /* UINT32_MAX's 10 digits and a NUL */

/* v in decimal into buf[PSM_U32_DEC_MAX] with a NUL, as "%u" writes it; its length. */
static inline size_t psm_u32_dec(char *buf, uint32_t v)
{
	char rev[PSM_U32_DEC_MAX];
	size_t n = 0, i;

	do {
		rev[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		buf[i] = rev[n - 1 - i];
	buf[n] = '\0';
	return n;
}

#endif
