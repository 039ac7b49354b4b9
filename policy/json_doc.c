/* SPDX-License-Identifier: MIT */
/* json_doc.c - JSON with comments via cJSON, with FILE:LINE:COL for every node and duplicate-key
 * checks. */
#include "json_doc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text.h"

#define JSON_DOC_MAX (4u << 20)
#define JSON_DOC_DEPTH (CJSON_NESTING_LIMIT + 8)

/* 1-based line and column of byte offset off in text. */
static void json_doc_linecol(const char *text, size_t off, uint32_t *line, uint32_t *col)
{
	size_t i, ls = 0;
	uint32_t l = 1;

	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			ls = i + 1;
		}
	}
	*line = l;
	*col = (uint32_t)(off - ls + 1);
}

static int json_doc_fail_at(const char *file, const char *text, size_t off, struct psm_err *err,
			    const char *what)
{
	uint32_t l, c;

	json_doc_linecol(text, off, &l, &c);
	return psm_err_set(err, PSM_EINVAL, "%s:%u:%u: %s", file, l, c, what);
}

/* Index just past the string that starts with '"' at i (len if unterminated). */
static size_t json_doc_skip_string(const char *t, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (t[i] == '\\')
			i++;
		else if (t[i] == '"')
			return i + 1;
	}
	return len;
}

/* Blanks one comment starting at i; returns the index after it, or len + 1 if unterminated. */
static size_t json_doc_blank_comment(char *t, size_t len, size_t i)
{
	size_t j;

	if (t[i + 1] == '/') {
		for (j = i; j < len && t[j] != '\n'; j++)
			t[j] = ' ';
		return j;
	}
	for (j = i + 2; j + 1 < len; j++) {
		if (t[j] == '*' && t[j + 1] == '/')
			break;
	}
	if (j + 1 >= len)
		return len + 1;
	for (; i < j + 2; i++)
		if (t[i] != '\n')
			t[i] = ' ';
	return j + 2;
}

/* A string may not hold \u0000: cJSON would cut it there ("root\u0000x" read as "root"). */
static bool json_doc_string_nul(const char *t, size_t len, size_t i, size_t *at)
{
	size_t end = json_doc_skip_string(t, len, i), j;

	for (j = i + 1; j + 5 < end; j++) {
		if (t[j] != '\\')
			continue;
		if (t[j + 1] == 'u' && memcmp(t + j + 2, "0000", 4) == 0) {
			*at = j;
			return true;
		}
		j++;
	}
	return false;
}

/* Replaces comments outside strings with spaces (newlines kept, so offsets stay valid). */
static int json_doc_strip(const char *file, char *t, size_t len, struct psm_err *err)
{
	const char *nul = memchr(t, '\0', len);
	size_t i = 0, next;

	if (nul != NULL)
		return json_doc_fail_at(file, t, (size_t)(nul - t), err, "NUL byte in file");
	if (len >= 3 && memcmp(t, "\xef\xbb\xbf", 3) == 0)
		memset(t, ' ', 3); /* UTF-8 byte order mark */
	while (i < len) {
		if (t[i] == '"') {
			if (json_doc_string_nul(t, len, i, &next))
				return json_doc_fail_at(file, t, next, err,
							"\\u0000 is not allowed in strings");
			i = json_doc_skip_string(t, len, i);
			continue;
		}
		if (t[i] != '/' || i + 1 >= len || (t[i + 1] != '/' && t[i + 1] != '*')) {
			i++;
			continue;
		}
		next = json_doc_blank_comment(t, len, i);
		if (next > len)
			return json_doc_fail_at(file, t, i, err, "unterminated comment");
		i = next;
	}
	return PSM_OK;
}

static size_t json_doc_count(const cJSON *n)
{
	size_t c = 1;
	const cJSON *ch;

	for (ch = n->child; ch != NULL; ch = ch->next)
		c += json_doc_count(ch);
	return c;
}

static void json_doc_fill_nodes(struct json_doc *d, const cJSON *n, size_t *i)
{
	const cJSON *ch;

	d->nodes[(*i)++] = n;
	for (ch = n->child; ch != NULL; ch = ch->next)
		json_doc_fill_nodes(d, ch, i);
}

/* Position recorder for the scanner: value starts in text order are the pre-order. */
struct json_scan {
	struct json_doc *d;
	const char *t;
	size_t len, n;	      /* text; values recorded so far */
	uint32_t line;	      /* line of the current position */
	size_t ls;	      /* offset where that line starts */
	uint32_t kline, kcol; /* position of the pending member key */
	bool have_key, expect_key;
	size_t depth;
	unsigned char stack[JSON_DOC_DEPTH]; /* '{' or '[' per open container */
};

/* Moves from offset i to j, counting line ends on the way. */
static size_t json_scan_to(struct json_scan *s, size_t i, size_t j)
{
	for (; i < j; i++) {
		if (s->t[i] == '\n') {
			s->line++;
			s->ls = i + 1;
		}
	}
	return j;
}

static void json_scan_record(struct json_scan *s, size_t off)
{
	if (s->n >= s->d->nnodes) {
		s->n++;
		return;
	}
	if (s->have_key) {
		s->d->line[s->n] = s->kline;
		s->d->col[s->n] = s->kcol;
		s->have_key = false;
	} else {
		s->d->line[s->n] = s->line;
		s->d->col[s->n] = (uint32_t)(off - s->ls + 1);
	}
	s->n++;
}

/* Blanks, ':', ',' and closing brackets: returns true when c was one of them. */
static bool json_scan_punct(struct json_scan *s, char c)
{
	if ((unsigned char)c <= ' ' || c == ':')
		return true;
	if (c == '}' || c == ']') {
		s->depth -= s->depth > 0;
		return true;
	}
	if (c == ',') {
		s->expect_key = s->depth > 0 && s->stack[s->depth - 1] == '{';
		return true;
	}
	return false;
}

/* A value starting at i: records it and returns the offset after its first token. */
static size_t json_scan_value(struct json_scan *s, size_t i)
{
	char c = s->t[i];

	json_scan_record(s, i);
	if (c == '{' || c == '[') {
		if (s->depth < JSON_DOC_DEPTH)
			s->stack[s->depth++] = (unsigned char)c;
		s->expect_key = c == '{';
		return i + 1;
	}
	if (c == '"')
		return json_doc_skip_string(s->t, s->len, i);
	while (i < s->len && (unsigned char)s->t[i] > ' ' && !strchr(",:]}", s->t[i]))
		i++;
	return i;
}

/*
 * Walks the (comment-free, already valid) text and records where every value
 * starts, in text order, which is the pre-order of the tree; for an object
 * member, where its key starts.  Returns the number of values seen.
 */
static size_t json_doc_scan(struct json_doc *d, const char *t, size_t len)
{
	struct json_scan *s = calloc(1, sizeof(*s));
	size_t i = 0, n;

	if (s == NULL)
		return SIZE_MAX;
	*s = (struct json_scan){.d = d, .t = t, .len = len, .line = 1};
	while (i < len) {
		if (json_scan_punct(s, t[i])) {
			i = json_scan_to(s, i, i + 1);
		} else if (t[i] == '"' && s->expect_key) {
			s->kline = s->line;
			s->kcol = (uint32_t)(i - s->ls + 1);
			s->have_key = true;
			s->expect_key = false;
			i = json_scan_to(s, i, json_doc_skip_string(t, len, i));
		} else {
			i = json_scan_to(s, i, json_scan_value(s, i));
		}
	}
	n = s->n;
	free(s);
	return n;
}

struct json_doc_key {
	const cJSON *n;
	size_t ord; /* position among the object's members */
};

static int json_doc_key_cmp(const void *a, const void *b)
{
	const struct json_doc_key *x = a, *y = b;
	int c = strcmp(x->n->string, y->n->string);

	if (c != 0)
		return c;
	return (x->ord > y->ord) - (x->ord < y->ord);
}

/* Position in d->nodes of n, or nnodes. */
static size_t json_doc_index(const struct json_doc *d, const cJSON *n)
{
	size_t i;

	for (i = 0; i < d->nnodes; i++)
		if (d->nodes[i] == n)
			return i;
	return d->nnodes;
}

/* Finds duplicate keys in one object; *dup gets the first member whose key was seen before. */
static int json_doc_dups_obj(const cJSON *obj, const cJSON **dup)
{
	const cJSON *ch;
	struct json_doc_key *v;
	size_t n = 0, i, best = SIZE_MAX;

	for (ch = obj->child; ch != NULL; ch = ch->next)
		n++;
	if (n < 2)
		return PSM_OK;
	v = malloc(n * sizeof(*v));
	if (v == NULL)
		return PSM_ENOMEM;
	for (n = 0, ch = obj->child; ch != NULL; ch = ch->next, n++)
		v[n] = (struct json_doc_key){ch, n};
	qsort(v, n, sizeof(*v), json_doc_key_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(v[i - 1].n->string, v[i].n->string) == 0 && v[i].ord < best) {
			best = v[i].ord;
			*dup = v[i].n;
		}
	}
	free(v);
	return PSM_OK;
}

static int json_doc_dups(const struct json_doc *d, struct psm_err *err)
{
	size_t i;

	for (i = 0; i < d->nnodes; i++) {
		const cJSON *dup = NULL;

		if (!cJSON_IsObject(d->nodes[i]))
			continue;
		if (json_doc_dups_obj(d->nodes[i], &dup) != PSM_OK)
			return psm_err_set(err, PSM_ENOMEM, "%s: out of memory", d->file);
		if (dup != NULL)
			return json_doc_error(d, dup, err, "duplicate key \"%s\"", dup->string);
	}
	return PSM_OK;
}

/* Every string and key: valid UTF-8 without control characters, else FILE:L:C: what. */
static int json_doc_text(const struct json_doc *d, struct psm_err *err)
{
	const cJSON *bad = NULL;
	struct psm_err e = {0};

	if (text_check_json("", d->root, &bad, &e) == PSM_OK)
		return PSM_OK;
	return json_doc_error(d, bad, err, "%s", e.msg);
}

/* "near 'xyz'": up to 16 bytes from off, stopping at a line end. */
static int json_doc_syntax(const char *file, const char *orig, size_t len, size_t off,
			   struct psm_err *err)
{
	char what[64], near[17];
	size_t i;

	for (i = 0; off + i < len && i < 16 && orig[off + i] != '\n' && orig[off + i] != '\r'; i++)
		near[i] = (unsigned char)orig[off + i] >= ' ' ? orig[off + i] : '?';
	near[i] = '\0';
	if (i == 0)
		snprintf(what, sizeof(what), "syntax error at end of input");
	else
		snprintf(what, sizeof(what), "syntax error near '%s'", near);
	return json_doc_fail_at(file, orig, off, err, what);
}

/* Only whitespace (after comments were blanked)? */
static bool json_doc_blank(const char *t, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)t[i] > ' ')
			return false;
	return true;
}

static int json_doc_index_nodes(struct json_doc *d, const char *t, size_t len, struct psm_err *err)
{
	size_t i = 0;

	d->nnodes = json_doc_count(d->root);
	d->nodes = calloc(d->nnodes, sizeof(*d->nodes));
	d->line = calloc(d->nnodes, sizeof(*d->line));
	d->col = calloc(d->nnodes, sizeof(*d->col));
	if (d->nodes == NULL || d->line == NULL || d->col == NULL)
		return psm_err_set(err, PSM_ENOMEM, "%s: out of memory", d->file);
	json_doc_fill_nodes(d, d->root, &i);
	if (json_doc_scan(d, t, len) != d->nnodes)
		return psm_err_set(err, PSM_EINVAL,
				   "%s: internal error: node positions "
				   "do not match the parse",
				   d->file);
	if (!cJSON_IsObject(d->root))
		return json_doc_error(d, d->root, err, "top level must be an object");
	return json_doc_dups(d, err);
}

static int json_doc_parse2(struct json_doc *d, const char *text, char *t, size_t len,
			   struct psm_err *err)
{
	const char *end = NULL;
	int rc;

	memcpy(t, text, len);
	t[len] = '\0';
	rc = json_doc_strip(d->file, t, len, err);
	if (rc != PSM_OK)
		return rc;
	if (json_doc_blank(t, len))
		return psm_err_set(err, PSM_EINVAL, "%s:1:1: empty document", d->file);
	d->root = cJSON_ParseWithLengthOpts(t, len + 1, &end, 1);
	if (d->root == NULL) {
		size_t off = end != NULL && end >= t && end <= t + len ? (size_t)(end - t) : 0;

		return json_doc_syntax(d->file, text, len, off, err);
	}
	rc = json_doc_index_nodes(d, t, len, err);
	return rc != PSM_OK ? rc : json_doc_text(d, err);
}

int json_doc_parse(struct json_doc *d, const char *file, const char *text, size_t len,
		   struct psm_err *err)
{
	char *t;
	int rc;

	memset(d, 0, sizeof(*d));
	d->file = strdup(file != NULL ? file : "(input)");
	if (d->file == NULL)
		return psm_err_set(err, PSM_ENOMEM, "out of memory");
	if (len > JSON_DOC_MAX) {
		rc = psm_err_set(err, PSM_EINVAL, "%s: larger than 4 MiB", d->file);
		json_doc_free(d);
		return rc;
	}
	t = malloc(len + 1);
	if (t == NULL) {
		rc = psm_err_set(err, PSM_ENOMEM, "%s: out of memory", d->file);
		json_doc_free(d);
		return rc;
	}
	rc = json_doc_parse2(d, text, t, len, err);
	free(t);
	if (rc != PSM_OK)
		json_doc_free(d);
	return rc;
}

/* Reads at most JSON_DOC_MAX + 1 bytes of fd into a new buffer. */
static int json_doc_read(int fd, const char *path, char **buf, size_t *len, struct psm_err *err)
{
	size_t cap = JSON_DOC_MAX + 1, n = 0;
	char *b = malloc(cap);
	ssize_t r;

	if (b == NULL)
		return psm_err_set(err, PSM_ENOMEM, "%s: out of memory", path);
	while (n < cap) {
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return psm_err_set(err, PSM_ESYS, "%s: %s", path, strerror(errno));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > JSON_DOC_MAX) {
		free(b);
		return psm_err_set(err, PSM_EINVAL, "%s: larger than 4 MiB", path);
	}
	*buf = b;
	*len = n;
	return PSM_OK;
}

int json_doc_load(struct json_doc *d, const char *path, struct psm_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, rc;

	memset(d, 0, sizeof(*d));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return psm_err_set(err, errno == ENOENT ? PSM_ENOENT : PSM_ESYS, "%s: %s", path,
				   strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return psm_err_set(err, PSM_EINVAL, "%s: not a regular file", path);
	}
	rc = json_doc_read(fd, path, &buf, &len, err);
	close(fd);
	if (rc != PSM_OK)
		return rc;
	rc = json_doc_parse(d, path, buf, len, err);
	free(buf);
	return rc;
}

void json_doc_free(struct json_doc *d)
{
	if (d == NULL)
		return;
	cJSON_Delete(d->root);
	free(d->file);
	free(d->nodes);
	free(d->line);
	free(d->col);
	memset(d, 0, sizeof(*d));
}

unsigned json_doc_line(const struct json_doc *d, const cJSON *n)
{
	size_t i = json_doc_index(d, n);

	return i < d->nnodes ? d->line[i] : 0;
}

int json_doc_error(const struct json_doc *d, const cJSON *n, struct psm_err *err, const char *fmt,
		   ...)
{
	char what[PSM_ERR_MSG_MAX];
	size_t i = json_doc_index(d, n);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (i == d->nnodes)
		return psm_err_set(err, PSM_EINVAL, "%s: %s", d->file, what);
	return psm_err_set(err, PSM_EINVAL, "%s:%u:%u: %s", d->file, d->line[i], d->col[i], what);
}

int json_doc_check_keys(const struct json_doc *d, const cJSON *obj, const char *what,
			const char *const *keys, struct psm_err *err)
{
	const cJSON *ch;
	size_t k;

	if (!cJSON_IsObject(obj))
		return json_doc_error(d, obj, err, "%s: expected an object", what);
	for (ch = obj->child; ch != NULL; ch = ch->next) {
		for (k = 0; keys[k] != NULL; k++)
			if (strcmp(keys[k], ch->string) == 0)
				break;
		if (keys[k] == NULL)
			return json_doc_error(d, ch, err, "unknown key \"%s\" in %s", ch->string,
					      what);
	}
	return PSM_OK;
}

/* The member key of obj, or NULL (absent or null); "missing" error when required. */
static int json_doc_member(const struct json_doc *d, const cJSON *obj, const char *key,
			   bool required, const cJSON **m, struct psm_err *err)
{
	*m = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	if (*m != NULL && cJSON_IsNull(*m))
		*m = NULL;
	if (*m == NULL && required)
		return json_doc_error(d, obj, err, "missing \"%s\"", key);
	return PSM_OK;
}

int json_doc_string(const struct json_doc *d, const cJSON *obj, const char *key, bool required,
		    const char **out, struct psm_err *err)
{
	const cJSON *m;
	int rc = json_doc_member(d, obj, key, required, &m, err);

	if (rc != PSM_OK || m == NULL)
		return rc;
	if (!cJSON_IsString(m))
		return json_doc_error(d, m, err, "%s: expected a string", key);
	*out = m->valuestring;
	return PSM_OK;
}

int json_doc_uint(const struct json_doc *d, const cJSON *obj, const char *key, bool required,
		  uint64_t max, uint64_t *out, struct psm_err *err)
{
	const cJSON *m;
	double v;
	int rc = json_doc_member(d, obj, key, required, &m, err);

	if (rc != PSM_OK || m == NULL)
		return rc;
	v = cJSON_IsNumber(m) ? m->valuedouble : -1;
	if (v < 0 || v > 9007199254740992.0 || v != (double)(uint64_t)v || (uint64_t)v > max)
		return json_doc_error(d, m, err, "%s: expected a whole number from 0 to %llu", key,
				      (unsigned long long)max);
	*out = (uint64_t)v;
	return PSM_OK;
}

int json_doc_bool(const struct json_doc *d, const cJSON *obj, const char *key, bool *out,
		  struct psm_err *err)
{
	const cJSON *m;
	int rc = json_doc_member(d, obj, key, false, &m, err);

	if (rc != PSM_OK || m == NULL)
		return rc;
	if (!cJSON_IsBool(m))
		return json_doc_error(d, m, err, "%s: expected true or false", key);
	*out = cJSON_IsTrue(m);
	return PSM_OK;
}

int json_doc_strings(const struct json_doc *d, const cJSON *obj, const char *key, bool required,
		     const cJSON **arr, struct psm_err *err)
{
	const cJSON *m, *e;
	int rc = json_doc_member(d, obj, key, required, &m, err);

	if (rc != PSM_OK || m == NULL)
		return rc;
	if (!cJSON_IsArray(m))
		return json_doc_error(d, m, err, "%s: expected an array of strings", key);
	for (e = m->child; e != NULL; e = e->next)
		if (!cJSON_IsString(e))
			return json_doc_error(d, e, err, "%s: expected an array of strings", key);
	*arr = m;
	return PSM_OK;
}
