/* SPDX-License-Identifier: MIT */
/* policy_compile.c - turns a parsed policy into table records: grants, denies, services,
 * break-glass. */
#include "policy_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Who a rule applies to, as it goes into the table. */
struct policy_principal {
	char key[300];	   /* "alice" or "%10" */
	char display[300]; /* "alice" or "%wheel" */
	uint8_t flags;	   /* SHM_FL_GROUP, SHM_FL_UID_CHECKED */
	uint32_t uid;
};

struct policy_ctx {
	const struct policy *p;
	struct shm_writer *w;
	const struct policy_compile_opts *o;
	struct psm_err *err;
};

static void policy_warn(const struct policy_ctx *c, const char *msg)
{
	if (c->o->warn != NULL)
		c->o->warn(c->o->warn_ctx, msg);
}

static const char *policy_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* Fills *pr for rule r; returns false (after a warning) when the rule must be skipped. */
static bool policy_principal(const struct policy_ctx *c, const struct policy_rule *r,
			     struct policy_principal *pr)
{
	const char *what = r->deny ? "deny" : "binding";
	char msg[PSM_ERR_MSG_MAX + 64];
	uint32_t id = SHM_U32_NONE;
	struct psm_err e = {0};
	int found = policy_nss(r->user != NULL ? r->user : r->group, r->group != NULL, &id, &e);

	memset(pr, 0, sizeof(*pr));
	pr->uid = SHM_U32_NONE;
	if (r->group != NULL) {
		if (found != 1) {
			snprintf(msg, sizeof(msg),
				 "%s %s %u: group \"%s\" unknown to NSS%s%.100s; "
				 "skipped",
				 policy_base(r->doc->file), what, r->number, r->group,
				 found < 0 ? ": " : "", found < 0 ? e.msg : "");
			policy_warn(c, msg);
			return false;
		}
		snprintf(pr->key, sizeof(pr->key), "%%%u", id);
		snprintf(pr->display, sizeof(pr->display), "%%%s", r->group);
		pr->flags = SHM_FL_GROUP;
		return true;
	}
	snprintf(pr->key, sizeof(pr->key), "%s", r->user);
	snprintf(pr->display, sizeof(pr->display), "%s", r->user);
	if (found == 1 && !r->deny) {
		pr->uid = id;
		pr->flags = SHM_FL_UID_CHECKED;
	} else if (found != 1) {
		snprintf(msg, sizeof(msg),
			 "%s %s %u: user \"%s\" unknown to NSS%s%.100s; kept "
			 "by name without a uid check",
			 policy_base(r->doc->file), what, r->number, r->user, found < 0 ? ": " : "",
			 found < 0 ? e.msg : "");
		policy_warn(c, msg);
	}
	return true;
}

static void policy_entry_init(const struct policy_ctx *c, struct shm_entry *e, uint8_t kind,
			      uint8_t flags)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->flags = (uint8_t)(flags | SHM_FL_SRC_POLICY);
	e->not_before = SHM_TIME_NONE_BEFORE;
	e->not_after = SHM_TIME_NONE_AFTER;
	e->rule = SHM_U32_NONE;
	e->uid = SHM_U32_NONE;
	e->audit = SHM_U32_NONE;
	e->created = c->o->now;
	shm_entry_set_str(e, SHM_F_ISSUER, "policy");
}

static int policy_insert(const struct policy_ctx *c, const struct shm_entry *e)
{
	return shm_writer_insert(c->w, e, NULL, c->err);
}

/* One record for principal x pattern of rule r; via names the role ("perms" for none). */
static int policy_emit(const struct policy_ctx *c, const struct policy_rule *r,
		       const struct policy_principal *pr, const char *pattern, const char *via)
{
	struct shm_entry e;
	char src[256];

	policy_entry_init(c, &e, r->deny ? SHM_DENY : SHM_GRANT, pr->flags);
	e.rule = r->number;
	e.uid = pr->uid;
	if (r->deny)
		snprintf(src, sizeof(src), "%s deny %u", policy_base(r->doc->file), r->number);
	else if (via != NULL)
		snprintf(src, sizeof(src), "%s binding %u role %s", policy_base(r->doc->file),
			 r->number, via);
	else
		snprintf(src, sizeof(src), "%s binding %u perms", policy_base(r->doc->file),
			 r->number);
	shm_entry_set_str(&e, SHM_F_KEY, pr->key);
	shm_entry_set_str(&e, SHM_F_PRINCIPAL, pr->display);
	shm_entry_set_str(&e, SHM_F_PATTERN, pattern);
	shm_entry_set(&e, SHM_F_FROM, r->from, r->fromlen);
	shm_entry_set_str(&e, SHM_F_HOSTS, r->hosts_text[0] ? r->hosts_text : NULL);
	shm_entry_set_str(&e, SHM_F_REASON, r->reason);
	shm_entry_set_str(&e, SHM_F_SOURCE, src);
	if (policy_insert(c, &e) != PSM_OK)
		return psm_err_prefix(c->err, "%s", src);
	return PSM_OK;
}

/* Patterns already emitted for this rule (each pattern once per principal). */
struct policy_seen {
	const char **v;
	size_t n, cap;
};

static int policy_seen_add(struct policy_seen *s, const char *pat, bool *fresh)
{
	size_t i;

	*fresh = false;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], pat) == 0)
			return PSM_OK;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		const char **v = realloc(s->v, nc * sizeof(*v));

		if (v == NULL)
			return PSM_ENOMEM;
		s->v = v;
		s->cap = nc;
	}
	s->v[s->n++] = pat;
	*fresh = true;
	return PSM_OK;
}

static int policy_emit_list(const struct policy_ctx *c, const struct policy_rule *r,
			    const struct policy_principal *pr, const cJSON *pats, const char *via,
			    struct policy_seen *seen)
{
	const cJSON *e;
	bool fresh;
	int rc;

	for (e = pats->child; e != NULL; e = e->next) {
		if (policy_seen_add(seen, e->valuestring, &fresh) != PSM_OK)
			return psm_err_set(c->err, PSM_ENOMEM, "policy: out of memory");
		if (!fresh)
			continue;
		rc = policy_emit(c, r, pr, e->valuestring, via);
		if (rc != PSM_OK)
			return rc;
	}
	return PSM_OK;
}

static int policy_compile_rule(const struct policy_ctx *c, const struct policy_rule *r)
{
	struct policy_principal pr;
	struct policy_seen seen = {0};
	const cJSON *role;
	int rc = PSM_OK;

	if (!policy_in_scope(r, c->o) || !policy_principal(c, r, &pr))
		return PSM_OK;
	for (role = r->roles ? r->roles->child : NULL; role && rc == PSM_OK; role = role->next) {
		const struct policy_named *def = policy_find_role(c->p, role->valuestring);

		if (def != NULL)
			rc = policy_emit_list(c, r, &pr, def->node, def->name, &seen);
	}
	if (rc == PSM_OK && r->perms != NULL)
		rc = policy_emit_list(c, r, &pr, r->perms, NULL, &seen);
	free(seen.v);
	return rc;
}

static int policy_compile_services(const struct policy_ctx *c)
{
	struct shm_entry e;
	size_t i;
	int rc;

	for (i = 0; i < c->p->nservices; i++) {
		const struct policy_named *s = &c->p->services[i];
		char src[256];

		snprintf(src, sizeof(src), "%s services", policy_base(s->doc->file));
		policy_entry_init(c, &e, SHM_SERVICE, 0);
		shm_entry_set_str(&e, SHM_F_KEY, s->name);
		shm_entry_set_str(&e, SHM_F_PATTERN, s->node->valuestring);
		shm_entry_set_str(&e, SHM_F_SOURCE, src);
		rc = policy_insert(c, &e);
		if (rc != PSM_OK)
			return rc;
	}
	return PSM_OK;
}

static int policy_compile_break_glass(const struct policy_ctx *c)
{
	struct shm_entry e;
	const cJSON *u;
	char src[256];
	int rc;

	if (c->p->break_glass == NULL)
		return PSM_OK;
	snprintf(src, sizeof(src), "%s break_glass", policy_base(c->p->break_glass_doc->file));
	for (u = c->p->break_glass->child; u != NULL; u = u->next) {
		policy_entry_init(c, &e, SHM_BREAKGLASS, 0);
		shm_entry_set_str(&e, SHM_F_KEY, u->valuestring);
		shm_entry_set_str(&e, SHM_F_PRINCIPAL, u->valuestring);
		shm_entry_set_str(&e, SHM_F_SOURCE, src);
		rc = policy_insert(c, &e);
		if (rc != PSM_OK)
			return rc;
	}
	return PSM_OK;
}

int policy_compile(const struct policy *p, struct shm_writer *w,
		   const struct policy_compile_opts *o, struct psm_err *err)
{
	struct policy_ctx c = {p, w, o, err};
	size_t i;
	int rc = PSM_OK;

	for (i = 0; i < p->nrules && rc == PSM_OK; i++)
		rc = policy_compile_rule(&c, &p->rules[i]);
	if (rc == PSM_OK)
		rc = policy_compile_services(&c);
	if (rc == PSM_OK)
		rc = policy_compile_break_glass(&c);
	if (rc != PSM_OK)
		return rc;
	shm_writer_set_policy_counts(w, (uint32_t)p->nroles, p->nbindings, p->ndenies);
	return PSM_OK;
}
