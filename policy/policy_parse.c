/* SPDX-License-Identifier: MIT */
/* policy_parse.c - validates every key of the policy documents and merges them into one policy; its
 * ttls and host scope. */
#include "policy_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "perm.h"
#include "ttl.h"

#define POLICY_NAME_MAX 255

static const char *const policy_top_keys[] = {
    "roles", "bindings", "deny", "services", "session_ttl", "session_ttl_max", "break_glass", NULL,
};
static const char *const policy_binding_keys[] = {
    "user", "group", "roles", "perms", "from", "hosts", "reason", NULL,
};
static const char *const policy_deny_keys[] = {
    "user", "group", "perms", "from", "hosts", "reason", NULL,
};
static const char *const policy_bg_keys[] = {"users", NULL};

int policy_grow(void **arr, size_t n, size_t *cap, size_t sz, struct psm_err *err)
{
	void *a;
	size_t nc;

	if (n < *cap)
		return PSM_OK;
	nc = *cap == 0 ? 8 : *cap * 2;
	a = realloc(*arr, nc * sz);
	if (a == NULL)
		return psm_err_set(err, PSM_ENOMEM, "policy: out of memory");
	memset((char *)a + n * sz, 0, (nc - n) * sz);
	*arr = a;
	*cap = nc;
	return PSM_OK;
}

/* A login or group name as NSS would take it: 1-255 bytes, no ':', '/', blanks or controls. */
static int policy_check_name(const struct json_doc *d, const cJSON *n, const char *what,
			     const char *s, struct psm_err *err)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > POLICY_NAME_MAX)
		return json_doc_error(d, n, err, "%s name must be 1-255 bytes", what);
	if (s[0] == '-' || s[0] == '%')
		return json_doc_error(d, n, err, "%s \"%.64s\": must not start with '%c'%s", what,
				      s, s[0],
				      s[0] == '%' && strcmp(what, "group") == 0
					  ? " (write the group name without '%')"
					  : "");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ':' || c == '/' || c <= ' ' || c == 0x7f)
			return json_doc_error(d, n, err, "%s \"%.64s\": bad character at %zu", what,
					      s, i + 1);
	}
	return PSM_OK;
}

/* Role names: 1-64 of A-Z a-z 0-9 _ - . */
static int policy_check_role_name(const struct json_doc *d, const cJSON *n, const char *s,
				  struct psm_err *err)
{
	size_t i, len = strlen(s);

	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			break;
	if (len == 0 || len > 64 || i < len)
		return json_doc_error(d, n, err,
				      "role name \"%.64s\": use 1-64 letters, digits, "
				      "'_', '-' or '.'",
				      s);
	return PSM_OK;
}

static int policy_check_patterns(const struct json_doc *d, const cJSON *arr, struct psm_err *err)
{
	const cJSON *e;
	struct psm_err pe;

	for (e = arr->child; e != NULL; e = e->next)
		if (pattern_validate(e->valuestring, strlen(e->valuestring), &pe) != PSM_OK)
			return json_doc_error(d, e, err, "%s", pe.msg);
	return PSM_OK;
}

static int policy_add_named(struct policy_parse *pp, struct policy_named **arr, size_t *n,
			    size_t *cap, const struct json_doc *d, const cJSON *node)
{
	int rc = policy_grow((void **)arr, *n, cap, sizeof(**arr), pp->err);

	if (rc != PSM_OK)
		return rc;
	(*arr)[(*n)++] = (struct policy_named){node->string, node, d, pp->ord++};
	return PSM_OK;
}

static int policy_parse_roles(struct policy_parse *pp, const struct json_doc *d, const cJSON *roles)
{
	const cJSON *r, *e;
	int rc;

	if (!cJSON_IsObject(roles))
		return json_doc_error(d, roles, pp->err, "roles: expected an object");
	for (r = roles->child; r != NULL; r = r->next) {
		rc = policy_check_role_name(d, r, r->string, pp->err);
		if (rc != PSM_OK)
			return rc;
		if (!cJSON_IsArray(r))
			return json_doc_error(d, r, pp->err,
					      "role \"%s\": expected an array of "
					      "patterns",
					      r->string);
		for (e = r->child; e != NULL; e = e->next)
			if (!cJSON_IsString(e))
				return json_doc_error(d, e, pp->err,
						      "role \"%s\": expected an "
						      "array of patterns",
						      r->string);
		rc = policy_check_patterns(d, r, pp->err);
		if (rc == PSM_OK)
			rc = policy_add_named(pp, &pp->p->roles, &pp->p->nroles, &pp->cap_roles, d,
					      r);
		if (rc != PSM_OK)
			return rc;
	}
	return PSM_OK;
}

static int policy_parse_services(struct policy_parse *pp, const struct json_doc *d,
				 const cJSON *svcs)
{
	const cJSON *s;
	struct psm_err pe;
	int rc;

	if (!cJSON_IsObject(svcs))
		return json_doc_error(d, svcs, pp->err, "services: expected an object");
	for (s = svcs->child; s != NULL; s = s->next) {
		rc = policy_check_name(d, s, "service", s->string, pp->err);
		if (rc != PSM_OK)
			return rc;
		if (!cJSON_IsString(s))
			return json_doc_error(d, s, pp->err,
					      "service \"%s\": expected a "
					      "permission string",
					      s->string);
		if (perm_validate(s->valuestring, strlen(s->valuestring), &pe) != PSM_OK)
			return json_doc_error(d, s, pp->err, "service \"%s\": %s", s->string,
					      pe.msg);
		rc = policy_add_named(pp, &pp->p->services, &pp->p->nservices, &pp->cap_services, d,
				      s);
		if (rc != PSM_OK)
			return rc;
	}
	return PSM_OK;
}

/* A TTL key set in at most one file: *ttl and *doc (NULL while unset). */
static int policy_parse_ttl(struct policy_parse *pp, const struct json_doc *d, const cJSON *root,
			    const char *key, int64_t *ttl, const struct json_doc **doc)
{
	const char *s = NULL;
	struct psm_err pe;
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, key);
	int rc = json_doc_string(d, root, key, false, &s, pp->err);

	if (rc != PSM_OK || s == NULL)
		return rc;
	if (*doc != NULL)
		return json_doc_error(d, n, pp->err, "%s already set in %s", key, (*doc)->file);
	if (ttl_parse(s, ttl, &pe) != PSM_OK)
		return json_doc_error(d, n, pp->err, "%s: %s", key, pe.msg);
	*doc = d;
	return PSM_OK;
}

int64_t policy_session_ttl(const struct policy *p)
{
	return p->session_ttl_doc != NULL ? p->session_ttl : 0;
}

int64_t policy_session_ttl_max(const struct policy *p)
{
	return p->session_ttl_max_doc != NULL ? p->session_ttl_max : POLICY_SESSION_TTL_MAX;
}

/* session_ttl may not exceed session_ttl_max (its own or the default). */
static int policy_check_ttls(struct policy_parse *pp)
{
	const struct policy *p = pp->p;
	int64_t max = policy_session_ttl_max(p);
	char a[32], b[32];

	if (p->session_ttl_doc == NULL || p->session_ttl <= max)
		return PSM_OK;
	ttl_format(p->session_ttl, a, sizeof(a));
	ttl_format(max, b, sizeof(b));
	return json_doc_error(
	    p->session_ttl_doc,
	    cJSON_GetObjectItemCaseSensitive(p->session_ttl_doc->root, "session_ttl"), pp->err,
	    "session_ttl %s is longer than session_ttl_max %s%s", a, b,
	    p->session_ttl_max_doc != NULL ? "" : " (the default)");
}

static int policy_parse_break_glass(struct policy_parse *pp, const struct json_doc *d,
				    const cJSON *bg)
{
	const cJSON *users = NULL, *u;
	int rc = json_doc_check_keys(d, bg, "break_glass", policy_bg_keys, pp->err);

	if (rc == PSM_OK)
		rc = json_doc_strings(d, bg, "users", true, &users, pp->err);
	if (rc != PSM_OK)
		return rc;
	if (pp->p->break_glass_doc != NULL)
		return json_doc_error(d, bg, pp->err, "break_glass already set in %s",
				      pp->p->break_glass_doc->file);
	for (u = users->child; u != NULL; u = u->next) {
		rc = policy_check_name(d, u, "user", u->valuestring, pp->err);
		if (rc != PSM_OK)
			return rc;
	}
	pp->p->break_glass = users;
	pp->p->break_glass_doc = d;
	return PSM_OK;
}

/* Pass 1 over one file: everything but bindings and deny rules. */
static int policy_parse_top(struct policy_parse *pp, const struct json_doc *d)
{
	const cJSON *root = d->root, *n;
	int rc = json_doc_check_keys(d, root, "policy", policy_top_keys, pp->err);

	if (rc == PSM_OK && (n = cJSON_GetObjectItemCaseSensitive(root, "roles")) != NULL)
		rc = policy_parse_roles(pp, d, n);
	if (rc == PSM_OK && (n = cJSON_GetObjectItemCaseSensitive(root, "services")) != NULL)
		rc = policy_parse_services(pp, d, n);
	if (rc == PSM_OK)
		rc = policy_parse_ttl(pp, d, root, "session_ttl", &pp->p->session_ttl,
				      &pp->p->session_ttl_doc);
	if (rc == PSM_OK)
		rc = policy_parse_ttl(pp, d, root, "session_ttl_max", &pp->p->session_ttl_max,
				      &pp->p->session_ttl_max_doc);
	if (rc == PSM_OK && (n = cJSON_GetObjectItemCaseSensitive(root, "break_glass")) != NULL)
		rc = policy_parse_break_glass(pp, d, n);
	return rc;
}

static int policy_named_cmp(const void *a, const void *b)
{
	const struct policy_named *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->ord > y->ord) - (x->ord < y->ord);
}

/* Sorts by name; a name defined twice is an error at its later definition. */
static int policy_sort_unique(struct policy_named *v, size_t n, const char *what,
			      struct psm_err *err)
{
	size_t i;

	if (n > 1)
		qsort(v, n, sizeof(*v), policy_named_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1].name, v[i].name) == 0)
			return json_doc_error(v[i].doc, v[i].node, err,
					      "%s \"%s\" already "
					      "defined in %s",
					      what, v[i].name, v[i - 1].doc->file);
	return PSM_OK;
}

const struct policy_named *policy_find_role(const struct policy *p, const char *name)
{
	size_t lo = 0, hi = p->nroles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, p->roles[mid].name);

		if (c == 0)
			return &p->roles[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int policy_parse_principal(const struct json_doc *d, const cJSON *obj, struct policy_rule *r,
				  struct psm_err *err)
{
	const char *what = r->deny ? "deny rule" : "binding";
	int rc = json_doc_string(d, obj, "user", false, &r->user, err);

	if (rc == PSM_OK)
		rc = json_doc_string(d, obj, "group", false, &r->group, err);
	if (rc != PSM_OK)
		return rc;
	if ((r->user == NULL) == (r->group == NULL))
		return json_doc_error(d, obj, err, "%s needs exactly one of \"user\" or \"group\"",
				      what);
	r->who = cJSON_GetObjectItemCaseSensitive(obj, r->user != NULL ? "user" : "group");
	return policy_check_name(d, r->who, r->user != NULL ? "user" : "group",
				 r->user != NULL ? r->user : r->group, err);
}

static int policy_parse_role_refs(const struct policy *p, const struct json_doc *d,
				  const cJSON *roles, struct psm_err *err)
{
	const cJSON *e;

	for (e = roles->child; e != NULL; e = e->next)
		if (policy_find_role(p, e->valuestring) == NULL)
			return json_doc_error(d, e, err, "role \"%s\" is not defined",
					      e->valuestring);
	return PSM_OK;
}

static int policy_parse_from(const struct json_doc *d, const cJSON *from, struct policy_rule *r,
			     struct psm_err *err)
{
	const cJSON *e;
	struct psm_err ce;

	if (from->child == NULL)
		return json_doc_error(d, from, err,
				      "from: empty list (leave \"from\" out to "
				      "allow any origin)");
	for (e = from->child; e != NULL; e = e->next)
		if (cond_compile(e->valuestring, r->from, sizeof(r->from), &r->fromlen, &ce) !=
		    PSM_OK)
			return json_doc_error(d, e, err, "from: %s", ce.msg);
	return PSM_OK;
}

static int policy_parse_hosts(const struct json_doc *d, struct policy_rule *r, struct psm_err *err)
{
	const cJSON *e;
	size_t o = 0, i, n;

	if (r->hosts->child == NULL)
		return json_doc_error(d, r->hosts, err,
				      "hosts: empty list (leave \"hosts\" out "
				      "for every host)");
	for (e = r->hosts->child; e != NULL; e = e->next) {
		n = strlen(e->valuestring);
		for (i = 0; i < n; i++)
			if (!isalnum((unsigned char)e->valuestring[i]) &&
			    !strchr("._-", e->valuestring[i]))
				break;
		if (n == 0 || (i < n && strcmp(e->valuestring, "*") != 0))
			return json_doc_error(d, e, err,
					      "hosts: \"%.64s\" is not a host name, "
					      "a label or \"*\"",
					      e->valuestring);
		if (o + n + 1 > sizeof(r->hosts_text))
			return json_doc_error(d, e, err, "hosts: list too long (at most %d bytes)",
					      POLICY_TEXT_MAX);
		o += (size_t)snprintf(r->hosts_text + o, sizeof(r->hosts_text) - o, "%s%s",
				      o > 0 ? "," : "", e->valuestring);
	}
	return PSM_OK;
}

/* from, hosts, reason: common to bindings and deny rules. */
static int policy_parse_scope(const struct json_doc *d, const cJSON *obj, struct policy_rule *r,
			      struct psm_err *err)
{
	const cJSON *from = NULL;
	int rc = json_doc_strings(d, obj, "from", false, &from, err);

	if (rc == PSM_OK && from != NULL)
		rc = policy_parse_from(d, from, r, err);
	if (rc == PSM_OK)
		rc = json_doc_strings(d, obj, "hosts", false, &r->hosts, err);
	if (rc == PSM_OK && r->hosts != NULL)
		rc = policy_parse_hosts(d, r, err);
	if (rc == PSM_OK)
		rc = json_doc_string(d, obj, "reason", false, &r->reason, err);
	if (rc == PSM_OK && r->reason != NULL && strlen(r->reason) > POLICY_TEXT_MAX)
		return json_doc_error(d, cJSON_GetObjectItemCaseSensitive(obj, "reason"), err,
				      "reason: longer than %d bytes", POLICY_TEXT_MAX);
	return rc;
}

static int policy_parse_grants(const struct policy *p, const struct json_doc *d, const cJSON *obj,
			       struct policy_rule *r, struct psm_err *err)
{
	int rc = PSM_OK;

	if (!r->deny)
		rc = json_doc_strings(d, obj, "roles", false, &r->roles, err);
	if (rc == PSM_OK)
		rc = json_doc_strings(d, obj, "perms", r->deny, &r->perms, err);
	if (rc != PSM_OK)
		return rc;
	if (r->roles == NULL && r->perms == NULL)
		return json_doc_error(d, obj, err, "binding needs \"roles\" or \"perms\"");
	if (r->roles != NULL)
		rc = policy_parse_role_refs(p, d, r->roles, err);
	if (rc == PSM_OK && r->perms != NULL)
		rc = policy_check_patterns(d, r->perms, err);
	return rc;
}

static int policy_parse_rule(struct policy_parse *pp, const struct json_doc *d, const cJSON *obj,
			     bool deny)
{
	struct policy *p = pp->p;
	struct policy_rule *r;
	int rc = json_doc_check_keys(d, obj, deny ? "deny rule" : "binding",
				     deny ? policy_deny_keys : policy_binding_keys, pp->err);

	if (rc == PSM_OK)
		rc =
		    policy_grow((void **)&p->rules, p->nrules, &pp->cap_rules, sizeof(*r), pp->err);
	if (rc != PSM_OK)
		return rc;
	r = &p->rules[p->nrules];
	memset(r, 0, sizeof(*r));
	r->deny = deny;
	r->doc = d;
	rc = policy_parse_principal(d, obj, r, pp->err);
	if (rc == PSM_OK)
		rc = policy_parse_grants(p, d, obj, r, pp->err);
	if (rc == PSM_OK)
		rc = policy_parse_scope(d, obj, r, pp->err);
	if (rc != PSM_OK)
		return rc;
	r->number = deny ? ++p->ndenies : ++p->nbindings;
	p->nrules++;
	return PSM_OK;
}

/* Pass 2 over one file: bindings and deny rules (every role is known by now). */
static int policy_parse_rules(struct policy_parse *pp, const struct json_doc *d)
{
	static const char *const names[2] = {"bindings", "deny"};
	const cJSON *arr, *e;
	int k, rc;

	for (k = 0; k < 2; k++) {
		arr = cJSON_GetObjectItemCaseSensitive(d->root, names[k]);
		if (arr == NULL)
			continue;
		if (!cJSON_IsArray(arr))
			return json_doc_error(d, arr, pp->err, "%s: expected an array", names[k]);
		for (e = arr->child; e != NULL; e = e->next) {
			rc = policy_parse_rule(pp, d, e, k == 1);
			if (rc != PSM_OK)
				return rc;
		}
	}
	return PSM_OK;
}

int policy_parse_all(struct policy_parse *pp)
{
	struct policy *p = pp->p;
	size_t i;
	int rc = PSM_OK;

	for (i = 0; i < p->ndocs && rc == PSM_OK; i++)
		rc = policy_parse_top(pp, &p->docs[i]);
	if (rc == PSM_OK)
		rc = policy_sort_unique(p->roles, p->nroles, "role", pp->err);
	if (rc == PSM_OK)
		rc = policy_sort_unique(p->services, p->nservices, "service", pp->err);
	if (rc == PSM_OK)
		rc = policy_check_ttls(pp);
	for (i = 0; i < p->ndocs && rc == PSM_OK; i++)
		rc = policy_parse_rules(pp, &p->docs[i]);
	return rc;
}

/* Whether the rule's hosts list names o's host, one of its labels, or "*". */
bool policy_in_scope(const struct policy_rule *r, const struct policy_compile_opts *o)
{
	const cJSON *h;
	size_t i;

	if (r->hosts == NULL)
		return true;
	for (h = r->hosts->child; h != NULL; h = h->next) {
		const char *s = h->valuestring;

		if (strcmp(s, "*") == 0 || (o->host_name && strcasecmp(s, o->host_name) == 0))
			return true;
		for (i = 0; o->labels != NULL && o->labels[i] != NULL; i++)
			if (strcmp(s, o->labels[i]) == 0)
				return true;
	}
	return false;
}
