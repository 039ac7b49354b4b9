/* SPDX-License-Identifier: MIT */
/* pam_session_reply.c - psmd's reply to a session request: jsmn's tokens, the members read. */
#include <stdlib.h>
#include <string.h>

#include "pam_session.h"
#include "psm_str.h"

/* jsmn (Debian's libjsmn-dev) is a header: JSMN_STATIC makes its two functions this file's
 * own, so nothing of it is exported from the module or clashes with a host's copy. */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

/* The members read: the reply's own (ok .. error), then error's (code, message). */
enum reply_key { KEY_OK, KEY_ID, KEY_EXPIRES, KEY_CLOSED, KEY_ERROR, KEY_CODE, KEY_MESSAGE };
static const char *const reply_keys[] = {"ok",	  "session_id", "expires", "closed",
					 "error", "code",	"message"};

struct reply_scan {
	const char *js;
	jsmntok_t tok[PAM_SESSION_TOKENS_MAX];
	int n;
	unsigned seen; /* bit 1 << KEY_*: that member was read */
	int error;     /* the token of "error"'s value, 0: none */
	struct psm_err *err;
};

static int reply_fail(const struct reply_scan *s, int at, const char *what)
{
	return psm_err_set(s->err, PSM_EUNAVAIL, "malformed reply from psmd: %s at byte %d", what,
			   at + 1);
}

/* Token v's raw text (a string's without its quotes) is word. */
static bool reply_is(const struct reply_scan *s, int v, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(s->tok[v].end - s->tok[v].start) == n &&
	       psm_mem_eq(s->js + s->tok[v].start, word, n);
}

/* Token v is a string or primitive (type) that is no key: nothing hangs from it. */
static bool reply_lone(const struct reply_scan *s, int v, jsmntype_t type)
{
	return s->tok[v].type == type && s->tok[v].size == 0;
}

static int reply_bool(const struct reply_scan *s, int v, bool *out)
{
	*out = reply_is(s, v, "true");
	if (reply_lone(s, v, JSMN_PRIMITIVE) && (*out || reply_is(s, v, "false")))
		return PSM_OK;
	return reply_fail(s, s->tok[v].start, "expected true or false");
}

/* [-]digits without a leading zero, within int64_t, exactly p[0..n) (strtoll would be one more
 * libc symbol bound at every load of the module); false otherwise. */
static bool reply_int64(const char *p, size_t n, int64_t *out)
{
	bool neg = n > 0 && p[0] == '-';
	uint64_t v = 0, max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	size_t i = neg;

	if (i == n || (p[i] == '0' && n - i > 1))
		return false;
	for (; i < n; i++) {
		unsigned d = (unsigned)(p[i] - '0');

		if (!psm_is_digit(p[i]) || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* "expires": null (0), or [-]digits without a leading zero, within int64_t. */
static int reply_expires(const struct reply_scan *s, int v, int64_t *out)
{
	const jsmntok_t *t = &s->tok[v];

	if (reply_lone(s, v, JSMN_PRIMITIVE) && reply_is(s, v, "null"))
		return PSM_OK;
	if (reply_lone(s, v, JSMN_PRIMITIVE) &&
	    reply_int64(s->js + t->start, (size_t)(t->end - t->start), out))
		return PSM_OK;
	*out = 0;
	return reply_fail(s, t->start, "\"expires\" is not an integer or null");
}

/* The length of p's first span of [A-Za-z0-9_-], at most n (strspn, without binding it). */
static size_t reply_word_span(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && (psm_is_alnum(p[i]) || p[i] == '_' || p[i] == '-'))
		i++;
	return i;
}

/* session_id, error.code: 1 to cap - 1 of [A-Za-z0-9_-] (no escapes), copied into out. */
static int reply_word(const struct reply_scan *s, int v, char *out, size_t cap)
{
	const jsmntok_t *t = &s->tok[v];
	size_t n = (size_t)(t->end - t->start);

	if (!reply_lone(s, v, JSMN_STRING) || n == 0 || n >= cap ||
	    reply_word_span(s->js + t->start, n) != n)
		return reply_fail(s, t->start, "expected a string of [A-Za-z0-9_-]");
	memcpy(out, s->js + t->start, n);
	out[n] = '\0';
	return PSM_OK;
}

/* error.message for syslog, cut to cap - 1 bytes: \" \\ \/ decoded, any other escape and
 * any character but printable ASCII shown as '?' (a UTF-8 sequence as one). */
static int reply_message(const struct reply_scan *s, int v, char *out, size_t cap)
{
	const jsmntok_t *t = &s->tok[v];
	int p = t->start;
	size_t len = 0;
	unsigned char c;

	if (!reply_lone(s, v, JSMN_STRING))
		return reply_fail(s, p, "\"message\" is not a string");
	while (p < t->end && len + 1 < cap) {
		c = (unsigned char)s->js[p++];
		if (c == '\\' && p < t->end) {
			c = (unsigned char)s->js[p++];
			p += c == 'u' ? 4 : 0; /* its 4 hex digits, checked by jsmn */
			c = psm_mem_chr("\"\\/", c, 3) != NULL ? c : '?';
		}
		if ((c & 0xc0) != 0x80) /* not a UTF-8 continuation byte */
			out[len++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[len] = '\0';
	return PSM_OK;
}

/* The value v of member key. */
static int reply_value(struct reply_scan *s, int key, int v, struct pam_session_reply *r)
{
	switch (key) {
	case KEY_OK:
		return reply_bool(s, v, &r->ok);
	case KEY_ID:
		return reply_word(s, v, r->session_id, sizeof(r->session_id));
	case KEY_EXPIRES:
		return reply_expires(s, v, &r->expires);
	case KEY_CLOSED:
		return reply_bool(s, v, &r->closed);
	case KEY_ERROR:
		s->error = v; /* read once the reply's own members are */
		return PSM_OK;
	case KEY_CODE:
		return reply_word(s, v, r->code, sizeof(r->code));
	default:
		return reply_message(s, v, r->message, sizeof(r->message));
	}
}

/* Object o's members named reply_keys[first..last] are read, each at most once; the others
 * are skipped with all their tokens (only o's own keys have o as their parent). */
static int reply_object(struct reply_scan *s, int o, int first, int last,
			struct pam_session_reply *r)
{
	int k, key, rc = PSM_OK;

	if (s->tok[o].type != JSMN_OBJECT)
		return reply_fail(s, s->tok[o].start, "expected an object");
	for (k = o + 1; rc == PSM_OK && k < s->n; k++) {
		if (s->tok[k].parent != o)
			continue;
		if (s->tok[k].type != JSMN_STRING || s->tok[k].size != 1 || k + 1 >= s->n ||
		    s->tok[k + 1].parent != k)
			return reply_fail(s, s->tok[k].start, "expected a key and its value");
		for (key = first; key <= last && !reply_is(s, k, reply_keys[key]); key++)
			;
		if (key <= last && (s->seen & 1u << key) != 0)
			return reply_fail(s, s->tok[k].start, "duplicate key");
		if (key <= last) {
			s->seen |= 1u << key;
			rc = reply_value(s, key, k + 1, r);
		}
	}
	return rc;
}

/* jsmn's tokens of js[0..len): one object, the whole of it. */
static int reply_tokens(struct reply_scan *s, size_t len)
{
	jsmn_parser jp;

	if (len > PAM_SESSION_REPLY_MAX || psm_mem_chr(s->js, '\0', len) != NULL)
		return reply_fail(s, 0, len > PAM_SESSION_REPLY_MAX ? "too long" : "a NUL byte");
	jsmn_init(&jp);
	s->n = jsmn_parse(&jp, s->js, len, s->tok, PAM_SESSION_TOKENS_MAX);
	if (s->n < 0)
		return reply_fail(s, (int)jp.pos,
				  s->n == JSMN_ERROR_NOMEM ? "too many values"
							   : "not JSON or cut short");
	if (s->n == 0 || s->tok[0].type != JSMN_OBJECT || s->tok[0].start != 0)
		return reply_fail(s, 0, "not a JSON object");
	if (s->tok[0].end != (int)len)
		return reply_fail(s, s->tok[0].end, "data after the reply");
	return PSM_OK;
}

int pam_session_reply_parse(const char *line, size_t len, struct pam_session_reply *r,
			    struct psm_err *err)
{
	struct reply_scan s = {.js = line, .err = err};
	int rc;

	memset(r, 0, sizeof(*r));
	rc = reply_tokens(&s, len > 0 && line[len - 1] == '\n' ? len - 1 : len);
	if (rc == PSM_OK)
		rc = reply_object(&s, 0, KEY_OK, KEY_ERROR, r);
	if (rc == PSM_OK && s.error > 0)
		rc = reply_object(&s, s.error, KEY_CODE, KEY_MESSAGE, r);
	if (rc != PSM_OK)
		return rc;
	if ((s.seen & 1u << KEY_OK) == 0)
		return reply_fail(&s, 0, "no \"ok\"");
	if (!r->ok && (s.seen & 1u << KEY_MESSAGE) == 0)
		return reply_fail(&s, 0, "an error without \"error\".\"message\"");
	if (r->ok)
		r->code[0] = r->message[0] = '\0';
	r->has_id = (s.seen & 1u << KEY_ID) != 0;
	r->has_expires = (s.seen & 1u << KEY_EXPIRES) != 0;
	r->has_closed = (s.seen & 1u << KEY_CLOSED) != 0;
	return PSM_OK;
}
