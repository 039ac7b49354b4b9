/* SPDX-License-Identifier: MIT */
/* psmctl_file.c - psmctl commands that touch local files: export, policy check. */
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

/* "exported 1 grant, 0 sessions to FILE"; --json: {"ok":true,"file":..,"exported":{..}}. */
static void ctl_export_report(const struct ctl *c, const cJSON *doc, const char *path)
{
	int g = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "grants"));
	int ns = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "sessions"));
	cJSON *o = c->json ? cJSON_CreateObject() : NULL, *n;
	char *s = NULL;

	if (!c->json) {
		printf("exported %d %s, %d %s to %s\n", g, plural((unsigned)g, "grant", "grants"),
		       ns, plural((unsigned)ns, "session", "sessions"), path);
		return;
	}
	if (o != NULL && cJSON_AddTrueToObject(o, "ok") &&
	    cJSON_AddStringToObject(o, "file", path) &&
	    (n = cJSON_AddObjectToObject(o, "exported")) != NULL &&
	    cJSON_AddNumberToObject(n, "grants", g) && cJSON_AddNumberToObject(n, "sessions", ns))
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

int ctl_read_file(struct ctl *c, const char *path, char **out, size_t *len)
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

/* --strict with warnings: each on stderr, then why the check failed. */
static int ctl_policy_strict(struct ctl *c, const struct policy *p, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		fprintf(stderr, "psmctl: %s\n", policy_warning(p, i));
	return ctl_fail(c, CTL_USAGE, "%u %s, and --strict makes them errors", n,
			plural(n, "warning", "warnings"));
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
