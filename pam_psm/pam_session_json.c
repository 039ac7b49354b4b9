/* SPDX-License-Identifier: MIT */
/* pam_session_json.c - pam_psm's session requests, and a strict bounded scanner of the replies. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json_out.h"
#include "pam_session.h"

/* ---- UTF-8 ------------------------------------------------------------------------------- */

/* Encodes code point cp (<= 0x10ffff, not a surrogate) as UTF-8 into out[4]. */
static size_t pam_session_utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* ---- writing requests -------------------------------------------------------------------- */

/* Appends n bytes; false (nothing appended) when they and the NUL do not fit. */
static bool pam_session_put(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len >= cap || n >= cap - *len)
		return false;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
	return true;
}

int pam_session_json_string(char *buf, size_t cap, size_t *len, const char *s,
			    struct psm_err *err)
{
	size_t start = *len;
	int rc;

	if (!pam_session_put(buf, cap, len, "\"", 1))
		return psm_err_set(err, PSM_EINVAL, "too long for a request");
	rc = json_out_escape(buf, cap, len, s, strlen(s), err);
	if (rc == PSM_OK && !pam_session_put(buf, cap, len, "\"", 1))
		rc = PSM_EFULL;
	if (rc == PSM_EFULL)
		rc = psm_err_set(err, PSM_EINVAL, "too long for a request");
	if (rc != PSM_OK) {
		*len = start;
		buf[start] = '\0';
	}
	return rc;
}

/* ,"key":"value" (or {"key":... when first); value NULL or "" is left out unless required. */
static int pam_session_put_str(char *buf, size_t cap, size_t *len, const char *key,
			       const char *val, bool required, struct psm_err *err)
{
	char head[40];
	int rc;

	if (val == NULL || val[0] == '\0') {
		if (required)
			return psm_err_set(err, PSM_EINVAL, "%s: missing", key);
		return PSM_OK;
	}
	snprintf(head, sizeof(head), ",\"%s\":", key);
	if (!pam_session_put(buf, cap, len, head, strlen(head)))
		return psm_err_set(err, PSM_EINVAL, "%s: too long for a request", key);
	rc = pam_session_json_string(buf, cap, len, val, err);
	return rc == PSM_OK ? PSM_OK : psm_err_prefix(err, "%s", key);
}

static int pam_session_put_int(char *buf, size_t cap, size_t *len, const char *key,
			       int64_t v, struct psm_err *err)
{
	char field[64];

	snprintf(field, sizeof(field), ",\"%s\":%" PRId64, key, v);
	if (!pam_session_put(buf, cap, len, field, strlen(field)))
		return psm_err_set(err, PSM_EINVAL, "%s: too long for a request", key);
	return PSM_OK;
}

static int pam_session_begin(char *buf, size_t cap, size_t *len, const char *op,
			     struct psm_err *err)
{
	*len = 0;
	if (cap > 0)
		buf[0] = '\0';
	if (!pam_session_put(buf, cap, len, "{\"op\":\"", 7) ||
	    !pam_session_put(buf, cap, len, op, strlen(op)) ||
	    !pam_session_put(buf, cap, len, "\"", 1))
		return psm_err_set(err, PSM_EINVAL, "request: buffer too small");
	return PSM_OK;
}

static int pam_session_end(char *buf, size_t cap, size_t *len, struct psm_err *err)
{
	if (!pam_session_put(buf, cap, len, "}\n", 2))
		return psm_err_set(err, PSM_EINVAL, "request: too long");
	return PSM_OK;
}

int pam_session_req_open(const struct pam_session_open *o, char *buf, size_t cap,
			 size_t *len, struct psm_err *err)
{
	char ttl[32];
	int rc = pam_session_begin(buf, cap, len, "session_open", err);

	if (rc == PSM_OK)
		rc = pam_session_put_str(buf, cap, len, "user", o->user, true, err);
	if (rc == PSM_OK)
		rc = pam_session_put_str(buf, cap, len, "service", o->service, true, err);
	if (rc == PSM_OK)
		rc = pam_session_put_str(buf, cap, len, "tty", o->tty, false, err);
	if (rc == PSM_OK)
		rc = pam_session_put_str(buf, cap, len, "rhost", o->rhost, false, err);
	if (rc == PSM_OK)
		rc = pam_session_put_int(buf, cap, len, "pid", o->pid, err);
	if (rc == PSM_OK && o->audit != PAM_SESSION_AUDIT_NONE)
		rc = pam_session_put_int(buf, cap, len, "audit", o->audit, err);
	if (rc == PSM_OK && o->ttl > 0) {
		snprintf(ttl, sizeof(ttl), "%" PRId64 "s", o->ttl);
		rc = pam_session_put_str(buf, cap, len, "ttl", ttl, true, err);
	}
	return rc == PSM_OK ? pam_session_end(buf, cap, len, err) : rc;
}

int pam_session_req_close(const char *session_id, char *buf, size_t cap, size_t *len,
			  struct psm_err *err)
{
	int rc = pam_session_begin(buf, cap, len, "session_close", err);

	if (rc == PSM_OK)
		rc = pam_session_put_str(buf, cap, len, "session_id", session_id, true, err);
	return rc == PSM_OK ? pam_session_end(buf, cap, len, err) : rc;
}

/* ---- scanning replies -------------------------------------------------------------------- */

struct pam_scan {
	const char *start, *p, *end;
	int depth;
	struct psm_err *err;
};

static int pam_scan_fail(struct pam_scan *sc, const char *what)
{
	return psm_err_set(sc->err, PSM_EUNAVAIL, "malformed reply from psmd: %s at byte %zu",
			   what, (size_t)(sc->p - sc->start));
}

static void pam_scan_ws(struct pam_scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' ||
				   *sc->p == '\r'))
		sc->p++;
}

/* Consumes c (after white space); false when the next byte is something else. */
static bool pam_scan_eat(struct pam_scan *sc, char c)
{
	pam_scan_ws(sc);
	if (sc->p < sc->end && *sc->p == c) {
		sc->p++;
		return true;
	}
	return false;
}

static int pam_scan_hex4(struct pam_scan *sc, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	if (sc->end - sc->p < 4)
		return pam_scan_fail(sc, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		char c = *sc->p++;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return pam_scan_fail(sc, "bad \\u escape");
	}
	*out = v;
	return PSM_OK;
}

/* The code point of a \u escape (sc->p after the 'u'), joining a surrogate pair. */
static int pam_scan_unicode(struct pam_scan *sc, uint32_t *cp)
{
	uint32_t lo;
	int rc = pam_scan_hex4(sc, cp);

	if (rc != PSM_OK || *cp < 0xd800 || *cp > 0xdfff)
		return rc;
	if (*cp > 0xdbff || sc->end - sc->p < 2 || sc->p[0] != '\\' || sc->p[1] != 'u')
		return pam_scan_fail(sc, "unpaired surrogate");
	sc->p += 2;
	rc = pam_scan_hex4(sc, &lo);
	if (rc != PSM_OK)
		return rc;
	if (lo < 0xdc00 || lo > 0xdfff)
		return pam_scan_fail(sc, "unpaired surrogate");
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return PSM_OK;
}

/* One escape (sc->p after the backslash) decoded into out[4]; *n its length. */
static int pam_scan_escape(struct pam_scan *sc, char *out, size_t *n)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	uint32_t cp;
	int rc;

	if (sc->p >= sc->end)
		return pam_scan_fail(sc, "truncated escape");
	e = memchr(from, *sc->p, sizeof(from) - 1);
	if (e != NULL) {
		sc->p++;
		out[0] = to[e - from];
		*n = 1;
		return PSM_OK;
	}
	if (*sc->p++ != 'u')
		return pam_scan_fail(sc, "bad escape");
	rc = pam_scan_unicode(sc, &cp);
	if (rc == PSM_OK && cp == 0)
		return pam_scan_fail(sc, "\\u0000 in a string");
	if (rc == PSM_OK)
		*n = pam_session_utf8_put(cp, out);
	return rc;
}

/* The next character of a string (sc->p inside it) into ch[4]; *n its length. */
static int pam_scan_char(struct pam_scan *sc, char *ch, size_t *n)
{
	const unsigned char *u = (const unsigned char *)sc->p;

	if (*u < 0x20)
		return pam_scan_fail(sc, "control character in a string");
	if (*u == '\\') {
		sc->p++;
		return pam_scan_escape(sc, ch, n);
	}
	*n = json_out_utf8_len(u, (size_t)(sc->end - sc->p));
	if (*n == 0)
		return pam_scan_fail(sc, "invalid UTF-8");
	memcpy(ch, sc->p, *n);
	sc->p += *n;
	return PSM_OK;
}

/*
 * A string (after white space): decoded into out[cap] when out is non-NULL, cut at a
 * character boundary when it does not fit (*cut set, when non-NULL).
 */
static int pam_scan_string(struct pam_scan *sc, char *out, size_t cap, bool *cut)
{
	size_t len = 0, n = 0;
	char ch[4];
	int rc;

	if (!pam_scan_eat(sc, '"'))
		return pam_scan_fail(sc, "expected a string");
	if (out != NULL)
		out[0] = '\0';
	for (;;) {
		if (sc->p >= sc->end)
			return pam_scan_fail(sc, "unterminated string");
		if (*sc->p == '"') {
			sc->p++;
			return PSM_OK;
		}
		rc = pam_scan_char(sc, ch, &n);
		if (rc != PSM_OK)
			return rc;
		if (out == NULL)
			continue;
		if (len + n >= cap) {
			if (cut != NULL)
				*cut = true;
			cap = len + 1; /* nothing more fits: keep scanning only */
			continue;
		}
		memcpy(out + len, ch, n);
		out[len += n] = '\0';
	}
}

static void pam_scan_digits(struct pam_scan *sc)
{
	while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
		sc->p++;
}

/* Adds the digits s[0..n) to *acc; false when the value would pass limit. */
static bool pam_scan_accumulate(const char *s, size_t n, uint64_t limit, uint64_t *acc)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (*acc > (limit - d) / 10)
			return false;
		*acc = *acc * 10 + d;
	}
	return true;
}

/* Digits after '.', 'e' or a sign: at least one. */
static int pam_scan_more_digits(struct pam_scan *sc)
{
	if (sc->p >= sc->end || *sc->p < '0' || *sc->p > '9')
		return pam_scan_fail(sc, "bad number");
	pam_scan_digits(sc);
	return PSM_OK;
}

/* A JSON number (after white space); *is_int and *v when it is an integer in range. */
static int pam_scan_number(struct pam_scan *sc, bool *is_int, int64_t *v)
{
	const char *digits;
	uint64_t acc = 0;
	bool neg;
	int rc = PSM_OK;

	pam_scan_ws(sc);
	neg = sc->p < sc->end && *sc->p == '-';
	sc->p += neg;
	digits = sc->p;
	if (sc->p < sc->end && *sc->p == '0')
		sc->p++;
	else if ((rc = pam_scan_more_digits(sc)) != PSM_OK)
		return rc;
	*is_int = pam_scan_accumulate(digits, (size_t)(sc->p - digits),
				      neg ? UINT64_C(1) << 63 : INT64_MAX, &acc);
	if (sc->p < sc->end && *sc->p == '.') {
		sc->p++;
		*is_int = false;
		rc = pam_scan_more_digits(sc);
	}
	if (rc == PSM_OK && sc->p < sc->end && (*sc->p == 'e' || *sc->p == 'E')) {
		sc->p++;
		*is_int = false;
		if (sc->p < sc->end && (*sc->p == '+' || *sc->p == '-'))
			sc->p++;
		rc = pam_scan_more_digits(sc);
	}
	if (rc == PSM_OK && *is_int)
		*v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return rc;
}

/* true, false or null (after white space); *which 1, 0 or -1. */
static int pam_scan_literal(struct pam_scan *sc, int *which)
{
	static const char *const words[] = { "null", "false", "true" };
	size_t i, n;

	pam_scan_ws(sc);
	for (i = 0; i < 3; i++) {
		n = strlen(words[i]);
		if ((size_t)(sc->end - sc->p) >= n && memcmp(sc->p, words[i], n) == 0) {
			sc->p += n;
			*which = (int)i - 1;
			return PSM_OK;
		}
	}
	return pam_scan_fail(sc, "unexpected value");
}

typedef int (*pam_scan_member_fn)(struct pam_scan *sc, const char *key, bool key_cut,
				  void *ctx);

static int pam_scan_value(struct pam_scan *sc);

static int pam_scan_skip_member(struct pam_scan *sc, const char *key, bool key_cut, void *ctx)
{
	(void)key, (void)key_cut, (void)ctx;
	return pam_scan_value(sc);
}

/* An object (after white space): fn consumes each member's value. */
static int pam_scan_object(struct pam_scan *sc, pam_scan_member_fn fn, void *ctx)
{
	char key[32];
	bool cut;
	int rc;

	if (!pam_scan_eat(sc, '{'))
		return pam_scan_fail(sc, "expected an object");
	if (++sc->depth > PAM_SESSION_DEPTH_MAX)
		return pam_scan_fail(sc, "nested too deeply");
	if (pam_scan_eat(sc, '}')) {
		sc->depth--;
		return PSM_OK;
	}
	do {
		cut = false;
		rc = pam_scan_string(sc, key, sizeof(key), &cut);
		if (rc == PSM_OK && !pam_scan_eat(sc, ':'))
			rc = pam_scan_fail(sc, "expected ':'");
		if (rc == PSM_OK)
			rc = fn(sc, key, cut, ctx);
		if (rc != PSM_OK)
			return rc;
	} while (pam_scan_eat(sc, ','));
	if (!pam_scan_eat(sc, '}'))
		return pam_scan_fail(sc, "expected ',' or '}'");
	sc->depth--;
	return PSM_OK;
}

static int pam_scan_array(struct pam_scan *sc)
{
	int rc;

	if (!pam_scan_eat(sc, '['))
		return pam_scan_fail(sc, "expected an array");
	if (++sc->depth > PAM_SESSION_DEPTH_MAX)
		return pam_scan_fail(sc, "nested too deeply");
	if (pam_scan_eat(sc, ']')) {
		sc->depth--;
		return PSM_OK;
	}
	do {
		rc = pam_scan_value(sc);
		if (rc != PSM_OK)
			return rc;
	} while (pam_scan_eat(sc, ','));
	if (!pam_scan_eat(sc, ']'))
		return pam_scan_fail(sc, "expected ',' or ']'");
	sc->depth--;
	return PSM_OK;
}

/* Any value, checked and skipped. */
static int pam_scan_value(struct pam_scan *sc)
{
	bool is_int;
	int64_t v;
	int which;

	pam_scan_ws(sc);
	if (sc->p >= sc->end)
		return pam_scan_fail(sc, "truncated");
	switch (*sc->p) {
	case '{':
		return pam_scan_object(sc, pam_scan_skip_member, NULL);
	case '[':
		return pam_scan_array(sc);
	case '"':
		return pam_scan_string(sc, NULL, 0, NULL);
	default:
		if (*sc->p == '-' || (*sc->p >= '0' && *sc->p <= '9'))
			return pam_scan_number(sc, &is_int, &v);
		return pam_scan_literal(sc, &which);
	}
}

/* ---- the reply's members ------------------------------------------------------------------ */

enum { SEEN_OK = 1, SEEN_ID = 2, SEEN_EXPIRES = 4, SEEN_CLOSED = 8, SEEN_ERROR = 16,
       SEEN_CODE = 32, SEEN_MESSAGE = 64 };

struct pam_scan_reply {
	struct pam_session_reply *r;
	unsigned seen;
};

/* Marks bit as seen; fails on a duplicate. */
static int pam_scan_once(struct pam_scan *sc, struct pam_scan_reply *x, unsigned bit,
			 const char *key)
{
	char what[64];

	if (x->seen & bit) {
		snprintf(what, sizeof(what), "duplicate \"%s\"", key);
		return pam_scan_fail(sc, what);
	}
	x->seen |= bit;
	return PSM_OK;
}

static int pam_scan_bool(struct pam_scan *sc, const char *key, bool *out)
{
	char what[64];
	int which = -1;
	int rc = PSM_EUNAVAIL;

	pam_scan_ws(sc);
	if (sc->p < sc->end && (*sc->p == 't' || *sc->p == 'f'))
		rc = pam_scan_literal(sc, &which);
	if (rc == PSM_OK && which >= 0) {
		*out = which == 1;
		return PSM_OK;
	}
	snprintf(what, sizeof(what), "\"%s\" is not a boolean", key);
	return pam_scan_fail(sc, what);
}

static int pam_scan_error_member(struct pam_scan *sc, const char *key, bool key_cut,
				 void *ctx)
{
	struct pam_scan_reply *x = ctx;
	struct pam_session_reply *r = x->r;
	bool cut = false;
	int rc;

	if (!key_cut && strcmp(key, "code") == 0) {
		rc = pam_scan_once(sc, x, SEEN_CODE, key);
		if (rc == PSM_OK)
			rc = pam_scan_string(sc, r->code, sizeof(r->code), &cut);
		return rc == PSM_OK && cut ? pam_scan_fail(sc, "error.code too long") : rc;
	}
	if (!key_cut && strcmp(key, "message") == 0) {
		rc = pam_scan_once(sc, x, SEEN_MESSAGE, key);
		return rc == PSM_OK ? pam_scan_string(sc, r->message, sizeof(r->message), NULL)
				    : rc;
	}
	return pam_scan_value(sc);
}

static bool pam_session_id_ok(const char *id)
{
	size_t n = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && id[n] == '\0';
}

static int pam_scan_session_id(struct pam_scan *sc, struct pam_session_reply *r)
{
	bool cut = false;
	int rc = pam_scan_string(sc, r->session_id, sizeof(r->session_id), &cut);

	if (rc == PSM_OK && (cut || !pam_session_id_ok(r->session_id)))
		return pam_scan_fail(sc, "bad \"session_id\"");
	r->has_id = rc == PSM_OK;
	return rc;
}

static int pam_scan_expires(struct pam_scan *sc, struct pam_session_reply *r)
{
	bool good = false, is_int = false;
	int which = 0;

	pam_scan_ws(sc);
	r->expires = 0;
	if (sc->p < sc->end && *sc->p == 'n')
		good = pam_scan_literal(sc, &which) == PSM_OK && which == -1;
	else if (sc->p < sc->end && (*sc->p == '-' || (*sc->p >= '0' && *sc->p <= '9')))
		good = pam_scan_number(sc, &is_int, &r->expires) == PSM_OK && is_int;
	if (!good)
		return pam_scan_fail(sc, "\"expires\" is not an integer or null");
	r->has_expires = true;
	return PSM_OK;
}

static int pam_scan_member(struct pam_scan *sc, const char *key, bool key_cut, void *ctx)
{
	static const struct { const char *key; unsigned bit; } known[] = {
		{ "ok", SEEN_OK }, { "session_id", SEEN_ID }, { "expires", SEEN_EXPIRES },
		{ "closed", SEEN_CLOSED }, { "error", SEEN_ERROR },
	};
	struct pam_scan_reply *x = ctx;
	unsigned bit = 0;
	size_t i;
	int rc;

	for (i = 0; !key_cut && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(key, known[i].key) == 0)
			bit = known[i].bit;
	if (bit == 0)
		return pam_scan_value(sc);
	rc = pam_scan_once(sc, x, bit, key);
	if (rc != PSM_OK)
		return rc;
	switch (bit) {
	case SEEN_OK:
		return pam_scan_bool(sc, key, &x->r->ok);
	case SEEN_ID:
		return pam_scan_session_id(sc, x->r);
	case SEEN_EXPIRES:
		return pam_scan_expires(sc, x->r);
	case SEEN_CLOSED:
		x->r->has_closed = true;
		return pam_scan_bool(sc, key, &x->r->closed);
	default:
		return pam_scan_object(sc, pam_scan_error_member, x);
	}
}

int pam_session_reply_parse(const char *line, size_t len, struct pam_session_reply *r,
			    struct psm_err *err)
{
	struct pam_scan sc = { .start = line, .p = line, .end = line + len, .err = err };
	struct pam_scan_reply x = { .r = r };
	int rc;

	memset(r, 0, sizeof(*r));
	if (len > 0 && line[len - 1] == '\n')
		sc.end--;
	rc = pam_scan_object(&sc, pam_scan_member, &x);
	if (rc != PSM_OK)
		return rc;
	pam_scan_ws(&sc);
	if (sc.p != sc.end)
		return pam_scan_fail(&sc, "data after the reply");
	if (!(x.seen & SEEN_OK))
		return pam_scan_fail(&sc, "no \"ok\"");
	if (!r->ok && !(x.seen & SEEN_MESSAGE))
		return pam_scan_fail(&sc, "an error without \"error\".\"message\"");
	if (r->ok)
		r->code[0] = r->message[0] = '\0';
	return PSM_OK;
}
