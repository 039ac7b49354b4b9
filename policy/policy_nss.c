/* SPDX-License-Identifier: MIT */
/* policy_nss.c - the policy's users and groups looked up in NSS; the unknown ones are warnings. */
#include "policy_int.h"
#include "nss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The uid of user name, or the gid of group name: nss.h's return rule. */
int policy_nss(const char *name, bool group, uint32_t *id, struct psm_err *err)
{
	struct nss_id u;
	int found = group ? nss_group(name, &u, err) : nss_user(name, &u, err);

	if (found == 1)
		*id = group ? (uint32_t)u.gid : (uint32_t)u.uid;
	return found;
}

void policy_warnings_free(struct policy *p)
{
	unsigned i;

	for (i = 0; i < p->nwarnings; i++)
		free(p->warnings[i]);
	free(p->warnings);
	p->warnings = NULL;
	p->nwarnings = 0;
}

/* Looks name up; a warning at node n of d when NSS does not know it. */
static int policy_nss_warn(struct policy *p, const struct json_doc *d, const cJSON *n,
			   const char *name, bool group, struct psm_err *err)
{
	struct psm_err w = {0}, e = {0};
	uint32_t id;
	int found = policy_nss(name, group, &id, &e);
	char **v;

	if (found == 1)
		return PSM_OK;
	if (found == 0)
		json_doc_error(d, n, &w, "warning: %s \"%s\" is unknown to NSS",
			       group ? "group" : "user", name);
	else
		json_doc_error(d, n, &w, "warning: %s \"%s\" could not be looked up in NSS: %s",
			       group ? "group" : "user", name, e.msg);
	v = realloc(p->warnings, (p->nwarnings + 1) * sizeof(*v));
	if (v == NULL || (v[p->nwarnings] = strdup(w.msg)) == NULL) {
		if (v != NULL)
			p->warnings = v;
		return psm_err_set(err, PSM_ENOMEM, "policy: out of memory");
	}
	p->warnings = v;
	p->nwarnings++;
	return PSM_OK;
}

int policy_check_nss(struct policy *p, const struct policy_compile_opts *o, struct psm_err *err)
{
	const cJSON *u;
	size_t i;
	int rc = PSM_OK;

	policy_warnings_free(p);
	for (i = 0; i < p->nrules && rc == PSM_OK; i++) {
		const struct policy_rule *r = &p->rules[i];

		if (o == NULL || policy_in_scope(r, o))
			rc = policy_nss_warn(p, r->doc, r->who, r->user ? r->user : r->group,
					     r->group != NULL, err);
	}
	for (u = p->break_glass ? p->break_glass->child : NULL; u && rc == PSM_OK; u = u->next)
		rc = policy_nss_warn(p, p->break_glass_doc, u, u->valuestring, false, err);
	return rc;
}

const char *policy_warning(const struct policy *p, unsigned i)
{
	return i < p->nwarnings ? p->warnings[i] : "";
}
