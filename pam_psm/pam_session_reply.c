/* SPDX-License-Identifier: MIT */
/* pam_session_reply.c - psmd's reply to a session request: jsmn's tokens, checked strictly. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "pam_session.h"

/* jsmn (Debian's libjsmn-dev) is a header: JSMN_STATIC makes its two functions this file's
 * own, so nothing of it is exported from the module or clashes with a host's copy. */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

struct reply_scan {
	const char *js;
	size_t len; /* the line without its newline */
	jsmntok_t tok[PAM_SESSION_TOKENS_MAX];
	int last[PAM_SESSION_TOKENS_MAX];  /* a container's (or key's) last child, -1: none */
	int depth[PAM_SESSION_TOKENS_MAX]; /* objects and arrays around a token, its own too */
	int n;
	struct psm_err *err;
};

static int reply_fail(struct reply_scan *s, int at, const char *what)
{
	return psm_err_set(s->err, PSM_EUNAVAIL, "malformed reply from psmd: %s at byte %d", what,
			   at + 1);
}

/* Where a token's text begins and ends, quotes included. */
static int reply_raw_start(const jsmntok_t *t)
{
	return t->start - (t->type == JSMN_STRING);
}

static int reply_raw_end(const jsmntok_t *t)
{
	return t->end + (t->type == JSMN_STRING);
}

static bool reply_is_key(const struct reply_scan *s, int i)
{
	return s->tok[i].parent >= 0 && s->tok[s->tok[i].parent].type == JSMN_OBJECT;
}

/* Where token i ends with what belongs to it (a key: its value). */
static int reply_end(const struct reply_scan *s, int i)
{
	return reply_is_key(s, i) ? reply_raw_end(&s->tok[s->last[i]]) : reply_raw_end(&s->tok[i]);
}

static bool reply_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* js[from..to) is white space around one sep (or no sep when sep is 0). */
static int reply_gap(struct reply_scan *s, int from, int to, char sep)
{
	int p = from;

	while (p < to && reply_is_ws(s->js[p]))
		p++;
	if (sep != 0 && (p >= to || s->js[p++] != sep))
		return reply_fail(s, from, sep == ':' ? "expected ':'" : "expected ','");
	while (p < to && reply_is_ws(s->js[p]))
		p++;
	return p == to ? PSM_OK : reply_fail(s, p, "unexpected character");
}

/* What may stand before token j: after '{' or '[' nothing, after a key ':', else ','. */
static int reply_before(struct reply_scan *s, int j)
{
	int p = s->tok[j].parent, prev = s->last[p];

	if (s->tok[p].type == JSMN_STRING)
		return reply_gap(s, reply_raw_end(&s->tok[p]), reply_raw_start(&s->tok[j]), ':');
	if (prev < 0)
		return reply_gap(s, s->tok[p].start + 1, reply_raw_start(&s->tok[j]), 0);
	return reply_gap(s, reply_end(s, prev), reply_raw_start(&s->tok[j]), ',');
}

/* An object's members are string keys with one value; other tokens hold nothing. */
static int reply_shape(struct reply_scan *s, int j)
{
	const jsmntok_t *t = &s->tok[j];

	if (reply_is_key(s, j) && (t->type != JSMN_STRING || t->size != 1))
		return reply_fail(s, reply_raw_start(t), "expected a key and its value");
	if (!reply_is_key(s, j) && (t->type == JSMN_STRING || t->type == JSMN_PRIMITIVE) &&
	    t->size != 0)
		return reply_fail(s, reply_raw_start(t), "unexpected ':'");
	return PSM_OK;
}

/* ---- strings and primitives --------------------------------------------------------------- */

/* Code point cp (<= 0x10ffff, not a surrogate) as UTF-8 into out[4]; its length. */
static size_t reply_utf8_put(uint32_t cp, char *out)
{
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4, i;
	static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};

	for (i = n - 1; i > 0; i--, cp >>= 6)
		out[i] = (char)(0x80 | (cp & 0x3f));
	out[0] = (char)(lead[n] | cp);
	return n;
}

/* The 4 hex digits at js[*p] (jsmn checked that they are hex digits). */
static uint32_t reply_hex4(const char *js, int *p)
{
	char h[5] = {0};

	memcpy(h, js + *p, 4);
	*p += 4;
	return (uint32_t)strtoul(h, NULL, 16);
}

/* A \u escape (js[*p] after the 'u', before end), a surrogate pair joined: *cp. */
static bool reply_unicode(const char *js, int *p, int end, uint32_t *cp)
{
	uint32_t lo;

	if (end - *p < 4)
		return false;
	*cp = reply_hex4(js, p);
	if (*cp < 0xd800 || *cp > 0xdfff)
		return *cp != 0;
	if (*cp > 0xdbff || end - *p < 6 || js[*p] != '\\' || js[*p + 1] != 'u')
		return false;
	*p += 2;
	lo = reply_hex4(js, p);
	if (lo < 0xdc00 || lo > 0xdfff)
		return false;
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return true;
}

/* The character at js[*p] of a string ending at end, decoded into ch[4]: its length, 0
 * when it is not a character JSON allows (a control character, a bad escape or UTF-8). */
static size_t reply_char(const char *js, int *p, int end, char *ch)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	uint32_t cp;
	size_t n;

	if ((unsigned char)js[*p] < 0x20)
		return 0;
	if (js[*p] != '\\') {
		n = json_out_utf8_len((const unsigned char *)js + *p, (size_t)(end - *p));
		memcpy(ch, js + *p, n);
		*p += (int)n;
		return n;
	}
	e = ++*p < end ? memchr(from, js[*p], sizeof(from) - 1) : NULL;
	if (e != NULL) {
		++*p;
		ch[0] = to[e - from];
		return 1;
	}
	return *p < end && js[(*p)++] == 'u' && reply_unicode(js, p, end, &cp)
		   ? reply_utf8_put(cp, ch)
		   : 0;
}

/* String token i decoded into out[cap] (out NULL: only checked); cut at a character when
 * it does not fit, *cut then set. */
static int reply_string(struct reply_scan *s, int i, char *out, size_t cap, bool *cut)
{
	int p = s->tok[i].start, at;
	size_t len = 0, n;
	char ch[4];

	if (out != NULL)
		out[0] = '\0';
	while (p < s->tok[i].end) {
		at = p;
		n = reply_char(s->js, &p, s->tok[i].end, ch);
		if (n == 0)
			return reply_fail(s, at, "bad character in a string");
		if (out == NULL || *cut)
			continue;
		if (len + n >= cap) {
			*cut = true; /* nothing more is kept */
			continue;
		}
		memcpy(out + len, ch, n);
		out[len += n] = '\0';
	}
	return PSM_OK;
}

static void reply_skip_digits(const char *js, int *p, int end)
{
	while (*p < end && js[*p] >= '0' && js[*p] <= '9')
		++*p;
}

/* A JSON number filling js[p..end) (RFC 8259 §6); *is_int when it has no fraction or
 * exponent. */
static bool reply_is_number(const char *js, int p, int end, bool *is_int)
{
	int q;

	p += p < end && js[p] == '-';
	if (p >= end || js[p] < '0' || js[p] > '9')
		return false;
	q = ++p;
	if (js[q - 1] != '0')
		reply_skip_digits(js, &p, end);
	*is_int = p == end;
	if (p < end && js[p] == '.') {
		q = ++p;
		reply_skip_digits(js, &p, end);
		if (p == q)
			return false;
	}
	if (p < end && (js[p] == 'e' || js[p] == 'E')) {
		p++;
		if (p < end && (js[p] == '+' || js[p] == '-'))
			p++;
		q = p;
		reply_skip_digits(js, &p, end);
		if (p == q)
			return false;
	}
	return p == end;
}

/* Primitive token i: 1 true, 0 false, -1 null, 2 a number; -2 none of them. */
static int reply_primitive(const struct reply_scan *s, int i, bool *is_int)
{
	static const char *const words[] = {"null", "false", "true"};
	const jsmntok_t *t = &s->tok[i];
	size_t n = (size_t)(t->end - t->start), w;

	for (w = 0; w < 3; w++)
		if (n == strlen(words[w]) && memcmp(s->js + t->start, words[w], n) == 0)
			return (int)w - 1;
	return reply_is_number(s->js, t->start, t->end, is_int) ? 2 : -2;
}

/* Every string valid (as scan_string has it), every primitive a literal or number. */
static int reply_scalar(struct reply_scan *s, int i)
{
	bool is_int;

	if (s->tok[i].type == JSMN_STRING)
		return reply_string(s, i, NULL, 0, NULL);
	if (s->tok[i].type == JSMN_PRIMITIVE && reply_primitive(s, i, &is_int) == -2)
		return reply_fail(s, s->tok[i].start, "unexpected value");
	return PSM_OK;
}

/* ---- the tree ----------------------------------------------------------------------------- */

/* Token j (j > 0) in its place: inside the reply, the right separator before it, the right
 * shape, not nested too deeply, and valid text. */
static int reply_token(struct reply_scan *s, int j)
{
	const jsmntok_t *t = &s->tok[j];
	int p = t->parent, rc;

	if (p < 0)
		return reply_fail(s, reply_raw_start(t), "data after the reply");
	s->depth[j] = s->depth[p] + (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY);
	if (s->depth[j] > PAM_SESSION_DEPTH_MAX)
		return reply_fail(s, t->start, "nested too deeply");
	rc = reply_before(s, j);
	if (rc == PSM_OK)
		rc = reply_shape(s, j);
	if (rc == PSM_OK)
		rc = reply_scalar(s, j);
	s->last[p] = j;
	return rc;
}

/* Tokenizes js[0..len) and checks it is one JSON object (RFC 8259).  jsmn stops at a NUL
 * byte: what follows it is then missing, or left over (not white space). */
static int reply_tree(struct reply_scan *s)
{
	jsmn_parser jp;
	int i, rc;

	jsmn_init(&jp);
	s->n = jsmn_parse(&jp, s->js, s->len, s->tok, PAM_SESSION_TOKENS_MAX);
	if (s->n == JSMN_ERROR_NOMEM)
		return reply_fail(s, (int)jp.pos, "too many values");
	if (s->n < 0 || s->n == 0 || s->tok[0].type != JSMN_OBJECT)
		return reply_fail(s, (int)jp.pos,
				  s->n == JSMN_ERROR_PART ? "truncated" : "not a JSON object");
	rc = reply_gap(s, 0, s->tok[0].start, 0);
	s->depth[0] = 1;
	for (i = 0; i < s->n; i++)
		s->last[i] = -1;
	for (i = 1; rc == PSM_OK && i < s->n; i++)
		rc = reply_token(s, i);
	for (i = 0; rc == PSM_OK && i < s->n; i++)
		if (s->tok[i].type == JSMN_OBJECT || s->tok[i].type == JSMN_ARRAY)
			rc = reply_gap(
			    s, s->last[i] < 0 ? s->tok[i].start + 1 : reply_end(s, s->last[i]),
			    s->tok[i].end - 1, 0);
	return rc == PSM_OK ? reply_gap(s, s->tok[0].end, (int)s->len, 0) : rc;
}

/* ---- the reply's members ------------------------------------------------------------------ */

enum {
	SEEN_OK = 1,
	SEEN_ID = 2,
	SEEN_EXPIRES = 4,
	SEEN_CLOSED = 8,
	SEEN_ERROR = 16,
	SEEN_CODE = 32,
	SEEN_MESSAGE = 64
};

/* Key token k is name; its bit is marked seen (a second time: a duplicate). */
static bool reply_key_is(struct reply_scan *s, int k, const char *name, unsigned bit,
			 unsigned *seen, int *rc)
{
	const jsmntok_t *t = &s->tok[k];
	size_t n = strlen(name);

	if ((size_t)(t->end - t->start) != n || memcmp(s->js + t->start, name, n) != 0)
		return false;
	*rc = *seen & bit ? reply_fail(s, t->start, "duplicate key") : PSM_OK;
	*seen |= bit;
	return true;
}

static int reply_bool(struct reply_scan *s, int v, bool *out)
{
	bool is_int;
	int w = s->tok[v].type == JSMN_PRIMITIVE ? reply_primitive(s, v, &is_int) : -2;

	if (w != 0 && w != 1)
		return reply_fail(s, reply_raw_start(&s->tok[v]), "expected true or false");
	*out = w == 1;
	return PSM_OK;
}

/* "expires": an integer in int64_t, or null (0). */
static int reply_expires(struct reply_scan *s, int v, int64_t *out)
{
	const jsmntok_t *t = &s->tok[v];
	char num[24] = "";
	bool is_int = false;
	int w = t->type == JSMN_PRIMITIVE ? reply_primitive(s, v, &is_int) : -2;

	if (w == 2 && is_int && t->end - t->start < (int)sizeof(num))
		memcpy(num, s->js + t->start, (size_t)(t->end - t->start));
	errno = 0;
	*out = w == 2 && num[0] != '\0' ? strtoll(num, NULL, 10) : 0;
	if (w == -1 || (num[0] != '\0' && errno == 0))
		return PSM_OK;
	return reply_fail(s, reply_raw_start(t), "\"expires\" is not an integer or null");
}

/* A string member decoded into out[cap]; too long is an error unless may_cut. */
static int reply_text(struct reply_scan *s, int v, char *out, size_t cap, bool may_cut)
{
	bool cut = false;
	int rc;

	if (s->tok[v].type != JSMN_STRING)
		return reply_fail(s, reply_raw_start(&s->tok[v]), "expected a string");
	rc = reply_string(s, v, out, cap, &cut);
	return rc == PSM_OK && cut && !may_cut ? reply_fail(s, s->tok[v].start, "string too long")
					       : rc;
}

static int reply_error(struct reply_scan *s, int o, struct pam_session_reply *r, unsigned *seen)
{
	int k, rc = PSM_OK;

	if (s->tok[o].type != JSMN_OBJECT)
		return reply_fail(s, reply_raw_start(&s->tok[o]), "\"error\" is not an object");
	for (k = o + 1; rc == PSM_OK && k < s->n && s->tok[k].start < s->tok[o].end; k++) {
		if (s->tok[k].parent != o)
			continue;
		if (reply_key_is(s, k, "code", SEEN_CODE, seen, &rc) && rc == PSM_OK)
			rc = reply_text(s, k + 1, r->code, sizeof(r->code), false);
		else if (reply_key_is(s, k, "message", SEEN_MESSAGE, seen, &rc) && rc == PSM_OK)
			rc = reply_text(s, k + 1, r->message, sizeof(r->message), true);
	}
	return rc;
}

static bool reply_id_ok(const char *id)
{
	size_t n = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && id[n] == '\0';
}

/* One member of the reply, key token k (its value is k + 1). */
static int reply_member(struct reply_scan *s, int k, struct pam_session_reply *r, unsigned *seen)
{
	int rc = PSM_OK;

	if (reply_key_is(s, k, "ok", SEEN_OK, seen, &rc))
		return rc == PSM_OK ? reply_bool(s, k + 1, &r->ok) : rc;
	if (reply_key_is(s, k, "closed", SEEN_CLOSED, seen, &rc) && rc == PSM_OK)
		return r->has_closed = true, reply_bool(s, k + 1, &r->closed);
	if (reply_key_is(s, k, "expires", SEEN_EXPIRES, seen, &rc) && rc == PSM_OK)
		return r->has_expires = true, reply_expires(s, k + 1, &r->expires);
	if (reply_key_is(s, k, "error", SEEN_ERROR, seen, &rc) && rc == PSM_OK)
		return reply_error(s, k + 1, r, seen);
	if (reply_key_is(s, k, "session_id", SEEN_ID, seen, &rc) && rc == PSM_OK) {
		rc = reply_text(s, k + 1, r->session_id, sizeof(r->session_id), false);
		if (rc == PSM_OK && !reply_id_ok(r->session_id))
			rc = reply_fail(s, s->tok[k + 1].start, "bad \"session_id\"");
		r->has_id = rc == PSM_OK;
	}
	return rc;
}

int pam_session_reply_parse(const char *line, size_t len, struct pam_session_reply *r,
			    struct psm_err *err)
{
	struct reply_scan s = {.js = line, .err = err};
	unsigned seen = 0;
	int k, rc;

	memset(r, 0, sizeof(*r));
	s.len = len > 0 && line[len - 1] == '\n' ? len - 1 : len;
	if (s.len > PAM_SESSION_REPLY_MAX)
		return reply_fail(&s, PAM_SESSION_REPLY_MAX, "too long");
	rc = reply_tree(&s);
	for (k = 1; rc == PSM_OK && k < s.n; k++)
		if (s.tok[k].parent == 0)
			rc = reply_member(&s, k, r, &seen);
	if (rc != PSM_OK)
		return rc;
	if (!(seen & SEEN_OK))
		return reply_fail(&s, 0, "no \"ok\"");
	if (!r->ok && !(seen & SEEN_MESSAGE))
		return reply_fail(&s, 0, "an error without \"error\".\"message\"");
	if (r->ok)
		r->code[0] = r->message[0] = '\0';
	return PSM_OK;
}
