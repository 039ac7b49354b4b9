/* SPDX-License-Identifier: MIT */
/* json_out.c - a small JSON writer to a growing buffer or a FILE, and the JSON string escaper. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"

#define JSON_OUT_MIN_CAP 256

/* ---- the escaper ------------------------------------------------------------------- */

size_t json_out_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* The JSON escape of byte c (< 0x20, '"' or '\\') into out[7]. */
static size_t json_out_escape_byte(unsigned char c, char *out)
{
	static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
	const char *e = memchr(from, c, sizeof(from) - 1);

	if (e == NULL) {
		snprintf(out, 7, "\\u%04x", c);
		return 6;
	}
	out[0] = '\\';
	out[1] = to[e - from];
	return 2;
}

/* The text for the character at s[0..n): *out (esc or s itself), *k its length, *used
 * the bytes of s it stands for; false when s is not valid UTF-8 there. */
static bool json_out_escape_char(const char *s, size_t n, char *esc, const char **out,
				 size_t *k, size_t *used)
{
	unsigned char c = (unsigned char)s[0];

	if (c < 0x20 || c == '"' || c == '\\') {
		*k = json_out_escape_byte(c, esc);
		*out = esc;
		*used = 1;
		return true;
	}
	*k = *used = json_out_utf8_len((const unsigned char *)s, n);
	*out = s;
	return *k != 0;
}

int json_out_escape(char *buf, size_t cap, size_t *len, const char *s, size_t n,
		    struct psm_err *err)
{
	size_t start = *len, i = 0, k, used;
	const char *out;
	char esc[8];
	int rc = PSM_OK;

	while (i < n) {
		if (!json_out_escape_char(s + i, n - i, esc, &out, &k, &used)) {
			rc = psm_err_set(err, PSM_EINVAL, "not valid UTF-8 at byte %zu", i);
			break;
		}
		if (*len >= cap || k >= cap - *len) {
			rc = psm_err_set(err, PSM_EFULL, "does not fit");
			break;
		}
		memcpy(buf + *len, out, k);
		*len += k;
		i += used;
	}
	if (rc != PSM_OK)
		*len = start;
	if (*len < cap)
		buf[*len] = '\0';
	return rc;
}

/* ---- the buffer -------------------------------------------------------------------- */

static void json_out_fail(struct json_out *w, int code, const char *what)
{
	if (w->code == PSM_OK)
		w->code = psm_err_set(&w->err, code, "%s", what);
}

/* Room for need more bytes, or as many as max allows; false (error set) when out of
 * memory or past max. */
static bool json_out_reserve(struct json_out *w, size_t need)
{
	size_t limit = w->max != 0 ? w->max + 1 : SIZE_MAX, want, ncap;
	char *nbuf;

	if (need > limit - 1 || w->len > limit - 1 - need) {
		json_out_fail(w, PSM_EFULL, "too long");
		return false;
	}
	want = w->len + need + 1;
	if (want <= w->cap)
		return true;
	ncap = w->cap < JSON_OUT_MIN_CAP ? JSON_OUT_MIN_CAP : w->cap;
	while (ncap < want)
		ncap = ncap > limit / 2 ? limit : ncap * 2;
	if (ncap > limit)
		ncap = limit;
	nbuf = realloc(w->buf, ncap);
	if (nbuf == NULL) {
		json_out_fail(w, PSM_ENOMEM, "out of memory");
		return false;
	}
	w->buf = nbuf;
	w->cap = ncap;
	return true;
}

static void json_out_put(struct json_out *w, const char *s, size_t n)
{
	if (w->code != PSM_OK || !json_out_reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* s[0..n) as a quoted, escaped string. */
static void json_out_quoted(struct json_out *w, const char *s, size_t n)
{
	size_t need;
	int rc;

	json_out_put(w, "\"", 1);
	if (w->code != PSM_OK)
		return;
	need = n <= (SIZE_MAX - 1) / 6 ? 6 * n + 1 : SIZE_MAX; /* the closing quote too */
	if (w->max != 0 && need > w->max - w->len)
		need = w->max - w->len; /* every byte escaped is the worst case: try */
	if (!json_out_reserve(w, need))
		return;
	rc = json_out_escape(w->buf, w->cap, &w->len, s, n, &w->err);
	if (rc == PSM_EFULL)
		json_out_fail(w, PSM_EFULL, "too long");
	else if (rc != PSM_OK)
		w->code = rc;
	json_out_put(w, "\"", 1);
}

/* Writes buf to the FILE and empties it. */
static void json_out_flush(struct json_out *w)
{
	if (w->code != PSM_OK || w->fp == NULL || w->len == 0)
		return;
	if (fwrite(w->buf, 1, w->len, w->fp) != w->len || fflush(w->fp) != 0) {
		if (w->code == PSM_OK)
			w->code = psm_err_set(&w->err, PSM_ESYS, "write: %s",
					      strerror(errno));
		return;
	}
	w->len = 0;
	w->buf[0] = '\0';
}

/* ---- the writer -------------------------------------------------------------------- */

void json_out_init(struct json_out *w, FILE *fp, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->fp = fp;
	w->max = max;
}

void json_out_reset(struct json_out *w)
{
	w->len = 0;
	if (w->buf != NULL)
		w->buf[0] = '\0';
	w->depth = 0;
	w->objects = 0;
	w->comma = w->key = false;
	w->code = PSM_OK;
	psm_err_clear(&w->err);
}

void json_out_free(struct json_out *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

static bool json_out_in_object(const struct json_out *w)
{
	return w->depth > 0 && (w->objects >> (w->depth - 1) & 1);
}

/* Before a value: the ',' it needs; false (error set) when it may not come here. */
static bool json_out_before(struct json_out *w)
{
	if (w->code != PSM_OK)
		return false;
	if (json_out_in_object(w) && !w->key) {
		json_out_fail(w, PSM_EINVAL, "a value without a key");
		return false;
	}
	if (w->comma && !w->key)
		json_out_put(w, ",", 1);
	w->key = false;
	return w->code == PSM_OK;
}

/* After a value: a top-level one ends its line (and goes out to the FILE). */
static void json_out_after(struct json_out *w)
{
	w->comma = true;
	if (w->depth > 0)
		return;
	w->comma = false;
	json_out_put(w, "\n", 1);
	json_out_flush(w);
}

static void json_out_begin(struct json_out *w, bool object)
{
	if (!json_out_before(w))
		return;
	if (w->depth == JSON_OUT_DEPTH_MAX) {
		json_out_fail(w, PSM_EINVAL, "nested too deeply");
		return;
	}
	json_out_put(w, object ? "{" : "[", 1);
	if (object)
		w->objects |= UINT64_C(1) << w->depth;
	else
		w->objects &= ~(UINT64_C(1) << w->depth);
	w->depth++;
	w->comma = false;
}

static void json_out_end(struct json_out *w, bool object)
{
	if (w->code != PSM_OK)
		return;
	if (w->depth == 0 || json_out_in_object(w) != object || w->key) {
		json_out_fail(w, PSM_EINVAL, object ? "unbalanced '}'" : "unbalanced ']'");
		return;
	}
	json_out_put(w, object ? "}" : "]", 1);
	w->depth--;
	json_out_after(w);
}

void json_out_begin_object(struct json_out *w)
{
	json_out_begin(w, true);
}

void json_out_end_object(struct json_out *w)
{
	json_out_end(w, true);
}

void json_out_begin_array(struct json_out *w)
{
	json_out_begin(w, false);
}

void json_out_end_array(struct json_out *w)
{
	json_out_end(w, false);
}

void json_out_key(struct json_out *w, const char *key)
{
	if (w->code != PSM_OK)
		return;
	if (!json_out_in_object(w) || w->key) {
		json_out_fail(w, PSM_EINVAL, w->key ? "a key without a value" :
				  "a key outside an object");
		return;
	}
	if (w->comma)
		json_out_put(w, ",", 1);
	json_out_quoted(w, key, strlen(key));
	json_out_put(w, ":", 1);
	w->key = true;
}

/* A value that is literal text: a number, true, false, null. */
static void json_out_literal(struct json_out *w, const char *s)
{
	if (!json_out_before(w))
		return;
	json_out_put(w, s, strlen(s));
	json_out_after(w);
}

void json_out_string_n(struct json_out *w, const char *s, size_t n)
{
	if (!json_out_before(w))
		return;
	json_out_quoted(w, s, n);
	json_out_after(w);
}

void json_out_string(struct json_out *w, const char *s)
{
	json_out_string_n(w, s, strlen(s));
}

void json_out_int64(struct json_out *w, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	json_out_literal(w, num);
}

void json_out_bool(struct json_out *w, bool v)
{
	json_out_literal(w, v ? "true" : "false");
}

void json_out_null(struct json_out *w)
{
	json_out_literal(w, "null");
}

void json_out_kv_string_n(struct json_out *w, const char *key, const char *s, size_t n)
{
	json_out_key(w, key);
	if (w->code != PSM_OK)
		return;
	json_out_string_n(w, s, n);
	if (w->code != PSM_OK)
		psm_err_prefix(&w->err, "%s", key);
}

void json_out_kv_string(struct json_out *w, const char *key, const char *s)
{
	json_out_kv_string_n(w, key, s, strlen(s));
}

void json_out_kv_int64(struct json_out *w, const char *key, int64_t v)
{
	json_out_key(w, key);
	json_out_int64(w, v);
}

void json_out_raw(struct json_out *w, const char *s, size_t n)
{
	json_out_put(w, s, n);
}

int json_out_finish(struct json_out *w, struct psm_err *err)
{
	if (w->depth != 0 || w->key)
		json_out_fail(w, PSM_EINVAL, "an object or array left open");
	json_out_flush(w);
	if (w->code != PSM_OK && err != NULL)
		*err = w->err;
	return w->code;
}
