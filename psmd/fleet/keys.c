/* SPDX-License-Identifier: MIT */
/* keys.c - the trusted_keys file: Ed25519 public keys, their names and host scopes. */
#include "keys.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keyfile.h"

/* Where the parser is: for "FILE:LINE:COL: what". */
struct kt_parser {
	const char *file;
	unsigned line;
	const char *bol; /* beginning of the line */
	const char *eol;
	const char *p; /* next byte to scan */
	struct keys_trusted *t;
	size_t cap;
	struct psm_err *err;
};

int keys_init(struct psm_err *err)
{
	if (sodium_init() < 0)
		return psm_err_set(err, PSM_EUNAVAIL, "libsodium: initialisation failed");
	return PSM_OK;
}

__attribute__((format(printf, 3, 4))) static int kt_fail(const struct kt_parser *p, const char *at,
							 const char *fmt, ...)
{
	char what[PSM_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return psm_err_set(p->err, PSM_EINVAL, "%s:%u:%zu: %s", p->file, p->line,
			   (size_t)(at - p->bol) + 1, what);
}

static bool kt_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next field of the line (NULL at its end or at a "#" comment); *n its length. */
static const char *kt_next(struct kt_parser *p, size_t *n)
{
	const char *s;

	while (p->p < p->eol && kt_blank(*p->p))
		p->p++;
	if (p->p == p->eol || *p->p == '#')
		return NULL;
	s = p->p;
	while (p->p < p->eol && !kt_blank(*p->p))
		p->p++;
	*n = (size_t)(p->p - s);
	return s;
}

/* "ed25519:<base64 of 32 bytes>" */
static int kt_pubkey(struct kt_parser *p, const char *s, size_t n, struct keys_public *k)
{
	size_t pre = strlen(KEYS_PUBLIC_PREFIX), got = 0;
	const char *end = NULL;

	if (n < pre || memcmp(s, KEYS_PUBLIC_PREFIX, pre) != 0)
		return kt_fail(p, s, "expected ed25519:<base64 public key>");
	if (sodium_base642bin(k->pk, sizeof(k->pk), s + pre, n - pre, NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + n || got != sizeof(k->pk))
		return kt_fail(p, s + pre, "public key: not the base64 of %d bytes",
			       KEYS_PUBLIC_BYTES);
	return PSM_OK;
}

/* A name or hosts= item s[0..n) into out (KEYS_NAME_MAX + 1 bytes), checked like a host. */
static int kt_host(struct kt_parser *p, const char *s, size_t n, const char *what, char *out)
{
	struct psm_err e = {0};

	if (n > KEYS_NAME_MAX)
		return kt_fail(p, s, "%s: longer than %d bytes", what, KEYS_NAME_MAX);
	memcpy(out, s, n);
	out[n] = '\0';
	if (record_check_host(what, out, &e) != PSM_OK)
		return kt_fail(p, s, "%s", e.msg);
	return PSM_OK;
}

/* One hosts= item at s[0..n). */
static int kt_scope(struct kt_parser *p, const char *s, size_t n, struct keys_public *k)
{
	if (n == 1 && s[0] == '*') {
		k->all = true;
		return PSM_OK;
	}
	if (n == 0)
		return kt_fail(p, s, "hosts: empty item");
	return kt_host(p, s, n, "hosts item", k->scopes[k->nscopes++]);
}

/* "hosts=ITEM,..." */
static int kt_scopes(struct kt_parser *p, const char *s, size_t n, struct keys_public *k)
{
	const char *end = s + n, *item = s + 6, *comma;
	int rc = PSM_OK;

	if (n < 6 || memcmp(s, "hosts=", 6) != 0)
		return kt_fail(p, s, "expected hosts=NAME|LABEL|*,... after the key name");
	if (item == end)
		return kt_fail(p, item, "hosts: empty list");
	k->scopes = calloc(KEYS_SCOPES_MAX, sizeof(*k->scopes));
	if (k->scopes == NULL)
		return psm_err_set(p->err, PSM_ENOMEM, "%s: out of memory", p->file);
	for (size_t i = 0; rc == PSM_OK && item <= end; i++, item = comma + 1) {
		comma = memchr(item, ',', (size_t)(end - item));
		if (comma == NULL)
			comma = end;
		if (i == KEYS_SCOPES_MAX)
			return kt_fail(p, item, "hosts: more than %d items", KEYS_SCOPES_MAX);
		rc = kt_scope(p, item, (size_t)(comma - item), k);
	}
	return rc;
}

static int kt_append(struct kt_parser *p, struct keys_public *k)
{
	struct keys_public *v;

	if (p->t->n == p->cap) {
		p->cap = p->cap == 0 ? 16 : p->cap * 2;
		v = realloc(p->t->keys, p->cap * sizeof(*v));
		if (v == NULL)
			return psm_err_set(p->err, PSM_ENOMEM, "%s: out of memory", p->file);
		p->t->keys = v;
	}
	p->t->keys[p->t->n++] = *k;
	return PSM_OK;
}

/* The fields after the key: NAME [hosts=...], then nothing but a comment. */
static int kt_rest(struct kt_parser *p, struct keys_public *k)
{
	const char *s;
	size_t n = 0;
	int rc;

	s = kt_next(p, &n);
	if (s == NULL)
		return kt_fail(p, p->p, "missing key name after the key");
	k->col = (unsigned)(s - p->bol) + 1;
	rc = kt_host(p, s, n, "key name", k->name);
	if (rc != PSM_OK)
		return rc;
	s = kt_next(p, &n);
	if (s == NULL) {
		k->all = true;
		return PSM_OK;
	}
	rc = kt_scopes(p, s, n, k);
	if (rc == PSM_OK && (s = kt_next(p, &n)) != NULL)
		rc = kt_fail(p, s, "unexpected text after hosts= (a comment begins with #)");
	return rc;
}

/* One line, p->bol..p->eol. */
static int kt_line(struct kt_parser *p)
{
	struct keys_public k = {0};
	const char *s, *nul = memchr(p->bol, '\0', (size_t)(p->eol - p->bol));
	size_t n = 0;
	int rc;

	if (nul != NULL)
		return kt_fail(p, nul, "NUL byte");
	p->p = p->bol;
	s = kt_next(p, &n);
	if (s == NULL)
		return PSM_OK;
	if (p->t->n == KEYS_MAX)
		return kt_fail(p, s, "more than %d keys", KEYS_MAX);
	k.line = p->line;
	rc = kt_pubkey(p, s, n, &k);
	if (rc == PSM_OK)
		rc = kt_rest(p, &k);
	if (rc == PSM_OK)
		rc = kt_append(p, &k);
	if (rc != PSM_OK)
		free(k.scopes);
	return rc;
}

static int kt_cmp(const void *a, const void *b)
{
	const struct keys_public *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* Sorts the keys by name; a name used twice is an error at its second use. */
static int kt_sort(struct kt_parser *p)
{
	const struct keys_public *v = p->t->keys, *dup = NULL;
	size_t i;

	if (p->t->n > 1)
		qsort(p->t->keys, p->t->n, sizeof(*v), kt_cmp);
	for (i = 1; i < p->t->n; i++)
		if (strcmp(v[i - 1].name, v[i].name) == 0 && (dup == NULL || v[i].line < dup->line))
			dup = &v[i];
	if (dup == NULL)
		return PSM_OK;
	return psm_err_set(p->err, PSM_EINVAL,
			   "%s:%u:%u: duplicate key name \"%s\" (first on line %u)", p->file,
			   dup->line, dup->col, dup->name, (dup - 1)->line);
}

int keys_trusted_parse(const char *file, const char *text, size_t len, struct keys_trusted *t,
		       struct psm_err *err)
{
	struct kt_parser p = {.file = file, .bol = text, .t = t, .err = err};
	const char *end = text + len;
	int rc = keys_init(err);

	memset(t, 0, sizeof(*t));
	while (rc == PSM_OK && p.bol < end) {
		p.line++;
		p.eol = memchr(p.bol, '\n', (size_t)(end - p.bol));
		if (p.eol == NULL)
			p.eol = end;
		rc = kt_line(&p);
		p.bol = p.eol + 1;
	}
	if (rc == PSM_OK)
		rc = kt_sort(&p);
	if (rc != PSM_OK)
		keys_trusted_free(t);
	return rc;
}

int keys_trusted_load(const char *path, struct keys_trusted *t, struct psm_err *err)
{
	char *text;
	size_t len;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = keyfile_read(path, KEYFILE_PUBLIC, &text, &len, err);
	if (rc != PSM_OK)
		return rc;
	rc = keys_trusted_parse(path, text, len, t, err);
	keyfile_free(text, KEYFILE_PUBLIC);
	return rc;
}

void keys_trusted_free(struct keys_trusted *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		free(t->keys[i].scopes);
	free(t->keys);
	memset(t, 0, sizeof(*t));
}

/* A name from outside: bytes, not NUL-terminated. */
struct kt_name {
	const char *s;
	size_t len;
};

/* bsearch order of a name against a key: strcmp's, as kt_cmp sorted them. */
static int kt_name_cmp(const void *name, const void *key)
{
	const struct kt_name *n = name;
	const char *k = ((const struct keys_public *)key)->name;
	int c = strncmp(n->s, k, n->len);

	return c != 0 ? c : (k[n->len] == '\0' ? 0 : -1);
}

const struct keys_public *keys_find(const struct keys_trusted *t, const char *name, size_t len)
{
	struct kt_name n = {name, len};

	if (t == NULL || t->n == 0 || name == NULL || len == 0 || len > KEYS_NAME_MAX ||
	    memchr(name, '\0', len) != NULL)
		return NULL;
	return bsearch(&n, t->keys, t->n, sizeof(*t->keys), kt_name_cmp);
}

static bool keys_lists(const struct keys_public *key, const char *host)
{
	size_t i;

	for (i = 0; i < key->nscopes; i++)
		if (strcmp(key->scopes[i], host) == 0)
			return true;
	return false;
}

bool keys_cover(const struct keys_public *key, const char *const *hosts, size_t n)
{
	size_t i;

	if (key == NULL)
		return false;
	if (key->all)
		return true;
	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (hosts[i] == NULL || !keys_lists(key, hosts[i]))
			return false;
	return true;
}

void keys_public_line(const unsigned char pk[KEYS_PUBLIC_BYTES], const char *name, char *buf,
		      size_t cap)
{
	char b64[sodium_base64_ENCODED_LEN(KEYS_PUBLIC_BYTES, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), pk, KEYS_PUBLIC_BYTES, sodium_base64_VARIANT_ORIGINAL);
	snprintf(buf, cap, KEYS_PUBLIC_PREFIX "%s %s", b64, name);
}
