/* SPDX-License-Identifier: MIT */
/* psmctl_file.c - psmctl commands that touch local files: export, import, policy check. */
#include "psmctl.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

#define CTL_FILE_MAX (256u << 20)
#define CTL_EXPORT_FORMAT "psm-export"
#define CTL_EXPORT_VERSION 2 /* 1: times as integers, still imported */

static int ctl_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void ctl_fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd = copy != NULL ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* path.XXXXXX (mode 0600), written, fsynced, renamed over path, directory fsynced. */
static int ctl_write_atomic(struct ctl *c, const char *path, const char *text)
{
	size_t n = strlen(path) + 8;
	char *tmp = malloc(n);
	int fd, e;

	if (tmp == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	snprintf(tmp, n, "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		free(tmp);
		return ctl_fail(c, CTL_USAGE, "%s: %s", path, strerror(e));
	}
	e = 0;
	if (fchmod(fd, 0600) < 0 || ctl_write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
	} else if (close(fd) < 0 || rename(tmp, path) < 0) {
		e = errno;
	}
	if (e != 0) {
		unlink(tmp);
		free(tmp);
		return ctl_fail(c, CTL_USAGE, "%s: %s", path, strerror(e));
	}
	free(tmp);
	ctl_fsync_dir(path);
	return CTL_OK;
}

/* The reply minus "ok" and "tag", in psm's JSON output form (times as RFC 3339 strings
 * with "_unix" integers), headed by the format name and version. */
static cJSON *ctl_export_doc(cJSON *reply)
{
	struct psm_err err = {0};
	cJSON *doc = cJSON_CreateObject(), *m;

	cJSON_DeleteItemFromObjectCaseSensitive(reply, "ok");
	if (doc == NULL || proto_present(reply, &err) != PSM_OK ||
	    (!cJSON_HasObjectItem(reply, "format") &&
	     (cJSON_AddStringToObject(doc, "format", CTL_EXPORT_FORMAT) == NULL ||
	      cJSON_AddNumberToObject(doc, "version", CTL_EXPORT_VERSION) == NULL))) {
		cJSON_Delete(doc);
		return NULL;
	}
	while ((m = reply->child) != NULL) {
		cJSON_DetachItemViaPointer(reply, m);
		cJSON_AddItemToObject(doc, m->string, m);
	}
	return doc;
}

/* export FILE: what was written, for people or (--json) as one object. */
static void ctl_export_report(const struct ctl *c, const cJSON *doc, const char *path)
{
	int ng = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "grants"));
	int ns = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "sessions"));
	cJSON *o = c->json ? cJSON_CreateObject() : NULL, *n;
	char *s = NULL;

	if (!c->json) {
		printf("exported %d grants, %d sessions to %s\n", ng, ns, path);
		return;
	}
	if (o != NULL && cJSON_AddTrueToObject(o, "ok") &&
	    cJSON_AddStringToObject(o, "file", path) &&
	    (n = cJSON_AddObjectToObject(o, "exported")) != NULL &&
	    cJSON_AddNumberToObject(n, "grants", ng) && cJSON_AddNumberToObject(n, "sessions", ns))
		s = cJSON_PrintUnformatted(o);
	if (s != NULL)
		puts(s);
	free(s);
	cJSON_Delete(o);
}

int ctl_run_export(struct ctl *c, const struct ctl_cmd *cmd, char **pos, int npos, cJSON *req)
{
	struct proto_reply r;
	cJSON *doc;
	char *text;
	int rc;

	(void)cmd;
	rc = ctl_call(c, req, &r);
	if (rc != CTL_OK)
		return rc;
	doc = ctl_export_doc(r.root);
	text = doc != NULL ? cJSON_Print(doc) : NULL;
	if (text == NULL)
		rc = ctl_fail(c, CTL_UNAVAIL, "out of memory");
	else if (npos == 0)
		puts(text);
	else if ((rc = ctl_write_atomic(c, pos[0], text)) == CTL_OK)
		ctl_export_report(c, doc, pos[0]);
	free(text);
	cJSON_Delete(doc);
	proto_reply_free(&r);
	return rc;
}

/* Reads a whole file (at most CTL_FILE_MAX bytes) into a NUL-terminated buffer. */
static int ctl_read_file(struct ctl *c, const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;
	struct stat st;
	ssize_t n;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		return ctl_fail(c, CTL_USAGE, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > CTL_FILE_MAX) {
		close(fd);
		return ctl_fail(c, CTL_USAGE, "%s: not a regular file of at most %u MiB", path,
				CTL_FILE_MAX >> 20);
	}
	*out = malloc((size_t)st.st_size + 1);
	while (*out != NULL && got < (size_t)st.st_size &&
	       (n = read(fd, *out + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (*out == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	(*out)[got] = '\0';
	*len = got;
	return CTL_OK;
}

/* An export document: {"format":"psm-export","version":2,"grants":[...],"sessions":[...]}
 * (version 1, of older psmctl, has times as integers and no "_unix" members). */
static int ctl_import_check(struct ctl *c, const char *path, const cJSON *doc)
{
	const cJSON *m;

	if (!cJSON_IsObject(doc))
		return ctl_fail(c, CTL_USAGE, "%s: expected a JSON object", path);
	cJSON_ArrayForEach(m, doc)
	{
		bool list = strcmp(m->string, "grants") == 0 || strcmp(m->string, "sessions") == 0;

		if (strcmp(m->string, "format") == 0 &&
		    !(cJSON_IsString(m) && strcmp(m->valuestring, CTL_EXPORT_FORMAT) == 0))
			return ctl_fail(c, CTL_USAGE, "%s: format: expected \"%s\"", path,
					CTL_EXPORT_FORMAT);
		else if (strcmp(m->string, "version") == 0 &&
			 !(cJSON_IsNumber(m) && (m->valuedouble == 1 || m->valuedouble == 2)))
			return ctl_fail(c, CTL_USAGE, "%s: version: expected 1 or 2", path);
		else if (list && !cJSON_IsArray(m))
			return ctl_fail(c, CTL_USAGE, "%s: %s: expected an array", path, m->string);
		else if (!list && strcmp(m->string, "format") != 0 &&
			 strcmp(m->string, "version") != 0)
			return ctl_fail(c, CTL_USAGE, "%s: unknown key \"%s\"", path, m->string);
	}
	return CTL_OK;
}

/* Import state: the request being filled, and the totals of the replies. */
struct ctl_import {
	const char *path;
	bool dry_run;
	cJSON *req, *lists[2]; /* grants, sessions of the current request */
	size_t size;	       /* serialized bytes of the items in req */
	int items, requests;
	int64_t done[2];
	cJSON *skipped;
};

static const char *const ctl_import_keys[2] = {"grants", "sessions"};

static int ctl_import_start(struct ctl *c, struct ctl_import *im)
{
	cJSON_Delete(im->req);
	im->req = cJSON_CreateObject();
	im->size = 0;
	im->items = 0;
	if (im->req == NULL || cJSON_AddStringToObject(im->req, "op", "import") == NULL ||
	    (im->lists[0] = cJSON_AddArrayToObject(im->req, "grants")) == NULL ||
	    (im->lists[1] = cJSON_AddArrayToObject(im->req, "sessions")) == NULL ||
	    cJSON_AddBoolToObject(im->req, "dry_run", im->dry_run) == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	return CTL_OK;
}

static void ctl_import_tally(struct ctl_import *im, const cJSON *reply)
{
	const cJSON *imp = cJSON_GetObjectItemCaseSensitive(reply, "imported");
	const cJSON *sk = cJSON_GetObjectItemCaseSensitive(reply, "skipped"), *it;
	int64_t n;
	int i;

	for (i = 0; i < 2; i++)
		if (ctl_int(cJSON_GetObjectItemCaseSensitive(imp, ctl_import_keys[i]), &n))
			im->done[i] += n;
	cJSON_ArrayForEach(it, sk) cJSON_AddItemToArray(im->skipped, cJSON_Duplicate(it, 1));
}

/* Sends the request filled so far (the protocol's own checks first). */
static int ctl_import_flush(struct ctl *c, struct ctl_import *im)
{
	struct proto_reply r;
	int rc = ctl_args_validate(c, im->req);

	if (rc == CTL_OK)
		rc = ctl_call(c, im->req, &r);
	if (rc != CTL_OK) {
		if (im->done[0] + im->done[1] > 0)
			fprintf(stderr,
				"psmctl: import: %lld grants, %lld sessions were imported "
				"before that\n",
				(long long)im->done[0], (long long)im->done[1]);
		return rc;
	}
	ctl_import_tally(im, r.root);
	proto_reply_free(&r);
	im->requests++;
	return ctl_import_start(c, im);
}

/* Adds one item, sending the request first when the item would make it too large. */
static int ctl_import_add(struct ctl *c, struct ctl_import *im, int kind, int idx,
			  const cJSON *from)
{
	struct psm_err err = {0};
	cJSON *item = cJSON_Duplicate(from, 1);
	char *s = NULL;
	size_t n;
	int rc = CTL_OK;

	if (item != NULL && proto_unpresent(item, &err) != PSM_OK) {
		cJSON_Delete(item);
		return ctl_fail(c, CTL_USAGE, "%s: %s[%d]: %s", im->path, ctl_import_keys[kind],
				idx, err.msg);
	}
	s = item != NULL ? cJSON_PrintUnformatted(item) : NULL;
	n = s != NULL ? strlen(s) + 1 : 0;
	free(s);
	if (n == 0) {
		cJSON_Delete(item);
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	}
	if (n + 128 > PROTO_LINE_MAX)
		rc = ctl_fail(c, CTL_USAGE, "%s: %s[%d]: larger than a request may be (%d bytes)",
			      im->path, ctl_import_keys[kind], idx, PROTO_LINE_MAX);
	else if (im->size + n + 128 > PROTO_LINE_MAX)
		rc = ctl_import_flush(c, im);
	if (rc != CTL_OK) {
		cJSON_Delete(item);
		return rc;
	}
	cJSON_AddItemToArray(im->lists[kind], item);
	im->size += n;
	im->items++;
	return CTL_OK;
}

static int ctl_import_all(struct ctl *c, struct ctl_import *im, const cJSON *doc)
{
	const cJSON *it;
	int kind, idx, rc = ctl_import_start(c, im);

	for (kind = 0; kind < 2 && rc == CTL_OK; kind++) {
		idx = 0;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, ctl_import_keys[kind]))
		{
			rc = ctl_import_add(c, im, kind, idx++, it);
			if (rc != CTL_OK)
				break;
		}
	}
	if (rc == CTL_OK && (im->items > 0 || im->requests == 0))
		rc = ctl_import_flush(c, im);
	return rc;
}

static void ctl_import_json(const struct ctl_import *im)
{
	cJSON *o = cJSON_CreateObject(), *imp;
	char *s;

	cJSON_AddBoolToObject(o, "ok", 1);
	imp = cJSON_AddObjectToObject(o, "imported");
	cJSON_AddNumberToObject(imp, "grants", (double)im->done[0]);
	cJSON_AddNumberToObject(imp, "sessions", (double)im->done[1]);
	cJSON_AddItemToObject(o, "skipped", cJSON_Duplicate(im->skipped, 1));
	cJSON_AddBoolToObject(o, "dry_run", im->dry_run);
	s = cJSON_PrintUnformatted(o);
	if (s != NULL)
		puts(s);
	free(s);
	cJSON_Delete(o);
}

static void ctl_import_report(struct ctl *c, const struct ctl_import *im)
{
	const cJSON *it;
	char text[1024];

	if (c->json) {
		ctl_import_json(im);
		return;
	}
	printf("%s %lld grants, %lld sessions%s\n", im->dry_run ? "would import" : "imported",
	       (long long)im->done[0], (long long)im->done[1],
	       im->dry_run ? " (dry run: nothing changed)" : "");
	cJSON_ArrayForEach(it, im->skipped)
	{
		ctl_value_text(it, text, sizeof(text));
		printf("skipped: %s\n", text);
	}
}

int ctl_run_import(struct ctl *c, const struct ctl_cmd *cmd, char **pos, int npos, cJSON *req)
{
	struct ctl_import im = {.path = pos[0]};
	cJSON *doc = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc;

	(void)cmd;
	(void)npos;
	im.dry_run = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "dry_run"));
	im.skipped = cJSON_CreateArray();
	rc = im.skipped != NULL ? ctl_read_file(c, im.path, &text, &len)
				: ctl_fail(c, CTL_UNAVAIL, "out of memory");
	if (rc == CTL_OK && (doc = cJSON_ParseWithLength(text, len)) == NULL)
		rc = ctl_fail(c, CTL_USAGE, "%s: not valid JSON", im.path);
	if (rc == CTL_OK)
		rc = ctl_import_check(c, im.path, doc);
	if (rc == CTL_OK)
		rc = ctl_import_all(c, &im, doc);
	if (rc == CTL_OK)
		ctl_import_report(c, &im);
	cJSON_Delete(im.req);
	cJSON_Delete(im.skipped);
	cJSON_Delete(doc);
	free(text);
	return rc;
}

/* --strict with warnings: each on stderr, then why the check failed. */
static int ctl_policy_strict(struct ctl *c, const struct policy *p, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		fprintf(stderr, "psmctl: %s\n", policy_warning(p, i));
	return ctl_fail(c, CTL_USAGE, "%u warning%s, and --strict makes them errors", n,
			n == 1 ? "" : "s");
}

/* "policy OK: ..." with the warnings on stderr; --json: {"ok":true,"policy":{...}}. */
static int ctl_policy_report(struct ctl *c, const struct policy *p, bool strict)
{
	struct policy_counts pc;
	cJSON *o, *pol;
	char *s = NULL;
	int rc;

	policy_get_counts(p, &pc);
	if (strict && pc.warnings > 0)
		return ctl_policy_strict(c, p, pc.warnings);
	o = cJSON_CreateObject();
	pol = proto_policy_json(p);
	if (o == NULL || pol == NULL || !cJSON_AddTrueToObject(o, "ok") ||
	    !cJSON_AddItemToObject(o, "policy", pol)) {
		cJSON_Delete(o);
		cJSON_Delete(pol);
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	}
	rc = ctl_show_policy(c, "policy OK", pol);
	if (rc == CTL_OK && c->json && (s = cJSON_PrintUnformatted(o)) != NULL)
		puts(s);
	free(s);
	cJSON_Delete(o);
	return rc;
}

int ctl_run_policy_check(struct ctl *c, const struct ctl_cmd *cmd, char **pos, int npos, cJSON *req)
{
	struct policy *p = NULL;
	struct psm_err err = {0};
	int rc;

	(void)cmd;
	(void)npos;
	rc = policy_load(pos[0], &p, &err);
	if (rc == PSM_OK)
		rc = policy_check_nss(p, NULL, &err);
	if (rc != PSM_OK) {
		policy_free(p);
		c->what = NULL; /* the message names FILE:LINE:COL itself */
		return ctl_fail(c, err.code == PSM_ENOMEM ? CTL_UNAVAIL : CTL_USAGE, "%s", err.msg);
	}
	rc = ctl_policy_report(c, p, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "strict")));
	policy_free(p);
	return rc;
}
