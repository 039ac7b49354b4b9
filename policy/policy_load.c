/* SPDX-License-Identifier: MIT */
/* policy_load.c - reads policy.json and policy.d/ *.json beside it; policy lifetime and counts. */
#include "policy_int.h"
#include "plural.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct json_doc *policy_new_doc(struct policy_parse *pp)
{
	struct policy *p = pp->p;

	if (policy_grow((void **)&p->docs, p->ndocs, &pp->cap_docs, sizeof(*p->docs), pp->err))
		return NULL;
	return &p->docs[p->ndocs];
}

static int policy_add_file(struct policy_parse *pp, const char *path)
{
	struct json_doc *d = policy_new_doc(pp);
	int rc;

	if (d == NULL)
		return PSM_ENOMEM;
	rc = json_doc_load(d, path, pp->err);
	if (rc == PSM_OK)
		pp->p->ndocs++;
	return rc;
}

static bool policy_is_json_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".json") == 0;
}

static int policy_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the *.json files in dir, sorted; ENOENT gives none. */
static int policy_list_dir(const char *dir, char ***names, size_t *n, struct psm_err *err)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	size_t cap = 0;
	int rc = PSM_OK;

	*names = NULL;
	*n = 0;
	if (dh == NULL)
		return errno == ENOENT ? PSM_OK
				       : psm_err_set(err, PSM_ESYS, "%s: %s", dir, strerror(errno));
	while (rc == PSM_OK && (de = readdir(dh)) != NULL) {
		if (!policy_is_json_name(de->d_name))
			continue;
		/* the name is the source of its grants: not echoed when it is bad */
		if (text_check("file name", de->d_name, strlen(de->d_name), err) != PSM_OK) {
			rc = psm_err_prefix(err, "%s", dir);
			break;
		}
		rc = policy_grow((void **)names, *n, &cap, sizeof(**names), err);
		if (rc == PSM_OK && ((*names)[*n] = strdup(de->d_name)) == NULL)
			rc = psm_err_set(err, PSM_ENOMEM, "policy: out of memory");
		if (rc == PSM_OK)
			(*n)++;
	}
	closedir(dh);
	if (*n > 1)
		qsort(*names, *n, sizeof(**names), policy_strcmp);
	return rc;
}

static int policy_load_dir(struct policy_parse *pp, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096], file[4096 + 256];
	char **names;
	size_t n, i;
	int rc;

	snprintf(dir, sizeof(dir), "%.*spolicy.d", slash ? (int)(slash - path + 1) : 0, path);
	rc = policy_list_dir(dir, &names, &n, pp->err);
	for (i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s/%s", dir, names[i]);
		if (rc == PSM_OK)
			rc = policy_add_file(pp, file);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int policy_finish(struct policy_parse *pp, int rc, struct policy **out)
{
	if (rc == PSM_OK)
		rc = policy_parse_all(pp);
	if (rc != PSM_OK) {
		policy_free(pp->p);
		return rc;
	}
	*out = pp->p;
	return PSM_OK;
}

int policy_load(const char *path, struct policy **out, struct psm_err *err)
{
	struct policy_parse pp = {.err = err};
	int rc;

	pp.p = calloc(1, sizeof(*pp.p));
	if (pp.p == NULL)
		return psm_err_set(err, PSM_ENOMEM, "policy: out of memory");
	rc = policy_add_file(&pp, path);
	if (rc == PSM_OK)
		rc = policy_load_dir(&pp, path);
	return policy_finish(&pp, rc, out);
}

int policy_load_text(const char *file, const char *text, size_t len, struct policy **out,
		     struct psm_err *err)
{
	struct policy_parse pp = {.err = err};
	struct json_doc *d;
	int rc;

	pp.p = calloc(1, sizeof(*pp.p));
	if (pp.p == NULL)
		return psm_err_set(err, PSM_ENOMEM, "policy: out of memory");
	d = policy_new_doc(&pp);
	rc = d == NULL ? PSM_ENOMEM : json_doc_parse(d, file, text, len, err);
	if (rc == PSM_OK)
		pp.p->ndocs++;
	return policy_finish(&pp, rc, out);
}

void policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->ndocs; i++)
		json_doc_free(&p->docs[i]);
	free(p->docs);
	free(p->roles);
	free(p->services);
	free(p->rules);
	policy_warnings_free(p);
	free(p);
}

void policy_get_counts(const struct policy *p, struct policy_counts *c)
{
	c->roles = (unsigned)p->nroles;
	c->bindings = p->nbindings;
	c->denies = p->ndenies;
	c->services = (unsigned)p->nservices;
	c->break_glass = p->break_glass ? (unsigned)cJSON_GetArraySize(p->break_glass) : 0;
	c->files = (unsigned)p->ndocs;
	c->warnings = p->nwarnings;
}

void policy_counts_text(const struct policy_counts *c, char *buf, size_t n)
{
	snprintf(buf, n, "%u %s, %u %s, %u %s, %u %s", c->roles, plural(c->roles, "role", "roles"),
		 c->bindings, plural(c->bindings, "binding", "bindings"), c->denies,
		 plural(c->denies, "deny rule", "deny rules"), c->warnings,
		 plural(c->warnings, "warning", "warnings"));
}

int policy_rule_where(const struct policy *p, bool deny, unsigned number, char *buf, size_t n)
{
	size_t i;

	for (i = 0; p != NULL && i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];

		if (r->deny == deny && r->number == number) {
			snprintf(buf, n, "%s:%u", r->doc->file, json_doc_line(r->doc, r->who));
			return PSM_OK;
		}
	}
	return PSM_ENOENT;
}
