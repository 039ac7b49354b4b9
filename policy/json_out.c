/* SPDX-License-Identifier: MIT */
/* json_out.c - psm's one JSON writer (a growing buffer or a FILE) and its string escaper. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "psm_str.h"
#include "ttl.h"

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

/* The JSON escape of byte c (< 0x20, '"' or '\\') into out[6], as cJSON writes it. */
static size_t json_out_escape_byte(unsigned char c, char *out)
{
	static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt", hex[] = "0123456789abcdef";
	const char *e = psm_mem_chr(from, c, sizeof(from) - 1);

	out[0] = '\\';
	if (e != NULL) {
		out[1] = to[e - from];
		return 2;
	}
	memcpy(out + 1, "u00", 3);
	out[4] = hex[c >> 4];
	out[5] = hex[c & 15];
	return 6;
}

/* How many bytes at the start of s[0..n) are copied as they are (the slow path: the
 * strings that need escapes, or UTF-8 checked). */
static size_t json_out_run(const char *s, size_t n, unsigned flags)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char top = flags & JSON_OUT_UTF8 ? 0x7f : 0xff;
	size_t i = 0;

	while (i < n && u[i] >= 0x20 && u[i] <= top && u[i] != '"' && u[i] != '\\')
		i++;
	return i;
}

/* The text for what starts at s[0..n): *out (esc or s itself), *k its length, *used the
 * bytes of s it stands for (a run of plain bytes, one character or one escape); false
 * when s is not valid UTF-8 there. */
static inline bool json_out_escape_next(const char *s, size_t n, unsigned flags, char *esc,
					const char **out, size_t *k, size_t *used)
{
	const unsigned char *u = (const unsigned char *)s;

	*out = s;
	*k = *used = json_out_run(s, n, flags);
	if (*k != 0)
		return true;
	if (u[0] >= 0x80) {
		*k = *used = json_out_utf8_len(u, n);
		return *k != 0;
	}
	*k = json_out_escape_byte(u[0], esc);
	*out = esc;
	*used = 1;
	return true;
}

int json_out_escape_flags(char *buf, size_t cap, size_t *len, const char *s, size_t n,
			  unsigned flags, struct psm_err *err)
{
	size_t start = *len, i = 0, k, used;
	const char *out;
	char esc[8];
	int rc = PSM_OK;

	while (i < n) {
		if (!json_out_escape_next(s + i, n - i, flags, esc, &out, &k, &used)) {
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

int json_out_escape(char *buf, size_t cap, size_t *len, const char *s, size_t n,
		    struct psm_err *err)
{
	return json_out_escape_flags(buf, cap, len, s, n, JSON_OUT_UTF8, err);
}

char *json_out_digits(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

/* The decimal text of v in num[24]: where it starts, *n its length. */
static char *json_out_int_text(int64_t v, char *num, size_t *n)
{
	char *s = json_out_digits(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, num + 24);

	if (v < 0)
		*--s = '-';
	*n = (size_t)(num + 24 - s);
	return s;
}

/* ---- the buffer -------------------------------------------------------------------- */

static void json_out_fail(struct json_out *w, int code, const char *what)
{
	if (w->code == PSM_OK)
		w->code = psm_err_set(&w->err, code, "%s", what);
}

/* The slow path of json_out_room: room for need more bytes and the NUL, or as many as
 * max allows; false (error set) when out of memory or past max. */
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

/* Room for n more bytes and the NUL (cap never passes max + 1, so within max too). */
static inline bool json_out_room(struct json_out *w, size_t n)
{
	return (w->cap > w->len && n < w->cap - w->len) || json_out_reserve(w, n);
}

/* Appends lead (when not '\0') and s[0..n), NUL-terminated. */
static inline void json_out_put(struct json_out *w, char lead, const char *s, size_t n)
{
	if (w->code != PSM_OK || !json_out_room(w, n + (lead != '\0')))
		return;
	if (lead != '\0')
		w->buf[w->len++] = lead;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* lead (when not '\0'), then s[0..n) quoted as it is, then tail (when not '\0'). */
static inline void json_out_quoted_plain(struct json_out *w, char lead, const char *s, size_t n,
					 char tail)
{
	char *d;

	if (!json_out_room(w, n + 2 + (lead != '\0') + (tail != '\0')))
		return;
	d = w->buf + w->len;
	if (lead != '\0')
		*d++ = lead;
	*d++ = '"';
	memcpy(d, s, n);
	d += n;
	*d++ = '"';
	if (tail != '\0')
		*d++ = tail;
	*d = '\0';
	w->len = (size_t)(d - w->buf);
}

/* The same for a string that needs escapes: room first for the text as it is, then for
 * the worst case (every byte escaped). */
static void json_out_quoted_escaped(struct json_out *w, char lead, const char *s, size_t n,
				    char tail)
{
	size_t start = w->len, more = (tail != '\0') + 1, need;
	int rc;

	if (!json_out_room(w, n + (lead != '\0') + 1 + more))
		return;
	if (lead != '\0')
		w->buf[w->len++] = lead;
	w->buf[w->len++] = '"';
	rc = json_out_escape_flags(w->buf, w->cap - more, &w->len, s, n, w->flags, &w->err);
	if (rc == PSM_EFULL) {
		need = n <= (SIZE_MAX - more) / 6 ? 6 * n + more : SIZE_MAX;
		if (w->max != 0 && need > w->max - w->len)
			need = w->max - w->len; /* the worst case may not fit: try */
		if (json_out_reserve(w, need))
			rc = json_out_escape_flags(w->buf, w->cap - more, &w->len, s, n, w->flags,
						   &w->err);
	}
	if (rc != PSM_OK) {
		if (rc == PSM_EFULL)
			json_out_fail(w, PSM_EFULL, "too long");
		else if (w->code == PSM_OK)
			w->code = rc;
		w->len = start;
		w->buf[start] = '\0';
		return;
	}
	w->buf[w->len++] = '"';
	if (tail != '\0')
		w->buf[w->len++] = tail;
	w->buf[w->len] = '\0';
}

/* lead, s[0..n) quoted and escaped, tail; one copy when nothing needs an escape. */
static void json_out_quoted(struct json_out *w, char lead, const char *s, size_t n, char tail)
{
	if (w->code != PSM_OK)
		return;
	if (json_out_plain(s, n, w->flags))
		json_out_quoted_plain(w, lead, s, n, tail);
	else
		json_out_quoted_escaped(w, lead, s, n, tail);
}

/* Writes buf to the FILE and empties it. */
static void json_out_flush(struct json_out *w)
{
	if (w->code != PSM_OK || w->fp == NULL || w->len == 0)
		return;
	if (fwrite(w->buf, 1, w->len, w->fp) != w->len || fflush(w->fp) != 0) {
		w->code = psm_err_set(&w->err, PSM_ESYS, "write: %s", strerror(errno));
		return;
	}
	w->len = 0;
	w->buf[0] = '\0';
}

/* ---- the writer -------------------------------------------------------------------- */

void json_out_init_flags(struct json_out *w, FILE *fp, size_t max, unsigned flags)
{
	w->buf = NULL;
	w->len = w->cap = 0;
	w->max = max;
	w->fp = fp;
	w->flags = flags;
	w->depth = 0;
	memset(w->objects, 0, sizeof(w->objects));
	w->comma = w->key = false;
	w->code = PSM_OK;
	psm_err_clear(&w->err);
}

void json_out_init(struct json_out *w, FILE *fp, size_t max)
{
	json_out_init_flags(w, fp, max, JSON_OUT_UTF8 | JSON_OUT_LINES);
}

void json_out_reset(struct json_out *w)
{
	w->len = 0;
	if (w->buf != NULL)
		w->buf[0] = '\0';
	w->depth = 0;
	w->comma = w->key = false;
	if (w->code != PSM_OK) {
		w->code = PSM_OK;
		psm_err_clear(&w->err);
	}
}

void json_out_free(struct json_out *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

static inline bool json_out_in_object(const struct json_out *w)
{
	unsigned d = (unsigned)w->depth - 1;

	return w->depth > 0 && (w->objects[d / 64] >> (d % 64) & 1);
}

/* Before a value: false (error set) when it may not come here; else *sep is the ','
 * it needs, or '\0'. */
static inline bool json_out_before(struct json_out *w, char *sep)
{
	if (w->code != PSM_OK)
		return false;
	if (!w->key && json_out_in_object(w)) {
		json_out_fail(w, PSM_EINVAL, "a value without a key");
		return false;
	}
	*sep = w->comma && !w->key ? ',' : '\0';
	w->key = false;
	return true;
}

/* After a value: a top-level one ends its line (and goes out to the FILE). */
static inline void json_out_after(struct json_out *w)
{
	w->comma = true;
	if (w->depth > 0)
		return;
	w->comma = false;
	if (w->flags & JSON_OUT_LINES)
		json_out_put(w, '\0', "\n", 1);
	json_out_flush(w);
}

static void json_out_begin(struct json_out *w, bool object)
{
	unsigned d = (unsigned)w->depth;
	uint64_t bit = UINT64_C(1) << (d % 64);
	char sep;

	if (!json_out_before(w, &sep))
		return;
	if (w->depth == JSON_OUT_DEPTH_MAX) {
		json_out_fail(w, PSM_EINVAL, "nested too deeply");
		return;
	}
	json_out_put(w, sep, object ? "{" : "[", 1);
	if (object)
		w->objects[d / 64] |= bit;
	else
		w->objects[d / 64] &= ~bit;
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
	json_out_put(w, '\0', object ? "}" : "]", 1);
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

/* A member's key after its ',' and before its ':'; false (error set) when it may not come
 * here or does not fit. */
static bool json_out_member_key(struct json_out *w, const char *key, size_t k, bool plain)
{
	char lead = w->comma ? ',' : '\0';

	if (w->code != PSM_OK)
		return false;
	if (!json_out_in_object(w) || w->key) {
		json_out_fail(w, PSM_EINVAL,
			      w->key ? "a key without a value" : "a key outside an object");
		return false;
	}
	if (plain)
		json_out_quoted_plain(w, lead, key, k, ':');
	else
		json_out_quoted(w, lead, key, k, ':');
	return w->code == PSM_OK;
}

bool json_out_member_n(struct json_out *w, const char *key, size_t k, bool plain)
{
	return json_out_member_key(w, key, k, plain);
}

void json_out_raw_value(struct json_out *w, const char *s, size_t n)
{
	char sep;

	if (!json_out_before(w, &sep))
		return;
	json_out_put(w, sep, s, n);
	json_out_after(w);
}

void json_out_string_n(struct json_out *w, const char *s, size_t n)
{
	char sep;

	if (!json_out_before(w, &sep))
		return;
	json_out_quoted(w, sep, s, n, '\0');
	json_out_after(w);
}

void json_out_string(struct json_out *w, const char *s)
{
	char sep;

	if (!json_out_before(w, &sep))
		return;
	s = s != NULL ? s : "";
	json_out_quoted(w, sep, s, strlen(s), '\0');
	json_out_after(w);
}

void json_out_uint64(struct json_out *w, uint64_t v)
{
	char num[24], *s = json_out_digits(v, num + sizeof(num));

	json_out_raw_value(w, s, (size_t)(num + sizeof(num) - s));
}

void json_out_int64(struct json_out *w, int64_t v)
{
	char num[24], *s;
	size_t n;

	s = json_out_int_text(v, num, &n);
	json_out_raw_value(w, s, n);
}

void json_out_bool(struct json_out *w, bool v)
{
	json_out_raw_value(w, v ? "true" : "false", v ? 4 : 5);
}

void json_out_null(struct json_out *w)
{
	json_out_raw_value(w, "null", 4);
}

/* The key, then its value straight after it: no ',' to decide. */
void json_out_member_string(struct json_out *w, const char *key, size_t k, bool plain,
			    const char *s, size_t n)
{
	if (!json_out_member_key(w, key, k, plain))
		return;
	json_out_quoted(w, '\0', s, n, '\0');
	if (w->code != PSM_OK)
		psm_err_prefix(&w->err, "%s", key);
	w->comma = true;
}

void json_out_member_int64(struct json_out *w, const char *key, size_t k, bool plain, int64_t v)
{
	char num[24], *s;
	size_t n;

	if (!json_out_member_key(w, key, k, plain))
		return;
	s = json_out_int_text(v, num, &n);
	json_out_put(w, '\0', s, n);
	w->comma = true;
}

void json_out_kv_time(struct json_out *w, const char *key, int64_t t, int64_t none)
{
	char text[32], unix_key[64];

	psm_fmt(unix_key, sizeof(unix_key), "%s_unix", key);
	if (t == none) {
		json_out_key(w, key);
		json_out_null(w);
		json_out_key(w, unix_key);
		json_out_null(w);
		return;
	}
	time_format_utc(t, text, sizeof(text));
	json_out_kv_string(w, key, text);
	json_out_kv_int64(w, unix_key, t);
}

void json_out_kv_list(struct json_out *w, const char *key, const char *s, size_t n)
{
	const char *end = s + n, *comma;

	json_out_key(w, key);
	json_out_begin_array(w);
	while (n > 0 && s <= end) {
		comma = psm_mem_chr(s, ',', (size_t)(end - s));
		if (comma == NULL)
			comma = end;
		json_out_string_n(w, s, (size_t)(comma - s));
		s = comma + 1;
	}
	json_out_end_array(w);
}

void json_out_raw(struct json_out *w, const char *s, size_t n)
{
	json_out_put(w, '\0', s, n);
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
