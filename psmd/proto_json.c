/* SPDX-License-Identifier: MIT */
/* proto_json.c - compact JSON text straight into a buffer, byte for byte as cJSON prints it. */
#include "proto_json.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void proto_json_init(struct proto_json *w)
{
	memset(w, 0, sizeof(*w));
}

void proto_json_free(struct proto_json *w)
{
	free(w->p);
	proto_json_init(w);
}

void proto_json_reset(struct proto_json *w)
{
	w->len = 0;
	w->comma = false;
	w->oom = false;
	if (w->p != NULL)
		w->p[0] = '\0';
}

char *proto_json_take(struct proto_json *w, size_t *len)
{
	char *p = w->oom ? NULL : w->p;

	if (p == NULL && !w->oom)
		p = calloc(1, 1);
	if (p != NULL && len != NULL)
		*len = w->len;
	if (w->oom)
		free(w->p);
	proto_json_init(w);
	return p;
}

/* The slow path of pj_room: a larger buffer. */
static bool pj_grow(struct proto_json *w, size_t n)
{
	size_t cap = w->cap != 0 ? w->cap : 256;
	char *p;

	if (w->oom)
		return false;
	while (cap <= w->len + n)
		cap *= 2;
	p = realloc(w->p, cap);
	if (p == NULL) {
		w->oom = true;
		return false;
	}
	w->p = p;
	w->cap = cap;
	return true;
}

/* Room for n more bytes and the NUL (never once out of memory: oom keeps cap). */
static inline bool pj_room(struct proto_json *w, size_t n)
{
	return (w->len + n < w->cap && !w->oom) || pj_grow(w, n);
}

/* Appends, when pj_room said there is room; the caller writes the NUL. */
static inline void pj_put(struct proto_json *w, const char *s, size_t n)
{
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

void proto_json_raw(struct proto_json *w, const char *s, size_t n)
{
	if (!pj_room(w, n))
		return;
	pj_put(w, s, n);
	w->p[w->len] = '\0';
}

static void pj_char(struct proto_json *w, char c)
{
	if (!pj_room(w, 1))
		return;
	w->p[w->len++] = c;
	w->p[w->len] = '\0';
}

/* Before a value or a member: the comma when it is not the first. */
static void pj_sep(struct proto_json *w)
{
	if (w->comma)
		pj_char(w, ',');
	w->comma = true;
}

void proto_json_open(struct proto_json *w, char brace)
{
	pj_sep(w);
	pj_char(w, brace);
	w->comma = false;
}

void proto_json_close(struct proto_json *w, char brace)
{
	pj_char(w, brace);
	w->comma = true;
}

/* One escape as cJSON writes it: \" \\ \b \f \n \r \t, else \u00xx. */
static void pj_escape(struct proto_json *w, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e[6] = {'\\', (char)c, 0, 0, 0, 0};
	size_t n = 2;

	/* pairs: a control character, the letter of its short escape */
	const char *named = strchr("\bb\ff\nn\rr\tt", c);

	if (named != NULL && c != '\0') {
		e[1] = named[1];
	} else if (c != '"' && c != '\\') {
		memcpy(e + 1, "u00", 3);
		e[4] = hex[c >> 4];
		e[5] = hex[c & 15];
		n = 6;
	}
	proto_json_raw(w, e, n);
}

/* Bytes of s before the first one that needs an escape (or its end). */
static size_t pj_plain(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p >= 0x20 && *p != '"' && *p != '\\')
		p++;
	return (size_t)(p - (const unsigned char *)s);
}

/* A string that needs escapes, quoted. */
static void pj_quoted_escaped(struct proto_json *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	pj_char(w, '"');
	for (;;) {
		size_t n = pj_plain((const char *)p);

		proto_json_raw(w, (const char *)p, n);
		p += n;
		if (*p == '\0')
			break;
		pj_escape(w, *p++);
	}
	pj_char(w, '"');
}

/*
 * The separator when one is due, then s[0..n) quoted, then ':' after a key:
 * one append.  s needs no escapes (pj_plain said so, or it is a key literal).
 */
static void pj_quoted_plain(struct proto_json *w, const char *s, size_t n, bool key)
{
	char *d;

	if (!pj_room(w, n + 4))
		return;
	d = w->p + w->len;
	if (w->comma)
		*d++ = ',';
	*d++ = '"';
	memcpy(d, s, n);
	d += n;
	*d++ = '"';
	if (key)
		*d++ = ':';
	*d = '\0';
	w->len = (size_t)(d - w->p);
	w->comma = !key;
}

/* A string value, or a key that came from outside (a cJSON member's name). */
static void pj_quoted(struct proto_json *w, const char *s, bool key)
{
	size_t n;

	s = s != NULL ? s : "";
	n = pj_plain(s);
	if (s[n] == '\0') {
		pj_quoted_plain(w, s, n, key);
		return;
	}
	pj_sep(w);
	pj_quoted_escaped(w, s);
	if (key) {
		pj_char(w, ':');
		w->comma = false;
	}
}

void proto_json_key(struct proto_json *w, const char *key)
{
	pj_quoted_plain(w, key, strlen(key), true);
}

void proto_json_str(struct proto_json *w, const char *s)
{
	pj_quoted(w, s, false);
}

/* Decimal digits of v, written backwards into the end of buf; returns where they start. */
static char *pj_digits(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

void proto_json_uint(struct proto_json *w, uint64_t v)
{
	char buf[24], *s = pj_digits(v, buf + sizeof(buf));

	pj_sep(w);
	proto_json_raw(w, s, (size_t)(buf + sizeof(buf) - s));
}

void proto_json_uint_str(struct proto_json *w, uint64_t v)
{
	char buf[24], *s = pj_digits(v, buf + sizeof(buf));

	pj_quoted_plain(w, s, (size_t)(buf + sizeof(buf) - s), false);
}

void proto_json_int(struct proto_json *w, int64_t v)
{
	char buf[24], *s = pj_digits(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, buf + sizeof(buf));

	if (v < 0)
		*--s = '-';
	pj_sep(w);
	proto_json_raw(w, s, (size_t)(buf + sizeof(buf) - s));
}

void proto_json_bool(struct proto_json *w, bool v)
{
	pj_sep(w);
	proto_json_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void proto_json_null(struct proto_json *w)
{
	pj_sep(w);
	proto_json_raw(w, "null", 4);
}

/* A double as cJSON 1.7.15 prints it: integers below 1e15 are exact in "%1.15g". */
static void pj_double(struct proto_json *w, double d)
{
	char buf[32];
	double back, max;
	int n;

	if (!isfinite(d)) {
		proto_json_null(w);
		return;
	}
	if (fabs(d) < 1e15 && d == (double)(int64_t)d && !(d == 0 && signbit(d))) {
		proto_json_int(w, (int64_t)d);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%1.15g", d);
	back = strtod(buf, NULL);
	max = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
	if (fabs(back - d) > max * DBL_EPSILON) /* cJSON's compare_double */
		n = snprintf(buf, sizeof(buf), "%1.17g", d);
	pj_sep(w);
	proto_json_raw(w, buf, n > 0 ? (size_t)n : 0);
}

void proto_json_member(struct proto_json *w, const cJSON *member)
{
	pj_quoted(w, member->string, true);
	proto_json_item(w, member);
}

void proto_json_item(struct proto_json *w, const cJSON *item)
{
	const cJSON *c;

	if (cJSON_IsObject(item)) {
		proto_json_open(w, '{');
		for (c = item->child; c != NULL; c = c->next)
			proto_json_member(w, c);
		proto_json_close(w, '}');
	} else if (cJSON_IsArray(item)) {
		proto_json_open(w, '[');
		for (c = item->child; c != NULL; c = c->next)
			proto_json_item(w, c);
		proto_json_close(w, ']');
	} else if (cJSON_IsString(item)) {
		proto_json_str(w, item->valuestring);
	} else if (cJSON_IsNumber(item)) {
		pj_double(w, item->valuedouble);
	} else if (cJSON_IsBool(item)) {
		proto_json_bool(w, cJSON_IsTrue(item));
	} else if (cJSON_IsRaw(item) && item->valuestring != NULL) {
		pj_sep(w);
		proto_json_raw(w, item->valuestring, strlen(item->valuestring));
	} else {
		proto_json_null(w);
	}
}

void proto_json_kstr(struct proto_json *w, const char *key, const char *s)
{
	proto_json_key(w, key);
	proto_json_str(w, s);
}

void proto_json_kint(struct proto_json *w, const char *key, int64_t v)
{
	proto_json_key(w, key);
	proto_json_int(w, v);
}

void proto_json_kint_or_null(struct proto_json *w, const char *key, int64_t v, int64_t none)
{
	proto_json_key(w, key);
	if (v == none)
		proto_json_null(w);
	else
		proto_json_int(w, v);
}
